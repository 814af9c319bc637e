#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Data verification: vdifs-fsx (tests/tools/vdifs-fsx.c) runs random reads,
# writes, truncates, hole punches, zero ranges, fallocates, mmap reads and
# writes and O_DIRECT I/O against an in-memory model, in two processes,
# reopening files through a second mount (a second client) now and then.
# The volume has 64 KiB chunks so that 1 MiB files span 16 chunks on
# three data servers, and every I/O may cross chunk boundaries.  100 000
# operations take 7-15 minutes in the emulated guest, by the host's load.
# vm-timeout: 1800
. "$(dirname "$0")/lib.sh"

# 30-fsx.sh [OPS [SEED]]
OPS=${1:-100000}
SEED=${2:-20261125}
MOUNT_OPTS=actimeo=0
cluster_start
"$VDIFS_BIN/vdifs-tool" volume create fsx --chunk-size 64K --extent-size 4K \
	--replicas 3 >/dev/null || fail "create a volume with 64 KiB chunks"
umount "$MNT"
SOURCE=${SOURCE%/*}/fsx
mount -t vdifs -o "$MOUNT_OPTS" "$SOURCE" "$MNT" || fail "mount fsx volume"
mount_second

echo "vdifs-fsx: seed $SEED, $OPS ops"
if "$VDIFS_BIN/vdifs-fsx" -q -s "$SEED" -n "$OPS" -p 2 -l 32k -S 1m \
	-m "$MNT2" "$MNT"; then
	pass "vdifs-fsx: $OPS ops, 2 processes, 2 mounts, 64 KiB chunks"
else
	fail "vdifs-fsx: $OPS ops (seed $SEED)"
fi
# large I/O: whole chunks and more per call
if "$VDIFS_BIN/vdifs-fsx" -q -s "$((SEED + 7))" -n 2000 -p 2 -l 1m -S 8m \
	-m "$MNT2" "$MNT"; then
	pass "vdifs-fsx: 2000 ops with I/O up to 1 MiB"
else
	fail "vdifs-fsx: large I/O (seed $((SEED + 7)))"
fi
cluster_stop
finish

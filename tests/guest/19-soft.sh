#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# hard and soft mounts, as NFS has them.  Every data server holding a
# file stops (SIGSTOP): on a soft mount (soft,timeo=4) a synchronous
# write fails with EIO once it has waited timeo; on the default, hard,
# mount the same write waits, and goes through, with the data, once the
# servers are back.
. "$(dirname "$0")/lib.sh"

MOUNT_OPTS=actimeo=0
cluster_start
TOOL=$VDIFS_BIN/vdifs-tool
"$TOOL" volume create one --replicas 1 >/dev/null ||
	fail "create a volume with one copy"
umount "$MNT"
SOURCE=${SOURCE%/*}/one
mount -t vdifs -o "$MOUNT_OPTS" "$SOURCE" "$MNT" || fail "mount (hard)"
mkdir -p /mnt/vdifs-soft
mount -t vdifs -o "$MOUNT_OPTS,soft,timeo=4" "$SOURCE" /mnt/vdifs-soft ||
	fail "mount (soft)"
check "a soft mount says so" grep -q " /mnt/vdifs-soft vdifs .*soft" /proc/mounts

head -c 64k /dev/urandom >/tmp/soft.ref
cp /tmp/soft.ref "$MNT/f" && sync || fail "write the file"
head -c 4096 /dev/urandom >/tmp/soft.blk

for ds in ds1 ds2 ds3; do kill -STOP "$(srv_pid "$ds")"; done
# the hard mount's write waits ...
dd if=/tmp/soft.blk of="$MNT/f" bs=4k seek=1 count=1 \
	oflag=direct,dsync conv=notrunc status=none 2>/tmp/soft.hard &
hard=$!
# ... the soft mount's fails
s=${EPOCHREALTIME/./}
if dd if=/tmp/soft.blk of=/mnt/vdifs-soft/f bs=4k seek=2 count=1 \
	oflag=direct,dsync conv=notrunc status=none 2>/tmp/soft.err; then
	fail "a write on a soft mount with every server stopped succeeded"
else
	e=$(( (${EPOCHREALTIME/./} - s) / 1000000 ))
	check "a write on a soft mount with every server stopped fails with EIO after $e s (timeo 4, at most 30)" \
		bash -c "grep -q 'Input/output error' /tmp/soft.err && [ $e -le 30 ]"
fi
check "the hard mount's write still waits" kill -0 "$hard"
for ds in ds1 ds2 ds3; do kill -CONT "$(srv_pid "$ds")"; done
if wait "$hard"; then
	pass "the hard mount's write went through once the servers were back"
else
	fail "the hard mount's write: $(cat /tmp/soft.hard)"
fi
dd if=/tmp/soft.blk of=/tmp/soft.ref bs=4k seek=1 count=1 conv=notrunc \
	status=none
echo 3 >/proc/sys/vm/drop_caches
# (the soft write that gave up may still land once its server wakes, as
# on NFS: its block is not compared)
check "the file holds what the hard mount wrote" \
	cmp -n 8192 /tmp/soft.ref "$MNT/f"
check "and the rest of it" cmp -i 12288 /tmp/soft.ref "$MNT/f"
umount /mnt/vdifs-soft || fail "umount soft"
cluster_stop
finish

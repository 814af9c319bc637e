#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# POSIX behaviour through the kernel client: vdifs-posix
# (tests/tools/vdifs-posix.c) prints one PASS/FAIL line per check, counted
# like ours.  Caches off, so every answer comes from the servers.
. "$(dirname "$0")/lib.sh"

MOUNT_OPTS=actimeo=0
cluster_start
mkdir -p "$MNT/posix"
chmod 0755 "$MNT/posix"
if [ -x "$VDIFS_BIN/vdifs-posix" ]; then
	"$VDIFS_BIN/vdifs-posix" -u 65534 "$MNT/posix" || vdifs_failed=1
else
	fail "vdifs-posix not built"
fi
cluster_stop
finish

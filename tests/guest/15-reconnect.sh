#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lost connections: the metadata server and a data server are killed and
# restarted under a mounted volume; the client reconnects by itself and
# carries on.  With the server gone for good, an operation fails with EIO
# once the mount's timeout has passed, and never hangs.
. "$(dirname "$0")/lib.sh"

MOUNT_OPTS=actimeo=0,timeo=6
cluster_start
pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$CLUSTER_DIR/pids"; }
# restart NAME: kill -9 and start again with the same command line, on
# the port it had and the same data directory
restart() {
	local pid cmd port i
	pid=$(pid_of "$1")
	port=$(cat "$CLUSTER_DIR/$1/port")
	mapfile -d '' cmd <"/proc/$pid/cmdline"
	for i in "${!cmd[@]}"; do
		[ "${cmd[$i]}" = 127.0.0.1:0 ] && cmd[i]=127.0.0.1:$port
	done
	kill -9 "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	"${cmd[@]}" </dev/null >>"$CLUSTER_DIR/$1-restart.log" 2>&1 &
	sed -i "s/^$1 $pid\$/$1 $!/" "$CLUSTER_DIR/pids"
}

dd if=/dev/urandom of=/tmp/rc.data bs=64k count=16 2>/dev/null
cp /tmp/rc.data "$MNT/before"
restart mds
check "stat after the MDS restarted" stat "$MNT/before"
check "create after the MDS restarted" bash -c "echo after >$MNT/after"
check "data intact after the MDS restarted" cmp /tmp/rc.data "$MNT/before"
restart ds1
sleep 1
echo 3 >/proc/sys/vm/drop_caches
check "read after a data server restarted" cmp /tmp/rc.data "$MNT/before"
check "write after a data server restarted" \
	bash -c "cp /tmp/rc.data $MNT/again && sync && cmp /tmp/rc.data $MNT/again"

# the MDS gone for good: EIO after timeo (6 s), not a hang
kill -9 "$(pid_of mds)"
s=${EPOCHREALTIME/./}
out=$(timeout 60 stat "$MNT/nonexistent-$$" 2>&1)
rc=$?
e=$(( (${EPOCHREALTIME/./} - s) / 1000000 ))
if [ $rc = 124 ]; then
	fail "stat with the MDS gone hung"
elif grep -q "Input/output error" <<<"$out"; then
	pass "stat with the MDS gone fails with EIO after ${e} s"
else
	fail "stat with the MDS gone: $out"
fi
check "umount with the MDS gone" umount -f "$MNT"
cluster_stop
finish

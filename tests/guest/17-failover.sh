#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Data servers die under writers.  Four data servers, a volume with 3
# copies of every 64 KiB chunk (so that every server is the primary of
# some chunks and a replica of others); vdifs-fsx runs back to back
# against its model while one data server is killed (-9): the MDS takes
# it out of the replica sets once its lease runs out, promotes a replica
# where the primary went, and copies every chunk that lost a copy to the
# fourth server once its copies have been kept 40 s for its return (the
# time is reported), until none is degraded.  Then another stalls
# (SIGSTOP) for 20 s: writers go on without it, and once it is back,
# within the 40 s, its copies are caught up by what changed meanwhile.  No run may see an I/O error or a
# mismatch, synchronous writes may stall no longer than a lease, a second
# and a retry.  A file written and synced before the failures reads back whole
# afterwards; a killed server comes back, its old copies out of the
# sets, and the file still reads and takes writes.
. "$(dirname "$0")/lib.sh"

MOUNT_OPTS=actimeo=0
CLUSTER_DS=4
# a server out of a set has its copies kept 40 s for its return: the
# killed one is copied elsewhere after that, the stopped one caught up
cluster_start --down-out 40
TOOL=$VDIFS_BIN/vdifs-tool
"$TOOL" volume create fo --chunk-size 64K --extent-size 4K --replicas 3 \
	--min-replicas 1 >/dev/null || fail "create a volume with 3 copies"
umount "$MNT"
SOURCE=${SOURCE%/*}/fo
mount -t vdifs -o "$MOUNT_OPTS" "$SOURCE" "$MNT" || fail "mount fo"
mount_second

head -c 4M /dev/urandom >/tmp/fo.ref
cp /tmp/fo.ref "$MNT/ref" && sync || fail "write the reference file"

# fsx runs back to back until told to stop; every run must pass
rm -f /tmp/fo.probe
fsx_loop fo 20261126 400

# a probe: a 4 KiB O_DIRECT|O_DSYNC write every 0.1 s, each one timed,
# to see how long writes stall when a server dies
(
	while [ ! -e /tmp/fo.stop ]; do
		dd if=/dev/zero of="$MNT/probe" bs=4k count=1 \
			oflag=direct,dsync conv=notrunc status=none &&
			echo "${EPOCHREALTIME/./}" >>/tmp/fo.probe
		sleep 0.1
	done
) &
probe_pid=$!

dmesg -C
sleep 5
t0=$(date +%s)
srv_down ds2
echo "killed ds2 at $t0"
# full_again WHAT SINCE: wait (at most 2 min) until no chunk is degraded
# and more copies were made than before
copied=0
full_again() {
	local what=$1 since=$2 st degraded=unknown was=$copied i
	for ((i = 0; i < 120; i++)); do
		sleep 1
		st=$("$TOOL" --json status 2>/dev/null | tr -d ' \n')
		[[ "$st" =~ \"degraded\":([0-9]+),\"copied\":([0-9]+) ]] ||
			continue
		degraded=${BASH_REMATCH[1]}
		copied=${BASH_REMATCH[2]}
		[ "$degraded" = 0 ] && [ "$copied" -gt "$was" ] && break
	done
	check "full replication again $(($(date +%s) - since)) s after $what ($((copied - was)) chunks copied, $degraded degraded)" \
		test "$degraded" = 0 -a "$copied" -gt "$was" || diagnose
}
# diagnose: what the cluster and the kernel are doing, for a failure
# (also into the results, at once: a guest that hangs later keeps it)
diagnose() {
	{
		timeout 20 "$TOOL" status
		tail -n 60 "$CLUSTER_DIR/mds/log"
		for d in ds1 ds2 ds3 ds4; do
			echo "== $d"
			tail -n 25 "$CLUSTER_DIR/$d/log"
		done
		echo w >/proc/sysrq-trigger	# blocked tasks, with stacks
		dmesg | tail -n 300
	} 2>&1 | tee -a "${VDIFS_RESULTS:-/tmp}/diagnose.log"
	sync
}
# back to 3 copies of everything, on the 3 servers left
full_again "a server died" "$t0"

# a primary stalls (SIGSTOP) for 20 s: the MDS finds it down, writers
# go on without it; back within down-out, its copies are caught up by
# what changed meanwhile (its primaries log each one).  Besides fsx (whose
# runs may recreate every file they wrote meanwhile: new chunks, copied
# whole), a file of 16 chunks on every server left, written before and
# rewritten during the stall, so that copies of ds3's are behind for sure.
head -c 1M /dev/urandom >/tmp/fo.stall
cp /tmp/fo.stall "$MNT/stall" && sync || fail "write the file rewritten in the stall"
head -c 1M /dev/urandom >/tmp/fo.stall
t1=$(date +%s)
caught=$(cat "$CLUSTER_DIR"/ds*/log | grep -c "caught up from version")
kill -STOP "$(srv_pid ds3)"
echo "stopped ds3 at $t1"
dd if=/tmp/fo.stall of="$MNT/stall" bs=64k conv=notrunc oflag=direct,dsync \
	status=none &
stall_dd=$!
sleep 20
kill -CONT "$(srv_pid ds3)"
check "the file rewritten while a server was stopped" wait "$stall_dd"
full_again "a server stalled for 20 s and came back" "$t1"
check "reads back from the other client" cmp /tmp/fo.stall "$MNT2/stall"
now=$(cat "$CLUSTER_DIR"/ds*/log | grep -c "caught up from version")
check "the stalled server's copies were caught up ($((now - caught)) chunks), not copied whole" \
	test "$((now - caught))" -ge 1
# (a third server killed here, leaving two, once hung a writer for good:
# open, see the issue note; not run until that is understood)
sleep 5
touch /tmp/fo.stop
# the runs end within a minute or two; one that does not is stuck
for ((i = 0; i < 240; i++)); do
	kill -0 "$fsx_pid" 2>/dev/null || kill -0 "$probe_pid" 2>/dev/null ||
		break
	sleep 1
done
if kill -0 "$fsx_pid" 2>/dev/null || kill -0 "$probe_pid" 2>/dev/null; then
	fail "the writers did not finish 4 minutes after they were told to stop"
	diagnose
fi
wait "$fsx_pid" "$probe_pid"
# the longest gap between probe writes in [from, to) (seconds)
gap_in() {
	awk -v a="$1" -v b="$2" '$1 / 1e6 >= a && $1 / 1e6 < b {
		if (n++ && $1 - p > g) g = $1 - p; p = $1 }
		END { printf "%.1f", g / 1e6 }' /tmp/fo.probe
}
gap=$(gap_in "$t0" "$t1")
# a killed server: the lease (5 s) to find it down, then the next try
check "the longest stall of a synchronous write after a server died was $gap s (at most 15)" \
	awk -v g="$gap" 'BEGIN { exit !(g <= 15) }'
gap=$(gap_in "$t1" "$((t1 + 60))")
# a stopped one: the lease to find it down, or a lease and a second for
# a primary to give up on it as a replica, then the next try; the stop
# lasts 20 s, so a write that waits it out fails this
check "the longest stall of a synchronous write while a server was stopped for 20 s was $gap s (at most 15)" \
	awk -v g="$gap" 'BEGIN { exit !(g <= 15) }'

during=$(awk -v t="$t0" '$1 == "ok" && $3 > t' /tmp/fo.runs | wc -l)
fsx_report fo "vdifs-fsx with data servers dying" 1 \
	"$during after the first kill"
check "runs went on after the servers died" test "$during" -ge 1
outs=$(grep -c "out of its set (down)" "$CLUSTER_DIR/mds/log")
check "the MDS took the dead servers out of replica sets ($outs times)" \
	test "$outs" -ge 2
wfail=$(dmesg | grep -c "write at .* failed")
check "no write failed in the kernel log" test "$wfail" = 0

echo 3 >/proc/sys/vm/drop_caches
check "the file synced before the failures reads back from the server left" \
	cmp /tmp/fo.ref "$MNT/ref"

# the dead come back: they are out of the sets, nothing reads their copies
srv_up ds1
sleep 3
echo 3 >/proc/sys/vm/drop_caches
check "with a server back, the file still reads whole" cmp /tmp/fo.ref "$MNT/ref"
head -c 256k /dev/urandom >/tmp/fo.blk
dd if=/tmp/fo.blk of=/tmp/fo.ref bs=64k seek=3 conv=notrunc status=none
check "and takes writes" dd if=/tmp/fo.blk of="$MNT/ref" bs=64k seek=3 \
	conv=notrunc,fsync status=none
echo 3 >/proc/sys/vm/drop_caches
check "which read back" cmp /tmp/fo.ref "$MNT/ref"
cluster_stop
finish

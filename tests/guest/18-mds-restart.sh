#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The metadata server dies under a working mount and comes back: nothing
# the applications see may change.  vdifs-fsx runs back to back over two
# mounts, and a metadata workload (creates with O_EXCL, mkdirs, renames
# over files, unlinks, rmdirs, hard and symbolic links) runs against its
# model, while the MDS is killed (-9) and started again three times, and
# twice dies right after committing a create or a rename, before its
# answer leaves (a crash point).  Every operation must succeed once (a
# resent create answered EEXIST, a resent unlink ENOENT, would fail the
# model), every fsx run must pass, and no remount happens.
. "$(dirname "$0")/lib.sh"

MOUNT_OPTS=actimeo=0
cluster_start
mount_second
rm -f /tmp/mr.stop /tmp/mr.runs

(
	seed=20261127
	while [ ! -e /tmp/mr.stop ]; do
		if "$VDIFS_BIN/vdifs-fsx" -q -s "$seed" -n 300 -p 2 -l 256k \
			-m "$MNT2" "$MNT" >/tmp/mr.fsx.$seed 2>&1; then
			echo "ok $seed" >>/tmp/mr.runs
		else
			echo "FAILED $seed" >>/tmp/mr.runs
		fi
		seed=$((seed + 1))
	done
) &
fsx_pid=$!
python3 "$(dirname "$0")/meta-model.py" "$MNT/meta" /tmp/mr.stop 7 \
	>/tmp/mr.meta 2>&1 &
meta_pid=$!

# wait_died: the MDS started with a crash point has hit it (at most 60 s)
wait_died() {
	local pid i
	pid=$(srv_pid mds)
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

for round in 1 2 3; do
	sleep 6
	srv_down mds
	echo "MDS killed (round $round)"
	sleep 1
	srv_up mds
done
for point in after_commit_CREATE:25 after_commit_RENAME:10; do
	sleep 4
	srv_down mds
	srv_up mds VDIFS_MDS_CRASH_AT=$point
	if wait_died; then
		echo "MDS died at $point"
	else
		fail "the MDS did not reach $point"
	fi
	srv_down_pid=$(srv_pid mds)
	srv_up mds
done
sleep 6
touch /tmp/mr.stop
wait "$fsx_pid"
if wait "$meta_pid"; then
	pass "metadata operations through MDS restarts all succeeded once and match the model: $(tail -n 1 /tmp/mr.meta)"
else
	fail "metadata operations through MDS restarts: $(head -n 5 /tmp/mr.meta)"
fi
ok=$(grep -c '^ok' /tmp/mr.runs)
bad=$(grep -c '^FAILED' /tmp/mr.runs)
if [ "$bad" -gt 0 ]; then
	for s in $(awk '$1 == "FAILED" { print $2 }' /tmp/mr.runs | head -n 2); do
		tail -n 8 "/tmp/mr.fsx.$s"
	done
	fail "vdifs-fsx through MDS restarts: $bad of $((ok + bad)) runs failed"
else
	check "vdifs-fsx through MDS restarts: $ok runs, none failed" \
		test "$ok" -ge 2
fi
again=$(cat "$CLUSTER_DIR"/mds-restart.log 2>/dev/null |
	grep -Ec "(CREATE|RENAME) .* answered again, not redone")
check "the MDS answered the resent create and rename from its kept replies ($again)" \
	test "$again" -ge 2
check "no failed write or timed-out request in the kernel log" \
	bash -c "! dmesg | grep -E 'vdifs: .*(write at .* failed|timed out)'"
cluster_stop
finish

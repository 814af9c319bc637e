#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lost connections: the metadata server and a data server are killed and
# restarted under a mounted volume; the client reconnects by itself and
# carries on, and a mutation whose reply died with the MDS is not done
# twice.  A snapshot that fails half way because a data server is
# down leaves the file writable once the server is back (LAYOUT_FORK).
# With the server gone for good, an operation fails with EIO once the
# mount's timeout has passed, and never hangs.
. "$(dirname "$0")/lib.sh"

MOUNT_OPTS=actimeo=0,timeo=6
cluster_start
dd if=/dev/urandom of=/tmp/rc.data bs=64k count=16 2>/dev/null
cp /tmp/rc.data "$MNT/before"
srv_restart mds
check "stat after the MDS restarted" stat "$MNT/before"
check "create after the MDS restarted" bash -c "echo after >$MNT/after"
check "data intact after the MDS restarted" cmp /tmp/rc.data "$MNT/before"
# Exactly once: the MDS dies after it committed a mkdir, before it
# answered.  The client resends the mkdir to the MDS started again, which
# answers it from the reply it kept: success, not EEXIST.
srv_down mds
srv_up mds VDIFS_MDS_CRASH_AT=after_commit_MKDIR:1
mkdir "$MNT/once" 2>/tmp/once.err &
mk=$!
for ((i = 0; i < 100; i++)); do
	kill -0 "$(srv_pid mds)" 2>/dev/null || break
	sleep 0.1
done
srv_down_pid=$(srv_pid mds)
srv_up mds
if wait "$mk"; then
	pass "a mkdir whose reply was lost with the MDS succeeds when resent"
else
	fail "a mkdir whose reply was lost with the MDS: $(cat /tmp/once.err)"
fi
check "the MDS answered it from its kept reply" \
	grep -q "MKDIR .* answered again, not redone" "$CLUSTER_DIR/mds-restart.log"
check "the directory is there" test -d "$MNT/once"
srv_restart ds1
sleep 1
echo 3 >/proc/sys/vm/drop_caches
check "read after a data server restarted" cmp /tmp/rc.data "$MNT/before"
check "write after a data server restarted" \
	bash -c "cp /tmp/rc.data $MNT/again && sync && cmp /tmp/rc.data $MNT/again"

# A snapshot that fails half way (a data server down) froze the chunks it
# had cloned so far; the file must stay writable once the server is back:
# a writer refused by a frozen chunk has the MDS fork it (LAYOUT_FORK).
# Each data server in turn goes down, so that some attempt freezes chunks.
TOOL=$VDIFS_BIN/vdifs-tool
"$TOOL" volume create frz --chunk-size 64K --replicas 1 >/dev/null ||
	fail "create a volume with 64 KiB chunks and one replica"
mkdir -p /mnt/frz
mount -t vdifs -o "$MOUNT_OPTS" "${SOURCE%/*}/frz" /mnt/frz || fail "mount frz"
head -c 1M /dev/urandom >/tmp/frz.data
cp /tmp/frz.data /mnt/frz/f
failed_snaps=0
for ds in ds1 ds2 ds3; do
	srv_down "$ds"
	if "$TOOL" -q snapshot create /mnt/frz/f "down-$ds" >/dev/null 2>&1; then
		"$TOOL" -q snapshot delete /mnt/frz/f "down-$ds"
	else
		failed_snaps=$((failed_snaps + 1))
	fi
	srv_up "$ds"
	sleep 1
	# every chunk rewritten (4 KiB into each 64 KiB chunk)
	for ((i = 0; i < 16; i++)); do
		head -c 4096 /dev/urandom >/tmp/frz.blk
		dd if=/tmp/frz.blk of=/tmp/frz.data bs=4k seek=$((i * 16 + i % 16)) conv=notrunc status=none
		dd if=/tmp/frz.blk of=/mnt/frz/f bs=4k seek=$((i * 16 + i % 16)) conv=notrunc,fsync status=none ||
			fail "write chunk $i after a snapshot failed with $ds down"
	done
	sync
	echo 3 >/proc/sys/vm/drop_caches
	check "with $ds down a snapshot fails, and afterwards every chunk of the file takes writes" \
		cmp /tmp/frz.data /mnt/frz/f
done
forks=$(cat "$CLUSTER_DIR/mds/log" "$CLUSTER_DIR/mds-restart.log" 2>/dev/null |
	grep -c "was frozen, the file goes on in a clone")
check "snapshots failed half way ($failed_snaps of 3) and the chunks they froze were forked when written ($forks)" \
	test "$failed_snaps" -ge 1 -a "$forks" -ge 1
check "a snapshot after all that holds the file" bash -c \
	"$TOOL -q snapshot create /mnt/frz/f after >/dev/null && cmp /tmp/frz.data /mnt/frz/.vdifs-snapshots/\$(stat -c %i /mnt/frz/f)/after"
umount /mnt/frz || fail "umount frz"

# the MDS gone for good: EIO after timeo (6 s), not a hang
kill -9 "$(srv_pid mds)"
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

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Principals and access lists through the kernel client: a client host
# mounts with a key of its own (mount.vdifs name=,keyfile=), a volume it
# may only read mounts read-only and refuses writes, one it is not on is
# not there for it, another key or the cluster's shared client key does
# not pass for it, and a deleted principal's mount stops being served.
. "$(dirname "$0")/lib.sh"

CLUSTER_DS=2 cluster_start
T=$VDIFS_BIN/vdifs-tool
MDS=$VDIFS_MDS
GOLD=$MDS/gold
OTHER=$MDS/other
mkdir -p "$MNT2"

$T volume create gold >/dev/null && $T volume create other >/dev/null ||
	{ fail "create volumes"; finish; }
# the golden image goes in before the volume gets a list
mount -t vdifs -o "$MOUNT_OPTS" "$GOLD" "$MNT2" &&
	dd if=/dev/urandom of="$MNT2/base.img" bs=64k count=16 status=none &&
	sum=$(md5sum <"$MNT2/base.img") && umount "$MNT2" ||
	{ fail "write the golden image"; finish; }

check "key add writes a key file of mode 600" bash -c \
	"$T -q key add host1 --role client --out /tmp/host1.key && [ \$(stat -c %a /tmp/host1.key) = 600 ]"
$T -q key add host2 --role client --out /tmp/host2.key
check "access set gold host1 ro" $T access set gold host1 ro
check "access set other host2 rw" $T access set other host2 rw

check "mount.vdifs name=host1,keyfile= of a volume it may only read: read-only" \
	bash -c "$VDIFS_SRC/tools/mount.vdifs $GOLD $MNT2 -o name=host1,keyfile=/tmp/host1.key 2>/dev/null && grep -q \" $MNT2 vdifs ro,\" /proc/mounts"
check "the principal shows in the mount options" \
	grep -q " $MNT2 vdifs .*name=host1" /proc/mounts
check "host1 reads the golden image" \
	bash -c "[ \"\$(md5sum <$MNT2/base.img)\" = '$sum' ]"
check "host1 cannot write it" bash -c "! echo x 2>/dev/null >>$MNT2/base.img"
check "nor remount it read-write" bash -c \
	"! mount -o remount,rw $MNT2 2>/dev/null && grep -q \" $MNT2 vdifs ro,\" /proc/mounts"
check "a remount that stays read-only is fine" mount -o remount,ro "$MNT2"
umount "$MNT2" 2>/dev/null

load_key host1 "$(cat /tmp/host1.key)"
load_key host2 "$(cat /tmp/host2.key)"
mount_fails "host1 mounting gold read-write" EROFS "may only read volume 'gold'" \
	"$GOLD" "name=host1,key=host1"
mount_fails "host2 on gold's list? no: gold is not there" ENOENT \
	"no volume 'gold'" "$GOLD" "name=host2,key=host2"
mount_fails "the shared client key on a listed volume" ENOENT \
	"no volume 'gold'" "$GOLD" "key=cluster"
mount_fails "host1's key passing for host2" EHOSTUNREACH "cannot reach" \
	"$OTHER" "conn_timeo=3,name=host2,key=host1"
mount_fails "name= without a key" EINVAL "needs its key" "$OTHER" \
	"name=host2"
mount_fails "a bad principal name" EINVAL "name=NAME" "$OTHER" \
	"name=host 2,key=host2"

check "host2 mounts other read-write" \
	mount -t vdifs -o soft,timeo=5,name=host2,key=host2 "$OTHER" "$MNT2"
check "host2 writes and reads back through a direct write" bash -c \
	"dd if=/tmp/host2.key of=$MNT2/f oflag=direct bs=4k conv=sync status=none && cmp -n 65 /tmp/host2.key $MNT2/f"
# revoked: the MDS refuses it at once, data servers within ten seconds
check "key delete host2" $T key delete host2
sleep 12
echo 3 >/proc/sys/vm/drop_caches
check "a deleted principal's mount is no longer served" bash -c \
	"! timeout 60 dd if=$MNT2/f of=/dev/null iflag=direct bs=4k count=1 status=none 2>/dev/null"
umount -f "$MNT2" 2>/dev/null || umount -l "$MNT2"
check "nor can it mount again" bash -c \
	"! mount -t vdifs -o conn_timeo=3,name=host2,key=host2 $OTHER $MNT2 2>/dev/null"

# Chunk capabilities run out and are fetched again: with an MDS that makes
# them last 90 s (the kernel renews a minute before; data servers refuse
# one a minute after), I/O for three minutes goes on without an error,
# reads and writes alike
srv_down mds
srv_down_cmd+=(--cap-lifetime 90)
srv_up mds
dd if=/dev/urandom of=/tmp/cap.model bs=64k count=32 status=none
cap_ok=1
cap_end=$((SECONDS + 180))
while [ $SECONDS -lt $cap_end ]; do
	off=$((RANDOM % 32))
	dd if=/tmp/cap.model of="$MNT/cap.img" bs=64k skip=$off seek=$off \
		count=1 conv=notrunc oflag=direct status=none || cap_ok=0
	dd if="$MNT/cap.img" of=/dev/null bs=64k iflag=direct status=none ||
		cap_ok=0
	sleep 5
done
dd if=/tmp/cap.model of="$MNT/cap.img" bs=64k conv=notrunc oflag=direct \
	status=none || cap_ok=0
check "I/O goes on past a capability's lifetime (renewed)" [ $cap_ok = 1 ]
check "and the file reads back as written" cmp /tmp/cap.model "$MNT/cap.img"
cluster_stop
finish

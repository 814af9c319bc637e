#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Power cut: what fsync, O_DSYNC and O_DIRECT|O_SYNC made durable survives
# the servers' disk losing everything it had not been told to make stable.
#
# The whole cluster (MDS and data servers) keeps its state on an ext4 over
# dm-flakey.  Files are written through the mount and made durable, then
# the device starts dropping writes (what a power cut does to a page cache
# not yet written back), every server is killed with SIGKILL and the file
# system is unmounted, so every dirty page of the servers (chunk files,
# LMDB pages) is lost.  Back on a working device the servers restart on
# the same state and each durable file must read back exactly.  A SIGKILL
# alone could not test this: the page cache survives it.  (Take out the
# data server's fdatasync, or open its LMDB with MDB_NOSYNC, and this
# fails.)
. "$(dirname "$0")/lib.sh"

# no udev in the guest: device-mapper makes its nodes itself
export DM_DISABLE_UDEV=1
PC_IMG=/tmp/power-cut.img
PC_DEV=vdifs-power-cut
PC_MNT=/var/tmp/power-cut
modprobe loop; modprobe dm-flakey || { fail "modprobe dm-flakey"; finish; }
truncate -s 768M "$PC_IMG"
loop=$(losetup -f --show "$PC_IMG") || { fail "losetup"; finish; }
sectors=$(blockdev --getsz "$loop")
dmsetup create "$PC_DEV" --table "0 $sectors linear $loop 0" ||
	{ fail "dmsetup create"; finish; }
mkfs.ext4 -q -F "/dev/mapper/$PC_DEV" && mkdir -p "$PC_MNT" &&
	mount "/dev/mapper/$PC_DEV" "$PC_MNT" || { fail "ext4 on dm"; finish; }
CLUSTER_DIR=$PC_MNT/cluster
cluster_start

# table NAME...: swap the device's table under the mounted ext4
table() {
	dmsetup suspend --nolockfs "$PC_DEV" &&
		dmsetup load "$PC_DEV" --table "$*" &&
		dmsetup resume "$PC_DEV"
}

# ---- durable writes, their checksums kept off the device ----
declare -A want
durable() { # NAME: record what NAME holds now
	want[$1]=$(sha256sum <"$MNT/$1")
}
for i in 1 2 3 4; do
	dd if=/dev/urandom of="$MNT/fsync$i" bs=256k count=$((i * 3)) \
		conv=fsync 2>/dev/null
	durable "fsync$i"
done
dd if=/dev/urandom of="$MNT/dsync" bs=64k count=20 oflag=dsync 2>/dev/null
durable dsync
dd if=/dev/urandom of="$MNT/direct" bs=1M count=3 oflag=direct,sync \
	2>/dev/null
durable direct
# small overwrites inside data already there, and a punched hole
dd if=/dev/urandom of="$MNT/fsync1" bs=4k count=3 seek=17 conv=notrunc,fsync \
	2>/dev/null
dd if=/dev/urandom of="$MNT/fsync2" bs=1000 count=5 seek=333 \
	conv=notrunc,fsync 2>/dev/null
fallocate -p -o 65536 -l 131072 "$MNT/fsync3" && sync "$MNT/fsync3"
for f in fsync1 fsync2 fsync3; do durable "$f"; done
# a snapshot and a clone made durable by the MDS before they return
vdifs_tool() { "$VDIFS_BIN/vdifs-tool" "$@"; }
if vdifs_tool snapshot create "$MNT/fsync4" pc-snap >/dev/null &&
	vdifs_tool clone "$MNT/fsync4" "$MNT/clone4" >/dev/null; then
	durable clone4
	dd if=/dev/urandom of="$MNT/clone4" bs=4k count=2 seek=5 \
		conv=notrunc,fsync 2>/dev/null
	durable clone4
else
	fail "snapshot and clone of fsync4"
fi
# written, never made durable: may be lost, must not harm the rest
dd if=/dev/urandom of="$MNT/unsynced" bs=64k count=16 2>/dev/null

# ---- the power cut ----
# each server's command line, on the port it had
cmds=()
while read -r name pid; do
	argv=$(tr '\0' '\t' <"/proc/$pid/cmdline")
	cmds+=("${argv//127.0.0.1:0/127.0.0.1:$(cat "$CLUSTER_DIR/$name/port")}")
done <"$CLUSTER_DIR/pids"
names=$(awk '{ print $1 }' "$CLUSTER_DIR/pids")
check "device drops writes from now on" \
	table "0 $sectors flakey $loop 0 0 180 1 drop_writes"
umount "$MNT" || fail "umount vdifs before the cut"
while read -r name pid; do kill -9 "$pid"; done <"$CLUSTER_DIR/pids"
sleep 1
umount "$PC_MNT" || fail "umount the cut device"
check "device back" table "0 $sectors linear $loop 0"
check "ext4 mounts after the cut" mount "/dev/mapper/$PC_DEV" "$PC_MNT"

# ---- the same servers, same state, same ports ----
: >"$CLUSTER_DIR/pids.new"
set -- $names
for c in "${cmds[@]}"; do
	IFS=$'\t' read -r -a argv <<<"$c"
	"${argv[@]}" </dev/null >>"$CLUSTER_DIR/after-cut.log" 2>&1 &
	echo "$1 $!" >>"$CLUSTER_DIR/pids.new"
	shift
done
mv "$CLUSTER_DIR/pids.new" "$CLUSTER_DIR/pids"
ok=0
for i in $(seq 60); do
	if mount -t vdifs ${MOUNT_OPTS:+-o "$MOUNT_OPTS"} "$SOURCE" "$MNT" \
		2>/dev/null; then
		ok=1
		break
	fi
	sleep 0.5
done
check "mount again after the cut" [ $ok = 1 ]
for f in "${!want[@]}"; do
	got=$(sha256sum <"$MNT/$f" 2>/dev/null)
	if [ "$got" = "${want[$f]}" ]; then
		pass "$f: durable data intact after the power cut"
	else
		fail "$f: durable data changed or lost by the power cut"
	fi
done
check "what was never made durable does not break reading" \
	bash -c "cat '$MNT/unsynced' >/dev/null || [ ! -e '$MNT/unsynced' ]"
check "the volume takes writes after the cut" \
	dd if=/dev/zero of="$MNT/after" bs=1M count=2 conv=fsync status=none
cluster_stop
umount "$PC_MNT"
dmsetup remove "$PC_DEV"
losetup -d "$loop"
rm -f "$PC_IMG"
finish

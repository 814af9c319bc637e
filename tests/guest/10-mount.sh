#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Mounting a real cluster: the source shows exactly as given, df -T says
# vdifs, an unknown volume and a wrong key are refused with clear errors,
# two clients see each other's files, umount and rmmod are clean.
. "$(dirname "$0")/lib.sh"

# no attribute caching: every stat asks the MDS, so the checks below are
# exact (with caching, staleness is bounded by acregmax/acdirmax instead)
MOUNT_OPTS=actimeo=0
cluster_start
check "source in /proc/mounts exactly as given" \
	grep -q "^$SOURCE $MNT vdifs " /proc/mounts
check "df -T shows vdifs" bash -c "df -T $MNT | grep -q ' vdifs '"
check "statfs namelen 255" bash -c "[ \$(stat -f -c %l $MNT) = 255 ]"
check "statfs has capacity" bash -c "[ \$(stat -f -c %b $MNT) -gt 0 ]"
mount_fails "unknown volume" ENOENT "no volume 'nosuchvol'" \
	"${SOURCE%/*}/nosuchvol"

mount_second
echo "from client one" >"$MNT/shared.txt"
check "second client reads the first's file" \
	bash -c "[ \"\$(cat $MNT2/shared.txt)\" = 'from client one' ]"
echo "appended by two" >>"$MNT2/shared.txt"
check "first client sees the second's append after reopen" \
	bash -c "[ \$(wc -l <$MNT/shared.txt) = 2 ]"
mkdir "$MNT2/dir-from-two"
check "first client sees a directory made by the second" \
	test -d "$MNT/dir-from-two"
rm "$MNT/shared.txt"
check "unlink seen by the other client" bash -c "! test -e $MNT2/shared.txt"

check "umount second" umount "$MNT2"
cluster_stop

# a keyed cluster: no key, wrong key, right key
cluster_dir_key=0011223344556677889900aabbccddeeff
rm -rf "$CLUSTER_DIR"
SOURCE=$("$VDIFS_SRC/tools/vdifs-cluster" start --ds 1 --dir "$CLUSTER_DIR" \
	--bin "$VDIFS_BIN" --key "$cluster_dir_key")
insmod "${VDIFS_KO:-$VDIFS_SRC/build/mod/kmod/vdifs.ko}"
mount_fails "keyed server, no key" EHOSTUNREACH "cannot reach" "$SOURCE" \
	"conn_timeo=3"
mount_fails "keyed server, wrong key" EHOSTUNREACH "cannot reach" "$SOURCE" \
	"conn_timeo=3,key=00112233"
check "keyed server, right key" mount -t vdifs -o "key=$cluster_dir_key" \
	"$SOURCE" "$MNT"
check "key not shown in /proc/mounts" bash -c "! grep -q key= /proc/mounts"
check "keyed mount works" bash -c "echo ok >$MNT/k && [ \$(cat $MNT/k) = ok ]"
cluster_stop
finish

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
# a client with a key does not take a server that cannot prove it
load_key() { # NAME HEX: the logon key vdifs:NAME
	printf "$(sed 's/../\\x&/g' <<<"$2")" |
		keyctl padd logon "vdifs:$1" @u >/dev/null
}
load_key right 0011223344556677889900aabbccddeeff
mount_fails "keyless server, a key given" EHOSTUNREACH \
	"does not ask for the key" "$SOURCE" "conn_timeo=3,key=right"
cluster_stop

# a keyed cluster: no key, wrong key, right key; the key comes from the
# kernel keyring, never from a command line
cluster_dir_key=0011223344556677889900aabbccddeeff
rm -rf "$CLUSTER_DIR"
(umask 077 && echo "$cluster_dir_key" >/tmp/cluster.key)
SOURCE=$("$VDIFS_SRC/tools/vdifs-cluster" start --ds 1 --dir "$CLUSTER_DIR" \
	--bin "$VDIFS_BIN" --key-file /tmp/cluster.key)
insmod "${VDIFS_KO:-$VDIFS_SRC/build/mod/kmod/vdifs.ko}"
mount_fails "keyed server, no key" EHOSTUNREACH "cannot reach" "$SOURCE" \
	"conn_timeo=3"
load_key wrong 00112233445566778899aabbccddeeee
mount_fails "keyed server, wrong key" EHOSTUNREACH "cannot reach" "$SOURCE" \
	"conn_timeo=3,key=wrong"
mount_fails "a key not in the keyring" ENOKEY "no logon key vdifs:nosuch" \
	"$SOURCE" "conn_timeo=3,key=nosuch"
load_key short 00112233445566778899aabbccddee
mount_fails "a key of 15 bytes" EINVAL "has 15 bytes" "$SOURCE" \
	"conn_timeo=3,key=short"
mount_fails "a hex key on the command line" EINVAL "key=NAME" "$SOURCE" \
	"key=0011223344556677889900aabbccddeeff0011223344556677889900aabbccddeeff0011"
chmod 644 /tmp/cluster.key
check "mount.vdifs refuses a key file others can read" bash -c \
	"$VDIFS_SRC/tools/mount.vdifs $SOURCE $MNT -o keyfile=/tmp/cluster.key 2>&1 | grep -q 'chmod 600' && ! grep -q ' $MNT vdifs ' /proc/mounts"
chmod 600 /tmp/cluster.key
check "keyed server, right key (mount.vdifs keyfile=)" \
	"$VDIFS_SRC/tools/mount.vdifs" "$SOURCE" "$MNT" -o keyfile=/tmp/cluster.key
check "the key is in no mount's options" bash -c \
	"! grep -q $cluster_dir_key /proc/mounts"
check "keyed mount works" bash -c "echo ok >$MNT/k && [ \$(cat $MNT/k) = ok ]"
cluster_stop
finish

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
	"${SOURCE%/*}/nosuchvol" "$MOUNT_OPTS"

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
# The cluster has a key (vdifs-cluster makes one): the mount needs it,
# from the kernel keyring, never from a command line
keyhex=$(cat "$CLUSTER_DIR/key")
mount_fails "keyed server, no key" EHOSTUNREACH "requires a key" "$SOURCE" \
	"conn_timeo=3"
mount_fails "keyed server, insecure" EHOSTUNREACH "requires a key" "$SOURCE" \
	"conn_timeo=3,insecure"
load_key wrong 00112233445566778899aabbccddeeee
mount_fails "keyed server, wrong key" EHOSTUNREACH "cannot reach" "$SOURCE" \
	"conn_timeo=3,key=wrong"
mount_fails "a key not in the keyring" ENOKEY "no logon key vdifs:nosuch" \
	"$SOURCE" "conn_timeo=3,key=nosuch"
load_key short 00112233445566778899aabbccddee
mount_fails "a key of 15 bytes" EINVAL "has 15 bytes" "$SOURCE" \
	"conn_timeo=3,key=short"
mount_fails "a hex key on the command line" EINVAL "key=NAME" "$SOURCE" \
	"key=${keyhex}${keyhex}"
mount_fails "key= with insecure" EINVAL "exclude each other" "$SOURCE" \
	"key=cluster,insecure"
cp "$CLUSTER_DIR/key" /tmp/cluster.key
chmod 644 /tmp/cluster.key
check "mount.vdifs refuses a key file others can read" bash -c \
	"$VDIFS_SRC/tools/mount.vdifs $SOURCE $MNT2 -o keyfile=/tmp/cluster.key 2>&1 | grep -q 'chmod 600' && ! grep -q ' $MNT2 vdifs ' /proc/mounts"
chmod 600 /tmp/cluster.key
check "keyed server, right key (mount.vdifs keyfile=)" \
	"$VDIFS_SRC/tools/mount.vdifs" "$SOURCE" "$MNT2" -o keyfile=/tmp/cluster.key
check "the key is in no mount's options" bash -c "! grep -q $keyhex /proc/mounts"
check "keyed mount works" bash -c "echo ok >$MNT2/k && [ \$(cat $MNT/k) = ok ]"
check "vdifs-tool without the key is refused" bash -c \
	"! env -u VDIFS_KEY_FILE $VDIFS_BIN/vdifs-tool volume list >/dev/null 2>&1"
check "vdifs-tool with it is not" "$VDIFS_BIN/vdifs-tool" volume list
umount "$MNT2"
cluster_stop

# A keyless cluster only on purpose: a client with a key does not take a
# server that cannot prove it, nor does one without a key unless told
rm -rf "$CLUSTER_DIR"
SOURCE=$("$VDIFS_SRC/tools/vdifs-cluster" start --ds 1 --dir "$CLUSTER_DIR" \
	--bin "$VDIFS_BIN" --insecure)
insmod "${VDIFS_KO:-$VDIFS_SRC/build/mod/kmod/vdifs.ko}"
load_key right "$keyhex"
mount_fails "keyless server, a key given" EHOSTUNREACH \
	"does not ask for the key" "$SOURCE" "conn_timeo=3,key=right"
mount_fails "keyless server, no key, no insecure" EHOSTUNREACH \
	"mount -o insecure" "$SOURCE" "conn_timeo=3"
check "keyless server, -o insecure" mount -t vdifs -o insecure "$SOURCE" "$MNT"
check "an insecure mount says so" grep -q " $MNT vdifs .*insecure" /proc/mounts
check "the keyless mount works" bash -c "echo ok >$MNT/k && [ \$(cat $MNT/k) = ok ]"
cluster_stop
finish

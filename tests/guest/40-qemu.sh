#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What a VDI host does: qemu-img and qemu-io with cache=none (O_DIRECT) on
# raw and qcow2 images on vdifs, checked against the same writes on the
# guest's tmpfs and by qemu-img check.
. "$(dirname "$0")/lib.sh"

command -v qemu-img >/dev/null || { fail "qemu-img not installed"; finish; }
cluster_start
REF=/tmp/ref.img
IMG=$MNT/desk.img
writes=(-c "write -P 0xab 0 4M" -c "write -P 0xcd 100M 1M"
	-c "write -P 0x11 255M 1M" -c "write -P 0x5a 1000 3000"
	-c "write -z 2M 64k")

check "qemu-img create raw 256M" qemu-img create -q -f raw "$IMG" 256M
check "image size 256M" bash -c "[ \$(stat -c %s $IMG) = 268435456 ]"
check "qemu-io writes, cache=none" qemu-io -f raw -t none "${writes[@]}" "$IMG"
qemu-img create -q -f raw "$REF" 256M
qemu-io -f raw -t none "${writes[@]}" "$REF" >/dev/null
check "qemu-io reads back the patterns" qemu-io -f raw -t none \
	-c "read -P 0xab 4096 1M" -c "read -P 0xcd 100M 1M" \
	-c "read -P 0x11 255M 1M" -c "read -P 0 50M 1M" \
	-c "read -P 0x5a 1000 3000" -c "read -P 0 2M 64k" "$IMG"
check "raw image equals the reference (qemu-img compare)" \
	qemu-img compare -q -f raw -F raw "$IMG" "$REF"
echo 3 >/proc/sys/vm/drop_caches
check "still equal after dropping caches" \
	qemu-img compare -q -f raw -F raw "$IMG" "$REF"
check "sparse: far less allocated than the size" \
	bash -c "[ \$(qemu-img map -f raw --output=json $IMG | grep -c '\"data\": true') -ge 1 ]"

Q=$MNT/desk.qcow2
check "qemu-img create qcow2 1G" qemu-img create -q -f qcow2 "$Q" 1G
check "qcow2 writes, cache=none" qemu-io -f qcow2 -t none \
	-c "write -P 0x42 0 8M" -c "write -P 0x43 512M 2M" "$Q"
check "qcow2 reads back" qemu-io -f qcow2 -t none \
	-c "read -P 0x42 0 8M" -c "read -P 0x43 512M 2M" -c "read -P 0 100M 1M" "$Q"
check "qemu-img check qcow2" qemu-img check -q "$Q"
check "qemu-img convert raw -> qcow2 on vdifs" \
	qemu-img convert -t none -f raw -O qcow2 "$IMG" "$MNT/conv.qcow2"
check "converted image equals the raw one" \
	qemu-img compare -q "$IMG" "$MNT/conv.qcow2"
cluster_stop
finish

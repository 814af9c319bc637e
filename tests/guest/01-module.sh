#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The module loads, registers "vdifs", refuses bad mounts with clear
# errors (a mount with no server behind it too), and unloads and reloads
# cleanly.
. "$(dirname "$0")/lib.sh"

check "vdifs is in /proc/filesystems" grep -qw vdifs /proc/filesystems

mount_fails "no volume in source" EINVAL "HOST:PORT/VOLUME" \
	"127.0.0.1:7400"
mount_fails "host name instead of address" EINVAL \
	"mount.vdifs resolves names" "mds.example:7400/vol"
mount_fails "port out of range" EINVAL "port must be" \
	"127.0.0.1:70000/vol"
mount_fails "bad volume name" EINVAL "volume name" \
	"127.0.0.1:7400/bad..name/x"
mount_fails "unknown option" EINVAL "nosuchopt" \
	"127.0.0.1:7400/vol" "nosuchopt=1"
mount_fails "timeo=0" EINVAL "timeo must be" \
	"127.0.0.1:7400/vol" "timeo=0"
mount_fails "a bad key name" EINVAL "key=NAME" \
	"127.0.0.1:7400/vol" "key=../zz"
mount_fails "key= with insecure" EINVAL "exclude each other" \
	"127.0.0.1:7400/vol" "key=zz,insecure"
mount_fails "acregmin > acregmax" EINVAL "acregmin" \
	"127.0.0.1:7400/vol" "acregmin=10,acregmax=5"
mount_fails "no server at the address" EHOSTUNREACH \
	"cannot reach the metadata server" "127.0.0.1:7400/vol" "conn_timeo=3"
check "no vdifs mount left behind" bash -c '! grep -q " vdifs " /proc/mounts'

check "rmmod vdifs" rmmod vdifs
check "vdifs gone from /proc/filesystems" bash -c '! grep -qw vdifs /proc/filesystems'
check "insmod again" insmod "${VDIFS_KO:-$VDIFS_SRC/build/mod/kmod/vdifs.ko}"
check "registered again" grep -qw vdifs /proc/filesystems
check "rmmod again" rmmod vdifs
finish

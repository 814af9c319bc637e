#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/guest-cluster.sh: sourced by the benchmarks that run in the guest
# on a mounted vdifs (clone.sh, snap.sh).  bench_cluster_up starts their
# cluster, 3 data servers with 3 sync copies, state in $DIR, and mounts it
# on $MNT; it needs SRC, BIN, DIR, MNT and a die function.

bench_cluster_up() {
	local source

	grep -qw vdifs /proc/filesystems || die "vdifs.ko is not loaded"
	rm -rf "$DIR"
	source=$("$SRC/tools/vdifs-cluster" start --ds 3 --mode sync \
		--dir "$DIR" --bin "$BIN" 2>/dev/null) || die "start the cluster"
	export VDIFS_MDS=${source%%/*}
	export VDIFS_KEY_FILE=$DIR/key
	mkdir -p "$MNT"
	"$SRC/tools/mount.vdifs" "$source" "$MNT" -o "keyfile=$VDIFS_KEY_FILE" ||
		die "mount"
}

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark (not a test): how long a cluster takes to put every chunk
# back to 2 copies after a data server dies, and how many bytes the copies
# move, against a full copy of every lost chunk.  A local cluster of 3
# data servers with their data on a tmpfs, a golden file and its clones
# (bench/rereplicate.c).
#   bench/rereplicate.sh [CHUNKS [CHUNK_KIB [CLONES [OWN_KIB]]]]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
make -s -C "$repo" userspace
dir=$(mktemp -d)
mount -t tmpfs -o size=4g tmpfs "$dir"
trap '"$repo/tools/vdifs-cluster" stop --dir "$dir" >/dev/null 2>&1; umount "$dir" 2>/dev/null || umount -l "$dir"; rmdir "$dir"' EXIT
# copies made at once, not kept for the killed server's return
"$repo/tools/vdifs-cluster" start --ds 3 --dir "$dir" --insecure \
	--down-out 0 >/dev/null
. "$dir/cluster.env"
pids=$(awk '$1 ~ /^ds/ { print $1, $2 }' "$dir/pids" |
	while read -r name pid; do echo "$(cat "$dir/$name/port"):$pid"; done)
# shellcheck disable=SC2086
"$repo/build/out/bench-rereplicate" "$VDIFS_MDS" "${1:-32}" "${2:-4096}" \
	"${3:-8}" "${4:-256}" $pids

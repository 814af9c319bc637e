#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark (not a test): the data server's cost per request on the host,
# a local cluster with its data on a tmpfs, against pread/pwrite on a file
# of the same tmpfs.  bench/ds-io.sh [THREADS] [SECS]
# DS_IO_DIR=DIR puts both on the file system of DIR instead (a disk:
# then what a write's fdatasync costs, and how writes share it, counts).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
make -s -C "$repo" userspace
if [ -n "${DS_IO_DIR:-}" ]; then
	dir=$(mktemp -d -p "$DS_IO_DIR")
	trap '"$repo/tools/vdifs-cluster" stop --dir "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
else
	dir=$(mktemp -d)
	mount -t tmpfs -o size=2g tmpfs "$dir"
	trap '"$repo/tools/vdifs-cluster" stop --dir "$dir" >/dev/null 2>&1; umount "$dir" 2>/dev/null || umount -l "$dir"; rmdir "$dir"' EXIT
fi
"$repo/tools/vdifs-cluster" start --ds 1 --dir "$dir" --insecure >/dev/null
. "$dir/cluster.env"
line=$("$repo/build/out/vdifs-tool" --mds "$VDIFS_MDS" --insecure --json status |
	python3 -c 'import json,sys; d=json.load(sys.stdin)["data_servers"][0]; print(d["address"], d["id"])')
pid=$(awk '$1 == "ds1" { print $2 }' "$dir/pids")
# shellcheck disable=SC2086
"$repo/build/out/bench-ds-io" $line "$pid" "$dir" "${1:-4}" "${2:-5}"

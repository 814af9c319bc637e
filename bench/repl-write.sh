#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark (not a test): writes to 3 synchronous copies against 1, on a
# local cluster of 3 data servers (bench/repl-write.c).  The data goes to
# DIR (default: a directory under /var/tmp, on a disk, where fdatasync
# costs what it costs; a tmpfs hides it).
#   bench/repl-write.sh [CHUNKS [SECS [BS_KIB [DIR [DEPTH]]]]]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
make -s -C "$repo" userspace
dir=$(mktemp -d "${4:-/var/tmp}/vdifs-repl-write.XXXXXX")
trap '"$repo/tools/vdifs-cluster" stop --dir "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
"$repo/tools/vdifs-cluster" start --ds 3 --dir "$dir" --insecure >/dev/null
. "$dir/cluster.env"
"$repo/build/out/bench-repl-write" "$VDIFS_MDS" "${1:-4}" "${2:-5}" "${3:-256}" "${5:-1}"

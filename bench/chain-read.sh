#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark (not a test): clone-chain read cost on a local data server.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
make -s -C "$repo" userspace
dir=$(mktemp -d)
trap '"$repo/tools/vdifs-cluster" stop --dir "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
"$repo/tools/vdifs-cluster" start --ds 1 --dir "$dir" --insecure >/dev/null
. "$dir/cluster.env"
line=$("$repo/build/out/vdifs-tool" --mds "$VDIFS_MDS" --insecure --json status |
	python3 -c 'import json,sys; d=json.load(sys.stdin)["data_servers"][0]; print(d["address"], d["id"])')
# shellcheck disable=SC2086
"$repo/build/out/bench-chain-read" $line "${1:-32}"

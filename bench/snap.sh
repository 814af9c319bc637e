#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/snap.sh: what a snapshot costs, and whether a big one holds up a
# small one.  A "big" file of BIG_CHUNKS 64 MiB chunks, each with 4 KiB
# written (64 GiB for the default 1024), and a "small" file of one chunk:
#  - the snapshot time of each alone (VDIFS_IOC_SNAP_CREATE as vdifs-tool
#    reports it; median of SAMPLES);
#  - the small file's snapshot time while the big file is snapshotted by
#    another process (one begun a quarter of the big one's time into each,
#    while it still runs; median), and its ratio to the small file's alone;
#  - a clone of the big file, alone.
# The issue's goal: the small snapshot not delayed by the big one by more
# than 2x.  All on one cluster (3 data servers, 3 replicas, sync) inside the
# qemu TCG guest: compare the ratios, not the absolute values.
#
#   bench/snap.sh [BIG_CHUNKS [SAMPLES]]   on the host: builds, boots the
#                                          guest, runs there
#   tests/vm/run bench/snap.sh ...
#
# Not a test: it prints numbers and fails only when something breaks.
set -uo pipefail

if [ -z "${VDIFS_GUEST:-}" ]; then
	cd "$(dirname "$0")/.." || exit 1
	make -s module userspace || exit 1
	exec tests/vm/run --mem 4G --timeout "${VDIFS_BENCH_TIMEOUT:-1800}" \
		--results build/vm/results/bench-snap bench/snap.sh "$@"
fi

BIG_CHUNKS=${1:-1024}
SAMPLES=${2:-5}
SRC=${VDIFS_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${VDIFS_BIN:-$SRC/build/out}
TOOL=$BIN/vdifs-tool
DIR=/tmp/vdifs-bench
MNT=/mnt/vdifs-bench
CS=$((64 << 20))

die() {
	echo "bench: FAILED: $*"
	umount "$MNT" 2>/dev/null
	"$SRC/tools/vdifs-cluster" stop --dir "$DIR" >/dev/null 2>&1
	exit 1
}

case "$BIG_CHUNKS$SAMPLES" in
*[!0-9]*) die "usage: bench/snap.sh [BIG_CHUNKS [SAMPLES]]" ;;
esac
if [ "$BIG_CHUNKS" -lt 1 ] || [ "$SAMPLES" -lt 1 ]; then
	die "BIG_CHUNKS and SAMPLES must be at least 1"
fi

# ratio A B: A/B with two decimals
ratio() {
	if [ "$2" -le 0 ]; then echo "-"; return; fi
	printf '%d.%02d' $(($1 / $2)) $((($1 * 100 / $2) % 100))
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# snap_ms FILE NAME: the ioctl's time as vdifs-tool reports it
snap_ms() {
	"$TOOL" --json -q snapshot create "$1" "$2" | jq -r .ms
}

# shellcheck source=bench/guest-cluster.sh
. "$SRC/bench/guest-cluster.sh"
bench_cluster_up

# 4 KiB at the start of every chunk, O_DIRECT, one process
python3 - "$MNT/big" "$BIG_CHUNKS" "$CS" <<'EOF' || die "write the big file"
import mmap, os, sys
path, n, cs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = mmap.mmap(-1, 4096)
buf.write(os.urandom(4096))
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
for i in range(n):
    os.pwritev(fd, [buf], i * cs)
os.ftruncate(fd, n * cs)
os.close(fd)
EOF
dd if=/dev/urandom of="$MNT/small" bs=4k count=1 oflag=direct status=none ||
	die "write the small file"
chunks=$("$TOOL" du "$MNT/big" | tail -n 1 | awk '{ print $5 }')

echo "bench/snap.sh: 3 data servers, 3 replicas, sync replication, 64 MiB chunks;"
echo "big file: $BIG_CHUNKS chunks of 4 KiB data ($chunks chunks by du); small file: 1 chunk"
echo "qemu TCG guest: compare the ratios, not the absolute numbers"
echo

small_alone=$(for i in $(seq "$SAMPLES"); do
	snap_ms "$MNT/small" "a$i" || exit 1
done | median) || die "snapshot the small file"
big_alone=$(for i in $(seq "$SAMPLES"); do
	snap_ms "$MNT/big" "a$i" || exit 1
done | median) || die "snapshot the big file"

# a small snapshot a quarter into each big one: counted if the big one
# still ran when it began
delay=$(printf '%d.%03d' $((big_alone / 4000)) $((big_alone / 4 % 1000)))
: >/tmp/snap-during
for i in $(seq "$((SAMPLES * 2))"); do
	snap_ms "$MNT/big" "b$i" >/tmp/snap-big &
	bpid=$!
	sleep "$delay"
	if kill -0 "$bpid" 2>/dev/null; then
		ms=$(snap_ms "$MNT/small" "b$i") || die "snapshot the small file under load"
		echo "$ms" >>/tmp/snap-during
	fi
	wait "$bpid" || die "snapshot the big file under load"
	[ "$(wc -l </tmp/snap-during)" -ge "$SAMPLES" ] && break
done
n_during=$(wc -l </tmp/snap-during)
[ "$n_during" -gt 0 ] || die "no small snapshot began inside a big one (the big one took under $delay s)"
small_during=$(median </tmp/snap-during)

clone_ms=$("$TOOL" --json -q clone "$MNT/big" "$MNT/big-clone" | jq -r .ms) ||
	die "clone the big file"
cmp -s -n 4096 "$MNT/big" "$MNT/big-clone" || die "the clone differs from its base"

printf '%-44s %8s\n' "what (median ms)" "ms"
printf '%-44s %8d\n' "snapshot, small file, alone" "$small_alone"
printf '%-44s %8d\n' "snapshot, big file ($BIG_CHUNKS chunks), alone" "$big_alone"
printf '%-44s %8d\n' "snapshot, small file, during a big one" "$small_during"
printf '%-44s %8d\n' "clone, big file, alone" "$clone_ms"
echo
echo "big ÷ small alone: $(ratio "$big_alone" "$small_alone")"
echo "small during big ÷ small alone: $(ratio "$small_during" "$small_alone") ($n_during samples; goal at most 2)"
echo "per chunk of the big snapshot: $(ratio "$big_alone" "$BIG_CHUNKS") ms"

umount "$MNT" || die "umount"
"$SRC/tools/vdifs-cluster" stop --dir "$DIR" >/dev/null 2>&1
exit 0

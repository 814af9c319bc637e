#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/clone.sh: what a clone costs.  For a 64 MiB base (all data) and a
# 64 GiB base (sparse: 64 MiB of data at 32 GiB and 1 MiB every 4 GiB):
#  - clone creation time (the VDIFS_IOC_CLONE ioctl, as vdifs-tool reports
#    it, best of 3), and the 64 GiB / 64 MiB ratio;
#  - first-write throughput into a fresh clone (copy-on-write of every
#    extent) against the same write into a plain file holding the same data
#    (an overwrite) and into a new sparse file of the same size (allocating
#    writes): dd bs=1M oflag=direct conv=notrunc over the 64 MiB of data,
#    with the ratios.
# All numbers come from one run on one cluster (3 data servers, 3 replicas,
# sync) inside the qemu TCG guest: compare the ratios, not the absolute
# values, which are those of an emulated CPU.
#
#   bench/clone.sh          on the host: builds, boots the guest, runs there
#   tests/vm/run bench/clone.sh
#
# Not a test: it prints numbers and fails only when something breaks.
set -uo pipefail

if [ -z "${VDIFS_GUEST:-}" ]; then
	cd "$(dirname "$0")/.." || exit 1
	make -s module userspace || exit 1
	exec tests/vm/run --mem 4G --timeout "${VDIFS_BENCH_TIMEOUT:-1800}" \
		--results build/vm/results/bench-clone bench/clone.sh "$@"
fi

SRC=${VDIFS_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${VDIFS_BIN:-$SRC/build/out}
TOOL=$BIN/vdifs-tool
DIR=/tmp/vdifs-bench
MNT=/mnt/vdifs-bench
DATA=/tmp/vdifs-bench.data	# 64 MiB of random bytes, the written data

die() {
	echo "bench: FAILED: $*"
	umount "$MNT" 2>/dev/null
	"$SRC/tools/vdifs-cluster" stop --dir "$DIR" >/dev/null 2>&1
	exit 1
}

now_ms() { date +%s%3N; }

# ratio A B: A/B with two decimals
ratio() {
	if [ "$2" -le 0 ]; then echo "-"; return; fi
	printf '%d.%02d' $(($1 / $2)) $((($1 * 100 / $2) % 100))
}

# KiB/s of BYTES in MS
rate() { echo $(($1 * 1000 / 1024 / ($2 > 0 ? $2 : 1))); }

fmt_rate() { # KiB/s -> "12.3 MiB/s"
	printf '%d.%d MiB/s' $(($1 / 1024)) $((($1 % 1024) * 10 / 1024))
}

# put_data FILE SIZE: the file's data, written with O_DIRECT: all of it for
# 64 MiB; for 64 GiB 64 MiB at 32 GiB and 1 MiB at every 4 GiB
put_data() {
	local f=$1 size=$2 g
	truncate -s "$size" "$f" || return 1
	if [ "$size" = 64M ]; then
		dd if="$DATA" of="$f" bs=1M count=64 oflag=direct conv=notrunc \
			status=none || return 1
		return 0
	fi
	dd if="$DATA" of="$f" bs=1M count=64 seek=$((32 << 10)) oflag=direct \
		conv=notrunc status=none || return 1
	for ((g = 0; g < 64; g += 4)); do
		dd if="$DATA" of="$f" bs=1M count=1 seek=$((g << 10)) oflag=direct \
			conv=notrunc status=none || return 1
	done
}

# first_write FILE SIZE: ms to overwrite the 64 MiB data region
first_write() {
	local f=$1 size=$2 seek=0 t
	[ "$size" = 64M ] || seek=$((32 << 10))
	echo 3 >/proc/sys/vm/drop_caches
	t=$(now_ms)
	dd if="$DATA" of="$f" bs=1M count=64 seek="$seek" oflag=direct \
		conv=notrunc status=none || return 1
	echo $(($(now_ms) - t))
}

# clone_ms SRC DST: the clone ioctl's time as vdifs-tool reports it
clone_ms() {
	"$TOOL" --json -q clone "$1" "$2" | jq -r .ms
}

# shellcheck source=bench/guest-cluster.sh
. "$SRC/bench/guest-cluster.sh"
bench_cluster_up
head -c 64M /dev/urandom >"$DATA"

echo "bench/clone.sh: 3 data servers, 3 replicas, sync replication, 64 MiB chunks;"
echo "qemu TCG guest: compare the ratios, not the absolute numbers"
echo
declare -A CLONE_MS
for size in 64M 64G; do
	d=$MNT/$size
	mkdir -p "$d"
	t=$(now_ms)
	put_data "$d/base" "$size" || die "write the $size base"
	echo "base $size: $(stat -c %s "$d/base") bytes, data written in $(($(now_ms) - t)) ms;" \
		"du: $("$TOOL" du "$d/base" | tail -n 1 | awk '{ print $2 " allocated, " $5 " chunks" }')"

	best=
	for i in 1 2 3; do
		ms=$(clone_ms "$d/base" "$d/clone$i") || die "clone the $size base"
		[ -n "$ms" ] || die "no time from vdifs-tool clone"
		if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
		cmp -s -n $((1 << 20)) "$d/base" "$d/clone$i" || die "clone$i differs from its base"
	done
	CLONE_MS[$size]=$best
	echo "  clone creation: best of 3: $best ms"

	put_data "$d/plain" "$size" || die "write the plain $size file"
	truncate -s "$size" "$d/new" || die "create the new file"
	wc=$(first_write "$d/clone1" "$size") || die "write into the clone"
	wp=$(first_write "$d/plain" "$size") || die "write into the plain file"
	wn=$(first_write "$d/new" "$size") || die "write into the new file"
	rc=$(rate $((64 << 20)) "$wc")
	rp=$(rate $((64 << 20)) "$wp")
	rn=$(rate $((64 << 20)) "$wn")
	echo "  first write of 64 MiB (dd bs=1M oflag=direct):"
	echo "    fresh clone (copy-on-write)  $wc ms  $(fmt_rate "$rc")"
	echo "    plain file (overwrite)       $wp ms  $(fmt_rate "$rp")"
	echo "    new sparse file (allocate)   $wn ms  $(fmt_rate "$rn")"
	echo "    clone/plain throughput: $(ratio "$rc" "$rp"), clone/new: $(ratio "$rc" "$rn")"
	# the clone's data is the written data now; the base is untouched
	cmp -s -n $((1 << 20)) "$d/base" "$d/clone2" || die "clone2 changed"
	rm -rf "$d"
	echo
done
echo "clone creation, 64 GiB base / 64 MiB base: $(ratio "${CLONE_MS[64G]}" "${CLONE_MS[64M]}")" \
	"(${CLONE_MS[64G]} ms / ${CLONE_MS[64M]} ms)"
umount "$MNT" || die "umount"
"$SRC/tools/vdifs-cluster" stop --dir "$DIR" >/dev/null 2>&1
rm -f "$DATA"
echo "bench: done"

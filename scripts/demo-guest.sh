#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The vdifs demo, inside the qemu guest (scripts/demo.sh boots it; or
# tests/vm/run scripts/demo-guest.sh): a VDI farm in miniature.
#
#  1. a cluster: one vdifs-mds and three vdifs-ds, sync replication
#  2. mount it and make a 64 MiB raw base image with qemu-img and qemu-io
#     (cache=none), written with a recognisable pattern
#  3. four desktops: writable clones of the base (vdifs-tool clone)
#  4. each desktop writes its own pattern at its own offset (qemu-io -t none)
#  5. snapshot desk1, write more into it, revert it to the snapshot
#  6. vdifs-tool du for every image, vdifs-tool status
#  7. verify every image with qemu-io read -P: the base unchanged, each
#     desktop its own pattern and the base's elsewhere, desk1 back to the
#     snapshot
#
# Ends with "demo: OK" (exit 0) or "demo: FAILED: what" (exit 1).
set -uo pipefail

SRC=${VDIFS_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${VDIFS_BIN:-$SRC/build/out}
TOOL=$BIN/vdifs-tool
DIR=/tmp/vdifs-demo
MNT=/mnt/vdifs-demo
BASE=$MNT/base.img
DESKS=(desk1 desk2 desk3 desk4)

# base: 0xb0 in the first 32 MiB ("the system"), 0xb1 in the rest
base_pattern() { # OFFSET-in-MiB: the base's byte there
	if [ "$1" -lt 32 ]; then echo 0xb0; else echo 0xb1; fi
}
desk_off() { echo $((8 * $1)); } # desk N writes 1 MiB at 8*N MiB
desk_pat() { echo "0xd$1"; }

mounted=0
started=0
t_all=$(date +%s%3N)

say() { echo "demo: $*"; }

# cleanup: unmount and stop the cluster; 1 if either failed
cleanup() {
	local rc=0
	if [ "$mounted" = 1 ]; then
		umount "$MNT" || { umount -l "$MNT"; rc=1; }
		mounted=0
	fi
	if [ "$started" = 1 ]; then
		"$SRC/tools/vdifs-cluster" stop --dir "$DIR" >/dev/null 2>&1 || rc=1
		started=0
	fi
	return $rc
}

# the servers' logs go home with the results (tests/vm/run's directory)
save_logs() {
	local f
	[ -n "${VDIFS_RESULTS:-}" ] && [ -d "$DIR" ] || return 0
	for f in "$DIR"/*/log; do
		[ -f "$f" ] && cp "$f" "$VDIFS_RESULTS/$(basename "$(dirname "$f")").log"
	done
	return 0
}

die() {
	trap - EXIT
	say "FAILED: $*"
	if [ "$started" = 1 ]; then
		tail -n 5 "$DIR"/*/log 2>/dev/null | sed 's/^/    /'
	fi
	dmesg 2>/dev/null | grep -i vdifs | tail -n 10 | sed 's/^/    /'
	save_logs
	cleanup
	exit 1
}
trap 'die "interrupted"' INT TERM
trap 'cleanup' EXIT

# timed WHAT CMD...: runs CMD quietly; dies with its output when it fails;
# sets $ms to how long it took
timed() {
	local what=$1 t0
	shift
	t0=$(date +%s%3N)
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
		die "$what"
	fi
	ms=$(($(date +%s%3N) - t0))
}

secs() { # MS -> "1.23 s"
	printf '%d.%02d s' $(($1 / 1000)) $((($1 % 1000) / 10))
}

# qread WHAT IMAGE "read -P PAT OFF LEN"...: every read must match
qread() {
	local what=$1 img=$2 a args=()
	shift 2
	for a in "$@"; do args+=(-c "$a"); done
	timed "verify $what" qemu-io -r -f raw -t none "${args[@]}" "$img"
	# qemu-io exits 0 even when a pattern does not match: look at its words
	if grep -q "Pattern verification failed" <<<"$out"; then
		printf '%s\n' "$out" | grep -m 5 "Pattern" | sed 's/^/    /'
		die "verify $what: content differs"
	fi
}

if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	die "qemu-img and qemu-io are needed (make deps installs them)"
fi
[ -x "$TOOL" ] || die "no $TOOL: run 'make userspace'"
grep -qw vdifs /proc/filesystems || die "vdifs.ko is not loaded"

say "vdifs demo: a base image, four desktop clones, a snapshot and a revert"

# ---- 1. cluster ----
t0=$(date +%s%3N)
rm -rf "$DIR"
SOURCE=$("$SRC/tools/vdifs-cluster" start --ds 3 --mode sync --dir "$DIR" \
	--bin "$BIN" 2>"$DIR.start.log") || {
	sed 's/^/    /' "$DIR.start.log"
	die "start the cluster"
}
started=1
export VDIFS_MDS=${SOURCE%%/*}
# the cluster's key (vdifs-cluster made one): vdifs-tool reads the file,
# mount.vdifs loads it into the kernel keyring
export VDIFS_KEY_FILE=$DIR/key
say "1. cluster up: 1 MDS + 3 data servers, 3 replicas, sync replication," \
	"volume $SOURCE, key $DIR/key ($(secs $(($(date +%s%3N) - t0))))"

mkdir -p "$MNT"
timed "mount $SOURCE" "$SRC/tools/mount.vdifs" "$SOURCE" "$MNT" \
	-o "keyfile=$DIR/key"
mounted=1
say "   mounted at $MNT ($(secs "$ms"), keyfile=$DIR/key)"

# ---- 2. base image ----
timed "qemu-img create" qemu-img create -q -f raw "$BASE" 64M
timed "write the base image" qemu-io -f raw -t none \
	-c "write -P 0xb0 0 32M" -c "write -P 0xb1 32M 32M" "$BASE"
say "2. base image: 64 MiB raw, 0xb0 in 0-32M and 0xb1 in 32-64M," \
	"written with qemu-io cache=none: $(secs "$ms")" \
	"($((64 * 1000 / (ms > 0 ? ms : 1))) MiB/s)"

# ---- 3. clones ----
t0=$(date +%s%3N)
for d in "${DESKS[@]}"; do
	timed "clone the base as $d" "$TOOL" -q clone "$BASE" "$MNT/$d.img"
	say "   $d.img: clone of base.img in $ms ms"
done
say "3. four desktop clones in $(secs $(($(date +%s%3N) - t0))) (no data copied)"

# ---- 4. desktops diverge ----
t0=$(date +%s%3N)
for i in 1 2 3 4; do
	timed "write into desk$i" qemu-io -f raw -t none \
		-c "write -P $(desk_pat $i) $(desk_off $i)M 1M" "$MNT/desk$i.img"
	say "   desk$i: 1 MiB of $(desk_pat $i) at $(desk_off $i) MiB ($ms ms)"
done
say "4. each desktop wrote its own data: $(secs $(($(date +%s%3N) - t0)))"

# ---- 5. snapshot, more writes, revert ----
timed "snapshot desk1" "$TOOL" -q snapshot create "$MNT/desk1.img" before-update
say "5. snapshot 'before-update' of desk1 in $ms ms"
timed "write more into desk1" qemu-io -f raw -t none \
	-c "write -P 0xee 40M 2M" -c "write -P 0xef 8M 512k" "$MNT/desk1.img"
say "   desk1 \"updated\": 2 MiB of 0xee at 40 MiB, 512 KiB of 0xef at 8 MiB ($ms ms)"
qread "desk1 after the update" "$MNT/desk1.img" "read -P 0xee 40M 2M" \
	"read -P 0xef 8M 512k" "read -P $(desk_pat 1) 8704k 512k"
ino=$(stat -c %i "$MNT/desk1.img")
SNAP=$MNT/.vdifs-snapshots/$ino/before-update
[ -f "$SNAP" ] || die "no snapshot at $SNAP"
qread "the snapshot still has the old desk1" "$SNAP" \
	"read -P $(desk_pat 1) 8M 1M" "read -P $(base_pattern 40) 40M 2M"
timed "revert desk1" "$TOOL" -q snapshot revert "$MNT/desk1.img" before-update
say "   desk1 reverted to 'before-update' in $ms ms"

# ---- 6. space and status ----
say "6. space (vdifs-tool du):"
"$TOOL" du "$BASE" "$MNT"/desk?.img "$SNAP" | sed 's/^/    /' ||
	die "vdifs-tool du"
say "   cluster (vdifs-tool status):"
"$TOOL" status | sed 's/^/    /' || die "vdifs-tool status"
"$TOOL" snapshot list "$MNT/desk1.img" | sed 's/^/    /' ||
	die "vdifs-tool snapshot list"

# ---- 7. verify ----
t0=$(date +%s%3N)
echo 3 >/proc/sys/vm/drop_caches
reads=()
for o in 0 8 16 24 32 40 48 63; do
	reads+=("read -P $(base_pattern $o) ${o}M 1M")
done
qread "base.img unchanged" "$BASE" "${reads[@]}"
for i in 1 2 3 4; do
	reads=("read -P $(desk_pat "$i") $(desk_off "$i")M 1M")
	for o in 0 8 16 24 32 40 48 63; do
		[ "$o" = "$(desk_off "$i")" ] && continue
		reads+=("read -P $(base_pattern $o) ${o}M 1M")
	done
	qread "desk$i" "$MNT/desk$i.img" "${reads[@]}"
done
cmp -s "$MNT/desk1.img" "$SNAP" || die "desk1 differs from its snapshot after the revert"
qemu-img compare -q -f raw -F raw "$MNT/desk2.img" "$BASE" >/dev/null 2>&1 &&
	die "desk2 equals the base: its write was lost"
say "7. verified in $(secs $(($(date +%s%3N) - t0))): base.img unchanged;" \
	"each desktop has its own data and the base's elsewhere;" \
	"desk1 equals its snapshot after the revert"

cleanup || die "unmount and stop the cluster"
trap - EXIT
say "total $(secs $(($(date +%s%3N) - t_all)))"
say "OK"
exit 0

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Read-triggered repair through the kernel: a block goes bad in the
# primary's copy of a file's chunk.  Reading the file still gives its data
# (the kernel goes on to a good copy), the kernel reports the bad block to
# the MDS, and the MDS takes the bad copy out of the set and has the chunk
# copied again, without a scrub pass; a scrub afterwards finds every copy
# good.
. "$(dirname "$0")/lib.sh"

CLUSTER_DS=3 cluster_start --replicas 3 --mode sync
T=$VDIFS_BIN/vdifs-tool
st() { $T --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['chunks']['$1'])"; }

dd if=/dev/urandom of=/tmp/rr.model bs=64k count=4 status=none
dd if=/tmp/rr.model of="$MNT/f" bs=64k oflag=direct status=none ||
	{ fail "write the file"; finish; }
sum=$(md5sum </tmp/rr.model)
# flip DS: a byte of the file's second block, flipped (or flipped back)
# in the copy on server DS: its chunk file holds the file's bytes there
flip() {
	python3 - "$CLUSTER_DIR/$1/data/chunks" <<'PY'
import glob, os, sys
want = open("/tmp/rr.model", "rb").read()[8192 + 8:8192 + 72]
n = 0
for p in glob.glob(os.path.join(sys.argv[1], "[0-9a-f]" * 16)):
    with open(p, "r+b") as f:
        data = f.read()
        at = data.find(want)
        if at < 0:
            at = data.find(bytes([want[0] ^ 0x20]) + want[1:])
        if at < 0:
            continue
        f.seek(at)
        f.write(bytes([data[at] ^ 0x20]))
        n += 1
sys.exit(0 if n == 1 else 1)
PY
}
# Reads go to a chunk's primary first: the copy that goes bad must be
# its (which server that is, only the layout says): each in turn
dmesg -C
bad=
for d in ds1 ds2 ds3; do
	flip "$d" || { fail "no copy of the block on $d"; break; }
	echo 3 >/proc/sys/vm/drop_caches
	if [ "$(md5sum <"$MNT/f")" != "$sum" ]; then
		fail "the file read back wrong with the copy on $d bad"
		break
	fi
	if dmesg | grep -q 'data corrupt on data server'; then
		bad=$d
		break
	fi
	flip "$d"	# not the primary's: back as it was
done
check "a bad block on the primary's copy ($bad), read past to a good one" \
	[ -n "$bad" ]
for ((i = 0; i < 60; i++)); do
	[ "$(st scrub_replaced)" -ge 1 ] 2>/dev/null && break
	sleep 1
done
check "the MDS took the bad copy out (replaced: $(st scrub_replaced))" \
	[ "$(st scrub_replaced)" = 1 ]
check "without a scrub pass" [ "$(st scrub_passes)" = 0 ]
for ((i = 0; i < 60; i++)); do
	[ "$(st degraded)" = 0 ] && [ "$(st copied)" -ge 1 ] && break
	sleep 1
done
check "copied again from a good one (copied: $(st copied))" \
	[ "$(st copied)" -ge 1 ]
check "a scrub then finds every copy good" bash -c \
	"$T scrub --wait | grep -q ' 0 bad'"
echo 3 >/proc/sys/vm/drop_caches
check "and the file is as written" \
	bash -c "[ \"\$(md5sum <$MNT/f)\" = '$sum' ]"
cluster_stop
finish

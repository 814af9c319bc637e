#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Rebalancing under writers.  Three data servers offering 64 MiB each, a
# volume with 2 copies of every 1 MiB chunk; the third server is out of
# service while a 16 MiB base image and three reflink clones of it are
# written, so it holds nothing, as a server just added.  Put in service,
# it gets chunks moved to it (the MDS runs with --rebalance-margin 5)
# until every server's use is within 5 points of the others', while
# vdifs-fsx runs back to back over two mounts against its model and a
# writer rewrites random 64 KiB blocks of a clone with O_DIRECT, keeping
# a copy of what it wrote.  No run may fail, no write may fail, every
# file reads back from the second mount as its model, the clones' chunks
# moved with their base's (the bytes moved well under a full copy of
# each), and a scrub finds every copy good.
. "$(dirname "$0")/lib.sh"

CLUSTER_DS=3
cluster_start --rebalance-margin 5 --capacity 64M --replicas 2
TOOL=$VDIFS_BIN/vdifs-tool
"$TOOL" volume create rb --chunk-size 1M --replicas 2 >/dev/null ||
	fail "create a volume with 2 copies of 1 MiB chunks"
umount "$MNT"
SOURCE=${SOURCE%/*}/rb
mount -t vdifs -o "$MOUNT_OPTS" "$SOURCE" "$MNT" || fail "mount rb"
mount_second

# status FIELD...: from vdifs-tool --json status, one line per field:
#   spread (points between the fullest and the emptiest server), used3
#   (bytes on the third), copied, copied_bytes
status() {
	"$TOOL" --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = sorted(d["data_servers"], key=lambda x: x["id"])
f = [x["used"] * 100.0 / x["capacity"] for x in s]
v = {"spread": "%.1f" % (max(f) - min(f)), "used3": s[2]["used"],
     "copied": d["chunks"]["copied"],
     "copied_bytes": d["chunks"]["copied_bytes"]}
for k in sys.argv[1:]:
    print(v[k])' "$@"
}
ds3=$("$TOOL" --json status | python3 -c '
import json, sys
print(sorted(json.load(sys.stdin)["data_servers"], key=lambda x: x["id"])[2]["id"])')
check "the third server out of service" "$TOOL" ds out "$ds3"

head -c 16M /dev/urandom >/tmp/rb.base
cp /tmp/rb.base "$MNT/base" && sync || fail "write the base image"
for c in c1 c2 c3; do
	cp --reflink=always "$MNT/base" "$MNT/$c" || fail "clone $c"
	cp /tmp/rb.base "/tmp/rb.$c"
done
# each clone its own 64 KiB in a few chunks
for c in c1 c2 c3; do
	for o in 3 70 141 200; do
		head -c 64k /dev/urandom >/tmp/rb.blk
		dd if=/tmp/rb.blk of="$MNT/$c" bs=64k seek="$o" conv=notrunc \
			oflag=direct status=none &&
			dd if=/tmp/rb.blk of="/tmp/rb.$c" bs=64k seek="$o" \
				conv=notrunc status=none ||
			fail "write into clone $c"
	done
done
sync
sleep 3
spread=$(status spread)
check "uneven before: $spread points apart" \
	awk -v s="$spread" 'BEGIN { exit !(s > 10) }'
before=$(status copied_bytes)

fsx_loop rb 20261127 300
# the writer: random 64 KiB blocks of c1, each also into its model
rm -f /tmp/rb.stop /tmp/rb.wfail
(
	n=0
	while [ ! -e /tmp/rb.stop ]; do
		o=$((RANDOM % 256))
		head -c 64k /dev/urandom >/tmp/rb.wblk
		if dd if=/tmp/rb.wblk of="$MNT/c1" bs=64k seek="$o" \
			conv=notrunc oflag=direct status=none; then
			dd if=/tmp/rb.wblk of=/tmp/rb.c1 bs=64k seek="$o" \
				conv=notrunc status=none
			n=$((n + 1))
		else
			echo "block $o" >>/tmp/rb.wfail
		fi
	done
	echo "$n" >/tmp/rb.writes
) &
writer_pid=$!

dmesg -C
sleep 3
t=$(date +%s)
check "the third server back in service" "$TOOL" ds in "$ds3"
spread=unknown used3=0
for ((i = 0; i < 180; i++)); do
	sleep 1
	v=$(status spread used3) || continue
	spread=${v%%$'\n'*}
	used3=${v##*$'\n'}
	[[ "$used3" =~ ^[0-9]+$ ]] || used3=0
	[ "$used3" -gt 0 ] &&
		awk -v s="$spread" 'BEGIN { exit !(s ~ /^[0-9.]+$/ && s + 0 <= 5) }' && break
done
if ! check "even within $(($(date +%s) - t)) s: $spread points apart, $used3 bytes on the third server" \
	awk -v s="$spread" -v u="$used3" 'BEGIN { exit !(s ~ /^[0-9.]+$/ && s + 0 <= 5 && u > 0) }'; then
	"$TOOL" status
	"$TOOL" --json status | tee -a "${VDIFS_RESULTS:-/tmp}/status.json"
fi
moved=$(($(status copied_bytes) - before))
echo "moved: $moved bytes"

sleep 5
touch /tmp/rb.stop
for ((i = 0; i < 240; i++)); do
	kill -0 "$fsx_pid" 2>/dev/null || kill -0 "$writer_pid" 2>/dev/null ||
		break
	sleep 1
done
if kill -0 "$fsx_pid" 2>/dev/null || kill -0 "$writer_pid" 2>/dev/null; then
	fail "the writers did not finish 4 minutes after they were told to stop"
	"$TOOL" status
	tail -n 40 "$CLUSTER_DIR/mds/log"
fi
wait "$fsx_pid" "$writer_pid"
fsx_report rb "vdifs-fsx while chunks moved" 1
check "the clone's writer: $(cat /tmp/rb.writes 2>/dev/null) writes, none failed" \
	test ! -e /tmp/rb.wfail
wfail=$(dmesg | grep -c "write at .* failed")
check "no write failed in the kernel log" test "$wfail" = 0
for f in base c1 c2 c3; do
	m=/tmp/rb.$f
	check "$f reads back from the second mount" cmp "$m" "$MNT2/$f"
done
# a base moved with its clones crosses once: far less than a copy each
check "moved $moved bytes, under two full copies of the base ($((32 << 20)))" \
	test "$moved" -lt $((32 << 20))
check "a scrub then finds every copy good" bash -c \
	"'$TOOL' scrub --wait | grep -q ' 0 bad'"
cluster_stop
finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Benchmark (not a test): throughput and metadata rates on vdifs against
# the guest's tmpfs, in the same guest run.  On the host:
#   tests/vm/run bench/guest-io.sh
# (the guest is qemu TCG: absolute numbers are ~10-30x below real hardware;
# the ratio to tmpfs is what to compare between versions).
if [ -z "${VDIFS_GUEST:-}" ]; then
	exec "$(dirname "$0")/../tests/vm/run" --timeout 900 "$0" "$@"
fi
. "$VDIFS_SRC/tests/guest/lib.sh"
cluster_start
TMPFS=/tmp/bench-tmpfs
mkdir -p "$TMPFS"
mount -t tmpfs -o size=512m tmpfs "$TMPFS"

rate() { # label seconds bytes
	awk -v l="$1" -v s="$2" -v b="$3" 'BEGIN { printf "%-34s %8.1f MiB/s\n", l, b / s / 1048576 }'
}
secs() { # cmd...: elapsed seconds
	local s=${EPOCHREALTIME/./} e
	"$@" >/dev/null 2>&1
	e=${EPOCHREALTIME/./}
	awk -v d=$((e - s)) 'BEGIN { printf "%.3f", d / 1e6 }'
}
meta() { # dir: creates, stats, unlinks of 300 files per second
	local d=$1/meta n=300 t
	mkdir -p "$d"
	t=$(secs bash -c "for i in \$(seq $n); do : >$d/f\$i; done")
	printf '%-34s %8.0f /s\n' "  create ($2)" "$(awk -v t="$t" -v n=$n 'BEGIN{print n/t}')"
	t=$(secs bash -c "for i in \$(seq $n); do stat $d/f\$i; done")
	printf '%-34s %8.0f /s\n' "  stat ($2)" "$(awk -v t="$t" -v n=$n 'BEGIN{print n/t}')"
	t=$(secs rm -rf "$d")
	printf '%-34s %8.0f /s\n' "  unlink ($2)" "$(awk -v t="$t" -v n=$n 'BEGIN{print n/t}')"
}

SZ=$((64 << 20))
for fs in "$MNT" "$TMPFS"; do
	name=$([ "$fs" = "$MNT" ] && echo vdifs || echo tmpfs)
	echo "== $name"
	t=$(secs dd if=/dev/zero of="$fs/big" bs=1M count=64 conv=fsync)
	rate "  write 64M buffered+fsync" "$t" $SZ
	echo 3 >/proc/sys/vm/drop_caches
	t=$(secs dd if="$fs/big" of=/dev/null bs=1M)
	rate "  read 64M cold" "$t" $SZ
	if [ "$name" = vdifs ]; then
		t=$(secs dd if=/dev/zero of="$fs/dio" bs=1M count=64 oflag=direct)
		rate "  write 64M O_DIRECT 1M" "$t" $SZ
		t=$(secs dd if="$fs/dio" of=/dev/null bs=1M iflag=direct)
		rate "  read 64M O_DIRECT 1M" "$t" $SZ
	fi
	meta "$fs" "$name"
done
umount "$TMPFS"
cluster_stop >/dev/null
finish

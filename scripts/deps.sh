#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install everything vdifs needs on a Debian 12 machine.  Idempotent; run as root.
# A marker file records the last successful run so that `make check` does not
# pay for apt on every invocation; `make deps FORCE=1` ignores it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
marker=/var/lib/vdifs-deps.stamp

pkgs=(
	build-essential pkg-config bc flex bison libelf-dev libssl-dev ccache
	python3 xz-utils cpio kmod busybox-static qemu-system-x86 qemu-utils
	liblmdb-dev lmdb-utils libjson-c-dev libxxhash-dev check iproute2 procps psmisc
	util-linux attr acl e2fsprogs dmsetup keyutils clang libclang-rt-14-dev
)

log() { echo "deps: $*"; }

if [ "$(id -u)" != 0 ]; then
	echo "deps: must run as root (apt-get install)" >&2
	exit 1
fi

# the marker names the kernel and the package list: a new package re-runs
pkgsum=$(echo "${pkgs[*]}" | md5sum | cut -c1-12)
want_kver=$("$here/kver.sh" installed || true)
if [ -f "$marker" ] && [ -z "${FORCE:-}" ] && [ -n "$want_kver" ] &&
   [ "$(cat "$marker")" = "$want_kver $pkgsum" ] &&
   [ -f /usr/src/linux-source-6.12.tar.xz ] && [ -f /boot/vmlinuz-"$want_kver" ]; then
	log "up to date (kernel $want_kver)"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -q -o DPkg::Lock::Timeout=600 "$@"; }

apt_get update >/dev/null
kver=$("$here/kver.sh" available)
if [ -z "$kver" ]; then
	kver=$("$here/kver.sh" installed)
fi
[ -n "$kver" ] || { echo "deps: apt offers no Debian 6.12 kernel" >&2; exit 1; }
log "kernel: $kver (newest 6.12 offered by the apt sources)"

apt_get install -y --no-install-recommends "${pkgs[@]}" \
	"linux-image-$kver" "linux-headers-$kver" linux-source-6.12 >/dev/null

for f in /boot/vmlinuz-"$kver" /usr/src/linux-headers-"$kver"/Makefile \
	 /usr/src/linux-source-6.12.tar.xz; do
	[ -e "$f" ] || { echo "deps: missing $f after install" >&2; exit 1; }
done
echo "$kver $pkgsum" >"$marker"
log "done"

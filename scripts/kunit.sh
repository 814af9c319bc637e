#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the module's KUnit suites on UML with the kernel's own kunit.py from
# Debian's linux-source-6.12.  kmod/ joins the kernel tree as fs/vdifs by a
# symlink plus one line in fs/Kconfig and one in fs/Makefile; nothing is
# copied into the tree.  The unpacked tree, the build dir (outside the
# tree) and ccache live under $VDIFS_CACHE so later runs are incremental.
#
#   scripts/kunit.sh [kunit.py run options, e.g. a suite glob 'vdifs_wire']
#
# Writes the kunit.py log to $VDIFS_RESULTS/kunit.log and the counts to
# $VDIFS_RESULTS/kunit.counts ("passed failed").
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${VDIFS_CACHE:-/var/tmp/vdifs}
results=${VDIFS_RESULTS:-$repo/build/results}
tarball=/usr/src/linux-source-6.12.tar.xz
jobs=${JOBS:-$(nproc)}

[ -f "$tarball" ] || { echo "kunit: $tarball missing: run 'make deps'" >&2; exit 1; }
if compgen -G "$repo/kmod/*.o" >/dev/null; then
	echo "kunit: kmod/ holds object files from an in-place build; remove them" \
	     "(the module builds in build/mod)" >&2
	exit 1
fi

# unpack once per source package version
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || stat -c %Y "$tarball")
ksrc=$cache/linux-source-6.12-$srcver
if [ ! -f "$ksrc/.vdifs-unpacked" ]; then
	echo "kunit: unpacking linux-source-6.12 $srcver into $ksrc"
	rm -rf "$ksrc" "$ksrc.tmp"
	mkdir -p "$ksrc.tmp"
	tar -C "$ksrc.tmp" --strip-components=1 -xf "$tarball"
	mv "$ksrc.tmp" "$ksrc"
	touch "$ksrc/.vdifs-unpacked"
fi

ln -sfn "$repo/kmod" "$ksrc/fs/vdifs"
grep -q '^source "fs/vdifs/Kconfig"' "$ksrc/fs/Kconfig" ||
	echo 'source "fs/vdifs/Kconfig"' >>"$ksrc/fs/Kconfig"
grep -q 'CONFIG_VDIFS_FS' "$ksrc/fs/Makefile" ||
	echo 'obj-$(CONFIG_VDIFS_FS) += vdifs/' >>"$ksrc/fs/Makefile"

if [ -d /usr/lib/ccache ]; then
	export PATH=/usr/lib/ccache:$PATH
	export CCACHE_DIR=$cache/ccache
fi

mkdir -p "$results"
log=$results/kunit.log
cd "$ksrc"
set +e
/usr/bin/python3 tools/testing/kunit/kunit.py run --arch=um --jobs="$jobs" \
	--build_dir="$cache/kunit-um" --kunitconfig="$repo/kmod/.kunitconfig" \
	"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# "Testing complete. Ran 10 tests: passed: 10" (failed:, crashed:, skipped: follow when nonzero)
line=$(grep -E 'Testing complete\. Ran [0-9]+ tests' "$log" | tail -n 1 || true)
passed=$(sed -nE 's/.*passed: ([0-9]+).*/\1/p' <<<"$line")
failed=$(sed -nE 's/.*failed: ([0-9]+).*/\1/p' <<<"$line")
crashed=$(sed -nE 's/.*crashed: ([0-9]+).*/\1/p' <<<"$line")
passed=${passed:-0}
failed=$(( ${failed:-0} + ${crashed:-0} ))
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
	# a build failure or a crash before any result: count it as one failure
	failed=1
fi
echo "$passed $failed" >"$results/kunit.counts"
exit "$rc"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Kernel style check of the kernel-side sources with checkpatch.pl from
# Debian's linux-source-6.12 (unpacked by scripts/kunit.sh, or here).
# Prints one "PASS: checkpatch FILE" / "FAIL: ..." line per file.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${VDIFS_CACHE:-/var/tmp/vdifs}
cp=$(ls -d "$cache"/linux-source-6.12-*/scripts/checkpatch.pl 2>/dev/null | tail -n 1)
if [ -z "$cp" ]; then
	mkdir -p "$cache/checkpatch"
	tar -C "$cache/checkpatch" --strip-components=1 -xf /usr/src/linux-source-6.12.tar.xz \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' || exit 1
	cp=$cache/checkpatch/scripts/checkpatch.pl
fi
cd "$repo" || exit 1
rc=0
for f in kmod/*.c kmod/*.h wire/*.c wire/*.h uapi/*.h; do
	ignore=
	# the compat header exists to compare kernel versions
	[ "$f" = kmod/compat.h ] && ignore=--ignore=LINUX_VERSION_CODE,CONSTANT_COMPARISON
	if out=$("$cp" --no-tree --quiet --show-types $ignore -f "$f" 2>&1) && [ -z "$out" ]; then
		echo "PASS: checkpatch $f"
	else
		echo "FAIL: checkpatch $f"
		echo "$out" | sed 's/^/    /'
		rc=1
	fi
done
exit $rc

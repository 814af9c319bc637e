#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# POSIX behaviour through the kernel client: vdifs-posix
# (tests/tools/vdifs-posix.c) prints one PASS/FAIL line per check, counted
# like ours.  Caches off, so every answer comes from the servers.
# Then names one client made and another never looked up: the second
# sends a rename or an exclusive create without a LOOKUP first, and the
# MDS's answers must be the ones the VFS would have given.
. "$(dirname "$0")/lib.sh"

# errno_is WHAT ERRNO PYTHON: PYTHON (with os imported) must raise ERRNO
errno_is() {
	local what=$1 want=$2 got
	got=$(/usr/bin/python3 -c "
import errno, os
try:
    $3
    print('OK')
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
" 2>&1)
	if [ "$got" = "$want" ]; then
		pass "$what ($got)"
	else
		fail "$what: expected $want, got $got"
	fi
}

MOUNT_OPTS=actimeo=0
cluster_start
mkdir -p "$MNT/posix"
chmod 0755 "$MNT/posix"
if [ -x "$VDIFS_BIN/vdifs-posix" ]; then
	"$VDIFS_BIN/vdifs-posix" -u 65534 "$MNT/posix" || vdifs_failed=1
else
	fail "vdifs-posix not built"
fi

# made through the first mount, unknown to the second's dcache
d1=$MNT/cold d2=$MNT2/cold
mkdir -p "$d1/full" "$d1/empty" "$d1/sticky"
echo A >"$d1/a"
echo B >"$d1/b"
echo X >"$d1/x"
echo inner >"$d1/full/f"
chmod 1777 "$d1/sticky"
echo root >"$d1/sticky/victim"
echo mine >"$d1/sticky/mine"
chown 65534:65534 "$d1/sticky/mine"
mount_second
check "rename over a name never looked up replaces it" \
	bash -c "mv -T $d2/a $d2/b && [ \"\$(cat $d1/b)\" = A ] && ! test -e $d1/a"
errno_is "rename of a file over a directory" EISDIR \
	"os.rename('$d2/x', '$d2/empty')"
errno_is "rename of a directory over a file" ENOTDIR \
	"os.rename('$d2/empty', '$d2/x')"
errno_is "rename over a non-empty directory" ENOTEMPTY \
	"os.rename('$d2/empty', '$d2/full')"
check "rename of a directory over an empty one" \
	bash -c "mkdir $d1/e2 && mv -T $d2/e2 $d2/empty && test -d $d1/empty && ! test -e $d1/e2"
errno_is "exclusive create of an existing name" EEXIST \
	"os.open('$d2/x', os.O_CREAT | os.O_EXCL | os.O_WRONLY)"
errno_is "mkdir of an existing name" EEXIST "os.mkdir('$d2/full')"
errno_is "symlink onto an existing name" EEXIST "os.symlink('t', '$d2/x')"
errno_is "link onto an existing name" EEXIST "os.link('$d2/b', '$d2/x')"
check "exclusive create of a new name" \
	bash -c "set -o noclobber; echo N >$d2/new && [ \"\$(cat $d1/new)\" = N ]"
errno_is "exclusive create of an existing name, directory not writable" \
	EEXIST "os.setgid(65534); os.setuid(65534); os.open('$d2/full/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY)"
# sticky: the VFS checks the target it looks up; nobody may replace
# root's file there, whatever the cache holds
errno_is "rename over another's file in a sticky directory" EPERM \
	"os.setgid(65534); os.setuid(65534); os.rename('$d2/sticky/mine', '$d2/sticky/victim')"
check "the other's file is still there" \
	bash -c "[ \"\$(cat $d1/sticky/victim)\" = root ]"
cluster_stop
finish

# SPDX-License-Identifier: GPL-2.0
# Helpers for in-guest tests (sourced).  A test prints one "PASS: what" or
# "FAIL: what" line per check; scripts/check.sh counts them.  The script's
# exit status is non-zero when any check failed.

vdifs_failed=0

pass() { echo "PASS: $*"; }
fail() {
	echo "FAIL: $*"
	vdifs_failed=1
}

# check WHAT CMD...: CMD must succeed
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# mount_fails WHAT ERRNO MESSAGE-RE SOURCE [OPTIONS]: mount(2) must fail
# with ERRNO (a name from python's errno.errorcode: EINVAL; ENOTSUP for EOPNOTSUPP) and the kernel log must match MESSAGE-RE
mount_fails() {
	local what=$1 want=$2 re=$3 src=$4 opts=${5:-} got log
	mkdir -p /mnt/vdifs-test
	dmesg -C 2>/dev/null
	got=$(/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/mount-errno.py" \
		"$src" /mnt/vdifs-test ${opts:+"$opts"})
	log=$(dmesg 2>/dev/null)
	if [ "$got" = OK ]; then
		umount /mnt/vdifs-test
		fail "$what: mount succeeded"
	elif [ "$got" != "$want" ]; then
		fail "$what: expected $want, got $got"
	elif ! grep -qE -- "$re" <<<"$log"; then
		fail "$what: no kernel message matching '$re' in: $log"
	else
		pass "$what ($got)"
	fi
}

finish() {
	exit "$vdifs_failed"
}

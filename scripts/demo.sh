#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: builds vdifs (make module userspace), boots the qemu guest
# (tests/vm/run) and runs scripts/demo-guest.sh in it: a cluster of one MDS
# and three data servers, a 64 MiB base image, four desktop clones that
# diverge, a snapshot and a revert, vdifs-tool du and status, every image
# verified.  `make demo` runs `make deps` first.  Exits with the demo's
# status: 0 after "demo: OK".
#
#   scripts/demo.sh [--timeout SECS]
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
timeout=${VDIFS_DEMO_TIMEOUT:-900}
case ${1:-} in
--timeout)
	[ $# -ge 2 ] || { echo "usage: $0 [--timeout SECS]" >&2; exit 2; }
	timeout=$2
	;;
-h | --help)
	sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
'') ;;
*)
	echo "usage: $0 [--timeout SECS]" >&2
	exit 2
	;;
esac

echo "demo: building (make module userspace)"
if ! make -s module userspace; then
	echo "demo: FAILED: build"
	exit 1
fi

results=build/vm/results/demo-guest
echo "demo: booting the qemu guest (TCG: slow; the guest log goes to $results/)"
tests/vm/run --timeout "$timeout" --results "$results" scripts/demo-guest.sh
rc=$?
if [ "$rc" != 0 ] && ! grep -q '^demo: FAILED' "$results/console.log" 2>/dev/null; then
	case $rc in
	124) echo "demo: FAILED: the guest did not finish in $timeout s" ;;
	99) echo "demo: FAILED: the guest crashed (see $results/console.log)" ;;
	*) echo "demo: FAILED: guest exit $rc (see $results/console.log, $results/dmesg.log)" ;;
	esac
fi
exit "$rc"

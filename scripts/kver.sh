#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The one place that decides which Debian 6.12 kernel vdifs builds and tests against.
#
#   kver.sh installed   newest 6.12 whose headers are installed (empty if none)
#   kver.sh available   newest 6.12 build the machine's apt sources offer
#   kver.sh             installed, else available
#
# VDIFS_KVER in the environment overrides both.  Security updates replace the
# package names (6.12.N+deb12-amd64), so the version is never written down.
set -euo pipefail

pick_newest() { sort -V | tail -n 1; }

installed() {
	local d
	for d in /usr/src/linux-headers-6.12.*+deb12-amd64; do
		[ -f "$d/Makefile" ] && basename "$d" | sed 's/^linux-headers-//'
	done 2>/dev/null | pick_newest
}

available() {
	apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' 2>/dev/null |
		awk '{print $1}' | sed 's/^linux-headers-//' | pick_newest
}

if [ -n "${VDIFS_KVER:-}" ]; then
	echo "$VDIFS_KVER"
	exit 0
fi
case "${1:-}" in
installed) installed ;;
available) available ;;
"")
	v=$(installed)
	[ -n "$v" ] || v=$(available)
	[ -n "$v" ] || { echo "kver.sh: no Debian 6.12 kernel found" >&2; exit 1; }
	echo "$v"
	;;
*) echo "usage: kver.sh [installed|available]" >&2; exit 2 ;;
esac

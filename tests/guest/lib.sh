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
	if "$@"; then
		pass "$what"
	else
		fail "$what"
		return 1
	fi
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

# used: bytes used on the mounted volume, as df sees them
used() { stat -f -c '%b %f %S' "$MNT" | awk '{ print ($1 - $2) * $3 }'; }

# settle: wait (at most 60 s) until used space holds still for 3 s (the
# chunk collector works in the background); prints it
settle() {
	local last cur same=0 i
	last=$(used)
	for ((i = 0; i < 60 && same < 3; i++)); do
		sleep 1
		cur=$(used)
		if [ "$cur" = "$last" ]; then same=$((same + 1)); else same=0; fi
		last=$cur
	done
	echo "$last"
}

# ---- a cluster inside the guest ----

VDIFS_BIN=${VDIFS_BIN:-$VDIFS_SRC/build/out}
CLUSTER_DIR=/tmp/vdifs-cluster
MNT=/mnt/vdifs
MNT2=/mnt/vdifs2

# cluster_start [vdifs-cluster start options]: MDS + $CLUSTER_DS data
# servers (3 by default), volume mounted at $MNT; sets SOURCE
# load_key NAME HEX: the logon key vdifs:NAME in the keyring (mount -o
# key=NAME), as mount.vdifs keyfile= does
load_key() {
	# shellcheck disable=SC2059 # the format is the key's \xHH bytes
	printf "$(sed 's/../\\x&/g' <<<"$2")" |
		keyctl padd logon "vdifs:$1" @u >/dev/null
}

cluster_start() {
	rm -rf "$CLUSTER_DIR"
	mkdir -p "$MNT"
	SOURCE=$("$VDIFS_SRC/tools/vdifs-cluster" start --ds "${CLUSTER_DS:-3}" \
		--dir "$CLUSTER_DIR" \
		--bin "$VDIFS_BIN" "$@") || {
		fail "cluster start"
		tail -n 20 "$CLUSTER_DIR"/*.log
		finish
	}
	export VDIFS_MDS=${SOURCE%%/*}
	# the cluster's key: vdifs-tool reads its file, the kernel takes it
	# from the keyring; every mount of the test gets it in MOUNT_OPTS
	if [ -f "$CLUSTER_DIR/key" ]; then
		export VDIFS_KEY_FILE=$CLUSTER_DIR/key
		load_key cluster "$(cat "$CLUSTER_DIR/key")"
		MOUNT_OPTS=key=cluster${MOUNT_OPTS:+,$MOUNT_OPTS}
	else
		unset VDIFS_KEY_FILE
		MOUNT_OPTS=insecure${MOUNT_OPTS:+,$MOUNT_OPTS}
	fi
	if ! mount -t vdifs ${MOUNT_OPTS:+-o "$MOUNT_OPTS"} "$SOURCE" "$MNT"; then
		fail "mount $SOURCE"
		dmesg | tail -n 20
		finish
	fi
}

# srv_pid NAME: the pid of server NAME (mds, ds1, ...) of the cluster
srv_pid() { awk -v n="$1" '$1 == n { print $2 }' "$CLUSTER_DIR/pids"; }
# srv_down NAME: kill -9, keeping its command line (on the port it had);
# srv_up NAME [VAR=VALUE...]: start it again with the same data directory
# and port, and those in its environment
srv_down() {
	local pid i
	pid=$(srv_pid "$1")
	mapfile -d '' srv_down_cmd <"/proc/$pid/cmdline"
	for i in "${!srv_down_cmd[@]}"; do
		[ "${srv_down_cmd[$i]}" = 127.0.0.1:0 ] &&
			srv_down_cmd[i]=127.0.0.1:$(cat "$CLUSTER_DIR/$1/port")
	done
	kill -9 "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	srv_down_pid=$pid
}
srv_up() {
	local name=$1
	shift
	env "$@" "${srv_down_cmd[@]}" </dev/null \
		>>"$CLUSTER_DIR/$name-restart.log" 2>&1 &
	# its kill -9 later is no news for the job table
	disown $!
	sed -i "s/^$name $srv_down_pid\$/$name $!/" "$CLUSTER_DIR/pids"
}
srv_restart() {
	srv_down "$1"
	srv_up "$1"
}

# fsx_loop TAG SEED OPS: vdifs-fsx runs of OPS operations back to back
# over $MNT and $MNT2 (a model checks every read) until /tmp/TAG.stop
# exists; each run's outcome is a line "ok|FAILED SEED TIME" of
# /tmp/TAG.runs, its output /tmp/TAG.fsx.SEED.  Sets fsx_pid.
fsx_loop() {
	local tag=$1 seed=$2 ops=$3
	rm -f "/tmp/$tag.runs" "/tmp/$tag.stop"
	(
		while [ ! -e "/tmp/$tag.stop" ]; do
			if "$VDIFS_BIN/vdifs-fsx" -q -s "$seed" -n "$ops" -p 2 \
				-l 64k -S 1m -m "$MNT2" "$MNT" \
				>"/tmp/$tag.fsx.$seed" 2>&1; then
				echo "ok $seed $(date +%s)" >>"/tmp/$tag.runs"
			else
				echo "FAILED $seed $(date +%s)" >>"/tmp/$tag.runs"
			fi
			seed=$((seed + 1))
		done
	) &
	fsx_pid=$!
}
# fsx_report TAG WHAT MIN [NOTE]: one check that no run of fsx_loop TAG
# failed (the first failures shown) and that at least MIN ran
fsx_report() {
	local tag=$1 what=$2 min=$3 note=${4:-} ok bad s
	ok=$(grep -c '^ok' "/tmp/$tag.runs")
	bad=$(grep -c '^FAILED' "/tmp/$tag.runs")
	if [ "$bad" -gt 0 ]; then
		for s in $(awk '$1 == "FAILED" { print $2 }' "/tmp/$tag.runs" |
			head -n 2); do
			grep -A 3 "FAIL: child" "/tmp/$tag.fsx.$s" | head -n 8
		done
		fail "$what: $bad of $((ok + bad)) runs failed"
	else
		check "$what: $ok runs${note:+, $note}, none failed" \
			test "$ok" -ge "$min"
	fi
}

# mount_second: the same volume at $MNT2, a second client
mount_second() {
	mkdir -p "$MNT2"
	mount -t vdifs ${MOUNT_OPTS:+-o "$MOUNT_OPTS"} "$SOURCE" "$MNT2" ||
		fail "second mount"
}

# cluster_stop: unmount everything, stop servers, unload the module and
# check that it left nothing behind
cluster_stop() {
	local m
	for m in "$MNT2" "$MNT"; do
		if grep -q " $m vdifs " /proc/mounts; then
			umount "$m" || fail "umount $m"
		fi
	done
	"$VDIFS_SRC/tools/vdifs-cluster" stop --dir "$CLUSTER_DIR" >/dev/null 2>&1
	# the servers' logs (DIR/mds/log, DIR/ds1/log, ...) go home with the results
	if [ -n "${VDIFS_RESULTS:-}" ]; then
		for m in "$CLUSTER_DIR"/*/log; do
			[ -f "$m" ] && cp "$m" "$VDIFS_RESULTS/$(basename "$(dirname "$m")").log"
		done
		# and those of servers started again (srv_up)
		for m in "$CLUSTER_DIR"/*-restart.log; do
			[ -f "$m" ] && cp "$m" "$VDIFS_RESULTS/"
		done
	fi
	if rmmod vdifs; then
		if grep -q vdifs /proc/slabinfo 2>/dev/null; then
			fail "slab caches left after rmmod"
		else
			pass "rmmod vdifs leaves no slab cache"
		fi
	else
		fail "rmmod vdifs"
	fi
}

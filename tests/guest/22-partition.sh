#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Network partitions.  The MDS and three data servers each run in a
# network namespace of their own, joined to the guest's own (where the
# kernel client is) by a veth pair and routed through it.  A volume keeps
# 3 copies of every 64 KiB chunk; vdifs-fsx runs back to back over two
# mounts against its model while
#
#  1. a data server loses its link (ip link set down) for 20 s: the MDS
#     stops hearing it and takes it out of its sets, writers go on
#     without it, and once it is back (within --down-out) its copies are
#     caught up by what changed, not copied whole;
#  2. a data server is cut off from the client alone for 20 s (a
#     blackhole rule for what the guest itself sends it; the MDS and the
#     other servers still reach it): slow, not failed, its I/O waits and
#     goes on once it heals;
#  3. a data server's link gets 100 ms of delay and 2 % loss each way
#     (tc netem) for 20 s: slow, not failed;
#  4. a data server is cut off from the MDS alone (a blackhole route in
#     its namespace): the MDS finds it down and gives its chunks new
#     sets, and a client that still holds the old layouts reads what
#     another wrote through the new sets, not the server's old copies.
#
# No run may fail and no write may fail in the kernel log; after each
# the cluster must be back to full replication, and at the end a scrub
# finds every copy good.
. "$(dirname "$0")/lib.sh"

NET=10.77
DIR=/tmp/vdifs-netns
TOOL=$VDIFS_BIN/vdifs-tool
MDS=$NET.0.2:7400
NDS=3

# ns_add NAME K: namespace NAME at $NET.K.2, its peer in ours $NET.K.1
ns_add() {
	local name=$1 k=$2
	ip netns add "$name" &&
		ip link add "vdifs$k" type veth peer name eth0 netns "$name" &&
		ip addr add "$NET.$k.1/24" dev "vdifs$k" &&
		ip link set "vdifs$k" up &&
		ip -n "$name" addr add "$NET.$k.2/24" dev eth0 &&
		ip -n "$name" link set eth0 up &&
		ip -n "$name" link set lo up &&
		ip -n "$name" route add default via "$NET.$k.1"
}

cleanup() {
	local m k
	for m in "$MNT2" "$MNT"; do
		grep -q " $m vdifs " /proc/mounts && umount "$m"
	done
	pkill -f "$DIR/" 2>/dev/null
	sleep 1
	pkill -9 -f "$DIR/" 2>/dev/null
	for ((k = 0; k <= NDS; k++)); do
		ip netns del "vdifs-ns$k" 2>/dev/null
	done
	ip rule del iif lo to "$NET.1.2" blackhole 2>/dev/null
	if [ -n "${VDIFS_RESULTS:-}" ]; then
		for m in "$DIR"/*/log; do
			[ -f "$m" ] && cp "$m" "$VDIFS_RESULTS/$(basename "$(dirname "$m")").log"
		done
	fi
}

# st FIELD: a field of the MDS's status (chunks)
st() {
	"$TOOL" --json status 2>/dev/null | python3 -c \
		"import json,sys; print(json.load(sys.stdin)['chunks']['$1'])"
}
# ups: data servers the MDS lists up
ups() {
	"$TOOL" --json status 2>/dev/null | python3 -c \
		"import json,sys; print(sum(1 for d in json.load(sys.stdin)['data_servers'] if d['state'] == 'up'))"
}

# full_again WHAT SINCE: wait (at most 2 min) until no chunk is degraded
full_again() {
	local what=$1 since=$2 d=unknown i
	for ((i = 0; i < 120; i++)); do
		sleep 1
		d=$(st degraded) || continue
		[ "$d" = 0 ] && [ "$(ups)" = "$NDS" ] && break
	done
	check "full replication again $(($(date +%s) - since)) s after $what ($d degraded)" \
		test "$d" = 0 || diagnose
}

diagnose() {
	{
		timeout 20 "$TOOL" status
		tail -n 60 "$DIR/mds/log"
		for ((k = 1; k <= NDS; k++)); do
			echo "== ds$k"
			tail -n 25 "$DIR/ds$k/log"
		done
		echo w >/proc/sysrq-trigger
		dmesg | tail -n 200
	} 2>&1 | tee -a "${VDIFS_RESULTS:-/tmp}/diagnose.log"
	sync
}

cleanup >/dev/null 2>&1
rm -rf "$DIR"
modprobe veth && modprobe sch_netem || { fail "modprobe veth sch_netem"; finish; }
sysctl -qw net.ipv4.ip_forward=1
for ((k = 0; k <= NDS; k++)); do
	ns_add "vdifs-ns$k" "$k" || { fail "network namespace $k"; cleanup; finish; }
done

mkdir -p "$DIR/mds/data"
key=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
(umask 077 && echo "$key" >"$DIR/key")
export VDIFS_KEY_FILE=$DIR/key VDIFS_MDS=$MDS
ip netns exec vdifs-ns0 "$VDIFS_BIN/vdifs-mds" --listen "$MDS" \
	--data "$DIR/mds/data" --key-file "$DIR/key" --down-out 60 \
	</dev/null >"$DIR/mds/log" 2>&1 &
for ((k = 1; k <= NDS; k++)); do
	mkdir -p "$DIR/ds$k/data"
	ip netns exec "vdifs-ns$k" "$VDIFS_BIN/vdifs-ds" --mds "$MDS" \
		--listen "$NET.$k.2:7500" --data "$DIR/ds$k/data" \
		--key-file "$DIR/key" </dev/null >"$DIR/ds$k/log" 2>&1 &
done
for ((i = 0; i < 60; i++)); do
	[ "$(ups)" = "$NDS" ] && break
	sleep 1
done
check "$NDS data servers up, each in its own namespace" \
	test "$(ups)" = "$NDS" || { diagnose; cleanup; finish; }
"$TOOL" volume create pv --chunk-size 64K --extent-size 4K --replicas 3 \
	--min-replicas 1 >/dev/null || fail "create a volume with 3 copies"
load_key netns "$key"
MOUNT_OPTS=key=netns,actimeo=0
SOURCE=$MDS/pv
mkdir -p "$MNT"
mount -t vdifs -o "$MOUNT_OPTS" "$SOURCE" "$MNT" ||
	{ fail "mount $SOURCE"; cleanup; finish; }
mount_second

head -c 4M /dev/urandom >/tmp/np.ref
cp /tmp/np.ref "$MNT/ref" && sync || fail "write the reference file"

fsx_loop np 20261127 300
dmesg -C
sleep 5

# 1. a server's link down for 20 s
t=$(date +%s)
caught=$(grep -h -c "caught up data server" "$DIR/mds/log")
ip link set vdifs2 down
sleep 15
check "the MDS finds the server cut off down (up: $(ups))" test "$(ups)" = 2
sleep 5
ip link set vdifs2 up
full_again "a server's link was down for 20 s" "$t"
now=$(grep -h -c "caught up data server" "$DIR/mds/log")
check "its copies were caught up ($((now - caught)) chunks)" \
	test "$((now - caught))" -ge 1

# 2. a server cut off from the client alone for 20 s
t=$(date +%s)
ip rule add iif lo to "$NET.1.2" blackhole
check "the client cannot reach it" \
	bash -c "! timeout 3 bash -c 'exec 3<>/dev/tcp/$NET.1.2/7500' 2>/dev/null"
sleep 15
check "the MDS still hears it (up: $(ups))" test "$(ups)" = "$NDS"
sleep 5
ip rule del iif lo to "$NET.1.2" blackhole
full_again "a server was cut off from the client for 20 s" "$t"

# 3. a slow, lossy link for 20 s
t=$(date +%s)
tc qdisc add dev vdifs3 root netem delay 100ms loss 2%
ip netns exec vdifs-ns3 tc qdisc add dev eth0 root netem delay 100ms loss 2%
sleep 20
tc qdisc del dev vdifs3 root
ip netns exec vdifs-ns3 tc qdisc del dev eth0 root
full_again "a server's link was slow and lossy for 20 s" "$t"

# 4. a server cut off from the MDS alone for 25 s (it still reaches the
#    client and the other servers): the MDS finds it down and gives its
#    chunks new sets; a client holding the old layouts (files open with
#    O_DIRECT, read before) must then read what another client wrote
#    through the new sets, never the server's old copies (its read
#    lease ran out: a replica with a newer epoch makes it refuse)
rm -f /tmp/np.ready /tmp/np.go
for ((i = 0; i < 12; i++)); do
	head -c 64k /dev/urandom >"/tmp/np.old.$i"
	head -c 64k /dev/urandom >"/tmp/np.new.$i"
	cp "/tmp/np.old.$i" "$MNT/lease.$i" || fail "write lease.$i"
done
sync
python3 - "$MNT" <<'PY' &
import mmap, os, sys, time
mnt = sys.argv[1]
fds = [os.open('%s/lease.%d' % (mnt, i), os.O_RDONLY | os.O_DIRECT)
       for i in range(12)]
buf = mmap.mmap(-1, 65536)
for fd in fds:
    os.preadv(fd, [buf], 0)
open('/tmp/np.ready', 'w').close()
while not os.path.exists('/tmp/np.go'):
    time.sleep(0.1)
bad = 0
for i, fd in enumerate(fds):
    n = os.preadv(fd, [buf], 0)
    if buf[:n] != open('/tmp/np.new.%d' % i, 'rb').read():
        bad += 1
        print('lease.%d: the old data came back' % i, flush=True)
sys.exit(1 if bad else 0)
PY
lease_reader=$!
for ((i = 0; i < 100 && ! -e /tmp/np.ready; i++)); do sleep 0.1; done
t=$(date +%s)
ip netns exec vdifs-ns1 ip route add blackhole "$NET.0.2/32"
for ((i = 0; i < 30; i++)); do
	[ "$(ups)" = "$((NDS - 1))" ] && break
	sleep 1
done
check "the MDS finds the server cut off from it down" \
	test "$(ups)" = "$((NDS - 1))"
sleep 8		# the recovery gives its chunks new sets
for ((i = 0; i < 12; i++)); do
	dd if="/tmp/np.new.$i" of="$MNT2/lease.$i" bs=64k conv=notrunc \
		oflag=direct,dsync status=none || fail "rewrite lease.$i"
done
touch /tmp/np.go
check "the old layouts read what the new sets were written (read lease)" \
	wait "$lease_reader"
sleep 5
ip netns exec vdifs-ns1 ip route del blackhole "$NET.0.2/32"
full_again "a server was cut off from the MDS for $(($(date +%s) - t)) s" "$t"

sleep 5
touch /tmp/np.stop
for ((i = 0; i < 240; i++)); do
	kill -0 "$fsx_pid" 2>/dev/null || break
	sleep 1
done
if kill -0 "$fsx_pid" 2>/dev/null; then
	fail "the writers did not finish 4 minutes after they were told to stop"
	diagnose
fi
wait "$fsx_pid"
fsx_report np "vdifs-fsx through partitions" 3
wfail=$(dmesg | grep -c "write at .* failed")
check "no write failed in the kernel log" test "$wfail" = 0
echo 3 >/proc/sys/vm/drop_caches
check "the file synced before the partitions reads back whole" \
	cmp /tmp/np.ref "$MNT/ref"
check "a scrub then finds every copy good" bash -c \
	"'$TOOL' scrub --wait | grep -q ' 0 bad'"

cleanup
if rmmod vdifs; then
	pass "rmmod vdifs"
else
	fail "rmmod vdifs"
fi
finish

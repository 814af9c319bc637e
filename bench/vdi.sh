#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/vdi.sh: vdifs side by side with what a VDI farm uses today, QCOW2
# overlays on NFS, in one qemu guest boot.  Benchmark, not a test: it prints
# numbers and fails only when something breaks.
#
# Inside one guest the kernel NFS server exports a tmpfs, mounted back over
# 127.0.0.1 with vers=4.2 and vers=3, and a vdifs cluster (an MDS and three
# data servers on 127.0.0.1) keeps its data on a tmpfs of the same size; a
# volume with 1 replica (the fair comparison) and one with 3 sync replicas
# (their cost).  Each store gets a golden raw image of random data.  For
# each number of desktops D, each desktop with a fresh image of its own:
#   (a) a QCOW2 overlay on NFS (backing: the golden raw on NFS) through
#       qemu-nbd --cache=none --aio=native -f qcow2: THE BASELINE
#   (b) a vdifs clone of the golden image through the same qemu-nbd -f raw
#   (c) a raw full copy on NFS through qemu-nbd -f raw
#   (d) fio straight on the files: NFS raw copies, vdifs clones
# under fio (libaio, direct, iodepth 4, one job per desktop, summed):
# sequential write and read 1 MiB, random write and read 4 KiB, time-based;
# a boot storm (every desktop reads its whole image at once through
# qemu-nbd); the creation of N desktops (vdifs clones, cp --reflink, qemu-img
# create of QCOW2 overlays); single-stream dd 1 MiB and 4 KiB O_DIRECT; and
# loopback TCP (iperf3) as the ceiling of the guest; and metadata
# operations per second (create, stat, readdir of 10000 entries, rename,
# unlink) from 1, 4 and 16 processes over two mounts of each store
# (bench/meta-ops.c).  Every point is
# repeated; the report gives median [min-max] and the ratios
# vdifs / baseline of rates (> 1: vdifs is faster).
#
#   bench/vdi.sh [--quick] [options]     (root: it installs what it needs)
#   make bench [BENCH_ARGS='--quick']
#
# The guest is qemu TCG on the host's cores: absolute numbers are 10-30x
# below real hardware, and every server, client and fio share the guest's
# two vCPUs.  Compare the ratios.
set -uo pipefail

# ---- parameters: environment, overridden by flags (host side) ----

usage() {
	cat <<'EOF'
usage: bench/vdi.sh [--quick] [--base MB] [--desktops "1 4 8"] [--runtime S]
                    [--repeat N] [--replicas3 0|1] [--create N] [--nfs "4.2 3"]
                    [--raw-max D] [--meta "1 4 16"] [--meta-files N]
                    [--mem MB] [--results DIR] [--timeout S]
                    [--no-install] [--no-build] [--plan]

  --quick          base 128 MiB, D = 1 2, runtime 3 s, repeat 1, 10 desktops
                   created, NFS 4.2 only, smaller dd, metadata from 1 and 4
                   processes on 200 files each: 6-9 minutes; flags
                   given with it override its sizes
  --base MB        golden image size (VDI_BASE_MB, default 1024)
  --desktops LIST  desktop counts (VDI_DESKTOPS, default "1 4 8")
  --runtime S      seconds per fio run (VDI_RUNTIME, default 10)
  --repeat N       runs per point (VDI_REPEAT, default 3)
  --replicas3 0|1  also the vdifs cases on a 3-replica sync volume
                   (VDI_REPLICAS3, default 1)
  --create N       desktops created in the creation test (VDI_CREATE, 100)
  --nfs LIST       NFS versions (VDI_NFS_VERS, default "4.2 3")
  --raw-max D      raw full copies made at most (VDI_RAW_MAX; default: as
                   many as the largest D, fewer if they do not fit in memory)
  --meta LIST      process counts of the metadata phase (VDI_META, default
                   "1 4 16"; "" skips it)
  --meta-files N   files per process in it (VDI_META_FILES, default 500)
  --mem MB         guest memory (VDI_MEM_MB; default: what the sizes need)
  --results DIR    results (VDI_RESULTS, default build/vm/results/bench-vdi)
  --timeout S      guest time limit (VDI_TIMEOUT; default: from the sizes)
  --no-install     do not run scripts/deps.sh nor apt-get (VDI_INSTALL=0)
  --no-build       do not run make (VDI_BUILD=0)
  --plan           print the sizes, the guest's memory and the time
                   estimate, and exit

Results: RESULTS/vdi.txt (the tables), vdi.json, vdi.png, raw.tsv (every
sample), console.log (the guest's console), servers' logs.
EOF
}

BASE_MB=${VDI_BASE_MB:-1024}
DESKTOPS=${VDI_DESKTOPS:-"1 4 8"}
RUNTIME=${VDI_RUNTIME:-10}
REPEAT=${VDI_REPEAT:-3}
REPLICAS3=${VDI_REPLICAS3:-1}
CREATE=${VDI_CREATE:-100}
NFS_VERS=${VDI_NFS_VERS:-"4.2 3"}
RAW_MAX=${VDI_RAW_MAX:-}
META=${VDI_META-"1 4 16"}
META_FILES=${VDI_META_FILES:-500}
MEM_MB=${VDI_MEM_MB:-}
RESULTS=${VDI_RESULTS:-}
TIMEOUT=${VDI_TIMEOUT:-}
INSTALL=${VDI_INSTALL:-1}
BUILD=${VDI_BUILD:-1}
IODEPTH=4
QUICK=0

# ---- host side ----

say() { echo "bench: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# The host's userland is the guest's (tests/vm/run shares / read-only), so
# the NFS server, fio, qemu-nbd and iperf3 are installed here; their
# services must not start on the host.
HOST_PKGS=(fio qemu-utils nfs-kernel-server nfs-common rpcbind iperf3 gnuplot-nox)

install_pkgs() {
	local missing=() p rc policy=/usr/sbin/policy-rc.d made=0
	for p in "${HOST_PKGS[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages ${missing[*]}: run as root, or install them"
	say "installing ${missing[*]} (services kept from starting)"
	# invoke-rc.d and deb-systemd-invoke ask policy-rc.d: 101 = do not
	# start.  One that is there already stays as it is.
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# bench/vdi.sh: keep services from starting\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		made=1
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt_get() { apt-get -q -o DPkg::Lock::Timeout=600 "$@"; }
	apt_get install -y --no-install-recommends "${missing[@]}" >/dev/null
	rc=$?
	if [ "$rc" != 0 ]; then
		apt_get update >/dev/null
		apt_get install -y --no-install-recommends "${missing[@]}" >/dev/null
		rc=$?
	fi
	if [ "$made" = 1 ]; then
		rm -f "$policy"
		trap - EXIT
	fi
	[ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed"
}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# MiB the guest needs, given RAW copies: the golden images (one on NFS, one
# on the 1-replica volume, three on the 3-replica one), the raw copies, the
# writes of one fio run (at most ~100 MiB/s in TCG) that stay until the
# image is deleted, once more for the chunk collector's lag, times three
# for the 3-replica volume, and 1.5 GiB for the kernel, the processes and
# the root overlay.
mem_need() {
	local raw=$1 w
	w=$((RUNTIME * 100))
	[ "$w" -le $((DMAX * BASE_MB)) ] || w=$((DMAX * BASE_MB))
	echo $((BASE_MB * (2 + raw + 3 * REPLICAS3) + w * (2 + 2 * REPLICAS3) + 1536))
}

host_main() {
	local quick=0 plan=0 src avail need rc v d t
	# --quick first, so that the flags given with it override its sizes
	for v in "$@"; do
		[ "$v" = --quick ] || continue
		quick=1
		BASE_MB=128 DESKTOPS="1 2" RUNTIME=3 REPEAT=1 CREATE=10 NFS_VERS=4.2
		META="1 4" META_FILES=200
	done
	while [ $# -gt 0 ]; do
		case $1 in
		--quick) shift; continue ;;
		--no-install) INSTALL=0; shift; continue ;;
		--no-build) BUILD=0; shift; continue ;;
		--plan) plan=1; shift; continue ;;
		-h | --help) usage; exit 0 ;;
		--base | --desktops | --runtime | --repeat | --replicas3 | --create | \
			--nfs | --raw-max | --mem | --results | --timeout | --meta | \
			--meta-files)
			[ $# -ge 2 ] || { usage >&2; exit 2; } ;;
		*) say "unknown argument '$1'"; usage >&2; exit 2 ;;
		esac
		case $1 in
		--base) BASE_MB=$2 ;;
		--desktops) DESKTOPS=$2 ;;
		--runtime) RUNTIME=$2 ;;
		--repeat) REPEAT=$2 ;;
		--replicas3) REPLICAS3=$2 ;;
		--create) CREATE=$2 ;;
		--nfs) NFS_VERS=$2 ;;
		--meta) META=$2 ;;
		--meta-files) META_FILES=$2 ;;
		--raw-max) RAW_MAX=$2 ;;
		--mem) MEM_MB=$2 ;;
		--results) RESULTS=$2 ;;
		--timeout) TIMEOUT=$2 ;;
		esac
		shift 2
	done
	DESKTOPS=${DESKTOPS//,/ }
	for v in "$BASE_MB" "$RUNTIME" "$REPEAT" "$CREATE" $DESKTOPS; do
		if ! is_uint "$v" || [ "$v" = 0 ]; then
			die "not a positive number: '$v'"
		fi
	done
	[ "$REPLICAS3" = 0 ] || [ "$REPLICAS3" = 1 ] || die "--replicas3: 0 or 1"
	for v in $NFS_VERS; do
		case $v in 3 | 4 | 4.0 | 4.1 | 4.2) ;; *) die "--nfs: versions 3, 4, 4.1, 4.2" ;; esac
	done
	[ -n "$NFS_VERS" ] || die "--nfs: at least one version"
	DMAX=0
	for d in $DESKTOPS; do
		[ "$d" -le 16 ] || die "--desktops: at most 16 (nbd devices)"
		[ "$d" -gt "$DMAX" ] && DMAX=$d
	done

	src=$(cd "$(dirname "$0")/.." && pwd -P) || exit 1
	cd "$src" || exit 1

	# Memory: the raw copies are the big item (D x base); make as many as
	# fit, and say which D go without case (c).
	avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
	avail=$((avail - 2048))
	if [ -z "$RAW_MAX" ]; then
		RAW_MAX=$DMAX
		if [ -z "$MEM_MB" ]; then
			while [ "$RAW_MAX" -gt 0 ] && [ "$(mem_need "$RAW_MAX")" -gt "$avail" ]; do
				RAW_MAX=$((RAW_MAX - 1))
			done
		fi
	fi
	is_uint "$RAW_MAX" || die "--raw-max: a number"
	need=$(mem_need "$RAW_MAX")
	if [ -z "$MEM_MB" ]; then
		MEM_MB=$(((need + 255) / 256 * 256))
		[ "$MEM_MB" -ge 2048 ] || MEM_MB=2048
		[ "$MEM_MB" -le "$avail" ] ||
			die "the guest needs $MEM_MB MiB, the host has $avail to spare: a smaller --base or --desktops"
	fi
	is_uint "$MEM_MB" || die "--mem: MiB, a number"
	# Both tmpfs get the same size: enough for the larger of the two.
	TMPFS_MB=$((BASE_MB * (1 + RAW_MAX + 1) + RUNTIME * 200))
	t=$((BASE_MB * (1 + 3 * REPLICAS3) + RUNTIME * 100 * (2 + 4 * REPLICAS3) + 256))
	[ "$TMPFS_MB" -ge "$t" ] || TMPFS_MB=$t
	# single-stream dd: 1 MiB blocks, and 4 KiB ones (~25/s on 3 replicas
	# in TCG: a small file)
	DD_MB=$((BASE_MB < 128 ? BASE_MB : 128)) DD4K_KB=2048
	[ "$quick" = 1 ] && DD_MB=32 DD4K_KB=1024

	# A rough time estimate, from runs on a 2-core host: per configuration
	# 4 fio runs, ~1.5 s per desktop to make, attach and drop its image,
	# the boot storm at ~50 MiB/s; the guest's limit is three times it.
	local nv ncfg nnbd nr est=120 bs
	nv=$(wc -w <<<"$NFS_VERS")
	nnbd=$((nv + 1 + REPLICAS3))	# qcow2 and clones; raw copies below
	ncfg=$((nnbd + 1 + REPLICAS3))
	for d in $DESKTOPS; do
		nr=0
		[ "$d" -gt "$RAW_MAX" ] || nr=$nv
		bs=$(((nnbd + nr) * (d * BASE_MB / 50 + 2)))
		est=$((est + REPEAT * ((ncfg + 2 * nr) * (4 * RUNTIME + 3 + 2 * d) + bs)))
	done
	est=$((est + REPEAT * (CREATE * (nv + 2 + REPLICAS3) / 3 + 4 * RUNTIME + 30)))
	est=$((est + REPEAT * (nv + 1 + REPLICAS3) * (DD_MB / 10 + DD4K_KB / 100 + 4)))
	est=$((est + BASE_MB * (1 + 3 * REPLICAS3) / 12 + BASE_MB * RAW_MAX / 100))
	# metadata: ~300 operations/s per store in TCG, 5 phases, two stores
	# and more (nv + 1), a 10000-file directory made once per store
	for d in $META; do
		is_uint "$d" && [ "$d" -ge 1 ] && [ "$d" -le 64 ] ||
			die "--meta: process counts, 1 to 64"
		est=$((est + REPEAT * (nv + 1) * (4 * d * META_FILES / 300 + 20)))
	done
	[ -n "$META" ] && est=$((est + (nv + 1) * 10000 / 300))
	is_uint "$META_FILES" && [ "$META_FILES" -ge 1 ] ||
		die "--meta-files: a positive number"
	[ -n "$TIMEOUT" ] || TIMEOUT=$((est * 3 + 600))

	say "base $BASE_MB MiB, desktops $DESKTOPS, ${RUNTIME} s x $REPEAT, NFS $NFS_VERS," \
		"3 replicas: $([ "$REPLICAS3" = 1 ] && echo yes || echo no), raw copies: $RAW_MAX"
	say "guest: $MEM_MB MiB, tmpfs $TMPFS_MB MiB each; expect about $((est / 60)) min" \
		"(limit $((TIMEOUT / 60)) min)"
	[ "$plan" = 0 ] || exit 0

	if [ "$INSTALL" = 1 ]; then
		if [ "$(id -u)" = 0 ]; then
			scripts/deps.sh || die "scripts/deps.sh failed"
		fi
		install_pkgs
	fi
	if [ "$BUILD" = 1 ]; then
		make -s userspace module || die "build failed"
	fi
	for t in fio qemu-nbd qemu-img iperf3 rpc.nfsd rpcbind exportfs mount.nfs; do
		command -v "$t" >/dev/null || die "$t is not installed"
	done

	if [ -z "$RESULTS" ]; then
		RESULTS=$src/build/vm/results/bench-vdi
		rm -rf "$RESULTS"
	fi
	mkdir -p "$RESULTS" || die "cannot create $RESULTS"
	RESULTS=$(cd "$RESULTS" && pwd -P)
	# a directory given with --results loses only what an earlier run put there
	(cd "$RESULTS" && rm -rf raw.tsv vdi.conf vdi.txt vdi.json vdi.png plot-*.dat \
		mds.log ds[0-9]*.log)
	{
		printf 'BASE_MB=%q\nDESKTOPS=%q\nRUNTIME=%q\nREPEAT=%q\n' \
			"$BASE_MB" "$DESKTOPS" "$RUNTIME" "$REPEAT"
		printf 'REPLICAS3=%q\nCREATE=%q\nNFS_VERS=%q\nRAW_MAX=%q\n' \
			"$REPLICAS3" "$CREATE" "$NFS_VERS" "$RAW_MAX"
		printf 'TMPFS_MB=%q\nDD_MB=%q\nDD4K_KB=%q\nIODEPTH=%q\nMEM_MB=%q\nQUICK=%q\n' \
			"$TMPFS_MB" "$DD_MB" "$DD4K_KB" "$IODEPTH" "$MEM_MB" "$quick"
		printf 'META=%q\nMETA_FILES=%q\n' "$META" "$META_FILES"
	} >"$RESULTS/vdi.conf"

	say "results in $RESULTS"
	t=$SECONDS
	tests/vm/run --mem "${MEM_MB}M" --timeout "$TIMEOUT" --results "$RESULTS" \
		bench/vdi.sh
	rc=$?
	say "guest exited with status $rc after $((SECONDS - t)) s"
	[ -s "$RESULTS/raw.tsv" ] || die "no results (see $RESULTS/console.log)"
	/usr/bin/python3 bench/vdi-report.py "$RESULTS" || rc=1
	exit "$rc"
}

# ---- guest side ----

EXPORT=/srv/vdi-nfs	# the NFS export (tmpfs)
DSDATA=/srv/vdi-ds	# the vdifs servers' data (tmpfs of the same size)
V1=/mnt/vdi-r1		# the 1-replica volume
V3=/mnt/vdi-r3		# the 3-replica sync volume
RUN=/run/vdi		# pid files, fio output

failed=0
gfail() {
	echo "bench: FAILED: $*"
	failed=1
}

# rec FIELD...: one tab-separated line of raw.tsv (the report reads it):
# test config desktops workload repeat value unit [seconds]
rec() {
	local IFS=$'\t'
	echo "$*" >>"$RAW"
}
note() {
	echo "bench: $*"
	rec note "$*"
}

now_us() { echo "${EPOCHREALTIME/./}"; }
# secs_since START_US: seconds with 3 decimals
secs_since() { awk -v d=$(($(now_us) - $1)) 'BEGIN { printf "%.3f", d / 1e6 }'; }

# store names: nfs4.2, nfs3, vdifs (1 replica), vdifs-r3 (3 sync replicas)
mnt_of() {
	case $1 in
	nfs*) echo "/mnt/vdi-$1" ;;
	vdifs) echo "$V1" ;;
	vdifs-r3) echo "$V3" ;;
	esac
}

nfs_start() {
	local v m opts
	# What the packages' maintainer scripts and units would have done.
	mkdir -p /run/lock /run/rpcbind /run/rpc_pipefs /var/lib/nfs/sm \
		/var/lib/nfs/sm.bak /var/lib/nfs/v4recovery "$EXPORT"
	chown _rpc /run/rpcbind 2>/dev/null
	chown statd /var/lib/nfs/sm /var/lib/nfs/sm.bak 2>/dev/null
	modprobe -a nfsd lockd nfs nfsv3 nfsv4 || return 1
	mount -t nfsd nfsd /proc/fs/nfsd || return 1
	mount -t rpc_pipefs sunrpc /run/rpc_pipefs || return 1
	# A fresh server's 90 s grace periods would block the first opens
	# (NFSv4) and QEMU's image locks (NLM, on NFSv3): 10 s.
	echo 10 >/proc/fs/nfsd/nfsv4gracetime
	echo 10 >/proc/fs/nfsd/nfsv4leasetime
	echo 10 >/proc/sys/fs/nfs/nlm_grace_period
	mount -t tmpfs -o "size=${TMPFS_MB}m,mode=0755" tmpfs "$EXPORT" || return 1
	# fsid=0: the tmpfs is also the NFSv4 pseudo-root; sync is the default
	echo "$EXPORT 127.0.0.1(rw,sync,no_root_squash,fsid=0,insecure,no_subtree_check)" \
		>/etc/exports
	rpcbind -w || return 1
	rpc.statd --no-notify || return 1
	rpc.mountd || return 1
	exportfs -ra || return 1
	rpc.nfsd 8 || return 1
	for v in $NFS_VERS; do
		m=$(mnt_of "nfs$v")
		mkdir -p "$m"
		case $v in
		3) opts=(-o vers=3 127.0.0.1:"$EXPORT") ;;
		*) opts=(-o "vers=$v" 127.0.0.1:/) ;;
		esac
		mount -t nfs "${opts[@]}" "$m" || return 1
	done
	echo "bench: $((SECONDS - T0))s NFS: $(cat /proc/fs/nfsd/versions), 8 nfsd threads;" \
		"$(findmnt -n -t nfs,nfs4 -o TARGET,OPTIONS | cut -c1-150 | tr '\n' ';')"
	# (the first open over NFSv4 waits out the server's grace period: the
	# vdifs cluster and the golden image are made meanwhile)
}

vdifs_start() {
	local src
	mkdir -p "$DSDATA" "$V1" "$V3"
	mount -t tmpfs -o "size=${TMPFS_MB}m,mode=0755" tmpfs "$DSDATA" || return 1
	src=$("$VDIFS_SRC/tools/vdifs-cluster" start --ds 3 --replicas 1 --volume vdi \
		--dir "$DSDATA/cluster" --bin "$BIN") || return 1
	export VDIFS_MDS=${src%%/*}
	# with the cluster's key, as a user runs it (it costs the handshake)
	export VDIFS_KEY_FILE=$DSDATA/cluster/key
	"$VDIFS_SRC/tools/mount.vdifs" "$src" "$V1" -o "keyfile=$VDIFS_KEY_FILE" ||
		return 1
	if [ "$REPLICAS3" = 1 ]; then
		"$TOOL" -q volume create vdi3 --replicas 3 --mode sync >/dev/null ||
			return 1
		"$VDIFS_SRC/tools/mount.vdifs" "$VDIFS_MDS/vdi3" "$V3" \
			-o "keyfile=$VDIFS_KEY_FILE" || return 1
	fi
}

STORES=()	# every store in use, NFS first
VSTORES=()	# the vdifs ones

# golden: the golden raw image of random data on every store
golden() {
	local s m t
	t=$(now_us)
	dd if=/dev/urandom of="$EXPORT/golden.raw" bs=1M count="$BASE_MB" \
		iflag=fullblock status=none || return 1
	echo "bench: $((SECONDS - T0))s golden image ($BASE_MB MiB of random data) in $(secs_since "$t") s"
	# into the vdifs volumes at the same time (each copy waits on its
	# replicas more than on the CPUs)
	t=$(now_us)
	for s in "${VSTORES[@]}"; do
		m=$(mnt_of "$s")
		mkdir -p "$m/sets"
		dd if="$EXPORT/golden.raw" of="$m/golden.raw" bs=1M oflag=direct \
			status=none &
	done
	for s in "${VSTORES[@]}"; do
		wait -n || return 1
	done
	echo "bench: $((SECONDS - T0))s golden image copied into ${VSTORES[*]} (dd 1M direct) in $(secs_since "$t") s"
	for s in "${STORES[@]}"; do
		case $s in nfs*) mkdir -p "$(mnt_of "$s")/sets-$s" ;; esac
	done
}

# raw_copies: RAW_MAX full copies of the golden image on NFS, with cp on the
# first NFS mount (shared by the others: one export); each copy's time is
# a creation sample for a full-copy desktop
raw_copies() {
	local s=nfs${NFS_VERS%% *} m i t v
	# untimed: the first opens wait out what is left of the grace period
	for v in $NFS_VERS; do
		m=$(mnt_of "nfs$v")
		echo x >"$m/.probe-$v" && rm -f "$m/.probe-$v" || return 1
	done
	m=$(mnt_of "$s")
	mkdir -p "$m/raw"
	for ((i = 1; i <= RAW_MAX; i++)); do
		t=$(now_us)
		cp "$m/golden.raw" "$m/raw/d$i.raw" || return 1
		t=$(secs_since "$t")
		rec create "rawcopy:$s" 1 create "$i" "$(awk -v t="$t" 'BEGIN { printf "%.3f", 1 / t }')" desktops/s "$t"
	done
	# one copy more through each other NFS version, timed, then deleted
	for v in ${NFS_VERS#* }; do
		[ "$v" != "${NFS_VERS%% *}" ] || continue
		m=$(mnt_of "nfs$v")
		t=$(now_us)
		cp "$m/golden.raw" "$m/raw/extra.raw" || return 1
		t=$(secs_since "$t")
		rm -f "$m/raw/extra.raw"
		rec create "rawcopy:nfs$v" 1 create 1 "$(awk -v t="$t" 'BEGIN { printf "%.3f", 1 / t }')" desktops/s "$t"
	done
	[ "$RAW_MAX" -gt 0 ] && echo "bench: $((SECONDS - T0))s $RAW_MAX raw copies made"
	return 0
}

# ---- image sets: D images of one kind on one store ----

SET=()	# the current set's image paths
SETFMT=raw

# set_make KIND STORE D TAG: fresh images (qcow2 overlays, clones) or the
# raw copies (raw; never fresh: overwriting a full copy costs the same
# every time)
set_make() {
	local kind=$1 s=$2 d=$3 tag=$4 m i f
	m=$(mnt_of "$s")
	SET=()
	SETFMT=raw
	[ "$kind" = qcow2 ] && SETFMT=qcow2
	for ((i = 1; i <= d; i++)); do
		case $kind in
		qcow2)
			f=$m/sets-$s/$tag-$i.qcow2
			qemu-img create -q -f qcow2 -F raw -b "$m/golden.raw" "$f" ||
				return 1
			;;
		clone)
			f=$m/sets/$tag-$i.raw
			"$TOOL" -q clone "$m/golden.raw" "$f" >/dev/null || return 1
			;;
		raw) f=$m/raw/d$i.raw ;;
		esac
		SET+=("$f")
	done
}

set_delete() {
	local f
	for f in "${SET[@]}"; do
		case $f in */raw/d*.raw) ;; *) rm -f "$f" ;; esac
	done
	SET=()
}

DEVS=()
# nbd_attach: SET[i] on /dev/nbdI through qemu-nbd, the way a VM's disk
# is opened on a VDI host: no host cache, Linux native AIO
nbd_attach() {
	local i
	DEVS=()
	for i in "${!SET[@]}"; do
		qemu-nbd -f "$SETFMT" --cache=none --aio=native --pid-file="$RUN/nbd$i.pid" \
			-c "/dev/nbd$i" "${SET[$i]}" || return 1
		DEVS+=("/dev/nbd$i")
	done
}

# nbd_detach: disconnect, and wait until every qemu-nbd has exited (its
# image must be closed before it is deleted)
nbd_detach() {
	local i pid n
	for i in "${!DEVS[@]}"; do
		qemu-nbd -d "${DEVS[$i]}" >/dev/null 2>&1
	done
	for i in "${!DEVS[@]}"; do
		pid=$(<"$RUN/nbd$i.pid") 2>/dev/null || continue
		for ((n = 0; n < 100; n++)); do
			[ -d "/proc/$pid" ] || break
			nap 0.1
		done
		rm -f "$RUN/nbd$i.pid"
	done
	DEVS=()
}

# nap SECONDS: sleep without a fork (a program start costs ~0.3 s in TCG)
nap() { read -r -t "$1" -u "$TICK" _; }

# quiesce: wait (at most 20 s) until the guest's CPUs are 90 % idle over
# half a second: the chunk collector freeing deleted clones, exiting
# qemu-nbd processes or NFS's delayed work would otherwise run during the
# next configuration's measurement
QUIET_US=0	# microseconds spent in quiesce, all together
quiesce() {
	local i u n s id io irq sirq rest busy0 all0 busy all t
	t=$(now_us)
	read -r _ u n s id io irq sirq rest </proc/stat
	busy0=$((u + n + s + irq + sirq)) all0=$((busy0 + id + io))
	for ((i = 0; i < 40; i++)); do
		nap 0.5
		read -r _ u n s id io irq sirq rest </proc/stat
		busy=$((u + n + s + irq + sirq)) all=$((busy + id + io))
		if [ $((all - all0)) -gt 0 ] && [ $(((busy - busy0) * 100 / (all - all0))) -le 10 ]; then
			break
		fi
		busy0=$busy all0=$all
	done
	QUIET_US=$((QUIET_US + $(now_us) - t))
}

# ---- fio ----

declare -A WL_RW=([bootstorm]=read [seqread]=read [randread]=randread
	[seqwrite]=write [randwrite]=randwrite)
declare -A WL_BS=([bootstorm]=1M [seqread]=1M [randread]=4k
	[seqwrite]=1M [randwrite]=4k)

# measure CONFIG D REP WORKLOADS TARGET...: one fio process for all the
# WORKLOADS (a space-separated list), one after the other (stonewall), one
# job per target in each, summed per workload (group_reporting).  The boot
# storm reads every image whole, at once; the others are time-based.  The
# reads see the images as made; then the two writes, each in its own half
# of every image, so that both write where nothing was written before.
measure() {
	local cfg=$1 d=$2 rep=$3 wls=$4 wl i f v unit t half=$((BASE_MB / 2)) job=$RUN/job.fio
	shift 4
	{
		printf '[global]\nioengine=libaio\ndirect=1\niodepth=%s\n' "$IODEPTH"
		printf 'group_reporting\nallow_file_create=0\n'
		for wl in $wls; do
			i=0
			for f in "$@"; do
				i=$((i + 1))
				printf '[%s-%d]\nfilename=%s\nrw=%s\nbs=%s\n' "$wl" "$i" "$f" \
					"${WL_RW[$wl]}" "${WL_BS[$wl]}"
				[ "$i" = 1 ] && echo stonewall
				[ "$wl" = bootstorm ] || printf 'time_based\nruntime=%s\n' "$RUNTIME"
				case $wl in
				seqwrite) printf 'offset=0\nsize=%dM\n' "$half" ;;
				randwrite) printf 'offset=%dM\nsize=%dM\n' "$half" "$half" ;;
				esac
			done
		done
	} >"$job"
	if ! fio --output-format=terse --terse-version=3 --output="$RUN/fio.out" "$job" \
		>"$RUN/fio.err" 2>&1; then
		gfail "fio on $cfg, D=$d: $(tail -n 3 "$RUN/fio.err")"
		return 1
	fi
	# terse v3: 3 job name, 6/47 read/write KiB, 8/49 IOPS, 9/50 runtime ms
	awk -F';' -v cfg="$cfg" -v d="$d" -v rep="$rep" '
	$1 == 3 {
		wl = $3; sub(/-[0-9]+$/, "", wl)
		kib = $6 + $47; iops = $8 + $49; ms = ($9 > $50 ? $9 : $50)
		if (ms <= 0) next
		if (wl ~ /^rand/) { v = sprintf("%.0f", iops); unit = "IOPS" }
		else { v = sprintf("%.1f", kib / 1024 / (ms / 1000)); unit = "MiB/s" }
		test = (wl == "bootstorm" ? "boot" : "fio")
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.3f\n", test, cfg, d, wl, rep, v, unit, ms / 1000
	}' "$RUN/fio.out" >"$RUN/fio.tsv"
	while IFS=$'\t' read -r _ _ _ wl _ v unit t; do
		printf 'bench: %5ss D=%-2s rep %s %-20s %-9s %8s %-5s (%s s)\n' \
			$((SECONDS - T0)) "$d" "$rep" "$cfg" "$wl" "$v" "$unit" "$t"
	done <"$RUN/fio.tsv"
	cat "$RUN/fio.tsv" >>"$RAW"
	[ "$(wc -l <"$RUN/fio.tsv")" = "$(wc -w <<<"$wls")" ] ||
		gfail "fio on $cfg, D=$d: results missing"
}

# point VIA KIND STORE D REP: configuration VIA:KIND:STORE (VIA nbd: the
# images through qemu-nbd; file: fio on the files) for D desktops, on a
# fresh set of images
point() {
	local via=$1 kind=$2 s=$3 d=$4 rep=$5 cfg="$1:$2:$3"
	quiesce
	if ! set_make "$kind" "$s" "$d" "$via$d-$rep"; then
		gfail "images for $cfg, D=$d"
		set_delete
		return 1
	fi
	if [ "$via" = nbd ]; then
		if nbd_attach; then
			measure "$cfg" "$d" "$rep" "bootstorm seqread randread seqwrite randwrite" \
				"${DEVS[@]}"
		else
			gfail "qemu-nbd for $cfg, D=$d"
		fi
		nbd_detach
	else
		measure "$cfg" "$d" "$rep" "seqread randread seqwrite randwrite" "${SET[@]}"
	fi
	set_delete
}

# ---- metadata ----

# meta_mount STORE: a second mount of STORE (a second client), printed
meta_mount() {
	local s=$1 m b
	m=$(mnt_of "$s")
	b=$m-b
	if ! grep -q " $b " /proc/mounts; then
		mkdir -p "$b"
		case $s in
		nfs3) mount -t nfs -o vers=3,nosharecache 127.0.0.1:"$EXPORT" "$b" ;;
		nfs*) mount -t nfs -o "vers=${s#nfs},nosharecache" 127.0.0.1:/ "$b" ;;
		vdifs) "$VDIFS_SRC/tools/mount.vdifs" "$VDIFS_MDS/vdi" "$b" \
			-o "keyfile=$VDIFS_KEY_FILE" ;;
		esac || return 1
	fi
	echo "$b"
}

# meta_point STORE PROCS REP: bench-meta-ops over both mounts of STORE
meta_point() {
	local s=$1 procs=$2 rep=$3 m b out op v t
	m=$(mnt_of "$s")
	b=$(meta_mount "$s") || { gfail "second mount of $s"; return; }
	rm -rf "$m/meta"
	mkdir -p "$m/meta" || { gfail "mkdir $m/meta"; return; }
	quiesce
	if ! out=$("$BIN/bench-meta-ops" "$m/meta" "$b/meta" "$procs" \
		"$META_FILES"); then
		gfail "metadata on $s, $procs processes"
	fi
	while read -r op v t; do
		[ -n "$op" ] || continue
		rec meta "$s" "$procs" "$op" "$rep" "$v" ops/s "$t"
		printf 'bench: %5ds meta %-8s %2d proc %-8s %10s ops/s (%s s)\n' \
			$((SECONDS - T0)) "$s" "$procs" "$op" "$v" "$t"
	done <<<"$out"
	rm -rf "$m/meta"
}

# ---- creation, dd, TCP ----

# create_desktops REP: N desktops made by each method, timed as a whole
create_desktops() {
	local rep=$1 s m i t what
	for what in "${CREATE_WAYS[@]}"; do
		s=${what#*:}
		m=$(mnt_of "$s")
		mkdir -p "$m/create"
		quiesce
		t=$(now_us)
		for ((i = 1; i <= CREATE; i++)); do
			case ${what%%:*} in
			qcow2) qemu-img create -q -f qcow2 -F raw -b "$m/golden.raw" "$m/create/d$i.qcow2" ;;
			clone) "$TOOL" -q clone "$m/golden.raw" "$m/create/d$i.raw" >/dev/null ;;
			reflink) cp --reflink=always "$m/golden.raw" "$m/create/d$i.raw" ;;
			esac || { gfail "create desktop $i by $what"; break; }
		done
		t=$(secs_since "$t")
		if [ "$i" -gt "$CREATE" ]; then
			rec create "$what" "$CREATE" create "$rep" \
				"$(awk -v n="$CREATE" -v t="$t" 'BEGIN { printf "%.2f", n / t }')" desktops/s "$t"
			echo "bench: $((SECONDS - T0))s rep $rep: $CREATE desktops by $what in $t s"
		fi
		rm -rf "$m/create"
	done
}

# dd_one STORE REP BS COUNT: single-stream O_DIRECT write of a new file
# (data from the golden image on the export's tmpfs), then its read
dd_one() {
	local s=$1 rep=$2 bs=$3 count=$4 m f line b t what
	m=$(mnt_of "$s")
	f=$m/dd-$bs.bin
	rm -f "$f"
	quiesce
	for what in write read; do
		if [ "$what" = write ]; then
			line=$(LC_ALL=C dd if="$EXPORT/golden.raw" of="$f" bs="$bs" \
				count="$count" oflag=direct 2>&1 | tail -n 1)
		else
			line=$(LC_ALL=C dd if="$f" of=/dev/null bs="$bs" iflag=direct 2>&1 | tail -n 1)
		fi
		b=${line%% bytes*}
		t=$(awk -F', ' '{ sub(/ s$/, "", $3); print $3 }' <<<"$line")
		if ! is_uint "$b" || [ -z "$t" ]; then
			gfail "dd $what $bs on $s: $line"
			continue
		fi
		rec dd "$s" 1 "$what-$bs" "$rep" \
			"$(awk -v b="$b" -v t="$t" 'BEGIN { printf "%.2f", b / t / 1048576 }')" MiB/s "$t"
		echo "bench: $((SECONDS - T0))s rep $rep: dd $what bs=$bs on $s: $line"
	done
	rm -f "$f"
}

# tcp_loop REP: iperf3 over 127.0.0.1, 1 and 2 streams of 1 MiB writes:
# what the guest's loopback and CPUs carry with no file system at all
tcp_loop() {
	local rep=$1 out bps n p
	for p in 1 2; do
		quiesce
		iperf3 -s -1 -B 127.0.0.1 -p 5201 -D --logfile "$RUN/iperf3.log" || {
			gfail "iperf3 server"
			return 1
		}
		for ((n = 0; n < 20; n++)); do
			out=$(iperf3 -c 127.0.0.1 -p 5201 -l 1M -P "$p" -t "$RUNTIME" -J 2>/dev/null) && break
			nap 0.5
		done
		bps=$(/usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])' <<<"$out") || {
			gfail "iperf3 client ($p streams)"
			continue
		}
		bps=$(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 8 / 1048576 }')
		rec tcp loopback "$p" iperf3 "$rep" "$bps" MiB/s "$RUNTIME"
		echo "bench: $((SECONDS - T0))s rep $rep: loopback TCP (iperf3, $p streams): $bps MiB/s"
	done
}

# ---- guest CPU per I/O, by process ----

# cpu_ticks: "tid<TAB>class<TAB>ticks" of every task; a class is the
# task's name without digits and what follows a / or : (kworker/u4:2 and
# vdifs-ds1 read as kworker and vdifs-ds), "k:" before it for a kernel
# thread (kthreadd's child), so that vdifs's kernel connection threads
# stand apart from its servers
cpu_ticks() {
	awk '{
		o = index($0, "("); p = 0
		while ((q = index(substr($0, p + 1), ")")) > 0) p += q
		c = substr($0, o + 1, p - o - 1)
		split(substr($0, p + 2), f, " ")
		sub(/[\/:].*/, "", c); gsub(/[0-9]+/, "", c)
		if (f[2] == 2 || $1 == 2) c = "k:" c
		print $1 "\t" c "\t" f[12] + f[13]
	}' /proc/[0-9]*/task/[0-9]*/stat 2>/dev/null
}

# cpu_busy: busy ticks of all CPUs, from /proc/stat
cpu_busy() {
	local u n s id io irq sirq rest
	read -r _ u n s id io irq sirq rest </proc/stat
	echo $((u + n + s + irq + sirq))
}

# cpu_point KIND STORE REP: one desktop's image (KIND on STORE, fresh),
# fio on the file for each workload in turn, and the guest's CPU per I/O
# it took, by class of process (fio's own CPU is in the total only: it
# has exited when the tasks are counted again).  Records test cpu,
# workload WORKLOAD/CLASS (and WORKLOAD/total), in microseconds per I/O.
cpu_point() {
	local kind=$1 s=$2 rep=$3 cfg="file:$1:$2" wl b0 b1 ios
	for wl in randwrite randread seqwrite seqread; do
		quiesce
		if ! set_make "$kind" "$s" 1 "cpu-$rep"; then
			gfail "image for cpu $cfg"
			set_delete
			return 1
		fi
		cpu_ticks >"$RUN/cpu.a"
		b0=$(cpu_busy)
		if ! fio --name=cpu --filename="${SET[0]}" --ioengine=libaio --direct=1 \
			--iodepth="$IODEPTH" --rw="${WL_RW[$wl]}" --bs="${WL_BS[$wl]}" \
			--time_based --runtime="$RUNTIME" --output-format=terse \
			--terse-version=3 --output="$RUN/cpu.out" >"$RUN/fio.err" 2>&1; then
			gfail "fio for cpu $cfg $wl: $(tail -n 3 "$RUN/fio.err")"
			set_delete
			continue
		fi
		b1=$(cpu_busy)
		cpu_ticks >"$RUN/cpu.b"
		set_delete
		# terse v3: 8/49 read/write IOPS, 9/50 runtime ms
		ios=$(awk -F';' '$1 == 3 { printf "%.0f", ($8 * $9 + $49 * $50) / 1000 }' \
			"$RUN/cpu.out")
		[ "${ios:-0}" -gt 0 ] 2>/dev/null || { gfail "cpu $cfg $wl: no I/O"; continue; }
		# ticks are 10 ms: 10000 us
		awk -v ios="$ios" -v busy=$((b1 - b0)) -v cfg="$cfg" -v wl="$wl" \
			-v rep="$rep" -v t="$RUNTIME" -F'\t' '
			NR == FNR { a[$1] = $3; next }
			{ d = ($1 in a) ? $3 - a[$1] : $3; if (d > 0) by[$2] += d }
			END {
				printf "cpu\t%s\t1\t%s/total\t%s\t%.1f\tus/io\t%s\n", cfg, wl, rep, busy * 10000 / ios, t
				for (c in by)
					printf "cpu\t%s\t1\t%s/%s\t%s\t%.1f\tus/io\t%s\n", cfg, wl, c, rep, by[c] * 10000 / ios, t
			}' "$RUN/cpu.a" "$RUN/cpu.b" >"$RUN/cpu.tsv"
		cat "$RUN/cpu.tsv" >>"$RAW"
		echo "bench: $((SECONDS - T0))s rep $rep: cpu $cfg $wl: $ios I/Os," \
			"$(awk -F'\t' '$4 ~ /total$/ { print $6 }' "$RUN/cpu.tsv") us of CPU each"
	done
}

usage_line() {
	echo "bench: memory: $(free -m | awk '/^Mem:/ { print $3 " MiB used, " $7 " available" }');" \
		"export $(df -m --output=used "$EXPORT" | tail -n 1) MiB, vdifs data" \
		"$(df -m --output=used "$DSDATA" | tail -n 1) MiB"
}

guest_main() {
	local d rep v s t
	# shellcheck source=/dev/null
	. "$VDIFS_RESULTS/vdi.conf" || exit 1
	RAW=$VDIFS_RESULTS/raw.tsv
	BIN=$VDIFS_SRC/build/out
	TOOL=$BIN/vdifs-tool
	T0=$SECONDS
	: >"$RAW"
	# loopback is up already (tests/vm/initramfs-init); again, in case
	ip link set lo up
	mkdir -p "$RUN"
	# nap's clock: a FIFO nobody writes to, open read-write so that the
	# open does not block (the guest has no /dev/fd for anything fancier)
	mkfifo "$RUN/tick" && exec {TICK}<>"$RUN/tick" || exit 1
	rec param base_mb "$BASE_MB"
	rec param desktops "$DESKTOPS"
	rec param runtime_s "$RUNTIME"
	rec param repeat "$REPEAT"
	rec param replicas3 "$REPLICAS3"
	rec param create "$CREATE"
	rec param nfs_vers "$NFS_VERS"
	rec param raw_max "$RAW_MAX"
	rec param iodepth "$IODEPTH"
	rec param guest_mem_mb "$MEM_MB"
	rec param tmpfs_mb "$TMPFS_MB"
	rec param dd_mb "$DD_MB"
	rec param dd4k_kb "$DD4K_KB"
	rec param quick "$QUICK"
	rec param meta "$META"
	rec param meta_files "$META_FILES"
	rec param kernel "$(uname -r)"
	rec param cpus "$(nproc)"
	rec param fio "$(fio --version)"
	rec param qemu "$(qemu-nbd --version | head -n 1)"

	for v in $NFS_VERS; do STORES+=("nfs$v"); done
	VSTORES=(vdifs)
	[ "$REPLICAS3" = 1 ] && VSTORES+=(vdifs-r3)
	STORES+=("${VSTORES[@]}")
	CREATE_WAYS=(clone:vdifs reflink:vdifs)
	[ "$REPLICAS3" = 1 ] && CREATE_WAYS+=(clone:vdifs-r3)
	for v in $NFS_VERS; do CREATE_WAYS+=("qcow2:nfs$v"); done

	modprobe nbd nbds_max=16 || { gfail "modprobe nbd"; exit 1; }
	nfs_start || { gfail "NFS server"; exit 1; }
	vdifs_start || { gfail "vdifs cluster"; exit 1; }
	golden || { gfail "golden images"; exit 1; }
	raw_copies || { gfail "raw copies"; exit 1; }
	usage_line
	for d in $DESKTOPS; do
		[ "$d" -le "$RAW_MAX" ] ||
			note "D=$d: no raw full copies (case c): $RAW_MAX copies of $BASE_MB MiB is what fits in guest memory"
	done
	echo "bench: set-up done in $((SECONDS - T0)) s"

	# Repeats outermost within D, configurations interleaved, so that a
	# slow spell of the host spreads over all of them.
	for d in $DESKTOPS; do
		for ((rep = 1; rep <= REPEAT; rep++)); do
			for v in $NFS_VERS; do
				point nbd qcow2 "nfs$v" "$d" "$rep"
			done
			for s in "${VSTORES[@]}"; do
				point nbd clone "$s" "$d" "$rep"
			done
			if [ "$d" -le "$RAW_MAX" ]; then
				for v in $NFS_VERS; do
					point nbd raw "nfs$v" "$d" "$rep"
					point file raw "nfs$v" "$d" "$rep"
				done
			fi
			for s in "${VSTORES[@]}"; do
				point file clone "$s" "$d" "$rep"
			done
			usage_line
		done
	done

	for ((rep = 1; rep <= REPEAT; rep++)); do
		create_desktops "$rep"
		[ "$RAW_MAX" -ge 1 ] && cpu_point raw "nfs${NFS_VERS%% *}" "$rep"
		for s in "${VSTORES[@]}"; do
			cpu_point clone "$s" "$rep"
		done
		for s in "${STORES[@]}"; do
			dd_one "$s" "$rep" 1M "$DD_MB"
			dd_one "$s" "$rep" 4k $((DD4K_KB / 4))
		done
		tcp_loop "$rep"
		for d in $META; do
			for s in "${STORES[@]}"; do
				[ "$s" = vdifs-r3 ] || meta_point "$s" "$d" "$rep"
			done
		done
	done
	t=$((SECONDS - T0))
	rec param guest_seconds "$t"
	rec param quiesce_seconds $((QUIET_US / 1000000))
	echo "bench: done in $t s ($((QUIET_US / 1000000)) s of it waiting for idle CPUs)"

	for s in "$V3" "$V1-b" "$V1"; do
		grep -q " $s vdifs " /proc/mounts && umount "$s"
	done
	"$VDIFS_SRC/tools/vdifs-cluster" stop --dir "$DSDATA/cluster" >/dev/null 2>&1
	for s in "$DSDATA"/cluster/*/log; do
		[ -f "$s" ] && cp "$s" "$VDIFS_RESULTS/$(basename "$(dirname "$s")").log"
	done
	exit "$failed"
}

if [ -n "${VDIFS_GUEST:-}" ]; then
	guest_main
else
	host_main "$@"
fi

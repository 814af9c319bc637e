#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Many clones of one base, as a VDI farm makes them: 1000 clones of a
# 1 MiB base (timed), 100 clones of a snapshot of it; a sample of them
# reads back the base, writes into some change only those, deleting them
# all leaves the base intact and gives the space back.
# 51-clones-scale.sh [CLONES]
# shellcheck disable=SC1091 # lib.sh: run from anywhere
. "$(dirname "$0")/lib.sh"

N=${1:-1000}
PY=/usr/bin/python3
HELPER=/tmp/vdifs-clonescale.py
export MODEL=/tmp/vdifs-scale-model

cat >"$HELPER" <<'PYEOF'
import errno, fcntl, os, random, struct, sys, time

MNT = os.environ['MNT']
MODEL = os.environ['MODEL']
CLONE = (1 << 30) | (280 << 16) | (0xd6 << 8) | 5
SNAP_CREATE = (3 << 30) | (288 << 16) | (0xd6 << 8) | 1
nfail = 0


def ok(w):
    print('PASS: ' + w, flush=True)


def bad(w):
    global nfail
    nfail += 1
    print('FAIL: ' + w, flush=True)


def clone(src, dirfd, name):
    fd = os.open(src, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, CLONE, struct.pack('iI256s2Q', dirfd, 0,
                                            name.encode(), 0, 0))
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def read(p):
    with open(p, 'rb') as f:
        return f.read()


def make(src, d, n, prefix, what):
    os.makedirs(d, exist_ok=True)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    t0 = time.time()
    slow = (0, -1)
    for i in range(n):
        t = time.time()
        e = clone(src, dfd, '%s%04d' % (prefix, i))
        if e:
            bad('%s: clone %d of %d: %s' % (what, i, n,
                                           errno.errorcode.get(e, e)))
            os.close(dfd)
            return False
        dt = time.time() - t
        if dt > slow[0]:
            slow = (dt, i)
        if (i + 1) % 250 == 0:
            print('  %s: %d clones, %.1f s' % (what, i + 1, time.time() - t0),
                  flush=True)
    el = time.time() - t0
    os.close(dfd)
    ok('%s: %d clones in %.1f s (%.1f ms each, slowest %.0f ms: #%d)' % (
        what, n, el, 1000 * el / n, 1000 * slow[0], slow[1]))
    return True


def main():
    n = int(sys.argv[1])
    rnd = random.Random(51)
    base = os.path.join(MNT, 'base.img')
    bdata = read(base)
    d = os.path.join(MNT, 'clones')
    if not make(base, d, n, 'desk', 'clones of the base'):
        return
    names = sorted(os.listdir(d))
    if len(names) != n:
        bad('%d names in %s, want %d' % (len(names), d, n))
    sample = sorted(set(rnd.sample(range(n), min(n, 30)) + [0, n - 1]))
    good = all(read(os.path.join(d, 'desk%04d' % i)) == bdata or
               bad('clone desk%04d differs from the base' % i)
               for i in sample)
    if good:
        ok('a sample of %d clones (first and last among them) reads back '
           'the base' % len(sample))
    # write into some: only those change
    written = {}
    for i in rnd.sample(range(n), min(n, 10)):
        p = os.path.join(d, 'desk%04d' % i)
        off = rnd.randrange(0, len(bdata) - 8192)
        buf = rnd.randbytes(rnd.randint(1, 8192))
        fd = os.open(p, os.O_WRONLY)
        os.pwrite(fd, buf, off)
        os.close(fd)
        m = bytearray(bdata)
        m[off:off + len(buf)] = buf
        written[i] = bytes(m)
        with open(os.path.join(MODEL, 'desk%04d' % i), 'wb') as f:
            f.write(m)
    with open('/proc/sys/vm/drop_caches', 'w') as f:
        f.write('3\n')
    good = True
    for i in sorted(set(sample) | set(written)):
        want = written.get(i, bdata)
        if read(os.path.join(d, 'desk%04d' % i)) != want:
            bad('after writing into %d clones: desk%04d is wrong (%s)' % (
                len(written), i, 'written' if i in written else 'untouched'))
            good = False
    if read(base) != bdata:
        bad('after writing into clones: the base changed')
        good = False
    if good:
        ok('writes into %d clones change only them: the base and %d other '
           'clones still read the base' % (len(written),
                                           len(set(sample) - set(written))))

    # clones of a snapshot of the base: the "golden image" way
    SNAP = os.path.join(MNT, '.vdifs-snapshots', str(os.stat(base).st_ino),
                        'golden')
    fd = os.open(base, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, SNAP_CREATE, struct.pack('256sQ3Q', b'golden', 0, 0,
                                                 0, 0))
    finally:
        os.close(fd)
    g = os.path.join(MNT, 'golden')
    m = max(1, n // 10)
    if make(SNAP, g, m, 'g', 'clones of a snapshot'):
        bad_ones = [i for i in (0, m // 2, m - 1)
                    if read(os.path.join(g, 'g%04d' % i)) != bdata]
        if bad_ones:
            bad('clones of the snapshot differ from the base: %s' % bad_ones)
        else:
            ok('clones of the snapshot read back the base')
    sys.exit(1 if nfail else 0)


try:
    main()
except Exception as e:
    import traceback
    traceback.print_exc()
    bad('the helper stopped: %s: %s' % (type(e).__name__, e))
    sys.exit(1)
PYEOF

# the helper prints its own PASS/FAIL lines
# shellcheck disable=SC2034 # lib.sh's finish reads it
failed_too() { vdifs_failed=1; }

# the cluster on its own tmpfs, so that df's used space is vdifs data only
CLUSTER_DIR=/tmp/vdifs-scalefs/cluster
mkdir -p /tmp/vdifs-scalefs
mount -t tmpfs -o size=1200m tmpfs /tmp/vdifs-scalefs || fail "tmpfs for the cluster"
rm -rf "$MODEL"
mkdir -p "$MODEL"
cluster_start
u0=$(settle)
head -c 1M /dev/urandom >"$MNT/base.img"
cp "$MNT/base.img" "$MODEL/base"
sync
u1=$(settle)
t0=$(date +%s%3N)
MNT=$MNT MODEL=$MODEL "$PY" "$HELPER" "$N" || failed_too
echo "  $N + $((N / 10)) clones made and checked in $(($(date +%s%3N) - t0)) ms"
u2=$(settle)
echo "  df used: $u0 empty, $u1 with the base, $u2 with the clones"
check "the clones took little space: $(((u2 - u1) / 1024)) KiB for $N + $((N / 10)) clones of a base that took $(((u1 - u0) / 1024)) KiB" \
	test $((u2 - u1)) -le $((u1 - u0 > 0 ? (u1 - u0) * 8 : 1 << 26))

t0=$(date +%s%3N)
check "rm -r the clones" rm -r "$MNT/clones" "$MNT/golden"
echo "  rm -r of $N + $((N / 10)) clones: $(($(date +%s%3N) - t0)) ms"
echo 3 >/proc/sys/vm/drop_caches
check "the base is intact after its clones are gone" cmp "$MODEL/base" "$MNT/base.img"
check "its snapshot too" cmp "$MODEL/base" \
	"$MNT/.vdifs-snapshots/$(stat -c %i "$MNT/base.img")/golden"
"$VDIFS_BIN/vdifs-tool" -q snapshot delete "$MNT/base.img" golden ||
	fail "delete the snapshot"
slack=$(((u1 - u0) / 2 > (2 << 20) ? (u1 - u0) / 2 : 2 << 20))
t0=$(date +%s%3N)
for ((i = 0; i < 120; i++)); do
	[ "$(used)" -le $((u1 + slack)) ] && break
	sleep 1
done
check "the clones' space comes back: used $(($(used) - u1)) bytes above the base alone after $(($(date +%s%3N) - t0)) ms" \
	test "$(used)" -le $((u1 + slack))
check "the base still reads back" cmp "$MODEL/base" "$MNT/base.img"
if [ -n "${VDIFS_RESULTS:-}" ]; then
	for f in "$CLUSTER_DIR"/*/log; do
		cp "$f" "$VDIFS_RESULTS/$(basename "$(dirname "$f")").log"
	done
fi
cluster_stop
umount /tmp/vdifs-scalefs
finish

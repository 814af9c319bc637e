#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Snapshots and clones against a model:
#  - vdifs-tool's snapshot/clone/du/setattr/getattr commands and errors;
#  - space: vdifs-tool du unique/shared as data is snapshotted, cloned and
#    written, and df's used space back where it was once the clones and
#    snapshots are deleted (background reclaim, bounded wait);
#  - deleting snapshots, clones and files: what stays reads back once the
#    collector has run;
#  - random writes, truncates, snapshot create/delete/revert, clones of
#    files and snapshots, unlinks, each step followed by comparing every
#    file and snapshot with its model in /tmp (and through a second client
#    now and then);
#  - chains of depth 32: clone of clone ..., snapshot -> clone -> snapshot;
#  - revert to any snapshot, seen by open fds and another client;
#  - a writer appending fsync'ed records while snapshots are taken: each
#    snapshot holds an intact prefix of at least the acknowledged records;
#  - cp --reflink=always (FICLONE) and FICLONERANGE;
#  - permissions as an unprivileged user;
#  - malformed ioctl arguments.
# The volume has 64 KiB chunks, 4 KiB extents and 3 replicas (sync), so
# that files span many chunks.  50-snapshots.sh [OPS [SEED]]
# shellcheck disable=SC1091 # lib.sh: run from anywhere
. "$(dirname "$0")/lib.sh"

OPS=${1:-250}
export SEED=${2:-20261125}
TOOL=$VDIFS_BIN/vdifs-tool
PY=/usr/bin/python3
HELPER=/tmp/vdifs-snaptest.py
export MODEL=/tmp/vdifs-model
export VDIFS_TOOL=$TOOL MNT MNT2
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

# the cluster on a tmpfs of its own: df's used space (the data servers'
# file system) then moves with vdifs data only, not with /tmp
CLUSTER_DIR=/tmp/vdifs-snapfs/cluster
mkdir -p /tmp/vdifs-snapfs
mount -t tmpfs -o size=1200m tmpfs /tmp/vdifs-snapfs || fail "tmpfs for the cluster"
rm -rf "$MODEL"
mkdir -p "$MODEL"

cat >"$HELPER" <<'PYEOF'
import ctypes, errno, fcntl, json, mmap, os, random, stat, struct, subprocess, sys, time

TOOL = os.environ.get('VDIFS_TOOL', 'vdifs-tool')
MNT = os.environ.get('MNT', '/mnt/vdifs')
MNT2 = os.environ.get('MNT2', '')
MODEL = os.environ.get('MODEL', '/tmp/vdifs-model')
SNAPROOT = '.vdifs-snapshots'


def _ioc(d, nr, size):
    return (d << 30) | (size << 16) | (0xd6 << 8) | nr


SNAP_CREATE = _ioc(3, 1, 288)
SNAP_DELETE = _ioc(1, 2, 288)
SNAP_REVERT = _ioc(1, 3, 288)
SNAP_LIST = _ioc(3, 4, 40)
CLONE = _ioc(1, 5, 280)
SPACE = _ioc(2, 6, 64)
SETLAYOUT = _ioc(1, 7, 32)
GETLAYOUT = _ioc(2, 8, 32)
FICLONE = 0x40049409
FICLONERANGE = 0x4020940d
AT_FDCWD = -100

nfail = 0


def ok(w):
    print('PASS: ' + w, flush=True)


def bad(w):
    global nfail
    nfail += 1
    print('FAIL: ' + w, flush=True)


def note(w):
    print('  ' + w, flush=True)


def ename(e):
    return errno.errorcode.get(e, str(e)) if e else 'success'


def ioc(fd, req, buf):
    """ioctl with an in/out buffer: (0, bytes out) or (errno, None)"""
    b = bytearray(buf)
    try:
        fcntl.ioctl(fd, req, b, True)
    except OSError as e:
        return e.errno, None
    return 0, bytes(b)


def ioc_ptr(fd, req, ptr):
    try:
        fcntl.ioctl(fd, req, ptr)
    except OSError as e:
        return e.errno
    return 0


def snap_buf(name, reserved=(0, 0, 0)):
    if isinstance(name, str):
        name = name.encode()
    return struct.pack('256sQ3Q', name, 0, *reserved)


def clone_buf(dirfd, name, flags=0, reserved=(0, 0)):
    if isinstance(name, str):
        name = name.encode()
    return struct.pack('iI256s2Q', dirfd, flags, name, *reserved)


def layout_buf(cs=0, es=0, rep=0, mode=0xff, pad=0, reserved=(0,) * 5):
    return struct.pack('IIBBH5I', cs, es, rep, mode, pad, *reserved)


def openp(path, flags=os.O_RDONLY):
    return os.open(path, flags | os.O_CLOEXEC)


def snap_ioctl(path, req, name, flags=os.O_RDONLY):
    """(errno, snapshot ino)"""
    fd = openp(path, flags)
    try:
        e, out = ioc(fd, req, snap_buf(name))
    finally:
        os.close(fd)
    return e, (struct.unpack_from('Q', out, 256)[0] if out else 0)


def clone_ioctl(src, dst):
    sfd = openp(src)
    dfd = openp(os.path.dirname(dst), os.O_RDONLY | os.O_DIRECTORY)
    try:
        return ioc(sfd, CLONE, clone_buf(dfd, os.path.basename(dst)))[0]
    finally:
        os.close(sfd)
        os.close(dfd)


def snap_list(path, batch=64):
    fd = openp(path)
    buf = ctypes.create_string_buffer(288 * batch)
    out, cookie = [], 0
    try:
        for _ in range(10000):
            arg = struct.pack('QQII2Q', cookie, ctypes.addressof(buf), batch,
                              0, 0, 0)
            e, rep = ioc(fd, SNAP_LIST, arg)
            if e:
                raise OSError(e, os.strerror(e))
            cookie, _, count, eof, _, _ = struct.unpack('QQII2Q', rep)
            for i in range(count):
                ino, size, ct, ck, name = struct.unpack_from(
                    'QQqQ256s', buf, i * 288)
                out.append((name.split(b'\0')[0].decode(), ino, size))
            if eof:
                return out
            if not count:
                raise OSError(errno.EIO, 'SNAP_LIST: no entries, no eof')
    finally:
        os.close(fd)
    raise OSError(errno.EIO, 'SNAP_LIST does not end')


def space(path):
    fd = openp(path)
    try:
        e, out = ioc(fd, SPACE, bytes(64))
    finally:
        os.close(fd)
    if e:
        raise OSError(e, os.strerror(e))
    return dict(zip(('logical', 'allocated', 'unique', 'shared', 'chunks'),
                    struct.unpack_from('5Q', out)))


def snap_path(fpath, name, root=None):
    ino = os.stat(fpath).st_ino
    return os.path.join(root or MNT, SNAPROOT, str(ino), name)


def read_all(path):
    with open(path, 'rb') as f:
        return f.read()


def write_model(name, data):
    with open(os.path.join(MODEL, name), 'wb') as f:
        f.write(data)


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            for j in range(i, min(n, i + 4096)):
                if a[j] != b[j]:
                    return j
    return n


def same(path, want, mname, what):
    """path's content must equal want (also in MODEL/mname): cmp-like"""
    try:
        got = read_all(path)
    except OSError as e:
        bad('%s: read %s: %s' % (what, path, e.strerror))
        return False
    if got == want:
        return True
    off = first_diff(got, want)
    r = subprocess.run(['cmp', path, os.path.join(MODEL, mname)],
                       capture_output=True, text=True)
    bad('%s: %s differs from the model %s/%s: sizes %d (want %d), first '
        'difference at byte %d: got %s want %s; cmp: %s' % (
            what, path, MODEL, mname, len(got), len(want), off,
            got[off:off + 8].hex(), want[off:off + 8].hex(),
            (r.stdout + r.stderr).strip()))
    return False


def tool(*args):
    r = subprocess.run([TOOL, '--json', '-q'] + list(args),
                       capture_output=True, text=True)
    out = None
    if r.returncode == 0 and r.stdout.strip():
        try:
            out = json.loads(r.stdout)
        except ValueError:
            pass
    return r.returncode, out, r.stderr.strip()


def drop_caches():
    with open('/proc/sys/vm/drop_caches', 'w') as f:
        f.write('3\n')


def pwrite(path, off, data):
    fd = openp(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def apply_write(buf, off, data):
    if off > len(buf):
        buf.extend(bytes(off - len(buf)))
    buf[off:off + len(data)] = data


# ---------------------------------------------------------------------------
# deletion: what stays must still read back once the collector has run

def cmd_gc():
    rnd = random.Random(99)
    d = os.path.join(MNT, 'gc')
    os.makedirs(d, exist_ok=True)
    os.makedirs(MODEL, exist_ok=True)
    want = {}           # path -> (content, scenario)

    def new(name, size=256 << 10):
        p = os.path.join(d, name)
        data = rnd.randbytes(size)
        with open(p, 'wb') as f:
            f.write(data)
        return p, data

    def snap(p, s):
        e, _ = snap_ioctl(p, SNAP_CREATE, s)
        if e:
            raise OSError(e, 'snapshot %s of %s' % (s, p))
        return snap_path(p, s)

    def sdel(p, s):
        e, _ = snap_ioctl(p, SNAP_DELETE, s, os.O_RDWR)
        if e:
            raise OSError(e, 'delete snapshot %s of %s' % (s, p))

    def clone(src, name):
        dst = os.path.join(d, name)
        e = clone_ioctl(src, dst)
        if e:
            raise OSError(e, 'clone %s -> %s' % (src, dst))
        return dst

    # 1. snapshot, then delete it
    p, data = new('f1')
    snap(p, 's')
    sdel(p, 's')
    want[p] = (data, 'a file whose snapshot was deleted')
    # 2. the same for a file that was cloned before
    p, data = new('f2')
    c = clone(p, 'f2-clone')
    snap(p, 's')
    sdel(p, 's')
    want[p] = (data, 'a cloned file whose snapshot was deleted')
    want[c] = (data, 'the clone of that file')
    # 3. snapshot, write the file, delete the snapshot
    p, data = new('f3')
    snap(p, 's')
    buf = rnd.randbytes(10000)
    pwrite(p, 70000, buf)
    data = bytearray(data)
    apply_write(data, 70000, buf)
    sdel(p, 's')
    want[p] = (bytes(data), 'a file written after a snapshot that was deleted')
    # 4. a clone of a snapshot, then the snapshot deleted
    p, data = new('f4')
    c = clone(snap(p, 's'), 'f4-snapclone')
    sdel(p, 's')
    want[p] = (data, 'a file whose snapshot was cloned and deleted')
    want[c] = (data, 'the clone of that deleted snapshot')
    # 5. a clone whose source file was deleted
    p, data = new('f5')
    c = clone(p, 'f5-clone')
    os.unlink(p)
    want[c] = (data, 'a clone whose source file was deleted')
    # 6. a file whose clone was deleted
    p, data = new('f6')
    os.unlink(clone(p, 'f6-clone'))
    want[p] = (data, 'a file whose clone was deleted')
    # 7. snapshot twice, delete the older
    p, data = new('f7')
    snap(p, 'old')
    buf = rnd.randbytes(5000)
    pwrite(p, 1000, buf)
    data = bytearray(data)
    apply_write(data, 1000, buf)
    sp = snap(p, 'new')
    sdel(p, 'old')
    want[p] = (bytes(data), 'a file whose older snapshot was deleted')
    want[sp] = (bytes(data), 'the newer snapshot of that file')
    # the collector runs every second or so: let it
    time.sleep(6)
    drop_caches()
    good = True
    for p, (data, what) in sorted(want.items()):
        name = 'gc-' + p.replace('/', '_')
        write_model(name, data)
        if same(p, data, name, 'after deletions: ' + what):
            ok('after deletions and the collector: %s reads back' % what)
        else:
            good = False
    return good


# ---------------------------------------------------------------------------
# random operations against a model

def cmd_model(seed, nops):
    rnd = random.Random(seed)
    d = os.path.join(MNT, 'rnd')
    os.makedirs(d, exist_ok=True)
    os.makedirs(MODEL, exist_ok=True)
    MAXSZ = 384 << 10
    files = {}          # name -> {'data': bytearray, 'snaps': {name: bytes}}
    log = []
    counts = {}

    def fpath(f, root=None):
        return os.path.join(root or MNT, 'rnd', f)

    def save(f):
        write_model(f, files[f]['data'])

    def verify(step, root=None, label=''):
        good = True
        for f, st in files.items():
            if not same(fpath(f, root), bytes(st['data']), f,
                        'model step %d%s: file %s' % (step, label, f)):
                good = False
            for s, data in st['snaps'].items():
                if not same(snap_path(fpath(f), s, root), data,
                            '%s@%s' % (f, s),
                            'model step %d%s: snapshot %s of %s' % (
                                step, label, s, f)):
                    good = False
        return good

    def fail_out(step, msg):
        bad('model step %d: %s' % (step, msg))

    # the original
    data = bytearray(rnd.randbytes(200 << 10))
    with open(fpath('orig'), 'wb') as f:
        f.write(data)
    files['orig'] = {'data': data, 'snaps': {}}
    save('orig')
    t0 = time.time()
    step = 0
    for step in range(1, nops + 1):
        live = sorted(files)
        with_snaps = [f for f in live if files[f]['snaps']]
        nsnaps = sum(len(files[f]['snaps']) for f in live)
        ops = ['write'] * 8 + ['trunc'] + ['list']
        if nsnaps < 12:
            ops += ['snap'] * 3
        if len(live) < 6:
            ops += ['clone'] * 2
        if with_snaps:
            ops += ['revert'] * 2 + ['sdel'] * 2 + ['ro']
        if len(live) > 2:
            ops += ['unlink']
        op = rnd.choice(ops)
        f = rnd.choice(live)
        st = files[f]
        desc = op
        if op == 'write':
            off = rnd.randrange(0, MAXSZ)
            k = rnd.random()
            n = (rnd.randint(1, 4096) if k < .5 else
                 rnd.randint(4096, 65536) if k < .85 else
                 rnd.randint(65536, 200 << 10))
            buf = rnd.randbytes(n)
            desc = 'write %s %d+%d' % (f, off, n)
            try:
                pwrite(fpath(f), off, buf)
            except OSError as e:
                fail_out(step, '%s: %s' % (desc, e.strerror))
                break
            apply_write(st['data'], off, buf)
            save(f)
        elif op == 'trunc':
            n = rnd.randrange(0, MAXSZ)
            desc = 'truncate %s %d' % (f, n)
            os.truncate(fpath(f), n)
            if n < len(st['data']):
                del st['data'][n:]
            else:
                st['data'].extend(bytes(n - len(st['data'])))
            save(f)
        elif op == 'snap':
            s = 's%d' % step
            desc = 'snapshot create %s %s' % (f, s)
            rc, out, err = tool('snapshot', 'create', fpath(f), s)
            if rc or not out:
                fail_out(step, 'vdifs-tool %s: exit %d: %s' % (desc, rc, err))
                break
            p = snap_path(fpath(f), s)
            if out.get('path') != p or os.stat(p).st_ino != out.get('ino'):
                fail_out(step, '%s: reported %s, inode %s; %s has inode %d'
                         % (desc, out.get('path'), out.get('ino'), p,
                            os.stat(p).st_ino))
                break
            st['snaps'][s] = bytes(st['data'])
            write_model('%s@%s' % (f, s), st['snaps'][s])
        elif op == 'clone':
            srcs = [(g, None) for g in live] + [
                (g, s) for g in live for s in files[g]['snaps']]
            g, s = rnd.choice(srcs)
            c = 'c%d' % step
            src = fpath(g) if s is None else snap_path(fpath(g), s)
            desc = 'clone %s -> %s' % (src, c)
            rc, out, err = tool('clone', src, fpath(c))
            if rc:
                fail_out(step, 'vdifs-tool %s: exit %d: %s' % (desc, rc, err))
                break
            base = files[g]['data'] if s is None else files[g]['snaps'][s]
            files[c] = {'data': bytearray(base), 'snaps': {}}
            save(c)
        elif op == 'revert':
            f = rnd.choice(with_snaps)
            st = files[f]
            s = rnd.choice(sorted(st['snaps']))
            desc = 'snapshot revert %s %s' % (f, s)
            rc, out, err = tool('snapshot', 'revert', fpath(f), s)
            if rc:
                fail_out(step, 'vdifs-tool %s: exit %d: %s' % (desc, rc, err))
                break
            st['data'] = bytearray(st['snaps'][s])
            save(f)
        elif op == 'sdel':
            f = rnd.choice(with_snaps)
            st = files[f]
            s = rnd.choice(sorted(st['snaps']))
            desc = 'snapshot delete %s %s' % (f, s)
            p = snap_path(fpath(f), s)
            rc, out, err = tool('snapshot', 'delete', fpath(f), s)
            if rc:
                fail_out(step, 'vdifs-tool %s: exit %d: %s' % (desc, rc, err))
                break
            del st['snaps'][s]
            os.unlink(os.path.join(MODEL, '%s@%s' % (f, s)))
            if os.path.exists(p):
                fail_out(step, '%s: %s still exists' % (desc, p))
                break
        elif op == 'ro':
            f = rnd.choice(with_snaps)
            s = rnd.choice(sorted(files[f]['snaps']))
            p = snap_path(fpath(f), s)
            desc = 'open snapshot %s for writing' % p
            try:
                fd = openp(p, os.O_WRONLY)
                os.close(fd)
                fail_out(step, '%s: it opened' % desc)
                break
            except OSError as e:
                if e.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                    fail_out(step, '%s: %s, expected EROFS/EACCES/EPERM'
                             % (desc, ename(e.errno)))
                    break
        elif op == 'unlink':
            cands = [g for g in live if g != 'orig' and not files[g]['snaps']]
            if not cands:
                continue
            f = rnd.choice(cands)
            desc = 'unlink %s' % f
            os.unlink(fpath(f))
            del files[f]
            os.unlink(os.path.join(MODEL, f))
        elif op == 'list':
            desc = 'snapshot list %s' % f
            rc, out, err = tool('snapshot', 'list', fpath(f))
            if rc or out is None:
                fail_out(step, 'vdifs-tool %s: exit %d: %s' % (desc, rc, err))
                break
            got = sorted((e['name'], e['size']) for e in out)
            want = sorted((s, len(v)) for s, v in st['snaps'].items())
            if got != want:
                fail_out(step, '%s: got %s, want %s' % (desc, got, want))
                break
        log.append('%d %s' % (step, desc))
        counts[op] = counts.get(op, 0) + 1
        if step % 10 == 0:
            drop_caches()
        if not verify(step):
            break
        if MNT2 and step % 20 == 0 and not verify(step, MNT2,
                                                  ' (second client)'):
            break
    with open(os.path.join(MODEL, 'ops.log'), 'w') as f:
        f.write('\n'.join(log) + '\n')
    if nfail:
        note('last operations (seed %d):' % seed)
        for line in log[-8:]:
            note('  ' + line)
        return
    ok('model: %d random operations (seed %d: %s) on %d files and %d '
       'snapshots, every file and snapshot equal to its model after '
       'every step (%.0f s)' % (
           nops, seed, ', '.join('%s %d' % kv for kv in sorted(
               counts.items())), len(files),
           sum(len(v['snaps']) for v in files.values()), time.time() - t0))


# ---------------------------------------------------------------------------
# chains of depth 32

def cmd_chain(depth):
    rnd = random.Random(32)
    d = os.path.join(MNT, 'chain')
    os.makedirs(d, exist_ok=True)
    os.makedirs(MODEL, exist_ok=True)

    # a) clone of clone of clone ...
    t0 = time.time()
    names = ['c0']
    model = [bytearray(rnd.randbytes(256 << 10))]
    with open(os.path.join(d, 'c0'), 'wb') as f:
        f.write(model[0])
    for i in range(1, depth + 1):
        src, dst = os.path.join(d, names[-1]), os.path.join(d, 'c%d' % i)
        e = clone_ioctl(src, dst)
        if e:
            bad('chain: clone %s -> %s: %s' % (src, dst, ename(e)))
            return
        data = bytearray(model[-1])
        buf = rnd.randbytes(4096)
        off = i * 4096 + (i % 3) * 100
        pwrite(dst, off, buf)
        apply_write(data, off, buf)
        names.append('c%d' % i)
        model.append(data)
    t1 = time.time()
    good = True
    for n, m in zip(names, model):
        write_model('chain-' + n, m)
        good &= same(os.path.join(d, n), bytes(m), 'chain-' + n,
                     'clone chain, depth %d' % depth)
    drop_caches()
    for n, m in zip(names, model):
        good &= same(os.path.join(d, n), bytes(m), 'chain-' + n,
                     'clone chain after dropping caches')
    # write in the middle: only that one changes
    mid = depth // 2
    buf = rnd.randbytes(8192)
    pwrite(os.path.join(d, names[mid]), 100 << 10, buf)
    apply_write(model[mid], 100 << 10, buf)
    write_model('chain-' + names[mid], model[mid])
    for n, m in zip(names, model):
        good &= same(os.path.join(d, n), bytes(m), 'chain-' + n,
                     'clone chain after writing into c%d' % mid)
    if good:
        ok('chain: %d clones, each of the one before, each with its own '
           'write, all equal to their models; a write into c%d changes only '
           'it (%.1f s to build)' % (depth, mid, t1 - t0))

    # b) snapshot of a clone of a snapshot of a clone ...
    t0 = time.time()
    files = [('a0', bytearray(rnd.randbytes(192 << 10)))]
    snaps = []          # (file, snapshot name, content)
    with open(os.path.join(d, 'a0'), 'wb') as f:
        f.write(files[0][1])
    for i in range(1, depth + 1):
        fname, fdata = files[-1]
        fp = os.path.join(d, fname)
        e, ino = snap_ioctl(fp, SNAP_CREATE, 'v%d' % i)
        if e:
            bad('chain: snapshot %s v%d: %s' % (fp, i, ename(e)))
            return
        snaps.append((fname, 'v%d' % i, bytes(fdata)))
        # the file moves on after its snapshot
        buf = rnd.randbytes(3000)
        pwrite(fp, i * 5000, buf)
        apply_write(fdata, i * 5000, buf)
        sp = snap_path(fp, 'v%d' % i)
        nf = 'a%d' % i
        e = clone_ioctl(sp, os.path.join(d, nf))
        if e:
            bad('chain: clone %s -> %s: %s' % (sp, nf, ename(e)))
            return
        ndata = bytearray(snaps[-1][2])
        buf = rnd.randbytes(4096)
        pwrite(os.path.join(d, nf), (i * 7919) % (180 << 10), buf)
        apply_write(ndata, (i * 7919) % (180 << 10), buf)
        files.append((nf, ndata))
    t1 = time.time()
    good = True
    for k in range(2):
        for n, m in files:
            write_model('chain-' + n, m)
            good &= same(os.path.join(d, n), bytes(m), 'chain-' + n,
                         'snapshot/clone chain')
        for n, s, m in snaps:
            write_model('chain-%s@%s' % (n, s), m)
            good &= same(snap_path(os.path.join(d, n), s), m,
                         'chain-%s@%s' % (n, s), 'snapshot/clone chain')
        drop_caches()
    if good:
        ok('chain: %d levels of snapshot -> clone of the snapshot -> '
           'snapshot of that clone ..., files and snapshots all equal to '
           'their models (%.1f s to build)' % (depth, t1 - t0))
    # revert a file in the middle of the chain to its snapshot
    n, s, m = snaps[mid]
    e, _ = snap_ioctl(os.path.join(d, n), SNAP_REVERT, s, os.O_RDWR)
    if e:
        bad('chain: revert %s to %s: %s' % (n, s, ename(e)))
        return
    write_model('chain-' + n, m)
    good = same(os.path.join(d, n), m, 'chain-' + n,
                'chain: revert of %s to %s' % (n, s))
    for n2, m2 in files:
        if n2 != n:
            good &= same(os.path.join(d, n2), bytes(m2), 'chain-' + n2,
                         'chain: after reverting %s' % n)
    if good:
        ok('chain: reverting %s (level %d) to its snapshot restores it and '
           'leaves the %d others alone' % (n, mid, len(files) - 1))


# ---------------------------------------------------------------------------
# revert

def cmd_revert():
    rnd = random.Random(7)
    d = os.path.join(MNT, 'rev')
    os.makedirs(d, exist_ok=True)
    os.makedirs(MODEL, exist_ok=True)
    p = os.path.join(d, 'r')
    states = {}
    data = bytearray(rnd.randbytes(200 << 10))
    with open(p, 'wb') as f:
        f.write(data)
    good = True
    # three snapshots of different content and size
    for s, grow in (('one', 100 << 10), ('two', 0), ('three', -150 << 10)):
        e, _ = snap_ioctl(p, SNAP_CREATE, s)
        if e:
            bad('revert: snapshot %s: %s' % (s, ename(e)))
            return
        states[s] = bytes(data)
        write_model('rev@' + s, states[s])
        buf = rnd.randbytes(50 << 10)
        off = rnd.randrange(0, 150 << 10)
        pwrite(p, off, buf)
        apply_write(data, off, buf)
        if grow:
            n = max(0, len(data) + grow)
            os.truncate(p, n)
            if n < len(data):
                del data[n:]
            else:
                data.extend(bytes(n - len(data)))
    # an fd kept open across the reverts, with the file in its page cache
    keep = openp(p)
    os.pread(keep, 1 << 20, 0)
    for s in ('one', 'three', 'two', 'one'):
        e, _ = snap_ioctl(p, SNAP_REVERT, s, os.O_RDWR)
        if e:
            bad('revert: revert to %s: %s' % (s, ename(e)))
            good = False
            continue
        write_model('rev', states[s])
        good &= same(p, states[s], 'rev', 'revert to %s' % s)
        got = os.pread(keep, 1 << 20, 0)
        if got != states[s]:
            bad('revert to %s: an fd open from before reads %d bytes of old '
                'content (want %d new)' % (s, len(got), len(states[s])))
            good = False
        if MNT2:
            good &= same(os.path.join(MNT2, 'rev', 'r'), states[s], 'rev',
                         'revert to %s, seen by the second client' % s)
        if os.stat(p).st_size != len(states[s]):
            bad('revert to %s: size %d, want %d' % (
                s, os.stat(p).st_size, len(states[s])))
            good = False
    os.close(keep)
    # the snapshots stay as they were; writing after a revert changes only
    # the file
    buf = rnd.randbytes(10000)
    pwrite(p, 5000, buf)
    cur = bytearray(states['one'])
    apply_write(cur, 5000, buf)
    write_model('rev', cur)
    good &= same(p, bytes(cur), 'rev', 'write after revert')
    drop_caches()
    for s in states:
        good &= same(snap_path(p, s), states[s], 'rev@' + s,
                     'revert: snapshot %s after the reverts' % s)
    if good:
        ok('revert: to each of three snapshots of different sizes, in any '
           'order, seen by an open fd%s; the snapshots stay intact' % (
               ' and a second client' if MNT2 else ''))

    # a clone that is snapshotted, written and reverted (the demo's case)
    b = os.path.join(d, 'base')
    bdata = bytes([0xb0]) * (1 << 20) + bytes([0xb1]) * (1 << 20)
    with open(b, 'wb') as f:
        f.write(bdata)
    c = os.path.join(d, 'desk')
    e = clone_ioctl(b, c)
    if e:
        bad('revert of a clone: clone: %s' % ename(e))
        return
    cdata = bytearray(bdata)
    pwrite(c, 256 << 10, bytes([0xd1]) * (256 << 10))
    apply_write(cdata, 256 << 10, bytes([0xd1]) * (256 << 10))
    e, _ = snap_ioctl(c, SNAP_CREATE, 'before')
    if e:
        bad('revert of a clone: snapshot: %s' % ename(e))
        return
    snapd = bytes(cdata)
    write_model('desk@before', snapd)
    pwrite(c, 1500 << 10, bytes([0xee]) * (200 << 10))
    e, _ = snap_ioctl(c, SNAP_REVERT, 'before', os.O_RDWR)
    if e:
        bad('revert of a clone: revert: %s' % ename(e))
        return
    write_model('desk', snapd)
    good = same(c, snapd, 'desk', 'revert of a clone of a file to its '
                'snapshot')
    drop_caches()
    good &= same(c, snapd, 'desk', 'revert of a clone, after dropping caches')
    good &= same(snap_path(c, 'before'), snapd, 'desk@before',
                 'revert of a clone: the snapshot')
    write_model('base', bdata)
    good &= same(b, bdata, 'base', 'revert of a clone: its base')
    if good:
        ok('revert: a clone of a file, snapshotted, written and reverted, '
           'equals its snapshot')


# ---------------------------------------------------------------------------
# a writer of numbered records, and snapshots of it

def record(i):
    body = (b'%08x' % ((i * 2654435761) & 0xffffffff)) * 512
    return (b'REC %010d ' % i + body)[:4095] + b'\n'


def cmd_writer(path, ackfile, stopfile, maxsecs, direct=False):
    """records with an fsync each; direct: O_DIRECT, as QEMU's cache=none"""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    if direct:
        flags |= os.O_DIRECT
        buf = mmap.mmap(-1, 4096)       # page aligned, as O_DIRECT wants
    fd = os.open(path, flags, 0o644)
    ack = os.open(ackfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwrite(ack, b'%10d\n' % 0, 0)
    t0 = time.time()
    i = 0
    while not os.path.exists(stopfile) and time.time() - t0 < maxsecs:
        r = record(i)
        if direct:
            buf[:] = r
            r = buf
        if os.write(fd, r) != len(r):
            print('writer: short write', flush=True)
            sys.exit(1)
        os.fsync(fd)
        i += 1
        os.pwrite(ack, b'%10d\n' % i, 0)
    os.close(fd)
    os.close(ack)
    print('writer: %d records in %.1f s' % (i, time.time() - t0), flush=True)


def check_records(path, acked, what):
    """(ok, k): path holds records 0..k-1 intact, k >= acked"""
    try:
        data = read_all(path)
    except OSError as e:
        bad('%s: read %s: %s' % (what, path, e.strerror))
        return False, 0
    k = len(data) // 4096
    if len(data) % 4096:
        bad('%s: size %d is not a whole number of 4 KiB records (torn '
            'record)' % (what, len(data)))
        return False, k
    wrong = [i for i in range(k) if data[i * 4096:(i + 1) * 4096] != record(i)]
    if wrong:
        runs, start = [], wrong[0]
        for a, b in zip(wrong, wrong[1:] + [None]):
            if b != a + 1:
                runs.append('%d' % start if a == start else
                            '%d-%d' % (start, a))
                start = b
        first = data[wrong[0] * 4096:wrong[0] * 4096 + 16]
        msg = '%s: %d of %d records wrong (%s; the first starts %r)' % (
            what, len(wrong), k, ' '.join(runs[:20]), first)
        bad(msg)
        return False, k
    if k < acked:
        bad('%s: %d records, but %d were acknowledged (fsync) before the '
            'snapshot' % (what, k, acked))
        return False, k
    return True, k


def cmd_records(path, *snaps):
    good = True
    ks = []
    for a in snaps:
        name, acked = a.split(':')
        r, k = check_records(snap_path(path, name), int(acked),
                             'concurrent writer: snapshot %s' % name)
        good &= r
        ks.append('%s:%d>=%s' % (name, k, acked))
    note('concurrent writer: records in each snapshot (k >= acknowledged): '
         + ' '.join(ks))
    total = int(open(os.environ['ACKFILE']).read())
    r, k = check_records(path, total, 'concurrent writer: the file')
    good &= r
    if good:
        ok('concurrent writer (%s): %d snapshots taken while records were '
           'being appended with fsync each hold records 0..k-1 intact, k at '
           'least the acknowledged count (%s); the file has all %d' % (
               os.path.basename(path), len(snaps), ' '.join(ks), k))


# ---------------------------------------------------------------------------
# FICLONE / FICLONERANGE

def cmd_ficlone(src):
    good = True
    data = read_all(src)
    write_model('refl-src', data)
    d = os.path.dirname(src)
    dst = os.path.join(d, 'ficlone-range')
    s = openp(src)
    t = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    # whole file: offsets 0, length 0 (= to the end)
    e, _ = ioc(t, FICLONERANGE, struct.pack('qQQQ', s, 0, 0, 0))
    if e:
        bad('FICLONERANGE of the whole file: %s' % ename(e))
        good = False
    else:
        os.close(t)
        t = os.open(dst, os.O_WRONLY)
        good &= same(dst, data, 'refl-src', 'FICLONERANGE whole file')
    # a part at another offset within a chunk: nothing can be shared
    e, _ = ioc(t, FICLONERANGE, struct.pack('qQQQ', s, 4096, 4096, 0))
    if e != errno.EINVAL:
        bad('FICLONERANGE of a part to another offset within a chunk: %s, '
            'expected EINVAL' % ename(e))
        good = False
    # onto itself
    e, _ = ioc(s, FICLONE, struct.pack('i', s))
    if e not in (errno.EINVAL, errno.EBADF, errno.EOPNOTSUPP):
        bad('FICLONE of a file onto itself: %s, expected EINVAL or EBADF'
            % ename(e))
        good = False
    os.close(t)
    # a target opened read-only
    t = openp(dst)
    e = ioc_ptr(t, FICLONE, s)
    if e != errno.EBADF:
        bad('FICLONE into a read-only fd: %s, expected EBADF' % ename(e))
        good = False
    os.close(t)
    os.close(s)
    if good:
        ok('FICLONERANGE: whole file clones; a part to another offset '
           'within a chunk, onto itself and into a read-only fd refused')


CS = 64 * 1024      # the test volume's chunk size


def clone_range(src, soff, dst, doff, length):
    s = openp(src)
    t = openp(dst, os.O_WRONLY)
    try:
        e, _ = ioc(t, FICLONERANGE, struct.pack('qQQQ', s, soff, length,
                                                  doff))
    finally:
        os.close(s)
        os.close(t)
    return e


def model_range(dm, sm, soff, doff, length):
    if length == 0:
        length = len(sm) - soff
    end = doff + length
    if len(dm) < end:
        dm = dm + bytes(end - len(dm))
    return dm[:doff] + sm[soff:soff + length] + dm[end:]


def cmd_clonerange(d):
    """FICLONERANGE by whole chunks against a model"""
    rnd = random.Random(int(os.environ.get('SEED', '1')) + 77)
    good = True
    src = os.path.join(d, 'cr-src')
    dst = os.path.join(d, 'cr-dst')
    # the source: 10 chunks and a partial one, chunk 3 a hole
    sm = bytearray(rnd.randbytes(10 * CS + 12345))
    sm[3 * CS:4 * CS] = bytes(CS)
    sm = bytes(sm)
    with open(src, 'wb') as f:
        f.write(sm[:3 * CS])
        f.seek(4 * CS)
        f.write(sm[4 * CS:])
    dm = rnd.randbytes(6 * CS + 999)
    with open(dst, 'wb') as f:
        f.write(dm)
    steps = []
    cloned = 0
    for i in range(30):
        kind = rnd.choice(['mid', 'edge', 'edge', 'tail', 'snap', 'bad'])
        if kind == 'tail':
            soff = rnd.randrange(0, 11) * CS
            length = len(sm) - soff
            doff = ((len(dm) + CS - 1) // CS) * CS - rnd.choice([0, CS])
            doff = max(doff, 0)
            if doff + length < len(dm):
                doff += CS
        elif kind == 'edge':
            # the same offset within a chunk in both: whole chunks shared,
            # the pages before and after copied
            p = rnd.randrange(0, CS // 4096) * 4096
            soff = rnd.randrange(0, 9) * CS + p
            doff = rnd.randrange(0, 8) * CS + p
            length = rnd.randrange(1, (len(sm) - soff) // 4096) * 4096
        elif kind == 'bad':
            soff, doff, length = rnd.choice([
                (4096, 0, CS), (0, 4096, CS), (1, 1, 4096),
                (0, 0, CS + 1), (CS, 0, len(sm)), (len(sm) + CS, 0, CS)])
        else:
            soff = rnd.randrange(0, 10) * CS
            length = rnd.randrange(1, 11 - soff // CS) * CS
            doff = rnd.randrange(0, 9) * CS
        what = '%s: src %d +%d -> dst %d' % (kind, soff, length, doff)
        steps.append(what)
        sname = src
        if kind == 'snap':
            n = 'cr%d' % i
            e, _ = snap_ioctl(src, SNAP_CREATE, n)
            if e:
                bad('FICLONERANGE: snapshot %s: %s' % (n, ename(e)))
                return
            sname = snap_path(src, n)
        e = clone_range(sname, soff, dst, doff, length)
        if kind == 'bad':
            if e != errno.EINVAL:
                bad('FICLONERANGE %s: %s, expected EINVAL' % (what,
                                                             ename(e)))
                good = False
        elif e:
            bad('FICLONERANGE %s: %s' % (what, ename(e)))
            good = False
        else:
            dm = model_range(dm, sm, soff, doff, length)
            cloned += 1
            # whole chunks are shared, not copied (before the writes below)
            rc, out, err = tool('du', dst)
            if soff % CS == 0 and length >= CS and (
                    rc or not out or not out[0].get('shared')):
                bad('FICLONERANGE %s: du of dst shows nothing shared: %s %s'
                    % (what, out, err))
                good = False
        # both files go on independently: write into each, then compare
        off = rnd.randrange(0, len(dm))
        patch = rnd.randbytes(rnd.randrange(1, 3 * 4096))
        pwrite(dst, off, patch)
        dm = dm[:off] + patch + dm[off + len(patch):]
        off = rnd.randrange(0, len(sm) - 5000)
        patch = rnd.randbytes(rnd.randrange(1, 5000))
        pwrite(src, off, patch)
        sm = sm[:off] + patch + sm[off + len(patch):]
        if rnd.randrange(3) == 0:
            drop_caches()
        good &= same(dst, dm, 'cr-dst', 'FICLONERANGE %s: dst' % what)
        good &= same(src, sm, 'cr-src', 'FICLONERANGE %s: src' % what)
        if MNT2:
            good &= same(os.path.join(MNT2, os.path.relpath(dst, MNT)), dm,
                         'cr-dst', 'FICLONERANGE %s: dst, 2nd client'
                         % what)
        if not good:
            note('steps: ' + '; '.join(steps))
            return
    ok('FICLONERANGE, %d random steps, %d clones (whole chunks and ranges '
       'with partial chunks at either end, from the live file and its '
       'snapshots, to the middle and past the end, holes, bad ranges '
       'refused): shared per du, both files match their models, also after '
       'writes to each, dropped caches and through a second client'
       % (len(steps), cloned))


# ---------------------------------------------------------------------------
# bad arguments

def expect(what, got, want):
    if got in want:
        ok('%s: %s' % (what, ename(got)))
        return True
    bad('%s: got %s, expected %s' % (what, ename(got),
                                     '/'.join(ename(w) for w in want)))
    return False


def cmd_badargs(file, otherfs, othervol):
    EINVAL, ENAMETOOLONG = errno.EINVAL, errno.ENAMETOOLONG
    d = os.path.dirname(file)
    fd = openp(file)
    wfd = openp(file, os.O_RDWR)
    for req, nm in ((SNAP_CREATE, 'SNAP_CREATE'), (SNAP_DELETE, 'SNAP_DELETE'),
                    (SNAP_REVERT, 'SNAP_REVERT')):
        f = fd if req == SNAP_CREATE else wfd
        expect('%s name without NUL (256 bytes)' % nm,
               ioc(f, req, snap_buf(b'a' * 256))[0], (ENAMETOOLONG, EINVAL))
        expect('%s empty name' % nm, ioc(f, req, snap_buf(b''))[0],
               (EINVAL,))
        expect('%s name with /' % nm, ioc(f, req, snap_buf('a/b'))[0],
               (EINVAL,))
        for n in ('.', '..'):
            expect('%s name %r' % (nm, n), ioc(f, req, snap_buf(n))[0],
                   (EINVAL,))
        for i in range(3):
            r = [0, 0, 0]
            r[i] = 1 << (7 * i)
            expect('%s reserved[%d] nonzero' % (nm, i),
                   ioc(f, req, snap_buf('ok', tuple(r)))[0], (EINVAL,))
        expect('%s NULL argument' % nm, ioc_ptr(f, req, 0), (errno.EFAULT,))
    # the ioctls left nothing behind
    names = [e[0] for e in snap_list(file)]
    if names:
        bad('bad SNAP_CREATE arguments left snapshots: %s' % names)
    expect('SNAP_CREATE duplicate name',
           (ioc(fd, SNAP_CREATE, snap_buf('dup'))[0] or
            ioc(fd, SNAP_CREATE, snap_buf('dup'))[0]), (errno.EEXIST,))
    expect('SNAP_DELETE of no such snapshot',
           ioc(wfd, SNAP_DELETE, snap_buf('nosuch'))[0], (errno.ENOENT,))
    expect('SNAP_REVERT to no such snapshot',
           ioc(wfd, SNAP_REVERT, snap_buf('nosuch'))[0], (errno.ENOENT,))
    # they change the file: not through a read-only descriptor
    expect('SNAP_DELETE through a read-only fd',
           ioc(fd, SNAP_DELETE, snap_buf('dup'))[0], (errno.EBADF,))
    expect('SNAP_REVERT through a read-only fd',
           ioc(fd, SNAP_REVERT, snap_buf('dup'))[0], (errno.EBADF,))
    dfd = openp(d, os.O_RDONLY | os.O_DIRECTORY)
    expect('SNAP_CREATE on a directory', ioc(dfd, SNAP_CREATE,
                                             snap_buf('x'))[0],
           (EINVAL, errno.EISDIR, errno.ENOTTY))
    expect('SNAP_LIST on a directory', ioc(dfd, SNAP_LIST,
                                           bytes(40))[0],
           (EINVAL, errno.EISDIR, errno.ENOTTY))
    sp = snap_path(file, 'dup')
    sfd = openp(sp)
    e = ioc(sfd, SNAP_CREATE, snap_buf('x'))[0]
    note('SNAP_CREATE on a snapshot: %s' % ename(e))
    expect('SNAP_REVERT through a snapshot\'s fd',
           ioc(sfd, SNAP_REVERT, snap_buf('dup'))[0],
           (EINVAL, errno.EROFS, errno.EPERM, errno.EACCES, errno.ENOENT,
            errno.EBADF))

    # SNAP_LIST
    buf = ctypes.create_string_buffer(288 * 4)
    expect('SNAP_LIST count 1025',
           ioc(fd, SNAP_LIST, struct.pack('QQII2Q', 0, ctypes.addressof(buf),
                                          1025, 0, 0, 0))[0], (EINVAL,))
    expect('SNAP_LIST reserved nonzero',
           ioc(fd, SNAP_LIST, struct.pack('QQII2Q', 0, ctypes.addressof(buf),
                                          4, 0, 0, 9))[0], (EINVAL,))
    expect('SNAP_LIST entries NULL',
           ioc(fd, SNAP_LIST, struct.pack('QQII2Q', 0, 0, 4, 0, 0, 0))[0],
           (errno.EFAULT,))
    expect('SNAP_LIST entries at a bad address',
           ioc(fd, SNAP_LIST, struct.pack('QQII2Q', 0, 0xdead0000, 4, 0, 0,
                                          0))[0], (errno.EFAULT,))
    e, out = ioc(fd, SNAP_LIST, struct.pack('QQII2Q', 0, ctypes.addressof(buf),
                                            0, 0, 0, 0))
    note('SNAP_LIST with room for 0 entries: %s%s' % (
        ename(e), '' if e else ', count %d eof %d' % struct.unpack_from(
            'II', out, 16)))

    # CLONE
    def clone(dirfd, name, flags=0, reserved=(0, 0), src=fd):
        return ioc(src, CLONE, clone_buf(dirfd, name, flags, reserved))[0]

    expect('CLONE flags nonzero', clone(dfd, 'x1', flags=1), (EINVAL,))
    expect('CLONE reserved[0] nonzero', clone(dfd, 'x1', reserved=(1, 0)),
           (EINVAL,))
    expect('CLONE reserved[1] nonzero', clone(dfd, 'x1', reserved=(0, 1)),
           (EINVAL,))
    expect('CLONE name without NUL', clone(dfd, b'b' * 256),
           (ENAMETOOLONG, EINVAL))
    expect('CLONE empty name', clone(dfd, b''), (EINVAL,))
    expect('CLONE name with /', clone(dfd, 'a/b'), (EINVAL,))
    expect('CLONE name ..', clone(dfd, '..'), (EINVAL,))
    expect('CLONE dst_dirfd -1', clone(-1, 'x1'), (errno.EBADF,))
    expect('CLONE dst_dirfd 9999 (not open)', clone(9999, 'x1'),
           (errno.EBADF,))
    expect('CLONE dst_dirfd a regular file', clone(fd, 'x1'),
           (errno.ENOTDIR,))
    ofd = openp(otherfs, os.O_RDONLY | os.O_DIRECTORY)
    expect('CLONE dst_dirfd on another file system (%s)' % otherfs,
           clone(ofd, 'x1'), (errno.EXDEV,))
    if othervol:
        vfd = openp(othervol, os.O_RDONLY | os.O_DIRECTORY)
        expect('CLONE dst_dirfd on another vdifs volume',
               clone(vfd, 'x1'), (errno.EXDEV,))
        os.close(vfd)
    expect('CLONE onto an existing name', clone(dfd, os.path.basename(file)),
           (errno.EEXIST,))
    sdir = openp(os.path.dirname(sp), os.O_RDONLY | os.O_DIRECTORY)
    expect('CLONE into the snapshot directory', clone(sdir, 'x1'),
           (errno.EROFS, errno.EPERM, errno.EACCES, EINVAL))
    os.close(sdir)
    expect('CLONE of a directory', clone(dfd, 'x1', src=dfd),
           (EINVAL, errno.EISDIR, errno.ENOTTY))
    expect('CLONE NULL argument', ioc_ptr(fd, CLONE, 0), (errno.EFAULT,))
    # AT_FDCWD: relative to the caller's directory
    cwd = os.getcwd()
    os.chdir(otherfs)
    expect('CLONE AT_FDCWD with the cwd on another file system',
           clone(AT_FDCWD, 'x2'), (errno.EXDEV,))
    os.chdir(d)
    e = clone(AT_FDCWD, 'x-cwd')
    os.chdir(cwd)
    if expect('CLONE AT_FDCWD with the cwd in the volume', e, (0,)):
        if read_all(os.path.join(d, 'x-cwd')) != read_all(file):
            bad('CLONE AT_FDCWD: the clone differs from its source')
        os.unlink(os.path.join(d, 'x-cwd'))
    for n in ('x1', 'x2'):
        if os.path.exists(os.path.join(d, n)):
            bad('a refused CLONE left %s behind' % n)

    # SPACE, layouts, unknown
    expect('SPACE on a directory', ioc(dfd, SPACE, bytes(64))[0],
           (EINVAL, errno.EISDIR, errno.ENOTTY))
    expect('SPACE NULL argument', ioc_ptr(fd, SPACE, 0), (errno.EFAULT,))
    nd = os.path.join(d, 'lay')
    os.makedirs(nd, exist_ok=True)
    lfd = openp(nd, os.O_RDONLY | os.O_DIRECTORY)
    expect('SETLAYOUT pad nonzero', ioc(lfd, SETLAYOUT,
                                        layout_buf(pad=1))[0], (EINVAL,))
    expect('SETLAYOUT reserved nonzero',
           ioc(lfd, SETLAYOUT, layout_buf(reserved=(0, 0, 0, 0, 1)))[0],
           (EINVAL,))
    for what, kw in (('chunk size 3 MiB', dict(cs=3 << 20)),
                     ('chunk size 4 KiB', dict(cs=4096)),
                     ('chunk size 2 GiB', dict(cs=2 << 30)),
                     ('extent size 3 KiB', dict(es=3072)),
                     ('extent larger than the chunk',
                      dict(cs=64 << 10, es=1 << 20)),
                     ('replicas 9', dict(rep=9)),
                     ('repl_mode 7', dict(mode=7))):
        expect('SETLAYOUT %s' % what, ioc(lfd, SETLAYOUT,
                                          layout_buf(**kw))[0],
               (EINVAL, errno.ERANGE))
    e, out = ioc(lfd, GETLAYOUT, bytes(32))
    if e:
        bad('GETLAYOUT after refused SETLAYOUTs: %s' % ename(e))
    expect('SETLAYOUT on a file with data',
           ioc(wfd, SETLAYOUT, layout_buf(cs=128 << 10))[0],
           (errno.EBUSY, EINVAL, errno.ETXTBSY, errno.EEXIST, errno.EPERM,
            errno.EROFS, errno.ENOTEMPTY))
    expect('unknown vdifs ioctl', ioc(fd, _ioc(3, 99, 8), bytes(8))[0],
           (errno.ENOTTY,))
    os.close(lfd)
    os.close(sfd)
    os.close(ofd)
    os.close(dfd)
    os.close(wfd)
    os.close(fd)
    # still working
    e, _ = snap_ioctl(file, SNAP_DELETE, 'dup', os.O_RDWR)
    if e or snap_list(file):
        bad('after the bad arguments: delete the one snapshot: %s' % ename(e))
    else:
        ok('after the bad arguments the file and its snapshots work')


# ---------------------------------------------------------------------------
# raw ioctls on an inherited fd (permission cases)

def cmd_fdioctl(fdnum, op, name):
    req = {'create': SNAP_CREATE, 'delete': SNAP_DELETE,
           'revert': SNAP_REVERT}[op]
    e = ioc(int(fdnum), req, snap_buf(name))[0]
    print(ename(e))


def cmd_ficlone_into(src, dst):
    """FICLONE src into dst opened for writing as it is (no O_TRUNC)"""
    s = os.open(src, os.O_RDONLY)
    t = os.open(dst, os.O_WRONLY)
    e = ioc_ptr(t, FICLONE, s)
    os.close(t)
    os.close(s)
    print(ename(e))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        run(cmd, args)
    except Exception as e:
        import traceback
        traceback.print_exc()
        bad('%s: the helper stopped: %s: %s' % (cmd, type(e).__name__, e))
    sys.exit(1 if nfail else 0)


def run(cmd, args):
    if cmd == 'model':
        cmd_model(int(args[0]), int(args[1]))
    elif cmd == 'gc':
        cmd_gc()
    elif cmd == 'chain':
        cmd_chain(int(args[0]))
    elif cmd == 'revert':
        cmd_revert()
    elif cmd == 'clonerange':
        cmd_clonerange(args[0])
    elif cmd == 'writer':
        cmd_writer(args[0], args[1], args[2], float(args[3]),
                   len(args) > 4 and args[4] == 'direct')
    elif cmd == 'records':
        cmd_records(*args)
    elif cmd == 'ficlone':
        cmd_ficlone(args[0])
    elif cmd == 'badargs':
        cmd_badargs(*args)
    elif cmd == 'fdioctl':
        cmd_fdioctl(*args)
    elif cmd == 'ficlone_into':
        cmd_ficlone_into(*args)
    elif cmd == 'space':
        print(json.dumps(space(args[0])))
    else:
        raise ValueError('unknown command ' + cmd)


main()
PYEOF
chmod 644 "$HELPER"
# py CMD ARGS: the helper prints its own PASS/FAIL lines
py() {
	"$PY" "$HELPER" "$@" || failed_too
}
# shellcheck disable=SC2034 # lib.sh's finish reads it
failed_too() { vdifs_failed=1; }

# ---- helpers ----

ms_now() { date +%s%3N; }

# jcheck JQ-EXPR CMD...: CMD prints JSON for which JQ-EXPR is true
jcheck() {
	local expr=$1 j
	shift
	j=$("$@") && [ -n "$j" ] && jq -e "$expr" <<<"$j" >/dev/null
}

# du FILE FIELD: one number of vdifs-tool du --json
du_f() { "$TOOL" --json du "$1" | jq -r ".[0].$2"; }

# tool_err WHAT EXPECT-RE CMD...: vdifs-tool must exit 1 and say EXPECT-RE
tool_err() {
	local what=$1 re=$2 out rc
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" = 1 ] && grep -qE -- "$re" <<<"$out"; then
		pass "$what: '$(tail -n 1 <<<"$out")'"
	else
		fail "$what: exit $rc, '$out' (expected exit 1 and /$re/)"
	fi
}

save_logs() {
	local f
	[ -n "${VDIFS_RESULTS:-}" ] || return 0
	for f in "$CLUSTER_DIR"/*/log; do
		[ -f "$f" ] && cp "$f" "$VDIFS_RESULTS/$(basename "$(dirname "$f")").log"
	done
	[ -f "$MODEL/ops.log" ] && cp "$MODEL/ops.log" "$VDIFS_RESULTS/"
}

# ---- the cluster: a volume with 64 KiB chunks, mounted twice ----

MOUNT_OPTS=actimeo=0
cluster_start
"$TOOL" volume create snap --chunk-size 64K --extent-size 4K --replicas 3 \
	>/dev/null ||
	fail "create a volume with 64 KiB chunks"
mkdir -p /mnt/vdifs-other
mount -t vdifs -o "$MOUNT_OPTS" "$SOURCE" /mnt/vdifs-other ||
	fail "mount the default volume too"
umount "$MNT"
SOURCE=${SOURCE%/*}/snap
mount -t vdifs -o "$MOUNT_OPTS" "$SOURCE" "$MNT" || { fail "mount snap"; finish; }
mount_second
T0=$(ms_now)

# ---- vdifs-tool on a file ----

F=$MNT/tool.img
head -c 300K /dev/urandom >"$F"
cp "$F" "$MODEL/tool"
ino=$(stat -c %i "$F")
out=$("$TOOL" snapshot create "$F" first 2>/tmp/err)
check "vdifs-tool snapshot create prints the snapshot" \
	grep -q "created snapshot first of $F: inode [0-9]*, $MNT/.vdifs-snapshots/$ino/first" <<<"$out"
check "vdifs-tool snapshot create: a progress line on stderr" \
	grep -qE "^snapshotting $F as first \.\.\. done in [0-9]+ ms" /tmp/err
check "the snapshot equals the file" cmp "$F" "$MNT/.vdifs-snapshots/$ino/first"
check "the snapshot through the second client" \
	cmp "$MODEL/tool" "$MNT2/.vdifs-snapshots/$ino/first"
dd if=/dev/urandom of="$F" bs=4k seek=10 count=20 conv=notrunc status=none
check "the file changed" bash -c "! cmp -s $F $MODEL/tool"
check "the snapshot did not" cmp "$MODEL/tool" "$MNT/.vdifs-snapshots/$ino/first"
check "vdifs-tool snapshot list --json" jcheck \
	'length == 1 and .[0].name == "first" and .[0].size == 307200' \
	"$TOOL" snapshot list --json "$F"
check "vdifs-tool snapshot list (text)" bash -c \
	"$TOOL snapshot list $F | grep -q '^first .* 300K .*$MNT/.vdifs-snapshots/$ino/first'"
tool_err "snapshot create, a name taken" \
	"^vdifs-tool: snapshot create $F first: File exists$" \
	"$TOOL" snapshot create "$F" first
tool_err "snapshot delete, no such snapshot" \
	"^vdifs-tool: snapshot delete $F nope: No such file or directory$" \
	"$TOOL" snapshot delete "$F" nope
tool_err "snapshot of a file not on vdifs" "not on a vdifs file system" \
	"$TOOL" snapshot create /etc/hostname x
tool_err "snapshot of a directory" "^vdifs-tool: snapshot create $MNT x: " \
	"$TOOL" snapshot create "$MNT" x
check "vdifs-tool usage error exits 2" bash -c \
	"$TOOL snapshot create $F 'a/b' 2>/dev/null; [ \$? = 2 ]"
check "vdifs-tool snapshot --help" bash -c "$TOOL snapshot create --help | grep -q usage"
check "snapshot is read-only: no writing" bash -c \
	"! echo x 2>/dev/null >>$MNT/.vdifs-snapshots/$ino/first"
check "snapshot is read-only: no truncate" bash -c \
	"! truncate -s 0 $MNT/.vdifs-snapshots/$ino/first 2>/dev/null"
check "snapshot area: no unlink" bash -c \
	"! rm -f $MNT/.vdifs-snapshots/$ino/first 2>/dev/null && test -f $MNT/.vdifs-snapshots/$ino/first"
check "snapshot area: no new files" bash -c \
	"! touch $MNT/.vdifs-snapshots/$ino/new 2>/dev/null"
check "snapshot area: no rename" bash -c \
	"! mv $MNT/.vdifs-snapshots/$ino/first $MNT/stolen 2>/dev/null"
out=$("$TOOL" clone "$MNT/.vdifs-snapshots/$ino/first" "$MNT/from-snap.img" 2>/tmp/err)
check "vdifs-tool clone of a snapshot" cmp "$MODEL/tool" "$MNT/from-snap.img"
check "vdifs-tool clone: progress line" \
	grep -qE "^cloning $MNT/.vdifs-snapshots/$ino/first -> $MNT/from-snap.img \.\.\. done in [0-9]+ ms" /tmp/err
mkdir "$MNT/desks"
cp "$F" "$MODEL/tool-desk"
check "vdifs-tool clone into a directory" "$TOOL" -q clone "$F" "$MNT/desks/"
check "... named after the source" cmp "$MODEL/tool-desk" "$MNT/desks/tool.img"
tool_err "clone onto an existing file" "File exists" \
	"$TOOL" clone "$F" "$MNT/from-snap.img"
tool_err "clone to another file system" "Invalid cross-device link" \
	"$TOOL" clone "$F" /tmp/x.img
check "vdifs-tool snapshot revert" "$TOOL" -q snapshot revert "$F" first
check "... the file is the snapshot again" cmp "$MODEL/tool" "$F"
check "vdifs-tool snapshot delete" "$TOOL" -q snapshot delete "$F" first
check "... gone from the snapshot area" test ! -e "$MNT/.vdifs-snapshots/$ino/first"
check "... and from the list" jcheck 'length == 0' "$TOOL" --json snapshot list "$F"
check "the clone of the deleted snapshot is intact" cmp "$MODEL/tool" "$MNT/from-snap.img"
# the collector works in the background: give it time, then read from the
# servers again
sleep 5
echo 3 >/proc/sys/vm/drop_caches
check "once the snapshot's chunks are collected: the file reads back" \
	cmp "$MODEL/tool" "$F"
check "... and the clone of the deleted snapshot" \
	cmp "$MODEL/tool" "$MNT/from-snap.img"
check "... and the clone of the file" cmp "$MODEL/tool-desk" "$MNT/desks/tool.img"

# layouts
mkdir "$MNT/lay"
check "vdifs-tool setattr on a directory" "$TOOL" setattr "$MNT/lay" \
	--chunk-size 128K --extent-size 8K --replicas 2 --mode async
check "vdifs-tool getattr shows it" jcheck \
	'.chunk_size == 131072 and .extent_size == 8192 and .replicas == 2 and .mode == "async"' \
	"$TOOL" --json getattr "$MNT/lay"
echo data >"$MNT/lay/f"
check "a new file inherits the directory's layout" bash -c \
	"$TOOL getattr $MNT/lay/f | grep -q 'chunk 128K, extent 8K, replicas 2, async'"
check "vdifs-tool setattr on a new file creates it" "$TOOL" setattr \
	"$MNT/lay/new" --chunk-size 1M --replicas 1
check "... with its layout" bash -c \
	"$TOOL getattr $MNT/lay/new | grep -q 'chunk 1M, extent 8K, replicas 1, async'"
check "... and it works" bash -c \
	"head -c 3M /dev/urandom >/tmp/lay && cp /tmp/lay $MNT/lay/new && cmp /tmp/lay $MNT/lay/new"
tool_err "setattr on a file with data" "^vdifs-tool: setattr $MNT/lay/new: " \
	"$TOOL" setattr "$MNT/lay/new" --chunk-size 256K
tool_err "setattr --extent-size adaptive where it is not" "cannot be set back to adaptive" \
	"$TOOL" setattr "$MNT/lay" --extent-size adaptive
check "setattr with a bad size is a usage error" bash -c \
	"$TOOL setattr $MNT/lay --chunk-size 3M 2>/dev/null; [ \$? = 2 ]"

# ---- space: du and df as data is shared, diverges and is deleted ----

u0=$(settle)
S=$MNT/space.img
dd if=/dev/urandom of="$S" bs=1M count=4 conv=fsync status=none
a=$(du_f "$S" allocated)
check "du: a new 4 MiB file: allocated 4 MiB, all unique ($("$TOOL" du "$S" | tail -n 1))" \
	bash -c "[ $a = $((4 << 20)) ] && [ $(du_f "$S" unique) = $a ] && [ $(du_f "$S" shared) = 0 ]"
u1=$(settle)
d1=$((u1 - u0))
check "df: used space grew with the file (by $d1 bytes)" test "$d1" -ge $((4 << 20))
slack=$((d1 / 10 > (3 << 20) ? d1 / 10 : 3 << 20))
"$TOOL" -q snapshot create "$S" s || fail "snapshot space.img"
sino=$(stat -c %i "$S")
SS=$MNT/.vdifs-snapshots/$sino/s
check "du: after a snapshot the file's data is all shared ($("$TOOL" du "$S" | tail -n 1))" \
	bash -c "[ $(du_f "$S" unique) = 0 ] && [ $(du_f "$S" shared) = $((4 << 20)) ]"
check "du: the snapshot has the 4 MiB" test "$(du_f "$SS" allocated)" = $((4 << 20))
"$TOOL" -q clone "$S" "$MNT/space-clone.img" || fail "clone space.img"
C=$MNT/space-clone.img
check "du: a fresh clone shares all ($("$TOOL" du "$C" | tail -n 1))" \
	bash -c "[ $(du_f "$C" unique) = 0 ] && [ $(du_f "$C" shared) = $((4 << 20)) ]"
u2=$(settle)
check "df: snapshot and clone took (almost) no space ($((u2 - u1)) bytes)" \
	test $((u2 - u1)) -le "$slack"
dd if=/dev/urandom of="$C" bs=1M seek=1 count=1 conv=notrunc,fsync status=none
check "du: 1 MiB written into the clone is its own ($("$TOOL" du "$C" | tail -n 1))" \
	bash -c "within() { [ \$1 -ge \$2 ] && [ \$1 -le \$3 ]; }; within $(du_f "$C" unique) $((1 << 20)) $((1 << 20)) &&
		within $(du_f "$C" shared) $((3 << 20)) $((3 << 20))"
check "du: the file's numbers did not move" \
	bash -c "[ $(du_f "$S" unique) = 0 ] && [ $(du_f "$S" shared) = $((4 << 20)) ]"
dd if=/dev/urandom of="$S" bs=64k seek=40 count=8 conv=notrunc,fsync status=none
check "du: 512 KiB written into the file are its own ($("$TOOL" du "$S" | tail -n 1))" \
	test "$(du_f "$S" unique)" = $((512 << 10))
u3=$(settle)
check "df: the clone's and the file's new data took space ($((u3 - u2)) bytes)" \
	test $((u3 - u2)) -gt $((d1 / 4))
rm "$C"
"$TOOL" -q snapshot delete "$S" s || fail "delete the snapshot"
# the clone's own 1 MiB goes; the snapshot's data stays under the file
want=$((u3 - d1 / 8))
t=$(ms_now)
for ((i = 0; i < 90; i++)); do
	[ "$(used)" -le "$want" ] && break
	sleep 1
done
check "df: deleting the clone and the snapshot frees the clone's data ($((u3 - $(used))) bytes in $(($(ms_now) - t)) ms)" \
	test "$(used)" -le "$want"
# nothing shares the file's data any more: deleting it would free all of it
for ((i = 0; i < 30; i++)); do
	[ "$(du_f "$S" shared)" = 0 ] && break
	sleep 1
done
check "du: with the snapshot and the clone gone, the file's data is all its own again ($("$TOOL" du "$S" | tail -n 1))" \
	bash -c "[ $(du_f "$S" unique) = $((4 << 20)) ] && [ $(du_f "$S" shared) = 0 ]"
rm "$S"
t=$(ms_now)
for ((i = 0; i < 90; i++)); do
	[ "$(used)" -le $((u0 + slack)) ] && break
	sleep 1
done
what="df: deleting the file too, used space returns to where it was ($(($(used) - u0)) bytes above, $(($(ms_now) - t)) ms)"
if [ "$(used)" -le $((u0 + slack)) ]; then
	pass "$what"
else
	fail "$what"
	# what is left on the data servers
	"$TOOL" status | sed 's/^/    /'
	for d in "$CLUSTER_DIR"/ds*/data; do
		echo "    $d: $(du -sk "$d" | cut -f1) KiB in $(find "$d" -type f | wc -l) files; largest:"
		find "$d" -type f -printf '%k KiB %p\n' | sort -rn | head -n 4 | sed 's/^/      /'
	done
fi

# ---- deletions: what stays reads back after the collector ----

py gc

# ---- random operations against the model ----

py model "$SEED" "$OPS"

# ---- chains of depth 32 ----

py chain 32

# ---- revert ----

py revert

# ---- a writer appending records while snapshots are taken ----
# Twice buffered: the open() of each snapshot races the writer's size
# updates (a stale smaller size once made netfs zero a just-written page in
# the cache); once with O_DIRECT, as QEMU with cache=none writes.

export ACKFILE=/tmp/vdifs-acked
for W in "$MNT/records" "$MNT/records2" "$MNT/records-direct"; do
	rm -f /tmp/vdifs-stop "$ACKFILE"
	mode=buffered
	[ "${W##*-}" = direct ] && mode=direct
	"$PY" "$HELPER" writer "$W" "$ACKFILE" /tmp/vdifs-stop 120 "$mode" &
	wpid=$!
	# the writer's first records are on disk before the first snapshot
	for ((i = 0; i < 300; i++)); do
		[ "$(tr -d ' \n' <"$ACKFILE" 2>/dev/null)" -gt 0 ] 2>/dev/null && break
		sleep 0.1
	done
	snaps=()
	for i in 1 2 3 4 5 6 7 8; do
		sleep 1
		acked=$(tr -d ' \n' <"$ACKFILE" 2>/dev/null)
		if "$TOOL" -q snapshot create "$W" "w$i" >/dev/null; then
			snaps+=("w$i:${acked:-0}")
		else
			fail "snapshot w$i while the writer runs"
		fi
	done
	sleep 1
	touch /tmp/vdifs-stop
	wait "$wpid" || fail "the record writer failed"
	py records "$W" "${snaps[@]}"
done

# ---- this client's page cache survives its own snapshots and clones ----
# (a VM's cached disk is not thrown away by a snapshot of it); another
# client's write still invalidates it (close-to-open)

resident() { fincore -b -n -o RES "$1" | tr -d ' '; }
C=$MNT/cached.img
head -c 4M /dev/urandom >"$C"
cp "$C" /tmp/cached.img
cat "$C" >/dev/null
r0=$(resident "$C")
"$TOOL" -q snapshot create "$C" keep >/dev/null || fail "snapshot of cached.img"
stat "$C" >/dev/null
r1=$(resident "$C")
"$TOOL" -q clone "$C" "$MNT/cached-clone.img" >/dev/null || fail "clone of cached.img"
stat "$C" >/dev/null
r2=$(resident "$C")
check "a snapshot and a clone keep this client's cached pages of the file (resident bytes $r0 -> $r1 -> $r2)" \
	test "${r0:-0}" -ge 4194304 -a "${r1:-0}" = "$r0" -a "${r2:-0}" = "$r0"
check "... and the file still reads its content" cmp /tmp/cached.img "$C"
dd if=/dev/urandom of="$MNT2/cached.img" bs=4k count=1 seek=7 conv=notrunc status=none
dd if="$MNT2/cached.img" of=/tmp/cached.img bs=4k count=1 skip=7 seek=7 conv=notrunc status=none
check "another client's write is still seen (cached pages dropped)" cmp /tmp/cached.img "$C"

# ---- cp --reflink=always ----

R=$MNT/reflink-src
head -c 700K /dev/urandom >"$R"
cp "$R" /tmp/refl-src
check "cp --reflink=always" cp --reflink=always "$R" "$MNT/reflink-dst"
check "... copies the content" cmp /tmp/refl-src "$MNT/reflink-dst"
check "... by sharing it (du: all shared)" bash -c \
	"[ $(du_f "$MNT/reflink-dst" unique) = 0 ] && [ $(du_f "$MNT/reflink-dst" shared) -gt 0 ]"
dd if=/dev/zero of="$MNT/reflink-dst" bs=4k seek=3 count=2 conv=notrunc status=none
check "writing the copy leaves the source alone" cmp /tmp/refl-src "$R"
dd if=/dev/urandom of="$R" bs=4k seek=100 count=3 conv=notrunc status=none
cp /tmp/refl-src /tmp/refl-dst
dd if=/dev/zero of=/tmp/refl-dst bs=4k seek=3 count=2 conv=notrunc status=none
check "writing the source leaves the copy alone" cmp /tmp/refl-dst "$MNT/reflink-dst"
echo 3 >/proc/sys/vm/drop_caches
check "... also after dropping caches" cmp /tmp/refl-dst "$MNT/reflink-dst"
check "cp --reflink=always onto an existing file" \
	cp --reflink=always "$MNT/reflink-dst" "$MNT/from-snap.img"
check "... replaces its content" cmp /tmp/refl-dst "$MNT/from-snap.img"
check "cp --reflink=always to another file system fails" bash -c \
	"! cp --reflink=always $R /tmp/refl-x 2>/dev/null"
py ficlone "$R"
py clonerange "$MNT"

# ---- permissions ----

P=$MNT/perm
mkdir -p "$P/pub"
chmod 755 "$P"
chmod 1777 "$P/pub"
echo "root's secret" >"$P/root600"
chmod 600 "$P/root600"
head -c 100K /dev/urandom >"$P/root644"
chmod 644 "$P/root644"
"$TOOL" -q snapshot create "$P/root600" s0 >/dev/null || fail "root snapshots its file"
"$TOOL" -q snapshot create "$P/root644" s0 >/dev/null || fail "root snapshots its file"
i600=$(stat -c %i "$P/root600")
i644=$(stat -c %i "$P/root644")
asnobody() { "${NOBODY[@]}" "$@"; }
tool_err "nobody: snapshot of a 0600 root file" \
	"snapshot create $P/root600 x: (Permission denied|Operation not permitted)" \
	asnobody "$TOOL" snapshot create "$P/root600" x
tool_err "nobody: snapshot of a 0644 root file (not the owner)" \
	"snapshot create $P/root644 x: (Permission denied|Operation not permitted)" \
	asnobody "$TOOL" snapshot create "$P/root644" x
check "nobody: cannot read a snapshot of a 0600 root file" bash -c \
	"! ${NOBODY[*]} cat $MNT/.vdifs-snapshots/$i600/s0 >/dev/null 2>&1"
check "nobody: cannot read a snapshot of a 0644 root file (owner's area)" bash -c \
	"! ${NOBODY[*]} cat $MNT/.vdifs-snapshots/$i644/s0 >/dev/null 2>&1"
check "nobody: cannot list root's snapshot directory" bash -c \
	"! ${NOBODY[*]} ls $MNT/.vdifs-snapshots/$i644 >/dev/null 2>&1"
tool_err "nobody: revert a 0644 root file" \
	"snapshot revert $P/root644 s0: (Permission denied|Operation not permitted)" \
	asnobody "$TOOL" snapshot revert "$P/root644" s0
tool_err "nobody: delete a 0644 root file's snapshot" \
	"snapshot delete $P/root644 s0: (Permission denied|Operation not permitted)" \
	asnobody "$TOOL" snapshot delete "$P/root644" s0
# the kernel's own checks, on a read-only fd root opened
for op in revert delete create; do
	got=$(asnobody "$PY" "$HELPER" fdioctl 3 "$op" s0 3<"$P/root644")
	case $got in
	EPERM | EACCES | EBADF) pass "nobody: SNAP_${op^^} on a read-only fd of a root file: $got" ;;
	*) fail "nobody: SNAP_${op^^} on a read-only fd of a root file: $got (expected EPERM/EACCES)" ;;
	esac
done
check "root's snapshots are intact" jcheck 'length == 1' \
	"$TOOL" --json snapshot list "$P/root644"
check "... and their content" cmp "$P/root644" "$MNT/.vdifs-snapshots/$i644/s0"
tool_err "nobody: clone a 0600 root file" "Permission denied" \
	asnobody "$TOOL" clone "$P/root600" "$P/pub/stolen"
tool_err "nobody: clone into a directory it cannot write" \
	"(Permission denied|Operation not permitted)" \
	asnobody "$TOOL" clone "$P/root644" "$P/mine"
check "... nothing was created" test ! -e "$P/mine" -a ! -e "$P/pub/stolen"
N=$P/pub/nobody.img
asnobody bash -c "head -c 200K /dev/urandom >$N"
cp "$N" /tmp/nobody.img
check "nobody: snapshot of its own file" asnobody "$TOOL" -q snapshot create "$N" mine
ni=$(stat -c %i "$N")
check "nobody: reads its snapshot" asnobody cmp /tmp/nobody.img "$MNT/.vdifs-snapshots/$ni/mine"
check "nobody: lists its snapshots" jcheck '.[0].name == "mine"' \
	asnobody "$TOOL" --json snapshot list "$N"
check "nobody: the snapshot directory is its own, mode 0700" bash -c \
	"[ \"\$(stat -c '%U %a' $MNT/.vdifs-snapshots/$ni)\" = 'nobody 700' ]"
chmod 644 "$N"
check "another user cannot read nobody's snapshot of a 0644 file" bash -c \
	"! setpriv --reuid=4242 --regid=4242 --clear-groups cat $MNT/.vdifs-snapshots/$ni/mine >/dev/null 2>&1"
check "root reads nobody's snapshot" cmp /tmp/nobody.img "$MNT/.vdifs-snapshots/$ni/mine"
# A reflink is a write: the target's setuid bit goes and its times move,
# as they would for write(2) (generic_remap_file_range_prep ->
# file_modified); it used to keep both.
S=$P/pub/nobody-suid
asnobody bash -c "echo x >$S && chmod 4755 $S"
touch -d '2020-01-01' "$S"
got=$(asnobody "$PY" "$HELPER" ficlone_into "$N" "$S")
check "nobody: FICLONE into its setuid file ($got)" [ "$got" = success ]
check "... cmp with the source" cmp "$N" "$S"
check "... the setuid bit is gone ($(stat -c %a "$S"))" [ "$(stat -c %a "$S")" = 755 ]
check "... its mtime moved ($(stat -c %y "$S"))" [ "$(stat -c %Y "$S")" -gt 1600000000 ]
check "nobody: clones its own file" asnobody "$TOOL" -q clone "$N" "$P/pub/nobody-clone.img"
check "... the clone is nobody's" bash -c "[ \$(stat -c %U $P/pub/nobody-clone.img) = nobody ]"
check "nobody: clones its snapshot" asnobody "$TOOL" -q clone \
	"$MNT/.vdifs-snapshots/$ni/mine" "$P/pub/nobody-snapclone.img"
check "... equal to the snapshot" cmp /tmp/nobody.img "$P/pub/nobody-snapclone.img"
asnobody dd if=/dev/zero of="$N" bs=4k count=1 conv=notrunc status=none
check "nobody: reverts its file" asnobody "$TOOL" -q snapshot revert "$N" mine
check "... to the snapshot" cmp /tmp/nobody.img "$N"
check "nobody: deletes its snapshot" asnobody "$TOOL" -q snapshot delete "$N" mine
check "nobody: cannot write a snapshot of its own file" bash -c \
	"$TOOL -q snapshot create $N again && ! ${NOBODY[*]} bash -c 'echo x >>$MNT/.vdifs-snapshots/$ni/again' 2>/dev/null"

# ---- bad ioctl arguments ----

B=$MNT/bad
mkdir -p "$B"
head -c 64K /dev/urandom >"$B/file"
py badargs "$B/file" /tmp /mnt/vdifs-other

echo "  50-snapshots: $(($(ms_now) - T0)) ms after mounting"
save_logs
umount /mnt/vdifs-other
cluster_stop
umount /tmp/vdifs-snapfs
finish

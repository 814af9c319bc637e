#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Metadata operations against a model, until a stop file appears.

meta-model.py DIR STOPFILE SEED

Random creates (O_CREAT|O_EXCL, with a few bytes), mkdirs, renames (to a
new name or over a file), unlinks, rmdirs, hard links and symlinks in a
small tree under DIR, each one's outcome known in advance from a model of
the tree: every operation must succeed, so a create or mkdir done twice
(EEXIST), an unlink or rename done twice (ENOENT) or a lost one shows.
At the end the tree is compared with the model (names, types, link
targets, file contents, link counts).  Prints "ops N" and exits 0, or
prints what differed and exits 1.
"""
import os
import random
import sys


def main():
    top, stop, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rnd = random.Random(seed)
    os.makedirs(top, exist_ok=True)
    # path (relative) -> ('d',) | ('f', bytes, inode key) | ('l', target)
    model = {}
    # inode key -> [bytes, nlink]
    inodes = {}
    nextino = [0]
    ops = 0

    def dirs():
        return [""] + [p for p, v in model.items() if v[0] == "d"]

    def entries(kind=None):
        return [p for p, v in model.items() if kind is None or v[0] == kind]

    def newname(d):
        while True:
            n = os.path.join(d, "n%d" % rnd.randrange(100000))
            if n not in model:
                return n

    def empty(d):
        return not any(p.startswith(d + "/") for p in model)

    def full(p):
        return os.path.join(top, p)

    while not os.path.exists(stop):
        op = rnd.choice(["create", "create", "mkdir", "rename", "rename",
                         "unlink", "rmdir", "link", "symlink"])
        try:
            if op == "create":
                p = newname(rnd.choice(dirs()))
                data = os.urandom(rnd.randrange(1, 200))
                fd = os.open(full(p), os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                             0o644)
                os.write(fd, data)
                os.close(fd)
                nextino[0] += 1
                inodes[nextino[0]] = [data, 1]
                model[p] = ("f", nextino[0])
            elif op == "mkdir":
                p = newname(rnd.choice(dirs()))
                os.mkdir(full(p))
                model[p] = ("d",)
            elif op == "rename":
                src = [p for p in entries() if model[p][0] != "d"]
                if not src:
                    continue
                s = rnd.choice(src)
                files = [p for p in entries("f") if p != s]
                if files and model[s][0] == "f" and rnd.random() < 0.3:
                    d = rnd.choice(files)       # over an existing file
                else:
                    d = newname(rnd.choice(dirs()))
                if model[s][0] == "f" and d in model and \
                        model[d][1] == model[s][1]:
                    continue                    # hard links of one inode
                os.rename(full(s), full(d))
                if d in model:
                    gone = model[d][1]
                    inodes[gone][1] -= 1
                model[d] = model.pop(s)
            elif op == "unlink":
                cand = [p for p in entries() if model[p][0] != "d"]
                if not cand:
                    continue
                p = rnd.choice(cand)
                os.unlink(full(p))
                v = model.pop(p)
                if v[0] == "f":
                    inodes[v[1]][1] -= 1
            elif op == "rmdir":
                cand = [p for p in entries("d") if empty(p)]
                if not cand:
                    continue
                p = rnd.choice(cand)
                os.rmdir(full(p))
                del model[p]
            elif op == "link":
                cand = entries("f")
                if not cand:
                    continue
                s = rnd.choice(cand)
                d = newname(rnd.choice(dirs()))
                os.link(full(s), full(d))
                model[d] = model[s]
                inodes[model[s][1]][1] += 1
            elif op == "symlink":
                d = newname(rnd.choice(dirs()))
                t = "t%d" % rnd.randrange(1000)
                os.symlink(t, full(d))
                model[d] = ("l", t)
        except OSError as e:
            print("FAIL: op %d %s: %s" % (ops, op, e))
            return 1
        ops += 1

    bad = 0
    seen = set()
    for root, ds, fs in os.walk(top):
        for n in ds + fs:
            p = os.path.relpath(os.path.join(root, n), top)
            seen.add(p)
            v = model.get(p)
            st = os.lstat(full(p))
            if v is None:
                print("FAIL: %s is there, not in the model" % p)
                bad += 1
            elif v[0] == "d" and not os.path.isdir(full(p)):
                print("FAIL: %s is not a directory" % p)
                bad += 1
            elif v[0] == "l" and (not os.path.islink(full(p)) or
                                  os.readlink(full(p)) != v[1]):
                print("FAIL: %s is not a link to %s" % (p, v[1]))
                bad += 1
            elif v[0] == "f":
                want, nlink = inodes[v[1]]
                with open(full(p), "rb") as f:
                    got = f.read()
                if got != want or st.st_nlink != nlink:
                    print("FAIL: %s: %d bytes, %d links; want %d, %d" %
                          (p, len(got), st.st_nlink, len(want), nlink))
                    bad += 1
    for p in model:
        if p not in seen:
            print("FAIL: %s is missing" % p)
            bad += 1
    print("ops %d, %d entries" % (ops, len(model)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

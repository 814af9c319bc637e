#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Report of bench/vdi.sh: reads RESULTS/raw.tsv (written in the guest),
prints the tables (also to RESULTS/vdi.txt), writes RESULTS/vdi.json and,
when gnuplot is installed, RESULTS/vdi.png.

    bench/vdi-report.py RESULTS

raw.tsv lines (tab-separated):
    param NAME VALUE
    note TEXT
    TEST CONFIG DESKTOPS WORKLOAD REPEAT VALUE UNIT [SECONDS]
TEST is fio, boot, create, dd, meta, tcp or cpu; CONFIG names how the image is
reached (nbd, file), what it is (qcow2, raw, clone) and the store (nfs4.2,
nfs3, vdifs, vdifs-r3), e.g. nbd:qcow2:nfs4.2.  Every VALUE is a rate
(MiB/s, IOPS, desktops/s), so every ratio vdifs / baseline reads the same
way: above 1, vdifs is faster; but cpu's, a cost (microseconds of guest
CPU per I/O, WORKLOAD/CLASS of process), whose ratios are baseline / vdifs
for that reason.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys

WORKLOADS = ["seqwrite", "seqread", "randwrite", "randread", "bootstorm"]
WL_TITLE = {
    "seqwrite": "sequential write 1 MiB",
    "seqread": "sequential read 1 MiB",
    "randwrite": "random write 4 KiB",
    "randread": "random read 4 KiB",
    "bootstorm": "boot storm: every desktop reads its whole image",
}
STORE_TITLE = {
    "vdifs": "vdifs",
    "vdifs-r3": "vdifs 3 replicas",
}


def store_title(s):
    if s.startswith("nfs"):
        return "NFSv" + s[3:]
    return STORE_TITLE.get(s, s)


def config_title(cfg):
    via, kind, store = cfg.split(":")
    what = {"qcow2": "qcow2 overlay", "raw": "raw copy", "clone": "clone"}[kind]
    via = {"nbd": "qemu-nbd", "file": "file"}[via]
    return f"{via} {what} on {store_title(store)}"


def create_title(cfg):
    way, store = cfg.split(":")
    return {
        "clone": f"vdifs-tool clone on {store_title(store)}",
        "reflink": f"cp --reflink=always on {store_title(store)}",
        "qcow2": f"qemu-img create qcow2 on {store_title(store)}",
        "rawcopy": f"cp full copy on {store_title(store)}",
    }[way]


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "IOPS" or v >= 1000:
        return f"{v:.0f}"
    if v >= 100:
        return f"{v:.1f}"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def summary(samples):
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
        "samples": samples,
    }


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench/vdi-report.py RESULTS")
    res = sys.argv[1]
    params, notes = {}, []
    data = {}  # (test, cfg, d, wl) -> {"unit", "samples", "seconds"}
    with open(os.path.join(res, "raw.tsv")) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] == "param":
                params[p[1]] = p[2] if len(p) > 2 else ""
            elif p[0] == "note":
                notes.append(p[1])
            elif len(p) >= 7:
                k = (p[0], p[1], int(p[2]), p[3])
                e = data.setdefault(k, {"unit": p[6], "samples": [], "seconds": []})
                e["samples"].append(float(p[5]))
                if len(p) > 7 and p[7]:
                    e["seconds"].append(float(p[7]))
    stat = {k: summary(e["samples"]) for k, e in data.items()}

    def med(test, cfg, d, wl):
        s = stat.get((test, cfg, d, wl))
        return s["median"] if s else None

    desktops = sorted({k[2] for k in data if k[0] in ("fio", "boot")})
    nfs = [s for s in params.get("nfs_vers", "").split()]
    nfs = ["nfs" + v for v in nfs]
    r3 = params.get("replicas3") == "1"
    out = []

    def w(s=""):
        out.append(s)

    w(f"bench/vdi.sh: golden image {params.get('base_mb')} MiB, desktops "
      f"{params.get('desktops')}, fio {params.get('runtime_s')} s runs, libaio, direct, "
      f"iodepth {params.get('iodepth')} per desktop, {params.get('repeat')} repeat(s)")
    w(f"guest: kernel {params.get('kernel')}, {params.get('cpus')} vCPUs (qemu TCG), "
      f"{params.get('guest_mem_mb')} MiB; {params.get('fio')}, {params.get('qemu')}")
    w("NFS: kernel nfsd over 127.0.0.1, export on tmpfs; vdifs: MDS + 3 data "
      "servers on 127.0.0.1, data on tmpfs of the same size")
    w("values: median [min-max] over the repeats; the sum over the desktops")
    for n in notes:
        w("note: " + n)

    # ---- absolute numbers ----
    configs = []
    for via in ("nbd", "file"):
        for kind, stores in (("qcow2", nfs), ("raw", nfs), ("clone", ["vdifs", "vdifs-r3"])):
            for s in stores:
                cfg = f"{via}:{kind}:{s}"
                if any(k[1] == cfg for k in data):
                    configs.append(cfg)
    for wl in WORKLOADS:
        test = "boot" if wl == "bootstorm" else "fio"
        rows = [c for c in configs if any((test, c, d, wl) in stat for d in desktops)]
        if not rows:
            continue
        unit = next(data[(test, c, d, wl)]["unit"] for c in rows for d in desktops
                    if (test, c, d, wl) in data)
        w()
        w(f"{WL_TITLE[wl]} ({unit})")
        w(f"  {'':<36}" + "".join(f"{'D=' + str(d):>22}" for d in desktops))
        for c in rows:
            cells = []
            for d in desktops:
                s = stat.get((test, c, d, wl))
                if s is None:
                    cells.append(f"{'-':>22}")
                else:
                    cells.append(f"{fmt(s['median'], unit) + ' [' + fmt(s['min'], unit) + '-' + fmt(s['max'], unit) + ']':>22}")
            mark = "  <- baseline" if c == f"nbd:qcow2:{nfs[0] if nfs else ''}" else ""
            w(f"  {config_title(c):<36}" + "".join(cells) + mark)
        if wl == "bootstorm":
            w(f"  {'(seconds, median)':<36}" + "".join(
                f"{'':>22}" for d in desktops))
            for c in rows:
                cells = []
                for d in desktops:
                    e = data.get((test, c, d, wl))
                    cells.append(f"{statistics.median(e['seconds']):>21.1f}s" if e and e["seconds"] else f"{'-':>22}")
                w(f"  {config_title(c):<36}" + "".join(cells))

    # ---- ratios ----
    pairs = []  # (title, vdifs cfg, baseline cfg)
    for n in nfs:
        pairs.append((f"nbd clone / nbd qcow2 on {store_title(n)}", "nbd:clone:vdifs", f"nbd:qcow2:{n}"))
    for n in nfs:
        pairs.append((f"nbd clone / nbd raw copy on {store_title(n)}", "nbd:clone:vdifs", f"nbd:raw:{n}"))
    for n in nfs:
        pairs.append((f"file clone / raw file on {store_title(n)}", "file:clone:vdifs", f"file:raw:{n}"))
    if r3:
        for n in nfs:
            pairs.append((f"3 repl.: nbd clone / nbd qcow2 {store_title(n)}", "nbd:clone:vdifs-r3", f"nbd:qcow2:{n}"))
        pairs.append(("3 repl. / 1 replica, nbd clone", "nbd:clone:vdifs-r3", "nbd:clone:vdifs"))
        pairs.append(("3 repl. / 1 replica, file clone", "file:clone:vdifs-r3", "file:clone:vdifs"))
    ratios = []
    w()
    w("ratios vdifs / baseline, of the medians (> 1: vdifs faster)")
    w(f"  {'':<10}{'':<44}" + "".join(f"{'D=' + str(d):>8}" for d in desktops))
    for wl in WORKLOADS:
        test = "boot" if wl == "bootstorm" else "fio"
        first = True
        for title, a, b in pairs:
            cells, any_ = [], False
            for d in desktops:
                va, vb = med(test, a, d, wl), med(test, b, d, wl)
                if va is not None and vb:
                    r = va / vb
                    any_ = True
                    cells.append(f"{r:>8.2f}")
                    ratios.append({"test": test, "workload": wl, "desktops": d,
                                   "vdifs": a, "baseline": b, "ratio": round(r, 4)})
                else:
                    cells.append(f"{'-':>8}")
            if any_:
                w(f"  {wl if first else '':<10}{title:<44}" + "".join(cells))
                first = False

    # ---- dd ----
    dd_stores = [s for s in nfs + ["vdifs", "vdifs-r3"]
                 if any(k[0] == "dd" and k[1] == s for k in data)]
    if dd_stores:
        w()
        w("single-stream dd, O_DIRECT (MiB/s, median [min-max])")
        w(f"  {'':<12}" + "".join(f"{store_title(s):>22}" for s in dd_stores)
          + "".join(f"{'vdifs/' + store_title(n):>14}" for n in nfs))
        for wl in ("write-1M", "read-1M", "write-4k", "read-4k"):
            cells = []
            for s in dd_stores:
                st = stat.get(("dd", s, 1, wl))
                cells.append(f"{fmt(st['median'], '') + ' [' + fmt(st['min'], '') + '-' + fmt(st['max'], '') + ']':>22}" if st else f"{'-':>22}")
            for n in nfs:
                va, vb = med("dd", "vdifs", 1, wl), med("dd", n, 1, wl)
                if va is not None and vb:
                    cells.append(f"{va / vb:>14.2f}")
                    ratios.append({"test": "dd", "workload": wl, "desktops": 1,
                                   "vdifs": "vdifs", "baseline": n, "ratio": round(va / vb, 4)})
                else:
                    cells.append(f"{'-':>14}")
            w(f"  {wl:<12}" + "".join(cells))

    # ---- creation ----
    stores = nfs + ["vdifs", "vdifs-r3"]
    cr = sorted({k[1] for k in data if k[0] == "create"},
                key=lambda c: (["clone", "reflink", "qcow2", "rawcopy"].index(c.split(":")[0]),
                               stores.index(c.split(":")[1]) if c.split(":")[1] in stores else 99))
    if cr:
        w()
        w("creating desktops (desktops/s, median [min-max]; total s, median)")
        for c in cr:
            k = next(k for k in data if k[0] == "create" and k[1] == c)
            st, e = stat[k], data[k]
            line = (f"  {create_title(c):<40}{fmt(st['median'], '') + ' [' + fmt(st['min'], '') + '-' + fmt(st['max'], '') + ']':>24}"
                    f"  {k[2]} in {statistics.median(e['seconds']):.2f} s")
            if c.startswith("rawcopy"):
                line += " (each of the raw copies)"
            w(line)
        for base in [f"qcow2:{n}" for n in nfs] + [f"rawcopy:{n}" for n in nfs]:
            for a in ("clone:vdifs", "reflink:vdifs"):
                ka = next((k for k in data if k[0] == "create" and k[1] == a), None)
                kb = next((k for k in data if k[0] == "create" and k[1] == base), None)
                if ka and kb:
                    r = stat[ka]["median"] / stat[kb]["median"]
                    w(f"  ratio {create_title(a)} / {create_title(base)}: {r:.2f}")
                    ratios.append({"test": "create", "workload": "create", "desktops": ka[2],
                                   "vdifs": a, "baseline": base, "ratio": round(r, 4)})

    # ---- metadata ----
    meta_stores = [s for s in nfs + ["vdifs"]
                   if any(k[0] == "meta" and k[1] == s for k in data)]
    procs = sorted({k[2] for k in data if k[0] == "meta"})
    if meta_stores:
        w()
        w(f"metadata operations/s over two mounts (bench-meta-ops, "
          f"{params.get('meta_files', '?')} files per process; readdir: entries/s "
          f"of a 10000-entry directory), median [min-max]")
        w(f"  {'':<18}" + "".join(f"{store_title(s):>22}" for s in meta_stores)
          + "".join(f"{'vdifs/' + store_title(n):>14}" for n in nfs))
        for pr in procs:
            for wl in ("create", "stat", "readdir", "rename", "unlink"):
                cells = []
                for s in meta_stores:
                    st = stat.get(("meta", s, pr, wl))
                    cells.append(f"{fmt(st['median'], '') + ' [' + fmt(st['min'], '') + '-' + fmt(st['max'], '') + ']':>22}" if st else f"{'-':>22}")
                for n in nfs:
                    va, vb = med("meta", "vdifs", pr, wl), med("meta", n, pr, wl)
                    if va is not None and vb:
                        cells.append(f"{va / vb:>14.2f}")
                        ratios.append({"test": "meta", "workload": wl, "desktops": pr,
                                       "vdifs": "vdifs", "baseline": n,
                                       "ratio": round(va / vb, 4)})
                    else:
                        cells.append(f"{'-':>14}")
                w(f"  {str(pr) + ' proc ' + wl:<18}" + "".join(cells))

    # ---- guest CPU per I/O, by process ----
    cpu_cfgs = sorted({k[1] for k in data if k[0] == "cpu"},
                      key=lambda c: (0 if "nfs" in c else 1, c))
    if cpu_cfgs:
        w()
        w("guest CPU per I/O, one desktop, fio on the file (us of CPU per I/O, median;")
        w("  the total is all busy CPU, fio's included; then the biggest classes of")
        w("  process, k: a kernel thread)")
        for wl in ("randwrite", "randread", "seqwrite", "seqread"):
            if not any(k[0] == "cpu" and k[3] == wl + "/total" for k in data):
                continue
            w(f"  {WL_TITLE[wl]}")
            for c in cpu_cfgs:
                tot = med("cpu", c, 1, wl + "/total")
                if tot is None:
                    continue
                parts = sorted(((med("cpu", c, 1, k[3]), k[3].split("/", 1)[1])
                                for k in data if k[0] == "cpu" and k[1] == c
                                and k[3].startswith(wl + "/") and not k[3].endswith("/total")),
                               reverse=True)
                top = ", ".join(f"{n} {v:.0f}" for v, n in parts[:6] if v >= 1)
                w(f"    {config_title(c):<40}total {tot:>7.0f}   {top}")
            for n in nfs:
                va = med("cpu", "file:clone:vdifs", 1, wl + "/total")
                vb = med("cpu", f"file:raw:{n}", 1, wl + "/total")
                if va and vb:
                    w(f"    CPU per I/O, raw file on {store_title(n)} / clone on vdifs: {vb / va:.2f}")
                    ratios.append({"test": "cpu", "workload": wl, "desktops": 1,
                                   "vdifs": "file:clone:vdifs", "baseline": f"file:raw:{n}",
                                   "ratio": round(vb / va, 4)})

    tcp = sorted(k for k in stat if k[0] == "tcp")
    if tcp:
        w()
        w("loopback TCP in the guest (iperf3, 1 MiB writes), what 127.0.0.1 carries "
          "with no file system:")
        for k in tcp:
            st = stat[k]
            w(f"  {k[2]} stream{'s' if k[2] > 1 else ''}: {fmt(st['median'], '')} MiB/s "
              f"[{fmt(st['min'], '')}-{fmt(st['max'], '')}]")
    if "guest_seconds" in params:
        w(f"guest run: {float(params['guest_seconds']):.0f} s, of which "
          f"{params.get('quiesce_seconds', '?')} s waiting for idle CPUs between runs")

    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(res, "vdi.txt"), "w") as f:
        f.write(text)

    doc = {
        "params": params,
        "notes": notes,
        "results": [dict(test=k[0], config=k[1], desktops=k[2], workload=k[3],
                         unit=data[k]["unit"], seconds=data[k]["seconds"], **stat[k])
                    for k in sorted(data)],
        "ratios": ratios,
    }
    with open(os.path.join(res, "vdi.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    plot(res, stat, data, configs, desktops, nfs)


def color(cfg):
    """One hue per way (qcow2 overlays purple, raw copies through qemu-nbd
    red, clones through qemu-nbd blue, raw files orange, clone files
    green), dark for NFSv4.2 and 1 replica, light for NFSv3 and 3."""
    via, kind, store = cfg.split(":")
    pairs = {("nbd", "qcow2"): ("#6a3d9a", "#cab2d6"),
             ("nbd", "raw"): ("#e31a1c", "#fb9a99"),
             ("nbd", "clone"): ("#1f78b4", "#a6cee3"),
             ("file", "raw"): ("#ff7f00", "#fdbf6f"),
             ("file", "clone"): ("#33a02c", "#b2df8a")}
    dark, light = pairs.get((via, kind), ("#555555", "#aaaaaa"))
    if store in ("nfs4.2", "vdifs"):
        return dark
    if store in ("nfs3", "vdifs-r3"):
        return light
    return "#777777"


def plot(res, stat, data, configs, desktops, nfs):
    """vdi.png: one panel per workload, desktops on x, a bar per
    configuration (median, with min-max), and one of the headline ratio,
    vdifs clone / QCOW2 overlay on the first NFS version, both through
    qemu-nbd; through gnuplot."""
    gp = shutil.which("gnuplot")
    if not gp:
        print("(no gnuplot: no vdi.png)")
        return
    panels = []
    for wl in WORKLOADS:
        test = "boot" if wl == "bootstorm" else "fio"
        cfgs = [c for c in configs if any((test, c, d, wl) in stat for d in desktops)]
        if not cfgs:
            continue
        unit = next(data[(test, c, d, wl)]["unit"] for c in cfgs for d in desktops
                    if (test, c, d, wl) in data)
        fn = os.path.join(res, f"plot-{wl}.dat")
        with open(fn, "w") as f:
            for d in desktops:
                row = [f"D={d}"]
                for c in cfgs:
                    s = stat.get((test, c, d, wl))
                    row += [f"{s['median']}", f"{s['min']}", f"{s['max']}"] if s else ["?", "?", "?"]
                f.write(" ".join(row) + "\n")
        panels.append((wl, unit, fn, cfgs))
    if not panels:
        return
    cols = 3
    rows = (len(panels) + 1 + cols - 1) // cols
    script = [
        f"set terminal png size {cols * 560},{rows * 420 + 60} font ',9'",
        f"set output '{os.path.join(res, 'vdi.png')}'",
        "set style data histograms",
        "set style histogram errorbars gap 1 lw 1",
        "set style fill solid 0.8 border -1",
        "set boxwidth 0.9",
        "set key top left font ',7' samplen 1",
        "set grid ytics",
        "set yrange [0:*]",
        # room above the bars for the key
        "set offsets 0, 0, graph 0.55, 0",
        "set datafile missing '?'",
        f"set multiplot layout {rows},{cols} title 'bench/vdi.sh (qemu TCG guest; "
        f"median, bars min-max)'",
    ]
    for wl, unit, fn, cfgs in panels:
        script.append(f"set title '{WL_TITLE[wl]}'")
        script.append(f"set ylabel '{unit}'")
        parts = []
        for i, c in enumerate(cfgs):
            col = 2 + 3 * i
            parts.append(f"'{fn}' using {col}:{col + 1}:{col + 2}:xtic(1) "
                         f"title '{config_title(c)}' lc rgb '{color(c)}'")
        script.append("plot " + ", ".join(parts))
    base = f"nbd:qcow2:{nfs[0]}" if nfs else None
    rows = []
    for wl in WORKLOADS:
        test = "boot" if wl == "bootstorm" else "fio"
        vals = []
        for d in desktops:
            a, b = stat.get((test, "nbd:clone:vdifs", d, wl)), stat.get((test, base, d, wl))
            vals.append(f"{a['median'] / b['median']:.4f}" if a and b and b["median"] else "?")
        if any(v != "?" for v in vals):
            rows.append(f"{wl} " + " ".join(vals))
    if rows:
        fn = os.path.join(res, "plot-ratio.dat")
        with open(fn, "w") as f:
            f.write("\n".join(rows) + "\n")
        script += [
            "set style histogram clustered gap 1",
            "set offsets 0, 0, graph 0.2, 0",
            f"set title 'vdifs clone / qcow2 overlay on {store_title(nfs[0])}, via qemu-nbd'",
            "set ylabel 'ratio (> 1: vdifs faster)'",
            "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2",
            "plot " + ", ".join(
                f"'{fn}' using {2 + i}:xtic(1) title 'D={d}'" for i, d in enumerate(desktops)),
        ]
    script.append("unset multiplot")
    r = subprocess.run([gp], input="\n".join(script) + "\n", text=True,
                       capture_output=True)
    if r.returncode != 0:
        print("gnuplot failed: " + r.stderr.strip()[-500:])
    else:
        print(f"plot: {os.path.join(res, 'vdi.png')}")


if __name__ == "__main__":
    main()

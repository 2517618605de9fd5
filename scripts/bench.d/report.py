"""Turns the measurements of scripts/bench into Markdown tables with the
performance targets, PASS/FAIL each.

    python3 report.py OUTDIR CHECK   (CHECK 1: exit 1 if a target fails)

Reads OUTDIR/meta.tsv (key, value), results.tsv (workload, tool, run,
label, wall s, user s, sys s, max RSS KB, status), memory.tsv (lines,
run, max RSS KB, wall s, status), startup.tsv (tool, run, ms, status) and
exec.tsv (tool, label, run, wall s, status).
"""
import csv
import os
import statistics
import sys

TOOLS = ["luaworkq", "ref", "parallel", "thread", "pool"]
WORKLOADS = ["cpu", "trivial", "wordcount"]
RATIO_TARGET = {"cpu": 0.55, "trivial": 0.70, "wordcount": 0.60}
BEATS_PARALLEL = {"cpu", "trivial"}
POOL_FACTOR = 5.0
RSS_LIMIT_MB = 64.0
RSS_FLAT = 1.20
STARTUP_MS = 15.0
CSV_OVER_TSV = 1.3      # --csv --header at most this times --tsv --header
GZ_OVER_PEERS = 1.1     # a .gz input at most this times max(zcat, plain)


def input_rows(data, verdict):
    """The records and gz workloads: luaworkq against its own other format
    and the tool a user would otherwise pick."""
    out = []
    for w, tools in (("records", ["luaworkq", "tsv", "pool"]), ("gz", ["luaworkq", "plain", "zcat"])):
        if w not in data:
            continue
        d = data[w]
        med = {t: statistics.median(x["wall"]) for t, x in d.items() if x["wall"]}
        for t in tools:
            if t not in d:
                continue
            x = d[t]
            runs = len(x["wall"]) + len(x["bad"])
            if t not in med or x["bad"]:
                out.append(f"| {w} | {x['label']} | {runs} | - | - | | | "
                           + verdict(False, f"{w} {t}", "; ".join(x["bad"])) + " |")
                continue
            m, cpu, lwq = med[t], statistics.median(x["cpu"]), med.get("luaworkq")
            target = result = ""
            if w == "records" and t == "luaworkq" and "tsv" in med:
                target = f"<= {CSV_OVER_TSV:g}x --tsv"
                result = verdict(m <= CSV_OVER_TSV * med["tsv"], "csv over tsv", f"{m / med['tsv']:.2f}x")
            elif w == "records" and t == "pool" and lwq:
                target = "luaworkq faster"
                result = verdict(lwq < m, "csv vs DictReader", f"luaworkq {m / lwq:.1f}x faster")
            elif w == "gz" and t == "luaworkq" and "plain" in med and "zcat" in med:
                peer = max(med["plain"], med["zcat"])
                target = f"<= {GZ_OVER_PEERS:g}x max(zcat, uncompressed)"
                result = verdict(m <= GZ_OVER_PEERS * peer, "gz", f"{m / peer:.2f}x")
            out.append(f"| {w} | {x['label']} | {runs} | {fmt_s(m)} | {fmt_s(cpu)} | {target} | {result} |")
    if out:
        out = ["", "| input | tool | runs | median s | CPU s | target | result |",
               "|---|---|---:|---:|---:|---|---|"] + out
    return out


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter="\t"))


def fmt_s(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def exec_table(rows_, meta, out, verdict):
    """The exec workload: wall time and time per item of each tool; luaworkq
    -j8 must be at least as fast as xargs -P8 and faster than parallel -j8.
    luaworkq -j1 against a posix_spawn loop in C is what exec adds to an
    item."""
    if not rows_:
        return
    n = int(meta.get("exec_items", "1"))
    by = {}
    for tool, label, run, wall, status in rows_:
        d = by.setdefault(tool, {"label": label, "wall": [], "bad": []})
        if status == "ok":
            d["wall"].append(float(wall))
        else:
            d["bad"].append(f"run {run}: {status}")
    med = {t: statistics.median(d["wall"]) for t, d in by.items() if d["wall"]}
    lwq = med.get("luaworkq")
    if out:
        out.append("")
    out.append(f"| exec ({n} items, each runs `true ITEM`) | runs | median s | µs an item | target | result |")
    out.append("|---|---:|---:|---:|---|---|")
    for tool, d in by.items():
        runs = len(d["wall"]) + len(d["bad"])
        if tool not in med or d["bad"]:
            out.append(f"| {d['label']} | {runs} | - | - | | "
                       + verdict(False, f"exec {tool}", "; ".join(d["bad"])) + " |")
            continue
        m = med[tool]
        target = result = ""
        if tool == "xargs" and lwq:
            target = "luaworkq at least as fast"
            result = verdict(lwq <= m, "exec vs xargs", f"luaworkq {m / lwq:.2f}x faster")
        elif tool == "parallel" and lwq:
            target = "luaworkq faster"
            result = verdict(lwq < m, "exec vs parallel", f"luaworkq {m / lwq:.2f}x faster")
        out.append(f"| {d['label']} | {runs} | {fmt_s(m)} | {m / n * 1e6:.0f} | {target} | {result} |")
    if "luaworkq1" in med and "spawn" in med:
        extra = (med["luaworkq1"] - med["spawn"]) / n * 1e6
        out.append(f"| what luaworkq.exec adds to an item (-j1 over the posix_spawn loop) | | | {extra:.0f} | | |")


def main():
    outdir, check = sys.argv[1], sys.argv[2] == "1"
    meta = dict(rows(os.path.join(outdir, "meta.tsv")))
    jobs = meta.get("jobs", "?")
    failures = []

    def verdict(ok, what, detail=""):
        if not ok:
            failures.append(what)
        text = "PASS" if ok else "**FAIL**"
        return f"{text} ({detail})" if detail else text

    # workload -> tool -> {"label", "wall": [], "cpu": [], "bad": []}
    data = {}
    for w, tool, run, label, wall, user, sys_, rss, status in rows(os.path.join(outdir, "results.tsv")):
        d = data.setdefault(w, {}).setdefault(tool, {"label": label, "wall": [], "cpu": [], "bad": []})
        if status == "ok":
            d["wall"].append(float(wall))
            d["cpu"].append(float(user) + float(sys_))
        else:
            d["bad"].append(f"run {run}: {status}")

    out = []
    if any(w in data for w in WORKLOADS):
        out.append("| workload | tool | runs | median s | CPU s | ratio to reference | target | result |")
        out.append("|---|---|---:|---:|---:|---:|---|---|")
    for w in WORKLOADS:
        if w not in data:
            continue
        tools = data[w]
        med = {t: statistics.median(d["wall"]) for t, d in tools.items() if d["wall"]}
        ref = med.get("ref")
        lwq = med.get("luaworkq")
        size = meta.get(f"size_{w}", "")
        for t in TOOLS:
            if t not in tools:
                continue
            d = tools[t]
            runs = len(d["wall"]) + len(d["bad"])
            name = f"{w} ({size})" if t == "luaworkq" else ""
            if t not in med:
                out.append(f"| {name} | {d['label']} | {runs} | - | - | - | | "
                           + verdict(False, f"{w} {t}", "; ".join(d["bad"])) + " |")
                continue
            m = med[t]
            ratio = f"{m / ref:.2f}" if ref else "-"
            target, result = "", ""
            if d["bad"]:
                result = verdict(False, f"{w} {t} output", "; ".join(d["bad"]))
            elif t == "luaworkq" and ref:
                target = f"<= {RATIO_TARGET[w]:.2f}"
                result = verdict(m / ref <= RATIO_TARGET[w], f"{w} ratio")
            elif t == "parallel" and w in BEATS_PARALLEL and lwq:
                target = "luaworkq faster"
                result = verdict(lwq < m, f"{w} vs parallel", f"luaworkq {m / lwq:.2f}x faster")
            elif t == "pool" and lwq:
                target = f"luaworkq >= {POOL_FACTOR:g}x faster"
                result = verdict(m / lwq >= POOL_FACTOR, f"{w} vs Pool", f"{m / lwq:.1f}x")
            cpu = statistics.median(d["cpu"])
            out.append(f"| {name} | {d['label']} | {runs} | {fmt_s(m)} | {fmt_s(cpu)} | {ratio} | {target} | {result} |")

    out += input_rows(data, verdict)

    mem = rows(os.path.join(outdir, "memory.tsv"))
    start = rows(os.path.join(outdir, "startup.tsv"))
    if mem or start:
        if out:
            out.append("")
        out.append("| measure | tool | runs | median | target | result |")
        out.append("|---|---|---:|---:|---|---|")
    if mem:
        by = {}
        for lines, run, rss, wall, status in mem:
            d = by.setdefault(lines, {"rss": [], "wall": [], "bad": []})
            if status == "ok":
                d["rss"].append(int(rss) / 1024)
                d["wall"].append(float(wall))
            else:
                d["bad"].append(f"run {run}: {status}")
        meds = {}
        for lines, d in by.items():
            runs = len(d["rss"]) + len(d["bad"])
            what = f"peak RSS, {lines} lines, identity, -f ndjson"
            if d["bad"]:
                out.append(f"| {what} | luaworkq -j{jobs} | {runs} | - | < {RSS_LIMIT_MB:g} MB | "
                           + verdict(False, f"memory {lines}", "; ".join(d["bad"])) + " |")
                continue
            rss = meds[lines] = statistics.median(d["rss"])
            wall = statistics.median(d["wall"])
            out.append(f"| {what} | luaworkq -j{jobs} | {runs} | {rss:.1f} MB ({fmt_s(wall)} s) "
                       f"| < {RSS_LIMIT_MB:g} MB | {verdict(rss < RSS_LIMIT_MB, f'RSS {lines}')} |")
        if len(meds) == 2:
            (small, a), (big, b) = sorted(meds.items(), key=lambda kv: float(kv[0].rstrip("kM")) *
                                          (1e6 if kv[0].endswith("M") else 1e3))
            out.append(f"| peak RSS, {big} over {small} lines | luaworkq -j{jobs} | | {b / a:.2f} "
                       f"| <= {RSS_FLAT:.2f} | {verdict(b / a <= RSS_FLAT, 'RSS flat')} |")
    if start:
        by = {}
        for tool, run, ms, status in start:
            d = by.setdefault(tool, {"ms": [], "bad": []})
            if status == "ok":
                d["ms"].append(float(ms))
            else:
                d["bad"].append(f"run {run}: {status}")
        for tool, label in (("luaworkq", f"luaworkq -j{jobs}"), ("ref", "lua5.4 ref.lua (for comparison)")):
            if tool not in by:
                continue
            d = by[tool]
            runs = len(d["ms"]) + len(d["bad"])
            if d["bad"] or not d["ms"]:
                out.append(f"| startup, one item | {label} | {runs} | - | | "
                           + verdict(False, f"startup {tool}", "; ".join(d["bad"])) + " |")
                continue
            ms = statistics.median(d["ms"])
            target = result = ""
            if tool == "luaworkq":
                target = f"< {STARTUP_MS:g} ms"
                result = verdict(ms < STARTUP_MS, "startup")
            out.append(f"| startup, one item | {label} | {runs} | {ms:.1f} ms | {target} | {result} |")

    exec_table(rows(os.path.join(outdir, "exec.tsv")), meta, out, verdict)

    out.append("")
    out.append(f"Machine: {meta.get('nproc')} CPUs ({meta.get('cpu')}), Linux {meta.get('kernel')}; "
               f"{meta.get('luaworkq')}, {meta.get('lua')}, lua-cjson {meta.get('cjson')}, "
               f"Python {meta.get('python')}, GNU parallel {meta.get('parallel')}.")
    out.append(f"Load average (1, 5, 15 min) before: {meta.get('load_before')}; after: {meta.get('load_after')}.")
    cpu_note = (f"cpu: {meta['iters']} loop iterations an item ({meta.get('iters_us')} µs "
                f"of lua5.4 CPU time); " if "iters" in meta else "")
    out.append(f"Medians of runs alternating between the tools ({meta.get('runs')} round{'' if meta.get('runs') == '1' else 's'}); "
               f"{cpu_note}ratios are to the one-state lua5.4 reference of the same run; "
               f"CPU s is user + system time. Python peers: tasks of 1000 lines.")
    out.append("")
    if failures:
        out.append(f"Targets failed: {', '.join(failures)}." + ("" if check else " (--no-check: not an error)"))
    else:
        out.append("All targets met.")
    print("\n".join(out))
    sys.exit(1 if failures and check else 0)


if __name__ == "__main__":
    main()

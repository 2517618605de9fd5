"""Turns the measurements of scripts/bench into Markdown tables with the
performance targets, PASS/FAIL each.

    python3 report.py OUTDIR CHECK   (CHECK 1: exit 1 if a target fails)

Reads OUTDIR/meta.tsv (key, value), results.tsv (workload, tool, run,
label, wall s, user s, sys s, max RSS KB, status), memory.tsv (lines,
run, max RSS KB, wall s, status), startup.tsv (tool, run, ms, status),
exec.tsv (tool, label, run, wall s, status), host.tsv (workload,
batches, host busy s, wall s) and join.tsv (tool, label, run, wall s,
max RSS KB, start-up s, items/s after start-up, status).
"""
import csv
import os
import statistics
import sys

TOOLS = ["luaworkq", "j1", "j16", "j64", "unordered", "merge", "joblog", "ref", "halves",
         "parallel", "thread", "pool"]
WORKLOADS = ["cpu", "trivial", "wordcount", "skew", "index", "rindex", "rwordcount", "groupby"]
ANCHOR_NAMES = {"ref": "one state", "halves": "halves", "parallel": "parallel",
                "merge": "the merge job"}

# (workload, tool, measure, anchor, limit): "time" is the median of the
# rounds' ratios of wall time to the anchor's (see paired), "rss" median
# peak RSS over the anchor's, "faster" a shorter median wall time than the
# anchor's. Anchor "luaworkq" is luaworkq -jN.
TARGETS = [
    ("cpu", "luaworkq", "time", "halves", 1.03),
    ("cpu", "luaworkq", "faster", "parallel", None),
    ("cpu", "j1", "time", "ref", 1.02),
    ("trivial", "luaworkq", "time", "ref", 0.30),
    ("trivial", "luaworkq", "faster", "parallel", None),
    ("trivial", "joblog", "time", "luaworkq", 1.05),
    ("wordcount", "luaworkq", "time", "halves", 1.10),
    ("wordcount", "j1", "time", "ref", 1.05),
    ("wordcount", "j16", "time", "luaworkq", 1.10),
    ("wordcount", "j64", "time", "luaworkq", 1.10),
    ("skew", "luaworkq", "time", "halves", 1.10),
    ("skew", "luaworkq", "faster", "parallel", None),
    ("skew", "unordered", "time", "halves", 1.10),
    ("skew", "unordered", "faster", "parallel", None),
    ("index", "luaworkq", "time", "ref", 1.00),
    ("index", "luaworkq", "rss", "ref", 1.50),
    ("index", "j1", "time", "ref", 1.00),
    ("index", "j16", "time", "ref", 1.00),
    ("rindex", "luaworkq", "time", "ref", 0.70),
    ("rindex", "luaworkq", "rss", "ref", 1.50),
    ("rindex", "j1", "time", "ref", 1.05),
    ("rindex", "j16", "time", "luaworkq", 1.10),
    ("rindex", "j64", "time", "luaworkq", 1.10),
    ("rwordcount", "luaworkq", "time", "halves", 1.05),
    ("rwordcount", "luaworkq", "time", "merge", 1.00),
    ("rwordcount", "j16", "time", "luaworkq", 1.10),
    ("rwordcount", "j64", "time", "luaworkq", 1.10),
    ("groupby", "luaworkq", "time", "ref", 0.60),
]
RSS_LIMIT_MB = 64.0
RSS_FLAT = 1.20
STARTUP_MS = 15.0
CSV_OVER_TSV = 1.3      # --csv --header at most this times --tsv --header
CSV_OUT_OVER_PEERS = 0.60  # -f csv at most this times mlr and Python's csv
CSV_OUT_OVER_NDJSON = 1.10  # -f csv at most this times -f ndjson
GZ_OVER_PEERS = 1.1     # a .gz input at most this times max(zcat, plain)
DRY_OVER_AWK = 2.0      # --dry-run at most this times awk printing the same
HOST_WORKERS = 64       # workers the host thread can feed (cpu, wordcount, index)
SERIAL_SHARE = 1.5      # % of a keyed reduce's run in which the main thread alone
                        # works (rindex, rwordcount, groupby): a ceiling of 1/share
REDUCE_WORKLOADS = ("rindex", "rwordcount", "groupby")
# join: the shared data held once
JOIN_RSS = 1.3          # peak RSS at -j16 at most this times -j1's
JOIN_STARTUP = 1.2      # start-up at -j16 at most this times -j1's
JOIN_OVER_REF = 1.6     # rate after start-up at -jN at least this times one state's
JOIN_OVER_COPY = 0.85   # ... and at least this times a copy per worker's


def input_rows(data, verdict):
    """The records, gz and dryrun workloads: luaworkq against its own other
    format and the tool a user would otherwise pick."""
    out = []
    for w, tools in (("records", ["luaworkq", "tsv", "pool"]), ("gz", ["luaworkq", "plain", "zcat"]),
                     ("dryrun", ["luaworkq", "awk"])):
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
            elif w == "dryrun" and t == "luaworkq" and "awk" in med:
                target = f"<= {DRY_OVER_AWK:g}x awk"
                result = verdict(m <= DRY_OVER_AWK * med["awk"], "dry run", f"{m / med['awk']:.2f}x")
            out.append(f"| {w} | {x['label']} | {runs} | {fmt_s(m)} | {fmt_s(cpu)} | {target} | {result} |")
    if out:
        out = ["", "| input | tool | runs | median s | CPU s | target | result |",
               "|---|---|---:|---:|---:|---|---|"] + out
    return out


def output_rows(data, verdict):
    """The csvout workload: -f csv against Miller, Python's csv module and
    -f ndjson, every record (csvout) and a third (csvfilter). Ratios are
    the median of the rounds' ratios (paired)."""
    out = []
    for w, tools in (("csvout", ["luaworkq", "ndjson", "mlr", "py"]),
                     ("csvfilter", ["luaworkq", "mlr", "py"])):
        if w not in data:
            continue
        d = data[w]
        for t in tools:
            if t not in d:
                continue
            x = d[t]
            runs = len(x["wall"]) + len(x["bad"])
            if not x["wall"] or x["bad"]:
                out.append(f"| {w} | {x['label']} | {runs} | - | - | | "
                           + verdict(False, f"{w} {t}", "; ".join(x["bad"])) + " |")
                continue
            m, cpu = statistics.median(x["wall"]), statistics.median(x["cpu"])
            targets, results = [], []
            peers = [("mlr", "mlr", CSV_OUT_OVER_PEERS), ("py", "Python", CSV_OUT_OVER_PEERS),
                     ("ndjson", "-f ndjson", CSV_OUT_OVER_NDJSON)]
            for peer, name, limit in peers if t == "luaworkq" else []:
                q = paired(x, d[peer]) if peer in d and d[peer]["wall"] else None
                if q is None:
                    continue
                targets.append(f"<= {limit:g}x {name}")
                results.append(verdict(q <= limit, f"{w} vs {name}", f"{q:.2f}x"))
            out.append(f"| {w} | {x['label']} | {runs} | {fmt_s(m)} | {fmt_s(cpu)} | "
                       f"{'; '.join(targets)} | {'; '.join(results)} |")
    if out:
        out = ["| output | tool | runs | median s | CPU s | target | result |",
               "|---|---|---:|---:|---:|---|---|"] + out + [""]
    return out


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter="\t"))


def fmt_s(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def paired(d, a):
    """The median of the ratios of d's wall time to a's, round by round, or
    None without a round both ran in. scripts/bench runs the tools a target
    compares next to each other in every round, so a ratio is taken while
    the machine runs at one speed; this machine's speed wanders from one
    round to the next by more than the targets' margins, which a ratio of
    the two medians (shown beside it) takes from different rounds."""
    q = [d["byrun"][r] / a["byrun"][r] for r in d["byrun"] if r in a["byrun"]]
    return statistics.median(q) if q else None


def workload_rows(w, tools, meta, jobs, verdict):
    """The table rows of one workload, its targets checked."""
    med = {t: statistics.median(d["wall"]) for t, d in tools.items() if d["wall"]}
    rss = {t: statistics.median(d["rss"]) for t, d in tools.items() if d["rss"]}
    names = dict(ANCHOR_NAMES, luaworkq=f"-j{jobs}")
    size = meta.get(f"size_{w}", "")
    lines, first = [], True
    for t in TOOLS:
        if t not in tools:
            continue
        d = tools[t]
        runs = len(d["wall"]) + len(d["bad"])
        name = f"{w} ({size})" if first else ""
        first = False
        if t not in med:
            lines.append(f"| {name} | {d['label']} | {runs} | - | - | - | - | | "
                         + verdict(False, f"{w} {t}", "; ".join(d["bad"])) + " |")
            continue
        m = med[t]
        mine = [x for x in TARGETS if x[0] == w and x[1] == t]
        # the ratio shown: to the anchor of the row's time target, else to one state
        anchor = next((x[3] for x in mine if x[2] == "time"), "ref")
        pairs = {a: paired(d, tools[a]) for a in tools if a != t}
        ratio = ""
        if anchor in med and t != anchor:
            q = pairs[anchor]
            ratio = (f"{m / med[anchor]:.2f}× {names[anchor]}" if q is None else
                     f"{q:.2f}× {names[anchor]} (medians {m / med[anchor]:.2f}×)")
        targets, results = [], []
        if d["bad"]:
            results.append(verdict(False, f"{w} {t} output", "; ".join(d["bad"])))
        for _, _, measure, a, limit in mine:
            what = f"{w} {t} {measure} vs {names[a]}"
            if measure == "faster":
                targets.append(f"faster than {names[a]}")
                ok = a in med and m < med[a]
                detail = f"{med[a] / m:.2f}× faster" if a in med else f"no {a} run"
            elif measure == "time":
                targets.append(f"<= {limit:.2f}× {names[a]}")
                q = pairs.get(a)
                ok = q is not None and q <= limit
                detail = "" if q is not None else f"no {a} run"
            else:
                targets.append(f"RSS <= {limit:.2f}× {names[a]}")
                ok = a in rss and t in rss and rss[t] / rss[a] <= limit
                detail = f"{rss[t] / rss[a]:.2f}×" if a in rss and t in rss else f"no {a} run"
            results.append(verdict(ok, what, detail))
        cpu = statistics.median(d["cpu"])
        peak = f"{rss[t]:.0f}" if t in rss else "-"
        lines.append(f"| {name} | {d['label']} | {runs} | {fmt_s(m)} | {fmt_s(cpu)} | {peak} | {ratio} "
                     f"| {'; '.join(targets)} | {'; '.join(results)} |")
    return lines


def by_tool(rows_):
    """Rows (tool, label, run, wall s, status) grouped by tool, and the
    median wall time of each tool's good runs."""
    by = {}
    for tool, label, run, wall, status in rows_:
        d = by.setdefault(tool, {"label": label, "wall": [], "bad": []})
        if status == "ok":
            d["wall"].append(float(wall))
        else:
            d["bad"].append(f"run {run}: {status}")
    return by, {t: statistics.median(d["wall"]) for t, d in by.items() if d["wall"]}


def failed_row(tool, d, med, runs, out, verdict):
    """A tool without a good run, or with a bad one: its row says so."""
    if tool in med and not d["bad"]:
        return False
    out.append(f"| {d['label']} | {runs} | - | - | | "
               + verdict(False, f"exec {tool}", "; ".join(d["bad"])) + " |")
    return True


def exec_table(rows_, meta, out, verdict):
    """The exec workload: wall time and time per item of each tool; luaworkq
    -j8 must be at least as fast as xargs -P8 and faster than parallel -j8.
    luaworkq -j1 against a posix_spawn loop in C is what exec adds to an
    item."""
    if not rows_:
        return
    n = int(meta.get("exec_items", "1"))
    hashing = [r for r in rows_ if r[0].startswith("hash_")]
    rows_ = [r for r in rows_ if not r[0].startswith("hash_")]
    by, med = by_tool(rows_)
    lwq = med.get("luaworkq")
    if out:
        out.append("")
    out.append(f"| exec ({n} items, each runs `true ITEM`) | runs | median s | µs an item | target | result |")
    out.append("|---|---:|---:|---:|---|---|")
    for tool, d in by.items():
        runs = len(d["wall"]) + len(d["bad"])
        if failed_row(tool, d, med, runs, out, verdict):
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
    hash_table(hashing, meta, out, verdict)


def hash_table(rows_, meta, out, verdict):
    """Hashing small files: luaworkq --chunk 64 (one sha256sum per chunk)
    must be at least as fast as xargs -0 -P2 -n 64 sha256sum."""
    if not rows_:
        return
    n = int(meta.get("hash_items", "1"))
    by, med = by_tool(rows_)

    def paired(a, b):
        # the median of a's time over b's in the runs made one after the other
        if a not in by or b not in by or by[a]["bad"] or by[b]["bad"]:
            return None
        return statistics.median(x / y for x, y in zip(by[a]["wall"], by[b]["wall"]))
    out.append("")
    out.append(f"| hashing ({n} small files with sha256sum) | runs | median s | µs a file | target | result |")
    out.append("|---|---:|---:|---:|---|---|")
    for tool, d in by.items():
        runs = len(d["wall"]) + len(d["bad"])
        if failed_row(tool, d, med, runs, out, verdict):
            continue
        m = med[tool]
        target = result = ""
        ratio = paired("hash_chunked", "hash_xargs") if tool == "hash_xargs" else None
        if ratio:
            target = "luaworkq --chunk 64 at least as fast"
            result = verdict(ratio <= 1.0, "hashing vs xargs",
                             f"luaworkq {ratio:.2f}x the time, median of {runs} pairs")
        ratio = paired("hash_chunked_x4", "hash_xargs_x4") if tool == "hash_xargs_x4" else None
        if ratio:  # start-up weighs a quarter as much
            result = f"luaworkq {ratio:.2f}x the time, median of {runs} pairs"
        files = 4 * n if tool.endswith("_x4") else n
        out.append(f"| {d['label']} | {runs} | {fmt_s(m)} | {m / files * 1e6:.0f} | {target} | {result} |")


def join_table(rows_, meta, jobs, out, verdict):
    """The join workload: per tool, the median wall time, peak RSS,
    start-up (setup's return to item 1 done) and rate after start-up (items
    after the first over the time from item 1 to the last), as the job's
    clock lines give them; rates are compared round by round, as paired
    does."""
    if not rows_:
        return
    by = {}
    for tool, label, run, wall, rss, start, rate, status in rows_:
        d = by.setdefault(tool, {"label": label, "wall": [], "rss": [], "start": [],
                                 "rate": {}, "bad": []})
        if status != "ok":
            d["bad"].append(f"run {run}: {status}")
            continue
        d["wall"].append(float(wall))
        d["rss"].append(int(rss) / 1024)
        d["start"].append(float(start))
        d["rate"][run] = float(rate)

    def med(d, k):
        return statistics.median(d[k]) if d[k] else None

    def ratio(a, b):
        q = [a["rate"][r] / b["rate"][r] for r in a["rate"] if r in b["rate"]]
        return statistics.median(q) if q else None

    def fmt(x, f):
        return "-" if x is None else format(x, f)

    if out:
        out.append("")
    out.append(f"| join ({meta.get('join', '')}) | runs | median s | peak MB | start-up s | "
               f"items/s after start-up | target | result |")
    out.append("|---|---:|---:|---:|---:|---:|---|---|")
    for tool in ("ref", "luaworkq", "copy", "j1", "j16"):
        if tool not in by:
            continue
        d = by[tool]
        targets, results = [], []
        if d["bad"]:
            results.append(verdict(False, f"join {tool}", "; ".join(d["bad"])))
        if tool == "luaworkq":
            for other, limit in (("ref", JOIN_OVER_REF), ("copy", JOIN_OVER_COPY)):
                q = ratio(d, by[other]) if other in by else None
                targets.append(f"rate >= {limit:g}× {other}")
                results.append(verdict(q is not None and q >= limit, f"join rate vs {other}",
                                       f"{q:.2f}×" if q is not None else f"no {other} run"))
        if tool == "j16" and "j1" in by:
            for k, limit, what in (("rss", JOIN_RSS, "peak RSS"), ("start", JOIN_STARTUP, "start-up")):
                a, b = med(d, k), med(by["j1"], k)
                targets.append(f"{what} <= {limit:g}× -j1")
                results.append(verdict(a is not None and b and a <= limit * b, f"join {what} -j16 vs -j1",
                                       f"{a / b:.2f}×" if a is not None and b else "no run"))
        rate = statistics.median(d["rate"].values()) if d["rate"] else None
        runs = len(d["wall"]) + len(d["bad"])
        out.append(f"| {d['label']} | {runs} | {fmt(med(d, 'wall'), '.1f')} | {fmt(med(d, 'rss'), '.0f')} "
                   f"| {fmt(med(d, 'start'), '.3f')} | {fmt(rate, ',.0f')} | {'; '.join(targets)} "
                   f"| {'; '.join(results)} |")


def host_table(rows_, jobs, out, verdict):
    """The host's ceiling: from one --stats run a workload, the share of the
    run the main thread was busy writing and merging, and so how many
    workers it could feed before it is the bottleneck."""
    if not rows_:
        return
    out.append("")
    out.append(f"| host's ceiling (luaworkq -j{jobs} --stats) | batches | host busy s | of wall s | "
               f"host's share | workers the host could feed | target | result |")
    out.append("|---|---:|---:|---:|---:|---:|---|---|")
    for w, batches, busy, wall in rows_:
        if busy == "-":
            out.append(f"| {w} | - | - | - | - | - | >= {HOST_WORKERS} | "
                       + verdict(False, f"{w} host", "no --stats line") + " |")
            continue
        share = 100 * float(busy) / max(float(wall), 1e-6)
        feed = int(jobs) * float(wall) / max(float(busy), 1e-6)
        target = f">= {HOST_WORKERS} workers"
        ok = feed >= HOST_WORKERS
        if w in REDUCE_WORKLOADS:
            # the main thread alone works while it is busy: Amdahl's bound
            target += f"; share <= {SERIAL_SHARE}%"
            ok = ok and share <= SERIAL_SHARE
        out.append(f"| {w} | {batches} | {float(busy):.3f} | {float(wall):.3f} | {share:.2f}% | "
                   f"{feed:.0f} | {target} | {verdict(ok, f'{w} host ceiling')} |")


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
        d = data.setdefault(w, {}).setdefault(tool, {"label": label, "wall": [], "cpu": [],
                                                       "rss": [], "bad": [], "byrun": {}})
        if status == "ok":
            d["wall"].append(float(wall))
            d["byrun"][run] = float(wall)
            d["cpu"].append(float(user) + float(sys_))
            d["rss"].append(int(rss) / 1024)
        else:
            d["bad"].append(f"run {run}: {status}")

    out = []
    if any(w in data for w in WORKLOADS):
        out.append("| workload | tool | runs | median s | CPU s | peak MB | ratio | target | result |")
        out.append("|---|---|---:|---:|---:|---:|---|---|---|")
    for w in WORKLOADS:
        if w in data:
            out.extend(workload_rows(w, data[w], meta, jobs, verdict))
    out.append("")
    extra = input_rows(data, verdict)
    if extra:
        out += extra[1:] + [""]  # without its leading blank line
    out += output_rows(data, verdict)

    mem = rows(os.path.join(outdir, "memory.tsv"))
    start = rows(os.path.join(outdir, "startup.tsv"))
    if mem or start:
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
    host_table(rows(os.path.join(outdir, "host.tsv")), jobs, out, verdict)
    join_table(rows(os.path.join(outdir, "join.tsv")), meta, jobs, out, verdict)

    out.append("")
    out.append(f"Machine: {meta.get('nproc')} CPUs ({meta.get('cpu')}), Linux {meta.get('kernel')}; "
               f"{meta.get('luaworkq')}, {meta.get('lua')}, lua-cjson {meta.get('cjson')}, "
               f"Python {meta.get('python')}, GNU parallel {meta.get('parallel')}.")
    out.append(f"Load average (1, 5, 15 min) before: {meta.get('load_before')}; after: {meta.get('load_after')}.")
    cpu_note = (f"cpu: {meta['iters']} loop iterations an item ({meta.get('iters_us')} µs "
                f"of lua5.4 CPU time); " if "iters" in meta else "")
    out.append(f"Medians of runs alternating between the tools ({meta.get('runs')} round{'' if meta.get('runs') == '1' else 's'}, "
               f"the order turned back every other round); a time ratio is the median of the rounds' ratios "
               f"(the ratio of the medians beside it); "
               f"{cpu_note}ratios are to the anchors of the same run: one state is the job in one "
               f"lua5.4 state (an io.lines loop writing with cjson), halves two such processes at "
               f"once on half of the input each, their outputs not merged; CPU s is user + system "
               f"time, peak MB the largest process's peak RSS. Python peers: tasks of 1000 lines.")
    if "skew" in meta:
        out.append(f"skew: {meta['skew']}.")
    out.append("")
    if failures:
        out.append(f"Targets failed: {', '.join(failures)}." + ("" if check else " (--no-check: not an error)"))
    else:
        out.append("All targets met.")
    print("\n".join(out))
    sys.exit(1 if failures and check else 0)


if __name__ == "__main__":
    main()

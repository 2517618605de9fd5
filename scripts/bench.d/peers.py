"""Python peers of the benchmark jobs: the same work in pure Python.

    python3 peers.py WORKLOAD thread|pool JOBS FILE [ITERS] > output

WORKLOAD is cpu, trivial or wordcount (the Python equivalents of cpu.lua,
trivial.lua and wordcount.lua). The input is cut into tasks of 1000 lines
(Pool's chunksize); each task runs in a concurrent.futures.ThreadPoolExecutor
thread or a multiprocessing.Pool process, processes its lines and returns
either its lines of output already encoded with json.dumps (list workloads,
written in input order) or its lines' counts folded with merge (wordcount,
folded again in the parent). Output bytes equal luaworkq's.
"""
import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import Pool

CHUNK = 1000
ITERS = 0


def init(iters):
    global ITERS
    ITERS = iters


def dumps(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


# cpu.lua
def process_cpu(item):
    x, s = int(item), 0
    for _ in range(ITERS):
        x = (x * 1103515245 + 12345) % 2147483648
        s += x >> 16
    return {"h": s}


# trivial.lua
def process_trivial(item):
    return {"len": len(item)}


# wordcount.lua
WORD = re.compile(rb"[a-z]+")


def process_wordcount(line):
    counts = {}
    for word in WORD.findall(line.lower()):
        counts[word] = counts.get(word, 0) + 1
    return counts or None


def merge(a, b):
    for word, n in b.items():
        a[word] = a.get(word, 0) + n
    return a


def cpu_task(lines):
    return "".join(dumps(process_cpu(l)) + "\n" for l in lines)


def trivial_task(lines):
    return "".join(dumps(process_trivial(l)) + "\n" for l in lines)


def wordcount_task(lines):
    acc = {}
    for line in lines:
        r = process_wordcount(line)
        if r is not None:
            merge(acc, r)
    return acc


TASKS = {"cpu": cpu_task, "trivial": trivial_task, "wordcount": wordcount_task}


def main():
    workload, mode, jobs, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    iters = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    init(iters)
    task = TASKS[workload]
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    chunks = [lines[i:i + CHUNK] for i in range(0, len(lines), CHUNK)]
    out = sys.stdout
    if mode == "thread":
        executor = ThreadPoolExecutor(max_workers=jobs)
        results = executor.map(task, chunks)
    elif mode == "pool":
        executor = Pool(processes=jobs, initializer=init, initargs=(iters,))
        results = executor.imap(task, chunks)
    else:
        sys.exit("mode must be thread or pool")
    with executor:
        if workload == "wordcount":
            acc = None
            for r in results:
                acc = r if acc is None else merge(acc, r)
            out.write("null\n" if not acc else
                      dumps({k.decode(): v for k, v in acc.items()}) + "\n")
        else:
            for r in results:
                out.write(r)
    out.flush()


if __name__ == "__main__":
    main()

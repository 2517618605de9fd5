"""How fast luaworkq keeps --timeout and Ctrl-C while every worker waits on
a `sleep 100` child (started by luaworkq.exec, os.execute or io.popen).

    python3 stop-latency.py LUAWORKQ [RUNS]

Prints, per way and -j: the median (and max) time from the --timeout expiry
to the end of the run (-k, --timeout 1, one item a worker: the run's wall
time less 1 s, so it includes the start-up), and from SIGINT to the exit
once every child runs. Exit 1 if a child outlives a run.
"""
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
JOB = os.path.join(HERE, "sleeper.lua")


def sleeps_under(root):
    """The `sleep 100` processes descended from pid root."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines()[1:]]
    parent = {int(r[0]): int(r[1]) for r in rows}

    def under(pid):
        while pid > 1:
            if pid == root:
                return True
            pid = parent.get(pid, 1)
        return False
    return [int(r[0]) for r in rows if len(r) > 2 and r[2] == "sleep 100" and under(int(r[0]))]


def alive(pids):
    return [p for p in pids if os.path.exists(f"/proc/{p}") and
            open(f"/proc/{p}/stat").read().split()[2] != "Z"]


def timeout_run(lw, how, j):
    items = "".join(f"{i}\n" for i in range(j))
    t0 = time.monotonic()
    subprocess.run([lw, "-k", "-j", str(j), "--timeout", "1", "--set", "how=" + how, JOB],
                   input=items, capture_output=True, text=True)
    return time.monotonic() - t0 - 1.0


def sigint_run(lw, how, j):
    p = subprocess.Popen([lw, "-j", str(j), "--set", "how=" + how, JOB], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.stdin.write("".join(f"{i}\n" for i in range(j)).encode())
    p.stdin.close()
    while len(kids := sleeps_under(p.pid)) < j:
        time.sleep(0.01)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    code = p.wait()
    return time.monotonic() - t0, code, alive(kids)


def main():
    lw, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    left = []
    for how in ("exec", "os.execute", "io.popen"):
        for j in (2, 8):
            t = [timeout_run(lw, how, j) for _ in range(runs)]
            s = [sigint_run(lw, how, j) for _ in range(runs)]
            left += [pid for _, _, kids in s for pid in kids]
            ms = [x[0] * 1000 for x in s]
            print(f"{how:10s} -j{j}: --timeout expiry to the end {statistics.median(t) * 1000:5.1f} ms "
                  f"(max {max(t) * 1000:5.1f}); SIGINT to exit {statistics.median(ms):5.1f} ms "
                  f"(max {max(ms):5.1f}), exit {sorted({x[1] for x in s})}")
    if left:
        print(f"children left running: {left}")
        sys.exit(1)


if __name__ == "__main__":
    main()

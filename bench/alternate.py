#!/usr/bin/env python3
"""Runs each command in turn, N times over (so all see the same background load), and prints
each one's median, p10 and p90 wall time. Used for BENCHMARKS.md's `peercode run` figures:

    bench/alternate.py 40 bare:"/usr/bin/python3 hello.py" before:"OLD run hello.py" after:"NEW run hello.py"
"""
import statistics
import subprocess
import sys
import time


def main():
    n = int(sys.argv[1])
    cmds = [a.split(":", 1) for a in sys.argv[2:]]
    times = {label: [] for label, _ in cmds}
    for _ in range(n):
        for label, cmd in cmds:
            t = time.perf_counter()
            r = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[label].append((time.perf_counter() - t) * 1000)
            if r.returncode != 0:
                sys.exit(f"{label} failed with exit code {r.returncode}")
    for label, _ in cmds:
        v = sorted(times[label])
        print(f"{label:>12}: median {statistics.median(v):7.2f} ms  "
              f"p10 {v[len(v) // 10]:7.2f}  p90 {v[len(v) * 9 // 10]:7.2f}")
    print("load average", " ".join(open("/proc/loadavg").read().split()[:3]))


if __name__ == "__main__":
    main()

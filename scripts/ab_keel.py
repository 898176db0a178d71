#!/usr/bin/env python3
"""Times two keel builds against each other on one model: the ratio B/A.

    scripts/ab_keel.py KEEL_A KEEL_B MODEL.onnx [--threads N] [--turns N]
                       [--runs N] [--dim NAME=N]...

Both builds stay loaded side by side (`keel bench --serve`), pinned to the
same CPUs (0 for one thread, 0..N-1 for N), and take turns, the other one
frozen (SIGSTOP) so that none of its threads spins beside the one timed.
A turn is two untimed runs and --runs timed ones; its figure the median.
The order within a pair of turns alternates.  The whole is done twice,
once with A's process started first and once with B's: a process's start
order moved the ratio by up to 8 % on the 2-vCPU EPYC, so the result is
the geometric mean of the two medians of the per-pair ratios, printed
with each.
"""
import argparse
import json
import math
import os
import signal
import statistics
import subprocess


def start(keel, model, threads, dims):
    cpus = ",".join(str(c) for c in range(threads))
    cmd = ["taskset", "-c", cpus, keel, "bench", model, "--threads", str(threads), "--serve", "--warmup", "3"]
    for d in dims:
        cmd += ["--dim", d]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    json.loads(p.stdout.readline())  # ready
    return p


def turn(p, other, runs):
    os.kill(other.pid, signal.SIGSTOP)
    os.kill(p.pid, signal.SIGCONT)
    p.stdin.write(f"{runs + 2}\n")
    p.stdin.flush()
    return statistics.median(json.loads(p.stdout.readline())["ms"][2:])


def session(first, second, args):
    """Per-pair ratios second/first, with first's process started first."""
    pa = start(first, args.model, args.threads, args.dim)
    pb = start(second, args.model, args.threads, args.dim)
    ratios, ta, tb = [], [], []
    try:
        for i in range(args.turns):
            if i % 2 == 0:
                x = turn(pa, pb, args.runs)
                y = turn(pb, pa, args.runs)
            else:
                y = turn(pb, pa, args.runs)
                x = turn(pa, pb, args.runs)
            ta.append(x)
            tb.append(y)
            ratios.append(y / x)
    finally:
        for p in (pa, pb):
            os.kill(p.pid, signal.SIGCONT)
            p.stdin.close()
            p.wait()
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("keel_a")
    ap.add_argument("keel_b")
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--turns", type=int, default=10, help="turns of each build, per process order")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per turn")
    ap.add_argument("--dim", action="append", default=[], help="NAME=N for a symbolic input dim")
    args = ap.parse_args()
    a1, b1, r1 = session(args.keel_a, args.keel_b, args)  # A started first
    b2, a2, r2 = session(args.keel_b, args.keel_a, args)  # B started first: ratios A/B
    r2 = 1.0 / r2
    both = math.sqrt(r1 * r2)
    print(f"{os.path.basename(args.model)}, {args.threads} thread(s): B/A {both:.3f} "
          f"(A started first: {r1:.3f}, A {a1:.2f} ms, B {b1:.2f} ms; "
          f"B started first: {r2:.3f}, A {a2:.2f} ms, B {b2:.2f} ms)")


if __name__ == "__main__":
    main()

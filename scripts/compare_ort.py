#!/usr/bin/python3
"""Times keel against ONNX Runtime (CPU, npm onnxruntime-node) on the same
models, the same input and the same thread count, alternating the two in
one run, and checks that their outputs agree.

usage: scripts/compare_ort.py [--threads N] [--blocks N] [--block-runs N] [--drop N] [--warmup N]
                              [--first keel|ort] [--loads N] [--cpus LIST] [--keel PATH]
                              [--dim NAME=N]... (MODEL.onnx | zoo-name)...

A backbone name of the zoo (backbone_zoo/zoo.yaml, e.g. resnet50) is
exported first with `keel zoo export` (cached by content).  ONNX Runtime is installed once into
$KEEL_CACHE/ort, or $KEEL_ORT_DIR when set (npm install --ignore-scripts;
its binary ships inside the package).

Both engines stay loaded side by side (keel bench --serve, ort_bench.js
--serve) and take turns: --blocks turns each, the engine given by --first
starting, then alternating.  The engine whose turn it is not is frozen
(SIGSTOP; SIGCONT before its turn), so that no thread of it spins or
wakes while the other is timed.  A turn is --drop untimed runs (they
absorb the wake-up and the caches the other engine left) and then
--block-runs timed runs.  A drift of the machine's speed, which on a
shared host can be 30 % within a minute, so falls on both alike.  The
method should not favour either engine: the ratio must hold when turn
length (--block-runs), --drop or --first change.  Prints a table:
keel and ORT median latency over all timed runs, their ratio, the median
of --loads load times, each in a fresh process, the two engines taking
turns (keel: model load plus session creation, which packs the weights;
ORT: InferenceSession.create), peak RSS, and the largest difference
between the two outputs.  --dim gives both engines the value of a
symbolic input dimension (a model exported with a dynamic batch: --dim
N=8); others are 1.

Both engines run on the same CPUs: --cpus (e.g. 0 or 0,1), by default the
first N of the CPUs this process may use for --threads N, so that on a
shared machine a one-thread run of either is not timed on a busier core.

On two CPUs or more, before each turn (both engines frozen) the link
between the first two is measured (scripts/core_link.c, compiled once
into $KEEL_CACHE/bin with cc): the round trip of a flag passed between
them, whose median over the model's turns, and the range, the table
gives.  On the 2-vCPU EPYC the host moved between a near link (about
120 ns) and a far one (about 470 ns, data handed between the cores at a
third of the speed) within minutes, and runs on two threads with it.
"""
import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.environ.get("KEEL_CACHE", os.path.expanduser("~/.cache/keel"))


def ensure_ort():
    ort_dir = os.environ.get("KEEL_ORT_DIR") or os.path.join(CACHE, "ort")
    if not os.path.isdir(os.path.join(ort_dir, "node_modules", "onnxruntime-node")):
        os.makedirs(ort_dir, exist_ok=True)
        subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", ort_dir,
                        "onnxruntime-node"], check=True, stdout=sys.stderr)
    return ort_dir


def ensure_core_link():
    """scripts/core_link.c compiled (once per version of it), or None without a C compiler."""
    src = os.path.join(HERE, "core_link.c")
    with open(src, "rb") as f:
        tag = hashlib.sha256(f.read()).hexdigest()[:12]
    exe = os.path.join(CACHE, "bin", f"core_link-{tag}")
    if not os.path.exists(exe):
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        cc = os.environ.get("CC", "cc")
        if subprocess.run([cc, "-O2", "-pthread", "-o", exe + ".tmp", src]).returncode:
            print(f"compare_ort: {cc} could not build {src}: no link column", file=sys.stderr)
            return None
        os.replace(exe + ".tmp", exe)
    return exe


def link_ns(core_link):
    """The round trip between the first two of CPUS, in ns (core_link.c)."""
    a, b = sorted(CPUS)[:2]
    out = subprocess.run([core_link, str(a), str(b)], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["round_trip_ns"]


def resolve(model, keel):
    if model.endswith(".onnx"):
        # the zoo's folders are NAME-<content hash>
        folder = os.path.basename(os.path.dirname(os.path.abspath(model)))
        return model, re.sub(r"-[0-9a-f]{12}$", "", folder) or model
    # `keel zoo export NAME` prints "NAME  FOLDER" once the case is exported
    out = subprocess.run([keel, "zoo", "export", model], check=True, capture_output=True, text=True).stdout.split()
    return os.path.join(out[-1], "model.onnx"), model


CPUS = None  # set by main(): the CPUs both engines are pinned to


def pin():
    if CPUS:
        os.sched_setaffinity(0, CPUS)


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, preexec_fn=pin).stdout
    return json.loads(out.strip().splitlines()[-1])


def dim_args(dims):
    """--dim NAME=N for each symbolic dimension given, as both engines take it."""
    return [a for d in dims for a in ("--dim", d)]


def compare_outputs(keel, ort_env, path, tmp, threads, dims):
    inp, ort_out, keel_dir = (os.path.join(tmp, n) for n in ("input.npy", "ort_out.npy", "keel_out"))
    run_json(["node", os.path.join(HERE, "ort_bench.js"), path, "--runs", "1", "--warmup", "0",
              "--threads", str(threads), "--save-input", inp, "--output-npy", ort_out] + dim_args(dims), ort_env)
    subprocess.run([keel, "run", path, "-i", inp, "-o", keel_dir, "--npy"], check=True, capture_output=True)
    got = [f for f in os.listdir(keel_dir) if f.endswith(".npy")]
    a, b = np.load(os.path.join(keel_dir, sorted(got)[0])), np.load(ort_out)
    return float(np.max(np.abs(a.astype(np.float64) - b))) if a.shape == b.shape else float("inf")


class Server:
    """One engine loaded in its own process, timing blocks of runs on request."""

    def __init__(self, cmd, env=None):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                     preexec_fn=pin)
        self.ready = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.proc.args[0]} exited with status {self.proc.wait()}")
        return json.loads(line)

    def time(self, n):
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        return self._read()["ms"]

    def freeze(self):
        """Stops every thread of the engine until thaw()."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self):
        self.proc.send_signal(signal.SIGCONT)

    def close(self):
        self.proc.stdin.close()
        last = self._read()
        if self.proc.wait():
            raise RuntimeError(f"{self.proc.args[0]} exited with status {self.proc.returncode}")
        return last


def median(xs):
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else 0.5 * (xs[mid - 1] + xs[mid])


def load_ms(server):
    """The time from reading the file to a session that can run (keel's session creation packs the weights)."""
    return server.ready["load_ms"] + server.ready.get("session_ms", 0.0)


def time_side_by_side(keel, ort_env, path, args, core_link):
    """Median ms, median load ms and peak RSS KB of keel and of ORT, turn by
    turn, and the link's round trip before each turn (core_link, if not None)."""
    def start(engine, warmup):
        common = ["--threads", str(args.threads), "--warmup", str(warmup), "--serve"] + dim_args(args.dim)
        if engine == "ort":
            return Server(["node", os.path.join(HERE, "ort_bench.js"), path] + common, ort_env)
        return Server([keel, "bench", path] + common)

    # One load is one sample, and a shared host can double a single one:
    # each engine is loaded --loads times, alternately, in fresh processes.
    loads = {"keel": [], "ort": []}
    for i in range(args.loads - 1):
        for engine in (("ort", "keel") if i % 2 == 0 else ("keel", "ort")):
            server = start(engine, 0)
            loads[engine].append(load_ms(server))
            server.close()
    ort, kl = start("ort", args.warmup), start("keel", args.warmup)
    loads["ort"].append(load_ms(ort))
    loads["keel"].append(load_ms(kl))
    lat = {kl: [], ort: []}
    links = []
    first, second = (kl, ort) if args.first == "keel" else (ort, kl)
    ort.freeze()
    kl.freeze()
    for b in range(args.blocks):
        for engine in ((first, second) if b % 2 == 0 else (second, first)):
            if core_link:
                links.append(link_ns(core_link))
            engine.thaw()
            lat[engine] += engine.time(args.drop + args.block_runs)[args.drop:]
            engine.freeze()
    ort.thaw()
    kl.thaw()
    kl_rss, ort_rss = kl.close()["peak_rss_kb"], ort.close()["peak_rss_kb"]
    return (median(lat[kl]), median(loads["keel"]), kl_rss), (median(lat[ort]), median(loads["ort"]), ort_rss), links


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--blocks", type=int, default=6, help="turns each engine takes")
    ap.add_argument("--block-runs", type=int, default=8, help="timed runs per turn")
    ap.add_argument("--drop", type=int, default=2, help="untimed runs that start each turn")
    ap.add_argument("--first", choices=("keel", "ort"), default="ort", help="the engine of the first turn")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs after loading")
    ap.add_argument("--loads", type=int, default=5, help="loads of each engine, in fresh processes")
    ap.add_argument("--cpus", help="comma-separated CPU numbers both engines run on")
    ap.add_argument("--keel", default=os.path.join(ROOT, "cli", "keel"))
    ap.add_argument("--dim", action="append", default=[], metavar="NAME=N",
                    help="a value for a symbolic input dimension, for both engines (a dynamic batch: --dim N=8)")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    if args.blocks < 1 or args.block_runs < 1 or args.blocks * args.block_runs < 7:
        ap.error("want at least 7 timed runs per engine (--blocks x --block-runs)")
    if args.drop < 0:
        ap.error("--drop wants 0 or more")
    if args.loads < 1:
        ap.error("--loads wants at least 1")
    global CPUS
    CPUS = ({int(c) for c in args.cpus.split(",")} if args.cpus
            else set(sorted(os.sched_getaffinity(0))[: args.threads]))
    ort_env = dict(os.environ, KEEL_ORT_DIR=ensure_ort())
    core_link = ensure_core_link() if len(CPUS) >= 2 else None
    rows = []
    for model in args.models:
        path, name = resolve(model, args.keel)
        (k, k_load, k_rss), (o, o_load, o_rss), links = time_side_by_side(args.keel, ort_env, path, args, core_link)
        with tempfile.TemporaryDirectory() as tmp:
            diff = compare_outputs(args.keel, ort_env, path, tmp, args.threads, args.dim)
        link = f"{median(links):.0f} ({min(links):.0f}-{max(links):.0f})" if links else "-"
        rows.append((name, k, o, k / o, k_load, o_load, k_rss / 1024, o_rss / 1024, diff, link))
        print(f"{name}: keel {k:.2f} ms, ORT {o:.2f} ms, link {link} ns", file=sys.stderr)
    print(f"threads {args.threads} on CPUs {','.join(map(str, sorted(CPUS)))}; {args.blocks} turns each of "
          f"{args.drop} untimed + {args.block_runs} timed runs, alternating ({args.first} first), the other engine "
          f"frozen, after {args.warmup} warm-up; median of {args.blocks * args.block_runs} runs; "
          f"load: median of {args.loads} loads" + (f"; {' '.join(args.dim)}" if args.dim else ""))
    print("| model | keel ms | ORT ms | keel/ORT | keel load ms | ORT load ms | keel RSS MB | ORT RSS MB | max abs diff "
          "| link ns |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.0f} | {r[5]:.0f} | {r[6]:.0f} | {r[7]:.0f} "
              f"| {r[8]:.2g} | {r[9]} |")


if __name__ == "__main__":
    main()

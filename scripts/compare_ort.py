#!/usr/bin/python3
"""Times keel against ONNX Runtime (CPU, npm onnxruntime-node) on the same
models, the same input and the same thread count, alternating the two in
one run, and checks that their outputs agree.

usage: scripts/compare_ort.py [--threads N] [--runs N] [--warmup N] [--rounds N]
                              [--cpus LIST] [--keel PATH] (MODEL.onnx | backbone-name)...

A backbone name (from scripts/backbones.txt, e.g. resnet50_op13) is exported
first with scripts/export_backbones.py.  ONNX Runtime is installed once into
$KEEL_CACHE/ort, or $KEEL_ORT_DIR when set (npm install --ignore-scripts;
its binary ships inside the package).  Prints a table: keel and ORT median latency (the mean of the
rounds' medians), their ratio, load times, peak RSS, and the largest
difference between the two outputs.

Both engines run on the same CPUs: --cpus (e.g. 0 or 0,1), by default the
first N of the CPUs this process may use for --threads N, so that on a
shared machine a one-thread run of either is not timed on a busier core.
"""
import argparse
import json
import os
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


def resolve(model):
    if model.endswith(".onnx"):
        return model, os.path.basename(os.path.dirname(os.path.abspath(model))) or model
    out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "export_backbones.py"), "--strict",
                          "--cache", os.path.join(CACHE, "backbones"), model],
                         check=True, capture_output=True, text=True).stdout.split()
    return os.path.join(out[-1], "model.onnx"), model


CPUS = None  # set by main(): the CPUs both engines are pinned to


def pin():
    if CPUS:
        os.sched_setaffinity(0, CPUS)


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, preexec_fn=pin).stdout
    return json.loads(out.strip().splitlines()[-1])


def compare_outputs(keel, ort_env, path, tmp, threads):
    inp, ort_out, keel_dir = (os.path.join(tmp, n) for n in ("input.npy", "ort_out.npy", "keel_out"))
    run_json(["node", os.path.join(HERE, "ort_bench.js"), path, "--runs", "1", "--warmup", "0",
              "--threads", str(threads), "--save-input", inp, "--output-npy", ort_out], ort_env)
    subprocess.run([keel, "run", path, "-i", inp, "-o", keel_dir, "--npy"], check=True, capture_output=True)
    got = [f for f in os.listdir(keel_dir) if f.endswith(".npy")]
    a, b = np.load(os.path.join(keel_dir, sorted(got)[0])), np.load(ort_out)
    return float(np.max(np.abs(a.astype(np.float64) - b))) if a.shape == b.shape else float("inf")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cpus", help="comma-separated CPU numbers both engines run on")
    ap.add_argument("--keel", default=os.path.join(ROOT, "cli", "keel"))
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    global CPUS
    CPUS = ({int(c) for c in args.cpus.split(",")} if args.cpus
            else set(sorted(os.sched_getaffinity(0))[: args.threads]))
    ort_env = dict(os.environ, KEEL_ORT_DIR=ensure_ort())
    timing = ["--threads", str(args.threads), "--runs", str(args.runs), "--warmup", str(args.warmup)]
    rows = []
    for model in args.models:
        path, name = resolve(model)
        keel_runs, ort_runs = [], []
        for _ in range(args.rounds):  # alternate so drifts hit both alike
            ort_runs.append(run_json(["node", os.path.join(HERE, "ort_bench.js"), path] + timing, ort_env))
            keel_runs.append(run_json([args.keel, "bench", path, "--json"] + timing))
        with tempfile.TemporaryDirectory() as tmp:
            diff = compare_outputs(args.keel, ort_env, path, tmp, args.threads)
        k = sum(r["median_ms"] for r in keel_runs) / len(keel_runs)
        o = sum(r["median_ms"] for r in ort_runs) / len(ort_runs)
        rows.append((name, k, o, k / o, keel_runs[0]["load_ms"], ort_runs[0]["load_ms"],
                     max(r["peak_rss_kb"] for r in keel_runs) / 1024, max(r["peak_rss_kb"] for r in ort_runs) / 1024, diff))
        print(f"{name}: keel {k:.2f} ms, ORT {o:.2f} ms", file=sys.stderr)
    print(f"threads {args.threads} on CPUs {','.join(map(str, sorted(CPUS)))}, median of {args.runs} runs after {args.warmup} warm-up, {args.rounds} alternating rounds")
    print("| model | keel ms | ORT ms | keel/ORT | keel load ms | ORT load ms | keel RSS MB | ORT RSS MB | max abs diff |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.0f} | {r[5]:.0f} | {r[6]:.0f} | {r[7]:.0f} | {r[8]:.2g} |")


if __name__ == "__main__":
    main()

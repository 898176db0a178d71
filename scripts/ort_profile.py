#!/usr/bin/env python3
"""Sums an ONNX Runtime profile (ort_bench.js --profile PREFIX) per node and
per op: mean microseconds per run, slowest first, with each node's output
shape.  Set beside `keel bench --top N` to see where the two differ.

    scripts/ort_profile.py PREFIX_*.json [--runs N] [--top N]
"""
import argparse
import json
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--runs", type=int, default=0, help="runs traced (default: the most calls of one node)")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    with open(args.trace) as f:
        events = json.load(f)
    per_node, calls, shape, op = defaultdict(float), defaultdict(int), {}, {}
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        name = e["name"][: -len("_kernel_time")]
        per_node[name] += e["dur"]
        calls[name] += 1
        op[name] = e["args"].get("op_name", "?")
        shape[name] = e["args"].get("output_type_shape", "")
    runs = args.runs or max(calls.values(), default=1)
    per_op = defaultdict(float)
    for n, us in per_node.items():
        per_op[op[n]] += us / runs
    total = sum(per_op.values())
    print(f"ORT kernel time per run: {total / 1000:.3f} ms over {len(per_node)} nodes ({runs} runs)")
    for o, us in sorted(per_op.items(), key=lambda kv: -kv[1]):
        print(f"  {o:24s} {us / 1000:8.3f} ms {100 * us / total:5.1f}%")
    print("slowest nodes:")
    for n, us in sorted(per_node.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {n:60s} {op[n]:14s} {us / runs / 1000:8.3f} ms  {json.dumps(shape[n])}")


if __name__ == "__main__":
    main()

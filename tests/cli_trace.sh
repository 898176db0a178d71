#!/bin/sh
# `keel bench --trace FILE`: a Chrome trace-event file.  The model: Pad,
# Conv (a name with a quote and a backslash), BatchNormalization, Add of
# the input, Relu, Reshape, MatMul, Softmax (no name).  keel fuses the
# first five into the Conv and runs the Reshape as a view, so each run has
# three steps that run a kernel: the Conv, the MatMul and the Softmax.
# Checked: the file is JSON with "traceEvents"; bench --json says 4 steps,
# 3 of them kernels; there is one step event per kernel step per timed run,
# in step order inside its run's event, named after its node (the op type
# for the nameless Softmax) with the op type as category; durations are
# not negative; the args give output shapes, MACs, GFLOP/s, instruction
# set and threads; the load, the session's creation and its passes are
# events (the passes inside the creation).  Then --threads 2 in text mode,
# a trace file that cannot be written, and --trace with --serve.
keel="${KEEL:-./cli/keel}"
[ -x "$keel" ] || { echo "cli_trace: $keel is not built"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-cli-trace.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
srcdir="${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
/usr/bin/python3 "$srcdir/tests/fused_cnn.py" "$tmp/model.onnx" trace_me 'conv "a"\b' ||
    { echo "cli_trace: python3-onnx is needed to build the model"; exit 1; }
model="$tmp/model.onnx"
. "$srcdir/tests/cli_tally.sh"

# check_trace TRACE BENCH_JSON RUNS THREADS: the checks above; prints what failed
check_trace() {
    /usr/bin/python3 - "$@" <<'EOF'
import json
import sys

trace_path, bench_path, runs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bench = json.load(open(bench_path))
trace = json.load(open(trace_path))
events = trace["traceEvents"]
assert isinstance(events, list), "traceEvents is not a list"
done = [e for e in events if e["ph"] == "X"]
for e in done:
    for key in ("name", "cat", "ts", "dur", "pid", "tid", "args"):
        assert key in e, f"event without {key}: {e}"
    assert e["dur"] >= 0 and e["ts"] >= 0, f"negative time: {e}"

# the creation's phases
by_name = {e["name"]: e for e in done if e["cat"] in ("load", "session", "pass")}
load, create = by_name.get("load"), by_name.get("session_create")
assert load and load["cat"] == "load" and load["dur"] > 0, f"no load event: {load}"
assert create and create["cat"] == "session" and create["dur"] > 0, f"no session_create event: {create}"
assert load["ts"] + load["dur"] <= create["ts"], "the session is created before the load ends"
passes = [e for e in done if e["cat"] == "pass"]
for name in ("fold", "fuse_batchnorm", "fuse_activation", "arena", "prepare"):
    assert name in by_name, f"no event for pass {name}"
for p in passes:  # planned at creation: the shapes are static
    assert create["ts"] <= p["ts"] and p["ts"] + p["dur"] <= create["ts"] + create["dur"] + 0.002, \
        f"pass {p['name']} outside session_create"

# the runs and their steps
assert (bench["steps"], bench["kernel_steps"]) == (4, 3), \
    f"bench --json: {bench['steps']} steps, {bench['kernel_steps']} kernels; want 4 and 3"
run_events = sorted((e for e in done if e["cat"] == "run"), key=lambda e: e["ts"])
assert len(run_events) == runs, f"{len(run_events)} run events, want {runs}"
assert run_events[0]["ts"] >= create["ts"] + create["dur"], "a run before the session"
steps = [e for e in done if e["cat"] not in ("load", "session", "pass", "run")]
assert len(steps) == runs * bench["kernel_steps"], \
    f"{len(steps)} step events, want {runs} runs x {bench['kernel_steps']} kernel steps"
want = [('conv "a"\\b', "Conv", "float[1,3,8,8]"), ("fc", "MatMul", "float[1,10]"),
        ("Softmax", "Softmax", "float[1,10]")]
for r, run in enumerate(run_events):
    inside = sorted((e for e in steps if run["ts"] <= e["ts"] and
                     e["ts"] + e["dur"] <= run["ts"] + run["dur"] + 0.002), key=lambda e: e["ts"])
    got = [(e["name"], e["cat"], e["args"]["outputs"]) for e in inside]
    assert got == want, f"run {r}: steps {got}, want {want}"
    for a, b in zip(inside, inside[1:]):
        assert a["ts"] + a["dur"] <= b["ts"] + 0.002, f"run {r}: steps overlap: {a} {b}"
        assert a["args"]["step"] < b["args"]["step"], f"run {r}: steps out of order"
for e in steps:
    a = e["args"]
    assert a["isa"] == bench["isa"] and a["threads"] == threads, f"isa/threads: {a}"
    assert a["gflops"] >= 0 and a["fused"].startswith(("Pad+" + e["cat"], e["cat"])), a
    assert (a["macs"] > 0) == (e["cat"] in ("Conv", "MatMul")), f"MACs: {e}"
EOF
}

"$keel" bench "$model" --runs 3 --warmup 1 --trace "$tmp/t.json" --json >"$tmp/bench.json" 2>"$tmp/out"
if [ $? -ne 0 ]; then
    bad "bench --trace --json exits 0"
elif ! check_trace "$tmp/t.json" "$tmp/bench.json" 3 1 >"$tmp/out" 2>&1; then
    bad "bench --runs 3 --trace: the trace's events"
else
    ok "bench --runs 3 --trace: creation, passes, 3 runs x 3 kernel steps"
fi

"$keel" bench "$model" --runs 2 --warmup 0 --threads 2 --profile --trace "$tmp/t2.json" >"$tmp/out" 2>&1 &&
    "$keel" bench "$model" --runs 1 --warmup 0 --json >"$tmp/bench.json" 2>>"$tmp/out"
if [ $? -ne 0 ]; then
    bad "bench --threads 2 --profile --trace exits 0"
elif ! grep -q "^trace: *$tmp/t2.json$" "$tmp/out" || ! grep -q "^slowest nodes:" "$tmp/out"; then
    bad "bench --profile --trace: says where the trace went and still profiles"
elif ! check_trace "$tmp/t2.json" "$tmp/bench.json" 2 2 >"$tmp/out" 2>&1; then
    bad "bench --threads 2 --trace: the trace's events"
else
    ok "bench --threads 2 --profile --trace (text)"
fi

"$keel" bench "$model" --runs 1 --trace "$tmp/no/such/dir/t.json" >"$tmp/out" 2>&1
if [ $? -ne 0 ] && grep -q "cannot write $tmp/no/such/dir/t.json" "$tmp/out"; then
    ok "bench --trace to a folder that does not exist fails, naming the file"
else
    bad "bench --trace to a folder that does not exist"
fi

echo 1 | "$keel" bench "$model" --serve --trace "$tmp/t3.json" >"$tmp/out" 2>&1
if [ $? -eq 2 ] && grep -q "serve" "$tmp/out" && [ ! -e "$tmp/t3.json" ]; then
    ok "bench --serve --trace refused"
else
    bad "bench --serve --trace refused (exit 2)"
fi

tally cli_trace

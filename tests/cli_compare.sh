#!/bin/sh
# Validating a model beyond pass/fail, on the models of
# tests/validation_models.py (a small CNN and perturbed copies):
# - keel compare names the perturbed node as the first divergent, in text
#   and JSON (weights of conv3; the alpha of act2), finds nothing between
#   a model and its renamed copy (values paired by position), and its
#   --svg is an SVG with a point per compared value;
# - keel run --dump writes one .npy per value, index.json lists each with
#   its node, op type, dtype and shape (file names made safe, a repeat
#   given ~N), the files hold those shapes, and the dumped output is the
#   output keel run -o writes;
# - keel check's trace, on a case whose expected output comes from a
#   perturbed model, says keel's two paths agree (the model is at fault),
#   and on a case float32 accumulation cannot meet (weights that cancel,
#   expected outputs from float64), names the node where keel's fast path
#   departs from its reference path.
keel="${KEEL:-./cli/keel}"
[ -x "$keel" ] || { echo "cli_compare: $keel is not built"; exit 1; }
keel="$(cd "$(dirname "$keel")" && pwd)/$(basename "$keel")" # the tests run in $tmp
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-cli-compare.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
srcdir="${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
/usr/bin/python3 "$srcdir/tests/validation_models.py" "$tmp" ||
    { echo "cli_compare: python3-onnx and python3-numpy are needed to build the models"; exit 1; }
. "$srcdir/tests/cli_tally.sh"
cd "$tmp" || exit 1

# first_divergent JSON NODE OP: the JSON's first divergent is that node, and
# every value before it is within tolerance
first_divergent() {
    /usr/bin/python3 - "$@" <<'EOF'
import json
import sys

doc, node, op = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
fd = doc["first_divergent"]
assert fd and fd["node"] == node and fd["op_type"] == op, f"first_divergent is {fd}"
assert fd["exceeds"] and fd["max_abs"] > 0 and fd["max_rel"] > 0 and fd["max_ulp"] > 0, fd
names = [v["output"] for v in doc["values"]]
at = names.index(fd["output"])
assert at > 0 and not any(v["exceeds"] for v in doc["values"][:at]), "a value before it exceeds"
assert doc["values"][0]["node"] is None, "the input is not the first value"
EOF
}

for pair in "weights.onnx conv3 Conv c3" "attr.onnx act2 LeakyRelu l2"; do
    set -- $pair
    "$keel" compare a.onnx "$1" >out 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q "^first divergent: node '$2' ($3), output '$4'" out; then
        ok "compare a.onnx $1: text names $2 ($3), exit 1"
    else
        bad "compare a.onnx $1: text names $2 ($3), exit 1 (exit $rc)"
    fi
    "$keel" compare a.onnx "$1" --json >cmp.json 2>out
    if [ $? -eq 1 ] && first_divergent cmp.json "$2" "$3" >>out 2>&1; then
        ok "compare a.onnx $1 --json: first_divergent is $2"
    else
        cat cmp.json >>out
        bad "compare a.onnx $1 --json: first_divergent is $2"
    fi
done

"$keel" compare a.onnx renamed.onnx --json >cmp.json 2>out
rc=$?
if [ $rc -eq 0 ] && /usr/bin/python3 - >>out 2>&1 <<'EOF'
import json
doc = json.load(open("cmp.json"))
assert doc["first_divergent"] is None and doc["aligned"], doc
assert len(doc["values"]) == 10, len(doc["values"])
assert all(v["paired_by"] == "position" and v["max_abs"] == 0 for v in doc["values"]), doc["values"]
EOF
then
    ok "compare a.onnx renamed.onnx: 10 values paired by position, none differs"
else
    bad "compare a.onnx renamed.onnx: 10 values paired by position, none differs (exit $rc)"
fi

"$keel" compare a.onnx weights.onnx -i x=x.npy --svg where.svg -q >out 2>&1
if [ $? -eq 1 ] && /usr/bin/python3 - >>out 2>&1 <<'EOF'
import xml.etree.ElementTree as ET
root = ET.parse("where.svg").getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
points = root.findall(ns + "circle")
assert len(points) == 10, f"{len(points)} points"
assert any("conv3" in (p.findtext(ns + "title") or "") for p in points), "no point for conv3"
assert root.find(ns + "polyline") is not None, "no line"
assert any("tolerance" in (t.text or "") for t in root.iter(ns + "text")), "no tolerance line"
EOF
then
    ok "compare --svg: a valid SVG, a point per value"
else
    bad "compare --svg: a valid SVG, a point per value"
fi

"$keel" run a.onnx -i x=x.npy --dump dump -o outs --npy >out 2>&1
rc=$?
if [ $rc -eq 0 ] && /usr/bin/python3 - >>out 2>&1 <<'EOF'
import json
import os
import numpy as np
index = json.load(open("dump/index.json"))
values = index["values"]
names = [v["name"] for v in values]
assert names == ["x", "c1", "t/1", "c2", "l2", "c3", "s", "g", "t_1", "y"], names
files = sorted(f for f in os.listdir("dump") if f.endswith(".npy"))
assert files == sorted(v["file"] for v in values), (files, [v["file"] for v in values])
by_name = {v["name"]: v for v in values}
assert by_name["t/1"]["file"] == "t_1.npy" and by_name["t_1"]["file"].startswith("t_1~"), by_name
assert by_name["c3"]["node"] == "conv3" and by_name["c3"]["op_type"] == "Conv", by_name["c3"]
assert by_name["x"]["node"] is None and by_name["x"]["node_index"] == -1
for v in values:
    a = np.load(os.path.join("dump", v["file"]))
    assert list(a.shape) == v["shape"] and v["dtype"] == "float", v
assert np.array_equal(np.load("dump/x.npy"), np.load("x.npy")), "the dumped input differs"
assert np.array_equal(np.load("dump/y.npy"), np.load("outs/y.npy")), "the dumped output differs from -o's"
EOF
then
    ok "run --dump: 10 files, index.json lists them"
else
    bad "run --dump: 10 files, index.json lists them (exit $rc)"
fi

"$keel" check case_model >out 2>&1
if [ $? -eq 1 ] && grep -q "FAIL case_model" out &&
    grep -q "trace: keel's fast path agrees with its reference path.*the difference lies in the model" out; then
    ok "check case_model: fails, the trace puts it on the model"
else
    bad "check case_model: fails, the trace puts it on the model"
fi

"$keel" check case_keel >out 2>&1
if [ $? -eq 1 ] && grep -q "FAIL case_keel" out &&
    grep -q "trace: keel's fast path departs from its reference path first at node 'relu' (Relu) (which the fast path computes in node 'fc1' (Gemm), fused)" out &&
    grep -q "reference path's outputs match the expected ones" out; then
    ok "check case_keel: fails, the trace names fc1"
else
    bad "check case_keel: fails, the trace names fc1"
fi

"$keel" check case_keel --no-trace >out 2>&1
if [ $? -eq 1 ] && ! grep -q "trace:" out; then
    ok "check --no-trace: no trace"
else
    bad "check --no-trace: no trace"
fi

"$keel" check case_ok --trace >out 2>&1
if [ $? -eq 0 ] && grep -q "trace: keel's fast path agrees with its reference path on all" out; then
    ok "check --trace on a passing case: the paths agree"
else
    bad "check --trace on a passing case: the paths agree"
fi

"$keel" compare a.onnx missing.onnx >out 2>&1
if [ $? -eq 2 ] && grep -q "missing.onnx" out; then
    ok "compare with a missing model: exit 2, names the file"
else
    bad "compare with a missing model: exit 2, names the file"
fi

tally cli_compare

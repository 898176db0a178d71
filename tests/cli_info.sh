#!/bin/sh
# `keel info --passes` and `--passes-off` on a tiny Conv, BatchNormalization,
# Relu, Add model: fuse_batchnorm takes the BatchNormalization, and
# fuse_activation the Relu, into the Conv (text and JSON); with
# --passes-off fuse_batchnorm the BatchNormalization survives (and the
# Relu, which then follows it rather than the Conv, stays too); an unknown
# pass name fails info, run, bench and check with the library's message
# naming it; a check with both rewrites off matches a run with them on.
keel="${KEEL:-./cli/keel}"
[ -x "$keel" ] || { echo "cli_info: $keel is not built"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-cli-info.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'EOF' || { echo "cli_info: python3-onnx is needed to build the model"; exit 1; }
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
rng = np.random.default_rng(0)
inits = [nh.from_array(rng.standard_normal((3, 3, 3, 3)).astype(np.float32), "w"),
         nh.from_array(rng.standard_normal(3).astype(np.float32), "scale"),
         nh.from_array(rng.standard_normal(3).astype(np.float32), "bias"),
         nh.from_array(rng.standard_normal(3).astype(np.float32), "mean"),
         nh.from_array(rng.random(3).astype(np.float32) + 0.5, "var")]
nodes = [h.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
         h.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["b"], name="bn"),
         h.make_node("Relu", ["b"], ["r"], name="relu"),
         h.make_node("Add", ["r", "x"], ["y"], name="add")]
graph = h.make_graph(nodes, "conv_bn_relu_add", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 3, 8, 8])], inits)
model = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)], doc_string="a doc \"quoted\"",
                     domain="org.example", model_version=7)
h.set_model_props(model, {"license": "MIT", "author": "keel tests"})
onnx.save(model, os.path.join(out, "model.onnx"))
# a backend-test case of it; output_0.pb is written below, by keel run
os.makedirs(os.path.join(out, "case", "test_data_set_0"))
onnx.save(model, os.path.join(out, "case", "model.onnx"))
x = nh.from_array(rng.standard_normal((1, 3, 8, 8)).astype(np.float32), "x")
with open(os.path.join(out, "case", "test_data_set_0", "input_0.pb"), "wb") as f:
    f.write(x.SerializeToString())
EOF
model="$tmp/model.onnx"
srcdir="${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
. "$srcdir/tests/cli_tally.sh"

# pass_line PASS: the line of `keel info --passes` output ($tmp/out) for PASS
pass_line() { sed -n '/^passes:$/,$p' "$tmp/out" | grep -E "^  $1 "; }

"$keel" info "$model" --passes >"$tmp/out" 2>&1
if [ $? -ne 0 ]; then
    bad "info --passes exits 0"
elif ! pass_line model | grep -q 'Conv 1 BatchNormalization 1 Relu 1 Add 1$'; then
    bad "info --passes: record 0 is the model as loaded, with its full histogram"
elif ! pass_line fuse_batchnorm | grep -Eq '^  fuse_batchnorm +3 nodes +-1 .*-BatchNormalization 1$'; then
    bad "info --passes: fuse_batchnorm removes the BatchNormalization"
elif ! pass_line fuse_activation | grep -Eq '^  fuse_activation +2 nodes +-1 .*-Relu 1$'; then
    bad "info --passes: fuse_activation removes the Relu"
else
    ok "info --passes: fuse_batchnorm removes the BatchNormalization, fuse_activation the Relu"
fi

"$keel" info "$model" --passes --json >"$tmp/out" 2>&1 &&
/usr/bin/python3 - "$tmp/out" <<'EOF'
import json
import sys

info = json.load(open(sys.argv[1]))
passes = {p["pass"]: p for p in info["passes"]}
assert info["passes"][0]["pass"] == "model", info["passes"][0]
assert info["passes"][0]["ops"] == {"Conv": 1, "BatchNormalization": 1, "Relu": 1, "Add": 1}, info["passes"][0]
assert passes["fuse_batchnorm"]["nodes"] == 3 and "BatchNormalization" not in passes["fuse_batchnorm"]["ops"]
assert passes["fuse_activation"]["nodes"] == 2 and "Relu" not in passes["fuse_activation"]["ops"]
assert all(isinstance(p["note"], str) for p in info["passes"])
EOF
if [ $? -eq 0 ]; then ok "info --passes --json"; else bad "info --passes --json"; fi

"$keel" info "$model" --passes --passes-off fuse_batchnorm >"$tmp/out" 2>&1
if [ $? -ne 0 ]; then
    bad "info --passes-off fuse_batchnorm exits 0"
elif pass_line fuse_batchnorm >/dev/null; then
    bad "info --passes-off fuse_batchnorm: the pass does not run"
elif ! pass_line prepare | grep -q 'nodes'; then
    bad "info --passes-off fuse_batchnorm: no record for prepare"
elif sed -n '/^passes:$/,$p' "$tmp/out" | grep -q -- '-BatchNormalization'; then
    bad "info --passes-off fuse_batchnorm: the BatchNormalization survives"
else
    ok "info --passes-off fuse_batchnorm: the BatchNormalization survives"
fi

# the rewrites off compute what they compute on
"$keel" run "$model" -i "$tmp/case/test_data_set_0/input_0.pb" -o "$tmp/run" >"$tmp/out" 2>&1 &&
    cp "$tmp/run/y.pb" "$tmp/case/test_data_set_0/output_0.pb" &&
    "$keel" check "$tmp/case" --passes-off fuse_batchnorm,fuse_activation >"$tmp/out" 2>&1
if [ $? -eq 0 ]; then
    ok "check --passes-off fuse_batchnorm,fuse_activation matches run"
else
    bad "check --passes-off fuse_batchnorm,fuse_activation matches run"
fi

# an unknown pass: exit nonzero, the library's message naming it
for cmd in info run bench check; do
    case $cmd in
    run) set -- "$model" -i "$tmp/case/test_data_set_0/input_0.pb" ;;
    check) set -- "$tmp/case" ;;
    *) set -- "$model" ;;
    esac
    "$keel" $cmd "$@" --passes-off nosuch >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -ne 0 ] && grep -q "passes_off: no pass 'nosuch'" "$tmp/out"; then
        ok "$cmd --passes-off nosuch fails naming it"
    else
        bad "$cmd --passes-off nosuch (exit $rc, expected nonzero and a message naming 'nosuch')"
    fi
done

# the file's own description and metadata_props
"$keel" info "$model" --json >"$tmp/out" 2>&1
if /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["metadata"] == {"license": "MIT", "author": "keel tests"}, j["metadata"]
assert (j["domain"], j["model_version"], j["doc_string"]) == ("org.example", 7, "a doc \"quoted\""), j
' "$tmp/out"; then
    ok "info --json gives the metadata, domain, version and doc string"
else
    bad "info --json metadata"
fi
"$keel" info "$model" | grep -q "^metadata:    license = MIT$" && ok "info prints the metadata" || bad "info text metadata"

tally cli_info

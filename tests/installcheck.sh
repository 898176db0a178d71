#!/bin/sh
# Builds the examples outside the tree against the installed keel, with
# nothing but pkg-config, and runs them: top5 on ResNet-50 (must match
# `keel run` on the same input) and custom_op on a model that calls an
# operator the example registers.  Run by `make installcheck`.
set -e
prefix="${KEEL_PREFIX:?}"
srcdir="${KEEL_SRCDIR:?}"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$PKG_CONFIG_PATH" LD_LIBRARY_PATH="$prefix/lib:$LD_LIBRARY_PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -Wall -Werror "$srcdir/examples/top5.c" $(pkg-config --cflags --libs keel) -o "$tmp/top5"
cc -std=c11 -Wall -Werror "$srcdir/examples/custom_op.c" $(pkg-config --cflags --libs keel) -lm -o "$tmp/custom_op"
cc -std=c11 "$srcdir/examples/top5.c" $(pkg-config --cflags keel) -o "$tmp/top5_static" \
    "$prefix/lib/libkeel.a" $(pkg-config --static --libs keel | sed 's/-lkeel//')
echo "installcheck: examples built with pkg-config (shared and static)"

# ResNet-50 against keel run on the same input
case=$(/usr/bin/python3 "$srcdir/backbone_zoo/export.py" \
       --cache "${KEEL_CACHE:-$HOME/.cache/keel}/zoo" resnet50)
/usr/bin/python3 - "$case" "$tmp" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
case, tmp = sys.argv[1], sys.argv[2]
t = onnx.TensorProto()
t.ParseFromString(open(f"{case}/test_data_set_0/input_0.pb", "rb").read())
numpy_helper.to_array(t).astype(np.float32).tofile(f"{tmp}/input.raw")
np.save(f"{tmp}/input.npy", numpy_helper.to_array(t).astype(np.float32))
PY
"$prefix/bin/keel" run "$case/model.onnx" -i "$tmp/input.npy" -o "$tmp/run" --npy >/dev/null
for prog in top5 top5_static; do
    "$tmp/$prog" "$case/model.onnx" "$tmp/input.raw" >"$tmp/$prog.txt"
    /usr/bin/python3 - "$tmp/run/output.npy" "$tmp/$prog.txt" <<'PY'
import sys, numpy as np
y = np.load(sys.argv[1]).ravel()
lines = open(sys.argv[2]).read().split("\n")
got = [(int(l.split()[2].rstrip(":")), float(l.split()[3])) for l in lines if l.strip()]
want = [(int(i), float(y[i])) for i in np.argsort(-y)[:5]]
assert [g[0] for g in got] == [w[0] for w in want], (got, want)
assert all(abs(g[1] - w[1]) <= 1e-6 * max(1, abs(w[1])) for g, w in zip(got, want)), (got, want)
PY
done
echo "installcheck: top5 (shared and static) on ResNet-50 matches keel run"

# a model calling com.example.Swish, run through the example's custom op
/usr/bin/python3 - "$tmp/swish.onnx" <<'PY'
import sys, onnx
from onnx import helper, TensorProto
node = helper.make_node("Swish", ["x"], ["y"], domain="com.example", beta=2.0)
graph = helper.make_graph([node], "swish", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)])
onnx.save(model, sys.argv[1])
PY
"$tmp/custom_op" "$tmp/swish.onnx" >"$tmp/swish.txt"
/usr/bin/python3 - "$tmp/swish.txt" <<'PY'
import sys, math
for line in open(sys.argv[1]):
    i = int(line.split("[")[1].split("]")[0]); v = float(line.split("=")[1])
    x = i / 4.0 - 2.0
    assert abs(v - x / (1 + math.exp(-2 * x))) < 1e-5, line
PY
echo "installcheck: custom_op ran com.example.Swish"

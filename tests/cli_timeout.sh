#!/bin/sh
# `keel run/check/bench --timeout` on a Loop that never ends (trip count 2^62, its
# condition always true): exits non-zero with a message naming the node
# within a few seconds, at creation (a Loop of constants is run while the
# session is made) and at run time (its trip count a graph input).
keel="${KEEL:-./cli/keel}"
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" - "$tmp" <<'PY' || { echo "cli_timeout: python3-onnx is needed to build the models"; exit 1; }
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
out = sys.argv[1]
body = h.make_graph(
    [h.make_node("Identity", ["c"], ["c_out"]), h.make_node("Add", ["v", "one"], ["v_out"])], "body",
    [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("c", T.BOOL, []),
     h.make_tensor_value_info("v", T.FLOAT, [1])],
    [h.make_tensor_value_info("c_out", T.BOOL, []), h.make_tensor_value_info("v_out", T.FLOAT, [1])],
    [nh.from_array(np.ones(1, np.float32), "one")])
loop = h.make_node("Loop", ["M", "cond", "v0"], ["v_final"], name="forever", body=body)
consts = [nh.from_array(np.array(1 << 62, np.int64), "M"), nh.from_array(np.array(True), "cond"),
          nh.from_array(np.zeros(1, np.float32), "v0")]
outs = [h.make_tensor_value_info("v_final", T.FLOAT, [1])]
g = h.make_graph([loop], "forever_const", [], outs, consts)
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), out + "/const.onnx")
ins = [h.make_tensor_value_info("M", T.INT64, []), h.make_tensor_value_info("cond", T.BOOL, []),
       h.make_tensor_value_info("v0", T.FLOAT, [1])]
g = h.make_graph([loop], "forever_input", ins, outs)
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), out + "/input.onnx")
np.save(out + "/M.npy", np.array(1 << 62, np.int64))
np.save(out + "/cond.npy", np.array(True))
np.save(out + "/v0.npy", np.zeros(1, np.float32))
import os  # the same as a backend-test case for keel check
os.makedirs(out + "/case/test_data_set_0")
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), out + "/case/model.onnx")
for k, a in enumerate([np.array(1 << 62, np.int64), np.array(True), np.zeros(1, np.float32)]):
    open(out + "/case/test_data_set_0/input_%d.pb" % k, "wb").write(nh.from_array(a).SerializeToString())
open(out + "/case/test_data_set_0/output_0.pb", "wb").write(nh.from_array(np.zeros(1, np.float32)).SerializeToString())
PY
status=0
expect_stop() { # NAME COMMAND ARGS...: keel COMMAND must fail within 20 s, naming the node and the limit
    name=$1; shift
    start=$(date +%s)
    timeout 20 "$keel" "$@" --timeout 1 >"$tmp/out" 2>&1
    rc=$? took=$(($(date +%s) - start))
    if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ $rc -gt 128 ]; then
        echo "FAIL $name: exit $rc after ${took} s"; status=1
    elif ! grep -q "'forever' (Loop)" "$tmp/out" || ! grep -q "time limit of 1000 ms" "$tmp/out"; then
        echo "FAIL $name: the message does not name the node and the limit:"; cat "$tmp/out"; status=1
    else
        echo "ok $name: exit $rc after ${took} s: $(head -n 1 "$tmp/out" | head -c 300)"
    fi
}
expect_stop "run: never-ending Loop of constants, at creation" run "$tmp/const.onnx"
expect_stop "run: never-ending Loop, at run time" run "$tmp/input.onnx" -i M="$tmp/M.npy" -i cond="$tmp/cond.npy" -i v0="$tmp/v0.npy"
expect_stop "check: never-ending Loop" check "$tmp/case"
expect_stop "bench: never-ending Loop" bench "$tmp/const.onnx"
"$keel" run "$tmp/input.onnx" -i M="$tmp/M.npy" -i cond="$tmp/cond.npy" -i v0="$tmp/v0.npy" --timeout 0 \
    >/dev/null 2>&1 && { echo "FAIL --timeout 0 is accepted"; status=1; }
[ $status -eq 0 ] && echo "cli_timeout: 5 passed, 0 failed" || echo "cli_timeout: failed"
exit $status

#!/usr/bin/python3
"""Writes Loops that never end (trip count 2^62, a condition that stays
true, a body adding 1 to a float) into OUT_DIR, for the tests of stopping
runs and as fuzzing seeds:
  const.onnx           M, cond and v0 are constants: the Loop runs while
                       a session is created
  input.onnx           M, cond and v0 are graph inputs; M.npy, cond.npy,
                       v0.npy hold the never-ending values
  case/                input.onnx as a backend-test case for keel check
                       (its output_0.pb is never reached)
usage: scripts/loop_forever.py OUT_DIR"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh


def main(out):
    body = h.make_graph(
        [h.make_node("Identity", ["c"], ["c_out"]), h.make_node("Add", ["v", "one"], ["v_out"])], "body",
        [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("c", T.BOOL, []),
         h.make_tensor_value_info("v", T.FLOAT, [1])],
        [h.make_tensor_value_info("c_out", T.BOOL, []), h.make_tensor_value_info("v_out", T.FLOAT, [1])],
        [nh.from_array(np.ones(1, np.float32), "one")])
    loop = h.make_node("Loop", ["M", "cond", "v0"], ["v_final"], name="forever", body=body)
    values = {"M": np.array(1 << 62, np.int64), "cond": np.array(True), "v0": np.zeros(1, np.float32)}
    outs = [h.make_tensor_value_info("v_final", T.FLOAT, [1])]
    opsets = [h.make_opsetid("", 13)]
    const = h.make_graph([loop], "forever_const", [], outs, [nh.from_array(a, n) for n, a in values.items()])
    onnx.save(h.make_model(const, opset_imports=opsets), os.path.join(out, "const.onnx"))
    ins = [h.make_tensor_value_info("M", T.INT64, []), h.make_tensor_value_info("cond", T.BOOL, []),
           h.make_tensor_value_info("v0", T.FLOAT, [1])]
    model = h.make_model(h.make_graph([loop], "forever_input", ins, outs), opset_imports=opsets)
    onnx.save(model, os.path.join(out, "input.onnx"))
    sets = os.path.join(out, "case", "test_data_set_0")
    os.makedirs(sets, exist_ok=True)
    onnx.save(model, os.path.join(out, "case", "model.onnx"))
    for k, (name, a) in enumerate(values.items()):
        np.save(os.path.join(out, name + ".npy"), a)
        with open(os.path.join(sets, "input_%d.pb" % k), "wb") as f:
            f.write(nh.from_array(a).SerializeToString())
    with open(os.path.join(sets, "output_0.pb"), "wb") as f:
        f.write(nh.from_array(np.zeros(1, np.float32)).SerializeToString())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

#!/usr/bin/python3
"""usage: fused_cnn.py OUT.onnx GRAPH_NAME CONV_NAME

Writes the small model tests/cli_trace.sh and tests/cli_dot.sh draw and
time: Pad, Conv (named CONV_NAME), BatchNormalization, Add of the input,
Relu, Reshape, MatMul, Softmax (no name), x float[1,3,8,8] -> y [1,10],
seeded weights.  keel fuses the first five into the Conv and runs the
Reshape as a view."""
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out, graph_name, conv_name = sys.argv[1:4]
rng = np.random.default_rng(0)
inits = [nh.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"),
         nh.from_array(rng.standard_normal((3, 3, 3, 3)).astype(np.float32), "w"),
         nh.from_array(rng.standard_normal(3).astype(np.float32), "scale"),
         nh.from_array(rng.standard_normal(3).astype(np.float32), "bias"),
         nh.from_array(rng.standard_normal(3).astype(np.float32), "mean"),
         nh.from_array(rng.random(3).astype(np.float32) + 0.5, "var"),
         nh.from_array(np.array([1, 192], np.int64), "flat"),
         nh.from_array(rng.standard_normal((192, 10)).astype(np.float32), "fc")]
nodes = [h.make_node("Pad", ["x", "pads"], ["xp"], name="pad"),
         h.make_node("Conv", ["xp", "w"], ["c"], name=conv_name),
         h.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["b"], name="bn"),
         h.make_node("Add", ["b", "x"], ["a"], name="add"),
         h.make_node("Relu", ["a"], ["r"], name="relu"),
         h.make_node("Reshape", ["r", "flat"], ["f"], name="flatten"),
         h.make_node("MatMul", ["f", "fc"], ["z"], name="fc"),
         h.make_node("Softmax", ["z"], ["y"])]
graph = h.make_graph(nodes, graph_name, [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8])],
                     [h.make_tensor_value_info("y", T.FLOAT, [1, 10])], inits)
onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 13)]), out)

#!/usr/bin/python3
"""usage: validation_models.py DIR

Writes the models and cases tests/cli_compare.sh validates with:
  a.onnx           a small CNN, x float[1,3,16,16] -> y [1,5]: Conv 'conv1',
                   Relu (output 't/1'), Conv 'conv2', LeakyRelu 'act2',
                   Conv 'conv3', Add, GlobalAveragePool, Flatten (output
                   't_1', which maps to the same file name as 't/1'), Gemm
  weights.onnx     a.onnx with conv3's weights scaled by 1.1
  attr.onnx        a.onnx with act2's alpha 0.3 instead of 0.1
  renamed.onnx     a.onnx with every value renamed (same numbers)
  x.npy            an input for them
  case_ok/         a keel check case of a.onnx (expected outputs from NumPy)
  case_model/      a keel check case of a.onnx whose expected output comes
                   from weights.onnx (the model, not keel, is at fault)
  case_keel/       a keel check case of a Gemm 'fc1' whose weights cancel
                   (1e8 ... -1e8 over 4096 terms): expected outputs computed
                   in float64, which float32 accumulation cannot meet
The expected outputs are computed here with NumPy, not by keel."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)


def conv_w(co, ci, k):
    return (rng.standard_normal((co, ci, k, k)) / np.sqrt(ci * k * k)).astype(np.float32)


WEIGHTS = {"w1": conv_w(8, 3, 3), "b1": rng.standard_normal(8).astype(np.float32) * 0.1,
           "w2": conv_w(8, 8, 3), "w3": conv_w(8, 8, 1),
           "fc": (rng.standard_normal((5, 8)) / np.sqrt(8)).astype(np.float32),
           "fcb": rng.standard_normal(5).astype(np.float32) * 0.1}


def cnn(weights, alpha=0.1, rename=None):
    n = rename or (lambda v: v)
    nodes = [h.make_node("Conv", [n("x"), "w1", "b1"], [n("c1")], name="conv1", pads=[1, 1, 1, 1]),
             h.make_node("Relu", [n("c1")], [n("t/1")], name="relu1"),
             h.make_node("Conv", [n("t/1"), "w2"], [n("c2")], name="conv2", pads=[1, 1, 1, 1]),
             h.make_node("LeakyRelu", [n("c2")], [n("l2")], name="act2", alpha=alpha),
             h.make_node("Conv", [n("l2"), "w3"], [n("c3")], name="conv3"),
             h.make_node("Add", [n("c3"), n("l2")], [n("s")], name="add"),
             h.make_node("GlobalAveragePool", [n("s")], [n("g")], name="pool"),
             h.make_node("Flatten", [n("g")], [n("t_1")], name="flatten"),
             h.make_node("Gemm", [n("t_1"), "fc", "fcb"], [n("y")], name="fc", transB=1)]
    inits = [nh.from_array(v, k) for k, v in weights.items()]
    graph = h.make_graph(nodes, "validation", [h.make_tensor_value_info(n("x"), T.FLOAT, [1, 3, 16, 16])],
                         [h.make_tensor_value_info(n("y"), T.FLOAT, [1, 5])], inits)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 13)])


def conv(x, w, b=None, pad=0):
    """NCHW convolution, stride 1, in float64."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    co, ci, k, _ = w.shape
    ho, wo = x.shape[2] - k + 1, x.shape[3] - k + 1
    y = np.zeros((x.shape[0], co, ho, wo))
    for i in range(k):
        for j in range(k):
            y += np.einsum("nchw,oc->nohw", x[:, :, i:i + ho, j:j + wo], w[:, :, i, j])
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def cnn_reference(x, wt, alpha=0.1):
    x = x.astype(np.float64)
    wt = {k: v.astype(np.float64) for k, v in wt.items()}
    c1 = np.maximum(conv(x, wt["w1"], wt["b1"], 1), 0)
    c2 = conv(c1, wt["w2"], None, 1)
    l2 = np.where(c2 < 0, alpha * c2, c2)
    s = conv(l2, wt["w3"]) + l2
    g = s.mean(axis=(2, 3))
    return (g @ wt["fc"].T + wt["fcb"]).astype(np.float32)


def write_case(folder, model, x, y):
    data = os.path.join(out, folder, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    onnx.save(model, os.path.join(out, folder, "model.onnx"))
    with open(os.path.join(data, "input_0.pb"), "wb") as f:
        f.write(nh.from_array(x, "x").SerializeToString())
    with open(os.path.join(data, "output_0.pb"), "wb") as f:
        f.write(nh.from_array(y, "y").SerializeToString())


def cancelling_gemm():
    """x [1,4096] -> Gemm 'fc1' [4096,4] -> Relu -> Gemm 'fc2' [4,3]; column
    0 of fc1 starts with 1e8 and ends with -1e8, and x[0] == x[-1]."""
    k = 4096
    w1 = rng.standard_normal((k, 4)).astype(np.float32)
    w1[1:-1, 0] = rng.uniform(0.0, 1.0, k - 2)  # a positive sum, about 1500, that the Relu keeps
    w1[0, 0], w1[-1, 0] = 1e8, -1e8
    w2 = rng.standard_normal((4, 3)).astype(np.float32)
    x = rng.uniform(0.5, 1.0, (1, k)).astype(np.float32)
    x[0, -1] = x[0, 0]
    nodes = [h.make_node("Gemm", ["x", "w1"], ["h"], name="fc1"),
             h.make_node("Relu", ["h"], ["r"], name="relu"),
             h.make_node("Gemm", ["r", "w2"], ["y"], name="fc2")]
    graph = h.make_graph(nodes, "cancel", [h.make_tensor_value_info("x", T.FLOAT, [1, k])],
                         [h.make_tensor_value_info("y", T.FLOAT, [1, 3])],
                         [nh.from_array(w1, "w1"), nh.from_array(w2, "w2")])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)])
    y = np.maximum(x.astype(np.float64) @ w1.astype(np.float64), 0) @ w2.astype(np.float64)
    return model, x, y.astype(np.float32)


x = rng.standard_normal((1, 3, 16, 16)).astype(np.float32)
np.save(os.path.join(out, "x.npy"), x)
onnx.save(cnn(WEIGHTS), os.path.join(out, "a.onnx"))
perturbed = dict(WEIGHTS, w3=WEIGHTS["w3"] * np.float32(1.1))
onnx.save(cnn(perturbed), os.path.join(out, "weights.onnx"))
onnx.save(cnn(WEIGHTS, alpha=0.3), os.path.join(out, "attr.onnx"))
onnx.save(cnn(WEIGHTS, rename=lambda v: "renamed:" + v), os.path.join(out, "renamed.onnx"))
write_case("case_ok", cnn(WEIGHTS), x, cnn_reference(x, WEIGHTS))
write_case("case_model", cnn(WEIGHTS), x, cnn_reference(x, perturbed))
write_case("case_keel", *cancelling_gemm())

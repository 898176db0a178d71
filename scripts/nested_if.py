#!/usr/bin/python3
"""Writes an ONNX model whose If nodes nest DEPTH subgraph levels deep:
y = If(c) in the main graph, its then_branch an If, ... down to a graph
computing Neg(x); every else_branch is Identity(x).  Seeds for
scripts/fuzz.sh, so that mutations start from deep subgraph nesting.
Raw protobuf bytes, no onnx package needed.

    scripts/nested_if.py DEPTH > model.onnx
"""
import sys


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(num, payload):  # length-delimited
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def int_field(num, v):
    return varint(num << 3) + varint(v)


def s(num, text):
    return field(num, text.encode())


def node(op, inp, out, attrs=b""):
    return field(1, s(1, inp) + s(2, out) + s(4, op) + attrs)   # GraphProto.node


def graph_attr(name, graph):
    return field(5, s(1, name) + int_field(20, 5) + field(6, graph))  # NodeProto.attribute


def value_info(num, name, elem_type=None, dims=()):
    body = s(1, name)
    if elem_type is not None:
        shape = b"".join(field(1, int_field(1, d)) for d in dims)
        body += field(2, field(1, int_field(1, elem_type) + field(2, shape)))
    return field(num, body)


def model(depth):
    g = node("Neg", "x", "y%d" % depth) + s(2, "innermost") + value_info(12, "y%d" % depth)
    for k in range(depth - 1, -1, -1):
        e = "e%d" % (k + 1)
        else_g = node("Identity", "x", e) + s(2, "else") + value_info(12, e)
        g = node("If", "c", "y%d" % k, graph_attr("then_branch", g) + graph_attr("else_branch", else_g))
        if k:
            g += s(2, "level%d" % k) + value_info(12, "y%d" % k)
    g += s(2, "main") + value_info(11, "c", 9) + value_info(11, "x", 1, (2,))
    g += value_info(12, "y0", 1, (2,))
    opset = field(8, s(1, "") + int_field(2, 13))
    return int_field(1, 8) + opset + field(7, g)


if __name__ == "__main__":
    sys.stdout.buffer.write(model(int(sys.argv[1])))

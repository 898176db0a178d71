#!/bin/sh
# `keel info MODEL --dot` (the model's graph) and `--dot --passes` (the
# session graph after every pass) through Graphviz: dot -Tsvg parses both
# (exit 0, an SVG); one "n<i>" node per node (the model's 8, as info
# --json counts them; the session graph's 4, as the last record of info
# --passes --json counts them), one graph input and one output node, and
# as many edges as values flowing from a node or graph input, counted from
# the ONNX file itself; edges carry the planned shapes; the Pad,
# BatchNormalization, Add and Relu fused into the Conv show as one node
# "Pad+Conv+BatchNormalization+Add+Relu"; a node name with a quote, a
# backslash and a newline comes out as text.  A model keel cannot plan
# (an op it does not know) still draws, its shapes "?", and refuses
# --passes; --dot with --json is refused.
keel="${KEEL:-./cli/keel}"
[ -x "$keel" ] || { echo "cli_dot: $keel is not built"; exit 1; }
command -v dot >/dev/null || { echo "cli_dot: dot (Debian graphviz, scripts/setup.sh) is needed"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-cli-dot.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
srcdir="${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
/usr/bin/python3 "$srcdir/tests/fused_cnn.py" "$tmp/model.onnx" draw_me "$(printf 'conv "a"\\b\nc')" ||
    { echo "cli_dot: python3-onnx is needed to build the models"; exit 1; }
/usr/bin/python3 - "$tmp" <<'EOF' || { echo "cli_dot: python3-onnx is needed to build the models"; exit 1; }
import os
import sys

import onnx
from onnx import TensorProto as T, helper as h

out = sys.argv[1]
# an op keel does not know: no session
nodes = [h.make_node("Relu", ["x"], ["r"], name="relu"),
         h.make_node("Frobnicate", ["r"], ["y"], name="odd", domain="org.example")]
graph = h.make_graph(nodes, "unknown_op", [h.make_tensor_value_info("x", T.FLOAT, [2, 3])],
                     [h.make_tensor_value_info("y", T.FLOAT, [2, 3])])
onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 13), h.make_opsetid("org.example", 1)]),
          os.path.join(out, "odd.onnx"))
EOF
model="$tmp/model.onnx"
. "$srcdir/tests/cli_tally.sh"

# check_dot DOT SVG NODES EDGES LABEL...: DOT has NODES "n<i>" node lines,
# one "i0" and one "o0", EDGES edges; SVG has as many nodes and edges, a
# text element for each LABEL (a line of a node's label)
check_dot() {
    /usr/bin/python3 - "$@" <<'EOF'
import html
import re
import sys

dot_path, svg_path, nodes, edges, labels = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
dot = open(dot_path).read()
svg = open(svg_path).read()
n_lines = re.findall(r"^  n\d+ \[", dot, re.M)
assert len(n_lines) == nodes, f"{len(n_lines)} node lines, want {nodes}"
assert len(re.findall(r"^  i\d+ \[shape=invhouse", dot, re.M)) == 1, "want one graph input node"
assert len(re.findall(r"^  o\d+ \[shape=house", dot, re.M)) == 1, "want one graph output node"
e_lines = re.findall(r"^  [nio]\d+ -> [no]\d+ \[label=", dot, re.M)
assert len(e_lines) == edges, f"{len(e_lines)} edges, want {edges}"
assert "<svg" in svg, "no <svg> element"
assert svg.count('class="node"') == nodes + 2, f'{svg.count(chr(34) + "node")} SVG nodes, want {nodes + 2}'
assert svg.count('class="edge"') == edges, "SVG edges"
texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
for label in labels:
    assert label in texts, f"no text {label!r} in the SVG: {texts}"
EOF
}

# the edges of the ONNX graph: node inputs a node or graph input writes, and graph outputs
/usr/bin/python3 - "$model" >"$tmp/edges" <<'EOF'
import sys

import onnx

g = onnx.load(sys.argv[1]).graph
written = {v for n in g.node for v in n.output} | {i.name for i in g.input}
print(sum(v in written for n in g.node for v in n.input) + sum(o.name in written for o in g.output))
EOF
model_edges=$(cat "$tmp/edges")

"$keel" info "$model" --json >"$tmp/info.json" 2>"$tmp/out" &&
    "$keel" info "$model" --dot >"$tmp/m.dot" 2>"$tmp/out" &&
    dot -Tsvg "$tmp/m.dot" >"$tmp/m.svg" 2>"$tmp/out"
if [ $? -ne 0 ] || [ ! -s "$tmp/m.svg" ]; then
    bad "info --dot | dot -Tsvg exits 0 with an SVG"
else
    nodes=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["nodes"])' "$tmp/info.json")
    if ! check_dot "$tmp/m.dot" "$tmp/m.svg" "$nodes" "$model_edges" 'conv "a"\b c' Conv fc MatMul Softmax \
        float[1,192] float[1,3,10,10] >"$tmp/out" 2>&1; then
        bad "info --dot: nodes, edges, labels"
    elif ! grep -q '^  n5 -> n6 \[label="float\[1,192\]"\];$' "$tmp/m.dot"; then
        cp "$tmp/m.dot" "$tmp/out"
        bad "info --dot: the Reshape's output to the MatMul is float[1,192]"
    else
        ok "info --dot: $nodes nodes, $model_edges edges, shapes, escaped names (dot -Tsvg)"
    fi
fi

"$keel" info "$model" --passes --json >"$tmp/info.json" 2>"$tmp/out" &&
    "$keel" info "$model" --dot --passes >"$tmp/p.dot" 2>"$tmp/out" &&
    dot -Tsvg "$tmp/p.dot" >"$tmp/p.svg" 2>"$tmp/out"
if [ $? -ne 0 ] || [ ! -s "$tmp/p.svg" ]; then
    bad "info --dot --passes | dot -Tsvg exits 0 with an SVG"
else
    nodes=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["passes"][-1]["nodes"])' \
        "$tmp/info.json")
    # x into the Conv twice (through the Pad, and as the residual), Conv,
    # Reshape, MatMul, Softmax in a chain, the Softmax to the output
    if [ "$nodes" != 4 ]; then
        cp "$tmp/info.json" "$tmp/out"
        bad "info --passes --json: the session graph has 4 nodes (got $nodes)"
    elif ! check_dot "$tmp/p.dot" "$tmp/p.svg" "$nodes" 6 'conv "a"\b c' Pad+Conv+BatchNormalization+Add+Relu \
        flatten Reshape >"$tmp/out" 2>&1; then
        bad "info --dot --passes: nodes, edges, fused labels"
    elif grep -q 'label="bn' "$tmp/p.dot"; then
        cp "$tmp/p.dot" "$tmp/out"
        bad "info --dot --passes: the BatchNormalization is not a node of its own"
    else
        ok "info --dot --passes: 4 nodes, Pad+Conv+BatchNormalization+Add+Relu as one (dot -Tsvg)"
    fi
fi

"$keel" info "$tmp/odd.onnx" --dot >"$tmp/o.dot" 2>"$tmp/out" && dot -Tsvg "$tmp/o.dot" >"$tmp/o.svg" 2>>"$tmp/out"
if [ $? -ne 0 ] || ! grep -q "no session" "$tmp/out"; then
    bad "info --dot without a session exits 0, saying why"
elif ! check_dot "$tmp/o.dot" "$tmp/o.svg" 2 3 Frobnicate "?" >"$tmp/out" 2>&1; then
    bad "info --dot without a session: nodes, edges, unknown shapes"
else
    ok "info --dot without a session: the model's graph, shapes '?'"
fi

"$keel" info "$tmp/odd.onnx" --dot --passes >"$tmp/o.dot" 2>"$tmp/out"
if [ $? -eq 1 ] && grep -q "no plan" "$tmp/out" && [ ! -s "$tmp/o.dot" ]; then
    ok "info --dot --passes without a session fails"
else
    bad "info --dot --passes without a session fails (exit 1, 'no plan')"
fi

"$keel" info "$model" --dot --json >"$tmp/out" 2>&1
if [ $? -eq 2 ] && grep -q "^usage: keel info" "$tmp/out"; then
    ok "info --dot --json refused"
else
    bad "info --dot --json refused (exit 2 and the usage)"
fi

tally cli_dot

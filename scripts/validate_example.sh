#!/bin/sh
# README's worked example of validating a model: the zoo's ResNet-18 and a
# copy with one filter of /layer3/layer3.1/conv1/Conv 2 % off, compared
# value by value.  Prints keel compare's summary and writes its picture to
# docs/compare-resnet18.svg (or the file given).
#     scripts/validate_example.sh [OUT.svg]
# Needs a build (./cli/keel, or $KEEL) and the zoo's ResNet-18 export.
keel="${KEEL:-./cli/keel}"
[ -x "$keel" ] || { echo "validate_example: $keel is not built" >&2; exit 1; }
keel="$(cd "$(dirname "$keel")" && pwd)/$(basename "$keel")"
out="$(pwd)/${1:-docs/compare-resnet18.svg}"
case_dir=$("$keel" zoo export resnet18 | awk '{print $2}')
[ -n "$case_dir" ] || { echo "validate_example: no resnet18 export" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-example.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
cp "$case_dir/model.onnx" "$tmp/resnet18.onnx"
/usr/bin/python3 - "$tmp" <<'EOF'
import sys

import onnx
from onnx import numpy_helper

folder = sys.argv[1]
model = onnx.load(f"{folder}/resnet18.onnx")
conv = next(n for n in model.graph.node if n.name == "/layer3/layer3.1/conv1/Conv")
for k, t in enumerate(model.graph.initializer):
    if t.name == conv.input[1]:
        w = numpy_helper.to_array(t).copy()
        w[7] *= 1.02   # filter 7 of 256, 2 % off
        model.graph.initializer[k].CopyFrom(numpy_helper.from_array(w, t.name))
onnx.save(model, f"{folder}/resnet18_edited.onnx")
EOF
cd "$tmp" && "$keel" compare resnet18.onnx resnet18_edited.onnx --svg "$out" --quiet
[ $? -eq 1 ] && echo "picture: $out"

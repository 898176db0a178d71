#!/bin/sh
# The main job, end to end on a fresh Debian machine: set up, build keel,
# export ResNet-50 from PyTorch (seeded random weights, cached), describe
# it, run it, validate it against PyTorch's own output, and time it.
set -e
cd "$(dirname "$0")/.."
scripts/setup.sh all
[ -x configure ] || ./autogen.sh >/dev/null
[ -f Makefile ] || ./configure -q
make -j"$(nproc)" >/dev/null
model="${1:-resnet50_op13}"
cache="${KEEL_CACHE:-$HOME/.cache/keel}/backbones"
mkdir -p "$cache"
case=$(/usr/bin/python3 scripts/export_backbones.py --strict --cache "$cache" "$model")
echo "== keel info $case/model.onnx"
./cli/keel info "$case/model.onnx"
echo "== keel run (one run; times for load, session creation and the run)"
./cli/keel run "$case/model.onnx" -i "$case/test_data_set_0/input_0.pb" -o "$case/keel_out"
echo "== keel check against PyTorch (rtol 1e-3, atol 1e-4)"
./cli/keel check "$case"

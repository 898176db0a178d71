#!/bin/sh
# The main job, end to end on a fresh Debian machine: set up, build keel,
# export ResNet-50 from PyTorch (seeded random weights, cached), describe
# it, run it, validate it against PyTorch's own output, and time it.
#   scripts/demo.sh [ZOO_ENTRY]     (default resnet50; see `keel zoo list`)
set -e
cd "$(dirname "$0")/.."
scripts/setup.sh all
[ -x configure ] || ./autogen.sh >/dev/null
[ -f Makefile ] || ./configure -q
make -j"$(nproc)" >/dev/null
model="${1:-resnet50}"
case=$(./cli/keel zoo export "$model" | awk '{print $2}')
[ -d "$case" ] || { echo "demo: the export of $model failed"; exit 1; }
echo "== keel info $case/model.onnx"
./cli/keel info "$case/model.onnx"
echo "== keel run (one run; times for load, session creation and the run)"
./cli/keel run "$case/model.onnx" -i "$case/test_data_set_0/input_0.pb" -o "$case/keel_out"
echo "== keel check against PyTorch (rtol 1e-3, atol 1e-4; two data sets)"
./cli/keel check "$case"
echo "== keel bench (median of 10 runs, one thread)"
./cli/keel bench "$case/model.onnx" --runs 10 --warmup 2

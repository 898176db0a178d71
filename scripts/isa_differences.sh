#!/bin/sh
# What differs between instruction sets: each zoo entry given (default: a
# cross-section of every family) runs its first data set with
# `keel run --isa I` for every instruction set this CPU runs, and a table
# gives, per entry, the largest difference of the outputs between any two
# instruction sets and each one's error against PyTorch (the data set's
# expected output): max abs, and max abs over max |PyTorch output|.
#     scripts/isa_differences.sh [ENTRY...]
# Needs a build (./cli/keel, or $KEEL) and the zoo's exports (keel zoo
# export; PyTorch when they are not cached yet).
keel="${KEEL:-./cli/keel}"
[ -x "$keel" ] || { echo "isa_differences: $keel is not built" >&2; exit 1; }
entries="${*:-resnet18 resnet50 vgg16 googlenet inception_v3 mobilenet_v2 mobilenet_v3_large squeezenet1_1 \
shufflenet_v2_x1_0 efficientnet_b0 tf_resnet50}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-isa.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
isas=$("$keel" check --list-isas | tr '\n' ' ')
# shellcheck disable=SC2086
cases=$("$keel" zoo export $entries | awk '{print $2}')
[ -n "$cases" ] || { echo "isa_differences: nothing exported" >&2; exit 1; }
for c in $cases; do
    mkdir -p "$tmp/$(basename "$c")"
    for isa in $isas; do
        OPENBLAS_NUM_THREADS=1 "$keel" run "$c/model.onnx" -i "$c/test_data_set_0/input_0.pb" \
            -o "$tmp/$(basename "$c")/$isa" --npy --isa "$isa" >/dev/null ||
            { echo "isa_differences: $(basename "$c") --isa $isa failed" >&2; exit 1; }
    done
done
/usr/bin/python3 - "$tmp" "$isas" $cases <<'EOF'
import itertools
import os
import sys

import numpy as np
from onnx import TensorProto, numpy_helper

tmp, isas, cases = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
print(f"| entry | between {', '.join(isas)}: max abs (rel) | "
      + " | ".join(f"{isa} vs PyTorch: max abs (rel)" for isa in isas) + " |")
print("|---|---|" + "---|" * len(isas))
for case in cases:
    name = os.path.basename(case)
    entry = name.rsplit("-", 1)[0]  # the folder is ENTRY-HASH
    want = TensorProto()
    with open(os.path.join(case, "test_data_set_0", "output_0.pb"), "rb") as f:
        want.ParseFromString(f.read())
    want = numpy_helper.to_array(want).astype(np.float64)
    scale = float(np.abs(want).max())
    outs = {}
    for isa in isas:
        folder = os.path.join(tmp, name, isa)
        npy = sorted(f for f in os.listdir(folder) if f.endswith(".npy"))
        outs[isa] = np.load(os.path.join(folder, npy[0])).astype(np.float64)
    between = max((float(np.abs(outs[a] - outs[b]).max()) for a, b in itertools.combinations(isas, 2)),
                  default=0.0)
    cells = [f"{between:.2g} ({between / scale:.1g})"]
    for isa in isas:
        err = float(np.abs(outs[isa] - want).max())
        cells.append(f"{err:.2g} ({err / scale:.1g})")
    print(f"| {entry} | " + " | ".join(cells) + " |")
EOF

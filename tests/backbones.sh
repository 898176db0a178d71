#!/bin/sh
# The backbone zoo against PyTorch: exports every entry of
# backbone_zoo/zoo.yaml (or those named in $KEEL_ZOO_ENTRIES), checks that
# `keel info` counts the same parameters as the onnx package did at export,
# then `keel zoo check`: each entry's parameter count against its published
# figure and keel's outputs against PyTorch's on two data sets.
set -e
keel="${KEEL:-./cli/keel}"
# shellcheck disable=SC2086
cases=$("$keel" zoo export $KEEL_ZOO_ENTRIES | awk '{print $2}')
[ -n "$cases" ] || { echo "backbones: nothing exported"; exit 1; }
for c in $cases; do
    [ -d "$c" ] || { echo "backbones: export failed: $c"; exit 1; }
    "$keel" info --json "$c/model.onnx" | /usr/bin/python3 -c '
import json, sys
info = json.load(sys.stdin)
meta = json.load(open(sys.argv[1] + "/meta.json"))
name, ours, theirs = meta["name"], info["parameters"], meta["file_params"]
if ours != theirs:
    sys.exit(f"{name}: keel counts {ours} parameters, the onnx package {theirs}")
' "$c"
done
echo "backbones: keel info parameter counts match the onnx package on all $(echo "$cases" | wc -l) exports"
# shellcheck disable=SC2086
exec "$keel" zoo check $KEEL_ZOO_ENTRIES

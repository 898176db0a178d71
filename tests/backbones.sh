#!/bin/sh
# Exports the backbones of scripts/backbones.txt with PyTorch (seeded random
# weights; cached by content under $KEEL_CACHE), checks that `keel info`
# counts the same parameters as the onnx package, and checks keel's outputs
# against PyTorch's at rtol 1e-3, atol 1e-4.
set -e
srcdir="${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
keel="${KEEL:-./cli/keel}"
cache="${KEEL_CACHE:-$HOME/.cache/keel}/backbones"
list="${KEEL_BACKBONES:-$srcdir/scripts/backbones.txt}"
mkdir -p "$cache"
cases=$(/usr/bin/python3 "$srcdir/scripts/export_backbones.py" --strict --cache "$cache" --list "$list")
[ -n "$cases" ] || { echo "backbones: nothing exported"; exit 1; }
for c in $cases; do
    "$keel" info --json "$c/model.onnx" | /usr/bin/python3 -c '
import json, sys
info = json.load(sys.stdin)
meta = json.load(open(sys.argv[1] + "/meta.json"))
name, ours, theirs = meta["name"], info["parameters"], meta["params"]
if ours != theirs:
    sys.exit(f"{name}: keel counts {ours} parameters, onnx {theirs}")
' "$c"
done
echo "backbones: keel info parameter counts match the onnx package on all $(echo "$cases" | wc -l) exports"
# shellcheck disable=SC2086
exec "$keel" check --rtol 1e-3 --atol 1e-4 $cases

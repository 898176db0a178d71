#!/bin/sh
# Runs the official ONNX backend tests (Debian's libonnx-testdata) through
# `keel check`, folder by folder, and prints the counts.
#
# Out-of-scope cases are skipped with the reasons in tests/skip.txt.  Cases
# in scope that keel cannot pass yet are listed in tests/conformance_pending.txt;
# they are run and counted as failed.  This script fails if any other case
# fails, or if a pending case now passes (so the list only ever shrinks).
srcdir="${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
keel="${KEEL:-./cli/keel}"
data="${KEEL_TESTDATA:-/usr/share/libonnx-testdata/data}"
pending="$srcdir/tests/conformance_pending.txt"
out="${TMPDIR:-/tmp}/keel-conformance.$$"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
[ -d "$data/node" ] || { echo "conformance: $data missing (apt-get install libonnx-testdata)"; exit 1; }
status=0
total_p=0 total_f=0 total_s=0
for folder in node simple pytorch-converted pytorch-operator; do
    "$keel" check --quiet --skip-list "$srcdir/tests/skip.txt" "$data/$folder"/*/ >"$out/$folder.txt" 2>&1
    summary=$(tail -n 1 "$out/$folder.txt")
    p=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    f=$(echo "$summary" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
    s=$(echo "$summary" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
    [ -n "$p" ] && [ -n "$f" ] || { echo "conformance: $folder: keel check crashed:"; tail -5 "$out/$folder.txt"; exit 1; }
    total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + ${s:-0}))
    echo "conformance $folder: $p passed, $f failed (pending), ${s:-0} skipped"
    grep '^FAIL ' "$out/$folder.txt" | sed 's/^FAIL \([^:]*\):.*/\1/' >>"$out/failed.txt"
done
touch "$out/failed.txt"
sort -u "$out/failed.txt" >"$out/failed.sorted"
grep -v '^#' "$pending" 2>/dev/null | awk 'NF{print $1}' | sort -u >"$out/pending.sorted"
new=$(comm -23 "$out/failed.sorted" "$out/pending.sorted")
fixed=$(comm -13 "$out/failed.sorted" "$out/pending.sorted")
if [ -n "$new" ]; then
    echo "conformance: cases failing that are not pending:"
    for c in $new; do grep -h "^FAIL $c:" "$out"/*.txt; done
    status=1
fi
if [ -n "$fixed" ]; then
    echo "conformance: pending cases that now pass (remove them from tests/conformance_pending.txt):"
    echo "$fixed"
    status=1
fi
echo "conformance total: $total_p passed, $total_f failed (all pending), $total_s skipped"
exit $status

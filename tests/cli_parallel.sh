#!/bin/sh
# docs/scaling.md's single-machine form: `keel check` jobs under GNU
# parallel, one case a job.  Eight conformance cases pass, their lines in
# order; with one of them damaged (another case's expected output), that
# job fails, parallel's exit status counts one failed job, and the others
# still pass.
keel="${KEEL:-./cli/keel}"
data="${KEEL_TESTDATA:-/usr/share/libonnx-testdata/data}/node"
command -v parallel >/dev/null || { echo "cli_parallel: GNU parallel missing (apt-get install parallel)"; exit 1; }
[ -d "$data" ] || { echo "cli_parallel: $data missing (apt-get install libonnx-testdata)"; exit 1; }
[ -x "$keel" ] || { echo "cli_parallel: $keel is not built"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-cli-parallel.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
for c in test_relu test_add test_sigmoid test_tanh test_softmax_axis_1 test_matmul_2d test_transpose_default test_concat_2d_axis_0; do
    cp -R "$data/$c" "$tmp/$c" || exit 1
    echo "$tmp/$c"
done > "$tmp/cases.txt"

# the form docs/scaling.md shows
run() {
    parallel --will-cite -j2 --keep-order "$keel check --threads 1 {}" :::: "$tmp/cases.txt" > "$tmp/out" 2>&1
}
run; st=$?
oks=$(grep -c '^ok   ' "$tmp/out")
if [ "$st" -ne 0 ] || [ "$oks" -ne 8 ] || [ "$(grep -c '^1 passed, 0 failed$' "$tmp/out")" -ne 8 ]; then
    echo "cli_parallel: 8 good cases: status $st, $oks ok lines"; cat "$tmp/out"; exit 1
fi
# --keep-order: the lines follow the list
grep '^ok   ' "$tmp/out" | awk '{print $2}' > "$tmp/order"
sed 's|.*/||' "$tmp/cases.txt" | diff - "$tmp/order" || { echo "cli_parallel: lines out of order"; exit 1; }

cp "$tmp/test_add/test_data_set_0/output_0.pb" "$tmp/test_relu/test_data_set_0/output_0.pb"
run; st=$?
if [ "$st" -ne 1 ] || [ "$(grep -c '^ok   ' "$tmp/out")" -ne 7 ] || ! grep -q '^FAIL test_relu' "$tmp/out"; then
    echo "cli_parallel: one damaged case: status $st (1 expected)"; cat "$tmp/out"; exit 1
fi
echo "cli_parallel: 8 cases under GNU parallel; a damaged one fails alone"

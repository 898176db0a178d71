#!/bin/sh
# `keel check` passes only what it should: real backend-test cases copied
# from libonnx-testdata, damaged one way each (an expected output deleted,
# a gap in the outputs, a wrong last output, a file beyond the model's
# outputs or inputs, an empty data set, no data set, a damaged second data
# set), must each fail with a message naming what is wrong; a run where
# every case was skipped fails; --threads and --isa are checked.
keel="${KEEL:-./cli/keel}"
data="${KEEL_TESTDATA:-/usr/share/libonnx-testdata/data}/node"
[ -d "$data" ] || { echo "cli_check: $data missing (apt-get install libonnx-testdata)"; exit 1; }
[ -x "$keel" ] || { echo "cli_check: $keel is not built"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-cli-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() {
    echo "FAIL $1"
    [ -f "$tmp/out" ] && sed 's/^/     | /' "$tmp/out"
    failed=$((failed + 1))
}

# fresh NAME: a clean copy of the suite's case NAME at $tmp/NAME
fresh() {
    rm -rf "${tmp:?}/$1"
    cp -R "$data/$1" "$tmp/$1" || { echo "cli_check: cannot copy $data/$1"; exit 1; }
}

# expect_pass WHAT ARGS...: keel check exits 0 and its last line says so
expect_pass() {
    what=$1
    shift
    "$keel" check "$@" >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && tail -n 1 "$tmp/out" | grep -Eq '^[1-9][0-9]* passed, 0 failed'; then
        ok "$what"
    else
        bad "$what (exit $rc, expected 0)"
    fi
}

# expect_fail WHAT PATTERN ARGS...: keel check exits 1, and prints PATTERN
# (an extended regular expression) and a closing line with 1 failed
expect_fail() {
    what=$1 pattern=$2
    shift 2
    "$keel" check "$@" >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -ne 1 ]; then
        bad "$what (exit $rc, expected 1)"
    elif ! grep -Eq "$pattern" "$tmp/out"; then
        bad "$what (no message matching '$pattern')"
    elif ! tail -n 1 "$tmp/out" | grep -Eq '^0 passed, 1 failed'; then
        bad "$what (closing line is not '0 passed, 1 failed')"
    else
        ok "$what"
    fi
}

# expect_usage WHAT ARGS...: keel check refuses its arguments (exit 2)
expect_usage() {
    what=$1
    shift
    "$keel" check "$@" >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 2 ] && [ -s "$tmp/out" ]; then ok "$what"; else bad "$what (exit $rc, expected 2 and a message)"; fi
}

one=test_relu                       # one input, one output
three=test_split_equal_parts_1d     # one input, three outputs
none=test_constant                  # no input, one output
for c in $one $three $none; do
    [ -f "$data/$c/test_data_set_0/output_0.pb" ] || { echo "cli_check: $data/$c has no data set"; exit 1; }
done
[ -f "$data/$three/test_data_set_0/output_2.pb" ] || { echo "cli_check: $three has no output_2.pb"; exit 1; }

# the undamaged cases pass: the damage below is what fails them
fresh $one; fresh $three; fresh $none
expect_pass "intact cases pass" "$tmp/$one" "$tmp/$three" "$tmp/$none"

fresh $one
rm "$tmp/$one/test_data_set_0/output_0.pb"
expect_fail "output_0.pb deleted" "FAIL $one: .*output_0\.pb missing" "$tmp/$one"

fresh $three
rm "$tmp/$three/test_data_set_0/output_1.pb"
expect_fail "output_1.pb of three deleted (a gap before output_2)" "FAIL $three: .*output_1\.pb missing" "$tmp/$three"

fresh $three
rm "$tmp/$three/test_data_set_0/output_2.pb"
expect_fail "last output deleted" "FAIL $three: .*output_2\.pb missing" "$tmp/$three"

# output_2 is compared: the values of output_0 in its place are wrong
fresh $three
cp "$data/$three/test_data_set_0/output_0.pb" "$tmp/$three/test_data_set_0/output_2.pb"
expect_fail "wrong values in the last of three outputs" "FAIL $three: output 2 .*out of tolerance" "$tmp/$three"

fresh $three
cp "$data/$three/test_data_set_0/output_0.pb" "$tmp/$three/test_data_set_0/output_3.pb"
expect_fail "an expected output beyond the model's three" "FAIL $three: .*output_3\.pb has no counterpart" "$tmp/$three"

fresh $one
cp "$data/$one/test_data_set_0/output_0.pb" "$tmp/$one/test_data_set_0/output_1.pb"
expect_fail "output_1.pb for a one-output model" "FAIL $one: .*output_1\.pb has no counterpart" "$tmp/$one"

fresh $one
cp "$data/$one/test_data_set_0/input_0.pb" "$tmp/$one/test_data_set_0/input_1.pb"
expect_fail "an input file beyond the model's inputs" "FAIL $one: .*input_1\.pb has no counterpart" "$tmp/$one"

fresh $one
rm "$tmp/$one/test_data_set_0/input_0.pb"
expect_fail "input_0.pb deleted" "FAIL $one: .*input_0\.pb missing" "$tmp/$one"

fresh $one
rm "$tmp/$one/test_data_set_0/"*
expect_fail "empty test_data_set_0" "FAIL $one: .*empty data set" "$tmp/$one"

# a model without inputs: an empty set would hold no file to compare at all
fresh $none
rm "$tmp/$none/test_data_set_0/"*
expect_fail "empty test_data_set_0 of a model without inputs" "FAIL $none: .*empty data set" "$tmp/$none"

fresh $one
rm -r "$tmp/$one/test_data_set_0"
expect_fail "no data set at all" "FAIL $one: .*no test_data_set_N" "$tmp/$one"

# every set is checked, not only the first
fresh $three
cp -R "$tmp/$three/test_data_set_0" "$tmp/$three/test_data_set_1"
rm "$tmp/$three/test_data_set_1/output_1.pb"
expect_fail "second data set damaged" "FAIL $three: .*test_data_set_1: output_1\.pb missing" "$tmp/$three"

fresh $one
printf 'not a tensor' >"$tmp/$one/test_data_set_0/output_0.pb"
expect_fail "an expected output that does not decode" "FAIL $one: " "$tmp/$one"

# skips: counted apart, with their reason; nothing run is a failure
fresh $one; fresh $three
printf '%s    skipped by the test, on purpose\n' $one >"$tmp/skip.txt"
"$keel" check --skip-list "$tmp/skip.txt" "$tmp/$one" >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/err" >>"$tmp/out"
if [ $rc -eq 1 ] && grep -q "^skip $one: skipped by the test, on purpose" "$tmp/out" &&
    grep -q '^0 passed, 0 failed, 1 skipped$' "$tmp/out" && grep -q 'nothing ran' "$tmp/err"; then
    ok "every case skipped: non-zero exit"
else
    bad "every case skipped: non-zero exit (exit $rc)"
fi
"$keel" check --skip-list "$tmp/skip.txt" "$tmp/$one" "$tmp/$three" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && tail -n 1 "$tmp/out" | grep -q '^1 passed, 0 failed, 1 skipped$'; then
    ok "one skipped, one passed"
else
    bad "one skipped, one passed (exit $rc)"
fi

# threads and instruction sets
expect_pass "--threads 2" --threads 2 "$tmp/$three" "$tmp/$one"
isas=$("$keel" check --list-isas) || { bad "--list-isas"; isas=""; }
case "$isas" in generic*) ok "--list-isas lists generic first" ;; *) bad "--list-isas: '$isas'" ;; esac
for isa in generic avx2 avx512; do
    if echo "$isas" | grep -qx "$isa"; then
        expect_pass "--isa $isa" --isa "$isa" "$tmp/$three" "$tmp/$one"
    else
        echo "skipped: --isa $isa: not available on this CPU"
        expect_usage "--isa $isa refused where the CPU lacks it" --isa "$isa" "$tmp/$one"
    fi
done
expect_usage "--isa of an unknown name" --isa sse9 "$tmp/$one"
expect_usage "--threads 0" --threads 0 "$tmp/$one"
expect_usage "--threads without a value" "$tmp/$one" --threads
expect_usage "--rtol that is not a number" --rtol abc "$tmp/$one"
expect_usage "no case given" --quiet

# strings and sequences: a wrong expected string fails the case naming it;
# keel run --dump writes them as .pb, which decode back to the outputs
str=$data/test_strnormalizer_export_monday_casesensintive_lower
seq=$data/../simple/test_sequence_model2
if [ -d "$str" ] && [ -d "$seq" ]; then
    cp -R "$str" "$tmp/strcase"
    /usr/bin/python3 - "$tmp/strcase/test_data_set_0/output_0.pb" <<'PY'
import sys
from onnx import TensorProto
t = TensorProto()
t.ParseFromString(open(sys.argv[1], "rb").read())
t.string_data[1] = b"changed"
open(sys.argv[1], "wb").write(t.SerializeToString())
PY
    out=$("$keel" check "$tmp/strcase" 2>&1)
    case "$out" in *"string 1 is \"wednesday\", expected \"changed\""*) ok "a wrong string named" ;;
                   *) bad "a wrong string: $out" ;; esac
    set -- $(for k in 0 1 2; do echo -i "$seq/test_data_set_0/input_$k.pb"; done)
    if "$keel" run "$seq/model.onnx" "$@" -o "$tmp/seqout" --dump "$tmp/seqdump" >/dev/null 2>&1 &&
       [ -s "$tmp/seqdump/seq_2.pb" ] && grep -q '"seq_2.pb"' "$tmp/seqdump/index.json" &&
       /usr/bin/python3 -c "
import sys
from onnx import SequenceProto
s = SequenceProto(); s.ParseFromString(open(sys.argv[1], 'rb').read())
assert len(s.tensor_values) == 2, len(s.tensor_values)" "$tmp/seqdump/seq_2.pb"; then
        ok "--dump writes a sequence as SequenceProto"
    else
        bad "--dump of a sequence"
    fi
else
    bad "libonnx-testdata's string and sequence cases missing"
fi

echo "cli_check: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]

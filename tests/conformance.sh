#!/bin/sh
# Runs the official ONNX backend tests (Debian's libonnx-testdata) through
# `keel check`, folder by folder, and prints the counts.
#
# Out-of-scope cases are skipped with the reasons in tests/skip.txt.  Cases
# in scope that keel cannot pass yet are listed in tests/conformance_pending.txt;
# they are run and counted as failed.  This script fails if any other case
# fails, or if a pending case now passes (so the list only ever shrinks).
#
# Each folder also holds a floor on its passes and a ceiling on its skips
# (below): fewer passes (cases gone missing, turned into skips, or a
# folder that did not run) or more skips fail.  Raise a floor when cases
# start passing; a ceiling only comes down.
#
# The suite runs once per instruction set this CPU has (`keel check
# --list-isas`: generic always, avx2 and avx512 where the CPU runs them; one
# it lacks is printed as skipped), at one thread, and once more at two
# threads with the CPU's best.  Every pass must meet the same counts.
srcdir="${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
keel="${KEEL:-./cli/keel}"
data="${KEEL_TESTDATA:-/usr/share/libonnx-testdata/data}"
pending="$srcdir/tests/conformance_pending.txt"
out="${TMPDIR:-/tmp}/keel-conformance.$$"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
[ -d "$data/node" ] || { echo "conformance: $data missing (apt-get install libonnx-testdata)"; exit 1; }

# folder  floor of passes  ceiling of skips
limits="node 910 17
simple 21 2
pytorch-converted 82 0
pytorch-operator 35 0"

grep -v '^#' "$pending" 2>/dev/null | awk 'NF{print $1}' | sort -u >"$out/pending.sorted"
status=0
passes=0 labels=

# run_pass LABEL [keel check options...]: the four folders once
run_pass() {
    label=$1
    shift
    passes=$((passes + 1))
    labels="$labels${labels:+; }$label"
    : >"$out/failed.txt"
    echo "$limits" | while read -r folder floor ceiling; do
        "$keel" check --quiet --skip-list "$srcdir/tests/skip.txt" "$@" "$data/$folder"/*/ >"$out/$folder.txt" 2>&1
        summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/$folder.txt" | tail -n 1)
        p=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
        f=$(echo "$summary" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
        s=$(echo "$summary" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
        s=${s:-0}
        if [ -z "$p" ] || [ -z "$f" ]; then
            echo "conformance [$label] $folder: keel check gave no counts:"
            tail -5 "$out/$folder.txt"
            echo "x" >>"$out/broken"
            continue
        fi
        echo "conformance [$label] $folder: $p passed, $f failed, $s skipped"
        if [ "$p" -lt "$floor" ]; then
            echo "conformance [$label] $folder: $p passed, fewer than the floor of $floor"
            echo "x" >>"$out/broken"
        fi
        if [ "$s" -gt "$ceiling" ]; then
            echo "conformance [$label] $folder: $s skipped, more than the ceiling of $ceiling"
            echo "x" >>"$out/broken"
        fi
        grep '^FAIL ' "$out/$folder.txt" | sed 's/^FAIL \([^:]*\):.*/\1/' >>"$out/failed.txt"
        echo "$p $f $s" >>"$out/counts"
    done
    sort -u "$out/failed.txt" >"$out/failed.sorted"
    new=$(comm -23 "$out/failed.sorted" "$out/pending.sorted")
    fixed=$(comm -13 "$out/failed.sorted" "$out/pending.sorted")
    if [ -n "$new" ]; then
        echo "conformance [$label]: cases failing that are not pending:"
        for c in $new; do grep -h "^FAIL $c:" "$out"/*.txt; done
        echo "x" >>"$out/broken"
    fi
    if [ -n "$fixed" ]; then
        echo "conformance [$label]: pending cases that now pass (remove them from tests/conformance_pending.txt):"
        echo "$fixed"
        echo "x" >>"$out/broken"
    fi
}

isas=$("$keel" check --list-isas) || { echo "conformance: keel check --list-isas failed"; exit 1; }
echo "$isas" | grep -qx generic || { echo "conformance: --list-isas does not list generic: '$isas'"; exit 1; }
for isa in generic avx2 avx512; do
    if echo "$isas" | grep -qx "$isa"; then
        run_pass "$isa, 1 thread" --isa "$isa" --threads 1
    else
        echo "conformance: skipped: $isa not available on this CPU"
    fi
done
best=$(echo "$isas" | tail -n 1)
run_pass "$best, 2 threads" --isa "$best" --threads 2

[ -f "$out/broken" ] && status=1
# every folder of every pass gave its counts
expected=$((passes * $(echo "$limits" | wc -l)))
got=$(wc -l <"$out/counts" 2>/dev/null || echo 0)
[ "$got" -eq "$expected" ] || { echo "conformance: $got folder runs counted, $expected expected"; status=1; }
echo "conformance: $passes passes of the suite ($labels), counted together:"
awk '{p += $1; f += $2; s += $3} END {printf "conformance: %d passed, %d failed, %d skipped\n", p, f, s}' "$out/counts"
exit $status

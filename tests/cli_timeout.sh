#!/bin/sh
# `keel run/check/bench --timeout` on a Loop that never ends (trip count 2^62, its
# condition always true): exits non-zero with a message naming the node
# within a few seconds, at creation (a Loop of constants is run while the
# session is made) and at run time (its trip count a graph input).
keel="${KEEL:-./cli/keel}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
srcdir="${KEEL_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
/usr/bin/python3 "$srcdir/scripts/loop_forever.py" "$tmp" ||
    { echo "cli_timeout: python3-onnx is needed to build the models"; exit 1; }
status=0
expect_stop() { # NAME COMMAND ARGS...: keel COMMAND must fail within 20 s, naming the node and the limit
    name=$1; shift
    start=$(date +%s)
    timeout 20 "$keel" "$@" --timeout 1 >"$tmp/out" 2>&1
    rc=$? took=$(($(date +%s) - start))
    if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ $rc -gt 128 ]; then
        echo "FAIL $name: exit $rc after ${took} s"; status=1
    elif ! grep -q "'forever' (Loop)" "$tmp/out" || ! grep -q "time limit of 1000 ms" "$tmp/out"; then
        echo "FAIL $name: the message does not name the node and the limit:"; cat "$tmp/out"; status=1
    else
        echo "ok $name: exit $rc after ${took} s: $(head -n 1 "$tmp/out" | head -c 300)"
    fi
}
expect_stop "run: never-ending Loop of constants, at creation" run "$tmp/const.onnx"
expect_stop "run: never-ending Loop, at run time" run "$tmp/input.onnx" -i M="$tmp/M.npy" -i cond="$tmp/cond.npy" -i v0="$tmp/v0.npy"
expect_stop "check: never-ending Loop" check "$tmp/case"
expect_stop "bench: never-ending Loop" bench "$tmp/const.onnx"
"$keel" run "$tmp/input.onnx" -i M="$tmp/M.npy" -i cond="$tmp/cond.npy" -i v0="$tmp/v0.npy" --timeout 0 \
    >/dev/null 2>&1 && { echo "FAIL --timeout 0 is accepted"; status=1; }
[ $status -eq 0 ] && echo "cli_timeout: 5 passed, 0 failed" || echo "cli_timeout: failed"
exit $status

#!/bin/sh
# Replays every input the fuzzer ever crashed on (tests/fuzz_regressions/)
# through the fuzz harness: each must now come back with a status, within
# a time limit per input (KEEL_REPLAY_TIMEOUT seconds, default 60; each
# input runs in its own process).  First, the limit itself is tried: a
# harness that never returns must be reported as a hang.
dir="${KEEL_SRCDIR:-.}/tests/fuzz_regressions"
replay="${KEEL_BUILDDIR:-.}/tests/fuzz_replay"
set -- "$dir"/*
[ -e "$1" ] || { echo "fuzz_replay: no regression inputs"; exit 1; }
out=$(KEEL_REPLAY_TIMEOUT=0.2 "$replay" --hang-self-test "$1" 2>&1)
rc=$?
if [ $rc -ne 1 ] || ! echo "$out" | grep -q "HANG: no result within 0.2 s"; then
    echo "fuzz_replay: the time limit did not stop a hang (exit $rc):"
    echo "$out"
    exit 1
fi
echo "fuzz_replay: the time limit stops a hang"
exec "$replay" "$@"

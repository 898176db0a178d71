#!/bin/sh
# Replays every input the fuzzer ever crashed on (tests/fuzz_regressions/)
# through the fuzz harness: each must now come back with a status.
dir="${KEEL_SRCDIR:-.}/tests/fuzz_regressions"
set -- "$dir"/*
[ -e "$1" ] || { echo "fuzz_replay: no regression inputs"; exit 1; }
exec "${KEEL_BUILDDIR:-.}/tests/fuzz_replay" "$@"

#!/bin/sh
# Fuzzes keel with libFuzzer (clang from Debian): load -> shape inference ->
# one run, seeded with the conformance suite's models and nested Ifs
# (scripts/nested_if.py).
#   scripts/fuzz.sh [SECONDS] [JOBS]      (default 600 s, 1 job)
# Crashes are copied to tests/fuzz_regressions/, which `make check` replays.
set -e
cd "$(dirname "$0")/.."
secs="${1:-600}"
jobs="${2:-1}"
command -v clang >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq clang libclang-rt-dev >/dev/null || sudo apt-get install -y -qq clang libclang-rt-dev >/dev/null; }
work="${KEEL_FUZZ_DIR:-/tmp/keel-fuzz}"
mkdir -p "$work/corpus" "$work/crashes"
[ -f onnx/onnx.pb-c.c ] || protoc-c --proto_path=onnx --c_out=onnx onnx/onnx.proto
srcs="runtime/*.c onnx/loader.c onnx/onnx.pb-c.c ops/*.c ops/drivers/*.c ops/kernels/*.c fuzz/fuzz_model.c"
x86=""  # the x86 kernel tables, as configure builds them on x86-64
[ "$(uname -m)" = x86_64 ] && { srcs="$srcs ops/kernels/x86/*.c"; x86=-DKL_X86; }
clang -g -O1 -std=c11 -D_GNU_SOURCE $x86 -fsanitize=fuzzer,address,undefined,float-cast-overflow \
    -fno-sanitize-recover=undefined,float-cast-overflow \
    -fno-trapping-math -Iruntime -Ionnx -Iops $(pkg-config --cflags libprotobuf-c openblas) $srcs \
    $(pkg-config --libs libprotobuf-c openblas) -lm -lpthread -o "$work/fuzz_model"
if [ -z "$(ls -A "$work/corpus")" ]; then
    i=0
    for m in /usr/share/libonnx-testdata/data/*/*/model.onnx; do
        i=$((i + 1)); cp "$m" "$work/corpus/seed_$i.onnx"
    done
    # subgraphs nested within, at and past KEEL_MAX_NESTING (32)
    for d in 4 32 33 300; do
        /usr/bin/python3 scripts/nested_if.py $d >"$work/corpus/nested_if_$d.onnx"
    done
    # a Loop that never ends, of constants (run while the session is made)
    /usr/bin/python3 scripts/loop_forever.py "$work" && mv "$work/const.onnx" "$work/corpus/loop_forever.onnx"
fi
cd "$work"
# -timeout: an input running 20 s (the harness stops runs at 2 s between
# nodes) is saved as timeout-*; the campaign goes on (fork mode), since a
# single large valid kernel (a wide MaxPool window) can take that long under
# ASan and coverage without any fault.
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 ./fuzz_model -max_total_time="$secs" -fork="$jobs" \
    -ignore_timeouts=1 -timeout=20 -max_len=65536 -rss_limit_mb=2048 -artifact_prefix=crashes/ corpus \
    >fuzz.log 2>&1 || true
grep -h -E "stat::number_of_executed_units|Done [0-9]+ runs|^#[0-9]+: cov" fuzz*.log | tail -n 3
found=$(ls crashes 2>/dev/null | wc -l)
echo "fuzz: $found crash/leak/timeout input(s) in $work/crashes"
if [ "$found" -ne 0 ]; then
    cp crashes/* "$OLDPWD/tests/fuzz_regressions/"
    rm -f crashes/*
    echo "fuzz: copied to tests/fuzz_regressions/ (rename them after what they found)"
fi

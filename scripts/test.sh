#!/bin/sh
# Sets up a fresh Debian machine and runs every test keel has:
#   make check            CUnit suites, ABI, fuzz regressions, ONNX conformance suite
#   make distcheck        the tarball builds and passes, examples via installcheck
#   make check-python     the Python binding
#   make check-real       real third-party models from npm against ONNX Runtime
#   make check-valgrind   memcheck on the unit suites, two backbones, a case of each real model
#   make check-tsan       the unit suites and 8 threads of sessions under ThreadSanitizer
#   make check-sanitize   everything under -fsanitize=address,undefined
#   make check-backbones  torchvision backbones against PyTorch (closes the run)
set -e
cd "$(dirname "$0")/.."
scripts/setup.sh all
export KEEL_CACHE="${KEEL_CACHE:-$HOME/.cache/keel}"
step() { echo; echo "== $*"; }
[ -x configure ] || ./autogen.sh >/dev/null
[ -f Makefile ] || ./configure -q
make -j"$(nproc)" >/dev/null
step "make check"
make check -j1 || { tail -n 60 tests/*.log; exit 1; }
grep -h "^conformance" tests/conformance.sh.log
step "make distcheck"
make distcheck -j"$(nproc)" >distcheck.out 2>&1 || { tail -n 80 distcheck.out; exit 1; }
grep -h "installcheck:" distcheck.out || true
step "make check-python"
make check-python >python.out 2>&1 || { tail -n 40 python.out; exit 1; }
tail -n 3 python.out
step "make check-real"
make check-real
step "make check-valgrind"
make check-valgrind >valgrind.out 2>&1 || { tail -n 40 valgrind.out; exit 1; }
tail -n 2 valgrind.out
step "make check-tsan"
make check-tsan >tsan.out 2>&1 || { tail -n 80 tsan.out; exit 1; }
grep -h "runs completed" tsan.out || true
echo "tsan: the unit suites and 8 threads of sessions pass under ThreadSanitizer"
step "make check-sanitize"
make check-sanitize >sanitize.out 2>&1 || { tail -n 80 sanitize.out; exit 1; }
echo "sanitizers: make check, the backbones and the real models pass under ASan+UBSan"
step "make check-backbones"
make check-backbones

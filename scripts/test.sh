#!/bin/sh
# Sets up a fresh Debian machine and runs every test keel has:
# the CUnit suites and the ONNX conformance suite (make check), the
# backbones against PyTorch (make check-backbones), and make distcheck.
set -e
cd "$(dirname "$0")/.."
scripts/setup.sh all
[ -x configure ] || ./autogen.sh
[ -f Makefile ] || ./configure -q
make -j"$(nproc)"
make check -j1 || { cat tests/*.log 2>/dev/null | tail -80; exit 1; }
make distcheck -j"$(nproc)" >distcheck.out 2>&1 || { tail -60 distcheck.out; exit 1; }
echo "make distcheck: passed"
make check-backbones

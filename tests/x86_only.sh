#!/bin/sh
# Every intrinsic and every target attribute or pragma lives under an x86/
# folder: the portable code and the generic kernel table never hold
# instruction-set-specific code.
src="${KEEL_SRCDIR:-.}"
pattern='immintrin\.h|x86intrin\.h|__m(128|256|512)|_mm(256|512)?_[a-z]|target_clones|__attribute__ *\(\( *target|#pragma +(GCC +target|clang +attribute)'
found=$(cd "$src" && find runtime ops onnx cli fuzz -name '*.[ch]' ! -path '*/x86/*' ! -name 'onnx.pb-c.*' |
        xargs grep -nE "$pattern" 2>/dev/null)
if [ -n "$found" ]; then
    echo "x86_only: instruction-set-specific code outside an x86/ folder:"
    echo "$found"
    exit 1
fi
n=$(cd "$src" && find . -path '*/x86/*' -name '*.[ch]' | wc -l)
echo "x86_only: no intrinsic or target attribute outside x86/ ($n files there)"

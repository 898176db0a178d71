#!/bin/sh
# The shared library exports keel_ symbols only, and every function the
# header declares.
lib="${KEEL_BUILDDIR:-.}/.libs/libkeel.so"
hdr="${KEEL_SRCDIR:-.}/runtime/keel.h"
if [ ! -f "$lib" ]; then
    echo "abi: $lib not built (configured with --disable-shared?): nothing to check"
    exit 77
fi
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRV]$/ {print $3}' | sort)
bad=$(echo "$exported" | grep -v '^keel_' || true)
if [ -n "$bad" ]; then
    echo "abi: libkeel.so exports symbols without the keel_ prefix:"
    echo "$bad"
    exit 1
fi
missing=0
for f in $(grep -v 'typedef' "$hdr" | grep -o 'keel_[a-z_0-9]* *(' | sed 's/ *($//' | sort -u); do
    echo "$exported" | grep -qx "$f" || { echo "abi: $f is declared in keel.h but not exported"; missing=1; }
done
[ $missing -eq 0 ] || exit 1
echo "abi: $(echo "$exported" | wc -l) symbols exported, all keel_"

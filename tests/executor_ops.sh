#!/bin/sh
# The executor knows no operator: no source file of runtime/ names an ONNX
# operator in a string literal, except the passes' own pattern definitions
# (runtime/fuse.c, runtime/fuse_*.c and runtime/layout.c, and the passes' descriptions in
# runtime/passes.c).
# What the runtime needs to know about an op is descriptor data (ops/op.h).
src="${KEEL_SRCDIR:-.}"
py=/usr/bin/python3
names=$($py -c 'import onnx.defs
print("\n".join(sorted({s.name for s in onnx.defs.get_all_schemas_with_history()})))' 2>/dev/null)
if [ -z "$names" ]; then
    echo "executor_ops: the onnx Python package is missing: cannot list the operators"
    exit 77
fi
quoted=$(mktemp) || exit 1
trap 'rm -f "$quoted"' EXIT
echo "$names" | sed 's/.*/"&"/' >"$quoted"
found=0
for f in "$src"/runtime/*.c "$src"/runtime/*.h; do
    case "$(basename "$f")" in fuse.c | fuse_*.c | layout.c | passes.c) continue ;; esac
    if grep -nwFf "$quoted" "$f" >/dev/null; then
        grep -noFf "$quoted" "$f" | sed "s|^|executor_ops: $(basename "$f"):|"
        found=1
    fi
done
[ $found -eq 0 ] || exit 1
echo "executor_ops: runtime/ names no operator outside the passes' patterns ($(echo "$names" | wc -l) operator names checked)"

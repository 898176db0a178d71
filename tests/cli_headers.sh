#!/bin/sh
# The keel command lives on the public API and one introspection header:
# every file in cli/ includes system headers and, in quotes, only keel.h,
# inspect.h (runtime/), cli.h and manifest.h (backbone_zoo/, not a runtime
# header).  Fails on any other quoted include, and on an <...> include of
# a runtime or operator header (runtime/ is on the command's include path,
# so <kl.h> would reach it as well as "kl.h") or of protobuf-c's onnx.pb-c.h.
src="${KEEL_SRCDIR:-.}"
[ -d "$src/cli" ] || { echo "cli_headers: $src/cli not found"; exit 1; }
allowed="keel.h inspect.h cli.h manifest.h"
internal=$(cd "$src" && ls runtime/*.h ops/*.h 2>/dev/null | sed 's|.*/||'; echo onnx.pb-c.h)
bad=0 files=0
for f in "$src"/cli/*.c "$src"/cli/*.h; do
    [ -f "$f" ] || continue
    files=$((files + 1))
    # "NAME QUOTE" for each #include: its header and its opening < or "
    includes=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"]\)\([^>"]*\)[>"].*/\2 \1/p' "$f")
    while read -r name quote; do
        [ -n "$name" ] || continue
        case "$quote" in
        '"')
            case " $allowed " in
            *" $name "*) ;;
            *) echo "cli_headers: ${f#"$src"/} includes \"$name\": cli/ may include only $allowed"; bad=1 ;;
            esac ;;
        '<')
            base=${name##*/}
            for h in $internal; do
                if [ "$base" = "$h" ] && [ "$h" != keel.h ] && [ "$h" != inspect.h ]; then
                    echo "cli_headers: ${f#"$src"/} includes <$name>, an internal header"
                    bad=1
                fi
            done ;;
        esac
    done <<EOF
$includes
EOF
done
[ "$files" -gt 0 ] || { echo "cli_headers: no files in $src/cli"; exit 1; }
[ "$bad" -eq 0 ] || exit 1
echo "cli_headers: $files files in cli/ include only system headers, $allowed"

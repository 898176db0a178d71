#!/bin/sh
# The operator files are listed twice: X(name) in ops/oplist.h (the
# registry) and ops/name.c in Makefile.am (the build).  Checks that the two
# lists and the files at the top level of ops/ agree:
#   - every X(name) in oplist.h has ops/name.c among Makefile.am's sources
#     and that file defines kl_opfile_ (the registry links against it);
#   - every ops/*.c in Makefile.am's sources that defines kl_opfile_ has
#     its X(name) in oplist.h;
#   - every ops/*.c on disk that defines kl_opfile_ is in both.
# Only files defining kl_opfile_ matter: helpers (ops/eltwise.c, ...) and
# files below ops/ may be listed in Makefile.am or not.  A file defines
# kl_opfile_ when it says `kl_opfile_NAME[] =`, or calls a macro of a file
# under ops/ whose body does (KL_UNARY_FLOAT_OPFILE, ...), directly or
# through other such macros.
src="${KEEL_SRCDIR:-.}"
list="$src/ops/oplist.h"
mk="$src/Makefile.am"
for f in "$list" "$mk"; do
    [ -f "$f" ] || { echo "oplist: $f not found"; exit 1; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Comments out, continuation lines joined.
strip='
function clean(line,    out, i) {
    out = ""
    while (line != "") {
        if (in_comment) {
            i = index(line, "*/")
            if (!i) return out
            line = substr(line, i + 2); in_comment = 0
        } else {
            i = index(line, "/*")
            if (!i) return out line
            out = out substr(line, 1, i - 1) " "; line = substr(line, i + 2); in_comment = 1
        }
    }
    return out
}
FNR == 1 { in_comment = 0; acc = "" }
{
    line = clean($0)
    if (line ~ /\\[ \t]*$/) { sub(/\\[ \t]*$/, " ", line); acc = acc line; next }
    line = acc line; acc = ""
    logical(line)
}'

# X(name) of oplist.h
awk "$strip"'
function logical(line,    m) {
    while (match(line, /X\([ \t]*[A-Za-z0-9_]+[ \t]*\)/)) {
        m = substr(line, RSTART + 2, RLENGTH - 3); gsub(/[ \t]/, "", m); print m
        line = substr(line, RSTART + RLENGTH)
    }
}' "$list" | sort >"$tmp/oplist"

# ops/name.c (top level of ops/) among the *_SOURCES of Makefile.am
awk '
/^[ \t]*#/ { if (!acc) next }
{
    line = $0
    if (line ~ /\\[ \t]*$/) { sub(/\\[ \t]*$/, " ", line); acc = acc line; next }
    line = acc line; acc = ""
    if (line !~ /^[A-Za-z0-9_]+_SOURCES[ \t]*\+?=/) next
    sub(/^[^=]*=/, "", line)
    n = split(line, tok, /[ \t]+/)
    for (i = 1; i <= n; i++)
        if (tok[i] ~ /^ops\/[^\/]+\.c$/) { t = tok[i]; sub(/^ops\//, "", t); sub(/\.c$/, "", t); print t }
}' "$mk" | sort -u >"$tmp/makefile"

# Files at the top level of ops/ that define kl_opfile_.  The macros are
# collected from every file under ops/.
find "$src/ops" -name '*.[ch]' | sort >"$tmp/files"
awk "$strip"'
function logical(line,    name, body) {
    if (line ~ /^[ \t]*#[ \t]*define[ \t]+[A-Za-z_][A-Za-z0-9_]*/) {
        body = line
        sub(/^[ \t]*#[ \t]*define[ \t]+/, "", body)
        match(body, /^[A-Za-z_][A-Za-z0-9_]*/)
        name = substr(body, 1, RLENGTH)
        macros[name] = macros[name] " " substr(body, RLENGTH + 1)
        return
    }
    if (FILENAME ~ /\/ops\/[^\/]+\.c$/) { text[FILENAME] = text[FILENAME] " " line; top[FILENAME] = 1 }
}
function calls(s, name) {
    return s ~ ("(^|[^A-Za-z0-9_])" name "[ \t]*\\(")
}
function defines(s,    m) {
    if (s ~ /kl_opfile_[A-Za-z0-9_#]+[ \t]*\[[ \t]*\][ \t]*=/) return 1
    for (m in opfile_macro) if (calls(s, m)) return 1
    return 0
}
END {
    do {
        grew = 0
        for (m in macros)
            if (!(m in opfile_macro) && defines(macros[m])) { opfile_macro[m] = 1; grew = 1 }
    } while (grew)
    for (f in top)
        if (defines(text[f])) { sub(/^.*\/ops\//, "", f); sub(/\.c$/, "", f); print f }
}' $(cat "$tmp/files") | sort >"$tmp/disk"

if [ ! -s "$tmp/oplist" ] || [ ! -s "$tmp/makefile" ] || [ ! -s "$tmp/disk" ]; then
    echo "oplist: found no operator in ops/oplist.h ($(wc -l <"$tmp/oplist")), in Makefile.am's" \
        "sources ($(wc -l <"$tmp/makefile")) or on disk ($(wc -l <"$tmp/disk")): this check is out of date"
    exit 1
fi

bad=0
for n in $(comm -23 "$tmp/oplist" "$tmp/makefile"); do
    echo "oplist: X($n) is in ops/oplist.h but ops/$n.c is not in Makefile.am's sources"; bad=1
done
for n in $(comm -23 "$tmp/oplist" "$tmp/disk"); do
    echo "oplist: X($n) is in ops/oplist.h but ops/$n.c does not exist or defines no kl_opfile_"; bad=1
done
for n in $(comm -12 "$tmp/makefile" "$tmp/disk" | comm -23 - "$tmp/oplist"); do
    echo "oplist: ops/$n.c is in Makefile.am's sources and defines kl_opfile_ but X($n) is not in ops/oplist.h"; bad=1
done
for n in $(comm -23 "$tmp/disk" "$tmp/makefile" | comm -23 - "$tmp/oplist"); do
    echo "oplist: ops/$n.c defines kl_opfile_ but is in neither ops/oplist.h nor Makefile.am's sources"; bad=1
done
[ $bad -eq 0 ] || exit 1
echo "oplist: $(wc -l <"$tmp/oplist") operator files, each in ops/oplist.h, Makefile.am and ops/"

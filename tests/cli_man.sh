#!/bin/sh
# keel.1, made by `keel help --man` from the table behind --help, renders
# with man(1) without warnings and documents every command.
keel="${KEEL:-cli/keel}"
if ! command -v man >/dev/null; then
    echo "cli_man: man (Debian man-db) is not installed: cannot render keel.1"
    exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$keel" help --man >"$tmp/keel.1" || { echo "cli_man: keel help --man failed"; exit 1; }
MANWIDTH=100 man --warnings -E UTF-8 -l "$tmp/keel.1" >"$tmp/out" 2>"$tmp/warn" || { echo "cli_man: man failed"; cat "$tmp/warn"; exit 1; }
# troff's complaints about the page (other notes, a locale's, pass)
grep -iE "warning|error" "$tmp/warn" && { echo "cli_man: troff complains about keel.1 (above)"; exit 1; }
fail=0
for cmd in info run check compare bench zoo version; do
    grep -q "^ *keel $cmd" "$tmp/out" || { echo "cli_man: keel.1 does not document '$cmd'"; fail=1; }
done
grep -q "^NAME" "$tmp/out" || { echo "cli_man: no NAME section"; fail=1; }
[ $fail -eq 0 ] && echo "cli_man: keel.1 renders without warnings and documents every command"
exit $fail

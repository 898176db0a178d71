#!/bin/sh
# Every subcommand answers --help, -h and `keel help COMMAND` with its usage,
# options and an example on stdout, exit 0; an unknown command gets the
# list on stderr and exit 2; a bad option gets the usage line.
keel="${KEEL:-cli/keel}"
fail=0
for cmd in info run check compare bench zoo version; do
    for form in "$cmd --help" "$cmd -h" "help $cmd"; do
        out=$($keel $form 2>/dev/null) || { echo "cli_help: 'keel $form' exited $?"; fail=1; continue; }
        echo "$out" | grep -q "^usage: keel $cmd" || { echo "cli_help: 'keel $form' shows no usage"; fail=1; }
        echo "$out" | grep -q "^example:" || { echo "cli_help: 'keel $form' shows no example"; fail=1; }
    done
done
$keel help >/dev/null || { echo "cli_help: 'keel help' failed"; fail=1; }
$keel help nosuch >/dev/null 2>&1 && { echo "cli_help: 'keel help nosuch' succeeded"; fail=1; }
$keel nosuch 2>&1 | grep -q "unknown command 'nosuch'" || { echo "cli_help: 'keel nosuch' not refused by name"; fail=1; }
for cmd in info run check bench; do
    $keel $cmd --no-such-option x >/dev/null 2>&1 && { echo "cli_help: keel $cmd accepted --no-such-option"; fail=1; }
done
$keel info --no-such-option x 2>&1 | grep -q "^usage: keel info" || { echo "cli_help: a bad option gets no usage line"; fail=1; }
[ $fail -eq 0 ] && echo "cli_help: --help, -h and keel help COMMAND for every subcommand"
exit $fail

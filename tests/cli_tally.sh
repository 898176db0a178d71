# cli_tally.sh -- sourced by the CLI tests that count checks: ok NAME and
# bad NAME (which shows $tmp/out, the output under test) keep the tally;
# tally TEST prints "TEST: N passed, N failed" and fails when any failed.
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() {
    echo "FAIL $1"
    sed 's/^/     | /' "$tmp/out"
    failed=$((failed + 1))
}
tally() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# Shared by the CLI test scripts (sourced): fail() counts a failure; expect() runs octet and checks it.
# The caller sets OCTET (the binary), TMP (a scratch folder) and failures=0.

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect CODE PATTERN -- ARGS...: run octet, check the exit code, and for failures that stderr is
# one line "octet: error: ..." matching PATTERN (a grep -E regex); for success that stdout matches.
expect() {
    local code=$1 pattern=$2
    shift 3
    "$OCTET" "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ "$rc" -ne "$code" ]; then
        fail "octet $* exited $rc, expected $code"
        sed 's/^/    /' "$TMP/out" "$TMP/err"
        return
    fi
    if [ "$code" -ne 0 ]; then
        if [ "$(wc -l <"$TMP/err")" -ne 1 ] || ! grep -q '^octet: error: ' "$TMP/err"; then
            fail "octet $*: stderr is not one 'octet: error:' line:"
            sed 's/^/    /' "$TMP/err"
        elif ! grep -Eq -- "$pattern" "$TMP/err"; then
            fail "octet $*: error does not match /$pattern/: $(cat "$TMP/err")"
        fi
    elif ! grep -Eq -- "$pattern" "$TMP/out"; then
        fail "octet $*: output does not match /$pattern/:"
        sed 's/^/    /' "$TMP/out"
    fi
}

#!/bin/sh
# Every uq-entropy score and uq-eval metric against an independent numpy
# computation (tests/cli/uq_numpy.py), to 1e-12.  Skips without numpy.
. "$top_srcdir/tests/cli/tap.sh"
if ! have_python_module numpy; then
    skip "python3-numpy is not installed"
    done_testing
    exit 0
fi
"$PYTHON" "$top_srcdir/tests/cli/uq_numpy.py" "$tmp" >"$tmp/np.out" 2>"$tmp/np.err"
while IFS= read -r line; do
    case $line in
    PASS*) ok "${line#PASS }" ;;
    FAIL*) not_ok "${line#FAIL }" ;;
    esac
done <"$tmp/np.out"
if [ -s "$tmp/np.err" ]; then
    not_ok "uq_numpy.py wrote to stderr"
    sed 's/^/#   /' "$tmp/np.err" | head -10
fi
check "numpy checks ran" test "$(grep -c '^PASS' "$tmp/np.out")" -gt 100
done_testing

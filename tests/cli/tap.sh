# TAP helpers for the CLI tests; source with
#     . "$top_srcdir/tests/cli/tap.sh"
# The test harness sets top_srcdir, top_builddir and puts tools/ on PATH.
# Each check prints one TAP line; done_testing prints the plan at the end.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
PATH="$top_builddir/tools:$PATH"
export PATH LC_ALL=C
tap_n=0
tap_failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stochtest.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
data="$top_srcdir/tests/data"

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - # SKIP $*"; }
diag() { echo "# $*"; }
done_testing() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }

# run CMD...: stdout to $tmp/out, stderr to $tmp/err, exit status in $rc.
run() {
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# check DESC CMD...: ok if CMD succeeds (any shell test expression).
check() {
    desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# expect_exit CODE DESC CMD...: run CMD and require exit status CODE.
expect_exit() {
    want=$1 desc=$2
    shift 2
    run "$@"
    if [ "$rc" -eq "$want" ]; then
        ok "$desc"
    else
        not_ok "$desc (exit $rc, wanted $want)"
        sed 's/^/#   stderr: /' "$tmp/err" | head -5
    fi
}

# expect_error CODE REGEX DESC CMD...: exit CODE, stderr matches REGEX (grep -E),
# the message is one line, and no NaN reached stdout.
expect_error() {
    want=$1 pattern=$2 desc=$3
    shift 3
    run "$@"
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" -eq "$want" ] && grep -Eq -- "$pattern" "$tmp/err" && { [ "$want" -eq 2 ] || [ "$lines" -eq 1 ]; }; then
        ok "$desc"
    else
        not_ok "$desc (exit $rc, wanted $want; stderr below)"
        sed 's/^/#   stderr: /' "$tmp/err" | head -5
    fi
}

# approx A B TOL: |A - B| <= TOL (numbers as text).
approx() {
    awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}

# have_python_module MOD: Debian's python3 (with numpy etc.) can import MOD.
PYTHON=/usr/bin/python3
have_python_module() {
    [ -x "$PYTHON" ] && "$PYTHON" -c "import $1" >/dev/null 2>&1
}

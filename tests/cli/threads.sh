#!/bin/sh
# Results do not depend on -j: each program runs with 1 and 2 threads on the
# same input and the output bytes must be identical.  A case whose program
# is not built is skipped (programs are added as their families land).
. "$top_srcdir/tests/cli/tap.sh"

# same_bytes NAME PROG ARGS...: run PROG -j 1 and -j 2 (with --seed 7 where
# the program draws random numbers), compare stdout bytes.
same_bytes() {
    name=$1
    shift
    if ! command -v "$1" >/dev/null 2>&1; then
        skip "$name: $1 not built"
        return
    fi
    if ! "$@" -j 1 >"$tmp/j1" 2>"$tmp/j1.err"; then
        not_ok "$name: -j 1 failed"
        sed 's/^/#   /' "$tmp/j1.err" | head -3
        return
    fi
    if ! "$@" -j 2 >"$tmp/j2" 2>"$tmp/j2.err"; then
        not_ok "$name: -j 2 failed"
        sed 's/^/#   /' "$tmp/j2.err" | head -3
        return
    fi
    if [ -s "$tmp/j1" ] && cmp -s "$tmp/j1" "$tmp/j2"; then
        ok "$name: -j 1 and -j 2 write the same bytes"
    else
        not_ok "$name: -j 1 and -j 2 differ (or no output)"
    fi
}

d=$top_srcdir/data

# uq: prompts in parallel
same_bytes "uq-entropy all scores" uq-entropy -q -s all --seed 7 "$d/uq-trivia.jsonl"
uq-entropy -q -s msp,pe,se,eigv -o "$tmp/uq.csv" "$d/uq-trivia.jsonl" 2>/dev/null
same_bytes "uq-eval bootstrap" uq-eval -q -l correct --bootstrap 200 --seed 7 "$tmp/uq.csv"

done_testing

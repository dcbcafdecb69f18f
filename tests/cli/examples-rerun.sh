#!/bin/sh
# The Makefile-driven experiments in examples/ (one per family) run from
# scratch, at a small size, and a second run from scratch writes the same
# bytes in every output file.
. "${top_srcdir:-.}/tests/cli/tap.sh"
command -v make >/dev/null 2>&1 || { skip "make is not installed"; done_testing; exit 0; }
ex="$top_srcdir/examples"

# name|make arguments (small sizes: seconds each)
cat >"$tmp/cases" <<'CASES'
hmm-architectures|N=100 T=30 RESTARTS=1 MAXITER=200
ssm-holdout|MODELS=ets
mjp-ratchet|N=100
pf-volatility|N=50 STEPS=10 NLL=200
uq-trivia|SCORES=msp,se,eigv BOOT=50
its|N=8 ITERS=2
CASES
while IFS='|' read -r name args; do
    for run in 1 2; do
        rm -rf "$tmp/$name.$run"
        cp -R "$ex/$name" "$tmp/$name.$run"
        chmod -R u+w "$tmp/$name.$run" # (a read-only source tree: distcheck)
        rm -rf "$tmp/$name.$run/out"
        # shellcheck disable=SC2086
        if ! (cd "$tmp/$name.$run" && make -s DATA="$top_srcdir/data" $args) >"$tmp/$name.$run.log" 2>&1; then
            not_ok "$name: make (run $run)"
            tail -5 "$tmp/$name.$run.log" | sed 's/^/#   /'
            continue 2
        fi
    done
    ok "$name: make runs from scratch"
    n=$(find "$tmp/$name.1/out" -type f | wc -l)
    if [ "$n" -gt 0 ] && diff -r "$tmp/$name.1/out" "$tmp/$name.2/out" >/dev/null; then
        ok "$name: a second run writes the same bytes ($n files)"
    else
        not_ok "$name: a second run writes the same bytes ($n files)"
        diff -r "$tmp/$name.1/out" "$tmp/$name.2/out" | head -5 | sed 's/^/#   /'
    fi
done <"$tmp/cases"
done_testing

#!/bin/sh
# Hidden semi-Markov models against a peer: a numpy EM on the expanded
# (state, steps left) chain, written from the formulas with another
# algorithm than lib/hmm/hsmm.c (tests/cli/hsmm_numpy_ref.py), started from
# the same model on the same data, gives the same log-likelihood after each
# of 15 iterations, to 1e-8 relative, for nonparametric and Poisson
# durations.  Skips when Debian's numpy or scipy is absent.
. "$top_srcdir/tests/cli/tap.sh"

if ! have_python_module scipy; then
    skip "numpy/scipy are not installed (apt-get install python3-scipy)"
    done_testing
    exit 0
fi
ref="$top_srcdir/tests/cli/hsmm_numpy_ref.py"
n=15
hmm-sample -m "$data/hsmm-pois3.yaml" -n 20 -T 100 --seed 4 > "$tmp/d.csv"
for mode in nonparametric poisson; do
    if ! "$PYTHON" "$ref" $mode "$tmp/d.csv" "$tmp/$mode-init.yaml" $n 3 15 > "$tmp/$mode-numpy.txt" 2>"$tmp/err"; then
        not_ok "numpy reference runs ($mode)"
        sed 's/^/#   /' "$tmp/err" | tail -5
        continue
    fi
    expect_exit 0 "hmm-fit from the same start ($mode durations)" \
        hmm-fit -vv --init "$tmp/$mode-init.yaml" --max-iter $n --tol 1e-300 --prob-floor 0 --min-var 1e-300 \
        -o "$tmp/$mode-fit.yaml" "$tmp/d.csv"
    sed -n 's/.* iteration \([0-9]*\) logL \([^ ]*\) .*/\2/p' "$tmp/err" > "$tmp/$mode-ours.txt"
    check "$n iterations logged ($mode)" [ "$(wc -l < "$tmp/$mode-ours.txt")" -eq $n ]
    worst=$(paste -d' ' "$tmp/$mode-ours.txt" "$tmp/$mode-numpy.txt" |
        awk '{ d = ($1 - $2) / $2; if (d < 0) d = -d; if (d > w) w = d } END { printf "%.3g", w }')
    check "logL after each iteration agrees with numpy to 1e-8 relative ($mode: worst $worst)" \
        awk -v w="$worst" 'BEGIN { exit !(w <= 1e-8) }'
done
done_testing

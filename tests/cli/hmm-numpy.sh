#!/bin/sh
# Agreement with a peer: a numpy Baum-Welch (tests/cli/hmm_numpy_ref.py)
# started from the same initial model on the same data gives the same
# log-likelihood after each of 15 EM iterations, to 1e-8 relative.
# Skips when Debian's numpy is absent.
. "$top_srcdir/tests/cli/tap.sh"

if ! have_python_module numpy; then
    skip "numpy is not installed (apt-get install python3-numpy)"
    done_testing
    exit 0
fi
ref="$top_srcdir/tests/cli/hmm_numpy_ref.py"
n=15
for mode in gauss cat; do
    if [ $mode = gauss ]; then
        hmm-sample -m "$data/hmm-gauss2.yaml" -n 20 -T 100 --seed 4 > "$tmp/$mode.csv"
        fam="gaussian diag, 3 states, 2 dimensions"
    else
        hmm-sample -m "$data/hmm-cat2.yaml" -n 20 -T 100 --seed 4 > "$tmp/$mode.csv"
        fam="categorical, 2 states, 3 symbols"
    fi
    if ! "$PYTHON" "$ref" $mode "$tmp/$mode.csv" "$tmp/$mode-init.yaml" $n > "$tmp/$mode-numpy.txt" 2>"$tmp/err"; then
        not_ok "numpy reference runs ($mode)"
        sed 's/^/#   /' "$tmp/err" | tail -5
        continue
    fi
    expect_exit 0 "hmm-fit from the same start ($fam)" \
        hmm-fit -vv --init "$tmp/$mode-init.yaml" --max-iter $n --tol 1e-300 --prob-floor 0 --min-var 1e-300 \
        -o "$tmp/$mode-fit.yaml" "$tmp/$mode.csv"
    sed -n 's/.* iteration \([0-9]*\) logL \([^ ]*\) .*/\2/p' "$tmp/err" > "$tmp/$mode-ours.txt"
    check "$n iterations logged ($mode)" [ "$(wc -l < "$tmp/$mode-ours.txt")" -eq $n ]
    worst=$(paste -d' ' "$tmp/$mode-ours.txt" "$tmp/$mode-numpy.txt" |
        awk '{ d = ($1 - $2) / $2; if (d < 0) d = -d; if (d > w) w = d } END { printf "%.3g", w }')
    check "logL after each iteration agrees with numpy to 1e-8 relative ($mode: worst $worst)" \
        awk -v w="$worst" 'BEGIN { exit !(w <= 1e-8) }'
done

# The other families against tests/cli/hmm_numpy_emis.py (scipy densities,
# M-steps from the formulas); the regression data are generated there.
emis="$top_srcdir/tests/cli/hmm_numpy_emis.py"
if ! have_python_module scipy; then
    skip "scipy is not installed (apt-get install python3-scipy): the other emission families"
    done_testing
    exit 0
fi
for mode in bernoulli multinomial gamma lognormal regression-diag regression-full ar-full gmm-full; do
    case $mode in
    bernoulli) fix=bern3 ;;
    multinomial) fix=mult3 ;;
    gamma) fix=gamma2 ;;
    lognormal) fix=lnorm2 ;;
    ar-full) fix=arfull2 ;;
    gmm-full) fix=gmmfull2 ;;
    *) fix= ;;
    esac
    [ -n "$fix" ] && hmm-sample -m "$data/hmm-$fix.yaml" -n 20 -T 150 --seed 4 > "$tmp/$mode.csv"
    if ! "$PYTHON" "$emis" $mode "$tmp/$mode.csv" "$tmp/$mode-init.yaml" $n > "$tmp/$mode-numpy.txt" 2>"$tmp/err"; then
        not_ok "numpy reference runs ($mode)"
        sed 's/^/#   /' "$tmp/err" | tail -5
        continue
    fi
    cols=
    case $mode in regression-*) cols="-c y1,y2,u1,u2" ;; esac
    expect_exit 0 "hmm-fit from the same start ($mode)" \
        hmm-fit -vv --init "$tmp/$mode-init.yaml" $cols --max-iter $n --tol 1e-300 --prob-floor 0 --min-var 1e-300 \
        -o "$tmp/$mode-fit.yaml" "$tmp/$mode.csv"
    sed -n 's/.* iteration \([0-9]*\) logL \([^ ]*\) .*/\2/p' "$tmp/err" > "$tmp/$mode-ours.txt"
    # EM stops early when logL stops changing in the last digit
    got=$(wc -l < "$tmp/$mode-ours.txt")
    check "$got of $n iterations logged ($mode)" test "$got" -ge 8 -a "$got" -le $n
    worst=$(head -n "$got" "$tmp/$mode-numpy.txt" | paste -d' ' "$tmp/$mode-ours.txt" - |
        awk '{ d = ($1 - $2) / $2; if (d < 0) d = -d; if (d > w) w = d } END { printf "%.3g", w }')
    check "logL after each iteration agrees with numpy to 1e-8 relative ($mode: worst $worst)" \
        awk -v w="$worst" 'BEGIN { exit !(w <= 1e-8) }'
done
done_testing

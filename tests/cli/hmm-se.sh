#!/bin/sh
# hmm-fit --se and --bootstrap.  Standard errors agree to 1e-4 relative
# with an independent numpy computation (tests/cli/hmm_numpy_se.py: natural
# parameters, Richardson-extrapolated differences, its own forward pass)
# for a Gaussian HMM (Old Faithful), a Poisson HMM and an HSMM with Poisson
# durations; bootstrap intervals are reproducible, the same for any -j,
# bracket the estimates and are about 2 x 1.96 SE wide.  The numpy
# comparisons skip without numpy, scipy or PyYAML.
. "$top_srcdir/tests/cli/tap.sh"

faithful="$top_srcdir/data/faithful.csv"
expect_exit 0 "--se on Old Faithful's waiting times" hmm-fit -K 2 -c waiting --se -o "$tmp/ff.yaml" "$faithful"
check "standard_errors written and read back" sh -c "grep -q '^standard_errors:' '$tmp/ff.yaml' && hmm-decode -m '$tmp/ff.yaml' --score '$faithful' > /dev/null"
expect_error 2 "--level applies to --bootstrap" "--level alone" hmm-fit -K 2 --level 0.9 "$faithful"
expect_error 2 "--bootstrap must be" "--bootstrap 1" hmm-fit -K 2 --bootstrap 1 "$faithful"
expect_error 2 "--level must be" "--level 1" hmm-fit -K 2 --bootstrap 10 --level 1 "$faithful"

if have_python_module scipy && have_python_module yaml; then
    ref="$top_srcdir/tests/cli/hmm_numpy_se.py"
    hmm-sample -m "$data/hsmm-pois3.yaml" -n 3 -T 80 --seed 6 > "$tmp/hs.csv"
    printf 'model: hmm\nversion: 1\nstates: 2\nstart: [0.5, 0.5]\ntransitions:\n  - [0.9, 0.1]\n  - [0.2, 0.8]\nemission:\n  family: poisson\n  rates:\n    - [2]\n    - [9]\n' > "$tmp/p2.yaml"
    hmm-sample -m "$tmp/p2.yaml" -n 4 -T 100 --seed 2 > "$tmp/p.csv"
    for case in gauss pois hsmm; do
        case $case in
        gauss) fit="hmm-fit -K 2 -c waiting --se $faithful" col=waiting csv=$faithful ;;
        pois) fit="hmm-fit -K 2 -e poisson --se $tmp/p.csv" col=x1 csv=$tmp/p.csv ;;
        hsmm) fit="hmm-fit -K 3 --durations poisson --max-duration 15 --se $tmp/hs.csv" col=x1 csv=$tmp/hs.csv ;;
        esac
        expect_exit 0 "fit with --se ($case)" $fit -o "$tmp/$case.yaml"
        if ! "$PYTHON" "$ref" "$csv" "$tmp/$case.yaml" $col > "$tmp/$case.txt" 2>"$tmp/err"; then
            not_ok "numpy reference runs ($case)"
            sed 's/^/#   /' "$tmp/err" | tail -5
            continue
        fi
        worst=$(awk '{ d = ($2 - $3) / $2; if (d < 0) d = -d; if (d > w) w = d } END { printf "%.3g", w }' "$tmp/$case.txt")
        n=$(wc -l < "$tmp/$case.txt")
        check "$n standard errors agree with numpy to 1e-4 relative ($case: worst $worst)" \
            awk -v w="$worst" -v n="$n" 'BEGIN { exit !(w <= 1e-4 && n >= 6) }'
    done
else
    skip "numpy, scipy or PyYAML is not installed (apt-get install python3-scipy python3-yaml)"
fi

# ---- parametric bootstrap
expect_exit 0 "--bootstrap 200 -j1" hmm-fit -K 2 -c waiting --se --bootstrap 200 -j1 -o "$tmp/b1.yaml" "$faithful"
expect_exit 0 "--bootstrap 200 -j2" hmm-fit -K 2 -c waiting --se --bootstrap 200 -j2 -o "$tmp/b2.yaml" "$faithful"
check "the same bytes for any -j" cmp -s "$tmp/b1.yaml" "$tmp/b2.yaml"
expect_exit 0 "another seed" hmm-fit -K 2 -c waiting --bootstrap 200 --seed 9 -o "$tmp/b3.yaml" "$faithful"
check "gives other intervals" sh -c "! cmp -s '$tmp/b1.yaml' '$tmp/b3.yaml'"
# the means: estimate, SE, lower and upper bounds (states in file order)
awk '/^emission:/ { s = 1 } /^standard_errors:/ { s = 2 } /^  lower:/ { s = 3 } /^  upper:/ { s = 4 }
     /means:/ { m = 1; next } /variances:/ { m = 0 }
     m && /- \[/ { sub(/.*\[/, ""); sub(/\].*/, ""); v[s, ++n[s]] = $0 + 0 }
     END { for (i = 1; i <= 2; i++) print v[1, i], v[2, i], v[3, i], v[4, i] }' "$tmp/b1.yaml" > "$tmp/means"
check "each interval brackets its estimate" awk '{ if (!($3 < $1 && $1 < $4)) exit 1 }' "$tmp/means"
# 95% percentile intervals of 200 refits are about 2 x 1.96 SE wide (the
# quantiles of 200 draws move by ~15%)
check "interval widths near 3.92 SE ($(awk '{ printf "%.2f ", ($4 - $3) / $2 }' "$tmp/means"))" \
    awk '{ r = ($4 - $3) / (3.92 * $2); if (r < 0.7 || r > 1.3) exit 1 }' "$tmp/means"
done_testing

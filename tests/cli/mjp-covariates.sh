#!/bin/sh
# mjp-infer with covariates (issue 16) on msm's cav data (data/cav.csv):
# -2 log-likelihoods against msm 1.7's published figure and our own full
# precision, EM = L-BFGS = default, threads, the model file read back,
# derived quantities against identities that hold exactly (length of stay
# summed over states = first passage time to death; P(t) rows, next-state
# rows summing to 1; sojourn = -1/q), the likelihood-ratio test, the
# prevalence table, and errors for bad covariate data.  No peer needed.
. "$top_srcdir/tests/cli/tap.sh"

# msm's cav: PTNUM, years, state 1..4 (4 = death, exact: obstype 3), sex, dage
awk -F, 'NR == 1 { print "seq,t,state,obstype,sex,dage"; next }
         { gsub(/"/, ""); print $1 "," $3 "," $8 - 1 "," ($8 == 4 ? 3 : 1) "," $5 "," $4 }' \
    "$top_srcdir/data/cav.csv" >"$tmp/cav.csv"
A=0-1,0-3,1-0,1-2,1-3,2-1,2-3
m2ll() { awk '$1 == "minus2loglik:" { print $2 }' "$1"; }
field() { awk -v k="$2:" '$1 == k { print $2; exit }' "$1"; }

expect_exit 0 "cav, no covariates" mjp-infer --allowed $A -o "$tmp/base.yaml" "$tmp/cav.csv"
check "cav: -2logL 3968.798 (msm 1.7)" approx "$(m2ll "$tmp/base.yaml")" 3968.798 0.0005
expect_exit 0 "cav ~ sex" mjp-infer --allowed $A --covariates sex -o "$tmp/sex.yaml" "$tmp/cav.csv"
check "cav ~ sex: -2logL 3954.777 (msm 1.7) to 1e-6" approx "$(m2ll "$tmp/sex.yaml")" 3954.777 0.004
check "cav ~ sex: -2logL 3954.7766 (the maximum)" approx "$(m2ll "$tmp/sex.yaml")" 3954.776604 2e-6
# ~ sex + dage and pci have a direction the data hardly identify (the sex
# effect on 1-3, the last period's 2-3 effect drift to -inf): the default
# --tol 1e-10 stops ~1e-5 short of the supremum there (2e-9 relative),
# --tol 1e-12 reaches it to 1e-6
expect_exit 0 "cav ~ sex + dage" mjp-infer --allowed $A --covariates sex,dage -o "$tmp/sd.yaml" "$tmp/cav.csv"
check "cav ~ sex + dage: -2logL 3917.415188 to 1e-8 relative" approx "$(m2ll "$tmp/sd.yaml")" 3917.415188 4e-5
mjp-infer --allowed $A --covariates sex,dage --tol 1e-12 -o "$tmp/sdt.yaml" "$tmp/cav.csv"
check "cav ~ sex + dage, --tol 1e-12: -2logL 3917.415188" approx "$(m2ll "$tmp/sdt.yaml")" 3917.415188 2e-6
expect_exit 0 "cav, pci = c(5, 10)" mjp-infer --allowed $A --pci 5,10 -o "$tmp/pci.yaml" "$tmp/cav.csv"
check "cav pci: -2logL 3882.088275 to 1e-8 relative" approx "$(m2ll "$tmp/pci.yaml")" 3882.088275 4e-5
mjp-infer --allowed $A --pci 5,10 --tol 1e-12 -o "$tmp/pcit.yaml" "$tmp/cav.csv"
check "cav pci, --tol 1e-12: -2logL 3882.088275" approx "$(m2ll "$tmp/pcit.yaml")" 3882.088275 2e-6
check "cav pci: observations added at the cuts" test "$(field "$tmp/pci.yaml" added_at_timecuts)" -gt 0
# centring at msm's covmeans (means over the intervals' start rows)
check "centre of sex = 0.1146582734 (msm's covmeans)" approx \
    "$(awk '/^  centre:/ { c = 1; next } c && $1 == "sex:" { print $2; exit }' "$tmp/sex.yaml")" 0.1146582734 1e-9
check "centre of timeperiod[5,10) = 0.3417865254" approx \
    "$(awk '/^  centre:/ { c = 1; next } c && /timeperiod\[5,10\)/ { print $2; exit }' "$tmp/pci.yaml")" 0.3417865254 1e-9
# a hazard ratio with its interval: exp(beta), exp(beta -+ 1.96 se)
hr=$(awk '/^  hazard_ratios:/ { h = 1 } h && /"0-1":/ { f = 1; next } f && $1 == "ratio:" { r = $2 } f && $1 == "lower:" { l = $2 } f && $1 == "log_se:" { print r, l, $2; exit }' "$tmp/sex.yaml")
set -- $hr
check "hazard ratio sex 0-1 = 0.5633 (msm 0.5633)" approx "$1" 0.56334 1e-4
check "its lower bound = ratio exp(-1.96 se)" approx "$2" "$(awk -v r="$1" -v s="$3" 'BEGIN { printf "%.12g", r * exp(-1.959963984540054 * s) }')" 1e-9

# the three methods (no flat direction: 2-4 left out)
A6=0-1,0-3,1-0,1-2,2-1,2-3
mjp-infer --allowed $A6 --covariates sex -o "$tmp/d.yaml" "$tmp/cav.csv"
mjp-infer --allowed $A6 --covariates sex --lbfgs -o "$tmp/l.yaml" "$tmp/cav.csv"
mjp-infer --allowed $A6 --covariates sex --em --tol 1e-12 -o "$tmp/e.yaml" "$tmp/cav.csv"
check "default = L-BFGS to 1e-9" approx "$(m2ll "$tmp/d.yaml")" "$(m2ll "$tmp/l.yaml")" 4e-6
check "default = EM to 1e-8" approx "$(m2ll "$tmp/d.yaml")" "$(m2ll "$tmp/e.yaml")" 4e-5
# threads: the same bytes
mjp-infer -j 1 --allowed $A --covariates sex,dage --pci 5,10 -o "$tmp/j1.yaml" "$tmp/cav.csv"
mjp-infer -j 2 --allowed $A --covariates sex,dage --pci 5,10 -o "$tmp/j2.yaml" "$tmp/cav.csv"
check "-j 1 and -j 2: identical model files" cmp -s "$tmp/j1.yaml" "$tmp/j2.yaml"
# the model file read back as the start: the same maximum
expect_exit 0 "fitted model as the start (-m)" mjp-infer -m "$tmp/sex.yaml" -o "$tmp/again.yaml" "$tmp/cav.csv"
check "the same -2logL from the fitted model" approx "$(m2ll "$tmp/again.yaml")" "$(m2ll "$tmp/sex.yaml")" 2e-6
# a constraint: one sex effect shared by the transitions out of state 1 (msm's constraint)
expect_exit 0 "--constraint" mjp-infer --allowed $A6 --covariates sex --constraint sex=1,1,2,3,4,5 -o "$tmp/con.yaml" "$tmp/cav.csv"
check "constraint: one parameter fewer" test "$(field "$tmp/con.yaml" free_parameters)" -eq $(($(field "$tmp/d.yaml" free_parameters) - 1))
check "constraint: a smaller likelihood" awk -v a="$(m2ll "$tmp/con.yaml")" -v b="$(m2ll "$tmp/d.yaml")" 'BEGIN { exit !(a >= b) }'
# per-transition covariates
expect_exit 0 "--covariates FROM-TO:names" mjp-infer --allowed $A6 --covariates 0-1:sex+dage --covariates 2-3:sex -o "$tmp/pt.yaml" "$tmp/cav.csv"
check "per-transition: 6 rates + 3 effects" test "$(field "$tmp/pt.yaml" free_parameters)" -eq 9

# derived quantities, at sex = 1
expect_exit 0 "--derive totlos, efpt, pnext, sojourn, qmatrix, pmatrix" \
    mjp-infer --allowed $A6 --covariates sex --at sex=1 --times 1,5 --derive pmatrix="$tmp/p.csv" \
    --derive totlos="$tmp/l.csv" --derive efpt="$tmp/f.csv" --efpt-to 3 --derive pnext="$tmp/n.csv" \
    --derive sojourn="$tmp/s.csv" --derive qmatrix="$tmp/q.csv" -o /dev/null "$tmp/cav.csv"
check "pmatrix header" test "$(head -1 "$tmp/p.csv")" = "sex,t,from,to,p,se,lower,upper"
check "pmatrix: rows sum to 1" awk -F, 'NR > 1 { s[$2 "," $3] += $5 } END { for (k in s) if (s[k] < 1 - 1e-12 || s[k] > 1 + 1e-12) exit 1 }' "$tmp/p.csv"
check "pmatrix: lower <= p <= upper" awk -F, 'NR > 1 && !($7 <= $5 && $5 <= $8) { exit 1 }' "$tmp/p.csv"
# length of stay for life, summed over the living states = time to death
for r in 0 1 2; do
    los=$(awk -F, -v r=$r 'NR > 1 && $3 == r && $4 != 3 { s += $5 } END { printf "%.15g", s }' "$tmp/l.csv")
    fp=$(awk -F, -v r=$r 'NR > 1 && $3 == r { print $4 }' "$tmp/f.csv")
    check "totlos from $r summed = efpt to death ($los, $fp)" approx "$los" "$fp" 1e-9
done
check "pnext: rows sum to 1" awk -F, 'NR > 1 { s[$2] += $4 } END { for (k in s) if (s[k] < 1 - 1e-12 || s[k] > 1 + 1e-12) exit 1 }' "$tmp/n.csv"
for r in 0 1 2; do
    q=$(awk -F, -v r=$r 'NR > 1 && $2 == r && $3 == r { print $4 }' "$tmp/q.csv")
    s=$(awk -F, -v r=$r 'NR > 1 && $2 == r { print $3 }' "$tmp/s.csv")
    check "sojourn in $r = -1/q" approx "$s" "$(awk -v q="$q" 'BEGIN { printf "%.15g", -1 / q }')" 1e-9
done
# simulated intervals: seeded, so the same bytes twice; different seeds differ
mjp-infer --allowed $A6 --covariates sex --at sex=1 --derive pnext="$tmp/n1.csv" --ci normal --ci-draws 500 --seed 3 -o /dev/null "$tmp/cav.csv"
mjp-infer --allowed $A6 --covariates sex --at sex=1 --derive pnext="$tmp/n2.csv" --ci normal --ci-draws 500 --seed 3 -o /dev/null "$tmp/cav.csv"
mjp-infer --allowed $A6 --covariates sex --at sex=1 --derive pnext="$tmp/n3.csv" --ci normal --ci-draws 500 --seed 4 -o /dev/null "$tmp/cav.csv"
check "--ci normal: the same seed, the same bytes" cmp -s "$tmp/n1.csv" "$tmp/n2.csv"
check "--ci normal: another seed, other draws" sh -c "! cmp -s '$tmp/n1.csv' '$tmp/n3.csv'"
check "--ci normal: the estimates are the delta run's" test "$(cut -d, -f1-4 "$tmp/n1.csv")" = "$(cut -d, -f1-4 "$tmp/n.csv")"

# likelihood-ratio test
expect_exit 0 "--lrtest" mjp-infer --allowed $A --covariates sex --lrtest "$tmp/base.yaml" -o "$tmp/lr.yaml" "$tmp/cav.csv"
lr=$(awk '/^  lrtest:/ { f = 1 } f && $1 == "lr:" { print $2; exit }' "$tmp/lr.yaml")
check "LR = -2logL(base) - -2logL(sex)" approx "$lr" "$(awk -v a="$(m2ll "$tmp/base.yaml")" -v b="$(m2ll "$tmp/sex.yaml")" 'BEGIN { printf "%.12g", a - b }')" 1e-5
check "LR p-value 0.0508 on 7 df (msm: 0.0508)" approx "$(awk '/^  lrtest:/ { f = 1 } f && $1 == "p_value:" { print $2; exit }' "$tmp/lr.yaml")" 0.0508 0.0001
expect_error 2 "fit the larger model now" "--lrtest the wrong way round" mjp-infer --allowed $A --lrtest "$tmp/sex.yaml" -o /dev/null "$tmp/cav.csv"
head -200 "$tmp/cav.csv" >"$tmp/cav200.csv"
expect_error 2 "needs the same data" "--lrtest on other data" mjp-infer --allowed $A --covariates sex --lrtest "$tmp/base.yaml" -o /dev/null "$tmp/cav200.csv"

# prevalence: msm's observed counts (prevalence.msm(times = c(0, 2, 20)))
expect_exit 0 "--derive prevalence" mjp-infer --allowed $A --times 0,2,20 --derive prevalence="$tmp/pr.csv" -o /dev/null "$tmp/cav.csv"
check "prevalence at 2: 507 20 7 54 (msm)" test "$(awk -F, '$1 == 2 { printf "%s ", $3 }' "$tmp/pr.csv")" = "507 20 7 54 "
check "prevalence at 20: 0 0 0 251 (msm)" test "$(awk -F, '$1 == 20 { printf "%s ", $3 }' "$tmp/pr.csv")" = "0 0 0 251 "
check "prevalence: expected totals = observed totals" awk -F, 'NR > 1 { o[$1] += $3; e[$1] += $4 } END { for (k in o) if (o[k] - e[k] > 1e-9 || e[k] - o[k] > 1e-9) exit 1 }' "$tmp/pr.csv"

# bad covariate data: file, subject, row
awk -F, -v OFS=, 'NR == 5 { $5 = "NA" } 1' "$tmp/cav.csv" >"$tmp/na.csv"
expect_error 1 "na.csv: subject 100002, row 4: covariate 'sex' is missing" "missing covariate value" mjp-infer --allowed $A --covariates sex "$tmp/na.csv"
expect_error 1 "no column 'age' \(a covariate\)" "covariate column absent" mjp-infer --allowed $A --covariates age "$tmp/cav.csv"
expect_error 2 "transition 0-2 is not allowed" "effect on a forbidden transition" mjp-infer --allowed $A --covariates 0-2:sex "$tmp/cav.csv"
expect_error 2 "labels for the 7 transitions" "constraint of the wrong length" mjp-infer --allowed $A --covariates sex --constraint sex=1,2 "$tmp/cav.csv"
expect_error 1 "time period \[30,Inf\) holds no interval of the data" "cut point after the data" mjp-infer --allowed $A --pci 30 "$tmp/cav.csv"
expect_error 2 "--pci times must be finite and increasing" "decreasing cut points" mjp-infer --allowed $A --pci 10,5 "$tmp/cav.csv"
expect_error 2 "--misc-covariates needs --hidden" "misclassification covariates on panel data" mjp-infer --misc-covariates sex "$tmp/cav.csv"
expect_error 2 "'bogus' is not a covariate" "--at unknown covariate" mjp-infer --allowed $A --covariates sex --at bogus=1 --derive sojourn=/dev/null "$tmp/cav.csv"
expect_error 2 "--derive efpt needs --efpt-to" "efpt without a target" mjp-infer --allowed $A --derive efpt=/dev/null "$tmp/cav.csv"
expect_error 2 "--derive must be KIND=FILE" "unknown derived quantity" mjp-infer --derive bogus=x.csv "$tmp/cav.csv"

# parametric bootstrap intervals: seeded, the same bytes for any -j, the
# estimate inside, an se near the delta method's for the majority (sex 0)
B="--allowed $A6 --covariates sex --at sex=0 --times 5 --ci-draws 60"
expect_exit 0 "--ci bootstrap" mjp-infer -j 1 $B --ci bootstrap --seed 3 --derive pmatrix="$tmp/b1.csv" --derive sojourn="$tmp/bs1.csv" -o /dev/null "$tmp/cav.csv"
mjp-infer -j 2 $B --ci bootstrap --seed 3 --derive pmatrix="$tmp/b2.csv" --derive sojourn="$tmp/bs2.csv" -o /dev/null "$tmp/cav.csv"
mjp-infer -j 1 $B --ci bootstrap --seed 4 --derive pmatrix="$tmp/b3.csv" -o /dev/null "$tmp/cav.csv"
mjp-infer -j 1 $B --derive sojourn="$tmp/ds.csv" -o /dev/null "$tmp/cav.csv"
check "bootstrap: -j 1 and -j 2 the same bytes" cmp -s "$tmp/b1.csv" "$tmp/b2.csv"
check "bootstrap: another seed, other intervals" sh -c "! cmp -s '$tmp/b1.csv' '$tmp/b3.csv'"
check "bootstrap: lower <= p <= upper" awk -F, 'NR > 1 && !($7 <= $5 && $5 <= $8) { exit 1 }' "$tmp/b1.csv"
for r in 0 1 2; do
    sb=$(awk -F, -v r=$r 'NR > 1 && $2 == r { print $4 }' "$tmp/bs1.csv")
    sd=$(awk -F, -v r=$r 'NR > 1 && $2 == r { print $4 }' "$tmp/ds.csv")
    check "bootstrap se of sojourn in $r within 40 % of the delta method's ($sb, $sd)" approx "$sb" "$sd" "$(awk -v s="$sd" 'BEGIN { print 0.4 * s }')"
done

done_testing

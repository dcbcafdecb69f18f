#!/bin/sh
# pf-smooth: numbers against closed forms and exact Kalman results, output
# shapes, determinism across thread counts, and every kind of bad input.
. "$top_srcdir/tests/cli/tap.sh"
models="$top_srcdir/data"
dax="$data/pf-dax200.csv"

expect_exit 0 "--help" pf-smooth --help
check "--help lists the smoothers" grep -q "ffbsm | ffbsi | paris | fixed-lag:L | pg | ppg" "$tmp/out"
expect_exit 0 "--version" pf-smooth --version
check "--version names the tool" grep -q "^pf-smooth (stochtools)" "$tmp/out"

# The YAML and built-in stochastic volatility models draw the same random
# numbers: the same log-likelihood up to rounding (the two evaluate the
# density by different formulas, exp(-x) y^2 / 2 + x / 2 against the
# normal density with sd exp(x / 2), which differ in the last bits; other
# draws would move it by the Monte Carlo error, about 0.1 here).
run pf-smooth -m "$models/pf-sv.yaml" -N 500 --loglik "$dax"
ll_yaml=$(sed -n 2p "$tmp/out" | cut -d, -f1)
run pf-smooth -m "$models/pf-sv-builtin.yaml" -N 500 --loglik "$dax"
ll_builtin=$(sed -n 2p "$tmp/out" | cut -d, -f1)
check "SV: YAML and built-in log-likelihoods agree ($ll_yaml, $ll_builtin)" approx "$ll_yaml" "$ll_builtin" 1e-9
check "SV: log-likelihood is a negative number" awk -v l="$ll_yaml" 'BEGIN { exit !(l + 0 < 0 && l + 0 > -1000) }' 

# Local level model on a short series: the exact Kalman log-likelihood and
# filtered mean, computed here with awk.  The particle estimate has a
# Monte Carlo sd of a few hundredths at N = 20000.
cat >"$tmp/ll.yaml" <<'EOF'
model: pf
version: 1
builtin: linear-gaussian
parameters: {A: [[1]], Q: [[1469.1]], C: [[1]], R: [[15099]], m0: [1120], P0: [[100000]]}
EOF
awk -F, 'NR > 1 && NR <= 31 { print NR - 1 "," $2 }' "$top_srcdir/data/nile.csv" |
    sed '1i t,y' >"$tmp/nile.csv"
exact=$(awk -F, 'NR > 1 { F = P + 15099; v = $2 - a; ll += -0.5 * (log(2 * 3.141592653589793 * F) + v * v / F);
        a = a + P / F * v; P = P * (1 - P / F) + 1469.1 }
        BEGIN { a = 1120; P = 100000 } END { printf "%.10g %.10g\n", ll, a }' "$tmp/nile.csv")
ll_exact=${exact% *}
run pf-smooth -m "$tmp/ll.yaml" -N 20000 --loglik "$tmp/nile.csv"
ll=$(sed -n 2p "$tmp/out" | cut -d, -f1)
check "local level: log-likelihood $ll vs exact $ll_exact" approx "$ll" "$ll_exact" 0.2
run pf-smooth -m "$tmp/ll.yaml" -N 5000 --smoother paris "$tmp/nile.csv"
check "local level: 30 rows and a header" [ "$(wc -l <"$tmp/out")" -eq 31 ]
last=$(tail -1 "$tmp/out")
check "local level: last filtered mean equals the smoothed one" \
    awk -F, -v l="$last" 'BEGIN { split(l, f, ","); d = f[5] - f[7]; exit !(d < 1e-9 && d > -1e-9) }'

# PaRIS functionals: online (O(N) memory) equals the stored-history run.
expect_exit 0 "paris functionals" pf-smooth -m "$models/pf-sv.yaml" -N 300 --smoother paris --functionals "$tmp/f1.csv" "$dax"
expect_exit 0 "paris functionals online" pf-smooth -m "$models/pf-sv.yaml" -N 300 --smoother paris --online --functionals "$tmp/f2.csv" "$dax"
check "online functionals equal the stored-history ones" cmp -s "$tmp/f1.csv" "$tmp/f2.csv"
check "functionals file has sum_x, sum_x2, sum_xx1" [ "$(cut -d, -f1 "$tmp/f1.csv" | tr '\n' ' ')" = "name sum_x sum_x2 sum_xx1 " ]
check "online output has the filter's columns only" sh -c "! grep -q x_smean '$tmp/out'"
# PPG's functionals are its own (the average of the conditional PaRIS
# passes), not a copy of the first unconditional PaRIS pass.
expect_exit 0 "ppg functionals" pf-smooth -m "$models/pf-sv.yaml" -N 10 --smoother ppg --burn 2 --iter 5 --functionals "$tmp/f3.csv" "$dax"
expect_exit 0 "paris functionals, same seed" pf-smooth -m "$models/pf-sv.yaml" -N 10 --smoother paris --functionals "$tmp/f4.csv" "$dax"
check "ppg functionals differ from paris's" sh -c "! cmp -s '$tmp/f3.csv' '$tmp/f4.csv'"

# Functionals a user writes: on the command line, in the model file, by
# every smoother; the built-in sums by name; the score.
expect_exit 0 "--functional expressions and a built-in by name" pf-smooth -m "$models/pf-sv.yaml" -N 300 --smoother paris \
    --functionals "$tmp/u1.csv" --functional 'vol=exp(x / 2)' --functional 'sx=x' --functional sum_x --functional 'd=x - x_prev' "$dax"
check "functional names and components" [ "$(cut -d, -f1,2 "$tmp/u1.csv" | tr '\n' ' ')" = "name,component vol, sx, sum_x,x d, " ]
check "x written as an expression equals the built-in sum_x" [ "$(sed -n 3p "$tmp/u1.csv" | cut -d, -f3)" = "$(sed -n 4p "$tmp/u1.csv" | cut -d, -f3)" ]
check "sum of x_t - x_{t-1} is about x_T - x_1" awk -F, 'NR == 5 { exit !($3 > -3 && $3 < 3) }' "$tmp/u1.csv"
cat "$models/pf-sv.yaml" >"$tmp/svf.yaml"
printf 'functionals:\n  vol: exp(x / 2)\n  jump: (x - x_prev)^2\n' >>"$tmp/svf.yaml"
for sm in paris ffbsi ffbsm ppg; do
    expect_exit 0 "model functionals and the score by $sm" pf-smooth -m "$tmp/svf.yaml" -N 200 --smoother $sm --iter 5 \
        --functionals "$tmp/u-$sm.csv" --score "$dax"
done
check "model functionals then the score, one row per parameter" \
    [ "$(cut -d, -f1,2 "$tmp/u-paris.csv" | tr '\n' ' ')" = "name,component vol, jump, score,mu score,phi score,sigma " ]
check "every smoother agrees on E[sum exp(x/2)] within 5%" awk -F, 'FNR == 2 { v[n++] = $3 }
    END { for (i = 1; i < n; i++) if (v[i] / v[0] < 0.95 || v[i] / v[0] > 1.05) exit 1; exit n != 4 }' \
    "$tmp/u-paris.csv" "$tmp/u-ffbsi.csv" "$tmp/u-ffbsm.csv" "$tmp/u-ppg.csv"
expect_exit 0 "online functionals and score" pf-smooth -m "$tmp/svf.yaml" -N 200 --smoother paris --online \
    --functionals "$tmp/u-online.csv" --score "$dax"
check "online equals the stored-history run" cmp -s "$tmp/u-paris.csv" "$tmp/u-online.csv"
expect_exit 0 "the score of a built-in model" pf-smooth -m "$models/pf-sv-builtin.yaml" -N 200 --smoother paris \
    --functionals "$tmp/u-b.csv" --score "$dax"
# (the same draws; the gradients computed two ways agree to rounding)
check "YAML and built-in SV: the same score to 1e-12" awk -F, 'NR == FNR { if (FNR > 1) b[FNR] = $3; next }
    FNR > 3 { d = $3 - b[FNR - 2]; if (d < 0) d = -d; if (d > 1e-12 * (1 + ($3 < 0 ? -$3 : $3))) bad = 1; n++ }
    END { exit bad || n != 3 }' "$tmp/u-b.csv" "$tmp/u-paris.csv"
expect_error 2 "--functional and --score write to the file of --functionals" "--functional without --functionals" \
    pf-smooth -m "$models/pf-sv.yaml" --smoother paris --functional 'a=x' "$dax"
expect_error 2 "needs --smoother paris, ppg, ffbsi or ffbsm" "--functionals with pg" \
    pf-smooth -m "$models/pf-sv.yaml" --smoother pg --functionals "$tmp/u.csv" "$dax"
expect_error 2 "--functional: functional 'x \+': unexpected end" "a bad --functional expression" \
    pf-smooth -m "$models/pf-sv.yaml" --smoother paris --functionals "$tmp/u.csv" --functional 'a=x +' "$dax"
expect_error 2 "no built-in functional 'sum_q'" "an unknown built-in functional" \
    pf-smooth -m "$models/pf-sv.yaml" --smoother paris --functionals "$tmp/u.csv" --functional sum_q "$dax"
expect_error 2 "functional 'vol' is given twice" "a name given twice" \
    pf-smooth -m "$tmp/svf.yaml" --smoother paris --functionals "$tmp/u.csv" --functional 'vol=x' "$dax"
printf 'functionals:\n  bad: x + nu\n' | cat "$models/pf-sv.yaml" - >"$tmp/svbad.yaml"
badline=$(($(wc -l <"$models/pf-sv.yaml") + 2))
expect_error 1 "svbad\.yaml:$badline:12: functional 'x \+ nu': unknown variable 'nu'" "a bad model functional at its line and column" \
    pf-smooth -m "$tmp/svbad.yaml" "$dax"
expect_error 1 "functional lg is not finite" "a functional that is NaN is an error" \
    pf-smooth -m "$models/pf-sv.yaml" -N 100 --smoother paris --functionals "$tmp/u.csv" --functional 'lg=log(x)' "$dax"
check "no functionals file is left behind" [ ! -e "$tmp/u.csv" ]

# Output shapes: quantile columns, trajectories, seq groups.
expect_exit 0 "quantiles" pf-smooth --builtin growth -N 200 --smoother ffbsi --quantiles 0.05,0.5,0.95 "$tmp/nile.csv"
check "quantile columns" grep -q "^t,ess,llinc,resampled,x_fmean,x_fsd,x_fq5,x_fq50,x_fq95,x_smean,x_ssd,x_sq5,x_sq50,x_sq95$" "$tmp/out"
check "quantiles are ordered" awk -F, 'NR > 1 && !($7 <= $8 && $8 <= $9 && $12 <= $13 && $13 <= $14) { bad = 1 } END { exit bad }' "$tmp/out"
expect_exit 0 "draws" pf-smooth -m "$models/pf-sv.yaml" -N 200 --smoother paris --draws 3 "$dax"
check "draws: header draw,t,x" [ "$(head -1 "$tmp/out")" = "draw,t,x" ]
check "draws: 3 x 199 rows" [ "$(wc -l <"$tmp/out")" -eq $((3 * 199 + 1)) ]
{ echo "seq,t,y"; sed 1d "$dax" | head -50 | sed 's/^/1,/'; sed 1d "$dax" | head -30 | sed 's/^/2,/'; } >"$tmp/two.csv"
expect_exit 0 "two series" pf-smooth -m "$models/pf-sv.yaml" -N 100 --loglik "$tmp/two.csv"
check "one log-likelihood per series" [ "$(wc -l <"$tmp/out")" -eq 3 ]
{ echo "t,y"; sed 1d "$dax" | head -30; } >"$tmp/one.csv"
run pf-smooth -m "$models/pf-sv.yaml" -N 100 --loglik "$tmp/one.csv"
one=$(sed -n 2p "$tmp/out" | cut -d, -f1)
run pf-smooth -m "$models/pf-sv.yaml" -N 100 --loglik "$tmp/two.csv"
two=$(sed -n 3p "$tmp/out" | cut -d, -f2)
check "series 2 alone gives the same log-likelihood" [ "$one" = "$two" ]

# A missing observation adds nothing to the log-likelihood.
{ echo "t,y"; echo "1,0.5"; echo "2,"; echo "3,NaN"; echo "4,-1"; } >"$tmp/miss.csv"
expect_exit 0 "missing observations" pf-smooth -m "$models/pf-sv.yaml" -N 100 "$tmp/miss.csv"
check "llinc is 0 where y is missing" awk -F, 'NR == 3 || NR == 4 { if ($3 != 0) bad = 1 } END { exit bad }' "$tmp/out"

# Every smoother runs, and -j does not change a byte.
for sm in ffbsm ffbsi paris fixed-lag:5 pg ppg; do
    expect_exit 0 "smoother $sm" pf-smooth -m "$models/pf-sv.yaml" -N 100 --iter 5 --burn 2 --smoother "$sm" "$dax"
    check "smoother $sm: no NaN" sh -c "! grep -qi nan '$tmp/out'"
done
for sm in ffbsi paris; do
    pf-smooth -m "$tmp/ll.yaml" -N 5000 --smoother $sm -j 1 "$tmp/nile.csv" >"$tmp/j1" 2>/dev/null
    pf-smooth -m "$tmp/ll.yaml" -N 5000 --smoother $sm -j 2 "$tmp/nile.csv" >"$tmp/j2" 2>/dev/null
    check "$sm: -j 1 and -j 2 give identical output" cmp -s "$tmp/j1" "$tmp/j2"
done
# The default backward sampler is O(N): rejection, then MH moves from the
# ancestor, never the exact O(N) draw; --max-tries 0 is the exact draw.
expect_exit 0 "paris -v" pf-smooth -v -m "$models/pf-sv.yaml" -N 500 --smoother paris "$dax"
check "paris: no exact O(N) draws by default" grep -q "by the MH fallback, 0 exact" "$tmp/err"
expect_exit 0 "ffbsi --max-tries 0 -v" pf-smooth -v -m "$models/pf-sv.yaml" -N 500 --smoother ffbsi --max-tries 0 "$dax"
check "ffbsi --max-tries 0: every draw exact" grep -q "by the MH fallback, 1 exact" "$tmp/err"
printf 'model: pf\nversion: 1\ninitial: {dist: normal, mean: 0, sd: 1}\ntransition: {dist: normal, mean: 0.9 * x, sd: exp(x / 4) / 2}\nobservation: {dist: normal, mean: 0, sd: exp(x / 2)}\n' >"$tmp/unb.yaml"
expect_exit 0 "a transition without a bound -v" pf-smooth -v -m "$tmp/unb.yaml" -N 500 --smoother ffbsi "$dax"
check "no bound: every draw by MH from the ancestor, none exact" grep -q "by the MH fallback, 0 exact" "$tmp/err"
for opt in "--mcmc 1" "--max-tries 0"; do
    expect_exit 0 "paris $opt" pf-smooth -m "$models/pf-sv.yaml" -N 200 --smoother paris $opt "$dax"
    check "paris $opt: no NaN, 199 rows" sh -c "! grep -qi nan '$tmp/out' && [ \$(wc -l <'$tmp/out') -eq 200 ]"
done
pf-smooth -m "$models/pf-sv.yaml" -N 300 --seed 5 "$dax" >"$tmp/s5a" 2>/dev/null
pf-smooth -m "$models/pf-sv.yaml" -N 300 --seed 5 "$dax" >"$tmp/s5b" 2>/dev/null
pf-smooth -m "$models/pf-sv.yaml" -N 300 --seed 6 "$dax" >"$tmp/s6" 2>/dev/null
check "same seed, same bytes" cmp -s "$tmp/s5a" "$tmp/s5b"
check "another seed, other numbers" sh -c "! cmp -s '$tmp/s5a' '$tmp/s6'"

# SIMD paths (pf-smooth(1), ENVIRONMENT): the paths of one family give the
# same bytes (a cap above what the CPU has falls back to its best, so the
# comparisons hold on any machine); the two families agree to rounding.
for fam in "portable sse2" "avx2 avx512"; do
    set -- $fam
    ST_SIMD=$1 pf-smooth -m "$models/pf-sv.yaml" -N 3000 --seed 5 "$dax" >"$tmp/p1" 2>/dev/null
    ST_SIMD=$2 pf-smooth -m "$models/pf-sv.yaml" -N 3000 --seed 5 "$dax" >"$tmp/p2" 2>/dev/null
    check "ST_SIMD=$1 and ST_SIMD=$2: the same bytes" cmp -s "$tmp/p1" "$tmp/p2"
done
ll_sse2=$(ST_SIMD=sse2 pf-smooth -m "$models/pf-sv-builtin.yaml" -N 3000 --loglik "$dax" | sed -n 2p | cut -d, -f1)
ll_best=$(pf-smooth -m "$models/pf-sv-builtin.yaml" -N 3000 --loglik "$dax" | sed -n 2p | cut -d, -f1)
check "ST_SIMD=sse2 and the best path agree to rounding ($ll_sse2, $ll_best)" approx "$ll_sse2" "$ll_best" 1e-8
check "pf-smooth -v names the SIMD path" sh -c "pf-smooth -v -m '$models/pf-sv.yaml' -N 10 --loglik '$dax' 2>&1 >/dev/null | grep -q 'SIMD path [a-z0-9]'"
expect_exit 0 "binary output" pf-smooth -m "$models/pf-sv.yaml" -N 100 --format bin -o "$tmp/out.stb" "$dax"
check "binary magic" sh -c "head -c 4 '$tmp/out.stb' | od -c | grep -q 'S   T   B'"

# Covariates, a multi-dimensional built-in, gzip and stdin input.
cat >"$tmp/cov.yaml" <<'EOF'
model: pf
version: 1
covariates: [u]
parameters: {beta: 0.5}
initial: {dist: normal, mean: 0, sd: 1}
transition: {dist: normal, mean: 0.8 * x + beta * u, sd: 0.3}
observation: {dist: poisson, rate: exp(x)}
EOF
awk 'BEGIN { print "t,u,y"; for (t = 1; t <= 40; t++) print t "," (t % 7 == 0) "," (t % 5) }' >"$tmp/cov.csv"
expect_exit 0 "covariate model" pf-smooth -m "$tmp/cov.yaml" -N 300 --smoother ffbsi "$tmp/cov.csv"
check "covariate model: 40 rows" [ "$(wc -l <"$tmp/out")" -eq 41 ]
check "covariate model: no NaN" sh -c "! grep -qi nan '$tmp/out'"
cut -d, -f1,3 "$tmp/cov.csv" >"$tmp/nocov.csv"
expect_error 1 "no column 'u' \\(a covariate" "missing covariate column" pf-smooth -m "$tmp/cov.yaml" -N 100 "$tmp/nocov.csv"
awk 'BEGIN { print "t,y"; for (t = 1; t <= 30; t++) printf "%d,%.6f\n", t, atan2(0.7 - 0.055 * t, -0.05 + 0.001 * t) }' >"$tmp/bearings.csv"
expect_exit 0 "bearings-only" pf-smooth --builtin bearings-only -N 500 --smoother paris "$tmp/bearings.csv"
check "bearings-only: four state components" grep -q "px_fmean,px_fsd,vx_fmean,vx_fsd,py_fmean,py_fsd,vy_fmean,vy_fsd" "$tmp/out"
gzip -c "$dax" >"$tmp/dax.csv.gz"
run pf-smooth -m "$models/pf-sv.yaml" -N 500 --loglik "$tmp/dax.csv.gz"
check "gzip input gives the same log-likelihood" [ "$(sed -n 2p "$tmp/out" | cut -d, -f1)" = "$ll_yaml" ]
run sh -c "pf-smooth -m '$models/pf-sv.yaml' -N 500 --loglik < '$dax'"
check "stdin input gives the same log-likelihood" [ "$(sed -n 2p "$tmp/out" | cut -d, -f1)" = "$ll_yaml" ]

# Bad models: each exits 1 with file:line:col and a clear message.
bad() { # NAME REGEX: write stdin to $tmp/NAME.yaml and expect the error
    cat >"$tmp/$1.yaml"
    expect_error 1 "$2" "bad model: $1" pf-smooth -m "$tmp/$1.yaml" -N 100 "$dax"
}
bad syntax 'syntax.yaml:9:14: expression .*unexpected' <<'EOF'
model: pf
version: 1
initial: {dist: normal, mean: 0, sd: 1}
transition:
  dist: normal
  mean: x
  sd: 1
observation:
  sd: exp(x /* 2)
  dist: normal
  mean: 0
EOF
bad unknown 'unknown.yaml:4:[0-9]+: .*unknown variable .rho.' <<'EOF'
model: pf
version: 1
initial: {dist: normal, mean: 0, sd: 1}
transition: {dist: normal, mean: rho * x, sd: 1}
observation: {dist: normal, mean: 0, sd: exp(x / 2)}
EOF
bad dims "dims.yaml:[0-9]+:[0-9]+: 'transition' describes 1 component but the state has 2" <<'EOF'
model: pf
version: 1
dim: 2
initial: {dist: mvnormal, mean: [0, 0], diag: [1, 1]}
transition: {dist: normal, mean: 'x[0]', sd: 1}
observation: {dist: normal, mean: 0, sd: 'exp(x[1] / 2)'}
EOF
bad index "index.yaml:4:[0-9]+: .*x\[1\] is out of range" <<'EOF'
model: pf
version: 1
initial: {dist: normal, mean: 0, sd: 1}
transition: {dist: normal, mean: 'x[1]', sd: 1}
observation: {dist: normal, mean: 0, sd: 1}
EOF
bad negscale "negscale.yaml:7:7: time step [0-9]+ .*'sd' = -[0-9.e-]+ is not positive .*x - 10" <<'EOF'
model: pf
version: 1
initial: {dist: normal, mean: 0, sd: 1}
transition:
  dist: normal
  mean: x
  sd: x - 10
observation: {dist: normal, mean: 0, sd: exp(x / 2)}
EOF
bad key "key.yaml:3:[0-9]+: .*(unknown key|sigma)" <<'EOF'
model: pf
version: 1
initial: {dist: normal, mean: 0, sd: 1, sigma: 1}
transition: {dist: normal, mean: x, sd: 1}
observation: {dist: normal, mean: 0, sd: 1}
EOF
bad family "family.yaml:[0-9]+:[0-9]+: " <<'EOF'
model: hmm
version: 1
EOF
bad param "param.yaml:4:[0-9]+: " <<'EOF'
model: pf
version: 1
builtin: stochastic-volatility
parameters: {phi: 1.2}
EOF

# Bad data and options.
{ echo "t,y"; echo "1,0.5"; echo "2,inf"; } >"$tmp/inf.csv"
expect_error 1 "row 2: observation y is infinite" "infinite observation" pf-smooth -m "$models/pf-sv.yaml" -N 100 "$tmp/inf.csv"
{ echo "t,trappings"; echo "1,3"; echo "2,2.5"; } >"$tmp/frac.csv"
expect_error 1 "not a count" "non-integer count" pf-smooth -m "$models/pf-lynx-poisson.yaml" -N 100 "$tmp/frac.csv"
{ echo "t,z"; echo "1,3"; } >"$tmp/nocol.csv"
expect_error 1 "no column 'y'" "missing observation column" pf-smooth -m "$models/pf-sv.yaml" -N 100 "$tmp/nocol.csv"
echo "t,y" >"$tmp/empty.csv"
expect_error 1 "no data rows|empty" "no rows" pf-smooth -m "$models/pf-sv.yaml" -N 100 "$tmp/empty.csv"
{ echo "t,y"; echo "2,1"; echo "1,1"; } >"$tmp/order.csv"
expect_error 1 "does not increase" "decreasing t" pf-smooth -m "$models/pf-sv.yaml" -N 100 "$tmp/order.csv"
expect_error 1 "at least 2 particles" "N = 1" pf-smooth -m "$models/pf-sv.yaml" -N 1 "$dax"
expect_error 1 "refused above 100 particles" "FFBSm too large" pf-smooth -m "$models/pf-sv.yaml" -N 200 --ffbsm-max 100 --smoother ffbsm "$dax"
# by default FFBSm refuses work of more than about a minute (N^2 T > 1e9), at once
expect_error 1 "FFBSm costs O\(N\^2\) per step: 3000 particles over 199 steps are 1.8e\+09 pairs" "FFBSm: minutes of work refused" \
    pf-smooth -m "$models/pf-sv.yaml" -N 3000 --smoother ffbsm "$dax"
expect_error 1 "cannot open|No such file" "missing model file" pf-smooth -m "$tmp/nope.yaml" "$dax"
expect_error 2 "--smoother must be" "unknown smoother" pf-smooth -m "$models/pf-sv.yaml" --smoother kalman "$dax"
expect_error 2 "-K/--backward" "K = 1" pf-smooth -m "$models/pf-sv.yaml" -K 1 --smoother paris "$dax"
expect_error 2 "--quantiles" "bad quantiles" pf-smooth -m "$models/pf-sv.yaml" --quantiles 0.5,0.2 "$dax"
expect_error 2 "one of them" "no model" pf-smooth "$dax"
expect_error 2 "unknown option" "unknown option" pf-smooth --bogus
# collapse: a count no particle can produce
cat >"$tmp/collapse.yaml" <<'EOF'
model: pf
version: 1
observations: [y]
initial: {dist: normal, mean: 0, sd: 0.1}
transition: {dist: normal, mean: x, sd: 0.1}
observation: {dist: binomial, size: 3, prob: logistic(x)}
EOF
{ echo "t,y"; echo "1,1"; echo "2,7"; } >"$tmp/seven.csv"
expect_error 1 "collapsed at time step 2" "filter collapse" pf-smooth -m "$tmp/collapse.yaml" -N 100 "$tmp/seven.csv"

done_testing

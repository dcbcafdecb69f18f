#!/bin/sh
# pf-fit: the model written back with its estimates, reading again; the
# trace; identical results for any -j; every kind of bad input.  (The
# estimates against the exact maximum likelihood: tests/unit/test_smc_fit.)
. "$top_srcdir/tests/cli/tap.sh"
models="$top_srcdir/data"
dax="$data/pf-dax200.csv"

expect_exit 0 "--help" pf-fit --help
check "--help names the methods" grep -q "ppg-sga" "$tmp/out"
expect_exit 0 "--version" pf-fit --version
check "--version names the tool" grep -q "^pf-fit (stochtools)" "$tmp/out"

# x_t = 0.8 x_{t-1} + N(0, 0.5), y_t = x_t + N(0, 1): 150 steps.
awk 'BEGIN { srand(11); print "t,y"; x = 1.2 * g(); for (t = 1; t <= 150; t++) { if (t > 1) x = 0.8 * x + sqrt(0.5) * g();
     printf "%d,%.10g\n", t, x + g() } } function g() { return sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand()) }' >"$tmp/lg.csv"
cat >"$tmp/lg.yaml" <<'EOF2'
# a local AR(1) model
model: pf
version: 1
parameters: {phi: 0.5, q: 1, r: 0.5}
constraints: {phi: signed-unit, q: positive, r: positive}
initial: {dist: normal, mean: 0, sd: 1.5}
transition: {dist: normal, mean: phi * x, sd: sqrt(q)}
observation: {dist: normal, mean: x, sd: sqrt(r)}
EOF2
expect_exit 0 "ppg-sga on a linear Gaussian model" pf-fit -m "$tmp/lg.yaml" -N 40 --steps 60 --trace "$tmp/trace.csv" -o "$tmp/fit.yaml" "$tmp/lg.csv"
check "the output is a pf model with a fit section" grep -q "^  method: ppg-sga" "$tmp/fit.yaml"
check "the constraints are kept" grep -q "^  phi: signed-unit" "$tmp/fit.yaml"
check "phi moved towards the truth" awk '/^  phi:/ && !done { done = 1; exit !($2 > 0.55 && $2 < 0.99) }' "$tmp/fit.yaml"
expect_exit 0 "the fitted model reads back (pf-smooth)" pf-smooth -m "$tmp/fit.yaml" -N 100 --loglik "$tmp/lg.csv"
check "trace: header" [ "$(head -n 1 "$tmp/trace.csv")" = "step,phi,q,r,score_phi,score_q,score_r" ]
check "trace: one row per step" [ "$(wc -l <"$tmp/trace.csv")" -eq 61 ]
check "trace: step 1 at the start values" awk -F, 'NR == 2 { exit !($2 == 0.5 && $3 == 1 && $4 == 0.5) }' "$tmp/trace.csv"
pf-fit -m "$tmp/lg.yaml" -N 300 --steps 5 -j 1 "$tmp/lg.csv" >"$tmp/j1" 2>/dev/null
pf-fit -m "$tmp/lg.yaml" -N 300 --steps 5 -j 2 "$tmp/lg.csv" >"$tmp/j2" 2>/dev/null
check "-j 1 and -j 2 give identical output" cmp -s "$tmp/j1" "$tmp/j2"
expect_exit 0 "paris-sga, r held fixed" pf-fit -m "$tmp/lg.yaml" --method paris-sga -N 40 --steps 30 --fix r -o "$tmp/fit2.yaml" "$tmp/lg.csv"
check "the held parameter keeps its value" awk '/^  r:/ && !done { done = 1; exit !($2 == 0.5) }' "$tmp/fit2.yaml"
check "paris-sga recorded" grep -q "^  method: paris-sga" "$tmp/fit2.yaml"
expect_exit 0 "a built-in model" pf-fit -m "$models/pf-sv-builtin.yaml" -N 40 --steps 10 -o "$tmp/sv.yaml" "$dax"
check "the built-in model is written with its numbers" grep -q "^builtin: stochastic-volatility" "$tmp/sv.yaml"
expect_exit 0 "the fitted built-in model reads back" pf-smooth -m "$tmp/sv.yaml" -N 100 --loglik "$dax"
expect_exit 0 "refit a fitted model (the fit section is read and replaced)" pf-fit -m "$tmp/fit.yaml" -N 40 --steps 5 -o "$tmp/refit.yaml" "$tmp/lg.csv"
check "one fit section" [ "$(grep -c '^fit:' "$tmp/refit.yaml")" -eq 1 ]

# pmmh: a prior on q, r held; the chain file; identical for any -j
sed 's/^constraints:/priors: {q: {dist: gamma, shape: 2, rate: 1}}\nconstraints:/' "$tmp/lg.yaml" >"$tmp/lgp.yaml"
expect_exit 0 "pmmh" pf-fit -m "$tmp/lgp.yaml" --method pmmh -N 100 --chains 3 --burn 60 --iter 50 --fix r --chain "$tmp/chain.csv" -o "$tmp/pm.yaml" "$tmp/lg.csv"
check "pmmh recorded with its settings" grep -q "^  method: pmmh" "$tmp/pm.yaml"
check "posterior summaries of the free parameters only" sh -c "grep -q '^    phi:' '$tmp/pm.yaml' && grep -q '^      rhat:' '$tmp/pm.yaml' && ! grep -q '^    r:' '$tmp/pm.yaml'"
check "the prior is written back" grep -q "^    dist: gamma" "$tmp/pm.yaml"
check "the model's phi is the posterior mean" awk '/^  phi:/ && !p { p = $2 } /^    phi:/ { s = 1 } s && /^      mean:/ { exit !($2 == p) }' "$tmp/pm.yaml"
check "chain: header" [ "$(head -n 1 "$tmp/chain.csv")" = "chain,iter,loglik,logprior,accepted,phi,q,r" ]
check "chain: 3 x 50 rows" [ "$(wc -l <"$tmp/chain.csv")" -eq 151 ]
check "chain: r held, the others move, log prior finite" awk -F, 'NR > 1 { if ($8 != 0.5 || $4 !~ /^-?[0-9]/) bad = 1; a += $5 } END { exit !(!bad && a > 0) }' "$tmp/chain.csv"
expect_exit 0 "the pmmh model reads back (pf-smooth)" pf-smooth -m "$tmp/pm.yaml" -N 100 --loglik "$tmp/lg.csv"
pf-fit -m "$tmp/lgp.yaml" --method pmmh -N 50 --chains 3 --burn 10 --iter 10 --chain "$tmp/c1.csv" -j 1 "$tmp/lg.csv" >"$tmp/p1" 2>/dev/null
pf-fit -m "$tmp/lgp.yaml" --method pmmh -N 50 --chains 3 --burn 10 --iter 10 --chain "$tmp/c2.csv" -j 2 "$tmp/lg.csv" >"$tmp/p2" 2>/dev/null
check "pmmh: -j 1 and -j 2 give identical output and chains" sh -c "cmp -s '$tmp/p1' '$tmp/p2' && cmp -s '$tmp/c1.csv' '$tmp/c2.csv'"
expect_error 2 "--chain is for --method pmmh" "--chain without pmmh" pf-fit -m "$tmp/lg.yaml" --chain "$tmp/x.csv" "$tmp/lg.csv"
expect_error 2 "--trace is for the score-ascent" "--trace with pmmh" pf-fit -m "$tmp/lg.yaml" --method pmmh --trace "$tmp/x.csv" "$tmp/lg.csv"
expect_error 2 "--chains must be" "no chains" pf-fit -m "$tmp/lg.yaml" --method pmmh --chains 0 "$tmp/lg.csv"
sed 's/^constraints:/priors: {phi: {dist: uniform, lower: 0.6, upper: 1}}\nconstraints:/' "$tmp/lg.yaml" >"$tmp/lgu.yaml"
expect_error 1 "parameter 'phi' = 0.5 has zero density under its prior" "a start outside the prior" pf-fit -m "$tmp/lgu.yaml" --method pmmh "$tmp/lg.csv"

expect_error 2 "--method must be ppg-sga, paris-sga or pmmh" "unknown method" pf-fit -m "$tmp/lg.yaml" --method mle "$tmp/lg.csv"
expect_error 2 "no parameter 'sigma'" "--fix of an unknown parameter" pf-fit -m "$tmp/lg.yaml" --fix sigma "$tmp/lg.csv"
expect_error 2 "beyond --steps" "--average-from beyond the steps" pf-fit -m "$tmp/lg.yaml" --steps 10 --average-from 20 "$tmp/lg.csv"
expect_error 2 "one of them" "no model" pf-fit "$tmp/lg.csv"
expect_error 2 "--step-size" "a bad step size" pf-fit -m "$tmp/lg.yaml" --step-size 0 "$tmp/lg.csv"
printf 'model: pf\nversion: 1\ninitial: {dist: normal, mean: 0, sd: 1}\ntransition: {dist: normal, mean: x, sd: 1}\nobservation: {dist: normal, mean: x, sd: 1}\n' >"$tmp/nopar.yaml"
expect_error 2 "no parameters to fit" "a model without parameters" pf-fit -m "$tmp/nopar.yaml" "$tmp/lg.csv"
sed 's/constraints: {phi: signed-unit, q: positive, r: positive}/constraints: {phi: signed-unit, q: positive, r: positive, s: positive}/' "$tmp/lg.yaml" >"$tmp/badc.yaml"
expect_error 1 "badc\.yaml:5:[0-9]+: constraint on 's', which is not a parameter" "a constraint on no parameter" pf-fit -m "$tmp/badc.yaml" "$tmp/lg.csv"
sed 's/parameters: {phi: 0.5, q: 1, r: 0.5}/parameters: {phi: 1.5, q: 1, r: 0.5}/' "$tmp/lg.yaml" >"$tmp/badv.yaml"
expect_error 1 "parameter 'phi' = 1.5 is not in \(-1, 1\)" "a value outside its constraint" pf-fit -m "$tmp/badv.yaml" "$tmp/lg.csv"
printf 't,z\n1,0.5\n2,0.1\n' >"$tmp/noy.csv"
expect_error 1 "no column 'y'" "missing observation column" pf-fit -m "$tmp/lg.yaml" "$tmp/noy.csv"
done_testing

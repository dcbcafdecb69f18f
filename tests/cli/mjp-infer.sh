#!/bin/sh
# mjp-infer: closed-form exact MLE, panel EM = L-BFGS, recovery of the
# discrete flashing ratchet, hidden data, options and every bad input the
# issue lists (exit 1, one line naming subject and row).
. "$top_srcdir/tests/cli/tap.sh"

# yaml_row FILE KEY ROW: entries of row ROW (0-based) of matrix KEY, spaces.
yaml_row() {
    awk -v key="$2" -v row="$3" '
        { line = $0; sub(/^ +/, "", line) }
        line == key ":" { f = 1; r = 0; next }
        f && line ~ /^- \[/ { if (r == row) { sub(/^- \[/, "", line); sub(/\]$/, "", line); gsub(/,/, "", line); print line; exit } r++; next }
        f { f = 0 }' "$1"
}
# yaml_val FILE KEY: value of the first "KEY: value" line.
yaml_val() { awk -v key="$2" '{ l = $0; sub(/^ +/, "", l) } index(l, key ": ") == 1 { print substr(l, length(key) + 3); exit }' "$1"; }
# yaml_par FILE NAME FIELD: fit.parameters.NAME.FIELD
yaml_par() { awk -v n="    $2:" -v f="$3" '$0 == n { g = 1; next } g && $1 == f ":" { print $2; exit }' "$1"; }
field() { echo "$1" | awk -v i="$2" '{ print $i }'; }

# ---- usage ------------------------------------------------------------
expect_exit 0 "--help" mjp-infer --help
check "--help mentions --allowed" grep -q -- "--allowed" "$tmp/out"
expect_exit 0 "--version" mjp-infer --version
check "--version format" grep -q '^mjp-infer (stochtools) ' "$tmp/out"
expect_exit 2 "unknown option" mjp-infer --frobnicate
expect_exit 2 "two data kinds" mjp-infer --exact --panel "$data/mjp-exact.csv"
expect_exit 2 "bad --base" mjp-infer --base 2 "$data/mjp-exact.csv"
expect_exit 2 "bad --pmatrix" mjp-infer --pmatrix 1,x "$data/mjp-exact.csv"
expect_exit 2 "negative --pmatrix" mjp-infer --pmatrix -1 "$data/mjp-exact.csv"
expect_exit 2 "--hidden without emission" mjp-infer --hidden "$data/mjp-exact.csv"
expect_exit 2 "bad --censor" mjp-infer --censor 99 "$data/mjp-exact.csv"
expect_error 1 "No such file" "missing data file" mjp-infer /nonexistent/x.csv

# ---- exact paths: q01 = N01 / T0 = 2 / 6.5, q10 = 2 / 4.5 ---------------
expect_exit 0 "exact closed form" mjp-infer --exact -o "$tmp/ex.yaml" "$data/mjp-exact.csv"
row=$(yaml_row "$tmp/ex.yaml" Q 0)
check "q01 = 2/6.5" approx "$(field "$row" 2)" 0.307692307692308 1e-12
row=$(yaml_row "$tmp/ex.yaml" Q 1)
check "q10 = 2/4.5" approx "$(field "$row" 1)" 0.444444444444444 1e-12
ll=$(yaml_val "$tmp/ex.yaml" loglik)
check "exact log-likelihood" approx "$ll" "$(awk 'BEGIN { printf "%.17g", 2*log(2/6.5) + 2*log(2/4.5) - 4 }')" 1e-9
row=$(yaml_row "$tmp/ex.yaml" Q_se 0)
check "se(q01) = sqrt(2)/6.5" approx "$(field "$row" 2)" "$(awk 'BEGIN { printf "%.17g", sqrt(2)/6.5 }')" 1e-12
check "no temporary file left" test "$(ls "$tmp" | grep -c tmp)" -eq 0

# ---- panel: EM and L-BFGS reach the same optimum ----------------------
mjp-sample -m "$data/mjp-illness.yaml" -n 400 --until 12 --obs-random 6 --seed 5 >"$tmp/panel.csv"
expect_exit 0 "panel --em" mjp-infer --panel --em --tol 1e-13 --allowed 0-1,1-0,0-2,1-2 -o "$tmp/em.yaml" "$tmp/panel.csv"
expect_exit 0 "panel --lbfgs" mjp-infer --panel --lbfgs --allowed 0-1,1-0,0-2,1-2 -o "$tmp/bf.yaml" "$tmp/panel.csv"
a=$(yaml_val "$tmp/em.yaml" minus2loglik)
b=$(yaml_val "$tmp/bf.yaml" minus2loglik)
check "EM and L-BFGS -2logL agree" approx "$a" "$b" 1e-6
ra=$(yaml_row "$tmp/em.yaml" Q 1)
rb=$(yaml_row "$tmp/bf.yaml" Q 1)
check "EM and L-BFGS q10 agree" approx "$(field "$ra" 1)" "$(field "$rb" 1)" 1e-4
check "converged" grep -q 'converged: true' "$tmp/bf.yaml"
check "AIC = -2logL + 2*4" approx "$(yaml_val "$tmp/bf.yaml" aic)" "$(awk -v m="$b" 'BEGIN { printf "%.17g", m + 8 }')" 1e-9
# truth within 4 standard errors
rq=$(yaml_row "$tmp/bf.yaml" Q 0)
rs=$(yaml_row "$tmp/bf.yaml" Q_se 0)
check "q01 recovered" awk -v q="$(field "$rq" 2)" -v s="$(field "$rs" 2)" 'BEGIN { d = q - 0.25; if (d < 0) d = -d; exit !(d < 4 * s) }'
# same fit with labels from the model, --base 1 numbering and P(t)
awk -F, 'NR == 1 { print; next } { print $1 "," $2 "," $3 + 1 }' "$tmp/panel.csv" >"$tmp/panel1.csv"
expect_exit 0 "--base 1" mjp-infer --base 1 --allowed 1-2,2-1,1-3,2-3 --pmatrix 0,2.5 -o "$tmp/b1.yaml" "$tmp/panel1.csv"
check "--base 1 same -2logL" approx "$(yaml_val "$tmp/b1.yaml" minus2loglik)" "$b" 1e-6
check "P(0) is the identity" test "$(awk '/- t: 0$/ { getline; getline; print; exit }' "$tmp/b1.yaml" | tr -d ' ')" = "-[1,0,0]"
check "absorbing state: expected visits" grep -q 'expected_visits:' "$tmp/b1.yaml"
expect_exit 0 "model with labels and --allowed labels" mjp-infer -m "$data/mjp-illness.yaml" --allowed well-ill,ill-well,well-dead,ill-dead -o "$tmp/lab.yaml" "$tmp/panel.csv"
check "labels: same -2logL" approx "$(yaml_val "$tmp/lab.yaml" minus2loglik)" "$b" 1e-6
# thread count does not change a bit
mjp-infer -j1 --allowed 0-1,1-0,0-2,1-2 "$tmp/panel.csv" >"$tmp/j1.yaml" 2>/dev/null
mjp-infer -j2 --allowed 0-1,1-0,0-2,1-2 "$tmp/panel.csv" >"$tmp/j2.yaml" 2>/dev/null
check "-j1 and -j2 identical" cmp -s "$tmp/j1.yaml" "$tmp/j2.yaml"
# binary stream input gives the same fit
mjp-sample -m "$data/mjp-illness.yaml" -n 400 --until 12 --obs-random 6 --seed 5 --format bin >"$tmp/panel.stb"
mjp-infer --allowed 0-1,1-0,0-2,1-2 "$tmp/panel.stb" >"$tmp/jb.yaml" 2>/dev/null
check "binary input: same fit" cmp -s "$tmp/j1.yaml" "$tmp/jb.yaml"

# ---- censored states and obstype --------------------------------------
cat >"$tmp/cens.csv" <<'EOF'
seq,t,state,obstype
1,0,0,1
1,1,1,1
1,3,99,1
2,0,0,1
2,2,0,1
2,2.5,2,3
3,0,1,1
3,1,1,2
3,1.7,0,2
EOF
expect_exit 0 "censor code and obstype 2/3" mjp-infer --censor 99=0,1 --allowed 0-1,1-0,0-2,1-2 -o "$tmp/c.yaml" "$tmp/cens.csv"
check "finite -2logL" awk -v v="$(yaml_val "$tmp/c.yaml" minus2loglik)" 'BEGIN { exit !(v + 0 == v && v > 0) }'

# ---- the discrete flashing ratchet: (V, r, b) = (1, 1, 1) --------------
cat >"$tmp/start.yaml" <<'EOF'
model: mjp
version: 1
states: 6
parameters: {V: 0.3, r: 2, b: 0.5}
positive: [r, b]
rates: {0-1: exp(-V/2), 0-2: exp(-V), 1-0: exp(V/2), 1-2: exp(-V/2), 2-0: exp(V), 2-1: exp(V/2),
        3-4: b, 3-5: b, 4-3: b, 4-5: b, 5-3: b, 5-4: b, 0-3: r, 1-4: r, 2-5: r, 3-0: r, 4-1: r, 5-2: r}
EOF
mjp-sample -m "$top_srcdir/data/mjp-ratchet.yaml" -n 200 --until 10 --seed 11 >"$tmp/ratchet.csv"
expect_exit 0 "ratchet exact paths" mjp-infer --exact -m "$tmp/start.yaml" -o "$tmp/r.yaml" "$tmp/ratchet.csv"
for p in V r b; do
    est=$(yaml_par "$tmp/r.yaml" $p estimate)
    se=$(yaml_par "$tmp/r.yaml" $p se)
    check "ratchet exact: $p = $est (se $se) within 4 se of 1" awk -v x="$est" -v s="$se" 'BEGIN { d = x - 1; if (d < 0) d = -d; exit !(s > 0 && d < 4 * s) }'
done
row=$(yaml_row "$tmp/r.yaml" Q 0)
check "ratchet rate 0->1 near exp(-1/2)" awk -v x="$(field "$row" 2)" 'BEGIN { d = x - exp(-0.5); if (d < 0) d = -d; exit !(d < 0.05) }'
mjp-sample -m "$top_srcdir/data/mjp-ratchet.yaml" -n 300 --until 10 --obs-every 0.5 --seed 12 >"$tmp/ratchetp.csv"
expect_exit 0 "ratchet panel" mjp-infer --panel -m "$tmp/start.yaml" -o "$tmp/rp.yaml" "$tmp/ratchetp.csv"
for p in V r b; do
    est=$(yaml_par "$tmp/rp.yaml" $p estimate)
    se=$(yaml_par "$tmp/rp.yaml" $p se)
    check "ratchet panel: $p = $est (se $se) within 4 se of 1" awk -v x="$est" -v s="$se" 'BEGIN { d = x - 1; if (d < 0) d = -d; exit !(s > 0 && d < 4 * s) }'
done
expect_exit 0 "fitted ratchet model reads back" mjp-sample -m "$tmp/rp.yaml" -n 1 --until 1

# ---- hidden: misclassified panel --------------------------------------
mjp-sample -m "$data/mjp-illness.yaml" -n 300 --until 12 --obs-random 8 --emission "$data/mjp-emission.yaml" --seed 8 >"$tmp/hid.csv"
expect_exit 0 "hidden fit" mjp-infer --hidden -m "$data/mjp-illness.yaml" --emission "$data/mjp-emission.yaml" --viterbi "$tmp/vit.csv" -o "$tmp/h.yaml" "$tmp/hid.csv"
check "Viterbi header" test "$(head -1 "$tmp/vit.csv")" = "seq,t,obs,state"
agree=$(paste -d, "$tmp/hid.csv" "$tmp/vit.csv" | awk -F, 'NR > 1 { n++; if ($3 == $8) a++ } END { print a / n }')
check "Viterbi recovers most true states ($agree)" awk -v a="$agree" 'BEGIN { exit !(a > 0.85) }'
expect_exit 0 "hidden fit, emission estimated" mjp-infer --hidden -m "$data/mjp-illness.yaml" --emission "$data/mjp-emission.yaml" --estimate-emission -o "$tmp/h2.yaml" "$tmp/hid.csv"
check "emission standard errors" grep -q 'emission_se:' "$tmp/h2.yaml"

# ---- bad input: exit 1, one line naming subject and row ---------------
printf 'seq,t,state\n1,0,0\n1,2,1\n1,1,0\n' >"$tmp/dec.csv"
expect_error 1 "subject 1, row 3: time 1 is before" "decreasing times" mjp-infer "$tmp/dec.csv"
printf 'seq,t,state\n1,0,0\n1,2,1\n2,0,0\n' >"$tmp/single.csv"
expect_exit 0 "single observation: warn and skip" mjp-infer -K 2 "$tmp/single.csv"
check "warning names the subject" grep -q 'warning: 1 subject with a single observation skipped (first: subject 2)' "$tmp/err"
printf 'seq,t,state\n1,0,0\n1,2,5\n' >"$tmp/out.csv"
expect_error 1 "subject 1, row 2: state 5 is outside the model" "state outside the model" mjp-infer -m "$data/mjp-illness.yaml" "$tmp/out.csv"
printf 'seq,t,state\n1,0,0\n1,2,2\n1,3,2\n' >"$tmp/forb.csv"
expect_error 1 "subject 1, row 2: transition 0-2 is not among the allowed" "forbidden exact jump" mjp-infer --exact --allowed 0-1,1-2 "$tmp/forb.csv"
printf 'seq,t,state\n1,0,2\n1,2,0\n' >"$tmp/imp.csv"
expect_error 1 "subject 1, row 2: transition 2-0 is impossible" "impossible panel transition" mjp-infer -m "$data/mjp-illness.yaml" "$tmp/imp.csv"
printf 'seq,t,state\n1,0,0\n1,1,0\n1,1,1\n' >"$tmp/zero.csv"
expect_error 1 "subject 1, row 3: state changes from 0 to 1 in a zero-length interval" "zero-length interval" mjp-infer "$tmp/zero.csv"
expect_error 1 "Q row 1 sums to" "Q row not summing to 0" mjp-infer -m "$data/mjp-bad-q.yaml" "$tmp/panel.csv"
expect_error 1 "Q row 0: negative off-diagonal" "negative off-diagonal" mjp-infer -m "$data/mjp-neg-q.yaml" "$tmp/panel.csv"
expect_error 1 "emission row 0 sums to" "emission row not summing to 1" mjp-infer --hidden -m "$data/mjp-illness.yaml" --emission "$data/mjp-bad-emission.yaml" "$tmp/hid.csv"
printf 'seq,t,state\n1,0,0\n1,nan,1\n' >"$tmp/nan.csv"
expect_error 1 "subject 1, row 2: time is missing" "missing time" mjp-infer "$tmp/nan.csv"
printf 'seq,t,state\n1,0,0\n1,1,0.5\n' >"$tmp/frac.csv"
expect_error 1 "outside the model" "fractional state" mjp-infer -K 2 "$tmp/frac.csv"
printf 'seq,t\n1,0\n' >"$tmp/nocol.csv"
expect_error 1 "no column 'state'" "no state column" mjp-infer -K 2 "$tmp/nocol.csv"
printf 'seq,t,state\n' >"$tmp/empty.csv"
expect_error 1 "no data rows" "empty data" mjp-infer -K 2 "$tmp/empty.csv"
printf 'seq,t,state,obstype\n1,0,0,1\n1,1,1,7\n' >"$tmp/ot.csv"
expect_error 1 "obstype 7 is not 1, 2 or 3" "bad obstype" mjp-infer -K 2 "$tmp/ot.csv"
printf 'seq,t,state,obstype\n1,0,0,1\n1,1,1,2\n' >"$tmp/hot.csv"
expect_error 1 "subject 1, row 2: obstype 2 applies to panel data" "obstype with --hidden" mjp-infer --hidden -m "$data/mjp-illness.yaml" --emission "$data/mjp-emission.yaml" "$tmp/hot.csv"
printf 'model: mjp\nversion: 1\nstates: 2\nQ: [[-1, 1], [1, -1]]\nbogus: 1\n' >"$tmp/unk.yaml"
expect_error 1 "unknown key 'bogus'" "unknown model key" mjp-infer -m "$tmp/unk.yaml" "$tmp/panel.csv"

done_testing

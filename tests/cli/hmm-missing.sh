#!/bin/sh
# A fully missing row (every value NaN) is a time step without an
# observation in every emission family (issue 13): its emission
# probability is 1 in every state.  For the discrete families the
# likelihood with the step missing must equal the sum over every value the
# step could take of the likelihood with that value (exact, by hmm-decode
# --score); categorical channels may also be missing one at a time.
. "$top_srcdir/tests/cli/tap.sh"

# logsumexp of the logl column of several --score outputs
lse() { awk -F, 'FNR == 2 { v[n++] = $3 } END { m = v[0]; for (i = 1; i < n; i++) if (v[i] > m) m = v[i];
                 s = 0; for (i = 0; i < n; i++) s += exp(v[i] - m); printf "%.15g\n", m + log(s) }' "$@"; }
logl() { awk -F, 'NR == 2 { print $3 }' "$1"; }

# seq: two sequences; row 3 of the first (t = 2) is the one made missing
pre() { printf 'seq,%s\n0,%s\n0,%s\n' "$1" "$2" "$3"; }
post() { printf '0,%s\n0,%s\n1,%s\n1,%s\n' "$1" "$2" "$3" "$4"; }

# ---- categorical, two channels: the step missing, then one channel missing
awk 'BEGIN { srand(3); print "seq,a,b"; for (s = 0; s < 20; s++) for (t = 0; t < 30; t++)
     print s "," int(3 * rand()) "," int(2 * rand()) }' >"$tmp/cat.csv"
hmm-fit -K 2 -e categorical -q -o "$tmp/cat.yaml" "$tmp/cat.csv"
{ pre a,b 0,1 2,0; echo '0,NaN,NaN'; post 1,1 0,0 2,1 1,0; } >"$tmp/c.csv"
expect_exit 0 "categorical: a fully missing row is accepted" hmm-decode -m "$tmp/cat.yaml" --score "$tmp/c.csv"
cp "$tmp/out" "$tmp/cm.out"
i=0
for a in 0 1 2; do for b in 0 1; do
    { pre a,b 0,1 2,0; echo "0,$a,$b"; post 1,1 0,0 2,1 1,0; } >"$tmp/c$i.csv"
    hmm-decode -m "$tmp/cat.yaml" --score "$tmp/c$i.csv" | head -2 >"$tmp/c$i.out"
    i=$((i + 1))
done; done
check "categorical: logL of the missing step = log of the sum over its 6 values" \
    approx "$(logl "$tmp/cm.out")" "$(lse "$tmp"/c[0-5].out)" 1e-10
{ pre a,b 0,1 2,0; echo '0,1,NaN'; post 1,1 0,0 2,1 1,0; } >"$tmp/h.csv"
hmm-decode -m "$tmp/cat.yaml" --score "$tmp/h.csv" >"$tmp/h.out"
check "categorical: channel b missing = sum over its 2 values" \
    approx "$(logl "$tmp/h.out")" "$(lse "$tmp/c2.out" "$tmp/c3.out")" 1e-10
expect_exit 0 "categorical: Viterbi over a missing step" hmm-decode -m "$tmp/cat.yaml" "$tmp/c.csv"
check "one state per row, the missing step included" test "$(wc -l <"$tmp/out")" -eq 8
expect_exit 0 "categorical: posterior over a missing step" hmm-decode -m "$tmp/cat.yaml" --posterior "$tmp/c.csv"
check "posterior of the missing step sums to 1" \
    awk -F, 'NR == 4 { exit !(($4 + $5) > 1 - 1e-12 && ($4 + $5) < 1 + 1e-12) }' "$tmp/out"
# EM with missing steps in the lanes of four equal-length sequences
awk -F, 'NR > 1 && NR % 7 == 0 { print $1 ",NaN,NaN"; next } { print }' "$tmp/cat.csv" >"$tmp/catm.csv"
expect_exit 0 "categorical: EM with every 7th row missing" hmm-fit -K 4 -e categorical -o "$tmp/catm.yaml" "$tmp/catm.csv"
check "fitted logL is finite" grep -Eq '^  logl: -[0-9]' "$tmp/catm.yaml"
expect_exit 0 "the same fit with -j2" hmm-fit -K 4 -e categorical -j2 -o "$tmp/catm2.yaml" "$tmp/catm.csv"
check "the same model for any -j" cmp -s "$tmp/catm.yaml" "$tmp/catm2.yaml"

# ---- Poisson: the sum over counts 0..200 (the tail beyond is negligible)
awk 'BEGIN { srand(4); print "seq,n"; for (s = 0; s < 10; s++) for (t = 0; t < 40; t++)
     print s "," int((t % 20 < 10 ? 2 : 9) * rand() * 2) }' >"$tmp/p.csv"
hmm-fit -K 2 -e poisson -q -o "$tmp/p.yaml" "$tmp/p.csv"
{ pre n 3 1; echo '0,NaN'; post 7 8 2 0; } >"$tmp/pm.csv"
expect_exit 0 "poisson: a missing row is accepted" hmm-decode -m "$tmp/p.yaml" --score "$tmp/pm.csv"
cp "$tmp/out" "$tmp/pm.out"
{ pre n 3 1; echo 'X'; post 7 8 2 0; } >"$tmp/pt.csv"
for v in $(seq 0 200); do sed "s/^X\$/0,$v/" "$tmp/pt.csv" | hmm-decode -m "$tmp/p.yaml" --score | head -2 >"$tmp/p$v.out"; done
check "poisson: logL of the missing step = log sum over counts" \
    approx "$(logl "$tmp/pm.out")" "$(lse "$tmp"/p[0-9]*.out)" 1e-9
expect_exit 0 "poisson: EM with a missing row" hmm-fit -K 2 -e poisson -o "$tmp/pf.yaml" "$tmp/pm.csv"

# ---- Bernoulli, two channels: the sum over the 4 combinations
awk 'BEGIN { srand(5); print "seq,u,v"; for (s = 0; s < 10; s++) for (t = 0; t < 30; t++)
     print s "," (rand() < 0.3) "," (rand() < 0.6) }' >"$tmp/b.csv"
hmm-fit -K 2 -e bernoulli -q -o "$tmp/b.yaml" "$tmp/b.csv"
{ pre u,v 0,1 1,1; echo '0,NaN,NaN'; post 0,0 1,0 0,1 1,1; } >"$tmp/bm.csv"
hmm-decode -m "$tmp/b.yaml" --score "$tmp/bm.csv" >"$tmp/bm.out"
i=0
for u in 0 1; do for v in 0 1; do
    { pre u,v 0,1 1,1; echo "0,$u,$v"; post 0,0 1,0 0,1 1,1; } | hmm-decode -m "$tmp/b.yaml" --score | head -2 >"$tmp/b$i.out"
    i=$((i + 1))
done; done
check "bernoulli: logL of the missing step = log sum over 4 values" \
    approx "$(logl "$tmp/bm.out")" "$(lse "$tmp"/b[0-3].out)" 1e-10

# ---- multinomial, 2 trials over 3 categories: the sum over 6 compositions
awk 'BEGIN { srand(6); print "seq,x,y,z"; for (s = 0; s < 10; s++) for (t = 0; t < 30; t++) {
     c[0] = c[1] = c[2] = 0; for (j = 0; j < 2; j++) c[int(3 * rand())]++; print s "," c[0] "," c[1] "," c[2] } }' >"$tmp/m.csv"
hmm-fit -K 2 -e multinomial -q -o "$tmp/m.yaml" "$tmp/m.csv"
{ pre x,y,z 2,0,0 1,1,0; echo '0,NaN,NaN,NaN'; post 0,1,1 0,0,2 1,0,1 0,2,0; } >"$tmp/mm.csv"
expect_exit 0 "multinomial: a missing row is accepted" hmm-decode -m "$tmp/m.yaml" --score "$tmp/mm.csv"
cp "$tmp/out" "$tmp/mm.out"
i=0
for c in 2,0,0 0,2,0 0,0,2 1,1,0 1,0,1 0,1,1; do
    { pre x,y,z 2,0,0 1,1,0; echo "0,$c"; post 0,1,1 0,0,2 1,0,1 0,2,0; } | hmm-decode -m "$tmp/m.yaml" --score | head -2 >"$tmp/m$i.out"
    i=$((i + 1))
done
check "multinomial: logL of the missing step = log sum over compositions" \
    approx "$(logl "$tmp/mm.out")" "$(lse "$tmp"/m[0-5].out)" 1e-10
{ pre x,y,z 2,0,0 1,1,0; echo '0,1,NaN,1'; post 0,1,1 0,0,2 1,0,1 0,2,0; } >"$tmp/mp.csv"
expect_error 1 'mp.csv:4:3: column .y.: missing value .*either observed or missing as a whole' "multinomial: a partly missing row is refused" \
    hmm-decode -m "$tmp/m.yaml" --score "$tmp/mp.csv"

# ---- continuous families: a missing row decodes and fits, logL finite
awk 'BEGIN { srand(7); print "seq,y,u"; for (s = 0; s < 6; s++) { x = 0; for (t = 0; t < 40; t++) {
     u = rand(); x = 0.5 * x + (t % 20 < 10 ? 1 : 3) + 0.3 * u + rand() - 0.5
     if (t == 17) print s ",NaN,NaN"; else print s "," x "," u } } }' >"$tmp/g.csv"
for fam in gaussian gmm gamma lognormal ar; do
    expect_exit 0 "$fam: EM with a missing row per sequence" hmm-fit -K 2 -e "$fam" -c y -q -o "$tmp/$fam.yaml" "$tmp/g.csv"
    expect_exit 0 "$fam: --score with a missing row" hmm-decode -m "$tmp/$fam.yaml" -c y --score "$tmp/g.csv"
    check "$fam: logL finite" awk -F, 'NR > 1 && !($3 + 0 < 0) { bad = 1 } END { exit bad }' "$tmp/out"
done
expect_exit 0 "regression: EM with a missing row per sequence" \
    hmm-fit -K 2 -e regression -c y --covariates u -q -o "$tmp/reg.yaml" "$tmp/g.csv"
# AR(1) with one state: the missing step and the step after it are not
# scored (conditioned on, as the first step of a sequence), so the logL
# equals that of the data cut at the missing step into two sequences
hmm-fit -K 1 -e ar -c y -q -o "$tmp/ar1.yaml" "$tmp/g.csv"
awk -F, 'NR == 1 { print; next } $2 == "NaN" { cut[$1] = 1; next } { print 2 * $1 + ($1 in cut) "," $2 "," $3 }' \
    "$tmp/g.csv" >"$tmp/gcut.csv"
a=$(hmm-decode -m "$tmp/ar1.yaml" -c y --score "$tmp/g.csv" | awk -F, 'NR > 1 { s += $3 } END { printf "%.15g", s }')
b=$(hmm-decode -m "$tmp/ar1.yaml" -c y --score "$tmp/gcut.csv" | awk -F, 'NR > 1 { s += $3 } END { printf "%.15g", s }')
check "ar: a missing step conditions the next row as a sequence start ($a vs $b)" approx "$a" "$b" 1e-9
printf 'seq,y\n0,NaN\n0,NaN\n' >"$tmp/none.csv"
expect_error 1 'none.csv: every value is missing' "nothing observed at all: an error" hmm-fit -K 2 "$tmp/none.csv"

done_testing

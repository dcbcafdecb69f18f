#!/bin/sh
# hmm-decode: Viterbi, posteriors and scores agree with each other and with
# hand computations on a tiny model; bad models and data are refused.
. "$top_srcdir/tests/cli/tap.sh"

m="$data/hmm-cat2.yaml"
expect_exit 0 "--help exits 0" hmm-decode --help
check "--help names the modes" sh -c "grep -q -- '--posterior' '$tmp/out' && grep -q -- '--score' '$tmp/out'"
expect_exit 0 "--version exits 0" hmm-decode --version
expect_error 2 "-m MODEL is required" "-m is required" hmm-decode "$data/hmm-sym-range.csv"
expect_error 2 "exclude each other" "--viterbi with --posterior" hmm-decode -m "$m" --viterbi --posterior "$data/hmm-sym-range.csv"

# One sequence x = 0: P = 0.6*0.7 + 0.4*0.1 = 0.46 (hand computation).
printf 'x\n0\n' > "$tmp/one.csv"
expect_exit 0 "score a one-step sequence" hmm-decode -m "$m" --score "$tmp/one.csv"
ll=$(awk -F, 'NR == 2 { print $3 }' "$tmp/out")
check "log-likelihood of x=0 is log 0.46 ($ll)" approx "$ll" -0.77652878949899629 1e-14
# Two steps x = 0,2: sum over the four paths
#   0,0: .6*.7*.9*.1 = .0378   0,1: .6*.7*.1*.6 = .0252
#   1,0: .4*.1*.2*.1 = .0008   1,1: .4*.1*.8*.6 = .0192   total .083
printf 'x\n0\n2\n' > "$tmp/two.csv"
expect_exit 0 "score a two-step sequence" hmm-decode -m "$m" --score --viterbi "$tmp/two.csv"
set -- $(awk -F, 'NR == 2 { print $3, $4 }' "$tmp/out")
check "log-likelihood is log 0.083 ($1)" approx "$1" -2.488914671185539 1e-13
check "best path 0,0 has log-probability log 0.0378 ($2)" approx "$2" -3.275446176356595 1e-13
expect_exit 0 "posterior of the two-step sequence" hmm-decode -m "$m" --posterior "$tmp/two.csv"
check "header seq,t,state,p0,p1" grep -qx 'seq,t,state,p0,p1' "$tmp/out"
p0=$(awk -F, 'NR == 2 { print $4 }' "$tmp/out")
check "P(s0 = 0 | x) = 0.063/0.083 ($p0)" approx "$p0" 0.75903614457831325 1e-14
expect_exit 0 "Viterbi path" hmm-decode -m "$m" "$tmp/two.csv"
check "Viterbi path is 0,0" sh -c "[ \"\$(cut -d, -f3 '$tmp/out' | tr '\n' ' ')\" = 'state 0 0 ' ]"

# ---- a sampled data set: consistency between the modes
hmm-sample -m "$top_srcdir/data/hmm-cyclic-4.yaml" -n 30 -T 40 --seed 3 > "$tmp/cyc.csv"
m4="$top_srcdir/data/hmm-cyclic-4.yaml"
expect_exit 0 "posterior on 30 sequences" hmm-decode -m "$m4" --posterior "$tmp/cyc.csv"
check "1200 rows" [ "$(wc -l < "$tmp/out")" -eq 1201 ]
check "posterior rows sum to 1" awk -F, 'NR > 1 { s = $4 + $5 + $6 + $7; if (s < 1 - 1e-12 || s > 1 + 1e-12) exit 1 }' "$tmp/out"
cut -d, -f1,2 "$tmp/cyc.csv" > "$tmp/want"
cut -d, -f1,2 "$tmp/out" > "$tmp/got"
check "seq and t columns follow the input" cmp -s "$tmp/want" "$tmp/got"
expect_exit 0 "Viterbi with -j1" hmm-decode -m "$m4" -j1 "$tmp/cyc.csv"
cp "$tmp/out" "$tmp/v1"
expect_exit 0 "Viterbi with -j2" hmm-decode -m "$m4" -j2 "$tmp/cyc.csv"
check "identical for any -j" cmp -s "$tmp/v1" "$tmp/out"
acc=$(paste -d, "$tmp/cyc.csv" "$tmp/out" | awk -F, 'NR > 1 { n++; if ($3 == $7) k++ } END { print k / n }')
check "Viterbi recovers most true states ($acc)" awk -v a="$acc" 'BEGIN { exit !(a > 0.8) }'
expect_exit 0 "scores" hmm-decode -m "$m4" --score "$tmp/cyc.csv"
check "one score per sequence" [ "$(wc -l < "$tmp/out")" -eq 31 ]
expect_exit 0 "binary posterior output" hmm-decode -m "$m4" --posterior -o "$tmp/post.stb" "$tmp/cyc.csv"
check "binary output starts with the magic" sh -c "head -c 4 '$tmp/post.stb' | od -An -c | grep -q 'S   T   B'"

# ---- bad models and data
expect_error 1 "hmm-badrow.yaml:7:5: row 1 sums to" "a transition row that does not sum to 1" hmm-decode -m "$data/hmm-badrow.yaml" "$tmp/one.csv"
sed 's/\[0.9, 0.1\]/[0.9, 0.1000000001]/' "$m" > "$tmp/near.yaml"
expect_exit 0 "a row within 1e-9 of 1 is accepted" hmm-decode -m "$tmp/near.yaml" "$tmp/one.csv"
sed 's/\[0.9, 0.1\]/[0.9, 0.10001]/' "$m" > "$tmp/off.yaml"
expect_error 1 "off.yaml:8:5: row 0 sums to" "a row 1e-5 off is refused" hmm-decode -m "$tmp/off.yaml" "$tmp/one.csv"
sed 's/^states: 2/states: 2\ncolor: blue/' "$m" > "$tmp/unk.yaml"
expect_error 1 "unknown key 'color'" "an unknown key" hmm-decode -m "$tmp/unk.yaml" "$tmp/one.csv"
expect_error 1 "symbol 3 out of range 0..2" "a symbol beyond the model's" hmm-decode -m "$m" "$data/hmm-sym-range.csv"
expect_error 1 "the data have 1 value columns, the model .* 2" "data with fewer columns than the model" hmm-decode -m "$data/hmm-gauss2.yaml" "$tmp/one.csv"
sed -e 's/\[0.9, 0.1\]/[1, 0]/' -e 's/\[0.2, 0.8\]/[0, 1]/' -e 's/\[0.7, 0.2, 0.1\]/[1, 0, 0]/' -e 's/\[0.1, 0.3, 0.6\]/[0, 0.4, 0.6]/' "$m" > "$tmp/zero.yaml"
printf 'x\n0\n2\n' > "$tmp/imp.csv"
expect_error 1 "imp.csv: sequence 0 has probability zero" "a sequence impossible under the model" hmm-decode -m "$tmp/zero.yaml" --posterior "$tmp/imp.csv"
expect_error 1 "probability zero" "also for Viterbi" hmm-decode -m "$tmp/zero.yaml" "$tmp/imp.csv"
expect_error 1 "missing.yaml" "a missing model file" hmm-decode -m "$tmp/missing.yaml" "$tmp/one.csv"
printf 'x\n0\nNaN\n' > "$tmp/nan.csv"
expect_exit 0 "NaN in categorical data: a step without an observation" hmm-decode -m "$m" "$tmp/nan.csv"
printf 'x\n0\n7\n' > "$tmp/sym7.csv"
expect_error 1 "sym7.csv:3:1: column .x.: symbol 7 out of range" "a symbol outside the model: file:line:col" hmm-decode -m "$m" "$tmp/sym7.csv"

# ---- posterior path sampling (forward filtering, backward sampling)
hmm-sample -m "$m4" -n 3 -T 40 --seed 5 > "$tmp/cyc3.csv"
expect_exit 0 "10,000 sampled paths per sequence" hmm-decode -m "$m4" --sample 10000 --seed 3 "$tmp/cyc3.csv"
mv "$tmp/out" "$tmp/paths.csv"
check "header seq,path,t,state and 1,200,000 rows" sh -c "head -1 '$tmp/paths.csv' | grep -qx 'seq,path,t,state' && [ \$(wc -l < '$tmp/paths.csv') -eq 1200001 ]"
hmm-decode -m "$m4" --posterior "$tmp/cyc3.csv" > "$tmp/post3.csv"
# every state frequency within 5 binomial standard errors of the posterior
# (the variance floored at that of one count in 10,000, for p near 0 or 1)
z=$(awk -F, 'NR == FNR { if (FNR > 1) c[$1 "," $3 "," $4]++; next }
    FNR > 1 { for (k = 0; k < 4; k++) { p = $(4 + k); f = c[$1 "," $2 "," k] / 10000; v = p * (1 - p)
              se = sqrt((v > 1e-4 ? v : 1e-4) / 10000); d = f - p; if (d < 0) d = -d
              if (se == 0) { if (d > 1e-12) bad = 1; continue } if (d / se > mz) mz = d / se } }
    END { if (bad) print 99; else printf "%.3f", mz }' "$tmp/paths.csv" "$tmp/post3.csv")
check "empirical marginals match the posterior (largest |z| $z of 480)" awk -v z="$z" 'BEGIN { exit !(z < 5 && z > 1) }'
expect_exit 0 "sampled paths with -j1" hmm-decode -m "$m4" --sample 50 --seed 3 -j1 "$tmp/cyc.csv"
cp "$tmp/out" "$tmp/s1"
expect_exit 0 "sampled paths with -j2" hmm-decode -m "$m4" --sample 50 --seed 3 -j2 "$tmp/cyc.csv"
check "identical for any -j" cmp -s "$tmp/s1" "$tmp/out"
expect_exit 0 "another seed" hmm-decode -m "$m4" --sample 50 --seed 4 "$tmp/cyc.csv"
check "gives other paths" sh -c "! cmp -s '$tmp/s1' '$tmp/out'"
check "the first 10 paths of 50 are the 10 paths of --sample 10" sh -c "hmm-decode -m '$m4' --sample 10 --seed 3 '$tmp/cyc.csv' | awk -F, 'NR == 1 || \$2 < 10' > '$tmp/s10' && awk -F, 'NR == 1 || \$2 < 10' '$tmp/s1' | cmp -s - '$tmp/s10'"
expect_error 2 "--sample excludes" "--sample with --posterior" hmm-decode -m "$m4" --sample 5 --posterior "$tmp/cyc.csv"
expect_error 2 "--sample must be an integer" "--sample 0" hmm-decode -m "$m4" --sample 0 "$tmp/cyc.csv"
expect_error 1 "probability zero" "an impossible sequence" hmm-decode -m "$tmp/zero.yaml" --sample 3 "$tmp/imp.csv"

done_testing

#!/bin/sh
# pf-resample: weights, ESS and log normalising increments against hand
# computations, finished particles, temperature, schemes, bad input.
. "$top_srcdir/tests/cli/tap.sh"

expect_exit 0 "--help" pf-resample --help
check "--help names the columns" grep -q "step, particle, logw" "$tmp/out"
expect_exit 0 "--version" pf-resample --version

# Step 0: weights exp(logw) = 1, 1, 2 (particle 3 finished), step 1 flat.
cat >"$tmp/in.csv" <<'EOF'
step,particle,logw,done
0,10,0,0
0,11,0,0
0,12,0.6931471805599453,0
0,13,5,1
1,10,-1,0
1,11,-1,0
1,12,-1,0
1,13,0,1
EOF
expect_exit 0 "resample" pf-resample --always "$tmp/in.csv"
check "header" [ "$(head -1 "$tmp/out")" = "step,particle,ancestor,weight,ess,logz,resampled" ]
check "8 rows" [ "$(wc -l <"$tmp/out")" -eq 9 ]
row() { awk -F, -v s="$1" -v p="$2" -v c="$3" 'NR > 1 && $1 == s && $2 == p { print $c }' "$tmp/out"; }
check "weight of particle 12 is 1/2" approx "$(row 0 12 4)" 0.5 1e-12
check "weight of particle 10 is 1/4" approx "$(row 0 10 4)" 0.25 1e-12
check "ESS = 1 / (1/16 + 1/16 + 1/4) = 8/3" approx "$(row 0 10 5)" 2.6666666666666667 1e-12
check "logz = log(4/3)" approx "$(row 0 10 6)" 0.28768207245178093 1e-12
check "finished particle is its own ancestor with weight 0" [ "$(row 0 13 3),$(row 0 13 4)" = "13,0" ]
check "ancestors are unfinished particle ids" awk -F, 'NR > 1 && $2 != 13 && !($3 == 10 || $3 == 11 || $3 == 12) { bad = 1 } END { exit bad }' "$tmp/out"
check "step 1: logz = -1, ESS = 3" [ "$(row 1 10 6),$(row 1 10 5)" = "-1,3" ]
expect_exit 0 "adaptive" pf-resample --ess 0.5 "$tmp/in.csv"
check "flat weights are not resampled" [ "$(row 1 10 7),$(row 1 11 3)" = "0,11" ]

# Temperature 2 halves the log-weights: exp(0.3466) -> weights 1, 1, sqrt 2.
expect_exit 0 "temperature" pf-resample --temperature 2 "$tmp/in.csv"
check "temperature 2 weight" approx "$(row 0 12 4)" 0.41421356237309503 1e-12

# Offspring counts are unbiased: 400 particles, weights proportional to
# particle + 1, 30 steps; particle 399 should get 400 * 400/80200 each time.
awk 'BEGIN { print "step,particle,logw"; for (s = 0; s < 30; s++) for (p = 0; p < 400; p++) print s "," p "," log(p + 1) }' >"$tmp/big.csv"
for scheme in systematic stratified multinomial residual; do
    expect_exit 0 "$scheme" pf-resample --always --scheme $scheme "$tmp/big.csv"
    check "$scheme: mean offspring of the heaviest particle" \
        awk -F, 'NR > 1 && $3 == 399 { n++ } END { m = n / 30; e = 400 * 400 / 80200; exit !(m > e - 5 * sqrt(e / 30) && m < e + 5 * sqrt(e / 30)) }' "$tmp/out"
done

# Binary in, binary out.
expect_exit 0 "binary output" pf-resample --format bin -o "$tmp/o.stb" "$tmp/in.csv"
check "binary magic" sh -c "head -c 4 '$tmp/o.stb' | od -c | grep -q 'S   T   B'"

# Bad input: exit 1, one line, no NaN.
printf 'step,particle,logw\n0,0,NaN\n0,1,0\n' >"$tmp/nan.csv"
expect_error 1 "particle 0: logw is missing or NaN" "NaN log-weight" pf-resample "$tmp/nan.csv"
printf 'step,particle,logw\n0,0,inf\n' >"$tmp/inf.csv"
expect_error 1 "logw is \\+Inf" "+Inf log-weight" pf-resample "$tmp/inf.csv"
printf 'step,particle,logw\n0,0,-inf\n0,1,-inf\n' >"$tmp/dead.csv"
expect_error 1 "step 0: every unfinished particle has zero weight" "collapse" pf-resample "$tmp/dead.csv"
printf 'step,particle,logw\n0,0,1\n0,0,2\n' >"$tmp/dup.csv"
expect_error 1 "particle 0 appears twice" "duplicate particle" pf-resample "$tmp/dup.csv"
printf 'step,particle,logw\n0,1.5,1\n' >"$tmp/frac.csv"
expect_error 1 "not a non-negative integer" "fractional particle" pf-resample "$tmp/frac.csv"
printf 'step,particle,logw,done\n0,0,1,2\n' >"$tmp/done.csv"
expect_error 1 "done must be 0 or 1" "bad done flag" pf-resample "$tmp/done.csv"
printf 'step,particle\n0,0\n' >"$tmp/nolw.csv"
expect_error 1 "missing column 'logw'" "missing logw" pf-resample "$tmp/nolw.csv"
printf 'step,particle,logw\n0,0,1\n1,0,1\n0,1,1\n' >"$tmp/split.csv"
expect_error 1 "contiguous|reappear|again" "split step" pf-resample "$tmp/split.csv"
printf 'step,particle,logw\n0,0,1\n0,1' >"$tmp/short.csv"
expect_error 1 "." "truncated row" pf-resample "$tmp/short.csv"
printf 'step,particle,logw\n' >"$tmp/empty.csv"
expect_exit 0 "no rows: empty output" pf-resample "$tmp/empty.csv"
expect_error 2 "--temperature must be" "temperature 0" pf-resample --temperature 0 "$tmp/in.csv"
expect_error 2 "--scheme must be" "bad scheme" pf-resample --scheme best "$tmp/in.csv"
expect_error 1 "No such file|cannot open" "missing file" pf-resample "$tmp/nope.csv"

done_testing

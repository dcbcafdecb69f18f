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

# -N: a step is N rows, the same answers as grouping by step.
expect_exit 0 "-N 400 from a file" pf-resample -N 400 --always --scheme residual "$tmp/big.csv"
cp "$tmp/out" "$tmp/big-N.csv"
expect_exit 0 "grouped by step" pf-resample --always --scheme residual "$tmp/big.csv"
check "-N gives the bytes of grouping by step" cmp -s "$tmp/out" "$tmp/big-N.csv"
printf 'step,particle,logw\n0,0,1\n0,1,1\n1,0,1\n1,1,1\n' >"$tmp/two.csv"
expect_error 1 "step 0 has 2 rows, not the 3 of -N \\(a row of step 1 follows\\)" "-N larger than a step" pf-resample -N 3 "$tmp/two.csv"
printf 'step,particle,logw\n0,0,1\n0,1,1\n0,2,1\n1,0,1\n' >"$tmp/short2.csv"
expect_error 1 "step 1 has 1 rows, not the 3 of -N \\(input ends\\)" "input ends inside a step" pf-resample -N 3 "$tmp/short2.csv"
expect_error 2 "-N must be" "-N 0" pf-resample -N 0 "$tmp/two.csv"
expect_error 2 "--weights must be" "bad --weights" pf-resample --weights best "$tmp/two.csv"

# Co-process: pf-resample answers each step before the next is written.
# The driver writes step 0 into a pipe, reads the 3 answers, then step 1.
if command -v mkfifo >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
    mkfifo "$tmp/in" "$tmp/ans"
    timeout 20 pf-resample -N 3 --always <"$tmp/in" >"$tmp/ans" 2>"$tmp/cerr" &
    cpid=$!
    exec 5>"$tmp/in"
    exec 6<"$tmp/ans"
    printf 'step,particle,logw\n0,0,0\n0,1,0\n0,2,1000\n' >&5
    IFS= read -r h <&6
    a0=$(timeout 10 sh -c 'for i in 1 2 3; do IFS= read -r l; echo "$l"; done' <&6)
    check "co-process: header, then step 0 answered before step 1 is sent" \
        sh -c "[ '$h' = 'step,particle,ancestor,weight,ess,logz,resampled' ] && [ \$(echo '$a0' | grep -c '^0,[012],2,') -eq 3 ]"
    printf '1,0,0\n1,1,-1000\n1,2,-1000\n' >&5
    a1=$(timeout 10 sh -c 'for i in 1 2 3; do IFS= read -r l; echo "$l"; done' <&6)
    check "co-process: step 1 answered (every slot copies particle 0)" \
        sh -c "[ \$(echo '$a1' | grep -c '^1,[012],0,') -eq 3 ]"
    exec 5>&- 6<&-
    wait $cpid
    check "co-process: exits 0 at the end of its input" [ $? -eq 0 ]
else
    skip "co-process (no mkfifo or timeout)"
fi

# --weights increment carries weights: step 0 weights 1, 1, 2 (ESS 8/3, no
# resampling with --ess 0.5), step 1 increments 1, 2, 1: 0.2, 0.4, 0.4,
# logz = log 1.25; softmax ignores step 0: 1/4, 1/2, 1/4.
printf 'step,particle,logw\n0,0,0\n0,1,0\n0,2,0.6931471805599453\n1,0,0\n1,1,0.6931471805599453\n1,2,0\n' >"$tmp/carry.csv"
expect_exit 0 "--weights increment" pf-resample --weights increment "$tmp/carry.csv"
check "increment: carried weight of particle 2 at step 1 is 0.4" approx "$(row 1 2 4)" 0.4 1e-12
check "increment: logz = log 1.25" approx "$(row 1 2 6)" 0.22314355131420976 1e-12
expect_exit 0 "--weights softmax" pf-resample "$tmp/carry.csv"
check "softmax: particle 2 at step 1 is 1/4" approx "$(row 1 2 4)" 0.25 1e-12
printf 'step,particle,logw\n0,0,0\n0,1,0\n0,2,0.6931471805599453\n1,0,0\n1,1,0.6931471805599453\n1,2,0.6931471805599453\n' >"$tmp/total.csv"
expect_exit 0 "--weights total" pf-resample --weights total "$tmp/total.csv"
check "total: the change of the score is the increment (0.4)" approx "$(row 1 2 4)" 0.4 1e-12

# Particle Gibbs: the reference keeps its place; at the end (every particle
# done) one particle is drawn as the next reference, among weights 1/4, 3/4.
awk 'BEGIN { print "step,particle,logw,done,ref"
    for (it = 0; it < 300; it++) {
        for (p = 0; p < 4; p++) print 0 "," p "," (p == 2 ? -50 : 0) ",0," (p == 2)
        for (p = 0; p < 4; p++) print 1 "," p "," (p == 1 ? log(3) : p == 0 ? 0 : "-Inf") ",1," (p == 2) } }' >"$tmp/gibbs.csv"
expect_exit 0 "--gibbs" pf-resample -N 4 --always --gibbs "$tmp/gibbs.csv"
check "gibbs: header has chosen" [ "$(head -1 "$tmp/out")" = "step,particle,ancestor,weight,ess,logz,resampled,chosen" ]
check "gibbs: the reference is its own ancestor and nobody else's" \
    awk -F, 'NR > 1 && $1 == 0 && (($2 == 2) != ($3 == 2)) { bad = 1 } END { exit bad }' "$tmp/out"
check "gibbs: one chosen particle per iteration" \
    awk -F, 'NR > 1 && $1 == 1 { c += $8 } END { exit !(c == 300) }' "$tmp/out"
check "gibbs: the chosen reference follows the final weights (3/4 for particle 1, 5 se)" \
    awk -F, 'NR > 1 && $1 == 1 && $8 == 1 { n++; k += ($2 == 1) } END { p = k / n; exit !(p > 0.75 - 5 * sqrt(0.75 * 0.25 / n) && p < 0.75 + 5 * sqrt(0.75 * 0.25 / n)) }' "$tmp/out"
expect_error 2 "add --gibbs" "ref column without --gibbs" pf-resample "$tmp/gibbs.csv"
expect_exit 0 "binary co-process output" pf-resample -N 4 --gibbs --format bin -o "$tmp/g.stb" "$tmp/gibbs.csv"
check "binary output has the stream magic" sh -c "head -c 4 '$tmp/g.stb' | od -c | grep -q 'S   T   B'"

# The example driver (examples/its): particles extended by a generator and
# scored by a reward command, pf-resample as its co-process.  Resampling on
# the reward (the count of sevens) keeps more sevens than resampling
# blindly (temperature 1e9: equal weights; about 0.1 per step).
ex="$top_srcdir/examples/its"
if command -v mkfifo >/dev/null 2>&1; then
    expect_exit 0 "its.sh: particle filter" sh "$ex/its.sh" -n 16 -s 1 "$ex/toy-gen.sh" "$ex/toy-reward.sh" "$ex/toy-prompt.txt"
    pfm=$(awk -F, 'NR > 1 { m += $4; n++ } END { print m / n }' "$tmp/out")
    check "its.sh: 16 final particles whose weights sum to 1" \
        awk -F, 'NR > 1 { s += $3; n++ } END { exit !(n == 16 && s > 1 - 1e-9 && s < 1 + 1e-9) }' "$tmp/out"
    expect_exit 0 "its.sh: equal weights" sh "$ex/its.sh" -n 16 -s 1 -T 1e9 "$ex/toy-gen.sh" "$ex/toy-reward.sh" "$ex/toy-prompt.txt"
    unm=$(awk -F, 'NR > 1 { m += $4; n++ } END { print m / n }' "$tmp/out")
    check "its.sh: resampling on the reward keeps more sevens ($pfm against $unm)" awk -v a="$pfm" -v b="$unm" 'BEGIN { exit !(a > b + 0.5) }'
    expect_exit 0 "its.sh: particle Gibbs, 3 iterations" sh "$ex/its.sh" -n 4 -g 3 "$ex/toy-gen.sh" "$ex/toy-reward.sh" "$ex/toy-prompt.txt"
    check "its.sh: one chosen reference per iteration" awk -F, 'NR > 1 { c += $NF } END { exit !(c == 3) }' "$tmp/out"
    check "its.sh: each iteration's particle 0 replays the reference chosen before" \
        awk -F, 'NR > 1 && $NF == 1 { ref[$1] = $5 } NR > 1 && $2 == 0 { first[$1] = $5 }
            END { exit !(first[1] == ref[0] && first[2] == ref[1]) }' "$tmp/out"
else
    skip "its.sh (no mkfifo)"
fi

done_testing

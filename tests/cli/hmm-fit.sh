#!/bin/sh
# hmm-fit: a real data set (Old Faithful waiting times), sample-and-refit of
# shipped models, thread invariance, model selection, --init/--fix, and the
# bad inputs of issue 3.
. "$top_srcdir/tests/cli/tap.sh"

faithful="$top_srcdir/data/faithful.csv"

# ---- help, version, usage errors
expect_exit 0 "--help exits 0" hmm-fit --help
check "--help lists the emissions and defaults" sh -c "grep -q 'categorical, poisson, gaussian' '$tmp/out' && grep -q 'default 1e-8' '$tmp/out'"
expect_exit 0 "--version exits 0" hmm-fit --version
check "--version names the program" grep -q '^hmm-fit (stochtools) ' "$tmp/out"
expect_error 2 "-K N .* is required" "-K is required" hmm-fit "$faithful"
expect_error 2 "-K must be" "-K 0 is a usage error" hmm-fit -K 0 "$faithful"
expect_error 2 "-K must be" "-K 5..2 is a usage error" hmm-fit -K 5..2 "$faithful"
expect_error 2 "emission must be" "unknown emission" hmm-fit -K 2 -e gamma "$faithful"
expect_error 2 "cov must be" "unknown covariance" hmm-fit -K 2 --cov banded "$faithful"
expect_error 2 "cov applies to" "--cov with a categorical emission" hmm-fit -K 2 -e categorical --cov full "$faithful"
expect_error 2 "topology must be" "unknown topology" hmm-fit -K 2 --topology zigzag "$faithful"
expect_error 2 "fix needs --init" "--fix without --init" hmm-fit -K 2 --fix emissions "$faithful"
expect_error 2 "sticky must be" "negative --sticky" hmm-fit -K 2 --sticky -1 "$faithful"
expect_error 2 "unknown option" "unknown option" hmm-fit -K 2 --bogus "$faithful"

# ---- Old Faithful: two states on the waiting times
expect_exit 0 "fit 2 states to the waiting times" hmm-fit -K 2 -c waiting -o "$tmp/fw.yaml" "$faithful"
check "the model records the fit" sh -c "grep -q 'observations: 272' '$tmp/fw.yaml' && grep -q 'converged: true' '$tmp/fw.yaml' && grep -q '^columns: waiting' '$tmp/fw.yaml'"
means=$(awk '/means:/ { m = 1; next } m && /- \[/ { gsub(/[][ -]/, ""); print; n++ } n == 2 { exit }' "$tmp/fw.yaml" | sort -n | tr '\n' ' ')
set -- $means
# The two clusters of waiting times are near 54.5 and 80 minutes (Azzalini
# & Bowman 1990 report the same split); the HMM puts them at 55.4 and 80.5.
check "short waits near 55 min ($1)" approx "$1" 55.4 1.5
check "long waits near 80 min ($2)" approx "$2" 80.5 1.5
ll=$(awk '/logl:/ { print $2 }' "$tmp/fw.yaml")
check "logL ($ll) beats a single Gaussian (-1289.8 is its maximum over K=1)" awk -v l="$ll" 'BEGIN { exit !(l > -1100 && l < -990) }'
expect_exit 0 "the same fit with -j1" hmm-fit -K 2 -c waiting -j1 -o "$tmp/fw1.yaml" "$faithful"
expect_exit 0 "the same fit with -j2" hmm-fit -K 2 -c waiting -j2 -o "$tmp/fw2.yaml" "$faithful"
check "-j1 and -j2 give identical bytes" cmp -s "$tmp/fw1.yaml" "$tmp/fw2.yaml"
check "and equal the default run" cmp -s "$tmp/fw.yaml" "$tmp/fw1.yaml"
expect_exit 0 "a different seed runs" hmm-fit -K 2 -c waiting --seed 9 -o "$tmp/fw9.yaml" "$faithful"
expect_exit 0 "--accelerate" hmm-fit -K 2 -c waiting --accelerate -o "$tmp/fwa.yaml" "$faithful"
lla=$(awk '/logl:/ { print $2 }' "$tmp/fwa.yaml")
check "accelerated fit reaches the same logL ($lla)" approx "$lla" "$ll" 1e-4

# ---- model selection over K, both columns, full covariances
expect_exit 0 "-K 1..3 with full covariances" hmm-fit -K 1..3 --cov full -c eruptions,waiting -o "$tmp/sel.yaml" "$faithful"
check "the table has a header and three rows" sh -c "grep -q 'logL.*params.*AIC.*BIC' '$tmp/err' && [ \$(grep -cE '^ +[123] ' '$tmp/err') -eq 3 ]"
check "the selected K is reported" grep -q 'selected K=' "$tmp/err"
k=$(awk '/^states:/ { print $2 }' "$tmp/sel.yaml")
bestk=$(awk '$1 ~ /^[0-9]+$/ && NF == 5 { if (b == "" || $5 < b) { b = $5; k = $1 } } END { print k }' "$tmp/err")
check "the written model has the smallest BIC ($k = $bestk)" [ "$k" = "$bestk" ]
expect_exit 0 "-q silences the table" hmm-fit -q -K 1..2 -c waiting -o "$tmp/q.yaml" "$faithful"
check "nothing on stderr with -q" [ ! -s "$tmp/err" ]

# ---- sample from a shipped architecture and fit it again
expect_exit 0 "sample the fully connected 3-state model" hmm-sample -m "$top_srcdir/data/hmm-full-3.yaml" -n 400 -T 50 --seed 5 -o "$tmp/f3.csv"
expect_exit 0 "refit it" hmm-fit -K 3 -e categorical --restarts 3 -o "$tmp/f3.yaml" "$tmp/f3.csv"
# each true self-transition (0.95) is matched by one fitted row: the
# diagonal of the fitted matrix, up to state order, has three values near 0.95
diag=$(awk '/^transitions:/ { m = 1; i = 0; next } m && /^  - \[/ { gsub(/[][,-]/, " "); split($0, a, " "); for (j = 1; j <= 3; j++) if (a[j] > 0.5) print a[j]; i++; if (i == 3) exit }' "$tmp/f3.yaml" | tr '\n' ' ')
set -- $diag
# 20,000 steps, ~6,700 per state: sd of a 0.95 estimate ~ 0.0027
check "three self-transitions near 0.95 ($diag)" sh -c "[ $# -eq 3 ] && awk -v a=$1 -v b=$2 -v c=$3 'BEGIN { exit !(a > 0.93 && a < 0.97 && b > 0.93 && b < 0.97 && c > 0.93 && c < 0.97) }'"

# ---- topology, priors, stationary start, --init/--fix
expect_exit 0 "left-right topology" hmm-fit -K 3 -c waiting --topology left-right:1 -o "$tmp/lr.yaml" "$faithful"
check "the masked transitions are written as exact zeros" sh -c "sed -n '/^transitions:/,/^[a-z]/p' '$tmp/lr.yaml' | grep -q '^  - \[0, 0, 1\]'"
expect_exit 0 "sticky prior and stationary start" hmm-fit -K 2 -c waiting --sticky 10 --pseudo 1 --start stationary -o "$tmp/st.yaml" "$faithful"
check "start_stationary recorded" grep -q 'start_stationary: true' "$tmp/st.yaml"
expect_exit 0 "--init with --fix emissions" hmm-fit --init "$tmp/fw.yaml" --fix emissions -o "$tmp/fix.yaml" "$faithful"
check "emissions unchanged" sh -c "sed -n '/^emission:/,/^fit:/p' '$tmp/fw.yaml' > '$tmp/e1'; sed -n '/^emission:/,/^fit:/p' '$tmp/fix.yaml' > '$tmp/e2'; cmp -s '$tmp/e1' '$tmp/e2'"
expect_error 2 "disagrees with the 2 states" "--init with another -K" hmm-fit -K 3 --init "$tmp/fw.yaml" "$faithful"
printf 'mask:\n  - [1, 1]\n  - [0, 1]\n' > "$tmp/mask.yaml"
expect_exit 0 "--mask from a file" hmm-fit -K 2 -c waiting --mask "$tmp/mask.yaml" -o "$tmp/mk.yaml" "$faithful"
check "the mask is written back" grep -q '^mask:' "$tmp/mk.yaml"
printf 'mask:\n  - [1, 1]\n' > "$tmp/badmask.yaml"
expect_error 1 "badmask.yaml:2" "a mask of the wrong shape" hmm-fit -K 2 -c waiting --mask "$tmp/badmask.yaml" "$faithful"

# ---- Poisson and missing values
awk -F, 'NR == 1 { print "seq,n"; next } { printf "0,%d\n", $2 / 10 }' "$faithful" > "$tmp/counts.csv"
expect_exit 0 "Poisson counts" hmm-fit -K 2 -e poisson -o "$tmp/p.yaml" "$tmp/counts.csv"
check "Poisson rates written" grep -q 'rates:' "$tmp/p.yaml"
expect_exit 0 "Gaussian diag with missing values" hmm-fit -K 2 "$data/hmm-gauss-nan.csv"
check "the missing values were marginalised" grep -q 'observations: 5' "$tmp/out"

# ---- autoregressive emissions
cat > "$tmp/ar.yaml" <<'EOM'
model: hmm
version: 1
states: 2
columns: y
start: [0.5, 0.5]
transitions:
  - [0.98, 0.02]
  - [0.03, 0.97]
emission:
  family: ar-gaussian
  order: 1
  intercepts:
    - [0.5]
    - [-1]
  coefficients:
    - [0.8]
    - [-0.5]
  variances:
    - [0.25]
    - [1]
EOM
hmm-sample -m "$tmp/ar.yaml" -n 10 -T 400 --seed 3 > "$tmp/ar.csv"
expect_exit 0 "AR(1) emissions" hmm-fit -K 2 -e ar --order 1 -o "$tmp/arfit.yaml" "$tmp/ar.csv"
coefs=$(sed -n '/^  coefficients:/,/^  variances:/p' "$tmp/arfit.yaml" | grep -- '- \[' | tr -d '[] -' | sort -n | tr '\n' ' ')
set -- $coefs
# 4,000 steps; the coefficients' standard errors are about 0.01 and 0.03
check "AR coefficients near -0.5 and 0.8 ($coefs)" sh -c "awk -v a=$1 -v b=$2 'BEGIN { exit !(a > 0.4 && a < 0.6 && b > 0.75 && b < 0.85) }'"
check "observations exclude the conditioned first rows" grep -q 'observations: 3990' "$tmp/arfit.yaml"
expect_error 2 "order applies to --emission ar" "--order without -e ar" hmm-fit -K 2 --order 2 "$tmp/ar.csv"
printf 'seq,y\n0,1\n0,2\n0,3\n1,1\n1,2\n1,3\n1,4\n' > "$tmp/short.csv"
expect_error 1 "sequence 0 has 3 rows, not more than the AR order 3" "a sequence not longer than the AR order" hmm-fit -K 1 -e ar --order 3 "$tmp/short.csv"

# ---- Gaussian mixtures per state
expect_exit 0 "a mixture of 2 components per state" hmm-fit -K 2 -e gmm --components 2 -c eruptions,waiting -o "$tmp/gmm.yaml" "$faithful"
check "mixture weights and components written" sh -c "grep -q 'family: gaussian-mixture' '$tmp/gmm.yaml' && grep -q 'components: 2' '$tmp/gmm.yaml'"
check "the mixture fits at least as well as one Gaussian per state" sh -c "awk '/logl:/ { print \$2 }' '$tmp/gmm.yaml' > '$tmp/l1'; hmm-fit -K 2 -c eruptions,waiting '$faithful' | awk '/logl:/ { print \$2 }' > '$tmp/l2'; awk -v a=\$(cat '$tmp/l1') -v b=\$(cat '$tmp/l2') 'BEGIN { exit !(a >= b - 1e-6) }'"
expect_exit 0 "decode with the mixture" hmm-decode -m "$tmp/gmm.yaml" --score "$faithful"
expect_error 2 "components applies to --emission gmm" "--components without -e gmm" hmm-fit -K 2 --components 3 "$faithful"

# ---- bad input: each exit 1 with a one-line message naming what and where
expect_error 1 "row 3 .*symbol 3 out of range 0..2" "categorical symbol out of range" hmm-fit -K 2 -e categorical --symbols 3 "$data/hmm-sym-range.csv"
expect_error 1 "row 2 .*symbol 1.5 is not a non-negative integer" "non-integer symbol" hmm-fit -K 2 -e categorical "$data/hmm-sym-frac.csv"
expect_error 1 "row 2 .*count -1 is not a non-negative integer" "negative count" hmm-fit -K 2 -e poisson "$data/hmm-count-neg.csv"
expect_error 1 "row 2 .*count 2.5" "non-integer count" hmm-fit -K 2 -e poisson "$data/hmm-count-frac.csv"
expect_error 1 "row 2 .*missing value" "NaN in Poisson data" hmm-fit -K 2 -e poisson "$data/hmm-count-nan.csv"
expect_exit 0 "NaN with full covariances is marginalised" hmm-fit -K 2 --cov full "$data/hmm-gauss-nan.csv"
expect_error 1 "row 2 .*missing value \\(NaN\\) is not allowed" "NaN in AR data" hmm-fit -K 1 -e ar "$data/hmm-gauss-nan.csv"
expect_error 1 "3 states is more than the 2 observations" "K larger than the observations" hmm-fit -K 3 "$data/hmm-two-rows.csv"
expect_error 1 "hmm-noncontig.csv" "a sequence split in two" hmm-fit -K 2 "$data/hmm-noncontig.csv"
expect_error 1 "badrow.yaml:7.*sum" "an --init model whose row does not sum to 1" hmm-fit --init "$data/hmm-badrow.yaml" "$data/hmm-sym-range.csv"
expect_error 1 "initial model has 2 data columns, the data 1" "an --init model with another shape" hmm-fit --init "$data/hmm-gauss2.yaml" -c x "$data/hmm-sym-range.csv"
expect_error 2 "no column 'nope'" "an unknown -c column" hmm-fit -K 2 -c nope "$faithful"
printf 'seq,x\n' > "$tmp/empty.csv"
expect_error 1 "no data rows" "a header and no rows" hmm-fit -K 2 "$tmp/empty.csv"
: > "$tmp/nothing.csv"
run hmm-fit -K 2 "$tmp/nothing.csv"
check "an empty file exits 1 ($rc)" [ "$rc" -eq 1 ]
printf 'x\n1e300\n-1e300\n2e300\n5\n' > "$tmp/huge.csv"
expect_error 1 "column 'x': values too large" "values whose variance overflows" hmm-fit -K 2 "$tmp/huge.csv"
printf 'x\n1\nInf\n' > "$tmp/inf.csv"
expect_error 1 "infinite" "an infinite value" hmm-fit -K 1 "$tmp/inf.csv"
# a fit whose workspace cannot fit in memory is refused up front with the
# figures (1,000,000 rows x 4096 states needs about 400 GB)
awk 'BEGIN { print "x"; for (i = 0; i < 1000000; i++) print i % 97 }' > "$tmp/big.csv"
expect_error 1 "workspace needs .* GB, more than the .* GB of memory" "a fit too large for the memory" hmm-fit -K 4096 -r 1 -j1 "$tmp/big.csv"
rm -f "$tmp/big.csv"
check "no temporary file is left behind after a failure" sh -c "! ls -A '$tmp' | grep -q stochtmp"

done_testing

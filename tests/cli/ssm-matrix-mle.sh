#!/bin/sh
# ssm-forecast: matrix models with parameters estimated by maximum
# likelihood, a full H, their model files and their errors.  The reference
# figures come from statsmodels' MLEModel with the same matrices and exact
# diffuse initialisation (tests/cli/ssm-matrix-peers.sh recomputes them when
# statsmodels is installed); statsmodels adds -1/2 log(2 pi) per diffuse
# step, so its log-likelihoods are ours minus 0.918939 per diffuse state.
. "$top_srcdir/tests/cli/tap.sh"
nile="$top_srcdir/data/nile.csv"
corr="$data/ssm-corr.csv"
# field N of data row R (1-based, after the header) of a CSV file
field() { awk -F, -v r="$2" -v c="$3" 'NR == r + 1 { print $c }' "$1"; }

# loglik of the -v line
ll() { sed -n 's/.*loglik \([-0-9.]*\).*/\1/p' "$tmp/err"; }
# value of parameter $1 in the -v line
par() { sed -n "s/.* $1=\([-0-9.e+]*\).*/\1/p" "$tmp/err"; }

# AR(1) + noise around a diffuse level, on the Nile.  statsmodels:
# loglik at the start (0.5, 1e4, 1e4) -638.2990898443, maximum
# -633.0754466837 at phi 0.91266758, s2_ar 3430.318, s2_irr 12813.736.
expect_exit 0 "AR(1)+noise: loglik at the starting values (--fixed)" ssm-forecast -m "$data/ssm-arnoise.yaml" --fixed -c flow -H 1 -v "$nile"
check "same loglik as statsmodels at the start" approx "$(ll)" "$(awk 'BEGIN { printf "%.10f", -638.2990898443 + 0.918938533204673 }')" 2e-6
expect_exit 0 "AR(1)+noise: estimated" ssm-forecast -m "$data/ssm-arnoise.yaml" -c flow -H 3 -v --se --save-model "$tmp/ar.yaml" -o "$tmp/ar1.csv" "$nile"
check "maximum loglik = statsmodels' (1e-6)" approx "$(ll)" "$(awk 'BEGIN { printf "%.10f", -633.0754466837 + 0.918938533204673 }')" 1e-6
check "phi = 0.91267 (1e-4)" approx "$(par phi)" 0.91266758 1e-4
check "s2_irr = 12813.7 (0.1 %)" approx "$(par s2_irr)" 12813.736 13
check "standard errors printed" grep -q "phi=0.9126[0-9]*(se 0.1" "$tmp/err"
check "three free parameters in the AICc" grep -q "aicc 1270.56" "$tmp/err"
check "the saved model keeps the expressions" grep -q 's2_ar / (1 - phi^2)' "$tmp/ar.yaml"
check "the saved model has the loglik" grep -q '^loglik: -632.15650' "$tmp/ar.yaml"
check "and the standard errors" grep -q '^#   phi: 0.10' "$tmp/ar.yaml"
expect_exit 0 "saved estimate reloaded with --fixed" ssm-forecast -m "$tmp/ar.yaml" --fixed -c flow -H 3 -o "$tmp/ar2.csv" "$nile"
check "same forecasts" cmp -s "$tmp/ar1.csv" "$tmp/ar2.csv"

# a level observed twice with correlated noise (full H).  statsmodels
# loglik at (q, lam, b, h1, h2, h12) = (1, 1, 0, 1, 1, 0) -188.8201957180,
# at (0.3, 0.8, 2, 1.2, 0.9, 0.5) -163.2571791009, maximum -147.3825833911
# at (0.43308, 0.68264, 3.21129, 0.93075, 0.64060, 0.57743).
expect_exit 0 "full H: loglik at the start" ssm-forecast -m "$data/ssm-corr.yaml" --fixed -c y1,y2 -H 1 -v "$corr"
check "same loglik as statsmodels (full H, start)" approx "$(ll)" "$(awk 'BEGIN { printf "%.10f", -188.8201957180 + 0.918938533204673 }')" 2e-6
sed 's/{q: 1, lam: 1, b: 0, h1: 1, h2: 1, h12: 0}/{q: 0.3, lam: 0.8, b: 2, h1: 1.2, h2: 0.9, h12: 0.5}/' "$data/ssm-corr.yaml" >"$tmp/corr2.yaml"
expect_exit 0 "full H: loglik with correlated noise" ssm-forecast -m "$tmp/corr2.yaml" --fixed -c y1,y2 -H 1 -v "$corr"
check "same loglik as statsmodels (H12 = 0.5)" approx "$(ll)" "$(awk 'BEGIN { printf "%.10f", -163.2571791009 + 0.918938533204673 }')" 2e-6
expect_exit 0 "full H: estimated" ssm-forecast -m "$data/ssm-corr.yaml" -c y1,y2 -H 2 -v --se "$corr"
check "maximum loglik = statsmodels' (1e-6)" approx "$(ll)" "$(awk 'BEGIN { printf "%.10f", -147.3825833911 + 0.918938533204673 }')" 1e-6
check "h12 = 0.57743 (1e-3)" approx "$(par h12)" 0.57743 1e-3
check "lam = 0.68264 (1e-3)" approx "$(par lam)" 0.68264 1e-3
# forecast of y2: b + lam * level, variance lam^2 P + h2 (the marginal, not the decorrelated one)
check "two rows per step" test "$(wc -l <"$tmp/out")" -eq 5
check "forecast sd of y2 > sqrt(h2)" awk -F, 'NR == 3 { exit !($5 > sqrt(0.6406)) }' "$tmp/out"
expect_exit 0 "full H: --smooth" ssm-forecast -m "$data/ssm-corr.yaml" --fixed -c y1,y2 --smooth "$corr"
check "60 smoothed rows" test "$(wc -l <"$tmp/out")" -eq 61

# --filter: marginal one-step sd sqrt(P + h) per variable; at t = 2 of the
# starting values (q = h1 = h2 = 1, lam = 1, h12 = 0) the level's filtered
# variance after two unit-variance looks is 1/2, so P = 1/2 + q = 3/2
expect_exit 0 "full H: --filter" ssm-forecast -m "$data/ssm-corr.yaml" --fixed -c y1,y2 --filter "$corr"
check "pred_sd of y1 and y2 at t = 2 = sqrt(2.5)" test "$(field "$tmp/out" 2 5),$(field "$tmp/out" 2 8)" = "1.5811388300841898,1.5811388300841898"
check "diffuse first step: NaN" test "$(field "$tmp/out" 1 4)" = NaN

# fixed: holds a parameter at its value; fewer parameters in the AICc
sed 's/^constraints:/fixed: [b]\nconstraints:/' "$data/ssm-corr.yaml" >"$tmp/corr-b.yaml"
expect_exit 0 "fixed: [b] holds b at 0" ssm-forecast -m "$tmp/corr-b.yaml" -c y1,y2 -H 1 -v "$corr"
check "b stays 0" test "$(par b)" = 0
check "a lower maximum with b held" awk -v a="$(ll)" 'BEGIN { exit !(a < -146.47) }'

# errors, each one line with the file position
awk 'NR == 5 { print $1 "," $2 ","; next } { print }' FS=, OFS=, "$corr" >"$tmp/corr-part.csv"
expect_error 1 "partly missing observation needs a diagonal H" "full H refuses a partly missing row" ssm-forecast -m "$data/ssm-corr.yaml" -c y1,y2 "$tmp/corr-part.csv"
printf 'model: ssm\nversion: 1\nparameters: {q: 1, z: 2}\nmatrices:\n  T: [[1]]\n  Z: [[1]]\n  Q: [[q]]\n  H: [[1]]\n' >"$tmp/unused.yaml"
expect_error 1 "unused.yaml:3:.*parameter 'z' appears in no matrix entry" "an unused parameter" ssm-forecast -m "$tmp/unused.yaml" -c flow "$nile"
printf 'model: ssm\nversion: 1\nparameters: {q: 1}\nmatrices:\n  T: [[1]]\n  Z: [[1]]\n  Q: [[q + w]]\n  H: [[1]]\n' >"$tmp/unknown.yaml"
expect_error 1 "unknown.yaml:7:.*'w'" "an unknown name in an entry" ssm-forecast -m "$tmp/unknown.yaml" -c flow "$nile"
printf 'model: ssm\nversion: 1\nparameters: {q: -1}\nconstraints: {q: positive}\nmatrices:\n  T: [[1]]\n  Z: [[1]]\n  Q: [[q]]\n  H: [[1]]\n' >"$tmp/neg.yaml"
expect_error 1 "neg.yaml:4:.*starting value -1 of 'q' is not positive" "a start outside its constraint" ssm-forecast -m "$tmp/neg.yaml" -c flow "$nile"
printf 'model: ssm\nversion: 1\nparameters: {q: 1}\nmatrices:\n  T: [[1]]\n  Z: [[1], [1]]\n  Q: [[q]]\n  H: [[1, 2], [2, 1]]\n' >"$tmp/hbad.yaml"
expect_error 1 "hbad.yaml:8:.*H is singular or not positive definite" "an indefinite full H" ssm-forecast -m "$tmp/hbad.yaml" -c y1,y2 "$corr"
printf 'model: ssm\nversion: 1\nconstraints: {q: positive}\nmatrices:\n  T: [[1]]\n  Z: [[1]]\n  Q: [[1]]\n  H: [[1]]\n' >"$tmp/nopar.yaml"
expect_error 1 "nopar.yaml:3:.*'constraints' needs 'parameters'" "constraints without parameters" ssm-forecast -m "$tmp/nopar.yaml" -c flow "$nile"

done_testing

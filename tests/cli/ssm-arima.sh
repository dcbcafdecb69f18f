#!/bin/sh
# ssm-forecast ARIMA models without peers: model texts, fits, fixed model
# files against closed forms, the filter table, regressors, missing
# values, auto-arima, and bad input.
. "$top_srcdir/tests/cli/tap.sh"
nile="$top_srcdir/data/nile.csv"
air="$top_srcdir/data/airpassengers.csv"

field() { awk -F, -v r="$2" -v c="$3" 'NR == r + 1 { print $c }' "$1"; }

# model texts
expect_error 2 "not one of arima" "malformed order is a usage error" ssm-forecast --model 'arima(1,x,1)' -c flow "$nile"
expect_error 2 "period of at least 2" "seasonal part of annual data" ssm-forecast --strict --model 'arima(0,1,1)(0,1,1)' -c flow -t year "$nile"
awk -F, 'NR == 1 { print "t,passengers"; next } { printf "%d%02d,%s\n", $1, $2, $3 }' "$air" >"$tmp/airym.csv"
expect_exit 0 "seasonal part: the period from the data's frequency" ssm-forecast --model 'arima(0,1,1)(0,1,1)' --log -c passengers -H 1 -v "$tmp/airym.csv"
check "a period of 12 from year and month" grep -q "ARIMA(0,1,1)(0,1,1)\[12\]" "$tmp/err"
expect_error 2 "d \+ D <= 1" "drift with two differences" ssm-forecast --model 'arima(0,2,1)+drift' -c flow "$nile"
expect_error 2 "from 0 to 20" "order too large" ssm-forecast --model 'arima(21,0,0)' -c flow "$nile"
expect_error 2 "not one of arima" "trailing junk" ssm-forecast --model 'arima(1,0,0)x' -c flow "$nile"

# a fit and its model file
expect_exit 0 "Nile ARIMA(1,1,1)" ssm-forecast --model 'arima(1,1,1)' -c flow -t year -H 2 -v --se --save-model "$tmp/n.yaml" "$nile"
check "reported as ARIMA(1,1,1) with R's loglik" grep -q "ARIMA(1,1,1), loglik -630.6273" "$tmp/err"
check "standard errors reported" grep -Eq "ar1=0.2543[0-9]*\(se 0.11" "$tmp/err"
check "model file has R's coefficient names" grep -Eq "^  ar1: 0.2543" "$tmp/n.yaml"
check "model file notes the exact diffuse loglik" grep -q "exact diffuse loglik -630.62738" "$tmp/n.yaml"
expect_exit 0 "the model file reproduces the forecast with --fixed" ssm-forecast -m "$tmp/n.yaml" --fixed -c flow -t year -H 2 "$nile"
ssm-forecast --model 'arima(1,1,1)' -c flow -t year -H 2 "$nile" >"$tmp/a.csv"
check "same forecast from the fit and its file" awk -F, 'NR == FNR { m[FNR] = $3; next } FNR > 1 { d = m[FNR] - $3; if (d < 0) d = -d; if (d > 1e-6) bad = 1 } END { exit bad }' "$tmp/a.csv" "$tmp/out"

# AR(1) with a mean at fixed coefficients: mean mu + phi^h (y_n - mu)
cat >"$tmp/ar1.yaml" <<'Y'
model: ssm
version: 1
arima: "arima(1,0,0)"
params:
  ar1: 0.5
  intercept: 900
Y
expect_exit 0 "AR(1) from a model file" ssm-forecast -m "$tmp/ar1.yaml" --fixed -c flow -H 3 "$nile"
check "h = 1: 900 + 0.5 (740 - 900) = 820" approx "$(field "$tmp/out" 1 3)" 820 1e-9
check "h = 3: 900 - 160 / 8 = 880" approx "$(field "$tmp/out" 3 3)" 880 1e-9
check "sd grows as sqrt(1 + 0.25 + 0.0625) sd1" approx "$(awk -F, 'NR == 4 { print $4 } NR == 2 { s = $4 } END {}' "$tmp/out")" "$(awk -F, 'NR == 2 { printf "%.12f", $4 * sqrt(1.3125) }' "$tmp/out")" 1e-6

# the filter table: one-step predictions, the first d points without one
expect_exit 0 "--filter" ssm-forecast --model 'arima(0,1,1)' -c flow --filter "$nile"
check "filter header" test "$(head -1 "$tmp/out")" = "seq,t,y,pred,pred_sd,resid,std_resid"
check "the first point (differenced away) has no prediction" test "$(field "$tmp/out" 1 4)" = NaN
check "100 rows" test "$(wc -l <"$tmp/out")" -eq 101

# missing values: ML (no CSS) and forecasts still come out
awk -F, 'NR == 30 || NR == 31 { $2 = "" } { print }' OFS=, "$nile" >"$tmp/gap.csv"
expect_exit 0 "missing values" ssm-forecast --model 'arima(1,1,1)' -c flow -H 2 "$tmp/gap.csv"
check "finite forecasts with gaps" awk -F, 'NR > 1 && ($3 != $3 + 0 || $3 == "NaN") { bad = 1 } END { exit bad }' "$tmp/out"

# regressors: Nile's level shift at the dam (1899), future values needed
awk -F, 'NR == 1 { print "seq," $0 ",dam"; next } { print 1 "," $0 "," ($1 >= 1899 ? 1 : 0) }' "$nile" >"$tmp/nx.csv"
printf 'seq,dam\n1,1\n1,1\n' >"$tmp/fut.csv"
expect_error 2 "future" "regressors need their future values" ssm-forecast --model 'arima(1,0,1)' -c flow -x dam "$tmp/nx.csv"
expect_exit 0 "regression with ARIMA errors" ssm-forecast --model 'arima(1,0,1)' -c flow -x dam --future "$tmp/fut.csv" -H 2 -v "$tmp/nx.csv"
check "named a regression" grep -q "Regression with ARIMA(1,0,1) errors" "$tmp/err"
check "the dam lowers the level by ~250" grep -Eq "xreg=-2[3-7][0-9]\." "$tmp/err"

# auto-arima on log AirPassengers: the airline model (as R's auto.arima)
expect_exit 0 "auto-arima" ssm-forecast --model auto-arima --period 12 --log -c passengers -H 1 -v "$air"
check "airline model chosen" grep -q "ARIMA(0,1,1)(0,1,1)\[12\] on log(y), loglik 244.6995" "$tmp/err"
expect_exit 0 "--family arima limits auto" ssm-forecast --model auto --family arima --period 12 --log -c passengers -H 1 -v "$air"
check "auto with only arima gives auto-arima's choice" grep -q "ARIMA(0,1,1)(0,1,1)\[12\]" "$tmp/err"

# bad model files
printf 'model: ssm\nversion: 1\narima: "arima(1,0,0)"\nparams:\n  ar1: 1.5\n  intercept: 0\n' >"$tmp/bad1.yaml"
expect_error 1 "not stationary" "a non-stationary AR part is refused" ssm-forecast -m "$tmp/bad1.yaml" --fixed -c flow -H 1 "$nile"
printf 'model: ssm\nversion: 1\narima: "arima(1,0,0)"\nparams:\n  ar1: 0.5\n' >"$tmp/bad2.yaml"
expect_error 1 "intercept" "a missing coefficient is named" ssm-forecast -m "$tmp/bad2.yaml" --fixed -c flow -H 1 "$nile"
printf 'model: ssm\nversion: 1\narima: "arima(1,0,0)"\nparams:\n  ar1: 0.5\n  intercept: 1\n  ma1: 2\n' >"$tmp/bad3.yaml"
expect_error 1 "ma1" "an unknown coefficient is named" ssm-forecast -m "$tmp/bad3.yaml" --fixed -c flow -H 1 "$nile"
printf 'model: ssm\nversion: 1\narima: "auto-arima"\n' >"$tmp/bad4.yaml"
expect_error 1 "not auto-arima" "a model file needs fitted orders" ssm-forecast -m "$tmp/bad4.yaml" -c flow -H 1 "$nile"
printf 'seq,y\n1,5\n1,6\n' >"$tmp/short.csv"
expect_error 1 "too few|no observed" "too short for the model" ssm-forecast --strict --model 'arima(0,1,1)(0,1,1)[12]' -H 1 "$tmp/short.csv"
done_testing

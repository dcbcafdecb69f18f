#!/bin/sh
# ssm-forecast: forecasts, decomposition, filter, holdout, model files,
# batch robustness and every bad input listed in the issue.
. "$top_srcdir/tests/cli/tap.sh"
nile="$top_srcdir/data/nile.csv"
air="$top_srcdir/data/airpassengers.csv"
gas="$top_srcdir/data/ukgas.csv"

# field N of data row R (1-based, after the header) of a CSV file
field() { awk -F, -v r="$2" -v c="$3" 'NR == r + 1 { print $c }' "$1"; }

expect_exit 0 "--help" ssm-forecast --help
check "--help shows usage" grep -q "Usage: ssm-forecast --model SPEC" "$tmp/out"
expect_exit 0 "--version" ssm-forecast --version
check "--version format" grep -Eq "^ssm-forecast \(stochtools\) [0-9]" "$tmp/out"
expect_exit 2 "no --model is a usage error" ssm-forecast "$nile"
expect_exit 2 "unknown option" ssm-forecast --model level --bogus "$nile"

# Nile local level: D&K (2012) MLE 15099 / 1469.1; filtered level at 1970
# ~798.4 (KFAS gives 798.37), forecast sd sqrt(P + s2eps) = 143.53.
expect_exit 0 "nile level forecast" ssm-forecast --model level -c flow -t year -H 3 "$nile"
check "header" test "$(head -1 "$tmp/out")" = "seq,t,mean,sd,lo80,hi80,lo95,hi95"
check "three forecast rows" test "$(wc -l <"$tmp/out")" -eq 4
cp "$tmp/out" "$tmp/nile.csv"
check "t continues the year" test "$(field "$tmp/nile.csv" 1 2)" = 1971
check "nile mean 798.37" approx "$(field "$tmp/nile.csv" 1 3)" 798.37 0.05
check "nile sd 143.53" approx "$(field "$tmp/nile.csv" 1 4)" 143.53 0.05
check "sd grows by s2eta" approx "$(field "$tmp/nile.csv" 2 4)" 148.556 0.05
check "95% interval = mean +- 1.96 sd" approx "$(field "$tmp/nile.csv" 1 8)" "$(awk -v m="$(field "$tmp/nile.csv" 1 3)" -v s="$(field "$tmp/nile.csv" 1 4)" 'BEGIN{printf "%.10f", m + 1.959964 * s}')" 1e-4
expect_exit 0 "-v reports the fit" ssm-forecast --model level -c flow -H 1 -v "$nile"
check "MLE sigma2.irregular ~ 15099" grep -Eq "sigma2.irregular=1509[89]" "$tmp/err"
check "MLE sigma2.level ~ 1469" grep -Eq "sigma2.level=1469" "$tmp/err"
check "loglik in the D&K/KFAS convention" grep -q "loglik -632.545" "$tmp/err"

# no t column: t is the 1-based index
expect_exit 0 "airpassengers trend+seasonal:12 on log" ssm-forecast --model trend+seasonal:12 --log -c passengers -H 12 "$air"
check "12 rows, t = 145.." test "$(field "$tmp/out" 1 2)" = 145 -a "$(wc -l <"$tmp/out")" -eq 13
check "first forecast near 457" approx "$(field "$tmp/out" 1 3)" 457.6 2
check "intervals contain the mean" awk -F, 'NR > 1 && !($5 < $3 && $3 < $6 && $7 < $5 && $6 < $8) { bad = 1 } END { exit bad }' "$tmp/out"

# custom levels
expect_exit 0 "--level 50,99" ssm-forecast --model level -c flow -H 1 --level 50,99 "$nile"
check "level columns named" test "$(head -1 "$tmp/out")" = "seq,t,mean,sd,lo50,hi50,lo99,hi99"

# binary stream in and out gives the same numbers as CSV
ssm-forecast --model level -c flow -t year -H 3 -o "$tmp/c.csv" "$nile"
stoch-cat --format bin -o "$tmp/nile.stb" "$nile"
expect_exit 0 "binary input, binary output" ssm-forecast --model level -c flow -t year -H 3 --format bin -o "$tmp/fc.stb" "$tmp/nile.stb"
stoch-cat "$tmp/fc.stb" >"$tmp/fc-back.csv"
check "binary round trip equals the CSV run" cmp -s "$tmp/c.csv" "$tmp/fc-back.csv"

# --smooth: components add up to y; --filter: one row per point
expect_exit 0 "--smooth" ssm-forecast --model level -c flow -t year --smooth "$nile"
check "smooth header" test "$(head -1 "$tmp/out")" = "seq,t,y,signal,level,level_sd,irregular,irregular_sd"
check "level + irregular = y" awk -F, 'NR > 1 { d = $5 + $7 - $3; if (d < 0) d = -d; if (d > 1e-6) bad = 1 } END { exit bad }' "$tmp/out"
check "100 smoothed rows" test "$(wc -l <"$tmp/out")" -eq 101
expect_exit 0 "--filter" ssm-forecast --model level -c flow --filter "$nile"
check "filter header" test "$(head -1 "$tmp/out")" = "seq,t,y,pred,pred_sd,resid,std_resid,a1"
check "first point is diffuse (no prediction)" test "$(field "$tmp/out" 1 4)" = NaN
check "second prediction is y1" approx "$(field "$tmp/out" 2 4)" 1120 1e-6

# --holdout: MASE/sMAPE/coverage
expect_exit 0 "--holdout" ssm-forecast --model trend+seasonal:12 --log -c passengers --holdout 24 "$air"
check "holdout header" test "$(head -1 "$tmp/out")" = "seq,n_train,h,mase,smape,cover80,cover95"
check "holdout MASE < 1.5" awk -F, 'NR == 2 { exit !($4 > 0 && $4 < 1.5) }' "$tmp/out"
check "overall summary on stderr" grep -q "holdout 24 over 1 series: MASE" "$tmp/err"

# auto and s4d
expect_exit 0 "--model auto --period 12" ssm-forecast --model auto --period 12 --log -c passengers -H 3 -v "$air"
check "auto picks a seasonal model" grep -Eq "seasonal:12|ETS\([AM],A?d?N?,[AM]\)|ARIMA\([0-9,]*\)\([0-9,]*\)\[12\]" "$tmp/err"
check "auto says how it chose" grep -q "auto: MASE over 2 origins x 3 steps: structural [0-9.]* ets [0-9.]*" "$tmp/err"
expect_exit 0 "--model s4d:8" ssm-forecast --model s4d:8 -c flow -H 4 "$nile"
check "s4d forecasts finite" awk -F, 'NR > 1 && ($3 != $3 + 0 || $4 <= 0) { bad = 1 } END { exit bad || NR != 5 }' "$tmp/out"

# ETS: the automatic choice like forecast::ets (UKgas: ETS(M,A,M), as R)
expect_exit 0 "ets on UKgas" ssm-forecast --model ets --period 4 -c gas -H 8 -v "$gas"
check "chooses ETS(M,A,M)" grep -q "seq 0: ETS(M,A,M), loglik" "$tmp/err"
check "shows R's parameter names" grep -q " alpha=.* beta=.* gamma=.* l=.* b=.* s0=.* s1=.* s2=.* sigma2=" "$tmp/err"
check "8 forecast rows" test "$(wc -l <"$tmp/out")" -eq 9
check "intervals nest around the mean" awk -F, 'NR > 1 && !($7 < $5 && $5 < $3 && $3 < $6 && $6 < $8) { bad = 1 } END { exit bad }' "$tmp/out"
expect_exit 0 "ets:MAdM with --save-model" ssm-forecast --model ets:MAdM --period 12 -c passengers -H 6 --save-model "$tmp/ets.yaml" -o "$tmp/e1.csv" "$air"
check "model file: ets, period, R's parameter names" sh -c "grep -q '^ets: MAdM' '$tmp/ets.yaml' && grep -q '^period: 12' '$tmp/ets.yaml' && grep -q '^  phi: ' '$tmp/ets.yaml' && grep -q '^  s10: ' '$tmp/ets.yaml'"
check "model file: R's loglik as a comment" grep -q "^# R forecast::ets: loglik -" "$tmp/ets.yaml"
expect_exit 0 "-m FILE --fixed" ssm-forecast -m "$tmp/ets.yaml" --fixed -c passengers -H 6 -o "$tmp/e2.csv" "$air"
check "reproduces the forecasts" cmp -s "$tmp/e1.csv" "$tmp/e2.csv"
expect_exit 0 "ets:AAN --filter" ssm-forecast --model ets:AAN -c flow --filter "$nile"
check "filter header" test "$(head -1 "$tmp/out")" = "seq,t,y,pred,pred_sd,resid,std_resid,l,b"
check "one-step prediction = previous level + slope" awk -F, 'NR == 3 { p = $8 + $9 } NR == 4 { d = $4 - p; exit !(d < 1e-9 && d > -1e-9) }' "$tmp/out"
# additive error with multiplicative season: simulated intervals, seeded
expect_exit 0 "ets:AAM simulated intervals" ssm-forecast --model ets:AAM --period 4 -c gas -H 4 --seed 3 -o "$tmp/s1.csv" "$gas"
ssm-forecast --model ets:AAM --period 4 -c gas -H 4 --seed 3 -o "$tmp/s2.csv" "$gas"
ssm-forecast --model ets:AAM --period 4 -c gas -H 4 --seed 4 -o "$tmp/s3.csv" "$gas"
check "same seed, same bytes" cmp -s "$tmp/s1.csv" "$tmp/s2.csv"
check "another seed, other bounds" sh -c "! cmp -s '$tmp/s1.csv' '$tmp/s3.csv'"
expect_exit 0 "--paths 1000" ssm-forecast --model ets:AAM --period 4 -c gas -H 4 --paths 1000 "$gas"
expect_error 2 "ETS model 'MMN' is not" "ets:MMN (multiplicative trend) is refused" ssm-forecast --model ets:MMN -c flow "$nile"
expect_error 1 "needs a period from 2 to 24" "seasonal ETS of yearly data without --period" ssm-forecast --model ets:ANA -c flow "$nile"
awk -F, 'NR == 1 { print; next } { print $1 "," $2 - 1000 }' "$nile" >"$tmp/neg.csv"
expect_error 1 "needs positive data" "multiplicative ETS of non-positive data" ssm-forecast --model ets:MNN -c flow "$tmp/neg.csv"
expect_exit 0 "ets of non-positive data: additive models only" ssm-forecast --model ets -c flow -H 1 -v "$tmp/neg.csv"
check "an additive-error model" grep -q "ETS(A," "$tmp/err"
# --family limits auto
expect_exit 0 "--model auto --family ets" ssm-forecast --model auto --family ets --period 4 -c gas -H 2 -v "$gas"
check "an ETS model, no validation" sh -c "grep -q 'seq 0: ETS(' '$tmp/err' && ! grep -q 'auto: MASE' '$tmp/err'"
expect_error 2 "not a family" "--family bogus" ssm-forecast --model auto --family bogus -c gas "$gas"
expect_error 2 "limits --model auto" "--family without auto" ssm-forecast --model level --family ets -c flow "$nile"

# dates: the frequency from the time column, forecasts with real dates,
# gaps placed on the calendar grid; the YYYYMM trap; string ids kept
awk -F, 'NR == 1 { print "date,passengers"; next } { printf "%d-%02d,%s\n", $1, $2, $3 }' "$air" >"$tmp/air-month.csv"
awk -F, 'NR == 1 { print "date,passengers"; next } { printf "%d-%02d-01,%s\n", $1, $2, $3 }' "$air" >"$tmp/air-date.csv"
awk -F, 'NR == 1 { print "ym,passengers"; next } { printf "%d%02d,%s\n", $1, $2, $3 }' "$air" >"$tmp/air-ym.csv"
expect_exit 0 "monthly series with YYYY-MM times" ssm-forecast --model ets -c passengers --time-col date -H 13 -v "$tmp/air-month.csv"
check "months continue: 1961-01 .. 1962-01" test "$(field "$tmp/out" 1 2) $(field "$tmp/out" 13 2)" = "1961-01 1962-01"
check "period 12 from the months: a seasonal model" grep -q "ETS(M,A,M)" "$tmp/err"
expect_exit 0 "monthly series with ISO dates" ssm-forecast --model ets -c passengers -t date -H 2 "$tmp/air-date.csv"
check "dates continue: 1961-01-01, 1961-02-01" test "$(field "$tmp/out" 1 2) $(field "$tmp/out" 2 2)" = "1961-01-01 1961-02-01"
cp "$tmp/out" "$tmp/fc-date.csv"
expect_exit 0 "YYYYMM integers" ssm-forecast --model ets -c passengers -t ym -H 2 "$tmp/air-ym.csv"
check "196012 is followed by 196101, not 196013" test "$(field "$tmp/out" 1 2)" = 196101
check "same forecasts as with dates" test "$(cut -d, -f3- "$tmp/out")" = "$(cut -d, -f3- "$tmp/fc-date.csv")"
awk 'NR != 30' "$tmp/air-month.csv" >"$tmp/air-gap.csv"
expect_exit 0 "a missing month" ssm-forecast --model level -c passengers -t date --filter "$tmp/air-gap.csv"
check "placed back as a missing value" test "$(awk -F, 'NR == 30 { print $2 "," $3 }' "$tmp/out")" = "1951-05,NaN"
check "144 grid rows" test "$(wc -l <"$tmp/out")" -eq 145
expect_exit 0 "--freq quarterly on quarterly months" sh -c "awk -F, 'NR == 1 || \$1 ~ /-(01|04|07|10)\$/' '$tmp/air-month.csv' | ssm-forecast --model ets -c passengers -t date --freq quarterly -H 1 -v"
check "next quarter 1961-01" test "$(field "$tmp/out" 1 2)" = 1961-01
expect_error 1 "not whole quarters apart" "--freq quarterly on monthly data" ssm-forecast --model level -c passengers -t date --freq quarterly --strict "$tmp/air-month.csv"
expect_error 2 "--freq must be daily" "--freq hourly" ssm-forecast --model level -c passengers --freq hourly "$tmp/air-month.csv"
{ echo 'id,date,passengers'; awk -F, 'NR > 1 { print "\"A-17\"," $1 "," $2; }' "$tmp/air-month.csv"; awk -F, 'NR > 1 { print "B," $1 "," $2 * 2 }' "$tmp/air-month.csv"; } >"$tmp/ids.csv"
expect_exit 0 "string series ids (--seq-col)" ssm-forecast --model ets --seq-col id -c passengers -t date -H 1 -v "$tmp/ids.csv"
check "ids kept in the output" test "$(cut -d, -f1 "$tmp/out" | tr '\n' ' ')" = "seq A-17 B "
check "ids in messages" grep -q "seq A-17: ETS(M,A,M)" "$tmp/err"
expect_exit 0 "binary output keeps ids and months" ssm-forecast --model ets --seq-col id -c passengers -t date -H 1 --format bin -o "$tmp/ids.stb" "$tmp/ids.csv"
check "round trip" test "$(stoch-cat "$tmp/ids.stb" | cut -d, -f1,2 | tail -1)" = "B,1961-01"
printf 'seq,y\n1,5\n1,abc\n' >"$tmp/text.csv"
expect_error 1 "column 'y' holds text" "text in the value column" ssm-forecast --model level "$tmp/text.csv"

# missing values inside the series
awk -F, 'NR == 1 || NR % 7 != 0 { print; next } { print $1 "," }' "$nile" >"$tmp/nile-missing.csv"
expect_exit 0 "missing values (NaN) inside the series" ssm-forecast --model level -c flow -t year -H 1 "$tmp/nile-missing.csv"
check "forecast still near 798" approx "$(field "$tmp/out" 1 3)" 798 40

# model files: save, reload with --fixed, same forecasts
expect_exit 0 "--save-model saves the fit" ssm-forecast --model level -c flow -H 3 --save-model "$tmp/fit.yaml" -o "$tmp/f1.csv" "$nile"
check "model file names the spec" grep -q "structural: level" "$tmp/fit.yaml"
expect_exit 0 "--model FILE --fixed" ssm-forecast --model "$tmp/fit.yaml" --fixed -c flow -H 3 -o "$tmp/f2.csv" "$nile"
check "fixed model reproduces the forecasts" cmp -s "$tmp/f1.csv" "$tmp/f2.csv"
expect_exit 0 "matrix model from YAML" ssm-forecast --model "$data/ssm-nile-level.yaml" -c flow -H 1 "$nile"
check "matrix model forecast = structural at the same values" approx "$(field "$tmp/out" 1 3)" 798.37 0.05

# multivariate matrix model: partly missing vectors, 2 rows per step
biv="$data/ssm-bivariate.yaml"
expect_exit 0 "bivariate matrix model forecast" ssm-forecast --model "$biv" -c u,w -H 2 "$data/ssm-bivariate.csv"
check "obs column" test "$(head -1 "$tmp/out")" = "seq,t,obs,mean,sd,lo80,hi80,lo95,hi95"
check "two rows per step, t repeated" test "$(cut -d, -f2,3 "$tmp/out" | tail -4 | tr '\n' ' ')" = "11,1 11,2 12,1 12,2 "
check "series 1 is a random walk: flat mean" test "$(field "$tmp/out" 1 4)" = "$(field "$tmp/out" 3 4)"
expect_exit 0 "bivariate --filter" ssm-forecast --model "$biv" -c u,w --filter "$data/ssm-bivariate.csv"
check "filter columns per variable" test "$(head -1 "$tmp/out")" = "seq,t,y1,pred1,pred_sd1,y2,pred2,pred_sd2,a1,a2"
expect_exit 0 "bivariate --smooth (states)" ssm-forecast --model "$biv" -c u,w --smooth "$data/ssm-bivariate.csv"
check "10 smoothed state rows" test "$(wc -l <"$tmp/out")" -eq 11
expect_error 1 "observes 2 variables but -c names 1" "too few value columns" ssm-forecast --model "$biv" -c u "$data/ssm-bivariate.csv"
expect_exit 0 "matrix --smooth on the Nile" ssm-forecast --model "$data/ssm-nile-level.yaml" -c flow --smooth "$nile"
check "smoothed level 1871 = 1111.67 (D&K fig 2.2)" approx "$(field "$tmp/out" 1 3)" 1111.67 0.01

# batch: seq 2 is constant and seq 4 is all missing: both reported, skipped
awk -F, 'NR > 1 { print 1 "," $2; print 2 ",5"; print 3 "," $2 + 100; print 4 "," }' "$nile" |
    sort -t, -s -k1,1n | sed '1i seq,y' >"$tmp/batch.csv"
expect_exit 0 "batch with bad series" ssm-forecast --model level -H 2 "$tmp/batch.csv"
check "good series forecast" test "$(cut -d, -f1 "$tmp/out" | sort -u | tr '\n' ' ')" = "1 3 seq "
check "seq 2 reported" grep -q "seq 2: constant series" "$tmp/err"
check "seq 4 reported" grep -q "seq 4: all observations are missing" "$tmp/err"
check "skip summary" grep -q "2 of 4 series skipped" "$tmp/err"
expect_error 1 "seq 2: constant" "--strict makes a bad series fatal" ssm-forecast --model level -H 2 --strict "$tmp/batch.csv"
expect_exit 0 "-j 2 gives the same bytes" ssm-forecast --model level -H 2 -q -j 2 -o "$tmp/b2.csv" "$tmp/batch.csv"
ssm-forecast --model level -H 2 -q -j 1 -o "$tmp/b1.csv" "$tmp/batch.csv"
check "thread count does not change results" cmp -s "$tmp/b1.csv" "$tmp/b2.csv"
expect_exit 2 "--save-model with several series" ssm-forecast --model level -H 2 --save-model "$tmp/x.yaml" "$tmp/batch.csv"

# regression with future values
awk -F, 'NR == 1 { print "t,y,x"; next } { x = (NR % 3); print NR - 1 "," $2 + 50 * x "," x }' "$nile" >"$tmp/reg.csv"
printf 't,x\n101,0\n102,1\n103,2\n' >"$tmp/future.csv"
expect_exit 0 "level+reg with --future" ssm-forecast --model level+reg -x x --future "$tmp/future.csv" -H 3 "$tmp/reg.csv"
check "regression effect ~50 per unit" approx "$(awk -F, 'NR == 3 { a = $3 } NR == 4 { print $3 - a }' "$tmp/out")" 50 15
expect_error 2 "--future" "regressors without --future" ssm-forecast --model level+reg -x x -H 3 "$tmp/reg.csv"

# ---- bad input: exit 1, one line, the fix obvious ----
expect_error 2 "horizon" "-H 0" ssm-forecast --model level -c flow -H 0 "$nile"
expect_error 2 "horizon" "-H -3" ssm-forecast --model level -c flow -H -3 "$nile"
expect_error 2 "horizon" "-H abc" ssm-forecast --model level -c flow -H abc "$nile"
expect_error 2 "seasonal period must be from 2" "seasonal:1" ssm-forecast --model level+seasonal:1 -c flow "$nile"
expect_error 1 "seasonal period 200 is longer than the series" "seasonal period > length" ssm-forecast --model level+seasonal:200 -c flow "$nile"
head -16 "$nile" >"$tmp/short.csv"
expect_error 1 "too few observations: 15 observed" "too few observations" ssm-forecast --model trend+seasonal:12 -c flow "$tmp/short.csv"
printf 'y\nNA\nNaN\n\n' >"$tmp/allmiss.csv"
expect_error 1 "all observations are missing" "all-missing series" ssm-forecast --model level "$tmp/allmiss.csv"
printf 'y\n3\n3\n3\n3\n3\n3\n' >"$tmp/const.csv"
expect_error 1 "constant series" "constant series" ssm-forecast --model level "$tmp/const.csv"
printf 't,y\n1,3\n2,4\n2,5\n4,3\n5,7\n6,1\n' >"$tmp/t.csv"
expect_error 1 "time is not increasing" "non-increasing t" ssm-forecast --model level "$tmp/t.csv"
printf 't,y\n1,3\n2,4\n,5\n4,3\n5,7\n6,1\n' >"$tmp/tna.csv"
expect_error 1 "time is missing at row 3" "missing t" ssm-forecast --model level "$tmp/tna.csv"
expect_error 1 "Q is not symmetric" "non-symmetric Q in YAML" ssm-forecast --model "$data/ssm-q-asym.yaml" -c flow "$nile"
expect_error 1 "Q is singular" "singular Q in YAML" ssm-forecast --model "$data/ssm-q-singular.yaml" -c flow "$nile"
expect_error 1 "unknown key 'Tt'" "unknown key in YAML" ssm-forecast --model "$data/ssm-unknown-key.yaml" -c flow "$nile"
expect_error 1 "bad-param.yaml:5:.*out of range" "negative variance in YAML" ssm-forecast --model "$data/ssm-structural-bad-param.yaml" --fixed -c flow "$nile"
expect_error 2 "unknown model component 'wiggle'" "unknown component" ssm-forecast --model level+wiggle -c flow "$nile"
expect_error 1 "no value column 'nope'" "missing value column" ssm-forecast --model level -c nope "$nile"
expect_error 2 "level values" "--level 120" ssm-forecast --model level -c flow --level 120 "$nile"
expect_error 1 "no data rows" "header only" sh -c "head -1 '$nile' | ssm-forecast --model level -c flow"
expect_error 1 "positive" "--log with a non-positive value" sh -c "printf 'y\n1\n2\n0\n3\n4\n5\n' | ssm-forecast --model level --log"
printf 'y\n1\n2\nInf\n3\n' >"$tmp/inf.csv"
expect_error 1 "" "infinite value" ssm-forecast --model level "$tmp/inf.csv"
expect_error 1 "" "missing input file" ssm-forecast --model level "$tmp/nonexistent.csv"
expect_error 2 "s4d state size" "s4d:0" ssm-forecast --model s4d:0 -c flow "$nile"
expect_error 2 "--holdout must be an integer" "--holdout -1 is a usage error" ssm-forecast --model level -c flow --holdout -1 "$nile"
expect_error 2 "--level values must be between 0 and 100" "--level 200 is a usage error" ssm-forecast --model level -c flow --level 200 "$nile"
expect_error 2 "unknown model 'bogus'" "--model bogus is a usage error" ssm-forecast --model bogus -c flow "$nile"
expect_error 2 "give either --model or -m" "--model and -m together" ssm-forecast --model level -m "$data/ssm-nile-level.yaml" -c flow "$nile"
# huge variances: right answers, or a breakdown named (never NaN or sd 0)
sed 's/15099/1e160/' "$data/ssm-nile-level.yaml" >"$tmp/hugeH.yaml"
sed 's/1469.1/1e160/' "$data/ssm-nile-level.yaml" >"$tmp/hugeQ.yaml"
expect_exit 0 "H = 1e160" ssm-forecast -m "$tmp/hugeH.yaml" -c flow -H 2 "$nile"
check "H = 1e160: the mean of the data, sd sqrt(H (1 + 1/n))" awk -F, 'NR == 2 { exit !($3 > 919.34 && $3 < 919.36 && $4 > 1.00498e80 && $4 < 1.00500e80) }' "$tmp/out"
expect_exit 0 "Q = 1e160" ssm-forecast -m "$tmp/hugeQ.yaml" -c flow -H 2 "$nile"
check "Q = 1e160: the last value, sd sqrt(Q) then sqrt(2 Q)" awk -F, 'NR == 2 { a = ($3 == 740 && $4 > 0.99999e80 && $4 < 1.00001e80) } NR == 3 { b = ($4 > 1.41421e80 && $4 < 1.41422e80) } END { exit !(a && b) }' "$tmp/out"
check "no NaN in either" sh -c "! grep -qi nan '$tmp/out'"
expect_error 1 "numerical breakdown: state variances up to 1e\\+160" "Q = 1e160 --smooth: breakdown named" ssm-forecast -m "$tmp/hugeQ.yaml" -c flow --smooth "$nile"
sed 's/15099/1e307/' "$data/ssm-nile-level.yaml" >"$tmp/hugeH2.yaml"
expect_error 1 "numerical breakdown at observation" "H = 1e307 overflows: breakdown named" ssm-forecast -m "$tmp/hugeH2.yaml" -c flow "$nile"
# the state dimension is capped before allocating
awk 'BEGIN { m = 1001; print "model: ssm\nversion: 1\nmatrices:"; printf "  T: ["
    for (i = 0; i < m; i++) { printf "%s[", i ? ", " : ""; for (j = 0; j < m; j++) printf "%s%d", j ? "," : "", i == j; printf "]" }
    print "]"; print "  Z: [[1]]\n  Q: [[1]]\n  H: [[1]]" }' >"$tmp/big.yaml"
expect_error 1 "big.yaml:4:6: T has 1001 rows: matrix models have at most 1000 states" "matrix model with 1001 states" ssm-forecast -m "$tmp/big.yaml" -c flow "$nile"
expect_error 1 "holdout" "--holdout longer than the series" ssm-forecast --model level -c flow --holdout 200 "$nile"

done_testing

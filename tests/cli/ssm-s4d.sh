#!/bin/sh
# ssm-forecast's S4D forecaster: holdout accuracy against seasonal naive
# on log AirPassengers, conformal intervals, S4D-Inv, a large state,
# --global, and bad input.
. "$top_srcdir/tests/cli/tap.sh"
air="$top_srcdir/data/airpassengers.csv"
nile="$top_srcdir/data/nile.csv"

# log AirPassengers, last 24 months held out: seasonal naive has MASE
# 2.494 on this holdout (its forecast repeats 1958 twice); s4d:16 0.896
expect_exit 0 "s4d:16 holdout" ssm-forecast --model s4d:16 --period 12 --log -c passengers --holdout 24 "$air"
check "MASE below seasonal naive's 2.494 (and below 1.2)" awk -F, 'NR == 2 { exit !($4 < 1.2) }' "$tmp/out"
check "the 95% intervals cover at least 80% of the holdout" awk -F, 'NR == 2 { exit !($7 >= 0.8) }' "$tmp/out"
expect_exit 0 "s4d:16 forecasts" ssm-forecast --model s4d:16 --period 12 --log -c passengers -H 12 "$air"
check "intervals nest around the mean" awk -F, 'NR > 1 && !($7 < $5 && $5 < $3 && $3 < $6 && $6 < $8) { bad = 1 } END { exit bad }' "$tmp/out"
check "intervals widen with the horizon (log scale: hi95 / lo95)" awk -F, 'NR > 2 && $8 / $7 < w - 1e-9 { bad = 1 } NR > 1 { w = $8 / $7 } END { exit bad }' "$tmp/out"
cp "$tmp/out" "$tmp/first.csv"
expect_exit 0 "the same bytes twice" ssm-forecast --model s4d:16 --period 12 --log -c passengers -H 12 -o "$tmp/a.csv" "$air"
check "deterministic" cmp -s "$tmp/a.csv" "$tmp/first.csv"
expect_exit 0 "S4D-Inv initialisation" ssm-forecast --model s4d:16:inv -c flow -H 3 -v "$nile"
check "named s4d:16:inv" grep -q "s4d:16:inv" "$tmp/err"
expect_exit 0 "s4d:256 finishes" ssm-forecast --model s4d:256 -c flow -H 3 "$nile"

# --global: one model for the batch
awk -F, 'NR == 1 { print "seq,y"; next } { print 1 "," $2; print 2 "," $2 * 1.1 + 30 }' "$nile" | sort -t, -k1,1n -s >"$tmp/two.csv"
expect_exit 0 "--global over two series" ssm-forecast --model s4d:8 --global -H 2 -v "$tmp/two.csv"
check "both series forecast" test "$(wc -l <"$tmp/out")" -eq 5
check "the model is the global one" grep -q "s4d:8 (global)" "$tmp/err"
expect_error 2 "needs a model that learns across series" "--global with another model" ssm-forecast --model level --global -c flow "$nile"

# bad input
expect_error 2 "s4d:N or s4d:N:inv" "unknown s4d variant" ssm-forecast --model s4d:16:foo -c flow "$nile"
expect_error 2 "from 1 to 256" "s4d:257" ssm-forecast --model s4d:257 -c flow "$nile"
printf 'y\n1\n2\n3\n' >"$tmp/short.csv"
expect_error 1 "too few observations for s4d" "too short" ssm-forecast --strict --model s4d:8 -H 1 "$tmp/short.csv"
done_testing

#!/bin/sh
# hmm-sample: layout, determinism (seed, -j, -n prefix), formats, and
# frequencies that match the model.
. "$top_srcdir/tests/cli/tap.sh"

m="$data/hmm-cat2.yaml"
expect_exit 0 "--help exits 0" hmm-sample --help
check "--help names the columns" grep -q 'seq, t' "$tmp/out"
expect_exit 0 "--version exits 0" hmm-sample --version
expect_error 2 "-m MODEL is required" "-m is required" hmm-sample -n 2 -T 3
expect_error 2 "-n SEQS and -T LENGTH are required" "-n is required" hmm-sample -m "$m" -T 3
expect_error 2 "-n must be" "-n 0" hmm-sample -m "$m" -n 0 -T 3
expect_error 2 "-T must be" "-T -1" hmm-sample -m "$m" -n 1 -T -1
expect_error 2 "seed must be" "a bad seed" hmm-sample -m "$m" -n 1 -T 1 --seed x
expect_error 1 "hmm-badrow.yaml:7:5" "a bad model" hmm-sample -m "$data/hmm-badrow.yaml" -n 1 -T 1
expect_error 2 "unexpected argument" "a stray argument" hmm-sample -m "$m" -n 1 -T 1 extra.csv

expect_exit 0 "sample 3 x 4" hmm-sample -m "$m" -n 3 -T 4 --seed 7
check "header seq,t,state,x" sh -c "head -1 '$tmp/out' | grep -qx 'seq,t,state,x'"
check "12 rows" [ "$(wc -l < "$tmp/out")" -eq 13 ]
check "seq and t count up" awk -F, 'NR > 1 { i = NR - 2; if ($1 != int(i / 4) || $2 != i % 4) exit 1 }' "$tmp/out"
check "symbols are integers 0..2" awk -F, 'NR > 1 && ($4 !~ /^[012]$/ || $3 !~ /^[01]$/) { exit 1 }' "$tmp/out"
cp "$tmp/out" "$tmp/a"
expect_exit 0 "the same seed again" hmm-sample -m "$m" -n 3 -T 4 --seed 7
check "same seed, same bytes" cmp -s "$tmp/a" "$tmp/out"
expect_exit 0 "another seed" hmm-sample -m "$m" -n 3 -T 4 --seed 8
check "another seed, other draws" sh -c "! cmp -s '$tmp/a' '$tmp/out'"
expect_exit 0 "more sequences" hmm-sample -m "$m" -n 5 -T 4 --seed 7
check "the first sequences do not change when -n grows" sh -c "head -13 '$tmp/out' | cmp -s - '$tmp/a'"
hmm-sample -m "$m" -n 200 -T 50 -j1 > "$tmp/j1.csv"
hmm-sample -m "$m" -n 200 -T 50 -j2 > "$tmp/j2.csv"
check "-j1 and -j2 give the same bytes" cmp -s "$tmp/j1.csv" "$tmp/j2.csv"
expect_exit 0 "binary output" hmm-sample -m "$m" -n 200 -T 50 -o "$tmp/s.stb"
expect_exit 0 "read back with stoch-cat" stoch-cat "$tmp/s.stb"
check "binary and CSV carry the same rows" cmp -s "$tmp/out" "$tmp/j1.csv"

# Frequencies: the stationary distribution of [[.9,.1],[.2,.8]] is (2/3, 1/3);
# P(x = 2) = 2/3*0.1 + 1/3*0.6 = 4/15.  10,000 draws, autocorrelated states:
# allow 5 sd with the sd inflated by sqrt((1+r)/(1-r)), r = 0.7.
set -- $(awk -F, 'NR > 1 && $2 >= 10 { n++; s += $3; x += ($4 == 2) } END { print s / n, x / n, n }' "$tmp/j1.csv")
check "state 1 frequency near 1/3 ($1)" approx "$1" 0.33333333 "$(awk -v n="$3" 'BEGIN { print 5 * sqrt(2/9 / n * 5.7) }')"
check "P(x = 2) near 4/15 ($2)" approx "$2" 0.26666667 "$(awk -v n="$3" 'BEGIN { print 5 * sqrt(0.2 / n * 5.7) }')"

# Gaussian columns named from the model, floats.
expect_exit 0 "Gaussian model" hmm-sample -m "$data/hmm-gauss2.yaml" -n 2 -T 3
check "columns a,b from the model" sh -c "head -1 '$tmp/out' | grep -qx 'seq,t,state,a,b'"

done_testing

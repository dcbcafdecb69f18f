#!/bin/sh
# mjp-sample: options, observation schemes, determinism for any -j, the
# two-state law P(X_t = 0) against its closed form, and bad input.
. "$top_srcdir/tests/cli/tap.sh"

m2="$data/mjp-2state.yaml"

expect_exit 0 "--help" mjp-sample --help
check "--help mentions --obs-every" grep -q -- "--obs-every" "$tmp/out"
expect_exit 0 "--version" mjp-sample --version
expect_exit 2 "missing -m" mjp-sample -n 3 --until 1
expect_exit 2 "missing -n" mjp-sample -m "$m2" --until 1
expect_exit 2 "missing --until" mjp-sample -m "$m2" -n 3
expect_exit 2 "bad -n" mjp-sample -m "$m2" -n 0 --until 1
expect_exit 2 "bad --until" mjp-sample -m "$m2" -n 1 --until -1
expect_exit 2 "bad --obs-every" mjp-sample -m "$m2" -n 1 --until 1 --obs-every 0
expect_exit 2 "bad --obs-random" mjp-sample -m "$m2" -n 1 --until 1 --obs-random 1
expect_exit 2 "two schemes" mjp-sample -m "$m2" -n 1 --until 1 --obs-every 1 --obs-random 3
expect_exit 2 "stray argument" mjp-sample -m "$m2" -n 1 --until 1 extra
expect_error 1 "No such file" "missing model" mjp-sample -m /nonexistent.yaml -n 1 --until 1
expect_error 1 "Q row 1 sums to" "bad Q" mjp-sample -m "$data/mjp-bad-q.yaml" -n 1 --until 1
expect_error 1 "negative off-diagonal" "negative rate" mjp-sample -m "$data/mjp-neg-q.yaml" -n 1 --until 1
expect_error 1 "emission row 0 sums to" "bad emission" mjp-sample -m "$data/mjp-illness.yaml" -n 1 --until 1 --emission "$data/mjp-bad-emission.yaml"
expect_error 1 "emission" "emission with the wrong number of rows" mjp-sample -m "$m2" -n 1 --until 1 --emission "$data/mjp-emission.yaml"

# exact paths: header, start at 0 in state 0, end at --until, seeds
expect_exit 0 "exact paths" mjp-sample -m "$m2" -n 5 --until 4 --seed 3
check "header" test "$(head -1 "$tmp/out")" = "seq,t,state"
check "first row" test "$(sed -n 2p "$tmp/out")" = "0,0,0"
check "every path ends at --until" test "$(awk -F, 'NR > 1 { last[$1] = $2 } END { for (s in last) if (last[s] != 4) bad++; print bad + 0 }' "$tmp/out")" -eq 0
check "consecutive rows alternate states" test "$(awk -F, 'NR > 2 && $1 == ps && $2 < 4 && $3 == pst { bad++ } NR > 1 { ps = $1; pst = $3 } END { print bad + 0 }' "$tmp/out")" -eq 0
cp "$tmp/out" "$tmp/a.csv"
mjp-sample -m "$m2" -n 5 --until 4 --seed 3 >"$tmp/b.csv"
check "same seed, same bytes" cmp -s "$tmp/a.csv" "$tmp/b.csv"
mjp-sample -m "$m2" -n 5 --until 4 --seed 4 >"$tmp/c.csv"
check "other seed, other paths" test -n "$(cmp "$tmp/a.csv" "$tmp/c.csv" 2>&1)"
mjp-sample -m "$data/mjp-illness.yaml" -n 600 --until 5 --seed 9 -j1 >"$tmp/j1.csv"
mjp-sample -m "$data/mjp-illness.yaml" -n 600 --until 5 --seed 9 -j2 >"$tmp/j2.csv"
check "-j1 and -j2 identical" cmp -s "$tmp/j1.csv" "$tmp/j2.csv"
mjp-sample -m "$m2" -n 3 --until 4 --seed 3 -n 3 >"$tmp/n3.csv"
check "path k does not depend on -n" test "$(awk -F, 'NR == 1 || $1 < 3' "$tmp/a.csv" | cmp -s - "$tmp/n3.csv" && echo same)" = same

# snapshots
expect_exit 0 "--obs-every" mjp-sample -m "$m2" -n 4 --until 10 --obs-every 0.5
check "21 snapshots per path" test "$(awk -F, 'NR > 1 && $1 == 2' "$tmp/out" | wc -l)" -eq 21
check "last snapshot at 10" test "$(tail -1 "$tmp/out" | cut -d, -f2)" = 10
expect_exit 0 "--obs-random" mjp-sample -m "$m2" -n 4 --until 10 --obs-random 5
check "5 snapshots per path" test "$(awk -F, 'NR > 1 && $1 == 1' "$tmp/out" | wc -l)" -eq 5
check "sorted times from 0" test "$(awk -F, 'NR > 1 { if ($1 != s) { if ($2 != 0) bad++; s = $1 } else if ($2 < p) bad++; p = $2 } END { print bad + 0 }' "$tmp/out")" -eq 0
printf 't\n0\n0.25\n3\n' >"$tmp/times.csv"
expect_exit 0 "--obs-times" mjp-sample -m "$m2" -n 2 --until 10 --obs-times "$tmp/times.csv"
check "times from the file" test "$(awk -F, 'NR > 1 && $1 == 1 { printf "%s ", $2 }' "$tmp/out")" = "0 0.25 3 "
printf 't\n0\n2\n1\n' >"$tmp/badtimes.csv"
expect_error 1 "not decreasing" "decreasing --obs-times" mjp-sample -m "$m2" -n 2 --until 10 --obs-times "$tmp/badtimes.csv"
printf 't\n0\n20\n' >"$tmp/late.csv"
expect_error 1 "must be in" "--obs-times beyond --until" mjp-sample -m "$m2" -n 2 --until 10 --obs-times "$tmp/late.csv"
expect_exit 0 "--emission" mjp-sample -m "$data/mjp-illness.yaml" -n 50 --until 10 --obs-every 1 --emission "$data/mjp-emission.yaml"
check "obs column" test "$(head -1 "$tmp/out")" = "seq,t,state,obs"
check "dead is never misclassified" test "$(awk -F, 'NR > 1 && ($3 == 2) != ($4 == 2)' "$tmp/out" | wc -l)" -eq 0
expect_exit 0 "-o writes a file" mjp-sample -m "$m2" -n 2 --until 1 -o "$tmp/o.csv"
check "-o file has rows" test "$(wc -l <"$tmp/o.csv")" -ge 3

# P(X_2 = 0 | X_0 = 0) = 0.2/0.9 + 0.7/0.9 exp(-0.9 * 2) for q01 = 0.7,
# q10 = 0.2; 4000 paths: standard error 0.0075, allow 4 of them
mjp-sample -m "$m2" -n 4000 --until 2 --obs-every 2 --seed 17 >"$tmp/law.csv"
p=$(awk -F, 'NR > 1 && $2 == 2 { n++; if ($3 == 0) z++ } END { print z / n }' "$tmp/law.csv")
want=$(awk 'BEGIN { printf "%.10f", 0.2/0.9 + 0.7/0.9 * exp(-1.8) }')
check "P(X_2 = 0) = $p vs $want" approx "$p" "$want" 0.03

# jumps per path are bounded (issue 18): refused up front when every state
# is left at a positive rate, stopped with the path and time otherwise
expect_error 2 "gives about 1.97e\+300 jumps per path .*at most 1000000 are allowed" "--until 1e300, no absorbing state" \
    mjp-sample -m "$top_srcdir/data/mjp-ratchet.yaml" -n 10 --until 1e300
expect_exit 0 "--until 1e300 with an absorbing state" mjp-sample -m "$data/mjp-illness.yaml" -n 10 --until 1e300
check "every path ends at 1e300" test "$(awk -F, 'NR > 1 && $2 == 1e+300' "$tmp/out" | wc -l)" -eq 10
cat >"$tmp/fast.yaml" <<'EOF'
model: mjp
version: 1
Q:
  - [-1, 1, 0]
  - [1, -1.000000000001, 1e-12]
  - [1e-12, 0, -1e-12]
EOF
expect_error 1 "makes more than 1000 jumps by time .*raise --max-jumps" "a path past --max-jumps" \
    mjp-sample -m "$tmp/fast.yaml" -n 5 --until 1e9 --max-jumps 1000 -o "$tmp/fast.csv"
check "no file left by the failed run" test ! -e "$tmp/fast.csv"
expect_exit 0 "within --max-jumps" mjp-sample -m "$tmp/fast.yaml" -n 5 --until 100 --max-jumps 1000
expect_error 2 "--max-jumps must be" "bad --max-jumps" mjp-sample -m "$m2" -n 1 --until 1 --max-jumps 0

done_testing

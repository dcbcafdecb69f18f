#!/bin/sh
# hmm-decode --with-data: the value columns of the data ride along with
# the decoded states (what stoch-plot states draws), unchanged.
. "$top_srcdir/tests/cli/tap.sh"

m2="$data/hmm-gauss2.yaml"
hmm-sample -m "$m2" -n 3 -T 50 --seed 5 >"$tmp/g.csv"
expect_exit 0 "--viterbi --with-data" hmm-decode -m "$m2" --with-data "$tmp/g.csv"
check "header seq,t,state,a,b" test "$(head -1 "$tmp/out")" = "seq,t,state,a,b"
cut -d, -f1,2,4,5 "$tmp/g.csv" >"$tmp/want"
cut -d, -f1,2,4,5 "$tmp/out" >"$tmp/got"
check "seq, t and the values are the data's, row for row" cmp -s "$tmp/want" "$tmp/got"
cp "$tmp/out" "$tmp/vd.csv"
hmm-decode -m "$m2" "$tmp/g.csv" >"$tmp/v.csv"
check "the states are those of plain --viterbi" sh -c "cut -d, -f1-3 '$tmp/vd.csv' | cmp -s - '$tmp/v.csv'"
expect_exit 0 "--posterior --with-data" hmm-decode -m "$m2" --posterior --with-data "$tmp/g.csv"
check "header seq,t,state,p0,p1,a,b" test "$(head -1 "$tmp/out")" = "seq,t,state,p0,p1,a,b"
cut -d, -f1,2,6,7 "$tmp/out" >"$tmp/got"
check "posterior rows carry the values" cmp -s "$tmp/want" "$tmp/got"
hmm-fit -K 2 -c b -q -o "$tmp/b.yaml" "$tmp/g.csv"
expect_exit 0 "one column with -c, binary output" hmm-decode -m "$tmp/b.yaml" -c b --with-data --format bin \
    -o "$tmp/d.stb" "$tmp/g.csv"
stoch-cat "$tmp/d.stb" >"$tmp/d.csv"
check "binary stream carries b" test "$(head -1 "$tmp/d.csv")" = "seq,t,state,b"
cut -d, -f5 "$tmp/g.csv" >"$tmp/bcol"
check "b values are the data's" sh -c "cut -d, -f4 '$tmp/d.csv' | cmp -s - '$tmp/bcol'"

expect_error 2 'not --score' "--with-data with --score" hmm-decode -m "$m2" --score --with-data "$tmp/g.csv"
printf 'p0\n0.1\n2.5\n' >"$tmp/p.csv"
hmm-fit -K 2 -q -o "$tmp/p.yaml" "$tmp/p.csv" 2>/dev/null
expect_error 1 "value column 'p0' has the name of an output column" "name clash with p0" \
    hmm-decode -m "$tmp/p.yaml" --posterior --with-data "$tmp/p.csv"
done_testing

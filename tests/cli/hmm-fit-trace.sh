#!/bin/sh
# hmm-fit --trace: the EM log-likelihood of every iteration of every
# restart (and every K of a range) as a stream; its last value for the
# kept restart is the model's logl.
. "$top_srcdir/tests/cli/tap.sh"

f="$top_srcdir/data/faithful.csv"
expect_exit 0 "--trace" hmm-fit -K 2 -c waiting --restarts 3 --trace "$tmp/t.csv" -o "$tmp/m.yaml" "$f"
check "header K,restart,iter,logl" test "$(head -1 "$tmp/t.csv")" = "K,restart,iter,logl"
check "three restarts" test "$(awk -F, 'NR > 1 { r[$2] = 1 } END { print length(r) }' "$tmp/t.csv")" -eq 3
check "iterations count 1, 2, ... within a restart" \
    awk -F, 'NR > 1 { if ($2 != r) { r = $2; i = 0 } if ($3 != ++i) exit 1 }' "$tmp/t.csv"
check "EM never lowers the log-likelihood" \
    awk -F, 'NR > 1 { if ($2 == r && $4 < l - 1e-9 * (l < 0 ? -l : l)) exit 1; r = $2; l = $4 }' "$tmp/t.csv"
best=$(awk -F, 'NR > 1 { last[$2] = $4; it[$2] = $3 } END { b = ""; for (r in last) if (b == "" || last[r] + 0 > last[b] + 0) b = r; print last[b], it[b] }' "$tmp/t.csv")
check "the best restart ends at the model's logl and iterations ($best)" \
    test "$best" = "$(awk '$1 == "logl:" { l = $2 } $1 == "iterations:" { i = $2 } END { print l, i }' "$tmp/m.yaml")"

expect_exit 0 "a range of K, binary trace" hmm-fit -K 2..3 -c waiting --restarts 2 -q --trace "$tmp/t.stb" -o /dev/null "$f"
stoch-cat "$tmp/t.stb" >"$tmp/t2.csv"
check "K = 2 and 3, two restarts each" \
    test "$(awk -F, 'NR > 1 { k[$1 "-" $2] = 1 } END { n = 0; for (x in k) n++; print n }' "$tmp/t2.csv")" -eq 4
hmm-fit -K 2 -c waiting --restarts 3 -q --trace "$tmp/again.csv" -o /dev/null "$f"
check "same seed, same trace" cmp -s "$tmp/t.csv" "$tmp/again.csv"
expect_error 1 'cannot create output' "unwritable --trace" hmm-fit -K 2 -c waiting --trace /nonexistent/t.csv "$f"
check "no model written when the trace fails" test ! -s "$tmp/out"
done_testing

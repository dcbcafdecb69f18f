#!/bin/sh
# mjp-infer on data as msm users have it (issue 13): msm's cav written by
# R's write.csv (row names column "", quoted text, an unused text column
# pdiag), states numbered from 1 (detected, said on stderr; --base 0
# refused rather than fitting a phantom state 0), --deathexact, state
# labels as text (the model file records their order, outputs print them),
# text subject ids in messages.  No peer needed: -2logL against msm 1.7's
# published 3968.798 (cav, deathexact = TRUE).
. "$top_srcdir/tests/cli/tap.sh"

# write.csv(cav): a first column of row names, every text quoted
awk 'NR == 1 { print "\"\"," $0; next } { print "\"" NR - 1 "\"," $0 }' "$top_srcdir/data/cav.csv" |
    sed '1s/"PTNUM"/"seq"/; 1s/"years"/"t"/' >"$tmp/cav.csv"
A=1-2,1-4,2-1,2-3,2-4,3-2,3-4
m2ll() { awk '$1 == "minus2loglik:" { print $2 }' "$1"; }

expect_exit 0 "write.csv's cav, 1-based, --deathexact 4" mjp-infer --allowed $A --deathexact 4 -o "$tmp/c.yaml" "$tmp/cav.csv"
check "-2logL 3968.798 (msm 1.7, deathexact = TRUE)" approx "$(m2ll "$tmp/c.yaml")" 3968.798 0.0005
check "1-based states detected, said on stderr" grep -q "read as 1-based" "$tmp/err"
check "the model names the states 1..4" grep -q 'labels: \["1", "2", "3", "4"\]' "$tmp/c.yaml"
expect_exit 0 "-q: no note" mjp-infer -q --allowed $A --deathexact 4 -o "$tmp/q.yaml" "$tmp/cav.csv"
check "-q: stderr empty" test ! -s "$tmp/err"
check "the same fit as --base 1" sh -c "mjp-infer -q --base 1 --allowed $A --deathexact 4 -o '$tmp/b.yaml' '$tmp/cav.csv' && cmp -s '$tmp/b.yaml' '$tmp/c.yaml'"
# without --deathexact: deaths as snapshots, a different (msm's obstype 1) likelihood
mjp-infer -q --allowed $A -o "$tmp/s.yaml" "$tmp/cav.csv"
check "deathexact = obstype 3 on the death rows" test "$(m2ll "$tmp/s.yaml")" != "$(m2ll "$tmp/c.yaml")"
awk -F, 'NR == 1 { print $0 ",\"obstype\""; next } { print $0 "," ($9 == 4 ? 3 : 1) }' "$tmp/cav.csv" >"$tmp/ot.csv"
mjp-infer -q --allowed $A -o "$tmp/ot.yaml" "$tmp/ot.csv"
check "--deathexact 4 = an obstype column of 3 on the deaths" test "$(m2ll "$tmp/ot.yaml")" = "$(m2ll "$tmp/c.yaml")"

# phantom states refused
expect_error 1 "state 0 never appears in the data and every transition is allowed" "--base 0, all transitions: refused" \
    mjp-infer --base 0 "$tmp/cav.csv"
expect_error 1 "state 0 never appears in the data and no observed state can reach it" "--base 0, a mask: refused" \
    mjp-infer --base 0 --allowed $A "$tmp/cav.csv"
# a state never observed but reachable, in a model the user gave: fine
awk -F, 'NR == 1 || $9 != 3' "$tmp/cav.csv" >"$tmp/no3.csv"
expect_exit 0 "state 3 never observed but reachable (given mask)" mjp-infer -q --base 1 -K 4 --allowed $A --deathexact 4 -o /dev/null "$tmp/no3.csv"
expect_error 1 "state '3' never appears in the data and every transition is allowed" "state 3 never observed, all allowed: refused" \
    mjp-infer --base 1 -K 4 "$tmp/no3.csv"

# labels: the state column as text
awk -F, 'BEGIN { OFS = ","; split("well,mild,severe,dead", L, ",") } NR == 1 { print; next } { $9 = "\"" L[$9] "\""; print }' \
    "$tmp/cav.csv" >"$tmp/lab.csv"
AL=well-mild,well-dead,mild-well,mild-severe,mild-dead,severe-mild,severe-dead
expect_exit 0 "state labels" mjp-infer --allowed $AL --deathexact dead --derive pnext="$tmp/pn.csv" -o "$tmp/l.yaml" "$tmp/lab.csv"
check "labels: the same -2logL" approx "$(m2ll "$tmp/l.yaml")" "$(m2ll "$tmp/c.yaml")" 1e-8
check "labels in the model file, sorted" grep -q 'labels: \[dead, mild, severe, well\]' "$tmp/l.yaml"
check "outputs print labels" grep -q '^well,mild,' "$tmp/pn.csv"
expect_exit 0 "the labelled model as the start" mjp-infer -q -m "$tmp/l.yaml" --deathexact dead -o "$tmp/l2.yaml" "$tmp/lab.csv"
check "the same -2logL from it" approx "$(m2ll "$tmp/l2.yaml")" "$(m2ll "$tmp/l.yaml")" 1e-6
sed 's/"dead"/"gone"/' "$tmp/lab.csv" >"$tmp/gone.csv"
expect_error 1 "subject 100002, row 7: state 'gone' is not a label of the model" "a label outside the model" \
    mjp-infer -m "$tmp/l.yaml" "$tmp/gone.csv"
expect_error 2 "--deathexact: no state 'gone'" "--deathexact names no state" mjp-infer --allowed $AL --deathexact gone "$tmp/lab.csv"
expect_error 2 "--deathexact well: the state is not absorbing" "--deathexact: not absorbing" mjp-infer --allowed $AL --deathexact well "$tmp/lab.csv"

# text where numbers are needed: a covariate; text ids in messages
expect_error 1 "column 'pdiag' holds text" "a text covariate" mjp-infer --base 1 --allowed $A --covariates pdiag "$tmp/cav.csv"
printf 'seq,t,state\nA-17,0,1\nA-17,1,x\n' >"$tmp/ids.csv"
printf 'seq,t,state\nA-17,0,1\nA-17,-1,2\n' >"$tmp/ids2.csv"
expect_error 1 "subject A-17, row 2: time -1 is before" "text ids in messages" mjp-infer --base 1 -K 2 "$tmp/ids2.csv"

# cav as shipped, columns by role (--seq-col, --time-col: lib/core's role options)
expect_exit 0 "data/cav.csv as is, --seq-col PTNUM --time-col years" mjp-infer -q --seq-col PTNUM --time-col years \
    --allowed $A --deathexact 4 -o "$tmp/r.yaml" "$top_srcdir/data/cav.csv"
check "by role: -2logL 3968.798 (msm 1.7)" approx "$(m2ll "$tmp/r.yaml")" 3968.798 0.0005

# a damaged number ("1x" among 1..4) is an error, not a label
awk -F, 'BEGIN { OFS = "," } NR == 2 { $9 = "\"1x\"" } 1' "$tmp/cav.csv" >"$tmp/junk.csv"
expect_error 1 "mixes state numbers and text \\('1x'\\)" "numbers and text in the state column" mjp-infer --allowed $A "$tmp/junk.csv"

done_testing

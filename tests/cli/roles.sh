#!/bin/sh
# Roles by name (issue 13): every program reads the columns it needs under
# the same options (--seq-col, --time-col, --state-col, --obstype-col,
# --id-col) and --no-header, through one lib/core module; a named column
# that is absent, or that clashes with a column of the fixed name, is a
# one-line error; and a program that picks value columns by default says
# which it used when the candidates are of different kinds.
. "$top_srcdir/tests/cli/tap.sh"

# ---- every program spells the role options the same way in --help
for p in hmm-fit hmm-decode mjp-infer pf-smooth pf-fit ssm-forecast stoch-cat; do
    run "$p" --help
    check "$p --help: --seq-col NAME" grep -q -- '--seq-col NAME' "$tmp/out"
    check "$p --help: --no-header" grep -q -- '--no-header' "$tmp/out"
done
for p in hmm-fit hmm-decode mjp-infer pf-smooth pf-fit mjp-sample ssm-forecast stoch-plot stoch-cat; do
    run "$p" --help
    check "$p --help: --time-col NAME" grep -q -- '--time-col NAME' "$tmp/out"
done
for p in uq-entropy uq-eval pf-resample stoch-cat; do
    run "$p" --help
    check "$p --help: --id-col NAME" grep -q -- '--id-col NAME' "$tmp/out"
done

# ---- msm's cav as R's write.csv writes it: row names in an unnamed
# column, quoted strings, a text column no program uses (pdiag)
cat >"$tmp/cav.csv" <<'EOF'
"","PTNUM","age","years","dage","sex","pdiag","cumrej","state","firstobs","statemax"
"1",100002,52.4958904109589,0,21,0,"IHD",0,1,1,1
"2",100002,53.4986301369863,1.0027397260274,21,0,"IHD",2,1,0,1
"3",100002,54.4986301369863,2.0027397260274,21,0,"IHD",2,2,0,2
"4",100002,55.5890410958904,3.09315068493151,21,0,"IHD",2,2,0,2
"5",100002,56.4958904109589,4,21,0,"IHD",3,2,0,2
"6",100002,57.4931506849315,4.9972602739726,21,0,"IHD",3,3,0,3
"7",100002,58.3506849315068,5.85479452054795,21,0,"IHD",3,4,0,4
"8",100003,29.5068493150685,0,17,0,"IHD",0,1,1,1
"9",100003,30.6958904109589,1.18904109589041,17,0,"IHD",1,1,0,1
"10",100003,31.5150684931507,2.00821917808219,17,0,"IHD",1,3,0,3
"11",100003,32.4986301369863,2.99178082191781,17,0,"IHD",2,4,0,4
"12",100004,35.8958904109589,0,16,0,"IDC",0,1,1,1
EOF
expect_exit 0 "stoch-cat reads write.csv's cav with --seq-col PTNUM --time-col years --state-col state" \
    stoch-cat --seq-col PTNUM --time-col years --state-col state --describe "$tmp/cav.csv"
check "cav: 12 rows, 3 subjects" test "$(head -2 "$tmp/out" | tr '\n' ' ')" = "rows 12 sequences 3 "
check "cav: the row names are column c1" grep -q '^c1 ' "$tmp/out"
check "cav: pdiag is text with 2 values" sh -c "grep '^pdiag ' '$tmp/out' | awk '{ exit !(\$2 == \"str\" && \$5 == 2) }'"
expect_exit 0 "stoch-cat --seq PTNUM ids" stoch-cat --seq-col PTNUM --seq 100003 -c PTNUM,years,state "$tmp/cav.csv"
check "subject 100003: 4 rows, as written" test "$(sed -n '2p;5p' "$tmp/out" | tr '\n' ' ')" = "100003,0,1 100003,2.99178082191781,4 "
expect_error 1 "cav.csv: --time-col: no column 'time' \\(the input has c1,PTNUM,age,years" \
    "stoch-cat: a role column that is not there" stoch-cat --time-col time --describe "$tmp/cav.csv"
if command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(msm)' >/dev/null 2>&1; then
    Rscript -e 'library(msm); write.csv(cav, "'"$tmp"'/cav-r.csv")' >/dev/null 2>&1
    expect_exit 0 "stoch-cat reads R's whole write.csv(cav)" \
        stoch-cat --seq-col PTNUM --time-col years --state-col state --describe "$tmp/cav-r.csv"
    check "cav: 2846 rows, 622 subjects (as R's nrow and PTNUM)" test "$(head -2 "$tmp/out" | tr '\n' ' ')" = "rows 2846 sequences 622 "
    expect_exit 0 "cav through the binary stream and back" sh -c "stoch-cat --format bin '$tmp/cav-r.csv' | stoch-cat >'$tmp/cav-r.back.csv' && stoch-cat '$tmp/cav-r.csv' | cmp -s - '$tmp/cav-r.back.csv'"
else
    skip "R with msm not installed: write.csv(cav)"
    skip "R with msm not installed: write.csv(cav)"
    skip "R with msm not installed: write.csv(cav)"
fi

# ---- mjp-infer: the user's column names give the fit of the renamed data
stoch-cat -c PTNUM,years,state "$tmp/cav.csv" >"$tmp/cav3.csv"
{ echo seq,t,state; tail -n +2 "$tmp/cav3.csv"; } >"$tmp/cav-std.csv"
expect_exit 0 "mjp-infer on seq,t,state" mjp-infer --base 1 -K 4 --allowed 1-2,1-4,2-3,2-4,3-4 --no-se -o "$tmp/q-std.yaml" "$tmp/cav-std.csv"
expect_exit 0 "mjp-infer --seq-col PTNUM --time-col years --state-col state" \
    mjp-infer --seq-col PTNUM --time-col years --state-col state --base 1 -K 4 --allowed 1-2,1-4,2-3,2-4,3-4 --no-se -o "$tmp/q-named.yaml" "$tmp/cav3.csv"
check "mjp-infer: the same model file" cmp -s "$tmp/q-std.yaml" "$tmp/q-named.yaml"
{ echo PTNUM,seq,years,state; tail -n +2 "$tmp/cav3.csv" | awk -F, -v OFS=, '{ print $1, 1, $2, $3 }'; } >"$tmp/clash.csv"
expect_error 1 "clash.csv:1:1: --seq-col PTNUM: the input also has a column 'seq'" "a role column beside a column of the fixed name" \
    mjp-infer --seq-col PTNUM --time-col years --base 1 -K 4 "$tmp/clash.csv"
expect_error 1 "cav3.csv:1: --obstype-col: no column 'how'" "--obstype-col names a column that is not there" \
    mjp-infer --seq-col PTNUM --time-col years --obstype-col how --base 1 -K 4 "$tmp/cav3.csv"

# ---- hmm-fit and hmm-decode: ids and times by name, --no-header
awk -F, -v OFS=, 'NR == 1 { print "subject,when," $0; next } { print 100 + int((NR - 2) / 68), NR, $0 }' \
    "$top_srcdir/data/faithful.csv" >"$tmp/faith-named.csv"
awk -F, -v OFS=, 'NR == 1 { print "seq,t," $0; next } { print int((NR - 2) / 68), NR, $0 }' \
    "$top_srcdir/data/faithful.csv" >"$tmp/faith-std.csv"
expect_exit 0 "hmm-fit on seq,t" hmm-fit -K 2 -r 1 -o "$tmp/h-std.yaml" "$tmp/faith-std.csv"
expect_exit 0 "hmm-fit --seq-col subject --time-col when" hmm-fit -K 2 -r 1 --seq-col subject --time-col when -o "$tmp/h-named.yaml" "$tmp/faith-named.csv"
sed 1d "$tmp/h-named.yaml" >"$tmp/h-named.yaml.body"
check "hmm-fit: the same model (t is not a value column)" sh -c "sed 1d '$tmp/h-std.yaml' | cmp -s - '$tmp/h-named.yaml.body'"
expect_exit 0 "hmm-decode --seq-col subject --time-col when" hmm-decode -m "$tmp/h-std.yaml" --seq-col subject --time-col when "$tmp/faith-named.csv"
check "hmm-decode: seq holds the user's ids, t the times" test "$(sed -n 2p "$tmp/out" | cut -d, -f1,2)" = "100,2"
tail -n +2 "$top_srcdir/data/faithful.csv" >"$tmp/faith-nohead.csv"
expect_error 1 "faith-nohead.csv:1:1: the header line looks like data" "hmm-fit: a header of numbers is an error" hmm-fit -K 2 -r 1 "$tmp/faith-nohead.csv"
expect_exit 0 "hmm-fit --no-header" hmm-fit -K 2 -r 1 --no-header -c c1,c2 -o "$tmp/h-nohead.yaml" "$tmp/faith-nohead.csv"
expect_exit 0 "hmm-fit with the header" hmm-fit -K 2 -r 1 -o "$tmp/h-head.yaml" "$top_srcdir/data/faithful.csv"
sed 1d "$tmp/h-head.yaml" >"$tmp/h-head.yaml.body" # the comment line names the input
check "--no-header: the same fit but for the column names" sh -c "sed '1d; s/c1,c2/eruptions,waiting/' '$tmp/h-nohead.yaml' | cmp -s - '$tmp/h-head.yaml.body'"

# ---- pf-smooth: series and time by name
awk -F, -v OFS=, 'NR == 1 { print "river,year,flow"; next } { print 7, $1, $2 }' "$top_srcdir/data/nile.csv" >"$tmp/nile-named.csv"
awk -F, -v OFS=, 'NR == 1 { print "seq,t,flow"; next } { print 7, $1, $2 }' "$top_srcdir/data/nile.csv" >"$tmp/nile-std.csv"
expect_exit 0 "pf-smooth on seq,t" pf-smooth -m "$top_srcdir/data/pf-nile-lg.yaml" -N 200 --loglik "$tmp/nile-std.csv"
cp "$tmp/out" "$tmp/pf-std.out"
expect_exit 0 "pf-smooth --seq-col river --time-col year" pf-smooth -m "$top_srcdir/data/pf-nile-lg.yaml" -N 200 --loglik --seq-col river --time-col year "$tmp/nile-named.csv"
check "pf-smooth: the same log-likelihood" cmp -s "$tmp/out" "$tmp/pf-std.out"

# ---- pf-resample: groups and particles by name
cat >"$tmp/gen.csv" <<'EOF'
gen,cand,logw
0,10,0
0,11,0
0,12,0.6931471805599453
EOF
{ echo step,particle,logw; tail -n +2 "$tmp/gen.csv"; } >"$tmp/gen-std.csv"
expect_exit 0 "pf-resample on step,particle" pf-resample --always "$tmp/gen-std.csv"
cp "$tmp/out" "$tmp/rs-std.out"
expect_exit 0 "pf-resample --seq-col gen --id-col cand" pf-resample --always --seq-col gen --id-col cand "$tmp/gen.csv"
check "pf-resample: the same draws" cmp -s "$tmp/out" "$tmp/rs-std.out"

# ---- mjp-sample: observation times by name
printf 'when\n0\n0.5\n2\n' >"$tmp/times.csv"
expect_exit 0 "mjp-sample --obs-times with --time-col when" mjp-sample -m "$top_srcdir/data/mjp-ratchet.yaml" -n 2 --until 3 --obs-times "$tmp/times.csv" --time-col when
check "mjp-sample: 3 snapshots per path" test "$(tail -n +2 "$tmp/out" | cut -d, -f2 | tr '\n' ' ')" = "0 0.5 2 0 0.5 2 "
expect_error 1 "times.csv: no column 't'" "mjp-sample: without it, no column t" mjp-sample -m "$top_srcdir/data/mjp-ratchet.yaml" -n 2 --until 3 --obs-times "$tmp/times.csv"

# ---- uq-entropy --csv-long and uq-eval: ids by name, the note on text columns
sed '1s/^id,/prompt,/' "$data/uq-long.csv" >"$tmp/long-named.csv"
expect_exit 0 "uq-entropy --csv-long on id" uq-entropy --csv-long -s g-nll "$data/uq-long.csv"
cp "$tmp/out" "$tmp/long-std.out"
expect_exit 0 "uq-entropy --csv-long --id-col prompt" uq-entropy --csv-long --id-col prompt -s g-nll "$tmp/long-named.csv"
check "uq-entropy: the same scores" cmp -s "$tmp/out" "$tmp/long-std.out"
expect_error 2 "--id-col names a column of --csv-long input" "uq-entropy: --id-col without --csv-long" uq-entropy --id-col prompt -s g-nll "$tmp/long-named.csv"
grep -v '^#' "$data/uq-eval-small.csv" | awk -F, -v OFS=, 'NR == 1 { print "prompt,model," $2, $3, $4; next } { print "p" $1, "m7", $2, $3, $4 }' >"$tmp/eval-named.csv"
grep -v '^#' "$data/uq-eval-small.csv" >"$tmp/eval-std.csv"
expect_exit 0 "uq-eval on id" uq-eval -q -l correct "$tmp/eval-std.csv"
cp "$tmp/out" "$tmp/eval-std.out"
expect_exit 0 "uq-eval --id-col prompt, a text column beside the scores" uq-eval -l correct --id-col prompt "$tmp/eval-named.csv"
check "uq-eval: the same evaluation" cmp -s "$tmp/out" "$tmp/eval-std.out"
check "uq-eval says which columns it used (one line)" test "$(cat "$tmp/err")" = "uq-eval: $tmp/eval-named.csv: value columns u, v (numbers); not model (text) (name the columns with -c)"
expect_exit 0 "uq-eval -q: no note" uq-eval -q -l correct --id-col prompt "$tmp/eval-named.csv"
check "uq-eval -q: stderr empty" test ! -s "$tmp/err"

# ---- ssm-forecast: the role options name columns of the data, not of --future
awk 'BEGIN { print "when,y,x"; for (i = 1; i <= 40; i++) printf "%d,%.3f,%d\n", i, 0.5 * (i % 3) + 0.1 * i, i % 3 }' >"$tmp/reg.csv"
printf 'x\n0\n1\n2\n' >"$tmp/future.csv"
expect_exit 0 "ssm-forecast --time-col with a --future file of regressors only" \
    ssm-forecast --model level+reg -x x --time-col when --future "$tmp/future.csv" -H 3 "$tmp/reg.csv"
check "three forecasts after t = 40" test "$(tail -n +2 "$tmp/out" | cut -d, -f2 | tr '\n' ' ')" = "41 42 43 "

# ---- stoch-plot: --data columns by name
if command -v gnuplot >/dev/null 2>&1 || true; then
    awk -F, -v OFS=, 'NR == 1 { print "year,flow"; next } { print $1, $2 }' "$top_srcdir/data/nile.csv" >"$tmp/nile2.csv"
    expect_exit 0 "ssm-forecast for stoch-plot" ssm-forecast --model level -c flow -H 3 -o "$tmp/fc.csv" "$top_srcdir/data/nile.csv"
    expect_exit 0 "stoch-plot forecast --data with --time-col" stoch-plot forecast --script -c flow --time-col year --data "$top_srcdir/data/nile.csv" "$tmp/fc.csv"
    cp "$tmp/out" "$tmp/plot-named.gp"
    expect_exit 0 "stoch-plot forecast --data with -t" stoch-plot forecast --script -c flow -t year --data "$top_srcdir/data/nile.csv" "$tmp/fc.csv"
    check "stoch-plot: --time-col and -t draw the same" cmp -s "$tmp/out" "$tmp/plot-named.gp"
    expect_error 2 "name columns of --data" "stoch-plot: --time-col without --data" stoch-plot forecast --script --time-col year "$tmp/fc.csv"
fi

done_testing

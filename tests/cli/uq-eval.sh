#!/bin/sh
# uq-eval: known AUROC/AUPRC/PRR values including ties, joins, bootstrap,
# TSU, bad labels.
. "$top_srcdir/tests/cli/tap.sh"

# val FILE SCORE METRIC [FIELD]: the value (or lo/hi) of one output row.
val() {
    awk -F, -v s="$2" -v m="$3" -v f="${4:-value}" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $1 == s && $2 == m { print $c[f] }' "$1"
}

expect_exit 0 "--help" uq-eval --help
check "--help names the metrics" grep -q 'prr50' "$tmp/out"
expect_exit 0 "--version" uq-eval --version
expect_error 2 'labels COLUMN is required' "no --labels" uq-eval "$data/uq-eval-small.csv"
expect_error 2 'give SCORES and optionally LABELS, not 3' "three files" uq-eval -l correct a b c
expect_error 2 "unknown metric 'roc'" "bad --metrics" uq-eval -l correct -m roc "$data/uq-eval-small.csv"
expect_error 2 'CSV only' "--format bin refused" uq-eval -l correct --format bin "$data/uq-eval-small.csv"
expect_error 2 'level must be' "bad --level" uq-eval -l correct --level 100 "$data/uq-eval-small.csv"

# scikit-learn's documented example: roc_auc_score 0.75, average precision 0.8333
expect_exit 0 "small example" uq-eval -l correct -o "$tmp/e.csv" "$data/uq-eval-small.csv"
check "header" test "$(head -1 "$tmp/e.csv")" = "score,metric,n,value,lo,hi"
check "AUROC 0.75" approx "$(val "$tmp/e.csv" u auroc)" 0.75 1e-15
check "AUPRC 5/6" approx "$(val "$tmp/e.csv" u auprc)" 0.83333333333333337 1e-15
# labels in order of u: 1,0,1,0: AUARC (1 + 1/2 + 2/3 + 2/4)/4 = 2/3; the
# oracle's (1 + 1 + 2/3 + 2/4)/4 = 19/24; random 1/2: PRR (1/6)/(7/24) = 4/7
check "PRR 4/7" approx "$(val "$tmp/e.csv" u prr)" 0.5714285714285714 1e-15
check "AUARC 2/3" approx "$(val "$tmp/e.csv" u auarc)" 0.66666666666666663 1e-15
check "n" test "$(val "$tmp/e.csv" u auroc n)" = 4
# all tied: AUROC 1/2, PRR 0 (the expectation over tie orders), Spearman undefined
check "ties: AUROC 0.5" approx "$(val "$tmp/e.csv" v auroc)" 0.5 0
check "ties: PRR 0" approx "$(val "$tmp/e.csv" v prr)" 0 1e-15
check "ties: AUPRC = error rate" approx "$(val "$tmp/e.csv" v auprc)" 0.5 0
check "no interval without --bootstrap" test "$(val "$tmp/e.csv" u auroc lo)" = NaN
check "ece only for confidences" test -z "$(val "$tmp/e.csv" u ece)"
check "no tsu without temperature" test -z "$(val "$tmp/e.csv" u tsu)"

# confidences by name: a column named after a uq-entropy confidence is ranked
# as its negative without --confidence (ccp = 1 - u ranks as u)
awk -F, '/^#/ || $1 == "id" { if ($1 == "id") print "id,ccp,correct"; next } { print $1 "," 1 - $2 "," $NF }' "$data/uq-eval-small.csv" >"$tmp/ccp.csv"
expect_exit 0 "a confidence by name" uq-eval -l correct -o "$tmp/ccp-e.csv" "$tmp/ccp.csv"
check "ccp is a confidence: AUROC as u's" approx "$(val "$tmp/ccp-e.csv" ccp auroc)" 0.75 1e-15
check "ccp has an ECE" test -n "$(val "$tmp/ccp-e.csv" ccp ece)"
expect_exit 0 "--confidence overrides" uq-eval -l correct --confidence msp -o "$tmp/ccp-f.csv" "$tmp/ccp.csv"
check "ccp ranked as an uncertainty when not listed" approx "$(val "$tmp/ccp-f.csv" ccp auroc)" 0.25 1e-15

# labels joined from a second file; quality labels drop the binary metrics
expect_exit 0 "LABELS file (quality)" uq-eval -l quality -c u -o "$tmp/q.csv" "$data/uq-eval-small.csv" "$data/uq-eval-labels.csv"
check "quality: no auroc" test -z "$(val "$tmp/q.csv" u auroc)"
# in order of u, ids 1, 3, 2, 4 have quality 1, 0.9, 0.6, 0.2: a perfect ranking
check "quality: spearman 1" approx "$(val "$tmp/q.csv" u spearman)" 1 1e-15
check "quality: PRR 1" approx "$(val "$tmp/q.csv" u prr)" 1 1e-15
expect_error 1 'uq-eval-labels.csv:4: label 0.6 is not 0/1, but auroc needs binary labels' "auroc with quality labels" \
    uq-eval -l quality -m auroc "$data/uq-eval-small.csv" "$data/uq-eval-labels.csv"
expect_exit 0 "--threshold binarises" uq-eval -l quality --threshold 0.5 -m auroc -c u -o "$tmp/t.csv" "$data/uq-eval-small.csv" "$data/uq-eval-labels.csv"
# correct = ids 1,2,3; error = id 4 with the highest u
check "--threshold: AUROC 1" approx "$(val "$tmp/t.csv" u auroc)" 1 0
printf 'id,u,correct\n1,0.5,1\n2,0.2,2\n' >"$tmp/bad.csv"
expect_error 1 'bad.csv:3: label 2 is outside' "label outside [0,1]" uq-eval -l correct "$tmp/bad.csv"
expect_error 1 "no label column 'right'" "missing label column" uq-eval -l right "$data/uq-eval-small.csv"
expect_error 1 "no column 'w'" "unknown --columns" uq-eval -l correct -c w "$data/uq-eval-small.csv"
printf 'id,quality\n1,1\n1,0\n' >"$tmp/dup.csv"
expect_error 1 "dup.csv:3: duplicate id '1' in the labels \\(first on line 2\\)" "duplicate label ids" uq-eval -l quality "$data/uq-eval-small.csv" "$tmp/dup.csv"

# pipeline with temperatures: TSU, ECE for msp, deterministic bootstrap
uq-entropy -q -s msp,se "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/s.csv"
expect_exit 0 "bootstrap" uq-eval -l correct --bootstrap 200 --seed 3 -o "$tmp/b1.csv" "$tmp/s.csv"
uq-eval -l correct --bootstrap 200 --seed 3 -o "$tmp/b2.csv" "$tmp/s.csv"
check "bootstrap: same seed, same bytes" cmp -s "$tmp/b1.csv" "$tmp/b2.csv"
check "interval contains the estimate" awk -F, 'NR > 1 && $5 != "NaN" && !($5 <= $4 && $4 <= $6) { bad = 1 } END { exit bad }' "$tmp/b1.csv"
check "ece for msp" test -n "$(val "$tmp/b1.csv" msp ece)"
check "tsu over 30 prompts" test "$(val "$tmp/b1.csv" se tsu n)" = 30
uq-eval -q -l correct -o "$tmp/nb.csv" <"$tmp/s.csv"
check "stdin; the estimate does not depend on --bootstrap" test "$(val "$tmp/nb.csv" se auroc)" = "$(val "$tmp/b1.csv" se auroc)"
# DESIGN.md's pipeline, word for word
uq-entropy --scores pe,ln-pe,se,g-nll,eigv "$top_srcdir/data/uq-trivia.jsonl" 2>/dev/null | uq-eval --labels correct >"$tmp/p.csv" 2>"$tmp/p.err"
check "DESIGN pipeline: 5 scores x 7 metrics" test "$(grep -c ',auroc,\|,auprc,\|,prr,\|,prr50,\|,auarc,\|,spearman,\|,tsu,' "$tmp/p.csv")" -eq 35
# TSU by hand: id 1 rises, id 2 falls
printf 'id,temperature,u,correct\n1,0.5,1,1\n1,1,2,1\n2,0.5,3,0\n2,1,2,1\n' >"$tmp/tsu.csv"
expect_exit 0 "tsu" uq-eval -l correct -m tsu -o "$tmp/tsu.out" "$tmp/tsu.csv"
check "tsu = 1/2" approx "$(val "$tmp/tsu.out" u tsu)" 0.5 0
# string ids end to end (issue 13): uq-entropy keeps the ids, uq-eval joins
# labels by id text (from CSV or binary), stoch-cat reads every output
printf '%s\n' '{"id": "p0001", "temperature": 0.5, "greedy": {"logprobs": [-0.1]}}' \
    '{"id": "A-17", "temperature": 0.5, "greedy": {"logprobs": [-2.5]}}' \
    '{"id": 42, "temperature": 0.5, "greedy": {"logprobs": [-0.7]}}' \
    '{"id": "p0001", "temperature": 1.0, "greedy": {"logprobs": [-0.3]}}' \
    '{"id": "x,y", "temperature": 1.0, "greedy": {"logprobs": [-1.5]}}' >"$tmp/sid.jsonl"
printf 'id,temperature,right\n"A-17",0.5,0\np0001,0.5,1\n42,0.5,1\np0001,1,1\n"x,y",1,0\n' >"$tmp/sid-labels.csv"
expect_exit 0 "string ids: uq-entropy" uq-entropy -s g-nll -o "$tmp/sid.csv" "$tmp/sid.jsonl"
check "the input's ids, integers among them as text" test "$(cut -d, -f1 "$tmp/sid.csv" | tr '\n' ' ')" = 'id p0001 A-17 42 p0001 "x '
check "an id with a comma is quoted" grep -q '^"x,y",1,1.5$' "$tmp/sid.csv"
expect_exit 0 "string ids: labels joined by id and temperature" uq-eval -l right -m auroc -o "$tmp/sid-e.csv" "$tmp/sid.csv" "$tmp/sid-labels.csv"
check "AUROC 1: errors A-17 and x,y have the highest g-nll" approx "$(val "$tmp/sid-e.csv" g-nll auroc)" 1 0
check "n = 5 rows joined" test "$(val "$tmp/sid-e.csv" g-nll auroc n)" = 5
expect_exit 0 "string ids: binary scores" uq-entropy -s g-nll -o "$tmp/sid.stb" "$tmp/sid.jsonl"
expect_exit 0 "uq-eval reads binary scores with string ids" uq-eval -l right -m auroc -o "$tmp/sid-b.csv" "$tmp/sid.stb" "$tmp/sid-labels.csv"
check "... with the same result" cmp -s "$tmp/sid-e.csv" "$tmp/sid-b.csv"
expect_exit 0 "stoch-cat reads uq-entropy's binary output" stoch-cat -o "$tmp/sid-cat.csv" "$tmp/sid.stb"
check "... back to the same CSV" cmp -s "$tmp/sid.csv" "$tmp/sid-cat.csv"
expect_exit 0 "stoch-cat reads uq-eval's output" stoch-cat --describe "$tmp/sid-e.csv"
check "... score and metric are string columns" grep -q '^score *str' "$tmp/out"
printf 'id,sample,logprob,temperature\np0001,0,-0.5,1\np0001,0,-0.25,1\nA-17,0,-2,1\n' >"$tmp/sid-long.csv"
expect_exit 0 "--csv-long with string ids" uq-entropy --csv-long -s g-nll -o "$tmp/sid-long-out.csv" "$tmp/sid-long.csv"
check "--csv-long keeps the ids" test "$(cut -d, -f1,3 "$tmp/sid-long-out.csv" | tr '\n' ' ')" = "id,g-nll p0001,0.75 A-17,2 "
printf 'id,sample,logprob\n1,0,-0.5\n1,x,-0.25\n' >"$tmp/sid-long-bad.csv"
expect_error 1 "column 'sample' holds str" "--csv-long: text in a number column" uq-entropy --csv-long -s g-nll "$tmp/sid-long-bad.csv"
printf 'id,prompt,g-nll,correct\na,"What is 2+2?",0.1,1\nb,"Capital?",2,0\n' >"$tmp/sid-text.csv"
expect_exit 0 "a text column in the scores is not a score" uq-eval -l correct -m auroc -o "$tmp/sid-t.csv" "$tmp/sid-text.csv"
check "... only g-nll is evaluated" test "$(cut -d, -f1 "$tmp/sid-t.csv" | sort -u | tr '\n' ' ')" = "g-nll score "
expect_error 1 "column 'prompt' holds str, not scores" "... and refused when named" uq-eval -l correct -c prompt "$tmp/sid-text.csv"
done_testing

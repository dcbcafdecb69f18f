#!/bin/sh
# uq-entropy: closed-form scores, input shapes, NaN counts, bad input.
. "$top_srcdir/tests/cli/tap.sh"

# col FILE NAME ROW: value of column NAME in data row ROW (1-based) of a CSV.
col() {
    awk -F, -v name="$2" -v row="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        NR == row + 1 { print $c }' "$1"
}

expect_exit 0 "--help" uq-entropy --help
check "--help lists the scores" grep -q 'inv-entropy-full' "$tmp/out"
expect_exit 0 "--version" uq-entropy --version
check "--version format" grep -q '^uq-entropy (stochtools) ' "$tmp/out"
expect_error 2 'scores is required' "no --scores" uq-entropy "$data/uq-closed.jsonl"
expect_error 2 "unknown score 'entropy'" "unknown score" uq-entropy -s se,entropy "$data/uq-closed.jsonl"
expect_error 2 'kle-t must be' "bad --kle-t" uq-entropy -s kle --kle-t 0 "$data/uq-closed.jsonl"
expect_error 2 "unknown value 'kmeans'" "bad --cluster" uq-entropy -s se --cluster kmeans "$data/uq-closed.jsonl"

# closed forms (tests/data/uq-closed.jsonl): two clusters of equal mass,
# identical samples, a complete entailment graph
scores=g-nll,ppl,pe,ln-pe,se,se-discrete,num-sets,eigv,deg,ecc,lexsim-rougel,lexsim-jaccard
expect_exit 0 "closed-form fixture" uq-entropy -s $scores -o "$tmp/c.csv" "$data/uq-closed.jsonl"
check "header" test "$(head -1 "$tmp/c.csv")" = "id,$scores,correct"
ln2=0.69314718055994531
check "two equal clusters: se = ln 2" approx "$(col "$tmp/c.csv" se 1)" $ln2 1e-15
check "two equal clusters: se-discrete = ln 2" approx "$(col "$tmp/c.csv" se-discrete 1)" $ln2 1e-15
check "two clusters: num-sets = 2" test "$(col "$tmp/c.csv" num-sets 1)" = 2
check "ln-pe = 1" approx "$(col "$tmp/c.csv" ln-pe 1)" 1 1e-15
check "pe = (2+1+3+4)/4" approx "$(col "$tmp/c.csv" pe 1)" 2.5 1e-15
check "identical samples: se = 0" approx "$(col "$tmp/c.csv" se 2)" 0 0
check "identical samples: lexsim-rougel = 0" approx "$(col "$tmp/c.csv" lexsim-rougel 2)" 0 0
check "identical samples: lexsim-jaccard = 0" approx "$(col "$tmp/c.csv" lexsim-jaccard 2)" 0 0
check "complete graph: eigv = 1 exactly" test "$(col "$tmp/c.csv" eigv 2)" = 1
check "complete graph: deg = 0 exactly" test "$(col "$tmp/c.csv" deg 2)" = 0
check "complete graph: ecc = 0 exactly" test "$(col "$tmp/c.csv" ecc 2)" = 0
check "g-nll = 2" approx "$(col "$tmp/c.csv" g-nll 2)" 2 0
check "ppl = mean NLL = 1" approx "$(col "$tmp/c.csv" ppl 2)" 1 0
check "prompt-only line: NaN" test "$(col "$tmp/c.csv" se 3)" = NaN
run uq-entropy -s se,g-nll "$data/uq-closed.jsonl"
check "NaN count on stderr" grep -q 'se: NaN for 1 of 3 prompts' "$tmp/err"
check "g-nll NaN count" grep -q 'g-nll: NaN for 2 of 3 prompts' "$tmp/err"
run uq-entropy -q -s se "$data/uq-closed.jsonl"
check "-q silences notes" test ! -s "$tmp/err"

# union-find vs greedy vs representatives on a chain 0~2, 1~2
chain='{"id": 1, "samples": [{}, {}, {}], "entail": [[1, 0.1, 0.9], [0.1, 1, 0.9], [0.9, 0.9, 1]], "contra": [[0, 0.8, 0], [0.8, 0, 0], [0, 0, 0]]}'
for m in greedy:2 rep:2 union:1; do
    printf '%s\n' "$chain" | uq-entropy -s num-sets --cluster "${m%%:*}" >"$tmp/n.csv" 2>/dev/null
    check "--cluster ${m%%:*}: ${m##*:} sets" test "$(col "$tmp/n.csv" num-sets 1)" = "${m##*:}"
done

# per-score weights: eigv:jaccard is eigv under --affinity jaccard, whatever the order
uq-entropy -q -s ecc,eigv:jaccard,deg:contra,kle:sim,eigv "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/mix.csv"
uq-entropy -q -s eigv,ecc --affinity jaccard "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/jac.csv"
uq-entropy -q -s deg --affinity contra "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/con.csv"
uq-entropy -q -s kle --affinity sim "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/sim.csv"
uq-entropy -q -s eigv,ecc "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/ent.csv"
check "header keeps NAME:WEIGHTS" test "$(head -1 "$tmp/mix.csv")" = "id,temperature,ecc,eigv:jaccard,deg:contra,kle:sim,eigv,correct"
same_col() { # FILE1 COL1 FILE2 COL2
    paste -d, "$1" "$3" | awk -F, -v a="$2" -v b="$4" -v n1="$(head -1 "$1" | awk -F, '{ print NF }')" '
        NR == 1 { for (i = 1; i <= NF; i++) { if (i <= n1 && $i == a) x = i; if (i > n1 && $i == b) y = i }; next }
        { d = $x - $y; if (d < 0) d = -d; if (d > 1e-12 * (1 + ($y < 0 ? -$y : $y))) bad = 1 } END { exit bad || !x || !y }'
}
check "eigv:jaccard = --affinity jaccard" same_col "$tmp/mix.csv" eigv:jaccard "$tmp/jac.csv" eigv
check "deg:contra = --affinity contra" same_col "$tmp/mix.csv" deg:contra "$tmp/con.csv" deg
check "kle:sim = --affinity sim (NaN without sim)" same_col "$tmp/mix.csv" kle:sim "$tmp/sim.csv" kle
check "ecc and eigv with the default weights" same_col "$tmp/mix.csv" ecc "$tmp/ent.csv" ecc
check "eigv after other weights" same_col "$tmp/mix.csv" eigv "$tmp/ent.csv" eigv
expect_error 2 "unknown score 'se:jaccard'" "weights only for graph scores" uq-entropy -s se:jaccard "$data/uq-closed.jsonl"

# gzip input and thread count give the same bytes
uq-entropy -q -s all -j 1 "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/a.csv"
gzip -c "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/t.jsonl.gz"
uq-entropy -q -s all -j 2 "$tmp/t.jsonl.gz" >"$tmp/b.csv"
check "gzip input, -j 2: same output" cmp -s "$tmp/a.csv" "$tmp/b.csv"
check "one row per (id, temperature)" test "$(wc -l <"$tmp/a.csv")" -eq 61
check "string ids kept" test "$(col "$tmp/a.csv" id 2)" = trivia-01
uq-entropy -q -s inv-entropy --inv-subsamples 2 --seed 5 "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/s1.csv"
uq-entropy -q -s inv-entropy --inv-subsamples 2 --seed 5 -j 2 "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/s2.csv"
uq-entropy -q -s inv-entropy --inv-subsamples 2 --seed 6 "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/s3.csv"
check "inv-entropy subsampling: same seed, same bytes" cmp -s "$tmp/s1.csv" "$tmp/s2.csv"
check "inv-entropy subsampling: another seed differs" sh -c "! cmp -s '$tmp/s1.csv' '$tmp/s3.csv'"
expect_exit 0 "--id-map" uq-entropy -q -s msp --id-map "$tmp/map.csv" -o "$tmp/m.csv" "$top_srcdir/data/uq-trivia.jsonl"
check "--id-map: the ids, paired with themselves" grep -q '^trivia-01,trivia-01$' "$tmp/map.csv"
check "--id-map: one row per id" test "$(wc -l <"$tmp/map.csv")" -eq 31

# Inv-Entropy's subsampling follows the prompt's (id, temperature), not its line
awk 'NR > 1' "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/rot.jsonl"
head -1 "$top_srcdir/data/uq-trivia.jsonl" >>"$tmp/rot.jsonl"
uq-entropy -q -s inv-entropy --inv-subsamples 2 "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/r1u.csv"
sort "$tmp/r1u.csv" >"$tmp/r1.csv"
uq-entropy -q -s inv-entropy --inv-subsamples 2 "$tmp/rot.jsonl" >"$tmp/r2u.csv"
sort "$tmp/r2u.csv" >"$tmp/r2.csv"
check "reordered input: every prompt keeps its inv-entropy" cmp -s "$tmp/r1.csv" "$tmp/r2.csv"
check "... and the scores are there" test "$(grep -c trivia "$tmp/r1.csv")" -eq 60
check "reordering changed the lines" sh -c "! cmp -s '$tmp/r1u.csv' '$tmp/r2u.csv'"

# lexical scores are Unicode-aware: Cyrillic words differ, "Café" is one word
printf '%s\n' '{"id": 1, "samples": [{"text": "Москва"}, {"text": "Париж"}]}' \
    '{"id": 2, "samples": [{"text": "Café au lait"}, {"text": "CAFÉ AU LAIT!"}]}' \
    '{"id": 3, "samples": [{"text": "Café"}, {"text": "caf"}]}' >"$tmp/uni.jsonl"
expect_exit 0 "Unicode texts" uq-entropy -s lexsim-rougel,lexsim-jaccard -o "$tmp/uni.csv" "$tmp/uni.jsonl"
check "Москва vs Париж: nothing in common" test "$(col "$tmp/uni.csv" lexsim-rougel 1)" = 1
check "Café au lait vs CAFÉ AU LAIT!: the same words" test "$(col "$tmp/uni.csv" lexsim-rougel 2)" = 0
check "Café vs caf: different words" test "$(col "$tmp/uni.csv" lexsim-jaccard 3)" = 1
awk 'BEGIN { printf "{\"id\": 1, \"samples\": [{\"text\": \""; for (i = 0; i < 3000; i++) printf "w%d ", i; print "\"}, {\"text\": \"a\"}]}" }' >"$tmp/longtext.jsonl"
expect_error 1 'longtext.jsonl:1: id .1.: samples\[0\].text has more than 2000 word tokens' "--max-text-tokens" \
    uq-entropy -s lexsim-rougel --max-text-tokens 2000 "$tmp/longtext.jsonl"
expect_exit 0 "--max-text-tokens 3000 passes" uq-entropy -s lexsim-rougel --max-text-tokens 3000 "$tmp/longtext.jsonl"

# claim scores: one row per claim, with the claim's label
printf '%s\n' '{"id": "a", "greedy": {"logprobs": [-1, -2, -0.5], "claims": [{"tokens": [0, 1], "correct": 1}, {"span": [2, 3], "correct": 0}]}}' \
    '{"id": "b", "greedy": {"logprobs": [-3], "claims": [{"tokens": [0], "correct": false}]}}' \
    '{"id": "c", "greedy": {"logprobs": [-3]}}' >"$tmp/claims.jsonl"
expect_exit 0 "claim scores" uq-entropy -q -s claim-g-nll,claim-msp,ccp -o "$tmp/cl.csv" "$tmp/claims.jsonl"
check "claim rows: header" test "$(head -1 "$tmp/cl.csv")" = "id,claim,claim-g-nll,claim-msp,ccp,correct"
check "claim rows: one per claim" test "$(wc -l <"$tmp/cl.csv")" -eq 4
check "claim 0 of a: g-nll 3" test "$(col "$tmp/cl.csv" claim-g-nll 1)" = 3
check "claim 1 of a: numbered 1, g-nll 0.5" test "$(col "$tmp/cl.csv" claim 2),$(col "$tmp/cl.csv" claim-g-nll 2)" = "1,0.5"
check "claim labels" test "$(col "$tmp/cl.csv" correct 1)$(col "$tmp/cl.csv" correct 2)$(col "$tmp/cl.csv" correct 3)" = 100
run uq-entropy -s ccp "$tmp/claims.jsonl"
check "ccp without nli labels: NaN counted per claim" grep -q 'ccp: NaN for 3 of 3 claims' "$tmp/err"
expect_error 2 'cannot be mixed' "claim and prompt scores mixed" uq-entropy -s g-nll,ccp "$tmp/claims.jsonl"
expect_error 1 'no claims' "claim scores without claims" uq-entropy -s ccp "$data/uq-closed.jsonl"

# OpenAI-style logprobs.content[] objects
printf '%s\n' '{"id": 9, "greedy": {"logprobs": {"content": [{"token": "a", "logprob": -0.25, "top_logprobs": [{"token": "a", "logprob": -0.6931471805599453}, {"token": "b", "logprob": -0.6931471805599453}]}]}}}' >"$tmp/oa.jsonl"
expect_exit 0 "OpenAI logprobs.content" uq-entropy -s g-nll,mte -o "$tmp/oa.csv" "$tmp/oa.jsonl"
check "OpenAI: g-nll" approx "$(col "$tmp/oa.csv" g-nll 1)" 0.25 0
check "OpenAI: mte = ln 2" approx "$(col "$tmp/oa.csv" mte 1)" $ln2 1e-15

# CSV long format: two clusters of equal mass again
expect_exit 0 "--csv-long" uq-entropy --csv-long -s g-nll,pe,ln-pe,se,num-sets -o "$tmp/l.csv" "$data/uq-long.csv"
check "csv-long: id" test "$(col "$tmp/l.csv" id 1)" = 7
check "csv-long: g-nll" approx "$(col "$tmp/l.csv" g-nll 1)" 2 0
check "csv-long: pe" approx "$(col "$tmp/l.csv" pe 1)" 2 1e-15
check "csv-long: se = ln 2" approx "$(col "$tmp/l.csv" se 1)" $ln2 1e-15
check "csv-long: correct passed through" test "$(col "$tmp/l.csv" correct 1)" = 1

# binary output reads back
expect_exit 0 "binary output" uq-entropy -s se -o "$tmp/c.stb" "$data/uq-closed.jsonl"
check "binary magic" sh -c "head -c 4 '$tmp/c.stb' | od -c | grep -q 'S   T   B'"

# bad input: exit 1, one line naming file:line
good='{"id": 1, "samples": [{"logprobs": [-1]}]}'
bad() { # DESC PATTERN LINE2 (every score requested, so every field is read)
    printf '%s\n%s\n' "$good" "$3" >"$tmp/bad.jsonl"
    expect_error 1 "bad.jsonl:2:.*$2" "$1" uq-entropy -s all "$tmp/bad.jsonl"
}
bad "malformed JSON" 'malformed JSON' '{"id": 2, "samples": ['
bad "truncated line" 'malformed JSON' '{"id": 2'
bad "positive log-prob" 'positive log-probability' '{"id": 2, "samples": [{"logprobs": [-1, 0.5]}]}'
bad "non-finite log-prob" 'malformed JSON' '{"id": 2, "samples": [{"logprobs": [-1e999]}]}'
bad "string log-prob" 'not a number' '{"id": 2, "samples": [{"logprobs": ["NaN"]}]}'
bad "mismatched matrix size" 'entail has 1 rows, expected 2' '{"id": 2, "samples": [{}, {}], "entail": [[1, 0]]}'
bad "ragged matrix" 'row 1 has 1 entries' '{"id": 2, "samples": [{}, {}], "entail": [[1, 0], [1]]}'
bad "matrix value above 1" 'outside \[0, 1\]' '{"id": 2, "samples": [{}, {}], "sim": [[1, 1.2], [0, 1]]}'
bad "matrix value below 0" 'outside \[0, 1\]' '{"id": 2, "samples": [{}, {}], "contra": [[0, -0.5], [0, 0]]}'
bad "empty sample list" 'samples is an empty list' '{"id": 2, "samples": []}'
bad "duplicate id" "duplicate id '1' \\(first on line 1\\)" '{"id": 1, "samples": [{"logprobs": [-2]}]}'
bad "embeddings count" 'expected 2' '{"id": 2, "samples": [{}, {}], "embeddings": [[1, 2]]}'
bad "not an object" 'one JSON object' '[1, 2, 3]'
bad "no id" 'missing "id"' '{"samples": [{}]}'
printf '' >"$tmp/empty.jsonl"
expect_error 1 'no prompts' "empty input" uq-entropy -s se "$tmp/empty.jsonl"
expect_error 1 'cannot open' "missing file" uq-entropy -s se "$tmp/nonexistent.jsonl"
printf 'id,sample,logprob\n1,0,0.5\n' >"$tmp/badlong.csv"
expect_error 1 'badlong.csv:2: logprob 0.5' "csv-long: positive log-prob" uq-entropy --csv-long -s g-nll "$tmp/badlong.csv"
printf 'id,logprob\n1,-0.5\n' >"$tmp/badlong2.csv"
expect_error 1 'needs columns id, sample and logprob' "csv-long: missing column" uq-entropy --csv-long -s g-nll "$tmp/badlong2.csv"
# huge: one line with a 400 x 400 entailment matrix (about 1 MB); a
# truncated gzip file is an error, not a short read
awk 'BEGIN { m = 400; printf "{\"id\": 1, \"samples\": ["
    for (i = 0; i < m; i++) printf "%s{\"sum_logprob\": -1, \"n_tokens\": 1}", i ? "," : ""
    printf "], \"entail\": ["
    for (i = 0; i < m; i++) { printf "%s[", i ? "," : ""
        for (j = 0; j < m; j++) printf "%s%s", j ? "," : "", (i % 2 == j % 2) ? "1" : "0"
        printf "]" }
    print "]}" }' >"$tmp/huge.jsonl"
expect_exit 0 "huge line (400 samples)" uq-entropy -s se,num-sets,eigv -o "$tmp/huge.csv" "$tmp/huge.jsonl"
check "huge line: two sets of equal mass" approx "$(col "$tmp/huge.csv" se 1)" $ln2 1e-12
check "huge line: eigv = 2 exactly" test "$(col "$tmp/huge.csv" eigv 1)" = 2
# line-length limit: checked before the line is held, errors in line order
awk 'BEGIN { s = "{\"id\": 1, \"prompt\": \""; while (length(s) < 1022) s = s "a"; print s "\"}" }' >"$tmp/k1.jsonl"
check "a 1024-byte line is 1024 bytes" test "$(head -1 "$tmp/k1.jsonl" | wc -c)" -eq 1025
expect_exit 0 "--max-line 1K: a line of exactly 1K passes" uq-entropy -s g-nll --max-line 1K "$tmp/k1.jsonl"
sed 's/"}$/a"}/' "$tmp/k1.jsonl" >"$tmp/k2.jsonl"
expect_error 1 'k2.jsonl:1: line longer than 1024 bytes' "--max-line 1K: one byte more is refused" \
    uq-entropy -s g-nll --max-line 1K "$tmp/k2.jsonl"
expect_error 2 'max-line must be' "--max-line below 1K" uq-entropy -s g-nll --max-line 100 "$tmp/k1.jsonl"
expect_error 2 'max-line must be' "--max-line not a size" uq-entropy -s g-nll --max-line 1X "$tmp/k1.jsonl"
{ printf '{"id": 1, "greedy": {"logprobs": [-1]}}\n{"id": 2, "greedy": {"logprobs": [0.5]}}\n'
  awk 'BEGIN { s = "{\"id\": 3, \"prompt\": \""; for (i = 0; i < 15; i++) s = s s; print s }'; } >"$tmp/order.jsonl"
for j in 1 2; do
    expect_error 1 'order.jsonl:2:.*positive log-probability' "-j $j: the bad line 2 is reported, not the long line 3" \
        uq-entropy -j $j -s g-nll --max-line 64K "$tmp/order.jsonl"
done
awk 'BEGIN { for (i = 1; i <= 3000; i++) printf "{\"id\": %d, \"greedy\": {\"logprobs\": [%s]}}\n", i, (i == 700 || i == 2500) ? "1" : "-1" }' >"$tmp/many.jsonl"
for j in 1 2; do
    expect_error 1 'many.jsonl:700:' "-j $j: the first of two bad lines is reported" uq-entropy -j $j -s g-nll "$tmp/many.jsonl"
done
# only what the scores read is converted: a bad matrix does not stop g-nll
printf '%s\n' '{"id": 1, "greedy": {"logprobs": [-2]}, "samples": [{}, {}], "sim": [[1, 7], [0, 1]]}' >"$tmp/lazy.jsonl"
expect_exit 0 "a field no requested score reads is not converted" uq-entropy -s g-nll "$tmp/lazy.jsonl"
expect_error 1 'lazy.jsonl:1:[0-9]+: sim\[0\]\[1\] = 7 is outside' "... but is read (with its column) when a score needs it" \
    uq-entropy -s eigv:sim "$tmp/lazy.jsonl"
printf '%s\n' '{"id": 1, "greedy": {"logprobs": [-2]}, "prompt": {"x": [1, 2}}' >"$tmp/lazy2.jsonl"
expect_error 1 "lazy2.jsonl:1:[0-9]+: malformed JSON" "JSON syntax is checked everywhere" uq-entropy -s g-nll "$tmp/lazy2.jsonl"
# fields that are not read are still parsed by simdjson (stoch-uq-input(5),
# LIMITS): a number beyond a double or a lone surrogate there is an error
# at its column; a control character inside any string fails the whole
# line before its fields are read, so it is reported although a positive
# log-prob comes first
printf '%s\n' '{"id": 1, "greedy": {"logprobs": [-2]}, "x": 1e400}' >"$tmp/lazy3.jsonl"
expect_error 1 "lazy3.jsonl:1:46: malformed JSON: '1e400' is not a JSON number within the range of a double" \
    "a number beyond a double is refused in a field that is not read" uq-entropy -s g-nll "$tmp/lazy3.jsonl"
printf '%s\n' '{"id": 1, "greedy": {"logprobs": [-2]}, "x": ["\ud800"]}' >"$tmp/lazy4.jsonl"
expect_error 1 'lazy4.jsonl:1:47: malformed JSON: bad escape in a string' \
    "a lone surrogate is refused in a string that is not read" uq-entropy -s g-nll "$tmp/lazy4.jsonl"
printf '{"id": 1, "greedy": {"logprobs": [2]}, "x": "a\tb"}\n' >"$tmp/lazy5.jsonl"
expect_error 1 'lazy5.jsonl:1:47: malformed JSON: control character 0x09 in a string' \
    "a control character in any string is reported before the fields are read" uq-entropy -s g-nll "$tmp/lazy5.jsonl"
# numbers are converted exactly whatever their length: -0.25 written with
# 5000 more zeros and a 1 past them rounds to -0.25, and g-nll is 0.25 + 0.5
awk 'BEGIN { z = sprintf("%5000s", ""); gsub(/ /, "0", z); printf "{\"id\": 1, \"greedy\": {\"logprobs\": [-0.25%s1, -0.5]}}\n", z }' >"$tmp/long.jsonl"
run uq-entropy -s g-nll "$tmp/long.jsonl"
check "a 5007-character number is read exactly (g-nll $(tail -1 "$tmp/out"))" [ "$rc" -eq 0 ] && [ "$(tail -1 "$tmp/out")" = "1,0.75" ]
# a line that parses but fails to score: an error naming it, and (under
# ASan, as CI runs this) nothing leaked -- the parsed prompt used to be
printf '%s\n' '{"id": 1, "samples": [{}, {}], "embeddings": [[1e200, 1], [1, 1e200]]}' >"$tmp/noscore.jsonl"
for j in 1 2; do
    expect_error 1 'noscore.jsonl:1: id .1.: symmetric eigen: non-finite entry' "-j $j: a scoring failure names the line" \
        uq-entropy -j $j -s eigenscore "$tmp/noscore.jsonl"
done
head -c 3000 "$tmp/t.jsonl.gz" >"$tmp/trunc.jsonl.gz"
expect_error 1 'trunc.jsonl.gz:[0-9]+: truncated or corrupt gzip input' "truncated gzip input" uq-entropy -s se "$tmp/trunc.jsonl.gz"
expect_exit 1 "failed run leaves no output file" uq-entropy -s se -o "$tmp/never.csv" "$tmp/bad.jsonl"
check "no output file" test ! -e "$tmp/never.csv"
done_testing

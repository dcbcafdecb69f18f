#!/bin/sh
# Categorical symbols and states as labels (issue 13): a DNA sequence as
# letters fits and decodes, the model file records the label order, the
# outputs print labels and the user's string ids, and a letter the model
# does not know is an error at file:line:col.
. "$top_srcdir/tests/cli/tap.sh"

# Two sequences of letters (string ids) and the same data as numbers
# 0..3 in the order A C G T (byte order), ids 1 and 2.
awk 'BEGIN { srand(11); split("A C G T", L, " "); print "seq,base"; for (s = 1; s <= 2; s++) { st = 0
     for (t = 0; t < 300; t++) { if (rand() < 0.03) st = 1 - st; u = rand()
         v = st == 0 ? (u < 0.4 ? 1 : u < 0.5 ? 2 : u < 0.6 ? 3 : 4) : (u < 0.1 ? 1 : u < 0.5 ? 2 : u < 0.9 ? 3 : 4)
         print "chr" s "," L[v] } } }' >"$tmp/dna.csv"
awk -F, 'NR == 1 { print; next } { n = index("ACGT", $2) - 1; print substr($1, 4) "," n }' "$tmp/dna.csv" >"$tmp/num.csv"

expect_exit 0 "fit a DNA sequence of letters" hmm-fit -K 2 -e categorical -o "$tmp/dna.yaml" "$tmp/dna.csv"
check "the model records the labels in byte order" grep -q '^      labels: \[A, C, G, T\]$' "$tmp/dna.yaml"
hmm-fit -K 2 -e categorical -q -o "$tmp/num.yaml" "$tmp/num.csv"
grep -v -e '^#' -e ' labels:' "$tmp/dna.yaml" >"$tmp/a.yaml"
grep -v '^#' "$tmp/num.yaml" >"$tmp/b.yaml"
check "the same model as the symbols numbered 0..3, bit for bit" cmp -s "$tmp/a.yaml" "$tmp/b.yaml"
a=$(grep 'logl:' "$tmp/dna.yaml"); b=$(grep 'logl:' "$tmp/num.yaml")
check "the same log-likelihood ($a)" test "$a" = "$b"

expect_exit 0 "Viterbi on letters" hmm-decode -m "$tmp/dna.yaml" --with-data "$tmp/dna.csv"
check "output keeps the string ids and the letters" \
    sh -c "sed -n 2p '$tmp/out' | grep -Eq '^chr1,0,[01],[ACGT]\$'"
cut -d, -f1,4 "$tmp/out" | sed 1d >"$tmp/got"
sed 1d "$tmp/dna.csv" >"$tmp/want"
check "the letters ride along unchanged" cmp -s "$tmp/got" "$tmp/want"
hmm-decode -m "$tmp/num.yaml" "$tmp/num.csv" | cut -d, -f3 >"$tmp/sn"
cut -d, -f3 "$tmp/out" | sed 1s/.*/state/ >"$tmp/sl"
check "the same states as the numbered data" cmp -s "$tmp/sn" "$tmp/sl"
expect_exit 0 "--score per string id" hmm-decode -m "$tmp/dna.yaml" --score "$tmp/dna.csv"
check "two rows, chr1 and chr2" test "$(cut -d, -f1 "$tmp/out" | tr '\n' ' ')" = "seq chr1 chr2 "

# state labels: named in the model file, printed by every output
sed 's/^states: 2$/states: 2\nstate_labels: [high, low]/' "$tmp/dna.yaml" >"$tmp/named.yaml"
expect_exit 0 "decode with state labels" hmm-decode -m "$tmp/named.yaml" "$tmp/dna.csv"
check "states print as labels" sh -c "sed 1d '$tmp/out' | cut -d, -f3 | sort -u | tr '\n' ' ' | grep -Eq '^(high )?(low )?\$'"
expect_exit 0 "posterior with state labels" hmm-decode -m "$tmp/named.yaml" --posterior "$tmp/dna.csv"
check "posterior states print as labels" sh -c "sed -n 2p '$tmp/out' | grep -Eq '^chr1,0,(high|low),'"
expect_exit 0 "sampled paths with state labels" hmm-decode -m "$tmp/named.yaml" --sample 2 "$tmp/dna.csv"
check "sampled states print as labels" sh -c "sed -n 2p '$tmp/out' | grep -Eq '^chr1,0,0,(high|low)\$'"
expect_exit 0 "hmm-sample prints labels" hmm-sample -m "$tmp/named.yaml" -n 2 -T 20 --seed 3
check "states and letters" sh -c "sed 1d '$tmp/out' | grep -Evq '^[01],[0-9]+,(high|low),[ACGT]\$' && exit 1 || exit 0"
expect_exit 0 "binary stream of labels" hmm-sample -m "$tmp/named.yaml" -n 2 -T 20 --seed 3 -o "$tmp/s.stb"
hmm-sample -m "$tmp/named.yaml" -n 2 -T 20 --seed 3 >"$tmp/s.csv"
check "binary and CSV hold the same labels" sh -c "stoch-cat '$tmp/s.stb' | cmp -s - '$tmp/s.csv'"
expect_exit 0 "decode the sampled binary stream" hmm-decode -m "$tmp/named.yaml" --score "$tmp/s.stb"
expect_exit 0 "refit from the named model" hmm-fit --init "$tmp/named.yaml" -o "$tmp/refit.yaml" "$tmp/dna.csv"
check "the refit keeps the state and symbol labels" \
    sh -c "grep -q '^state_labels: \[high, low\]' '$tmp/refit.yaml' && grep -q 'labels: \[A, C, G, T\]' '$tmp/refit.yaml'"

# letters the model does not know, and labels where numbers are needed
printf 'seq,base\nx,A\nx,C\nx,N\nx,G\n' >"$tmp/n.csv"
expect_error 1 "n.csv:4:2: column 'base': symbol 'N' is not one of the model's 4 labels" \
    "a letter outside the model: file:line:col" hmm-decode -m "$tmp/dna.yaml" "$tmp/n.csv"
expect_error 1 "n.csv:4:2: column 'base': symbol 'N'" "the same for a refit" hmm-fit --init "$tmp/dna.yaml" "$tmp/n.csv"
awk -F, 'NR == 1 { print; next } { print substr($1, 4) "," $2 }' "$tmp/dna.csv" >"$tmp/dnan.csv"
expect_error 1 "dnan.csv:2:2: non-numeric value" "letters for a Gaussian: an error at the cell" hmm-fit -K 2 -c base "$tmp/dnan.csv"
printf 'model: hmm\nversion: 1\nstates: 1\nstate_labels: [a, a]\nstart: [1]\ntransitions:\n  - [1]\nemission:\n  family: poisson\n  rates:\n    - [1]\n' \
    >"$tmp/bad.yaml"
expect_error 1 "bad.yaml:4:.*labels must be a list of 1 strings" "state labels of the wrong length" hmm-decode -m "$tmp/bad.yaml" "$tmp/num.csv"

done_testing

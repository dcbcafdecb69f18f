#!/bin/sh
# Large inputs for a fuzz harness, which mutation rarely reaches: long
# lines, long expressions, deep nesting, many columns, big matrices,
# compressed data that expands.  Usage: gen-seeds.sh NAME OUTDIR [BUILDDIR]
# (NAME: csv bin yaml hmm_model ssm_model mjp_model pf_model expr uq_jsonl).
# Deterministic; files already there are kept.
set -eu
name=$1 out=$2 builddir=${3:-.}
mkdir -p "$out"
gen() { # gen FILE: write stdin to OUTDIR/FILE unless it exists
    if [ -f "$out/$1" ]; then cat >/dev/null; else cat >"$out/$1.tmp" && mv "$out/$1.tmp" "$out/$1"; fi
}
# repeat N TEXT: TEXT N times, no separator
repeat() { awk -v n="$1" -v s="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s", s }'; }

csv_inputs() {
    # a cell beyond the 1 MiB record limit; one just under it
    { echo "seq,x"; printf '1,'; repeat 1100000 7; echo; } | gen long-line.csv
    { echo "seq,name"; printf '1,"'; repeat 200000 'ab,"" '; echo '"'; echo '2,z'; } | gen long-quoted.csv
    # a quoted cell over many lines
    { echo "id,text"; printf 'a,"'; repeat 20000 'line\n'; echo '"'; } | gen many-lines-cell.csv
    # 20,000 columns
    { awk 'BEGIN { for (j = 1; j <= 20000; j++) printf "%sc%d", (j > 1 ? "," : ""), j; print "";
                   for (j = 1; j <= 20000; j++) printf "%s%d", (j > 1 ? "," : ""), j; print "" }'; } | gen wide.csv
    # 100,000 rows of ids, numbers, dates and strings; ids that turn into text late
    awk 'BEGIN { print "seq,t,x,label"; for (i = 1; i <= 100000; i++)
                 printf "%d,2020-01-%02d,%.17g,%s\n", int(i / 7), i % 28 + 1, sin(i) * 1e300 ^ (i % 3 - 1), i % 5 ? "a" : "b" ;
                 print "A-17,2020-01-01,1,c" }' | gen many-rows.csv
    # gzip: a compressed file, and one that expands 1000-fold
    awk 'BEGIN { print "seq,x"; for (i = 0; i < 50000; i++) printf "%d,%d\n", i / 100, i % 13 }' | gzip -9 | gen rows.csv.gz
    { echo "x"; repeat 2000000 '0\n'; } | gzip -9 | gen expands.csv.gz
    # huge and tiny numbers, long integers
    awk 'BEGIN { print "x,y"; for (i = 0; i < 2000; i++) printf "1%s,9223372036854775%03d\n", substr("0000000000000000000000000000000000000000", 1, i % 40), i % 1000; print "1e400,1" }' | gen numbers.csv
}

bin_inputs() {
    cat=$builddir/tools/stoch-cat
    [ -x "$cat" ] || return 0
    tmp=$(mktemp -d)
    awk 'BEGIN { print "seq,t,x,label"; for (i = 1; i <= 100000; i++)
                 printf "%d,2020-01-%02d,%.17g,s%d\n", int(i / 7), i % 28 + 1, sin(i), i % 1000 }' >"$tmp/a.csv"
    "$cat" --format bin -o "$tmp/a.stb" "$tmp/a.csv" && gen many-rows.stb <"$tmp/a.stb"
    "$cat" --format bin --compress -o "$tmp/z.stb" "$tmp/a.csv" && gen many-rows-zlib.stb <"$tmp/z.stb"
    awk 'BEGIN { for (j = 1; j <= 5000; j++) printf "%sc%d", (j > 1 ? "," : ""), j; print "";
                 for (j = 1; j <= 5000; j++) printf "%s%d", (j > 1 ? "," : ""), j; print "" }' >"$tmp/w.csv"
    "$cat" --format bin -o "$tmp/w.stb" "$tmp/w.csv" && gen wide.stb <"$tmp/w.stb"
    { echo "id"; awk 'BEGIN { for (i = 0; i < 3; i++) { for (k = 0; k < 100000; k++) printf "%c", 97 + (k + i) % 26; print "" } }'; } >"$tmp/s.csv"
    "$cat" --format bin --dtype id=str -o "$tmp/s.stb" "$tmp/s.csv" && gen long-strings.stb <"$tmp/s.stb"
    rm -rf "$tmp"
}

yaml_deep() { # yaml_deep DEPTH: a flow sequence nested DEPTH deep
    repeat "$1" '['; printf 1; repeat "$1" ']'; echo
}

yaml_inputs() {
    { echo "model: hmm"; printf "x: "; yaml_deep 300; } | gen deep-flow.yaml
    { echo "model: hmm"; awk 'BEGIN { for (i = 0; i < 300; i++) { printf "%*sk%d:\n", 2 * i, "", i } printf "%*s1\n", 600, "" }'; } | gen deep-block.yaml
    { echo "model: hmm"; printf "big:\n"; awk 'BEGIN { for (i = 0; i < 3000; i++) { printf "  - ["; for (j = 0; j < 100; j++) printf "%s%d", j ? ", " : "", (i * j) % 7; print "]" } }'; } | gen big-matrix.yaml
    { printf 'model: hmm\n'; repeat 100000 k; echo ': 1'; } | gen long-key.yaml
    { printf 'model: hmm\nx: "'; repeat 300000 'ab'; echo '"'; } | gen long-string.yaml
    { printf 'model: hmm\nx: '; repeat 200000 '1,'; echo 1; } | gen long-plain.yaml
    awk 'BEGIN { print "model: hmm"; for (i = 0; i < 50000; i++) printf "k%d: %d\n", i, i }' | gen many-keys.yaml
}

hmm_model_inputs() {
    yaml_inputs
    K=300
    awk -v K=$K 'BEGIN { print "model: hmm\nversion: 1\nstates: " K "\ncolumns: x"; printf "start: [";
        for (i = 0; i < K; i++) printf "%s%.17g", i ? ", " : "", 1 / K; print "]"; print "transitions:";
        for (i = 0; i < K; i++) { printf "  - ["; for (j = 0; j < K; j++) printf "%s%.17g", j ? ", " : "", 1 / K; print "]" }
        print "emission:\n  family: gaussian\n  covariance: diagonal"; printf "  means: ["; for (i = 0; i < K; i++) printf "%s[%d]", i ? ", " : "", i; print "]";
        printf "  variances: ["; for (i = 0; i < K; i++) printf "%s[1]", i ? ", " : ""; print "]" }' | gen many-states.yaml
}

ssm_model_inputs() {
    yaml_inputs
    m=200
    awk -v m=$m 'BEGIN { print "model: ssm\nversion: 1\nmatrices:";
        for (k = 0; k < 2; k++) { print (k ? "  Q:" : "  T:"); for (i = 0; i < m; i++) { printf "    - ["; for (j = 0; j < m; j++) printf "%s%s", j ? ", " : "", i == j ? (k ? "1" : "0.5") : "0"; print "]" } }
        printf "  Z: [["; for (j = 0; j < m; j++) printf "%s1", j ? ", " : ""; print "]]"; print "  H: [[1]]" }' | gen big-matrix-model.yaml
}

mjp_model_inputs() {
    yaml_inputs
    { printf 'model: mjp\nversion: 1\nstates: 2\nparameters: {a: 1}\nrates:\n  - {from: 0, to: 1, rate: "'; repeat 20000 'a+'; echo 'a"}'; echo "  - {from: 1, to: 0, rate: a}"; } | gen long-rate.yaml
}

pf_model_inputs() {
    yaml_inputs
    { printf 'model: pf\nversion: 1\nstate: [x]\nobservation: [y]\nparameters: {a: 0.5}\ninitial:\n  x: {normal: [0, 1]}\ntransition:\n  x: {normal: ["'; repeat 20000 'a*x+'; echo '0", 1]}'; echo 'observe:'; echo '  y: {normal: [x, 1]}'; } | gen long-expression.yaml
}

expr_inputs() {
    { printf '\001'; repeat 30000 'x[0]+'; echo 'y'; } | gen long-chain-live
    { printf '\000'; repeat 30000 'phi*'; echo 't'; } | gen long-product
    { printf '\000'; repeat 5000 '('; printf 1; repeat 5000 ')'; } | gen deep-parens
    { printf '\000'; repeat 3000 'exp('; printf 1; repeat 3000 ')'; } | gen deep-calls
    { printf '\000'; repeat 3000 '-'; printf 1; } | gen many-unary
    { printf '\000'; repeat 3000 '1?'; printf 2; repeat 3000 ':3'; } | gen deep-select
    { printf '\000'; repeat 3000 '2^'; printf 1; } | gen power-tower
    { printf '\000'; repeat 200000 9; } | gen long-number
    { printf '\000'; repeat 200000 v; } | gen long-name
}

uq_jsonl_inputs() {
    { printf '{"id": 1, "greedy": {"text": "'; repeat 1100000 'a'; echo '"}}'; } | gen long-line.jsonl
    { printf '{"id": 1, "samples": ['; awk 'BEGIN { for (i = 0; i < 200; i++) printf "%s{\"text\": \"s%d\", \"logprobs\": [-0.5, -1]}", i ? ", " : "", i % 7 }'; printf '], "entail": '
      awk 'BEGIN { printf "["; for (i = 0; i < 200; i++) { printf "%s[", i ? "," : ""; for (j = 0; j < 200; j++) printf "%s%.3f", j ? "," : "", (i % 7 == j % 7) ? 0.9 : 0.1; printf "]" } print "]}" }'; } | gen many-samples.jsonl
    { printf '{"id": 1, "samples": [{"text": "'; repeat 20000 'the cat sat '; printf '"}, {"text": "'; repeat 20000 'a dog ran '; echo '"}]}'; } | gen long-texts.jsonl
    { printf '{"id": 1, "x": '; repeat 10000 '['; repeat 10000 ']'; echo '}'; } | gen deep-nesting.jsonl
    awk 'BEGIN { for (i = 0; i < 20000; i++) printf "{\"id\": %d, \"greedy\": {\"logprobs\": [-0.1, -0.2]}}\n", i }' | gen many-lines.jsonl
    awk 'BEGIN { for (i = 0; i < 20000; i++) printf "{\"id\": %d, \"greedy\": {\"logprobs\": [-0.1]}}\n", i; print "{\"id\": 5}" }' | gzip -9 | gen duplicate-late.jsonl.gz
}

case $name in
csv) csv_inputs ;;
bin) bin_inputs ;;
yaml) yaml_inputs ;;
hmm_model) hmm_model_inputs ;;
ssm_model) ssm_model_inputs ;;
mjp_model) mjp_model_inputs ;;
pf_model) pf_model_inputs ;;
expr) expr_inputs ;;
uq_jsonl) uq_jsonl_inputs ;;
*) echo "gen-seeds.sh: no generator for '$name'" >&2; exit 2 ;;
esac

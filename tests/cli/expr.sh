#!/bin/sh
# The one expression language (stoch-model(5)) through the programs that
# read it: a 60 KB expression under a 1 MB stack, decimal numbers only,
# errors that keep their reason and position, duplicates refused.
. "$top_srcdir/tests/cli/tap.sh"

# A 60 KB left-associative chain: 12,000 terms "0*x + " then the real mean,
# and a rate formula "a - a + a - ... + a" of the same length.
awk 'BEGIN { printf "model: pf\nversion: 1\nparameters: {phi: 0.9}\n";
             printf "initial: {dist: normal, mean: 0, sd: 1}\n";
             printf "transition: {dist: normal, mean: \"";
             for (i = 0; i < 12000; i++) printf "0*x + "; printf "phi * x\", sd: 0.5}\n";
             printf "observation: {dist: normal, mean: x, sd: 1}\n" }' >"$tmp/long.yaml"
cat >"$tmp/short.yaml" <<'EOF2'
model: pf
version: 1
parameters: {phi: 0.9}
initial: {dist: normal, mean: 0, sd: 1}
transition: {dist: normal, mean: "phi * x", sd: 0.5}
observation: {dist: normal, mean: x, sd: 1}
EOF2
check "the long model file is over 60 KB" [ "$(wc -c <"$tmp/long.yaml")" -gt 60000 ]
printf 't,y\n1,0.5\n2,0.1\n3,-0.4\n4,0.9\n' >"$tmp/y.csv"
(ulimit -s 1024 && pf-smooth -m "$tmp/long.yaml" -N 300 --loglik "$tmp/y.csv" >"$tmp/long.out" 2>"$tmp/long.err")
check "pf-smooth: 60 KB expression under a 1 MB stack" [ $? -eq 0 ]
pf-smooth -m "$tmp/short.yaml" -N 300 --loglik "$tmp/y.csv" >"$tmp/short.out"
check "the long and the short model give the same log-likelihood" cmp -s "$tmp/long.out" "$tmp/short.out"

awk 'BEGIN { printf "model: mjp\nversion: 1\nstates: 2\nparameters: {a: 0.7, b: 1.3}\npositive: [a, b]\n";
             printf "rates:\n  0-1: \""; for (i = 0; i < 6000; i++) printf "a - a + "; printf "a\"\n  1-0: b\n" }' >"$tmp/long-mjp.yaml"
printf 'model: mjp\nversion: 1\nstates: 2\nparameters: {a: 0.7, b: 1.3}\npositive: [a, b]\nrates: {0-1: a, 1-0: b}\n' >"$tmp/short-mjp.yaml"
check "the long rate formula is over 45 KB" [ "$(wc -c <"$tmp/long-mjp.yaml")" -gt 45000 ]
mjp-sample -m "$tmp/short-mjp.yaml" -n 20 --until 5 --seed 3 >"$tmp/paths.csv"
(ulimit -s 1024 && mjp-infer --exact -m "$tmp/long-mjp.yaml" -o "$tmp/long-fit.yaml" "$tmp/paths.csv" 2>"$tmp/mjp.err")
check "mjp-infer: 48 KB rate formula (value and gradient) under a 1 MB stack" [ $? -eq 0 ]
mjp-infer --exact -m "$tmp/short-mjp.yaml" -o "$tmp/short-fit.yaml" "$tmp/paths.csv"
a_long=$(awk '/^parameters:/ { p = 1; next } p && /^  a:/ { print $2; exit }' "$tmp/long-fit.yaml")
a_short=$(awk '/^parameters:/ { p = 1; next } p && /^  a:/ { print $2; exit }' "$tmp/short-fit.yaml")
check "the long and the short formula give the same estimate ($a_long)" [ -n "$a_long" ] && [ "$a_long" = "$a_short" ]

# Numbers are decimal only; the error names file, line and column.
sed 's/mean: "phi \* x"/mean: "phi * x + 0x10"/' "$tmp/short.yaml" >"$tmp/hex.yaml"
expect_error 1 'hex\.yaml:5:[0-9]+: expression .*hexadecimal numbers are not allowed' "pf model: hexadecimal refused" \
    pf-smooth -m "$tmp/hex.yaml" "$tmp/y.csv"
check "the column points at the number" grep -q 'hex\.yaml:5:45:' "$tmp/err"
printf 'model: mjp\nversion: 1\nstates: 2\nparameters: {a: 1}\nrates: {0-1: a + 0x1, 1-0: a}\n' >"$tmp/hexm.yaml"
expect_error 1 'hexm\.yaml:5:18: rate formula .*hexadecimal' "rate formula: hexadecimal refused" \
    mjp-sample -m "$tmp/hexm.yaml" -n 1 --until 1

# A long expression with an error at its end: a short excerpt, the reason kept.
sed 's/phi \* x\\", sd/phi * x + nosuch(x)", sd/; s/phi \* x", sd/phi * x + nosuch(x)", sd/' "$tmp/long.yaml" >"$tmp/longbad.yaml"
expect_error 1 "unknown function 'nosuch'" "long expression: the reason survives" pf-smooth -m "$tmp/longbad.yaml" "$tmp/y.csv"
check "long expression: the message is short" [ "$(wc -c <"$tmp/err")" -lt 300 ]
# 34 characters before the quoted text, 12,000 x "0*x + ", then "phi * x + "
check "long expression: the column of the error" grep -q 'longbad\.yaml:5:72045:' "$tmp/err"

# Duplicates.
printf 'model: mjp\nversion: 1\nlabels: [a, b, a]\nQ: [[-1, 1, 0], [0, -1, 1], [0, 0, 0]]\n' >"$tmp/dup.yaml"
expect_error 1 "dup\.yaml:3:[0-9]+: label 'a' given twice" "mjp: duplicate labels refused" mjp-sample -m "$tmp/dup.yaml" -n 1 --until 1
printf 'model: mjp\nversion: 1\nstates: 2\nparameters: {a: 1}\npositive: [a, a]\nrates: {0-1: a, 1-0: a}\n' >"$tmp/dupp.yaml"
expect_error 1 "dupp\.yaml:5:[0-9]+: parameter 'a' is listed twice in positive" "mjp: duplicate positive entry refused" \
    mjp-sample -m "$tmp/dupp.yaml" -n 1 --until 1

done_testing

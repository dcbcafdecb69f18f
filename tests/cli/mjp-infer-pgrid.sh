#!/bin/sh
# mjp-infer --pmatrix-grid: P(t) = exp(Q t) of the fitted model on a grid
# of times, against the two-state closed form and against --pmatrix.
. "$top_srcdir/tests/cli/tap.sh"

# The exact paths of mjp-exact.csv give q01 = 4/13, q10 = 4/9 in closed form;
# the longest follow-up is 6 (subject 2, times 0 to 6).
ex="$data/mjp-exact.csv"
expect_exit 0 "--pmatrix-grid" mjp-infer --exact -q --pmatrix 0.5 --pmatrix-grid "$tmp/g.csv" -o "$tmp/m.yaml" "$ex"
check "header from,t,p0,p1,stay" test "$(head -1 "$tmp/g.csv")" = "from,t,p0,p1,stay"
check "101 times from 0 to 6 for each starting state" \
    test "$(awk -F, 'NR > 1 { n[$1]++; if (n[$1] == 1) f[$1] = $2; l[$1] = $2 } END { print n[0], f[0], l[0], n[1], f[1], l[1] }' "$tmp/g.csv")" = "101 0 6 101 0 6"
check "P(0) is the identity" test "$(awk -F, 'NR > 1 && $2 == 0 { printf "%s%s;", $3, $4 }' "$tmp/g.csv")" = "10;01;"
# closed form: P_00(t) = b/(a+b) + a/(a+b) e^{-(a+b)t}, P_11 likewise; stay e^{-q t}
worst=$(awk -F, 'NR > 1 { a = 4 / 13; b = 4 / 9; x = exp(-(a + b) * $2)
        if ($1 == 0) { p = b / (a + b) + a / (a + b) * x; s = exp(-a * $2); q = $3 }
        else { p = a / (a + b) + b / (a + b) * x; s = exp(-b * $2); q = $4 }
        d = q - p; if (d < 0) d = -d; if (d > w) w = d
        d = $5 - s; if (d < 0) d = -d; if (d > w) w = d
        d = $3 + $4 - 1; if (d < 0) d = -d; if (d > w) w = d } END { printf "%.3g", w }' "$tmp/g.csv")
diag "largest error against the closed form: $worst"
check "P(t) and stay match the closed form to 1e-12" approx "$worst" 0 1e-12

expect_exit 0 "--grid 0:2:5" mjp-infer --exact -q --pmatrix-grid "$tmp/g5.csv" --grid 0:2:5 -o /dev/null "$ex"
check "times 0, 0.5, 1, 1.5, 2" test "$(awk -F, 'NR > 1 && $1 == 0 { printf "%s ", $2 }' "$tmp/g5.csv")" = "0 0.5 1 1.5 2 "
want=$(awk '$1 == "-" && $2 == "[" { next } /- \[/ { gsub(/[][,-]/, " "); printf "%s ", $0 }' "$tmp/m.yaml" | awk '{ print $(NF - 3), $(NF - 2), $(NF - 1), $NF }')
got=$(awk -F, '$2 == 0.5 { printf "%s %s ", $3, $4 }' "$tmp/g5.csv" | sed 's/ $//')
check "P(0.5) on the grid = --pmatrix 0.5, digit for digit ($got)" test "$got" = "$want"

awk -F, -v OFS=, 'NR > 2 { $3 = $3 + 1 } { print }' "$ex" >"$tmp/ex1.csv"
expect_exit 0 "--base 1, binary grid" mjp-infer --exact -q --base 1 --pmatrix-grid "$tmp/g1.stb" --grid 0:6:101 -o /dev/null "$tmp/ex1.csv"
stoch-cat "$tmp/g1.stb" >"$tmp/g1.csv"
check "--base 1: columns p1, p2 and starting states 1, 2" \
    test "$(head -1 "$tmp/g1.csv"),$(cut -d, -f1 "$tmp/g1.csv" | sort -u | tr '\n' ' ')" = "from,t,p1,p2,stay,1 2 from "
cut -d, -f2- "$tmp/g.csv" | sed 1d >"$tmp/rest"
check "--base 1 gives the same probabilities" sh -c "cut -d, -f2- '$tmp/g1.csv' | sed 1d | cmp -s - '$tmp/rest'"

expect_error 2 'applies to --pmatrix-grid' "--grid alone" mjp-infer --exact --grid 0:1:3 "$ex"
expect_error 2 'must be T0:T1:N' "--grid 1:0:3" mjp-infer --exact --pmatrix-grid "$tmp/x.csv" --grid 1:0:3 "$ex"
expect_error 2 'must be T0:T1:N' "--grid 0:1" mjp-infer --exact --pmatrix-grid "$tmp/x.csv" --grid 0:1 "$ex"
printf 'seq,t,state\n1,0,0\n1,0,0\n2,0,1\n2,0,1\n' >"$tmp/flat.csv"
expect_error 1 'no subject is followed beyond time 0' "data with no follow-up" \
    mjp-infer --panel -K 2 -q --no-se --pmatrix-grid "$tmp/x.csv" "$tmp/flat.csv"
check "no grid file left behind" test ! -e "$tmp/x.csv"
done_testing

#!/bin/sh
# uq-eval --curves: the ROC, precision-recall and rejection points of every
# score; the areas under them, computed here by awk from the points alone,
# are the AUROC, AUPRC and AUARC uq-eval prints, to 1e-12.
. "$top_srcdir/tests/cli/tap.sh"

uq-entropy -q -s msp,g-nll,pe,ln-pe,se,num-sets,eigv "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/s.csv"
expect_exit 0 "--curves" uq-eval -l correct --curves "$tmp/c.csv" -o "$tmp/e.csv" "$tmp/s.csv"
check "header: threshold, fpr, tpr, precision, rejected, accuracy per score, then the oracle" \
    test "$(head -1 "$tmp/c.csv" | tr , '\n' | sed -n '1,6p;43,44p' | tr '\n' ' ')" = \
    "threshold.msp fpr.msp tpr.msp precision.msp rejected.msp accuracy.msp rejected.oracle accuracy.oracle "

# areas AXIS: per score, the area from the curve points and the metric uq-eval printed
areas() {
    awk -F, -v e="$tmp/e.csv" 'BEGIN { while ((getline l < e) > 0) { split(l, f, ","); m[f[1] "," f[2]] = f[4] } }
        NR == 1 { for (i = 1; i <= NF; i++) { split($i, p, "."); col[p[1] "," p[2]] = i; if (p[1] == "accuracy") s[++ns] = p[2] } next }
        { for (k = 1; k <= ns; k++) { x = s[k]
            if (!(x in seen)) { seen[x] = 1 } else if ($col["fpr," x] != "NaN") {
                roc[x] += ($col["fpr," x] - pf[x]) * ($col["tpr," x] + pt[x]) / 2
                ap[x] += ($col["tpr," x] - pt[x]) * $col["precision," x] }
            if ($col["fpr," x] != "NaN") { pf[x] = $col["fpr," x]; pt[x] = $col["tpr," x] }
            if ($col["accuracy," x] != "NaN") { acc[x] += $col["accuracy," x]; nacc[x]++ } } }
        END { for (k = 1; k <= ns; k++) { x = s[k]; if (x == "oracle") continue
            printf "%s %.17g %s %.17g %s %.17g %s\n", x, roc[x], m[x ",auroc"], ap[x], m[x ",auprc"], acc[x] / nacc[x], m[x ",auarc"] } }' "$1"
}
areas "$tmp/c.csv" >"$tmp/areas"
check "seven scores" test "$(wc -l <"$tmp/areas")" -eq 7
worst=$(awk '{ for (i = 2; i <= 6; i += 2) { d = $i - $(i + 1); if (d < 0) d = -d; if (d > w) w = d } } END { printf "%.3g", w }' "$tmp/areas")
diag "largest |area from the points - uq-eval's metric|: $worst"
check "AUROC, AUPRC and AUARC from the points = uq-eval's to 1e-12" approx "$worst" 0 1e-12
# num-sets takes few values: ties make diagonal ROC steps, still the same area
check "ties: num-sets has fewer ROC points than rows" \
    test "$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "fpr.num-sets") c = i; next } $c != "NaN" { n++ } END { print n }' "$tmp/c.csv")" -lt 20
# msp is a confidence: its thresholds fall from -Inf upwards
check "confidence thresholds start at -Inf" test "$(sed -n 2p "$tmp/c.csv" | cut -d, -f1)" = "-Inf"
check "rejection starts at the accuracy" approx "$(sed -n 2p "$tmp/c.csv" | cut -d, -f6)" \
    "$(awk -F, 'NR > 1 { s += $NF; n++ } END { printf "%.17g", s / n }' "$tmp/s.csv")" 1e-15

# binary stream by the suffix: the same numbers
expect_exit 0 "--curves FILE.stb" uq-eval -l correct --curves "$tmp/c.stb" -o /dev/null "$tmp/s.csv"
stoch-cat "$tmp/c.stb" >"$tmp/c2.csv"
check "binary curves = CSV curves" cmp -s "$tmp/c.csv" "$tmp/c2.csv"

# quality labels: only the rejection curves
expect_exit 0 "quality labels" uq-eval -l quality -c u --curves "$tmp/q.csv" -o /dev/null \
    "$data/uq-eval-small.csv" "$data/uq-eval-labels.csv"
check "quality: rejection columns only" test "$(head -1 "$tmp/q.csv")" = "rejected.u,accuracy.u,rejected.oracle,accuracy.oracle"
# in order of u, qualities 1, 0.9, 0.6, 0.2: keeping 4, 3, 2, 1 rows
check "quality: accuracy = mean kept quality" test "$(cut -d, -f2 "$tmp/q.csv" | tr '\n' ' ')" = "accuracy.u 0.675 0.8333333333333334 0.95 1 "

printf 'id,oracle,correct\n1,0.5,1\n2,0.2,0\n' >"$tmp/o.csv"
expect_error 2 "named 'oracle'" "a score named oracle is refused" uq-eval -l correct --curves "$tmp/x.csv" "$tmp/o.csv"
check "no curves file left behind" test ! -e "$tmp/x.csv"
expect_error 1 'cannot create output' "unwritable --curves" uq-eval -l correct --curves /nonexistent/c.csv "$data/uq-eval-small.csv"
done_testing

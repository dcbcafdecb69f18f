#!/bin/sh
# stoch-plot: the script of every kind against a golden file (no gnuplot
# needed), every kind drawn by gnuplot as PNG (size and the data's colours
# checked by decoding it) and SVG (parsed), and bad inputs.
. "$top_srcdir/tests/cli/tap.sh"

pd="$data/plot"
nile="$top_srcdir/data/nile.csv"
tests_pngstat() { "$top_builddir/tests/cli/pngstat" "$@"; }
# svg_ok FILE: well-formed XML with an svg root (xmllint when installed)
svg_ok() {
    if command -v xmllint >/dev/null 2>&1; then
        xmllint --noout "$1" 2>/dev/null && grep -q '<svg' "$1"
    else
        grep -q '<svg' "$1" && tail -c 20 "$1" | grep -q '</svg>'
    fi
}
# a gnuplot that gets a bad first line, to see gnuplot's own error passed on
printf '#!/bin/sh\n{ echo "set nonsense"; cat; } | gnuplot /dev/stdin\n' >"$tmp/badgnuplot"
chmod +x "$tmp/badgnuplot"

expect_exit 0 "--help" stoch-plot --help
check "--help names every kind" sh -c "for k in forecast states smooth roc pr rejection transition trace; do grep -q \"  \$k\" '$tmp/out' || exit 1; done"
expect_exit 0 "--version" stoch-plot --version
expect_error 2 'which picture' "no KIND" stoch-plot
expect_error 2 "unknown KIND 'fan'" "bad KIND" stoch-plot fan "$pd/nile-forecast.csv"
expect_error 2 'cannot tell the picture type' "-o with an unknown suffix" stoch-plot forecast -o "$tmp/x.jpg" "$pd/nile-forecast.csv"
expect_error 2 '--type must be' "bad --type" stoch-plot forecast --type gif "$pd/nile-forecast.csv"
expect_error 2 '--survival applies to transition' "--survival elsewhere" stoch-plot trace --survival "$pd/faithful-trace.csv"
expect_error 2 '--dates must be' "bad --dates" stoch-plot forecast --dates 1949-13 "$pd/nile-forecast.csv"
expect_error 2 '--format and --compress are for streams' "--format" stoch-plot roc --format bin "$pd/uq-curves.csv"

# ---- the scripts: one golden file per case (REGEN_GOLDEN=1 rewrites them)
# case NAME KIND ARGS...: stoch-plot KIND --script ARGS > NAME.gp
cases="$tmp/cases"
cat >"$cases" <<EOF
forecast forecast $pd/nile-forecast.csv --data $nile -c flow -t year
forecast-multi forecast $pd/two-series-forecast.csv --data $pd/two-series.csv --dates 1991-01-02
states states $pd/faithful-posterior.csv
smooth smooth $pd/nile-pf.csv --data $nile -c flow --draws $pd/nile-pf-draws.csv --dates 1871
smooth-ssm smooth $pd/air-smooth.csv --dates 1949-01 --panels signal,seasonal12
roc roc $pd/uq-curves.csv
pr pr $pd/uq-curves.csv
rejection rejection $pd/uq-curves.csv -c msp,se
transition transition $pd/mjp-pgrid.csv
survival transition $pd/mjp-pgrid.csv --survival
trace trace $pd/faithful-trace.csv
EOF
while read -r name kind args; do
    # shellcheck disable=SC2086
    stoch-plot "$kind" --script $args >"$tmp/$name.gp" 2>"$tmp/$name.err"
    rc=$?
    if [ -n "${REGEN_GOLDEN:-}" ]; then
        cp "$tmp/$name.gp" "$pd/$name.gp"
        skip "$name: golden script rewritten"
        continue
    fi
    if [ "$rc" -eq 0 ] && [ ! -s "$tmp/$name.err" ] && cmp -s "$pd/$name.gp" "$tmp/$name.gp"; then
        ok "--script $name = golden $name.gp"
    else
        not_ok "--script $name = golden $name.gp (exit $rc)"
        diff "$pd/$name.gp" "$tmp/$name.gp" 2>&1 | head -10 | sed 's/^/#   /'
        sed 's/^/#   stderr: /' "$tmp/$name.err" | head -3
    fi
done <"$cases"

# the numbers in the pictures are the streams' own
check "forecast script: the 95% band of 1971 is ssm-forecast's lo95/hi95" \
    grep -qx "1971 798.3672923070604 517.0604474761278 1079.674137137993 614.4306331464102 982.3039514677107" "$tmp/forecast.gp"
check "forecast script: holdout actuals (days 35..40) drawn as 'actual'" grep -q 'title "actual"' "$tmp/forecast-multi.gp"
check "dates: t = 1 is 1991-01-02, day 35 is 1991-02-05" grep -q '^1991-02-05 ' "$tmp/forecast-multi.gp"
# legend areas = uq-eval's metrics, printed to 3 decimals
uq-entropy -q -s msp,se,num-sets "$top_srcdir/data/uq-trivia.jsonl" >"$tmp/s3.csv"
uq-eval -l correct -o "$tmp/e3.csv" "$tmp/s3.csv"
for m in roc:auroc:AUROC pr:auprc:AUPRC rejection:auarc:AUARC; do
    k=${m%%:*} r=${m#*:} metric=${r%%:*} label=${r#*:}
    want=$(awk -F, -v m="$metric" '$2 == m { printf "%s (%s %.3f)\n", $1, toupper(m), $4 }' "$tmp/e3.csv" | sort)
    got=$(grep -o "title \"[a-z-]* ($label [0-9.]*)\"" "$tmp/$k.gp" | sed 's/^title "//; s/"$//' | grep -v '^oracle' | sort)
    [ "$k" = rejection ] && want=$(printf '%s\n' "$want" | grep -v '^num-sets')
    check "$k legend areas = uq-eval's $metric ($(printf '%s' "$got" | tr '\n' ';'))" test "$got" = "$want"
done
check "roc: scores ordered by AUROC" test "$(grep -o 'title "[a-z-]* (AUROC' "$tmp/roc.gp" | cut -d'"' -f2 | cut -d' ' -f1 | tr '\n' ' ')" = "msp se num-sets "

# survival with an absorbing state (illness-death: state 2 is death)
mjp-sample -m "$data/mjp-illness.yaml" -n 200 --until 5 --obs-every 1 --seed 3 >"$tmp/ill.csv"
mjp-infer --panel -m "$data/mjp-illness.yaml" --no-se -q --pmatrix-grid "$tmp/illg.csv" -o /dev/null "$tmp/ill.csv"
expect_exit 0 "--survival with an absorbing state" stoch-plot transition --survival --script "$tmp/illg.csv"
check "no jump yet and not absorbed from states 0 and 1; none from the absorbing state 2" \
    test "$(grep -o 'title "from [0-9]: [a-z ]*"' "$tmp/out" | tr '\n' ';')" = \
    'title "from 0: no jump yet";title "from 0: not absorbed";title "from 1: no jump yet";title "from 1: not absorbed";'
# the survival block of state 1 at t = 5: stay, and 1 - P(dead)
want=$(awk -F, '$1 == 1 && $2 == 5 { printf "5 %s %.17g", $6, 1 - $5 }' "$tmp/illg.csv")
got=$(awk '/^\$d2 << EOD/ { b = 1; next } b && /^EOD/ { exit } b && $1 == 5 { printf "%s %s %.17g", $1, $2, $3 }' "$tmp/out")
check "survival of state 1 at t = 5 is the grid's stay and 1 - p2 ($got)" test "$got" = "$want"

# ---- rendering with gnuplot
# colours COUNT...: the palette colours the script draws with (not the greys)
colours() { grep -o 'rgb "#[0-9A-F]\{6\}"' "$1" | cut -d'"' -f2 | grep -v '^#\(A0A0A0\|808080\|E0E0E0\)$' | sort -u | head -4; }
if ! command -v gnuplot >/dev/null 2>&1; then
    skip "rendering: gnuplot is not installed (apt-get install gnuplot-nox)"
else
    while read -r name kind args; do
        # shellcheck disable=SC2086
        run stoch-plot "$kind" $args --size 480x300 -o "$tmp/$name.png"
        if [ "$rc" -ne 0 ] || [ -s "$tmp/err" ]; then
            not_ok "$name: PNG (exit $rc)"
            sed 's/^/#   stderr: /' "$tmp/err" | head -3
            continue
        fi
        # shellcheck disable=SC2046
        set -- $(tests_pngstat "$tmp/$name.png" $(colours "$tmp/$name.gp"))
        w=$1 h=$2 n=$3
        shift 3
        drawn=0 present=0
        for c in "$@"; do
            drawn=$((drawn + c))
            [ "$c" -gt 0 ] && present=$((present + 1))
        done
        if [ "$w" = 480 ] && [ "$h" = 300 ] && [ "$n" -gt 20 ] && [ "$drawn" -gt 100 ] && [ "$present" -ge 2 ]; then
            ok "$name: PNG 480x300, $n colours, $drawn pixels in $present of the data's colours"
        else
            not_ok "$name: PNG ${w}x$h, $n colours, $drawn pixels in $present of the data's colours"
        fi
        # shellcheck disable=SC2086
        run stoch-plot "$kind" $args -o "$tmp/$name.svg"
        if [ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ] && svg_ok "$tmp/$name.svg"; then
            ok "$name: SVG parses"
        else
            not_ok "$name: SVG (exit $rc)"
            sed 's/^/#   stderr: /' "$tmp/err" | head -3
        fi
    done <"$cases"
    expect_exit 0 "default size of one panel" stoch-plot forecast "$pd/nile-forecast.csv" -o "$tmp/one.png"
    check "640x400" test "$(tests_pngstat "$tmp/one.png" | cut -d' ' -f1,2)" = "640 400"
    expect_exit 0 "PDF" stoch-plot trace "$pd/faithful-trace.csv" -o "$tmp/t.pdf"
    check "PDF starts with %PDF" test "$(head -c 5 "$tmp/t.pdf")" = "%PDF-"
    expect_exit 0 "text (dumb) to a file" stoch-plot trace --type dumb --size 60x20 -o "$tmp/t.txt" "$pd/faithful-trace.csv"
    check "text picture of 20 lines with the key" sh -c "[ \$(grep -c '' '$tmp/t.txt') -ge 20 ] && grep -q 'K=2 restart 1' '$tmp/t.txt'"
    expect_exit 0 "states as text" stoch-plot states --type dumb --size 80x24 "$pd/faithful-posterior.csv" -o "$tmp/states.txt"
    check "text: one character per state, named in the key" grep -q 'state 0   A  state 1   B' "$tmp/states.txt"
    expect_exit 0 "PNG to a pipe" sh -c "stoch-plot roc '$pd/uq-curves.csv' | cat >'$tmp/pipe.png'"
    check "the piped PNG decodes" sh -c "'$top_builddir/tests/cli/pngstat' '$tmp/pipe.png' >/dev/null"
    expect_exit 0 "stdin, binary stream" sh -c "stoch-cat --format bin '$pd/mjp-pgrid.csv' | stoch-plot transition -o '$tmp/b.png'"
    expect_exit 0 "pngstat --palette (make docs-img)" tests_pngstat --palette "$tmp/pal.png" "$tmp/forecast.png"
    check "the palette PNG: same size, at most 256 colours" \
        sh -c "'$top_builddir/tests/cli/pngstat' '$tmp/pal.png' | awk '\$1 == 480 && \$2 == 300 && \$3 > 20 && \$3 <= 256 { ok = 1 } END { exit !ok }'"
    check "the golden script itself renders" sh -c "gnuplot '$pd/forecast.gp' >'$tmp/golden.png' && '$top_builddir/tests/cli/pngstat' '$tmp/golden.png' >/dev/null"
    expect_error 1 'badgnuplot failed \(exit 1\): script line 1: unrecognized option' "gnuplot's error names the script line" \
        stoch-plot forecast --gnuplot "$tmp/badgnuplot" -o "$tmp/bad.png" "$pd/nile-forecast.csv"
fi

# ---- gnuplot missing or failing: a clear message, no file left behind
expect_error 1 'not found: install gnuplot \(Debian/Ubuntu: apt-get install gnuplot-nox\) or print the script with --script' \
    "gnuplot missing" stoch-plot forecast --gnuplot /nonexistent/gnuplot -o "$tmp/m.png" "$pd/nile-forecast.csv"
check "no picture and no temporary left" sh -c "! ls '$tmp' | grep -q '^m\\.png'"
expect_error 1 'false failed \(exit 1\)' "gnuplot failing" stoch-plot forecast --gnuplot false -o "$tmp/f.png" "$pd/nile-forecast.csv"
check "no picture after a failure" test ! -e "$tmp/f.png"

# ---- wrong streams: one line, exit 1
expect_error 1 "uq-curves.csv:1: no column 't' \(the forecast times\): this looks like uq-eval --curves output: try 'stoch-plot roc'" \
    "a curves stream drawn as a forecast" stoch-plot forecast --script "$pd/uq-curves.csv"
expect_error 1 "this looks like hmm-decode --with-data output: try 'stoch-plot states'" \
    "a decoded stream drawn as a transition" stoch-plot transition --script "$pd/faithful-posterior.csv"
hmm-decode -m "$top_srcdir/data/hmm-linear-2.yaml" --posterior "$data/hmm-sym-range.csv" >"$tmp/nodata.csv" 2>/dev/null ||
    printf 'seq,t,state,p0,p1\n0,0,0,0.9,0.1\n' >"$tmp/nodata.csv"
expect_error 1 'no observation columns beside the states: run hmm-decode with --with-data' \
    "states without the data" stoch-plot states --script "$tmp/nodata.csv"
uq-eval -l quality -c u --curves "$tmp/q.csv" -o /dev/null "$data/uq-eval-small.csv" "$data/uq-eval-labels.csv"
expect_error 1 'ROC curves need 0/1 labels' "roc from quality labels" stoch-plot roc --script "$tmp/q.csv"
expect_exit 0 "rejection from quality labels" stoch-plot rejection --script "$tmp/q.csv"
expect_error 1 "no score 'ppl' \(the stream has msp,se,num-sets\)" "unknown score" stoch-plot roc -c ppl --script "$pd/uq-curves.csv"
expect_error 1 "no sequence of --seq 7" "--seq that matches nothing" stoch-plot forecast --seq 7 --script "$pd/two-series-forecast.csv"
expect_error 1 "no value column 'flow' in the data" "-c not in --data" stoch-plot forecast -c flow --data "$pd/two-series.csv" --script "$pd/two-series-forecast.csv"
printf 't,mean,lo95,hi95\n' >"$tmp/empty.csv"
expect_error 1 'no rows to draw' "an empty stream" stoch-plot forecast --script "$tmp/empty.csv"
expect_error 1 "no state or component 'slope'" "--panels unknown" stoch-plot smooth --panels slope --script "$pd/air-smooth.csv"
expect_error 1 'cannot open' "missing input" stoch-plot trace --script "$tmp/none.csv"
printf 'iter,logl\n1,-5\n2,oops\n' >"$tmp/bad.csv"
expect_error 1 'bad.csv:3' "malformed input names the line" stoch-plot trace --script "$tmp/bad.csv"
done_testing

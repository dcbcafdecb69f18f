#!/bin/sh
# Bad input through every program (issue 18): empty, truncated, malformed,
# huge and non-finite data and model files.  Each must give exit 1 and one
# line `prog: file[:line[:col]]: reason` on stderr, print no NaN, and leave
# no output file (nor a temporary) behind.  Fast: every case fails early.
. "$top_srcdir/tests/cli/tap.sh"

D="$top_srcdir/data"
TD="$top_srcdir/tests/data"
in="$tmp/in"
out="$tmp/o"
mkdir "$in"

# bad PROG FILE DESC CMD...: CMD (which writes -o "$out/r") fails as it should.
# The message names FILE, then optionally a position (line, line:col or
# byte offset), then a reason.
bad() {
    prog=$1 file=$2 desc=$3
    shift 3
    rm -rf "$out"
    mkdir "$out"
    run "$@"
    why=""
    [ "$rc" -eq 1 ] || why="exit $rc, wanted 1"
    [ -z "$why" ] && [ "$(wc -l <"$tmp/err")" -ne 1 ] && why="$(wc -l <"$tmp/err") lines on stderr"
    [ -z "$why" ] && ! grep -Eq "^$prog: $file(:[0-9]+(:[0-9]+)?|:byte [0-9]+)?: [^ ]" "$tmp/err" &&
        why="message does not name $file"
    [ -z "$why" ] && grep -qi nan "$tmp/out" && why="NaN on stdout"
    [ -z "$why" ] && [ -n "$(ls -A "$out")" ] && why="left $(ls -A "$out")"
    if [ -z "$why" ]; then
        ok "$prog: $desc"
    else
        not_ok "$prog: $desc ($why)"
        sed 's/^/#   stderr: /' "$tmp/err" | head -3
    fi
}

# missing PROG DESC CMD...: a missing value (NaN in the input) is either
# used as missing (exit 0, no NaN in the output) or refused as bad().
missing() {
    prog=$1 file=$2 desc=$3
    shift 3
    rm -rf "$out"
    mkdir "$out"
    run "$@"
    if [ "$rc" -eq 0 ]; then
        if cat "$out"/* "$tmp/out" | grep -qi nan; then
            not_ok "$prog: $desc (used as missing, but NaN written)"
            cat "$out"/* "$tmp/out" | grep -i nan | head -3 | sed 's/^/#   output: /'
        else
            ok "$prog: $desc (used as missing, no NaN written)"
        fi
    else
        bad "$prog" "$file" "$desc" "$@"
    fi
}

# ---------------------------------------------------------------- data
# Bad variants of a good CSV file G, named $in/P-*.
variants() {
    g=$1 p=$2
    : >"$in/$p-empty"
    # the last row cut before its last field
    n=$(wc -l <"$g")
    { head -n $((n - 1)) "$g"; tail -n 1 "$g" | sed 's/,[^,]*$//'; } >"$in/$p-trunc"
    printf '\000\001\002\377\376 garbage \033[31m\n\211PNG' >"$in/$p-garbage"
    # the last field of the first data row replaced
    awk -F, -v OFS=, 'h && !d { $NF = "1e400"; d = 1 } /^[^#]/ { h = 1 } 1' "$g" >"$in/$p-overflow"
    awk -F, -v OFS=, 'h && !d { $NF = "inf"; d = 1 } /^[^#]/ { h = 1 } 1' "$g" >"$in/$p-inf"
    awk -F, -v OFS=, 'h && !d { $NF = "nan"; d = 1 } /^[^#]/ { h = 1 } 1' "$g" >"$in/$p-missing"
    awk -F, -v OFS=, 'h && !d { $NF = $NF "x"; d = 1 } /^[^#]/ { h = 1 } 1' "$g" >"$in/$p-junk"
    awk -F, -v OFS=, 'h && !d { $0 = $0 ",7"; d = 1 } /^[^#]/ { h = 1 } 1' "$g" >"$in/$p-extra"
    # a line longer than the reader's 1 MiB limit
    { grep -v '^#' "$g" | head -n 1; head -c 1100000 /dev/zero | tr '\0' 9; echo; } >"$in/$p-huge"
    gzip -c "$g" | head -c 30 >"$in/$p-gzcut"
    stoch-cat --format bin -o "$tmp/$p.stb" "$g" && head -c $(($(wc -c <"$tmp/$p.stb") - 5)) "$tmp/$p.stb" >"$in/$p-bincut"
}

printf 'a,b\n1.5,0.1\n2.5,1\n0.5,2\n' >"$tmp/ab.csv"
printf 'step,particle,logw\n1,1,-1\n1,2,-2\n2,1,-0.5\n2,2,-0.1\n' >"$tmp/pr.csv"
variants "$tmp/ab.csv" ab
variants "$D/faithful.csv" f
variants "$D/nile.csv" n
variants "$TD/mjp-exact.csv" mx
variants "$tmp/pr.csv" pr
variants "$TD/uq-eval-small.csv" ue

for v in empty trunc garbage overflow inf junk extra huge gzcut bincut missing; do
    case $v in
    missing) t=missing ;;
    *) t=bad ;;
    esac
    $t hmm-decode "$in/ab-$v" "$v data" hmm-decode -m "$TD/hmm-gauss2.yaml" -o "$out/r" "$in/ab-$v"
    $t hmm-fit "$in/f-$v" "$v data" hmm-fit -K 2 -c waiting --restarts 1 -q -o "$out/r" "$in/f-$v"
    $t mjp-infer "$in/mx-$v" "$v data" mjp-infer --exact -q -o "$out/r" "$in/mx-$v"
    $t pf-fit "$in/n-$v" "$v data" pf-fit -m "$D/pf-nile-lg.yaml" -N 20 --steps 2 -q -o "$out/r" "$in/n-$v"
    $t pf-smooth "$in/n-$v" "$v data" pf-smooth -m "$D/pf-nile-lg.yaml" -N 50 -o "$out/r" "$in/n-$v"
    $t pf-resample "$in/pr-$v" "$v data" pf-resample --always -o "$out/r" "$in/pr-$v"
    $t ssm-forecast "$in/n-$v" "$v data" ssm-forecast --model level -c flow -t year -H 3 -o "$out/r" "$in/n-$v"
    # uq-eval writes NaN for a metric that is undefined (documented)
    [ $v = missing ] || $t uq-eval "$in/ue-$v" "$v data" uq-eval -l correct -o "$out/r" "$in/ue-$v"
    # stoch-cat copies text and explicit infinities: it is a converter
    case $v in
    inf | junk | missing) ;;
    *) bad stoch-cat "$in/n-$v" "$v data" stoch-cat -o "$out/r" "$in/n-$v" ;;
    esac
done
bad stoch-plot "$in/n-trunc" "truncated data" stoch-plot forecast --script -o "$out/r.png" "$in/n-trunc"
bad stoch-plot "$in/n-garbage" "garbage data" stoch-plot forecast --script -o "$out/r.png" "$in/n-garbage"

# ---------------------------------------------------------------- models
# Bad variants of a good model file G (number NUM replaced), named $in/P-*.
model_variants() {
    g=$1 p=$2 num=$3
    : >"$in/$p-empty"
    # cut just after the last '[' or '(': inside a list or an expression
    cut=$(grep -bo '[[(]' "$g" | tail -n 1 | cut -d: -f1)
    head -c $((cut + 1)) "$g" >"$in/$p-trunc"
    printf '\000\001\002\377\376 garbage \033[31m\n\211PNG' >"$in/$p-garbage"
    for x in .nan 1e400 0x10 .inf; do
        awk -v a="$num" -v b="$x" '!d && (i = index($0, a)) { $0 = substr($0, 1, i - 1) b substr($0, i + length(a)); d = 1 } 1' \
            "$g" >"$in/$p-$x"
    done
    : >"$in/$p-huge"
    truncate -s $((32 * 1024 * 1024 + 1)) "$in/$p-huge"
    { cat "$g"; printf 'zzz: '; i=0; while [ $i -lt 300 ]; do printf '['; i=$((i + 1)); done; echo; } >"$in/$p-deep"
}
model_variants "$TD/hmm-gauss2.yaml" hm 0.95
model_variants "$D/mjp-ratchet.yaml" mj 'V: 1'
sed -i 's/^  \(\.nan\|1e400\|0x10\|\.inf\)$/  V: \1/' "$in/mj-.nan" "$in/mj-1e400" "$in/mj-0x10" "$in/mj-.inf"
model_variants "$D/pf-nile-lg.yaml" pf 1469.1
model_variants "$TD/ssm-nile-level.yaml" ss 1469.1

for v in empty trunc garbage .nan 1e400 0x10 .inf huge deep; do
    bad hmm-decode "$in/hm-$v" "$v model" hmm-decode -m "$in/hm-$v" -o "$out/r" "$tmp/ab.csv"
    bad hmm-sample "$in/hm-$v" "$v model" hmm-sample -m "$in/hm-$v" -n 2 -T 3 -o "$out/r"
    bad mjp-sample "$in/mj-$v" "$v model" mjp-sample -m "$in/mj-$v" -n 2 --until 1 -o "$out/r"
    bad pf-smooth "$in/pf-$v" "$v model" pf-smooth -m "$in/pf-$v" -N 50 -o "$out/r" "$D/nile.csv"
    bad pf-fit "$in/pf-$v" "$v model" pf-fit -m "$in/pf-$v" -N 20 --steps 2 -q -o "$out/r" "$D/nile.csv"
    bad ssm-forecast "$in/ss-$v" "$v model" ssm-forecast -m "$in/ss-$v" -c flow -t year -o "$out/r" "$D/nile.csv"
done
# A huge model through a pipe: read one byte past the limit, no further.
run sh -c "head -c 40000000 /dev/zero | hmm-sample -m - -n 1 -T 1"
check "hmm-sample -m - with 40 MB on stdin: the limit, one line" \
    test "$rc" -eq 1 -a "$(cat "$tmp/err")" = "hmm-sample: <stdin>: model file is larger than the 32 MiB limit"

# ---------------------------------------------------------------- JSON Lines
f="$D/uq-trivia.jsonl"
: >"$in/uq-empty"
head -c 300 "$f" >"$in/uq-trunc"
printf '\000\001garbage\n' >"$in/uq-garbage"
sed '1s/-0\.001/1e400/' "$f" >"$in/uq-overflow"
sed '1s/-0\.001/NaN/' "$f" >"$in/uq-nan"
for v in empty trunc garbage overflow nan; do
    bad uq-entropy "$in/uq-$v" "$v JSON Lines" uq-entropy -s g-nll,pe,lexsim-rougel -o "$out/r" "$in/uq-$v"
done

# ---------------------------------------------------------------- messages
# Long user text: the message quotes a short excerpt and keeps the reason.
long=$(awk 'BEGIN { for (i = 0; i < 2000; i++) printf "V+"; }')
sed "s|^  0-1: .*|  0-1: ${long}foo(V)|" "$D/mjp-ratchet.yaml" >"$tmp/long-expr.yaml"
expect_error 1 "^mjp-sample: $tmp/long-expr.yaml:[0-9]+:[0-9]+: rate formula '.{0,80}': unknown function 'foo'$" \
    "a long expression: short excerpt, the reason kept" mjp-sample -m "$tmp/long-expr.yaml" -n 1 --until 1
check "that message is short" test "$(wc -c <"$tmp/err")" -lt 200
{ awk 'BEGIN { for (i = 0; i < 900; i++) printf "k"; print ": 1" }'; cat "$TD/hmm-gauss2.yaml"; } >"$tmp/long-key.yaml"
expect_error 1 "^hmm-sample: $tmp/long-key.yaml:1:1: unknown key 'k{60}\.\.\.' \(known keys here: model, version, " \
    "a long unknown key: short excerpt, the known keys kept" hmm-sample -m "$tmp/long-key.yaml" -n 1 -T 1
# A full covariance that is not symmetric: named where it is.
sed 's/- \[-0.2, 2\]/- [-0.3, 2]/' "$TD/hmm-gauss2.yaml" >"$tmp/asym.yaml"
expect_error 1 "^hmm-decode: $tmp/asym.yaml:20:8: covariance of state 1 is not symmetric \(\[2,1\] = -0.3 but \[1,2\] = -0.2\)$" \
    "an asymmetric covariance is located" hmm-decode -m "$tmp/asym.yaml" "$tmp/ab.csv"
# Control characters in quoted user text do not reach the terminal.
{ cat "$TD/hmm-gauss2.yaml"; printf '"a\\e[31mb": 1\n'; } >"$tmp/esc.yaml"
run hmm-sample -m "$tmp/esc.yaml" -n 1 -T 1
check "an escape sequence in a key is shown as '?'" sh -c "grep -q \"unknown key 'a?\\[31mb'\" '$tmp/err' && ! grep -q \"\$(printf '\\033')\" '$tmp/err'"

done_testing

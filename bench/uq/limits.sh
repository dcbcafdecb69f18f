#!/bin/sh
# uq-entropy's limits (issue 18): peak memory (max RSS, /usr/bin/time) and
# time on inputs built to exhaust a careless reader: a gzip file of 200 MB
# of lines whose first line is malformed; one 300 MB line (plain, and a
# gzip with an error in its first bytes); two samples of W words each for
# lexsim-rougel (default W = 100,000, within --max-text-tokens; W=500000
# is the audit's case, refused unless the limit is raised).  BASE=an older
# uq-entropy adds its rows.  Run from a built tree; data in $BENCH_TMP
# (default /tmp/stochbench-uq-limits).
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${top_builddir:-$(pwd)}
[ -x "$build/tools/uq-entropy" ] || build=$top
ue=$build/tools/uq-entropy
[ -x "$ue" ] || { echo "bench/uq: build first (no $ue)" >&2; exit 1; }
dir=${BENCH_TMP:-/tmp/stochbench-uq-limits}
words=${W:-100000}
mkdir -p "$dir"
cd "$dir"
if [ ! -s bomb.jsonl.gz ]; then
    echo "making inputs ..."
    { echo '{x'
      awk 'BEGIN { for (i = 2; i <= 120000; i++) {
          printf "{\"id\":%d,\"greedy\":{\"text\":\"a b\",\"logprobs\":[-0.1,-0.2,-0.3]},\"samples\":[", i
          for (s = 0; s < 10; s++) printf "%s{\"text\":\"a b c\",\"logprobs\":[-1.5,-0.25,-0.75,-2.0,-0.5,-0.125]}", s ? "," : ""
          printf "],\"correct\":1,\"pad\":\"%0600d\"}\n", i } }'; } | gzip -6 >bomb.jsonl.gz
    awk 'BEGIN { printf "{\"id\":1,\"greedy\":{\"logprobs\":[-1]},\"prompt\":\""
        s = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        for (i = 0; i < 3000000; i++) printf "%s", s; print "\"}" }' >line300.jsonl
    sed 's/"logprobs":\[-1\]/"logprobs":[1]/' line300.jsonl | gzip -1 >line300bad.jsonl.gz
fi
if [ ! -s rouge-$words.jsonl ]; then
    awk -v n="$words" 'BEGIN { srand(7); printf "{\"id\":1,\"samples\":["
        for (s = 0; s < 2; s++) { printf "%s{\"text\":\"", s ? "," : ""
            for (i = 0; i < n; i++) printf "%sw%d", i ? " " : "", int(rand() * 5000)
            printf "\"}" }
        print "]}" }' >rouge-$words.jsonl
fi
echo "== bench/uq/limits: peak memory and time; load average $(cat /proc/loadavg)"
echo "inputs: bomb.jsonl.gz $(wc -c <bomb.jsonl.gz) bytes ($(zcat bomb.jsonl.gz | wc -c) unpacked), line300.jsonl $(wc -c <line300.jsonl) bytes, line300bad.jsonl.gz $(wc -c <line300bad.jsonl.gz) bytes, rouge-$words.jsonl: 2 samples x $words words"
measure() { # measure LABEL PROG ARGS...
    label=$1
    shift
    /usr/bin/time -f "%M %e %x %U %S" -o time.txt "$@" >/dev/null 2>err.txt || true
    set -- $(tail -1 time.txt)
    msg=$(grep -v '^Command' err.txt | head -1 | cut -c1-110)
    printf "%-50s %6.0f MB peak %7.2f s wall %7.2f s cpu  exit %s  %s\n" "$label" "$(echo "$1 / 1024" | bc -l)" "$2" "$(echo "$4 + $5" | bc -l)" "$3" "$msg"
}
for prog in $ue ${BASE:-}; do
    [ "$prog" = "$ue" ] && who=new || who=BASE
    measure "$who: error on line 1 of a 200 MB gzip, -j 1" "$prog" -q -j 1 -s g-nll bomb.jsonl.gz
    measure "$who: error on line 1 of a 200 MB gzip, -j 2" "$prog" -q -j 2 -s g-nll bomb.jsonl.gz
    measure "$who: one 300 MB line" "$prog" -q -s g-nll line300.jsonl
    measure "$who: one 300 MB line, error at byte 31 (gzip)" "$prog" -q -s g-nll line300bad.jsonl.gz
    if [ "$who" = new ]; then
        measure "$who: one 300 MB line, --max-line 512M" "$prog" -q -s g-nll --max-line 512M line300.jsonl
        measure "$who: ... error at byte 31, --max-line 512M" "$prog" -q -s g-nll --max-line 512M line300bad.jsonl.gz
        measure "$who: lexsim-rougel, 2 x $words words" "$prog" -q -s lexsim-rougel --max-text-tokens "$words" rouge-$words.jsonl
        measure "$who: lexsim-rougel, 2 x $words words, default cap" "$prog" -q -s lexsim-rougel rouge-$words.jsonl
    elif [ "$words" -le 100000 ]; then
        measure "$who: lexsim-rougel, 2 x $words words" "$prog" -q -s lexsim-rougel rouge-$words.jsonl
    fi
done

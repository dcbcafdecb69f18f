#!/bin/sh
# uq-entropy throughput (prompts per second) on N synthetic prompts
# (default 100,000, made by bench/uq/gen.py): the log-prob scores with
# m = 10 samples, and the spectral scores (eigv, deg, ecc from an entail
# matrix) with m = 10 and m = 50, each beside jq parsing the same file
# (`jq -c .id`, the parse-bound figure).  Run from a built tree (make
# bench, or sh bench/uq/run.sh in the build directory).  Data goes to
# $BENCH_TMP (default /tmp/stochbench-uq) and is reused.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${top_builddir:-$(pwd)}
[ -x "$build/tools/uq-entropy" ] || build=$top
ue=$build/tools/uq-entropy
[ -x "$ue" ] || { echo "bench/uq: build first (no $ue)" >&2; exit 1; }
n=${N:-100000}
reps=${REPS:-3}
threads=${THREADS:-1}
dir=${BENCH_TMP:-/tmp/stochbench-uq}
mkdir -p "$dir"
have_jq=1
command -v jq >/dev/null 2>&1 || have_jq=0

gen() { # gen FILE M KIND
    [ -s "$1" ] && return 0
    echo "generating $n prompts, m = $2, $3 ..."
    /usr/bin/python3 "$here/gen.py" bench "$n" "$2" "$3" >"$1.tmp"
    mv "$1.tmp" "$1"
}
# cpu CMD...: median over $reps runs of "wall user+sys" seconds, output discarded
cpu() {
    for k in $(seq "$reps"); do
        s=$(date +%s.%N)
        /usr/bin/time -f "%U %S" -o "$dir/time.txt" "$@" >/dev/null
        e=$(date +%s.%N)
        echo "$s $e $(cat "$dir/time.txt")" | awk '{ printf "%.4f %.4f\n", $2 - $1, $3 + $4 }'
    done | sort -n -k2 | awk '{ w[NR] = $1; c[NR] = $2 } END { m = int((NR + 1) / 2); print w[m], c[m] }'
}
row() { # row WHAT "WALL CPU"
    set -- "$1" $2
    awk -v what="$1" -v w="$2" -v c="$3" -v n="$n" 'BEGIN {
        printf "%-40s wall %7.2f s  cpu %7.2f s  %9.0f prompts/s (cpu)\n", what, w, c, n / c }'
}

lp=$dir/logprob-m10-$n.jsonl
sp10=$dir/spectral-m10-$n.jsonl
sp50=$dir/spectral-m50-$n.jsonl
gen "$lp" 10 logprob
gen "$sp10" 10 spectral
gen "$sp50" 50 spectral
size() { wc -c <"$1" | tr -d ' '; }
echo "== bench/uq: $n prompts, median of $reps, uq-entropy -j $threads; cpu = user + sys"
for spec in "$lp:msp,g-nll,ppl,pe,ln-pe:log-prob scores, m=10" \
            "$sp10:eigv,deg,ecc:spectral eigv,deg,ecc, m=10" \
            "$sp50:eigv,deg,ecc:spectral eigv,deg,ecc, m=50"; do
    f=${spec%%:*}
    rest=${spec#*:}
    scores=${rest%%:*}
    what=${rest#*:}
    echo "-- $what ($(size "$f") bytes)"
    t=$(cpu "$ue" -q -j "$threads" -s "$scores" "$f")
    row "uq-entropy -s $scores" "$t"
    if [ "$have_jq" -eq 1 ]; then
        j=$(cpu jq -c .id "$f")
        row "jq -c .id (parse only)" "$j"
        echo "$t $j" | awk '{ printf "   ratio uq-entropy / jq: %.2f (cpu), %.2f (wall)\n", $2 / $4, $1 / $3 }'
    else
        echo "   jq not installed: no parse-bound comparison"
    fi
done

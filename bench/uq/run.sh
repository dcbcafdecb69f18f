#!/bin/sh
# uq-entropy throughput on N synthetic prompts (default 100,000, made by
# bench/uq/gen.py), each workload beside jq parsing the same file (`jq -c
# .id`, the parse-bound figure), back to back in one run: the log-prob
# scores with m = 10 samples; the log-prob scores added for issue 20 on a
# file that also has top-5 alternatives, lm_logprobs and relevance; the
# spectral scores (eigv, deg, ecc from an entail matrix) with m = 10 and
# m = 50 (M50=0 leaves that one out).  BASE=path/to/an/older/uq-entropy
# adds its rows (before/after).  Cpu = user + sys; min and median of REPS
# runs (default 3); the load average is printed before and after.  Run
# from a built tree (make bench, or sh bench/uq/run.sh in the build
# directory).  Data goes to $BENCH_TMP (default /tmp/stochbench-uq) and is
# reused.
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
base=${BASE:-}
mkdir -p "$dir"
have_jq=1
command -v jq >/dev/null 2>&1 || have_jq=0

gen() { # gen FILE M KIND
    [ -s "$1" ] && return 0
    echo "generating $n prompts, m = $2, $3 ..."
    /usr/bin/python3 "$here/gen.py" bench "$n" "$2" "$3" >"$1.tmp"
    mv "$1.tmp" "$1"
}
# cpu CMD...: "wall_min wall_median cpu_min cpu_median" over $reps runs, output discarded
cpu() {
    for k in $(seq "$reps"); do
        s=$(date +%s.%N)
        /usr/bin/time -f "%U %S" -o "$dir/time.txt" "$@" >/dev/null
        e=$(date +%s.%N)
        echo "$s $e $(cat "$dir/time.txt")" | awk '{ printf "%.4f %.4f\n", $2 - $1, $3 + $4 }'
    done | awk '{ w[NR] = $1; c[NR] = $2 }
        function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
        END { n = NR; wm = med(w, n); cm = med(c, n); print w[1], wm, c[1], cm }'
}
row() { # row WHAT "WMIN WMED CMIN CMED"
    set -- "$1" $2
    awk -v what="$1" -v wmin="$2" -v wmed="$3" -v cmin="$4" -v cmed="$5" -v n="$n" 'BEGIN {
        printf "%-44s cpu min %6.2f med %6.2f s  wall min %6.2f med %6.2f s  %8.0f prompts/s (median cpu)\n",
               what, cmin, cmed, wmin, wmed, n / cmed }'
}
base_knows() { # base_knows LIST: BASE's --help names every score in LIST
    for s in $(echo "$1" | tr ',' ' '); do
        "$base" --help | grep -q -w -- "$s" || return 1
    done
}
ratio() { # ratio "A..." "B..." LABEL: median cpu and wall of A over B
    echo "$1 $2" | awk -v l="$3" '{ printf "   %s: %.2f (median cpu), %.2f (median wall)\n", l, $4 / $8, $2 / $6 }'
}

lp=$dir/logprob-m10-$n.jsonl
tk=$dir/tokens-m10-$n.jsonl
sp10=$dir/spectral-m10-$n.jsonl
sp50=$dir/spectral-m50-$n.jsonl
gen "$lp" 10 logprob
gen "$tk" 10 tokens
gen "$sp10" 10 spectral
[ "${M50:-1}" = 0 ] || gen "$sp50" 50 spectral
size() { wc -c <"$1" | tr -d ' '; }
echo "== bench/uq: $n prompts, min/median of $reps, uq-entropy -j $threads; cpu = user + sys"
echo "load average before: $(cat /proc/loadavg)"
old_lp=msp,g-nll,ppl,pe,ln-pe
new_lp=mte,max-te,renyi-neg,fisher-rao,self-certainty,pmi,cpmi,token-sar
specs="$lp:$old_lp:log-prob scores, m=10
$tk:$new_lp:added log-prob scores (issue 20), m=10
$tk:$old_lp:log-prob scores on the same file
$sp10:eigv,deg,ecc:spectral eigv,deg,ecc, m=10"
[ "${M50:-1}" = 0 ] || specs="$specs
$sp50:eigv,deg,ecc:spectral eigv,deg,ecc, m=50"
echo "$specs" | while IFS= read -r spec; do
    f=${spec%%:*}
    rest=${spec#*:}
    scores=${rest%%:*}
    what=${rest#*:}
    echo "-- $what ($(size "$f") bytes)"
    t=$(cpu "$ue" -q -j "$threads" -s "$scores" "$f")
    row "uq-entropy -s $scores" "$t"
    if [ -n "$base" ] && base_knows "$scores"; then
        b=$(cpu "$base" -q -j "$threads" -s "$scores" "$f")
        row "BASE uq-entropy" "$b"
        ratio "$t" "$b" "ratio uq-entropy / BASE"
    fi
    if [ "$have_jq" -eq 1 ]; then
        j=$(cpu jq -c .id "$f")
        row "jq -c .id (parse only)" "$j"
        ratio "$t" "$j" "ratio uq-entropy / jq"
    else
        echo "   jq not installed: no parse-bound comparison"
    fi
done
echo "load average after: $(cat /proc/loadavg)"

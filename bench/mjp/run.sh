#!/bin/sh
# bench/mjp: time to the panel-data MLE, mjp-infer against R msm on the same
# data and model in the same run (see bench/RESULTS.md).
#   5 states (one absorbing), 2,000 subjects x 10 visits over 10 years
#  12 states (one absorbing), 10,000 subjects x 20 visits over 20 years
# Visits fall on whole days (times in years, rounded to 1/365, distinct per
# subject), as clinic data do.  Set MJP_BENCH_CONT=1 to keep continuous
# visit times instead (every interval length distinct), MJP_BENCH_MSM12=0 to
# skip msm on the 12-state case, MSM12_TIMEOUT (seconds, default 1800),
# REPS (runs of the main mjp-infer fit and of msm, min and median reported;
# default 3).
# Run from a built tree: sh bench/mjp/run.sh
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=${top_builddir:-$(pwd)}
PATH="$top/tools:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-mjp.XXXXXX")
trap 'rm -rf "$work"' EXIT
have_msm=0
if command -v Rscript >/dev/null 2>&1 && Rscript -e 'suppressMessages(library(msm))' >/dev/null 2>&1; then
    have_msm=1
fi
now() { date +%s.%N; }
# cpu_time OUTVAR CMD...: run CMD, set OUTVAR to "cpu wall" seconds
cpu_time() {
    var=$1
    shift
    /usr/bin/time -f "%U %S %e" -o "$work/time" "$@"
    eval "$var=\"$(awk '{ printf "%.2f %.2f", $1 + $2, $3 }' "$work/time")\""
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
reps=${REPS:-3}
# minmed FILE: lines "cpu wall" -> "cpu_min cpu_median wall_min wall_median"
minmed() {
    c=$(awk '{ print $1 }' "$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f %.2f", v[1], v[int((NR + 1) / 2)] }')
    w=$(awk '{ print $2 }' "$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f %.2f", v[1], v[int((NR + 1) / 2)] }')
    echo "$c $w"
}

# model K: chain 0..K-2 with forward rate f, backward g, death d to K-1
model() {
    K=$1 f=$2 g=$3 d=$4
    awk -v K="$K" -v f="$f" -v g="$g" -v d="$d" 'BEGIN {
        print "model: mjp\nversion: 1\nstates: " K "\nQ:"
        for (i = 0; i < K; i++) {
            for (j = 0; j < K; j++) q[j] = 0
            if (i < K - 1) {
                if (i + 1 < K - 1) q[i + 1] = f * (1 + 0.1 * i)
                if (i > 0) q[i - 1] = g
                q[K - 1] += d * (1 + 0.2 * i)
                s = 0; for (j = 0; j < K; j++) s += q[j]; q[i] = -s
            }
            line = "  - ["; for (j = 0; j < K; j++) line = line (j ? ", " : "") q[j]; print line "]"
        }
        line = "initial: [1"; for (j = 1; j < K; j++) line = line ", 0"; print line "]"
    }'
}
# allowed list of the same structure (0-based)
allowed() {
    awk -v K="$1" 'BEGIN { for (i = 0; i < K - 1; i++) { if (i + 1 < K - 1) printf "%s%d-%d", n++ ? "," : "", i, i + 1;
        if (i > 0) printf ",%d-%d", i, i - 1; printf ",%d-%d", i, K - 1 } }'
}
# panel from exact paths: V visits per subject, at 0 and V-1 distinct days
# (or continuous times) on (0, T); state at each visit
panel() {
    awk -F, -v V="$2" -v T="$3" -v cont="${MJP_BENCH_CONT:-0}" -v seed="$4" '
    function flush(   i, k, u, n, tt, j, s) {
        if (ns == 0) return
        delete used; n = 1; tt[1] = 0
        while (n < V) { u = rand() * T; if (!cont) { u = int(u * 365 + 1) / 365; if (u >= T || (u in used)) continue; used[u] = 1 } tt[++n] = u }
        for (i = 2; i <= n; i++) for (k = i; k > 2 && tt[k] < tt[k - 1]; k--) { u = tt[k]; tt[k] = tt[k - 1]; tt[k - 1] = u }
        j = 1
        for (i = 1; i <= n; i++) { while (j < ns && jt[j + 1] <= tt[i]) j++; printf "%s,%.10g,%s\n", cur, tt[i], js[j] }
        ns = 0
    }
    BEGIN { srand(seed); print "seq,t,state" }
    NR == 1 { next }
    NR == 2 || $1 != cur { flush(); cur = $1 }
    { ns++; jt[ns] = $2; js[ns] = $3 }
    END { flush() }' "$1"
}

cat >"$work/fit.R" <<'REOF'
suppressMessages(library(msm))
a <- commandArgs(TRUE)
d <- read.csv(a[1]); d$state <- d$state + 1
K <- as.integer(a[2])
Q <- matrix(0, K, K)
for (p in strsplit(strsplit(a[3], ",")[[1]], "-")) Q[as.integer(p[1]) + 1, as.integer(p[2]) + 1] <- 0.1
t0 <- proc.time()
# fnscale: msm's advice for large data; without it BFGS overflows here
f <- suppressWarnings(msm(state ~ t, subject = seq, data = d, qmatrix = Q, gen.inits = TRUE,
                          control = list(fnscale = nrow(d))))
t1 <- proc.time() - t0
cat(sprintf("%.2f %.6f %.2f\n", t1[["user.self"]] + t1[["sys.self"]], f$minus2loglik, t1[["elapsed"]]))
REOF

run_case() {
    name=$1 K=$2 N=$3 V=$4 T=$5
    model "$K" 0.3 0.15 0.03 >"$work/$name.yaml"
    al=$(allowed "$K")
    mjp-sample -m "$work/$name.yaml" -n "$N" --until "$T" --seed 1 >"$work/$name-path.csv"
    panel "$work/$name-path.csv" "$V" "$T" 7 >"$work/$name.csv"
    nd=$(awk -F, 'NR > 1 { if ($1 == s) d[sprintf("%.6f", $2 - p)] = 1; s = $1; p = $2 } END { print length(d) }' "$work/$name.csv")
    echo "$name: $K states, $N subjects x $V visits, $(($(wc -l <"$work/$name.csv") - 1)) rows, $nd distinct intervals"
    : >"$work/ours"
    for i in $(seq "$reps"); do
        cpu_time r1 mjp-infer -j 1 --allowed "$al" -o "$work/$name-fit1.yaml" "$work/$name.csv"
        echo "$r1" >>"$work/ours"
    done
    mm1=$(minmed "$work/ours")
    cpu_time r2 mjp-infer -j 2 --allowed "$al" -o "$work/$name-fit2.yaml" "$work/$name.csv"
    cmp -s "$work/$name-fit1.yaml" "$work/$name-fit2.yaml" && same="identical" || same="DIFFERENT"
    m2=$(awk '$1 == "minus2loglik:" { print $2 }' "$work/$name-fit1.yaml")
    it=$(awk '$1 == "iterations:" { print $2 }' "$work/$name-fit1.yaml")
    cpu_time rl mjp-infer -j 1 --lbfgs --allowed "$al" -o "$work/$name-lbfgs.yaml" "$work/$name.csv"
    m2l=$(awk '$1 == "minus2loglik:" { print $2 }' "$work/$name-lbfgs.yaml")
    itl=$(awk '$1 == "iterations:" { print $2 }' "$work/$name-lbfgs.yaml")
    cpu_time re mjp-infer -j 1 --em --no-se --allowed "$al" -o "$work/$name-em.yaml" "$work/$name.csv"
    m2em=$(awk '$1 == "minus2loglik:" { print $2 }' "$work/$name-em.yaml")
    t_j1=$(echo "$mm1" | awk '{ print $2 }')
    echo "  (cpu s, wall s)"
    echo "  mjp-infer (default) + SE -j1 cpu min/median $(echo "$mm1" | cut -d' ' -f1-2), wall $(echo "$mm1" | cut -d' ' -f3-4) ($reps runs)   -j2 $r2   -2logL $m2  ($it evaluations; -j1/-j2 output $same)"
    echo "  mjp-infer --lbfgs + SE        -j1 $rl   -2logL $m2l  ($itl evaluations)"
    echo "  mjp-infer --em, no SE         -j1 $re   -2logL $m2em"
    if [ "$have_msm" = 1 ] && { [ "$K" -lt 10 ] || [ "${MJP_BENCH_MSM12:-1}" = 1 ]; }; then
        tmo=${MSM12_TIMEOUT:-1800}
        [ "$K" -lt 10 ] && tmo=${MSM5_TIMEOUT:-1800}
        : >"$work/msm"
        for i in $(seq "$reps"); do
            t0=$(now)
            if r=$(timeout "$tmo" Rscript "$work/fit.R" "$work/$name.csv" "$K" "$al" 2>"$work/msm.err") && [ -n "$r" ]; then
                echo "$r" | awk '{ print $1, $3 }' >>"$work/msm"
                m2r=$(echo "$r" | awk '{ print $2 }')
            else
                echo "  R msm failed or did not finish within ${tmo}s ($(elapsed "$t0" "$(now)")s wall): $(tail -1 "$work/msm.err")"
                break
            fi
        done
        if [ -s "$work/msm" ]; then
            mmr=$(minmed "$work/msm")
            ts=$(echo "$mmr" | awk '{ print $2 }')
            echo "  R msm (BFGS) + SE         cpu min/median $(echo "$mmr" | cut -d' ' -f1-2), wall $(echo "$mmr" | cut -d' ' -f3-4) ($(wc -l <"$work/msm") runs)   -2logL $m2r"
            echo "  cpu ratio msm / mjp-infer (medians, -j1, with SE): $(awk -v a="$ts" -v b="$t_j1" 'BEGIN { printf "%.1f", a / b }')x"
        fi
    else
        echo "  R msm: skipped"
    fi
}

echo "machine: $(nproc) cores, $(uname -m), $(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo); load $(cut -d' ' -f1-3 /proc/loadavg)"
run_case mjp5 5 2000 10 10
[ "${MJP_BENCH_12:-1}" = 1 ] && run_case mjp12 12 10000 20 20
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

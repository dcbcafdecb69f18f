#!/bin/sh
# bench/mjp/cov.sh: time to the maximum-likelihood fit of a panel model with
# two covariates, mjp-infer against R msm on the same data and model in the
# same run (issue 16).  5 states (chain with recovery and death from every
# living state; deaths at their exact time, msm's deathexact), N subjects x
# V visits on whole days over T years, covariates sex (0/1) and age (40-80,
# one value per subject) on every transition (bench/mjp/covgen.py).  Both
# fit 10 baseline rates and 20 effects with standard errors; msm from its
# crude start (gen.inits) with fnscale = number of rows (its advice for
# large data), mjp-infer from its crude start.  Not a test.
#
# Environment: N (default 10000), V (10), T (10), REPS (runs per program,
# min and median reported, default 3), MSM_TIMEOUT (seconds, default 7200).
# Run from a built tree: sh bench/mjp/cov.sh
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=${top_builddir:-$(pwd)}
PATH="$top/tools:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-mjpcov.XXXXXX")
trap 'rm -rf "$work"' EXIT
n=${N:-10000} v=${V:-10} T=${T:-10} reps=${REPS:-3}
al=0-1,0-4,1-2,1-0,1-4,2-3,2-1,2-4,3-2,3-4
/usr/bin/python3 "$here/covgen.py" "$n" "$v" "$T" 1 >"$work/d.csv"
echo "machine: $(nproc) cores, $(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $n subjects x $v visits (deaths exact), $(($(wc -l <"$work/d.csv") - 1)) rows, covariates sex, age"
# stats "cpu wall" lines -> "min_cpu median_cpu min_wall median_wall"
stats() {
    f=$(mktemp "$work/stats.XXXXXX")
    cat >"$f"
    c=$(awk '{ print $1 }' "$f" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f %.2f", v[1], v[int((NR + 1) / 2)] }')
    w=$(awk '{ print $2 }' "$f" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f %.2f", v[1], v[int((NR + 1) / 2)] }')
    echo "$c $w"
}
: >"$work/ours"
for i in $(seq "$reps"); do
    /usr/bin/time -f "%U %S %e" -o "$work/time" mjp-infer -j 1 --allowed $al --covariates sex,age \
        -o "$work/fit.yaml" "$work/d.csv"
    awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }' "$work/time" >>"$work/ours"
done
ours=$(stats <"$work/ours")
m2=$(awk '$1 == "minus2loglik:" { print $2 }' "$work/fit.yaml")
it=$(awk '$1 == "iterations:" { print $2 }' "$work/fit.yaml")
echo "mjp-infer -j 1 (L-BFGS + Newton, SE): cpu min/median $(echo $ours | cut -d' ' -f1-2) s, wall $(echo $ours | cut -d' ' -f3-4) s, -2logL $m2 ($it evaluations)"
cat >"$work/fit.R" <<'REOF'
suppressMessages(library(msm))
a <- commandArgs(TRUE)
d <- read.csv(a[1]); d$state <- d$state + 1
Q <- matrix(0, 5, 5)
for (p in strsplit(strsplit(a[2], ",")[[1]], "-")) Q[as.integer(p[1]) + 1, as.integer(p[2]) + 1] <- 0.1
t0 <- proc.time()
f <- suppressWarnings(msm(state ~ t, subject = seq, data = d, qmatrix = Q, gen.inits = TRUE, deathexact = 5,
                          covariates = ~ sex + age, control = list(fnscale = nrow(d), maxit = 10000)))
t1 <- proc.time() - t0
cat(sprintf("%.2f %.2f %.6f %d\n", t1[["user.self"]] + t1[["sys.self"]], t1[["elapsed"]], f$minus2loglik,
            f$paramdata$opt$counts[1]))
REOF
if command -v Rscript >/dev/null 2>&1 && Rscript -e 'suppressMessages(library(msm))' >/dev/null 2>&1; then
    : >"$work/msm"
    for i in $(seq "$reps"); do
        if r=$(timeout "${MSM_TIMEOUT:-7200}" Rscript "$work/fit.R" "$work/d.csv" "$al" 2>"$work/msm.err") && [ -n "$r" ]; then
            echo "$r" | awk '{ print $1, $2 }' >>"$work/msm"
            echo "$r" >"$work/msm.last"
        else
            echo "R msm failed or did not finish within ${MSM_TIMEOUT:-7200}s: $(tail -1 "$work/msm.err")"
        fi
    done
    if [ -s "$work/msm" ]; then
        theirs=$(stats <"$work/msm")
        echo "R msm (BFGS, SE): cpu min/median $(echo $theirs | cut -d' ' -f1-2) s, wall $(echo $theirs | cut -d' ' -f3-4) s, -2logL $(awk '{ print $3 }' "$work/msm.last") ($(awk '{ print $4 }' "$work/msm.last") evaluations), $(wc -l <"$work/msm") runs"
        echo "cpu ratio msm / mjp-infer (medians): $(awk -v a="$(echo $theirs | cut -d' ' -f2)" -v b="$(echo $ours | cut -d' ' -f2)" 'BEGIN { printf "%.0f", a / b }')x"
    fi
else
    echo "R msm: not installed, skipped"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

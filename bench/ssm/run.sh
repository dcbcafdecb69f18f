#!/bin/sh
# bench/ssm: fit and forecast monthly series of length 144 with
# trend+seasonal:12 and with auto, against statsmodels UnobservedComponents
# (per-series loop) and R forecast::ets / StructTS on the same series, in
# the same run.  Run from a built tree:  sh bench/ssm/run.sh
# Environment: NSERIES (default 1000), NPEER (series given to each peer,
# default 100: peers are timed on a subset and reported per series),
# BUILD (build tree, default .).
set -e
NSERIES=${NSERIES:-1000}
NPEER=${NPEER:-100}
BUILD=${BUILD:-.}
tool="$BUILD/tools/ssm-forecast"
[ -x "$tool" ] || { echo "bench/ssm: build first ($tool missing)" >&2; exit 1; }
dir=$(mktemp -d /tmp/bench-ssm.XXXXXX)
trap 'rm -rf "$dir"' EXIT

# Simulated basic structural model: level/slope random walks, dummy
# seasonal, noise; positive values around 100 (so log is usable).
gen() {
    awk -v ns="$1" -v seed=7 'function nrm() { return sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand()) }
    BEGIN { srand(seed); print "seq,t,y"
        for (s = 1; s <= ns; s++) {
            lev = 100 + 20 * rand(); sl = 0.2 * nrm(); for (j = 0; j < 11; j++) g[j] = 3 * nrm()
            for (t = 1; t <= 144; t++) {
                printf "%d,%d,%.4f\n", s, t, lev + g[0] + 1.0 * nrm()
                lev += sl + 0.5 * nrm(); sl += 0.02 * nrm()
                ng = 0.2 * nrm(); for (j = 0; j < 11; j++) ng -= g[j]
                for (j = 10; j > 0; j--) g[j] = g[j - 1]; g[0] = ng
            } } }'
}
gen "$NSERIES" >"$dir/series.csv"
awk -F, -v n="$NPEER" 'NR == 1 || $1 <= n' "$dir/series.csv" >"$dir/peer.csv"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'; }
# cpu N CMD...: run CMD, print N / (user + sys CPU seconds).  CPU time is
# what single-threaded comparisons use: the machines are shared, and wall
# time moves with the other jobs far more than CPU time does.
cpu() {
    n=$1
    shift
    /usr/bin/time -f "%U %S" -o "$dir/time" "$@"
    awk -v n="$n" '{ printf "%.1f", n / ($1 + $2) }' "$dir/time"
}
echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1 /proc/loadavg)"
echo "series: $NSERIES x 144 monthly (peers: first $NPEER); rates in series per CPU second unless marked wall"

r_bsm1=$(cpu "$NSERIES" "$tool" --model trend+seasonal:12 -H 12 -j 1 -q -o "$dir/fc1.csv" "$dir/series.csv")
r_bsm1s=$(cpu "$NSERIES" "$tool" --model trend+seasonal:12 --starts 1 -H 12 -j 1 -q -o "$dir/fc3.csv" "$dir/series.csv")
r_auto1=$(cpu "$NSERIES" "$tool" --model auto --period 12 -H 12 -j 1 -q -o "$dir/fa.csv" "$dir/series.csv")
t0=$(now); "$tool" --model trend+seasonal:12 -H 12 -j 1 -q -o "$dir/fc1.csv" "$dir/series.csv"; t1=$(now)
w_bsm1=$(rate "$NSERIES" "$t0" "$t1")
t0=$(now); "$tool" --model trend+seasonal:12 -H 12 -j 2 -q -o "$dir/fc2.csv" "$dir/series.csv"; t1=$(now)
w_bsm2=$(rate "$NSERIES" "$t0" "$t1")
cmp -s "$dir/fc1.csv" "$dir/fc2.csv" && same=yes || same=NO
echo "ssm-forecast trend+seasonal:12 -j 1:            $r_bsm1 series/s"
echo "ssm-forecast trend+seasonal:12 -j 1 --starts 1: $r_bsm1s series/s"
echo "ssm-forecast auto --period 12 -j 1:             $r_auto1 series/s"
echo "ssm-forecast trend+seasonal:12 wall: -j 1 $w_bsm1, -j 2 $w_bsm2 series/s (same bytes: $same)"

# memory does not grow with the number of series
if [ -x /usr/bin/time ]; then
    gen $((NSERIES / 4)) >"$dir/small.csv"
    m1=$(/usr/bin/time -f %M "$tool" --model level -H 1 -q -o "$dir/rss.csv" "$dir/small.csv" 2>&1 | tail -1)
    m2=$(/usr/bin/time -f %M "$tool" --model level -H 1 -q -o "$dir/rss.csv" "$dir/series.csv" 2>&1 | tail -1)
    echo "max RSS: $m1 KB for $((NSERIES / 4)) series, $m2 KB for $NSERIES series"
fi

r_sm=NA r_sm_full=NA r_ets=NA r_sts=NA
if /usr/bin/python3 -c 'import statsmodels' 2>/dev/null; then
    cat >"$dir/sm.py" <<'PY'
import sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
import statsmodels.api as sm
d = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
maxiter = int(sys.argv[2])
seqs = np.unique(d[:, 0])
t = time.process_time()
for s in seqs:
    y = d[d[:, 0] == s, 2]
    m = sm.tsa.UnobservedComponents(y, "lltrend", seasonal=12, use_exact_diffuse=True)
    r = m.fit(disp=False, maxiter=maxiter)
    r.get_forecast(12).summary_frame(alpha=0.05)
print("%.1f" % (len(seqs) / (time.process_time() - t)))
PY
    r_sm=$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -W ignore "$dir/sm.py" "$dir/peer.csv" 50 2>/dev/null)
    r_sm_full=$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -W ignore "$dir/sm.py" "$dir/peer.csv" 1000 2>/dev/null)
    echo "statsmodels UnobservedComponents (maxiter 50):   $r_sm series/s"
    echo "statsmodels UnobservedComponents (maxiter 1000): $r_sm_full series/s"
fi
if command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(forecast)' >/dev/null 2>&1; then
    cat >"$dir/r.R" <<'RS'
suppressMessages(library(forecast))
a <- commandArgs(TRUE)
d <- read.csv(a[1]); s <- split(d$y, d$seq)
cpu <- function(st) st[["user.self"]] + st[["sys.self"]]
t <- cpu(system.time(for (y in s) forecast(ets(ts(y, frequency = 12)), h = 12)))
t2 <- cpu(system.time(suppressWarnings(for (y in s) predict(StructTS(ts(y, frequency = 12), "BSM"), n.ahead = 12))))
cat(sprintf("%.1f %.1f\n", length(s) / t, length(s) / t2))
RS
    set -- $(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 Rscript "$dir/r.R" "$dir/peer.csv" 2>/dev/null)
    r_ets=$1 r_sts=$2
    echo "R forecast::ets (auto):        $r_ets series/s"
    echo "R StructTS BSM:                $r_sts series/s"
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "NA" || b + 0 == 0) print "NA"; else printf "%.0fx", a / b }'; }
echo "ratios (ssm-forecast -j 1 over peer, per series):"
echo "  trend+seasonal:12 vs statsmodels (maxiter 50):   $(ratio "$r_bsm1" "$r_sm")"
echo "  trend+seasonal:12 vs statsmodels (maxiter 1000): $(ratio "$r_bsm1" "$r_sm_full")"
echo "  trend+seasonal:12 vs R StructTS BSM:             $(ratio "$r_bsm1" "$r_sts")"
echo "  auto vs R forecast::ets:                         $(ratio "$r_auto1" "$r_ets")"
echo "  wall -j 2 over -j 1:                             $(awk -v a="$w_bsm2" -v b="$w_bsm1" 'BEGIN { printf "%.2f", a / b }')"

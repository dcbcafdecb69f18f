#!/bin/sh
# bench/ssm/arima.sh: ARIMA speed against R's forecast package on the
# bench/ssm batch (simulated monthly series of length 144, run.sh's
# generator): ssm-forecast --model auto-arima against forecast::auto.arima,
# and the airline model arima(0,1,1)(0,1,1)[12] against
# forecast::Arima(order = c(0,1,1), seasonal = c(0,1,1)), each fit
# followed by a 12-step forecast with 80/95 % intervals.  Rates are series
# per CPU second (user + sys) and per wall second, best and median of RUNS
# runs, ssm-forecast single-threaded (-j 1), R with one BLAS thread.  The
# agreement lines compare the models chosen and the AICc reached on the
# series R fits.  Run from a built tree:  sh bench/ssm/arima.sh
# Environment: NSERIES (ssm-forecast, default 200), NPEER (R, default 20),
# RUNS (default 3), BUILD.
set -e
NSERIES=${NSERIES:-200}
NPEER=${NPEER:-20}
RUNS=${RUNS:-3}
BUILD=${BUILD:-.}
tool="$BUILD/tools/ssm-forecast"
[ -x "$tool" ] || { echo "bench/ssm/arima: build first ($tool missing)" >&2; exit 1; }
dir=$(mktemp -d /tmp/bench-arima.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# run.sh's generator (basic structural model, seed 7)
awk -v ns="$NSERIES" -v seed=7 'function nrm() { return sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand()) }
    BEGIN { srand(seed); print "seq,t,y"
        for (s = 1; s <= ns; s++) {
            lev = 100 + 20 * rand(); sl = 0.2 * nrm(); for (j = 0; j < 11; j++) g[j] = 3 * nrm()
            for (t = 1; t <= 144; t++) {
                printf "%d,%d,%.4f\n", s, t, lev + g[0] + 1.0 * nrm()
                lev += sl + 0.5 * nrm(); sl += 0.02 * nrm()
                ng = 0.2 * nrm(); for (j = 0; j < 11; j++) ng -= g[j]
                for (j = 10; j > 0; j--) g[j] = g[j - 1]; g[0] = ng
            } } }' >"$dir/series.csv"
awk -F, -v n="$NPEER" 'NR == 1 || $1 <= n' "$dir/series.csv" >"$dir/peer.csv"

echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "series: $NSERIES x 144 monthly for ssm-forecast, the first $NPEER for R; $RUNS runs each"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# stats N "cpu wall" lines -> "best median" rates for cpu and wall
stats() {
    awk -v n="$1" '{ c[NR] = n / $1; w[NR] = n / $2 } END {
        m = NR; for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) { if (c[j] > c[i]) { t = c[i]; c[i] = c[j]; c[j] = t } if (w[j] > w[i]) { t = w[i]; w[i] = w[j]; w[j] = t } }
        med = (m % 2) ? (m + 1) / 2 : m / 2
        printf "%.2f %.2f %.2f %.2f", c[1], c[med], w[1], w[med] }'
}
ours() { # model
    : >"$dir/t.txt"
    for r in $(seq "$RUNS"); do
        /usr/bin/time -f "%U %S %e" -o "$dir/time" "$tool" --model "$1" --period 12 -H 12 -j 1 -q -o "$dir/fc.csv" "$dir/series.csv"
        awk '{ print $1 + $2, $3 }' "$dir/time" >>"$dir/t.txt"
    done
    stats "$NSERIES" <"$dir/t.txt"
}
set -- $(ours auto-arima)
a_c=$1 a_cm=$2 a_w=$3 a_wm=$4
set -- $(ours 'arima(0,1,1)(0,1,1)[12]')
l_c=$1 l_cm=$2 l_w=$3 l_wm=$4
"$tool" --model auto-arima --period 12 -H 1 -j 1 -v -o /dev/null "$dir/peer.csv" 2>&1 | sed -n 's/^ssm-forecast: seq \([0-9]*\): \(.*\), loglik [^ ]* aicc \([^ ]*\) .*/\1 \3 \2/p' >"$dir/ours-auto.txt"

r_line="R not installed"
if command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(forecast)' >/dev/null 2>&1; then
    cat >"$dir/r.R" <<'RS'
suppressMessages(library(forecast))
a <- commandArgs(TRUE)
d <- read.csv(a[1]); s <- split(d$y, d$seq)
what <- a[2]
t <- system.time(for (i in seq_along(s)) {
    y <- ts(s[[i]], frequency = 12)
    f <- if (what == "auto") auto.arima(y) else Arima(y, order = c(0, 1, 1), seasonal = c(0, 1, 1))
    fc <- forecast(f, h = 12, level = c(80, 95))
    if (what == "auto") cat(names(s)[i], sprintf("%.6f", f$aicc), forecast:::arima.string(f), "\n", file = a[3], append = TRUE)
})
cat(t[["user.self"]] + t[["sys.self"]], t[["elapsed"]], "\n")
RS
    rr() { # what
        : >"$dir/rt.txt"
        for r in $(seq "$RUNS"); do
            [ "$1" = auto ] && : >"$dir/r-auto.txt"
            OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 Rscript "$dir/r.R" "$dir/peer.csv" "$1" "$dir/r-auto.txt" 2>/dev/null >>"$dir/rt.txt"
        done
        stats "$NPEER" <"$dir/rt.txt"
    }
    set -- $(rr auto)
    ra_c=$1 ra_cm=$2 ra_w=$3 ra_wm=$4
    set -- $(rr airline)
    rl_c=$1 rl_cm=$2 rl_w=$3 rl_wm=$4
    same=$(awk 'NR == FNR { n[$1] = substr($0, index($0, $3)); a[$1] = $2; next } { sub(/ *$/, ""); m = substr($0, index($0, $3)); if (m == n[$1]) s++; if (a[$1] <= $2 + 1e-4) le++; t++ } END { printf "%d %d %d", s, le, t }' "$dir/ours-auto.txt" "$dir/r-auto.txt")
    set -- $same
    r_line="agreement on R's $3 series: same model $1, our AICc <= R's + 1e-4 (-v shows 4 decimals) on $2"
    echo "R forecast::auto.arima:        CPU best $ra_c median $ra_cm, wall best $ra_w median $ra_wm series/s"
    echo "R forecast::Arima airline:     CPU best $rl_c median $rl_cm, wall best $rl_w median $rl_wm series/s"
fi
echo "ssm-forecast auto-arima:       CPU best $a_c median $a_cm, wall best $a_w median $a_wm series/s"
echo "ssm-forecast airline:          CPU best $l_c median $l_cm, wall best $l_w median $l_wm series/s"
if [ -n "$ra_c" ]; then
    echo "ratios (CPU, median over median): auto-arima $(awk -v a="$a_cm" -v b="$ra_cm" 'BEGIN { printf "%.1fx", a / b }'), airline $(awk -v a="$l_cm" -v b="$rl_cm" 'BEGIN { printf "%.1fx", a / b }')"
fi
echo "$r_line"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

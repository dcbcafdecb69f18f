#!/bin/sh
# bench/ssm: fit and forecast monthly series of length 144 against the
# peers, in the same run: trend+seasonal:12 against statsmodels'
# UnobservedComponents (lltrend + seasonal 12, exact diffuse) and R's
# StructTS, ETS (the automatic choice) against R's forecast::ets, and
# --model auto (structural or ETS per series).  Each timing is repeated
# RUNS times (CPU = user + sys of the process, and wall), and min / median
# are reported; peers are timed on the first NPEER series and reported per
# series.  The likelihoods are compared on the peers' series: ours must be
# the same or better (structural: statsmodels' exact diffuse loglik + 13/2
# log 2 pi, see ssm-forecast(1); ETS: the chosen model's AICc in R's
# convention).  Run from a built tree:  sh bench/ssm/run.sh
# Environment: NSERIES (default 1000), NPEER (default 100), NAUTO (series
# for the auto row, default 200: it fits both families at two origins),
# RUNS (default 3), BUILD (build tree, default .), ROWS (our rows, default
# "bsm ets auto bsm2"), NO_R=1 (no R rows).
set -e
NSERIES=${NSERIES:-1000}
NPEER=${NPEER:-100}
NAUTO=${NAUTO:-200}
RUNS=${RUNS:-3}
ROWS=${ROWS:-bsm ets auto bsm2}
want() { case " $ROWS " in *" $1 "*) return 0 ;; esac; return 1; }
BUILD=${BUILD:-.}
tool="$BUILD/tools/ssm-forecast"
[ -x "$tool" ] || { echo "bench/ssm: build first ($tool missing)" >&2; exit 1; }
dir=$(mktemp -d /tmp/bench-ssm.XXXXXX)
trap 'rm -rf "$dir"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

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
awk -F, -v n="$NAUTO" 'NR == 1 || $1 <= n' "$dir/series.csv" >"$dir/auto.csv"

# stats FILE: "min median" of the numbers in FILE (one per line)
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.4g %.4g", v[1], m }'; }
# timed NAME N CMD...: run CMD RUNS times; seconds per series (CPU and
# wall) go to NAME.cpu and NAME.wall.  peer_timed: the same for a peer
# script that prints "CPU WALL" seconds of its fitting loop (interpreter
# start and package loading left out, as they are paid once per batch).
peer_timed() {
    name=$1 n=$2
    shift 2
    : >"$dir/$name.cpu"
    : >"$dir/$name.wall"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        "$@" >"$dir/ptime" 2>/dev/null
        awk -v n="$n" '{ printf "%.6g\n", $1 / n >> cpu; printf "%.6g\n", $2 / n >> wall }' \
            cpu="$dir/$name.cpu" wall="$dir/$name.wall" "$dir/ptime"
        i=$((i + 1))
    done
}
timed() {
    name=$1 n=$2
    shift 2
    : >"$dir/$name.cpu"
    : >"$dir/$name.wall"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        /usr/bin/time -f "%U %S %e" -o "$dir/time" "$@" >/dev/null
        awk -v n="$n" '{ printf "%.6g\n", ($1 + $2) / n >> cpu; printf "%.6g\n", $3 / n >> wall }' \
            cpu="$dir/$name.cpu" wall="$dir/$name.wall" "$dir/time"
        i=$((i + 1))
    done
}
row() { # NAME LABEL: series per CPU second and per wall second (from the min and median times)
    set -- "$1" "$2" $(stats "$dir/$1.cpu") $(stats "$dir/$1.wall")
    printf "| %s | %.1f / %.1f | %.1f / %.1f |\n" "$2" "$(awk -v t="$3" 'BEGIN { print 1 / t }')" "$(awk -v t="$4" 'BEGIN { print 1 / t }')" \
        "$(awk -v t="$5" 'BEGIN { print 1 / t }')" "$(awk -v t="$6" 'BEGIN { print 1 / t }')"
}
echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "series: $NSERIES x 144 monthly (peers: first $NPEER); $RUNS runs each; series per second, best / median run"
echo
echo "| what | series / CPU s | series / wall s |"
echo "| --- | ---: | ---: |"

if want bsm; then
    timed bsm "$NSERIES" "$tool" --model trend+seasonal:12 -H 12 -j 1 -q -o "$dir/fc-bsm.csv" "$dir/series.csv"
    row bsm "ssm-forecast trend+seasonal:12 -j 1"
fi
if want ets; then
    timed ets "$NSERIES" "$tool" --model ets --period 12 -H 12 -j 1 -q -o "$dir/fc-ets.csv" "$dir/series.csv"
    row ets "ssm-forecast ets --period 12 -j 1"
fi
if want auto; then
    timed auto "$NAUTO" "$tool" --model auto --period 12 -H 12 -j 1 -q -o "$dir/fc-auto.csv" "$dir/auto.csv"
    row auto "ssm-forecast auto --period 12 -j 1 (structural, ETS or ARIMA; first $NAUTO series)"
fi
same=not-run
if want bsm2 && want bsm; then
    timed bsm2 "$NSERIES" "$tool" --model trend+seasonal:12 -H 12 -j 2 -q -o "$dir/fc-bsm2.csv" "$dir/series.csv"
    row bsm2 "ssm-forecast trend+seasonal:12 -j 2"
    cmp -s "$dir/fc-bsm.csv" "$dir/fc-bsm2.csv" && same=yes || same=NO
fi

have_sm=0 have_r=0
/usr/bin/python3 -c 'import statsmodels' 2>/dev/null && have_sm=1
[ -z "$NO_R" ] && command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(forecast)' >/dev/null 2>&1 && have_r=1
if [ "$have_sm" = 1 ]; then
    cat >"$dir/sm.py" <<'PY'
import math, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
import statsmodels.api as sm
d = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
maxiter, out = int(sys.argv[2]), open(sys.argv[3], "w")
c0, w0 = time.process_time(), time.perf_counter()
for s in np.unique(d[:, 0]):
    y = d[d[:, 0] == s, 2]
    r = sm.tsa.UnobservedComponents(y, "lltrend", seasonal=12, use_exact_diffuse=True).fit(disp=False, maxiter=maxiter)
    r.get_forecast(12).summary_frame(alpha=0.05)
    out.write("%d %.8f\n" % (s, r.llf + 6.5 * math.log(2 * math.pi)))
print(time.process_time() - c0, time.perf_counter() - w0)
PY
    peer_timed sm50 "$NPEER" /usr/bin/python3 -W ignore "$dir/sm.py" "$dir/peer.csv" 50 "$dir/sm50.ll"
    row sm50 "statsmodels UnobservedComponents, exact diffuse, maxiter 50"
    peer_timed sm1000 "$NPEER" /usr/bin/python3 -W ignore "$dir/sm.py" "$dir/peer.csv" 1000 "$dir/sm1000.ll"
    row sm1000 "statsmodels, same, maxiter 1000"
fi
if [ "$have_r" = 1 ]; then
    cat >"$dir/r.R" <<'RS'
suppressMessages(library(forecast))
a <- commandArgs(TRUE)
d <- read.csv(a[1]); s <- split(d$y, d$seq)
out <- file(a[3], "w")
t0 <- proc.time()
for (k in names(s)) {
    y <- ts(s[[k]], frequency = 12)
    if (a[2] == "ets") {
        f <- ets(y); forecast(f, h = 12)
        cat(k, f$method, sprintf("%.8f %.8f", f$loglik, f$aicc), "\n", file = out)
    } else suppressWarnings(predict(StructTS(y, "BSM"), n.ahead = 12))
}
close(out)
t <- proc.time() - t0
cat(t[["user.self"]] + t[["sys.self"]], t[["elapsed"]], "\n")
RS
    peer_timed rets "$NPEER" Rscript "$dir/r.R" "$dir/peer.csv" ets "$dir/rets.txt"
    row rets "R forecast::ets (automatic), forecast 12"
    peer_timed rsts "$NPEER" Rscript "$dir/r.R" "$dir/peer.csv" sts "$dir/rsts.txt"
    row rsts "R StructTS BSM, predict 12"
fi
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "-j 2 gives the same bytes as -j 1: $same"

# ratios per CPU second from the median runs (and from the best runs)
ratio() { # OURS PEER
    [ -s "$dir/$1.cpu" ] && [ -s "$dir/$2.cpu" ] || { echo "not run"; return; }
    a=$(stats "$dir/$1.cpu") b=$(stats "$dir/$2.cpu")
    set -- $a $b
    awk -v a1="$1" -v a2="$2" -v b1="$3" -v b2="$4" 'BEGIN { printf "%.0fx (best runs %.0fx)", b2 / a2, b1 / a1 }'
}
echo "ratios per CPU second, median runs:"
[ "$have_sm" = 1 ] && echo "  trend+seasonal:12 vs statsmodels maxiter 50:   $(ratio bsm sm50)"
[ "$have_sm" = 1 ] && echo "  trend+seasonal:12 vs statsmodels maxiter 1000: $(ratio bsm sm1000)"
[ "$have_r" = 1 ] && echo "  trend+seasonal:12 vs R StructTS:               $(ratio bsm rsts)"
[ "$have_r" = 1 ] && echo "  ets vs R forecast::ets:                        $(ratio ets rets)"
[ "$have_r" = 1 ] && echo "  auto vs R forecast::ets:                       $(ratio auto rets)"

# likelihoods on the peers' series
"$tool" --model trend+seasonal:12 -H 1 -j 1 -v -o /dev/null "$dir/peer.csv" 2>&1 |
    awk '{ for (i = 1; i <= NF; i++) if ($i == "loglik") print $3 + 0, $(i + 1) }' >"$dir/ours-bsm.ll"
"$tool" --model ets --period 12 -H 1 -j 1 -v -o /dev/null "$dir/peer.csv" 2>&1 |
    awk '{ for (i = 1; i <= NF; i++) if ($i == "aicc") print $3 + 0, $(i + 1) }' >"$dir/ours-ets.aicc"
cmpll() { # PEERFILE OURSFILE: ours - peer (second columns) over the common series
    sort "$1" >"$dir/a.s"
    sort "$2" >"$dir/b.s"
    join "$dir/a.s" "$dir/b.s" | awk '{ d = $3 - $2; if (d < -1e-6) w++; else if (d > 1e-6) b++; else s++; if (NR == 1 || d < mn) mn = d }
        END { printf "%d series: better %d, same (1e-6) %d, worse %d; smallest difference %.3g", NR, b, s, w, mn }'
}
if [ "$have_sm" = 1 ]; then
    echo "trend+seasonal:12 loglik, ours - statsmodels maxiter 1000: $(cmpll "$dir/sm1000.ll" "$dir/ours-bsm.ll")"
fi
if [ "$have_r" = 1 ]; then
    # R's AICc: ours + n (1 + log(2 pi / n)) with n = 144; lower is better
    awk '{ print $1, -($4) }' "$dir/rets.txt" >"$dir/rets.neg"
    awk '{ n = 144; print $1, -($2 - n * (1 + log(2 * 3.141592653589793 / n))) }' "$dir/ours-ets.aicc" >"$dir/ours-ets.neg"
    echo "ets chosen model's AICc in R's convention, R's - ours: $(cmpll "$dir/rets.neg" "$dir/ours-ets.neg")"
fi

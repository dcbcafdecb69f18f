#!/bin/sh
# bench/pf/backward.sh: cost of the default backward sampler of FFBSi and
# PaRIS against N on the stochastic volatility model (built in), simulated
# data, T steps: CPU seconds (user + system, -j 1) and wall-clock seconds,
# min and median of 3 runs, the load average, and the share of backward
# draws made by the MH fallback and by the exact O(N) draw.  Not a test.
#   BW_BENCH_NS="1000 10000 100000"   particle counts
#   BW_BENCH_T=500                    time steps
#   BW_BENCH_OLD=path/to/pf-smooth    an older pf-smooth to time alongside
#   BW_BENCH_OLD_MAX=10000            largest N given to the older one
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tool=${PF_SMOOTH:-$top/tools/pf-smooth}
[ -x "$tool" ] || { echo "bench/pf/backward.sh: build first ($tool missing)"; exit 1; }
ns=${BW_BENCH_NS:-"1000 10000 100000"}
T=${BW_BENCH_T:-500}
old=${BW_BENCH_OLD:-}
oldmax=${BW_BENCH_OLD_MAX:-10000}
work=$(mktemp -d /tmp/bwbench.XXXXXX)
trap 'rm -rf "$work"' EXIT

awk -v T="$T" 'BEGIN { srand(7); print "t,y"; x = 0.2 / sqrt(1 - 0.97 ^ 2) * g()
    for (t = 1; t <= T; t++) { if (t > 1) x = 0.97 * x + 0.2 * g(); printf "%d,%.10g\n", t, exp(x / 2) * g() } }
    function g() { return sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand()) }' >"$work/sv.csv"
cat >"$work/sv.yaml" <<'EOY'
model: pf
version: 1
builtin: stochastic-volatility
parameters: {mu: 0, phi: 0.97, sigma: 0.2}
EOY

# three runs: "cpu_min cpu_median wall_min wall_median"
runs() {
    for i in 1 2 3; do
        /usr/bin/time -f "%U %S %e" -o "$work/time" "$@" >/dev/null 2>&1
        awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }' "$work/time"
    done >"$work/runs"
    c=$(cut -d' ' -f1 "$work/runs" | sort -n | tr '\n' ' ')
    w=$(cut -d' ' -f2 "$work/runs" | sort -n | tr '\n' ' ')
    echo "$c" "$w" | awk '{ printf "%s %s %s %s", $1, $2, $4, $5 }'
}

echo "backward samplers, built-in SV (mu 0, phi 0.97, sigma 0.2), T = $T, -j 1; seconds: cpu min/median, wall min/median"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%8s %-7s %-10s %8s %8s %8s %8s %10s %8s %8s\n" N smoother version cpu-min cpu-med wall-min wall-med "cpu/N(us)" fallback exact
for n in $ns; do
    for sm in ffbsi paris; do
        for v in new old; do
            bin=$tool
            if [ $v = old ]; then
                [ -n "$old" ] && [ "$n" -le "$oldmax" ] || continue
                bin=$old
            fi
            set -- $(runs "$bin" -m "$work/sv.yaml" -N "$n" --smoother $sm -j 1 "$work/sv.csv")
            rates=$("$bin" -v -m "$work/sv.yaml" -N "$n" --smoother $sm -j 1 "$work/sv.csv" 2>&1 >/dev/null |
                awk '/MH fallback/ { f = $4; x = $9 } END { printf "%s %s", f == "" ? "-" : f, x == "" ? "-" : x }')
            printf "%8s %-7s %-10s %8s %8s %8s %8s %10.2f %8s %8s\n" "$n" $sm $v "$1" "$2" "$3" "$4" \
                "$(awk -v c="$1" -v n="$n" 'BEGIN { print c / n * 1e6 }')" $rates
        done
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

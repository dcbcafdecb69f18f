#!/bin/sh
# bench/pf: particle-steps per second of the bootstrap filter on the
# stochastic volatility model (built-in and YAML) against a numpy-vectorised
# bootstrap filter on the same data in the same run, with the core's
# roofline, then PaRIS / FFBSi time against N.  Run from a built tree
# (make bench, or sh bench/pf/run.sh).  Not a test.
#   PF_BENCH_NS="10000 100000 1000000"  particle counts for the filter
#   PF_BENCH_REPS=3                      runs of each, interleaved
#   PF_BENCH_NUMPY_MAX=1000000           largest N given to numpy
#   PF_SMOOTH_BEFORE=path                an older pf-smooth for a "before" column
#   PF_BENCH_SMOOTHERS=1                 also time the smoothers (slow)
#   PF_BENCH_SMOOTH_NS="1000 4000 16000 64000"  particle counts for the smoothers
#   PF_BENCH_HYBRID_MAX=4000             largest N for the hybrid sampler (O(N^2) when rejection fails)
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tool=${PF_SMOOTH:-$top/tools/pf-smooth}
[ -x "$tool" ] || { echo "bench/pf: build first ($tool missing)"; exit 1; }
before=${PF_SMOOTH_BEFORE:-}
ns=${PF_BENCH_NS:-"10000 100000 1000000"}
reps=${PF_BENCH_REPS:-3}
npmax=${PF_BENCH_NUMPY_MAX:-1000000}
sns=${PF_BENCH_SMOOTH_NS:-"1000 4000 16000 64000"}
T=1000
work=$(mktemp -d /tmp/pfbench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Simulated SV data (mu 0, phi 0.97, sigma 0.2), T = 1000, with awk's
# generator (Box-Muller) so that the benchmark needs no peer to run.
awk -v T=$T 'BEGIN { srand(7); print "t,y"; x = 0.2 / sqrt(1 - 0.97 ^ 2) * g()
    for (t = 1; t <= T; t++) { if (t > 1) x = 0.97 * x + 0.2 * g(); printf "%d,%.10g\n", t, exp(x / 2) * g() } }
    function g() { return sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand()) }' >"$work/sv.csv"
cat >"$work/sv-builtin.yaml" <<'EOY'
model: pf
version: 1
builtin: stochastic-volatility
parameters: {mu: 0, phi: 0.97, sigma: 0.2}
EOY
cp "$top/data/pf-sv.yaml" "$work/sv-yaml.yaml"

# time_run NAME CMD...: append "NAME cpu wall" (CPU = user + system).
time_run() {
    name=$1
    shift
    /usr/bin/time -f "%U %S %e" -o "$work/time" "$@" >/dev/null 2>"$work/err" || {
        echo "bench/pf: $name failed:" >&2
        cat "$work/err" >&2
        exit 1
    }
    awk -v n="$name" '{ printf "%s %.3f %.3f\n", n, $1 + $2, $3 }' "$work/time" >>"$work/times"
}
# numpy reports its own CPU and wall time of the filter (after loading)
time_numpy() {
    /usr/bin/python3 "$here/sv_numpy.py" "$work/sv.csv" "$2" 1 |
        awk -v n="$1" '{ printf "%s %.3f %.3f\n", n, $2, $3 }' >>"$work/times"
}
have_numpy=0
/usr/bin/python3 -c "import numpy" 2>/dev/null && have_numpy=1

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores," \
    "$(grep -m1 'cpu MHz' /proc/cpuinfo | sed 's/.*: //') MHz," \
    "$(grep -o -w -m1 -e avx512f /proc/cpuinfo | head -1) $(grep -o -w -m1 -e avx2 /proc/cpuinfo | head -1) $(grep -o -w -m1 -e fma /proc/cpuinfo | head -1)"
echo "pf-smooth: $("$tool" --version | head -1), SIMD path $("$tool" -v -m "$work/sv-builtin.yaml" -N 2 --loglik "$work/sv.csv" 2>&1 >/dev/null | sed -n 's/.*SIMD path \([a-z0-9]*\).*/\1/p')"
[ -n "$before" ] && echo "before: $before"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

: >"$work/times"
for n in $ns; do
    for r in $(seq 1 "$reps"); do
        time_run "blt1-$n" "$tool" -m "$work/sv-builtin.yaml" -N "$n" --always --loglik -j 1 "$work/sv.csv"
        time_run "blt2-$n" "$tool" -m "$work/sv-builtin.yaml" -N "$n" --always --loglik -j 2 "$work/sv.csv"
        time_run "yaml1-$n" "$tool" -m "$work/sv-yaml.yaml" -N "$n" --always --loglik -j 1 "$work/sv.csv"
        time_run "avx2-$n" env ST_SIMD=avx2 "$tool" -m "$work/sv-builtin.yaml" -N "$n" --always --loglik -j 1 "$work/sv.csv"
        [ -n "$before" ] && time_run "before1-$n" "$before" -m "$work/sv-builtin.yaml" -N "$n" --always --loglik -j 1 "$work/sv.csv"
        [ $have_numpy = 1 ] && [ "$n" -le "$npmax" ] && time_numpy "numpy-$n" "$n"
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

# min and median over the runs: M particle-steps per CPU second and per
# wall second (particle-steps = N T)
stats() { # NAME COLUMN(2 cpu, 3 wall) -> "min median" seconds
    awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$work/times" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "- -"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print v[1], m }'
}
rate() { awk -v n="$1" -v s="$2" -v T=$T 'BEGIN { if (s == "-" || s <= 0) print "-"; else printf "%.1f", n * T / s / 1e6 }'; }

echo
echo "Bootstrap filter, SV, T = $T, systematic resampling at every step (--always --loglik)."
echo "M particle-steps per second: per CPU second (user + sys) and per wall second, best / median of $reps."
printf "%-9s %-8s %14s %14s %14s %14s\n" N program "cpu best" "cpu median" "wall best" "wall median"
for n in $ns; do
    for p in blt1 blt2 yaml1 avx2 before1 numpy; do
        set -- $(stats "$p-$n" 2) $(stats "$p-$n" 3)
        [ "$1" = - ] && continue
        label=$p
        case $p in blt1) label="built-in -j1" ;; blt2) label="built-in -j2" ;; yaml1) label="YAML -j1" ;;
            avx2) label="built-in -j1 ST_SIMD=avx2" ;; before1) label="before -j1" ;; esac
        printf "%-9s %-26s %8s %8s %8s %8s\n" "$n" "$label" "$(rate "$n" "$1")" "$(rate "$n" "$2")" "$(rate "$n" "$3")" "$(rate "$n" "$4")"
    done
done

echo
echo "Ratios of median CPU time (per core): numpy / built-in, numpy / YAML, YAML / built-in, before / built-in, numpy / built-in with ST_SIMD=avx2"
for n in $ns; do
    b=$(stats "blt1-$n" 2 | cut -d' ' -f2)
    y=$(stats "yaml1-$n" 2 | cut -d' ' -f2)
    v=$(stats "avx2-$n" 2 | cut -d' ' -f2)
    np=$(stats "numpy-$n" 2 | cut -d' ' -f2)
    bf=$(stats "before1-$n" 2 | cut -d' ' -f2)
    awk -v n="$n" -v b="$b" -v y="$y" -v v="$v" -v np="$np" -v bf="$bf" 'function r(a, c) { return (a == "-" || c == "-" || c <= 0) ? "-" : sprintf("%.2fx", a / c) }
        BEGIN { printf "%-9s numpy/blt %s  numpy/yaml %s  yaml/blt %s  before/blt %s  numpy/blt-avx2 %s\n", n, r(np, b), r(np, y), r(y, b), r(bf, b), r(np, v) }'
done

# Roofline: the filter step's arithmetic and memory traffic per
# particle-step (counted from the kernels, see bench/RESULTS.md) against
# the core's measured FMA and triad ceilings.
if command -v cc >/dev/null 2>&1 && cc -O2 -o "$work/roofline" "$here/roofline.c" 2>/dev/null; then
    "$work/roofline" >"$work/roof"
    f512=$(awk '$1 == "fma512" { print $2 }' "$work/roof")
    f256=$(awk '$1 == "fma256" { print $2 }' "$work/roof")
    bw=$(awk '$1 == "triad" { print $2 }' "$work/roof")
    echo
    echo "roofline: measured FP64 FMA peak $f512 GFLOP/s (AVX-512), $f256 GFLOP/s (AVX2); triad $bw GB/s (one core, CPU time)"
    echo "filter step: 91 flops and 32 bytes of memory traffic per particle-step (--always --loglik)"
    for n in $ns; do
        c=$(stats "blt1-$n" 2 | cut -d' ' -f1)
        a=$(stats "avx2-$n" 2 | cut -d' ' -f1)
        awk -v n="$n" -v c="$c" -v a="$a" -v T=$T -v f512="$f512" -v f256="$f256" -v bw="$bw" 'BEGIN {
            r = n * T / c; ra = n * T / a
            fmt = "%-9s best path: %.1f GFLOP/s (%.0f%% of %s), %.1f GB/s (%.0f%% of triad); AVX2: %.1f GFLOP/s (%.0f%% of %s)\n"
            p512 = f512 > 0 ? 9100 * r / 1e9 / f512 : 0
            printf fmt, n, 91 * r / 1e9, p512, f512, 32 * r / 1e9, 3200 * r / 1e9 / bw, 91 * ra / 1e9, 9100 * ra / 1e9 / f256, f256 }'
    done
fi

[ "${PF_BENCH_SMOOTHERS:-0}" = 1 ] || exit 0
echo
echo "smoothers on the SV model (built-in), T = $T, -j 2: wall seconds (one run); hybrid = rejection then exact draws, mcmc = 1 MH move from the ancestor"
secs() {
    s=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
}
printf "%7s %9s %11s %11s %12s %12s %11s %11s\n" N filter ffbsi-mcmc paris-mcmc ffbsi-hybrid paris-hybrid "ffbsi-m/N" "paris-m/N"
for n in $sns; do
    f=$(secs "$tool" -m "$work/sv-builtin.yaml" -N "$n" --loglik -j 2 "$work/sv.csv")
    fm=$(secs "$tool" -m "$work/sv-builtin.yaml" -N "$n" --smoother ffbsi --mcmc 1 -j 2 "$work/sv.csv")
    pm=$(secs "$tool" -m "$work/sv-builtin.yaml" -N "$n" --smoother paris --mcmc 1 -j 2 "$work/sv.csv")
    fh=- ph=-
    if [ "$n" -le "${PF_BENCH_HYBRID_MAX:-4000}" ]; then
        fh=$(secs "$tool" -m "$work/sv-builtin.yaml" -N "$n" --smoother ffbsi -j 2 "$work/sv.csv")
        ph=$(secs "$tool" -m "$work/sv-builtin.yaml" -N "$n" --smoother paris -j 2 "$work/sv.csv")
    fi
    printf "%7s %9s %11s %11s %12s %12s %11s %11s\n" "$n" "$f" "$fm" "$pm" "$fh" "$ph" \
        "$(awk -v a="$fm" -v n="$n" 'BEGIN { printf "%.2e", a / n }')" \
        "$(awk -v a="$pm" -v n="$n" 'BEGIN { printf "%.2e", a / n }')"
done

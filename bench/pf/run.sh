#!/bin/sh
# bench/pf: particle-steps per second of the bootstrap filter on the
# stochastic volatility model (built-in and YAML) against a numpy-vectorised
# bootstrap filter on the same data in the same run, thread scaling, and
# PaRIS / FFBSi time against N.  Run from a built tree (make bench, or
# sh bench/pf/run.sh).  Not a test.
#   PF_BENCH_NS="1000 10000 100000 1000000"  particle counts for the filter
#   PF_BENCH_NUMPY_MAX=100000                  largest N given to numpy
#   PF_BENCH_SMOOTH_NS="1000 4000 16000 64000"  particle counts for the smoothers
#   PF_BENCH_HYBRID_MAX=4000                   largest N for the hybrid sampler (O(N^2) when rejection fails)
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tool=${PF_SMOOTH:-$top/tools/pf-smooth}
[ -x "$tool" ] || { echo "bench/pf: build first ($tool missing)"; exit 1; }
ns=${PF_BENCH_NS:-"1000 10000 100000 1000000"}
npmax=${PF_BENCH_NUMPY_MAX:-100000}
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

secs() { # run a command, print its wall-clock seconds
    s=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }'
}
cpu() { # run a command, print its CPU seconds (user + system): steadier than
        # wall-clock time on a shared machine, and right for one thread
    /usr/bin/time -f "%U %S" -o "$work/time" "$@" >/dev/null 2>&1
    awk '{ printf "%.3f", $1 + $2 }' "$work/time"
}
best() { # best of 3 wall-clock times
    b=
    for i in 1 2 3; do
        t=$(secs "$@")
        b=$(awk -v a="$b" -v t="$t" 'BEGIN { print (a == "" || t < a) ? t : a }')
    done
    echo "$b"
}
bestcpu() { # best of 3 CPU times
    b=
    for i in 1 2 3; do
        t=$(cpu "$@")
        b=$(awk -v a="$b" -v t="$t" 'BEGIN { print (a == "" || t < a) ? t : a }')
    done
    echo "$b"
}
mps() { awk -v n="$1" -v s="$2" -v T=$T 'BEGIN { printf "%.1f", n * T / s / 1e6 }'; }

have_numpy=0
/usr/bin/python3 -c "import numpy" 2>/dev/null && have_numpy=1
echo "bootstrap filter, SV model, T = $T, systematic resampling at every step; M particle-steps/s, best of 3"
echo "(-j 1 columns and numpy from CPU time, the -j 2 column from wall-clock time)"
printf "%9s %12s %12s %12s %12s %10s %10s\n" N builtin-j1 builtin-j2 yaml-j1 numpy "j1/numpy" "yaml/blt"
for n in $ns; do
    b1=$(bestcpu "$tool" -m "$work/sv-builtin.yaml" -N "$n" --always --loglik -j 1 "$work/sv.csv")
    b2=$(best "$tool" -m "$work/sv-builtin.yaml" -N "$n" --always --loglik -j 2 "$work/sv.csv")
    y1=$(bestcpu "$tool" -m "$work/sv-yaml.yaml" -N "$n" --always --loglik -j 1 "$work/sv.csv")
    np=-
    if [ $have_numpy = 1 ] && [ "$n" -le "$npmax" ]; then
        np=$(for i in 1 2 3; do /usr/bin/python3 "$here/sv_numpy.py" "$work/sv.csv" "$n" 1 | cut -d' ' -f2; done | sort -n | head -1)
    fi
    ratio=-
    [ "$np" != - ] && ratio=$(awk -v a="$np" -v b="$b1" 'BEGIN { printf "%.1fx", a / b }')
    yr=$(awk -v a="$y1" -v b="$b1" 'BEGIN { printf "%.2fx", a / b }')
    npr=-
    [ "$np" != - ] && npr=$(mps "$n" "$np")
    printf "%9s %12s %12s %12s %12s %10s %10s\n" "$n" "$(mps "$n" "$b1")" "$(mps "$n" "$b2")" "$(mps "$n" "$y1")" "$npr" "$ratio" "$yr"
done

echo
echo "smoothers on the SV model (built-in), T = $T, -j 2: seconds (one run); hybrid = rejection then exact draws, mcmc = 1 MH move from the ancestor"
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
"$tool" -v -m "$work/sv-builtin.yaml" -N 2000 --smoother paris "$work/sv.csv" 2>&1 >/dev/null | grep accepted | sed 's/^/hybrid: /' || true
"$tool" -v -m "$work/sv-builtin.yaml" -N 2000 --smoother paris --mcmc 1 "$work/sv.csv" 2>&1 >/dev/null | grep accepted | sed 's/^/mcmc: /' || true

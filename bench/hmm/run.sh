#!/bin/sh
# bench/hmm: seconds per Baum-Welch (EM) iteration of hmm-fit against GHMM's
# C library (Debian libghmm-dev; discrete case only) and a vectorised numpy
# forward-backward, same data, same machine, same run.  Cases of issues 3
# and 19:
#   (a) categorical, 8 states, 16 symbols, 100 sequences x 10,000
#   (b) Gaussian diag, 32 states, 4 dimensions, 100 x 10,000
#   (c) Gaussian diag, 256 states, 4 dimensions, 10 x 10,000
# and of issue 21:
#   (h) hidden semi-Markov, 4 states, Poisson durations up to 60, one
#       Gaussian column, 20 x 2,000, against the numpy EM on the expanded
#       (state, steps left) chain of tests/cli/hsmm_numpy_ref.py.
# hmm-fit's time per iteration is (t(1+N) - t(1)) / N for fits from the same
# --init model, so reading, setup and the final E-step cancel; GHMM's the
# same with its own nstep runs; numpy's the median of timed iterations.
# Each figure is taken R times (default 3): min and median of CPU seconds
# (user + system, which the other load of a shared machine disturbs much
# less than wall time) and the median wall time.  The load average is
# printed with the figures.  For (c) the K^2 kernels' GFLOP/s are compared
# with the core's FP64 peak: from lscpu's clock (2 FMA x 4 doubles x 2
# flops per cycle, as issue 19 defines it) and as measured by an AVX2 FMA
# loop in the same run (the turbo clock and any sharing of the core).
# Run from a built tree (make bench, or sh bench/hmm/run.sh); figures go to
# bench/RESULTS.md by hand.  Environment: N (iterations, default 4), R
# (repeats, default 3), CASES (default "a b c h"), KEEP=1 keeps the data.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${BUILD:-$top}/tools
PY=/usr/bin/python3
N=${N:-4}
R=${R:-3}
CASES=${CASES:-"a b c h"}
work=$(mktemp -d "${TMPDIR:-/tmp}/hmmbench.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
[ -x "$bin/hmm-fit" ] || { echo "bench/hmm: build first (no $bin/hmm-fit)" >&2; exit 1; }

now() { date +%s.%N; }
# cpuwall CMD...: "cpu wall" seconds of CMD (output discarded)
cpuwall() {
    t0=$(now)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%U %S' -o "$work/time" "$@" >/dev/null 2>&1
    else
        "$@" >/dev/null 2>&1
        echo "0 0" > "$work/time"
    fi
    t1=$(now)
    awk -v a="$t0" -v b="$t1" '{ printf "%.4f %.4f\n", $1 + $2, b - a }' "$work/time"
}
# minmed FILE COLUMN: "min median" of a column
minmed() { sort -g -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { printf "%.4f %.4f", v[1], v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }

have_numpy=0
[ -x "$PY" ] && "$PY" -c 'import numpy, scipy' 2>/dev/null && have_numpy=1
ghmm=""
if [ -f /usr/lib/x86_64-linux-gnu/libghmm.a ] && [ -d /usr/include/ghmm ]; then
    if ${CC:-cc} -O2 -o "$work/ghmm_bw" "$here/ghmm_bw.c" /usr/lib/x86_64-linux-gnu/libghmm.a -lxml2 -lm 2>"$work/ghmm.err"; then
        ghmm="$work/ghmm_bw"
    else
        echo "bench/hmm: could not build the GHMM peer:" >&2
        sed 's/^/  /' "$work/ghmm.err" | head -5 >&2
    fi
fi
[ "$have_numpy" = 1 ] || { echo "bench/hmm: numpy and scipy are needed (apt-get install python3-scipy)" >&2; exit 1; }
"$PY" "$here/models.py" "$work"
${CC:-cc} -O2 -o "$work/peak" "$here/peak.c"
mhz=$(lscpu 2>/dev/null | awk -F: '/^CPU max MHz/ { printf "%d", $2; exit }')
[ -n "$mhz" ] || mhz=$(awk -F: '/cpu MHz/ { printf "%d", $2; exit }' /proc/cpuinfo 2>/dev/null || echo 0)
peak_m=$("$work/peak")
echo "bench/hmm: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), ${mhz} MHz (lscpu), $(nproc) cores; N=$N iterations, R=$R repeats"
echo "AVX2 FMA peak: $(awk -v m="$mhz" 'BEGIN { printf "%.1f", m / 1000 * 16 }') GFLOP/s from the clock, $peak_m GFLOP/s measured; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU seconds per iteration (single thread), min / median of $R; ratios of the medians; wall medians for -j1/-j2:"
printf '%-4s %-30s %15s %15s %15s %8s %8s %9s %9s\n' case model ours GHMM numpy "vs GHMM" "vs numpy" "wall -j1" "wall -j2"
for c in $CASES; do
    case $c in
    a) n=100 T=10000 K=8 mode=cat desc="categorical K=8 M=16" ;;
    b) n=100 T=10000 K=32 mode=gauss desc="Gaussian diag K=32 D=4" ;;
    c) n=10 T=10000 K=256 mode=gauss desc="Gaussian diag K=256 D=4" ;;
    h) n=20 T=2000 K=4 mode=hsmm desc="HSMM K=4, Poisson durations<=60" ;;
    *) echo "bench/hmm: unknown case $c" >&2; exit 1 ;;
    esac
    if [ $c = h ]; then
        "$bin/hmm-sample" -m "$here/hsmm-truth.yaml" -n $n -T $T --seed 1 -o "$work/$c.csv"
        "$PY" "$top/tests/cli/hsmm_numpy_ref.py" poisson "$work/$c.csv" "$work/$c-init.yaml" 0 $K 60 >/dev/null
        data=$work/$c.csv
    else
        "$bin/hmm-sample" -m "$work/$c-truth.yaml" -n $n -T $T --seed 1 -o "$work/$c.stb"
        "$bin/stoch-cat" "$work/$c.stb" > "$work/$c.csv"
        data=$work/$c.stb
    fi
    : > "$work/ours"
    : > "$work/w1"
    : > "$work/w2"
    : > "$work/gh"
    : > "$work/np"
    for r in $(seq "$R"); do
        fit() { cpuwall "$bin/hmm-fit" -q -j "$1" --init "$work/$c-init.yaml" --max-iter "$2" --tol 1e-300 -o /dev/null "$data"; }
        set -- $(fit 1 1) $(fit 1 $((N + 1)))
        awk -v a="$1" -v b="$3" -v c="$2" -v d="$4" -v n="$N" 'BEGIN { printf "%.4f %.4f\n", (b - a) / n, (d - c) / n }' >> "$work/ours"
        set -- $(fit 2 1) $(fit 2 $((N + 1)))
        awk -v c="$2" -v d="$4" -v n="$N" 'BEGIN { printf "%.4f\n", (d - c) / n }' >> "$work/w2"
        if [ -n "$ghmm" ] && [ $mode = cat ]; then
            g1=$("$ghmm" "$work/$c.csv" $K 16 1 2>/dev/null)
            gn=$("$ghmm" "$work/$c.csv" $K 16 $((N + 1)) 2>/dev/null)
            awk -v a="$g1" -v b="$gn" -v n="$N" 'BEGIN { printf "%.4f\n", (b - a) / n }' >> "$work/gh"
        fi
        if [ $mode = hsmm ]; then
            "$PY" "$top/tests/cli/hsmm_numpy_ref.py" poisson "$work/$c.csv" "$work/np-init.yaml" -2 $K 60 >> "$work/np"
        else
            "$PY" "$here/numpy_em.py" $mode "$work/$c.csv" $K $([ $c = c ] && echo 2 || echo 3) >> "$work/np"
        fi
    done
    set -- $(minmed "$work/ours" 1)
    omin=$1 omed=$2
    wall1=$(minmed "$work/ours" 2 | cut -d' ' -f2)
    wall2=$(minmed "$work/w2" 1 | cut -d' ' -f2)
    gh=- ghmed=-
    [ -s "$work/gh" ] && { gh=$(minmed "$work/gh" 1 | tr ' ' /); ghmed=$(minmed "$work/gh" 1 | cut -d' ' -f2); }
    np=$(minmed "$work/np" 1 | tr ' ' /)
    npmed=$(minmed "$work/np" 1 | cut -d' ' -f2)
    printf '%-4s %-30s %15s %15s %15s %8s %8s %9s %9s\n' "($c)" "$desc, ${n}x$T" "$omin/$omed" "$gh" "$np" \
        "$( [ "$ghmed" = - ] && echo - || ratio "$ghmed" "$omed")" "$(ratio "$npmed" "$omed")" "$wall1" "$wall2"
    case $c in
    a)  # traffic of the lanes' arrays: alpha written and read twice, w and gamma written and read (8 bytes x K each)
        awk -v k=$K -v obs=$((n * T)) -v s="$omin" -v m="$omed" 'BEGIN {
            b = 7 * 8 * k * obs; printf "     (a): %.2f GB per iteration through the forward-backward arrays, %.1f GB/s (min) / %.1f GB/s (median)\n", b / 1e9, b / s / 1e9, b / m / 1e9 }' ;;
    b | c)  # K^2 work per observation: forward 2K^2, backward 2K^2, transition statistics 2K^2
        awk -v k=$K -v obs=$((n * T)) -v s="$omin" -v m="$omed" -v mhz="$mhz" -v pm="$peak_m" -v c=$c 'BEGIN {
            f = 6 * k * k * obs; g = f / s / 1e9; gm = f / m / 1e9; peak = mhz / 1000 * 16
            printf "     (%s): %.1f GFLOP per iteration in the K^2 kernels, %.1f (min) / %.1f (median) GFLOP/s single-threaded", c, f / 1e9, g, gm
            if (peak > 0) printf " = %.0f%% / %.0f%% of the clock peak (%.1f)", 100 * g / peak, 100 * gm / peak, peak
            if (pm > 0) printf ", %.0f%% / %.0f%% of the measured peak (%.1f)", 100 * g / pm, 100 * gm / pm, pm
            printf "\n" }' ;;
    esac
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

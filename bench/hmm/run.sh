#!/bin/sh
# bench/hmm: seconds per Baum-Welch (EM) iteration of hmm-fit against GHMM's
# C library (Debian libghmm-dev; discrete case only) and a vectorised numpy
# forward-backward, same data, same machine, same run.  Cases of issue 3:
#   (a) categorical, 8 states, 16 symbols, 100 sequences x 10,000
#   (b) Gaussian diag, 32 states, 4 dimensions, 100 x 10,000
#   (c) Gaussian diag, 256 states, 4 dimensions, 10 x 10,000
# hmm-fit's time per iteration is (t(1+N) - t(1)) / N for fits from the same
# --init model, so reading, setup and the final E-step cancel; GHMM's the
# same with its own nstep runs; numpy's the median of timed iterations.
# Single-threaded comparisons use CPU seconds (user + system), which the
# other load of a shared machine disturbs much less than wall time; the -j1
# and -j2 wall times show the thread scaling.
# Run from a built tree (make bench, or sh bench/hmm/run.sh); figures go to
# bench/RESULTS.md by hand.  Environment: N (iterations, default 4),
# CASES (default "a b c"), KEEP=1 keeps the data in the work directory.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${BUILD:-$top}/tools
PY=/usr/bin/python3
N=${N:-4}
CASES=${CASES:-"a b c"}
work=$(mktemp -d "${TMPDIR:-/tmp}/hmmbench.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
[ -x "$bin/hmm-fit" ] || { echo "bench/hmm: build first (no $bin/hmm-fit)" >&2; exit 1; }

now() { date +%s.%N; }
# elapsed CMD...: wall seconds of CMD (output discarded)
elapsed() {
    t0=$(now)
    "$@" >/dev/null 2>&1
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}
# cpu CMD...: user + system CPU seconds of CMD (wall seconds without GNU time)
cpu() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%U %S' -o "$work/time" "$@" >/dev/null 2>&1
        awk '{ printf "%.4f", $1 + $2 }' "$work/time"
    else
        elapsed "$@"
    fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }

have_numpy=0
[ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null && have_numpy=1
ghmm=""
if [ -f /usr/lib/x86_64-linux-gnu/libghmm.a ] && [ -d /usr/include/ghmm ]; then
    if ${CC:-cc} -O2 -o "$work/ghmm_bw" "$here/ghmm_bw.c" /usr/lib/x86_64-linux-gnu/libghmm.a -lxml2 -lm 2>"$work/ghmm.err"; then
        ghmm="$work/ghmm_bw"
    else
        echo "bench/hmm: could not build the GHMM peer:" >&2
        sed 's/^/  /' "$work/ghmm.err" | head -5 >&2
    fi
fi
[ "$have_numpy" = 1 ] || { echo "bench/hmm: numpy is needed to write the models (apt-get install python3-numpy)" >&2; exit 1; }
"$PY" "$here/models.py" "$work"
mhz=$(awk -F: '/cpu MHz/ { printf "%d", $2; exit }' /proc/cpuinfo 2>/dev/null || echo 0)
echo "bench/hmm: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), ${mhz} MHz, $(nproc) cores; N=$N iterations"
echo "CPU seconds per iteration (single thread), ratios of CPU seconds; wall seconds for -j1/-j2:"
printf '%-4s %-28s %9s %9s %9s %8s %8s %9s %9s\n' case model ours GHMM numpy "vs GHMM" "vs numpy" "wall -j1" "wall -j2"
for c in $CASES; do
    case $c in
    a) n=100 T=10000 K=8 mode=cat desc="categorical K=8 M=16" ;;
    b) n=100 T=10000 K=32 mode=gauss desc="Gaussian diag K=32 D=4" ;;
    c) n=10 T=10000 K=256 mode=gauss desc="Gaussian diag K=256 D=4" ;;
    *) echo "bench/hmm: unknown case $c" >&2; exit 1 ;;
    esac
    "$bin/hmm-sample" -m "$work/$c-truth.yaml" -n $n -T $T --seed 1 -o "$work/$c.stb"
    "$bin/stoch-cat" "$work/$c.stb" > "$work/$c.csv"
    fit() { $1 "$bin/hmm-fit" -q -j "$2" --init "$work/$c-init.yaml" --max-iter "$3" --tol 1e-300 -o /dev/null "$work/$c.stb"; }
    per() { awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%.4f", (b - a) / n }'; }
    ours=$(per "$(fit cpu 1 1)" "$(fit cpu 1 $((N + 1)))")
    wall1=$(per "$(fit elapsed 1 1)" "$(fit elapsed 1 $((N + 1)))")
    wall2=$(per "$(fit elapsed 2 1)" "$(fit elapsed 2 $((N + 1)))")
    ours1=$ours
    gh=-
    if [ -n "$ghmm" ] && [ $mode = cat ]; then
        g1=$("$ghmm" "$work/$c.csv" $K 16 1 2>/dev/null); gn=$("$ghmm" "$work/$c.csv" $K 16 $((N + 1)) 2>/dev/null)
        gh=$(awk -v a="$g1" -v b="$gn" -v n="$N" 'BEGIN { printf "%.4f", (b - a) / n }')
    fi
    np=$("$PY" "$here/numpy_em.py" $mode "$work/$c.csv" $K $([ $c = c ] && echo 2 || echo 3))
    printf '%-4s %-28s %9s %9s %9s %8s %8s %9s %9s\n' "($c)" "$desc, ${n}x$T" "$ours" "$gh" "$np" \
        "$( [ "$gh" = - ] && echo - || ratio "$gh" "$ours")" "$(ratio "$np" "$ours")" "$wall1" "$wall2"
    if [ $c = c ]; then
        # K^2 work per observation: forward 2K^2, backward 2K^2, transition statistics 2K^2
        awk -v k=$K -v obs=$((n * T)) -v s="$ours1" -v mhz="$mhz" 'BEGIN {
            f = 6 * k * k * obs; g = f / s / 1e9; peak = mhz / 1000 * 16
            printf "     (c): %.1f GFLOP per iteration in the K^2 kernels, %.1f GFLOP/s single-threaded", f / 1e9, g
            if (peak > 0) printf " = %.0f%% of one core'"'"'s AVX2 FMA peak (%.1f GFLOP/s at %d MHz)", 100 * g / peak, peak, mhz
            printf "\n" }'
    fi
done

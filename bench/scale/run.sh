#!/bin/sh
# bench/scale: speed-up from 1 to 2 threads (-j) and from 1 to 2 MPI ranks
# for each program's main workload, at sizes that run in minutes, and the
# bytes each rank receives per EM iteration under MPI.  Not a test.
#
# Run from a built tree (make bench, or sh bench/scale/run.sh in the build
# directory).  MPI figures need a second build made with
#     mkdir _build-mpi && cd _build-mpi && ../configure --with-mpi && make
# named by MPI_BUILD (default: _build-mpi next to the sources, if built).
# Environment: REPS (runs per timing, median; default 3), BENCH_TMP.
# Wall-clock medians; speed-up S = wall(1) / wall(2), efficiency S / 2, gain
# per added core S - 1.  On a shared machine other load hides the speed-up;
# the CPU seconds (all processes) show what parallelism costs: cpu 2/1 near
# 1 means the second thread or rank adds no work, so on idle cores the
# speed-up approaches 2.
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${top_builddir:-$(pwd)}
[ -x "$build/tools/stoch-cat" ] || build=$top
bin=$build/tools
mpib=${MPI_BUILD:-$top/_build-mpi}/tools
reps=${REPS:-3}
dir=${BENCH_TMP:-/tmp/stochbench-scale}
mkdir -p "$dir"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
    OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
# Waiting threads and ranks sleep instead of spinning: on a machine shared
# with other work, spinning burns the cores the other thread or rank needs
# (seen: mjp-infer -j 2 used 2.1x the CPU of -j 1 with GNU OpenMP's default
# spin, 1.0x with passive waits).  Set SPIN=1 to keep the defaults (right on
# dedicated cores).
if [ -z "${SPIN:-}" ]; then
    export OMP_WAIT_POLICY=passive OMPI_MCA_mpi_yield_when_idle=1
fi
have_mpi=0
if [ -x "$mpib/hmm-fit" ] || [ -x "$mpib/ssm-forecast" ] || [ -x "$mpib/mjp-infer" ]; then
    command -v mpirun >/dev/null 2>&1 && have_mpi=1
fi

# timed CMD...: "wall cpu" medians over $reps runs (output discarded); cpu is
# user + system seconds of CMD and all its children (mpirun's ranks too)
timed() {
    for k in $(seq "$reps"); do
        /usr/bin/time -f '%e %U %S' -o "$dir/time" "$@" >/dev/null 2>&1 ||
            { echo "bench/scale: failed: $*" >&2; exit 1; }
        awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$dir/time"
    done | sort -n | awk '{ w[NR] = $1; c[NR] = $2 } END { m = int((NR + 1) / 2); print w[m], c[m] }'
}
line() { # line WHAT KIND "WALL1 CPU1" "WALL2 CPU2"
    echo "$1|$2|$3|$4" | awk -F'|' '{ split($3, a, " "); split($4, b, " "); s = a[1] / b[1]
        printf "%-46s %-7s %7.2f %7.2f %6.2fx %5.0f%% %+6.2f %7.2f %7.2f %6.2f\n",
            $1, $2, a[1], b[1], s, 50 * s, s - 1, a[2], b[2], b[2] / a[2] }'
}
# scale NAME PROG ARGS...: -j 1 vs -j 2; then 1 vs 2 ranks (-j 1 each) with the MPI build
scale() {
    name=$1 prog=$2
    shift 2
    [ -x "$bin/$prog" ] || { echo "# $name: $prog not built, skipped"; return 0; }
    line "$name" threads "$(timed "$bin/$prog" -j 1 "$@")" "$(timed "$bin/$prog" -j 2 "$@")"
    if [ "$have_mpi" = 1 ] && [ -x "$mpib/$prog" ] && [ "${MPI_PROGS#*$prog}" != "$MPI_PROGS" ]; then
        line "$name" ranks "$(timed mpirun -np 1 "$mpib/$prog" -j 1 "$@")" \
            "$(timed mpirun -np 2 "$mpib/$prog" -j 1 "$@")"
    fi
}
MPI_PROGS="hmm-fit mjp-infer ssm-forecast"

echo "bench/scale: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); median of $reps"
printf '%-46s %-7s %7s %7s %7s %6s %6s %7s %7s %6s\n' workload over "wall 1" "wall 2" speed-up effic. gain \
    "cpu 1" "cpu 2" "cpu 2/1"

# Control: what two cores give right now.  Two copies of a CPU-bound awk loop
# at once against one: on two idle cores both take as long as one (ceiling
# 2.00x); on a machine busy with other work the ceiling is lower.
spin="awk 'BEGIN { for (i = 0; i < 3e7; i++) s += i; print s }'"
c1=$(timed sh -c "$spin")
c2=$(timed sh -c "$spin & $spin; wait")
echo "$c1|$c2" | awk -F'|' '{ split($1, a, " "); split($2, b, " ")
    printf "%-46s %-7s %7.2f %7.2f %6.2fx   (the most 2 workers can gain now; 2.00x on idle cores)\n",
        "control: 1 vs 2 copies of an awk loop", "procs", a[1], b[1], 2 * a[1] / b[1] }'

# What starting ranks costs: mpirun -np 1 and -np 2 of a program that does
# nothing (MPI_Init and MPI_Finalize); the ranks rows below include it once.
if [ "$have_mpi" = 1 ] && [ -x "$mpib/../tests/mpi/mpi-probe" ]; then
    l1=$(timed mpirun -np 1 "$mpib/../tests/mpi/mpi-probe")
    l2=$(timed mpirun -np 2 "$mpib/../tests/mpi/mpi-probe")
    echo "$l1|$l2" | awk -F'|' '{ split($1, a, " "); split($2, b, " ")
        printf "%-46s %-7s %7.2f %7.2f   (start-up of mpirun and MPI_Init, in every ranks row)\n",
            "mpirun launch: mpi-probe, 1 and 2 ranks", "ranks", a[1], b[1] }'
fi

# uq-entropy: 20,000 prompts, spectral scores from m = 10 samples
uq=$dir/uq-20000.jsonl
[ -s "$uq" ] || /usr/bin/python3 "$top/bench/uq/gen.py" bench 20000 10 spectral >"$uq"
scale "uq-entropy 20,000 prompts, eigv,deg,ecc,se" uq-entropy -q -s eigv,deg,ecc,se "$uq"

# hmm-fit: 512 sequences x 1,000 symbols (data/hmm-full-3.yaml), categorical
# K=16, 20 EM iterations from one start
if [ -x "$bin/hmm-sample" ]; then
    [ -s "$dir/hmm.stb" ] || "$bin/hmm-sample" -m "$top/data/hmm-full-3.yaml" -n 512 -T 1000 --seed 1 \
        -o "$dir/hmm.stb" 2>/dev/null || true
fi
if [ -s "$dir/hmm.stb" ]; then
    scale "hmm-fit 512 x 1,000, categorical K=16, 20 it." hmm-fit -q -K 16 -e categorical -r 1 \
        --max-iter 20 --tol 1e-300 -o /dev/null "$dir/hmm.stb"
    # bytes each rank receives per EM iteration: blocks x (1 + K + K^2 + K*M)
    # doubles, blocks of ceil(nseq / 256) sequences
    awk 'BEGIN { K = 16; M = 3; n = 512; B = int((n + 255) / 256); b = int((n + B - 1) / B)
        printf "# hmm-fit MPI traffic: %d blocks x %d statistics x 8 B = %d bytes per rank per iteration\n",
            b, 1 + K + K * K + K * M, b * (1 + K + K * K + K * M) * 8 }'
fi

# ssm-forecast: 400 monthly series of 120 points, local linear trend + seasonal
if [ ! -s "$dir/ssm.csv" ]; then
    awk 'BEGIN { srand(1); print "seq,t,y"
        for (s = 1; s <= 400; s++) { l = 100; b = 0.5
            for (t = 1; t <= 120; t++) { b += 0.02 * (rand() - 0.5); l += b + rand() - 0.5
                printf "%d,%d,%.4f\n", s, t, l + 10 * sin(2 * 3.14159265 * t / 12) + 2 * (rand() - 0.5) } } }' >"$dir/ssm.csv"
fi
scale "ssm-forecast 400 series x 120, trend+seasonal:12" ssm-forecast -q --model trend+seasonal:12 -H 12 \
    -o /dev/null "$dir/ssm.csv"

# mjp-infer: 1,000 subjects of the flashing ratchet, 10 visits at random times
# (about 9,000 distinct intervals: one matrix exponential each per pass)
if [ -x "$bin/mjp-sample" ]; then
    [ -s "$dir/mjp.csv" ] || "$bin/mjp-sample" -m "$top/data/mjp-ratchet.yaml" -n 1000 --until 10 \
        --obs-random 10 --seed 1 -o "$dir/mjp.csv" 2>/dev/null || true
fi
if [ -s "$dir/mjp.csv" ]; then
    scale "mjp-infer --panel 1,000 x 10 random visits" mjp-infer -q --panel \
        -m "$top/data/mjp-ratchet-start.yaml" -o /dev/null "$dir/mjp.csv"
    # per evaluation: blocks of distinct lengths x (1 + K^2) doubles (plain
    # panel data: no subject blocks); K = 6, about 9,000 lengths in blocks of 36
    echo "# mjp-infer MPI traffic: 251 length blocks x 37 doubles x 8 B = 74296 bytes per rank per evaluation (lib/mjp/lik.c)"
fi
# pf-smooth: stochastic volatility, T = 1,000 (awk's Box-Muller), bootstrap
# filter with 100,000 particles, and PaRIS with 5,000 (threads only: no MPI)
if [ ! -s "$dir/sv.csv" ]; then
    awk 'BEGIN { srand(7); print "t,y"; x = 0.2 / sqrt(1 - 0.97 ^ 2) * g()
        for (t = 1; t <= 1000; t++) { if (t > 1) x = 0.97 * x + 0.2 * g(); printf "%d,%.10g\n", t, exp(x / 2) * g() } }
        function g() { return sqrt(-2 * log(1 - rand())) * cos(6.283185307179586 * rand()) }' >"$dir/sv.csv"
fi
scale "pf-smooth SV T=1,000, filter, N=100,000" pf-smooth -q --builtin stochastic-volatility -N 100000 \
    -o /dev/null "$dir/sv.csv"
scale "pf-smooth SV T=1,000, PaRIS, N=5,000" pf-smooth -q --builtin stochastic-volatility -N 5000 \
    --smoother paris -o /dev/null "$dir/sv.csv"
exit 0

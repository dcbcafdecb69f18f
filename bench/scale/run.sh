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
# Wall-clock medians; on a shared 2-core machine other load moves them by
# 10-30 %.  Speed-up S = t(1) / t(2); efficiency = S / 2; the gain per added
# core is S - 1.
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
have_mpi=0
if [ -x "$mpib/hmm-fit" ] || [ -x "$mpib/ssm-forecast" ] || [ -x "$mpib/mjp-infer" ]; then
    command -v mpirun >/dev/null 2>&1 && have_mpi=1
fi

# wall CMD...: median wall seconds over $reps runs (output discarded)
wall() {
    for k in $(seq "$reps"); do
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || { echo "bench/scale: failed: $*" >&2; exit 1; }
        e=$(date +%s.%N)
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f\n", e - s }'
    done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
line() { # line WHAT T1 T2 KIND
    awk -v w="$1" -v a="$2" -v b="$3" -v k="$4" 'BEGIN {
        s = a / b; printf "%-44s %-8s %8.3f %8.3f %7.2fx %6.0f%% %+6.2f\n", w, k, a, b, s, 50 * s, s - 1 }'
}
# scale NAME PROG ARGS...: -j 1 vs -j 2; then 1 vs 2 ranks (-j 1 each) with the MPI build
scale() {
    name=$1 prog=$2
    shift 2
    [ -x "$bin/$prog" ] || { echo "# $name: $prog not built, skipped"; return 0; }
    t1=$(wall "$bin/$prog" -j 1 "$@")
    t2=$(wall "$bin/$prog" -j 2 "$@")
    line "$name" "$t1" "$t2" threads
    if [ "$have_mpi" = 1 ] && [ -x "$mpib/$prog" ] && [ "${MPI_PROGS#*$prog}" != "$MPI_PROGS" ]; then
        r1=$(wall mpirun -np 1 "$mpib/$prog" -j 1 "$@")
        r2=$(wall mpirun -np 2 "$mpib/$prog" -j 1 "$@")
        line "$name" "$r1" "$r2" ranks
    fi
}
MPI_PROGS="hmm-fit mjp-infer ssm-forecast"

echo "bench/scale: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); median of $reps"
printf '%-44s %-8s %8s %8s %8s %7s %6s\n' workload over "t(1) s" "t(2) s" speed-up effic. "gain"

# uq-entropy: 20,000 prompts, spectral scores from m = 10 samples
uq=$dir/uq-20000.jsonl
[ -s "$uq" ] || /usr/bin/python3 "$top/bench/uq/gen.py" bench 20000 10 spectral >"$uq"
scale "uq-entropy 20,000 prompts, eigv,deg,ecc,se" uq-entropy -q -s eigv,deg,ecc,se "$uq"

# hmm-fit: 256 sequences x 2,000 rows, Gaussian diag K=8, D=2, 10 EM iterations
if [ -x "$bin/hmm-sample" ]; then
    [ -s "$dir/hmm.csv" ] || "$bin/hmm-sample" -m "$top/data/hmm-full-3.yaml" -n 256 -T 2000 --seed 1 -o "$dir/hmm.csv" 2>/dev/null || true
fi
[ -s "$dir/hmm.csv" ] && scale "hmm-fit 256 x 2,000, K=8 diag, 10 iterations" hmm-fit -q -K 8 -r 1 \
    --max-iter 10 --tol 1e-300 -o /dev/null "$dir/hmm.csv"

# ssm-forecast: 400 monthly series of 120 points, local linear trend + seasonal
if [ ! -s "$dir/ssm.csv" ]; then
    awk 'BEGIN { srand(1); print "seq,t,y"
        for (s = 1; s <= 400; s++) { l = 100; b = 0.5
            for (t = 1; t <= 120; t++) { b += 0.02 * (rand() - 0.5); l += b + rand() - 0.5
                printf "%d,%d,%.4f\n", s, t, l + 10 * sin(2 * 3.14159265 * t / 12) + 2 * (rand() - 0.5) } } }' >"$dir/ssm.csv"
fi
scale "ssm-forecast 400 series x 120, trend+seasonal:12" ssm-forecast -q --model trend+seasonal:12 -H 12 \
    -o /dev/null "$dir/ssm.csv"

#!/bin/sh
# Many ranks, same answer: lib/core/mpi's reductions (mpi-probe) and the
# MPI-aware programs under mpirun with 2 (and 3) ranks must write the same
# bytes as one process.  Without ./configure --with-mpi (or without mpirun)
# only the single-process checks run and the rest is skipped.
. "$top_srcdir/tests/cli/tap.sh"

probe=$top_builddir/tests/mpi/mpi-probe
: "${MPIRUN:=}"
# Running as root (containers, CI) needs OpenMPI's explicit consent.
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Quiet, local-only: no network interfaces to probe, no nag about slots.
OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM OMPI_MCA_btl \
    OMPI_MCA_btl_vader_single_copy_mechanism OMPI_MCA_rmaps_base_oversubscribe

# mpi NP CMD...: CMD under mpirun with NP ranks (OpenMPI's flags).
mpi() {
    np=$1
    shift
    "$MPIRUN" -np "$np" --oversubscribe --allow-run-as-root "$@"
}

expect_exit 0 "mpi-probe, one process" "$probe"
cp "$tmp/out" "$tmp/probe1"
check "one process: fold printed" grep -q '^fold\[4\] ' "$tmp/probe1"
check "one process: allgather 0..22 in order" \
    grep -qx 'allgather 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22' "$tmp/probe1"
check "one process: bytes in order" grep -qx 'gather_bytes abcdefghijklmnopqrstuvw' "$tmp/probe1"

have_mpi=no
if [ "$("$probe" --compiled)" = yes ] && [ -n "$MPIRUN" ] && [ -x "$MPIRUN" ]; then
    have_mpi=yes
fi

for np in 2 3; do
    if [ "$have_mpi" != yes ]; then
        skip "mpi-probe with $np ranks: not built with --with-mpi (or no mpirun)"
        continue
    fi
    run mpi "$np" "$probe"
    if [ "$rc" -eq 0 ] && cmp -s "$tmp/out" "$tmp/probe1"; then
        ok "mpi-probe: $np ranks give the same bits as one process"
    else
        not_ok "mpi-probe: $np ranks differ from one process (exit $rc)"
        diff "$tmp/probe1" "$tmp/out" | sed 's/^/#   /' | head -10
        sed 's/^/#   stderr: /' "$tmp/err" | head -5
    fi
done

done_testing

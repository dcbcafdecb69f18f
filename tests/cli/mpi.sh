#!/bin/sh
# Many ranks, same answer: lib/core/mpi's reductions (mpi-probe) and the
# MPI-aware programs under mpirun with 2 (and 3) ranks must write the same
# bytes as one process.  Without ./configure --with-mpi (or without mpirun)
# only the single-process checks run and the rest is skipped.
. "$top_srcdir/tests/cli/tap.sh"

# same_log A B: the same log lines, but for the progress reporter's closing
# "done in N s" (its wall time differs from run to run).
same_log() {
    grep -v ' done in [0-9.]* s$' "$1" >"$1.cmp"
    grep -v ' done in [0-9.]* s$' "$2" >"$2.cmp"
    cmp -s "$1.cmp" "$2.cmp"
}

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
check "one process: first error is item 13" grep -qx 'agree_error -1 probe.csv:15: item 13 failed' "$tmp/probe1"
check "one process: no error agreed as none" grep -qx 'agree_none 0' "$tmp/probe1"

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

# same_ranks NAME OUTFILE-OPTION PROG ARGS...: PROG (the MPI build, one
# process, no mpirun) and under mpirun with 2 and 3 ranks write the same
# output file bytes and the same stderr (with -v: the iteration trace).
same_ranks() {
    name=$1
    shift
    if ! command -v "$1" >/dev/null 2>&1; then
        skip "$name: $1 not built"
        return
    fi
    if [ "$have_mpi" != yes ]; then
        skip "$name: not built with --with-mpi (or no mpirun)"
        return
    fi
    if ! "$@" -o "$tmp/r1.out" 2>"$tmp/r1.err"; then
        not_ok "$name: one process failed"
        sed 's/^/#   /' "$tmp/r1.err" | head -3
        return
    fi
    for np in 2 3; do
        if mpi "$np" "$@" -o "$tmp/r$np.out" 2>"$tmp/r$np.err" && cmp -s "$tmp/r1.out" "$tmp/r$np.out" \
            && same_log "$tmp/r1.err" "$tmp/r$np.err"; then
            ok "$name: $np ranks write the same bytes (and log) as one process"
        else
            not_ok "$name: $np ranks differ from one process"
            diff "$tmp/r1.out" "$tmp/r$np.out" 2>&1 | sed 's/^/#   /' | head -6
            diff "$tmp/r1.err" "$tmp/r$np.err" 2>&1 | sed 's/^/#   /' | head -6
        fi
    done
}

d=$top_srcdir/data

# hmm-fit: data-parallel EM, each rank reading only its share of the
# sequences (blocks of ceil(nseq / 256) sequences: 150 sequences = 150
# blocks), iteration log with -v
if command -v hmm-sample >/dev/null 2>&1 && [ -f "$d/hmm-full-3.yaml" ]; then
    hmm-sample -m "$d/hmm-full-3.yaml" -n 150 -T 40 --seed 3 -o "$tmp/hmm.csv" 2>/dev/null
    same_ranks "hmm-fit" hmm-fit -v -K 3 -r 2 --max-iter 40 --seed 5 "$tmp/hmm.csv"
    same_ranks "hmm-fit, K range" hmm-fit -q -K 2..3 -e gaussian-full -r 1 --max-iter 20 "$tmp/hmm.csv"
    # from --init: categorical, and Gaussian (variance floors from the whole
    # data's column variances, merged over the blocks of every rank)
    same_ranks "hmm-fit --init, share of the data" hmm-fit -v --init "$d/hmm-full-3.yaml" --max-iter 15 "$tmp/hmm.csv"
    awk 'BEGIN { srand(7); print "seq,t,a,b"
        for (s = 1; s <= 70; s++) { k = 0
            for (t = 1; t <= 30; t++) { if (rand() < 0.1) k = 1 - k
                printf "%d,%d,%.5f,%.5f\n", s, t, 3 * k + rand() + rand() - 1, 10 * k + 4 * (rand() - 0.5) } } }' >"$tmp/g.csv"
    head -n 601 "$tmp/g.csv" >"$tmp/g20.csv"
    if hmm-fit -q -K 2 --max-iter 2 --seed 2 -o "$tmp/g-init.yaml" "$tmp/g.csv" 2>/dev/null; then
        same_ranks "hmm-fit --init gaussian, 70 sequences" hmm-fit -v --init "$tmp/g-init.yaml" --max-iter 30 "$tmp/g.csv"
        same_ranks "hmm-fit --init gaussian, 20 sequences" hmm-fit -v --init "$tmp/g-init.yaml" --max-iter 30 "$tmp/g20.csv"
        # data-driven starts (k-means) made on the init sample, gathered
        # from every rank's blocks
        same_ranks "hmm-fit gaussian K range, share of the data" hmm-fit -v -K 2..3 -r 2 --max-iter 25 "$tmp/g.csv"
        same_ranks "hmm-fit gaussian, 20 sequences, share of the data" hmm-fit -v -K 2 -r 2 --max-iter 25 "$tmp/g20.csv"
        same_ranks "hmm-fit ar, share of the data" hmm-fit -q -K 2 -e ar -r 1 --max-iter 15 "$tmp/g.csv"
        # 10 sequences: 10 blocks of one, so every rank holds some (-vv:
        # rank 0 logs what each rank holds)
        head -n 301 "$tmp/g.csv" >"$tmp/g10.csv"
        same_ranks "hmm-fit gaussian, 10 sequences" hmm-fit -v -K 2 -r 2 --max-iter 25 "$tmp/g10.csv"
        if [ "$have_mpi" = yes ]; then
            run mpi 3 hmm-fit -vv -K 2 -r 1 --max-iter 3 -o "$tmp/g10.yaml" "$tmp/g10.csv"
            held=$(sed -n 's/^hmm-fit: rank \([0-9]*\) of 3 holds \([0-9]*\) sequences, \([0-9]*\) rows$/\1 \2 \3/p' "$tmp/err" |
                awk '$2 >= 3 && $2 <= 4 && $3 == 30 * $2 { n++; s += $2 } END { print n + 0, s + 0 }')
            check "hmm-fit, 10 sequences over 3 ranks: each holds 3 or 4 (of 30 rows), 10 in all" [ "$held" = "3 10" ]
            [ "$held" = "3 10" ] || sed 's/^/#   /' "$tmp/err" | head -5
        else
            skip "hmm-fit, 10 sequences over 3 ranks: not built with --with-mpi"
        fi
        # more rows than the init sample's cap (lowered for the test): the
        # sample is the first rows of every block, the same for any ranks
        ST_HMM_INIT_SAMPLE_ROWS=250
        export ST_HMM_INIT_SAMPLE_ROWS
        same_ranks "hmm-fit gaussian, init sample of 250 of 2100 rows" hmm-fit -v -K 3 -r 2 --max-iter 10 "$tmp/g.csv"
        awk -F, 'NR == 1 { print; next } { print $1 "," $2 "," ($3 > 1.5) "," ($4 > 0) + ($4 > 5) + (NR == 2101) }' \
            "$tmp/g.csv" >"$tmp/cat.csv"
        same_ranks "hmm-fit categorical, init sample of 250 rows" hmm-fit -v -K 2 -e categorical -r 2 --max-iter 5 "$tmp/cat.csv"
        hmm-fit -q -K 3 -r 2 --max-iter 1 -o "$tmp/capped.yaml" "$tmp/g.csv" 2>/dev/null
        unset ST_HMM_INIT_SAMPLE_ROWS
        hmm-fit -q -K 3 -r 2 --max-iter 1 -o "$tmp/whole.yaml" "$tmp/g.csv" 2>/dev/null
        check "hmm-fit: the init sample's cap changes the starts (so the capped runs used it)" \
            test -s "$tmp/capped.yaml" -a -s "$tmp/whole.yaml" -a "$(cksum <"$tmp/capped.yaml")" != "$(cksum <"$tmp/whole.yaml")"
        # issue 21: durations (HSMM), standard errors and the bootstrap over shares
        same_ranks "hmm-fit --durations poisson, share of the data" hmm-fit -v -K 2 --durations poisson --max-duration 12 -r 1 --max-iter 10 "$tmp/g.csv"
        same_ranks "hmm-fit --se --bootstrap, share of the data" hmm-fit -q -K 2 -r 1 --max-iter 20 --se --bootstrap 4 "$tmp/g20.csv"
        # bad data in rank 1's share (and later in rank 2's): any number of
        # ranks reports the first bad row of the whole data, numbered as in
        # the whole data
        awk -F, 'NR == 1 { print; next } { n++; a = $3 > 1.5; b = $4 > 0 }
            n == 183 { a = -1 } n == 290 { b = 2.5 } { print $1 "," $2 "," a "," b }' "$tmp/g10.csv" >"$tmp/bad.csv"
        expect_error 1 "bad\.csv:184:3: column 'a': symbol -1 is not a non-negative integer" \
            "hmm-fit: bad row in one process" hmm-fit -q -K 2 -e categorical "$tmp/bad.csv"
        grep '^hmm-fit:' "$tmp/err" >"$tmp/bad1.err"
        for np in 2 3; do
            if [ "$have_mpi" != yes ]; then
                skip "hmm-fit, bad row under $np ranks: not built with --with-mpi"
                continue
            fi
            run mpi "$np" hmm-fit -q -K 2 -e categorical "$tmp/bad.csv"
            grep '^hmm-fit:' "$tmp/err" >"$tmp/bad$np.err"
            if [ "$rc" -eq 1 ] && [ -s "$tmp/bad1.err" ] && cmp -s "$tmp/bad1.err" "$tmp/bad$np.err"; then
                ok "hmm-fit, bad row in rank 1's share: $np ranks report the one-process error"
            else
                not_ok "hmm-fit, bad row under $np ranks (exit $rc)"
                sed 's/^/#   /' "$tmp/err" | head -5
            fi
        done
    else
        not_ok "hmm-fit: gaussian initial model"
    fi
    if [ "$have_mpi" = yes ]; then
        expect_error 2 'standard input reaches rank 0 only' "hmm-fit: stdin refused under 2 ranks" \
            mpi 2 hmm-fit -K 2 -
    else
        skip "hmm-fit stdin under MPI: not built with --with-mpi"
    fi
else
    skip "hmm-fit not built"
fi

# ssm-forecast: series over ranks, rows gathered in input order
awk 'BEGIN { srand(2); print "seq,t,y"
    for (s = 1; s <= 23; s++) { l = 10
        for (t = 1; t <= 48; t++) { l += rand() - 0.5; printf "%d,%d,%.4f\n", s, t, l + 3 * sin(t * 0.5236) + rand() } } }' >"$tmp/ssm.csv"
same_ranks "ssm-forecast, 23 series" ssm-forecast -q --model level+seasonal:12 -H 6 "$tmp/ssm.csv"
same_ranks "ssm-forecast, holdout" ssm-forecast -v --model trend -H 6 --holdout 6 "$tmp/ssm.csv"

# ssm-forecast --output-per-rank: each rank writes its share of every batch
# to NAME.rankN.EXT, series in input order within each file; the batches
# interleave the files, so the rows merged on seq (increasing here) are
# the single-process rows.  One process (no mpirun): the plain -o file.
awk 'BEGIN { srand(4); print "seq,t,y"
    for (s = 1; s <= 70; s++) { l = 5
        for (t = 1; t <= 12; t++) { l += rand() - 0.5; printf "%d,%d,%.4f\n", s, t, l + rand() } } }' >"$tmp/ssm70.csv"
if command -v ssm-forecast >/dev/null 2>&1; then
    ssm-forecast -q -j 1 --model level -H 3 -o "$tmp/pr-ref.csv" "$tmp/ssm70.csv"
    expect_exit 0 "ssm-forecast --output-per-rank, one process" \
        ssm-forecast -q -j 1 --model level -H 3 --output-per-rank -o "$tmp/pr1.csv" "$tmp/ssm70.csv"
    check "one process: --output-per-rank writes the plain -o file" cmp -s "$tmp/pr-ref.csv" "$tmp/pr1.csv"
    if [ "$have_mpi" = yes ]; then
        # -j 1: batches of 32 x ranks series, so 70 series make several batches
        for np in 2 3; do
            rm -f "$tmp"/pr.rank*.csv
            if mpi "$np" ssm-forecast -q -j 1 --model level -H 3 --output-per-rank -o "$tmp/pr.csv" \
                "$tmp/ssm70.csv" 2>"$tmp/pr.err"; then
                : >"$tmp/pr-body"
                hdr=yes
                r=0
                while [ "$r" -lt "$np" ]; do
                    f=$tmp/pr.rank$r.csv
                    [ -f "$f" ] && [ "$(head -n 1 "$f")" = "$(head -n 1 "$tmp/pr-ref.csv")" ] || hdr=no
                    [ -f "$f" ] && tail -n +2 "$f" >>"$tmp/pr-body"
                    r=$((r + 1))
                done
                sort -s -t, -k1,1n "$tmp/pr-body" >"$tmp/pr-merged"
                tail -n +2 "$tmp/pr-ref.csv" >"$tmp/pr-refbody"
                if [ "$hdr" = yes ] && [ ! -e "$tmp/pr.csv" ] && [ ! -e "$tmp/pr.rank$np.csv" ] \
                    && [ -s "$tmp/pr.rank1.csv" ] && cmp -s "$tmp/pr-refbody" "$tmp/pr-merged"; then
                    ok "ssm-forecast --output-per-rank, $np ranks: files merged on seq = one process"
                else
                    not_ok "ssm-forecast --output-per-rank, $np ranks: files differ (header $hdr)"
                    diff "$tmp/pr-refbody" "$tmp/pr-merged" 2>&1 | sed 's/^/#   /' | head -6
                fi
            else
                not_ok "ssm-forecast --output-per-rank, $np ranks failed"
                sed 's/^/#   /' "$tmp/pr.err" | head -3
            fi
        done
        expect_error 2 'needs -o FILE' "ssm-forecast --output-per-rank without -o under 2 ranks" \
            mpi 2 ssm-forecast -q --model level --output-per-rank "$tmp/ssm70.csv"
    else
        skip "ssm-forecast --output-per-rank under MPI: not built with --with-mpi"
    fi
else
    skip "ssm-forecast not built"
fi

# mjp-infer: subjects over ranks
if command -v mjp-sample >/dev/null 2>&1 && [ -f "$d/mjp-ratchet.yaml" ]; then
    mjp-sample -m "$d/mjp-ratchet.yaml" -n 200 --until 10 --obs-every 0.5 --seed 1 -o "$tmp/mjp.csv" 2>/dev/null
    same_ranks "mjp-infer --panel" mjp-infer -q --panel -m "$d/mjp-ratchet-start.yaml" "$tmp/mjp.csv"
    # hidden states: forward-backward per subject, exchanged between ranks
    e=$top_srcdir/tests/data
    mjp-sample -m "$e/mjp-illness.yaml" -n 120 --until 12 --obs-random 8 --emission "$e/mjp-emission.yaml" \
        --seed 8 -o "$tmp/hid.csv" 2>/dev/null
    same_ranks "mjp-infer --hidden" mjp-infer -q --hidden -m "$e/mjp-illness.yaml" \
        --emission "$e/mjp-emission.yaml" --estimate-emission "$tmp/hid.csv"
    # Each rank keeps only the subjects of its share of the subject blocks
    # (about 2,048 intervals each).  1,200 subjects x 10 visits (fewer after
    # a death) = 4 blocks:
    # panel data where every other subject has censored states (99 = well
    # or ill), exact transition times (obstype 2) or an exact death time
    # (obstype 3), so plain counts and forward-backward blocks mix.
    mjp-sample -m "$e/mjp-illness.yaml" -n 1200 --until 12 --obs-random 10 --seed 11 -o "$tmp/mix0.csv" 2>/dev/null
    awk -F, 'NR == 1 { print "seq,t,state,obstype"; next }
        $1 != s { s = $1; n = 0; dead = 0 }
        { n++; if (dead) next
          ot = 1; st = $3
          if ($3 == 2) { dead = 1; if ($1 % 2 && n > 1) ot = 3 }
          else if ($1 % 2 && n > 1 && n % 4 == 0) st = 99
          else if ($1 % 2 && n > 1 && n % 5 == 0) ot = 2
          print $1 "," $2 "," st "," ot }' "$tmp/mix0.csv" >"$tmp/mix.csv"
    same_ranks "mjp-infer --panel, censored + exact + death + plain, 4 blocks" mjp-infer -v --panel \
        -m "$e/mjp-illness.yaml" --censor 99=0,1 "$tmp/mix.csv"
    # hidden states on a grid of visit times (one interval length repeated)
    mjp-sample -m "$e/mjp-illness.yaml" -n 500 --until 10 --obs-every 0.5 --emission "$e/mjp-emission.yaml" \
        --seed 12 -o "$tmp/hgrid.csv" 2>/dev/null
    same_ranks "mjp-infer --hidden, grid of times, 5 blocks" mjp-infer -v --hidden -m "$e/mjp-illness.yaml" \
        --emission "$e/mjp-emission.yaml" --estimate-initial "$tmp/hgrid.csv"
    same_ranks "mjp-infer --hidden --lbfgs" mjp-infer -q --hidden --lbfgs -m "$e/mjp-illness.yaml" \
        --emission "$e/mjp-emission.yaml" "$tmp/hgrid.csv"
    # a cyclic Q (complex eigenvalues: block exponentials per subject block
    # and interval length) with censored states, 4 blocks
    printf 'model: mjp\nversion: 1\nstates: 3\nQ:\n  - [-1, 0.8, 0.2]\n  - [0.1, -1, 0.9]\n  - [0.9, 0.1, -1]\n' \
        >"$tmp/cyc.yaml"
    mjp-sample -m "$tmp/cyc.yaml" -n 1000 --until 8 --obs-every 1 --seed 14 |
        awk -F, 'NR > 1 && $1 % 2 && NR % 3 == 0 && $3 < 2 { $3 = 99 } { print $1 "," $2 "," $3 }' >"$tmp/cyc.csv"
    same_ranks "mjp-infer --panel, cyclic Q, censored" mjp-infer -v --panel -m "$tmp/cyc.yaml" --censor 99=0,1 \
        "$tmp/cyc.csv"
    # covariates (issue 16): msm's cav with sex, donor age and time periods
    # (deaths exact: forward-backward blocks, a pattern per subject); the
    # mixed panel with a time-varying covariate and one per subject (a
    # pattern per observation, plain counts and generic subjects); derived
    # quantities and prevalence from the fitted model
    awk -F, 'NR == 1 { print "seq,t,state,obstype,sex,dage"; next }
             { gsub(/"/, ""); print $1 "," $3 "," $8 - 1 "," ($8 == 4 ? 3 : 1) "," $5 "," $4 }' \
        "$top_srcdir/data/cav.csv" >"$tmp/cav.csv"
    same_ranks "mjp-infer --covariates sex,dage --pci 5,10 (cav)" mjp-infer -q --allowed 0-1,0-3,1-0,1-2,1-3,2-1,2-3 \
        --covariates sex,dage --pci 5,10 "$tmp/cav.csv"
    awk -F, -v OFS=, 'NR == 1 { print $0, "x", "w"; next } { print $0, $1 % 2, $2 / 10 + ($1 % 7) / 3 }' "$tmp/mix.csv" \
        >"$tmp/mixcov.csv"
    same_ranks "mjp-infer --covariates x,w, time-varying, 4 blocks" mjp-infer -q --panel -m "$e/mjp-illness.yaml" \
        --censor 99=0,1 --covariates x,w --constraint w=1,1,2,2 "$tmp/mixcov.csv"
    awk -F, -v OFS=, 'NR == 1 { print $0, "x", "w"; next } ($4 == 1) { print $1, $2, $3, $4, $1 % 2, $2 / 10 }' \
        "$tmp/mix.csv" | awk -F, -v OFS=, '$3 != 99' >"$tmp/plaincov.csv"
    same_ranks "mjp-infer --covariates x,w, plain panel, --em" mjp-infer -q --panel --em -m "$e/mjp-illness.yaml" \
        --covariates x,w "$tmp/plaincov.csv"
    same_ranks "mjp-infer --derive prevalence (cav)" mjp-infer -q --allowed 0-1,0-3,1-0,1-2,1-3,2-1,2-3 \
        --covariates sex --derive prevalence=- --derive totlos=- -o /dev/null "$tmp/cav.csv"
    # exact paths: jumps and dwell per block
    mjp-sample -m "$e/mjp-illness.yaml" -n 3000 --until 5 --seed 13 -o "$tmp/exact.csv" 2>/dev/null
    same_ranks "mjp-infer --exact, 3000 paths" mjp-infer -q --exact -K 3 "$tmp/exact.csv"
    # -K from the data: the largest state over all ranks' shares
    same_ranks "mjp-infer -K from the data" mjp-infer -q --panel --censor 99=0,1 --allowed 0-1,1-0,0-2,1-2 \
        "$tmp/mix.csv"
    # --viterbi: paths decoded on each rank, written by rank 0 in input order
    if [ "$have_mpi" = yes ] && command -v mjp-infer >/dev/null 2>&1; then
        vit() { "$@" -q --hidden -m "$e/mjp-illness.yaml" --emission "$e/mjp-emission.yaml" --max-iter 5 \
            --no-se -o /dev/null "$tmp/hgrid.csv"; }
        vit mjp-infer --viterbi "$tmp/v1.csv" 2>"$tmp/v1.err"
        for np in 2 3; do
            rm -f "$tmp/v$np.csv"
            if vit mpi "$np" mjp-infer --viterbi "$tmp/v$np.csv" 2>"$tmp/v$np.err" && [ -s "$tmp/v1.csv" ] \
                && cmp -s "$tmp/v1.csv" "$tmp/v$np.csv"; then
                ok "mjp-infer --viterbi, $np ranks: same file as one process"
            else
                not_ok "mjp-infer --viterbi, $np ranks differ"
                diff "$tmp/v1.csv" "$tmp/v$np.csv" 2>&1 | sed 's/^/#   /' | head -4
            fi
        done
        check "mjp-infer --viterbi: one row per observation" \
            test "$(wc -l <"$tmp/v1.csv")" -eq "$(wc -l <"$tmp/hgrid.csv")"
        # data errors in later ranks' shares (blocks of 387 subjects: with 2
        # ranks subject 500 is on rank 0 and 1000 on rank 1; with 3, on ranks
        # 1 and 2): the same first error, with the whole data's row number,
        # as one process; then an error on the last rank only
        for bad in "500 1000" "1000"; do
            awk -F, -v bad=" $bad " 'NR == 1 || index(bad, " " $1 " ") == 0 { print; next }
                { print $1 "," 20 - $2 "," $3 "," $4 }' "$tmp/mix.csv" >"$tmp/bad.csv"
            first=${bad%% *}
            run mjp-infer -q --panel --censor 99=0,1 -m "$e/mjp-illness.yaml" "$tmp/bad.csv"
            cp "$tmp/err" "$tmp/bad1.err"
            check "bad subjects $bad, one process: the first bad row" \
                grep -q "subject $first, row [0-9]*: time" "$tmp/bad1.err"
            for np in 2 3; do
                run mpi "$np" mjp-infer -q --panel --censor 99=0,1 -m "$e/mjp-illness.yaml" "$tmp/bad.csv"
                # (mpirun adds its own note about the failed rank below)
                grep '^mjp-infer: ' "$tmp/err" >"$tmp/badn.err"
                if [ "$rc" -eq 1 ] && cmp -s "$tmp/bad1.err" "$tmp/badn.err"; then
                    ok "bad subjects $bad, $np ranks: same message as one process"
                else
                    not_ok "bad subjects $bad, $np ranks: exit $rc, message differs"
                    sed 's/^/#   /' "$tmp/bad1.err" "$tmp/err" | head -4
                fi
            done
        done
    else
        skip "mjp-infer --viterbi and data errors under MPI: not built with --with-mpi"
    fi
else
    skip "mjp-infer not built"
fi

# Data in several files: each rank parses only its share of the files to
# count the sequences, and then only the files holding its own sequences.
# split_mid IN DIR K: IN's rows in K files DIR/d.csv, DIR/d-2.csv, ..., each
# cut inside a sequence (which continues in the next file); DIR1 gets IN as
# DIR1/d.csv, so that the output (which names the first input) compares.
split_mid() {
    rm -rf "$2"
    mkdir -p "$2"
    awk -F, -v dir="$2" -v k="$3" -v n="$(($(wc -l <"$1") - 1))" '
        NR == 1 { h = $0; f = dir "/d.csv"; print h > f; part = 1; next }
        { r = NR - 1
          if (part < k && r > part * n / k && $1 == prev) {
              close(f); part++; f = dir "/d-" part ".csv"; print h > f }
          print > f; prev = $1 }' "$1"
}
# same_split NAME DIR FILES PROG ARGS...: PROG on DIR's FILES (one process,
# then 2 and 3 ranks) writes the bytes (and log) of one process on the
# single file $tmp/one/d.csv.
same_split() {
    name=$1 sdir=$2 sfiles=$3
    shift 3
    if ! command -v "$1" >/dev/null 2>&1; then
        skip "$name: $1 not built"
        return
    fi
    if ! (cd "$tmp/one" && "$@" -o "$tmp/s1.out" d.csv) 2>"$tmp/s1.err"; then
        not_ok "$name: one process on the single file failed"
        sed 's/^/#   /' "$tmp/s1.err" | head -3
        return
    fi
    # shellcheck disable=SC2086 # FILES is a list of names
    (cd "$sdir" && "$@" -o "$tmp/sp.out" $sfiles) 2>"$tmp/sp.err"
    check "$name: one process on the split files = on the single file" \
        cmp -s "$tmp/s1.out" "$tmp/sp.out"
    for np in 2 3; do
        if [ "$have_mpi" != yes ]; then
            skip "$name, $np ranks: not built with --with-mpi (or no mpirun)"
            continue
        fi
        # shellcheck disable=SC2086
        if (cd "$sdir" && mpi "$np" "$@" -o "$tmp/sp$np.out" $sfiles) 2>"$tmp/sp$np.err" \
            && cmp -s "$tmp/s1.out" "$tmp/sp$np.out" && same_log "$tmp/s1.err" "$tmp/sp$np.err"; then
            ok "$name: $np ranks on the split files write the single file's bytes (and log)"
        else
            not_ok "$name: $np ranks on the split files differ from one process"
            diff "$tmp/s1.out" "$tmp/sp$np.out" 2>&1 | sed 's/^/#   /' | head -6
            diff "$tmp/s1.err" "$tmp/sp$np.err" 2>&1 | sed 's/^/#   /' | head -6
        fi
    done
}
# same_split_error NAME DIR FILES PATTERN PROG ARGS...: PROG on the split
# files fails (exit 1) with a message matching PATTERN, and 2 and 3 ranks
# print the one-process message.
same_split_error() {
    name=$1 sdir=$2 sfiles=$3 pat=$4
    shift 4
    if ! command -v "$1" >/dev/null 2>&1; then
        skip "$name: $1 not built"
        return
    fi
    # shellcheck disable=SC2086
    (cd "$sdir" && "$@" $sfiles) >/dev/null 2>"$tmp/se.err"
    rc=$?
    grep "^$1: " "$tmp/se.err" >"$tmp/se1.err"
    if [ "$rc" -eq 1 ] && [ "$(wc -l <"$tmp/se1.err")" -eq 1 ] && grep -Eq -- "$pat" "$tmp/se1.err"; then
        ok "$name: one process: $(cat "$tmp/se1.err")"
    else
        not_ok "$name: one process (exit $rc)"
        sed 's/^/#   /' "$tmp/se.err" | head -3
    fi
    for np in 2 3; do
        if [ "$have_mpi" != yes ]; then
            skip "$name, $np ranks: not built with --with-mpi (or no mpirun)"
            continue
        fi
        # shellcheck disable=SC2086
        (cd "$sdir" && mpi "$np" "$@" $sfiles) >/dev/null 2>"$tmp/se.err"
        rc=$?
        grep "^$1: " "$tmp/se.err" >"$tmp/sen.err"
        if [ "$rc" -eq 1 ] && cmp -s "$tmp/se1.err" "$tmp/sen.err"; then
            ok "$name: $np ranks print the one-process message"
        else
            not_ok "$name: $np ranks: exit $rc, message differs"
            sed 's/^/#   /' "$tmp/se.err" | head -4
        fi
    done
}

if [ -f "$tmp/hmm.csv" ]; then
    mkdir -p "$tmp/one"
    cp "$tmp/hmm.csv" "$tmp/one/d.csv"
    split_mid "$tmp/hmm.csv" "$tmp/h2" 2
    split_mid "$tmp/hmm.csv" "$tmp/h3" 3
    check "split files: 2 and 3 files, each cut inside a sequence" \
        test -s "$tmp/h2/d-2.csv" -a -s "$tmp/h3/d-3.csv" -a ! -e "$tmp/h3/d-4.csv" \
        -a "$(tail -n 1 "$tmp/h2/d.csv" | cut -d, -f1)" = "$(sed -n 2p "$tmp/h2/d-2.csv" | cut -d, -f1)" \
        -a "$(tail -n 1 "$tmp/h3/d-2.csv" | cut -d, -f1)" = "$(sed -n 2p "$tmp/h3/d-3.csv" | cut -d, -f1)"
    same_split "hmm-fit, 2 files" "$tmp/h2" "d.csv d-2.csv" hmm-fit -v -K 3 -r 2 --max-iter 15 --seed 5
    same_split "hmm-fit, 3 files" "$tmp/h3" "d.csv d-2.csv d-3.csv" hmm-fit -v -K 3 -r 2 --max-iter 15 --seed 5
    # odd sequences in one file, even in the other: the files' seq ranges
    # overlap, so every sequence's seq is exchanged to check them
    rm -rf "$tmp/hi"
    mkdir -p "$tmp/hi"
    awk -F, -v dir="$tmp/hi" 'NR == 1 { print > (dir "/d.csv"); print > (dir "/d-2.csv"); next }
        { print > (dir ($1 % 2 ? "/d.csv" : "/d-2.csv")) }' "$tmp/hmm.csv"
    { cat "$tmp/hi/d.csv"; tail -n +2 "$tmp/hi/d-2.csv"; } >"$tmp/one/d.csv"
    same_split "hmm-fit, odd and even sequences in 2 files" "$tmp/hi" "d.csv d-2.csv" \
        hmm-fit -v -K 2 -r 1 --max-iter 10
    # errors in later files: the first in the whole data wins, with the
    # message of one process's single pass
    rm -rf "$tmp/he"
    cp -r "$tmp/h3" "$tmp/he"
    sed -n 2p "$tmp/he/d.csv" >>"$tmp/he/d-3.csv"
    same_split_error "hmm-fit, the first file's seq again at the end of the third" "$tmp/he" \
        "d.csv d-2.csv d-3.csv" 'd-3\.csv:[0-9]+: seq 0 appears again after other sequences' hmm-fit -q -K 2
    sed -n 2p "$tmp/he/d.csv" >>"$tmp/he/d-2.csv"
    same_split_error "hmm-fit, seq again in the second and third files" "$tmp/he" "d.csv d-2.csv d-3.csv" \
        'd-2\.csv:[0-9]+: seq 0 appears again' hmm-fit -q -K 2
    awk -F, 'NR == 40 { $4 = "abc" } { print }' OFS=, "$tmp/h3/d-2.csv" >"$tmp/he/d-2.csv"
    same_split_error "hmm-fit, a bad cell in the second file before a repeated seq in the third" "$tmp/he" \
        "d.csv d-2.csv d-3.csv" 'd-2\.csv:40:4: non-numeric' hmm-fit -q -K 2
    cp "$tmp/h3/d-2.csv" "$tmp/he/d-2.csv"
    awk -F, 'NR == 200 { $1 = $1 + 0.5 } { print }' OFS=, "$tmp/h3/d-3.csv" >"$tmp/he/d-3.csv"
    same_split_error "hmm-fit, a seq that is not an integer in the third file" "$tmp/he" \
        "d.csv d-2.csv d-3.csv" 'd-3\.csv:200: seq value [0-9.]+ is not an integer' hmm-fit -q -K 2
    { cat "$tmp/h3/d-2.csv"; sed -n 2p "$tmp/h3/d.csv"; } >"$tmp/he/d-2.csv"
    awk -F, 'NR == 100 { $4 = "abc" } { print }' OFS=, "$tmp/h3/d-3.csv" >"$tmp/he/d-3.csv"
    same_split_error "hmm-fit, a repeated seq in the second file before a bad cell in the third" "$tmp/he" \
        "d.csv d-2.csv d-3.csv" 'd-2\.csv:[0-9]+: seq 0 appears again' hmm-fit -q -K 2
    # binary streams name rows, not lines: the same message too
    if command -v stoch-cat >/dev/null 2>&1; then
        rm -rf "$tmp/hb"
        mkdir -p "$tmp/hb"
        sed -n 2p "$tmp/h3/d.csv" | cat "$tmp/h3/d-3.csv" - >"$tmp/hb/d-3.csv"
        stoch-cat -o "$tmp/hb/d.stb" "$tmp/h3/d.csv"
        stoch-cat -o "$tmp/hb/d-2.stb" "$tmp/h3/d-2.csv"
        stoch-cat -o "$tmp/hb/d-3.stb" "$tmp/hb/d-3.csv"
        same_split_error "hmm-fit, binary files, the first file's seq again in the third" "$tmp/hb" \
            "d.stb d-2.stb d-3.stb" 'd-3\.stb: row [0-9]+: seq 0 appears again' hmm-fit -q -K 2
    else
        skip "hmm-fit, binary split files: stoch-cat not built"
    fi
    # two files, with 2 ranks one each: a seq of the first comes back in the second
    cp -r "$tmp/h2" "$tmp/he2"
    sed -n 100p "$tmp/he2/d.csv" >>"$tmp/he2/d-2.csv"
    same_split_error "hmm-fit, 2 files, the first file's seq again in the second" "$tmp/he2" "d.csv d-2.csv" \
        'd-2\.csv:[0-9]+: seq [0-9]+ appears again' hmm-fit -q -K 2
fi
if [ -f "$tmp/mix.csv" ] && command -v mjp-infer >/dev/null 2>&1; then
    mkdir -p "$tmp/one"
    cp "$tmp/mix.csv" "$tmp/one/d.csv"
    split_mid "$tmp/mix.csv" "$tmp/m2" 2
    split_mid "$tmp/mix.csv" "$tmp/m3" 3
    same_split "mjp-infer --panel, 2 files" "$tmp/m2" "d.csv d-2.csv" mjp-infer -v --panel \
        -m "$e/mjp-illness.yaml" --censor 99=0,1
    same_split "mjp-infer --panel, 3 files" "$tmp/m3" "d.csv d-2.csv d-3.csv" mjp-infer -v --panel \
        -m "$e/mjp-illness.yaml" --censor 99=0,1
    rm -rf "$tmp/me"
    cp -r "$tmp/m3" "$tmp/me"
    sed -n 2p "$tmp/me/d.csv" >>"$tmp/me/d-3.csv"
    same_split_error "mjp-infer, the first file's seq again at the end of the third" "$tmp/me" \
        "d.csv d-2.csv d-3.csv" 'd-3\.csv:[0-9]+: seq [0-9]+ appears again' mjp-infer -q --panel \
        -m "$e/mjp-illness.yaml" --censor 99=0,1
fi

# Seq groups with string ids over several files (lib/core/table.c): the
# count compares ids by their text across files and ranks, and every rank
# reads the column types the whole data has (numbers in one file and
# strings in another make strings everywhere; integer ids that turn into
# text after the look-ahead make ids from the first row).
mkdir -p "$tmp/sg"
printf 'id,x,lab\np1,1,u\np1,2,v\np2,3,u\n' >"$tmp/sg/a.csv"
printf 'id,x,lab\np2,4,w\np3,5,u\np4,6,u\n' >"$tmp/sg/b.csv"
printf 'id,x,lab\n7,6,v\n7,7,v\n8,1,u\n' >"$tmp/sg/c.csv"
{ echo "id,x,lab"; seq 10 1510 | awk '{ print $1 ",1,u" }'; echo "Z-1,2,v"; } >"$tmp/sg/d.csv"
sg="$tmp/sg/a.csv $tmp/sg/b.csv $tmp/sg/c.csv $tmp/sg/d.csv"
# shellcheck disable=SC2086
expect_exit 0 "string seq groups in 4 files, one process" "$probe" --groups id 2 $sg
cp "$tmp/out" "$tmp/sg1"
check "one process: every row, ids as written" sh -c "[ \$(wc -l <'$tmp/sg1') -eq 1511 ] && sed -n '4p;7p;9p;1511p' '$tmp/sg1' | tr '\n' ' ' | grep -qx 'p2,4,w 7,6,v 8,1,u Z-1,2,v '"
printf 'id,x,lab\np5,1,u\np1,2,v\n' >"$tmp/sg/e.csv"
# shellcheck disable=SC2086
expect_error 1 "e.csv:3: seq p1 appears again after other sequences" "a string id again in a later file, one process" \
    "$probe" --groups id 2 $sg "$tmp/sg/e.csv"
cp "$tmp/err" "$tmp/sge1"
for np in 2 3; do
    if [ "$have_mpi" != yes ]; then
        skip "string seq groups with $np ranks: not built with --with-mpi (or no mpirun)"
        skip "a string id again in a later file, $np ranks: not built with --with-mpi (or no mpirun)"
        continue
    fi
    # shellcheck disable=SC2086
    run mpi "$np" "$probe" --groups id 2 $sg
    if [ "$rc" -eq 0 ] && cmp -s "$tmp/out" "$tmp/sg1"; then
        ok "string seq groups: $np ranks read the rows one process reads"
    else
        not_ok "string seq groups: $np ranks differ from one process (exit $rc)"
        diff "$tmp/sg1" "$tmp/out" | sed 's/^/#   /' | head -10
        sed 's/^/#   stderr: /' "$tmp/err" | head -5
    fi
    # shellcheck disable=SC2086
    run mpi "$np" "$probe" --groups id 2 $sg "$tmp/sg/e.csv"
    grep '^mpi-probe: ' "$tmp/err" >"$tmp/sgen.err"
    if [ "$rc" -ne 0 ] && cmp -s "$tmp/sgen.err" "$tmp/sge1"; then
        ok "a string id again in a later file, $np ranks: the message of one process"
    else
        not_ok "a string id again in a later file, $np ranks (exit $rc)"
        sed 's/^/#   /' "$tmp/sge1" "$tmp/err" | head -4
    fi
done

done_testing

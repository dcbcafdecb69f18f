#!/bin/sh
# Results do not depend on -j: each program runs with 1 and 2 threads on the
# same input and the output bytes must be identical.  A case whose program
# is not built is skipped (programs are added as their families land).
. "$top_srcdir/tests/cli/tap.sh"

# same_bytes NAME PROG ARGS...: run PROG -j 1 and -j 2 (with --seed 7 where
# the program draws random numbers), compare stdout bytes.
same_bytes() {
    name=$1
    shift
    if ! command -v "$1" >/dev/null 2>&1; then
        skip "$name: $1 not built"
        return
    fi
    if ! "$@" -j 1 >"$tmp/j1" 2>"$tmp/j1.err"; then
        not_ok "$name: -j 1 failed"
        sed 's/^/#   /' "$tmp/j1.err" | head -3
        return
    fi
    if ! "$@" -j 2 >"$tmp/j2" 2>"$tmp/j2.err"; then
        not_ok "$name: -j 2 failed"
        sed 's/^/#   /' "$tmp/j2.err" | head -3
        return
    fi
    if [ -s "$tmp/j1" ] && cmp -s "$tmp/j1" "$tmp/j2"; then
        ok "$name: -j 1 and -j 2 write the same bytes"
    else
        not_ok "$name: -j 1 and -j 2 differ (or no output)"
    fi
}

d=$top_srcdir/data

# uq: prompts in parallel
same_bytes "uq-entropy all scores" uq-entropy -q -s all --seed 7 "$d/uq-trivia.jsonl"
uq-entropy -q -s msp,pe,se,eigv -o "$tmp/uq.csv" "$d/uq-trivia.jsonl" 2>/dev/null
same_bytes "uq-eval bootstrap" uq-eval -q -l correct --bootstrap 200 --seed 7 "$tmp/uq.csv"

# hmm: sequences in the E-step (150 sequences: 10 blocks of 16)
if command -v hmm-sample >/dev/null 2>&1 && [ -f "$d/hmm-full-3.yaml" ]; then
    hmm-sample -m "$d/hmm-full-3.yaml" -n 150 -T 40 --seed 3 -o "$tmp/hmm.csv" 2>/dev/null
    same_bytes "hmm-sample" hmm-sample -m "$d/hmm-cyclic-4.yaml" -n 40 -T 20 --seed 7
    same_bytes "hmm-fit, 150 sequences, 2 restarts" hmm-fit -q -K 3 -r 2 --max-iter 60 --seed 7 "$tmp/hmm.csv"
    hmm-fit -q -K 3 -r 1 --max-iter 20 -o "$tmp/hmm.yaml" "$tmp/hmm.csv" 2>/dev/null
    same_bytes "hmm-decode --posterior" hmm-decode -m "$tmp/hmm.yaml" --posterior "$tmp/hmm.csv"
else
    skip "hmm programs not built"
fi

# ssm: series in parallel (40 series)
awk 'BEGIN { srand(2); print "seq,t,y"
    for (s = 1; s <= 40; s++) { l = 10
        for (t = 1; t <= 48; t++) { l += rand() - 0.5; printf "%d,%d,%.4f\n", s, t, l + 3 * sin(t * 0.5236) + rand() } } }' >"$tmp/ssm.csv"
same_bytes "ssm-forecast, 40 series" ssm-forecast -q --model level+seasonal:12 -H 6 "$tmp/ssm.csv"

# mjp: subjects and distinct intervals
if command -v mjp-sample >/dev/null 2>&1 && [ -f "$d/mjp-ratchet.yaml" ]; then
    same_bytes "mjp-sample" mjp-sample -m "$d/mjp-ratchet.yaml" -n 60 --until 10 --obs-every 0.5 --seed 7
    mjp-sample -m "$d/mjp-ratchet.yaml" -n 200 --until 10 --obs-every 0.5 --seed 1 -o "$tmp/mjp.csv" 2>/dev/null
    same_bytes "mjp-infer --panel" mjp-infer -q --panel -m "$d/mjp-ratchet-start.yaml" "$tmp/mjp.csv"
    awk -F, 'NR == 1 { print "seq,t,state,obstype,sex,dage"; next }
             { gsub(/"/, ""); print $1 "," $3 "," $8 - 1 "," ($8 == 4 ? 3 : 1) "," $5 "," $4 }' \
        "$top_srcdir/data/cav.csv" >"$tmp/cav.csv"
    same_bytes "mjp-infer --covariates sex,dage --pci 5,10" mjp-infer -q --allowed 0-1,0-3,1-0,1-2,1-3,2-1,2-3 \
        --covariates sex,dage --pci 5,10 "$tmp/cav.csv"
    same_bytes "mjp-infer --derive, --ci normal" mjp-infer -q --allowed 0-1,0-3,1-0,1-2,1-3,2-1,2-3 \
        --covariates sex --at sex=1 --times 1,5 --derive pmatrix=- --ci normal -o /dev/null "$tmp/cav.csv"
else
    skip "mjp programs not built"
fi

# pf: particles
if command -v pf-smooth >/dev/null 2>&1 && [ -f "$d/pf-nile-lg.yaml" ]; then
    same_bytes "pf-smooth ffbsi" pf-smooth -q -m "$d/pf-nile-lg.yaml" -N 400 --smoother ffbsi --seed 7 "$d/nile.csv"
    awk 'BEGIN { print "step,particle,logw"; for (s = 0; s < 20; s++) for (p = 0; p < 3000; p++) print s "," p "," log(p % 97 + 1) }' >"$tmp/logw.csv"
    for scheme in systematic multinomial residual; do
        same_bytes "pf-resample $scheme" pf-resample -q --always --scheme $scheme --seed 7 "$tmp/logw.csv"
    done
else
    skip "pf programs not built"
fi

done_testing

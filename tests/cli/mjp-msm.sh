#!/bin/sh
# Agreement with R's msm (r-cran-msm) on the same panel data and model:
# -2 log-likelihood to 1e-6 and Q to 1e-4 relative.  Skipped without R/msm.
. "$top_srcdir/tests/cli/tap.sh"

if ! command -v Rscript >/dev/null 2>&1 || ! Rscript -e 'suppressMessages(library(msm))' >/dev/null 2>&1; then
    skip "R msm not installed (r-cran-msm)"
    done_testing
    exit 0
fi

ill="$data/mjp-illness.yaml"
# relerr A B: |A - B| / max(|A|, |B|, 1e-12)
close_rel() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = a < 0 ? -a : a; n = b < 0 ? -b : b; if (n > m) m = n; if (m < 1e-12) m = 1e-12; exit !(d / m <= t) }'; }
# Q of a fitted model file as one line "q00 q01 ... q22"
q_of() { awk '/^Q:$/ { f = 1; next } f && /^ *- \[/ { l = $0; sub(/^ *- \[/, "", l); sub(/\]$/, "", l); gsub(/,/, "", l); printf "%s ", l; next } f { exit }' "$1"; }
compare() {
    name=$1 mine=$2 theirs=$3
    a=$(awk '$1 == "minus2loglik:" { print $2 }' "$mine")
    b=$(sed -n 1p "$theirs")
    check "$name: -2logL $a vs msm $b" approx "$a" "$b" 1e-6
    qa=$(q_of "$mine")
    qb=$(sed -n 2p "$theirs")
    bad=0
    i=1
    for x in $qa; do
        y=$(echo "$qb" | awk -v i=$i '{ print $i }')
        if ! { close_rel "$x" "$y" 1e-4 || approx "$x" "$y" 1e-9; }; then bad=$((bad + 1)); diag "$name: Q entry $i: $x vs msm $y"; fi
        i=$((i + 1))
    done
    check "$name: Q equal to 1e-4 relative" test "$bad" -eq 0
}
cat >"$tmp/fit.R" <<'REOF'
suppressMessages(library(msm))
args <- commandArgs(TRUE)
d <- read.csv(args[1])
d$state <- ifelse(d$state == 99, 99, d$state + 1)
Q <- rbind(c(0, 0.1, 0.1), c(0.1, 0, 0.1), c(0, 0, 0))
extra <- list()
if (args[3] == "deathexact") extra$deathexact <- 3
if (args[3] == "censor") { extra$censor <- 99; extra$censor.states <- c(1, 2) }
if (args[3] == "hidden") {
    d$state <- d$obs + 1
    extra$ematrix <- rbind(c(0, 0.1, 0), c(0.1, 0, 0), c(0, 0, 0))
    extra$initprobs <- c(0.7, 0.3, 0)
    extra$est.initprobs <- FALSE
}
f <- suppressWarnings(do.call(msm, c(list(state ~ t, subject = quote(seq), data = d, qmatrix = Q,
                                            gen.inits = args[3] != "hidden",
                                            control = list(reltol = 1e-16, maxit = 20000)), extra)))
q <- f$Qmatrices$baseline
cat(sprintf("%.15g", f$minus2loglik), "\n", file = args[2])
cat(sprintf("%.15g", as.vector(t(q))), "\n", file = args[2], append = TRUE)
REOF

# 1. snapshots at irregular times
mjp-sample -m "$ill" -n 400 --until 12 --obs-random 6 --seed 5 >"$tmp/p.csv"
mjp-infer --allowed 0-1,1-0,0-2,1-2 -o "$tmp/p.yaml" "$tmp/p.csv"
Rscript "$tmp/fit.R" "$tmp/p.csv" "$tmp/p.msm" panel >/dev/null 2>&1
compare "panel" "$tmp/p.yaml" "$tmp/p.msm"

# 2. exact death times (msm deathexact = obstype 3): the path and the
#    snapshots come from the same seed, so the path gives the death time
mjp-sample -m "$ill" -n 400 --until 12 --seed 6 >"$tmp/path.csv"
mjp-sample -m "$ill" -n 400 --until 12 --obs-random 6 --seed 6 >"$tmp/snap.csv"
awk -F, 'FNR == 1 { next } NR == FNR { if ($3 == 2 && !($1 in dt)) dt[$1] = $2; next }
         !($1 in dt) || $2 < dt[$1] { print $0 ",1" }
         ($1 in dt) && $2 >= dt[$1] && !($1 in done) { print $1 "," dt[$1] ",2,3"; done[$1] = 1 }' \
    "$tmp/path.csv" "$tmp/snap.csv" | sort -t, -k1,1n -k2,2g | sed '1i seq,t,state,obstype' >"$tmp/de.csv"
mjp-infer --allowed 0-1,1-0,0-2,1-2 -o "$tmp/de.yaml" "$tmp/de.csv"
Rscript "$tmp/fit.R" "$tmp/de.csv" "$tmp/de.msm" deathexact >/dev/null 2>&1
compare "deathexact" "$tmp/de.yaml" "$tmp/de.msm"

# 3. censored states: the last snapshot of the living says only "alive"
awk -F, 'NR == 1 { print; next } { if (NR > 2 && $1 != s) print last; else if (NR > 2) print prev; s = $1; prev = $0; c = $3 == 2 ? $3 : 98; split($0, f, ","); last = f[1] "," f[2] "," (f[3] == 2 ? 2 : 99) } END { print last }' "$tmp/p.csv" >"$tmp/c.csv"
mjp-infer --censor 99=0,1 --allowed 0-1,1-0,0-2,1-2 -o "$tmp/c.yaml" "$tmp/c.csv"
Rscript "$tmp/fit.R" "$tmp/c.csv" "$tmp/c.msm" censor >/dev/null 2>&1
compare "censor" "$tmp/c.yaml" "$tmp/c.msm"

# 4. misclassification (hidden): msm estimates the nonzero off-diagonal
#    entries of ematrix; the initial distribution is given
mjp-sample -m "$ill" -n 300 --until 12 --obs-random 6 --emission "$data/mjp-emission.yaml" --seed 7 >"$tmp/h.csv"
mjp-infer --hidden -m "$ill" --emission "$data/mjp-emission.yaml" --estimate-emission -o "$tmp/h.yaml" "$tmp/h.csv"
Rscript "$tmp/fit.R" "$tmp/h.csv" "$tmp/h.msm" hidden >/dev/null 2>&1
compare "hidden" "$tmp/h.yaml" "$tmp/h.msm"

done_testing

#!/bin/sh
# bench/ssm/holdout.sh: holdout accuracy of ssm-forecast's models against
# seasonal naive, a ridge regression on 13 lags and R's forecast::ets and
# auto.arima, on real series: the shipped ones (AirPassengers on the log
# scale; UKgas and lynx on both scales; Nile) and, when R is installed, 13
# series of R's datasets package that were not used while the models were
# developed (co2, nottem, ldeaths, USAccDeaths, UKDriverDeaths,
# JohnsonJohnson, austres, LakeHuron, sunspot.year, discoveries, nhtemp,
# WWWusage, BJsales).
#
# Holdout: the last two seasons (24 months, 8 quarters) or 10 points for
# non-seasonal series.  MASE on the original scale, scaled by the
# in-sample seasonal-naive error (ssm-forecast --holdout's convention;
# log-scale models forecast exp(mean)); coverage of the 80 % and 95 %
# intervals.  Baselines (numpy): seasonal naive (naive without a season);
# ridge on lags 1..13 with an intercept, its penalty by leave-one-out
# error, forecasts by recursion.  Run from a built tree:
#     sh bench/ssm/holdout.sh
# (MODELS="s4d:16 ..." chooses ssm-forecast's models; NO_R_MODELS=1 skips
# R's ets and auto.arima.)
set -e
BUILD=${BUILD:-.}
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
tool="$BUILD/tools/ssm-forecast"
[ -x "$tool" ] || { echo "bench/ssm/holdout: build first ($tool missing)" >&2; exit 1; }
MODELS=${MODELS:-"s4d:16 s4d:64 s4d:16:inv structural ets auto-arima auto"}
PY=/usr/bin/python3
dir=$(mktemp -d /tmp/bench-holdout.XXXXXX)
trap 'rm -rf "$dir"' EXIT

# name period log h file: one series per CSV (t,y)
list="$dir/list.txt"
mk() { # name col period log h source
    awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; print "t,y"; next } { print NR - 1 "," $k }' "$6" >"$dir/$1.csv"
    echo "$1 $3 $4 $5" >>"$list"
}
: >"$list"
mk airpassengers-log passengers 12 1 24 "$SRC/data/airpassengers.csv"
mk ukgas gas 4 0 8 "$SRC/data/ukgas.csv"
mk ukgas-log gas 4 1 8 "$SRC/data/ukgas.csv"
mk nile flow 1 0 10 "$SRC/data/nile.csv"
mk lynx trappings 1 0 10 "$SRC/data/lynx.csv"
mk lynx-log trappings 1 1 10 "$SRC/data/lynx.csv"
have_r=0
if command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(forecast)' >/dev/null 2>&1; then
    have_r=1
    Rscript -e 'a <- commandArgs(TRUE); for (nm in c("co2","nottem","ldeaths","USAccDeaths","UKDriverDeaths","JohnsonJohnson","austres","LakeHuron","sunspot.year","discoveries","nhtemp","WWWusage","BJsales")) { x <- as.numeric(get(nm)); m <- frequency(get(nm)); h <- if (m > 1) 2 * m else 10; write.csv(data.frame(t = seq_along(x), y = x), file.path(a[1], paste0(nm, ".csv")), row.names = FALSE); cat(nm, m, 0, h, "\n", file = file.path(a[1], "list.txt"), append = TRUE) }' "$dir" >/dev/null
fi

# ssm-forecast: "mase cov80 cov95" per model and series
for mdl in $MODELS; do
    while read -r name m lg h; do
        opt="--period $m"
        [ "$lg" = 1 ] && opt="$opt --log"
        # shellcheck disable=SC2086
        if r=$("$tool" --model "$mdl" $opt -c y --holdout "$h" -q "$dir/$name.csv" 2>/dev/null | tail -1); then
            echo "$name $mdl $(echo "$r" | awk -F, '{ print $4, $6, $7 }')"
        else
            echo "$name $mdl NA NA NA"
        fi
    done <"$list"
done >"$dir/ours.txt"

# baselines
cat >"$dir/base.py" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
def mase(train, m, act, fc):
    m = max(m, 1)
    return np.mean(np.abs(act - fc)) / np.mean(np.abs(train[m:] - train[:-m]))
def snaive(y, m, h):
    m = max(m, 1)
    return np.array([y[len(y) - m + (k % m)] for k in range(h)])
def ridge(y, h, p=13):
    X = np.array([y[t - p:t][::-1] for t in range(p, len(y))]); Y = y[p:]
    mu, ym = X.mean(0), Y.mean(); Xc, Yc = X - mu, Y - ym
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    best = None
    for lam in 10.0 ** np.arange(-6, 4, 0.25) * s[0] ** 2:
        H = (U * (s ** 2 / (s ** 2 + lam))) @ U.T
        r = (Yc - H @ Yc) / (1 - np.diag(H) - 1.0 / len(Y))
        if best is None or np.mean(r ** 2) < best[0]:
            best = (np.mean(r ** 2), Vt.T @ ((s / (s ** 2 + lam)) * (U.T @ Yc)))
    hist = list(y)
    for k in range(h):
        hist.append(ym + (np.array(hist[-p:][::-1]) - mu) @ best[1])
    return np.array(hist[len(y):])
for line in open(d + "/list.txt"):
    name, m, lg, h = line.split(); m, lg, h = int(m), int(lg), int(h)
    y = np.genfromtxt(d + "/" + name + ".csv", delimiter=",", skip_header=1)[:, 1]
    tr, te = y[:-h], y[-h:]
    z = np.log(tr) if lg else tr
    back = np.exp if lg else (lambda v: v)
    print(name, "snaive", mase(tr, m, te, back(snaive(z, m, h))), "NA NA")
    print(name, "ridge13", mase(tr, m, te, back(ridge(z, h))), "NA NA")
PY
"$PY" "$dir/base.py" "$dir" >>"$dir/ours.txt"

if [ "$have_r" = 1 ] && [ -z "$NO_R_MODELS" ]; then
    cat >"$dir/r.R" <<'RS'
suppressMessages(library(forecast))
d <- commandArgs(TRUE)[1]
l <- read.table(file.path(d, "list.txt"))
for (i in seq_len(nrow(l))) {
    nm <- l[i, 1]; m <- l[i, 2]; lg <- l[i, 3]; h <- l[i, 4]
    y <- read.csv(file.path(d, paste0(nm, ".csv")))$y
    n <- length(y); tr <- y[1:(n - h)]; te <- y[(n - h + 1):n]
    sc <- mean(abs(diff(tr, lag = max(m, 1))))
    x <- ts(if (lg == 1) log(tr) else tr, frequency = m)
    for (f in c("ets", "auto.arima")) {
        fit <- if (f == "ets") ets(x) else auto.arima(x)
        fc <- forecast(fit, h = h, level = c(80, 95))
        b <- if (lg == 1) exp else identity
        cov <- function(j) mean(te >= b(fc$lower[, j]) & te <= b(fc$upper[, j]))
        cat(nm, paste0("R:", f), mean(abs(te - b(fc$mean))) / sc, cov(1), cov(2), "\n")
    }
}
RS
    Rscript "$dir/r.R" "$dir" >>"$dir/ours.txt" 2>/dev/null
fi

# the table: MASE (coverage 80/95) per series, means at the bottom
cols="snaive ridge13 $MODELS"
[ "$have_r" = 1 ] && [ -z "$NO_R_MODELS" ] && cols="$cols R:ets R:auto.arima"
awk -v cols="$cols" '
    BEGIN { nc = split(cols, c, " ") }
    { v[$1, $2] = $3; c8[$1, $2] = $4; c9[$1, $2] = $5; if (!($1 in seen)) { seen[$1] = 1; order[++ns] = $1 } }
    END {
        printf "| series |"; for (j = 1; j <= nc; j++) printf " %s |", c[j]; printf "\n|---|"; for (j = 1; j <= nc; j++) printf "---:|"; printf "\n"
        for (i = 1; i <= ns; i++) {
            s = order[i]; printf "| %s |", s
            for (j = 1; j <= nc; j++) {
                x = v[s, c[j]]
                if (x == "NA" || x == "") { printf " NA |"; continue }
                printf " %.3f", x; if (c8[s, c[j]] != "NA") printf " (%.2f/%.2f)", c8[s, c[j]], c9[s, c[j]]; printf " |"
                sum[j] += x; cnt[j]++
                if (c8[s, c[j]] != "NA") { s8[j] += c8[s, c[j]]; s9[j] += c9[s, c[j]]; cc[j]++ }
                if (x < v[s, "ridge13"]) br[j]++
                if (x < v[s, "snaive"]) bs[j]++
            }
            printf "\n"
        }
        printf "| **mean MASE** |"; for (j = 1; j <= nc; j++) printf " %.3f |", cnt[j] ? sum[j] / cnt[j] : 0; printf "\n"
        printf "| mean coverage 80/95 |"; for (j = 1; j <= nc; j++) if (cc[j]) printf " %.2f/%.2f |", s8[j] / cc[j], s9[j] / cc[j]; else printf " |"; printf "\n"
        printf "| beats ridge13 / snaive |"; for (j = 1; j <= nc; j++) printf " %d/%d of %d |", br[j], bs[j], cnt[j]; printf "\n"
    }' "$dir/ours.txt"

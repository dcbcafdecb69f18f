#!/bin/sh
# ETS against R's forecast::ets (SKIP without R and the forecast package).
#
# Conventions: R's etsmodel minimises lik = n log(sum e^2) + 2 sum log|f|
# (the last sum for multiplicative errors) and reports loglik = -lik/2;
# ssm-forecast reports the Gaussian log-likelihood with the variance
# concentrated out, loglik = -lik/2 - n/2 (1 + log(2 pi / n)), and writes
# R's figure as a comment in the model file ("# R forecast::ets: loglik
# X, lik Y"), which is what is compared here.
#
# 1. Same model, same parameters (R's fitted ones, read with -m --fixed):
#    the likelihood equals R's to 1e-6, for every model forecast::ets
#    tries on AirPassengers (m = 12), UKgas (m = 4), Nile and lynx.
# 2. Our fit of each model reaches at least R's likelihood (1e-6).
# 3. The automatic choice reaches an AICc no worse than R's choice.
# 4. Forecast means and 80% bounds of a class-1 (A,Ad,A) and a class-2
#    (M,Ad,N) model equal R's at R's parameters.
. "$top_srcdir/tests/cli/tap.sh"
d="$top_srcdir/data"

if ! command -v Rscript >/dev/null 2>&1 || ! Rscript -e 'library(forecast)' >/dev/null 2>&1; then
    skip "R with the forecast package not installed"
    done_testing
    exit
fi

cat >"$tmp/fit.R" <<'RS'
suppressMessages(library(forecast))
a <- commandArgs(TRUE)
out <- a[1]
sets <- list(c("airpassengers", "passengers", 12), c("ukgas", "gas", 4),
             c("nile", "flow", 1), c("lynx", "trappings", 1))
res <- NULL
for (s in sets) {
    d <- read.csv(file.path(a[2], paste0(s[1], ".csv")))
    m <- as.integer(s[3])
    y <- ts(d[[s[2]]], frequency = m)
    seas <- if (m > 1) c("N", "A", "M") else "N"
    for (e in c("A", "M")) for (t in c("N", "A", "Ad")) for (sn in seas) {
        if (e == "A" && sn == "M") next
        damped <- t == "Ad"
        f <- try(ets(y, model = paste0(e, substr(t, 1, 1), sn), damped = damped), silent = TRUE)
        if (inherits(f, "try-error")) next
        code <- paste0(e, t, sn)
        file <- file.path(out, paste0(s[1], "-", code, ".yaml"))
        cat("model: ssm\nversion: 1\nets: ", code, "\n", if (m > 1) paste0("period: ", m, "\n"),
            "params:\n", sep = "", file = file)
        p <- f$par
        cat(sprintf("  %s: %.17g\n", names(p), p), sep = "", file = file, append = TRUE)
        res <- rbind(res, data.frame(set = s[1], col = s[2], m = m, code = code,
                                     loglik = sprintf("%.10f", f$loglik)))
    }
    f <- ets(y)
    res <- rbind(res, data.frame(set = s[1], col = s[2], m = m, code = "auto",
                                 loglik = sprintf("%.10f %.10f", f$loglik, f$aicc)))
}
write.table(res, file.path(out, "r.txt"), quote = FALSE, row.names = FALSE, col.names = FALSE)
# forecasts of a class-1 and a class-2 model at R's parameters
d <- read.csv(file.path(a[2], "ukgas.csv"))
y <- ts(d$gas, frequency = 4)
for (mm in list(c("AAA", "AAdA"), c("MAN", "MAdN"))) {
    f <- ets(y, model = mm[1], damped = TRUE)
    fc <- forecast(f, h = 8, level = 80)
    write.table(cbind(fc$mean, fc$lower[, 1], fc$upper[, 1]), file.path(out, paste0("fc-", mm[2], ".txt")),
                quote = FALSE, row.names = FALSE, col.names = FALSE)
}
RS
if ! Rscript "$tmp/fit.R" "$tmp" "$d" >"$tmp/r.log" 2>&1; then
    not_ok "R fits ran"
    sed 's/^/#   /' "$tmp/r.log" | tail -5
    done_testing
    exit
fi

# R's loglik from the comment of a model file ssm-forecast wrote
rlik() { sed -n 's/^# R forecast::ets: loglik \([^,]*\),.*/\1/p' "$1"; }

nsame=0 nbad=0 nfit=0 nworse=0 worst=1e300
while read -r set col m code rll rest; do
    [ "$code" = auto ] && continue
    yaml="$tmp/$set-$code.yaml"
    # 1. same parameters
    if ssm-forecast -m "$yaml" --fixed -c "$col" -H 1 --save-model "$tmp/same.yaml" -o /dev/null "$d/$set.csv" 2>"$tmp/err"; then
        ours=$(rlik "$tmp/same.yaml")
        if approx "$ours" "$rll" 1e-6; then nsame=$((nsame + 1)); else nbad=$((nbad + 1)); diag "$set $code: loglik $ours, R $rll"; fi
    else
        nbad=$((nbad + 1))
        diag "$set $code: $(cat "$tmp/err")"
    fi
    # 2. our fit of the same model
    if ssm-forecast --model "ets:$code" --period "$m" -c "$col" -H 1 --save-model "$tmp/fit.yaml" -o /dev/null "$d/$set.csv" 2>"$tmp/err"; then
        ours=$(rlik "$tmp/fit.yaml")
        nfit=$((nfit + 1))
        if awk -v a="$ours" -v b="$rll" 'BEGIN { exit !(a < b - 1e-6) }'; then
            nworse=$((nworse + 1))
            diag "$set $code: our fit $ours below R's $rll"
        fi
        worst=$(awk -v a="$ours" -v b="$rll" -v w="$worst" 'BEGIN { d = a - b; print (d < w ? d : w) }')
    else
        nworse=$((nworse + 1))
        diag "$set $code: our fit failed: $(cat "$tmp/err")"
    fi
done <"$tmp/r.txt"
check "same model and parameters: loglik equals R's to 1e-6 ($nsame models, $nbad off)" test "$nsame" -ge 40 -a "$nbad" -eq 0
check "our fits reach at least R's likelihood ($nfit models, $nworse below; smallest ours - R: $(awk -v w="$worst" 'BEGIN { printf "%.3g", w }'))" test "$nfit" -ge 40 -a "$nworse" -eq 0

# 3. automatic choice: AICc in R's convention (ours + n (1 + log(2 pi / n)))
while read -r set col m code rll raicc; do
    [ "$code" = auto ] || continue
    ssm-forecast --model ets --period "$m" -c "$col" -H 1 --save-model "$tmp/auto.yaml" -o /dev/null "$d/$set.csv"
    n=$(sed -n 's/^nobs: //p' "$tmp/auto.yaml")
    aicc=$(sed -n 's/^aicc: //p' "$tmp/auto.yaml")
    ours=$(awk -v a="$aicc" -v n="$n" 'BEGIN { printf "%.6f", a - n * (1 + log(2 * 3.141592653589793 / n)) }')
    model=$(sed -n 's/^ets: //p' "$tmp/auto.yaml")
    check "$set: automatic choice $model AICc $ours <= R's $raicc" awk -v a="$ours" -v b="$raicc" 'BEGIN { exit !(a <= b + 1e-6) }'
done <"$tmp/r.txt"

# 4. forecasts at R's parameters
for code in AAdA MAdN; do
    ssm-forecast -m "$tmp/ukgas-$code.yaml" --fixed -c gas -H 8 --level 80 "$d/ukgas.csv" | tail -n +2 | cut -d, -f3,5,6 | tr , ' ' >"$tmp/ours.txt"
    check "ukgas $code: forecast means and 80% bounds equal R's (1e-8 relative)" awk 'NR == FNR { m[FNR] = $1; l[FNR] = $2; u[FNR] = $3; next }
        { for (i = 1; i <= 3; i++) { a = (i == 1 ? m[FNR] : i == 2 ? l[FNR] : u[FNR]); d = a - $i; if (d < 0) d = -d; if (d > 1e-8 * ($i < 0 ? -$i : $i) + 1e-9) bad = 1 } }
        END { exit bad || FNR != 8 }' "$tmp/ours.txt" "$tmp/fc-$code.txt"
done
done_testing

#!/bin/sh
# bench/ssm/holdout.sh: forecast accuracy on real monthly and quarterly
# series (R's datasets and forecast's), holding out the last two seasons:
# ssm-forecast --model auto, ets and structural against R's
# forecast::ets and auto.arima on the same training parts.  MASE is scaled
# by the in-sample seasonal-naive error (ssm-forecast(1)); coverage is the
# share of held-out points inside the 80 % and 95 % intervals.  Needs R
# with the forecast package.  Run from a built tree:
#     sh bench/ssm/holdout.sh
set -e
BUILD=${BUILD:-.}
tool="$BUILD/tools/ssm-forecast"
[ -x "$tool" ] || { echo "holdout: build first ($tool missing)" >&2; exit 1; }
command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(forecast)' >/dev/null 2>&1 ||
    { echo "holdout: needs R with the forecast package" >&2; exit 1; }
dir=$(mktemp -d /tmp/bench-holdout.XXXXXX)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/data.R" <<'RS'
suppressMessages(library(forecast))
a <- commandArgs(TRUE)
monthly <- list(AirPassengers = AirPassengers, nottem = nottem, ldeaths = ldeaths, mdeaths = mdeaths,
                fdeaths = fdeaths, UKDriverDeaths = UKDriverDeaths, USAccDeaths = USAccDeaths, co2 = co2,
                gas = forecast::gas, wineind = forecast::wineind)
quarterly <- list(UKgas = UKgas, JohnsonJohnson = JohnsonJohnson, austres = austres, woolyrnq = forecast::woolyrnq)
write_set <- function(set, file) {
    rows <- NULL
    for (nm in names(set)) {
        y <- set[[nm]]
        tt <- time(y)
        yr <- floor(tt + 1e-6)
        mo <- round((tt - yr) * 12) + 1
        rows <- rbind(rows, data.frame(series = nm, month = sprintf("%04d-%02d", yr, mo), y = as.numeric(y)))
    }
    write.csv(rows, file, row.names = FALSE, quote = TRUE)
}
write_set(monthly, file.path(a[1], "monthly.csv"))
write_set(quarterly, file.path(a[1], "quarterly.csv"))
# R's forecasts of the held-out seasons
score <- function(set, file) {
    out <- NULL
    for (nm in names(set)) {
        y <- set[[nm]]
        m <- frequency(y); h <- 2 * m; n <- length(y)
        train <- ts(y[1:(n - h)], frequency = m, start = start(y)); test <- y[(n - h + 1):n]
        scale <- mean(abs(diff(as.numeric(train), lag = m)))
        for (meth in c("ets", "auto.arima")) {
            f <- if (meth == "ets") ets(train) else auto.arima(train)
            fc <- forecast(f, h = h, level = c(80, 95))
            out <- rbind(out, data.frame(series = nm, method = paste0("R-", meth),
                mase = mean(abs(test - fc$mean)) / scale,
                cover80 = mean(test >= fc$lower[, 1] & test <= fc$upper[, 1]),
                cover95 = mean(test >= fc$lower[, 2] & test <= fc$upper[, 2])))
        }
    }
    write.table(out, file, row.names = FALSE, col.names = FALSE, quote = FALSE)
}
score(monthly, file.path(a[1], "r-monthly.txt"))
score(quarterly, file.path(a[1], "r-quarterly.txt"))
RS
Rscript "$dir/data.R" "$dir"

for set in monthly:24 quarterly:8; do
    name=${set%:*} h=${set#*:}
    for model in auto ets structural; do
        "$tool" --model "$model" --seq-col series -c y -t month --holdout "$h" -q "$dir/$name.csv" |
            awk -F, -v m="$model" 'NR > 1 { print $1, "ours-" m, $4, $6, $7 }' >>"$dir/ours-$name.txt"
    done
done
echo "| series set | method | mean MASE | cover 80 % | cover 95 % |"
echo "| --- | --- | ---: | ---: | ---: |"
for name in monthly quarterly; do
    cat "$dir/ours-$name.txt" "$dir/r-$name.txt" | awk -v set="$name" '
        { s[$2] += $3; c8[$2] += $4; c9[$2] += $5; n[$2]++; if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 } }
        END { for (i = 1; i <= k; i++) { m = order[i]; printf "| %s (%d series) | %s | %.3f | %.2f | %.2f |\n", set, n[m], m, s[m] / n[m], c8[m] / n[m], c9[m] / n[m] } }'
done
echo
echo "per series (MASE, cover80, cover95):"
for name in monthly quarterly; do
    cat "$dir/ours-$name.txt" "$dir/r-$name.txt" | sort | awk '{ printf "  %-15s %-11s %.3f %.2f %.2f\n", $1, $2, $3, $4, $5 }'
done

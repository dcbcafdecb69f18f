#!/bin/sh
# ARIMA against R's forecast::Arima / auto.arima and statsmodels' SARIMAX
# (each part SKIPs without its peer).
#
# Conventions.  ssm-forecast's ARIMA log-likelihood is R's (stats::arima:
# the lagged values start from N(0, 1e6 sigma2), the first d + sD steps
# left out, sigma2 concentrated), written as "loglik:" in a model file;
# the file's comment "exact diffuse loglik X" is the exact diffuse one,
# i.e. the stationary likelihood of the differenced series.  statsmodels'
# SARIMAX (concentrate_scale=True) with simple_differencing=True computes
# that same likelihood; with use_exact_diffuse=True it adds -1/2 log(2 pi)
# for each of the d + sD diffuse steps (its diffuse states enter with
# F_inf = 1); its default (approximate diffuse, variance 1e6, d + sD
# steps burned) differs from both by O(1e-4) and is only reported.
#
# R: 1. for 16 models on log AirPassengers (s = 12), Nile (with a drift,
#       a mean, a regressor), lynx and UKgas (s = 4): at R's coefficients
#       (-m FILE --fixed) the log-likelihood equals R's to 1e-6;
#    2. our fit of each model reaches at least R's log-likelihood (1e-6);
#    3. --model auto-arima picks R's auto.arima orders with an AICc no
#       worse than R's (1e-6);
#    4. forecast means and 80/95 % bounds at R's coefficients equal R's
#       forecast() (1e-8 relative).
# statsmodels: 5. our exact diffuse log-likelihood equals SARIMAX's with
#    simple_differencing=True, and SARIMAX's use_exact_diffuse=True one
#    plus (d + sD)/2 log(2 pi), to 1e-6, at our fitted coefficients.
. "$top_srcdir/tests/cli/tap.sh"
d="$top_srcdir/data"

# Nile with the Aswan dam regressor (1 from 1899), one series, and its
# future value for a one-step forecast
awk -F, 'NR == 1 { print "seq," $0 ",xreg"; next } { print 1 "," $0 "," ($1 >= 1899 ? 1 : 0) }' "$d/nile.csv" >"$tmp/nilex.csv"
printf 'seq,xreg\n1,1\n' >"$tmp/nilex-future.csv"

# id set column period log R-arguments (order; seasonal; drift; xreg)
cat >"$tmp/models.txt" <<'M'
A1 airpassengers passengers 12 1 c(0,1,1) c(0,1,1) F F
A2 airpassengers passengers 12 1 c(2,1,1) c(0,1,0) F F
A3 airpassengers passengers 12 1 c(1,1,0) c(1,1,0) F F
A4 airpassengers passengers 12 1 c(1,0,0) c(0,1,1) T F
A5 airpassengers passengers 12 1 c(2,1,0) c(0,1,1) F F
N1 nile flow 1 0 c(1,1,1) c(0,0,0) F F
N2 nile flow 1 0 c(1,0,1) c(0,0,0) F F
N3 nile flow 1 0 c(0,1,1) c(0,0,0) T F
N4 nilex flow 1 0 c(1,0,1) c(0,0,0) F T
L1 lynx trappings 1 0 c(2,0,0) c(0,0,0) F F
L2 lynx trappings 1 0 c(4,0,0) c(0,0,0) F F
L3 lynx trappings 1 0 c(2,0,2) c(0,0,0) F F
U1 ukgas gas 4 0 c(1,1,1) c(0,1,1) F F
U2 ukgas gas 4 1 c(0,1,1) c(0,1,1) F F
U3 ukgas gas 4 1 c(1,0,0) c(0,1,0) T F
U4 ukgas gas 4 0 c(0,1,1) c(0,1,0) F F
M

# the data file of a set
csv() { if [ "$1" = nilex ]; then echo "$tmp/nilex.csv"; else echo "$d/$1.csv"; fi; }
# ssm-forecast options of a set (regressor, log)
opts() {
    o="-c $2 --period $3"
    [ "$4" = 1 ] && o="$o --log"
    [ "$1" = nilex ] && o="$o -x xreg --future $tmp/nilex-future.csv"
    echo "$o"
}

if ! command -v Rscript >/dev/null 2>&1 || ! Rscript -e 'library(forecast)' >/dev/null 2>&1; then
    skip "R with the forecast package not installed"
    have_r=0
else
    have_r=1
fi

if [ "$have_r" = 1 ]; then
    cat >"$tmp/fit.R" <<'RS'
suppressMessages(library(forecast))
a <- commandArgs(TRUE)
out <- a[1]
load <- function(set, col, m, lg) {
    file <- if (set == "nilex") file.path(out, "nilex.csv") else file.path(a[2], paste0(set, ".csv"))
    d <- read.csv(file)
    y <- d[[col]]
    if (lg == 1) y <- log(y)
    list(y = ts(y, frequency = m), x = if (set == "nilex") cbind(xreg = d$xreg) else NULL)
}
spec <- function(order, seas, m, drift) {
    s <- sprintf("arima(%d,%d,%d)", order[1], order[2], order[3])
    if (m > 1 && sum(seas) > 0) s <- paste0(s, sprintf("(%d,%d,%d)[%d]", seas[1], seas[2], seas[3], m))
    if (drift) s <- paste0(s, "+drift")
    s
}
mods <- read.table(file.path(out, "models.txt"), stringsAsFactors = FALSE)
res <- NULL
for (i in seq_len(nrow(mods))) {
    r <- mods[i, ]
    m <- r[[4]]; lg <- r[[5]]
    dat <- load(r[[2]], r[[3]], m, lg)
    order <- eval(parse(text = r[[6]])); seas <- eval(parse(text = r[[7]])); drift <- r[[8]]
    f <- Arima(dat$y, order = order, seasonal = seas, include.drift = drift, xreg = dat$x)
    file <- file.path(out, paste0(r[[1]], ".yaml"))
    cat("model: ssm\nversion: 1\narima: \"", spec(order, seas, m, drift), "\"\n",
        if (lg == 1) "log: true\n", "params:\n", sep = "", file = file)
    p <- f$coef
    cat(sprintf("  %s: %.17g\n", names(p), p), sep = "", file = file, append = TRUE)
    res <- rbind(res, data.frame(id = r[[1]], spec = spec(order, seas, m, drift),
                                 loglik = sprintf("%.10f", f$loglik)))
    if (r[[1]] %in% c("N1", "U1")) {
        fc <- forecast(f, h = 8, level = c(80, 95))
        write.table(cbind(fc$mean, fc$lower[, 1], fc$upper[, 1], fc$lower[, 2], fc$upper[, 2]),
                    file.path(out, paste0("fc-", r[[1]], ".txt")), quote = FALSE, row.names = FALSE, col.names = FALSE)
    }
}
write.table(res, file.path(out, "r.txt"), quote = FALSE, row.names = FALSE, col.names = FALSE)
sets <- list(c("airpassengers", "passengers", 12, 1), c("airpassengers", "passengers", 12, 0),
             c("nile", "flow", 1, 0), c("lynx", "trappings", 1, 0), c("lynx", "trappings", 1, 1),
             c("ukgas", "gas", 4, 0), c("ukgas", "gas", 4, 1))
au <- NULL
for (s in sets) {
    dat <- load(s[1], s[2], as.integer(s[3]), as.integer(s[4]))
    f <- auto.arima(dat$y)
    au <- rbind(au, data.frame(set = s[1], col = s[2], m = s[3], lg = s[4],
                               aicc = sprintf("%.8f", f$aicc), name = forecast:::arima.string(f)))
}
write.table(au, file.path(out, "auto.txt"), quote = FALSE, row.names = FALSE, col.names = FALSE, sep = "\t")
RS
    if ! Rscript "$tmp/fit.R" "$tmp" "$d" >"$tmp/r.log" 2>&1; then
        not_ok "R fits ran"
        sed 's/^/#   /' "$tmp/r.log" | tail -5
        have_r=0
    fi
fi

if [ "$have_r" = 1 ]; then
    nsame=0 nbad=0 nfit=0 nworse=0 worst=0
    while read -r id set col m lg rest; do
        rll=$(awk -v id="$id" '$1 == id { print $3 }' "$tmp/r.txt")
        spec=$(awk -v id="$id" '$1 == id { print $2 }' "$tmp/r.txt")
        o=$(opts "$set" "$col" "$m" "$lg")
        # 1. same coefficients
        # shellcheck disable=SC2086
        if ssm-forecast -m "$tmp/$id.yaml" --fixed $o -H 1 --save-model "$tmp/same.yaml" -o /dev/null "$(csv "$set")" 2>"$tmp/err"; then
            ours=$(sed -n 's/^loglik: //p' "$tmp/same.yaml")
            if approx "$ours" "$rll" 1e-6; then nsame=$((nsame + 1)); else nbad=$((nbad + 1)); diag "$id $spec: loglik $ours, R $rll"; fi
        else
            nbad=$((nbad + 1))
            diag "$id: $(cat "$tmp/err")"
        fi
        # 2. our fit
        # shellcheck disable=SC2086
        if ssm-forecast --model "$spec" $o -H 1 --save-model "$tmp/fit-$id.yaml" -o /dev/null "$(csv "$set")" 2>"$tmp/err"; then
            ours=$(sed -n 's/^loglik: //p' "$tmp/fit-$id.yaml")
            nfit=$((nfit + 1))
            if awk -v a="$ours" -v b="$rll" 'BEGIN { exit !(a < b - 1e-6) }'; then
                nworse=$((nworse + 1))
                diag "$id $spec: our fit $ours below R's $rll"
            fi
            worst=$(awk -v a="$ours" -v b="$rll" -v w="$worst" 'BEGIN { d = a - b; print (d < w ? d : w) }')
        else
            nworse=$((nworse + 1))
            diag "$id: our fit failed: $(cat "$tmp/err")"
        fi
    done <"$tmp/models.txt"
    check "same model and coefficients: loglik equals R's to 1e-6 ($nsame models, $nbad off)" test "$nsame" -eq 16 -a "$nbad" -eq 0
    check "our fits reach at least R's likelihood ($nfit models, $nworse below; smallest ours - R: $worst)" test "$nfit" -eq 16 -a "$nworse" -eq 0

    # 3. auto.arima
    while IFS="$(printf '\t')" read -r set col m lg raicc rname; do
        o=$(opts "$set" "$col" "$m" "$lg")
        # shellcheck disable=SC2086
        ssm-forecast -q --model auto-arima $o -H 1 --save-model "$tmp/auto.yaml" -o /dev/null "$(csv "$set")"
        aicc=$(sed -n 's/^aicc: //p' "$tmp/auto.yaml")
        name=$(sed -n '/^# ARIMA\|^# Regression/{s/^# //p;q}' "$tmp/auto.yaml")
        lab="$set$([ "$lg" = 1 ] && echo ' (log)')"
        check "$lab: auto-arima picks R's $rname (ours: $name)" test "$name" = "$rname"
        check "$lab: AICc $aicc <= R's $raicc" awk -v a="$aicc" -v b="$raicc" 'BEGIN { exit !(a <= b + 1e-6) }'
    done <"$tmp/auto.txt"

    # 4. forecasts at R's coefficients
    for id in N1 U1; do
        set=$(awk -v id="$id" '$1 == id { print $2 }' "$tmp/models.txt")
        col=$(awk -v id="$id" '$1 == id { print $3 }' "$tmp/models.txt")
        m=$(awk -v id="$id" '$1 == id { print $4 }' "$tmp/models.txt")
        ssm-forecast -m "$tmp/$id.yaml" --fixed -c "$col" --period "$m" -H 8 --level 80,95 "$d/$set.csv" | tail -n +2 | cut -d, -f3,5-8 | tr , ' ' >"$tmp/ours.txt"
        check "$id: forecast means and 80/95% bounds equal R's (1e-8 relative)" awk 'NR == FNR { for (i = 1; i <= 5; i++) v[FNR, i] = $i; next }
            { for (i = 1; i <= 5; i++) { d = v[FNR, i] - $i; if (d < 0) d = -d; if (d > 1e-8 * ($i < 0 ? -$i : $i) + 1e-9) bad = 1 } }
            END { exit bad || FNR != 8 }' "$tmp/ours.txt" "$tmp/fc-$id.txt"
    done
fi

# 5. statsmodels SARIMAX at our fitted coefficients
if ! have_python_module statsmodels; then
    skip "statsmodels (Debian python3-statsmodels) not installed"
    done_testing
    exit
fi
while read -r id set col m lg o1 o2 dr xr; do
    spec=$(echo "$o1$o2" | awk -v m="$m" -v dr="$dr" '{ gsub(/c\(/, "("); s = "arima" substr($0, 1, index($0, ")")); r = substr($0, index($0, ")") + 1); if (m > 1 && r != "(0,0,0)") s = s r "[" m "]"; if (dr == "T") s = s "+drift"; print s }')
    o=$(opts "$set" "$col" "$m" "$lg")
    # shellcheck disable=SC2086
    [ -f "$tmp/fit-$id.yaml" ] || ssm-forecast --model "$spec" $o -H 1 --save-model "$tmp/fit-$id.yaml" -o /dev/null "$(csv "$set")"
    echo "$id $(csv "$set") $col $m $lg $tmp/fit-$id.yaml"
done <"$tmp/models.txt" >"$tmp/sm-in.txt"
cat >"$tmp/sm.py" <<'PY'
import re, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
import statsmodels.api as sm
for line in open(sys.argv[1]):
    mid, path, col, m, lg, yaml = line.split()
    m, lg = int(m), int(lg)
    head = open(path).readline().strip().split(",")
    d = np.genfromtxt(path, delimiter=",", skip_header=1)
    y = d[:, head.index(col)]
    if lg:
        y = np.log(y)
    txt = open(yaml).read()
    spec = re.search(r'^arima: "(.*)"', txt, re.M).group(1)
    o = [int(v) for v in re.findall(r"\d+", spec.split(")")[0])]
    so = [0, 0, 0, 0]
    if "[" in spec:
        so = [int(v) for v in re.findall(r"\d+", spec.split(")")[1])] + [m]
    par = dict(re.findall(r"^  (\w+): (\S+)", txt, re.M))
    exog, xp = [], []
    if o[1] + so[1] == 0 and "-mean" not in spec:
        exog.append(np.ones(len(y))); xp.append(float(par["intercept"]))
    if "+drift" in spec:
        exog.append(np.arange(1.0, len(y) + 1)); xp.append(float(par["drift"]))
    if "xreg" in head:
        exog.append(d[:, head.index("xreg")]); xp.append(float(par["xreg"]))
    names = ["ar%d" % (i + 1) for i in range(o[0])] + ["ma%d" % (i + 1) for i in range(o[2])] + \
            ["sar%d" % (i + 1) for i in range(so[0])] + ["sma%d" % (i + 1) for i in range(so[2])]
    p = np.array(xp + [float(par[k]) for k in names])
    ex = np.column_stack(exog) if exog else None
    ours = float(re.search(r"exact diffuse loglik (\S+)", txt).group(1))
    nd = o[1] + so[1] * so[3]
    ll = {}
    for key, kw in (("simple", dict(simple_differencing=True)), ("exact", dict(use_exact_diffuse=True)), ("default", {})):
        mod = sm.tsa.SARIMAX(y, exog=ex, order=o, seasonal_order=so, concentrate_scale=True, **kw)
        ll[key] = mod.loglike(p)
    print(mid, repr(ours), repr(ll["simple"]), repr(ll["exact"] + 0.5 * nd * np.log(2 * np.pi)), repr(ll["default"]))
PY
if ! "$PYTHON" "$tmp/sm.py" "$tmp/sm-in.txt" >"$tmp/sm.txt" 2>"$tmp/sm.err"; then
    not_ok "statsmodels ran"
    sed 's/^/#   /' "$tmp/sm.err" | tail -5
    done_testing
    exit
fi
nok=0 nbad=0
while read -r id ours simple exact dflt; do
    if approx "$ours" "$simple" 1e-6 && approx "$ours" "$exact" 1e-6; then
        nok=$((nok + 1))
    else
        nbad=$((nbad + 1))
        diag "$id: ours $ours, SARIMAX simple_differencing $simple, use_exact_diffuse + nd/2 log 2pi $exact"
    fi
    diag "$id: exact $ours, SARIMAX default (approximate diffuse) $dflt"
done <"$tmp/sm.txt"
check "exact diffuse loglik equals statsmodels SARIMAX's ($nok models, $nbad off)" test "$nok" -eq 16 -a "$nbad" -eq 0
done_testing

#!/bin/sh
# ssm-forecast against statsmodels UnobservedComponents (exact diffuse) and
# R StructTS, when installed (SKIP otherwise).  Conventions: statsmodels'
# use_exact_diffuse log-likelihood adds -1/2 log(2 pi) for each diffuse
# step, ours (Durbin & Koopman / KFAS) does not; StructTS puts a large
# proper prior on the whole state and sums all n terms, so only its
# estimates (not its loglik) are compared.
. "$top_srcdir/tests/cli/tap.sh"
nile="$top_srcdir/data/nile.csv"
air="$top_srcdir/data/airpassengers.csv"

ssm-forecast --model level -c flow -H 5 --save-model "$tmp/nile.yaml" -o "$tmp/nile-fc.csv" "$nile" || exit 99
ssm-forecast --model level -c flow --smooth -o "$tmp/nile-sm.csv" "$nile" || exit 99
ssm-forecast --model trend+seasonal:12 --log -c passengers -H 12 --save-model "$tmp/air.yaml" -o "$tmp/air-fc.csv" "$air" || exit 99

if have_python_module statsmodels; then
    cat >"$tmp/sm.py" <<'PY'
import csv, math, re, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
import statsmodels.api as sm
tmp, nile_path, air_path = sys.argv[1:4]
half = 0.5 * math.log(2 * math.pi)

def params(path):
    text = open(path).read()
    p = dict(re.findall(r"^  (sigma2\.\w+): (\S+)$", text, re.M))
    ll = float(re.search(r"^loglik: (\S+)$", text, re.M).group(1))
    return {k: float(v) for k, v in p.items()}, ll

def col(path, name):
    rows = list(csv.DictReader(open(path)))
    return np.array([float(r[name]) for r in rows])

out = []
def check(desc, ok):
    out.append(("ok" if ok else "not ok", desc))

# Nile local level
y = np.array([float(r["flow"]) for r in csv.DictReader(open(nile_path))])
p, ll = params(tmp + "/nile.yaml")
m = sm.tsa.UnobservedComponents(y, "llevel", use_exact_diffuse=True)
th = np.array([p["sigma2.irregular"], p["sigma2.level"]])
check("nile: loglik = statsmodels + 1/2 log 2pi (one diffuse step)", abs(m.loglike(th) + half - ll) < 1e-6)
r = m.fit(disp=False, maxiter=1000)
check("nile: our optimum is at least statsmodels' (%.6f vs %.6f)" % (ll, r.llf + half), ll >= r.llf + half - 1e-6)
check("nile: variances within 2%% of statsmodels' (%s)" % r.params, np.all(np.abs(th / r.params - 1) < 0.02))
res = m.smooth(th)
fc = res.get_forecast(5)
check("nile: forecast means agree", np.allclose(col(tmp + "/nile-fc.csv", "mean"), fc.predicted_mean, rtol=1e-8))
check("nile: forecast sds agree", np.allclose(col(tmp + "/nile-fc.csv", "sd"), np.sqrt(fc.var_pred_mean), rtol=1e-6))
check("nile: smoothed level agrees", np.allclose(col(tmp + "/nile-sm.csv", "level"), res.smoothed_state[0], rtol=1e-7))
check("nile: smoothed level sd agrees", np.allclose(col(tmp + "/nile-sm.csv", "level_sd"), np.sqrt(res.smoothed_state_cov[0, 0]), rtol=1e-6))

# log AirPassengers, trend + dummy seasonal 12: 13 diffuse states
y = np.log([float(r["passengers"]) for r in csv.DictReader(open(air_path))])
p, ll = params(tmp + "/air.yaml")
m = sm.tsa.UnobservedComponents(y, "lltrend", seasonal=12, use_exact_diffuse=True)
th = np.array([p["sigma2.irregular"], p["sigma2.level"], p["sigma2.slope"], p["sigma2.seasonal12"]])
check("air: loglik = statsmodels + 13/2 log 2pi", abs(m.loglike(th) + 13 * half - ll) < 1e-6)
r = m.fit(disp=False, maxiter=1000)
check("air: our optimum is at least statsmodels' (%.6f vs %.6f)" % (ll, r.llf + 13 * half), ll >= r.llf + 13 * half - 1e-6)
big = [0, 1, 3]  # the slope variance is ~0 in both
check("air: variances within 5%% of statsmodels' (%s)" % r.params, np.all(np.abs(th[big] / r.params[big] - 1) < 0.05))
fc = m.smooth(th).get_forecast(12)
mu, v = fc.predicted_mean, fc.var_pred_mean
check("air: forecast means agree (lognormal mean)", np.allclose(col(tmp + "/air-fc.csv", "mean"), np.exp(mu + v / 2), rtol=1e-7))
check("air: 95% upper bounds agree", np.allclose(col(tmp + "/air-fc.csv", "hi95"), np.exp(mu + 1.959963984540054 * np.sqrt(v)), rtol=1e-7))
for s, d in out:
    print(s, d)
PY
    "$PYTHON" "$tmp/sm.py" "$tmp" "$nile" "$air" >"$tmp/sm.out" 2>"$tmp/sm.err"
    if [ -s "$tmp/sm.out" ]; then
        while read -r status desc; do
            if [ "$status" = ok ]; then ok "statsmodels $desc"; else not_ok "statsmodels ${desc#ok }"; fi
        done <"$tmp/sm.out"
    else
        not_ok "statsmodels script ran"
        sed 's/^/#   /' "$tmp/sm.err" | tail -5
    fi
else
    skip "statsmodels not installed"
fi

if command -v Rscript >/dev/null 2>&1; then
    Rscript -e 'f <- StructTS(Nile, "level"); cat(f$coef[["level"]], f$coef[["epsilon"]], "\n")' >"$tmp/r.out" 2>/dev/null
    set -- $(cat "$tmp/r.out")
    lev=$(grep "sigma2.level:" "$tmp/nile.yaml" | awk '{print $2}')
    eps=$(grep "sigma2.irregular:" "$tmp/nile.yaml" | awk '{print $2}')
    # StructTS's approximate prior on a local level gives the same MLE to ~0.1%
    check "R StructTS nile level variance ($1 vs $lev)" approx "$1" "$lev" 3
    check "R StructTS nile irregular variance ($2 vs $eps)" approx "$2" "$eps" 15
else
    skip "R not installed"
fi
done_testing

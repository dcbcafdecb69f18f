#!/bin/sh
# Estimated matrix models against statsmodels' MLEModel with the same
# matrices and exact diffuse initialisation (SKIP without statsmodels):
# the log-likelihood at the same parameters to 1e-6, and our maximum at
# least statsmodels' (its Nelder-Mead then BFGS from two starts) less 1e-6.
# statsmodels adds -1/2 log(2 pi) per diffuse step; we do not (kalman.h).
. "$top_srcdir/tests/cli/tap.sh"
nile="$top_srcdir/data/nile.csv"
corr="$data/ssm-corr.csv"

if ! have_python_module statsmodels; then
    skip "statsmodels not installed"
    done_testing
    exit
fi
# the log-likelihood as the saved model file gives it (all digits)
ll() { sed -n 's/^loglik: //p' "$1"; }
ssm-forecast -m "$data/ssm-arnoise.yaml" -c flow -H 1 --save-model "$tmp/ar.yaml" "$nile" >/dev/null || exit 99
ar_ll=$(ll "$tmp/ar.yaml")
ssm-forecast -m "$data/ssm-corr.yaml" -c y1,y2 -H 1 --save-model "$tmp/corr.yaml" "$corr" >/dev/null || exit 99
corr_ll=$(ll "$tmp/corr.yaml")

cat >"$tmp/sm.py" <<'PY'
import math, re, sys, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd
from scipy.optimize import minimize
from statsmodels.tsa.statespace.mlemodel import MLEModel
from statsmodels.tsa.statespace.initialization import Initialization
nile, corr, ar_yaml, corr_yaml = sys.argv[1:5]
ar_ll, corr_ll = float(sys.argv[5]), float(sys.argv[6])
half = 0.5 * math.log(2 * math.pi)

def pars(path):
    text = open(path).read()
    block = re.search(r"^parameters:\n((?:  .*\n)+)", text, re.M).group(1)
    return {k: float(v) for k, v in re.findall(r"^  (\w+): (\S+)$", block, re.M)}

class ArNoise(MLEModel):
    def __init__(self, y):
        super().__init__(y, k_states=2, k_posdef=1)
        self['design'] = np.array([[1., 1.]])
        self['selection'] = np.array([[0.], [1.]])
        self['transition'] = np.eye(2)
    def update(self, p, **kw):
        phi, q, h = p
        self['transition', 1, 1] = phi
        self['state_cov', 0, 0] = q
        self['obs_cov', 0, 0] = h
        init = Initialization(2)
        init.set(0, 'diffuse')
        init.set(1, 'known', constant=[0.], stationary_cov=np.array([[q / (1 - phi**2)]]))
        self.ssm.initialization = init

class Corr(MLEModel):
    def __init__(self, y):
        super().__init__(y, k_states=1, k_posdef=1)
        self['transition'] = np.eye(1)
        self['selection'] = np.eye(1)
        self.ssm.initialize_diffuse()
    def update(self, p, **kw):
        q, lam, b, h1, h2, h12 = p
        self['design'] = np.array([[1.], [lam]])
        self['obs_intercept'] = np.array([[0.], [b]])
        self['state_cov'] = np.array([[q]])
        self['obs_cov'] = np.array([[h1, h12], [h12, h2]])

def best(mod, tr, starts, ok=lambda p: True):
    def f(u):
        p = tr(u)
        if not ok(p): return 1e10
        v = mod.loglike(p)
        return -v if np.isfinite(v) else 1e10
    b = None
    for st in starts:
        r = minimize(f, st, method='Nelder-Mead', options=dict(xatol=1e-10, fatol=1e-12, maxiter=40000, maxfev=40000))
        r = minimize(f, r.x, method='BFGS', options=dict(gtol=1e-8))
        if b is None or r.fun < b.fun: b = r
    return -b.fun

out = []
y = pd.read_csv(nile)['flow'].values.astype(float)
m = ArNoise(y)
p = pars(ar_yaml)
sm_at = m.loglike(np.array([p['phi'], p['s2_ar'], p['s2_irr']])) + half
out.append((abs(sm_at - ar_ll) < 1e-6, "AR(1)+noise: loglik at our estimate %.8f = statsmodels' %.8f" % (ar_ll, sm_at)))
sm_max = best(m, lambda u: np.array([np.tanh(u[0]), np.exp(u[1]), np.exp(u[2])]),
              [[0.5, math.log(1e4), math.log(1e4)], [1.0, math.log(3000), math.log(13000)]]) + half
out.append((ar_ll >= sm_max - 1e-6, "AR(1)+noise: our maximum %.8f >= statsmodels' %.8f" % (ar_ll, sm_max)))
y = pd.read_csv(corr)[['y1', 'y2']].values.astype(float)
m = Corr(y)
p = pars(corr_yaml)
sm_at = m.loglike(np.array([p[k] for k in ('q', 'lam', 'b', 'h1', 'h2', 'h12')])) + half
out.append((abs(sm_at - corr_ll) < 1e-6, "full H: loglik at our estimate %.8f = statsmodels' %.8f" % (corr_ll, sm_at)))
sm_max = best(m, lambda u: np.array([math.exp(u[0]), u[1], u[2], math.exp(u[3]), math.exp(u[4]), u[5]]),
              [[0, 1, 0, 0, 0, 0], [math.log(.3), .7, 3, 0, math.log(.8), .5]],
              lambda p: p[5]**2 < p[3] * p[4]) + half
out.append((corr_ll >= sm_max - 1e-6, "full H: our maximum %.8f >= statsmodels' %.8f" % (corr_ll, sm_max)))
for okk, desc in out:
    print(("ok " if okk else "not ok ") + desc)
PY
"$PYTHON" "$tmp/sm.py" "$nile" "$corr" "$tmp/ar.yaml" "$tmp/corr.yaml" "$ar_ll" "$corr_ll" >"$tmp/sm.out" 2>"$tmp/sm.err" || {
    not_ok "statsmodels script failed: $(tail -1 "$tmp/sm.err")"
    done_testing
    exit
}
while read -r status desc; do
    if [ "$status" = ok ]; then ok "statsmodels $desc"; else not_ok "statsmodels ${desc#ok }"; fi
done <"$tmp/sm.out"
done_testing

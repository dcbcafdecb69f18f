"""Reference standard errors for tests/cli/hmm-se.sh:

    hmm_numpy_se.py DATA.csv FIT.yaml COLUMN

FIT.yaml is a model written by hmm-fit --se (one data column COLUMN,
Gaussian diag or Poisson emissions, optionally Poisson durations); prints
one line "name se_here se_hmm-fit" per estimated parameter: the standard
error from the observed information at the estimates, computed here
independently of lib/hmm/se.c, and the one FIT.yaml records:

  - another parameterisation: the natural parameters themselves
    (probabilities, means, variances, rates, lambdas), each probability
    row without its largest entry, which is 1 minus the others (its SE
    from the row's block of the covariance: the variance of minus their
    sum);
  - another differentiation: central second differences with steps of
    1e-3 of each parameter's scale, Richardson-extrapolated from h and h/2;
  - another log-likelihood: the scaled forward pass in numpy (for durations,
    on the expanded (state, steps left) chain of hsmm_numpy_ref.py).
Probabilities at or below 1e-9 are not estimated (left out), as in hmm-fit.
"""
import sys

import numpy as np
import yaml
from scipy import special


def forward_loglik(start, A, logB):
    T, K = logB.shape
    m = logB.max(1, keepdims=True)
    B = np.exp(logB - m)
    a = start * B[0]
    ll = np.log(a.sum())
    a /= a.sum()
    for t in range(1, T):
        a = (a @ A) * B[t]
        c = a.sum()
        ll += np.log(c)
        a /= c
    return ll + m.sum()


def hsmm_loglik(start, A, P, logB):
    T, K = logB.shape
    Dm = P.shape[1]
    m = logB.max(1, keepdims=True)
    B = np.exp(logB - m)
    a = start[:, None] * P * B[0][:, None]
    ll = np.log(a.sum())
    a /= a.sum()
    for t in range(1, T):
        ent = a[:, 0] @ A
        pred = np.zeros((K, Dm))
        pred[:, :-1] = a[:, 1:]
        pred += ent[:, None] * P
        a = pred * B[t][:, None]
        c = a.sum()
        ll += np.log(c)
        a /= c
    return ll + m.sum()


def pois_pmf(lam, dmax, shift):
    x = np.arange(dmax - shift + 1)
    lq = x * np.log(lam) - special.gammaln(x + 1)
    q = np.exp(lq - lq.max())
    p = np.zeros(dmax)
    p[shift - 1:] = q / q.sum()
    return p


def main():
    data, fitp, col = sys.argv[1], sys.argv[2], sys.argv[3]
    d = np.genfromtxt(data, delimiter=",", names=True)
    x = d[col]
    seqs = d["seq"] if "seq" in d.dtype.names else np.zeros(len(x))
    bounds = np.flatnonzero(np.diff(seqs)) + 1
    xs = np.split(x, bounds)
    m = yaml.safe_load(open(fitp))
    K = m["states"]
    start = np.array(m["start"], float)
    A = np.array(m["transitions"], float)
    em = m["emission"]
    dur = m.get("durations")
    names, vals, groups = [], [], []  # groups: lists of (row name, kept indices, dropped index)

    def add_simplex(label, row, allowed):
        idx = [j for j in range(len(row)) if allowed[j] and row[j] > 1e-9]
        if len(idx) < 2:
            return
        ref = max(idx, key=lambda j: row[j])
        kept = []
        for j in idx:
            if j != ref:
                kept.append(len(vals))
                names.append("%s[%d]" % (label, j))
                vals.append(row[j])
        groups.append(("%s[%d]" % (label, ref), kept))

    add_simplex("start", start, [True] * K)
    for i in range(K):
        add_simplex("trans%d" % i, A[i], [j != i if dur else True for j in range(K)])
    if dur:
        Dm, shift = dur["max"], dur.get("shift", 1)
        for k, l in enumerate(dur["lambdas"]):
            names.append("lambda[%d]" % k)
            vals.append(l)
    if em["family"] == "gaussian":
        for k in range(K):
            names.append("mean[%d]" % k)
            vals.append(em["means"][k][0])
        for k in range(K):
            names.append("var[%d]" % k)
            vals.append(em["variances"][k][0])
    else:
        for k in range(K):
            names.append("rate[%d]" % k)
            vals.append(em["rates"][k][0])
    theta0 = np.array(vals, float)

    def unpack(th):
        s, a = start.copy(), A.copy()
        pos = {n: i for i, n in enumerate(names)}
        for label, row in [("start", s)] + [("trans%d" % i, a[i]) for i in range(K)]:
            for g in groups:
                if not g[0].startswith(label + "["):
                    continue
                ref = int(g[0][len(label) + 1:-1])
                for q in g[1]:
                    j = int(names[q][len(label) + 1:-1])
                    row[j] = th[q]
                row[ref] = 1 - sum(row[j] for j in range(len(row)) if j != ref)
        par = {}
        for n in names:
            if "[" in n and n.split("[")[0] in ("mean", "var", "rate", "lambda"):
                par.setdefault(n.split("[")[0], [0] * K)[int(n.split("[")[1][:-1])] = th[pos[n]]
        return s, a, par

    def loglik(th):
        s, a, par = unpack(th)
        tot = 0
        for xx in xs:
            if em["family"] == "gaussian":
                mu, v = np.array(par["mean"]), np.array(par["var"])
                logB = -0.5 * ((xx[:, None] - mu) ** 2 / v + np.log(2 * np.pi * v))
            else:
                lam = np.array(par["rate"])
                logB = xx[:, None] * np.log(lam) - lam - special.gammaln(xx[:, None] + 1)
            if dur:
                P = np.stack([pois_pmf(l, Dm, shift) for l in par["lambda"]])
                tot += hsmm_loglik(s, a, P, logB)
            else:
                tot += forward_loglik(s, a, logB)
        return tot

    n = len(theta0)
    h0 = 1e-3 * np.maximum(np.abs(theta0), 1e-2)

    def hess(h):
        H = np.empty((n, n))
        f0 = loglik(theta0)
        for i in range(n):
            e = np.zeros(n)
            e[i] = h[i]
            H[i, i] = (loglik(theta0 + e) - 2 * f0 + loglik(theta0 - e)) / h[i] ** 2
            for j in range(i):
                f = np.zeros(n)
                f[j] = h[j]
                H[i, j] = H[j, i] = (loglik(theta0 + e + f) - loglik(theta0 + e - f) - loglik(theta0 - e + f)
                                     + loglik(theta0 - e - f)) / (4 * h[i] * h[j])
        return H

    H = (4 * hess(h0 / 2) - hess(h0)) / 3
    V = np.linalg.inv(-H)
    ses = m["standard_errors"]

    def ours(nm):
        base, i = nm.split("[")[0], int(nm.split("[")[1][:-1])
        if base == "start":
            return ses["start"][i]
        if base.startswith("trans"):
            return ses["transitions"][int(base[5:])][i]
        if base == "lambda":
            return ses["durations"]["lambdas"][i]
        key = {"mean": "means", "var": "variances", "rate": "rates"}[base]
        return ses["emission"][key][i][0]

    out = [(nm, float(np.sqrt(V[i, i]))) for i, nm in enumerate(names)]
    out += [(ref, float(np.sqrt(V[np.ix_(kept, kept)].sum()))) for ref, kept in groups]
    for nm, se in out:
        print(nm, repr(se), repr(float(ours(nm))))


if __name__ == "__main__":
    main()

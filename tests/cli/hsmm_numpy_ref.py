"""Reference EM for hidden semi-Markov models in numpy, for
tests/cli/hsmm-numpy.sh and bench/hmm (the HSMM row):

    hsmm_numpy_ref.py nonparametric|poisson DATA.csv INIT.yaml NITER K DMAX [SHIFT]

Writes the initial model INIT.yaml (so that hmm-fit --init starts from the
same numbers), runs NITER EM iterations on the sequences of DATA.csv
(columns seq,t,state,x: one Gaussian column, every sequence the same
length) and prints the log-likelihood after each iteration, one per line;
with NITER < 0 it runs -NITER iterations and prints the seconds per
iteration instead.

Written from the formulas, with another algorithm than lib/hmm/hsmm.c: the
HSMM as an HMM over K x DMAX expanded states (j, r), r the steps left in
the segment (Yu 2010, section 3.2.1: the "residual time" representation).
(j, r) moves to (j, r-1); (j, 1) moves to (i, d) with probability
A(j, i) p_i(d); the first state is (j, d) with start(j) p_j(d).  The scaled
forward-backward of this HMM is vectorised over sequences.  Summing the
final forward probabilities over r right-censors the last segment, and
the expected number of entries into (j, d) is the E-step's duration count,
censored segments included.  M-step: start, transitions and Gaussian
emissions in closed form; nonparametric durations p_j(d) proportional to
the counts on SHIFT..DMAX; Poisson durations d = SHIFT + X truncated at
DMAX by the root of the expected complete-data score in log lambda
(scipy.optimize.brentq).  No floors, no priors.
"""
import sys
import time

import numpy as np
from scipy import optimize, special


def fmt(v):
    return "[" + ", ".join(repr(float(x)) for x in np.ravel(v)) + "]"


def pois_pmf(lam, dmax, shift):
    x = np.arange(dmax - shift + 1)
    lq = x * np.log(lam) - special.gammaln(x + 1)
    q = np.exp(lq - lq.max())
    p = np.zeros(dmax)
    p[shift - 1:] = q / q.sum()
    return p


def pois_mstep(eta_k, lam0, dmax, shift):
    """Root of the score of the expected complete-data log-likelihood in
    theta = log lambda: sum eta x = N E_theta[x] (truncated Poisson)."""
    x = np.arange(dmax - shift + 1)
    e = eta_k[shift - 1:]

    def score(th):
        lq = x * th - special.gammaln(x + 1)
        w = np.exp(lq - lq.max())
        return e @ x - e.sum() * (w @ x) / w.sum()

    xbar = (e @ x) / e.sum()
    lo, hi = np.log(xbar) - 1, np.log(xbar) + 1
    while score(lo) < 0:
        lo -= 1
    while score(hi) > 0:
        hi += 1
    return np.exp(optimize.brentq(score, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps))


def em_step(X, start, A, P, mu, var):
    """One E-step on the expanded chain; returns logL and the statistics."""
    S, T = X.shape
    K, Dm = P.shape
    B = np.exp(-0.5 * (X[:, :, None] - mu) ** 2 / var - 0.5 * np.log(2 * np.pi * var))  # (S, T, K)
    alpha = np.empty((S, T, K, Dm))
    c = np.empty((S, T))
    a = start[None, :, None] * P[None] * B[:, 0, :, None]
    c[:, 0] = a.sum((1, 2))
    alpha[:, 0] = a / c[:, 0, None, None]
    enter = np.empty((S, T, K))  # entering mass (before p and b)
    enter[:, 0] = start
    for t in range(1, T):
        prev = alpha[:, t - 1]
        ent = prev[:, :, 0] @ A  # (S, K)
        enter[:, t] = ent
        pred = np.zeros((S, K, Dm))
        pred[:, :, :-1] = prev[:, :, 1:]
        pred += ent[:, :, None] * P[None]
        a = pred * B[:, t, :, None]
        c[:, t] = a.sum((1, 2))
        alpha[:, t] = a / c[:, t, None, None]
    logl = np.log(c).sum()
    beta = np.ones((S, K, Dm))
    gamma = np.empty((S, T, K))
    xi = np.zeros((K, K))
    eta = np.zeros((K, Dm))
    for t in range(T - 1, -1, -1):
        gamma[:, t] = (alpha[:, t] * beta).sum(2)
        w = P[None] * B[:, t, :, None] * beta / c[:, t, None, None]  # entering (j, d) at t
        if t > 0:
            eta += (enter[:, t, :, None] * w).sum(0)
            xi += A * (alpha[:, t - 1, :, 0].T @ w.sum(2))
            nb = np.zeros((S, K, Dm))
            nb[:, :, 1:] = (B[:, t, :, None] * beta / c[:, t, None, None])[:, :, :-1]
            nb[:, :, 0] = w.sum(2) @ A.T
            beta = nb
        else:
            eta += (start[None, :, None] * w).sum(0)
    return logl, gamma, xi, eta


def main():
    mode, path, init_path, niter = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    K, Dm = int(sys.argv[5]), int(sys.argv[6])
    shift = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    seq = d[:, 0].astype(int)
    S = seq.max() + 1
    T = len(seq) // S
    X = d[:, 3].reshape(S, T)
    start = np.full(K, 1.0 / K)
    A = np.full((K, K), 1.0 / (K - 1))
    np.fill_diagonal(A, 0)
    q = np.quantile(X, (np.arange(K) + 0.5) / K)
    mu, var = q.copy(), np.full(K, X.var())
    mean0 = T / (2.0 * K)
    if mode == "poisson":
        lam = np.array([mean0 * (0.6 + 0.4 * k) for k in range(K)])
        P = np.stack([pois_pmf(l, Dm, shift) for l in lam])
    else:
        P = np.stack([pois_pmf(mean0 * (0.6 + 0.4 * k), Dm, shift) * 0.9 for k in range(K)])
        P[:, shift - 1:] += 0.1 / (Dm - shift + 1)
    with open(init_path, "w") as f:
        f.write("model: hmm\nversion: 1\nstates: %d\nstart: %s\ntransitions:\n" % (K, fmt(start)))
        for r in A:
            f.write("  - %s\n" % fmt(r))
        f.write("durations:\n  family: %s\n  max: %d\n  shift: %d\n" % (mode, Dm, shift))
        if mode == "poisson":
            f.write("  lambdas: %s\n" % fmt(lam))
        else:
            f.write("  probabilities:\n")
            for r in P:
                f.write("    - %s\n" % fmt(r))
        f.write("emission:\n  family: gaussian\n  covariance: diag\n  means:\n")
        for v in mu:
            f.write("    - [%r]\n" % float(v))
        f.write("  variances:\n")
        for v in var:
            f.write("    - [%r]\n" % float(v))
    timing = niter < 0
    niter = abs(niter)
    t0 = time.process_time()
    for it in range(niter + 1):
        ll, g, xi, eta = em_step(X, start, A, P, mu, var)
        if it > 0 and not timing:
            print(repr(ll))
        if it == niter:
            break
        start = g[:, 0].sum(0) / S
        A = xi / xi.sum(1, keepdims=True)
        if mode == "poisson":
            lam = np.array([pois_mstep(eta[k], lam[k], Dm, shift) for k in range(K)])
            P = np.stack([pois_pmf(l, Dm, shift) for l in lam])
        else:
            P = eta / eta.sum(1, keepdims=True)
        G = g.reshape(-1, K)
        N = G.sum(0)
        x = X.ravel()
        mu = G.T @ x / N
        var = (G * (x[:, None] - mu) ** 2).sum(0) / N
    if timing:
        print("%.6f" % ((time.process_time() - t0) / (niter + 1)))


if __name__ == "__main__":
    main()

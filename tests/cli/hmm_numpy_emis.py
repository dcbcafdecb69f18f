"""Reference Baum-Welch in numpy/scipy for the emission families of
tests/cli/hmm-numpy.sh beyond Gaussian and categorical:

    hmm_numpy_emis.py MODE DATA.csv INIT.yaml NITER

MODE is bernoulli, multinomial, gamma, lognormal, regression-diag,
regression-full, ar-full or gmm-full.  For the regression modes DATA.csv is
written here (numpy's generator, seed 5: covariates u1, u2 and responses
y1, y2 from a two-state model); for the others it is read (columns
seq,t,state,x1..; every sequence the same length).  Writes the initial
model INIT.yaml, runs NITER EM iterations and prints the log-likelihood
after each, one per line.

Written from the formulas, independently of lib/hmm: densities from
scipy.stats, the scaled forward-backward of Rabiner (1989), and M-steps
in closed form except the Gamma shape (root of log a - digamma(a) = s by
brentq) and the regression coefficients (weighted least squares by
numpy.linalg.lstsq on sqrt-weighted rows).  No floors, no priors.
"""
import sys

import numpy as np
from scipy import optimize, special, stats


def forward_backward(start, A, logB):
    """logB: (S, T, K) log densities. Returns logL, gamma (S,T,K), xi (K,K)."""
    S, T, K = logB.shape
    m = logB.max(2, keepdims=True)
    B = np.exp(logB - m)
    alpha = np.empty((S, T, K))
    c = np.empty((S, T))
    a = start[None, :] * B[:, 0, :]
    c[:, 0] = a.sum(1)
    alpha[:, 0] = a / c[:, 0, None]
    for t in range(1, T):
        a = (alpha[:, t - 1] @ A) * B[:, t]
        c[:, t] = a.sum(1)
        alpha[:, t] = a / c[:, t, None]
    beta = np.ones((S, K))
    gamma = np.empty((S, T, K))
    xi = np.zeros((K, K))
    gamma[:, T - 1] = alpha[:, T - 1]
    for t in range(T - 2, -1, -1):
        w = B[:, t + 1] * beta / c[:, t + 1, None]
        xi += A * (alpha[:, t].T @ w)
        beta = w @ A.T
        gamma[:, t] = alpha[:, t] * beta
    return np.log(c).sum() + m.sum(), gamma, xi


def fmt(v):
    return "[" + ", ".join(repr(float(x)) for x in np.ravel(v)) + "]"


def mat(f, key, M, indent="  "):
    f.write("%s%s:\n" % (indent, key))
    for r in np.atleast_2d(M):
        f.write("%s  - %s\n" % (indent, fmt(r)))


def regression_data(path, full):
    """Two states, responses y1, y2 on covariates u1, u2; 20 x 150."""
    rng = np.random.default_rng(5)
    S, T = 20, 150
    A = np.array([[0.9, 0.1], [0.2, 0.8]])
    c = np.array([[1.0, 0.0], [-1.0, 2.0]])
    W = np.array([[[1.0, -1.0], [0.5, 0.0]], [[-2.0, 0.3], [0.0, 1.0]]])
    if full:
        Sig = np.array([[[0.5, 0.2], [0.2, 0.4]], [[1.0, -0.3], [-0.3, 0.6]]])
    else:
        Sig = np.array([np.diag([0.3, 0.5]), np.diag([0.8, 0.2])])
    rows = []
    for s in range(S):
        k = rng.integers(2)
        for t in range(T):
            if t > 0:
                k = rng.choice(2, p=A[k])
            u = rng.normal(size=2)
            y = rng.multivariate_normal(c[k] + W[k] @ u, Sig[k])
            rows.append((s, t, k, y[0], y[1], u[0], u[1]))
    with open(path, "w") as f:
        f.write("seq,t,state,y1,y2,u1,u2\n")
        for r in rows:
            f.write("%d,%d,%d,%r,%r,%r,%r\n" % (r[0], r[1], r[2], r[3], r[4], r[5], r[6]))


def wls(Z, Y, w):
    """argmin_B sum_i w_i |Y_i - Z_i B|^2 by least squares on sqrt(w) rows."""
    sw = np.sqrt(w)[:, None]
    return np.linalg.lstsq(Z * sw, Y * sw, rcond=None)[0]


def main():
    mode, path, init_path, niter = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if mode.startswith("regression"):
        regression_data(path, mode.endswith("full"))
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    seq = d[:, 0].astype(int)
    S = seq.max() + 1
    T = len(seq) // S
    X = d[:, 3:].reshape(S, T, -1)
    D = X.shape[2]
    K = 2
    start = np.full(K, 1.0 / K)
    A = np.array([[0.8, 0.2], [0.3, 0.7]])
    flat = X.reshape(-1, D)
    f = open(init_path, "w")
    f.write("model: hmm\nversion: 1\nstates: %d\nstart: %s\n" % (K, fmt(start)))
    mat(f, "transitions", A, "")
    f.write("emission:\n")
    if mode == "bernoulli":
        p = np.array([[0.3 + 0.4 * k] * D for k in range(K)])
        f.write("  family: bernoulli\n")
        mat(f, "probabilities", p)
    elif mode == "multinomial":
        P = np.array([[v + 1.0 + 2 * k * (v == 0) for v in range(D)] for k in range(K)])
        P /= P.sum(1, keepdims=True)
        f.write("  family: multinomial\n")
        mat(f, "probabilities", P)
    elif mode == "gamma":
        mean = flat.mean(0)
        shape = np.array([[1.5 + k] * D for k in range(K)])
        scale = np.array([mean * (0.5 + k) / shape[k] for k in range(K)])
        f.write("  family: gamma\n")
        mat(f, "shapes", shape)
        mat(f, "scales", scale)
    elif mode == "lognormal":
        ly = np.log(flat)
        mu = np.array([ly.mean(0) + (k - 0.5) * ly.std(0) for k in range(K)])
        var = np.tile(ly.var(0), (K, 1))
        f.write("  family: lognormal\n")
        mat(f, "means", mu)
        mat(f, "variances", var)
    elif mode.startswith("regression"):
        Dy, full = 2, mode.endswith("full")
        c = np.array([flat[:, :Dy].mean(0) + (k - 0.5) for k in range(K)])
        W = np.zeros((K, Dy, D - Dy))
        Sig = np.array([np.diag(flat[:, :Dy].var(0))] * K)
        f.write("  family: regression\n  covariance: %s\n  covariates: %d\n" % ("full" if full else "diag", D - Dy))
        mat(f, "intercepts", c)
        mat(f, "coefficients", W.reshape(K * Dy, D - Dy))
        if full:
            mat(f, "covariances", Sig.reshape(K * Dy, Dy))
        else:
            mat(f, "variances", np.array([np.diag(s) for s in Sig]))
    elif mode == "ar-full":
        c = np.array([flat.mean(0) + (k - 0.5) * flat.std(0) for k in range(K)])
        W = np.zeros((K, D, D))
        Sig = np.array([np.cov(flat.T, bias=True)] * K)
        f.write("  family: ar-gaussian\n  order: 1\n  covariance: full\n")
        mat(f, "intercepts", c)
        mat(f, "coefficients", W.reshape(K * D, D))
        mat(f, "covariances", Sig.reshape(K * D, D))
    elif mode == "gmm-full":
        M = 2
        w = np.full((K, M), 0.5)
        mu = np.array([[flat.mean(0) + (2 * k + c - 1.5) * 0.7 * flat.std(0) for c in range(M)] for k in range(K)])
        Sig = np.array([[np.cov(flat.T, bias=True)] * M] * K)
        f.write("  family: gaussian-mixture\n  components: %d\n  covariance: full\n" % M)
        mat(f, "weights", w)
        mat(f, "means", mu.reshape(K * M, D))
        mat(f, "covariances", Sig.reshape(K * M * D, D))
    f.close()

    for it in range(niter + 1):
        # log densities (S, T, K)
        if mode == "bernoulli":
            logB = np.stack([stats.bernoulli.logpmf(X, p[k]).sum(-1) for k in range(K)], -1)
        elif mode == "multinomial":
            n = flat.sum(1)
            logB = np.stack([stats.multinomial.logpmf(flat, n, P[k]) for k in range(K)], -1).reshape(S, T, K)
        elif mode == "gamma":
            logB = np.stack([stats.gamma.logpdf(X, shape[k], scale=scale[k]).sum(-1) for k in range(K)], -1)
        elif mode == "lognormal":
            logB = np.stack([(stats.norm.logpdf(np.log(X), mu[k], np.sqrt(var[k])) - np.log(X)).sum(-1)
                             for k in range(K)], -1)
        elif mode.startswith("regression"):
            Y, U = X[..., :Dy], X[..., Dy:]
            logB = np.stack([stats.multivariate_normal.logpdf((Y - c[k] - U @ W[k].T).reshape(-1, Dy),
                                                              np.zeros(Dy), Sig[k]).reshape(S, T)
                             for k in range(K)], -1)
        elif mode == "ar-full":
            R = [X[:, 1:] - c[k] - X[:, :-1] @ W[k].T for k in range(K)]
            logB = np.zeros((S, T, K))
            for k in range(K):
                logB[:, 1:, k] = stats.multivariate_normal.logpdf(R[k].reshape(-1, D), np.zeros(D),
                                                                  Sig[k]).reshape(S, T - 1)
        elif mode == "gmm-full":
            lc = np.stack([[np.log(w[k, cc]) + stats.multivariate_normal.logpdf(flat, mu[k, cc], Sig[k, cc])
                            for cc in range(M)] for k in range(K)])  # (K, M, N)
            logB = special.logsumexp(lc, axis=1).T.reshape(S, T, K)
        ll, g, xi = forward_backward(start, A, logB)
        if it > 0:
            print(repr(ll))
        start = g[:, 0].sum(0) / S
        A = xi / xi.sum(1, keepdims=True)
        G = g.reshape(-1, K)
        N = G.sum(0)
        if mode == "bernoulli":
            p = (G.T @ flat) / N[:, None]
        elif mode == "multinomial":
            P = G.T @ flat
            P /= P.sum(1, keepdims=True)
        elif mode == "gamma":
            m1 = (G.T @ flat) / N[:, None]
            ml = (G.T @ np.log(flat)) / N[:, None]
            sv = np.log(m1) - ml
            for k in range(K):
                for j in range(D):
                    shape[k, j] = optimize.brentq(lambda a: np.log(a) - special.digamma(a) - sv[k, j],
                                                  1e-8, 1e8, xtol=1e-300, rtol=4 * np.finfo(float).eps)
            scale = m1 / shape
        elif mode == "lognormal":
            ly = np.log(flat)
            mu = (G.T @ ly) / N[:, None]
            var = np.stack([(G[:, k, None] * (ly - mu[k]) ** 2).sum(0) / N[k] for k in range(K)])
        elif mode.startswith("regression"):
            Yf, Uf = flat[:, :Dy], flat[:, Dy:]
            Z = np.hstack([np.ones((len(flat), 1)), Uf])
            for k in range(K):
                Bk = wls(Z, Yf, G[:, k])
                c[k], W[k] = Bk[0], Bk[1:].T
                R = Yf - Z @ Bk
                C = (G[:, k, None, None] * R[:, :, None] * R[:, None, :]).sum(0) / N[k]
                Sig[k] = C if mode.endswith("full") else np.diag(np.diag(C))
        elif mode == "ar-full":
            Yf = X[:, 1:].reshape(-1, D)
            Z = np.hstack([np.ones((len(Yf), 1)), X[:, :-1].reshape(-1, D)])
            Gt = g[:, 1:].reshape(-1, K)
            for k in range(K):
                Bk = wls(Z, Yf, Gt[:, k])
                c[k], W[k] = Bk[0], Bk[1:].T
                R = Yf - Z @ Bk
                Sig[k] = (Gt[:, k, None, None] * R[:, :, None] * R[:, None, :]).sum(0) / Gt[:, k].sum()
        elif mode == "gmm-full":
            resp = np.exp(lc - special.logsumexp(lc, axis=1, keepdims=True))  # (K, M, N)
            for k in range(K):
                for cc in range(M):
                    r = G[:, k] * resp[k, cc]
                    w[k, cc] = r.sum() / N[k]
                    mu[k, cc] = r @ flat / r.sum()
                    R = flat - mu[k, cc]
                    Sig[k, cc] = (r[:, None, None] * R[:, :, None] * R[:, None, :]).sum(0) / r.sum()


if __name__ == "__main__":
    main()

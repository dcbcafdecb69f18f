"""Reference Baum-Welch in numpy for tests/cli/hmm-numpy.sh (and bench/hmm).

    hmm_numpy_ref.py gauss|cat DATA.csv INIT.yaml NITER

Writes the initial model INIT.yaml (so that hmm-fit --init starts from the
same numbers), then runs NITER EM iterations on the sequences of DATA.csv
(columns seq,t,state,x1..: every sequence the same length) and prints the
log-likelihood after each iteration, one per line.  The forward-backward is
scaled (Rabiner 1989) and vectorised over sequences; no floors, no priors.
"""
import sys
import numpy as np


def forward_backward(start, A, B):
    """B: (S, T, K) emission densities. Returns logL, gamma (S,T,K), xi sum (K,K)."""
    S, T, K = B.shape
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
    return np.log(c).sum(), gamma, xi


def fmt(v):
    return "[" + ", ".join(repr(float(x)) for x in v) + "]"


def main():
    mode, path, init_path, niter = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    seq = d[:, 0].astype(int)
    S = seq.max() + 1
    T = len(seq) // S
    X = d[:, 3:].reshape(S, T, -1)
    D = X.shape[2]
    K = 3 if mode == "gauss" else 2
    start = np.full(K, 1.0 / K)
    A = np.full((K, K), 0.2 / (K - 1)) + np.eye(K) * (0.8 - 0.2 / (K - 1))
    with open(init_path, "w") as f:
        f.write("model: hmm\nversion: 1\nstates: %d\nstart: %s\ntransitions:\n" % (K, fmt(start)))
        for r in A:
            f.write("  - %s\n" % fmt(r))
        if mode == "gauss":
            mu = np.array([[X[..., j].min() + (X[..., j].max() - X[..., j].min()) * (k + 0.5) / K
                            for j in range(D)] for k in range(K)])
            var = np.tile(X.reshape(-1, D).var(0), (K, 1))
            f.write("emission:\n  family: gaussian\n  covariance: diag\n  means:\n")
            for r in mu:
                f.write("    - %s\n" % fmt(r))
            f.write("  variances:\n")
            for r in var:
                f.write("    - %s\n" % fmt(r))
        else:
            M = int(X.max()) + 1
            P = np.array([[(v + 1.0 + k) for v in range(M)] for k in range(K)])
            P /= P.sum(1, keepdims=True)
            f.write("emission:\n  family: categorical\n  channels:\n    - symbols: %d\n      probabilities:\n" % M)
            for r in P:
                f.write("        - %s\n" % fmt(r))
    x = X[..., 0].astype(int) if mode != "gauss" else None
    for it in range(niter + 1):
        if mode == "gauss":
            B = np.exp(-0.5 * (((X[:, :, None, :] - mu[None, None]) ** 2) / var[None, None]).sum(-1)
                       - 0.5 * np.log(2 * np.pi * var).sum(-1)[None, None])
        else:
            B = P.T[x]
        ll, g, xi = forward_backward(start, A, B)
        if it > 0:
            print(repr(ll))
        start = g[:, 0].sum(0) / S
        A = xi / xi.sum(1, keepdims=True)
        N = g.sum((0, 1))
        if mode == "gauss":
            mu = np.einsum("stk,std->kd", g, X) / N[:, None]
            var = np.einsum("stk,stkd->kd", g, (X[:, :, None, :] - mu[None, None]) ** 2) / N[:, None]
        else:
            P = np.stack([np.bincount(x.ravel(), weights=g[..., k].ravel(), minlength=P.shape[1]) for k in range(K)])
            P /= P.sum(1, keepdims=True)


if __name__ == "__main__":
    main()

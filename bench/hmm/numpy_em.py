"""Seconds per Baum-Welch iteration of a vectorised numpy implementation
(bench/hmm/run.sh): the scaled forward-backward of tests/cli/hmm_numpy_ref.py,
vectorised over sequences, with the M-step.

    numpy_em.py cat|gauss DATA.csv K ITERS

DATA.csv: seq,t,state,x1.. with equal-length sequences (hmm-sample output).
Prints the median CPU seconds per iteration (process time: robust to other
load on the machine; the reference BLAS is single-threaded).
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "cli"))
from hmm_numpy_ref import forward_backward  # noqa: E402


def main():
    mode, path, K, iters = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    S = int(d[:, 0].max()) + 1
    T = len(d) // S
    X = d[:, 3:].reshape(S, T, -1)
    D = X.shape[2]
    rng = np.random.default_rng(1)
    start = np.full(K, 1.0 / K)
    A = rng.dirichlet(np.ones(K), size=K) * 0.2 + np.eye(K) * 0.8
    A /= A.sum(1, keepdims=True)
    if mode == "gauss":
        flat = X.reshape(-1, D)
        mu = flat[rng.choice(len(flat), K, replace=False)]
        var = np.tile(flat.var(0), (K, 1))
    else:
        x = X[..., 0].astype(int)
        M = x.max() + 1
        P = rng.dirichlet(np.ones(M), size=K)
    times = []
    for it in range(iters):
        t0 = time.process_time()
        if mode == "gauss":
            B = np.empty((S, T, K))
            for s in range(S):  # one sequence at a time keeps memory at T x K x D
                B[s] = np.exp(-0.5 * (((X[s][:, None, :] - mu[None]) ** 2) / var[None]).sum(-1)
                              - 0.5 * np.log(2 * np.pi * var).sum(-1)[None])
        else:
            B = P.T[x]
        ll, g, xi = forward_backward(start, A, B)
        start = g[:, 0].sum(0) / S
        A = xi / xi.sum(1, keepdims=True)
        N = g.sum((0, 1))
        if mode == "gauss":
            G = g.reshape(-1, K)
            flat = X.reshape(-1, D)
            mu = (G.T @ flat) / N[:, None]
            var = (G.T @ flat ** 2) / N[:, None] - mu ** 2
            var = np.maximum(var, 1e-6)
        else:
            P = np.stack([np.bincount(x.ravel(), weights=g[..., k].ravel(), minlength=M) for k in range(K)])
            P /= P.sum(1, keepdims=True)
        times.append(time.process_time() - t0)
    print("%.4g" % float(np.median(times)))


main()

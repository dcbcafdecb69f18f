"""Bootstrap filter for the stochastic volatility model, vectorised with
numpy (the peer of bench/pf/run.sh): systematic resampling at every step.
Usage: sv_numpy.py DATA.csv N SEED
  -> prints "loglik CPU-seconds wall-seconds" of the filter (after loading)."""
import sys
import time

import numpy as np


def bootstrap_sv(y, n, rng, mu=0.0, phi=0.97, sigma=0.2):
    x = mu + sigma / np.sqrt(1 - phi * phi) * rng.standard_normal(n)
    ll = 0.0
    c = -0.5 * np.log(2 * np.pi)
    for t, yt in enumerate(y):
        if t > 0:
            # systematic resampling, then propagate
            w = np.exp(lw - lw.max())
            cw = np.cumsum(w)
            u = (rng.random() + np.arange(n)) / n * cw[-1]
            a = np.searchsorted(cw, u, side="right")
            np.minimum(a, n - 1, out=a)
            x = mu + phi * (x[a] - mu) + sigma * rng.standard_normal(n)
        lw = c - 0.5 * x - 0.5 * yt * yt * np.exp(-x)
        m = lw.max()
        ll += m + np.log(np.mean(np.exp(lw - m)))
    return ll


def main():
    path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    y = np.loadtxt(path, delimiter=",", skiprows=1, usecols=1)
    rng = np.random.default_rng(seed)
    t0, w0 = time.process_time(), time.perf_counter()
    ll = bootstrap_sv(y, n, rng)
    print(f"{ll:.6f} {time.process_time() - t0:.4f} {time.perf_counter() - w0:.4f}")


main()

"""Write the benchmark models of bench/hmm/run.sh: truth and a different
initial model for each case.

    models.py DIR

(a) categorical, 8 states, 16 symbols; (b) Gaussian diag, 32 states, 4
dimensions; (c) Gaussian diag, 256 states, 4 dimensions.  Deterministic.
"""
import sys
import numpy as np


def fmt(v):
    return "[" + ", ".join(repr(float(x)) for x in v) + "]"


def write(path, K, start, A, emis):
    with open(path, "w") as f:
        f.write("model: hmm\nversion: 1\nstates: %d\nstart: %s\ntransitions:\n" % (K, fmt(start)))
        for r in A:
            f.write("  - %s\n" % fmt(r))
        f.write(emis)


def chain(rng, K):
    A = rng.dirichlet(np.ones(K), size=K) * 0.2 + np.eye(K) * 0.8
    return np.full(K, 1.0 / K), A / A.sum(1, keepdims=True)


def categorical(rng, K, M):
    P = rng.dirichlet(np.ones(M) * 0.5, size=K)
    s = "emission:\n  family: categorical\n  channels:\n    - symbols: %d\n      probabilities:\n" % M
    return s + "".join("        - %s\n" % fmt(r) for r in P)


def gaussian(rng, K, D, spread):
    mu = rng.normal(size=(K, D)) * spread
    var = rng.uniform(0.5, 1.5, size=(K, D))
    s = "emission:\n  family: gaussian\n  covariance: diag\n  means:\n"
    s += "".join("    - %s\n" % fmt(r) for r in mu) + "  variances:\n"
    return s + "".join("    - %s\n" % fmt(r) for r in var)


out = sys.argv[1]
for case, K, em in (("a", 8, lambda r: categorical(r, 8, 16)),
                    ("b", 32, lambda r: gaussian(r, 32, 4, 3.0)),
                    ("c", 256, lambda r: gaussian(r, 256, 4, 3.0))):
    for which, seed in (("truth", 1), ("init", 2)):
        rng = np.random.default_rng(seed + ord(case))
        start, A = chain(rng, K)
        write("%s/%s-%s.yaml" % (out, case, which), K, start, A, em(rng))

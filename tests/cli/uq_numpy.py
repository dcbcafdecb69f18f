#!/usr/bin/python3
"""Independent numpy computation of every uq-entropy score and uq-eval
metric on random generations; prints PASS/FAIL lines for tests/cli/uq-numpy.sh.

usage: uq_numpy.py WORKDIR   (uq-entropy and uq-eval on PATH)"""
import csv
import itertools
import json
import math
import os
import random
import re
import subprocess
import sys

import numpy as np

TOL = 1e-12
WORDS = "paris lyon the answer is it capital of france city a an in 1989 1991 blue red".split()
work = sys.argv[1]
rng = random.Random(12345)
fails = 0


def report(ok, name, detail=""):
    global fails
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else " " + detail))
    fails += not ok


def close(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return abs(a - b) <= TOL * max(1.0, abs(b))


# ------------------------------------------------------------ random data
def rnd_text():
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5))) + rng.choice(["", ".", "!"])


def make_prompt(pid, temp):
    m = rng.randint(2, 7)
    classes = [rng.randrange(3) for _ in range(m)]
    samples = []
    for i in range(m):
        lps = [round(rng.uniform(-3, -0.01), 6) for _ in range(rng.randint(1, 6))]
        s = {"text": rnd_text(), "logprobs": lps}
        samples.append(s)
    E = [[1.0] * m for _ in range(m)]
    C = [[0.0] * m for _ in range(m)]
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            if classes[i] == classes[j] and rng.random() < 0.8:
                e = rng.uniform(0.5, 1.0)
            else:
                e = rng.uniform(0.0, 0.6)
            c = rng.uniform(0, 1 - e)
            E[i][j], C[i][j] = round(e, 6), round(c, 6)
    S = [[1.0 if i == j else round(rng.uniform(0.05, 1), 6) for j in range(m)] for i in range(m)]
    d = 5
    emb = [[round(rng.gauss(0, 1), 6) for _ in range(d)] for _ in range(m)]
    k = rng.randint(2, 3)
    insim = [[1.0 if a == b else round(rng.uniform(0.1, 1), 6) for b in range(k)] for a in range(k)]
    gl = [round(rng.uniform(-2, -0.01), 6) for _ in range(rng.randint(1, 5))]
    top = [[lp] + sorted([round(rng.uniform(-6, lp), 6) for _ in range(2)], reverse=True) for lp in gl]
    return {"id": pid, "temperature": temp, "greedy": {"text": rnd_text(), "logprobs": gl, "top_logprobs": top},
            "samples": samples, "entail": E, "contra": C, "sim": S, "embeddings": emb,
            "inputs": {"sim": insim, "map": [rng.randrange(k) for _ in range(m)]},
            "correct": rng.randint(0, 1)}


prompts = []
for q in range(30):
    for t in (0.5, 1.0):
        prompts.append(make_prompt("p%d" % q, t))
path = os.path.join(work, "rand.jsonl")
with open(path, "w") as f:
    for p in prompts:
        f.write(json.dumps(p) + "\n")


# --------------------------------------------------------- numpy scores
def toks(s):
    return re.findall(r"[a-z0-9]+", s.lower())


def rougel(a, b):
    x, y = toks(a), toks(b)
    if not x or not y:
        return 0.0
    L = np.zeros((len(x) + 1, len(y) + 1))
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            L[i, j] = L[i - 1, j - 1] + 1 if x[i - 1] == y[j - 1] else max(L[i - 1, j], L[i, j - 1])
    lcs = L[-1, -1]
    P, R = lcs / len(y), lcs / len(x)
    return 0.0 if P + R == 0 else 2 * P * R / (P + R)


def jacc(a, b):
    x, y = set(toks(a)), set(toks(b))
    return 1.0 if not (x | y) else len(x & y) / len(x | y)


def nli_class(e, c):
    probs = [c, max(0.0, 1 - e - c), e]
    return int(np.argmax(probs))


def equiv(E, C, i, j, rule):
    a, b = nli_class(E[i][j], C[i][j]), nli_class(E[j][i], C[j][i])
    if rule == "strict":
        return a == 2 and b == 2
    if rule == "nc":
        return a != 0 and b != 0
    return a != 0 and b != 0 and not (a == 1 and b == 1)


def relabel(ids):
    seen = {}
    return [seen.setdefault(x, len(seen)) for x in ids]


def cluster(E, C, method, rule):
    m = len(E)
    if method == "rep":
        reps, ids = [], []
        for i in range(m):
            for c, r in enumerate(reps):
                if equiv(E, C, r, i, rule):
                    ids.append(c)
                    break
            else:
                reps.append(i)
                ids.append(len(reps) - 1)
        return relabel(ids)
    if method == "union":
        parent = list(range(m))

        def find(x):
            while parent[x] != x:
                x = parent[x]
            return x
        for i in range(m):
            for j in range(i + 1, m):
                if equiv(E, C, i, j, rule):
                    a, b = find(i), find(j)
                    parent[max(a, b)] = min(a, b)
        return relabel([find(i) for i in range(m)])
    ids = [-1] * m
    nxt = 0
    for i in range(m):
        if ids[i] == -1:
            ids[i] = nxt
            for j in range(i + 1, m):
                if equiv(E, C, i, j, rule):
                    ids[j] = nxt
            nxt += 1
    return relabel(ids)


def ent(p):
    p = np.asarray(p, float)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def affinity(p, mode):
    m = len(p["samples"])
    if mode == "entail":
        A = np.array(p["entail"])
        W = (A + A.T) / 2
    elif mode == "contra":
        A = np.array(p["contra"])
        W = 1 - (A + A.T) / 2
    elif mode == "sim":
        A = np.array(p["sim"])
        W = (A + A.T) / 2
    else:
        t = [s["text"] for s in p["samples"]]
        W = np.array([[jacc(t[i], t[j]) for j in range(m)] for i in range(m)])
    np.fill_diagonal(W, 1.0)
    return W


def spectral(W, thr):
    m = len(W)
    d = W.sum(1)
    L = np.eye(m) - W / np.sqrt(np.outer(d, d))
    lam, V = np.linalg.eigh(L)
    eigv = float(np.clip(1 - lam, 0, None).sum())
    deg = float(np.trace(m * np.eye(m) - np.diag(d)) / m ** 2)
    keep = V[:, lam < thr]
    ecc = float(np.linalg.norm(np.linalg.norm(keep - keep.mean(0), axis=1))) if keep.shape[1] else 0.0
    return eigv, deg, ecc


def kle(W, t):
    L = np.diag(W.sum(1)) - W
    lam, V = np.linalg.eigh(L)
    K = V @ np.diag(np.exp(-t * lam)) @ V.T
    dg = np.sqrt(np.diag(K))
    rho = K / np.outer(dg, dg) / len(W)
    mu = np.linalg.eigvalsh(rho)
    return ent(mu)


def eigenscore(Z, alpha, variant):
    Z = np.array(Z)
    m, d = Z.shape
    J = np.eye(d) - np.ones((d, d)) / d
    S = Z @ J @ Z.T
    if variant == "code":
        S = S / (d - 1)
    sign, logdet = np.linalg.slogdet(S + alpha * np.eye(m))
    return logdet / m / (math.log(10) if variant == "code" else 1.0)


def inv_pairs(SX, SY):
    PX = SX / SX.sum(1, keepdims=True)
    PY = SY / SY.sum(1, keepdims=True)
    q = np.diag(PY @ PX)
    return ent(q)


def inv(p, full):
    m = len(p["samples"])
    mp = p["inputs"]["map"]
    IS = np.array(p["inputs"]["sim"])
    S = np.array(p["sim"])
    if full:
        sel = list(range(m))
        return inv_pairs(IS[np.ix_(mp, mp)], S[np.ix_(sel, sel)])
    groups = [[i for i in range(m) if mp[i] == g] for g in range(len(IS))]
    groups = [g for g in groups if g]
    vals = []
    for sel in itertools.product(*groups):
        sel = list(sel)
        xs = [mp[i] for i in sel]
        vals.append(inv_pairs(IS[np.ix_(xs, xs)], S[np.ix_(sel, sel)]))
    assert len(vals) <= 20
    return float(np.mean(vals))


def scores_numpy(p, opt):
    g = p["greedy"]["logprobs"]
    sm = p["samples"]
    L = [sum(s["logprobs"]) for s in sm]
    T = [len(s["logprobs"]) for s in sm]
    out = {"msp": math.exp(sum(g)), "g-nll": -sum(g), "ppl": -sum(g) / len(g)}
    H = []
    for top in p["greedy"]["top_logprobs"]:
        a = np.array(top)
        if opt["token"] == "partial":
            H.append(float(-(np.exp(a) * a).sum()))
        else:
            q = np.exp(a) / np.exp(a).sum()
            H.append(ent(q))
    out["mte"] = float(np.mean(H))
    out["pe"] = -float(np.mean(L))
    ln = np.array(L) / np.array(T)
    out["ln-pe"] = -float(np.mean(ln))
    ids = cluster(p["entail"], p["contra"], opt["cluster"], opt["equiv"])
    K = max(ids) + 1
    w = np.exp(ln)
    out["se"] = ent([w[np.array(ids) == c].sum() / w.sum() for c in range(K)])
    out["se-discrete"] = ent([ids.count(c) / len(ids) for c in range(K)])
    out["num-sets"] = float(K)
    W = affinity(p, opt["affinity"])
    out["eigv"], out["deg"], out["ecc"] = spectral(W, opt["thr"])
    out["kle"] = kle(W, opt["t"])
    t = [s["text"] for s in sm]
    pairs = [(i, j) for i in range(len(t)) for j in range(i + 1, len(t))]
    out["lexsim-rougel"] = 1 - float(np.mean([rougel(t[i], t[j]) for i, j in pairs]))
    out["lexsim-jaccard"] = 1 - float(np.mean([jacc(t[i], t[j]) for i, j in pairs]))
    out["eigenscore"] = eigenscore(p["embeddings"], opt["alpha"], opt["es"])
    out["inv-entropy"] = inv(p, False)
    out["inv-entropy-full"] = inv(p, True)
    return out


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode != 0:
        report(False, " ".join(cmd[:3]), "exit %d: %s" % (r.returncode, r.stderr.strip()))
        return None
    return list(csv.DictReader(r.stdout.splitlines()))


SETTINGS = [
    {"cluster": "greedy", "equiv": "default", "affinity": "entail", "thr": 0.9, "t": 0.3, "token": "renorm", "alpha": 1e-3, "es": "paper"},
    {"cluster": "rep", "equiv": "strict", "affinity": "contra", "thr": 0.5, "t": 1.0, "token": "partial", "alpha": 0.1, "es": "code"},
    {"cluster": "union", "equiv": "nc", "affinity": "jaccard", "thr": 1.2, "t": 0.05, "token": "renorm", "alpha": 1e-3, "es": "paper"},
    {"cluster": "greedy", "equiv": "nc", "affinity": "sim", "thr": 0.9, "t": 2.0, "token": "renorm", "alpha": 1e-2, "es": "paper"},
]
for k, opt in enumerate(SETTINGS):
    cmd = ["uq-entropy", "-q", "-s", "all", "--cluster", opt["cluster"], "--equiv", opt["equiv"],
           "--affinity", opt["affinity"], "--eig-threshold", repr(opt["thr"]), "--kle-t", repr(opt["t"]),
           "--token-entropy", opt["token"], "--eigenscore-alpha", repr(opt["alpha"]),
           "--eigenscore-variant", opt["es"], path]
    rows = run(cmd)
    if rows is None:
        continue
    if len(rows) != len(prompts):
        report(False, "setting %d rows" % k, "%d rows" % len(rows))
        continue
    worst = {}
    for p, row in zip(prompts, rows):
        ref = scores_numpy(p, opt)
        for name, v in ref.items():
            got = float(row[name])
            err = abs(got - v) / max(1.0, abs(v)) if not (math.isnan(got) or math.isnan(v)) else (0 if math.isnan(got) and math.isnan(v) else 1e9)
            worst[name] = max(worst.get(name, 0), err)
    for name, err in sorted(worst.items()):
        report(err <= TOL, "setting %d %s (max rel err %.2g)" % (k, name, err), "> %g" % TOL)


# ---------------------------------------------------------- metrics
def np_auroc(u, y):
    pos = [a for a, b in zip(u, y) if b == 0]
    neg = [a for a, b in zip(u, y) if b == 1]
    s = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return s / (len(pos) * len(neg))


def np_auprc(u, y):
    err = (np.array(y) == 0).astype(float)
    u = np.array(u)
    ap, prev = 0.0, 0.0
    for thr in sorted(set(u), reverse=True):
        sel = u >= thr
        tp = err[sel].sum()
        rec = tp / err.sum()
        ap += (rec - prev) * tp / sel.sum()
        prev = rec
    return ap


def expected_cumsum(key, y):
    key, y = np.array(key), np.array(y, float)
    S, before, k = [], 0.0, 0
    for v in sorted(set(key)):
        grp = y[key == v]
        for j in range(1, len(grp) + 1):
            S.append(before + j * grp.mean())
        before += grp.sum()
    return np.array(S)


def np_area(S, r):
    n = len(S)
    ks = np.arange(n - r + 1, n + 1)
    return float(np.mean(S[ks - 1] / ks))


def np_prr(u, y, frac):
    n = len(y)
    r = n if frac >= 1 else int(math.floor(frac * n))
    a = np_area(expected_cumsum(u, y), r)
    o = np_area(np.cumsum(sorted(y, reverse=True)), r)
    rnd = float(np.mean(y))
    return (a - rnd) / (o - rnd)


def np_rank(x):
    x = np.asarray(x, float)
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(1, len(x) + 1)
    for v in set(x):
        r[x == v] = r[x == v].mean()
    return r


def np_spearman(u, y):
    return float(np.corrcoef(np_rank(-np.array(u)), np_rank(y))[0, 1])


def np_ece(c, y, B=10):
    c, y = np.array(c), np.array(y, float)
    b = np.minimum(np.floor(c * B).astype(int), B - 1)
    return float(sum(abs(y[b == j].mean() - c[b == j].mean()) * (b == j).sum() / len(c) for j in range(B) if (b == j).any()))


def np_tsu(u, ids, temps):
    up = tot = 0
    for i in range(len(u)):
        for j in range(len(u)):
            if ids[i] == ids[j] and temps[i] < temps[j]:
                tot += 1
                up += u[j] > u[i]
    return up / tot


rows = run(["uq-entropy", "-q", "-s", "msp,g-nll,se,num-sets,eigv,kle", path])
if rows is not None:
    sc = os.path.join(work, "scores.csv")
    with open(sc, "w") as f:
        w = csv.writer(f)
        w.writerow(rows[0].keys())
        for r in rows:
            w.writerow(r.values())
    ev = run(["uq-eval", "-l", "correct", sc])
    if ev is not None:
        y = [float(r["correct"]) for r in rows]
        ids = [float(r["id"]) for r in rows]
        temps = [float(r["temperature"]) for r in rows]
        got = {(r["score"], r["metric"]): float(r["value"]) for r in ev}
        for name in ["msp", "g-nll", "se", "num-sets", "eigv", "kle"]:
            s = [float(r[name]) for r in rows]
            u = [-v for v in s] if name == "msp" else s
            ref = {"auroc": np_auroc(u, y), "auprc": np_auprc(u, y), "prr": np_prr(u, y, 1.0),
                   "prr50": np_prr(u, y, 0.5), "auarc": np_area(expected_cumsum(u, y), len(y)),
                   "spearman": np_spearman(u, y), "tsu": np_tsu(u, ids, temps)}
            if name == "msp":
                ref["ece"] = np_ece(s, y)
            for met, v in ref.items():
                g = got.get((name, met), float("nan"))
                report(close(g, v), "uq-eval %s %s = %.15g (numpy %.15g)" % (name, met, g, v), "")
sys.exit(1 if fails else 0)

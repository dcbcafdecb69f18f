#!/usr/bin/python3
"""Independent numpy computation of every uq-entropy score and uq-eval
metric on random generations, each written from its paper's formula (and,
where LM-Polygraph's code differs, that variant too); prints PASS/FAIL
lines for tests/cli/uq-numpy.sh.

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
import unicodedata

import numpy as np

TOL = 1e-12
WORDS = ("paris lyon the answer is it capital of france city a an in 1989 1991 blue red "
         "Москва Париж москва Café CAFÉ café straße STRASSE naïve 東京 ٣٤ Δέλτα δέλτα").split()
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
    gl = [round(rng.uniform(-2, -0.01), 6) for _ in range(rng.randint(1, 6))]
    top = [[lp] + sorted([round(rng.uniform(-6, lp), 6) for _ in range(rng.randint(1, 4))], reverse=True)
           for lp in gl]
    T = len(gl)
    for smp in samples:
        smp["relevance"] = [round(rng.uniform(0, 1), 6) for _ in smp["logprobs"]]
    ge = [round(rng.uniform(0, 1), 6) for _ in range(m)]
    gc = [round(rng.uniform(0, 1 - e), 6) for e in ge]
    claims = []
    for _ in range(rng.randint(0, 3)):
        toks = sorted(rng.sample(range(T), rng.randint(1, T)))
        cl = {"tokens": toks} if rng.random() < 0.5 or toks != list(range(toks[0], toks[-1] + 1)) \
            else {"span": [toks[0], toks[-1] + 1]}
        cl["nli"] = [["entail"] + [rng.choice(["entail", "contra", "neutral", ["contra", "neutral"],
                                               ["entail", "contra"], ["neutral", "neutral"]])
                                   for _ in top[t][1:]] for t in toks]
        cl["correct"] = rng.choice([0, 1, True, False])
        cl["p_true_logprob"] = round(rng.uniform(-3, 0), 6)
        cl["text"] = "claim"
        claims.append(cl)
    greedy = {"text": rnd_text(), "logprobs": gl, "top_logprobs": top,
              "lm_logprobs": [round(rng.uniform(-8, -0.01), 6) for _ in gl],
              "relevance": [round(rng.uniform(0, 1), 6) if rng.random() < 0.9 else 0.0 for _ in gl],
              "entail": ge, "contra": gc, "p_true_logprob": round(rng.uniform(-4, 0), 6), "claims": claims}
    if rng.random() < 0.2:  # a duplicated answer: semantic density counts distinct texts once
        samples[-1]["text"] = samples[0]["text"]
    return {"id": pid, "temperature": temp, "greedy": greedy,
            "samples": samples, "entail": E, "contra": C, "sim": S, "embeddings": emb,
            "inputs": {"sim": insim, "map": [rng.randrange(k) for _ in range(m)]},
            "correct": rng.randint(0, 1)}


def make_degenerate(pid, blocks):
    """Samples in exact semantic sets (0/1 entailment, similarity and
    identical texts within a set): the spectral scores have exact values."""
    p = make_prompt(pid, 1.0)
    cls = [c for c, size in enumerate(blocks) for _ in range(size)]
    m = len(cls)
    texts = [rnd_text() for _ in blocks]
    p["samples"] = [{"text": texts[c], "logprobs": s["logprobs"], "relevance": s["relevance"]}
                    for c, s in zip(cls, (p["samples"] * m)[:m])]
    one = [[1.0 if cls[i] == cls[j] else 0.0 for j in range(m)] for i in range(m)]
    p["entail"] = one
    p["sim"] = one
    p["contra"] = [[1.0 - x for x in row] for row in one]
    p["embeddings"] = (p["embeddings"] * m)[:m]
    p["inputs"]["map"] = [i % len(p["inputs"]["sim"]) for i in range(m)]
    p["greedy"]["entail"] = (p["greedy"]["entail"] * m)[:m]
    p["greedy"]["contra"] = (p["greedy"]["contra"] * m)[:m]
    return p


prompts = []
for q in range(30):
    for t in (0.5, 1.0):
        prompts.append(make_prompt("p%d" % q, t))
for q, blocks in enumerate([[4], [2, 3], [1, 1, 2], [5], [1]]):
    prompts.append(make_degenerate("d%d" % q, blocks))
path = os.path.join(work, "rand.jsonl")
with open(path, "w") as f:
    for p in prompts:
        f.write(json.dumps(p) + "\n")


# --------------------------------------------------------- numpy scores
def toks(s):
    """Word tokens: maximal runs of Unicode letters, marks and numbers,
    case-folded (Python's unicodedata and str.casefold)."""
    out, cur = [], []
    for ch in s:
        if unicodedata.category(ch)[0] in "LMN":
            cur.append(ch)
        elif cur:
            out.append("".join(cur).casefold())
            cur = []
    if cur:
        out.append("".join(cur).casefold())
    return out


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


def softmax(a, temp=1.0):
    z = np.exp(np.asarray(a, float) / temp - np.max(np.asarray(a, float) / temp))
    return z / z.sum()


def token_dist(a, mode):
    """The token distribution over the k given alternatives."""
    return softmax(a) if mode == "renorm" else np.exp(np.asarray(a, float))


def token_H(a, mode):
    q = token_dist(a, mode)
    return float(-(q * np.log(q)).sum())


def renyi(a, alpha, temp):
    # Renyi divergence of q = softmax(a / T) from the uniform u over the k
    # alternatives (Darrin et al. 2023, RAINPROOF): D = log(sum q^a u^(1-a)) / (a - 1)
    q = softmax(a, temp)
    u = np.full(len(q), 1.0 / len(q))
    if alpha == 1:
        return float((q * np.log(q / u)).sum())
    return float(np.log((q ** alpha * u ** (1 - alpha)).sum()) / (alpha - 1))


def fisher_rao(a, temp):
    # Fisher-Rao distance to uniform, normalised to [0, 1]: (2/pi) arccos(sum sqrt(q u))
    q = softmax(a, temp)
    u = np.full(len(q), 1.0 / len(q))
    return float(2 / np.pi * np.arccos(min(1.0, np.sqrt(q * u).sum())))


def self_cert(a, mode):
    # Kang et al. 2025: KL(U || p) = sum_j (1/k) log((1/k) / p_j)
    p = token_dist(a, mode)
    k = len(p)
    return float((1.0 / k * np.log((1.0 / k) / p)).sum())


def sar_scores(p, opt):
    sm = p["samples"]
    m = len(sm)
    S = np.array(p["sim"])

    def tsar(lp, R):
        R = np.asarray(R, float)
        if R.sum() == 0:
            return 0.0
        return float(-(R / R.sum() * np.asarray(lp, float)).sum())

    def sent(probs):
        # Duan et al.: E_S(s_j) = -log(p_j + (1/t) sum_{k != j} g(s_j, s_k) p_k)
        vals = []
        for j in range(m):
            rel = sum(S[j, k] * probs[k] for k in range(m) if k != j) / opt["sar_t"]
            vals.append(-math.log(probs[j] + rel))
        return float(np.mean(vals))

    probs = [math.exp(sum(x["logprobs"])) for x in sm]
    shifted = [math.exp(-tsar(x["logprobs"], x["relevance"])) for x in sm]
    g = p["greedy"]
    return tsar(g["logprobs"], g["relevance"]), sent(probs), sent(shifted)


def sem_density(p, variant):
    # Qiu & Miikkulainen 2024: E||v* - v_i||^2 = p_c + p_n / 2, K = 1 - E,
    # SD = sum_i p_i^(1/L_i) K_i / sum_i p_i^(1/L_i) over distinct samples;
    # LM-Polygraph also adds the greedy answer with K = 1
    g = p["greedy"]
    num = den = 0.0
    seen = set()
    for i, x in enumerate(p["samples"]):
        if x["text"] in seen:
            continue
        seen.add(x["text"])
        w = math.exp(sum(x["logprobs"])) ** (1.0 / len(x["logprobs"]))
        c = g["contra"][i]
        n = max(0.0, 1 - g["entail"][i] - c)
        d = c + n / 2
        K = 1 - d if d <= 1 else 0.0
        num += w * K
        den += w
    if variant == "polygraph":
        w = math.exp(sum(g["logprobs"])) ** (1.0 / len(g["logprobs"]))
        num += w
        den += w
    return num / den


def se_mc(p, ids, variant):
    sm = p["samples"]
    if variant == "kuhn":
        # Kuhn et al. 2023: SE ~ -(1/|C|) sum_c log p(c|x), p(c|x) = sum over the
        # class of the (length-normalised) sequence probabilities
        ll = [sum(x["logprobs"]) / len(x["logprobs"]) for x in sm]
        classes = sorted(set(ids))
        return float(-np.mean([math.log(sum(math.exp(ll[i]) for i in range(len(sm)) if ids[i] == c))
                               for c in classes]))
    # LM-Polygraph: mean over samples of log p(class of the sample), unnormalised
    ll = [sum(x["logprobs"]) for x in sm]
    return float(-np.mean([math.log(sum(math.exp(ll[j]) for j in range(len(sm)) if ids[j] == ids[i]))
                           for i in range(len(sm))]))


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
    nan = float("nan")
    out["lexsim-rougel"] = 1 - float(np.mean([rougel(t[i], t[j]) for i, j in pairs])) if pairs else nan
    out["lexsim-jaccard"] = 1 - float(np.mean([jacc(t[i], t[j]) for i, j in pairs])) if pairs else nan
    out["eigenscore"] = eigenscore(p["embeddings"], opt["alpha"], opt["es"])
    out["inv-entropy"] = inv(p, False)
    out["inv-entropy-full"] = inv(p, True)
    tops = p["greedy"]["top_logprobs"]
    Hs = [token_H(a, opt["token"]) for a in tops]
    out["max-te"] = max(Hs)
    out["renyi-neg"] = -float(np.mean([renyi(a, opt["alpha_r"], opt["divt"]) for a in tops]))
    out["fisher-rao"] = -float(np.mean([fisher_rao(a, opt["divt"]) for a in tops]))
    out["self-certainty"] = float(np.mean([self_cert(a, opt["token"]) for a in tops]))
    lp, u = p["greedy"]["logprobs"], p["greedy"]["lm_logprobs"]
    poly = opt["pmi"] == "polygraph"
    # PMI(y; x) = log p(y|x) - log p(y), per token (LM-Polygraph: none for the first token)
    out["pmi"] = -float(np.mean([lp[t] - (0 if poly and t == 0 else u[t]) for t in range(len(lp))]))
    # van der Poel et al. 2022: log p(y_t|y<t,x) - lambda 1{H_t >= tau} log p(y_t|y<t)
    out["cpmi"] = -float(np.mean([lp[t] - (opt["cl"] * u[t] if Hs[t] >= opt["ct"] and not (poly and t == 0) else 0)
                                  for t in range(len(lp))]))
    out["token-sar"], out["sentence-sar"], out["sar"] = sar_scores(p, opt)
    out["semantic-density"] = sem_density(p, opt["sd"])
    out["se-mc"] = se_mc(p, ids, opt["semc"])
    out["p-true"] = math.exp(p["greedy"]["p_true_logprob"])
    return out


def nli_lab(x):
    if isinstance(x, list):  # [forward, backward] combined as LM-Polygraph's CCP
        f, b = x
        if f == b:
            return f
        if "entail" in x and "contra" in x:
            return "neutral"
        return f if f != "neutral" else b
    return x


def claims_numpy(p):
    """Rows (ccp, claim-msp, claim-g-nll, claim-p-true, correct) per claim."""
    g = p["greedy"]
    rows = []
    for cl in g["claims"]:
        toks = cl["tokens"] if "tokens" in cl else list(range(cl["span"][0], cl["span"][1]))
        # Fadeeva et al. 2024: CCP = prod_t P(entail) / (P(entail) + P(contra)) over
        # the alternatives of each claim token
        ccp = 1.0
        for t, labs in zip(toks, cl["nli"]):
            probs = np.exp(np.asarray(g["top_logprobs"][t], float))
            labs = [nli_lab(x) for x in labs]
            e = sum(q for q, l in zip(probs, labs) if l == "entail")
            c = sum(q for q, l in zip(probs, labs) if l == "contra")
            ccp *= e / (e + c)
        ll = sum(g["logprobs"][t] for t in toks)
        rows.append({"ccp": ccp, "claim-msp": math.exp(ll), "claim-g-nll": -ll,
                     "claim-p-true": math.exp(cl["p_true_logprob"]), "correct": float(cl["correct"])})
    return rows


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode != 0:
        report(False, " ".join(cmd[:3]), "exit %d: %s" % (r.returncode, r.stderr.strip()))
        return None
    return list(csv.DictReader(r.stdout.splitlines()))


SETTINGS = [
    {"cluster": "greedy", "equiv": "default", "affinity": "entail", "thr": 0.9, "t": 0.3, "token": "renorm", "alpha": 1e-3, "es": "paper",
     "alpha_r": 0.5, "divt": 2.0, "pmi": "paper", "ct": 0.0656, "cl": 3.599, "sar_t": 0.001, "sd": "paper", "semc": "kuhn"},
    {"cluster": "rep", "equiv": "strict", "affinity": "contra", "thr": 0.5, "t": 1.0, "token": "partial", "alpha": 0.1, "es": "code",
     "alpha_r": 1.0, "divt": 1.0, "pmi": "polygraph", "ct": 0.5, "cl": 1.0, "sar_t": 0.5, "sd": "polygraph", "semc": "polygraph"},
    {"cluster": "union", "equiv": "nc", "affinity": "jaccard", "thr": 1.2, "t": 0.05, "token": "renorm", "alpha": 1e-3, "es": "paper",
     "alpha_r": 2.5, "divt": 0.7, "pmi": "paper", "ct": 0.3, "cl": 0.5, "sar_t": 2.0, "sd": "paper", "semc": "polygraph"},
    {"cluster": "greedy", "equiv": "nc", "affinity": "sim", "thr": 0.9, "t": 2.0, "token": "renorm", "alpha": 1e-2, "es": "paper",
     "alpha_r": 0.5, "divt": 2.0, "pmi": "polygraph", "ct": 0.0656, "cl": 3.599, "sar_t": 0.001, "sd": "polygraph", "semc": "kuhn"},
]
for k, opt in enumerate(SETTINGS):
    cmd = ["uq-entropy", "-q", "-s", "all", "--cluster", opt["cluster"], "--equiv", opt["equiv"],
           "--affinity", opt["affinity"], "--eig-threshold", repr(opt["thr"]), "--kle-t", repr(opt["t"]),
           "--token-entropy", opt["token"], "--eigenscore-alpha", repr(opt["alpha"]),
           "--eigenscore-variant", opt["es"], "--renyi-alpha", repr(opt["alpha_r"]),
           "--divergence-temperature", repr(opt["divt"]), "--pmi-variant", opt["pmi"],
           "--cpmi-tau", repr(opt["ct"]), "--cpmi-lambda", repr(opt["cl"]), "--sar-t", repr(opt["sar_t"]),
           "--sd-variant", opt["sd"], "--se-mc-variant", opt["semc"], path]
    rows = run(cmd)
    if rows is None:
        continue
    if len(rows) != len(prompts):
        report(False, "setting %d rows" % k, "%d rows" % len(rows))
        continue
    report([r["id"] for r in rows] == [p["id"] for p in prompts], "setting %d: the input's ids, in order" % k)
    worst = {}
    for p, row in zip(prompts, rows):
        ref = scores_numpy(p, opt)
        for name, v in ref.items():
            got = float(row[name])
            err = abs(got - v) / max(1.0, abs(v)) if not (math.isnan(got) or math.isnan(v)) else (0 if math.isnan(got) and math.isnan(v) else 1e9)
            worst[name] = max(worst.get(name, 0), err)
    for name, err in sorted(worst.items()):
        report(err <= TOL, "setting %d %s (max rel err %.2g)" % (k, name, err), "> %g" % TOL)


# ----------------------------------------------------------- claims
rows = run(["uq-entropy", "-q", "-s", "ccp,claim-msp,claim-g-nll,claim-p-true", path])
if rows is not None:
    ref = [r for p in prompts for r in claims_numpy(p)]
    if len(rows) != len(ref):
        report(False, "claim rows", "%d rows, numpy %d" % (len(rows), len(ref)))
    else:
        keys = [(p["id"], p["temperature"], q) for p in prompts for q in range(len(p["greedy"]["claims"]))]
        ok_keys = all(r["claim"] == str(k[2]) and float(r["temperature"]) == k[1] for r, k in zip(rows, keys))
        report(ok_keys, "claim rows: one per claim, numbered from 0, in input order")
        for name in ["ccp", "claim-msp", "claim-g-nll", "claim-p-true", "correct"]:
            err = max(abs(float(r[name]) - x[name]) / max(1.0, abs(x[name])) for r, x in zip(rows, ref))
            report(err <= TOL, "claims %s (max rel err %.2g, %d claims)" % (name, err, len(ref)), "> %g" % TOL)


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
        ids = [r["id"] for r in rows]
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

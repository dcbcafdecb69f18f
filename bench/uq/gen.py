#!/usr/bin/env python3
"""Synthetic generations for uq-entropy (stoch-uq-input(5) JSON Lines).

  gen.py demo            the example set data/uq-trivia.jsonl (fixed seed)
  gen.py bench N M KIND  N prompts with M samples for benchmarks, KIND is
                         logprob (token log-probs only), tokens (the greedy
                         answer also with top-5 alternatives, lm_logprobs and
                         relevance) or spectral (entail)

Synthetic but realistic: each question has a true answer and wrong
alternatives; a per-question confidence decides how often samples pick the
true answer (more spread at the higher temperature); texts are paraphrases
of the chosen answer; token log-probabilities, top-5 alternatives, NLI
entailment/contradiction probabilities and 8-dimensional embeddings follow
the answers' semantic classes with noise.  Only the standard library."""
import json
import math
import random
import sys

QA = [
    ("What is the capital of France?", "Paris", ["Lyon", "Marseille"]),
    ("Who wrote Pride and Prejudice?", "Jane Austen", ["Charlotte Bronte", "Mary Shelley"]),
    ("What is the chemical symbol for gold?", "Au", ["Ag", "Gd"]),
    ("How many planets are in the Solar System?", "eight", ["nine", "seven"]),
    ("Which element has atomic number 1?", "hydrogen", ["helium", "lithium"]),
    ("In which year did the Berlin Wall fall?", "1989", ["1991", "1987"]),
    ("What is the largest ocean on Earth?", "the Pacific Ocean", ["the Atlantic Ocean", "the Indian Ocean"]),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci", ["Michelangelo", "Raphael"]),
    ("What is the square root of 144?", "12", ["14", "11"]),
    ("Which planet is known as the Red Planet?", "Mars", ["Jupiter", "Venus"]),
    ("What is the capital of Australia?", "Canberra", ["Sydney", "Melbourne"]),
    ("Who developed the theory of general relativity?", "Albert Einstein", ["Isaac Newton", "Niels Bohr"]),
    ("What is the longest river in South America?", "the Amazon", ["the Parana", "the Orinoco"]),
    ("How many bones are in the adult human body?", "206", ["212", "198"]),
    ("Which gas do plants absorb for photosynthesis?", "carbon dioxide", ["oxygen", "nitrogen"]),
    ("What is the capital of Canada?", "Ottawa", ["Toronto", "Montreal"]),
    ("Who was the first person to walk on the Moon?", "Neil Armstrong", ["Buzz Aldrin", "Yuri Gagarin"]),
    ("What is the hardest natural substance?", "diamond", ["quartz", "corundum"]),
    ("In which country is Mount Kilimanjaro?", "Tanzania", ["Kenya", "Uganda"]),
    ("What is the smallest prime number?", "2", ["1", "3"]),
    ("Which composer wrote the Moonlight Sonata?", "Beethoven", ["Mozart", "Chopin"]),
    ("What is the currency of Japan?", "the yen", ["the won", "the yuan"]),
    ("Who discovered penicillin?", "Alexander Fleming", ["Louis Pasteur", "Joseph Lister"]),
    ("What is the boiling point of water at sea level in Celsius?", "100 degrees", ["90 degrees", "212 degrees"]),
    ("Which language has the most native speakers?", "Mandarin Chinese", ["English", "Spanish"]),
    ("What is the capital of Mongolia?", "Ulaanbaatar", ["Astana", "Bishkek"]),
    ("Who wrote the novel Nostromo?", "Joseph Conrad", ["Thomas Hardy", "E. M. Forster"]),
    ("In which year was the Treaty of Westphalia signed?", "1648", ["1618", "1659"]),
    ("What is the atomic number of tungsten?", "74", ["76", "72"]),
    ("Which river flows through Baghdad?", "the Tigris", ["the Euphrates", "the Jordan"]),
]
TEMPLATES = ["{a}", "{a}.", "It is {a}.", "The answer is {a}.", "I believe it is {a}."]


def softmax_top(logp_chosen, rng, k=5):
    """Top-k log-probs with the chosen token first."""
    rest = 1 - math.exp(logp_chosen)
    alts = sorted((rng.random() for _ in range(k - 1)), reverse=True)
    s = sum(alts) * (1 + rng.random())  # the tail beyond top-k keeps some mass
    return [round(logp_chosen, 4)] + [round(math.log(max(rest * a / s, 1e-9)), 4) for a in alts]


def token_logprobs(text, conf, rng):
    ntok = max(1, len(text.split()) + text.count(".") + rng.randint(0, 1))
    lps = []
    for _ in range(ntok):
        p = min(0.999, max(0.02, conf + rng.gauss(0, 0.15)))
        lps.append(round(math.log(p), 4))
    return lps


def embed(cls, rng, centroids):
    return [round(c + rng.gauss(0, 0.15), 4) for c in centroids[cls]]


def nli(ci, cj, rng):
    if ci == cj:
        e = rng.uniform(0.8, 0.99)
        c = rng.uniform(0.0, 0.05)
    elif rng.random() < 0.15:  # the NLI model hedges: neutral
        e = rng.uniform(0.1, 0.4)
        c = rng.uniform(0.1, 0.4)
    else:
        e = rng.uniform(0.0, 0.1)
        c = rng.uniform(0.55, 0.95)
    return round(e, 4), round(min(c, 1 - e), 4)


def demo():
    rng = random.Random(20240607)
    out = []
    for qi, (q, true, wrong) in enumerate(QA):
        answers = [true] + wrong
        conf = rng.betavariate(2.2, 1.2)  # how often the model knows it
        centroids = [[rng.gauss(0, 1) for _ in range(8)] for _ in answers]
        for temp in (0.5, 1.0):
            sharp = 1 / temp
            w = [conf ** sharp] + [((1 - conf) / len(wrong)) ** sharp] * len(wrong)
            tot = sum(w)
            w = [x / tot for x in w]
            m = 8
            cls = [rng.choices(range(len(answers)), w)[0] for _ in range(m)]
            texts = [rng.choice(TEMPLATES).format(a=answers[c]) for c in cls]
            samples = []
            for c, t in zip(cls, texts):
                lps = token_logprobs(t, w[c] ** 0.3, rng)
                samples.append({"text": t, "logprobs": lps})
            mode = max(range(len(answers)), key=lambda c: (cls.count(c), -c))
            gtext = answers[mode]
            glps = token_logprobs(gtext, w[mode] ** 0.25, rng)
            top = [softmax_top(lp, rng) for lp in glps]
            E = [[1.0] * m for _ in range(m)]
            C = [[0.0] * m for _ in range(m)]
            for i in range(m):
                for j in range(m):
                    if i != j:
                        E[i][j], C[i][j] = nli(cls[i], cls[j], rng)
            emb = [embed(c, rng, centroids) for c in cls]
            k = 3  # paraphrased prompts for Inv-Entropy
            isim = [[1.0 if a == b else round(rng.uniform(0.8, 0.95), 4) for b in range(k)] for a in range(k)]
            for a in range(k):
                for b in range(a):
                    isim[a][b] = isim[b][a]
            rec = {
                "id": "trivia-%02d" % (qi + 1),
                "prompt": q,
                "temperature": temp,
                "greedy": {"text": gtext, "logprobs": glps, "top_logprobs": top},
                "samples": samples,
                "entail": E,
                "contra": C,
                "embeddings": emb,
                "inputs": {"sim": isim, "map": [i % k for i in range(m)]},
                "correct": 1 if mode == 0 else 0,
            }
            out.append(json.dumps(rec, separators=(",", ":")))
    print("\n".join(out))


def bench(n, m, kind):
    rng = random.Random(7)
    w = sys.stdout.write
    # pre-rendered pieces keep generation fast; values still vary per prompt
    lp_pool = ["%.4f" % math.log(rng.uniform(0.05, 0.999)) for _ in range(4096)]
    for i in range(n):
        if kind in ("logprob", "tokens"):
            ntok = [rng.randint(3, 25) for _ in range(m + 1)]
            toks = lambda k: "[" + ",".join(rng.choice(lp_pool) for _ in range(k)) + "]"
            samples = ",".join('{"text":"a b c","logprobs":%s}' % toks(k) for k in ntok[1:])
            extra = ""
            if kind == "tokens":
                top = "[" + ",".join("[" + ",".join(sorted((rng.choice(lp_pool) for _ in range(5)), key=float,
                                                           reverse=True)) + "]" for _ in range(ntok[0])) + "]"
                rel = "[" + ",".join("%.3f" % rng.random() for _ in range(ntok[0])) + "]"
                extra = ',"top_logprobs":%s,"lm_logprobs":%s,"relevance":%s' % (top, toks(ntok[0]), rel)
            w('{"id":%d,"greedy":{"text":"a b","logprobs":%s%s},"samples":[%s],"correct":%d}\n'
              % (i, toks(ntok[0]), extra, samples, rng.randint(0, 1)))
        else:
            ncl = rng.randint(1, max(1, m // 3))
            cls = [rng.randrange(ncl) for _ in range(m)]
            rows = []
            for a in range(m):
                rows.append("[" + ",".join("1" if a == b else ("0.9%d" % rng.randint(0, 9) if cls[a] == cls[b]
                                                             else "0.0%d" % rng.randint(0, 9)) for b in range(m)) + "]")
            samples = ",".join('{"sum_logprob":-%d.5,"n_tokens":%d}' % (rng.randint(1, 30), rng.randint(3, 20))
                               for _ in range(m))
            w('{"id":%d,"samples":[%s],"entail":[%s],"correct":%d}\n'
              % (i, samples, ",".join(rows), rng.randint(0, 1)))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "demo":
        demo()
    elif len(sys.argv) == 5 and sys.argv[1] == "bench":
        bench(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(__doc__)

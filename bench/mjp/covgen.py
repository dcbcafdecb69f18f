#!/usr/bin/python3
"""Panel data with covariates for bench/mjp/cov.sh.

A 5-state chain 0 -> 1 -> 2 -> 3 with recovery 1 -> 0, 2 -> 1, 3 -> 2 and
death 4 from every living state; each subject has sex (0/1) and age
(uniform 40..80, centred at 60 and divided by 10); rates
q_ab(z) = q_ab exp(0.3 sex + 0.2 (age - 60) / 10) on every transition.
Paths by Gillespie's method from state 0, seen at time 0 and V - 1 distinct
whole days on (0, T) (times in years); deaths are seen at their exact time
(obstype 3), as msm's deathexact.  Usage: covgen.py N V T SEED > data.csv
"""
import sys

import numpy as np


def main():
    n, v, until, seed = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    rng = np.random.default_rng(seed)
    k = 5
    q = np.zeros((k, k))
    for i in range(k - 1):
        if i + 1 < k - 1:
            q[i, i + 1] = 0.3 * (1 + 0.1 * i)
        if i > 0:
            q[i, i - 1] = 0.15
        q[i, k - 1] = 0.03 * (1 + 0.2 * i)
    out = sys.stdout
    out.write("seq,t,state,obstype,sex,age\n")
    days = int(until * 365)
    for s in range(n):
        sex = int(rng.random() < 0.5)
        age = 40 + 40 * rng.random()
        scale = np.exp(0.3 * sex + 0.2 * (age - 60) / 10)
        qs = q * scale
        # path
        t, st = 0.0, 0
        jt, js = [0.0], [0]
        while st != k - 1:
            rate = qs[st].sum()
            t += rng.exponential(1 / rate)
            if t >= until:
                break
            st = int(rng.choice(k, p=qs[st] / rate))
            jt.append(t)
            js.append(st)
        death = jt[-1] if js[-1] == k - 1 else None
        visits = np.sort(rng.choice(np.arange(1, days), size=v - 1, replace=False)) / 365.0
        times = [0.0] + list(visits)
        j = 0
        for tv in times:
            if death is not None and tv >= death:
                break
            while j + 1 < len(jt) and jt[j + 1] <= tv:
                j += 1
            out.write("%d,%.10g,%d,1,%d,%.10g\n" % (s, tv, js[j], sex, age))
        if death is not None:
            out.write("%d,%.10g,%d,3,%d,%.10g\n" % (s, death, k - 1, sex, age))


if __name__ == "__main__":
    main()

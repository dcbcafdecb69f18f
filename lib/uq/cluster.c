/* Semantic classes by bidirectional entailment, and their entropies.
 *
 * Each direction i -> j gets the NLI class argmax(contradiction, neutral,
 * entailment) with neutral = 1 - entail - contra; the first maximum wins
 * (numpy's argmax), so an exact tie goes to contradiction, then neutral. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "uq/uq.h"

static int nli_class(double e, double c)
{
    double n = 1 - e - c;
    if (n < 0)
        n = 0;
    int k = 0;
    double best = c;
    if (n > best) {
        k = 1;
        best = n;
    }
    if (e > best)
        k = 2;
    return k;
}

static int equivalent(const double *E, const double *C, size_t m, size_t i, size_t j, int rule)
{
    int a = nli_class(E[i * m + j], C ? C[i * m + j] : 0);
    int b = nli_class(E[j * m + i], C ? C[j * m + i] : 0);
    switch (rule) {
    case ST_UQ_EQUIV_STRICT:
        return a == 2 && b == 2;
    case ST_UQ_EQUIV_NC:
        return a != 0 && b != 0;
    default:
        return a != 0 && b != 0 && !(a == 1 && b == 1);
    }
}

size_t st_uq_relabel(const long *in, size_t m, long *out)
{
    /* ids can be any non-negative longs: map them in order of first appearance */
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        size_t j = 0;
        while (j < i && in[j] != in[i])
            j++;
        out[i] = j < i ? out[j] : (long)k++;
    }
    return k;
}

static size_t uf_find(size_t *parent, size_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

size_t st_uq_cluster(const double *E, const double *C, size_t m, int method, int rule, long *ids)
{
    if (m == 0)
        return 0;
    long *raw = malloc(m * sizeof *raw);
    size_t *aux = malloc(m * sizeof *aux);
    if (!raw || !aux) {
        free(raw);
        free(aux);
        for (size_t i = 0; i < m; i++)
            ids[i] = (long)i;
        return m; /* cannot happen in practice; every sample its own class */
    }
    if (method == ST_UQ_CLUSTER_REP) {
        /* Kuhn et al. (2023), Algorithm 1: compare with each class's first member */
        size_t nrep = 0; /* aux[c] = representative of class c */
        for (size_t i = 0; i < m; i++) {
            size_t c = 0;
            while (c < nrep && !equivalent(E, C, m, aux[c], i, rule))
                c++;
            if (c == nrep)
                aux[nrep++] = i;
            raw[i] = (long)c;
        }
    } else if (method == ST_UQ_CLUSTER_UNION) {
        for (size_t i = 0; i < m; i++)
            aux[i] = i;
        for (size_t i = 0; i < m; i++)
            for (size_t j = i + 1; j < m; j++)
                if (equivalent(E, C, m, i, j, rule)) {
                    size_t a = uf_find(aux, i), b = uf_find(aux, j);
                    if (a != b)
                        aux[a > b ? a : b] = a < b ? a : b;
                }
        for (size_t i = 0; i < m; i++)
            raw[i] = (long)uf_find(aux, i);
    } else {
        /* Farquhar et al. (2024) reference get_semantic_ids: each unassigned
         * sample opens a class and claims every later equivalent sample,
         * overwriting an earlier assignment as that code does. */
        for (size_t i = 0; i < m; i++)
            raw[i] = -1;
        long next = 0;
        for (size_t i = 0; i < m; i++) {
            if (raw[i] != -1)
                continue;
            raw[i] = next;
            for (size_t j = i + 1; j < m; j++)
                if (equivalent(E, C, m, i, j, rule))
                    raw[j] = next;
            next++;
        }
    }
    size_t k = st_uq_relabel(raw, m, ids);
    free(raw);
    free(aux);
    return k;
}

double st_uq_cluster_entropy(const long *ids, const double *w, size_t m)
{
    long K = 0;
    for (size_t i = 0; i < m; i++)
        if (ids[i] + 1 > K)
            K = ids[i] + 1;
    double *mass = calloc((size_t)K + 1, sizeof *mass);
    if (!mass)
        return NAN;
    double total = 0;
    for (size_t i = 0; i < m; i++) {
        double wi = w ? w[i] : 1.0;
        mass[ids[i]] += wi;
        total += wi;
    }
    double h = 0;
    for (long c = 0; c < K; c++)
        if (mass[c] > 0) {
            double p = mass[c] / total;
            h -= p * log(p);
        }
    free(mass);
    return h;
}

double st_uq_semantic_entropy(const long *ids, const double *mean_logp, size_t m)
{
    double mx = -INFINITY;
    for (size_t i = 0; i < m; i++)
        if (mean_logp[i] > mx)
            mx = mean_logp[i];
    double *w = malloc(m * sizeof *w);
    if (!w)
        return NAN;
    for (size_t i = 0; i < m; i++)
        w[i] = exp(mean_logp[i] - mx);
    double h = st_uq_cluster_entropy(ids, w, m);
    free(w);
    return h;
}

double st_uq_se_mc(const long *ids, const double *logw, size_t m, int over_samples)
{
    if (m == 0)
        return NAN;
    long K = 0;
    for (size_t i = 0; i < m; i++)
        if (ids[i] + 1 > K)
            K = ids[i] + 1;
    double *mx = malloc(2 * (size_t)K * sizeof *mx);
    if (!mx)
        return NAN;
    double *lp = mx + K;
    for (long c = 0; c < K; c++) {
        mx[c] = -INFINITY;
        lp[c] = 0;
    }
    for (size_t i = 0; i < m; i++)
        if (logw[i] > mx[ids[i]])
            mx[ids[i]] = logw[i];
    for (size_t i = 0; i < m; i++)
        lp[ids[i]] += exp(logw[i] - mx[ids[i]]);
    for (long c = 0; c < K; c++)
        lp[c] = mx[c] + log(lp[c]); /* log p(c) = logsumexp over the class */
    double s = 0;
    if (over_samples) {
        for (size_t i = 0; i < m; i++)
            s += lp[ids[i]];
        s /= (double)m;
    } else {
        for (long c = 0; c < K; c++)
            s += lp[c];
        s /= (double)K;
    }
    free(mx);
    return -s;
}

/* Sampling sequences from a model: sequence s draws from the s-th jump
 * stream of the seed, so the output does not depend on the thread count. */
#include "config.h"

#include <stdlib.h>

#include "hmm/internal.h"

int st_hmm_sample_next(const st_hmm *m, st_rng *base, size_t n, size_t T, int *states, double *x,
                       st_err *e)
{
    size_t K = m->K, D = m->D;
    const st_hmm_emis_ops *ops = st_hmm_ops(m);
    st_rng *g = malloc((n ? n : 1) * sizeof *g);
    if (!g)
        return st_err_nomem(e, "random streams");
    for (size_t s = 0; s < n; s++) { /* sequence s: the base jumped s times */
        g[s] = *base;
        st_rng_jump(base);
    }
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t s = 0; s < n; s++) {
        st_rng *r = &g[s];
        if (m->dur) {
            st_hsmm_sample_seq(m, r, T, states + s * T, x + s * T * D);
            continue;
        }
        size_t k = st_rng_categorical(r, m->start, K);
        for (size_t t = 0; t < T; t++) {
            if (t > 0)
                k = st_rng_categorical(r, m->trans + k * K, K);
            states[s * T + t] = (int)k;
            ops->sample(m, k, r, x + (s * T + t) * D, t);
        }
    }
    free(g);
    return ST_OK;
}

int st_hmm_sample(const st_hmm *m, size_t n, size_t T, uint64_t seed, int *states, double *x, st_err *e)
{
    st_rng base;
    st_rng_stream(&base, seed, 0);
    return st_hmm_sample_next(m, &base, n, T, states, x, e);
}

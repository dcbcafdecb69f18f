/* Posterior sampling of state paths: forward filtering, backward sampling
 * (Carter & Kohn 1994; Frühwirth-Schnatter 1994; Scott 2002).
 *
 * The scaled forward pass (forward.c) leaves alpha_t = p(s_t | x_1..t) in
 * the workspace.  A path is then drawn backwards:
 *     s_T-1 ~ alpha_T-1,   s_t | s_t+1 = j ~ alpha_t(i) A(i, j)  (normalised),
 * which is an exact draw from p(s_0..T-1 | x_0..T-1).  One forward pass
 * serves every path of a sequence; each path costs 2K per step.  Models
 * with durations draw whole segments backwards instead (hsmm.c).
 *
 * Random streams: sequence s (its index in d) takes a 64-bit seed from
 * stream s of `seed` (st_rng_stream), and path p of that sequence draws
 * from stream p of that seed.  A path is therefore the same whichever
 * range of paths or sequences a call covers and whatever the thread count. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

/* One backward draw from the filtered probabilities in w->alpha. */
static void draw_path(const st_hmm_ws *w, const double *AT, size_t K, size_t T, st_rng *r, double *q, int *path)
{
    size_t j = st_rng_categorical(r, w->alpha + (T - 1) * K, K);
    path[T - 1] = (int)j;
    for (size_t t = T - 1; t-- > 0;) {
        const double *a = w->alpha + t * K, *col = AT + j * K;
        for (size_t i = 0; i < K; i++)
            q[i] = a[i] * col[i];
        j = st_rng_categorical(r, q, K);
        path[t] = (int)j;
    }
}

uint64_t st_hmm_path_seed(uint64_t seed, size_t s)
{
    st_rng g;
    st_rng_stream(&g, seed, (uint64_t)s);
    return st_rng_u64(&g);
}

int st_hmm_sample_paths(st_hmm *m, const st_hmm_data *d, size_t s0, size_t s1, size_t p0, size_t np, uint64_t seed,
                        int *paths, double *logl, st_err *e)
{
    int rc = st_hmm_prepare(m, e);
    if (rc < 0)
        return rc;
    size_t K = m->K, Tmax = 0;
    for (size_t s = s0; s < s1; s++) {
        size_t n = d->off[s + 1] - d->off[s];
        Tmax = n > Tmax ? n : Tmax;
    }
    double *AT = malloc(K * K * sizeof *AT);
    if (!AT)
        return st_err_nomem(e, "path sampling");
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            AT[j * K + i] = m->trans[i * K + j];
    long bad = -1;
    int nomem = 0;
    st_hmm_data sub = *d; /* the worth_threads estimate for this range */
    sub.nseq = s1 - s0;
    sub.total = (d->off[s1] - d->off[s0]) * (np ? np : 1);
#pragma omp parallel if (st_hmm_worth_threads(m, &sub))
    {
        st_hmm_ws *w = st_hmm_ws_new_for(m, Tmax);
        double *q = malloc((K + m->dmax) * sizeof *q);
        /* durations: the last segment's weights, K x T */
        double *lastw = m->dur ? malloc((Tmax ? Tmax : 1) * K * sizeof *lastw) : NULL;
        if (!w || !q || (m->dur && !lastw)) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t s = s0; s < s1; s++) {
            if (!w || !q || (m->dur && !lastw))
                continue;
            size_t T = d->off[s + 1] - d->off[s];
            double ll;
            st_hmm_forward(m, d->x + d->off[s] * d->D, T, w, &ll);
            if (logl)
                logl[s - s0] = ll;
            if (!(ll > -INFINITY)) {
#pragma omp critical(hmm_bad)
                if (bad < 0 || (long)s < bad)
                    bad = (long)s;
                continue;
            }
            int *out = paths + (d->off[s] - d->off[s0]) * np;
            double lastsum = m->dur ? st_hsmm_last_weights(m, w, T, lastw) : 0;
            st_rng g;
            st_rng_stream(&g, st_hmm_path_seed(seed, s), (uint64_t)p0);
            for (size_t p = 0; p < np; p++) {
                st_rng r = g;
                if (m->dur)
                    st_hsmm_draw_path(m, w, T, lastw, lastsum, &r, q, out + p * T);
                else
                    draw_path(w, AT, K, T, &r, q, out + p * T);
                st_rng_jump(&g);
            }
        }
        st_hmm_ws_free(w);
        free(q);
        free(lastw);
    }
    free(AT);
    if (nomem)
        return st_err_nomem(e, "path sampling workspace");
    if (bad >= 0)
        return st_err_set(e, ST_EDATA, d->source, 0, 0, "sequence %.17g has probability zero under the model",
                          d->seqid ? d->seqid[bad] : (double)bad);
    return ST_OK;
}

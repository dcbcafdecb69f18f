/* Bernoulli emissions: D independent binary channels,
 *     p(x | k) = prod_d p_kd^x_d (1 - p_kd)^(1 - x_d),  x_d in {0, 1}.
 * A missing channel (NaN) is left out of the product.  The M-step is the
 * weighted frequency of ones per state and channel, kept within
 * [floor, 1 - floor] by the probability floor. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

/* cache: log p (K*D), then log(1 - p) (K*D) */
static int bern_prepare(st_hmm *m, st_err *e)
{
    size_t n = m->K * m->D;
    for (size_t i = 0; i < n; i++) {
        m->cache[i] = log(m->bern[i]);
        m->cache[n + i] = log1p(-m->bern[i]);
    }
    (void)e;
    return ST_OK;
}

static void bern_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    size_t K = m->K, D = m->D;
    const double *l1 = m->cache, *l0 = m->cache + K * D;
    (void)t;
    for (size_t k = 0; k < K; k++) {
        double s = 0;
        for (size_t d = 0; d < D; d++) {
            if (isnan(x[d]))
                continue;
            s += x[d] != 0 ? l1[k * D + d] : l0[k * D + d];
        }
        out[k] = s;
    }
}

static void bern_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        bern_logpdf(m, x + t * D, t, b);
        double mx = b[0];
        for (size_t k = 1; k < K; k++)
            mx = b[k] > mx ? b[k] : mx;
        if (!(mx > -INFINITY))
            mx = 0;
        for (size_t k = 0; k < K; k++)
            b[k] = exp(b[k] - mx);
        logs[t] = mx;
    }
}

/* N (K*D observed weight), S (K*D weighted ones) */
static size_t bern_nstats(const st_hmm *m)
{
    return 2 * m->K * m->D;
}

static void bern_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, D = m->D;
    double *N = stats, *S = stats + K * D;
    for (size_t t = 0; t < n; t++) {
        const double *g = gamma + t * K, *xt = x + t * D;
        for (size_t d = 0; d < D; d++) {
            if (isnan(xt[d]))
                continue;
            int one = xt[d] != 0;
            for (size_t k = 0; k < K; k++) {
                N[k * D + d] += g[k];
                if (one)
                    S[k * D + d] += g[k];
            }
        }
    }
}

static int bern_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t n = m->K * m->D;
    const double *N = stats, *S = stats + n;
    double fl = cx->prob_floor;
    for (size_t i = 0; i < n; i++) {
        if (!(N[i] > 0)) { /* channel never observed in this state: keep */
            cx->floored = 1;
            continue;
        }
        double p = S[i] / N[i];
        if (p < fl || p > 1 - fl) {
            p = p < fl ? fl : 1 - fl;
            cx->floored = 1;
        }
        m->bern[i] = p;
    }
    (void)e;
    return ST_OK;
}

static long bern_nparams(const st_hmm *m)
{
    return (long)(m->K * m->D);
}

static void bern_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    (void)t;
    for (size_t d = 0; d < m->D; d++)
        x[d] = st_rng_uniform(r) < m->bern[k * m->D + d] ? 1 : 0;
}

/* Each state starts halfway between the channel's frequency of ones and a
 * uniform draw, which breaks the symmetry between states. */
static int bern_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, D = m->D;
    double *mean = malloc(2 * D * sizeof *mean);
    if (!mean)
        return st_err_nomem(e, "initial model");
    (void)restart;
    st_hmm_data_colvar(d, mean, mean + D);
    double fl = cx->prob_floor > 1e-6 ? cx->prob_floor : 1e-6;
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < D; j++) {
            double p = 0.5 * mean[j] + 0.5 * st_rng_uniform(g);
            m->bern[k * D + j] = p < fl ? fl : p > 1 - fl ? 1 - fl : p;
        }
    free(mean);
    return ST_OK;
}

const st_hmm_emis_ops st_hmm_ops_bernoulli = {
    bern_eval, bern_logpdf, bern_nstats, bern_accum, bern_mstep, bern_nparams, bern_sample, bern_init, bern_prepare,
};

/* Autoregressive Gaussian emissions of order p (AR-HMM): given state k,
 *     x_t = c_k + sum_{l=1..p} A_kl x_t-l + e_t,  e_t ~ N(0, S_k),
 * S_k diagonal or full, with the first p rows of each sequence conditioned
 * on (no emission term: their scaled probabilities are 1); so are a step
 * without an observation (a row of NaN) and the p rows after it.  The density,
 * statistics and M-step (weighted least squares on [1, x_t-1, ...,
 * x_t-p]) are the linear-Gaussian ones of lingauss.c. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

static int ar_prepare(st_hmm *m, st_err *e)
{
    return st_hmm_lg_prepare(m, e);
}

/* w = [1, x_t-1, ..., x_t-p] for the row x (t >= p) */
static void lags(const st_hmm *m, const double *x, double *w)
{
    size_t D = m->D, p = m->order;
    w[0] = 1;
    for (size_t l = 1; l <= p; l++)
        memcpy(w + 1 + (l - 1) * D, x - l * D, D * sizeof *w);
}

/* stack scratch for w (1 + pD) and a residual (D); larger ones malloc */
#define SCRATCH 512

/* Row x (t >= p) or one of its p lags is a step without an observation:
 * the row is not scored, as the first p rows of a sequence are not. */
static int ar_unscored(const st_hmm *m, const double *x)
{
    for (size_t l = 0; l <= m->order; l++)
        if (st_hmm_row_missing(x - l * m->D, m->D))
            return 1;
    return 0;
}

static void ar_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    size_t K = m->K, q = 1 + m->order * m->D;
    if (t < m->order || ar_unscored(m, x)) {
        for (size_t k = 0; k < K; k++)
            out[k] = 0;
        return;
    }
    double buf[SCRATCH], *w = q + m->D <= SCRATCH ? buf : malloc((q + m->D) * sizeof *w);
    if (!w) {
        for (size_t k = 0; k < K; k++)
            out[k] = -INFINITY;
        return;
    }
    lags(m, x, w);
    st_hmm_lg_logdens(m, x, w + 1, w + q, out);
    if (w != buf)
        free(w);
}

static void ar_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        if (t < m->order || ar_unscored(m, x + t * D)) {
            for (size_t k = 0; k < K; k++)
                b[k] = 1;
            logs[t] = 0;
            continue;
        }
        ar_logpdf(m, x + t * D, t, b);
        double mx = b[0];
        for (size_t k = 1; k < K; k++)
            mx = b[k] > mx ? b[k] : mx;
        for (size_t k = 0; k < K; k++)
            b[k] = exp(b[k] - mx);
        logs[t] = mx;
    }
}

static size_t ar_nstats(const st_hmm *m)
{
    return st_hmm_lg_nstats(m);
}

static void ar_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, D = m->D, q = 1 + m->order * D;
    double buf[SCRATCH], *w = q <= SCRATCH ? buf : malloc(q * sizeof *w);
    if (!w)
        return;
    for (size_t t = m->order; t < n; t++) {
        if (ar_unscored(m, x + t * D))
            continue;
        lags(m, x + t * D, w);
        st_hmm_lg_accum(m, x + t * D, w, gamma + t * K, stats);
    }
    if (w != buf)
        free(w);
}

static int ar_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    return st_hmm_lg_mstep(m, stats, cx, e);
}

static long ar_nparams(const st_hmm *m)
{
    return st_hmm_lg_nparams(m);
}

/* Rows before the start of a sequence count as 0 in the regression. */
static void ar_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    size_t D = m->D, p = m->order, q = 1 + p * D;
    double buf[SCRATCH], *w = q <= SCRATCH ? buf : malloc(q * sizeof *w);
    if (!w) {
        for (size_t d = 0; d < D; d++)
            x[d] = NAN;
        return;
    }
    memset(w, 0, q * sizeof *w);
    w[0] = 1;
    for (size_t l = 1; l <= p && l <= t; l++)
        memcpy(w + 1 + (l - 1) * D, x - l * D, D * sizeof *w);
    st_hmm_lg_sample(m, k, w + 1, r, x);
    if (w != buf)
        free(w);
}

/* Start as a Gaussian HMM (k-means++ intercepts, cluster variances) with
 * zero AR coefficients: the first M-step fits the regressions. */
static int ar_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e)
{
    return st_hmm_lg_init(m, d, g, restart, cx, e);
}

const st_hmm_emis_ops st_hmm_ops_ar = {
    ar_eval, ar_logpdf, ar_nstats, ar_accum, ar_mstep, ar_nparams, ar_sample, ar_init, ar_prepare,
};

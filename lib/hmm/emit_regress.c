/* Regression emissions (dynamax's LinearRegressionHMM): the last ncov
 * columns of a row are covariates u, the first Dy = D - ncov responses
 *     y = c_k + W_k u + e,   e ~ N(0, S_k),  S_k diagonal or full.
 * The covariates carry no density of their own (the model is conditional
 * on them); they must be observed.  Density, statistics and M-step
 * (weighted least squares on [1, u]) are the linear-Gaussian ones of
 * lingauss.c.  Sampling takes the covariates already in the row. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

static int reg_prepare(st_hmm *m, st_err *e)
{
    return st_hmm_lg_prepare(m, e);
}

static void reg_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    size_t Dy = st_hmm_dy(m);
    (void)t;
    if (st_hmm_row_missing(x, Dy)) { /* no response: no emission term */
        for (size_t k = 0; k < m->K; k++)
            out[k] = 0;
        return;
    }
    double buf[64], *r = Dy <= 64 ? buf : malloc(Dy * sizeof *r);
    if (!r) {
        for (size_t k = 0; k < m->K; k++)
            out[k] = -INFINITY;
        return;
    }
    st_hmm_lg_logdens(m, x, x + Dy, r, out);
    if (r != buf)
        free(r);
}

static void reg_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        reg_logpdf(m, x + t * D, t, b);
        double mx = b[0];
        for (size_t k = 1; k < K; k++)
            mx = b[k] > mx ? b[k] : mx;
        for (size_t k = 0; k < K; k++)
            b[k] = exp(b[k] - mx);
        logs[t] = mx;
    }
}

static size_t reg_nstats(const st_hmm *m)
{
    return st_hmm_lg_nstats(m);
}

static void reg_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, D = m->D, Dy = st_hmm_dy(m), q = 1 + m->ncov;
    double buf[257], *w = q <= 257 ? buf : malloc(q * sizeof *w);
    if (!w)
        return;
    w[0] = 1;
    for (size_t t = 0; t < n; t++) {
        if (st_hmm_row_missing(x + t * D, Dy))
            continue;
        memcpy(w + 1, x + t * D + Dy, m->ncov * sizeof *w);
        st_hmm_lg_accum(m, x + t * D, w, gamma + t * K, stats);
    }
    if (w != buf)
        free(w);
}

static int reg_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    return st_hmm_lg_mstep(m, stats, cx, e);
}

static long reg_nparams(const st_hmm *m)
{
    return st_hmm_lg_nparams(m);
}

static void reg_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    (void)t;
    st_hmm_lg_sample(m, k, x + st_hmm_dy(m), r, x);
}

static int reg_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e)
{
    return st_hmm_lg_init(m, d, g, restart, cx, e);
}

const st_hmm_emis_ops st_hmm_ops_regression = {
    reg_eval, reg_logpdf, reg_nstats, reg_accum, reg_mstep, reg_nparams, reg_sample, reg_init, reg_prepare,
};

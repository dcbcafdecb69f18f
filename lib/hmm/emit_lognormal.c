/* Log-normal emissions: D independent columns of positive values whose
 * logarithms are Gaussian given the state,
 *     p(x | k) = prod_d N(log x_d; mu_kd, v_kd) / x_d.
 * mean and var hold mu and v (of log x).  The Jacobian -sum log x is the
 * same for every state and goes into the row's scale.  A missing value
 * (NaN) is left out.  The M-step is the diagonal-Gaussian one on log x
 * (statistics around the current means), variances floored. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

#define LOG_2PI 1.8378770664093454836

/* cache: precisions (K*D), then -(log 2 pi + log v)/2 (K*D) */
static int lnorm_prepare(st_hmm *m, st_err *e)
{
    size_t n = m->K * m->D;
    for (size_t i = 0; i < n; i++) {
        m->cache[i] = 1 / m->var[i];
        m->cache[n + i] = -0.5 * (LOG_2PI + log(m->var[i]));
    }
    (void)e;
    return ST_OK;
}

static double lnorm_row(const st_hmm *m, const double *x, double *out)
{
    size_t K = m->K, D = m->D;
    const double *prec = m->cache, *c0 = m->cache + K * D;
    double jac = 0;
    for (size_t d = 0; d < D; d++)
        if (!isnan(x[d]))
            jac -= log(x[d]);
    for (size_t k = 0; k < K; k++) {
        double s = 0;
        for (size_t d = 0; d < D; d++) {
            if (isnan(x[d]))
                continue;
            size_t i = k * D + d;
            double r = log(x[d]) - m->mean[i];
            s += c0[i] - 0.5 * r * r * prec[i];
        }
        out[k] = s;
    }
    return jac;
}

static void lnorm_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    double jac = lnorm_row(m, x, out);
    (void)t;
    for (size_t k = 0; k < m->K; k++)
        out[k] += jac;
}

static void lnorm_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        double jac = lnorm_row(m, x + t * D, b);
        double mx = b[0];
        for (size_t k = 1; k < K; k++)
            mx = b[k] > mx ? b[k] : mx;
        for (size_t k = 0; k < K; k++)
            b[k] = exp(b[k] - mx);
        logs[t] = mx + jac;
    }
}

/* N, S1 = sum g (y - mu), S2 = sum g (y - mu)^2 (K*D each), y = log x */
static size_t lnorm_nstats(const st_hmm *m)
{
    return 3 * m->K * m->D;
}

static void lnorm_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, D = m->D, KD = K * D;
    double *N = stats, *S1 = stats + KD, *S2 = stats + 2 * KD;
    for (size_t t = 0; t < n; t++) {
        const double *g = gamma + t * K, *xt = x + t * D;
        for (size_t d = 0; d < D; d++) {
            if (isnan(xt[d]))
                continue;
            double y = log(xt[d]);
            for (size_t k = 0; k < K; k++) {
                size_t i = k * D + d;
                double r = y - m->mean[i], gr = g[k] * r;
                N[i] += g[k];
                S1[i] += gr;
                S2[i] += gr * r;
            }
        }
    }
}

static int lnorm_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, D = m->D, KD = K * D;
    const double *N = stats, *S1 = stats + KD, *S2 = stats + 2 * KD;
    for (size_t i = 0; i < KD; i++) {
        if (!(N[i] > 1e-300)) {
            cx->floored = 1;
            continue;
        }
        double m1 = S1[i] / N[i], v = S2[i] / N[i] - m1 * m1;
        m->mean[i] += m1;
        if (!(v >= cx->var_floor[i % D])) {
            v = cx->var_floor[i % D];
            cx->floored = 1;
        }
        m->var[i] = v;
    }
    (void)e;
    return ST_OK;
}

static long lnorm_nparams(const st_hmm *m)
{
    return (long)(2 * m->K * m->D);
}

static void lnorm_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    (void)t;
    for (size_t d = 0; d < m->D; d++) {
        size_t i = k * m->D + d;
        x[d] = exp(m->mean[i] + sqrt(m->var[i]) * st_rng_normal(r));
    }
}

/* The diagonal-Gaussian start (k-means++) on log x. */
static int lnorm_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e)
{
    size_t D = m->D, len = d->total;
    double *y = malloc((len ? len : 1) * D * sizeof *y);
    if (!y)
        return st_err_nomem(e, "initial model");
    for (size_t i = 0; i < len * D; i++)
        y[i] = log(d->x[i]);
    st_hmm_data *ld = NULL;
    st_hmm *tmp = NULL;
    int rc = st_hmm_data_new(&ld, 1, &len, D, y, e);
    free(y);
    if (rc == ST_OK)
        rc = st_hmm_new(&tmp, m->K, D, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, e);
    if (rc == ST_OK && (rc = st_hmm_gauss_init(tmp, ld, g, restart, cx, e)) == ST_OK) {
        memcpy(m->mean, tmp->mean, m->K * D * sizeof *m->mean);
        memcpy(m->var, tmp->var, m->K * D * sizeof *m->var);
    }
    st_hmm_free(tmp);
    st_hmm_data_free(ld);
    return rc;
}

const st_hmm_emis_ops st_hmm_ops_lognormal = {
    lnorm_eval, lnorm_logpdf, lnorm_nstats, lnorm_accum, lnorm_mstep, lnorm_nparams, lnorm_sample, lnorm_init,
    lnorm_prepare,
};

/* Gamma emissions: D independent columns of positive values,
 *     p(x | k) = prod_d x_d^(a-1) e^(-x_d / s) / (Gamma(a) s^a),
 * a = shape[k][d], s = scale[k][d] (mean a s, variance a s^2).  A missing
 * value (NaN) is left out of the product.
 *
 * M-step (exact): with the weighted mean m = sum g x / sum g and mean log
 * l = sum g log x / sum g, the shape solves log a - psi(a) = log m - l
 * (> 0 by Jensen), found by Newton steps on 1/a from Minka's (2002)
 * starting point; then s = m / a.  The variance floor v caps the shape at
 * m^2 / v (variance a s^2 = m^2 / a >= v), which also bounds it when a
 * state's values are all equal. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/specfun.h"
#include "hmm/internal.h"

/* cache: 1 / scale (K*D), then -lgamma(a) - a log s (K*D) */
static int gamma_prepare(st_hmm *m, st_err *e)
{
    size_t n = m->K * m->D;
    for (size_t i = 0; i < n; i++) {
        m->cache[i] = 1 / m->scale[i];
        m->cache[n + i] = -lgamma(m->shape[i]) - m->shape[i] * log(m->scale[i]);
    }
    (void)e;
    return ST_OK;
}

/* State log densities without the constant -sum log x (into the scale). */
static double gamma_row(const st_hmm *m, const double *x, double *out)
{
    size_t K = m->K, D = m->D;
    const double *is = m->cache, *c0 = m->cache + K * D;
    double lx[64], *l = D <= 64 ? lx : malloc(D * sizeof *l), jac = 0;
    if (!l) {
        for (size_t k = 0; k < K; k++)
            out[k] = -INFINITY;
        return 0;
    }
    for (size_t d = 0; d < D; d++) {
        l[d] = log(x[d]); /* NaN stays NaN: skipped below */
        if (!isnan(x[d]))
            jac -= l[d];
    }
    for (size_t k = 0; k < K; k++) {
        double s = 0;
        for (size_t d = 0; d < D; d++) {
            if (isnan(x[d]))
                continue;
            size_t i = k * D + d;
            s += c0[i] + m->shape[i] * l[d] - x[d] * is[i];
        }
        out[k] = s;
    }
    if (l != lx)
        free(l);
    return jac;
}

static void gamma_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    double jac = gamma_row(m, x, out);
    (void)t;
    for (size_t k = 0; k < m->K; k++)
        out[k] += jac;
}

static void gamma_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        double jac = gamma_row(m, x + t * D, b);
        double mx = b[0];
        for (size_t k = 1; k < K; k++)
            mx = b[k] > mx ? b[k] : mx;
        if (!(mx > -INFINITY))
            mx = 0;
        for (size_t k = 0; k < K; k++)
            b[k] = exp(b[k] - mx);
        logs[t] = mx + jac;
    }
}

/* N, S1 = sum g x, S2 = sum g log x (K*D each) */
static size_t gamma_nstats(const st_hmm *m)
{
    return 3 * m->K * m->D;
}

static void gamma_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, D = m->D, KD = K * D;
    double *N = stats, *S1 = stats + KD, *S2 = stats + 2 * KD;
    for (size_t t = 0; t < n; t++) {
        const double *g = gamma + t * K, *xt = x + t * D;
        for (size_t d = 0; d < D; d++) {
            if (isnan(xt[d]))
                continue;
            double lx = log(xt[d]);
            for (size_t k = 0; k < K; k++) {
                N[k * D + d] += g[k];
                S1[k * D + d] += g[k] * xt[d];
                S2[k * D + d] += g[k] * lx;
            }
        }
    }
}

double st_hmm_gamma_shape(double s, double cap)
{
    if (!(s > 0))
        return cap;
    double a = (3 - s + sqrt((s - 3) * (s - 3) + 24 * s)) / (12 * s);
    for (int it = 0; it < 100; it++) {
        if (!(a < cap))
            return cap;
        double f = log(a) - st_digamma(a) - s, fp = 1 / a - st_trigamma(a);
        double ia = 1 / a + f / (a * a * fp), an = 1 / ia;
        if (!(an > 0)) /* a step too far: halve towards 0 */
            an = a / 2;
        double dlt = fabs(an - a);
        a = an;
        if (dlt <= 1e-15 * a)
            break;
    }
    return a < cap ? a : cap;
}

static int gamma_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, D = m->D, KD = K * D;
    const double *N = stats, *S1 = stats + KD, *S2 = stats + 2 * KD;
    for (size_t i = 0; i < KD; i++) {
        if (!(N[i] > 1e-300)) {
            cx->floored = 1;
            continue;
        }
        double mu = S1[i] / N[i], s = log(mu) - S2[i] / N[i], cap = mu * mu / cx->var_floor[i % D];
        double a = st_hmm_gamma_shape(s, cap);
        if (!(a < cap))
            cx->floored = 1;
        m->shape[i] = a;
        m->scale[i] = mu / a;
    }
    (void)e;
    return ST_OK;
}

static long gamma_nparams(const st_hmm *m)
{
    return (long)(2 * m->K * m->D);
}

static void gamma_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    (void)t;
    for (size_t d = 0; d < m->D; d++) {
        size_t i = k * m->D + d;
        x[d] = st_rng_gamma(r, m->shape[i]) * m->scale[i];
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* State k's mean is the quantile at (k + u)/K of the column (u = 1/2 on
 * the first restart, uniform after); every state starts with the shape
 * that gives the column's coefficient of variation shrunk K-fold (at
 * least 1), so the states begin apart. */
static int gamma_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, D = m->D, n = d->total, step = n > 20000 ? n / 20000 : 1, ns = (n + step - 1) / step;
    double *v = malloc((ns ? ns : 1) * sizeof *v), *fig = malloc(2 * D * sizeof *fig);
    if (!v || !fig) {
        free(v);
        free(fig);
        return st_err_nomem(e, "initial model");
    }
    st_hmm_data_colvar(d, fig, fig + D);
    for (size_t c = 0; c < D; c++) {
        size_t j = 0;
        for (size_t i = 0; i < n && j < ns; i += step)
            if (!isnan(d->x[i * D + c]))
                v[j++] = d->x[i * D + c];
        if (j == 0)
            v[j++] = fig[c] > 0 ? fig[c] : 1;
        qsort(v, j, sizeof *v, cmp_double);
        double cv2 = fig[D + c] / (fig[c] * fig[c]), a = (double)K * (double)K / (cv2 > 0 ? cv2 : 1);
        a = a > 1 ? a : 1;
        for (size_t k = 0; k < K; k++) {
            double u = restart == 0 ? 0.5 : st_rng_uniform(g);
            size_t q = (size_t)(((double)k + u) / (double)K * (double)j);
            q = q >= j ? j - 1 : q;
            double mu = v[q] > 0 ? v[q] : fig[c];
            double cap = mu * mu / cx->var_floor[c];
            m->shape[k * D + c] = a < cap ? a : cap;
            m->scale[k * D + c] = mu / m->shape[k * D + c];
        }
    }
    free(v);
    free(fig);
    return ST_OK;
}

const st_hmm_emis_ops st_hmm_ops_gamma = {
    gamma_eval, gamma_logpdf, gamma_nstats, gamma_accum, gamma_mstep, gamma_nparams, gamma_sample, gamma_init,
    gamma_prepare,
};

/* Emission families for counts and symbols: categorical (one or several
 * independent channels) and Poisson (independent columns). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

/* ============================================================ categorical */

/* cache holds P(symbol | state) transposed: channel c, symbol v, state k at
 * cache[symoff[c] + v*K + k], so that one observation multiplies K
 * contiguous values into the row of B. */
static int cat_prepare(st_hmm *m, st_err *e)
{
    size_t K = m->K;
    for (size_t c = 0; c < m->D; c++) {
        size_t M = m->nsym[c];
        const double *P = m->prob + m->symoff[c];
        double *T = m->cache + m->symoff[c];
        for (size_t k = 0; k < K; k++)
            for (size_t v = 0; v < M; v++)
                T[v * K + k] = P[k * M + v];
    }
    (void)e;
    return ST_OK;
}

static void cat_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        const double *xt = x + t * D;
        size_t c0 = 0;
        while (c0 < D && isnan(xt[c0])) /* a missing symbol: a factor 1 */
            c0++;
        if (c0 == D) {
            for (size_t k = 0; k < K; k++)
                b[k] = 1;
            logs[t] = 0;
            continue;
        }
        const double *p0 = m->cache + m->symoff[c0] + (size_t)xt[c0] * K;
        for (size_t k = 0; k < K; k++)
            b[k] = p0[k];
        for (size_t c = c0 + 1; c < D; c++) {
            if (isnan(xt[c]))
                continue;
            const double *p = m->cache + m->symoff[c] + (size_t)xt[c] * K;
            for (size_t k = 0; k < K; k++)
                b[k] *= p[k];
        }
        logs[t] = 0;
    }
}

static void cat_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    size_t K = m->K;
    for (size_t k = 0; k < K; k++)
        out[k] = 0;
    for (size_t c = 0; c < m->D; c++) {
        if (isnan(x[c]))
            continue;
        const double *p = m->cache + m->symoff[c] + (size_t)x[c] * K;
        for (size_t k = 0; k < K; k++)
            out[k] += log(p[k]);
    }
}

static size_t cat_nstats(const st_hmm *m)
{
    return st_hmm_cache_size(m);
}

static void cat_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        const double *g = gamma + t * K;
        for (size_t c = 0; c < D; c++) {
            if (isnan(x[t * D + c]))
                continue;
            double *s = stats + m->symoff[c] + (size_t)x[t * D + c] * K;
            for (size_t k = 0; k < K; k++)
                s[k] += g[k];
        }
    }
}

/* Normalise counts into a probability row with a floor; returns 1 if the
 * floor raised an entry. */
static int floor_row(double *p, size_t n, double floor)
{
    double s = 0;
    int raised = 0;
    for (size_t j = 0; j < n; j++)
        s += p[j];
    for (size_t j = 0; j < n; j++)
        p[j] /= s;
    if (floor <= 0)
        return 0;
    s = 0;
    for (size_t j = 0; j < n; j++) {
        if (p[j] < floor) {
            p[j] = floor;
            raised = 1;
        }
        s += p[j];
    }
    if (raised)
        for (size_t j = 0; j < n; j++)
            p[j] /= s;
    return raised;
}

static int cat_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K;
    double *row = NULL;
    size_t maxM = 0;
    for (size_t c = 0; c < m->D; c++)
        maxM = m->nsym[c] > maxM ? m->nsym[c] : maxM;
    if (!(row = malloc(maxM * sizeof *row)))
        return st_err_nomem(e, "M-step");
    for (size_t c = 0; c < m->D; c++) {
        size_t M = m->nsym[c];
        const double *S = stats + m->symoff[c];
        for (size_t k = 0; k < K; k++) {
            double tot = 0;
            for (size_t v = 0; v < M; v++)
                tot += row[v] = S[v * K + k];
            if (!(tot > 0)) { /* state never visited: keep its row */
                cx->floored = 1;
                continue;
            }
            cx->floored |= floor_row(row, M, cx->prob_floor);
            memcpy(m->prob + m->symoff[c] + k * M, row, M * sizeof *row);
        }
    }
    free(row);
    return ST_OK;
}

static long cat_nparams(const st_hmm *m)
{
    long p = 0;
    for (size_t c = 0; c < m->D; c++)
        p += (long)m->K * ((long)m->nsym[c] - 1);
    return p;
}

static void cat_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    for (size_t c = 0; c < m->D; c++)
        x[c] = (double)st_rng_categorical(r, m->prob + m->symoff[c] + k * m->nsym[c], m->nsym[c]);
}

/* Each state starts from the overall symbol frequencies mixed half and half
 * with a Dirichlet(1) draw, which breaks the symmetry between states. */
static int cat_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx,
                    st_err *e)
{
    size_t K = m->K, D = m->D;
    (void)restart;
    for (size_t c = 0; c < D; c++) {
        size_t M = m->nsym[c];
        double *f = calloc(2 * M, sizeof *f), *dir = f + M, *ones;
        if (!f || !(ones = malloc(M * sizeof *ones))) {
            free(f);
            return st_err_nomem(e, "initial model");
        }
        for (size_t v = 0; v < M; v++) {
            f[v] = 1; /* add-one smoothing */
            ones[v] = 1;
        }
        for (size_t i = 0; i < d->total; i++)
            if (!isnan(d->x[i * D + c]))
                f[(size_t)d->x[i * D + c]] += 1;
        double s = 0;
        for (size_t v = 0; v < M; v++)
            s += f[v];
        for (size_t k = 0; k < K; k++) {
            st_rng_dirichlet(g, ones, M, dir);
            double *p = m->prob + m->symoff[c] + k * M;
            for (size_t v = 0; v < M; v++)
                p[v] = 0.5 * f[v] / s + 0.5 * dir[v];
            floor_row(p, M, cx->prob_floor);
        }
        free(f);
        free(ones);
    }
    return ST_OK;
}

const st_hmm_emis_ops st_hmm_ops_categorical = {
    cat_eval, cat_logpdf, cat_nstats, cat_accum, cat_mstep, cat_nparams, cat_sample, cat_init, cat_prepare,
};

/* ============================================================ Poisson */

/* cache: log rates (K*D); lognorm[k] = -sum_d rate[k][d].  The term
 * -log x! is the same for every state and goes into the row scale. */
static int pois_prepare(st_hmm *m, st_err *e)
{
    size_t K = m->K, D = m->D;
    for (size_t k = 0; k < K; k++) {
        double s = 0;
        for (size_t d = 0; d < D; d++) {
            m->cache[k * D + d] = log(m->rate[k * D + d]);
            s += m->rate[k * D + d];
        }
        m->lognorm[k] = -s;
    }
    (void)e;
    return ST_OK;
}

static double pois_row(const st_hmm *m, const double *x, double *out)
{
    size_t K = m->K, D = m->D;
    double lf = 0;
    for (size_t d = 0; d < D; d++)
        lf += lgamma(x[d] + 1);
    for (size_t k = 0; k < K; k++) {
        double s = m->lognorm[k];
        const double *lr = m->cache + k * D;
        for (size_t d = 0; d < D; d++)
            s += x[d] * lr[d];
        out[k] = s;
    }
    return lf;
}

static void pois_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        if (st_hmm_row_missing(x + t * D, D)) {
            for (size_t k = 0; k < K; k++)
                b[k] = 1;
            logs[t] = 0;
            continue;
        }
        double lf = pois_row(m, x + t * D, b);
        double mx = b[0];
        for (size_t k = 1; k < K; k++)
            mx = b[k] > mx ? b[k] : mx;
        for (size_t k = 0; k < K; k++)
            b[k] = exp(b[k] - mx);
        logs[t] = mx - lf;
    }
}

static void pois_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    (void)t;
    if (st_hmm_row_missing(x, m->D)) {
        for (size_t k = 0; k < m->K; k++)
            out[k] = 0;
        return;
    }
    double lf = pois_row(m, x, out);
    for (size_t k = 0; k < m->K; k++)
        out[k] -= lf;
}

static size_t pois_nstats(const st_hmm *m)
{
    return m->K + m->K * m->D;
}

static void pois_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, D = m->D;
    double *N = stats, *S = stats + K;
    for (size_t t = 0; t < n; t++) {
        const double *g = gamma + t * K, *xt = x + t * D;
        if (st_hmm_row_missing(xt, D))
            continue;
        for (size_t k = 0; k < K; k++) {
            N[k] += g[k];
            for (size_t d = 0; d < D; d++)
                S[k * D + d] += g[k] * xt[d];
        }
    }
}

static int pois_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, D = m->D;
    const double *N = stats, *S = stats + K;
    for (size_t k = 0; k < K; k++) {
        if (!(N[k] > 0)) {
            cx->floored = 1;
            continue;
        }
        for (size_t d = 0; d < D; d++) {
            double r = S[k * D + d] / N[k];
            if (r < ST_HMM_RATE_FLOOR) {
                r = ST_HMM_RATE_FLOOR;
                cx->floored = 1;
            }
            m->rate[k * D + d] = r;
        }
    }
    (void)e;
    return ST_OK;
}

static long pois_nparams(const st_hmm *m)
{
    return (long)(m->K * m->D);
}

static void pois_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    for (size_t d = 0; d < m->D; d++)
        x[d] = (double)st_rng_poisson(r, m->rate[k * m->D + d]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Data-matched start: state k gets, in each column, the quantile at
 * (k + u)/K of the counts (u = 1/2 on the first restart, uniform after),
 * plus a small offset that keeps states distinct when counts tie. */
static int pois_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx,
                     st_err *e)
{
    size_t K = m->K, D = m->D, n = d->total, step = n > 20000 ? n / 20000 : 1, ns = (n + step - 1) / step;
    double *v = malloc(ns * sizeof *v);
    if (!v)
        return st_err_nomem(e, "initial model");
    (void)cx;
    for (size_t c = 0; c < D; c++) {
        double mean = 0;
        size_t j = 0;
        for (size_t i = 0; i < n && j < ns; i += step) {
            if (isnan(d->x[i * D + c]))
                continue;
            v[j] = d->x[i * D + c];
            mean += v[j++];
        }
        if (j == 0) { /* every sampled row missing */
            v[0] = 0;
            j = 1;
        }
        mean /= (double)j;
        qsort(v, j, sizeof *v, cmp_double);
        for (size_t k = 0; k < K; k++) {
            double u = restart == 0 ? 0.5 : st_rng_uniform(g);
            size_t q = (size_t)(((double)k + u) / (double)K * (double)j);
            q = q >= j ? j - 1 : q;
            double r = v[q] + 0.1 * (mean + 0.1) * ((double)k + 1) / (double)K;
            m->rate[k * D + c] = r > ST_HMM_RATE_FLOOR ? r : ST_HMM_RATE_FLOOR;
        }
    }
    free(v);
    return ST_OK;
}

const st_hmm_emis_ops st_hmm_ops_poisson = {
    pois_eval, pois_logpdf, pois_nstats, pois_accum, pois_mstep, pois_nparams, pois_sample, pois_init, pois_prepare,
};

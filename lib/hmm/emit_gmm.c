/* Gaussian-mixture emissions: M diagonal Gaussian components per state,
 *     p(x | k) = sum_c w_kc N(x; mu_kc, diag(v_kc)).
 * Missing values (NaN) are marginalised as for a diagonal Gaussian.  The
 * E-step splits each state's posterior over its components (responsibility
 * of c within k); the M-step is the diagonal-Gaussian update per component
 * (statistics around the current means) and weights from the component
 * totals, both floored. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

#define LOG_2PI 1.8378770664093454836

/* cache: precisions (K*M*D), then lnc (K*M) = log w - (D log 2 pi + sum log v)/2 */
static int gmm_prepare(st_hmm *m, st_err *e)
{
    size_t KM = m->K * m->ncomp, D = m->D;
    double *prec = m->cache, *lnc = m->cache + KM * D;
    for (size_t i = 0; i < KM; i++) {
        double s = 0;
        for (size_t d = 0; d < D; d++) {
            prec[i * D + d] = 1 / m->var[i * D + d];
            s += log(m->var[i * D + d]);
        }
        lnc[i] = log(m->weight[i]) - 0.5 * ((double)D * LOG_2PI + s);
    }
    (void)e;
    return ST_OK;
}

/* Log density of each component of state k into lc[M]; returns their
 * log-sum-exp. */
static double comp_logs(const st_hmm *m, size_t k, const double *x, int missing, double *lc)
{
    size_t M = m->ncomp, D = m->D;
    const double *prec = m->cache, *lnc = m->cache + m->K * M * D;
    double mx = -INFINITY;
    for (size_t c = 0; c < M; c++) {
        size_t i = k * M + c;
        const double *mu = m->mean + i * D, *p = prec + i * D;
        double s = 0, l;
        if (!missing) {
            for (size_t d = 0; d < D; d++) {
                double r = x[d] - mu[d];
                s += r * r * p[d];
            }
            l = lnc[i] - 0.5 * s;
        } else {
            for (size_t d = 0; d < D; d++)
                if (!isnan(x[d])) {
                    double r = x[d] - mu[d];
                    s += r * r * p[d] + LOG_2PI - log(p[d]);
                }
            l = log(m->weight[i]) - 0.5 * s;
        }
        lc[c] = l;
        mx = l > mx ? l : mx;
    }
    if (!(mx > -INFINITY))
        return -INFINITY;
    double sum = 0;
    for (size_t c = 0; c < M; c++)
        sum += exp(lc[c] - mx);
    return mx + log(sum);
}

static int row_missing(const double *x, size_t D)
{
    int missing = 0;
    for (size_t d = 0; d < D; d++)
        missing |= isnan(x[d]);
    return missing;
}

static void gmm_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    double lcb[256];
    int missing = row_missing(x, m->D);
    (void)t;
    for (size_t k = 0; k < m->K; k++)
        out[k] = comp_logs(m, k, x, missing, lcb);
}

static void gmm_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        gmm_logpdf(m, x + t * D, t, b);
        double mx = b[0];
        for (size_t k = 1; k < K; k++)
            mx = b[k] > mx ? b[k] : mx;
        for (size_t k = 0; k < K; k++)
            b[k] = exp(b[k] - mx);
        logs[t] = mx;
    }
}

/* Statistics: W (K*M component totals), then N, S1, S2 (K*M*D each). */
static size_t gmm_nstats(const st_hmm *m)
{
    size_t KM = m->K * m->ncomp;
    return KM + 3 * KM * m->D;
}

static void gmm_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, M = m->ncomp, D = m->D, KM = K * M;
    double *W = stats, *N = stats + KM, *S1 = N + KM * D, *S2 = S1 + KM * D, lc[256];
    for (size_t t = 0; t < n; t++) {
        const double *xt = x + t * D;
        int missing = row_missing(xt, D);
        for (size_t k = 0; k < K; k++) {
            double g = gamma[t * K + k];
            if (g == 0)
                continue;
            double lse = comp_logs(m, k, xt, missing, lc);
            for (size_t c = 0; c < M; c++) {
                size_t i = k * M + c;
                double gc = g * exp(lc[c] - lse);
                const double *mu = m->mean + i * D;
                W[i] += gc;
                for (size_t d = 0; d < D; d++) {
                    double r = xt[d] - mu[d];
                    if (r == r) {
                        N[i * D + d] += gc;
                        S1[i * D + d] += gc * r;
                        S2[i * D + d] += gc * r * r;
                    }
                }
            }
        }
    }
}

static int gmm_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, M = m->ncomp, D = m->D, KM = K * M;
    const double *W = stats, *N = stats + KM, *S1 = N + KM * D, *S2 = S1 + KM * D;
    for (size_t k = 0; k < K; k++) {
        double tot = 0;
        for (size_t c = 0; c < M; c++)
            tot += W[k * M + c];
        if (!(tot > 0)) {
            cx->floored = 1;
            continue;
        }
        double s = 0;
        int raised = 0;
        for (size_t c = 0; c < M; c++) {
            double w = W[k * M + c] / tot;
            if (w < cx->prob_floor) {
                w = cx->prob_floor;
                raised = 1;
            }
            m->weight[k * M + c] = w;
            s += w;
        }
        if (raised) {
            cx->floored = 1;
            for (size_t c = 0; c < M; c++)
                m->weight[k * M + c] /= s;
        }
        for (size_t c = 0; c < M; c++)
            for (size_t d = 0; d < D; d++) {
                size_t i = (k * M + c) * D + d;
                if (!(N[i] > 1e-300)) {
                    cx->floored = 1;
                    continue;
                }
                double m1 = S1[i] / N[i], v = S2[i] / N[i] - m1 * m1;
                m->mean[i] += m1;
                if (!(v >= cx->var_floor[d])) {
                    v = cx->var_floor[d];
                    cx->floored = 1;
                }
                m->var[i] = v;
            }
    }
    (void)e;
    return ST_OK;
}

static long gmm_nparams(const st_hmm *m)
{
    long K = (long)m->K, M = (long)m->ncomp, D = (long)m->D;
    return K * (M - 1) + 2 * K * M * D;
}

static void gmm_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    size_t M = m->ncomp, D = m->D;
    size_t i = k * M + st_rng_categorical(r, m->weight + k * M, M);
    (void)t;
    for (size_t d = 0; d < D; d++)
        x[d] = m->mean[i * D + d] + sqrt(m->var[i * D + d]) * st_rng_normal(r);
}

/* States from the diagonal-Gaussian start (k-means++); the components of a
 * state spread around its mean by half a standard deviation, equal weights. */
static int gmm_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, M = m->ncomp, D = m->D;
    st_hmm *tmp;
    int rc = st_hmm_new(&tmp, K, D, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, e);
    if (rc < 0)
        return rc;
    if ((rc = st_hmm_gauss_init(tmp, d, g, restart, cx, e)) == ST_OK)
        for (size_t k = 0; k < K; k++)
            for (size_t c = 0; c < M; c++) {
                size_t i = k * M + c;
                m->weight[i] = 1.0 / (double)M;
                for (size_t j = 0; j < D; j++) {
                    double v = tmp->var[k * D + j];
                    m->mean[i * D + j] = tmp->mean[k * D + j] + (M > 1 ? 0.5 * sqrt(v) * st_rng_normal(g) : 0);
                    m->var[i * D + j] = v;
                }
            }
    st_hmm_free(tmp);
    return rc;
}

const st_hmm_emis_ops st_hmm_ops_gmm = {
    gmm_eval, gmm_logpdf, gmm_nstats, gmm_accum, gmm_mstep, gmm_nparams, gmm_sample, gmm_init, gmm_prepare,
};

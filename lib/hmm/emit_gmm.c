/* Gaussian-mixture emissions: M Gaussian components per state,
 *     p(x | k) = sum_c w_kc N(x; mu_kc, S_kc),
 * S_kc diagonal (var K*M*D) or full (var K*M*D*D).  Missing values (NaN)
 * are marginalised: diagonal components drop the missing dimensions;
 * full ones take N(x_o; mu_o, S_oo), and the E-step fills the statistics
 * with E[x_m | x_o] and adds Cov[x_m | x_o] per component (as for a full
 * Gaussian).  The E-step splits each state's posterior over its
 * components (responsibility of c within k); the M-step is the Gaussian
 * update per component (statistics around the current means) and weights
 * from the component totals, both floored. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

#define LOG_2PI 1.8378770664093454836

static int full(const st_hmm *m)
{
    return m->cov == ST_HMM_COV_FULL;
}

/* cache, diag: precisions (K*M*D), then lnc (K*M) = log w - (D log 2 pi +
 * sum log v)/2; full: L^-1 (K*M*D*D), L (K*M*D*D), then lnc (K*M) =
 * log w - (D log 2 pi + log det S)/2. */
static double *lnc_of(const st_hmm *m)
{
    size_t KM = m->K * m->ncomp, D = m->D;
    return m->cache + KM * (full(m) ? 2 * D * D : D);
}

static int gmm_prepare(st_hmm *m, st_err *e)
{
    size_t KM = m->K * m->ncomp, D = m->D, DD = D * D;
    double *lnc = lnc_of(m);
    for (size_t i = 0; i < KM; i++) {
        double s = 0;
        if (full(m)) {
            if (st_hmm_chol_cache(m->var + i * DD, D, m->cache + KM * DD + i * DD, m->cache + i * DD, &s) < 0)
                return st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                                  "covariance of mixture component %zu of state %zu is not positive definite",
                                  i % m->ncomp, i / m->ncomp);
        } else {
            for (size_t d = 0; d < D; d++) {
                m->cache[i * D + d] = 1 / m->var[i * D + d];
                s += log(m->var[i * D + d]);
            }
        }
        lnc[i] = log(m->weight[i]) - 0.5 * ((double)D * LOG_2PI + s);
    }
    return ST_OK;
}

/* Log density of each component of state k into lc[M]; returns their
 * log-sum-exp. */
static double comp_logs(const st_hmm *m, size_t k, const double *x, int missing, double *lc)
{
    size_t M = m->ncomp, D = m->D, DD = D * D;
    const double *lnc = lnc_of(m);
    double mx = -INFINITY;
    for (size_t c = 0; c < M; c++) {
        size_t i = k * M + c;
        const double *mu = m->mean + i * D;
        double s = 0, l;
        if (full(m)) {
            if (missing) {
                if (st_hmm_missing_gauss(x, mu, m->var + i * DD, D, &l, NULL, NULL) < 0)
                    l = -INFINITY;
                else
                    l += log(m->weight[i]);
            } else {
                const double *Li = m->cache + i * DD;
                for (size_t a = 0; a < D; a++) {
                    double z = 0;
                    for (size_t b = 0; b <= a; b++)
                        z += Li[a * D + b] * (x[b] - mu[b]);
                    s += z * z;
                }
                l = lnc[i] - 0.5 * s;
            }
        } else if (!missing) {
            const double *p = m->cache + i * D;
            for (size_t d = 0; d < D; d++) {
                double r = x[d] - mu[d];
                s += r * r * p[d];
            }
            l = lnc[i] - 0.5 * s;
        } else {
            const double *p = m->cache + i * D;
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

/* Statistics, diag: W (K*M component totals), then N, S1, S2 (K*M*D
 * each, per dimension: missing values leave gaps); full: W (K*M), S1
 * (K*M*D), S2 (K*M*D*D, lower triangle). */
static size_t gmm_nstats(const st_hmm *m)
{
    size_t KM = m->K * m->ncomp, D = m->D;
    return full(m) ? KM + KM * D + KM * D * D : KM + 3 * KM * D;
}

static void gmm_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, M = m->ncomp, D = m->D, KM = K * M, DD = D * D;
    double *W = stats, lc[256];
    double *N = stats + KM, *S1 = N + (full(m) ? 0 : KM * D), *S2 = S1 + KM * D;
    double *rr = full(m) ? malloc((2 * D + DD) * sizeof *rr) : NULL, *xh = rr ? rr + D : NULL, *C = rr ? xh + D : NULL;
    if (full(m) && !rr)
        return;
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
                if (full(m)) {
                    const double *xr = xt;
                    double lp;
                    if (missing) { /* conditional mean in, conditional covariance added */
                        if (gc == 0 || st_hmm_missing_gauss(xt, mu, m->var + i * DD, D, &lp, xh, C) < 0)
                            continue;
                        xr = xh;
                    }
                    W[i] += gc;
                    double *s1 = S1 + i * D, *s2 = S2 + i * DD;
                    for (size_t d = 0; d < D; d++) {
                        rr[d] = xr[d] - mu[d];
                        s1[d] += gc * rr[d];
                    }
                    for (size_t a = 0; a < D; a++) {
                        double ga = gc * rr[a];
                        for (size_t b = 0; b <= a; b++)
                            s2[a * D + b] += ga * rr[b] + (missing ? gc * C[a * D + b] : 0);
                    }
                    continue;
                }
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
    free(rr);
}

static int gmm_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, M = m->ncomp, D = m->D, KM = K * M, DD = D * D;
    const double *W = stats, *N = stats + KM, *S1 = N + (full(m) ? 0 : KM * D), *S2 = S1 + KM * D;
    double *work = full(m) ? malloc(DD * sizeof *work) : NULL;
    if (full(m) && !work)
        return st_err_nomem(e, "M-step");
    int rc = ST_OK;
    for (size_t k = 0; k < K && rc == ST_OK; k++) {
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
        for (size_t c = 0; c < M; c++) {
            size_t i = k * M + c;
            if (full(m)) {
                if (!(W[i] > 1e-300)) {
                    cx->floored = 1;
                    continue;
                }
                double *S = m->var + i * DD;
                const double *s1 = S1 + i * D, *s2 = S2 + i * DD;
                for (size_t a = 0; a < D; a++)
                    for (size_t b = 0; b <= a; b++)
                        S[a * D + b] = S[b * D + a] = s2[a * D + b] / W[i] - s1[a] / W[i] * (s1[b] / W[i]);
                for (size_t d = 0; d < D; d++)
                    m->mean[i * D + d] += s1[d] / W[i];
                if (st_hmm_floor_cov(S, D, cx->var_floor, &cx->floored, work) < 0)
                    rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                                    "covariance of mixture component %zu of state %zu stays singular after jitter", c, k);
                continue;
            }
            for (size_t d = 0; d < D; d++) {
                size_t j = i * D + d;
                if (!(N[j] > 1e-300)) {
                    cx->floored = 1;
                    continue;
                }
                double m1 = S1[j] / N[j], v = S2[j] / N[j] - m1 * m1;
                m->mean[j] += m1;
                if (!(v >= cx->var_floor[d])) {
                    v = cx->var_floor[d];
                    cx->floored = 1;
                }
                m->var[j] = v;
            }
        }
    }
    free(work);
    return rc;
}

static long gmm_nparams(const st_hmm *m)
{
    long K = (long)m->K, M = (long)m->ncomp, D = (long)m->D;
    return K * (M - 1) + K * M * D + K * M * (full(m) ? D * (D + 1) / 2 : D);
}

static void gmm_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    size_t M = m->ncomp, D = m->D, DD = D * D;
    size_t i = k * M + st_rng_categorical(r, m->weight + k * M, M);
    (void)t;
    if (!full(m)) {
        for (size_t d = 0; d < D; d++)
            x[d] = m->mean[i * D + d] + sqrt(m->var[i * D + d]) * st_rng_normal(r);
        return;
    }
    const double *L = m->cache + m->K * M * DD + i * DD;
    double zb[64], *z = D <= 64 ? zb : malloc(D * sizeof *z);
    if (!z) {
        for (size_t d = 0; d < D; d++)
            x[d] = NAN;
        return;
    }
    for (size_t d = 0; d < D; d++)
        z[d] = st_rng_normal(r);
    for (size_t a = 0; a < D; a++) {
        double s = m->mean[i * D + a];
        for (size_t b = 0; b <= a; b++)
            s += L[a * D + b] * z[b];
        x[a] = s;
    }
    if (z != zb)
        free(z);
}

/* States from the diagonal-Gaussian start (k-means++); the components of a
 * state spread around its mean by half a standard deviation, equal weights;
 * full covariances start diagonal. */
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
                    if (!full(m)) {
                        m->var[i * D + j] = v;
                        continue;
                    }
                    for (size_t b = 0; b < D; b++)
                        m->var[(i * D + j) * D + b] = b == j ? v : 0;
                }
            }
    st_hmm_free(tmp);
    return rc;
}

const st_hmm_emis_ops st_hmm_ops_gmm = {
    gmm_eval, gmm_logpdf, gmm_nstats, gmm_accum, gmm_mstep, gmm_nparams, gmm_sample, gmm_init, gmm_prepare,
};

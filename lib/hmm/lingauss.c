/* Linear-Gaussian emissions, shared by the AR and regression families:
 * given state k, the Dy responses of a row are
 *     y = c_k + W_k z + e,   e ~ N(0, S_k),
 * z the row's nreg regressors (AR: the order previous rows; regression:
 * the row's covariate columns), S_k diagonal (var K*Dy) or full (var
 * K*Dy*Dy).  Intercepts c in m->mean (K*Dy), weights W in m->ar
 * (ar[(k*Dy + d)*nreg + e]).
 *
 * The M-step is weighted least squares per state on w = [1, z] (q = 1 +
 * nreg): [c W]^T = Szz^-1 Szy by Cholesky (jitter if needed), the noise the
 * weighted residual (co)variance (Syy - B^T Szy) / N, floored (full: the
 * diagonal floored, then jitter until it factorises).  With the same
 * regressors for every response the joint (GLS) estimate equals the
 * per-response one, so this is the exact M-step for full noise too. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "hmm/internal.h"

#define LOG_2PI 1.8378770664093454836

static int full(const st_hmm *m)
{
    return m->cov == ST_HMM_COV_FULL;
}

size_t st_hmm_lg_nreg(const st_hmm *m)
{
    return m->family == ST_HMM_AR ? m->order * m->D : m->ncov;
}

/* cache: diag: precisions (K*Dy); full: L^-1 (K*Dy*Dy) then L (K*Dy*Dy).
 * lognorm[k] = -(Dy log 2 pi + log det S_k) / 2. */
int st_hmm_lg_prepare(st_hmm *m, st_err *e)
{
    size_t K = m->K, Dy = st_hmm_dy(m), DD = Dy * Dy;
    for (size_t k = 0; k < K; k++) {
        double ld = 0;
        if (full(m)) {
            if (st_hmm_chol_cache(m->var + k * DD, Dy, m->cache + K * DD + k * DD, m->cache + k * DD, &ld) < 0)
                return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "noise covariance of state %zu is not positive definite",
                                  k);
        } else {
            for (size_t d = 0; d < Dy; d++) {
                m->cache[k * Dy + d] = 1 / m->var[k * Dy + d];
                ld += log(m->var[k * Dy + d]);
            }
        }
        m->lognorm[k] = -0.5 * ((double)Dy * LOG_2PI + ld);
    }
    return ST_OK;
}

/* r = y - c_k - W_k z (Dy) */
static void residual(const st_hmm *m, size_t k, const double *y, const double *z, double *r)
{
    size_t Dy = st_hmm_dy(m), nr = st_hmm_lg_nreg(m);
    for (size_t d = 0; d < Dy; d++) {
        const double *w = m->ar + (k * Dy + d) * nr;
        double s = m->mean[k * Dy + d];
        for (size_t j = 0; j < nr; j++)
            s += w[j] * z[j];
        r[d] = y[d] - s;
    }
}

void st_hmm_lg_logdens(const st_hmm *m, const double *y, const double *z, double *r, double *out)
{
    size_t K = m->K, Dy = st_hmm_dy(m), DD = Dy * Dy;
    for (size_t k = 0; k < K; k++) {
        residual(m, k, y, z, r);
        double s = 0;
        if (full(m)) {
            const double *Li = m->cache + k * DD;
            for (size_t i = 0; i < Dy; i++) {
                double v = 0;
                for (size_t j = 0; j <= i; j++)
                    v += Li[i * Dy + j] * r[j];
                s += v * v;
            }
        } else {
            const double *p = m->cache + k * Dy;
            for (size_t d = 0; d < Dy; d++)
                s += r[d] * r[d] * p[d];
        }
        out[k] = m->lognorm[k] - 0.5 * s;
    }
}

/* Per state: N, Szz (q x q, lower triangle), Szy (q x Dy), Syy (diag: Dy;
 * full: Dy x Dy, lower triangle), q = 1 + nreg. */
static size_t per_state(const st_hmm *m)
{
    size_t q = 1 + st_hmm_lg_nreg(m), Dy = st_hmm_dy(m);
    return 1 + q * q + q * Dy + (full(m) ? Dy * Dy : Dy);
}

size_t st_hmm_lg_nstats(const st_hmm *m)
{
    return m->K * per_state(m);
}

/* One row's statistics for all states; w = [1, z] (q). */
void st_hmm_lg_accum(const st_hmm *m, const double *y, const double *w, const double *g, double *stats)
{
    size_t K = m->K, Dy = st_hmm_dy(m), q = 1 + st_hmm_lg_nreg(m), per = per_state(m);
    for (size_t k = 0; k < K; k++) {
        double gk = g[k];
        if (gk == 0)
            continue;
        double *S = stats + k * per, *Szz = S + 1, *Szy = Szz + q * q, *Syy = Szy + q * Dy;
        S[0] += gk;
        for (size_t i = 0; i < q; i++) {
            double gz = gk * w[i];
            for (size_t j = 0; j <= i; j++)
                Szz[i * q + j] += gz * w[j];
            for (size_t d = 0; d < Dy; d++)
                Szy[i * Dy + d] += gz * y[d];
        }
        if (full(m)) {
            for (size_t i = 0; i < Dy; i++) {
                double gy = gk * y[i];
                for (size_t j = 0; j <= i; j++)
                    Syy[i * Dy + j] += gy * y[j];
            }
        } else {
            for (size_t d = 0; d < Dy; d++)
                Syy[d] += gk * y[d] * y[d];
        }
    }
}

int st_hmm_lg_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, Dy = st_hmm_dy(m), nr = st_hmm_lg_nreg(m), q = 1 + nr, per = per_state(m), DD = Dy * Dy;
    double *L = malloc((q * q + q * Dy + 2 * DD) * sizeof *L), *B = L + q * q, *S = B + q * Dy, *work = S + DD;
    if (!L)
        return st_err_nomem(e, "M-step");
    int rc = ST_OK;
    for (size_t k = 0; k < K; k++) {
        const double *T = stats + k * per, *Szz = T + 1, *Szy = Szz + q * q, *Syy = Szy + q * Dy;
        double N = T[0];
        if (!(N > (double)q)) { /* too little weight to identify the regression: keep */
            cx->floored = 1;
            continue;
        }
        for (size_t i = 0; i < q; i++)
            for (size_t j = 0; j <= i; j++)
                L[i * q + j] = L[j * q + i] = Szz[i * q + j];
        double jit = 0;
        st_err t2;
        st_err_clear(&t2);
        if (st_chol(L, q, 12, &jit, &t2) < 0) {
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "the regression of state %zu is singular (collinear %s?)", k,
                            m->family == ST_HMM_AR ? "lags" : "covariates");
            break;
        }
        if (jit > 0)
            cx->floored = 1;
        memcpy(B, Szy, q * Dy * sizeof *B);
        st_chol_solve(L, q, B, Dy); /* B = Szz^-1 Szy, q x Dy */
        for (size_t d = 0; d < Dy; d++) {
            m->mean[k * Dy + d] = B[d];
            double *w = m->ar + (k * Dy + d) * nr;
            for (size_t i = 1; i < q; i++)
                w[i - 1] = B[i * Dy + d];
        }
        if (full(m)) {
            for (size_t a = 0; a < Dy; a++)
                for (size_t b = 0; b <= a; b++) {
                    double v = Syy[a * Dy + b];
                    for (size_t i = 0; i < q; i++)
                        v -= 0.5 * (B[i * Dy + a] * Szy[i * Dy + b] + B[i * Dy + b] * Szy[i * Dy + a]);
                    S[a * Dy + b] = S[b * Dy + a] = v / N;
                }
            if (st_hmm_floor_cov(S, Dy, cx->var_floor, &cx->floored, work) < 0) {
                rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "noise covariance of state %zu stays singular after jitter",
                                k);
                break;
            }
            memcpy(m->var + k * DD, S, DD * sizeof *S);
        } else {
            for (size_t d = 0; d < Dy; d++) {
                double ss = Syy[d];
                for (size_t i = 0; i < q; i++)
                    ss -= B[i * Dy + d] * Szy[i * Dy + d];
                double v = ss / N;
                if (!(v >= cx->var_floor[d])) {
                    v = cx->var_floor[d];
                    cx->floored = 1;
                }
                m->var[k * Dy + d] = v;
            }
        }
    }
    free(L);
    return rc;
}

long st_hmm_lg_nparams(const st_hmm *m)
{
    long K = (long)m->K, Dy = (long)st_hmm_dy(m), nr = (long)st_hmm_lg_nreg(m);
    return K * (Dy + Dy * nr + (full(m) ? Dy * (Dy + 1) / 2 : Dy));
}

void st_hmm_lg_sample(const st_hmm *m, size_t k, const double *z, st_rng *r, double *y)
{
    size_t Dy = st_hmm_dy(m), nr = st_hmm_lg_nreg(m), DD = Dy * Dy;
    double eb[64], *ep = Dy <= 64 ? eb : malloc(Dy * sizeof *ep);
    if (!ep) {
        for (size_t d = 0; d < Dy; d++)
            y[d] = NAN;
        return;
    }
    for (size_t d = 0; d < Dy; d++)
        ep[d] = st_rng_normal(r);
    for (size_t d = 0; d < Dy; d++) {
        const double *w = m->ar + (k * Dy + d) * nr;
        double s = m->mean[k * Dy + d];
        for (size_t j = 0; j < nr; j++)
            s += w[j] * z[j];
        if (full(m)) {
            const double *L = m->cache + m->K * DD + k * DD;
            for (size_t j = 0; j <= d; j++)
                s += L[d * Dy + j] * ep[j];
        } else {
            s += sqrt(m->var[k * Dy + d]) * ep[d];
        }
        y[d] = s;
    }
    if (ep != eb)
        free(ep);
}

/* Gaussian k-means++ start of the Dy response columns (the first Dy of
 * d's columns), zero weights; full noise starts diagonal. */
int st_hmm_lg_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, Dy = st_hmm_dy(m), D = d->D, n = d->total;
    memset(m->ar, 0, st_hmm_ar_len(m) * sizeof *m->ar);
    st_hmm *tmp = NULL;
    int rc = st_hmm_new(&tmp, K, Dy, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, e);
    if (rc < 0)
        return rc;
    if (Dy == D) {
        rc = st_hmm_gauss_init(tmp, d, g, restart, cx, e);
    } else { /* the responses only */
        double *y = malloc((n ? n : 1) * Dy * sizeof *y);
        st_hmm_data *yd = NULL;
        if (!y)
            rc = st_err_nomem(e, "initial model");
        for (size_t i = 0; rc == ST_OK && i < n; i++)
            memcpy(y + i * Dy, d->x + i * D, Dy * sizeof *y);
        if (rc == ST_OK && (rc = st_hmm_data_new(&yd, 1, &n, Dy, y, e)) == ST_OK) {
            if (d->gmean) { /* the whole data's figures of the responses */
                yd->gmean = malloc(3 * Dy * sizeof *yd->gmean);
                if (!yd->gmean) {
                    rc = st_err_nomem(e, "initial model");
                } else {
                    yd->gvar = yd->gmean + Dy;
                    yd->gmax = yd->gmean + 2 * Dy;
                    memcpy(yd->gmean, d->gmean, Dy * sizeof *y);
                    memcpy(yd->gvar, d->gvar, Dy * sizeof *y);
                    memcpy(yd->gmax, d->gmax, Dy * sizeof *y);
                }
            }
            if (rc == ST_OK)
                rc = st_hmm_gauss_init(tmp, yd, g, restart, cx, e);
        }
        free(y);
        st_hmm_data_free(yd);
    }
    if (rc == ST_OK) {
        memcpy(m->mean, tmp->mean, K * Dy * sizeof *m->mean);
        for (size_t k = 0; k < K; k++)
            for (size_t a = 0; a < Dy; a++) {
                if (!full(m)) {
                    m->var[k * Dy + a] = tmp->var[k * Dy + a];
                    continue;
                }
                for (size_t b = 0; b < Dy; b++)
                    m->var[(k * Dy + a) * Dy + b] = a == b ? tmp->var[k * Dy + a] : 0;
            }
    }
    st_hmm_free(tmp);
    return rc;
}

/* Autoregressive Gaussian emissions of order p (AR-HMM): given state k,
 *     x_t = c_k + sum_{l=1..p} A_kl x_t-l + e_t,  e_t ~ N(0, diag(v_k)),
 * with the first p rows of each sequence conditioned on (no emission term:
 * their scaled probabilities are 1).  The M-step is weighted least squares
 * per state on z_t = [1, x_t-1, ..., x_t-p] (Cholesky with jitter), the
 * variances the weighted residual mean squares, floored. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "hmm/internal.h"

#define LOG_2PI 1.8378770664093454836

/* cache: precisions (K*D); lognorm[k] = -(D log 2 pi + sum log v)/2. */
static int ar_prepare(st_hmm *m, st_err *e)
{
    size_t K = m->K, D = m->D;
    for (size_t k = 0; k < K; k++) {
        double s = 0;
        for (size_t d = 0; d < D; d++) {
            m->cache[k * D + d] = 1 / m->var[k * D + d];
            s += log(m->var[k * D + d]);
        }
        m->lognorm[k] = -0.5 * ((double)D * LOG_2PI + s);
    }
    (void)e;
    return ST_OK;
}

/* Predicted mean of row t for state k (t >= p; x points at row t). */
static double ar_pred(const st_hmm *m, size_t k, size_t d, const double *x)
{
    size_t D = m->D, p = m->order;
    const double *a = m->ar + (k * D + d) * p * D;
    double s = m->mean[k * D + d];
    for (size_t l = 1; l <= p; l++) {
        const double *xl = x - l * D;
        for (size_t e = 0; e < D; e++)
            s += a[(l - 1) * D + e] * xl[e];
    }
    return s;
}

static void ar_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    size_t K = m->K, D = m->D;
    for (size_t k = 0; k < K; k++) {
        if (t < m->order) {
            out[k] = 0;
            continue;
        }
        double s = 0;
        for (size_t d = 0; d < D; d++) {
            double r = x[d] - ar_pred(m, k, d, x);
            s += r * r * m->cache[k * D + d];
        }
        out[k] = m->lognorm[k] - 0.5 * s;
    }
}

static void ar_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        if (t < m->order) {
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

/* Statistics per state: N, Szz (q x q), Szx (q x D), Sxx (D), q = 1 + pD. */
static size_t ar_q(const st_hmm *m)
{
    return 1 + m->order * m->D;
}

static size_t ar_nstats(const st_hmm *m)
{
    size_t q = ar_q(m), D = m->D;
    return m->K * (1 + q * q + q * D + D);
}

static void ar_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, D = m->D, p = m->order, q = ar_q(m), per = 1 + q * q + q * D + D;
    double zb[1 + 64 * 16], *z = q <= sizeof zb / sizeof zb[0] ? zb : malloc(q * sizeof *z);
    if (!z)
        return;
    for (size_t t = p; t < n; t++) {
        const double *xt = x + t * D;
        z[0] = 1;
        for (size_t l = 1; l <= p; l++)
            memcpy(z + 1 + (l - 1) * D, xt - l * D, D * sizeof *z);
        for (size_t k = 0; k < K; k++) {
            double g = gamma[t * K + k];
            if (g == 0)
                continue;
            double *S = stats + k * per, *Szz = S + 1, *Szx = Szz + q * q, *Sxx = Szx + q * D;
            S[0] += g;
            for (size_t i = 0; i < q; i++) {
                double gz = g * z[i];
                for (size_t j = 0; j <= i; j++)
                    Szz[i * q + j] += gz * z[j];
                for (size_t d = 0; d < D; d++)
                    Szx[i * D + d] += gz * xt[d];
            }
            for (size_t d = 0; d < D; d++)
                Sxx[d] += g * xt[d] * xt[d];
        }
    }
    if (z != zb)
        free(z);
}

static int ar_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, D = m->D, p = m->order, q = ar_q(m), per = 1 + q * q + q * D + D;
    double *L = malloc((q * q + q * D) * sizeof *L), *B = L + q * q;
    if (!L)
        return st_err_nomem(e, "AR M-step");
    int rc = ST_OK;
    for (size_t k = 0; k < K; k++) {
        const double *S = stats + k * per, *Szz = S + 1, *Szx = Szz + q * q, *Sxx = Szx + q * D;
        double N = S[0];
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
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "AR regression of state %zu is singular (collinear lags?)", k);
            break;
        }
        if (jit > 0)
            cx->floored = 1;
        memcpy(B, Szx, q * D * sizeof *B);
        st_chol_solve(L, q, B, D); /* B = Szz^-1 Szx, q x D */
        for (size_t d = 0; d < D; d++) {
            m->mean[k * D + d] = B[d];
            double *a = m->ar + (k * D + d) * p * D;
            for (size_t i = 1; i < q; i++)
                a[i - 1] = B[i * D + d];
            /* residual mean square: (Sxx - b^T Szx) / N */
            double ss = Sxx[d];
            for (size_t i = 0; i < q; i++)
                ss -= B[i * D + d] * Szx[i * D + d];
            double v = ss / N;
            if (!(v >= cx->var_floor[d])) {
                v = cx->var_floor[d];
                cx->floored = 1;
            }
            m->var[k * D + d] = v;
        }
    }
    free(L);
    return rc;
}

static long ar_nparams(const st_hmm *m)
{
    long K = (long)m->K, D = (long)m->D, p = (long)m->order;
    return K * (D + D * D * p + D);
}

/* Rows before the start of a sequence count as 0 in the regression. */
static void ar_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    size_t D = m->D, p = m->order;
    for (size_t d = 0; d < D; d++) {
        const double *a = m->ar + (k * D + d) * p * D;
        double s = m->mean[k * D + d];
        for (size_t l = 1; l <= p && l <= t; l++)
            for (size_t e = 0; e < D; e++)
                s += a[(l - 1) * D + e] * (x - l * D)[e];
        x[d] = s + sqrt(m->var[k * D + d]) * st_rng_normal(r);
    }
}

/* Start as a Gaussian HMM (k-means++ intercepts, cluster variances) with
 * zero AR coefficients: the first M-step fits the regressions. */
static int ar_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e)
{
    memset(m->ar, 0, m->K * m->D * m->D * m->order * sizeof *m->ar);
    return st_hmm_gauss_init(m, d, g, restart, cx, e);
}

const st_hmm_emis_ops st_hmm_ops_ar = {
    ar_eval, ar_logpdf, ar_nstats, ar_accum, ar_mstep, ar_nparams, ar_sample, ar_init, ar_prepare,
};

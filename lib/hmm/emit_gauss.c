/* Gaussian emissions: diagonal, spherical, full and tied covariances.
 *
 * Missing values (NaN) are marginalised: for diagonal and spherical
 * covariances by dropping the missing dimensions (independent given the
 * state); for full and tied ones the density is N(x_o; mu_o, S_oo) and the
 * E-step fills the statistics with the conditional mean E[x_m | x_o] and
 * adds the conditional covariance S_mm - S_mo S_oo^-1 S_om (the exact EM
 * for Gaussians with data missing at random).
 *
 * Statistics are accumulated around the current means (sum g (x - mu),
 * sum g (x - mu)^2 or the outer product), which keeps the variance update
 * free of the cancellation of E[x^2] - E[x]^2. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "hmm/internal.h"

#define LOG_2PI 1.8378770664093454836

static int is_full(const st_hmm *m)
{
    return m->cov == ST_HMM_COV_FULL || m->cov == ST_HMM_COV_TIED;
}

/* Inverse of a lower-triangular matrix (n x n row-major) into Li. */
static void tri_inverse(const double *L, size_t n, double *Li)
{
    memset(Li, 0, n * n * sizeof *Li);
    for (size_t j = 0; j < n; j++) {
        Li[j * n + j] = 1 / L[j * n + j];
        for (size_t i = j + 1; i < n; i++) {
            double s = 0;
            for (size_t k = j; k < i; k++)
                s += L[i * n + k] * Li[k * n + j];
            Li[i * n + j] = -s / L[i * n + i];
        }
    }
}

int st_hmm_chol_cache(const double *S, size_t D, double *L, double *Linv, double *logdet)
{
    memcpy(L, S, D * D * sizeof *L);
    st_err tmp;
    st_err_clear(&tmp);
    if (st_chol(L, D, 0, NULL, &tmp) < 0)
        return ST_ENUMERIC;
    tri_inverse(L, D, Linv);
    double s = 0;
    for (size_t d = 0; d < D; d++)
        s += log(L[d * D + d]);
    *logdet = 2 * s;
    return ST_OK;
}

int st_hmm_floor_cov(double *S, size_t D, const double *vf, int *floored, double *work)
{
    for (size_t d = 0; d < D; d++)
        if (!(S[d * D + d] >= vf[d])) {
            S[d * D + d] = vf[d];
            *floored = 1;
        }
    memcpy(work, S, D * D * sizeof *work);
    double jit = 0;
    st_err t2;
    st_err_clear(&t2);
    if (st_chol(work, D, 12, &jit, &t2) < 0)
        return ST_ENUMERIC;
    if (jit > 0) {
        for (size_t d = 0; d < D; d++)
            S[d * D + d] += jit;
        *floored = 1;
    }
    return ST_OK;
}

static int gauss_prepare(st_hmm *m, st_err *e)
{
    size_t K = m->K, D = m->D;
    switch (m->cov) {
    case ST_HMM_COV_DIAG: {
        /* precisions (K x D), then the means and precisions transposed (D x K)
         * for the vector kernel of gauss_row */
        double *muT = m->cache + K * D, *pT = muT + K * D;
        for (size_t k = 0; k < K; k++) {
            double s = 0;
            for (size_t d = 0; d < D; d++) {
                m->cache[k * D + d] = 1 / m->var[k * D + d];
                s += log(m->var[k * D + d]);
                muT[d * K + k] = m->mean[k * D + d];
                pT[d * K + k] = m->cache[k * D + d];
            }
            m->lognorm[k] = -0.5 * ((double)D * LOG_2PI + s);
        }
        break;
    }
    case ST_HMM_COV_SPHERICAL:
        for (size_t k = 0; k < K; k++) {
            m->cache[k] = 1 / m->var[k];
            m->lognorm[k] = -0.5 * (double)D * (LOG_2PI + log(m->var[k]));
        }
        break;
    case ST_HMM_COV_FULL:
    case ST_HMM_COV_TIED: {
        size_t nm = m->cov == ST_HMM_COV_FULL ? K : 1, DD = D * D;
        double *Linv = m->cache, *L = m->cache + nm * DD;
        for (size_t k = 0; k < nm; k++) {
            memcpy(L + k * DD, m->var + k * DD, DD * sizeof *L);
            st_err tmp;
            st_err_clear(&tmp);
            if (st_chol(L + k * DD, D, 0, NULL, &tmp) < 0) {
                if (m->cov == ST_HMM_COV_TIED)
                    return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "the tied covariance is not positive definite");
                return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "covariance of state %zu is not positive definite", k);
            }
            tri_inverse(L + k * DD, D, Linv + k * DD);
        }
        for (size_t k = 0; k < K; k++) {
            const double *Lk = L + (m->cov == ST_HMM_COV_FULL ? k * DD : 0);
            double s = 0;
            for (size_t d = 0; d < D; d++)
                s += log(Lk[d * D + d]);
            m->lognorm[k] = -0.5 * (double)D * LOG_2PI - s;
        }
        break;
    }
    }
    return ST_OK;
}

/* Row x with missing values under N(mu, S): *lp = log N(x_o; mu_o, S_oo);
 * if xhat != NULL, xhat = x with the missing entries replaced by
 * E[x_m | x_o] and C (D x D, zero outside the missing block) = Cov[x_m | x_o].
 * Returns -1 if S_oo is not positive definite (or no memory). */
int st_hmm_missing_gauss(const double *x, const double *mu, const double *S, size_t D, double *lp, double *xhat,
                         double *C)
{
    size_t no = 0, nm = 0;
    size_t *o = malloc(2 * D * sizeof *o), *mi = o ? o + D : NULL;
    double *L = malloc((D * D + D + D + D * D) * sizeof *L);
    if (!o || !L) {
        free(o);
        free(L);
        return -1;
    }
    double *r = L + D * D, *al = r + D, *W = al + D;
    for (size_t d = 0; d < D; d++) {
        if (isnan(x[d]))
            mi[nm++] = d;
        else
            o[no++] = d;
    }
    for (size_t i = 0; i < no; i++) {
        for (size_t j = 0; j < no; j++)
            L[i * no + j] = S[o[i] * D + o[j]];
        r[i] = al[i] = x[o[i]] - mu[o[i]];
    }
    st_err e;
    st_err_clear(&e);
    int rc = -1;
    if (st_chol(L, no, 0, NULL, &e) == 0) {
        st_chol_solve(L, no, al, 1); /* al = S_oo^-1 r */
        double q = 0;
        for (size_t i = 0; i < no; i++)
            q += r[i] * al[i];
        *lp = -0.5 * ((double)no * LOG_2PI + st_chol_logdet(L, no) + q);
        rc = 0;
        if (xhat) {
            for (size_t d = 0; d < D; d++)
                xhat[d] = x[d];
            for (size_t a = 0; a < nm; a++) {
                double v = mu[mi[a]];
                for (size_t i = 0; i < no; i++)
                    v += S[mi[a] * D + o[i]] * al[i];
                xhat[mi[a]] = v;
            }
            /* W = S_oo^-1 S_om (no x nm), C_mm = S_mm - S_mo W */
            for (size_t i = 0; i < no; i++)
                for (size_t a = 0; a < nm; a++)
                    W[i * nm + a] = S[o[i] * D + mi[a]];
            st_chol_solve(L, no, W, nm);
            memset(C, 0, D * D * sizeof *C);
            for (size_t a = 0; a < nm; a++)
                for (size_t b = 0; b < nm; b++) {
                    double v = S[mi[a] * D + mi[b]];
                    for (size_t i = 0; i < no; i++)
                        v -= S[mi[a] * D + o[i]] * W[i * nm + b];
                    C[mi[a] * D + mi[b]] = v;
                }
        }
    }
    free(o);
    free(L);
    return rc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GAUSS_X86 1
#include <immintrin.h>

static int have_avx2(void)
{
    static int cached = -1;
    int v = cached;
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        cached = v;
    }
    return v;
}

/* Diagonal, no missing value: four states at a time from the transposed
 * means and precisions, the same operations per state as the scalar loop
 * (r = x - mu, then (r r) p added in dimension order, then lognorm - s/2),
 * so the same bits. */
__attribute__((target("avx2,fma"))) static void diag_row_avx2(const st_hmm *m, const double *x, double *out)
{
    size_t K = m->K, D = m->D, K4 = K & ~(size_t)3, k = 0;
    const double *muT = m->cache + K * D, *pT = muT + K * D;
    __m256d half = _mm256_set1_pd(0.5);
    for (; k < K4; k += 4) {
        __m256d s = _mm256_setzero_pd();
        for (size_t d = 0; d < D; d++) {
            __m256d r = _mm256_sub_pd(_mm256_set1_pd(x[d]), _mm256_loadu_pd(muT + d * K + k));
            s = _mm256_add_pd(s, _mm256_mul_pd(_mm256_mul_pd(r, r), _mm256_loadu_pd(pT + d * K + k)));
        }
        _mm256_storeu_pd(out + k, _mm256_sub_pd(_mm256_loadu_pd(m->lognorm + k), _mm256_mul_pd(half, s)));
    }
    for (; k < K; k++) {
        const double *mu = m->mean + k * D, *p = m->cache + k * D;
        double s = 0;
        for (size_t d = 0; d < D; d++) {
            double r = x[d] - mu[d];
            s += r * r * p[d];
        }
        out[k] = m->lognorm[k] - 0.5 * s;
    }
}
#endif

/* Log densities of one row; rows with NaN take the marginal over the
 * observed dimensions. */
static void gauss_row(const st_hmm *m, const double *x, double *out)
{
    size_t K = m->K, D = m->D;
    int missing = 0;
    for (size_t d = 0; d < D; d++)
        missing |= isnan(x[d]);
#ifdef GAUSS_X86
    if (m->cov == ST_HMM_COV_DIAG && !missing && K >= 4 && have_avx2()) {
        diag_row_avx2(m, x, out);
        return;
    }
#endif
    switch (m->cov) {
    case ST_HMM_COV_DIAG:
        for (size_t k = 0; k < K; k++) {
            const double *mu = m->mean + k * D, *p = m->cache + k * D;
            double s = 0;
            if (!missing) {
                for (size_t d = 0; d < D; d++) {
                    double r = x[d] - mu[d];
                    s += r * r * p[d];
                }
                out[k] = m->lognorm[k] - 0.5 * s;
            } else {
                for (size_t d = 0; d < D; d++)
                    if (!isnan(x[d])) {
                        double r = x[d] - mu[d];
                        s += r * r * p[d] + LOG_2PI - log(p[d]);
                    }
                out[k] = -0.5 * s;
            }
        }
        break;
    case ST_HMM_COV_SPHERICAL:
        for (size_t k = 0; k < K; k++) {
            const double *mu = m->mean + k * D;
            double s = 0;
            size_t nobs = 0;
            for (size_t d = 0; d < D; d++)
                if (!isnan(x[d])) {
                    double r = x[d] - mu[d];
                    s += r * r;
                    nobs++;
                }
            out[k] = -0.5 * ((double)nobs * (LOG_2PI - log(m->cache[k])) + s * m->cache[k]);
        }
        break;
    case ST_HMM_COV_FULL:
    case ST_HMM_COV_TIED: {
        double r[64], *rr = D <= 64 ? r : malloc(D * sizeof *rr);
        if (!rr) { /* cannot happen for sane D; give up on this row */
            for (size_t k = 0; k < K; k++)
                out[k] = -INFINITY;
            return;
        }
        for (size_t k = 0; k < K; k++) {
            const double *mu = m->mean + k * D;
            const double *Li = m->cache + (m->cov == ST_HMM_COV_FULL ? k * D * D : 0);
            if (missing) {
                const double *S = m->var + (m->cov == ST_HMM_COV_FULL ? k * D * D : 0);
                if (st_hmm_missing_gauss(x, mu, S, D, &out[k], NULL, NULL) < 0)
                    out[k] = -INFINITY;
                continue;
            }
            for (size_t d = 0; d < D; d++)
                rr[d] = x[d] - mu[d];
            double s = 0;
            for (size_t i = 0; i < D; i++) {
                double z = 0;
                for (size_t j = 0; j <= i; j++)
                    z += Li[i * D + j] * rr[j];
                s += z * z;
            }
            out[k] = m->lognorm[k] - 0.5 * s;
        }
        if (rr != r)
            free(rr);
        break;
    }
    }
}

static void gauss_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        gauss_row(m, x + t * D, b);
        double mx = b[0];
        for (size_t k = 1; k < K; k++)
            mx = b[k] > mx ? b[k] : mx;
        for (size_t k = 0; k < K; k++)
            b[k] = exp(b[k] - mx);
        logs[t] = mx;
    }
}

#ifdef GAUSS_X86
/* One complete row's diagonal statistics for every state, the scalar
 * loop's operations four dimensions at a time (D a multiple of 4), states
 * with zero weight skipped as there. */
__attribute__((target("avx2,fma"))) static void diag_acc_avx2(const st_hmm *m, const double *x, const double *g,
                                                                double *N, double *S1, double *S2)
{
    size_t K = m->K, D = m->D;
    for (size_t k = 0; k < K; k++) {
        if (g[k] == 0)
            continue;
        const double *mu = m->mean + k * D;
        double *nk = N + k * D, *s1 = S1 + k * D, *s2 = S2 + k * D;
        __m256d gk = _mm256_set1_pd(g[k]);
        for (size_t d = 0; d < D; d += 4) {
            __m256d r = _mm256_sub_pd(_mm256_loadu_pd(x + d), _mm256_loadu_pd(mu + d)), gr = _mm256_mul_pd(gk, r);
            _mm256_storeu_pd(nk + d, _mm256_add_pd(_mm256_loadu_pd(nk + d), gk));
            _mm256_storeu_pd(s1 + d, _mm256_add_pd(_mm256_loadu_pd(s1 + d), gr));
            _mm256_storeu_pd(s2 + d, _mm256_add_pd(_mm256_loadu_pd(s2 + d), _mm256_mul_pd(gr, r)));
        }
    }
}
#endif

static size_t gauss_nstats(const st_hmm *m)
{
    size_t K = m->K, D = m->D;
    return is_full(m) ? K + K * D + K * D * D : 3 * K * D;
}

static void gauss_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, D = m->D;
    if (!is_full(m)) {
        double *N = stats, *S1 = stats + K * D, *S2 = stats + 2 * K * D;
#ifdef GAUSS_X86
        int vec = m->cov == ST_HMM_COV_DIAG && D % 4 == 0 && have_avx2();
#endif
        for (size_t t = 0; t < n; t++) {
            const double *g = gamma + t * K, *xt = x + t * D;
            int missing = 0;
            for (size_t d = 0; d < D; d++)
                missing |= isnan(xt[d]);
#ifdef GAUSS_X86
            if (vec && !missing) {
                diag_acc_avx2(m, xt, g, N, S1, S2);
                continue;
            }
#endif
            for (size_t k = 0; k < K; k++) {
                const double *mu = m->mean + k * D;
                double gk = g[k], *nk = N + k * D, *s1 = S1 + k * D, *s2 = S2 + k * D;
                if (gk == 0) /* adds nothing (0 or -0 to each sum) */
                    continue;
                if (!missing) {
                    for (size_t d = 0; d < D; d++) {
                        double r = xt[d] - mu[d], gr = gk * r;
                        nk[d] += gk;
                        s1[d] += gr;
                        s2[d] += gr * r;
                    }
                    continue;
                }
                for (size_t d = 0; d < D; d++) {
                    double r = xt[d] - mu[d];
                    if (r == r) { /* observed */
                        nk[d] += gk;
                        s1[d] += gk * r;
                        s2[d] += gk * r * r;
                    }
                }
            }
        }
        return;
    }
    double *N = stats, *S1 = stats + K, *S2 = stats + K + K * D;
    double *rr = malloc((2 * D + D * D) * sizeof *rr), *xh = rr ? rr + D : NULL, *C = rr ? xh + D : NULL;
    if (!rr)
        return;
    for (size_t t = 0; t < n; t++) {
        const double *g = gamma + t * K, *xt = x + t * D;
        int missing = 0;
        for (size_t d = 0; d < D; d++)
            missing |= isnan(xt[d]);
        for (size_t k = 0; k < K; k++) {
            const double *mu = m->mean + k * D;
            double gk = g[k], lp;
            const double *xr = xt;
            if (missing) { /* conditional mean in, conditional covariance added */
                if (gk == 0)
                    continue;
                const double *S = m->var + (m->cov == ST_HMM_COV_FULL ? k * D * D : 0);
                if (st_hmm_missing_gauss(xt, mu, S, D, &lp, xh, C) < 0)
                    continue;
                xr = xh;
            }
            N[k] += gk;
            double *s1 = S1 + k * D, *s2 = S2 + k * D * D;
            for (size_t d = 0; d < D; d++) {
                rr[d] = xr[d] - mu[d];
                s1[d] += gk * rr[d];
            }
            for (size_t i = 0; i < D; i++) {
                double gi = gk * rr[i];
                for (size_t j = 0; j <= i; j++)
                    s2[i * D + j] += gi * rr[j] + (missing ? gk * C[i * D + j] : 0);
            }
        }
    }
    free(rr);
}

static int gauss_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, D = m->D;
    const double *vf = cx->var_floor;
    if (!is_full(m)) {
        const double *N = stats, *S1 = stats + K * D, *S2 = stats + 2 * K * D;
        for (size_t k = 0; k < K; k++) {
            double num = 0, den = 0;
            for (size_t d = 0; d < D; d++) {
                size_t i = k * D + d;
                if (!(N[i] > 1e-300)) { /* no weight: keep this state's values */
                    cx->floored = 1;
                    continue;
                }
                double m1 = S1[i] / N[i];
                double v = S2[i] / N[i] - m1 * m1;
                m->mean[i] += m1;
                if (m->cov == ST_HMM_COV_DIAG) {
                    if (!(v >= vf[d])) {
                        v = vf[d];
                        cx->floored = 1;
                    }
                    m->var[i] = v;
                } else {
                    num += S2[i] - m1 * S1[i];
                    den += N[i];
                }
            }
            if (m->cov == ST_HMM_COV_SPHERICAL && den > 1e-300) {
                double floor = 0, v = num / den;
                for (size_t d = 0; d < D; d++)
                    floor += vf[d] / (double)D;
                if (!(v >= floor)) {
                    v = floor;
                    cx->floored = 1;
                }
                m->var[k] = v;
            }
        }
        return ST_OK;
    }
    const double *N = stats, *S1 = stats + K, *S2 = stats + K + K * D;
    size_t DD = D * D;
    double *tmp = malloc(2 * DD * sizeof *tmp), *tied = tmp + DD;
    if (!tmp)
        return st_err_nomem(e, "M-step");
    memset(tied, 0, DD * sizeof *tied);
    double Ntot = 0;
    for (size_t k = 0; k < K; k++) {
        if (!(N[k] > 1e-300)) {
            cx->floored = 1;
            continue;
        }
        double *S = m->cov == ST_HMM_COV_FULL ? m->var + k * DD : tmp;
        for (size_t i = 0; i < D; i++)
            for (size_t j = 0; j <= i; j++) {
                double v = S2[k * DD + i * D + j] / N[k] - S1[k * D + i] / N[k] * (S1[k * D + j] / N[k]);
                S[i * D + j] = S[j * D + i] = v;
            }
        for (size_t d = 0; d < D; d++)
            m->mean[k * D + d] += S1[k * D + d] / N[k];
        if (m->cov == ST_HMM_COV_TIED) {
            for (size_t i = 0; i < DD; i++)
                tied[i] += N[k] * S[i];
            Ntot += N[k];
        }
    }
    size_t nm = m->cov == ST_HMM_COV_FULL ? K : 1;
    if (m->cov == ST_HMM_COV_TIED && Ntot > 1e-300)
        for (size_t i = 0; i < DD; i++)
            m->var[i] = tied[i] / Ntot;
    /* Floors: diagonal entries at least the variance floor; then jitter
     * the diagonal until the Cholesky factorisation succeeds. */
    for (size_t k = 0; k < nm; k++)
        if (st_hmm_floor_cov(m->var + k * DD, D, vf, &cx->floored, tmp) < 0) {
            free(tmp);
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "covariance of state %zu stays singular after jitter", k);
        }
    free(tmp);
    return ST_OK;
}

static long gauss_nparams(const st_hmm *m)
{
    long K = (long)m->K, D = (long)m->D;
    switch (m->cov) {
    case ST_HMM_COV_DIAG: return 2 * K * D;
    case ST_HMM_COV_SPHERICAL: return K * D + K;
    case ST_HMM_COV_FULL: return K * D + K * D * (D + 1) / 2;
    case ST_HMM_COV_TIED: return K * D + D * (D + 1) / 2;
    }
    return 0;
}

static void gauss_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    size_t K = m->K, D = m->D;
    const double *mu = m->mean + k * D;
    switch (m->cov) {
    case ST_HMM_COV_DIAG:
        for (size_t d = 0; d < D; d++)
            x[d] = mu[d] + sqrt(m->var[k * D + d]) * st_rng_normal(r);
        break;
    case ST_HMM_COV_SPHERICAL:
        for (size_t d = 0; d < D; d++)
            x[d] = mu[d] + sqrt(m->var[k]) * st_rng_normal(r);
        break;
    case ST_HMM_COV_FULL:
    case ST_HMM_COV_TIED: {
        size_t nm = m->cov == ST_HMM_COV_FULL ? K : 1;
        const double *L = m->cache + nm * D * D + (m->cov == ST_HMM_COV_FULL ? k * D * D : 0);
        double z[64], *zz = D <= 64 ? z : malloc(D * sizeof *zz);
        if (!zz)
            return;
        for (size_t d = 0; d < D; d++)
            zz[d] = st_rng_normal(r);
        for (size_t i = 0; i < D; i++) {
            double s = mu[i];
            for (size_t j = 0; j <= i; j++)
                s += L[i * D + j] * zz[j];
            x[i] = s;
        }
        if (zz != z)
            free(zz);
        break;
    }
    }
}

/* k-means++ seeding (Arthur & Vassilvitskii 2007) on up to 5000 complete
 * rows in standardised units, then 20 Lloyd iterations; the means are the
 * centres, the variances the within-cluster variances (floored) for
 * diag/spherical and the overall variances (diagonal) for full/tied. */
int st_hmm_gauss_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, D = m->D, n = d->total;
    (void)restart;
    size_t ncomplete = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = 1;
        for (size_t c = 0; c < D; c++)
            ok &= !isnan(d->x[i * D + c]);
        ncomplete += ok;
    }
    double *mean = malloc(2 * D * sizeof *mean), *var = mean + D;
    if (!mean)
        return st_err_nomem(e, "initial model");
    st_hmm_data_colvar(d, mean, var);
    size_t ns = ncomplete < 5000 ? ncomplete : 5000;
    double *X = NULL, *C = NULL, *dist = NULL, *cnt = NULL, *acc = NULL, *acc2 = NULL;
    size_t *lab = NULL;
    int rc = ST_OK;
    if (ns == 0) { /* every row has a missing value: spread means around the column means */
        for (size_t k = 0; k < K; k++)
            for (size_t c = 0; c < D; c++)
                m->mean[k * D + c] = mean[c] + sqrt(var[c]) * st_rng_normal(g);
        goto variances;
    }
    X = malloc(ns * D * sizeof *X);
    C = malloc(K * D * sizeof *C);
    dist = malloc(ns * sizeof *dist);
    lab = malloc(ns * sizeof *lab);
    cnt = malloc(K * sizeof *cnt);
    acc = calloc(K * D, sizeof *acc);
    acc2 = calloc(K * D, sizeof *acc2);
    if (!X || !C || !dist || !lab || !cnt || !acc || !acc2) {
        rc = st_err_nomem(e, "k-means");
        goto out;
    }
    /* Sample ns complete rows uniformly (reservoir), standardised. */
    {
        size_t seen = 0;
        for (size_t i = 0; i < n; i++) {
            int ok = 1;
            for (size_t c = 0; c < D; c++)
                ok &= !isnan(d->x[i * D + c]);
            if (!ok)
                continue;
            size_t slot = seen < ns ? seen : (size_t)st_rng_below(g, seen + 1);
            if (slot < ns)
                for (size_t c = 0; c < D; c++)
                    X[slot * D + c] = (d->x[i * D + c] - mean[c]) / sqrt(var[c]);
            seen++;
        }
    }
    /* k-means++ seeding. */
    size_t first = (size_t)st_rng_below(g, ns);
    memcpy(C, X + first * D, D * sizeof *C);
    for (size_t i = 0; i < ns; i++)
        dist[i] = INFINITY;
    for (size_t k = 1; k <= K; k++) {
        double tot = 0;
        for (size_t i = 0; i < ns; i++) {
            double s = 0;
            for (size_t c = 0; c < D; c++) {
                double r = X[i * D + c] - C[(k - 1) * D + c];
                s += r * r;
            }
            if (s < dist[i])
                dist[i] = s;
            tot += dist[i];
        }
        if (k == K)
            break;
        size_t pick = tot > 0 ? st_rng_categorical(g, dist, ns) : (size_t)st_rng_below(g, ns);
        memcpy(C + k * D, X + pick * D, D * sizeof *C);
    }
    /* Lloyd iterations. */
    for (int it = 0; it < 20; it++) {
        memset(cnt, 0, K * sizeof *cnt);
        memset(acc, 0, K * D * sizeof *acc);
        memset(acc2, 0, K * D * sizeof *acc2);
        for (size_t i = 0; i < ns; i++) {
            size_t best = 0;
            double bd = INFINITY;
            for (size_t k = 0; k < K; k++) {
                double s = 0;
                for (size_t c = 0; c < D; c++) {
                    double r = X[i * D + c] - C[k * D + c];
                    s += r * r;
                }
                if (s < bd) {
                    bd = s;
                    best = k;
                }
            }
            lab[i] = best;
            cnt[best] += 1;
            for (size_t c = 0; c < D; c++) {
                acc[best * D + c] += X[i * D + c];
                acc2[best * D + c] += X[i * D + c] * X[i * D + c];
            }
        }
        for (size_t k = 0; k < K; k++)
            if (cnt[k] > 0)
                for (size_t c = 0; c < D; c++)
                    C[k * D + c] = acc[k * D + c] / cnt[k];
    }
    for (size_t k = 0; k < K; k++)
        for (size_t c = 0; c < D; c++)
            m->mean[k * D + c] = mean[c] + sqrt(var[c]) * C[k * D + c];
variances:
    for (size_t k = 0; k < K; k++) {
        double sph = 0;
        for (size_t c = 0; c < D; c++) {
            double v = var[c];
            if (cnt && cnt[k] >= 2) {
                double m1 = acc[k * D + c] / cnt[k];
                v = (acc2[k * D + c] / cnt[k] - m1 * m1) * var[c];
            }
            if (!(v >= cx->var_floor[c]))
                v = cx->var_floor[c];
            if (m->cov == ST_HMM_COV_DIAG)
                m->var[k * D + c] = v;
            sph += v / (double)D;
        }
        if (m->cov == ST_HMM_COV_SPHERICAL)
            m->var[k] = sph;
    }
    if (is_full(m)) {
        size_t nm = m->cov == ST_HMM_COV_FULL ? K : 1;
        for (size_t k = 0; k < nm; k++)
            for (size_t i = 0; i < D; i++)
                for (size_t j = 0; j < D; j++)
                    m->var[k * D * D + i * D + j] = i == j ? (var[i] > cx->var_floor[i] ? var[i] : cx->var_floor[i]) : 0;
    }
out:
    free(mean);
    free(X);
    free(C);
    free(dist);
    free(lab);
    free(cnt);
    free(acc);
    free(acc2);
    return rc;
}

static void gauss_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    (void)t;
    gauss_row(m, x, out);
}

const st_hmm_emis_ops st_hmm_ops_gaussian = {
    gauss_eval, gauss_logpdf, gauss_nstats, gauss_accum, gauss_mstep, gauss_nparams, gauss_sample, st_hmm_gauss_init,
    gauss_prepare,
};

/* lib/hmm inference: the scaled forward-backward, posteriors and Viterbi
 * equal brute-force enumeration over all K^T state paths on tiny models of
 * every emission type, with densities written out here independently of
 * the library; the log-space fallback matches a log-space brute force on a
 * sequence that underflows; sampling follows the model. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "hmm/internal.h"

#define LOG_2PI 1.8378770664093454836

/* ---- independent log densities ---- */
/* log N2(r; 0, S) for a 2 x 2 covariance S (row-major), closed form */
static double ref_n2(const double *r, const double *S)
{
    double a = S[0], b = S[1], d = S[3], det = a * d - b * b;
    double q = (d * r[0] * r[0] - 2 * b * r[0] * r[1] + a * r[1] * r[1]) / det;
    return -0.5 * (2 * LOG_2PI + log(det) + q);
}

/* x points at row t of a sequence (AR: the rows before it are its past). */
static double ref_logdens_t(const st_hmm *m, const double *x, size_t t, size_t k)
{
    size_t D = m->D, p = m->order;
    if (m->family != ST_HMM_AR)
        return NAN;
    if (t < p)
        return 0;
    double s = 0, r[64];
    for (size_t d = 0; d < D; d++) {
        double mu = m->mean[k * D + d];
        for (size_t l = 1; l <= p; l++)
            for (size_t e = 0; e < D; e++)
                mu += m->ar[((k * D + d) * p + l - 1) * D + e] * (x - l * D)[e];
        r[d] = x[d] - mu;
        if (m->cov == ST_HMM_COV_DIAG) {
            double v = m->var[k * D + d];
            s += -0.5 * (LOG_2PI + log(v) + r[d] * r[d] / v);
        }
    }
    return m->cov == ST_HMM_COV_DIAG ? s : ref_n2(r, m->var + k * 4); /* full: D = 2 */
}

static double ref_logdens(const st_hmm *m, const double *x, size_t k)
{
    size_t D = m->D;
    double s = 0;
    switch (m->family) {
    case ST_HMM_AR:
        return NAN; /* needs t: ref_logdens_t */
    case ST_HMM_BERNOULLI:
        for (size_t d = 0; d < D; d++)
            if (!isnan(x[d]))
                s += log(x[d] == 1 ? m->bern[k * D + d] : 1 - m->bern[k * D + d]);
        return s;
    case ST_HMM_MULTINOMIAL: { /* log (n! / prod x! prod p^x) */
        double n = 0;
        for (size_t d = 0; d < D; d++) {
            n += x[d];
            s += x[d] * log(m->mprob[k * D + d]) - lgamma(x[d] + 1);
        }
        return s + lgamma(n + 1);
    }
    case ST_HMM_GAMMA:
        for (size_t d = 0; d < D; d++) {
            if (isnan(x[d]))
                continue;
            double a = m->shape[k * D + d], sc = m->scale[k * D + d];
            s += (a - 1) * log(x[d]) - x[d] / sc - lgamma(a) - a * log(sc);
        }
        return s;
    case ST_HMM_LOGNORMAL:
        for (size_t d = 0; d < D; d++) {
            if (isnan(x[d]))
                continue;
            double v = m->var[k * D + d], r = log(x[d]) - m->mean[k * D + d];
            s += -log(x[d]) - 0.5 * (LOG_2PI + log(v) + r * r / v);
        }
        return s;
    case ST_HMM_REGRESSION: { /* D = 3: responses x0, x1, covariate x2 */
        double r[2];
        for (size_t d = 0; d < 2; d++)
            r[d] = x[d] - m->mean[k * 2 + d] - m->ar[k * 2 + d] * x[2];
        if (m->cov == ST_HMM_COV_FULL)
            return ref_n2(r, m->var + k * 4);
        for (size_t d = 0; d < 2; d++)
            s += -0.5 * (LOG_2PI + log(m->var[k * 2 + d]) + r[d] * r[d] / m->var[k * 2 + d]);
        return s;
    }
    case ST_HMM_GMM: { /* log sum_c w_c N(x; mu, S), NaN dimensions left out */
        size_t M = m->ncomp;
        double tot = 0;
        for (size_t c = 0; c < M; c++) {
            size_t i = k * M + c;
            double l = log(m->weight[i]);
            if (m->cov == ST_HMM_COV_FULL) { /* D = 2 */
                const double *S = m->var + i * 4, *mu = m->mean + i * 2;
                if (isnan(x[0]) || isnan(x[1])) {
                    int j = isnan(x[0]) ? 1 : 0;
                    double v = S[j * 3], r = x[j] - mu[j];
                    l += -0.5 * (LOG_2PI + log(v) + r * r / v);
                } else {
                    double r[2] = {x[0] - mu[0], x[1] - mu[1]};
                    l += ref_n2(r, S);
                }
                tot += exp(l);
                continue;
            }
            for (size_t d = 0; d < D; d++) {
                if (isnan(x[d]))
                    continue;
                double v = m->var[i * D + d], r = x[d] - m->mean[i * D + d];
                l += -0.5 * (LOG_2PI + log(v) + r * r / v);
            }
            tot += exp(l);
        }
        return log(tot);
    }
    case ST_HMM_CATEGORICAL:
        for (size_t c = 0; c < D; c++)
            s += log(m->prob[m->symoff[c] + k * m->nsym[c] + (size_t)x[c]]);
        return s;
    case ST_HMM_POISSON:
        for (size_t d = 0; d < D; d++) {
            double l = m->rate[k * D + d];
            s += x[d] * log(l) - l - lgamma(x[d] + 1);
        }
        return s;
    case ST_HMM_GAUSSIAN:
        if (m->cov == ST_HMM_COV_DIAG || m->cov == ST_HMM_COV_SPHERICAL) {
            for (size_t d = 0; d < D; d++) {
                if (isnan(x[d]))
                    continue;
                double v = m->cov == ST_HMM_COV_DIAG ? m->var[k * D + d] : m->var[k];
                double r = x[d] - m->mean[k * D + d];
                s += -0.5 * (LOG_2PI + log(v) + r * r / v);
            }
            return s;
        } else { /* D = 2 closed form */
            const double *S = m->var + (m->cov == ST_HMM_COV_FULL ? k * 4 : 0);
            if (isnan(x[0]) || isnan(x[1])) { /* marginal of the observed one */
                int j = isnan(x[0]) ? 1 : 0;
                double v = S[j * 3], r = x[j] - m->mean[k * 2 + (size_t)j];
                return -0.5 * (LOG_2PI + log(v) + r * r / v);
            }
            double a = S[0], b = S[1], d = S[3], det = a * d - b * b;
            double r0 = x[0] - m->mean[k * 2], r1 = x[1] - m->mean[k * 2 + 1];
            double q = (d * r0 * r0 - 2 * b * r0 * r1 + a * r1 * r1) / det;
            return -0.5 * (2 * LOG_2PI + log(det) + q);
        }
    }
    return NAN;
}

static double lse(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    double mx = a > b ? a : b;
    return mx + log(exp(a - mx) + exp(b - mx));
}

/* Brute force over all K^T paths: log p(x), posteriors (T x K), the best
 * path and its log joint probability. */
static void brute(const st_hmm *m, const double *x, size_t T, double *logl, double *post, int *best,
                  double *bestlp)
{
    size_t K = m->K, D = m->D, npath = 1;
    for (size_t t = 0; t < T; t++)
        npath *= K;
    int *path = malloc(T * sizeof *path);
    double *lpath = malloc(npath * sizeof *lpath);
    double tot = -INFINITY;
    *bestlp = -INFINITY;
    for (size_t p = 0; p < npath; p++) {
        size_t q = p;
        for (size_t t = 0; t < T; t++) {
            path[t] = (int)(q % K);
            q /= K;
        }
#define DENS(t, k) (m->family == ST_HMM_AR ? ref_logdens_t(m, x + (t) * D, (t), (k)) : ref_logdens(m, x + (t) * D, (k)))
        double lp = log(m->start[path[0]]) + DENS(0, (size_t)path[0]);
        for (size_t t = 1; t < T; t++)
            lp += log(m->trans[path[t - 1] * K + path[t]]) + DENS(t, (size_t)path[t]);
        lpath[p] = lp;
        tot = lse(tot, lp);
        if (lp > *bestlp) {
            *bestlp = lp;
            memcpy(best, path, T * sizeof *path);
        }
    }
    *logl = tot;
    for (size_t i = 0; i < T * K; i++)
        post[i] = 0;
    for (size_t p = 0; p < npath; p++) {
        size_t q = p;
        double w = exp(lpath[p] - tot);
        for (size_t t = 0; t < T; t++) {
            post[t * K + q % K] += w;
            q /= K;
        }
    }
    free(path);
    free(lpath);
}

static void set_chain(st_hmm *m, const double *start, const double *trans)
{
    memcpy(m->start, start, m->K * sizeof *start);
    memcpy(m->trans, trans, m->K * m->K * sizeof *trans);
}

/* Compare library and brute force on n sequences of length T. */
static void compare(st_hmm *m, const double *x, size_t T)
{
    st_err e;
    st_err_clear(&e);
    ck_assert_int_eq(st_hmm_validate(m, &e), 0);
    size_t K = m->K;
    size_t len[1] = {T};
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, 1, len, m->D, x, &e), 0);
    double ll, tot, *post = malloc(T * K * sizeof *post), *bpost = malloc(T * K * sizeof *bpost);
    int *path = malloc(T * sizeof *path), *bpath = malloc(T * sizeof *bpath);
    double blp, bll, vlp;
    brute(m, x, T, &bll, bpost, bpath, &blp);
    ck_assert_int_eq(st_hmm_loglik(m, d, &ll, &tot, &e), 0);
    ck_assert_rel(ll, bll, 1e-12);
    ck_assert_rel(tot, bll, 1e-12);
    ck_assert_int_eq(st_hmm_posterior(m, d, post, NULL, &e), 0);
    for (size_t i = 0; i < T * K; i++)
        ck_assert_near(post[i], bpost[i], 1e-12);
    ck_assert_int_eq(st_hmm_viterbi(m, d, path, &vlp, &e), 0);
    ck_assert_rel(vlp, blp, 1e-12);
    for (size_t t = 0; t < T; t++)
        ck_assert_int_eq(path[t], bpath[t]);
    free(post);
    free(bpost);
    free(path);
    free(bpath);
    st_hmm_data_free(d);
}

static const double start3[] = {0.5, 0.3, 0.2};
static const double trans3[] = {0.7, 0.2, 0.1, 0.25, 0.5, 0.25, 0.05, 0.15, 0.8};

START_TEST(test_brute_categorical)
{
    st_err e;
    size_t nsym[2] = {3, 2};
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 3, 2, ST_HMM_CATEGORICAL, 0, nsym, &e), 0);
    set_chain(m, start3, trans3);
    const double p0[] = {0.6, 0.3, 0.1, 0.2, 0.2, 0.6, 0.1, 0.8, 0.1};
    const double p1[] = {0.9, 0.1, 0.4, 0.6, 0.3, 0.7};
    memcpy(m->prob + m->symoff[0], p0, sizeof p0);
    memcpy(m->prob + m->symoff[1], p1, sizeof p1);
    const double x[] = {0, 1, 2, 0, 1, 1, 0, 0, 2, 1, 1, 0};
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

START_TEST(test_brute_poisson)
{
    st_err e;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 3, 2, ST_HMM_POISSON, 0, NULL, &e), 0);
    set_chain(m, start3, trans3);
    const double r[] = {0.5, 3, 4, 1, 10, 12};
    memcpy(m->rate, r, sizeof r);
    const double x[] = {0, 2, 5, 1, 9, 14, 1, 4, 0, 0, 11, 8};
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

static st_hmm *gauss2(st_hmm_cov cov)
{
    st_err e;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 3, 2, ST_HMM_GAUSSIAN, cov, NULL, &e), 0);
    set_chain(m, start3, trans3);
    const double mu[] = {0, 0, 2, -1, -1.5, 3};
    memcpy(m->mean, mu, sizeof mu);
    switch (cov) {
    case ST_HMM_COV_DIAG: {
        const double v[] = {1, 2, 0.5, 0.7, 3, 1.2};
        memcpy(m->var, v, sizeof v);
        break;
    }
    case ST_HMM_COV_SPHERICAL: {
        const double v[] = {1, 0.4, 2.5};
        memcpy(m->var, v, sizeof v);
        break;
    }
    case ST_HMM_COV_FULL: {
        const double v[] = {1, 0.5, 0.5, 2, 0.6, -0.3, -0.3, 0.9, 2, 1.2, 1.2, 3};
        memcpy(m->var, v, sizeof v);
        break;
    }
    case ST_HMM_COV_TIED: {
        const double v[] = {1.5, -0.4, -0.4, 0.8};
        memcpy(m->var, v, sizeof v);
        break;
    }
    }
    return m;
}

static const double gx[] = {0.1, 0.3, 2.2, -0.5, 1.7, -1.4, -1.2, 2.5, -2, 3.3, 0.4, -0.2};

START_TEST(test_brute_gauss_diag)
{
    st_hmm *m = gauss2(ST_HMM_COV_DIAG);
    compare(m, gx, 6);
    /* a missing value is marginalised */
    double x[12];
    memcpy(x, gx, sizeof x);
    x[3] = NAN;
    x[8] = NAN;
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

START_TEST(test_brute_gauss_spherical)
{
    st_hmm *m = gauss2(ST_HMM_COV_SPHERICAL);
    compare(m, gx, 6);
    double x[12];
    memcpy(x, gx, sizeof x);
    x[0] = NAN;
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

START_TEST(test_brute_gauss_full)
{
    st_hmm *m = gauss2(ST_HMM_COV_FULL);
    compare(m, gx, 6);
    double x[12];
    memcpy(x, gx, sizeof x);
    x[3] = NAN;
    x[8] = NAN;
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

START_TEST(test_brute_gauss_tied)
{
    st_hmm *m = gauss2(ST_HMM_COV_TIED);
    compare(m, gx, 6);
    double x[12];
    memcpy(x, gx, sizeof x);
    x[0] = NAN;
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

/* Autoregressive Gaussian of order 2 on two columns: the first two rows
 * carry no emission term. */
START_TEST(test_brute_ar)
{
    st_err e;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new_ar(&m, 3, 2, 2, &e), 0);
    set_chain(m, start3, trans3);
    const double c[] = {0.1, -0.2, 1, 0.5, -1, 0};
    const double v[] = {0.5, 1.2, 0.8, 0.3, 2, 1};
    memcpy(m->mean, c, sizeof c);
    memcpy(m->var, v, sizeof v);
    for (size_t i = 0; i < 3 * 2 * 2 * 2; i++)
        m->ar[i] = 0.3 * sin((double)i + 1);
    compare(m, gx, 6);
    st_hmm_free(m);
}
END_TEST

/* Mixtures of three diagonal Gaussians per state, with a missing value. */
START_TEST(test_brute_gmm)
{
    st_err e;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new_gmm(&m, 3, 2, 3, &e), 0);
    set_chain(m, start3, trans3);
    const double w[] = {0.2, 0.3, 0.5, 0.6, 0.3, 0.1, 1.0 / 3, 1.0 / 3, 1.0 / 3};
    memcpy(m->weight, w, sizeof w);
    for (size_t i = 0; i < 18; i++) {
        m->mean[i] = 2 * sin(1.7 * (double)i);
        m->var[i] = 0.4 + 0.1 * (double)(i % 5);
    }
    compare(m, gx, 6);
    double x[12];
    memcpy(x, gx, sizeof x);
    x[5] = NAN;
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

/* Mixtures of two full-covariance Gaussians per state, with a missing
 * value (the marginal of the observed coordinate). */
START_TEST(test_brute_gmm_full)
{
    st_err e;
    st_hmm *m;
    st_hmm_shape sh = {ST_HMM_GMM, ST_HMM_COV_FULL, NULL, 0, 2, 0};
    ck_assert_int_eq(st_hmm_new_shape(&m, 3, 2, &sh, &e), 0);
    set_chain(m, start3, trans3);
    const double w[] = {0.2, 0.8, 0.6, 0.4, 0.5, 0.5};
    memcpy(m->weight, w, sizeof w);
    for (size_t i = 0; i < 6; i++) {
        m->mean[2 * i] = 2 * sin(1.7 * (double)i);
        m->mean[2 * i + 1] = cos(0.9 * (double)i);
        double *S = m->var + 4 * i;
        S[0] = 0.5 + 0.2 * (double)i;
        S[3] = 1.2 - 0.1 * (double)i;
        S[1] = S[2] = 0.3 * sin((double)i) * sqrt(S[0] * S[3]);
    }
    compare(m, gx, 6);
    double x[12];
    memcpy(x, gx, sizeof x);
    x[5] = NAN;
    x[8] = NAN;
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

/* AR(1) with full noise covariance on two columns. */
START_TEST(test_brute_ar_full)
{
    st_err e;
    st_hmm *m;
    st_hmm_shape sh = {ST_HMM_AR, ST_HMM_COV_FULL, NULL, 1, 0, 0};
    ck_assert_int_eq(st_hmm_new_shape(&m, 3, 2, &sh, &e), 0);
    set_chain(m, start3, trans3);
    const double c[] = {0.1, -0.2, 1, 0.5, -1, 0};
    const double v[] = {0.5, 0.2, 0.2, 1.2, 0.8, -0.3, -0.3, 0.3, 2, 1, 1, 1};
    memcpy(m->mean, c, sizeof c);
    memcpy(m->var, v, sizeof v);
    for (size_t i = 0; i < 12; i++)
        m->ar[i] = 0.4 * cos((double)i + 1);
    compare(m, gx, 6);
    st_hmm_free(m);
}
END_TEST

/* Binary channels, one of them missing at one step. */
START_TEST(test_brute_bernoulli)
{
    st_err e;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 3, 2, ST_HMM_BERNOULLI, 0, NULL, &e), 0);
    set_chain(m, start3, trans3);
    const double p[] = {0.9, 0.1, 0.5, 0.6, 0.05, 0.7};
    memcpy(m->bern, p, sizeof p);
    double x[] = {1, 0, 0, 0, 1, 1, 0, 1, NAN, 1, 1, 0};
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

/* Counts of three categories out of varying n (hmmlearn's MultinomialHMM). */
START_TEST(test_brute_multinomial)
{
    st_err e;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 3, 3, ST_HMM_MULTINOMIAL, 0, NULL, &e), 0);
    set_chain(m, start3, trans3);
    const double p[] = {0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 1.0 / 3, 1.0 / 3, 1.0 / 3};
    memcpy(m->mprob, p, sizeof p);
    const double x[] = {3, 1, 0, 0, 2, 2, 1, 1, 1, 5, 0, 0, 0, 0, 0, 2, 3, 4};
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

/* Gamma columns, a missing value. */
START_TEST(test_brute_gamma)
{
    st_err e;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 3, 2, ST_HMM_GAMMA, 0, NULL, &e), 0);
    set_chain(m, start3, trans3);
    const double a[] = {0.5, 2, 5, 1, 20, 3.5}, sc[] = {2, 0.5, 0.2, 3, 0.1, 1};
    memcpy(m->shape, a, sizeof a);
    memcpy(m->scale, sc, sizeof sc);
    double x[] = {0.3, 1.2, 2.5, 0.7, NAN, 2.2, 0.05, 4, 1.1, 1.9, 0.9, 3.3};
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

/* Log-normal columns, a missing value. */
START_TEST(test_brute_lognormal)
{
    st_err e;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 3, 2, ST_HMM_LOGNORMAL, 0, NULL, &e), 0);
    set_chain(m, start3, trans3);
    const double mu[] = {0, 1, -1, 0.5, 2, -0.3}, v[] = {0.3, 1, 2, 0.5, 0.1, 0.8};
    memcpy(m->mean, mu, sizeof mu);
    memcpy(m->var, v, sizeof v);
    double x[] = {0.3, 1.2, 2.5, 0.7, NAN, 2.2, 0.05, 4, 1.1, 1.9, 0.9, 3.3};
    compare(m, x, 6);
    st_hmm_free(m);
}
END_TEST

/* Two responses regressed on one covariate, diagonal and full noise. */
START_TEST(test_brute_regression)
{
    st_err e;
    for (int full = 0; full < 2; full++) {
        st_hmm *m;
        st_hmm_shape sh = {ST_HMM_REGRESSION, full ? ST_HMM_COV_FULL : ST_HMM_COV_DIAG, NULL, 0, 0, 1};
        ck_assert_int_eq(st_hmm_new_shape(&m, 3, 3, &sh, &e), 0);
        set_chain(m, start3, trans3);
        const double c[] = {0, 1, -1, 0.5, 2, -0.3}, w[] = {1, -0.5, 0.2, 0, -2, 1.5};
        memcpy(m->mean, c, sizeof c);
        memcpy(m->ar, w, sizeof w);
        if (full) {
            const double v[] = {0.5, 0.2, 0.2, 1.2, 0.8, -0.3, -0.3, 0.3, 2, 1, 1, 1};
            memcpy(m->var, v, sizeof v);
        } else {
            const double v[] = {0.3, 1, 2, 0.5, 0.1, 0.8};
            memcpy(m->var, v, sizeof v);
        }
        const double x[] = {0.1, 0.3, 1, 2.2, -0.5, 0.3, 1.7, -1.4, -1, -1.2, 2.5, 0,
                            -2, 3.3, 2, 0.4, -0.2, -0.7};
        compare(m, x, 6);
        st_hmm_free(m);
    }
}
END_TEST

/* Masked transitions (left-right) give exact zeros in the posteriors of
 * unreachable states, and Viterbi never takes a masked step. */
START_TEST(test_brute_left_right)
{
    st_err e;
    st_hmm *m = gauss2(ST_HMM_COV_DIAG);
    st_hmm_topology_mask(ST_HMM_LEFT_RIGHT, 1, 3, m->mask);
    const double s[] = {1, 0, 0}, a[] = {0.6, 0.4, 0, 0, 0.7, 0.3, 0, 0, 1};
    set_chain(m, s, a);
    m->topology = ST_HMM_LEFT_RIGHT;
    m->maxjump = 1;
    compare(m, gx, 6);
    /* validate refuses a non-zero masked entry */
    m->trans[2] = 0.1;
    m->trans[1] = 0.3;
    ck_assert_int_lt(st_hmm_validate(m, &e), 0);
    st_hmm_free(m);
}
END_TEST

/* A step whose scaled sum underflows is redone with the log-space scale:
 * state 2 has the largest density at t = 1 but is unreachable, state 1 is
 * reached with probability 1e-300 and its density is 1e-20 of state 2's,
 * so the plain scaled sum would be a 1e-320 denormal.  The log-likelihood,
 * posteriors and path match the log-space brute force. */
START_TEST(test_underflow_fallback)
{
    st_err e;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 3, 1, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, &e), 0);
    const double s[] = {1, 0, 0}, a[] = {1 - 1e-300, 1e-300, 0, 0.5, 0.5, 0, 0.5, 0.25, 0.25};
    set_chain(m, s, a);
    m->mean[0] = 0;
    m->mean[1] = 101 - sqrt(2 * 46.0);
    m->mean[2] = 101;
    m->var[0] = m->var[1] = m->var[2] = 1;
    const double x[] = {0.3, 101, 100, 91.0};
    compare(m, x, 4);
    st_hmm_free(m);
}
END_TEST

/* A sequence that is impossible under the model is an error, not NaN. */
START_TEST(test_impossible)
{
    st_err e;
    st_err_clear(&e);
    size_t nsym[1] = {3};
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 2, 1, ST_HMM_CATEGORICAL, 0, nsym, &e), 0);
    const double s[] = {0.5, 0.5}, a[] = {0.5, 0.5, 0.5, 0.5}, p[] = {0.5, 0.5, 0, 0.2, 0.8, 0};
    set_chain(m, s, a);
    memcpy(m->prob, p, sizeof p);
    ck_assert_int_eq(st_hmm_validate(m, &e), 0);
    const double x[] = {0, 1, 2};
    size_t len[1] = {3};
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, 1, len, 1, x, &e), 0);
    double ll, tot;
    ck_assert_int_eq(st_hmm_loglik(m, d, &ll, &tot, &e), 0);
    ck_assert(ll == -INFINITY);
    double post[6];
    ck_assert_int_eq(st_hmm_posterior(m, d, post, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "probability zero"));
    st_hmm_free(m);
    st_hmm_data_free(d);
}
END_TEST

/* Sampling: state frequencies follow the stationary distribution, and the
 * same seed gives the same draws. */
START_TEST(test_sample)
{
    st_err e;
    st_hmm *m = gauss2(ST_HMM_COV_FULL);
    ck_assert_int_eq(st_hmm_validate(m, &e), 0);
    size_t n = 50, T = 400;
    int *st = malloc(n * T * sizeof *st), *st2 = malloc(n * T * sizeof *st2);
    double *x = malloc(n * T * 2 * sizeof *x), *x2 = malloc(n * T * 2 * sizeof *x2);
    ck_assert_int_eq(st_hmm_sample(m, n, T, 7, st, x, &e), 0);
    ck_assert_int_eq(st_hmm_sample(m, n, T, 7, st2, x2, &e), 0);
    ck_assert(memcmp(st, st2, n * T * sizeof *st) == 0 && memcmp(x, x2, n * T * 2 * sizeof *x) == 0);
    double pi[3], cnt[3] = {0, 0, 0}, mean1[3] = {0, 0, 0};
    ck_assert_int_eq(st_hmm_stationary(m, pi, &e), 0);
    /* pi A = pi */
    for (size_t j = 0; j < 3; j++) {
        double s = 0;
        for (size_t i = 0; i < 3; i++)
            s += pi[i] * m->trans[i * 3 + j];
        ck_assert_near(s, pi[j], 1e-12);
    }
    for (size_t i = 0; i < n * T; i++) {
        if (i % T < 50) /* burn-in from the start distribution */
            continue;
        cnt[st[i]] += 1;
        mean1[st[i]] += x[2 * i + 1];
    }
    double N = (double)(n * (T - 50));
    for (size_t k = 0; k < 3; k++) {
        /* autocorrelated draws: inflate the binomial sd by sqrt((1+r)/(1-r)) with r = 0.8 */
        double sd = sqrt(pi[k] * (1 - pi[k]) / N * 9);
        ck_assert_near(cnt[k] / N, pi[k], 5 * sd);
        ck_assert_near(mean1[k] / cnt[k], m->mean[k * 2 + 1], 5 * sqrt(m->var[k * 4 + 3] / cnt[k]));
    }
    free(st);
    free(st2);
    free(x);
    free(x2);
    st_hmm_free(m);
}
END_TEST

/* Batched forward-backward (several sequences against one read of trans)
 * gives the same bits as one sequence at a time, for sizes that exercise
 * every remainder path of the kernels (K = 70 = 8 x 8 + 4 + 2), and for
 * batches of 2 to 6 sequences (both register tiles, with unused rows). */
START_TEST(test_batch_bitwise)
{
    st_err e;
    st_rng g;
    st_rng_seed(&g, 5);
    size_t K = 70, D = 2, T = 30;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, K, D, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, &e), 0);
    double *ones = malloc(K * sizeof *ones);
    for (size_t k = 0; k < K; k++)
        ones[k] = 1;
    st_rng_dirichlet(&g, ones, K, m->start);
    for (size_t i = 0; i < K; i++)
        st_rng_dirichlet(&g, ones, K, m->trans + i * K);
    for (size_t i = 0; i < K * D; i++) {
        m->mean[i] = 3 * st_rng_normal(&g);
        m->var[i] = 0.5 + st_rng_uniform(&g);
    }
    ck_assert_int_eq(st_hmm_validate(m, &e), 0);
    double *x = malloc(6 * T * D * sizeof *x);
    int *st = malloc(6 * T * sizeof *st);
    ck_assert_int_eq(st_hmm_sample(m, 6, T, 3, st, x, &e), 0);
    for (size_t nb = 2; nb <= 6; nb++) {
        st_hmm_ws *w[6], *w1 = st_hmm_ws_new(K, T);
        const double *xs[6];
        double *xi[6], ll[6];
        for (size_t s = 0; s < nb; s++) {
            w[s] = st_hmm_ws_new(K, T);
            xs[s] = x + s * T * D;
            xi[s] = calloc(K * K, sizeof(double));
        }
        st_hmm_fb_batch(m, xs, T, w, nb, ll, xi);
        double *xi1 = calloc(K * K, sizeof(double)), ll1;
        for (size_t s = 0; s < nb; s++) {
            memset(xi1, 0, K * K * sizeof *xi1);
            st_hmm_fb(m, xs[s], T, w1, &ll1, xi1);
            ck_assert(memcmp(&ll1, &ll[s], sizeof ll1) == 0);
            ck_assert(memcmp(w1->gamma, w[s]->gamma, T * K * sizeof(double)) == 0);
            ck_assert(memcmp(xi1, xi[s], K * K * sizeof(double)) == 0);
            free(xi[s]);
            st_hmm_ws_free(w[s]);
        }
        free(xi1);
        st_hmm_ws_free(w1);
    }
    free(ones);
    free(x);
    free(st);
    st_hmm_free(m);
}
END_TEST

/* The statistics finish_seq puts in a slot, one sequence at a time. */
static void slot_single(const st_hmm *m, const double *x, size_t T, double *slot)
{
    size_t K = m->K;
    st_hmm_ws *w = st_hmm_ws_new(K, T);
    st_hmm_fb(m, x, T, w, &slot[0], slot + 1 + K);
    memcpy(slot + 1, w->gamma, K * sizeof *slot);
    st_hmm_ops(m)->accum(m, x, T, w->gamma, slot + 1 + K + K * K);
    st_hmm_ws_free(w);
}

/* Four and eight sequences in the lanes of vectors (lanes.c) give the
 * same bits as one at a time, for state counts that exercise every
 * remainder of the kernels (K = 4, 5, 8, 9, 12, 13, 16, 21) and for the
 * fused categorical lookup and the other families' emissions. */
START_TEST(test_lanes_bitwise)
{
    st_err e;
    st_rng g;
    st_rng_seed(&g, 8);
    const size_t Ks[] = {4, 5, 8, 9, 12, 13, 16, 21};
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
        for (int fam = 0; fam < 4; fam++) {
            size_t K = Ks[ki], D = fam == 1 ? 2 : 1, T = 57, nsym[2] = {6, 3};
            st_hmm *m;
            st_hmm_family f = fam < 2 ? ST_HMM_CATEGORICAL : fam == 2 ? ST_HMM_GAUSSIAN : ST_HMM_POISSON;
            ck_assert_int_eq(st_hmm_new(&m, K, D, f, ST_HMM_COV_DIAG, nsym, &e), 0);
            if (!st_hmm_lanes_ok(m)) { /* no AVX2: nothing to compare */
                st_hmm_free(m);
                return;
            }
            double ones[32];
            for (size_t k = 0; k < 32; k++)
                ones[k] = 1;
            st_rng_dirichlet(&g, ones, K, m->start);
            for (size_t i = 0; i < K; i++)
                st_rng_dirichlet(&g, ones, K, m->trans + i * K);
            for (size_t c = 0; fam < 2 && c < D; c++)
                for (size_t k = 0; k < K; k++)
                    st_rng_dirichlet(&g, ones, nsym[c], m->prob + m->symoff[c] + k * nsym[c]);
            for (size_t i = 0; f == ST_HMM_GAUSSIAN && i < K * D; i++) {
                m->mean[i] = 3 * st_rng_normal(&g);
                m->var[i] = 0.5 + st_rng_uniform(&g);
            }
            for (size_t i = 0; f == ST_HMM_POISSON && i < K * D; i++)
                m->rate[i] = 0.5 + 6 * st_rng_uniform(&g);
            ck_assert_int_eq(st_hmm_validate(m, &e), 0);
            double *x = malloc(8 * T * D * sizeof *x);
            int *st = malloc(8 * T * sizeof *st);
            ck_assert_int_eq(st_hmm_sample(m, 8, T, 3 + ki, st, x, &e), 0);
            size_t nst = 1 + K + K * K + st_hmm_ops(m)->nstats(m);
            double *sl = calloc(8 * nst, sizeof *sl), *one = calloc(nst, sizeof *one);
            st_hmm_lws *lw = st_hmm_lws_new(K, T);
            for (size_t n = 4; n <= 8; n += 4) {
                const double *xs[8];
                double *slots[8];
                memset(sl, 0, 8 * nst * sizeof *sl);
                for (size_t q = 0; q < n; q++) {
                    xs[q] = x + q * T * D;
                    slots[q] = sl + q * nst;
                }
                ck_assert_int_eq(st_hmm_fb_lanes(m, xs, n, T, lw, slots), 1);
                for (size_t q = 0; q < n; q++) {
                    memset(one, 0, nst * sizeof *one);
                    slot_single(m, xs[q], T, one);
                    for (size_t i = 0; i < nst; i++)
                        ck_assert_msg(memcmp(&one[i], &slots[q][i], sizeof *one) == 0,
                                      "K %zu family %d lanes %zu sequence %zu entry %zu: %.17g vs %.17g", K, fam, n, q,
                                      i, one[i], slots[q][i]);
                }
            }
            st_hmm_lws_free(lw);
            free(sl);
            free(one);
            free(x);
            free(st);
            st_hmm_free(m);
        }
}
END_TEST

/* st_hmm_blocks: ceil(nseq / 256) sequences per block, at most 256 blocks,
 * one block per sequence up to 256 sequences. */
START_TEST(test_blocks)
{
    static const size_t ns[] = {0, 1, 2, 10, 16, 17, 255, 256, 257, 511, 512, 513, 1000, 4096, 4097, 100000, 1000003};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        size_t n = ns[i], B, nb = st_hmm_blocks(n, &B);
        size_t want = (n + 255) / 256;
        ck_assert_uint_eq(B, want ? want : 1);
        ck_assert_uint_le(nb, 256);
        ck_assert_uint_eq(nb, (n + B - 1) / B);
        ck_assert_uint_ge(nb * B, n);
        if (n > 0)
            ck_assert_uint_lt((nb - 1) * B, n);
        if (n <= 256)
            ck_assert_uint_eq(nb, n);
    }
}
END_TEST

/* Column means and variances merged over blocks (Welford within, Chan et
 * al. across) agree with a two-pass reference to 1e-14 relative, on data
 * far from zero (where a one-pass sum of squares would lose every digit)
 * with missing values; st_hmm_data_figures gives the same bits. */
START_TEST(test_colvar_blocks)
{
    size_t nseq = 1000, D = 3, *len = malloc(nseq * sizeof *len), total = 0;
    st_rng g;
    st_rng_seed(&g, 11);
    for (size_t s = 0; s < nseq; s++)
        total += len[s] = 1 + (size_t)st_rng_below(&g, 9);
    double *x = malloc(total * D * sizeof *x);
    for (size_t i = 0; i < total; i++) {
        x[i * D] = 1e6 + st_rng_normal(&g);                  /* large mean, unit variance */
        x[i * D + 1] = st_rng_uniform(&g) < 0.2 ? NAN : -3 + 1e-3 * st_rng_normal(&g);
        x[i * D + 2] = (double)(i % 7);
    }
    st_hmm_data *d;
    st_err e;
    ck_assert_int_eq(st_hmm_data_new(&d, nseq, len, D, x, &e), ST_OK);
    double mean[3], var[3], mx[3];
    st_hmm_data_colfigs(d, mean, var, mx);
    for (size_t j = 0; j < D; j++) {
        double m = 0, v = 0, big = -INFINITY;
        size_t n = 0;
        for (size_t i = 0; i < total; i++)
            if (!isnan(x[i * D + j])) {
                m += x[i * D + j];
                n++;
                big = fmax(big, x[i * D + j]);
            }
        m /= (double)n;
        for (size_t i = 0; i < total; i++)
            if (!isnan(x[i * D + j]))
                v += (x[i * D + j] - m) * (x[i * D + j] - m);
        v /= (double)n;
        ck_assert_rel(mean[j], m, 1e-14);
        ck_assert_rel(var[j], v, 1e-14);
        ck_assert(mx[j] == big);
    }
    ck_assert_int_eq(st_hmm_data_figures(d, &e), ST_OK);
    double mean2[3], var2[3];
    st_hmm_data_colvar(d, mean2, var2);
    ck_assert(memcmp(mean, mean2, sizeof mean) == 0 && memcmp(var, var2, sizeof var) == 0);
    /* the merge alone, block figures given */
    size_t B, nb = st_hmm_blocks(nseq, &B);
    double *blk = malloc(nb * D * ST_HMM_NFIG * sizeof *blk);
    for (size_t b = 0; b < nb; b++) {
        size_t s1 = (b + 1) * B < nseq ? (b + 1) * B : nseq;
        st_hmm_block_figures(d, d->off[b * B], d->off[s1], blk + b * D * ST_HMM_NFIG);
    }
    st_hmm_figures_merge(blk, nb, D, mean2, var2, NULL);
    ck_assert(memcmp(mean, mean2, sizeof mean) == 0 && memcmp(var, var2, sizeof var) == 0);
    free(blk);
    st_hmm_data_free(d);
    free(x);
    free(len);
}
END_TEST

/* The init sample: the whole data (d itself) within the cap, else the
 * first floor(cap / nblocks) rows of every block, carrying the whole
 * data's column figures. */
START_TEST(test_init_sample)
{
    size_t nseq = 20, T = 10, D = 2, len[20];
    double x[400];
    for (size_t s = 0; s < nseq; s++)
        len[s] = T;
    for (size_t i = 0; i < nseq * T * D; i++)
        x[i] = (double)i;
    st_hmm_data *d, *smp;
    st_err e;
    ck_assert_int_eq(st_hmm_data_new(&d, nseq, len, D, x, &e), ST_OK);
    ck_assert_uint_eq(st_hmm_init_sample_cap(), ST_HMM_INIT_SAMPLE_ROWS);
    ck_assert_int_eq(st_hmm_init_sample(&smp, d, &e), ST_OK);
    ck_assert_ptr_null(smp);
    setenv("ST_HMM_INIT_SAMPLE_ROWS", "200", 1); /* exactly the data */
    ck_assert_int_eq(st_hmm_init_sample(&smp, d, &e), ST_OK);
    ck_assert_ptr_null(smp);
    setenv("ST_HMM_INIT_SAMPLE_ROWS", "45", 1); /* 20 blocks of 1 sequence: 2 rows each */
    ck_assert_int_eq(st_hmm_init_sample(&smp, d, &e), ST_OK);
    ck_assert_ptr_nonnull(smp);
    ck_assert_uint_eq(smp->total, 40);
    for (size_t s = 0; s < nseq; s++)
        for (size_t r = 0; r < 2; r++)
            for (size_t j = 0; j < D; j++)
                ck_assert(smp->x[(2 * s + r) * D + j] == x[(s * T + r) * D + j]);
    double m1[2], v1[2], m2[2], v2[2];
    st_hmm_data_colvar(d, m1, v1);
    st_hmm_data_colvar(smp, m2, v2);
    ck_assert(memcmp(m1, m2, sizeof m1) == 0 && memcmp(v1, v2, sizeof v1) == 0);
    st_hmm_data_free(smp);
    setenv("ST_HMM_INIT_SAMPLE_ROWS", "3", 1); /* fewer than the blocks: one row each */
    ck_assert_int_eq(st_hmm_init_sample(&smp, d, &e), ST_OK);
    ck_assert_uint_eq(smp->total, 20);
    ck_assert(smp->x[19 * D] == x[19 * T * D]);
    st_hmm_data_free(smp);
    unsetenv("ST_HMM_INIT_SAMPLE_ROWS");
    st_hmm_data_free(d);
}
END_TEST

static Suite *hmm_suite(void)
{
    Suite *s = suite_create("hmm");
    TCase *tc = tcase_create("inference");
    tcase_add_test(tc, test_brute_categorical);
    tcase_add_test(tc, test_brute_poisson);
    tcase_add_test(tc, test_brute_gauss_diag);
    tcase_add_test(tc, test_brute_gauss_spherical);
    tcase_add_test(tc, test_brute_gauss_full);
    tcase_add_test(tc, test_brute_gauss_tied);
    tcase_add_test(tc, test_brute_left_right);
    tcase_add_test(tc, test_brute_ar);
    tcase_add_test(tc, test_brute_gmm);
    tcase_add_test(tc, test_brute_gmm_full);
    tcase_add_test(tc, test_brute_ar_full);
    tcase_add_test(tc, test_brute_bernoulli);
    tcase_add_test(tc, test_brute_multinomial);
    tcase_add_test(tc, test_brute_gamma);
    tcase_add_test(tc, test_brute_lognormal);
    tcase_add_test(tc, test_brute_regression);
    tcase_add_test(tc, test_batch_bitwise);
    tcase_add_test(tc, test_lanes_bitwise);
    tcase_add_test(tc, test_underflow_fallback);
    tcase_add_test(tc, test_impossible);
    tcase_add_test(tc, test_sample);
    tcase_add_test(tc, test_blocks);
    tcase_add_test(tc, test_colvar_blocks);
    tcase_add_test(tc, test_init_sample);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(hmm_suite)

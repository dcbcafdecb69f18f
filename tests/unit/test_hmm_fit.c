/* lib/hmm fitting: EM never decreases its objective; masked transitions
 * stay exactly zero; parameters of sampled models are recovered for every
 * emission type (states matched to undo label switching) within
 * tolerances from the sample size; results are bit-identical for any
 * thread count. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "check_util.h"
#include "core/linalg.h"
#include "core/specfun.h"
#include "hmm/hmm.h"

/* Number of standard errors allowed in the recovery checks. */
#define NSD 6.0

typedef struct trace {
    int n;
    double logl[2048];
    double minchange;
} trace;

static void record(void *ctx, int restart, int iter, double logl, double change)
{
    trace *t = ctx;
    (void)restart;
    (void)iter;
    if (t->n < 2048)
        t->logl[t->n++] = logl;
    if (change < t->minchange)
        t->minchange = change;
}

static st_hmm *truth(st_hmm_family f, st_hmm_cov cov, size_t K)
{
    st_err e;
    st_hmm *m;
    size_t nsym[2] = {4, 3};
    size_t D = f == ST_HMM_MULTINOMIAL ? 3 : 2;
    ck_assert_int_eq(st_hmm_new(&m, K, D, f, cov, nsym, &e), 0);
    for (size_t i = 0; i < K; i++) {
        m->start[i] = 1.0 / (double)K;
        for (size_t j = 0; j < K; j++)
            m->trans[i * K + j] = i == j ? 0.9 : 0.1 / (double)(K - 1);
    }
    switch (f) {
    case ST_HMM_CATEGORICAL:
        for (size_t k = 0; k < K; k++) {
            double *p0 = m->prob + m->symoff[0] + k * 4, *p1 = m->prob + m->symoff[1] + k * 3;
            for (size_t v = 0; v < 4; v++)
                p0[v] = v == k ? 0.7 : 0.1;
            for (size_t v = 0; v < 3; v++)
                p1[v] = v == (k + 1) % 3 ? 0.6 : 0.2;
        }
        break;
    default:
        break;
    case ST_HMM_BERNOULLI:
        for (size_t k = 0; k < K; k++) {
            m->bern[k * 2] = 0.1 + 0.35 * (double)k;
            m->bern[k * 2 + 1] = 0.8 - 0.3 * (double)k;
        }
        break;
    case ST_HMM_MULTINOMIAL:
        m->trials = 10;
        for (size_t k = 0; k < K; k++)
            for (size_t v = 0; v < 3; v++)
                m->mprob[k * 3 + v] = v == k ? 0.6 : 0.2;
        break;
    case ST_HMM_GAMMA:
        for (size_t k = 0; k < K; k++) {
            m->shape[k * 2] = 2 + 3.0 * (double)k;
            m->scale[k * 2] = 1.0 / (1 + (double)k);
            m->shape[k * 2 + 1] = 0.8 + (double)k;
            m->scale[k * 2 + 1] = 2 + (double)k;
        }
        break;
    case ST_HMM_LOGNORMAL:
        for (size_t k = 0; k < K; k++) {
            m->mean[k * 2] = 1.5 * (double)k;
            m->mean[k * 2 + 1] = (k % 2 ? -1.0 : 0.5) + 0.5 * (double)k;
            m->var[k * 2] = 0.3 + 0.1 * (double)k;
            m->var[k * 2 + 1] = 0.6 - 0.1 * (double)k;
        }
        break;
    case ST_HMM_POISSON:
        for (size_t k = 0; k < K; k++) {
            m->rate[k * 2] = 1 + 4.0 * (double)k;
            m->rate[k * 2 + 1] = 8 - 3.0 * (double)k;
        }
        break;
    case ST_HMM_GAUSSIAN:
        for (size_t k = 0; k < K; k++) {
            m->mean[k * 2] = 3.0 * (double)k;
            m->mean[k * 2 + 1] = (k % 2 ? -2.0 : 1.0) + (double)k;
        }
        for (size_t k = 0; k < K; k++) {
            switch (cov) {
            case ST_HMM_COV_DIAG:
                m->var[k * 2] = 0.5 + 0.25 * (double)k;
                m->var[k * 2 + 1] = 1.0 - 0.2 * (double)k;
                break;
            case ST_HMM_COV_SPHERICAL:
                m->var[k] = 0.4 + 0.3 * (double)k;
                break;
            case ST_HMM_COV_FULL: {
                double *S = m->var + k * 4;
                S[0] = 0.6 + 0.2 * (double)k;
                S[3] = 0.9 - 0.1 * (double)k;
                S[1] = S[2] = (k % 2 ? -0.3 : 0.25);
                break;
            }
            case ST_HMM_COV_TIED:
                if (k == 0) {
                    m->var[0] = 0.7;
                    m->var[3] = 0.5;
                    m->var[1] = m->var[2] = 0.2;
                }
                break;
            }
        }
        break;
    }
    st_err_clear(&e);
    ck_assert_msg(st_hmm_validate(m, &e) == 0, "%s", e.msg);
    return m;
}

static st_hmm_data *sample(const st_hmm *m, size_t n, size_t T, uint64_t seed)
{
    st_err e;
    int *st = malloc(n * T * sizeof *st);
    double *x = malloc(n * T * m->D * sizeof *x);
    size_t *len = malloc(n * sizeof *len);
    ck_assert_int_eq(st_hmm_sample(m, n, T, seed, st, x, &e), 0);
    for (size_t s = 0; s < n; s++)
        len[s] = T;
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, n, len, m->D, x, &e), 0);
    free(st);
    free(x);
    free(len);
    return d;
}

/* Emission parameters of state k as a vector, for matching. */
static size_t emis_vec(const st_hmm *m, size_t k, double *v)
{
    size_t D = m->D, n = 0;
    switch (m->family) {
    case ST_HMM_CATEGORICAL:
        for (size_t c = 0; c < D; c++)
            for (size_t s = 0; s < m->nsym[c]; s++)
                v[n++] = m->prob[m->symoff[c] + k * m->nsym[c] + s];
        break;
    case ST_HMM_POISSON:
        for (size_t d = 0; d < D; d++)
            v[n++] = m->rate[k * D + d];
        break;
    case ST_HMM_BERNOULLI:
        for (size_t d = 0; d < D; d++)
            v[n++] = m->bern[k * D + d];
        break;
    case ST_HMM_MULTINOMIAL:
        for (size_t d = 0; d < D; d++)
            v[n++] = m->mprob[k * D + d];
        break;
    case ST_HMM_GAMMA:
        for (size_t d = 0; d < D; d++)
            v[n++] = m->shape[k * D + d] * m->scale[k * D + d];
        break;
    case ST_HMM_LOGNORMAL:
    case ST_HMM_REGRESSION:
    case ST_HMM_GAUSSIAN:
    case ST_HMM_AR:
    case ST_HMM_GMM: /* first component */
        for (size_t d = 0; d < D; d++)
            v[n++] = m->mean[(m->family == ST_HMM_GMM ? k * m->ncomp : k) * D + d];
        break;
    }
    return n;
}

/* Best permutation perm[k_true] = k_fit (K <= 4, exhaustive). */
static void match(const st_hmm *tr, const st_hmm *fit, size_t *perm)
{
    size_t K = tr->K, p[4] = {0, 1, 2, 3}, best[4];
    double bestd = INFINITY;
    /* Heap's algorithm over permutations of p[0..K-1] */
    size_t c[4] = {0, 0, 0, 0}, i = 0;
    for (;;) {
        double dist = 0, a[32], b[32];
        for (size_t k = 0; k < K; k++) {
            size_t n = emis_vec(tr, k, a);
            emis_vec(fit, p[k], b);
            for (size_t j = 0; j < n; j++)
                dist += (a[j] - b[j]) * (a[j] - b[j]);
        }
        if (dist < bestd) {
            bestd = dist;
            memcpy(best, p, sizeof best);
        }
        while (i < K && c[i] >= i) {
            c[i] = 0;
            i++;
        }
        if (i >= K)
            break;
        size_t j = i % 2 ? c[i] : 0, t = p[j];
        p[j] = p[i];
        p[i] = t;
        c[i]++;
        i = 0;
    }
    memcpy(perm, best, K * sizeof *perm);
}

/* Fit with restarts and check recovery of every parameter against its
 * standard error: transitions sqrt(a(1-a)/N_i), means sqrt(v/N_k),
 * variances v sqrt(2/N_k), rates sqrt(r/N_k), probabilities sqrt(p(1-p)/N_k),
 * where N_k = n T / K is the expected number of visits. */
static void recover(st_hmm_family f, st_hmm_cov cov)
{
    size_t K = 3, n = 20, T = 500;
    st_hmm *tr = truth(f, cov, K);
    st_hmm_data *d = sample(tr, n, T, 11);
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.K = K;
    o.family = f;
    o.cov = cov;
    o.restarts = 3;
    o.seed = 5;
    o.tol = 1e-9;
    o.max_iter = 300; /* a restart stuck near a saddle creeps; the others converge in < 100 */
    trace tc = {0, {0}, INFINITY};
    o.progress = record;
    o.progress_ctx = &tc;
    st_hmm *fit;
    st_err e;
    st_err_clear(&e);
    ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(fit->nobs, (long)(n * T));
    size_t perm[4];
    match(tr, fit, perm);
    double N = (double)(n * T) / (double)K;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            double a = tr->trans[i * K + j];
            ck_assert_near(fit->trans[perm[i] * K + perm[j]], a, NSD * sqrt(a * (1 - a) / N));
        }
    size_t D = tr->D;
    for (size_t k = 0; k < K; k++) {
        size_t q = perm[k];
        switch (f) {
        case ST_HMM_CATEGORICAL:
            for (size_t c = 0; c < D; c++)
                for (size_t s = 0; s < tr->nsym[c]; s++) {
                    double p = tr->prob[tr->symoff[c] + k * tr->nsym[c] + s];
                    /* state identity is uncertain here: double the binomial error */
                    ck_assert_near(fit->prob[fit->symoff[c] + q * fit->nsym[c] + s], p, 2 * NSD * sqrt(p * (1 - p) / N));
                }
            break;
        case ST_HMM_POISSON:
            for (size_t j = 0; j < D; j++) {
                double r = tr->rate[k * D + j];
                ck_assert_near(fit->rate[q * D + j], r, NSD * sqrt(r / N));
            }
            break;
        case ST_HMM_AR:         /* test_recover_ar */
        case ST_HMM_GMM:        /* test_recover_gmm */
        case ST_HMM_REGRESSION: /* test_recover_regression */
            break;
        case ST_HMM_BERNOULLI:
            for (size_t j = 0; j < D; j++) {
                double p = tr->bern[k * D + j];
                ck_assert_near(fit->bern[q * D + j], p, NSD * sqrt(p * (1 - p) / N));
            }
            break;
        case ST_HMM_MULTINOMIAL:
            for (size_t j = 0; j < D; j++) {
                double p = tr->mprob[k * D + j];
                ck_assert_near(fit->mprob[q * D + j], p, NSD * sqrt(p * (1 - p) / (N * 10)));
            }
            ck_assert_int_eq(fit->trials, 10); /* every row sums to 10: recorded */
            break;
        case ST_HMM_GAMMA:
            for (size_t j = 0; j < D; j++) {
                /* Fisher information of (a, s): N [[psi'(a), 1/s], [1/s, a/s^2]] */
                double a = tr->shape[k * D + j], sc = tr->scale[k * D + j], tg = st_trigamma(a);
                double va = a / (N * (a * tg - 1)), vs = tg * sc * sc / (N * (a * tg - 1));
                ck_assert_near(fit->shape[q * D + j], a, NSD * sqrt(va));
                ck_assert_near(fit->scale[q * D + j], sc, NSD * sqrt(vs));
            }
            break;
        case ST_HMM_LOGNORMAL:
            for (size_t j = 0; j < D; j++) {
                double v = tr->var[k * D + j];
                ck_assert_near(fit->mean[q * D + j], tr->mean[k * D + j], NSD * sqrt(v / N));
                ck_assert_near(fit->var[q * D + j], v, NSD * v * sqrt(2 / N));
            }
            break;
        case ST_HMM_GAUSSIAN:
            for (size_t j = 0; j < D; j++) {
                double v = cov == ST_HMM_COV_DIAG        ? tr->var[k * D + j]
                           : cov == ST_HMM_COV_SPHERICAL ? tr->var[k]
                           : cov == ST_HMM_COV_FULL      ? tr->var[k * D * D + j * D + j]
                                                         : tr->var[j * D + j];
                ck_assert_near(fit->mean[q * D + j], tr->mean[k * D + j], NSD * sqrt(v / N));
            }
            switch (cov) {
            case ST_HMM_COV_DIAG:
                for (size_t j = 0; j < D; j++) {
                    double v = tr->var[k * D + j];
                    ck_assert_near(fit->var[q * D + j], v, NSD * v * sqrt(2 / N));
                }
                break;
            case ST_HMM_COV_SPHERICAL:
                ck_assert_near(fit->var[q], tr->var[k], NSD * tr->var[k] * sqrt(2 / (N * (double)D)));
                break;
            case ST_HMM_COV_FULL:
                for (size_t i = 0; i < D * D; i++) {
                    const double *S = tr->var + k * D * D;
                    size_t a = i / D, b = i % D;
                    /* var(S_ab) = (S_aa S_bb + S_ab^2) / N */
                    double sd = sqrt((S[a * D + a] * S[b * D + b] + S[i] * S[i]) / N);
                    ck_assert_near(fit->var[q * D * D + i], S[i], NSD * sd);
                }
                break;
            case ST_HMM_COV_TIED:
                for (size_t i = 0; i < D * D; i++) {
                    size_t a = i / D, b = i % D;
                    double sd = sqrt((tr->var[a * D + a] * tr->var[b * D + b] + tr->var[i] * tr->var[i]) / (N * (double)K));
                    ck_assert_near(fit->var[i], tr->var[i], NSD * sd);
                }
                break;
            }
            break;
        }
    }
    /* the objective never decreased (run_em also fails if it does) */
    ck_assert(tc.minchange >= -1e-9 * fabs(fit->logl));
    /* the fitted model is at least as likely as the truth (ML) */
    double lt;
    ck_assert_int_eq(st_hmm_loglik(tr, d, NULL, &lt, &e), 0);
    ck_assert(fit->logl >= lt - 1e-6 * fabs(lt));
    st_hmm_free(fit);
    st_hmm_free(tr);
    st_hmm_data_free(d);
}

START_TEST(test_recover_categorical) { recover(ST_HMM_CATEGORICAL, 0); }
END_TEST
START_TEST(test_recover_poisson) { recover(ST_HMM_POISSON, 0); }
END_TEST
START_TEST(test_recover_gauss_diag) { recover(ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG); }
END_TEST
START_TEST(test_recover_gauss_full) { recover(ST_HMM_GAUSSIAN, ST_HMM_COV_FULL); }
END_TEST
START_TEST(test_recover_gauss_spherical) { recover(ST_HMM_GAUSSIAN, ST_HMM_COV_SPHERICAL); }
END_TEST
START_TEST(test_recover_gauss_tied) { recover(ST_HMM_GAUSSIAN, ST_HMM_COV_TIED); }
END_TEST
START_TEST(test_recover_bernoulli) { recover(ST_HMM_BERNOULLI, 0); }
END_TEST
START_TEST(test_recover_multinomial) { recover(ST_HMM_MULTINOMIAL, 0); }
END_TEST
START_TEST(test_recover_gamma) { recover(ST_HMM_GAMMA, 0); }
END_TEST
START_TEST(test_recover_lognormal) { recover(ST_HMM_LOGNORMAL, 0); }
END_TEST

/* Covariance entries: var(S_ab) = (S_aa S_bb + S_ab^2) / N. */
static void check_cov(const double *fit, const double *tr, size_t D, double N)
{
    for (size_t i = 0; i < D * D; i++) {
        size_t a = i / D, b = i % D;
        double sd = sqrt((tr[a * D + a] * tr[b * D + b] + tr[i] * tr[i]) / N);
        ck_assert_near(fit[i], tr[i], NSD * sd);
    }
}

/* Regression on two covariates (u ~ N(0, 1) iid), two responses, two
 * states, diagonal and full noise: intercepts within NSD sqrt(v/N_k),
 * slopes within NSD sqrt(v/N_k) (var(u) = 1), noise (co)variances as
 * covariances. */
START_TEST(test_recover_regression)
{
    for (int full = 0; full < 2; full++) {
        st_err e;
        st_err_clear(&e);
        st_hmm *tr;
        size_t K = 2, D = 4, Dy = 2, n = 20, T = 500;
        st_hmm_shape sh = {ST_HMM_REGRESSION, full ? ST_HMM_COV_FULL : ST_HMM_COV_DIAG, NULL, 0, 0, 2};
        ck_assert_int_eq(st_hmm_new_shape(&tr, K, D, &sh, &e), 0);
        const double a[] = {0.9, 0.1, 0.2, 0.8}, s0[] = {0.5, 0.5};
        const double c[] = {1, 0, -1, 2}, W[] = {1, -1, 0.5, 0, /* state 1 */ -2, 0.3, 0, 1};
        const double vd[] = {0.3, 0.5, 0.8, 0.2}, vf[] = {0.5, 0.2, 0.2, 0.4, 1, -0.3, -0.3, 0.6};
        memcpy(tr->trans, a, sizeof a);
        memcpy(tr->start, s0, sizeof s0);
        memcpy(tr->mean, c, sizeof c);
        memcpy(tr->ar, W, sizeof W);
        if (full)
            memcpy(tr->var, vf, sizeof vf);
        else
            memcpy(tr->var, vd, sizeof vd);
        ck_assert_int_eq(st_hmm_validate(tr, &e), 0);
        int *st = malloc(n * T * sizeof *st);
        double *x = malloc(n * T * D * sizeof *x);
        st_rng g;
        st_rng_seed(&g, 31);
        for (size_t i = 0; i < n * T; i++) /* the covariates, before sampling the responses */
            x[i * D + 2] = st_rng_normal(&g), x[i * D + 3] = st_rng_normal(&g);
        ck_assert_int_eq(st_hmm_sample(tr, n, T, 9, st, x, &e), 0);
        size_t len[20];
        for (size_t i = 0; i < n; i++)
            len[i] = T;
        st_hmm_data *d;
        ck_assert_int_eq(st_hmm_data_new(&d, n, len, D, x, &e), 0);
        st_hmm_fit_opts o;
        st_hmm_fit_opts_init(&o);
        o.K = K;
        o.family = ST_HMM_REGRESSION;
        o.cov = sh.cov;
        o.ncov = 2;
        o.restarts = 3;
        st_hmm *fit;
        ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
        double lt;
        ck_assert_int_eq(st_hmm_loglik(tr, d, NULL, &lt, &e), 0);
        ck_assert(fit->logl >= lt - 1e-6 * fabs(lt));
        size_t perm[2] = {0, 1};
        if (fabs(fit->mean[2] - c[0]) + fabs(fit->mean[0] - c[2]) < fabs(fit->mean[0] - c[0]) + fabs(fit->mean[2] - c[2]))
            perm[0] = 1, perm[1] = 0;
        for (size_t k = 0; k < K; k++) {
            size_t q = perm[k];
            double Nk = (double)(n * T) * (k == 0 ? 2.0 / 3 : 1.0 / 3);
            for (size_t j = 0; j < Dy; j++) {
                double v = full ? vf[k * 4 + j * 3] : vd[k * 2 + j];
                ck_assert_near(fit->mean[q * Dy + j], c[k * Dy + j], NSD * sqrt(v / Nk));
                for (size_t u = 0; u < 2; u++)
                    ck_assert_near(fit->ar[(q * Dy + j) * 2 + u], W[(k * Dy + j) * 2 + u], NSD * sqrt(v / Nk));
                if (!full)
                    ck_assert_near(fit->var[q * Dy + j], v, NSD * v * sqrt(2 / Nk));
            }
            if (full)
                check_cov(fit->var + q * 4, vf + k * 4, Dy, Nk);
        }
        ck_assert_int_eq(st_hmm_nparams(fit), 1 + 2 + 2 * (2 + 4 + (full ? 3 : 2)));
        st_hmm_free(fit);
        st_hmm_free(tr);
        st_hmm_data_free(d);
        free(st);
        free(x);
    }
}
END_TEST

/* AR(1) and a two-component mixture with full covariances: the fits are at
 * least as likely as the truth and recover the covariances. */
START_TEST(test_recover_full_noise)
{
    st_err e;
    st_err_clear(&e);
    size_t K = 2, D = 2, n = 20, T = 500;
    const double a[] = {0.95, 0.05, 0.1, 0.9}, s0[] = {0.5, 0.5};
    for (int gmm = 0; gmm < 2; gmm++) {
        st_hmm *tr;
        st_hmm_shape sh = {gmm ? ST_HMM_GMM : ST_HMM_AR, ST_HMM_COV_FULL, NULL, 1, 2, 0};
        ck_assert_int_eq(st_hmm_new_shape(&tr, K, D, &sh, &e), 0);
        memcpy(tr->trans, a, sizeof a);
        memcpy(tr->start, s0, sizeof s0);
        size_t nu = gmm ? 4 : 2; /* components (or states) */
        for (size_t i = 0; i < nu; i++) {
            double *S = tr->var + i * 4;
            S[0] = 0.4 + 0.2 * (double)i;
            S[3] = 0.9 - 0.15 * (double)i;
            S[1] = S[2] = (i % 2 ? -0.5 : 0.6) * sqrt(S[0] * S[3]);
            /* mixtures: the states far apart, their components nearer */
            tr->mean[i * 2] = gmm ? (i < 2 ? -9.0 : 6.0) + 3.0 * (double)i : (i ? -1.0 : 1.0);
            tr->mean[i * 2 + 1] = gmm ? (i % 2 ? 3.0 : -3.0) : 0.5;
        }
        if (gmm) {
            const double w[] = {0.4, 0.6, 0.7, 0.3};
            memcpy(tr->weight, w, sizeof w);
        } else {
            const double A[] = {0.5, 0.2, -0.1, 0.6, -0.4, 0, 0.3, 0.2};
            memcpy(tr->ar, A, sizeof A);
        }
        ck_assert_int_eq(st_hmm_validate(tr, &e), 0);
        st_hmm_data *d = sample(tr, n, T, 17);
        st_hmm_fit_opts o;
        st_hmm_fit_opts_init(&o);
        o.K = K;
        o.family = sh.family;
        o.cov = ST_HMM_COV_FULL;
        o.ncomp = 2;
        o.order = 1;
        o.restarts = 4;
        o.seed = 3;
        st_hmm *fit;
        ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
        double lt;
        ck_assert_int_eq(st_hmm_loglik(tr, d, NULL, &lt, &e), 0);
        ck_assert_msg(fit->logl >= lt - 1e-6 * fabs(lt), "%s: fit %.10g < truth %.10g", gmm ? "gmm" : "ar", fit->logl, lt);
        /* match each true unit (component or state) to the fitted one with the nearest mean */
        for (size_t i = 0; i < nu; i++) {
            size_t best = 0;
            double bd = INFINITY;
            for (size_t j = 0; j < nu; j++) {
                double dd = hypot(fit->mean[j * 2] - tr->mean[i * 2], fit->mean[j * 2 + 1] - tr->mean[i * 2 + 1]);
                if (dd < bd)
                    bd = dd, best = j;
            }
            double Ni = (double)(n * T) * (gmm ? 0.5 * tr->weight[i] : (i == 0 ? 2.0 / 3 : 1.0 / 3));
            check_cov(fit->var + best * 4, tr->var + i * 4, D, Ni);
        }
        ck_assert_int_eq(st_hmm_nparams(fit), 1 + 2 + (gmm ? 2 * (1 + 2 * (2 + 3)) : 2 * (2 + 4 + 3)));
        st_hmm_free(fit);
        st_hmm_free(tr);
        st_hmm_data_free(d);
    }
}
END_TEST

/* AR(1)-HMM, 2 states, 2 columns: intercepts, coefficients and variances
 * are recovered within NSD standard errors.  The errors are those of least
 * squares with the true state labels: var(b) = v (Z^T Z)^-1 from the sampled
 * lags of each state (EM cannot do better than knowing the states). */
START_TEST(test_recover_ar)
{
    st_err e;
    st_err_clear(&e);
    st_hmm *tr;
    size_t K = 2, D = 2, n = 20, T = 500;
    ck_assert_int_eq(st_hmm_new_ar(&tr, K, D, 1, &e), 0);
    const double a[] = {0.95, 0.05, 0.1, 0.9}, s[] = {0.5, 0.5};
    memcpy(tr->trans, a, sizeof a);
    memcpy(tr->start, s, sizeof s);
    const double c[] = {1, 0, -1, 2}, v[] = {0.3, 0.5, 0.8, 0.2};
    const double A[] = {0.5, 0.2, -0.1, 0.6, /* state 1 */ -0.4, 0, 0.3, 0.2};
    memcpy(tr->mean, c, sizeof c);
    memcpy(tr->var, v, sizeof v);
    memcpy(tr->ar, A, sizeof A);
    ck_assert_int_eq(st_hmm_validate(tr, &e), 0);
    int *st = malloc(n * T * sizeof *st);
    double *x = malloc(n * T * D * sizeof *x);
    size_t len[20];
    for (size_t i = 0; i < n; i++)
        len[i] = T;
    ck_assert_int_eq(st_hmm_sample(tr, n, T, 9, st, x, &e), 0);
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, n, len, D, x, &e), 0);
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.K = K;
    o.family = ST_HMM_AR;
    o.order = 1;
    o.restarts = 3;
    st_hmm *fit;
    ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(fit->nobs, (long)(n * (T - 1)));
    /* match states by intercepts */
    size_t perm[2] = {0, 1};
    double d01 = fabs(fit->mean[0] - c[0]) + fabs(fit->mean[2] - c[2]);
    double d10 = fabs(fit->mean[2] - c[0]) + fabs(fit->mean[0] - c[2]);
    if (d10 < d01) {
        perm[0] = 1;
        perm[1] = 0;
    }
    for (size_t k = 0; k < K; k++) {
        /* Z^T Z over the true state's rows, z = [1, x_t-1] */
        double ZZ[9] = {0}, inv[9];
        for (size_t q = 0; q < n; q++)
            for (size_t t = 1; t < T; t++) {
                if ((size_t)st[q * T + t] != k)
                    continue;
                const double *xl = x + (q * T + t - 1) * D;
                double z[3] = {1, xl[0], xl[1]};
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++)
                        ZZ[i * 3 + j] += z[i] * z[j];
            }
        for (int i = 0; i < 9; i++)
            inv[i] = i % 4 == 0;
        ck_assert_int_eq(st_lu_solve(ZZ, 3, inv, 3, &e), 0);
        size_t q = perm[k];
        for (size_t dd = 0; dd < D; dd++) {
            double vk = v[k * D + dd];
            ck_assert_near(fit->mean[q * D + dd], c[k * D + dd], NSD * sqrt(vk * inv[0]));
            for (size_t j = 0; j < D; j++)
                ck_assert_near(fit->ar[(q * D + dd) * D + j], A[(k * D + dd) * D + j], NSD * sqrt(vk * inv[(j + 1) * 4]));
            /* expected visits from the stationary distribution (2/3, 1/3) */
            double nk = (double)(n * T) * (k == 0 ? 2.0 / 3 : 1.0 / 3);
            ck_assert_near(fit->var[q * D + dd], vk, NSD * vk * sqrt(2 / nk));
        }
    }
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            double p = a[i * K + j], N = (double)(n * T) * (i == 0 ? 2.0 / 3 : 1.0 / 3);
            ck_assert_near(fit->trans[perm[i] * K + perm[j]], p, NSD * sqrt(p * (1 - p) / N));
        }
    /* a sequence not longer than the order is refused */
    size_t len1[1] = {1};
    st_hmm_data *d1;
    ck_assert_int_eq(st_hmm_data_new(&d1, 1, len1, D, x, &e), 0);
    ck_assert_int_eq(st_hmm_data_check_ar(d1, 1, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "not more than the AR order 1"));
    st_hmm_data_free(d1);
    st_hmm_free(fit);
    st_hmm_free(tr);
    st_hmm_data_free(d);
    free(st);
    free(x);
}
END_TEST

/* Two states, each a mixture of two well-separated diagonal components in
 * two dimensions: weights, means and variances recovered within NSD
 * standard errors (component visits N_kc = pi_k w_kc n T), states matched by
 * their overall means, components within a state by their first
 * coordinate. */
START_TEST(test_recover_gmm)
{
    st_err e;
    st_err_clear(&e);
    st_hmm *tr;
    size_t K = 2, M = 2, D = 2, n = 20, T = 500;
    ck_assert_int_eq(st_hmm_new_gmm(&tr, K, D, M, &e), 0);
    const double a[] = {0.95, 0.05, 0.05, 0.95}, s[] = {0.5, 0.5}, w[] = {0.3, 0.7, 0.6, 0.4};
    const double mu[] = {-4, 0, 0, 2, /* state 1 */ 4, -3, 8, 0};
    const double v[] = {0.5, 1, 0.8, 0.6, 1, 0.4, 0.7, 0.9};
    memcpy(tr->trans, a, sizeof a);
    memcpy(tr->start, s, sizeof s);
    memcpy(tr->weight, w, sizeof w);
    memcpy(tr->mean, mu, sizeof mu);
    memcpy(tr->var, v, sizeof v);
    ck_assert_int_eq(st_hmm_validate(tr, &e), 0);
    int *st = malloc(n * T * sizeof *st);
    double *x = malloc(n * T * D * sizeof *x);
    size_t len[20];
    for (size_t i = 0; i < n; i++)
        len[i] = T;
    ck_assert_int_eq(st_hmm_sample(tr, n, T, 13, st, x, &e), 0);
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, n, len, D, x, &e), 0);
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.K = K;
    o.family = ST_HMM_GMM;
    o.ncomp = M;
    o.restarts = 4;
    o.seed = 2;
    st_hmm *fit;
    ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
    double lt;
    ck_assert_int_eq(st_hmm_loglik(tr, d, NULL, &lt, &e), 0);
    ck_assert(fit->logl >= lt - 1e-6 * fabs(lt));
    /* state matching by the mixture mean of the first coordinate */
    double m0 = fit->weight[0] * fit->mean[0] + fit->weight[1] * fit->mean[2];
    size_t sk[2] = {m0 < 0 ? 0u : 1u, m0 < 0 ? 1u : 0u};
    for (size_t k = 0; k < K; k++) {
        size_t q = sk[k];
        size_t c0 = fit->mean[(q * M) * D] < fit->mean[(q * M + 1) * D] ? 0 : 1, sc[2] = {c0, 1 - c0};
        for (size_t c = 0; c < M; c++) {
            size_t it = k * M + c, iq = q * M + sc[c];
            double Nc = 0.5 * w[it] * (double)(n * T);
            ck_assert_near(fit->weight[iq], w[it], NSD * sqrt(w[it] * (1 - w[it]) / (0.5 * (double)(n * T))));
            for (size_t j = 0; j < D; j++) {
                double vt = v[it * D + j];
                ck_assert_near(fit->mean[iq * D + j], mu[it * D + j], NSD * sqrt(vt / Nc));
                ck_assert_near(fit->var[iq * D + j], vt, NSD * vt * sqrt(2 / Nc));
            }
        }
    }
    ck_assert_int_eq(st_hmm_nparams(fit), 1 + 2 + 2 * (1 + 2 * 2 * 2));
    st_hmm_free(fit);
    st_hmm_free(tr);
    st_hmm_data_free(d);
    free(st);
    free(x);
}
END_TEST

/* Full covariances with 15% of the values missing (at random, never a whole
 * row): EM with conditional expectations never decreases the
 * log-likelihood and recovers the means within NSD standard errors of the
 * observed counts (0.85 N per coordinate). */
START_TEST(test_missing_full)
{
    st_hmm *tr = truth(ST_HMM_GAUSSIAN, ST_HMM_COV_FULL, 3);
    st_hmm_data *d = sample(tr, 20, 300, 23);
    st_rng g;
    st_rng_seed(&g, 4);
    for (size_t i = 0; i < d->total; i++)
        if (st_rng_uniform(&g) < 0.15)
            d->x[i * 2 + st_rng_below(&g, 2)] = NAN;
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.K = 3;
    o.family = ST_HMM_GAUSSIAN;
    o.cov = ST_HMM_COV_FULL;
    o.restarts = 3;
    o.max_iter = 300;
    trace tc = {0, {0}, INFINITY};
    o.progress = record;
    o.progress_ctx = &tc;
    st_hmm *fit;
    st_err e;
    st_err_clear(&e);
    ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
    ck_assert(tc.minchange >= -1e-9 * fabs(fit->logl));
    size_t perm[4];
    match(tr, fit, perm);
    double N = 0.85 * (double)d->total / 3;
    for (size_t k = 0; k < 3; k++)
        for (size_t j = 0; j < 2; j++)
            ck_assert_near(fit->mean[perm[k] * 2 + j], tr->mean[k * 2 + j], NSD * sqrt(tr->var[k * 4 + j * 3] / N));
    st_hmm_free(fit);
    st_hmm_free(tr);
    st_hmm_data_free(d);
}
END_TEST

/* SQUAREM on a slowly converging model (the 3-state linear chain of
 * data/hmm-linear-3.yaml): from the same start it reaches at least the
 * plain-EM optimum in far fewer iterations, and the accepted objectives
 * never decrease. */
START_TEST(test_accelerate)
{
    st_err e;
    st_err_clear(&e);
    size_t nsym[1] = {3};
    st_hmm *tr;
    ck_assert_int_eq(st_hmm_new(&tr, 3, 1, ST_HMM_CATEGORICAL, 0, nsym, &e), 0);
    double q = sqrt(0.05);
    const double a[] = {1 - q, q, 0, q, 1 - 2 * q, q, 0, q, 1 - q};
    const double p[] = {0.99, 0.01, 0, 0.495, 0.01, 0.495, 0, 0.01, 0.99};
    for (int i = 0; i < 3; i++)
        tr->start[i] = 1.0 / 3;
    memcpy(tr->trans, a, sizeof a);
    memcpy(tr->prob, p, sizeof p);
    ck_assert_int_eq(st_hmm_validate(tr, &e), 0);
    st_hmm_data *d = sample(tr, 400, 50, 5);
    st_hmm *fit[2];
    trace tc[2] = {{0, {0}, INFINITY}, {0, {0}, INFINITY}};
    for (int acc = 0; acc < 2; acc++) {
        st_hmm_fit_opts o;
        st_hmm_fit_opts_init(&o);
        o.K = 3;
        o.family = ST_HMM_CATEGORICAL;
        o.max_iter = 3000;
        o.accelerate = acc;
        o.progress = record;
        o.progress_ctx = &tc[acc];
        ck_assert_msg(st_hmm_fit(&fit[acc], d, &o, &e) == 0, "%s", e.msg);
        ck_assert(fit[acc]->converged);
        ck_assert(tc[acc].minchange >= -1e-9 * fabs(fit[acc]->logl));
    }
    ck_assert_msg(fit[1]->logl >= fit[0]->logl - 1e-6 * fabs(fit[0]->logl), "accelerated %.17g, plain %.17g",
                  fit[1]->logl, fit[0]->logl);
    ck_assert_msg(fit[1]->iterations * 3 < fit[0]->iterations, "iterations: accelerated %ld, plain %ld",
                  fit[1]->iterations, fit[0]->iterations);
    for (int i = 0; i < 9; i++)
        if (a[i] == 0)
            ck_assert(fit[1]->trans[i] >= 0);
    st_hmm_free(fit[0]);
    st_hmm_free(fit[1]);
    st_hmm_free(tr);
    st_hmm_data_free(d);
}
END_TEST

/* Each EM step from a poor start raises the log-likelihood, for every
 * family, and with priors the penalised objective. */
START_TEST(test_em_monotone)
{
    st_hmm_family fams[] = {ST_HMM_CATEGORICAL, ST_HMM_POISSON, ST_HMM_GAUSSIAN, ST_HMM_GAUSSIAN};
    st_hmm_cov covs[] = {0, 0, ST_HMM_COV_DIAG, ST_HMM_COV_FULL};
    for (int f = 0; f < 4; f++) {
        st_hmm *tr = truth(fams[f], covs[f], 3);
        st_hmm_data *d = sample(tr, 5, 200, 3 + (uint64_t)f);
        st_hmm_fit_opts o;
        st_hmm_fit_opts_init(&o);
        o.K = 4; /* more states than the truth: a slow, long climb */
        o.family = fams[f];
        o.cov = covs[f];
        o.max_iter = 60;
        o.tol = 1e-15;
        o.pseudo = f == 1 ? 0.5 : 0;
        o.sticky = f == 2 ? 3 : 0;
        trace tc = {0, {0}, INFINITY};
        o.progress = record;
        o.progress_ctx = &tc;
        st_hmm *fit;
        st_err e;
        st_err_clear(&e);
        ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
        ck_assert_int_ge(tc.n, 10);
        if (o.pseudo == 0 && o.sticky == 0)
            for (int i = 1; i < tc.n; i++)
                ck_assert_msg(tc.logl[i] >= tc.logl[i - 1] - 1e-10 * fabs(tc.logl[i - 1]),
                              "family %d: logL %.17g -> %.17g at %d", f, tc.logl[i - 1], tc.logl[i], i);
        ck_assert(tc.minchange >= -1e-10 * fabs(fit->logl));
        st_hmm_free(fit);
        st_hmm_free(tr);
        st_hmm_data_free(d);
    }
}
END_TEST

/* Masked transitions stay exactly 0 through EM, also with pseudo-counts,
 * and the allowed ones are estimated. */
START_TEST(test_mask_zeros)
{
    st_hmm *tr = truth(ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, 3);
    const double a[] = {0.9, 0.1, 0, 0.05, 0.9, 0.05, 0, 0.1, 0.9};
    memcpy(tr->trans, a, sizeof a);
    st_hmm_data *d = sample(tr, 10, 300, 8);
    st_hmm_topology tops[] = {ST_HMM_LEFT_RIGHT, ST_HMM_LINEAR_CHAIN, ST_HMM_CYCLIC};
    for (int t = 0; t < 3; t++) {
        st_hmm_fit_opts o;
        st_hmm_fit_opts_init(&o);
        o.K = 3;
        o.family = ST_HMM_GAUSSIAN;
        o.cov = ST_HMM_COV_DIAG;
        o.topology = tops[t];
        o.maxjump = 1;
        o.pseudo = 1;
        o.restarts = 2;
        o.max_iter = 200;
        st_hmm *fit;
        st_err e;
        st_err_clear(&e);
        ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
        unsigned char mask[9];
        st_hmm_topology_mask(tops[t], 1, 3, mask);
        for (int i = 0; i < 9; i++) {
            if (!mask[i])
                ck_assert(fit->trans[i] == 0.0);
            else
                ck_assert(fit->trans[i] > 0.0);
        }
        st_hmm_free(fit);
    }
    st_hmm_free(tr);
    st_hmm_data_free(d);
}
END_TEST

/* The same fit with 1 and 2 threads gives the same bytes. */
START_TEST(test_threads_bitwise)
{
#ifdef _OPENMP
    st_hmm *tr = truth(ST_HMM_GAUSSIAN, ST_HMM_COV_FULL, 3);
    st_hmm_data *d = sample(tr, 37, 150, 21);
    st_hmm *fits[2];
    for (int j = 0; j < 2; j++) {
        omp_set_num_threads(j + 1);
        st_hmm_fit_opts o;
        st_hmm_fit_opts_init(&o);
        o.K = 3;
        o.family = ST_HMM_GAUSSIAN;
        o.cov = ST_HMM_COV_FULL;
        o.restarts = 2;
        o.max_iter = 40;
        st_err e;
        ck_assert_int_eq(st_hmm_fit(&fits[j], d, &o, &e), 0);
    }
    ck_assert(memcmp(&fits[0]->logl, &fits[1]->logl, sizeof(double)) == 0);
    ck_assert(memcmp(fits[0]->trans, fits[1]->trans, 9 * sizeof(double)) == 0);
    ck_assert(memcmp(fits[0]->mean, fits[1]->mean, 6 * sizeof(double)) == 0);
    ck_assert(memcmp(fits[0]->var, fits[1]->var, 12 * sizeof(double)) == 0);
    st_hmm_free(fits[0]);
    st_hmm_free(fits[1]);
    st_hmm_free(tr);
    st_hmm_data_free(d);
    /* many states: the E-step batches groups of equal-length sequences;
     * 9 sequences (two full groups and a single), one of another length */
    size_t len[9] = {200, 200, 200, 200, 200, 200, 200, 200, 150}, tot = 0; /* enough work for a thread team */
    for (int i = 0; i < 9; i++)
        tot += len[i];
    double *x = malloc(tot * sizeof *x);
    for (size_t i = 0; i < tot; i++)
        x[i] = (double)((i * 7919) % 13);
    st_err e;
    ck_assert_int_eq(st_hmm_data_new(&d, 9, len, 1, x, &e), 0);
    for (int j = 0; j < 2; j++) {
        omp_set_num_threads(j + 1);
        st_hmm_fit_opts o;
        st_hmm_fit_opts_init(&o);
        o.K = 66;
        o.family = ST_HMM_CATEGORICAL;
        o.max_iter = 3;
        ck_assert_int_eq(st_hmm_fit(&fits[j], d, &o, &e), 0);
    }
    ck_assert(memcmp(&fits[0]->logl, &fits[1]->logl, sizeof(double)) == 0);
    ck_assert(memcmp(fits[0]->trans, fits[1]->trans, 66 * 66 * sizeof(double)) == 0);
    ck_assert(memcmp(fits[0]->prob, fits[1]->prob, 66 * 13 * sizeof(double)) == 0);
    st_hmm_free(fits[0]);
    st_hmm_free(fits[1]);
    st_hmm_data_free(d);
    free(x);
#endif
}
END_TEST

/* Stationary start: pi A = pi after the fit. Fixed parts stay put. */
START_TEST(test_stationary_and_fix)
{
    st_hmm *tr = truth(ST_HMM_POISSON, 0, 2);
    st_hmm_data *d = sample(tr, 10, 200, 4);
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.K = 2;
    o.family = ST_HMM_POISSON;
    o.start_stationary = 1;
    st_hmm *fit;
    st_err e;
    ck_assert_int_eq(st_hmm_fit(&fit, d, &o, &e), 0);
    for (size_t j = 0; j < 2; j++)
        ck_assert_near(fit->start[0] * fit->trans[j] + fit->start[1] * fit->trans[2 + j], fit->start[j], 1e-12);
    ck_assert_int_eq(st_hmm_nparams(fit), 2 + 4);
    st_hmm_free(fit);
    /* --fix emissions: rates stay at the initial values */
    st_hmm_fit_opts_init(&o);
    o.init = tr;
    o.fix_emis = 1;
    ck_assert_int_eq(st_hmm_fit(&fit, d, &o, &e), 0);
    ck_assert(memcmp(fit->rate, tr->rate, 4 * sizeof(double)) == 0);
    ck_assert(fit->trans[0] != tr->trans[0]);
    st_hmm_free(fit);
    st_hmm_free(tr);
    st_hmm_data_free(d);
}
END_TEST

/* Bad data are refused with the row named; K beyond the data too. */
START_TEST(test_bad_data)
{
    st_err e;
    size_t len[1] = {4};
    const double x[] = {0, 1, 2.5, 1};
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, 1, len, 1, x, &e), 0);
    ck_assert_int_eq(st_hmm_data_check(d, ST_HMM_CATEGORICAL, 0, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "row 3"));
    ck_assert_int_eq(st_hmm_data_check(d, ST_HMM_POISSON, 0, NULL, &e), ST_EDATA);
    ck_assert_int_eq(st_hmm_data_check(d, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, &e), 0);
    size_t nsym[1] = {2};
    d->x[2] = 2;
    ck_assert_int_eq(st_hmm_data_check(d, ST_HMM_CATEGORICAL, 0, nsym, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "out of range"));
    d->x[2] = NAN;
    /* a whole row missing: a step without an observation (issue 13) */
    ck_assert_int_eq(st_hmm_data_check(d, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, &e), 0);
    ck_assert_int_eq(st_hmm_data_check(d, ST_HMM_GAUSSIAN, ST_HMM_COV_FULL, NULL, &e), 0);
    ck_assert_int_eq(st_hmm_data_check(d, ST_HMM_CATEGORICAL, 0, NULL, &e), 0);
    ck_assert_int_eq(st_hmm_data_check(d, ST_HMM_POISSON, 0, NULL, &e), 0);
    d->x[2] = -1;
    ck_assert_int_eq(st_hmm_data_check(d, ST_HMM_POISSON, 0, NULL, &e), ST_EDATA);
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.K = 5;
    o.family = ST_HMM_GAUSSIAN;
    st_hmm *fit;
    ck_assert_int_eq(st_hmm_fit(&fit, d, &o, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "more than the 4 observations"));
    st_hmm_data_free(d);
}
END_TEST

static Suite *hmm_fit_suite(void)
{
    Suite *s = suite_create("hmm_fit");
    TCase *tc = tcase_create("fit");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_recover_categorical);
    tcase_add_test(tc, test_recover_poisson);
    tcase_add_test(tc, test_recover_gauss_diag);
    tcase_add_test(tc, test_recover_gauss_full);
    tcase_add_test(tc, test_recover_gauss_spherical);
    tcase_add_test(tc, test_recover_gauss_tied);
    tcase_add_test(tc, test_recover_bernoulli);
    tcase_add_test(tc, test_recover_multinomial);
    tcase_add_test(tc, test_recover_gamma);
    tcase_add_test(tc, test_recover_lognormal);
    tcase_add_test(tc, test_recover_regression);
    tcase_add_test(tc, test_recover_full_noise);
    tcase_add_test(tc, test_recover_ar);
    tcase_add_test(tc, test_recover_gmm);
    tcase_add_test(tc, test_missing_full);
    tcase_add_test(tc, test_accelerate);
    tcase_add_test(tc, test_em_monotone);
    tcase_add_test(tc, test_mask_zeros);
    tcase_add_test(tc, test_threads_bitwise);
    tcase_add_test(tc, test_stationary_and_fix);
    tcase_add_test(tc, test_bad_data);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(hmm_fit_suite)

/* lib/hmm/se.c: standard errors from the observed information.  With one
 * state the observations are iid and the SEs at the maximum have closed
 * forms, which st_hmm_stderr (numerical Hessian in unconstrained
 * parameters, delta method) must give to 1e-5:
 *   Gaussian mean sqrt(v/n), variance v sqrt(2/n), full covariance entry
 *   sqrt((S_aa S_bb + S_ab^2)/n); Poisson rate sqrt(r/n); categorical and
 *   Bernoulli probability sqrt(p(1-p)/n); multinomial sqrt(p(1-p)/(n N));
 *   Gamma from the inverse Fisher information n [[psi'(a), 1/s], [1/s, a/s^2]].
 * Also: the same bits for any thread count; a parameter held fixed has SE 0. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "check_util.h"
#include "core/specfun.h"
#include "hmm/internal.h"

#define TOL 1e-5

/* n rows from m (one state), fitted with one state; returns the fit, its
 * SEs in *se. */
static st_hmm *fit1(st_hmm *m, size_t n, st_hmm **se)
{
    st_err e;
    st_err_clear(&e);
    ck_assert_msg(st_hmm_validate(m, &e) == 0, "%s", e.msg);
    int *st = malloc(n * sizeof *st);
    double *x = malloc(n * m->D * sizeof *x);
    ck_assert_int_eq(st_hmm_sample(m, 1, n, 3, st, x, &e), 0);
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, 1, &n, m->D, x, &e), 0);
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.K = 1;
    o.family = m->family;
    o.cov = m->cov;
    o.nsym = m->nsym;
    o.tol = 1e-14;
    o.prob_floor = 0;
    st_hmm *f;
    ck_assert_msg(st_hmm_fit(&f, d, &o, &e) == 0, "%s", e.msg);
    double dec;
    size_t nf;
    ck_assert_msg(st_hmm_stderr(f, d, &o, se, &nf, &dec, &e) == 0, "%s", e.msg);
    ck_assert(dec < 1e-8);
    free(st);
    free(x);
    st_hmm_data_free(d);
    return f;
}

START_TEST(test_gauss)
{
    st_err e;
    for (int full = 0; full < 2; full++) {
        st_hmm *m, *se;
        ck_assert_int_eq(st_hmm_new(&m, 1, 2, ST_HMM_GAUSSIAN, full ? ST_HMM_COV_FULL : ST_HMM_COV_DIAG, NULL, &e), 0);
        m->start[0] = m->trans[0] = 1;
        m->mean[0] = 3;
        m->mean[1] = -1;
        if (full) {
            const double S[] = {2, 0.7, 0.7, 0.5};
            memcpy(m->var, S, sizeof S);
        } else {
            m->var[0] = 2;
            m->var[1] = 0.5;
        }
        size_t n = 400;
        st_hmm *f = fit1(m, n, &se);
        for (size_t j = 0; j < 2; j++) {
            double v = full ? f->var[j * 3] : f->var[j];
            ck_assert_rel(se->mean[j], sqrt(v / (double)n), TOL);
            if (!full)
                ck_assert_rel(se->var[j], v * sqrt(2.0 / (double)n), TOL);
        }
        if (full)
            for (size_t a = 0; a < 2; a++)
                for (size_t b = 0; b < 2; b++) {
                    const double *S = f->var;
                    ck_assert_rel(se->var[a * 2 + b], sqrt((S[a * 3] * S[b * 3] + S[a * 2 + b] * S[a * 2 + b]) / (double)n),
                                  TOL);
                }
        ck_assert(se->start[0] == 0 && se->trans[0] == 0); /* nothing free with one state */
        st_hmm_free(se);
        st_hmm_free(f);
        st_hmm_free(m);
    }
}
END_TEST

START_TEST(test_counts)
{
    st_err e;
    size_t n = 500;
    /* Poisson */
    st_hmm *m, *se, *f;
    ck_assert_int_eq(st_hmm_new(&m, 1, 2, ST_HMM_POISSON, 0, NULL, &e), 0);
    m->start[0] = m->trans[0] = 1;
    m->rate[0] = 3;
    m->rate[1] = 0.4;
    f = fit1(m, n, &se);
    for (size_t j = 0; j < 2; j++)
        ck_assert_rel(se->rate[j], sqrt(f->rate[j] / (double)n), TOL);
    st_hmm_free(se);
    st_hmm_free(f);
    st_hmm_free(m);
    /* categorical, 4 symbols */
    size_t nsym[1] = {4};
    ck_assert_int_eq(st_hmm_new(&m, 1, 1, ST_HMM_CATEGORICAL, 0, nsym, &e), 0);
    m->start[0] = m->trans[0] = 1;
    const double p[] = {0.1, 0.2, 0.3, 0.4};
    memcpy(m->prob, p, sizeof p);
    f = fit1(m, n, &se);
    for (size_t v = 0; v < 4; v++)
        ck_assert_rel(se->prob[v], sqrt(f->prob[v] * (1 - f->prob[v]) / (double)n), TOL);
    st_hmm_free(se);
    st_hmm_free(f);
    st_hmm_free(m);
    /* Bernoulli */
    ck_assert_int_eq(st_hmm_new(&m, 1, 2, ST_HMM_BERNOULLI, 0, NULL, &e), 0);
    m->start[0] = m->trans[0] = 1;
    m->bern[0] = 0.3;
    m->bern[1] = 0.8;
    f = fit1(m, n, &se);
    for (size_t j = 0; j < 2; j++)
        ck_assert_rel(se->bern[j], sqrt(f->bern[j] * (1 - f->bern[j]) / (double)n), TOL);
    st_hmm_free(se);
    st_hmm_free(f);
    st_hmm_free(m);
    /* multinomial, 10 trials */
    ck_assert_int_eq(st_hmm_new(&m, 1, 3, ST_HMM_MULTINOMIAL, 0, NULL, &e), 0);
    m->start[0] = m->trans[0] = 1;
    m->trials = 10;
    const double q[] = {0.5, 0.3, 0.2};
    memcpy(m->mprob, q, sizeof q);
    f = fit1(m, n, &se);
    for (size_t v = 0; v < 3; v++)
        ck_assert_rel(se->mprob[v], sqrt(f->mprob[v] * (1 - f->mprob[v]) / (double)(n * 10)), TOL);
    st_hmm_free(se);
    st_hmm_free(f);
    st_hmm_free(m);
}
END_TEST

START_TEST(test_gamma)
{
    st_err e;
    st_hmm *m, *se;
    ck_assert_int_eq(st_hmm_new(&m, 1, 1, ST_HMM_GAMMA, 0, NULL, &e), 0);
    m->start[0] = m->trans[0] = 1;
    m->shape[0] = 2.5;
    m->scale[0] = 1.5;
    size_t n = 600;
    st_hmm *f = fit1(m, n, &se);
    double a = f->shape[0], s = f->scale[0], tg = st_trigamma(a), det = (double)n * (a * tg - 1);
    ck_assert_rel(se->shape[0], sqrt(a / det), TOL);
    ck_assert_rel(se->scale[0], sqrt(tg * s * s / det), TOL);
    st_hmm_free(se);
    st_hmm_free(f);
    st_hmm_free(m);
}
END_TEST

/* Two states: -j 1 and -j 2 give the same bits; with --fix emissions the
 * emission SEs are 0 and the transitions' are not. */
START_TEST(test_threads_and_fix)
{
    st_err e;
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 2, 1, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, &e), 0);
    const double a[] = {0.9, 0.1, 0.2, 0.8}, s[] = {0.5, 0.5}, mu[] = {0, 3}, v[] = {1, 0.5};
    memcpy(m->trans, a, sizeof a);
    memcpy(m->start, s, sizeof s);
    memcpy(m->mean, mu, sizeof mu);
    memcpy(m->var, v, sizeof v);
    ck_assert_int_eq(st_hmm_validate(m, &e), 0);
    size_t n = 40, T = 100, len[40];
    int *st = malloc(n * T * sizeof *st);
    double *x = malloc(n * T * sizeof *x);
    ck_assert_int_eq(st_hmm_sample(m, n, T, 5, st, x, &e), 0);
    for (size_t i = 0; i < n; i++)
        len[i] = T;
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, n, len, 1, x, &e), 0);
    st_hmm *s1, *s2;
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    ck_assert_int_eq(st_hmm_stderr(m, d, NULL, &s1, NULL, NULL, &e), 0);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    ck_assert_int_eq(st_hmm_stderr(m, d, NULL, &s2, NULL, NULL, &e), 0);
    ck_assert(memcmp(s1->trans, s2->trans, 4 * sizeof(double)) == 0);
    ck_assert(memcmp(s1->mean, s2->mean, 2 * sizeof(double)) == 0);
    ck_assert(memcmp(s1->var, s2->var, 2 * sizeof(double)) == 0);
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.fix_emis = 1;
    st_hmm *s3;
    ck_assert_int_eq(st_hmm_stderr(m, d, &o, &s3, NULL, NULL, &e), 0);
    ck_assert(s3->mean[0] == 0 && s3->var[1] == 0 && s3->trans[0] > 0);
    st_hmm_free(s1);
    st_hmm_free(s2);
    st_hmm_free(s3);
    st_hmm_data_free(d);
    st_hmm_free(m);
    free(st);
    free(x);
}
END_TEST

static Suite *se_suite(void)
{
    Suite *s = suite_create("hmm_se");
    TCase *tc = tcase_create("se");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_gauss);
    tcase_add_test(tc, test_counts);
    tcase_add_test(tc, test_gamma);
    tcase_add_test(tc, test_threads_and_fix);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(se_suite)

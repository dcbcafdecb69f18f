/* lib/hmm model files: every family written and read back bit for bit;
 * malformed files (rows not summing to 1, masked entries that are not 0,
 * wrong shapes, unknown keys, a covariance that is not positive definite)
 * are refused with the line named. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "hmm/internal.h"

static st_hmm *roundtrip(st_hmm *m)
{
    st_err e;
    st_err_clear(&e);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_int_eq(st_hmm_write(m, fp, &e), 0);
    fclose(fp);
    st_ydoc *doc;
    ck_assert_msg(st_ydoc_load_string(&doc, buf, len, "mem.yaml", &e) == 0, "%s", e.msg);
    st_hmm *r;
    ck_assert_msg(st_hmm_read_doc(&r, doc, st_ydoc_root(doc), &e) == 0, "%s\n%s", e.msg, buf);
    st_ydoc_free(doc);
    free(buf);
    return r;
}

#define same(a, b, n) ck_assert_msg(memcmp((a), (b), (n) * sizeof *(a)) == 0, "%s differs", #a)

START_TEST(test_roundtrip_all)
{
    st_err e;
    st_rng g;
    st_rng_seed(&g, 3);
    for (int f = 0; f < 9; f++) {
        st_hmm_family fam = f == 0   ? ST_HMM_CATEGORICAL
                            : f == 1 ? ST_HMM_POISSON
                            : f == 7 ? ST_HMM_AR
                            : f == 8 ? ST_HMM_GMM
                                     : ST_HMM_GAUSSIAN;
        st_hmm_cov cov = f >= 2 && f < 7 ? (st_hmm_cov)((f - 2) % 4) : 0;
        size_t K = 3, D = 2, nsym[2] = {3, 5};
        double ones[5] = {1, 1, 1, 1, 1};
        st_hmm *m;
        if (fam == ST_HMM_AR) {
            ck_assert_int_eq(st_hmm_new_ar(&m, K, D, 2, &e), 0);
            for (size_t i = 0; i < K * D * D * 2; i++)
                m->ar[i] = st_rng_normal(&g);
            for (size_t i = 0; i < K * D; i++) {
                m->mean[i] = st_rng_normal(&g);
                m->var[i] = 0.1 + st_rng_uniform(&g);
            }
        } else if (fam == ST_HMM_GMM) {
            ck_assert_int_eq(st_hmm_new_gmm(&m, K, D, 3, &e), 0);
            for (size_t k = 0; k < K; k++)
                st_rng_dirichlet(&g, ones, 3, m->weight + k * 3);
            for (size_t i = 0; i < K * 3 * D; i++) {
                m->mean[i] = st_rng_normal(&g);
                m->var[i] = 0.1 + st_rng_uniform(&g);
            }
        } else {
            ck_assert_int_eq(st_hmm_new(&m, K, D, fam, cov, nsym, &e), 0);
        }
        st_rng_dirichlet(&g, ones, K, m->start);
        for (size_t i = 0; i < K; i++)
            st_rng_dirichlet(&g, ones, K, m->trans + i * K);
        if (f == 6) { /* a mask */
            m->topology = ST_HMM_MASK;
            m->mask[1] = 0;
            m->trans[0] += m->trans[1];
            m->trans[1] = 0;
            m->start_stationary = 1;
        }
        if (fam == ST_HMM_CATEGORICAL)
            for (size_t c = 0; c < D; c++)
                for (size_t k = 0; k < K; k++)
                    st_rng_dirichlet(&g, ones, nsym[c], m->prob + m->symoff[c] + k * nsym[c]);
        if (fam == ST_HMM_POISSON)
            for (size_t i = 0; i < K * D; i++)
                m->rate[i] = st_rng_uniform_pos(&g) * 10;
        if (fam == ST_HMM_GAUSSIAN) {
            for (size_t i = 0; i < K * D; i++)
                m->mean[i] = st_rng_normal(&g);
            size_t nm = cov == ST_HMM_COV_FULL ? K : 1;
            if (cov == ST_HMM_COV_DIAG)
                for (size_t i = 0; i < K * D; i++)
                    m->var[i] = 0.1 + st_rng_uniform(&g);
            else if (cov == ST_HMM_COV_SPHERICAL)
                for (size_t i = 0; i < K; i++)
                    m->var[i] = 0.1 + st_rng_uniform(&g);
            else
                for (size_t k = 0; k < nm; k++) {
                    double *S = m->var + k * 4, c = 0.3 * st_rng_normal(&g);
                    S[0] = 1 + st_rng_uniform(&g);
                    S[3] = 1 + st_rng_uniform(&g);
                    S[1] = S[2] = c;
                }
        }
        const char *names[2] = {"a", "b"};
        ck_assert_int_eq(st_hmm_set_colnames(m, names, &e), 0);
        m->fitted = 1;
        m->logl = -1234.5678901234567;
        m->nobs = 1000;
        m->nseq = 3;
        m->iterations = 17;
        m->converged = 1;
        st_err_clear(&e);
        ck_assert_msg(st_hmm_validate(m, &e) == 0, "family %d: %s", f, e.msg);
        st_hmm *r = roundtrip(m);
        ck_assert_int_eq(r->K, K);
        ck_assert_int_eq(r->D, D);
        ck_assert_int_eq(r->family, fam);
        ck_assert_int_eq(r->cov, cov);
        same(r->start, m->start, K);
        same(r->trans, m->trans, K * K);
        ck_assert(memcmp(r->mask, m->mask, K * K) == 0);
        ck_assert_int_eq(r->start_stationary, m->start_stationary);
        if (fam == ST_HMM_CATEGORICAL)
            same(r->prob, m->prob, K * 8);
        if (fam == ST_HMM_POISSON)
            same(r->rate, m->rate, K * D);
        if (fam == ST_HMM_GMM) {
            ck_assert_int_eq(r->ncomp, 3);
            same(r->weight, m->weight, K * 3);
            same(r->mean, m->mean, K * 3 * D);
            same(r->var, m->var, K * 3 * D);
        }
        if (fam == ST_HMM_AR) {
            ck_assert_int_eq(r->order, 2);
            same(r->ar, m->ar, K * D * D * 2);
            same(r->mean, m->mean, K * D);
            same(r->var, m->var, K * D);
        }
        if (fam == ST_HMM_GAUSSIAN) {
            same(r->mean, m->mean, K * D);
            size_t nv = cov == ST_HMM_COV_DIAG ? K * D : cov == ST_HMM_COV_SPHERICAL ? K : cov == ST_HMM_COV_FULL ? K * 4 : 4;
            same(r->var, m->var, nv);
        }
        ck_assert_str_eq(r->colnames[1], "b");
        ck_assert(r->logl == m->logl);
        ck_assert_int_eq(r->nobs, 1000);
        ck_assert_int_eq(r->iterations, 17);
        ck_assert_int_eq(r->converged, 1);
        st_hmm_free(r);
        st_hmm_free(m);
    }
}
END_TEST

static const char *good =
    "model: hmm\n"
    "version: 1\n"
    "states: 2\n"
    "topology: left-right\n"
    "start: [1, 0]\n"
    "transitions:\n"
    "  - [0.9, 0.1]\n"
    "  - [0, 1]\n"
    "emission:\n"
    "  family: categorical\n"
    "  channels:\n"
    "    - symbols: 3\n"
    "      probabilities:\n"
    "        - [0.5, 0.25, 0.25]\n"
    "        - [0.1, 0.1, 0.8]\n";

/* Replace the first occurrence of from with to in good, then read. */
static int read_variant(const char *from, const char *to, st_err *e)
{
    char buf[2048];
    const char *p = strstr(good, from);
    ck_assert_ptr_nonnull(p);
    size_t pre = (size_t)(p - good);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)pre, good, to, p + strlen(from));
    st_ydoc *doc;
    st_err_clear(e);
    int rc = st_ydoc_load_string(&doc, buf, strlen(buf), "bad.yaml", e);
    if (rc < 0)
        return rc;
    st_hmm *m = NULL;
    rc = st_hmm_read_doc(&m, doc, st_ydoc_root(doc), e);
    st_hmm_free(m);
    st_ydoc_free(doc);
    return rc;
}

START_TEST(test_bad_files)
{
    st_err e;
    ck_assert_int_eq(read_variant("states: 2", "states: 2", &e), 0);
    /* a row that does not sum to 1 */
    ck_assert_int_lt(read_variant("[0.9, 0.1]", "[0.9, 0.2]", &e), 0);
    ck_assert_int_eq(e.line, 7);
    ck_assert_int_lt(read_variant("[0.5, 0.25, 0.25]", "[0.5, 0.25, 0.2500001]", &e), 0);
    /* within 1e-9 is accepted */
    ck_assert_int_eq(read_variant("[0.5, 0.25, 0.25]", "[0.5, 0.25, 0.2500000001]", &e), 0);
    /* masked entry not zero */
    ck_assert_int_lt(read_variant("[0, 1]", "[0.5, 0.5]", &e), 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "forbids"));
    /* shapes */
    ck_assert_int_lt(read_variant("start: [1, 0]", "start: [1, 0, 0]", &e), 0);
    ck_assert_int_lt(read_variant("symbols: 3", "symbols: 4", &e), 0);
    /* unknown key, bad enum, non-finite */
    ck_assert_int_lt(read_variant("states: 2", "states: 2\nstats: 3", &e), 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "stats"));
    ck_assert_int_lt(read_variant("family: categorical", "family: gamma", &e), 0);
    ck_assert_int_lt(read_variant("[0.1, 0.1, 0.8]", "[0.1, .nan, 0.8]", &e), 0);
    ck_assert_int_lt(read_variant("topology: left-right", "topology: zigzag", &e), 0);
    ck_assert_int_eq(e.line, 4);
    ck_assert_int_lt(read_variant("model: hmm", "model: ssm", &e), 0);
}
END_TEST

START_TEST(test_bad_covariance)
{
    const char *txt =
        "model: hmm\nversion: 1\nstates: 1\nstart: [1]\ntransitions:\n  - [1]\n"
        "emission:\n  family: gaussian\n  covariance: full\n  means:\n    - [0, 0]\n"
        "  covariances:\n    - [1, 2]\n    - [2, 1]\n";
    st_err e;
    st_ydoc *doc;
    ck_assert_int_eq(st_ydoc_load_string(&doc, txt, strlen(txt), "cov.yaml", &e), 0);
    st_hmm *m = NULL;
    ck_assert_int_lt(st_hmm_read_doc(&m, doc, st_ydoc_root(doc), &e), 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "positive definite"));
    ck_assert_int_gt(e.line, 0);
    st_ydoc_free(doc);
}
END_TEST

/* A random positive definite D x D matrix into S. */
static void rand_spd(st_rng *g, size_t D, double *S)
{
    double A[16];
    for (size_t i = 0; i < D * D; i++)
        A[i] = st_rng_normal(g);
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            double v = i == j ? 0.5 : 0;
            for (size_t k = 0; k < D; k++)
                v += A[i * D + k] * A[j * D + k];
            S[i * D + j] = v;
        }
}

/* The families and shapes added for issue 21: Bernoulli, multinomial (with
 * and without trials), Gamma, log-normal, regression (diag and full),
 * AR and mixtures with full covariances; every array back bit for bit. */
START_TEST(test_roundtrip_more)
{
    st_err e;
    st_rng g;
    st_rng_seed(&g, 8);
    const st_hmm_shape shapes[] = {
        {ST_HMM_BERNOULLI, ST_HMM_COV_DIAG, NULL, 0, 0, 0},   {ST_HMM_MULTINOMIAL, ST_HMM_COV_DIAG, NULL, 0, 0, 0},
        {ST_HMM_MULTINOMIAL, ST_HMM_COV_DIAG, NULL, 0, 0, 0}, {ST_HMM_GAMMA, ST_HMM_COV_DIAG, NULL, 0, 0, 0},
        {ST_HMM_LOGNORMAL, ST_HMM_COV_DIAG, NULL, 0, 0, 0},   {ST_HMM_REGRESSION, ST_HMM_COV_DIAG, NULL, 0, 0, 1},
        {ST_HMM_REGRESSION, ST_HMM_COV_FULL, NULL, 0, 0, 2},  {ST_HMM_AR, ST_HMM_COV_FULL, NULL, 2, 0, 0},
        {ST_HMM_GMM, ST_HMM_COV_FULL, NULL, 0, 2, 0},
    };
    double ones[4] = {1, 1, 1, 1};
    for (size_t f = 0; f < sizeof shapes / sizeof shapes[0]; f++) {
        const st_hmm_shape *sh = &shapes[f];
        size_t K = 2, D = sh->ncov == 2 ? 4 : 3;
        st_hmm *m;
        ck_assert_int_eq(st_hmm_new_shape(&m, K, D, sh, &e), 0);
        st_rng_dirichlet(&g, ones, K, m->start);
        for (size_t i = 0; i < K; i++)
            st_rng_dirichlet(&g, ones, K, m->trans + i * K);
        for (size_t i = 0; i < K * D; i++) {
            if (m->bern)
                m->bern[i] = st_rng_uniform(&g);
            if (m->shape) {
                m->shape[i] = 0.1 + 5 * st_rng_uniform(&g);
                m->scale[i] = 0.1 + 5 * st_rng_uniform(&g);
            }
        }
        if (m->mprob) {
            for (size_t k = 0; k < K; k++)
                st_rng_dirichlet(&g, ones, D, m->mprob + k * D);
            m->trials = f == 1 ? 12 : 0;
        }
        if (m->weight)
            for (size_t k = 0; k < K; k++)
                st_rng_dirichlet(&g, ones, m->ncomp, m->weight + k * m->ncomp);
        for (size_t i = 0; i < st_hmm_mean_len(m); i++)
            m->mean[i] = st_rng_normal(&g);
        for (size_t i = 0; i < st_hmm_ar_len(m); i++)
            m->ar[i] = st_rng_normal(&g);
        size_t Dy = st_hmm_dy(m), nv = st_hmm_var_len(m);
        if (m->cov == ST_HMM_COV_FULL)
            for (size_t b = 0; b < nv / (Dy * Dy); b++)
                rand_spd(&g, Dy, m->var + b * Dy * Dy);
        else
            for (size_t i = 0; i < nv; i++)
                m->var[i] = 0.1 + st_rng_uniform(&g);
        st_err_clear(&e);
        ck_assert_msg(st_hmm_validate(m, &e) == 0, "shape %zu: %s", f, e.msg);
        st_hmm *r = roundtrip(m);
        ck_assert_int_eq(r->family, m->family);
        ck_assert_int_eq(r->cov, m->cov);
        ck_assert_int_eq(r->D, D);
        ck_assert_int_eq(r->ncov, m->ncov);
        ck_assert_int_eq(r->order, m->order);
        ck_assert_int_eq(r->ncomp, m->ncomp);
        ck_assert_int_eq(r->trials, m->trials);
        same(r->start, m->start, K);
        same(r->trans, m->trans, K * K);
        if (m->bern)
            same(r->bern, m->bern, K * D);
        if (m->mprob)
            same(r->mprob, m->mprob, K * D);
        if (m->shape) {
            same(r->shape, m->shape, K * D);
            same(r->scale, m->scale, K * D);
        }
        if (m->weight)
            same(r->weight, m->weight, K * m->ncomp);
        if (m->mean) {
            same(r->mean, m->mean, st_hmm_mean_len(m));
            same(r->var, m->var, nv);
        }
        if (m->ar)
            same(r->ar, m->ar, st_hmm_ar_len(m));
        ck_assert_int_eq(st_hmm_nparams(r), st_hmm_nparams(m));
        st_hmm_free(r);
        st_hmm_free(m);
    }
}
END_TEST

/* Durations of each family (a left-right model: its last state absorbing,
 * its transition row all 0) written and read back bit for bit. */
START_TEST(test_roundtrip_durations)
{
    st_err e;
    st_rng g;
    st_rng_seed(&g, 9);
    for (int f = ST_HMM_DUR_NONPAR; f <= ST_HMM_DUR_NEGBIN; f++) {
        size_t K = 3, Dm = 6, sh = f == ST_HMM_DUR_NONPAR ? 1 : 2;
        st_hmm *m;
        ck_assert_int_eq(st_hmm_new(&m, K, 1, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, &e), 0);
        m->topology = ST_HMM_LEFT_RIGHT;
        st_hmm_topology_mask(ST_HMM_LEFT_RIGHT, 0, K, m->mask);
        ck_assert_int_eq(st_hmm_set_durations(m, (st_hmm_dur)f, Dm, sh, &e), 0);
        const double a[] = {0, 0.3, 0.7, 0, 0, 1, 0, 0, 0}, s0[] = {1, 0, 0};
        memcpy(m->trans, a, sizeof a);
        memcpy(m->start, s0, sizeof s0);
        for (size_t k = 0; k < K; k++) {
            m->mean[k] = st_rng_normal(&g);
            m->var[k] = 0.5 + st_rng_uniform(&g);
            m->dpar[2 * k] = 0.5 + 4 * st_rng_uniform(&g);
            m->dpar[2 * k + 1] = 0.1 + 0.8 * st_rng_uniform(&g);
            double ones[6] = {1, 1, 1, 1, 1, 1};
            st_rng_dirichlet(&g, ones, Dm, m->dprob + k * Dm);
        }
        for (size_t k = 0; k < K; k++) { /* what the family does not use is 0 */
            if (f == ST_HMM_DUR_NONPAR)
                m->dpar[2 * k] = 0;
            if (f != ST_HMM_DUR_NEGBIN)
                m->dpar[2 * k + 1] = 0;
        }
        st_err_clear(&e);
        ck_assert_msg(st_hmm_validate(m, &e) == 0, "%s", e.msg);
        st_hmm *r = roundtrip(m);
        ck_assert_int_eq(r->dur, f);
        ck_assert_int_eq(r->dmax, Dm);
        ck_assert_int_eq(r->dshift, sh);
        same(r->trans, m->trans, K * K);
        same(r->dprob, m->dprob, K * Dm);
        if (f != ST_HMM_DUR_NONPAR)
            same(r->dpar, m->dpar, 2 * K);
        ck_assert(st_hmm_absorbing(r, 2) && !st_hmm_absorbing(r, 1));
        ck_assert_int_eq(st_hmm_nparams(r), st_hmm_nparams(m));
        st_hmm_free(r);
        st_hmm_free(m);
    }
}
END_TEST

static Suite *hmm_io_suite(void)
{
    Suite *s = suite_create("hmm_io");
    TCase *tc = tcase_create("io");
    tcase_add_test(tc, test_roundtrip_all);
    tcase_add_test(tc, test_roundtrip_more);
    tcase_add_test(tc, test_roundtrip_durations);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_bad_covariance);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(hmm_io_suite)

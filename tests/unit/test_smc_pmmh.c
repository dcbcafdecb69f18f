/* PMMH (lib/smc/pmmh): on a linear Gaussian model the chains' posterior
 * mean and sd of (phi, q) match the exact posterior (the Kalman filter's
 * likelihood times the priors on a fine grid) within the Monte Carlo error
 * the chains' own ESS gives; R-hat near 1; results identical for any
 * number of threads; a fixed parameter stays; bad starts are refused. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "core/rng.h"
#include "smc/model.h"
#include "smc/pmmh.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* x_1 ~ N(0, 1.5^2), x_t = phi x_{t-1} + N(0, q), y_t = x_t + N(0, r);
 * priors phi ~ 2 Beta(3, 2) - 1 on (-1, 1), q ~ Gamma(2, rate 2), r
 * fixed. */
static const char lg_model[] = "model: pf\nversion: 1\nparameters: {phi: 0.6, q: 0.8, r: 1}\n"
                               "constraints: {phi: signed-unit, q: positive, r: positive}\n"
                               "priors:\n"
                               "  phi: {dist: beta, shape1: 3, shape2: 2, lower: -1, upper: 1}\n"
                               "  q: {dist: gamma, shape: 2, rate: 2}\n"
                               "initial: {dist: normal, mean: 0, sd: 1.5}\n"
                               "transition: {dist: normal, mean: phi * x, sd: sqrt(q)}\n"
                               "observation: {dist: normal, mean: x, sd: sqrt(r)}\n";

enum { T = 100 };
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

static void simulate(void)
{
    st_rng r;
    st_rng_seed(&r, 7);
    double x = 1.5 * st_rng_normal(&r);
    for (int t = 0; t < T; t++) {
        if (t > 0)
            x = 0.8 * x + sqrt(0.5) * st_rng_normal(&r);
        ydata[t] = x + st_rng_normal(&r);
    }
}

/* The exact posterior mean and sd of phi and q (r = 1): midpoint rule on
 * a grid over (-1, 1) x (0, 4), the priors' log densities from the model
 * itself checked against their closed forms at one point. */
static void exact_posterior(const st_pf_model *m, double *mean, double *sd)
{
    enum { NP = 500, NQ = 500 };
    double th[3] = {0.3, 0.7, 1};
    double lb = log(12.0) + 2 * log(1.3 / 2) + log(0.7 / 2) - log(2.0); /* Beta(3, 2): 1 / B = 12 */
    double lg = 2 * log(2.0) + log(0.7) - 2 * 0.7;
    ck_assert_msg(fabs(st_pf_model_logprior(m, th) - (lb + lg)) < 1e-12, "log prior %.15g, closed form %.15g",
                  st_pf_model_logprior(m, th), lb + lg);
    static double lp[NP][NQ];
    double mx = -INFINITY;
    for (int i = 0; i < NP; i++)
        for (int j = 0; j < NQ; j++) {
            th[0] = -1 + 2 * (i + 0.5) / NP;
            th[1] = 4 * (j + 0.5) / NQ;
            lp[i][j] = kalman_ll(th[0], th[1], 1) + st_pf_model_logprior(m, th);
            if (lp[i][j] > mx)
                mx = lp[i][j];
        }
    double w = 0, s1[2] = {0}, s2[2] = {0}, edge = 0;
    for (int i = 0; i < NP; i++)
        for (int j = 0; j < NQ; j++) {
            double p = exp(lp[i][j] - mx), a = -1 + 2 * (i + 0.5) / NP, b = 4 * (j + 0.5) / NQ;
            w += p;
            s1[0] += p * a;
            s2[0] += p * a * a;
            s1[1] += p * b;
            s2[1] += p * b * b;
            if (j == NQ - 1)
                edge += p;
        }
    ck_assert_msg(edge / w < 1e-10, "the grid cuts the posterior: %g at q = 4", edge / w);
    for (int k = 0; k < 2; k++) {
        mean[k] = s1[k] / w;
        sd[k] = sqrt(s2[k] / w - mean[k] * mean[k]);
    }
}

static st_pf_model *load(void)
{
    st_pf_model *m = NULL;
    st_err e;
    ck_assert_msg(st_pf_model_load_string(&m, lg_model, "lg.yaml", &e) == 0, "%s", e.msg);
    return m;
}

static const unsigned char fix_r[3] = {0, 0, 1};

START_TEST(test_posterior_matches_exact)
{
    st_pf_model *m = load();
    double em[2], es[2];
    exact_posterior(m, em, es);
    st_pf_pmmh_opts o;
    st_pf_pmmh_opts_init(&o);
    o.pf.N = 100;
    o.pf.seed = 3;
    o.chains = 4;
    o.burn = 500;
    o.iter = 1500;
    o.fixed = fix_r;
    st_pf_data d = {T, NULL, ydata, NULL};
    st_pf_pmmh_result *r = NULL;
    st_err e;
    ck_assert_msg(st_pf_pmmh(m, &d, 1, &o, &r, &e) == 0, "pmmh: %s", e.msg);
    ck_assert_int_eq(r->npar, 3);
    ck_assert_int_eq(r->chains, 4);
    ck_assert_int_eq(r->iter, 1500);
    for (size_t c = 0; c < 4; c++)
        ck_assert_msg(r->accept_rate[c] > 0.1 && r->accept_rate[c] < 0.6, "chain %zu accepts %g", c,
                      r->accept_rate[c]);
    for (size_t q = 0; q < 4 * 1500; q++) {
        ck_assert(r->theta[q * 3 + 2] == 1); /* held */
        ck_assert(isfinite(r->loglik[q]) && isfinite(r->logprior[q]));
    }
    static const char *const name[] = {"phi", "q"};
    for (int k = 0; k < 2; k++) {
        const st_mcmc_summary *s = &r->summary[k];
        ck_assert_msg(s->rhat < 1.05, "%s: R-hat %g", name[k], s->rhat);
        ck_assert_msg(s->ess_bulk > 200, "%s: ESS %g", name[k], s->ess_bulk);
        double se_mean = es[k] / sqrt(s->ess_bulk), se_sd = es[k] / sqrt(2 * s->ess_bulk);
        ck_assert_msg(fabs(s->mean - em[k]) < 4 * se_mean, "%s: posterior mean %g, exact %g (se %g)", name[k], s->mean,
                      em[k], se_mean);
        ck_assert_msg(fabs(s->sd - es[k]) < 4 * se_sd, "%s: posterior sd %g, exact %g (se %g)", name[k], s->sd, es[k],
                      se_sd);
        ck_assert(r->estimate[k] == s->mean);
        ck_assert(s->q025 < s->q50 && s->q50 < s->q975);
    }
    st_pf_pmmh_result_free(r);
    ck_assert(st_pf_model_par(m, 0) == 0.6); /* the model is left unchanged */
    st_pf_model_free(m);
}
END_TEST

static st_pf_pmmh_result *short_run(const st_pf_model *m, int threads)
{
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    st_pf_pmmh_opts o;
    st_pf_pmmh_opts_init(&o);
    o.pf.N = 40;
    o.chains = 3;
    o.burn = 60;
    o.iter = 40;
    st_pf_data d = {T, NULL, ydata, NULL};
    st_pf_pmmh_result *r = NULL;
    st_err e;
    ck_assert_msg(st_pf_pmmh(m, &d, 1, &o, &r, &e) == 0, "pmmh: %s", e.msg);
    return r;
}

START_TEST(test_threads_and_errors)
{
    st_pf_model *m = load();
    st_pf_pmmh_result *r1 = short_run(m, 1), *r3 = short_run(m, 3), *r2 = short_run(m, 2);
    size_t n = 3 * 40;
    ck_assert(memcmp(r1->theta, r2->theta, n * 3 * sizeof *r1->theta) == 0);
    ck_assert(memcmp(r1->theta, r3->theta, n * 3 * sizeof *r1->theta) == 0);
    ck_assert(memcmp(r1->loglik, r2->loglik, n * sizeof *r1->loglik) == 0);
    ck_assert(memcmp(r1->accepted, r2->accepted, n) == 0);
    /* the chains differ from one another, and they moved */
    ck_assert(r1->theta[0] != r1->theta[40 * 3]);
    size_t acc = 0;
    for (size_t q = 0; q < n; q++)
        acc += r1->accepted[q];
    ck_assert(acc > 0 && acc < n);
    st_pf_pmmh_result_free(r1);
    st_pf_pmmh_result_free(r2);
    st_pf_pmmh_result_free(r3);
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    /* every parameter fixed; a start outside the prior's support */
    st_pf_pmmh_opts o;
    st_pf_pmmh_opts_init(&o);
    o.pf.N = 20;
    o.iter = 10;
    o.burn = 10;
    unsigned char all[3] = {1, 1, 1};
    o.fixed = all;
    st_pf_data d = {T, NULL, ydata, NULL};
    st_pf_pmmh_result *r = NULL;
    st_err e;
    ck_assert_int_eq(st_pf_pmmh(m, &d, 1, &o, &r, &e), ST_EUSAGE);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(e.msg, "fixed"));
    o.fixed = NULL;
    st_pf_model *m2 = NULL;
    const char *txt = "model: pf\nversion: 1\nparameters: {phi: 0.8, q: 0.8}\n"
                      "constraints: {phi: signed-unit, q: positive}\n"
                      "priors: {phi: {dist: uniform, lower: 0.7, upper: 1}}\n"
                      "initial: {dist: normal, mean: 0, sd: 1.5}\n"
                      "transition: {dist: normal, mean: phi * x, sd: sqrt(q)}\n"
                      "observation: {dist: normal, mean: x, sd: 1}\n";
    ck_assert_msg(st_pf_model_load_string(&m2, txt, "bad.yaml", &e) == 0, "%s", e.msg);
    double bad[2] = {0.6, 0.8}; /* the loader refuses it; set afterwards */
    ck_assert_int_eq(st_pf_model_set_pars(m2, bad, &e), 0);
    ck_assert_int_eq(st_pf_pmmh(m2, &d, 1, &o, &r, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "zero prior density"));
    st_pf_model_free(m2);
    st_pf_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
#ifdef _OPENMP
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execl("/proc/self/exe", "test_smc_pmmh", (char *)NULL);
    }
#endif
    simulate();
    Suite *s = suite_create("smc_pmmh");
    TCase *tc = tcase_create("pmmh");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_posterior_matches_exact);
    tcase_add_test(tc, test_threads_and_errors);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(make_suite)

/* Score ascent (lib/smc/fit): on a linear Gaussian model PPG score ascent
 * reaches the exact maximum likelihood (the Kalman filter's, maximised by
 * NLopt) within the Monte Carlo error of replicate runs, while PaRIS score
 * ascent at the same N and cost misses it by many standard errors (the
 * bias PPG removes); the model file written back reads again; constraints
 * and fixed parameters are kept. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "core/optim.h"
#include "core/rng.h"
#include "core/yaml.h"
#include "smc/fit.h"
#include "smc/model.h"

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

/* Mean and standard error of the estimates of reps runs (seeds 1..reps). */
static void replicate(st_pf_fit_method method, size_t N, int reps, double *mean, double *se)
{
    double s[3] = {0}, s2[3] = {0};
    for (int k = 0; k < reps; k++) {
        st_pf_model *m = NULL;
        st_err e;
        ck_assert_int_eq(st_pf_model_load_string(&m, lg_model, "lg.yaml", &e), 0);
        st_pf_fit_opts o;
        st_pf_fit_opts_init(&o);
        o.method = method;
        o.pf.N = N;
        o.steps = 300;
        o.pf.seed = (uint64_t)k + 1;
        st_pf_data d = {T, NULL, ydata, NULL};
        st_pf_fit_result *r = NULL;
        ck_assert_msg(st_pf_fit(m, &d, 1, &o, &r, &e) == 0, "fit: %s", e.msg);
        ck_assert_int_eq(r->npar, 3);
        ck_assert_int_eq(r->nobs, T);
        for (int q = 0; q < 3; q++) {
            ck_assert(r->theta[q] == st_pf_model_par(m, (size_t)q)); /* the model is left at the estimate */
            s[q] += r->theta[q];
            s2[q] += r->theta[q] * r->theta[q];
        }
        st_pf_fit_result_free(r);
        st_pf_model_free(m);
    }
    for (int q = 0; q < 3; q++) {
        mean[q] = s[q] / reps;
        se[q] = sqrt(fmax(s2[q] / reps - mean[q] * mean[q], 0) / (reps - 1));
    }
}

START_TEST(test_ppg_sga_reaches_the_mle)
{
    static const char *const name[] = {"phi", "q", "r"};
    double mle[3], mq[3], sq[3], mp[3], sp[3];
    exact_mle(mle);
    replicate(ST_FIT_PPG_SGA, 50, 5, mq, sq);
    replicate(ST_FIT_PARIS_SGA, 50, 3, mp, sp);
    double zmax = 0;
    for (int q = 0; q < 3; q++) {
        ck_assert_msg(sq[q] > 0 && sq[q] < 0.05 * mle[q], "PPG %s: se %g", name[q], sq[q]);
        ck_assert_msg(fabs(mq[q] - mle[q]) < 5 * sq[q], "PPG-SGA %s = %g, exact MLE %g (se %g)", name[q], mq[q], mle[q],
                      sq[q]);
        double z = fabs(mp[q] - mle[q]) / sp[q];
        if (z > zmax)
            zmax = z;
    }
    /* PaRIS at N = 50, same cost per step: biased beyond its own error */
    ck_assert_msg(zmax > 5, "PaRIS-SGA within %g se of the MLE: the comparison has no power", zmax);
}
END_TEST

START_TEST(test_write_read_fixed)
{
    st_pf_model *m = NULL;
    st_err e;
    ck_assert_int_eq(st_pf_model_load_string(&m, lg_model, "lg.yaml", &e), 0);
    ck_assert_int_eq(st_pf_model_constraint(m, 0), ST_PF_SIGNED_UNIT);
    ck_assert_int_eq(st_pf_model_constraint(m, 1), ST_PF_POSITIVE);
    st_pf_fit_opts o;
    st_pf_fit_opts_init(&o);
    o.steps = 20;
    o.pf.N = 30;
    unsigned char fixed[3] = {0, 1, 0};
    o.fixed = fixed;
    st_pf_data d = {T, NULL, ydata, NULL};
    st_pf_fit_result *r = NULL;
    ck_assert_int_eq(st_pf_fit(m, &d, 1, &o, &r, &e), 0);
    ck_assert(r->theta[1] == 0.5); /* held */
    ck_assert(r->theta[0] != 0.8);
    for (size_t n = 0; n < r->steps; n++)
        ck_assert(r->score[n * 3 + 1] == 0);
    st_pf_fit_result_free(r);
    /* write, read back: the same parameters, constraints and expressions */
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    st_yw w;
    st_yw_init(&w, fp);
    ck_assert_int_eq(st_pf_model_write(m, &w, &e), 0);
    ck_assert_int_eq(st_yw_finish(&w, &e), 0);
    fclose(fp);
    st_pf_model *m2 = NULL;
    ck_assert_msg(st_pf_model_load_string(&m2, buf, "written.yaml", &e) == 0, "%s\n%s", e.msg, buf);
    for (size_t k = 0; k < 3; k++) {
        ck_assert(st_pf_model_par(m2, k) == st_pf_model_par(m, k));
        ck_assert_int_eq(st_pf_model_constraint(m2, k), st_pf_model_constraint(m, k));
    }
    ck_assert_ptr_nonnull(strstr(buf, "\"phi * x\""));
    free(buf);
    st_pf_model_free(m2);
    st_pf_model_free(m);
    /* a built-in model writes its numbers */
    ck_assert_int_eq(st_pf_model_load_string(&m, "model: pf\nversion: 1\nbuiltin: linear-gaussian\nparameters:\n"
                                                  "  A: [[0.8, 0.1], [0, 0.5]]\n  Q: [[0.6, 0.2], [0.2, 0.9]]\n"
                                                  "  C: [[1, 0.5]]\n  R: [[1]]\n",
                                             "lg2.yaml", &e),
                     0);
    buf = NULL;
    fp = open_memstream(&buf, &len);
    st_yw_init(&w, fp);
    ck_assert_int_eq(st_pf_model_write(m, &w, &e), 0);
    ck_assert_int_eq(st_yw_finish(&w, &e), 0);
    fclose(fp);
    ck_assert_msg(st_pf_model_load_string(&m2, buf, "written.yaml", &e) == 0, "%s\n%s", e.msg, buf);
    ck_assert_int_eq(st_pf_model_npar(m2), st_pf_model_npar(m));
    for (size_t k = 0; k < st_pf_model_npar(m); k++)
        ck_assert(st_pf_model_par(m2, k) == st_pf_model_par(m, k));
    free(buf);
    st_pf_model_free(m2);
    st_pf_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
#ifdef _OPENMP
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execl("/proc/self/exe", "test_smc_fit", (char *)NULL);
    }
#endif
    simulate();
    Suite *s = suite_create("smc_fit");
    TCase *tc = tcase_create("fit");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_ppg_sga_reaches_the_mle);
    tcase_add_test(tc, test_write_read_fixed);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(make_suite)

/* Particle models: YAML models agree with the built-in ones, log densities
 * match reference values (scipy.stats), samplers have the right moments,
 * and every mistake in a model file is reported at its line and column. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/yaml.h"
#include "smc/dist.h"
#include "smc/model.h"

static st_pf_work work;

static st_pf_model *load(const char *text)
{
    st_pf_model *m = NULL;
    st_err e;
    st_err_clear(&e);
    int rc = st_pf_model_load_string(&m, text, "m.yaml", &e);
    ck_assert_msg(rc == 0, "load: %s:%ld:%ld: %s", e.file, e.line, e.col, e.msg);
    return m;
}

/* Load text that must fail; return the error. */
static st_err load_fail(const char *text)
{
    st_pf_model *m = NULL;
    st_err e;
    st_err_clear(&e);
    int rc = st_pf_model_load_string(&m, text, "m.yaml", &e);
    ck_assert_msg(rc < 0, "loaded a bad model:\n%s", text);
    ck_assert_ptr_null(m);
    return e;
}

static const char sv_yaml[] =
    "model: pf\nversion: 1\n"
    "parameters: {mu: -0.5, phi: 0.9, sigma: 0.4}\n"
    "initial: {dist: normal, mean: mu, sd: sigma / sqrt(1 - phi^2)}\n"
    "transition: {dist: normal, mean: mu + phi * (x - mu), sd: sigma}\n"
    "observation: {dist: normal, mean: 0, sd: exp(x / 2)}\n";
static const char sv_builtin[] =
    "model: pf\nversion: 1\nbuiltin: stochastic-volatility\n"
    "parameters: {mu: -0.5, phi: 0.9, sigma: 0.4}\n";

START_TEST(test_yaml_matches_builtin_sv)
{
    st_pf_model *a = load(sv_yaml), *b = load(sv_builtin);
    ck_assert_int_eq(st_pf_model_kind(a), ST_PF_YAML);
    ck_assert_int_eq(st_pf_model_kind(b), ST_PF_STOCHVOL);
    enum { n = 100 };
    double xp[n], xn[n], la[n], lb[n], y = 0.7;
    for (int p = 0; p < n; p++) {
        xp[p] = -3 + 0.06 * p;
        xn[p] = 2 - 0.05 * p;
    }
    st_pf_step s = {4, 5.0, &y, NULL};
    st_err e;
    ck_assert_int_eq(st_pf_model_logtrans(a, &s, xp, n, xn, n, n, la, &work, &e), 0);
    ck_assert_int_eq(st_pf_model_logtrans(b, &s, xp, n, xn, n, n, lb, &work, &e), 0);
    for (int p = 0; p < n; p++) {
        ck_assert_near(la[p], lb[p], 1e-12);
        ck_assert_near(la[p], st_lpdf_normal(xn[p], -0.5 + 0.9 * (xp[p] + 0.5), 0.4), 1e-12);
    }
    memset(la, 0, sizeof la);
    memset(lb, 0, sizeof lb);
    ck_assert_int_eq(st_pf_model_logobs(a, &s, xn, n, n, la, &work, &e), 0);
    ck_assert_int_eq(st_pf_model_logobs(b, &s, xn, n, n, lb, &work, &e), 0);
    for (int p = 0; p < n; p++)
        ck_assert_near(la[p], lb[p], 1e-12);
    double ba, bb;
    ck_assert_int_eq(st_pf_model_trans_bound(a, &s, &ba), 1);
    ck_assert_int_eq(st_pf_model_trans_bound(b, &s, &bb), 1);
    ck_assert_near(ba, bb, 1e-14);
    ck_assert_near(ba, -log(0.4) - 0.5 * log(2 * M_PI), 1e-14);
    /* a missing observation adds nothing */
    double ymiss = NAN;
    st_pf_step sm = {4, 5.0, &ymiss, NULL};
    memset(la, 0, sizeof la);
    ck_assert_int_eq(st_pf_model_logobs(a, &sm, xn, n, n, la, &work, &e), 0);
    ck_assert_near(la[0], 0, 0);
    st_pf_model_free(a);
    st_pf_model_free(b);
}
END_TEST

START_TEST(test_yaml_matches_builtin_growth)
{
    const char *expr =
        "model: pf\nversion: 1\n"
        "initial: {dist: normal, mean: 0, sd: sqrt(5)}\n"
        "transition: {dist: normal, mean: 'x / 2 + 25 * x / (1 + x^2) + 8 * cos(1.2 * t)', sd: sqrt(10)}\n"
        "observation: {dist: normal, mean: x^2 / 20, sd: 1}\n";
    st_pf_model *a = load(expr), *b = load("model: pf\nversion: 1\nbuiltin: growth\n");
    enum { n = 64 };
    double xp[n], xn[n], la[n], lb[n], y = 3.5;
    for (int p = 0; p < n; p++) {
        xp[p] = -20 + 0.6 * p;
        xn[p] = 15 - 0.4 * p;
    }
    st_pf_step s = {6, 7.0, &y, NULL};
    st_err e;
    ck_assert_int_eq(st_pf_model_logtrans(a, &s, xp, n, xn, n, n, la, &work, &e), 0);
    ck_assert_int_eq(st_pf_model_logtrans(b, &s, xp, n, xn, n, n, lb, &work, &e), 0);
    for (int p = 0; p < n; p++)
        ck_assert_near(la[p], lb[p], 1e-11);
    memset(la, 0, sizeof la);
    memset(lb, 0, sizeof lb);
    ck_assert_int_eq(st_pf_model_logobs(a, &s, xn, n, n, la, &work, &e), 0);
    ck_assert_int_eq(st_pf_model_logobs(b, &s, xn, n, n, lb, &work, &e), 0);
    for (int p = 0; p < n; p++)
        ck_assert_near(la[p], lb[p], 1e-11);
    st_pf_model_free(a);
    st_pf_model_free(b);
}
END_TEST

/* One observation distribution at x = 0.5 (unused), value y: log density. */
static double obs_logpdf(const char *dist, double y)
{
    char text[512];
    snprintf(text, sizeof text,
             "model: pf\nversion: 1\ninitial: {dist: normal, mean: 0, sd: 1}\n"
             "transition: {dist: normal, mean: x, sd: 1}\nobservation: %s\n", dist);
    st_pf_model *m = load(text);
    double x = 0.5, lw = 0;
    st_pf_step s = {0, 1.0, &y, NULL};
    st_err e;
    int rc = st_pf_model_logobs(m, &s, &x, 1, 1, &lw, &work, &e);
    ck_assert_msg(rc == 0, "%s", e.msg);
    st_pf_model_free(m);
    return lw;
}

START_TEST(test_log_densities)
{
    /* reference values: scipy.stats logpdf / logpmf */
    ck_assert_near(obs_logpdf("{dist: normal, mean: 0.5, sd: 2}", 1.3), -1.6920857137646181, 1e-12);
    ck_assert_near(obs_logpdf("{dist: student-t, df: 4, loc: 0.5, scale: 2}", 1.3), -1.7720282164548746, 1e-12);
    ck_assert_near(obs_logpdf("{dist: lognormal, meanlog: 0.2, sdlog: 0.7}", 1.3), -0.8285965287156467, 1e-12);
    ck_assert_near(obs_logpdf("{dist: gamma, shape: 2.5, rate: 1.7}", 1.3), -0.7745658461162567, 1e-12);
    ck_assert_near(obs_logpdf("{dist: gamma, shape: 2.5, scale: 1 / 1.7}", 1.3), -0.7745658461162567, 1e-12);
    ck_assert_near(obs_logpdf("{dist: poisson, rate: 2.2}", 3), -1.6263873881352442, 1e-12);
    ck_assert_near(obs_logpdf("{dist: binomial, size: 10, prob: 0.35}", 3), -1.3774550433611665, 1e-12);
    ck_assert_near(obs_logpdf("{dist: negbinomial, size: 2.5, prob: 0.4}", 3), -1.9418320730656171, 1e-12);
    /* mean parameterisation: prob = size / (size + mean) */
    ck_assert_near(obs_logpdf("{dist: negbinomial, size: 2.5, mean: 3.75}", 3), -1.9418320730656171, 1e-12);
    /* outside the support: zero density */
    ck_assert(obs_logpdf("{dist: poisson, rate: 2.2}", 2.5) == -INFINITY);
    ck_assert(obs_logpdf("{dist: lognormal, meanlog: 0, sdlog: 1}", -1) == -INFINITY);
    ck_assert(obs_logpdf("{dist: binomial, size: 3, prob: 0.5}", 4) == -INFINITY);
}
END_TEST

START_TEST(test_mvnormal_and_lg)
{
    /* a full-covariance mvnormal observation equals the linear-gaussian
     * built-in with the same C and R */
    const char *yaml =
        "model: pf\nversion: 1\ndim: 2\nobservations: [a, b]\n"
        "initial: {dist: mvnormal, mean: [0, 0], diag: [1, 1]}\n"
        "transition: {dist: mvnormal, mean: ['0.9 * x[0]', '0.5 * x[0] + 0.3 * x[1]'], cov: [[1, 0.3], [0.3, 2]]}\n"
        "observation: {dist: mvnormal, mean: ['x[0] + x[1]', 'x[1]'], cov: [[2, 0.5], [0.5, 1]]}\n";
    const char *lg =
        "model: pf\nversion: 1\nbuiltin: linear-gaussian\nobservations: [a, b]\n"
        "parameters:\n  A: [[0.9, 0], [0.5, 0.3]]\n  Q: [[1, 0.3], [0.3, 2]]\n"
        "  C: [[1, 1], [0, 1]]\n  R: [[2, 0.5], [0.5, 1]]\n";
    st_pf_model *a = load(yaml), *b = load(lg);
    ck_assert_uint_eq(st_pf_model_dx(b), 2);
    ck_assert_uint_eq(st_pf_model_dy(b), 2);
    ck_assert_str_eq(st_pf_model_yname(a, 1), "b");
    enum { n = 10 };
    double xp[2 * n], xn[2 * n], la[n], lb[n], y[2] = {0.3, -1.2};
    for (int p = 0; p < n; p++) {
        xp[p] = 0.3 * p - 1;
        xp[n + p] = 1 - 0.2 * p;
        xn[p] = 0.1 * p;
        xn[n + p] = -0.15 * p;
    }
    st_pf_step s = {0, 1.0, y, NULL};
    st_err e;
    ck_assert_int_eq(st_pf_model_logtrans(a, &s, xp, n, xn, n, n, la, &work, &e), 0);
    ck_assert_int_eq(st_pf_model_logtrans(b, &s, xp, n, xn, n, n, lb, &work, &e), 0);
    for (int p = 0; p < n; p++)
        ck_assert_near(la[p], lb[p], 1e-12);
    memset(la, 0, sizeof la);
    memset(lb, 0, sizeof lb);
    ck_assert_int_eq(st_pf_model_logobs(a, &s, xn, n, n, la, &work, &e), 0);
    ck_assert_int_eq(st_pf_model_logobs(b, &s, xn, n, n, lb, &work, &e), 0);
    for (int p = 0; p < n; p++)
        ck_assert_near(la[p], lb[p], 1e-12);
    /* closed form at particle 0: residual r = y - C x, R^-1 */
    double r0 = y[0] - (xn[0] + xn[n]), r1 = y[1] - xn[n];
    double det = 2 * 1 - 0.25, q = (1 * r0 * r0 - 2 * 0.5 * r0 * r1 + 2 * r1 * r1) / det;
    ck_assert_near(lb[0], -0.5 * q - 0.5 * log(det) - log(2 * M_PI), 1e-12);
    /* partly missing: both use the marginal of the observed part */
    double ym[2] = {NAN, -1.2};
    st_pf_step s2 = {0, 1.0, ym, NULL};
    memset(la, 0, sizeof la);
    memset(lb, 0, sizeof lb);
    ck_assert_int_eq(st_pf_model_logobs(a, &s2, xn, n, n, la, &work, &e), 0);
    ck_assert_int_eq(st_pf_model_logobs(b, &s2, xn, n, n, lb, &work, &e), 0);
    ck_assert_near(lb[3], st_lpdf_normal(-1.2, xn[n + 3], 1.0), 1e-12);
    ck_assert_near(la[3], lb[3], 1e-12);
    double ym2[2] = {0.3, NAN};
    st_pf_step s3 = {0, 1.0, ym2, NULL};
    memset(la, 0, sizeof la);
    ck_assert_int_eq(st_pf_model_logobs(a, &s3, xn, n, n, la, &work, &e), 0);
    ck_assert_near(la[2], st_lpdf_normal(0.3, xn[2] + xn[n + 2], sqrt(2.0)), 1e-12);
    st_pf_model_free(a);
    st_pf_model_free(b);
}
END_TEST

/* Sample many particles from the transition of a multi-distribution model
 * and compare the sample means with the distributions' means. */
START_TEST(test_sampler_moments)
{
    const char *yaml =
        "model: pf\nversion: 1\ndim: 8\n"
        "initial: {dist: mvnormal, mean: [0, 0, 0, 0, 0, 0, 0, 0], diag: [1, 1, 1, 1, 1, 1, 1, 1]}\n"
        "transition:\n"
        "  - {dist: normal, mean: '2 + 0 * x[0]', sd: 3}\n"
        "  - {dist: student-t, df: 5, loc: 1, scale: 2}\n"
        "  - {dist: lognormal, meanlog: 0.5, sdlog: 0.5}\n"
        "  - {dist: gamma, shape: 3, rate: 2}\n"
        "  - {dist: poisson, rate: 4.5}\n"
        "  - {dist: binomial, size: 12, prob: 0.25}\n"
        "  - {dist: negbinomial, size: 3, prob: 0.4}\n"
        "  - {dist: mvnormal, mean: [-1], cov: [[0.25]]}\n"
        "observation: {dist: normal, mean: 'x[0]', sd: 1}\n";
    st_pf_model *m = load(yaml);
    const double mean[8] = {2, 1, exp(0.5 + 0.125), 1.5, 4.5, 3, 3 * 0.6 / 0.4, -1};
    const double var[8] = {9, 4 * 5.0 / 3, (exp(0.25) - 1) * exp(1 + 0.25), 0.75, 4.5, 12 * 0.25 * 0.75,
                           3 * 0.6 / 0.16, 0.25};
    enum { n = ST_PF_BLOCK, reps = 100 };
    static double xp[8 * n], xn[8 * n];
    double sum[8] = {0};
    st_rng r;
    st_rng_seed(&r, 5);
    st_pf_step s = {1, 2.0, NULL, NULL};
    st_err e;
    for (int k = 0; k < reps; k++) {
        ck_assert_int_eq(st_pf_model_transition(m, &s, xp, n, xn, n, n, &r, &work, &e), 0);
        for (int i = 0; i < 8; i++)
            for (int p = 0; p < n; p++)
                sum[i] += xn[i * n + p];
    }
    double N = (double)n * reps;
    for (int i = 0; i < 8; i++)
        ck_assert_msg(fabs(sum[i] / N - mean[i]) <= 5 * sqrt(var[i] / N), "component %d: mean %g, expected %g", i,
                      sum[i] / N, mean[i]);
    /* counts are integers */
    for (int p = 0; p < n; p++)
        ck_assert_near(xn[4 * n + p], floor(xn[4 * n + p]), 0);
    ck_assert_int_eq(st_pf_model_y_is_count(m, 0), 0);
    st_pf_model_free(m);
}
END_TEST

START_TEST(test_runtime_bad_scale)
{
    /* the sd becomes negative for negative states: an error naming the time
     * step and the expression at its place in the file */
    const char *yaml =
        "model: pf\nversion: 1\n"
        "initial: {dist: normal, mean: 0, sd: 1}\n"
        "transition:\n  dist: normal\n  mean: x\n  sd: 0.5 * x\n"
        "observation: {dist: normal, mean: x, sd: 1}\n";
    st_pf_model *m = load(yaml);
    double xp[2] = {1, -1}, xn[2];
    st_rng r;
    st_rng_seed(&r, 1);
    st_pf_step s = {16, 17.0, NULL, NULL};
    st_err e;
    st_err_clear(&e);
    ck_assert_int_eq(st_pf_model_transition(m, &s, xp, 2, xn, 2, 2, &r, &work, &e), ST_EDATA);
    ck_assert_str_eq(e.file, "m.yaml");
    ck_assert_int_eq(e.line, 7);
    ck_assert_int_eq(e.col, 7);
    ck_assert_ptr_nonnull(strstr(e.msg, "time step 17"));
    ck_assert_ptr_nonnull(strstr(e.msg, "0.5 * x"));
    ck_assert_ptr_nonnull(strstr(e.msg, "not positive"));
    /* the bound is unknown when the scale depends on the state */
    double b;
    ck_assert_int_eq(st_pf_model_trans_bound(m, &s, &b), 0);
    st_pf_model_free(m);
}
END_TEST

/* log f and log g at per-particle parameters (st_pf_work.par) equal the
 * model set to each particle's vector: YAML (expressions over the block),
 * built-in SV (its own code), linear-gaussian (a shadow copy set particle
 * by particle), a YAML full covariance that depends on a parameter; with
 * every particle at the model's values, SV's transition draws the same
 * bits; a vector the model refuses names the particle. */
static void per_particle_case(const char *text, size_t np, const double *lo, const double *hi)
{
    st_pf_model *m = load(text), *one = load(text), *shadow = NULL;
    st_err e;
    ck_assert_uint_eq(st_pf_model_npar(m), np);
    enum { n = 40 };
    size_t dx = st_pf_model_dx(m), dy = st_pf_model_dy(m);
    double *P = malloc(np * n * sizeof *P), xp[4 * n], xn[4 * n], la[n], lb[1], y[4] = {0.3, -0.4, 0.1, 0.2};
    for (size_t k = 0; k < np; k++)
        for (int p = 0; p < n; p++)
            P[k * n + p] = lo[k] + (hi[k] - lo[k]) * (p + 0.5) / n;
    for (size_t i = 0; i < dx; i++)
        for (int p = 0; p < n; p++) {
            xp[i * n + p] = sin(p + 1.0 * i);
            xn[i * n + p] = cos(0.7 * p - 1.0 * i);
        }
    ck_assert_int_eq(st_pf_model_clone(&shadow, m, &e), 0);
    st_pf_step s = {2, 3.0, y, NULL};
    (void)dy;
    static st_pf_work w2;
    for (int op = 0; op < 2; op++) {
        memset(la, 0, sizeof la);
        w2.par = P;
        w2.par_stride = n;
        w2.shadow = shadow;
        int rc = op == 0 ? st_pf_model_logtrans(m, &s, xp, n, xn, n, n, la, &w2, &e)
                         : st_pf_model_logobs(m, &s, xn, n, n, la, &w2, &e);
        ck_assert_msg(rc == 0, "%s", e.msg);
        w2.par = NULL;
        for (int p = 0; p < n; p++) {
            double th[64], x1[4], x0[4];
            for (size_t k = 0; k < np; k++)
                th[k] = P[k * n + p];
            ck_assert_int_eq(st_pf_model_set_pars(one, th, &e), 0);
            for (size_t i = 0; i < dx; i++) {
                x0[i] = xp[i * n + p];
                x1[i] = xn[i * n + p];
            }
            lb[0] = 0;
            if (op == 0)
                ck_assert_int_eq(st_pf_model_logtrans(one, &s, x0, 1, x1, 1, 1, lb, &w2, &e), 0);
            else
                ck_assert_int_eq(st_pf_model_logobs(one, &s, x1, 1, 1, lb, &w2, &e), 0);
            ck_assert_msg(fabs(la[p] - lb[0]) < 1e-12 * (1 + fabs(lb[0])), "%s particle %d: %.17g vs %.17g",
                          op ? "logobs" : "logtrans", p, la[p], lb[0]);
        }
    }
    free(P);
    st_pf_model_free(shadow);
    st_pf_model_free(one);
    st_pf_model_free(m);
}

START_TEST(test_per_particle_parameters)
{
    static const double svlo[3] = {-1, 0.5, 0.1}, svhi[3] = {1, 0.99, 0.8};
    per_particle_case(sv_yaml, 3, svlo, svhi);
    per_particle_case(sv_builtin, 3, svlo, svhi);
    /* linear-gaussian 2 x 1: A (4), Q (3), C (2), R (1), m0 (2), P0 (3) */
    static const double lglo[15] = {0.1, -0.2, 0.0, 0.5, 1.0, 0.1, 0.5, 1.0, 0.2, 0.5, -1, 0, 1, 0, 1};
    static const double lghi[15] = {0.9, 0.2, 0.3, 0.8, 2.0, 0.3, 1.5, 1.5, 0.4, 2.0, 1, 1, 2, 0.2, 2};
    per_particle_case("model: pf\nversion: 1\nbuiltin: linear-gaussian\nparameters:\n"
                      "  A: [[0.9, 0], [0.1, 0.5]]\n  Q: [[1, 0.2], [0.2, 1]]\n  C: [[1, 0.3]]\n  R: [[1]]\n",
                      15, lglo, lghi);
    static const double mvlo[2] = {0.1, 0.5}, mvhi[2] = {0.9, 3};
    per_particle_case("model: pf\nversion: 1\ndim: 2\nobservations: [a, b]\nparameters: {rho: 0.5, v: 1}\n"
                      "initial: {dist: mvnormal, mean: [0, 0], diag: [1, 1]}\n"
                      "transition: {dist: mvnormal, mean: ['rho * x[0]', 'x[1]'], cov: [[v, 'rho * v'], ['rho * v', v]]}\n"
                      "observation: {dist: mvnormal, mean: ['x[0]', 'x[1]'], cov: [[v, 0], [0, '2 * v']]}\n",
                      2, mvlo, mvhi);

    /* SV: every particle at the model's values draws the model's bits */
    st_pf_model *m = load(sv_builtin);
    enum { n = 300 };
    double P[3 * n], xp[n], a[n], b[n];
    for (int p = 0; p < n; p++) {
        P[p] = -0.5;
        P[n + p] = 0.9;
        P[2 * n + p] = 0.4;
        xp[p] = 0.01 * p - 1;
    }
    st_rng r1, r2;
    st_rng_seed(&r1, 5);
    st_rng_seed(&r2, 5);
    st_pf_step s = {1, 2.0, NULL, NULL};
    st_err e;
    static st_pf_work w2;
    ck_assert_int_eq(st_pf_model_transition(m, &s, xp, n, a, n, n, &r1, &w2, &e), 0);
    w2.par = P;
    w2.par_stride = n;
    ck_assert_int_eq(st_pf_model_transition(m, &s, xp, n, b, n, n, &r2, &w2, &e), 0);
    ck_assert_mem_eq(a, b, sizeof a);
    w2.par = NULL;
    st_pf_model_free(m);

    /* a vector the model refuses: a Q that is not positive definite */
    m = load("model: pf\nversion: 1\nbuiltin: linear-gaussian\nparameters:\n"
             "  A: [[0.9, 0], [0.1, 0.5]]\n  Q: [[1, 0.2], [0.2, 1]]\n  C: [[1, 0.3]]\n  R: [[1]]\n");
    st_pf_model *sh = NULL;
    ck_assert_int_eq(st_pf_model_clone(&sh, m, &e), 0);
    double Q[15 * 2], x2[4] = {0, 0, 0, 0}, o2[2];
    for (size_t k = 0; k < 15; k++)
        Q[2 * k] = Q[2 * k + 1] = st_pf_model_par(m, k);
    Q[2 * 5 + 1] = 3; /* Q[1][0] of particle 1 */
    w2.par = Q;
    w2.par_stride = 2;
    w2.shadow = sh;
    ck_assert_int_eq(st_pf_model_logtrans(m, &s, x2, 2, x2, 2, 2, o2, &w2, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "particle 1"));
    ck_assert_ptr_nonnull(strstr(e.msg, "positive definite"));
    w2.shadow = NULL;
    ck_assert_int_eq(st_pf_model_logtrans(m, &s, x2, 2, x2, 2, 2, o2, &w2, &e), ST_EINTERNAL);
    w2.par = NULL;
    st_pf_model_free(sh);
    st_pf_model_free(m);
}
END_TEST

/* A normal with sd = exp(E) takes log sd as E: the density to 1e-12, and
 * the same errors as before when exp(E) is not a positive finite number. */
START_TEST(test_normal_log_scale)
{
    st_pf_model *m = load("model: pf\nversion: 1\nparameters: {a: 0.5}\n"
                          "initial: {dist: normal, mean: 0, sd: 1}\n"
                          "transition: {dist: normal, mean: x, sd: 'exp(a * x)'}\n"
                          "observation: {dist: normal, mean: 'x / 2', sd: 'exp(x * 300)'}\n");
    enum { n = 50 };
    double xp[n], xn[n], out[n], y = 0.25;
    for (int p = 0; p < n; p++) {
        xp[p] = -2 + 0.08 * p;
        xn[p] = 1 - 0.03 * p;
    }
    st_pf_step s = {0, 1.0, &y, NULL};
    st_err e;
    ck_assert_int_eq(st_pf_model_logtrans(m, &s, xp, n, xn, n, n, out, &work, &e), 0);
    for (int p = 0; p < n; p++)
        ck_assert_near(out[p], st_lpdf_normal(xn[p], xp[p], exp(0.5 * xp[p])), 1e-12);
    /* x = 1.5: exp(450) is finite; x = 2.4: exp(720) is not */
    double xs[2] = {1.5, -1.0};
    memset(out, 0, sizeof out);
    ck_assert_int_eq(st_pf_model_logobs(m, &s, xs, 2, 2, out, &work, &e), 0);
    ck_assert_near(out[0], st_lpdf_normal(0.25, 0.75, exp(450)), 1e-9);
    xs[1] = 2.4;
    ck_assert_int_eq(st_pf_model_logobs(m, &s, xs, 2, 2, out, &work, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "is not finite"));
    ck_assert_ptr_nonnull(strstr(e.msg, "particle 1"));
    xs[1] = -2.6; /* exp(-780) = 0 */
    ck_assert_int_eq(st_pf_model_logobs(m, &s, xs, 2, 2, out, &work, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "is not positive"));
    /* a copy evaluates alike after the original is gone */
    st_pf_model *c = NULL;
    ck_assert_int_eq(st_pf_model_clone(&c, m, &e), 0);
    st_pf_model_free(m);
    double o2[n];
    ck_assert_int_eq(st_pf_model_logtrans(c, &s, xp, n, xn, n, n, o2, &work, &e), 0);
    for (int p = 0; p < n; p++)
        ck_assert_near(o2[p], st_lpdf_normal(xn[p], xp[p], exp(0.5 * xp[p])), 1e-12);
    st_pf_model_free(c);
}
END_TEST

/* `priors:`: each kind's log density against its closed form, flat
 * parameters add nothing, a model written with priors reads back the
 * same, and mistakes are located. */
START_TEST(test_priors)
{
    st_pf_model *m = load("model: pf\nversion: 1\n"
                          "parameters: {a: 0.5, b: 0.3, c: 2, d: 1, e: 0.2, f: 0.7, g: 3}\n"
                          "priors:\n"
                          "  a: {dist: normal, mean: 1, sd: 2}\n"
                          "  b: {dist: lognormal, meanlog: -1, sdlog: 0.5}\n"
                          "  c: {dist: gamma, shape: 2, rate: 3}\n"
                          "  d: {dist: half-normal, sd: 1.5}\n"
                          "  e: {dist: beta, shape1: 2, shape2: 5}\n"
                          "  f: {dist: beta, shape1: 20, shape2: 1.5, lower: -1, upper: 1}\n"
                          "initial: {dist: normal, mean: 0, sd: 1}\n"
                          "transition: {dist: normal, mean: a * x, sd: 1}\n"
                          "observation: {dist: normal, mean: x, sd: 1}\n");
    ck_assert_int_eq(st_pf_model_prior(m, 0), ST_PRIOR_NORMAL);
    ck_assert_int_eq(st_pf_model_prior(m, 6), ST_PRIOR_NONE);
    double th[7] = {0.5, 0.3, 2, 1, 0.2, 0.7, 3};
    double want[7] = {st_lpdf_normal(0.5, 1, 2),
                      st_lpdf_normal(log(0.3), -1, 0.5) - log(0.3),
                      2 * log(3.0) - lgamma(2) + log(2.0) - 3 * 2,
                      log(2.0) + st_lpdf_normal(1, 0, 1.5),
                      log(30.0) + log(0.2) + 4 * log(0.8), /* Beta(2, 5): 1 / B = 30 */
                      lgamma(21.5) - lgamma(20) - lgamma(1.5) + 19 * log(0.85) + 0.5 * log(0.15) - log(2.0),
                      0};
    double tot = 0;
    for (int k = 0; k < 7; k++) {
        ck_assert_msg(fabs(st_pf_model_logprior1(m, (size_t)k, th[k]) - want[k]) < 1e-12, "prior %d: %.15g vs %.15g",
                      k, st_pf_model_logprior1(m, (size_t)k, th[k]), want[k]);
        tot += want[k];
    }
    ck_assert_near(st_pf_model_logprior(m, th), tot, 1e-12);
    th[1] = -0.1; /* outside the lognormal's support */
    ck_assert(isinf(st_pf_model_logprior(m, th)));
    /* written and read back */
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    st_yw w;
    st_yw_init(&w, fp);
    st_err e;
    ck_assert_int_eq(st_pf_model_write(m, &w, &e), 0);
    ck_assert_int_eq(st_yw_finish(&w, &e), 0);
    fclose(fp);
    st_pf_model *m2 = load(buf);
    th[1] = 0.3;
    ck_assert_near(st_pf_model_logprior(m2, th), tot, 1e-12);
    free(buf);
    st_pf_model_free(m2);
    st_pf_model_free(m);
    /* built-in models take priors on their parameter names */
    m = load("model: pf\nversion: 1\nbuiltin: stochastic-volatility\nparameters: {mu: 0, phi: 0.9, sigma: 0.3}\n"
             "priors: {sigma: {dist: half-normal, sd: 1}}\n");
    ck_assert_int_eq(st_pf_model_prior(m, 2), ST_PRIOR_HALFNORMAL);
    st_pf_model_free(m);
    static const struct {
        const char *priors, *msg;
    } bad[] = {
        {"priors: {z: {dist: normal, mean: 0, sd: 1}}", "prior on 'z', which is not a parameter"},
        {"priors: {a: {dist: cauchy}}", "cauchy"},
        {"priors: {a: {dist: normal, mean: 0}}", "needs 'sd'"},
        {"priors: {a: {dist: normal, mean: 0, sd: -1}}", "sd"},
        {"priors: {a: {dist: uniform, lower: 1, upper: 0}}", "lower < upper"},
        {"priors: {a: {dist: gamma, shape: 1, rate: 1}}", "zero density under its prior"},
        {"priors: {a: {dist: normal, mean: 0, sd: 1, df: 3}}", "df"},
        {"priors: [a]", "mapping"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "model: pf\nversion: 1\nparameters: {a: -0.5}\n%s\ninitial: {dist: normal, mean: 0, sd: 1}\n"
                 "transition: {dist: normal, mean: a * x, sd: 1}\nobservation: {dist: normal, mean: x, sd: 1}\n",
                 bad[i].priors);
        st_err le = load_fail(text);
        ck_assert_msg(strstr(le.msg, bad[i].msg) != NULL, "'%s': %s", bad[i].priors, le.msg);
        ck_assert_int_eq(le.line, 4);
    }
}
END_TEST

START_TEST(test_load_errors)
{
    st_err e;
    /* syntax error: line 5, the scalar starts at column 9, '*' at offset 7 */
    e = load_fail("model: pf\nversion: 1\ninitial: {dist: normal, mean: 0, sd: 1}\n"
                  "transition:\n  mean: x + * 2\n  dist: normal\n  sd: 1\n"
                  "observation: {dist: normal, mean: x, sd: 1}\n");
    ck_assert_int_eq(e.line, 5);
    ck_assert_int_eq(e.col, 13);
    ck_assert_ptr_nonnull(strstr(e.msg, "unexpected '*'"));
    /* a quoted scalar: the column counts from inside the quotes */
    e = load_fail("model: pf\nversion: 1\ninitial: {dist: normal, mean: 0, sd: 1}\n"
                  "transition:\n  mean: \"x + zz\"\n  dist: normal\n  sd: 1\n"
                  "observation: {dist: normal, mean: x, sd: 1}\n");
    ck_assert_int_eq(e.line, 5);
    ck_assert_int_eq(e.col, 14);
    ck_assert_ptr_nonnull(strstr(e.msg, "unknown variable 'zz'"));
    /* x in the initial distribution */
    e = load_fail("model: pf\nversion: 1\ninitial: {dist: normal, mean: x, sd: 1}\n"
                  "transition: {dist: normal, mean: x, sd: 1}\nobservation: {dist: normal, mean: x, sd: 1}\n");
    ck_assert_int_eq(e.line, 3);
    ck_assert_ptr_nonnull(strstr(e.msg, "no previous state"));
    /* wrong dimensions */
    e = load_fail("model: pf\nversion: 1\ndim: 2\ninitial: {dist: normal, mean: 0, sd: 1}\n"
                  "transition: {dist: normal, mean: 'x[0]', sd: 1}\nobservation: {dist: normal, mean: 'x[0]', sd: 1}\n");
    ck_assert_ptr_nonnull(strstr(e.msg, "has 2"));
    e = load_fail("model: pf\nversion: 1\ninitial: {dist: normal, mean: 0, sd: 1}\n"
                  "transition: {dist: normal, mean: 'x[1]', sd: 1}\nobservation: {dist: normal, mean: x, sd: 1}\n");
    ck_assert_ptr_nonnull(strstr(e.msg, "out of range"));
    /* unknown distribution, missing argument, unknown key */
    e = load_fail("model: pf\nversion: 1\ninitial: {dist: cauchy, mean: 0, sd: 1}\n"
                  "transition: {dist: normal, mean: x, sd: 1}\nobservation: {dist: normal, mean: x, sd: 1}\n");
    ck_assert_int_eq(e.line, 3);
    e = load_fail("model: pf\nversion: 1\ninitial: {dist: normal, mean: 0}\n"
                  "transition: {dist: normal, mean: x, sd: 1}\nobservation: {dist: normal, mean: x, sd: 1}\n");
    ck_assert_ptr_nonnull(strstr(e.msg, "'sd'"));
    e = load_fail("model: pf\nversion: 1\ninitial: {dist: normal, mean: 0, sd: 1, sigma: 2}\n"
                  "transition: {dist: normal, mean: x, sd: 1}\nobservation: {dist: normal, mean: x, sd: 1}\n");
    ck_assert_ptr_nonnull(strstr(e.msg, "sigma"));
    /* a full covariance may not depend on the state */
    e = load_fail("model: pf\nversion: 1\ninitial: {dist: normal, mean: 0, sd: 1}\n"
                  "transition: {dist: mvnormal, mean: [x], cov: [[exp(x)]]}\nobservation: {dist: normal, mean: x, sd: 1}\n");
    ck_assert_ptr_nonnull(strstr(e.msg, "may not depend"));
    /* reserved parameter names, built-in parameter checks */
    e = load_fail("model: pf\nversion: 1\nparameters: {t: 1}\ninitial: {dist: normal, mean: 0, sd: 1}\n"
                  "transition: {dist: normal, mean: x, sd: 1}\nobservation: {dist: normal, mean: x, sd: 1}\n");
    ck_assert_ptr_nonnull(strstr(e.msg, "reserved"));
    e = load_fail("model: pf\nversion: 1\nbuiltin: stochastic-volatility\nparameters: {phi: 1.5}\n");
    ck_assert_int_eq(e.line, 4);
    e = load_fail("model: pf\nversion: 1\nbuiltin: stochastic-volatility\nparameters: {rho: 0.5}\n");
    ck_assert_ptr_nonnull(strstr(e.msg, "rho"));
    e = load_fail("model: pf\nversion: 1\nbuiltin: linear-gaussian\nparameters: {A: [[1]], Q: [[-1]], C: [[1]], R: [[1]]}\n");
    ck_assert_ptr_nonnull(strstr(e.msg, "positive definite"));
    e = load_fail("model: pf\nversion: 1\nbuiltin: linear-gaussian\nparameters: {A: [[1, 0]], Q: [[1]], C: [[1]], R: [[1]]}\n");
    ck_assert_ptr_nonnull(strstr(e.msg, "square"));
    e = load_fail("model: hmm\nversion: 1\n");
    ck_assert_int_ge(e.line, 1);
}
END_TEST

START_TEST(test_covariates_and_names)
{
    const char *yaml =
        "model: pf\nversion: 1\nstates: [level]\ncovariates: [u]\nobservations: [y]\n"
        "parameters: {beta: 2}\n"
        "initial: {dist: normal, mean: u, sd: 1}\n"
        "transition: {dist: normal, mean: level_is_x_here_no, sd: 1}\n"
        "observation: {dist: normal, mean: x + beta * u, sd: 1}\n";
    st_err e = load_fail(yaml);
    ck_assert_ptr_nonnull(strstr(e.msg, "unknown variable 'level_is_x_here_no'"));
    const char *ok =
        "model: pf\nversion: 1\nstates: [level]\ncovariates: [u]\nobservations: [y]\n"
        "parameters: {beta: 2}\n"
        "initial: {dist: normal, mean: u, sd: 1}\n"
        "transition: {dist: normal, mean: x, sd: 1}\n"
        "observation: {dist: normal, mean: x + beta * u, sd: 1}\n";
    st_pf_model *m = load(ok);
    ck_assert_str_eq(st_pf_model_xname(m, 0), "level");
    ck_assert_str_eq(st_pf_model_covname(m, 0), "u");
    ck_assert_uint_eq(st_pf_model_ncov(m), 1);
    double x = 1, y = 4, u = 1.5, lw = 0;
    st_pf_step s = {0, 1, &y, &u};
    st_err e2;
    ck_assert_int_eq(st_pf_model_logobs(m, &s, &x, 1, 1, &lw, &work, &e2), 0);
    ck_assert_near(lw, st_lpdf_normal(4, 1 + 3, 1), 1e-14);
    st_pf_model_free(m);
}
END_TEST


/* ------------------------------------------------------------ gradients */

/* Central difference of f at x in coordinate i (h relative). */
#define FD_REL 1e-6

START_TEST(test_distribution_gradients)
{
    /* digamma against differences of lgamma */
    for (double x = 0.05; x < 40; x *= 1.7) {
        double h = 1e-5 * x;
        ck_assert_near(st_digamma(x), (lgamma(x + h) - lgamma(x - h)) / (2 * h), 1e-7 * fmax(1, fabs(st_digamma(x))));
    }
    ck_assert_near(st_digamma(1), -0.57721566490153286, 1e-13);
    /* each log density's gradient against central differences in each argument */
    struct {
        int kind;
        double v, a[3];
    } cases[] = {
        {0, 0.3, {-0.2, 1.7}},  {0, -2.5, {1.0, 0.4}},       {1, 0.8, {3.5, -0.1, 0.7}}, {1, -4, {1.2, 0.5, 2}},
        {2, 1.7, {0.1, 0.6}},   {3, 2.2, {1.8, 0.9}},         {3, 0.05, {0.6, 2.5}},      {4, 3, {2.5}},
        {4, 0, {0.7}},          {5, 4, {10, 0.3}},            {6, 7, {2.5, 0.4}},         {6, 0, {0.8, 0.9}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int na = cases[c].kind == 4 ? 1 : cases[c].kind == 1 ? 3 : 2;
        double g[3], a[3];
        memcpy(a, cases[c].a, sizeof a);
#define LP(A)                                                                                         \
    (cases[c].kind == 0   ? st_lpdf_normal(cases[c].v, (A)[0], (A)[1])                                \
     : cases[c].kind == 1 ? st_lpdf_student(cases[c].v, (A)[0], (A)[1], (A)[2])                      \
     : cases[c].kind == 2 ? st_lpdf_lognormal(cases[c].v, (A)[0], (A)[1])                            \
     : cases[c].kind == 3 ? st_lpdf_gamma(cases[c].v, (A)[0], (A)[1])                                \
     : cases[c].kind == 4 ? st_lpmf_poisson(cases[c].v, (A)[0])                                      \
     : cases[c].kind == 5 ? st_lpmf_binomial(cases[c].v, (A)[0], (A)[1])                             \
                          : st_lpmf_negbinomial(cases[c].v, (A)[0], (A)[1]))
        double v;
        switch (cases[c].kind) {
        case 0: v = st_dlpdf_normal(cases[c].v, a[0], a[1], g); break;
        case 1: v = st_dlpdf_student(cases[c].v, a[0], a[1], a[2], g); break;
        case 2: v = st_dlpdf_lognormal(cases[c].v, a[0], a[1], g); break;
        case 3: v = st_dlpdf_gamma(cases[c].v, a[0], a[1], g); break;
        case 4: v = st_dlpmf_poisson(cases[c].v, a[0], g); break;
        case 5: v = st_dlpmf_binomial(cases[c].v, a[0], a[1], g); break;
        default: v = st_dlpmf_negbinomial(cases[c].v, a[0], a[1], g); break;
        }
        ck_assert_msg(v == LP(a), "case %zu: value", c);
        for (int i = 0; i < na; i++) {
            double up[3], dn[3], h = FD_REL * fmax(1, fabs(a[i]));
            memcpy(up, a, sizeof up);
            memcpy(dn, a, sizeof dn);
            up[i] += h;
            dn[i] -= h;
            double fd = (LP(up) - LP(dn)) / (2 * h);
            ck_assert_msg(fabs(g[i] - fd) < 1e-6 * fmax(1, fabs(fd)), "case %zu (kind %d), argument %d: %.10g vs %.10g", c,
                          cases[c].kind, i, g[i], fd);
        }
#undef LP
    }
    /* outside the support: log density -Inf, gradient 0 (not NaN) */
    double g[3];
    ck_assert(st_dlpdf_lognormal(-1, 0, 1, g) == -INFINITY && g[0] == 0 && g[1] == 0);
    ck_assert(st_dlpmf_poisson(2.5, 1, g) == -INFINITY && g[0] == 0);
    ck_assert(st_dlpmf_binomial(11, 10, 0.5, g) == -INFINITY && g[0] == 0 && g[1] == 0);
}
END_TEST

/* Check d/dtheta of log mu, log f and log g of model m against central
 * differences through st_pf_model_set_pars, on n particles X (current)
 * and Xp (previous), dx components each (stride n), at observation y. */
static void check_model_gradients(st_pf_model *m, const double *X, const double *Xp, size_t n, const double *y,
                                  const char *what)
{
    size_t np = st_pf_model_npar(m), dx = st_pf_model_dx(m);
    ck_assert_msg(np > 0 && np <= 64, "%s: %zu parameters", what, np);
    double th[64], cov[4] = {0.5, -1, 2, 0};
    for (size_t k = 0; k < np; k++)
        th[k] = st_pf_model_par(m, k);
    st_pf_step s = {3, 4.0, y, cov};
    st_pf_gwork *gw = NULL;
    st_err e;
    ck_assert_int_eq(st_pf_gwork_new(&gw, m, &e), 0);
    static double g[3][64 * ST_PF_BLOCK];
    memset(g, 0, sizeof g);
    ck_assert_msg(st_pf_model_dinit(m, &s, X, n, n, g[0], &work, gw, &e) == 0, "%s: %s", what, e.msg);
    ck_assert_msg(st_pf_model_dtrans(m, &s, Xp, n, X, n, n, g[1], &work, gw, &e) == 0, "%s: %s", what, e.msg);
    ck_assert_msg(st_pf_model_dobs(m, &s, X, n, n, g[2], &work, gw, &e) == 0, "%s: %s", what, e.msg);
    for (size_t k = 0; k < np; k++) {
        double f[2][3][ST_PF_BLOCK], h = FD_REL * fmax(1, fabs(th[k]));
        for (int sgn = 0; sgn < 2; sgn++) {
            double t2[64];
            memcpy(t2, th, sizeof t2);
            t2[k] += sgn ? -h : h;
            ck_assert_msg(st_pf_model_set_pars(m, t2, &e) == 0, "%s: set %s: %s", what, st_pf_model_parname(m, k), e.msg);
            ck_assert_int_eq(st_pf_model_loginit(m, &s, X, n, n, f[sgn][0], &work, &e), 0);
            ck_assert_int_eq(st_pf_model_logtrans(m, &s, Xp, n, X, n, n, f[sgn][1], &work, &e), 0);
            for (size_t p = 0; p < n; p++)
                f[sgn][2][p] = 0;
            ck_assert_int_eq(st_pf_model_logobs(m, &s, X, n, n, f[sgn][2], &work, &e), 0);
        }
        for (int part = 0; part < 3; part++)
            for (size_t p = 0; p < n; p++) {
                double fd = (f[0][part][p] - f[1][part][p]) / (2 * h), an = g[part][k * ST_PF_BLOCK + p];
                /* truncation, plus the rounding of f over 2h */
                double tol = 2e-6 * fmax(1, fabs(fd)) + 8 * DBL_EPSILON * fabs(f[0][part][p]) / h;
                ck_assert_msg(fabs(an - fd) < tol, "%s: d/d%s of %s at particle %zu: %.10g vs %.10g",
                              what, st_pf_model_parname(m, k), part == 0 ? "log mu" : part == 1 ? "log f" : "log g", p,
                              an, fd);
            }
    }
    ck_assert_int_eq(st_pf_model_set_pars(m, th, &e), 0);
    st_pf_gwork_free(gw);
    (void)dx;
}

START_TEST(test_model_gradients)
{
    enum { n = 5 };
    /* one state component, then several */
    double X1[n] = {-0.4, 0.3, 1.1, 0.05, 2.0}, P1[n] = {0.2, -0.7, 0.9, 0.4, 1.5};
    double X4[4 * n], P4[4 * n];
    for (int i = 0; i < 4 * n; i++) {
        X4[i] = 0.3 * sin(1.7 * i) + 0.1 * i;
        P4[i] = 0.4 * cos(0.9 * i) - 0.05 * i;
    }
    double y1[1] = {0.7}, ycount[1] = {3}, y3[3] = {0.4, NAN, -0.2}, y3full[3] = {0.4, 1.1, -0.2};
    st_pf_model *m;
    /* built-in models */
    m = load(sv_builtin);
    check_model_gradients(m, X1, P1, n, y1, "builtin SV");
    st_pf_model_free(m);
    m = load("model: pf\nversion: 1\nbuiltin: growth\nparameters: {var_v: 2, var_w: 0.5, var0: 3}\n");
    check_model_gradients(m, X1, P1, n, y1, "builtin growth");
    st_pf_model_free(m);
    m = load("model: pf\nversion: 1\nbuiltin: bearings-only\nparameters: {q: 0.2, r: 0.3}\n");
    check_model_gradients(m, X4, P4, n, y1, "builtin bearings");
    st_pf_model_free(m);
    m = load("model: pf\nversion: 1\nbuiltin: linear-gaussian\nparameters:\n"
             "  A: [[0.8, 0.1], [-0.2, 0.5]]\n  Q: [[0.6, 0.2], [0.2, 0.9]]\n"
             "  C: [[1, 0.5], [0.3, -1], [0, 2]]\n  R: [[1, 0.3, 0.1], [0.3, 0.8, 0], [0.1, 0, 1.5]]\n"
             "  m0: [0.2, -0.1]\n  P0: [[2, 0.4], [0.4, 1]]\n");
    ck_assert_int_eq(st_pf_model_npar(m), 4 + 3 + 6 + 6 + 2 + 3);
    ck_assert_str_eq(st_pf_model_parname(m, 5), "Q[1][0]");
    check_model_gradients(m, X4, P4, n, y3, "builtin LG (one observation missing)");
    check_model_gradients(m, X4, P4, n, y3full, "builtin LG");
    st_pf_model_free(m);
    /* YAML models: every distribution, parameters inside the arguments */
    m = load(sv_yaml);
    check_model_gradients(m, X1, P1, n, y1, "YAML SV");
    st_pf_model_free(m);
    m = load("model: pf\nversion: 1\nparameters: {a: 0.7, b: 1.3, nu: 4.5, c: 0.4}\n"
             "initial: {dist: student-t, df: nu, loc: a, scale: b}\n"
             "transition: {dist: student-t, df: nu + c, loc: a * x, scale: b * exp(c * x)}\n"
             "observation: {dist: lognormal, meanlog: a * x, sdlog: b}\n");
    check_model_gradients(m, X1, P1, n, y1, "YAML student-t, lognormal");
    st_pf_model_free(m);
    double Xpos[n] = {0.4, 1.3, 2.1, 0.05, 3.0};
    m = load("model: pf\nversion: 1\nparameters: {k: 2.5, r: 1.3, s: 0.6}\n"
             "initial: {dist: gamma, shape: k, rate: r}\n"
             "transition: {dist: gamma, shape: k + s * x, scale: s}\n"
             "observation: {dist: poisson, rate: r * x}\n");
    check_model_gradients(m, Xpos, Xpos, n, ycount, "YAML gamma, poisson");
    st_pf_model_free(m);
    m = load("model: pf\nversion: 1\nparameters: {a: 0.3, size: 5, mu: 1.5}\n"
             "initial: {dist: normal, mean: mu, sd: 1}\n"
             "transition: {dist: normal, mean: a * x, sd: 1}\n"
             "observation: {dist: negbinomial, size: size, mean: mu * exp(a * x)}\n");
    check_model_gradients(m, X1, P1, n, ycount, "YAML negbinomial (mean)");
    st_pf_model_free(m);
    m = load("model: pf\nversion: 1\nparameters: {a: 0.3, size: 5, n: 12}\n"
             "initial: {dist: normal, mean: a, sd: 1}\n"
             "transition: {dist: normal, mean: a * x, sd: 1}\n"
             "observation: [{dist: negbinomial, size: size, prob: logistic(a + x)}]\n");
    check_model_gradients(m, X1, P1, n, ycount, "YAML negbinomial (prob)");
    st_pf_model_free(m);
    m = load("model: pf\nversion: 1\nparameters: {a: 0.3, n: 12}\n"
             "initial: {dist: normal, mean: a, sd: 1}\n"
             "transition: {dist: normal, mean: a * x, sd: 1}\n"
             "observation: {dist: binomial, size: 12, prob: logistic(a * x)}\n");
    check_model_gradients(m, X1, P1, n, ycount, "YAML binomial");
    st_pf_model_free(m);
    /* mvnormal: diagonal and full covariances, a missing component */
    m = load("model: pf\nversion: 1\ndim: 2\nobservations: [u, v, w]\n"
             "parameters: {a: 0.5, b: 0.8, r: 0.3, s: 1.2}\n"
             "initial: {dist: mvnormal, mean: [a, b], diag: [s, s * b]}\n"
             "transition: {dist: mvnormal, mean: ['a * x[0] + b * x[1]', 'b * x[1]'], cov: [[s, r], [r, s * b]]}\n"
             "observation:\n  - {dist: mvnormal, mean: ['x[0]', 'a * x[1]'], cov: [[s, r], [r, 1]]}\n"
             "  - {dist: normal, mean: 'x[0] + x[1]', sd: s}\n");
    check_model_gradients(m, X4, P4, n, y3, "YAML mvnormal (missing component)");
    check_model_gradients(m, X4, P4, n, y3full, "YAML mvnormal");
    st_pf_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("smc_model");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, test_yaml_matches_builtin_sv);
    tcase_add_test(tc, test_yaml_matches_builtin_growth);
    tcase_add_test(tc, test_log_densities);
    tcase_add_test(tc, test_mvnormal_and_lg);
    tcase_add_test(tc, test_sampler_moments);
    tcase_add_test(tc, test_runtime_bad_scale);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_covariates_and_names);
    tcase_add_test(tc, test_distribution_gradients);
    tcase_add_test(tc, test_model_gradients);
    tcase_add_test(tc, test_per_particle_parameters);
    tcase_add_test(tc, test_normal_log_scale);
    tcase_add_test(tc, test_priors);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(make_suite)

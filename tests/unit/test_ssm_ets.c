/* ETS (lib/ssm/ets.c): the likelihood against a recursion written out
 * by hand, the exact gradient against central differences for every
 * model, the Schur-Cohn admissibility test against the eigenvalues of the
 * companion matrix, closed-form forecast variances (Hyndman et al. 2008,
 * ch. 6), fits that reach at least the likelihood of the parameters that
 * generated the data, the automatic choice's restrictions, and seeded
 * simulated intervals. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/linalg.h"
#include "core/rng.h"
#include "ssm/ets.h"

static const char *const ALL[] = {"ANN", "AAN", "AAdN", "ANA", "AAA", "AAdA", "MNN", "MAN", "MAdN",
                                  "MNA", "MAA", "MAdA", "MNM", "MAM", "MAdM", "ANM", "AAM", "AAdM"};

static st_ets_model model(const char *code, int m)
{
    st_ets_model mod;
    st_err e;
    ck_assert_msg(st_ets_parse_code(code, m, &mod, &e) == 0, "%s", e.msg);
    return mod;
}

/* a positive quarterly series with trend, season, noise and one gap */
static void series(double *y, size_t n)
{
    for (size_t t = 0; t < n; t++)
        y[t] = 50 + 0.3 * (double)t + 8 * sin(2 * M_PI * (double)t / 4) + 3 * cos(1.7 * (double)t) + (t % 7 == 3 ? 2 : 0);
    y[17] = NAN;
}

static void par_for(const st_ets_model *mod, st_ets_par *p)
{
    memset(p, 0, sizeof *p);
    p->alpha = 0.3, p->beta = 0.05, p->gamma = 0.2, p->phi = 0.9, p->l = 50, p->b = 0.4;
    const double sa[3] = {6, -1, -8}, sm[3] = {1.15, 0.98, 0.85};
    for (int k = 0; k < 3; k++)
        p->s[k] = mod->season == ST_ETS_M ? sm[k] : sa[k];
    st_ets_complete_season(mod, p);
}

START_TEST(test_lik_by_hand)
{
    /* ETS(A,N,N) = simple exponential smoothing: e_t = y_t - l, l += alpha e;
     * ETS(M,N,N): the same level, e relative, lik + 2 sum log l */
    double y[12] = {10, 12, 11, NAN, 13, 12, 14, 13, 15, 16, 14, 15};
    st_ets_par p = {0};
    p.alpha = 0.4, p.l = 10.5;
    double sse = 0, srel = 0, slog = 0, l = p.l;
    size_t k = 0;
    for (int t = 0; t < 12; t++) {
        if (!isnan(y[t])) {
            double e = y[t] - l;
            sse += e * e, srel += e * e / (l * l), slog += log(l), k++;
            l += p.alpha * e;
        }
    }
    double lik, s2;
    size_t nobs;
    st_ets_model a = model("ANN", 1), m = model("MNN", 1);
    st_ets_lik(&a, &p, y, 12, &lik, &nobs, &s2);
    ck_assert_int_eq((int)nobs, 11);
    ck_assert_rel(lik, (double)k * log(sse), 1e-13);
    st_ets_lik(&m, &p, y, 12, &lik, &nobs, &s2);
    ck_assert_rel(lik, (double)k * log(srel) + 2 * slog, 1e-13);
    /* the gradient pass computes the same value */
    ck_assert_rel(st_ets_lik_grad(&m, &p, y, 12, NULL), lik, 1e-12);
    /* reported log-likelihood: R's -lik/2 minus n/2 (1 + log(2 pi / n)) */
    st_ets_fit f;
    st_err e;
    ck_assert_int_eq(st_ets_evaluate(&m, &p, y, 12, &f, &e), 0);
    ck_assert_rel(f.loglik, -0.5 * lik - 5.5 * (1 + log(2 * M_PI / 11)), 1e-13);
    ck_assert_int_eq((int)f.npar, 3); /* alpha, l, sigma */
    ck_assert_rel(f.sigma2, srel / (11 - 2), 1e-13);
}
END_TEST

START_TEST(test_gradient)
{
    double y[60];
    series(y, 60);
    for (size_t c = 0; c < sizeof ALL / sizeof ALL[0]; c++) {
        st_ets_model mod = model(ALL[c], 4);
        st_ets_par p;
        par_for(&mod, &p);
        double g[32];
        double J = st_ets_lik_grad(&mod, &p, y, 60, g);
        ck_assert_msg(isfinite(J), "%s", ALL[c]);
        double *v[32];
        int np = 0;
        v[np++] = &p.alpha;
        if (mod.trend)
            v[np++] = &p.beta;
        if (mod.season)
            v[np++] = &p.gamma;
        if (mod.damped)
            v[np++] = &p.phi;
        v[np++] = &p.l;
        if (mod.trend)
            v[np++] = &p.b;
        for (int k = 0; k < 3 && mod.season; k++)
            v[np++] = &p.s[k];
        ck_assert_int_eq(np, (int)(st_ets_nsmooth(&mod) + st_ets_nstates(&mod)));
        for (int i = 0; i < np; i++) {
            double x = *v[i], h = 1e-6 * fmax(fabs(x), 1e-2);
            *v[i] = x + h;
            double fp = st_ets_lik_grad(&mod, &p, y, 60, NULL);
            *v[i] = x - h;
            double fm = st_ets_lik_grad(&mod, &p, y, 60, NULL);
            *v[i] = x;
            double num = (fp - fm) / (2 * h) / 59; /* gradient of lik / n_obs */
            ck_assert_msg(fabs(num - g[i]) <= 1e-5 * fmax(fabs(num), 1e-3), "%s parameter %d: %g vs %g", ALL[c], i, g[i], num);
        }
    }
}
END_TEST

/* all eigenvalues of the companion matrix of z^d + c1 z^(d-1) + ... + cd
 * within rho */
static int roots_within(const double *c, int d, double rho)
{
    double A[32 * 32], wr[32], wi[32];
    memset(A, 0, sizeof A);
    for (int j = 0; j < d; j++)
        A[j] = -c[j + 1];
    for (int i = 1; i < d; i++)
        A[i * d + i - 1] = 1;
    st_err e;
    ck_assert_int_eq(st_eigen_general(A, (size_t)d, wr, wi, NULL, &e), 0);
    for (int i = 0; i < d; i++)
        if (hypot(wr[i], wi[i]) > rho)
            return 0;
    return 1;
}

START_TEST(test_admissible_roots)
{
    /* random smoothing parameters in the usual region of AAdA (m = 4 and
     * 12): the admissibility decision equals one made from the companion
     * matrix's eigenvalues, except within 1e-6 of the unit circle */
    st_rng r;
    st_rng_seed(&r, 5);
    int agree = 0, inside = 0, outside = 0;
    for (int it = 0; it < 4000; it++) {
        int m = it % 2 ? 12 : 4;
        st_ets_model mod = model("AAdA", m);
        st_ets_par p = {0};
        p.alpha = 1e-4 + st_rng_uniform(&r) * (0.9999 - 1e-4);
        p.beta = 1e-4 + st_rng_uniform(&r) * (p.alpha - 1e-4);
        p.gamma = 1e-4 + st_rng_uniform(&r) * (1 - p.alpha - 1e-4);
        p.phi = 0.8 + 0.18 * st_rng_uniform(&r);
        double a = p.alpha, b = p.beta, g = p.gamma, phi = p.phi, c[32];
        c[0] = 1;
        c[1] = a + b - phi;
        for (int i = 0; i < m - 2; i++)
            c[2 + i] = a + b - a * phi;
        c[m] = a + b - a * phi + g - 1;
        c[m + 1] = phi * (1 - a - g);
        int lin = g >= fmax(1 - 1 / phi - a, 0) && g <= 1 + 1 / phi - a &&
                  a >= 1 - 1 / phi - g * (1 - m + phi + phi * m) / (2 * phi * m) && b >= -(1 - phi) * (g / m + a);
        int want_in = lin && roots_within(c, m + 1, 1 + 1e-6), want_out = !lin || !roots_within(c, m + 1, 1 - 1e-6);
        int got = st_ets_admissible(&mod, &p);
        if (want_in && want_out)
            continue; /* on the boundary within the tolerance */
        agree += got == want_in;
        inside += got;
        outside += !got;
    }
    ck_assert_int_eq(agree, inside + outside);
    ck_assert_msg(inside > 100 && outside > 100, "inside %d outside %d", inside, outside);
}
END_TEST

START_TEST(test_forecast_variances)
{
    /* closed forms of Hyndman et al. (2008, table 6.1 and sec. 6.4) */
    double y[40];
    series(y, 40);
    y[17] = 60;
    st_err e;
    st_ets_fit f;
    const double lv[1] = {95};
    double mean[10], var[10], lo[10], hi[10];
    /* ANN: sigma2 (1 + (h-1) alpha^2); the mean is the last level */
    st_ets_model mod = model("ANN", 1);
    ck_assert_int_eq(st_ets_fit_model(&mod, y, 40, &f, &e), 0);
    ck_assert_int_eq(st_ets_forecast(&f, y, 40, 10, lv, 1, 1, 0, 0, mean, var, lo, hi, &e), 0);
    st_ets_par x;
    st_ets_final_state(&f, y, 40, &x);
    for (int h = 1; h <= 10; h++) {
        ck_assert_rel(mean[h - 1], x.l, 1e-12);
        ck_assert_rel(var[h - 1], f.sigma2 * (1 + (h - 1) * f.par.alpha * f.par.alpha), 1e-12);
        ck_assert_rel(hi[h - 1] - mean[h - 1], 1.959963984540054 * sqrt(var[h - 1]), 1e-12);
    }
    /* AAdN: c_j = alpha + beta phi (1 - phi^j) / (1 - phi) */
    mod = model("AAdN", 1);
    ck_assert_int_eq(st_ets_fit_model(&mod, y, 40, &f, &e), 0);
    ck_assert_int_eq(st_ets_forecast(&f, y, 40, 10, lv, 1, 1, 0, 0, mean, var, lo, hi, &e), 0);
    st_ets_final_state(&f, y, 40, &x);
    double a = f.par.alpha, b = f.par.beta, phi = f.par.phi, acc = 0, ps = 0;
    for (int h = 1; h <= 10; h++) {
        ps += pow(phi, h);
        ck_assert_rel(mean[h - 1], x.l + ps * x.b, 1e-12);
        ck_assert_rel(var[h - 1], f.sigma2 * (1 + acc), 1e-10);
        double cj = a + b * phi * (1 - pow(phi, h)) / (1 - phi);
        acc += cj * cj;
    }
    /* MNN: v_h = l^2 [(1 + alpha^2 s2)^(h-1) (1 + s2) - 1] */
    mod = model("MNN", 1);
    ck_assert_int_eq(st_ets_fit_model(&mod, y, 40, &f, &e), 0);
    ck_assert_int_eq(st_ets_forecast(&f, y, 40, 10, lv, 1, 1, 0, 0, mean, var, lo, hi, &e), 0);
    st_ets_final_state(&f, y, 40, &x);
    double s2 = f.sigma2;
    for (int h = 1; h <= 10; h++)
        ck_assert_rel(var[h - 1], x.l * x.l * (pow(1 + f.par.alpha * f.par.alpha * s2, h - 1) * (1 + s2) - 1), 1e-10);
}
END_TEST

/* ETS(M,A,M) data from known parameters */
static void simulate_mam(double *y, size_t n, uint64_t seed)
{
    st_rng r;
    st_rng_seed(&r, seed);
    double l = 100, b = 1, s[4] = {1.2, 0.9, 0.8, 1.1}, a = 0.3, be = 0.05, g = 0.1, sd = 0.03;
    for (size_t t = 0; t < n; t++) {
        double st = s[t % 4], f = (l + b) * st, e = sd * st_rng_normal(&r);
        y[t] = f * (1 + e);
        double q = l + b;
        l = q * (1 + a * e);
        b = b + be * q * e;
        s[t % 4] = st * (1 + g * e);
    }
}

START_TEST(test_fit_reaches_truth)
{
    /* the maximum likelihood fit is at least as likely as the generating
     * parameters (at their own initial states) and close to them */
    double y[120];
    simulate_mam(y, 120, 3);
    st_ets_model mod = model("MAM", 4);
    st_ets_par truth = {0};
    /* the generator is etscalc's recursion: b += beta q e is R's
     * b' = b + (beta / alpha) (l' - q), s *= 1 + gamma e its season update */
    truth.alpha = 0.3, truth.beta = 0.05, truth.gamma = 0.1, truth.l = 100, truth.b = 1;
    const double s0[4] = {1.1, 0.8, 0.9, 1.2}; /* newest first at t = 0 */
    for (int k = 0; k < 4; k++)
        truth.s[k] = s0[k];
    st_ets_fit f;
    st_err e;
    ck_assert_int_eq(st_ets_fit_model(&mod, y, 120, &f, &e), 0);
    double lik_truth, sse;
    size_t nobs;
    st_ets_complete_season(&mod, &truth);
    st_ets_lik(&mod, &truth, y, 120, &lik_truth, &nobs, &sse);
    ck_assert_msg(f.lik <= lik_truth + 1e-8, "fit lik %g above the truth's %g", f.lik, lik_truth);
    ck_assert(f.converged);
    ck_assert(st_ets_admissible(&mod, &f.par));
    ck_assert(fabs(f.par.alpha - 0.3) < 0.2);
}
END_TEST

START_TEST(test_auto_rules)
{
    st_ets_choice all = {6, 3, 3, 7};
    double y[60];
    series(y, 60);
    y[17] = 60;
    st_ets_fit f;
    st_err e;
    int nfit;
    /* quarterly positive data: 15 candidates (no A error with M season) */
    ck_assert_int_eq(st_ets_auto(&all, 4, y, 60, &f, &nfit, &e), 0);
    ck_assert_int_eq(nfit, 15);
    ck_assert(!(f.mod.error == ST_ETS_A && f.mod.season == ST_ETS_M));
    /* a value <= 0: additive models only (6) */
    y[30] = -1;
    ck_assert_int_eq(st_ets_auto(&all, 4, y, 60, &f, &nfit, &e), 0);
    ck_assert_int_eq(nfit, 6);
    ck_assert(f.mod.error == ST_ETS_A && f.mod.season != ST_ETS_M);
    y[30] = 60;
    /* period 1, or longer than 24, or not shorter than the series: no season */
    ck_assert_int_eq(st_ets_auto(&all, 1, y, 60, &f, &nfit, &e), 0);
    ck_assert_int_eq(nfit, 6);
    ck_assert_int_eq(f.mod.season, ST_ETS_N);
    ck_assert_int_eq(st_ets_auto(&all, 30, y, 60, &f, &nfit, &e), 0);
    ck_assert_int_eq(nfit, 6);
    ck_assert_int_eq(st_ets_auto(&all, 4, y, 4, &f, &nfit, &e), ST_EDATA); /* n <= 6 */
    /* a chosen subset */
    st_ets_choice sub = {1u << ST_ETS_M, 1u << ST_ETS_A, 2, 1u << ST_ETS_M};
    ck_assert_int_eq(st_ets_auto(&sub, 4, y, 60, &f, &nfit, &e), 0);
    ck_assert_int_eq(nfit, 1);
    char buf[32];
    ck_assert_str_eq(st_ets_name(&f.mod, buf, sizeof buf), "ETS(M,Ad,M)");
    /* explicit models: bad codes and periods */
    st_ets_model mod;
    ck_assert_int_eq(st_ets_parse_code("MMN", 1, &mod, &e), ST_EUSAGE);
    ck_assert_int_eq(st_ets_parse_code("ANdN", 1, &mod, &e), ST_EUSAGE);
    ck_assert_int_eq(st_ets_parse_code("ANA", 1, &mod, &e), ST_EUSAGE);
    ck_assert_int_eq(st_ets_parse_code("ANA", 25, &mod, &e), ST_EUSAGE);
    /* too many parameters for the data */
    mod = model("AAdA", 12);
    ck_assert_int_eq(st_ets_fit_model(&mod, y, 18, &f, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "too few observations"));
}
END_TEST

START_TEST(test_simulated_intervals)
{
    /* A error with M season has no analytic intervals: simulated paths,
     * the same for the same seed and stream, different otherwise, and
     * close to the analytic ones of a nearby class (ANA) at h = 1 where
     * the forecast error is exactly normal */
    double y[60], mean[6], var[6], lo[12], hi[12], lo2[12], hi2[12];
    series(y, 60);
    y[17] = 60;
    const double lv[2] = {80, 95};
    st_ets_model mod = model("ANM", 4);
    st_ets_fit f;
    st_err e;
    ck_assert_int_eq(st_ets_fit_model(&mod, y, 60, &f, &e), 0);
    ck_assert_int_eq(st_ets_forecast(&f, y, 60, 6, lv, 2, 7, 3, 20000, mean, var, lo, hi, &e), 0);
    ck_assert_int_eq(st_ets_forecast(&f, y, 60, 6, lv, 2, 7, 3, 20000, mean, var, lo2, hi2, &e), 0);
    ck_assert(memcmp(lo, lo2, sizeof lo) == 0 && memcmp(hi, hi2, sizeof hi) == 0);
    ck_assert_int_eq(st_ets_forecast(&f, y, 60, 6, lv, 2, 7, 4, 20000, mean, var, lo2, hi2, &e), 0);
    ck_assert(memcmp(lo, lo2, sizeof lo) != 0);
    /* h = 1: y = f + e, e ~ N(0, sigma2): the 95% bounds within Monte Carlo
     * error of mean -+ 1.96 sigma (sd of a 2.5% quantile of 20000 draws:
     * sqrt(.025 .975 / 20000) / phi(1.96) sigma = 0.019 sigma) */
    double sd = sqrt(f.sigma2);
    ck_assert(fabs(hi[1] - (mean[0] + 1.959963984540054 * sd)) < 0.08 * sd);
    ck_assert(fabs(lo[1] - (mean[0] - 1.959963984540054 * sd)) < 0.08 * sd);
    ck_assert(fabs(var[0] / f.sigma2 - 1) < 0.05);
    for (int k = 0; k < 6; k++)
        ck_assert(lo[2 * k + 1] < lo[2 * k] && lo[2 * k] < hi[2 * k] && hi[2 * k] < hi[2 * k + 1]);
}
END_TEST

static Suite *ets_suite(void)
{
    Suite *su = suite_create("ssm_ets");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_lik_by_hand);
    tcase_add_test(tc, test_gradient);
    tcase_add_test(tc, test_admissible_roots);
    tcase_add_test(tc, test_forecast_variances);
    tcase_add_test(tc, test_fit_reaches_truth);
    tcase_add_test(tc, test_auto_rules);
    tcase_add_test(tc, test_simulated_intervals);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(su, tc);
    return su;
}

ST_CHECK_MAIN(ets_suite)

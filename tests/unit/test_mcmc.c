/* MCMC summaries (lib/core/mcmc): the normal quantile function against
 * erfc to 1e-15, R's type-7 quantiles, the basic R-hat by hand on a small
 * case, and the diagnostics on chains whose answer is known: independent
 * normal draws (R-hat near 1, ESS near the number of draws), AR(1) chains
 * (ESS near S (1 - rho) / (1 + rho)), chains stuck at different levels
 * (R-hat far above 1), a chain that drifts (split R-hat catches it) and
 * chains that differ only in spread (the tail R-hat catches it). */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "check_util.h"
#include "core/mcmc.h"
#include "core/rng.h"

START_TEST(test_qnorm)
{
    static const double p[] = {1e-300, 1e-20, 1e-10, 0.001, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.975, 0.99999, 1 - 1e-12};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        double z = st_qnorm(p[i]), back = 0.5 * erfc(-z / M_SQRT2);
        ck_assert_msg(fabs(back - p[i]) <= 2e-15 * p[i] + 1e-300 || fabs(back - p[i]) < 4e-16,
                      "qnorm(%g) = %.17g: Phi = %.17g", p[i], z, back);
    }
    ck_assert(st_qnorm(0.5) == 0);
    ck_assert_near(st_qnorm(0.975), 1.959963984540054, 1e-14);
    ck_assert(isinf(st_qnorm(0)) && st_qnorm(0) < 0);
    ck_assert(isnan(st_qnorm(1.5)));
}
END_TEST

START_TEST(test_quantile_and_basic_rhat)
{
    double x[5] = {3, 1, 4, 1, 5};
    ck_assert_near(st_mcmc_quantile(x, 5, 0.5), 3, 0);
    ck_assert_near(st_mcmc_quantile(x, 5, 0.1), 1, 0);    /* h = 0.4 between 1 and 1 */
    ck_assert_near(st_mcmc_quantile(x, 5, 0.9), 4.6, 1e-15); /* h = 3.6: 4 + 0.6 */
    /* two chains (1, 2, 3) and (4, 5, 6): means 2 and 5, variances 1;
     * B = 3 * 4.5 = 13.5, W = 1, R-hat = sqrt((13.5 + 2) / 3) */
    double c[6] = {1, 2, 3, 4, 5, 6};
    ck_assert_near(st_mcmc_rhat_basic(c, 2, 3), sqrt(15.5 / 3), 1e-15);
    double k[4] = {2, 2, 2, 2};
    ck_assert_near(st_mcmc_rhat_basic(k, 2, 2), 1, 0);
    ck_assert_near(st_mcmc_ess_basic(k, 1, 4), 4, 0);
}
END_TEST

/* m chains of n AR(1) draws x_t = rho x_{t-1} + sqrt(1 - rho^2) e_t,
 * chain j shifted by shift[j] and scaled by scale[j], the mean drifting
 * by drift per draw. */
static double *ar_chains(size_t m, size_t n, double rho, const double *shift, const double *scale, double drift,
                         uint64_t seed)
{
    double *x = malloc(m * n * sizeof *x);
    st_rng r;
    st_rng_seed(&r, seed);
    for (size_t j = 0; j < m; j++) {
        double v = st_rng_normal(&r);
        for (size_t i = 0; i < n; i++) {
            v = rho * v + sqrt(1 - rho * rho) * st_rng_normal(&r);
            x[j * n + i] = (shift ? shift[j] : 0) + (scale ? scale[j] : 1) * v + drift * (double)i;
        }
    }
    return x;
}

START_TEST(test_iid_and_ar1)
{
    enum { m = 4, n = 2000 };
    st_mcmc_summary s;
    st_err e;
    /* independent draws: R-hat within 0.01 of 1, ESS within 15 % of 8000 */
    double *x = ar_chains(m, n, 0, NULL, NULL, 0, 3);
    ck_assert_int_eq(st_mcmc_summarise(x, m, n, &s, &e), 0);
    ck_assert_msg(fabs(s.rhat - 1) < 0.01, "iid rhat %g", s.rhat);
    ck_assert_msg(fabs(s.ess_bulk / (m * n) - 1) < 0.15, "iid ess_bulk %g", s.ess_bulk);
    ck_assert_msg(fabs(s.ess_tail / (m * n) - 1) < 0.25, "iid ess_tail %g", s.ess_tail);
    ck_assert_near(s.mean, 0, 4 / sqrt(m * n));
    ck_assert_near(s.sd, 1, 0.05);
    ck_assert_near(s.q975, 1.96, 0.1);
    ck_assert_near(s.q025, -1.96, 0.1);
    free(x);
    /* AR(1), rho = 0.9: ESS = S (1 - rho) / (1 + rho) = 421 (within 25 %) */
    x = ar_chains(m, n, 0.9, NULL, NULL, 0, 5);
    ck_assert_int_eq(st_mcmc_summarise(x, m, n, &s, &e), 0);
    double want = m * n * 0.1 / 1.9;
    ck_assert_msg(fabs(s.ess_bulk / want - 1) < 0.25, "AR ess_bulk %g, want %g", s.ess_bulk, want);
    ck_assert_msg(fabs(st_mcmc_ess_basic(x, m, n) / want - 1) < 0.25, "AR ess_basic");
    ck_assert_msg(s.rhat < 1.02, "AR rhat %g", s.rhat);
    free(x);
    /* negatively correlated draws: ESS above S, capped at S log10 S */
    x = ar_chains(m, n, -0.5, NULL, NULL, 0, 9);
    ck_assert_int_eq(st_mcmc_summarise(x, m, n, &s, &e), 0);
    ck_assert_msg(s.ess_bulk > m * n && s.ess_bulk <= m * n * log10(m * n), "antithetic ess %g", s.ess_bulk);
    free(x);
}
END_TEST

START_TEST(test_unconverged)
{
    enum { m = 4, n = 1000 };
    st_mcmc_summary s;
    st_err e;
    /* one chain stuck elsewhere */
    double shift[m] = {0, 0, 0, 3};
    double *x = ar_chains(m, n, 0.5, shift, NULL, 0, 11);
    ck_assert_int_eq(st_mcmc_summarise(x, m, n, &s, &e), 0);
    ck_assert_msg(s.rhat > 1.1, "stuck chain: rhat %g", s.rhat); /* 1.01 is the alarm */
    free(x);
    /* every chain drifts the same way: only splitting sees it */
    x = ar_chains(m, n, 0.5, NULL, NULL, 0.004, 13);
    ck_assert_msg(st_mcmc_rhat_basic(x, m, n) < 1.01, "drift seen without splitting");
    ck_assert_int_eq(st_mcmc_summarise(x, m, n, &s, &e), 0);
    ck_assert_msg(s.rhat > 1.3, "drift: rhat %g", s.rhat);
    free(x);
    /* same centre, different spread: the bulk R-hat misses it, the tail one sees it */
    double scale[m] = {1, 1, 1, 4};
    x = ar_chains(m, n, 0, NULL, scale, 0, 17);
    ck_assert_int_eq(st_mcmc_summarise(x, m, n, &s, &e), 0);
    ck_assert_msg(s.rhat > 1.1, "spread: rhat %g", s.rhat);
    free(x);
    /* non-finite draws and too few draws: NaN diagnostics, a mean all the same */
    double y[8] = {1, 2, 3, 4, 5, 6, 7, INFINITY};
    ck_assert_int_eq(st_mcmc_summarise(y, 2, 4, &s, &e), 0);
    ck_assert(isnan(s.rhat) && isnan(s.ess_bulk));
    ck_assert_int_eq(st_mcmc_summarise(y, 2, 3, &s, &e), 0);
    ck_assert(isnan(s.rhat));
    ck_assert_near(s.mean, 3.5, 0);
    ck_assert_int_eq(st_mcmc_summarise(y, 0, 3, &s, &e), ST_EUSAGE);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("mcmc");
    TCase *tc = tcase_create("mcmc");
    tcase_add_test(tc, test_qnorm);
    tcase_add_test(tc, test_quantile_and_basic_rhat);
    tcase_add_test(tc, test_iid_and_ar1);
    tcase_add_test(tc, test_unconverged);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(make_suite)

/* ARIMA (lib/ssm/arima.c): the stationary covariance against a Lyapunov
 * solver, R's likelihood for fixed coefficients (figures from R 4.2.2
 * stats::arima, quoted below), the exact diffuse likelihood against the
 * stationary likelihood of the differenced series, a likelihood with a
 * missing value against the Gaussian density written out, fits that
 * reach R's maximum, closed-form AR(1) forecasts, MA root flipping and
 * the conditional sum of squares by hand. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/linalg.h"
#include "ssm/arima.h"

static const double AIR[144] = {
    112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118, 115, 126, 141, 135, 125, 149, 170, 170,
    158, 133, 114, 140, 145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166, 171, 180, 193, 181,
    183, 218, 230, 242, 209, 191, 172, 194, 196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201,
    204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229, 242, 233, 267, 269, 270, 315, 364, 347,
    312, 274, 237, 278, 284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306, 315, 301, 356, 348,
    355, 422, 465, 467, 404, 347, 305, 336, 340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,
    360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405, 417, 391, 419, 461, 472, 535, 622, 606,
    508, 461, 390, 432};

static const double NILE[100] = {
    1120, 1160, 963, 1210, 1160, 1160, 813, 1230, 1370, 1140, 995, 935, 1110, 994, 1020, 960, 1180, 799,
    958, 1140, 1100, 1210, 1150, 1250, 1260, 1220, 1030, 1100, 774, 840, 874, 694, 940, 833, 701, 916,
    692, 1020, 1050, 969, 831, 726, 456, 824, 702, 1120, 1100, 832, 764, 821, 768, 845, 864, 862, 698,
    845, 744, 796, 1040, 759, 781, 865, 845, 944, 984, 897, 822, 1010, 771, 676, 649, 846, 812, 742, 801,
    1040, 860, 874, 848, 890, 744, 749, 838, 1050, 918, 986, 797, 923, 975, 815, 1020, 906, 901, 1170,
    912, 746, 919, 718, 714, 740};

static void log_air(double *y)
{
    for (int t = 0; t < 144; t++)
        y[t] = log(AIR[t]);
}

static st_arima_spec spec(int p, int d, int q, int P, int D, int Q, int s, int mean)
{
    st_arima_spec sp = {p, d, q, P, D, Q, s, mean, 0, 0};
    return sp;
}

static double eval_loglik(const st_arima_spec *s, const double *coef, const double *y, size_t n,
                          double *exact)
{
    st_arima_fit f;
    st_err e;
    ck_assert_msg(st_arima_evaluate(s, coef, y, NULL, n, &f, &e) == 0, "%s", e.msg);
    double ll = f.loglik;
    if (exact)
        *exact = f.loglik_exact;
    st_arima_fit_free(&f);
    return ll;
}

START_TEST(test_q0_lyapunov)
{
    /* (2,0,1)(1,0,1)[12] expanded: r = 14 states */
    st_arima_spec s = spec(2, 0, 1, 1, 0, 1, 12, 0);
    double coef[5] = {0.3, -0.2, -0.5, -0.3, -0.4}, phi[32], theta[32];
    st_arima_expand(&s, coef, 0, phi, theta);
    /* phi(B) Phi(B^12) = (1 - .3B + .2B^2)(1 + .3B^12): phi_12 = -.3,
     * phi_13 = .09, phi_14 = -.06; theta_13 = (-.5)(-.4) */
    ck_assert_near(phi[11], -0.3, 1e-15);
    ck_assert_near(phi[12], 0.09, 1e-15);
    ck_assert_near(phi[13], -0.06, 1e-15);
    ck_assert_near(theta[11], -0.4, 1e-15);
    ck_assert_near(theta[12], 0.2, 1e-15);
    size_t np = 14, nq = 13, r = 14;
    double *Q0 = malloc(r * r * sizeof *Q0), *T = calloc(r * r, sizeof *T), *RR = malloc(r * r * sizeof *RR),
           *P = malloc(r * r * sizeof *P), Rv[14];
    st_err e;
    ck_assert(st_arima_q0(phi, np, theta, nq, Q0, &e) == 0);
    for (size_t i = 0; i < r; i++)
        Rv[i] = i == 0 ? 1 : theta[i - 1];
    for (size_t i = 0; i < r; i++) {
        T[i * r] = phi[i];
        if (i + 1 < r)
            T[i * r + i + 1] = 1;
        for (size_t j = 0; j < r; j++)
            RR[i * r + j] = Rv[i] * Rv[j];
    }
    ck_assert(st_dlyap(T, RR, r, P, &e) == 0);
    for (size_t i = 0; i < r * r; i++)
        ck_assert_near(Q0[i], P[i], 1e-12 * (1 + fabs(P[i])));
    /* a non-stationary AR part is refused */
    double bad[1] = {1.2};
    ck_assert(st_arima_q0(bad, 1, NULL, 0, Q0, &e) == ST_EDATA);
    free(Q0);
    free(T);
    free(RR);
    free(P);
}
END_TEST

START_TEST(test_loglik_r)
{
    double y[144];
    log_air(y);
    /* R: arima(log(AirPassengers), c(0,1,1), seasonal = c(0,1,1),
     * fixed = c(-0.4, -0.6))$loglik */
    st_arima_spec s = spec(0, 1, 1, 0, 1, 1, 12, 1);
    double c1[2] = {-0.4, -0.6};
    ck_assert_near(eval_loglik(&s, c1, y, 144, NULL), 244.515148495568, 1e-8);
    /* arima(log(AirPassengers), c(2,1,1), seasonal = c(1,1,1), fixed =
     * c(0.3, -0.2, -0.5, -0.3, -0.4)) */
    s = spec(2, 1, 1, 1, 1, 1, 12, 1);
    double c2[5] = {0.3, -0.2, -0.5, -0.3, -0.4};
    ck_assert_near(eval_loglik(&s, c2, y, 144, NULL), 237.938751817048, 1e-8);
    /* arima(Nile, c(1,1,1), fixed = c(0.3, -0.8)); c(1,0,1) with a mean */
    s = spec(1, 1, 1, 0, 0, 0, 1, 1);
    double c3[2] = {0.3, -0.8};
    ck_assert_near(eval_loglik(&s, c3, NILE, 100, NULL), -631.756799499625, 1e-8);
    s = spec(1, 0, 1, 0, 0, 0, 1, 1);
    double c4[3] = {0.5, 0.2, 900};
    ck_assert_near(eval_loglik(&s, c4, NILE, 100, NULL), -644.247943807152, 1e-8);
}
END_TEST

START_TEST(test_exact_is_differenced)
{
    /* The exact diffuse likelihood of (2,1,1)(1,1,1)[12] equals the
     * stationary likelihood of the differenced series under
     * (2,0,1)(1,0,1)[12] without mean (no kappa: exact), which R gives as
     * 237.934833091381; R's large-kappa figure for the same model differs
     * from it by ~4e-3 (237.938751817048 above). */
    double y[144], w[131];
    log_air(y);
    for (int t = 0; t < 131; t++)
        w[t] = (y[t + 13] - y[t + 12]) - (y[t + 1] - y[t]);
    double c[5] = {0.3, -0.2, -0.5, -0.3, -0.4}, exact;
    st_arima_spec s = spec(2, 1, 1, 1, 1, 1, 12, 1), sw = spec(2, 0, 1, 1, 0, 1, 12, 0);
    eval_loglik(&s, c, y, 144, &exact);
    double lw = eval_loglik(&sw, c, w, 131, NULL);
    ck_assert_near(lw, 237.934833091381, 1e-8);
    ck_assert_near(exact, lw, 1e-8);
}
END_TEST

START_TEST(test_missing_by_density)
{
    /* AR(1) with mean and one missing point: R's filter is exact when
     * nothing is differenced, so it equals the Gaussian density of the
     * observed points with Cov = sigma2 phi^|i-j| / (1 - phi^2), sigma2
     * concentrated out: loglik = -m/2 (log(2 pi s2) + 1) - 1/2 log|C|,
     * s2 = r' C^-1 r / m with C the covariance for sigma2 = 1. */
    double y[12] = {3.1, 2.4, 2.9, NAN, 3.8, 3.3, 2.2, 2.7, 3.5, 3.0, 2.6, 3.2};
    const double phi = 0.6, mu = 3.0;
    int obs[12], m = 0;
    for (int t = 0; t < 12; t++)
        if (!isnan(y[t]))
            obs[m++] = t;
    double C[144], r[12] = {0};
    for (int i = 0; i < m; i++) {
        r[i] = y[obs[i]] - mu;
        for (int j = 0; j < m; j++)
            C[i * m + j] = pow(phi, abs(obs[i] - obs[j])) / (1 - phi * phi);
    }
    st_err e;
    double jit = 0;
    ck_assert(st_chol(C, (size_t)m, 0, &jit, &e) == 0);
    double z[12];
    memcpy(z, r, sizeof z);
    st_chol_solve(C, (size_t)m, z, 1);
    double q = 0;
    for (int i = 0; i < m; i++)
        q += r[i] * z[i];
    double s2 = q / m, want = -0.5 * m * (log(2 * M_PI * s2) + 1) - 0.5 * st_chol_logdet(C, (size_t)m);
    st_arima_spec s = spec(1, 0, 0, 0, 0, 0, 1, 1);
    double c[2] = {phi, mu}, exact;
    ck_assert_near(eval_loglik(&s, c, y, 12, &exact), want, 1e-10);
    ck_assert_near(exact, want, 1e-10);
}
END_TEST

START_TEST(test_fit_reaches_r)
{
    double y[144];
    log_air(y);
    /* forecast::Arima(log(AirPassengers), c(0,1,1), c(0,1,1)): loglik
     * 244.69953059670, ma1 -0.4018280, sma1 -0.5569448, se 0.0896 0.0731,
     * forecast sd 0.0370306 (h = 1), 0.0618427 (h = 6) */
    st_arima_spec s = spec(0, 1, 1, 0, 1, 1, 12, 1);
    st_arima_fit f;
    st_err e;
    ck_assert_msg(st_arima_estimate(&s, y, NULL, 144, ST_ARIMA_CSS_ML, 1, &f, &e) == 0, "%s", e.msg);
    ck_assert(f.loglik >= 244.69953059670 - 1e-7);
    ck_assert_near(f.coef[0], -0.4018280, 2e-5);
    ck_assert_near(f.coef[1], -0.5569448, 2e-5);
    ck_assert_near(f.se[0], 0.0896, 5e-4);
    ck_assert_near(f.se[1], 0.0731, 5e-4);
    ck_assert(f.var_ok);
    ck_assert_near(f.aicc, -2 * f.loglik + 2 * 3 + 2.0 * 3 * 4 / (131 - 3 - 1), 1e-9);
    double mean[6], var[6];
    ck_assert(st_arima_forecast(&f, NULL, 6, NULL, 0, mean, var, NULL, NULL, &e) == 0);
    ck_assert_near(mean[0], 6.110185743, 1e-6);
    ck_assert_near(sqrt(var[0]), 0.0370306, 1e-6);
    ck_assert_near(sqrt(var[5]), 0.0618427, 1e-6);
    st_arima_fit_free(&f);
    /* Nile (1,1,1): R's loglik -630.627381776 */
    s = spec(1, 1, 1, 0, 0, 0, 1, 1);
    ck_assert(st_arima_estimate(&s, NILE, NULL, 100, ST_ARIMA_ML, 0, &f, &e) == 0);
    ck_assert(f.loglik >= -630.627381776 - 1e-7);
    st_arima_fit_free(&f);
}
END_TEST

START_TEST(test_ar1_forecast)
{
    /* AR(1) with mean mu: E y_{n+h} = mu + phi^h (y_n - mu),
     * Var = sigma2 (1 - phi^2h) / (1 - phi^2) */
    double y[40];
    for (int t = 0; t < 40; t++)
        y[t] = 5 + sin(0.7 * t) + 0.3 * cos(2.1 * t);
    st_arima_spec s = spec(1, 0, 0, 0, 0, 0, 1, 1);
    double c[2] = {0.7, 5.2};
    st_arima_fit f;
    st_err e;
    ck_assert(st_arima_evaluate(&s, c, y, NULL, 40, &f, &e) == 0);
    double mean[5], var[5];
    ck_assert(st_arima_forecast(&f, NULL, 5, NULL, 0, mean, var, NULL, NULL, &e) == 0);
    for (int h = 1; h <= 5; h++) {
        ck_assert_near(mean[h - 1], 5.2 + pow(0.7, h) * (y[39] - 5.2), 1e-12);
        ck_assert_near(var[h - 1], f.sigma2 * (1 - pow(0.49, h)) / (1 - 0.49), 1e-12);
    }
    st_arima_fit_free(&f);
}
END_TEST

START_TEST(test_ma_invert)
{
    st_err e;
    double m1[1] = {2.0};
    ck_assert(st_arima_ma_invert(m1, 1, &e) == 0);
    ck_assert_near(m1[0], 0.5, 1e-15);
    /* (1 + 2B)(1 + 0.5B) = 1 + 2.5B + B^2 -> (1 + 0.5B)^2 = 1 + B + 0.25B^2 */
    double m2[2] = {2.5, 1.0};
    ck_assert(st_arima_ma_invert(m2, 2, &e) == 0);
    ck_assert_near(m2[0], 1.0, 1e-12);
    ck_assert_near(m2[1], 0.25, 1e-12);
    /* already invertible: unchanged */
    double m3[2] = {0.4, -0.3};
    ck_assert(st_arima_ma_invert(m3, 2, &e) == 0);
    ck_assert(m3[0] == 0.4 && m3[1] == -0.3);
    /* roots of 1 - 0.5 z: z = 2 */
    double a[1] = {0.5};
    ck_assert_near(st_arima_minroot(a, 1, -1), 2, 1e-12);
    double b[2] = {0, 0.64}; /* 1 + 0.64 z^2: |z| = 1.25 */
    ck_assert_near(st_arima_minroot(b, 2, +1), 1.25, 1e-12);
}
END_TEST

START_TEST(test_css_by_hand)
{
    /* ARIMA(1,1,0) by CSS: w_t = y_t - y_{t-1}, e_t = w_t - phi w_{t-1}
     * for t >= 2 (ncond = d + p = 2); the minimiser is least squares of
     * w_t on w_{t-1} through the origin, sigma2 = SSE / count. */
    double y[30];
    for (int t = 0; t < 30; t++)
        y[t] = 0.1 * t * t / 10 + sin(1.3 * t);
    double w[30], sxy = 0, sxx = 0;
    for (int t = 1; t < 30; t++)
        w[t] = y[t] - y[t - 1];
    for (int t = 2; t < 30; t++)
        sxy += w[t] * w[t - 1], sxx += w[t - 1] * w[t - 1];
    double phi = sxy / sxx, sse = 0;
    for (int t = 2; t < 30; t++)
        sse += (w[t] - phi * w[t - 1]) * (w[t] - phi * w[t - 1]);
    st_arima_spec s = spec(1, 1, 0, 0, 0, 0, 1, 0);
    st_arima_fit f;
    st_err e;
    ck_assert(st_arima_estimate(&s, y, NULL, 30, ST_ARIMA_CSS, 0, &f, &e) == 0);
    ck_assert_near(f.coef[0], phi, 1e-6);
    /* R: loglik = -n_used/2 (log(2 pi sigma2) + 1) with sigma2 = SSE / 28 */
    ck_assert_near(f.loglik, -0.5 * 29 * (log(2 * M_PI * sse / 28) + 1), 1e-8);
    st_arima_fit_free(&f);
}
END_TEST

static Suite *arima_suite(void)
{
    Suite *s = suite_create("ssm_arima");
    TCase *tc = tcase_create("arima");
    tcase_add_test(tc, test_q0_lyapunov);
    tcase_add_test(tc, test_loglik_r);
    tcase_add_test(tc, test_exact_is_differenced);
    tcase_add_test(tc, test_missing_by_density);
    tcase_add_test(tc, test_fit_reaches_r);
    tcase_add_test(tc, test_ar1_forecast);
    tcase_add_test(tc, test_ma_invert);
    tcase_add_test(tc, test_css_by_hand);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(arima_suite)

/* S4D forecaster (lib/ssm/s4d.c): the exact gradient against central
 * differences, the FFT convolution against the recurrence used for
 * forecasts, the ridge start as the minimiser of the penalised loss in
 * the readout, a straight line continued exactly, conformal bounds, a
 * large state (N = 256) in bounded time, and determinism. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_util.h"
#include "ssm/s4d.h"

static void series(double *y, size_t n)
{
    for (size_t t = 0; t < n; t++)
        y[t] = 10 + 0.05 * (double)t + sin(0.5 * (double)t) + 0.3 * cos(1.7 * (double)t) + (t % 7 == 3 ? 0.4 : 0);
}

static st_s4d_model *model(int N, int H, int inv)
{
    st_s4d_opts o = {0};
    o.N = N;
    o.H = H;
    o.inv = inv;
    st_s4d_model *m;
    st_err e;
    ck_assert_msg(st_s4d_model_new(&m, &o, &e) == 0, "%s", e.msg);
    return m;
}

START_TEST(test_gradient)
{
    double y[90];
    series(y, 90);
    st_s4d_series s;
    st_err e;
    ck_assert(st_s4d_series_init(&s, y, 90, &e) == 0);
    for (int inv = 0; inv < 2; inv++) {
        st_s4d_model *m = model(6, 2, inv);
        int used;
        ck_assert(st_s4d_train(m, &s, 1, 0.8, 0, &used, &e) == 0); /* ridge start: penalty on */
        size_t P = st_s4d_nparams(m);
        double *th = st_s4d_params(m), *g = malloc(P * sizeof *g), val;
        for (size_t i = 0; i < P; i++)
            th[i] += 0.02 * sin(3.1 * (double)i); /* away from the ridge optimum */
        st_s4d_loss(m, &s, 1, 0.8, g, &val, &e);
        for (size_t i = 0; i < P; i++) {
            double h = 1e-6, old = th[i];
            th[i] = old + h;
            double fp = st_s4d_loss(m, &s, 1, 0.8, NULL, &val, &e);
            th[i] = old - h;
            double fm = st_s4d_loss(m, &s, 1, 0.8, NULL, &val, &e);
            th[i] = old;
            double num = (fp - fm) / (2 * h);
            ck_assert_msg(fabs(num - g[i]) <= 1e-5 * (fabs(num) + 1e-3), "param %zu: analytic %g, central %g", i, g[i], num);
        }
        free(g);
        st_s4d_model_free(m);
    }
    st_s4d_series_free(&s);
}
END_TEST

START_TEST(test_fft_equals_recurrence)
{
    /* the training loss (FFT convolutions) over all targets equals the
     * mean squared one-step error of the forecasting recurrence (without
     * the penalty: a fresh model has none) */
    double y[70];
    series(y, 70);
    st_s4d_series s;
    st_err e;
    ck_assert(st_s4d_series_init(&s, y, 70, &e) == 0);
    st_s4d_model *m = model(8, 2, 0);
    double *th = st_s4d_params(m);
    size_t P = st_s4d_nparams(m);
    for (size_t i = 0; i < P; i++)
        th[i] += 0.05 * cos(1.3 * (double)i);
    double val;
    double loss = st_s4d_loss(m, &s, 1, 1.0, NULL, &val, &e);
    /* one-step predictions of w from t >= warm (10 for T = 69... T/10 = 6) */
    size_t T = s.T, warm = T / 10 < 10 ? T / 10 : 10;
    double sse = 0;
    for (size_t t = warm; t + 1 < T; t++) {
        double fc;
        ck_assert(st_s4d_predict(m, &s, t + 2, 1, &fc, &e) == 0);
        /* predict() returns y: the predicted difference is fc - y[t + 1] */
        double wpred = (fc - s.y[t + 1] - s.mu) / s.sd;
        sse += (wpred - s.w[t + 1]) * (wpred - s.w[t + 1]);
    }
    ck_assert_rel(loss, sse / (double)(T - 1 - warm), 1e-10);
    st_s4d_model_free(m);
    st_s4d_series_free(&s);
}
END_TEST

START_TEST(test_ridge_start_minimises_readout)
{
    /* the ridge start solves the penalised least squares in (C, D, b):
     * the gradient of the loss in those parameters vanishes there */
    double y[120];
    series(y, 120);
    st_s4d_series s;
    st_err e;
    ck_assert(st_s4d_series_init(&s, y, 120, &e) == 0);
    st_s4d_model *m = model(16, 1, 0);
    ck_assert(st_s4d_train(m, &s, 1, 1.0, 0, NULL, &e) == 0);
    size_t P = st_s4d_nparams(m), M = 8;
    double *g = malloc(P * sizeof *g), val;
    double f = st_s4d_loss(m, &s, 1, 1.0, g, &val, &e);
    ck_assert(f > 0 && f < 1);
    for (size_t k = 4 * M; k < 6 * M; k++)
        ck_assert_msg(fabs(g[k]) < 1e-8, "dL/dC[%zu] = %g", k, g[k]);
    ck_assert(fabs(g[P - 2]) < 1e-8 && fabs(g[P - 1]) < 1e-8);
    /* Adam from there on the same loss does not make it worse */
    st_s4d_model *m2 = model(16, 1, 0);
    ck_assert(st_s4d_train(m2, &s, 1, 1.0, 50, NULL, &e) == 0);
    ck_assert(st_s4d_loss(m2, &s, 1, 1.0, NULL, &val, &e) <= f + 1e-12);
    free(g);
    st_s4d_model_free(m);
    st_s4d_model_free(m2);
    st_s4d_series_free(&s);
}
END_TEST

START_TEST(test_line_continued)
{
    double y[40], fc[5];
    for (int t = 0; t < 40; t++)
        y[t] = 3 + 2 * t;
    st_s4d_series s;
    st_err e;
    ck_assert(st_s4d_series_init(&s, y, 40, &e) == 0);
    st_s4d_model *m = model(4, 1, 0);
    ck_assert(st_s4d_train(m, &s, 1, 0.8, -1, NULL, &e) == 0);
    ck_assert(st_s4d_predict(m, &s, 40, 5, fc, &e) == 0);
    for (int k = 0; k < 5; k++)
        ck_assert_near(fc[k], 3 + 2 * (40 + k), 1e-9);
    st_s4d_model_free(m);
    st_s4d_series_free(&s);
    /* constant: refused */
    for (int t = 0; t < 40; t++)
        y[t] = 5;
    ck_assert(st_s4d_series_init(&s, y, 40, &e) == ST_EDATA);
    ck_assert(st_s4d_series_init(&s, y, 10, &e) == ST_EDATA); /* too short */
}
END_TEST

START_TEST(test_conformal_bounds)
{
    /* scores 1..19 (m = 19): the 80 % bound uses the ceil(20 * 0.8) = 16th,
     * the 95 % one the 19th; intervals mean -+ q s_k */
    double score[19], scale[3] = {1, 2, 4}, mean[3] = {10, 11, 12}, lev[2] = {80, 95}, lo[6], hi[6];
    for (int i = 0; i < 19; i++)
        score[i] = i + 1;
    st_s4d_bounds(mean, scale, 3, score, 19, lev, 2, lo, hi);
    ck_assert_near(hi[0], 10 + 16, 1e-12);
    ck_assert_near(lo[1], 10 - 19, 1e-12);
    ck_assert_near(hi[4], 12 + 16 * 4, 1e-12);
    /* too few scores for 95 %: the largest */
    st_s4d_bounds(mean, scale, 3, score, 5, lev, 2, lo, hi);
    ck_assert_near(hi[1], 10 + 5, 1e-12);
    /* calibration on a real fit: scales non-decreasing, scores sorted */
    double y[100];
    series(y, 100);
    st_s4d_series s;
    st_err e;
    ck_assert(st_s4d_series_init(&s, y, 100, &e) == 0);
    st_s4d_model *m = model(8, 1, 0);
    ck_assert(st_s4d_train(m, &s, 1, 0.8, -1, NULL, &e) == 0);
    double sc[6], scores[600];
    size_t ns;
    ck_assert(st_s4d_calibrate(m, &s, 6, sc, scores, &ns, &e) == 0);
    ck_assert(ns > 50);
    for (int k = 1; k < 6; k++)
        ck_assert(sc[k] >= sc[k - 1] && sc[k] > 0);
    for (size_t i = 1; i < ns; i++)
        ck_assert(scores[i] >= scores[i - 1]);
    st_s4d_model_free(m);
    st_s4d_series_free(&s);
}
END_TEST

START_TEST(test_large_state_and_determinism)
{
    /* N = 256 on 144 points: kernels O(N T), FFT convolutions; the run
     * must finish in seconds (it took minutes with a cubic cost) */
    double y[144], f1[12], f2[12];
    series(y, 144);
    st_s4d_series s;
    st_err e;
    ck_assert(st_s4d_series_init(&s, y, 144, &e) == 0);
    clock_t t0 = clock();
    st_s4d_model *m = model(256, 1, 0), *m2 = model(256, 1, 0);
    ck_assert(st_s4d_train(m, &s, 1, 0.8, -1, NULL, &e) == 0);
    ck_assert(st_s4d_predict(m, &s, 144, 12, f1, &e) == 0);
    ck_assert((double)(clock() - t0) / CLOCKS_PER_SEC < 20);
    ck_assert(st_s4d_train(m2, &s, 1, 0.8, -1, NULL, &e) == 0);
    ck_assert(st_s4d_predict(m2, &s, 144, 12, f2, &e) == 0);
    ck_assert(memcmp(f1, f2, sizeof f1) == 0);
    for (int k = 0; k < 12; k++)
        ck_assert(isfinite(f1[k]));
    st_s4d_model_free(m);
    st_s4d_model_free(m2);
    st_s4d_series_free(&s);
}
END_TEST

START_TEST(test_periodic)
{
    /* a noiseless period-12 signal is forecast almost exactly, far better
     * than its own amplitude, with nested intervals */
    double y[240], mean[12], lo[24], hi[24], scale[12], score[240 * 12];
    const double lv[2] = {80, 95};
    for (int t = 0; t < 240; t++)
        y[t] = 5 + 2 * sin(2 * M_PI * t / 12) + cos(2 * M_PI * t / 6);
    st_s4d_series s;
    st_err e;
    ck_assert(st_s4d_series_init(&s, y, 228, &e) == 0);
    st_s4d_model *m1 = model(16, 1, 0), *m2 = model(16, 1, 0);
    int E;
    ck_assert(st_s4d_train(m1, &s, 1, 0.8, -1, &E, &e) == 0);
    ck_assert(st_s4d_train(m2, &s, 1, 1.0, E, NULL, &e) == 0);
    ck_assert(st_s4d_predict(m2, &s, 228, 12, mean, &e) == 0);
    size_t ns;
    ck_assert(st_s4d_calibrate(m1, &s, 12, scale, score, &ns, &e) == 0);
    st_s4d_bounds(mean, scale, 12, score, ns, lv, 2, lo, hi);
    double mae = 0;
    for (int k = 0; k < 12; k++) {
        mae += fabs(mean[k] - y[228 + k]) / 12;
        ck_assert(lo[2 * k] <= hi[2 * k] && lo[2 * k + 1] <= lo[2 * k] && hi[2 * k + 1] >= hi[2 * k]);
    }
    ck_assert_msg(mae < 0.1, "s4d MAE %g on a periodic signal", mae);
    st_s4d_model_free(m1);
    st_s4d_model_free(m2);
    st_s4d_series_free(&s);
}
END_TEST

static Suite *s4d_suite(void)
{
    Suite *s = suite_create("ssm_s4d");
    TCase *tc = tcase_create("s4d");
    tcase_add_test(tc, test_gradient);
    tcase_add_test(tc, test_fft_equals_recurrence);
    tcase_add_test(tc, test_ridge_start_minimises_readout);
    tcase_add_test(tc, test_line_continued);
    tcase_add_test(tc, test_conformal_bounds);
    tcase_add_test(tc, test_large_state_and_determinism);
    tcase_add_test(tc, test_periodic);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(s4d_suite)

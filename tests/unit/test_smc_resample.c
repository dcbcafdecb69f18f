/* Resampling: normalisation, ESS, unbiased offspring counts for every
 * scheme, the variance ordering systematic <= stratified <= multinomial,
 * and the pf-resample step (temperature, finished particles, collapse). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "check_util.h"
#include "core/vmath.h"
#include "core/rng.h"
#include "smc/pf_internal.h"
#include "smc/resample.h"

START_TEST(test_logsumexp_normalise_ess)
{
    double lw[4] = {-1000, -1000 + log(3.0), -INFINITY, -1000};
    ck_assert_near(st_logsumexp(lw, 4), -1000 + log(5.0), 1e-12);
    double W[4];
    st_normalise(lw, 4, W);
    ck_assert_near(W[0], 0.2, 1e-13);
    ck_assert_near(W[1], 0.6, 1e-13);
    ck_assert_near(W[2], 0.0, 0);
    ck_assert_near(st_ess(W, 4), 1 / (0.04 + 0.36 + 0.04), 1e-12);
    double none[2] = {-INFINITY, NAN};
    ck_assert(st_logsumexp(none, 2) == -INFINITY);
    st_resample_scheme s;
    ck_assert_int_eq(st_resample_parse("residual", &s), 0);
    ck_assert_int_eq(s, ST_RS_RESIDUAL);
    ck_assert_int_eq(st_resample_parse("bogus", &s), -1);
}
END_TEST

enum { NW = 7, NDRAW = 7, REPS = 20000 };
static const double wraw[NW] = {0.31, 0.02, 0.17, 0.05, 0.22, 0.13, 0.10};

/* Mean and variance of the offspring counts of each particle. */
static void offspring(st_resample_scheme s, double *mean, double *var)
{
    st_rng r;
    st_rng_seed(&r, 42 + (uint64_t)s);
    double sum[NW] = {0}, sum2[NW] = {0};
    uint32_t a[NDRAW];
    for (int rep = 0; rep < REPS; rep++) {
        st_resample(s, wraw, NW, NDRAW, a, &r);
        int cnt[NW] = {0};
        for (int k = 0; k < NDRAW; k++) {
            ck_assert_uint_lt(a[k], NW);
            if (k)
                ck_assert_uint_le(a[k - 1], a[k]); /* ordered output */
            cnt[a[k]]++;
        }
        for (int i = 0; i < NW; i++) {
            sum[i] += cnt[i];
            sum2[i] += (double)cnt[i] * cnt[i];
            if (s == ST_RS_RESIDUAL)
                ck_assert_int_ge(cnt[i], (int)floor(NDRAW * wraw[i]));
            if (s == ST_RS_SYSTEMATIC || s == ST_RS_STRATIFIED) /* never below floor - 1 */
                ck_assert_int_ge(cnt[i], (int)floor(NDRAW * wraw[i]) - 1);
        }
    }
    for (int i = 0; i < NW; i++) {
        mean[i] = sum[i] / REPS;
        var[i] = sum2[i] / REPS - mean[i] * mean[i];
    }
}

START_TEST(test_unbiased_and_variance_ordering)
{
    double m[4][NW], v[4][NW], tot[4] = {0};
    for (int s = 0; s < 4; s++) {
        offspring((st_resample_scheme)s, m[s], v[s]);
        for (int i = 0; i < NW; i++) {
            /* E[count] = N W_i; the standard error of the mean is sd / sqrt(REPS) */
            double se = sqrt(fmax(v[s][i], 1e-4) / REPS);
            ck_assert_msg(fabs(m[s][i] - NDRAW * wraw[i]) <= 5 * se,
                          "scheme %d particle %d: mean %g, expected %g (se %g)", s, i, m[s][i],
                          NDRAW * wraw[i], se);
            tot[s] += v[s][i];
        }
    }
    /* multinomial counts have variance N W (1 - W) exactly */
    double exact = 0;
    for (int i = 0; i < NW; i++)
        exact += NDRAW * wraw[i] * (1 - wraw[i]);
    ck_assert_rel(tot[ST_RS_MULTINOMIAL], exact, 0.05);
    /* ordering, with room for the Monte Carlo error of the variance
     * estimates (relative sd about sqrt(2 / REPS) < 1%) */
    ck_assert_msg(tot[ST_RS_SYSTEMATIC] <= tot[ST_RS_STRATIFIED] * 1.05, "systematic %g > stratified %g",
                  tot[ST_RS_SYSTEMATIC], tot[ST_RS_STRATIFIED]);
    ck_assert_msg(tot[ST_RS_STRATIFIED] <= tot[ST_RS_MULTINOMIAL] * 1.05, "stratified %g > multinomial %g",
                  tot[ST_RS_STRATIFIED], tot[ST_RS_MULTINOMIAL]);
    ck_assert_msg(tot[ST_RS_RESIDUAL] <= tot[ST_RS_MULTINOMIAL] * 1.05, "residual %g > multinomial %g",
                  tot[ST_RS_RESIDUAL], tot[ST_RS_MULTINOMIAL]);
    /* and here clearly below */
    ck_assert(tot[ST_RS_STRATIFIED] < 0.8 * tot[ST_RS_MULTINOMIAL]);
}
END_TEST

START_TEST(test_degenerate_weights)
{
    double W[5] = {0, 0, 1, 0, 0};
    uint32_t a[5];
    st_rng r;
    st_rng_seed(&r, 3);
    for (int s = 0; s < 4; s++) {
        st_resample((st_resample_scheme)s, W, 5, 5, a, &r);
        for (int k = 0; k < 5; k++)
            ck_assert_uint_eq(a[k], 2);
    }
}
END_TEST

START_TEST(test_step_done_and_temperature)
{
    /* four particles, the second finished; temperature 2 halves log-weights */
    double lw[4] = {log(4.0), 100, log(16.0), -INFINITY};
    unsigned char done[4] = {0, 1, 0, 0};
    uint32_t anc[4];
    double W[4], ess, logz;
    int res;
    st_rng r;
    st_rng_seed(&r, 1);
    st_err e;
    st_rs_step_opts o = {ST_RS_SYSTEMATIC, 2.0, 0.5, 1};
    ck_assert_int_eq(st_resample_step(&o, lw, done, 4, anc, W, &ess, &logz, &res, &r, &e), 0);
    /* weights exp(lw/2) = 2, -, 4, 0 over the three unfinished */
    ck_assert_near(W[0], 1.0 / 3, 1e-15);
    ck_assert_near(W[1], 0, 0);
    ck_assert_near(W[2], 2.0 / 3, 1e-15);
    ck_assert_near(W[3], 0, 0);
    ck_assert_near(logz, log(6.0 / 3), 1e-15);
    ck_assert_near(ess, 1 / (1.0 / 9 + 4.0 / 9), 1e-12);
    ck_assert_int_eq(res, 1);
    ck_assert_uint_eq(anc[1], 1); /* finished: its own ancestor */
    for (int i = 0; i < 4; i++)
        if (i != 1)
            ck_assert(anc[i] == 0 || anc[i] == 2); /* never the finished or the zero-weight one */
    /* no resampling when ESS is high enough and not --always */
    double flat[3] = {0, 0, 0};
    o.always = 0;
    o.temperature = 1;
    ck_assert_int_eq(st_resample_step(&o, flat, NULL, 3, anc, W, &ess, &logz, &res, &r, &e), 0);
    ck_assert_int_eq(res, 0);
    ck_assert_near(ess, 3, 1e-12);
    ck_assert_near(logz, 0, 1e-15);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(anc[i], (uint32_t)i);
    /* every unfinished weight zero: an error */
    double dead[3] = {-INFINITY, 5, -INFINITY};
    unsigned char d2[3] = {0, 1, 0};
    ck_assert_int_eq(st_resample_step(&o, dead, d2, 3, anc, W, &ess, &logz, &res, &r, &e), ST_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(e.msg, "zero weight"));
    /* everything finished: passed through */
    unsigned char all[3] = {1, 1, 1};
    ck_assert_int_eq(st_resample_step(&o, dead, all, 3, anc, W, &ess, &logz, &res, &r, &e), 0);
    ck_assert_int_eq(res, 0);
}
END_TEST

/* The filter's systematic resampling from block figures (each block's
 * running sums of block-local weights, its factor to normalised weights
 * and the blocks' cumulative weight) matches the sequential scheme with
 * the same uniform (up to points on a rounding boundary), is unbiased,
 * never picks a zero weight, and gives the same ancestors however the
 * points are split into ranges (each block of the next step asks for its
 * own). */
START_TEST(test_systematic_range)
{
    enum { N = 1000, reps = 2000, NB = (N + ST_PF_BLOCK - 1) / ST_PF_BLOCK };
    static double W[N], lw[N], wl[N], cum[N], c[NB], C[NB + 1], m[NB];
    static uint32_t a[N], b[N], d[N];
    static double cnt[N];
    st_rng r;
    st_rng_seed(&r, 11);
    for (int i = 0; i < N; i++)
        lw[i] = 3 * sin(0.37 * i) + (i % 97 == 0 ? -INFINITY : 0); /* some zero weights */
    for (int i = 2 * ST_PF_BLOCK; i < 3 * ST_PF_BLOCK && i < N; i++)
        lw[i] = -INFINITY; /* and a block without weight */
    st_normalise(lw, N, W);
    double lse = st_logsumexp(lw, N);
    for (size_t k = 0; k < NB; k++) {
        size_t s0 = k * ST_PF_BLOCK, n = N - s0 < ST_PF_BLOCK ? N - s0 : ST_PF_BLOCK;
        double out[3];
        st_vlse_scan(lw + s0, n, wl + s0, cum + s0, out);
        m[k] = out[0];
        c[k] = exp(m[k] - lse);
        ck_assert(out[1] == cum[s0 + n - 1]);
    }
    C[0] = 0;
    for (size_t k = 0; k < NB; k++)
        C[k + 1] = C[k] + cum[k * ST_PF_BLOCK + (k + 1 < NB ? ST_PF_BLOCK : N - k * ST_PF_BLOCK) - 1] * c[k];
    ck_assert_near(C[NB], 1.0, 1e-12);
    pf_sysres sr = {cum, c, C, N, NB, 0, N / C[NB]};
    int differ = 0;
    for (int rep = 0; rep < reps; rep++) {
        st_rng copy = r;
        sr.u0 = st_rng_uniform(&copy);
        st_resample(ST_RS_SYSTEMATIC, W, N, N, a, &r);
        pf_systematic_range(&sr, 0, N, b, NULL);
        /* the same ancestors from blocks, and from ranges of odd sizes,
         * each found by search or from where the one before stopped */
        size_t hint = SIZE_MAX;
        for (size_t k0 = 0; k0 < N; k0 += ST_PF_BLOCK)
            pf_systematic_range(&sr, k0, k0 + ST_PF_BLOCK < N ? k0 + ST_PF_BLOCK : N, d + k0, NULL);
        ck_assert(memcmp(b, d, sizeof b) == 0);
        for (size_t k0 = 0; k0 < N; k0 += ST_PF_BLOCK)
            pf_systematic_range(&sr, k0, k0 + ST_PF_BLOCK < N ? k0 + ST_PF_BLOCK : N, d + k0, &hint);
        ck_assert(memcmp(b, d, sizeof b) == 0);
        hint = SIZE_MAX;
        for (size_t k0 = 0, len = 1 + (size_t)rep % 7; k0 < N; k0 += len, len = 2 * len + 1)
            pf_systematic_range(&sr, k0, k0 + len < N ? k0 + len : N, d + k0, rep % 2 ? &hint : NULL);
        ck_assert(memcmp(b, d, sizeof b) == 0);
        for (int k = 0; k < N; k++) {
            differ += a[k] != b[k];
            ck_assert(W[b[k]] > 0); /* never a zero-weight ancestor */
            cnt[b[k]] += 1;
            if (k)
                ck_assert_uint_le(b[k - 1], b[k]);
        }
    }
    ck_assert_msg(differ <= reps / 100, "%d ancestors differ from the sequential scheme", differ);
    /* offspring counts: mean N W_i; a systematic count is floor or ceil of
     * N W_i, so its variance is at most 1/4 */
    for (int i = 0; i < N; i++)
        ck_assert_msg(fabs(cnt[i] / reps - N * W[i]) <= 5 * sqrt(0.25 / reps) + 1e-12,
                      "particle %d: mean count %g, expected %g", i, cnt[i] / reps, N * W[i]);
}
END_TEST

/* ---- pf-resample's session ---- */

static st_rs_session *session(st_rs_weights wt, int gibbs, int always, double ess)
{
    st_rs_session_opts o = {{ST_RS_SYSTEMATIC, 1.0, ess, always}, wt, gibbs};
    st_rs_session *s;
    st_err e;
    ck_assert_int_eq(st_rs_session_new(&s, &o, &e), 0);
    return s;
}

/* softmax (the default) is st_resample_step, draw for draw. */
START_TEST(test_session_softmax_is_step)
{
    enum { n = 50 };
    double id[n], lw[n], W1[n], W2[n];
    uint32_t a1[n], a2[n];
    unsigned char done[n];
    st_rng r1, r2, g;
    st_rng_seed(&r1, 3);
    st_rng_seed(&r2, 3);
    st_rng_seed(&g, 4);
    st_rs_session *s = session(ST_RS_W_SOFTMAX, 0, 0, 0.7);
    st_rs_step_opts so = {ST_RS_SYSTEMATIC, 1.0, 0.7, 0};
    for (int t = 0; t < 20; t++) {
        for (int i = 0; i < n; i++) {
            id[i] = i;
            lw[i] = 2 * st_rng_normal(&g);
            done[i] = t > 10 && i % 7 == 0;
        }
        double ess, logz;
        int res;
        st_err e;
        ck_assert_int_eq(st_resample_step(&so, lw, done, n, a1, W1, &ess, &logz, &res, &r1, &e), 0);
        st_rs_step_out out = {a2, W2, 0, 0, 0, 0, -1};
        ck_assert_int_eq(st_rs_session_step(s, n, id, lw, done, NULL, &out, &r2, &e), 0);
        ck_assert(memcmp(a1, a2, sizeof a1) == 0);
        ck_assert(memcmp(W1, W2, sizeof W1) == 0);
        ck_assert(ess == out.ess && logz == out.logz && res == out.resampled && out.chosen == -1);
    }
    st_rs_session_free(s);
}
END_TEST

/* Carried weights, computed by hand: step 0 weights 1, 1, 2 (not
 * resampled), step 1 increments 1, 2, 1 -> 1/4, 1/2, 1/2 -> 0.2, 0.4, 0.4,
 * logz = log 1.25.  In total mode the same from scores 0, 0, log 2 then
 * 0, log 2, log 2. */
START_TEST(test_session_carried)
{
    double id[3] = {7, 8, 9}, W[3];
    uint32_t anc[3];
    st_rng r;
    st_rng_seed(&r, 1);
    st_err e;
    for (int mode = 0; mode < 2; mode++) {
        st_rs_session *s = session(mode ? ST_RS_W_TOTAL : ST_RS_W_INCREMENT, 0, 0, 0.0);
        st_rs_step_out out = {anc, W, 0, 0, 0, 0, -1};
        double l0[3] = {0, 0, log(2.0)};
        ck_assert_int_eq(st_rs_session_step(s, 3, id, l0, NULL, NULL, &out, &r, &e), 0);
        ck_assert_near(W[2], 0.5, 1e-15);
        ck_assert_int_eq(out.resampled, 0);
        double l1[2][3] = {{0, log(2.0), 0}, {0, log(2.0), log(2.0)}};
        /* the ids arrive in another order: weights follow the id, not the row */
        double id1[3] = {9, 7, 8}, lw1[3] = {l1[mode][2], l1[mode][0], l1[mode][1]};
        ck_assert_int_eq(st_rs_session_step(s, 3, id1, lw1, NULL, NULL, &out, &r, &e), 0);
        ck_assert_near(W[0], 0.4, 1e-15); /* id 9 */
        ck_assert_near(W[1], 0.2, 1e-15); /* id 7 */
        ck_assert_near(W[2], 0.4, 1e-15); /* id 8 */
        ck_assert_near(out.logz, log(1.25), 1e-15);
        ck_assert_near(out.ess, 1 / (0.04 + 0.16 + 0.16), 1e-12);
        st_rs_session_free(s);
    }
}
END_TEST

/* Total mode through resampling: particle 1 has zero weight at step 0, so
 * both slots descend from particle 0 (score 0); at step 1 the scores 1 and
 * 2 are the increments: weights e / (e + e^2), e^2 / (e + e^2). */
START_TEST(test_session_total_follows_ancestor)
{
    double id[2] = {0, 1}, W[2];
    uint32_t anc[2];
    st_rng r;
    st_rng_seed(&r, 1);
    st_err e;
    st_rs_session *s = session(ST_RS_W_TOTAL, 0, 1, 0.5);
    st_rs_step_out out = {anc, W, 0, 0, 0, 0, -1};
    double l0[2] = {5, -INFINITY};
    ck_assert_int_eq(st_rs_session_step(s, 2, id, l0, NULL, NULL, &out, &r, &e), 0);
    ck_assert(anc[0] == 0 && anc[1] == 0 && out.resampled);
    double l1[2] = {6, 7};
    ck_assert_int_eq(st_rs_session_step(s, 2, id, l1, NULL, NULL, &out, &r, &e), 0);
    ck_assert_near(W[0], exp(1.0) / (exp(1.0) + exp(2.0)), 1e-15);
    st_rs_session_free(s);
}
END_TEST

/* Particle Gibbs: the reference keeps its place whatever its weight, the
 * others never pick a particle of negligible weight; at an iteration's
 * end (every particle done) the next reference is drawn from the final
 * weights (frequency within 5 standard errors) and the state starts
 * afresh. */
START_TEST(test_session_gibbs)
{
    enum { n = 4, iters = 4000 };
    double id[n] = {0, 1, 2, 3}, W[n];
    uint32_t anc[n];
    unsigned char ref[n] = {0, 0, 1, 0}, done[n] = {1, 1, 1, 1};
    st_rng r;
    st_rng_seed(&r, 9);
    st_err e;
    st_rs_session *s = session(ST_RS_W_SOFTMAX, 1, 1, 0.5);
    st_rs_step_out out = {anc, W, 0, 0, 0, 0, -1};
    int chose1 = 0;
    for (int it = 0; it < iters; it++) {
        double l0[n] = {0, 0, -50, 0};
        ck_assert_int_eq(st_rs_session_step(s, n, id, l0, NULL, ref, &out, &r, &e), 0);
        ck_assert_uint_eq(anc[2], 2);
        for (int i = 0; i < n; i++)
            if (i != 2)
                ck_assert_uint_ne(anc[i], 2);
        ck_assert_int_eq(out.chosen, -1);
        double lf[n] = {0, log(3.0), -INFINITY, -INFINITY};
        ck_assert_int_eq(st_rs_session_step(s, n, id, lf, done, ref, &out, &r, &e), 0);
        ck_assert(out.final && !out.resampled);
        ck_assert_near(W[1], 0.75, 1e-15);
        ck_assert(out.chosen == 0 || out.chosen == 1);
        chose1 += out.chosen == 1;
    }
    ck_assert_near((double)chose1 / iters, 0.75, 5 * sqrt(0.75 * 0.25 / iters));
    /* errors: two references; a reference without gibbs */
    unsigned char two[n] = {1, 0, 1, 0};
    double l[n] = {0, 0, 0, 0};
    ck_assert_int_eq(st_rs_session_step(s, n, id, l, NULL, two, &out, &r, &e), ST_EDATA);
    st_rs_session_free(s);
    s = session(ST_RS_W_SOFTMAX, 0, 1, 0.5);
    ck_assert_int_eq(st_rs_session_step(s, n, id, l, NULL, ref, &out, &r, &e), ST_EUSAGE);
    double dead[n] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    ck_assert_int_eq(st_rs_session_step(s, n, id, dead, NULL, NULL, &out, &r, &e), ST_ENUMERIC);
    st_rs_session_free(s);
}
END_TEST

/* The filter the session runs is unbiased: on a two-step toy problem with
 * increments, the product of exp(logz) over steps averages the exact
 * normalising constant (weights 1, 3 then 2, 1 for the descendants of
 * particle 0, 1: Z = mean over paths = ((1 + 3) / 2) * (1 * 2 + 3 * 1) / 4). */
START_TEST(test_session_unbiased)
{
    enum { n = 2, reps = 20000 };
    double id[n] = {0, 1}, W[n];
    uint32_t anc[n];
    st_rng r;
    st_rng_seed(&r, 12);
    st_err e;
    double sum = 0, sum2 = 0;
    for (int k = 0; k < reps; k++) {
        st_rs_session *s = session(ST_RS_W_INCREMENT, 0, 1, 0.5);
        st_rs_step_out out = {anc, W, 0, 0, 0, 0, -1};
        double l0[n] = {0, log(3.0)};
        ck_assert_int_eq(st_rs_session_step(s, n, id, l0, NULL, NULL, &out, &r, &e), 0);
        double z = exp(out.logz);
        /* each slot's increment depends on its ancestor: 2 from 0, 1 from 1 */
        double l1[n] = {anc[0] == 0 ? log(2.0) : 0, anc[1] == 0 ? log(2.0) : 0};
        ck_assert_int_eq(st_rs_session_step(s, n, id, l1, NULL, NULL, &out, &r, &e), 0);
        z *= exp(out.logz);
        sum += z;
        sum2 += z * z;
        st_rs_session_free(s);
    }
    double mean = sum / reps, sd = sqrt(sum2 / reps - mean * mean);
    ck_assert_near(mean, 2.0 * 5.0 / 4.0, 5 * sd / sqrt((double)reps));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("smc_resample");
    TCase *tc = tcase_create("resample");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_logsumexp_normalise_ess);
    tcase_add_test(tc, test_unbiased_and_variance_ordering);
    tcase_add_test(tc, test_degenerate_weights);
    tcase_add_test(tc, test_step_done_and_temperature);
    tcase_add_test(tc, test_systematic_range);
    tcase_add_test(tc, test_session_softmax_is_step);
    tcase_add_test(tc, test_session_carried);
    tcase_add_test(tc, test_session_total_follows_ancestor);
    tcase_add_test(tc, test_session_gibbs);
    tcase_add_test(tc, test_session_unbiased);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(make_suite)

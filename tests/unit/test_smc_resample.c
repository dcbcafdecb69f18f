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
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(make_suite)

/* lib/hmm/paths.c: posterior sample paths (forward filtering, backward
 * sampling).  Over 10,000 paths the empirical state marginals match the
 * posterior marginals within Monte Carlo error; on a sequence short enough
 * to enumerate, the frequencies of whole paths match their exact posterior
 * probabilities (chi-square); a path does not depend on how the calls are
 * split into ranges of sequences and paths. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "hmm/internal.h"

static st_hmm *cat3(void)
{
    st_err e;
    size_t nsym[1] = {3};
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 3, 1, ST_HMM_CATEGORICAL, 0, nsym, &e), 0);
    const double start[] = {0.5, 0.3, 0.2};
    const double trans[] = {0.7, 0.2, 0.1, 0.25, 0.5, 0.25, 0.05, 0.15, 0.8};
    const double p[] = {0.6, 0.3, 0.1, 0.2, 0.2, 0.6, 0.1, 0.8, 0.1};
    memcpy(m->start, start, sizeof start);
    memcpy(m->trans, trans, sizeof trans);
    memcpy(m->prob, p, sizeof p);
    ck_assert_int_eq(st_hmm_validate(m, &e), 0);
    return m;
}

/* Two sequences (lengths 40 and 25) drawn from the model; 10,000 paths
 * each.  Every empirical marginal is within 5 binomial standard errors of
 * the posterior (195 comparisons), the binomial variance floored at that of
 * one count in 10,000 (for probabilities near 0 or 1, where a single
 * draw is many standard errors). */
START_TEST(test_marginals)
{
    st_err e;
    st_hmm *m = cat3();
    size_t T = 40, n = 2, K = 3, np = 10000;
    int st[80];
    double x[80];
    ck_assert_int_eq(st_hmm_sample(m, n, T, 11, st, x, &e), 0);
    size_t len[2] = {40, 25};
    double xx[65];
    memcpy(xx, x, 40 * sizeof *x);
    memcpy(xx + 40, x + 40, 25 * sizeof *x);
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, 2, len, 1, xx, &e), 0);
    double *post = malloc(65 * K * sizeof *post), ll[2], pl[2];
    int *paths = malloc(65 * np * sizeof *paths);
    ck_assert_int_eq(st_hmm_posterior(m, d, post, ll, &e), 0);
    ck_assert_int_eq(st_hmm_sample_paths(m, d, 0, 2, 0, np, 42, paths, pl, &e), 0);
    ck_assert(pl[0] == ll[0] && pl[1] == ll[1]);
    double worst = 0;
    for (size_t s = 0; s < 2; s++) {
        size_t Ts = len[s];
        const int *ps = paths + d->off[s] * np;
        for (size_t t = 0; t < Ts; t++) {
            double cnt[3] = {0, 0, 0};
            for (size_t p = 0; p < np; p++) {
                int k = ps[p * Ts + t];
                ck_assert(k >= 0 && k < 3);
                cnt[k] += 1;
            }
            for (size_t k = 0; k < K; k++) {
                double pk = post[(d->off[s] + t) * K + k], f = cnt[k] / (double)np;
                double v = pk * (1 - pk), se = sqrt((v > 1.0 / (double)np ? v : 1.0 / (double)np) / (double)np);
                ck_assert_msg(fabs(f - pk) <= 5 * se, "seq %zu t %zu state %zu: %g vs %g (se %g)", s, t, k, f,
                              pk, se);
                if (se > 0 && fabs(f - pk) / se > worst)
                    worst = fabs(f - pk) / se;
            }
        }
    }
    /* and not trivially: the draws do vary around the marginals */
    ck_assert(worst > 1);
    free(post);
    free(paths);
    st_hmm_data_free(d);
    st_hmm_free(m);
}
END_TEST

/* T = 4, K = 3: all 81 paths.  Chi-square of 40,000 draws against the
 * exact posterior path probabilities (brute force, written here) stays
 * below df + 6 sqrt(2 df). */
START_TEST(test_whole_paths)
{
    st_err e;
    st_hmm *m = cat3();
    const double x[] = {0, 2, 1, 2};
    size_t T = 4, K = 3, npath = 81, np = 40000, len[1] = {4};
    double lp[81], tot = 0;
    for (size_t q = 0; q < npath; q++) {
        size_t r = q, s[4];
        for (size_t t = 0; t < T; t++) {
            s[t] = r % K;
            r /= K;
        }
        double p = m->start[s[0]] * m->prob[s[0] * 3 + (size_t)x[0]];
        for (size_t t = 1; t < T; t++)
            p *= m->trans[s[t - 1] * K + s[t]] * m->prob[s[t] * 3 + (size_t)x[t]];
        lp[q] = p;
        tot += p;
    }
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, 1, len, 1, x, &e), 0);
    int *paths = malloc(T * np * sizeof *paths);
    ck_assert_int_eq(st_hmm_sample_paths(m, d, 0, 1, 0, np, 3, paths, NULL, &e), 0);
    double cnt[81] = {0};
    for (size_t p = 0; p < np; p++) {
        size_t q = 0;
        for (size_t t = T; t-- > 0;)
            q = q * K + (size_t)paths[p * T + t];
        cnt[q] += 1;
    }
    double chi = 0, df = -1;
    for (size_t q = 0; q < npath; q++) {
        double want = lp[q] / tot * (double)np;
        if (want == 0) {
            ck_assert(cnt[q] == 0);
            continue;
        }
        chi += (cnt[q] - want) * (cnt[q] - want) / want;
        df += 1;
    }
    ck_assert_msg(chi < df + 6 * sqrt(2 * df), "chi-square %g with %g degrees of freedom", chi, df);
    free(paths);
    st_hmm_data_free(d);
    st_hmm_free(m);
}
END_TEST

/* Path p of sequence s is the same in a call for all sequences and paths
 * and in calls for one sequence and a range of paths, with any threads. */
START_TEST(test_ranges)
{
    st_err e;
    st_hmm *m = cat3();
    size_t n = 5, T = 30, np = 7;
    int st[150];
    double x[150];
    ck_assert_int_eq(st_hmm_sample(m, n, T, 2, st, x, &e), 0);
    size_t len[5] = {30, 30, 30, 30, 30};
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, n, len, 1, x, &e), 0);
    int *all = malloc(n * T * np * sizeof *all), *part = malloc(T * 3 * sizeof *part);
    ck_assert_int_eq(st_hmm_sample_paths(m, d, 0, n, 0, np, 9, all, NULL, &e), 0);
    ck_assert_int_eq(st_hmm_sample_paths(m, d, 3, 4, 2, 3, 9, part, NULL, &e), 0);
    ck_assert(memcmp(part, all + 3 * T * np + 2 * T, 3 * T * sizeof *part) == 0);
    /* another seed gives other paths */
    ck_assert_int_eq(st_hmm_sample_paths(m, d, 3, 4, 2, 3, 10, part, NULL, &e), 0);
    ck_assert(memcmp(part, all + 3 * T * np + 2 * T, 3 * T * sizeof *part) != 0);
    free(all);
    free(part);
    st_hmm_data_free(d);
    st_hmm_free(m);
}
END_TEST

/* A sequence impossible under the model is an error naming it. */
START_TEST(test_impossible)
{
    st_err e;
    st_hmm *m = cat3();
    double p[] = {1, 0, 0, 1, 0, 0, 1, 0, 0};
    memcpy(m->prob, p, sizeof p);
    ck_assert_int_eq(st_hmm_validate(m, &e), 0);
    const double x[] = {0, 1};
    size_t len[1] = {2};
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, 1, len, 1, x, &e), 0);
    int paths[2];
    ck_assert_int_eq(st_hmm_sample_paths(m, d, 0, 1, 0, 1, 1, paths, NULL, &e), ST_EDATA);
    ck_assert(strstr(e.msg, "probability zero") != NULL);
    st_hmm_data_free(d);
    st_hmm_free(m);
}
END_TEST

static Suite *paths_suite(void)
{
    Suite *s = suite_create("hmm_paths");
    TCase *tc = tcase_create("ffbs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_marginals);
    tcase_add_test(tc, test_whole_paths);
    tcase_add_test(tc, test_ranges);
    tcase_add_test(tc, test_impossible);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(paths_suite)

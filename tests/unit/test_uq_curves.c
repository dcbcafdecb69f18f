/* uq-eval's curves (st_uq_roc_curve, st_uq_rejection_curve): hand-computed
 * points, and the areas under the points equal the metrics uq-eval prints
 * (AUROC, AUPRC, AUARC, PRR) on data with many ties. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "check_util.h"
#include "core/rng.h"
#include "uq/uq.h"

/* The areas a reader of the curve computes: trapezoids under (fpr, tpr),
 * the step sum of average precision, the mean of the rejection curve. */
static double trapezoid(const double *x, const double *y, size_t m)
{
    double a = 0;
    for (size_t k = 1; k < m; k++)
        a += (x[k] - x[k - 1]) * (y[k] + y[k - 1]) / 2;
    return a;
}

static double step_sum(const double *recall, const double *prec, size_t m)
{
    double a = 0;
    for (size_t k = 1; k < m; k++)
        a += (recall[k] - recall[k - 1]) * prec[k];
    return a;
}

static double mean(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s / (double)n;
}

START_TEST(test_roc_points)
{
    /* scikit-learn's example (error = label 0 is the positive class): from
     * the top u = 0.8 (error), 0.4 (correct), 0.35 (error), 0.1 (correct) */
    double u[] = {0.1, 0.4, 0.35, 0.8}, y[] = {1, 1, 0, 0};
    double thr[5], fpr[5], tpr[5], prec[5];
    size_t m;
    ck_assert_int_eq(st_uq_roc_curve(u, y, 4, thr, fpr, tpr, prec, &m), 0);
    ck_assert_uint_eq(m, 5);
    double wthr[] = {INFINITY, 0.8, 0.4, 0.35, 0.1}, wfpr[] = {0, 0, 0.5, 0.5, 1}, wtpr[] = {0, 0.5, 0.5, 1, 1},
           wprec[] = {NAN, 1, 0.5, 2.0 / 3, 0.5};
    for (size_t k = 0; k < m; k++) {
        ck_assert(thr[k] == wthr[k]);
        ck_assert_near(fpr[k], wfpr[k], 0);
        ck_assert_near(tpr[k], wtpr[k], 0);
        if (k)
            ck_assert_near(prec[k], wprec[k], 1e-16);
    }
    ck_assert(isnan(prec[0]));
    ck_assert_near(trapezoid(fpr, tpr, m), 0.75, 1e-15);
    ck_assert_near(step_sum(tpr, prec, m), 5.0 / 6, 1e-15);
    /* all tied: one step from (0,0) to (1,1), the diagonal: area 1/2 */
    double t4[] = {2, 2, 2, 2};
    ck_assert_int_eq(st_uq_roc_curve(t4, y, 4, thr, fpr, tpr, prec, &m), 0);
    ck_assert_uint_eq(m, 2);
    ck_assert_near(trapezoid(fpr, tpr, m), 0.5, 0);
    ck_assert_near(prec[1], 0.5, 0);
    /* no correct row: fpr undefined, precision 1 */
    double zero[] = {0, 0, 0, 0};
    ck_assert_int_eq(st_uq_roc_curve(u, zero, 4, thr, fpr, tpr, prec, &m), 0);
    ck_assert(isnan(fpr[1]) && tpr[4] == 1 && prec[4] == 1);
    ck_assert_int_eq(st_uq_roc_curve(u, y, 0, thr, fpr, tpr, prec, &m), 0);
    ck_assert_uint_eq(m, 0);
}
END_TEST

START_TEST(test_rejection_points)
{
    /* y in order of u: 1,0,1,0; keeping 4, 3, 2, 1 rows: 2/4, 2/3, 1/2, 1 */
    double u[] = {0.1, 0.2, 0.3, 0.4}, y[] = {1, 0, 1, 0}, acc[4], orc[4];
    ck_assert_int_eq(st_uq_rejection_curve(u, y, 4, acc, orc), 0);
    double want[] = {0.5, 2.0 / 3, 0.5, 1}, wor[] = {0.5, 2.0 / 3, 1, 1};
    for (int k = 0; k < 4; k++) {
        ck_assert_near(acc[k], want[k], 1e-16);
        ck_assert_near(orc[k], wor[k], 1e-16);
    }
    /* tied rows keep their group's mean label */
    double t[] = {1, 1, 1, 1};
    ck_assert_int_eq(st_uq_rejection_curve(t, y, 4, acc, NULL), 0);
    for (int k = 0; k < 4; k++)
        ck_assert_near(acc[k], 0.5, 1e-16);
}
END_TEST

/* The areas under the curve points are uq-eval's metrics to 1e-12, on
 * scores with many ties (u rounded to 6 levels) and on continuous ones. */
START_TEST(test_areas_match_metrics)
{
    enum { N = 500 };
    st_rng r;
    st_rng_seed(&r, 11);
    double *u = malloc(N * sizeof *u), *y = malloc(N * sizeof *y), *q = malloc(N * sizeof *q);
    double *thr = malloc((N + 1) * 4 * sizeof *thr), *fpr = thr + N + 1, *tpr = fpr + N + 1, *prec = tpr + N + 1;
    double *acc = malloc(2 * N * sizeof *acc), *orc = acc + N;
    ck_assert(u && y && q && thr && acc);
    for (int tied = 0; tied < 2; tied++) {
        for (int i = 0; i < N; i++) {
            double z = st_rng_normal(&r);
            y[i] = st_rng_uniform(&r) < 1 / (1 + exp(z)) ? 1 : 0; /* errors at high z */
            u[i] = tied ? floor(z * 1.5) : z;
            q[i] = st_rng_uniform(&r); /* quality labels for the rejection curve */
        }
        size_t m;
        ck_assert_int_eq(st_uq_roc_curve(u, y, N, thr, fpr, tpr, prec, &m), 0);
        ck_assert(tied ? m < 12 : m == N + 1);
        ck_assert_near(trapezoid(fpr, tpr, m), st_uq_auroc(u, y, N), 1e-12);
        ck_assert_near(step_sum(tpr, prec, m), st_uq_auprc(u, y, N), 1e-12);
        ck_assert_near(fpr[m - 1], 1, 0);
        ck_assert_near(tpr[m - 1], 1, 0);
        for (int lab = 0; lab < 2; lab++) {
            const double *l = lab ? q : y;
            ck_assert_int_eq(st_uq_rejection_curve(u, l, N, acc, orc), 0);
            ck_assert_near(mean(acc, N), st_uq_rejection_area(u, l, N, 1), 1e-12);
            double base = mean(l, N);
            ck_assert_near(acc[0], base, 1e-12);
            ck_assert_near((mean(acc, N) - base) / (mean(orc, N) - base), st_uq_prr(u, l, N, 1), 1e-12);
        }
    }
    free(u);
    free(y);
    free(q);
    free(thr);
    free(acc);
}
END_TEST

static Suite *uq_curves_suite(void)
{
    Suite *s = suite_create("uq_curves");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_roc_points);
    tcase_add_test(tc, test_rejection_points);
    tcase_add_test(tc, test_areas_match_metrics);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(uq_curves_suite)

/* uq evaluation metrics on hand-computed cases, including ties; the
 * per-column evaluation with bootstrap; the uq-entropy driver. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "uq/eval.h"
#include "uq/run.h"
#include "uq/uq.h"

START_TEST(test_auroc)
{
    /* scikit-learn's roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75,
     * with error (label 0 here) as the positive class */
    double u[] = {0.1, 0.4, 0.35, 0.8}, y[] = {1, 1, 0, 0};
    ck_assert_near(st_uq_auroc(u, y, 4), 0.75, 1e-15);
    /* ties count 1/2: positives {1,2} vs negatives {0,1}: (1 + .5 + 1 + 1)/4 */
    double u2[] = {0, 1, 1, 2}, y2[] = {1, 1, 0, 0};
    ck_assert_near(st_uq_auroc(u2, y2, 4), 0.875, 1e-15);
    double u3[] = {3, 3, 3, 3};
    ck_assert_near(st_uq_auroc(u3, y2, 4), 0.5, 1e-15);
    double one[] = {1, 1, 1, 1};
    ck_assert(isnan(st_uq_auroc(u, one, 4)));
}
END_TEST

START_TEST(test_auprc)
{
    /* scikit-learn's average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.8333 */
    double u[] = {0.1, 0.4, 0.35, 0.8}, y[] = {1, 1, 0, 0};
    ck_assert_near(st_uq_auprc(u, y, 4), 5.0 / 6.0, 1e-15);
    /* all tied: one threshold, precision = base rate */
    double u2[] = {1, 1, 1, 1};
    ck_assert_near(st_uq_auprc(u2, y, 4), 0.5, 1e-15);
}
END_TEST

START_TEST(test_prr)
{
    /* y in order of u: 1,0,1,0.  S = 1,1,2,2: A = (1 + 1/2 + 2/3 + 2/4)/4 = 2/3;
     * oracle S = 1,2,2,2: A = 19/24; random 1/2: PRR = (1/6)/(7/24) = 4/7 */
    double u[] = {0.1, 0.2, 0.3, 0.4}, y[] = {1, 0, 1, 0};
    ck_assert_near(st_uq_rejection_area(u, y, 4, 1), 2.0 / 3.0, 1e-15);
    ck_assert_near(st_uq_prr(u, y, 4, 1), 4.0 / 7.0, 1e-14);
    /* the oracle itself scores 1, its reverse is symmetric around 0 */
    double best[] = {0, 1, 0, 1}, worst[] = {1, 0, 1, 0};
    ck_assert_near(st_uq_prr(best, y, 4, 1), 1, 1e-14);
    ck_assert_near(st_uq_prr(worst, y, 4, 1), -1, 1e-14);
    /* all tied: expected curve of a random order = random baseline */
    double tied[] = {5, 5, 5, 5};
    ck_assert_near(st_uq_prr(tied, y, 4, 1), 0, 1e-15);
    /* max_rej 0.5: r = 3 rejections, keep 6, 5 and 4 rows */
    double u5[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, y5[] = {1, 1, 0, 1, 0, 0};
    /* S = 1,2,2,3,3,3: A = (3/6 + 3/5 + 3/4)/3; the oracle (S = 1,2,3,3,3,3) has the same tail */
    double a = (3.0 / 6 + 3.0 / 5 + 3.0 / 4) / 3;
    ck_assert_near(st_uq_rejection_area(u5, y5, 6, 0.5), a, 1e-15);
    ck_assert_near(st_uq_prr(u5, y5, 6, 0.5), 1, 1e-14);
    double one[] = {1, 1, 1, 1};
    ck_assert(isnan(st_uq_prr(u, one, 4, 1)));
}
END_TEST

START_TEST(test_spearman_ece_tsu)
{
    double u[] = {1, 2, 3}, y[] = {3, 2, 1};
    ck_assert_near(st_uq_spearman(u, y, 3), 1, 1e-15);
    /* ties: average ranks.  -u = {-1,-1,-3} ranks {2.5,2.5,1}; y ranks {1,2,3}:
     * centred {.5,.5,-1} and {-1,0,1}: r = -1.5 / sqrt(1.5 * 2) */
    double u2[] = {1, 1, 3}, y2[] = {1, 2, 3};
    ck_assert_near(st_uq_spearman(u2, y2, 3), -1.5 / sqrt(3.0), 1e-15);

    /* bins 9 and 1: (2/4)|0.5 - 0.9| + (2/4)|0 - 0.1| = 0.25 */
    double c[] = {0.9, 0.9, 0.1, 0.1}, yc[] = {1, 0, 0, 0};
    ck_assert_near(st_uq_ece(c, yc, 4, 10), 0.25, 1e-15);
    double bad[] = {1.2, 0.5};
    ck_assert(isnan(st_uq_ece(bad, yc, 2, 10)));
    /* confidence exactly 1 falls in the last bin */
    double c1[] = {1.0}, y1[] = {1};
    ck_assert_near(st_uq_ece(c1, y1, 1, 10), 0, 0);

    /* group 1 rises, group 2 falls; group 3 has a tie (not a rise) */
    double g[] = {1, 1, 2, 2, 3, 3}, t[] = {0.5, 1, 1, 0.5, 0.5, 1}, us[] = {1, 2, 2, 3, 4, 4};
    ck_assert_near(st_uq_tsu(us, g, t, 6), 1.0 / 3.0, 1e-15);
    /* three temperatures: pairs (a<b) = 3, rises 2 */
    double g3[] = {1, 1, 1}, t3[] = {0.2, 0.7, 1.2}, u3[] = {1, 3, 2};
    ck_assert_near(st_uq_tsu(u3, g3, t3, 3), 2.0 / 3.0, 1e-15);
    double same[] = {1, 1};
    ck_assert(isnan(st_uq_tsu(u3, g3, same, 2)));
}
END_TEST

START_TEST(test_ranks)
{
    double x[] = {10, 20, 10, 30, 20}, r[5];
    st_uq_ranks(x, 5, r, NULL);
    ck_assert_near(r[0], 1.5, 0);
    ck_assert_near(r[2], 1.5, 0);
    ck_assert_near(r[1], 3.5, 0);
    ck_assert_near(r[4], 3.5, 0);
    ck_assert_near(r[3], 5, 0);
}
END_TEST


START_TEST(test_evaluate)
{
    /* a confidence is ranked as its negative; NaN rows are left out */
    double conf[] = {0.9, 0.6, 0.65, 0.2, NAN}, y[] = {1, 1, 0, 0, 1};
    double id[] = {1, 2, 3, 4, 5};
    st_uq_eval_opts o;
    st_uq_eval_opts_default(&o);
    st_uq_stat st[ST_UQ_NMETRICS];
    st_err e;
    ck_assert_int_eq(st_uq_evaluate(conf, y, id, NULL, 5, 1, &o, st, &e), 0);
    double u[] = {-0.9, -0.6, -0.65, -0.2};
    ck_assert_near(st[ST_UQ_M_AUROC].value, st_uq_auroc(u, y, 4), 0);
    ck_assert_uint_eq(st[ST_UQ_M_AUROC].n, 4);
    ck_assert_near(st[ST_UQ_M_PRR].value, st_uq_prr(u, y, 4, 1), 0);
    ck_assert_near(st[ST_UQ_M_ECE].value, st_uq_ece(conf, y, 4, 10), 0);
    ck_assert(isnan(st[ST_UQ_M_TSU].value));
    ck_assert(isnan(st[ST_UQ_M_AUROC].lo));
    /* as an uncertainty there is no ECE */
    ck_assert_int_eq(st_uq_evaluate(conf, y, id, NULL, 5, 0, &o, st, &e), 0);
    ck_assert(isnan(st[ST_UQ_M_ECE].value));
    ck_assert_near(st[ST_UQ_M_AUROC].value, 1 - st_uq_auroc(u, y, 4), 1e-15);
}
END_TEST

START_TEST(test_bootstrap)
{
    /* 200 rows, score informative; the interval holds the estimate, is
     * reproducible for a seed and changes with it */
    size_t n = 200;
    double *s = malloc(4 * n * sizeof *s), *y = s + n, *id = s + 2 * n, *t = s + 3 * n;
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++) {
        y[i] = (i * 7919 % 13) < 8;
        s[i] = (1 - y[i]) + (double)(i * 104729 % 101) / 60.0;
        id[i] = (double)(i / 2);
        t[i] = i % 2 ? 1.0 : 0.5;
    }
    st_uq_eval_opts o;
    st_uq_eval_opts_default(&o);
    o.bootstrap = 300;
    o.seed = 11;
    st_uq_stat a[ST_UQ_NMETRICS], b[ST_UQ_NMETRICS];
    st_err e;
    ck_assert_int_eq(st_uq_evaluate(s, y, id, t, n, 0, &o, a, &e), 0);
    ck_assert_int_eq(st_uq_evaluate(s, y, id, t, n, 0, &o, b, &e), 0);
    for (int k = 0; k < ST_UQ_NMETRICS; k++) {
        if (isnan(a[k].value))
            continue;
        ck_assert_msg(a[k].lo <= a[k].value && a[k].value <= a[k].hi, "%s: %g not in [%g, %g]",
                      st_uq_metric_name(k), a[k].value, a[k].lo, a[k].hi);
        ck_assert(a[k].lo == b[k].lo && a[k].hi == b[k].hi);
    }
    ck_assert_uint_eq(a[ST_UQ_M_TSU].n, 100);
    o.seed = 12;
    ck_assert_int_eq(st_uq_evaluate(s, y, id, t, n, 0, &o, b, &e), 0);
    ck_assert(a[ST_UQ_M_AUROC].lo != b[ST_UQ_M_AUROC].lo || a[ST_UQ_M_AUROC].hi != b[ST_UQ_M_AUROC].hi);
    ck_assert(a[ST_UQ_M_AUROC].value == b[ST_UQ_M_AUROC].value);
    free(s);
}
END_TEST

START_TEST(test_entropy_run)
{
    /* the driver on the closed-form fixture: columns, ids, NaN counts */
    const char *top = getenv("top_srcdir");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/uq-closed.jsonl", top ? top : ".");
    st_uq_opts o;
    st_uq_opts_default(&o);
    int which[] = {ST_UQ_SE, ST_UQ_GNLL};
    st_uq_result *r;
    st_err e;
    const char *paths[] = {path};
    st_uq_run_opts ro = {0, 0};
    ck_assert_int_eq(st_uq_entropy_run(paths, 1, &ro, &o, which, 2, &r, &e), 0);
    ck_assert_uint_eq(r->n, 3);
    ck_assert_uint_eq(r->ncols, 4); /* id, se, g-nll, correct */
    ck_assert(r->has_correct && !r->has_temperature && !r->ids_are_strings && !r->id_dict);
    ck_assert_near(r->data[0 * 4 + 1], log(2.0), 1e-15);
    ck_assert_near(r->data[1 * 4 + 2], 2, 0);
    ck_assert_near(r->data[2 * 4 + 0], 3, 0);
    ck_assert_uint_eq(r->nan_count[0], 1);
    ck_assert_uint_eq(r->nan_count[1], 2);
    ck_assert_str_eq(r->ids[1], "2");
    st_uq_result_free(r);
    /* a missing file is an I/O error naming it */
    const char *missing[] = {"/nonexistent/uq.jsonl"};
    ck_assert_int_eq(st_uq_entropy_run(missing, 1, &ro, &o, which, 2, &r, &e), ST_EIO);
    ck_assert_str_eq(e.file, "/nonexistent/uq.jsonl");
}
END_TEST

static Suite *uq_metrics_suite(void)
{
    Suite *s = suite_create("uq_metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_auroc);
    tcase_add_test(tc, test_auprc);
    tcase_add_test(tc, test_prr);
    tcase_add_test(tc, test_spearman_ece_tsu);
    tcase_add_test(tc, test_ranks);
    tcase_add_test(tc, test_evaluate);
    tcase_add_test(tc, test_bootstrap);
    tcase_add_test(tc, test_entropy_run);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(uq_metrics_suite)

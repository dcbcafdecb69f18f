/* lib/plot: names, dates (against days counted by hand), the kind a stream
 * looks like, scripts of small tables (the numbers they carry, the areas in
 * the legends, errors), and running a program that is missing, fails or
 * stops reading. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "plot/plot.h"

/* A table over static arrays (st_table_free is not called on it). */
static st_table table(char **names, size_t ncols, double *data, size_t nrows)
{
    static st_dtype dt[32];
    st_table t = {.nrows = nrows, .ncols = ncols, .names = names, .dtypes = dt, .data = data, .source = "mem.csv"};
    return t;
}

/* The script of o over in, as a malloc'ed string (NULL on error, e filled). */
static char *script(const st_plot_opts *o, const st_plot_inputs *in, st_err *e)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert(f != NULL);
    int rc = st_plot_script(f, o, in, NULL, NULL, e);
    fclose(f);
    if (rc < 0) {
        free(text);
        return NULL;
    }
    return text;
}

START_TEST(test_names)
{
    ck_assert_int_eq(st_plot_kind_parse("rejection"), ST_PLOT_REJECTION);
    ck_assert_int_eq(st_plot_kind_parse("fan"), -1);
    ck_assert_str_eq(st_plot_kind_name(ST_PLOT_TRANSITION), "transition");
    ck_assert_int_eq(st_plot_term_parse("sixel"), ST_PLOT_SIXEL);
    ck_assert_int_eq(st_plot_term_for_path("a/b.SVG"), ST_PLOT_SVG);
    ck_assert_int_eq(st_plot_term_for_path("x.pdf"), ST_PLOT_PDF);
    ck_assert_int_eq(st_plot_term_for_path("x.jpg"), -1);
    ck_assert_int_eq(st_plot_term_for_path("dir.png/x"), -1);
    ck_assert_int_eq(st_plot_term_for_path("noext"), -1);
}
END_TEST

START_TEST(test_dates)
{
    st_plot_dates d;
    /* 1970-01-01 is day 0; 2000-03-01 is day 11017 (30 years and 8 leap days to 2000, then Jan and Feb 2000) */
    ck_assert_int_eq(st_plot_dates_parse("1970-01-01", &d), 0);
    ck_assert_int_eq(d.step, ST_PLOT_STEP_DAY);
    ck_assert(st_plot_dates_day(&d, 1) == 0);
    ck_assert(st_plot_dates_day(&d, 11018) == 11017);
    ck_assert_int_eq(st_plot_dates_parse("2000-01", &d), 0);
    ck_assert_int_eq(d.step, ST_PLOT_STEP_MONTH);
    ck_assert(st_plot_dates_day(&d, 3) == 11017);           /* t = 3: March 2000 */
    ck_assert(st_plot_dates_day(&d, 2.5) == 10957 + 31 + 14.5); /* half of February 2000 (29 days) */
    ck_assert(st_plot_dates_day(&d, -10) == 10623); /* t = -10: February 1999 */
    ck_assert_int_eq(st_plot_dates_parse("1960-Q3", &d), 0);
    ck_assert_int_eq(d.step, ST_PLOT_STEP_QUARTER);
    ck_assert_int_eq(d.month, 7);
    ck_assert_int_eq(st_plot_dates_parse("1871", &d), 0);
    ck_assert_int_eq(d.step, ST_PLOT_STEP_YEAR);
    ck_assert_int_eq(st_plot_dates_parse("2024-01-31,month", &d), 0);
    ck_assert(st_plot_dates_day(&d, 2) == 19782); /* Jan 31 + 1 month: Feb 29, 2024 (clamped; Python datetime) */
    ck_assert_int_eq(st_plot_dates_parse("2024-01-01,week", &d), 0);
    ck_assert(st_plot_dates_day(&d, 3) - st_plot_dates_day(&d, 1) == 14);
    const char *bad[] = {"1949-13", "1949-02-30", "49-01", "1949-Q5", "2024-01-01,fortnight", "", "1949-01-01x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(st_plot_dates_parse(bad[i], &d) < 0, "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_guess)
{
    char *fc[] = {"seq", "t", "mean", "sd", "lo80", "hi80"}, *cv[] = {"threshold.u", "fpr.u", "tpr.u"},
         *st[] = {"seq", "t", "state", "x"}, *tr[] = {"K", "restart", "iter", "logl"},
         *pg[] = {"from", "t", "p0", "p1", "stay"}, *sm[] = {"t", "ess", "x_smean"}, *no[] = {"a", "b"};
    double z[6] = {0};
    st_table t;
    t = table(fc, 6, z, 0);
    ck_assert_int_eq(st_plot_guess_kind(&t), ST_PLOT_FORECAST);
    t = table(cv, 3, z, 0);
    ck_assert_int_eq(st_plot_guess_kind(&t), ST_PLOT_ROC);
    t = table(st, 4, z, 0);
    ck_assert_int_eq(st_plot_guess_kind(&t), ST_PLOT_STATES);
    t = table(tr, 4, z, 0);
    ck_assert_int_eq(st_plot_guess_kind(&t), ST_PLOT_TRACE);
    t = table(pg, 5, z, 0);
    ck_assert_int_eq(st_plot_guess_kind(&t), ST_PLOT_TRANSITION);
    t = table(sm, 3, z, 0);
    ck_assert_int_eq(st_plot_guess_kind(&t), ST_PLOT_SMOOTH);
    t = table(no, 2, z, 0);
    ck_assert_int_eq(st_plot_guess_kind(&t), -1);
}
END_TEST

/* A forecast's rows reach the script exactly, widest interval first, and
 * the dates follow --dates. */
START_TEST(test_forecast_script)
{
    char *names[] = {"t", "mean", "lo80", "hi80", "lo95", "hi95"};
    double rows[] = {13, 10.5, 9.25, 11.75, 8.5, 12.5, 14, 11, 9, 13, 8, 14};
    st_table f = table(names, 6, rows, 2);
    st_plot_opts o;
    st_plot_opts_init(&o);
    o.kind = ST_PLOT_FORECAST;
    st_plot_inputs in = {&f, NULL, NULL};
    st_err e;
    char *s = script(&o, &in, &e);
    ck_assert_msg(s != NULL, "%s", e.msg);
    ck_assert_msg(strstr(s, "\n13 10.5 8.5 12.5 9.25 11.75\n14 11 8 14 9 13\n") != NULL, "%s", s);
    ck_assert(strstr(s, "pngcairo size 640,400") != NULL);
    ck_assert(strstr(s, "set output") == NULL);
    free(s);
    ck_assert_int_eq(st_plot_dates_parse("2023-01", &o.dates), 0);
    o.term = ST_PLOT_SVG;
    o.output = "a \"b\".svg";
    s = script(&o, &in, &e);
    ck_assert(s != NULL);
    ck_assert_msg(strstr(s, "\n2024-01-01 10.5 ") != NULL && strstr(s, "\n2024-02-01 11 ") != NULL, "%s", s);
    ck_assert(strstr(s, "set output \"a \\\"b\\\".svg\"\n") != NULL);
    ck_assert(strstr(s, "set terminal svg size 640,400") != NULL);
    free(s);
}
END_TEST

/* The legend's areas are computed from the points: a ROC with a tie
 * (trapezoid 0.75) and its PR steps (5/6), the rejection mean. */
START_TEST(test_curves_areas)
{
    /* uq-eval --curves of scikit-learn's example, and a second score */
    char *names[] = {"fpr.u", "tpr.u", "precision.u", "rejected.u", "accuracy.u", "fpr.v", "tpr.v", "precision.v"};
    double N = NAN;
    double rows[] = {0,   0,   N,         0,    0.5,  0, 0, N,   /* */
                     0,   0.5, 1,         0.25, 2. / 3, 1, 1, 0.5, /* */
                     0.5, 0.5, 0.5,       0.5,  0.5,  N, N, N,   /* */
                     0.5, 1,   2. / 3,    0.75, 1,    N, N, N,   /* */
                     1,   1,   0.5,       N,    N,    N, N, N};
    st_table t = table(names, 8, rows, 5);
    st_plot_opts o;
    st_plot_opts_init(&o);
    st_plot_inputs in = {&t, NULL, NULL};
    st_err e;
    o.kind = ST_PLOT_ROC;
    char *s = script(&o, &in, &e);
    ck_assert_msg(s != NULL, "%s", e.msg);
    ck_assert_msg(strstr(s, "title \"u (AUROC 0.750)\"") != NULL, "%s", s);
    ck_assert(strstr(s, "title \"v (AUROC 0.500)\"") != NULL);
    ck_assert(strstr(s, "u (AUROC") < strstr(s, "v (AUROC")); /* ordered by area */
    free(s);
    o.kind = ST_PLOT_PR;
    s = script(&o, &in, &e);
    ck_assert(s != NULL);
    ck_assert_msg(strstr(s, "title \"u (AUPRC 0.833)\"") != NULL, "%s", s);
    ck_assert(strstr(s, "random (0.500)") != NULL);
    free(s);
    o.kind = ST_PLOT_REJECTION;
    s = script(&o, &in, &e);
    ck_assert(s != NULL);
    ck_assert_msg(strstr(s, "title \"u (AUARC 0.667)\"") != NULL, "%s", s);
    free(s);
    o.kind = ST_PLOT_ROC;
    o.columns = "w";
    ck_assert(script(&o, &in, &e) == NULL);
    ck_assert_int_eq(e.code, ST_EDATA);
    ck_assert_msg(strstr(e.msg, "no score 'w' (the stream has u,v)") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_wrong_stream)
{
    char *names[] = {"fpr.u", "tpr.u"};
    double rows[] = {0, 0, 1, 1};
    st_table t = table(names, 2, rows, 2);
    st_plot_opts o;
    st_plot_opts_init(&o);
    o.kind = ST_PLOT_TRACE;
    st_plot_inputs in = {&t, NULL, NULL};
    st_err e;
    ck_assert(script(&o, &in, &e) == NULL);
    ck_assert_msg(strstr(e.msg, "try 'stoch-plot roc'") != NULL, "%s", e.msg);
    ck_assert_str_eq(e.file, "mem.csv");
    o.kind = ST_PLOT_STATES;
    ck_assert(script(&o, &in, &e) == NULL);
    ck_assert_msg(strstr(e.msg, "no column 'state'") != NULL, "%s", e.msg);
}
END_TEST

START_TEST(test_run)
{
    const char *s = "set terminal dumb\nplot x\n";
    char *msgs = NULL;
    st_err e;
    ck_assert_int_eq(st_plot_run("/nonexistent/gnuplot", s, strlen(s), &msgs, &e), ST_EIO);
    ck_assert_msg(strstr(e.msg, "apt-get install gnuplot-nox") != NULL, "%s", e.msg);
    free(msgs);
    ck_assert_int_eq(st_plot_run("false", s, strlen(s), &msgs, &e), ST_EIO);
    ck_assert_msg(strstr(e.msg, "false failed (exit 1)") != NULL, "%s", e.msg);
    free(msgs);
    /* a program that reads nothing and succeeds has not drawn the picture;
     * a script bigger than a pipe makes sure the write notices */
    size_t big = 1 << 20;
    char *text = malloc(big);
    ck_assert(text != NULL);
    memset(text, '#', big);
    ck_assert_int_eq(st_plot_run("true", text, big, &msgs, &e), ST_EIO);
    ck_assert_msg(strstr(e.msg, "stopped before reading the whole script") != NULL, "%s", e.msg);
    free(msgs);
    free(text);
}
END_TEST

START_TEST(test_sixel_answer)
{
    /* xterm -ti vt340, mlterm, foot answer with 4 among the attributes */
    ck_assert(st_plot_da1_sixel("\033[?63;1;2;4;6;9;15;22c"));
    ck_assert(st_plot_da1_sixel("\033[?62;4c"));
    /* plain xterm, VTE, and no or a broken answer */
    ck_assert(!st_plot_da1_sixel("\033[?64;1;2;6;9;15;16;17;18;21;22;28c"));
    ck_assert(!st_plot_da1_sixel("\033[?65;1;9c"));
    ck_assert(!st_plot_da1_sixel(""));
    ck_assert(!st_plot_da1_sixel("\033[?62;x4c"));
    ck_assert(!st_plot_da1_sixel("\033[?44c"));
}
END_TEST

static Suite *plot_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_dates);
    tcase_add_test(tc, test_guess);
    tcase_add_test(tc, test_forecast_script);
    tcase_add_test(tc, test_curves_areas);
    tcase_add_test(tc, test_wrong_stream);
    tcase_add_test(tc, test_run);
    tcase_add_test(tc, test_sixel_answer);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(plot_suite)

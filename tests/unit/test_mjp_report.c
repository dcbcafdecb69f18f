/* lib/mjp reports and data conventions (issues 13, 16): censor and --at
 * specifications, derived-quantity and prevalence tables against closed
 * forms and direct counts, state labels (text state columns mapped by the
 * model's labels, written back as labels), msm's deathexact, the range
 * and labels of a state column, and the refusal of states that the data
 * never show; the parametric bootstrap against the observed information. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "core/rng.h"
#include "core/stream.h"
#include "mjp/mjp.h"

/* A table read from CSV text (strings allowed). */
static st_table *csv_table(const char *text)
{
    char path[] = "/tmp/test_mjp_report.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq((int)write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    st_reader_opts o = {.any_type = 1};
    const char *paths[] = {path};
    st_table *t = NULL;
    st_err e;
    int rc = st_table_read_opts(&t, paths, 1, &o, &e);
    unlink(path);
    ck_assert_msg(rc == 0, "%s", e.msg);
    return t;
}

/* 3 states: 0 <-> 1 -> 2 (absorbing). */
static st_mjp *three(void)
{
    st_mjp *m;
    st_err e;
    ck_assert_int_eq(st_mjp_new(&m, 3, &e), 0);
    double Q[9] = {-0.5, 0.5, 0, 0.25, -1.0, 0.75, 0, 0, 0};
    memcpy(m->Q, Q, sizeof Q);
    m->allowed[1] = m->allowed[3] = m->allowed[5] = 1;
    return m;
}

static void set_labels(st_mjp *m, const char *a, const char *b, const char *c)
{
    m->labels = calloc(3, sizeof *m->labels);
    m->labels[0] = strdup(a), m->labels[1] = strdup(b), m->labels[2] = strdup(c);
}

START_TEST(test_parse_censor)
{
    st_mjp_censor c;
    ck_assert_int_eq(st_mjp_parse_censor("99=1,2", &c), 0);
    ck_assert_near(c.code, 99, 0);
    ck_assert(!c.member[0] && c.member[1] && c.member[2] && !c.member[3]);
    ck_assert_int_eq(st_mjp_parse_censor("-1=0", &c), 0);
    ck_assert_near(c.code, -1, 0);
    ck_assert_int_eq(st_mjp_parse_censor("99", &c), -1);
    ck_assert_int_eq(st_mjp_parse_censor("=1", &c), -1);
    ck_assert_int_eq(st_mjp_parse_censor("99=", &c), -1);
    ck_assert_int_eq(st_mjp_parse_censor("99=1,x", &c), -1);
    ck_assert_int_eq(st_mjp_parse_censor("x=1", &c), -1);
}
END_TEST

START_TEST(test_parse_at)
{
    st_mjp *m = three();
    st_err e;
    const char *names[] = {"sex", "age"};
    ck_assert_int_eq(st_mjp_set_covariates(m, names, 2, &e), 0);
    double mean[2] = {0.25, 40};
    ck_assert_int_eq(st_mjp_set_centre(m, mean, &e), 0);
    double z[2];
    ck_assert_msg(st_mjp_parse_at(m, "age=3", z, &e) == 0, "%s", e.msg);
    ck_assert_near(z[0], 0.25, 0);
    ck_assert_near(z[1], 3, 0);
    ck_assert_int_eq(st_mjp_parse_at(m, "sex=1,age=50", z, &e), 0);
    ck_assert_near(z[0], 1, 0);
    ck_assert_near(z[1], 50, 0);
    ck_assert_int_eq(st_mjp_parse_at(m, "bmi=3", z, &e), ST_EUSAGE);
    ck_assert_ptr_nonnull(strstr(e.msg, "'bmi' is not a covariate"));
    ck_assert_int_eq(st_mjp_parse_at(m, "age=old", z, &e), ST_EUSAGE);
    ck_assert_int_eq(st_mjp_parse_at(m, "age", z, &e), ST_EUSAGE);
    st_mjp_free(m);
}
END_TEST

/* Sojourn, next state and rates against -1/q, q_ab/-q_aa and Q; labels
 * as a dictionary whose code i is state i. */
START_TEST(test_derived_table)
{
    st_mjp *m = three();
    st_mjp_fit f;
    memset(&f, 0, sizeof f); /* no free parameters: estimates only */
    st_mjp_ci_opts co = {.method = ST_MJP_CI_NONE};
    st_mjp_table *t;
    st_err e;
    ck_assert_msg(st_mjp_derived_table(m, &f, ST_MJP_D_SOJOURN, NULL, 0, NULL, 0, INFINITY, -1, 1, &co, &t, &e) == 0,
                  "%s", e.msg);
    ck_assert_int_eq((int)t->ncol, 5);
    ck_assert_int_eq((int)t->nrow, 2); /* the absorbing state has none */
    ck_assert_str_eq(t->names[0], "state");
    ck_assert_int_eq(t->dt[0], ST_I8);
    ck_assert_near(t->v[0], 1, 0); /* state 0, numbered from 1 */
    ck_assert_near(t->v[1], 2, 1e-15);
    ck_assert_near(t->v[5], 2, 0);
    ck_assert_near(t->v[6], 1, 1e-15);
    ck_assert(isnan(t->v[2]));
    st_mjp_table_free(t);
    ck_assert_int_eq(st_mjp_derived_table(m, &f, ST_MJP_D_PNEXT, NULL, 0, NULL, 0, INFINITY, -1, 0, &co, &t, &e), 0);
    ck_assert_int_eq((int)t->nrow, 4); /* 0->1, 0->2, 1->0, 1->2 */
    ck_assert_near(t->v[0 * 6 + 2], 1, 1e-15);
    ck_assert_near(t->v[1 * 6 + 2], 0, 1e-15);
    ck_assert_near(t->v[2 * 6 + 2], 0.25, 1e-15);
    ck_assert_near(t->v[3 * 6 + 2], 0.75, 1e-15);
    st_mjp_table_free(t);
    set_labels(m, "well", "ill", "dead");
    ck_assert_int_eq(st_mjp_derived_table(m, &f, ST_MJP_D_QMATRIX, NULL, 0, NULL, 0, INFINITY, -1, 0, &co, &t, &e), 0);
    ck_assert_int_eq(t->dt[0], ST_STR);
    ck_assert_int_eq(t->dt[1], ST_STR);
    ck_assert_int_eq((int)t->nrow, 5); /* 2 diagonals + 3 allowed */
    ck_assert_str_eq(st_strdict_str(t->labels, t->v[t->ncol * 4 + 0]), "ill");
    ck_assert_str_eq(st_strdict_str(t->labels, t->v[t->ncol * 4 + 1]), "dead");
    ck_assert_near(t->v[t->ncol * 4 + 2], 0.75, 0);
    st_mjp_table_free(t);
    /* P(t) rows sum to 1; efpt needs a target */
    double times[2] = {0.5, 2};
    ck_assert_int_eq(st_mjp_derived_table(m, &f, ST_MJP_D_PMATRIX, NULL, 0, times, 2, 0, -1, 0, &co, &t, &e), 0);
    ck_assert_int_eq((int)t->nrow, 18);
    for (size_t r = 0; r < 18; r += 3)
        ck_assert_near(t->v[r * 7 + 3] + t->v[(r + 1) * 7 + 3] + t->v[(r + 2) * 7 + 3], 1, 1e-12);
    st_mjp_table_free(t);
    ck_assert_int_eq(st_mjp_derived_table(m, &f, ST_MJP_D_EFPT, NULL, 0, NULL, 0, 0, 5, 0, &co, &t, &e), ST_EUSAGE);
    st_mjp_free(m);
}
END_TEST

START_TEST(test_labels_and_deathexact)
{
    st_table *tab = csv_table("\"\",seq,t,state,note\n"
                              "\"1\",A-1,0,well,x\n\"2\",A-1,1,ill,y\n\"3\",A-1,2.5,dead,z\n"
                              "\"4\",B-2,0,ill,x\n\"5\",B-2,2,well,x\n\"6\",B-2,3,99,x\n");
    double lo, hi;
    char **lab;
    size_t nl;
    st_err e;
    st_mjp_censor cs;
    ck_assert_int_eq(st_mjp_parse_censor("99=0,1", &cs), 0);
    ck_assert_int_eq(st_mjp_table_states(tab, ST_MJP_PANEL, &cs, 1, &lo, &hi, &lab, &nl, &e), 0);
    ck_assert_int_eq((int)nl, 3); /* sorted, without the censor code */
    ck_assert_str_eq(lab[0], "dead");
    ck_assert_str_eq(lab[1], "ill");
    ck_assert_str_eq(lab[2], "well");
    for (size_t i = 0; i < nl; i++)
        free(lab[i]);
    free(lab);
    st_mjp *m = three();
    /* without labels the text is refused */
    st_mjp_data *d = NULL;
    st_mjp_data_opts o = {ST_MJP_PANEL, 0, &cs, 1, -1};
    ck_assert_int_eq(st_mjp_data_from_table_opts(&d, tab, m, &o, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "state labels need a model with labels"));
    set_labels(m, "well", "ill", "dead");
    ck_assert_msg(st_mjp_data_from_table_opts(&d, tab, m, &o, &e) == 0, "%s", e.msg);
    ck_assert_int_eq((int)d->nobs, 6);
    int want[6] = {0, 1, 2, 1, 0, -1};
    for (int k = 0; k < 6; k++)
        ck_assert_int_eq(d->y[k], want[k]);
    ck_assert_int_eq(d->obstype[2], ST_MJP_OBS_SNAPSHOT);
    double ll0;
    ck_assert_int_eq(st_mjp_loglik(m, d, &ll0, &e), 0);
    st_mjp_data_free(d);
    /* deathexact: the death row becomes obstype 3, a different likelihood */
    o.deathexact = 2;
    ck_assert_int_eq(st_mjp_data_from_table_opts(&d, tab, m, &o, &e), 0);
    ck_assert_int_eq(d->obstype[2], ST_MJP_OBS_DEATH);
    ck_assert_int_eq(d->obstype[1], ST_MJP_OBS_SNAPSHOT);
    double ll1;
    ck_assert_int_eq(st_mjp_loglik(m, d, &ll1, &e), 0);
    /* obstype 3 at 2.5 after ill at 1: P(ill at 2.4999..) density of 1->2:
     * sum_k P_1k(1.5) q_k2 with k != 2, against P_12(1.5) for the snapshot */
    ck_assert(fabs(ll1 - ll0) > 1e-3);
    ck_assert_int_eq(st_mjp_check_observed(m, d, 0, 0, &e), 0);
    st_mjp_data_free(d);
    /* a label outside the model, with the subject's text id */
    free(m->labels[2]);
    m->labels[2] = strdup("gone");
    o.deathexact = -1;
    ck_assert_int_eq(st_mjp_data_from_table_opts(&d, tab, m, &o, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "subject A-1, row 3: state 'dead' is not a label of the model"));
    st_mjp_free(m);
    st_table_free(tab);
}
END_TEST

START_TEST(test_observed_states)
{
    /* states 1..2 only of 0..2 */
    st_table *tab = csv_table("seq,t,state\n1,0,1\n1,1,2\n2,0,1\n2,3,1\n");
    double lo, hi;
    char **lab;
    size_t nl;
    st_err e;
    ck_assert_int_eq(st_mjp_table_states(tab, ST_MJP_PANEL, NULL, 0, &lo, &hi, &lab, &nl, &e), 0);
    ck_assert_ptr_null(lab);
    ck_assert_near(lo, 1, 0);
    ck_assert_near(hi, 2, 0);
    st_mjp *m = three(); /* 0 <-> 1 -> 2: state 0 reachable from 1 */
    st_mjp_data *d;
    ck_assert_int_eq(st_mjp_data_from_table(&d, tab, m, ST_MJP_PANEL, 0, NULL, 0, &e), 0);
    ck_assert_int_eq(st_mjp_check_observed(m, d, 1, 0, &e), 0);
    ck_assert_int_eq(st_mjp_check_observed(m, d, 0, 0, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "state 0 never appears in the data and every transition is allowed"));
    st_mjp_data_free(d);
    m->allowed[3] = 0; /* 1 -> 0 no more: state 0 unreachable */
    m->Q[3] = 0, m->Q[4] = -0.75;
    ck_assert_int_eq(st_mjp_data_from_table(&d, tab, m, ST_MJP_PANEL, 0, NULL, 0, &e), 0);
    ck_assert_int_eq(st_mjp_check_observed(m, d, 1, 0, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "state 0 never appears in the data and no observed state can reach it"));
    ck_assert_ptr_nonnull(strstr(e.msg, "--base 1"));
    st_mjp_data_free(d);
    st_mjp_free(m);
    st_table_free(tab);
}
END_TEST

/* Observed counts at the first time are the subjects' states then. */
START_TEST(test_prevalence_table)
{
    st_table *tab = csv_table("seq,t,state\n1,0,0\n1,1,1\n1,2,2\n2,0,0\n2,2,0\n3,0,1\n3,1.5,2\n");
    st_mjp *m = three();
    st_mjp_data *d;
    st_err e;
    ck_assert_int_eq(st_mjp_data_from_table(&d, tab, m, ST_MJP_PANEL, 0, NULL, 0, &e), 0);
    st_mjp_table *t;
    double times[2] = {0, 2};
    ck_assert_msg(st_mjp_prevalence_table(m, d, times, 2, 1, &t, &e) == 0, "%s", e.msg);
    ck_assert_int_eq((int)t->nrow, 6);
    ck_assert_str_eq(t->names[1], "state");
    double obs0[3] = {2, 1, 0};
    for (int i = 0; i < 3; i++) {
        ck_assert_near(t->v[i * 6 + 0], 0, 0);
        ck_assert_near(t->v[i * 6 + 1], i + 1, 0);
        ck_assert_near(t->v[i * 6 + 2], obs0[i], 0);
        ck_assert_near(t->v[i * 6 + 3], obs0[i], 1e-12); /* expected from the observed start */
    }
    double esum = 0;
    for (int i = 3; i < 6; i++)
        esum += t->v[i * 6 + 3];
    ck_assert_near(esum, 3, 1e-12);
    st_mjp_table_free(t);
    ck_assert_int_eq(st_mjp_prevalence_table(m, d, NULL, 0, 0, &t, &e), 0);
    ck_assert_int_eq((int)t->nrow, 33); /* msm's 11 default times */
    ck_assert_near(t->v[32 * 6], 2, 1e-15);
    st_mjp_table_free(t);
    st_mjp_data_free(d);
    st_mjp_free(m);
    st_table_free(tab);
}
END_TEST


/* Parametric bootstrap on a 2-state panel (q01 = 0.4, q10 = 0.2, 400
 * subjects seen at 0..5): the spread of the refits' log rates matches the
 * observed-information standard errors (the Monte Carlo error of an SD
 * from 200 refits is about 5 %: 20 % allowed), they centre on the
 * estimates, and the same seed gives the same refits. */
START_TEST(test_bootstrap)
{
    st_table *tab = calloc(1, sizeof *tab);
    static const char *cols[] = {"seq", "t", "state"};
    tab->ncols = 3;
    tab->names = calloc(3, sizeof *tab->names);
    tab->dtypes = calloc(3, sizeof *tab->dtypes);
    for (int j = 0; j < 3; j++)
        tab->names[j] = strdup(cols[j]);
    tab->source = strdup("test");
    size_t ns = 400, nv = 6;
    tab->data = malloc(ns * nv * 3 * sizeof *tab->data);
    st_rng g;
    st_rng_seed(&g, 3);
    double a = 0.4, b = 0.2;
    for (size_t s = 0; s < ns; s++) {
        int x = st_rng_uniform(&g) < 0.5;
        for (size_t v = 0; v < nv; v++) {
            if (v) {
                double p01 = a / (a + b) * (1 - exp(-(a + b))), p10 = b / (a + b) * (1 - exp(-(a + b)));
                x = x ? !(st_rng_uniform(&g) < p10) : st_rng_uniform(&g) < p01;
            }
            double *r = tab->data + tab->nrows++ * 3;
            r[0] = (double)s, r[1] = (double)v, r[2] = x;
        }
    }
    st_mjp *m;
    st_err e;
    ck_assert_int_eq(st_mjp_new(&m, 2, &e), 0);
    m->allowed[1] = m->allowed[2] = 1;
    m->Q[0] = -0.3, m->Q[1] = 0.3, m->Q[2] = 0.3, m->Q[3] = -0.3;
    st_mjp_data *d;
    ck_assert_int_eq(st_mjp_data_from_table(&d, tab, m, ST_MJP_PANEL, 0, NULL, 0, &e), 0);
    st_mjp_fit_opts fo = {.method = ST_MJP_FIT_AUTO, .want_se = 1};
    st_mjp_fit *f;
    ck_assert_msg(st_mjp_fit_run(m, d, &fo, &f, &e) == 0, "%s", e.msg);
    ck_assert_int_eq((int)f->nfree, 2);
    double th0[2];
    ck_assert_int_eq(st_mjp_fit_get_theta(f, m, th0), 0);
    double *th, *th2;
    size_t nok, nok2, B = 200;
    ck_assert_msg(st_mjp_bootstrap(m, f, d, B, 7, &th, &nok, &e) == 0, "%s", e.msg);
    ck_assert_int_eq((int)nok, (int)B);
    for (int k = 0; k < 2; k++) {
        double mean = 0, ss = 0;
        for (size_t i = 0; i < nok; i++)
            mean += th[i * 2 + k];
        mean /= (double)nok;
        for (size_t i = 0; i < nok; i++)
            ss += (th[i * 2 + k] - mean) * (th[i * 2 + k] - mean);
        double sd = sqrt(ss / (double)(nok - 1)), se = sqrt(f->cov[k * 2 + k]);
        ck_assert_msg(fabs(sd / se - 1) < 0.2, "theta %d: bootstrap sd %g, se %g", k, sd, se);
        ck_assert_msg(fabs(mean - th0[k]) < 3 * se / sqrt((double)nok) + 0.1 * se, "theta %d: mean %g, estimate %g", k,
                      mean, th0[k]);
    }
    ck_assert_int_eq(st_mjp_bootstrap(m, f, d, 20, 7, &th2, &nok2, &e), 0);
    ck_assert_int_eq(memcmp(th, th2, 20 * 2 * sizeof *th), 0); /* replicate b from stream b */
    free(th2);
    /* intervals from the refits: percentile, around the estimate */
    st_mjp_ci_opts co = {.method = ST_MJP_CI_BOOT, .boot = th, .nboot = nok};
    st_mjp_dspec sp = {.kind = ST_MJP_D_SOJOURN};
    double est[2], se[2], lo[2], hi[2];
    ck_assert_int_eq(st_mjp_derived_ci(m, f, &sp, &co, est, se, lo, hi, &e), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(lo[i] < est[i] && est[i] < hi[i], "%g %g %g", lo[i], est[i], hi[i]);
    free(th);
    st_mjp_fit_free(f);
    st_mjp_data_free(d);
    st_mjp_free(m);
    st_table_free(tab);
}
END_TEST

static Suite *mjp_report_suite(void)
{
    Suite *s = suite_create("mjp_report");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_censor);
    tcase_add_test(tc, test_parse_at);
    tcase_add_test(tc, test_derived_table);
    tcase_add_test(tc, test_labels_and_deathexact);
    tcase_add_test(tc, test_observed_states);
    tcase_add_test(tc, test_prevalence_table);
    tcase_add_test(tc, test_bootstrap);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(mjp_report_suite)

/* ssm-forecast's per-series pipeline (forecast.c), the S4D forecaster
 * (s4d.c) and model files (model_io.c): accuracy measures by hand, the
 * log back-transform, holdout rows, S4D on a noiseless periodic signal,
 * and model files that round-trip every double. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "ssm/forecast.h"
#include "ssm/model_io.h"
#include "ssm/mxpar.h"
#include "core/linalg.h"
#include "core/yaml.h"

START_TEST(test_mase_smape)
{
    /* train 1,3,2,4 (m=1): in-sample naive MAE = (2+1+2)/3 = 5/3;
     * errors |5-4| + |6-8| = 3 over 2 -> 1.5 / (5/3) = 0.9 */
    double train[4] = {1, 3, 2, 4}, act[2] = {5, 6}, fc[2] = {4, 8};
    ck_assert_near(st_ssm_mase(train, 4, 1, act, fc, 2), 0.9, 1e-12);
    /* sMAPE: 200*(1/9 + 2/14)/2 */
    ck_assert_near(st_ssm_smape(act, fc, 2), 100 * (1.0 / 9 + 2.0 / 14), 1e-12);
    /* seasonal scale m=2: |2-1| + |4-3| = 2 over 2 -> 1; 1.5 / 1 */
    ck_assert_near(st_ssm_mase(train, 4, 2, act, fc, 2), 1.5, 1e-12);
    /* missing actuals are skipped */
    double act2[2] = {NAN, 6};
    ck_assert_near(st_ssm_smape(act2, fc, 2), 200 * 2.0 / 14, 1e-12);
}
END_TEST

static void *opts_level(st_ssmf_opts *o, const double *levels, int output, size_t h, const double *th)
{
    st_err e;
    st_uc_spec sp;
    void *spec;
    memset(o, 0, sizeof *o);
    o->output = output;
    o->h = h;
    o->levels = levels;
    o->nlevels = 2;
    o->period = 1;
    ck_assert_int_eq(st_uc_parse("level", 0, &sp, &e), 0);
    ck_assert_int_eq(st_uc_family_spec(&sp, th, &spec, &e), 0);
    o->fam = &st_ssm_family_structural;
    o->spec = spec;
    return spec;
}

START_TEST(test_log_backtransform)
{
    /* fixed level model on log y: mean = exp(mu + s^2/2), bounds exp(mu +- z s) */
    const double lv[2] = {80, 95};
    double y[30], th[2] = {0.01, 0.02};
    for (int t = 0; t < 30; t++)
        y[t] = exp(1 + 0.1 * sin(t));
    st_ssmf_opts o;
    void *spec = opts_level(&o, lv, ST_SSMF_FORECAST, 3, th);
    o.log = 1;
    st_ssmf_result r;
    st_err e;
    ck_assert_int_eq(st_ssmf_series(&o, y, 30, NULL, 0, NULL, &r, &e), 0);
    double ly[30], mean[3], var[3];
    for (int t = 0; t < 30; t++)
        ly[t] = log(y[t]);
    st_uc_spec sp;
    ck_assert_int_eq(st_uc_parse("level", 0, &sp, &e), 0);
    ck_assert_int_eq(st_uc_forecast(&sp, th, ly, 30, NULL, NULL, 3, mean, var, &e), 0);
    ck_assert_int_eq((int)r.ncols, 6);
    for (int k = 0; k < 3; k++) {
        const double *row = r.rows + k * 6;
        double s = sqrt(var[k]);
        ck_assert_rel(row[0], exp(mean[k] + var[k] / 2), 1e-12);
        ck_assert_rel(row[1], row[0] * sqrt(expm1(var[k])), 1e-12);
        ck_assert_rel(row[4], exp(mean[k] - 1.959963984540054 * s), 1e-12);
        ck_assert_rel(row[5], exp(mean[k] + 1.959963984540054 * s), 1e-12);
    }
    st_ssmf_result_free(&r);
    o.fam->spec_free(spec);
}
END_TEST

START_TEST(test_holdout_row)
{
    /* a fixed model: the holdout row's MASE equals the one computed from
     * the forecasts of the training part */
    const double lv[2] = {80, 95};
    double y[40], th[2] = {0.5, 1.0};
    for (int t = 0; t < 40; t++)
        y[t] = 10 + 0.2 * t + sin(0.9 * t);
    st_ssmf_opts o;
    void *spec = opts_level(&o, lv, ST_SSMF_HOLDOUT, 5, th);
    st_ssmf_result r;
    st_err e;
    ck_assert_int_eq(st_ssmf_series(&o, y, 40, NULL, 0, NULL, &r, &e), 0);
    ck_assert_int_eq((int)r.nrows, 1);
    double mean[5], var[5];
    st_uc_spec sp;
    ck_assert_int_eq(st_uc_parse("level", 0, &sp, &e), 0);
    ck_assert_int_eq(st_uc_forecast(&sp, th, y, 35, NULL, NULL, 5, mean, var, &e), 0);
    ck_assert_near(r.rows[0], 35, 0);
    ck_assert_near(r.rows[1], 5, 0);
    ck_assert_near(r.rows[2], st_ssm_mase(y, 35, 1, y + 35, mean, 5), 1e-12);
    ck_assert_near(r.rows[3], st_ssm_smape(y + 35, mean, 5), 1e-12);
    ck_assert(r.rows[4] >= 0 && r.rows[4] <= 1 && r.rows[5] >= r.rows[4]);
    st_ssmf_result_free(&r);
    /* holdout as long as the series */
    ck_assert_int_eq(st_ssmf_series(&o, y, 5, NULL, 0, NULL, &r, &e), ST_EDATA);
    o.fam->spec_free(spec);
}
END_TEST

static char *tmpname(const char *tag)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "/tmp/test_ssm_forecast.%ld.%s.yaml", (long)getpid(), tag);
    return buf;
}

START_TEST(test_model_file_roundtrip)
{
    st_uc_fit fit;
    st_err e;
    memset(&fit, 0, sizeof fit);
    ck_assert_int_eq(st_uc_parse("damped-trend+seasonal:4+ar:2", 0, &fit.spec, &e), 0);
    const double th[8] = {1.0 / 3, 1e-300, 0.87654321, 2.5e-7, 0.3, 0.2, -0.1, 12345.678901234567};
    ck_assert_int_eq((int)fit.spec.npar, 8);
    memcpy(fit.theta, th, sizeof th);
    fit.loglik = -12.5;
    fit.aicc = 40;
    fit.converged = 1;
    for (int i = 0; i < 8; i++)
        fit.se[i] = NAN;
    const char *path = tmpname("fit");
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(st_ssm_file_write_fit(fp, &fit, 1, &e), 0);
    fclose(fp);
    st_ssm_file f;
    ck_assert_msg(st_ssm_file_read(&f, path, 0, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(f.is_matrix, 0);
    ck_assert_int_eq(f.log, 1);
    for (int i = 0; i < 8; i++)
        ck_assert_msg(f.theta[i] == th[i], "param %d: %.17g != %.17g", i, f.theta[i], th[i]);
    st_ssm_file_free(&f);
    unlink(path);
}
END_TEST

START_TEST(test_matrix_file_roundtrip)
{
    st_ssm *s;
    st_err e;
    ck_assert_int_eq(st_ssm_new(&s, 2, 2, 1, &e), 0);
    s->T[0] = 1, s->T[1] = 0.1, s->T[3] = 0.5;
    s->Z[0] = 1, s->Z[2] = 0.3, s->Z[3] = 1;
    s->R[0] = 1, s->R[1] = 0.7;
    s->Q[0] = 0.25;
    s->H[0] = 1.5, s->H[3] = 0.1;
    s->d[1] = -2;
    s->P1[3] = 4.0 / 3;
    s->diffuse[0] = 1;
    const char *path = tmpname("mat");
    FILE *fp = fopen(path, "w");
    ck_assert_int_eq(st_ssm_file_write_matrix(fp, s, &e), 0);
    fclose(fp);
    st_ssm_file f;
    ck_assert_msg(st_ssm_file_read(&f, path, 0, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(f.is_matrix, 1);
    ck_assert_int_eq((int)f.s->p, 2);
    ck_assert_int_eq((int)f.s->r, 1);
    ck_assert(memcmp(f.s->T, s->T, 4 * sizeof(double)) == 0);
    ck_assert(memcmp(f.s->R, s->R, 2 * sizeof(double)) == 0);
    ck_assert(memcmp(f.s->P1, s->P1, 4 * sizeof(double)) == 0);
    ck_assert_int_eq(f.s->diffuse[0], 1);
    ck_assert_int_eq(f.s->diffuse[1], 0);
    st_ssm_file_free(&f);
    /* a stationary state that is also diffuse with a proper variance is refused */
    s->diffuse[1] = 1;
    fp = fopen(path, "w");
    ck_assert_int_eq(st_ssm_file_write_matrix(fp, s, &e), 0);
    fclose(fp);
    ck_assert_int_lt(st_ssm_file_read(&f, path, 0, &e), 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "P1 row 2"));
    unlink(path);
    st_ssm_free(s);
}
END_TEST


/* A full H: the likelihood through the decorrelated model equals the
 * dense Gaussian likelihood of the stacked observations (proper prior:
 * y = (y_1..y_n) ~ N(mu, Sigma) computed directly). */
START_TEST(test_full_H_dense)
{
    st_err e;
    st_ssm *s;
    size_t n = 4, p = 2;
    ck_assert_int_eq(st_ssm_new(&s, p, 1, 1, &e), 0);
    double phi = 0.6, q = 0.5, P1 = 0.5 / (1 - 0.36);
    s->T[0] = phi, s->R[0] = 1, s->Q[0] = q, s->P1[0] = P1, s->a1[0] = 0.3;
    s->Z[0] = 1, s->Z[1] = -0.8;
    s->d[0] = 1, s->d[1] = 2;
    s->H[0] = 1.2, s->H[1] = s->H[2] = 0.7, s->H[3] = 0.9;
    double y[8] = {1.3, 1.1, 0.2, 2.8, NAN, NAN, 1.9, 1.2};
    st_kalman_ll ll;
    ck_assert_msg(st_mxpar_loglik(s, y, n, &ll, &e) == 0, "%s", e.msg);
    /* dense: Cov(alpha_t, alpha_u) = phi^|t-u| P1 (stationary start) */
    size_t idx[8], k = 0;
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < p; i++)
            if (!isnan(y[t * p + i]))
                idx[k++] = t * p + i;
    double S[64], r[8];
    for (size_t a = 0; a < k; a++) {
        size_t ta = idx[a] / p, ia = idx[a] % p;
        r[a] = y[idx[a]] - s->d[ia] - s->Z[ia] * s->a1[0] * pow(phi, (double)ta);
        for (size_t b = 0; b < k; b++) {
            size_t tb = idx[b] / p, ib = idx[b] % p;
            double c = s->Z[ia] * s->Z[ib] * P1 * pow(phi, fabs((double)ta - (double)tb));
            if (ta == tb)
                c += s->H[ia * p + ib];
            S[a * k + b] = c;
        }
    }
    ck_assert_int_eq(st_chol(S, k, 0, NULL, &e), 0);
    double logdet = st_chol_logdet(S, k);
    st_chol_lower_solve(S, k, r, 1);
    double quad = 0;
    for (size_t a = 0; a < k; a++)
        quad += r[a] * r[a];
    double want = -0.5 * ((double)k * log(2 * M_PI) + logdet + quad);
    ck_assert_msg(fabs(ll.loglik - want) < 1e-10, "loglik %.12f, dense %.12f", ll.loglik, want);
    /* a partly missing time point is refused */
    y[4] = 0.5;
    ck_assert_int_lt(st_mxpar_loglik(s, y, n, &ll, &e), 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "partly missing"));
    st_ssm_free(s);
}
END_TEST

/* White noise y_t ~ N(0, s2) as a matrix model with s2 a parameter: the
 * MLE is mean(y^2), the maximum -n/2 (log(2 pi s2) + 1). */
START_TEST(test_mxpar_closed_form)
{
    const char *text = "model: ssm\nversion: 1\nparameters: {s2: 3}\nconstraints: {s2: positive}\n"
                       "matrices:\n  T: [[0]]\n  Z: [[0]]\n  Q: [[1]]\n  H: [[s2]]\n  P1: [[1]]\n";
    st_ydoc *doc;
    st_err e;
    ck_assert_int_eq(st_ydoc_load_string(&doc, text, strlen(text), "wn.yaml", &e), 0);
    st_mxpar *mp;
    ck_assert_msg(st_ssm_read_mxpar(doc, st_ydoc_root(doc), &mp, &e) == 0, "%s", e.msg);
    st_ydoc_free(doc);
    ck_assert_int_eq((int)mp->npar, 1);
    ck_assert_int_eq(mp->cons[0], ST_MXPAR_POSITIVE);
    double y[7] = {0.3, -1.2, 2.0, 0.7, NAN, -0.4, 1.1}, ss = 0;
    size_t nobs = 0;
    for (size_t t = 0; t < 7; t++)
        if (!isnan(y[t]))
            ss += y[t] * y[t], nobs++;
    double s2 = ss / (double)nobs;
    st_mxpar_result res;
    ck_assert_msg(st_mxpar_fit(mp, y, 7, 1, &res, &e) == 0, "%s", e.msg);
    ck_assert_msg(fabs(mp->value[0] - s2) < 1e-6 * s2, "s2 %.10f, closed form %.10f", mp->value[0], s2);
    double want = -0.5 * (double)nobs * (log(2 * M_PI * s2) + 1);
    ck_assert_msg(fabs(res.loglik - want) < 1e-9, "loglik %.12f, closed form %.12f", res.loglik, want);
    /* se of a variance MLE: s2 sqrt(2 / n) */
    ck_assert_msg(fabs(res.se[0] - s2 * sqrt(2.0 / (double)nobs)) < 1e-3 * s2, "se %g", res.se[0]);
    ck_assert_int_eq((int)res.nfree, 1);
    ck_assert_int_eq((int)res.nobs, (int)nobs);
    st_mxpar_free(mp);
}
END_TEST

START_TEST(test_model_file_errors)
{
    static const struct { const char *text, *msg; } cases[] = {
        {"model: ssm\nversion: 1\nstructural: level\nparams:\n  sigma2.level: 1\n", "sigma2.irregular"},
        {"model: ssm\nversion: 1\nstructural: level\nparams:\n  sigma2.level: 1\n  sigma2.irregular: 2\n  x: 3\n", "unknown key 'x'"},
        {"model: ssm\nversion: 1\nstructural: level+ar:1\nparams:\n  sigma2.level: 1\n  sigma2.ar: 1\n  ar1: 1.5\n  sigma2.irregular: 2\n", "out of range"},
        {"model: ssm\nversion: 1\nstructural: level+seasonal:1\nparams: {}\n", "seasonal period"},
        {"model: ssm\nversion: 1\n", "exactly one of"},
        {"model: ssm\nversion: 1\nstructural: level\nmatrices: {}\n", "exactly one of"},
        {"model: ssm\nversion: 1\nmatrices:\n  T: [[1, 0]]\n  Z: [[1, 0]]\n  Q: [[1]]\n  H: [[1]]\n", "square"},
        {"model: ssm\nversion: 1\nmatrices:\n  T: [[1]]\n  Z: [[1]]\n  Q: [[-1]]\n  H: [[1]]\n", "Q is singular or not positive definite"},
        {"model: ssm\nversion: 1\nmatrices:\n  T: [[1]]\n  Z: [[1, 2]]\n  Q: [[1]]\n  H: [[1]]\n", ""},
        {"model: ssm\nversion: 1\nmatrices:\n  T: [[1]]\n  Z: [[1], [1]]\n  Q: [[1]]\n  H: [[1, 2], [2, 1]]\n", "H is singular or not positive definite"},
        {"model: ssm\nversion: 1\nmatrices:\n  T: [[1]]\n  Z: [[1]]\n  Q: [[1]]\n  H: [[1]]\n  diffuse: [0.5]\n", "0 or 1"},
        {"model: hmm\nversion: 1\n", ""},
    };
    const char *path = tmpname("bad");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *fp = fopen(path, "w");
        fputs(cases[i].text, fp);
        fclose(fp);
        st_ssm_file f;
        st_err e;
        st_err_clear(&e);
        ck_assert_msg(st_ssm_file_read(&f, path, 0, &e) < 0, "case %zu accepted", i);
        ck_assert_msg(strstr(e.msg, cases[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i, e.msg, cases[i].msg);
        ck_assert_msg(e.line > 0, "case %zu: no line in the error", i);
    }
    unlink(path);
}
END_TEST

START_TEST(test_families_and_choice)
{
    st_err e;
    const st_ssm_family *f;
    void *spec;
    /* every --model text goes to one family; unknown ones are usage errors */
    static const struct { const char *text, *fam; } ok[] = {
        {"trend+seasonal:12", "structural"}, {"structural", "structural"}, {"ets", "ets"},
        {"ets:MAdM", "ets"}, {"ets:ZZN", "ets"}, {"s4d:4", "s4d"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ck_assert_msg(st_ssm_spec_parse(ok[i].text, 0, 12, &f, &spec, &e) == 0, "%s: %s", ok[i].text, e.msg);
        ck_assert_str_eq(f->name, ok[i].fam);
        f->spec_free(spec);
    }
    ck_assert_int_eq(st_ssm_spec_parse("bogus", 0, 12, &f, &spec, &e), ST_EUSAGE);
    ck_assert_int_eq(st_ssm_spec_parse("ets:MMN", 0, 12, &f, &spec, &e), ST_EUSAGE);
    ck_assert_int_eq(st_ssm_spec_parse("trend+wiggle", 0, 12, &f, &spec, &e), ST_EUSAGE);
    /* the validation design of --model auto */
    size_t v, org[4];
    ck_assert_int_eq((int)st_ssm_cv_origins(144, 12, 12, &v, org), 2);
    ck_assert_int_eq((int)v, 12);
    ck_assert_int_eq((int)org[0], 132);
    ck_assert_int_eq((int)org[1], 126);
    ck_assert_int_eq((int)st_ssm_cv_origins(144, 60, 12, &v, org), 2);
    ck_assert_int_eq((int)v, 28); /* n / 5 */
    ck_assert_int_eq((int)st_ssm_cv_origins(20, 12, 12, &v, org), 0);
    /* --model auto limited to one family: its own choice, no validation */
    double y[96];
    for (int t = 0; t < 96; t++)
        y[t] = 100 + 0.5 * t + 10 * sin(2 * M_PI * t / 12) + 3 * sin(1.3 * t);
    const double lv[1] = {90};
    st_ssmf_opts o;
    memset(&o, 0, sizeof o);
    o.output = ST_SSMF_FORECAST;
    o.h = 6;
    o.levels = lv;
    o.nlevels = 1;
    o.period = 12;
    o.families = 1u << 1; /* ets */
    st_ssmf_result r;
    ck_assert_int_eq(st_ssmf_series(&o, y, 96, NULL, 0, NULL, &r, &e), 0);
    ck_assert_ptr_nonnull(strstr(r.model.name, "ETS("));
    ck_assert_str_eq(r.choice, "");
    st_ssmf_result_free(&r);
    /* across families: the choice line names both scores */
    o.families = 0;
    ck_assert_int_eq(st_ssmf_series(&o, y, 96, NULL, 0, NULL, &r, &e), 0);
    ck_assert_ptr_nonnull(strstr(r.choice, "structural"));
    ck_assert_ptr_nonnull(strstr(r.choice, "ets"));
    st_ssmf_result_free(&r);
}
END_TEST

START_TEST(test_ets_model_file)
{
    /* an ETS fit written and read back (-m --fixed): the same likelihood
     * and forecasts to the last bit */
    double y[60];
    for (int t = 0; t < 60; t++)
        y[t] = 50 + 0.3 * t + 8 * sin(2 * M_PI * t / 4) + 3 * cos(1.7 * t);
    const double lv[1] = {80};
    st_ssmf_opts o;
    memset(&o, 0, sizeof o);
    o.output = ST_SSMF_FORECAST;
    o.h = 4;
    o.levels = lv;
    o.nlevels = 1;
    o.period = 4;
    o.keep_model = 1;
    st_err e;
    void *spec;
    ck_assert_int_eq(st_ssm_spec_parse("ets:MAdM", 0, 4, &o.fam, &spec, &e), 0);
    o.spec = spec;
    st_ssmf_result r1, r2;
    ck_assert_int_eq(st_ssmf_series(&o, y, 60, NULL, 0, NULL, &r1, &e), 0);
    const char *path = tmpname("ets");
    FILE *fp = fopen(path, "w");
    ck_assert_int_eq(st_ssm_model_write(fp, &r1.model, 0, &e), 0);
    fclose(fp);
    o.fam->spec_free(spec);
    int lg;
    ck_assert_msg(st_ssm_model_read(path, 0, &o.fam, &spec, &lg, &e) == 0, "%s", e.msg);
    ck_assert_str_eq(o.fam->name, "ets");
    ck_assert_int_eq(o.fam->set_fixed(spec, &e), 0);
    o.spec = spec;
    ck_assert_int_eq(st_ssmf_series(&o, y, 60, NULL, 0, NULL, &r2, &e), 0);
    ck_assert(r1.model.loglik == r2.model.loglik);
    ck_assert(memcmp(r1.rows, r2.rows, r1.nrows * r1.ncols * sizeof(double)) == 0);
    ck_assert_str_eq(r2.model.status, "fixed");
    st_ssmf_result_free(&r1);
    st_ssmf_result_free(&r2);
    o.fam->spec_free(spec);
    /* a bad ETS file: the place is named */
    fp = fopen(path, "w");
    fputs("model: ssm\nversion: 1\nets: MAN\nparams:\n  alpha: 0.5\n  beta: 0.1\n  l: 10\n", fp);
    fclose(fp);
    ck_assert_int_lt(st_ssm_model_read(path, 0, &o.fam, &spec, &lg, &e), 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "missing key 'b'"));
    ck_assert(e.line > 0);
    unlink(path);
}
END_TEST

static Suite *forecast_suite(void)
{
    Suite *su = suite_create("ssm_forecast");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_mase_smape);
    tcase_add_test(tc, test_log_backtransform);
    tcase_add_test(tc, test_holdout_row);
    tcase_add_test(tc, test_model_file_roundtrip);
    tcase_add_test(tc, test_matrix_file_roundtrip);
    tcase_add_test(tc, test_model_file_errors);
    tcase_add_test(tc, test_full_H_dense);
    tcase_add_test(tc, test_mxpar_closed_form);
    tcase_add_test(tc, test_families_and_choice);
    tcase_add_test(tc, test_ets_model_file);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(su, tc);
    return su;
}

ST_CHECK_MAIN(forecast_suite)

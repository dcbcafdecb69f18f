/* Output shaping for ssm-forecast (see forecast.h): column names,
 * forecast rows with the log back-transform, holdout rows and their
 * averages, the time of each row, the -v line. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/forecast.h"
#include "ssm/internal.h"
#include "ssm/structural.h"

static void level_name(char *buf, const char *prefix, double L)
{
    snprintf(buf, 32, "%s%g", prefix, L);
}

size_t st_ssmf_nobs(const st_ssmf_opts *o)
{
    return o->fam && o->spec && o->fam->nobs ? o->fam->nobs(o->spec) : 1;
}

size_t st_ssmf_columns(const st_ssmf_opts *o, char names[][32], size_t max)
{
    size_t k = 0;
#define ADD(s) do { if (k < max) snprintf(names[k], 32, "%s", s); k++; } while (0)
    switch (o->output) {
    case ST_SSMF_FORECAST:
        if (st_ssmf_nobs(o) > 1)
            ADD("obs");
        ADD("mean");
        ADD("sd");
        for (size_t i = 0; i < o->nlevels; i++) {
            if (k + 1 < max) {
                level_name(names[k], "lo", o->levels[i]);
                level_name(names[k + 1], "hi", o->levels[i]);
            }
            k += 2;
        }
        break;
    case ST_SSMF_HOLDOUT:
        ADD("n_train");
        ADD("h");
        ADD("mase");
        ADD("smape");
        for (size_t i = 0; i < o->nlevels; i++) {
            if (k < max)
                level_name(names[k], "cover", o->levels[i]);
            k++;
        }
        break;
    default:
        if (o->fam && o->spec && o->fam->table_columns)
            k = o->fam->table_columns(o->spec, o->output == ST_SSMF_SMOOTH ? ST_SSM_TAB_SMOOTH : ST_SSM_TAB_FILTER, o->period, names, max);
        break;
    }
#undef ADD
    return k;
}

void st_ssm_normal_bounds(const double *mean, const double *var, size_t h, const double *levels,
                          size_t nlevels, double *lo, double *hi)
{
    for (size_t i = 0; i < nlevels; i++) {
        double z = st_ssm_qnorm(0.5 + levels[i] / 200);
        for (size_t k = 0; k < h; k++) {
            double sd = sqrt(fmax(var[k], 0));
            lo[k * nlevels + i] = mean[k] - z * sd;
            hi[k * nlevels + i] = mean[k] + z * sd;
        }
    }
}

int st_ssm_check_forecast(const double *mean, const double *var, size_t h, st_err *e)
{
    for (size_t k = 0; k < h; k++) {
        if (!isfinite(mean[k]))
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "numerical breakdown: forecast %zu is not finite (the model's variances or states overflow double precision)", k + 1);
        if (!isnan(var[k]) && !(var[k] >= 0 && isfinite(var[k])))
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "numerical breakdown: the variance of forecast %zu is %g (the model's variances overflow double precision)", k + 1, var[k]);
    }
    return 0;
}

void st_ssmf_forecast_rows(const st_ssmf_opts *o, size_t p, const double *mean, const double *var,
                           const double *lo, const double *hi, size_t h, double *rows, size_t nc)
{
    size_t L = o->nlevels, q0 = p > 1;
    for (size_t k = 0; k < h; k++)
        for (size_t j = 0; j < p; j++) {
            size_t kj = k * p + j;
            double *row = rows + kj * nc;
            double mu = mean[kj], v = var[kj], sd = sqrt(fmax(v, 0));
            if (q0)
                row[0] = (double)(j + 1);
            if (o->log) {
                row[q0] = isnan(v) ? exp(mu) : exp(mu + 0.5 * v);
                row[q0 + 1] = isnan(v) ? NAN : row[q0] * sqrt(expm1(v));
            } else {
                row[q0] = mu;
                row[q0 + 1] = isnan(v) ? NAN : sd;
            }
            for (size_t i = 0; i < L; i++) {
                double a = lo[kj * L + i], b = hi[kj * L + i];
                row[q0 + 2 + 2 * i] = o->log ? exp(a) : a;
                row[q0 + 3 + 2 * i] = o->log ? exp(b) : b;
            }
        }
}

double st_ssm_mase(const double *train, size_t n, int m, const double *actual, const double *fc,
                   size_t h)
{
    if (m < 1)
        m = 1;
    double s = 0;
    size_t k = 0;
    for (size_t t = (size_t)m; t < n; t++)
        if (!isnan(train[t]) && !isnan(train[t - (size_t)m])) {
            s += fabs(train[t] - train[t - (size_t)m]);
            k++;
        }
    if (k == 0 || s == 0)
        return NAN;
    double scale = s / (double)k, err = 0;
    size_t j = 0;
    for (size_t t = 0; t < h; t++)
        if (!isnan(actual[t])) {
            err += fabs(actual[t] - fc[t]);
            j++;
        }
    return j ? err / (double)j / scale : NAN;
}

double st_ssm_smape(const double *actual, const double *fc, size_t h)
{
    double s = 0;
    size_t j = 0;
    for (size_t t = 0; t < h; t++) {
        if (isnan(actual[t]))
            continue;
        double den = fabs(actual[t]) + fabs(fc[t]);
        s += den > 0 ? 200 * fabs(actual[t] - fc[t]) / den : 0;
        j++;
    }
    return j ? s / (double)j : NAN;
}

int st_ssmf_holdout_row(const st_ssmf_opts *o, const double *yin, size_t ntrain, int period,
                        const double *mean, const double *lo, const double *hi,
                        st_ssmf_result *res, double *row, st_err *e)
{
    size_t h = o->h, L = o->nlevels;
    double *fc = malloc((h ? h : 1) * sizeof *fc);
    if (!fc)
        return st_err_nomem(e, "holdout");
    for (size_t k = 0; k < h; k++)
        fc[k] = o->log ? exp(mean[k]) : mean[k]; /* point forecast: the median on the log scale */
    row[0] = (double)ntrain;
    row[1] = (double)h;
    row[2] = res->mase = st_ssm_mase(yin, ntrain, period, yin + ntrain, fc, h);
    row[3] = res->smape = st_ssm_smape(yin + ntrain, fc, h);
    for (size_t i = 0; i < L; i++) {
        size_t in = 0, cnt = 0;
        for (size_t k = 0; k < h; k++) {
            double a = yin[ntrain + k];
            if (isnan(a))
                continue;
            cnt++;
            double l = lo[k * L + i], u = hi[k * L + i];
            if (o->log)
                l = exp(l), u = exp(u);
            in += a >= l && a <= u;
        }
        row[4 + i] = cnt ? (double)in / (double)cnt : NAN;
        if (i < ST_SSMF_MAXLEVELS)
            res->coverage[i] = row[4 + i];
    }
    free(fc);
    return 0;
}

double st_ssmf_row_time(const st_ssmf_result *r, size_t k, const double *t, size_t n,
                        const st_ssm_calendar *c)
{
    size_t per = r->rows_per_t ? r->rows_per_t : 1;
    if (!r->tshift)
        return t ? t[k / per] : (double)(k / per + 1);
    if (!t || n == 0)
        return (double)n + (double)(k / per + 1);
    return st_ssm_calendar_after(c, t[n - 1], n >= 2 ? t[n - 2] : NAN, k / per + 1);
}

void st_ssmf_tally_add(st_ssmf_tally *t, const st_ssmf_result *r, size_t nlevels)
{
    t->nseries++;
    if (isfinite(r->mase))
        t->mase += r->mase, t->n_mase++;
    if (isfinite(r->smape))
        t->smape += r->smape, t->n_smape++;
    for (size_t k = 0; k < nlevels && k < ST_SSMF_MAXLEVELS; k++)
        if (isfinite(r->coverage[k]))
            t->cov[k] += r->coverage[k], t->n_cov[k]++;
}

static void append(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
    if (*len >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    if (w > 0)
        *len = *len + (size_t)w < n ? *len + (size_t)w : n - 1;
}

const char *st_ssmf_tally_format(const st_ssmf_tally *t, const st_ssmf_opts *o, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    append(buf, n, &len, "holdout %zu over %zu series: MASE %.4g, sMAPE %.4g", o->h, t->nseries,
           t->n_mase ? t->mase / (double)t->n_mase : NAN, t->n_smape ? t->smape / (double)t->n_smape : NAN);
    for (size_t k = 0; k < o->nlevels && k < ST_SSMF_MAXLEVELS; k++)
        append(buf, n, &len, ", coverage%g %.3g", o->levels[k], t->n_cov[k] ? t->cov[k] / (double)t->n_cov[k] : NAN);
    return buf;
}

const char *st_ssmf_describe(const st_ssmf_result *r, const st_ssmf_opts *o, char *buf, size_t n)
{
    const st_ssm_model *m = &r->model;
    size_t len = 0;
    buf[0] = 0;
    append(buf, n, &len, "%s%s", m->name, o->log ? " on log(y)" : "");
    if (m->has_lik)
        append(buf, n, &len, ", loglik %.6f aicc %.4f (%d evaluations)", m->loglik, m->aicc, m->nevals);
    for (size_t k = 0; k < m->nshow; k++) {
        append(buf, n, &len, " %s=%.6g", m->pname[k], m->pval[k]);
        if (isfinite(m->pse[k]))
            append(buf, n, &len, "(se %.3g)", m->pse[k]);
    }
    if (r->choice[0])
        append(buf, n, &len, "; %s", r->choice);
    return buf;
}

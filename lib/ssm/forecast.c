/* ssm-forecast's per-series pipeline (see forecast.h). */
#include "config.h"

#include "ssm/forecast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/s4d.h"

static void level_name(char *buf, const char *prefix, double L)
{
    snprintf(buf, 32, "%s%g", prefix, L);
}

static const char *comp_name(const st_uc_comp *c, char *buf)
{
    switch (c->kind) {
    case ST_UC_LEVEL: case ST_UC_TREND: case ST_UC_SMOOTH_TREND: case ST_UC_DAMPED_TREND:
        return "level";
    case ST_UC_SEASONAL: snprintf(buf, 24, "seasonal%d", c->S); return buf;
    case ST_UC_TRIG: snprintf(buf, 24, "trig%d", c->S); return buf;
    case ST_UC_CYCLE: return "cycle";
    case ST_UC_AR: return "ar";
    default: return "reg";
    }
}

size_t st_ssmf_nobs(const st_ssmf_opts *o)
{
    return o->mode == ST_SSMF_MATRIX && o->matrix ? o->matrix->p : 1;
}

size_t st_ssmf_columns(const st_ssmf_opts *o, char names[][32], size_t max)
{
    size_t k = 0;
#define ADD(s) do { if (k < max) snprintf(names[k], 32, "%s", s); k++; } while (0)
    size_t p = st_ssmf_nobs(o);
    if (o->mode == ST_SSMF_MATRIX && (o->output == ST_SSMF_SMOOTH || (p > 1 && o->output == ST_SSMF_FILTER))) {
        char nm[32];
        if (o->output == ST_SSMF_FILTER)
            for (size_t j = 0; j < p; j++) {
                snprintf(nm, sizeof nm, "y%zu", j + 1);
                ADD(nm);
                snprintf(nm, sizeof nm, "pred%zu", j + 1);
                ADD(nm);
                snprintf(nm, sizeof nm, "pred_sd%zu", j + 1);
                ADD(nm);
            }
        for (size_t i = 0; i < o->matrix->m; i++) {
            snprintf(nm, sizeof nm, "a%zu", i + 1);
            ADD(nm);
        }
        if (o->output == ST_SSMF_SMOOTH)
            for (size_t i = 0; i < o->matrix->m; i++) {
                snprintf(nm, sizeof nm, "a%zu_sd", i + 1);
                ADD(nm);
            }
        return k;
    }
    if (p > 1 && o->output == ST_SSMF_FORECAST)
        ADD("obs");
    switch (o->output) {
    case ST_SSMF_FORECAST:
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
    case ST_SSMF_SMOOTH: {
        ADD("y");
        ADD("signal");
        for (size_t i = 0; i < o->spec.ncomp; i++) {
            char buf[32], nm[32];
            const char *c = comp_name(&o->spec.comp[i], buf);
            ADD(c);
            snprintf(nm, sizeof nm, "%.24s_sd", c);
            ADD(nm);
        }
        ADD("irregular");
        ADD("irregular_sd");
        break;
    }
    case ST_SSMF_FILTER:
        ADD("y");
        ADD("pred");
        ADD("pred_sd");
        ADD("resid");
        ADD("std_resid");
        {
            size_t m = o->mode == ST_SSMF_MATRIX ? o->matrix->m : o->spec.m;
            for (size_t i = 0; i < m; i++) {
                char nm[32];
                snprintf(nm, sizeof nm, "a%zu", i + 1);
                ADD(nm);
            }
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
    }
#undef ADD
    return k;
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

void st_ssmf_result_free(st_ssmf_result *r)
{
    if (!r)
        return;
    free(r->rows);
    r->rows = NULL;
}

/* Forecast mean/var (on the model scale) into rows of mean, sd, lo, hi. */
static void forecast_rows(const st_ssmf_opts *o, const double *mean, const double *var, size_t h,
                          double *rows, size_t nc)
{
    for (size_t k = 0; k < h; k++) {
        double *row = rows + k * nc;
        double mu = mean[k], sd = sqrt(fmax(var[k], 0));
        if (o->log) {
            row[0] = exp(mu + 0.5 * sd * sd);
            row[1] = row[0] * sqrt(expm1(sd * sd));
        } else {
            row[0] = mu;
            row[1] = sd;
        }
        for (size_t i = 0; i < o->nlevels; i++) {
            double z = st_ssm_qnorm(0.5 + o->levels[i] / 200);
            double lo = mu - z * sd, hi = mu + z * sd;
            row[2 + 2 * i] = o->log ? exp(lo) : lo;
            row[3 + 2 * i] = o->log ? exp(hi) : hi;
        }
    }
}

static int fit_model(const st_ssmf_opts *o, const double *y, size_t n, const double *x,
                     st_ssmf_result *res, st_err *e)
{
    int rc = 0;
    if (o->mode == ST_SSMF_AUTO) {
        rc = st_uc_auto(o->period, y, n, &o->uc, &res->fit, e);
        if (rc > 0)
            rc = 0;
    } else if (o->fixed_theta) {
        memset(&res->fit, 0, sizeof res->fit);
        res->fit.spec = o->spec;
        memcpy(res->fit.theta, o->fixed_theta, o->spec.npar * sizeof(double));
        res->fit.converged = 1;
        res->fit.status = "fixed";
        for (size_t i = 0; i < o->spec.npar; i++)
            res->fit.se[i] = NAN;
        for (size_t t = 0; t < n; t++)
            res->fit.nobs += !isnan(y[t]);
        if (res->fit.nobs == 0)
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "all observations are missing");
        rc = st_uc_loglik(&o->spec, res->fit.theta, y, n, x, &res->fit.loglik, e);
    } else
        rc = st_uc_fit_model(&o->spec, y, n, x, &o->uc, &res->fit, e);
    if (rc == 0) {
        res->fitted = 1;
        st_uc_format(&res->fit.spec, res->model, sizeof res->model);
    }
    return rc;
}

/* Filtered output rows for a model s. */
static int filter_rows(const st_ssm *s, const st_ssmf_opts *o, const double *y, const double *yorig,
                       size_t n, st_ssmf_result *res, st_err *e)
{
    st_kalman_out out;
    int rc = st_kalman_filter(s, y, n, &out, e);
    if (rc < 0)
        return rc;
    size_t m = s->m, nc = res->ncols;
    for (size_t t = 0; t < n; t++) {
        double *row = res->rows + t * nc;
        const double *z = s->Zt ? s->Zt + t * m : s->Z;
        const double *a = out.a_pred + t * m, *P = out.P_pred + t * m * m, *Pi = out.Pinf_pred + t * m * m;
        double pred = s->d[0], F = s->H[0], Finf = 0;
        for (size_t i = 0; i < m; i++) {
            pred += z[i] * a[i];
            for (size_t j = 0; j < m; j++) {
                F += z[i] * P[i * m + j] * z[j];
                Finf += z[i] * Pi[i * m + j] * z[j];
            }
        }
        row[0] = yorig[t];
        int diffuse = Finf > 1e-9;
        row[1] = diffuse ? NAN : pred;
        row[2] = diffuse ? NAN : sqrt(fmax(F, 0));
        row[3] = diffuse || isnan(y[t]) ? NAN : y[t] - pred;
        row[4] = diffuse || isnan(y[t]) || !(F > 0) ? NAN : (y[t] - pred) / sqrt(F);
        for (size_t i = 0; i < m; i++)
            row[5 + i] = out.a_filt[t * m + i];
        (void)o;
    }
    st_kalman_out_free(&out);
    return 0;
}

/* Matrix models: smoothed states (any p), and forecasts / filter for p > 1. */
static int matrix_rows(const st_ssmf_opts *o, const double *y, const double *yorig, size_t n,
                       st_ssmf_result *res, st_err *e)
{
    const st_ssm *s = o->matrix;
    size_t p = s->p, m = s->m, nc = res->ncols, h = o->h;
    st_kalman_out out;
    int rc;
    if (o->output == ST_SSMF_HOLDOUT)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--holdout needs a univariate model");
    if (o->output == ST_SSMF_SMOOTH)
        rc = st_kalman_smooth(s, y, n, &out, e);
    else
        rc = st_kalman_filter(s, y, n, &out, e);
    if (rc < 0)
        return rc;
    size_t nrows = o->output == ST_SSMF_FORECAST ? h * p : n;
    res->rows = malloc((nrows ? nrows : 1) * nc * sizeof(double));
    if (!res->rows) {
        st_kalman_out_free(&out);
        return st_err_nomem(e, "output");
    }
    if (o->output == ST_SSMF_SMOOTH) {
        for (size_t t = 0; t < n; t++)
            for (size_t i = 0; i < m; i++) {
                res->rows[t * nc + i] = out.a_smooth[t * m + i];
                res->rows[t * nc + m + i] = sqrt(fmax(out.V_smooth[t * m * m + i * m + i], 0));
            }
    } else if (o->output == ST_SSMF_FILTER) {
        for (size_t t = 0; t < n; t++) {
            double *row = res->rows + t * nc;
            const double *a = out.a_pred + t * m, *P = out.P_pred + t * m * m, *Pi = out.Pinf_pred + t * m * m;
            for (size_t j = 0; j < p; j++) {
                const double *z = s->Z + j * m;
                double pred = s->d[j], F = s->H[j * p + j], Finf = 0;
                for (size_t i = 0; i < m; i++) {
                    pred += z[i] * a[i];
                    for (size_t l = 0; l < m; l++) {
                        F += z[i] * P[i * m + l] * z[l];
                        Finf += z[i] * Pi[i * m + l] * z[l];
                    }
                }
                int dif = Finf > 1e-9;
                row[3 * j] = yorig[t * p + j];
                row[3 * j + 1] = dif ? NAN : pred;
                row[3 * j + 2] = dif ? NAN : sqrt(fmax(F, 0));
            }
            for (size_t i = 0; i < m; i++)
                row[3 * p + i] = out.a_filt[t * m + i];
        }
    } else {
        double *mean = malloc(h * p * sizeof(double)), *var = malloc(h * p * sizeof(double));
        double *tmp = malloc((2 + 2 * o->nlevels) * sizeof(double));
        if (!mean || !var || !tmp)
            rc = st_err_nomem(e, "forecasts");
        else
            rc = st_kalman_forecast(s, &out, h, NULL, NULL, mean, var, NULL, NULL, e);
        for (size_t k = 0; rc == 0 && k < h; k++)
            for (size_t j = 0; j < p; j++) {
                double *row = res->rows + (k * p + j) * nc;
                forecast_rows(o, mean + k * p + j, var + k * p + j, 1, tmp, nc - 1);
                row[0] = (double)(j + 1);
                memcpy(row + 1, tmp, (nc - 1) * sizeof(double));
            }
        free(mean);
        free(var);
        free(tmp);
        res->tshift = 1;
        res->rows_per_t = p;
    }
    st_kalman_out_free(&out);
    if (rc == 0)
        res->nrows = nrows;
    return rc;
}

int st_ssmf_series(const st_ssmf_opts *o, const double *yin, size_t n, const double *x,
                   const double *xf, st_ssmf_result *res, st_err *e)
{
    memset(res, 0, sizeof *res);
    int rc = 0;
    char names[ST_SSMF_MAXCOLS][32];
    size_t nc = st_ssmf_columns(o, names, ST_SSMF_MAXCOLS);
    if (nc > ST_SSMF_MAXCOLS)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "too many output columns");
    if (o->h < 1 && o->output != ST_SSMF_SMOOTH && o->output != ST_SSMF_FILTER)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "horizon must be at least 1");
    if (n == 0)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "empty series");
    res->ncols = nc;
    res->rows_per_t = 1;
    size_t pobs = st_ssmf_nobs(o);
    double *y = malloc(n * pobs * sizeof(double));
    double *mean = NULL, *var = NULL;
    if (!y)
        return st_err_nomem(e, "series");
    for (size_t t = 0; t < n * pobs; t++) {
        y[t] = yin[t];
        if (o->log && !isnan(y[t])) {
            if (!(y[t] > 0)) {
                rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "--log needs positive values, point %zu is %g", t + 1, y[t]);
                goto out;
            }
            y[t] = log(y[t]);
        }
    }
    size_t ntrain = n, h = o->h;
    if (o->output == ST_SSMF_HOLDOUT) {
        if (h >= n) {
            rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "holdout %zu leaves no data to fit (series has %zu points)", h, n);
            goto out;
        }
        ntrain = n - h;
    }
    if (o->output == ST_SSMF_FORECAST || o->output == ST_SSMF_HOLDOUT) {
        mean = malloc(h * sizeof(double));
        var = malloc(h * sizeof(double));
        if (!mean || !var) {
            rc = st_err_nomem(e, "forecasts");
            goto out;
        }
    }
    if (o->mode == ST_SSMF_S4D) {
        if (o->output != ST_SSMF_FORECAST && o->output != ST_SSMF_HOLDOUT) {
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "s4d models support forecasts and --holdout only");
            goto out;
        }
        double *lo = malloc(h * (o->nlevels ? o->nlevels : 1) * sizeof(double));
        double *hi = malloc(h * (o->nlevels ? o->nlevels : 1) * sizeof(double));
        if (!lo || !hi) {
            free(lo);
            free(hi);
            rc = st_err_nomem(e, "forecasts");
            goto out;
        }
        rc = st_s4d_forecast(y, ntrain, o->s4d_n, h, o->levels, o->nlevels, mean, var, lo, hi, e);
        if (rc == 0) {
            snprintf(res->model, sizeof res->model, "s4d:%d", o->s4d_n);
            if (o->output == ST_SSMF_FORECAST) {
                res->rows = malloc(h * nc * sizeof(double));
                if (!res->rows)
                    rc = st_err_nomem(e, "forecasts");
                else {
                    forecast_rows(o, mean, var, h, res->rows, nc);
                    /* intervals from residual quantiles, not the normal */
                    for (size_t k = 0; k < h; k++)
                        for (size_t i = 0; i < o->nlevels; i++) {
                            res->rows[k * nc + 2 + 2 * i] = o->log ? exp(lo[k * o->nlevels + i]) : lo[k * o->nlevels + i];
                            res->rows[k * nc + 3 + 2 * i] = o->log ? exp(hi[k * o->nlevels + i]) : hi[k * o->nlevels + i];
                        }
                    res->nrows = h;
                    res->tshift = 1;
                }
            } else {
                /* holdout with s4d: reuse the code below via var/lo/hi */
                double *fc = malloc(h * sizeof(double));
                res->rows = malloc(nc * sizeof(double));
                if (!fc || !res->rows) {
                    free(fc);
                    rc = st_err_nomem(e, "holdout");
                } else {
                    for (size_t k = 0; k < h; k++)
                        fc[k] = o->log ? exp(mean[k]) : mean[k];
                    double *row = res->rows;
                    row[0] = (double)ntrain;
                    row[1] = (double)h;
                    row[2] = res->mase = st_ssm_mase(yin, ntrain, o->period, yin + ntrain, fc, h);
                    row[3] = res->smape = st_ssm_smape(yin + ntrain, fc, h);
                    for (size_t i = 0; i < o->nlevels; i++) {
                        size_t in = 0, cnt = 0;
                        for (size_t k = 0; k < h; k++) {
                            if (isnan(yin[ntrain + k]))
                                continue;
                            double a = y[ntrain + k];
                            cnt++;
                            in += a >= lo[k * o->nlevels + i] && a <= hi[k * o->nlevels + i];
                        }
                        row[4 + i] = res->coverage[i < 16 ? i : 15] = cnt ? (double)in / (double)cnt : NAN;
                    }
                    res->nrows = 1;
                    free(fc);
                }
            }
        }
        free(lo);
        free(hi);
        goto out;
    }

    st_ssm *ms = NULL;
    if (o->mode == ST_SSMF_MATRIX && (pobs > 1 || o->output == ST_SSMF_SMOOTH)) {
        snprintf(res->model, sizeof res->model, "matrix (p=%zu, m=%zu)", pobs, o->matrix->m);
        rc = matrix_rows(o, y, yin, n, res, e);
        goto out;
    }
    if (o->mode == ST_SSMF_MATRIX) {
        if ((rc = st_ssm_copy(&ms, o->matrix, e)) < 0)
            goto out;
        snprintf(res->model, sizeof res->model, "matrix (m=%zu)", ms->m);
        if (o->output == ST_SSMF_SMOOTH) {
            st_ssm_free(ms);
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--smooth decomposes structural models only (use --filter for a matrix model)");
            goto out;
        }
        if (o->output == ST_SSMF_FILTER) {
            res->rows = malloc(n * nc * sizeof(double));
            if (!res->rows)
                rc = st_err_nomem(e, "output");
            else {
                rc = filter_rows(ms, o, y, yin, n, res, e);
                res->nrows = n;
            }
            st_ssm_free(ms);
            goto out;
        }
        st_kalman_out ko;
        rc = st_kalman_filter(ms, y, ntrain, &ko, e);
        if (rc == 0) {
            rc = st_kalman_forecast(ms, &ko, h, NULL, NULL, mean, var, NULL, NULL, e);
            st_kalman_out_free(&ko);
        }
        st_ssm_free(ms);
        if (rc < 0)
            goto out;
    } else {
        if ((rc = fit_model(o, y, ntrain, x, res, e)) < 0)
            goto out;
        const st_uc_spec *sp = &res->fit.spec;
        if (o->output == ST_SSMF_SMOOTH) {
            size_t ncomp = sp->ncomp + 1;
            double *comp = malloc(n * ncomp * sizeof(double)), *cv = malloc(n * ncomp * sizeof(double));
            res->rows = malloc(n * nc * sizeof(double));
            if (!comp || !cv || !res->rows) {
                free(comp);
                free(cv);
                rc = st_err_nomem(e, "decomposition");
                goto out;
            }
            rc = st_uc_decompose(sp, res->fit.theta, y, n, x, comp, cv, e);
            if (rc == 0) {
                for (size_t t = 0; t < n; t++) {
                    double *row = res->rows + t * nc, sig = 0;
                    row[0] = yin[t];
                    for (size_t i = 0; i < ncomp; i++) {
                        row[2 + 2 * i] = comp[t * ncomp + i];
                        row[3 + 2 * i] = sqrt(fmax(cv[t * ncomp + i], 0));
                        if (i + 1 < ncomp)
                            sig += comp[t * ncomp + i];
                    }
                    row[1] = sig;
                }
                res->nrows = n;
            }
            free(comp);
            free(cv);
            goto out;
        }
        if (o->output == ST_SSMF_FILTER) {
            st_ssm *s = NULL;
            double *Zbuf = sp->nreg ? malloc(n * sp->m * sizeof(double)) : NULL;
            res->rows = malloc(n * nc * sizeof(double));
            if (!res->rows || (sp->nreg && !Zbuf)) {
                free(Zbuf);
                rc = st_err_nomem(e, "output");
                goto out;
            }
            if ((rc = st_ssm_new(&s, 1, sp->m, sp->r, e)) == 0 &&
                (rc = st_uc_build(sp, res->fit.theta, s, x, n, Zbuf, e)) == 0 &&
                (rc = filter_rows(s, o, y, yin, n, res, e)) == 0)
                res->nrows = n;
            st_ssm_free(s);
            free(Zbuf);
            goto out;
        }
        if ((rc = st_uc_forecast(sp, res->fit.theta, y, ntrain, x, xf, h, mean, var, e)) < 0)
            goto out;
    }
    if (o->output == ST_SSMF_FORECAST) {
        res->rows = malloc(h * nc * sizeof(double));
        if (!res->rows) {
            rc = st_err_nomem(e, "forecasts");
            goto out;
        }
        forecast_rows(o, mean, var, h, res->rows, nc);
        res->nrows = h;
        res->tshift = 1;
    } else {
        /* holdout: accuracy on the original scale */
        double *fc = malloc(h * 4 * sizeof(double));
        res->rows = malloc(nc * sizeof(double));
        if (!fc || !res->rows) {
            free(fc);
            rc = st_err_nomem(e, "holdout");
            goto out;
        }
        size_t tmpc = 2 + 2 * o->nlevels;
        double *tmp = malloc(h * tmpc * sizeof(double));
        if (!tmp) {
            free(fc);
            rc = st_err_nomem(e, "holdout");
            goto out;
        }
        st_ssmf_opts o2 = *o;
        forecast_rows(&o2, mean, var, h, tmp, tmpc);
        for (size_t k = 0; k < h; k++)
            fc[k] = o->log ? exp(mean[k]) : mean[k]; /* point forecast: the median on log scale */
        double *row = res->rows;
        int per = o->period;
        if (res->fitted && res->fit.spec.period > per)
            per = res->fit.spec.period;
        row[0] = (double)ntrain;
        row[1] = (double)h;
        row[2] = res->mase = st_ssm_mase(yin, ntrain, per, yin + ntrain, fc, h);
        row[3] = res->smape = st_ssm_smape(yin + ntrain, fc, h);
        for (size_t i = 0; i < o->nlevels; i++) {
            size_t in = 0, cnt = 0;
            for (size_t k = 0; k < h; k++) {
                double a = yin[ntrain + k];
                if (isnan(a))
                    continue;
                cnt++;
                in += a >= tmp[k * tmpc + 2 + 2 * i] && a <= tmp[k * tmpc + 3 + 2 * i];
            }
            row[4 + i] = res->coverage[i < 16 ? i : 15] = cnt ? (double)in / (double)cnt : NAN;
        }
        res->nrows = 1;
        free(tmp);
        free(fc);
    }
out:
    free(y);
    free(mean);
    free(var);
    if (rc < 0)
        st_ssmf_result_free(res);
    return rc;
}

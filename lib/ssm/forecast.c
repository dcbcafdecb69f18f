/* ssm-forecast's per-series pipeline (see forecast.h): transform, split
 * off a holdout, choose and fit the model (select.c), then the rows of
 * the output kind (output.c). */
#include "config.h"

#include "ssm/forecast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void st_ssmf_result_free(st_ssmf_result *r)
{
    if (!r)
        return;
    free(r->rows);
    r->rows = NULL;
    st_ssm_model_free(&r->model);
}

/* Forecasts (or the holdout's forecasts) of the fitted model. */
static int forecast_part(const st_ssmf_opts *o, const st_ssm_data *d, const double *yin,
                         const double *xf, st_ssmf_result *res, st_err *e)
{
    size_t h = o->h, p = d->p, L = o->nlevels, hp = h * p;
    double *mean = malloc(hp * sizeof(double)), *var = malloc(hp * sizeof(double));
    double *lo = malloc(hp * (L ? L : 1) * sizeof(double)), *hi = malloc(hp * (L ? L : 1) * sizeof(double));
    int rc = 0;
    if (!mean || !var || !lo || !hi) {
        rc = st_err_nomem(e, "forecasts");
        goto out;
    }
    const st_ssm_model *m = &res->model;
    if ((rc = m->fam->forecast(m, d, xf, h, o->levels, L, &o->cfg, mean, var, lo, hi, e)) < 0)
        goto out;
    size_t nrows = o->output == ST_SSMF_FORECAST ? hp : 1;
    if (!(res->rows = malloc(nrows * res->ncols * sizeof(double)))) {
        rc = st_err_nomem(e, "forecasts");
        goto out;
    }
    if (o->output == ST_SSMF_FORECAST) {
        st_ssmf_forecast_rows(o, p, mean, var, lo, hi, h, res->rows, res->ncols);
        res->tshift = 1;
        res->rows_per_t = p;
    } else if ((rc = st_ssmf_holdout_row(o, yin, d->n, d->period, mean, lo, hi, res, res->rows, e)) < 0)
        goto out;
    res->nrows = nrows;
out:
    free(mean);
    free(var);
    free(lo);
    free(hi);
    return rc;
}

int st_ssmf_model_data(const st_ssmf_opts *o, const double *yin, size_t n, const double *x,
                       size_t nreg, double **ybuf, st_ssm_data *d, st_err *e)
{
    size_t p = st_ssmf_nobs(o);
    double *y = malloc((n ? n : 1) * p * sizeof(double));
    *ybuf = y;
    if (!y)
        return st_err_nomem(e, "series");
    for (size_t t = 0; t < n * p; t++) {
        y[t] = yin[t];
        if (o->log && !isnan(y[t])) {
            if (!(y[t] > 0))
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "--log needs positive values, point %zu is %g", t / p + 1, y[t]);
            y[t] = log(y[t]);
        }
    }
    st_ssm_data dd = {y, n, p, x, nreg, o->period > 1 ? o->period : 1};
    if (o->output == ST_SSMF_HOLDOUT) {
        if (o->h >= n)
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "holdout %zu leaves no data to fit (series has %zu points)", o->h, n);
        dd.n = n - o->h;
    }
    *d = dd;
    return 0;
}

int st_ssmf_series(const st_ssmf_opts *o, const double *yin, size_t n, const double *x, size_t nreg,
                   const double *xf, st_ssmf_result *res, st_err *e)
{
    memset(res, 0, sizeof *res);
    int rc = 0;
    char names[ST_SSMF_MAXCOLS][32];
    size_t nc = st_ssmf_columns(o, names, ST_SSMF_MAXCOLS);
    if (nc > ST_SSMF_MAXCOLS)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "too many output columns (%zu, at most %d)", nc, ST_SSMF_MAXCOLS);
    if (nc == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--%s needs an explicit model of a family that has that table (structural or matrix)", o->output == ST_SSMF_SMOOTH ? "smooth" : "filter");
    if (o->h < 1 && (o->output == ST_SSMF_FORECAST || o->output == ST_SSMF_HOLDOUT))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "horizon must be at least 1");
    if (o->nlevels > ST_SSMF_MAXLEVELS)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "at most %d interval levels", ST_SSMF_MAXLEVELS);
    if (n == 0)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "empty series");
    res->ncols = nc;
    res->rows_per_t = 1;
    size_t p = st_ssmf_nobs(o);
    if (p > 1 && o->output == ST_SSMF_HOLDOUT)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--holdout needs a univariate model");
    double *y = NULL;
    st_ssm_data d;
    if ((rc = st_ssmf_model_data(o, yin, n, x, nreg, &y, &d, e)) < 0)
        goto out;
    if ((rc = st_ssm_choose(o, &d, &res->model, res->choice, e)) < 0)
        goto out;
    res->fitted = 1;
    if (o->output == ST_SSMF_FORECAST || o->output == ST_SSMF_HOLDOUT)
        rc = forecast_part(o, &d, yin, xf, res, e);
    else {
        const st_ssm_model *m = &res->model;
        int kind = o->output == ST_SSMF_SMOOTH ? ST_SSM_TAB_SMOOTH : ST_SSM_TAB_FILTER;
        if (!m->fam->table)
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a %s model has no --%s table", m->fam->name, o->output == ST_SSMF_SMOOTH ? "smooth" : "filter");
        else if (!(res->rows = malloc(n * nc * sizeof(double))))
            rc = st_err_nomem(e, "output");
        else if ((rc = m->fam->table(m, &d, kind, res->rows, nc, e)) == 0) {
            res->nrows = n;
            /* columns y (or y1..yp) show the data as read, not log y */
            for (size_t c = 0; c < nc; c++) {
                long j = 0;
                if (names[c][0] != 'y' || (names[c][1] && sscanf(names[c] + 1, "%ld", &j) != 1))
                    continue;
                j = j ? j - 1 : 0;
                if (j < 0 || (size_t)j >= p)
                    continue;
                for (size_t t = 0; t < n; t++)
                    res->rows[t * nc + c] = yin[t * p + (size_t)j];
            }
        }
    }
out:
    free(y);
    if (rc < 0)
        st_ssmf_result_free(res);
    else if (!o->keep_model) {
        /* the summary stays; the family's data go */
        st_ssm_model_free(&res->model);
    }
    return rc;
}

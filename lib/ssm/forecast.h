/* One series through ssm-forecast's pipeline: choose and fit a model
 * (select.c), then forecasts with intervals, the family's smoothed or
 * filtered table, or a holdout evaluation, as rows of numbers the program
 * writes after its seq and t columns (output.c shapes them).  Owns
 * nothing the caller passes; st_ssmf_result_free frees the result. */
#ifndef ST_SSM_FORECAST_H
#define ST_SSM_FORECAST_H

#include <stddef.h>

#include "core/err.h"
#include "ssm/calendar.h"
#include "ssm/family.h"

enum { ST_SSMF_FORECAST, ST_SSMF_SMOOTH, ST_SSMF_FILTER, ST_SSMF_HOLDOUT };

#define ST_SSMF_MAXCOLS 256
#define ST_SSMF_MAXLEVELS 16

typedef struct st_ssmf_opts {
    const st_ssm_family *fam; /* an explicit model: its family and spec */
    const void *spec;         /* (fam NULL: --model auto across families) */
    unsigned families;        /* --model auto: bit i allows st_ssm_families()[i]; 0: all */
    int output;               /* ST_SSMF_* output kind */
    size_t h;                 /* horizon (forecast) or holdout length */
    const double *levels;     /* interval levels in percent, e.g. 80, 95 */
    size_t nlevels;
    int log;                  /* model log(y), back-transform */
    int period;               /* seasonal period (1: none; 0: from the frequency) */
    st_freq freq;             /* --freq, or ST_FREQ_NONE: from each series' times */
    st_ssm_cfg cfg;
    int keep_model;           /* keep the fitted model (impl) for st_ssm_model_write */
    size_t nreg;              /* regressors per series (st_ssmf_run_batch) */
} st_ssmf_opts;

typedef struct st_ssmf_result {
    size_t nrows, ncols;      /* rows x ncols values (without seq and t) */
    double *rows;
    int tshift;               /* rows index time: 0 = the data points, 1 = after them */
    size_t rows_per_t;        /* rows per time point (p for multivariate forecasts, else 1) */
    int fitted;               /* model holds a fit */
    st_ssm_model model;       /* the fit's summary; impl only with keep_model */
    char choice[256];         /* --model auto: how the family was chosen */
    /* holdout metrics (also in rows) */
    double mase, smape, coverage[ST_SSMF_MAXLEVELS];
} st_ssmf_result;

/* Column names for opts (into names[], each up to 32 bytes); returns the
 * count (0 with a family that has no such table). */
size_t st_ssmf_columns(const st_ssmf_opts *o, char names[][32], size_t max);

/* Observed variables per time point: p of a multivariate model, else 1. */
size_t st_ssmf_nobs(const st_ssmf_opts *o);

/* Run one series y[0..n-1] (n x p for a multivariate model; NaN
 * missing), regressors x (n x nreg) and future regressors xf (h x nreg).
 * Multivariate forecasts have a leading column "obs" (1..p, p rows per
 * step). */
int st_ssmf_series(const st_ssmf_opts *o, const double *y, size_t n, const double *x, size_t nreg,
                   const double *xf, st_ssmf_result *res, st_err *e);
void st_ssmf_result_free(st_ssmf_result *res);

/* The data a model sees: y on the model scale (log with o->log; in
 * *ybuf, which the caller frees even on failure), less the holdout with
 * --holdout. */
int st_ssmf_model_data(const st_ssmf_opts *o, const double *y, size_t n, const double *x,
                       size_t nreg, double **ybuf, st_ssm_data *d, st_err *e);

/* ---- select.c: which model ---- */

/* Fit the model o asks for to d: the explicit spec, or for --model auto
 * the family chosen by rolling-origin forecast accuracy (see select.c),
 * refitted on all of d.  choice (256 bytes, may be NULL) gets a line
 * saying how. */
int st_ssm_choose(const st_ssmf_opts *o, const st_ssm_data *d, st_ssm_model *m, char *choice,
                  st_err *e);

/* The validation design of --model auto for n points, horizon h and
 * period: the number of points forecast from each origin (*v) and the
 * origins (training lengths, at most 3, longest first); returns their
 * count (0: too short to compare families). */
size_t st_ssm_cv_origins(size_t n, size_t h, int period, size_t *v, size_t *origins);

/* ---- output.c: shaping ---- */

/* Forecast rows from model-scale means, variances and bounds (p values
 * per step, lo/hi[(k*p + j)*nlevels + i]): [obs,] mean, sd, lo, hi...,
 * back-transformed when o->log (log-normal mean and sd, exponentiated
 * bounds). */
void st_ssmf_forecast_rows(const st_ssmf_opts *o, size_t p, const double *mean, const double *var,
                           const double *lo, const double *hi, size_t h, double *rows, size_t nc);

/* The holdout row (n_train, h, MASE, sMAPE, coverage per level) for
 * original-scale actuals yin[ntrain..ntrain+h-1] against model-scale
 * forecasts; fills res's metrics too. */
int st_ssmf_holdout_row(const st_ssmf_opts *o, const double *yin, size_t ntrain, int period,
                        const double *mean, const double *lo, const double *hi,
                        st_ssmf_result *res, double *row, st_err *e);

/* Holdout accuracy: MASE (scaled by the in-sample seasonal-naive MAE with
 * period m), sMAPE in percent (0..200). */
double st_ssm_mase(const double *train, size_t n, int m, const double *actual,
                   const double *fc, size_t h);
double st_ssm_smape(const double *actual, const double *fc, size_t h);

/* The time of row k of a result for a series with (grid) times t[0..n-1]
 * on the axis c: the point's own time, or for forecasts the time k /
 * rows_per_t + 1 steps after the last (calendar steps for dates, months
 * and YYYYMM; the last interval for plain numbers). */
double st_ssmf_row_time(const st_ssmf_result *r, size_t k, const double *t, size_t n,
                        const st_ssm_calendar *c);

/* Averages of holdout metrics over series. */
typedef struct st_ssmf_tally {
    size_t nseries, n_mase, n_smape, n_cov[ST_SSMF_MAXLEVELS];
    double mase, smape, cov[ST_SSMF_MAXLEVELS];
} st_ssmf_tally;
void st_ssmf_tally_add(st_ssmf_tally *t, const st_ssmf_result *r, size_t nlevels);
/* "holdout H over N series: MASE x, sMAPE y, coverage80 z, ..." */
const char *st_ssmf_tally_format(const st_ssmf_tally *t, const st_ssmf_opts *o, char *buf, size_t n);

/* One line describing a fit for -v: model, log-likelihood, criteria,
 * parameters with standard errors. */
const char *st_ssmf_describe(const st_ssmf_result *r, const st_ssmf_opts *o, char *buf, size_t n);

#endif

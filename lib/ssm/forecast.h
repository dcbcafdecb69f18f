/* One series through ssm-forecast's pipeline: choose/fit a model, then
 * forecasts with intervals, smoothed components, filtered states or a
 * holdout evaluation, as rows of numbers the program writes after its
 * seq and t columns.  Owns nothing the caller passes; st_ssmf_result_free
 * frees the result's rows. */
#ifndef ST_SSM_FORECAST_H
#define ST_SSM_FORECAST_H

#include <stddef.h>

#include "core/err.h"
#include "ssm/kalman.h"
#include "ssm/structural.h"

enum { ST_SSMF_SPEC, ST_SSMF_AUTO, ST_SSMF_S4D, ST_SSMF_MATRIX };
enum { ST_SSMF_FORECAST, ST_SSMF_SMOOTH, ST_SSMF_FILTER, ST_SSMF_HOLDOUT };

#define ST_SSMF_MAXCOLS 256

typedef struct st_ssmf_opts {
    int mode;                 /* ST_SSMF_* model source */
    int output;               /* ST_SSMF_* output kind */
    st_uc_spec spec;          /* ST_SSMF_SPEC (and the spec of a loaded structural model) */
    int period;               /* seasonal period for auto and MASE (1: none) */
    int s4d_n;                /* ST_SSMF_S4D: state size N */
    size_t h;                 /* horizon (forecast) or holdout length */
    const double *levels;     /* interval levels in percent, e.g. 80, 95 */
    size_t nlevels;
    int log;                  /* model log(y), back-transform */
    const double *fixed_theta;/* loaded structural parameters: no refit when non-NULL */
    const st_ssm *matrix;     /* ST_SSMF_MATRIX: general model (used as is) */
    st_uc_opts uc;
} st_ssmf_opts;

typedef struct st_ssmf_result {
    size_t nrows, ncols;      /* rows x ncols values (without seq and t) */
    double *rows;
    int tshift;               /* rows index time: 0 = the data points, 1 = after them */
    size_t rows_per_t;        /* rows per time point (p for multivariate forecasts, else 1) */
    st_uc_fit fit;            /* the structural fit (mode SPEC/AUTO) */
    int fitted;               /* fit is valid */
    char model[128];          /* model chosen, as text */
    /* holdout metrics (also in rows) */
    double mase, smape, coverage[16];
} st_ssmf_result;

/* Column names for opts (into names[], each up to 32 bytes); returns the
 * count. */
size_t st_ssmf_columns(const st_ssmf_opts *o, char names[][32], size_t max);

/* Observed variables per time point: p of a matrix model, else 1. */
size_t st_ssmf_nobs(const st_ssmf_opts *o);

/* Run one series y[0..n-1] (n x p for a multivariate matrix model; NaN
 * missing), regressors x (n x nreg) and future regressors xf (h x nreg)
 * when the model has "reg".
 * Matrix models: --smooth writes the smoothed states a1..am and their sds;
 * with p > 1 forecasts have a leading column "obs" (1..p, p rows per step)
 * and --filter writes y_j, pred_j, pred_sd_j for each j, then a1..am. */
int st_ssmf_series(const st_ssmf_opts *o, const double *y, size_t n, const double *x,
                   const double *xf, st_ssmf_result *res, st_err *e);
void st_ssmf_result_free(st_ssmf_result *res);

/* Holdout accuracy: MASE (scaled by the in-sample seasonal-naive MAE with
 * period m), sMAPE in percent (0..200). */
double st_ssm_mase(const double *train, size_t n, int m, const double *actual,
                   const double *fc, size_t h);
double st_ssm_smape(const double *actual, const double *fc, size_t h);

#endif

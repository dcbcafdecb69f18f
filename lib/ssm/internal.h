/* lib/ssm internals shared by the family files. */
#ifndef ST_SSM_INTERNAL_H
#define ST_SSM_INTERNAL_H

#include <stddef.h>

#include "core/err.h"
#include "ssm/kalman.h"

/* One-step predictions, residuals and filtered states of a univariate
 * model: y, pred, pred_sd, resid, std_resid, a1..am per row (nc columns,
 * n rows); predictions are NaN while the state is diffuse. */
int st_ssm_filter_table(const st_ssm *s, const double *y, size_t n, double *rows, size_t nc,
                        st_err *e);

/* Normal interval bounds lo/hi[k*nlevels + i] = mean[k] -+ z_i sd[k] for
 * levels in percent. */
void st_ssm_normal_bounds(const double *mean, const double *var, size_t h, const double *levels,
                          size_t nlevels, double *lo, double *hi);

/* A forecast variance that is not a finite non-negative number, or a
 * mean that is not finite, is a numerical breakdown: ST_ENUMERIC naming
 * the step (what: e.g. "forecast").  Returns 0 when all are fine. */
int st_ssm_check_forecast(const double *mean, const double *var, size_t h, st_err *e);

#endif

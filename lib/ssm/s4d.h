/* A diagonal state-space feature forecaster after S4D (Gu et al. 2022, "On
 * the parameterization and initialization of diagonal state space
 * models"): fixed banks of continuous-time diagonal SSMs (S4D-Lin
 * A_n = -1/2 + i pi n and S4D-Inv A_n = -1/2 + i (N/pi)(N/(2n+1) - 1),
 * B = 1), discretised by zero-order hold at a few step sizes and run as an
 * O(N T) recurrence over the normalised series.  Their real and imaginary
 * states (plus the current value) are the features of a ridge readout per
 * horizon; the ridge penalty minimises the closed-form leave-one-out error
 * and the intervals are quantiles of the leave-one-out residuals. */
#ifndef ST_SSM_S4D_H
#define ST_SSM_S4D_H

#include <stddef.h>

#include "core/err.h"

/* Forecast h steps after y[0..n-1] (NaN: carried forward).  mean[h],
 * var[h] (LOO residual variance per horizon), lo/hi[h * nlevels] interval
 * bounds for levels in percent. */
int st_s4d_forecast(const double *y, size_t n, int N, size_t h, const double *levels,
                    size_t nlevels, double *mean, double *var, double *lo, double *hi, st_err *e);

#endif

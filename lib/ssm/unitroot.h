/* The differencing tests of forecast::auto.arima (R forecast 8.20):
 * KPSS for the number of first differences (ndiffs, test = "kpss") and
 * the seasonal-strength rule for the seasonal one (nsdiffs, test =
 * "seas", the default since forecast 8.15): difference once at the
 * seasonal lag when the strength of seasonality of an STL decomposition,
 * max(0, 1 - Var(remainder) / Var(remainder + seasonal)), exceeds 0.64.
 * The STL is R's stats::stl (Cleveland et al. 1990, the netlib Fortran
 * R ships) with the settings forecast's mstl gives it (s.window 11,
 * non-robust).  Missing values are dropped (KPSS, as ndiffs does) or
 * filled by linear interpolation (STL; forecast's na.interp differs).
 *
 * Ownership: the caller's arrays in, numbers out. */
#ifndef ST_SSM_UNITROOT_H
#define ST_SSM_UNITROOT_H

#include <stddef.h>

#include "core/err.h"

/* forecast's is.constant: all observed values equal to the first within
 * R's all.equal tolerance (mean absolute difference <= 1.5e-8 times the
 * mean absolute value).  NaN values are skipped. */
int st_ur_is_constant(const double *x, size_t n);

/* KPSS level-stationarity statistic of x (urca::ur.kpss type "mu") with
 * lags Bartlett-weighted autocovariances; lags < 0: forecast's
 * trunc(3 sqrt(n) / 13). */
double st_ur_kpss(const double *x, size_t n, int lags);
/* Its p-value as forecast interpolates it in urca's table (critical
 * values 0.347, 0.463, 0.574, 0.739 for 10, 5, 2.5, 1 %, clamped). */
double st_ur_kpss_pvalue(double stat);

/* ndiffs(x, alpha, test = "kpss", max.d): first differences needed
 * (NaN values dropped first). */
int st_ur_ndiffs(const double *x, size_t n, double alpha, int maxd);

/* R's stl(x, s.window, robust = FALSE) for period >= 2 and n > 2 period:
 * seasonal[n] and trend[n] (either may be NULL). */
int st_ur_stl(const double *x, size_t n, int period, int s_window, double *seasonal, double *trend,
              st_err *e);

/* forecast's seasonal strength of x for period (mstl, then the variance
 * ratio above); NAN when the series is too short for STL (n <= 2 period). */
double st_ur_seasonal_strength(const double *x, size_t n, int period);

/* nsdiffs(x, test = "seas", max.D): 0 or 1 seasonal differences. */
int st_ur_nsdiffs(const double *x, size_t n, int period, int maxD);

#endif

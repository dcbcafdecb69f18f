/* ARIMA and seasonal ARIMA models with regression errors, as R's
 * stats::arima and forecast::Arima compute them:
 *
 *     y_t = x_t' beta + u_t,
 *     phi(B) Phi(B^s) (1 - B)^d (1 - B^s)^D u_t = theta(B) Theta(B^s) e_t,
 *     e_t ~ N(0, sigma2),
 *
 * where x_t holds an intercept (only when d + D = 0), a drift (the time
 * index 1..n) and the caller's regressors, in that order.  Coefficients
 * are kept in R's order and sign convention: ar1..arp, ma1..maq,
 * sar1..sarP, sma1..smaQ, intercept, drift, regressors, with
 * phi(B) = 1 - ar1 B - ... and theta(B) = 1 + ma1 B + ....
 *
 * Likelihood (R's convention, the default everywhere here).  R puts the
 * differencing in the state: the state is the r = max(p + sP, q + sQ + 1)
 * ARMA states (Harvey's form) and the d + sD lagged values the
 * differencing needs, the ARMA block starts from its stationary
 * covariance (computed exactly here from the autocovariances; R's default
 * "Gardner1980" gives the same numbers except close to a unit root) and
 * the lagged values from N(0, kappa) with kappa = 1e6, in units of sigma2.
 * The Kalman filter leaves out the steps whose prediction variance is
 * 1e4 or more (the first d + sD, unless values are missing) and sigma2 is
 * concentrated out:
 *     loglik = -n_used/2 (log(2 pi ssq / nu) + 1) - n_used/(2 nu) sum log F
 * (nu: the steps counted, n_used: the observed points less d + sD), which
 * equals R's loglik for the same data and coefficients.  Because kappa is
 * finite and in units of sigma2 this is not exactly the diffuse
 * likelihood: on series whose level is many standard deviations from 0
 * (log AirPassengers) it differs from it by ~1e-3.  st_arima_loglik_exact
 * gives the exact diffuse one (lib/ssm/kalman.c with diffuse lagged
 * values), which equals the stationary likelihood of the differenced
 * series and statsmodels' SARIMAX with simple_differencing=True.
 *
 * Estimation: R's default CSS-ML (conditional sum of squares for a start,
 * then maximum likelihood) or ML, with R's parameterisation: AR parts
 * through partial autocorrelations (stationary by construction), MA parts
 * unconstrained and their roots inside the unit circle flipped after the
 * fit (invertible), as R does.  The optimiser is L-BFGS on central
 * differences.  AICc, BIC and sigma2 follow forecast::Arima.
 *
 * Ownership: st_arima_fit_free frees what a fit holds. */
#ifndef ST_SSM_ARIMA_H
#define ST_SSM_ARIMA_H

#include <stddef.h>

#include "core/err.h"

#define ST_ARIMA_MAXORDER 20  /* p, q */
#define ST_ARIMA_MAXSORDER 4  /* P, Q */
#define ST_ARIMA_MAXPERIOD 400
#define ST_ARIMA_MAXREG 32    /* regressors besides intercept and drift */
#define ST_ARIMA_MAXCOEF (2 * ST_ARIMA_MAXORDER + 2 * ST_ARIMA_MAXSORDER + 2 + ST_ARIMA_MAXREG)

typedef struct st_arima_spec {
    int p, d, q;     /* non-seasonal orders */
    int P, D, Q, s;  /* seasonal orders and period (s = 1: none) */
    int mean;        /* intercept (used only when d + D = 0) */
    int drift;       /* drift: the time index 1..n as a regressor */
    size_t nreg;     /* the caller's regressors */
} st_arima_spec;

enum { ST_ARIMA_CSS_ML = 0, ST_ARIMA_ML, ST_ARIMA_CSS };

/* Orders, period and regressors within the limits above and consistent
 * (seasonal orders need s >= 2, drift needs d + D <= 1): 0 or ST_EUSAGE. */
int st_arima_check_spec(const st_arima_spec *s, st_err *e);
/* ARMA coefficients p + q + P + Q, regression coefficients (intercept if
 * used, drift, regressors), and all of them. */
size_t st_arima_narma(const st_arima_spec *s);
size_t st_arima_nxreg(const st_arima_spec *s);
size_t st_arima_ncoef(const st_arima_spec *s);
/* 1 if the spec has an intercept (mean and d + D = 0). */
int st_arima_has_intercept(const st_arima_spec *s);
/* R's name for coefficient i (ar1, ma2, sar1, sma1, intercept, drift, or
 * regname[k] / xreg1.. for regressors; regname may be NULL). */
const char *st_arima_coef_name(const st_arima_spec *s, size_t i, const char *const *regname,
                               char *buf, size_t n);
/* forecast's arima.string: "ARIMA(0,1,1)(0,1,1)[12]", "ARIMA(1,1,0) with
 * drift", "ARIMA(2,0,1) with non-zero mean", "ARIMA(0,0,1) with zero
 * mean", "Regression with ARIMA(1,0,0) errors". */
const char *st_arima_name(const st_arima_spec *s, char *buf, size_t n);

/* The full AR and MA polynomials (phi[p + sP], theta[q + sQ]) of the
 * coefficients coef (R's order), with the AR parts mapped through R's
 * partial-autocorrelation transform when trans (R's ARIMA_transPars). */
void st_arima_expand(const st_arima_spec *s, const double *coef, int trans, double *phi,
                     double *theta);

/* Stationary covariance (unit innovation variance) of the r ARMA states
 * of R's state-space form, r = max(np, nq + 1): Q0 (r x r, row-major).
 * ST_EDATA if the AR part is not stationary. */
int st_arima_q0(const double *phi, size_t np, const double *theta, size_t nq, double *Q0, st_err *e);

/* R's likelihood pieces for w = y - X beta (NaN missing) and full
 * polynomials phi, theta: sum of squared innovations over the counted
 * steps (ssq), sum of log prediction variances (sumlog), steps counted
 * (nu).  resid (n, may be NULL): standardized innovations v / sqrt(F), NaN
 * where y is missing. */
typedef struct st_arima_ll {
    double ssq, sumlog;
    size_t nu;
} st_arima_ll;

/* Linear regression part: X[t*nx + j] of the spec's regressors for t <
 * n (intercept, drift t+1, then x[t*nreg + k]). */
void st_arima_design(const st_arima_spec *s, const double *x, size_t n, size_t t0, double *X);

typedef struct st_arima_fit {
    st_arima_spec spec;
    size_t ncoef;
    double coef[ST_ARIMA_MAXCOEF];
    double se[ST_ARIMA_MAXCOEF];  /* from R's Hessian approximation; NaN if not computed */
    double sigma2;                /* forecast::Arima's: sum resid^2 / (nstar - npar + 1) */
    double sigma2_ml;             /* stats::arima's: ssq / n_used */
    double loglik, aic, aicc, bic; /* R's convention (above) */
    double loglik_exact;          /* st_arima_loglik_exact at the same coefficients */
    size_t nused;                 /* observed points less d + sD */
    size_t nstar;                 /* observed span less d + sD (forecast's nstar) */
    size_t npar;                  /* coefficients + 1 (sigma2) */
    int method;                   /* ST_ARIMA_* */
    int converged, nevals;
    int var_ok;                   /* R's checkarima passes: the coefficient variance
                                   * from the Hessian has no negative diagonal */
    double minroot;               /* smallest modulus of the AR and MA roots (2 if none) */
    /* the filtered state after the last point, for forecasts */
    size_t rd;
    double *a, *P;
    size_t n;                     /* length of the series fitted (for drift) */
} st_arima_fit;

void st_arima_fit_free(st_arima_fit *f);

/* R's likelihood of y (n, NaN missing) with regressors x (n x nreg, or
 * NULL) at the coefficients coef: fills f (loglik, criteria, sigma2,
 * state for forecasts; var_ok and se are not computed).  ST_EDATA for a
 * non-stationary AR part. */
int st_arima_evaluate(const st_arima_spec *s, const double *coef, const double *y, const double *x,
                      size_t n, st_arima_fit *f, st_err *e);

/* Fit by method (ST_ARIMA_CSS_ML falls back on ML when values are
 * missing, as R does).  The CSS start must have stationary AR parts
 * (R's "non-stationary AR part from CSS" error otherwise: ST_ENUMERIC).
 * want_var: compute the Hessian, se and var_ok (R's checkarima). */
int st_arima_estimate(const st_arima_spec *s, const double *y, const double *x, size_t n, int method,
                 int want_var, st_arima_fit *f, st_err *e);

/* The coefficients' standard errors and R's checkarima test (var_ok)
 * for a fit of y, x made without want_var (same numbers as with it). */
int st_arima_variance(st_arima_fit *f, const double *y, const double *x, size_t n, st_err *e);

/* The exact diffuse log-likelihood (sigma2 concentrated) of y at coef:
 * Kalman filter of lib/ssm/kalman.c with the lagged values diffuse, the
 * log F_inf terms of the diffuse steps left out (they depend only on the
 * differencing, not on the coefficients); equals the stationary Gaussian
 * likelihood of the differenced series when nothing is missing. */
int st_arima_loglik_exact(const st_arima_spec *s, const double *coef, const double *y,
                          const double *x, size_t n, double *loglik, st_err *e);

/* One-step predictions of y (with the regression part) and their
 * variances (times sigma2) under the fit, by R's filter; NaN where y is
 * missing and in the steps R leaves out (the first d + sD). */
int st_arima_filter(const st_arima_fit *f, const double *y, const double *x, size_t n, double *pred,
                    double *pred_var, st_err *e);

/* Forecast h steps after the fitted series (R's KalmanForecast from the
 * final state): mean[h], var[h] (times sigma2), normal bounds lo/hi[k *
 * nlevels + i] for levels in percent.  xf: h x nreg future regressors. */
int st_arima_forecast(const st_arima_fit *f, const double *xf, size_t h, const double *levels,
                      size_t nlevels, double *mean, double *var, double *lo, double *hi, st_err *e);

/* Smallest modulus of the roots of 1 - phi_1 z - ... (sign -1) or
 * 1 + theta_1 z + ... (sign +1), trailing coefficients |c| <= 1e-8
 * dropped; 2 when none is left (forecast's myarima test). */
double st_arima_minroot(const double *c, size_t n, int sign);

/* MA polynomial 1 + ma_1 z + ... + ma_q z^q with its roots inside the
 * unit circle replaced by their inverses (R's maInvert); in place. */
int st_arima_ma_invert(double *ma, size_t q, st_err *e);

/* ------------------------------------------- automatic choice (autoarima.c)
 *
 * forecast::auto.arima (R forecast 8.20) with its defaults: the number of
 * seasonal differences D from the seasonal-strength rule (nsdiffs test
 * "seas", unitroot.h), then d from KPSS tests at 5 % (ndiffs, max 2) on
 * the seasonally differenced series (on the residuals of a regression on
 * the regressors when there are some); orders up to p, q <= 5, P, Q <= 2,
 * p + q + P + Q <= 5 (p, q also <= n/3 and < s when a seasonal AR / MA
 * part is allowed); a drift when d + D = 1 and a mean when d + D = 0 are
 * tried as the "constant"; models whose AR or MA roots are within 1.01
 * of the unit circle, or whose coefficient variance has a negative
 * diagonal (R's checkarima), are rejected; the criterion is AICc.  The
 * Hyndman-Khandakar stepwise search starts from (2,d,2)(1,D,1),
 * (0,d,0)(0,D,0), (1,d,0)(1,D,0), (0,d,1)(0,D,1) and moves one order or
 * the constant at a time, in R's order, up to 94 models.  With
 * approximation (R's rule: more than 150 points or a period above 12)
 * the search fits by CSS with R's AIC offset and the best models are then
 * refitted by CSS-ML, the first that passes the checks winning. */
typedef struct st_arima_auto_opts {
    int max_p, max_q, max_P, max_Q, max_order, max_d, max_D;
    int start_p, start_q, start_P, start_Q;
    int d, D;          /* -1: from the tests */
    int stepwise;      /* 0: every model up to max_order */
    int approximation; /* -1: R's rule */
    int allowdrift, allowmean;
    int nmodels;
} st_arima_auto_opts;

void st_arima_auto_defaults(st_arima_auto_opts *o);

typedef struct st_arima_auto_info {
    int d, D;          /* the differences chosen */
    int approximation; /* searched with CSS */
    int nfitted;       /* models fitted in the search */
    size_t first;      /* leading missing points dropped */
} st_arima_auto_info;

/* The choice for y[0..n-1] (NaN missing; leading missing points are
 * dropped, as R does: the fit then describes y + info->first), with nreg
 * regressors x (n x nreg, or NULL) and seasonal period (1: none). */
int st_arima_auto(const double *y, const double *x, size_t n, size_t nreg, int period,
                  const st_arima_auto_opts *o, st_arima_fit *best, st_arima_auto_info *info,
                  st_err *e);

#endif

/* ETS: exponential smoothing in the innovations state-space form of
 * Hyndman, Koehler, Ord and Snyder (2008, "Forecasting with Exponential
 * Smoothing"), the taxonomy ETS(E,T,S) with error A or M, trend N, A or Ad
 * (damped) and season N, A or M of period m (2..24), as R's forecast::ets
 * computes it: the same recursion (etscalc), parameterisation (alpha,
 * beta, gamma, phi; initial level l, slope b and seasonal states s0 ..
 * s(m-2), the last one making the seasonal states sum to 0, or to m when
 * multiplicative), parameter region and candidate rules.
 *
 * Likelihood.  With one-step errors e_t = y_t - f_t (additive error) or
 * (y_t - f_t) / f_t (multiplicative), over the n observed points:
 *     lik = n log(sum e_t^2) + 2 sum log|f_t|   (the last sum for M errors)
 * is R's 'lik' (what its optimiser minimises; R's loglik = -lik / 2).  The
 * log-likelihood reported here is the Gaussian one with the variance
 * concentrated out:
 *     loglik = -lik / 2 - n/2 (1 + log(2 pi / n)),
 * i.e. R's loglik minus n/2 (1 + log(2 pi / n)); AIC, AICc and BIC count
 * the estimated smoothing parameters, the free initial states and the
 * variance, as R does (so they differ from R's by the same constant).
 * Missing values (NaN) are predicted through (the state moves on with a
 * zero error, as forecast::ets >= 8.22 does; older versions cut the series
 * to its longest complete run).
 *
 * Parameter region (R's bounds = "both"): the usual region 1e-4 <= alpha
 * <= 0.9999, 1e-4 <= beta <= alpha, 1e-4 <= gamma <= 1 - alpha, 0.8 <=
 * phi <= 0.98, and, for seasonal models, the admissible region of
 * Hyndman et al. (2008, ch. 10): R's linear conditions and the roots of
 * its characteristic polynomial inside |z| <= 1 + 1e-10 (a Schur-Cohn
 * test here); multiplicative seasonal states must be >= 0.
 *
 * Ownership: plain structs; nothing is allocated across calls. */
#ifndef ST_SSM_ETS_H
#define ST_SSM_ETS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum { ST_ETS_N = 0, ST_ETS_A = 1, ST_ETS_M = 2 };

#define ST_ETS_MAXM 24

typedef struct st_ets_model {
    int error;  /* ST_ETS_A or ST_ETS_M */
    int trend;  /* ST_ETS_N or ST_ETS_A */
    int damped; /* with trend A */
    int season; /* ST_ETS_N, ST_ETS_A or ST_ETS_M */
    int m;      /* seasonal period (1 without season) */
} st_ets_model;

typedef struct st_ets_par {
    double alpha, beta, gamma, phi; /* phi = 1 undamped; beta, gamma 0 when absent */
    double l, b;                    /* initial level and slope */
    double s[ST_ETS_MAXM];          /* s[0] most recent .. s[m-1] oldest (derived) */
} st_ets_par;

/* "ETS(M,Ad,M)" into buf (at least 16 bytes); returns buf. */
const char *st_ets_name(const st_ets_model *mod, char *buf, size_t n);
/* "MAdM"-style code (at least 5 bytes). */
const char *st_ets_code(const st_ets_model *mod, char *buf, size_t n);
/* Parse "MAdM", "ANN", "AAdA"... (no Z); returns 0 or ST_EUSAGE. */
int st_ets_parse_code(const char *s, int m, st_ets_model *mod, st_err *e);

/* Smoothing parameters estimated (alpha, beta, gamma, phi as the model
 * has them) and free initial states (l, b, s0..s(m-2)). */
size_t st_ets_nsmooth(const st_ets_model *mod);
size_t st_ets_nstates(const st_ets_model *mod);

/* s[m-1] from s[0..m-2]: 0 (additive) or m (multiplicative) minus their sum. */
void st_ets_complete_season(const st_ets_model *mod, st_ets_par *par);

/* Usual region and admissibility (R's check.param with bounds "both"),
 * multiplicative seasonal states >= 0.  1 if inside. */
int st_ets_admissible(const st_ets_model *mod, const st_ets_par *par);

/* R's lik for y[0..n-1] (NaN missing) at par (s complete): *lik, the
 * number of observed points *nobs and sum e_t^2 *sse.  lik is +INFINITY
 * where R's would be NA. */
void st_ets_lik(const st_ets_model *mod, const st_ets_par *par, const double *y, size_t n,
                double *lik, size_t *nobs, double *sse);

/* R's lik at par (its s[m-1] recomputed from s[0..m-2]) and, when grad
 * != NULL, lik / n_obs differentiated with respect to the free parameters
 * in R's order (alpha, beta, gamma, phi as the model has them, l, b,
 * s0..s(m-2)); +INFINITY outside the parameter region. */
double st_ets_lik_grad(const st_ets_model *mod, const st_ets_par *par, const double *y, size_t n,
                       double *grad);

typedef struct st_ets_fit {
    st_ets_model mod;
    st_ets_par par;
    double lik;               /* R's lik (see above) */
    double loglik, aic, aicc, bic;
    double sigma2;            /* sum e^2 / (nobs - npar_R), R's sigma2 */
    size_t nobs, npar;        /* npar: smoothing + free states + 1 (variance) */
    int converged, nevals;
} st_ets_fit;

/* Fill the fit's figures (lik, loglik, criteria, sigma2) for par. */
int st_ets_evaluate(const st_ets_model *mod, const st_ets_par *par, const double *y, size_t n,
                    st_ets_fit *fit, st_err *e);

/* Maximum likelihood: L-BFGS with the exact gradient (reverse-mode
 * differentiation of the recursion) from R's starting values (initparam,
 * initstate), inside the region above.  Fails (ST_EDATA) when the model
 * has as many parameters as the data have points less one (R's rule),
 * for non-positive data with a multiplicative component, or a seasonal
 * period the data do not cover. */
int st_ets_fit_model(const st_ets_model *mod, const double *y, size_t n, st_ets_fit *fit, st_err *e);

/* The same with warm starts from fits of related models of the same data
 * (screened with nalt alternative smoothing parameter starts by their
 * likelihood; L-BFGS runs from R's start and the best nrun - 1 others). */
int st_ets_fit_model_from(const st_ets_model *mod, const double *y, size_t n, const st_ets_fit *related,
                          size_t nrelated, int nalt, int nrun, st_ets_fit *fit, st_err *e);

/* Which models the automatic choice may try: each a bit mask over
 * ST_ETS_N/A/M (error: A, M; trend: N, A; season: N, A, M) and damped
 * (bit 0 undamped, bit 1 damped). */
typedef struct st_ets_choice {
    unsigned error, trend, damped, season;
} st_ets_choice;

/* forecast::ets's automatic choice (model "ZZZ", damped NULL, restrict =
 * TRUE, allow.multiplicative.trend = FALSE, ic = "aicc"): every allowed
 * combination but additive error with multiplicative season, damping
 * without trend and multiplicative models of data with a value <= 0;
 * seasonal models only when m > 1, m <= 24 and n > m; each fitted by
 * st_ets_fit_model (those with too many parameters skipped); the lowest
 * AICc wins.  Returns the number of models fitted (0: an error). */
int st_ets_auto(const st_ets_choice *c, int m, const double *y, size_t n, st_ets_fit *best,
                int *nfitted, st_err *e);

/* The state after the last point: l, b, s[0..m-1] (s[0] the newest). */
void st_ets_final_state(const st_ets_fit *f, const double *y, size_t n, st_ets_par *state);

/* One pass of the fitted recursion over y: pred[t] the one-step forecast
 * of point t, states[t*k ..] the state after it (l, b if trended, s1..sm
 * with s1 the newest; k = 1 + trend + m if seasonal). */
void st_ets_filter(const st_ets_fit *f, const double *y, size_t n, double *pred, double *states);

/* Forecast h steps after y: point forecasts mean[h] (the forecast means
 * for classes 1-3 of Hyndman et al. 2008 ch. 6, which R's forecast.ets
 * uses), variances var[h], and bounds lo/hi[k*nlevels + i] for levels in
 * percent.  Classes 1 (A error, no M season), 2 (M error, no M season)
 * and 3 (M error, M season): analytic variances, normal bounds.  Other
 * models (A error with M season): npaths simulated sample paths drawn
 * from stream (seed, stream), bounds their type-8 quantiles, var their
 * sample variance. */
int st_ets_forecast(const st_ets_fit *f, const double *y, size_t n, size_t h, const double *levels,
                    size_t nlevels, uint64_t seed, uint64_t stream, int npaths, double *mean,
                    double *var, double *lo, double *hi, st_err *e);

#endif

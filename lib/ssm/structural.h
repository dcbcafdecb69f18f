/* Structural time-series models (Harvey 1989; Durbin & Koopman 2012 ch. 3)
 * built from a spec such as "trend+seasonal:12", fitted by exact-diffuse
 * maximum likelihood, forecast with intervals, selected by AICc.
 *
 * Components: level, trend (local linear), smooth-trend (integrated random
 * walk), damped-trend (slope AR(1) with 0 < phi < 1), seasonal:S (dummy,
 * S-1 states), trig:S:K (K harmonics of period S), cycle (stochastic cycle,
 * damping rho and frequency lambda), ar:P (stationary AR(P)), reg
 * (exogenous regression, constant coefficients), irregular (always
 * present; naming it is allowed).  Non-stationary states get a diffuse
 * prior, stationary ones (damped slope, cycle, AR) their stationary one.
 *
 * Ownership: st_uc_fit_free frees what st_uc_fit_model fills. */
#ifndef ST_SSM_STRUCTURAL_H
#define ST_SSM_STRUCTURAL_H

#include <stddef.h>

#include "core/err.h"
#include "ssm/kalman.h"

enum {
    ST_UC_LEVEL, ST_UC_TREND, ST_UC_SMOOTH_TREND, ST_UC_DAMPED_TREND, ST_UC_SEASONAL,
    ST_UC_TRIG, ST_UC_CYCLE, ST_UC_AR, ST_UC_REG, ST_UC_IRREGULAR
};

#define ST_UC_MAXCOMP 12
#define ST_UC_MAXPAR 64

typedef struct st_uc_comp {
    int kind;
    int S, K, P; /* seasonal period, harmonics, AR order */
} st_uc_comp;

typedef struct st_uc_spec {
    st_uc_comp comp[ST_UC_MAXCOMP];
    size_t ncomp;
    size_t nreg; /* regressors for "reg" */
    /* derived by st_uc_parse */
    size_t m, r;                  /* state and disturbance dimensions */
    size_t npar;                  /* parameters (variances first per component) */
    size_t ndiffuse;              /* diffuse states */
    int period;                   /* largest seasonal period, 1 if none (for MASE) */
    char names[ST_UC_MAXPAR][32]; /* parameter names, e.g. "sigma2.level" */
    int ptype[ST_UC_MAXPAR];      /* ST_UC_P* below */
} st_uc_spec;

enum { ST_UC_PVAR, ST_UC_PUNIT, ST_UC_PANGLE, ST_UC_PAR };

/* Parse "trend+seasonal:12" etc.  nreg: number of exogenous columns (needed
 * iff "reg" appears).  Errors are ST_EUSAGE with the offending part. */
int st_uc_parse(const char *text, size_t nreg, st_uc_spec *sp, st_err *e);
/* Canonical text of a spec ("trend+seasonal:12"); returns buf. */
const char *st_uc_format(const st_uc_spec *sp, char *buf, size_t n);

/* Fill the matrices of s (dimensions 1, sp->m, sp->r) from natural
 * parameters theta[npar].  x: n x nreg regressors (row-major) for "reg";
 * the caller provides Zbuf (n x m) that becomes s->Zt when nreg > 0. */
int st_uc_build(const st_uc_spec *sp, const double *theta, st_ssm *s, const double *x, size_t n,
                double *Zbuf, st_err *e);

typedef struct st_uc_opts {
    int nstarts;   /* L-BFGS runs from the best screened starting points (0: 1 for
                      variance-only models, 2 with damping/cycle/AR parameters) */
    int max_eval;  /* per start (default 400 when 0) */
    int want_se;   /* standard errors from the observed information */
} st_uc_opts;

typedef struct st_uc_fit {
    st_uc_spec spec;
    double theta[ST_UC_MAXPAR]; /* natural parameters (variances, phi, rho, lambda, ar) */
    double se[ST_UC_MAXPAR];    /* NaN where not computed or not identifiable */
    double loglik;              /* exact diffuse convention of kalman.h */
    double aic, aicc, bic;      /* with k = npar + ndiffuse (Durbin & Koopman 2012 sec 7.4) */
    size_t nobs;                /* non-missing observations */
    int converged;              /* the best start stopped on a tolerance */
    const char *status;         /* optimiser status of the best start */
    int nevals;                 /* likelihood evaluations, all starts */
} st_uc_fit;

/* Maximum likelihood for y[0..n-1] (NaN missing), x n x nreg or NULL.
 * Fails (ST_EDATA) with a clear message for too few observations, an
 * all-missing or constant series, or a seasonal period longer than the
 * series.  Non-convergence is not an error: fit->converged = 0. */
int st_uc_fit_model(const st_uc_spec *sp, const double *y, size_t n, const double *x,
                    const st_uc_opts *opts, st_uc_fit *fit, st_err *e);

/* Log-likelihood at given natural parameters (no optimisation). */
int st_uc_loglik(const st_uc_spec *sp, const double *theta, const double *y, size_t n,
                 const double *x, double *loglik, st_err *e);

/* Forecast h steps after y: mean[h], var[h].  xf: h x nreg future regressors. */
int st_uc_forecast(const st_uc_spec *sp, const double *theta, const double *y, size_t n,
                   const double *x, const double *xf, size_t h, double *mean, double *var,
                   st_err *e);

/* Smoothed components: for each time point, the contribution of each
 * component to y (comp: n x ncomp, level+slope count as the trend, the
 * irregular is the smoothed eps) and their variances. */
int st_uc_decompose(const st_uc_spec *sp, const double *theta, const double *y, size_t n,
                    const double *x, double *comp, double *compvar, st_err *e);

/* Candidate specs for --model auto: level, trend, damped-trend, each also
 * with +seasonal:S when period S >= 2.  Fits all, keeps the lowest AICc.
 * Returns the number of candidates that could be fitted (0 is an error). */
int st_uc_auto(int period, const double *y, size_t n, const st_uc_opts *opts, st_uc_fit *best,
               st_err *e);

/* A spec of the structural family (family.h) for sp, with theta used as
 * is (no refit) when theta != NULL; free it with the family's spec_free. */
int st_uc_family_spec(const st_uc_spec *sp, const double *theta, void **spec, st_err *e);

/* Standard normal quantile (Acklam's rational approximation refined by one
 * Halley step: |error| < 1e-15). */
double st_ssm_qnorm(double p);

#endif

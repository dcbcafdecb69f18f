/* Linear Gaussian state-space models: Kalman filter with exact diffuse
 * initialisation, state and disturbance smoothers, forecasts.
 *
 *     y_t     = d + Z_t alpha_t + eps_t,      eps_t ~ N(0, H)      (p x 1)
 *     alpha_{t+1} = c + T alpha_t + R eta_t,  eta_t ~ N(0, Q)      (m x 1)
 *     alpha_1 ~ N(a1, P1 + kappa * Pinf),  kappa -> infinity,
 *
 * where Pinf = diag(diffuse) (diffuse[i] = 1 marks a state with an
 * infinite-variance prior; its rows/columns of P1 must be zero).  Missing
 * observations are NaN, per element: multivariate observations are
 * processed one element at a time (univariate treatment, Durbin & Koopman
 * 2012 sec. 6.4), so partly missing vectors need no special case.  H must
 * be diagonal (a full H goes through st_ssm_decorrelate first).
 *
 * Log-likelihood convention (Durbin & Koopman 2012 sec. 7.2.2, as KFAS):
 *     logL = -1/2 sum_{regular steps} (log 2pi + log F + v^2/F)
 *            -1/2 sum_{diffuse steps with F_inf > 0} log F_inf
 * i.e. the 2pi constants of the steps that absorb a diffuse state are left
 * out (statsmodels' use_exact_diffuse adds -1/2 log 2pi for each of them).
 * It equals lim_{kappa->inf} [logL_kappa + q/2 log(2pi kappa)] with q the
 * number of diffuse states absorbed.
 *
 * Ownership: st_ssm_new/st_ssm_free and st_kalman_out_free; the filter and
 * smoother allocate the arrays of st_kalman_out, the caller frees them. */
#ifndef ST_SSM_KALMAN_H
#define ST_SSM_KALMAN_H

#include <stddef.h>

#include "core/err.h"

/* A time-invariant model (Zt/dt optionally make Z and d time-varying).
 * Matrices are row-major; st_ssm_new allocates them zeroed. */
typedef struct st_ssm {
    size_t p, m, r;          /* observation, state, disturbance dimensions */
    double *T;               /* m x m transition */
    double *Z;               /* p x m observation */
    double *R;               /* m x r selection */
    double *Q;               /* r x r state disturbance covariance */
    double *H;               /* p x p observation noise covariance (diagonal) */
    double *c;               /* m state intercept */
    double *d;               /* p observation intercept */
    double *a1;              /* m initial mean */
    double *P1;              /* m x m initial covariance of the proper part */
    unsigned char *diffuse;  /* m flags: state starts with a diffuse prior */
    const double *Zt;        /* NULL, or n x p x m time-varying Z (not owned) */
    const double *dt;        /* NULL, or n x p time-varying d (not owned) */
} st_ssm;

int st_ssm_new(st_ssm **s, size_t p, size_t m, size_t r, st_err *e);
void st_ssm_free(st_ssm *s);
/* Deep copy (Zt/dt pointers are shared, not copied). */
int st_ssm_copy(st_ssm **dst, const st_ssm *src, st_err *e);
/* Shapes and values: finite entries, Q/H/P1 symmetric positive
 * semi-definite (H diagonal), diffuse states with zero P1 rows.  The message
 * names the matrix. */
int st_ssm_check(const st_ssm *s, st_err *e);
/* The same checks with H allowed to be full (symmetric, semi-definite). */
int st_ssm_check_model(const st_ssm *s, st_err *e);
/* 1 if H has no non-zero off-diagonal entry. */
int st_ssm_H_is_diagonal(const st_ssm *s);
/* A model with a full H as one the filter takes (diagonal H): with
 * H = L D L' (L unit lower triangular), y*_t = L^{-1} y_t, Z* = L^{-1} Z,
 * d* = L^{-1} d, H* = D, the rest copied into sw (allocated with the same
 * dimensions).  The state process, its filtered and smoothed moments and
 * the log-likelihood (|L| = 1) are those of the original model; v, F and
 * eps refer to y*.  yw: n x p.  A time point with some but not all of its
 * values missing is ST_EDATA (its decorrelation would depend on the
 * pattern); H not positive definite is ST_ENUMERIC.  O(n p^2 + p^2 m). */
int st_ssm_decorrelate(const st_ssm *s, st_ssm *sw, const double *y, size_t n, double *yw,
                       st_err *e);

/* Summary of a likelihood evaluation, enough to concentrate a scale:
 * with all variances multiplied by s, logL(s) = -1/2 [nreg log(2pi s) +
 * sum_logF + sum_v2F / s] - 1/2 sum_logFinf. */
typedef struct st_kalman_ll {
    double loglik;      /* the convention above */
    double sum_logF;    /* over regular steps */
    double sum_v2F;     /* over regular steps */
    double sum_logFinf; /* over diffuse steps with F_inf > 0 */
    size_t nreg;        /* regular (non-missing, non-diffuse) scalar steps */
    size_t ndiffuse;    /* scalar steps that absorbed a diffuse direction */
    size_t d;           /* time points in the diffuse period (Pinf != 0 at their start) */
    int diffuse_left;   /* 1 if Pinf is still non-zero after the last point */
} st_kalman_ll;

/* Log-likelihood only, no per-time storage (for maximum likelihood).
 * y is n x p row-major, NaN for missing. */
int st_kalman_loglik(const st_ssm *s, const double *y, size_t n, st_kalman_ll *ll, st_err *e);

/* Filter and smoother results.  t is 0-based; index [t*m + i], covariances
 * [t*m*m + i*m + j].  "Pred" arrays have n+1 rows (the last one is the
 * one-step forecast of alpha_{n+1}).  In the diffuse period the covariance
 * of alpha is P_pred + kappa * Pinf_pred. */
typedef struct st_kalman_out {
    size_t n, p, m, r;
    st_kalman_ll ll;
    double *a_pred, *P_pred, *Pinf_pred; /* (n+1) x m, (n+1) x m x m (twice) */
    double *a_filt, *P_filt;             /* E, Var of alpha_t given y_1..t (proper part) */
    double *v, *F, *Finf;                /* n x p scalar innovations; F is F_* in diffuse steps */
    /* the smoother fills the rest (NULL after the filter alone) */
    double *a_smooth, *V_smooth;         /* n x m, n x m x m */
    double *eps_hat, *eps_var;           /* n x p, n x p (conditional variance of eps_t,i) */
    double *eta_hat, *eta_var;           /* n x r, n x r x r */
    double *P_last;                      /* m x m predicted covariance of alpha_{n+1} */
    /* internal: gains kept for the smoother */
    double *M_, *Minf_;                  /* n x p x m */
    unsigned char *kind_;                /* n x p: 0 missing, 1 diffuse F_inf > 0, 2 regular */
} st_kalman_out;

/* Filter storing predicted and filtered moments.  Refused up front
 * (ST_ENOMEM with the figure) when the storage would exceed
 * ST_KALMAN_MAX_BYTES. */
int st_kalman_filter(const st_ssm *s, const double *y, size_t n, st_kalman_out *out, st_err *e);
/* The same without the n x m x m covariances (P_pred, Pinf_pred, P_filt
 * stay NULL): enough for forecasts and one-step prediction tables (F and
 * Finf are also filled for missing points), with memory linear in n m. */
int st_kalman_filter_light(const st_ssm *s, const double *y, size_t n, st_kalman_out *out,
                           st_err *e);
/* Bytes the filter's storage takes (covariances: the full filter). */
double st_kalman_storage_bytes(size_t n, size_t p, size_t m, int covariances);
#define ST_KALMAN_MAX_BYTES 2e9
/* Filter then smooth: state means/variances and disturbances. */
int st_kalman_smooth(const st_ssm *s, const double *y, size_t n, st_kalman_out *out, st_err *e);
void st_kalman_out_free(st_kalman_out *out);

/* Smoothed second moments of the disturbances, summed over time, for the
 * score of variance parameters (Fisher identity; Durbin & Koopman 2012 sec
 * 7.3.3), split into squared smoothed means and conditional variances:
 * eps_m2[i] = sum_t E[eps_{t,i}|y]^2, eps_var[i] = sum_t Var(eps_{t,i}|y)
 * (p each), eta_m2/eta_var the same for eta_{t,j} (r each), t = 1..n
 * (missing points contribute Var = H_ii).  With E2 = m2 + var and diagonal
 * Q and H: d logL / d Q_jj = (E2[j] - n Q_jj) / (2 Q_jj^2), the same for H.
 * Scaling every variance by s scales the var sums by s, not the m2 sums.
 * Also fills ll.  About twice the cost of st_kalman_loglik. */
int st_kalman_disturbance_moments(const st_ssm *s, const double *y, size_t n, st_kalman_ll *ll,
                                  double *eps_m2, double *eps_var, double *eta_m2, double *eta_var,
                                  st_err *e);

/* h-step forecasts after the filter (full or light): mean[h*p], var[h*p] (variances of
 * y_{n+k}, diagonal) and, if non-NULL, state means amean[h*m] and
 * variances avar[h*m*m].  Fails if the state is still diffuse.
 * Zf/df: NULL, or h x p x m / h x p future Z and d (time-varying models). */
int st_kalman_forecast(const st_ssm *s, const st_kalman_out *out, size_t h, const double *Zf,
                       const double *df, double *mean, double *var, double *amean,
                       double *avar, st_err *e);

#endif

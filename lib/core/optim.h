/* Optimisation over NLopt: minimise f(x) with L-BFGS when a gradient is
 * available, or a derivative-free method (BOBYQA / Nelder-Mead via
 * NLopt), with bounds, and parameter transforms that map constrained
 * model parameters to unconstrained ones.
 *
 * The objective returns +INFINITY (or NaN) for an infeasible point; the
 * wrapper turns that into a large value so that NLopt backs off instead of
 * failing. */
#ifndef ST_CORE_OPTIM_H
#define ST_CORE_OPTIM_H

#include <stddef.h>

#include "core/err.h"

/* Objective: value at x; if grad != NULL, fill grad[0..n-1]. */
typedef double (*st_objective)(const double *x, double *grad, void *ctx);

typedef enum {
    ST_OPT_LBFGS = 0,  /* gradient-based (grad required) */
    ST_OPT_BOBYQA,     /* derivative-free, bounded */
    ST_OPT_NELDERMEAD  /* derivative-free */
} st_optim_method;

typedef struct st_optim_opts {
    st_optim_method method;
    double ftol_rel;   /* relative tolerance on f, default 1e-10 when 0 */
    double xtol_rel;   /* relative tolerance on x, default 1e-8 when 0 */
    int max_eval;      /* default 2000 when 0 */
    const double *lower, *upper; /* bounds or NULL */
    double initial_step;         /* derivative-free initial step, 0 = NLopt default */
} st_optim_opts;

typedef struct st_optim_result {
    double fmin;
    int nevals;
    int converged; /* NLopt stopped on a tolerance, not on max_eval or failure */
    int nlopt_code;
    const char *status; /* "converged", "max-eval", "roundoff-limited", "failed" */
} st_optim_result;

/* Minimise; x holds the start and receives the best point found.  opts
 * may be NULL (all defaults: L-BFGS).  Returns 0 when the run ended
 * normally -- check res->converged: max-eval and roundoff-limited stops
 * return 0 with converged = 0 -- and ST_ENUMERIC if NLopt failed or the
 * objective was never finite (x is then the best finite point seen). */
int st_optim_minimize(st_objective f, void *ctx, double *x, size_t n, const st_optim_opts *opts,
                      st_optim_result *res, st_err *e);

/* Central-difference gradient with step h_i = cbrt(eps) * max(|x_i|, 1). */
void st_optim_numgrad(st_objective f, void *ctx, const double *x, size_t n, double *grad);
/* Central-difference Hessian (n x n, symmetric) of f at x, for standard
 * errors from the observed information.  Uses 2n^2+1 evaluations with
 * steps eps^(1/4) * max(|x_i|, 1). */
void st_optim_numhess(st_objective f, void *ctx, const double *x, size_t n, double *H);

/* ---- transforms: unconstrained u <-> constrained parameter ---- */
/* positive: p = exp(u), and back. */
static inline double st_tr_pos(double u);
static inline double st_tr_pos_inv(double p);
/* (lo, hi): p = lo + (hi-lo) * logistic(u).  The inverse maps a p on
 * (or beyond) a bound to a large finite u rather than +-infinity. */
double st_tr_interval(double u, double lo, double hi);
double st_tr_interval_inv(double p, double lo, double hi);
/* Simplex of k probabilities from k-1 free values (softmax with the last
 * logit fixed at 0), and back (zero probabilities map to large negative
 * finite logits). */
void st_tr_simplex(const double *u, size_t k, double *p);
void st_tr_simplex_inv(const double *p, size_t k, double *u);
/* Stationary AR(p) coefficients from p unconstrained values through partial
 * autocorrelations r_i = tanh(u_i) (Monahan 1984; Jones 1980), and back.
 * Convention x_t = phi_1 x_{t-1} + ... + phi_p x_{t-p} + e_t.  The inverse
 * returns ST_EDATA if phi is not stationary (some |r_k| >= 1).  u and phi
 * may be the same array.  Beyond |u| ~ 19, tanh rounds to 1 and phi has
 * a unit root numerically. */
void st_tr_stationary_ar(const double *u, size_t p, double *phi);
int st_tr_stationary_ar_inv(const double *phi, size_t p, double *u);

#include <math.h>
static inline double st_tr_pos(double u)
{
    return exp(u);
}
static inline double st_tr_pos_inv(double p)
{
    return log(p);
}

#endif

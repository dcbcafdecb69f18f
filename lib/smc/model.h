/* State-space models for the particle methods: x_1 ~ initial, x_t | x_{t-1}
 * ~ transition, y_t | x_t ~ observation.  A model is either written in YAML
 * (distributions whose arguments are compiled expressions) or one of the
 * built-in models (linear-gaussian, stochastic-volatility, growth,
 * bearings-only) that run without expression overhead.
 *
 * Particles are stored by component ("structure of arrays"): component i
 * of particle p is X[i * stride + p].  Every model operation works on a
 * block of n <= ST_PF_BLOCK particles with a per-thread st_pf_work.
 *
 * Ownership: st_pf_model_load / st_pf_model_builtin and st_pf_model_free. */
#ifndef ST_SMC_MODEL_H
#define ST_SMC_MODEL_H

#include <stddef.h>

#include "core/err.h"
#include "core/rng.h"
#include "core/expr.h"
#include "core/yaml.h"

#define ST_PF_BLOCK ST_EXPR_BLOCK
/* Largest state or observation dimension. */
#define ST_PF_MAXDIM 64

typedef enum {
    ST_PF_YAML = 0,
    ST_PF_LINEAR_GAUSSIAN,
    ST_PF_STOCHVOL,
    ST_PF_GROWTH,
    ST_PF_BEARINGS
} st_pf_kind;

typedef struct st_pf_model st_pf_model;

/* What a model operation needs to know about the current time step. */
typedef struct st_pf_step {
    long step;         /* 0-based time step, for messages */
    double t;          /* the time (t column, else step + 1) */
    const double *y;   /* dy observations, NaN when missing */
    const double *cov; /* ncov covariates */
} st_pf_step;

/* Per-thread scratch space, and per-particle parameters.
 *
 * par (NULL: none): the block's particles each have their own parameter
 * vector (iterated filtering): parameter k of the block's particle p is
 * par[k * par_stride + p], on the model's natural scale, within its
 * constraints.  init, transition, logtrans and logobs read them instead
 * of the model's values: YAML models evaluate their expressions with
 * them over the block; the stochastic-volatility model has its own
 * per-particle code; the other built-in models set shadow (the caller's
 * st_pf_model_clone of the model, one per thread) particle by particle.
 * A vector the model refuses is ST_EDATA naming the particle.  The
 * gradients, loginit and trans_bound read the model's values (par must
 * be NULL). */
typedef struct st_pf_work {
    st_expr_work ew;
    double arg[4][ST_PF_BLOCK];
    double tmp[ST_PF_MAXDIM][ST_PF_BLOCK];
    double mat[ST_PF_MAXDIM * ST_PF_MAXDIM];
    const double *par;
    size_t par_stride;
    st_pf_model *shadow;
} st_pf_work;

/* A copy of m that owns all it holds (st_pf_model_free). */
int st_pf_model_clone(st_pf_model **out, const st_pf_model *m, st_err *e);
/* 1 if per-particle parameters (st_pf_work.par) need w->shadow for m. */
int st_pf_model_needs_shadow(const st_pf_model *m);

/* Load a `model: pf` YAML file (path "-" is stdin). */
int st_pf_model_load(st_pf_model **m, const char *path, st_err *e);
int st_pf_model_load_string(st_pf_model **m, const char *text, const char *name, st_err *e);
void st_pf_model_free(st_pf_model *m);

st_pf_kind st_pf_model_kind(const st_pf_model *m);
size_t st_pf_model_dx(const st_pf_model *m);
size_t st_pf_model_dy(const st_pf_model *m);
size_t st_pf_model_ncov(const st_pf_model *m);
/* Names of state components (for output columns), observation columns and
 * covariate columns. */
const char *st_pf_model_xname(const st_pf_model *m, size_t i);
const char *st_pf_model_yname(const st_pf_model *m, size_t i);
const char *st_pf_model_covname(const st_pf_model *m, size_t i);
/* Observations this model cannot take as infinite: all.  A count model
 * also needs integers; 1 if observation column j must hold counts. */
int st_pf_model_y_is_count(const st_pf_model *m, size_t j);

/* Linear-Gaussian matrices (row-major) for cross-checks, NULL otherwise:
 * A dx*dx, Q dx*dx, C dy*dx, R dy*dy, m0 dx, P0 dx*dx. */
typedef struct st_pf_lg {
    const double *A, *Q, *C, *R, *m0, *P0;
} st_pf_lg;
int st_pf_model_lg(const st_pf_model *m, st_pf_lg *lg);

/* Draw n particles from the initial distribution into X (stride). */
int st_pf_model_init(const st_pf_model *m, const st_pf_step *s, double *X, size_t stride, size_t n,
                     st_rng *r, st_pf_work *w, st_err *e);
/* Draw Xnew[p] ~ f(. | Xprev[p]) for p < n. */
int st_pf_model_transition(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                           size_t pstride, double *Xnew, size_t nstride, size_t n, st_rng *r,
                           st_pf_work *w, st_err *e);
/* out[p] = log f(Xnew[p] | Xprev[p]). */
int st_pf_model_logtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                         size_t pstride, const double *Xnew, size_t nstride, size_t n, double *out,
                         st_pf_work *w, st_err *e);
/* lw[p] += log g(y | X[p]); missing observations (NaN) add nothing. */
int st_pf_model_logobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride,
                       size_t n, double *lw, st_pf_work *w, st_err *e);
/* A bound log f(x' | x) <= *logbound for all x, x' at this step: 1 if the
 * model has one (transition scales that do not depend on the state), else 0. */
int st_pf_model_trans_bound(const st_pf_model *m, const st_pf_step *s, double *logbound);

/* log mu(X[p]) of the initial distribution into out[p] (for checks and
 * complete-data likelihoods; the filter samples it). */
int st_pf_model_loginit(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride,
                        size_t n, double *out, st_pf_work *w, st_err *e);

/* ------------------------------------------------------------ parameters and scores
 *
 * The parameter vector theta: a YAML model's `parameters`, in file order;
 * a built-in model's numbers: stochastic-volatility mu, phi, sigma; growth
 * var_v, var_w, var0; bearings-only q, r, m0[0..3], sd0[0..3];
 * linear-gaussian A[i][j] (all), Q[i][j] (i >= j), C[i][j] (all), R[i][j]
 * (i >= j), m0[i], P0[i][j] (i >= j) -- a symmetric matrix is a function
 * of its lower triangle. */
size_t st_pf_model_npar(const st_pf_model *m);
const char *st_pf_model_parname(const st_pf_model *m, size_t k);
double st_pf_model_par(const st_pf_model *m, size_t k);
/* Set theta (npar values).  A value the model cannot take (|phi| >= 1, a
 * covariance that is not positive definite, ...) is ST_EDATA naming the
 * parameter, and leaves the model unchanged. */
int st_pf_model_set_pars(st_pf_model *m, const double *theta, st_err *e);

/* Constraints on parameters (fitting transforms them away): YAML models
 * from `constraints:`, built-in models their own (stochastic-volatility
 * phi signed-unit, sigma positive; variances and scales positive;
 * linear-gaussian diagonals of Q, R, P0 positive). */
typedef enum { ST_PF_FREE = 0, ST_PF_POSITIVE, ST_PF_UNIT, ST_PF_SIGNED_UNIT } st_pf_constraint;
extern const char *const st_pf_constraint_names[]; /* "free", "positive", "unit", "signed-unit" */
st_pf_constraint st_pf_model_constraint(const st_pf_model *m, size_t k);
/* 1 if v satisfies c strictly (positive: v > 0, unit: 0 < v < 1,
 * signed-unit: -1 < v < 1, free: finite). */
int st_pf_constraint_holds(st_pf_constraint c, double v);
/* The unconstrained scale eta of a parameter: log theta (positive),
 * logit theta (unit), logit((theta + 1) / 2) (signed-unit), theta (free);
 * back; and d theta / d eta at theta (its log is the log Jacobian of a
 * density moved to eta). */
double st_pf_constraint_to_eta(st_pf_constraint c, double theta);
double st_pf_constraint_from_eta(st_pf_constraint c, double eta);
double st_pf_constraint_dtheta(st_pf_constraint c, double theta);

/* Priors (`priors:`, stoch-model(5)) on the parameters' natural scale:
 * normal (mean, sd), lognormal (meanlog, sdlog), gamma (shape, rate or
 * scale), beta (shape1, shape2, on (lower, upper), default (0, 1)),
 * uniform (lower, upper), half-normal (sd).  A parameter without one has
 * a flat prior.  st_pf_model_logprior sums the log densities of theta's
 * parameters that have a prior (normalised densities); -Inf outside a
 * support. */
typedef enum {
    ST_PRIOR_NONE = 0,
    ST_PRIOR_NORMAL,
    ST_PRIOR_LOGNORMAL,
    ST_PRIOR_GAMMA,
    ST_PRIOR_BETA,
    ST_PRIOR_UNIFORM,
    ST_PRIOR_HALFNORMAL
} st_pf_prior_kind;
extern const char *const st_pf_prior_names[]; /* "none", "normal", ..., "half-normal" */
st_pf_prior_kind st_pf_model_prior(const st_pf_model *m, size_t k);
double st_pf_model_logprior(const st_pf_model *m, const double *theta);
/* The log prior density of parameter k alone at value v (0 if it has none). */
double st_pf_model_logprior1(const st_pf_model *m, size_t k, double v);

/* Scratch space of the gradients, one per thread. */
typedef struct st_pf_gwork st_pf_gwork;
int st_pf_gwork_new(st_pf_gwork **w, const st_pf_model *m, st_err *e);
void st_pf_gwork_free(st_pf_gwork *w);

/* Gradients of the log densities with respect to theta, added:
 * g[k * ST_PF_BLOCK + p] += d/dtheta_k log mu(X[p]), log f(Xnew[p] |
 * Xprev[p]), log g(y | X[p]) (missing observations add nothing).  Exact:
 * the expressions' forward-mode derivatives times each distribution's
 * partial derivatives for YAML models, hand-written for the built-in
 * ones.  A particle where the density is 0 gets gradient 0. */
int st_pf_model_dinit(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride, size_t n,
                      double *g, st_pf_work *w, st_pf_gwork *gw, st_err *e);
int st_pf_model_dtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev, size_t pstride,
                       const double *Xnew, size_t nstride, size_t n, double *g, st_pf_work *w,
                       st_pf_gwork *gw, st_err *e);
int st_pf_model_dobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride, size_t n,
                     double *g, st_pf_work *w, st_pf_gwork *gw, st_err *e);

/* ------------------------------------------------------------ functionals
 *
 * Expressions of additive functionals (lib/smc/func.h) see x_prev (the
 * previous state, one value per particle), x (the current state), y (the
 * observations at this step, NaN when missing), t, the covariates and the
 * parameters (live: read at evaluation), from these input slots: */
enum { ST_PF_FSLOT_XPREV = 0, ST_PF_FSLOT_X, ST_PF_FSLOT_Y, ST_PF_FSLOT_T, ST_PF_FSLOT_COV, ST_PF_NFSLOTS };
/* Compile a functional's expression against m (src for messages). */
int st_pf_model_compile_functional(const st_pf_model *m, const char *text, const st_expr_src *src, st_expr **out,
                                   st_err *e);
/* The model file's `functionals:` (name: expression), in file order. */
size_t st_pf_model_nfunctionals(const st_pf_model *m);
const char *st_pf_model_functional_name(const st_pf_model *m, size_t k);
const st_expr *st_pf_model_functional(const st_pf_model *m, size_t k);
/* The current parameter values (npar), for evaluating live expressions. */
const double *st_pf_model_parvalues(const st_pf_model *m);

/* Write m as a `model: pf` file into an open writer (top level; the
 * caller may add comments before and keys after, then st_yw_finish): the
 * current parameter values, the expressions' source text; comments of the
 * original file are not kept.  Reading it back gives the same model. */
int st_pf_model_write(const st_pf_model *m, st_yw *w, st_err *e);

/* Names of the built-in models, NULL-terminated. */
extern const char *const st_pf_builtin_names[];

#endif

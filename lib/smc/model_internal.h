/* Internals of the particle models shared by lib/smc/model*.c: the model
 * object, the compiled distributions of YAML models, the loader, and the
 * per-kind block operations that lib/smc/model.c dispatches to.
 *   model.c          accessors, free, dispatch by kind
 *   model_load.c     YAML loading (names, parameters, distributions)
 *   model_builtin.c  the built-in models: their parameters and block operations
 *   model_eval.c     block operations of YAML models (compiled expressions) */
#ifndef ST_SMC_MODEL_INTERNAL_H
#define ST_SMC_MODEL_INTERNAL_H

#include <stddef.h>

#include "core/err.h"
#include "core/rng.h"
#include "core/yaml.h"
#include "core/expr.h"
#include "smc/model.h"

enum { D_NORMAL, D_MVNORMAL, D_STUDENT, D_LOGNORMAL, D_GAMMA, D_POISSON, D_BINOMIAL, D_NEGBIN };

extern const char *const pf_dist_names[];

/* One compiled argument with its place in the YAML file. */
typedef struct parg {
    st_expr *x;
    const char *name; /* argument name (static string) */
    long line, col;
} parg;

typedef struct pdist {
    int kind;
    size_t dim, off;   /* components off .. off+dim-1 */
    parg a[3];         /* univariate arguments, in the kind's order */
    st_expr *lsd;      /* normal with sd = exp(E): E, the log of sd (NULL otherwise) */
    int nb_mean;       /* negbinomial given by mean instead of prob */
    int gamma_scale;   /* gamma given by scale instead of rate */
    parg *mean;        /* mvnormal: dim means */
    parg *cov;         /* mvnormal: dim*dim (full) or dim (diag variances) */
    int full;
} pdist;

typedef struct pcomp {
    const char *what; /* "initial", "transition", "observation" */
    pdist *d;
    size_t nd;
    size_t dim;
} pcomp;

/* A prior on one parameter (natural scale): kind ST_PRIOR_NONE is flat;
 * a, b, lo, hi as the kind reads them (stoch-model(5)). */
typedef struct pf_prior {
    int kind;
    double a, b, lo, hi;
    long line, col;
} pf_prior;

struct st_pf_model {
    st_pf_kind kind;
    size_t dx, dy, ncov;
    char **xnames, **ynames, **covnames;
    char *file;
    /* parameters (YAML models: `parameters`; built-in models: their numbers) */
    size_t npar;
    char **parnames;
    double *parvalues;
    unsigned char *parcons; /* st_pf_constraint of each parameter */
    pf_prior *prior;        /* npar priors (NULL: none given) */
    /* YAML models */
    pcomp init, trans, obs;
    /* `functionals:` (any model): names and expressions */
    size_t nfunc;
    char **funcnames;
    st_expr **funcs;
    /* linear-gaussian and bearings-only transition; linear-gaussian observation */
    double *A, *Q, *C, *R, *m0, *P0;
    double *Lq, *L0, *Lr; /* Cholesky factors */
    double logdetq, logdetr;
    /* stochastic volatility */
    double mu, phi, sigma;
    /* growth */
    double var_v, var_w, var0;
    /* bearings-only */
    double bq, br;
};

typedef struct loader {
    st_ydoc *doc;
    const char *file;
    st_pf_model *m;
    st_err *e;
} loader;

void pf_free_names(char **v, size_t n);
/* The argument names of a univariate distribution (alt: gamma by scale,
 * negative binomial by mean), NULL-terminated. */
const char *const *pf_arg_names(int kind, int alt);

/* Input slots of the model's expressions: the state x (one value per
 * particle), the time t and the covariates (one value per step). */
enum { PF_SLOT_X = 0, PF_SLOT_T, PF_SLOT_COV, PF_NSLOTS };

/* model_builtin.c: read the parameters of built-in model `which` (index in
 * st_pf_builtin_names), and its block operations. */
int pf_builtin_load(loader *L, const st_ynode *root, const st_ynode *bn, int which);
int pf_builtin_init(const st_pf_model *m, const st_pf_step *s, double *X, size_t stride, size_t n,
                    st_rng *r, st_pf_work *w, st_err *e);
int pf_builtin_transition(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                          size_t pstride, double *Xnew, size_t nstride, size_t n, st_rng *r,
                          st_pf_work *w, st_err *e);
int pf_builtin_logtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                        size_t pstride, const double *Xnew, size_t nstride, size_t n, double *out,
                        st_pf_work *w, st_err *e);
int pf_builtin_logobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride,
                      size_t n, double *lw, st_pf_work *w, st_err *e);
int pf_builtin_trans_bound(const st_pf_model *m, const st_pf_step *s, double *logbound);

/* model_eval.c: the same operations for YAML models. */
int pf_yaml_init(const st_pf_model *m, const st_pf_step *s, double *X, size_t stride, size_t n,
                 st_rng *r, st_pf_work *w, st_err *e);
int pf_yaml_transition(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                       size_t pstride, double *Xnew, size_t nstride, size_t n, st_rng *r,
                       st_pf_work *w, st_err *e);
int pf_yaml_logtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                     size_t pstride, const double *Xnew, size_t nstride, size_t n, double *out,
                     st_pf_work *w, st_err *e);
int pf_yaml_logobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride,
                   size_t n, double *lw, st_pf_work *w, st_err *e);
int pf_yaml_trans_bound(const st_pf_model *m, const st_pf_step *s, double *logbound);
int pf_yaml_loginit(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride, size_t n,
                    double *out, st_pf_work *w, st_err *e);
/* Shared by model_eval.c and model_grad.c. */
void pf_fill_in(st_expr_in *in, const st_pf_step *s, const double *X, size_t stride);
int pf_univariate_args(const st_pf_model *m, const pcomp *c, const pdist *d, const st_pf_step *s,
                       const double *X, size_t stride, size_t n, int *uni, st_pf_work *w, st_err *e);
int pf_bad_value(const st_pf_model *m, const st_pf_step *s, const char *what, const parg *a, double v,
                 size_t p, const char *why, st_err *e);

/* model_builtin_par.c: a built-in model's parameter vector (names and
 * values into m->parnames / m->parvalues), setting it, its initial
 * density and its gradients (g as in st_pf_model_dinit). */
int pf_builtin_params(st_pf_model *m, st_err *e);
int pf_builtin_set_pars(st_pf_model *m, const double *theta, st_err *e);
int pf_builtin_loginit(const st_pf_model *m, const double *X, size_t stride, size_t n, double *out,
                       st_pf_work *w);
void pf_builtin_dinit(const st_pf_model *m, const double *X, size_t stride, size_t n, double *g,
                      st_pf_work *w);
void pf_builtin_dtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev, size_t pstride,
                       const double *Xnew, size_t nstride, size_t n, double *g, st_pf_work *w);
int pf_builtin_dobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride, size_t n,
                    double *g, st_pf_work *w, st_err *e);

#endif

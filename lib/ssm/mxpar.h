/* Matrix models with parameters: entries of T, Z, R, Q, H, c, d, a1 and P1
 * given as expressions (core/expr.h) of named parameters, estimated by
 * maximum likelihood (exact diffuse log-likelihood of kalman.h; a full H
 * through st_ssm_decorrelate).
 *
 * Estimation: NLopt's derivative-free BOBYQA on the unconstrained scale of
 * each parameter (positive: log; unit: logit; signed-unit: logit of
 * (x + 1) / 2; free: as is), restarted from its optimum until the
 * log-likelihood gains less than 1e-9 (at most 4 runs).  A point where Q,
 * H or P1 stops being a covariance (checked only for the matrices that
 * have parameters: Q and P1 semi-definite by their eigenvalues, H positive
 * definite by its LDL' pivots) has likelihood zero.  Standard errors from
 * the central-difference Hessian of the log-likelihood in the unconstrained
 * parameters, mapped by the delta method.
 *
 * Ownership: st_mxpar_free frees the model, the expressions and itself. */
#ifndef ST_SSM_MXPAR_H
#define ST_SSM_MXPAR_H

#include <stddef.h>

#include "core/err.h"
#include "core/expr.h"
#include "ssm/kalman.h"

#define ST_MXPAR_MAXPAR 32

/* The matrices, in file order. */
enum { ST_MX_T, ST_MX_Z, ST_MX_R, ST_MX_Q, ST_MX_H, ST_MX_C, ST_MX_D, ST_MX_A1, ST_MX_P1, ST_MX_NMAT };
extern const char *const st_mx_names[ST_MX_NMAT];

/* Parameter constraints (the names of stoch-model(5)'s pf models). */
enum { ST_MXPAR_FREE, ST_MXPAR_POSITIVE, ST_MXPAR_UNIT, ST_MXPAR_SIGNED_UNIT };
extern const char *const st_mxpar_constraint_names[]; /* NULL-terminated */

typedef struct st_mxpar_entry {
    int mat;      /* ST_MX_* */
    size_t idx;   /* row-major index in that matrix */
    st_expr *ex;  /* live parameters */
} st_mxpar_entry;

typedef struct st_mxpar {
    st_ssm *s;                  /* the model at value[] (owned) */
    size_t npar;
    char name[ST_MXPAR_MAXPAR][32];
    double value[ST_MXPAR_MAXPAR]; /* start, then the estimate */
    int cons[ST_MXPAR_MAXPAR];     /* ST_MXPAR_* */
    int hold[ST_MXPAR_MAXPAR];     /* 1: kept at its value (`fixed:` list) */
    size_t nent;
    st_mxpar_entry *ent;
    int used[ST_MX_NMAT];       /* the matrix has an expression entry */
    int use_given;              /* --fixed: no estimation */
} st_mxpar;

void st_mxpar_free(st_mxpar *mp);

/* Set the parameters to theta (npar values), evaluate the entries into
 * mp->s and check the covariances that have parameters: ST_EDATA naming
 * the matrix when one is not a covariance or an entry is not finite. */
int st_mxpar_set(st_mxpar *mp, const double *theta, st_err *e);

/* Log-likelihood of a model whose H may be full (decorrelated first). */
int st_mxpar_loglik(const st_ssm *s, const double *y, size_t n, st_kalman_ll *ll, st_err *e);

typedef struct st_mxpar_result {
    double loglik;
    size_t nfree;               /* estimated parameters */
    size_t nobs;                /* scalar observations (regular and diffuse steps) */
    double se[ST_MXPAR_MAXPAR]; /* NaN for held parameters or when not computed */
    int converged;
    char status[32];
    int nevals;
} st_mxpar_result;

/* Estimate the parameters not held (from mp->value) on y (n x p, NaN
 * missing); mp->value and mp->s end at the estimate.  want_se: standard
 * errors.  With no free parameter (or use_given) the log-likelihood of
 * the model as given. */
int st_mxpar_fit(st_mxpar *mp, const double *y, size_t n, int want_se, st_mxpar_result *res,
                 st_err *e);

#endif

/* ssm model files (stoch-model(5), `model: ssm`): a fitted structural
 * model (spec text and named parameters) or a general linear Gaussian
 * model given by its matrices.  Ownership: st_ssm_file_free. */
#ifndef ST_SSM_MODEL_IO_H
#define ST_SSM_MODEL_IO_H

#include <stdio.h>

#include "core/err.h"
#include "core/yaml.h"
#include "ssm/kalman.h"
#include "ssm/structural.h"

/* Largest state dimension (and number of observed variables) of a matrix
 * model file. */
#define ST_SSM_MAX_STATES 1000

typedef struct st_ssm_file {
    int is_matrix;            /* 0: structural, 1: matrices */
    st_uc_spec spec;          /* structural */
    double theta[ST_UC_MAXPAR];
    int log;                  /* fitted on log(y) */
    st_ssm *s;                /* matrices (owned) */
} st_ssm_file;

/* Read and validate: unknown keys, wrong shapes, non-symmetric or
 * non-positive-definite Q and H, P1 not positive semi-definite, a missing
 * or unknown parameter: errors with file:line:col.  nreg: regressors the
 * caller supplies (for a "reg" component). */
int st_ssm_file_read(st_ssm_file *f, const char *path, size_t nreg, st_err *e);
void st_ssm_file_free(st_ssm_file *f);

/* The parts of a loaded document (root: its top mapping): the
 * 'structural' spec and its 'params' into spec and theta, or the
 * 'matrices' into a new model *s (checked as st_ssm_file_read does). */
int st_ssm_read_structural(const st_ydoc *doc, const st_ynode *root, size_t nreg, st_uc_spec *spec,
                           double *theta, st_err *e);
int st_ssm_read_matrices(const st_ydoc *doc, const st_ynode *root, st_ssm **s, st_err *e);

/* A matrix model whose entries may be expressions of named parameters
 * (root keys 'parameters', 'constraints', 'fixed' and 'matrices';
 * stoch-model(5)).  Without 'parameters' every entry is a number and
 * (*out)->npar is 0.  H may be full. */
struct st_mxpar;
int st_ssm_read_mxpar(const st_ydoc *doc, const st_ynode *root, struct st_mxpar **out, st_err *e);
/* Write one (its parameters at their current values, the entries that
 * are expressions as their text). */
int st_ssm_file_write_mxpar(FILE *fp, const struct st_mxpar *mp, st_err *e);
/* The same with the fit's log-likelihood, AICc and observations (NaN /
 * 0: left out) and standard errors (npar values, NaN or NULL: none) as
 * comments. */
int st_ssm_file_write_mxfit(FILE *fp, const struct st_mxpar *mp, double loglik, double aicc,
                            size_t nobs, const double *se, st_err *e);

/* Write a structural fit (with its log-likelihood and AICc as comments). */
int st_ssm_file_write_fit(FILE *fp, const st_uc_fit *fit, int log, st_err *e);
/* Write a matrix model. */
int st_ssm_file_write_matrix(FILE *fp, const st_ssm *s, st_err *e);

#endif

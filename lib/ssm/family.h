/* The model families of ssm-forecast behind one table of operations:
 * structural models, ETS, matrix models and the S4D forecaster (ARIMA
 * plugs in the same way: a file with its st_ssm_family and one entry in
 * the table of families.c).  A family parses its model specifications,
 * fits one (or makes its own automatic choice), reports the fit (name,
 * log-likelihood in its own convention, parameters, information
 * criteria) and forecasts means and intervals; optionally it writes and
 * reads model files and gives the --smooth and --filter tables.
 *
 * Ownership: a spec belongs to its family (spec_free); a fitted
 * st_ssm_model owns its impl (st_ssm_model_free).  Families never print. */
#ifndef ST_SSM_FAMILY_H
#define ST_SSM_FAMILY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/yaml.h"

/* One series as a family sees it. */
typedef struct st_ssm_data {
    const double *y; /* n x p values on the model scale (after --log), NaN missing */
    size_t n, p;
    const double *x; /* n x nreg regressors, or NULL */
    size_t nreg;
    int period;      /* seasonal period (1: none) */
} st_ssm_data;

/* Settings of a run that families may use. */
typedef struct st_ssm_cfg {
    int starts;      /* optimiser starts (structural; 0: the family's default) */
    int want_se;     /* standard errors */
    int npaths;      /* sample paths for simulated intervals (0: 5000) */
    uint64_t seed;   /* --seed */
    uint64_t stream; /* the series' random stream (its position in the input) */
    int global;      /* --global: one model for a batch (families with batch_train) */
    const void *shared; /* what batch_train made for this batch, or NULL */
} st_ssm_cfg;

#define ST_SSM_MAXSHOW 64

/* A fitted model: what every family reports, then the family's own data. */
typedef struct st_ssm_model {
    const struct st_ssm_family *fam;
    char name[128];          /* "trend+seasonal:12", "ETS(M,Ad,M)", "s4d:16" */
    int has_lik;             /* loglik and the criteria are defined */
    double loglik;           /* the family's convention (see its header) */
    double aic, aicc, bic;
    size_t npar;             /* parameters counted in the criteria */
    size_t nobs;             /* observations used */
    int converged;
    char status[32];         /* optimiser status ("converged", "fixed", ...) */
    int nevals;              /* likelihood evaluations */
    size_t nshow;            /* named parameters for -v */
    char pname[ST_SSM_MAXSHOW][24];
    double pval[ST_SSM_MAXSHOW], pse[ST_SSM_MAXSHOW]; /* se NaN when not computed */
    void *impl;              /* owned by the family */
} st_ssm_model;

/* Output tables a family may give besides forecasts. */
enum { ST_SSM_TAB_SMOOTH, ST_SSM_TAB_FILTER };

typedef struct st_ssm_family {
    const char *name;     /* "structural", "ets", "matrix", "s4d" */
    const char *file_key; /* top-level key of its model files, or NULL */
    /* Parse a --model text: 1 and *spec if it is one of this family's
     * models, 0 if not (nothing set), < 0 if it is but malformed (a usage
     * error; period: --period, for models that need a season).  "auto" in the family means its own automatic choice. */
    int (*parse)(const char *text, size_t nreg, int period, void **spec, st_err *e);
    /* The family's automatic choice (used by --model auto). */
    int (*auto_spec)(size_t nreg, void **spec, st_err *e);
    void (*spec_free)(void *spec);
    /* Observed variables of the spec (1 unless multivariate). */
    size_t (*nobs)(const void *spec);
    /* Fit spec to d into *m (m->fam and the summary filled). */
    int (*fit)(const void *spec, const st_ssm_data *d, const st_ssm_cfg *c, st_ssm_model *m,
               st_err *e);
    /* Forecast h steps after d (d->y are the data the model was fitted
     * to): mean[h*p]; var[h*p] the forecast variance (NaN if the family
     * gives none); lo/hi[(h*p)*nlevels + i] the interval bounds for
     * levels[i] percent, on the model scale.  xf: h x nreg future
     * regressors. */
    int (*forecast)(const st_ssm_model *m, const st_ssm_data *d, const double *xf, size_t h,
                    const double *levels, size_t nlevels, const st_ssm_cfg *c, double *mean,
                    double *var, double *lo, double *hi, st_err *e);
    void (*free)(st_ssm_model *m);

    /* Optional (NULL when the family has none). */
    /* Column names of a table for spec and the seasonal period; returns
     * the count (0: no such table for this spec). */
    size_t (*table_columns)(const void *spec, int kind, int period, char names[][32], size_t max);
    /* rows[t*ncols + j] for t < n: the table for the data d. */
    int (*table)(const st_ssm_model *m, const st_ssm_data *d, int kind, double *rows, size_t ncols,
                 st_err *e);
    /* Model files: write a fit (log: fitted on log y), and read the
     * family's part of a file whose root has file_key (nreg regressors
     * given; *fixed set when the file's parameters can be used as is). */
    int (*write)(FILE *fp, const st_ssm_model *m, int log, st_err *e);
    int (*read)(const st_ydoc *doc, const st_ynode *root, size_t nreg, void **spec, st_err *e);
    /* Use the parameters a spec read from a file carries, without
     * refitting (--fixed); < 0 if it has none. */
    int (*set_fixed)(void *spec, st_err *e);
    /* --global: train one model on the batch's series d[0..nb-1] (model
     * scale) into *shared, which fit then finds in cfg->shared;
     * batch_free frees it. */
    int (*batch_train)(const void *spec, const st_ssm_data *d, size_t nb, const st_ssm_cfg *c,
                       void **shared, st_err *e);
    void (*batch_free)(void *shared);
} st_ssm_family;

/* The families, in the order --model auto lists them. */
extern const st_ssm_family st_ssm_family_structural;
extern const st_ssm_family st_ssm_family_ets;
extern const st_ssm_family st_ssm_family_arima;
extern const st_ssm_family st_ssm_family_matrix;
extern const st_ssm_family st_ssm_family_s4d;

/* All families (NULL-terminated) and lookup by name. */
const st_ssm_family *const *st_ssm_families(void);
const st_ssm_family *st_ssm_family_find(const char *name);

/* Parse a --model text (not "auto", not a file) with every family in
 * turn.  Unknown text: ST_EUSAGE naming the forms. */
int st_ssm_spec_parse(const char *text, size_t nreg, int period, const st_ssm_family **fam, void **spec,
                      st_err *e);

/* Read a model file (stoch-model(5), model: ssm): the family whose key
 * the file has, its spec, and whether it was fitted on log y. */
int st_ssm_model_read(const char *path, size_t nreg, const st_ssm_family **fam, void **spec,
                      int *log, st_err *e);
/* Write a fitted model (ST_EUSAGE if its family has no model files). */
int st_ssm_model_write(FILE *fp, const st_ssm_model *m, int log, st_err *e);

void st_ssm_model_free(st_ssm_model *m);

/* Helpers for families: information criteria from loglik, npar and nobs
 * (AICc infinite when nobs <= npar + 1), and one named parameter for -v. */
void st_ssm_model_set_ic(st_ssm_model *m);
void st_ssm_model_show(st_ssm_model *m, const char *name, double value, double se);

#endif

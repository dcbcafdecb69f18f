/* The series a particle model reads from a data table: the observation
 * columns (named by the model), its covariates, optional t (time) and seq
 * (independent series) -- shared by pf-smooth and pf-fit.
 *
 * Ownership: st_pf_series_extract fills a st_pf_series whose arrays
 * st_pf_series_free releases. */
#ifndef ST_SMC_SERIES_H
#define ST_SMC_SERIES_H

#include <stddef.h>

#include "core/err.h"
#include "core/stream.h"
#include "smc/model.h"
#include "smc/pf.h"

/* Where the model's columns are in the table. */
typedef struct st_pf_columns {
    int y[ST_PF_MAXDIM];   /* observation columns */
    int cov[ST_PF_MAXDIM]; /* covariate columns */
    int t, seq;            /* -1 when absent */
} st_pf_columns;

/* Find the model's columns: a missing observation or covariate column is
 * ST_EDATA naming it. */
int st_pf_columns_find(const st_pf_model *m, const st_table *tab, st_pf_columns *c, st_err *e);

typedef struct st_pf_series {
    double *t, *y, *cov;
    st_pf_data d; /* points into the arrays above */
} st_pf_series;

/* The rows of group g as a series: t increasing and finite (1, 2, ... when
 * there is no t column), observations finite or missing (counts where the
 * model needs them), covariates finite; errors name the row. */
int st_pf_series_extract(const st_pf_model *m, const st_table *tab, const st_pf_columns *c, const st_group *g,
                         st_pf_series *s, st_err *e);
void st_pf_series_free(st_pf_series *s);

#endif

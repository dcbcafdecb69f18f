/* Series of a particle model from a data table. */
#include "config.h"

#include "smc/series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int st_pf_columns_find(const st_pf_model *m, const st_table *tab, st_pf_columns *c, st_err *e)
{
    size_t dy = st_pf_model_dy(m), ncov = st_pf_model_ncov(m);
    for (size_t j = 0; j < dy; j++)
        if ((c->y[j] = st_table_col(tab, st_pf_model_yname(m, j))) < 0)
            return st_err_set(e, ST_EDATA, tab->source, 0, 0, "no column '%s' (an observation of the model)",
                              st_pf_model_yname(m, j));
    for (size_t j = 0; j < ncov; j++)
        if ((c->cov[j] = st_table_col(tab, st_pf_model_covname(m, j))) < 0)
            return st_err_set(e, ST_EDATA, tab->source, 0, 0, "no column '%s' (a covariate of the model)",
                              st_pf_model_covname(m, j));
    c->t = st_table_col(tab, "t");
    c->seq = st_table_col(tab, "seq");
    return 0;
}

void st_pf_series_free(st_pf_series *s)
{
    free(s->t);
    free(s->y);
    free(s->cov);
    memset(s, 0, sizeof *s);
}

int st_pf_series_extract(const st_pf_model *m, const st_table *tab, const st_pf_columns *c, const st_group *g,
                         st_pf_series *s, st_err *e)
{
    size_t T = g->n, dy = st_pf_model_dy(m), ncov = st_pf_model_ncov(m);
    memset(s, 0, sizeof *s);
    s->t = malloc((T ? T : 1) * sizeof *s->t);
    s->y = malloc((T ? T : 1) * (dy ? dy : 1) * sizeof *s->y);
    s->cov = malloc((T ? T : 1) * (ncov ? ncov : 1) * sizeof *s->cov);
    if (!s->t || !s->y || !s->cov)
        return st_err_nomem(e, "data");
    for (size_t r = 0; r < T; r++) {
        size_t row = g->start + r;
        s->t[r] = c->t >= 0 ? st_table_get(tab, row, (size_t)c->t) : (double)(r + 1);
        if (!isfinite(s->t[r]))
            return st_err_set(e, ST_EDATA, tab->source, 0, 0, "row %zu: t is %s", row + 1,
                              isnan(s->t[r]) ? "missing" : "infinite");
        if (r > 0 && !(s->t[r] > s->t[r - 1]))
            return st_err_set(e, ST_EDATA, tab->source, 0, 0, "row %zu: t = %g does not increase", row + 1,
                              s->t[r]);
        for (size_t j = 0; j < dy; j++) {
            double v = st_table_get(tab, row, (size_t)c->y[j]);
            if (isinf(v))
                return st_err_set(e, ST_EDATA, tab->source, 0, 0,
                                  "row %zu: observation %s is infinite (use NaN or an empty cell for missing)",
                                  row + 1, tab->names[c->y[j]]);
            if (!isnan(v) && st_pf_model_y_is_count(m, j) && !(v >= 0 && v == floor(v)))
                return st_err_set(e, ST_EDATA, tab->source, 0, 0,
                                  "row %zu: observation %s = %g is not a count (a non-negative integer)",
                                  row + 1, tab->names[c->y[j]], v);
            s->y[r * dy + j] = v;
        }
        for (size_t j = 0; j < ncov; j++) {
            double v = st_table_get(tab, row, (size_t)c->cov[j]);
            if (!isfinite(v))
                return st_err_set(e, ST_EDATA, tab->source, 0, 0, "row %zu: covariate %s is %s", row + 1,
                                  tab->names[c->cov[j]], isnan(v) ? "missing" : "infinite");
            s->cov[r * ncov + j] = v;
        }
    }
    s->d = (st_pf_data){T, s->t, s->y, ncov ? s->cov : NULL};
    return 0;
}

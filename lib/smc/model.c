/* Particle models: accessors, free, and the block operations dispatched by
 * kind to the built-in models (model_builtin.c) or the YAML models
 * (model_eval.c); loading is in model_load.c. */
#include "config.h"

#include "smc/model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/yaml.h"
#include "smc/dist.h"
#include "smc/model_internal.h"

const char *const st_pf_builtin_names[] = {"linear-gaussian", "stochastic-volatility", "growth",
                                           "bearings-only", NULL};

const char *const pf_dist_names[] = {"normal", "mvnormal", "student-t", "lognormal", "gamma",
                                     "poisson", "binomial", "negbinomial", NULL};

/* ------------------------------------------------------------ accessors */

st_pf_kind st_pf_model_kind(const st_pf_model *m) { return m->kind; }
size_t st_pf_model_dx(const st_pf_model *m) { return m->dx; }
size_t st_pf_model_dy(const st_pf_model *m) { return m->dy; }
size_t st_pf_model_ncov(const st_pf_model *m) { return m->ncov; }
const char *st_pf_model_xname(const st_pf_model *m, size_t i) { return m->xnames[i]; }
const char *st_pf_model_yname(const st_pf_model *m, size_t i) { return m->ynames[i]; }
const char *st_pf_model_covname(const st_pf_model *m, size_t i) { return m->covnames[i]; }

int st_pf_model_y_is_count(const st_pf_model *m, size_t j)
{
    if (m->kind != ST_PF_YAML)
        return 0;
    for (size_t k = 0; k < m->obs.nd; k++) {
        const pdist *d = &m->obs.d[k];
        if (j >= d->off && j < d->off + d->dim)
            return d->kind == D_POISSON || d->kind == D_BINOMIAL || d->kind == D_NEGBIN;
    }
    return 0;
}

int st_pf_model_lg(const st_pf_model *m, st_pf_lg *lg)
{
    if (m->kind != ST_PF_LINEAR_GAUSSIAN)
        return 0;
    *lg = (st_pf_lg){m->A, m->Q, m->C, m->R, m->m0, m->P0};
    return 1;
}

void pf_free_names(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_comp(pcomp *c)
{
    for (size_t k = 0; k < c->nd; k++) {
        pdist *d = &c->d[k];
        for (int i = 0; i < 3; i++)
            st_expr_free(d->a[i].x);
        if (d->mean)
            for (size_t i = 0; i < d->dim; i++)
                st_expr_free(d->mean[i].x);
        if (d->cov)
            for (size_t i = 0; i < (d->full ? d->dim * d->dim : d->dim); i++)
                st_expr_free(d->cov[i].x);
        free(d->mean);
        free(d->cov);
    }
    free(c->d);
}

void st_pf_model_free(st_pf_model *m)
{
    if (!m)
        return;
    pf_free_names(m->xnames, m->dx);
    pf_free_names(m->ynames, m->dy);
    pf_free_names(m->covnames, m->ncov);
    pf_free_names(m->parnames, m->npar);
    free(m->parvalues);
    free(m->parcons);
    pf_free_names(m->funcnames, m->nfunc);
    if (m->funcs)
        for (size_t k = 0; k < m->nfunc; k++)
            st_expr_free(m->funcs[k]);
    free(m->funcs);
    free_comp(&m->init);
    free_comp(&m->trans);
    free_comp(&m->obs);
    free(m->A); free(m->Q); free(m->C); free(m->R); free(m->m0); free(m->P0);
    free(m->Lq); free(m->L0); free(m->Lr);
    free(m->file);
    free(m);
}

/* ------------------------------------------------------------ block operations */

int st_pf_model_init(const st_pf_model *m, const st_pf_step *s, double *X, size_t stride, size_t n,
                     st_rng *r, st_pf_work *w, st_err *e)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_init(m, s, X, stride, n, r, w, e);
    return pf_builtin_init(m, s, X, stride, n, r, w, e);
}

int st_pf_model_transition(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                           size_t pstride, double *Xnew, size_t nstride, size_t n, st_rng *r,
                           st_pf_work *w, st_err *e)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_transition(m, s, Xprev, pstride, Xnew, nstride, n, r, w, e);
    return pf_builtin_transition(m, s, Xprev, pstride, Xnew, nstride, n, r, w, e);
}

int st_pf_model_logtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                         size_t pstride, const double *Xnew, size_t nstride, size_t n, double *out,
                         st_pf_work *w, st_err *e)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_logtrans(m, s, Xprev, pstride, Xnew, nstride, n, out, w, e);
    return pf_builtin_logtrans(m, s, Xprev, pstride, Xnew, nstride, n, out, w, e);
}

int st_pf_model_logobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride,
                       size_t n, double *lw, st_pf_work *w, st_err *e)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_logobs(m, s, X, stride, n, lw, w, e);
    return pf_builtin_logobs(m, s, X, stride, n, lw, w, e);
}

int st_pf_model_trans_bound(const st_pf_model *m, const st_pf_step *s, double *logbound)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_trans_bound(m, s, logbound);
    return pf_builtin_trans_bound(m, s, logbound);
}

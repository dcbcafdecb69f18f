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
        st_expr_free(d->lsd);
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
    free(m->prior);
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

/* ------------------------------------------------------------ copies */

static char **dup_names(char *const *v, size_t n, int *bad)
{
    if (!v)
        return NULL;
    char **c = calloc(n ? n : 1, sizeof *c);
    if (!c) {
        *bad = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (v[i] && !(c[i] = strdup(v[i])))
            *bad = 1;
    return c;
}

static void *dup_mem(const void *p, size_t bytes, int *bad)
{
    if (!p)
        return NULL;
    void *c = malloc(bytes ? bytes : 1);
    if (!c) {
        *bad = 1;
        return NULL;
    }
    memcpy(c, p, bytes);
    return c;
}

static st_expr *dup_expr(const st_expr *x, int *bad)
{
    if (!x)
        return NULL;
    st_expr *c = st_expr_clone(x);
    if (!c)
        *bad = 1;
    return c;
}

static parg *dup_pargs(const parg *a, size_t n, int *bad)
{
    parg *c = dup_mem(a, n * sizeof *a, bad);
    if (c)
        for (size_t i = 0; i < n; i++)
            c[i].x = dup_expr(a[i].x, bad);
    return c;
}

static void dup_comp(pcomp *c, const pcomp *from, int *bad)
{
    *c = *from;
    c->d = dup_mem(from->d, from->nd * sizeof *from->d, bad);
    if (!c->d) {
        c->nd = 0;
        return;
    }
    for (size_t k = 0; k < from->nd; k++) {
        pdist *d = &c->d[k];
        const pdist *f = &from->d[k];
        for (int i = 0; i < 3; i++)
            d->a[i].x = dup_expr(f->a[i].x, bad);
        d->lsd = dup_expr(f->lsd, bad);
        d->mean = f->mean ? dup_pargs(f->mean, f->dim, bad) : NULL;
        d->cov = f->cov ? dup_pargs(f->cov, f->full ? f->dim * f->dim : f->dim, bad) : NULL;
    }
}

int st_pf_model_clone(st_pf_model **out, const st_pf_model *m, st_err *e)
{
    *out = NULL;
    st_pf_model *c = calloc(1, sizeof *c);
    if (!c)
        return st_err_nomem(e, "model copy");
    *c = *m;
    int bad = 0;
    size_t dx = m->dx, dy = m->dy, sz = sizeof(double);
    c->xnames = dup_names(m->xnames, dx, &bad);
    c->ynames = dup_names(m->ynames, dy, &bad);
    c->covnames = dup_names(m->covnames, m->ncov, &bad);
    c->file = m->file ? strdup(m->file) : NULL;
    bad |= m->file && !c->file;
    c->parnames = dup_names(m->parnames, m->npar, &bad);
    c->parvalues = dup_mem(m->parvalues, m->npar * sz, &bad);
    c->parcons = dup_mem(m->parcons, m->npar, &bad);
    c->prior = dup_mem(m->prior, m->npar * sizeof *m->prior, &bad);
    c->funcnames = dup_names(m->funcnames, m->nfunc, &bad);
    c->funcs = NULL;
    if (m->funcs && (c->funcs = calloc(m->nfunc ? m->nfunc : 1, sizeof *c->funcs)))
        for (size_t k = 0; k < m->nfunc; k++)
            c->funcs[k] = dup_expr(m->funcs[k], &bad);
    else if (m->funcs)
        bad = 1;
    dup_comp(&c->init, &m->init, &bad);
    dup_comp(&c->trans, &m->trans, &bad);
    dup_comp(&c->obs, &m->obs, &bad);
    c->A = dup_mem(m->A, dx * dx * sz, &bad);
    c->Q = dup_mem(m->Q, dx * dx * sz, &bad);
    c->C = dup_mem(m->C, dy * dx * sz, &bad);
    c->R = dup_mem(m->R, dy * dy * sz, &bad);
    c->m0 = dup_mem(m->m0, dx * sz, &bad);
    c->P0 = dup_mem(m->P0, dx * dx * sz, &bad);
    c->Lq = dup_mem(m->Lq, dx * dx * sz, &bad);
    c->L0 = dup_mem(m->L0, dx * dx * sz, &bad);
    c->Lr = dup_mem(m->Lr, dy * dy * sz, &bad);
    if (bad) {
        st_pf_model_free(c);
        return st_err_nomem(e, "model copy");
    }
    *out = c;
    return 0;
}

int st_pf_model_needs_shadow(const st_pf_model *m)
{
    return m->kind != ST_PF_YAML && m->kind != ST_PF_STOCHVOL;
}

/* ------------------------------------------------------------ block operations */

/* Per-particle parameters on a built-in model with a shadow: the shadow
 * set to particle p's vector, or ST_EDATA naming the particle. */
static int shadow_set(const st_pf_model *m, const double *par, size_t stride, size_t p, double *th,
                      st_pf_model *shadow, st_err *e)
{
    for (size_t k = 0; k < m->npar; k++)
        th[k] = par[k * stride + p];
    st_err tmp;
    st_err_clear(&tmp);
    if (st_pf_model_set_pars(shadow, th, &tmp) < 0)
        return st_err_set(e, ST_EDATA, m->file, 0, 0, "particle %zu of the block: %s", p, tmp.msg);
    return 0;
}

enum { PP_INIT, PP_TRANS, PP_LOGTRANS, PP_LOGOBS };

/* The operation particle by particle through w->shadow. */
static int per_particle(const st_pf_model *m, int op, const st_pf_step *s, const double *Xp, size_t ps, double *Xn,
                        size_t ns, size_t n, double *out, st_rng *r, st_pf_work *w, st_err *e)
{
    if (!w->shadow)
        return st_err_set(e, ST_EINTERNAL, m->file, 0, 0, "per-particle parameters without a model copy");
    const double *par = w->par;
    size_t stride = w->par_stride;
    double *th = malloc((m->npar ? m->npar : 1) * sizeof *th);
    if (!th)
        return st_err_nomem(e, "parameters");
    int rc = 0;
    w->par = NULL;
    for (size_t p = 0; p < n && rc == 0; p++) {
        if ((rc = shadow_set(m, par, stride, p, th, w->shadow, e)) < 0)
            break;
        switch (op) {
        case PP_INIT: rc = pf_builtin_init(w->shadow, s, Xn + p, ns, 1, r, w, e); break;
        case PP_TRANS: rc = pf_builtin_transition(w->shadow, s, Xp + p, ps, Xn + p, ns, 1, r, w, e); break;
        case PP_LOGTRANS: rc = pf_builtin_logtrans(w->shadow, s, Xp + p, ps, Xn + p, ns, 1, out + p, w, e); break;
        default: rc = pf_builtin_logobs(w->shadow, s, Xn + p, ns, 1, out + p, w, e); break;
        }
    }
    w->par = par;
    free(th);
    return rc;
}

#define PER_PARTICLE(m, w) ((w)->par && st_pf_model_needs_shadow(m))

int st_pf_model_init(const st_pf_model *m, const st_pf_step *s, double *X, size_t stride, size_t n,
                     st_rng *r, st_pf_work *w, st_err *e)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_init(m, s, X, stride, n, r, w, e);
    if (PER_PARTICLE(m, w))
        return per_particle(m, PP_INIT, s, NULL, 0, X, stride, n, NULL, r, w, e);
    return pf_builtin_init(m, s, X, stride, n, r, w, e);
}

int st_pf_model_transition(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                           size_t pstride, double *Xnew, size_t nstride, size_t n, st_rng *r,
                           st_pf_work *w, st_err *e)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_transition(m, s, Xprev, pstride, Xnew, nstride, n, r, w, e);
    if (PER_PARTICLE(m, w))
        return per_particle(m, PP_TRANS, s, Xprev, pstride, Xnew, nstride, n, NULL, r, w, e);
    return pf_builtin_transition(m, s, Xprev, pstride, Xnew, nstride, n, r, w, e);
}

int st_pf_model_logtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                         size_t pstride, const double *Xnew, size_t nstride, size_t n, double *out,
                         st_pf_work *w, st_err *e)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_logtrans(m, s, Xprev, pstride, Xnew, nstride, n, out, w, e);
    if (PER_PARTICLE(m, w))
        return per_particle(m, PP_LOGTRANS, s, Xprev, pstride, (double *)Xnew, nstride, n, out, NULL, w, e);
    return pf_builtin_logtrans(m, s, Xprev, pstride, Xnew, nstride, n, out, w, e);
}

int st_pf_model_logobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride,
                       size_t n, double *lw, st_pf_work *w, st_err *e)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_logobs(m, s, X, stride, n, lw, w, e);
    if (PER_PARTICLE(m, w))
        return per_particle(m, PP_LOGOBS, s, NULL, 0, (double *)X, stride, n, lw, NULL, w, e);
    return pf_builtin_logobs(m, s, X, stride, n, lw, w, e);
}

int st_pf_model_trans_bound(const st_pf_model *m, const st_pf_step *s, double *logbound)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_trans_bound(m, s, logbound);
    return pf_builtin_trans_bound(m, s, logbound);
}

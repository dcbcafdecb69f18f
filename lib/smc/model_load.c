/* Particle models: loading a `model: pf` YAML file (names, parameters,
 * compiled distributions; built-in models' parameters in model_builtin.c). */
#include "config.h"

#include "smc/model.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/optim.h"
#include "core/yaml.h"
#include "smc/dist.h"
#include "smc/model_internal.h"

static char **make_names(const char *stem, size_t n)
{
    char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        if (n == 1)
            snprintf(buf, sizeof buf, "%s", stem);
        else
            snprintf(buf, sizeof buf, "%s%zu", stem, i);
        if (!(v[i] = strdup(buf))) {
            pf_free_names(v, i);
            return NULL;
        }
    }
    return v;
}

/* 1 if s is reserved (a function, pi, or a name the expressions of the
 * models and functionals give a meaning), 2 if it is not a valid name. */
static int is_reserved(const char *s)
{
    static const char *const r[] = {"x", "t", "x_prev", "y", NULL};
    for (int i = 0; r[i]; i++)
        if (strcmp(r[i], s) == 0)
            return 1;
    if (st_expr_reserved(s))
        return 1;
    const char *p = s;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
        return 2;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 2;
    return 0;
}

/* A list of names (observations, covariates, states). */
static int read_names(loader *L, const st_ynode *n, char ***out, size_t *count, int check_ident)
{
    if (st_ynode_kind(n) != ST_YSEQ || st_ynode_len(n) == 0)
        return st_ynode_error(L->doc, n, L->e, ST_EDATA, "expected a list of column names");
    size_t k = st_ynode_len(n);
    if (k > ST_PF_MAXDIM)
        return st_ynode_error(L->doc, n, L->e, ST_EDATA, "at most %d names", ST_PF_MAXDIM);
    char **v = calloc(k, sizeof *v);
    if (!v)
        return st_err_nomem(L->e, "names");
    for (size_t i = 0; i < k; i++) {
        const char *s;
        int rc = st_ynode_string(L->doc, st_yseq_at(n, i), &s, L->e);
        if (rc < 0) {
            pf_free_names(v, k);
            return rc;
        }
        if (check_ident && is_reserved(s)) {
            pf_free_names(v, k);
            return st_ynode_error(L->doc, st_yseq_at(n, i), L->e, ST_EDATA,
                                  is_reserved(s) == 1 ? "'%s' is a reserved name"
                                                      : "'%s' is not a valid name (letters, digits, _)",
                                  s);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[j], s) == 0) {
                pf_free_names(v, k);
                return st_ynode_error(L->doc, st_yseq_at(n, i), L->e, ST_EDATA, "duplicate name '%s'", s);
            }
        if (!(v[i] = strdup(s))) {
            pf_free_names(v, k);
            return st_err_nomem(L->e, "names");
        }
    }
    *out = v;
    *count = k;
    return 0;
}

static int compile_arg(loader *L, const st_ynode *n, const char *name, const st_expr_env *env, parg *a)
{
    const char *text;
    if (st_ynode_kind(n) != ST_YSCALAR)
        return st_ynode_error(L->doc, n, L->e, ST_EDATA, "'%s' must be an expression (a scalar)", name);
    text = st_ynode_text(n);
    a->name = name;
    st_ynode_text_pos(n, &a->line, &a->col);
    st_expr_src src = {L->file, a->line, a->col};
    return st_expr_compile(&a->x, text, env, &src, L->e);
}

const char *const *pf_arg_names(int kind, int alt)
{
    static const char *const normal[] = {"mean", "sd", NULL};
    static const char *const student[] = {"df", "loc", "scale", NULL};
    static const char *const lognormal[] = {"meanlog", "sdlog", NULL};
    static const char *const gamma_r[] = {"shape", "rate", NULL};
    static const char *const gamma_s[] = {"shape", "scale", NULL};
    static const char *const poisson[] = {"rate", NULL};
    static const char *const binomial[] = {"size", "prob", NULL};
    static const char *const negbin_p[] = {"size", "prob", NULL};
    static const char *const negbin_m[] = {"size", "mean", NULL};
    switch (kind) {
    case D_NORMAL: return normal;
    case D_STUDENT: return student;
    case D_LOGNORMAL: return lognormal;
    case D_GAMMA: return alt ? gamma_s : gamma_r;
    case D_POISSON: return poisson;
    case D_BINOMIAL: return binomial;
    case D_NEGBIN: return alt ? negbin_m : negbin_p;
    default: return NULL;
    }
}

static int read_dist(loader *L, const st_ynode *n, const st_expr_env *env, pdist *d, size_t off,
                     size_t room)
{
    st_ydoc *doc = L->doc;
    st_err *e = L->e;
    const st_ynode *kn;
    int rc;
    if (st_ynode_kind(n) != ST_YMAP)
        return st_ynode_error(doc, n, e, ST_EDATA,
                              "expected a distribution: a mapping with 'dist' and its arguments");
    if ((rc = st_ymap_require(doc, n, "dist", &kn, e)) < 0)
        return rc;
    if ((rc = st_ynode_enum(doc, kn, pf_dist_names, &d->kind, e)) < 0)
        return rc;
    d->off = off;
    if (d->kind == D_MVNORMAL) {
        const st_ynode *mn, *cn = st_ymap_get(doc, n, "cov"), *dn = st_ymap_get(doc, n, "diag");
        if ((rc = st_ymap_require(doc, n, "mean", &mn, e)) < 0)
            return rc;
        if (st_ynode_kind(mn) != ST_YSEQ || st_ynode_len(mn) == 0)
            return st_ynode_error(doc, mn, e, ST_EDATA, "mvnormal 'mean' must be a list of expressions");
        d->dim = st_ynode_len(mn);
        if (d->dim > room)
            return st_ynode_error(doc, mn, e, ST_EDATA,
                                  "mvnormal has %zu components but only %zu remain of the dimension",
                                  d->dim, room);
        if (!cn == !dn)
            return st_ynode_error(doc, n, e, ST_EDATA, "mvnormal needs exactly one of 'cov' (matrix) or 'diag' (variances)");
        d->full = cn != NULL;
        d->mean = calloc(d->dim, sizeof *d->mean);
        d->cov = calloc(d->full ? d->dim * d->dim : d->dim, sizeof *d->cov);
        if (!d->mean || !d->cov)
            return st_err_nomem(e, "mvnormal");
        for (size_t i = 0; i < d->dim; i++)
            if ((rc = compile_arg(L, st_yseq_at(mn, i), "mean", env, &d->mean[i])) < 0)
                return rc;
        if (d->full) {
            if (st_ynode_kind(cn) != ST_YSEQ || st_ynode_len(cn) != d->dim)
                return st_ynode_error(doc, cn, e, ST_EDATA, "'cov' must be a %zu x %zu matrix", d->dim, d->dim);
            for (size_t i = 0; i < d->dim; i++) {
                const st_ynode *row = st_yseq_at(cn, i);
                if (st_ynode_kind(row) != ST_YSEQ || st_ynode_len(row) != d->dim)
                    return st_ynode_error(doc, row, e, ST_EDATA, "'cov' row %zu must have %zu entries", i, d->dim);
                for (size_t j = 0; j < d->dim; j++) {
                    parg *a = &d->cov[i * d->dim + j];
                    if ((rc = compile_arg(L, st_yseq_at(row, j), "cov", env, a)) < 0)
                        return rc;
                    if (st_expr_varies(a->x))
                        return st_err_set(e, ST_EDATA, L->file, a->line, a->col,
                                          "a full 'cov' may not depend on the state x (use 'diag' or a list of normals)");
                }
            }
        } else {
            if (st_ynode_kind(dn) != ST_YSEQ || st_ynode_len(dn) != d->dim)
                return st_ynode_error(doc, dn, e, ST_EDATA, "'diag' must list %zu variances", d->dim);
            for (size_t i = 0; i < d->dim; i++)
                if ((rc = compile_arg(L, st_yseq_at(dn, i), "diag", env, &d->cov[i])) < 0)
                    return rc;
        }
        return st_ymap_check_unknown(doc, n, e);
    }
    d->dim = 1;
    if (room < 1)
        return st_ynode_error(doc, n, e, ST_EDATA, "one distribution too many for the dimension");
    int alt = 0;
    if (d->kind == D_GAMMA && st_ymap_get(doc, n, "scale"))
        alt = d->gamma_scale = 1;
    if (d->kind == D_NEGBIN && st_ymap_get(doc, n, "mean"))
        alt = d->nb_mean = 1;
    const char *const *names = pf_arg_names(d->kind, alt);
    for (int i = 0; names[i]; i++) {
        const st_ynode *an = st_ymap_get(doc, n, names[i]);
        if (!an && d->kind == D_STUDENT && i > 0) {
            /* loc defaults to 0, scale to 1 */
            st_expr_src src = {L->file, st_ynode_line(n), st_ynode_col(n)};
            d->a[i].name = names[i];
            d->a[i].line = src.line;
            d->a[i].col = src.col;
            if ((rc = st_expr_compile(&d->a[i].x, i == 1 ? "0" : "1", env, &src, e)) < 0)
                return rc;
            continue;
        }
        if (!an)
            return st_ynode_error(doc, n, e, ST_EDATA, "%s needs '%s'", pf_dist_names[d->kind], names[i]);
        if ((rc = compile_arg(L, an, names[i], env, &d->a[i])) < 0)
            return rc;
    }
    if (d->kind == D_NORMAL && st_expr_exp_arg(d->a[1].x, &d->lsd) < 0)
        return st_err_nomem(e, "model");
    return st_ymap_check_unknown(doc, n, e);
}

static int read_comp(loader *L, const st_ynode *n, const char *what, size_t dim,
                     const st_expr_env *env, pcomp *c)
{
    c->what = what;
    c->dim = dim;
    size_t nd = st_ynode_kind(n) == ST_YSEQ ? st_ynode_len(n) : 1;
    if (nd == 0)
        return st_ynode_error(L->doc, n, L->e, ST_EDATA, "'%s' is an empty list", what);
    c->d = calloc(nd, sizeof *c->d);
    if (!c->d)
        return st_err_nomem(L->e, what);
    c->nd = nd;
    size_t off = 0;
    for (size_t k = 0; k < nd; k++) {
        const st_ynode *dn = st_ynode_kind(n) == ST_YSEQ ? st_yseq_at(n, k) : n;
        int rc = read_dist(L, dn, env, &c->d[k], off, dim - off);
        if (rc < 0)
            return rc;
        off += c->d[k].dim;
    }
    if (off != dim)
        return st_ynode_error(L->doc, n, L->e, ST_EDATA,
                              "'%s' describes %zu component%s but the %s has %zu", what, off,
                              off == 1 ? "" : "s", strcmp(what, "observation") == 0 ? "observation" : "state",
                              dim);
    return 0;
}

int st_pf_model_compile_functional(const st_pf_model *m, const char *text, const st_expr_src *src, st_expr **out,
                                   st_err *e)
{
    st_expr_var *vars = calloc(4 + m->ncov, sizeof *vars);
    if (!vars)
        return st_err_nomem(e, "functional");
    vars[0] = (st_expr_var){"x_prev", m->dx, ST_PF_FSLOT_XPREV, 0, 1, NULL};
    vars[1] = (st_expr_var){"x", m->dx, ST_PF_FSLOT_X, 0, 1, NULL};
    vars[2] = (st_expr_var){"y", m->dy, ST_PF_FSLOT_Y, 0, 0, NULL};
    vars[3] = (st_expr_var){"t", 1, ST_PF_FSLOT_T, 0, 0, NULL};
    for (size_t j = 0; j < m->ncov; j++)
        vars[4 + j] = (st_expr_var){m->covnames[j], 1, ST_PF_FSLOT_COV, j, 0, NULL};
    st_expr_env env = {.vars = vars, .nvar = 4 + m->ncov, .par_names = (const char *const *)m->parnames,
                       .par_values = m->parvalues, .npar = m->npar, .live = 1, .what = "functional"};
    int rc = st_expr_compile(out, text, &env, src, e);
    free(vars);
    return rc;
}

size_t st_pf_model_nfunctionals(const st_pf_model *m) { return m->nfunc; }
const char *st_pf_model_functional_name(const st_pf_model *m, size_t k) { return m->funcnames[k]; }
const st_expr *st_pf_model_functional(const st_pf_model *m, size_t k) { return m->funcs[k]; }
const double *st_pf_model_parvalues(const st_pf_model *m) { return m->parvalues; }

const char *const st_pf_constraint_names[] = {"free", "positive", "unit", "signed-unit", NULL};

st_pf_constraint st_pf_model_constraint(const st_pf_model *m, size_t k)
{
    return m->parcons ? (st_pf_constraint)m->parcons[k] : ST_PF_FREE;
}

int st_pf_constraint_holds(st_pf_constraint c, double v)
{
    switch (c) {
    case ST_PF_POSITIVE: return v > 0;
    case ST_PF_UNIT: return v > 0 && v < 1;
    case ST_PF_SIGNED_UNIT: return v > -1 && v < 1;
    default: return isfinite(v);
    }
}

double st_pf_constraint_to_eta(st_pf_constraint c, double th)
{
    switch (c) {
    case ST_PF_POSITIVE: return log(th);
    case ST_PF_UNIT: return st_tr_interval_inv(th, 0, 1);
    case ST_PF_SIGNED_UNIT: return st_tr_interval_inv(th, -1, 1);
    default: return th;
    }
}

double st_pf_constraint_from_eta(st_pf_constraint c, double eta)
{
    switch (c) {
    case ST_PF_POSITIVE: return exp(eta);
    case ST_PF_UNIT: return st_tr_interval(eta, 0, 1);
    case ST_PF_SIGNED_UNIT: return st_tr_interval(eta, -1, 1);
    default: return eta;
    }
}

double st_pf_constraint_dtheta(st_pf_constraint c, double th)
{
    switch (c) {
    case ST_PF_POSITIVE: return th;
    case ST_PF_UNIT: return th * (1 - th);
    case ST_PF_SIGNED_UNIT: return (th + 1) * (1 - th) / 2;
    default: return 1;
    }
}

/* `constraints:` parameter: free | positive | unit | signed-unit. */
static int read_constraints(loader *L, const st_ynode *n)
{
    st_pf_model *m = L->m;
    if (st_ynode_kind(n) != ST_YMAP)
        return st_ynode_error(L->doc, n, L->e, ST_EDATA,
                              "'constraints' must be a mapping parameter: positive | unit | signed-unit | free");
    for (size_t i = 0; i < st_ynode_len(n); i++) {
        const char *name = st_ymap_key_at(n, i);
        const st_ynode *vn = st_ymap_value_at(n, i);
        size_t k = 0;
        while (k < m->npar && strcmp(m->parnames[k], name) != 0)
            k++;
        if (k == m->npar)
            return st_ynode_error(L->doc, vn, L->e, ST_EDATA, "constraint on '%s', which is not a parameter", name);
        int c, rc;
        if ((rc = st_ynode_enum(L->doc, vn, st_pf_constraint_names, &c, L->e)) < 0)
            return rc;
        if (!st_pf_constraint_holds((st_pf_constraint)c, m->parvalues[k]))
            return st_ynode_error(L->doc, vn, L->e, ST_EDATA, "parameter '%s' = %g is not %s", name, m->parvalues[k],
                                  c == ST_PF_POSITIVE ? "positive" : c == ST_PF_UNIT ? "in (0, 1)" : "in (-1, 1)");
        m->parcons[k] = (unsigned char)c;
    }
    return 0;
}

/* ------------------------------------------------------------ priors */

const char *const st_pf_prior_names[] = {"none", "normal", "lognormal", "gamma", "beta", "uniform", "half-normal", NULL};

st_pf_prior_kind st_pf_model_prior(const st_pf_model *m, size_t k)
{
    return m->prior ? (st_pf_prior_kind)m->prior[k].kind : ST_PRIOR_NONE;
}

static double prior_lpdf(const pf_prior *p, double v)
{
    if (!isfinite(v))
        return -INFINITY;
    switch (p->kind) {
    case ST_PRIOR_NORMAL: return st_lpdf_normal(v, p->a, p->b);
    case ST_PRIOR_LOGNORMAL: return v > 0 ? st_lpdf_lognormal(v, p->a, p->b) : -INFINITY;
    case ST_PRIOR_GAMMA: return v > 0 ? st_lpdf_gamma(v, p->a, p->b) : -INFINITY;
    case ST_PRIOR_BETA: {
        double w = p->hi - p->lo, u = (v - p->lo) / w;
        if (!(u > 0 && u < 1))
            return -INFINITY;
        return lgamma(p->a + p->b) - lgamma(p->a) - lgamma(p->b) + (p->a - 1) * log(u) + (p->b - 1) * log1p(-u) -
               log(w);
    }
    case ST_PRIOR_UNIFORM: return v >= p->lo && v <= p->hi ? -log(p->hi - p->lo) : -INFINITY;
    case ST_PRIOR_HALFNORMAL: return v >= 0 ? M_LN2 + st_lpdf_normal(v, 0, p->b) : -INFINITY;
    default: return 0;
    }
}

double st_pf_model_logprior1(const st_pf_model *m, size_t k, double v)
{
    return m->prior ? prior_lpdf(&m->prior[k], v) : 0;
}

double st_pf_model_logprior(const st_pf_model *m, const double *theta)
{
    double s = 0;
    if (m->prior)
        for (size_t k = 0; k < m->npar; k++)
            s += prior_lpdf(&m->prior[k], theta[k]);
    return s;
}

/* One argument of a prior: a number in [lo, hi] (or def when absent and
 * def is not NaN). */
static int prior_arg(loader *L, const st_ynode *n, const char *key, double lo, double hi, double def, double *out)
{
    const st_ynode *v = st_ymap_get(L->doc, n, key);
    if (!v) {
        if (!isnan(def)) {
            *out = def;
            return 0;
        }
        return st_ynode_error(L->doc, n, L->e, ST_EDATA, "this prior needs '%s'", key);
    }
    int rc = st_ynode_double(L->doc, v, -DBL_MAX, DBL_MAX, out, L->e);
    if (rc == 0 && !(*out >= lo && *out <= hi))
        return st_ynode_error(L->doc, v, L->e, ST_EDATA, "the prior's '%s' = %g must be > 0", key, *out);
    return rc;
}

/* `priors:` parameter: {dist: ..., its arguments}. */
static int read_priors(loader *L, const st_ynode *n)
{
    st_pf_model *m = L->m;
    if (st_ynode_kind(n) != ST_YMAP)
        return st_ynode_error(L->doc, n, L->e, ST_EDATA, "'priors' must be a mapping parameter: {dist: ..., ...}");
    if (!(m->prior = calloc(m->npar ? m->npar : 1, sizeof *m->prior)))
        return st_err_nomem(L->e, "priors");
    const double pos = 0x1p-1074, big = DBL_MAX;
    for (size_t i = 0; i < st_ynode_len(n); i++) {
        const char *name = st_ymap_key_at(n, i);
        const st_ynode *pn = st_ymap_value_at(n, i);
        size_t k = 0;
        while (k < m->npar && strcmp(m->parnames[k], name) != 0)
            k++;
        if (k == m->npar)
            return st_ynode_error(L->doc, pn, L->e, ST_EDATA, "prior on '%s', which is not a parameter", name);
        if (st_ynode_kind(pn) != ST_YMAP)
            return st_ynode_error(L->doc, pn, L->e, ST_EDATA, "the prior of '%s' must be a mapping {dist: ..., ...}",
                                  name);
        const st_ynode *dn;
        int kind, rc;
        if ((rc = st_ymap_require(L->doc, pn, "dist", &dn, L->e)) < 0 ||
            (rc = st_ynode_enum(L->doc, dn, st_pf_prior_names + 1, &kind, L->e)) < 0)
            return rc;
        pf_prior *p = &m->prior[k];
        p->kind = kind + 1;
        p->line = st_ynode_line(pn);
        p->col = st_ynode_col(pn);
        switch (p->kind) {
        case ST_PRIOR_NORMAL:
            rc = prior_arg(L, pn, "mean", -big, big, NAN, &p->a);
            if (rc == 0)
                rc = prior_arg(L, pn, "sd", pos, big, NAN, &p->b);
            break;
        case ST_PRIOR_LOGNORMAL:
            rc = prior_arg(L, pn, "meanlog", -big, big, NAN, &p->a);
            if (rc == 0)
                rc = prior_arg(L, pn, "sdlog", pos, big, NAN, &p->b);
            break;
        case ST_PRIOR_GAMMA:
            rc = prior_arg(L, pn, "shape", pos, big, NAN, &p->a);
            if (rc == 0 && st_ymap_get(L->doc, pn, "scale")) {
                rc = prior_arg(L, pn, "scale", pos, big, NAN, &p->b);
                p->b = 1 / p->b;
            } else if (rc == 0) {
                rc = prior_arg(L, pn, "rate", pos, big, NAN, &p->b);
            }
            break;
        case ST_PRIOR_BETA:
            rc = prior_arg(L, pn, "shape1", pos, big, NAN, &p->a);
            if (rc == 0)
                rc = prior_arg(L, pn, "shape2", pos, big, NAN, &p->b);
            if (rc == 0)
                rc = prior_arg(L, pn, "lower", -big, big, 0, &p->lo);
            if (rc == 0)
                rc = prior_arg(L, pn, "upper", -big, big, 1, &p->hi);
            break;
        case ST_PRIOR_UNIFORM:
            rc = prior_arg(L, pn, "lower", -big, big, NAN, &p->lo);
            if (rc == 0)
                rc = prior_arg(L, pn, "upper", -big, big, NAN, &p->hi);
            break;
        default: /* half-normal */
            rc = prior_arg(L, pn, "sd", pos, big, NAN, &p->b);
            break;
        }
        if (rc < 0)
            return rc;
        if ((p->kind == ST_PRIOR_BETA || p->kind == ST_PRIOR_UNIFORM) && !(p->lo < p->hi && isfinite(p->hi - p->lo)))
            return st_ynode_error(L->doc, pn, L->e, ST_EDATA, "the prior of '%s' needs lower < upper", name);
        if (!isfinite(prior_lpdf(p, m->parvalues[k])))
            return st_ynode_error(L->doc, pn, L->e, ST_EDATA,
                                  "parameter '%s' = %g has zero density under its prior (%s)", name,
                                  m->parvalues[k], st_pf_prior_names[p->kind]);
        if ((rc = st_ymap_check_unknown(L->doc, pn, L->e)) < 0)
            return rc;
    }
    return 0;
}

/* `functionals:` name: expression, compiled once the model is complete. */
static int read_functionals(loader *L, const st_ynode *n)
{
    st_pf_model *m = L->m;
    if (st_ynode_kind(n) != ST_YMAP || st_ynode_len(n) == 0)
        return st_ynode_error(L->doc, n, L->e, ST_EDATA, "'functionals' must be a mapping name: expression");
    size_t k = st_ynode_len(n);
    m->funcnames = calloc(k, sizeof *m->funcnames);
    m->funcs = calloc(k, sizeof *m->funcs);
    if (!m->funcnames || !m->funcs)
        return st_err_nomem(L->e, "functionals");
    for (size_t i = 0; i < k; i++) {
        const char *name = st_ymap_key_at(n, i);
        const st_ynode *vn = st_ymap_value_at(n, i);
        if (is_reserved(name) == 2)
            return st_ynode_error(L->doc, vn, L->e, ST_EDATA, "functional name '%s' is not a valid name (letters, digits, _)", name);
        if (strcmp(name, "score") == 0)
            return st_ynode_error(L->doc, vn, L->e, ST_EDATA, "'score' is the name of the score functionals (pf-smooth --score)");
        if (st_ynode_kind(vn) != ST_YSCALAR)
            return st_ynode_error(L->doc, vn, L->e, ST_EDATA, "functional '%s' must be an expression (a scalar)", name);
        if (!(m->funcnames[i] = strdup(name)))
            return st_err_nomem(L->e, "functionals");
        m->nfunc++;
        st_expr_src src = {L->file, 0, 0};
        st_ynode_text_pos(vn, &src.line, &src.col);
        int rc = st_pf_model_compile_functional(m, st_ynode_text(vn), &src, &m->funcs[i], L->e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int load_root(loader *L)
{
    st_ydoc *doc = L->doc;
    st_err *e = L->e;
    st_pf_model *m = L->m;
    const st_ynode *root = st_ydoc_root(doc);
    int rc;
    if (!root || st_ynode_kind(root) != ST_YMAP)
        return st_err_set(e, ST_EDATA, L->file, 1, 1, "a pf model is a mapping with 'model: pf'");
    if ((rc = st_ymodel_header(doc, "pf", e)) < 0)
        return rc;
    const st_ynode *bn = st_ymap_get(doc, root, "builtin");
    const st_ynode *on = st_ymap_get(doc, root, "observations");
    const st_ynode *cn = st_ymap_get(doc, root, "covariates");
    const st_ynode *sn = st_ymap_get(doc, root, "states");
    if (cn && (rc = read_names(L, cn, &m->covnames, &m->ncov, 1)) < 0)
        return rc;
    if (bn) {
        int which;
        if ((rc = st_ynode_enum(doc, bn, st_pf_builtin_names, &which, e)) < 0)
            return rc;
        if ((rc = pf_builtin_load(L, root, bn, which)) < 0 || (rc = pf_builtin_params(m, e)) < 0)
            return rc;
    } else {
        /* parameters */
        const st_ynode *par = st_ymap_get(doc, root, "parameters");
        if (par) {
            if (st_ynode_kind(par) != ST_YMAP)
                return st_ynode_error(doc, par, e, ST_EDATA, "'parameters' must be a mapping name: value");
            size_t k = st_ynode_len(par);
            m->parnames = calloc(k ? k : 1, sizeof *m->parnames);
            m->parvalues = calloc(k ? k : 1, sizeof *m->parvalues);
            if (!m->parnames || !m->parvalues)
                return st_err_nomem(e, "parameters");
            for (size_t i = 0; i < k; i++) {
                const char *name = st_ymap_key_at(par, i);
                const st_ynode *vn = st_ymap_get(doc, par, name);
                if (is_reserved(name))
                    return st_ynode_error(doc, vn, e, ST_EDATA,
                                          is_reserved(name) == 1 ? "parameter name '%s' is reserved"
                                                                 : "parameter name '%s' is not a valid name",
                                          name);
                for (size_t j = 0; j < m->ncov; j++)
                    if (strcmp(m->covnames[j], name) == 0)
                        return st_ynode_error(doc, vn, e, ST_EDATA, "'%s' is both a parameter and a covariate", name);
                if ((rc = st_ynode_double(doc, vn, -INFINITY, INFINITY, &m->parvalues[i], e)) < 0)
                    return rc;
                if (!(m->parnames[i] = strdup(name)))
                    return st_err_nomem(e, "parameters");
                m->npar++;
            }
        }
        if (!(m->parcons = calloc(m->npar ? m->npar : 1, 1)))
            return st_err_nomem(e, "parameters");
        const st_ynode *cn2 = st_ymap_get(doc, root, "constraints");
        if (cn2 && (rc = read_constraints(L, cn2)) < 0)
            return rc;
        long dim = 0;
        const st_ynode *dn = st_ymap_get(doc, root, "dim");
        if (dn && (rc = st_ynode_long(doc, dn, 1, ST_PF_MAXDIM, &dim, e)) < 0)
            return rc;
        if (sn) {
            if ((rc = read_names(L, sn, &m->xnames, &m->dx, 0)) < 0)
                return rc;
            if (dn && (size_t)dim != m->dx)
                return st_ynode_error(doc, dn, e, ST_EDATA, "'dim' is %ld but 'states' names %zu", dim, m->dx);
        } else {
            m->dx = dn ? (size_t)dim : 1;
        }
        if (on) {
            if ((rc = read_names(L, on, &m->ynames, &m->dy, 0)) < 0)
                return rc;
        } else {
            m->dy = 1;
        }
        /* x (slot PF_SLOT_X), t, the covariates; live parameters */
        st_expr_var *vars = calloc(2 + m->ncov, sizeof *vars);
        if (!vars)
            return st_err_nomem(e, "model");
        vars[0] = (st_expr_var){"x", 0, PF_SLOT_X, 0, 1, "the initial distribution has no previous state"};
        vars[1] = (st_expr_var){"t", 1, PF_SLOT_T, 0, 0, NULL};
        for (size_t j = 0; j < m->ncov; j++)
            vars[2 + j] = (st_expr_var){m->covnames[j], 1, PF_SLOT_COV, j, 0, NULL};
        st_expr_env env = {0};
        env.vars = vars;
        env.nvar = 2 + m->ncov;
        env.par_names = (const char *const *)m->parnames;
        env.par_values = m->parvalues;
        env.npar = m->npar;
        env.live = 1;
        const st_ynode *in, *tn, *ob;
        if ((rc = st_ymap_require(doc, root, "initial", &in, e)) < 0 ||
            (rc = st_ymap_require(doc, root, "transition", &tn, e)) < 0 ||
            (rc = st_ymap_require(doc, root, "observation", &ob, e)) < 0 ||
            (rc = read_comp(L, in, "initial", m->dx, &env, &m->init)) < 0) {
            free(vars);
            return rc;
        }
        vars[0].dim = m->dx;
        vars[0].why = NULL;
        rc = read_comp(L, tn, "transition", m->dx, &env, &m->trans);
        if (rc == 0)
            rc = read_comp(L, ob, "observation", m->dy, &env, &m->obs);
        free(vars);
        if (rc < 0)
            return rc;
    }
    if (!m->xnames) {
        if (m->kind == ST_PF_BEARINGS) {
            static const char *const bn4[] = {"px", "vx", "py", "vy"};
            if (!(m->xnames = calloc(4, sizeof *m->xnames)))
                return st_err_nomem(e, "names");
            for (int i = 0; i < 4; i++)
                if (!(m->xnames[i] = strdup(bn4[i])))
                    return st_err_nomem(e, "names");
        } else if (!(m->xnames = make_names("x", m->dx))) {
            return st_err_nomem(e, "names");
        }
    } else if (bn) {
        return st_ynode_error(doc, sn, e, ST_EDATA, "'states' is for YAML models; built-in models name their states");
    }
    if (!m->ynames && !(m->ynames = make_names("y", m->dy)))
        return st_err_nomem(e, "names");
    if (on && bn) { /* built-ins take observation names too; the count must match */
        char **v;
        size_t k;
        if ((rc = read_names(L, on, &v, &k, 0)) < 0)
            return rc;
        if (k != m->dy) {
            pf_free_names(v, k);
            return st_ynode_error(doc, on, e, ST_EDATA, "'observations' names %zu columns but the model observes %zu", k, m->dy);
        }
        pf_free_names(m->ynames, m->dy);
        m->ynames = v;
    }
    if (!m->covnames && !(m->covnames = calloc(1, sizeof *m->covnames)))
        return st_err_nomem(e, "names");
    const st_ynode *fn = st_ymap_get(doc, root, "functionals");
    if (fn && (rc = read_functionals(L, fn)) < 0)
        return rc;
    const st_ynode *prn = st_ymap_get(doc, root, "priors");
    if (prn && (rc = read_priors(L, prn)) < 0)
        return rc;
    (void)st_ymap_get(doc, root, "fit"); /* results written by pf-fit: read and ignored */
    return st_ymap_check_unknown(doc, root, e);
}

static int load_text(st_pf_model **out, const char *text, size_t len, const char *name, st_err *e)
{
    *out = NULL;
    loader L = {.file = name, .e = e};
    int rc = st_ydoc_load_string(&L.doc, text, len, name, e);
    if (rc < 0)
        return rc;
    L.m = calloc(1, sizeof *L.m);
    if (!L.m || !(L.m->file = strdup(name))) {
        rc = st_err_nomem(e, "model");
        goto out;
    }
    L.file = L.m->file;
    rc = load_root(&L);
out:
    st_ydoc_free(L.doc);
    if (rc < 0) {
        st_pf_model_free(L.m);
        return rc;
    }
    *out = L.m;
    return 0;
}

int st_pf_model_load_string(st_pf_model **m, const char *text, const char *name, st_err *e)
{
    return load_text(m, text, strlen(text), name ? name : "<string>", e);
}

int st_pf_model_load(st_pf_model **m, const char *path, st_err *e)
{
    *m = NULL;
    const char *name = st_display_name(path);
    FILE *fp = (!path || strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");
    if (!fp)
        return st_err_set(e, ST_EIO, name, 0, 0, "cannot open model: %s", strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        if (len + 1 >= cap) {
            if (len > ST_YAML_MAX_BYTES) {
                rc = st_err_set(e, ST_EDATA, name, 0, 0, "model file is larger than the %d MiB limit",
                                ST_YAML_MAX_BYTES >> 20);
                break;
            }
            size_t ncap = cap * 2 > (size_t)ST_YAML_MAX_BYTES + 2 ? (size_t)ST_YAML_MAX_BYTES + 2 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t k = fread(buf + len, 1, cap - 1 - len, fp);
        len += k;
        if (k == 0)
            break;
    }
    if (!buf)
        rc = st_err_nomem(e, "model text");
    else if (rc == 0 && ferror(fp))
        rc = st_err_set(e, ST_EIO, name, 0, 0, "cannot read model");
    if (fp != stdin)
        fclose(fp);
    if (rc == 0) {
        buf[len] = '\0';
        rc = load_text(m, buf, len, name, e);
    }
    free(buf);
    return rc;
}

/* Particle models: YAML loading, built-in models, and the block operations
 * (sample initial, sample transition, transition and observation densities). */
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

const char *const st_pf_builtin_names[] = {"linear-gaussian", "stochastic-volatility", "growth",
                                           "bearings-only", NULL};

/* ------------------------------------------------------------ types */

enum { D_NORMAL, D_MVNORMAL, D_STUDENT, D_LOGNORMAL, D_GAMMA, D_POISSON, D_BINOMIAL, D_NEGBIN };

static const char *const dist_names[] = {"normal", "mvnormal", "student-t", "lognormal", "gamma",
                                         "poisson", "binomial", "negbinomial", NULL};

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

struct st_pf_model {
    st_pf_kind kind;
    size_t dx, dy, ncov;
    char **xnames, **ynames, **covnames;
    char *file;
    /* YAML models */
    size_t npar;
    char **parnames;
    double *parvalues;
    pcomp init, trans, obs;
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

static void free_names(char **v, size_t n)
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
    free_names(m->xnames, m->dx);
    free_names(m->ynames, m->dy);
    free_names(m->covnames, m->ncov);
    free_names(m->parnames, m->npar);
    free(m->parvalues);
    free_comp(&m->init);
    free_comp(&m->trans);
    free_comp(&m->obs);
    free(m->A); free(m->Q); free(m->C); free(m->R); free(m->m0); free(m->P0);
    free(m->Lq); free(m->L0); free(m->Lr);
    free(m->file);
    free(m);
}

/* ------------------------------------------------------------ loading */

typedef struct loader {
    st_ydoc *doc;
    const char *text; /* the file's text, to locate quoted scalars */
    size_t len;
    const char *file;
    st_pf_model *m;
    st_err *e;
} loader;

/* Column of a scalar's first character of content: a quoted scalar starts
 * one column after its mark. */
static long content_col(const loader *L, const st_ynode *n)
{
    long line = st_ynode_line(n), col = st_ynode_col(n);
    const char *p = L->text, *end = L->text + L->len;
    for (long l = 1; l < line && p < end; p++)
        if (*p == '\n')
            l++;
    if (p + col - 1 < end && (p[col - 1] == '"' || p[col - 1] == '\''))
        return col + 1;
    return col;
}

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
            free_names(v, i);
            return NULL;
        }
    }
    return v;
}

static int is_reserved(const char *s)
{
    static const char *const r[] = {"x", "t", "pi", "exp", "log", "log1p", "expm1", "sqrt", "pow",
                                    "sin", "cos", "tan", "atan2", "abs", "min", "max", "logistic",
                                    "floor", "if", NULL};
    for (int i = 0; r[i]; i++)
        if (strcmp(r[i], s) == 0)
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
            free_names(v, k);
            return rc;
        }
        if (check_ident && is_reserved(s)) {
            free_names(v, k);
            return st_ynode_error(L->doc, st_yseq_at(n, i), L->e, ST_EDATA,
                                  is_reserved(s) == 1 ? "'%s' is a reserved name"
                                                      : "'%s' is not a valid name (letters, digits, _)",
                                  s);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[j], s) == 0) {
                free_names(v, k);
                return st_ynode_error(L->doc, st_yseq_at(n, i), L->e, ST_EDATA, "duplicate name '%s'", s);
            }
        if (!(v[i] = strdup(s))) {
            free_names(v, k);
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
    a->line = st_ynode_line(n);
    a->col = content_col(L, n);
    st_expr_src src = {L->file, a->line, a->col};
    return st_expr_compile(&a->x, text, env, &src, L->e);
}

static const char *const *arg_names(int kind, int alt)
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
    if ((rc = st_ynode_enum(doc, kn, dist_names, &d->kind, e)) < 0)
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
    const char *const *names = arg_names(d->kind, alt);
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
            return st_ynode_error(doc, n, e, ST_EDATA, "%s needs '%s'", dist_names[d->kind], names[i]);
        if ((rc = compile_arg(L, an, names[i], env, &d->a[i])) < 0)
            return rc;
    }
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

/* A number, a vector or a matrix parameter of a built-in model into a
 * rows x cols row-major array (a scalar is accepted for 1 x 1). */
static int read_matrix(loader *L, const st_ynode *par, const char *key, size_t rows, size_t cols,
                       double **out, const double *dflt, size_t *got_rows, size_t *got_cols)
{
    const st_ynode *n = st_ymap_get(L->doc, par, key);
    if (!n) {
        if (!dflt)
            return st_ynode_error(L->doc, par, L->e, ST_EDATA, "missing parameter '%s'", key);
        *out = malloc(rows * cols * sizeof **out);
        if (!*out)
            return st_err_nomem(L->e, key);
        memcpy(*out, dflt, rows * cols * sizeof **out);
        return 0;
    }
    size_t r = 0, c = 0;
    if (st_ynode_kind(n) == ST_YSCALAR) {
        double v;
        int rc = st_ynode_double(L->doc, n, -INFINITY, INFINITY, &v, L->e);
        if (rc < 0)
            return rc;
        if ((rows && rows != 1) || (cols && cols != 1))
            return st_ynode_error(L->doc, n, L->e, ST_EDATA, "'%s' must be %zu x %zu", key, rows, cols);
        if (!(*out = malloc(sizeof **out)))
            return st_err_nomem(L->e, key);
        **out = v;
        r = c = 1;
    } else if (st_ynode_kind(n) == ST_YSEQ && st_ynode_len(n) > 0 &&
               st_ynode_kind(st_yseq_at(n, 0)) == ST_YSCALAR) {
        /* a vector: a column (rows x 1) */
        int rc = st_ynode_vector(L->doc, n, rows, -INFINITY, INFINITY, out, &r, L->e);
        if (rc < 0)
            return rc;
        c = 1;
        if (cols > 1)
            return st_ynode_error(L->doc, n, L->e, ST_EDATA, "'%s' must be a matrix", key);
    } else {
        int rc = st_ynode_matrix(L->doc, n, rows, cols, -INFINITY, INFINITY, out, &r, &c, L->e);
        if (rc < 0)
            return rc;
    }
    if (r > ST_PF_MAXDIM || c > ST_PF_MAXDIM)
        return st_ynode_error(L->doc, n, L->e, ST_EDATA, "'%s' is larger than %d", key, ST_PF_MAXDIM);
    if (got_rows)
        *got_rows = r;
    if (got_cols)
        *got_cols = c;
    return 0;
}

static int read_scalar_par(loader *L, const st_ynode *par, const char *key, double lo, double hi,
                           double dflt, double *out)
{
    const st_ynode *n = st_ymap_get(L->doc, par, key);
    if (!n) {
        *out = dflt;
        return 0;
    }
    return st_ynode_double(L->doc, n, lo, hi, out, L->e);
}

static int chol_copy(loader *L, const st_ynode *at, const double *S, size_t n, double **Lout,
                     const char *what)
{
    *Lout = malloc(n * n * sizeof **Lout);
    if (!*Lout)
        return st_err_nomem(L->e, what);
    memcpy(*Lout, S, n * n * sizeof **Lout);
    if (st_mat_asymmetry(S, n) > 1e-10)
        return st_ynode_error(L->doc, at, L->e, ST_EDATA, "'%s' is not symmetric", what);
    st_err tmp;
    st_err_clear(&tmp);
    if (st_chol(*Lout, n, 0, NULL, &tmp) < 0)
        return st_ynode_error(L->doc, at, L->e, ST_EDATA, "'%s' is not positive definite", what);
    return 0;
}

static int load_builtin(loader *L, const st_ynode *root, const st_ynode *bn, int which)
{
    st_pf_model *m = L->m;
    const st_ynode *par = st_ymap_get(L->doc, root, "parameters");
    int rc;
    if (par && st_ynode_kind(par) != ST_YMAP)
        return st_ynode_error(L->doc, par, L->e, ST_EDATA, "'parameters' must be a mapping");
    m->kind = (st_pf_kind)(which + 1);
    switch (m->kind) {
    case ST_PF_LINEAR_GAUSSIAN: {
        if (!par)
            return st_ynode_error(L->doc, bn, L->e, ST_EDATA, "linear-gaussian needs 'parameters' A, Q, C, R (m0, P0)");
        size_t r, c, rr, cc;
        if ((rc = read_matrix(L, par, "A", 0, 0, &m->A, NULL, &r, &c)) < 0)
            return rc;
        if (r != c)
            return st_ynode_error(L->doc, st_ymap_get(L->doc, par, "A"), L->e, ST_EDATA, "'A' must be square");
        m->dx = r;
        if ((rc = read_matrix(L, par, "Q", m->dx, m->dx, &m->Q, NULL, NULL, NULL)) < 0)
            return rc;
        if ((rc = read_matrix(L, par, "C", 0, 0, &m->C, NULL, &rr, &cc)) < 0)
            return rc;
        if (m->dx == 1 && cc == 1 && rr > 1) { /* a vector C for a scalar state */
            cc = 1;
        } else if (cc != m->dx) {
            return st_ynode_error(L->doc, st_ymap_get(L->doc, par, "C"), L->e, ST_EDATA,
                                  "'C' must have %zu columns (the state dimension), not %zu", m->dx, cc);
        }
        m->dy = rr;
        if ((rc = read_matrix(L, par, "R", m->dy, m->dy, &m->R, NULL, NULL, NULL)) < 0)
            return rc;
        double zeros[ST_PF_MAXDIM] = {0};
        double *eye = calloc(m->dx * m->dx, sizeof *eye);
        if (!eye)
            return st_err_nomem(L->e, "P0");
        for (size_t i = 0; i < m->dx; i++)
            eye[i * m->dx + i] = 1;
        rc = read_matrix(L, par, "m0", m->dx, 1, &m->m0, zeros, NULL, NULL);
        if (rc == 0)
            rc = read_matrix(L, par, "P0", m->dx, m->dx, &m->P0, eye, NULL, NULL);
        free(eye);
        if (rc < 0)
            return rc;
        const st_ynode *at = par;
        if ((rc = chol_copy(L, at, m->Q, m->dx, &m->Lq, "Q")) < 0 ||
            (rc = chol_copy(L, at, m->R, m->dy, &m->Lr, "R")) < 0 ||
            (rc = chol_copy(L, at, m->P0, m->dx, &m->L0, "P0")) < 0)
            return rc;
        m->logdetq = st_chol_logdet(m->Lq, m->dx);
        m->logdetr = st_chol_logdet(m->Lr, m->dy);
        break;
    }
    case ST_PF_STOCHVOL:
        m->dx = m->dy = 1;
        if ((rc = read_scalar_par(L, par ? par : root, "mu", -INFINITY, INFINITY, -1.0, &m->mu)) < 0 ||
            (rc = read_scalar_par(L, par ? par : root, "phi", -0.999999, 0.999999, 0.95, &m->phi)) < 0 ||
            (rc = read_scalar_par(L, par ? par : root, "sigma", 1e-12, INFINITY, 0.3, &m->sigma)) < 0)
            return rc;
        break;
    case ST_PF_GROWTH:
        m->dx = m->dy = 1;
        if ((rc = read_scalar_par(L, par ? par : root, "var_v", 1e-12, INFINITY, 10.0, &m->var_v)) < 0 ||
            (rc = read_scalar_par(L, par ? par : root, "var_w", 1e-12, INFINITY, 1.0, &m->var_w)) < 0 ||
            (rc = read_scalar_par(L, par ? par : root, "var0", 1e-12, INFINITY, 5.0, &m->var0)) < 0)
            return rc;
        break;
    default: { /* bearings-only: (px, vx, py, vy), observer at the origin */
        m->dx = 4;
        m->dy = 1;
        if ((rc = read_scalar_par(L, par ? par : root, "q", 1e-12, INFINITY, 0.001, &m->bq)) < 0 ||
            (rc = read_scalar_par(L, par ? par : root, "r", 1e-12, INFINITY, 0.005, &m->br)) < 0)
            return rc;
        static const double m0d[4] = {-0.05, 0.001, 0.7, -0.055};
        static const double sd0[4] = {0.1, 0.005, 0.1, 0.01};
        double *sd = NULL;
        if ((rc = read_matrix(L, par ? par : root, "m0", 4, 1, &m->m0, m0d, NULL, NULL)) < 0 ||
            (rc = read_matrix(L, par ? par : root, "sd0", 4, 1, &sd, sd0, NULL, NULL)) < 0) {
            free(sd);
            return rc;
        }
        m->A = calloc(16, sizeof *m->A);
        m->Q = calloc(16, sizeof *m->Q);
        m->P0 = calloc(16, sizeof *m->P0);
        if (!m->A || !m->Q || !m->P0) {
            free(sd);
            return st_err_nomem(L->e, "bearings-only");
        }
        double q2 = m->bq * m->bq;
        for (int k = 0; k < 2; k++) {
            int o = 2 * k;
            m->A[o * 4 + o] = m->A[o * 4 + o + 1] = m->A[(o + 1) * 4 + o + 1] = 1;
            /* white-noise acceleration over a unit step: full rank, so the
             * transition has a density for the backward smoothers */
            m->Q[o * 4 + o] = q2 / 3;
            m->Q[o * 4 + o + 1] = m->Q[(o + 1) * 4 + o] = q2 / 2;
            m->Q[(o + 1) * 4 + o + 1] = q2;
        }
        for (int i = 0; i < 4; i++) {
            if (!(sd[i] > 0)) {
                free(sd);
                return st_ynode_error(L->doc, par ? par : root, L->e, ST_EDATA, "'sd0' entries must be > 0");
            }
            m->P0[i * 4 + i] = sd[i] * sd[i];
        }
        free(sd);
        if ((rc = chol_copy(L, root, m->Q, 4, &m->Lq, "Q")) < 0 ||
            (rc = chol_copy(L, root, m->P0, 4, &m->L0, "P0")) < 0)
            return rc;
        m->logdetq = st_chol_logdet(m->Lq, 4);
        break;
    }
    }
    if (par && (rc = st_ymap_check_unknown(L->doc, par, L->e)) < 0)
        return rc;
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
        if ((rc = load_builtin(L, root, bn, which)) < 0)
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
        st_expr_env env = {0};
        env.allow_t = 1;
        env.cov_names = (const char *const *)m->covnames;
        env.ncov = m->ncov;
        env.par_names = (const char *const *)m->parnames;
        env.par_values = m->parvalues;
        env.npar = m->npar;
        const st_ynode *in, *tn, *ob;
        if ((rc = st_ymap_require(doc, root, "initial", &in, e)) < 0 ||
            (rc = st_ymap_require(doc, root, "transition", &tn, e)) < 0 ||
            (rc = st_ymap_require(doc, root, "observation", &ob, e)) < 0)
            return rc;
        env.nx = 0;
        env.xwhat = "the initial distribution has no previous state";
        if ((rc = read_comp(L, in, "initial", m->dx, &env, &m->init)) < 0)
            return rc;
        env.nx = m->dx;
        if ((rc = read_comp(L, tn, "transition", m->dx, &env, &m->trans)) < 0)
            return rc;
        if ((rc = read_comp(L, ob, "observation", m->dy, &env, &m->obs)) < 0)
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
            free_names(v, k);
            return st_ynode_error(doc, on, e, ST_EDATA, "'observations' names %zu columns but the model observes %zu", k, m->dy);
        }
        free_names(m->ynames, m->dy);
        m->ynames = v;
    }
    if (!m->covnames && !(m->covnames = calloc(1, sizeof *m->covnames)))
        return st_err_nomem(e, "names");
    return st_ymap_check_unknown(doc, root, e);
}

static int load_text(st_pf_model **out, const char *text, size_t len, const char *name, st_err *e)
{
    *out = NULL;
    loader L = {.text = text, .len = len, .file = name, .e = e};
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
            if (cap > (64u << 20)) {
                rc = st_err_set(e, ST_EDATA, name, 0, 0, "model file larger than 64 MiB");
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
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

/* ------------------------------------------------------------ evaluation */

static int bad_value(const st_pf_model *m, const st_pf_step *s, const char *what, const parg *a,
                     double v, size_t p, const char *why, st_err *e)
{
    return st_err_set(e, ST_EDATA, m->file, a->line, a->col,
                      "time step %ld (t = %g): %s '%s' = %g %s (expression '%s', particle %zu)",
                      s->step + 1, s->t, what, a->name, v, why, st_expr_text(a->x), p);
}

/* Evaluate argument a over the block into out; returns the uniform flag. */
static int eval_arg(const parg *a, const st_pf_step *s, const double *X, size_t stride, size_t n,
                    double *out, st_pf_work *w)
{
    st_expr_args args = {X, stride, s->t, s->cov};
    return st_expr_eval(a->x, &args, n, out, &w->ew);
}

#define ARG(k, p) (uni[k] ? w->arg[k][0] : w->arg[k][p])

/* Evaluate and check the univariate arguments of d. */
static int univariate_args(const st_pf_model *m, const pcomp *c, const pdist *d,
                           const st_pf_step *s, const double *X, size_t stride, size_t n,
                           int *uni, st_pf_work *w, st_err *e)
{
    int na = d->kind == D_POISSON ? 1 : d->kind == D_STUDENT ? 3 : 2;
    for (int k = 0; k < na; k++) {
        uni[k] = eval_arg(&d->a[k], s, X, stride, n, w->arg[k], w);
        size_t cnt = uni[k] ? 1 : n;
        const double *v = w->arg[k];
        for (size_t p = 0; p < cnt; p++) {
            double x = v[p];
            const char *why = NULL;
            if (!isfinite(x))
                why = "is not finite";
            else
                switch (d->kind) {
                case D_NORMAL:
                case D_LOGNORMAL:
                    if (k == 1 && !(x > 0))
                        why = "is not positive";
                    break;
                case D_STUDENT:
                    if ((k == 0 || k == 2) && !(x > 0))
                        why = "is not positive";
                    break;
                case D_GAMMA:
                    if (!(x > 0))
                        why = "is not positive";
                    break;
                case D_POISSON:
                    if (x < 0)
                        why = "is negative";
                    break;
                case D_BINOMIAL:
                    if (k == 0 && !st_is_count(x))
                        why = "is not a non-negative integer";
                    if (k == 1 && !(x >= 0 && x <= 1))
                        why = "is not in [0, 1]";
                    break;
                case D_NEGBIN:
                    if (k == 0 && !(x > 0))
                        why = "is not positive";
                    if (k == 1 && !d->nb_mean && !(x > 0 && x <= 1))
                        why = "is not in (0, 1]";
                    if (k == 1 && d->nb_mean && x < 0)
                        why = "is negative";
                    break;
                }
            if (why)
                return bad_value(m, s, c->what, &d->a[k], x, p, why, e);
        }
    }
    return 0;
}

/* mvnormal: means into w->tmp[0..dim-1] (uniform flags in muni), the
 * Cholesky factor of a full covariance into w->mat, diagonal sds into
 * w->arg rows... (diag: sds into w->tmp[dim..2dim-1]). */
static int mvn_setup(const st_pf_model *m, const pcomp *c, const pdist *d, const st_pf_step *s,
                     const double *X, size_t stride, size_t n, int *muni, int *suni,
                     st_pf_work *w, st_err *e)
{
    size_t dim = d->dim;
    if (2 * dim > ST_PF_MAXDIM)
        return st_err_set(e, ST_EDATA, m->file, d->mean[0].line, d->mean[0].col, "mvnormal too large");
    for (size_t i = 0; i < dim; i++) {
        muni[i] = eval_arg(&d->mean[i], s, X, stride, n, w->tmp[i], w);
        for (size_t p = 0; p < (muni[i] ? 1 : n); p++)
            if (!isfinite(w->tmp[i][p]))
                return bad_value(m, s, c->what, &d->mean[i], w->tmp[i][p], p, "is not finite", e);
    }
    if (d->full) {
        for (size_t i = 0; i < dim * dim; i++) {
            double v;
            eval_arg(&d->cov[i], s, X, stride, 1, &v, w);
            if (!isfinite(v))
                return bad_value(m, s, c->what, &d->cov[i], v, 0, "is not finite", e);
            w->mat[i] = v;
        }
        if (st_mat_asymmetry(w->mat, dim) > 1e-10)
            return bad_value(m, s, c->what, &d->cov[1], w->mat[1], 0, "makes 'cov' not symmetric", e);
        st_err tmp;
        st_err_clear(&tmp);
        if (st_chol(w->mat, dim, 0, NULL, &tmp) < 0)
            return bad_value(m, s, c->what, &d->cov[0], w->mat[0], 0, "but 'cov' is not positive definite", e);
    } else {
        for (size_t i = 0; i < dim; i++) {
            double *sd = w->tmp[dim + i];
            suni[i] = eval_arg(&d->cov[i], s, X, stride, n, sd, w);
            for (size_t p = 0; p < (suni[i] ? 1 : n); p++) {
                if (!(sd[p] > 0) || !isfinite(sd[p]))
                    return bad_value(m, s, c->what, &d->cov[i], sd[p], p, "is not a positive variance", e);
                sd[p] = sqrt(sd[p]);
            }
        }
    }
    return 0;
}

/* Sample component c into Y (rows off.., stride ystride); arguments over X. */
static int comp_sample(const st_pf_model *m, const pcomp *c, const st_pf_step *s, const double *X,
                       size_t xstride, double *Y, size_t ystride, size_t n, st_rng *r,
                       st_pf_work *w, st_err *e)
{
    int uni[3], rc;
    for (size_t k = 0; k < c->nd; k++) {
        const pdist *d = &c->d[k];
        if (d->kind == D_MVNORMAL) {
            int muni[ST_PF_MAXDIM], suni[ST_PF_MAXDIM];
            if ((rc = mvn_setup(m, c, d, s, X, xstride, n, muni, suni, w, e)) < 0)
                return rc;
            size_t dim = d->dim;
            for (size_t p = 0; p < n; p++) {
                double z[ST_PF_MAXDIM];
                for (size_t i = 0; i < dim; i++)
                    z[i] = st_rng_normal(r);
                for (size_t i = 0; i < dim; i++) {
                    double v = w->tmp[i][muni[i] ? 0 : p];
                    if (d->full) {
                        for (size_t j = 0; j <= i; j++)
                            v += w->mat[i * dim + j] * z[j];
                    } else {
                        v += w->tmp[dim + i][suni[i] ? 0 : p] * z[i];
                    }
                    Y[(d->off + i) * ystride + p] = v;
                }
            }
            continue;
        }
        if ((rc = univariate_args(m, c, d, s, X, xstride, n, uni, w, e)) < 0)
            return rc;
        double *y = Y + d->off * ystride;
        switch (d->kind) {
        case D_NORMAL:
            for (size_t p = 0; p < n; p++)
                y[p] = ARG(0, p) + ARG(1, p) * st_rng_normal(r);
            break;
        case D_STUDENT:
            for (size_t p = 0; p < n; p++)
                y[p] = ARG(1, p) + ARG(2, p) * st_rng_student_t(r, ARG(0, p));
            break;
        case D_LOGNORMAL:
            for (size_t p = 0; p < n; p++)
                y[p] = exp(ARG(0, p) + ARG(1, p) * st_rng_normal(r));
            break;
        case D_GAMMA:
            for (size_t p = 0; p < n; p++)
                y[p] = d->gamma_scale ? st_rng_gamma(r, ARG(0, p)) * ARG(1, p)
                                      : st_rng_gamma(r, ARG(0, p)) / ARG(1, p);
            break;
        case D_POISSON:
            for (size_t p = 0; p < n; p++)
                y[p] = (double)st_rng_poisson(r, ARG(0, p));
            break;
        case D_BINOMIAL:
            for (size_t p = 0; p < n; p++)
                y[p] = (double)st_rng_binomial(r, (uint64_t)ARG(0, p), ARG(1, p));
            break;
        default:
            for (size_t p = 0; p < n; p++) {
                double size = ARG(0, p), prob = d->nb_mean ? size / (size + ARG(1, p)) : ARG(1, p);
                y[p] = (double)st_rng_negbinomial(r, size, prob);
            }
            break;
        }
    }
    return 0;
}

/* out[p] += log density of the values V (rows off.., stride vstride, or the
 * constant vector vconst when non-NULL) with arguments over X.  Missing
 * values (NaN in vconst) are skipped. */
static int comp_logpdf(const st_pf_model *m, const pcomp *c, const st_pf_step *s, const double *X,
                       size_t xstride, const double *V, size_t vstride, const double *vconst,
                       size_t n, double *out, st_pf_work *w, st_err *e)
{
    int uni[3], rc;
    for (size_t di = 0; di < c->nd; di++) {
        const pdist *d = &c->d[di];
        /* observed components (missing observations are NaN) */
        size_t obs[ST_PF_MAXDIM], k = 0;
        for (size_t i = 0; i < d->dim; i++)
            if (!vconst || !isnan(vconst[d->off + i]))
                obs[k++] = i;
        if (k == 0)
            continue;
        if (d->kind == D_MVNORMAL) {
            int muni[ST_PF_MAXDIM], suni[ST_PF_MAXDIM];
            if ((rc = mvn_setup(m, c, d, s, X, xstride, n, muni, suni, w, e)) < 0)
                return rc;
            size_t dim = d->dim;
            double logdet = 0;
            if (d->full && k < dim) {
                /* the marginal of the observed components: their block of
                 * the covariance, factorised afresh */
                for (size_t a = 0; a < k; a++)
                    for (size_t b = 0; b < k; b++)
                        eval_arg(&d->cov[obs[a] * dim + obs[b]], s, X, xstride, 1, &w->mat[a * k + b], w);
                st_err tmp;
                if (st_chol(w->mat, k, 0, NULL, &tmp) < 0)
                    return bad_value(m, s, c->what, &d->cov[0], w->mat[0], 0,
                                     "but the observed block of 'cov' is not positive definite", e);
            }
            if (d->full)
                logdet = st_chol_logdet(w->mat, k);
            for (size_t p = 0; p < n; p++) {
                double z[ST_PF_MAXDIM], q = 0, ld = 0;
                for (size_t a = 0; a < k; a++) {
                    size_t i = obs[a];
                    double v = vconst ? vconst[d->off + i] : V[(d->off + i) * vstride + p];
                    z[a] = v - w->tmp[i][muni[i] ? 0 : p];
                }
                if (d->full) {
                    for (size_t a = 0; a < k; a++) {
                        double v = z[a];
                        for (size_t b = 0; b < a; b++)
                            v -= w->mat[a * k + b] * z[b];
                        z[a] = v / w->mat[a * k + a];
                        q += z[a] * z[a];
                    }
                    ld = 0.5 * logdet;
                } else {
                    for (size_t a = 0; a < k; a++) {
                        double sd = w->tmp[dim + obs[a]][suni[obs[a]] ? 0 : p];
                        q += (z[a] / sd) * (z[a] / sd);
                        ld += log(sd);
                    }
                }
                out[p] += -0.5 * q - ld - (double)k * ST_LOG_SQRT_2PI;
            }
            continue;
        }
        if ((rc = univariate_args(m, c, d, s, X, xstride, n, uni, w, e)) < 0)
            return rc;
        const double *v = vconst ? NULL : V + d->off * vstride;
        double yc = vconst ? vconst[d->off] : 0;
#define VAL(p) (vconst ? yc : v[p])
        switch (d->kind) {
        case D_NORMAL:
            if (uni[1]) {
                double sd = w->arg[1][0], c0 = -log(sd) - ST_LOG_SQRT_2PI, is = 1 / sd;
                for (size_t p = 0; p < n; p++) {
                    double z = (VAL(p) - ARG(0, p)) * is;
                    out[p] += -0.5 * z * z + c0;
                }
            } else {
                for (size_t p = 0; p < n; p++)
                    out[p] += st_lpdf_normal(VAL(p), ARG(0, p), ARG(1, p));
            }
            break;
        case D_STUDENT:
            for (size_t p = 0; p < n; p++)
                out[p] += st_lpdf_student(VAL(p), ARG(0, p), ARG(1, p), ARG(2, p));
            break;
        case D_LOGNORMAL:
            for (size_t p = 0; p < n; p++)
                out[p] += st_lpdf_lognormal(VAL(p), ARG(0, p), ARG(1, p));
            break;
        case D_GAMMA:
            for (size_t p = 0; p < n; p++)
                out[p] += st_lpdf_gamma(VAL(p), ARG(0, p), d->gamma_scale ? 1 / ARG(1, p) : ARG(1, p));
            break;
        case D_POISSON:
            for (size_t p = 0; p < n; p++)
                out[p] += st_lpmf_poisson(VAL(p), ARG(0, p));
            break;
        case D_BINOMIAL:
            for (size_t p = 0; p < n; p++)
                out[p] += st_lpmf_binomial(VAL(p), ARG(0, p), ARG(1, p));
            break;
        default:
            for (size_t p = 0; p < n; p++) {
                double size = ARG(0, p), prob = d->nb_mean ? size / (size + ARG(1, p)) : ARG(1, p);
                out[p] += st_lpmf_negbinomial(VAL(p), size, prob);
            }
            break;
        }
#undef VAL
    }
    return 0;
}

/* Linear-Gaussian pieces shared by linear-gaussian and bearings-only. */
static void lg_sample(size_t d, const double *A, const double *L, const double *mean0,
                      const double *Xprev, size_t pstride, double *Xnew, size_t nstride, size_t n,
                      st_rng *r, st_pf_work *w)
{
    /* z ~ N(0, I) in w->tmp rows, then Xnew = A Xprev (or mean0) + L z */
    for (size_t p = 0; p < n; p++)
        for (size_t j = 0; j < d; j++)
            w->tmp[j][p] = st_rng_normal(r);
    for (size_t i = 0; i < d; i++) {
        double *out = Xnew + i * nstride;
        if (A) {
            for (size_t p = 0; p < n; p++)
                out[p] = 0;
            for (size_t j = 0; j < d; j++) {
                double a = A[i * d + j];
                if (a == 0)
                    continue;
                const double *xp = Xprev + j * pstride;
                for (size_t p = 0; p < n; p++)
                    out[p] += a * xp[p];
            }
        } else {
            for (size_t p = 0; p < n; p++)
                out[p] = mean0[i];
        }
        for (size_t j = 0; j <= i; j++) {
            double l = L[i * d + j];
            if (l == 0)
                continue;
            for (size_t p = 0; p < n; p++)
                out[p] += l * w->tmp[j][p];
        }
    }
}

static void lg_logtrans(size_t d, const double *A, const double *L, double logdet,
                        const double *Xprev, size_t pstride, const double *Xnew, size_t nstride,
                        size_t n, double *out, st_pf_work *w)
{
    for (size_t i = 0; i < d; i++) {
        double *res = w->tmp[i];
        const double *xn = Xnew + i * nstride;
        for (size_t p = 0; p < n; p++)
            res[p] = xn[p];
        for (size_t j = 0; j < d; j++) {
            double a = A[i * d + j];
            if (a == 0)
                continue;
            const double *xp = Xprev + j * pstride;
            for (size_t p = 0; p < n; p++)
                res[p] -= a * xp[p];
        }
        for (size_t j = 0; j < i; j++) {
            double l = L[i * d + j];
            for (size_t p = 0; p < n; p++)
                res[p] -= l * w->tmp[j][p];
        }
        double il = 1 / L[i * d + i];
        for (size_t p = 0; p < n; p++)
            res[p] *= il;
    }
    double c0 = -0.5 * logdet - (double)d * ST_LOG_SQRT_2PI;
    for (size_t p = 0; p < n; p++)
        out[p] = c0;
    for (size_t i = 0; i < d; i++)
        for (size_t p = 0; p < n; p++)
            out[p] -= 0.5 * w->tmp[i][p] * w->tmp[i][p];
}

int st_pf_model_init(const st_pf_model *m, const st_pf_step *s, double *X, size_t stride, size_t n,
                     st_rng *r, st_pf_work *w, st_err *e)
{
    switch (m->kind) {
    case ST_PF_YAML:
        return comp_sample(m, &m->init, s, X, stride, X, stride, n, r, w, e);
    case ST_PF_LINEAR_GAUSSIAN:
    case ST_PF_BEARINGS:
        lg_sample(m->dx, NULL, m->L0, m->m0, NULL, 0, X, stride, n, r, w);
        return 0;
    case ST_PF_STOCHVOL: {
        double sd = m->sigma / sqrt(1 - m->phi * m->phi);
        for (size_t p = 0; p < n; p++)
            X[p] = m->mu + sd * st_rng_normal(r);
        return 0;
    }
    case ST_PF_GROWTH: {
        double sd = sqrt(m->var0);
        for (size_t p = 0; p < n; p++)
            X[p] = sd * st_rng_normal(r);
        return 0;
    }
    }
    return 0;
}

static inline double growth_mean(double x, double t)
{
    return 0.5 * x + 25 * x / (1 + x * x) + 8 * cos(1.2 * t);
}

int st_pf_model_transition(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                           size_t pstride, double *Xnew, size_t nstride, size_t n, st_rng *r,
                           st_pf_work *w, st_err *e)
{
    switch (m->kind) {
    case ST_PF_YAML:
        return comp_sample(m, &m->trans, s, Xprev, pstride, Xnew, nstride, n, r, w, e);
    case ST_PF_LINEAR_GAUSSIAN:
    case ST_PF_BEARINGS:
        lg_sample(m->dx, m->A, m->Lq, NULL, Xprev, pstride, Xnew, nstride, n, r, w);
        return 0;
    case ST_PF_STOCHVOL: {
        double c = m->mu * (1 - m->phi);
        for (size_t p = 0; p < n; p++)
            Xnew[p] = c + m->phi * Xprev[p] + m->sigma * st_rng_normal(r);
        return 0;
    }
    case ST_PF_GROWTH: {
        double sd = sqrt(m->var_v), c = 8 * cos(1.2 * s->t);
        for (size_t p = 0; p < n; p++) {
            double x = Xprev[p];
            Xnew[p] = 0.5 * x + 25 * x / (1 + x * x) + c + sd * st_rng_normal(r);
        }
        return 0;
    }
    }
    return 0;
}

int st_pf_model_logtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                         size_t pstride, const double *Xnew, size_t nstride, size_t n, double *out,
                         st_pf_work *w, st_err *e)
{
    switch (m->kind) {
    case ST_PF_YAML:
        for (size_t p = 0; p < n; p++)
            out[p] = 0;
        return comp_logpdf(m, &m->trans, s, Xprev, pstride, Xnew, nstride, NULL, n, out, w, e);
    case ST_PF_LINEAR_GAUSSIAN:
    case ST_PF_BEARINGS:
        lg_logtrans(m->dx, m->A, m->Lq, m->logdetq, Xprev, pstride, Xnew, nstride, n, out, w);
        return 0;
    case ST_PF_STOCHVOL: {
        double c = m->mu * (1 - m->phi), is = 1 / m->sigma,
               c0 = -log(m->sigma) - ST_LOG_SQRT_2PI;
        for (size_t p = 0; p < n; p++) {
            double z = (Xnew[p] - c - m->phi * Xprev[p]) * is;
            out[p] = c0 - 0.5 * z * z;
        }
        return 0;
    }
    case ST_PF_GROWTH: {
        double is = 1 / sqrt(m->var_v), c0 = -0.5 * log(m->var_v) - ST_LOG_SQRT_2PI;
        for (size_t p = 0; p < n; p++) {
            double z = (Xnew[p] - growth_mean(Xprev[p], s->t)) * is;
            out[p] = c0 - 0.5 * z * z;
        }
        return 0;
    }
    }
    return 0;
}

int st_pf_model_logobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride,
                       size_t n, double *lw, st_pf_work *w, st_err *e)
{
    switch (m->kind) {
    case ST_PF_YAML:
        return comp_logpdf(m, &m->obs, s, X, stride, NULL, 0, s->y, n, lw, w, e);
    case ST_PF_LINEAR_GAUSSIAN: {
        size_t dy = m->dy, dx = m->dx, idx[ST_PF_MAXDIM], k = 0;
        for (size_t i = 0; i < dy; i++)
            if (!isnan(s->y[i]))
                idx[k++] = i;
        if (k == 0)
            return 0;
        const double *L = m->Lr;
        double logdet = m->logdetr;
        if (k < dy) { /* the marginal of the observed components */
            for (size_t a = 0; a < k; a++)
                for (size_t b = 0; b < k; b++)
                    w->mat[a * k + b] = m->R[idx[a] * dy + idx[b]];
            st_err tmp;
            if (st_chol(w->mat, k, 0, NULL, &tmp) < 0)
                return st_err_set(e, ST_EINTERNAL, m->file, 0, 0, "R sub-matrix not positive definite");
            L = w->mat;
            logdet = st_chol_logdet(L, k);
        }
        for (size_t a = 0; a < k; a++) {
            size_t i = idx[a];
            double *res = w->tmp[a];
            for (size_t p = 0; p < n; p++)
                res[p] = s->y[i];
            for (size_t j = 0; j < dx; j++) {
                double c = m->C[i * dx + j];
                if (c == 0)
                    continue;
                const double *xp = X + j * stride;
                for (size_t p = 0; p < n; p++)
                    res[p] -= c * xp[p];
            }
            for (size_t b = 0; b < a; b++) {
                double l = L[a * k + b];
                for (size_t p = 0; p < n; p++)
                    res[p] -= l * w->tmp[b][p];
            }
            double il = 1 / L[a * k + a];
            for (size_t p = 0; p < n; p++)
                res[p] *= il;
        }
        double c0 = -0.5 * logdet - (double)k * ST_LOG_SQRT_2PI;
        for (size_t a = 0; a < k; a++)
            for (size_t p = 0; p < n; p++)
                lw[p] -= 0.5 * w->tmp[a][p] * w->tmp[a][p];
        for (size_t p = 0; p < n; p++)
            lw[p] += c0;
        return 0;
    }
    case ST_PF_STOCHVOL: {
        double y = s->y[0];
        if (isnan(y))
            return 0;
        double y2 = 0.5 * y * y;
        for (size_t p = 0; p < n; p++)
            lw[p] += -y2 * exp(-X[p]) - 0.5 * X[p] - ST_LOG_SQRT_2PI;
        return 0;
    }
    case ST_PF_GROWTH: {
        double y = s->y[0];
        if (isnan(y))
            return 0;
        double is = 1 / sqrt(m->var_w), c0 = -0.5 * log(m->var_w) - ST_LOG_SQRT_2PI;
        for (size_t p = 0; p < n; p++) {
            double z = (y - X[p] * X[p] / 20) * is;
            lw[p] += c0 - 0.5 * z * z;
        }
        return 0;
    }
    case ST_PF_BEARINGS: {
        double y = s->y[0];
        if (isnan(y))
            return 0;
        double is = 1 / m->br, c0 = -log(m->br) - ST_LOG_SQRT_2PI;
        const double *px = X, *py = X + 2 * stride;
        for (size_t p = 0; p < n; p++) {
            double z = remainder(y - atan2(py[p], px[p]), 2 * M_PI) * is;
            lw[p] += c0 - 0.5 * z * z;
        }
        return 0;
    }
    }
    return 0;
}

int st_pf_model_trans_bound(const st_pf_model *m, const st_pf_step *s, double *logbound)
{
    switch (m->kind) {
    case ST_PF_LINEAR_GAUSSIAN:
    case ST_PF_BEARINGS:
        *logbound = -0.5 * m->logdetq - (double)m->dx * ST_LOG_SQRT_2PI;
        return 1;
    case ST_PF_STOCHVOL:
        *logbound = -log(m->sigma) - ST_LOG_SQRT_2PI;
        return 1;
    case ST_PF_GROWTH:
        *logbound = -0.5 * log(m->var_v) - ST_LOG_SQRT_2PI;
        return 1;
    case ST_PF_YAML:
        break;
    }
    double b = 0;
    for (size_t k = 0; k < m->trans.nd; k++) {
        const pdist *d = &m->trans.d[k];
        switch (d->kind) {
        case D_NORMAL:
        case D_STUDENT: {
            const parg *sc = &d->a[d->kind == D_NORMAL ? 1 : 2];
            if (st_expr_varies(sc->x) || (d->kind == D_STUDENT && st_expr_varies(d->a[0].x)))
                return 0;
            double scale = st_expr_eval1(sc->x, s->t, s->cov);
            if (!(scale > 0) || !isfinite(scale))
                return 0;
            if (d->kind == D_NORMAL)
                b += -log(scale) - ST_LOG_SQRT_2PI;
            else
                b += st_student_lconst(st_expr_eval1(d->a[0].x, s->t, s->cov)) - log(scale);
            break;
        }
        case D_MVNORMAL: {
            size_t nc = d->full ? d->dim * d->dim : d->dim;
            double M[ST_PF_MAXDIM * ST_PF_MAXDIM];
            if (d->dim * d->dim > sizeof M / sizeof M[0])
                return 0;
            for (size_t i = 0; i < nc; i++)
                if (st_expr_varies(d->cov[i].x))
                    return 0;
            if (d->full) {
                for (size_t i = 0; i < nc; i++)
                    M[i] = st_expr_eval1(d->cov[i].x, s->t, s->cov);
                st_err tmp;
                if (st_chol(M, d->dim, 0, NULL, &tmp) < 0)
                    return 0;
                b += -0.5 * st_chol_logdet(M, d->dim) - (double)d->dim * ST_LOG_SQRT_2PI;
            } else {
                for (size_t i = 0; i < nc; i++) {
                    double v = st_expr_eval1(d->cov[i].x, s->t, s->cov);
                    if (!(v > 0))
                        return 0;
                    b += -0.5 * log(v) - ST_LOG_SQRT_2PI;
                }
            }
            break;
        }
        case D_POISSON:
        case D_BINOMIAL:
        case D_NEGBIN:
            break; /* a mass function is at most 1 */
        default:
            return 0;
        }
    }
    *logbound = b;
    return 1;
}

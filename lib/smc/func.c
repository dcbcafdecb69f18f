/* Sets of additive functionals: expressions, the built-in sums and the
 * score, evaluated over blocks of particle pairs. */
#include "config.h"

#include "smc/func.h"

#include <stdlib.h>
#include <string.h>

enum { FT_EXPR, FT_SUM_X, FT_SUM_X2, FT_SUM_XX1, FT_SCORE };

typedef struct fterm {
    int kind;
    char *name;
    const st_expr *x; /* FT_EXPR */
    st_expr *own;     /* compiled here (else the model's) */
    int uses_prev;
    size_t off, n;    /* outputs off .. off + n - 1 */
} fterm;

struct st_pf_funcs {
    const st_pf_model *m;
    fterm *t;
    size_t nt, capt;
    size_t nout;
    int uses_prev, score;
};

int st_pf_funcs_new(st_pf_funcs **f, const st_pf_model *m, st_err *e)
{
    *f = calloc(1, sizeof **f);
    if (!*f)
        return st_err_nomem(e, "functionals");
    (*f)->m = m;
    return 0;
}

void st_pf_funcs_free(st_pf_funcs *f)
{
    if (!f)
        return;
    for (size_t k = 0; k < f->nt; k++) {
        free(f->t[k].name);
        st_expr_free(f->t[k].own);
    }
    free(f->t);
    free(f);
}

static int add_term(st_pf_funcs *f, const char *name, int kind, size_t nout, fterm **out, st_err *e)
{
    for (size_t k = 0; k < f->nt; k++)
        if (strcmp(f->t[k].name, name) == 0)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "functional '%s' is given twice", name);
    if (f->nt == f->capt) {
        size_t cap = f->capt ? 2 * f->capt : 8;
        fterm *t = realloc(f->t, cap * sizeof *t);
        if (!t)
            return st_err_nomem(e, "functionals");
        f->t = t;
        f->capt = cap;
    }
    fterm *t = &f->t[f->nt];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name)))
        return st_err_nomem(e, "functionals");
    t->kind = kind;
    t->off = f->nout;
    t->n = nout;
    f->nt++;
    f->nout += nout;
    *out = t;
    return 0;
}

static void use_expr(st_pf_funcs *f, fterm *t, const st_expr *x)
{
    t->x = x;
    t->uses_prev = st_expr_uses_var(x, 0); /* x_prev is variable 0 of the environment */
    f->uses_prev |= t->uses_prev;
}

int st_pf_funcs_add_expr(st_pf_funcs *f, const char *name, const char *text, const st_expr_src *src, st_err *e)
{
    st_expr *x = NULL;
    int rc = st_pf_model_compile_functional(f->m, text, src, &x, e);
    if (rc < 0)
        return rc;
    fterm *t;
    if ((rc = add_term(f, name, FT_EXPR, 1, &t, e)) < 0) {
        st_expr_free(x);
        return rc;
    }
    t->own = x;
    use_expr(f, t, x);
    return 0;
}

int st_pf_funcs_add_builtin(st_pf_funcs *f, const char *name, st_err *e)
{
    static const char *const names[] = {"sum_x", "sum_x2", "sum_xx1"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) {
            fterm *t;
            int rc = add_term(f, name, FT_SUM_X + i, st_pf_model_dx(f->m), &t, e);
            if (rc < 0)
                return rc;
            t->uses_prev = i == 2;
            f->uses_prev |= t->uses_prev;
            return 0;
        }
    return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "no built-in functional '%s' (sum_x, sum_x2, sum_xx1; or write NAME=EXPR)",
                      name);
}

int st_pf_funcs_add_model(st_pf_funcs *f, st_err *e)
{
    for (size_t k = 0; k < st_pf_model_nfunctionals(f->m); k++) {
        fterm *t;
        int rc = add_term(f, st_pf_model_functional_name(f->m, k), FT_EXPR, 1, &t, e);
        if (rc < 0)
            return rc;
        use_expr(f, t, st_pf_model_functional(f->m, k));
    }
    return 0;
}

int st_pf_funcs_add_score(st_pf_funcs *f, st_err *e)
{
    if (st_pf_model_npar(f->m) == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the model has no parameters: no score");
    fterm *t;
    int rc = add_term(f, "score", FT_SCORE, st_pf_model_npar(f->m), &t, e);
    if (rc < 0)
        return rc;
    t->uses_prev = 1;
    f->uses_prev = f->score = 1;
    return 0;
}

size_t st_pf_funcs_count(const st_pf_funcs *f) { return f->nout; }
int st_pf_funcs_uses_prev(const st_pf_funcs *f) { return f->uses_prev; }
int st_pf_funcs_has_score(const st_pf_funcs *f) { return f->score; }

static const fterm *term_of(const st_pf_funcs *f, size_t k)
{
    for (size_t i = 0; i < f->nt; i++)
        if (k >= f->t[i].off && k < f->t[i].off + f->t[i].n)
            return &f->t[i];
    return NULL;
}

const char *st_pf_funcs_name(const st_pf_funcs *f, size_t k)
{
    return term_of(f, k)->name;
}

const char *st_pf_funcs_component(const st_pf_funcs *f, size_t k)
{
    const fterm *t = term_of(f, k);
    switch (t->kind) {
    case FT_EXPR: return "";
    case FT_SCORE: return st_pf_model_parname(f->m, k - t->off);
    default: return st_pf_model_xname(f->m, k - t->off);
    }
}

int st_pf_funcs_eval(const st_pf_funcs *f, const st_pf_step *s, const double *Xp, size_t ps, const double *X,
                     size_t xs, size_t n, double *out, st_pf_work *w, st_pf_gwork *gw, st_err *e)
{
    const st_pf_model *m = f->m;
    st_expr_in in[ST_PF_NFSLOTS] = {{Xp, ps}, {X, xs}, {s->y, 0}, {&s->t, 0}, {s->cov, 0}};
    st_expr_args args = {in, st_pf_model_parvalues(m), NULL};
    for (size_t i = 0; i < f->nt; i++) {
        const fterm *t = &f->t[i];
        double *o = out + t->off * ST_PF_BLOCK;
        if (t->uses_prev && !Xp && t->kind != FT_SCORE) {
            for (size_t c = 0; c < t->n; c++)
                memset(o + c * ST_PF_BLOCK, 0, n * sizeof *o);
            continue;
        }
        switch (t->kind) {
        case FT_EXPR:
            if (st_expr_eval(t->x, &args, n, o, &w->ew))
                for (size_t p = 1; p < n; p++)
                    o[p] = o[0];
            break;
        case FT_SUM_X:
        case FT_SUM_X2:
        case FT_SUM_XX1:
            for (size_t c = 0; c < t->n; c++) {
                double *oc = o + c * ST_PF_BLOCK;
                const double *x = X + c * xs, *xp = Xp ? Xp + c * ps : NULL;
                for (size_t p = 0; p < n; p++)
                    oc[p] = t->kind == FT_SUM_X ? x[p] : t->kind == FT_SUM_X2 ? x[p] * x[p] : xp[p] * x[p];
            }
            break;
        default: { /* the score */
            int rc;
            for (size_t c = 0; c < t->n; c++)
                memset(o + c * ST_PF_BLOCK, 0, n * sizeof *o);
            if (Xp)
                rc = st_pf_model_dtrans(m, s, Xp, ps, X, xs, n, o, w, gw, e);
            else
                rc = st_pf_model_dinit(m, s, X, xs, n, o, w, gw, e);
            if (rc == 0)
                rc = st_pf_model_dobs(m, s, X, xs, n, o, w, gw, e);
            if (rc < 0)
                return rc;
            break;
        }
        }
    }
    return 0;
}

/* Rate formulas: a small recursive-descent parser into a node array and a
 * forward-mode evaluator (value and gradient over the parameters). */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mjp/mjp.h"

enum { N_NUM, N_PAR, N_NEG, N_ADD, N_SUB, N_MUL, N_DIV, N_POW, N_EXP, N_LOG, N_SQRT };

typedef struct node {
    int op;
    int a, b;     /* child node indices */
    double v;     /* number */
    int p;        /* parameter index */
} node;

struct st_mjp_expr {
    node *n;
    int nn, cap, root;
    size_t np;
    char *text;
    int constant;
};

typedef struct parser {
    const char *s, *p;
    const char *const *names;
    size_t nnames;
    st_mjp_expr *x;
    st_err *e;
    int depth;
} parser;

static int perr(parser *ps, const char *what)
{
    return st_err_set(ps->e, ST_EDATA, NULL, 0, 0, "rate formula '%s': %s at character %d", ps->s,
                      what, (int)(ps->p - ps->s) + 1);
}

static int add(parser *ps, int op, int a, int b, double v, int p)
{
    st_mjp_expr *x = ps->x;
    if (x->nn == x->cap) {
        int nc = x->cap ? 2 * x->cap : 16;
        node *nn = realloc(x->n, (size_t)nc * sizeof *nn);
        if (!nn)
            return st_err_nomem(ps->e, "rate formula");
        x->n = nn;
        x->cap = nc;
    }
    x->n[x->nn] = (node){op, a, b, v, p};
    return x->nn++;
}

static void skip(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static int expr(parser *ps);
static int unary(parser *ps);

static int primary(parser *ps)
{
    skip(ps);
    const char *c = ps->p;
    if (*c == '(') {
        ps->p++;
        int r = expr(ps);
        if (r < 0)
            return r;
        skip(ps);
        if (*ps->p != ')')
            return perr(ps, "expected ')'");
        ps->p++;
        return r;
    }
    if (isdigit((unsigned char)*c) || *c == '.') {
        char *end;
        double v = strtod(c, &end);
        if (end == c || !isfinite(v))
            return perr(ps, "bad number");
        ps->p = end;
        return add(ps, N_NUM, -1, -1, v, -1);
    }
    if (isalpha((unsigned char)*c) || *c == '_') {
        const char *q = c;
        while (isalnum((unsigned char)*q) || *q == '_')
            q++;
        size_t len = (size_t)(q - c);
        ps->p = q;
        skip(ps);
        if (*ps->p == '(') {
            int op = -1;
            if (len == 3 && strncmp(c, "exp", 3) == 0)
                op = N_EXP;
            else if (len == 3 && strncmp(c, "log", 3) == 0)
                op = N_LOG;
            else if (len == 4 && strncmp(c, "sqrt", 4) == 0)
                op = N_SQRT;
            if (op < 0) {
                ps->p = c;
                return perr(ps, "unknown function (exp, log, sqrt)");
            }
            ps->p++;
            int a = expr(ps);
            if (a < 0)
                return a;
            skip(ps);
            if (*ps->p != ')')
                return perr(ps, "expected ')'");
            ps->p++;
            return add(ps, op, a, -1, 0, -1);
        }
        for (size_t i = 0; i < ps->nnames; i++)
            if (strlen(ps->names[i]) == len && strncmp(ps->names[i], c, len) == 0)
                return add(ps, N_PAR, -1, -1, 0, (int)i);
        ps->p = c;
        return perr(ps, "unknown parameter");
    }
    return perr(ps, *c ? "unexpected character" : "unexpected end");
}

static int power(parser *ps)
{
    int a = primary(ps);
    if (a < 0)
        return a;
    skip(ps);
    if (*ps->p == '^') {
        ps->p++;
        int b = unary(ps);
        if (b < 0)
            return b;
        return add(ps, N_POW, a, b, 0, -1);
    }
    return a;
}

static int unary(parser *ps)
{
    skip(ps);
    if (++ps->depth > 200)
        return perr(ps, "nested too deeply");
    int r;
    if (*ps->p == '-') {
        ps->p++;
        int a = unary(ps);
        r = a < 0 ? a : add(ps, N_NEG, a, -1, 0, -1);
    } else if (*ps->p == '+') {
        ps->p++;
        r = unary(ps);
    } else {
        r = power(ps);
    }
    ps->depth--;
    return r;
}

static int term(parser *ps)
{
    int a = unary(ps);
    while (a >= 0) {
        skip(ps);
        char c = *ps->p;
        if (c != '*' && c != '/')
            break;
        ps->p++;
        int b = unary(ps);
        if (b < 0)
            return b;
        a = add(ps, c == '*' ? N_MUL : N_DIV, a, b, 0, -1);
    }
    return a;
}

static int expr(parser *ps)
{
    if (++ps->depth > 200)
        return perr(ps, "nested too deeply");
    int a = term(ps);
    while (a >= 0) {
        skip(ps);
        char c = *ps->p;
        if (c != '+' && c != '-')
            break;
        ps->p++;
        int b = term(ps);
        if (b < 0)
            return b;
        a = add(ps, c == '+' ? N_ADD : N_SUB, a, b, 0, -1);
    }
    ps->depth--;
    return a;
}

int st_mjp_expr_parse(st_mjp_expr **out, const char *text, const char *const *names, size_t nnames,
                      st_err *e)
{
    *out = NULL;
    if (nnames > ST_MJP_MAX_PARAMS)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "at most %d parameters", ST_MJP_MAX_PARAMS);
    st_mjp_expr *x = calloc(1, sizeof *x);
    if (!x || !(x->text = strdup(text))) {
        free(x);
        return st_err_nomem(e, "rate formula");
    }
    x->np = nnames;
    parser ps = {text, text, names, nnames, x, e, 0};
    int r = expr(&ps);
    if (r >= 0) {
        skip(&ps);
        if (*ps.p)
            r = perr(&ps, "unexpected text");
    }
    if (r < 0) {
        st_mjp_expr_free(x);
        return r;
    }
    x->root = r;
    x->constant = 1;
    for (int i = 0; i < x->nn; i++)
        if (x->n[i].op == N_PAR)
            x->constant = 0;
    *out = x;
    return 0;
}

/* Evaluate node i: value returned, gradient into g (np entries) if g. */
static double ev(const st_mjp_expr *x, int i, const double *par, double *g, double *scratch)
{
    const node *n = &x->n[i];
    size_t np = x->np;
    double a, b, v;
    double *gb = g ? scratch : NULL, *rest = scratch + np;
    switch (n->op) {
    case N_NUM:
        if (g)
            memset(g, 0, np * sizeof *g);
        return n->v;
    case N_PAR:
        if (g) {
            memset(g, 0, np * sizeof *g);
            g[n->p] = 1;
        }
        return par[n->p];
    case N_NEG:
        a = ev(x, n->a, par, g, scratch);
        if (g)
            for (size_t k = 0; k < np; k++)
                g[k] = -g[k];
        return -a;
    case N_EXP:
    case N_LOG:
    case N_SQRT:
        a = ev(x, n->a, par, g, scratch);
        v = n->op == N_EXP ? exp(a) : n->op == N_LOG ? log(a) : sqrt(a);
        if (g) {
            double d = n->op == N_EXP ? v : n->op == N_LOG ? 1 / a : 0.5 / v;
            for (size_t k = 0; k < np; k++)
                g[k] *= d;
        }
        return v;
    default:
        break;
    }
    a = ev(x, n->a, par, g, rest);
    b = ev(x, n->b, par, gb, rest);
    switch (n->op) {
    case N_ADD:
        v = a + b;
        if (g)
            for (size_t k = 0; k < np; k++)
                g[k] += gb[k];
        return v;
    case N_SUB:
        if (g)
            for (size_t k = 0; k < np; k++)
                g[k] -= gb[k];
        return a - b;
    case N_MUL:
        if (g)
            for (size_t k = 0; k < np; k++)
                g[k] = g[k] * b + a * gb[k];
        return a * b;
    case N_DIV:
        if (g)
            for (size_t k = 0; k < np; k++)
                g[k] = (g[k] * b - a * gb[k]) / (b * b);
        return a / b;
    case N_POW:
        v = pow(a, b);
        if (g)
            for (size_t k = 0; k < np; k++) {
                double da = b * pow(a, b - 1) * g[k];
                double db = gb[k] != 0 ? v * log(a) * gb[k] : 0;
                g[k] = da + db;
            }
        return v;
    }
    return NAN;
}

double st_mjp_expr_eval(const st_mjp_expr *x, const double *par, double *grad)
{
    /* scratch: one gradient per nesting level of binary nodes (<= nn) */
    double stack[ST_MJP_MAX_PARAMS * 64];
    double *scratch = stack, *heap = NULL;
    size_t need = (size_t)(x->nn + 1) * (x->np + 1);
    if (need > sizeof stack / sizeof *stack) {
        heap = malloc(need * sizeof *heap);
        if (!heap)
            return NAN;
        scratch = heap;
    }
    double v = ev(x, x->root, par, grad, scratch);
    free(heap);
    return v;
}

int st_mjp_expr_constant(const st_mjp_expr *x)
{
    return x->constant;
}

const char *st_mjp_expr_text(const st_mjp_expr *x)
{
    return x->text;
}

void st_mjp_expr_free(st_mjp_expr *x)
{
    if (!x)
        return;
    free(x->n);
    free(x->text);
    free(x);
}

/* Model expressions: tokenizer, recursive-descent parser building a small
 * tree, constant folding, and a postfix bytecode evaluated over blocks. */
#include "config.h"

#include "smc/expr.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ opcodes */

enum {
    OP_CONST, OP_X, OP_T, OP_COV,
    OP_NEG, OP_NOT,
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW,
    OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE, OP_AND, OP_OR,
    OP_SELECT,
    OP_F1, OP_F2
};

enum { F_EXP, F_LOG, F_LOG1P, F_EXPM1, F_SQRT, F_SIN, F_COS, F_TAN, F_ABS,
       F_LOGISTIC, F_FLOOR, F_ATAN2, F_MIN, F_MAX, F_POW, F_IF };

static const struct {
    const char *name;
    int fn, nargs;
} functions[] = {
    {"exp", F_EXP, 1},     {"log", F_LOG, 1},     {"log1p", F_LOG1P, 1},
    {"expm1", F_EXPM1, 1}, {"sqrt", F_SQRT, 1},   {"sin", F_SIN, 1},
    {"cos", F_COS, 1},     {"tan", F_TAN, 1},     {"abs", F_ABS, 1},
    {"logistic", F_LOGISTIC, 1}, {"floor", F_FLOOR, 1},
    {"atan2", F_ATAN2, 2}, {"min", F_MIN, 2},     {"max", F_MAX, 2},
    {"pow", F_POW, 2},     {"if", F_IF, 3},
};

typedef struct instr {
    uint8_t op;
    uint8_t fn;
    int32_t arg; /* OP_X component, OP_COV column, OP_CONST pool index */
} instr;

struct st_expr {
    char *text;
    instr *code;
    size_t ncode;
    double *pool;
    size_t npool;
    int varies;
    int maxdepth;
};

/* ------------------------------------------------------------ tree */

enum { N_CONST, N_X, N_T, N_COV, N_UNARY, N_BINARY, N_SELECT, N_CALL };

typedef struct node {
    int kind, op, fn, nargs;
    double value;
    int index;
    int a, b, c; /* children (node indices), -1 if none */
} node;

typedef struct parser {
    const char *text;
    size_t pos;    /* current offset */
    size_t tokpos; /* offset of the current token */
    const st_expr_env *env;
    const st_expr_src *src;
    st_err *e;
    node *nodes;
    size_t nnodes, cap;
    int depth;
} parser;

static int perr(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int perr(parser *p, size_t at, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const st_expr_src *s = p->src;
    long line = s ? s->line : 0, col = s && s->col > 0 ? s->col + (long)at : 0;
    /* A multi-line scalar: count lines inside the text. */
    if (s && s->line > 0) {
        for (size_t i = 0; i < at && p->text[i]; i++)
            if (p->text[i] == '\n') {
                line++;
                col = (long)(at - i);
            }
    }
    return st_err_set(p->e, ST_EDATA, s ? s->file : NULL, line, col, "expression '%s': %s",
                      p->text, msg);
}

static int new_node(parser *p, int kind)
{
    if (p->nnodes == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 32;
        node *n = realloc(p->nodes, cap * sizeof *n);
        if (!n)
            return st_err_nomem(p->e, "expression tree");
        p->nodes = n;
        p->cap = cap;
    }
    node *n = &p->nodes[p->nnodes];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->a = n->b = n->c = -1;
    return (int)p->nnodes++;
}

static void skip_space(parser *p)
{
    while (p->text[p->pos] && isspace((unsigned char)p->text[p->pos]))
        p->pos++;
    p->tokpos = p->pos;
}

/* Match an operator token at the current position. */
static int accept(parser *p, const char *tok)
{
    skip_space(p);
    size_t k = strlen(tok);
    if (strncmp(p->text + p->pos, tok, k) != 0)
        return 0;
    /* Do not take '<' from '<=', '*' from '**', '=' alone, '!' from '!='. */
    char next = p->text[p->pos + k];
    if (k == 1 && strchr("<>!=", tok[0]) && next == '=')
        return 0;
    if (k == 1 && tok[0] == '*' && next == '*')
        return 0;
    p->pos += k;
    return 1;
}

static int parse_ternary(parser *p);

static int describe_here(parser *p, const char *want)
{
    skip_space(p);
    char c = p->text[p->pos];
    if (!c)
        return perr(p, p->pos, "unexpected end of expression, expected %s", want);
    return perr(p, p->pos, "unexpected '%c', expected %s", c, want);
}

static int lookup_function(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
        if (strlen(functions[i].name) == len && strncmp(functions[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static int lookup_name(const char *const *names, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == len && strncmp(names[i], name, len) == 0)
            return (int)i;
    return -1;
}

static int parse_primary(parser *p)
{
    skip_space(p);
    const char *s = p->text + p->pos;
    size_t start = p->pos;
    if (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]))) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v))
            return perr(p, start, "bad number");
        if (isalpha((unsigned char)*end) || *end == '_')
            return perr(p, (size_t)(end - p->text), "unexpected '%c' after a number", *end);
        p->pos += (size_t)(end - s);
        int k = new_node(p, N_CONST);
        if (k < 0)
            return k;
        p->nodes[k].value = v;
        return k;
    }
    if (isalpha((unsigned char)*s) || *s == '_') {
        size_t len = 0;
        while (isalnum((unsigned char)s[len]) || s[len] == '_')
            len++;
        p->pos += len;
        skip_space(p);
        if (p->text[p->pos] == '(') {
            int f = lookup_function(s, len);
            if (f < 0)
                return perr(p, start, "unknown function '%.*s'", (int)len, s);
            p->pos++;
            int args[3] = {-1, -1, -1}, nargs = 0;
            skip_space(p);
            if (p->text[p->pos] != ')') {
                for (;;) {
                    if (nargs == 3)
                        return perr(p, p->pos, "too many arguments to '%s'", functions[f].name);
                    int a = parse_ternary(p);
                    if (a < 0)
                        return a;
                    args[nargs++] = a;
                    if (accept(p, ","))
                        continue;
                    if (accept(p, ")"))
                        break;
                    return describe_here(p, "',' or ')'");
                }
            } else {
                p->pos++;
            }
            if (nargs != functions[f].nargs)
                return perr(p, start, "'%s' takes %d argument%s, not %d", functions[f].name,
                            functions[f].nargs, functions[f].nargs == 1 ? "" : "s", nargs);
            int k;
            if (functions[f].fn == F_IF) {
                k = new_node(p, N_SELECT);
            } else {
                k = new_node(p, N_CALL);
            }
            if (k < 0)
                return k;
            node *n = &p->nodes[k];
            n->fn = functions[f].fn;
            n->nargs = nargs;
            n->a = args[0];
            n->b = args[1];
            n->c = args[2];
            return k;
        }
        if (len == 1 && *s == 'x') {
            const st_expr_env *env = p->env;
            if (env->nx == 0)
                return perr(p, start, "x is not available here%s%s", env->xwhat ? ": " : "",
                            env->xwhat ? env->xwhat : "");
            long idx = 0;
            if (p->text[p->pos] == '[') {
                p->pos++;
                skip_space(p);
                size_t ipos = p->pos;
                const char *q = p->text + p->pos;
                if (!isdigit((unsigned char)*q))
                    return perr(p, ipos, "x[...] needs a literal index (0 to %zu)", env->nx - 1);
                char *end;
                idx = strtol(q, &end, 10);
                p->pos += (size_t)(end - q);
                if (!accept(p, "]"))
                    return describe_here(p, "']'");
                if (idx < 0 || (size_t)idx >= env->nx)
                    return perr(p, ipos, "x[%ld] is out of range: the state has %zu component%s (x[0]..x[%zu])",
                                idx, env->nx, env->nx == 1 ? "" : "s", env->nx - 1);
            } else if (env->nx > 1) {
                return perr(p, start, "the state has %zu components: write x[0]..x[%zu]", env->nx,
                            env->nx - 1);
            }
            int k = new_node(p, N_X);
            if (k < 0)
                return k;
            p->nodes[k].index = (int)idx;
            return k;
        }
        int j;
        if ((j = lookup_name(p->env->par_names, p->env->npar, s, len)) >= 0) {
            int k = new_node(p, N_CONST);
            if (k < 0)
                return k;
            p->nodes[k].value = p->env->par_values[j];
            return k;
        }
        if ((j = lookup_name(p->env->cov_names, p->env->ncov, s, len)) >= 0) {
            int k = new_node(p, N_COV);
            if (k < 0)
                return k;
            p->nodes[k].index = j;
            return k;
        }
        if (len == 1 && *s == 't') {
            if (!p->env->allow_t)
                return perr(p, start, "t is not available here");
            return new_node(p, N_T);
        }
        if (len == 2 && strncmp(s, "pi", 2) == 0) {
            int k = new_node(p, N_CONST);
            if (k < 0)
                return k;
            p->nodes[k].value = M_PI;
            return k;
        }
        if (lookup_function(s, len) >= 0)
            return perr(p, start, "function '%.*s' needs arguments in parentheses", (int)len, s);
        return perr(p, start, "unknown variable '%.*s'", (int)len, s);
    }
    if (*s == '(') {
        p->pos++;
        int k = parse_ternary(p);
        if (k < 0)
            return k;
        if (!accept(p, ")"))
            return describe_here(p, "')'");
        return k;
    }
    return describe_here(p, "a number, a name or '('");
}

static int make_binary(parser *p, int op, int a, int b)
{
    int k = new_node(p, N_BINARY);
    if (k < 0)
        return k;
    p->nodes[k].op = op;
    p->nodes[k].a = a;
    p->nodes[k].b = b;
    return k;
}

static int parse_unary(parser *p);

static int parse_power(parser *p)
{
    int a = parse_primary(p);
    if (a < 0)
        return a;
    if (accept(p, "^") || accept(p, "**")) {
        int b = parse_unary(p); /* right associative, allows 2^-1 */
        if (b < 0)
            return b;
        return make_binary(p, OP_POW, a, b);
    }
    return a;
}

static int parse_unary(parser *p)
{
    if (++p->depth > 200)
        return perr(p, p->pos, "expression nested too deeply");
    int r;
    int op = -1;
    if (accept(p, "-"))
        op = OP_NEG;
    else if (accept(p, "+"))
        op = -2;
    else if (accept(p, "!"))
        op = OP_NOT;
    if (op == -1) {
        r = parse_power(p);
    } else {
        int a = parse_unary(p);
        if (a < 0 || op == -2) {
            r = a;
        } else {
            r = new_node(p, N_UNARY);
            if (r >= 0) {
                p->nodes[r].op = op;
                p->nodes[r].a = a;
            }
        }
    }
    p->depth--;
    return r;
}

static int parse_mul(parser *p)
{
    int a = parse_unary(p);
    while (a >= 0) {
        int op;
        if (accept(p, "*"))
            op = OP_MUL;
        else if (accept(p, "/"))
            op = OP_DIV;
        else
            break;
        int b = parse_unary(p);
        if (b < 0)
            return b;
        a = make_binary(p, op, a, b);
    }
    return a;
}

static int parse_add(parser *p)
{
    int a = parse_mul(p);
    while (a >= 0) {
        int op;
        if (accept(p, "+"))
            op = OP_ADD;
        else if (accept(p, "-"))
            op = OP_SUB;
        else
            break;
        int b = parse_mul(p);
        if (b < 0)
            return b;
        a = make_binary(p, op, a, b);
    }
    return a;
}

static int parse_cmp(parser *p)
{
    int a = parse_add(p);
    while (a >= 0) {
        int op;
        if (accept(p, "<="))
            op = OP_LE;
        else if (accept(p, ">="))
            op = OP_GE;
        else if (accept(p, "=="))
            op = OP_EQ;
        else if (accept(p, "!="))
            op = OP_NE;
        else if (accept(p, "<"))
            op = OP_LT;
        else if (accept(p, ">"))
            op = OP_GT;
        else
            break;
        int b = parse_add(p);
        if (b < 0)
            return b;
        a = make_binary(p, op, a, b);
    }
    return a;
}

static int parse_and(parser *p)
{
    int a = parse_cmp(p);
    while (a >= 0 && accept(p, "&&")) {
        int b = parse_cmp(p);
        if (b < 0)
            return b;
        a = make_binary(p, OP_AND, a, b);
    }
    return a;
}

static int parse_or(parser *p)
{
    int a = parse_and(p);
    while (a >= 0 && accept(p, "||")) {
        int b = parse_and(p);
        if (b < 0)
            return b;
        a = make_binary(p, OP_OR, a, b);
    }
    return a;
}

static int parse_ternary(parser *p)
{
    if (++p->depth > 200)
        return perr(p, p->pos, "expression nested too deeply");
    int c = parse_or(p);
    if (c >= 0 && accept(p, "?")) {
        int a = parse_ternary(p);
        if (a < 0)
            return a;
        if (!accept(p, ":"))
            return describe_here(p, "':' of 'c ? a : b'");
        int b = parse_ternary(p);
        if (b < 0)
            return b;
        int k = new_node(p, N_SELECT);
        if (k < 0)
            return k;
        p->nodes[k].a = c;
        p->nodes[k].b = a;
        p->nodes[k].c = b;
        c = k;
    }
    p->depth--;
    return c;
}

/* ------------------------------------------------------------ scalar maths */

static inline double logistic(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double z = exp(x);
    return z / (1.0 + z);
}

static inline double apply1(int fn, double x)
{
    switch (fn) {
    case F_EXP: return exp(x);
    case F_LOG: return log(x);
    case F_LOG1P: return log1p(x);
    case F_EXPM1: return expm1(x);
    case F_SQRT: return sqrt(x);
    case F_SIN: return sin(x);
    case F_COS: return cos(x);
    case F_TAN: return tan(x);
    case F_ABS: return fabs(x);
    case F_LOGISTIC: return logistic(x);
    case F_FLOOR: return floor(x);
    default: return NAN;
    }
}

static inline double apply2(int op, double a, double b)
{
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_POW: return pow(a, b);
    case OP_LT: return a < b;
    case OP_LE: return a <= b;
    case OP_GT: return a > b;
    case OP_GE: return a >= b;
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    case OP_AND: return a != 0 && b != 0;
    case OP_OR: return a != 0 || b != 0;
    default: return NAN;
    }
}

static inline double apply_f2(int fn, double a, double b)
{
    switch (fn) {
    case F_ATAN2: return atan2(a, b);
    case F_MIN: return a < b ? a : b;
    case F_MAX: return a > b ? a : b;
    case F_POW: return pow(a, b);
    default: return NAN;
    }
}

/* ------------------------------------------------------------ folding */

static int is_const(const parser *p, int k)
{
    return k < 0 || p->nodes[k].kind == N_CONST;
}

static void fold(parser *p, int k)
{
    node *n = &p->nodes[k];
    if (n->a >= 0)
        fold(p, n->a);
    if (n->b >= 0)
        fold(p, n->b);
    if (n->c >= 0)
        fold(p, n->c);
    n = &p->nodes[k];
    if (n->kind == N_CONST || n->kind == N_X || n->kind == N_T || n->kind == N_COV)
        return;
    if (!is_const(p, n->a) || !is_const(p, n->b) || !is_const(p, n->c)) {
        /* A select with a constant condition picks its branch. */
        if (n->kind == N_SELECT && is_const(p, n->a)) {
            int pick = p->nodes[n->a].value != 0 ? n->b : n->c;
            *n = p->nodes[pick];
        }
        return;
    }
    double a = n->a >= 0 ? p->nodes[n->a].value : 0, b = n->b >= 0 ? p->nodes[n->b].value : 0,
           c = n->c >= 0 ? p->nodes[n->c].value : 0, v;
    switch (n->kind) {
    case N_UNARY: v = n->op == OP_NEG ? -a : (double)(a == 0); break;
    case N_BINARY: v = apply2(n->op, a, b); break;
    case N_SELECT: v = a != 0 ? b : c; break;
    default: v = n->nargs == 1 ? apply1(n->fn, a) : apply_f2(n->fn, a, b); break;
    }
    n->kind = N_CONST;
    n->value = v;
    n->a = n->b = n->c = -1;
}

/* ------------------------------------------------------------ emit */

typedef struct emitter {
    st_expr *x;
    size_t capcode, cappool;
    int depth;
    int varies;
    st_err *e;
} emitter;

static int emit(emitter *m, int op, int fn, int arg, int push)
{
    st_expr *x = m->x;
    if (x->ncode == m->capcode) {
        size_t cap = m->capcode ? 2 * m->capcode : 16;
        instr *c = realloc(x->code, cap * sizeof *c);
        if (!c)
            return st_err_nomem(m->e, "expression program");
        x->code = c;
        m->capcode = cap;
    }
    x->code[x->ncode++] = (instr){(uint8_t)op, (uint8_t)fn, arg};
    m->depth += push;
    if (m->depth > x->maxdepth)
        x->maxdepth = m->depth;
    return 0;
}

static int emit_tree(emitter *m, const parser *p, int k)
{
    const node *n = &p->nodes[k];
    int rc;
    switch (n->kind) {
    case N_CONST: {
        st_expr *x = m->x;
        if (x->npool == m->cappool) {
            size_t cap = m->cappool ? 2 * m->cappool : 8;
            double *pl = realloc(x->pool, cap * sizeof *pl);
            if (!pl)
                return st_err_nomem(m->e, "expression constants");
            x->pool = pl;
            m->cappool = cap;
        }
        x->pool[x->npool] = n->value;
        return emit(m, OP_CONST, 0, (int)x->npool++, 1);
    }
    case N_X:
        m->varies = 1;
        return emit(m, OP_X, 0, n->index, 1);
    case N_T:
        return emit(m, OP_T, 0, 0, 1);
    case N_COV:
        return emit(m, OP_COV, 0, n->index, 1);
    case N_UNARY:
        if ((rc = emit_tree(m, p, n->a)) < 0)
            return rc;
        return emit(m, n->op, 0, 0, 0);
    case N_BINARY:
        if ((rc = emit_tree(m, p, n->a)) < 0 || (rc = emit_tree(m, p, n->b)) < 0)
            return rc;
        return emit(m, n->op, 0, 0, -1);
    case N_SELECT:
        if ((rc = emit_tree(m, p, n->a)) < 0 || (rc = emit_tree(m, p, n->b)) < 0 ||
            (rc = emit_tree(m, p, n->c)) < 0)
            return rc;
        return emit(m, OP_SELECT, 0, 0, -2);
    default:
        if ((rc = emit_tree(m, p, n->a)) < 0)
            return rc;
        if (n->nargs == 1)
            return emit(m, OP_F1, n->fn, 0, 0);
        if ((rc = emit_tree(m, p, n->b)) < 0)
            return rc;
        return emit(m, OP_F2, n->fn, 0, -1);
    }
}

int st_expr_compile(st_expr **out, const char *text, const st_expr_env *env,
                    const st_expr_src *src, st_err *e)
{
    *out = NULL;
    parser p = {.text = text, .env = env, .src = src, .e = e};
    st_expr *x = NULL;
    int rc = parse_ternary(&p);
    if (rc < 0)
        goto out;
    int root = rc;
    skip_space(&p);
    if (p.text[p.pos]) {
        rc = perr(&p, p.pos, "unexpected '%c' after the end of the expression", p.text[p.pos]);
        goto out;
    }
    fold(&p, root);
    x = calloc(1, sizeof *x);
    if (!x || !(x->text = strdup(text))) {
        rc = st_err_nomem(e, "expression");
        goto out;
    }
    emitter m = {.x = x, .e = e};
    if ((rc = emit_tree(&m, &p, root)) < 0)
        goto out;
    x->varies = m.varies;
    if (x->maxdepth > ST_EXPR_MAXSTACK) {
        rc = perr(&p, 0, "expression needs a stack deeper than %d: split it", ST_EXPR_MAXSTACK);
        goto out;
    }
    *out = x;
    x = NULL;
    rc = 0;
out:
    free(p.nodes);
    st_expr_free(x);
    return rc;
}

void st_expr_free(st_expr *p)
{
    if (!p)
        return;
    free(p->text);
    free(p->code);
    free(p->pool);
    free(p);
}

const char *st_expr_text(const st_expr *p)
{
    return p->text;
}

int st_expr_varies(const st_expr *p)
{
    return p->varies;
}

int st_expr_constant(const st_expr *p, double *value)
{
    if (p->ncode == 1 && p->code[0].op == OP_CONST) {
        if (value)
            *value = p->pool[p->code[0].arg];
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ evaluation */

/* A stack slot: its values (own buffer or a state row) and whether it is
 * the same for every particle. */
typedef struct slot {
    const double *v;
    int uniform;
} slot;

#define BINARY_LOOP(EXPR)                                               \
    do {                                                                \
        if (a.uniform && b.uniform) {                                   \
            double x_ = a.v[0], y_ = b.v[0];                            \
            dst[0] = (EXPR);                                            \
        } else if (a.uniform) {                                         \
            double x_ = a.v[0];                                         \
            for (size_t i = 0; i < n; i++) {                            \
                double y_ = b.v[i];                                     \
                dst[i] = (EXPR);                                        \
            }                                                           \
        } else if (b.uniform) {                                         \
            double y_ = b.v[0];                                         \
            for (size_t i = 0; i < n; i++) {                            \
                double x_ = a.v[i];                                     \
                dst[i] = (EXPR);                                        \
            }                                                           \
        } else {                                                        \
            for (size_t i = 0; i < n; i++) {                            \
                double x_ = a.v[i], y_ = b.v[i];                        \
                dst[i] = (EXPR);                                        \
            }                                                           \
        }                                                               \
    } while (0)

int st_expr_eval(const st_expr *p, const st_expr_args *args, size_t n, double *out, st_expr_work *w)
{
    slot st[ST_EXPR_MAXSTACK];
    int sp = -1;
    for (size_t pc = 0; pc < p->ncode; pc++) {
        const instr *in = &p->code[pc];
        switch (in->op) {
        case OP_CONST:
            sp++;
            st[sp].v = &p->pool[in->arg];
            st[sp].uniform = 1;
            break;
        case OP_X:
            sp++;
            st[sp].v = args->x + (size_t)in->arg * args->xstride;
            st[sp].uniform = 0;
            break;
        case OP_T:
            sp++;
            w->buf[sp][0] = args->t;
            st[sp].v = w->buf[sp];
            st[sp].uniform = 1;
            break;
        case OP_COV:
            sp++;
            st[sp].v = &args->cov[in->arg];
            st[sp].uniform = 1;
            break;
        case OP_NEG:
        case OP_NOT:
        case OP_F1: {
            slot a = st[sp];
            double *dst = w->buf[sp];
            size_t m = a.uniform ? 1 : n;
            if (in->op == OP_NEG)
                for (size_t i = 0; i < m; i++)
                    dst[i] = -a.v[i];
            else if (in->op == OP_NOT)
                for (size_t i = 0; i < m; i++)
                    dst[i] = a.v[i] == 0;
            else
                switch (in->fn) {
                case F_EXP:
                    for (size_t i = 0; i < m; i++)
                        dst[i] = exp(a.v[i]);
                    break;
                case F_LOG:
                    for (size_t i = 0; i < m; i++)
                        dst[i] = log(a.v[i]);
                    break;
                case F_SQRT:
                    for (size_t i = 0; i < m; i++)
                        dst[i] = sqrt(a.v[i]);
                    break;
                case F_COS:
                    for (size_t i = 0; i < m; i++)
                        dst[i] = cos(a.v[i]);
                    break;
                default:
                    for (size_t i = 0; i < m; i++)
                        dst[i] = apply1(in->fn, a.v[i]);
                }
            st[sp].v = dst;
            break;
        }
        case OP_SELECT: {
            slot c = st[sp - 2], a = st[sp - 1], b = st[sp];
            sp -= 2;
            double *dst = w->buf[sp];
            if (c.uniform) {
                slot pick = c.v[0] != 0 ? a : b;
                size_t m = pick.uniform ? 1 : n;
                if (pick.v != dst)
                    memmove(dst, pick.v, m * sizeof *dst);
                st[sp].uniform = pick.uniform;
            } else {
                for (size_t i = 0; i < n; i++)
                    dst[i] = c.v[i] != 0 ? a.v[a.uniform ? 0 : i] : b.v[b.uniform ? 0 : i];
                st[sp].uniform = 0;
            }
            st[sp].v = dst;
            break;
        }
        case OP_F2: {
            slot a = st[sp - 1], b = st[sp];
            sp--;
            double *dst = w->buf[sp];
            switch (in->fn) {
            case F_POW: BINARY_LOOP(pow(x_, y_)); break;
            case F_ATAN2: BINARY_LOOP(atan2(x_, y_)); break;
            case F_MIN: BINARY_LOOP(x_ < y_ ? x_ : y_); break;
            default: BINARY_LOOP(x_ > y_ ? x_ : y_); break;
            }
            st[sp].v = dst;
            st[sp].uniform = a.uniform && b.uniform;
            break;
        }
        default: {
            slot a = st[sp - 1], b = st[sp];
            sp--;
            double *dst = w->buf[sp];
            switch (in->op) {
            case OP_ADD: BINARY_LOOP(x_ + y_); break;
            case OP_SUB: BINARY_LOOP(x_ - y_); break;
            case OP_MUL: BINARY_LOOP(x_ * y_); break;
            case OP_DIV: BINARY_LOOP(x_ / y_); break;
            case OP_POW:
                if (b.uniform && b.v[0] == 2.0 && !a.uniform) {
                    for (size_t i = 0; i < n; i++)
                        dst[i] = a.v[i] * a.v[i];
                } else {
                    BINARY_LOOP(pow(x_, y_));
                }
                break;
            default: {
                int op = in->op;
                BINARY_LOOP(apply2(op, x_, y_));
            }
            }
            st[sp].v = dst;
            st[sp].uniform = a.uniform && b.uniform;
            break;
        }
        }
    }
    if (st[0].uniform) {
        out[0] = st[0].v[0];
        return 1;
    }
    if (st[0].v != out)
        memcpy(out, st[0].v, n * sizeof *out);
    return 0;
}

double st_expr_eval1(const st_expr *p, double t, const double *cov)
{
    static const double nox[1] = {0};
    st_expr_work w; /* 64 KiB of stack: fine on any thread */
    double v = NAN;
    st_expr_args a = {nox, 0, t, cov};
    st_expr_eval(p, &a, 1, &v, &w);
    return v;
}

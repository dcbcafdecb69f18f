/* The expression language: a recursive-descent parser (recursing only with
 * the nesting) that emits postfix code directly, folding constants as it
 * emits with a stack of operand segments (no tree, no recursion over the
 * length); a block VM for values and one for values with forward-mode
 * derivatives. */
#include "config.h"

#include "core/expr.h"
#include "core/vmath.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ opcodes */

enum {
    OP_CONST, OP_VAR, OP_PAR,
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
#define NFUNCTIONS (sizeof functions / sizeof functions[0])

/* One instruction.  OP_CONST: arg = pool index; OP_VAR: slot, arg =
 * component, fn = 1 if the slot varies, var = the environment's variable;
 * OP_PAR: arg = parameter, fn = its derivative index; OP_F1/OP_F2: fn. */
typedef struct instr {
    uint8_t op, fn, slot, pad;
    uint32_t arg;
    uint32_t var;
} instr;

struct st_expr {
    char *text;
    instr *code;
    size_t ncode;
    double *pool;
    size_t npool;
    int varies;
    int maxdepth;
    size_t nd;       /* live parameters differentiated */
    uint32_t *dpar;  /* their indices in the environment */
    size_t npar;     /* parameters of the environment */
};

/* ------------------------------------------------------------ excerpts */

/* Copy text[from, to) into out (room for k bytes + NUL), control
 * characters as spaces; returns bytes written. */
static size_t copy_span(char *out, size_t room, const char *text, size_t from, size_t to)
{
    size_t k = 0;
    for (size_t i = from; i < to && k < room; i++)
        out[k++] = (unsigned char)text[i] < 0x20 ? ' ' : text[i];
    return k;
}

/* Move an offset back to the start of a UTF-8 character. */
static size_t utf8_start(const char *text, size_t at)
{
    while (at > 0 && ((unsigned char)text[at] & 0xC0) == 0x80)
        at--;
    return at;
}

/* An excerpt of text[0, len) around offset `at`: the whole text when it
 * fits in 60 bytes, else up to 30 bytes before and 24 after, cut marks
 * "...". */
static void excerpt(char *buf, size_t size, const char *text, size_t len, size_t at)
{
    enum { WHOLE = 60, BEFORE = 30, AFTER = 24 };
    if (size == 0)
        return;
    if (at > len)
        at = len;
    size_t from = 0, to = len;
    if (len > WHOLE) {
        from = at > BEFORE ? utf8_start(text, at - BEFORE) : 0;
        to = at + AFTER < len ? utf8_start(text, at + AFTER) : len;
    }
    size_t k = 0, room = size - 1;
    if (from > 0 && room - k >= 3) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    k += copy_span(buf + k, room - k >= (to < len ? 3 : 0) ? room - k - (to < len ? 3 : 0) : 0, text, from, to);
    if (to < len && room - k >= 3) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
}

/* ------------------------------------------------------------ parser */

/* An operand on the compile stack: its code starts at `start`; a constant
 * has its value. */
typedef struct operand {
    size_t start;
    int cst;
    double val;
} operand;

typedef struct parser {
    const char *text;
    size_t len;
    size_t pos;
    const st_expr_env *env;
    const st_expr_src *src;
    const char *what;
    st_err *e;
    int nest;
    instr *code;
    size_t ncode, capcode;
    double *pool;
    size_t npool, cappool;
    operand *ops;
    size_t nops, capops;
} parser;

static int perr(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int perr(parser *p, size_t at, const char *fmt, ...)
{
    char why[320], ex[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const st_expr_src *s = p->src;
    long line = s ? s->line : 0, col = s && s->col > 0 ? s->col + (long)at : 0;
    /* A multi-line scalar: count lines inside the text. */
    if (s && s->line > 0) {
        for (size_t i = 0; i < at && i < p->len; i++)
            if (p->text[i] == '\n') {
                line++;
                col = (long)(at - i);
            }
    }
    excerpt(ex, sizeof ex, p->text, p->len, at);
    return st_err_set(p->e, ST_EDATA, s ? s->file : NULL, line, col, "%s '%s': %s", p->what, ex, why);
}

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *n = realloc(*v, c * size);
    if (!n)
        return -1;
    *v = n;
    *cap = c;
    return 0;
}

static int put(parser *p, instr in)
{
    if (grow((void **)&p->code, &p->capcode, p->ncode + 1, sizeof *p->code) < 0)
        return st_err_nomem(p->e, "expression program");
    p->code[p->ncode++] = in;
    return 0;
}

static int push_operand(parser *p, size_t start, int cst, double val)
{
    if (grow((void **)&p->ops, &p->capops, p->nops + 1, sizeof *p->ops) < 0)
        return st_err_nomem(p->e, "expression");
    p->ops[p->nops++] = (operand){start, cst, val};
    return 0;
}

static int push_const(parser *p, double v)
{
    if (grow((void **)&p->pool, &p->cappool, p->npool + 1, sizeof *p->pool) < 0)
        return st_err_nomem(p->e, "expression constants");
    p->pool[p->npool] = v;
    size_t start = p->ncode;
    int rc = put(p, (instr){OP_CONST, 0, 0, 0, (uint32_t)p->npool++, 0});
    return rc < 0 ? rc : push_operand(p, start, 1, v);
}

static int push_leaf(parser *p, instr in)
{
    size_t start = p->ncode;
    int rc = put(p, in);
    return rc < 0 ? rc : push_operand(p, start, 0, 0);
}

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

/* Apply an operator to the top nargs operands: fold when they are all
 * constants, pick the branch of a select with a constant condition. */
static int apply(parser *p, int op, int fn, int nargs)
{
    operand *o = p->ops + p->nops - nargs;
    size_t start = o[0].start;
    if (op == OP_SELECT && o[0].cst) {
        int pick = o[0].val != 0 ? 1 : 2;
        size_t from = o[pick].start, to = pick == 1 ? o[2].start : p->ncode;
        operand keep = o[pick];
        memmove(p->code + start, p->code + from, (to - from) * sizeof *p->code);
        p->ncode = start + (to - from);
        p->nops -= (size_t)nargs;
        return push_operand(p, start, keep.cst, keep.val);
    }
    int all = 1;
    for (int i = 0; i < nargs; i++)
        all = all && o[i].cst;
    if (all) {
        double a = o[0].val, b = nargs > 1 ? o[1].val : 0, c = nargs > 2 ? o[2].val : 0, v;
        switch (op) {
        case OP_NEG: v = -a; break;
        case OP_NOT: v = (double)(a == 0); break;
        case OP_SELECT: v = a != 0 ? b : c; break;
        case OP_F1: v = apply1(fn, a); break;
        case OP_F2: v = apply_f2(fn, a, b); break;
        default: v = apply2(op, a, b); break;
        }
        p->ncode = start;
        p->nops -= (size_t)nargs;
        return push_const(p, v);
    }
    p->nops -= (size_t)nargs;
    int rc = put(p, (instr){(uint8_t)op, (uint8_t)fn, 0, 0, 0, 0});
    return rc < 0 ? rc : push_operand(p, start, 0, 0);
}

static void skip_space(parser *p)
{
    while (p->pos < p->len && isspace((unsigned char)p->text[p->pos]))
        p->pos++;
}

static char cur(parser *p)
{
    return p->pos < p->len ? p->text[p->pos] : '\0';
}

/* Match an operator token at the current position. */
static int accept(parser *p, const char *tok)
{
    skip_space(p);
    size_t k = strlen(tok);
    if (p->len - p->pos < k || strncmp(p->text + p->pos, tok, k) != 0)
        return 0;
    /* Do not take '<' from '<=', '*' from '**', '=' alone, '!' from '!='. */
    char next = p->pos + k < p->len ? p->text[p->pos + k] : '\0';
    if (k == 1 && strchr("<>!=", tok[0]) && next == '=')
        return 0;
    if (k == 1 && tok[0] == '*' && next == '*')
        return 0;
    p->pos += k;
    return 1;
}

static int describe_here(parser *p, const char *want)
{
    skip_space(p);
    unsigned char c = (unsigned char)cur(p);
    if (!c)
        return perr(p, p->pos, "unexpected end of expression, expected %s", want);
    if (c < 0x20 || c >= 0x7f)
        return perr(p, p->pos, "unexpected byte 0x%02x, expected %s", c, want);
    return perr(p, p->pos, "unexpected '%c', expected %s", c, want);
}

static int lookup_function(const char *name, size_t len)
{
    for (size_t i = 0; i < NFUNCTIONS; i++)
        if (strlen(functions[i].name) == len && strncmp(functions[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

int st_expr_reserved(const char *s)
{
    return lookup_function(s, strlen(s)) >= 0 || strcmp(s, "pi") == 0;
}

static int name_is(const char *name, const char *s, size_t len)
{
    return name && strlen(name) == len && strncmp(name, s, len) == 0;
}

static int parse_ternary(parser *p);
static int parse_unary(parser *p);

static int enter(parser *p)
{
    if (++p->nest > ST_EXPR_MAXNEST)
        return perr(p, p->pos, "nested more than %d levels deep", ST_EXPR_MAXNEST);
    return 0;
}

/* A decimal number: digits, optional fraction, optional exponent. */
static int parse_number(parser *p)
{
    const char *s = p->text + p->pos;
    size_t start = p->pos, i = 0, room = p->len - p->pos, digits = 0;
    while (i < room && isdigit((unsigned char)s[i]))
        i++, digits++;
    if (i < room && s[i] == '.') {
        i++;
        while (i < room && isdigit((unsigned char)s[i]))
            i++, digits++;
    }
    if (digits == 0)
        return perr(p, start, "bad number");
    if (i < room && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < room && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < room && isdigit((unsigned char)s[j])) {
            while (j < room && isdigit((unsigned char)s[j]))
                j++;
            i = j;
        }
    }
    if (i < room && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.')) {
        if (i == 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            return perr(p, start, "hexadecimal numbers are not allowed: write numbers in decimal");
        return perr(p, start + i, "unexpected '%c' after a number", s[i]);
    }
    char buf[64], *end;
    double v;
    if (i < sizeof buf) {
        memcpy(buf, s, i);
        buf[i] = '\0';
        v = strtod(buf, &end);
    } else {
        char *h = malloc(i + 1);
        if (!h)
            return st_err_nomem(p->e, "number");
        memcpy(h, s, i);
        h[i] = '\0';
        v = strtod(h, &end);
        free(h);
    }
    if (!isfinite(v))
        return perr(p, start, "number %.*s is too large for a double", (int)(i > 40 ? 40 : i), s);
    p->pos += i;
    return push_const(p, v);
}

/* name[i] or name of variable v. */
static int parse_var(parser *p, size_t v, size_t start, const char *s, size_t len)
{
    const st_expr_var *var = &p->env->vars[v];
    if (var->why || var->dim == 0)
        return perr(p, start, "%.*s is not available here%s%s", (int)len, s, var->why ? ": " : "",
                    var->why ? var->why : "");
    long idx = 0;
    if (cur(p) == '[') {
        p->pos++;
        skip_space(p);
        size_t ipos = p->pos;
        if (!isdigit((unsigned char)cur(p)))
            return perr(p, ipos, "%.*s[...] needs a literal index (0 to %zu)", (int)len, s, var->dim - 1);
        idx = 0;
        while (isdigit((unsigned char)cur(p))) {
            if (idx < 100000000)
                idx = idx * 10 + (cur(p) - '0');
            p->pos++;
        }
        if (!accept(p, "]"))
            return describe_here(p, "']'");
        if ((size_t)idx >= var->dim)
            return perr(p, ipos, "%.*s[%ld] is out of range: %.*s has %zu component%s (%.*s[0]..%.*s[%zu])",
                        (int)len, s, idx, (int)len, s, var->dim, var->dim == 1 ? "" : "s", (int)len, s,
                        (int)len, s, var->dim - 1);
    } else if (var->dim > 1) {
        return perr(p, start, "%.*s has %zu components: write %.*s[0]..%.*s[%zu]", (int)len, s, var->dim,
                    (int)len, s, (int)len, s, var->dim - 1);
    }
    return push_leaf(p, (instr){OP_VAR, (uint8_t)(var->varies != 0), (uint8_t)var->slot, 0,
                                (uint32_t)(var->offset + (size_t)idx), (uint32_t)v});
}

static int parse_call(parser *p, int f, size_t start)
{
    int rc, nargs = 0;
    p->pos++; /* '(' */
    skip_space(p);
    if (cur(p) != ')') {
        for (;;) {
            if (nargs == 3)
                return perr(p, p->pos, "too many arguments to '%s'", functions[f].name);
            if ((rc = parse_ternary(p)) < 0)
                return rc;
            nargs++;
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
        return perr(p, start, "'%s' takes %d argument%s, not %d", functions[f].name, functions[f].nargs,
                    functions[f].nargs == 1 ? "" : "s", nargs);
    int fn = functions[f].fn;
    if (fn == F_IF)
        return apply(p, OP_SELECT, 0, 3);
    return apply(p, nargs == 1 ? OP_F1 : OP_F2, fn, nargs);
}

static int parse_primary(parser *p)
{
    skip_space(p);
    size_t start = p->pos;
    const char *s = p->text + p->pos;
    char c = cur(p);
    if (isdigit((unsigned char)c) || (c == '.' && p->pos + 1 < p->len && isdigit((unsigned char)s[1])))
        return parse_number(p);
    if (isalpha((unsigned char)c) || c == '_') {
        size_t len = 0;
        while (p->pos + len < p->len && (isalnum((unsigned char)s[len]) || s[len] == '_'))
            len++;
        int shown = len > 40 ? 40 : (int)len;
        p->pos += len;
        skip_space(p);
        if (cur(p) == '(') {
            int f = lookup_function(s, len);
            if (f < 0)
                return perr(p, start, "unknown function '%.*s%s'", shown, s, len > 40 ? "..." : "");
            int rc = enter(p);
            if (rc == 0)
                rc = parse_call(p, f, start);
            p->nest--;
            return rc;
        }
        const st_expr_env *env = p->env;
        for (size_t v = 0; v < env->nvar; v++)
            if (name_is(env->vars[v].name, s, len))
                return parse_var(p, v, start, s, len);
        for (size_t j = 0; j < env->npar; j++)
            if (name_is(env->par_names[j], s, len)) {
                if (env->live)
                    return push_leaf(p, (instr){OP_PAR, 0, 0, 0, (uint32_t)j, 0});
                return push_const(p, env->par_values[j]);
            }
        if (len == 2 && strncmp(s, "pi", 2) == 0)
            return push_const(p, M_PI);
        if (lookup_function(s, len) >= 0)
            return perr(p, start, "function '%.*s' needs arguments in parentheses", shown, s);
        return perr(p, start, "unknown %s '%.*s%s'", env->nvar ? "variable" : "parameter", shown, s,
                    len > 40 ? "..." : "");
    }
    if (c == '(') {
        p->pos++;
        int rc = parse_ternary(p);
        if (rc < 0)
            return rc;
        if (!accept(p, ")"))
            return describe_here(p, "')'");
        return 0;
    }
    return describe_here(p, "a number, a name or '('");
}

static int parse_power(parser *p)
{
    int rc = parse_primary(p);
    if (rc < 0)
        return rc;
    if (accept(p, "^") || accept(p, "**")) {
        rc = enter(p);
        if (rc == 0)
            rc = parse_unary(p); /* right associative, allows 2^-1 */
        if (rc == 0)
            rc = apply(p, OP_POW, 0, 2);
        p->nest--;
    }
    return rc;
}

static int parse_unary(parser *p)
{
    int op = -1;
    if (accept(p, "-"))
        op = OP_NEG;
    else if (accept(p, "+"))
        op = -2;
    else if (accept(p, "!"))
        op = OP_NOT;
    if (op == -1)
        return parse_power(p);
    int rc = enter(p);
    if (rc == 0)
        rc = parse_unary(p);
    if (rc == 0 && op >= 0)
        rc = apply(p, op, 0, 1);
    p->nest--;
    return rc;
}

static int parse_mul(parser *p)
{
    int rc = parse_unary(p);
    while (rc == 0) {
        int op;
        if (accept(p, "*"))
            op = OP_MUL;
        else if (accept(p, "/"))
            op = OP_DIV;
        else
            break;
        if ((rc = parse_unary(p)) == 0)
            rc = apply(p, op, 0, 2);
    }
    return rc;
}

static int parse_add(parser *p)
{
    int rc = parse_mul(p);
    while (rc == 0) {
        int op;
        if (accept(p, "+"))
            op = OP_ADD;
        else if (accept(p, "-"))
            op = OP_SUB;
        else
            break;
        if ((rc = parse_mul(p)) == 0)
            rc = apply(p, op, 0, 2);
    }
    return rc;
}

static int parse_cmp(parser *p)
{
    int rc = parse_add(p);
    while (rc == 0) {
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
        if ((rc = parse_add(p)) == 0)
            rc = apply(p, op, 0, 2);
    }
    return rc;
}

static int parse_and(parser *p)
{
    int rc = parse_cmp(p);
    while (rc == 0 && accept(p, "&&"))
        if ((rc = parse_cmp(p)) == 0)
            rc = apply(p, OP_AND, 0, 2);
    return rc;
}

static int parse_or(parser *p)
{
    int rc = parse_and(p);
    while (rc == 0 && accept(p, "||"))
        if ((rc = parse_and(p)) == 0)
            rc = apply(p, OP_OR, 0, 2);
    return rc;
}

static int parse_ternary(parser *p)
{
    int rc = enter(p);
    if (rc == 0)
        rc = parse_or(p);
    if (rc == 0 && accept(p, "?")) {
        rc = parse_ternary(p);
        if (rc == 0 && !accept(p, ":"))
            rc = describe_here(p, "':' of 'c ? a : b'");
        if (rc == 0)
            rc = parse_ternary(p);
        if (rc == 0)
            rc = apply(p, OP_SELECT, 0, 3);
    }
    p->nest--;
    return rc;
}

/* ------------------------------------------------------------ compile */

/* Stack effect of an instruction. */
static int effect(const instr *in)
{
    switch (in->op) {
    case OP_CONST:
    case OP_VAR:
    case OP_PAR: return 1;
    case OP_NEG:
    case OP_NOT:
    case OP_F1: return 0;
    case OP_SELECT: return -2;
    default: return -1;
    }
}

/* Keep only the pool entries the code uses, number the differentiated
 * parameters, measure the stack. */
static int finish(st_expr *x, parser *p, st_err *e)
{
    double *pool = malloc((p->ncode ? p->ncode : 1) * sizeof *pool);
    if (!pool)
        return st_err_nomem(e, "expression constants");
    size_t np = 0;
    for (size_t i = 0; i < p->ncode; i++)
        if (p->code[i].op == OP_CONST) {
            pool[np] = p->pool[p->code[i].arg];
            p->code[i].arg = (uint32_t)np++;
        }
    x->pool = pool;
    x->npool = np;
    x->code = p->code;
    x->ncode = p->ncode;
    p->code = NULL;
    int depth = 0;
    for (size_t i = 0; i < x->ncode; i++) {
        depth += effect(&x->code[i]);
        if (depth > x->maxdepth)
            x->maxdepth = depth;
        if (x->code[i].op == OP_VAR && x->code[i].fn)
            x->varies = 1;
    }
    x->npar = p->env->npar;
    if (p->env->live && p->env->npar) {
        /* parameters used, in increasing order */
        unsigned char *used = calloc(p->env->npar, 1);
        if (!used)
            return st_err_nomem(e, "expression");
        for (size_t i = 0; i < x->ncode; i++)
            if (x->code[i].op == OP_PAR)
                used[x->code[i].arg] = 1;
        size_t nd = 0;
        for (size_t j = 0; j < p->env->npar; j++)
            nd += used[j];
        if (nd > ST_EXPR_MAXDERIV) {
            free(used);
            return perr(p, 0, "depends on %zu parameters, more than %d", nd, ST_EXPR_MAXDERIV);
        }
        x->dpar = malloc((nd ? nd : 1) * sizeof *x->dpar);
        if (!x->dpar) {
            free(used);
            return st_err_nomem(e, "expression");
        }
        uint32_t *k_of = malloc(p->env->npar * sizeof *k_of);
        if (!k_of) {
            free(used);
            return st_err_nomem(e, "expression");
        }
        for (size_t j = 0; j < p->env->npar; j++)
            if (used[j]) {
                k_of[j] = (uint32_t)x->nd;
                x->dpar[x->nd++] = (uint32_t)j;
            }
        for (size_t i = 0; i < x->ncode; i++)
            if (x->code[i].op == OP_PAR)
                x->code[i].fn = (uint8_t)k_of[x->code[i].arg];
        free(k_of);
        free(used);
    }
    if (x->maxdepth > ST_EXPR_MAXSTACK)
        return perr(p, 0, "needs an evaluation stack deeper than %d: split it or nest less", ST_EXPR_MAXSTACK);
    return 0;
}

int st_expr_compile(st_expr **out, const char *text, const st_expr_env *env,
                    const st_expr_src *src, st_err *e)
{
    *out = NULL;
    parser p = {.text = text, .env = env, .src = src, .e = e};
    p.what = env->what ? env->what : "expression";
    p.len = strlen(text);
    st_expr *x = NULL;
    int rc;
    if (p.len > ST_EXPR_MAXLEN) {
        p.len = 60; /* for the excerpt */
        return perr(&p, 0, "longer than %u bytes (%zu)", ST_EXPR_MAXLEN, strlen(text));
    }
    if ((rc = parse_ternary(&p)) < 0)
        goto out;
    skip_space(&p);
    if (p.pos < p.len) {
        unsigned char c = (unsigned char)p.text[p.pos];
        if (c < 0x20 || c >= 0x7f)
            rc = perr(&p, p.pos, "unexpected byte 0x%02x after the end of the expression", c);
        else
            rc = perr(&p, p.pos, "unexpected '%c' after the end of the expression", c);
        goto out;
    }
    x = calloc(1, sizeof *x);
    if (!x || !(x->text = strdup(text))) {
        rc = st_err_nomem(e, "expression");
        goto out;
    }
    if ((rc = finish(x, &p, e)) < 0)
        goto out;
    *out = x;
    x = NULL;
    rc = 0;
out:
    free(p.code);
    free(p.pool);
    free(p.ops);
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
    free(p->dpar);
    free(p);
}

/* A copy of p with its first ncode instructions. */
static st_expr *copy_prefix(const st_expr *p, size_t ncode)
{
    st_expr *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->text = strdup(p->text);
    x->ncode = ncode;
    x->code = malloc((ncode ? ncode : 1) * sizeof *x->code);
    x->npool = p->npool;
    x->pool = malloc((p->npool ? p->npool : 1) * sizeof *x->pool);
    x->nd = p->nd;
    x->npar = p->npar;
    x->dpar = p->dpar ? malloc((p->nd ? p->nd : 1) * sizeof *x->dpar) : NULL;
    if (!x->text || !x->code || !x->pool || (p->dpar && !x->dpar)) {
        st_expr_free(x);
        return NULL;
    }
    memcpy(x->code, p->code, x->ncode * sizeof *x->code);
    memcpy(x->pool, p->pool, p->npool * sizeof *x->pool);
    if (p->dpar)
        memcpy(x->dpar, p->dpar, p->nd * sizeof *x->dpar);
    x->varies = p->varies;
    x->maxdepth = p->maxdepth; /* an upper bound for a prefix */
    return x;
}

st_expr *st_expr_clone(const st_expr *p)
{
    return p ? copy_prefix(p, p->ncode) : NULL;
}

int st_expr_exp_arg(const st_expr *p, st_expr **arg)
{
    *arg = NULL;
    if (p->ncode < 2 || p->code[p->ncode - 1].op != OP_F1 || p->code[p->ncode - 1].fn != F_EXP)
        return 0;
    /* the code before the final exp computes its argument */
    return (*arg = copy_prefix(p, p->ncode - 1)) ? 1 : -1;
}

const char *st_expr_text(const st_expr *p)
{
    return p->text;
}

void st_expr_excerpt(const st_expr *p, char *buf, size_t size)
{
    excerpt(buf, size, p->text, strlen(p->text), 0);
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

int st_expr_uses_var(const st_expr *p, size_t v)
{
    for (size_t i = 0; i < p->ncode; i++)
        if (p->code[i].op == OP_VAR && p->code[i].var == v)
            return 1;
    return 0;
}

size_t st_expr_nderiv(const st_expr *p)
{
    return p->nd;
}

size_t st_expr_deriv_par(const st_expr *p, size_t k)
{
    return p->dpar[k];
}

/* ------------------------------------------------------------ block kernels */

/* Elementwise kernels over whole blocks: lib/core/vmath's SIMD kernels
 * (SLEEF's exp, log and log1p, at most 1 ulp; plain arithmetic rounded as
 * the scalar operators round), so an expression costs about what the
 * same arithmetic written by hand over the block costs. */
static void v_apply1(int fn, double *d, const double *a, size_t n)
{
    switch (fn) {
    case F_EXP: st_vexp(d, a, n); break;
    case F_LOG: st_vlog(d, a, n); break;
    case F_LOG1P: st_vlog1p(d, a, n); break;
    case F_SQRT:
        for (size_t i = 0; i < n; i++)
            d[i] = sqrt(a[i]);
        break;
    case F_ABS:
        for (size_t i = 0; i < n; i++)
            d[i] = fabs(a[i]);
        break;
    case F_COS:
        for (size_t i = 0; i < n; i++)
            d[i] = cos(a[i]);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            d[i] = apply1(fn, a[i]);
    }
}

/* ------------------------------------------------------------ evaluation */

/* A stack slot: its values (own buffer, an input row, a constant) and
 * whether it is the same for every particle. */
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

/* dst = a op b for op + - * /, by vmath's kernels: each rounds as the
 * scalar operator does, so the values are those of a scalar loop.  With
 * one side uniform: u + v = 1 v + u, u - v = -1 v + u, v - u = 1 v + (-u),
 * u v = u v + (-0) (adding -0 changes no value, not even a zero's sign);
 * a division by a power of two multiplies by its reciprocal (exact, so
 * the same value); other divisions by or of a uniform value divide by a
 * block filled with it. */
static void v_arith(int op, double *dst, slot a, slot b, size_t n)
{
    if (a.uniform && b.uniform) {
        dst[0] = apply2(op, a.v[0], b.v[0]);
        return;
    }
    if (!a.uniform && !b.uniform) {
        switch (op) {
        case OP_ADD: st_vadd(dst, a.v, b.v, n); break;
        case OP_SUB: st_vsub(dst, a.v, b.v, n); break;
        case OP_MUL: st_vmul(dst, a.v, b.v, n); break;
        default: st_vdiv(dst, a.v, b.v, n); break;
        }
        return;
    }
    double u = a.uniform ? a.v[0] : b.v[0];
    const double *v = a.uniform ? b.v : a.v;
    switch (op) {
    case OP_ADD: st_vaffine(dst, 1.0, v, u, n); break;
    case OP_SUB:
        if (a.uniform)
            st_vaffine(dst, -1.0, v, u, n);
        else
            st_vaffine(dst, 1.0, v, -u, n);
        break;
    case OP_MUL: st_vaffine(dst, u, v, -0.0, n); break;
    default: {
        int ex;
        if (!a.uniform && frexp(u, &ex) == 0.5 && ex > -1020 && ex < 1020) {
            /* by a power of two: times its exact reciprocal, the same value */
            st_vaffine(dst, 1 / u, v, -0.0, n);
            break;
        }
        double fill[ST_EXPR_BLOCK];
        for (size_t i = 0; i < n; i++)
            fill[i] = u;
        if (a.uniform)
            st_vdiv(dst, fill, v, n);
        else
            st_vdiv(dst, v, fill, n);
    }
    }
}

static inline slot load(const st_expr *p, const instr *in, const st_expr_args *args)
{
    slot s;
    switch (in->op) {
    case OP_CONST:
        s.v = &p->pool[in->arg];
        s.uniform = 1;
        break;
    case OP_PAR:
        if (args->par_in) {
            s.v = args->par_in->v + (size_t)in->arg * args->par_in->stride;
            s.uniform = 0;
        } else {
            s.v = &args->par[in->arg];
            s.uniform = 1;
        }
        break;
    default: {
        const st_expr_in *x = &args->in[in->slot];
        if (in->fn) {
            s.v = x->v + (size_t)in->arg * x->stride;
            s.uniform = 0;
        } else {
            s.v = x->v + in->arg;
            s.uniform = 1;
        }
    }
    }
    return s;
}

/* The value VM; buf holds maxdepth blocks of n. */
static int vm(const st_expr *p, const st_expr_args *args, size_t n, double *out, double *buf)
{
    slot st[ST_EXPR_MAXSTACK];
    int sp = -1;
    for (size_t pc = 0; pc < p->ncode; pc++) {
        const instr *in = &p->code[pc];
        switch (in->op) {
        case OP_CONST:
        case OP_VAR:
        case OP_PAR:
            st[++sp] = load(p, in, args);
            break;
        case OP_NEG:
        case OP_NOT:
        case OP_F1: {
            slot a = st[sp];
            double *dst = sp ? buf + (size_t)sp * n : out; /* the result lands in out */
            size_t m = a.uniform ? 1 : n;
            if (in->op == OP_NEG)
                for (size_t i = 0; i < m; i++)
                    dst[i] = -a.v[i];
            else if (in->op == OP_NOT)
                for (size_t i = 0; i < m; i++)
                    dst[i] = a.v[i] == 0;
            else if (a.uniform)
                dst[0] = apply1(in->fn, a.v[0]); /* as folding and vm_d compute it */
            else
                v_apply1(in->fn, dst, a.v, m);
            st[sp].v = dst;
            break;
        }
        case OP_SELECT: {
            slot c = st[sp - 2], a = st[sp - 1], b = st[sp];
            sp -= 2;
            double *dst = sp ? buf + (size_t)sp * n : out; /* the result lands in out */
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
            double *dst = sp ? buf + (size_t)sp * n : out; /* the result lands in out */
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
            double *dst = sp ? buf + (size_t)sp * n : out; /* the result lands in out */
            switch (in->op) {
            case OP_ADD:
            case OP_SUB:
            case OP_MUL:
            case OP_DIV: v_arith(in->op, dst, a, b, n); break;
            case OP_POW:
                if (b.uniform && b.v[0] == 2.0 && !a.uniform) {
                    st_vmul(dst, a.v, a.v, n);
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

int st_expr_eval(const st_expr *p, const st_expr_args *a, size_t n, double *out, st_expr_work *w)
{
    return vm(p, a, n, out, w->buf);
}

double st_expr_eval1(const st_expr *p, const st_expr_args *a)
{
    double buf[ST_EXPR_MAXSTACK], v = NAN;
    st_expr_args u = *a;
    u.par_in = NULL;
    vm(p, &u, 1, &v, buf);
    return v;
}

/* ------------------------------------------------------------ derivatives */

/* A slot with tangents: value i at v[i * vs], tangent k (when bit k of
 * mask is set; zero otherwise) of value i at d[k * ds + i * vs]. */
typedef struct dslot {
    const double *v, *d;
    size_t vs, ds;
    uint64_t mask;
} dslot;

#define BIT(k) ((uint64_t)1 << (k))

size_t st_expr_dwork_size(const st_expr *p, size_t n)
{
    return ((size_t)p->maxdepth * (p->nd ? p->nd : 1) + 1) * n;
}

/* Copy a uniform slot into locals (value lv, tangents ld[k]) so that the
 * result can overwrite its buffer. */
static dslot localise(dslot s, size_t nd, double *lv, double *ld)
{
    if (s.vs)
        return s;
    *lv = s.v[0];
    for (size_t k = 0; k < nd; k++)
        ld[k] = (s.mask & BIT(k)) ? s.d[k * s.ds] : 0;
    s.v = lv;
    s.d = ld;
    s.ds = 1;
    return s;
}

/* Tangent k of slot s at value index i (0 outside its mask). */
#define TAN(s, k, i) (((s).mask & BIT(k)) ? (s).d[(k) * (s).ds + (i) * (s).vs] : 0.0)

static int vm_d(const st_expr *p, const st_expr_args *args_in, size_t n, double *out, double *dout,
                double *buf, double *dbuf)
{
    st_expr_args argv = *args_in, *args = &argv;
    argv.par_in = NULL; /* tangents are seeded for uniform parameters */
    dslot st[ST_EXPR_MAXSTACK];
    size_t nd = p->nd;
    size_t dstride = (nd ? nd : 1) * n;      /* tangents of one stack slot */
    double *fac = dbuf + (size_t)p->maxdepth * dstride; /* n doubles */
    double lv[3], ld[3][ST_EXPR_MAXDERIV];
    int sp = -1;
    for (size_t pc = 0; pc < p->ncode; pc++) {
        const instr *in = &p->code[pc];
        switch (in->op) {
        case OP_CONST:
        case OP_VAR:
        case OP_PAR: {
            slot s = load(p, in, args);
            dslot *d = &st[++sp];
            d->v = s.v;
            d->vs = s.uniform ? 0 : 1;
            d->mask = 0;
            d->ds = n;
            d->d = dbuf + (size_t)sp * dstride;
            if (in->op == OP_PAR && nd) {
                double *t = dbuf + (size_t)sp * dstride;
                t[(size_t)in->fn * n] = 1;
                d->mask = BIT(in->fn);
            }
            break;
        }
        case OP_NEG:
        case OP_NOT:
        case OP_F1: {
            dslot a = localise(st[sp], nd, &lv[0], ld[0]);
            double *dst = buf + (size_t)sp * n, *dd = dbuf + (size_t)sp * dstride;
            size_t m = a.vs ? n : 1;
            uint64_t mask = a.mask;
            if (in->op == OP_NOT) {
                mask = 0;
            } else if (mask) {
                /* the derivative factor from the argument, before it is overwritten */
                for (size_t i = 0; i < m; i++) {
                    double x = a.v[i * a.vs], f;
                    if (in->op == OP_NEG) {
                        f = -1;
                    } else {
                        switch (in->fn) {
                        case F_EXP: f = exp(x); break;
                        case F_LOG: f = 1 / x; break;
                        case F_LOG1P: f = 1 / (1 + x); break;
                        case F_EXPM1: f = exp(x); break;
                        case F_SQRT: f = 0.5 / sqrt(x); break;
                        case F_SIN: f = cos(x); break;
                        case F_COS: f = -sin(x); break;
                        case F_TAN: {
                            double c = cos(x);
                            f = 1 / (c * c);
                            break;
                        }
                        case F_ABS: f = x > 0 ? 1 : x < 0 ? -1 : 0; break;
                        case F_LOGISTIC: {
                            double l = logistic(x);
                            f = l * (1 - l);
                            break;
                        }
                        default: f = 0; break; /* floor */
                        }
                    }
                    fac[i] = f;
                }
                for (size_t k = 0; k < nd; k++)
                    if (mask & BIT(k))
                        for (size_t i = 0; i < m; i++)
                            dd[k * n + i] = fac[i] * a.d[k * a.ds + i * a.vs];
            }
            if (in->op == OP_NEG)
                for (size_t i = 0; i < m; i++)
                    dst[i] = -a.v[i * a.vs];
            else if (in->op == OP_NOT)
                for (size_t i = 0; i < m; i++)
                    dst[i] = a.v[i * a.vs] == 0;
            else if (a.vs)
                v_apply1(in->fn, dst, a.v, m);
            else
                dst[0] = apply1(in->fn, a.v[0]);
            st[sp] = (dslot){dst, dd, a.vs, n, mask};
            break;
        }
        case OP_SELECT: {
            dslot c = localise(st[sp - 2], nd, &lv[0], ld[0]), a = localise(st[sp - 1], nd, &lv[1], ld[1]),
                  b = localise(st[sp], nd, &lv[2], ld[2]);
            sp -= 2;
            double *dst = buf + (size_t)sp * n, *dd = dbuf + (size_t)sp * dstride;
            if (!c.vs) {
                dslot pick = c.v[0] != 0 ? a : b;
                size_t m = pick.vs ? n : 1;
                for (size_t k = 0; k < nd; k++)
                    if (pick.mask & BIT(k))
                        for (size_t i = 0; i < m; i++)
                            dd[k * n + i] = pick.d[k * pick.ds + i * pick.vs];
                if (pick.v != dst)
                    memmove(dst, pick.v, m * sizeof *dst);
                st[sp] = (dslot){dst, dd, pick.vs, n, pick.mask};
            } else {
                uint64_t mask = a.mask | b.mask;
                for (size_t k = 0; k < nd; k++)
                    if (mask & BIT(k))
                        for (size_t i = 0; i < n; i++)
                            dd[k * n + i] = c.v[i] != 0 ? TAN(a, k, i) : TAN(b, k, i);
                for (size_t i = 0; i < n; i++)
                    dst[i] = c.v[i] != 0 ? a.v[i * a.vs] : b.v[i * b.vs];
                st[sp] = (dslot){dst, dd, 1, n, mask};
            }
            break;
        }
        default: { /* binary operators and two-argument functions */
            dslot a = localise(st[sp - 1], nd, &lv[0], ld[0]), b = localise(st[sp], nd, &lv[1], ld[1]);
            sp--;
            double *dst = buf + (size_t)sp * n, *dd = dbuf + (size_t)sp * dstride;
            size_t m = (a.vs || b.vs) ? n : 1;
            int op = in->op, fn = in->op == OP_F2 ? in->fn : -1;
            if (fn == F_POW)
                op = OP_POW;
            int logical = op >= OP_LT && op <= OP_OR;
            uint64_t mask = logical ? 0 : a.mask | b.mask;
            for (size_t k = 0; k < nd; k++) {
                if (!(mask & BIT(k)))
                    continue;
                for (size_t i = 0; i < m; i++) {
                    double x = a.v[i * a.vs], y = b.v[i * b.vs], da = TAN(a, k, i), db = TAN(b, k, i), r;
                    if (fn == F_ATAN2) {
                        r = (y * da - x * db) / (x * x + y * y);
                    } else if (fn == F_MIN) {
                        r = y < x ? db : da;
                    } else if (fn == F_MAX) {
                        r = y > x ? db : da;
                    } else {
                        switch (op) {
                        case OP_ADD: r = da + db; break;
                        case OP_SUB: r = da - db; break;
                        case OP_MUL: r = da * y + x * db; break;
                        case OP_DIV: r = (da - (x / y) * db) / y; break;
                        default: { /* power */
                            double v = pow(x, y);
                            r = 0;
                            if (da != 0 && y != 0)
                                r += y * pow(x, y - 1) * da;
                            if (db != 0 && v != 0)
                                r += v * log(x) * db;
                            break;
                        }
                        }
                    }
                    dd[k * n + i] = r;
                }
            }
            for (size_t i = 0; i < m; i++) {
                double x = a.v[i * a.vs], y = b.v[i * b.vs];
                dst[i] = fn >= 0 ? apply_f2(fn, x, y) : apply2(op, x, y);
            }
            st[sp] = (dslot){dst, dd, (a.vs || b.vs) ? 1 : 0, n, mask}; /* varying even when n is 1 */
            break;
        }
        }
    }
    dslot r = st[0];
    int uni = r.vs == 0;
    size_t m = uni ? 1 : n;
    for (size_t i = 0; i < m; i++)
        out[i] = r.v[i * r.vs];
    for (size_t k = 0; k < nd; k++)
        for (size_t i = 0; i < m; i++)
            dout[k * n + i] = TAN(r, k, i);
    return uni;
}

int st_expr_eval_d(const st_expr *p, const st_expr_args *a, size_t n, double *out, double *dout,
                   st_expr_work *w, double *dwork)
{
    return vm_d(p, a, n, out, dout, w->buf, dwork);
}

double st_expr_eval_grad(const st_expr *p, const st_expr_args *a, double *grad)
{
    double buf[ST_EXPR_MAXSTACK], v = NAN, dout[ST_EXPR_MAXDERIV];
    double local[ST_EXPR_MAXSTACK * 4 + 1];
    size_t need = st_expr_dwork_size(p, 1);
    double *dwork = need <= sizeof local / sizeof local[0] ? local : malloc(need * sizeof *dwork);
    if (!dwork)
        return NAN;
    vm_d(p, a, 1, &v, dout, buf, dwork);
    if (dwork != local)
        free(dwork);
    if (grad) {
        for (size_t j = 0; j < p->npar; j++)
            grad[j] = 0;
        for (size_t k = 0; k < p->nd; k++)
            grad[p->dpar[k]] = dout[k];
    }
    return v;
}

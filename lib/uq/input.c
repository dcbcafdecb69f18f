/* JSON Lines input (stoch-uq-input(5)): one prompt per line, walked with
 * the pull interface of json.h (simdjson On-Demand) straight into the
 * caller's arena.  Only the parts the requested scores need (ST_UQ_NEED_*)
 * are converted and validated; the rest is skipped, checked for JSON
 * syntax only.  Checks that relate two fields (sizes, sums) run once the
 * object is complete, since JSON keys come in any order. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uq/json.h"
#include "uq/uq.h"

_Static_assert(ST_UQ_PADDING >= ST_JSON_PADDING, "ST_UQ_PADDING below the parser's padding");

typedef struct ctx {
    st_json j;
    st_uq_arena *a;
    unsigned need;
    st_err *e;
    const char *file;
    long line;
} ctx;

/* A field error at column col (0: none). */
static int fail(ctx *c, long col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, long col, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return st_err_set(c->e, ST_EDATA, c->file, c->line, col, "%s", msg);
}

static int nomem(ctx *c, const char *what)
{
    return st_err_nomem(c->e, what);
}

/* Column of the next value. */
static long here(ctx *c)
{
    st_json_peek(&c->j);
    return st_json_col(&c->j);
}

/* "greedy" or "samples[3]", for messages. */
static const char *seq_name(char *buf, size_t n, long idx)
{
    if (idx < 0)
        snprintf(buf, n, "greedy");
    else
        snprintf(buf, n, "samples[%ld]", idx);
    return buf;
}

/* ------------------------------------------------ growing arena arrays */

typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

typedef struct zvec {
    size_t *v;
    size_t n, cap;
} zvec;

static int grow(ctx *c, void **v, size_t *cap, size_t elem)
{
    size_t nc = *cap ? 2 * *cap : 16;
    void *nv = st_uq_arena_grow(c->a, *v, *cap * elem, nc * elem);
    if (!nv)
        return nomem(c, "input line");
    *v = nv;
    *cap = nc;
    return 0;
}

static inline int dpush(ctx *c, dvec *d, double x)
{
    if (d->n == d->cap && grow(c, (void **)&d->v, &d->cap, sizeof *d->v) < 0)
        return ST_ENOMEM;
    d->v[d->n++] = x;
    return 0;
}

static inline int zpush(ctx *c, zvec *z, size_t x)
{
    if (z->n == z->cap && grow(c, (void **)&z->v, &z->cap, sizeof *z->v) < 0)
        return ST_ENOMEM;
    z->v[z->n++] = x;
    return 0;
}

static void *alloc(ctx *c, size_t n, const char *what)
{
    void *p = st_uq_arena_alloc(c->a, n ? n : 1);
    if (!p)
        nomem(c, what);
    return p;
}

/* ------------------------------------------------------ plain values */

/* A field's name for messages, formatted only when a message needs it:
 * base, [idx] when idx >= 0, .field when field is set ("samples[3].logprobs"). */
typedef struct path {
    const char *base;
    long idx;
    const char *field;
} path;

static const char *pstr(const path *p, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s", p->base);
    if (p->idx >= 0 && k >= 0 && (size_t)k < n)
        k += snprintf(buf + k, n - (size_t)k, "[%ld]", p->idx);
    if (p->field && k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, "%s%s", p->field[0] == ' ' ? "" : ".", p->field);
    return buf;
}

/* "name[i1]" or "name[i1][i2]" (i2 < 0: none; i1 < 0: neither). */
static const char *elem(const path *p, long i1, long i2, char *buf, size_t n)
{
    char base[160];
    pstr(p, base, sizeof base);
    if (i1 < 0)
        snprintf(buf, n, "%s", base);
    else if (i2 < 0)
        snprintf(buf, n, "%s[%ld]", base, i1);
    else
        snprintf(buf, n, "%s[%ld][%ld]", base, i1, i2);
    return buf;
}

static int number(ctx *c, double *x, const char *what)
{
    int t = st_json_peek(&c->j);
    if (!st_json_is_number_start(t))
        return fail(c, here(c), "%s is not a number", what);
    return st_json_double(&c->j, x);
}

/* A number that is element [i1][i2] of p (names built only on error). */
static int number_at(ctx *c, double *x, const path *p, long i1, long i2)
{
    int t = st_json_peek(&c->j);
    if (!st_json_is_number_start(t)) {
        char name[256];
        return fail(c, here(c), "%s is not a number", elem(p, i1, i2, name, sizeof name));
    }
    return st_json_double(&c->j, x);
}

/* A log-probability: finite (the parser refuses overflow) and <= 0. */
static int logprob(ctx *c, double *x, const path *what, long i1, long i2)
{
    char name[256];
    int t = st_json_peek(&c->j);
    if (!st_json_is_number_start(t))
        return fail(c, here(c), "%s is not a number (or an object with a numeric \"logprob\")",
                    elem(what, i1, i2, name, sizeof name));
    long col = st_json_col(&c->j);
    int rc = st_json_double(&c->j, x);
    if (rc < 0)
        return rc;
    if (*x > 0)
        return fail(c, col, "%s = %g is a positive log-probability", elem(what, i1, i2, name, sizeof name), *x);
    return 0;
}

/* The "logprob" of a token object {"token": ..., "logprob": x, ...}; with
 * top != NULL its "top_logprobs" list is appended to top (*has_top set). */
static int token_object(ctx *c, double *lp, const path *what, long i1, long i2, dvec *top,
                        int *has_top)
{
    long col = here(c);
    int rc = st_json_object(&c->j);
    int have_lp = 0;
    char name[256];
    if (has_top)
        *has_top = 0;
    const char *k;
    size_t kn;
    for (size_t i = 0; (rc = st_json_key(&c->j, i, &k, &kn)) == 1; i++) {
        if (kn == 7 && memcmp(k, "logprob", 7) == 0) {
            if (have_lp)
                return fail(c, here(c), "%s: \"logprob\" given twice", elem(what, i1, i2, name, sizeof name));
            have_lp = 1;
            if ((rc = logprob(c, lp, what, i1, i2)) < 0)
                return rc;
        } else if (top && kn == 12 && memcmp(k, "top_logprobs", 12) == 0 && st_json_peek(&c->j) != 'n') {
            if (*has_top)
                return fail(c, here(c), "%s: \"top_logprobs\" given twice", elem(what, i1, i2, name, sizeof name));
            *has_top = 1;
            char base[160];
            path tp = {pstr(what, base, sizeof base), -1, " top_logprobs"};
            /* one token's alternatives: a list of numbers or token objects */
            if (st_json_peek(&c->j) != '[')
                return fail(c, here(c), "%s is not a list of alternatives", elem(&tp, i1, -1, name, sizeof name));
            if (st_json_array(&c->j) < 0)
                return c->e->code;
            for (size_t a = 0; (rc = st_json_next(&c->j, a)) == 1; a++) {
                double x;
                if (st_json_peek(&c->j) == '{')
                    rc = token_object(c, &x, &tp, i1, (long)a, NULL, NULL);
                else
                    rc = logprob(c, &x, &tp, i1, (long)a);
                if (rc < 0 || (rc = dpush(c, top, x)) < 0)
                    return rc;
            }
            if (rc < 0)
                return rc;
        } else if ((rc = st_json_skip(&c->j)) < 0) {
            return rc;
        }
    }
    if (rc < 0)
        return rc;
    if (!have_lp)
        return fail(c, col, "%s is not a number (or an object with a numeric \"logprob\")",
                    elem(what, i1, i2, name, sizeof name));
    return 0;
}

/* One token's alternatives: [numbers], [{"logprob": x}, ...] or
 * {"token": x, ...}; appended to top. */
static int top_entry(ctx *c, const path *what, long t, dvec *top)
{
    int ch = st_json_peek(&c->j), rc;
    if (ch == '[') {
        if (st_json_array(&c->j) < 0)
            return c->e->code;
        for (size_t a = 0; (rc = st_json_next(&c->j, a)) == 1; a++) {
            double x;
            if (st_json_peek(&c->j) == '{')
                rc = token_object(c, &x, what, t, (long)a, NULL, NULL);
            else
                rc = logprob(c, &x, what, t, (long)a);
            if (rc < 0 || (rc = dpush(c, top, x)) < 0)
                return rc;
        }
        return rc;
    }
    if (ch == '{') {
        if (st_json_object(&c->j) < 0)
            return c->e->code;
        const char *k;
        size_t kn;
        for (size_t a = 0; (rc = st_json_key(&c->j, a, &k, &kn)) == 1; a++) {
            double x;
            if ((rc = logprob(c, &x, what, t, (long)a)) < 0 || (rc = dpush(c, top, x)) < 0)
                return rc;
        }
        return rc;
    }
    char name[256];
    return fail(c, here(c), "%s is not a list of alternatives", elem(what, t, -1, name, sizeof name));
}

/* A list of top-k entries, one per token: offsets into off (n + 1). */
static int top_list(ctx *c, const path *what, dvec *top, zvec *off)
{
    if (st_json_peek(&c->j) != '[') {
        char name[256];
        return fail(c, here(c), "%s is not a list", pstr(what, name, sizeof name));
    }
    if (st_json_array(&c->j) < 0)
        return c->e->code;
    int rc;
    off->n = 0;
    top->n = 0;
    if ((rc = zpush(c, off, 0)) < 0)
        return rc;
    for (size_t t = 0; (rc = st_json_next(&c->j, t)) == 1; t++)
        if ((rc = top_entry(c, what, (long)t, top)) < 0 || (rc = zpush(c, off, top->n)) < 0)
            return rc;
    return rc;
}

/* A list of numbers in [lo, hi]. */
static int vector(ctx *c, const path *what, double lo, double hi, dvec *out)
{
    char name[256];
    if (st_json_peek(&c->j) != '[')
        return fail(c, here(c), "%s is not a list of numbers", pstr(what, name, sizeof name));
    if (st_json_array(&c->j) < 0)
        return c->e->code;
    int rc;
    for (size_t i = 0; (rc = st_json_next(&c->j, i)) == 1; i++) {
        long vc = here(c);
        double x;
        if ((rc = number_at(c, &x, what, (long)i, -1)) < 0)
            return rc;
        if (!(x >= lo && x <= hi))
            return fail(c, vc, "%s = %g is outside [%g, %g]", elem(what, (long)i, -1, name, sizeof name), x, lo, hi);
        if ((rc = dpush(c, out, x)) < 0)
            return rc;
    }
    return rc;
}

/* ---------------------------------------------------- token log-probs */

typedef struct seq_acc {
    dvec lp;             /* per-token log-probs (kept only if wanted) */
    size_t n;            /* token count */
    double sum;
    int given;           /* logprobs were given */
    dvec otop;           /* top lists inside token objects */
    zvec ooff;
    int obj_top;         /* every token object carried top_logprobs */
    dvec top;            /* a separate top_logprobs list (wins over otop) */
    zvec toff;
    int has_top;
    long top_col;
    dvec lm, rel;        /* lm_logprobs, relevance */
    int has_lm, has_rel;
    long lm_col, rel_col;
} seq_acc;

/* A list of token log-probs (numbers or token objects). */
static int token_list(ctx *c, seq_acc *q, const path *what, int keep, int want_top)
{
    long col = here(c);
    char name[256];
    if (st_json_peek(&c->j) != '[')
        return fail(c, col, "%s is not a list of log-probabilities", pstr(what, name, sizeof name));
    if (st_json_array(&c->j) < 0)
        return c->e->code;
    int rc;
    size_t n = 0;
    double sum = 0;
    q->obj_top = want_top;
    if (want_top && (rc = zpush(c, &q->ooff, 0)) < 0)
        return rc;
    for (; (rc = st_json_next(&c->j, n)) == 1; n++) {
        double x;
        if (st_json_peek(&c->j) == '{') {
            int has_top = 0;
            rc = token_object(c, &x, what, (long)n, -1, want_top ? &q->otop : NULL, &has_top);
            q->obj_top &= has_top;
        } else {
            rc = logprob(c, &x, what, (long)n, -1);
            q->obj_top = 0;
        }
        if (rc < 0)
            return rc;
        sum += x;
        if (keep && (rc = dpush(c, &q->lp, x)) < 0)
            return rc;
        if (want_top && (rc = zpush(c, &q->ooff, q->otop.n)) < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (n == 0)
        return fail(c, col, "%s is empty", pstr(what, name, sizeof name));
    q->n = n;
    q->sum = sum;
    q->given = 1;
    return 0;
}

/* "logprobs": a list, {"content": [...]} or {"token_logprobs": [...],
 * "top_logprobs": [...]}. */
static int logprobs_field(ctx *c, seq_acc *q, const path *what, int keep, int want_top)
{
    char buf[160], name[256];
    if (st_json_peek(&c->j) != '{')
        return token_list(c, q, what, keep, want_top);
    long col = here(c);
    if (st_json_object(&c->j) < 0)
        return c->e->code;
    const char *k;
    size_t kn;
    int rc, lists = 0;
    for (size_t i = 0; (rc = st_json_key(&c->j, i, &k, &kn)) == 1; i++) {
        if ((kn == 7 && memcmp(k, "content", 7) == 0) ||
            (kn == 14 && memcmp(k, "token_logprobs", 14) == 0)) {
            if (st_json_peek(&c->j) != '[') {
                if ((rc = st_json_skip(&c->j)) < 0)
                    return rc;
                continue;
            }
            if (lists++)
                return fail(c, col, "%s has both \"content\" and \"token_logprobs\"",
                            pstr(what, name, sizeof name));
            snprintf(buf, sizeof buf, "%.*s", (int)kn, k);
            path sub = {pstr(what, name, sizeof name), -1, buf};
            char base[256];
            path subp = {pstr(&sub, base, sizeof base), -1, NULL};
            if ((rc = token_list(c, q, &subp, keep, want_top)) < 0)
                return rc;
        } else if (want_top && kn == 12 && memcmp(k, "top_logprobs", 12) == 0 &&
                   !st_json_null(&c->j)) {
            if (q->has_top)
                return fail(c, here(c), "%s: top_logprobs given twice", pstr(what, name, sizeof name));
            q->has_top = 1;
            q->top_col = here(c);
            path tp = {pstr(what, name, sizeof name), -1, "top_logprobs"};
            if ((rc = top_list(c, &tp, &q->top, &q->toff)) < 0)
                return rc;
        } else if ((rc = st_json_skip(&c->j)) < 0) {
            return rc;
        }
    }
    if (rc < 0)
        return rc;
    if (!lists)
        return fail(c, col, "%s is an object without a \"content\" or \"token_logprobs\" list",
                    pstr(what, name, sizeof name));
    return 0;
}

/* --------------------------------------------------------------- claims */

/* The name of label [t][a] (and [sub] of a pair) of a claim's nli. */
static const char *label_name(char *buf, size_t n, const path *p, long t, long a, long sub)
{
    char base[160];
    pstr(p, base, sizeof base);
    if (sub < 0)
        snprintf(buf, n, "%s[%ld][%ld]", base, t, a);
    else
        snprintf(buf, n, "%s[%ld][%ld][%ld]", base, t, a, sub);
    return buf;
}

static int nli_label(ctx *c, unsigned char *out, const path *p, long t, long a, long sub)
{
    long col = here(c);
    int ch = st_json_peek(&c->j), rc;
    char name[256];
    if (ch == '"') {
        char *s;
        if ((rc = st_json_string(&c->j, c->a, &s, NULL)) < 0)
            return rc;
        if (strcmp(s, "entail") == 0 || strcmp(s, "e") == 0)
            *out = ST_UQ_NLI_ENTAIL;
        else if (strcmp(s, "contra") == 0 || strcmp(s, "c") == 0)
            *out = ST_UQ_NLI_CONTRA;
        else if (strcmp(s, "neutral") == 0 || strcmp(s, "n") == 0)
            *out = ST_UQ_NLI_NEUTRAL;
        else
            return fail(c, col, "%s is not \"entail\", \"neutral\" or \"contra\"",
                        label_name(name, sizeof name, p, t, a, sub));
        return 0;
    }
    if (ch == '[' && sub < 0) {
        /* [forward, backward], combined as LM-Polygraph's CCP does: equal
         * labels stay, entail with contra is neutral, else the one that is
         * not neutral */
        unsigned char f, b;
        if (st_json_array(&c->j) < 0)
            return c->e->code;
        if ((rc = st_json_next(&c->j, 0)) != 1 || (rc = nli_label(c, &f, p, t, a, 0)) < 0 ||
            (rc = st_json_next(&c->j, 1)) != 1 || (rc = nli_label(c, &b, p, t, a, 1)) < 0 ||
            (rc = st_json_next(&c->j, 2)) != 0)
            return rc < 0 ? rc
                          : fail(c, col, "%s is not a pair [forward, backward]",
                                 label_name(name, sizeof name, p, t, a, -1));
        if (f == b)
            *out = f;
        else if (f != ST_UQ_NLI_NEUTRAL && b != ST_UQ_NLI_NEUTRAL)
            *out = ST_UQ_NLI_NEUTRAL;
        else
            *out = f != ST_UQ_NLI_NEUTRAL ? f : b;
        return 0;
    }
    return fail(c, col, "%s is not an NLI label (\"entail\", \"neutral\", \"contra\")",
                label_name(name, sizeof name, p, t, a, sub));
}

typedef struct claim_acc {
    long col, nli_col;
    int has_nli;
    zvec nli_off;
} claim_acc;

static int parse_claim(ctx *c, st_uq_claim *cl, claim_acc *ca, size_t idx)
{
    char what[64], buf[128];
    snprintf(what, sizeof what, "greedy.claims[%zu]", idx);
    ca->col = here(c);
    if (st_json_peek(&c->j) != '{')
        return fail(c, ca->col, "%s is not an object", what);
    if (st_json_object(&c->j) < 0)
        return c->e->code;
    cl->correct = NAN;
    cl->p_true = NAN;
    zvec tok = {0};
    dvec nl = {0}; /* labels, stored as doubles while growing */
    int has_tokens = 0, has_span = 0, rc;
    const char *k;
    size_t kn;
    for (size_t i = 0; (rc = st_json_key(&c->j, i, &k, &kn)) == 1; i++) {
        long col = here(c);
        if (st_json_null(&c->j))
            continue;
        if ((kn == 6 && memcmp(k, "tokens", 6) == 0) || (kn == 4 && memcmp(k, "span", 4) == 0)) {
            int span = kn == 4;
            if (has_tokens || has_span)
                return fail(c, col, "%s: give \"tokens\" or \"span\", once", what);
            has_tokens = !span;
            has_span = span;
            snprintf(buf, sizeof buf, "%s.%s", what, span ? "span" : "tokens");
            if (st_json_peek(&c->j) != '[')
                return fail(c, col, "%s is not a list of token indices", buf);
            if (st_json_array(&c->j) < 0)
                return c->e->code;
            for (size_t t = 0; (rc = st_json_next(&c->j, t)) == 1; t++) {
                long long v;
                long vc = here(c);
                double d;
                int is_int = 0;
                if (!st_json_is_number_start(st_json_peek(&c->j)) ||
                    (rc = st_json_number(&c->j, &d, &is_int, &v)) < 0 || !is_int || v < 0)
                    return rc < 0 ? rc : fail(c, vc, "%s[%zu] is not a token index (an integer >= 0)", buf, t);
                if ((rc = zpush(c, &tok, (size_t)v)) < 0)
                    return rc;
            }
            if (rc < 0)
                return rc;
            if (span) {
                if (tok.n != 2 || tok.v[1] <= tok.v[0])
                    return fail(c, col, "%s must be [start, end) with start < end", buf);
                size_t s0 = tok.v[0], s1 = tok.v[1];
                tok.n = 0;
                for (size_t t = s0; t < s1; t++)
                    if ((rc = zpush(c, &tok, t)) < 0)
                        return rc;
            } else if (tok.n == 0) {
                return fail(c, col, "%s is empty", buf);
            }
        } else if (kn == 7 && memcmp(k, "correct", 7) == 0) {
            int ch = st_json_peek(&c->j), b;
            double x = NAN;
            if (ch == 't' || ch == 'f') {
                if ((rc = st_json_bool(&c->j, &b)) < 0)
                    return rc;
                x = b;
            } else if (st_json_is_number_start(ch)) {
                if ((rc = number(c, &x, "correct")) < 0)
                    return rc;
            }
            if (!(x == 0 || x == 1))
                return fail(c, col, "%s.correct must be 0, 1, true or false", what);
            cl->correct = x;
        } else if ((c->need & ST_UQ_NEED_P_TRUE) && kn == 14 && memcmp(k, "p_true_logprob", 14) == 0) {
            path pp = {"greedy.claims", (long)idx, "p_true_logprob"};
            if ((rc = logprob(c, &cl->p_true, &pp, -1, -1)) < 0)
                return rc;
        } else if ((c->need & ST_UQ_NEED_CLAIM_NLI) && kn == 3 && memcmp(k, "nli", 3) == 0) {
            ca->has_nli = 1;
            ca->nli_col = col;
            snprintf(buf, sizeof buf, "%s.nli", what);
            path np = {"greedy.claims", (long)idx, "nli"};
            if (st_json_peek(&c->j) != '[')
                return fail(c, col, "%s is not a list (one list of labels per claim token)", buf);
            if (st_json_array(&c->j) < 0)
                return c->e->code;
            if ((rc = zpush(c, &ca->nli_off, 0)) < 0)
                return rc;
            for (size_t t = 0; (rc = st_json_next(&c->j, t)) == 1; t++) {
                long tc = here(c);
                if (st_json_peek(&c->j) != '[')
                    return fail(c, tc, "%s[%zu] is not a list of labels", buf, t);
                if (st_json_array(&c->j) < 0)
                    return c->e->code;
                for (size_t a = 0; (rc = st_json_next(&c->j, a)) == 1; a++) {
                    unsigned char lab;
                    if ((rc = nli_label(c, &lab, &np, (long)t, (long)a, -1)) < 0 || (rc = dpush(c, &nl, lab)) < 0)
                        return rc;
                }
                if (rc < 0 || (rc = zpush(c, &ca->nli_off, nl.n)) < 0)
                    return rc;
            }
            if (rc < 0)
                return rc;
        } else if ((rc = st_json_skip(&c->j)) < 0) {
            return rc;
        }
    }
    if (rc < 0)
        return rc;
    if (!has_tokens && !has_span)
        return fail(c, ca->col, "%s has no \"tokens\" (or \"span\")", what);
    cl->tok = tok.v;
    cl->ntok = tok.n;
    if (ca->has_nli) {
        cl->nli = alloc(c, nl.n, "claims");
        if (!cl->nli)
            return ST_ENOMEM;
        for (size_t i = 0; i < nl.n; i++)
            cl->nli[i] = (unsigned char)nl.v[i];
        cl->nli_off = ca->nli_off.v;
    }
    return 0;
}

static int claims_field(ctx *c, st_uq_prompt *p, claim_acc **cas)
{
    long col = here(c);
    if (st_json_peek(&c->j) != '[')
        return fail(c, col, "greedy.claims is not a list");
    if (st_json_array(&c->j) < 0)
        return c->e->code;
    size_t cap = 0, n = 0;
    st_uq_claim *cl = NULL;
    claim_acc *ca = NULL;
    int rc;
    for (; (rc = st_json_next(&c->j, n)) == 1; n++) {
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 8;
            st_uq_claim *a1 = st_uq_arena_grow(c->a, cl, cap * sizeof *cl, nc * sizeof *cl);
            claim_acc *a2 = a1 ? st_uq_arena_grow(c->a, ca, cap * sizeof *ca, nc * sizeof *ca) : NULL;
            if (!a2)
                return nomem(c, "claims");
            cl = a1;
            ca = a2;
            cap = nc;
        }
        memset(&cl[n], 0, sizeof cl[n]);
        memset(&ca[n], 0, sizeof ca[n]);
        if ((rc = parse_claim(c, &cl[n], &ca[n], n)) < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    p->claims = cl ? cl : alloc(c, sizeof *cl, "claims");
    p->nclaims = n;
    *cas = ca;
    return p->claims ? 0 : ST_ENOMEM;
}

/* --------------------------------------------------------- sequences */

typedef struct seq_ctx {
    long col;
    long sl_col, nt_col, ge_col, gc_col;
    int has_sum, has_nt;
    double given_sum, given_nt;
    dvec ge, gc;            /* greedy.entail, greedy.contra */
    int has_ge, has_gc;
    claim_acc *claims;
} seq_ctx;

static int parse_seq(ctx *c, st_uq_prompt *p, st_uq_seq *s, long idx, seq_acc *q, seq_ctx *x)
{
    int greedy = idx < 0;
    unsigned need = c->need;
    int want_lp, keep, want_top, want_text, want_rel, want_cluster;
    if (greedy) {
        want_lp = (need & (ST_UQ_NEED_GREEDY_SUM | ST_UQ_NEED_GREEDY_TOKENS | ST_UQ_NEED_GREEDY_TOP |
                           ST_UQ_NEED_GREEDY_LM | ST_UQ_NEED_GREEDY_REL | ST_UQ_NEED_CLAIMS)) != 0;
        keep = (need & ST_UQ_NEED_GREEDY_TOKENS) != 0;
        want_top = (need & ST_UQ_NEED_GREEDY_TOP) != 0;
        want_text = 0;
        want_rel = (need & ST_UQ_NEED_GREEDY_REL) != 0;
        want_cluster = 0;
    } else {
        want_lp = (need & (ST_UQ_NEED_SAMPLE_SUM | ST_UQ_NEED_SAMPLE_TOKENS | ST_UQ_NEED_SAMPLE_REL)) != 0;
        keep = (need & ST_UQ_NEED_SAMPLE_TOKENS) != 0;
        want_top = 0;
        want_text = (need & ST_UQ_NEED_SAMPLE_TEXT) != 0;
        want_rel = (need & ST_UQ_NEED_SAMPLE_REL) != 0;
        want_cluster = (need & ST_UQ_NEED_SAMPLE_CLUSTER) != 0;
    }
    char name[48], buf[96];
    s->sum_logprob = NAN;
    s->n_tokens = NAN;
    s->cluster = -1;
    x->col = here(c);
    if (st_json_peek(&c->j) != '{')
        return fail(c, x->col, "%s is not an object", seq_name(name, sizeof name, idx));
    if (st_json_object(&c->j) < 0)
        return c->e->code;
    const char *k;
    size_t kn;
    int rc;
    for (size_t i = 0; (rc = st_json_key(&c->j, i, &k, &kn)) == 1; i++) {
        long col = here(c);
#define KEY(lit) (kn == sizeof(lit) - 1 && memcmp(k, lit, kn) == 0)
        if (st_json_peek(&c->j) == 'n') {
            if ((rc = st_json_skip(&c->j)) < 0) /* null: absent */
                return rc;
            continue;
        }
        if (want_lp && KEY("logprobs")) {
            if (q->given)
                return fail(c, col, "%s: logprobs given twice", seq_name(name, sizeof name, idx));
            path lp = {greedy ? "greedy" : "samples", idx, "logprobs"};
            if ((rc = logprobs_field(c, q, &lp, keep, want_top)) < 0)
                return rc;
        } else if (want_top && KEY("top_logprobs")) {
            if (q->has_top)
                return fail(c, col, "%s: top_logprobs given twice", seq_name(name, sizeof name, idx));
            q->has_top = 1;
            q->top_col = col;
            path tp = {greedy ? "greedy" : "samples", idx, "top_logprobs"};
            if ((rc = top_list(c, &tp, &q->top, &q->toff)) < 0)
                return rc;
        } else if (want_lp && KEY("sum_logprob")) {
            path sp = {greedy ? "greedy" : "samples", idx, "sum_logprob"};
            double v;
            if ((rc = number_at(c, &v, &sp, -1, -1)) < 0)
                return rc;
            if (v > 0)
                return fail(c, col, "%s = %g is not a finite log-probability <= 0", pstr(&sp, buf, sizeof buf), v);
            x->has_sum = 1;
            x->given_sum = v;
            x->sl_col = col;
        } else if (want_lp && KEY("n_tokens")) {
            long long v;
            double d;
            int is_int = 0;
            if (!st_json_is_number_start(st_json_peek(&c->j)) ||
                (rc = st_json_number(&c->j, &d, &is_int, &v)) < 0 || !is_int || v < 1)
                return rc < 0 ? rc
                              : fail(c, col, "%s.n_tokens is not a positive integer", seq_name(name, sizeof name, idx));
            x->has_nt = 1;
            x->given_nt = (double)v;
            x->nt_col = col;
        } else if (want_cluster && KEY("cluster")) {
            long long v;
            double d;
            int is_int = 0;
            if (!st_json_is_number_start(st_json_peek(&c->j)) ||
                (rc = st_json_number(&c->j, &d, &is_int, &v)) < 0 || !is_int || v < 0 || v > 0x7fffffffL)
                return rc < 0 ? rc
                              : fail(c, col, "%s.cluster is not a non-negative integer",
                                     seq_name(name, sizeof name, idx));
            s->cluster = (long)v;
        } else if (want_text && KEY("text")) {
            if (st_json_peek(&c->j) != '"')
                return fail(c, col, "%s.text is not a string", seq_name(name, sizeof name, idx));
            if ((rc = st_json_string(&c->j, c->a, &s->text, NULL)) < 0)
                return rc;
        } else if (want_rel && KEY("relevance")) {
            path rp = {greedy ? "greedy" : "samples", idx, "relevance"};
            q->has_rel = 1;
            q->rel_col = col;
            if ((rc = vector(c, &rp, 0, INFINITY, &q->rel)) < 0)
                return rc;
        } else if (greedy && (need & ST_UQ_NEED_GREEDY_LM) && KEY("lm_logprobs")) {
            q->has_lm = 1;
            q->lm_col = col;
            path lp = {"greedy.lm_logprobs", -1, NULL};
            if ((rc = vector(c, &lp, -INFINITY, 0, &q->lm)) < 0)
                return rc;
        } else if (greedy && (need & ST_UQ_NEED_GREEDY_NLI) && (KEY("entail") || KEY("contra"))) {
            int e = KEY("entail");
            if (e ? x->has_ge : x->has_gc)
                return fail(c, col, "greedy.%s given twice", e ? "entail" : "contra");
            *(e ? &x->has_ge : &x->has_gc) = 1;
            *(e ? &x->ge_col : &x->gc_col) = col;
            path gp = {e ? "greedy.entail" : "greedy.contra", -1, NULL};
            if ((rc = vector(c, &gp, 0, 1, e ? &x->ge : &x->gc)) < 0)
                return rc;
        } else if (greedy && (need & ST_UQ_NEED_P_TRUE) && KEY("p_true_logprob")) {
            path pp = {"greedy.p_true_logprob", -1, NULL};
            if ((rc = logprob(c, &p->p_true, &pp, -1, -1)) < 0)
                return rc;
        } else if (greedy && (need & ST_UQ_NEED_CLAIMS) && KEY("claims")) {
            if (p->claims)
                return fail(c, col, "greedy.claims given twice");
            if ((rc = claims_field(c, p, &x->claims)) < 0)
                return rc;
        } else if ((rc = st_json_skip(&c->j)) < 0) {
            return rc;
        }
#undef KEY
    }
    return rc;
}

/* Checks across the fields of one sequence, then fill s. */
static int finish_seq(ctx *c, st_uq_seq *s, long idx, seq_acc *q, seq_ctx *x)
{
    char name[48];
    if (q->given) {
        s->ntok = q->n;
        s->sum_logprob = q->sum;
        s->n_tokens = (double)q->n;
        s->logprobs = q->lp.n ? q->lp.v : NULL;
        if (x->has_sum && fabs(x->given_sum - q->sum) > 1e-6 * (1 + fabs(x->given_sum)))
            return fail(c, x->sl_col, "%s.sum_logprob = %.17g disagrees with the sum of its logprobs (%.17g)",
                        seq_name(name, sizeof name, idx), x->given_sum, q->sum);
        if (x->has_nt && x->given_nt != (double)q->n)
            return fail(c, x->nt_col, "%s.n_tokens = %g but logprobs has %zu entries",
                        seq_name(name, sizeof name, idx), x->given_nt, q->n);
    }
    if (x->has_sum)
        s->sum_logprob = x->given_sum;
    if (x->has_nt)
        s->n_tokens = x->given_nt;
    const dvec *top = q->has_top ? &q->top : q->obj_top && q->given ? &q->otop : NULL;
    const zvec *off = q->has_top ? &q->toff : &q->ooff;
    if (top) {
        if (!q->given)
            return fail(c, q->top_col, "%s.top_logprobs given without %s.logprobs",
                        seq_name(name, sizeof name, idx), seq_name(name, sizeof name, idx));
        if (off->n - 1 != q->n)
            return fail(c, q->top_col, "%s.top_logprobs has %zu entries but there are %zu token log-probs",
                        seq_name(name, sizeof name, idx), off->n - 1, q->n);
        s->top = top->v ? top->v : st_uq_arena_alloc(c->a, sizeof(double));
        s->top_off = off->v;
        if (!s->top)
            return nomem(c, "top_logprobs");
    }
    if (q->has_lm) {
        if (!q->given || q->lm.n != q->n)
            return fail(c, q->lm_col, "greedy.lm_logprobs has %zu entries but there are %zu token log-probs",
                        q->lm.n, q->n);
        s->lm_logprobs = q->lm.v;
    }
    if (q->has_rel) {
        if (!q->given || q->rel.n != q->n)
            return fail(c, q->rel_col, "%s.relevance has %zu entries but there are %zu token log-probs",
                        seq_name(name, sizeof name, idx), q->rel.n, q->n);
        s->relevance = q->rel.v;
    }
    return 0;
}

/* ----------------------------------------------------------- matrices */

/* A square matrix of values in [0, 1]; its size from the data (rows),
 * checked against m once the object is complete. */
static int matrix(ctx *c, const char *what, double **out, size_t *n)
{
    long col = here(c);
    if (st_json_peek(&c->j) != '[')
        return fail(c, col, "%s is not a list of rows", what);
    if (st_json_array(&c->j) < 0)
        return c->e->code;
    dvec v = {0};
    size_t rows = 0, width = 0;
    int rc;
    for (; (rc = st_json_next(&c->j, rows)) == 1; rows++) {
        long rcol = here(c);
        if (st_json_peek(&c->j) != '[')
            return fail(c, rcol, "%s row %zu is not a list", what, rows);
        if (st_json_array(&c->j) < 0)
            return c->e->code;
        size_t cnt = 0;
        path mp = {what, -1, NULL};
        for (; (rc = st_json_next(&c->j, cnt)) == 1; cnt++) {
            long vc = here(c);
            double x;
            char name[256];
            if ((rc = number_at(c, &x, &mp, (long)rows, (long)cnt)) < 0)
                return rc;
            if (!(x >= 0 && x <= 1))
                return fail(c, vc, "%s = %g is outside [0, 1]", elem(&mp, (long)rows, (long)cnt, name, sizeof name), x);
            if (rows > 0 && cnt >= width)
                return fail(c, vc, "%s row %zu has more than %zu entries", what, rows, width);
            if ((rc = dpush(c, &v, x)) < 0)
                return rc;
        }
        if (rc < 0)
            return rc;
        if (rows == 0)
            width = cnt;
        else if (cnt != width)
            return fail(c, rcol, "%s row %zu has %zu entries, expected %zu", what, rows, cnt, width);
        if (width == 0)
            return fail(c, rcol, "%s row 0 is empty", what);
    }
    if (rc < 0)
        return rc;
    if (rows == 0)
        return fail(c, col, "%s is empty", what);
    if (rows != width)
        return fail(c, col, "%s has %zu rows, expected %zu", what, rows, width);
    *out = v.v;
    *n = rows;
    return 0;
}

/* rows x dim embeddings. */
static int embeddings(ctx *c, const char *what, double **out, size_t *rows, size_t *dim)
{
    long col = here(c);
    if (st_json_peek(&c->j) != '[')
        return fail(c, col, "%s is not a list of vectors", what);
    if (st_json_array(&c->j) < 0)
        return c->e->code;
    dvec v = {0};
    size_t r = 0, d = 0;
    int rc;
    for (; (rc = st_json_next(&c->j, r)) == 1; r++) {
        long rcol = here(c);
        if (st_json_peek(&c->j) != '[')
            return fail(c, rcol, r ? "%s[%zu] is not a list of numbers" : "%s[%zu] is not a non-empty list of numbers",
                        what, r);
        if (st_json_array(&c->j) < 0)
            return c->e->code;
        size_t cnt = 0;
        path ep = {what, -1, NULL};
        for (; (rc = st_json_next(&c->j, cnt)) == 1; cnt++) {
            double x;
            if (!st_json_is_number_start(st_json_peek(&c->j))) {
                char name[256];
                return fail(c, here(c), "%s is not a finite number", elem(&ep, (long)r, (long)cnt, name, sizeof name));
            }
            if ((rc = number_at(c, &x, &ep, (long)r, (long)cnt)) < 0 || (rc = dpush(c, &v, x)) < 0)
                return rc;
        }
        if (rc < 0)
            return rc;
        if (r == 0) {
            if (cnt == 0)
                return fail(c, rcol, "%s[0] is not a non-empty list of numbers", what);
            d = cnt;
        } else if (cnt != d) {
            return fail(c, rcol, "%s[%zu] has %zu entries, expected %zu", what, r, cnt, d);
        }
    }
    if (rc < 0)
        return rc;
    if (r == 0)
        return fail(c, col, "%s is empty", what);
    *out = v.v;
    *rows = r;
    *dim = d;
    return 0;
}

typedef struct inputs_acc {
    long col, map_col, sim_col, emb_col;
    int has_map;
    dvec map;
    size_t ksim, kemb;
} inputs_acc;

static int inputs_field(ctx *c, st_uq_prompt *p, inputs_acc *ia)
{
    ia->col = here(c);
    if (st_json_peek(&c->j) != '{')
        return fail(c, ia->col, "inputs is not an object");
    if (st_json_object(&c->j) < 0)
        return c->e->code;
    const char *k;
    size_t kn;
    int rc;
    for (size_t i = 0; (rc = st_json_key(&c->j, i, &k, &kn)) == 1; i++) {
        long col = here(c);
        if (st_json_null(&c->j))
            continue;
        if (kn == 3 && memcmp(k, "map", 3) == 0) {
            ia->has_map = 1;
            ia->map_col = col;
            if (st_json_peek(&c->j) != '[')
                return fail(c, col, "inputs.map must list one input index per sample");
            if (st_json_array(&c->j) < 0)
                return c->e->code;
            for (size_t t = 0; (rc = st_json_next(&c->j, t)) == 1; t++) {
                long long v;
                long vc = here(c);
                double d;
                int is_int = 0;
                if (!st_json_is_number_start(st_json_peek(&c->j)) ||
                    (rc = st_json_number(&c->j, &d, &is_int, &v)) < 0 || !is_int || v < 0)
                    return rc < 0 ? rc : fail(c, vc, "inputs.map[%zu] is not an input index", t);
                if ((rc = dpush(c, &ia->map, (double)v)) < 0)
                    return rc;
            }
            if (rc < 0)
                return rc;
        } else if (kn == 3 && memcmp(k, "sim", 3) == 0) {
            ia->sim_col = col;
            if ((rc = matrix(c, "inputs.sim", &p->in_sim, &ia->ksim)) < 0)
                return rc;
        } else if (kn == 10 && memcmp(k, "embeddings", 10) == 0) {
            ia->emb_col = col;
            if ((rc = embeddings(c, "inputs.embeddings", &p->in_emb, &ia->kemb, &p->in_dim)) < 0)
                return rc;
        } else if ((rc = st_json_skip(&c->j)) < 0) {
            return rc;
        }
    }
    return rc;
}

/* ------------------------------------------------------------ prompt */

static int parse_id(ctx *c, st_uq_prompt *p)
{
    long col = here(c);
    int ch = st_json_peek(&c->j), rc;
    p->id_num = NAN;
    if (st_json_is_number_start(ch)) {
        double x;
        int is_int;
        long long v;
        if ((rc = st_json_number(&c->j, &x, &is_int, &v)) < 0)
            return rc;
        if (!is_int)
            return fail(c, col, "\"id\" must be a string or an integer");
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", v);
        p->id = alloc(c, (size_t)n + 1, "id");
        if (!p->id)
            return ST_ENOMEM;
        memcpy(p->id, buf, (size_t)n + 1);
        if (v >= -(1LL << 53) && v <= (1LL << 53)) {
            p->id_is_int = 1;
            p->id_num = (double)v;
        }
        return 0;
    }
    if (ch != '"')
        return fail(c, col, "\"id\" must be a string or an integer");
    size_t n;
    if ((rc = st_json_string(&c->j, c->a, &p->id, &n)) < 0)
        return rc;
    if (n == 0)
        return fail(c, col, "id is an empty string");
    p->id_is_int = st_uq_id_integer(p->id, &p->id_num);
    return 0;
}

int st_uq_id_integer(const char *s, double *v)
{
    /* decimal digits, no sign, no leading zeros, at most 15 (exact in a double) */
    size_t n = strlen(s);
    int digits = n > 0 && n <= 15 && (s[0] != '0' || n == 1);
    for (size_t i = 0; i < n && digits; i++)
        digits = s[i] >= '0' && s[i] <= '9';
    *v = digits ? strtod(s, NULL) : NAN;
    return digits;
}

static int label(ctx *c, const char *k, double *out)
{
    long col = here(c);
    int ch = st_json_peek(&c->j), rc;
    double x = NAN;
    if (strcmp(k, "correct") == 0) {
        if (ch == 't' || ch == 'f') {
            int b;
            if ((rc = st_json_bool(&c->j, &b)) < 0)
                return rc;
            x = b;
        } else if (st_json_is_number_start(ch)) {
            if ((rc = number(c, &x, k)) < 0)
                return rc;
        }
        if (!(x == 0 || x == 1))
            return fail(c, col, "correct must be 0, 1, true or false");
    } else if (strcmp(k, "quality") == 0) {
        if (st_json_is_number_start(ch) && (rc = number(c, &x, k)) < 0)
            return rc;
        if (!(x >= 0 && x <= 1))
            return fail(c, col, "quality must be a number in [0, 1]");
    } else {
        if (st_json_is_number_start(ch) && (rc = number(c, &x, k)) < 0)
            return rc;
        if (!(x >= 0))
            return fail(c, col, "temperature must be a finite number >= 0");
    }
    *out = x;
    return 0;
}

/* Closure of the needs: what a part needs to be checked and sized. */
static unsigned close_needs(unsigned need)
{
    if (need & ST_UQ_NEED_CLAIM_NLI)
        need |= ST_UQ_NEED_CLAIMS | ST_UQ_NEED_GREEDY_TOP;
    if (need & (ST_UQ_NEED_SAMPLE_SUM | ST_UQ_NEED_SAMPLE_TOKENS | ST_UQ_NEED_SAMPLE_REL |
                ST_UQ_NEED_SAMPLE_TEXT | ST_UQ_NEED_SAMPLE_CLUSTER | ST_UQ_NEED_ENTAIL |
                ST_UQ_NEED_CONTRA | ST_UQ_NEED_SIM | ST_UQ_NEED_EMB | ST_UQ_NEED_INPUTS |
                ST_UQ_NEED_GREEDY_NLI))
        need |= ST_UQ_NEED_SAMPLES;
    return need;
}

#define GREEDY_NEEDS                                                                            \
    (ST_UQ_NEED_GREEDY_SUM | ST_UQ_NEED_GREEDY_TOKENS | ST_UQ_NEED_GREEDY_TOP |                 \
     ST_UQ_NEED_GREEDY_LM | ST_UQ_NEED_GREEDY_REL | ST_UQ_NEED_GREEDY_NLI | ST_UQ_NEED_P_TRUE | \
     ST_UQ_NEED_CLAIMS | ST_UQ_NEED_CLAIM_NLI)

static int parse_prompt(ctx *c, st_uq_prompt *p)
{
    unsigned need = c->need;
    long col0 = here(c);
    if (st_json_peek(&c->j) != '{') {
        if (st_json_peek(&c->j) == '[' || st_json_peek(&c->j) == '"' ||
            st_json_is_number_start(st_json_peek(&c->j)))
            return fail(c, col0, "a line must hold one JSON object");
        return st_json_object(&c->j); /* malformed JSON */
    }
    if (st_json_object(&c->j) < 0)
        return c->e->code;
    int has_id = 0, rc;
    seq_acc gq;
    seq_ctx gx;
    memset(&gq, 0, sizeof gq);
    memset(&gx, 0, sizeof gx);
    seq_acc *sq = NULL;
    seq_ctx *sx = NULL;
    size_t scap = 0;
    long samples_col = 0, mat_col[3] = {0, 0, 0}, emb_col = 0;
    size_t mat_n[3] = {0, 0, 0}, emb_rows = 0;
    int has_samples = 0, has_inputs = 0, has_label[3] = {0, 0, 0};
    inputs_acc ia;
    memset(&ia, 0, sizeof ia);
    static const char *const mats[] = {"entail", "contra", "sim"};
    static const unsigned mat_need[] = {ST_UQ_NEED_ENTAIL, ST_UQ_NEED_CONTRA, ST_UQ_NEED_SIM};
    double **mat_dst[] = {&p->entail, &p->contra, &p->sim};
    static const char *const labels[] = {"correct", "quality", "temperature"};
    double *label_dst[] = {&p->correct, &p->quality, &p->temperature};
    const char *k;
    size_t kn;
    for (size_t i = 0; (rc = st_json_key(&c->j, i, &k, &kn)) == 1; i++) {
        long col = here(c);
#define KEY(lit) (kn == sizeof(lit) - 1 && memcmp(k, lit, kn) == 0)
        if (KEY("id")) {
            if (has_id)
                return fail(c, col, "\"id\" given twice");
            has_id = 1;
            if ((rc = parse_id(c, p)) < 0)
                return rc;
            continue;
        }
        if (st_json_peek(&c->j) == 'n') { /* null: absent */
            if ((rc = st_json_skip(&c->j)) < 0)
                return rc;
            continue;
        }
        int m_k = -1, l_k = -1;
        for (int t = 0; t < 3; t++) {
            if (strlen(mats[t]) == kn && memcmp(k, mats[t], kn) == 0)
                m_k = t;
            if (strlen(labels[t]) == kn && memcmp(k, labels[t], kn) == 0)
                l_k = t;
        }
        if (KEY("greedy") && (need & GREEDY_NEEDS)) {
            if (p->has_greedy)
                return fail(c, col, "\"greedy\" given twice");
            p->has_greedy = 1;
            if ((rc = parse_seq(c, p, &p->greedy, -1, &gq, &gx)) < 0)
                return rc;
        } else if (KEY("samples") && (need & ST_UQ_NEED_SAMPLES)) {
            if (has_samples)
                return fail(c, col, "\"samples\" given twice");
            has_samples = 1;
            samples_col = col;
            if (st_json_peek(&c->j) != '[')
                return fail(c, col, "samples is not a list");
            if (st_json_array(&c->j) < 0)
                return c->e->code;
            size_t n = 0;
            for (; (rc = st_json_next(&c->j, n)) == 1; n++) {
                if (n == scap) {
                    size_t nc = scap ? 2 * scap : 16;
                    st_uq_seq *a1 = st_uq_arena_grow(c->a, p->samples, scap * sizeof *a1, nc * sizeof *a1);
                    seq_acc *a2 = a1 ? st_uq_arena_grow(c->a, sq, scap * sizeof *a2, nc * sizeof *a2) : NULL;
                    seq_ctx *a3 = a2 ? st_uq_arena_grow(c->a, sx, scap * sizeof *a3, nc * sizeof *a3) : NULL;
                    if (!a3)
                        return nomem(c, "samples");
                    p->samples = a1;
                    sq = a2;
                    sx = a3;
                    scap = nc;
                }
                memset(&p->samples[n], 0, sizeof p->samples[n]);
                memset(&sq[n], 0, sizeof sq[n]);
                memset(&sx[n], 0, sizeof sx[n]);
                if ((rc = parse_seq(c, p, &p->samples[n], (long)n, &sq[n], &sx[n])) < 0)
                    return rc;
            }
            if (rc < 0)
                return rc;
            if (n == 0)
                return fail(c, col, "samples is an empty list");
            p->m = n;
        } else if (m_k >= 0 && (need & mat_need[m_k])) {
            if (*mat_dst[m_k])
                return fail(c, col, "\"%s\" given twice", mats[m_k]);
            mat_col[m_k] = col;
            if ((rc = matrix(c, mats[m_k], mat_dst[m_k], &mat_n[m_k])) < 0)
                return rc;
        } else if (KEY("embeddings") && (need & ST_UQ_NEED_EMB)) {
            if (p->emb)
                return fail(c, col, "\"embeddings\" given twice");
            emb_col = col;
            if ((rc = embeddings(c, "embeddings", &p->emb, &emb_rows, &p->dim)) < 0)
                return rc;
        } else if (KEY("inputs") && (need & ST_UQ_NEED_INPUTS)) {
            if (has_inputs)
                return fail(c, col, "\"inputs\" given twice");
            has_inputs = 1;
            if ((rc = inputs_field(c, p, &ia)) < 0)
                return rc;
        } else if (l_k >= 0) {
            if (has_label[l_k])
                return fail(c, col, "\"%s\" given twice", labels[l_k]);
            has_label[l_k] = 1;
            if ((rc = label(c, labels[l_k], label_dst[l_k])) < 0)
                return rc;
        } else if ((rc = st_json_skip(&c->j)) < 0) {
            return rc;
        }
#undef KEY
    }
    if (rc < 0)
        return rc;
    if ((rc = st_json_end(&c->j)) < 0)
        return rc;

    /* ---- checks across fields ---- */
    if (!has_id)
        return fail(c, 0, "missing \"id\"");
    size_t m = p->m;
    if (p->has_greedy && (rc = finish_seq(c, &p->greedy, -1, &gq, &gx)) < 0)
        return rc;
    size_t with_cluster = 0;
    for (size_t i = 0; i < m; i++) {
        if ((rc = finish_seq(c, &p->samples[i], (long)i, &sq[i], &sx[i])) < 0)
            return rc;
        with_cluster += p->samples[i].cluster >= 0;
    }
    if (with_cluster && with_cluster != m)
        return fail(c, samples_col, "cluster is given for %zu of %zu samples: give it for all or none",
                    with_cluster, m);
    for (int t = 0; t < 3; t++) {
        if (!*mat_dst[t])
            continue;
        if (!has_samples)
            return fail(c, mat_col[t], "%s given without samples", mats[t]);
        if (mat_n[t] != m)
            return fail(c, mat_col[t], "%s has %zu rows, expected %zu", mats[t], mat_n[t], m);
    }
    if (p->entail && p->contra)
        for (size_t i = 0; i < m * m; i++)
            if (p->entail[i] + p->contra[i] > 1 + 1e-9)
                return fail(c, mat_col[1], "entail[%zu][%zu] + contra[%zu][%zu] = %g exceeds 1", i / m,
                            i % m, i / m, i % m, p->entail[i] + p->contra[i]);
    if (p->emb) {
        if (!has_samples)
            return fail(c, emb_col, "embeddings given without samples");
        if (emb_rows != m)
            return fail(c, emb_col, "embeddings has %zu vectors, expected %zu (one per sample)", emb_rows, m);
    }
    if (gx.has_ge || gx.has_gc) {
        if (!has_samples)
            return fail(c, gx.has_ge ? gx.ge_col : gx.gc_col, "greedy.entail/contra given without samples");
        if (gx.has_ge && gx.ge.n != m)
            return fail(c, gx.ge_col, "greedy.entail has %zu entries, expected %zu (one per sample)", gx.ge.n, m);
        if (gx.has_gc && gx.gc.n != m)
            return fail(c, gx.gc_col, "greedy.contra has %zu entries, expected %zu (one per sample)", gx.gc.n, m);
        p->g_entail = gx.has_ge ? gx.ge.v : NULL;
        p->g_contra = gx.has_gc ? gx.gc.v : NULL;
        if (p->g_entail && p->g_contra)
            for (size_t i = 0; i < m; i++)
                if (p->g_entail[i] + p->g_contra[i] > 1 + 1e-9)
                    return fail(c, gx.gc_col, "greedy.entail[%zu] + greedy.contra[%zu] = %g exceeds 1", i, i,
                                p->g_entail[i] + p->g_contra[i]);
    }
    if (p->claims) {
        size_t nt = p->greedy.ntok;
        for (size_t q = 0; q < p->nclaims; q++) {
            st_uq_claim *cl = &p->claims[q];
            claim_acc *ca = &gx.claims[q];
            for (size_t t = 0; t < cl->ntok; t++)
                if (cl->tok[t] >= nt)
                    return fail(c, ca->col, "greedy.claims[%zu] names token %zu, but greedy.logprobs has %zu tokens",
                                q, cl->tok[t], nt);
            if (ca->has_nli) {
                if (ca->nli_off.n - 1 != cl->ntok)
                    return fail(c, ca->nli_col, "greedy.claims[%zu].nli has %zu entries, expected %zu (one per claim token)",
                                q, ca->nli_off.n - 1, cl->ntok);
                if (!p->greedy.top_off) {
                    cl->nli = NULL; /* CCP needs the alternatives: NaN */
                    continue;
                }
                for (size_t t = 0; t < cl->ntok; t++) {
                    size_t want = p->greedy.top_off[cl->tok[t] + 1] - p->greedy.top_off[cl->tok[t]];
                    size_t got = cl->nli_off[t + 1] - cl->nli_off[t];
                    if (got != want)
                        return fail(c, ca->nli_col, "greedy.claims[%zu].nli[%zu] has %zu labels but token %zu has %zu alternatives",
                                    q, t, got, cl->tok[t], want);
                }
            }
        }
    }
    if (has_inputs) {
        if (!has_samples)
            return fail(c, ia.col, "inputs given without samples");
        if (!ia.has_map)
            return fail(c, ia.col, "inputs has no \"map\" (the input each sample answers)");
        if (!p->in_sim && !p->in_emb)
            return fail(c, ia.col, "inputs needs \"sim\" or \"embeddings\"");
        if (p->in_sim && p->in_emb && ia.ksim != ia.kemb)
            return fail(c, ia.emb_col, "inputs.embeddings has %zu vectors, expected %zu", ia.kemb, ia.ksim);
        p->k = p->in_sim ? ia.ksim : ia.kemb;
        if (ia.map.n != m)
            return fail(c, ia.map_col, "inputs.map must list one input index per sample (%zu)", m);
        p->in_map = alloc(c, m * sizeof *p->in_map, "inputs.map");
        if (!p->in_map)
            return ST_ENOMEM;
        for (size_t i = 0; i < m; i++) {
            if (ia.map.v[i] >= (double)p->k)
                return fail(c, ia.map_col, "inputs.map[%zu] is not an input index in 0..%zu", i, p->k - 1);
            p->in_map[i] = (long)ia.map.v[i];
        }
    }
    return 0;
}

void st_uq_prompt_free(st_uq_prompt *p)
{
    if (!p)
        return;
    st_uq_arena_free(p->own);
    memset(p, 0, sizeof *p);
}

static int parse_line(const char *text, size_t len, int padded, const char *file, long line,
                      unsigned need, st_uq_arena *arena, st_uq_prompt *p, st_err *e)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i == len)
        return 0;
    memset(p, 0, sizeof *p);
    p->line = line;
    p->correct = p->quality = p->temperature = p->p_true = NAN;
    p->id_num = NAN;
    ctx c;
    c.a = arena;
    c.need = close_needs(need);
    c.e = e;
    c.file = file;
    c.line = line;
    if (st_json_init(&c.j, text, len, padded, file, line, e) < 0)
        return e->code;
    return parse_prompt(&c, p) < 0 ? e->code : 1;
}

int st_uq_parse_line_arena(const char *text, size_t len, const char *file, long line,
                           unsigned need, st_uq_arena *arena, st_uq_prompt *p, st_err *e)
{
    return parse_line(text, len, 0, file, line, need, arena, p, e);
}

int st_uq_parse_padded_line(const char *text, size_t len, const char *file, long line,
                            unsigned need, st_uq_arena *arena, st_uq_prompt *p, st_err *e)
{
    return parse_line(text, len, 1, file, line, need, arena, p, e);
}

int st_uq_parse_line(const char *text, size_t len, const char *file, long line,
                     st_uq_prompt *p, st_err *e)
{
    st_uq_arena *a;
    int rc = st_uq_arena_new(&a, e);
    if (rc < 0)
        return rc;
    rc = st_uq_parse_line_arena(text, len, file, line, ST_UQ_NEED_ALL, a, p, e);
    if (rc == 1)
        p->own = a;
    else
        st_uq_arena_free(a);
    if (rc < 0)
        memset(p, 0, sizeof *p);
    return rc;
}

/* ---------------------------------------------------- duplicate ids */

struct st_uq_idset {
    char **keys;
    long *lines;
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

int st_uq_idset_new(st_uq_idset **s, st_err *e)
{
    *s = calloc(1, sizeof **s);
    if (!*s)
        return st_err_nomem(e, "id table");
    (*s)->cap = 1024;
    (*s)->keys = calloc((*s)->cap, sizeof *(*s)->keys);
    (*s)->lines = calloc((*s)->cap, sizeof *(*s)->lines);
    if (!(*s)->keys || !(*s)->lines) {
        st_uq_idset_free(*s);
        *s = NULL;
        return st_err_nomem(e, "id table");
    }
    return 0;
}

void st_uq_idset_free(st_uq_idset *s)
{
    if (!s)
        return;
    if (s->keys)
        for (size_t i = 0; i < s->cap; i++)
            free(s->keys[i]);
    free(s->keys);
    free(s->lines);
    free(s);
}

static long idset_insert(st_uq_idset *s, char *key, long line)
{
    size_t mask = s->cap - 1, i = hash_str(key) & mask;
    while (s->keys[i]) {
        if (strcmp(s->keys[i], key) == 0) {
            free(key);
            return s->lines[i];
        }
        i = (i + 1) & mask;
    }
    s->keys[i] = key;
    s->lines[i] = line;
    s->n++;
    return 0;
}

static int idset_grow(st_uq_idset *s)
{
    st_uq_idset bigger = {NULL, NULL, s->cap * 2, 0};
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.lines = calloc(bigger.cap, sizeof *bigger.lines);
    if (!bigger.keys || !bigger.lines) {
        free(bigger.keys);
        free(bigger.lines);
        return ST_ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++)
        if (s->keys[i])
            idset_insert(&bigger, s->keys[i], s->lines[i]);
    free(s->keys);
    free(s->lines);
    *s = bigger;
    return 0;
}

long st_uq_idset_add(st_uq_idset *s, const char *id, double temperature, long line)
{
    if (2 * (s->n + 1) > s->cap && idset_grow(s) < 0)
        return ST_ENOMEM;
    size_t n = strlen(id);
    char *key = malloc(n + 40);
    if (!key)
        return ST_ENOMEM;
    /* the temperature's bits make (id, temperature) the key; NaN is "none" */
    if (isnan(temperature))
        snprintf(key, n + 40, "%s\x1f-", id);
    else
        snprintf(key, n + 40, "%s\x1f%a", id, temperature == 0 ? 0.0 : temperature);
    return idset_insert(s, key, line);
}

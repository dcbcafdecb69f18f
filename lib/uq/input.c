/* JSON Lines input (stoch-uq-input(5)): one prompt per line, parsed with
 * jansson and validated so that the scores can trust every number. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "uq/uq.h"

/* Where we are, for messages. */
typedef struct ctx {
    const char *file;
    long line;
    st_err *e;
} ctx;

#define FAIL(c, ...) st_err_set((c)->e, ST_EDATA, (c)->file, (c)->line, 0, __VA_ARGS__)

static void seq_free(st_uq_seq *s)
{
    free(s->text);
    free(s->logprobs);
    free(s->top);
    free(s->top_off);
    memset(s, 0, sizeof *s);
}

void st_uq_prompt_free(st_uq_prompt *p)
{
    if (!p)
        return;
    free(p->id);
    seq_free(&p->greedy);
    if (p->samples)
        for (size_t i = 0; i < p->m; i++)
            seq_free(&p->samples[i]);
    free(p->samples);
    free(p->entail);
    free(p->contra);
    free(p->sim);
    free(p->emb);
    free(p->in_sim);
    free(p->in_emb);
    free(p->in_map);
    memset(p, 0, sizeof *p);
}

/* A log-probability: a JSON number, or an object with a "logprob" number
 * (OpenAI/vLLM token objects).  Must be finite and <= 0. */
static int logprob_value(ctx *c, json_t *v, const char *what, size_t t, double *out)
{
    if (json_is_object(v))
        v = json_object_get(v, "logprob");
    if (!json_is_number(v))
        return FAIL(c, "%s[%zu] is not a number (or an object with a numeric \"logprob\")", what, t);
    double x = json_number_value(v);
    if (!isfinite(x))
        return FAIL(c, "%s[%zu] is not finite", what, t);
    if (x > 0)
        return FAIL(c, "%s[%zu] = %g is a positive log-probability", what, t, x);
    *out = x;
    return 0;
}

/* One token's top-k alternatives: [numbers], [{"logprob": x}, ...] or
 * {"token": x, ...}.  Appends to *top (capacity *cap, length *len). */
static int top_entry(ctx *c, json_t *v, const char *what, size_t t, double **top, size_t *len,
                     size_t *cap)
{
    size_t n = json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
    if (!json_is_array(v) && !json_is_object(v))
        return FAIL(c, "%s[%zu] is not a list of alternatives", what, t);
    if (*len + n > *cap) {
        size_t nc = (*cap ? *cap * 2 : 64);
        while (nc < *len + n)
            nc *= 2;
        double *nt = realloc(*top, nc * sizeof *nt);
        if (!nt)
            return st_err_nomem(c->e, "top_logprobs");
        *top = nt;
        *cap = nc;
    }
    char buf[192];
    snprintf(buf, sizeof buf, "%s[%zu]", what, t);
    if (json_is_array(v)) {
        for (size_t j = 0; j < n; j++)
            if (logprob_value(c, json_array_get(v, j), buf, j, &(*top)[(*len)++]) < 0)
                return c->e->code;
    } else {
        const char *key;
        json_t *val;
        size_t j = 0;
        json_object_foreach(v, key, val) {
            (void)key;
            if (logprob_value(c, val, buf, j++, &(*top)[(*len)++]) < 0)
                return c->e->code;
        }
    }
    return 0;
}

/* Top-k list for ntok tokens from a JSON array of per-token entries. */
static int top_list(ctx *c, json_t *arr, const char *what, st_uq_seq *s)
{
    if (!json_is_array(arr))
        return FAIL(c, "%s is not a list", what);
    size_t nt = json_array_size(arr);
    if (nt != s->ntok)
        return FAIL(c, "%s has %zu entries but there are %zu token log-probs", what, nt, s->ntok);
    s->top_off = malloc((nt + 1) * sizeof *s->top_off);
    if (!s->top_off)
        return st_err_nomem(c->e, "top_logprobs");
    size_t len = 0, cap = 0;
    s->top_off[0] = 0;
    for (size_t t = 0; t < nt; t++) {
        if (top_entry(c, json_array_get(arr, t), what, t, &s->top, &len, &cap) < 0)
            return c->e->code;
        s->top_off[t + 1] = len;
    }
    return 0;
}

static int top_list(ctx *c, json_t *arr, const char *what, st_uq_seq *s);

/* Token log-probs: [numbers], [{"logprob": x, "top_logprobs": [...]}, ...],
 * {"content": [token objects]} (OpenAI chat completions) or
 * {"token_logprobs": [...], "top_logprobs": [{token: x}, ...]} (OpenAI
 * legacy and vLLM completions). */
static int token_logprobs(ctx *c, json_t *v, const char *what, st_uq_seq *s, int want_top)
{
    json_t *legacy_top = NULL;
    if (json_is_object(v)) {
        json_t *content = json_object_get(v, "content");
        json_t *tl = json_object_get(v, "token_logprobs");
        if (json_is_array(content)) {
            v = content;
        } else if (json_is_array(tl)) {
            legacy_top = json_object_get(v, "top_logprobs");
            v = tl;
        } else {
            return FAIL(c, "%s is an object without a \"content\" or \"token_logprobs\" list", what);
        }
    }
    if (!json_is_array(v))
        return FAIL(c, "%s is not a list of log-probabilities", what);
    size_t n = json_array_size(v);
    if (n == 0)
        return FAIL(c, "%s is empty", what);
    /* the scores need only the sum and the count: the tokens are not kept */
    s->ntok = n;
    double sum = 0;
    int objects_with_top = 1;
    for (size_t t = 0; t < n; t++) {
        json_t *x = json_array_get(v, t);
        double lp;
        if (logprob_value(c, x, what, t, &lp) < 0)
            return c->e->code;
        sum += lp;
        if (!json_is_object(x) || !json_object_get(x, "top_logprobs"))
            objects_with_top = 0;
    }
    s->sum_logprob = sum;
    s->n_tokens = (double)n;
    if (want_top && legacy_top && !json_is_null(legacy_top)) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s.top_logprobs", what);
        return top_list(c, legacy_top, buf, s);
    }
    if (want_top && objects_with_top) {
        /* top_logprobs inside each token object */
        s->top_off = malloc((n + 1) * sizeof *s->top_off);
        if (!s->top_off)
            return st_err_nomem(c->e, "top_logprobs");
        size_t len = 0, cap = 0;
        s->top_off[0] = 0;
        char buf[128];
        snprintf(buf, sizeof buf, "%s top_logprobs", what);
        for (size_t t = 0; t < n; t++) {
            json_t *tl = json_object_get(json_array_get(v, t), "top_logprobs");
            if (top_entry(c, tl, buf, t, &s->top, &len, &cap) < 0)
                return c->e->code;
            s->top_off[t + 1] = len;
        }
    }
    return 0;
}

static int get_text(ctx *c, json_t *obj, const char *what, char **out)
{
    json_t *t = json_object_get(obj, "text");
    if (!t || json_is_null(t))
        return 0;
    if (!json_is_string(t))
        return FAIL(c, "%s.text is not a string", what);
    *out = strdup(json_string_value(t));
    if (!*out)
        return st_err_nomem(c->e, "text");
    return 0;
}

static int parse_seq(ctx *c, json_t *obj, const char *what, st_uq_seq *s, int greedy)
{
    s->sum_logprob = NAN;
    s->n_tokens = NAN;
    s->cluster = -1;
    if (!json_is_object(obj))
        return FAIL(c, "%s is not an object", what);
    if (get_text(c, obj, what, &s->text) < 0)
        return c->e->code;
    char buf[96];
    json_t *lp = json_object_get(obj, "logprobs");
    if (lp && !json_is_null(lp)) {
        snprintf(buf, sizeof buf, "%s.logprobs", what);
        if (token_logprobs(c, lp, buf, s, greedy) < 0)
            return c->e->code;
    }
    json_t *top = json_object_get(obj, "top_logprobs");
    if (top && !json_is_null(top)) {
        snprintf(buf, sizeof buf, "%s.top_logprobs", what);
        if (!s->ntok)
            return FAIL(c, "%s given without %s.logprobs", buf, what);
        free(s->top);
        free(s->top_off);
        s->top = NULL;
        s->top_off = NULL;
        if (top_list(c, top, buf, s) < 0)
            return c->e->code;
    }
    json_t *sl = json_object_get(obj, "sum_logprob");
    if (sl && !json_is_null(sl)) {
        if (!json_is_number(sl))
            return FAIL(c, "%s.sum_logprob is not a number", what);
        double x = json_number_value(sl);
        if (!isfinite(x) || x > 0)
            return FAIL(c, "%s.sum_logprob = %g is not a finite log-probability <= 0", what, x);
        if (s->ntok && fabs(x - s->sum_logprob) > 1e-6 * (1 + fabs(x)))
            return FAIL(c, "%s.sum_logprob = %.17g disagrees with the sum of its logprobs (%.17g)",
                        what, x, s->sum_logprob);
        s->sum_logprob = x;
    }
    json_t *nt = json_object_get(obj, "n_tokens");
    if (nt && !json_is_null(nt)) {
        if (!json_is_integer(nt) || json_integer_value(nt) < 1)
            return FAIL(c, "%s.n_tokens is not a positive integer", what);
        double x = (double)json_integer_value(nt);
        if (s->ntok && x != (double)s->ntok)
            return FAIL(c, "%s.n_tokens = %g but logprobs has %zu entries", what, x, s->ntok);
        s->n_tokens = x;
    }
    json_t *cl = json_object_get(obj, "cluster");
    if (cl && !json_is_null(cl)) {
        if (!json_is_integer(cl) || json_integer_value(cl) < 0)
            return FAIL(c, "%s.cluster is not a non-negative integer", what);
        s->cluster = (long)json_integer_value(cl);
    }
    return 0;
}

/* An n x n matrix (n == 0: take the size from the data, into *n). */
static int parse_matrix(ctx *c, json_t *v, const char *what, size_t *n, int unit, double **out)
{
    if (!json_is_array(v))
        return FAIL(c, "%s is not a list of rows", what);
    size_t rows = json_array_size(v);
    if (*n && rows != *n)
        return FAIL(c, "%s has %zu rows, expected %zu", what, rows, *n);
    if (rows == 0)
        return FAIL(c, "%s is empty", what);
    *n = rows;
    double *M = malloc(rows * rows * sizeof *M);
    if (!M)
        return st_err_nomem(c->e, what);
    *out = M;
    for (size_t i = 0; i < rows; i++) {
        json_t *r = json_array_get(v, i);
        if (!json_is_array(r) || json_array_size(r) != rows)
            return FAIL(c, "%s row %zu has %zu entries, expected %zu", what, i,
                        json_is_array(r) ? json_array_size(r) : (size_t)0, rows);
        for (size_t j = 0; j < rows; j++) {
            json_t *x = json_array_get(r, j);
            if (!json_is_number(x))
                return FAIL(c, "%s[%zu][%zu] is not a number", what, i, j);
            double d = json_number_value(x);
            if (!isfinite(d) || (unit && (d < 0 || d > 1)))
                return FAIL(c, "%s[%zu][%zu] = %g is outside [0, 1]", what, i, j, d);
            M[i * rows + j] = d;
        }
    }
    return 0;
}

/* rows x dim embeddings (rows == 0: from the data). */
static int parse_emb(ctx *c, json_t *v, const char *what, size_t *rows, size_t *dim, double **out)
{
    if (!json_is_array(v))
        return FAIL(c, "%s is not a list of vectors", what);
    size_t r = json_array_size(v);
    if (*rows && r != *rows)
        return FAIL(c, "%s has %zu vectors, expected %zu (one per sample)", what, r, *rows);
    if (r == 0)
        return FAIL(c, "%s is empty", what);
    json_t *first = json_array_get(v, 0);
    size_t d = json_is_array(first) ? json_array_size(first) : 0;
    if (d == 0)
        return FAIL(c, "%s[0] is not a non-empty list of numbers", what);
    double *E = malloc(r * d * sizeof *E);
    if (!E)
        return st_err_nomem(c->e, what);
    *out = E;
    for (size_t i = 0; i < r; i++) {
        json_t *row = json_array_get(v, i);
        if (!json_is_array(row) || json_array_size(row) != d)
            return FAIL(c, "%s[%zu] has %zu entries, expected %zu", what, i,
                        json_is_array(row) ? json_array_size(row) : (size_t)0, d);
        for (size_t j = 0; j < d; j++) {
            json_t *x = json_array_get(row, j);
            if (!json_is_number(x) || !isfinite(json_number_value(x)))
                return FAIL(c, "%s[%zu][%zu] is not a finite number", what, i, j);
            E[i * d + j] = json_number_value(x);
        }
    }
    *rows = r;
    *dim = d;
    return 0;
}

static int parse_inputs(ctx *c, json_t *v, st_uq_prompt *p)
{
    if (!json_is_object(v))
        return FAIL(c, "inputs is not an object");
    if (!p->samples)
        return FAIL(c, "inputs given without samples");
    json_t *sim = json_object_get(v, "sim"), *emb = json_object_get(v, "embeddings");
    json_t *map = json_object_get(v, "map");
    if (!map)
        return FAIL(c, "inputs has no \"map\" (the input each sample answers)");
    if (sim && !json_is_null(sim)) {
        if (parse_matrix(c, sim, "inputs.sim", &p->k, 1, &p->in_sim) < 0)
            return c->e->code;
    }
    if (emb && !json_is_null(emb)) {
        size_t k = p->k;
        if (parse_emb(c, emb, "inputs.embeddings", &k, &p->in_dim, &p->in_emb) < 0)
            return c->e->code;
        p->k = k;
    }
    if (!p->in_sim && !p->in_emb)
        return FAIL(c, "inputs needs \"sim\" or \"embeddings\"");
    if (!json_is_array(map) || json_array_size(map) != p->m)
        return FAIL(c, "inputs.map must list one input index per sample (%zu)", p->m);
    p->in_map = malloc(p->m * sizeof *p->in_map);
    if (!p->in_map)
        return st_err_nomem(c->e, "inputs.map");
    for (size_t i = 0; i < p->m; i++) {
        json_t *x = json_array_get(map, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || (size_t)json_integer_value(x) >= p->k)
            return FAIL(c, "inputs.map[%zu] is not an input index in 0..%zu", i, p->k - 1);
        p->in_map[i] = (long)json_integer_value(x);
    }
    return 0;
}

static int parse_id(ctx *c, json_t *id, st_uq_prompt *p)
{
    char buf[32];
    p->id_num = NAN;
    if (json_is_integer(id)) {
        json_int_t v = json_integer_value(id);
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, v);
        p->id = strdup(buf);
        if (v >= -(1LL << 53) && v <= (1LL << 53)) {
            p->id_is_int = 1;
            p->id_num = (double)v;
        }
    } else if (json_is_string(id)) {
        const char *s = json_string_value(id);
        if (!*s)
            return FAIL(c, "id is an empty string");
        p->id = strdup(s);
        /* a string of decimal digits (no sign, no leading zeros) is an integer id */
        size_t n = strlen(s);
        int digits = n > 0 && n <= 15 && (s[0] != '0' || n == 1);
        for (size_t i = 0; i < n && digits; i++)
            digits = s[i] >= '0' && s[i] <= '9';
        if (digits) {
            p->id_is_int = 1;
            p->id_num = strtod(s, NULL);
        }
    } else {
        return FAIL(c, "\"id\" must be a string or an integer");
    }
    if (!p->id)
        return st_err_nomem(c->e, "id");
    return 0;
}

static int parse_prompt(ctx *c, json_t *root, st_uq_prompt *p)
{
    if (!json_is_object(root))
        return FAIL(c, "a line must hold one JSON object");
    json_t *id = json_object_get(root, "id");
    if (!id)
        return FAIL(c, "missing \"id\"");
    if (parse_id(c, id, p) < 0)
        return c->e->code;

    json_t *g = json_object_get(root, "greedy");
    if (g && !json_is_null(g)) {
        p->has_greedy = 1;
        if (parse_seq(c, g, "greedy", &p->greedy, 1) < 0)
            return c->e->code;
    }
    json_t *s = json_object_get(root, "samples");
    if (s && !json_is_null(s)) {
        if (!json_is_array(s))
            return FAIL(c, "samples is not a list");
        p->m = json_array_size(s);
        if (p->m == 0)
            return FAIL(c, "samples is an empty list");
        p->samples = calloc(p->m, sizeof *p->samples);
        if (!p->samples)
            return st_err_nomem(c->e, "samples");
        size_t with_cluster = 0;
        for (size_t i = 0; i < p->m; i++) {
            char what[48];
            snprintf(what, sizeof what, "samples[%zu]", i);
            if (parse_seq(c, json_array_get(s, i), what, &p->samples[i], 0) < 0)
                return c->e->code;
            with_cluster += p->samples[i].cluster >= 0;
        }
        if (with_cluster && with_cluster != p->m)
            return FAIL(c, "cluster is given for %zu of %zu samples: give it for all or none",
                        with_cluster, p->m);
    }
    static const char *mats[] = {"entail", "contra", "sim"};
    double **dst[] = {&p->entail, &p->contra, &p->sim};
    for (int k = 0; k < 3; k++) {
        json_t *v = json_object_get(root, mats[k]);
        if (!v || json_is_null(v))
            continue;
        if (!p->samples)
            return FAIL(c, "%s given without samples", mats[k]);
        size_t n = p->m;
        if (parse_matrix(c, v, mats[k], &n, 1, dst[k]) < 0)
            return c->e->code;
    }
    if (p->entail && p->contra)
        for (size_t i = 0; i < p->m * p->m; i++)
            if (p->entail[i] + p->contra[i] > 1 + 1e-9)
                return FAIL(c, "entail[%zu][%zu] + contra[%zu][%zu] = %g exceeds 1", i / p->m,
                            i % p->m, i / p->m, i % p->m, p->entail[i] + p->contra[i]);
    json_t *emb = json_object_get(root, "embeddings");
    if (emb && !json_is_null(emb)) {
        if (!p->samples)
            return FAIL(c, "embeddings given without samples");
        size_t r = p->m;
        if (parse_emb(c, emb, "embeddings", &r, &p->dim, &p->emb) < 0)
            return c->e->code;
    }
    json_t *in = json_object_get(root, "inputs");
    if (in && !json_is_null(in) && parse_inputs(c, in, p) < 0)
        return c->e->code;

    p->correct = p->quality = p->temperature = NAN;
    json_t *v = json_object_get(root, "correct");
    if (v && !json_is_null(v)) {
        if (json_is_boolean(v))
            p->correct = json_is_true(v);
        else if (json_is_number(v) && (json_number_value(v) == 0 || json_number_value(v) == 1))
            p->correct = json_number_value(v);
        else
            return FAIL(c, "correct must be 0, 1, true or false");
    }
    v = json_object_get(root, "quality");
    if (v && !json_is_null(v)) {
        if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1))
            return FAIL(c, "quality must be a number in [0, 1]");
        p->quality = json_number_value(v);
    }
    v = json_object_get(root, "temperature");
    if (v && !json_is_null(v)) {
        if (!json_is_number(v) || !(json_number_value(v) >= 0) || !isfinite(json_number_value(v)))
            return FAIL(c, "temperature must be a finite number >= 0");
        p->temperature = json_number_value(v);
    }
    return 0;
}

/* ------------------------------------------------ jansson arena
 *
 * jansson allocates every JSON value separately; for a line of a thousand
 * numbers malloc and free cost as much as the parse.  While a thread parses
 * with an arena, jansson's allocations come from it (free is a no-op) and
 * the whole tree is dropped at once afterwards.  Outside such a window the
 * hooks are plain malloc/free, so other jansson users are unaffected. */

typedef struct big_block {
    struct big_block *next;
    max_align_t data[];
} big_block;

struct st_uq_arena {
    char *buf;
    size_t cap, used, overflow;
    big_block *big;
};

static _Thread_local st_uq_arena *tl_arena;

static void *arena_malloc(size_t n)
{
    st_uq_arena *a = tl_arena;
    if (!a)
        return malloc(n);
    n = (n + 15) & ~(size_t)15;
    if (a->used + n <= a->cap) {
        void *p = a->buf + a->used;
        a->used += n;
        return p;
    }
    big_block *b = malloc(sizeof *b + n);
    if (!b)
        return NULL;
    b->next = a->big;
    a->big = b;
    a->overflow += n;
    return b->data;
}

static void arena_free(void *p)
{
    if (!tl_arena)
        free(p);
}

static void install_hooks(void)
{
    json_set_alloc_funcs(arena_malloc, arena_free);
}

void st_uq_parse_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_hooks);
}

int st_uq_arena_new(st_uq_arena **a, st_err *e)
{
    st_uq_parse_init();
    *a = calloc(1, sizeof **a);
    if (!*a || !((*a)->buf = malloc((*a)->cap = 1 << 20))) {
        free(*a);
        *a = NULL;
        return st_err_nomem(e, "parse arena");
    }
    return 0;
}

static void arena_reset(st_uq_arena *a)
{
    while (a->big) {
        big_block *b = a->big;
        a->big = b->next;
        free(b);
    }
    if (a->overflow) {
        /* next time the whole line fits in one block */
        size_t want = a->cap + a->overflow;
        char *nb = malloc(want);
        if (nb) {
            free(a->buf);
            a->buf = nb;
            a->cap = want;
        }
        a->overflow = 0;
    }
    a->used = 0;
}

void st_uq_arena_free(st_uq_arena *a)
{
    if (!a)
        return;
    arena_reset(a);
    free(a->buf);
    free(a);
}

int st_uq_parse_line(const char *text, size_t len, const char *file, long line,
                     st_uq_prompt *p, st_err *e)
{
    return st_uq_parse_line_arena(text, len, file, line, NULL, p, e);
}

int st_uq_parse_line_arena(const char *text, size_t len, const char *file, long line,
                           st_uq_arena *arena, st_uq_prompt *p, st_err *e)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i == len)
        return 0;
    memset(p, 0, sizeof *p);
    p->line = line;
    ctx c = {file, line, e};
    json_error_t jerr;
    tl_arena = arena;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc;
    if (!root)
        rc = st_err_set(e, ST_EDATA, file, line, jerr.column > 0 ? jerr.column : 0,
                        "malformed JSON: %s", jerr.text);
    else
        rc = parse_prompt(&c, root, p);
    tl_arena = NULL;
    if (arena)
        arena_reset(arena); /* drops the whole tree */
    else if (root)
        json_decref(root);
    if (!root)
        return rc;
    if (rc < 0) {
        st_uq_prompt_free(p);
        return rc;
    }
    return 1;
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

long st_uq_idset_add(st_uq_idset *s, const st_uq_prompt *p)
{
    if (2 * (s->n + 1) > s->cap && idset_grow(s) < 0)
        return ST_ENOMEM;
    size_t n = strlen(p->id);
    char *key = malloc(n + 40);
    if (!key)
        return ST_ENOMEM;
    /* the temperature's bits make (id, temperature) the key; NaN is "none" */
    if (isnan(p->temperature))
        snprintf(key, n + 40, "%s\x1f-", p->id);
    else
        snprintf(key, n + 40, "%s\x1f%a", p->id, p->temperature == 0 ? 0.0 : p->temperature);
    return idset_insert(s, key, p->line);
}

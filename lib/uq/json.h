/* A pull interface over one JSON text held in memory (one line of JSON
 * Lines, stoch-uq-input(5)), on simdjson's On-Demand parser
 * (lib/uq/json_simd.cpp, the only C++ in the toolkit).  The caller walks
 * the objects and arrays it knows, converts the values it wants and skips
 * everything else; a skipped value is checked for JSON syntax only (its
 * numbers parsed, its strings' escapes decoded, nothing kept).
 *
 * st_json_init runs simdjson's first pass over the whole line (UTF-8,
 * strings, control characters); the rest is checked as it is walked.
 * Strings are decoded into an arena, numbers converted exactly.  A failure
 * fills the st_err with file, line and the byte column (from 1), and
 * returns a negative ST_E* code; the st_json is then unusable.  Each
 * thread has its own parser (reused from line to line); one st_json at a
 * time per thread. */
#ifndef ST_UQ_JSON_H
#define ST_UQ_JSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" { /* the C headers below too: lib/uq/json_simd.cpp calls them */
#endif

#include "core/err.h"
#include "uq/uq.h"

#define ST_JSON_MAX_DEPTH 1024 /* nesting levels of a skipped value */
#define ST_JSON_PADDING 64     /* readable bytes simdjson needs after a text */

typedef struct st_json_state st_json_state; /* per-thread parser (C++) */

enum { ST_JSON_NONE, ST_JSON_ROOT, ST_JSON_VALUE }; /* what is next (kind) */

typedef struct st_json {
    st_json_state *st;
    const char *s; /* the text as given: columns count from here */
    size_t n;
    const char *file;
    long line;
    st_err *e;
    /* kept here for the inline functions below (set by json_simd.cpp) */
    int kind;                /* ST_JSON_VALUE or _ROOT: a value is next; _NONE: a
                              * separator or the end is */
    const char *vp;          /* the next value's first byte (kind != NONE) */
    const char *beg, *end;   /* the line within the parsed text */
} st_json;

/* Start on the text s[0..n) (not blank).  padded: s[n .. n +
 * ST_JSON_PADDING) may be read (their content does not matter), so the
 * text is parsed where it lies; else it is copied.  Errors: the first
 * pass's (invalid UTF-8, a control character in a string, an unterminated
 * string), or out of memory. */
int st_json_init(st_json *j, const char *s, size_t n, int padded, const char *file, long line, st_err *e);

/* "malformed JSON: ..." at column col (0: none). */
int st_json_fail(st_json *j, long col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The first byte of the next value: '{', '[', '"', 't', 'f', 'n' (null),
 * '-' or a digit (a number), anything else for a syntax error there; -1
 * at the end of the text. */
static inline int st_json_peek(const st_json *j)
{
    if (j->kind == ST_JSON_NONE || !j->vp || j->vp >= j->end)
        return -1;
    return (unsigned char)*j->vp;
}
static inline int st_json_is_number_start(int c)
{
    return c == '-' || (c >= '0' && c <= '9');
}
/* Column (from 1) of the next value, for messages (n + 1 at the end). */
static inline long st_json_col(const st_json *j)
{
    if (j->kind == ST_JSON_NONE || !j->vp || j->vp >= j->end)
        return (long)j->n + 1;
    return (long)(j->vp < j->beg ? 0 : j->vp - j->beg) + 1;
}

/* Objects: st_json_object opens one; then st_json_key(j, i, ...) for
 * i = 0, 1, ... returns 1 with the key (escapes decoded; valid until the
 * next call) and its value next, 0 at '}', < 0 on error. */
int st_json_object(st_json *j);
int st_json_key(st_json *j, size_t i, const char **key, size_t *n);
/* Arrays: st_json_array opens one; st_json_next(j, i) for i = 0, 1, ...
 * returns 1 when element i is next, 0 at ']'. */
int st_json_array(st_json *j);
int st_json_next(st_json *j, size_t i);

/* A number: *x its value, correctly rounded; beyond the range of a double
 * is an error. */
int st_json_double(st_json *j, double *x);
/* A number that may be an integer: *is_int 1 for a literal without
 * fraction or exponent, with *iv its value (beyond 64 bits is an error);
 * else 0, with *x the value. */
int st_json_number(st_json *j, double *x, int *is_int, long long *iv);
/* A string decoded into the arena (NUL-terminated; \u0000 is refused). */
int st_json_string(st_json *j, st_uq_arena *a, char **out, size_t *len);
/* true/false into *b. */
int st_json_bool(st_json *j, int *b);
/* If the next value is null, consume it and return 1; else 0. */
int st_json_null(st_json *j);
/* Skip one value of any kind, checking its syntax (nesting at most
 * ST_JSON_MAX_DEPTH levels, without recursion). */
int st_json_skip(st_json *j);
/* Only white space remains after the top-level value. */
int st_json_end(st_json *j);

#ifdef __cplusplus
}
#endif

#endif

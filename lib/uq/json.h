/* A pull parser over one JSON text held in memory (one line of JSON
 * Lines, stoch-uq-input(5)).  The caller walks the objects and arrays it
 * knows, converts the values it wants and skips everything else; a skipped
 * value is checked for JSON syntax (and UTF-8 in its strings) only.
 *
 * Nothing is allocated: strings are decoded into an arena, numbers are
 * converted exactly (Clinger's fast path, else strtod in the C locale).
 * A failure fills the st_err with file, line and the byte column, and
 * returns a negative ST_E* code; the parser is then unusable. */
#ifndef ST_UQ_JSON_H
#define ST_UQ_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "uq/uq.h"

#define ST_JSON_MAX_DEPTH 1024   /* nesting levels */
#define ST_JSON_MAX_NUMBER 4096  /* characters of a number that is converted */

typedef struct st_json {
    const char *s, *p, *end; /* text, cursor, end */
    const char *file;
    long line;
    st_err *e;
    char key[64];            /* decoded key with escapes */
} st_json;

void st_json_init(st_json *j, const char *s, size_t n, const char *file, long line, st_err *e);

/* "malformed JSON: ..." at the cursor (column = byte offset + 1). */
int st_json_fail(st_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first byte of the next value after white space: '{', '[', '"', 't',
 * 'f', 'n' (null), '-' or a digit (a number); -1 at the end of the text. */
int st_json_peek(st_json *j);
static inline int st_json_is_number_start(int c)
{
    return c == '-' || (c >= '0' && c <= '9');
}

/* Objects: st_json_object consumes '{'; then st_json_key(j, i, ...) for
 * i = 0, 1, ... returns 1 with the key (decoded when it has escapes and
 * fits 63 bytes, else raw) and the ':' consumed, 0 at '}', < 0 on error. */
int st_json_object(st_json *j);
int st_json_key(st_json *j, size_t i, const char **key, size_t *n);
/* Arrays: st_json_array consumes '['; st_json_next(j, i) for i = 0, 1, ...
 * returns 1 when element i follows, 0 at ']'. */
int st_json_array(st_json *j);
int st_json_next(st_json *j, size_t i);

/* A number: *x its value; *is_int 1 for a literal without fraction or
 * exponent, with *iv its value (too big for 64 bits is an error). */
int st_json_number(st_json *j, double *x, int *is_int, long long *iv);
/* A string decoded into the arena (NUL-terminated; \u0000 is refused). */
int st_json_string(st_json *j, st_uq_arena *a, char **out, size_t *len);
/* true/false into *b. */
int st_json_bool(st_json *j, int *b);
/* If the next value is null, consume it and return 1; else 0. */
int st_json_null(st_json *j);
/* Skip one value of any kind (syntax checked). */
int st_json_skip(st_json *j);
/* Only white space remains. */
int st_json_end(st_json *j);

/* Byte column (1-based) of the cursor, for messages. */
static inline long st_json_col(const st_json *j)
{
    return (long)(j->p - j->s) + 1;
}

#endif

/* JSON pull parser for one line of JSON Lines: RFC 8259 syntax, UTF-8
 * strings, exact numbers, and an iterative skip for values nobody reads
 * (so nesting depth costs no stack). */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uq/json.h"

void st_json_init(st_json *j, const char *s, size_t n, const char *file, long line, st_err *e)
{
    j->s = j->p = s;
    j->end = s + n;
    j->file = file;
    j->line = line;
    j->e = e;
}

int st_json_fail(st_json *j, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return st_err_set(j->e, ST_EDATA, j->file, j->line, st_json_col(j), "malformed JSON: %s", msg);
}

static inline void skip_ws(st_json *j)
{
    const char *p = j->p, *end = j->end;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    j->p = p;
}

int st_json_peek(st_json *j)
{
    skip_ws(j);
    return j->p < j->end ? (unsigned char)*j->p : -1;
}

static int unexpected(st_json *j, const char *wanted)
{
    if (j->p >= j->end)
        return st_json_fail(j, "unexpected end of line, expected %s", wanted);
    unsigned char c = (unsigned char)*j->p;
    if (c >= 0x20 && c < 0x7f)
        return st_json_fail(j, "unexpected '%c', expected %s", c, wanted);
    return st_json_fail(j, "unexpected byte 0x%02x, expected %s", c, wanted);
}

int st_json_object(st_json *j)
{
    if (st_json_peek(j) != '{')
        return unexpected(j, "an object");
    j->p++;
    return 0;
}

int st_json_array(st_json *j)
{
    if (st_json_peek(j) != '[')
        return unexpected(j, "a list");
    j->p++;
    return 0;
}

int st_json_next(st_json *j, size_t i)
{
    int c = st_json_peek(j);
    if (c == ']') {
        j->p++;
        return 0;
    }
    if (i == 0)
        return c < 0 ? unexpected(j, "a value or ']'") : 1;
    if (c != ',')
        return unexpected(j, "',' or ']'");
    j->p++;
    return 1;
}

/* ------------------------------------------------------------ strings */

/* Length of a valid UTF-8 sequence starting at p (lead byte >= 0x80), 0 if
 * invalid (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if (p[k] < 0x80 || p[k] > 0xbf)
            return 0;
    return n;
}

static int hex4(const char *p, unsigned *v)
{
    unsigned x = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *v = x;
    return 0;
}

/* Scan the string at the cursor (at '"'): on success the cursor is past the
 * closing quote, body and blen give the raw bytes between the quotes, esc
 * whether there are escapes.  Checks control characters, escapes and UTF-8. */
static int scan_string(st_json *j, const char **body, size_t *blen, int *esc)
{
    const unsigned char *p = (const unsigned char *)j->p + 1, *end = (const unsigned char *)j->end;
    *esc = 0;
    for (;;) {
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= end) {
            j->p = (const char *)p;
            return st_json_fail(j, "unterminated string");
        }
        unsigned c = *p;
        if (c == '"')
            break;
        if (c == '\\') {
            *esc = 1;
            if (p + 1 >= end) {
                j->p = (const char *)p;
                return st_json_fail(j, "unterminated string");
            }
            char x = (char)p[1];
            if (x == 'u') {
                unsigned v;
                if (end - p < 6 || hex4((const char *)p + 2, &v) < 0) {
                    j->p = (const char *)p;
                    return st_json_fail(j, "bad \\u escape");
                }
                p += 6;
            } else if (strchr("\"\\/bfnrt", x) && x) {
                p += 2;
            } else {
                j->p = (const char *)p;
                return st_json_fail(j, "bad escape '\\%c'", x >= 0x20 && x < 0x7f ? x : '?');
            }
            continue;
        }
        if (c < 0x20) {
            j->p = (const char *)p;
            return st_json_fail(j, "control character 0x%02x in a string", c);
        }
        size_t n = utf8_seq(p, end);
        if (!n) {
            j->p = (const char *)p;
            return st_json_fail(j, "invalid UTF-8 in a string");
        }
        p += n;
    }
    *body = j->p + 1;
    *blen = (size_t)((const char *)p - *body);
    j->p = (const char *)p + 1;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* Decode the escapes of a scanned body (n bytes) into out (room for n + 1:
 * decoding never grows the text).  Returns the length, or -1 for a lone
 * surrogate or \u0000 (what is put in *why). */
static long decode(const char *b, size_t n, char *out, const char **why)
{
    char *o = out;
    const char *p = b, *end = b + n;
    while (p < end) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        char x = p[1];
        p += 2;
        switch (x) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned v, w;
            hex4(p, &v);
            p += 4;
            if (v >= 0xdc00 && v <= 0xdfff) {
                *why = "lone low surrogate in a \\u escape";
                return -1;
            }
            if (v >= 0xd800 && v <= 0xdbff) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &w) < 0 ||
                    w < 0xdc00 || w > 0xdfff) {
                    *why = "lone high surrogate in a \\u escape";
                    return -1;
                }
                p += 6;
                v = 0x10000 + ((v - 0xd800) << 10) + (w - 0xdc00);
            }
            if (v == 0) {
                *why = "\\u0000 in a string";
                return -1;
            }
            o = put_utf8(o, v);
            break;
        }
        default: *o++ = x; break; /* " \ / */
        }
    }
    *o = '\0';
    return (long)(o - out);
}

int st_json_string(st_json *j, st_uq_arena *a, char **out, size_t *len)
{
    if (st_json_peek(j) != '"')
        return unexpected(j, "a string");
    const char *start = j->p, *body;
    size_t n;
    int esc;
    int rc = scan_string(j, &body, &n, &esc);
    if (rc < 0)
        return rc;
    char *s = st_uq_arena_alloc(a, n + 1);
    if (!s)
        return st_err_nomem(j->e, "string");
    if (!esc) {
        memcpy(s, body, n);
        s[n] = '\0';
    } else {
        const char *why = NULL;
        long k = decode(body, n, s, &why);
        if (k < 0) {
            j->p = start;
            return st_json_fail(j, "%s", why);
        }
        n = (size_t)k;
    }
    *out = s;
    if (len)
        *len = n;
    return 0;
}

int st_json_key(st_json *j, size_t i, const char **key, size_t *n)
{
    int c = st_json_peek(j);
    if (c == '}') {
        j->p++;
        return 0;
    }
    if (i > 0) {
        if (c != ',')
            return unexpected(j, "',' or '}'");
        j->p++;
        c = st_json_peek(j);
    }
    if (c != '"')
        return unexpected(j, i ? "a key" : "a key or '}'");
    const char *body;
    size_t blen;
    int esc, rc = scan_string(j, &body, &blen, &esc);
    if (rc < 0)
        return rc;
    *key = body;
    *n = blen;
    if (esc && blen < sizeof j->key) {
        const char *why;
        long k = decode(body, blen, j->key, &why);
        if (k >= 0) {
            *key = j->key;
            *n = (size_t)k;
        }
    }
    if (st_json_peek(j) != ':')
        return unexpected(j, "':'");
    j->p++;
    return 1;
}

/* ------------------------------------------------------------ numbers */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static double c_strtod(const char *s)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale ? strtod_l(s, NULL, c_locale) : strtod(s, NULL);
}

/* Scan a number's syntax from the cursor; *stop is its end.  Fills the
 * mantissa (first 19 significant digits), the decimal exponent and flags. */
static int scan_number(st_json *j, const char **stop, uint64_t *mant, long *exp10, int *trunc,
                       int *is_int, int *neg)
{
    const char *p = j->p, *end = j->end;
    uint64_t m = 0;
    int nd = 0, tr = 0, integer = 1;
    long e10 = 0;
    *neg = 0;
    if (p < end && *p == '-') {
        *neg = 1;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9') {
        j->p = p;
        return unexpected(j, "a digit");
    }
    if (*p == '0') {
        p++;
    } else {
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            int d = *p - '0';
            if (nd < 19) {
                m = m * 10 + (uint64_t)d;
                nd++;
            } else {
                e10++;
                tr |= d != 0;
            }
        }
    }
    if (p < end && *p == '.') {
        integer = 0;
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            j->p = p;
            return unexpected(j, "a digit after '.'");
        }
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            int d = *p - '0';
            if (m == 0 && d == 0) {
                e10--;
                continue;
            }
            if (nd < 19) {
                m = m * 10 + (uint64_t)d;
                nd++;
                e10--;
            } else {
                tr |= d != 0;
            }
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integer = 0;
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p >= end || *p < '0' || *p > '9') {
            j->p = p;
            return unexpected(j, "a digit in the exponent");
        }
        long ev = 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (ev < 100000000)
                ev = ev * 10 + (*p - '0');
        e10 += eneg ? -ev : ev;
    }
    *stop = p;
    *mant = m;
    *exp10 = e10;
    *trunc = tr;
    *is_int = integer;
    return 0;
}

int st_json_number(st_json *j, double *x, int *is_int, long long *iv)
{
    int c = st_json_peek(j);
    if (!st_json_is_number_start(c))
        return unexpected(j, "a number");
    const char *start = j->p, *stop;
    uint64_t m;
    long e10;
    int trunc, integer, neg;
    int rc = scan_number(j, &stop, &m, &e10, &trunc, &integer, &neg);
    if (rc < 0)
        return rc;
    if (integer) {
        /* digits beyond 19 or a value beyond 2^63 - 1 (or -2^63) */
        if (e10 > 0 || m > (uint64_t)INT64_MAX + (uint64_t)neg)
            return st_json_fail(j, "integer too big for 64 bits");
        *iv = neg ? (long long)(0 - m) : (long long)m;
    }
    if (is_int)
        *is_int = integer;
    if (m == 0) {
        *x = neg ? -0.0 : 0.0;
    } else if (!trunc && m <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        double v = (double)m;
        v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
        *x = neg ? -v : v;
    } else {
        size_t n = (size_t)(stop - start);
        if (n > ST_JSON_MAX_NUMBER)
            return st_json_fail(j, "number longer than %d characters", ST_JSON_MAX_NUMBER);
        char buf[ST_JSON_MAX_NUMBER + 1];
        memcpy(buf, start, n);
        buf[n] = '\0';
        double v = c_strtod(buf);
        if (!isfinite(v))
            return st_json_fail(j, "number out of the range of a double");
        *x = v;
    }
    j->p = stop;
    return 0;
}

/* ------------------------------------------------------------ others */

static int literal(st_json *j, const char *w, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
        return unexpected(j, "a value");
    j->p += n;
    return 0;
}

int st_json_bool(st_json *j, int *b)
{
    int c = st_json_peek(j);
    if (c == 't') {
        *b = 1;
        return literal(j, "true", 4);
    }
    if (c == 'f') {
        *b = 0;
        return literal(j, "false", 5);
    }
    return unexpected(j, "true or false");
}

int st_json_null(st_json *j)
{
    if (st_json_peek(j) == 'n' && j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        j->p += 4;
        return 1;
    }
    return 0;
}

int st_json_end(st_json *j)
{
    if (st_json_peek(j) >= 0)
        return st_json_fail(j, "text after the end of the object");
    return 0;
}

/* Skip one value without recursion: stack[d] is '{' or '[' for each open
 * container, expect_key whether an object member's key comes next. */
int st_json_skip(st_json *j)
{
    unsigned char stack[ST_JSON_MAX_DEPTH];
    int depth = 0;
    for (;;) {
        /* a value */
        int c = st_json_peek(j);
        int rc = 0;
        if (c == '{' || c == '[') {
            if (depth == ST_JSON_MAX_DEPTH)
                return st_json_fail(j, "nested deeper than %d levels", ST_JSON_MAX_DEPTH);
            stack[depth++] = (unsigned char)c;
            j->p++;
            int d = st_json_peek(j);
            if ((c == '{' && d == '}') || (c == '[' && d == ']')) {
                j->p++;
                depth--;
            } else if (c == '{') {
                const char *k;
                size_t n;
                if ((rc = st_json_key(j, 0, &k, &n)) < 0)
                    return rc;
                continue;
            } else {
                continue;
            }
        } else if (c == '"') {
            const char *b;
            size_t n;
            int esc;
            if ((rc = scan_string(j, &b, &n, &esc)) < 0)
                return rc;
        } else if (st_json_is_number_start(c)) {
            const char *stop;
            uint64_t m;
            long e10;
            int tr, in, neg;
            if ((rc = scan_number(j, &stop, &m, &e10, &tr, &in, &neg)) < 0)
                return rc;
            j->p = stop;
        } else if (c == 't') {
            if ((rc = literal(j, "true", 4)) < 0)
                return rc;
        } else if (c == 'f') {
            if ((rc = literal(j, "false", 5)) < 0)
                return rc;
        } else if (c == 'n') {
            if ((rc = literal(j, "null", 4)) < 0)
                return rc;
        } else {
            return unexpected(j, "a value");
        }
        /* after a value: close containers or move to the next member */
        for (;;) {
            if (depth == 0)
                return 0;
            int d = st_json_peek(j);
            if (stack[depth - 1] == '[') {
                if (d == ']') {
                    j->p++;
                    depth--;
                    continue;
                }
                if (d != ',')
                    return unexpected(j, "',' or ']'");
                j->p++;
                break;
            }
            if (d == '}') {
                j->p++;
                depth--;
                continue;
            }
            const char *k;
            size_t n;
            if ((rc = st_json_key(j, 1, &k, &n)) < 0)
                return rc;
            break;
        }
    }
}

/* lib/uq/json.h on simdjson's On-Demand API (Debian libsimdjson-dev): the
 * toolkit's only C++, a thin layer that keeps simdjson's iterators for the
 * C code of lib/uq/input.c.  Error codes only: simdjson is built here
 * without exceptions and nothing here throws.
 *
 * simdjson walks the structure it is asked for and skips the rest by
 * counting brackets; st_json_skip walks skipped values instead (numbers
 * parsed, escapes decoded, nothing kept), so a syntax error anywhere in a
 * line is found as before.  Before each step over a ',' the next token is
 * looked at here, so that a message can say what was expected and where.
 *
 * simdjson's On-Demand front end checks that a document whose root is an
 * object ends with '}'.  A line that does not (truncated, or text after
 * the object) is parsed as "[" line "]", so that the error is found where
 * it is, in order with the other errors of the line; columns are mapped
 * back (shift). */
#include "config.h"

#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "uq/json.h"

namespace od = simdjson::ondemand;

static_assert(ST_JSON_PADDING >= simdjson::SIMDJSON_PADDING, "ST_JSON_PADDING below simdjson's padding");

namespace {

/* frames: those of a skipped value and the caller's own */
const size_t STACK = ST_JSON_MAX_DEPTH + 64;
/* text capacity kept from line to line (simdjson holds about 6 bytes per
 * byte of it); a longer line gets a parser of its own size, dropped at the
 * next line that fits */
const size_t KEEP = size_t(16) << 20;
const size_t BASE = size_t(64) << 10;

struct frame {
    od::object_iterator obj;
    od::array_iterator arr;
    bool is_obj;
    size_t n; /* members or elements done (st_json_skip) */
};

const int NONE = ST_JSON_NONE, ROOT = ST_JSON_ROOT, VALUE = ST_JSON_VALUE;

} // namespace

struct st_json_state {
    od::parser parser;
    od::document doc;
    od::value val;   /* the next value when st_json.kind == VALUE */
    frame *stack;
    size_t depth;
    char *copy;      /* a padded copy of a line */
    size_t copy_cap;
    const char *buf; /* the text parsed: the line or the copy */
    size_t shift;    /* 1 when the line is wrapped in [ ] */
};

namespace {

struct holder {
    st_json_state *st = nullptr;
    ~holder()
    {
        if (st) {
            std::free(st->copy);
            delete[] st->stack;
            delete st;
        }
    }
};

thread_local holder tls;

st_json_state *state()
{
    if (!tls.st) {
        st_json_state *s = new (std::nothrow) st_json_state();
        if (!s)
            return nullptr;
        s->stack = new (std::nothrow) frame[STACK];
        if (!s->stack) {
            delete s;
            return nullptr;
        }
        tls.st = s;
    }
    return tls.st;
}

inline bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* the next token, NULL after the last */
inline const char *next_tok(st_json_state *s)
{
    auto r = s->doc.current_location();
    return r.error() ? nullptr : r.value_unsafe();
}

/* byte offset in the line of a token, n for NULL or past the line (the
 * end; the ']' of a wrapped line) */
inline size_t off(const st_json *j, const char *p)
{
    if (!p || p >= j->end)
        return j->n;
    return p < j->beg ? 0 : (size_t)(p - j->beg);
}

inline bool at_end(const st_json *j, const char *p)
{
    return !p || p >= j->end;
}

inline long col(const st_json *j, const char *p)
{
    return (long)off(j, p) + 1;
}

int unexpected(st_json *j, const char *p, const char *wanted)
{
    if (at_end(j, p))
        return st_json_fail(j, (long)j->n + 1, "unexpected end of line, expected %s", wanted);
    unsigned char c = (unsigned char)*p;
    if (c >= 0x20 && c < 0x7f)
        return st_json_fail(j, col(j, p), "unexpected '%c', expected %s", c, wanted);
    return st_json_fail(j, col(j, p), "unexpected byte 0x%02x, expected %s", c, wanted);
}

/* a number simdjson refused: bad syntax or beyond a double */
int bad_number(st_json *j)
{
    const char *p = j->vp;
    size_t k = 0, room = j->n - off(j, p);
    while (k < room && k < 40 && !is_ws(p[k]) && !std::strchr(",]}:", p[k]))
        k++;
    return st_json_fail(j, col(j, p), "'%.*s' is not a JSON number within the range of a double", (int)k, p);
}

int bad_string(st_json *j, const char *p, const char *what)
{
    return st_json_fail(j, col(j, p),
                        "bad escape in a %s (\\ takes one of \"\\/bfnrt, or u and 4 hex digits; "
                        "\\u surrogates come in pairs)",
                        what);
}

/* Column of the first invalid UTF-8 sequence (the line is invalid): the
 * longest valid prefix that ends before a lead byte, by bisection with
 * simdjson's validator. */
long utf8_col(const char *s, size_t n)
{
    size_t lo = 0, hi = n; /* s[0..lo) valid, s[0..hi) not */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        while (mid > lo && ((unsigned char)s[mid] & 0xc0) == 0x80)
            mid--;
        if (mid == lo)
            break;
        if (simdjson::validate_utf8(s, mid))
            lo = mid;
        else
            hi = mid;
    }
    return (long)lo + 1;
}

/* Column of the first control character inside a string (simdjson found
 * one): quotes and backslashes tracked from the start of the line. */
long control_col(const char *s, size_t n, unsigned char *c)
{
    bool in = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (in && b == '\\')
            i++;
        else if (b == '"')
            in = !in;
        else if (in && b < 0x20) {
            *c = b;
            return (long)i + 1;
        }
    }
    *c = 0;
    return 0;
}

/* An error of simdjson's first pass over the whole line. */
int first_pass_error(st_json *j, simdjson::error_code err)
{
    switch (err) {
    case simdjson::UTF8_ERROR:
        return st_json_fail(j, utf8_col(j->s, j->n), "invalid UTF-8");
    case simdjson::UNESCAPED_CHARS: {
        unsigned char c;
        long at = control_col(j->s, j->n, &c);
        return st_json_fail(j, at, "control character 0x%02x in a string", c);
    }
    case simdjson::UNCLOSED_STRING:
        return st_json_fail(j, (long)j->n + 1, "unterminated string");
    case simdjson::MEMALLOC:
        return st_err_nomem(j->e, "JSON parser");
    case simdjson::CAPACITY:
        return st_err_set(j->e, ST_EDATA, j->file, j->line, 0, "line longer than %zu bytes (the most simdjson parses)",
                          (size_t)simdjson::SIMDJSON_MAXSIZE_BYTES);
    default:
        return st_json_fail(j, 0, "%s", simdjson::error_message(err));
    }
}

/* Room for a padded copy of n + 2 bytes. */
bool copy_room(st_json_state *s, size_t n)
{
    size_t need = n + 2 + ST_JSON_PADDING;
    if (s->copy_cap >= need && (s->copy_cap <= KEEP || need > KEEP / 2))
        return true;
    size_t cap = need < BASE ? BASE : need;
    char *p = static_cast<char *>(std::malloc(cap));
    if (!p)
        return false;
    std::free(s->copy);
    s->copy = p;
    s->copy_cap = cap;
    return true;
}

/* simdjson's capacity for a text of n bytes: grown by doubling, dropped
 * back after a long line. */
simdjson::error_code parser_room(st_json_state *s, size_t n)
{
    size_t cap = s->parser.capacity();
    if (cap >= n && (cap <= KEEP || n > KEEP / 2))
        return simdjson::SUCCESS;
    size_t want = cap >= n ? BASE : 2 * cap;
    if (want < n)
        want = n;
    if (want < BASE)
        want = BASE;
    if (want > simdjson::SIMDJSON_MAXSIZE_BYTES)
        want = n;
    return s->parser.allocate(want, STACK + 2);
}

int open(st_json *j, bool obj)
{
    st_json_state *s = j->st;
    int c = st_json_peek(j);
    if (c != (obj ? '{' : '['))
        return unexpected(j, j->kind == NONE ? nullptr : j->vp, obj ? "an object" : "a list");
    if (s->depth == STACK)
        return st_json_fail(j, col(j, j->vp), "nested deeper than %d levels", ST_JSON_MAX_DEPTH);
    frame &f = s->stack[s->depth];
    simdjson::error_code err;
    if (obj) {
        od::object o;
        err = (j->kind == ROOT ? s->doc.get_object() : s->val.get_object()).get(o);
        if (!err)
            err = o.begin().get(f.obj);
    } else {
        od::array a;
        err = (j->kind == ROOT ? s->doc.get_array() : s->val.get_array()).get(a);
        if (!err)
            err = a.begin().get(f.arr);
    }
    if (err)
        return st_json_fail(j, col(j, j->vp), "%s", simdjson::error_message(err));
    f.is_obj = obj;
    f.n = 0;
    s->depth++;
    j->kind = NONE;
    /* the ']' after a wrapped line is not the end of an empty container */
    const char *t = next_tok(s);
    if (s->shift && at_end(j, t))
        return unexpected(j, t, obj ? "a key or '}'" : "a value or ']'");
    return 0;
}

int skip_string(st_json *j)
{
    st_json_state *s = j->st;
    std::string_view tok = s->val.raw_json_token();
    simdjson::error_code err = simdjson::SUCCESS;
    if (std::memchr(tok.data(), '\\', tok.size())) {
        std::string_view sv;
        if (s->val.get_string().get(sv))
            return bad_string(j, j->vp, "string");
    } else {
        od::raw_json_string r;
        err = s->val.get_raw_json_string().get(r);
    }
    if (err)
        return st_json_fail(j, col(j, j->vp), "%s", simdjson::error_message(err));
    j->kind = NONE;
    return 0;
}

} // namespace

extern "C" {

int st_json_fail(st_json *j, long at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return st_err_set(j->e, ST_EDATA, j->file, j->line, at, "malformed JSON: %s", msg);
}

int st_json_init(st_json *j, const char *s, size_t n, int padded, const char *file, long line, st_err *e)
{
    j->s = s;
    j->n = n;
    j->file = file;
    j->line = line;
    j->e = e;
    st_json_state *st = j->st = state();
    if (!st)
        return st_err_nomem(e, "JSON parser");
    st->depth = 0;
    j->kind = NONE;
    size_t a = 0, b = n;
    while (a < n && is_ws(s[a]))
        a++;
    while (b > a && is_ws(s[b - 1]))
        b--;
    bool wrap = b == a || s[b - 1] != '}';
    const char *text = s;
    size_t len = n;
    if (wrap || !padded) {
        if (!copy_room(st, n))
            return st_err_nomem(e, "input line");
        size_t k = 0;
        if (wrap)
            st->copy[k++] = '[';
        std::memcpy(st->copy + k, s, n);
        k += n;
        if (wrap)
            st->copy[k++] = ']';
        std::memset(st->copy + k, ' ', ST_JSON_PADDING);
        text = st->copy;
        len = k;
    }
    st->buf = text;
    st->shift = wrap;
    j->beg = text + st->shift;
    j->end = j->beg + n;
    simdjson::error_code err = parser_room(st, len);
    if (!err)
        err = st->parser.iterate(simdjson::padded_string_view(text, len, len + ST_JSON_PADDING)).get(st->doc);
    if (err)
        return first_pass_error(j, err);
    if (!wrap) {
        j->kind = ROOT;
        j->vp = text + a;
        return 0;
    }
    /* the first element of the wrapper is the line's value */
    frame &f = st->stack[0];
    od::array arr;
    err = st->doc.get_array().get(arr);
    if (!err)
        err = arr.begin().get(f.arr);
    if (err)
        return st_json_fail(j, 0, "%s", simdjson::error_message(err));
    f.is_obj = false;
    f.n = 0;
    st->depth = 1;
    if (f.arr != f.arr) {
        if ((err = (*f.arr).get(st->val)))
            return st_json_fail(j, 0, "%s", simdjson::error_message(err));
        j->kind = VALUE;
        j->vp = next_tok(st);
    } else { /* "]": nothing but the root's first byte to show */
        j->kind = ROOT;
        j->vp = text + 1 + a;
    }
    return 0;
}

int st_json_object(st_json *j)
{
    return open(j, true);
}

int st_json_array(st_json *j)
{
    return open(j, false);
}

int st_json_key(st_json *j, size_t i, const char **key, size_t *n)
{
    st_json_state *s = j->st;
    if (j->kind != NONE) { /* the last value was not read */
        int rc = st_json_skip(j);
        if (rc < 0)
            return rc;
    }
    frame &f = s->stack[s->depth - 1];
    if (i > 0) {
        const char *b = next_tok(s);
        if (at_end(j, b) || (*b != ',' && *b != '}'))
            return unexpected(j, b, "',' or '}'");
        ++f.obj;
        if (*b == '}') {
            s->depth--;
            return 0;
        }
    } else if (!(f.obj != f.obj)) { /* {} */
        s->depth--;
        return 0;
    }
    const char *kp = next_tok(s);
    if (at_end(j, kp) || *kp != '"')
        return unexpected(j, kp, i ? "a key" : "a key or '}'");
    od::field fld;
    simdjson::error_code err = (*f.obj).get(fld);
    if (err == simdjson::TAPE_ERROR) /* no ':' after the key */
        return unexpected(j, next_tok(s), "':'");
    if (err)
        return st_json_fail(j, col(j, kp), "%s", simdjson::error_message(err));
    std::string_view k;
    if (fld.unescaped_key().get(k))
        return bad_string(j, kp, "key");
    s->val = std::move(fld).value();
    j->vp = next_tok(s);
    j->kind = VALUE;
    *key = k.data();
    *n = k.size();
    return 1;
}

int st_json_next(st_json *j, size_t i)
{
    st_json_state *s = j->st;
    if (j->kind != NONE) {
        int rc = st_json_skip(j);
        if (rc < 0)
            return rc;
    }
    frame &f = s->stack[s->depth - 1];
    if (i > 0) {
        const char *b = next_tok(s);
        if (at_end(j, b) || (*b != ',' && *b != ']'))
            return unexpected(j, b, "',' or ']'");
        ++f.arr;
        if (*b == ']') {
            s->depth--;
            return 0;
        }
    } else if (!(f.arr != f.arr)) { /* [] */
        s->depth--;
        return 0;
    }
    simdjson::error_code err = (*f.arr).get(s->val);
    if (err)
        return st_json_fail(j, col(j, next_tok(s)), "%s", simdjson::error_message(err));
    j->vp = next_tok(s);
    j->kind = VALUE;
    if (i == 0 && at_end(j, j->vp))
        return unexpected(j, j->vp, "a value or ']'");
    return 1;
}

int st_json_double(st_json *j, double *x)
{
    st_json_state *s = j->st;
    int c = st_json_peek(j);
    if (!st_json_is_number_start(c) || j->kind != VALUE)
        return unexpected(j, j->kind == NONE ? nullptr : j->vp, "a number");
    if (s->val.get_double().get(*x))
        return bad_number(j);
    j->kind = NONE;
    return 0;
}

int st_json_number(st_json *j, double *x, int *is_int, long long *iv)
{
    st_json_state *s = j->st;
    int c = st_json_peek(j);
    if (!st_json_is_number_start(c) || j->kind != VALUE)
        return unexpected(j, j->kind == NONE ? nullptr : j->vp, "a number");
    bool integer;
    if (s->val.is_integer().get(integer))
        return bad_number(j);
    if (!integer) {
        if (s->val.get_double().get(*x))
            return bad_number(j);
        *is_int = 0;
        j->kind = NONE;
        return 0;
    }
    int64_t v;
    if (s->val.get_int64().get(v)) {
        const char *p = j->vp + (*j->vp == '-');
        if (p[0] == '0') /* a leading zero */
            return bad_number(j);
        return st_json_fail(j, col(j, j->vp), "integer too big for 64 bits");
    }
    *iv = v;
    *is_int = 1;
    *x = v == 0 && *j->vp == '-' ? -0.0 : (double)v;
    j->kind = NONE;
    return 0;
}

int st_json_string(st_json *j, st_uq_arena *a, char **out, size_t *len)
{
    st_json_state *s = j->st;
    if (st_json_peek(j) != '"' || j->kind != VALUE)
        return unexpected(j, j->kind == NONE ? nullptr : j->vp, "a string");
    std::string_view sv;
    if (s->val.get_string().get(sv))
        return bad_string(j, j->vp, "string");
    if (std::memchr(sv.data(), 0, sv.size()))
        return st_json_fail(j, col(j, j->vp), "\\u0000 in a string");
    char *o = static_cast<char *>(st_uq_arena_alloc(a, sv.size() + 1));
    if (!o)
        return st_err_nomem(j->e, "string");
    std::memcpy(o, sv.data(), sv.size());
    o[sv.size()] = '\0';
    *out = o;
    if (len)
        *len = sv.size();
    j->kind = NONE;
    return 0;
}

int st_json_bool(st_json *j, int *b)
{
    st_json_state *s = j->st;
    int c = st_json_peek(j);
    bool v;
    if (j->kind != VALUE || s->val.get_bool().get(v))
        return unexpected(j, j->kind == NONE ? nullptr : j->vp, c == 't' || c == 'f' ? "a value" : "true or false");
    *b = v;
    j->kind = NONE;
    return 0;
}

int st_json_null(st_json *j)
{
    st_json_state *s = j->st;
    bool v;
    if (st_json_peek(j) != 'n' || j->kind != VALUE || s->val.is_null().get(v) || !v)
        return 0;
    j->kind = NONE;
    return 1;
}

int st_json_skip(st_json *j)
{
    st_json_state *s = j->st;
    size_t base = s->depth;
    const char *k;
    size_t kn;
    for (;;) {
        int c = st_json_peek(j), rc;
        if (c == '{' || c == '[') {
            if (s->depth - base >= ST_JSON_MAX_DEPTH)
                return st_json_fail(j, col(j, j->vp), "nested deeper than %d levels", ST_JSON_MAX_DEPTH);
            if ((rc = open(j, c == '{')) < 0)
                return rc;
            rc = c == '{' ? st_json_key(j, 0, &k, &kn) : st_json_next(j, 0);
        } else if (c == '"') {
            rc = skip_string(j);
        } else if (c == 't' || c == 'f') {
            int b;
            rc = st_json_bool(j, &b);
        } else if (c == 'n') {
            rc = st_json_null(j) ? 0 : unexpected(j, j->vp, "a value");
        } else if (st_json_is_number_start(c)) {
            double x;
            rc = st_json_double(j, &x);
        } else {
            rc = unexpected(j, j->kind == NONE ? nullptr : j->vp, "a value");
        }
        if (rc < 0)
            return rc;
        if (rc == 1) /* the first member of a container is next */
            continue;
        /* a value is done: on to the next member of the containers opened here */
        while (s->depth > base) {
            frame &f = s->stack[s->depth - 1];
            f.n++;
            rc = f.is_obj ? st_json_key(j, f.n, &k, &kn) : st_json_next(j, f.n);
            if (rc < 0)
                return rc;
            if (rc == 1)
                break;
        }
        if (s->depth == base)
            return 0;
    }
}

int st_json_end(st_json *j)
{
    st_json_state *s = j->st;
    const char *b = next_tok(s);
    if (b && !at_end(j, b))
        return st_json_fail(j, col(j, b), "text after the end of the object");
    return 0;
}

} // extern "C"

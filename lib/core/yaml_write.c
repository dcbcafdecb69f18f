/* YAML model-file writer: block mappings, flow vectors, matrices as block
 * lists of flow rows, every double in its shortest round-trip spelling.
 * Problems (non-finite numbers, non-UTF-8 strings, misuse) are remembered
 * and reported once by st_yw_finish, so a family's writer stays linear. */
#include "config.h"

#include "core/utf8.h"
#include "core/yaml.h"
#include "core/stream.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void yw_fail(st_yw *w, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void yw_fail(st_yw *w, int code, const char *fmt, ...)
{
    if (w->err)
        return;
    w->err = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->errmsg, sizeof w->errmsg, fmt, ap);
    va_end(ap);
}

void st_yw_init(st_yw *w, FILE *fp)
{
    memset(w, 0, sizeof *w);
    w->fp = fp;
    w->lv[0].kind = 'M';
}

int st_yw_format_double(char *buf, double x)
{
    if (isnan(x))
        return sprintf(buf, ".nan");
    if (isinf(x))
        return sprintf(buf, x < 0 ? "-.inf" : ".inf");
    /* Shortest round-trip digits, as in CSV output; then YAML 1.1 floats. */
    int len = st_format_double(buf, x);
    char *ex = strchr(buf, 'e');
    if (ex && !memchr(buf, '.', (size_t)(ex - buf))) {
        /* "1e-08" -> "1.0e-08": a float to YAML 1.1 readers as well */
        memmove(ex + 2, ex, strlen(ex) + 1);
        ex[0] = '.';
        ex[1] = '0';
        len += 2;
    } else if (x == 0 && signbit(x)) {
        len = sprintf(buf, "-0.0");
    }
    return len;
}

static void put_indent(st_yw *w, int n)
{
    fprintf(w->fp, "%*s", n, "");
}

/* A plain scalar is safe when YAML reads it back as the same string. */
static int plain_ok(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+/-", *p))
            return 0;
    static const char *const reserved[] = {"true", "false", "null", "yes", "no", "on", "off",
                                           "y", "n", NULL};
    for (int i = 0; reserved[i]; i++)
        if (strcasecmp(s, reserved[i]) == 0)
            return 0;
    return 1;
}

static int utf8_seq(const unsigned char *s)
{
    unsigned cp;
    int n = st_utf8_decode(s, (size_t)-1, &cp);
    if (n < 2) /* ill-formed (callers handle ASCII before they get here) */
        return 0;
    if (cp == 0x85 || cp == 0x2028 || cp == 0x2029 || (cp >= 0x80 && cp < 0xA0) || cp == 0xFEFF ||
        cp == 0xFFFE || cp == 0xFFFF)
        return -n; /* valid UTF-8 but escaped: a line break or not printable in YAML */
    return n;
}

static void put_string(st_yw *w, const char *s)
{
    if (plain_ok(s)) {
        fputs(s, w->fp);
        return;
    }
    FILE *fp = w->fp;
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fprintf(fp, "\\%c", c);
            p++;
        } else if (c == '\n') {
            fputs("\\n", fp);
            p++;
        } else if (c == '\t') {
            fputs("\\t", fp);
            p++;
        } else if (c == '\r') {
            fputs("\\r", fp);
            p++;
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(fp, "\\x%02x", c);
            p++;
        } else if (c < 0x80) {
            fputc((int)c, fp);
            p++;
        } else {
            int n = utf8_seq(p);
            if (n > 0) {
                fwrite(p, 1, (size_t)n, fp);
                p += n;
            } else if (n < 0) {
                unsigned cp = c & (0x7F >> -n);
                for (int i = 1; i < -n; i++)
                    cp = (cp << 6) | (p[i] & 0x3F);
                fprintf(fp, cp > 0xFFFF ? "\\U%08x" : "\\u%04x", cp);
                p += -n;
            } else {
                yw_fail(w, ST_EDATA, "string is not valid UTF-8");
                fputs("\\uFFFD", fp);
                p++;
            }
        }
    }
    fputc('"', fp);
}

/* Start a line holding a key of the current level. */
static int begin_key(st_yw *w, const char *key)
{
    int d = w->depth;
    if (w->lv[d].kind == 'L') {
        yw_fail(w, ST_EINTERNAL, "key '%s' written in a list without st_yw_item_map", key);
        return -1;
    }
    if (w->pending_dash) {
        put_indent(w, w->lv[d - 1].indent);
        fputs("- ", w->fp);
        w->pending_dash = 0;
    } else {
        put_indent(w, w->lv[d].indent);
    }
    w->lv[d].nchild++;
    put_string(w, key);
    fputc(':', w->fp);
    return 0;
}

static void put_double(st_yw *w, const char *key, double x)
{
    char buf[32];
    st_yw_format_double(buf, x);
    if (!isfinite(x))
        yw_fail(w, ST_EDATA, "non-finite number %s written for '%s'", buf, key);
    fputs(buf, w->fp);
}

static void push(st_yw *w, char kind, int indent)
{
    if (w->depth + 1 >= ST_YW_MAX_DEPTH) {
        yw_fail(w, ST_EINTERNAL, "nesting deeper than %d levels", ST_YW_MAX_DEPTH - 1);
        return;
    }
    w->depth++;
    w->lv[w->depth].kind = kind;
    w->lv[w->depth].indent = indent;
    w->lv[w->depth].nchild = 0;
}

void st_yw_comment(st_yw *w, const char *fmt, ...)
{
    char stackbuf[512], *buf = stackbuf;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stackbuf, sizeof stackbuf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof stackbuf) {
        buf = malloc((size_t)n + 1);
        if (!buf) {
            yw_fail(w, ST_ENOMEM, "out of memory writing a comment");
            return;
        }
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    /* The reader rejects tabs, control bytes and bad UTF-8 anywhere, even
     * in comments: write a readable substitute instead. */
    for (unsigned char *p = (unsigned char *)buf; *p;) {
        if (*p == '\n') {
            p++;
        } else if (*p < 0x20 || *p == 0x7F) {
            *p = *p == '\t' ? ' ' : '?';
            p++;
        } else if (*p < 0x80) {
            p++;
        } else {
            int k = utf8_seq(p);
            if (k > 0) {
                p += k;
            } else {
                int m = k < 0 ? -k : 1;
                memset(p, '?', (size_t)m);
                p += m;
            }
        }
    }
    int ind = w->lv[w->depth].indent;
    for (char *line = buf; line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        put_indent(w, ind);
        fputc('#', w->fp);
        if (*line)
            fprintf(w->fp, " %s", line);
        fputc('\n', w->fp);
        line = nl ? nl + 1 : NULL;
        if (line && !*line)
            break;
    }
    if (buf != stackbuf)
        free(buf);
}

void st_yw_begin_map(st_yw *w, const char *key)
{
    int ind = w->lv[w->depth].indent;
    if (begin_key(w, key) < 0)
        return;
    fputc('\n', w->fp);
    push(w, 'M', ind + 2);
}

void st_yw_begin_list(st_yw *w, const char *key)
{
    int ind = w->lv[w->depth].indent;
    if (begin_key(w, key) < 0)
        return;
    fputc('\n', w->fp);
    push(w, 'L', ind + 2);
}

static void close_item(st_yw *w)
{
    if (w->pending_dash) {
        put_indent(w, w->lv[w->depth - 1].indent);
        fputs("- {}\n", w->fp);
        w->pending_dash = 0;
    }
    w->depth--;
}

void st_yw_item_map(st_yw *w)
{
    if (w->lv[w->depth].kind == 'I')
        close_item(w);
    if (w->lv[w->depth].kind != 'L') {
        yw_fail(w, ST_EINTERNAL, "st_yw_item_map outside a list");
        return;
    }
    w->lv[w->depth].nchild++;
    push(w, 'I', w->lv[w->depth].indent + 2);
    w->pending_dash = 1;
}

void st_yw_end(st_yw *w)
{
    if (w->lv[w->depth].kind == 'I')
        close_item(w);
    if (w->depth == 0) {
        yw_fail(w, ST_EINTERNAL, "st_yw_end without a matching begin");
        return;
    }
    if (w->lv[w->depth].nchild == 0) {
        /* "key:" followed by nothing would read back as null */
        put_indent(w, w->lv[w->depth].indent);
        fputs(w->lv[w->depth].kind == 'L' ? "[]\n" : "{}\n", w->fp);
    }
    w->depth--;
}

void st_yw_key_double(st_yw *w, const char *key, double x)
{
    if (begin_key(w, key) < 0)
        return;
    fputc(' ', w->fp);
    put_double(w, key, x);
    fputc('\n', w->fp);
}

void st_yw_key_long(st_yw *w, const char *key, long x)
{
    if (begin_key(w, key) < 0)
        return;
    fprintf(w->fp, " %ld\n", x);
}

void st_yw_key_bool(st_yw *w, const char *key, int x)
{
    if (begin_key(w, key) < 0)
        return;
    fputs(x ? " true\n" : " false\n", w->fp);
}

void st_yw_key_string(st_yw *w, const char *key, const char *s)
{
    if (begin_key(w, key) < 0)
        return;
    fputc(' ', w->fp);
    put_string(w, s);
    fputc('\n', w->fp);
}

static void put_row(st_yw *w, const char *key, const double *v, size_t n)
{
    fputc('[', w->fp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", w->fp);
        put_double(w, key, v[i]);
    }
    fputc(']', w->fp);
}

void st_yw_key_vector(st_yw *w, const char *key, const double *v, size_t n)
{
    if (begin_key(w, key) < 0)
        return;
    fputc(' ', w->fp);
    put_row(w, key, v, n);
    fputc('\n', w->fp);
}

void st_yw_key_long_vector(st_yw *w, const char *key, const long *v, size_t n)
{
    if (begin_key(w, key) < 0)
        return;
    fputs(" [", w->fp);
    for (size_t i = 0; i < n; i++)
        fprintf(w->fp, i ? ", %ld" : "%ld", v[i]);
    fputs("]\n", w->fp);
}

void st_yw_key_string_vector(st_yw *w, const char *key, const char *const *s, size_t n)
{
    if (begin_key(w, key) < 0)
        return;
    fputs(" [", w->fp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", w->fp);
        put_string(w, s[i]);
    }
    fputs("]\n", w->fp);
}

void st_yw_key_matrix(st_yw *w, const char *key, const double *m, size_t rows, size_t cols)
{
    int ind = w->lv[w->depth].indent;
    if (begin_key(w, key) < 0)
        return;
    if (rows == 0) {
        fputs(" []\n", w->fp);
        return;
    }
    fputc('\n', w->fp);
    for (size_t i = 0; i < rows; i++) {
        put_indent(w, ind + 2);
        fputs("- ", w->fp);
        put_row(w, key, m + i * cols, cols);
        fputc('\n', w->fp);
    }
}

void st_yw_key_string_matrix(st_yw *w, const char *key, const char *const *s, size_t rows, size_t cols)
{
    int ind = w->lv[w->depth].indent;
    if (begin_key(w, key) < 0)
        return;
    if (rows == 0) {
        fputs(" []\n", w->fp);
        return;
    }
    fputc('\n', w->fp);
    for (size_t i = 0; i < rows; i++) {
        put_indent(w, ind + 2);
        fputs("- [", w->fp);
        for (size_t j = 0; j < cols; j++) {
            if (j)
                fputs(", ", w->fp);
            put_string(w, s[i * cols + j]);
        }
        fputs("]\n", w->fp);
    }
}

int st_yw_finish(st_yw *w, st_err *e)
{
    if (w->depth != 0 && !w->err)
        yw_fail(w, ST_EINTERNAL, "unbalanced st_yw_begin_*/st_yw_end (%d levels open)", w->depth);
    errno = 0;
    int flush_failed = fflush(w->fp) != 0;
    if (flush_failed || ferror(w->fp))
        return st_err_set(e, ST_EIO, NULL, 0, 0, "write error: %s",
                          errno ? strerror(errno) : "I/O error");
    if (w->err)
        return st_err_set(e, w->err, NULL, 0, 0, "%s", w->errmsg);
    return 0;
}

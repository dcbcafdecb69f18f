#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void st_err_clear(st_err *e)
{
    if (!e)
        return;
    memset(e, 0, sizeof *e);
    e->offset = -1;
}

static void set_file(st_err *e, const char *file)
{
    if (file == e->file)
        return;
    e->file[0] = '\0';
    if (file)
        snprintf(e->file, sizeof e->file, "%s", file);
}

/* One line of text: line breaks and tabs become spaces, other control
 * characters '?' (a message may quote user text, and a terminal must not
 * take it for escape sequences). */
static void one_line(char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n' || c == '\r' || c == '\t')
            *s = ' ';
        else if (c < 0x20 || c == 0x7f)
            *s = '?';
    }
}

size_t st_msg_fit(char *dst, size_t size, const char *src)
{
    if (size == 0)
        return 0;
    size_t n = strlen(src);
    if (n < size) {
        memcpy(dst, src, n + 1);
    } else if (size < 64) {
        /* too small to show both ends: the start, whole characters */
        n = size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
        memcpy(dst, src, n);
        dst[n] = '\0';
    } else {
        /* The start and the end around " ... ": the reason of a message is
         * at one end or the other, the user's text in between. */
        static const char gap[] = " ... ";
        size_t room = size - 1 - (sizeof gap - 1);
        size_t head = room * 2 / 5, tail = room - head;
        while (head > 0 && ((unsigned char)src[head] & 0xC0) == 0x80)
            head--;
        size_t from = n - tail;
        while (from < n && ((unsigned char)src[from] & 0xC0) == 0x80)
            from++;
        memcpy(dst, src, head);
        memcpy(dst + head, gap, sizeof gap - 1);
        memcpy(dst + head + sizeof gap - 1, src + from, n - from + 1);
        n = head + (sizeof gap - 1) + (n - from);
    }
    one_line(dst);
    return strlen(dst);
}

/* Format into e->msg through st_msg_fit (the arguments may be e's own
 * message or file, so through a copy). */
static void set_msg(st_err *e, const char *fmt, va_list ap)
{
    char small[1024];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    char *text = small, *big = NULL;
    if (n >= (int)sizeof small && (big = malloc((size_t)n + 1))) {
        vsnprintf(big, (size_t)n + 1, fmt, ap2);
        text = big;
    }
    va_end(ap2);
    if (n < 0)
        small[0] = '\0';
    st_msg_fit(e->msg, sizeof e->msg, text);
    free(big);
}

int st_err_setv(st_err *e, int code, const char *file, long line, long col, const char *fmt, va_list ap)
{
    if (!e)
        return code;
    char msg[sizeof e->msg];
    st_err tmp;
    set_msg(&tmp, fmt, ap);
    memcpy(msg, tmp.msg, sizeof msg);
    e->code = code;
    set_file(e, file);
    e->line = line;
    e->col = col;
    e->offset = -1;
    memcpy(e->msg, msg, sizeof msg);
    return code;
}

int st_err_set(st_err *e, int code, const char *file, long line, long col,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    st_err_setv(e, code, file, line, col, fmt, ap);
    va_end(ap);
    return code;
}

int st_err_set_offset(st_err *e, int code, const char *file, long long offset,
                      const char *fmt, ...)
{
    if (!e)
        return code;
    st_err tmp;
    va_list ap;
    va_start(ap, fmt);
    set_msg(&tmp, fmt, ap);
    va_end(ap);
    e->code = code;
    set_file(e, file);
    e->line = 0;
    e->col = 0;
    e->offset = offset;
    memcpy(e->msg, tmp.msg, sizeof e->msg);
    return code;
}

int st_err_nomem(st_err *e, const char *what)
{
    return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "out of memory allocating %s", what);
}

void st_err_prefix(st_err *e, const char *fmt, ...)
{
    if (!e)
        return;
    char pre[sizeof e->msg], both[2 * sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    snprintf(both, sizeof both, "%s%s", pre, e->msg);
    st_msg_fit(e->msg, sizeof e->msg, both);
}

const char *st_err_format(const st_err *e, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
#define APPEND(...)                                                      \
    do {                                                                 \
        int w_ = snprintf(buf + k, k < n ? n - k : 0, __VA_ARGS__);      \
        if (w_ > 0)                                                      \
            k += (size_t)w_;                                             \
        if (k >= n)                                                      \
            k = n - 1;                                                   \
    } while (0)
    if (e->file[0]) {
        APPEND("%s:", e->file);
        if (e->line > 0) {
            APPEND("%ld:", e->line);
            if (e->col > 0)
                APPEND("%ld:", e->col);
        } else if (e->offset >= 0) {
            APPEND("byte %lld:", e->offset);
        }
        APPEND(" ");
    } else if (e->line > 0) {
        APPEND("line %ld: ", e->line);
    } else if (e->offset >= 0) {
        APPEND("byte %lld: ", e->offset);
    }
    APPEND("%s", e->msg[0] ? e->msg : "unknown error");
#undef APPEND
    return buf;
}

void st_err_print(const char *prog, const st_err *e)
{
    char buf[1024];
    fprintf(stderr, "%s: %s\n", prog, st_err_format(e, buf, sizeof buf));
}

int st_err_exit_status(int code)
{
    if (code == ST_OK)
        return 0;
    return code == ST_EUSAGE ? 2 : 1;
}

const char *st_display_name(const char *path)
{
    return (!path || strcmp(path, "-") == 0) ? "<stdin>" : path;
}

const char *st_msg_excerpt(char *dst, size_t size, const char *s, size_t max)
{
    if (size == 0)
        return dst;
    if (!s)
        s = "";
    if (max >= size)
        max = size - 1;
    size_t n = strlen(s);
    if (n <= max) {
        memcpy(dst, s, n + 1);
    } else {
        size_t k = max >= 3 ? max - 3 : 0;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        memcpy(dst, s, k);
        memcpy(dst + k, "...", max >= 3 ? 4 : 1);
        if (max < 3)
            dst[k] = '\0';
    }
    one_line(dst);
    return dst;
}

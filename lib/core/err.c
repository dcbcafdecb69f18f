#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
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

/* Keep messages on one line: a newline inside would break `prog: file: msg`. */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

int st_err_set(st_err *e, int code, const char *file, long line, long col,
               const char *fmt, ...)
{
    if (!e)
        return code;
    /* through a copy: the arguments may be e's own message or file */
    char msg[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    e->code = code;
    set_file(e, file);
    e->line = line;
    e->col = col;
    e->offset = -1;
    memcpy(e->msg, msg, sizeof msg);
    one_line(e->msg);
    return code;
}

int st_err_set_offset(st_err *e, int code, const char *file, long long offset,
                      const char *fmt, ...)
{
    if (!e)
        return code;
    /* through a copy: the arguments may be e's own message or file */
    char msg[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    e->code = code;
    set_file(e, file);
    e->line = 0;
    e->col = 0;
    e->offset = offset;
    memcpy(e->msg, msg, sizeof msg);
    one_line(e->msg);
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
    char pre[256], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* Concatenate by hand: the result is cut to fit e->msg on purpose. */
    size_t k = 0;
    for (const char *p = pre; *p && k + 1 < sizeof e->msg; p++)
        e->msg[k++] = *p;
    for (const char *p = old; *p && k + 1 < sizeof e->msg; p++)
        e->msg[k++] = *p;
    e->msg[k] = '\0';
    one_line(e->msg);
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

/* Errors carried from the library to the program that prints them.
 *
 * The library never prints and never exits: a function that fails returns a
 * negative ST_E* code and fills the caller's st_err with the code, a message
 * and where the problem is (file, line, column or byte offset).  The program
 * prints it once, as `prog: file:line:col: message` (st_err_print). */
#ifndef ST_CORE_ERR_H
#define ST_CORE_ERR_H

#include <stdarg.h>
#include <stddef.h>

enum {
    ST_OK = 0,
    ST_EDATA = -1,   /* bad input data: parse error, out-of-range value */
    ST_ENOMEM = -2,  /* allocation failed or a size limit was exceeded */
    ST_EIO = -3,     /* read/write/open failure */
    ST_EFORMAT = -4, /* bad stream/model format: magic, CRC, version */
    ST_ENUMERIC = -5,/* numerical failure: not positive definite, no convergence */
    ST_EUSAGE = -6,  /* invalid argument from the caller (maps to exit 2) */
    ST_EINTERNAL = -7/* a bug: an invariant broke */
};

typedef struct st_err {
    int code;         /* ST_OK or a negative ST_E* code */
    char file[256];   /* input file name, "" if none ("-" is stdin) */
    long line;        /* 1-based line, 0 if not applicable */
    long col;         /* 1-based column, 0 if not applicable */
    long long offset; /* byte offset, -1 if not applicable */
    char msg[512];    /* one line, no trailing period or newline */
} st_err;

/* Messages: one line (line breaks become spaces, other control characters
 * '?'), at most sizeof msg - 1 bytes.  A longer message keeps its start
 * and its end around " ... ", so the reason survives a long quotation of
 * the user's text wherever it stands; sites still quote only a short
 * excerpt of long text (st_msg_excerpt). */

/* Reset to "no error". */
void st_err_clear(st_err *e);

/* Fill e (if non-NULL) and return code.  file may be NULL; line/col 0 and
 * offset -1 mean "not known".  The message is printf-formatted. */
int st_err_set(st_err *e, int code, const char *file, long line, long col,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The same with a va_list (for wrappers that add a location). */
int st_err_setv(st_err *e, int code, const char *file, long line, long col, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

/* Same, locating the problem by byte offset instead of line. */
int st_err_set_offset(st_err *e, int code, const char *file, long long offset,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Shorthand for an allocation failure of `what`. */
int st_err_nomem(st_err *e, const char *what);

/* Prefix the existing message with a context, e.g. "seq 3: ". */
void st_err_prefix(st_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy src into dst (size bytes) as a message is kept: on one line, and
 * if longer than size - 1 its start and end around " ... ", whole UTF-8
 * characters.  Returns the length written. */
size_t st_msg_fit(char *dst, size_t size, const char *src);

/* A short excerpt of user text s for a message: all of it when it has at
 * most max bytes (max < size), else its first bytes and "..." (whole UTF-8
 * characters), on one line.  Returns dst. */
const char *st_msg_excerpt(char *dst, size_t size, const char *s, size_t max);

/* Format "file:line:col: msg" (parts that are unknown are left out) into buf. */
const char *st_err_format(const st_err *e, char *buf, size_t n);

/* Print "prog: " + st_err_format + "\n" to stderr. */
void st_err_print(const char *prog, const st_err *e);

/* Exit status for a code: 0 ok, 2 usage, 1 anything else. */
int st_err_exit_status(int code);

/* Display name for a path: NULL or "-" is "<stdin>". */
const char *st_display_name(const char *path);

#endif

/* CSV stage: header line (names, separator detection, optional quotes) and
 * numeric rows.  '#' lines are comments and blank lines are skipped, CRLF is
 * accepted; every error names the line and, where it applies, the field
 * number as the column. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream_impl.h"

/* Next line without its terminator; *got = 0 at end of input. */
static int next_line(st_reader *r, char **line, size_t *n, int *got, st_err *e)
{
    *got = 0;
    for (;;) {
        char *nl = memchr(r->buf + r->scan, '\n', r->len - r->scan);
        size_t end;
        if (nl) {
            end = (size_t)(nl - r->buf);
        } else {
            r->scan = r->len;
            if (r->len - r->pos > ST_CSV_MAX_LINE)
                return st_err_set(e, ST_EDATA, r->path, r->lineno + 1, 0,
                                  "line longer than %u bytes (not a CSV file?)", ST_CSV_MAX_LINE);
            if (!r->src_eof) {
                int rc = st_in_fill(r, r->len - r->pos + 1, e);
                if (rc < 0)
                    return rc;
                continue;
            }
            if (r->len == r->pos)
                return ST_OK;
            end = r->len;
        }
        if (end - r->pos > ST_CSV_MAX_LINE)
            return st_err_set(e, ST_EDATA, r->path, r->lineno + 1, 0,
                              "line longer than %u bytes (not a CSV file?)", ST_CSV_MAX_LINE);
        *line = r->buf + r->pos;
        *n = end - r->pos;
        r->pos = r->scan = end < r->len ? end + 1 : end;
        r->lineno++;
        if (*n > 0 && (*line)[*n - 1] == '\r')
            (*n)--;
        *got = 1;
        return ST_OK;
    }
}

/* Next line that is neither a comment nor blank. */
static int next_data_line(st_reader *r, char **line, size_t *n, int *got, st_err *e)
{
    for (;;) {
        int rc = next_line(r, line, n, got, e);
        if (rc < 0 || !*got)
            return rc;
        if (*n > 0 && (*line)[0] != '#')
            return ST_OK;
    }
}

/* A cell for a message: at most 40 bytes, non-printing bytes as '?'. */
static void show_cell(char *out, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        if (k >= 40 && i + 1 < n) {
            memcpy(out + k, "...", 3);
            k += 3;
            break;
        }
    }
    out[k] = '\0';
}

static int add_name(st_reader *r, size_t *cap, char *s, size_t n, st_err *e)
{
    if (r->ncols == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        char **nn = realloc(r->names, nc * sizeof *nn);
        if (!nn)
            return st_err_nomem(e, "column names");
        r->names = nn;
        *cap = nc;
    }
    char *name = malloc(n + 1);
    if (!name)
        return st_err_nomem(e, "column name");
    memcpy(name, s, n);
    name[n] = '\0';
    r->names[r->ncols++] = name;
    return ST_OK;
}

static int parse_header(st_reader *r, char *s, size_t n, st_err *e)
{
    long line = r->lineno;
    r->sep = memchr(s, ',', n) ? ',' : memchr(s, '\t', n) ? '\t' : ',';
    size_t cap = 0;
    const char *end = s + n;
    char *p = s;
    for (;;) {
        long col = (long)r->ncols + 1;
        while (p < end && *p == ' ')
            p++;
        char *start = p, *stop;
        if (p < end && *p == '"') {
            /* Quoted name; "" is a quote.  Unescape in place. */
            char *w = start;
            p++;
            for (;;) {
                if (p == end)
                    return st_err_set(e, ST_EDATA, r->path, line, col, "unterminated quote in header");
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            stop = w;
            while (p < end && *p == ' ')
                p++;
            if (p < end && *p != r->sep)
                return st_err_set(e, ST_EDATA, r->path, line, col, "text after closing quote in header");
        } else {
            while (p < end && *p != r->sep)
                p++;
            stop = p;
            while (stop > start && stop[-1] == ' ')
                stop--;
        }
        for (char *c = start; c < stop; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                return st_err_set(e, ST_EDATA, r->path, line, col,
                                  "control byte 0x%02x in header (not a CSV file?)", (unsigned char)*c);
        int rc = add_name(r, &cap, start, (size_t)(stop - start), e);
        if (rc < 0)
            return rc;
        if (p >= end)
            break;
        p++; /* separator */
    }
    return st_check_names(r->names, r->ncols, r->path, line, e);
}

int st_csv_open(st_reader *r, st_err *e)
{
    char *line;
    size_t n;
    int got;
    r->format = ST_FMT_CSV;
    if (r->len - r->pos >= 3 && memcmp(r->buf + r->pos, "\xef\xbb\xbf", 3) == 0)
        r->pos = r->scan = r->pos + 3; /* UTF-8 byte order mark */
    int rc = next_data_line(r, &line, &n, &got, e);
    if (rc < 0)
        return rc;
    if (!got)
        return st_err_set(e, ST_EDATA, r->path, 0, 0, "empty input (no header line)");
    rc = parse_header(r, line, n, e);
    if (rc < 0)
        return rc;
    r->dtypes = calloc(r->ncols, sizeof *r->dtypes); /* all ST_F8 */
    if (!r->dtypes)
        return st_err_nomem(e, "column types");
    return ST_OK;
}

int st_csv_next(st_reader *r, double *row, st_err *e)
{
    char *line;
    size_t n;
    int got;
    int rc = next_data_line(r, &line, &n, &got, e);
    if (rc < 0)
        return rc;
    if (!got)
        return 0;
    r->last = r->lineno;
    const char *p = line, *end = line + n;
    const char sep = r->sep;
    size_t nc = r->ncols;
    for (size_t j = 0; j < nc; j++) {
        const char *q = memchr(p, sep, (size_t)(end - p));
        const char *stop = q ? q : end;
        if (!q && j + 1 < nc)
            return st_err_set(e, ST_EDATA, r->path, r->lineno, (long)j + 2,
                              "ragged row: %zu fields, the header has %zu", j + 1, nc);
        if (st_num_parse(p, (size_t)(stop - p), &row[j]) < 0) {
            char cell[64];
            show_cell(cell, sizeof cell, p, (size_t)(stop - p));
            return st_err_set(e, ST_EDATA, r->path, r->lineno, (long)j + 1,
                              "non-numeric value '%s' in column '%s'", cell, r->names[j]);
        }
        p = stop + 1;
        if (j + 1 == nc && q) {
            size_t m = nc + 1;
            for (const char *c = p; c < end; c++)
                m += *c == sep;
            return st_err_set(e, ST_EDATA, r->path, r->lineno, (long)nc + 1,
                              "ragged row: %zu fields, the header has %zu", m, nc);
        }
    }
    return 1;
}

/* The public stream API: a reader that detects CSV or binary input (plain or
 * gzip), and a writer for either format.  The stages live in input.c,
 * csv.c, binstream.c and numfmt.c. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream_impl.h"

/* ---------------------------------------------------------------- names */

typedef struct named {
    const char *name;
    size_t idx;
} named;

static int cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

int st_check_names(char *const *names, size_t n, const char *file, long line, st_err *e)
{
    for (size_t j = 0; j < n; j++)
        if (!names[j][0])
            return st_err_set(e, ST_EDATA, file, line, line ? (long)j + 1 : 0, "empty name for column %zu%s", j + 1,
                              j == 0 ? " (row names from R's write.csv or an index from pandas' to_csv?"
                                       " write with row.names=FALSE / index=False)"
                                     : "");
    if (n < 2)
        return ST_OK;
    /* Duplicates by sorting (a header may have many thousands of names):
     * report the first column whose name appeared before. */
    named *v = malloc(n * sizeof *v);
    if (!v)
        return st_err_nomem(e, "column names");
    for (size_t j = 0; j < n; j++)
        v[j] = (named){names[j], j};
    qsort(v, n, sizeof *v, cmp_named);
    size_t first = 0, second = SIZE_MAX;
    for (size_t k = 1; k < n; k++) {
        int group_second = strcmp(v[k].name, v[k - 1].name) == 0 && (k < 2 || strcmp(v[k - 1].name, v[k - 2].name) != 0);
        if (group_second && v[k].idx < second) {
            first = v[k - 1].idx;
            second = v[k].idx;
        }
    }
    free(v);
    if (second == SIZE_MAX)
        return ST_OK;
    return st_err_set(e, ST_EDATA, file, line, line ? (long)second + 1 : 0,
                      "duplicate column name '%.100s' (columns %zu and %zu)", names[second], first + 1, second + 1);
}

/* --------------------------------------------------------------- reader */

int st_reader_open(st_reader **out, const char *path, st_err *e)
{
    *out = NULL;
    st_reader *r = calloc(1, sizeof *r);
    if (!r)
        return st_err_nomem(e, "reader");
    int rc = st_in_open(r, path, e);
    if (rc == 0)
        rc = st_in_fill(r, 8, e);
    if (rc == 0) {
        if (r->len - r->pos == 0)
            rc = st_err_set(e, ST_EDATA, r->path, 0, 0, "empty input (no header line)");
        else if (r->len - r->pos >= 4 && memcmp(r->buf + r->pos, st_bin_magic, 4) == 0)
            rc = st_bin_open(r, e);
        else
            rc = st_csv_open(r, e);
    }
    if (rc < 0) {
        st_reader_free(r);
        return rc;
    }
    *out = r;
    return ST_OK;
}

void st_reader_free(st_reader *r)
{
    if (!r)
        return;
    st_in_close(r);
    for (size_t j = 0; j < r->ncols; j++)
        free(r->names ? r->names[j] : NULL);
    free(r->names);
    free(r->dtypes);
    free(r->coloff);
    free(r->chunk);
    free(r->zpay);
    free(r->meta);
    free(r);
}

size_t st_reader_ncols(const st_reader *r)
{
    return r->ncols;
}

const char *st_reader_name(const st_reader *r, size_t j)
{
    return j < r->ncols ? r->names[j] : NULL;
}

st_dtype st_reader_dtype(const st_reader *r, size_t j)
{
    return j < r->ncols ? r->dtypes[j] : ST_F8;
}

int st_reader_col(const st_reader *r, const char *name)
{
    for (size_t j = 0; j < r->ncols; j++)
        if (strcmp(r->names[j], name) == 0)
            return (int)j;
    return -1;
}

int st_reader_format(const st_reader *r)
{
    return r->format;
}

const char *st_reader_meta(const st_reader *r)
{
    return r->meta;
}

const char *st_reader_path(const st_reader *r)
{
    return r->path;
}

long st_reader_line(const st_reader *r)
{
    return r->last;
}

int st_reader_error(const st_reader *r, st_err *e, int code, const char *fmt, ...)
{
    char msg[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->format == ST_FMT_BIN)
        return st_err_set(e, code, r->path, 0, 0, "row %ld: %s", r->last + 1, msg);
    return st_err_set(e, code, r->path, r->last, 0, "%s", msg);
}

int st_reader_next(st_reader *r, double *row, st_err *e)
{
    return r->format == ST_FMT_BIN ? st_bin_next(r, row, e) : st_csv_next(r, row, e);
}

int st_reader_read(st_reader *r, double *rows, size_t max, size_t *n, st_err *e)
{
    if (r->format == ST_FMT_BIN)
        return st_bin_read(r, rows, max, n, e);
    *n = 0;
    while (*n < max) {
        int rc = st_csv_next(r, rows + *n * r->ncols, e);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        (*n)++;
    }
    return ST_OK;
}

int st_reader_select(const st_reader *r, const char *list, int **idx, size_t *n, st_err *e)
{
    *idx = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    int *v = malloc(cap * sizeof *v);
    if (!v)
        return st_err_nomem(e, "column list");
    const char *p = list;
    for (size_t k = 0; k < cap; k++) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        int found = -1;
        for (size_t j = 0; j < r->ncols && found < 0; j++)
            if (strlen(r->names[j]) == len && memcmp(r->names[j], p, len) == 0)
                found = (int)j;
        if (len == 0 || found < 0) {
            char have[200];
            size_t h = 0;
            have[0] = '\0';
            for (size_t j = 0; j < r->ncols && h + 1 < sizeof have; j++) {
                int w = snprintf(have + h, sizeof have - h, "%s%s", j ? "," : "", r->names[j]);
                h = w < 0 ? h : h + (size_t)w >= sizeof have ? sizeof have - 1 : h + (size_t)w;
            }
            free(v);
            if (len == 0)
                return st_err_set(e, ST_EDATA, r->path, 0, 0, "empty name in column list '%.100s'", list);
            return st_err_set(e, ST_EDATA, r->path, 0, 0, "unknown column '%.*s' (the input has %s)",
                              (int)(len > 100 ? 100 : len), p, have);
        }
        v[k] = found;
        p = q ? q + 1 : p + len;
    }
    *idx = v;
    *n = cap;
    return ST_OK;
}

int st_reader_same_columns(const st_reader *r, char *const *names, size_t ncols, const char *other, st_err *e)
{
    const char *tail = "inputs to concatenate need the same columns";
    if (r->ncols != ncols)
        return st_err_set(e, ST_EDATA, r->path, 0, 0, "columns differ from those of %.200s: %zu column%s here, %zu there (%s)",
                          other, r->ncols, r->ncols == 1 ? "" : "s", ncols, tail);
    for (size_t j = 0; j < ncols; j++)
        if (strcmp(r->names[j], names[j]) != 0)
            return st_err_set(e, ST_EDATA, r->path, 0, 0,
                              "columns differ from those of %.200s: column %zu is '%.60s' here, '%.60s' there (%s)",
                              other, j + 1, r->names[j], names[j], tail);
    return ST_OK;
}

/* --------------------------------------------------------------- writer */

struct st_writer {
    FILE *fp;
    int format, codec;
    char sep;
    size_t ncols;
    char **names;
    st_dtype *dtypes;
    long long rows;
    /* csv */
    char *line;
    /* bin */
    size_t rowsize, chunk_rows, nbuf;
    size_t *coloff;
    unsigned char *chunk, *zbuf;
    size_t zcap;
};

void st_writer_free(st_writer *w)
{
    if (!w)
        return;
    for (size_t j = 0; j < w->ncols; j++)
        free(w->names ? w->names[j] : NULL);
    free(w->names);
    free(w->dtypes);
    free(w->line);
    free(w->coloff);
    free(w->chunk);
    free(w->zbuf);
    free(w);
}

static int write_csv_name(FILE *fp, const char *s, char sep, int first)
{
    int quote = !*s || s[0] == ' ' || s[strlen(s) - 1] == ' ' || (first && s[0] == '#') ||
                strchr(s, sep) || strpbrk(s, "\"\r\n");
    if (!quote)
        return fputs(s, fp) < 0 ? -1 : 0;
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    return fputc('"', fp) < 0 ? -1 : 0;
}

int st_writer_new(st_writer **out, FILE *fp, const char *const *names, const st_dtype *dtypes,
                  size_t ncols, const st_writer_opts *opts, st_err *e)
{
    *out = NULL;
    if (ncols == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a stream needs at least one column");
    st_writer *w = calloc(1, sizeof *w);
    if (!w)
        return st_err_nomem(e, "writer");
    int rc = ST_OK;
    w->fp = fp;
    w->ncols = ncols;
    w->format = opts && opts->format == ST_FMT_BIN ? ST_FMT_BIN : ST_FMT_CSV;
    w->codec = opts && opts->codec == ST_CODEC_ZLIB ? ST_CODEC_ZLIB : ST_CODEC_RAW;
    w->sep = opts && opts->sep ? opts->sep : ',';
    w->chunk_rows = opts && opts->chunk_rows ? opts->chunk_rows : 0;
    w->names = calloc(ncols, sizeof *w->names);
    w->dtypes = calloc(ncols, sizeof *w->dtypes);
    w->coloff = calloc(ncols, sizeof *w->coloff);
    if (!w->names || !w->dtypes || !w->coloff) {
        rc = st_err_nomem(e, "writer");
        goto out;
    }
    for (size_t j = 0; j < ncols; j++) {
        if (!(w->names[j] = strdup(names[j]))) {
            rc = st_err_nomem(e, "column name");
            goto out;
        }
        w->dtypes[j] = dtypes ? dtypes[j] : strcmp(names[j], "seq") == 0 ? ST_I8 : ST_F8;
        w->coloff[j] = w->rowsize;
        w->rowsize += st_dtype_size(w->dtypes[j]);
    }
    if ((rc = st_check_names(w->names, ncols, NULL, 0, e)) < 0)
        goto out;
    if (w->format == ST_FMT_BIN) {
        if (w->chunk_rows == 0) /* 65536 rows, or about 2 MB of wide rows */
            w->chunk_rows = w->rowsize * 65536 <= (2u << 20) ? 65536 : ((2u << 20) + w->rowsize - 1) / w->rowsize;
        if (w->chunk_rows > (1u << 30) / w->rowsize)
            w->chunk_rows = (1u << 30) / w->rowsize;
        w->chunk = malloc(w->chunk_rows * w->rowsize);
        if (!w->chunk) {
            rc = st_err_nomem(e, "chunk buffer");
            goto out;
        }
        rc = st_bin_write_header(fp, (const char *const *)w->names, w->dtypes, ncols,
                                 opts ? opts->meta_json : NULL, e);
    } else {
        w->line = malloc(ncols * (ST_DOUBLE_BUFSZ + 1) + 2);
        if (!w->line) {
            rc = st_err_nomem(e, "line buffer");
            goto out;
        }
        for (size_t j = 0; j < ncols && rc == 0; j++) {
            if (j && fputc(w->sep, fp) < 0)
                rc = -1;
            if (rc == 0)
                rc = write_csv_name(fp, names[j], w->sep, j == 0);
        }
        if (rc == 0 && fputc('\n', fp) < 0)
            rc = -1;
        if (rc < 0)
            rc = st_err_set(e, ST_EIO, NULL, 0, 0, "write error: %s", strerror(errno));
    }
out:
    if (rc < 0) {
        st_writer_free(w);
        return rc;
    }
    *out = w;
    return ST_OK;
}

static int bad_int(st_writer *w, size_t j, double v, st_err *e)
{
    char num[ST_DOUBLE_BUFSZ];
    st_format_double(num, v);
    return st_err_set(e, ST_EDATA, NULL, 0, 0, "row %lld: column '%.100s' (%s) needs an integer, not %s",
                      w->rows + 1, w->names[j], st_dtype_name(w->dtypes[j]), num);
}

static int check_int(st_writer *w, size_t j, double v, st_err *e)
{
    double lim = w->dtypes[j] == ST_I4 ? 2147483648.0 : 9223372036854775808.0;
    if (!(v == floor(v)) || v >= lim || v < -lim)
        return bad_int(w, j, v, e);
    return ST_OK;
}

static int flush_chunk(st_writer *w, st_err *e)
{
    if (w->nbuf == 0)
        return ST_OK;
    int rc = st_bin_write_chunk(w->fp, w->chunk, (uint32_t)w->nbuf, w->nbuf * w->rowsize, w->codec,
                                &w->zbuf, &w->zcap, e);
    w->nbuf = 0;
    return rc;
}

static int row_bin(st_writer *w, const double *row, st_err *e)
{
    unsigned char *rec = w->chunk + w->nbuf * w->rowsize;
    for (size_t j = 0; j < w->ncols; j++) {
        unsigned char *p = rec + w->coloff[j];
        double v = row[j];
        switch (w->dtypes[j]) {
        case ST_F8:
            memcpy(p, &v, 8);
            break;
        case ST_F4: {
            float f = (float)v;
            memcpy(p, &f, 4);
            break;
        }
        case ST_I8: {
            if (check_int(w, j, v, e) < 0)
                return ST_EDATA;
            int64_t k = (int64_t)v;
            memcpy(p, &k, 8);
            break;
        }
        case ST_I4: {
            if (check_int(w, j, v, e) < 0)
                return ST_EDATA;
            int32_t k = (int32_t)v;
            memcpy(p, &k, 4);
            break;
        }
        }
    }
    w->nbuf++;
    w->rows++;
    if (w->nbuf == w->chunk_rows)
        return flush_chunk(w, e);
    return ST_OK;
}

static int row_csv(st_writer *w, const double *row, st_err *e)
{
    char *p = w->line;
    for (size_t j = 0; j < w->ncols; j++) {
        if (j)
            *p++ = w->sep;
        double v = row[j];
        switch (w->dtypes[j]) {
        case ST_F8:
            p += st_format_double(p, v);
            break;
        case ST_F4:
            p += st_format_float(p, (float)v);
            break;
        default:
            if (check_int(w, j, v, e) < 0)
                return ST_EDATA;
            p += st_format_int(p, v);
        }
    }
    *p++ = '\n';
    size_t n = (size_t)(p - w->line);
    if (fwrite(w->line, 1, n, w->fp) != n)
        return st_err_set(e, ST_EIO, NULL, 0, 0, "write error: %s", strerror(errno));
    w->rows++;
    return ST_OK;
}

int st_writer_row(st_writer *w, const double *row, st_err *e)
{
    return w->format == ST_FMT_BIN ? row_bin(w, row, e) : row_csv(w, row, e);
}

int st_writer_rows(st_writer *w, const double *rows, size_t n, st_err *e)
{
    for (size_t i = 0; i < n; i++) {
        int rc = st_writer_row(w, rows + i * w->ncols, e);
        if (rc < 0)
            return rc;
    }
    return ST_OK;
}

int st_writer_close(st_writer *w, st_err *e)
{
    if (!w)
        return ST_OK;
    int rc = ST_OK;
    if (w->format == ST_FMT_BIN) {
        rc = flush_chunk(w, e);
        if (rc == 0)
            rc = st_bin_write_chunk(w->fp, NULL, 0, 0, ST_CODEC_RAW, &w->zbuf, &w->zcap, e);
    } else if (fflush(w->fp) != 0) {
        rc = st_err_set(e, ST_EIO, NULL, 0, 0, "write error: %s", strerror(errno));
    }
    if (rc == 0 && ferror(w->fp))
        rc = st_err_set(e, ST_EIO, NULL, 0, 0, "write error");
    st_writer_free(w);
    return rc;
}

/* ----------------------------------------------------------------- meta */

int st_meta_json(char **json, const char *tool, int has_seed, uint64_t seed, const char *source,
                 const char *parent_json, st_err *e)
{
    *json = NULL;
    json_t *o = json_object();
    if (!o)
        return st_err_nomem(e, "meta");
    int rc = ST_OK;
    if (tool)
        json_object_set_new(o, "tool", json_string(tool));
    json_object_set_new(o, "version", json_string(PACKAGE_VERSION));
    if (has_seed)
        json_object_set_new(o, "seed", seed <= (uint64_t)INT64_MAX ? json_integer((json_int_t)seed)
                                                                  : json_real((double)seed));
    if (source)
        json_object_set_new(o, "source", json_string(source));
    if (parent_json) {
        json_error_t jerr;
        json_t *p = json_loads(parent_json, 0, &jerr);
        if (!json_is_object(p)) {
            json_decref(p);
            json_decref(o);
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "parent meta is not a JSON object");
        }
        json_object_set_new(o, "parent", p);
    }
    *json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!*json)
        rc = st_err_nomem(e, "meta");
    json_decref(o);
    return rc;
}

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
#include "core/utf8.h"

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
    for (size_t j = 0; j < n; j++) {
        const unsigned char *s = (const unsigned char *)names[j];
        if (!s[0])
            return st_err_set(e, ST_EDATA, file, line, line ? (long)j + 1 : 0, "empty name for column %zu", j + 1);
        size_t len = strlen(names[j]);
        for (size_t i = 0; i < len;) {
            unsigned cp;
            int k = st_utf8_decode(s + i, len - i, &cp);
            if (k == 0)
                return st_err_set(e, ST_EDATA, file, line, line ? (long)j + 1 : 0,
                                  "name of column %zu is not valid UTF-8", j + 1);
            if (cp < 0x20 || cp == 0x7f)
                return st_err_set(e, ST_EDATA, file, line, line ? (long)j + 1 : 0,
                                  "control character 0x%02x in the name of column %zu%s", cp, j + 1,
                                  line ? " (not a CSV file?)" : "");
            i += (size_t)k;
        }
    }
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

/* Binary input: the <i8 columns named in list are read as ids (their
 * decimal text) from the first row, as a promotion would make them; other
 * binary columns keep their type. */
/* ---- process-wide column renames (roles) and --no-header */
static st_rename g_renames[ST_MAX_RENAMES];
static size_t g_nrenames;
static int g_no_header;

void st_reader_set_renames(const st_rename *ren, size_t n)
{
    g_nrenames = 0;
    for (size_t k = 0; k < n && k < ST_MAX_RENAMES; k++)
        g_renames[g_nrenames++] = ren[k];
}

void st_reader_set_no_header(int on)
{
    g_no_header = on != 0;
}

int st_default_no_header(void)
{
    return g_no_header;
}

static int find_name(char *const *names, size_t n, const char *name)
{
    for (size_t j = 0; j < n; j++)
        if (strcmp(names[j], name) == 0)
            return (int)j;
    return -1;
}

int st_apply_renames(st_reader *r, int keep_names, long line, st_err *e)
{
    if (keep_names || g_nrenames == 0)
        return ST_OK;
    /* decide every rename on the input's own names first, so that one
     * rename cannot feed another (--seq-col t --time-col seq swaps) */
    int from[ST_MAX_RENAMES];
    for (size_t k = 0; k < g_nrenames; k++) {
        const st_rename *q = &g_renames[k];
        int same = strcmp(q->from, q->to) == 0;
        int f = find_name(r->names, r->ncols, q->from), to = find_name(r->names, r->ncols, q->to);
        from[k] = same ? -1 : f;
        for (size_t m = 0; m < k; m++)
            if (f >= 0 && strcmp(g_renames[m].from, q->from) == 0)
                return st_err_set(e, ST_EDATA, r->path, line, line ? (long)f + 1 : 0,
                                  "%s and %s both name column '%.100s'", g_renames[m].option, q->option, q->from);
        if (f < 0 && (same || to < 0)) {
            char have[200];
            size_t h = 0;
            have[0] = '\0';
            for (size_t j = 0; j < r->ncols && h + 1 < sizeof have; j++) {
                int w = snprintf(have + h, sizeof have - h, "%s%s", j ? "," : "", r->names[j]);
                h = w < 0 ? h : h + (size_t)w >= sizeof have ? sizeof have - 1 : h + (size_t)w;
            }
            return st_err_set(e, ST_EDATA, r->path, line, 0, "%s: no column '%.100s' (the input has %s)", q->option,
                              q->from, have);
        }
        if (!same && f >= 0 && to >= 0) {
            int moved = 0; /* the column `to` is itself renamed away */
            for (size_t m = 0; m < g_nrenames; m++)
                moved |= m != k && strcmp(g_renames[m].from, q->to) == 0;
            if (!moved)
                return st_err_set(e, ST_EDATA, r->path, line, line ? (long)f + 1 : 0,
                                  "%s %.100s: the input also has a column '%.100s' (rename one of them)", q->option,
                                  q->from, q->to);
        }
    }
    for (size_t k = 0; k < g_nrenames; k++) {
        if (from[k] < 0)
            continue;
        char *s = strdup(g_renames[k].to);
        if (!s)
            return st_err_nomem(e, "column names");
        free(r->names[from[k]]);
        r->names[from[k]] = s;
    }
    /* two options naming the same column make two equal names: the
     * duplicate check says which */
    return st_check_names(r->names, r->ncols, r->path, line, e);
}

static int bin_force_ids(st_reader *r, const char *list, st_err *e)
{
    for (const char *p = list; p && *p;) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        size_t j = 0;
        while (j < r->ncols && !(strlen(r->names[j]) == len && memcmp(r->names[j], p, len) == 0))
            j++;
        if (j == r->ncols)
            return st_err_set(e, ST_EDATA, r->path, 0, 0, "no column '%.*s' to read as ids", (int)(len > 100 ? 100 : len),
                              p);
        if (r->dtypes[j] == ST_I8) {
            int rc = st_strdict_new(&r->dicts[j], e);
            if (rc < 0)
                return rc;
            r->dtypes[j] = ST_STR;
            r->kind[j] = ST_K_IDS;
            r->slow_decode = 1;
            r->all_num = 0;
        }
        p = q ? q + 1 : p + len;
    }
    return ST_OK;
}

int st_reader_open_opts(st_reader **out, const char *path, const st_reader_opts *opts, st_err *e)
{
    *out = NULL;
    st_reader *r = calloc(1, sizeof *r);
    if (!r)
        return st_err_nomem(e, "reader");
    r->any_type = opts && (opts->any_type || (opts->str_cols && *opts->str_cols) || (opts->id_cols && *opts->id_cols));
    r->promote = r->any_type && opts->promote;
    int rc = st_in_open(r, path, e);
    if (rc == 0)
        rc = st_in_fill(r, 8, e);
    if (rc == 0) {
        if (r->len - r->pos == 0)
            rc = st_err_set(e, ST_EDATA, r->path, 0, 0, "empty input (no header line)");
        else if (r->len - r->pos >= 4 && memcmp(r->buf + r->pos, st_bin_magic, 4) == 0) {
            rc = st_bin_open(r, e);
            if (rc == 0)
                rc = st_apply_renames(r, opts && opts->keep_names, 0, e);
            if (rc == 0 && opts)
                rc = bin_force_ids(r, opts->id_cols, e);
            for (size_t j = 0; rc == 0 && !r->any_type && j < r->ncols; j++)
                if (!st_dtype_is_numeric(r->dtypes[j]))
                    rc = st_err_set(e, ST_EDATA, r->path, 0, 0,
                                    "column '%.100s' holds %s (%s), where this program reads numbers",
                                    r->names[j], r->dtypes[j] == ST_STR ? "strings" : "times",
                                    st_dtype_name(r->dtypes[j]));
        }
        else
            rc = st_csv_open(r, opts, e);
    }
    if (rc < 0) {
        st_reader_free(r);
        return rc;
    }
    *out = r;
    return ST_OK;
}

int st_reader_open(st_reader **out, const char *path, st_err *e)
{
    return st_reader_open_opts(out, path, NULL, e);
}

void st_reader_free(st_reader *r)
{
    if (!r)
        return;
    st_in_close(r);
    for (size_t j = 0; j < r->ncols; j++) {
        free(r->names ? r->names[j] : NULL);
        st_strdict_free(r->dicts ? r->dicts[j] : NULL);
    }
    free(r->names);
    free(r->dtypes);
    free(r->dicts);
    free(r->kind);
    free(r->int_only);
    free(r->rec);
    free(r->fields);
    free(r->coloff);
    free(r->chunk);
    free(r->zpay);
    free(r->meta);
    free(r);
}

char *const *st_reader_names(const st_reader *r)
{
    return r->names;
}

const st_strdict *st_reader_dict(const st_reader *r, size_t j)
{
    return j < r->ncols && r->dtypes[j] == ST_STR ? r->dicts[j] : NULL;
}

const char *st_reader_str(const st_reader *r, size_t j, double code)
{
    return st_strdict_str(st_reader_dict(r, j), code);
}

const char *st_reader_cell(const st_reader *r, size_t j, double v, char *buf)
{
    return st_cell_text(buf, st_reader_dtype(r, j), st_reader_dict(r, j), v);
}

unsigned st_reader_retypes(const st_reader *r)
{
    return r->retypes;
}

int st_reader_recode(st_reader *r, size_t j, st_dtype old, double v, double *code, st_err *e)
{
    if (j >= r->ncols || r->dtypes[j] != ST_STR)
        return st_err_set(e, ST_EINTERNAL, r->path, 0, 0, "bug: recoding column %zu, which is not a string column", j);
    char buf[ST_CELL_BUFSZ];
    const char *t = st_ids_text(buf, old, v);
    if (!t) {
        *code = NAN;
        return ST_OK;
    }
    return st_strdict_intern(r->dicts[j], t, strlen(t), code, e);
}

int st_promote(st_reader *r, size_t j, st_err *e)
{
    st_dtype old = r->dtypes[j];
    int rc = r->dicts[j] ? ST_OK : st_strdict_new(&r->dicts[j], e);
    if (rc < 0)
        return rc;
    r->dtypes[j] = ST_STR;
    r->kind[j] = ST_K_IDS;
    r->int_only[j] = 0;
    r->slow_decode = 1;
    r->all_num = 0;
    r->retypes++;
    /* the rows this call has produced so far get codes too */
    for (size_t i = 0; i < r->call_n && rc == ST_OK; i++) {
        double *v = &r->call_rows[i * r->ncols + j];
        rc = st_reader_recode(r, j, old, *v, v, e);
    }
    return rc;
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
    va_list ap;
    va_start(ap, fmt);
    st_err_setv(e, code, r->path, r->format == ST_FMT_BIN ? 0 : r->last, 0, fmt, ap);
    va_end(ap);
    if (r->format == ST_FMT_BIN)
        st_err_prefix(e, "row %ld: ", r->last + 1);
    return code;
}

int st_reader_next(st_reader *r, double *row, st_err *e)
{
    if (r->format == ST_FMT_BIN)
        return st_bin_next(r, row, e);
    r->call_rows = row;
    r->call_n = 0;
    int rc = st_csv_next(r, row, e);
    r->call_rows = NULL;
    return rc;
}

int st_reader_read(st_reader *r, double *rows, size_t max, size_t *n, st_err *e)
{
    if (r->format == ST_FMT_BIN)
        return st_bin_read(r, rows, max, n, e);
    *n = 0;
    r->call_rows = rows;
    int rc = ST_OK;
    while (*n < max) {
        r->call_n = *n;
        rc = st_csv_next(r, rows + *n * r->ncols, e);
        if (rc <= 0)
            break;
        (*n)++;
    }
    r->call_rows = NULL;
    return rc < 0 ? rc : ST_OK;
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

/* A column's source (st_writer_source) and, for binary string output, its
 * output dictionary. */
typedef struct wcol {
    st_dtype src;            /* type of the values passed in */
    const st_strdict *sdict; /* their dictionary when src is ST_STR */
    st_strdict *odict;       /* binary ST_STR output: the stream's dictionary */
    size_t first_new;        /* odict entries from here on are not written yet */
    uint32_t *remap;         /* sdict code -> odict code + 1 (0: not yet known) */
    size_t nremap;
} wcol;

struct st_writer {
    FILE *fp;
    int format, codec;
    char sep;
    size_t ncols;
    char **names;
    st_dtype *dtypes;
    long long rows;
    wcol *col;
    int plain; /* every column numeric and fed numbers: the fast paths */
    /* csv */
    char *line;
    size_t line_cap;
    /* bin */
    size_t rowsize, chunk_rows, nbuf;
    size_t *coloff;
    unsigned char *chunk, *zbuf, *dsec;
    size_t zcap, dsec_cap, pending; /* pending: dictionary bytes not yet written */
};

void st_writer_free(st_writer *w)
{
    if (!w)
        return;
    for (size_t j = 0; j < w->ncols; j++) {
        free(w->names ? w->names[j] : NULL);
        if (w->col) {
            st_strdict_free(w->col[j].odict);
            free(w->col[j].remap);
        }
    }
    free(w->names);
    free(w->dtypes);
    free(w->col);
    free(w->line);
    free(w->coloff);
    free(w->chunk);
    free(w->zbuf);
    free(w->dsec);
    free(w);
}

/* CSV text needs quotes when a reader would otherwise split it, trim it,
 * take it for a comment, or read it as missing. */
static int needs_quotes(const char *s, size_t n, char sep, int first)
{
    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || (first && s[0] == '#'))
        return 1;
    if ((n == 2 && s[0] == 'N' && s[1] == 'A') ||
        (n == 3 && (s[0] | 32) == 'n' && (s[1] | 32) == 'a' && (s[2] | 32) == 'n'))
        return 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == sep || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            return 1;
    return 0;
}

/* Write s (n bytes) as a CSV field at p, quoted if needed; returns the end. */
static char *put_field(char *p, const char *s, size_t n, char sep, int first)
{
    if (!needs_quotes(s, n, sep, first)) {
        memcpy(p, s, n);
        return p + n;
    }
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            *p++ = '"';
        *p++ = s[i];
    }
    *p++ = '"';
    return p;
}

static int write_csv_name(FILE *fp, const char *s, char sep, int first)
{
    size_t n = strlen(s);
    char *buf = malloc(2 * n + 3);
    if (!buf)
        return -1;
    char *end = put_field(buf, s, n, sep, first);
    int rc = fwrite(buf, 1, (size_t)(end - buf), fp) == (size_t)(end - buf) ? 0 : -1;
    free(buf);
    return rc;
}

static void set_plain(st_writer *w)
{
    w->plain = 1;
    for (size_t j = 0; j < w->ncols; j++)
        w->plain &= st_dtype_is_numeric(w->dtypes[j]) && st_dtype_is_numeric(w->col[j].src);
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
    w->col = calloc(ncols, sizeof *w->col);
    if (!w->names || !w->dtypes || !w->coloff || !w->col) {
        rc = st_err_nomem(e, "writer");
        goto out;
    }
    for (size_t j = 0; j < ncols; j++) {
        if (!(w->names[j] = strdup(names[j]))) {
            rc = st_err_nomem(e, "column name");
            goto out;
        }
        w->dtypes[j] = dtypes ? dtypes[j] : strcmp(names[j], "seq") == 0 ? ST_I8 : ST_F8;
        if ((unsigned)w->dtypes[j] >= ST_NDTYPES) {
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "column '%.100s': no such type %d", names[j], (int)w->dtypes[j]);
            goto out;
        }
        w->col[j].src = w->dtypes[j];
        w->coloff[j] = w->rowsize;
        w->rowsize += st_dtype_size(w->dtypes[j]);
        if (w->format == ST_FMT_BIN && w->dtypes[j] == ST_STR && (rc = st_strdict_new(&w->col[j].odict, e)) < 0)
            goto out;
    }
    set_plain(w);
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
        w->line_cap = ncols * (ST_CELL_BUFSZ + 1) + 2;
        w->line = malloc(w->line_cap);
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

int st_writer_source(st_writer *w, size_t j, st_dtype src, const st_strdict *dict, st_err *e)
{
    if (j >= w->ncols || (unsigned)src >= ST_NDTYPES)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "bug: source of column %zu (of %zu) as type %d", j, w->ncols,
                          (int)src);
    if (src == ST_STR && !dict)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "column '%.100s': string codes need their dictionary",
                          w->names[j]);
    wcol *c = &w->col[j];
    c->src = src;
    c->sdict = src == ST_STR ? dict : NULL;
    c->nremap = 0; /* another dictionary: its codes mean other strings */
    set_plain(w);
    return ST_OK;
}

int st_writer_carry(st_writer *w, size_t j, const st_table *t, size_t tj, st_err *e)
{
    if (tj >= t->ncols)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "bug: carrying column %zu of a table of %zu", tj, t->ncols);
    return st_writer_source(w, j, t->dtypes[tj], t->dicts ? t->dicts[tj] : NULL, e);
}

int st_writer_carry_reader(st_writer *w, size_t j, const st_reader *r, size_t rj, st_err *e)
{
    if (rj >= r->ncols)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "bug: carrying column %zu of a reader of %zu", rj, r->ncols);
    return st_writer_source(w, j, r->dtypes[rj], r->dicts[rj], e);
}

static int row_error(st_writer *w, size_t j, st_err *e, const char *fmt, const char *what)
{
    char why[sizeof e->msg];
    snprintf(why, sizeof why, fmt, what);
    return st_err_set(e, ST_EDATA, NULL, 0, 0, "row %lld: column '%.100s' (%s) %s", w->rows + 1, w->names[j],
                      st_dtype_name(w->dtypes[j]), why);
}

static int bad_int(st_writer *w, size_t j, double v, st_err *e)
{
    char num[ST_DOUBLE_BUFSZ];
    st_format_double(num, v);
    return row_error(w, j, e, "needs an integer, not %s", num);
}

static int check_int(st_writer *w, size_t j, double v, st_err *e)
{
    double lim = w->dtypes[j] == ST_I4 ? 2147483648.0 : 9223372036854775808.0;
    if (!(v == floor(v)) || v >= lim || v < -lim)
        return bad_int(w, j, v, e);
    return ST_OK;
}

/* ---- conversions for columns that are not numbers fed numbers */

/* The text of a source value (NULL: missing). */
static const char *src_text(const wcol *c, double v, char *buf, size_t *n)
{
    const char *t;
    if (c->src == ST_STR) {
        t = st_strdict_str(c->sdict, v);
        *n = t ? st_strdict_len(c->sdict, v) : 0;
        return t;
    }
    if (isnan(v))
        return NULL;
    t = st_cell_text(buf, c->src, NULL, v);
    *n = strlen(t);
    return t;
}

/* The value of column j as a number of its (numeric or time) output type,
 * from a source value: numbers and times pass their value (a month is its
 * first day, a date is days, a timestamp seconds), strings are read. */
static int to_value(st_writer *w, size_t j, double v, double *out, st_err *e)
{
    const wcol *c = &w->col[j];
    st_dtype dt = w->dtypes[j];
    if (c->src != ST_STR) {
        if (c->src == ST_DATETIME && (dt == ST_DATE || dt == ST_MONTH))
            v = isnan(v) ? v : v / 86400.0;
        else if ((c->src == ST_DATE || c->src == ST_MONTH) && dt == ST_DATETIME)
            v *= 86400.0;
        *out = v;
        return ST_OK;
    }
    if (isnan(v)) {
        *out = NAN;
        return ST_OK;
    }
    size_t n;
    char buf[ST_CELL_BUFSZ];
    const char *t = src_text(c, v, buf, &n);
    if (!t) {
        char num[ST_DOUBLE_BUFSZ];
        st_format_double(num, v);
        return row_error(w, j, e, "got %s, which is not a code of its dictionary", num);
    }
    if (st_dtype_is_time(dt)) {
        st_dtype kind;
        if (st_time_parse(t, n, &kind, out) == 0) {
            if (kind == ST_DATE && dt == ST_DATETIME)
                *out *= 86400.0;
            if (kind == dt || (kind == ST_DATE && dt == ST_DATETIME))
                return ST_OK;
        }
        return row_error(w, j, e, "cannot hold '%.60s'", t);
    }
    int rc = st_num_parse(t, n, out);
    if (rc == 0)
        return ST_OK;
    if (rc == 2) /* a 64-bit id into a double: not without losing digits */
        return row_error(w, j, e, "cannot hold '%.60s' exactly (an integer beyond 2^53: write it as str or i8)", t);
    return row_error(w, j, e, "cannot hold '%.60s' (text in the input: write it as str)", t);
}

/* Exact int64 from a string source (64-bit ids), or from the value. */
static int to_int64(st_writer *w, size_t j, double v, int64_t *out, st_err *e)
{
    const wcol *c = &w->col[j];
    if (c->src == ST_STR && !isnan(v)) {
        size_t n;
        const char *t = st_strdict_str(c->sdict, v);
        n = t ? st_strdict_len(c->sdict, v) : 0;
        if (t && st_is_int_text(t, n) && n < 24) {
            char tmp[24];
            memcpy(tmp, t, n);
            tmp[n] = '\0';
            errno = 0;
            char *end;
            long long k = strtoll(tmp, &end, 10);
            if (errno == 0 && *end == '\0') {
                if (w->dtypes[j] == ST_I4 && (k > INT32_MAX || k < INT32_MIN))
                    return row_error(w, j, e, "needs an integer, not %s", tmp);
                *out = k;
                return ST_OK;
            }
        }
    }
    double x;
    int rc = to_value(w, j, v, &x, e);
    if (rc < 0)
        return rc;
    if ((rc = check_int(w, j, x, e)) < 0)
        return rc;
    *out = (int64_t)x;
    return ST_OK;
}

/* The output dictionary code of a string cell (binary). */
static int to_code(st_writer *w, size_t j, double v, uint32_t *out, st_err *e)
{
    wcol *c = &w->col[j];
    if (isnan(v)) {
        *out = 0xFFFFFFFFu;
        return ST_OK;
    }
    size_t k = SIZE_MAX;
    if (c->src == ST_STR && v >= 0 && v < (double)st_strdict_size(c->sdict) && v == floor(v)) {
        k = (size_t)v;
        if (k < c->nremap && c->remap[k]) {
            *out = c->remap[k] - 1;
            return ST_OK;
        }
    }
    size_t n;
    char buf[ST_CELL_BUFSZ];
    const char *t = src_text(c, v, buf, &n);
    if (!t) {
        char num[ST_DOUBLE_BUFSZ];
        st_format_double(num, v);
        return row_error(w, j, e, "got %s, which is not a code of its dictionary", num);
    }
    double code;
    size_t before = st_strdict_size(c->odict);
    int rc = st_strdict_intern(c->odict, t, n, &code, e);
    if (rc < 0)
        return row_error(w, j, e, "%s", e->msg);
    if (st_strdict_size(c->odict) > before)
        w->pending += 4 + n;
    *out = (uint32_t)code;
    if (k != SIZE_MAX) { /* remember the source code's output code */
        if (k >= c->nremap) {
            size_t nn = st_strdict_size(c->sdict);
            uint32_t *m = realloc(c->remap, nn * sizeof *m);
            if (!m)
                return st_err_nomem(e, "string codes");
            memset(m + c->nremap, 0, (nn - c->nremap) * sizeof *m);
            c->remap = m;
            c->nremap = nn;
        }
        c->remap[k] = *out + 1;
    }
    return ST_OK;
}

static int grow_dsec(st_writer *w, size_t need, st_err *e)
{
    if (need <= w->dsec_cap)
        return ST_OK;
    size_t cap = w->dsec_cap ? w->dsec_cap : 4096;
    while (cap < need)
        cap *= 2;
    unsigned char *p = realloc(w->dsec, cap);
    if (!p)
        return st_err_nomem(e, "dictionary section");
    w->dsec = p;
    w->dsec_cap = cap;
    return ST_OK;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16),
    p[3] = (unsigned char)(v >> 24);
}

static int flush_chunk(st_writer *w, st_err *e)
{
    if (w->nbuf == 0)
        return ST_OK;
    size_t dbytes = 0;
    for (size_t j = 0; j < w->ncols; j++) {
        wcol *c = &w->col[j];
        if (!c->odict)
            continue;
        size_t n = st_strdict_size(c->odict), need = dbytes + 4;
        for (size_t k = c->first_new; k < n; k++)
            need += 4 + st_strdict_len(c->odict, (double)k);
        int rc = grow_dsec(w, need + 8, e);
        if (rc < 0)
            return rc;
        put32(w->dsec + dbytes, (uint32_t)(n - c->first_new));
        dbytes += 4;
        for (size_t k = c->first_new; k < n; k++) {
            size_t len = st_strdict_len(c->odict, (double)k);
            put32(w->dsec + dbytes, (uint32_t)len);
            memcpy(w->dsec + dbytes + 4, st_strdict_str(c->odict, (double)k), len);
            dbytes += 4 + len;
        }
        c->first_new = n;
    }
    while (dbytes % 8 && w->dsec)
        w->dsec[dbytes++] = 0;
    int rc = st_bin_write_chunk(w->fp, w->dsec, dbytes, w->chunk, (uint32_t)w->nbuf, w->nbuf * w->rowsize,
                                w->codec, &w->zbuf, &w->zcap, e);
    w->nbuf = 0;
    w->pending = 0;
    return rc;
}

static int cell_bin(st_writer *w, size_t j, double v, unsigned char *p, st_err *e)
{
    int rc;
    switch (w->dtypes[j]) {
    case ST_F8:
    case ST_F4: {
        double x;
        if ((rc = to_value(w, j, v, &x, e)) < 0)
            return rc;
        if (w->dtypes[j] == ST_F8) {
            memcpy(p, &x, 8);
        } else {
            float f = (float)x;
            memcpy(p, &f, 4);
        }
        return ST_OK;
    }
    case ST_I8:
    case ST_I4: {
        int64_t k = 0;
        if ((rc = to_int64(w, j, v, &k, e)) < 0)
            return rc;
        if (w->dtypes[j] == ST_I8) {
            memcpy(p, &k, 8);
        } else {
            int32_t k4 = (int32_t)k;
            memcpy(p, &k4, 4);
        }
        return ST_OK;
    }
    case ST_STR: {
        uint32_t code = 0;
        if ((rc = to_code(w, j, v, &code, e)) < 0)
            return rc;
        memcpy(p, &code, 4);
        return ST_OK;
    }
    default: { /* times */
        double x;
        if ((rc = to_value(w, j, v, &x, e)) < 0)
            return rc;
        int64_t k = INT64_MIN; /* NaT */
        if (!isnan(x)) {
            char buf[ST_CELL_BUFSZ];
            if (st_time_format(buf, w->dtypes[j], x) < 0) {
                char num[ST_DOUBLE_BUFSZ];
                st_format_double(num, x);
                return row_error(w, j, e, "cannot hold %s (not a time of this kind, or out of range)", num);
            }
            if (w->dtypes[j] == ST_MONTH) {
                int64_t y;
                unsigned m, d;
                st_civil_from_days((int64_t)x, &y, &m, &d);
                k = (y - 1970) * 12 + (int64_t)m - 1;
            } else {
                k = (int64_t)x;
            }
        }
        memcpy(p, &k, 8);
        return ST_OK;
    }
    }
}

static int row_bin(st_writer *w, const double *row, st_err *e)
{
    unsigned char *rec = w->chunk + w->nbuf * w->rowsize;
    for (size_t j = 0; j < w->ncols; j++) {
        unsigned char *p = rec + w->coloff[j];
        double v = row[j];
        if (!w->plain) {
            int rc = cell_bin(w, j, v, p, e);
            if (rc < 0)
                return rc;
            continue;
        }
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
        default: {
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
    if (w->nbuf == w->chunk_rows || w->pending >= (2u << 20))
        return flush_chunk(w, e);
    return ST_OK;
}

/* Make room for need more bytes at *p in the line buffer. */
static int line_room(st_writer *w, char **p, size_t need, st_err *e)
{
    size_t used = (size_t)(*p - w->line);
    if (used + need + 2 <= w->line_cap)
        return ST_OK;
    size_t cap = w->line_cap;
    while (cap < used + need + 2)
        cap *= 2;
    char *l = realloc(w->line, cap);
    if (!l)
        return st_err_nomem(e, "line buffer");
    w->line = l;
    w->line_cap = cap;
    *p = l + used;
    return ST_OK;
}

/* One cell of a column that is not plain, at *p. */
static int cell_csv(st_writer *w, size_t j, double v, char **p, st_err *e)
{
    const wcol *c = &w->col[j];
    st_dtype dt = w->dtypes[j];
    char buf[ST_CELL_BUFSZ];
    int rc;
    if (dt == ST_STR || (c->src == ST_STR && !st_dtype_is_time(dt))) {
        /* a string; or a string source in a numeric column (a promoted
         * column of ids, 64-bit integers): its text as it is */
        size_t n;
        const char *t = src_text(c, v, buf, &n);
        if (!t && !isnan(v)) {
            char num[ST_DOUBLE_BUFSZ];
            st_format_double(num, v);
            return row_error(w, j, e, c->sdict || c->src != ST_STR ? "got %s, which is not a code of its dictionary"
                                                                    : "got %s, but no dictionary (st_writer_source)",
                             num);
        }
        if (!t && dt != ST_STR) {
            if (dt == ST_I8 || dt == ST_I4)
                return bad_int(w, j, NAN, e);
            t = "NaN";
            n = 3;
        }
        if (!t)
            return ST_OK; /* a missing string: an empty cell */
        if ((rc = line_room(w, p, 2 * n + 2, e)) < 0)
            return rc;
        *p = put_field(*p, t, n, w->sep, j == 0);
        return ST_OK;
    }
    double x;
    if ((rc = to_value(w, j, v, &x, e)) < 0)
        return rc;
    if (st_dtype_is_time(dt)) {
        int k = st_time_format(*p, dt, x);
        if (k < 0) {
            char num[ST_DOUBLE_BUFSZ];
            st_format_double(num, x);
            return row_error(w, j, e, "cannot hold %s (not a time of this kind, or out of range)", num);
        }
        *p += k;
        return ST_OK;
    }
    if ((dt == ST_I8 || dt == ST_I4) && check_int(w, j, x, e) < 0)
        return ST_EDATA;
    *p += strlen(strcpy(*p, st_cell_text(buf, dt, NULL, x)));
    return ST_OK;
}

static int row_csv(st_writer *w, const double *row, st_err *e)
{
    char *p = w->line;
    for (size_t j = 0; j < w->ncols; j++) {
        if (j)
            *p++ = w->sep;
        double v = row[j];
        if (!w->plain) {
            int rc = line_room(w, &p, ST_CELL_BUFSZ + 1, e);
            if (rc == ST_OK)
                rc = cell_csv(w, j, v, &p, e);
            if (rc < 0)
                return rc;
            continue;
        }
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
    if (p == w->line) { /* one column, missing: "" so that the line is not blank (skipped) */
        *p++ = '"';
        *p++ = '"';
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
            rc = st_bin_write_chunk(w->fp, NULL, 0, NULL, 0, 0, ST_CODEC_RAW, &w->zbuf, &w->zcap, e);
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

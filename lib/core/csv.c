/* CSV stage (RFC 4180): header line, column types from a look-ahead, and
 * rows.  Cells may be quoted ("" is a quote inside), and a quoted cell may
 * hold separators and line breaks.  '#' lines are comments and blank lines
 * are skipped (outside quoted cells), CRLF is accepted; every error names
 * the line and, where it applies, the field number as the column.
 *
 * The hot path reads a line without quotes into doubles with one memchr
 * and one number parse per cell; a cell that starts with a quote sends the
 * rest of its record to the general splitter, which may read more lines. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream_impl.h"

#define LOOKAHEAD_BYTES (512u << 10)

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

/* ------------------------------------------------- the general splitter */

static int rec_reserve(st_reader *r, size_t need, st_err *e)
{
    if (need <= r->rec_cap)
        return ST_OK;
    size_t cap = r->rec_cap ? r->rec_cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(r->rec, cap);
    if (!p)
        return st_err_nomem(e, "CSV record");
    r->rec = p;
    r->rec_cap = cap;
    return ST_OK;
}

static int field_push(st_reader *r, size_t *nf, size_t off, size_t n, int quoted, long line, st_err *e)
{
    if (*nf == r->fields_cap) {
        size_t cap = r->fields_cap ? 2 * r->fields_cap : 64;
        st_csv_field *f = realloc(r->fields, cap * sizeof *f);
        if (!f)
            return st_err_nomem(e, "CSV fields");
        r->fields = f;
        r->fields_cap = cap;
    }
    /* s holds the offset into r->rec until the record is complete */
    r->fields[*nf] = (st_csv_field){(const char *)(uintptr_t)off, n, quoted, line};
    (*nf)++;
    return ST_OK;
}

/* Split the rest of a record, s[0..n) (the remainder of its first line,
 * already consumed, which began on line line0 at field number j0), into
 * r->fields[0..*nf): quoted fields unescaped, a quoted field running on
 * over the following lines.  The fields point into r->rec. */
static int split_rest(st_reader *r, const char *s, size_t n, size_t j0, long line0, size_t *nf, st_err *e)
{
    int rc = rec_reserve(r, n + 1, e);
    if (rc < 0)
        return rc;
    memcpy(r->rec, s, n);
    size_t len = n, i = 0, w = 0;
    long line = line0;
    const char sep = r->sep;
    *nf = 0;
    for (;;) {
        long fline = line;
        size_t k = i;
        while (k < len && r->rec[k] == ' ')
            k++;
        size_t start = w;
        int quoted = k < len && r->rec[k] == '"';
        if (quoted) {
            i = k + 1;
            for (;;) {
                if (i == len) { /* the quoted cell goes on: append the next line */
                    char *more;
                    size_t m;
                    int got;
                    if (len + 1 > ST_CSV_MAX_LINE)
                        return st_err_set(e, ST_EDATA, r->path, fline, (long)(j0 + *nf) + 1,
                                          "quoted cell longer than %u bytes (a quote not closed?)", ST_CSV_MAX_LINE);
                    if ((rc = next_line(r, &more, &m, &got, e)) < 0)
                        return rc;
                    if (!got)
                        return st_err_set(e, ST_EDATA, r->path, fline, (long)(j0 + *nf) + 1,
                                          "quote not closed before the end of the input");
                    if ((rc = rec_reserve(r, len + 1 + m, e)) < 0)
                        return rc;
                    r->rec[len++] = '\n';
                    memcpy(r->rec + len, more, m);
                    len += m;
                    line++;
                    r->rec[w++] = '\n';
                    i++;
                    continue;
                }
                char c = r->rec[i];
                if (c == '"') {
                    if (i + 1 < len && r->rec[i + 1] == '"') {
                        r->rec[w++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                r->rec[w++] = c;
                i++;
            }
            while (i < len && r->rec[i] == ' ')
                i++;
            if (i < len && r->rec[i] != sep)
                return st_err_set(e, ST_EDATA, r->path, line, (long)(j0 + *nf) + 1,
                                  "text after the closing quote of a quoted cell");
        } else {
            const char *q = memchr(r->rec + i, sep, len - i);
            size_t stop = q ? (size_t)(q - r->rec) : len;
            memmove(r->rec + w, r->rec + i, stop - i);
            w += stop - i;
            i = stop;
        }
        if ((rc = field_push(r, nf, start, w - start, quoted, fline, e)) < 0)
            return rc;
        if (i < len && r->rec[i] == sep) {
            i++;
            continue;
        }
        break;
    }
    for (size_t f = 0; f < *nf; f++)
        r->fields[f].s = r->rec + (uintptr_t)r->fields[f].s;
    return ST_OK;
}

/* ------------------------------------------------------- cell values */

static int is_na_word(const char *s, size_t n)
{
    return (n == 2 && s[0] == 'N' && s[1] == 'A') || (n == 3 && (s[0] | 32) == 'n' && (s[1] | 32) == 'a' && (s[2] | 32) == 'n');
}

/* Missing: an empty cell, or NA / NaN (unquoted). */
static int is_missing(const char *s, size_t n, int quoted)
{
    while (n && *s == ' ')
        s++, n--;
    while (n && s[n - 1] == ' ')
        n--;
    return n == 0 || (!quoted && is_na_word(s, n));
}

static int cell_error(const st_reader *r, long line, size_t j, st_err *e, const char *what, const char *s, size_t n)
{
    char cell[64];
    show_cell(cell, sizeof cell, s, n);
    return st_err_set(e, ST_EDATA, r->path, line, (long)j + 1, "%s '%s' in column '%.100s'", what, cell,
                      r->names[j]);
}

static int intern(st_reader *r, size_t j, const char *s, size_t n, long line, double *out, st_err *e)
{
    int rc = st_strdict_intern(r->dicts[j], s, n, out, e);
    if (rc < 0)
        st_err_set(e, rc, r->path, line, (long)j + 1, "%s in column '%.100s'", e->msg, r->names[j]);
    return rc;
}

/* An id cell (ST_K_IDS): numbers in their plain form -- integers as
 * written without '+' or spaces ("-0" as "0"; leading zeros make text),
 * other numbers as printed (1.50 as 1.5) -- and anything else as is. */
static int id_cell(st_reader *r, size_t j, const char *s, size_t n, int quoted, long line, double *out, st_err *e)
{
    if (is_missing(s, n, quoted)) {
        *out = NAN;
        return ST_OK;
    }
    int cls = st_cell_class(s, n, quoted);
    if (cls == ST_C_INT || cls == ST_C_BIGINT) {
        while (n && *s == ' ')
            s++, n--;
        while (n && s[n - 1] == ' ')
            n--;
        /* the plain form is a substring: drop a '+', and the '-' of -0 */
        if (*s == '+' || (*s == '-' && n == 2 && s[1] == '0'))
            s++, n--;
    } else if (cls == ST_C_NUM) {
        double v;
        char buf[ST_CELL_BUFSZ];
        st_num_parse(s, n, &v);
        const char *t = st_ids_text(buf, ST_F8, v);
        return intern(r, j, t, strlen(t), line, out, e);
    }
    return intern(r, j, s, n, line, out, e);
}

/* A promotion or, without it, the error for a cell that column j (numbers)
 * cannot hold. */
static int contradiction(st_reader *r, size_t j, const char *s, size_t n, int quoted, long line, int big,
                         double *out, st_err *e)
{
    if (r->promote && r->any_type && r->int_only[j]) {
        int rc = st_promote(r, j, e);
        return rc < 0 ? rc : id_cell(r, j, s, n, quoted, line, out, e);
    }
    if (big) {
        char cell[64];
        show_cell(cell, sizeof cell, s, n);
        return st_err_set(e, ST_EDATA, r->path, line, (long)j + 1,
                          "integer %s in column '%.100s' is beyond 2^53, where doubles lose digits%s",
                          cell, r->names[j], r->any_type ? " (read such ids as text: --dtype COL=str)" : "");
    }
    if (r->int_only[j] && r->any_type) {
        char cell[64];
        show_cell(cell, sizeof cell, s, n);
        return st_err_set(e, ST_EDATA, r->path, line, (long)j + 1,
                          "non-numeric value '%s' in column '%.100s', integers in its first rows "
                          "(ids? read them as text: stoch-cat --dtype %.100s=str)",
                          cell, r->names[j], r->names[j]);
    }
    return cell_error(r, line, j, e, "non-numeric value", s, n);
}

/* A cell of column j from the general splitter (or a non-numeric column
 * on the hot path). */
static int cell_value(st_reader *r, size_t j, const char *s, size_t n, int quoted, long line, double *out,
                      st_err *e)
{
    switch (r->kind[j]) {
    case ST_K_NUM: {
        if (quoted && (n == 0 || is_missing(s, n, 0))) {
            int text = n > 0 && !is_missing(s, n, 1); /* "NA" in quotes */
            if (!text) {
                *out = NAN;
                return ST_OK;
            }
            return contradiction(r, j, s, n, quoted, line, 0, out, e);
        }
        int rc = st_num_parse(s, n, out);
        if (rc == 0 || rc == 1)
            return ST_OK;
        if (rc == -2)
            return cell_error(r, line, j, e, "number out of the range of doubles:", s, n);
        if (rc == 2 && !r->int_only[j])
            return ST_OK; /* a big number among fractional ones: the nearest double */
        return contradiction(r, j, s, n, quoted, line, rc == 2, out, e);
    }
    case ST_K_STR:
        if (is_missing(s, n, quoted)) {
            *out = NAN;
            return ST_OK;
        }
        return intern(r, j, s, n, line, out, e);
    case ST_K_IDS:
        return id_cell(r, j, s, n, quoted, line, out, e);
    default: {
        if (is_missing(s, n, quoted)) {
            *out = NAN;
            return ST_OK;
        }
        st_dtype kind;
        if (st_time_parse(s, n, &kind, out) == 0) {
            if (kind == r->dtypes[j])
                return ST_OK;
            if (kind == ST_DATE && r->dtypes[j] == ST_DATETIME) {
                *out *= 86400.0;
                return ST_OK;
            }
        }
        static const char *const want[] = {"a date (YYYY-MM-DD)", "a month (YYYY-MM)",
                                           "a timestamp (YYYY-MM-DDTHH:MM:SS)"};
        char what[64];
        snprintf(what, sizeof what, "not %s:", want[r->dtypes[j] - ST_DATE]);
        return cell_error(r, line, j, e, what, s, n);
    }
    }
}

static int ragged(const st_reader *r, long line, long col, size_t have, st_err *e)
{
    return st_err_set(e, ST_EDATA, r->path, line, col, "ragged row: %zu fields, the header has %zu", have, r->ncols);
}

/* The rest of a record from field j0 at s[0..n) (quotes involved). */
static int slow_rest(st_reader *r, double *row, size_t j0, const char *s, size_t n, st_err *e)
{
    size_t nf;
    int rc = split_rest(r, s, n, j0, r->last, &nf, e);
    if (rc < 0)
        return rc;
    size_t nc = r->ncols;
    for (size_t f = 0; f < nf && j0 + f < nc; f++) {
        const st_csv_field *c = &r->fields[f];
        if ((rc = cell_value(r, j0 + f, c->s, c->n, c->quoted, c->line, &row[j0 + f], e)) < 0)
            return rc;
    }
    if (j0 + nf != nc) {
        long line = r->fields[nf - 1].line;
        return ragged(r, line, (long)(j0 + nf < nc ? j0 + nf + 1 : nc + 1), j0 + nf, e);
    }
    return 1;
}

static int starts_quoted(const char *p, const char *stop)
{
    while (p < stop && *p == ' ')
        p++;
    return p < stop && *p == '"';
}

/* The cells of a line at line[0..n) into row.  all_num (a constant in
 * each caller, so that the numbers-only loop carries no column test):
 * every column is numbers. */
static inline __attribute__((always_inline)) int cells(st_reader *r, double *row, const char *line, size_t n,
                                                       int all_num, st_err *e)
{
    const char *p = line, *end = line + n;
    const char sep = r->sep;
    const unsigned char *kind = r->kind;
    size_t nc = r->ncols;
    int rc;
    for (size_t j = 0; j < nc; j++) {
        const char *q = memchr(p, sep, (size_t)(end - p));
        const char *stop = q ? q : end;
        /* st_num_parse: 0 a number, 1 missing; anything else (text, a
         * quote, a 64-bit integer, an overflow) goes the long way, as do
         * the cells of other columns */
        if ((!all_num && kind[j] != ST_K_NUM) || (st_num_parse(p, (size_t)(stop - p), &row[j]) & ~1) != 0) {
            if (starts_quoted(p, stop))
                return slow_rest(r, row, j, p, (size_t)(end - p), e);
            if ((rc = cell_value(r, j, p, (size_t)(stop - p), 0, r->last, &row[j], e)) < 0)
                return rc;
        }
        if (!q) {
            if (j + 1 < nc)
                return ragged(r, r->lineno, (long)j + 2, j + 1, e);
            break;
        }
        p = q + 1;
        if (j + 1 == nc) {
            size_t m = nc + 1;
            for (const char *c = p; c < end; c++)
                m += *c == sep;
            return ragged(r, r->lineno, (long)nc + 1, m, e);
        }
    }
    return 1;
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
    return r->all_num ? cells(r, row, line, n, 1, e) : cells(r, row, line, n, 0, e);
}

/* ------------------------------------------------------------- header */

static int set_names(st_reader *r, size_t nf, int from_fields, st_err *e)
{
    r->ncols = nf;
    r->names = calloc(nf ? nf : 1, sizeof *r->names);
    if (!r->names)
        return st_err_nomem(e, "column names");
    for (size_t j = 0; j < nf; j++) {
        const char *s = from_fields ? r->fields[j].s : "";
        size_t n = from_fields ? r->fields[j].n : 0;
        if (from_fields && !r->fields[j].quoted) {
            while (n && *s == ' ')
                s++, n--;
            while (n && s[n - 1] == ' ')
                n--;
        }
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return st_err_set(e, ST_EDATA, r->path, r->fields[j].line, (long)j + 1,
                                  "control character 0x%02x in the name of column %zu (not a CSV file?)",
                                  (unsigned char)s[i], j + 1);
        char gen[32];
        if (n == 0) { /* no name (R's row names, --no-header): cJ */
            n = (size_t)snprintf(gen, sizeof gen, "c%zu", j + 1);
            s = gen;
        }
        if (!(r->names[j] = malloc(n + 1)))
            return st_err_nomem(e, "column name");
        memcpy(r->names[j], s, n);
        r->names[j][n] = '\0';
    }
    return ST_OK;
}

/* Mark the columns named in list (comma-separated) with kind k. */
static int force_kind(st_reader *r, const char *list, unsigned char k, unsigned char *forced, st_err *e)
{
    if (!list || !*list)
        return ST_OK;
    const char *p = list;
    for (;;) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        size_t j = 0;
        while (j < r->ncols && !(strlen(r->names[j]) == len && memcmp(r->names[j], p, len) == 0))
            j++;
        if (j == r->ncols)
            return st_err_set(e, ST_EDATA, r->path, 0, 0, "no column '%.*s' to read as %s", (int)(len > 100 ? 100 : len),
                              p, k == ST_K_STR ? "strings" : "ids");
        r->kind[j] = k;
        forced[j] = 1;
        if (!q)
            return ST_OK;
        p = q + 1;
    }
}

/* Look at the first rows (r->keep holds them for reading again) and decide
 * each column's type:
 *   text anywhere (a cell that is not a number, a time or missing; 007;
 *   "NA" in quotes)                                   -> string
 *   dates only -> date; months only -> month; timestamps, or timestamps
 *   and dates -> timestamp; other mixes of times      -> string
 *   times and numbers                                 -> string
 *   integers with one beyond 2^53 (and no fractions)  -> ids (strings)
 *   numbers, or nothing but missing cells             -> numbers (f8);
 *   integers only (or nothing) may be promoted later.
 * Trouble in the look-ahead (a ragged row, a quote never closed) ends it:
 * reading reports it where it is. */
static int infer_types(st_reader *r, const unsigned char *forced, st_err *e)
{
    size_t nc = r->ncols;
    unsigned *seen = calloc(nc ? nc : 1, sizeof *seen);
    if (!seen)
        return st_err_nomem(e, "column types");
    long lineno = r->lineno;
    r->keep = r->pos;
    st_err scratch;
    st_err_clear(&scratch);
    for (size_t rows = 0; rows < ST_CSV_LOOKAHEAD && r->pos - r->keep < LOOKAHEAD_BYTES; rows++) {
        char *line;
        size_t n, nf;
        int got;
        if (next_data_line(r, &line, &n, &got, &scratch) < 0 || !got)
            break;
        if (split_rest(r, line, n, 0, r->lineno, &nf, &scratch) < 0 || nf != nc)
            break;
        for (size_t j = 0; j < nc; j++) {
            int c = st_cell_class(r->fields[j].s, r->fields[j].n, r->fields[j].quoted);
            seen[j] |= 1u << c;
        }
    }
    r->pos = r->scan = r->keep;
    r->keep = SIZE_MAX;
    r->lineno = lineno;
    const unsigned TIMES = 1u << ST_C_DATE | 1u << ST_C_MONTH | 1u << ST_C_DATETIME;
    const unsigned NUMS = 1u << ST_C_INT | 1u << ST_C_BIGINT | 1u << ST_C_NUM | 1u << ST_C_OVERFLOW;
    for (size_t j = 0; j < nc; j++) {
        if (forced[j])
            continue;
        unsigned s = seen[j];
        if (s & 1u << ST_C_TEXT || ((s & TIMES) && (s & NUMS)) ||
            ((s & 1u << ST_C_MONTH) && (s & (1u << ST_C_DATE | 1u << ST_C_DATETIME)))) {
            r->kind[j] = ST_K_STR;
        } else if (s & TIMES) {
            r->kind[j] = ST_K_TIME;
            r->dtypes[j] = s & 1u << ST_C_DATETIME ? ST_DATETIME : s & 1u << ST_C_DATE ? ST_DATE : ST_MONTH;
        } else if ((s & 1u << ST_C_BIGINT) && !(s & 1u << ST_C_NUM)) {
            r->kind[j] = ST_K_IDS;
        } else {
            r->int_only[j] = !(s & (1u << ST_C_NUM | 1u << ST_C_BIGINT | 1u << ST_C_OVERFLOW));
        }
    }
    free(seen);
    return ST_OK;
}

/* The separator: a comma, or a tab when the first line has tabs and no
 * comma outside quotes. */
static char detect_sep(const char *s, size_t n)
{
    int quoted = 0, tab = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && s[i] == ',')
            return ',';
        else if (!quoted && s[i] == '\t')
            tab = 1;
    }
    return tab ? '\t' : ',';
}

int st_csv_open(st_reader *r, const st_reader_opts *o, st_err *e)
{
    char *line;
    size_t n, nf;
    int got;
    r->format = ST_FMT_CSV;
    if (r->len - r->pos >= 3 && memcmp(r->buf + r->pos, "\xef\xbb\xbf", 3) == 0)
        r->pos = r->scan = r->pos + 3; /* UTF-8 byte order mark */
    long lineno = r->lineno;
    r->keep = r->pos;
    int rc = next_data_line(r, &line, &n, &got, e);
    if (rc < 0)
        return rc;
    if (!got)
        return st_err_set(e, ST_EDATA, r->path, 0, 0, "empty input (no header line)");
    r->sep = detect_sep(line, n);
    long hline = r->lineno;
    if ((rc = split_rest(r, line, n, 0, hline, &nf, e)) < 0)
        return rc;
    int no_header = (o && o->no_header) || st_default_no_header();
    if (no_header) { /* the line is data: read it again */
        r->pos = r->scan = r->keep;
        r->lineno = lineno;
    }
    r->keep = SIZE_MAX;
    if ((rc = set_names(r, nf, !no_header, e)) < 0)
        return rc;
    if (!no_header) {
        int numbers = 1;
        for (size_t j = 0; j < nf && numbers; j++) {
            double v;
            int k = st_num_parse(r->fields[j].s, r->fields[j].n, &v);
            numbers = k == 0 || k == 2;
        }
        if (numbers)
            return st_err_set(e, ST_EDATA, r->path, hline, 1,
                              "the header line looks like data (every name is a number); use --no-header "
                              "if the input has no header");
        if ((rc = st_check_names(r->names, r->ncols, r->path, hline, e)) < 0)
            return rc;
    }
    if ((rc = st_apply_renames(r, o && o->keep_names, no_header ? 0 : hline, e)) < 0)
        return rc;
    size_t nc = r->ncols;
    r->dtypes = calloc(nc, sizeof *r->dtypes); /* ST_F8 */
    r->kind = calloc(nc, sizeof *r->kind);     /* ST_K_NUM */
    r->int_only = calloc(nc, sizeof *r->int_only);
    r->dicts = calloc(nc, sizeof *r->dicts);
    unsigned char *forced = calloc(nc, 1);
    if (!r->dtypes || !r->kind || !r->int_only || !r->dicts || !forced) {
        free(forced);
        return st_err_nomem(e, "column types");
    }
    rc = force_kind(r, o ? o->str_cols : NULL, ST_K_STR, forced, e);
    if (rc == ST_OK)
        rc = force_kind(r, o ? o->id_cols : NULL, ST_K_IDS, forced, e);
    if (rc == ST_OK && !(o && o->no_lookahead))
        rc = infer_types(r, forced, e);
    /* numbers only: every column not forced is numbers, whatever the
     * look-ahead saw (a cell that is not one is an error when it is read);
     * the look-ahead still tells which columns are integers, so that a
     * 64-bit integer in one is an error, not a rounded id */
    for (size_t j = 0; j < nc && rc == ST_OK && !r->any_type; j++) {
        if (forced[j])
            continue;
        if (r->kind[j] == ST_K_IDS)
            r->int_only[j] = 1;
        r->kind[j] = ST_K_NUM;
        r->dtypes[j] = ST_F8;
    }
    free(forced);
    r->all_num = 1;
    for (size_t j = 0; j < nc && rc == ST_OK; j++) {
        r->all_num &= r->kind[j] == ST_K_NUM;
        if (r->kind[j] == ST_K_STR || r->kind[j] == ST_K_IDS) {
            r->dtypes[j] = ST_STR;
            rc = st_strdict_new(&r->dicts[j], e);
        }
    }
    return rc;
}

/* Whole streams in memory (st_table), seq groups over a table, the
 * streaming seq iterator that holds one group at a time, and the counted
 * data-parallel reads.
 *
 * A table owns a dictionary per string column; the rows of each input are
 * brought to the table's representation as they arrive (a "feed": string
 * codes remapped, numbers that meet a string column turned into their
 * text), so that inputs with different dictionaries, and columns promoted
 * part way, concatenate into one table.  Seq ids are compared by value
 * within a table and by their text across inputs and ranks. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/mpi.h"
#include "core/resource.h"
#include "core/stream_impl.h"

/* ------------------------------------------------ set of seen seq ids */

void st_seqset_free(st_seqset *s)
{
    st_strdict_free(s->d);
    s->d = NULL;
}

int st_seqset_add(st_seqset *s, const char *text, st_err *e)
{
    if (!s->d && st_strdict_new(&s->d, e) < 0)
        return ST_ENOMEM;
    size_t before = st_strdict_size(s->d);
    double code;
    int rc = st_strdict_intern(s->d, text, strlen(text), &code, e);
    if (rc < 0)
        return rc;
    return st_strdict_size(s->d) == before;
}

/* The error for seq id text met again after other sequences. */
static int seq_again(const char *text, const char *file, long line, const char *where, st_err *e)
{
    return st_err_set(e, ST_EDATA, file, line, 0,
                      "%sseq %.100s appears again after other sequences (rows of a sequence must be contiguous)",
                      where, text);
}

/* The text of a seq cell, NULL (with e filled) if it cannot be a seq. */
static const char *seq_text(double v, st_dtype dt, const st_strdict *dict, char *buf, const char *file, long line,
                            const char *where, st_err *e)
{
    if (isnan(v)) {
        st_err_set(e, ST_EDATA, file, line, 0, "%sseq value is missing", where);
        return NULL;
    }
    if (dt == ST_STR) {
        const char *t = st_strdict_str(dict, v);
        if (!t)
            st_err_set(e, ST_EINTERNAL, file, line, 0, "%sbug: seq code %g is not in the dictionary", where, v);
        return t;
    }
    if (st_dtype_is_numeric(dt) && !(v == floor(v))) {
        char num[ST_DOUBLE_BUFSZ];
        st_format_double(num, v);
        st_err_set(e, ST_EDATA, file, line, 0, "%sseq value %s is not an integer", where, num);
        return NULL;
    }
    return st_ids_text(buf, dt, v);
}

int st_seq_check(st_seqset *s, double v, st_dtype dt, const st_strdict *dict, const char *file, long line,
                 const char *where, st_err *e)
{
    char buf[ST_CELL_BUFSZ];
    const char *t = seq_text(v, dt, dict, buf, file, line, where, e);
    if (!t)
        return e->code;
    int dup = st_seqset_add(s, t, e);
    if (dup < 0)
        return dup;
    return dup ? seq_again(t, file, line, where, e) : ST_OK;
}

/* ---------------------------------------------------------------- table */

static size_t phys_bytes(void)
{
    double phys = st_phys_memory();
    return phys < (double)SIZE_MAX ? (size_t)phys : SIZE_MAX;
}

static int table_grow(st_table *t, size_t need, st_err *e)
{
    if (need <= t->cap)
        return ST_OK;
    size_t cap = t->cap ? t->cap : 1024;
    while (cap < need)
        cap *= 2;
    size_t rowbytes = t->ncols * sizeof(double);
    size_t limit = phys_bytes();
    if (cap > limit / rowbytes) {
        cap = need;
        if (cap > limit / rowbytes)
            return st_err_set(e, ST_ENOMEM, t->source, 0, 0,
                              "a table of %zu rows x %zu columns needs %.0f MB, more than the machine's %.0f MB",
                              need, t->ncols, (double)need * rowbytes / 1048576.0, (double)limit / 1048576.0);
    }
    double *d = realloc(t->data, cap * rowbytes);
    if (!d)
        return st_err_set(e, ST_ENOMEM, t->source, 0, 0, "out of memory for %zu rows x %zu columns",
                          cap, t->ncols);
    t->data = d;
    t->cap = cap;
    return ST_OK;
}

/* Free a table's header (names, dtypes, dictionaries, meta, source) and
 * zero it; the rows are the caller's. */
static void names_free(st_table *h)
{
    for (size_t j = 0; j < h->ncols; j++) {
        free(h->names ? h->names[j] : NULL);
        st_strdict_free(h->dicts ? h->dicts[j] : NULL);
    }
    free(h->names);
    free(h->dtypes);
    free(h->dicts);
    free(h->meta);
    free(h->source);
    memset(h, 0, sizeof *h);
}

void st_table_free(st_table *t)
{
    if (!t)
        return;
    free(t->data);
    names_free(t);
    free(t);
}

static int table_init(st_table *t, const st_reader *r, st_err *e)
{
    t->ncols = st_reader_ncols(r);
    t->names = calloc(t->ncols, sizeof *t->names);
    t->dtypes = calloc(t->ncols, sizeof *t->dtypes);
    t->dicts = calloc(t->ncols, sizeof *t->dicts);
    t->source = strdup(st_reader_path(r));
    if (!t->names || !t->dtypes || !t->dicts || !t->source)
        return st_err_nomem(e, "table");
    for (size_t j = 0; j < t->ncols; j++) {
        t->dtypes[j] = st_reader_dtype(r, j);
        if (!(t->names[j] = strdup(st_reader_name(r, j))))
            return st_err_nomem(e, "table");
        if (t->dtypes[j] == ST_STR && st_strdict_new(&t->dicts[j], e) < 0)
            return ST_ENOMEM;
    }
    if (st_reader_meta(r) && !(t->meta = strdup(st_reader_meta(r))))
        return st_err_nomem(e, "table");
    return ST_OK;
}

/* Make column j a string column: the values of rows 0 .. n-1 become the
 * codes of their text (numbers in plain decimal, times ISO). */
static int table_to_str(st_table *t, size_t j, size_t n, st_err *e)
{
    st_dtype old = t->dtypes[j];
    if (old == ST_STR)
        return ST_OK;
    if (!t->dicts[j] && st_strdict_new(&t->dicts[j], e) < 0)
        return ST_ENOMEM;
    t->dtypes[j] = ST_STR;
    char buf[ST_CELL_BUFSZ];
    for (size_t i = 0; i < n; i++) {
        double *v = &t->data[i * t->ncols + j];
        const char *s = st_ids_text(buf, old, *v);
        if (!s)
            continue; /* missing stays NaN */
        int rc = st_strdict_intern(t->dicts[j], s, strlen(s), v, e);
        if (rc < 0)
            return rc;
    }
    return ST_OK;
}

int st_table_col(const st_table *t, const char *name)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (strcmp(t->names[j], name) == 0)
            return (int)j;
    return -1;
}

const char *st_table_str(const st_table *t, size_t j, double code)
{
    return j < t->ncols && t->dtypes[j] == ST_STR && t->dicts ? st_strdict_str(t->dicts[j], code) : NULL;
}

const char *st_table_cell(const st_table *t, size_t j, double v, char *buf)
{
    return st_cell_text(buf, j < t->ncols ? t->dtypes[j] : ST_F8, j < t->ncols && t->dicts ? t->dicts[j] : NULL, v);
}

int st_table_need_numeric(const st_table *t, size_t j, st_err *e)
{
    if (j < t->ncols && st_dtype_is_numeric(t->dtypes[j]))
        return ST_OK;
    if (j >= t->ncols)
        return st_err_set(e, ST_EINTERNAL, t->source, 0, 0, "bug: column %zu of %zu", j, t->ncols);
    const char *what = t->dtypes[j] == ST_STR ? "text" : "times";
    char example[128] = "";
    for (size_t i = 0; i < t->nrows && !example[0]; i++) {
        double v = st_table_get(t, i, j);
        if (!isnan(v)) {
            char buf[ST_CELL_BUFSZ];
            snprintf(example, sizeof example, ", such as '%.40s' in row %zu", st_table_cell(t, j, v, buf), i + 1);
        }
    }
    return st_err_set(e, ST_EDATA, t->source, 0, 0, "column '%.100s' holds %s%s, not numbers", t->names[j], what,
                      example);
}

/* ----------------------------------------------- feeding a table */

/* One input's rows on their way into a table. */
typedef struct feed {
    st_reader *r;
    unsigned retypes;
    st_dtype *rdt;  /* the reader's column types as last seen */
    uint32_t **map; /* string columns: reader code -> table code + 1 (0 unknown) */
    size_t *nmap;
} feed;

static void feed_free(feed *f)
{
    if (f->map)
        for (size_t j = 0; j < f->r->ncols; j++)
            free(f->map[j]);
    free(f->map);
    free(f->nmap);
    free(f->rdt);
    memset(f, 0, sizeof *f);
}

/* Start feeding reader r into t (whose columns r has): types that differ
 * are reconciled (numbers and strings make strings) or refused. */
static int feed_init(feed *f, st_table *t, st_reader *r, st_err *e)
{
    memset(f, 0, sizeof *f);
    f->r = r;
    f->retypes = r->retypes;
    size_t nc = r->ncols;
    f->rdt = malloc((nc ? nc : 1) * sizeof *f->rdt);
    f->map = calloc(nc ? nc : 1, sizeof *f->map);
    f->nmap = calloc(nc ? nc : 1, sizeof *f->nmap);
    if (!f->rdt || !f->map || !f->nmap)
        return st_err_nomem(e, "table feed");
    for (size_t j = 0; j < nc; j++) {
        st_dtype a = t->dtypes[j], b = r->dtypes[j];
        f->rdt[j] = b;
        if (a == b || (st_dtype_is_numeric(a) && st_dtype_is_numeric(b)) || (a == ST_STR && st_dtype_is_numeric(b)))
            continue;
        if (b == ST_STR && st_dtype_is_numeric(a)) {
            int rc = table_to_str(t, j, t->nrows, e);
            if (rc < 0)
                return rc;
            continue;
        }
        return st_err_set(e, ST_EDATA, r->path, 0, 0,
                          "column '%.100s' holds %s here but %s in %.200s (inputs to concatenate need the same kinds "
                          "of column)",
                          t->names[j], st_dtype_short(b), st_dtype_short(a), t->source);
    }
    return ST_OK;
}

/* The reader promoted columns: rows 0 .. n-1 of t still hold numbers
 * there (and so does the seq value *cur, if cur is not NULL and the seq
 * column seqcol is among them). */
static int feed_retyped(feed *f, st_table *t, size_t n, int seqcol, double *cur, st_err *e)
{
    f->retypes = f->r->retypes;
    for (size_t j = 0; j < f->r->ncols; j++) {
        if (f->r->dtypes[j] == f->rdt[j])
            continue;
        st_dtype old = t->dtypes[j];
        f->rdt[j] = f->r->dtypes[j];
        int rc = table_to_str(t, j, n, e);
        if (rc < 0)
            return rc;
        if (cur && (int)j == seqcol && old != ST_STR) {
            char buf[ST_CELL_BUFSZ];
            const char *s = st_ids_text(buf, old, *cur);
            if (s && (rc = st_strdict_intern(t->dicts[j], s, strlen(s), cur, e)) < 0)
                return rc;
        }
    }
    return ST_OK;
}

/* Bring a cell of column j from the reader's representation to the
 * table's. */
static int feed_cell(feed *f, st_table *t, size_t j, double *v, st_err *e)
{
    if (t->dtypes[j] != ST_STR || isnan(*v))
        return ST_OK;
    st_reader *r = f->r;
    if (f->rdt[j] == ST_STR) {
        if (!(*v >= 0 && *v < (double)st_strdict_size(r->dicts[j])))
            return st_err_set(e, ST_EINTERNAL, r->path, 0, 0, "bug: code %g of column '%.100s'", *v, t->names[j]);
        size_t k = (size_t)*v;
        if (k >= f->nmap[j]) {
            size_t nn = st_strdict_size(r->dicts[j]);
            nn = nn > 2 * f->nmap[j] ? nn : 2 * f->nmap[j];
            uint32_t *m = realloc(f->map[j], nn * sizeof *m);
            if (!m)
                return st_err_nomem(e, "string codes");
            memset(m + f->nmap[j], 0, (nn - f->nmap[j]) * sizeof *m);
            f->map[j] = m;
            f->nmap[j] = nn;
        }
        if (!f->map[j][k]) {
            double code;
            int rc = st_strdict_intern(t->dicts[j], st_strdict_str(r->dicts[j], *v),
                                       st_strdict_len(r->dicts[j], *v), &code, e);
            if (rc < 0)
                return rc;
            f->map[j][k] = (uint32_t)code + 1;
        }
        *v = f->map[j][k] - 1;
        return ST_OK;
    }
    char buf[ST_CELL_BUFSZ];
    const char *s = st_ids_text(buf, f->rdt[j], *v);
    return st_strdict_intern(t->dicts[j], s, strlen(s), v, e);
}

/* Whether any column needs feed_cell. */
static int feed_any(const st_table *t)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (t->dtypes[j] == ST_STR)
            return 1;
    return 0;
}

static int feed_rows(feed *f, st_table *t, double *rows, size_t n, st_err *e)
{
    if (!feed_any(t))
        return ST_OK;
    for (size_t j = 0; j < t->ncols; j++) {
        if (t->dtypes[j] != ST_STR)
            continue;
        for (size_t i = 0; i < n; i++) {
            int rc = feed_cell(f, t, j, &rows[i * t->ncols + j], e);
            if (rc < 0)
                return rc;
        }
    }
    return ST_OK;
}

static int read_into(st_table *t, feed *f, st_err *e)
{
    for (;;) {
        int rc = table_grow(t, t->nrows + 4096, e);
        if (rc < 0)
            return rc;
        size_t n;
        double *rows = t->data + t->nrows * t->ncols;
        rc = st_reader_read(f->r, rows, t->cap - t->nrows, &n, e);
        if (rc < 0)
            return rc;
        if (f->r->retypes != f->retypes && (rc = feed_retyped(f, t, t->nrows, -1, NULL, e)) < 0)
            return rc;
        if ((rc = feed_rows(f, t, rows, n, e)) < 0)
            return st_reader_error(f->r, e, rc, "%s", e->msg);
        if (n == 0)
            return ST_OK;
        t->nrows += n;
    }
}

int st_table_read_opts(st_table **out, const char *const *paths, size_t npaths, const st_reader_opts *opts,
                       st_err *e)
{
    *out = NULL;
    st_table *t = calloc(1, sizeof *t);
    if (!t)
        return st_err_nomem(e, "table");
    st_reader_opts o = opts ? *opts : (st_reader_opts){0};
    o.promote = 1;
    int rc = ST_OK;
    size_t n = npaths ? npaths : 1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        st_reader *r;
        rc = st_reader_open_opts(&r, npaths ? paths[i] : NULL, &o, e);
        if (rc < 0)
            break;
        rc = i == 0 ? table_init(t, r, e) : st_reader_same_columns(r, t->names, t->ncols, t->source, e);
        feed f = {0};
        if (rc == 0)
            rc = feed_init(&f, t, r, e);
        if (rc == 0)
            rc = read_into(t, &f, e);
        feed_free(&f);
        st_reader_free(r);
    }
    if (rc < 0) {
        st_table_free(t);
        return rc;
    }
    *out = t;
    return ST_OK;
}

int st_table_read_many(st_table **t, const char *const *paths, size_t npaths, st_err *e)
{
    return st_table_read_opts(t, paths, npaths, NULL, e);
}

int st_table_read(st_table **t, const char *path, st_err *e)
{
    return st_table_read_many(t, &path, 1, e);
}

int st_table_groups(const st_table *t, int seqcol, st_group **groups, size_t *ngroups, st_err *e)
{
    *groups = NULL;
    *ngroups = 0;
    if (seqcol < 0 || t->nrows == 0) {
        if (t->nrows == 0)
            return ST_OK;
        st_group *g = malloc(sizeof *g);
        if (!g)
            return st_err_nomem(e, "groups");
        g->seq = 0;
        g->start = 0;
        g->n = t->nrows;
        *groups = g;
        *ngroups = 1;
        return ST_OK;
    }
    if ((size_t)seqcol >= t->ncols)
        return st_err_set(e, ST_EUSAGE, t->source, 0, 0, "seq column %d out of range", seqcol);
    st_seqset seen = {0};
    st_group *g = NULL;
    size_t ng = 0, cap = 0;
    int rc = ST_OK;
    st_dtype dt = t->dtypes ? t->dtypes[seqcol] : ST_F8;
    for (size_t i = 0; i < t->nrows; i++) {
        double v = st_table_get(t, i, (size_t)seqcol);
        if (ng && v == g[ng - 1].seq) {
            g[ng - 1].n++;
            continue;
        }
        char where[48];
        snprintf(where, sizeof where, "row %zu: ", i + 1);
        if ((rc = st_seq_check(&seen, v, dt, t->dicts ? t->dicts[seqcol] : NULL, t->source, 0, where, e)) < 0)
            break;
        if (ng == cap) {
            cap = cap ? 2 * cap : 16;
            st_group *ngp = realloc(g, cap * sizeof *g);
            if (!ngp) {
                rc = st_err_nomem(e, "groups");
                break;
            }
            g = ngp;
        }
        g[ng].seq = v + 0.0;
        g[ng].start = i;
        g[ng].n = 1;
        ng++;
    }
    st_seqset_free(&seen);
    if (rc < 0) {
        free(g);
        return rc;
    }
    *groups = g;
    *ngroups = ng;
    return ST_OK;
}

/* ---------------------------------------------------- streaming groups */

struct st_seqiter {
    st_reader *r;
    int seqcol;
    size_t ncols;
    double *rows; /* current group */
    size_t n, cap;
    double *ahead; /* first row of the next group */
    int have_ahead, done;
    st_seqset seen;
};

int st_seqiter_new(st_seqiter **out, st_reader *r, int seqcol, st_err *e)
{
    *out = NULL;
    if (seqcol >= (int)st_reader_ncols(r))
        return st_err_set(e, ST_EUSAGE, st_reader_path(r), 0, 0, "seq column %d out of range", seqcol);
    st_seqiter *it = calloc(1, sizeof *it);
    if (!it)
        return st_err_nomem(e, "seq iterator");
    it->r = r;
    it->seqcol = seqcol;
    it->ncols = st_reader_ncols(r);
    it->ahead = malloc(it->ncols * sizeof(double));
    if (!it->ahead) {
        free(it);
        return st_err_nomem(e, "seq iterator");
    }
    *out = it;
    return ST_OK;
}

void st_seqiter_free(st_seqiter *it)
{
    if (!it)
        return;
    free(it->rows);
    free(it->ahead);
    st_seqset_free(&it->seen);
    free(it);
}

static int push_row(st_seqiter *it, const double *row, st_err *e)
{
    if (it->n == it->cap) {
        size_t nc = it->cap ? 2 * it->cap : 256;
        double *d = realloc(it->rows, nc * it->ncols * sizeof(double));
        if (!d)
            return st_err_set(e, ST_ENOMEM, st_reader_path(it->r), 0, 0,
                              "out of memory for a sequence of %zu rows", nc);
        it->rows = d;
        it->cap = nc;
    }
    memcpy(it->rows + it->n * it->ncols, row, it->ncols * sizeof(double));
    it->n++;
    return ST_OK;
}

/* A promotion (a reader opened with promote) in the middle of a group:
 * the rows held get codes too. */
static int seqiter_retyped(st_seqiter *it, unsigned *retypes, st_dtype *dts, st_err *e)
{
    st_reader *r = it->r;
    for (size_t j = 0; j < it->ncols; j++) {
        if (r->dtypes[j] == dts[j])
            continue;
        for (size_t i = 0; i < it->n; i++) {
            double *v = &it->rows[i * it->ncols + j];
            int rc = st_reader_recode(r, j, dts[j], *v, v, e);
            if (rc < 0)
                return rc;
        }
        dts[j] = r->dtypes[j];
    }
    *retypes = r->retypes;
    return ST_OK;
}

int st_seqiter_next(st_seqiter *it, const double **rows, size_t *n, double *seq, st_err *e)
{
    *rows = NULL;
    *n = 0;
    *seq = 0;
    if (it->done)
        return 0;
    it->n = 0;
    int rc;
    st_reader *r = it->r;
    if (!it->have_ahead) {
        rc = st_reader_next(r, it->ahead, e);
        if (rc <= 0) {
            it->done = 1;
            return rc;
        }
    }
    it->have_ahead = 0;
    double s = it->seqcol >= 0 ? it->ahead[it->seqcol] : 0;
    if (it->seqcol >= 0 &&
        (rc = st_seq_check(&it->seen, s, r->dtypes[it->seqcol], r->dicts[it->seqcol], NULL, 0, "", e)) < 0)
        return st_reader_error(r, e, rc, "%s", e->msg);
    if ((rc = push_row(it, it->ahead, e)) < 0)
        return rc;
    unsigned retypes = r->retypes;
    st_dtype *dts = r->promote ? malloc(it->ncols * sizeof *dts) : NULL;
    if (dts)
        memcpy(dts, r->dtypes, it->ncols * sizeof *dts);
    else if (r->promote)
        return st_err_nomem(e, "seq iterator");
    for (;;) {
        st_dtype sdt = it->seqcol >= 0 ? r->dtypes[it->seqcol] : ST_F8;
        rc = st_reader_next(r, it->ahead, e);
        if (rc < 0)
            break;
        if (rc == 0) {
            it->done = 1;
            break;
        }
        if (r->retypes != retypes) {
            if ((rc = seqiter_retyped(it, &retypes, dts, e)) < 0)
                break;
            if (it->seqcol >= 0 && r->dtypes[it->seqcol] != sdt &&
                (rc = st_reader_recode(r, (size_t)it->seqcol, sdt, s, &s, e)) < 0)
                break;
        }
        if (it->seqcol >= 0 && !(it->ahead[it->seqcol] == s)) {
            it->have_ahead = 1;
            break;
        }
        if ((rc = push_row(it, it->ahead, e)) < 0)
            break;
    }
    free(dts);
    if (rc < 0)
        return rc;
    *rows = it->rows;
    *n = it->n;
    *seq = s + 0.0;
    return 1;
}

/* ------------------------------------------------ data-parallel reading */

/* The reader options of input i: base (may be NULL), promotion, and the
 * columns the layout lay (may be NULL) says to read as ids, in *buf
 * (malloc'ed, or NULL; free it after the open). */
static int input_opts(const st_reader_opts *base, const st_group_layout *lay, size_t i, st_reader_opts *o,
                      char **buf, st_err *e)
{
    *o = base ? *base : (st_reader_opts){0};
    o->promote = 1;
    *buf = NULL;
    const char *more = lay && lay->input_str ? lay->input_str[i] : NULL;
    if (!more)
        return ST_OK;
    if (!o->id_cols || !*o->id_cols) {
        o->id_cols = more;
        return ST_OK;
    }
    size_t a = strlen(o->id_cols), b = strlen(more);
    if (!(*buf = malloc(a + b + 2)))
        return st_err_nomem(e, "column list");
    memcpy(*buf, o->id_cols, a);
    (*buf)[a] = ',';
    memcpy(*buf + a + 1, more, b + 1);
    o->id_cols = *buf;
    return ST_OK;
}

/* One streaming pass over the inputs: check the seq column and keep the
 * rows of groups glo .. ghi-1 in t.  Without a layout every input is read
 * with the seq checks (the single pass of one process, which therefore
 * defines the messages); with one, only the inputs holding the groups
 * wanted (and the first input's header), stopping after group ghi-1, and
 * no seq checks (st_table_count_groups made them).  Rows are read one at a
 * time so that errors name their line. */
static int scan_groups(const char *const *paths, size_t npaths, const char *seqname, const st_reader_opts *base,
                       const st_group_layout *lay, st_table *t, size_t glo, size_t ghi, size_t *row0, st_err *e)
{
    st_seqset seen = {0};
    double *row = NULL, cur = 0;
    size_t g = 0, rows = 0, first = SIZE_MAX;
    /* with a layout: the group whose first row row0 names must be reached
     * even when the share is empty */
    size_t gstop = ghi > glo ? ghi : glo + 1;
    int seqcol = -1, started = 0, rc = ST_OK;
    size_t n = npaths ? npaths : 1;
    for (size_t i = 0; i < n && rc == ST_OK; i++) {
        int want = 1;
        if (lay) {
            want = lay->ngrp[i] > 0 && lay->group0[i] < gstop && lay->group0[i] + lay->ngrp[i] > glo;
            if (!want && i > 0)
                continue;
        }
        st_reader *r;
        st_reader_opts o;
        char *buf;
        if ((rc = input_opts(base, lay, i, &o, &buf, e)) < 0)
            break;
        rc = st_reader_open_opts(&r, npaths ? paths[i] : NULL, &o, e);
        free(buf);
        if (rc < 0)
            break;
        if (i == 0) {
            rc = table_init(t, r, e);
            if (rc == ST_OK) {
                seqcol = seqname ? st_table_col(t, seqname) : -1;
                if (!(row = malloc((t->ncols ? t->ncols : 1) * sizeof *row)))
                    rc = st_err_nomem(e, "row");
            }
            /* with a layout, the columns that are strings in any input */
            for (size_t j = 0; lay && lay->str_union && j < t->ncols && rc == ST_OK; j++)
                if (lay->str_union[j])
                    rc = table_to_str(t, j, 0, e);
        } else {
            rc = st_reader_same_columns(r, t->names, t->ncols, t->source, e);
        }
        feed f = {0};
        if (rc == ST_OK)
            rc = feed_init(&f, t, r, e);
        if (lay && want) { /* the input's first row starts its first group */
            g = lay->group0[i];
            rows = lay->row0[i];
            started = 0;
        }
        while (rc == ST_OK && want) {
            int got = st_reader_next(r, row, e);
            if (got <= 0) {
                rc = got;
                break;
            }
            if (r->retypes != f.retypes && (rc = feed_retyped(&f, t, t->nrows, seqcol, &cur, e)) < 0)
                break;
            /* the seq in the table's representation first (the other
             * columns only for rows kept) */
            if (seqcol >= 0 && (rc = feed_cell(&f, t, (size_t)seqcol, &row[seqcol], e)) < 0) {
                rc = st_reader_error(r, e, rc, "%s", e->msg);
                break;
            }
            double v = seqcol >= 0 ? row[seqcol] : 0;
            if (!started || (seqcol >= 0 && !(v == cur))) {
                if (started)
                    g++;
                started = 1;
                cur = v;
                if (lay && g >= gstop)
                    break;
                if (!lay && seqcol >= 0 &&
                    (rc = st_seq_check(&seen, v, t->dtypes[seqcol], t->dicts[seqcol], NULL, 0, "", e)) < 0) {
                    rc = st_reader_error(r, e, rc, "%s", e->msg);
                    break;
                }
            }
            if (g == glo && first == SIZE_MAX)
                first = rows;
            if (g >= glo && g < ghi) {
                for (size_t j = 0; j < t->ncols && rc == ST_OK; j++)
                    if ((int)j != seqcol)
                        rc = feed_cell(&f, t, j, &row[j], e);
                if (rc < 0) {
                    rc = st_reader_error(r, e, rc, "%s", e->msg);
                    break;
                }
                if ((rc = table_grow(t, t->nrows + 1, e)) < 0)
                    break;
                memcpy(t->data + t->nrows * t->ncols, row, t->ncols * sizeof *row);
                t->nrows++;
            }
            rows++;
        }
        feed_free(&f);
        st_reader_free(r);
        if (lay && g >= gstop)
            break;
    }
    st_seqset_free(&seen);
    free(row);
    if (rc < 0)
        return rc;
    if (row0) {
        if (lay)
            *row0 = first == SIZE_MAX ? lay->nrows : first;
        else
            *row0 = first == SIZE_MAX ? rows : first;
    }
    return ST_OK;
}

int st_table_read_groups_opts(st_table **out, const char *const *paths, size_t npaths, const char *seqname,
                              const st_reader_opts *opts, const st_group_layout *lay, size_t glo, size_t ghi,
                              size_t *row0, st_err *e)
{
    *out = NULL;
    if (lay && lay->npaths != (npaths ? npaths : 1))
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "bug: a layout of %zu inputs for %zu", lay->npaths,
                          npaths);
    st_table *t = calloc(1, sizeof *t);
    if (!t)
        return st_err_nomem(e, "table");
    int rc = scan_groups(paths, npaths, seqname, lay ? &lay->opts : opts, lay, t, glo, ghi, row0, e);
    if (rc < 0) {
        st_table_free(t);
        return rc;
    }
    *out = t;
    return ST_OK;
}

int st_table_read_groups(st_table **out, const char *const *paths, size_t npaths, const char *seqname,
                         const st_group_layout *lay, size_t glo, size_t ghi, size_t *row0, st_err *e)
{
    return st_table_read_groups_opts(out, paths, npaths, seqname, NULL, lay, glo, ghi, row0, e);
}

/* ------------------------------------------------------------ counting */

/* Per-input figures of a counting pass, as doubles so that they can be
 * exchanged as they are.  Runs are counted per input (its first row always
 * starts one); whether that run continues the previous input's last one is
 * decided once every input's figures are known.  Seq ids are compared
 * across inputs by a 64-bit hash of their text (two 32-bit halves). */
enum {
    FIG_NROWS,
    FIG_NRUNS,    /* runs started (and recorded) before the end or an error */
    FIG_FIRST_HI, /* hash of the seq id of the first row */
    FIG_FIRST_LO,
    FIG_LAST_HI, /* hash of the seq id of the last row */
    FIG_LAST_LO,
    FIG_FIRSTV, /* numeric seq of the first row */
    FIG_IMIN, /* least and greatest numeric seq of the runs after the first */
    FIG_IMAX,
    FIG_STR,  /* some run's seq id is a string (no numeric range) */
    FIG_BIN,  /* binary input (messages name rows, not lines) */
    FIG_DONE, /* read to its end without error */
    FIG_N
};

/* Growable list of doubles: per run (line of the first row, length of the
 * seq id's text, then the text packed 8 bytes per double). */
typedef struct runlist {
    double *v;
    size_t n, cap; /* doubles */
} runlist;

static int runs_push(runlist *l, const char *text, long line)
{
    size_t len = strlen(text), k = (len + 7) / 8;
    if (l->n + 2 + k > l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 1024;
        while (nc < l->n + 2 + k)
            nc *= 2;
        double *p = realloc(l->v, nc * sizeof *p);
        if (!p)
            return -1;
        l->v = p;
        l->cap = nc;
    }
    l->v[l->n++] = (double)line;
    l->v[l->n++] = (double)len;
    memset(l->v + l->n, 0, k * sizeof *l->v);
    memcpy(l->v + l->n, text, len);
    l->n += k;
    return 0;
}

static void put_hash(double *f, int at, const char *text)
{
    uint64_t h = st_str_hash(text, strlen(text));
    f[at] = (double)(h >> 32);
    f[at + 1] = (double)(h & 0xFFFFFFFFu);
}

#define KEY_FILE(i) ((size_t)(i) << 40)

/* Column types seen by a count, per input: which columns are strings when
 * the input is opened (its look-ahead) and at its end (after promotions),
 * as (input, 2 * column + at_open) pairs. */
typedef struct typelist {
    double *v;
    size_t n, cap;
} typelist;

static int types_push(typelist *l, size_t i, size_t j, int at_open)
{
    if (l->n + 2 > l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        double *p = realloc(l->v, nc * sizeof *p);
        if (!p)
            return -1;
        l->v = p;
        l->cap = nc;
    }
    l->v[l->n++] = (double)i;
    l->v[l->n++] = (double)(2 * j + (size_t)at_open);
    return 0;
}

/* Count inputs flo .. fhi-1 in one pass, in order, as one process would
 * (a run may continue from one input into the next; seq checks against
 * the values met in this pass), filling fig (FIG_N per input), types and,
 * if runs is non-NULL, each run's seq id and line.  On error *key is its
 * position in the whole data: input index << 40, plus the line (CSV) or
 * row (binary) of the row concerned, the same measure as the runs' lines. */
static int count_files(const char *const *paths, size_t npaths, size_t flo, size_t fhi, const char *seqname,
                       const st_reader_opts *base, double *fig, runlist *runs, typelist *types, size_t *key,
                       st_err *e)
{
    st_table names = {0};
    st_seqset seen = {0};
    double *row = NULL;
    char *cur = NULL; /* seq id of the last row so far */
    int seqcol = -1, started = 0, rc = ST_OK;
    for (size_t i = flo; i < fhi; i++) {
        double *f = fig + (i - flo) * FIG_N;
        for (int k = 0; k < FIG_N; k++)
            f[k] = 0;
        f[FIG_IMIN] = INFINITY;
        f[FIG_IMAX] = -INFINITY;
    }
    *key = 0;
    if (flo >= fhi)
        return ST_OK;
    if (flo > 0) { /* the first input's header: its columns are the reference */
        st_reader *r;
        if ((rc = st_reader_open_opts(&r, npaths ? paths[0] : NULL, base, e)) == ST_OK) {
            rc = table_init(&names, r, e);
            st_reader_free(r);
        }
        if (rc < 0) {
            names_free(&names);
            return rc; /* key 0 */
        }
        seqcol = seqname ? st_table_col(&names, seqname) : -1;
    }
    for (size_t i = flo; i < fhi && rc == ST_OK; i++) {
        double *f = fig + (i - flo) * FIG_N;
        st_reader *r;
        *key = KEY_FILE(i);
        st_reader_opts o;
        char *buf;
        if ((rc = input_opts(base, NULL, i, &o, &buf, e)) < 0)
            break;
        rc = st_reader_open_opts(&r, npaths ? paths[i] : NULL, &o, e);
        free(buf);
        if (rc < 0)
            break;
        f[FIG_BIN] = r->format == ST_FMT_BIN;
        if (i == 0) {
            rc = table_init(&names, r, e);
            seqcol = seqname && rc == ST_OK ? st_table_col(&names, seqname) : -1;
        } else {
            rc = st_reader_same_columns(r, names.names, names.ncols, names.source, e);
        }
        for (size_t j = 0; j < r->ncols && rc == ST_OK; j++)
            if (r->dtypes[j] == ST_STR && types_push(types, i, j, 1) < 0)
                rc = st_err_nomem(e, "column types");
        if (rc == ST_OK && !row && !(row = malloc((names.ncols ? names.ncols : 1) * sizeof *row)))
            rc = st_err_nomem(e, "row");
        double fcur = 0;
        unsigned retypes = r->retypes;
        st_dtype sdt = seqcol >= 0 && rc == ST_OK ? r->dtypes[seqcol] : ST_F8;
        while (rc == ST_OK) {
            int got = st_reader_next(r, row, e);
            if (got <= 0) {
                rc = got;
                if (rc < 0)
                    *key = KEY_FILE(i) + (size_t)(r->last + 1);
                else
                    f[FIG_DONE] = 1;
                break;
            }
            if (r->retypes != retypes) {
                retypes = r->retypes;
                if (seqcol >= 0 && r->dtypes[seqcol] != sdt && f[FIG_NROWS] > 0 &&
                    (rc = st_reader_recode(r, (size_t)seqcol, sdt, fcur, &fcur, e)) < 0)
                    break;
                sdt = seqcol >= 0 ? r->dtypes[seqcol] : ST_F8;
            }
            double v = seqcol >= 0 ? row[seqcol] : 0;
            int newrun = f[FIG_NROWS] == 0 || (seqcol >= 0 && !(v == fcur));
            if (newrun) {
                char tbuf[ST_CELL_BUFSZ];
                const char *text = "";
                if (seqcol >= 0 &&
                    !(text = seq_text(v, sdt, r->dicts[seqcol], tbuf, NULL, 0, "", e))) {
                    rc = st_reader_error(r, e, e->code, "%s", e->msg);
                    *key = KEY_FILE(i) + (size_t)r->last;
                    break;
                }
                if (!started || strcmp(text, cur) != 0) {
                    started = 1;
                    char *c = strdup(text);
                    if (!c) {
                        rc = st_err_nomem(e, "seq id");
                        break;
                    }
                    free(cur);
                    cur = c;
                    int dup = seqcol >= 0 ? st_seqset_add(&seen, text, e) : 0;
                    if (dup) {
                        rc = dup < 0 ? dup : seq_again(text, NULL, 0, "", e);
                        rc = st_reader_error(r, e, rc, "%s", e->msg);
                        *key = KEY_FILE(i) + (size_t)r->last;
                        break;
                    }
                }
                fcur = v;
                int numeric = sdt != ST_STR;
                if (f[FIG_NROWS] == 0) {
                    put_hash(f, FIG_FIRST_HI, text);
                    f[FIG_FIRSTV] = v;
                } else if (numeric) {
                    if (v < f[FIG_IMIN])
                        f[FIG_IMIN] = v;
                    if (v > f[FIG_IMAX])
                        f[FIG_IMAX] = v;
                }
                if (!numeric)
                    f[FIG_STR] = 1;
                if (runs && runs_push(runs, text, r->last) < 0) {
                    rc = st_err_nomem(e, "seq runs");
                    *key = KEY_FILE(i) + (size_t)r->last;
                    break;
                }
                f[FIG_NRUNS]++;
                put_hash(f, FIG_LAST_HI, text);
            }
            f[FIG_NROWS]++;
        }
        for (size_t j = 0; j < r->ncols && f[FIG_DONE] != 0; j++)
            if (r->dtypes[j] == ST_STR && types_push(types, i, j, 0) < 0) {
                rc = st_err_nomem(e, "column types");
                f[FIG_DONE] = 0;
            }
        st_reader_free(r);
    }
    names_free(&names);
    st_seqset_free(&seen);
    free(row);
    free(cur);
    return rc;
}

void st_group_layout_free(st_group_layout *lay)
{
    if (!lay)
        return;
    free(lay->group0);
    free(lay->str_cols);
    free(lay->input_str);
    free(lay->str_union);
    memset(lay, 0, sizeof *lay);
}

static int same_hash(const double *a, const double *b)
{
    return a[0] == b[0] && a[1] == b[1];
}

/* Whether the first row of input i continues the run that ended the
 * inputs before it (started: some earlier input had rows; cur: the hash of
 * its last seq).  Without a seq column every id is "", so everything is
 * one run. */
static int continues(const double *f, int started, const double *cur)
{
    return started && f[FIG_NROWS] > 0 && same_hash(f + FIG_FIRST_HI, cur);
}

/* The layout from every input's figures. */
static int make_layout(const double *fig, size_t n, st_group_layout *lay, st_err *e)
{
    lay->group0 = malloc(3 * (n ? n : 1) * sizeof *lay->group0);
    if (!lay->group0)
        return st_err_nomem(e, "group layout");
    lay->ngrp = lay->group0 + n;
    lay->row0 = lay->group0 + 2 * n;
    lay->npaths = n;
    size_t count = 0, rows = 0;
    int started = 0;
    double cur[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        const double *f = fig + i * FIG_N;
        size_t nr = (size_t)f[FIG_NROWS], nruns = (size_t)f[FIG_NRUNS];
        lay->row0[i] = rows;
        lay->group0[i] = count;
        lay->ngrp[i] = nruns;
        if (nr == 0)
            continue;
        if (continues(f, started, cur)) {
            lay->group0[i] = count - 1;
            count--;
        }
        count += nruns;
        rows += nr;
        started = 1;
        cur[0] = f[FIG_LAST_HI];
        cur[1] = f[FIG_LAST_LO];
    }
    lay->ngroups = count;
    lay->nrows = rows;
    return ST_OK;
}

/* The column types every rank reads with (types: the count's pairs): a
 * column that is a string in some input is one in the table; an input
 * where it is not a string when opened reads it as ids. */
static int layout_types(const char *const *paths, size_t npaths, const double *types, size_t ntypes,
                        st_group_layout *lay, st_err *e)
{
    if (!lay->opts.any_type)
        return ST_OK;
    size_t n = npaths ? npaths : 1, ncols = 0;
    for (size_t k = 0; k < ntypes; k += 2)
        if ((size_t)types[k + 1] / 2 + 1 > ncols)
            ncols = (size_t)types[k + 1] / 2 + 1;
    if (ncols == 0)
        return ST_OK;
    /* names from the first input's header */
    st_reader *r;
    int rc = st_reader_open_opts(&r, npaths ? paths[0] : NULL, &lay->opts, e);
    if (rc < 0)
        return rc;
    unsigned char *open = calloc(n * ncols, 1);
    lay->str_union = calloc(r->ncols, 1);
    size_t bytes = 1;
    if (!open || !lay->str_union) {
        free(open);
        st_reader_free(r);
        return st_err_nomem(e, "column types");
    }
    for (size_t k = 0; k < ntypes; k += 2) {
        size_t i = (size_t)types[k], j = (size_t)types[k + 1] / 2;
        if (i >= n || j >= r->ncols)
            continue;
        if ((size_t)types[k + 1] % 2)
            open[i * ncols + j] = 1;
        else
            lay->str_union[j] = 1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ncols && j < r->ncols; j++)
            if (lay->str_union[j] && !open[i * ncols + j])
                bytes += strlen(r->names[j]) + 1;
    lay->str_cols = malloc(bytes);
    lay->input_str = calloc(n, sizeof *lay->input_str);
    if (!lay->str_cols || !lay->input_str) {
        free(open);
        st_reader_free(r);
        return st_err_nomem(e, "column types");
    }
    char *p = lay->str_cols;
    for (size_t i = 0; i < n; i++) {
        char *start = p;
        for (size_t j = 0; j < ncols && j < r->ncols; j++)
            if (lay->str_union[j] && !open[i * ncols + j]) {
                if (p > start)
                    *p++ = ',';
                size_t len = strlen(r->names[j]);
                memcpy(p, r->names[j], len);
                p += len;
            }
        if (p > start) {
            *p++ = '\0';
            lay->input_str[i] = start;
        }
    }
    free(open);
    st_reader_free(r);
    return ST_OK;
}

/* An interval of seq values that only input i's runs start (the first run
 * too unless it continues the previous input's). */
typedef struct seqrange {
    double lo, hi;
} seqrange;

static int range_cmp(const void *a, const void *b)
{
    const seqrange *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Whether two inputs' ranges of run seq values overlap: if not, no seq
 * value can reappear in a later input (within an input the counting pass
 * checked it), and the runs need not be exchanged.  String ids have no
 * range: they always count as overlapping. */
static int ranges_overlap(const double *fig, size_t n, int *overlap, st_err *e)
{
    seqrange *rg = malloc((n ? n : 1) * sizeof *rg);
    if (!rg)
        return st_err_nomem(e, "seq ranges");
    size_t m = 0;
    int started = 0;
    double cur[2] = {0, 0};
    *overlap = 0;
    for (size_t i = 0; i < n; i++) {
        const double *f = fig + i * FIG_N;
        if (f[FIG_NROWS] == 0)
            continue;
        if (f[FIG_STR] != 0)
            *overlap = 1;
        double lo = f[FIG_IMIN], hi = f[FIG_IMAX]; /* +Inf, -Inf when one run */
        if (!continues(f, started, cur)) {
            lo = f[FIG_FIRSTV] < lo ? f[FIG_FIRSTV] : lo;
            hi = f[FIG_FIRSTV] > hi ? f[FIG_FIRSTV] : hi;
        }
        if (lo <= hi)
            rg[m++] = (seqrange){lo, hi};
        started = 1;
        cur[0] = f[FIG_LAST_HI];
        cur[1] = f[FIG_LAST_LO];
    }
    qsort(rg, m, sizeof *rg, range_cmp);
    double reach = m ? rg[0].hi : 0; /* the greatest hi so far */
    for (size_t k = 1; k < m; k++) {
        if (!(rg[k].lo > reach)) /* NaN cannot occur: a NaN seq fails the count */
            *overlap = 1;
        reach = rg[k].hi > reach ? rg[k].hi : reach;
    }
    free(rg);
    return ST_OK;
}

/* The first seq id, over every input's runs in order, that starts a run
 * after having started an earlier one (runs: per input FIG_NRUNS packed
 * (line, length, text) records, concatenated).  Stops at the first input
 * not read to its end (its reader's error comes after its recorded runs).
 * Returns ST_EDATA with e and *key set as the single pass would, or 0. */
static int first_reappearance(const char *const *paths, const double *fig, size_t n, const double *runs,
                              size_t nruns_all, size_t *key, st_err *e)
{
    st_seqset seen = {0};
    int started = 0, rc = ST_OK;
    double cur[2] = {0, 0};
    size_t k = 0;
    char *text = NULL;
    size_t text_cap = 0;
    for (size_t i = 0; i < n && rc == ST_OK; i++) {
        const double *f = fig + i * FIG_N;
        size_t nruns = (size_t)f[FIG_NRUNS];
        int cont = continues(f, started, cur);
        for (size_t j = 0; j < nruns && rc == ST_OK; j++) {
            if (k + 2 > nruns_all) {
                rc = st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "bug: seq runs cut short");
                break;
            }
            long line = (long)runs[k];
            size_t len = (size_t)runs[k + 1], words = (len + 7) / 8;
            if (k + 2 + words > nruns_all) {
                rc = st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "bug: seq runs cut short");
                break;
            }
            if (len + 1 > text_cap) {
                char *t = realloc(text, len + 1);
                if (!t) {
                    rc = st_err_nomem(e, "seq id");
                    break;
                }
                text = t;
                text_cap = len + 1;
            }
            memcpy(text, runs + k + 2, len);
            text[len] = '\0';
            k += 2 + words;
            if (j == 0 && cont)
                continue;
            int dup = st_seqset_add(&seen, text, e);
            if (dup < 0) {
                rc = dup;
                *key = KEY_FILE(i);
            } else if (dup) {
                /* the single pass's message, placed as st_reader_error
                 * places it: binary inputs name the row, CSV the line */
                const char *name = st_display_name(paths[i]);
                if (f[FIG_BIN] != 0) {
                    char where[48];
                    snprintf(where, sizeof where, "row %ld: ", line + 1);
                    rc = seq_again(text, name, 0, where, e);
                } else {
                    rc = seq_again(text, name, line, "", e);
                }
                *key = KEY_FILE(i) + (size_t)line;
            }
        }
        if (f[FIG_NROWS] > 0) {
            started = 1;
            cur[0] = f[FIG_LAST_HI];
            cur[1] = f[FIG_LAST_LO];
        }
        if (f[FIG_DONE] == 0)
            break;
    }
    st_seqset_free(&seen);
    free(text);
    return rc;
}

/* Several inputs under MPI: this rank counts its share of them, then the
 * figures (and, if needed, the runs) are gathered and checked alike on
 * every rank. */
static int count_shared(const char *const *paths, size_t npaths, const char *seqname, const st_reader_opts *base,
                        st_group_layout *lay, st_err *e)
{
    size_t flo, fhi, key = 0, total;
    st_mpi_share(npaths, &flo, &fhi);
    double *fig = malloc(((fhi - flo) * FIG_N + 1) * sizeof *fig), *all = NULL, *allruns = NULL,
           *alltypes = NULL;
    runlist runs = {0};
    typelist types = {0};
    int rc = fig ? count_files(paths, npaths, flo, fhi, seqname, base, fig, &runs, &types, &key, e)
                 : st_err_nomem(e, "input figures");
    /* every rank takes part in every exchange below, whatever its rc */
    st_err ge;
    st_err_clear(&ge);
    int grc = st_mpi_allgather(fig, fig ? (fhi - flo) * FIG_N : 0, &all, &total, &ge);
    grc = st_mpi_agree(grc < 0 || total != npaths * FIG_N ? ST_EIO : ST_OK);
    if (grc < 0) {
        free(fig);
        free(all);
        free(runs.v);
        free(types.v);
        if (rc == ST_OK)
            rc = st_err_set(e, ST_EIO, NULL, 0, 0, "exchanging the inputs' figures between MPI ranks failed");
        return st_mpi_agree_error(rc, 0, e);
    }
    /* the runs are needed only to look for a seq value that comes back in
     * a later input: when some rank failed (to find what came first) or
     * when the inputs' seq ranges overlap */
    int need = 0;
    for (size_t i = 0; i < npaths; i++)
        need |= all[i * FIG_N + FIG_DONE] == 0;
    if (!need && (grc = ranges_overlap(all, npaths, &need, &ge)) < 0)
        need = 1;
    need = st_mpi_max_long(need) != 0; /* the same decision everywhere, even after a local failure */
    if (need) {
        size_t nall;
        grc = st_mpi_allgather(runs.v, runs.n, &allruns, &nall, &ge);
        grc = st_mpi_agree(grc < 0 ? ST_EIO : ST_OK);
        if (grc == ST_OK) {
            size_t dkey = 0;
            int drc = first_reappearance(paths, all, npaths, allruns, nall, &dkey, &ge);
            if (drc < 0 && (rc == ST_OK || dkey < key)) {
                rc = drc;
                key = dkey;
                *e = ge;
            }
        } else if (rc == ST_OK) {
            rc = st_err_set(e, ST_EIO, NULL, 0, 0, "exchanging the seq runs between MPI ranks failed");
        }
    }
    size_t ntypes = 0;
    grc = st_mpi_allgather(types.v, types.n, &alltypes, &ntypes, &ge);
    grc = st_mpi_agree(grc < 0 ? ST_EIO : ST_OK);
    if (grc < 0 && rc == ST_OK)
        rc = st_err_set(e, ST_EIO, NULL, 0, 0, "exchanging the column types between MPI ranks failed");
    free(runs.v);
    free(types.v);
    free(allruns);
    free(fig);
    rc = st_mpi_agree_error(rc, key, e);
    if (rc == ST_OK)
        rc = make_layout(all, npaths, lay, e);
    if (rc == ST_OK)
        rc = st_mpi_agree_error(layout_types(paths, npaths, alltypes, ntypes, lay, e), 0, e);
    free(alltypes);
    free(all);
    if (rc < 0)
        st_group_layout_free(lay);
    return rc;
}

int st_table_count_groups_opts(const char *const *paths, size_t npaths, const char *seqname,
                               const st_reader_opts *opts, st_group_layout *lay, st_err *e)
{
    memset(lay, 0, sizeof *lay);
    int rc;
    if (st_mpi_size() > 1 && npaths > 1) {
        lay->opts = opts ? *opts : (st_reader_opts){0};
        rc = count_shared(paths, npaths, seqname, opts, lay, e);
    } else {
        /* one process, or one input: count it all here (every rank alike) */
        size_t n = npaths ? npaths : 1, key = 0;
        double *fig = malloc(n * FIG_N * sizeof *fig);
        typelist types = {0};
        rc = fig ? count_files(paths, npaths, 0, n, seqname, opts, fig, NULL, &types, &key, e)
                 : st_err_nomem(e, "input figures");
        if (rc == ST_OK)
            rc = make_layout(fig, n, lay, e);
        lay->opts = opts ? *opts : (st_reader_opts){0};
        if (rc == ST_OK)
            rc = layout_types(paths, npaths, types.v, types.n, lay, e);
        free(fig);
        free(types.v);
        if (rc < 0)
            st_group_layout_free(lay);
    }
    return rc;
}

int st_table_count_groups(const char *const *paths, size_t npaths, const char *seqname, st_group_layout *lay,
                          st_err *e)
{
    return st_table_count_groups_opts(paths, npaths, seqname, NULL, lay, e);
}

int st_table_read_share_opts(st_table **t, const char *const *paths, size_t npaths, const char *seqname,
                             const st_reader_opts *opts, size_t (*block_groups)(size_t ngroups, size_t nrows),
                             st_table_share *sh, st_err *e)
{
    memset(sh, 0, sizeof *sh);
    *t = NULL;
    if (st_mpi_size() == 1)
        return st_table_read_groups_opts(t, paths, npaths, seqname, opts, NULL, 0, SIZE_MAX, &sh->row0, e);
    st_group_layout lay;
    int rc = st_mpi_agree_error(st_table_count_groups_opts(paths, npaths, seqname, opts, &lay, e), 0, e);
    if (rc < 0) {
        st_group_layout_free(&lay);
        return rc;
    }
    sh->ngroups = lay.ngroups;
    sh->nrows = lay.nrows;
    sh->block = block_groups(sh->ngroups, sh->nrows);
    st_mpi_share((sh->ngroups + sh->block - 1) / sh->block, &sh->blo, &sh->bhi);
    rc = st_table_read_groups(t, paths, npaths, seqname, &lay, sh->blo * sh->block, sh->bhi * sh->block, &sh->row0,
                              e);
    st_group_layout_free(&lay);
    return st_mpi_agree_error(rc, sh->blo, e);
}

int st_table_read_share(st_table **t, const char *const *paths, size_t npaths, const char *seqname,
                        size_t (*block_groups)(size_t ngroups, size_t nrows), st_table_share *sh, st_err *e)
{
    return st_table_read_share_opts(t, paths, npaths, seqname, NULL, block_groups, sh, e);
}

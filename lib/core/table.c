/* Whole streams in memory (st_table), seq groups over a table, and the
 * streaming seq iterator that holds one group at a time. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/resource.h"
#include "core/stream_impl.h"

/* ------------------------------------------------ set of seen seq values */

static uint64_t seq_key(double v)
{
    uint64_t k;
    v += 0.0; /* -0 and +0 are the same sequence */
    memcpy(&k, &v, sizeof k);
    return k + 1;
}

static size_t seq_hash(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

/* Insert v; returns 1 if it was already there, 0 if new, <0 on no memory. */
int st_seqset_add(st_seqset *s, double v)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        uint64_t *nk = calloc(nc, sizeof *nk);
        if (!nk)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->keys[i]) {
                size_t h = seq_hash(s->keys[i], nc);
                while (nk[h])
                    h = (h + 1) & (nc - 1);
                nk[h] = s->keys[i];
            }
        free(s->keys);
        s->keys = nk;
        s->cap = nc;
    }
    uint64_t k = seq_key(v);
    size_t h = seq_hash(k, s->cap);
    while (s->keys[h]) {
        if (s->keys[h] == k)
            return 1;
        h = (h + 1) & (s->cap - 1);
    }
    s->keys[h] = k;
    s->n++;
    return 0;
}

/* Check one seq value: an integer, and not a sequence seen before. */
int st_seq_check(st_seqset *s, double v, const char *file, long line, const char *where, st_err *e)
{
    char num[ST_DOUBLE_BUFSZ];
    if (!(v == floor(v))) {
        st_format_double(num, v);
        return st_err_set(e, ST_EDATA, file, line, 0, "%sseq value %s is not an integer", where, num);
    }
    int dup = st_seqset_add(s, v);
    if (dup < 0)
        return st_err_nomem(e, "seq index");
    if (dup) {
        st_format_double(num, v);
        return st_err_set(e, ST_EDATA, file, line, 0,
                          "%sseq %s appears again after other sequences (rows of a sequence must be contiguous)",
                          where, num);
    }
    return ST_OK;
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

void st_table_free(st_table *t)
{
    if (!t)
        return;
    for (size_t j = 0; j < t->ncols; j++)
        free(t->names ? t->names[j] : NULL);
    free(t->names);
    free(t->dtypes);
    free(t->data);
    free(t->meta);
    free(t->source);
    free(t);
}

static int table_init(st_table *t, const st_reader *r, st_err *e)
{
    t->ncols = st_reader_ncols(r);
    t->names = calloc(t->ncols, sizeof *t->names);
    t->dtypes = calloc(t->ncols, sizeof *t->dtypes);
    t->source = strdup(st_reader_path(r));
    if (!t->names || !t->dtypes || !t->source)
        return st_err_nomem(e, "table");
    for (size_t j = 0; j < t->ncols; j++) {
        t->dtypes[j] = st_reader_dtype(r, j);
        if (!(t->names[j] = strdup(st_reader_name(r, j))))
            return st_err_nomem(e, "table");
    }
    if (st_reader_meta(r) && !(t->meta = strdup(st_reader_meta(r))))
        return st_err_nomem(e, "table");
    return ST_OK;
}

static int read_into(st_table *t, st_reader *r, st_err *e)
{
    for (;;) {
        int rc = table_grow(t, t->nrows + 4096, e);
        if (rc < 0)
            return rc;
        size_t n;
        rc = st_reader_read(r, t->data + t->nrows * t->ncols, t->cap - t->nrows, &n, e);
        if (rc < 0)
            return rc;
        if (n == 0)
            return ST_OK;
        t->nrows += n;
    }
}

int st_table_read_many(st_table **out, const char *const *paths, size_t npaths, st_err *e)
{
    *out = NULL;
    st_table *t = calloc(1, sizeof *t);
    if (!t)
        return st_err_nomem(e, "table");
    int rc = ST_OK;
    size_t n = npaths ? npaths : 1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        st_reader *r;
        rc = st_reader_open(&r, npaths ? paths[i] : NULL, e);
        if (rc < 0)
            break;
        rc = i == 0 ? table_init(t, r, e) : st_reader_same_columns(r, t->names, t->ncols, t->source, e);
        if (rc == 0)
            rc = read_into(t, r, e);
        st_reader_free(r);
    }
    if (rc < 0) {
        st_table_free(t);
        return rc;
    }
    *out = t;
    return ST_OK;
}

int st_table_read(st_table **t, const char *path, st_err *e)
{
    return st_table_read_many(t, &path, 1, e);
}

int st_table_col(const st_table *t, const char *name)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (strcmp(t->names[j], name) == 0)
            return (int)j;
    return -1;
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
    for (size_t i = 0; i < t->nrows; i++) {
        double v = st_table_get(t, i, (size_t)seqcol);
        if (ng && v == g[ng - 1].seq) {
            g[ng - 1].n++;
            continue;
        }
        char where[48];
        snprintf(where, sizeof where, "row %zu: ", i + 1);
        if ((rc = st_seq_check(&seen, v, t->source, 0, where, e)) < 0)
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
    free(seen.keys);
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
    free(it->seen.keys);
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

int st_seqiter_next(st_seqiter *it, const double **rows, size_t *n, double *seq, st_err *e)
{
    *rows = NULL;
    *n = 0;
    *seq = 0;
    if (it->done)
        return 0;
    it->n = 0;
    int rc;
    if (!it->have_ahead) {
        rc = st_reader_next(it->r, it->ahead, e);
        if (rc <= 0) {
            it->done = 1;
            return rc;
        }
    }
    it->have_ahead = 0;
    double s = it->seqcol >= 0 ? it->ahead[it->seqcol] : 0;
    if (it->seqcol >= 0 && (rc = st_seq_check(&it->seen, s, NULL, 0, "", e)) < 0)
        return st_reader_error(it->r, e, rc, "%s", e->msg);
    if ((rc = push_row(it, it->ahead, e)) < 0)
        return rc;
    for (;;) {
        rc = st_reader_next(it->r, it->ahead, e);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            it->done = 1;
            break;
        }
        if (it->seqcol >= 0 && !(it->ahead[it->seqcol] == s)) {
            it->have_ahead = 1;
            break;
        }
        if ((rc = push_row(it, it->ahead, e)) < 0)
            return rc;
    }
    *rows = it->rows;
    *n = it->n;
    *seq = s + 0.0;
    return 1;
}

/* ------------------------------------------------ data-parallel reading */

/* One streaming pass over the inputs: count the seq groups and rows, check
 * the seq column, and (t non-NULL) keep the rows of groups glo .. ghi-1.
 * Rows are read one at a time so that errors name their line. */
static int scan_groups(const char *const *paths, size_t npaths, const char *seqname, st_table *t, size_t glo,
                       size_t ghi, size_t *ngroups, size_t *nrows, size_t *row0, st_err *e)
{
    st_table names = {0}; /* the first input's columns, to compare the others with */
    st_seqset seen = {0};
    double *row = NULL, cur = 0;
    size_t g = 0, rows = 0, first = SIZE_MAX;
    int seqcol = -1, started = 0, rc = ST_OK;
    size_t n = npaths ? npaths : 1;
    for (size_t i = 0; i < n && rc == ST_OK; i++) {
        st_reader *r;
        if ((rc = st_reader_open(&r, npaths ? paths[i] : NULL, e)) < 0)
            break;
        if (i == 0) {
            rc = table_init(t ? t : &names, r, e);
            if (rc == ST_OK) {
                const st_table *h = t ? t : &names;
                seqcol = seqname ? st_table_col(h, seqname) : -1;
                if (!(row = malloc((h->ncols ? h->ncols : 1) * sizeof *row)))
                    rc = st_err_nomem(e, "row");
            }
        } else {
            const st_table *h = t ? t : &names;
            rc = st_reader_same_columns(r, h->names, h->ncols, h->source, e);
        }
        while (rc == ST_OK) {
            int got = st_reader_next(r, row, e);
            if (got <= 0) {
                rc = got;
                break;
            }
            double v = seqcol >= 0 ? row[seqcol] : 0;
            if (!started || (seqcol >= 0 && !(v == cur))) {
                if (started)
                    g++;
                started = 1;
                cur = v;
                if (seqcol >= 0 && (rc = st_seq_check(&seen, v, NULL, 0, "", e)) < 0) {
                    rc = st_reader_error(r, e, rc, "%s", e->msg);
                    break;
                }
            }
            if (g == glo && first == SIZE_MAX)
                first = rows;
            if (t && g >= glo && g < ghi) {
                if ((rc = table_grow(t, t->nrows + 1, e)) < 0)
                    break;
                memcpy(t->data + t->nrows * t->ncols, row, t->ncols * sizeof *row);
                t->nrows++;
            }
            rows++;
        }
        st_reader_free(r);
    }
    for (size_t j = 0; j < names.ncols; j++)
        free(names.names ? names.names[j] : NULL);
    free(names.names);
    free(names.dtypes);
    free(names.meta);
    free(names.source);
    free(seen.keys);
    free(row);
    if (rc < 0)
        return rc;
    if (ngroups)
        *ngroups = started ? g + 1 : 0;
    if (nrows)
        *nrows = rows;
    if (row0)
        *row0 = first == SIZE_MAX ? rows : first;
    return ST_OK;
}

int st_table_count_groups(const char *const *paths, size_t npaths, const char *seqname, size_t *ngroups,
                          size_t *nrows, st_err *e)
{
    return scan_groups(paths, npaths, seqname, NULL, 0, 0, ngroups, nrows, NULL, e);
}

int st_table_read_groups(st_table **out, const char *const *paths, size_t npaths, const char *seqname, size_t glo,
                         size_t ghi, size_t *row0, st_err *e)
{
    *out = NULL;
    st_table *t = calloc(1, sizeof *t);
    if (!t)
        return st_err_nomem(e, "table");
    int rc = scan_groups(paths, npaths, seqname, t, glo, ghi, NULL, NULL, row0, e);
    if (rc < 0) {
        st_table_free(t);
        return rc;
    }
    *out = t;
    return ST_OK;
}

/* Whole streams in memory (st_table), seq groups over a table, and the
 * streaming seq iterator that holds one group at a time. */
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

/* The error for seq value v met again after other sequences. */
static int seq_again(double v, const char *file, long line, const char *where, st_err *e)
{
    char num[ST_DOUBLE_BUFSZ];
    st_format_double(num, v);
    return st_err_set(e, ST_EDATA, file, line, 0,
                      "%sseq %s appears again after other sequences (rows of a sequence must be contiguous)", where,
                      num);
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
    return dup ? seq_again(v, file, line, where, e) : ST_OK;
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

/* Free a table's header (names, dtypes, meta, source) and zero it; the
 * rows are the caller's. */
static void names_free(st_table *h)
{
    for (size_t j = 0; j < h->ncols; j++)
        free(h->names ? h->names[j] : NULL);
    free(h->names);
    free(h->dtypes);
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

/* One streaming pass over the inputs: check the seq column and keep the
 * rows of groups glo .. ghi-1 in t.  Without a layout every input is read
 * with the seq checks (the single pass of one process, which therefore
 * defines the messages); with one, only the inputs holding the groups
 * wanted (and the first input's header), stopping after group ghi-1, and
 * no seq checks (st_table_count_groups made them).  Rows are read one at a
 * time so that errors name their line. */
static int scan_groups(const char *const *paths, size_t npaths, const char *seqname, const st_group_layout *lay,
                       st_table *t, size_t glo, size_t ghi, size_t *row0, st_err *e)
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
        if ((rc = st_reader_open(&r, npaths ? paths[i] : NULL, e)) < 0)
            break;
        if (i == 0) {
            rc = table_init(t, r, e);
            if (rc == ST_OK) {
                seqcol = seqname ? st_table_col(t, seqname) : -1;
                if (!(row = malloc((t->ncols ? t->ncols : 1) * sizeof *row)))
                    rc = st_err_nomem(e, "row");
            }
        } else {
            rc = st_reader_same_columns(r, t->names, t->ncols, t->source, e);
        }
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
            double v = seqcol >= 0 ? row[seqcol] : 0;
            if (!started || (seqcol >= 0 && !(v == cur))) {
                if (started)
                    g++;
                started = 1;
                cur = v;
                if (lay && g >= gstop)
                    break;
                if (!lay && seqcol >= 0 && (rc = st_seq_check(&seen, v, NULL, 0, "", e)) < 0) {
                    rc = st_reader_error(r, e, rc, "%s", e->msg);
                    break;
                }
            }
            if (g == glo && first == SIZE_MAX)
                first = rows;
            if (g >= glo && g < ghi) {
                if ((rc = table_grow(t, t->nrows + 1, e)) < 0)
                    break;
                memcpy(t->data + t->nrows * t->ncols, row, t->ncols * sizeof *row);
                t->nrows++;
            }
            rows++;
        }
        st_reader_free(r);
        if (lay && g >= gstop)
            break;
    }
    free(seen.keys);
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

int st_table_read_groups(st_table **out, const char *const *paths, size_t npaths, const char *seqname,
                         const st_group_layout *lay, size_t glo, size_t ghi, size_t *row0, st_err *e)
{
    *out = NULL;
    if (lay && lay->npaths != (npaths ? npaths : 1))
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "bug: a layout of %zu inputs for %zu", lay->npaths,
                          npaths);
    st_table *t = calloc(1, sizeof *t);
    if (!t)
        return st_err_nomem(e, "table");
    int rc = scan_groups(paths, npaths, seqname, lay, t, glo, ghi, row0, e);
    if (rc < 0) {
        st_table_free(t);
        return rc;
    }
    *out = t;
    return ST_OK;
}

/* ------------------------------------------------------------ counting */

/* Per-input figures of a counting pass, as doubles so that they can be
 * exchanged as they are.  Runs are counted per input (its first row always
 * starts one); whether that run continues the previous input's last one is
 * decided once every input's figures are known. */
enum {
    FIG_NROWS,
    FIG_NRUNS, /* runs started (and recorded) before the end or an error */
    FIG_FIRST, /* seq of the first row */
    FIG_LAST,  /* seq of the last row */
    FIG_IMIN,  /* least and greatest seq of the runs after the first */
    FIG_IMAX,
    FIG_BIN,  /* binary input (messages name rows, not lines) */
    FIG_DONE, /* read to its end without error */
    FIG_N
};

/* Growable list of (seq, line of the first row) per run. */
typedef struct runlist {
    double *v;
    size_t n, cap; /* doubles */
} runlist;

static int runs_push(runlist *l, double seq, long line)
{
    if (l->n + 2 > l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 1024;
        double *p = realloc(l->v, nc * sizeof *p);
        if (!p)
            return -1;
        l->v = p;
        l->cap = nc;
    }
    l->v[l->n++] = seq;
    l->v[l->n++] = (double)line;
    return 0;
}

#define KEY_FILE(i) ((size_t)(i) << 40)

/* Count inputs flo .. fhi-1 in one pass, in order, as one process would
 * (a run may continue from one input into the next; seq checks against
 * the values met in this pass), filling fig (FIG_N per input) and, if runs
 * is non-NULL, each run's seq and line.  On error *key is its position in
 * the whole data: input index << 40, plus the line (CSV) or row (binary)
 * of the row concerned, the same measure as the runs' lines. */
static int count_files(const char *const *paths, size_t npaths, size_t flo, size_t fhi, const char *seqname,
                       double *fig, runlist *runs, size_t *key, st_err *e)
{
    st_table names = {0};
    st_seqset seen = {0};
    double *row = NULL, cur = 0;
    int seqcol = -1, started = 0, rc = ST_OK;
    for (size_t i = flo; i < fhi; i++) {
        double *f = fig + (i - flo) * FIG_N;
        f[FIG_NROWS] = f[FIG_NRUNS] = f[FIG_BIN] = f[FIG_DONE] = 0;
        f[FIG_FIRST] = f[FIG_LAST] = 0;
        f[FIG_IMIN] = INFINITY;
        f[FIG_IMAX] = -INFINITY;
    }
    *key = 0;
    if (flo >= fhi)
        return ST_OK;
    if (flo > 0) { /* the first input's header: its columns are the reference */
        st_reader *r;
        if ((rc = st_reader_open(&r, npaths ? paths[0] : NULL, e)) == ST_OK) {
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
        if ((rc = st_reader_open(&r, npaths ? paths[i] : NULL, e)) < 0)
            break;
        f[FIG_BIN] = r->format == ST_FMT_BIN;
        if (i == 0) {
            rc = table_init(&names, r, e);
            seqcol = seqname && rc == ST_OK ? st_table_col(&names, seqname) : -1;
        } else {
            rc = st_reader_same_columns(r, names.names, names.ncols, names.source, e);
        }
        if (rc == ST_OK && !row && !(row = malloc((names.ncols ? names.ncols : 1) * sizeof *row)))
            rc = st_err_nomem(e, "row");
        double fcur = 0;
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
            double v = seqcol >= 0 ? row[seqcol] : 0;
            int newrun = f[FIG_NROWS] == 0 || (seqcol >= 0 && !(v == fcur));
            if (!started || (seqcol >= 0 && !(v == cur))) {
                started = 1;
                cur = v;
                if (seqcol >= 0 && (rc = st_seq_check(&seen, v, NULL, 0, "", e)) < 0) {
                    rc = st_reader_error(r, e, rc, "%s", e->msg);
                    *key = KEY_FILE(i) + (size_t)r->last;
                    break;
                }
            }
            if (newrun) {
                fcur = v;
                if (f[FIG_NROWS] == 0) {
                    f[FIG_FIRST] = v;
                } else {
                    if (v < f[FIG_IMIN])
                        f[FIG_IMIN] = v;
                    if (v > f[FIG_IMAX])
                        f[FIG_IMAX] = v;
                }
                if (runs && runs_push(runs, v, r->last) < 0) {
                    rc = st_err_nomem(e, "seq runs");
                    *key = KEY_FILE(i) + (size_t)r->last;
                    break;
                }
                f[FIG_NRUNS]++;
            }
            f[FIG_LAST] = v;
            f[FIG_NROWS]++;
        }
        st_reader_free(r);
    }
    names_free(&names);
    free(seen.keys);
    free(row);
    return rc;
}

void st_group_layout_free(st_group_layout *lay)
{
    if (!lay)
        return;
    free(lay->group0);
    memset(lay, 0, sizeof *lay);
}

/* Whether the first row of input i continues the run that ended the
 * inputs before it (started: some earlier input had rows; cur: its last
 * seq).  Without a seq column every seq is 0, so everything is one run. */
static int continues(const double *f, int started, double cur)
{
    return started && f[FIG_NROWS] > 0 && f[FIG_FIRST] == cur;
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
    double cur = 0;
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
        cur = f[FIG_LAST];
    }
    lay->ngroups = count;
    lay->nrows = rows;
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
 * checked it), and the runs need not be exchanged. */
static int ranges_overlap(const double *fig, size_t n, int *overlap, st_err *e)
{
    seqrange *rg = malloc((n ? n : 1) * sizeof *rg);
    if (!rg)
        return st_err_nomem(e, "seq ranges");
    size_t m = 0;
    int started = 0;
    double cur = 0;
    for (size_t i = 0; i < n; i++) {
        const double *f = fig + i * FIG_N;
        if (f[FIG_NROWS] == 0)
            continue;
        double lo = f[FIG_IMIN], hi = f[FIG_IMAX]; /* +Inf, -Inf when one run */
        if (!continues(f, started, cur)) {
            lo = f[FIG_FIRST] < lo ? f[FIG_FIRST] : lo;
            hi = f[FIG_FIRST] > hi ? f[FIG_FIRST] : hi;
        }
        if (lo <= hi)
            rg[m++] = (seqrange){lo, hi};
        started = 1;
        cur = f[FIG_LAST];
    }
    qsort(rg, m, sizeof *rg, range_cmp);
    *overlap = 0;
    double reach = m ? rg[0].hi : 0; /* the greatest hi so far */
    for (size_t k = 1; k < m; k++) {
        if (!(rg[k].lo > reach)) /* NaN cannot occur: a NaN seq fails the count */
            *overlap = 1;
        reach = rg[k].hi > reach ? rg[k].hi : reach;
    }
    free(rg);
    return ST_OK;
}

/* The first seq value, over every input's runs in order, that starts a run
 * after having started an earlier one (runs: FIG_NRUNS (seq, line) pairs
 * per input, concatenated).  Stops at the first input not read to its
 * end (its reader's error comes after its recorded runs).  Returns ST_EDATA
 * with e and *key set as the single pass would, or 0. */
static int first_reappearance(const char *const *paths, const double *fig, size_t n, const double *runs,
                              size_t *key, st_err *e)
{
    st_seqset seen = {0};
    int started = 0, rc = ST_OK;
    double cur = 0;
    size_t k = 0;
    for (size_t i = 0; i < n && rc == ST_OK; i++) {
        const double *f = fig + i * FIG_N;
        size_t nruns = (size_t)f[FIG_NRUNS];
        int cont = continues(f, started, cur);
        for (size_t j = 0; j < nruns && rc == ST_OK; j++, k += 2) {
            if (j == 0 && cont)
                continue;
            int dup = st_seqset_add(&seen, runs[k]);
            if (dup < 0) {
                rc = st_err_nomem(e, "seq index");
                *key = KEY_FILE(i);
            } else if (dup) {
                /* the single pass's message, placed as st_reader_error
                 * places it: binary inputs name the row, CSV the line */
                long line = (long)runs[k + 1];
                const char *name = st_display_name(paths[i]);
                if (f[FIG_BIN] != 0) {
                    char where[48];
                    snprintf(where, sizeof where, "row %ld: ", line + 1);
                    rc = seq_again(runs[k], name, 0, where, e);
                } else {
                    rc = seq_again(runs[k], name, line, "", e);
                }
                *key = KEY_FILE(i) + (size_t)line;
            }
        }
        if (f[FIG_NROWS] > 0) {
            started = 1;
            cur = f[FIG_LAST];
        }
        if (f[FIG_DONE] == 0)
            break;
    }
    free(seen.keys);
    return rc;
}

/* Several inputs under MPI: this rank counts its share of them, then the
 * figures (and, if needed, the runs) are gathered and checked alike on
 * every rank. */
static int count_shared(const char *const *paths, size_t npaths, const char *seqname, st_group_layout *lay,
                        st_err *e)
{
    size_t flo, fhi, key = 0, total;
    st_mpi_share(npaths, &flo, &fhi);
    double *fig = malloc(((fhi - flo) * FIG_N + 1) * sizeof *fig), *all = NULL, *allruns = NULL;
    runlist runs = {0};
    int rc = fig ? count_files(paths, npaths, flo, fhi, seqname, fig, &runs, &key, e)
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
        size_t want = 0;
        for (size_t i = 0; i < npaths; i++)
            want += 2 * (size_t)all[i * FIG_N + FIG_NRUNS];
        grc = st_mpi_agree(grc < 0 || nall != want ? ST_EIO : ST_OK);
        if (grc == ST_OK) {
            size_t dkey = 0;
            int drc = first_reappearance(paths, all, npaths, allruns, &dkey, &ge);
            if (drc < 0 && (rc == ST_OK || dkey < key)) {
                rc = drc;
                key = dkey;
                *e = ge;
            }
        } else if (rc == ST_OK) {
            rc = st_err_set(e, ST_EIO, NULL, 0, 0, "exchanging the seq runs between MPI ranks failed");
        }
    }
    free(runs.v);
    free(allruns);
    free(fig);
    rc = st_mpi_agree_error(rc, key, e);
    if (rc == ST_OK)
        rc = make_layout(all, npaths, lay, e);
    free(all);
    return rc;
}

int st_table_count_groups(const char *const *paths, size_t npaths, const char *seqname, st_group_layout *lay,
                          st_err *e)
{
    memset(lay, 0, sizeof *lay);
    if (st_mpi_size() > 1 && npaths > 1)
        return count_shared(paths, npaths, seqname, lay, e);
    /* one process, or one input: count it all here (every rank alike) */
    size_t n = npaths ? npaths : 1, key = 0;
    double *fig = malloc(n * FIG_N * sizeof *fig);
    int rc = fig ? count_files(paths, npaths, 0, n, seqname, fig, NULL, &key, e) : st_err_nomem(e, "input figures");
    if (rc == ST_OK)
        rc = make_layout(fig, n, lay, e);
    free(fig);
    return rc;
}

int st_table_read_share(st_table **t, const char *const *paths, size_t npaths, const char *seqname,
                        size_t (*block_groups)(size_t ngroups, size_t nrows), st_table_share *sh, st_err *e)
{
    memset(sh, 0, sizeof *sh);
    *t = NULL;
    if (st_mpi_size() == 1)
        return st_table_read_groups(t, paths, npaths, seqname, NULL, 0, SIZE_MAX, &sh->row0, e);
    st_group_layout lay;
    int rc = st_mpi_agree_error(st_table_count_groups(paths, npaths, seqname, &lay, e), 0, e);
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

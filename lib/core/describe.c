/* Streaming summaries of a stream (stoch-cat --describe). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream_impl.h"

typedef struct colacc {
    size_t count, missing;
    double min, max;
    double sum, comp; /* Neumaier compensated sum */
    /* string columns: the distinct texts, and which codes of the current
     * input's dictionary are among them already */
    st_strdict *texts;
    unsigned char *known;
    size_t nknown;
} colacc;

struct st_describe {
    size_t ncols, rows, nseq;
    int seqcol;
    st_dtype *dtypes;
    const st_strdict **dicts;
    int have_last;  /* last_seq is a value of the current input */
    double last_seq;
    char *last_text; /* the last seq id, across inputs */
    colacc *acc;
    st_seqset seen;
};

int st_describe_new(st_describe **out, size_t ncols, const st_dtype *dtypes, int seqcol, st_err *e)
{
    *out = NULL;
    st_describe *d = calloc(1, sizeof *d);
    if (!d || !(d->acc = calloc(ncols ? ncols : 1, sizeof *d->acc)) ||
        !(d->dtypes = calloc(ncols ? ncols : 1, sizeof *d->dtypes)) ||
        !(d->dicts = calloc(ncols ? ncols : 1, sizeof *d->dicts))) {
        st_describe_free(d);
        return st_err_nomem(e, "summary");
    }
    d->ncols = ncols;
    d->seqcol = seqcol < (int)ncols ? seqcol : -1;
    for (size_t j = 0; j < ncols; j++) {
        d->acc[j].min = INFINITY;
        d->acc[j].max = -INFINITY;
        d->dtypes[j] = dtypes ? dtypes[j] : ST_F8;
        if (d->dtypes[j] == ST_STR && st_strdict_new(&d->acc[j].texts, e) < 0) {
            st_describe_free(d);
            return ST_ENOMEM;
        }
    }
    *out = d;
    return ST_OK;
}

void st_describe_free(st_describe *d)
{
    if (!d)
        return;
    for (size_t j = 0; d->acc && j < d->ncols; j++) {
        st_strdict_free(d->acc[j].texts);
        free(d->acc[j].known);
    }
    free(d->acc);
    free(d->dtypes);
    free(d->dicts);
    free(d->last_text);
    st_seqset_free(&d->seen);
    free(d);
}

void st_describe_dicts(st_describe *d, const st_strdict *const *dicts)
{
    for (size_t j = 0; j < d->ncols; j++) {
        d->dicts[j] = dicts ? dicts[j] : NULL;
        d->acc[j].nknown = 0;
    }
    d->have_last = 0;
}

/* Count a string cell among the distinct values of its column. */
static int add_text(st_describe *d, size_t j, double code, st_err *e)
{
    colacc *a = &d->acc[j];
    const st_strdict *dict = d->dicts[j];
    size_t k = (size_t)code;
    if (k < a->nknown && a->known[k])
        return ST_OK;
    const char *s = st_strdict_str(dict, code);
    if (!s)
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "bug: code %g of a string column has no string", code);
    double c;
    int rc = st_strdict_intern(a->texts, s, st_strdict_len(dict, code), &c, e);
    if (rc < 0)
        return rc;
    if (k >= a->nknown) {
        size_t nn = st_strdict_size(dict);
        unsigned char *m = realloc(a->known, nn);
        if (!m)
            return st_err_nomem(e, "summary");
        memset(m + a->nknown, 0, nn - a->nknown);
        a->known = m;
        a->nknown = nn;
    }
    a->known[k] = 1;
    return ST_OK;
}

static int new_seq(st_describe *d, double s, const st_reader *r, st_err *e)
{
    st_dtype dt = d->dtypes[d->seqcol];
    const st_strdict *dict = d->dicts[d->seqcol];
    char where[48] = "", buf[ST_CELL_BUFSZ];
    if (!r)
        snprintf(where, sizeof where, "row %zu: ", d->rows + 1);
    if (d->have_last && s == d->last_seq)
        return ST_OK;
    /* a new value; the same id as the last row of the previous input
     * continues its sequence */
    const char *t = isnan(s) ? NULL : dt == ST_STR ? st_strdict_str(dict, s) : st_ids_text(buf, dt, s);
    if (t && d->last_text && !d->have_last && strcmp(t, d->last_text) == 0) {
        d->have_last = 1;
        d->last_seq = s;
        return ST_OK;
    }
    int rc = st_seq_check(&d->seen, s, dt, dict, NULL, 0, where, e);
    if (rc < 0)
        return r ? st_reader_error(r, e, rc, "%s", e->msg) : rc;
    char *copy = strdup(t);
    if (!copy)
        return st_err_nomem(e, "summary");
    free(d->last_text);
    d->last_text = copy;
    d->last_seq = s;
    d->have_last = 1;
    d->nseq++;
    return ST_OK;
}

int st_describe_row(st_describe *d, const double *row, const st_reader *r, st_err *e)
{
    if (d->seqcol >= 0) {
        int rc = new_seq(d, row[d->seqcol], r, e);
        if (rc < 0)
            return rc;
    }
    d->rows++;
    for (size_t j = 0; j < d->ncols; j++) {
        colacc *a = &d->acc[j];
        double x = row[j];
        if (isnan(x)) {
            a->missing++;
            continue;
        }
        a->count++;
        if (d->dtypes[j] == ST_STR) {
            int rc = add_text(d, j, x, e);
            if (rc < 0)
                return rc;
            continue;
        }
        if (x < a->min)
            a->min = x;
        if (x > a->max)
            a->max = x;
        double t = a->sum + x;
        if (isfinite(t))
            a->comp += fabs(a->sum) >= fabs(x) ? (a->sum - t) + x : (x - t) + a->sum;
        a->sum = t;
    }
    return ST_OK;
}

void st_describe_result(const st_describe *d, st_colstat *stats, size_t *rows, size_t *nseq)
{
    *rows = d->rows;
    *nseq = d->seqcol >= 0 ? d->nseq : d->rows > 0;
    for (size_t j = 0; j < d->ncols; j++) {
        const colacc *a = &d->acc[j];
        stats[j].count = a->count;
        stats[j].missing = a->missing;
        stats[j].distinct = st_strdict_size(a->texts);
        if (a->count == 0 || d->dtypes[j] == ST_STR) {
            stats[j].min = stats[j].mean = stats[j].max = NAN;
        } else {
            stats[j].min = a->min;
            stats[j].max = a->max;
            stats[j].mean = (a->sum + a->comp) / (double)a->count;
        }
    }
}

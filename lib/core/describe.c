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
} colacc;

struct st_describe {
    size_t ncols, rows, nseq;
    int seqcol;
    double last_seq;
    colacc *acc;
    st_seqset seen;
};

int st_describe_new(st_describe **out, size_t ncols, int seqcol, st_err *e)
{
    *out = NULL;
    st_describe *d = calloc(1, sizeof *d);
    if (!d || !(d->acc = calloc(ncols ? ncols : 1, sizeof *d->acc))) {
        free(d);
        return st_err_nomem(e, "summary");
    }
    d->ncols = ncols;
    d->seqcol = seqcol < (int)ncols ? seqcol : -1;
    for (size_t j = 0; j < ncols; j++) {
        d->acc[j].min = INFINITY;
        d->acc[j].max = -INFINITY;
    }
    *out = d;
    return ST_OK;
}

void st_describe_free(st_describe *d)
{
    if (!d)
        return;
    free(d->acc);
    free(d->seen.keys);
    free(d);
}

int st_describe_row(st_describe *d, const double *row, const st_reader *r, st_err *e)
{
    if (d->seqcol >= 0) {
        double s = row[d->seqcol];
        if (d->rows == 0 || !(s == d->last_seq)) {
            char where[48] = "";
            if (!r)
                snprintf(where, sizeof where, "row %zu: ", d->rows + 1);
            int rc = st_seq_check(&d->seen, s, NULL, 0, where, e);
            if (rc < 0)
                return r ? st_reader_error(r, e, rc, "%s", e->msg) : rc;
            d->nseq++;
            d->last_seq = s;
        }
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
        if (a->count == 0) {
            stats[j].min = stats[j].mean = stats[j].max = NAN;
        } else {
            stats[j].min = a->min;
            stats[j].max = a->max;
            stats[j].mean = (a->sum + a->comp) / (double)a->count;
        }
    }
}

/* Sequences for the HMM: value columns of a stream grouped by `seq`, and
 * the checks that the values fit an emission family. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mpi.h"
#include "core/resource.h"
#include "hmm/internal.h"

void st_hmm_data_free(st_hmm_data *d)
{
    if (!d)
        return;
    free(d->off);
    free(d->x);
    free(d->seqid);
    free(d->gseqid);
    free(d->gmean);
    if (d->names)
        for (size_t j = 0; j < d->D; j++)
            free(d->names[j]);
    free(d->names);
    free(d->source);
    free(d);
}

static st_hmm_data *data_alloc(size_t nseq, size_t total, size_t D)
{
    st_hmm_data *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->nseq = nseq;
    d->total = total;
    d->D = D;
    d->off = calloc(nseq + 1, sizeof *d->off);
    d->x = malloc((total ? total : 1) * D * sizeof *d->x);
    d->seqid = calloc(nseq ? nseq : 1, sizeof *d->seqid);
    d->names = calloc(D, sizeof *d->names);
    if (!d->off || !d->x || !d->seqid || !d->names) {
        st_hmm_data_free(d);
        return NULL;
    }
    return d;
}

int st_hmm_data_new(st_hmm_data **out, size_t nseq, const size_t *len, size_t D, const double *x,
                    st_err *e)
{
    size_t total = 0;
    for (size_t s = 0; s < nseq; s++)
        total += len[s];
    st_hmm_data *d = data_alloc(nseq, total, D);
    if (!d)
        return st_err_nomem(e, "sequences");
    for (size_t s = 0; s < nseq; s++) {
        d->off[s + 1] = d->off[s] + len[s];
        d->seqid[s] = (double)s;
    }
    memcpy(d->x, x, total * D * sizeof *x);
    for (size_t j = 0; j < D; j++) {
        char name[32];
        snprintf(name, sizeof name, "x%zu", j + 1);
        if (!(d->names[j] = strdup(name))) {
            st_hmm_data_free(d);
            return st_err_nomem(e, "column names");
        }
    }
    *out = d;
    return ST_OK;
}

int st_hmm_data_from_table(st_hmm_data **out, const st_table *t, const char *cols, st_err *e)
{
    *out = NULL;
    int seqcol = st_table_col(t, "seq");
    int tcol = st_table_col(t, "t");
    size_t D = 0;
    int *idx = malloc((t->ncols ? t->ncols : 1) * sizeof *idx);
    if (!idx)
        return st_err_nomem(e, "columns");
    if (cols) {
        char *copy = strdup(cols), *save = NULL;
        if (!copy) {
            free(idx);
            return st_err_nomem(e, "columns");
        }
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int j = st_table_col(t, tok);
            if (j < 0) {
                int rc = st_err_set(e, ST_EUSAGE, t->source, 0, 0, "no column '%s' in the data", tok);
                free(copy);
                free(idx);
                return rc;
            }
            if (D >= t->ncols) {
                free(copy);
                free(idx);
                return st_err_set(e, ST_EUSAGE, t->source, 0, 0, "column '%s' is named twice in -c", tok);
            }
            idx[D++] = j;
        }
        free(copy);
    } else {
        int statecol = st_table_col(t, "state"); /* hmm-sample's true states */
        for (size_t j = 0; j < t->ncols; j++)
            if ((int)j != seqcol && (int)j != tcol && (int)j != statecol)
                idx[D++] = (int)j;
    }
    if (D == 0) {
        free(idx);
        return st_err_set(e, ST_EDATA, t->source, 0, 0, "no value columns (only seq/t)");
    }
    if (t->nrows == 0) {
        free(idx);
        return st_err_set(e, ST_EDATA, t->source, 0, 0, "no data rows");
    }
    st_group *g = NULL;
    size_t ng = 0;
    int rc = st_table_groups(t, seqcol, &g, &ng, e);
    if (rc < 0) {
        free(idx);
        return rc;
    }
    st_hmm_data *d = data_alloc(ng, t->nrows, D);
    if (!d) {
        free(idx);
        free(g);
        return st_err_nomem(e, "sequences");
    }
    size_t r = 0;
    for (size_t s = 0; s < ng; s++) {
        d->seqid[s] = g[s].seq;
        d->off[s + 1] = d->off[s] + g[s].n;
        for (size_t i = 0; i < g[s].n; i++, r++)
            for (size_t j = 0; j < D; j++)
                d->x[r * D + j] = st_table_get(t, g[s].start + i, (size_t)idx[j]);
    }
    for (size_t j = 0; j < D; j++)
        if (!(d->names[j] = strdup(t->names[idx[j]])))
            rc = st_err_nomem(e, "column names");
    if (t->source && !(d->source = strdup(t->source)))
        rc = st_err_nomem(e, "source name");
    free(idx);
    free(g);
    if (rc < 0) {
        st_hmm_data_free(d);
        return rc;
    }
    *out = d;
    return ST_OK;
}

int st_hmm_data_for_model(st_hmm_data **d, const st_table *t, const st_hmm *m, const char *cols, st_err *e)
{
    if (cols || !m || !m->colnames)
        return st_hmm_data_from_table(d, t, cols, e);
    size_t len = 1;
    for (size_t j = 0; j < m->D; j++) {
        if (st_table_col(t, m->colnames[j]) < 0)
            return st_hmm_data_from_table(d, t, NULL, e);
        len += strlen(m->colnames[j]) + 1;
    }
    char *list = malloc(len);
    if (!list)
        return st_err_nomem(e, "column list");
    list[0] = '\0';
    for (size_t j = 0; j < m->D; j++) {
        if (j)
            strcat(list, ",");
        strcat(list, m->colnames[j]);
    }
    int rc = st_hmm_data_from_table(d, t, list, e);
    free(list);
    return rc;
}

/* Row i (0-based over all rows) named for messages: 1-based row, sequence. */
static int bad_value(const st_hmm_data *d, size_t i, size_t j, st_err *e, const char *what)
{
    size_t s = 0;
    while (s + 1 < d->nseq && d->off[s + 1] <= i)
        s++;
    return st_err_set(e, ST_EDATA, d->source, 0, 0, "data row %zu (seq %.17g, column '%s'): %s", i + 1,
                      d->seqid[s], d->names && d->names[j] ? d->names[j] : "?", what);
}

int st_hmm_data_check(const st_hmm_data *d, st_hmm_family f, st_hmm_cov cov, const size_t *nsym,
                      st_err *e)
{
    size_t D = d->D;
    for (size_t i = 0; i < d->total; i++) {
        const double *x = d->x + i * D;
        size_t nobs = 0;
        for (size_t j = 0; j < D; j++) {
            double v = x[j];
            char msg[160];
            if (isnan(v)) {
                if (f == ST_HMM_GAUSSIAN || f == ST_HMM_GMM) /* marginalised */
                    continue;
                (void)cov;
                return bad_value(d, i, j, e, "missing value (NaN) is not allowed for this emission");
            }
            if (!isfinite(v))
                return bad_value(d, i, j, e, "infinite value");
            nobs++;
            if (f == ST_HMM_CATEGORICAL) {
                if (v != floor(v) || v < 0) {
                    snprintf(msg, sizeof msg, "symbol %.17g is not a non-negative integer", v);
                    return bad_value(d, i, j, e, msg);
                }
                if (nsym && v >= (double)nsym[j]) {
                    snprintf(msg, sizeof msg, "symbol %.17g out of range 0..%zu", v, nsym[j] - 1);
                    return bad_value(d, i, j, e, msg);
                }
                if (v > 1e6) {
                    snprintf(msg, sizeof msg, "symbol %.17g is beyond 1000000 symbols", v);
                    return bad_value(d, i, j, e, msg);
                }
            } else if (f == ST_HMM_POISSON) {
                if (v != floor(v) || v < 0) {
                    snprintf(msg, sizeof msg, "count %.17g is not a non-negative integer", v);
                    return bad_value(d, i, j, e, msg);
                }
            }
        }
        if (nobs == 0)
            return bad_value(d, i, 0, e, "every value of the row is missing");
    }
    return ST_OK;
}

int st_hmm_data_check_ar(const st_hmm_data *d, size_t order, st_err *e)
{
    int rc = st_hmm_data_check(d, ST_HMM_AR, ST_HMM_COV_DIAG, NULL, e);
    if (rc < 0)
        return rc;
    for (size_t s = 0; s < d->nseq; s++) {
        size_t n = d->off[s + 1] - d->off[s];
        if (n <= order)
            return st_err_set(e, ST_EDATA, d->source, 0, 0,
                              "sequence %.17g has %zu rows, not more than the AR order %zu", d->seqid[s], n, order);
    }
    return ST_OK;
}

int st_hmm_check_memory(double bytes, const char *what, st_err *e)
{
    return st_check_memory(bytes, what, e);
}

void st_hmm_data_colvar(const st_hmm_data *d, double *mean, double *v)
{
    size_t D = d->D;
    if (d->gnseq && d->gmean) { /* a share: the whole data's figures */
        memcpy(mean, d->gmean, D * sizeof *mean);
        memcpy(v, d->gvar, D * sizeof *v);
        return;
    }
    for (size_t j = 0; j < D; j++) {
        double m = 0, s = 0;
        size_t n = 0;
        for (size_t i = 0; i < d->total; i++) { /* Welford */
            double x = d->x[i * D + j];
            if (isnan(x))
                continue;
            n++;
            double dm = x - m;
            m += dm / (double)n;
            s += dm * (x - m);
        }
        mean[j] = m;
        v[j] = n > 1 && s > 0 ? s / (double)n : 1.0;
    }
}

int st_hmm_data_keep_share(st_hmm_data *d, st_err *e)
{
    if (st_mpi_size() <= 1 || d->gnseq)
        return ST_OK;
    size_t D = d->D, B, nblk = st_hmm_blocks(d->nseq, &B), blo, bhi;
    st_mpi_share(nblk, &blo, &bhi);
    size_t s_lo = blo * B < d->nseq ? blo * B : d->nseq, s_hi = bhi * B < d->nseq ? bhi * B : d->nseq;
    double *gm = malloc((D ? 2 * D : 1) * sizeof *gm);
    if (!gm)
        return st_err_nomem(e, "column figures");
    st_hmm_data_colvar(d, gm, gm + D);
    size_t r_lo = d->off[s_lo], r_hi = d->off[s_hi], n = s_hi - s_lo, rows = r_hi - r_lo;
    double *x = malloc((rows ? rows : 1) * D * sizeof *x);
    size_t *off = malloc((n + 1) * sizeof *off);
    double *sid = malloc((n ? n : 1) * sizeof *sid);
    if (!x || !off || !sid) {
        free(gm);
        free(x);
        free(off);
        free(sid);
        return st_err_nomem(e, "the rank's share of the sequences");
    }
    memcpy(x, d->x + r_lo * D, rows * D * sizeof *x);
    for (size_t s = 0; s <= n; s++)
        off[s] = d->off[s_lo + s] - r_lo;
    memcpy(sid, d->seqid + s_lo, n * sizeof *sid);
    d->gseqid = d->seqid;
    d->seqid = sid;
    d->gmean = gm;
    d->gvar = gm + D;
    d->gnseq = d->nseq;
    d->gtotal = d->total;
    d->first = s_lo;
    d->nseq = n;
    d->total = rows;
    free(d->x);
    d->x = x;
    free(d->off);
    d->off = off;
    return ST_OK;
}

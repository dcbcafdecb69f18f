/* Sequences for the HMM: value columns of a stream grouped by `seq`, and
 * the checks that the values fit an emission family. */
#include "config.h"

#include <math.h>
#include <stdint.h>
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
    free(d->gmean);
    if (d->names)
        for (size_t j = 0; j < d->D; j++)
            free(d->names[j]);
    free(d->names);
    free(d->source);
    if (d->labels) {
        for (size_t j = 0; j < d->D; j++)
            if (d->labels[j]) {
                for (size_t v = 0; v < d->nlab[j]; v++)
                    free(d->labels[j][v]);
                free(d->labels[j]);
            }
        free(d->labels);
    }
    free(d->nlab);
    if (d->paths)
        for (size_t i = 0; i < d->npaths; i++)
            free(d->paths[i]);
    free(d->paths);
    free(d);
}

int st_hmm_data_set_paths(st_hmm_data *d, const char *const *paths, size_t npaths, st_err *e)
{
    if (npaths == 0 || !paths)
        return ST_OK;
    for (size_t i = 0; i < npaths; i++)
        if (!paths[i] || strcmp(paths[i], "-") == 0)
            return ST_OK; /* stdin cannot be read again */
    if (!(d->paths = calloc(npaths, sizeof *d->paths)))
        return st_err_nomem(e, "paths");
    d->npaths = npaths;
    for (size_t i = 0; i < npaths; i++)
        if (!(d->paths[i] = strdup(paths[i])))
            return st_err_nomem(e, "paths");
    return ST_OK;
}

st_reader_opts st_hmm_reader_opts(const st_hmm *m, st_hmm_family f, const char *cols, char **buf)
{
    st_reader_opts o = {0};
    *buf = NULL;
    if (f != ST_HMM_CATEGORICAL)
        return o;
    o.any_type = 1;
    o.promote = 1;
    if (!m || !m->symlabels || !m->colnames || cols)
        return o;
    size_t len = 1;
    for (size_t j = 0; j < m->D; j++)
        if (m->symlabels[j])
            len += strlen(m->colnames[j]) + 1;
    if (len == 1 || !(*buf = malloc(len)))
        return o;
    (*buf)[0] = '\0';
    for (size_t j = 0; j < m->D; j++)
        if (m->symlabels[j]) {
            if ((*buf)[0])
                strcat(*buf, ",");
            strcat(*buf, m->colnames[j]);
        }
    o.str_cols = *buf;
    return o;
}

/* The 0-based row `row` of the concatenated inputs of d: its file, line
 * and the 1-based position of column `name` (by reading the inputs again;
 * 0 when they cannot be read). */
static long locate_row(const st_hmm_data *d, size_t row, const char *name, const char **file, long *col)
{
    *file = NULL;
    *col = 0;
    if (!d->paths)
        return 0;
    st_reader_opts o = {0};
    o.any_type = 1;
    o.promote = 1;
    size_t at = 0;
    for (size_t p = 0; p < d->npaths; p++) {
        st_reader *r = NULL;
        st_err e2;
        st_err_clear(&e2);
        if (st_reader_open_opts(&r, d->paths[p], &o, &e2) < 0)
            return 0;
        size_t nc = st_reader_ncols(r);
        double *buf = malloc((nc ? nc : 1) * sizeof *buf);
        int got = 0;
        while (buf && (got = st_reader_next(r, buf, &e2)) == 1) {
            if (at++ == row) {
                long line = st_reader_line(r);
                int j = name ? st_reader_col(r, name) : -1;
                *col = j >= 0 ? j + 1 : 0;
                *file = d->paths[p];
                free(buf);
                st_reader_free(r);
                return line;
            }
        }
        free(buf);
        st_reader_free(r);
        if (got < 0)
            return 0;
    }
    return 0;
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

/* The value columns of t grouped by seq; grows: the whole data's row count
 * (a rank's share may be empty, the whole data not). */
/* Append the columns of the comma list to idx[*D...]; a name given twice
 * (in either list) is an error. */
static int add_cols(const st_table *t, const char *list, int *idx, size_t *D, st_err *e)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return st_err_nomem(e, "columns");
    int rc = ST_OK;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == ST_OK; tok = strtok_r(NULL, ",", &save)) {
        int j = st_table_col(t, tok);
        if (j < 0) {
            rc = st_err_set(e, ST_EUSAGE, t->source, 0, 0, "no column '%s' in the data", tok);
            break;
        }
        for (size_t i = 0; i < *D; i++)
            if (idx[i] == j)
                rc = st_err_set(e, ST_EUSAGE, t->source, 0, 0, "column '%s' is named twice", tok);
        if (rc == ST_OK)
            idx[(*D)++] = j;
    }
    free(copy);
    return rc;
}

static int listed(const st_table *t, const char *list, size_t j)
{
    if (!list)
        return 0;
    size_t n = strlen(t->names[j]);
    for (const char *p = list; *p;) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == n && strncmp(p, t->names[j], n) == 0)
            return 1;
        p += len + (q != NULL);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Column j of d holds text (table column tj, a string column or, for a
 * model that labels the channel, numbers): replace codes by label indices
 * -- the model's labels (m, may be NULL) or the labels present in byte
 * order.  A label the model does not know is an error at its row. */
static int map_labels(st_hmm_data *d, const st_table *t, size_t j, size_t tj, const st_hmm *m, const size_t *rowof,
                      st_err *e)
{
    const char *const *ml = m && m->family == ST_HMM_CATEGORICAL && m->symlabels && j < m->D && m->symlabels[j]
                                ? (const char *const *)m->symlabels[j]
                                : NULL;
    size_t nl = ml ? m->nsym[j] : 0, D = d->D;
    int isstr = t->dtypes[tj] == ST_STR;
    if (!isstr && !ml)
        return ST_OK;
    if (!d->labels && (!(d->labels = calloc(D, sizeof *d->labels)) || !(d->nlab = calloc(D, sizeof *d->nlab))))
        return st_err_nomem(e, "labels");
    st_strdict *lab = NULL; /* label -> index */
    int rc = st_strdict_new(&lab, e);
    char **sorted = NULL;
    if (rc == ST_OK && !ml) { /* the labels present, in byte order */
        const st_strdict *dict = t->dicts ? t->dicts[tj] : NULL;
        size_t n = dict ? st_strdict_size(dict) : 0;
        if (!(sorted = calloc(n ? n : 1, sizeof *sorted)))
            rc = st_err_nomem(e, "labels");
        for (size_t c = 0; rc == ST_OK && c < n; c++)
            sorted[c] = (char *)st_strdict_str(dict, (double)c);
        if (rc == ST_OK) {
            qsort(sorted, n, sizeof *sorted, cmp_str);
            ml = (const char *const *)sorted;
            nl = n;
        }
    }
    double code;
    for (size_t v = 0; rc == ST_OK && v < nl; v++)
        rc = st_strdict_intern(lab, ml[v], strlen(ml[v]), &code, e);
    if (rc == ST_OK && !(d->labels[j] = calloc(nl ? nl : 1, sizeof **d->labels)))
        rc = st_err_nomem(e, "labels");
    for (size_t v = 0; rc == ST_OK && v < nl; v++)
        if (!(d->labels[j][v] = strdup(ml[v])))
            rc = st_err_nomem(e, "labels");
    if (rc == ST_OK)
        d->nlab[j] = nl;
    free(sorted);
    for (size_t i = 0; rc == ST_OK && i < d->total; i++) {
        double *x = d->x + i * D + j;
        if (isnan(*x))
            continue;
        char buf[ST_CELL_BUFSZ];
        const char *s = st_table_cell(t, tj, *x, buf);
        double k = s ? st_strdict_find(lab, s, strlen(s)) : NAN;
        if (isnan(k)) {
            char what[ST_CELL_BUFSZ + 128];
            snprintf(what, sizeof what, "symbol '%s' is not one of the model's %zu labels", s ? s : "?", nl);
            const char *file;
            long col, line = locate_row(d, d->row0 + rowof[i], t->names[tj], &file, &col);
            if (line > 0)
                rc = st_err_set(e, ST_EDATA, file, line, col, "column '%s': %s", t->names[tj], what);
            else
                rc = st_err_set(e, ST_EDATA, d->source, 0, 0, "data row %zu (column '%s'): %s",
                                d->row0 + rowof[i] + 1, t->names[tj], what);
            break;
        }
        *x = k;
    }
    st_strdict_free(lab);
    return rc;
}

/* The value columns (cols, or all but seq, t, state and the covariates)
 * then the covariates covs (may be NULL); text columns through m's labels
 * (m may be NULL). */
static int from_table(st_hmm_data **out, const st_table *t, const char *cols, const char *covs, size_t grows,
                      const st_hmm *m, const char *const *paths, size_t npaths, st_err *e)
{
    *out = NULL;
    int seqcol = st_table_col(t, "seq");
    int tcol = st_table_col(t, "t");
    size_t D = 0;
    int *idx = malloc((t->ncols ? t->ncols : 1) * sizeof *idx);
    if (!idx)
        return st_err_nomem(e, "columns");
    int rc0 = ST_OK;
    if (cols) {
        rc0 = add_cols(t, cols, idx, &D, e);
    } else {
        int statecol = st_table_col(t, "state"); /* hmm-sample's true states */
        for (size_t j = 0; j < t->ncols; j++)
            if ((int)j != seqcol && (int)j != tcol && (int)j != statecol && !listed(t, covs, j))
                idx[D++] = (int)j;
    }
    if (rc0 == ST_OK && covs && D > 0)
        rc0 = add_cols(t, covs, idx, &D, e);
    if (rc0 < 0) {
        free(idx);
        return rc0;
    }
    if (D == 0) {
        free(idx);
        return st_err_set(e, ST_EDATA, t->source, 0, 0, "no value columns (only seq/t)");
    }
    if (grows == 0) {
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
    size_t *rowof = malloc((t->nrows ? t->nrows : 1) * sizeof *rowof); /* d's row -> the table's */
    if (!rowof)
        rc = st_err_nomem(e, "rows");
    for (size_t s = 0; rc == ST_OK && s < ng; s++) {
        d->seqid[s] = g[s].seq;
        d->off[s + 1] = d->off[s] + g[s].n;
        for (size_t i = 0; i < g[s].n; i++, r++) {
            rowof[r] = g[s].start + i;
            for (size_t j = 0; j < D; j++)
                d->x[r * D + j] = st_table_get(t, g[s].start + i, (size_t)idx[j]);
        }
    }
    for (size_t j = 0; rc == ST_OK && j < D; j++)
        if (!(d->names[j] = strdup(t->names[idx[j]])))
            rc = st_err_nomem(e, "column names");
    if (rc == ST_OK && t->source && !(d->source = strdup(t->source)))
        rc = st_err_nomem(e, "source name");
    if (rc == ST_OK)
        rc = st_hmm_data_set_paths(d, paths, npaths, e);
    for (size_t j = 0; rc == ST_OK && j < D; j++)
        rc = map_labels(d, t, j, (size_t)idx[j], m, rowof, e);
    free(rowof);
    free(idx);
    free(g);
    if (rc < 0) {
        st_hmm_data_free(d);
        return rc;
    }
    *out = d;
    return ST_OK;
}

int st_hmm_data_from_table(st_hmm_data **out, const st_table *t, const char *cols, st_err *e)
{
    return from_table(out, t, cols, NULL, t->nrows, NULL, NULL, 0, e);
}

static int for_model(st_hmm_data **d, const st_table *t, const st_hmm *m, const char *cols, const char *covs,
                     size_t grows, const char *const *paths, size_t npaths, st_err *e)
{
    if (cols || !m || !m->colnames)
        return from_table(d, t, cols, covs, grows, m, paths, npaths, e);
    size_t len = 1;
    for (size_t j = 0; j < m->D; j++) {
        if (st_table_col(t, m->colnames[j]) < 0)
            return from_table(d, t, NULL, covs, grows, m, paths, npaths, e);
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
    int rc = from_table(d, t, list, NULL, grows, m, paths, npaths, e);
    free(list);
    return rc;
}

int st_hmm_data_for_model(st_hmm_data **d, const st_table *t, const st_hmm *m, const char *cols, st_err *e)
{
    return for_model(d, t, m, cols, NULL, t->nrows, NULL, 0, e);
}

int st_hmm_data_for_model_paths(st_hmm_data **d, const st_table *t, const st_hmm *m, const char *cols,
                                const char *const *paths, size_t npaths, st_err *e)
{
    return for_model(d, t, m, cols, NULL, t->nrows, paths, npaths, e);
}

/* The E-step blocks' sequence count, for st_table_read_share. */
static size_t hmm_block_groups(size_t nseq, size_t nrows)
{
    (void)nrows;
    size_t B;
    st_hmm_blocks(nseq, &B);
    return B;
}

int st_hmm_data_read(st_hmm_data **out, const char *const *paths, size_t npaths, const st_hmm *m, const char *cols,
                     st_err *e)
{
    return st_hmm_data_read_cov(out, paths, npaths, m, cols, NULL, e);
}

int st_hmm_data_read_cov(st_hmm_data **out, const char *const *paths, size_t npaths, const st_hmm *m, const char *cols,
                         const char *covs, st_err *e)
{
    return st_hmm_data_read_fam(out, paths, npaths, m, cols, covs, m ? m->family : ST_HMM_GAUSSIAN, e);
}

int st_hmm_data_read_fam(st_hmm_data **out, const char *const *paths, size_t npaths, const st_hmm *m, const char *cols,
                         const char *covs, st_hmm_family fam, st_err *e)
{
    *out = NULL;
    int share = st_mpi_size() > 1;
    st_table *t = NULL;
    st_hmm_data *d = NULL;
    st_table_share sh;
    char *strcols = NULL;
    st_reader_opts ro = st_hmm_reader_opts(m, fam, cols, &strcols);
    int rc = st_table_read_share_opts(&t, paths, npaths, "seq", &ro, hmm_block_groups, &sh, e);
    free(strcols);
    size_t ng = sh.ngroups, nrows = sh.nrows, row0 = sh.row0;
    size_t glo = sh.blo * sh.block, ghi = sh.bhi * sh.block; /* the share's sequences */
    glo = glo < ng ? glo : ng;
    ghi = ghi < ng ? ghi : ng;
    if (rc == ST_OK)
        rc = for_model(&d, t, m, cols, covs, share ? nrows : t->nrows, paths, npaths, e);
    if (rc == ST_OK && share && d->labels && !(m && m->symlabels)) /* each rank would sort its own labels */
        rc = st_err_set(e, ST_EUSAGE, d->source, 0, 0,
                        "symbols spelled as labels under MPI need a model that lists them (--init)");
    st_table_free(t);
    if (share && (rc = st_mpi_agree_error(rc, 0, e)) < 0) {
        st_hmm_data_free(d);
        return rc;
    }
    if (rc < 0)
        return rc;
    if (share) {
        d->first = glo;
        d->row0 = row0;
        d->gnseq = ng;
        d->gtotal = nrows;
        if (d->nseq != ghi - glo || d->total > nrows)
            rc = st_err_set(e, ST_EINTERNAL, d->source, 0, 0, "bug: read %zu sequences for a share of %zu", d->nseq,
                            ghi - glo);
        if ((rc = st_mpi_agree_error(rc, 0, e)) < 0) {
            st_hmm_data_free(d);
            return rc;
        }
    }
    if ((rc = st_hmm_data_figures(d, e)) < 0) {
        st_hmm_data_free(d);
        return rc;
    }
    *out = d;
    return ST_OK;
}

/* Row i of d (0-based) named for messages: the whole data's 1-based row,
 * the sequence, the column. */
static int bad_value(const st_hmm_data *d, size_t i, size_t j, st_err *e, const char *what)
{
    size_t s = 0;
    while (s + 1 < d->nseq && d->off[s + 1] <= i)
        s++;
    const char *name = d->names && d->names[j] ? d->names[j] : "?", *file;
    long col, line = locate_row(d, d->row0 + i, name, &file, &col);
    if (line > 0)
        return st_err_set(e, ST_EDATA, file, line, col, "column '%s': %s", name, what);
    return st_err_set(e, ST_EDATA, d->source, 0, 0, "data row %zu (seq %.17g, column '%s'): %s", d->row0 + i + 1,
                      d->seqid[s], name, what);
}

/* The checks of st_hmm_data_check_spec on d's rows; *bad gets the failing
 * row. */
static int check_rows(const st_hmm_data *d, const st_hmm_shape *sh, long trials, size_t *bad, st_err *e)
{
    size_t D = d->D, Dy = sh->family == ST_HMM_REGRESSION ? D - sh->ncov : D;
    st_hmm_family f = sh->family;
    const size_t *nsym = sh->nsym;
    /* families that marginalise a missing value */
    int nan_ok = f == ST_HMM_GAUSSIAN || f == ST_HMM_GMM || f == ST_HMM_BERNOULLI || f == ST_HMM_GAMMA ||
                 f == ST_HMM_LOGNORMAL || f == ST_HMM_CATEGORICAL;
    for (size_t i = 0; i < d->total; i++) {
        const double *x = d->x + i * D;
        int row_missing = st_hmm_row_missing(x, Dy);
        size_t nobs = 0;
        double rowsum = 0;
        *bad = i;
        for (size_t j = 0; j < D; j++) {
            double v = x[j];
            char msg[160];
            if (isnan(v)) {
                if (j >= Dy) {
                    if (nobs == 0 && st_hmm_row_missing(x, Dy))
                        continue; /* no response: the covariates are not used */
                    return bad_value(d, i, j, e, "missing covariate (NaN): regression covariates must be observed");
                }
                if (nan_ok || row_missing)
                    continue;
                return bad_value(d, i, j, e,
                                 "missing value (NaN) in a row with observed values: this emission takes a row "
                                 "either observed or missing as a whole");
            }
            if (!isfinite(v))
                return bad_value(d, i, j, e, "infinite value");
            if (j < Dy)
                nobs++;
            switch (f) {
            case ST_HMM_CATEGORICAL:
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
                break;
            case ST_HMM_POISSON:
            case ST_HMM_MULTINOMIAL:
                if (v != floor(v) || v < 0 || v > 9e15) {
                    snprintf(msg, sizeof msg, "count %.17g is not a non-negative integer", v);
                    return bad_value(d, i, j, e, msg);
                }
                rowsum += v;
                break;
            case ST_HMM_BERNOULLI:
                if (v != 0 && v != 1) {
                    snprintf(msg, sizeof msg, "value %.17g is not 0 or 1", v);
                    return bad_value(d, i, j, e, msg);
                }
                break;
            case ST_HMM_GAMMA:
            case ST_HMM_LOGNORMAL:
                if (!(v > 0)) {
                    snprintf(msg, sizeof msg, "value %.17g is not positive (%s emissions)", v, st_hmm_family_name(f));
                    return bad_value(d, i, j, e, msg);
                }
                break;
            default:
                break;
            }
        }
        if (nobs == 0)
            continue; /* a time step without an observation */
        if (f == ST_HMM_MULTINOMIAL && trials > 0 && rowsum != (double)trials) {
            char msg[160];
            snprintf(msg, sizeof msg, "the counts sum to %.17g, not the model's %ld trials", rowsum, trials);
            return bad_value(d, i, 0, e, msg);
        }
    }
    return ST_OK;
}

int st_hmm_data_check_spec(const st_hmm_data *d, const st_hmm_shape *sh, long trials, st_err *e)
{
    size_t bad = 0;
    int rc = ST_OK;
    if (sh->family == ST_HMM_REGRESSION && !(sh->ncov >= 1 && sh->ncov < d->D))
        rc = st_err_set(e, ST_EDATA, d->source, 0, 0,
                        "a regression needs at least one response and one covariate column (%zu columns, %zu covariates)",
                        d->D, sh->ncov);
    for (size_t j = 0; rc == ST_OK && d->labels && j < d->D; j++)
        if (d->labels[j] && sh->family != ST_HMM_CATEGORICAL)
            rc = st_err_set(e, ST_EDATA, d->source, 0, 0,
                            "column '%s' holds text (labels), not numbers: only categorical symbols may be labels",
                            d->names[j]);
    if (rc == ST_OK)
        rc = check_rows(d, sh, trials, &bad, e);
    /* on a share: the first bad row of the whole data, on every rank */
    if (d->gnseq)
        rc = st_mpi_agree_error(rc, d->row0 + bad, e);
    if (rc < 0 || sh->family != ST_HMM_AR)
        return rc;
    size_t s = 0;
    for (; s < d->nseq; s++) {
        size_t n = d->off[s + 1] - d->off[s];
        if (n <= sh->order) {
            rc = st_err_set(e, ST_EDATA, d->source, 0, 0,
                            "sequence %.17g has %zu rows, not more than the AR order %zu", d->seqid[s], n, sh->order);
            break;
        }
    }
    return d->gnseq ? st_mpi_agree_error(rc, d->first + s, e) : rc;
}

int st_hmm_data_check(const st_hmm_data *d, st_hmm_family f, st_hmm_cov cov, const size_t *nsym,
                      st_err *e)
{
    st_hmm_shape sh = {f, cov, nsym, 0, 0, f == ST_HMM_REGRESSION ? 1 : 0};
    return st_hmm_data_check_spec(d, &sh, 0, e);
}

int st_hmm_data_check_ar(const st_hmm_data *d, size_t order, st_err *e)
{
    st_hmm_shape sh = {ST_HMM_AR, ST_HMM_COV_DIAG, NULL, order, 0, 0};
    return st_hmm_data_check_spec(d, &sh, 0, e);
}

int st_hmm_data_check_model(const st_hmm_data *d, const st_hmm *m, st_err *e)
{
    if (d->D != m->D)
        return st_err_set(e, ST_EDATA, d->source, 0, 0, "the data have %zu value columns, the model %zu", d->D, m->D);
    st_hmm_shape sh = {m->family, m->cov, m->nsym, m->order, m->ncomp, m->ncov};
    return st_hmm_data_check_spec(d, &sh, m->trials, e);
}

int st_hmm_check_memory(double bytes, const char *what, st_err *e)
{
    return st_check_memory(bytes, what, e);
}

/* ---------------------------------------------- whole-data figures */

void st_hmm_block_figures(const st_hmm_data *d, size_t r0, size_t r1, double *out)
{
    size_t D = d->D;
    for (size_t j = 0; j < D; j++) { /* corrected two-pass: the block is in memory */
        double m = 0, s = 0, c = 0, mx = -INFINITY;
        size_t n = 0;
        for (size_t i = r0; i < r1; i++) {
            double x = d->x[i * D + j];
            if (isnan(x))
                continue;
            n++;
            m += x;
            mx = x > mx ? x : mx;
        }
        m = n ? m / (double)n : 0;
        for (size_t i = r0; i < r1; i++) {
            double x = d->x[i * D + j];
            if (isnan(x))
                continue;
            s += (x - m) * (x - m);
            c += x - m;
        }
        double *o = out + j * ST_HMM_NFIG;
        o[0] = (double)n;
        o[1] = m;                            /* the mean is m + lo: lo keeps the */
        o[2] = n ? c / (double)n : 0;        /* digits that m, near a large offset, */
        o[3] = n ? s - c * c / (double)n : 0; /* cannot hold */
        o[4] = mx;
    }
}

/* acc (n, mean hi, mean lo, M2, max per column) += one block's figures
 * (Chan et al.), the means as unevaluated sums hi + lo so that the
 * differences between block means keep their digits whatever the offset. */
static void figures_fold(double *acc, const double *blk, size_t D)
{
    for (size_t j = 0; j < D; j++) {
        double *a = acc + j * ST_HMM_NFIG;
        const double *b = blk + j * ST_HMM_NFIG;
        a[4] = b[4] > a[4] ? b[4] : a[4];
        if (!(b[0] > 0))
            continue;
        if (!(a[0] > 0)) {
            memcpy(a, b, 4 * sizeof *a);
            continue;
        }
        double na = a[0], nb = b[0], n = na + nb, delta = (b[1] - a[1]) + (b[2] - a[2]);
        double t = a[2] + delta * (nb / n), hi = a[1] + t; /* Fast2Sum: |t| << |a[1]| or a[1] = 0 */
        double lo = fabs(a[1]) >= fabs(t) ? t - (hi - a[1]) : a[1] - (hi - t);
        a[1] = hi;
        a[2] = lo;
        a[3] += b[3] + delta * delta * (na * nb / n);
        a[0] = n;
    }
}

static void figures_start(double *acc, size_t D)
{
    for (size_t j = 0; j < D; j++) {
        double *a = acc + j * ST_HMM_NFIG;
        a[0] = a[1] = a[2] = a[3] = 0;
        a[4] = -INFINITY;
    }
}

static void figures_finish(const double *acc, size_t D, double *mean, double *var, double *max)
{
    for (size_t j = 0; j < D; j++) {
        const double *a = acc + j * ST_HMM_NFIG;
        mean[j] = a[1] + a[2];
        var[j] = a[0] > 1 && a[3] > 0 ? a[3] / a[0] : 1.0;
        if (max)
            max[j] = a[4];
    }
}

void st_hmm_figures_merge(const double *blocks, size_t nblk, size_t D, double *mean, double *var, double *max)
{
    double *acc = malloc((D ? D : 1) * ST_HMM_NFIG * sizeof *acc);
    if (!acc) { /* D doubles: only when memory is gone; never silently different bits */
        for (size_t j = 0; j < D; j++) {
            mean[j] = var[j] = NAN;
            if (max)
                max[j] = NAN;
        }
        return;
    }
    figures_start(acc, D);
    for (size_t b = 0; b < nblk; b++)
        figures_fold(acc, blocks + b * D * ST_HMM_NFIG, D);
    figures_finish(acc, D, mean, var, max);
    free(acc);
}

/* The local sequences [*s0, *s1) of d in global block b (B per block). */
static void block_seqs(const st_hmm_data *d, size_t b, size_t B, size_t *s0, size_t *s1)
{
    size_t lo = b * B, hi = lo + B, f = d->first, l = d->first + d->nseq;
    lo = lo < f ? f : lo > l ? l : lo;
    hi = hi < lo ? lo : hi > l ? l : hi;
    *s0 = lo - f;
    *s1 = hi - f;
}

void st_hmm_data_colfigs(const st_hmm_data *d, double *mean, double *v, double *max)
{
    size_t D = d->D;
    if (d->gmean) { /* the whole data's figures */
        memcpy(mean, d->gmean, D * sizeof *mean);
        memcpy(v, d->gvar, D * sizeof *v);
        if (max)
            memcpy(max, d->gmax, D * sizeof *max);
        return;
    }
    /* whole data: the blocks one after the other, as st_hmm_data_figures */
    double *acc = malloc((D ? D : 1) * 2 * ST_HMM_NFIG * sizeof *acc);
    if (!acc) {
        st_hmm_figures_merge(NULL, 0, D, mean, v, max); /* NaN: fails the caller's checks */
        return;
    }
    double *blk = acc + D * ST_HMM_NFIG;
    size_t B, nblk = st_hmm_blocks(d->nseq, &B);
    figures_start(acc, D);
    for (size_t b = 0; b < nblk; b++) {
        size_t s0, s1;
        block_seqs(d, b, B, &s0, &s1);
        st_hmm_block_figures(d, d->off[s0], d->off[s1], blk);
        figures_fold(acc, blk, D);
    }
    figures_finish(acc, D, mean, v, max);
    free(acc);
}

void st_hmm_data_colvar(const st_hmm_data *d, double *mean, double *v)
{
    st_hmm_data_colfigs(d, mean, v, NULL);
}

int st_hmm_data_figures(st_hmm_data *d, st_err *e)
{
    size_t D = d->D, unit = D * ST_HMM_NFIG, gn = d->gnseq ? d->gnseq : d->nseq;
    size_t B, nblk = st_hmm_blocks(gn, &B), blo, bhi;
    st_mpi_share(nblk, &blo, &bhi);
    double *g = malloc((D ? 3 * D : 1) * sizeof *g);
    double *part = malloc((nblk ? nblk : 1) * (unit ? unit : 1) * sizeof *part);
    int rc = g && part ? ST_OK : st_err_nomem(e, "column figures");
    if (rc == ST_OK && !d->gnseq) { /* the whole data here: no exchange */
        free(part);
        part = NULL;
        free(d->gmean);
        d->gmean = NULL;
        st_hmm_data_colfigs(d, g, g + D, g + 2 * D);
    } else if (rc == ST_OK) {
        for (size_t b = blo; b < bhi; b++) {
            size_t s0, s1;
            block_seqs(d, b, B, &s0, &s1);
            st_hmm_block_figures(d, d->off[s0], d->off[s1], part + b * unit);
        }
    }
    if (d->gnseq) { /* a share: every rank gets every block's figures */
        if ((rc = st_mpi_agree_error(rc, 0, e)) == ST_OK)
            rc = st_mpi_share_allgather(part, nblk, NULL, unit, e);
        if (rc == ST_OK)
            st_hmm_figures_merge(part, nblk, D, g, g + D, g + 2 * D);
    }
    free(part);
    if (rc < 0) {
        free(g);
        return rc;
    }
    free(d->gmean);
    d->gmean = g;
    d->gvar = g + D;
    d->gmax = g + 2 * D;
    return ST_OK;
}

/* ------------------------------------------------------ init sample */

size_t st_hmm_init_sample_cap(void)
{
    const char *s = getenv("ST_HMM_INIT_SAMPLE_ROWS");
    if (s && *s) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (*end == '\0' && v >= 1 && v <= SIZE_MAX)
            return (size_t)v;
    }
    return ST_HMM_INIT_SAMPLE_ROWS;
}

int st_hmm_init_sample(st_hmm_data **out, const st_hmm_data *d, st_err *e)
{
    *out = NULL;
    size_t D = d->D, cap = st_hmm_init_sample_cap(), gt = d->gnseq ? d->gtotal : d->total;
    if (!d->gnseq && gt <= cap)
        return ST_OK; /* the whole data, in order */
    size_t gn = d->gnseq ? d->gnseq : d->nseq, B, nblk = st_hmm_blocks(gn, &B), blo, bhi;
    size_t quota = gt <= cap ? SIZE_MAX : cap / (nblk ? nblk : 1);
    quota = quota ? quota : 1;
    st_mpi_share(nblk, &blo, &bhi);
    if (!d->gnseq) { /* one process: every block */
        blo = 0;
        bhi = nblk;
    }
    size_t mine = 0;
    for (size_t b = blo; b < bhi; b++) {
        size_t s0, s1;
        block_seqs(d, b, B, &s0, &s1);
        size_t r = d->off[s1] - d->off[s0];
        mine += r < quota ? r : quota;
    }
    double *x = malloc((mine ? mine : 1) * D * sizeof *x);
    st_hmm_data *s = calloc(1, sizeof *s);
    int rc = x && s ? ST_OK : st_err_nomem(e, "the init sample");
    if (rc == ST_OK) {
        size_t at = 0;
        for (size_t b = blo; b < bhi; b++) {
            size_t s0, s1;
            block_seqs(d, b, B, &s0, &s1);
            size_t r = d->off[s1] - d->off[s0];
            r = r < quota ? r : quota;
            memcpy(x + at * D, d->x + d->off[s0] * D, r * D * sizeof *x);
            at += r;
        }
    }
    size_t n = mine;
    if (d->gnseq) { /* every rank's blocks, in rank (= block) order */
        double *all = NULL;
        size_t tot = 0;
        if ((rc = st_mpi_agree_error(rc, 0, e)) == ST_OK)
            rc = st_mpi_allgather(x, mine * D, &all, &tot, e);
        free(x);
        x = all;
        n = D ? tot / D : 0;
    }
    if (rc == ST_OK) {
        s->nseq = 1;
        s->total = n;
        s->D = D;
        s->x = x;
        x = NULL;
        s->off = calloc(2, sizeof *s->off);
        s->seqid = calloc(1, sizeof *s->seqid);
        s->gmean = malloc((D ? 3 * D : 1) * sizeof *s->gmean);
        if (!s->off || !s->seqid || !s->gmean)
            rc = st_err_nomem(e, "the init sample");
    }
    free(x);
    if (d->gnseq)
        rc = st_mpi_agree_error(rc, 0, e);
    if (rc < 0) {
        st_hmm_data_free(s);
        return rc;
    }
    s->off[1] = n;
    s->gvar = s->gmean + D;
    s->gmax = s->gmean + 2 * D;
    st_hmm_data_colfigs(d, s->gmean, s->gvar, s->gmax); /* the whole data's figures */
    *out = s;
    return ST_OK;
}

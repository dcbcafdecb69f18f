/* mjp data: subjects of (time, state or symbol, obstype) from a stream
 * table, checked against the model. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/mpi.h"
#include "core/stream.h"
#include "mjp/internal.h"

void st_mjp_data_free(st_mjp_data *d)
{
    if (!d)
        return;
    free(d->seq);
    free(d->start);
    free(d->t);
    free(d->y);
    free(d->obstype);
    free(d->censor);
    free(d->grp);
    free(d->Z);
    free(d->pat);
    free(d->zmean);
    free(d);
}

size_t st_mjp_block_groups(size_t ngroups, size_t nrows)
{
    if (ngroups == 0)
        return 1;
    /* intervals per group, then groups for about 2,048 intervals */
    double ipg = nrows > ngroups ? (double)(nrows - ngroups) / (double)ngroups : 1.0;
    double b = ceil(2048.0 / ipg);
    size_t bg = b < (double)ngroups ? (size_t)b : ngroups;
    size_t cap = (ngroups + 255) / 256; /* at most 256 blocks */
    if (bg < cap)
        bg = cap;
    return bg ? bg : 1;
}

size_t st_mjp_nblocks(const st_mjp_data *d)
{
    return (d->ngroups + d->bgroups - 1) / d->bgroups;
}

int mjp_share_blocks(const st_mjp_data *d, mjp_blocks *b, st_err *e)
{
    b->nb = st_mjp_nblocks(d);
    st_mpi_share(b->nb, &b->lo, &b->hi);
    b->start = malloc((b->hi - b->lo + 1) * sizeof *b->start);
    if (!b->start)
        return st_err_nomem(e, "subject blocks");
    size_t s = 0;
    for (size_t bi = b->lo; bi <= b->hi; bi++) {
        size_t g0 = bi * d->bgroups; /* first group of block bi */
        while (s < d->nsubj && d->grp[s] < g0)
            s++;
        b->start[bi - b->lo] = s;
    }
    return 0;
}

/* reach[i*K+j]: j reachable from i (i itself included) through allowed jumps. */
static void reachability(const st_mjp *m, unsigned char *reach)
{
    size_t K = m->K;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            reach[i * K + j] = i == j || m->allowed[i * K + j];
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < K; i++)
            if (reach[i * K + k])
                for (size_t j = 0; j < K; j++)
                    if (reach[k * K + j])
                        reach[i * K + j] = 1;
}

/* The set of states (member mask) an observation value y may be in. */
static void obs_members(const st_mjp_data *d, int y, unsigned char *mem)
{
    memset(mem, 0, d->K);
    if (y >= 0)
        mem[y] = 1;
    else
        memcpy(mem, d->censor[-y - 1].member, d->K);
}

/* Covariate values of table row r into z (the model's covariates but the
 * time periods); cz[c] the column of covariate c. */
static int row_covariates(const st_table *tab, size_t r, const st_mjp *m, const int *cz, double *z,
                          const char *sid, long row, st_err *e)
{
    for (size_t c = 0; c + m->ncut < m->C; c++) {
        double v = st_table_get(tab, r, (size_t)cz[c]);
        if (!isfinite(v))
            return st_err_set(e, ST_EDATA, tab->source, 0, 0, "subject %s, row %ld: covariate '%s' is %s", sid,
                              row, m->cnames[c], isnan(v) ? "missing" : "not finite");
        z[c] = v;
    }
    return 0;
}

/* Build d from tab (groups group0.. of the whole data, first row row0);
 * share: tab is one rank's share (no "no rows / no subject" checks here).
 * *key gets the 0-based whole-data row of an error.  Covariate vectors
 * of the observations go to *zobs (nobs x C) for the pattern step. */
static int build(st_mjp_data **out, double **zobs, const st_table *tab, const st_mjp *m,
                 const st_mjp_data_opts *o, size_t group0, size_t row0, int share, size_t *key, st_err *e)
{
    int mode = o->mode, base = o->base, deathexact = o->deathexact;
    const st_mjp_censor *censor = o->censor;
    size_t ncensor = o->ncensor;
    *out = NULL;
    *zobs = NULL;
    *key = 0;
    const char *src = tab->source;
    int cseq = st_table_col(tab, "seq"), ct = st_table_col(tab, "t");
    int cobs = mode == ST_MJP_HIDDEN ? st_table_col(tab, "obs") : -1;
    int cst = cobs >= 0 ? cobs : st_table_col(tab, "state");
    int cot = st_table_col(tab, "obstype");
    size_t C = m->C, ncut = m->ncut;
    int cz[ST_MJP_MAX_COVS];
    if (ct < 0)
        return st_err_set(e, ST_EDATA, src, 0, 0, "no column 't' (time)");
    if (cst < 0)
        return st_err_set(e, ST_EDATA, src, 0, 0, "no column 'state'%s",
                          mode == ST_MJP_HIDDEN ? " (or 'obs')" : "");
    for (size_t c = 0; c + ncut < C; c++)
        if ((cz[c] = st_table_col(tab, m->cnames[c])) < 0)
            return st_err_set(e, ST_EDATA, src, 0, 0, "no column '%s' (a covariate)", m->cnames[c]);
    /* text is fine in seq (ids), in the state column (labels) and in
     * columns not used; times and covariates must be numbers */
    int rcn = st_table_need_numeric(tab, (size_t)ct, e);
    for (size_t c = 0; rcn == 0 && c + ncut < C; c++)
        rcn = st_table_need_numeric(tab, (size_t)cz[c], e);
    if (rcn == 0 && cot >= 0)
        rcn = st_table_need_numeric(tab, (size_t)cot, e);
    if (rcn < 0)
        return rcn;
    int labelled = tab->dtypes[cst] == ST_STR;
    if (labelled && !(mode != ST_MJP_HIDDEN ? m->labels : NULL))
        return st_err_set(e, ST_EDATA, src, 0, 0, "column '%s' holds text: state labels need a model with labels",
                          tab->names[cst]);
    if (!labelled && tab->dtypes[cst] != ST_F8 && tab->dtypes[cst] != ST_F4 && tab->dtypes[cst] != ST_I8 &&
        tab->dtypes[cst] != ST_I4)
        return st_table_need_numeric(tab, (size_t)cst, e);
    if (mode == ST_MJP_HIDDEN && !m->E)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "hidden data need an emission matrix (--emission)");
    if (tab->nrows == 0 && !share)
        return st_err_set(e, ST_EDATA, src, 0, 0, "no data rows");
    st_group *g = NULL;
    size_t ng = 0;
    int rc = st_table_groups(tab, cseq, &g, &ng, e);
    if (rc < 0)
        return rc;
    size_t K = m->K;
    /* rows, plus the observations added at the cut points */
    size_t cap = tab->nrows + ng * ncut;
    st_mjp_data *d = calloc(1, sizeof *d);
    unsigned char *reach = malloc(K * K);
    double *z = NULL;
    if (!d || !reach) {
        free(g);
        free(reach);
        free(d);
        return st_err_nomem(e, "data");
    }
    d->mode = mode;
    d->K = K;
    d->M = mode == ST_MJP_HIDDEN ? m->M : 0;
    d->C = C;
    d->seq = malloc((ng ? ng : 1) * sizeof *d->seq);
    d->start = malloc((ng + 1) * sizeof *d->start);
    d->t = malloc((cap ? cap : 1) * sizeof *d->t);
    d->y = malloc((cap ? cap : 1) * sizeof *d->y);
    d->obstype = malloc(cap ? cap : 1);
    d->grp = malloc((ng ? ng : 1) * sizeof *d->grp);
    z = malloc((cap ? cap : 1) * (C ? C : 1) * sizeof *z);
    /* censor codes, and "any state" for the observations at cut points */
    size_t nc = ncensor + (ncut ? 1 : 0);
    if (nc) {
        d->censor = calloc(nc, sizeof *d->censor);
        if (d->censor) {
            if (ncensor)
                memcpy(d->censor, censor, ncensor * sizeof *censor);
            if (ncut) {
                d->censor[ncensor].code = NAN;
                memset(d->censor[ncensor].member, 1, K);
            }
        }
        d->ncensor = nc;
    }
    if (!d->seq || !d->start || !d->t || !d->y || !d->obstype || !d->grp || !z || (nc && !d->censor)) {
        rc = st_err_nomem(e, "data");
        goto fail;
    }
    reachability(m, reach);
    size_t n = 0, ns = 0;
    unsigned char ma[ST_MJP_MAX_STATES], mb[ST_MJP_MAX_STATES];
    for (size_t s = 0; s < ng; s++) {
        size_t first = n;
        double sid = g[s].seq;
        char sbuf[ST_CELL_BUFSZ], vbuf[ST_CELL_BUFSZ];
        const char *sidt = cseq >= 0 ? st_table_cell(tab, (size_t)cseq, sid, sbuf) : "0";
        size_t nextcut = 0;
        for (size_t r = g[s].start; r < g[s].start + g[s].n; r++) {
            long row = (long)(row0 + r) + 1;
            *key = row0 + r;
            double t = st_table_get(tab, r, (size_t)ct);
            double v = st_table_get(tab, r, (size_t)cst);
            double ot = cot >= 0 ? st_table_get(tab, r, (size_t)cot) : 1;
            if (!isfinite(t)) {
                rc = st_err_set(e, ST_EDATA, src, 0, 0, "subject %s, row %ld: time is missing", sidt, row);
                goto fail;
            }
            if (n > first && t < d->t[n - 1]) {
                rc = st_err_set(e, ST_EDATA, src, 0, 0,
                                "subject %s, row %ld: time %g is before the previous time %g", sidt,
                                row, t, d->t[n - 1]);
                goto fail;
            }
            if (ot != 1 && ot != 2 && ot != 3) {
                rc = st_err_set(e, ST_EDATA, src, 0, 0,
                                "subject %s, row %ld: obstype %g is not 1, 2 or 3", sidt, row, ot);
                goto fail;
            }
            if (mode != ST_MJP_PANEL && ot != 1) {
                rc = st_err_set(e, ST_EDATA, src, 0, 0,
                                "subject %s, row %ld: obstype %g applies to panel data (--panel)", sidt,
                                row, ot);
                goto fail;
            }
            int y = 0, censored = 0;
            if (!isfinite(v)) {
                rc = st_err_set(e, ST_EDATA, src, 0, 0, "subject %s, row %ld: %s is missing", sidt,
                                row, mode == ST_MJP_HIDDEN ? "observation" : "state");
                goto fail;
            }
            const char *lab = labelled ? st_table_str(tab, (size_t)cst, v) : NULL;
            double cv = v; /* a label that reads as a number can be a censor code */
            if (labelled && st_parse_double(lab, &cv) < 0)
                cv = NAN;
            for (size_t c = 0; c < ncensor && mode != ST_MJP_HIDDEN; c++)
                if (!censored && cv == censor[c].code) {
                    y = -(int)c - 1;
                    censored = 1;
                }
            if (!censored && labelled) {
                y = -1;
                for (size_t k = 0; k < K && y < 0; k++)
                    if (strcmp(m->labels[k], lab) == 0)
                        y = (int)k;
                if (y < 0) {
                    rc = st_err_set(e, ST_EDATA, src, 0, 0, "subject %s, row %ld: state '%s' is not a label of the model",
                                    sidt, row, lab);
                    goto fail;
                }
            } else if (!censored) {
                double lim = mode == ST_MJP_HIDDEN ? (double)m->M : (double)K;
                double idx = v - base;
                if (idx != floor(idx) || idx < 0 || idx >= lim) {
                    rc = st_err_set(e, ST_EDATA, src, 0, 0,
                                    "subject %s, row %ld: %s %g is outside the model (%d to %d)",
                                    sidt, row, mode == ST_MJP_HIDDEN ? "observed symbol" : "state", v,
                                    base, base + (int)lim - 1);
                    goto fail;
                }
                y = (int)idx;
            } else if (mode == ST_MJP_EXACT || ot != 1) {
                rc = st_err_set(e, ST_EDATA, src, 0, 0,
                                "subject %s, row %ld: a censored state needs a panel snapshot", sidt, row);
                goto fail;
            }
            if (deathexact >= 0 && y == deathexact && mode == ST_MJP_PANEL)
                ot = ST_MJP_OBS_DEATH; /* msm's deathexact: the entry time is exact, the state before unknown */
            double *zr = z + n * C;
            if ((rc = row_covariates(tab, r, m, cz, zr, sidt, row, e)) < 0)
                goto fail;
            /* observations at the cut points strictly inside the previous
             * interval: state unknown (known and held when the interval
             * ends in an exact transition time, or for exact paths),
             * covariates carried from the previous row */
            while (nextcut < ncut && n > first && m->tcut[nextcut] <= d->t[n - 1])
                nextcut++;
            while (nextcut < ncut && n == first && m->tcut[nextcut] <= t)
                nextcut++;
            while (nextcut < ncut && m->tcut[nextcut] < t) {
                double c = m->tcut[nextcut++];
                int held = mode == ST_MJP_EXACT || ot == 2;
                memmove(zr + C, zr, C * sizeof *zr);
                memcpy(zr, zr - C, (C - ncut) * sizeof *zr);
                st_mjp_period_at(m, c, zr);
                d->t[n] = c;
                d->y[n] = held ? d->y[n - 1] : -(int)ncensor - 1;
                d->obstype[n] = held && mode != ST_MJP_EXACT ? ST_MJP_OBS_EXACT : ST_MJP_OBS_SNAPSHOT;
                d->ninserted++;
                n++;
                zr += C;
            }
            st_mjp_period_at(m, t, zr);
            d->t[n] = t;
            d->y[n] = y;
            d->obstype[n] = (unsigned char)ot;
            if (n > first && mode != ST_MJP_HIDDEN) {
                int yp = d->y[n - 1];
                double dt = t - d->t[n - 1];
                obs_members(d, yp, ma);
                obs_members(d, y, mb);
                int possible = 0, same = 0;
                for (size_t a = 0; a < K; a++)
                    for (size_t b = 0; b < K; b++)
                        if (ma[a] && mb[b]) {
                            if (a == b)
                                same = 1;
                            if (ot == 3 ? reach[a * K + b] : ot == 2 || mode == ST_MJP_EXACT
                                                                 ? (a == b || m->allowed[a * K + b])
                                                                 : reach[a * K + b])
                                possible = 1;
                        }
                if (dt == 0 && !same) {
                    rc = st_err_set(e, ST_EDATA, src, 0, 0,
                                    "subject %s, row %ld: state changes from %d to %d in a zero-length interval",
                                    sidt, row, yp + base, y + base);
                    goto fail;
                }
                if (ot == 3 && (y < 0 || !st_mjp_absorbing(m, (size_t)y))) {
                    rc = st_err_set(e, ST_EDATA, src, 0, 0,
                                    "subject %s, row %ld: obstype 3 needs an absorbing state, not %s", sidt, row,
                                    st_table_cell(tab, (size_t)cst, v, vbuf));
                    goto fail;
                }
                if (!possible) {
                    rc = st_err_set(e, ST_EDATA, src, 0, 0,
                                    "subject %s, row %ld: transition %d-%d is %s the allowed transitions",
                                    sidt, row, yp + base, y + base,
                                    (mode == ST_MJP_EXACT || ot == 2) ? "not among" : "impossible under");
                    goto fail;
                }
            }
            n++;
        }
        if (n - first < 2) {
            /* one observation: no information on the rates */
            if (!d->nskipped)
                d->first_skipped = sid;
            d->nskipped++;
            n = first;
            continue;
        }
        d->seq[ns] = sid;
        d->start[ns] = first;
        d->grp[ns] = group0 + s;
        ns++;
    }
    d->start[ns] = n;
    d->nsubj = d->nsubj_all = ns;
    d->nobs = d->nobs_all = n;
    d->nskipped_all = d->nskipped;
    d->ngroups = ng;
    d->bgroups = st_mjp_block_groups(ng, tab->nrows);
    free(g);
    free(reach);
    if (ns == 0 && !share) {
        rc = st_err_set(e, ST_EDATA, src, 0, 0, "no subject has two or more observations");
        free(z);
        st_mjp_data_free(d);
        return rc;
    }
    *zobs = z;
    *out = d;
    return 0;
fail:
    free(g);
    free(reach);
    free(z);
    st_mjp_data_free(d);
    return rc;
}

static int cmp_rows_C;
static int cmp_rows(const void *a, const void *b)
{
    const double *x = a, *y = b;
    for (int c = 0; c < cmp_rows_C; c++)
        if (x[c] != y[c])
            return x[c] < y[c] ? -1 : 1;
    return 0;
}

static size_t find_row(const double *Z, size_t n, size_t C, const double *z)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = 0;
        for (size_t j = 0; j < C && !c; j++)
            if (Z[mid * C + j] != z[j])
                c = Z[mid * C + j] < z[j] ? -1 : 1;
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* Sort the rows of v (n x C) and keep the distinct ones; returns their count. */
static size_t unique_rows(double *v, size_t n, size_t C)
{
    cmp_rows_C = (int)C;
    qsort(v, n, C * sizeof *v, cmp_rows);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || memcmp(v + (m - 1) * C, v + i * C, C * sizeof *v) != 0) {
            if (m != i)
                memmove(v + m * C, v + i * C, C * sizeof *v);
            m++;
        }
    return m;
}

/* Patterns (collective under MPI): the distinct covariate vectors of the
 * whole data (each rank's distinct rows gathered, merged), every
 * observation's pattern, and the mean over the intervals' start rows,
 * summed per subject block and folded in block order. */
static int patterns(st_mjp_data *d, double *zobs, st_err *e)
{
    size_t C = d->C, n = d->nobs;
    d->pat = calloc(n ? n : 1, sizeof *d->pat);
    d->zmean = calloc(C ? C : 1, sizeof *d->zmean);
    if (!d->pat || !d->zmean)
        return st_err_nomem(e, "covariate patterns");
    if (C == 0) {
        d->npat = 1;
        d->Z = malloc(sizeof *d->Z);
        return d->Z ? 0 : st_err_nomem(e, "covariate patterns");
    }
    double *mine = malloc((n ? n : 1) * C * sizeof *mine), *all = NULL;
    if (!mine)
        return st_err_nomem(e, "covariate patterns");
    memcpy(mine, zobs, n * C * sizeof *mine);
    size_t nm = unique_rows(mine, n, C), total = 0;
    int rc = st_mpi_allgather(mine, nm * C, &all, &total, e);
    free(mine);
    if (rc < 0)
        return rc;
    d->npat = unique_rows(all, total / C, C);
    d->Z = all;
    for (size_t k = 0; k < n; k++)
        d->pat[k] = find_row(d->Z, d->npat, C, zobs + k * C);
    /* mean over the intervals' start rows */
    mjp_blocks bl;
    if ((rc = mjp_share_blocks(d, &bl, e)) < 0)
        return rc;
    size_t len = C + 1;
    double *part = calloc((bl.nb ? bl.nb : 1) * len, sizeof *part), *acc = calloc(len, sizeof *acc);
    if (!part || !acc) {
        free(part);
        free(acc);
        free(bl.start);
        return st_err_nomem(e, "covariate means");
    }
    for (size_t bi = bl.lo; bi < bl.hi; bi++) {
        double *p = part + bi * len;
        for (size_t s = bl.start[bi - bl.lo]; s < bl.start[bi - bl.lo + 1]; s++)
            for (size_t k = d->start[s]; k + 1 < d->start[s + 1]; k++) {
                for (size_t c = 0; c < C; c++)
                    p[c] += zobs[k * C + c];
                p[C] += 1;
            }
    }
    free(bl.start);
    rc = st_mpi_fold_blocks(part, bl.nb, len, acc, e);
    if (rc == 0)
        for (size_t c = 0; c < C; c++)
            d->zmean[c] = acc[C] > 0 ? acc[c] / acc[C] : 0;
    free(part);
    free(acc);
    return rc;
}

int st_mjp_data_from_table(st_mjp_data **out, const st_table *tab, const st_mjp *m, int mode, int base,
                           const st_mjp_censor *censor, size_t ncensor, st_err *e)
{
    st_mjp_data_opts o = {mode, base, censor, ncensor, -1};
    return st_mjp_data_from_table_opts(out, tab, m, &o, e);
}

int st_mjp_data_from_table_opts(st_mjp_data **out, const st_table *tab, const st_mjp *m, const st_mjp_data_opts *o,
                                st_err *e)
{
    size_t key;
    double *z;
    int rc = build(out, &z, tab, m, o, 0, 0, 0, &key, e);
    if (rc == 0 && (rc = patterns(*out, z, e)) < 0) {
        st_mjp_data_free(*out);
        *out = NULL;
    }
    free(z);
    return rc;
}

int st_mjp_data_from_share(st_mjp_data **out, const st_table *tab, const st_mjp *m, int mode, int base,
                           const st_mjp_censor *censor, size_t ncensor, size_t ngroups, size_t nrows,
                           size_t group0, size_t row0, st_err *e)
{
    st_mjp_data_opts o = {mode, base, censor, ncensor, -1};
    return st_mjp_data_from_share_opts(out, tab, m, &o, ngroups, nrows, group0, row0, e);
}

int st_mjp_data_from_share_opts(st_mjp_data **out, const st_table *tab, const st_mjp *m, const st_mjp_data_opts *o,
                                size_t ngroups, size_t nrows, size_t group0, size_t row0, st_err *e)
{
    *out = NULL;
    if (nrows == 0)
        return st_err_set(e, ST_EDATA, tab->source, 0, 0, "no data rows");
    st_mjp_data *d = NULL;
    size_t key = 0;
    double *z = NULL;
    int rc = build(&d, &z, tab, m, o, group0, row0, 1, &key, e);
    rc = st_mpi_agree_error(rc, key, e);
    if (rc < 0) {
        free(z);
        st_mjp_data_free(d);
        return rc;
    }
    d->ngroups = ngroups;
    d->bgroups = st_mjp_block_groups(ngroups, nrows);
    /* whole-data counts: subjects, observations, skipped, first skipped,
     * observations added at cut points */
    double mine[5] = {(double)d->nsubj, (double)d->nobs, (double)d->nskipped,
                      d->nskipped ? d->first_skipped : 0, (double)d->ninserted};
    double *all = NULL;
    size_t total = 0;
    if ((rc = st_mpi_allgather(mine, 5, &all, &total, e)) < 0) {
        free(z);
        st_mjp_data_free(d);
        return rc;
    }
    d->nsubj_all = d->nobs_all = d->nskipped_all = d->ninserted = 0;
    int have_first = 0;
    for (size_t i = 0; i + 5 <= total; i += 5) {
        d->nsubj_all += (size_t)all[i];
        d->nobs_all += (size_t)all[i + 1];
        d->nskipped_all += (size_t)all[i + 2];
        d->ninserted += (size_t)all[i + 4];
        if (!have_first && all[i + 2] > 0) {
            d->first_skipped = all[i + 3];
            have_first = 1;
        }
    }
    free(all);
    rc = patterns(d, z, e);
    free(z);
    if (rc < 0) {
        st_mjp_data_free(d);
        return rc;
    }
    if (d->nsubj_all == 0) {
        st_mjp_data_free(d);
        return st_err_set(e, ST_EDATA, tab->source, 0, 0, "no subject has two or more observations");
    }
    *out = d;
    return 0;
}

int st_mjp_init_rates(st_mjp *m, const st_mjp_data *d, st_err *e)
{
    if (m->P)
        return 0;
    size_t K = m->K, len = K * K + K + 1;
    /* observed transitions and time per subject block, added in block
     * order (st_mpi_fold_blocks), so that ranks holding shares of the
     * subjects start from the same rates as one process */
    mjp_blocks bl;
    int rc = mjp_share_blocks(d, &bl, e);
    if (rc < 0)
        return rc;
    double *part = calloc((bl.nb ? bl.nb : 1) * len, sizeof *part), *acc = calloc(len, sizeof *acc);
    if (!part || !acc) {
        free(part);
        free(acc);
        free(bl.start);
        return st_err_nomem(e, "initial rates");
    }
    for (size_t bi = bl.lo; bi < bl.hi; bi++) {
        double *Nb = part + bi * len, *Tb = Nb + K * K;
        for (size_t s = bl.start[bi - bl.lo]; s < bl.start[bi - bl.lo + 1]; s++)
            for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++) {
                int a, b;
                if (d->mode == ST_MJP_HIDDEN) {
                    a = d->y[k - 1] < (int)K ? d->y[k - 1] : -1;
                    b = d->y[k] < (int)K ? d->y[k] : -1;
                } else {
                    a = d->y[k - 1];
                    b = d->y[k];
                }
                if (a < 0)
                    continue;
                double dt = d->t[k] - d->t[k - 1];
                Tb[a] += dt;
                Tb[K] += dt;
                if (b >= 0 && b != a)
                    Nb[(size_t)a * K + (size_t)b] += 1;
            }
    }
    free(bl.start);
    rc = st_mpi_fold_blocks(part, bl.nb, len, acc, e);
    free(part);
    if (rc < 0) {
        free(acc);
        return rc;
    }
    double *N = acc, *T = acc + K * K, tot = acc[K * K + K];
    double base = 0;
    size_t nall = 0;
    for (size_t a = 0; a < K; a++)
        for (size_t b = 0; b < K; b++)
            if (m->allowed[a * K + b]) {
                nall++;
                if (T[a] > 0)
                    base += N[a * K + b] / T[a];
            }
    base = nall && base > 0 ? base / (double)nall : (tot > 0 ? 1.0 / tot : 1.0);
    for (size_t a = 0; a < K; a++) {
        double sum = 0;
        for (size_t b = 0; b < K; b++) {
            size_t ab = a * K + b;
            if (a == b)
                continue;
            if (m->allowed[ab] && !m->fixed[ab]) {
                double q = T[a] > 0 ? N[ab] / T[a] : 0;
                m->Q[ab] = q > 0 ? q : 0.1 * base;
            } else if (!m->allowed[ab]) {
                m->Q[ab] = 0;
            }
            sum += m->Q[ab];
        }
        m->Q[a * K + a] = 0.0 - sum; /* +0, not -0, for absorbing states */
    }
    free(acc);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int st_mjp_table_states(const st_table *tab, int mode, const st_mjp_censor *censor, size_t ncensor, double *lo,
                        double *hi, char ***labels, size_t *nlabels, st_err *e)
{
    int cobs = mode == ST_MJP_HIDDEN ? st_table_col(tab, "obs") : -1;
    int col = cobs >= 0 ? cobs : st_table_col(tab, "state");
    *lo = INFINITY, *hi = -INFINITY;
    *labels = NULL, *nlabels = 0;
    if (col < 0)
        return 0; /* st_mjp_data_from_table says what is missing */
    if (tab->dtypes[col] != ST_STR) {
        for (size_t i = 0; i < tab->nrows; i++) {
            double v = st_table_get(tab, i, (size_t)col);
            int cens = 0;
            for (size_t c = 0; c < ncensor && !cens; c++)
                cens = v == censor[c].code;
            if (!cens && isfinite(v))
                *lo = fmin(*lo, v), *hi = fmax(*hi, v);
        }
        return 0;
    }
    /* labels: the distinct texts (not censor codes), sorted */
    const st_strdict *dict = tab->dicts[col];
    size_t n = st_strdict_size(dict), k = 0;
    char **l = calloc(n ? n : 1, sizeof *l);
    unsigned char *used = calloc(n ? n : 1, 1);
    if (!l || !used) {
        free(l);
        free(used);
        return st_err_nomem(e, "labels");
    }
    for (size_t i = 0; i < tab->nrows; i++) {
        double v = st_table_get(tab, i, (size_t)col);
        if (isfinite(v) && v >= 0 && v < (double)n)
            used[(size_t)v] = 1;
    }
    for (size_t c = 0; c < n; c++) {
        const char *s = st_strdict_str(dict, (double)c);
        double x;
        int cens = 0;
        if (!used[c] || !s)
            continue;
        if (st_parse_double(s, &x) == 0)
            for (size_t j = 0; j < ncensor && !cens; j++)
                cens = x == censor[j].code;
        if (!cens)
            l[k++] = (char *)s;
    }
    free(used);
    /* text and numbers mixed ("1", "2", "0x"): a damaged number column,
     * not labels */
    size_t nnum = 0, first_text = k;
    for (size_t i = 0; i < k; i++) {
        double x;
        if (st_parse_double(l[i], &x) == 0)
            nnum++;
        else if (first_text == k)
            first_text = i;
    }
    if (nnum && first_text < k) {
        int rc = st_err_set(e, ST_EDATA, tab->source, 0, 0,
                            "column '%s' mixes state numbers and text ('%s'): labels must all be text",
                            tab->names[col], l[first_text]);
        free(l);
        return rc;
    }
    qsort(l, k, sizeof *l, cmp_str);
    for (size_t i = 0; i < k; i++)
        if (!(l[i] = strdup(l[i]))) {
            for (size_t j = 0; j < i; j++)
                free(l[j]);
            free(l);
            return st_err_nomem(e, "labels");
        }
    *labels = l;
    *nlabels = k;
    return 0;
}

int st_mjp_check_observed(const st_mjp *m, const st_mjp_data *d, int mask_given, int base, st_err *e)
{
    size_t K = m->K;
    if (d->mode == ST_MJP_HIDDEN)
        return 0; /* true states are not observed, by design */
    double seen[ST_MJP_MAX_STATES] = {0}, *all = NULL;
    unsigned char mem[ST_MJP_MAX_STATES];
    for (size_t k = 0; k < d->nobs; k++) {
        if (d->y[k] < 0 && d->censor[-d->y[k] - 1].code != d->censor[-d->y[k] - 1].code)
            continue; /* added at a time cut: any state */
        obs_members(d, d->y[k], mem);
        for (size_t s = 0; s < K; s++)
            if (mem[s])
                seen[s] = 1;
    }
    size_t total = 0;
    int rc = st_mpi_allgather(seen, K, &all, &total, e);
    if (rc < 0)
        return rc;
    for (size_t i = K; i + K <= total; i += K)
        for (size_t s = 0; s < K; s++)
            seen[s] = fmax(seen[s], all[i + s]);
    free(all);
    unsigned char *reach = malloc(K * K);
    if (!reach)
        return st_err_nomem(e, "states");
    reachability(m, reach);
    for (size_t s = 0; s < K && rc == 0; s++) {
        if (seen[s])
            continue;
        int from = 0;
        for (size_t a = 0; a < K; a++)
            from |= seen[a] && a != s && reach[a * K + s];
        char name[64];
        if (m->labels)
            snprintf(name, sizeof name, "'%s'", m->labels[s]);
        else
            snprintf(name, sizeof name, "%zu", s + (size_t)base);
        if (!from)
            rc = st_err_set(e, ST_EDATA, NULL, 0, 0,
                            "state %s never appears in the data and no observed state can reach it: "
                            "its rates cannot be estimated%s",
                            name, s == 0 && base == 0 ? " (states numbered from 1? --base 1)" : "");
        else if (!mask_given)
            rc = st_err_set(e, ST_EDATA, NULL, 0, 0,
                            "state %s never appears in the data and every transition is allowed: nothing "
                            "identifies its rates%s; give the transitions (--allowed or -m) if it is a state "
                            "the data never show",
                            name, s == 0 && base == 0 ? " (states numbered from 1? --base 1)" : "");
    }
    free(reach);
    return rc;
}

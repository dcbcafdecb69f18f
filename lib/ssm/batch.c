/* Batches of series for ssm-forecast (see batch.h). */
#include "config.h"

#include "ssm/batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mpi.h"

void st_ssmf_job_free(st_ssmf_job *j)
{
    free(j->y);
    free(j->x);
    free(j->t);
    free(j->xf);
    st_ssmf_result_free(&j->res);
    memset(j, 0, sizeof *j);
}

int st_ssmf_cols_check(const st_ssmf_cols *c, const st_reader *rd, st_err *e)
{
    const char *path = st_display_name(st_reader_path(rd));
    for (size_t k = 0; k < c->p + c->nreg; k++) {
        size_t j = (size_t)(k < c->p ? c->y[k] : c->x[k - c->p]);
        if (!st_dtype_is_numeric(st_reader_dtype(rd, j)))
            return st_err_set(e, ST_EDATA, path, 0, 0, "column '%s' holds %s, not numbers", st_reader_name(rd, j), st_reader_dtype(rd, j) == ST_STR ? "text" : "times");
    }
    if (c->t >= 0 && st_reader_dtype(rd, (size_t)c->t) == ST_STR)
        return st_err_set(e, ST_EDATA, path, 0, 0, "time column '%s' holds text, not numbers or dates", st_reader_name(rd, (size_t)c->t));
    return 0;
}

int st_ssmf_cols_find(st_ssmf_cols *c, const st_reader *rd, const char *values, size_t p,
                      const char *time, int time_required, const char *regressors,
                      const char *seqname, int seq_required, st_err *e)
{
    memset(c, 0, sizeof *c);
    const char *path = st_display_name(st_reader_path(rd));
    c->t = st_reader_col(rd, time);
    c->seq = st_reader_col(rd, seqname);
    if (seq_required && c->seq < 0)
        return st_err_set(e, ST_EDATA, path, 0, 0, "no seq column '%s'", seqname);
    if (!strchr(values, ',') && st_reader_col(rd, values) < 0)
        return st_err_set(e, ST_EDATA, path, 0, 0, "no value column '%s' (use -c NAME)", values);
    int rc = st_reader_select(rd, values, &c->y, &c->p, e);
    if (rc < 0)
        return rc;
    if (c->p != p)
        return st_err_set(e, ST_EDATA, path, 0, 0, "the model observes %zu variable%s but -c names %zu column%s", p, p == 1 ? "" : "s", c->p, c->p == 1 ? "" : "s");
    if (time_required && c->t < 0)
        return st_err_set(e, ST_EDATA, path, 0, 0, "no time column '%s'", time);
    if (regressors && (rc = st_reader_select(rd, regressors, &c->x, &c->nreg, e)) < 0)
        return rc;
    c->tdtype = c->t >= 0 ? st_reader_dtype(rd, (size_t)c->t) : ST_F8;
    return st_ssmf_cols_check(c, rd, e);
}

void st_ssmf_cols_free(st_ssmf_cols *c)
{
    free(c->y);
    free(c->x);
    memset(c, 0, sizeof *c);
}

static int cmp_group(const void *a, const void *b)
{
    double x = ((const st_group *)a)->seq, y = ((const st_group *)b)->seq;
    return (x > y) - (x < y);
}

int st_ssmf_future_load(st_ssmf_future *f, const char *path, const st_reader *rd, const int *xcol,
                        size_t nx, st_err *e)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    /* the future values keep their names (seq, the -x columns): the role
     * options name columns of the data (ssm-forecast looks them up) */
    const st_reader_opts keep = {.keep_names = 1};
    int rc = st_table_read_opts(&f->tab, &path, 1, &keep, e);
    if (rc < 0)
        return rc;
    if (!(f->xcol = malloc((nx ? nx : 1) * sizeof(int))))
        return st_err_nomem(e, "future index");
    for (size_t i = 0; i < nx; i++) {
        const char *name = st_reader_name(rd, (size_t)xcol[i]);
        if ((f->xcol[i] = st_table_col(f->tab, name)) < 0)
            return st_err_set(e, ST_EDATA, path, 0, 0, "future file has no column '%s'", name);
    }
    if ((rc = st_table_groups(f->tab, st_table_col(f->tab, "seq"), &f->groups, &f->ngroups, e)) < 0)
        return rc;
    qsort(f->groups, f->ngroups, sizeof *f->groups, cmp_group);
    return 0;
}

void st_ssmf_future_free(st_ssmf_future *f)
{
    st_table_free(f->tab);
    free(f->groups);
    free(f->xcol);
    memset(f, 0, sizeof *f);
}

/* The job's series on the grid of its time axis. */
static int regularize_job(st_ssmf_job *j, const st_ssmf_cols *c, st_freq freq, st_err *e)
{
    st_err je;
    if (st_ssm_calendar_infer(c->tdtype, j->t, j->n, freq, &j->cal, &je) < 0 ||
        (j->cal.freq != ST_FREQ_NONE && c->nreg && j->n > 0 &&
         st_err_set(&je, ST_EDATA, NULL, 0, 0, "regressors (-x) need plain numeric times, not a calendar") < 0)) {
        j->rc = je.code;
        j->err = je;
        return 0;
    }
    if (j->cal.freq == ST_FREQ_NONE)
        return 0;
    double *yg, *tg;
    size_t ng;
    if (st_ssm_regularize(&j->cal, j->t, j->y, j->n, c->p, &yg, &tg, &ng, &je) < 0) {
        if (je.code == ST_ENOMEM)
            return *e = je, je.code;
        j->rc = je.code;
        j->err = je;
        return 0;
    }
    free(j->y);
    free(j->t);
    j->y = yg;
    j->t = tg;
    j->n = ng;
    return 0;
}

int st_ssmf_read_batch(st_seqiter *it, const st_reader *rd, const st_ssmf_cols *c, st_freq freq,
                       const st_ssmf_future *future, size_t h, st_ssmf_job *jobs, size_t max,
                       size_t *nb, int *end, st_err *e)
{
    size_t ncin = st_reader_ncols(rd), p = c->p, nx = c->nreg;
    *nb = 0;
    while (*nb < max) {
        const double *rows;
        size_t n;
        double seq;
        int g = st_seqiter_next(it, &rows, &n, &seq, e);
        if (g < 0)
            return g;
        if (g == 0) {
            *end = 1;
            return 0;
        }
        st_ssmf_job *j = &jobs[(*nb)++];
        memset(j, 0, sizeof *j);
        j->seq = seq;
        j->n = n;
        j->y = malloc(n * p * sizeof(double));
        j->x = nx ? malloc(n * nx * sizeof(double)) : NULL;
        j->t = c->t >= 0 ? malloc(n * sizeof(double)) : NULL;
        if (!j->y || (nx && !j->x) || (c->t >= 0 && !j->t))
            return st_err_nomem(e, "series");
        for (size_t i = 0; i < n; i++) {
            const double *row = rows + i * ncin;
            for (size_t k = 0; k < p; k++)
                j->y[i * p + k] = row[c->y[k]];
            if (j->t)
                j->t[i] = row[c->t];
            for (size_t k = 0; k < nx; k++)
                j->x[i * nx + k] = row[c->x[k]];
        }
        j->rc = 1;
        int rc = regularize_job(j, c, freq, e);
        if (rc < 0)
            return rc;
        if (j->rc != 1)
            continue;
        if (future && future->tab) {
            st_group key = {seq, 0, 0};
            st_group *gp = bsearch(&key, future->groups, future->ngroups, sizeof key, cmp_group);
            if (!gp || gp->n < h) {
                j->rc = st_err_set(&j->err, ST_EDATA, future->path, 0, 0, "future file has %zu rows for this series, need %zu (-H)", gp ? gp->n : (size_t)0, h);
                continue;
            }
            if (!(j->xf = malloc(h * (nx ? nx : 1) * sizeof(double))))
                return st_err_nomem(e, "future");
            for (size_t i = 0; i < h; i++)
                for (size_t k = 0; k < nx; k++)
                    j->xf[i * nx + k] = st_table_get(future->tab, gp->start + i, (size_t)future->xcol[k]);
        }
    }
    return 0;
}

/* Every rank gets every job's outcome in batch order.  Results are flat
 * but for their rows (copied when rows != 0) and the model's family data
 * (not needed after the fit, and another process's addresses). */
typedef struct packed_job {
    int rc;
    st_err err;
    st_ssmf_result res;
} packed_job;

static int share_jobs(st_ssmf_job *jobs, size_t nb, size_t lo, size_t hi, int rows, st_err *e)
{
    const size_t hdr = (sizeof(packed_job) + sizeof(double) - 1) / sizeof(double);
    size_t n = 0;
    for (size_t i = lo; i < hi; i++)
        n += hdr + (rows && jobs[i].res.rows ? jobs[i].res.nrows * jobs[i].res.ncols : 0);
    double *buf = calloc(n ? n : 1, sizeof *buf), *all = NULL, *q = buf;
    if (!buf)
        return st_err_nomem(e, "MPI exchange");
    for (size_t i = lo; i < hi; i++) {
        packed_job pj;
        memset(&pj, 0, sizeof pj);
        pj.rc = jobs[i].rc;
        pj.err = jobs[i].err;
        pj.res = jobs[i].res;
        if (!rows || !pj.res.rows)
            pj.res.nrows = 0;
        memcpy(q, &pj, sizeof pj);
        q += hdr;
        size_t nv = pj.res.nrows * pj.res.ncols;
        if (nv)
            memcpy(q, jobs[i].res.rows, nv * sizeof *q);
        q += nv;
    }
    size_t total;
    int rc = st_mpi_allgather(buf, n, &all, &total, e);
    free(buf);
    if (rc < 0)
        return rc;
    q = all;
    for (size_t i = 0; i < nb && rc == 0; i++) {
        packed_job pj;
        memcpy(&pj, q, sizeof pj);
        q += hdr;
        size_t nv = pj.res.nrows * pj.res.ncols;
        if (i < lo || i >= hi) {
            st_ssmf_job *j = &jobs[i];
            j->rc = pj.rc;
            j->err = pj.err;
            j->res = pj.res;
            j->res.rows = NULL;
            j->res.model.fam = NULL;
            j->res.model.impl = NULL;
            if (nv) {
                if (!(j->res.rows = malloc(nv * sizeof *j->res.rows)))
                    rc = st_err_nomem(e, "MPI exchange");
                else
                    memcpy(j->res.rows, q, nv * sizeof *q);
            }
        }
        q += nv;
    }
    free(all);
    return rc;
}

/* --global: the model-scale data of the batch's series to run, and the
 * family's batch model */
static int batch_train(const st_ssmf_opts *o, st_ssmf_job *jobs, size_t nb, void **shared, st_err *e)
{
    st_ssm_data *d = calloc(nb ? nb : 1, sizeof *d);
    double **buf = calloc(nb ? nb : 1, sizeof *buf);
    size_t k = 0;
    int rc = 0;
    if (!d || !buf)
        rc = st_err_nomem(e, "global model");
    for (size_t i = 0; i < nb && rc == 0; i++) {
        if (jobs[i].rc != 1)
            continue;
        st_err je;
        if (st_ssmf_model_data(o, jobs[i].y, jobs[i].n, jobs[i].x, o->nreg, &buf[k], &d[k], &je) == 0)
            k++;
        else {
            free(buf[k]);
            buf[k] = NULL;
        }
    }
    if (rc == 0)
        rc = o->fam->batch_train(o->spec, d, k, &o->cfg, shared, e);
    for (size_t i = 0; buf && i < nb; i++)
        free(buf[i]);
    free(buf);
    free(d);
    return rc;
}

int st_ssmf_run_batch(const st_ssmf_opts *o, st_ssmf_job *jobs, size_t nb, size_t first,
                      int share, int rows, size_t *lo, size_t *hi, st_err *e)
{
    *lo = 0;
    *hi = nb;
    int nranks = st_mpi_size();
    if (share && nranks > 1)
        st_mpi_share(nb, lo, hi);
    size_t a = *lo, b = *hi;
    /* --global: the family trains one model on the whole batch (on every
     * rank, so that all ranks use the same model) */
    void *shared = NULL;
    int rc = 0;
    if (o->cfg.global && o->fam && o->fam->batch_train && (rc = batch_train(o, jobs, nb, &shared, e)) < 0)
        return rc;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
    for (size_t i = a; i < b; i++) {
        st_ssmf_job *j = &jobs[i];
        if (j->rc != 1)
            continue;
        st_ssmf_opts jo = *o;
        jo.cfg.stream = first + i;
        jo.cfg.shared = shared;
        st_err_clear(&j->err);
        if (o->period == 0) /* the period the frequency implies */
            jo.period = st_freq_period(o->freq != ST_FREQ_NONE ? o->freq : j->cal.freq);
        j->rc = st_ssmf_series(&jo, j->y, j->n, j->x, o->nreg, j->xf, &j->res, &j->err);
    }
    if (shared)
        o->fam->batch_free(shared);
    if (share && nranks > 1)
        return share_jobs(jobs, nb, a, b, rows, e);
    return 0;
}

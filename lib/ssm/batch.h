/* Batches of series for ssm-forecast: read a batch of series from a
 * stream (values, times, regressors and their future values), run it over
 * threads and MPI ranks, and give every rank every series' outcome in
 * input order.  Ownership: st_ssmf_job_free, st_ssmf_future_free. */
#ifndef ST_SSM_BATCH_H
#define ST_SSM_BATCH_H

#include <stddef.h>

#include "core/err.h"
#include "core/stream.h"
#include "ssm/calendar.h"
#include "ssm/forecast.h"

/* One series and its outcome. */
typedef struct st_ssmf_job {
    double seq;
    size_t n;
    double *y, *x, *t, *xf; /* n x p values, n x nreg regressors, n times, h x nreg future */
    st_ssm_calendar cal;    /* the time axis; y, x and t are on its grid */
    st_ssmf_result res;
    st_err err;
    int rc;                 /* 1: to run; 0: done; < 0: failed (err) */
} st_ssmf_job;

void st_ssmf_job_free(st_ssmf_job *j);

/* Future regressor values by seq (--future FILE). */
typedef struct st_ssmf_future {
    const char *path;
    st_table *tab;
    st_group *groups; /* sorted by seq */
    size_t ngroups;
    int *xcol;        /* the columns named like the reader's regressors */
} st_ssmf_future;

int st_ssmf_future_load(st_ssmf_future *f, const char *path, const st_reader *rd, const int *xcol,
                        size_t nx, st_err *e);
void st_ssmf_future_free(st_ssmf_future *f);

/* Which columns of a reader hold what. */
typedef struct st_ssmf_columns {
    int *y;          /* p value columns */
    size_t p;
    int t;           /* time column, -1 if none */
    int *x;          /* nreg regressor columns */
    size_t nreg;
    int seq;         /* seq column, -1 if none */
    st_dtype tdtype; /* type of the time column */
} st_ssmf_cols;

/* Find the columns in rd: values (a name or a list, p of them: the model
 * observes p variables; numbers), time (numbers or a time column;
 * required if time_required, else -1 when absent), regressors (list or
 * NULL; numbers), seq (seqname, any type; -1 when absent unless required).
 * Errors name the file. */
int st_ssmf_cols_find(st_ssmf_cols *c, const st_reader *rd, const char *values, size_t p,
                      const char *time, int time_required, const char *regressors,
                      const char *seqname, int seq_required, st_err *e);
/* The value and regressor columns are still numbers (a promotion turns a
 * column of integers that meets text into strings). */
int st_ssmf_cols_check(const st_ssmf_cols *c, const st_reader *rd, st_err *e);
void st_ssmf_cols_free(st_ssmf_cols *c);

/* Read up to max series from it into jobs[0..*nb-1] (*end = 1 at the end
 * of the input), each placed on the grid of its time axis (calendar.h;
 * freq: --freq or ST_FREQ_NONE); a series whose times do not allow it
 * fails with the reason.  With future (forecasts of a regression), each
 * series gets its h future rows, or fails with a message if it has too
 * few. */
int st_ssmf_read_batch(st_seqiter *it, const st_reader *rd, const st_ssmf_cols *c, st_freq freq,
                       const st_ssmf_future *future, size_t h, st_ssmf_job *jobs, size_t max,
                       size_t *nb, int *end, st_err *e);

/* Run the jobs to run (rc == 1) of a batch: over threads, and under MPI
 * with share != 0 each rank its contiguous part [*lo, *hi) (the whole
 * batch otherwise), then every rank gets every job's status, error and
 * model summary (rows too when rows != 0).  first: the batch's first
 * series' position in the input (its random stream). */
int st_ssmf_run_batch(const st_ssmf_opts *o, st_ssmf_job *jobs, size_t nb, size_t first,
                      int share, int rows, size_t *lo, size_t *hi, st_err *e);

#endif

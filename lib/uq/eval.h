/* Evaluation of one uncertainty score column against labels (uq-eval):
 * AUROC, AUPRC, PRR (full and up to 50 % rejection), area under the
 * rejection-accuracy curve, Spearman, ECE (confidences only) and TSU, with
 * optional percentile bootstrap intervals.  Formulas in uq-eval(1). */
#ifndef ST_UQ_EVAL_H
#define ST_UQ_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "uq/uq.h"

enum {
    ST_UQ_M_AUROC = 0,
    ST_UQ_M_AUPRC,
    ST_UQ_M_PRR,
    ST_UQ_M_PRR50,
    ST_UQ_M_AUARC,
    ST_UQ_M_SPEARMAN,
    ST_UQ_M_ECE,
    ST_UQ_M_TSU,
    ST_UQ_NMETRICS
};

const char *st_uq_metric_name(int k);
int st_uq_metric_parse(const char *name); /* -1 if unknown */
int st_uq_metric_binary(int k);           /* needs 0/1 labels */

typedef struct st_uq_eval_opts {
    int want[ST_UQ_NMETRICS]; /* which metrics to compute */
    int nbins;                /* ECE bins (10) */
    size_t bootstrap;         /* resamples, 0 for none */
    double level;             /* interval level (0.95) */
    uint64_t seed;            /* bootstrap seed */
} st_uq_eval_opts;

void st_uq_eval_opts_default(st_uq_eval_opts *o);

typedef struct st_uq_stat {
    double value, lo, hi; /* lo/hi NaN without bootstrap */
    size_t n;             /* rows used (TSU: prompt ids) */
} st_uq_stat;

/* score[i], label[i] for n rows (NaN rows are left out); id and temp (may
 * be NULL) group rows for TSU.  confidence: higher score = more likely
 * correct (ranked as -score; ECE computed only then).  out has
 * ST_UQ_NMETRICS entries; metrics not wanted are NaN. */
int st_uq_evaluate(const double *score, const double *label, const double *id, const double *temp,
                   size_t n, int confidence, const st_uq_eval_opts *o, st_uq_stat *out, st_err *e);

#endif

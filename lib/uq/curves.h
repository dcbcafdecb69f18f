/* uq-eval --curves: the ROC, precision-recall and rejection-accuracy
 * points of several score columns as one stream, for stoch-plot and for
 * anyone who draws them with other tools.  The points come from
 * st_uq_roc_curve and st_uq_rejection_curve (lib/uq/metrics.c), so the
 * areas under them are uq-eval's AUROC, AUPRC and AUARC.
 *
 * Layout (stream columns are numeric, so the score names go into the
 * column names): per score column S, in the order given,
 *     threshold.S fpr.S tpr.S precision.S   (0/1 labels only)
 *     rejected.S accuracy.S
 * then rejected.oracle accuracy.oracle (the best order of the labels).
 * Row k is point k of every curve; a curve shorter than the longest one is
 * padded with NaN.  threshold.S is the score value of the ROC point (rows
 * with u >= it are flagged; for a confidence column, score <= it) and +Inf
 * (-Inf for a confidence) at the start point; tpr.S is also the recall. */
#ifndef ST_UQ_CURVES_H
#define ST_UQ_CURVES_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"
#include "core/stream.h"

/* score[c] (n values, NaN = missing) for c < ncols with names[c];
 * confidence[c]: higher = more likely correct (ranked as -score).  label:
 * n values in [0,1] or NaN (rows without a label or score are left out);
 * binary: labels are 0/1, so ROC and PR points are written.  A score named
 * "oracle" is refused (ST_EUSAGE).  The stream goes to fp with wo (may be
 * NULL: CSV); fp is not closed. */
int st_uq_curves_write(FILE *fp, const st_writer_opts *wo, const char *const *names, const double *const *score,
                       const int *confidence, size_t ncols, const double *label, size_t n, int binary, st_err *e);

#endif

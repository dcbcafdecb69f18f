/* uq-eval --curves: every score's ROC, PR and rejection points in one
 * stream (layout in curves.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "uq/curves.h"
#include "uq/uq.h"

/* One curve set; the arrays are views into one block (thr). */
typedef struct curve {
    size_t nroc, nrej;
    double *thr, *fpr, *tpr, *prec, *acc;
} curve;

static int curve_alloc(curve *c, size_t m)
{
    memset(c, 0, sizeof *c);
    if (!(c->thr = malloc((5 * m + 4) * sizeof *c->thr)))
        return -1;
    c->fpr = c->thr + m + 1;
    c->tpr = c->fpr + m + 1;
    c->prec = c->tpr + m + 1;
    c->acc = c->prec + m + 1;
    return 0;
}

/* The curves of one score over the rows with a score and a label; u and y
 * are n scratch values each. */
static int score_curve(curve *c, const double *score, const double *label, size_t n, int confidence, int binary,
                       double *u, double *y)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(score[i]) && !isnan(label[i])) {
            u[m] = confidence ? -score[i] : score[i];
            y[m] = label[i];
            m++;
        }
    if (curve_alloc(c, m) < 0)
        return -1;
    if (binary) {
        if (st_uq_roc_curve(u, y, m, c->thr, c->fpr, c->tpr, c->prec, &c->nroc) < 0)
            return -1;
        if (confidence) /* back to the score's own scale */
            for (size_t k = 0; k < c->nroc; k++)
                c->thr[k] = -c->thr[k];
    }
    c->nrej = m;
    return st_uq_rejection_curve(u, y, m, c->acc, NULL);
}

/* The best order's rejection curve over the labelled rows. */
static int oracle_curve(curve *c, const double *label, size_t n, double *u, double *y)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(label[i])) {
            u[m] = 0;
            y[m++] = label[i];
        }
    if (curve_alloc(c, m) < 0)
        return -1;
    c->nrej = m;
    double *tied = c->thr; /* unused: st_uq_rejection_curve needs an acc array */
    return st_uq_rejection_curve(u, y, m, tied, c->acc);
}

static char *join(const char *a, const char *b)
{
    size_t len = strlen(a) + strlen(b) + 2;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s.%s", a, b);
    return s;
}

int st_uq_curves_write(FILE *fp, const st_writer_opts *wo, const char *const *names, const double *const *score,
                       const int *confidence, size_t ncols, const double *label, size_t n, int binary, st_err *e)
{
    static const char *const axes[] = {"threshold", "fpr", "tpr", "precision", "rejected", "accuracy"};
    for (size_t c = 0; c < ncols; c++)
        if (strcmp(names[c], "oracle") == 0)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                              "--curves: a score column is named 'oracle', the name of the best order's curve: "
                              "rename it");
    int rc = ST_OK;
    size_t first = binary ? 0 : 4, per = 6 - first, nout = per * ncols + 2, rows = 0;
    curve *cv = calloc(ncols + 1, sizeof *cv);
    char **cn = calloc(nout, sizeof *cn);
    double *u = malloc((2 * n + 2) * sizeof *u), *row = malloc(nout * sizeof *row);
    st_writer *w = NULL;
    if (!cv || !cn || !u || !row) {
        rc = st_err_nomem(e, "curves");
        goto out;
    }
    double *y = u + n + 1;
    for (size_t c = 0; c <= ncols; c++) {
        int oracle = c == ncols;
        if ((oracle ? oracle_curve(&cv[c], label, n, u, y)
                    : score_curve(&cv[c], score[c], label, n, confidence[c], binary, u, y)) < 0) {
            rc = st_err_nomem(e, "curves");
            goto out;
        }
        rows = cv[c].nroc > rows ? cv[c].nroc : rows;
        rows = cv[c].nrej > rows ? cv[c].nrej : rows;
    }
    for (size_t c = 0, j = 0; c <= ncols; c++)
        for (size_t a = c < ncols ? first : 4; a < 6; a++)
            if (!(cn[j++] = join(axes[a], c < ncols ? names[c] : "oracle"))) {
                rc = st_err_nomem(e, "curves");
                goto out;
            }
    if ((rc = st_writer_new(&w, fp, (const char *const *)cn, NULL, nout, wo, e)) < 0)
        goto out;
    for (size_t k = 0; k < rows && rc == ST_OK; k++) {
        double *r = row;
        for (size_t c = 0; c <= ncols; c++) {
            const curve *v = &cv[c];
            if (binary && c < ncols) {
                int in = k < v->nroc;
                *r++ = in ? v->thr[k] : NAN;
                *r++ = in ? v->fpr[k] : NAN;
                *r++ = in ? v->tpr[k] : NAN;
                *r++ = in ? v->prec[k] : NAN;
            }
            int in = k < v->nrej;
            *r++ = in ? (double)k / (double)v->nrej : NAN;
            *r++ = in ? v->acc[k] : NAN;
        }
        rc = st_writer_row(w, row, e);
    }
    if (rc == ST_OK) {
        rc = st_writer_close(w, e);
        w = NULL;
    }
out:
    st_writer_free(w);
    if (cv)
        for (size_t c = 0; c <= ncols; c++)
            free(cv[c].thr);
    if (cn)
        for (size_t j = 0; j < nout; j++)
            free(cn[j]);
    free(cv);
    free(cn);
    free(u);
    free(row);
    return rc;
}

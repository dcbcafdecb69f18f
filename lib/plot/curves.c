/* stoch-plot roc, pr, rejection: the curves of uq-eval --curves, every
 * score on one plot, ordered by the area under its curve, which the legend
 * shows (computed here from the points: trapezoids for ROC, average
 * precision's steps for PR, the mean for rejection, the same sums uq-eval's
 * AUROC, AUPRC and AUARC make).  A score keeps its colour in all three. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot/internal.h"

#define MAX_SCORES 64

typedef struct score {
    char name[128];
    int x, y;    /* columns */
    size_t idx;  /* order among the drawn scores in the stream: the colour */
    double area;
} score;

static int cmp_area(const void *a, const void *b)
{
    const score *x = a, *y = b;
    if (x->area != y->area)
        return x->area < y->area ? 1 : -1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Area under the curve of columns x, y over the rows where both are
 * finite (PR: y may be NaN at the start point, whose x is 0). */
static double area(const st_table *t, int xc, int yc, st_plot_kind k, double *first_y, double *last_y)
{
    double a = 0, px = NAN, py = NAN, sum = 0;
    size_t n = 0;
    *first_y = *last_y = NAN;
    for (size_t i = 0; i < t->nrows; i++) {
        double x = st_table_get(t, i, (size_t)xc), y = st_table_get(t, i, (size_t)yc);
        if (!isfinite(x))
            continue;
        if (k == ST_PLOT_PR && isfinite(x) && !isfinite(y) && n == 0) {
            px = x; /* the start point: recall 0, precision undefined */
            continue;
        }
        if (!isfinite(y))
            continue;
        if (k == ST_PLOT_ROC && n > 0)
            a += (x - px) * (y + py) / 2;
        else if (k == ST_PLOT_PR && isfinite(px))
            a += (x - px) * y;
        sum += y;
        if (n++ == 0)
            *first_y = y;
        *last_y = y;
        px = x;
        py = y;
    }
    if (n == 0)
        return NAN;
    return k == ST_PLOT_REJECTION ? sum / (double)n : a;
}

int plot_curves(gp *g, const st_plot_inputs *in)
{
    const st_table *t = in->main;
    st_plot_kind k = g->o->kind;
    const char *xa = k == ST_PLOT_ROC ? "fpr." : k == ST_PLOT_PR ? "tpr." : "rejected.";
    const char *ya = k == ST_PLOT_ROC ? "tpr." : k == ST_PLOT_PR ? "precision." : "accuracy.";
    const char *metric = k == ST_PLOT_ROC ? "AUROC" : k == ST_PLOT_PR ? "AUPRC" : "AUARC";
    score *sc = calloc(MAX_SCORES, sizeof *sc);
    const char **names = calloc(MAX_SCORES, sizeof *names);
    if (!sc || !names) {
        free(sc);
        free(names);
        return st_err_nomem(g->e, "plot");
    }
    size_t ns = 0, nall = 0, xl = strlen(xa);
    int oracle = -1, oracle_x = -1, rc = ST_OK;
    for (size_t j = 0; j < t->ncols; j++) {
        const char *n = t->names[j];
        if (strncmp(n, xa, xl) != 0 || strlen(n + xl) >= sizeof sc->name)
            continue;
        char ycol[160];
        snprintf(ycol, sizeof ycol, "%s%s", ya, n + xl);
        int y = st_table_col(t, ycol);
        if (y < 0)
            continue;
        if (strcmp(n + xl, "oracle") == 0) {
            oracle = y;
            oracle_x = (int)j;
            continue;
        }
        if (nall >= MAX_SCORES)
            break;
        names[nall++] = t->names[j] + xl;
        if (!list_has(g->o->columns, n + xl))
            continue;
        score *s = &sc[ns++];
        strcpy(s->name, n + xl);
        s->x = (int)j;
        s->y = y;
        s->idx = ns - 1; /* the colour: the same in roc, pr and rejection for the same -c */
    }
    if (nall == 0) {
        rc = need_col(g, t, k == ST_PLOT_ROC ? "fpr.SCORE" : k == ST_PLOT_PR ? "precision.SCORE" : "accuracy.SCORE",
                      k == ST_PLOT_REJECTION ? "rejection curves: uq-eval --curves"
                      : k == ST_PLOT_PR      ? "precision-recall curves need 0/1 labels: uq-eval --curves"
                                             : "ROC curves need 0/1 labels: uq-eval --curves");
        goto out;
    }
    if ((rc = list_check(g, t, g->o->columns, names, nall, "score")) < 0)
        goto out;
    double base = NAN;
    for (size_t i = 0; i < ns; i++) {
        double f, l;
        sc[i].area = area(t, sc[i].x, sc[i].y, k, &f, &l);
        if (isnan(base))
            base = k == ST_PLOT_PR ? l : f; /* PR: the error rate; rejection: accuracy with nothing rejected */
    }
    qsort(sc, ns, sizeof *sc, cmp_area);
    char what[64];
    snprintf(what, sizeof what, "%s curves of %zu score%s",
             k == ST_PLOT_ROC ? "ROC" : k == ST_PLOT_PR ? "precision-recall" : "rejection-accuracy", ns,
             ns == 1 ? "" : "s");
    gp_header(g, what, 1, 1);
    int *blk = calloc(ns + 1, sizeof *blk);
    if (!blk) {
        rc = st_err_nomem(g->e, "plot");
        goto out;
    }
    for (size_t i = 0; i <= ns; i++) {
        int xc = i < ns ? sc[i].x : oracle_x, yc = i < ns ? sc[i].y : oracle;
        if (xc < 0)
            continue;
        blk[i] = gp_block(g);
        int started = 0;
        for (size_t r = 0; r < t->nrows; r++) {
            double x = st_table_get(t, r, (size_t)xc), y = st_table_get(t, r, (size_t)yc);
            if (!isfinite(x) || !isfinite(y))
                continue;
            if (k == ST_PLOT_PR && !started) { /* precision of the first step from recall 0 */
                gp_printf(g, "0 ");
                gp_num(g, y);
                gp_printf(g, "\n");
            }
            started = 1;
            gp_num(g, x);
            gp_printf(g, " ");
            gp_num(g, y);
            gp_printf(g, "\n");
        }
        gp_block_end(g);
    }
    if (k == ST_PLOT_ROC)
        gp_printf(g, "set xlabel \"false positive rate (correct answers flagged)\" offset 0,0.4\n"
                     "set ylabel \"true positive rate (errors flagged)\"\n"
                     "set xrange [0:1]\nset yrange [0:1]\n");
    else if (k == ST_PLOT_PR)
        gp_printf(g, "set xlabel \"recall (errors flagged)\" offset 0,0.4\nset ylabel \"precision (errors among flagged)\"\n"
                     "set xrange [0:1]\nset yrange [0:1.02]\n");
    else
        gp_printf(g, "set xlabel \"rejection rate (most uncertain answers rejected)\" offset 0,0.4\n"
                     "set ylabel \"accuracy of the answers kept\"\nset xrange [0:1]\nset yrange [*:1.005]\n");
    gp_gridlines(g);
    gp_printf(g, "set key outside bottom center horizontal maxcols 3 samplen 2\n");
    if (g->o->title) {
        gp_printf(g, "set title ");
        gp_str(g, g->o->title);
        gp_printf(g, "\n");
    }
    gp_printf(g, "plot");
    for (size_t i = 0; i < ns; i++) {
        gp_printf(g, "%s$d%d using 1:2 with %s lw 1.5 lc rgb \"%s\" dt %zu title ", i ? ", \\\n    " : " ", blk[i],
                  k == ST_PLOT_PR ? "fsteps" : "lines", gp_color(sc[i].idx), 1 + sc[i].idx / 8 % 5);
        char label[200];
        snprintf(label, sizeof label, "%s (%s %.3f)", sc[i].name, metric, sc[i].area);
        gp_str(g, label);
    }
    if (k == ST_PLOT_ROC)
        gp_printf(g, ", \\\n    x with lines lc rgb \"#808080\" dt 2 title \"random (0.5)\"");
    if (k != ST_PLOT_ROC && isfinite(base))
        gp_printf(g, ", \\\n    %.17g with lines lc rgb \"#808080\" dt 2 title \"random (%.3f)\"", base, base);
    if (k == ST_PLOT_REJECTION && oracle >= 0) {
        double f, l, a = area(t, oracle_x, oracle, k, &f, &l);
        gp_printf(g, ", \\\n    $d%d using 1:2 with lines lc rgb \"black\" dt 3 title \"oracle (%s %.3f)\"", blk[ns],
                  metric, a);
    }
    gp_printf(g, "\n");
    free(blk);
out:
    free(sc);
    free(names);
    return rc;
}

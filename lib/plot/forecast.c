/* stoch-plot forecast: ssm-forecast's mean and interval fans (lo<L>/hi<L>
 * columns, widest first), the history from the data, and the data's values
 * inside the forecast horizon as holdout actuals; one panel per series. */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot/internal.h"

#define MAX_LEVELS 8

typedef struct level {
    double pct;
    int lo, hi; /* columns; -1: from sd */
} level;

static int cmp_level(const void *a, const void *b)
{
    double x = ((const level *)a)->pct, y = ((const level *)b)->pct;
    return (x < y) - (x > y); /* widest first */
}

/* The interval columns lo<L>/hi<L> of the forecast, or 95 and 80 % from sd. */
static int find_levels(gp *g, const st_table *f, level *lv, size_t *n)
{
    *n = 0;
    for (size_t j = 0; j < f->ncols && *n < MAX_LEVELS; j++) {
        const char *name = f->names[j];
        char *end;
        if (strncmp(name, "lo", 2) != 0 || !isdigit((unsigned char)name[2]))
            continue;
        double pct = strtod(name + 2, &end);
        if (*end || !(pct > 0 && pct < 100))
            continue;
        char hi[64];
        snprintf(hi, sizeof hi, "hi%s", name + 2);
        int h = st_table_col(f, hi);
        if (h < 0)
            return st_err_set(g->e, ST_EDATA, tab_name(f), 1, 0, "column '%s' has no partner '%s'", name, hi);
        lv[*n].pct = pct;
        lv[*n].lo = (int)j;
        lv[*n].hi = h;
        (*n)++;
    }
    if (*n == 0 && st_table_col(f, "sd") >= 0) {
        lv[0] = (level){95, -1, -1};
        lv[1] = (level){80, -1, -1};
        *n = 2;
        gp_note(g, "%s: no lo/hi columns: 80 and 95 %% intervals drawn as mean -/+ z sd", tab_name(f));
    }
    qsort(lv, *n, sizeof *lv, cmp_level);
    return ST_OK;
}

/* The data's value column: -c, else y, else its only column besides seq and time. */
static int data_value_col(gp *g, const st_table *d, int tcol)
{
    const char *want = g->o->columns ? g->o->columns : "y";
    int j = st_table_col(d, want);
    if (j >= 0 || g->o->columns) {
        if (j < 0)
            return st_err_set(g->e, ST_EDATA, tab_name(d), 1, 0, "no value column '%s' in the data", want);
        return j;
    }
    int only = -1, n = 0, seq = st_table_col(d, "seq");
    for (size_t c = 0; c < d->ncols; c++)
        if ((int)c != seq && (int)c != tcol) {
            only = (int)c;
            n++;
        }
    if (n == 1)
        return only;
    return st_err_set(g->e, ST_EDATA, tab_name(d), 1, 0,
                      "the data have no column 'y' and %d candidates: name the value column with -c", n);
}

int plot_forecast(gp *g, const st_plot_inputs *in)
{
    const st_table *f = in->main, *d = in->data;
    int ft = need_col(g, f, "t", "the forecast times"), fm;
    if (ft < 0)
        return ft;
    if ((fm = need_col(g, f, "mean", "the forecast means")) < 0)
        return fm;
    level lv[MAX_LEVELS];
    size_t nlev;
    int rc = find_levels(g, f, lv, &nlev);
    if (rc < 0)
        return rc;
    int fsd = st_table_col(f, "sd");
    st_group *gr = NULL, *dg = NULL;
    size_t ng = 0, ndg = 0;
    int dt = -1, dv = -1, dseq = -1;
    if ((rc = seq_groups(g, f, &gr, &ng)) < 0 || (rc = select_groups(g, f, gr, &ng)) < 0)
        goto out;
    if (d) {
        const char *tname = g->o->time ? g->o->time : "t";
        dt = st_table_col(d, tname);
        if (dt < 0 && g->o->time) {
            rc = st_err_set(g->e, ST_EDATA, tab_name(d), 1, 0, "no time column '%s' in the data", tname);
            goto out;
        }
        if ((dv = data_value_col(g, d, dt)) < 0) {
            rc = dv;
            goto out;
        }
        dseq = st_table_col(d, "seq");
        if ((rc = st_table_groups(d, dseq, &dg, &ndg, g->e)) < 0)
            goto out;
        if (dseq < 0 && st_table_col(f, "seq") >= 0 && ng > 1) {
            rc = st_err_set(g->e, ST_EDATA, tab_name(d), 1, 0,
                            "the data have no seq column but the forecast has several series");
            goto out;
        }
    }
    size_t ncols, nrows;
    gp_grid(ng, &ncols, &nrows);
    gp_header(g, "history, forecast mean and intervals", ng > 1 ? ncols : 1, ng > 1 ? nrows : 1);
    /* data: per series a forecast block and a history block */
    int *fb = calloc(ng, sizeof *fb), *hb = calloc(ng, sizeof *hb), *ab = calloc(ng, sizeof *ab);
    if (!fb || !hb || !ab) {
        rc = st_err_nomem(g->e, "plot");
        goto out2;
    }
    double tmin = INFINITY, tmax = -INFINITY;
    for (size_t s = 0; s < ng; s++) {
        const st_group *q = &gr[s];
        double t0 = st_table_get(f, q->start, (size_t)ft), lo, hi;
        col_range(f, ft, q->start, q->start + q->n, &lo, &hi);
        tmin = fmin(tmin, lo);
        tmax = fmax(tmax, hi);
        fb[s] = gp_block(g);
        for (size_t i = q->start; i < q->start + q->n; i++) {
            double m = st_table_get(f, i, (size_t)fm), sd = fsd >= 0 ? st_table_get(f, i, (size_t)fsd) : NAN;
            gp_x(g, st_table_get(f, i, (size_t)ft));
            gp_printf(g, " ");
            gp_num(g, m);
            for (size_t k = 0; k < nlev; k++) {
                double z = lv[k].lo < 0 ? (lv[k].pct == 95 ? 1.959963984540054 : 1.2815515655446004) : 0;
                gp_printf(g, " ");
                gp_num(g, lv[k].lo >= 0 ? st_table_get(f, i, (size_t)lv[k].lo) : m - z * sd);
                gp_printf(g, " ");
                gp_num(g, lv[k].hi >= 0 ? st_table_get(f, i, (size_t)lv[k].hi) : m + z * sd);
            }
            gp_printf(g, "\n");
        }
        gp_block_end(g);
        if (!d)
            continue;
        /* the data's series with this seq (the only one without seq columns) */
        const st_group *h = NULL;
        for (size_t k = 0; k < ndg && !h; k++)
            if (dseq < 0 || dg[k].seq == q->seq)
                h = &dg[k];
        if (!h) {
            gp_note(g, "%s: no series %.17g in the data: forecast drawn without history", tab_name(d), q->seq);
            continue;
        }
        /* history before the first forecast time; actuals from it on */
        for (int part = 0; part < 2; part++) {
            int any = 0;
            for (size_t i = h->start; i < h->start + h->n; i++) {
                double t = dt >= 0 ? st_table_get(d, i, (size_t)dt) : (double)(i - h->start + 1);
                if ((t >= t0) != part)
                    continue;
                if (!any)
                    (part ? ab : hb)[s] = gp_block(g);
                any = 1;
                double v = st_table_get(d, i, (size_t)dv);
                if (isnan(v)) { /* a gap breaks the line */
                    gp_printf(g, "\n");
                    continue;
                }
                gp_x(g, t);
                gp_printf(g, " ");
                gp_num(g, v);
                tmin = fmin(tmin, t);
                gp_printf(g, "\n");
            }
            if (any)
                gp_block_end(g);
        }
    }
    /* the key once above the panels, then one panel per series */
    gp_key key = {0};
    int anyh = 0, anya = 0;
    for (size_t s = 0; s < ng; s++) {
        anyh |= hb[s] != 0;
        anya |= ab[s] != 0;
    }
    char tints[MAX_LEVELS][8];
    for (size_t k = 0; k < nlev; k++) {
        char title[32];
        gp_tint(0, nlev > 1 ? 0.82 - 0.3 * (double)k / (double)(nlev - 1) : 0.7, tints[k]);
        snprintf(title, sizeof title, "%g%%", lv[k].pct);
        gp_key_add(&key, title, "boxes fc rgb \"%s\"", tints[k]);
    }
    if (anyh)
        gp_key_add(&key, "history", "lines lw 1.2 lc rgb \"black\"");
    gp_key_add(&key, "mean", "lines lw 2 lc rgb \"%s\"", gp_color(0));
    if (anya)
        gp_key_add(&key, "actual", "linespoints lw 1 pt 7 ps 0.5 lc rgb \"%s\"", gp_color(1));
    gp_printf(g, "set style fill solid 1.0 noborder\nset multiplot\n");
    int band = gp_legend(g, &key);
    gp_xaxis(g, tmin, tmax);
    gp_gridlines(g);
    gp_printf(g, "set autoscale xfix\n");
    for (size_t s = 0; s < ng; s++) {
        gp_panel(g, s, ng > 1 ? ncols : 1, ng > 1 ? nrows : 1, band);
        if (ng > 1)
            gp_printf(g, "set title \"seq %.17g\"\n", gr[s].seq);
        gp_printf(g, "plot");
        const char *sep = " ";
        for (size_t k = 0; k < nlev; k++) {
            gp_printf(g, "%s$d%d using 1:%zu:%zu with filledcurves fc rgb \"%s\" notitle", sep, fb[s], 3 + 2 * k,
                      4 + 2 * k, tints[k]);
            sep = ", \\\n    ";
        }
        if (hb[s])
            gp_printf(g, "%s$d%d using 1:2 with lines lw 1.2 lc rgb \"black\" notitle", sep, hb[s]);
        gp_printf(g, "%s$d%d using 1:2 with lines lw 2 lc rgb \"%s\" notitle", sep, fb[s], gp_color(0));
        if (ab[s])
            gp_printf(g, "%s$d%d using 1:2 with linespoints lw 1 pt 7 ps 0.5 lc rgb \"%s\" notitle", sep, ab[s],
                      gp_color(1));
        gp_printf(g, "\n");
    }
    gp_printf(g, "unset multiplot\n");
out2:
    free(fb);
    free(hb);
    free(ab);
out:
    free(gr);
    free(dg);
    return rc;
}

/* stoch-plot transition: mjp-infer --pmatrix-grid's P(t), one panel per
 * starting state with a curve per state (p<j>), or with --survival one
 * panel of survival curves: no jump out of the starting state yet (stay)
 * and, when some states are absorbing (P_jj(t) = 1 throughout), not yet
 * absorbed (1 - the absorbing states' probabilities). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot/internal.h"

#define MAX_STATES 64

int plot_transition(gp *g, const st_plot_inputs *in)
{
    const st_table *t = in->main;
    int fc = need_col(g, t, "from", "the starting state"), tc;
    if (fc < 0)
        return fc;
    if ((tc = need_col(g, t, "t", "the times")) < 0)
        return tc;
    int sc = st_table_col(t, "stay");
    int pc[MAX_STATES];
    long lab[MAX_STATES];
    size_t K = 0;
    for (size_t j = 0; j < t->ncols && K < MAX_STATES; j++) {
        const char *n = t->names[j];
        char *end;
        if (n[0] != 'p' || n[1] < '0' || n[1] > '9')
            continue;
        long v = strtol(n + 1, &end, 10);
        if (*end)
            continue;
        pc[K] = (int)j;
        lab[K++] = v;
    }
    if (K == 0)
        return st_err_set(g->e, ST_EDATA, tab_name(t), 1, 0, "no probability columns p0, p1, ...: "
                          "stoch-plot transition draws mjp-infer --pmatrix-grid output");
    if (g->o->survival && sc < 0)
        return need_col(g, t, "stay", "the probability of no jump, for --survival");
    /* blocks of rows with one starting state */
    int rc = ST_OK;
    size_t cap = 16, nb = 0;
    size_t *bs = malloc(cap * sizeof *bs), *bn = malloc(cap * sizeof *bn);
    if (!bs || !bn) {
        free(bs);
        free(bn);
        return st_err_nomem(g->e, "plot");
    }
    for (size_t i = 0; i < t->nrows; i++) {
        if (i > 0 && st_table_get(t, i, (size_t)fc) == st_table_get(t, i - 1, (size_t)fc)) {
            bn[nb - 1]++;
            continue;
        }
        if (nb == cap) {
            cap *= 2;
            size_t *a = realloc(bs, cap * sizeof *bs), *b = a ? realloc(bn, cap * sizeof *bn) : NULL;
            if (a)
                bs = a;
            if (b)
                bn = b;
            if (!a || !b) {
                free(bs);
                free(bn);
                return st_err_nomem(g->e, "plot");
            }
        }
        bs[nb] = i;
        bn[nb++] = 1;
    }
    if (nb == 0) {
        free(bs);
        free(bn);
        return st_err_set(g->e, ST_EDATA, tab_name(t), 0, 0, "no rows to draw");
    }
    /* absorbing states: P_jj(t) = 1 at every time of j's own block */
    int absorbing[MAX_STATES] = {0}, nabs = 0;
    for (size_t b = 0; b < nb; b++) {
        double a = st_table_get(t, bs[b], (size_t)fc);
        for (size_t k = 0; k < K; k++) {
            if ((double)lab[k] != a)
                continue;
            int all = 1;
            for (size_t i = bs[b]; i < bs[b] + bn[b] && all; i++)
                all = fabs(st_table_get(t, i, (size_t)pc[k]) - 1) < 1e-12;
            absorbing[k] = all && bn[b] > 1;
            nabs += absorbing[k];
        }
    }
    /* the starting states to draw */
    char **names = calloc(nb, sizeof *names);
    size_t *sel = calloc(nb, sizeof *sel), nsel = 0;
    if (!names || !sel) {
        rc = st_err_nomem(g->e, "plot");
        goto out;
    }
    for (size_t b = 0; b < nb; b++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.17g", st_table_get(t, bs[b], (size_t)fc));
        if (!(names[b] = strdup(buf))) {
            rc = st_err_nomem(g->e, "plot");
            goto out;
        }
        if (list_has(g->o->panels, buf))
            sel[nsel++] = b;
    }
    if ((rc = list_check(g, t, g->o->panels, (const char *const *)names, nb, "starting state")) < 0)
        goto out;
    if (g->o->survival) { /* absorbing starting states survive trivially: leave them out */
        size_t k = 0;
        for (size_t i = 0; i < nsel; i++) {
            size_t s = 0;
            while (s < K && (double)lab[s] != st_table_get(t, bs[sel[i]], (size_t)fc))
                s++;
            if (s == K || !absorbing[s] || g->o->panels)
                sel[k++] = sel[i];
        }
        nsel = k;
    }
    size_t maxp = g->o->max_panels ? g->o->max_panels : 12;
    if (!g->o->survival && nsel > maxp) {
        gp_note(g, "%s: drawing %zu of %zu starting states (choose with --panels)", tab_name(t), maxp, nsel);
        nsel = maxp;
    }
    size_t ncols, nrows, panels = g->o->survival ? 1 : nsel;
    gp_grid(panels, &ncols, &nrows);
    gp_header(g, g->o->survival ? "survival from each starting state" : "transition probabilities P(t)", ncols, nrows);
    int *blk = calloc(nsel, sizeof *blk);
    if (!blk) {
        rc = st_err_nomem(g->e, "plot");
        goto out;
    }
    for (size_t i = 0; i < nsel; i++) {
        size_t b = sel[i];
        blk[i] = gp_block(g);
        for (size_t r = bs[b]; r < bs[b] + bn[b]; r++) {
            gp_num(g, st_table_get(t, r, (size_t)tc));
            if (g->o->survival) {
                double absorbed = 0;
                for (size_t k = 0; k < K; k++)
                    if (absorbing[k])
                        absorbed += st_table_get(t, r, (size_t)pc[k]);
                gp_printf(g, " ");
                gp_num(g, st_table_get(t, r, (size_t)sc));
                gp_printf(g, " ");
                gp_num(g, 1 - absorbed);
            } else {
                for (size_t k = 0; k < K; k++) {
                    gp_printf(g, " ");
                    gp_num(g, st_table_get(t, r, (size_t)pc[k]));
                }
            }
            gp_printf(g, "\n");
        }
        gp_block_end(g);
    }
    if (g->o->survival) {
        gp_gridlines(g);
        gp_printf(g, "set autoscale xfix\nset yrange [0:1.02]\nset xlabel \"t\"\n");
        gp_printf(g, "set ylabel \"probability\"\nset key outside bottom center horizontal maxcols 2 samplen 2\n");
        if (g->o->title) {
            gp_printf(g, "set title ");
            gp_str(g, g->o->title);
            gp_printf(g, "\n");
        }
        gp_printf(g, "plot");
        for (size_t i = 0; i < nsel; i++) {
            const char *from = names[sel[i]];
            gp_printf(g, "%s$d%d using 1:2 with lines lw 2 lc rgb \"%s\" title \"from %s: no jump yet\"",
                      i ? ", \\\n    " : " ", blk[i], gp_color(i), from);
            if (nabs)
                gp_printf(g, ", \\\n    $d%d using 1:3 with lines lw 2 dt 2 lc rgb \"%s\" title \"from %s: not absorbed\"",
                          blk[i], gp_color(i), from);
        }
        gp_printf(g, "\n");
    } else {
        gp_key key = {0};
        for (size_t k = 0; k < K; k++) {
            char title[32];
            snprintf(title, sizeof title, "state %ld", lab[k]);
            gp_key_add(&key, title, "lines lw 1.5 lc rgb \"%s\" dt %zu", gp_color(k), 1 + k / 8 % 5);
        }
        gp_printf(g, "set multiplot\n");
        int band = gp_legend(g, &key);
        gp_gridlines(g);
        gp_printf(g, "set autoscale xfix\nset yrange [0:1.02]\nset xlabel \"t\"\nset ylabel \"P(state at t)\"\n");
        for (size_t i = 0; i < nsel; i++) {
            gp_printf(g, "set title \"from state %s\"\n", names[sel[i]]);
            gp_panel(g, i, ncols, nrows, band);
            if (nsel > 1) /* axis labels on the outer panels only */
                gp_printf(g, "%s\n%s\n", i % ncols == 0 ? "set ylabel \"P(state at t)\"" : "unset ylabel",
                          i + ncols >= nsel ? "set xlabel \"t\"" : "unset xlabel");
            gp_printf(g, "plot");
            for (size_t k = 0; k < K; k++)
                gp_printf(g, "%s$d%d using 1:%zu with %s notitle", k ? ", \\\n    " : " ", blk[i], 2 + k,
                          key.style[k < GP_KEY_MAX ? k : GP_KEY_MAX - 1]);
            gp_printf(g, "\n");
        }
        gp_printf(g, "unset multiplot\n");
    }
    free(blk);
out:
    if (names)
        for (size_t b = 0; b < nb; b++)
            free(names[b]);
    free(names);
    free(sel);
    free(bs);
    free(bn);
    return rc;
}

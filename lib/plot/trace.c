/* stoch-plot trace: traced values against the iteration (hmm-fit --trace's
 * logl per EM iteration, chains of samplers): one panel per traced column,
 * one line per run, a run being the rows with the same K, restart, chain
 * and seq (whichever the stream has), in a contiguous block. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot/internal.h"

#define MAX_Y 12

static const char *const group_names[] = {"K", "restart", "chain", "seq"};
#define NGROUP (sizeof group_names / sizeof group_names[0])

int plot_trace(gp *g, const st_plot_inputs *in)
{
    const st_table *t = in->main;
    const char *xname = g->o->time ? g->o->time : "iter";
    int xc = st_table_col(t, xname);
    if (xc < 0 && g->o->time)
        return need_col(g, t, xname, "the iteration, named by -t");
    int gc[NGROUP];
    size_t ngc = 0;
    for (size_t k = 0; k < NGROUP; k++)
        if ((gc[ngc] = st_table_col(t, group_names[k])) >= 0)
            ngc++;
    /* traced columns: -c, else all but the iteration and the run columns */
    int yc[MAX_Y];
    size_t ny = 0, ncand = 0, wanted = 0;
    const char **cand = calloc(t->ncols + 1, sizeof *cand);
    if (!cand)
        return st_err_nomem(g->e, "plot");
    for (size_t j = 0; j < t->ncols; j++) {
        int skip = (int)j == xc;
        for (size_t k = 0; k < ngc; k++)
            skip |= (int)j == gc[k];
        if (skip)
            continue;
        cand[ncand++] = t->names[j];
        if (list_has(g->o->columns, t->names[j]) && wanted++ < MAX_Y)
            yc[ny++] = (int)j;
    }
    int rc = list_check(g, t, g->o->columns, cand, ncand, "traced column");
    free(cand);
    if (rc < 0)
        return rc;
    if (xc < 0 && ny > 0 && st_plot_guess_kind(t) >= 0 && st_plot_guess_kind(t) != ST_PLOT_TRACE)
        return need_col(g, t, "iter", "the iteration");
    if (ny == 0)
        return st_err_set(g->e, ST_EDATA, tab_name(t), 1, 0, "no column to trace beside %s and the run columns",
                          xname);
    if (wanted > ny)
        gp_note(g, "%s: drawing %zu of %zu traced columns (choose with -c)", tab_name(t), ny, wanted);
    if (t->nrows == 0)
        return st_err_set(g->e, ST_EDATA, tab_name(t), 0, 0, "no rows to draw");
    /* runs: contiguous rows with the same values of the run columns */
    size_t nrun = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        int same = i > 0;
        for (size_t k = 0; k < ngc && same; k++)
            same = st_table_get(t, i, (size_t)gc[k]) == st_table_get(t, i - 1, (size_t)gc[k]);
        nrun += !same;
    }
    size_t ncols, nrows;
    gp_grid(ny, &ncols, &nrows);
    char what[64];
    snprintf(what, sizeof what, "%zu run%s of %zu traced column%s", nrun, nrun == 1 ? "" : "s", ny,
             ny == 1 ? "" : "s");
    gp_header(g, what, ncols, nrows);
    /* one block, runs separated by two blank lines: index r selects run r */
    int b = gp_block(g);
    gp_key key = {0};
    size_t run = 0, within = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        int same = i > 0;
        for (size_t k = 0; k < ngc && same; k++)
            same = st_table_get(t, i, (size_t)gc[k]) == st_table_get(t, i - 1, (size_t)gc[k]);
        if (!same) {
            if (i > 0)
                gp_printf(g, "\n\n");
            char label[96] = "", part[48];
            for (size_t k = 0; k < ngc; k++) {
                const char *nm = t->names[gc[k]];
                snprintf(part, sizeof part, "%s%s%s%.10g", k ? " " : "", nm, strcmp(nm, "K") == 0 ? "=" : " ",
                         st_table_get(t, i, (size_t)gc[k]));
                strncat(label, part, sizeof label - strlen(label) - 1);
            }
            gp_key_add(&key, ngc ? label : "run", "lines lw 1.5 lc rgb \"%s\" dt %zu", gp_color(run),
                       1 + run / 8 % 5);
            run++;
            within = 0;
        }
        gp_num(g, xc >= 0 ? st_table_get(t, i, (size_t)xc) : (double)++within);
        for (size_t k = 0; k < ny; k++) {
            gp_printf(g, " ");
            gp_num(g, st_table_get(t, i, (size_t)yc[k]));
        }
        gp_printf(g, "\n");
    }
    gp_block_end(g);
    int legend = (nrun > 1 && nrun <= GP_KEY_MAX) || g->o->title;
    if (nrun > GP_KEY_MAX || nrun < 2)
        key.n = 0; /* the band holds the title only */
    if (nrun > GP_KEY_MAX)
        gp_note(g, "%s: %zu runs: drawn without a key", tab_name(t), nrun);
    gp_printf(g, "set multiplot\n");
    int band = legend ? gp_legend(g, &key) : 0;
    gp_gridlines(g);
    gp_printf(g, "set autoscale xfix\n");
    for (size_t k = 0; k < ny; k++) {
        gp_panel(g, k, ncols, nrows, band);
        gp_printf(g, "set xlabel ");
        gp_str(g, k + ncols >= ny ? xname : "");
        gp_printf(g, "\nset ylabel ");
        gp_str(g, t->names[yc[k]]);
        gp_printf(g, "\n");
        if (nrun > GP_KEY_MAX) { /* many runs: one colour, a loop */
            gp_printf(g, "plot for [r=0:%zu] $d%d index r using 1:%zu with lines lw 0.8 lc rgb \"%s\" notitle\n",
                      nrun - 1, b, 2 + k, gp_color(0));
            continue;
        }
        gp_printf(g, "plot");
        for (size_t r = 0; r < nrun; r++)
            gp_printf(g, "%s$d%d index %zu using 1:%zu with lines lw 1.5 lc rgb \"%s\" dt %zu notitle",
                      r ? ", \\\n    " : " ", b, r, 2 + k, gp_color(r), 1 + r / 8 % 5);
        gp_printf(g, "\n");
    }
    gp_printf(g, "unset multiplot\n");
    return ST_OK;
}

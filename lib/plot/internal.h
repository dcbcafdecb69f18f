/* lib/plot internals: the script writer the kinds share (script.c) and one
 * entry point per kind (forecast.c, states.c, smooth.c, curves.c,
 * transition.c, trace.c). */
#ifndef ST_PLOT_INTERNAL_H
#define ST_PLOT_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "plot/plot.h"

/* The script being written.  Writes to fp are checked once, at the end
 * (ferror), by st_plot_script. */
typedef struct gp {
    FILE *fp;
    const st_plot_opts *o;
    st_plot_note_fn note;
    void *ctx;
    st_err *e;
    int nblock;    /* datablocks written: $d1, $d2, ... */
    int date_axis; /* x values are times printed as dates (--dates) */
    int w, h;      /* canvas size set by gp_header: pixels (characters for dumb) */
} gp;

/* ---- the script ---- */

void gp_printf(gp *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A gnuplot string literal: double quotes, with \ and " escaped. */
void gp_str(gp *g, const char *s);
/* A number as it reads back exactly, "NaN" for any non-finite value. */
void gp_num(gp *g, double x);
/* An x value: a date under --dates, else a number. */
void gp_x(gp *g, double t);
/* Start a datablock; returns its number n (the block is $dn). */
int gp_block(gp *g);
void gp_block_end(gp *g);
/* Comments, terminal, output and common settings, for a figure of
 * ncols x nrows panels (0 x 0: one panel); what: a short description. */
void gp_header(gp *g, const char *what, size_t ncols, size_t nrows);
/* set xrange [lo:hi] (quoted dates under --dates; after gp_xaxis). */
void gp_xrange(gp *g, double lo, double hi);
/* Light grid lines (none in text). */
void gp_gridlines(gp *g);
/* Date axis settings when g->date_axis, for times tlo .. thi. */
void gp_xaxis(gp *g, double tlo, double thi);
void gp_note(gp *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Colours: the i-th of a colour-blind-safe palette (cycling), and its tint
 * towards white (white = 0: the colour, 1: white), as "#rrggbb". */
const char *gp_color(size_t i);
void gp_tint(size_t i, double white, char out[8]);

/* Panels: columns and rows for n small multiples. */
void gp_grid(size_t n, size_t *ncols, size_t *nrows);
/* Small multiples without gnuplot's layout: the screen margins of panel i
 * (row-major) of an ncols x nrows grid under a band of `top` pixels (a
 * shared key), with room for each panel's title and tick labels. */
void gp_panel(gp *g, size_t i, size_t ncols, size_t nrows, int top);
/* The screen y that is px pixels below the top. */
double gp_below(const gp *g, int px);
/* A shared key: entries of a plot style ("lines lc rgb \"#0072B2\"") and
 * a title; in a multiplot, before the panels, gp_legend draws it alone in
 * a band at the top and returns the band's height in pixels (for
 * gp_panel); it leaves the key off and the axes on. */
#define GP_KEY_MAX 32
typedef struct gp_key {
    size_t n;
    char style[GP_KEY_MAX][112];
    char title[GP_KEY_MAX][96];
} gp_key;
void gp_key_add(gp_key *k, const char *title, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int gp_legend(gp *g, const gp_key *k);

/* ---- the streams ---- */

const char *tab_name(const st_table *t);
/* Column j of t by name, or an ST_EDATA error naming the stream, the
 * column and what the kind needs it for (with a hint when the stream looks
 * like another kind's).  Returns the index or a negative code. */
int need_col(gp *g, const st_table *t, const char *name, const char *role);
/* Groups by the seq column (one group without it), checked contiguous. */
int seq_groups(gp *g, const st_table *t, st_group **gr, size_t *n);
/* Keep the groups whose seq is in --seq (all without it), at most
 * max_panels (a note says what was left out); *n is updated in place. */
int select_groups(gp *g, const st_table *t, st_group *gr, size_t *n);
/* Does comma list `list` (NULL: everything) name `name`? */
int list_has(const char *list, const char *name);
/* Check that every name of list is among names[0..n-1] (else ST_EDATA
 * naming the stream t and listing what there is). */
int list_check(gp *g, const st_table *t, const char *list, const char *const *names, size_t n, const char *what);
/* Smallest and largest finite value of column j of t over rows [a, b). */
void col_range(const st_table *t, int j, size_t a, size_t b, double *lo, double *hi);

/* ---- the kinds ---- */

int plot_forecast(gp *g, const st_plot_inputs *in);
int plot_states(gp *g, const st_plot_inputs *in);
int plot_smooth(gp *g, const st_plot_inputs *in);
int plot_curves(gp *g, const st_plot_inputs *in);
int plot_transition(gp *g, const st_plot_inputs *in);
int plot_trace(gp *g, const st_plot_inputs *in);

#endif

/* Pictures of the toolkit's outputs: a gnuplot script (data inline, so it
 * is self-contained and editable) for each kind of picture, and gnuplot run
 * as a child process to render it (stoch-plot(1)).
 *
 * The kinds read streams by their column conventions only (ssm-forecast's
 * mean/lo80/hi80, hmm-decode's state/p0.., uq-eval --curves' fpr.S/tpr.S,
 * ...), never another family's headers: lib/plot depends on lib/core alone.
 *
 * Ownership: the caller owns the tables and options it passes;
 * st_plot_script writes into the caller's FILE; st_plot_run returns a
 * malloc'ed copy of gnuplot's messages for the caller to free. */
#ifndef ST_PLOT_PLOT_H
#define ST_PLOT_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "core/err.h"
#include "core/stream.h"

typedef enum {
    ST_PLOT_FORECAST = 0, /* ssm-forecast: history, mean, interval fans */
    ST_PLOT_STATES,       /* hmm-decode --with-data: observations over state bands */
    ST_PLOT_SMOOTH,       /* pf-smooth, ssm-forecast --smooth: smoothed means with intervals */
    ST_PLOT_ROC,          /* uq-eval --curves */
    ST_PLOT_PR,
    ST_PLOT_REJECTION,
    ST_PLOT_TRANSITION,   /* mjp-infer --pmatrix-grid */
    ST_PLOT_TRACE,        /* hmm-fit --trace, chains */
    ST_PLOT_NKINDS
} st_plot_kind;

/* "forecast" .. "trace" and back (-1 for an unknown name). */
const char *st_plot_kind_name(st_plot_kind k);
int st_plot_kind_parse(const char *s);

typedef enum {
    ST_PLOT_PNG = 0, /* pngcairo, else libgd png */
    ST_PLOT_SVG,
    ST_PLOT_PDF,     /* pdfcairo */
    ST_PLOT_DUMB,    /* text */
    ST_PLOT_SIXEL    /* sixelgd, else text */
} st_plot_term;

/* "png", "svg", "pdf", "dumb", "sixel" and back (-1 if unknown). */
const char *st_plot_term_name(st_plot_term t);
int st_plot_term_parse(const char *s);
/* The terminal for an output file name by its suffix (.png .svg .pdf, any
 * case); -1 for another suffix. */
int st_plot_term_for_path(const char *path);

/* A date axis for a numeric time column: t = 1 is `first`, each unit of t
 * one `step` (ST_PLOT_STEP_*), shown at day resolution. */
enum { ST_PLOT_STEP_DAY = 1, ST_PLOT_STEP_WEEK, ST_PLOT_STEP_MONTH, ST_PLOT_STEP_QUARTER, ST_PLOT_STEP_YEAR };
typedef struct st_plot_dates {
    int step;            /* 0: no date axis */
    int year, month, day; /* the date of t = 1 */
} st_plot_dates;
/* Parse "YYYY[-MM[-DD]]" or "YYYY-Qn", optionally ",STEP" (day, week,
 * month, quarter, year; default from the date's form: year, month, day,
 * quarter).  Returns 0 or -1. */
int st_plot_dates_parse(const char *s, st_plot_dates *d);
/* Days since 1970-01-01 of time t under d (t need not be an integer). */
double st_plot_dates_day(const st_plot_dates *d, double t);

typedef struct st_plot_opts {
    st_plot_kind kind;
    st_plot_term term;
    const char *output;   /* file gnuplot writes; NULL: its standard output */
    int width, height;    /* pixels (characters for dumb); 0: by the layout */
    int ansi;             /* dumb: ANSI colours (for a terminal) */
    const char *title;    /* NULL: from the kind and the input */
    const char *columns;  /* -c: data value column (forecast, smooth), observation
                             columns (states), scores (roc, pr, rejection), traced
                             columns (trace); NULL: the default */
    const char *time;     /* -t: time column of the data stream (default t) */
    const char *seqs;     /* --seq LIST: sequences to draw ("1,3..5"); NULL: all */
    size_t max_panels;    /* small multiples at most (default 12 when 0) */
    const char *panels;   /* smooth: states/components; transition: starting states */
    int survival;         /* transition: survival curves instead of P(t) rows */
    size_t max_draws;     /* smooth: trajectories drawn at most (default 20 when 0) */
    st_plot_dates dates;  /* --dates */
} st_plot_opts;

void st_plot_opts_init(st_plot_opts *o);

/* What a picture is drawn from: the kind's stream, and for forecast and
 * smooth optionally the observations (data) and, for smooth, sampled
 * trajectories (pf-smooth --draws).  May be NULL except main. */
typedef struct st_plot_inputs {
    const st_table *main, *data, *draws;
} st_plot_inputs;

/* Notes for the user (what was left out, e.g. "showing 12 of 40 series");
 * the caller prints them.  NULL: none. */
typedef void (*st_plot_note_fn)(void *ctx, const char *msg);

/* Write the gnuplot script of the picture to fp.  Errors: a stream that
 * lacks the columns of the kind (ST_EDATA, naming the file and, when the
 * stream is recognisably another kind's, that kind), bad options for the
 * stream (ST_EUSAGE). */
int st_plot_script(FILE *fp, const st_plot_opts *o, const st_plot_inputs *in, st_plot_note_fn note, void *ctx,
                   st_err *e);

/* What kind of picture a stream is for, from its columns (-1: none). */
int st_plot_guess_kind(const st_table *t);

/* Run `prog` (a program name looked up in PATH, or a path; NULL:
 * "gnuplot") with the script on its standard input and its standard
 * output on ours, no shell.  Its standard error is collected into *msgs
 * (malloc'ed, may be NULL when empty).  A missing program is ST_EIO with
 * how to install gnuplot; a failing one (exit status, signal) is ST_EIO
 * with gnuplot's first error line. */
int st_plot_run(const char *prog, const char *script, size_t len, char **msgs, st_err *e);

/* Whether the terminal on fd answers a primary device attributes query
 * with sixel graphics (attribute 4); waits at most timeout_ms for the
 * answer.  0 when fd is not a terminal or does not answer. */
int st_plot_tty_sixel(int fd, int timeout_ms);
/* Whether a device attributes answer ("ESC [ ? 62 ; 4 ; 22 c") lists 4. */
int st_plot_da1_sixel(const char *answer);

#endif

/* Progress of long runs: one reporter for every program.
 *
 * On a terminal the reporter keeps a single self-updating line on stderr:
 *     hmm-fit: EM K=3 restart 2/4  37/120 fits  2.5/s  ETA 0:33
 * redrawn at most ten times a second; when the run ends it is redrawn once
 * more with the count and the time taken and kept.  On a non-terminal it writes nothing, unless the user asked for -v: then it
 * writes plain lines, at most one every few seconds (and one at the end),
 * so that a log file stays readable.  -q silences it everywhere.
 *
 * The library never prints: a library routine that runs long takes an
 * st_progress_fn (and its context) and calls it with its own count of work
 * done; a program passes st_progress_fn_update with its reporter.
 *
 * The clock and the stream are injectable so that the unit tests can check
 * the rate limiting and the formatting without sleeping. */
#ifndef ST_CORE_PROGRESS_H
#define ST_CORE_PROGRESS_H

#include <stdio.h>

/* What a library routine calls with the work done so far (total may be 0 if
 * unknown).  NULL means no progress is wanted. */
typedef void (*st_progress_fn)(void *ctx, double done, double total);

typedef enum {
    ST_PROGRESS_OFF = 0, /* -q, or a non-terminal without -v */
    ST_PROGRESS_TTY,     /* a self-updating line */
    ST_PROGRESS_LINES    /* plain lines at a bounded rate */
} st_progress_mode;

/* Mode for a verbosity (0 with -q, 1 by default, 2+ with -v) and whether
 * the stream is a terminal. */
st_progress_mode st_progress_pick(int verbosity, int is_tty);

typedef struct st_progress {
    st_progress_mode mode;
    FILE *fp;              /* stderr unless a test injects another */
    double (*clock)(void); /* seconds, monotonic; NULL: CLOCK_MONOTONIC */
    const char *prog;      /* "hmm-fit" */
    char what[96];         /* what is being done: "EM K=3 restart 2/4" */
    char unit[24];         /* what is counted: "iterations" */
    double done, total;    /* total 0: unknown (no ETA) */
    double t0;             /* start of the current phase */
    double tstart;         /* start of the run */
    double last;           /* time of the last line written (-1: never) */
    double tty_interval;   /* minimum seconds between redraws on a terminal */
    double line_interval;  /* minimum seconds between plain lines */
    int shown;             /* a terminal line is on screen */
    size_t width;          /* its length, to blank it */
} st_progress;

/* Set up a reporter for program prog in the given mode, writing to fp with
 * the clock (both may be NULL: stderr and the monotonic clock). */
void st_progress_init(st_progress *p, const char *prog, st_progress_mode mode, FILE *fp, double (*clock)(void));

/* Start a phase: what is done, what unit is counted, how many (0 if
 * unknown).  Resets the count and the rate. */
void st_progress_begin(st_progress *p, const char *what, const char *unit, double total);

/* Change the description of the current phase without resetting the count
 * (printf-style). */
void st_progress_what(st_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the work done so far; writes a line if the rate limit allows. */
void st_progress_update(st_progress *p, double done);

/* For library hooks: ctx is an st_progress; a total other than 0 replaces
 * the phase's total. */
void st_progress_fn_update(void *ctx, double done, double total);

/* Before the program writes its own message on stderr: blank the terminal
 * line (it is redrawn by the next update). */
void st_progress_clear(st_progress *p);

/* st_progress_clear on the program's reporter if it has one that writes
 * (st_cli_log and st_cli_finish call it before they print). */
void st_progress_clear_active(void);

/* End of the run: write the final line (count and time taken), on a
 * terminal over the self-updating one, followed by a newline. */
void st_progress_end(st_progress *p);

/* The line as it would be shown now, without the program name, into buf
 * ("37/120 fits  2.5/s  ETA 0:33").  For tests and for st_progress_end. */
void st_progress_format(const st_progress *p, double now, char *buf, size_t size);

#endif

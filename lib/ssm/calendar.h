/* The time axis of a series for ssm-forecast: its frequency (daily,
 * weekly, monthly, quarterly, yearly; inferred from a date or month column,
 * from integers written YYYYMM, or given), the regular grid the
 * observations are placed on (a missing period becomes a missing value, so
 * seasonal positions stay those of the calendar), the seasonal period the
 * frequency implies and the times of forecasts.  Plain numeric times keep
 * their own steps.  Ownership: plain structs; st_ssm_regularize allocates
 * its outputs. */
#ifndef ST_SSM_CALENDAR_H
#define ST_SSM_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/stream.h"

typedef enum {
    ST_FREQ_NONE = 0, /* plain numbers, or no time column */
    ST_FREQ_DAILY,
    ST_FREQ_WEEKLY,
    ST_FREQ_MONTHLY,
    ST_FREQ_QUARTERLY,
    ST_FREQ_YEARLY,
    ST_FREQ_SECONDS   /* timestamps a fixed number of seconds apart */
} st_freq;

/* "daily", ..., and back (-1 for an unknown name). */
const char *st_freq_name(st_freq f);
int st_freq_parse(const char *s, st_freq *f);
/* The seasonal period of a frequency: 7 daily, 52 weekly, 12 monthly, 4
 * quarterly, 1 otherwise. */
int st_freq_period(st_freq f);

typedef struct st_ssm_calendar {
    st_dtype tdtype;  /* the time column's type (ST_F8 for numbers) */
    int yyyymm;       /* numbers written YYYYMM (196012): months */
    st_freq freq;
    int month_end;    /* monthly dates on the last day of their month */
    int mday;         /* else their day of the month (1 for ST_MONTH) */
    double step;      /* ST_FREQ_SECONDS: seconds; ST_FREQ_NONE: the last step */
    int64_t origin;   /* grid index of the first observation */
} st_ssm_calendar;

/* Decide the axis of a series with times t[0..n-1] of type tdtype: the
 * given frequency (want != ST_FREQ_NONE, an error if the times are not on
 * its grid), or the one the times show (dates: the largest step that
 * divides every gap: 1 day, 7 days, 1, 3 or 12 months on a fixed day or
 * the month's end; months: 1, 3 or 12; integers YYYYMM with a month 1..12
 * and a year of 4 digits: months, like a month column).  Times must be
 * present and increase strictly. */
int st_ssm_calendar_infer(st_dtype tdtype, const double *t, size_t n, st_freq want,
                          st_ssm_calendar *c, st_err *e);

/* Place the n observations (p values each) on the grid: *ng points from
 * the first time to the last, y NaN where no observation falls, tg the
 * grid times (in the column's own units).  Plain numbers are kept as they
 * are (*ng = n). */
int st_ssm_regularize(const st_ssm_calendar *c, const double *t, const double *y, size_t n,
                      size_t p, double **yg, double **tg, size_t *ng, st_err *e);

/* The time k >= 1 steps after the last grid time tlast (tprev: the one
 * before it, for plain numbers; NAN if none). */
double st_ssm_calendar_after(const st_ssm_calendar *c, double tlast, double tprev, size_t k);

#endif

/* The time axis of a series (see calendar.h). */
#include "config.h"

#include "ssm/calendar.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const NAMES[] = {"none", "daily", "weekly", "monthly", "quarterly", "yearly", "seconds"};

const char *st_freq_name(st_freq f)
{
    return (unsigned)f <= ST_FREQ_SECONDS ? NAMES[f] : "?";
}

int st_freq_parse(const char *s, st_freq *f)
{
    for (int i = ST_FREQ_DAILY; i <= ST_FREQ_YEARLY; i++)
        if (!strcmp(s, NAMES[i])) {
            *f = (st_freq)i;
            return 0;
        }
    return -1;
}

int st_freq_period(st_freq f)
{
    switch (f) {
    case ST_FREQ_DAILY: return 7;
    case ST_FREQ_WEEKLY: return 52;
    case ST_FREQ_MONTHLY: return 12;
    case ST_FREQ_QUARTERLY: return 4;
    default: return 1;
    }
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned D[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : D[m - 1];
}

/* months since year 0 of a days value */
static int64_t month_of_days(double days, unsigned *day, int *last)
{
    int64_t y;
    unsigned m, d;
    st_civil_from_days((int64_t)days, &y, &m, &d);
    if (day)
        *day = d;
    if (last)
        *last = d == days_in_month(y, m);
    return y * 12 + (int64_t)m - 1;
}

static int yyyymm_ok(double v)
{
    if (!(v == floor(v)) || v < 100001 || v > 999912)
        return 0;
    int64_t m = (int64_t)v % 100;
    return m >= 1 && m <= 12;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    if (a < 0)
        a = -a;
    if (b < 0)
        b = -b;
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* the grid index of a time and the index step of the frequency */
static int64_t grid_index(const st_ssm_calendar *c, double t)
{
    switch (c->freq) {
    case ST_FREQ_DAILY:
    case ST_FREQ_WEEKLY:
        return (int64_t)t;
    case ST_FREQ_MONTHLY:
    case ST_FREQ_QUARTERLY:
    case ST_FREQ_YEARLY:
        if (c->yyyymm)
            return (int64_t)t / 100 * 12 + (int64_t)t % 100 - 1;
        return month_of_days(t, NULL, NULL);
    case ST_FREQ_SECONDS:
        return (int64_t)t;
    default:
        return 0;
    }
}

static int64_t grid_step(const st_ssm_calendar *c)
{
    switch (c->freq) {
    case ST_FREQ_WEEKLY: return 7;
    case ST_FREQ_QUARTERLY: return 3;
    case ST_FREQ_YEARLY: return 12;
    case ST_FREQ_SECONDS: return (int64_t)c->step;
    default: return 1;
    }
}

static double grid_time(const st_ssm_calendar *c, int64_t idx)
{
    switch (c->freq) {
    case ST_FREQ_MONTHLY:
    case ST_FREQ_QUARTERLY:
    case ST_FREQ_YEARLY: {
        int64_t y = idx >= 0 ? idx / 12 : -((-idx + 11) / 12);
        unsigned m = (unsigned)(idx - y * 12) + 1;
        if (c->yyyymm)
            return (double)(y * 100 + m);
        unsigned dim = days_in_month(y, m);
        unsigned d = c->month_end ? dim : (unsigned)c->mday < dim ? (unsigned)c->mday : dim;
        return (double)st_days_from_civil(y, m, d);
    }
    default:
        return (double)idx;
    }
}

/* does time t sit on the monthly grid's day rule? */
static int on_day_rule(const st_ssm_calendar *c, double t)
{
    if (c->yyyymm || c->tdtype == ST_MONTH)
        return 1;
    unsigned d;
    int last;
    int64_t mi = month_of_days(t, &d, &last);
    int64_t y = mi / 12;
    unsigned m = (unsigned)(mi % 12) + 1, dim = days_in_month(y, m);
    if (c->month_end)
        return last;
    return d == ((unsigned)c->mday < dim ? (unsigned)c->mday : dim);
}

static int check_times(const double *t, size_t n, st_err *e)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(t[i]))
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "time is missing at row %zu of the series", i + 1);
        if (i > 0 && !(t[i] > t[i - 1]))
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "time is not increasing at row %zu of the series", i + 1);
    }
    return 0;
}

int st_ssm_calendar_infer(st_dtype tdtype, const double *t, size_t n, st_freq want,
                          st_ssm_calendar *c, st_err *e)
{
    memset(c, 0, sizeof *c);
    c->tdtype = tdtype;
    c->step = NAN;
    if (!t) /* no time column: positions 1..n */
        return 0;
    int rc = check_times(t, n, e);
    if (rc < 0 || n == 0)
        return rc;
    int yyyymm = st_dtype_is_numeric(tdtype);
    for (size_t i = 0; i < n && yyyymm; i++)
        yyyymm = yyyymm_ok(t[i]);
    if (st_dtype_is_numeric(tdtype) && !yyyymm) {
        /* plain numbers: their own steps; --freq sets the period only */
        c->freq = ST_FREQ_NONE;
        c->step = n >= 2 ? t[n - 1] - t[n - 2] : 1;
        return 0;
    }
    c->yyyymm = yyyymm;
    if (tdtype == ST_DATETIME) {
        int64_t g = 0;
        for (size_t i = 1; i < n; i++)
            g = gcd64(g, (int64_t)(t[i] - t[i - 1]));
        if (want == ST_FREQ_DAILY || want == ST_FREQ_WEEKLY) {
            int64_t s = want == ST_FREQ_DAILY ? 86400 : 604800;
            if (n >= 2 && g % s != 0)
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "timestamps are not %s apart", want == ST_FREQ_DAILY ? "whole days" : "whole weeks");
            g = s;
        } else if (want != ST_FREQ_NONE)
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "--freq %s needs dates (YYYY-MM-DD) or months (YYYY-MM), not timestamps", st_freq_name(want));
        c->freq = ST_FREQ_SECONDS;
        c->step = (double)(g > 0 ? g : 86400);
        c->origin = (int64_t)t[0];
        return 0;
    }
    if (tdtype == ST_DATE && !yyyymm) {
        int64_t g = 0, dmin = INT64_MAX;
        for (size_t i = 1; i < n; i++) {
            int64_t d = (int64_t)(t[i] - t[i - 1]);
            g = gcd64(g, d);
            dmin = d < dmin ? d : dmin;
        }
        unsigned d0;
        int last0;
        month_of_days(t[0], &d0, &last0);
        c->month_end = last0 && d0 >= 28;
        c->mday = (int)d0;
        /* monthly: at least 28 days apart, on one day of the month (or its end) */
        int monthly_ok = n >= 2 && dmin >= 28;
        c->freq = ST_FREQ_MONTHLY;
        for (size_t i = 0; i < n && monthly_ok; i++)
            monthly_ok = on_day_rule(c, t[i]);
        if (want == ST_FREQ_DAILY || (want == ST_FREQ_NONE && !monthly_ok && g % 7 != 0)) {
            c->freq = ST_FREQ_DAILY;
        } else if (want == ST_FREQ_WEEKLY || (want == ST_FREQ_NONE && !monthly_ok)) {
            if (n >= 2 && g % 7 != 0)
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "dates are not whole weeks apart (use --freq daily)");
            c->freq = ST_FREQ_WEEKLY;
        } else {
            if (!monthly_ok && n >= 2)
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "dates are not on a monthly grid (the same day of each month, or each month's end): use --freq daily or weekly");
        }
        if (c->freq == ST_FREQ_DAILY || c->freq == ST_FREQ_WEEKLY) {
            c->origin = (int64_t)t[0];
            return 0;
        }
    } else if (want == ST_FREQ_DAILY || want == ST_FREQ_WEEKLY)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "--freq %s needs dates (YYYY-MM-DD), not months", st_freq_name(want));
    /* months: ST_MONTH, monthly dates, or YYYYMM numbers */
    if (tdtype == ST_MONTH || yyyymm)
        c->mday = 1;
    c->freq = ST_FREQ_MONTHLY;
    int64_t g = 0, m0 = grid_index(c, t[0]);
    for (size_t i = 1; i < n; i++)
        g = gcd64(g, grid_index(c, t[i]) - m0);
    if (want == ST_FREQ_MONTHLY || want == ST_FREQ_QUARTERLY || want == ST_FREQ_YEARLY) {
        int64_t s = want == ST_FREQ_MONTHLY ? 1 : want == ST_FREQ_QUARTERLY ? 3 : 12;
        if (g % s != 0)
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "the times are not whole %s apart", want == ST_FREQ_QUARTERLY ? "quarters" : want == ST_FREQ_YEARLY ? "years" : "months");
        c->freq = want;
    } else if (n >= 2 && g % 12 == 0)
        c->freq = ST_FREQ_YEARLY;
    else if (n >= 2 && g % 3 == 0)
        c->freq = ST_FREQ_QUARTERLY;
    c->origin = m0;
    return 0;
}

int st_ssm_regularize(const st_ssm_calendar *c, const double *t, const double *y, size_t n,
                      size_t p, double **yg, double **tg, size_t *ng, st_err *e)
{
    *yg = *tg = NULL;
    *ng = 0;
    size_t N = n;
    int64_t s = grid_step(c), i0 = n ? grid_index(c, t[0]) : 0;
    if (c->freq != ST_FREQ_NONE && n > 0) {
        int64_t span = (grid_index(c, t[n - 1]) - i0) / s + 1;
        if (span < (int64_t)n || span > (int64_t)(100 * n + 10000))
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "the times span %lld %s periods for %zu observations", (long long)span, st_freq_name(c->freq), n);
        N = (size_t)span;
    }
    double *Y = malloc((N ? N : 1) * p * sizeof(double)), *T = malloc((N ? N : 1) * sizeof(double));
    if (!Y || !T) {
        free(Y);
        free(T);
        return st_err_nomem(e, "series");
    }
    if (c->freq == ST_FREQ_NONE) {
        memcpy(Y, y, n * p * sizeof(double));
        if (t)
            memcpy(T, t, n * sizeof(double));
        else
            for (size_t i = 0; i < n; i++)
                T[i] = (double)(i + 1);
    } else {
        for (size_t k = 0; k < N * p; k++)
            Y[k] = NAN;
        for (size_t k = 0; k < N; k++)
            T[k] = grid_time(c, i0 + (int64_t)k * s);
        for (size_t i = 0; i < n; i++) {
            int64_t d = grid_index(c, t[i]) - i0;
            if (d % s != 0 || (c->freq >= ST_FREQ_MONTHLY && c->freq <= ST_FREQ_YEARLY && !on_day_rule(c, t[i]))) {
                free(Y);
                free(T);
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "time at row %zu of the series is not on the %s grid of the first", i + 1, st_freq_name(c->freq));
            }
            size_t k = (size_t)(d / s);
            if (i > 0 && k <= (size_t)((grid_index(c, t[i - 1]) - i0) / s)) {
                free(Y);
                free(T);
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "rows %zu and %zu of the series fall in the same %s period", i, i + 1, st_freq_name(c->freq));
            }
            memcpy(Y + k * p, y + i * p, p * sizeof(double));
        }
    }
    *yg = Y;
    *tg = T;
    *ng = N;
    return 0;
}

double st_ssm_calendar_after(const st_ssm_calendar *c, double tlast, double tprev, size_t k)
{
    if (c->freq == ST_FREQ_NONE) {
        double step = isnan(tprev) ? 1 : tlast - tprev;
        return tlast + (double)k * step;
    }
    return grid_time(c, grid_index(c, tlast) + (int64_t)k * grid_step(c));
}

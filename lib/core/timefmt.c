/* Times as text: ISO-8601 dates (2024-03-31), months (1960-01) and
 * timestamps (2024-03-31T12:00:00, with an optional zone) to days or
 * seconds since 1970-01-01 and back, in the proleptic Gregorian calendar
 * (the civil-from-days algorithms of H. Hinnant, "chrono-Compatible
 * Low-Level Date Algorithms"). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/stream_impl.h"

int64_t st_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void st_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28u + (unsigned)leap : dm[m - 1];
}

/* n decimal digits at s; -1 if any is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Bounds of the representable years 0000 to 9999. */
#define MIN_DAYS (-719528.0)  /* 0000-01-01 */
#define MAX_DAYS (2932896.0)  /* 9999-12-31 */

int st_time_parse(const char *s, size_t n, st_dtype *kind, double *v)
{
    while (n && *s == ' ')
        s++, n--;
    while (n && s[n - 1] == ' ')
        n--;
    if (n < 7 || s[4] != '-')
        return -1;
    int y = digits(s, 4), m = digits(s + 5, 2);
    if (y < 0 || m < 1 || m > 12)
        return -1;
    if (n == 7) {
        *kind = ST_MONTH;
        *v = (double)st_days_from_civil(y, (unsigned)m, 1);
        return 0;
    }
    if (n < 10 || s[7] != '-')
        return -1;
    int d = digits(s + 8, 2);
    if (d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
        return -1;
    double days = (double)st_days_from_civil(y, (unsigned)m, (unsigned)d);
    if (n == 10) {
        *kind = ST_DATE;
        *v = days;
        return 0;
    }
    /* a timestamp: [T ]HH:MM[:SS][zone] */
    if ((s[10] != 'T' && s[10] != ' ') || n < 16 || s[13] != ':')
        return -1;
    int hh = digits(s + 11, 2), mm = digits(s + 14, 2), ss = 0;
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
        return -1;
    size_t k = 16;
    if (k < n && s[k] == ':') {
        if (n < k + 3 || (ss = digits(s + k + 1, 2)) < 0 || ss > 59)
            return -1;
        k += 3;
    }
    long off = 0;
    if (k < n) {
        if (s[k] == 'Z' && k + 1 == n) {
            k++;
        } else if (s[k] == '+' || s[k] == '-') {
            int sign = s[k] == '-' ? -1 : 1, oh, om = 0;
            size_t rest = n - k - 1;
            const char *z = s + k + 1;
            if (rest == 2)
                oh = digits(z, 2);
            else if (rest == 4)
                oh = digits(z, 2), om = digits(z + 2, 2);
            else if (rest == 5 && z[2] == ':')
                oh = digits(z, 2), om = digits(z + 3, 2);
            else
                return -1;
            if (oh < 0 || oh > 23 || om < 0 || om > 59)
                return -1;
            off = sign * (oh * 3600L + om * 60L);
            k = n;
        } else {
            return -1;
        }
    }
    if (k != n)
        return -1;
    *kind = ST_DATETIME;
    *v = days * 86400.0 + hh * 3600.0 + mm * 60.0 + ss - (double)off;
    return 0;
}

static int put_date(char *buf, double days, int month_only)
{
    if (!(days >= MIN_DAYS && days <= MAX_DAYS) || days != floor(days))
        return -1;
    int64_t y;
    unsigned m, d;
    st_civil_from_days((int64_t)days, &y, &m, &d);
    if (month_only) {
        if (d != 1)
            return -1;
        return sprintf(buf, "%04d-%02u", (int)y, m);
    }
    return sprintf(buf, "%04d-%02u-%02u", (int)y, m, d);
}

int st_time_format(char *buf, st_dtype kind, double v)
{
    buf[0] = '\0';
    if (isnan(v))
        return 0;
    switch (kind) {
    case ST_DATE:
        return put_date(buf, v, 0);
    case ST_MONTH:
        return put_date(buf, v, 1);
    case ST_DATETIME: {
        if (!(v >= MIN_DAYS * 86400.0 && v < (MAX_DAYS + 1) * 86400.0) || v != floor(v))
            return -1;
        double days = floor(v / 86400.0);
        int64_t sec = (int64_t)(v - days * 86400.0);
        int k = put_date(buf, days, 0);
        if (k < 0)
            return -1;
        return k + sprintf(buf + k, "T%02d:%02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
    }
    default:
        return -1;
    }
}

/* Numbers as text: CSV cell parsing and shortest round-trip printing.
 *
 * Parsing: a cell in plain decimal notation with at most 19 significant
 * digits whose value is m * 10^k with m <= 2^53 and |k| <= 22 is converted
 * with one correctly rounded multiplication or division (Clinger's fast
 * path), which gives exactly strtod's result; everything else goes to
 * strtod.  Printing: the shortest decimal that reads back to the same
 * double (15 significant digits suffice for most values; else 16, else 17),
 * in a fixed layout so that every path gives the same bytes. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/stream_impl.h"

static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const char *const dtype_names[] = {"<f8", "<f4", "<i8", "<i4"};

const char *st_dtype_name(st_dtype d)
{
    return (unsigned)d < 4 ? dtype_names[d] : "?";
}

int st_dtype_parse(const char *s, st_dtype *d)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, dtype_names[i]) == 0) {
            *d = (st_dtype)i;
            return 0;
        }
    return -1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int word_eq(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

int st_num_parse(const char *s, size_t len, double *out)
{
    const char *p = s, *end = s + len;
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    size_t n = (size_t)(end - p);
    if (n == 0 || (n == 2 && p[0] == 'N' && p[1] == 'A') || word_eq(p, n, "nan")) {
        *out = NAN;
        return 1;
    }
    const char *q = p;
    int neg = 0;
    if (*q == '-' || *q == '+') {
        neg = *q == '-';
        q++;
    }
    uint64_t m = 0;
    int nd = 0, any = 0, trunc = 0;
    long exp10 = 0;
    for (; q < end && is_digit(*q); q++) {
        any = 1;
        int d = *q - '0';
        if (m == 0 && d == 0)
            continue;
        if (nd < 19) {
            m = m * 10 + (uint64_t)d;
            nd++;
        } else {
            exp10++;
            trunc |= d != 0;
        }
    }
    if (q < end && *q == '.') {
        for (q++; q < end && is_digit(*q); q++) {
            any = 1;
            int d = *q - '0';
            if (m == 0 && d == 0) {
                exp10--;
                continue;
            }
            if (nd < 19) {
                m = m * 10 + (uint64_t)d;
                nd++;
                exp10--;
            } else {
                trunc |= d != 0;
            }
        }
    }
    if (!any) {
        size_t k = (size_t)(end - q);
        if (word_eq(q, k, "inf") || word_eq(q, k, "infinity")) {
            *out = neg ? -INFINITY : INFINITY;
            return 0;
        }
        return -1;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        int eneg = 0;
        if (q < end && (*q == '-' || *q == '+')) {
            eneg = *q == '-';
            q++;
        }
        if (q == end || !is_digit(*q))
            return -1;
        long ev = 0;
        for (; q < end && is_digit(*q); q++)
            if (ev < 100000000)
                ev = ev * 10 + (*q - '0');
        exp10 += eneg ? -ev : ev;
    }
    if (q != end)
        return -1;
    if (m == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    if (!trunc && m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
        *out = neg ? -v : v;
        return 0;
    }
    /* Exact fallback: strtod on a NUL-terminated copy of the cell. */
    char small[128];
    char *tmp = n < sizeof small ? small : malloc(n + 1);
    if (!tmp)
        return -1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    if (tmp != small)
        free(tmp);
    return 0;
}

/* ---- printing ---- */

/* Lay out digits d[0..nd) (no trailing zeros, nd >= 1) with decimal
 * exponent e10 of the first digit: fixed notation for 1e-5 <= |x| < 1e16,
 * else d.ddde+XX as printf's %e does. */
static int layout(char *buf, int neg, const char *d, int nd, int e10)
{
    char *p = buf;
    if (neg)
        *p++ = '-';
    if (e10 >= -5 && e10 < 16) {
        if (e10 >= 0) {
            for (int i = 0; i <= e10; i++)
                *p++ = i < nd ? d[i] : '0';
            if (nd > e10 + 1) {
                *p++ = '.';
                for (int i = e10 + 1; i < nd; i++)
                    *p++ = d[i];
            }
        } else {
            *p++ = '0';
            *p++ = '.';
            for (int i = 0; i < -e10 - 1; i++)
                *p++ = '0';
            for (int i = 0; i < nd; i++)
                *p++ = d[i];
        }
    } else {
        *p++ = d[0];
        if (nd > 1) {
            *p++ = '.';
            for (int i = 1; i < nd; i++)
                *p++ = d[i];
        }
        p += sprintf(p, "e%c%02d", e10 < 0 ? '-' : '+', e10 < 0 ? -e10 : e10);
    }
    *p = '\0';
    return (int)(p - buf);
}

/* Digits and exponent from "%.*e" output such as "-1.2345e+07". */
static int split_e(const char *s, char *d, int *e10)
{
    int nd = 0;
    if (*s == '-')
        s++;
    for (; *s && *s != 'e'; s++)
        if (is_digit(*s))
            d[nd++] = *s;
    *e10 = atoi(s + 1);
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    return nd;
}

static int special(char *buf, double x)
{
    if (isnan(x))
        return sprintf(buf, "NaN");
    if (isinf(x))
        return sprintf(buf, x < 0 ? "-Inf" : "Inf");
    if (x == 0)
        return sprintf(buf, signbit(x) ? "-0" : "0");
    return -1;
}

int st_format_double(char *buf, double x)
{
    int k = special(buf, x);
    if (k >= 0)
        return k;
    double ax = fabs(x);
    char d[40];
    int e10;
    /* Fast path: x = y / 10^k exactly as strtod would read it, y an integer
     * below 10^15.  A decimal of at most 15 significant digits that reads
     * back to x is unique (DBL_DIG = 15), so this is the same answer as the
     * %.15e path below, only cheaper. */
    if (ax >= 1e-5 && ax < 1e15) {
        for (int j = 0; j <= 22; j++) {
            double y = ax * pow10_exact[j];
            if (y >= 1e15)
                break;
            if (y == floor(y) && y / pow10_exact[j] == ax) {
                uint64_t v = (uint64_t)y;
                char tmp[24];
                int n = 0;
                while (v) {
                    tmp[n++] = (char)('0' + v % 10);
                    v /= 10;
                }
                for (int i = 0; i < n; i++)
                    d[i] = tmp[n - 1 - i];
                e10 = n - 1 - j;
                while (n > 1 && d[n - 1] == '0')
                    n--;
                return layout(buf, x < 0, d, n, e10);
            }
        }
    }
    char s[48];
    /* Subnormals carry fewer digits: there the search starts at 1. */
    for (int prec = ax < 2.2250738585072014e-308 ? 1 : 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*e", prec - 1, x);
        if (prec == 17 || strtod(s, NULL) == x)
            break;
    }
    int nd = split_e(s, d, &e10);
    return layout(buf, x < 0, d, nd, e10);
}

int st_format_float(char *buf, float x)
{
    int k = special(buf, x);
    if (k >= 0)
        return k;
    char s[48], d[40];
    int e10;
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(s, sizeof s, "%.*e", prec - 1, (double)x);
        if (prec == 9 || strtof(s, NULL) == x)
            break;
    }
    int nd = split_e(s, d, &e10);
    return layout(buf, x < 0, d, nd, e10);
}

int st_format_int(char *buf, double x)
{
    if (!(fabs(x) < 9.3e18))
        return st_format_double(buf, x);
    long long v = (long long)x;
    return sprintf(buf, "%lld", v);
}

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

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/stream_impl.h"

static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const char *const dtype_names[ST_NDTYPES] = {"<f8", "<f4", "<i8", "<i4", "str", "<M8[D]", "<M8[M]", "<M8[s]"};
static const char *const dtype_short[ST_NDTYPES] = {"f8", "f4", "i8", "i4", "str", "date", "month", "datetime"};

const char *st_dtype_name(st_dtype d)
{
    return (unsigned)d < ST_NDTYPES ? dtype_names[d] : "?";
}

int st_dtype_parse(const char *s, st_dtype *d)
{
    for (int i = 0; i < ST_NDTYPES; i++)
        if (strcmp(s, dtype_names[i]) == 0) {
            *d = (st_dtype)i;
            return 0;
        }
    return -1;
}

const char *st_dtype_short(st_dtype d)
{
    return (unsigned)d < ST_NDTYPES ? dtype_short[d] : "?";
}

int st_dtype_parse_short(const char *s, st_dtype *d)
{
    for (int i = 0; i < ST_NDTYPES; i++)
        if (strcmp(s, dtype_short[i]) == 0) {
            *d = (st_dtype)i;
            return 0;
        }
    return -1;
}

/* strtod in the C locale: a program that called setlocale() with a
 * decimal-comma LC_NUMERIC must still read "1.5" as 1.5. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static double c_strtod(const char *s)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale ? strtod_l(s, NULL, c_locale) : strtod(s, NULL);
}

static float c_strtof(const char *s)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale ? strtof_l(s, NULL, c_locale) : strtof(s, NULL);
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
    if (n == 0 || (n == 2 && p[0] == 'N' && p[1] == 'A') ||
        (n == 3 && (p[0] | 32) == 'n' && (p[1] | 32) == 'a' && (p[2] | 32) == 'n')) { /* not strncasecmp: a call per 3-byte cell */
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
    int nd = 0, any = 0, trunc = 0, plain = 1;
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
        plain = 0;
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
        plain = 0;
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
    *out = c_strtod(tmp);
    if (tmp != small)
        free(tmp);
    if (isinf(*out))
        return -2; /* 1e400: not an infinity the file asked for */
    return plain ? 2 : 0; /* an integer beyond 2^53: the double is not the integer */
}

int st_is_int_text(const char *s, size_t len)
{
    while (len && *s == ' ')
        s++, len--;
    while (len && s[len - 1] == ' ')
        len--;
    if (len && (*s == '-' || *s == '+'))
        s++, len--;
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

int st_cell_class(const char *s, size_t len, int quoted)
{
    const char *p = s, *end = s + len;
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    size_t n = (size_t)(end - p);
    if (n == 0)
        return ST_C_MISSING;
    if (quoted && ((n == 2 && p[0] == 'N' && p[1] == 'A') || word_eq(p, n, "nan")))
        return ST_C_TEXT; /* "NA" in quotes is the string NA */
    double v;
    int rc = st_num_parse(p, n, &v);
    if (rc == 1)
        return ST_C_MISSING;
    if (rc == -2)
        return ST_C_OVERFLOW;
    if (rc >= 0) {
        if (!st_is_int_text(p, n))
            return ST_C_NUM;
        const char *d = p + (*p == '-' || *p == '+');
        if (d[0] == '0' && end - d > 1)
            return ST_C_TEXT; /* 007: a code, not the number 7 */
        return rc == 2 ? ST_C_BIGINT : ST_C_INT;
    }
    st_dtype kind;
    if (st_time_parse(p, n, &kind, &v) == 0)
        return kind == ST_DATE ? ST_C_DATE : kind == ST_MONTH ? ST_C_MONTH : ST_C_DATETIME;
    return ST_C_TEXT;
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

/* The double nearest d[0..nd) x 10^(e10 - nd + 1), as strtod gives it. */
static double decimal_value(const char *d, int nd, int e10)
{
    uint64_t m = 0;
    for (int i = 0; i < nd; i++)
        m = m * 10 + (uint64_t)(d[i] - '0');
    int k = e10 - nd + 1;
    if (m <= (UINT64_C(1) << 53) && k >= -22 && k <= 22)
        return k < 0 ? (double)m / pow10_exact[-k] : (double)m * pow10_exact[k];
    char s[48];
    snprintf(s, sizeof s, "%.*se%d", nd, d, k);
    return c_strtod(s);
}

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;

/* The 17 significant digits of ax correctly rounded (ties to even, as
 * printf does), exactly, for 1e-5 <= ax < 1e16: ax = m 2^e, and
 * q = round(m 2^e 10^s) is computed in 128-bit integers (m 10^s < 2^123,
 * the shift is at most 69 bits).  Returns 0 outside that range. */
static int digits17(double ax, char *d, int *e10)
{
    if (!(ax >= 1e-5 && ax < 1e16))
        return 0;
    int e2;
    double fr = frexp(ax, &e2);
    uint64_t m = (uint64_t)ldexp(fr, 53);
    int e = e2 - 53;
    const u128 lo = (u128)10000000000000000u, hi = lo * 10;
    int E = (int)floor(log10(ax));
    for (int tries = 0; tries < 3; tries++) {
        int s = 16 - E;
        if (s < 0 || s > 22)
            return 0;
        u128 p10 = s <= 19 ? (u128)(uint64_t)pow10_exact[s] : (u128)(uint64_t)pow10_exact[s - 10] * 10000000000u;
        u128 num = (u128)m * p10, q;
        if (e >= 0) {
            q = num << e;
        } else {
            int sh = -e;
            u128 rem = num & (((u128)1 << sh) - 1), half = (u128)1 << (sh - 1);
            q = num >> sh;
            if (rem > half || (rem == half && (q & 1)))
                q++;
        }
        if (q >= hi) {
            E++;
            continue;
        }
        if (q < lo) {
            E--;
            continue;
        }
        uint64_t v = (uint64_t)q;
        for (int i = 16; i >= 0; i--) {
            d[i] = (char)('0' + v % 10);
            v /= 10;
        }
        *e10 = E;
        return 1;
    }
    return 0;
}
#else
static int digits17(double ax, char *d, int *e10)
{
    (void)ax, (void)d, (void)e10;
    return 0;
}
#endif

/* The p-digit decimal one unit in the last place above (up) or below the
 * digits d[0..*nd) (trailing zeros stripped) x 10^e10.  Returns the new
 * digit count (0 if there is none). */
static int other_neighbour(char *d, int *nd, int *e10, int p, int up)
{
    for (int i = *nd; i < p; i++)
        d[i] = '0';
    int i = p - 1;
    if (up) {
        while (i >= 0 && d[i] == '9')
            d[i--] = '0';
        if (i >= 0) {
            d[i]++;
        } else {
            d[0] = '1';
            (*e10)++;
        }
    } else {
        while (i >= 0 && d[i] == '0')
            d[i--] = '9';
        if (i < 0)
            return 0;
        d[i]--;
        if (d[0] == '0') { /* 1.000 - 1 ulp = 0.999: one digit fewer */
            memmove(d, d + 1, (size_t)p - 1);
            p--;
            (*e10)--;
        }
    }
    *nd = p;
    while (*nd > 1 && d[*nd - 1] == '0')
        (*nd)--;
    return *nd;
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
    if (ax < 2.2250738585072014e-308) {
        /* Subnormals carry fewer digits: search from 1 (rare, so plain). */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(s, sizeof s, "%.*e", prec - 1, x);
            if (prec == 17 || strtod(s, NULL) == x)
                break;
        }
        int nd = split_e(s, d, &e10);
        return layout(buf, x < 0, d, nd, e10);
    }
    /* One correctly rounded 17-digit expansion; the 15- and 16-digit
     * candidates are its roundings (exact unless its tail is a tie such as
     * "50", then printf is asked), each checked for a round trip. */
    uint64_t bits;
    memcpy(&bits, &ax, sizeof bits);
    int pow2 = (bits & ((UINT64_C(1) << 52) - 1)) == 0;
    char d17[17];
    int e17;
    if (!digits17(ax, d17, &e17)) {
        snprintf(s, sizeof s, "%.16e", ax);
        const char *c = s;
        for (int i = 0; i < 17; c++) /* any decimal point the locale uses */
            if (is_digit(*c))
                d17[i++] = *c;
        e17 = atoi(strchr(c, 'e') + 1);
    }
    for (int p = 15; p <= 16; p++) {
        int nd, tie = d17[p] == '5';
        for (int i = p + 1; i < 17 && tie; i++)
            tie = d17[i] == '0';
        if (tie) {
            snprintf(s, sizeof s, "%.*e", p - 1, ax);
            nd = split_e(s, d, &e10);
        } else {
            memcpy(d, d17, (size_t)p);
            e10 = e17;
            if (d17[p] >= '5') {
                int i = p - 1;
                while (i >= 0 && d[i] == '9')
                    d[i--] = '0';
                if (i >= 0) {
                    d[i]++;
                } else {
                    d[0] = '1'; /* 9.99..9 rounds up to 10.0..0 */
                    e10++;
                }
            }
            nd = p;
            while (nd > 1 && d[nd - 1] == '0')
                nd--;
        }
        double v = decimal_value(d, nd, e10);
        if (v == ax)
            return layout(buf, x < 0, d, nd, e10);
        /* At a power of two the doubles below are twice as dense, so the
         * rounding interval is lopsided: the p-digit decimal on the far
         * side of x can read back to x while the nearer one does not. */
        if (pow2 && other_neighbour(d, &nd, &e10, p, v < ax) && decimal_value(d, nd, e10) == ax)
            return layout(buf, x < 0, d, nd, e10);
    }
    int nd = 17;
    memcpy(d, d17, 17);
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    return layout(buf, x < 0, d, nd, e17);
}

int st_format_float(char *buf, float x)
{
    int k = special(buf, x);
    if (k >= 0)
        return k;
    float ax = fabsf(x);
    uint32_t bits;
    memcpy(&bits, &ax, sizeof bits);
    int pow2 = (bits & 0x7fffffu) == 0;
    char s[48], d[40];
    int e10, nd;
    /* As for doubles: correctly rounded 6..9 digits (from 1 for
     * subnormals), and the far neighbour at a power of two. */
    for (int p = ax < 1.17549435e-38f ? 1 : 6; p <= 9; p++) {
        snprintf(s, sizeof s, "%.*e", p - 1, (double)ax);
        nd = split_e(s, d, &e10);
        float v = c_strtof(s);
        if (p == 9 || v == ax)
            break;
        char d2[40];
        int nd2 = nd, e2 = e10;
        memcpy(d2, d, (size_t)nd);
        if (pow2 && other_neighbour(d2, &nd2, &e2, p, v < ax)) {
            char t[48];
            snprintf(t, sizeof t, "%.*se%d", nd2, d2, e2 - nd2 + 1);
            if (c_strtof(t) == ax)
                return layout(buf, x < 0, d2, nd2, e2);
        }
    }
    return layout(buf, x < 0, d, nd, e10);
}

int st_format_int(char *buf, double x)
{
    if (!(fabs(x) < 9.2e18))
        return st_format_double(buf, x);
    long long v = (long long)x;
    char tmp[24];
    int n = 0, k = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[k++] = '-';
    while (n)
        buf[k++] = tmp[--n];
    buf[k] = '\0';
    return k;
}

const char *st_cell_text(char *buf, st_dtype dt, const st_strdict *dict, double v)
{
    switch (dt) {
    case ST_STR: {
        if (isnan(v)) {
            buf[0] = '\0';
            return buf;
        }
        const char *t = st_strdict_str(dict, v);
        if (t)
            return t;
        break; /* not a code of dict: show the number */
    }
    case ST_DATE:
    case ST_MONTH:
    case ST_DATETIME:
        if (st_time_format(buf, dt, v) >= 0)
            return buf;
        break;
    case ST_I8:
    case ST_I4:
        if (v == floor(v)) {
            st_format_int(buf, v);
            return buf;
        }
        break;
    case ST_F4:
        st_format_float(buf, (float)v);
        return buf;
    default:
        break;
    }
    st_format_double(buf, v);
    return buf;
}

const char *st_ids_text(char *buf, st_dtype dt, double v)
{
    if (isnan(v))
        return NULL;
    if (st_dtype_is_time(dt) && st_time_format(buf, dt, v) >= 0)
        return buf;
    if (v == floor(v) && fabs(v) < 9.2e18)
        st_format_int(buf, v);
    else
        st_format_double(buf, v);
    return buf;
}

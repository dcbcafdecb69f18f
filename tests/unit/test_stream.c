/* Streams: CSV and binary reading/writing, number parsing and printing,
 * tables, seq groups, and every kind of bad input with its location. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "check_util.h"
#include "core/cli.h"
#include "core/stream.h"
#include "core/stream_impl.h"

/* ------------------------------------------------------------ helpers */

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/st_stream_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *tpath(const char *name)
{
    static char buf[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static const char *put_bytes(const char *name, const void *data, size_t n)
{
    const char *p = tpath(name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    return p;
}

static const char *put(const char *name, const char *text)
{
    return put_bytes(name, text, strlen(text));
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(d, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return d;
}

/* Read a whole file through the reader; returns the error code (0 ok) and
 * the formatted message in msg. */
static int read_all(const char *path, size_t *nrows, char *msg, size_t cap)
{
    st_err e;
    st_err_clear(&e);
    st_reader *r;
    size_t n = 0;
    int rc = st_reader_open(&r, path, &e);
    if (rc == 0) {
        double row[64];
        while ((rc = st_reader_next(r, row, &e)) == 1)
            n++;
        st_reader_free(r);
    }
    if (nrows)
        *nrows = n;
    msg[0] = '\0';
    if (rc < 0)
        st_err_format(&e, msg, cap);
    return rc;
}

/* The reader fails on path with a message containing every needle. */
static void expect_fail(const char *path, const char *needle1, const char *needle2)
{
    char msg[1024];
    int rc = read_all(path, NULL, msg, sizeof msg);
    ck_assert_msg(rc < 0, "expected an error for %s", path);
    ck_assert_msg(strstr(msg, needle1), "message '%s' lacks '%s'", msg, needle1);
    if (needle2)
        ck_assert_msg(strstr(msg, needle2), "message '%s' lacks '%s'", msg, needle2);
    ck_assert_ptr_null(strchr(msg, '\n'));
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    /* splitmix64: deterministic test inputs */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* ------------------------------------------------------- number parsing */

START_TEST(test_parse_cells)
{
    double v;
    ck_assert_int_eq(st_num_parse("1.5", 3, &v), 0);
    ck_assert_double_eq(v, 1.5);
    ck_assert_int_eq(st_num_parse(" -2e3 ", 6, &v), 0);
    ck_assert_double_eq(v, -2000);
    ck_assert_int_eq(st_num_parse("+.5", 3, &v), 0);
    ck_assert_double_eq(v, 0.5);
    ck_assert_int_eq(st_num_parse("7.", 2, &v), 0);
    ck_assert_double_eq(v, 7);
    ck_assert_int_eq(st_num_parse("-0", 2, &v), 0);
    ck_assert(v == 0 && signbit(v));
    ck_assert_int_eq(st_num_parse("", 0, &v), 1);
    ck_assert(isnan(v));
    ck_assert_int_eq(st_num_parse("NA", 2, &v), 1);
    ck_assert_int_eq(st_num_parse("NaN", 3, &v), 1);
    ck_assert_int_eq(st_num_parse("nan", 3, &v), 1);
    ck_assert_int_eq(st_num_parse("  ", 2, &v), 1);
    ck_assert_int_eq(st_num_parse("Inf", 3, &v), 0);
    ck_assert(isinf(v) && v > 0);
    ck_assert_int_eq(st_num_parse("-Infinity", 9, &v), 0);
    ck_assert(isinf(v) && v < 0);
    /* 1e400 is not an infinity the file asked for: refused (issue 18) */
    ck_assert_int_eq(st_num_parse("1e400", 5, &v), -2);
    ck_assert_int_eq(st_num_parse("-1.5e309", 8, &v), -2);
    ck_assert_int_eq(st_num_parse("1.7976931348623157e308", 22, &v), 0);
    ck_assert_double_eq(v, 1.7976931348623157e308);
    /* integers beyond 2^53 are flagged: the double is not the integer */
    ck_assert_int_eq(st_num_parse("9007199254740992", 16, &v), 0);
    ck_assert_int_eq(st_num_parse("9007199254740993", 16, &v), 2);
    ck_assert_double_eq(v, 9007199254740992.0);
    ck_assert_int_eq(st_num_parse("-9223372036854775807", 20, &v), 2);
    ck_assert_int_eq(st_num_parse("9007199254740993.0", 18, &v), 0); /* not written as an integer */
    ck_assert_int_eq(st_num_parse("1e17", 4, &v), 0);
    ck_assert_int_eq(st_num_parse("1e-400", 6, &v), 0);
    ck_assert(v == 0);
    ck_assert_int_eq(st_num_parse("4.9406564584124654e-324", 23, &v), 0);
    ck_assert(v > 0 && v < 1e-323);
    const char *bad[] = {"abc", "1.2.3", "1e", "1e+", "--1", "0x10", "1,5", "1 2", ".", "-", "e5", "NAN1", "1d5", "inf5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(st_num_parse(bad[i], strlen(bad[i]), &v) == -1, "'%s' should not parse", bad[i]);
    /* NUL bytes inside a cell are not numbers */
    ck_assert_int_eq(st_num_parse("1\0002", 3, &v), -1);
}
END_TEST

/* A random decimal string: sign, up to 25 digits, optional point and exponent. */
static size_t random_decimal(char *s)
{
    size_t k = 0;
    uint64_t r = rnd();
    if (r & 1)
        s[k++] = '-';
    int nd = 1 + (int)((r >> 1) % 25);
    int point = (int)((r >> 6) % (unsigned)(nd + 2)) - 1; /* -1: none */
    int lead0 = (r >> 12) % 4 == 0;
    for (int i = 0; i < nd; i++) {
        if (i == point)
            s[k++] = '.';
        s[k++] = (char)('0' + (lead0 && i < 3 ? 0 : rnd() % 10));
    }
    if ((r >> 16) % 3 == 0) {
        int ex = (int)((r >> 20) % 700) - 350;
        if ((r >> 32) % 2)
            ex = (int)((r >> 33) % 50) - 25;
        k += (size_t)sprintf(s + k, "e%d", ex);
    }
    s[k] = '\0';
    return k;
}

/* What st_num_parse says of s: -2 beyond the doubles, 2 for an integer
 * written without point or exponent beyond 2^53, else 0. */
static int parse_kind(const char *s, double ref)
{
    if (isinf(ref))
        return -2;
    if (strpbrk(s, ".eE"))
        return 0;
    const char *d = s + (*s == '-' || *s == '+');
    while (*d == '0' && d[1])
        d++;
    size_t len = strlen(d);
    return len > 16 || (len == 16 && strcmp(d, "9007199254740992") > 0) ? 2 : 0;
}

START_TEST(test_parse_equals_strtod)
{
    /* The fast path must give strtod's double bit for bit. */
    char s[80];
    for (int i = 0; i < 2000000; i++) {
        size_t n = random_decimal(s);
        double v, ref = strtod(s, NULL);
        /* plain ifs in hot loops: every ck_assert writes to Check's pipe */
        int rc = st_num_parse(s, n, &v);
        if (rc != parse_kind(s, ref) || !same_bits(v, ref))
            ck_abort_msg("'%s': %.17g (%d) != strtod %.17g", s, v, rc, ref);
    }
    /* Printed doubles of every kind read back exactly. */
    for (int i = 0; i < 300000; i++) {
        uint64_t b = rnd();
        double x;
        memcpy(&x, &b, sizeof x);
        if (!isfinite(x))
            continue;
        int n = snprintf(s, sizeof s, "%.17g", x);
        double v;
        int rc = st_num_parse(s, (size_t)n, &v);
        if ((rc != 0 && rc != 2) || !same_bits(v, x))
            ck_abort_msg("'%s' does not read back", s);
    }
}
END_TEST

/* ------------------------------------------------------ number printing */

static const char *fmt(double x)
{
    static char buf[ST_DOUBLE_BUFSZ];
    st_format_double(buf, x);
    return buf;
}

START_TEST(test_format_examples)
{
    ck_assert_str_eq(fmt(0.1), "0.1");
    ck_assert_str_eq(fmt(1628.75), "1628.75");
    ck_assert_str_eq(fmt(-3), "-3");
    ck_assert_str_eq(fmt(0.0), "0");
    ck_assert_str_eq(fmt(-0.0), "-0");
    ck_assert_str_eq(fmt(NAN), "NaN");
    ck_assert_str_eq(fmt(INFINITY), "Inf");
    ck_assert_str_eq(fmt(-INFINITY), "-Inf");
    ck_assert_str_eq(fmt(1e-5), "0.00001");
    ck_assert_str_eq(fmt(1.5e-6), "1.5e-06");
    ck_assert_str_eq(fmt(1e15), "1000000000000000");
    ck_assert_str_eq(fmt(1e16), "1e+16");
    ck_assert_str_eq(fmt(0.1 + 0.2), "0.30000000000000004");
    ck_assert_str_eq(fmt(1.0 / 3), "0.3333333333333333");
    ck_assert_str_eq(fmt(123456789012345680.0), "1.2345678901234568e+17");
    ck_assert_str_eq(fmt(5e-324), "5e-324");
    ck_assert_str_eq(fmt(1.7976931348623157e308), "1.7976931348623157e+308");
    ck_assert_str_eq(fmt(2.2250738585072014e-308), "2.2250738585072014e-308");
    ck_assert_str_eq(fmt(9007199254740993.0), "9007199254740992");
    ck_assert_str_eq(fmt(100), "100");
    ck_assert_str_eq(fmt(1e100), "1e+100");
    /* A power of two whose shortest form lies on the far side of it
     * (Python's repr agrees: 7.120236347223045e-307). */
    ck_assert_str_eq(fmt(ldexp(1.0, -1017)), "7.120236347223045e-307");
    ck_assert_int_eq((int)strlen(fmt(-1.2345678901234567e-300)), 24);
    char b[ST_DOUBLE_BUFSZ];
    ck_assert_int_eq(st_format_float(b, 0.1f), 3);
    ck_assert_str_eq(b, "0.1");
    st_format_float(b, 16777217.0f);
    ck_assert_str_eq(b, "16777216");
    st_format_int(b, -42);
    ck_assert_str_eq(b, "-42");
}
END_TEST

/* Significant digits of a printed number (leading/trailing zeros dropped). */
static void sig_digits(const char *s, char *d)
{
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && (n || *s != '0'))
            d[n++] = *s;
    while (n > 1 && d[n - 1] == '0')
        n--;
    if (!n)
        d[n++] = '0';
    d[n] = '\0';
}

/* The shortest digits found the slow way: for p = 1, 2, ... the correctly
 * rounded p-digit decimal (printf), else its neighbour on the other side
 * of x (which can read back at a power of two, where the rounding interval
 * is lopsided); the first one that reads back to x. */
static void ref_digits(double x, char *d)
{
    char s[64], t[64];
    x = fabs(x);
    for (int p = 1; p <= 17; p++) {
        snprintf(s, sizeof s, "%.*e", p - 1, x);
        double v = strtod(s, NULL);
        if (v == x) {
            sig_digits(s, d);
            return;
        }
        unsigned long long m = 0;
        const char *c = s;
        for (; *c != 'e'; c++)
            if (*c >= '0' && *c <= '9')
                m = m * 10 + (unsigned long long)(*c - '0');
        int e = atoi(c + 1) - (p - 1);
        snprintf(t, sizeof t, "%llue%d", v < x ? m + 1 : m - 1, e);
        if (strtod(t, NULL) == x) {
            sig_digits(t, d);
            return;
        }
    }
    snprintf(s, sizeof s, "%.16e", x);
    sig_digits(s, d);
}

/* ref_digits for floats. */
static void ref_digits_f(float x, char *d)
{
    char s[64], t[64];
    x = fabsf(x);
    for (int p = 1; p <= 9; p++) {
        snprintf(s, sizeof s, "%.*e", p - 1, (double)x);
        float v = strtof(s, NULL);
        if (v == x) {
            sig_digits(s, d);
            return;
        }
        unsigned long long m = 0;
        const char *c = s;
        for (; *c != 'e'; c++)
            if (*c >= '0' && *c <= '9')
                m = m * 10 + (unsigned long long)(*c - '0');
        snprintf(t, sizeof t, "%llue%d", v < x ? m + 1 : m - 1, atoi(c + 1) - (p - 1));
        if (strtof(t, NULL) == x) {
            sig_digits(t, d);
            return;
        }
    }
    snprintf(s, sizeof s, "%.8e", (double)x);
    sig_digits(s, d);
}

static void check_shortest_f(float x)
{
    char buf[ST_DOUBLE_BUFSZ], got[40], want[40];
    st_format_float(buf, x);
    float back = strtof(buf, NULL);
    if (memcmp(&back, &x, sizeof x) != 0)
        ck_abort_msg("float %.9g printed as %s reads back as %.9g", (double)x, buf, (double)back);
    sig_digits(buf, got);
    ref_digits_f(x, want);
    if (strcmp(got, want) != 0)
        ck_abort_msg("float %.9g printed as %s, the shortest digits are %s", (double)x, buf, want);
}

START_TEST(test_format_float_round_trip)
{
    for (int k = -149; k < 128; k++) {
        float x = ldexpf(1.0f, k);
        check_shortest_f(x);
        check_shortest_f(-nextafterf(x, 0));
        check_shortest_f(nextafterf(x, INFINITY));
    }
    for (int i = 0; i < 200000; i++) {
        uint32_t b = (uint32_t)rnd();
        float x;
        memcpy(&x, &b, sizeof x);
        if (isfinite(x))
            check_shortest_f(x);
    }
}
END_TEST

static void check_shortest(double x, int full)
{
    char buf[ST_DOUBLE_BUFSZ];
    int n = st_format_double(buf, x);
    if (n != (int)strlen(buf) || n >= ST_DOUBLE_BUFSZ)
        ck_abort_msg("bad length for %s", buf);
    double back = strtod(buf, NULL);
    if (!same_bits(back, x))
        ck_abort_msg("%.17g printed as %s reads back as %.17g", x, buf, back);
    if (full) {
        char got[40], want[40];
        sig_digits(buf, got);
        ref_digits(x, want);
        if (strcmp(got, want) != 0)
            ck_abort_msg("%.17g printed as %s, the shortest digits are %s", x, buf, want);
    }
}

START_TEST(test_format_round_trip)
{
    /* Random bit patterns: every exponent, subnormals, both signs. */
    for (int i = 0; i < 2000000; i++) {
        uint64_t b = rnd();
        double x;
        memcpy(&x, &b, sizeof x);
        if (isfinite(x))
            check_shortest(x, i < 100000);
    }
    /* Short decimals (the fast path) and values near its edges. */
    for (int i = 0; i < 1000000; i++) {
        double x = (double)(int64_t)(rnd() % 2000000000000000u - 1000000000000000) /
                   pow(10, (double)(rnd() % 23));
        check_shortest(x, i < 100000);
    }
    /* Full-precision values in the fixed-notation range (the 128-bit path). */
    for (int i = 0; i < 150000; i++) {
        double x = ldexp((double)(rnd() >> 11), (int)(rnd() % 71) - 70);
        if (x >= 1e-5 && x < 1e16)
            check_shortest(i % 2 ? x : -x, 1);
    }
    for (int i = 0; i < 50000; i++) {
        uint64_t b = rnd() & 0x000fffffffffffffu; /* subnormals */
        double x;
        memcpy(&x, &b, sizeof x);
        check_shortest(x, 1);
    }
    /* Every power of two and its neighbours (lopsided rounding intervals). */
    for (int k = -1074; k < 1024; k++) {
        double x = ldexp(1.0, k);
        check_shortest(x, 1);
        check_shortest(nextafter(x, 0), 1);
        check_shortest(nextafter(x, INFINITY), 1);
    }
    double edges[] = {0.0, -0.0, 1e-5, 9.999999999999999e-6, 1e15, 999999999999999.9, 1e16, 4.35, 2.675,
                      0.3, 1e21, 1e22, 1e23, 5e-324, -5e-324, DBL_MAX, DBL_MIN, DBL_EPSILON,
                      1125899906842624.5, 562949953421312.25, 9007199254740993.0, 0.9999999999999999,
                      9.999999999999999e22, 99999999999999.99};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        check_shortest(edges[i], 1);
}
END_TEST

/* ---------------------------------------------------------------- CSV */

START_TEST(test_csv_basic)
{
    const char *p = put("a.csv", "# a comment\n\xef\xbb\xbf"
                                 "\"seq\", x ,\"y \"\"q\"\"\"\r\n"
                                 "1,2.5,\r\n"
                                 "# another comment\n"
                                 "\n"
                                 "1,NA,-1e3\r\n"
                                 "2,NaN,7"); /* no final newline */
    st_err e;
    st_err_clear(&e);
    st_reader *r;
    /* The BOM is only skipped at the start of the file; here it follows a
     * comment line, so it belongs to the first name. */
    ck_assert_int_eq(st_reader_open(&r, p, &e), 0);
    st_reader_free(r);
    p = put("a.csv", "\xef\xbb\xbf# a comment\n"
                     "\"seq\", x ,\"y \"\"q\"\"\"\r\n"
                     "1,2.5,\r\n"
                     "# another comment\n"
                     "\n"
                     "1,NA,-1e3\r\n"
                     "2,NaN,7");
    ck_assert_int_eq(st_reader_open(&r, p, &e), 0);
    ck_assert_uint_eq(st_reader_ncols(r), 3);
    ck_assert_int_eq(st_reader_format(r), ST_FMT_CSV);
    ck_assert_ptr_null(st_reader_meta(r));
    ck_assert_str_eq(st_reader_name(r, 1), "x");
    ck_assert_int_eq(st_reader_col(r, "y \"q\""), 2);
    ck_assert_int_eq(st_reader_col(r, "nope"), -1);
    double row[3];
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_int_eq(st_reader_line(r), 3);
    ck_assert_double_eq(row[0], 1);
    ck_assert_double_eq(row[1], 2.5);
    ck_assert(isnan(row[2]));
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_int_eq(st_reader_line(r), 6);
    ck_assert(isnan(row[1]));
    ck_assert_double_eq(row[2], -1000);
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_int_eq(st_reader_line(r), 7);
    ck_assert_double_eq(row[2], 7);
    ck_assert_int_eq(st_reader_next(r, row, &e), 0);
    ck_assert_int_eq(st_reader_next(r, row, &e), 0);
    st_reader_free(r);

    /* Tab separated; a single column; header only is zero rows. */
    p = put("t.tsv", "a\tb\n1\t2\n");
    ck_assert_int_eq(st_reader_open(&r, p, &e), 0);
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_double_eq(row[1], 2);
    st_reader_free(r);
    size_t n;
    char msg[512];
    ck_assert_int_eq(read_all(put("one.csv", "x\n1\n\n2\n"), &n, msg, sizeof msg), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(read_all(put("h.csv", "x,y\n"), &n, msg, sizeof msg), 0);
    ck_assert_uint_eq(n, 0);

    int *idx;
    size_t k;
    ck_assert_int_eq(st_reader_open(&r, p, &e), 0);
    ck_assert_int_eq(st_reader_select(r, "b,a", &idx, &k, &e), 0);
    ck_assert_uint_eq(k, 2);
    ck_assert_int_eq(idx[0], 1);
    ck_assert_int_eq(idx[1], 0);
    free(idx);
    ck_assert_int_eq(st_reader_select(r, "a,zz", &idx, &k, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "unknown column 'zz'"));
    ck_assert_int_eq(st_reader_select(r, "a,", &idx, &k, &e), ST_EDATA);
    st_reader_free(r);
}
END_TEST

START_TEST(test_csv_gzip)
{
    const char *p = tpath("z.csv.gz");
    gzFile g = gzopen(p, "wb");
    gzputs(g, "t,x\n");
    for (int i = 0; i < 100000; i++)
        gzprintf(g, "%d,%d.25\n", i, i);
    gzclose(g);
    size_t n;
    char msg[512];
    ck_assert_int_eq(read_all(p, &n, msg, sizeof msg), 0);
    ck_assert_uint_eq(n, 100000);
    /* Two gzip members one after the other, as `cat a.gz b.gz` makes. */
    size_t len;
    unsigned char *d = slurp(p, &len);
    unsigned char *two = malloc(2 * len);
    memcpy(two, d, len);
    gzFile g2 = gzopen(tpath("m2.gz"), "wb");
    gzputs(g2, "99,1\n");
    gzclose(g2);
    size_t len2;
    unsigned char *d2 = slurp(tpath("m2.gz"), &len2);
    memcpy(two + len, d2, len2);
    ck_assert_int_eq(read_all(put_bytes("two.gz", two, len + len2), &n, msg, sizeof msg), 0);
    ck_assert_uint_eq(n, 100001);
    /* Cut short: an error naming a byte offset, not a silent short read. */
    const char *cut = put_bytes("cut.gz", d, len / 2);
    expect_fail(cut, "cut.gz:byte ", "gzip data cut short");
    /* A flipped byte inside the deflate data. */
    d[len / 2] ^= 0x55;
    const char *bad = put_bytes("bad.gz", d, len);
    ck_assert_int_lt(read_all(bad, &n, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "bad.gz:") && (strstr(msg, "gzip") || strstr(msg, "bad.gz:")), "%s", msg);
    free(d);
    free(d2);
    free(two);
}
END_TEST

START_TEST(test_csv_errors)
{
    expect_fail(put("empty.csv", ""), "empty.csv: empty input", NULL);
    expect_fail(put("comments.csv", "# only\n\n# comments\n"), "empty input", NULL);
    expect_fail(put("ragged.csv", "a,b,c\n1,2,3\n1,2\n"), "ragged.csv:3:3: ragged row: 2 fields, the header has 3", NULL);
    expect_fail(put("long.csv", "a,b\n1,2,3,4\n"), "long.csv:2:3: ragged row: 4 fields, the header has 2", NULL);
    /* text after the look-ahead in a column of fractions: an error (a typo
     * in a value column must not become a string column unseen) */
    {
        char *text = malloc(16 + 8 * (ST_CSV_LOOKAHEAD + 2)), *q = text;
        q += sprintf(q, "a,b\n");
        for (int i = 0; i < ST_CSV_LOOKAHEAD; i++)
            q += sprintf(q, "1,2.5\n");
        q += sprintf(q, "1,abc\n");
        expect_fail(put("nonnum.csv", text), "nonnum.csv:1002:2: non-numeric value 'abc' in column 'b'", NULL);
        free(text);
    }
    expect_fail(put("dup.csv", "a,b,a\n1,2,3\n"), "dup.csv:1:3: duplicate column name 'a'", NULL);
    expect_fail(put("dup2.csv", "z,b,c,b,z\n1,2,3,4,5\n"), "dup2.csv:1:4: duplicate column name 'b' (columns 2 and 4)", NULL);

    /* 120000 columns: the duplicate check is not quadratic. */
    {
        size_t nc = 120000;
        char *hdr = malloc(nc * 8 + 16), *q = hdr;
        for (size_t j = 0; j < nc; j++)
            q += sprintf(q, "%sc%zu", j ? "," : "", j);
        q += sprintf(q, ",c17\n");
        clock_t t0 = clock();
        expect_fail(put_bytes("wide.csv", hdr, (size_t)(q - hdr)), "wide.csv:1:120001: duplicate column name 'c17' (columns 18 and 120001)", NULL);
        ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0, "duplicate check too slow");
        free(hdr);
    }
    expect_fail(put("quote.csv", "\"a,b\n1\n"), "quote.csv:1:1: quote not closed before the end of the input", NULL);
    expect_fail(put_bytes("nul.csv", "a,b\n1,\0002\n", 9), "nul.csv:2:2: non-numeric value '?2'", NULL);
    expect_fail(put_bytes("nulhead.csv", "a\000,b\n1,2\n", 9), "nulhead.csv:1:1: control character 0x00 in the name of column 1", NULL);

    /* Random bytes: one clean error, whatever they are. */
    for (int trial = 0; trial < 50; trial++) {
        unsigned char junk[4096];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (unsigned char)rnd();
        if (junk[0] == 0x1f || junk[0] == 0x89)
            junk[0] = 'x';
        char msg[1024];
        int rc = read_all(put_bytes("junk.bin", junk, sizeof junk), NULL, msg, sizeof msg);
        ck_assert_int_lt(rc, 0);
        ck_assert_ptr_nonnull(strstr(msg, "junk.bin:"));
    }

    /* A 10 MB line: an error at its line number, quickly. */
    size_t big = 10u << 20;
    char *line = malloc(big + 16);
    memcpy(line, "a,b\n1,2\n", 8);
    memset(line + 8, '7', big);
    line[8 + big] = '\n';
    const char *p = put_bytes("huge.csv", line, big + 9);
    clock_t t0 = clock();
    expect_fail(p, "huge.csv:3: line longer than 1048576 bytes", NULL);
    ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0, "long line took too long");
    /* Header line too long as well. */
    memset(line, 'a', big);
    expect_fail(put_bytes("hugehead.csv", line, big), "hugehead.csv:1: line longer than", NULL);
    free(line);

    /* A missing file. */
    expect_fail(tpath("nonexistent.csv"), "nonexistent.csv: cannot open", NULL);
}
END_TEST

START_TEST(test_csv_many_short_lines_linear)
{
    /* Lines just under the limit, many of them: reading stays linear. */
    size_t linelen = ST_CSV_MAX_LINE - 10, nlines = 12;
    FILE *f = fopen(tpath("wide.csv"), "wb");
    fputs("x\n", f);
    char *cell = malloc(linelen + 1);
    memset(cell, '0', linelen);
    cell[linelen - 1] = '5';
    cell[linelen] = '\n';
    for (size_t i = 0; i < nlines; i++)
        fwrite(cell, 1, linelen + 1, f);
    fclose(f);
    free(cell);
    size_t n;
    char msg[512];
    ck_assert_int_eq(read_all(tpath("wide.csv"), &n, msg, sizeof msg), 0);
    ck_assert_uint_eq(n, nlines);
}
END_TEST

/* ------------------------------------------------------------- writer */

static const char *write_stream(const char *name, int format, int codec, const st_dtype *dtypes,
                                const char *const *names, size_t ncols, const double *rows, size_t n,
                                size_t chunk_rows, const char *meta)
{
    const char *p = tpath(name);
    FILE *f = fopen(p, "wb");
    st_err e;
    st_err_clear(&e);
    st_writer *w;
    st_writer_opts o = {.format = format, .codec = codec, .chunk_rows = chunk_rows, .meta_json = meta};
    ck_assert_int_eq(st_writer_new(&w, f, names, dtypes, ncols, &o, &e), 0);
    ck_assert_int_eq(st_writer_rows(w, rows, n, &e), 0);
    ck_assert_int_eq(st_writer_close(w, &e), 0);
    fclose(f);
    return p;
}

START_TEST(test_binary_round_trip)
{
    const char *names[] = {"seq", "t", "x", "k", "f"};
    const st_dtype dt[] = {ST_I8, ST_F8, ST_F8, ST_I4, ST_F4};
    size_t n = 10007;
    double *rows = malloc(n * 5 * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        rows[i * 5 + 0] = (double)(i / 1000);
        rows[i * 5 + 1] = (double)i * 0.1;
        rows[i * 5 + 2] = i % 17 == 0 ? NAN : sin((double)i) * 1e-3;
        rows[i * 5 + 3] = (double)i - 5000;
        rows[i * 5 + 4] = (float)(i * 0.25);
    }
    for (int codec = 0; codec <= 1; codec++) {
        const char *p = write_stream(codec ? "z.stb" : "r.stb", ST_FMT_BIN, codec, dt, names, 5, rows, n, 1000,
                                     "{\"tool\": \"test\", \"seed\": 7}");
        size_t len;
        unsigned char *d = slurp(p, &len);
        ck_assert_int_eq(memcmp(d, "\x89STB\r\n\x1a\n\x01\x00\x00\x00", 12), 0);
        uint32_t hlen = d[12] | d[13] << 8 | d[14] << 16 | (uint32_t)d[15] << 24;
        ck_assert_uint_eq((16 + hlen) % 8, 0);
        ck_assert_ptr_nonnull(memmem(d + 16, hlen, "{\"columns\": [{\"name\": \"seq\", \"dtype\": \"<i8\"}", 44));
        /* first chunk head: 1000 rows of 8+8+8+4+4 bytes, codec as asked */
        const unsigned char *c = d + 16 + hlen;
        ck_assert_uint_eq(c[0] | c[1] << 8, 1000);
        ck_assert_int_eq(c[12], codec);
        if (!codec)
            ck_assert_uint_eq(c[4] | c[5] << 8 | c[6] << 16, 32000);
        free(d);

        st_err e;
        st_err_clear(&e);
        st_reader *r;
        ck_assert_int_eq(st_reader_open(&r, p, &e), 0);
        ck_assert_int_eq(st_reader_format(r), ST_FMT_BIN);
        ck_assert_str_eq(st_reader_meta(r), "{\"tool\":\"test\",\"seed\":7}");
        ck_assert_int_eq(st_reader_dtype(r, 3), ST_I4);
        double *back = malloc(n * 5 * sizeof *back);
        size_t got = 0, k;
        while (st_reader_read(r, back + got * 5, 333, &k, &e) == 0 && k)
            got += k;
        ck_assert_uint_eq(got, n);
        ck_assert_int_eq(st_reader_line(r), (long)n - 1);
        for (size_t i = 0; i < n * 5; i++)
            ck_assert_msg(same_bits(back[i], rows[i]) || (isnan(back[i]) && isnan(rows[i])), "value %zu", i);
        st_reader_free(r);
        free(back);
    }
    /* CSV written from the same rows prints integers as integers. */
    const char *p = write_stream("w.csv", ST_FMT_CSV, 0, dt, names, 5, rows, 3, 0, NULL);
    size_t len;
    char *d = (char *)slurp(p, &len);
    d[len] = '\0';
    ck_assert_str_eq(d, "seq,t,x,k,f\n0,0,NaN,-5000,0\n0,0.1,0.0008414709848078966,-4999,0.25\n"
                        "0,0.2,0.0009092974268256818,-4998,0.5\n");
    free(d);
    free(rows);
}
END_TEST

START_TEST(test_wide_chunks)
{
    /* 1000 columns of f8: default chunks hold about 2 MB, not 65536 rows. */
    size_t nc = 1000, n = 600;
    char **names = malloc(nc * sizeof *names);
    double *rows = malloc(n * nc * sizeof *rows);
    for (size_t j = 0; j < nc; j++) {
        names[j] = malloc(16);
        snprintf(names[j], 16, "v%zu", j);
    }
    for (size_t i = 0; i < n * nc; i++)
        rows[i] = (double)i;
    const char *p = write_stream("wide.stb", ST_FMT_BIN, 0, NULL, (const char *const *)names, nc, rows, n, 0, NULL);
    size_t len;
    unsigned char *d = slurp(p, &len);
    uint32_t hlen = d[12] | d[13] << 8 | d[14] << 16 | (uint32_t)d[15] << 24;
    const unsigned char *c = d + 16 + hlen;
    ck_assert_uint_eq(c[0] | c[1] << 8, 263); /* ceil(2 MiB / 8000 B) */
    st_table *t;
    st_err e;
    ck_assert_int_eq(st_table_read(&t, p, &e), 0);
    ck_assert_uint_eq(t->nrows, n);
    ck_assert_double_eq(st_table_get(t, n - 1, nc - 1), (double)(n * nc - 1));
    st_table_free(t);
    free(d);
    for (size_t j = 0; j < nc; j++)
        free(names[j]);
    free(names);
    free(rows);
}
END_TEST

START_TEST(test_writer_checks)
{
    st_err e;
    st_err_clear(&e);
    st_writer *w;
    FILE *f = fopen(tpath("x.stb"), "wb");
    const char *names[] = {"seq", "x"};
    ck_assert_int_eq(st_writer_new(&w, f, names, NULL, 2, &(st_writer_opts){.format = ST_FMT_BIN}, &e), 0);
    double ok[2] = {1, 0.5}, frac[2] = {1.5, 0}, nan[2] = {NAN, 0};
    ck_assert_int_eq(st_writer_row(w, ok, &e), 0);
    ck_assert_int_eq(st_writer_row(w, frac, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "column 'seq' (<i8) needs an integer, not 1.5"));
    ck_assert_int_eq(st_writer_row(w, nan, &e), ST_EDATA);
    st_writer_free(w);
    const char *dup[] = {"a", "a"};
    ck_assert_int_eq(st_writer_new(&w, f, dup, NULL, 2, NULL, &e), ST_EDATA);
    ck_assert_int_eq(st_writer_new(&w, f, names, NULL, 2, &(st_writer_opts){.format = ST_FMT_BIN, .meta_json = "[1]"}, &e),
                     ST_EUSAGE);
    fclose(f);

    /* A full disk is an error at close. */
    FILE *full = fopen("/dev/full", "wb");
    if (full) {
        ck_assert_int_eq(st_writer_new(&w, full, names, NULL, 2, NULL, &e), 0);
        for (int i = 0; i < 10000; i++)
            st_writer_row(w, ok, &e);
        ck_assert_int_eq(st_writer_close(w, &e), ST_EIO);
        ck_assert_ptr_nonnull(strstr(e.msg, "write error"));
        fclose(full);
    }

    /* Quoted header names survive a CSV round trip. */
    const char *odd[] = {"a,b", "say \"hi\"", "#c"};
    double r3[3] = {1, 2, 3};
    const char *p = write_stream("odd.csv", ST_FMT_CSV, 0, NULL, odd, 3, r3, 1, 0, NULL);
    st_reader *r;
    ck_assert_int_eq(st_reader_open(&r, p, &e), 0);
    for (int j = 0; j < 3; j++)
        ck_assert_str_eq(st_reader_name(r, (size_t)j), odd[j]);
    st_reader_free(r);

    char *meta;
    ck_assert_int_eq(st_meta_json(&meta, "hmm-sample", 1, 7, "in.csv", "{\"tool\":\"x\"}", &e), 0);
    ck_assert_str_eq(meta, "{\"tool\":\"hmm-sample\",\"version\":\"" PACKAGE_VERSION
                           "\",\"seed\":7,\"source\":\"in.csv\",\"parent\":{\"tool\":\"x\"}}");
    free(meta);
    ck_assert_int_eq(st_meta_json(&meta, "t", 0, 0, NULL, "nope", &e), ST_EUSAGE);
}
END_TEST

/* ------------------------------------------------ binary stream errors */

/* A small valid raw stream: 2 columns f8, chunks of 4 rows, 10 rows. */
static unsigned char *valid_stream(size_t *len, size_t *data_start)
{
    const char *names[] = {"a", "b"};
    double rows[20];
    for (int i = 0; i < 20; i++)
        rows[i] = i * 1.5;
    const char *p = write_stream("v.stb", ST_FMT_BIN, 0, NULL, names, 2, rows, 10, 4, NULL);
    unsigned char *d = slurp(p, len);
    *data_start = 16 + (d[12] | d[13] << 8);
    return d;
}

START_TEST(test_binary_errors)
{
    size_t len, ds;
    unsigned char *d = valid_stream(&len, &ds);
    size_t n;
    char msg[512];
    ck_assert_int_eq(read_all(put_bytes("ok.stb", d, len), &n, msg, sizeof msg), 0);
    ck_assert_uint_eq(n, 10);
    ck_assert_uint_eq(len, ds + 3 * 16 + 10 * 16 + 16);

    /* Truncated mid-chunk, mid-head, and with the end chunk missing. */
    expect_fail(put_bytes("t1.stb", d, ds + 16 + 20), "t1.stb:byte ",
                "truncated stream: chunk at byte");
    char want[160];
    snprintf(want, sizeof want, "t2.stb:byte %zu: truncated stream: chunk head", ds + 16 + 64);
    expect_fail(put_bytes("t2.stb", d, ds + 16 + 64 + 5), want, NULL);
    snprintf(want, sizeof want, "t3.stb:byte %zu: truncated stream: missing end chunk", len - 16);
    expect_fail(put_bytes("t3.stb", d, len - 16), want, NULL);
    expect_fail(put_bytes("t4.stb", d, ds - 3), "t4.stb:byte ", "truncated stream: header");

    /* A flipped payload byte: bad CRC at that chunk. */
    unsigned char *c = malloc(len + 32);
    memcpy(c, d, len);
    c[ds + 16 + 64 + 16 + 3] ^= 0x01;
    snprintf(want, sizeof want, "flip.stb:byte %zu: bad CRC in chunk at byte %zu", ds + 96, ds + 80);
    expect_fail(put_bytes("flip.stb", c, len), want, NULL);

    memcpy(c, d, len);
    c[ds + 12] = 7;
    snprintf(want, sizeof want, "codec.stb:byte %zu: unknown codec 7", ds + 12);
    expect_fail(put_bytes("codec.stb", c, len), want, NULL);

    memcpy(c, d, len);
    c[8] = 2;
    expect_fail(put_bytes("ver.stb", c, len), "ver.stb:byte 8: unsupported stream version 2.0", NULL);

    memcpy(c, d, len);
    c[4] = 'X';
    /* Not our magic: read as text, which fails cleanly. */
    ck_assert_int_lt(read_all(put_bytes("magic.stb", c, len), NULL, msg, sizeof msg), 0);
    memcpy(c, d, len);
    c[5] = 'X';
    expect_fail(put_bytes("magic2.stb", c, len), "magic2.stb:byte 0: bad magic", NULL);

    memcpy(c, d, len);
    c[17] = '!';
    expect_fail(put_bytes("json.stb", c, len), "json.stb:byte ", "bad JSON header");

    /* Payload size inconsistent with the row count. */
    memcpy(c, d, len);
    c[ds + 4] = 63;
    snprintf(want, sizeof want, "size.stb:byte %zu: payload size 63 does not match 4 rows of 16 bytes", ds + 4);
    expect_fail(put_bytes("size.stb", c, len), want, NULL);

    /* Another stream glued after the end chunk. */
    memcpy(c, d, len);
    memcpy(c + len, d, 16);
    expect_fail(put_bytes("glued.stb", c, len + 16), "data after the end chunk", NULL);

    /* Unknown dtype and bad columns in a hand-made header. */
    const char *hdrs[] = {
        "{\"columns\": [{\"name\": \"a\", \"dtype\": \"<c16\"}]}   ",
        "{\"columns\": []}        ",
        ("{\"columns\": [{\"name\": \"a\", \"dtype\": \"<f8\"}, {\"name\": \"a\", \"dtype\": \"<f8\"}]}  "),
        "[1, 2, 3]               ",
    };
    const char *needles[] = {"unknown dtype '<c16'", "non-empty \"columns\"", "duplicate column name 'a'",
                             "non-empty \"columns\""};
    for (int i = 0; i < 4; i++) {
        size_t hl = strlen(hdrs[i]);
        unsigned char buf[256];
        memcpy(buf, "\x89STB\r\n\x1a\n\x01\x00\x00\x00", 12);
        buf[12] = (unsigned char)hl, buf[13] = buf[14] = buf[15] = 0;
        memcpy(buf + 16, hdrs[i], hl);
        memset(buf + 16 + hl, 0, 16);
        expect_fail(put_bytes("hdr.stb", buf, 16 + hl + 16), "hdr.stb:byte 16: ", needles[i]);
    }

    /* A zlib chunk whose data is damaged. */
    const char *names[] = {"a", "b"};
    double rows[2000];
    for (int i = 0; i < 2000; i++)
        rows[i] = i % 10;
    const char *zp = write_stream("zz.stb", ST_FMT_BIN, ST_CODEC_ZLIB, NULL, names, 2, rows, 1000, 0, NULL);
    size_t zl;
    unsigned char *z = slurp(zp, &zl);
    ck_assert_int_eq(z[ds + 12], ST_CODEC_ZLIB);
    z[ds + 16 + 10] ^= 0xff;
    expect_fail(put_bytes("zbad.stb", z, zl), "zbad.stb:byte ", "zlib payload");
    free(z);
    free(c);
    free(d);
}
END_TEST

START_TEST(test_mutations_never_crash)
{
    /* Damaged copies of valid streams (flipped bytes, cuts, spliced junk):
     * every read ends in rows or one clean error, never a crash (the ASan
     * build runs this too) or a hang. */
    const char *names[] = {"seq", "x", "k"};
    const st_dtype dt[] = {ST_I8, ST_F8, ST_I4};
    double rows[3 * 300];
    for (int i = 0; i < 300; i++) {
        rows[3 * i] = i / 50;
        rows[3 * i + 1] = i * 0.37;
        rows[3 * i + 2] = i % 7;
    }
    const char *srcs[3];
    srcs[0] = write_stream("m_raw.stb", ST_FMT_BIN, 0, dt, names, 3, rows, 300, 64, "{\"a\": [1, 2]}");
    srcs[1] = write_stream("m_z.stb", ST_FMT_BIN, ST_CODEC_ZLIB, dt, names, 3, rows, 300, 64, NULL);
    srcs[2] = write_stream("m.csv", ST_FMT_CSV, 0, dt, names, 3, rows, 300, 0, NULL);
    for (int which = 0; which < 3; which++) {
        size_t len;
        unsigned char *d = slurp(srcs[which], &len);
        unsigned char *m = malloc(len + 64);
        for (int trial = 0; trial < 400; trial++) {
            memcpy(m, d, len);
            size_t n = len;
            int kind = (int)(rnd() % 3);
            if (kind == 0) {
                for (int k = 0; k < 1 + (int)(rnd() % 4); k++)
                    m[rnd() % n] ^= (unsigned char)(1u << (rnd() % 8));
            } else if (kind == 1) {
                n = rnd() % len;
            } else {
                size_t at = rnd() % n, k = 1 + rnd() % 32;
                for (size_t i = 0; i < k && at + i < n; i++)
                    m[at + i] = (unsigned char)rnd();
            }
            char msg[1024];
            size_t got;
            int rc = read_all(put_bytes("mut.bin", m, n), &got, msg, sizeof msg);
            if (rc < 0 && (!strstr(msg, "mut.bin") || strchr(msg, '\n')))
                ck_abort_msg("unclear error for a damaged stream: '%s'", msg);
        }
        free(m);
        free(d);
    }
}
END_TEST

START_TEST(test_binary_gzip_and_stdin)
{
    /* A gzip'ed binary stream is read transparently, through stdin too. */
    size_t len, ds;
    unsigned char *d = valid_stream(&len, &ds);
    gzFile g = gzopen(tpath("v.stb.gz"), "wb");
    gzwrite(g, d, (unsigned)len);
    gzclose(g);
    size_t n;
    char msg[512];
    ck_assert_int_eq(read_all(tpath("v.stb.gz"), &n, msg, sizeof msg), 0);
    ck_assert_uint_eq(n, 10);
    FILE *saved = freopen(tpath("v.stb.gz"), "rb", stdin);
    ck_assert_ptr_nonnull(saved);
    ck_assert_int_eq(read_all("-", &n, msg, sizeof msg), 0);
    ck_assert_uint_eq(n, 10);
    free(d);
}
END_TEST

/* -------------------------------------------------------------- tables */

START_TEST(test_table_and_groups)
{
    const char *a = put("a.csv", "seq,x\n1,0.5\n1,1.5\n2,2.5\n");
    const char *b = put("b.csv", "seq,x\n3,3.5\n3,4.5\n");
    const char *paths[] = {a, b};
    st_err e;
    st_err_clear(&e);
    st_table *t;
    ck_assert_int_eq(st_table_read_many(&t, paths, 2, &e), 0);
    ck_assert_uint_eq(t->nrows, 5);
    ck_assert_uint_eq(t->ncols, 2);
    ck_assert_double_eq(st_table_get(t, 4, 1), 4.5);
    ck_assert_int_eq(st_table_col(t, "x"), 1);
    ck_assert_str_eq(t->source, a);
    st_group *g;
    size_t ng;
    ck_assert_int_eq(st_table_groups(t, 0, &g, &ng, &e), 0);
    ck_assert_uint_eq(ng, 3);
    ck_assert_double_eq(g[0].seq, 1);
    ck_assert_uint_eq(g[0].n, 2);
    ck_assert_uint_eq(g[2].start, 3);
    ck_assert_uint_eq(g[2].n, 2);
    free(g);
    ck_assert_int_eq(st_table_groups(t, -1, &g, &ng, &e), 0);
    ck_assert_uint_eq(ng, 1);
    ck_assert_uint_eq(g[0].n, 5);
    free(g);
    st_table_free(t);

    const char *c = put("c.csv", "seq,y\n1,2\n");
    const char *bad[] = {a, c};
    ck_assert_int_eq(st_table_read_many(&t, bad, 2, &e), ST_EDATA);
    char msg[512];
    st_err_format(&e, msg, sizeof msg);
    ck_assert_msg(strstr(msg, "c.csv: columns differ from those of"), "%s", msg);
    ck_assert_msg(strstr(msg, "column 2 is 'y' here, 'x' there"), "%s", msg);

    ck_assert_int_eq(st_table_read(&t, put("h.csv", "seq,x\n"), &e), 0);
    ck_assert_uint_eq(t->nrows, 0);
    ck_assert_int_eq(st_table_groups(t, 0, &g, &ng, &e), 0);
    ck_assert_uint_eq(ng, 0);
    free(g);
    st_table_free(t);

    ck_assert_int_eq(st_table_read(&t, put("nc.csv", "seq,x\n1,0\n2,0\n1,0\n"), &e), 0);
    ck_assert_int_eq(st_table_groups(t, 0, &g, &ng, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "row 3: seq 1 appears again"));
    st_table_free(t);
    ck_assert_int_eq(st_table_read(&t, put("ni.csv", "seq,x\n1,0\n2.5,0\n"), &e), 0);
    ck_assert_int_eq(st_table_groups(t, 0, &g, &ng, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "row 2: seq value 2.5 is not an integer"));
    st_table_free(t);
    ck_assert_int_eq(st_table_read(&t, put("nn.csv", "seq,x\nNA,0\n"), &e), 0);
    ck_assert_int_eq(st_table_groups(t, 0, &g, &ng, &e), ST_EDATA);
    st_table_free(t);
}
END_TEST

/* Data-parallel reading: any split of the groups into shares reads back,
 * concatenated, the whole table; counts and errors are those of one pass. */
START_TEST(test_read_groups_shares)
{
    const char *a = put("ga.csv", "seq,x\n1,1\n1,2\n2,3\n");
    const char *b = put("gb.csv", "seq,x\n2,4\n5,5\n7,6\n7,7\n7,8\n");
    const char *paths[] = {a, b};
    st_err e;
    st_err_clear(&e);
    size_t ng = 0, row0 = 99;
    st_group_layout lay;
    /* seq 2 runs across the two files: one group, as st_table_groups sees it */
    ck_assert_int_eq(st_table_count_groups(paths, 2, "seq", &lay, &e), 0);
    ng = lay.ngroups;
    ck_assert_uint_eq(ng, 4);
    ck_assert_uint_eq(lay.nrows, 8);
    st_group_layout_free(&lay);
    st_table *whole, *t;
    ck_assert_int_eq(st_table_read_many(&whole, paths, 2, &e), 0);
    for (size_t cut = 0; cut <= ng; cut++) {
        ck_assert_int_eq(st_table_read_groups(&t, paths, 2, "seq", NULL, 0, cut, &row0, &e), 0);
        st_table *u;
        size_t row1 = 99;
        ck_assert_int_eq(st_table_read_groups(&u, paths, 2, "seq", NULL, cut, SIZE_MAX, &row1, &e), 0);
        ck_assert_uint_eq(row0, 0);
        ck_assert_uint_eq(row1, t->nrows);
        ck_assert_uint_eq(t->nrows + u->nrows, whole->nrows);
        ck_assert_uint_eq(u->ncols, 2);
        ck_assert_str_eq(u->names[1], "x");
        for (size_t i = 0; i < whole->nrows; i++)
            for (size_t j = 0; j < 2; j++) {
                double v = i < t->nrows ? st_table_get(t, i, j) : st_table_get(u, i - t->nrows, j);
                ck_assert(v == st_table_get(whole, i, j));
            }
        st_table_free(t);
        st_table_free(u);
    }
    /* group 1 (seq 2, rows 3 and 4) alone */
    ck_assert_int_eq(st_table_read_groups(&t, paths, 2, "seq", NULL, 1, 2, &row0, &e), 0);
    ck_assert_uint_eq(t->nrows, 2);
    ck_assert_uint_eq(row0, 2);
    ck_assert(st_table_get(t, 1, 1) == 4);
    st_table_free(t);
    /* no seq column: one group */
    ck_assert_int_eq(st_table_count_groups(paths, 2, "nope", &lay, &e), 0);
    ck_assert_uint_eq(lay.ngroups, 1);
    st_group_layout_free(&lay);
    ck_assert_int_eq(st_table_read_groups(&t, paths, 2, "nope", NULL, 1, 2, &row0, &e), 0);
    ck_assert_uint_eq(t->nrows, 0);
    ck_assert_uint_eq(row0, 8);
    st_table_free(t);
    st_table_free(whole);
    /* empty input */
    const char *h = put("gh.csv", "seq,x\n");
    ck_assert_int_eq(st_table_count_groups(&h, 1, "seq", &lay, &e), 0);
    ck_assert_uint_eq(lay.ngroups, 0);
    ck_assert_uint_eq(lay.nrows, 0);
    st_group_layout_free(&lay);
    /* errors name the line, the same in both passes and in any share */
    const char *bad = put("gr.csv", "seq,x\n1,0\n2,0\n1,0\n");
    char m1[1024], m2[1024];
    ck_assert_int_eq(st_table_count_groups(&bad, 1, "seq", &lay, &e), ST_EDATA);
    st_err_format(&e, m1, sizeof m1);
    ck_assert_msg(strstr(m1, "gr.csv:4: seq 1 appears again"), "%s", m1);
    ck_assert_int_eq(st_table_read_groups(&t, &bad, 1, "seq", NULL, 0, 1, NULL, &e), ST_EDATA);
    ck_assert_ptr_null(t);
    st_err_format(&e, m2, sizeof m2);
    ck_assert_str_eq(m1, m2);
    const char *frac = put("gf.csv", "seq,x\n1,0\n2.5,0\n");
    ck_assert_int_eq(st_table_read_groups(&t, &frac, 1, "seq", NULL, 5, 9, NULL, &e), ST_EDATA);
    st_err_format(&e, m1, sizeof m1);
    ck_assert_msg(strstr(m1, "gf.csv:3: seq value 2.5 is not an integer"), "%s", m1);
    const char *good = put("ga.csv", "seq,x\n1,1\n");
    const char *cols = put("gc.csv", "seq,y\n9,0\n");
    const char *mixed[] = {good, cols};
    ck_assert_int_eq(st_table_count_groups(mixed, 2, "seq", &lay, &e), ST_EDATA);
    ck_assert_msg(strstr(e.msg, "columns differ"), "%s", e.msg);
}
END_TEST

/* The count's layout: per input the group of its first row, its groups and
 * its first row, with a run continuing over an empty input and from one
 * input into the next; reading with it gives what the single pass gives
 * for every share, parses only the inputs holding the share and stops
 * after it. */
static void same_read(const char *const *paths, size_t n, const st_group_layout *lay, size_t glo, size_t ghi)
{
    st_err e;
    st_err_clear(&e);
    st_table *t, *u;
    size_t r1 = 77, r2 = 88;
    ck_assert_int_eq(st_table_read_groups(&t, paths, n, "seq", NULL, glo, ghi, &r1, &e), 0);
    ck_assert_msg(st_table_read_groups(&u, paths, n, "seq", lay, glo, ghi, &r2, &e) == 0, "%s", e.msg);
    ck_assert_msg(r1 == r2, "groups %zu..%zu: row0 %zu vs %zu", glo, ghi, r1, r2);
    ck_assert_uint_eq(t->nrows, u->nrows);
    ck_assert_uint_eq(t->ncols, u->ncols);
    ck_assert_str_eq(t->source, u->source);
    ck_assert_str_eq(t->names[1], u->names[1]);
    if (t->nrows)
        ck_assert(memcmp(t->data, u->data, t->nrows * t->ncols * sizeof *t->data) == 0);
    st_table_free(t);
    st_table_free(u);
}

/* The whole protocol in one process: every group in one pass, no share. */
static size_t two_per_block(size_t ngroups, size_t nrows)
{
    (void)ngroups;
    (void)nrows;
    return 2;
}

START_TEST(test_read_share_one_process)
{
    const char *a = put("sa.csv", "seq,x\n1,1\n1,2\n2,3\n");
    const char *b = put("sb.csv", "seq,x\n2,4\n5,5\n");
    const char *paths[] = {a, b};
    st_err e;
    st_err_clear(&e);
    st_table *t;
    st_table_share sh;
    ck_assert_int_eq(st_table_read_share(&t, paths, 2, "seq", two_per_block, &sh, &e), 0);
    ck_assert_uint_eq(t->nrows, 5);
    ck_assert(st_table_get(t, 4, 1) == 5);
    ck_assert_uint_eq(sh.ngroups + sh.nrows + sh.block + sh.blo + sh.bhi + sh.row0, 0);
    st_table_free(t);
    const char *bad = put("sr.csv", "seq,x\n1,0\n2,0\n1,0\n");
    ck_assert_int_eq(st_table_read_share(&t, &bad, 1, "seq", two_per_block, &sh, &e), ST_EDATA);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(e.msg, "seq 1 appears again"), "%s", e.msg);
}
END_TEST

START_TEST(test_group_layout)
{
    char *p[5];
    p[0] = strdup(put("la.csv", "seq,x\n1,0\n1,1\n2,2\n"));
    p[1] = strdup(put("le.csv", "seq,x\n"));
    p[2] = strdup(put("lb.csv", "seq,x\n2,3\n2,4\n5,5\n7,6\n"));
    p[3] = strdup(put("lc.csv", "seq,x\n7,7\n8,8\n"));
    p[4] = strdup(put("ld.csv", "seq,x\n9,9\n"));
    const char *const *paths = (const char *const *)p;
    st_err e;
    st_err_clear(&e);
    st_group_layout lay;
    ck_assert_int_eq(st_table_count_groups(paths, 5, "seq", &lay, &e), 0);
    /* groups 1 | 2 (over the empty input) | 5 | 7 (two inputs) | 8 | 9 */
    ck_assert_uint_eq(lay.ngroups, 6);
    ck_assert_uint_eq(lay.nrows, 10);
    ck_assert_uint_eq(lay.npaths, 5);
    const size_t g0[] = {0, 2, 1, 3, 5}, ng[] = {2, 0, 3, 2, 1}, r0[] = {0, 3, 3, 7, 9};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(lay.group0[i], g0[i]);
        ck_assert_uint_eq(lay.ngrp[i], ng[i]);
        ck_assert_uint_eq(lay.row0[i], r0[i]);
    }
    for (size_t glo = 0; glo <= 7; glo++)
        for (size_t ghi = 0; ghi <= 8; ghi++)
            same_read(paths, 5, &lay, glo, ghi == 8 ? SIZE_MAX : ghi);
    /* the last input spoilt after the count: shares not holding its group
     * never parse it; nor the rest of lc.csv after group 3 (seq 7) */
    put("ld.csv", "seq,x\n9,9,oops\n");
    put("lc.csv", "seq,x\n7,7\n8,8\n9,9,9\n");
    st_table *t;
    size_t row0;
    ck_assert_msg(st_table_read_groups(&t, paths, 5, "seq", &lay, 1, 4, &row0, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(t->nrows, 6);
    ck_assert_uint_eq(row0, 2);
    ck_assert(st_table_get(t, 5, 1) == 7);
    ck_assert_str_eq(t->source, st_display_name(p[0])); /* the first input's name, as one pass */
    st_table_free(t);
    ck_assert_int_eq(st_table_read_groups(&t, paths, 5, "seq", &lay, 4, 5, &row0, &e), ST_EDATA);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(st_table_read_groups(&t, paths, 5, "seq", &lay, 5, 6, &row0, &e), ST_EDATA);
    ck_assert_ptr_null(t);
    /* a layout of other inputs is refused */
    ck_assert_int_eq(st_table_read_groups(&t, paths, 4, "seq", &lay, 0, 1, &row0, &e), ST_EINTERNAL);
    st_group_layout_free(&lay);
    st_group_layout_free(&lay); /* harmless twice */
    /* no seq column: one group over every input */
    put("ld.csv", "seq,x\n9,9\n");
    put("lc.csv", "seq,x\n7,7\n8,8\n");
    ck_assert_int_eq(st_table_count_groups(paths, 5, "nope", &lay, &e), 0);
    ck_assert_uint_eq(lay.ngroups, 1);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(lay.group0[i], i == 1); /* empty: the groups so far */
        ck_assert_uint_eq(lay.ngrp[i], i == 1 ? 0 : 1);
    }
    ck_assert_int_eq(st_table_read_groups(&t, paths, 5, "nope", &lay, 0, 1, &row0, &e), 0);
    ck_assert_uint_eq(t->nrows, 10);
    st_table_free(t);
    st_group_layout_free(&lay);
    /* errors of the count, input by input: the single pass's message */
    const char *bad[][2] = {
        {"seq,x\n1,0\n2,0\n", "seq,x\n3,0\n1,0\n"},    /* seq 1 again, in the second input */
        {"seq,x\n1,0\n2,0\n", "seq,x\n2,0\n3,0\n2,1\n"}, /* 2 continues, then comes back */
        {"seq,x\n1,0\n2,0\n", "seq,x\n3,0\n4,1,2\n"}, /* a ragged row */
        {"seq,x\n1,0\n2,0\n", "seq,x\n3.5,0\n"},       /* not an integer */
        {"seq,x\n1,0\n2,0\n", "seq,y\n3,0\n"},         /* other columns */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        free(p[0]);
        free(p[1]);
        p[0] = strdup(put("ea.csv", bad[k][0]));
        p[1] = strdup(put("eb.csv", bad[k][1]));
        char m1[1024], m2[1024];
        st_err_clear(&e);
        int rc1 = st_table_count_groups(paths, 2, "seq", &lay, &e);
        st_err_format(&e, m1, sizeof m1);
        ck_assert_ptr_null(lay.group0);
        st_err_clear(&e);
        int rc2 = st_table_read_groups(&t, paths, 2, "seq", NULL, 0, SIZE_MAX, NULL, &e);
        st_err_format(&e, m2, sizeof m2);
        ck_assert_msg(rc1 < 0 && rc1 == rc2, "case %zu: %d %d", k, rc1, rc2);
        ck_assert_str_eq(m1, m2);
        ck_assert_msg(strstr(m1, "eb.csv"), "case %zu: %s", k, m1);
    }
    for (size_t i = 0; i < 5; i++)
        free(p[i]);
}
END_TEST

START_TEST(test_seqiter)
{
    const char *p = put("s.csv", "x,seq\n1,5\n2,5\n3,6\n4,7\n5,7\n6,7\n");
    st_err e;
    st_err_clear(&e);
    st_reader *r;
    ck_assert_int_eq(st_reader_open(&r, p, &e), 0);
    st_seqiter *it;
    ck_assert_int_eq(st_seqiter_new(&it, r, st_reader_col(r, "seq"), &e), 0);
    const double *rows;
    size_t n;
    double seq;
    double want_seq[] = {5, 6, 7};
    size_t want_n[] = {2, 1, 3};
    double first_x[] = {1, 3, 4};
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), 1);
        ck_assert_double_eq(seq, want_seq[k]);
        ck_assert_uint_eq(n, want_n[k]);
        ck_assert_double_eq(rows[0], first_x[k]);
        ck_assert_double_eq(rows[2 * n - 1], want_seq[k]);
    }
    ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), 0);
    ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), 0);
    st_seqiter_free(it);
    st_reader_free(r);

    /* A sequence that comes back later is an error at its line. */
    p = put("s2.csv", "seq,x\n1,1\n2,1\n# c\n1,1\n");
    ck_assert_int_eq(st_reader_open(&r, p, &e), 0);
    ck_assert_int_eq(st_seqiter_new(&it, r, 0, &e), 0);
    ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), 1);
    ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), 1);
    ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), ST_EDATA);
    char msg[512];
    st_err_format(&e, msg, sizeof msg);
    ck_assert_msg(strstr(msg, "s2.csv:5: seq 1 appears again"), "%s", msg);
    st_seqiter_free(it);
    st_reader_free(r);

    /* The same in a binary stream names the 1-based row. */
    {
        const char *nm[] = {"seq", "x"};
        double rr[6] = {1, 1, 2, 1, 1, 1};
        const char *b = write_stream("s2.stb", ST_FMT_BIN, 0, NULL, nm, 2, rr, 3, 0, NULL);
        ck_assert_int_eq(st_reader_open(&r, b, &e), 0);
        ck_assert_int_eq(st_seqiter_new(&it, r, 0, &e), 0);
        ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), 1);
        ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), 1);
        ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), ST_EDATA);
        st_err_format(&e, msg, sizeof msg);
        ck_assert_msg(strstr(msg, "s2.stb: row 3: seq 1 appears again"), "%s", msg);
        ck_assert_int_eq(st_reader_error(r, &e, ST_EDATA, "x = %d", 5), ST_EDATA);
        st_err_format(&e, msg, sizeof msg);
        ck_assert_msg(strstr(msg, "s2.stb: row 3: x = 5"), "%s", msg);
        st_seqiter_free(it);
        st_reader_free(r);
    }

    /* No seq column: the whole stream is one group. */
    ck_assert_int_eq(st_reader_open(&r, put("s3.csv", "x\n1\n2\n3\n"), &e), 0);
    ck_assert_int_eq(st_seqiter_new(&it, r, -1, &e), 0);
    ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), 1);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &seq, &e), 0);
    st_seqiter_free(it);
    st_reader_free(r);
}
END_TEST

START_TEST(test_binary_pipe_streaming)
{
    /* Rows of a chunk reach the reader while the writer is still running:
     * the writer flushes per chunk and the reader does not wait for more. */
    int data[2], go[2];
    ck_assert_int_eq(pipe(data), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(data[0]);
        close(go[1]);
        FILE *f = fdopen(data[1], "wb");
        st_err e;
        st_writer *w;
        const char *names[] = {"seq", "x"};
        st_writer_opts o = {.format = ST_FMT_BIN, .chunk_rows = 2};
        double rows[8] = {1, 0.5, 1, 1.5, 2, 2.5, 2, 3.5};
        if (st_writer_new(&w, f, names, NULL, 2, &o, &e) < 0 || st_writer_rows(w, rows, 2, &e) < 0)
            _exit(1);
        char c;
        if (read(go[0], &c, 1) != 1) /* wait until the reader has the first rows */
            _exit(1);
        if (st_writer_rows(w, rows + 4, 2, &e) < 0 || st_writer_close(w, &e) < 0)
            _exit(1);
        fclose(f);
        _exit(0);
    }
    close(data[1]);
    close(go[0]);
    char path[32];
    snprintf(path, sizeof path, "/dev/fd/%d", data[0]);
    st_err e;
    st_err_clear(&e);
    st_reader *r;
    ck_assert_int_eq(st_reader_open(&r, path, &e), 0);
    double row[2];
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_double_eq(row[1], 1.5);
    ck_assert_int_eq((int)write(go[1], "g", 1), 1);
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_double_eq(row[1], 2.5);
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_int_eq(st_reader_next(r, row, &e), 0);
    st_reader_free(r);
    close(data[0]);
    close(go[1]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

START_TEST(test_describe)
{
    st_err e;
    st_err_clear(&e);
    st_describe *d;
    ck_assert_int_eq(st_describe_new(&d, 2, NULL, 0, &e), 0);
    /* seq 1: x = 1, 2; seq 2: x = NaN, 4; seq 3: x = 1e16, -1e16 (compensated sum) */
    double rows[][2] = {{1, 1}, {1, 2}, {2, NAN}, {2, 4}, {3, 1e16}, {3, -1e16}};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(st_describe_row(d, rows[i], NULL, &e), 0);
    st_colstat s[2];
    size_t n, nseq;
    st_describe_result(d, s, &n, &nseq);
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(nseq, 3);
    ck_assert_uint_eq(s[1].count, 5);
    ck_assert_uint_eq(s[1].missing, 1);
    ck_assert_double_eq(s[1].min, -1e16);
    ck_assert_double_eq(s[1].max, 1e16);
    ck_assert_double_eq(s[1].mean, 7.0 / 5); /* a naive sum would lose the 1 and 2 */
    ck_assert_double_eq(s[0].mean, 2);
    double back[2] = {1, 0};
    ck_assert_int_eq(st_describe_row(d, back, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "row 7: seq 1 appears again"));
    st_describe_free(d);

    /* No seq column; a column with no values at all. */
    ck_assert_int_eq(st_describe_new(&d, 1, NULL, -1, &e), 0);
    st_describe_result(d, s, &n, &nseq);
    ck_assert_uint_eq(nseq, 0);
    double nan1[1] = {NAN};
    ck_assert_int_eq(st_describe_row(d, nan1, NULL, &e), 0);
    st_describe_result(d, s, &n, &nseq);
    ck_assert_uint_eq(nseq, 1);
    ck_assert(isnan(s[0].mean) && isnan(s[0].min) && s[0].missing == 1);
    st_describe_free(d);
}
END_TEST

/* ------------------------------------------------- strings and times */

/* Read a whole file with reader options; returns the error code (0 ok)
 * and the formatted message in msg. */
static int read_all_opts(const char *path, const st_reader_opts *o, size_t *nrows, char *msg, size_t cap)
{
    st_err e;
    st_err_clear(&e);
    st_reader *r;
    size_t n = 0;
    int rc = st_reader_open_opts(&r, path, o, &e);
    if (rc == 0) {
        double row[64];
        while ((rc = st_reader_next(r, row, &e)) == 1)
            n++;
        st_reader_free(r);
    }
    if (nrows)
        *nrows = n;
    msg[0] = '\0';
    if (rc < 0)
        st_err_format(&e, msg, cap);
    return rc;
}

static const st_reader_opts ANY = {.any_type = 1};
static const st_reader_opts PROMOTE = {.any_type = 1, .promote = 1};

static void expect_fail_opts(const char *path, const st_reader_opts *o, const char *needle)
{
    char msg[1024];
    int rc = read_all_opts(path, o, NULL, msg, sizeof msg);
    ck_assert_msg(rc < 0, "expected an error for %s", path);
    ck_assert_msg(strstr(msg, needle), "message '%s' lacks '%s'", msg, needle);
    ck_assert_ptr_null(strchr(msg, '\n'));
}

START_TEST(test_strdict)
{
    st_err e;
    st_err_clear(&e);
    st_strdict *d;
    ck_assert_int_eq(st_strdict_new(&d, &e), 0);
    ck_assert_uint_eq(st_strdict_size(d), 0);
    ck_assert(isnan(st_strdict_find(d, "a", 1)));
    /* codes in order of first insertion; pointers stay valid as it grows */
    double c;
    const char *first = NULL;
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(buf, sizeof buf, "id-%d", i % 50000);
        ck_assert_int_eq(st_strdict_intern(d, buf, (size_t)n, &c, &e), 0);
        if (c != (double)(i % 50000))
            ck_abort_msg("'%s' got code %g", buf, c);
        if (i == 0)
            first = st_strdict_str(d, 0);
    }
    ck_assert_uint_eq(st_strdict_size(d), 50000);
    ck_assert_ptr_eq(st_strdict_str(d, 0), first);
    ck_assert_str_eq(first, "id-0");
    ck_assert_str_eq(st_strdict_str(d, 49999), "id-49999");
    ck_assert_uint_eq(st_strdict_len(d, 12345), 8);
    ck_assert_double_eq(st_strdict_find(d, "id-777", 6), 777);
    ck_assert_ptr_null(st_strdict_str(d, NAN));
    ck_assert_ptr_null(st_strdict_str(d, 50000));
    ck_assert_ptr_null(st_strdict_str(d, 1.5));
    ck_assert_ptr_null(st_strdict_str(d, -1));
    /* a long string; UTF-8 yes, bad bytes and NUL no */
    char *big = malloc(200000);
    memset(big, 'x', 200000);
    ck_assert_int_eq(st_strdict_intern(d, big, 200000, &c, &e), 0);
    ck_assert_uint_eq(st_strdict_len(d, c), 200000);
    ck_assert_ptr_eq(st_strdict_str(d, 0), first);
    free(big);
    ck_assert_int_eq(st_strdict_intern(d, "caf\xc3\xa9", 5, &c, &e), 0);
    ck_assert_int_eq(st_strdict_intern(d, "caf\xe9", 4, &c, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "not UTF-8"));
    ck_assert_int_eq(st_strdict_intern(d, "a\0b", 3, &c, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "NUL"));
    /* the empty string is a string like any other */
    ck_assert_int_eq(st_strdict_intern(d, "", 0, &c, &e), 0);
    ck_assert_str_eq(st_strdict_str(d, c), "");
    st_strdict_free(d);
    st_strdict_free(NULL);
}
END_TEST

START_TEST(test_times)
{
    /* known days since 1970-01-01 */
    ck_assert_int_eq(st_days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(st_days_from_civil(2000, 3, 1), 11017);
    ck_assert_int_eq(st_days_from_civil(1960, 1, 1), -3653);
    ck_assert_int_eq(st_days_from_civil(2024, 2, 29), 19782);
    ck_assert_int_eq(st_days_from_civil(0, 1, 1), -719528);
    ck_assert_int_eq(st_days_from_civil(9999, 12, 31), 2932896);
    /* every day of years 0000..9999 back and forth, consecutive */
    int64_t prev = st_days_from_civil(0, 1, 1) - 1;
    for (int64_t days = -719528; days <= 2932896; days++) {
        int64_t y;
        unsigned m, d;
        st_civil_from_days(days, &y, &m, &d);
        if (st_days_from_civil(y, m, d) != days || days != prev + 1)
            ck_abort_msg("day %lld", (long long)days);
        prev = days;
    }
    st_dtype k;
    double v;
    char buf[ST_CELL_BUFSZ];
    ck_assert_int_eq(st_time_parse("2024-03-31", 10, &k, &v), 0);
    ck_assert_int_eq(k, ST_DATE);
    ck_assert_double_eq(v, 19813);
    ck_assert_int_eq(st_time_parse(" 1960-01 ", 9, &k, &v), 0);
    ck_assert_int_eq(k, ST_MONTH);
    ck_assert_double_eq(v, -3653);
    ck_assert_int_eq(st_time_parse("2024-03-31T12:34:56", 19, &k, &v), 0);
    ck_assert_int_eq(k, ST_DATETIME);
    ck_assert_double_eq(v, 19813 * 86400.0 + 12 * 3600 + 34 * 60 + 56);
    /* the same instant written four ways */
    const char *same[] = {"2024-03-31 12:34:56", "2024-03-31T12:34:56Z", "2024-03-31T14:34:56+02:00",
                          "2024-03-31T07:04:56-0530"};
    for (size_t i = 0; i < 4; i++) {
        double w;
        ck_assert_int_eq(st_time_parse(same[i], strlen(same[i]), &k, &w), 0);
        ck_assert_double_eq(w, v);
    }
    ck_assert_int_eq(st_time_parse("2024-03-31T12:34", 16, &k, &v), 0);
    ck_assert_double_eq(v, 19813 * 86400.0 + 12 * 3600 + 34 * 60);
    const char *bad[] = {"2024-02-30", "2023-02-29", "2024-13-01", "2024-00", "2024-1-01", "2024-03-31T24:00",
                         "2024-03-31T12:60", "2024-03-31T12:00:60", "2024-03-31X12:00", "2024-03-31T12:00:00.5",
                         "24-03-31", "2024/03/31", "2024-03-31T12:00+25:00", "", "2024", "202403"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(st_time_parse(bad[i], strlen(bad[i]), &k, &v) < 0, "'%s' is not a time", bad[i]);
    ck_assert_int_eq(st_time_parse("2024-02-29", 10, &k, &v), 0); /* leap year */
    ck_assert_int_eq(st_time_parse("2000-02-29", 10, &k, &v), 0);
    ck_assert_int_lt(st_time_parse("1900-02-29", 10, &k, &v), 0);
    /* formatting */
    ck_assert_int_eq(st_time_format(buf, ST_DATE, 19813), 10);
    ck_assert_str_eq(buf, "2024-03-31");
    ck_assert_int_eq(st_time_format(buf, ST_MONTH, -3653), 7);
    ck_assert_str_eq(buf, "1960-01");
    ck_assert_int_eq(st_time_format(buf, ST_DATETIME, -1), 19);
    ck_assert_str_eq(buf, "1969-12-31T23:59:59");
    ck_assert_int_eq(st_time_format(buf, ST_DATE, NAN), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_int_lt(st_time_format(buf, ST_MONTH, -3652), 0); /* not a month's first day */
    ck_assert_int_lt(st_time_format(buf, ST_DATE, 0.5), 0);
    ck_assert_int_lt(st_time_format(buf, ST_DATE, 3e6), 0); /* past 9999 */
    ck_assert_int_lt(st_time_format(buf, ST_DATETIME, 1.5), 0);
    /* cell text */
    ck_assert_str_eq(st_cell_text(buf, ST_I8, NULL, 42), "42");
    ck_assert_str_eq(st_cell_text(buf, ST_F8, NULL, NAN), "NaN");
    ck_assert_str_eq(st_cell_text(buf, ST_DATE, NULL, NAN), "");
    ck_assert_str_eq(st_cell_text(buf, ST_DATE, NULL, 0), "1970-01-01");
}
END_TEST

/* One CSV, the types the look-ahead gives it and its rows, read with
 * strings allowed. */
START_TEST(test_csv_types)
{
    const char *p = put("types.csv",
                        "\"\",id,date,month,ts,label,x,code,big,empty,n\r\n"
                        "\"1\",p01,2024-03-31,1960-01,2024-03-31T12:00:00,\"healthy\",1.5,007,9007199254740993,,\"5\"\r\n"
                        "\"2\",p02,2024-04-01,1960-02,2024-03-31 13:00:00Z,\"a, \"\"quoted\"\" one\",NA,12,1,,6\n"
                        "\"3\",p02,,1960-03,2024-03-31,\"two\nlines\",3,13,2,NA,\"\"\n"
                        "# a comment\n"
                        "\"4\",p03,2024-04-03,1960-04,,NA,\"-2\",14,3,,7\n");
    st_err e;
    st_err_clear(&e);
    st_reader *r;
    ck_assert_int_eq(st_reader_open_opts(&r, p, &ANY, &e), 0);
    const char *names[] = {"c1", "id", "date", "month", "ts", "label", "x", "code", "big", "empty", "n"};
    const st_dtype want[] = {ST_F8, ST_STR, ST_DATE, ST_MONTH, ST_DATETIME, ST_STR, ST_F8, ST_STR, ST_STR, ST_F8, ST_F8};
    ck_assert_uint_eq(st_reader_ncols(r), 11);
    for (size_t j = 0; j < 11; j++) {
        ck_assert_str_eq(st_reader_name(r, j), names[j]);
        ck_assert_msg(st_reader_dtype(r, j) == want[j], "column %s: %s", names[j], st_dtype_name(st_reader_dtype(r, j)));
    }
    double row[11];
    char buf[ST_CELL_BUFSZ];
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_int_eq(st_reader_line(r), 2);
    ck_assert_double_eq(row[0], 1);
    ck_assert_double_eq(row[1], 0);
    ck_assert_str_eq(st_reader_str(r, 1, row[1]), "p01");
    ck_assert_double_eq(row[2], 19813);
    ck_assert_double_eq(row[3], -3653);
    ck_assert_double_eq(row[4], 19813 * 86400.0 + 43200);
    ck_assert_str_eq(st_reader_str(r, 5, row[5]), "healthy");
    ck_assert_double_eq(row[6], 1.5);
    ck_assert_str_eq(st_reader_str(r, 7, row[7]), "007");
    ck_assert_str_eq(st_reader_str(r, 8, row[8]), "9007199254740993");
    ck_assert(isnan(row[9]));
    ck_assert_double_eq(row[10], 5);
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_double_eq(row[1], 1);
    ck_assert_double_eq(row[4], 19813 * 86400.0 + 46800);
    ck_assert_str_eq(st_reader_str(r, 5, row[5]), "a, \"quoted\" one");
    ck_assert(isnan(row[6]));
    ck_assert_str_eq(st_reader_cell(r, 7, row[7], buf), "12");
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_int_eq(st_reader_line(r), 4);
    ck_assert_double_eq(row[1], 1); /* p02 again: the same code */
    ck_assert(isnan(row[2]));
    ck_assert_double_eq(row[4], 19813 * 86400.0); /* a date in a timestamp column: midnight */
    ck_assert_str_eq(st_reader_str(r, 5, row[5]), "two\nlines");
    ck_assert(isnan(row[10])); /* "" in a number column */
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_int_eq(st_reader_line(r), 7); /* the record over two lines and the comment counted */
    ck_assert(isnan(row[4]) && isnan(row[5]));
    ck_assert_double_eq(row[6], -2);
    ck_assert_str_eq(st_reader_cell(r, 1, row[1], buf), "p03");
    ck_assert_int_eq(st_reader_next(r, row, &e), 0);
    ck_assert_uint_eq(st_strdict_size(st_reader_dict(r, 1)), 3);
    ck_assert_ptr_null(st_reader_dict(r, 0));
    st_reader_free(r);

    /* numbers only (the default): the first cell that is not a number */
    expect_fail_opts(p, NULL, "types.csv:2:2: non-numeric value 'p01' in column 'id'");
    /* forcing a column to strings */
    st_reader_opts o = {.str_cols = "x,n"};
    ck_assert_int_eq(st_reader_open_opts(&r, p, &o, &e), 0);
    ck_assert_int_eq(st_reader_dtype(r, 6), ST_STR);
    ck_assert_int_eq(st_reader_dtype(r, 1), ST_STR); /* str_cols implies strings elsewhere too */
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_str_eq(st_reader_str(r, 6, row[6]), "1.5");
    ck_assert_str_eq(st_reader_str(r, 10, row[10]), "5");
    st_reader_free(r);
    o.str_cols = "nope";
    ck_assert_int_eq(st_reader_open_opts(&r, p, &o, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "no column 'nope'"));

    /* an all-numeric header is data */
    expect_fail_opts(put("nohead.csv", "3.6,79\n1.8,54\n"), &ANY,
                     "nohead.csv:1:1: the header line looks like data (every name is a number); use --no-header");
    o = (st_reader_opts){.no_header = 1};
    ck_assert_int_eq(st_reader_open_opts(&r, tpath("nohead.csv"), &o, &e), 0);
    ck_assert_str_eq(st_reader_name(r, 0), "c1");
    ck_assert_str_eq(st_reader_name(r, 1), "c2");
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_int_eq(st_reader_line(r), 1);
    ck_assert_double_eq(row[0], 3.6);
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_double_eq(row[1], 54);
    ck_assert_int_eq(st_reader_next(r, row, &e), 0);
    st_reader_free(r);

    /* a tab-separated file whose names hold commas in quotes */
    ck_assert_int_eq(st_reader_open_opts(&r, put("tab.tsv", "\"a,b\"\tc\n1\t2\n"), &ANY, &e), 0);
    ck_assert_uint_eq(st_reader_ncols(r), 2);
    ck_assert_str_eq(st_reader_name(r, 0), "a,b");
    st_reader_free(r);

    /* quoting errors and limits, with their places */
    expect_fail_opts(put("q1.csv", "a,b\n1,\"x\"y\n"), &ANY, "q1.csv:2:2: text after the closing quote");
    expect_fail_opts(put("q2.csv", "a,b\n1,\"x\n2,3\n"), &ANY, "q2.csv:2:2: quote not closed before the end of the input");
    expect_fail_opts(put("q3.csv", "a,b\n1,\"x\ny\"\n4,5\n6\n"), &ANY, "q3.csv:5:2: ragged row: 1 fields");
    expect_fail_opts(put("q4.csv", "a,b\nz,w\n1,\"x\ny\",3\n"), &ANY, "q4.csv:4:3: ragged row: 3 fields, the header has 2");
    expect_fail_opts(put("ov.csv", "a,b\n1,2\n3,1e400\n"), NULL, "ov.csv:3:2: number out of the range of doubles: '1e400' in column 'b'");
    expect_fail_opts(put("ov2.csv", "a,b\n1,2\n3,-1e999\n"), &ANY, "ov2.csv:3:2: number out of the range of doubles");
    expect_fail_opts(put("utf.csv", "a,\xe9t\xe9\n1,2\n"), NULL, "utf.csv:1:2: name of column 2 is not valid UTF-8");
    expect_fail_opts(put("nl.csv", "a,\"b\nc\"\n1,2\n"), NULL, "nl.csv:1:2: control character 0x0a in the name of column 2");
    expect_fail_opts(put("badutf.csv", "a,b\n1,x\xff\n"), &ANY, "badutf.csv:2:2: string with bytes that are not UTF-8 in column 'b'");
    {
        /* a date column meets a bad date after the look-ahead */
        char *text = malloc(16 * (ST_CSV_LOOKAHEAD + 4)), *q = text;
        q += sprintf(q, "d\n");
        for (int i = 0; i < ST_CSV_LOOKAHEAD; i++)
            q += sprintf(q, "2024-01-01\n");
        q += sprintf(q, "2024-02-30\n");
        expect_fail_opts(put_bytes("date.csv", text, (size_t)(q - text)), &ANY,
                         "date.csv:1002:1: not a date (YYYY-MM-DD): '2024-02-30' in column 'd'");
        free(text);
    }
    /* a quoted cell longer than the record limit: an error, not a hang */
    {
        size_t big = ST_CSV_MAX_LINE / 2;
        char *text = malloc(3 * big + 64), *q = text;
        q += sprintf(q, "a,b\n1,\"");
        for (int k = 0; k < 3; k++) {
            memset(q, 'x', big - 1);
            q += big - 1;
            *q++ = '\n';
        }
        q += sprintf(q, "\"\n");
        expect_fail_opts(put_bytes("longq.csv", text, (size_t)(q - text)), &ANY,
                         "longq.csv:2:2: quoted cell longer than 1048576 bytes");
        free(text);
    }
}
END_TEST

/* Ids that look like integers in the first rows and then are not. */
START_TEST(test_promotion)
{
    size_t n = ST_CSV_LOOKAHEAD + 500;
    char *text = malloc(64 * (n + 10)), *q = text;
    q += sprintf(q, "id,x\n");
    for (size_t i = 0; i < n; i++)
        q += sprintf(q, "%zu,%zu.5\n", 100 + i, i);
    q += sprintf(q, "A-17,1\n+100,2\n9007199254740993,3\n");
    const char *p = put_bytes("ids.csv", text, (size_t)(q - text));
    free(text);
    /* numbers only, or strings without promotion: an error at A-17 */
    expect_fail_opts(p, NULL, "ids.csv:1502:1: non-numeric value 'A-17' in column 'id'");
    expect_fail_opts(p, &ANY, "ids.csv:1502:1: non-numeric value 'A-17' in column 'id', integers in its first rows");
    /* with promotion: the column turns into ids; the call's rows have codes */
    st_err e;
    st_err_clear(&e);
    st_reader *r;
    ck_assert_int_eq(st_reader_open_opts(&r, p, &PROMOTE, &e), 0);
    ck_assert_int_eq(st_reader_dtype(r, 0), ST_F8);
    double *rows = malloc((n + 10) * 2 * sizeof *rows);
    size_t got;
    ck_assert_int_eq(st_reader_read(r, rows, 1000, &got, &e), 0);
    ck_assert_uint_eq(got, 1000);
    ck_assert_uint_eq(st_reader_retypes(r), 0);
    ck_assert_double_eq(rows[0], 100);
    ck_assert_int_eq(st_reader_read(r, rows + 2000, n + 10, &got, &e), 0);
    ck_assert_uint_eq(got, n + 3 - 1000);
    ck_assert_uint_eq(st_reader_retypes(r), 1);
    ck_assert_int_eq(st_reader_dtype(r, 0), ST_STR);
    /* the rows of this call: codes, in order of appearance */
    ck_assert_str_eq(st_reader_str(r, 0, rows[2000]), "1100");
    ck_assert_double_eq(rows[2000], 0);
    ck_assert_str_eq(st_reader_str(r, 0, rows[2 * (n + 0)]), "A-17");
    ck_assert_str_eq(st_reader_str(r, 0, rows[2 * (n + 1)]), "100"); /* +100 in plain form */
    ck_assert_str_eq(st_reader_str(r, 0, rows[2 * (n + 2)]), "9007199254740993");
    ck_assert_double_eq(rows[2 * (n + 2) + 1], 3);
    /* the rows of the earlier call: recoded by the caller */
    double c;
    ck_assert_int_eq(st_reader_recode(r, 0, ST_F8, rows[0], &c, &e), 0);
    ck_assert_str_eq(st_reader_str(r, 0, c), "100");
    ck_assert_double_eq(c, rows[2 * (n + 1)]);
    ck_assert_int_eq(st_reader_recode(r, 0, ST_F8, NAN, &c, &e), 0);
    ck_assert(isnan(c));
    ck_assert_int_eq(st_reader_recode(r, 1, ST_F8, 1, &c, &e), ST_EINTERNAL);
    st_reader_free(r);
    free(rows);

    /* a table reads it whole: one string column in order of appearance */
    st_table *t;
    ck_assert_int_eq(st_table_read_opts(&t, &p, 1, &ANY, &e), 0);
    ck_assert_uint_eq(t->nrows, n + 3);
    ck_assert_int_eq(t->dtypes[0], ST_STR);
    ck_assert_int_eq(t->dtypes[1], ST_F8);
    char buf[ST_CELL_BUFSZ];
    for (size_t i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "%zu", 100 + i);
        if (st_table_get(t, i, 0) != (double)i || strcmp(st_table_str(t, 0, st_table_get(t, i, 0)), buf) != 0)
            ck_abort_msg("row %zu", i);
    }
    ck_assert_double_eq(st_table_get(t, n + 1, 0), 0); /* +100 is id 100 again */
    ck_assert_str_eq(st_table_cell(t, 0, st_table_get(t, n + 2, 0), buf), "9007199254740993");
    ck_assert_int_eq(st_table_need_numeric(t, 1, &e), 0);
    ck_assert_int_eq(st_table_need_numeric(t, 0, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "column 'id' holds text, such as '100' in row 1, not numbers"));
    /* groups by the string: 100 comes back after other ids */
    st_group *g;
    size_t ng;
    ck_assert_int_eq(st_table_groups(t, 0, &g, &ng, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "seq 100 appears again"));
    st_table_free(t);
    /* the default table read refuses it as before */
    ck_assert_int_eq(st_table_read(&t, p, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "non-numeric value 'A-17'"));

    /* fractions in the first rows: text later is an error, promotion or not */
    text = malloc(32 * (n + 10));
    q = text;
    q += sprintf(q, "x\n");
    for (size_t i = 0; i < n; i++)
        q += sprintf(q, "%zu.5\n", i);
    q += sprintf(q, "abc\n");
    p = put_bytes("frac.csv", text, (size_t)(q - text));
    expect_fail_opts(p, &PROMOTE, "frac.csv:1502:1: non-numeric value 'abc' in column 'x'");
    /* a big integer among fractions: the nearest double */
    q = text;
    q += sprintf(q, "x\n0.5\n9007199254740993\n");
    p = put_bytes("fracbig.csv", text, (size_t)(q - text));
    ck_assert_int_eq(st_table_read(&t, p, &e), 0);
    ck_assert_double_eq(st_table_get(t, 1, 0), 9007199254740992.0);
    st_table_free(t);
    /* integers: a later 64-bit one is an error without promotion (never a rounded id) */
    q = text;
    q += sprintf(q, "seq\n");
    for (size_t i = 0; i < n; i++)
        q += sprintf(q, "%zu\n", i);
    q += sprintf(q, "9007199254740993\n");
    p = put_bytes("late.csv", text, (size_t)(q - text));
    expect_fail_opts(p, NULL, "late.csv:1502:1: integer 9007199254740993 in column 'seq' is beyond 2^53");
    ck_assert_int_eq(st_table_read_opts(&t, &p, 1, &ANY, &e), 0);
    ck_assert_str_eq(st_table_str(t, 0, st_table_get(t, n, 0)), "9007199254740993");
    ck_assert_str_eq(st_table_str(t, 0, st_table_get(t, 7, 0)), "7");
    st_table_free(t);
    free(text);
}
END_TEST

/* Writers of strings and times, CSV and binary, and their round trips. */
START_TEST(test_writer_types)
{
    st_err e;
    st_err_clear(&e);
    st_strdict *d;
    ck_assert_int_eq(st_strdict_new(&d, &e), 0);
    const char *labels[] = {"plain", "NA", "a,b", "say \"hi\"", "two\nlines", " pad", "#x", "5", "caf\xc3\xa9"};
    size_t nl = sizeof labels / sizeof labels[0];
    double code;
    for (size_t i = 0; i < nl; i++)
        ck_assert_int_eq(st_strdict_intern(d, labels[i], strlen(labels[i]), &code, &e), 0);
    const char *names[] = {"s", "d", "m", "ts", "x"};
    const st_dtype dt[] = {ST_STR, ST_DATE, ST_MONTH, ST_DATETIME, ST_F8};
    size_t n = nl + 1;
    double *rows = malloc(n * 5 * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        rows[i * 5 + 0] = i < nl ? (double)i : NAN;
        rows[i * 5 + 1] = i == 3 ? NAN : 19813.0 + (double)i;
        rows[i * 5 + 2] = (double)st_days_from_civil(1960, (unsigned)(i % 12) + 1, 1);
        rows[i * 5 + 3] = i == 4 ? NAN : 1711886400.0 + 3600.0 * (double)i;
        rows[i * 5 + 4] = (double)i / 4;
    }
    /* CSV: ISO times, strings quoted only when a reader would misread them */
    const char *p = tpath("w.csv");
    FILE *f = fopen(p, "wb");
    st_writer *w;
    ck_assert_int_eq(st_writer_new(&w, f, names, dt, 5, NULL, &e), 0);
    ck_assert_int_eq(st_writer_row(w, rows, &e), ST_EDATA); /* no dictionary yet */
    ck_assert_ptr_nonnull(strstr(e.msg, "no dictionary"));
    ck_assert_int_eq(st_writer_source(w, 0, ST_STR, d, &e), 0);
    ck_assert_int_eq(st_writer_rows(w, rows, n, &e), 0);
    ck_assert_int_eq(st_writer_close(w, &e), 0);
    fclose(f);
    size_t len;
    char *txt = (char *)slurp(p, &len);
    txt[len] = '\0';
    ck_assert_str_eq(txt, "s,d,m,ts,x\n"
                          "plain,2024-03-31,1960-01,2024-03-31T12:00:00,0\n"
                          "\"NA\",2024-04-01,1960-02,2024-03-31T13:00:00,0.25\n"
                          "\"a,b\",2024-04-02,1960-03,2024-03-31T14:00:00,0.5\n"
                          "\"say \"\"hi\"\"\",,1960-04,2024-03-31T15:00:00,0.75\n"
                          "\"two\nlines\",2024-04-04,1960-05,,1\n"
                          "\" pad\",2024-04-05,1960-06,2024-03-31T17:00:00,1.25\n"
                          "\"#x\",2024-04-06,1960-07,2024-03-31T18:00:00,1.5\n"
                          "5,2024-04-07,1960-08,2024-03-31T19:00:00,1.75\n"
                          "caf\xc3\xa9,2024-04-08,1960-09,2024-03-31T20:00:00,2\n"
                          ",2024-04-09,1960-10,2024-03-31T21:00:00,2.25\n");
    free(txt);
    /* read back: the same values; then binary, in chunks of 3 rows so that
     * later chunks bring new strings, and back to the same CSV bytes */
    st_table *t;
    ck_assert_int_eq(st_table_read_opts(&t, &p, 1, &ANY, &e), 0);
    ck_assert_uint_eq(t->nrows, n);
    for (size_t j = 0; j < 5; j++)
        ck_assert_int_eq(t->dtypes[j], j == 0 ? ST_STR : dt[j]);
    for (size_t i = 0; i < n; i++) {
        const char *s = st_table_str(t, 0, st_table_get(t, i, 0));
        ck_assert_msg(i < nl ? s && strcmp(s, labels[i]) == 0 : !s, "row %zu", i);
        for (size_t j = 1; j < 5; j++)
            ck_assert_msg(st_table_get(t, i, j) == rows[i * 5 + j] || (isnan(rows[i * 5 + j]) && isnan(st_table_get(t, i, j))),
                          "row %zu col %zu", i, j);
    }
    for (int codec = 0; codec <= 1; codec++) {
        const char *b = tpath(codec ? "wz.stb" : "w.stb");
        f = fopen(b, "wb");
        st_writer_opts o = {.format = ST_FMT_BIN, .codec = codec, .chunk_rows = 3};
        ck_assert_int_eq(st_writer_new(&w, f, (const char *const *)t->names, t->dtypes, 5, &o, &e), 0);
        for (size_t j = 0; j < 5; j++)
            ck_assert_int_eq(st_writer_carry(w, j, t, j, &e), 0);
        ck_assert_int_eq(st_writer_rows(w, t->data, n, &e), 0);
        ck_assert_int_eq(st_writer_close(w, &e), 0);
        fclose(f);
        unsigned char *bin = slurp(b, &len);
        ck_assert_int_eq(bin[10], 1); /* version 1.1: strings */
        ck_assert_ptr_nonnull(memmem(bin, len, "\"dtype\": \"str\"", 14));
        ck_assert_ptr_nonnull(memmem(bin, len, "\"dtype\": \"<M8[M]\"", 17));
        free(bin);
        st_table *u;
        ck_assert_int_eq(st_table_read_opts(&u, &b, 1, &ANY, &e), 0);
        ck_assert_uint_eq(u->nrows, n);
        for (size_t i = 0; i < n * 5; i++)
            ck_assert_msg(u->data[i] == t->data[i] || (isnan(u->data[i]) && isnan(t->data[i])), "value %zu", i);
        ck_assert_str_eq(st_table_str(u, 0, st_table_get(u, 4, 0)), "two\nlines");
        /* CSV again */
        const char *p2 = tpath("w2.csv");
        f = fopen(p2, "wb");
        ck_assert_int_eq(st_writer_new(&w, f, (const char *const *)u->names, u->dtypes, 5, NULL, &e), 0);
        ck_assert_int_eq(st_writer_carry(w, 0, u, 0, &e), 0);
        ck_assert_int_eq(st_writer_rows(w, u->data, n, &e), 0);
        ck_assert_int_eq(st_writer_close(w, &e), 0);
        fclose(f);
        size_t l1, l2;
        unsigned char *a1 = slurp(p, &l1), *a2 = slurp(p2, &l2);
        ck_assert(l1 == l2 && memcmp(a1, a2, l1) == 0);
        free(a1);
        free(a2);
        /* strings in a numbers-only reader: refused with the column */
        expect_fail_opts(b, NULL, "holds strings (str), where this program reads numbers");
        st_table_free(u);
    }
    st_table_free(t);

    /* conversions: numbers to strings, strings of digits to exact <i8,
     * text into a number column refused, a month that is not one refused */
    const char *n2[] = {"a", "b", "c"};
    st_strdict *ids;
    ck_assert_int_eq(st_strdict_new(&ids, &e), 0);
    double big, txt2;
    ck_assert_int_eq(st_strdict_intern(ids, "9223372036854775807", 19, &big, &e), 0);
    ck_assert_int_eq(st_strdict_intern(ids, "p1", 2, &txt2, &e), 0);
    const st_dtype dt2[] = {ST_STR, ST_I8, ST_MONTH};
    const char *b2 = tpath("conv.stb");
    f = fopen(b2, "wb");
    st_writer_opts ob = {.format = ST_FMT_BIN};
    ck_assert_int_eq(st_writer_new(&w, f, n2, dt2, 3, &ob, &e), 0);
    ck_assert_int_eq(st_writer_source(w, 0, ST_F8, NULL, &e), 0);
    ck_assert_int_eq(st_writer_source(w, 1, ST_STR, ids, &e), 0);
    double r1[3] = {2.5, big, -3653};
    ck_assert_int_eq(st_writer_row(w, r1, &e), 0);
    double r2[3] = {7, txt2, -3653};
    ck_assert_int_eq(st_writer_row(w, r2, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "row 2: column 'b' (<i8)"));
    double r3[3] = {7, big, -3652};
    ck_assert_int_eq(st_writer_row(w, r3, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "column 'c' (<M8[M]) cannot hold -3652"));
    ck_assert_int_eq(st_writer_close(w, &e), 0);
    fclose(f);
    unsigned char *bin = slurp(b2, &len);
    uint32_t hlen = bin[12] | bin[13] << 8 | bin[14] << 16 | (uint32_t)bin[15] << 24;
    const unsigned char *c = bin + 16 + hlen;
    /* one chunk: the dictionary section ("2.5" and the "7" of the row
     * refused), then the record */
    ck_assert_uint_eq(c[0], 1);
    const unsigned char *pay = c + 16;
    ck_assert_uint_eq(pay[0], 2);  /* two new entries */
    ck_assert_uint_eq(pay[4], 3);  /* of 3 bytes */
    ck_assert_int_eq(memcmp(pay + 8, "2.5", 3), 0);
    ck_assert_uint_eq(pay[11], 1);
    ck_assert_int_eq(memcmp(pay + 15, "7", 1), 0);
    const unsigned char *rec = pay + 16; /* 4 + 7 + 5 = 16 */
    int64_t k;
    memcpy(&k, rec + 4, 8);
    ck_assert(k == INT64_MAX);
    memcpy(&k, rec + 12, 8);
    ck_assert(k == -120); /* 1960-01: 120 months before 1970-01 */
    free(bin);
    /* reading it back: 2^63-1 exactly, as an id (promotion) */
    st_reader *r;
    ck_assert_int_eq(st_reader_open_opts(&r, b2, &PROMOTE, &e), 0);
    double row[3];
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_str_eq(st_reader_str(r, 0, row[0]), "2.5");
    ck_assert_str_eq(st_reader_str(r, 1, row[1]), "9223372036854775807");
    ck_assert_double_eq(row[2], -3653);
    st_reader_free(r);
    expect_fail_opts(b2, &ANY, "conv.stb: row 1: column 'b': integer 9223372036854775807 is beyond 2^53");
    st_strdict_free(ids);
    st_strdict_free(d);
    free(rows);

    /* names: control characters and bad UTF-8 are refused by writers */
    const char *badn[] = {"ok", "new\nline"};
    f = fopen(tpath("x.csv"), "wb");
    ck_assert_int_eq(st_writer_new(&w, f, badn, NULL, 2, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "control character 0x0a in the name of column 2"));
    const char *badu[] = {"ok", "\xff"};
    ck_assert_int_eq(st_writer_new(&w, f, badu, NULL, 2, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "name of column 2 is not valid UTF-8"));
    fclose(f);
    /* a numeric stream is still version 1.0, byte for byte as before */
    const char *nn[] = {"seq", "x"};
    double nr[2] = {1, 0.5};
    const char *b3 = write_stream("num.stb", ST_FMT_BIN, 0, NULL, nn, 2, nr, 1, 0, NULL);
    bin = slurp(b3, &len);
    static const char json[] = "{\"columns\": [{\"name\": \"seq\", \"dtype\": \"<i8\"}, {\"name\": \"x\", "
                               "\"dtype\": \"<f8\"}], \"meta\": {}}";
    ck_assert_uint_eq(len, 16 + 96 + 16 + 16 + 16); /* 89 bytes of JSON padded to 96 */
    ck_assert_int_eq(memcmp(bin, "\x89STB\r\n\x1a\n\x01\x00\x00\x00\x60\x00\x00\x00", 16), 0);
    ck_assert_int_eq(memcmp(bin + 16, json, 89), 0);
    ck_assert_int_eq(memcmp(bin + 16 + 89, "       ", 7), 0);
    ck_assert_int_eq(memcmp(bin + 112, "\x01\x00\x00\x00\x10\x00\x00\x00", 8), 0);
    free(bin);
}
END_TEST

/* Damaged or foreign version 1.1 streams. */
START_TEST(test_binary_strings_errors)
{
    st_err e;
    st_err_clear(&e);
    st_strdict *d;
    ck_assert_int_eq(st_strdict_new(&d, &e), 0);
    double a, b;
    st_strdict_intern(d, "alpha", 5, &a, &e);
    st_strdict_intern(d, "beta", 4, &b, &e);
    const char *names[] = {"s"};
    const st_dtype dt[] = {ST_STR};
    const char *p = tpath("s.stb");
    FILE *f = fopen(p, "wb");
    st_writer *w;
    st_writer_opts o = {.format = ST_FMT_BIN};
    ck_assert_int_eq(st_writer_new(&w, f, names, dt, 1, &o, &e), 0);
    st_writer_source(w, 0, ST_STR, d, &e);
    double rows[3] = {a, b, a};
    ck_assert_int_eq(st_writer_rows(w, rows, 3, &e), 0);
    ck_assert_int_eq(st_writer_close(w, &e), 0);
    fclose(f);
    st_strdict_free(d);
    size_t len;
    unsigned char *s = slurp(p, &len);
    uint32_t hlen = s[12] | s[13] << 8 | s[14] << 16 | (uint32_t)s[15] << 24;
    size_t ds = 16 + hlen, pay = ds + 16;
    /* payload: u32 2, u32 5 "alpha", u32 4 "beta" = 21 bytes, pad to 24; records 12 bytes */
    ck_assert_uint_eq(s[ds + 4], 36);
    ck_assert_uint_eq(s[pay], 2);
    unsigned char *c = malloc(len);
    /* minor version 2 */
    memcpy(c, s, len);
    c[10] = 2;
    expect_fail_opts(put_bytes("v12.stb", c, len), &ANY, "v12.stb:byte 8: unsupported stream version 1.2 (this reader reads 1.0 and 1.1)");
    /* a string column in a 1.0 stream */
    c[10] = 0;
    expect_fail_opts(put_bytes("v10.stb", c, len), &ANY, "string column 's' in a version 1.0 stream");
    /* a code past the dictionary (CRC fixed up so that the code is what fails) */
    memcpy(c, s, len);
    c[pay + 24 + 4] = 7;
    uint32_t crc = (uint32_t)crc32(0, c + pay, 36);
    memcpy(c + ds + 8, &crc, 4);
    expect_fail_opts(put_bytes("code.stb", c, len), &ANY, "code.stb: row 2: column 's': string code 7 is not in the dictionary");
    /* the same entry twice */
    memcpy(c, s, len);
    memcpy(c + pay + 4, "\x04\x00\x00\x00" "beta" "\x04\x00\x00\x00" "beta", 16);
    c[pay + 4 + 16] = 0;
    crc = (uint32_t)crc32(0, c + pay, 36);
    memcpy(c + ds + 8, &crc, 4);
    expect_fail_opts(put_bytes("dup.stb", c, len), &ANY, "column 's': dictionary entry repeated");
    /* an entry that runs past its chunk */
    memcpy(c, s, len);
    c[pay + 4] = 200;
    crc = (uint32_t)crc32(0, c + pay, 36);
    memcpy(c + ds + 8, &crc, 4);
    expect_fail_opts(put_bytes("run.stb", c, len), &ANY, "dictionary entry of 200 bytes runs past its chunk");
    /* bad UTF-8 in an entry */
    memcpy(c, s, len);
    c[pay + 8] = 0xff;
    crc = (uint32_t)crc32(0, c + pay, 36);
    memcpy(c + ds + 8, &crc, 4);
    expect_fail_opts(put_bytes("utf.stb", c, len), &ANY, "column 's': dictionary string with bytes that are not UTF-8");
    /* padding not zero */
    memcpy(c, s, len);
    c[pay + 22] = 1;
    crc = (uint32_t)crc32(0, c + pay, 36);
    memcpy(c + ds + 8, &crc, 4);
    expect_fail_opts(put_bytes("pad.stb", c, len), &ANY, "padding is not zero");
    /* the header: a name with a newline (valid JSON) is refused */
    memcpy(c, s, len);
    char *nm = memmem(c, len, "\"name\": \"s\"", 11);
    ck_assert_ptr_nonnull(nm);
    ck_assert_uint_eq(hlen % 8, 0);
    free(c);
    char hdr[256];
    int hn = snprintf(hdr, sizeof hdr, "{\"columns\": [{\"name\": \"a\\nb\", \"dtype\": \"<f8\"}]}");
    unsigned char buf[512];
    memcpy(buf, "\x89STB\r\n\x1a\n\x01\x00\x00\x00", 12);
    uint32_t hl = (uint32_t)((hn + 7) / 8 * 8);
    memcpy(buf + 12, &hl, 4);
    memset(buf + 16, ' ', hl);
    memcpy(buf + 16, hdr, (size_t)hn);
    memset(buf + 16 + hl, 0, 16);
    expect_fail(put_bytes("nlname.stb", buf, 16 + hl + 16), "control character 0x0a in the name of column 1", NULL);
    free(s);
}
END_TEST

/* Tables from several inputs with strings, and groups by string ids. */
START_TEST(test_string_groups)
{
    /* (put's names are overwritten after four calls: keep copies) */
    char *a = strdup(put("ga.csv", "seq,x,lab\np1,1,u\np1,2,v\np2,3,u\n"));
    char *b = strdup(put("gb.csv", "seq,x,lab\np2,4,w\np3,5,u\n"));
    char *c = strdup(put("gc.csv", "seq,x,lab\n7,6,v\n7,7,v\n")); /* numbers: strings in the table */
    const char *paths[] = {a, b, c};
    st_err e;
    st_err_clear(&e);
    st_table *t;
    ck_assert_int_eq(st_table_read_opts(&t, paths, 3, &ANY, &e), 0);
    ck_assert_uint_eq(t->nrows, 7);
    ck_assert_int_eq(t->dtypes[0], ST_STR);
    ck_assert_int_eq(t->dtypes[1], ST_F8);
    /* codes are the table's: one per string over all inputs */
    const char *seq[] = {"p1", "p1", "p2", "p2", "p3", "7", "7"};
    const char *lab[] = {"u", "v", "u", "w", "u", "v", "v"};
    for (size_t i = 0; i < 7; i++) {
        ck_assert_str_eq(st_table_str(t, 0, st_table_get(t, i, 0)), seq[i]);
        ck_assert_str_eq(st_table_str(t, 2, st_table_get(t, i, 2)), lab[i]);
    }
    ck_assert_double_eq(st_table_get(t, 2, 0), st_table_get(t, 3, 0));
    ck_assert_uint_eq(st_strdict_size(t->dicts[2]), 3);
    st_group *g;
    size_t ng;
    ck_assert_int_eq(st_table_groups(t, 0, &g, &ng, &e), 0);
    ck_assert_uint_eq(ng, 4); /* p1 | p2 (over two inputs) | p3 | 7 */
    ck_assert_uint_eq(g[1].start, 2);
    ck_assert_uint_eq(g[1].n, 2);
    ck_assert_str_eq(st_table_str(t, 0, g[3].seq), "7");
    free(g);
    /* writing the user's ids back */
    const char *p = tpath("ids.csv");
    FILE *f = fopen(p, "wb");
    st_writer *w;
    const char *names[] = {"seq", "n"};
    st_dtype dt[] = {st_carry_dtype(t->dtypes[0], ST_I8), ST_I8};
    ck_assert_int_eq(st_writer_new(&w, f, names, dt, 2, NULL, &e), 0);
    ck_assert_int_eq(st_writer_carry(w, 0, t, 0, &e), 0);
    double row[2] = {st_table_get(t, 4, 0), 1};
    ck_assert_int_eq(st_writer_row(w, row, &e), 0);
    ck_assert_int_eq(st_writer_close(w, &e), 0);
    fclose(f);
    size_t len;
    char *txt = (char *)slurp(p, &len);
    txt[len] = '\0';
    ck_assert_str_eq(txt, "seq,n\np3,1\n");
    free(txt);
    st_table_free(t);
    /* a string seq that comes back: the message names the user's id */
    const char *bad = put("gbad.csv", "seq,x\nA-1,0\nB-2,0\nA-1,0\n");
    ck_assert_int_eq(st_table_read_opts(&t, &bad, 1, &ANY, &e), 0);
    ck_assert_int_eq(st_table_groups(t, 0, &g, &ng, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "row 3: seq A-1 appears again after other sequences (rows of a sequence must be contiguous)");
    st_table_free(t);
    /* a missing id */
    const char *miss = put("gmiss.csv", "seq,x\nA-1,0\n,0\n");
    ck_assert_int_eq(st_table_read_opts(&t, &miss, 1, &ANY, &e), 0);
    ck_assert_int_eq(st_table_groups(t, 0, &g, &ng, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "row 2: seq value is missing"));
    st_table_free(t);
    /* dates and numbers in one column: refused, naming both inputs */
    const char *d1 = put("gd1.csv", "t\n2024-01-01\n"), *d2 = put("gd2.csv", "t\n5\n");
    const char *dp[] = {d1, d2};
    ck_assert_int_eq(st_table_read_opts(&t, dp, 2, &ANY, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "column 't' holds f8 here but date in"));

    /* the streaming iterator by string ids */
    st_reader *r;
    ck_assert_int_eq(st_reader_open_opts(&r, a, &ANY, &e), 0);
    st_seqiter *it;
    ck_assert_int_eq(st_seqiter_new(&it, r, 0, &e), 0);
    const double *rows;
    size_t n;
    double s;
    ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &s, &e), 1);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(st_reader_str(r, 0, s), "p1");
    ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &s, &e), 1);
    ck_assert_str_eq(st_reader_str(r, 0, s), "p2");
    ck_assert_int_eq(st_seqiter_next(it, &rows, &n, &s, &e), 0);
    st_seqiter_free(it);
    st_reader_free(r);

    /* the data-parallel count and reads: the same groups, the layout's
     * types make every share of the data read the same kinds */
    st_group_layout lay;
    ck_assert_int_eq(st_table_count_groups_opts(paths, 3, "seq", &ANY, &lay, &e), 0);
    ck_assert_uint_eq(lay.ngroups, 4);
    ck_assert_uint_eq(lay.nrows, 7);
    ck_assert_uint_eq(lay.group0[1], 1); /* p2 continues from ga.csv */
    ck_assert_ptr_nonnull(lay.str_union);
    ck_assert(lay.str_union[0] && lay.str_union[2] && !lay.str_union[1]);
    ck_assert_ptr_null(lay.input_str[0]);
    ck_assert_str_eq(lay.input_str[2], "seq"); /* numbers in gc.csv, read as ids */
    for (size_t glo = 0; glo < 4; glo++) {
        st_table *u, *v;
        size_t r1, r2;
        ck_assert_int_eq(st_table_read_groups_opts(&u, paths, 3, "seq", &ANY, NULL, glo, glo + 1, &r1, &e), 0);
        ck_assert_int_eq(st_table_read_groups(&v, paths, 3, "seq", &lay, glo, glo + 1, &r2, &e), 0);
        ck_assert_uint_eq(r1, r2);
        ck_assert_uint_eq(u->nrows, v->nrows);
        for (size_t i = 0; i < u->nrows; i++)
            for (size_t j = 0; j < 3; j++) {
                char b1[ST_CELL_BUFSZ], b2[ST_CELL_BUFSZ];
                ck_assert_int_eq(u->dtypes[j], v->dtypes[j]);
                ck_assert_str_eq(st_table_cell(u, j, st_table_get(u, i, j), b1), st_table_cell(v, j, st_table_get(v, i, j), b2));
            }
        st_table_free(u);
        st_table_free(v);
    }
    st_group_layout_free(&lay);
    /* a string id that comes back in a later input: the single pass's message */
    const char *e2 = put("ge.csv", "seq,x,lab\np4,1,u\np1,1,u\n");
    const char *ep[] = {a, e2};
    char m1[512], m2[512];
    ck_assert_int_eq(st_table_count_groups_opts(ep, 2, "seq", &ANY, &lay, &e), ST_EDATA);
    st_err_format(&e, m1, sizeof m1);
    ck_assert_int_eq(st_table_read_groups_opts(&t, ep, 2, "seq", &ANY, NULL, 0, SIZE_MAX, NULL, &e), ST_EDATA);
    st_err_format(&e, m2, sizeof m2);
    ck_assert_str_eq(m1, m2);
    ck_assert_ptr_nonnull(strstr(m1, "ge.csv:3: seq p1 appears again"));
    free(a);
    free(b);
    free(c);
}
END_TEST

/* Integers beyond 2^53 in a binary stream: exact, never rounded. */
START_TEST(test_binary_int64)
{
    const char *names[] = {"seq", "x"};
    const st_dtype dt[] = {ST_I8, ST_F8};
    st_err e;
    st_err_clear(&e);
    const char *p = tpath("big.stb");
    FILE *f = fopen(p, "wb");
    st_writer *w;
    st_writer_opts o = {.format = ST_FMT_BIN};
    ck_assert_int_eq(st_writer_new(&w, f, names, dt, 2, &o, &e), 0);
    double r0[2] = {9007199254740992.0, 1};
    ck_assert_int_eq(st_writer_row(w, r0, &e), 0);
    ck_assert_int_eq(st_writer_close(w, &e), 0);
    fclose(f);
    /* poke 2^53 + 1 and 2^63 - 1 into a stream of three rows by hand */
    size_t len;
    unsigned char *s = slurp(p, &len);
    uint32_t hlen = s[12] | s[13] << 8 | s[14] << 16 | (uint32_t)s[15] << 24;
    size_t ds = 16 + hlen;
    unsigned char *c = malloc(len + 64);
    memcpy(c, s, ds);
    int64_t v[3] = {INT64_C(9007199254740992), INT64_C(9007199254740993), INT64_MAX};
    unsigned char head[16] = {3, 0, 0, 0, 48, 0, 0, 0};
    unsigned char pay[48];
    for (int i = 0; i < 3; i++) {
        memcpy(pay + 16 * i, &v[i], 8);
        double x = i;
        memcpy(pay + 16 * i + 8, &x, 8);
    }
    uint32_t crc = (uint32_t)crc32(0, pay, 48);
    memcpy(head + 8, &crc, 4);
    memcpy(c + ds, head, 16);
    memcpy(c + ds + 16, pay, 48);
    memset(c + ds + 64, 0, 16);
    p = put_bytes("big3.stb", c, ds + 80);
    free(c);
    free(s);
    /* numbers only: an error naming the row, never 2^53 twice */
    expect_fail_opts(p, NULL, "big3.stb: row 2: column 'seq': integer 9007199254740993 is beyond 2^53");
    /* promotion: ids, exact */
    st_table *t;
    ck_assert_int_eq(st_table_read_opts(&t, &p, 1, &ANY, &e), 0);
    ck_assert_int_eq(t->dtypes[0], ST_STR);
    ck_assert_str_eq(st_table_str(t, 0, st_table_get(t, 0, 0)), "9007199254740992");
    ck_assert_str_eq(st_table_str(t, 0, st_table_get(t, 1, 0)), "9007199254740993");
    ck_assert_str_eq(st_table_str(t, 0, st_table_get(t, 2, 0)), "9223372036854775807");
    st_group *g;
    size_t ng;
    ck_assert_int_eq(st_table_groups(t, 0, &g, &ng, &e), 0);
    ck_assert_uint_eq(ng, 3);
    free(g);
    /* written back as <i8: the same integers */
    const char *q = tpath("big4.stb");
    f = fopen(q, "wb");
    ck_assert_int_eq(st_writer_new(&w, f, names, dt, 2, &o, &e), 0);
    ck_assert_int_eq(st_writer_carry(w, 0, t, 0, &e), 0);
    ck_assert_int_eq(st_writer_rows(w, t->data, 3, &e), 0);
    ck_assert_int_eq(st_writer_close(w, &e), 0);
    fclose(f);
    s = slurp(q, &len);
    ck_assert_int_eq(memcmp(s + ds + 16, pay, 48), 0);
    free(s);
    st_table_free(t);
    /* forced as ids from the first row */
    st_reader_opts io = {.id_cols = "seq"};
    st_reader *r;
    ck_assert_int_eq(st_reader_open_opts(&r, p, &io, &e), 0);
    ck_assert_int_eq(st_reader_dtype(r, 0), ST_STR);
    double row[2];
    ck_assert_int_eq(st_reader_next(r, row, &e), 1);
    ck_assert_str_eq(st_reader_str(r, 0, row[0]), "9007199254740992");
    st_reader_free(r);
}
END_TEST

START_TEST(test_describe_types)
{
    st_err e;
    st_err_clear(&e);
    st_strdict *d1, *d2;
    st_strdict_new(&d1, &e);
    st_strdict_new(&d2, &e);
    double c;
    /* two inputs whose dictionaries number the ids differently */
    st_strdict_intern(d1, "a", 1, &c, &e);
    st_strdict_intern(d1, "b", 1, &c, &e);
    st_strdict_intern(d2, "b", 1, &c, &e);
    st_strdict_intern(d2, "c", 1, &c, &e);
    st_dtype dt[] = {ST_STR, ST_DATE, ST_STR};
    st_describe *d;
    ck_assert_int_eq(st_describe_new(&d, 3, dt, 0, &e), 0);
    const st_strdict *in1[] = {d1, NULL, d1}, *in2[] = {d2, NULL, d2};
    st_describe_dicts(d, in1);
    double rows1[][3] = {{0, 0, 0}, {1, 10, NAN}};
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(st_describe_row(d, rows1[i], NULL, &e), 0);
    st_describe_dicts(d, in2);
    double rows2[][3] = {{0, NAN, 0}, {1, 20, 1}}; /* b continues, then c */
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(st_describe_row(d, rows2[i], NULL, &e), 0);
    st_colstat s[3];
    size_t n, nseq;
    st_describe_result(d, s, &n, &nseq);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(nseq, 3);
    ck_assert_uint_eq(s[0].distinct, 3);
    ck_assert_uint_eq(s[2].distinct, 3);
    ck_assert_uint_eq(s[2].missing, 1);
    ck_assert_double_eq(s[1].min, 0);
    ck_assert_double_eq(s[1].max, 20);
    ck_assert_double_eq(s[1].mean, 10);
    ck_assert_uint_eq(s[1].missing, 1);
    /* a back in the second input: by text, it appeared before */
    double back[3] = {NAN, 0, 0};
    st_strdict_intern(d2, "a", 1, &back[0], &e);
    ck_assert_int_eq(st_describe_row(d, back, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "row 5: seq a appears again"));
    st_describe_free(d);
    st_strdict_free(d1);
    st_strdict_free(d2);
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("numbers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_parse_cells);
    tcase_add_test(tc, test_parse_equals_strtod);
    tcase_add_test(tc, test_format_examples);
    tcase_add_test(tc, test_format_round_trip);
    tcase_add_test(tc, test_format_float_round_trip);
    suite_add_tcase(s, tc);
    tc = tcase_create("io");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_csv_basic);
    tcase_add_test(tc, test_csv_gzip);
    tcase_add_test(tc, test_csv_errors);
    tcase_add_test(tc, test_csv_many_short_lines_linear);
    tcase_add_test(tc, test_binary_round_trip);
    tcase_add_test(tc, test_writer_checks);
    tcase_add_test(tc, test_wide_chunks);
    tcase_add_test(tc, test_binary_errors);
    tcase_add_test(tc, test_binary_gzip_and_stdin);
    tcase_add_test(tc, test_table_and_groups);
    tcase_add_test(tc, test_read_groups_shares);
    tcase_add_test(tc, test_group_layout);
    tcase_add_test(tc, test_read_share_one_process);
    tcase_add_test(tc, test_seqiter);
    tcase_add_test(tc, test_describe);
    tcase_add_test(tc, test_binary_pipe_streaming);
    tcase_add_test(tc, test_mutations_never_crash);
    tcase_add_test(tc, test_strdict);
    tcase_add_test(tc, test_times);
    tcase_add_test(tc, test_csv_types);
    tcase_add_test(tc, test_promotion);
    tcase_add_test(tc, test_writer_types);
    tcase_add_test(tc, test_binary_strings_errors);
    tcase_add_test(tc, test_string_groups);
    tcase_add_test(tc, test_binary_int64);
    tcase_add_test(tc, test_describe_types);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(stream_suite)

/* st_rng: bit-exact reference values of xoshiro256++, SplitMix64 seeding and
 * jump(), then statistical checks of every sampler with fixed seeds.
 *
 * Tolerances come from the Monte Carlo error: moments within 5 standard
 * errors, chi-square below the 1 - 3e-6 quantile (z = 4.5), Kolmogorov-
 * Smirnov sqrt(n) D below 2.5 (p about 1e-5).  A correct sampler fails one
 * of these for a random seed with probability ~1e-5; the seeds are fixed so
 * the outcome is deterministic. */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/rng.h"
#include "core/threads.h"
#include "core/vmath.h"

/* ---------- helpers ---------- */

static void set_state(st_rng *r, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    st_rng_seed(r, 0);
    r->s[0] = a;
    r->s[1] = b;
    r->s[2] = c;
    r->s[3] = d;
}

typedef struct {
    double n, mean, m2; /* Welford */
} moments;

static void mom_add(moments *m, double x)
{
    m->n += 1.0;
    double d = x - m->mean;
    m->mean += d / m->n;
    m->m2 += d * (x - m->mean);
}

static double mom_var(const moments *m)
{
    return m->m2 / (m->n - 1.0);
}

/* Mean within 5 standard errors; sample variance within 5 standard errors
 * given the fourth central moment mu4 (Var s^2 ~ (mu4 - var^2) / n). */
static void check_moments(const moments *m, double mean, double var, double mu4, const char *what)
{
    double se_mean = sqrt(var / m->n);
    ck_assert_msg(fabs(m->mean - mean) <= 5.0 * se_mean + 1e-12, "%s: mean %.8g, expected %.8g (se %.3g)",
                  what, m->mean, mean, se_mean);
    double se_var = sqrt((mu4 - var * var) / m->n);
    ck_assert_msg(fabs(mom_var(m) - var) <= 5.0 * se_var + 1e-12,
                  "%s: variance %.8g, expected %.8g (se %.3g)", what, mom_var(m), var, se_var);
}

/* Upper 1 - 3.4e-6 quantile of chi-square(df) (Wilson-Hilferty, z = 4.5). */
static double chi2_bound(double df)
{
    double h = 2.0 / (9.0 * df);
    double t = 1.0 - h + 4.5 * sqrt(h);
    return df * t * t * t;
}

/* Chi-square statistic of counts against probabilities, merging adjacent
 * cells until each expected count is at least 5; returns it and sets *df. */
static double chi2_stat(const double *count, const double *prob, size_t k, double n, double *df)
{
    double stat = 0.0, oc = 0.0, ec = 0.0;
    int cells = 0;
    for (size_t i = 0; i < k; i++) {
        oc += count[i];
        ec += prob[i] * n;
        if (ec >= 5.0 || i + 1 == k) {
            if (ec > 0.0) {
                stat += (oc - ec) * (oc - ec) / ec;
                cells++;
            } else {
                ck_assert_msg(oc == 0.0, "count %g in a cell of probability 0", oc);
            }
            oc = ec = 0.0;
        }
    }
    *df = cells - 1;
    return stat;
}

static void check_chi2(const double *count, const double *prob, size_t k, double n, const char *what)
{
    double df;
    double stat = chi2_stat(count, prob, k, n, &df);
    ck_assert_msg(df >= 1, "%s: too few cells", what);
    ck_assert_msg(stat < chi2_bound(df), "%s: chi-square %.4g on %g df, bound %.4g", what, stat, df,
                  chi2_bound(df));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sqrt(n) * Kolmogorov-Smirnov D of x[0..n-1] (sorted here) against cdf. */
static double ks_stat(double *x, size_t n, double (*cdf)(double, double), double par)
{
    qsort(x, n, sizeof *x, cmp_double);
    double d = 0.0;
    for (size_t i = 0; i < n; i++) {
        double f = cdf(x[i], par);
        double lo = f - (double)i / (double)n, hi = (double)(i + 1) / (double)n - f;
        if (lo > d)
            d = lo;
        if (hi > d)
            d = hi;
    }
    return sqrt((double)n) * d;
}

static double normal_cdf(double x, double unused)
{
    (void)unused;
    return 0.5 * erfc(-x / sqrt(2.0));
}

static double exp_cdf(double x, double unused)
{
    (void)unused;
    return x <= 0 ? 0.0 : -expm1(-x);
}

/* Regularised lower incomplete gamma P(a, x): series below a+1, continued
 * fraction (modified Lentz) above. */
static double gamma_cdf(double x, double a)
{
    if (x <= 0.0)
        return 0.0;
    double lpre = -x + a * log(x) - lgamma(a);
    if (x < a + 1.0) {
        double term = 1.0 / a, sum = term;
        for (int k = 1; k < 10000 && fabs(term) > 1e-17 * fabs(sum); k++) {
            term *= x / (a + k);
            sum += term;
        }
        return exp(lpre) * sum;
    }
    double b = x + 1.0 - a, c = 1e300, d = 1.0 / b, h = d;
    for (int i = 1; i < 10000; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < 1e-300)
            d = 1e-300;
        c = b + an / c;
        if (fabs(c) < 1e-300)
            c = 1e-300;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-16)
            break;
    }
    return 1.0 - exp(lpre) * h;
}

/* ---------- generator: reference values ---------- */

START_TEST(test_reference_1234)
{
    /* State {1,2,3,4}: the vector published with the reference C code
     * (prng.di.unimi.it/xoshiro256plusplus.c), as used by rand_xoshiro. */
    static const uint64_t expect[10] = {
        41943041ULL, 58720359ULL, 3588806011781223ULL, 3591011842654386ULL,
        9228616714210784205ULL, 9973669472204895162ULL, 14011001112246962877ULL,
        12406186145184390807ULL, 15849039046786891736ULL, 10450023813501588000ULL};
    st_rng r;
    set_state(&r, 1, 2, 3, 4);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(st_rng_u64(&r), expect[i]);
}
END_TEST

START_TEST(test_reference_0001_and_jump)
{
    /* State {0,0,0,1}: outputs and the jumped state of the reference code
     * (test tables of DSCF-1224/xoshiro-fortran, which runs the C code). */
    static const uint64_t plain[10] = {
        0x0000000000800000ULL, 0x0000000000800011ULL, 0x0002200000800011ULL,
        0x0002200044000020ULL, 0x00022000448008A1ULL, 0x01102100802208A0ULL,
        0x0114002284200880ULL, 0x0402896644A64095ULL, 0x8A14A0A244ACC891ULL,
        0x8C88BA4680B20495ULL};
    static const uint64_t jumped_state[4] = {0x934D05E8B2076310ULL, 0xEABDD0BF76A1BE51ULL,
                                             0x75DD6A992ACCB1E8ULL, 0xC660C602A7330187ULL};
    static const uint64_t jumped[10] = {
        0x88F9A31AFDB439F5ULL, 0x38134A20DFA1A232ULL, 0x21D6A25A297797C7ULL,
        0xFCA0846CC616D4F8ULL, 0x1A9D1B267D52627AULL, 0xC4345D87063BFE30ULL,
        0x88B7215CC87F6B88ULL, 0xF5EF8FA1470DE5EEULL, 0x8AAA468BB80BAF3BULL,
        0x7649B52B78BB4634ULL};
    st_rng r;
    set_state(&r, 0, 0, 0, 1);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(st_rng_u64(&r), plain[i]);
    set_state(&r, 0, 0, 0, 1);
    st_rng_jump(&r);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(r.s[i], jumped_state[i]);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(st_rng_u64(&r), jumped[i]);
}
END_TEST

/* The state transition of xoshiro256 is linear over GF(2): build its
 * 256x256 bit matrix M from the images of the unit vectors, square it 128
 * times to get M^(2^128), and check that st_rng_jump applies exactly that
 * map.  This verifies the jump polynomial independently of its constants. */
typedef struct {
    uint64_t row[256][4]; /* row i: bits j of (M x)_i, i.e. M[i][j] */
} gf2mat;

static void gf2_mul(const gf2mat *a, const gf2mat *b, gf2mat *c)
{
    for (int i = 0; i < 256; i++) {
        uint64_t acc[4] = {0, 0, 0, 0};
        for (int j = 0; j < 256; j++)
            if (a->row[i][j >> 6] >> (j & 63) & 1)
                for (int w = 0; w < 4; w++)
                    acc[w] ^= b->row[j][w];
        memcpy(c->row[i], acc, sizeof acc);
    }
}

static void gf2_apply(const gf2mat *m, const uint64_t x[4], uint64_t y[4])
{
    for (int w = 0; w < 4; w++)
        y[w] = 0;
    for (int i = 0; i < 256; i++) {
        int bit = 0;
        for (int w = 0; w < 4; w++)
            bit ^= __builtin_parityll(m->row[i][w] & x[w]);
        if (bit)
            y[i >> 6] |= UINT64_C(1) << (i & 63);
    }
}

START_TEST(test_jump_is_matrix_power)
{
    gf2mat *m = calloc(2, sizeof *m);
    ck_assert_ptr_nonnull(m);
    /* Column j of M is the state after one step from unit vector e_j. */
    for (int j = 0; j < 256; j++) {
        st_rng r;
        set_state(&r, 0, 0, 0, 0);
        r.s[j >> 6] = UINT64_C(1) << (j & 63);
        (void)st_rng_u64(&r);
        for (int i = 0; i < 256; i++)
            if (r.s[i >> 6] >> (i & 63) & 1)
                m[0].row[i][j >> 6] |= UINT64_C(1) << (j & 63);
    }
    int sq = 0; /* m[sq & 1] = M^(2^sq) */
    for (; sq < 128; sq++)
        gf2_mul(&m[sq & 1], &m[sq & 1], &m[(sq + 1) & 1]);
    st_rng r;
    st_rng_seed(&r, 20261126);
    uint64_t want[4];
    gf2_apply(&m[sq & 1], r.s, want);
    st_rng_jump(&r);
    for (int w = 0; w < 4; w++)
        ck_assert_uint_eq(r.s[w], want[w]);
    /* Stream 2^j of a seed is M^(2^(128+j)) applied to its stream 0: this
     * checks the precomputed jump polynomials of st_rng_stream. */
    static const int js[] = {1, 2, 17, 40, 63};
    for (size_t t = 0; t < sizeof js / sizeof *js; t++) {
        for (; sq < 128 + js[t]; sq++)
            gf2_mul(&m[sq & 1], &m[sq & 1], &m[(sq + 1) & 1]);
        st_rng s0, sk;
        st_rng_seed(&s0, 99);
        gf2_apply(&m[sq & 1], s0.s, want);
        st_rng_stream(&sk, 99, UINT64_C(1) << js[t]);
        for (int w = 0; w < 4; w++)
            ck_assert_uint_eq(sk.s[w], want[w]);
    }
    free(m);
}
END_TEST

START_TEST(test_seed_splitmix)
{
    /* st_rng_seed fills s[0..3] with the first four SplitMix64 outputs
     * from x = seed; for 1234567 those are published (Rosetta Code,
     * "Pseudo-random numbers/Splitmix64", from Vigna's splitmix64.c). */
    st_rng r;
    st_rng_seed(&r, 1234567);
    ck_assert_uint_eq(r.s[0], 6457827717110365317ULL);
    ck_assert_uint_eq(r.s[1], 3203168211198807973ULL);
    ck_assert_uint_eq(r.s[2], 9817491932198370423ULL);
    ck_assert_uint_eq(r.s[3], 4593380528125082431ULL);
    ck_assert_int_eq(r.has_lanes, 0);
}
END_TEST

START_TEST(test_streams)
{
    st_rng a, b, c[6];
    st_rng_seed(&a, 7);
    st_rng_stream(&b, 7, 0);
    ck_assert_mem_eq(a.s, b.s, sizeof a.s);
    st_rng_jump(&a);
    st_rng_jump(&a);
    st_rng_jump(&a);
    st_rng_stream(&b, 7, 3);
    ck_assert_mem_eq(a.s, b.s, sizeof a.s);
    /* Stream 1000 = 1000 single jumps; 2^40 + 3 = stream 2^40 + 3 jumps. */
    st_rng_seed(&a, 7);
    for (int i = 0; i < 1000; i++)
        st_rng_jump(&a);
    st_rng_stream(&b, 7, 1000);
    ck_assert_mem_eq(a.s, b.s, sizeof a.s);
    st_rng_stream(&a, 7, UINT64_C(1) << 40);
    for (int i = 0; i < 3; i++)
        st_rng_jump(&a);
    st_rng_stream(&b, 7, (UINT64_C(1) << 40) + 3);
    ck_assert_mem_eq(a.s, b.s, sizeof a.s);
    st_rng_streams_fill(c, 7, 1, 6);
    for (int i = 0; i < 6; i++) {
        st_rng_stream(&b, 7, 1 + (uint64_t)i);
        ck_assert_mem_eq(c[i].s, b.s, sizeof b.s);
    }
    /* Different streams and different seeds give different draws. */
    ck_assert_uint_ne(st_rng_u64(&c[0]), st_rng_u64(&c[1]));
    st_rng_seed(&a, 1);
    st_rng_seed(&b, 2);
    ck_assert_uint_ne(st_rng_u64(&a), st_rng_u64(&b));
}
END_TEST

/* ---------- uniform and integers ---------- */

START_TEST(test_uniform)
{
    st_rng r;
    st_rng_seed(&r, 11);
    moments m = {0}, mp = {0};
    int bad = 0;
    const int n = 1000000;
    double cnt[100] = {0}, prob[100];
    for (int i = 0; i < n; i++) {
        double u = st_rng_uniform(&r), v = st_rng_uniform_pos(&r);
        bad += !(u >= 0.0 && u < 1.0) + !(v > 0.0 && v < 1.0);
        mom_add(&m, u);
        mom_add(&mp, v);
        cnt[(int)(u * 100)]++;
    }
    /* U(0,1): mean 1/2, variance 1/12, fourth central moment 1/80. */
    ck_assert_int_eq(bad, 0);
    check_moments(&m, 0.5, 1.0 / 12, 1.0 / 80, "uniform");
    check_moments(&mp, 0.5, 1.0 / 12, 1.0 / 80, "uniform_pos");
    for (int i = 0; i < 100; i++)
        prob[i] = 0.01;
    check_chi2(cnt, prob, 100, n, "uniform bins");
    /* 53 bits: the extreme values of the grid map exactly. */
    st_rng z;
    set_state(&z, 0, 0, 0, 0); /* all-zero state outputs 0 forever */
    ck_assert(st_rng_uniform(&z) == 0.0);
    ck_assert(st_rng_uniform_pos(&z) == 0x1.0p-53);
}
END_TEST

START_TEST(test_below)
{
    st_rng r;
    st_rng_seed(&r, 12);
    const uint64_t ns[] = {1, 2, 7, 1000};
    for (size_t t = 0; t < 4; t++) {
        uint64_t k = ns[t];
        double cnt[1000] = {0}, prob[1000];
        const int n = 200000;
        for (int i = 0; i < n; i++) {
            uint64_t x = st_rng_below(&r, k);
            if (x >= k)
                ck_abort_msg("below(%" PRIu64 ") gave %" PRIu64, k, x);
            cnt[x]++;
        }
        if (k == 1)
            continue;
        for (uint64_t i = 0; i < k; i++)
            prob[i] = 1.0 / (double)k;
        check_chi2(cnt, prob, k, n, "below");
    }
    /* n just above 2^63: modulo reduction would put 2/3 of the mass below
     * 2^63 - 1; Lemire's method keeps it uniform (half below n/2). */
    uint64_t big = (UINT64_C(1) << 63) + (UINT64_C(1) << 62);
    double below_half = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        uint64_t x = st_rng_below(&r, big);
        if (x >= big)
            ck_abort_msg("below(big) out of range");
        below_half += x < big / 2;
    }
    ck_assert_near(below_half / n, 0.5, 5.0 * sqrt(0.25 / n));
}
END_TEST

/* ---------- continuous ---------- */

START_TEST(test_normal)
{
    st_rng r;
    st_rng_seed(&r, 13);
    const size_t n = 4000000;
    double *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    moments m = {0};
    double tail = 0, cnt[200] = {0}, prob[200];
    for (size_t i = 0; i < n; i++) {
        x[i] = st_rng_normal(&r);
        mom_add(&m, x[i]);
        tail += fabs(x[i]) > 3.6541528853610088;
    }
    check_moments(&m, 0.0, 1.0, 3.0, "normal");
    /* Mass beyond the ziggurat's base strip: 2 (1 - Phi(R)) = 2.5810e-4. */
    double pt = erfc(3.6541528853610088 / sqrt(2.0));
    ck_assert_near(tail / n, pt, 5.0 * sqrt(pt / n));
    /* 200 equiprobable cells (on the uniform scale): catches wrong layers. */
    for (size_t i = 0; i < n; i++) {
        int c = (int)(normal_cdf(x[i], 0) * 200);
        cnt[c < 200 ? c : 199]++;
    }
    for (int i = 0; i < 200; i++)
        prob[i] = 1.0 / 200;
    check_chi2(cnt, prob, 200, (double)n, "normal cells");
    ck_assert_double_lt(ks_stat(x, n, normal_cdf, 0), 2.5);
    free(x);
}
END_TEST

START_TEST(test_exponential)
{
    st_rng r;
    st_rng_seed(&r, 14);
    const size_t n = 200000;
    double *x = malloc(n * sizeof *x);
    moments m = {0};
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = st_rng_exponential(&r);
        bad += !(x[i] > 0.0 && isfinite(x[i]));
        mom_add(&m, x[i]);
    }
    ck_assert_int_eq(bad, 0);
    check_moments(&m, 1.0, 1.0, 9.0, "exponential");
    ck_assert_double_lt(ks_stat(x, n, exp_cdf, 0), 2.5);
    free(x);
}
END_TEST

START_TEST(test_gamma)
{
    /* Shapes across the shape < 1 boost, shape = 1 and large shapes.
     * Gamma(a): mean a, variance a, fourth central moment 3a^2 + 6a. */
    static const double shapes[] = {0.05, 0.3, 1.0, 2.5, 30.0, 1000.0};
    st_rng r;
    st_rng_seed(&r, 15);
    const size_t n = 100000;
    double *x = malloc(n * sizeof *x);
    for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
        double a = shapes[t];
        moments m = {0};
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            x[i] = st_rng_gamma(&r, a);
            bad += !(x[i] >= 0.0 && isfinite(x[i]));
            mom_add(&m, x[i]);
        }
        ck_assert_int_eq(bad, 0);
        check_moments(&m, a, a, 3 * a * a + 6 * a, "gamma");
        double ks = ks_stat(x, n, gamma_cdf, a);
        ck_assert_msg(ks < 2.5, "gamma(%g): KS %.3f", a, ks);
    }
    ck_assert(isnan(st_rng_gamma(&r, 0.0)));
    ck_assert(isnan(st_rng_gamma(&r, -1.0)));
    free(x);
}
END_TEST

START_TEST(test_beta)
{
    static const double ab[][2] = {{0.2, 0.3}, {0.5, 5.0}, {1.0, 1.0}, {2.0, 3.0}, {50.0, 20.0}};
    st_rng r;
    st_rng_seed(&r, 16);
    const int n = 100000;
    for (size_t t = 0; t < sizeof ab / sizeof *ab; t++) {
        double a = ab[t][0], b = ab[t][1], s = a + b;
        moments m = {0};
        double m4 = 0;
        int bad = 0;
        double mean = a / s, var = a * b / (s * s * (s + 1));
        for (int i = 0; i < n; i++) {
            double x = st_rng_beta(&r, a, b);
            bad += !(x >= 0.0 && x <= 1.0);
            mom_add(&m, x);
            m4 += pow(x - mean, 4);
        }
        /* Fourth central moment estimated from the sample itself (bounded
         * variable): enough for a 5 sigma band. */
        ck_assert_int_eq(bad, 0);
        check_moments(&m, mean, var, m4 / n, "beta");
    }
    /* Tiny shapes: X/(X+Y) in logs never gives NaN. */
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        double x = st_rng_beta(&r, 1e-3, 2e-3);
        bad += !(x >= 0.0 && x <= 1.0);
    }
    ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(test_student_t)
{
    st_rng r;
    st_rng_seed(&r, 17);
    const double nu = 10.0;
    moments m = {0};
    const int n = 200000;
    for (int i = 0; i < n; i++)
        mom_add(&m, st_rng_student_t(&r, nu));
    /* var nu/(nu-2), mu4 = 3 nu^2 / ((nu-2)(nu-4)). */
    check_moments(&m, 0.0, nu / (nu - 2), 3 * nu * nu / ((nu - 2) * (nu - 4)), "student t");
    /* nu = 1 is Cauchy: P(|T| > 1) = 1/2. */
    double over = 0;
    for (int i = 0; i < n; i++)
        over += fabs(st_rng_student_t(&r, 1.0)) > 1.0;
    ck_assert_near(over / n, 0.5, 5.0 * sqrt(0.25 / n));
}
END_TEST

START_TEST(test_dirichlet)
{
    static const double alpha[4] = {0.5, 1.0, 2.0, 4.5};
    const double a0 = 8.0;
    st_rng r;
    st_rng_seed(&r, 18);
    moments m[4] = {{0}};
    double m4[4] = {0};
    int bad = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double x[4], sum = 0;
        st_rng_dirichlet(&r, alpha, 4, x);
        for (int j = 0; j < 4; j++) {
            bad += !(x[j] >= 0.0);
            sum += x[j];
            mom_add(&m[j], x[j]);
            m4[j] += pow(x[j] - alpha[j] / a0, 4);
        }
        bad += !(fabs(sum - 1.0) <= 1e-12);
    }
    ck_assert_int_eq(bad, 0);
    for (int j = 0; j < 4; j++) {
        double mean = alpha[j] / a0, var = mean * (1 - mean) / (a0 + 1);
        check_moments(&m[j], mean, var, m4[j] / n, "dirichlet");
    }
    /* Tiny concentrations: still a point of the simplex, no NaN. */
    static const double tiny[3] = {1e-3, 1e-4, 1e-3};
    for (int i = 0; i < 1000; i++) {
        double x[3];
        st_rng_dirichlet(&r, tiny, 3, x);
        bad += !(fabs(x[0] + x[1] + x[2] - 1.0) <= 1e-12);
    }
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* ---------- discrete ---------- */

static void poisson_pmf(double lambda, size_t kmax, double *p)
{
    for (size_t k = 0; k < kmax; k++)
        p[k] = exp(-lambda + (double)k * log(lambda) - lgamma((double)k + 1.0));
}

START_TEST(test_poisson)
{
    /* Inversion below lambda = 10, PTRS above: both sides of the switch,
     * up to 1e15 (acceptance in Loader's saddle-point form). */
    static const double lambdas[] = {0.3, 4.0, 9.99, 10.0, 37.5, 1000.0, 1e7, 1e15};
    st_rng r;
    st_rng_seed(&r, 19);
    const int n = 100000;
    for (size_t t = 0; t < sizeof lambdas / sizeof *lambdas; t++) {
        double lam = lambdas[t];
        moments m = {0};
        size_t kmax = lam < 2000 ? (size_t)(lam + 12 * sqrt(lam) + 20) : 0;
        double *cnt = kmax ? calloc(kmax, sizeof *cnt) : NULL;
        for (int i = 0; i < n; i++) {
            uint64_t k = st_rng_poisson(&r, lam);
            mom_add(&m, (double)k);
            if (kmax) {
                if (k >= kmax)
                    ck_abort_msg("poisson(%g) gave %" PRIu64, lam, k);
                cnt[k]++;
            }
        }
        /* mean = var = lambda, mu4 = lambda (1 + 3 lambda). */
        check_moments(&m, lam, lam, lam * (1 + 3 * lam), "poisson");
        if (kmax) {
            double *p = malloc(kmax * sizeof *p);
            poisson_pmf(lam, kmax, p);
            check_chi2(cnt, p, kmax, n, "poisson");
            free(p);
        }
        free(cnt);
    }
    ck_assert_uint_eq(st_rng_poisson(&r, 0.0), 0);
    ck_assert_uint_eq(st_rng_poisson(&r, -1.0), 0);
    ck_assert_uint_eq(st_rng_poisson(&r, NAN), 0);
}
END_TEST

static void binomial_pmf(uint64_t nn, double p, double *pmf)
{
    for (uint64_t k = 0; k <= nn; k++)
        pmf[k] = exp(lgamma(nn + 1.0) - lgamma(k + 1.0) - lgamma(nn - k + 1.0) + k * log(p) +
                     (nn - k) * log1p(-p));
}

START_TEST(test_binomial)
{
    /* Inversion (n p < 10), BTRS (n p >= 10), p > 1/2 by symmetry. */
    static const struct {
        uint64_t n;
        double p;
    } cases[] = {{1, 0.5}, {20, 0.3}, {40, 0.24}, {40, 0.26}, {100, 0.9}, {1000, 0.4}, {500, 0.97}};
    st_rng r;
    st_rng_seed(&r, 20);
    const int n = 100000;
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        uint64_t nn = cases[t].n;
        double p = cases[t].p;
        double *cnt = calloc(nn + 1, sizeof *cnt), *pmf = malloc((nn + 1) * sizeof *pmf);
        moments m = {0};
        for (int i = 0; i < n; i++) {
            uint64_t k = st_rng_binomial(&r, nn, p);
            if (k > nn)
                ck_abort_msg("binomial(%" PRIu64 ") gave %" PRIu64, nn, k);
            cnt[k]++;
            mom_add(&m, (double)k);
        }
        double mean = nn * p, var = nn * p * (1 - p);
        check_moments(&m, mean, var, var * (1 + 3 * (nn - 2) * p * (1 - p)), "binomial");
        binomial_pmf(nn, p, pmf);
        check_chi2(cnt, pmf, nn + 1, n, "binomial");
        free(cnt);
        free(pmf);
    }
    /* Huge n with a small mean, and large means with large n (1e15: where
     * differences of log k! would lose all their digits). */
    static const struct {
        uint64_t n;
        double p;
    } big[] = {{1000000000ULL, 3e-9}, {1000000000ULL, 0.25}, {1000000000000000ULL, 0.3}};
    for (size_t t = 0; t < 3; t++) {
        moments m = {0};
        double nn = (double)big[t].n, p = big[t].p, var = nn * p * (1 - p);
        for (int i = 0; i < n; i++)
            mom_add(&m, (double)st_rng_binomial(&r, big[t].n, p));
        check_moments(&m, nn * p, var, var * (1 + 3 * (nn - 2) * p * (1 - p)), "binomial big");
    }
    ck_assert_uint_eq(st_rng_binomial(&r, 10, 0.0), 0);
    ck_assert_uint_eq(st_rng_binomial(&r, 10, 1.0), 10);
    ck_assert_uint_eq(st_rng_binomial(&r, 0, 0.5), 0);
}
END_TEST

START_TEST(test_negbinomial)
{
    static const double cases[][2] = {{0.5, 0.3}, {3.0, 0.6}, {40.0, 0.1}};
    st_rng r;
    st_rng_seed(&r, 21);
    const int n = 100000;
    for (size_t t = 0; t < 3; t++) {
        double size = cases[t][0], p = cases[t][1];
        moments m = {0};
        for (int i = 0; i < n; i++)
            mom_add(&m, (double)st_rng_negbinomial(&r, size, p));
        double q = 1 - p, mean = size * q / p, var = size * q / (p * p);
        /* mu4 = size q (p^2 + 3 size q + 6 q... ): from the cumulants
         * k2 = rq/p^2, k4 = rq(p^2 - 6p + 6)/p^4, mu4 = k4 + 3 k2^2. */
        double mu4 = size * q * (p * p - 6 * p + 6) / pow(p, 4) + 3 * var * var;
        check_moments(&m, mean, var, mu4, "negbinomial");
    }
}
END_TEST

START_TEST(test_categorical_and_alias)
{
    static const double w[6] = {0.5, 0.0, 3.0, 1.0, 2.5, 1e-3};
    double prob[6], sum = 0;
    for (int i = 0; i < 6; i++)
        sum += w[i];
    for (int i = 0; i < 6; i++)
        prob[i] = w[i] / sum;
    st_err e;
    st_alias *a = NULL;
    ck_assert_int_eq(st_alias_new(&a, w, 6, &e), 0);
    st_rng r;
    st_rng_seed(&r, 22);
    const int n = 400000;
    double c1[6] = {0}, c2[6] = {0};
    for (int i = 0; i < n; i++) {
        c1[st_rng_categorical(&r, w, 6)]++;
        c2[st_alias_draw(a, &r)]++;
    }
    ck_assert(c1[1] == 0 && c2[1] == 0);
    check_chi2(c1, prob, 6, n, "categorical");
    check_chi2(c2, prob, 6, n, "alias");
    st_alias_free(a);

    /* A larger, skewed table: geometric weights over 50 cells. */
    double g[50], gp[50], cg[50] = {0}, gs = 0;
    for (int i = 0; i < 50; i++)
        gs += (g[i] = pow(0.8, i));
    for (int i = 0; i < 50; i++)
        gp[i] = g[i] / gs;
    ck_assert_int_eq(st_alias_new(&a, g, 50, &e), 0);
    for (int i = 0; i < n; i++)
        cg[st_alias_draw(a, &r)]++;
    check_chi2(cg, gp, 50, n, "alias geometric");
    st_alias_free(a);
    st_alias_free(NULL);

    /* Bad weights are errors, not crashes. */
    static const double neg[2] = {1.0, -1.0}, zero[2] = {0.0, 0.0}, nan2[2] = {NAN, 1.0};
    ck_assert_int_eq(st_alias_new(&a, neg, 2, &e), ST_EDATA);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(st_alias_new(&a, zero, 2, &e), ST_EDATA);
    ck_assert_int_eq(st_alias_new(&a, nan2, 2, &e), ST_EDATA);
    ck_assert_int_eq(st_alias_new(&a, neg, 0, &e), ST_EUSAGE);
}
END_TEST

START_TEST(test_multinomial)
{
    static const double p[4] = {0.1, 0.0, 0.6, 0.3};
    st_rng r;
    st_rng_seed(&r, 23);
    moments m[4] = {{0}};
    int bad = 0;
    const int n = 50000;
    const uint64_t trials = 100;
    for (int i = 0; i < n; i++) {
        uint64_t c[4];
        st_rng_multinomial(&r, trials, p, 4, c);
        bad += (c[0] + c[1] + c[2] + c[3] != trials) + (c[1] != 0);
        for (int j = 0; j < 4; j++)
            mom_add(&m[j], (double)c[j]);
    }
    ck_assert_int_eq(bad, 0);
    for (int j = 0; j < 4; j++) {
        if (p[j] == 0)
            continue;
        double var = trials * p[j] * (1 - p[j]);
        check_moments(&m[j], trials * p[j], var, var * (1 + 3 * (trials - 2) * p[j] * (1 - p[j])),
                      "multinomial");
    }
}
END_TEST

/* ---------- vector samplers (lanes) ---------- */

/* Lane 0 starts at the scalar state advanced by 2^191 draws, which is
 * stream 2^63 of the seed; lane j+1 is lane j advanced by 2^191 again, so
 * the lane 0 of a generator sitting at lane j's start is lane j+1.
 * Uniform output k comes from lane k mod 8 and equals that lane's
 * st_rng_uniform_pos. */
START_TEST(test_lanes_reference)
{
    enum { n = 8 * 5 };
    double u[n];
    /* A fresh seed has lane 0 at stream 2^63. */
    st_rng a, b;
    st_rng_seed(&a, 5);
    st_rng_uniform_fill(&a, u, n);
    st_rng_stream(&b, 5, UINT64_C(1) << 63);
    for (int k = 0; k < n; k += ST_RNG_LANES)
        ck_assert(u[k] == st_rng_uniform_pos(&b));
    /* Lane 1 is lane 0 of a generator whose scalar state is lane 0's start. */
    st_rng c;
    st_rng_stream(&c, 5, UINT64_C(1) << 63);
    double v[n];
    st_rng_uniform_fill(&c, v, n);
    for (int k = 0; k < n; k += ST_RNG_LANES)
        ck_assert(u[k + 1] == v[k]);
    /* The scalar stream is not disturbed by the lanes. */
    st_rng_seed(&a, 5);
    st_rng_seed(&b, 5);
    st_rng_uniform_fill(&a, u, n);
    ck_assert_uint_eq(st_rng_u64(&a), st_rng_u64(&b));
    /* A jump resets the lanes: they follow the new state. */
    st_rng_jump(&a);
    ck_assert_int_eq(a.has_lanes, 0);
}
END_TEST

/* Every SIMD path this CPU has gives the same bytes (integer arithmetic,
 * exact products, and SLEEF's portable functions in the slow path). */
START_TEST(test_lanes_same_bytes_every_path)
{
    enum { n = 100003 };
    double *ref = malloc(n * sizeof *ref), *z = malloc(n * sizeof *z);
    ck_assert(ref && z);
    st_simd best = st_simd_best();
    static const st_simd paths[] = {ST_SIMD_PORTABLE, ST_SIMD_SSE2, ST_SIMD_AVX2, ST_SIMD_AVX512};
    for (int p = 0; p < 4; p++) {
        if (st_simd_select(paths[p]) < 0)
            continue;
        st_rng r;
        st_rng_seed(&r, 31);
        st_rng_normal_fill(&r, z, n);
        st_rng_uniform_fill(&r, z + n - 1000, 1000);
        if (p == 0)
            memcpy(ref, z, n * sizeof *z);
        else
            ck_assert_msg(memcmp(ref, z, n * sizeof *z) == 0, "path %s differs from the portable C",
                          st_simd_name(paths[p]));
    }
    st_simd_select(best);
    free(ref);
    free(z);
}
END_TEST

/* The vector normal against N(0, 1): moments, the mass beyond the base
 * strip, 200 equiprobable cells, and Kolmogorov-Smirnov (sqrt(n) D < 2.5,
 * p about 1e-5 whatever n); calls of odd lengths exercise the tails. */
START_TEST(test_normal_fill)
{
    st_rng r;
    st_rng_seed(&r, 17);
    const size_t n = 4000000;
    double *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    size_t done = 0, len = 1;
    while (done < n) {
        size_t m = len < n - done ? len : n - done;
        st_rng_normal_fill(&r, x + done, m);
        done += m;
        len = len * 3 + 1; /* 1, 4, 13, ... then one long call */
    }
    moments m = {0};
    double tail = 0, cnt[200] = {0}, prob[200];
    for (size_t i = 0; i < n; i++) {
        mom_add(&m, x[i]);
        tail += fabs(x[i]) > 3.6541528853610088;
    }
    check_moments(&m, 0.0, 1.0, 3.0, "normal_fill");
    double pt = erfc(3.6541528853610088 / sqrt(2.0));
    ck_assert_near(tail / n, pt, 5.0 * sqrt(pt / n));
    for (size_t i = 0; i < n; i++) {
        int c = (int)(normal_cdf(x[i], 0) * 200);
        cnt[c < 200 ? c : 199]++;
    }
    for (int i = 0; i < 200; i++)
        prob[i] = 1.0 / 200;
    check_chi2(cnt, prob, 200, (double)n, "normal_fill cells");
    ck_assert_double_lt(ks_stat(x, n, normal_cdf, 0), 2.5);
    /* each lane alone is N(0, 1) too (lane 3: outputs 3, 11, 19, ...) */
    st_rng_seed(&r, 18);
    st_rng_normal_fill(&r, x, n);
    size_t k = 0;
    for (size_t i = 3; i < n; i += ST_RNG_LANES)
        x[k++] = x[i];
    ck_assert_double_lt(ks_stat(x, k, normal_cdf, 0), 2.5);
    free(x);
}
END_TEST

/* Uniforms: on (0, 1), moments, KS against U(0, 1). */
static double uniform_cdf(double x, double unused)
{
    (void)unused;
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

START_TEST(test_uniform_fill)
{
    st_rng r;
    st_rng_seed(&r, 19);
    const size_t n = 1000000;
    double *x = malloc(n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    st_rng_uniform_fill(&r, x, n);
    moments m = {0};
    for (size_t i = 0; i < n; i++) {
        ck_assert(x[i] > 0 && x[i] < 1);
        mom_add(&m, x[i]);
    }
    check_moments(&m, 0.5, 1.0 / 12, 1.0 / 80, "uniform_fill");
    ck_assert_double_lt(ks_stat(x, n, uniform_cdf, 0), 2.5);
    free(x);
}
END_TEST

/* Blocks of draws with one stream per block, filled in parallel: the same
 * bytes for 1 and 2 threads (the pattern of the particle filter). */
START_TEST(test_lanes_threads)
{
    enum { nb = 64, bl = 256 };
    double *a = malloc(nb * bl * sizeof *a), *b = malloc(nb * bl * sizeof *b);
    st_rng *rs = malloc(nb * sizeof *rs);
    ck_assert(a && b && rs);
    for (int pass = 0; pass < 2; pass++) {
        double *out = pass ? b : a;
        st_rng_streams_fill(rs, 41, 0, nb);
#ifdef _OPENMP
        omp_set_num_threads(pass ? 2 : 1);
#endif
#pragma omp parallel for schedule(dynamic)
        for (int k = 0; k < nb; k++)
            st_rng_normal_fill(&rs[k], out + (size_t)k * bl, bl);
    }
    ck_assert(memcmp(a, b, nb * bl * sizeof *a) == 0);
    free(a);
    free(b);
    free(rs);
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("generator");
    tcase_set_timeout(tc, 60); /* loaded CI machines, sanitizers */
    tcase_add_test(tc, test_reference_1234);
    tcase_add_test(tc, test_reference_0001_and_jump);
    tcase_add_test(tc, test_jump_is_matrix_power);
    tcase_add_test(tc, test_seed_splitmix);
    tcase_add_test(tc, test_streams);
    suite_add_tcase(s, tc);
    TCase *ts = tcase_create("samplers");
    tcase_set_timeout(ts, 120);
    tcase_add_test(ts, test_uniform);
    tcase_add_test(ts, test_below);
    tcase_add_test(ts, test_normal);
    tcase_add_test(ts, test_exponential);
    tcase_add_test(ts, test_gamma);
    tcase_add_test(ts, test_beta);
    tcase_add_test(ts, test_student_t);
    tcase_add_test(ts, test_dirichlet);
    tcase_add_test(ts, test_poisson);
    tcase_add_test(ts, test_binomial);
    tcase_add_test(ts, test_negbinomial);
    tcase_add_test(ts, test_categorical_and_alias);
    tcase_add_test(ts, test_multinomial);
    tcase_add_test(ts, test_lanes_reference);
    tcase_add_test(ts, test_lanes_same_bytes_every_path);
    tcase_add_test(ts, test_normal_fill);
    tcase_add_test(ts, test_uniform_fill);
    tcase_add_test(ts, test_lanes_threads);
    suite_add_tcase(s, ts);
    return s;
}

ST_CHECK_MAIN(rng_suite)

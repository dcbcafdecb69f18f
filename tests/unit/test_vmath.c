/* st_vexp, st_vlog, st_vlog1p on every SIMD path this CPU has: the error
 * against libm's long double functions (64-bit mantissa, so the reference
 * is exact to about 1/2000 of a double ulp) is at most the 1.0 ulp that
 * vmath.h states, over random arguments spanning the whole range and the
 * edge cases (signed zeros, subnormals, the overflow and underflow
 * thresholds, huge, NaN, +-Inf); the paths of one family give identical
 * bits; tails and in-place calls. */
#include "config.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/rng.h"
#include "core/vmath.h"

typedef void (*vfun)(double *, const double *, size_t);
typedef long double (*lfun)(long double);

static const st_simd paths[] = {ST_SIMD_PORTABLE, ST_SIMD_SSE2, ST_SIMD_AVX2, ST_SIMD_AVX512};
#define NPATHS 4

/* Error of y in units in the last place of the double nearest ref. */
static double ulp_error(double y, long double ref)
{
    if (isnan(ref))
        return isnan(y) ? 0 : INFINITY;
    if (isinf(ref) || fabsl(ref) > (long double)DBL_MAX) {
        /* beyond DBL_MAX: +-Inf, or DBL_MAX when ref is within half an ulp */
        if (isinf(y) && signbit(y) == signbit((double)ref))
            return 0;
        if (!isinf(ref) && fabs(y) == DBL_MAX)
            return (double)((fabsl(ref) - DBL_MAX) / ldexpl(1, 1023 - 52));
        return INFINITY;
    }
    if (isnan(y) || isinf(y))
        return INFINITY;
    int e;
    frexpl(ref, &e);
    int q = e - 53 < -1074 ? -1074 : e - 53;
    if (ref == 0)
        q = -1074;
    return (double)(fabsl((long double)y - ref) / ldexpl(1, q));
}

/* Arguments for each function: edge cases, then random ones. */
static const double edge_common[] = {
    0.0, -0.0, 0x1p-1074, -0x1p-1074, 0x1.8p-1070, 1e-310, -1e-310, 0x1p-1022, 0x1.fffffffffffffp-1023,
    1e-300, 1e-17, 0x1p-53, 0.5, 1.0, 2.0, 10.0, 0x1.fffffffffffffp+1023, 1e308, 3e307, 8e307, 1e300,
    INFINITY, -INFINITY, NAN, -NAN, -0.5, -1.0, -2.0, -1e300, -0x1.fffffffffffffp+1023,
};
static const double edge_exp[] = {
    709.78, 709.782712893384, 709.7827128933841, 709.8, 710.0, -708.39641853226408, -708.4, -709.0,
    -744.0, -745.0, -745.1332191019411, -745.1332191019412, -745.2, -746.0, -1000.0, 1000.0,
    -0x1p-60, 0x1p-60, 1e-10, -1e-10, 0.6931471805599453, -0.6931471805599453,
};
static const double edge_log1p[] = {
    -0.9999999999, -1 + 0x1p-53, -1 + 0x1p-52, -0.75, -0x1p-30, 0x1p-30, 0x1p-1060, -0x1p-1060,
    1e-16, -1e-16, 0x1p53, 0x1p1000, 0x1.0000000000001p1000, 0x1p1023, -1.0000000000000002,
};

enum { N_RANDOM = 200000 };

static size_t make_args(double *x, int which, uint64_t seed)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof edge_common / sizeof *edge_common; i++)
        x[n++] = edge_common[i];
    if (which == 0)
        for (size_t i = 0; i < sizeof edge_exp / sizeof *edge_exp; i++)
            x[n++] = edge_exp[i];
    if (which == 2)
        for (size_t i = 0; i < sizeof edge_log1p / sizeof *edge_log1p; i++)
            x[n++] = edge_log1p[i];
    st_rng r;
    st_rng_seed(&r, seed);
    for (size_t k = 0; k < N_RANDOM; k++) {
        double v;
        uint64_t b = st_rng_u64(&r);
        switch (which) {
        case 0: /* exp: uniform over [-750, 750], small arguments, and the last
                 * 0.0027 below the overflow threshold (SLEEF 3.5 overflows early) */
            if (k % 8 == 5)
                v = 709.78 + (0x1.62e42fefa39efp+9 - 709.78) * st_rng_uniform(&r);
            else
                v = k % 4 == 3 ? ldexp(st_rng_uniform(&r) - 0.5, -(int)(b % 60)) : 1500 * st_rng_uniform(&r) - 750;
            break;
        case 1: /* log: random positive bit patterns, subnormals included */
            b &= ~(UINT64_C(1) << 63);
            memcpy(&v, &b, sizeof v);
            if (!(v < INFINITY))
                v = 1.0;
            break;
        default: /* log1p: (-1, 1) densely, near -1, tiny, and random positive patterns */
            if (k % 4 == 0)
                v = 2 * st_rng_uniform(&r) - 1;
            else if (k % 4 == 1)
                v = -1 + ldexp(st_rng_uniform_pos(&r), -(int)(b % 50));
            else if (k % 4 == 2)
                v = ldexp(st_rng_uniform(&r) - 0.5, -(int)(b % 1070));
            else {
                b &= ~(UINT64_C(1) << 63);
                memcpy(&v, &b, sizeof v);
                if (!(v < INFINITY))
                    v = 1.0;
            }
        }
        x[n++] = v;
    }
    return n;
}

static void check_function(int which, vfun f, lfun ref, const char *name)
{
    double *x = malloc((N_RANDOM + 100) * sizeof *x);
    double *y[NPATHS];
    ck_assert_ptr_nonnull(x);
    size_t n = make_args(x, which, 11 + (uint64_t)which);
    st_simd best = st_simd_best();
    for (int p = 0; p < NPATHS; p++) {
        y[p] = NULL;
        if (paths[p] > best)
            continue;
        ck_assert_int_eq(st_simd_select(paths[p]), 0);
        ck_assert_int_eq(st_simd_path(), paths[p]);
        y[p] = malloc(n * sizeof **y);
        ck_assert_ptr_nonnull(y[p]);
        f(y[p], x, n);
        double worst = 0;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            double err = ulp_error(y[p][i], ref((long double)x[i]));
            if (err > worst) {
                worst = err;
                at = i;
            }
        }
        ck_assert_msg(worst <= 1.0, "%s on path %s: %.3g ulp at x = %a (%.17g): got %.17g, libm %.17Lg", name,
                      st_simd_name(paths[p]), worst, x[at], x[at], y[p][at], ref((long double)x[at]));
        /* the same bits within a family */
        for (int q = 0; q < p; q++)
            if (y[q] && st_simd_same_bits(paths[p], paths[q]))
                ck_assert_msg(memcmp(y[p], y[q], n * sizeof **y) == 0, "%s: paths %s and %s differ", name,
                              st_simd_name(paths[p]), st_simd_name(paths[q]));
    }
    for (int p = 0; p < NPATHS; p++)
        free(y[p]);
    free(x);
    st_simd_select(best);
}

START_TEST(test_exp) { check_function(0, st_vexp, expl, "exp"); }
END_TEST
START_TEST(test_log) { check_function(1, st_vlog, logl, "log"); }
END_TEST
START_TEST(test_log1p) { check_function(2, st_vlog1p, log1pl, "log1p"); }
END_TEST

/* C99 Annex F special values, exactly, on every path. */
START_TEST(test_special_values)
{
    for (int p = 0; p < NPATHS; p++) {
        if (st_simd_select(paths[p]) < 0)
            continue;
        double x[] = {-INFINITY, INFINITY, NAN, 710.0, -746.0, 0.0, -0.0};
        double y[7];
        st_vexp(y, x, 7);
        ck_assert(y[0] == 0 && !signbit(y[0]));
        ck_assert(y[1] == INFINITY);
        ck_assert(isnan(y[2]));
        ck_assert(y[3] == INFINITY);
        ck_assert(y[4] == 0);
        ck_assert(y[5] == 1 && y[6] == 1);
        double l[] = {0.0, -0.0, -1.0, INFINITY, NAN, 1.0, -INFINITY};
        st_vlog(y, l, 7);
        ck_assert(y[0] == -INFINITY && y[1] == -INFINITY);
        ck_assert(isnan(y[2]));
        ck_assert(y[3] == INFINITY);
        ck_assert(isnan(y[4]));
        ck_assert(y[5] == 0 && !signbit(y[5]));
        ck_assert(isnan(y[6]));
        double m[] = {-1.0, -2.0, INFINITY, NAN, 0.0, -0.0, 0x1.fffffffffffffp+1023};
        st_vlog1p(y, m, 7);
        ck_assert(y[0] == -INFINITY);
        ck_assert(isnan(y[1]));
        ck_assert(y[2] == INFINITY);
        ck_assert(isnan(y[3]));
        ck_assert(y[4] == 0 && !signbit(y[4]));
        ck_assert(y[5] == 0 && signbit(y[5]));
        ck_assert_double_eq_tol(y[6], 709.782712893384, 1e-12);
    }
    st_simd_select(st_simd_best());
}
END_TEST

/* Every length 0..40 (vector bodies and tails), in place and not, gives
 * the values of one long call; nothing beyond n is written. */
START_TEST(test_lengths_in_place)
{
    double x[41], full[41], y[42], z[41];
    for (int i = 0; i < 41; i++)
        x[i] = 0.37 * i - 7;
    st_vexp(full, x, 41);
    for (size_t n = 0; n <= 40; n++) {
        y[n] = 12345;
        st_vexp(y, x, n);
        ck_assert(y[n] == 12345);
        memcpy(z, x, sizeof z);
        st_vexp(z, z, n);
        for (size_t i = 0; i < n; i++)
            ck_assert(y[i] == full[i] && z[i] == full[i]);
    }
}
END_TEST

START_TEST(test_selection)
{
    st_simd best = st_simd_best();
    ck_assert_int_eq(st_simd_select(ST_SIMD_PORTABLE), 0);
    ck_assert_str_eq(st_simd_name(st_simd_path()), "portable");
    if (best < ST_SIMD_AVX512)
        ck_assert_int_eq(st_simd_select(ST_SIMD_AVX512), -1);
    ck_assert_int_eq(st_simd_select(best), 0);
    ck_assert(st_simd_same_bits(ST_SIMD_PORTABLE, ST_SIMD_SSE2));
    ck_assert(st_simd_same_bits(ST_SIMD_AVX2, ST_SIMD_AVX512));
    ck_assert(!st_simd_same_bits(ST_SIMD_SSE2, ST_SIMD_AVX2));
}
END_TEST

/* The elementwise kernels are one IEEE operation per element: on every
 * path they equal the scalar expressions bit for bit, for every length
 * (vector bodies and tails), in place too. */
START_TEST(test_elementwise_exact)
{
    enum { n = 301 };
    double a[n], b[n], y[n], z[n];
    uint32_t idx[n];
    int32_t k[n];
    st_rng r;
    st_rng_seed(&r, 21);
    for (size_t i = 0; i < n; i++) {
        a[i] = 100 * (st_rng_uniform(&r) - 0.3);
        b[i] = st_rng_uniform_pos(&r) + 0.5;
        idx[i] = (uint32_t)st_rng_below(&r, n);
    }
    a[7] = NAN;
    a[8] = INFINITY;
    a[9] = -INFINITY;
    for (int p = 0; p < NPATHS; p++) {
        if (st_simd_select(paths[p]) < 0)
            continue;
        for (size_t m = 0; m <= n; m += m < 20 ? 1 : 37) {
            st_vadd(y, a, b, m);
            st_vsub(z, a, b, m);
            for (size_t i = 0; i < m; i++) {
                ck_assert(memcmp(&y[i], &(double){a[i] + b[i]}, 8) == 0);
                ck_assert(memcmp(&z[i], &(double){a[i] - b[i]}, 8) == 0);
            }
            st_vmul(y, a, b, m);
            st_vdiv(z, a, b, m);
            for (size_t i = 0; i < m; i++) {
                ck_assert(memcmp(&y[i], &(double){a[i] * b[i]}, 8) == 0);
                ck_assert(memcmp(&z[i], &(double){a[i] / b[i]}, 8) == 0);
            }
            st_vaffine(y, 0.3, a, -1.7, m);
            memcpy(z, b, sizeof z);
            st_vaxpy(z, -2.1, a, m);
            for (size_t i = 0; i < m; i++) {
                ck_assert(memcmp(&y[i], &(double){0.3 * a[i] + -1.7}, 8) == 0);
                ck_assert(memcmp(&z[i], &(double){b[i] + -2.1 * a[i]}, 8) == 0);
            }
            memcpy(y, a, sizeof y); /* in place */
            st_vaffine(y, 2.0, y, 1.0, m);
            for (size_t i = 0; i < m; i++)
                ck_assert(memcmp(&y[i], &(double){2.0 * a[i] + 1.0}, 8) == 0);
            st_vgather(y, b, idx, m);
            for (size_t i = 0; i < m; i++)
                ck_assert(y[i] == b[idx[i]]);
            memcpy(y, a, sizeof y);
            st_vnan_to(y, m, -INFINITY, 700.0);
            for (size_t i = 0; i < m; i++)
                ck_assert(y[i] == (isnan(a[i]) ? -INFINITY : a[i] == INFINITY ? 700.0 : a[i]));
            st_vceil_clip(k, a, m, 50.0);
            for (size_t i = 0; i < m; i++) {
                double c = isnan(a[i]) || a[i] < 0 ? 0 : a[i] > 50 ? 50 : ceil(a[i]);
                ck_assert_int_eq(k[i], (int32_t)c);
            }
        }
    }
    st_simd_select(st_simd_best());
}
END_TEST

/* The log-sum-exp scan: m, weights exp(lw - m) within 1 ulp of libm's,
 * running sums non-decreasing and equal where a weight is zero, the total
 * and the sum of squares against long double sums; the same bits on the
 * paths of one family; all -Inf gives zeros. */
/* st_vall_in on every path and length: a value out of range (below, above,
 * NaN) at any position is found, the ends of the range are in. */
START_TEST(test_all_in)
{
    double x[37];
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        if (st_simd_select(paths[p]) < 0)
            continue;
        for (size_t n = 0; n <= 37; n++) {
            for (size_t i = 0; i < n; i++)
                x[i] = i % 3 == 0 ? 0x1p-1074 : i % 3 == 1 ? 1.0 : 0.5;
            ck_assert_int_eq(st_vall_in(x, n, 0x1p-1074, 1.0), 1);
            for (size_t at = 0; at < n; at++) {
                static const double bad[] = {0.0, -0.0, 1.0000000000000002, NAN, INFINITY, -1.0};
                for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
                    double keep = x[at];
                    x[at] = bad[b];
                    ck_assert_msg(st_vall_in(x, n, 0x1p-1074, 1.0) == 0, "path %s, n %zu, %g at %zu",
                                  st_simd_name(paths[p]), n, bad[b], at);
                    x[at] = keep;
                }
            }
        }
    }
    st_simd_select(st_simd_best());
    double inf = INFINITY;
    ck_assert_int_eq(st_vall_in(&inf, 1, -DBL_MAX, DBL_MAX), 0);
}
END_TEST

START_TEST(test_lse_scan)
{
    enum { n = 259 };
    double lw[n], w[n], cum[n], out[3], ref_w[NPATHS][n], ref_c[NPATHS][n];
    st_rng r;
    st_rng_seed(&r, 22);
    for (size_t i = 0; i < n; i++)
        lw[i] = i % 11 == 3 ? -INFINITY : -30 * st_rng_uniform(&r) + (i == 100 ? 5 : 0);
    for (int p = 0; p < NPATHS; p++) {
        if (st_simd_select(paths[p]) < 0)
            continue;
        st_vlse_scan(lw, n, w, cum, out);
        double mref = -INFINITY;
        for (size_t i = 0; i < n; i++)
            mref = lw[i] > mref ? lw[i] : mref;
        ck_assert(out[0] == mref);
        long double s = 0, q = 0;
        for (size_t i = 0; i < n; i++) {
            ck_assert(ulp_error(w[i], expl((long double)(lw[i] - out[0]))) <= 1.0); /* of the rounded difference */
            s += w[i];
            q += (long double)w[i] * w[i];
            if (i) {
                ck_assert(cum[i] >= cum[i - 1]);
                if (w[i] == 0)
                    ck_assert(cum[i] == cum[i - 1]);
            }
        }
        ck_assert(out[1] == cum[n - 1]);
        ck_assert_near(out[1], (double)s, 1e-13 * (double)s);
        ck_assert_near(out[2], (double)q, 1e-13 * (double)q);
        memcpy(ref_w[p], w, sizeof w);
        memcpy(ref_c[p], cum, sizeof cum);
        for (int q2 = 0; q2 < p; q2++)
            if (st_simd_select(paths[q2]) == 0 && st_simd_same_bits(paths[p], paths[q2])) {
                ck_assert(memcmp(ref_w[p], ref_w[q2], sizeof w) == 0);
                ck_assert(memcmp(ref_c[p], ref_c[q2], sizeof cum) == 0);
            }
        st_simd_select(paths[p]);
        double dead[5] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
        st_vlse_scan(dead, 5, w, cum, out);
        ck_assert(out[0] == -INFINITY && out[1] == 0 && out[2] == 0 && cum[4] == 0 && w[2] == 0);
    }
    st_simd_select(st_simd_best());
}
END_TEST

static Suite *vmath_suite(void)
{
    Suite *s = suite_create("vmath");
    TCase *tc = tcase_create("vmath");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_exp);
    tcase_add_test(tc, test_log);
    tcase_add_test(tc, test_log1p);
    tcase_add_test(tc, test_special_values);
    tcase_add_test(tc, test_lengths_in_place);
    tcase_add_test(tc, test_selection);
    tcase_add_test(tc, test_elementwise_exact);
    tcase_add_test(tc, test_lse_scan);
    tcase_add_test(tc, test_all_in);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(vmath_suite)

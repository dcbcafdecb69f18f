/* The vector kernels of one SIMD path (see simd.h), included once by each
 * of simd_portable.c, simd_sse2.c, simd_avx2.c and simd_avx512.c after
 * they define:
 *   ST_SIMD_W          doubles per vector (1, 2, 4, 8)
 *   st_vd              the vector type (double when ST_SIMD_W is 1)
 *   ST_VEXP, ST_VLOG, ST_VLOG1P   SLEEF's u10 functions on st_vd
 *   ST_VEXP_DET        SLEEF's u10 exp without FMA on st_vd (cinz)
 *   ST_SIMD_PATH       the st_simd value, ST_SIMD_OPS the table's name
 * Everything else is plain C11 that the compiler vectorises for the
 * including file's instruction set; it must stay free of reassociation
 * and of contraction into FMA so that every path gives the same bits. */
#include <math.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* gcc: off already in ISO C mode (-std=c11) */
#endif

#include "core/rng_ziggurat.h"
#include "core/simd.h"

/* y[i] = F(x[i]) a vector at a time; the tail through a zero-padded
 * vector.  FIX(xv, rv) may repair lanes of the result. */
#define ST_SIMD_ARRAY(name, F, FIX)                                                \
    static void name(double *y, const double *x, size_t n)                        \
    {                                                                              \
        size_t i = 0;                                                              \
        for (; i + ST_SIMD_W <= n; i += ST_SIMD_W) {                               \
            st_vd xv, rv;                                                          \
            memcpy(&xv, x + i, sizeof xv);                                         \
            rv = F(xv);                                                            \
            FIX(xv, rv);                                                           \
            memcpy(y + i, &rv, sizeof rv);                                         \
        }                                                                          \
        if (i < n) {                                                               \
            double buf[ST_SIMD_W] = {0};                                           \
            st_vd xv, rv;                                                          \
            memcpy(buf, x + i, (n - i) * sizeof *buf);                             \
            memcpy(&xv, buf, sizeof xv);                                           \
            rv = F(xv);                                                            \
            FIX(xv, rv);                                                           \
            memcpy(buf, &rv, sizeof rv);                                           \
            memcpy(y + i, buf, (n - i) * sizeof *buf);                             \
        }                                                                          \
    }

#define ST_NOFIX(xv, rv) (void)0

/* NaN results as the default quiet NaN: SLEEF's paths differ in the sign
 * of the NaN they return for arguments outside the domain. */
#define ST_NANFIX(xv, rv)                                                          \
    do {                                                                           \
        double rs_[ST_SIMD_W];                                                     \
        memcpy(rs_, &rv, sizeof rs_);                                              \
        for (int j_ = 0; j_ < ST_SIMD_W; j_++)                                     \
            rs_[j_] = rs_[j_] != rs_[j_] ? NAN : rs_[j_];                          \
        memcpy(&rv, rs_, sizeof rv);                                               \
    } while (0)
/* SLEEF 3.5's log1p returns +Inf above about 1e307 (where 1 + x rounds to
 * x): there log1p(x) = log(x) to the last bit, from the same family. */
#define ST_LOG1P_FIX(xv, rv)                                                       \
    do {                                                                           \
        double xs_[ST_SIMD_W];                                                     \
        int big_ = 0;                                                              \
        memcpy(xs_, &xv, sizeof xs_);                                              \
        for (int j_ = 0; j_ < ST_SIMD_W; j_++)                                     \
            big_ |= xs_[j_] > 0x1p1000 && xs_[j_] < INFINITY;                      \
        if (big_) {                                                                \
            double rs_[ST_SIMD_W], ls_[ST_SIMD_W];                                 \
            st_vd lv_ = ST_VLOG(xv);                                               \
            memcpy(rs_, &rv, sizeof rs_);                                          \
            memcpy(ls_, &lv_, sizeof ls_);                                         \
            for (int j_ = 0; j_ < ST_SIMD_W; j_++)                                 \
                if (xs_[j_] > 0x1p1000 && xs_[j_] < INFINITY)                      \
                    rs_[j_] = ls_[j_];                                             \
            memcpy(&rv, rs_, sizeof rv);                                           \
        }                                                                          \
        ST_NANFIX(xv, rv);                                                         \
    } while (0)

/* SLEEF 3.5's exp returns +Inf above 709.78271114955743 although exp(x)
 * stays below DBL_MAX up to x = 0x1.62e42fefa39efp+9 (fixed upstream in
 * 2024, sleef#523).  There exp(x) = 2^1024 exp(-d) with d = 1024 ln 2 - x
 * in [2.4e-14, 0.0028]: d from 1024 ln 2 split in two (the first
 * subtraction is exact), exp(-d) = 1 + c by its Taylor series, rounded
 * once: error below 0.51 ulp, in plain arithmetic that every path
 * rounds alike. */
static double k_exp_near_overflow(double x)
{
    const double d = (0x1.62e42fefa39efp+9 - x) + 0x1.abc9e3b39803fp-46;
    const double c = -d * (1 - d / 2 * (1 - d / 3 * (1 - d / 4 * (1 - d / 5 * (1 - d / 6)))));
    return ldexp(2.0 * (1.0 + c), 1023);
}

#define ST_EXP_FIX(xv, rv)                                                         \
    do {                                                                           \
        double xs_[ST_SIMD_W];                                                     \
        int gap_ = 0;                                                              \
        memcpy(xs_, &xv, sizeof xs_);                                              \
        for (int j_ = 0; j_ < ST_SIMD_W; j_++)                                     \
            gap_ |= xs_[j_] > 709.78 && xs_[j_] <= 0x1.62e42fefa39efp+9;          \
        if (gap_) {                                                                \
            double rs_[ST_SIMD_W];                                                 \
            memcpy(rs_, &rv, sizeof rs_);                                          \
            for (int j_ = 0; j_ < ST_SIMD_W; j_++)                                 \
                if (xs_[j_] > 709.78 && xs_[j_] <= 0x1.62e42fefa39efp+9)          \
                    rs_[j_] = k_exp_near_overflow(xs_[j_]);                        \
            memcpy(&rv, rs_, sizeof rv);                                           \
        }                                                                          \
        ST_NANFIX(xv, rv);                                                         \
    } while (0)

ST_SIMD_ARRAY(k_vexp, ST_VEXP, ST_EXP_FIX)
ST_SIMD_ARRAY(k_vlog, ST_VLOG, ST_NANFIX)
ST_SIMD_ARRAY(k_vlog1p, ST_VLOG1P, ST_LOG1P_FIX)

/* ---- random numbers: ST_RNG_LANES xoshiro256++ generators side by side */

#define L ST_RNG_LANES

static inline uint64_t k_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* One draw of every lane (Blackman & Vigna's next(), lane-wise). */
static inline void k_lanes_next(uint64_t s[4][L], uint64_t out[L])
{
    for (int j = 0; j < L; j++) {
        const uint64_t s0 = s[0][j], s1 = s[1][j], s2 = s[2][j], s3 = s[3][j];
        out[j] = k_rotl(s0 + s3, 23) + s0;
        const uint64_t t = s1 << 17;
        const uint64_t n2 = s2 ^ s0, n3 = s3 ^ s1;
        s[1][j] = s1 ^ n2;
        s[0][j] = s0 ^ n3;
        s[2][j] = n2 ^ t;
        s[3][j] = k_rotl(n3, 45);
    }
}

/* The double in [1, 2) whose 52 fraction bits are the top bits of b. */
static inline double k_one_two(uint64_t b)
{
    const uint64_t v = (b >> 12) | UINT64_C(0x3ff0000000000000);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* Draws rejected by the rectangle test wait in a short list and are
 * finished in output order when the list is nearly full and at the end
 * of the call, so that the vector loop keeps its registers and the wedge
 * tests' exponentials run as one vector call.  Each round of a flush
 * takes the entries in order: a draw inside its rectangle is accepted; in
 * the base layer the tail is sampled (Marsaglia 1964) from the lane's
 * next draws; otherwise the lane's next draw is the wedge's uniform, and
 * after the batch of exponentials a draw under the curve is accepted and
 * one above it takes its lane's next draw into the next round.  The
 * exponentials are SLEEF's functions without FMA (ST_VEXP_DET), which
 * give the same bits in every path, and so does all of this. */
#define K_PEND_MAX 64
typedef struct k_pending {
    int count;
    uint64_t bits[K_PEND_MAX];
    size_t pos[K_PEND_MAX];
} k_pending;

/* The rejected lanes (bits clear in ok) of the group at g, below n. */
static inline void k_pend_add(k_pending *p, const uint64_t *bits, unsigned ok, size_t g, size_t n)
{
    for (int j = 0; j < L; j++)
        if (!(ok >> j & 1) && g + (size_t)j < n) {
            p->bits[p->count] = bits[j];
            p->pos[p->count++] = g + (size_t)j;
        }
}

static inline uint64_t k_lane_next(uint64_t s[4][L], int j)
{
    const uint64_t s0 = s[0][j], s1 = s[1][j], s2 = s[2][j], s3 = s[3][j];
    const uint64_t out = k_rotl(s0 + s3, 23) + s0, t = s1 << 17;
    const uint64_t n2 = s2 ^ s0, n3 = s3 ^ s1;
    s[1][j] = s1 ^ n2;
    s[0][j] = s0 ^ n3;
    s[2][j] = n2 ^ t;
    s[3][j] = k_rotl(n3, 45);
    return out;
}

static inline double k_lane_uniform_pos(uint64_t s[4][L], int j)
{
    return ((double)(k_lane_next(s, j) >> 12) + 0.5) * 0x1.0p-52;
}

ST_SIMD_ARRAY(k_vexp_det, ST_VEXP_DET, ST_NOFIX)

static void k_pend_flush(k_pending *p, uint64_t s[4][L], double *z)
{
    double arg[K_PEND_MAX], f[K_PEND_MAX], x[K_PEND_MAX];
    int wedge[K_PEND_MAX];
    while (p->count > 0) {
        int nw = 0, next = 0;
        for (int k = 0; k < p->count; k++) {
            const int j = (int)(p->pos[k] % L);
            const unsigned i = (unsigned)(p->bits[k] & 0xff);
            const double u = 2.0 * k_one_two(p->bits[k]) - 3.0;
            x[k] = u * zig_x[i];
            wedge[k] = 0;
            if (fabs(x[k]) < zig_x[i + 1]) {
                z[p->pos[k]] = x[k];
            } else if (i == 0) {
                double t, y;
                do {
                    t = -Sleef_cinz_logd1_u10purec(k_lane_uniform_pos(s, j)) / ZIG_R;
                    y = -Sleef_cinz_logd1_u10purec(k_lane_uniform_pos(s, j));
                } while (y + y < t * t);
                z[p->pos[k]] = u < 0 ? -(ZIG_R + t) : ZIG_R + t;
            } else {
                f[nw] = zig_f[i] + (zig_f[i + 1] - zig_f[i]) * k_lane_uniform_pos(s, j);
                arg[nw++] = -0.5 * x[k] * x[k];
                wedge[k] = 1;
            }
        }
        k_vexp_det(arg, arg, (size_t)nw);
        nw = 0;
        for (int k = 0; k < p->count; k++) {
            if (!wedge[k])
                continue;
            if (f[nw] < arg[nw]) {
                z[p->pos[k]] = x[k];
            } else {
                p->pos[next] = p->pos[k];
                p->bits[next++] = k_lane_next(s, (int)(p->pos[k] % L));
            }
            nw++;
        }
        p->count = next;
    }
}

/* Ziggurat (256 layers, Doornik's form as st_rng_normal): per lane, the
 * low 8 bits pick the layer and the top 52 bits the signed abscissa u in
 * [-1, 1) on the grid 2^-51; x = u X[i] is accepted when |x| < X[i+1]
 * (98.5% of draws), otherwise lane j finishes alone in
 * st_rng_lane_normal_slow (through the pending list above).  Output k
 * comes from lane k mod L.
 *
 * With AVX2 or AVX-512 the lanes live in registers (intrinsics below, the
 * compiler does not vectorise the table lookups by itself); elsewhere the
 * same steps run lane by lane.  Both do the same integer operations and
 * the same two exact floating-point products. */
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#if defined(__AVX512F__)
typedef __m512i k_vi;
typedef __m512d k_vf;
#define K_NV 8
#define k_loadi(p) _mm512_loadu_si512((const void *)(p))
#define k_storei(p, v) _mm512_storeu_si512((void *)(p), v)
#define k_storef(p, v) _mm512_storeu_pd(p, v)
#define k_add _mm512_add_epi64
#define k_xor _mm512_xor_si512
#define k_and _mm512_and_si512
#define k_or _mm512_or_si512
#define k_shl _mm512_slli_epi64
#define k_shr _mm512_srli_epi64
#define k_rotl(v, k) _mm512_rol_epi64(v, k)
#define k_set1i(c) _mm512_set1_epi64((long long)(c))
#define k_set1f _mm512_set1_pd
#define k_gather(base, idx) _mm512_i64gather_pd(idx, base, 8)
#define k_castf _mm512_castsi512_pd
#define k_mulf _mm512_mul_pd
#define k_subf _mm512_sub_pd
#define k_addf _mm512_add_pd
#define k_okmask(x, lim) ((unsigned)_mm512_cmp_pd_mask(_mm512_abs_pd(x), lim, _CMP_LT_OQ))
#else
typedef __m256i k_vi;
typedef __m256d k_vf;
#define K_NV 4
#define k_loadi(p) _mm256_loadu_si256((const __m256i *)(p))
#define k_storei(p, v) _mm256_storeu_si256((__m256i *)(p), v)
#define k_storef(p, v) _mm256_storeu_pd(p, v)
#define k_add _mm256_add_epi64
#define k_xor _mm256_xor_si256
#define k_and _mm256_and_si256
#define k_or _mm256_or_si256
#define k_shl _mm256_slli_epi64
#define k_shr _mm256_srli_epi64
#define k_rotl(v, k) k_or(k_shl(v, k), k_shr(v, 64 - (k)))
#define k_set1i(c) _mm256_set1_epi64x((long long)(c))
#define k_set1f _mm256_set1_pd
#define k_gather(base, idx) _mm256_i64gather_pd(base, idx, 8)
#define k_castf _mm256_castsi256_pd
#define k_mulf _mm256_mul_pd
#define k_subf _mm256_sub_pd
#define k_addf _mm256_add_pd
#define k_okmask(x, lim)                                                                           \
    ((unsigned)_mm256_movemask_pd(_mm256_cmp_pd(_mm256_andnot_pd(_mm256_set1_pd(-0.0), x), lim, _CMP_LT_OQ)))
#endif
#define K_NR (L / K_NV)

#define K_LOAD_STATE                                                                               \
    k_vi s0[K_NR], s1[K_NR], s2[K_NR], s3[K_NR];                                                   \
    for (int r = 0; r < K_NR; r++) {                                                               \
        s0[r] = k_loadi(&s[0][r * K_NV]);                                                          \
        s1[r] = k_loadi(&s[1][r * K_NV]);                                                          \
        s2[r] = k_loadi(&s[2][r * K_NV]);                                                          \
        s3[r] = k_loadi(&s[3][r * K_NV]);                                                          \
    }
#define K_STORE_STATE                                                                              \
    for (int r = 0; r < K_NR; r++) {                                                               \
        k_storei(&s[0][r * K_NV], s0[r]);                                                          \
        k_storei(&s[1][r * K_NV], s1[r]);                                                          \
        k_storei(&s[2][r * K_NV], s2[r]);                                                          \
        k_storei(&s[3][r * K_NV], s3[r]);                                                          \
    }
/* bits[r] = next() of the lanes in register r, as k_lanes_next */
#define K_NEXT(bits, r)                                                                            \
    do {                                                                                           \
        bits = k_add(k_rotl(k_add(s0[r], s3[r]), 23), s0[r]);                                      \
        const k_vi t_ = k_shl(s1[r], 17);                                                          \
        s2[r] = k_xor(s2[r], s0[r]);                                                               \
        s3[r] = k_xor(s3[r], s1[r]);                                                               \
        s1[r] = k_xor(s1[r], s2[r]);                                                               \
        s0[r] = k_xor(s0[r], s3[r]);                                                               \
        s2[r] = k_xor(s2[r], t_);                                                                  \
        s3[r] = k_rotl(s3[r], 45);                                                                 \
    } while (0)

static void k_normal_fill(uint64_t s[4][L], double *z, size_t n)
{
    K_LOAD_STATE
    const k_vi low = k_set1i(0xff), expo = k_set1i(UINT64_C(0x3ff0000000000000));
    const k_vf two = k_set1f(2.0), three = k_set1f(3.0);
    k_pending pend;
    pend.count = 0;
    for (size_t g = 0; g < n; g += L) {
        k_vi bits[K_NR];
        k_vf x[K_NR];
        unsigned ok = 0;
        for (int r = 0; r < K_NR; r++) {
            K_NEXT(bits[r], r);
            const k_vi idx = k_and(bits[r], low);
            const k_vf xi = k_gather(zig_x, idx), xi1 = k_gather(zig_x + 1, idx);
            const k_vf d = k_castf(k_or(k_shr(bits[r], 12), expo));
            x[r] = k_mulf(k_subf(k_mulf(two, d), three), xi);
            ok |= k_okmask(x[r], xi1) << (r * K_NV);
        }
        if (n - g >= L) {
            for (int r = 0; r < K_NR; r++)
                k_storef(z + g + r * K_NV, x[r]);
        } else {
            double xs[L];
            for (int r = 0; r < K_NR; r++)
                k_storef(xs + r * K_NV, x[r]);
            memcpy(z + g, xs, (n - g) * sizeof *z);
        }
        if (ok != (1u << L) - 1) {
            uint64_t b[L];
            for (int r = 0; r < K_NR; r++)
                k_storei(b + r * K_NV, bits[r]);
            k_pend_add(&pend, b, ok, g, n);
            if (pend.count > K_PEND_MAX - L) {
                K_STORE_STATE
                k_pend_flush(&pend, s, z);
                for (int r = 0; r < K_NR; r++) {
                    s0[r] = k_loadi(&s[0][r * K_NV]);
                    s1[r] = k_loadi(&s[1][r * K_NV]);
                    s2[r] = k_loadi(&s[2][r * K_NV]);
                    s3[r] = k_loadi(&s[3][r * K_NV]);
                }
            }
        }
    }
    K_STORE_STATE
    k_pend_flush(&pend, s, z);
}

/* (k + 1/2) 2^-52 for the top 52 bits k: d - 1 is exact (Sterbenz) and
 * adding 2^-53 is exact on [0, 1). */
static void k_uniform_fill(uint64_t s[4][L], double *u, size_t n)
{
    K_LOAD_STATE
    const k_vi expo = k_set1i(UINT64_C(0x3ff0000000000000));
    const k_vf one = k_set1f(1.0), half = k_set1f(0x1p-53);
    for (size_t g = 0; g < n; g += L) {
        double xs[L];
        for (int r = 0; r < K_NR; r++) {
            k_vi bits;
            K_NEXT(bits, r);
            const k_vf d = k_castf(k_or(k_shr(bits, 12), expo));
            k_storef(xs + r * K_NV, k_addf(k_subf(d, one), half));
        }
        const size_t m = n - g < L ? n - g : L;
        memcpy(u + g, xs, m * sizeof *u);
    }
    K_STORE_STATE
}

#else /* lane by lane */

static void k_normal_fill(uint64_t s[4][L], double *z, size_t n)
{
    k_pending pend;
    pend.count = 0;
    for (size_t g = 0; g < n; g += L) {
        uint64_t bits[L];
        double x[L];
        unsigned ok = 0;
        k_lanes_next(s, bits);
        for (int j = 0; j < L; j++) {
            const unsigned i = (unsigned)(bits[j] & 0xff);
            const double u = 2.0 * k_one_two(bits[j]) - 3.0; /* exact */
            x[j] = u * zig_x[i];
            ok |= (unsigned)(fabs(x[j]) < zig_x[i + 1]) << j;
        }
        memcpy(z + g, x, (n - g < L ? n - g : L) * sizeof *z);
        if (ok != (1u << L) - 1) {
            k_pend_add(&pend, bits, ok, g, n);
            if (pend.count > K_PEND_MAX - L)
                k_pend_flush(&pend, s, z);
        }
    }
    k_pend_flush(&pend, s, z);
}

static void k_uniform_fill(uint64_t s[4][L], double *u, size_t n)
{
    for (size_t g = 0; g < n; g += L) {
        uint64_t bits[L];
        double x[L];
        k_lanes_next(s, bits);
        for (int j = 0; j < L; j++)
            x[j] = (k_one_two(bits[j]) - 1.0) + 0x1p-53;
        const size_t m = n - g < L ? n - g : L;
        memcpy(u + g, x, m * sizeof *u);
    }
}
#endif

#undef L

const st_simd_ops ST_SIMD_OPS = {
    ST_SIMD_PATH, k_vexp, k_vlog, k_vlog1p, k_normal_fill, k_uniform_fill,
};

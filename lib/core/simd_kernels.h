/* The vector kernels of one SIMD path (see simd.h), included once by each
 * of simd_portable.c, simd_sse2.c, simd_avx2.c and simd_avx512.c after
 * they define:
 *   ST_SIMD_W          doubles per vector (1, 2, 4, 8)
 *   st_vd              the vector type (double when ST_SIMD_W is 1)
 *   ST_VEXP, ST_VLOG, ST_VLOG1P   SLEEF's u10 functions on st_vd
 *   ST_VEXP_DET        SLEEF's u10 exp without FMA on st_vd (cinz)
 *   ST_SIMD_PATH       the st_simd value, ST_SIMD_OPS the table's name
 *   ST_VSET1(c)        st_vd with c in every lane
 *   ST_VMAX(a, b)      lane-wise maximum: a > b ? a : b (b when a is NaN)
 *   ST_VMIN(a, b)      lane-wise minimum: a < b ? a : b
 *   ST_VCEIL_I32(p, v) optional: ceil of the lanes of v (in [0, 2^31)) as
 *                      int32 stored at p
 *   ST_VANY(m)         nonzero if a lane of the comparison result m is set
 *   ST_VZERO_MASK      a comparison result with no lane set
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
 * vector.  Where BAD(xv, rv) holds in some lane (a cheap vector test),
 * FIX(x, r) repairs each lane of the result one by one. */
#define ST_SIMD_ARRAY(name, F, BAD, FIX)                                           \
    static void name(double *y, const double *x, size_t n)                        \
    {                                                                              \
        size_t i = 0;                                                              \
        for (; i + ST_SIMD_W <= n; i += ST_SIMD_W) {                               \
            st_vd xv, rv;                                                          \
            memcpy(&xv, x + i, sizeof xv);                                         \
            rv = F(xv);                                                            \
            if (ST_VANY(BAD(xv, rv))) {                                            \
                double xs_[ST_SIMD_W], rs_[ST_SIMD_W];                             \
                memcpy(xs_, &xv, sizeof xs_);                                      \
                memcpy(rs_, &rv, sizeof rs_);                                      \
                for (int j_ = 0; j_ < ST_SIMD_W; j_++)                             \
                    rs_[j_] = FIX(xs_[j_], rs_[j_]);                               \
                memcpy(&rv, rs_, sizeof rv);                                       \
            }                                                                      \
            memcpy(y + i, &rv, sizeof rv);                                         \
        }                                                                          \
        if (i < n) {                                                               \
            double xs_[ST_SIMD_W] = {0}, rs_[ST_SIMD_W];                           \
            st_vd xv, rv;                                                          \
            memcpy(xs_, x + i, (n - i) * sizeof *xs_);                             \
            memcpy(&xv, xs_, sizeof xv);                                           \
            rv = F(xv);                                                            \
            memcpy(rs_, &rv, sizeof rs_);                                          \
            for (size_t j_ = 0; j_ < n - i; j_++)                                  \
                y[i + j_] = FIX(xs_[j_], rs_[j_]);                                 \
        }                                                                          \
    }

#define ST_NOBAD(xv, rv) ST_VZERO_MASK
#define ST_NOFIX(x, r) (r)

/* NaN results as the default quiet NaN: SLEEF's paths differ in the sign
 * of the NaN they return for arguments outside the domain. */
#define ST_NANBAD(xv, rv) ((rv) != (rv))
static inline double k_nanfix(double x, double r)
{
    (void)x;
    return r != r ? NAN : r;
}

/* SLEEF 3.5's log1p returns +Inf above about 1e307 (where 1 + x rounds to
 * x): there log1p(x) = log(x) to the last bit, from the same family. */
#define ST_LOG1P_BAD(xv, rv) (((xv) > ST_VSET1(0x1p1000)) | ((rv) != (rv)))
static inline double k_log1p_fix(double x, double r)
{
    if (x > 0x1p1000 && x < INFINITY) {
        st_vd xv = ST_VSET1(x), lv = ST_VLOG(xv);
        double ls[ST_SIMD_W];
        memcpy(ls, &lv, sizeof ls);
        r = ls[0];
    }
    return k_nanfix(x, r);
}

/* SLEEF 3.5's exp returns +Inf above 709.78271114955743 although exp(x)
 * stays below DBL_MAX up to x = 0x1.62e42fefa39efp+9 (fixed upstream in
 * 2024, sleef#523).  There exp(x) = 2^1024 exp(-d) with d = 1024 ln 2 - x
 * in [2.4e-14, 0.0028]: d from 1024 ln 2 split in two (the first
 * subtraction is exact), exp(-d) = 1 + c by its Taylor series, rounded
 * once: error below 0.51 ulp, in plain arithmetic that every path
 * rounds alike. */
#define ST_EXP_BAD(xv, rv) (((xv) > ST_VSET1(709.78)) | ((rv) != (rv)))
static inline double k_exp_fix(double x, double r)
{
    if (x > 709.78 && x <= 0x1.62e42fefa39efp+9) {
        const double d = (0x1.62e42fefa39efp+9 - x) + 0x1.abc9e3b39803fp-46;
        const double c = -d * (1 - d / 2 * (1 - d / 3 * (1 - d / 4 * (1 - d / 5 * (1 - d / 6)))));
        return ldexp(2.0 * (1.0 + c), 1023);
    }
    return k_nanfix(x, r);
}

ST_SIMD_ARRAY(k_vexp, ST_VEXP, ST_EXP_BAD, k_exp_fix)
ST_SIMD_ARRAY(k_vlog, ST_VLOG, ST_NANBAD, k_nanfix)
ST_SIMD_ARRAY(k_vlog1p, ST_VLOG1P, ST_LOG1P_BAD, k_log1p_fix)

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

ST_SIMD_ARRAY(k_vexp_det, ST_VEXP_DET, ST_NOBAD, ST_NOFIX)

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

/* ---- elementwise arithmetic: one IEEE operation per lane and step, so
 * the vector and scalar forms round alike */

#define ST_SIMD_BINARY(name, OP)                                                   \
    static void name(double *y, const double *a, const double *b, size_t n)       \
    {                                                                              \
        size_t i = 0;                                                              \
        for (; i + ST_SIMD_W <= n; i += ST_SIMD_W) {                               \
            st_vd x, z;                                                            \
            memcpy(&x, a + i, sizeof x);                                           \
            memcpy(&z, b + i, sizeof z);                                           \
            x = x OP z;                                                            \
            memcpy(y + i, &x, sizeof x);                                           \
        }                                                                          \
        for (; i < n; i++)                                                         \
            y[i] = a[i] OP b[i];                                                   \
    }
ST_SIMD_BINARY(k_vadd, +)
ST_SIMD_BINARY(k_vsub, -)
ST_SIMD_BINARY(k_vmul, *)
ST_SIMD_BINARY(k_vdiv, /)

/* y = a x + b (the product rounded, then the sum) */
static void k_vaffine(double *y, double a, const double *x, double b, size_t n)
{
    const st_vd av = ST_VSET1(a), bv = ST_VSET1(b);
    size_t i = 0;
    for (; i + ST_SIMD_W <= n; i += ST_SIMD_W) {
        st_vd v;
        memcpy(&v, x + i, sizeof v);
        v = av * v + bv;
        memcpy(y + i, &v, sizeof v);
    }
    for (; i < n; i++)
        y[i] = a * x[i] + b;
}

/* y = y + a x (the product rounded, then the sum) */
static void k_vaxpy(double *y, double a, const double *x, size_t n)
{
    const st_vd av = ST_VSET1(a);
    size_t i = 0;
    for (; i + ST_SIMD_W <= n; i += ST_SIMD_W) {
        st_vd v, w;
        memcpy(&v, x + i, sizeof v);
        memcpy(&w, y + i, sizeof w);
        w = w + av * v;
        memcpy(y + i, &w, sizeof w);
    }
    for (; i < n; i++)
        y[i] = y[i] + a * x[i];
}

/* y[i] = x[idx[i]] */
static void k_vgather(double *y, const double *x, const uint32_t *idx, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const double v0 = x[idx[i]], v1 = x[idx[i + 1]], v2 = x[idx[i + 2]], v3 = x[idx[i + 3]];
        y[i] = v0;
        y[i + 1] = v1;
        y[i + 2] = v2;
        y[i + 3] = v3;
    }
    for (; i < n; i++)
        y[i] = x[idx[i]];
}

/* k[i] = ceil(x[i]) with x clipped to [0, hi] (NaN as 0); ceil(x) is
 * trunc(x) + (trunc(x) < x) on [0, 2^31), which the AVX paths compute
 * with their rounding instruction. */
static void k_vceil_clip(int32_t *k, const double *x, size_t n, double hi)
{
    size_t i = 0;
#ifdef ST_VCEIL_I32
    const st_vd zero = ST_VSET1(0.0), top = ST_VSET1(hi);
    for (; i + ST_SIMD_W <= n; i += ST_SIMD_W) {
        st_vd v;
        memcpy(&v, x + i, sizeof v);
        v = ST_VMIN(ST_VMAX(v, zero), top);
        ST_VCEIL_I32(k + i, v);
    }
#endif
    for (; i < n; i++) {
        const double v = x[i] > 0 ? (x[i] < hi ? x[i] : hi) : 0;
        const int32_t t = (int32_t)v;
        k[i] = t + ((double)t < v);
    }
}

/* NaN -> nanval, +Inf -> infval, in place */
static void k_vnan_to(double *x, size_t n, double nanval, double infval)
{
    const st_vd inf = ST_VSET1(INFINITY);
    size_t i = 0;
    for (; i + ST_SIMD_W <= n; i += ST_SIMD_W) {
        st_vd v;
        memcpy(&v, x + i, sizeof v);
        if (!ST_VANY((v != v) | (v == inf)))
            continue;
        for (size_t j = i; j < i + ST_SIMD_W; j++)
            x[j] = x[j] != x[j] ? nanval : x[j] == INFINITY ? infval : x[j];
    }
    for (; i < n; i++)
        x[i] = x[i] != x[i] ? nanval : x[i] == INFINITY ? infval : x[i];
}

/* 1 if lo <= x[i] <= hi for every i (NaN fails) */
static int k_vall_in(const double *x, size_t n, double lo, double hi)
{
    const st_vd l = ST_VSET1(lo), h = ST_VSET1(hi);
    size_t i = 0;
    for (; i + ST_SIMD_W <= n; i += ST_SIMD_W) {
        st_vd v;
        memcpy(&v, x + i, sizeof v);
        if (ST_VANY((v < l) | (v > h) | (v != v)))
            return 0;
    }
    for (; i < n; i++)
        if (!(x[i] >= lo && x[i] <= hi))
            return 0;
    return 1;
}

/* Log-sum-exp of a block with its prefix sums, in one pass (vmath.h,
 * st_vlse_scan).  The association is fixed: the partial sums of each
 * group of four (zeros past n), each added to the running total, so that
 * the groups' own sums do not wait for each other and cum stays
 * non-decreasing; sums of squares in eight interleaved partial sums added
 * as a tree at the end.  Only the exp differs between the families. */
static void k_lse_scan(const double *lw, size_t n, double *w, double *cum, double out[3])
{
    st_vd mv = ST_VSET1(-INFINITY);
    size_t i = 0;
    for (; i + ST_SIMD_W <= n; i += ST_SIMD_W) {
        st_vd x;
        memcpy(&x, lw + i, sizeof x);
        mv = ST_VMAX(mv, x);
    }
    double ms[ST_SIMD_W], m = -INFINITY;
    memcpy(ms, &mv, sizeof ms);
    for (int j = 0; j < ST_SIMD_W; j++)
        m = ms[j] > m ? ms[j] : m;
    for (; i < n; i++)
        m = lw[i] > m ? lw[i] : m;
    out[0] = m;
    if (!(m > -INFINITY)) {
        for (i = 0; i < n; i++)
            w[i] = cum[i] = 0;
        out[1] = out[2] = 0;
        return;
    }
    /* w = exp(lw - m): arguments <= 0 and no NaN, so SLEEF's values need
     * none of k_vexp's repairs and equal st_vexp's */
    const st_vd mm = ST_VSET1(m);
    for (i = 0; i + ST_SIMD_W <= n; i += ST_SIMD_W) {
        st_vd x;
        memcpy(&x, lw + i, sizeof x);
        x = ST_VEXP(x - mm);
        memcpy(w + i, &x, sizeof x);
    }
    if (i < n) {
        double xs[ST_SIMD_W] = {0};
        for (size_t j = 0; j < n - i; j++)
            xs[j] = lw[i + j] - m;
        st_vd x;
        memcpy(&x, xs, sizeof x);
        x = ST_VEXP(x);
        memcpy(xs, &x, sizeof x);
        memcpy(w + i, xs, (n - i) * sizeof *w);
    }
    double q[8] = {0, 0, 0, 0, 0, 0, 0, 0}, carry = 0;
    for (i = 0; i + 4 <= n; i += 4) {
        const double v0 = w[i], v1 = w[i + 1], v2 = w[i + 2], v3 = w[i + 3];
        const double p1 = v0 + v1, p2 = p1 + v2, p3 = p2 + v3;
        cum[i] = carry + v0;
        cum[i + 1] = carry + p1;
        cum[i + 2] = carry + p2;
        carry = cum[i + 3] = carry + p3;
        double *qq = q + (i & 4);
        qq[0] += v0 * v0;
        qq[1] += v1 * v1;
        qq[2] += v2 * v2;
        qq[3] += v3 * v3;
    }
    if (i < n) {
        double v[4] = {0, 0, 0, 0};
        memcpy(v, w + i, (n - i) * sizeof *v);
        const double p1 = v[0] + v[1], p2 = p1 + v[2], p3 = p2 + v[3];
        const double c[4] = {carry + v[0], carry + p1, carry + p2, carry + p3};
        memcpy(cum + i, c, (n - i) * sizeof *c);
        for (int j = 0; j < 4; j++)
            q[(i & 4) + (size_t)j] += v[j] * v[j];
    }
    out[1] = n ? cum[n - 1] : 0;
    out[2] = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
}

#undef L

const st_simd_ops ST_SIMD_OPS = {
    ST_SIMD_PATH, k_vexp, k_vlog, k_vlog1p, k_normal_fill, k_uniform_fill, k_lse_scan,
    k_vadd, k_vsub, k_vmul, k_vdiv, k_vaffine, k_vaxpy, k_vgather, k_vnan_to, k_vceil_clip, k_vall_in,
};

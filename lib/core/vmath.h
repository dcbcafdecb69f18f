/* Vector maths over arrays: exp, log and log1p of n doubles with SLEEF's
 * vector functions, chosen once at run time for the CPU (AVX-512F, AVX2
 * with FMA, SSE2; SLEEF's portable C elsewhere).  The caller owns both
 * arrays; y may be x (in place).
 *
 * Accuracy: at most 1.0 ulp from the exact result over the whole double
 * range (SLEEF's u10 functions), including subnormal results and
 * arguments; special values as C99 Annex F: exp(-Inf) = 0, exp(+Inf) =
 * +Inf, exp(x) = +Inf above 709.78 and 0 below -745.13; log(0) = -Inf,
 * log(x < 0) = NaN, log(+Inf) = +Inf; log1p(-1) = -Inf, log1p(x < -1) =
 * NaN; NaN gives NaN.  tests/unit/test_vmath.c checks these against libm's
 * long double functions.
 *
 * Reproducibility: SLEEF's results do not depend on the vector width, only
 * on whether fused multiply-add is used, so there are two families of
 * bits: the FMA paths (AVX2+FMA and AVX-512F give identical bytes) and
 * the non-FMA paths (SSE2 and the portable C give identical bytes).  The
 * environment variable ST_SIMD=sse2|avx2|avx512 caps the path (read at the
 * first call), so that ST_SIMD=sse2 reproduces on any machine the bytes of
 * one without FMA. */
#ifndef ST_CORE_VMATH_H
#define ST_CORE_VMATH_H

#include <stddef.h>

typedef enum st_simd {
    ST_SIMD_PORTABLE = 0, /* scalar SLEEF (non-x86 hosts); same bits as SSE2 */
    ST_SIMD_SSE2,         /* 2 doubles, no FMA */
    ST_SIMD_AVX2,         /* 4 doubles, FMA */
    ST_SIMD_AVX512        /* 8 doubles, FMA */
} st_simd;

/* The path in use: the widest the CPU supports, capped by ST_SIMD. */
st_simd st_simd_path(void);
/* The widest path this CPU supports (whatever ST_SIMD says). */
st_simd st_simd_best(void);
/* Use path p from now on (for tests and benchmarks); -1 if the CPU lacks
 * it.  Not thread-safe: call it before any parallel region. */
int st_simd_select(st_simd p);
/* "portable", "sse2", "avx2", "avx512". */
const char *st_simd_name(st_simd p);
/* 1 if paths a and b give the same bits (both FMA or both not). */
int st_simd_same_bits(st_simd a, st_simd b);

void st_vexp(double *y, const double *x, size_t n);
void st_vlog(double *y, const double *x, size_t n);
void st_vlog1p(double *y, const double *x, size_t n);

#endif

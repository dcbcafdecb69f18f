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
#include <stdint.h>

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

/* Elementwise arithmetic over arrays, one IEEE operation per element and
 * step (no fused multiply-add), so every path gives the same bits; y may
 * be an input.  For the particle models' blocks and the expression VM. */
void st_vadd(double *y, const double *a, const double *b, size_t n); /* a + b */
void st_vsub(double *y, const double *a, const double *b, size_t n); /* a - b */
void st_vmul(double *y, const double *a, const double *b, size_t n); /* a * b */
void st_vdiv(double *y, const double *a, const double *b, size_t n); /* a / b */
void st_vaffine(double *y, double a, const double *x, double b, size_t n); /* a x + b */
void st_vaxpy(double *y, double a, const double *x, size_t n);            /* y + a x */
/* y[i] = x[idx[i]] */
void st_vgather(double *y, const double *x, const uint32_t *idx, size_t n);
/* In place: NaN becomes nanval and +Inf becomes infval. */
void st_vnan_to(double *x, size_t n, double nanval, double infval);
/* k[i] = ceil(x[i]) with x[i] clipped to [0, hi] (NaN as 0); hi < 2^31. */
void st_vceil_clip(int32_t *k, const double *x, size_t n, double hi);
/* 1 if lo <= x[i] <= hi for every i < n, 0 if not (a NaN is never in):
 * the particle models check a block of arguments in one pass. */
int st_vall_in(const double *x, size_t n, double lo, double hi);

/* Log-sum-exp of n log-weights with the weights' prefix sums, in one pass
 * (the particle filter's weighting step): m = max lw (-Inf when all are),
 * w[i] = exp(lw[i] - m), cum[i] = w[0] + ... + w[i], out = {m, cum[n-1],
 * sum of w[i]^2} (w, cum and out[1..2] zero when m = -Inf).  lw must hold
 * no NaN and no +Inf.  The sums are added in one fixed order (running
 * sums of groups of four, each added to the total so far), the same on
 * every path, so only the exp tells the two families apart; cum is
 * non-decreasing. */
void st_vlse_scan(const double *lw, size_t n, double *w, double *cum, double out[3]);

#endif

/* Internal to lib/core: the table of vector kernels of one SIMD path, and
 * the path chosen at run time (see vmath.h).  Each path's kernels come
 * from the same source, lib/core/simd_kernels.h, compiled once per
 * instruction set (simd_portable.c, simd_sse2.c, simd_avx2.c,
 * simd_avx512.c); only the SLEEF functions differ between them, so the
 * integer and plain floating-point work gives the same bits on every path
 * (the files are compiled without contraction into fused multiply-adds). */
#ifndef ST_CORE_SIMD_H
#define ST_CORE_SIMD_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h" /* ST_RNG_LANES */
#include "core/vmath.h"

typedef struct st_simd_ops {
    st_simd path;
    void (*vexp)(double *y, const double *x, size_t n);
    void (*vlog)(double *y, const double *x, size_t n);
    void (*vlog1p)(double *y, const double *x, size_t n);
    /* N(0,1) draws into z[0..n-1] from the xoshiro256++ lanes s[word][lane] */
    void (*normal_fill)(uint64_t s[4][ST_RNG_LANES], double *z, size_t n);
    /* uniforms on (0,1) into u[0..n-1], k/2^52 + 2^-53 */
    void (*uniform_fill)(uint64_t s[4][ST_RNG_LANES], double *u, size_t n);
    void (*lse_scan)(const double *lw, size_t n, double *w, double *cum, double out[3]);
    void (*vadd)(double *y, const double *a, const double *b, size_t n);
    void (*vsub)(double *y, const double *a, const double *b, size_t n);
    void (*vmul)(double *y, const double *a, const double *b, size_t n);
    void (*vdiv)(double *y, const double *a, const double *b, size_t n);
    void (*vaffine)(double *y, double a, const double *x, double b, size_t n);
    void (*vaxpy)(double *y, double a, const double *x, size_t n);
    void (*vgather)(double *y, const double *x, const uint32_t *idx, size_t n);
    void (*vnan_to)(double *x, size_t n, double nanval, double infval);
    void (*vceil_clip)(int32_t *k, const double *x, size_t n, double hi);
    int (*vall_in)(const double *x, size_t n, double lo, double hi);
} st_simd_ops;

/* The kernels of the path in use (chosen at the first call). */
const st_simd_ops *st_simd_ops_get(void);

extern const st_simd_ops st_simd_ops_portable;
#if defined(__x86_64__)
extern const st_simd_ops st_simd_ops_sse2, st_simd_ops_avx2, st_simd_ops_avx512;
#endif

#endif

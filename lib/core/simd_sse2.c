/* Vector kernels, SSE2 path (every x86-64): two doubles, SLEEF without
 * FMA.  Compiled with the default flags. */
#include "config.h"

#include <emmintrin.h>
#include <sleef.h>

#define ST_SIMD_W 2
typedef __m128d st_vd;
#define ST_VEXP Sleef_cinz_expd2_u10sse2
#define ST_VLOG Sleef_cinz_logd2_u10sse2
#define ST_VLOG1P Sleef_cinz_log1pd2_u10sse2
#define ST_VEXP_DET Sleef_cinz_expd2_u10sse2
#define ST_VSET1(c) _mm_set1_pd(c)
#define ST_VMAX(a, b) _mm_max_pd(a, b)
#define ST_VANY(m) _mm_movemask_pd((__m128d)(m))
#define ST_VZERO_MASK _mm_setzero_si128()
#define ST_VMIN(a, b) _mm_min_pd(a, b)
#define ST_SIMD_PATH ST_SIMD_SSE2
#define ST_SIMD_OPS st_simd_ops_sse2
#include "core/simd_kernels.h"

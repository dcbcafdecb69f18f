/* Vector kernels, AVX2 path: four doubles, SLEEF with FMA.  Compiled with
 * -mavx2 -ffp-contract=off (mk/numeric.mk) and called only when the
 * CPU has AVX2 and FMA (SLEEF's functions use FMA). */
#include "config.h"

#include <immintrin.h>
#include <sleef.h>

#define ST_SIMD_W 4
typedef __m256d st_vd;
#define ST_VEXP Sleef_finz_expd4_u10avx2
#define ST_VLOG Sleef_finz_logd4_u10avx2
#define ST_VLOG1P Sleef_finz_log1pd4_u10avx2
#define ST_VEXP_DET Sleef_cinz_expd4_u10avx
#define ST_VSET1(c) _mm256_set1_pd(c)
#define ST_VMAX(a, b) _mm256_max_pd(a, b)
#define ST_VANY(m) _mm256_movemask_pd((__m256d)(m))
#define ST_VZERO_MASK _mm256_setzero_si256()
#define ST_VMIN(a, b) _mm256_min_pd(a, b)
#define ST_VCEIL_I32(p, v) _mm_storeu_si128((__m128i *)(void *)(p), _mm256_cvttpd_epi32(_mm256_ceil_pd(v)))
#define ST_SIMD_PATH ST_SIMD_AVX2
#define ST_SIMD_OPS st_simd_ops_avx2
#include "core/simd_kernels.h"

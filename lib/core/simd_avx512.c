/* Vector kernels, AVX-512 path: eight doubles, SLEEF with FMA.  Compiled
 * with -mavx512f -ffp-contract=off (mk/numeric.mk) and called only
 * when the CPU has AVX-512F. */
#include "config.h"

#include <immintrin.h>
#include <sleef.h>

#define ST_SIMD_W 8
typedef __m512d st_vd;
#define ST_VEXP Sleef_finz_expd8_u10avx512f
#define ST_VLOG Sleef_finz_logd8_u10avx512f
#define ST_VLOG1P Sleef_finz_log1pd8_u10avx512f
#define ST_VEXP_DET Sleef_cinz_expd8_u10avx512fnofma
#define ST_VSET1(c) _mm512_set1_pd(c)
#define ST_VMAX(a, b) _mm512_max_pd(a, b)
#define ST_VANY(m) _mm512_test_epi64_mask((__m512i)(m), (__m512i)(m))
#define ST_VZERO_MASK _mm512_setzero_si512()
#define ST_VMIN(a, b) _mm512_min_pd(a, b)
#define ST_VCEIL_I32(p, v) \
    _mm256_storeu_si256((__m256i *)(void *)(p), _mm512_cvttpd_epi32(_mm512_roundscale_pd(v, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC)))
#define ST_SIMD_PATH ST_SIMD_AVX512
#define ST_SIMD_OPS st_simd_ops_avx512
#include "core/simd_kernels.h"

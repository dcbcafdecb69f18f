/* Vector kernels, portable path: SLEEF's scalar C functions without FMA
 * (the same bits as the SSE2 path); used where no SIMD path exists. */
#include "config.h"

#include <sleef.h>

#define ST_SIMD_W 1
typedef double st_vd;
#define ST_VEXP Sleef_cinz_expd1_u10purec
#define ST_VLOG Sleef_cinz_logd1_u10purec
#define ST_VLOG1P Sleef_cinz_log1pd1_u10purec
#define ST_VEXP_DET Sleef_cinz_expd1_u10purec
#define ST_VSET1(c) (c)
#define ST_VMAX(a, b) ((a) > (b) ? (a) : (b))
#define ST_VANY(m) (m)
#define ST_VZERO_MASK 0
#define ST_VMIN(a, b) ((a) < (b) ? (a) : (b))
#define ST_SIMD_PATH ST_SIMD_PORTABLE
#define ST_SIMD_OPS st_simd_ops_portable
#include "core/simd_kernels.h"

/* Vector maths over arrays and the choice of SIMD path (vmath.h, simd.h):
 * the widest path the CPU supports, capped by the environment variable
 * ST_SIMD, chosen once. */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/simd.h"
#include "core/vmath.h"

static const st_simd_ops *ops_of(st_simd p)
{
#if defined(__x86_64__)
    switch (p) {
    case ST_SIMD_SSE2: return &st_simd_ops_sse2;
    case ST_SIMD_AVX2: return &st_simd_ops_avx2;
    case ST_SIMD_AVX512: return &st_simd_ops_avx512;
    case ST_SIMD_PORTABLE: break;
    }
#else
    (void)p;
#endif
    return &st_simd_ops_portable;
}

st_simd st_simd_best(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return ST_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return ST_SIMD_AVX2;
    return ST_SIMD_SSE2;
#elif defined(__x86_64__)
    return ST_SIMD_SSE2;
#else
    return ST_SIMD_PORTABLE;
#endif
}

/* The path in use; NULL until the first call.  Every thread that races to
 * the first call computes the same answer. */
static _Atomic(const st_simd_ops *) current;

static const st_simd_ops *choose(void)
{
    st_simd p = st_simd_best();
    const char *cap = getenv("ST_SIMD");
    if (cap) {
        st_simd c = p;
        if (!strcmp(cap, "portable"))
            c = ST_SIMD_PORTABLE;
        else if (!strcmp(cap, "sse2"))
            c = ST_SIMD_SSE2;
        else if (!strcmp(cap, "avx2"))
            c = ST_SIMD_AVX2;
        else if (!strcmp(cap, "avx512"))
            c = ST_SIMD_AVX512;
        if (c < p)
            p = c;
    }
    return ops_of(p);
}

const st_simd_ops *st_simd_ops_get(void)
{
    const st_simd_ops *o = atomic_load_explicit(&current, memory_order_acquire);
    if (!o) {
        o = choose();
        atomic_store_explicit(&current, o, memory_order_release);
    }
    return o;
}

st_simd st_simd_path(void)
{
    return st_simd_ops_get()->path;
}

int st_simd_select(st_simd p)
{
    if (p > st_simd_best())
        return -1;
#if defined(__x86_64__)
    if (p < ST_SIMD_PORTABLE)
        return -1;
#else
    if (p != ST_SIMD_PORTABLE)
        return -1;
#endif
    atomic_store_explicit(&current, ops_of(p), memory_order_release);
    return 0;
}

const char *st_simd_name(st_simd p)
{
    switch (p) {
    case ST_SIMD_PORTABLE: return "portable";
    case ST_SIMD_SSE2: return "sse2";
    case ST_SIMD_AVX2: return "avx2";
    case ST_SIMD_AVX512: return "avx512";
    }
    return "?";
}

int st_simd_same_bits(st_simd a, st_simd b)
{
    return (a >= ST_SIMD_AVX2) == (b >= ST_SIMD_AVX2);
}

void st_vexp(double *y, const double *x, size_t n)
{
    st_simd_ops_get()->vexp(y, x, n);
}

void st_vlog(double *y, const double *x, size_t n)
{
    st_simd_ops_get()->vlog(y, x, n);
}

void st_vlog1p(double *y, const double *x, size_t n)
{
    st_simd_ops_get()->vlog1p(y, x, n);
}

void st_vlse_scan(const double *lw, size_t n, double *w, double *cum, double out[3])
{
    st_simd_ops_get()->lse_scan(lw, n, w, cum, out);
}

void st_vadd(double *y, const double *a, const double *b, size_t n)
{
    st_simd_ops_get()->vadd(y, a, b, n);
}

void st_vsub(double *y, const double *a, const double *b, size_t n)
{
    st_simd_ops_get()->vsub(y, a, b, n);
}

void st_vmul(double *y, const double *a, const double *b, size_t n)
{
    st_simd_ops_get()->vmul(y, a, b, n);
}

void st_vdiv(double *y, const double *a, const double *b, size_t n)
{
    st_simd_ops_get()->vdiv(y, a, b, n);
}

void st_vaffine(double *y, double a, const double *x, double b, size_t n)
{
    st_simd_ops_get()->vaffine(y, a, x, b, n);
}

void st_vaxpy(double *y, double a, const double *x, size_t n)
{
    st_simd_ops_get()->vaxpy(y, a, x, n);
}

void st_vgather(double *y, const double *x, const uint32_t *idx, size_t n)
{
    st_simd_ops_get()->vgather(y, x, idx, n);
}

void st_vnan_to(double *x, size_t n, double nanval, double infval)
{
    st_simd_ops_get()->vnan_to(x, n, nanval, infval);
}

void st_vceil_clip(int32_t *k, const double *x, size_t n, double hi)
{
    st_simd_ops_get()->vceil_clip(k, x, n, hi);
}

int st_vall_in(const double *x, size_t n, double lo, double hi)
{
    return st_simd_ops_get()->vall_in(x, n, lo, hi);
}

/* The core's measured ceilings for bench/pf's roofline: FP64 fused
 * multiply-add throughput with AVX-512 and AVX2 (12 independent
 * accumulators, so latency does not limit it) and one core's memory
 * bandwidth (a triad a = b + s c over 3 x 128 MiB, counting 24 bytes per
 * element, or 32 with the write-allocate read).  Prints
 *   fma512 GFLOPS, fma256 GFLOPS, triad GB/s
 * as "name value" lines; a path the CPU lacks prints 0.
 * Times are CPU seconds of this process, so that a shared machine gives
 * the core's figures.  Build: cc -O2 -o roofline roofline.c (the vector code is selected with
 * target attributes, so no -m flags are needed). */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* CPU time: the machine may be shared */
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define REPS 20000000L

/* twelve accumulators in registers (named, so the compiler keeps them
 * there), each an independent chain of FMAs */
#define CHAINS(T, SET, FMA, STORE, W)                                                   \
    T a0 = SET(0), a1 = SET(1), a2 = SET(2), a3 = SET(3), a4 = SET(4), a5 = SET(5);   \
    T a6 = SET(6), a7 = SET(7), a8 = SET(8), a9 = SET(9), a10 = SET(10), a11 = SET(11); \
    T x = SET(0.999999), y = SET(1e-9);                                               \
    double t = now();                                                                 \
    for (long r = 0; r < REPS; r++) {                                                 \
        a0 = FMA(a0, x, y); a1 = FMA(a1, x, y); a2 = FMA(a2, x, y);                   \
        a3 = FMA(a3, x, y); a4 = FMA(a4, x, y); a5 = FMA(a5, x, y);                   \
        a6 = FMA(a6, x, y); a7 = FMA(a7, x, y); a8 = FMA(a8, x, y);                   \
        a9 = FMA(a9, x, y); a10 = FMA(a10, x, y); a11 = FMA(a11, x, y);               \
    }                                                                                 \
    t = now() - t;                                                                    \
    double v[W], s = 0;                                                               \
    T all[12] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11};                   \
    for (int i = 0; i < 12; i++) {                                                    \
        STORE(v, all[i]);                                                             \
        s += v[0];                                                                    \
    }                                                                                 \
    if (s == 12345)                                                                   \
        puts("");                                                                     \
    return 12.0 * W * 2 * REPS / t / 1e9;

__attribute__((target("avx512f"))) static double fma512(void)
{
    CHAINS(__m512d, _mm512_set1_pd, _mm512_fmadd_pd, _mm512_storeu_pd, 8)
}

__attribute__((target("avx2,fma"))) static double fma256(void)
{
    CHAINS(__m256d, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_storeu_pd, 4)
}

static double triad(void)
{
    size_t n = (size_t)16 << 20; /* 128 MiB per array */
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c)
        return 0;
    for (size_t i = 0; i < n; i++) {
        a[i] = 0;
        b[i] = 1;
        c[i] = 2;
    }
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t = now();
        for (size_t i = 0; i < n; i++)
            a[i] = b[i] + 0.5 * c[i];
        t = now() - t;
        if (t < best)
            best = t;
    }
    double gbs = 24.0 * (double)n / best / 1e9;
    if (a[n / 2] != 2)
        gbs = -gbs;
    free(a);
    free(b);
    free(c);
    return gbs;
}

int main(void)
{
    __builtin_cpu_init();
    printf("fma512 %.1f\n", __builtin_cpu_supports("avx512f") ? fma512() : 0.0);
    printf("fma256 %.1f\n", __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? fma256() : 0.0);
    printf("triad %.1f\n", triad());
    return 0;
}

/* The FP64 peak of one core as bench/hmm/run.sh measures it: twelve
 * independent chains of AVX2 fused multiply-adds (enough to cover the
 * latency of two FMA units), CPU time, printed as GFLOP/s.  It shows the
 * clock the core really runs at (turbo, or a sibling hyperthread taking
 * its share) next to the figure from lscpu's clock. */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define F(x) x = _mm256_fmadd_pd(x, b, c)

__attribute__((target("avx2,fma"))) int main(void)
{
    __m256d b = _mm256_set1_pd(1.0000001), c = _mm256_set1_pd(0.9999999);
    __m256d a0 = _mm256_set1_pd(0), a1 = _mm256_set1_pd(1), a2 = _mm256_set1_pd(2), a3 = _mm256_set1_pd(3);
    __m256d a4 = _mm256_set1_pd(4), a5 = _mm256_set1_pd(5), a6 = _mm256_set1_pd(6), a7 = _mm256_set1_pd(7);
    __m256d a8 = _mm256_set1_pd(8), a9 = _mm256_set1_pd(9), a10 = _mm256_set1_pd(10), a11 = _mm256_set1_pd(11);
    struct timespec t0, t1;
    long n = 200000000;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (long it = 0; it < n; it++) {
        F(a0); F(a1); F(a2); F(a3); F(a4); F(a5); F(a6); F(a7); F(a8); F(a9); F(a10); F(a11);
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7),
                         "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    __m256d t = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)),
                              _mm256_add_pd(_mm256_add_pd(a4, a5), _mm256_add_pd(a6, a7)));
    t = _mm256_add_pd(t, _mm256_add_pd(_mm256_add_pd(a8, a9), _mm256_add_pd(a10, a11)));
    double v[4];
    _mm256_storeu_pd(v, t);
    printf("%.1f\n", 12.0 * 8 * (double)n / s / 1e9 + 0 * v[0]);
    return 0;
}

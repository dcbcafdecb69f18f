/* The three K x K kernels of the forward-backward recursion, written here
 * because the reference BLAS that Debian installs by default runs them at
 * 1-2.5 GFLOP/s:
 *   st_hmm_vecmat:    out = a^T A                  (forward step)
 *   st_hmm_matvec:    out = A w                    (backward step)
 *   st_hmm_outer_acc: X += sum_t a_t w_t^T         (transition statistics)
 * Each has a portable C version and, on x86-64 CPUs with AVX2 and FMA
 * (checked at run time), an intrinsics version.  The choice depends only on
 * the CPU, never on the thread count, so results stay bit-identical for any
 * -j on a given machine. */
#include "config.h"

#include <string.h>

#include "hmm/internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ST_HMM_X86 1
#include <immintrin.h>
#endif

/* ------------------------------------------------------------ portable */

static void vecmat_c(const double *restrict a, const double *restrict A, size_t K, double *restrict out)
{
    memset(out, 0, K * sizeof *out);
    for (size_t i = 0; i < K; i++) {
        double ai = a[i];
        if (ai == 0)
            continue;
        const double *row = A + i * K;
        for (size_t j = 0; j < K; j++)
            out[j] += ai * row[j];
    }
}

static void vecmat_batch_c(const double *const *a, size_t nb, const double *A, size_t K, double *const *out)
{
    for (size_t s = 0; s < nb; s++)
        vecmat_c(a[s], A, K, out[s]);
}

static void matvec_c(const double *restrict A, const double *restrict w, size_t K, double *restrict out)
{
    for (size_t i = 0; i < K; i++) {
        const double *row = A + i * K;
        double s = 0;
        for (size_t j = 0; j < K; j++)
            s += row[j] * w[j];
        out[i] = s;
    }
}

static void outer_acc_c(double *restrict X, const double *restrict a, const double *restrict w, size_t T, size_t K)
{
    for (size_t t = 0; t < T; t++) {
        const double *at = a + t * K, *wt = w + t * K;
        for (size_t i = 0; i < K; i++) {
            double ai = at[i];
            double *row = X + i * K;
            for (size_t j = 0; j < K; j++)
                row[j] += ai * wt[j];
        }
    }
}

#ifdef ST_HMM_X86
/* ------------------------------------------------------------ AVX2 + FMA */

__attribute__((target("avx2,fma"))) static void vecmat_avx2(const double *restrict a, const double *restrict A,
                                                             size_t K, double *restrict out)
{
    size_t j = 0;
    for (; j + 16 <= K; j += 16) {
        __m256d c0 = _mm256_setzero_pd(), c1 = c0, c2 = c0, c3 = c0;
        for (size_t i = 0; i < K; i++) {
            __m256d ai = _mm256_broadcast_sd(a + i);
            const double *r = A + i * K + j;
            c0 = _mm256_fmadd_pd(ai, _mm256_loadu_pd(r), c0);
            c1 = _mm256_fmadd_pd(ai, _mm256_loadu_pd(r + 4), c1);
            c2 = _mm256_fmadd_pd(ai, _mm256_loadu_pd(r + 8), c2);
            c3 = _mm256_fmadd_pd(ai, _mm256_loadu_pd(r + 12), c3);
        }
        _mm256_storeu_pd(out + j, c0);
        _mm256_storeu_pd(out + j + 4, c1);
        _mm256_storeu_pd(out + j + 8, c2);
        _mm256_storeu_pd(out + j + 12, c3);
    }
    for (; j + 4 <= K; j += 4) {
        __m256d c0 = _mm256_setzero_pd();
        for (size_t i = 0; i < K; i++)
            c0 = _mm256_fmadd_pd(_mm256_broadcast_sd(a + i), _mm256_loadu_pd(A + i * K + j), c0);
        _mm256_storeu_pd(out + j, c0);
    }
    for (; j < K; j++) {
        double s = 0;
        for (size_t i = 0; i < K; i++)
            s += a[i] * A[i * K + j];
        out[j] = s;
    }
}

/* Same sums as vecmat_avx2 (per element, i ascending, fused below K & ~3,
 * multiply-then-add beyond), for up to 6 vectors at once from A packed in
 * panels of 8 columns (st_hmm_pack8): each panel is read contiguously once
 * for all the vectors, a 6 x 8 or 4 x 8 register tile. */
__attribute__((target("avx2,fma"))) static void vecmat_batch_avx2(const double *const *a, size_t nb,
                                                                   const double *restrict Ap, const double *restrict A,
                                                                   size_t K, double *const *out)
{
    if (nb < 2) {
        if (nb == 1)
            vecmat_avx2(a[0], A, K, out[0]);
        return;
    }
    const double *a0 = a[0], *a1 = a[1], *a2 = nb > 2 ? a[2] : a[1], *a3 = nb > 3 ? a[3] : a[1];
    size_t K8 = K & ~(size_t)7, j = 0;
    if (nb > 4) { /* a 6 x 8 tile: twelve accumulators, each panel row read once for six vectors */
        const double *a4 = a[4], *a5 = nb > 5 ? a[5] : a[4];
        for (; j < K8; j += 8) {
            __m256d z = _mm256_setzero_pd(), c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z,
                    c40 = z, c41 = z, c50 = z, c51 = z;
            const double *r = Ap + j * K;
            for (size_t i = 0; i < K; i++, r += 8) {
                __m256d x0 = _mm256_loadu_pd(r), x1 = _mm256_loadu_pd(r + 4), b;
                b = _mm256_broadcast_sd(a0 + i);
                c00 = _mm256_fmadd_pd(b, x0, c00);
                c01 = _mm256_fmadd_pd(b, x1, c01);
                b = _mm256_broadcast_sd(a1 + i);
                c10 = _mm256_fmadd_pd(b, x0, c10);
                c11 = _mm256_fmadd_pd(b, x1, c11);
                b = _mm256_broadcast_sd(a2 + i);
                c20 = _mm256_fmadd_pd(b, x0, c20);
                c21 = _mm256_fmadd_pd(b, x1, c21);
                b = _mm256_broadcast_sd(a3 + i);
                c30 = _mm256_fmadd_pd(b, x0, c30);
                c31 = _mm256_fmadd_pd(b, x1, c31);
                b = _mm256_broadcast_sd(a4 + i);
                c40 = _mm256_fmadd_pd(b, x0, c40);
                c41 = _mm256_fmadd_pd(b, x1, c41);
                b = _mm256_broadcast_sd(a5 + i);
                c50 = _mm256_fmadd_pd(b, x0, c50);
                c51 = _mm256_fmadd_pd(b, x1, c51);
            }
            _mm256_storeu_pd(out[0] + j, c00);
            _mm256_storeu_pd(out[0] + j + 4, c01);
            _mm256_storeu_pd(out[1] + j, c10);
            _mm256_storeu_pd(out[1] + j + 4, c11);
            _mm256_storeu_pd(out[2] + j, c20);
            _mm256_storeu_pd(out[2] + j + 4, c21);
            _mm256_storeu_pd(out[3] + j, c30);
            _mm256_storeu_pd(out[3] + j + 4, c31);
            _mm256_storeu_pd(out[4] + j, c40);
            _mm256_storeu_pd(out[4] + j + 4, c41);
            if (nb > 5) {
                _mm256_storeu_pd(out[5] + j, c50);
                _mm256_storeu_pd(out[5] + j + 4, c51);
            }
        }
    }
    for (; j < K8; j += 8) {
        __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
                c31 = c00;
        const double *r = Ap + j * K;
        for (size_t i = 0; i < K; i++, r += 8) {
            __m256d x0 = _mm256_loadu_pd(r), x1 = _mm256_loadu_pd(r + 4), b;
            b = _mm256_broadcast_sd(a0 + i);
            c00 = _mm256_fmadd_pd(b, x0, c00);
            c01 = _mm256_fmadd_pd(b, x1, c01);
            b = _mm256_broadcast_sd(a1 + i);
            c10 = _mm256_fmadd_pd(b, x0, c10);
            c11 = _mm256_fmadd_pd(b, x1, c11);
            b = _mm256_broadcast_sd(a2 + i);
            c20 = _mm256_fmadd_pd(b, x0, c20);
            c21 = _mm256_fmadd_pd(b, x1, c21);
            b = _mm256_broadcast_sd(a3 + i);
            c30 = _mm256_fmadd_pd(b, x0, c30);
            c31 = _mm256_fmadd_pd(b, x1, c31);
        }
        _mm256_storeu_pd(out[0] + j, c00);
        _mm256_storeu_pd(out[0] + j + 4, c01);
        _mm256_storeu_pd(out[1] + j, c10);
        _mm256_storeu_pd(out[1] + j + 4, c11);
        if (nb > 2) {
            _mm256_storeu_pd(out[2] + j, c20);
            _mm256_storeu_pd(out[2] + j + 4, c21);
        }
        if (nb > 3) {
            _mm256_storeu_pd(out[3] + j, c30);
            _mm256_storeu_pd(out[3] + j + 4, c31);
        }
    }
    /* the rest exactly as vecmat_avx2 does it */
    for (size_t s = 0; s < nb; s++) {
        const double *as = a[s];
        double *os = out[s];
        size_t jj = j;
        for (; jj + 4 <= K; jj += 4) {
            __m256d c0 = _mm256_setzero_pd();
            for (size_t i = 0; i < K; i++)
                c0 = _mm256_fmadd_pd(_mm256_broadcast_sd(as + i), _mm256_loadu_pd(A + i * K + jj), c0);
            _mm256_storeu_pd(os + jj, c0);
        }
        for (; jj < K; jj++) {
            double sum = 0;
            for (size_t i = 0; i < K; i++)
                sum += as[i] * A[i * K + jj];
            os[jj] = sum;
        }
    }
}

__attribute__((target("avx2,fma"))) static double hsum(__m256d v)
{
    __m128d lo = _mm256_castpd256_pd128(v), hi = _mm256_extractf128_pd(v, 1);
    lo = _mm_add_pd(lo, hi);
    return _mm_cvtsd_f64(_mm_add_sd(lo, _mm_unpackhi_pd(lo, lo)));
}

__attribute__((target("avx2,fma"))) static void matvec_avx2(const double *restrict A, const double *restrict w,
                                                             size_t K, double *restrict out)
{
    size_t i = 0, K4 = K & ~(size_t)3;
    for (; i + 4 <= K; i += 4) {
        const double *r0 = A + i * K, *r1 = r0 + K, *r2 = r1 + K, *r3 = r2 + K;
        __m256d c0 = _mm256_setzero_pd(), c1 = c0, c2 = c0, c3 = c0;
        for (size_t j = 0; j < K4; j += 4) {
            __m256d wj = _mm256_loadu_pd(w + j);
            c0 = _mm256_fmadd_pd(_mm256_loadu_pd(r0 + j), wj, c0);
            c1 = _mm256_fmadd_pd(_mm256_loadu_pd(r1 + j), wj, c1);
            c2 = _mm256_fmadd_pd(_mm256_loadu_pd(r2 + j), wj, c2);
            c3 = _mm256_fmadd_pd(_mm256_loadu_pd(r3 + j), wj, c3);
        }
        double s0 = hsum(c0), s1 = hsum(c1), s2 = hsum(c2), s3 = hsum(c3);
        for (size_t j = K4; j < K; j++) {
            s0 += r0[j] * w[j];
            s1 += r1[j] * w[j];
            s2 += r2[j] * w[j];
            s3 += r3[j] * w[j];
        }
        out[i] = s0;
        out[i + 1] = s1;
        out[i + 2] = s2;
        out[i + 3] = s3;
    }
    for (; i < K; i++) {
        const double *r = A + i * K;
        __m256d c = _mm256_setzero_pd();
        for (size_t j = 0; j < K4; j += 4)
            c = _mm256_fmadd_pd(_mm256_loadu_pd(r + j), _mm256_loadu_pd(w + j), c);
        double s = hsum(c);
        for (size_t j = K4; j < K; j++)
            s += r[j] * w[j];
        out[i] = s;
    }
}

/* X += sum_t a_t w_t^T: blocks of TB time steps (so that the rows read stay
 * in L1), 4 x 12 register tiles of X (then 4 x 4 up to K & ~7); per
 * element the sum runs over t in order, fused for rows below K & ~3 and
 * columns below K & ~7, multiply-then-add beyond. */
#define TB 32
#define FMA3(b, c0, c1, c2)                     \
    do {                                        \
        c0 = _mm256_fmadd_pd(b, w0, c0);        \
        c1 = _mm256_fmadd_pd(b, w1, c1);        \
        c2 = _mm256_fmadd_pd(b, w2, c2);        \
    } while (0)
__attribute__((target("avx2,fma"))) static void outer_acc_avx2(double *restrict X, const double *restrict a,
                                                                const double *restrict w, size_t T, size_t K)
{
    size_t K4 = K & ~(size_t)3, K8 = K & ~(size_t)7;
    for (size_t t0 = 0; t0 < T; t0 += TB) {
        size_t t1 = t0 + TB < T ? t0 + TB : T;
        size_t i = 0;
        for (; i < K4; i += 4) {
            double *x0 = X + i * K, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
            size_t j = 0;
            for (; j + 12 <= K8; j += 12) {
                __m256d c00 = _mm256_loadu_pd(x0 + j), c01 = _mm256_loadu_pd(x0 + j + 4), c02 = _mm256_loadu_pd(x0 + j + 8);
                __m256d c10 = _mm256_loadu_pd(x1 + j), c11 = _mm256_loadu_pd(x1 + j + 4), c12 = _mm256_loadu_pd(x1 + j + 8);
                __m256d c20 = _mm256_loadu_pd(x2 + j), c21 = _mm256_loadu_pd(x2 + j + 4), c22 = _mm256_loadu_pd(x2 + j + 8);
                __m256d c30 = _mm256_loadu_pd(x3 + j), c31 = _mm256_loadu_pd(x3 + j + 4), c32 = _mm256_loadu_pd(x3 + j + 8);
                for (size_t t = t0; t < t1; t++) {
                    const double *at = a + t * K + i, *wt = w + t * K + j;
                    __m256d w0 = _mm256_loadu_pd(wt), w1 = _mm256_loadu_pd(wt + 4), w2 = _mm256_loadu_pd(wt + 8), b;
                    b = _mm256_broadcast_sd(at);
                    FMA3(b, c00, c01, c02);
                    b = _mm256_broadcast_sd(at + 1);
                    FMA3(b, c10, c11, c12);
                    b = _mm256_broadcast_sd(at + 2);
                    FMA3(b, c20, c21, c22);
                    b = _mm256_broadcast_sd(at + 3);
                    FMA3(b, c30, c31, c32);
                }
                _mm256_storeu_pd(x0 + j, c00);
                _mm256_storeu_pd(x0 + j + 4, c01);
                _mm256_storeu_pd(x0 + j + 8, c02);
                _mm256_storeu_pd(x1 + j, c10);
                _mm256_storeu_pd(x1 + j + 4, c11);
                _mm256_storeu_pd(x1 + j + 8, c12);
                _mm256_storeu_pd(x2 + j, c20);
                _mm256_storeu_pd(x2 + j + 4, c21);
                _mm256_storeu_pd(x2 + j + 8, c22);
                _mm256_storeu_pd(x3 + j, c30);
                _mm256_storeu_pd(x3 + j + 4, c31);
                _mm256_storeu_pd(x3 + j + 8, c32);
            }
            for (; j + 4 <= K8; j += 4) {
                __m256d c0 = _mm256_loadu_pd(x0 + j), c1 = _mm256_loadu_pd(x1 + j), c2 = _mm256_loadu_pd(x2 + j),
                        c3 = _mm256_loadu_pd(x3 + j);
                for (size_t t = t0; t < t1; t++) {
                    const double *at = a + t * K + i;
                    __m256d w0 = _mm256_loadu_pd(w + t * K + j);
                    c0 = _mm256_fmadd_pd(_mm256_broadcast_sd(at), w0, c0);
                    c1 = _mm256_fmadd_pd(_mm256_broadcast_sd(at + 1), w0, c1);
                    c2 = _mm256_fmadd_pd(_mm256_broadcast_sd(at + 2), w0, c2);
                    c3 = _mm256_fmadd_pd(_mm256_broadcast_sd(at + 3), w0, c3);
                }
                _mm256_storeu_pd(x0 + j, c0);
                _mm256_storeu_pd(x1 + j, c1);
                _mm256_storeu_pd(x2 + j, c2);
                _mm256_storeu_pd(x3 + j, c3);
            }
            for (; j < K; j++) /* leftover columns */
                for (size_t t = t0; t < t1; t++) {
                    const double *at = a + t * K + i;
                    double wj = w[t * K + j];
                    x0[j] += at[0] * wj;
                    x1[j] += at[1] * wj;
                    x2[j] += at[2] * wj;
                    x3[j] += at[3] * wj;
                }
        }
        for (; i < K; i++) /* leftover rows */
            for (size_t t = t0; t < t1; t++) {
                double ai = a[t * K + i];
                const double *wt = w + t * K;
                double *row = X + i * K;
                for (size_t j = 0; j < K; j++)
                    row[j] += ai * wt[j];
            }
    }
}

static int have_avx2(void)
{
    static int cached = -1;
    int v = cached;
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        cached = v;
    }
    return v;
}
#endif

void st_hmm_vecmat(const double *a, const double *A, size_t K, double *out)
{
#ifdef ST_HMM_X86
    if (K >= 4 && have_avx2()) {
        vecmat_avx2(a, A, K, out);
        return;
    }
#endif
    vecmat_c(a, A, K, out);
}

void st_hmm_pack8(const double *A, size_t K, double *Ap)
{
    size_t K8 = K & ~(size_t)7;
    for (size_t j = 0; j < K8; j += 8)
        for (size_t i = 0; i < K; i++)
            memcpy(Ap + j * K + i * 8, A + i * K + j, 8 * sizeof *Ap);
}

void st_hmm_vecmat_batch(const double *const *a, size_t nb, const double *A, const double *Ap, size_t K,
                         double *const *out)
{
#ifdef ST_HMM_X86
    if (K >= 4 && have_avx2()) {
        vecmat_batch_avx2(a, nb, Ap, A, K, out);
        return;
    }
#endif
    (void)Ap;
    vecmat_batch_c(a, nb, A, K, out);
}

void st_hmm_matvec(const double *A, const double *w, size_t K, double *out)
{
#ifdef ST_HMM_X86
    if (K >= 4 && have_avx2()) {
        matvec_avx2(A, w, K, out);
        return;
    }
#endif
    matvec_c(A, w, K, out);
}

void st_hmm_outer_acc(double *X, const double *a, const double *w, size_t T, size_t K)
{
#ifdef ST_HMM_X86
    if (K >= 4 && have_avx2()) {
        outer_acc_avx2(X, a, w, T, K);
        return;
    }
#endif
    outer_acc_c(X, a, w, T, K);
}

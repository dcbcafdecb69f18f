/* The forward-backward and E-step statistics of four or eight sequences of
 * equal length at once, one sequence per lane of AVX2 vectors, for models
 * of 4 to 63 states (the E-step uses them up to 12 states: beyond, the
 * one-sequence kernels are as fast).
 *
 * With few states the one-sequence recursion is a chain of short dependent
 * loops: the normaliser is a sum over the states in order, each output of
 * the K x K step a chain of K fused multiply-adds, and every step waits for
 * the last.  Across independent sequences every step becomes vector
 * arithmetic with no horizontal sums, and running two groups of four
 * sequences side by side (eight sequences, NG = 2) keeps two chains in
 * flight, which the fused multiply-add's latency needs.  The categorical
 * emission lookup is a transpose of the four symbols' table rows.
 *
 * Bit-identical to st_hmm_fb + finish_seq on each sequence: every value is
 * computed by the same operations in the same order as the one-sequence
 * AVX2 path -- products then sums in state order for the normaliser, the
 * fused multiply-add chains of kernels.c's vecmat for output columns below
 * K & ~3 and multiply-then-add ones above, the same for the transition
 * statistics (fused for rows below K & ~3 and columns below K & ~7), the
 * emission statistics in time order.  So the grouping, which depends only
 * on the data, never changes a result, and the tests compare the paths bit
 * for bit.  A step whose scaled sum would underflow (the log-space redo of
 * forward.c) makes the group fall back to one sequence at a time.
 *
 * Workspace: per thread, alpha, w and gamma as T x K vectors of the lanes
 * (3 x 64 T K bytes) and the normalisers; families other than categorical
 * with one channel also keep the sequences' scaled emissions. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LANES_X86 1
#include <immintrin.h>
#endif

#define UNDERFLOW 1e-280
#define MAXL 8 /* lanes: two groups of four */

struct st_hmm_lws {
    size_t K, Tmax;
    double *alpha, *w, *gamma, *c; /* T x K x 8, c: T x 8 */
    double *B, *logs;              /* 8 x T x K and 8 x T (generic emissions) */
    double *xi, *g1;               /* K x K x 8 transition sums; T x K one lane's gamma */
    double *Ab, *ATb;              /* trans and its transpose, each entry in 4 lanes */
};

st_hmm_lws *st_hmm_lws_new(size_t K, size_t Tmax)
{
    st_hmm_lws *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    Tmax = Tmax ? Tmax : 1;
    w->K = K;
    w->Tmax = Tmax;
    size_t tkl = Tmax * K * MAXL;
    w->alpha = aligned_alloc(32, tkl * sizeof(double));
    w->w = aligned_alloc(32, tkl * sizeof(double));
    w->gamma = aligned_alloc(32, tkl * sizeof(double));
    w->c = aligned_alloc(32, Tmax * MAXL * sizeof(double));
    w->B = malloc(tkl * sizeof(double));
    w->logs = malloc(Tmax * MAXL * sizeof(double));
    w->xi = aligned_alloc(32, K * K * MAXL * sizeof(double));
    w->g1 = malloc(Tmax * K * sizeof(double));
    w->Ab = aligned_alloc(32, K * K * 4 * sizeof(double));
    w->ATb = aligned_alloc(32, K * K * 4 * sizeof(double));
    if (!w->alpha || !w->w || !w->gamma || !w->c || !w->B || !w->logs || !w->xi || !w->g1 || !w->Ab || !w->ATb) {
        st_hmm_lws_free(w);
        return NULL;
    }
    return w;
}

void st_hmm_lws_free(st_hmm_lws *w)
{
    if (!w)
        return;
    free(w->alpha);
    free(w->w);
    free(w->gamma);
    free(w->c);
    free(w->B);
    free(w->logs);
    free(w->xi);
    free(w->g1);
    free(w->Ab);
    free(w->ATb);
    free(w);
}

#ifdef LANES_X86

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

typedef __m256d V;
#define INL __attribute__((target("avx2,fma"), always_inline)) static inline
#define G for (size_t g = 0; g < NG; g++) /* the groups of four lanes */

/* The rows of b_t (K values each) of the 4 NG lanes at step t:
 * categorical, the symbols' rows of the transposed table; else the
 * sequences' rows of lw->B. */
INL void emis_rows(const st_hmm *m, size_t K, int cat, const double *const *x, const st_hmm_lws *lw, size_t T,
                   size_t t, size_t nl, const double **r)
{
    for (size_t l = 0; l < nl; l++)
        r[l] = cat ? m->cache + (size_t)x[l][t] * K : lw->B + (l * T + t) * K;
}

/* b_t(k .. k+3) of four lanes: a 4 x 4 transpose of their rows */
INL void emis4(const double *const *r, size_t k, V *b)
{
    V r0 = _mm256_loadu_pd(r[0] + k), r1 = _mm256_loadu_pd(r[1] + k), r2 = _mm256_loadu_pd(r[2] + k),
      r3 = _mm256_loadu_pd(r[3] + k);
    V u0 = _mm256_unpacklo_pd(r0, r1), u1 = _mm256_unpackhi_pd(r0, r1);
    V u2 = _mm256_unpacklo_pd(r2, r3), u3 = _mm256_unpackhi_pd(r2, r3);
    b[0] = _mm256_permute2f128_pd(u0, u2, 0x20);
    b[1] = _mm256_permute2f128_pd(u1, u3, 0x20);
    b[2] = _mm256_permute2f128_pd(u0, u2, 0x31);
    b[3] = _mm256_permute2f128_pd(u1, u3, 0x31);
}

/* b_t(k) of four lanes */
INL V emis1(const double *const *r, size_t k)
{
    return _mm256_set_pd(r[3][k], r[2][k], r[1][k], r[0][k]);
}

/* out[j] = sum_i a[i] M[i][j] for each group, M's entries held broadcast
 * (Mb, K*K vectors, row-major): as kernels.c's vecmat, fused chains for
 * j < K & ~3 and multiply-then-add beyond.  Vectors are indexed
 * [state * NG + group]; i in the outer loop, so each chain still runs over
 * i in order, and the groups' chains interleave. */
INL void vecmat_lanes(const V *a, const V *Mb, size_t K, size_t NG, V *out)
{
    size_t K4 = K & ~(size_t)3, j = 0;
    if (NG == 1)
        for (; j + 8 <= K4; j += 8) {
            V c0 = _mm256_setzero_pd(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
            const V *p = Mb + j;
#pragma GCC unroll 16
            for (size_t i = 0; i < K; i++, p += K) {
                V ai = a[i];
                c0 = _mm256_fmadd_pd(ai, p[0], c0);
                c1 = _mm256_fmadd_pd(ai, p[1], c1);
                c2 = _mm256_fmadd_pd(ai, p[2], c2);
                c3 = _mm256_fmadd_pd(ai, p[3], c3);
                c4 = _mm256_fmadd_pd(ai, p[4], c4);
                c5 = _mm256_fmadd_pd(ai, p[5], c5);
                c6 = _mm256_fmadd_pd(ai, p[6], c6);
                c7 = _mm256_fmadd_pd(ai, p[7], c7);
            }
            out[j] = c0;
            out[j + 1] = c1;
            out[j + 2] = c2;
            out[j + 3] = c3;
            out[j + 4] = c4;
            out[j + 5] = c5;
            out[j + 6] = c6;
            out[j + 7] = c7;
        }
    for (; j < K4; j += 4) {
        V c[2][4];
        G for (int q = 0; q < 4; q++) c[g][q] = _mm256_setzero_pd();
        const V *p = Mb + j;
#pragma GCC unroll 16
        for (size_t i = 0; i < K; i++, p += K) {
            G
            {
                V ai = a[i * NG + g];
                c[g][0] = _mm256_fmadd_pd(ai, p[0], c[g][0]);
                c[g][1] = _mm256_fmadd_pd(ai, p[1], c[g][1]);
                c[g][2] = _mm256_fmadd_pd(ai, p[2], c[g][2]);
                c[g][3] = _mm256_fmadd_pd(ai, p[3], c[g][3]);
            }
        }
        G for (size_t q = 0; q < 4; q++) out[(j + q) * NG + g] = c[g][q];
    }
    for (; j < K; j++) {
        V c[2];
        G c[g] = _mm256_setzero_pd();
        const V *p = Mb + j;
        for (size_t i = 0; i < K; i++, p += K)
            G c[g] = _mm256_add_pd(c[g], _mm256_mul_pd(a[i * NG + g], p[0]));
        G out[j * NG + g] = c[g];
    }
}

/* The body, inlined into one copy per small K and group count so that the
 * compiler can unroll the state loops. */
INL int fb_lanes_k(const st_hmm *m, size_t K, size_t NG, const double *const *x, size_t T, st_hmm_lws *lw,
                   double *const *slot)
{
    size_t D = m->D, NL = 4 * NG;
    int cat = m->family == ST_HMM_CATEGORICAL && D == 1;
    /* a step without an observation (NaN): the family's eval and accum */
    for (size_t l = 0; cat && l < NL; l++)
        for (size_t t = 0; t < T; t++)
            if (isnan(x[l][t])) {
                cat = 0;
                break;
            }
    const st_hmm_emis_ops *ops = st_hmm_ops(m);
    if (!cat)
        for (size_t l = 0; l < NL; l++)
            ops->eval(m, x[l], T, lw->B + l * T * K, lw->logs + l * T);
    V *al = (V *)lw->alpha, *wv = (V *)lw->w, *ga = (V *)lw->gamma, *cv = (V *)lw->c;
    V *Ab = (V *)lw->Ab, *ATb = (V *)lw->ATb;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            Ab[i * K + j] = _mm256_set1_pd(m->trans[i * K + j]);
            ATb[j * K + i] = Ab[i * K + j];
        }
    size_t K4 = K & ~(size_t)3, KG = K * NG;
    const double *rows[MAXL];
    V pred[64 * 2], bq[2][4], one = _mm256_set1_pd(1), zero = _mm256_setzero_pd();
    V ll[2], cprod[2], uf = _mm256_set1_pd(UNDERFLOW), lo = _mm256_set1_pd(1e-250), hi = _mm256_set1_pd(1e250);
    for (size_t k = 0; k < K; k++)
        G pred[k * NG + g] = _mm256_set1_pd(m->start[k]);
    G
    {
        ll[g] = zero;
        cprod[g] = one;
    }
    /* ---- forward: alpha_t = pred b_t / c_t, pred = alpha_t A */
    for (size_t t = 0; t < T; t++) {
        emis_rows(m, K, cat, x, lw, T, t, NL, rows);
        V c[2], *at = al + t * KG;
        G c[g] = zero;
        size_t k = 0;
#pragma GCC unroll 4
        for (; k < K4; k += 4) {
            G emis4(rows + 4 * g, k, bq[g]);
            for (size_t q = 0; q < 4; q++)
                G
                {
                    V ak = _mm256_mul_pd(pred[(k + q) * NG + g], bq[g][q]);
                    at[(k + q) * NG + g] = ak;
                    c[g] = _mm256_add_pd(c[g], ak);
                }
        }
        for (; k < K; k++)
            G
            {
                V ak = _mm256_mul_pd(pred[k * NG + g], emis1(rows + 4 * g, k));
                at[k * NG + g] = ak;
                c[g] = _mm256_add_pd(c[g], ak);
            }
        int okm = 1;
        G okm &= _mm256_movemask_pd(_mm256_cmp_pd(c[g], uf, _CMP_GE_OQ)) == 0xF;
        if (!okm)
            return 0; /* the log-space redo: one sequence at a time */
        V ic[2];
        G ic[g] = _mm256_div_pd(one, c[g]);
#pragma GCC unroll 16
        for (k = 0; k < K; k++)
            G at[k * NG + g] = _mm256_mul_pd(at[k * NG + g], ic[g]);
        G
        {
            cv[t * NG + g] = c[g];
            if (!cat) {
                const double *lg = lw->logs + 4 * g * T;
                ll[g] = _mm256_add_pd(ll[g], _mm256_set_pd(lg[3 * T + t], lg[2 * T + t], lg[T + t], lg[t]));
            }
            cprod[g] = _mm256_mul_pd(cprod[g], c[g]);
            V inr = _mm256_and_pd(_mm256_cmp_pd(cprod[g], lo, _CMP_GT_OQ), _mm256_cmp_pd(cprod[g], hi, _CMP_LT_OQ));
            int in = _mm256_movemask_pd(inr);
            if (in != 0xF) { /* fold log(cprod) in the lanes that left the range */
                double lv[4], pv[4];
                _mm256_storeu_pd(lv, ll[g]);
                _mm256_storeu_pd(pv, cprod[g]);
                for (int l = 0; l < 4; l++)
                    if (!(in >> l & 1)) {
                        lv[l] += log(pv[l]);
                        pv[l] = 1;
                    }
                ll[g] = _mm256_loadu_pd(lv);
                cprod[g] = _mm256_loadu_pd(pv);
            }
        }
        if (t + 1 < T)
            vecmat_lanes(at, Ab, K, NG, pred); /* a^T A */
    }
    G
    {
        double lv[4], pv[4];
        _mm256_storeu_pd(lv, ll[g]);
        _mm256_storeu_pd(pv, cprod[g]);
        for (size_t l = 0; l < 4; l++)
            slot[4 * g + l][0] = lv[l] + log(pv[l]);
    }
    /* ---- backward: gamma_t = alpha_t beta_t, w_t = B_t beta_t / c_t */
    V *beta = pred; /* reused */
    for (size_t k = 0; k < KG; k++)
        beta[k] = one;
    for (size_t t = T; t-- > 0;) {
        emis_rows(m, K, cat, x, lw, T, t, NL, rows);
        V ic[2];
        G ic[g] = _mm256_div_pd(one, cv[t * NG + g]);
        const V *at = al + t * KG;
        V *gt = ga + t * KG, *wt = wv + t * KG;
        size_t k = 0;
#pragma GCC unroll 4
        for (; k < K4; k += 4) {
            G emis4(rows + 4 * g, k, bq[g]);
            for (size_t q = 0; q < 4; q++)
                G
                {
                    size_t i = (k + q) * NG + g;
                    V ak = at[i], bk = beta[i];
                    gt[i] = _mm256_mul_pd(ak, bk);
                    V v = _mm256_mul_pd(_mm256_mul_pd(bq[g][q], bk), ic[g]);
                    wt[i] = _mm256_blendv_pd(zero, v, _mm256_cmp_pd(ak, zero, _CMP_GT_OQ));
                }
        }
        for (; k < K; k++)
            G
            {
                size_t i = k * NG + g;
                V ak = at[i], bk = beta[i];
                gt[i] = _mm256_mul_pd(ak, bk);
                V v = _mm256_mul_pd(_mm256_mul_pd(emis1(rows + 4 * g, k), bk), ic[g]);
                wt[i] = _mm256_blendv_pd(zero, v, _mm256_cmp_pd(ak, zero, _CMP_GT_OQ));
            }
        if (t > 0)
            vecmat_lanes(wt, ATb, K, NG, beta); /* A w = w^T A^T */
    }
    /* ---- statistics: start, transitions, emissions (time ascending) */
    for (size_t l = 0; l < NL; l++)
        for (size_t k = 0; k < K; k++)
            slot[l][1 + k] = ((const double *)(ga + k * NG + l / 4))[l % 4];
    V *X = (V *)lw->xi;
    for (size_t i = 0; i < K * KG; i++)
        X[i] = zero;
    size_t K8 = K & ~(size_t)7;
    /* X[i][j] += alpha_t(i) w_t+1(j), t ascending, tiles of 2 x 4 (x groups)
     * over blocks of 64 steps */
    for (size_t t0 = 0; t0 + 1 < T; t0 += 64) {
        size_t t1 = t0 + 64 < T - 1 ? t0 + 64 : T - 1;
        for (size_t i = 0; i < K; i += 2) {
            size_t ni = i + 1 < K ? 2 : 1;
            for (size_t j = 0; j < K; j += 4) {
                size_t nj = j + 4 <= K ? 4 : K - j;
                int full = ni == 2 && nj == 4 && i + 1 < K4 && j + 3 < K8;
                G
                {
                    V acc[2][4];
                    for (size_t p = 0; p < ni; p++)
                        for (size_t q = 0; q < nj; q++)
                            acc[p][q] = X[((i + p) * K + j + q) * NG + g];
                    if (full) {
                        for (size_t t = t0; t < t1; t++) {
                            const V *ar = al + t * KG + i * NG + g, *wr = wv + (t + 1) * KG + j * NG + g;
                            V a0 = ar[0], a1 = ar[NG], w0 = wr[0], w1 = wr[NG], w2 = wr[2 * NG], w3 = wr[3 * NG];
                            acc[0][0] = _mm256_fmadd_pd(a0, w0, acc[0][0]);
                            acc[0][1] = _mm256_fmadd_pd(a0, w1, acc[0][1]);
                            acc[0][2] = _mm256_fmadd_pd(a0, w2, acc[0][2]);
                            acc[0][3] = _mm256_fmadd_pd(a0, w3, acc[0][3]);
                            acc[1][0] = _mm256_fmadd_pd(a1, w0, acc[1][0]);
                            acc[1][1] = _mm256_fmadd_pd(a1, w1, acc[1][1]);
                            acc[1][2] = _mm256_fmadd_pd(a1, w2, acc[1][2]);
                            acc[1][3] = _mm256_fmadd_pd(a1, w3, acc[1][3]);
                        }
                    } else {
                        for (size_t t = t0; t < t1; t++)
                            for (size_t p = 0; p < ni; p++)
                                for (size_t q = 0; q < nj; q++) {
                                    V av = al[t * KG + (i + p) * NG + g], wq = wv[(t + 1) * KG + (j + q) * NG + g];
                                    acc[p][q] = i + p < K4 && j + q < K8 ? _mm256_fmadd_pd(av, wq, acc[p][q])
                                                                         : _mm256_add_pd(acc[p][q], _mm256_mul_pd(av, wq));
                                }
                    }
                    for (size_t p = 0; p < ni; p++)
                        for (size_t q = 0; q < nj; q++)
                            X[((i + p) * K + j + q) * NG + g] = acc[p][q];
                }
            }
        }
    }
    for (size_t l = 0; l < NL; l++)
        for (size_t i = 0; i < K * K; i++)
            slot[l][1 + K + i] = ((const double *)(X + i * NG + l / 4))[l % 4];
    if (!cat) { /* the family's statistics from each lane's gamma */
        for (size_t l = 0; l < NL; l++) {
            const double *gm = (const double *)ga;
            for (size_t q = 0; q < T * K; q++)
                lw->g1[q] = gm[(q * NG + l / 4) * 4 + l % 4];
            ops->accum(m, x[l], T, lw->g1, slot[l] + 1 + K + K * K);
        }
        return 1;
    }
    /* categorical: s[x_t] += gamma_t, t ascending, per lane: transposes of
     * 4 x 4 blocks of gamma */
    double *es[MAXL];
    for (size_t l = 0; l < NL; l++)
        es[l] = slot[l] + 1 + K + K * K;
    for (size_t t = 0; t < T; t++) {
        const V *gt = ga + t * KG;
        G
        {
            double *s0 = es[4 * g] + (size_t)x[4 * g][t] * K, *s1 = es[4 * g + 1] + (size_t)x[4 * g + 1][t] * K;
            double *s2 = es[4 * g + 2] + (size_t)x[4 * g + 2][t] * K, *s3 = es[4 * g + 3] + (size_t)x[4 * g + 3][t] * K;
            size_t k = 0;
#pragma GCC unroll 4
            for (; k < K4; k += 4) {
                V r0 = gt[k * NG + g], r1 = gt[(k + 1) * NG + g], r2 = gt[(k + 2) * NG + g], r3 = gt[(k + 3) * NG + g];
                V u0 = _mm256_unpacklo_pd(r0, r1), u1 = _mm256_unpackhi_pd(r0, r1);
                V u2 = _mm256_unpacklo_pd(r2, r3), u3 = _mm256_unpackhi_pd(r2, r3);
                V l0 = _mm256_permute2f128_pd(u0, u2, 0x20), l1 = _mm256_permute2f128_pd(u1, u3, 0x20);
                V l2 = _mm256_permute2f128_pd(u0, u2, 0x31), l3 = _mm256_permute2f128_pd(u1, u3, 0x31);
                _mm256_storeu_pd(s0 + k, _mm256_add_pd(_mm256_loadu_pd(s0 + k), l0));
                _mm256_storeu_pd(s1 + k, _mm256_add_pd(_mm256_loadu_pd(s1 + k), l1));
                _mm256_storeu_pd(s2 + k, _mm256_add_pd(_mm256_loadu_pd(s2 + k), l2));
                _mm256_storeu_pd(s3 + k, _mm256_add_pd(_mm256_loadu_pd(s3 + k), l3));
            }
            for (; k < K; k++) {
                const double *gg = (const double *)(gt + k * NG + g);
                s0[k] += gg[0];
                s1[k] += gg[1];
                s2[k] += gg[2];
                s3[k] += gg[3];
            }
        }
    }
    return 1;
}

#define FB_K(n)                                                                                                    \
    __attribute__((target("avx2,fma"))) static int fb_lanes_##n(const st_hmm *m, size_t NG, const double *const *x, \
                                                                 size_t T, st_hmm_lws *lw, double *const *slot)    \
    {                                                                                                              \
        return NG == 2 ? fb_lanes_k(m, n, 2, x, T, lw, slot) : fb_lanes_k(m, n, 1, x, T, lw, slot);                \
    }
FB_K(4)
FB_K(5)
FB_K(6)
FB_K(7)
FB_K(8)
FB_K(9)
FB_K(10)
FB_K(11)
FB_K(12)
FB_K(16)

__attribute__((target("avx2,fma"))) static int fb_lanes(const st_hmm *m, size_t NG, const double *const *x,
                                                         size_t T, st_hmm_lws *lw, double *const *slot)
{
    switch (m->K) {
    case 4: return fb_lanes_4(m, NG, x, T, lw, slot);
    case 5: return fb_lanes_5(m, NG, x, T, lw, slot);
    case 6: return fb_lanes_6(m, NG, x, T, lw, slot);
    case 7: return fb_lanes_7(m, NG, x, T, lw, slot);
    case 8: return fb_lanes_8(m, NG, x, T, lw, slot);
    case 9: return fb_lanes_9(m, NG, x, T, lw, slot);
    case 10: return fb_lanes_10(m, NG, x, T, lw, slot);
    case 11: return fb_lanes_11(m, NG, x, T, lw, slot);
    case 12: return fb_lanes_12(m, NG, x, T, lw, slot);
    case 16: return fb_lanes_16(m, NG, x, T, lw, slot);
    default:
        return NG == 2 ? fb_lanes_k(m, m->K, 2, x, T, lw, slot) : fb_lanes_k(m, m->K, 1, x, T, lw, slot);
    }
}

int st_hmm_lanes_ok(const st_hmm *m)
{
    return m->K >= 4 && m->K < 64 && !m->dur && have_avx2();
}

/* Measured (bench/RESULTS.md): the lanes win while the one-sequence path is
 * latency-bound; from about 16 states its K x K kernels keep the FMA units
 * busy and the lanes' emission transposes cost more than they save. */
int st_hmm_lanes_worth(const st_hmm *m)
{
    return st_hmm_lanes_ok(m) && m->K <= 12;
}

int st_hmm_fb_lanes(const st_hmm *m, const double *const *x, size_t n, size_t T, st_hmm_lws *lw, double *const *slot)
{
    if (!st_hmm_lanes_ok(m) || T > lw->Tmax || T == 0 || (n != 4 && n != 8))
        return 0;
    return fb_lanes(m, n / 4, x, T, lw, slot);
}

#else

int st_hmm_lanes_ok(const st_hmm *m)
{
    (void)m;
    return 0;
}

int st_hmm_lanes_worth(const st_hmm *m)
{
    (void)m;
    return 0;
}

int st_hmm_fb_lanes(const st_hmm *m, const double *const *x, size_t n, size_t T, st_hmm_lws *lw, double *const *slot)
{
    (void)m;
    (void)x;
    (void)n;
    (void)T;
    (void)lw;
    (void)slot;
    return 0;
}

#endif

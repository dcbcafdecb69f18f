/* lib/mjp numerics: P(t) against closed forms, the Van Loan integrals
 * against quadrature, analytic gradients against finite differences, EM
 * against L-BFGS, recovery of known rates from simulated data, and thread
 * invariance. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "check_util.h"
#include "core/linalg.h"
#include "core/stream.h"
#include "mjp/internal.h"
#include "mjp/mjp.h"

/* ------------------------------------------------------------ helpers */

static st_mjp *model_from(size_t K, const double *Q)
{
    st_mjp *m;
    st_err e;
    ck_assert_int_eq(st_mjp_new(&m, K, &e), 0);
    memcpy(m->Q, Q, K * K * sizeof *Q);
    for (size_t i = 0; i < K * K; i++)
        m->allowed[i] = i / K != i % K && Q[i] > 0;
    return m;
}

typedef struct rows {
    st_table *t;
} rows;

static st_table *table_new(size_t ncols)
{
    static char *names[] = {"seq", "t", "state", "obs", "obstype"};
    st_table *t = calloc(1, sizeof *t);
    t->ncols = ncols;
    t->names = calloc(ncols, sizeof *t->names);
    t->dtypes = calloc(ncols, sizeof *t->dtypes);
    for (size_t j = 0; j < ncols; j++)
        t->names[j] = strdup(names[j]);
    t->source = strdup("test");
    return t;
}

static void table_add(st_table *t, const double *row)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->data = realloc(t->data, t->cap * t->ncols * sizeof *t->data);
    }
    memcpy(t->data + t->nrows * t->ncols, row, t->ncols * sizeof *row);
    t->nrows++;
}

static void table_free(st_table *t)
{
    for (size_t j = 0; j < t->ncols; j++)
        free(t->names[j]);
    free(t->names);
    free(t->dtypes);
    free(t->data);
    free(t->source);
    free(t);
}

static int collect(const double *row, size_t ncols, void *ctx, st_err *e)
{
    st_table *t = ctx;
    double r[5] = {0, 0, 0, 0, 1};
    memcpy(r, row, ncols * sizeof *row);
    table_add(t, r);
    return 0;
}

/* Simulate n paths of m observed by scheme; columns seq,t,state[,obs]. */
static st_table *simulate(const st_mjp *m, size_t n, double until, int scheme, double every,
                          size_t nrandom, int emit, uint64_t seed)
{
    st_table *t = table_new(emit ? 4 : 3);
    st_mjp_sample_opts o = {.npaths = n, .until = until, .scheme = scheme, .every = every,
                            .nrandom = nrandom, .emit = emit, .seed = seed};
    st_err e;
    ck_assert_int_eq(st_mjp_sample(m, &o, collect, t, &e), 0);
    return t;
}

static st_mjp_data *compile(const st_table *t, const st_mjp *m, int mode)
{
    st_mjp_data *d;
    st_err e;
    int rc = st_mjp_data_from_table(&d, t, m, mode, 0, NULL, 0, &e);
    ck_assert_msg(rc == 0, "data: %s", e.msg);
    return d;
}

/* The distinct lengths from each rank's exactly distinct values (sorted,
 * deduplicated, gathered, merged) equal the greedy tolerance merge of the
 * whole data's sorted list with its duplicates (the single-process rule). */
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t uniq(double *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1])
            v[m++] = v[i];
    return m;
}

START_TEST(test_merge_lengths_shares)
{
    enum { N = 3000 };
    double *all = malloc(N * sizeof *all), *gath = malloc(N * sizeof *gath);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < N; i++) {
        /* differences of day-grid times: equal lengths differ in the last bits */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int a = (int)(x % 3650), b = a + 1 + (int)((x >> 20) % 40);
        all[i] = b / 365.0 - a / 365.0;
    }
    double tol = 8 * 2.220446049250313e-16 * (3690 / 365.0);
    for (int P = 1; P <= 4; P++) {
        size_t ng = 0;
        for (int r = 0; r < P; r++) {
            size_t lo = N * (size_t)r / (size_t)P, hi = N * (size_t)(r + 1) / (size_t)P, n = hi - lo;
            double *mine = gath + ng;
            memcpy(mine, all + lo, n * sizeof *mine);
            qsort(mine, n, sizeof *mine, cmp_dbl);
            ng += uniq(mine, n);
        }
        qsort(gath, ng, sizeof *gath, cmp_dbl);
        ng = mjp_merge_lengths(gath, uniq(gath, ng), tol);
        double *ref = malloc(N * sizeof *ref);
        memcpy(ref, all, N * sizeof *ref);
        qsort(ref, N, sizeof *ref, cmp_dbl);
        size_t nr = mjp_merge_lengths(ref, N, tol);
        ck_assert_uint_eq(ng, nr);
        ck_assert_uint_le(nr, 40); /* 1 .. 40 days */
        for (size_t i = 0; i < nr; i++)
            ck_assert(gath[i] == ref[i]);
        free(ref);
    }
    free(all);
    free(gath);
}
END_TEST

START_TEST(test_block_groups)
{
    ck_assert_uint_eq(st_mjp_block_groups(1000, 10000), 228);  /* 9 intervals per subject */
    ck_assert_uint_eq(st_mjp_block_groups(100000, 200000), 2048);
    ck_assert_uint_eq(st_mjp_block_groups(1000000, 11000000), 3907); /* at most 256 blocks */
    ck_assert_uint_eq(st_mjp_block_groups(10, 1000), 10);
    ck_assert_uint_eq(st_mjp_block_groups(1, 1), 1);
}
END_TEST

/* Per-block partials: the statistics of data cut into several subject
 * blocks equal the sums of each subject's own statistics, for hidden data
 * (Van Loan in Q's eigenbasis, per interval or per pair) and censored panel
 * data mixing plain and generic subjects under a cyclic Q (complex
 * eigenvalues: block exponential per (block, length)). */
static void check_additive(const st_mjp *m, const st_table *t, int mode, const st_mjp_censor *c, size_t nc)
{
    st_mjp_data *d;
    st_err e;
    size_t K = m->K;
    ck_assert_int_eq(st_mjp_data_from_table(&d, t, m, mode, 0, c, nc, &e), 0);
    ck_assert_uint_ge(st_mjp_nblocks(d), 3);
    double ll, N[9], D[3], G[9], sll = 0, sN[9] = {0}, sD[3] = {0}, sG[9] = {0};
    ck_assert_int_eq(st_mjp_expected_stats(m, d, &ll, N, D, G, &e), 0);
    st_table one = *t;
    for (size_t s = 0; s < d->nsubj; s++) {
        /* the subject's rows alone: a table view of its group */
        size_t r0 = 0;
        while (t->data[r0 * t->ncols] != d->seq[s])
            r0++;
        size_t r1 = r0;
        while (r1 < t->nrows && t->data[r1 * t->ncols] == d->seq[s])
            r1++;
        one.data = t->data + r0 * t->ncols;
        one.nrows = r1 - r0;
        st_mjp_data *d1;
        double l1, N1[9], D1[3], G1[9];
        ck_assert_int_eq(st_mjp_data_from_table(&d1, &one, m, mode, 0, c, nc, &e), 0);
        ck_assert_int_eq(st_mjp_expected_stats(m, d1, &l1, N1, D1, G1, &e), 0);
        sll += l1;
        for (size_t i = 0; i < K * K; i++) {
            sN[i] += N1[i];
            sG[i] += G1[i];
        }
        for (size_t i = 0; i < K; i++)
            sD[i] += D1[i];
        st_mjp_data_free(d1);
    }
    ck_assert_rel(ll, sll, 1e-11);
    for (size_t i = 0; i < K * K; i++) {
        ck_assert_near(N[i], sN[i], 1e-9 * (1 + fabs(sN[i])));
        ck_assert_near(G[i], sG[i], 1e-9 * (1 + fabs(sG[i])));
    }
    for (size_t i = 0; i < K; i++)
        ck_assert_rel(D[i], sD[i], 1e-11);
    st_mjp_data_free(d);
}

START_TEST(test_blocks_additive)
{
    /* hidden, grid of times (few lengths: per pair) and random times */
    st_mjp *m = model_from(3, (double[]){-0.35, 0.25, 0.1, 0.3, -0.5, 0.2, 0, 0, 0});
    st_err e;
    m->M = 3;
    m->E = malloc(9 * sizeof *m->E);
    memcpy(m->E, (double[]){0.9, 0.1, 0, 0.1, 0.9, 0, 0, 0, 1}, 9 * sizeof *m->E);
    memcpy(m->init, (double[]){0.7, 0.3, 0}, 3 * sizeof *m->init);
    st_table *t = simulate(m, 400, 10, ST_MJP_SAMPLE_EVERY, 0.5, 0, 1, 5);
    check_additive(m, t, ST_MJP_HIDDEN, NULL, 0);
    table_free(t);
    t = simulate(m, 600, 10, ST_MJP_SAMPLE_RANDOM, 0, 12, 1, 6);
    check_additive(m, t, ST_MJP_HIDDEN, NULL, 0);
    table_free(t);
    st_mjp_free(m);
    /* cyclic Q, panel on a grid, odd subjects with censored states */
    m = model_from(3, (double[]){-1, 0.8, 0.2, 0.1, -1, 0.9, 0.9, 0.1, -1});
    st_mjp_censor c = {.code = 99, .member = {1, 1, 0}};
    t = simulate(m, 500, 8, ST_MJP_SAMPLE_EVERY, 0.25, 0, 0, 7);
    for (size_t r = 0; r < t->nrows; r++) {
        double *row = t->data + r * t->ncols;
        if ((long)row[0] % 2 && r % 3 == 0 && row[2] < 2)
            row[2] = 99;
    }
    check_additive(m, t, ST_MJP_PANEL, &c, 1);
    table_free(t);
    (void)e;
    st_mjp_free(m);
}
END_TEST

/* ------------------------------------------------------ closed forms */

START_TEST(test_pmatrix_two_state)
{
    double a = 0.7, b = 0.2;
    double Q[] = {-a, a, b, -b};
    st_mjp *m = model_from(2, Q);
    double P[4];
    st_err e;
    for (double t = 0.1; t < 20; t *= 2.3) {
        ck_assert_int_eq(st_mjp_pmatrix(m, t, P, &e), 0);
        double x = exp(-(a + b) * t);
        ck_assert_near(P[0], b / (a + b) + a / (a + b) * x, 1e-13);
        ck_assert_near(P[1], a / (a + b) * (1 - x), 1e-13);
        ck_assert_near(P[2], b / (a + b) * (1 - x), 1e-13);
        ck_assert_near(P[3], a / (a + b) + b / (a + b) * x, 1e-13);
    }
    st_mjp_free(m);
}
END_TEST

/* Pure-birth chain 0 -> 1 -> 2 (rates a, b) and a birth-death chain on
 * {0,1,2} with equal rates: closed forms from the Kolmogorov equations. */
START_TEST(test_pmatrix_birth_death)
{
    double a = 0.9, b = 0.3;
    double Q[] = {-a, a, 0, 0, -b, b, 0, 0, 0};
    st_mjp *m = model_from(3, Q);
    double P[9];
    st_err e;
    for (double t = 0.05; t < 30; t *= 1.9) {
        ck_assert_int_eq(st_mjp_pmatrix(m, t, P, &e), 0);
        double p01 = a / (b - a) * (exp(-a * t) - exp(-b * t));
        ck_assert_near(P[0], exp(-a * t), 1e-13);
        ck_assert_near(P[1], p01, 1e-13);
        ck_assert_near(P[2], 1 - exp(-a * t) - p01, 1e-13);
        ck_assert_near(P[4], exp(-b * t), 1e-13);
    }
    st_mjp_free(m);
    /* symmetric birth-death, rate l each way between neighbours: the
     * eigenvalues are 0, -l, -3l; P_00(t) = 1/3 + e^{-lt}/2 + e^{-3lt}/6 */
    double l = 0.4;
    double Q2[] = {-l, l, 0, l, -2 * l, l, 0, l, -l};
    m = model_from(3, Q2);
    for (double t = 0.05; t < 30; t *= 1.9) {
        ck_assert_int_eq(st_mjp_pmatrix(m, t, P, &e), 0);
        ck_assert_near(P[0], 1.0 / 3 + exp(-l * t) / 2 + exp(-3 * l * t) / 6, 1e-13);
        ck_assert_near(P[1], 1.0 / 3 - exp(-3 * l * t) / 3, 1e-13);
        ck_assert_near(P[2], 1.0 / 3 - exp(-l * t) / 2 + exp(-3 * l * t) / 6, 1e-13);
    }
    st_mjp_free(m);
}
END_TEST

/* I(W) = int_0^t exp(Q^T u) W exp(Q^T (t-u)) du by composite Simpson. */
START_TEST(test_vanloan_quadrature)
{
    size_t K = 4;
    double Q[16] = {0};
    double rates[][3] = {{0, 1, 0.8}, {1, 0, 0.3}, {1, 2, 0.5}, {2, 3, 1.1}, {3, 0, 0.2}, {2, 1, 0.4}};
    for (size_t r = 0; r < 6; r++)
        Q[(size_t)rates[r][0] * K + (size_t)rates[r][1]] = rates[r][2];
    for (size_t i = 0; i < K; i++) {
        double s = 0;
        for (size_t j = 0; j < K; j++)
            s += j != i ? Q[i * K + j] : 0;
        Q[i * K + i] = -s;
    }
    double W[16];
    for (size_t i = 0; i < 16; i++)
        W[i] = 0.1 + 0.37 * (double)((i * 7) % 5) - 0.2 * (double)(i % 3);
    double t = 1.7, I[16], ref[16] = {0};
    st_err e;
    ck_assert_int_eq(st_mjp_vanloan(Q, K, t, W, I, &e), 0);
    size_t n = 400; /* Simpson panels */
    double A[16], Pu[16], Pv[16], tmp[16], Qt[16];
    st_mat_transpose(Q, K, K, Qt);
    for (size_t k = 0; k <= n; k++) {
        double u = t * (double)k / (double)n;
        double w = (k == 0 || k == n) ? 1 : (k % 2 ? 4 : 2);
        for (size_t i = 0; i < 16; i++)
            A[i] = Qt[i] * u;
        ck_assert_int_eq(st_expm(A, K, Pu, &e), 0);
        for (size_t i = 0; i < 16; i++)
            A[i] = Qt[i] * (t - u);
        ck_assert_int_eq(st_expm(A, K, Pv, &e), 0);
        st_gemm(0, 0, K, K, K, 1, Pu, W, 0, tmp);
        st_gemm(0, 0, K, K, K, w * t / (3.0 * (double)n), tmp, Pv, 1, ref);
    }
    for (size_t i = 0; i < 16; i++)
        ck_assert_near(I[i], ref[i], 1e-9);
}
END_TEST

/* The eigendecomposition path gives the same integrals as the block
 * exponential: a birth-death chain with an absorbing state (real spectrum)
 * is taken, a rotation-like chain (complex spectrum) is refused. */
START_TEST(test_vanloan_eigen)
{
    size_t K = 4;
    double Q[16] = {-0.5, 0.3, 0, 0.2, 0.4, -0.9, 0.3, 0.2, 0, 0.6, -0.8, 0.2, 0, 0, 0, 0};
    double W[16], I1[16], I2[16], work[32];
    for (size_t i = 0; i < 16; i++)
        W[i] = 1.0 / (1.0 + (double)((i * 5) % 7)) - 0.1 * (double)(i % 2);
    mjp_eig ev;
    st_err e;
    ck_assert_int_eq(mjp_eig_prepare(&ev, Q, K), 1);
    for (double t = 0.01; t < 40; t *= 3.1) {
        ck_assert_int_eq(st_mjp_vanloan(Q, K, t, W, I1, &e), 0);
        mjp_eig_vanloan(&ev, t, W, I2, work);
        for (size_t i = 0; i < 16; i++)
            ck_assert_near(I2[i], I1[i], 1e-11 * fmax(1, fabs(I1[i])));
    }
    double R[9] = {-1, 1, 0, 0, -1, 1, 1, 0, -1}; /* cyclic: eigenvalues -3/2 +- i sqrt(3)/2 */
    ck_assert_int_eq(mjp_eig_prepare(&ev, R, 3), 0);
}
END_TEST

/* Visits on a grid of days: differences such as 5/365 - 2/365 and 3/365
 * differ in the last bit but are one interval length (one P(dt)). */
START_TEST(test_distinct_intervals)
{
    st_mjp *m = model_from(3, (double[]){-0.5, 0.3, 0.2, 0.4, -0.6, 0.2, 0.1, 0.25, -0.35});
    st_table *t = table_new(3);
    int days[][4] = {{0, 2, 5, 9}, {0, 3, 7, 11}, {1, 4, 8, 12}, {0, 365, 730, 1000}};
    for (int s = 0; s < 4; s++)
        for (int k = 0; k < 4; k++)
            table_add(t, (double[]){s, days[s][k] / 365.0, 0});
    st_mjp_data *d = compile(t, m, ST_MJP_PANEL);
    mjp_engine *g;
    st_err e;
    ck_assert_int_eq(mjp_engine_new(&g, d, &e), 0);
    /* lengths in days: 2 3 4 | 3 4 4 | 3 4 4 | 365 365 270 -> {2, 3, 4, 270, 365} */
    ck_assert_uint_eq(mjp_engine_ndistinct(g), 5);
    mjp_engine_free(g);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m);
}
END_TEST

/* -------------------------------------------- gradients and statistics */

static const double Q3[] = {-0.5, 0.3, 0.2, 0.4, -0.6, 0.2, 0.1, 0.25, -0.35};

/* d logL / d q_ab against central differences of logL. */
static void check_gradient(const st_mjp *m0, const st_mjp_data *d, double tol)
{
    size_t K = m0->K;
    double ll, *N = calloc(K * K, sizeof *N), *D = calloc(K, sizeof *D), *G = calloc(K * K, sizeof *G);
    st_err e;
    ck_assert_int_eq(st_mjp_expected_stats(m0, d, &ll, N, D, G, &e), 0);
    ck_assert(isfinite(ll));
    st_mjp *m;
    ck_assert_int_eq(st_mjp_copy(&m, m0, &e), 0);
    for (size_t a = 0; a < K; a++)
        for (size_t b = 0; b < K; b++) {
            if (a == b || !m0->allowed[a * K + b])
                continue;
            double h = 1e-6, lp, lm;
            m->Q[a * K + b] += h;
            m->Q[a * K + a] -= h;
            ck_assert_int_eq(st_mjp_loglik(m, d, &lp, &e), 0);
            m->Q[a * K + b] -= 2 * h;
            m->Q[a * K + a] += 2 * h;
            ck_assert_int_eq(st_mjp_loglik(m, d, &lm, &e), 0);
            m->Q[a * K + b] += h;
            m->Q[a * K + a] -= h;
            double num = (lp - lm) / (2 * h);
            ck_assert_msg(fabs(G[a * K + b] - num) <= tol * fmax(1, fabs(num)),
                          "dlogL/dq_%zu%zu analytic %.10g numeric %.10g", a, b, G[a * K + b], num);
            /* EM identity: gradient = N/q - D */
            ck_assert_near(G[a * K + b], N[a * K + b] / m0->Q[a * K + b] - D[a],
                           1e-8 * fmax(1, fabs(num)));
        }
    st_mjp_free(m);
    free(N);
    free(D);
    free(G);
}

START_TEST(test_gradient_panel)
{
    st_mjp *m = model_from(3, Q3);
    st_table *t = simulate(m, 60, 10, ST_MJP_SAMPLE_RANDOM, 0, 6, 0, 3);
    st_mjp_data *d = compile(t, m, ST_MJP_PANEL);
    check_gradient(m, d, 1e-6);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m);
}
END_TEST

/* obstype 2 and 3 and censored states through forward-backward. */
START_TEST(test_gradient_obstypes)
{
    double Q[] = {-0.5, 0.3, 0.2, 0.4, -0.6, 0.2, 0, 0, 0};
    st_mjp *m = model_from(3, Q);
    st_table *t = table_new(5);
    /* seq, t, state, obs(unused), obstype */
    double r[][5] = {{1, 0, 0, 0, 1}, {1, 1.5, 1, 0, 1}, {1, 2.5, 0, 0, 2}, {1, 4, 2, 0, 3},
                     {2, 0, 1, 0, 1}, {2, 0.7, 9, 0, 1}, {2, 2, 1, 0, 2},   {2, 3, 1, 0, 2},
                     {3, 0, 0, 0, 1}, {3, 1, 0, 0, 1},   {3, 3.2, 9, 0, 1}, {3, 5, 2, 0, 1}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        table_add(t, r[i]);
    st_mjp_censor c = {.code = 9};
    c.member[0] = c.member[1] = 1;
    st_mjp_data *d;
    st_err e;
    int rc = st_mjp_data_from_table(&d, t, m, ST_MJP_PANEL, 0, &c, 1, &e);
    ck_assert_msg(rc == 0, "%s", e.msg);
    check_gradient(m, d, 1e-6);
    /* the log-likelihood by hand for subject 1:
     * P01(1.5) * exp(q11 * 1) q10 * sum_{m != 2} P0m(1.5) q_m2 */
    st_mjp_data *d1;
    st_table *t1 = table_new(5);
    for (size_t i = 0; i < 4; i++)
        table_add(t1, r[i]);
    ck_assert_int_eq(st_mjp_data_from_table(&d1, t1, m, ST_MJP_PANEL, 0, NULL, 0, &e), 0);
    double ll, P[9];
    ck_assert_int_eq(st_mjp_loglik(m, d1, &ll, &e), 0);
    ck_assert_int_eq(st_mjp_pmatrix(m, 1.5, P, &e), 0);
    double want = log(P[1]) + (-0.6 * 1 + log(0.4)) + log(P[0] * 0.2 + P[1] * 0.2);
    ck_assert_near(ll, want, 1e-12);
    st_mjp_data_free(d1);
    table_free(t1);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m);
}
END_TEST

static st_mjp *hidden_model(void)
{
    st_mjp *m = model_from(3, Q3);
    m->M = 3;
    m->E = malloc(9 * sizeof *m->E);
    double E[] = {0.9, 0.1, 0, 0.05, 0.9, 0.05, 0, 0.15, 0.85};
    memcpy(m->E, E, sizeof E);
    m->init[0] = 0.5;
    m->init[1] = 0.3;
    m->init[2] = 0.2;
    return m;
}

START_TEST(test_gradient_hidden)
{
    st_mjp *m = hidden_model();
    st_table *t = simulate(m, 40, 8, ST_MJP_SAMPLE_RANDOM, 0, 7, 1, 5);
    st_mjp_data *d = compile(t, m, ST_MJP_HIDDEN);
    check_gradient(m, d, 1e-6);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m);
}
END_TEST

/* ---------------------------------------------------------- fitting */

START_TEST(test_em_equals_lbfgs_panel)
{
    st_mjp *truth = model_from(3, Q3);
    st_table *t = simulate(truth, 200, 12, ST_MJP_SAMPLE_RANDOM, 0, 6, 0, 11);
    st_mjp_data *d = compile(t, truth, ST_MJP_PANEL);
    st_mjp *a, *b;
    st_err e;
    ck_assert_int_eq(st_mjp_copy(&a, truth, &e), 0);
    ck_assert_int_eq(st_mjp_init_rates(a, d, &e), 0);
    ck_assert_int_eq(st_mjp_copy(&b, a, &e), 0);
    st_mjp_fit *fa, *fb;
    st_mjp_fit_opts oa = {.method = ST_MJP_FIT_EM, .tol = 1e-13, .max_iter = 20000};
    st_mjp_fit_opts ob = {.method = ST_MJP_FIT_LBFGS, .want_se = 1};
    ck_assert_int_eq(st_mjp_fit_run(a, d, &oa, &fa, &e), 0);
    ck_assert_int_eq(st_mjp_fit_run(b, d, &ob, &fb, &e), 0);
    ck_assert(fa->converged);
    ck_assert(fb->converged);
    ck_assert_rel(fa->loglik, fb->loglik, 1e-9);
    for (size_t i = 0; i < 9; i++)
        ck_assert_rel(a->Q[i], b->Q[i], 2e-4);
    /* recovered within sampling error: |q - q0| < 4 se */
    for (size_t i = 0; i < 9; i++)
        if (i / 3 != i % 3)
            ck_assert_msg(fabs(b->Q[i] - Q3[i]) < 4 * fb->Q_se[i], "q[%zu] = %g (se %g), truth %g", i,
                          b->Q[i], fb->Q_se[i], Q3[i]);
    /* 95% interval contains the estimate and is on the log scale */
    ck_assert(fb->Q_lo[1] < b->Q[1] && b->Q[1] < fb->Q_hi[1]);
    ck_assert_near(fb->aic, -2 * fb->loglik + 2 * 6, 1e-9);
    st_mjp_fit_free(fa);
    st_mjp_fit_free(fb);
    st_mjp_free(a);
    st_mjp_free(b);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(truth);
}
END_TEST

START_TEST(test_exact_closed_form)
{
    st_mjp *truth = model_from(3, Q3);
    st_table *t = simulate(truth, 200, 20, ST_MJP_SAMPLE_PATH, 0, 0, 0, 21);
    st_mjp_data *d = compile(t, truth, ST_MJP_EXACT);
    /* counts and dwell times by hand */
    double N[9] = {0}, D[3] = {0};
    for (size_t s = 0; s < d->nsubj; s++)
        for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++) {
            D[d->y[k - 1]] += d->t[k] - d->t[k - 1];
            if (d->y[k] != d->y[k - 1])
                N[d->y[k - 1] * 3 + d->y[k]]++;
        }
    st_mjp *m;
    st_err e;
    ck_assert_int_eq(st_mjp_copy(&m, truth, &e), 0);
    st_mjp_fit *f;
    st_mjp_fit_opts o = {.want_se = 1};
    ck_assert_int_eq(st_mjp_fit_run(m, d, &o, &f, &e), 0);
    for (size_t i = 0; i < 9; i++)
        if (i / 3 != i % 3) {
            ck_assert_near(m->Q[i], N[i] / D[i / 3], 1e-14);
            ck_assert_rel(f->Q_se[i], sqrt(N[i]) / D[i / 3], 1e-12);
            ck_assert(fabs(m->Q[i] - Q3[i]) < 4 * f->Q_se[i]);
        }
    /* the same MLE by L-BFGS on the log rates */
    st_mjp *m2;
    ck_assert_int_eq(st_mjp_copy(&m2, truth, &e), 0);
    st_mjp_fit *f2;
    st_mjp_fit_opts o2 = {.method = ST_MJP_FIT_LBFGS, .want_se = 1};
    ck_assert_int_eq(st_mjp_fit_run(m2, d, &o2, &f2, &e), 0);
    for (size_t i = 0; i < 9; i++) {
        ck_assert_rel(m2->Q[i], m->Q[i], 1e-7);
        ck_assert_rel(f2->Q_se[i], f->Q_se[i], 1e-4);
    }
    ck_assert_rel(f2->loglik, f->loglik, 1e-12);
    st_mjp_fit_free(f);
    st_mjp_fit_free(f2);
    st_mjp_free(m);
    st_mjp_free(m2);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(truth);
}
END_TEST

START_TEST(test_hidden_fit)
{
    st_mjp *truth = hidden_model();
    st_table *t = simulate(truth, 250, 10, ST_MJP_SAMPLE_RANDOM, 0, 8, 1, 31);
    st_mjp_data *d = compile(t, truth, ST_MJP_HIDDEN);
    st_mjp *a, *b;
    st_err e;
    ck_assert_int_eq(st_mjp_copy(&a, truth, &e), 0);
    a->E_fixed = 0;
    /* start away from the truth */
    for (size_t i = 0; i < 9; i++)
        if (i / 3 != i % 3)
            a->Q[i] *= 1.5;
    for (size_t i = 0; i < 3; i++)
        a->Q[i * 4] = -(a->Q[i * 3] + a->Q[i * 3 + 1] + a->Q[i * 3 + 2] - a->Q[i * 4]);
    ck_assert_int_eq(st_mjp_copy(&b, a, &e), 0);
    st_mjp_fit *fa, *fb;
    st_mjp_fit_opts oa = {.method = ST_MJP_FIT_EM, .tol = 1e-12, .max_iter = 20000};
    st_mjp_fit_opts ob = {.method = ST_MJP_FIT_LBFGS, .want_se = 1};
    ck_assert_int_eq(st_mjp_fit_run(a, d, &oa, &fa, &e), 0);
    ck_assert_int_eq(st_mjp_fit_run(b, d, &ob, &fb, &e), 0);
    ck_assert_rel(fa->loglik, fb->loglik, 1e-8);
    for (size_t i = 0; i < 9; i++) {
        ck_assert_rel(a->Q[i], b->Q[i], 2e-3);
        ck_assert_near(a->E[i], b->E[i], 1e-4);
    }
    for (size_t i = 0; i < 9; i++)
        if (i / 3 != i % 3)
            ck_assert_msg(fabs(b->Q[i] - Q3[i]) < 4 * fb->Q_se[i], "q[%zu] = %g (se %g)", i, b->Q[i],
                          fb->Q_se[i]);
    /* structural zeros of the emission stay zero */
    ck_assert(b->E[2] == 0 && b->E[6] == 0);
    /* Viterbi: a decoded path agrees with the true states mostly */
    size_t agree = 0, total = 0;
    int st[64];
    for (size_t s = 0; s < d->nsubj; s++) {
        size_t n = d->start[s + 1] - d->start[s];
        ck_assert_int_eq(st_mjp_viterbi(b, d, s, st, &e), 0);
        for (size_t k = 0; k < n; k++) {
            /* true state is column 2 of the table row */
            agree += st[k] == (int)st_table_get(t, d->start[s] + k, 2);
            total++;
        }
    }
    ck_assert_msg((double)agree / (double)total > 0.85, "Viterbi agreement %g",
                  (double)agree / (double)total);
    st_mjp_fit_free(fa);
    st_mjp_fit_free(fb);
    st_mjp_free(a);
    st_mjp_free(b);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(truth);
}
END_TEST

/* A fixed rate stays at its value and is not a free parameter; EM and
 * L-BFGS agree on the others.  Hidden data with the initial distribution
 * estimated: it moves towards the truth and sums to 1. */
START_TEST(test_fixed_rate_and_initial)
{
    st_mjp *truth = model_from(3, Q3);
    st_table *t = simulate(truth, 150, 10, ST_MJP_SAMPLE_RANDOM, 0, 6, 0, 13);
    st_mjp_data *d = compile(t, truth, ST_MJP_PANEL);
    st_mjp *a, *b;
    st_err e;
    ck_assert_int_eq(st_mjp_copy(&a, truth, &e), 0);
    a->fixed[0 * 3 + 2] = 1; /* q02 held at 0.2 */
    ck_assert_int_eq(st_mjp_init_rates(a, d, &e), 0);
    ck_assert_near(a->Q[2], 0.2, 0);
    ck_assert_int_eq(st_mjp_copy(&b, a, &e), 0);
    st_mjp_fit *fa, *fb;
    st_mjp_fit_opts oa = {.method = ST_MJP_FIT_EM, .tol = 1e-13, .max_iter = 20000};
    st_mjp_fit_opts ob = {.method = ST_MJP_FIT_LBFGS, .want_se = 1};
    ck_assert_int_eq(st_mjp_fit_run(a, d, &oa, &fa, &e), 0);
    ck_assert_int_eq(st_mjp_fit_run(b, d, &ob, &fb, &e), 0);
    ck_assert_near(a->Q[2], 0.2, 0);
    ck_assert_near(b->Q[2], 0.2, 0);
    ck_assert_uint_eq(fb->nfree, 5);
    ck_assert_near(fb->Q_se[2], 0, 0);
    ck_assert_rel(fa->loglik, fb->loglik, 1e-9);
    for (size_t i = 0; i < 9; i++)
        ck_assert_rel(a->Q[i], b->Q[i], 2e-4);
    st_mjp_fit_free(fa);
    st_mjp_fit_free(fb);
    st_mjp_free(a);
    st_mjp_free(b);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(truth);

    truth = hidden_model(); /* init (0.5, 0.3, 0.2) */
    t = simulate(truth, 600, 6, ST_MJP_SAMPLE_RANDOM, 0, 4, 1, 17);
    d = compile(t, truth, ST_MJP_HIDDEN);
    ck_assert_int_eq(st_mjp_copy(&a, truth, &e), 0);
    a->init_estimate = 1;
    a->init[0] = a->init[1] = a->init[2] = 1.0 / 3;
    ck_assert_int_eq(st_mjp_copy(&b, a, &e), 0);
    ck_assert_int_eq(st_mjp_fit_run(a, d, &oa, &fa, &e), 0);
    ck_assert_int_eq(st_mjp_fit_run(b, d, &ob, &fb, &e), 0);
    ck_assert_rel(fa->loglik, fb->loglik, 1e-8);
    ck_assert_near(a->init[0] + a->init[1] + a->init[2], 1, 1e-12);
    for (int i = 0; i < 3; i++) {
        ck_assert_near(a->init[i], b->init[i], 1e-4);
        /* 600 subjects: binomial sd of a share <= 0.02; 4 sd plus misclassification slack */
        ck_assert_near(b->init[i], truth->init[i], 0.1);
    }
    ck_assert_uint_eq(fb->nfree, 6 + 2);
    st_mjp_fit_free(fa);
    st_mjp_fit_free(fb);
    st_mjp_free(a);
    st_mjp_free(b);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(truth);
}
END_TEST

/* Discrete flashing ratchet built with formulas: recovered from exact paths. */
static st_mjp *ratchet(double V, double r, double b)
{
    st_mjp *m;
    st_err e;
    ck_assert_int_eq(st_mjp_new(&m, 6, &e), 0);
    const char *names[] = {"V", "r", "b"};
    m->P = 3;
    m->pnames = calloc(3, sizeof *m->pnames);
    for (int p = 0; p < 3; p++)
        m->pnames[p] = strdup(names[p]);
    m->par = malloc(3 * sizeof *m->par);
    m->par[0] = V;
    m->par[1] = r;
    m->par[2] = b;
    m->ppos = calloc(3, 1);
    m->ppos[1] = m->ppos[2] = 1;
    m->expr = calloc(36, sizeof *m->expr);
    char buf[64];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            if (i == j)
                continue;
            snprintf(buf, sizeof buf, "exp(-V*(%d)/2)", j - i);
            ck_assert_int_eq(st_mjp_rate_compile(&m->expr[i * 6 + j], buf, names, 3, NULL, &e), 0);
            ck_assert_int_eq(st_mjp_rate_compile(&m->expr[(i + 3) * 6 + j + 3], "b", names, 3, NULL, &e), 0);
        }
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(st_mjp_rate_compile(&m->expr[i * 6 + i + 3], "r", names, 3, NULL, &e), 0);
        ck_assert_int_eq(st_mjp_rate_compile(&m->expr[(i + 3) * 6 + i], "r", names, 3, NULL, &e), 0);
    }
    for (size_t i = 0; i < 36; i++)
        m->allowed[i] = m->expr[i] != NULL;
    ck_assert_int_eq(st_mjp_update_q(m, &e), 0);
    return m;
}

START_TEST(test_ratchet_exact_and_panel)
{
    st_mjp *truth = ratchet(1, 1, 1);
    ck_assert_near(truth->Q[0 * 6 + 1], exp(-0.5), 1e-15);
    ck_assert_near(truth->Q[1 * 6 + 0], exp(0.5), 1e-15);
    ck_assert_near(truth->Q[0 * 6 + 2], exp(-1.0), 1e-15);
    st_table *t = simulate(truth, 100, 20, ST_MJP_SAMPLE_PATH, 0, 0, 0, 41);
    st_mjp_data *d = compile(t, truth, ST_MJP_EXACT);
    st_mjp *m = ratchet(0.3, 2, 0.5);
    st_mjp_fit *f;
    st_err e;
    st_mjp_fit_opts o = {.want_se = 1};
    ck_assert_int_eq(st_mjp_fit_run(m, d, &o, &f, &e), 0);
    double want[] = {1, 1, 1};
    for (int p = 0; p < 3; p++)
        ck_assert_msg(fabs(m->par[p] - want[p]) < 4 * f->par_se[p], "par %d = %g (se %g)", p,
                      m->par[p], f->par_se[p]);
    st_mjp_fit_free(f);
    st_mjp_data_free(d);
    table_free(t);
    /* panel snapshots every 0.5: EM and L-BFGS agree, truth recovered */
    t = simulate(truth, 300, 10, ST_MJP_SAMPLE_EVERY, 0.5, 0, 0, 43);
    d = compile(t, truth, ST_MJP_PANEL);
    st_mjp *a = ratchet(0.3, 2, 0.5), *b = ratchet(0.3, 2, 0.5);
    st_mjp_fit *fa, *fb;
    st_mjp_fit_opts oa = {.method = ST_MJP_FIT_EM, .tol = 1e-13, .max_iter = 5000};
    st_mjp_fit_opts ob = {.method = ST_MJP_FIT_LBFGS, .want_se = 1};
    ck_assert_int_eq(st_mjp_fit_run(a, d, &oa, &fa, &e), 0);
    ck_assert_int_eq(st_mjp_fit_run(b, d, &ob, &fb, &e), 0);
    ck_assert_rel(fa->loglik, fb->loglik, 1e-9);
    for (int p = 0; p < 3; p++) {
        ck_assert_rel(a->par[p], b->par[p], 1e-4);
        ck_assert_msg(fabs(b->par[p] - want[p]) < 4 * fb->par_se[p], "panel par %d = %g (se %g)", p,
                      b->par[p], fb->par_se[p]);
    }
    st_mjp_fit_free(fa);
    st_mjp_fit_free(fb);
    st_mjp_free(a);
    st_mjp_free(b);
    st_mjp_free(m);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(truth);
}
END_TEST

/* Same bits for 1 and 2 threads. */
START_TEST(test_thread_invariance)
{
#ifdef _OPENMP
    st_mjp *m = hidden_model();
    st_table *t = simulate(m, 200, 8, ST_MJP_SAMPLE_RANDOM, 0, 6, 1, 7);
    st_mjp_data *d = compile(t, m, ST_MJP_HIDDEN);
    double l1, l2, N1[9], N2[9], D1[3], D2[3];
    st_err e;
    mjp_omp_min_work = 0; /* every parallel region runs threaded */
    omp_set_num_threads(1);
    ck_assert_int_eq(st_mjp_expected_stats(m, d, &l1, N1, D1, NULL, &e), 0);
    omp_set_num_threads(2);
    ck_assert_int_eq(st_mjp_expected_stats(m, d, &l2, N2, D2, NULL, &e), 0);
    ck_assert(memcmp(&l1, &l2, sizeof l1) == 0);
    ck_assert(memcmp(N1, N2, sizeof N1) == 0);
    ck_assert(memcmp(D1, D2, sizeof D1) == 0);
    /* and the sampler */
    omp_set_num_threads(1);
    st_table *t1 = simulate(m, 300, 5, ST_MJP_SAMPLE_PATH, 0, 0, 1, 9);
    omp_set_num_threads(2);
    st_table *t2 = simulate(m, 300, 5, ST_MJP_SAMPLE_PATH, 0, 0, 1, 9);
    ck_assert_uint_eq(t1->nrows, t2->nrows);
    ck_assert(memcmp(t1->data, t2->data, t1->nrows * t1->ncols * sizeof(double)) == 0);
    table_free(t1);
    table_free(t2);
    /* a plain panel (aggregated counts, per-dt blocks) and a whole fit */
    st_mjp *p = model_from(3, Q3);
    st_table *tp = simulate(p, 300, 10, ST_MJP_SAMPLE_RANDOM, 0, 6, 0, 19);
    st_mjp_data *dp = compile(tp, p, ST_MJP_PANEL);
    st_mjp *f1, *f2;
    st_mjp_fit *r1, *r2;
    st_mjp_fit_opts fo = {.want_se = 1};
    ck_assert_int_eq(st_mjp_copy(&f1, p, &e), 0);
    ck_assert_int_eq(st_mjp_copy(&f2, p, &e), 0);
    omp_set_num_threads(1);
    ck_assert_int_eq(st_mjp_fit_run(f1, dp, &fo, &r1, &e), 0);
    omp_set_num_threads(2);
    ck_assert_int_eq(st_mjp_fit_run(f2, dp, &fo, &r2, &e), 0);
    ck_assert(memcmp(f1->Q, f2->Q, sizeof Q3) == 0);
    ck_assert(memcmp(r1->Q_se, r2->Q_se, sizeof Q3) == 0);
    ck_assert(r1->loglik == r2->loglik);
    st_mjp_fit_free(r1);
    st_mjp_fit_free(r2);
    st_mjp_free(f1);
    st_mjp_free(f2);
    st_mjp_data_free(dp);
    table_free(tp);
    st_mjp_free(p);
    mjp_omp_min_work = 1e6;
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m);
#endif
}
END_TEST

START_TEST(test_summaries)
{
    double a = 0.7, b = 0.2;
    double Q[] = {-a, a, b, -b};
    st_mjp *m = model_from(2, Q);
    double pi[2], so[2];
    st_err e;
    ck_assert_int_eq(st_mjp_stationary(m, pi, &e), 0);
    ck_assert_near(pi[0], b / (a + b), 1e-14);
    st_mjp_sojourn(m, so);
    ck_assert_near(so[0], 1 / a, 1e-14);
    ck_assert_int_ne(st_mjp_expected_visits(m, so, &e), 0);
    st_mjp_free(m);
    /* illness-death: 0 <-> 1, both -> 2; visits from state 0 */
    double Q2[] = {-0.5, 0.3, 0.2, 0.4, -0.6, 0.2, 0, 0, 0};
    m = model_from(3, Q2);
    m->init[0] = 1;
    m->init[1] = m->init[2] = 0;
    double v[3];
    ck_assert_int_eq(st_mjp_expected_visits(m, v, &e), 0);
    /* jump chain: 0 -> 1 w.p. .6, 1 -> 0 w.p. 2/3: v0 = 1/(1 - .6*2/3) = 1/.6 */
    ck_assert_near(v[0], 1 / 0.6, 1e-12);
    ck_assert_near(v[1], 0.6 / 0.6, 1e-12);
    ck_assert_near(v[2], 1, 1e-12);
    st_mjp_free(m);
}
END_TEST

START_TEST(test_data_errors)
{
    st_mjp *m = model_from(3, (double[]){-0.5, 0.5, 0, 0, -0.2, 0.2, 0, 0, 0});
    struct {
        double r[3][3];
        int mode;
        const char *msg;
    } cases[] = {
        {{{1, 0, 0}, {1, 2, 1}, {1, 1, 1}}, ST_MJP_PANEL, "before the previous time"},
        {{{1, 0, 0}, {1, 1, 5}, {1, 2, 1}}, ST_MJP_PANEL, "outside the model"},
        {{{1, 0, 0}, {1, 1, 1}, {1, 1, 2}}, ST_MJP_PANEL, "zero-length"},
        {{{1, 0, 1}, {1, 1, 0}, {1, 2, 0}}, ST_MJP_PANEL, "impossible under"},
        {{{1, 0, 0}, {1, 1, 2}, {1, 2, 2}}, ST_MJP_EXACT, "not among"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        st_table *t = table_new(3);
        for (int i = 0; i < 3; i++)
            table_add(t, cases[c].r[i]);
        st_mjp_data *d;
        st_err e;
        st_err_clear(&e);
        ck_assert_int_eq(st_mjp_data_from_table(&d, t, m, cases[c].mode, 0, NULL, 0, &e), ST_EDATA);
        ck_assert_msg(strstr(e.msg, cases[c].msg) && strstr(e.msg, "subject 1, row"), "case %zu: %s", c,
                      e.msg);
        table_free(t);
    }
    /* one observation: skipped and counted */
    st_table *t = table_new(3);
    table_add(t, (double[]){1, 0, 0});
    table_add(t, (double[]){2, 0, 0});
    table_add(t, (double[]){2, 1, 1});
    st_mjp_data *d;
    st_err e;
    ck_assert_int_eq(st_mjp_data_from_table(&d, t, m, ST_MJP_PANEL, 0, NULL, 0, &e), 0);
    ck_assert_uint_eq(d->nskipped, 1);
    ck_assert_uint_eq(d->nsubj, 1);
    ck_assert(d->first_skipped == 1);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mjp");
    struct {
        const char *name;
        const TTest *test;
    } tests[] = {
        {"pmatrix_two_state", test_pmatrix_two_state},
        {"pmatrix_birth_death", test_pmatrix_birth_death},
        {"vanloan_quadrature", test_vanloan_quadrature},
        {"vanloan_eigen", test_vanloan_eigen},
        {"distinct_intervals", test_distinct_intervals},
        {"gradient_panel", test_gradient_panel},
        {"gradient_obstypes", test_gradient_obstypes},
        {"gradient_hidden", test_gradient_hidden},
        {"em_equals_lbfgs_panel", test_em_equals_lbfgs_panel},
        {"exact_closed_form", test_exact_closed_form},
        {"hidden_fit", test_hidden_fit},
        {"fixed_rate_and_initial", test_fixed_rate_and_initial},
        {"ratchet_exact_and_panel", test_ratchet_exact_and_panel},
        {"thread_invariance", test_thread_invariance},
        {"summaries", test_summaries},
        {"data_errors", test_data_errors},
        {"merge_lengths_shares", test_merge_lengths_shares},
        {"block_groups", test_block_groups},
        {"blocks_additive", test_blocks_additive},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name); /* one case each: CK_RUN_CASE=name */
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, tests[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

ST_CHECK_MAIN(suite)

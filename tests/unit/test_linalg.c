/* linalg and expm: BLAS/LAPACK wrappers checked against brute-force loops and
 * residuals, and the matrix exponential against closed forms. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/linalg.h"
#include "core/rng.h"

/* ---------- helpers ---------- */

static void randmat(st_rng *r, double *A, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows * cols; i++)
        A[i] = 2.0 * st_rng_uniform(r) - 1.0;
}

/* Brute-force C = op(A) op(B), row-major. */
static void naive_mm(int ta, int tb, size_t m, size_t n, size_t k, const double *A, const double *B,
                     double *C)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t l = 0; l < k; l++) {
                double a = ta ? A[l * m + i] : A[i * k + l];
                double b = tb ? B[j * k + l] : B[l * n + j];
                s += a * b;
            }
            C[i * n + j] = s;
        }
}

static double max_abs_diff(const double *a, const double *b, size_t len)
{
    double d = 0.0;
    for (size_t i = 0; i < len; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

static double max_abs_diff_identity(const double *A, size_t n)
{
    double d = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            d = fmax(d, fabs(A[i * n + j] - (i == j)));
    return d;
}

/* Random SPD matrix B B^T + n I. */
static void rand_spd(st_rng *r, double *A, size_t n)
{
    double *B = malloc(n * n * sizeof *B);
    randmat(r, B, n, n);
    naive_mm(0, 1, n, n, n, B, B, A);
    for (size_t i = 0; i < n; i++)
        A[i * n + i] += (double)n;
    free(B);
}

/* ---------- BLAS ---------- */

/* BLAS path: sizes above the small-matrix thresholds. */
static void check_gemm_large(st_rng *r)
{
    const size_t m = 13, n = 17, k = 11;
    double *A = malloc(m * k * sizeof *A), *B = malloc(k * n * sizeof *B),
           *C = malloc(m * n * sizeof *C), *Cref = malloc(m * n * sizeof *C),
           *x = malloc(17 * sizeof *x), *y = malloc(17 * sizeof *y), *yref = malloc(17 * sizeof *y);
    randmat(r, A, m, k);
    randmat(r, B, k, n);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            naive_mm(ta, tb, m, n, k, A, B, Cref);
            for (size_t i = 0; i < m * n; i++)
                C[i] = NAN; /* beta = 0: C is not read */
            st_gemm(ta, tb, m, n, k, 1.0, A, B, 0.0, C);
            ck_assert_double_le(max_abs_diff(C, Cref, m * n), 1e-14);
        }
    /* gemv on B (11 x 17) both ways. */
    randmat(r, x, 1, 17);
    naive_mm(0, 0, k, 1, n, B, x, yref);
    for (size_t i = 0; i < k; i++)
        y[i] = NAN;
    st_gemv(0, k, n, 1.0, B, x, 0.0, y);
    ck_assert_double_le(max_abs_diff(y, yref, k), 1e-14);
    naive_mm(1, 0, n, 1, k, B, x, yref);
    st_gemv(1, k, n, 1.0, B, x, 0.0, y);
    ck_assert_double_le(max_abs_diff(y, yref, n), 1e-14);
    free(A);
    free(B);
    free(C);
    free(Cref);
    free(x);
    free(y);
    free(yref);
}

START_TEST(test_gemm_gemv)
{
    st_rng r;
    st_rng_seed(&r, 1);
    const size_t m = 3, n = 4, k = 5;
    double A[20], B[20], C[12], Cref[12], C0[12];
    randmat(&r, A, 4, 5);
    randmat(&r, B, 4, 5);
    randmat(&r, C0, 3, 4);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            naive_mm(ta, tb, m, n, k, A, B, Cref);
            for (size_t i = 0; i < m * n; i++)
                Cref[i] = 2.0 * Cref[i] + 0.5 * C0[i];
            memcpy(C, C0, sizeof C);
            st_gemm(ta, tb, m, n, k, 2.0, A, B, 0.5, C);
            ck_assert_double_le(max_abs_diff(C, Cref, m * n), 1e-14);
        }
    /* gemv: y = 2 A x - y0 with A 3 x 5 and its transpose. */
    double x[5], y[5], yref[5], y0[5];
    randmat(&r, x, 1, 5);
    randmat(&r, y0, 1, 5);
    naive_mm(0, 0, 3, 1, 5, A, x, yref);
    for (int i = 0; i < 3; i++)
        yref[i] = 2.0 * yref[i] - y0[i];
    memcpy(y, y0, sizeof y);
    st_gemv(0, 3, 5, 2.0, A, x, -1.0, y);
    ck_assert_double_le(max_abs_diff(y, yref, 3), 1e-14);
    naive_mm(1, 0, 5, 1, 3, A, x, yref);
    for (int i = 0; i < 5; i++)
        yref[i] = 2.0 * yref[i] - y0[i];
    memcpy(y, y0, sizeof y);
    st_gemv(1, 3, 5, 2.0, A, x, -1.0, y);
    ck_assert_double_le(max_abs_diff(y, yref, 5), 1e-14);
    check_gemm_large(&r);
}
END_TEST

/* ---------- Cholesky ---------- */

/* Orders on both sides of the small-matrix paths (n <= 8 plain loops,
 * larger n LAPACK). */
static void check_chol(st_rng *r, size_t N, size_t R)
{
    double *A = malloc(N * N * sizeof *A), *L = malloc(N * N * sizeof *L),
           *LLt = malloc(N * N * sizeof *LLt), *Ainv = malloc(N * N * sizeof *Ainv),
           *P = malloc(N * N * sizeof *P), *B = malloc(N * R * sizeof *B),
           *X = malloc(N * R * sizeof *X), *AX = malloc(N * R * sizeof *AX);
    st_err e;
    rand_spd(r, A, N);
    memcpy(L, A, N * N * sizeof *A);
    /* Garbage above the diagonal must be ignored. */
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++)
            L[i * N + j] = 1e300;
    double jit = -1;
    ck_assert_int_eq(st_chol(L, N, 0, &jit, &e), 0);
    ck_assert(jit == 0.0);
    int bad = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++)
            bad += L[i * N + j] != 0.0;
    ck_assert_int_eq(bad, 0);
    const double tol = 1e-14 * (double)N * (double)N;
    naive_mm(0, 1, N, N, N, L, L, LLt);
    ck_assert_double_le(max_abs_diff(LLt, A, N * N), tol);

    /* Solve with several right-hand sides: residual A X - B. */
    randmat(r, B, N, R);
    memcpy(X, B, N * R * sizeof *B);
    st_chol_solve(L, N, X, R);
    naive_mm(0, 0, N, R, N, A, X, AX);
    ck_assert_double_le(max_abs_diff(AX, B, N * R), tol);
    /* Forward solve only: L X = B. */
    memcpy(X, B, N * R * sizeof *B);
    st_chol_lower_solve(L, N, X, R);
    naive_mm(0, 0, N, R, N, L, X, AX);
    ck_assert_double_le(max_abs_diff(AX, B, N * R), tol);

    /* Inverse: A A^-1 = I, and symmetric. */
    st_chol_inverse(L, N, Ainv);
    naive_mm(0, 0, N, N, N, A, Ainv, P);
    ck_assert_double_le(max_abs_diff_identity(P, N), tol);
    ck_assert_double_eq(st_mat_asymmetry(Ainv, N), 0.0);

    /* log det from Cholesky equals log|det| from LU. */
    double ld;
    int sign;
    memcpy(P, A, N * N * sizeof *A);
    ck_assert_int_eq(st_logdet_general(P, N, &ld, &sign, &e), 0);
    ck_assert_int_eq(sign, 1);
    ck_assert_near(st_chol_logdet(L, N), ld, 1e-12 * fmax(1.0, fabs(ld)));
    free(A);
    free(L);
    free(LLt);
    free(Ainv);
    free(P);
    free(B);
    free(X);
    free(AX);
}

START_TEST(test_chol)
{
    st_rng r;
    st_rng_seed(&r, 2);
    const size_t sizes[] = {1, 2, 3, 7, 8, 9, 12, 40};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        check_chol(&r, sizes[t], 1);
        check_chol(&r, sizes[t], 3);
    }
    /* A diagonal matrix: logdet closed form. */
    st_err e;
    double D[9] = {2, 0, 0, 0, 3, 0, 0, 0, 0.25};
    ck_assert_int_eq(st_chol(D, 3, 0, NULL, &e), 0);
    ck_assert_near(st_chol_logdet(D, 3), log(1.5), 1e-15);
    ck_assert_near(D[4], sqrt(3.0), 1e-15);
}
END_TEST

START_TEST(test_chol_jitter)
{
    st_err e;
    /* Singular PSD [[1,1],[1,1]]: fails without jitter, succeeds with it.
     * LAPACK may accept a tiny or zero pivot at the first try, so require
     * only that the factor reproduces A + jitter I. */
    double S[4] = {1, 1, 1, 1}, A[4];
    memcpy(A, S, sizeof S);
    int rc = st_chol(A, 2, 0, NULL, &e);
    ck_assert_int_eq(rc, ST_ENUMERIC);
    ck_assert_int_eq(e.code, ST_ENUMERIC);
    memcpy(A, S, sizeof S);
    double jit = -1;
    ck_assert_int_eq(st_chol(A, 2, 10, &jit, &e), 0);
    /* jitter = 1e-10 * mean(diag) * 10^k for some k in 0..9. */
    ck_assert(jit > 0.0);
    double k = log10(jit / 1e-10);
    ck_assert_near(k, round(k), 1e-9);
    ck_assert(k >= 0 && k <= 9);
    double LLt[4];
    naive_mm(0, 1, 2, 2, 2, A, A, LLt);
    ck_assert_near(LLt[0], 1 + jit, 1e-14);
    ck_assert_near(LLt[1], 1, 1e-14);
    ck_assert_near(LLt[3], 1 + jit, 1e-14);

    /* Rank-one 4x4 PSD v v^T scaled by 1e6: the jitter scales with the
     * diagonal, so it stays relative. */
    double v[4] = {1e3, 2e3, -1e3, 5e2}, M[16];
    naive_mm(0, 1, 4, 4, 1, v, v, M);
    ck_assert_int_eq(st_chol(M, 4, 10, &jit, &e), 0);
    ck_assert(jit >= 1e-10 * 1.5625e6 * (1 - 1e-12));

    /* The same on the LAPACK path: rank-2 PSD of order 12, V V^T. */
    {
        enum { O = 12 };
        double V[O * 2], S12[O * O], L12[O * O], R12[O * O];
        st_rng r;
        st_rng_seed(&r, 9);
        randmat(&r, V, O, 2);
        naive_mm(0, 1, O, O, 2, V, V, S12);
        memcpy(L12, S12, sizeof S12);
        ck_assert_int_eq(st_chol(L12, O, 0, NULL, &e), ST_ENUMERIC);
        memcpy(L12, S12, sizeof S12);
        ck_assert_int_eq(st_chol(L12, O, 12, &jit, &e), 0);
        ck_assert(jit > 0.0);
        naive_mm(0, 1, O, O, O, L12, L12, R12);
        for (int i = 0; i < O; i++)
            S12[i * O + i] += jit;
        ck_assert_double_le(max_abs_diff(R12, S12, O * O), 1e-13);
    }

    /* Indefinite: eigenvalue -1 is beyond any jitter tried. */
    double I2[4] = {1, 2, 2, 1};
    ck_assert_int_eq(st_chol(I2, 2, 5, &jit, &e), ST_ENUMERIC);
    /* NaN is refused, not factored. */
    double Nn[4] = {NAN, 0, 0, 1};
    ck_assert_int_eq(st_chol(Nn, 2, 0, NULL, &e), ST_ENUMERIC);
}
END_TEST

/* ---------- LU ---------- */

/* LU solve and inverse residuals at order N (plain loops up to 8, LAPACK
 * above), 1 and 4 right-hand sides. */
static void check_lu(st_rng *r, size_t N)
{
    const size_t R = 4;
    double *A = malloc(N * N * sizeof *A), *M = malloc(N * N * sizeof *M),
           *P = malloc(N * N * sizeof *P), *B = malloc(N * R * sizeof *B),
           *X = malloc(N * R * sizeof *X), *AX = malloc(N * R * sizeof *AX);
    st_err e;
    randmat(r, A, N, N);
    if (N > 1)
        A[0] = 0.0; /* forces a row exchange at the first step */
    for (size_t nrhs = 1; nrhs <= R; nrhs += R - 1) {
        memcpy(M, A, N * N * sizeof *A);
        randmat(r, B, N, nrhs);
        memcpy(X, B, N * nrhs * sizeof *B);
        ck_assert_int_eq(st_lu_solve(M, N, X, nrhs, &e), 0);
        naive_mm(0, 0, N, nrhs, N, A, X, AX);
        ck_assert_double_le(max_abs_diff(AX, B, N * nrhs), 1e-12);
    }
    memcpy(M, A, N * N * sizeof *A);
    ck_assert_int_eq(st_inverse(M, N, &e), 0);
    naive_mm(0, 0, N, N, N, A, M, P);
    ck_assert_double_le(max_abs_diff_identity(P, N), 1e-12);
    naive_mm(0, 0, N, N, N, M, A, P);
    ck_assert_double_le(max_abs_diff_identity(P, N), 1e-12);
    free(A);
    free(M);
    free(P);
    free(B);
    free(X);
    free(AX);
}

START_TEST(test_lu_inverse_logdet)
{
    st_rng r;
    st_rng_seed(&r, 3);
    st_err e;
    const size_t sizes[] = {1, 2, 6, 8, 9, 20};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++)
        check_lu(&r, sizes[t]);

    /* log det: a permutation (det -1) and a known triangular product. */
    double perm[9] = {0, 1, 0, 1, 0, 0, 0, 0, 1}, ld;
    int sign;
    ck_assert_int_eq(st_logdet_general(perm, 3, &ld, &sign, &e), 0);
    ck_assert_int_eq(sign, -1);
    ck_assert_near(ld, 0.0, 1e-15);
    double T[9] = {2, 5, 7, 0, -3, 1, 0, 0, 0.5};
    ck_assert_int_eq(st_logdet_general(T, 3, &ld, &sign, &e), 0);
    ck_assert_int_eq(sign, -1);
    ck_assert_near(ld, log(3.0), 1e-15);
    /* 2x2 closed form ad - bc = 1*4 - 2*3 = -2. */
    double G[4] = {1, 2, 3, 4};
    ck_assert_int_eq(st_logdet_general(G, 2, &ld, &sign, &e), 0);
    ck_assert_int_eq(sign, -1);
    ck_assert_near(ld, log(2.0), 1e-15);

    /* Singular matrices. */
    double S[4] = {1, 2, 2, 4}, b[2] = {1, 1};
    ck_assert_int_eq(st_lu_solve(S, 2, b, 1, &e), ST_ENUMERIC);
    double S9[81] = {0}, b9[9] = {0}; /* order 9 (LAPACK path): a zero row */
    for (int i = 0; i < 8; i++)
        S9[i * 9 + i] = 1.0;
    ck_assert_int_eq(st_lu_solve(S9, 9, b9, 1, &e), ST_ENUMERIC);
    double S2[4] = {1, 2, 2, 4};
    ck_assert_int_eq(st_inverse(S2, 2, &e), ST_ENUMERIC);
    double S3[4] = {1, 2, 2, 4};
    ck_assert_int_eq(st_logdet_general(S3, 2, &ld, &sign, &e), 0);
    ck_assert_int_eq(sign, 0);
    ck_assert(ld == -INFINITY);
}
END_TEST

/* ---------- eigen ---------- */

START_TEST(test_eigen_sym)
{
    st_err e;
    double A2[4] = {2, 1, 1, 2}, w2[2], V2[4];
    ck_assert_int_eq(st_eigen_sym(A2, 2, w2, V2, &e), 0);
    ck_assert_near(w2[0], 1.0, 1e-15);
    ck_assert_near(w2[1], 3.0, 1e-15);
    /* Eigenvector of 3 is (1,1)/sqrt2 up to sign: in column 1. */
    ck_assert_near(fabs(V2[0 * 2 + 1]), sqrt(0.5), 1e-15);
    ck_assert_near(V2[0 * 2 + 1], V2[1 * 2 + 1], 1e-15);

    st_rng r;
    st_rng_seed(&r, 4);
    enum { N = 8 };
    double A[N * N], Acopy[N * N], w[N], V[N * N], AV[N * N], VtV[N * N];
    randmat(&r, A, N, N);
    st_mat_symmetrise(A, N);
    memcpy(Acopy, A, sizeof A);
    ck_assert_int_eq(st_eigen_sym(A, N, w, V, &e), 0);
    ck_assert_mem_eq(A, Acopy, sizeof A); /* not modified */
    for (int j = 1; j < N; j++)
        ck_assert_double_le(w[j - 1], w[j]);
    naive_mm(0, 0, N, N, N, A, V, AV);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            ck_assert_near(AV[i * N + j], V[i * N + j] * w[j], 1e-13);
    naive_mm(1, 0, N, N, N, V, V, VtV);
    ck_assert_double_le(max_abs_diff_identity(VtV, N), 1e-13);
    /* Values only. */
    double w0[N];
    ck_assert_int_eq(st_eigen_sym(A, N, w0, NULL, &e), 0);
    ck_assert_double_le(max_abs_diff(w0, w, N), 1e-13);
    A[5] = NAN;
    ck_assert_int_eq(st_eigen_sym(A, N, w0, NULL, &e), ST_EDATA);
}
END_TEST

START_TEST(test_eigen_general)
{
    st_err e;
    /* Rotation generator: eigenvalues +-i. */
    double Rm[4] = {0, -1, 1, 0}, wr[2], wi[2];
    ck_assert_int_eq(st_eigen_general(Rm, 2, wr, wi, NULL, &e), 0);
    ck_assert_near(wr[0], 0, 1e-15);
    ck_assert_near(fabs(wi[0]), 1, 1e-15);
    ck_assert_near(wi[0], -wi[1], 1e-15);

    /* Upper triangular, non-symmetric: eigenvalues are the diagonal. */
    double T[9] = {1, 4, -2, 0, -3, 7, 0, 0, 0.5}, tw[3], tiw[3];
    ck_assert_int_eq(st_eigen_general(T, 3, tw, tiw, NULL, &e), 0);
    double got[3] = {tw[0], tw[1], tw[2]};
    for (int i = 0; i < 3; i++)
        ck_assert_near(tiw[i], 0.0, 1e-15);
    /* sort */
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (got[j] < got[i]) {
                double t = got[i];
                got[i] = got[j];
                got[j] = t;
            }
    ck_assert_near(got[0], -3, 1e-14);
    ck_assert_near(got[1], 0.5, 1e-14);
    ck_assert_near(got[2], 1, 1e-14);

    /* Random 6x6: A v = lambda v for real and complex pairs (real form). */
    st_rng r;
    st_rng_seed(&r, 5);
    enum { N = 6 };
    double A[N * N], w_r[N], w_i[N], VR[N * N];
    randmat(&r, A, N, N);
    ck_assert_int_eq(st_eigen_general(A, N, w_r, w_i, VR, &e), 0);
    int ncomplex = 0;
    for (int j = 0; j < N; j++) {
        if (w_i[j] == 0.0) {
            for (int i = 0; i < N; i++) {
                double s = 0;
                for (int k = 0; k < N; k++)
                    s += A[i * N + k] * VR[k * N + j];
                ck_assert_near(s, w_r[j] * VR[i * N + j], 1e-12);
            }
        } else {
            /* v = x + i y with x = column j, y = column j+1 (wi[j] > 0). */
            ck_assert_double_gt(w_i[j], 0.0);
            ncomplex++;
            for (int i = 0; i < N; i++) {
                double sx = 0, sy = 0;
                for (int k = 0; k < N; k++) {
                    sx += A[i * N + k] * VR[k * N + j];
                    sy += A[i * N + k] * VR[k * N + j + 1];
                }
                double x = VR[i * N + j], y = VR[i * N + j + 1];
                ck_assert_near(sx, w_r[j] * x - w_i[j] * y, 1e-12);
                ck_assert_near(sy, w_r[j] * y + w_i[j] * x, 1e-12);
            }
            j++;
        }
    }
    ck_assert_int_gt(ncomplex, 0); /* this seed gives at least one pair */
}
END_TEST

/* ---------- expm ---------- */

static void check_rotation(double t, double tol)
{
    st_err e;
    double G[4] = {0, -t, t, 0}, E[4];
    ck_assert_int_eq(st_expm(G, 2, E, &e), 0);
    ck_assert_near(E[0], cos(t), tol);
    ck_assert_near(E[1], -sin(t), tol);
    ck_assert_near(E[2], sin(t), tol);
    ck_assert_near(E[3], cos(t), tol);
}

START_TEST(test_expm_rotation)
{
    /* 1-norms in every Pade range: 3, 5, 7, 9, 13 and 13 with squaring. */
    check_rotation(0.01, 3e-16);
    check_rotation(0.2, 3e-16);
    check_rotation(0.9, 1e-15);
    check_rotation(2.0, 1e-15);
    check_rotation(5.0, 1e-14);
    check_rotation(30.0, 1e-13);
    check_rotation(-1.3, 1e-15);
}
END_TEST

START_TEST(test_expm_two_state)
{
    /* Q = [[-a, a], [b, -b]]: P(t) = pi + exp(-(a+b)t) (I - pi) with
     * stationary rows pi = (b, a)/(a+b).  Each squaring can double the
     * rounding error, so the stiff case (1-norm 4e3, 10 squarings) gets
     * 2^10 eps. */
    static const double cases[][4] = {{0.3, 0.7, 1.0, 1e-15},
                                      {2.0, 0.5, 0.01, 1e-15},
                                      {5.0, 1.0, 3.0, 1e-14},
                                      {1e3, 2e3, 1.0, 2.5e-13}};
    st_err e;
    for (size_t c = 0; c < 4; c++) {
        double a = cases[c][0], b = cases[c][1], t = cases[c][2], s = a + b;
        double Q[4] = {-a * t, a * t, b * t, -b * t}, P[4];
        ck_assert_int_eq(st_expm(Q, 2, P, &e), 0);
        double d = exp(-s * t), tol = cases[c][3];
        ck_assert_near(P[0], (b + a * d) / s, tol);
        ck_assert_near(P[1], (a - a * d) / s, tol);
        ck_assert_near(P[2], (b - b * d) / s, tol);
        ck_assert_near(P[3], (a + b * d) / s, tol);
    }
}
END_TEST

START_TEST(test_expm_nilpotent)
{
    /* Strictly upper triangular N (N^4 = 0): exp(N) = I + N + N^2/2 + N^3/6. */
    double N4[16] = {0, 1, 2, 3, 0, 0, 4, 5, 0, 0, 0, 6, 0, 0, 0, 0};
    double N2[16], N3[16], want[16], E[16];
    naive_mm(0, 0, 4, 4, 4, N4, N4, N2);
    naive_mm(0, 0, 4, 4, 4, N2, N4, N3);
    st_mat_identity(want, 4);
    for (int i = 0; i < 16; i++)
        want[i] += N4[i] + N2[i] / 2 + N3[i] / 6;
    st_err e;
    ck_assert_int_eq(st_expm(N4, 4, E, &e), 0);
    for (int i = 0; i < 16; i++)
        ck_assert_near(E[i], want[i], 1e-13 * fmax(1.0, fabs(want[i])));
    /* [[0,x],[0,0]]: exp = [[1,x],[0,1]]; 1-norm 1e3 takes 8 squarings,
     * each of which may double the relative error: 2^8 eps = 5.7e-14. */
    double J[4] = {0, 1e3, 0, 0}, EJ[4];
    ck_assert_int_eq(st_expm(J, 2, EJ, &e), 0);
    ck_assert_near(EJ[0], 1, 1e-15);
    ck_assert_rel(EJ[1], 1e3, 1.2e-13);
    ck_assert_near(EJ[2], 0, 1e-15);
    ck_assert_near(EJ[3], 1, 1e-15);
}
END_TEST

START_TEST(test_expm_illness_death)
{
    /* Progressive 3-state generator (upper triangular): healthy -> ill at
     * rate a, healthy -> dead at b, ill -> dead at c.  Closed forms:
     * P11 = e^{-(a+b)t}, P22 = e^{-ct}, P12 = a (P11 - P22) / (c - a - b).
     * The staying probabilities keep full relative accuracy even when
     * they are tiny (exact diagonal during squaring). */
    static const double cases[][4] = {{0.2, 0.1, 0.5, 1.0}, {30.0, 20.0, 2.0, 10.0}};
    st_err e;
    for (int k = 0; k < 2; k++) {
        double a = cases[k][0], b = cases[k][1], c = cases[k][2], t = cases[k][3];
        double Q[9] = {-(a + b) * t, a * t, b * t, 0, -c * t, c * t, 0, 0, 0}, P[9];
        ck_assert_int_eq(st_expm(Q, 3, P, &e), 0);
        double p11 = exp(-(a + b) * t), p22 = exp(-c * t);
        double p12 = a * (p11 - p22) / (c - a - b);
        ck_assert_rel(P[0], p11, 1e-15);
        ck_assert_rel(P[4], p22, 1e-15);
        ck_assert_rel(P[1], p12, 1e-13);
        ck_assert_near(P[2], 1 - p11 - p12, 1e-14);
        ck_assert_near(P[5], 1 - p22, 1e-14);
        ck_assert(P[3] == 0.0 && P[6] == 0.0 && P[7] == 0.0);
        ck_assert_near(P[8], 1.0, 1e-15);
    }
}
END_TEST

START_TEST(test_expm_mpmath_reference)
{
    /* A stiff 4-state generator (rates 1e-3 .. 400) at t = 0.1 and 7;
     * references from mpmath.expm at 60 digits (Taylor and Pade agree to
     * 1e-61), rounded to double.  Componentwise relative error checked,
     * so the small entries (2.7e-6) count as much as the large ones.
     * Observed: 9e-14 at t = 7 (1-norm 3.0e3, 10 squarings ~ 2^10 eps). */
    static const double Q[16] = {-0.75, 0.5, 0.2, 0.05, 30, -32.5, 2, 0.5,
                                 0.01, 400, -400.51, 0.5, 0, 0, 1e-3, -1e-3};
    static const double t[2] = {0.1, 7.0};
    static const double ref[2][16] = {
        {0.972409105193195, 0.02129846527924963, 0.0005916560984011032, 0.005700773429154302,
         0.9141148799175195, 0.06560473537369549, 0.0008007000873972042, 0.019479684621387865,
         0.9094961639858316, 0.06918377962007893, 0.0008176306786320465, 0.020502425715457465,
         6.404365093763307e-05, 3.1914599989154625e-05, 2.6858863479969964e-06,
         0.9999013558627252},
        {0.6414892584910584, 0.014757029561504367, 0.00039494333108211976, 0.3433587686163552,
         0.6322576471607191, 0.014545123046008884, 0.00038929794760215395, 0.35280793184567,
         0.6315697183254705, 0.014529332021325326, 0.00038887726025484966, 0.35351207239294946,
         0.00544138065976337, 0.00015690346687896427, 5.982611930597751e-06, 0.994395733261427}};
    st_err e;
    for (int k = 0; k < 2; k++) {
        double A[16], P[16];
        for (int i = 0; i < 16; i++)
            A[i] = Q[i] * t[k];
        ck_assert_int_eq(st_expm(A, 4, P, &e), 0);
        for (int i = 0; i < 16; i++)
            ck_assert_rel(P[i], ref[k][i], 1e-12);
    }
}
END_TEST

START_TEST(test_expm_diagonalizable)
{
    /* A = V D V^-1 with a well-conditioned V: exp(A) = V exp(D) V^-1, at
     * orders 5 (stack scratch, loop LU) and 12 (heap, LAPACK). */
    st_rng r;
    st_rng_seed(&r, 6);
    st_err e;
    for (size_t N = 5; N <= 12; N += 7) {
        double *V = malloc(N * N * sizeof *V), *Vi = malloc(N * N * sizeof *V),
               *VD = malloc(N * N * sizeof *V), *A = malloc(N * N * sizeof *V),
               *W = malloc(N * N * sizeof *V), *E = malloc(N * N * sizeof *V),
               *d = malloc(N * sizeof *d);
        for (size_t j = 0; j < N; j++)
            d[j] = -2.0 + 3.5 * (double)j / (double)(N - 1); /* -2 .. 1.5 */
        for (double scale = 0.05; scale < 40; scale *= 4) {
            randmat(&r, V, N, N);
            for (size_t i = 0; i < N; i++)
                V[i * N + i] += 3.0; /* diagonally dominant: cond(V) small */
            memcpy(Vi, V, N * N * sizeof *V);
            ck_assert_int_eq(st_inverse(Vi, N, &e), 0);
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < N; j++)
                    VD[i * N + j] = V[i * N + j] * d[j] * scale;
            naive_mm(0, 0, N, N, N, VD, Vi, A);
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < N; j++)
                    VD[i * N + j] = V[i * N + j] * exp(d[j] * scale);
            naive_mm(0, 0, N, N, N, VD, Vi, W);
            ck_assert_int_eq(st_expm(A, N, E, &e), 0);
            double big = 0;
            for (size_t i = 0; i < N * N; i++)
                big = fmax(big, fabs(W[i]));
            ck_assert_msg(max_abs_diff(E, W, N * N) <= 1e-12 * big,
                          "n %zu scale %g: diff %g of %g", N, scale, max_abs_diff(E, W, N * N),
                          big);
        }
        free(V);
        free(Vi);
        free(VD);
        free(A);
        free(W);
        free(E);
        free(d);
    }
}
END_TEST

START_TEST(test_expm_large_norm)
{
    /* 3-state generator with rates up to 5e4 at t = 1 (1-norm 1e5): exp(Q)
     * has converged to rows equal to the stationary distribution. */
    double Q[9] = {-3e4, 2e4, 1e4, 5e4, -5e4, 0, 1e4, 4e4, -5e4}, P[9];
    st_err e;
    ck_assert_int_eq(st_expm(Q, 3, P, &e), 0);
    /* pi Q = 0 by hand: column 3 gives pi1 = 5 pi3, column 2 then
     * pi2 = 2.8 pi3, so pi = (25, 14, 5) / 44. */
    const double pi[3] = {25.0 / 44, 14.0 / 44, 5.0 / 44};
    for (int i = 0; i < 3; i++) {
        double rs = 0;
        for (int j = 0; j < 3; j++) {
            ck_assert_near(P[i * 3 + j], pi[j], 1e-10);
            rs += P[i * 3 + j];
        }
        ck_assert_near(rs, 1.0, 1e-10);
    }
    /* exp(A) exp(-A) = I for a random A of 1-norm ~ 20. */
    st_rng r;
    st_rng_seed(&r, 7);
    double A[16], mA[16], E1[16], E2[16], I[16];
    randmat(&r, A, 4, 4);
    for (int i = 0; i < 16; i++) {
        A[i] *= 6.0;
        mA[i] = -A[i];
    }
    ck_assert_int_eq(st_expm(A, 4, E1, &e), 0);
    ck_assert_int_eq(st_expm(mA, 4, E2, &e), 0);
    naive_mm(0, 0, 4, 4, 4, E1, E2, I);
    ck_assert_double_le(max_abs_diff_identity(I, 4), 1e-9);
    /* Bad input and overflow. */
    A[3] = NAN;
    ck_assert_int_eq(st_expm(A, 4, E1, &e), ST_EDATA);
    double H[4] = {800, 0, 0, 1};
    ck_assert_int_eq(st_expm(H, 2, E1, &e), ST_ENUMERIC);
    double one = 2.0, eo;
    ck_assert_int_eq(st_expm(&one, 1, &eo, &e), 0);
    ck_assert_near(eo, exp(2.0), 1e-15);
}
END_TEST

/* ---------- Lyapunov ---------- */

static void check_dlyap(const double *T, const double *Q, size_t n, double tol)
{
    st_err e;
    double *P = malloc(n * n * sizeof *P), *W = malloc(n * n * sizeof *W),
           *R = malloc(n * n * sizeof *R);
    ck_assert_int_eq(st_dlyap(T, Q, n, P, &e), 0);
    naive_mm(0, 0, n, n, n, T, P, W);
    naive_mm(0, 1, n, n, n, W, T, R);
    double scale = 0;
    for (size_t i = 0; i < n * n; i++) {
        R[i] = P[i] - R[i] - Q[i];
        scale = fmax(scale, fabs(P[i]));
    }
    double res = 0;
    for (size_t i = 0; i < n * n; i++)
        res = fmax(res, fabs(R[i]));
    ck_assert_msg(res <= tol * scale, "dlyap n=%zu residual %g (|P| %g)", n, res, scale);
    ck_assert_double_eq(st_mat_asymmetry(P, n), 0.0);
    free(P);
    free(W);
    free(R);
}

START_TEST(test_dlyap)
{
    st_err e;
    /* AR(1): P = phi^2 P + 1 -> 1 / (1 - phi^2). */
    double phi = 0.9, q = 1.0, p;
    ck_assert_int_eq(st_dlyap(&phi, &q, 1, &p, &e), 0);
    ck_assert_near(p, 1.0 / (1.0 - 0.81), 1e-12);
    /* Random stable T (scaled to spectral radius 0.95) for both methods. */
    st_rng r;
    st_rng_seed(&r, 8);
    for (size_t n = 3; n <= 20; n += 17) {
        double *T = malloc(n * n * sizeof *T), *B = malloc(n * n * sizeof *B),
               *Q = malloc(n * n * sizeof *Q), *wr = malloc(n * sizeof *wr),
               *wi = malloc(n * sizeof *wi);
        randmat(&r, T, n, n);
        ck_assert_int_eq(st_eigen_general(T, n, wr, wi, NULL, &e), 0);
        double rho = 0;
        for (size_t i = 0; i < n; i++)
            rho = fmax(rho, hypot(wr[i], wi[i]));
        for (size_t i = 0; i < n * n; i++)
            T[i] *= 0.95 / rho;
        randmat(&r, B, n, n);
        naive_mm(0, 1, n, n, n, B, B, Q);
        check_dlyap(T, Q, n, 1e-12);
        /* Unstable: spectral radius 1.05. */
        for (size_t i = 0; i < n * n; i++)
            T[i] *= 1.05 / 0.95;
        double *P = malloc(n * n * sizeof *P);
        ck_assert_int_eq(st_dlyap(T, Q, n, P, &e), ST_ENUMERIC);
        free(P);
        free(T);
        free(B);
        free(Q);
        free(wr);
        free(wi);
    }
    /* AR(2) companion form: gamma0 = (1-phi2) / ((1+phi2)((1-phi2)^2 - phi1^2)). */
    double p1 = 0.5, p2 = -0.3;
    double T2[4] = {p1, p2, 1, 0}, Q2[4] = {1, 0, 0, 0}, P2[4];
    ck_assert_int_eq(st_dlyap(T2, Q2, 2, P2, &e), 0);
    double g0 = (1 - p2) / ((1 + p2) * ((1 - p2) * (1 - p2) - p1 * p1));
    ck_assert_near(P2[0], g0, 1e-12);
    ck_assert_near(P2[1], g0 * p1 / (1 - p2), 1e-12); /* gamma1 = rho1 gamma0 */
}
END_TEST

START_TEST(test_helpers)
{
    double A[6] = {1, 2, 3, 4, 5, 6}, At[6], I[9];
    st_mat_transpose(A, 2, 3, At);
    const double want[6] = {1, 4, 2, 5, 3, 6};
    ck_assert_mem_eq(At, want, sizeof want);
    st_mat_identity(I, 3);
    ck_assert_double_eq(max_abs_diff_identity(I, 3), 0.0);
    double S[4] = {1, 2, 4, 1};
    ck_assert_near(st_mat_asymmetry(S, 2), 0.5, 1e-15);
    st_mat_symmetrise(S, 2);
    ck_assert_double_eq(S[1], 3.0);
    ck_assert_double_eq(S[2], 3.0);
    ck_assert_double_eq(st_mat_asymmetry(S, 2), 0.0);
}
END_TEST

static Suite *linalg_suite(void)
{
    Suite *s = suite_create("linalg");
    TCase *tc = tcase_create("linalg");
    tcase_set_timeout(tc, 60); /* loaded CI machines, sanitizers */
    tcase_add_test(tc, test_gemm_gemv);
    tcase_add_test(tc, test_chol);
    tcase_add_test(tc, test_chol_jitter);
    tcase_add_test(tc, test_lu_inverse_logdet);
    tcase_add_test(tc, test_eigen_sym);
    tcase_add_test(tc, test_eigen_general);
    tcase_add_test(tc, test_dlyap);
    tcase_add_test(tc, test_helpers);
    suite_add_tcase(s, tc);
    TCase *te = tcase_create("expm");
    tcase_set_timeout(te, 60); /* loaded CI machines, sanitizers */
    tcase_add_test(te, test_expm_rotation);
    tcase_add_test(te, test_expm_two_state);
    tcase_add_test(te, test_expm_nilpotent);
    tcase_add_test(te, test_expm_illness_death);
    tcase_add_test(te, test_expm_mpmath_reference);
    tcase_add_test(te, test_expm_diagonalizable);
    tcase_add_test(te, test_expm_large_norm);
    suite_add_tcase(s, te);
    return s;
}

ST_CHECK_MAIN(linalg_suite)

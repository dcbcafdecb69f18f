/* Row-major wrappers over the Fortran BLAS/LAPACK symbols.
 *
 * A row-major buffer read as column-major is the transpose.  Symmetric
 * matrices are their own transpose, so the Cholesky and symmetric routines
 * pass the buffer straight through ('U' in column-major is the row-major
 * lower triangle); general routines either transpose explicitly or solve
 * the transposed problem. */
#include "core/linalg.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/lapack.h"

/* Integer scratch (pivots): on the stack for small n, else on the heap. */
#define SMALL_N 256
/* Sizes below which plain loops beat the BLAS/LAPACK call overhead
 * (measured: a 3x3 dpotrf costs ~200 ns, the loop ~20 ns). */
#define SMALL_GEMM 512
#define SMALL_GEMV 256
#define SMALL_CHOL 8 /* also the LU solve */

static la_int *ipiv_get(la_int *stackbuf, size_t n)
{
    return n <= SMALL_N ? stackbuf : malloc(n * sizeof(la_int));
}

static void ipiv_put(la_int *p, la_int *stackbuf)
{
    if (p != stackbuf)
        free(p);
}

static int too_big(size_t n, st_err *e)
{
    if (n > 46340) /* n*n must fit a LAPACK int */
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "matrix of order %zu is too large", n);
    return 0;
}

/* ---- BLAS ---- */

void st_gemm(int ta, int tb, size_t m, size_t n, size_t k, double alpha, const double *A,
             const double *B, double beta, double *C)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        for (size_t i = 0; i < m * n; i++)
            C[i] = beta == 0.0 ? 0.0 : beta * C[i];
        return;
    }
    if (m * n * k <= SMALL_GEMM) {
        /* Below ~8x8x8 the BLAS call costs more than the arithmetic.
         * op(A)(i,l) = A[i*ai + l*al], op(B)(l,j) = B[l*bl + j*bj]. */
        const size_t ai = ta ? 1 : k, al = ta ? m : 1;
        const size_t bl = tb ? 1 : n, bj = tb ? k : 1;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                const double *a = A + i * ai, *b = B + j * bj;
                double acc = 0.0;
                for (size_t l = 0; l < k; l++)
                    acc += a[l * al] * b[l * bl];
                C[i * n + j] = alpha * acc + (beta == 0.0 ? 0.0 : beta * C[i * n + j]);
            }
        return;
    }
    /* Row-major C (m x n) is column-major C^T = op(B)^T op(A)^T. */
    const la_int M = (la_int)n, N = (la_int)m, K = (la_int)k;
    const la_int lda = (la_int)(ta ? m : k), ldb = (la_int)(tb ? k : n), ldc = (la_int)n;
    dgemm_(tb ? "T" : "N", ta ? "T" : "N", &M, &N, &K, &alpha, B, &ldb, A, &lda, &beta, C, &ldc,
           1, 1);
}

void st_gemv(int ta, size_t m, size_t n, double alpha, const double *A, const double *x,
             double beta, double *y)
{
    const size_t ylen = ta ? n : m;
    if (ylen == 0)
        return;
    if (m == 0 || n == 0) {
        for (size_t i = 0; i < ylen; i++)
            y[i] = beta == 0.0 ? 0.0 : beta * y[i];
        return;
    }
    if (m * n <= SMALL_GEMV) {
        for (size_t i = 0; i < ylen; i++) {
            double acc = 0.0;
            if (ta)
                for (size_t l = 0; l < m; l++)
                    acc += A[l * n + i] * x[l];
            else
                for (size_t l = 0; l < n; l++)
                    acc += A[i * n + l] * x[l];
            y[i] = alpha * acc + (beta == 0.0 ? 0.0 : beta * y[i]);
        }
        return;
    }
    /* Row-major A (m x n) is column-major A^T (n x m, ld n). */
    const la_int M = (la_int)n, N = (la_int)m, one = 1;
    dgemv_(ta ? "N" : "T", &M, &N, &alpha, A, &M, x, &one, &beta, y, &one, 1);
}

/* ---- Cholesky ---- */

/* Cholesky-Banachiewicz on the row-major lower triangle for small n:
 * same contract as dpotrf (upper triangle untouched, returns the order of
 * the first non-positive leading minor). */
static la_int chol_small(double *A, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double d = A[j * n + j];
        for (size_t k = 0; k < j; k++)
            d -= A[j * n + k] * A[j * n + k];
        if (!(d > 0.0) || !isfinite(d))
            return (la_int)j + 1;
        const double ljj = sqrt(d);
        A[j * n + j] = ljj;
        for (size_t i = j + 1; i < n; i++) {
            double v = A[i * n + j];
            for (size_t k = 0; k < j; k++)
                v -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = v / ljj;
        }
    }
    return 0;
}

/* Factor the row-major lower triangle in place; 0 on success. */
static la_int potrf_lower(double *A, size_t n)
{
    if (n <= SMALL_CHOL)
        return chol_small(A, n);
    const la_int N = (la_int)n;
    la_int info = 0;
    dpotrf_("U", &N, A, &N, &info, 1);
    if (info == 0)
        for (size_t i = 0; i < n; i++)
            if (!(A[i * n + i] > 0.0) || !isfinite(A[i * n + i]))
                return (la_int)i + 1; /* NaN input passes dpotrf */
    return info;
}

int st_chol(double *A, size_t n, int max_tries, double *jitter, st_err *e)
{
    if (jitter)
        *jitter = 0.0;
    if (n == 0)
        return 0;
    if (too_big(n, e))
        return ST_EUSAGE;
    double dstack[SMALL_N], *diag = NULL;
    double scale = 0.0;
    if (max_tries > 0) {
        /* Keep what dpotrf overwrites: the strict upper triangle (row-major)
         * is left alone, so mirror the lower one there; save the diagonal. */
        diag = n <= SMALL_N ? dstack : malloc(n * sizeof *diag);
        if (!diag)
            return st_err_nomem(e, "Cholesky jitter");
        for (size_t i = 0; i < n; i++) {
            diag[i] = A[i * n + i];
            scale += fabs(diag[i]);
            for (size_t j = 0; j < i; j++)
                A[j * n + i] = A[i * n + j];
        }
        scale /= (double)n;
        if (!(scale > 0.0) || !isfinite(scale))
            scale = 1.0;
    }
    la_int info = potrf_lower(A, n);
    double added = 0.0;
    for (int k = 0; info != 0 && k < max_tries; k++) {
        added = 1e-10 * scale * pow(10.0, k);
        for (size_t i = 0; i < n; i++) {
            A[i * n + i] = diag[i] + added;
            for (size_t j = 0; j < i; j++)
                A[i * n + j] = A[j * n + i];
        }
        info = potrf_lower(A, n);
    }
    if (diag && diag != dstack)
        free(diag);
    if (info != 0)
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                          "matrix is not positive definite (leading minor %d)%s", (int)info,
                          max_tries > 0 ? " even with jitter" : "");
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            A[i * n + j] = 0.0;
    if (jitter)
        *jitter = added;
    return 0;
}

/* L y = b in place on column j of the row-major n x nrhs B. */
static void forward_small(const double *L, size_t n, double *B, size_t nrhs, size_t j)
{
    for (size_t i = 0; i < n; i++) {
        double v = B[i * nrhs + j];
        for (size_t k = 0; k < i; k++)
            v -= L[i * n + k] * B[k * nrhs + j];
        B[i * nrhs + j] = v / L[i * n + i];
    }
}

/* L^T x = y in place on column j. */
static void backward_small(const double *L, size_t n, double *B, size_t nrhs, size_t j)
{
    for (size_t i = n; i-- > 0;) {
        double v = B[i * nrhs + j];
        for (size_t k = i + 1; k < n; k++)
            v -= L[k * n + i] * B[k * nrhs + j];
        B[i * nrhs + j] = v / L[i * n + i];
    }
}

void st_chol_solve(const double *L, size_t n, double *B, size_t nrhs)
{
    if (n == 0 || nrhs == 0)
        return;
    if (n <= SMALL_CHOL) {
        for (size_t j = 0; j < nrhs; j++) {
            forward_small(L, n, B, nrhs, j);
            backward_small(L, n, B, nrhs, j);
        }
        return;
    }
    /* Column-major, L is U with A = U^T U, and B is B^T (nrhs x n):
     * X^T = B^T A^-1 = B^T U^-1 U^-T. */
    const la_int N = (la_int)n, R = (la_int)nrhs;
    const double one = 1.0;
    dtrsm_("R", "U", "N", "N", &R, &N, &one, L, &N, B, &R, 1, 1, 1, 1);
    dtrsm_("R", "U", "T", "N", &R, &N, &one, L, &N, B, &R, 1, 1, 1, 1);
}

void st_chol_lower_solve(const double *L, size_t n, double *B, size_t nrhs)
{
    if (n == 0 || nrhs == 0)
        return;
    if (n <= SMALL_CHOL) {
        for (size_t j = 0; j < nrhs; j++)
            forward_small(L, n, B, nrhs, j);
        return;
    }
    /* X = L^-1 B, i.e. X^T = B^T L^-T = B^T U^-1 in column-major terms. */
    const la_int N = (la_int)n, R = (la_int)nrhs;
    const double one = 1.0;
    dtrsm_("R", "U", "N", "N", &R, &N, &one, L, &N, B, &R, 1, 1, 1, 1);
}

double st_chol_logdet(const double *L, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += log(L[i * n + i]);
    return 2.0 * s;
}

void st_chol_inverse(const double *L, size_t n, double *Ainv)
{
    if (n == 0)
        return;
    memcpy(Ainv, L, n * n * sizeof *Ainv);
    const la_int N = (la_int)n;
    la_int info = 0;
    dpotri_("U", &N, Ainv, &N, &info, 1); /* L has a positive diagonal: info 0 */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            Ainv[j * n + i] = Ainv[i * n + j];
}

/* ---- LU ---- */

/* Gaussian elimination with partial pivoting for small n, row-major, on
 * A and B together; returns k+1 for a zero (or NaN) pivot at step k. */
static int lu_solve_small(double *A, size_t n, double *B, size_t nrhs)
{
    for (size_t k = 0; k < n; k++) {
        size_t p = k;
        for (size_t i = k + 1; i < n; i++)
            if (fabs(A[i * n + k]) > fabs(A[p * n + k]))
                p = i;
        if (!(fabs(A[p * n + k]) > 0.0))
            return (int)k + 1;
        if (p != k) {
            for (size_t j = 0; j < n; j++) {
                double t = A[k * n + j];
                A[k * n + j] = A[p * n + j];
                A[p * n + j] = t;
            }
            for (size_t j = 0; j < nrhs; j++) {
                double t = B[k * nrhs + j];
                B[k * nrhs + j] = B[p * nrhs + j];
                B[p * nrhs + j] = t;
            }
        }
        const double piv = A[k * n + k];
        for (size_t i = k + 1; i < n; i++) {
            const double l = A[i * n + k] / piv;
            A[i * n + k] = l;
            for (size_t j = k + 1; j < n; j++)
                A[i * n + j] -= l * A[k * n + j];
            for (size_t j = 0; j < nrhs; j++)
                B[i * nrhs + j] -= l * B[k * nrhs + j];
        }
    }
    for (size_t i = n; i-- > 0;)
        for (size_t j = 0; j < nrhs; j++) {
            double v = B[i * nrhs + j];
            for (size_t l = i + 1; l < n; l++)
                v -= A[i * n + l] * B[l * nrhs + j];
            B[i * nrhs + j] = v / A[i * n + i];
        }
    return 0;
}

int st_lu_solve(double *A, size_t n, double *B, size_t nrhs, st_err *e)
{
    if (n == 0)
        return 0;
    if (too_big(n, e))
        return ST_EUSAGE;
    if (n <= SMALL_CHOL) {
        int bad = lu_solve_small(A, n, B, nrhs);
        return bad ? st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "matrix is singular (zero pivot %d)",
                                bad)
                   : 0;
    }
    la_int pstack[SMALL_N], *ipiv = ipiv_get(pstack, n);
    if (!ipiv)
        return st_err_nomem(e, "LU pivots");
    /* Column-major, the buffer is M = A^T = P L U and B is B^T (nrhs x n).
     * A X = B  <=>  X^T M = B^T  <=>  X^T = B^T U^-1 L^-1 P^T. */
    const la_int N = (la_int)n, R = (la_int)nrhs;
    la_int info = 0;
    dgetrf_(&N, &N, A, &N, ipiv, &info);
    int rc = 0;
    if (info > 0) {
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "matrix is singular (zero pivot %d)",
                        (int)info);
        goto out;
    }
    if (nrhs > 0) {
        const double one = 1.0;
        dtrsm_("R", "U", "N", "N", &R, &N, &one, A, &N, B, &R, 1, 1, 1, 1);
        dtrsm_("R", "L", "N", "U", &R, &N, &one, A, &N, B, &R, 1, 1, 1, 1);
        /* Right-multiplying by P^T = P_n ... P_1 swaps columns of X^T (rows
         * of the row-major X) in reverse pivot order. */
        for (size_t k = n; k-- > 0;) {
            size_t p = (size_t)ipiv[k] - 1;
            if (p != k)
                for (size_t j = 0; j < nrhs; j++) {
                    double t = B[k * nrhs + j];
                    B[k * nrhs + j] = B[p * nrhs + j];
                    B[p * nrhs + j] = t;
                }
        }
    }
out:
    ipiv_put(ipiv, pstack);
    return rc;
}

int st_inverse(double *A, size_t n, st_err *e)
{
    if (n == 0)
        return 0;
    if (too_big(n, e))
        return ST_EUSAGE;
    /* (A^T)^-1 = (A^-1)^T: inverting the column-major view inverts A. */
    la_int pstack[SMALL_N], *ipiv = ipiv_get(pstack, n);
    const la_int N = (la_int)n, lwork = (la_int)(64 * n);
    double *work = malloc((size_t)lwork * sizeof *work);
    int rc = 0;
    if (!ipiv || !work) {
        rc = st_err_nomem(e, "matrix inverse");
        goto out;
    }
    la_int info = 0;
    dgetrf_(&N, &N, A, &N, ipiv, &info);
    if (info > 0) {
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "matrix is singular (zero pivot %d)",
                        (int)info);
        goto out;
    }
    dgetri_(&N, A, &N, ipiv, work, &lwork, &info);
    if (info != 0)
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "matrix inverse failed (info %d)", (int)info);
out:
    free(work);
    if (ipiv)
        ipiv_put(ipiv, pstack);
    return rc;
}

int st_logdet_general(double *A, size_t n, double *logabsdet, int *sign, st_err *e)
{
    *logabsdet = 0.0;
    *sign = 1;
    if (n == 0)
        return 0;
    if (too_big(n, e))
        return ST_EUSAGE;
    la_int pstack[SMALL_N], *ipiv = ipiv_get(pstack, n);
    if (!ipiv)
        return st_err_nomem(e, "LU pivots");
    const la_int N = (la_int)n;
    la_int info = 0;
    dgetrf_(&N, &N, A, &N, ipiv, &info);
    double s = 0.0;
    int sg = 1;
    for (size_t i = 0; i < n; i++) {
        double d = A[i * n + i];
        if (d < 0)
            sg = -sg;
        if ((size_t)ipiv[i] != i + 1)
            sg = -sg;
        s += log(fabs(d));
    }
    ipiv_put(ipiv, pstack);
    if (info > 0) { /* singular: det = 0 */
        *logabsdet = -INFINITY;
        *sign = 0;
        return 0;
    }
    *logabsdet = s;
    *sign = sg;
    return 0;
}

/* ---- eigen ---- */

int st_eigen_sym(const double *A, size_t n, double *w, double *V, st_err *e)
{
    if (n == 0)
        return 0;
    if (too_big(n, e))
        return ST_EUSAGE;
    const la_int N = (la_int)n, lwork = (la_int)(26 * n), liwork = (la_int)(10 * n);
    double *a = malloc(n * n * sizeof *a);
    double *z = V ? malloc(n * n * sizeof *z) : NULL;
    double *work = malloc((size_t)lwork * sizeof *work);
    la_int *iwork = malloc((size_t)liwork * sizeof *iwork);
    la_int *isuppz = malloc(2 * n * sizeof *isuppz);
    int rc = 0;
    if (!a || (V && !z) || !work || !iwork || !isuppz) {
        rc = st_err_nomem(e, "symmetric eigen");
        goto out;
    }
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(A[i])) {
            rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "symmetric eigen: non-finite entry");
            goto out;
        }
    memcpy(a, A, n * n * sizeof *a);
    const double vl = 0.0, vu = 0.0, abstol = 0.0;
    const la_int il = 0, iu = 0;
    la_int m = 0, info = 0;
    dsyevr_(V ? "V" : "N", "A", "U", &N, a, &N, &vl, &vu, &il, &iu, &abstol, &m, w, V ? z : a,
            &N, isuppz, work, &lwork, iwork, &liwork, &info, 1, 1, 1);
    if (info != 0) {
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "symmetric eigen failed (info %d)", (int)info);
        goto out;
    }
    if (V) /* column-major z: vector j contiguous; row-major V has it in column j */
        st_mat_transpose(z, n, n, V);
out:
    free(a);
    free(z);
    free(work);
    free(iwork);
    free(isuppz);
    return rc;
}

int st_eigen_general(const double *A, size_t n, double *wr, double *wi, double *VR, st_err *e)
{
    if (n == 0)
        return 0;
    if (too_big(n, e))
        return ST_EUSAGE;
    const la_int N = (la_int)n, lwork = (la_int)(8 * n), one = 1;
    double *a = malloc(n * n * sizeof *a);
    double *vr = VR ? malloc(n * n * sizeof *vr) : NULL;
    double *work = malloc((size_t)lwork * sizeof *work);
    int rc = 0;
    if (!a || (VR && !vr) || !work) {
        rc = st_err_nomem(e, "general eigen");
        goto out;
    }
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(A[i])) {
            rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "general eigen: non-finite entry");
            goto out;
        }
    st_mat_transpose(A, n, n, a); /* column-major copy of A itself */
    la_int info = 0;
    dgeev_("N", VR ? "V" : "N", &N, a, &N, wr, wi, NULL, &one, VR ? vr : NULL, VR ? &N : &one,
           work, &lwork, &info, 1, 1);
    if (info != 0) {
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "general eigen: QR failed (info %d)",
                        (int)info);
        goto out;
    }
    if (VR)
        st_mat_transpose(vr, n, n, VR);
out:
    free(a);
    free(vr);
    free(work);
    return rc;
}

/* ---- discrete Lyapunov ---- */

static double spectral_radius(const double *T, size_t n, st_err *e, int *rc)
{
    double *w = malloc(2 * n * sizeof *w);
    if (!w) {
        *rc = st_err_nomem(e, "dlyap");
        return NAN;
    }
    *rc = st_eigen_general(T, n, w, w + n, NULL, e);
    double rho = 0.0;
    for (size_t i = 0; i < n && *rc == 0; i++)
        rho = fmax(rho, hypot(w[i], w[n + i]));
    free(w);
    return rho;
}

int st_dlyap(const double *T, const double *Q, size_t n, double *P, st_err *e)
{
    if (n == 0)
        return 0;
    int rc = 0;
    const double rho = spectral_radius(T, n, e, &rc);
    if (rc)
        return rc;
    if (!(rho < 1.0))
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                          "dlyap: transition is not stable (spectral radius %.6g)", rho);
    const size_t n2 = n * n;
    if (n <= 16) {
        /* vec(P) = (I - T (x) T)^-1 vec(Q), row-major vec. */
        double *M = malloc(n2 * n2 * sizeof *M);
        if (!M)
            return st_err_nomem(e, "dlyap");
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                for (size_t k = 0; k < n; k++)
                    for (size_t l = 0; l < n; l++)
                        M[(i * n + j) * n2 + k * n + l] =
                            (i == k && j == l ? 1.0 : 0.0) - T[i * n + k] * T[j * n + l];
        memcpy(P, Q, n2 * sizeof *P);
        rc = st_lu_solve(M, n2, P, 1, e);
        free(M);
        if (rc)
            return rc;
    } else {
        /* Doubling: P_{k+1} = P_k + A_k P_k A_k^T, A_{k+1} = A_k^2. */
        double *A = malloc(n2 * sizeof *A), *W = malloc(n2 * sizeof *W),
               *D = malloc(n2 * sizeof *D);
        if (!A || !W || !D) {
            free(A);
            free(W);
            free(D);
            return st_err_nomem(e, "dlyap");
        }
        memcpy(A, T, n2 * sizeof *A);
        memcpy(P, Q, n2 * sizeof *P);
        int done = 0;
        for (int it = 0; it < 200 && !done; it++) {
            st_gemm(0, 0, n, n, n, 1.0, A, P, 0.0, W);
            st_gemm(0, 1, n, n, n, 1.0, W, A, 0.0, D);
            double dmax = 0.0, pmax = 0.0;
            for (size_t i = 0; i < n2; i++) {
                P[i] += D[i];
                dmax = fmax(dmax, fabs(D[i]));
                pmax = fmax(pmax, fabs(P[i]));
            }
            done = dmax <= 1e-16 * pmax;
            st_gemm(0, 0, n, n, n, 1.0, A, A, 0.0, W);
            memcpy(A, W, n2 * sizeof *A);
        }
        free(A);
        free(W);
        free(D);
        if (!done)
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "dlyap: doubling did not converge");
    }
    st_mat_symmetrise(P, n);
    return 0;
}

/* ---- helpers ---- */

void st_mat_identity(double *A, size_t n)
{
    memset(A, 0, n * n * sizeof *A);
    for (size_t i = 0; i < n; i++)
        A[i * n + i] = 1.0;
}

void st_mat_transpose(const double *A, size_t rows, size_t cols, double *At)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            At[j * rows + i] = A[i * cols + j];
}

void st_mat_symmetrise(double *A, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            double m = 0.5 * (A[i * n + j] + A[j * n + i]);
            A[i * n + j] = A[j * n + i] = m;
        }
}

double st_mat_asymmetry(const double *A, size_t n)
{
    double amax = 0.0, dmax = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            amax = fmax(amax, fabs(A[i * n + j]));
            dmax = fmax(dmax, fabs(A[i * n + j] - A[j * n + i]));
        }
    return amax > 0.0 ? dmax / amax : 0.0;
}

/* Dense linear algebra over LAPACK/BLAS (Fortran symbols; OpenBLAS at run
 * time where installed).  Matrices are row-major double arrays, n x n
 * unless stated; functions never allocate unless they say so and take a
 * caller-provided workspace where LAPACK needs one.
 *
 * Row-major vs LAPACK's column-major: a symmetric matrix is its own
 * transpose, and for general matrices the wrappers handle the transpose. */
#ifndef ST_CORE_LINALG_H
#define ST_CORE_LINALG_H

#include <stddef.h>

#include "core/err.h"

/* C = alpha * op(A) op(B) + beta * C, row-major; op is transpose when ta/tb. */
void st_gemm(int ta, int tb, size_t m, size_t n, size_t k, double alpha, const double *A,
             const double *B, double beta, double *C);
/* y = alpha * op(A) x + beta * y, A is m x n row-major. */
void st_gemv(int ta, size_t m, size_t n, double alpha, const double *A, const double *x,
             double beta, double *y);

/* Allocation: st_chol (jitter, n > 256), the LU routines (n > 256), st_expm
 * (n > 8), the inverse, eigen and dlyap routines allocate their own scratch
 * space and report ST_ENOMEM if that fails.  Orders up to 8 use plain loops
 * (Cholesky, its solves, LU solve; gemm/gemv below 512/256 products), where
 * the BLAS/LAPACK call overhead would dominate. */

/* Cholesky A = L L^T in place (lower triangle holds L, upper is zeroed).
 * Reads the lower triangle of A only.
 * If A is not positive definite, jitter: add eps*mean(diag)*10^k to the
 * diagonal for k = 0..max_tries-1 (eps = 1e-10) and report the jitter
 * used in *jitter (may be NULL).  Pass max_tries = 0 for no jitter.
 * Returns ST_ENUMERIC if it still fails. */
int st_chol(double *A, size_t n, int max_tries, double *jitter, st_err *e);
/* Solve A X = B given the Cholesky factor L (from st_chol); B is n x nrhs
 * row-major, overwritten by X. */
void st_chol_solve(const double *L, size_t n, double *B, size_t nrhs);
/* Solve L X = B (forward substitution only) given the Cholesky factor, for
 * whitened residuals and quadratic forms v^T A^-1 v = |L^-1 v|^2. */
void st_chol_lower_solve(const double *L, size_t n, double *B, size_t nrhs);
/* log det A from its Cholesky factor. */
double st_chol_logdet(const double *L, size_t n);
/* Inverse of A from its Cholesky factor into Ainv (n x n). */
void st_chol_inverse(const double *L, size_t n, double *Ainv);

/* Solve A X = B by LU with partial pivoting; A (n x n) and B (n x nrhs)
 * are overwritten.  ST_ENUMERIC if A is singular. */
int st_lu_solve(double *A, size_t n, double *B, size_t nrhs, st_err *e);
/* Inverse of a general matrix in place. */
int st_inverse(double *A, size_t n, st_err *e);
/* log |det A| and its sign from an LU factorisation (A is overwritten).
 * A singular A gives *logabsdet = -INFINITY, *sign = 0 and returns 0. */
int st_logdet_general(double *A, size_t n, double *logabsdet, int *sign, st_err *e);

/* Symmetric eigendecomposition: eigenvalues ascending in w[0..n-1]; if V is
 * non-NULL, eigenvectors in its columns (row-major n x n: V[i*n+j] is
 * component i of vector j).  A is not modified. */
int st_eigen_sym(const double *A, size_t n, double *w, double *V, st_err *e);
/* General eigenvalues (real and imaginary parts); right eigenvectors in
 * columns of VR (real form as LAPACK dgeev gives them) if non-NULL. */
int st_eigen_general(const double *A, size_t n, double *wr, double *wi, double *VR, st_err *e);

/* Matrix exponential exp(A) by scaling and squaring with Pade 13
 * (Higham 2005, "The scaling and squaring method for the matrix exponential
 * revisited").  A and out may not alias.  ST_EDATA for a non-finite A. */
int st_expm(const double *A, size_t n, double *out, st_err *e);

/* Solve the discrete Lyapunov equation P = T P T^T + Q (stationary state
 * covariance) for stable T, by the Kronecker/linear-system method for n <=
 * 16 and doubling iterations above.  ST_ENUMERIC if T is not stable. */
int st_dlyap(const double *T, const double *Q, size_t n, double *P, st_err *e);

/* Small helpers. */
void st_mat_identity(double *A, size_t n);
void st_mat_transpose(const double *A, size_t rows, size_t cols, double *At);
/* Symmetrise in place: A = (A + A^T)/2. */
void st_mat_symmetrise(double *A, size_t n);
/* max |A - A^T| relative to max |A|; 0 for symmetric. */
double st_mat_asymmetry(const double *A, size_t n);

#endif

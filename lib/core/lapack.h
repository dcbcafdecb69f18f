/* Private: prototypes of the Fortran BLAS/LAPACK routines linalg.c uses
 * (reference LAPACK or OpenBLAS, 32-bit integers).  Fortran passes every
 * argument by reference and, for each CHARACTER argument, a hidden length
 * after the last argument (gfortran >= 8 uses size_t); we pass those lengths
 * explicitly so that the calls match the callee's ABI exactly. */
#ifndef ST_CORE_LAPACK_H
#define ST_CORE_LAPACK_H

#include <stddef.h>

typedef int la_int;
typedef size_t la_len; /* hidden CHARACTER length */

void dgemm_(const char *ta, const char *tb, const la_int *m, const la_int *n, const la_int *k,
            const double *alpha, const double *a, const la_int *lda, const double *b,
            const la_int *ldb, const double *beta, double *c, const la_int *ldc, la_len lta,
            la_len ltb);
void dgemv_(const char *t, const la_int *m, const la_int *n, const double *alpha, const double *a,
            const la_int *lda, const double *x, const la_int *incx, const double *beta, double *y,
            const la_int *incy, la_len lt);
void dtrsm_(const char *side, const char *uplo, const char *transa, const char *diag,
            const la_int *m, const la_int *n, const double *alpha, const double *a,
            const la_int *lda, double *b, const la_int *ldb, la_len l1, la_len l2, la_len l3,
            la_len l4);

void dpotrf_(const char *uplo, const la_int *n, double *a, const la_int *lda, la_int *info,
             la_len lu);
void dpotri_(const char *uplo, const la_int *n, double *a, const la_int *lda, la_int *info,
             la_len lu);
void dgetrf_(const la_int *m, const la_int *n, double *a, const la_int *lda, la_int *ipiv,
             la_int *info);
void dgetri_(const la_int *n, double *a, const la_int *lda, const la_int *ipiv, double *work,
             const la_int *lwork, la_int *info);
void dsyevr_(const char *jobz, const char *range, const char *uplo, const la_int *n, double *a,
             const la_int *lda, const double *vl, const double *vu, const la_int *il,
             const la_int *iu, const double *abstol, la_int *m, double *w, double *z,
             const la_int *ldz, la_int *isuppz, double *work, const la_int *lwork, la_int *iwork,
             const la_int *liwork, la_int *info, la_len l1, la_len l2, la_len l3);
void dgeev_(const char *jobvl, const char *jobvr, const la_int *n, double *a, const la_int *lda,
            double *wr, double *wi, double *vl, const la_int *ldvl, double *vr,
            const la_int *ldvr, double *work, const la_int *lwork, la_int *info, la_len l1,
            la_len l2);

#endif

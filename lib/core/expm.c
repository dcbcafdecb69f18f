/* Matrix exponential by scaling and squaring with Pade approximants of
 * degree 3, 5, 7, 9 or 13 (Higham 2005, SIAM J. Matrix Anal. Appl. 26(4),
 * "The scaling and squaring method for the matrix exponential revisited",
 * Algorithm 2.3 with the theta_m of Table 2.3).  No balancing and no trace
 * shift: for generator matrices exp(trace/n) can underflow while the
 * shifted exponential overflows, and neither helps their accuracy much. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"

/* Largest 1-norm for which the degree-m approximant is accurate to unit
 * roundoff (Higham 2005, Table 2.3). */
static const double theta3 = 1.495585217958292e-2;
static const double theta5 = 2.539398330063230e-1;
static const double theta7 = 9.504178996162932e-1;
static const double theta9 = 2.097847961257068e0;
static const double theta13 = 5.371920351148152e0;

/* Coefficients b_0..b_m of the [m/m] Pade approximant of exp. */
static const double b3[] = {120.0, 60.0, 12.0, 1.0};
static const double b5[] = {30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0};
static const double b7[] = {17297280.0, 8648640.0, 1995840.0, 277200.0,
                            25200.0,    1512.0,    56.0,      1.0};
static const double b9[] = {17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0,
                            2162160.0,     110880.0,     3960.0,       90.0,        1.0};
static const double b13[] = {64764752532480000.0,
                             32382376266240000.0,
                             7771770303897600.0,
                             1187353796428800.0,
                             129060195264000.0,
                             10559470521600.0,
                             670442572800.0,
                             33522128640.0,
                             1323241920.0,
                             40840800.0,
                             960960.0,
                             16380.0,
                             182.0,
                             1.0};

static double norm1(const double *A, size_t n)
{
    double best = 0.0;
    for (size_t j = 0; j < n; j++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += fabs(A[i * n + j]);
        best = fmax(best, s);
    }
    return best;
}

static int is_triangular(const double *A, size_t n)
{
    int upper = 1, lower = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (j < i && A[i * n + j] != 0.0)
                upper = 0;
            if (j > i && A[i * n + j] != 0.0)
                lower = 0;
        }
    return upper || lower;
}

static void mul(const double *A, const double *B, double *C, size_t n)
{
    st_gemm(0, 0, n, n, n, 1.0, A, B, 0.0, C);
}

/* out = sum_k c[k] * M[k] + c0 * I over nm matrices. */
static void combo(double *out, size_t n, double c0, size_t nm, const double *c,
                  const double *const *M)
{
    for (size_t i = 0; i < n * n; i++) {
        double s = 0.0;
        for (size_t k = 0; k < nm; k++)
            s += c[k] * M[k][i];
        out[i] = s;
    }
    for (size_t i = 0; i < n; i++)
        out[i * n + i] += c0;
}

int st_expm(const double *A0, size_t n, double *out, st_err *e)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(A0[i]))
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "expm: non-finite matrix entry");
    if (n == 1) {
        out[0] = exp(A0[0]);
        return isfinite(out[0]) ? 0
                                : st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "expm: overflow");
    }
    const size_t nn = n * n;
    double stackbuf[7 * 64]; /* n <= 8: no allocation */
    double *buf = nn <= 64 ? stackbuf : malloc(7 * nn * sizeof *buf);
    if (!buf)
        return st_err_nomem(e, "expm");
    double *A = buf, *A2 = buf + nn, *A4 = buf + 2 * nn, *A6 = buf + 3 * nn, *U = buf + 4 * nn,
           *V = buf + 5 * nn, *W = buf + 6 * nn;
    const double nrm = norm1(A0, n);
    int s = 0, m;
    memcpy(A, A0, nn * sizeof *A);
    if (nrm <= theta3)
        m = 3;
    else if (nrm <= theta5)
        m = 5;
    else if (nrm <= theta7)
        m = 7;
    else if (nrm <= theta9)
        m = 9;
    else {
        m = 13;
        s = (int)ceil(log2(nrm / theta13));
        if (s < 0)
            s = 0;
        const double f = ldexp(1.0, -s);
        for (size_t i = 0; i < nn; i++)
            A[i] *= f;
    }

    mul(A, A, A2, n);
    if (m == 13) {
        const double *M3[3] = {A6, A4, A2};
        mul(A2, A2, A4, n);
        mul(A4, A2, A6, n);
        /* U = A [A6 (b13 A6 + b11 A4 + b9 A2) + b7 A6 + b5 A4 + b3 A2 + b1 I] */
        const double cu1[3] = {b13[13], b13[11], b13[9]};
        combo(W, n, 0.0, 3, cu1, M3);
        mul(A6, W, U, n);
        const double cu2[3] = {b13[7], b13[5], b13[3]};
        combo(W, n, b13[1], 3, cu2, M3);
        for (size_t i = 0; i < nn; i++)
            W[i] += U[i];
        mul(A, W, U, n);
        /* V = A6 (b12 A6 + b10 A4 + b8 A2) + b6 A6 + b4 A4 + b2 A2 + b0 I */
        const double cv1[3] = {b13[12], b13[10], b13[8]};
        combo(W, n, 0.0, 3, cv1, M3);
        mul(A6, W, V, n);
        const double cv2[3] = {b13[6], b13[4], b13[2]};
        combo(W, n, b13[0], 3, cv2, M3);
        for (size_t i = 0; i < nn; i++)
            V[i] += W[i];
    } else {
        /* Even powers A2, A4, A6, A8 as needed (A8 goes into U's slot
         * before U is formed). */
        const double *b = m == 3 ? b3 : m == 5 ? b5 : m == 7 ? b7 : b9;
        const double *M[4] = {A2, A4, A6, U};
        const size_t np = (size_t)(m - 1) / 2; /* number of even powers */
        if (np >= 2)
            mul(A2, A2, A4, n);
        if (np >= 3)
            mul(A4, A2, A6, n);
        if (np >= 4)
            mul(A4, A4, U, n);
        double cu[4], cv[4];
        for (size_t k = 0; k < np; k++) {
            cu[k] = b[2 * k + 3];
            cv[k] = b[2 * k + 2];
        }
        combo(V, n, b[0], np, cv, M);
        combo(W, n, b[1], np, cu, M);
        mul(A, W, U, n);
    }
    /* Solve (V - U) R = (V + U). */
    for (size_t i = 0; i < nn; i++) {
        const double u = U[i], v = V[i];
        W[i] = v - u;
        out[i] = v + u;
    }
    int rc = st_lu_solve(W, n, out, n, e);
    if (rc) {
        st_err_prefix(e, "expm: ");
        goto done;
    }
    /* For a triangular A (progressive multi-state models), the diagonal
     * of every power is known exactly: exp(a_ii 2^(k-s)).  Resetting it
     * after each squaring stops the (1+eps)^(2^s) growth of its error
     * (Al-Mohy & Higham 2009, Code Fragment 2.1, diagonal part). */
    const int tri = s > 0 && is_triangular(A0, n);
    for (int k = 0; k <= s; k++) {
        if (k > 0) {
            mul(out, out, W, n);
            memcpy(out, W, nn * sizeof *out);
        }
        if (tri)
            for (size_t i = 0; i < n; i++)
                out[i * n + i] = exp(ldexp(A0[i * n + i], k - s));
    }
    for (size_t i = 0; i < nn; i++)
        if (!isfinite(out[i])) {
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "expm: overflow (1-norm %g)", nrm);
            break;
        }
done:
    if (buf != stackbuf)
        free(buf);
    return rc;
}

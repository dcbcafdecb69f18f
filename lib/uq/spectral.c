/* Graph-spectral and kernel scores over the samples of one prompt:
 * Lin et al. (2024) EigV, Deg, Ecc; Nikitin et al. (2024) kernel language
 * entropy; Chen et al. (2024) EigenScore; Song et al. (2025) Inv-Entropy. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "uq/uq.h"

/* Normalised Laplacian L = I - D^{-1/2} W D^{-1/2} (dinv: m scratch);
 * ST_ENUMERIC for a zero degree. */
static int norm_laplacian(const double *W, size_t m, double *L, double *dinv, st_err *e)
{
    for (size_t i = 0; i < m; i++) {
        double d = 0;
        for (size_t j = 0; j < m; j++)
            d += W[i * m + j];
        if (!(d > 0))
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "affinity row %zu has zero degree", i);
        dinv[i] = 1 / sqrt(d);
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++)
            L[i * m + j] = (i == j ? 1.0 : 0.0) - dinv[i] * W[i * m + j] * dinv[j];
    return 0;
}

static int cmp_size(const void *x, const void *y)
{
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    return (a > b) - (a < b);
}

/* If W partitions the samples into cliques (every entry exactly 0 or 1,
 * W_ij = 1 exactly when i and j are in the same block), the block sizes in
 * ascending order into sizes (m entries) and the number of blocks; else 0.
 * Then the Laplacian's spectrum is known exactly and no eigensolver noise
 * (1e-16) splits ties that are exact. */
size_t st_uq_clique_blocks(const double *W, size_t m, size_t *sizes)
{
    size_t *rep = malloc((m ? m : 1) * sizeof *rep);
    if (!rep)
        return 0;
    size_t nb = 0;
    for (size_t i = 0; i < m; i++) {
        size_t j = 0;
        while (j < i && W[i * m + j] != 1)
            j++;
        rep[i] = j < i ? rep[j] : i;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++)
            if (W[i * m + j] != (rep[i] == rep[j] ? 1.0 : 0.0)) {
                free(rep);
                return 0;
            }
    for (size_t i = 0; i < m; i++)
        sizes[i] = 0;
    for (size_t i = 0; i < m; i++)
        sizes[rep[i]]++;
    for (size_t i = 0; i < m; i++)
        if (sizes[i])
            sizes[nb++] = sizes[i];
    qsort(sizes, nb, sizeof *sizes, cmp_size);
    free(rep);
    return nb;
}

int st_uq_spectral(const double *W, size_t m, double threshold, double *eigv, double *ecc,
                   double *work, st_err *e)
{
    size_t *sizes = malloc((m ? m : 1) * sizeof *sizes);
    size_t nb = sizes ? st_uq_clique_blocks(W, m, sizes) : 0;
    free(sizes);
    if (nb) {
        /* eigenvalues 0 (once per block) and 1 (the rest), eigenvectors
         * for 0 the block indicators: eigv = blocks, ecc = sqrt(blocks - 1),
         * or sqrt(m - 1) when the threshold keeps the eigenvalue 1 too */
        if (eigv)
            *eigv = (double)nb;
        if (ecc)
            *ecc = sqrt((double)(threshold > 1 ? m - 1 : nb - 1));
        return 0;
    }
    double *L = work, *V = work + m * m, *w = work + 2 * m * m, *mean = w + m;
    int rc = norm_laplacian(W, m, L, mean, e);
    if (rc < 0)
        return rc;
    if ((rc = st_eigen_sym(L, m, w, ecc ? V : NULL, e)) < 0)
        return rc;
    if (eigv) {
        double s = 0;
        for (size_t k = 0; k < m; k++)
            if (w[k] < 1)
                s += 1 - w[k];
        *eigv = s;
    }
    if (ecc) {
        /* rows of the eigenvectors with eigenvalue < threshold embed the samples */
        size_t k = 0;
        while (k < m && w[k] < threshold)
            k++;
        for (size_t j = 0; j < k; j++) {
            double s = 0;
            for (size_t i = 0; i < m; i++)
                s += V[i * m + j];
            mean[j] = s / (double)m;
        }
        double ss = 0;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < k; j++) {
                double d = V[i * m + j] - mean[j];
                ss += d * d;
            }
        *ecc = sqrt(ss);
    }
    return 0;
}

int st_uq_eigv(const double *W, size_t m, double *out, double *work, st_err *e)
{
    return st_uq_spectral(W, m, 1, out, NULL, work, e);
}

double st_uq_degree(const double *W, size_t m)
{
    double s = 0;
    for (size_t i = 0; i < m * m; i++)
        s += W[i];
    return 1 - s / ((double)m * (double)m);
}

int st_uq_ecc(const double *W, size_t m, double threshold, double *out, double *work, st_err *e)
{
    return st_uq_spectral(W, m, threshold, NULL, out, work, e);
}

int st_uq_kle(const double *W, size_t m, double t, double *out, double *work, st_err *e)
{
    size_t *sizes = malloc((m ? m : 1) * sizeof *sizes);
    size_t nb = sizes ? st_uq_clique_blocks(W, m, sizes) : 0;
    if (nb) {
        /* a block of k: K = a J + b I with b = exp(-t k), a = (1 - b) / k;
         * rho's eigenvalues 1 / (d m) once and b / (d m) k - 1 times, d = a + b */
        double s = 0;
        for (size_t c = 0; c < nb; c++) {
            double k = (double)sizes[c], b = exp(-t * k), d = -expm1(-t * k) / k + b;
            double mu1 = 1 / (d * (double)m), mu2 = b / (d * (double)m);
            s -= mu1 * log(mu1);
            if (k > 1 && mu2 > 0)
                s -= (k - 1) * mu2 * log(mu2);
        }
        free(sizes);
        *out = s;
        return 0;
    }
    free(sizes);
    double *L = work, *V = work + m * m, *K = work + 2 * m * m;
    double *w = work + 3 * m * m, *h = w + m;
    /* combinatorial Laplacian D - W */
    for (size_t i = 0; i < m; i++) {
        double d = 0;
        for (size_t j = 0; j < m; j++)
            d += W[i * m + j];
        for (size_t j = 0; j < m; j++)
            L[i * m + j] = (i == j ? d : 0) - W[i * m + j];
    }
    int rc = st_eigen_sym(L, m, w, V, e);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < m; k++)
        h[k] = exp(-t * w[k]);
    /* heat kernel K = V diag(h) V^T */
    for (size_t i = 0; i < m; i++)
        for (size_t j = i; j < m; j++) {
            double s = 0;
            for (size_t k = 0; k < m; k++)
                s += V[i * m + k] * h[k] * V[j * m + k];
            K[i * m + j] = K[j * m + i] = s;
        }
    /* unit diagonal, then unit trace: rho = D^{-1/2} K D^{-1/2} / m */
    for (size_t i = 0; i < m; i++)
        h[i] = 1 / sqrt(K[i * m + i]);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++)
            L[i * m + j] = K[i * m + j] * h[i] * h[j] / (double)m;
    if ((rc = st_eigen_sym(L, m, w, NULL, e)) < 0)
        return rc;
    double s = 0;
    for (size_t k = 0; k < m; k++)
        if (w[k] > 0)
            s -= w[k] * log(w[k]);
    *out = s;
    return 0;
}

int st_uq_eigenscore(const double *Z, size_t m, size_t d, double alpha, int variant, double *out,
                     double *work, st_err *e)
{
    double *S = work, *w = work + 2 * m * m;
    if (variant == ST_UQ_EIGENSCORE_CODE && d < 2) {
        *out = NAN;
        return 0;
    }
    /* each embedding centred over its own d features (J_d Z^T) */
    double *mu = w; /* m means, overwritten by eigenvalues later */
    for (size_t i = 0; i < m; i++) {
        double s = 0;
        for (size_t k = 0; k < d; k++)
            s += Z[i * d + k];
        mu[i] = s / (double)d;
    }
    double scale = variant == ST_UQ_EIGENSCORE_CODE ? 1.0 / (double)(d - 1) : 1.0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i; j < m; j++) {
            double s = 0;
            for (size_t k = 0; k < d; k++)
                s += (Z[i * d + k] - mu[i]) * (Z[j * d + k] - mu[j]);
            S[i * m + j] = S[j * m + i] = s * scale + (i == j ? alpha : 0);
        }
    int rc = st_eigen_sym(S, m, w, NULL, e);
    if (rc < 0)
        return rc;
    double s = 0;
    for (size_t k = 0; k < m; k++) {
        if (!(w[k] > 0)) {
            *out = NAN;
            return 0;
        }
        s += variant == ST_UQ_EIGENSCORE_CODE ? log10(w[k]) : log(w[k]);
    }
    *out = s / (double)m;
    return 0;
}

double st_uq_inv_entropy_pairs(const double *SX, const double *SY, size_t n, double *work)
{
    /* q_i = (P_Y P_X)_{ii} = sum_j SY_ij / rY_i * SX_ji / rX_j */
    double *rx = work, *ry = work + n;
    for (size_t i = 0; i < n; i++) {
        double a = 0, b = 0;
        for (size_t j = 0; j < n; j++) {
            a += SX[i * n + j];
            b += SY[i * n + j];
        }
        if (!(a > 0) || !(b > 0))
            return NAN;
        rx[i] = a;
        ry[i] = b;
    }
    double h = 0;
    for (size_t i = 0; i < n; i++) {
        double q = 0;
        for (size_t j = 0; j < n; j++)
            q += SY[i * n + j] / ry[i] * (SX[j * n + i] / rx[j]);
        if (q > 0)
            h -= q * log(q);
    }
    return h;
}

/* Kalman filter with exact diffuse initialisation and univariate treatment
 * of the observation vector (Koopman & Durbin 2000, "Fast filtering and
 * smoothing for multivariate state space models"; Durbin & Koopman 2012
 * ch. 5-7), state and disturbance smoothers, forecasts.
 *
 * The state dimension of structural models is small (2..30) and T is
 * sparse, so the products are plain loops over the non-zeros of T rather
 * than BLAS calls (which would cost more in call overhead than in flops). */
#include "config.h"

#include "ssm/kalman.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* F_inf below this (relative to |z|^2) counts as zero; Pinf entries below
 * ZERO_PINF end the diffuse period.  Rank reduction in Pinf is exact in
 * exact arithmetic; these absorb rounding only. */
#define TOL_FINF 1e-9
#define ZERO_PINF 1e-9
/* Relative change of P below which the filter is in steady state. */
#define TOL_STEADY 1e-13

int st_ssm_new(st_ssm **out, size_t p, size_t m, size_t r, st_err *e)
{
    *out = NULL;
    if (p == 0 || m == 0 || m > 4096 || p > 4096 || r > 4096)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "state-space dimensions out of range (p=%zu, m=%zu, r=%zu)", p, m, r);
    st_ssm *s = calloc(1, sizeof *s);
    if (!s)
        return st_err_nomem(e, "state-space model");
    s->p = p;
    s->m = m;
    s->r = r;
    s->T = calloc(m * m, sizeof(double));
    s->Z = calloc(p * m, sizeof(double));
    s->R = calloc(m * (r ? r : 1), sizeof(double));
    s->Q = calloc((r ? r * r : 1), sizeof(double));
    s->H = calloc(p * p, sizeof(double));
    s->c = calloc(m, sizeof(double));
    s->d = calloc(p, sizeof(double));
    s->a1 = calloc(m, sizeof(double));
    s->P1 = calloc(m * m, sizeof(double));
    s->diffuse = calloc(m, 1);
    if (!s->T || !s->Z || !s->R || !s->Q || !s->H || !s->c || !s->d || !s->a1 || !s->P1 || !s->diffuse) {
        st_ssm_free(s);
        return st_err_nomem(e, "state-space model");
    }
    *out = s;
    return 0;
}

void st_ssm_free(st_ssm *s)
{
    if (!s)
        return;
    free(s->T);
    free(s->Z);
    free(s->R);
    free(s->Q);
    free(s->H);
    free(s->c);
    free(s->d);
    free(s->a1);
    free(s->P1);
    free(s->diffuse);
    free(s);
}

int st_ssm_copy(st_ssm **dst, const st_ssm *src, st_err *e)
{
    size_t p = src->p, m = src->m, r = src->r;
    int rc = st_ssm_new(dst, p, m, r, e);
    if (rc < 0)
        return rc;
    st_ssm *s = *dst;
    memcpy(s->T, src->T, m * m * sizeof(double));
    memcpy(s->Z, src->Z, p * m * sizeof(double));
    memcpy(s->R, src->R, m * r * sizeof(double));
    memcpy(s->Q, src->Q, r * r * sizeof(double));
    memcpy(s->H, src->H, p * p * sizeof(double));
    memcpy(s->c, src->c, m * sizeof(double));
    memcpy(s->d, src->d, p * sizeof(double));
    memcpy(s->a1, src->a1, m * sizeof(double));
    memcpy(s->P1, src->P1, m * m * sizeof(double));
    memcpy(s->diffuse, src->diffuse, m);
    s->Zt = src->Zt;
    s->dt = src->dt;
    return 0;
}

static int all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* Symmetric with a non-negative diagonal and |a_ij| <= sqrt(a_ii a_jj):
 * cheap necessary conditions; full PSD is checked by the caller that reads
 * a model file (with an eigen decomposition). */
static int check_cov(const double *A, size_t n, const char *name, st_err *e)
{
    double scale = 0;
    for (size_t i = 0; i < n * n; i++)
        scale = fmax(scale, fabs(A[i]));
    for (size_t i = 0; i < n; i++) {
        if (A[i * n + i] < 0)
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "%s has a negative variance %g at [%zu,%zu]", name, A[i * n + i], i + 1, i + 1);
        for (size_t j = 0; j < i; j++) {
            if (fabs(A[i * n + j] - A[j * n + i]) > 1e-12 * scale)
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "%s is not symmetric at [%zu,%zu]", name, i + 1, j + 1);
            if (A[i * n + j] * A[i * n + j] > A[i * n + i] * A[j * n + j] * (1 + 1e-10) + 1e-300)
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "%s is not positive semi-definite ([%zu,%zu] exceeds the variances)", name, i + 1, j + 1);
        }
    }
    return 0;
}

static int check_model(const st_ssm *s, int diagonal_H, st_err *e);

int st_ssm_check(const st_ssm *s, st_err *e)
{
    return check_model(s, 1, e);
}

int st_ssm_check_model(const st_ssm *s, st_err *e)
{
    return check_model(s, 0, e);
}

static int check_model(const st_ssm *s, int diagonal_H, st_err *e)
{
    size_t p = s->p, m = s->m, r = s->r;
    if (!all_finite(s->T, m * m) || !all_finite(s->Z, p * m) || !all_finite(s->R, m * r) ||
        !all_finite(s->Q, r * r) || !all_finite(s->H, p * p) || !all_finite(s->c, m) ||
        !all_finite(s->d, p) || !all_finite(s->a1, m) || !all_finite(s->P1, m * m))
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "state-space matrices must be finite");
    int rc;
    if ((rc = check_cov(s->Q, r, "Q", e)) < 0 || (rc = check_cov(s->H, p, "H", e)) < 0 ||
        (rc = check_cov(s->P1, m, "P1", e)) < 0)
        return rc;
    for (size_t i = 0; i < p && diagonal_H; i++)
        for (size_t j = 0; j < p; j++)
            if (i != j && s->H[i * p + j] != 0)
                return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "H must be diagonal (correlated observation noise is not supported)");
    for (size_t i = 0; i < m; i++) {
        if (!s->diffuse[i])
            continue;
        for (size_t j = 0; j < m; j++)
            if (s->P1[i * m + j] != 0 || s->P1[j * m + i] != 0)
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "P1 row %zu must be zero for a diffuse state", i + 1);
    }
    return 0;
}

int st_ssm_H_is_diagonal(const st_ssm *s)
{
    size_t p = s->p;
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            if (i != j && s->H[i * p + j] != 0)
                return 0;
    return 1;
}

int st_ssm_decorrelate(const st_ssm *s, st_ssm *sw, const double *y, size_t n, double *yw,
                       st_err *e)
{
    size_t p = s->p, m = s->m, r = s->r;
    if (sw->p != p || sw->m != m || sw->r != r)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "st_ssm_decorrelate: dimensions differ");
    if (s->Zt || s->dt)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a full H needs a time-invariant Z and d");
    double *L = sw->H; /* unit lower triangle below the diagonal, D on it */
    memcpy(L, s->H, p * p * sizeof(double));
    /* H = L D L' (L unit lower triangular), column by column */
    for (size_t j = 0; j < p; j++) {
        double dj = L[j * p + j];
        for (size_t k = 0; k < j; k++)
            dj -= L[j * p + k] * L[j * p + k] * L[k * p + k];
        if (!(dj > 0) || !isfinite(dj))
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "H is not positive definite (pivot %zu of its LDL' factorisation is %g)", j + 1, dj);
        L[j * p + j] = dj;
        for (size_t i = j + 1; i < p; i++) {
            double v = L[i * p + j];
            for (size_t k = 0; k < j; k++)
                v -= L[i * p + k] * L[j * p + k] * L[k * p + k];
            L[i * p + j] = v / dj;
        }
    }
    /* x <- L^{-1} x for x of p rows with stride */
#define LSOLVE(x, stride)                                                  \
    for (size_t i_ = 0; i_ < p; i_++)                                     \
        for (size_t k_ = 0; k_ < i_; k_++)                                \
            (x)[i_ * (stride)] -= L[i_ * p + k_] * (x)[k_ * (stride)]
    memcpy(sw->Z, s->Z, p * m * sizeof(double));
    for (size_t c = 0; c < m; c++) {
        double *zc = sw->Z + c;
        LSOLVE(zc, m);
    }
    memcpy(sw->d, s->d, p * sizeof(double));
    LSOLVE(sw->d, 1);
    for (size_t t = 0; t < n; t++) {
        const double *yt = y + t * p;
        double *wt = yw + t * p;
        size_t nmiss = 0;
        for (size_t i = 0; i < p; i++)
            nmiss += isnan(yt[i]);
        memcpy(wt, yt, p * sizeof(double));
        if (nmiss == p)
            continue;
        if (nmiss)
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "time point %zu has %zu of its %zu values missing: a partly missing observation needs a diagonal H", t + 1, nmiss, p);
        LSOLVE(wt, 1);
    }
#undef LSOLVE
    /* H* = D */
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            if (i != j)
                sw->H[i * p + j] = 0;
    memcpy(sw->T, s->T, m * m * sizeof(double));
    memcpy(sw->R, s->R, m * r * sizeof(double));
    memcpy(sw->Q, s->Q, r * r * sizeof(double));
    memcpy(sw->c, s->c, m * sizeof(double));
    memcpy(sw->a1, s->a1, m * sizeof(double));
    memcpy(sw->P1, s->P1, m * m * sizeof(double));
    memcpy(sw->diffuse, s->diffuse, m);
    sw->Zt = NULL;
    sw->dt = NULL;
    return 0;
}

/* ------------------------------------------------------------ workspace */

typedef struct kf_work {
    size_t m, p, r;
    /* T as sparse rows: entries [rowptr[i], rowptr[i+1]) of (col, val) */
    size_t *rowptr, *col;
    double *val;
    size_t *colptr, *row; /* T by columns too (for T' X T) */
    double *cval;
    double *RQR;       /* m x m */
    double *a, *P, *Pinf, *tmp, *anew; /* state and scratch */
    double *M, *Minf;  /* m */
    double *Pold;      /* m x m, steady-state detection (copied only once the diagonal has settled) */
    double *dold;      /* m: diagonal of P before the step */
    double *Ms;        /* m: M / sqrt(F) */
    double *Mc, *Fc;   /* steady-state gains: p x m, p */
    int rqr_zero;
    /* rows of T: src[i] >= 0 for a copy row (one non-zero, equal to 1, in
     * column src[i]: a shift or an identity row), -1 otherwise; the other
     * rows are listed in gen[0..ngen-1] */
    long *src;
    size_t *gen, ngen;
    double *X;         /* ngen x m: the general rows of T P */
} kf_work;

static void work_free(kf_work *w)
{
    free(w->src);
    free(w->gen);
    free(w->X);
    free(w->rowptr);
    free(w->col);
    free(w->val);
    free(w->colptr);
    free(w->row);
    free(w->cval);
    free(w->RQR);
    free(w->a);
    free(w->P);
    free(w->Pinf);
    free(w->tmp);
    free(w->anew);
    free(w->M);
    free(w->Minf);
    free(w->Pold);
    free(w->dold);
    free(w->Ms);
    free(w->Mc);
    free(w->Fc);
}

static int work_init(kf_work *w, const st_ssm *s, st_err *e)
{
    size_t m = s->m, p = s->p, r = s->r;
    memset(w, 0, sizeof *w);
    w->m = m;
    w->p = p;
    w->r = r;
    size_t nnz = 0;
    for (size_t i = 0; i < m * m; i++)
        nnz += s->T[i] != 0;
    w->rowptr = malloc((m + 1) * sizeof(size_t));
    w->col = malloc((nnz + 1) * sizeof(size_t));
    w->val = malloc((nnz + 1) * sizeof(double));
    w->RQR = calloc(m * m, sizeof(double));
    w->a = malloc(m * sizeof(double));
    w->anew = malloc(m * sizeof(double));
    w->P = malloc(m * m * sizeof(double));
    w->Pinf = calloc(m * m, sizeof(double));
    w->tmp = malloc(m * m * sizeof(double));
    w->M = malloc(m * sizeof(double));
    w->Minf = malloc(m * sizeof(double));
    w->Pold = malloc(m * m * sizeof(double));
    w->dold = malloc(m * sizeof(double));
    w->Ms = malloc(m * sizeof(double));
    w->Mc = malloc(p * m * sizeof(double));
    w->Fc = malloc(p * sizeof(double));
    if (!w->rowptr || !w->col || !w->val || !w->RQR || !w->a || !w->anew || !w->P || !w->Pinf ||
        !w->tmp || !w->M || !w->Minf || !w->Pold || !w->dold || !w->Ms || !w->Mc || !w->Fc) {
        work_free(w);
        return st_err_nomem(e, "Kalman filter workspace");
    }
    nnz = 0;
    for (size_t i = 0; i < m; i++) {
        w->rowptr[i] = nnz;
        for (size_t j = 0; j < m; j++)
            if (s->T[i * m + j] != 0) {
                w->col[nnz] = j;
                w->val[nnz++] = s->T[i * m + j];
            }
    }
    w->rowptr[m] = nnz;
    w->colptr = malloc((m + 1) * sizeof(size_t));
    w->row = malloc((nnz + 1) * sizeof(size_t));
    w->cval = malloc((nnz + 1) * sizeof(double));
    if (!w->colptr || !w->row || !w->cval) {
        work_free(w);
        return st_err_nomem(e, "Kalman filter workspace");
    }
    nnz = 0;
    for (size_t j = 0; j < m; j++) {
        w->colptr[j] = nnz;
        for (size_t i = 0; i < m; i++)
            if (s->T[i * m + j] != 0) {
                w->row[nnz] = i;
                w->cval[nnz++] = s->T[i * m + j];
            }
    }
    w->colptr[m] = nnz;
    w->src = malloc(m * sizeof(long));
    w->gen = malloc(m * sizeof(size_t));
    if (!w->src || !w->gen) {
        work_free(w);
        return st_err_nomem(e, "Kalman filter workspace");
    }
    w->ngen = 0;
    for (size_t i = 0; i < m; i++) {
        size_t a = w->rowptr[i], b = w->rowptr[i + 1];
        if (b - a == 1 && w->val[a] == 1)
            w->src[i] = (long)w->col[a];
        else {
            w->src[i] = -1;
            w->gen[w->ngen++] = i;
        }
    }
    if (!(w->X = malloc((w->ngen ? w->ngen : 1) * m * sizeof(double)))) {
        work_free(w);
        return st_err_nomem(e, "Kalman filter workspace");
    }
    /* RQR' */
    w->rqr_zero = 1;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) {
            double acc = 0;
            for (size_t k = 0; k < r; k++) {
                if (s->R[i * r + k] == 0)
                    continue;
                for (size_t l = 0; l < r; l++)
                    acc += s->R[i * r + k] * s->Q[k * r + l] * s->R[j * r + l];
            }
            w->RQR[i * m + j] = acc;
            if (acc != 0)
                w->rqr_zero = 0;
        }
    memcpy(w->a, s->a1, m * sizeof(double));
    memcpy(w->P, s->P1, m * m * sizeof(double));
    for (size_t i = 0; i < m; i++)
        if (s->diffuse[i])
            w->Pinf[i * m + i] = 1;
    return 0;
}

/* a <- T a + c */
static void predict_mean(kf_work *w, const st_ssm *s)
{
    size_t m = w->m;
    for (size_t i = 0; i < m; i++) {
        double acc = s->c[i];
        for (size_t k = w->rowptr[i]; k < w->rowptr[i + 1]; k++)
            acc += w->val[k] * w->a[w->col[k]];
        w->anew[i] = acc;
    }
    memcpy(w->a, w->anew, m * sizeof(double));
}

/* P <- T P T' (+ RQR' if add), exploiting copy rows of T (shifts of a
 * dummy seasonal or an AR companion, identity rows of a slope or a
 * regression): for copy rows i, j the new P[i][j] is the old
 * P[src_i][src_j]; only the general rows g need products, X_g = T_g P
 * (row axpys over the non-zeros of T_g), and then new P[g][j] = X_g[src_j]
 * for a copy row j, or a short dot product for a general one.  The lower
 * triangle is computed into scratch, mirrored, and copied back. */
static void predict_cov(kf_work *w, double *P, int add)
{
    size_t m = w->m;
    double *X = w->X, *out = w->tmp;
    const long *src = w->src;
    for (size_t q = 0; q < w->ngen; q++) {
        size_t i = w->gen[q];
        double *xi = X + q * m;
        memset(xi, 0, m * sizeof(double));
        for (size_t k = w->rowptr[i]; k < w->rowptr[i + 1]; k++) {
            const double *pr = P + w->col[k] * m;
            double tv = w->val[k];
#pragma omp simd
            for (size_t j = 0; j < m; j++)
                xi[j] += tv * pr[j];
        }
    }
    /* genidx[i]: position of general row i in X */
    size_t genidx[m ? m : 1];
    for (size_t q = 0; q < w->ngen; q++)
        genidx[w->gen[q]] = q;
    for (size_t i = 0; i < m; i++) {
        double *oi = out + i * m;
        const double *ri = add ? w->RQR + i * m : NULL;
        if (src[i] >= 0) {
            const double *pi = P + (size_t)src[i] * m;
            for (size_t j = 0; j <= i; j++) {
                double v;
                if (src[j] >= 0)
                    v = pi[src[j]];
                else
                    v = X[genidx[j] * m + (size_t)src[i]];
                oi[j] = ri ? v + ri[j] : v;
            }
        } else {
            const double *xi = X + genidx[i] * m;
            for (size_t j = 0; j <= i; j++) {
                double v;
                if (src[j] >= 0)
                    v = xi[src[j]];
                else {
                    v = 0;
                    for (size_t k = w->rowptr[j]; k < w->rowptr[j + 1]; k++)
                        v += w->val[k] * xi[w->col[k]];
                }
                oi[j] = ri ? v + ri[j] : v;
            }
        }
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j <= i; j++) {
            P[i * m + j] = out[i * m + j];
            P[j * m + i] = out[i * m + j];
        }
}

static double dot(const double *x, const double *y, size_t n)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += x[i] * y[i];
    return acc;
}

/* y = A x, A symmetric m x m */
static void symv(const double *A, const double *x, double *y, size_t m)
{
    for (size_t i = 0; i < m; i++)
        y[i] = dot(A + i * m, x, m);
}

/* y = A z for symmetric A and a sparse z (observation rows of structural
 * models have a few non-zeros): row axpys over the non-zeros. */
static void symv_sparse(const double *A, const double *z, double *y, size_t m)
{
    memset(y, 0, m * sizeof(double));
    for (size_t j = 0; j < m; j++) {
        double zj = z[j];
        if (zj == 0)
            continue;
        const double *aj = A + j * m;
        for (size_t k = 0; k < m; k++)
            y[k] += zj * aj[k];
    }
}

static int pinf_is_zero(double *Pinf, size_t m)
{
    for (size_t i = 0; i < m * m; i++)
        if (fabs(Pinf[i]) > ZERO_PINF)
            return 0;
    memset(Pinf, 0, m * m * sizeof(double));
    return 1;
}

/* -------------------------------------------------------------- filter */

/* Storage the filter fills when non-NULL (loglik-only runs pass NULL). */
static int run_filter(const st_ssm *s, const double *y, size_t n, st_kalman_ll *ll,
                      st_kalman_out *o, st_err *e)
{
    kf_work w;
    int rc = work_init(&w, s, e);
    if (rc < 0)
        return rc;
    size_t m = s->m, p = s->p;
    memset(ll, 0, sizeof *ll);
    int diffuse = !pinf_is_zero(w.Pinf, m);
    int steady = 0, settled = 0;
    size_t steady_src = 0; /* step whose filtered P holds in steady state */
    const double LOG2PI = 1.8378770664093454836;
    double llsum = 0;

    for (size_t t = 0; t < n; t++) {
        const double *yt = y + t * p;
        const double *Z = s->Zt ? s->Zt + t * p * m : s->Z;
        const double *dd = s->dt ? s->dt + t * p : s->d;
        int complete = 1;
        for (size_t i = 0; i < p; i++)
            if (isnan(yt[i]))
                complete = 0;
        if (steady && !complete)
            steady = 0; /* P is still the steady P_pred: resume full updates */
        if (diffuse)
            ll->d = t + 1;
        if (o && o->a_pred)
            memcpy(o->a_pred + t * m, w.a, m * sizeof(double));
        if (o && o->P_pred) {
            memcpy(o->P_pred + t * m * m, w.P, m * m * sizeof(double));
            memcpy(o->Pinf_pred + t * m * m, w.Pinf, m * m * sizeof(double));
        }
        if (!steady && !diffuse && complete && !s->Zt) {
            for (size_t k = 0; k < m; k++)
                w.dold[k] = w.P[k * m + k];
            if (settled)
                memcpy(w.Pold, w.P, m * m * sizeof(double));
        }
        for (size_t i = 0; i < p; i++) {
            size_t ti = t * p + i;
            if (o) {
                o->v[ti] = NAN;
                o->F[ti] = NAN;
                o->Finf[ti] = 0;
                o->kind_[ti] = 0;
            }
            if (isnan(yt[i])) {
                if (o) {
                    /* prediction variance of the missing point, for tables */
                    const double *z = Z + i * m;
                    symv_sparse(w.P, z, w.M, m);
                    o->F[ti] = dot(z, w.M, m) + s->H[i * p + i];
                    if (diffuse) {
                        symv_sparse(w.Pinf, z, w.Minf, m);
                        o->Finf[ti] = dot(z, w.Minf, m);
                    }
                }
                continue;
            }
            if (!isfinite(yt[i]))
                return work_free(&w), st_err_set(e, ST_EDATA, NULL, 0, 0, "observation %zu is infinite", t + 1);
            const double *z = Z + i * m;
            double h = s->H[i * p + i];
            double v = yt[i] - dd[i] - dot(z, w.a, m);
            double F;
            double *M = w.M;
            if (steady) {
                M = w.Mc + i * m;
                F = w.Fc[i];
            } else {
                symv_sparse(w.P, z, M, m);
                F = dot(z, M, m) + h;
            }
            if (diffuse) {
                symv_sparse(w.Pinf, z, w.Minf, m);
                double Finf = dot(z, w.Minf, m);
                double zz = dot(z, z, m);
                if (Finf > TOL_FINF * fmax(zz, 1e-300)) {
                    /* diffuse step: a += Minf v / Finf; Pstar, Pinf updates */
                    double *Mi = w.Minf;
                    for (size_t k = 0; k < m; k++)
                        w.a[k] += Mi[k] * v / Finf;
                    double f2 = F / (Finf * Finf);
                    for (size_t k = 0; k < m; k++)
                        for (size_t l = 0; l < m; l++) {
                            w.P[k * m + l] += Mi[k] * Mi[l] * f2 - (M[k] * Mi[l] + Mi[k] * M[l]) / Finf;
                            w.Pinf[k * m + l] -= Mi[k] * Mi[l] / Finf;
                        }
                    ll->sum_logFinf += log(Finf);
                    ll->ndiffuse++;
                    if (o) {
                        o->v[ti] = v;
                        o->F[ti] = F;
                        o->Finf[ti] = Finf;
                        o->kind_[ti] = 1;
                        memcpy(o->M_ + ti * m, M, m * sizeof(double));
                        memcpy(o->Minf_ + ti * m, Mi, m * sizeof(double));
                    }
                    continue;
                }
            }
            if (!isfinite(F) || !isfinite(v))
                return work_free(&w), st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "numerical breakdown at observation %zu: the prediction %s is not finite (the model's variances or states overflow double precision)", t + 1, isfinite(v) ? "variance" : "error");
            if (!(F > 0)) {
                /* z'Pz + h == 0: y_i is a deterministic function of the past;
                 * z'Pz + h < 0: rounding destroyed the covariance */
                if (F < -1e-12 * (h + fabs(dot(z, M, m))))
                    return work_free(&w), st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "numerical breakdown at observation %zu: the prediction variance is negative (%g; variances of very different sizes exceed double precision)", t + 1, F);
                if (fabs(v) > 1e-8 * (1 + fabs(yt[i])))
                    return work_free(&w), st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "observation %zu has zero prediction variance but a non-zero prediction error", t + 1);
                continue;
            }
            for (size_t k = 0; k < m; k++)
                w.a[k] += M[k] * v / F;
            if (!steady) {
                /* P -= M M' / F as (M / sqrt F)(M / sqrt F)': exactly
                 * symmetric, and no overflow of M_k M_l when the variances
                 * are near the top of the double range */
                double sF = 1 / sqrt(F), *Ms = w.Ms;
                for (size_t k = 0; k < m; k++)
                    Ms[k] = M[k] * sF;
                for (size_t k = 0; k < m; k++) {
                    double mk = Ms[k];
                    double *pk = w.P + k * m;
                    if (mk == 0)
                        continue;
#pragma omp simd
                    for (size_t l = 0; l < m; l++)
                        pk[l] -= mk * Ms[l];
                }
            }
            ll->sum_logF += log(F);
            ll->sum_v2F += v * v / F;
            ll->nreg++;
            if (o) {
                o->v[ti] = v;
                o->F[ti] = F;
                o->kind_[ti] = 2;
                memcpy(o->M_ + ti * m, M, m * sizeof(double));
            }
            if (!steady && !diffuse && complete && !s->Zt) {
                memcpy(w.Mc + i * m, M, m * sizeof(double));
                w.Fc[i] = F;
            }
        }
        if (diffuse)
            diffuse = !pinf_is_zero(w.Pinf, m);
        if (o && o->a_filt)
            memcpy(o->a_filt + t * m, w.a, m * sizeof(double));
        if (o && o->P_filt) {
            /* In steady state w.P is the (fixed) predicted covariance, never
             * updated: the filtered one is the one of the step that reached
             * steady state. */
            const double *Pf = steady ? o->P_filt + steady_src * m * m : w.P;
            memcpy(o->P_filt + t * m * m, Pf, m * m * sizeof(double));
        }
        predict_mean(&w, s);
        if (!steady) {
            int was_regular = !diffuse && complete && !s->Zt && ll->d <= t;
            predict_cov(&w, w.P, 1);
            if (diffuse)
                predict_cov(&w, w.Pinf, 0);
            if (was_regular) {
                /* the diagonal first: it rules steady state out cheaply;
                 * once it has settled, the next steps keep a full copy of
                 * P for the full comparison */
                double diff = 0, scale = 0;
                for (size_t k = 0; k < m; k++) {
                    double dk = fabs(w.P[k * m + k] - w.dold[k]), sk = fabs(w.P[k * m + k]);
                    diff = dk > diff ? dk : diff;
                    scale = sk > scale ? sk : scale;
                }
                int was_settled = settled;
                settled = diff <= TOL_STEADY * scale;
                if (settled && was_settled) {
                    for (size_t k = 0; k < m * m; k++) {
                        double dk = fabs(w.P[k] - w.Pold[k]), sk = fabs(w.P[k]);
                        diff = dk > diff ? dk : diff;
                        scale = sk > scale ? sk : scale;
                    }
                    if (diff <= TOL_STEADY * scale) {
                        steady = 1;
                        steady_src = t;
                    }
                }
            }
        }
    }
    if (o && o->a_pred) {
        memcpy(o->a_pred + n * m, w.a, m * sizeof(double));
        if (o->P_pred) {
            memcpy(o->P_pred + n * m * m, w.P, m * m * sizeof(double));
            memcpy(o->Pinf_pred + n * m * m, w.Pinf, m * m * sizeof(double));
        }
    }
    if (o && o->P_last)
        memcpy(o->P_last, w.P, m * m * sizeof(double));
    ll->diffuse_left = diffuse;
    llsum = -0.5 * ((double)ll->nreg * LOG2PI + ll->sum_logF + ll->sum_v2F) - 0.5 * ll->sum_logFinf;
    ll->loglik = llsum;
    work_free(&w);
    return 0;
}

int st_kalman_loglik(const st_ssm *s, const double *y, size_t n, st_kalman_ll *ll, st_err *e)
{
    return run_filter(s, y, n, ll, NULL, e);
}

void st_kalman_out_free(st_kalman_out *o)
{
    if (!o)
        return;
    free(o->a_pred);
    free(o->P_pred);
    free(o->Pinf_pred);
    free(o->a_filt);
    free(o->P_filt);
    free(o->v);
    free(o->F);
    free(o->Finf);
    free(o->a_smooth);
    free(o->V_smooth);
    free(o->eps_hat);
    free(o->eps_var);
    free(o->eta_hat);
    free(o->eta_var);
    free(o->M_);
    free(o->Minf_);
    free(o->kind_);
    free(o->P_last);
    memset(o, 0, sizeof *o);
}

/* The filter's storage: with covariances, the n x m x m predicted and
 * filtered covariances too (what the smoother needs). */
static int filter_alloc(const st_ssm *s, size_t n, int covariances, st_kalman_out *o, st_err *e)
{
    size_t m = s->m, p = s->p, nn = n ? n : 1;
    memset(o, 0, sizeof *o);
    o->n = n;
    o->p = p;
    o->m = m;
    o->r = s->r;
    double bytes = st_kalman_storage_bytes(n, p, m, covariances);
    if (bytes > ST_KALMAN_MAX_BYTES)
        return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "Kalman filter storage for n=%zu points and m=%zu states would take %.3g GB (limit %.3g GB)%s", n, m, bytes / 1e9, ST_KALMAN_MAX_BYTES / 1e9, covariances ? ": the smoothed output needs n x m x m numbers" : "");
    o->a_pred = malloc((n + 1) * m * sizeof(double));
    o->a_filt = malloc(nn * m * sizeof(double));
    o->v = malloc(nn * p * sizeof(double));
    o->F = malloc(nn * p * sizeof(double));
    o->Finf = malloc(nn * p * sizeof(double));
    o->M_ = malloc(nn * p * m * sizeof(double));
    o->Minf_ = malloc(nn * p * m * sizeof(double));
    o->kind_ = malloc(nn * p);
    o->P_last = malloc(m * m * sizeof(double));
    int ok = o->a_pred && o->a_filt && o->v && o->F && o->Finf && o->M_ && o->Minf_ && o->kind_ && o->P_last;
    if (ok && covariances) {
        o->P_pred = malloc((n + 1) * m * m * sizeof(double));
        o->Pinf_pred = malloc((n + 1) * m * m * sizeof(double));
        o->P_filt = malloc(nn * m * m * sizeof(double));
        ok = o->P_pred && o->Pinf_pred && o->P_filt;
    }
    if (!ok) {
        st_kalman_out_free(o);
        return st_err_nomem(e, "Kalman filter output");
    }
    return 0;
}

double st_kalman_storage_bytes(size_t n, size_t p, size_t m, int covariances)
{
    double N = (double)n + 1, M = (double)m, P = (double)p;
    double per = 2 * M + 3 * P + 2 * P * M + P / 8;
    if (covariances)
        per += 3 * M * M;
    return 8 * (N * per + M * M);
}

static int filter_run(const st_ssm *s, const double *y, size_t n, int covariances,
                      st_kalman_out *o, st_err *e)
{
    int rc = filter_alloc(s, n, covariances, o, e);
    if (rc < 0)
        return rc;
    if ((rc = run_filter(s, y, n, &o->ll, o, e)) < 0)
        st_kalman_out_free(o);
    return rc;
}

int st_kalman_filter(const st_ssm *s, const double *y, size_t n, st_kalman_out *o, st_err *e)
{
    return filter_run(s, y, n, 1, o, e);
}

int st_kalman_filter_light(const st_ssm *s, const double *y, size_t n, st_kalman_out *o, st_err *e)
{
    return filter_run(s, y, n, 0, o, e);
}

/* ------------------------------------------------------------ smoother */

/* N <- L' N L with L = I - K z', N symmetric m x m (every N of the
 * smoothers is); scratch u (m), w unused. */
static void lnl(double *N, const double *K, const double *z, size_t m, double *u, double *w)
{
    (void)w;
    for (size_t i = 0; i < m; i++)
        u[i] = dot(N + i * m, K, m);
    double sk = dot(K, u, m);
    for (size_t i = 0; i < m; i++) {
        double zi = z[i], ui = u[i];
        double *ni = N + i * m;
#pragma omp simd
        for (size_t j = 0; j < m; j++)
            ni[j] += -zi * u[j] - ui * z[j] + sk * zi * z[j];
    }
}

/* X <- T' X T (X symmetric m x m): Y = T'X by scatter-adding rows of X
 * (contiguous), then the lower triangle of Y T by gathering Y[i][k] over
 * the non-zeros of each column of T; mirrored.  Scratch tmp m x m. */
static void mul_TtXT(const kf_work *w, double *X, double *tmp)
{
    size_t m = w->m;
    memset(tmp, 0, m * m * sizeof(double));
    for (size_t i = 0; i < m; i++)
        for (size_t k = w->rowptr[i]; k < w->rowptr[i + 1]; k++) {
            double *tj = tmp + w->col[k] * m;
            const double *xi = X + i * m;
            double tv = w->val[k];
#pragma omp simd
            for (size_t l = 0; l < m; l++)
                tj[l] += tv * xi[l];
        }
    for (size_t i = 0; i < m; i++) {
        const double *yi = tmp + i * m;
        for (size_t j = 0; j <= i; j++) {
            double acc = 0;
            for (size_t k = w->colptr[j]; k < w->colptr[j + 1]; k++)
                acc += yi[w->row[k]] * w->cval[k];
            X[i * m + j] = acc;
            X[j * m + i] = acc;
        }
    }
}

static void mul_Ttr(const kf_work *w, double *r, double *tmp)
{
    size_t m = w->m;
    memset(tmp, 0, m * sizeof(double));
    for (size_t i = 0; i < m; i++)
        for (size_t k = w->rowptr[i]; k < w->rowptr[i + 1]; k++)
            tmp[w->col[k]] += w->val[k] * r[i];
    memcpy(r, tmp, m * sizeof(double));
}

int st_kalman_smooth(const st_ssm *s, const double *y, size_t n, st_kalman_out *o, st_err *e)
{
    double dm = (double)s->m, dr = (double)s->r;
    double bytes = st_kalman_storage_bytes(n, s->p, s->m, 1) + 8 * ((double)n + 1) * (dm * dm + dr * dr + 2 * dm + 2 * (double)s->p + dr);
    if (bytes > ST_KALMAN_MAX_BYTES) {
        memset(o, 0, sizeof *o);
        return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "Kalman smoother storage for n=%zu points and m=%zu states would take %.3g GB (limit %.3g GB): the smoothed output needs n x m x m numbers", n, s->m, bytes / 1e9, ST_KALMAN_MAX_BYTES / 1e9);
    }
    int rc = st_kalman_filter(s, y, n, o, e);
    if (rc < 0)
        return rc;
    size_t m = s->m, p = s->p, r = s->r;
    size_t nn = n ? n : 1;
    o->a_smooth = malloc(nn * m * sizeof(double));
    o->V_smooth = malloc(nn * m * m * sizeof(double));
    o->eps_hat = malloc(nn * p * sizeof(double));
    o->eps_var = malloc(nn * p * sizeof(double));
    o->eta_hat = malloc(nn * (r ? r : 1) * sizeof(double));
    o->eta_var = malloc(nn * (r ? r * r : 1) * sizeof(double));
    kf_work w;
    double *buf = malloc((5 * m * m + 8 * m + 2 * m * (r ? r : 1)) * sizeof(double));
    if (!o->a_smooth || !o->V_smooth || !o->eps_hat || !o->eps_var || !o->eta_hat || !o->eta_var || !buf) {
        free(buf);
        st_kalman_out_free(o);
        return st_err_nomem(e, "Kalman smoother output");
    }
    if ((rc = work_init(&w, s, e)) < 0) {
        free(buf);
        st_kalman_out_free(o);
        return rc;
    }
    double *N0 = buf, *N1 = N0 + m * m, *N2 = N1 + m * m, *T1 = N2 + m * m, *T2 = T1 + m * m;
    double *r0 = T2 + m * m, *r1 = r0 + m, *u = r1 + m, *wv = u + m, *K0 = wv + m, *K1 = K0 + m;
    double *u2 = K1 + m, *w2 = u2 + m, *RQ = w2 + m; /* RQ: m x r = R Q */
    memset(N0, 0, 3 * m * m * sizeof(double));
    memset(r0, 0, 2 * m * sizeof(double));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < r; j++) {
            double acc = 0;
            for (size_t k = 0; k < r; k++)
                acc += s->R[i * r + k] * s->Q[k * r + j];
            RQ[i * r + j] = acc;
        }

    for (size_t tt = n; tt-- > 0;) {
        /* eta_t = Q R' r_{t+1,0} */
        for (size_t j = 0; j < r; j++) {
            double acc = 0;
            for (size_t i = 0; i < m; i++)
                acc += RQ[i * r + j] * r0[i];
            o->eta_hat[tt * r + j] = acc;
        }
        for (size_t j = 0; j < r; j++)
            for (size_t k = 0; k < r; k++) {
                double acc = 0;
                for (size_t i = 0; i < m; i++) {
                    double ni = 0;
                    for (size_t l = 0; l < m; l++)
                        ni += N0[i * m + l] * RQ[l * r + k];
                    acc += RQ[i * r + j] * ni;
                }
                o->eta_var[tt * r * r + j * r + k] = s->Q[j * r + k] - acc;
            }
        if (tt + 1 < n) {
            /* cross the time boundary: r_{t,p} = T' r_{t+1,0} */
            mul_Ttr(&w, r0, u);
            mul_Ttr(&w, r1, u);
            mul_TtXT(&w, N0, T1);
            mul_TtXT(&w, N1, T1);
            mul_TtXT(&w, N2, T1);
        }
        const double *Z = s->Zt ? s->Zt + tt * p * m : s->Z;
        for (size_t i = p; i-- > 0;) {
            size_t ti = tt * p + i;
            int kind = o->kind_[ti];
            if (!kind)
                continue;
            const double *z = Z + i * m;
            const double *M = o->M_ + ti * m;
            double v = o->v[ti], F = o->F[ti];
            if (kind == 2) {
                for (size_t k = 0; k < m; k++)
                    K0[k] = M[k] / F;
                double kr = dot(K0, r0, m);
                for (size_t k = 0; k < m; k++)
                    r0[k] += z[k] * (v / F - kr);
                lnl(N0, K0, z, m, u, wv);
                for (size_t k = 0; k < m; k++)
                    for (size_t l = 0; l < m; l++)
                        N0[k * m + l] += z[k] * z[l] / F;
                /* D&K 2012 (5.26) has N1 <- N1 L0 and r1 unchanged here; as
                 * P_inf z = 0 at this step, L0' on the left is invisible to
                 * every later product with P_inf, so the symmetric L0'N1L0
                 * is equivalent and keeps N1 symmetric. */
                lnl(N1, K0, z, m, u, wv);
            } else {
                const double *Mi = o->Minf_ + ti * m;
                double Finf = o->Finf[ti];
                for (size_t k = 0; k < m; k++) {
                    K0[k] = Mi[k] / Finf;
                    K1[k] = M[k] / Finf - Mi[k] * F / (Finf * Finf);
                }
                /* r1 <- z v/Finf + L0' r1 + L1' r0 ; r0 <- L0' r0,  L1 = -K1 z' */
                double k0r1 = dot(K0, r1, m), k1r0 = dot(K1, r0, m), k0r0 = dot(K0, r0, m);
                for (size_t k = 0; k < m; k++) {
                    r1[k] += z[k] * (v / Finf - k0r1 - k1r0);
                    r0[k] -= z[k] * k0r0;
                }
                /* N2' = -zz' F/Finf^2 + L0'N2L0 + L0'N1L1 + L1'N1'L0 + L1'N0L1 */
                /* N1' = zz'/Finf + L0'N1L0 + L1'N0L0 + L0'N0L1 ; N0' = L0'N0L0 */
                /* cross terms with X = N0 (old) and Y = N1 (old):
                 * L1'X L0 = -z (X'K1)' + (K1'X K0) z z' ;  L0'X L1 = -(X K1) z' + (K0'X K1) z z'
                 * L1'X L1 = (K1'X K1) z z' */
                double *X = N0, *Y = N1;
                /* vectors */
                double *XtK1 = u, *XK1 = wv, *YtK1 = u2, *YK1 = w2;
                for (size_t k = 0; k < m; k++) {
                    double a = 0, b = 0, c2 = 0, d2 = 0;
                    for (size_t l = 0; l < m; l++) {
                        a += X[l * m + k] * K1[l];
                        b += X[k * m + l] * K1[l];
                        c2 += Y[l * m + k] * K1[l];
                        d2 += Y[k * m + l] * K1[l];
                    }
                    XtK1[k] = a;
                    XK1[k] = b;
                    YtK1[k] = c2;
                    YK1[k] = d2;
                }
                double k1xk0 = dot(K0, XtK1, m); /* K1'X K0 */
                double k0xk1 = dot(K0, XK1, m);  /* K0'X K1 */
                double k1xk1 = dot(K1, XK1, m);
                double k1yk0 = dot(K0, YtK1, m);
                double k0yk1 = dot(K0, YK1, m);
                /* new N2 into T2 */
                memcpy(T2, N2, m * m * sizeof(double));
                lnl(T2, K0, z, m, T1, T1 + m);
                for (size_t k = 0; k < m; k++)
                    for (size_t l = 0; l < m; l++)
                        T2[k * m + l] += -z[k] * z[l] * F / (Finf * Finf)
                                         /* L0'Y L1 */ - YK1[k] * z[l] + k0yk1 * z[k] * z[l]
                                         /* L1'Y' L0 = (L0'Y L1)' */ - z[k] * YK1[l] + k0yk1 * z[k] * z[l]
                                         /* L1'X L1 */ + k1xk1 * z[k] * z[l];
                (void)k1yk0;
                /* new N1 into T1-free buffer: reuse N1 in place after computing */
                double *N1new = T1;
                memcpy(N1new, N1, m * m * sizeof(double));
                lnl(N1new, K0, z, m, u2, w2); /* L0'N1L0: u2/w2 no longer needed */
                for (size_t k = 0; k < m; k++)
                    for (size_t l = 0; l < m; l++)
                        N1new[k * m + l] += z[k] * z[l] / Finf
                                            /* L1'X L0 */ - z[k] * XtK1[l] + k1xk0 * z[k] * z[l]
                                            /* L0'X L1 */ - XK1[k] * z[l] + k0xk1 * z[k] * z[l];
                lnl(N0, K0, z, m, u2, w2);
                memcpy(N1, N1new, m * m * sizeof(double));
                memcpy(N2, T2, m * m * sizeof(double));
            }
        }
        /* smoothed state */
        const double *a = o->a_pred + tt * m, *P = o->P_pred + tt * m * m, *Pi = o->Pinf_pred + tt * m * m;
        double *as = o->a_smooth + tt * m, *V = o->V_smooth + tt * m * m;
        int dif = tt < o->ll.d;
        for (size_t k = 0; k < m; k++)
            as[k] = a[k] + dot(P + k * m, r0, m) + (dif ? dot(Pi + k * m, r1, m) : 0);
        /* V = P - P N0 P - (Pi N1 P)' - Pi N1 P - Pi N2 Pi */
        for (size_t k = 0; k < m; k++)
            for (size_t l = 0; l < m; l++) {
                double acc = 0;
                for (size_t q = 0; q < m; q++)
                    acc += N0[k * m + q] * P[q * m + l];
                T1[k * m + l] = acc; /* N0 P */
            }
        for (size_t k = 0; k < m; k++)
            for (size_t l = 0; l < m; l++) {
                double acc = 0;
                for (size_t q = 0; q < m; q++)
                    acc += P[k * m + q] * T1[q * m + l];
                V[k * m + l] = P[k * m + l] - acc;
            }
        if (dif) {
            /* A = Pi N1 P ; B = Pi N2 Pi */
            for (size_t k = 0; k < m; k++)
                for (size_t l = 0; l < m; l++) {
                    double acc = 0, acc2 = 0;
                    for (size_t q = 0; q < m; q++) {
                        acc += N1[k * m + q] * P[q * m + l];
                        acc2 += N2[k * m + q] * Pi[q * m + l];
                    }
                    T1[k * m + l] = acc;  /* N1 P */
                    T2[k * m + l] = acc2; /* N2 Pi */
                }
            for (size_t k = 0; k < m; k++)
                for (size_t l = 0; l < m; l++) {
                    double a1 = 0, a2 = 0, a3 = 0;
                    for (size_t q = 0; q < m; q++) {
                        a1 += Pi[k * m + q] * T1[q * m + l]; /* (Pi N1 P)[k,l] */
                        a2 += Pi[l * m + q] * T1[q * m + k]; /* (Pi N1 P)[l,k] */
                        a3 += Pi[k * m + q] * T2[q * m + l];
                    }
                    V[k * m + l] -= a1 + a2 + a3;
                }
        }
        for (size_t k = 0; k < m; k++)
            for (size_t l = 0; l < k; l++) {
                double x = 0.5 * (V[k * m + l] + V[l * m + k]);
                V[k * m + l] = x;
                V[l * m + k] = x;
            }
        /* eps: y - d - z'alpha_hat, conditional variance z'Vz; missing: 0, h */
        const double *dd = s->dt ? s->dt + tt * p : s->d;
        for (size_t i = 0; i < p; i++) {
            size_t ti = tt * p + i;
            const double *z = Z + i * m;
            if (isnan(y[ti])) {
                o->eps_hat[ti] = 0;
                o->eps_var[ti] = s->H[i * p + i];
            } else {
                o->eps_hat[ti] = y[ti] - dd[i] - dot(z, as, m);
                symv(V, z, u, m);
                o->eps_var[ti] = dot(z, u, m);
            }
        }
    }
    free(buf);
    work_free(&w);
    return 0;
}

/* ------------------------------------------------------------ forecast */

int st_kalman_forecast(const st_ssm *s, const st_kalman_out *o, size_t h, const double *Zf,
                       const double *df, double *mean, double *var, double *amean,
                       double *avar, st_err *e)
{
    size_t m = s->m, p = s->p, n = o->n;
    if (o->ll.diffuse_left)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "too few observations: the initial state is still diffuse after %zu points", n);
    kf_work w;
    int rc = work_init(&w, s, e);
    if (rc < 0)
        return rc;
    memcpy(w.a, o->a_pred + n * m, m * sizeof(double));
    memcpy(w.P, o->P_last, m * m * sizeof(double));
    for (size_t k = 0; k < h; k++) {
        const double *Z = Zf ? Zf + k * p * m : s->Z;
        const double *dd = df ? df + k * p : s->d;
        if (amean)
            memcpy(amean + k * m, w.a, m * sizeof(double));
        if (avar)
            memcpy(avar + k * m * m, w.P, m * m * sizeof(double));
        for (size_t i = 0; i < p; i++) {
            const double *z = Z + i * m;
            mean[k * p + i] = dd[i] + dot(z, w.a, m);
            symv(w.P, z, w.M, m);
            var[k * p + i] = dot(z, w.M, m) + s->H[i * p + i];
        }
        predict_mean(&w, s);
        predict_cov(&w, w.P, 1);
    }
    work_free(&w);
    return 0;
}

/* ------------------------------------------------- disturbance moments */

int st_kalman_disturbance_moments(const st_ssm *s, const double *y, size_t n, st_kalman_ll *ll,
                                  double *eps_m2, double *eps_var, double *eta_m2, double *eta_var,
                                  st_err *e)
{
    size_t m = s->m, p = s->p, r = s->r, nn = n ? n : 1;
    st_kalman_out o;
    memset(&o, 0, sizeof o);
    o.n = n, o.p = p, o.m = m, o.r = r;
    o.v = malloc(nn * p * sizeof(double));
    o.F = malloc(nn * p * sizeof(double));
    o.Finf = malloc(nn * p * sizeof(double));
    o.M_ = malloc(nn * p * m * sizeof(double));
    o.Minf_ = malloc(nn * p * m * sizeof(double));
    o.kind_ = malloc(nn * p);
    double *buf = malloc((2 * m * m + 6 * m + 2 * m * (r ? r : 1)) * sizeof(double));
    kf_work w;
    int rc;
    if (!o.v || !o.F || !o.Finf || !o.M_ || !o.Minf_ || !o.kind_ || !buf) {
        free(buf);
        st_kalman_out_free(&o);
        return st_err_nomem(e, "Kalman smoother");
    }
    if ((rc = run_filter(s, y, n, ll, &o, e)) < 0 || (rc = work_init(&w, s, e)) < 0) {
        free(buf);
        st_kalman_out_free(&o);
        return rc;
    }
    double *N = buf, *rv = N + m * m, *u = rv + m, *wv = u + m, *K = wv + m;
    double *RQ = K + m;               /* m x r */
    double *T1 = RQ + m * (r ? r : 1); /* m x m + m scratch */
    memset(N, 0, m * m * sizeof(double));
    memset(rv, 0, m * sizeof(double));
    memset(eps_m2, 0, p * sizeof(double));
    memset(eps_var, 0, p * sizeof(double));
    memset(eta_m2, 0, r * sizeof(double));
    memset(eta_var, 0, r * sizeof(double));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < r; j++) {
            double acc = 0;
            for (size_t k = 0; k < r; k++)
                acc += s->R[i * r + k] * s->Q[k * r + j];
            RQ[i * r + j] = acc;
        }
    for (size_t tt = n; tt-- > 0;) {
        /* eta_t = Q R' r, Var = Q - Q R' N R Q (diagonal only) */
        for (size_t j = 0; j < r; j++) {
            double mean = 0, quad = 0;
            for (size_t i = 0; i < m; i++) {
                double rqi = RQ[i * r + j];
                if (rqi == 0)
                    continue;
                mean += rqi * rv[i];
                for (size_t l = 0; l < m; l++)
                    quad += rqi * N[i * m + l] * RQ[l * r + j];
            }
            eta_m2[j] += mean * mean;
            eta_var[j] += s->Q[j * r + j] - quad;
        }
        if (tt + 1 < n) {
            mul_Ttr(&w, rv, u);
            mul_TtXT(&w, N, T1);
        }
        const double *Z = s->Zt ? s->Zt + tt * p * m : s->Z;
        for (size_t i = p; i-- > 0;) {
            size_t ti = tt * p + i;
            double h = s->H[i * p + i];
            int kind = o.kind_[ti];
            if (!kind) {
                eps_var[i] += h; /* missing: eps_hat = 0, Var = h */
                continue;
            }
            const double *z = Z + i * m;
            double v = o.v[ti], F = o.F[ti];
            const double *M = kind == 1 ? o.Minf_ + ti * m : o.M_ + ti * m;
            double Fk = kind == 1 ? o.Finf[ti] : F;
            for (size_t k = 0; k < m; k++)
                K[k] = M[k] / Fk;
            /* eps: kind 2: h (v/F - K'r), h - h^2 (1/F + K'NK); kind 1: -h K0'r0, h - h^2 K0'N0K0 */
            double kr = dot(K, rv, m);
            symv(N, K, u, m); /* N symmetric */
            double knk = dot(K, u, m);
            double eh = kind == 2 ? h * (v / F - kr) : -h * kr;
            double ev = kind == 2 ? h - h * h * (1 / F + knk) : h - h * h * knk;
            eps_m2[i] += eh * eh;
            eps_var[i] += ev;
            if (kind == 2)
                for (size_t k = 0; k < m; k++)
                    rv[k] += z[k] * (v / F - kr);
            else
                for (size_t k = 0; k < m; k++)
                    rv[k] -= z[k] * kr;
            /* N <- L'NL (+ zz'/F when regular), L = I - K z': N - z u' -
             * u z' + c z z' with u = N K, c = K'NK (+ 1/F); only the rows
             * and columns where z is non-zero change */
            size_t nz = 0;
            for (size_t k = 0; k < m; k++)
                if (z[k] != 0)
                    wv[nz++] = (double)k;
            double cc = knk + (kind == 2 ? 1 / F : 0);
            for (size_t q = 0; q < nz; q++) {
                size_t a = (size_t)wv[q];
                double za = z[a];
                double *na = N + a * m;
                for (size_t l = 0; l < m; l++)
                    na[l] -= za * u[l];
            }
            for (size_t q = 0; q < nz; q++) {
                size_t b = (size_t)wv[q];
                double zb = z[b];
                for (size_t k = 0; k < m; k++)
                    N[k * m + b] -= u[k] * zb;
            }
            for (size_t q = 0; q < nz; q++)
                for (size_t q2 = 0; q2 < nz; q2++) {
                    size_t a = (size_t)wv[q], b = (size_t)wv[q2];
                    N[a * m + b] += cc * z[a] * z[b];
                }
        }
    }
    free(buf);
    work_free(&w);
    st_kalman_out_free(&o);
    return 0;
}

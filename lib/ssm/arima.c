/* ARIMA / SARIMA likelihood, estimation and forecasts (see arima.h).
 *
 * The Kalman filter here is R's state-space form of an ARIMA model (the
 * ARMA states in Harvey's form followed by the d + sD lagged values the
 * differencing needs) with R's large-kappa start; its transition is a
 * companion matrix, so T P T' is a few row combinations instead of a
 * dense product, and the covariance stops being updated once it has
 * converged (steady state, resumed at a missing value).  The exact
 * diffuse likelihood goes through the general filter of kalman.c. */
#include "config.h"

#include "ssm/arima.h"

#include <complex.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/optim.h"
#include "ssm/internal.h"
#include "ssm/kalman.h"

#define KAPPA 1e6         /* R's kappa: prior variance of the lagged values */
#define GAIN_DIFFUSE 1e4  /* R leaves out steps whose F is at least this */
#define TOL_STEADY 1e-13  /* relative change of P_pred that counts as converged */

/* ------------------------------------------------------------- the spec */

size_t st_arima_narma(const st_arima_spec *s)
{
    return (size_t)(s->p + s->q + s->P + s->Q);
}

int st_arima_has_intercept(const st_arima_spec *s)
{
    return s->mean && s->d + s->D == 0;
}

size_t st_arima_nxreg(const st_arima_spec *s)
{
    return (size_t)st_arima_has_intercept(s) + (size_t)(s->drift != 0) + s->nreg;
}

size_t st_arima_ncoef(const st_arima_spec *s)
{
    return st_arima_narma(s) + st_arima_nxreg(s);
}

int st_arima_check_spec(const st_arima_spec *s, st_err *e)
{
    if (s->p < 0 || s->q < 0 || s->d < 0 || s->p > ST_ARIMA_MAXORDER || s->q > ST_ARIMA_MAXORDER || s->d > 3)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "ARIMA orders p and q must be from 0 to %d and d from 0 to 3", ST_ARIMA_MAXORDER);
    if (s->P < 0 || s->Q < 0 || s->D < 0 || s->P > ST_ARIMA_MAXSORDER || s->Q > ST_ARIMA_MAXSORDER || s->D > 2)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "seasonal ARIMA orders P and Q must be from 0 to %d and D from 0 to 2", ST_ARIMA_MAXSORDER);
    if (s->s < 1 || s->s > ST_ARIMA_MAXPERIOD)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "ARIMA seasonal period must be from 1 to %d, not %d", ST_ARIMA_MAXPERIOD, s->s);
    if (s->s == 1 && s->P + s->D + s->Q > 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a seasonal ARIMA part needs a period of at least 2 ([s] or --period)");
    if (s->drift && s->d + s->D > 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "an ARIMA drift needs at most one difference in all (d + D <= 1), as in R's Arima");
    if (s->nreg > ST_ARIMA_MAXREG)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "ARIMA models take at most %d regressors, not %zu", ST_ARIMA_MAXREG, s->nreg);
    return 0;
}

const char *st_arima_coef_name(const st_arima_spec *s, size_t i, const char *const *regname,
                               char *buf, size_t n)
{
    size_t k = i;
    if (k < (size_t)s->p) {
        snprintf(buf, n, "ar%zu", k + 1);
        return buf;
    }
    k -= (size_t)s->p;
    if (k < (size_t)s->q) {
        snprintf(buf, n, "ma%zu", k + 1);
        return buf;
    }
    k -= (size_t)s->q;
    if (k < (size_t)s->P) {
        snprintf(buf, n, "sar%zu", k + 1);
        return buf;
    }
    k -= (size_t)s->P;
    if (k < (size_t)s->Q) {
        snprintf(buf, n, "sma%zu", k + 1);
        return buf;
    }
    k -= (size_t)s->Q;
    if (st_arima_has_intercept(s)) {
        if (k == 0) {
            snprintf(buf, n, "intercept");
            return buf;
        }
        k--;
    }
    if (s->drift) {
        if (k == 0) {
            snprintf(buf, n, "drift");
            return buf;
        }
        k--;
    }
    if (regname && regname[k])
        snprintf(buf, n, "%s", regname[k]);
    else if (s->nreg == 1)
        snprintf(buf, n, "xreg");
    else
        snprintf(buf, n, "xreg%zu", k + 1);
    return buf;
}

const char *st_arima_name(const st_arima_spec *s, char *buf, size_t n)
{
    char core[96];
    int len = snprintf(core, sizeof core, "ARIMA(%d,%d,%d)", s->p, s->d, s->q);
    if (s->s > 1 && s->P + s->D + s->Q > 0)
        snprintf(core + len, sizeof core - (size_t)len, "(%d,%d,%d)[%d]", s->P, s->D, s->Q, s->s);
    if (s->nreg > 0)
        snprintf(buf, n, "Regression with %s errors", core);
    else if (s->drift)
        snprintf(buf, n, "%s with drift", core);
    else if (st_arima_has_intercept(s))
        snprintf(buf, n, "%s with non-zero mean", core);
    else if (s->d + s->D == 0)
        snprintf(buf, n, "%s with zero mean", core);
    else
        snprintf(buf, n, "%s", core);
    return buf;
}

/* (1 - B)^d (1 - B^s)^D = 1 - delta_1 B - ... - delta_nd B^nd */
static size_t make_delta(const st_arima_spec *s, double *delta)
{
    size_t nd = (size_t)s->d + (size_t)s->s * (size_t)s->D;
    double *poly = calloc(nd + 1, sizeof *poly);
    if (!poly)
        return (size_t)-1;
    poly[0] = 1;
    size_t len = 1;
    for (int i = 0; i < s->d + s->D; i++) {
        size_t lag = i < s->d ? 1 : (size_t)s->s;
        for (size_t j = len + lag; j-- > lag;)
            poly[j] -= poly[j - lag];
        len += lag;
    }
    for (size_t j = 1; j <= nd; j++)
        delta[j - 1] = -poly[j];
    free(poly);
    return nd;
}

void st_arima_expand(const st_arima_spec *s, const double *coef, int trans, double *phi,
                     double *theta)
{
    size_t p = (size_t)s->p, q = (size_t)s->q, P = (size_t)s->P, Q = (size_t)s->Q, ns = (size_t)s->s;
    const double *ma = coef + p, *sma = coef + p + q + P;
    double ar[ST_ARIMA_MAXORDER], sar[ST_ARIMA_MAXSORDER];
    if (trans) {
        st_tr_stationary_ar(coef, p, ar);
        st_tr_stationary_ar(coef + p + q, P, sar);
    } else {
        memcpy(ar, coef, p * sizeof *ar);
        memcpy(sar, coef + p + q, P * sizeof *sar);
    }
    size_t np = p + ns * P, nq = q + ns * Q;
    memset(phi, 0, (np ? np : 1) * sizeof *phi);
    memset(theta, 0, (nq ? nq : 1) * sizeof *theta);
    memcpy(phi, ar, p * sizeof *phi);
    memcpy(theta, ma, q * sizeof *theta);
    for (size_t j = 0; j < P; j++) {
        phi[(j + 1) * ns - 1] += sar[j];
        for (size_t i = 0; i < p; i++)
            phi[(j + 1) * ns + i] -= ar[i] * sar[j];
    }
    for (size_t j = 0; j < Q; j++) {
        theta[(j + 1) * ns - 1] += sma[j];
        for (size_t i = 0; i < q; i++)
            theta[(j + 1) * ns + i] += ma[i] * sma[j];
    }
}

/* --------------------------------------------------- stationary covariance */

/* 1 if the AR polynomial 1 - phi_1 z - ... - phi_p z^p has all its roots
 * outside the unit circle (the partial autocorrelations are inside
 * (-1, 1)). */
static int ar_stationary(const double *phi, size_t p)
{
    while (p > 0 && phi[p - 1] == 0)
        p--;
    if (p == 0)
        return 1;
    double u[ST_ARIMA_MAXORDER + 1];
    if (p > ST_ARIMA_MAXORDER) {
        /* a long (expanded) polynomial: by its roots */
        return st_arima_minroot(phi, p, -1) > 1;
    }
    return st_tr_stationary_ar_inv(phi, p, u) == 0;
}

int st_arima_q0(const double *phi, size_t np, const double *theta, size_t nq, double *Q0, st_err *e)
{
    size_t r = np > nq + 1 ? np : nq + 1;
    /* padded polynomials: ph[i] = phi_{i+1}, th[j] = theta_j (th[0] = 1) */
    double *ph = calloc(r + 1, sizeof *ph), *th = calloc(r + 1, sizeof *th);
    double *psi = calloc(r + 1, sizeof *psi), *gam = calloc(r + 2, sizeof *gam);
    double *A = calloc((np + 1) * (np + 1), sizeof *A), *b = calloc(np + 1, sizeof *b);
    int rc = 0;
    if (!ph || !th || !psi || !gam || !A || !b) {
        rc = st_err_nomem(e, "ARIMA covariance");
        goto out;
    }
    /* phi or theta may be NULL when its order is 0 (memcpy's arguments may not be) */
    if (np)
        memcpy(ph, phi, np * sizeof *ph);
    th[0] = 1;
    if (nq)
        memcpy(th + 1, theta, nq * sizeof *th);
    /* MA(infinity) weights psi_0..psi_r */
    for (size_t j = 0; j <= r; j++) {
        double v = j <= nq ? th[j] : 0;
        for (size_t i = 1; i <= j && i <= np; i++)
            v += phi[i - 1] * psi[j - i];
        psi[j] = v;
    }
    /* autocovariances: gamma(k) - sum_i phi_i gamma(|k - i|) = c_k,
     * c_k = sum_{j >= k} theta_j psi_{j-k}, solved for k = 0..np */
    for (size_t k = 0; k <= np; k++) {
        A[k * (np + 1) + k] += 1;
        for (size_t i = 1; i <= np; i++) {
            size_t l = k >= i ? k - i : i - k;
            A[k * (np + 1) + l] -= phi[i - 1];
        }
        double c = 0;
        for (size_t j = k; j <= nq; j++)
            c += th[j] * psi[j - k];
        b[k] = c;
    }
    if ((rc = st_lu_solve(A, np + 1, b, 1, e)) < 0) {
        rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "ARIMA: the AR part is not stationary");
        goto out;
    }
    for (size_t k = 0; k <= r + 1; k++) {
        if (k <= np) {
            gam[k] = b[k];
            continue;
        }
        double v = 0;
        for (size_t j = k; j <= nq; j++)
            v += th[j] * psi[j - k];
        for (size_t i = 1; i <= np; i++)
            v += phi[i - 1] * gam[k - i];
        gam[k] = v;
    }
    if (!(gam[0] > 0) || !isfinite(gam[0])) {
        rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "ARIMA: the AR part is not stationary");
        goto out;
    }
    /* first row: Cov(y_t, a_t[k]) = sum_m (phi_{k+1+m} gamma(m+1) + theta_{k+m} psi_m) */
    Q0[0] = gam[0];
    for (size_t k = 1; k < r; k++) {
        double v = 0;
        for (size_t m = 0; m + k < r; m++)
            v += ph[k + m] * gam[m + 1] + th[k + m] * psi[m];
        Q0[k] = v;
        Q0[k * r] = v;
    }
    /* the rest from a_{t+1}[i] = phi_{i+1} y_t + a_t[i+1] + theta_i e_{t+1}:
     * Q[i][j] = ph_i ph_j g0 + ph_i Q[0][j+1] + ph_j Q[0][i+1] + Q[i+1][j+1] + th_i th_j */
    for (size_t i = r; i-- > 1;)
        for (size_t j = r; j-- > i;) {
            double v = ph[i] * ph[j] * gam[0] + th[i] * th[j];
            if (i + 1 < r)
                v += ph[j] * Q0[i + 1];
            if (j + 1 < r)
                v += ph[i] * Q0[j + 1] + Q0[(i + 1) * r + j + 1];
            Q0[i * r + j] = v;
            Q0[j * r + i] = v;
        }
out:
    free(ph);
    free(th);
    free(psi);
    free(gam);
    free(A);
    free(b);
    return rc;
}

/* ------------------------------------------------------- the filter */

typedef struct kf {
    size_t np, nq, r, nd, rd;
    double *phi, *theta, *delta, *Rv;
    double *a, *anew, *P, *Pnew, *Pold, *X, *M, *Q0;
    size_t *dnz;  /* indices of the non-zero delta_j */
    size_t ndnz;
    size_t *pnz, npnz; /* non-zero phi_i (seasonal models: a few of np) */
    size_t *rnz, nrnz; /* non-zero entries of (1, theta) */
} kf;

static void kf_free(kf *k)
{
    free(k->phi);
    free(k->theta);
    free(k->delta);
    free(k->Rv);
    free(k->a);
    free(k->anew);
    free(k->P);
    free(k->Pnew);
    free(k->Pold);
    free(k->X);
    free(k->M);
    free(k->Q0);
    free(k->dnz);
    free(k->pnz);
    free(k->rnz);
    memset(k, 0, sizeof *k);
}

static int kf_init(kf *k, const st_arima_spec *s, st_err *e)
{
    memset(k, 0, sizeof *k);
    k->np = (size_t)s->p + (size_t)s->s * (size_t)s->P;
    k->nq = (size_t)s->q + (size_t)s->s * (size_t)s->Q;
    k->r = k->np > k->nq + 1 ? k->np : k->nq + 1;
    k->nd = (size_t)s->d + (size_t)s->s * (size_t)s->D;
    k->rd = k->r + k->nd;
    size_t rd = k->rd, r = k->r;
    k->phi = calloc(k->np + 1, sizeof(double));
    k->theta = calloc(k->nq + 1, sizeof(double));
    k->delta = calloc(k->nd + 1, sizeof(double));
    k->dnz = calloc(k->nd + 1, sizeof(size_t));
    k->Rv = calloc(r, sizeof(double));
    k->a = calloc(rd, sizeof(double));
    k->anew = calloc(rd, sizeof(double));
    k->P = calloc(rd * rd, sizeof(double));
    k->Pnew = calloc(rd * rd, sizeof(double));
    k->Pold = calloc(rd * rd, sizeof(double));
    k->X = calloc(rd * rd, sizeof(double));
    k->M = calloc(rd, sizeof(double));
    k->Q0 = calloc(r * r, sizeof(double));
    k->pnz = calloc(k->np + 1, sizeof(size_t));
    k->rnz = calloc(r, sizeof(size_t));
    if (!k->phi || !k->theta || !k->delta || !k->dnz || !k->Rv || !k->a || !k->anew || !k->P ||
        !k->Pnew || !k->Pold || !k->X || !k->M || !k->Q0 || !k->pnz || !k->rnz) {
        kf_free(k);
        return st_err_nomem(e, "ARIMA filter");
    }
    if (make_delta(s, k->delta) != k->nd) {
        kf_free(k);
        return st_err_nomem(e, "ARIMA filter");
    }
    for (size_t j = 0; j < k->nd; j++)
        if (k->delta[j] != 0)
            k->dnz[k->ndnz++] = j;
    return 0;
}

/* Set the polynomials from the coefficients and the start covariance;
 * ST_EDATA when the AR part is not stationary. */
static int kf_set(kf *k, const st_arima_spec *s, const double *coef, int trans, st_err *e)
{
    st_arima_expand(s, coef, trans, k->phi, k->theta);
    if (!trans && (!ar_stationary(coef, (size_t)s->p) || !ar_stationary(coef + s->p + s->q, (size_t)s->P)))
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "ARIMA: the AR part is not stationary");
    k->nrnz = k->npnz = 0;
    for (size_t i = 0; i < k->r; i++) {
        k->Rv[i] = i == 0 ? 1 : i <= k->nq ? k->theta[i - 1] : 0;
        if (k->Rv[i] != 0)
            k->rnz[k->nrnz++] = i;
    }
    for (size_t i = 0; i < k->np; i++)
        if (k->phi[i] != 0)
            k->pnz[k->npnz++] = i;
    return st_arima_q0(k->phi, k->np, k->theta, k->nq, k->Q0, e);
}

/* y = T x */
static void apply_T(const kf *k, const double *x, double *y)
{
    size_t r = k->r, np = k->np, nd = k->nd;
    for (size_t i = 0; i < r; i++)
        y[i] = (i < np ? k->phi[i] * x[0] : 0) + (i + 1 < r ? x[i + 1] : 0);
    if (nd) {
        double v = x[0];
        for (size_t j = 0; j < k->ndnz; j++)
            v += k->delta[k->dnz[j]] * x[r + k->dnz[j]];
        for (size_t j = nd; j-- > 1;)
            y[r + j] = x[r + j - 1];
        y[r] = v;
    }
}

/* Pnew = T P T' + R R' (P symmetric). */
static void predict_cov(kf *k)
{
    size_t r = k->r, rd = k->rd, np = k->np, nd = k->nd;
    const double *P = k->P;
    double *X = k->X, *Pn = k->Pnew;
    /* X = T P, row by row */
    for (size_t i = 0; i < r; i++) {
        double *xi = X + i * rd;
        const double ph = i < np ? k->phi[i] : 0;
        if (i + 1 < r) {
            const double *pn = P + (i + 1) * rd;
            if (ph != 0)
                for (size_t j = 0; j < rd; j++)
                    xi[j] = ph * P[j] + pn[j];
            else
                memcpy(xi, pn, rd * sizeof *xi);
        } else {
            for (size_t j = 0; j < rd; j++)
                xi[j] = ph * P[j];
        }
    }
    if (nd) {
        double *xr = X + r * rd;
        memcpy(xr, P, rd * sizeof *xr);
        for (size_t t = 0; t < k->ndnz; t++) {
            const double dv = k->delta[k->dnz[t]];
            const double *pr = P + (r + k->dnz[t]) * rd;
            for (size_t j = 0; j < rd; j++)
                xr[j] += dv * pr[j];
        }
        for (size_t j = 1; j < nd; j++)
            memcpy(X + (r + j) * rd, P + (r + j - 1) * rd, rd * sizeof *X);
    }
    /* Pnew = X T': the lower triangle of T applied to each row of X (the
     * shift part a copy, then the few non-zero phi) */
    for (size_t i = 0; i < rd; i++) {
        const double *xi = X + i * rd;
        double *pi = Pn + i * rd;
        size_t jmax = i < r - 1 ? i : r - 1;
        size_t jc = jmax < r - 1 ? jmax + 1 : r - 1; /* entries j < jc copy xi[j + 1] */
        memcpy(pi, xi + 1, jc * sizeof *pi);
        if (jmax == r - 1)
            pi[r - 1] = 0;
        for (size_t t = 0; t < k->npnz && k->pnz[t] <= jmax; t++)
            pi[k->pnz[t]] += k->phi[k->pnz[t]] * xi[0];
        if (i >= r) {
            double v = xi[0];
            for (size_t t = 0; t < k->ndnz; t++)
                v += k->delta[k->dnz[t]] * xi[r + k->dnz[t]];
            pi[r] = v;
            for (size_t j = r + 1; j <= i; j++)
                pi[j] = xi[j - 1];
        }
    }
    for (size_t a = 0; a < k->nrnz; a++)
        for (size_t b = 0; b <= a; b++) {
            size_t i = k->rnz[a], j = k->rnz[b];
            Pn[i * rd + j] += k->Rv[i] * k->Rv[j];
        }
    for (size_t i = 0; i < rd; i++)
        for (size_t j = 0; j < i; j++)
            Pn[j * rd + i] = Pn[i * rd + j];
}

/* The start: a = 0 and P_pred = [Q0 0; 0 kappa I]. */
static void kf_start(kf *k)
{
    size_t r = k->r, rd = k->rd;
    memset(k->a, 0, rd * sizeof(double));
    memset(k->Pnew, 0, rd * rd * sizeof(double));
    for (size_t i = 0; i < r; i++)
        memcpy(k->Pnew + i * rd, k->Q0 + i * r, r * sizeof(double));
    for (size_t i = r; i < rd; i++)
        k->Pnew[i * rd + i] = KAPPA;
}

/* 1 if the predicted covariances A and B (rd x rd) agree to TOL_STEADY
 * relative to the largest entry (the diagonal first: cheap, and it
 * settles last) */
static int converged(const double *A, const double *B, size_t rd)
{
    double pmax = 0;
    for (size_t i = 0; i < rd; i++) {
        double a = fabs(A[i * rd + i]);
        pmax = a > pmax ? a : pmax;
    }
    if (!(pmax < GAIN_DIFFUSE))
        return 0;
    const double tol = TOL_STEADY * pmax;
    for (size_t i = 0; i < rd; i++)
        if (!(fabs(A[i * rd + i] - B[i * rd + i]) <= tol))
            return 0;
    for (size_t i = 0; i < rd * rd; i++)
        if (!(fabs(A[i] - B[i]) <= tol))
            return 0;
    return 1;
}

/* R's ARIMA_Like over w[0..n-1]; leaves the filtered state in a, P. */
static void kf_run(kf *k, const double *w, size_t n, st_arima_ll *ll, double *resid, double *vout,
                   double *Fout)
{
    size_t r = k->r, rd = k->rd;
    double ssq = 0, sumlog = 0, gain = 1;
    size_t nu = 0;
    int steady = 0, have_old = 0;
    kf_start(k);
    const double *Pp = k->Pnew; /* the current P_pred */
    for (size_t t = 0; t < n; t++) {
        int next_steady = steady;
        if (t > 0) {
            apply_T(k, k->a, k->anew);
            if (!steady) {
                predict_cov(k);
                Pp = k->Pnew;
                if (have_old && converged(k->Pnew, k->Pold, rd))
                    next_steady = 1;
            }
        } else
            memset(k->anew, 0, rd * sizeof(double));
        double yt = w[t];
        if (isnan(yt)) {
            memcpy(k->a, k->anew, rd * sizeof(double));
            memcpy(k->P, Pp, rd * rd * sizeof(double));
            if (resid)
                resid[t] = NAN;
            if (vout)
                vout[t] = NAN, Fout[t] = NAN;
            steady = 0;
            have_old = 0;
            continue;
        }
        double v = yt - k->anew[0];
        for (size_t j = 0; j < k->ndnz; j++)
            v -= k->delta[k->dnz[j]] * k->anew[r + k->dnz[j]];
        if (!steady) {
            /* M = P_pred Z', Z = (1, 0.., delta) */
            const double *Pn = k->Pnew;
            memcpy(k->M, Pn, rd * sizeof(double));
            for (size_t j = 0; j < k->ndnz; j++) {
                const double dv = k->delta[k->dnz[j]];
                const double *pr = Pn + (r + k->dnz[j]) * rd;
                for (size_t i = 0; i < rd; i++)
                    k->M[i] += dv * pr[i];
            }
            gain = k->M[0];
            for (size_t j = 0; j < k->ndnz; j++)
                gain += k->delta[k->dnz[j]] * k->M[r + k->dnz[j]];
        }
        if (gain < GAIN_DIFFUSE) {
            nu++;
            ssq += v * v / gain;
            sumlog += log(gain);
        }
        if (resid)
            resid[t] = v / sqrt(gain);
        if (vout)
            vout[t] = v, Fout[t] = gain;
        const double f = v / gain;
        for (size_t i = 0; i < rd; i++)
            k->a[i] = k->anew[i] + k->M[i] * f;
        if (!steady) {
            for (size_t i = 0; i < rd; i++) {
                const double mi = k->M[i] / gain;
                double *pi = k->P + i * rd;
                const double *qi = k->Pnew + i * rd;
                for (size_t j = 0; j < rd; j++)
                    pi[j] = qi[j] - mi * k->M[j];
            }
            /* keep this P_pred to compare the next one with */
            double *tmp = k->Pold;
            k->Pold = k->Pnew;
            k->Pnew = tmp;
            Pp = k->Pold;
            have_old = 1;
        }
        steady = next_steady;
    }
    ll->ssq = ssq;
    ll->sumlog = sumlog;
    ll->nu = nu;
}

/* R's ARIMA_CSS: residuals of the differenced series conditional on the
 * first ncond; returns ssq / nu (NaN if nothing counted). */
static double css_value(const kf *k, const st_arima_spec *s, const double *y, size_t n, size_t ncond,
                        double *wd, double *res)
{
    memcpy(wd, y, n * sizeof *wd);
    for (int i = 0; i < s->d; i++)
        for (size_t l = n; l-- > 1;)
            wd[l] -= wd[l - 1];
    size_t ns = (size_t)s->s;
    for (int i = 0; i < s->D; i++)
        for (size_t l = n; l-- > ns;)
            wd[l] -= wd[l - ns];
    double ssq = 0;
    size_t nu = 0;
    for (size_t l = 0; l < ncond && l < n; l++)
        res[l] = 0;
    for (size_t l = ncond; l < n; l++) {
        double tmp = wd[l];
        for (size_t j = 0; j < k->np && j < l; j++)
            tmp -= k->phi[j] * wd[l - j - 1];
        size_t jm = l - ncond < k->nq ? l - ncond : k->nq;
        for (size_t j = 0; j < jm; j++)
            tmp -= k->theta[j] * res[l - j - 1];
        res[l] = tmp;
        if (!isnan(tmp)) {
            nu++;
            ssq += tmp * tmp;
        }
    }
    return nu ? ssq / (double)nu : NAN;
}

/* --------------------------------------------------------- estimation */

typedef struct fitctx {
    const st_arima_spec *s;
    kf k;
    const double *y;
    size_t n, nx, narma, ncoef, ncond;
    double *X;      /* n x nx design */
    double *w, *wd, *res;
    double scale[ST_ARIMA_MAXCOEF];
    int trans;      /* ML over transformed AR parts */
    int central;    /* central differences for the gradient (the final polish) */
    double nused;
    int failed_alloc;
} fitctx;

void st_arima_design(const st_arima_spec *s, const double *x, size_t n, size_t t0, double *X)
{
    size_t nx = st_arima_nxreg(s);
    for (size_t t = 0; t < n; t++) {
        double *row = X + t * nx;
        size_t j = 0;
        if (st_arima_has_intercept(s))
            row[j++] = 1;
        if (s->drift)
            row[j++] = (double)(t0 + t + 1);
        for (size_t k = 0; k < s->nreg; k++)
            row[j++] = x[t * s->nreg + k];
    }
}

/* w = y - X beta */
static void residual_series(const fitctx *c, const double *coef, double *w)
{
    const double *beta = coef + c->narma;
    for (size_t t = 0; t < c->n; t++) {
        double v = c->y[t];
        const double *row = c->X + t * c->nx;
        for (size_t j = 0; j < c->nx; j++)
            v -= row[j] * beta[j];
        w[t] = v;
    }
}

static void unscale(const fitctx *c, const double *x, double *coef)
{
    for (size_t i = 0; i < c->ncoef; i++)
        coef[i] = x[i] * c->scale[i];
}

/* Forward differences (n + 1 evaluations instead of 2n + 1): with steps
 * sqrt(eps) max(|x|, 1) the gradient error is ~1e-7 relative, far below
 * what the optimiser's tolerances need. */
static void fwd_grad(double (*f)(const double *, double *, void *), void *ctx, const double *x,
                     size_t n, double f0, double *grad)
{
    double xx[ST_ARIMA_MAXCOEF];
    memcpy(xx, x, n * sizeof *xx);
    for (size_t i = 0; i < n; i++) {
        volatile double t = x[i] + 1.4901161193847656e-08 * fmax(fabs(x[i]), 1.0);
        double h = t - x[i];
        xx[i] = t;
        double fp = f(xx, NULL, ctx);
        xx[i] = x[i];
        grad[i] = (fp - f0) / h;
    }
}

/* n_used times R's armaCSS */
static double css_obj(const double *x, double *grad, void *ctx)
{
    fitctx *c = ctx;
    if (grad) {
        double f0 = css_obj(x, NULL, ctx);
        fwd_grad(css_obj, ctx, x, c->ncoef, f0, grad);
        return f0;
    }
    double coef[ST_ARIMA_MAXCOEF];
    unscale(c, x, coef);
    st_arima_expand(c->s, coef, 0, c->k.phi, c->k.theta);
    residual_series(c, coef, c->w);
    double v = css_value(&c->k, c->s, c->w, c->n, c->ncond, c->wd, c->res);
    return isfinite(v) && v > 0 ? c->nused * 0.5 * log(v) : INFINITY;
}

/* n_used times R's armafn: -loglik - n_used/2 (1 + log 2 pi) */
static double ml_value(fitctx *c, const double *coef, int trans, st_arima_ll *ll, double *resid)
{
    st_err e;
    if (kf_set(&c->k, c->s, coef, trans, &e) < 0)
        return INFINITY;
    residual_series(c, coef, c->w);
    kf_run(&c->k, c->w, c->n, ll, resid, NULL, NULL);
    if (ll->nu == 0 || !(ll->ssq > 0))
        return INFINITY;
    double nu = (double)ll->nu;
    double v = 0.5 * (log(ll->ssq / nu) + ll->sumlog / nu);
    return isfinite(v) ? c->nused * v : INFINITY;
}

static double ml_obj(const double *x, double *grad, void *ctx)
{
    fitctx *c = ctx;
    if (grad) {
        if (c->central) {
            st_optim_numgrad(ml_obj, ctx, x, c->ncoef, grad);
            return ml_obj(x, NULL, ctx);
        }
        double f0 = ml_obj(x, NULL, ctx);
        fwd_grad(ml_obj, ctx, x, c->ncoef, f0, grad);
        return f0;
    }
    double coef[ST_ARIMA_MAXCOEF];
    st_arima_ll ll;
    unscale(c, x, coef);
    return ml_value(c, coef, c->trans, &ll, NULL);
}

static void fitctx_free(fitctx *c)
{
    kf_free(&c->k);
    free(c->X);
    free(c->w);
    free(c->wd);
    free(c->res);
}

static int fitctx_init(fitctx *c, const st_arima_spec *s, const double *y, const double *x, size_t n,
                       st_err *e)
{
    memset(c, 0, sizeof *c);
    int rc = st_arima_check_spec(s, e);
    if (rc < 0)
        return rc;
    c->s = s;
    c->y = y;
    c->n = n;
    c->nx = st_arima_nxreg(s);
    c->narma = st_arima_narma(s);
    c->ncoef = c->narma + c->nx;
    if (s->nreg && !x)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "ARIMA: %zu regressors given without values", s->nreg);
    if ((rc = kf_init(&c->k, s, e)) < 0)
        return rc;
    c->X = malloc((n * c->nx + 1) * sizeof(double));
    c->w = malloc((n + 1) * sizeof(double));
    c->wd = malloc((n + 1) * sizeof(double));
    c->res = malloc((n + 1) * sizeof(double));
    if (!c->X || !c->w || !c->wd || !c->res) {
        fitctx_free(c);
        return st_err_nomem(e, "ARIMA fit");
    }
    st_arima_design(s, x, n, 0, c->X);
    for (size_t t = 0; t < n * c->nx; t++)
        if (!isfinite(c->X[t])) {
            fitctx_free(c);
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "ARIMA: regressor %zu is not finite at point %zu", t % c->nx + 1, t / c->nx + 1);
        }
    size_t nobs = 0;
    for (size_t t = 0; t < n; t++)
        nobs += !isnan(y[t]);
    if (nobs <= c->k.nd) {
        fitctx_free(c);
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "too few observed points for %s: %zu, need more than %zu", "this ARIMA model", nobs, c->k.nd);
    }
    c->nused = (double)(nobs - c->k.nd);
    for (size_t i = 0; i < ST_ARIMA_MAXCOEF; i++)
        c->scale[i] = 1;
    return 0;
}

/* Least squares of (differenced) y on (differenced) X for the
 * regression coefficients' start and scale, as R's arima does. */
static void regression_start(fitctx *c, double *beta, double *se)
{
    size_t n = c->n, nx = c->nx;
    for (size_t j = 0; j < nx; j++)
        beta[j] = 0, se[j] = NAN;
    if (nx == 0)
        return;
    double *dy = malloc(n * sizeof *dy), *dX = malloc(n * nx * sizeof *dX);
    double *G = malloc(nx * nx * sizeof *G), *b = malloc(nx * sizeof *b);
    if (!dy || !dX || !G || !b)
        goto out;
    for (int pass = 0; pass < 2; pass++) {
        size_t m = n;
        memcpy(dy, c->y, n * sizeof *dy);
        memcpy(dX, c->X, n * nx * sizeof *dX);
        if (pass == 0) {
            /* difference d times at lag 1 and D times at lag s */
            for (int i = 0; i < c->s->d + c->s->D; i++) {
                size_t lag = i < c->s->d ? 1 : (size_t)c->s->s;
                if (m <= lag) {
                    m = 0;
                    break;
                }
                for (size_t t = 0; t + lag < m; t++) {
                    dy[t] = dy[t + lag] - dy[t];
                    for (size_t j = 0; j < nx; j++)
                        dX[t * nx + j] = dX[(t + lag) * nx + j] - dX[t * nx + j];
                }
                m -= lag;
            }
            if (m <= nx)
                continue;
        }
        memset(G, 0, nx * nx * sizeof *G);
        memset(b, 0, nx * sizeof *b);
        size_t used = 0;
        for (size_t t = 0; t < m; t++) {
            if (isnan(dy[t]))
                continue;
            used++;
            const double *row = dX + t * nx;
            for (size_t i = 0; i < nx; i++) {
                b[i] += row[i] * dy[t];
                for (size_t j = 0; j < nx; j++)
                    G[i * nx + j] += row[i] * row[j];
            }
        }
        if (used <= nx)
            continue;
        double *Gi = malloc(nx * nx * sizeof *Gi);
        if (!Gi)
            goto out;
        memcpy(Gi, G, nx * nx * sizeof *Gi);
        st_err e;
        if (st_inverse(Gi, nx, &e) < 0) {
            free(Gi);
            continue;
        }
        for (size_t i = 0; i < nx; i++) {
            double v = 0;
            for (size_t j = 0; j < nx; j++)
                v += Gi[i * nx + j] * b[j];
            beta[i] = v;
        }
        double rss = 0;
        for (size_t t = 0; t < m; t++) {
            if (isnan(dy[t]))
                continue;
            double f = dy[t];
            for (size_t j = 0; j < nx; j++)
                f -= dX[t * nx + j] * beta[j];
            rss += f * f;
        }
        double s2 = rss / (double)(used - nx);
        for (size_t i = 0; i < nx; i++)
            se[i] = sqrt(s2 * Gi[i * nx + i]);
        free(Gi);
        break;
    }
out:
    free(dy);
    free(dX);
    free(G);
    free(b);
}

/* theta part i..i+q of raw coefficients: flip roots inside the unit circle */
int st_arima_ma_invert(double *ma, size_t q, st_err *e)
{
    size_t q0 = q;
    while (q0 > 0 && ma[q0 - 1] == 0)
        q0--;
    if (q0 == 0)
        return 0;
    /* roots z of 1 + ma_1 z + ... : lambda = 1/z are the eigenvalues of
     * the companion matrix of lambda^q0 + ma_1 lambda^(q0-1) + ... */
    double C[ST_ARIMA_MAXORDER * ST_ARIMA_MAXORDER], wr[ST_ARIMA_MAXORDER], wi[ST_ARIMA_MAXORDER];
    if (q0 > ST_ARIMA_MAXORDER)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "MA order %zu too large", q0);
    memset(C, 0, q0 * q0 * sizeof *C);
    for (size_t j = 0; j < q0; j++)
        C[j] = -ma[j];
    for (size_t i = 1; i < q0; i++)
        C[i * q0 + i - 1] = 1;
    int rc = st_eigen_general(C, q0, wr, wi, NULL, e);
    if (rc < 0)
        return rc;
    int any = 0;
    double complex lam[ST_ARIMA_MAXORDER];
    for (size_t i = 0; i < q0; i++) {
        lam[i] = wr[i] + I * wi[i];
        if (cabs(lam[i]) > 1) { /* root |z| < 1 */
            lam[i] = 1 / lam[i];
            any = 1;
        }
    }
    if (!any)
        return 0;
    if (q0 == 1) {
        ma[0] = 1 / ma[0];
        return 0;
    }
    /* prod (1 - lambda_i B) */
    double complex c[ST_ARIMA_MAXORDER + 1] = {1};
    for (size_t i = 0; i < q0; i++)
        for (size_t j = i + 1; j >= 1; j--)
            c[j] -= lam[i] * c[j - 1];
    for (size_t j = 0; j < q0; j++)
        ma[j] = creal(c[j + 1]);
    return 0;
}

double st_arima_minroot(const double *c, size_t n, int sign)
{
    while (n > 0 && fabs(c[n - 1]) <= 1e-8)
        n--;
    if (n == 0)
        return 2;
    /* roots z of 1 + sign c_1 z + ...; lambda = 1/z eigenvalues of the
     * companion of lambda^n + sign c_1 lambda^(n-1) + ... */
    double *C = calloc(n * n, sizeof *C), *w = malloc(2 * n * sizeof *w);
    double minroot = 2;
    st_err e;
    if (C && w) {
        for (size_t j = 0; j < n; j++)
            C[j] = -sign * c[j];
        for (size_t i = 1; i < n; i++)
            C[i * n + i - 1] = 1;
        if (st_eigen_general(C, n, w, w + n, NULL, &e) == 0) {
            double lmax = 0;
            for (size_t i = 0; i < n; i++)
                lmax = fmax(lmax, hypot(w[i], w[n + i]));
            minroot = lmax > 0 ? fmin(2, 1 / lmax) : 2;
        } else
            minroot = 0;
    } else
        minroot = 0;
    free(C);
    free(w);
    return minroot;
}

void st_arima_fit_free(st_arima_fit *f)
{
    if (!f)
        return;
    free(f->a);
    free(f->P);
    f->a = f->P = NULL;
}

/* Fill f from the coefficients (AR parts not transformed): R's filter
 * with residuals and the final state, the criteria.  value: n_used times
 * R's objective at the optimum (NAN: from this evaluation). */
static int finish(fitctx *c, const double *coef, int method, double css_sigma2, st_arima_fit *f,
                  st_err *e)
{
    const st_arima_spec *s = c->s;
    memset(f, 0, sizeof *f);
    f->spec = *s;
    f->ncoef = c->ncoef;
    f->method = method;
    f->n = c->n;
    memcpy(f->coef, coef, c->ncoef * sizeof *coef);
    for (size_t i = 0; i < ST_ARIMA_MAXCOEF; i++)
        f->se[i] = NAN;
    st_arima_ll ll;
    int rc = kf_set(&c->k, s, coef, 0, e);
    if (rc < 0)
        return rc;
    residual_series(c, coef, c->w);
    kf_run(&c->k, c->w, c->n, &ll, c->res, NULL, NULL);
    if (ll.nu == 0)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "ARIMA: no observed point after the differencing");
    /* ssq = 0 (a constant differenced series fitted exactly, as
     * auto.arima does for those): sigma2 0, loglik +infinity, as in R */
    double nu = (double)ll.nu, nused = c->nused;
    f->nused = (size_t)nused;
    f->sigma2_ml = method == ST_ARIMA_CSS ? css_sigma2 : ll.ssq / nused;
    /* observed span: first to last observed point */
    size_t first = 0, last = c->n;
    while (first < c->n && isnan(c->y[first]))
        first++;
    while (last > first && isnan(c->y[last - 1]))
        last--;
    size_t span = 0;
    for (size_t t = first; t < last; t++)
        span += !isnan(c->y[t]);
    f->nstar = span - c->k.nd;
    f->npar = c->ncoef + 1;
    if (method == ST_ARIMA_CSS) {
        /* R: loglik from the CSS objective, no AIC */
        double v = 0.5 * log(css_sigma2);
        f->loglik = -0.5 * (2 * nused * v + nused + nused * log(2 * M_PI));
        f->aic = f->aicc = f->bic = NAN;
        /* forecast's sigma2 from the CSS residuals */
        css_value(&c->k, s, c->w, c->n, c->ncond, c->wd, c->res);
    } else {
        double v = 0.5 * (log(ll.ssq / nu) + ll.sumlog / nu);
        f->loglik = -0.5 * (2 * nused * v + nused + nused * log(2 * M_PI));
        f->aic = -2 * f->loglik + 2 * (double)f->npar;
        double ns = (double)f->nstar, k = (double)f->npar;
        f->aicc = ns - k - 1 > 0 ? f->aic + 2 * k * (k + 1) / (ns - k - 1) : INFINITY;
        f->bic = f->aic + k * (log(ns) - 2);
    }
    double ss = 0;
    for (size_t t = 0; t < c->n; t++)
        if (!isnan(c->res[t]))
            ss += c->res[t] * c->res[t];
    double den = (double)f->nstar - (double)f->npar + 1;
    f->sigma2 = den > 0 ? ss / den : NAN;
    /* the state for forecasts: R's filter at these coefficients (CSS fits too) */
    f->rd = c->k.rd;
    f->a = malloc(f->rd * sizeof(double));
    f->P = malloc(f->rd * f->rd * sizeof(double));
    if (!f->a || !f->P) {
        st_arima_fit_free(f);
        return st_err_nomem(e, "ARIMA state");
    }
    memcpy(f->a, c->k.a, f->rd * sizeof(double));
    memcpy(f->P, c->k.P, f->rd * f->rd * sizeof(double));
    /* roots (forecast's myarima test) */
    double mr = 2;
    if (s->p + s->P > 0)
        mr = fmin(mr, st_arima_minroot(c->k.phi, c->k.np, -1));
    if (s->q + s->Q > 0)
        mr = fmin(mr, st_arima_minroot(c->k.theta, c->k.nq, +1));
    f->minroot = mr;
    f->var_ok = 1;
    return 0;
}

int st_arima_evaluate(const st_arima_spec *s, const double *coef, const double *y, const double *x,
                      size_t n, st_arima_fit *f, st_err *e)
{
    fitctx c;
    memset(f, 0, sizeof *f);
    int rc = fitctx_init(&c, s, y, x, n, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < c.ncoef; i++)
        if (!isfinite(coef[i])) {
            fitctx_free(&c);
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "ARIMA coefficient %zu is not finite", i + 1);
        }
    rc = finish(&c, coef, ST_ARIMA_ML, NAN, f, e);
    if (rc == 0) {
        f->converged = 1;
        f->nevals = 1;
        rc = st_arima_loglik_exact(s, coef, y, x, n, &f->loglik_exact, e);
        if (rc < 0)
            st_arima_fit_free(f);
    }
    fitctx_free(&c);
    return rc;
}

/* d coef / d raw (AR parts through the transform; identity elsewhere),
 * by central differences: J[i*n + j] = d coef_j / d raw_i. */
static void trans_jacobian(const fitctx *c, const double *raw, double *J)
{
    size_t n = c->ncoef;
    const st_arima_spec *s = c->s;
    memset(J, 0, n * n * sizeof *J);
    for (size_t i = 0; i < n; i++)
        J[i * n + i] = c->scale[i];
    size_t blocks[2][2] = {{0, (size_t)s->p}, {(size_t)(s->p + s->q), (size_t)s->P}};
    for (int b = 0; b < 2; b++) {
        size_t off = blocks[b][0], len = blocks[b][1];
        double u[ST_ARIMA_MAXORDER], ph[2][ST_ARIMA_MAXORDER];
        for (size_t i = 0; i < len; i++) {
            const double h = 1e-6;
            for (int sgn = 0; sgn < 2; sgn++) {
                memcpy(u, raw + off, len * sizeof *u);
                u[i] += sgn ? -h : h;
                st_tr_stationary_ar(u, len, ph[sgn]);
            }
            for (size_t j = 0; j < len; j++)
                J[(off + i) * n + off + j] = (ph[0][j] - ph[1][j]) / (2 * h);
        }
    }
}

/* R's var.coef: A' H^-1 A with H the Hessian of the objective (n_used
 * times armafn, or armaCSS for CSS fits) in the optimiser's coordinates
 * x and A = d coef / d x; se and var_ok (no negative diagonal: forecast's
 * checkarima). */
static void coef_variance(fitctx *c, const double *x, int css, st_arima_fit *f)
{
    size_t n = c->ncoef;
    if (n == 0)
        return;
    double *H = malloc(n * n * sizeof *H), *J = malloc(n * n * sizeof *J), *B = malloc(n * n * sizeof *B);
    f->var_ok = 0;
    if (!H || !J || !B)
        goto out;
    st_optim_numhess(css ? css_obj : ml_obj, c, x, n, H);
    for (size_t i = 0; i < n * n; i++)
        if (!isfinite(H[i]))
            goto out;
    if (css) {
        memset(J, 0, n * n * sizeof *J);
        for (size_t i = 0; i < n; i++)
            J[i * n + i] = c->scale[i];
    } else {
        double raw[ST_ARIMA_MAXCOEF];
        for (size_t i = 0; i < n; i++)
            raw[i] = x[i] * c->scale[i];
        trans_jacobian(c, raw, J);
    }
    /* J holds d coef_j / d x_i (the scale folded in); B = H^-1 J */
    memcpy(B, J, n * n * sizeof *B);
    st_err e;
    if (st_lu_solve(H, n, B, n, &e) < 0)
        goto out;
    f->var_ok = 1;
    for (size_t j = 0; j < n; j++) {
        double v = 0;
        for (size_t i = 0; i < n; i++)
            v += J[i * n + j] * B[i * n + j];
        if (!(v >= 0)) {
            f->var_ok = 0;
            f->se[j] = NAN;
        } else
            f->se[j] = sqrt(v);
    }
out:
    free(H);
    free(J);
    free(B);
}

/* the optimiser's scales: 1 for the ARMA part, 10 standard errors of the
 * regression start for the regression part (R's parscale) */
static void set_scales(fitctx *c, double *init)
{
    double se[ST_ARIMA_MAXCOEF];
    regression_start(c, init + c->narma, se);
    for (size_t j = 0; j < c->nx; j++) {
        double sc = 10 * se[j];
        c->scale[c->narma + j] = isfinite(sc) && sc > 0 ? sc : fmax(fabs(init[c->narma + j]), 1);
    }
}

int st_arima_variance(st_arima_fit *f, const double *y, const double *x, size_t n, st_err *e)
{
    fitctx c;
    int rc = fitctx_init(&c, &f->spec, y, x, n, e);
    if (rc < 0)
        return rc;
    const st_arima_spec *s = &f->spec;
    double init[ST_ARIMA_MAXCOEF] = {0}, xo[ST_ARIMA_MAXCOEF];
    set_scales(&c, init);
    for (size_t i = 0; i < ST_ARIMA_MAXCOEF; i++)
        f->se[i] = NAN;
    if (f->method == ST_ARIMA_CSS) {
        c.ncond = c.k.nd + (size_t)s->p + (size_t)s->s * (size_t)s->P;
        for (size_t i = 0; i < c.ncoef; i++)
            xo[i] = f->coef[i] / c.scale[i];
        coef_variance(&c, xo, 1, f);
    } else {
        double raw[ST_ARIMA_MAXCOEF];
        memcpy(raw, f->coef, c.ncoef * sizeof *raw);
        c.trans = 1;
        if (st_tr_stationary_ar_inv(f->coef, (size_t)s->p, raw) < 0 ||
            st_tr_stationary_ar_inv(f->coef + s->p + s->q, (size_t)s->P, raw + s->p + s->q) < 0)
            f->var_ok = 0;
        else {
            for (size_t i = 0; i < c.ncoef; i++)
                xo[i] = raw[i] / c.scale[i];
            coef_variance(&c, xo, 0, f);
        }
    }
    fitctx_free(&c);
    return 0;
}

int st_arima_estimate(const st_arima_spec *s, const double *y, const double *x, size_t n, int method,
                 int want_var, st_arima_fit *f, st_err *e)
{
    fitctx c;
    memset(f, 0, sizeof *f);
    int rc = fitctx_init(&c, s, y, x, n, e);
    if (rc < 0)
        return rc;
    size_t nc = c.ncoef;
    int anyna = 0;
    for (size_t t = 0; t < n; t++)
        anyna |= isnan(y[t]);
    if (method == ST_ARIMA_CSS_ML && anyna)
        method = ST_ARIMA_ML;
    double init[ST_ARIMA_MAXCOEF] = {0}, xo[ST_ARIMA_MAXCOEF];
    set_scales(&c, init);
    int nevals = 0, converged = 1;
    double css_sigma2 = NAN;
    st_optim_opts oo = {0};
    oo.method = ST_OPT_LBFGS;
    oo.ftol_rel = 1e-10;
    oo.xtol_rel = 1e-9;
    oo.max_eval = 500;
    st_optim_result res;
    if (method == ST_ARIMA_CSS || method == ST_ARIMA_CSS_ML) {
        c.ncond = c.k.nd + (size_t)s->p + (size_t)s->s * (size_t)s->P;
        for (size_t i = 0; i < nc; i++)
            xo[i] = init[i] / c.scale[i];
        st_err oe;
        if (nc > 0 && st_optim_minimize(css_obj, &c, xo, nc, &oo, &res, &oe) == 0) {
            nevals += res.nevals;
            if (res.converged || method == ST_ARIMA_CSS)
                unscale(&c, xo, init);
            if (method == ST_ARIMA_CSS)
                converged = res.converged;
        } else if (nc > 0 && method == ST_ARIMA_CSS) {
            converged = 0;
        }
        if (method == ST_ARIMA_CSS) {
            st_arima_expand(s, init, 0, c.k.phi, c.k.theta);
            residual_series(&c, init, c.w);
            css_sigma2 = css_value(&c.k, s, c.w, n, c.ncond, c.wd, c.res);
            if (!(css_sigma2 > 0)) {
                rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "ARIMA: conditional sum of squares is zero");
                goto out;
            }
            if ((rc = finish(&c, init, method, css_sigma2, f, e)) < 0)
                goto out;
            if (want_var) {
                for (size_t i = 0; i < nc; i++)
                    xo[i] = init[i] / c.scale[i];
                coef_variance(&c, xo, 1, f);
            }
            goto done;
        }
        if (!ar_stationary(init, (size_t)s->p) || !ar_stationary(init + s->p + s->q, (size_t)s->P)) {
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "%s: non-stationary AR part from CSS", "ARIMA");
            goto out;
        }
    }
    /* ML over transformed AR parts, MA parts made invertible first */
    c.trans = 1;
    double raw[ST_ARIMA_MAXCOEF];
    memcpy(raw, init, nc * sizeof *raw);
    if (st_tr_stationary_ar_inv(init, (size_t)s->p, raw) < 0 ||
        st_tr_stationary_ar_inv(init + s->p + s->q, (size_t)s->P, raw + s->p + s->q) < 0) {
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "ARIMA: non-stationary AR start");
        goto out;
    }
    if ((rc = st_arima_ma_invert(raw + s->p, (size_t)s->q, e)) < 0 ||
        (rc = st_arima_ma_invert(raw + s->p + s->q + s->P, (size_t)s->Q, e)) < 0)
        goto out;
    for (size_t i = 0; i < nc; i++)
        xo[i] = raw[i] / c.scale[i];
    if (nc > 0) {
        /* L-BFGS on forward differences, then a polish from its point on
         * central differences (forward ones stop ~1e-5 short in loglik;
         * this also restarts a run NLopt gave up on) */
        st_err oe;
        int orc = 0;
        for (int run = 0; run < 2; run++) {
            c.central = run == 1;
            orc = st_optim_minimize(ml_obj, &c, xo, nc, &oo, &res, &oe);
            nevals += res.nevals;
        }
        c.central = 0;
        if (!isfinite(ml_obj(xo, NULL, &c))) {
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "ARIMA: the likelihood could not be evaluated (%s)", orc < 0 ? oe.msg : "not finite");
            goto out;
        }
        converged = converged && orc == 0 && res.converged;
    }
    unscale(&c, xo, raw);
    if ((rc = st_arima_ma_invert(raw + s->p, (size_t)s->q, e)) < 0 ||
        (rc = st_arima_ma_invert(raw + s->p + s->q + s->P, (size_t)s->Q, e)) < 0)
        goto out;
    for (size_t i = 0; i < nc; i++)
        xo[i] = raw[i] / c.scale[i];
    double coef[ST_ARIMA_MAXCOEF];
    memcpy(coef, raw, nc * sizeof *coef);
    st_tr_stationary_ar(raw, (size_t)s->p, coef);
    st_tr_stationary_ar(raw + s->p + s->q, (size_t)s->P, coef + s->p + s->q);
    if ((rc = finish(&c, coef, method, NAN, f, e)) < 0)
        goto out;
    if (want_var)
        coef_variance(&c, xo, 0, f);
done:
    f->nevals = nevals;
    f->converged = converged;
    if (method != ST_ARIMA_CSS && (rc = st_arima_loglik_exact(s, f->coef, y, x, n, &f->loglik_exact, e)) < 0)
        st_arima_fit_free(f);
    else if (method == ST_ARIMA_CSS)
        f->loglik_exact = NAN;
out:
    fitctx_free(&c);
    return rc;
}

/* ------------------------------------------------------- exact diffuse */

int st_arima_loglik_exact(const st_arima_spec *s, const double *coef, const double *y,
                          const double *x, size_t n, double *loglik, st_err *e)
{
    fitctx c;
    int rc = fitctx_init(&c, s, y, x, n, e);
    if (rc < 0)
        return rc;
    st_ssm *m = NULL;
    if ((rc = kf_set(&c.k, s, coef, 0, e)) < 0)
        goto out;
    size_t r = c.k.r, rd = c.k.rd;
    if ((rc = st_ssm_new(&m, 1, rd, 1, e)) < 0)
        goto out;
    /* T by its action on the unit vectors */
    double *ej = calloc(rd, sizeof *ej), *tj = calloc(rd, sizeof *tj);
    if (!ej || !tj) {
        free(ej);
        free(tj);
        rc = st_err_nomem(e, "ARIMA state-space model");
        goto out;
    }
    for (size_t j = 0; j < rd; j++) {
        memset(ej, 0, rd * sizeof *ej);
        ej[j] = 1;
        apply_T(&c.k, ej, tj);
        for (size_t i = 0; i < rd; i++)
            m->T[i * rd + j] = tj[i];
    }
    free(ej);
    free(tj);
    m->Z[0] = 1;
    for (size_t j = 0; j < c.k.nd; j++)
        m->Z[r + j] = c.k.delta[j];
    for (size_t i = 0; i < r; i++)
        m->R[i] = c.k.Rv[i];
    m->Q[0] = 1;
    m->H[0] = 0;
    for (size_t i = 0; i < r; i++)
        memcpy(m->P1 + i * rd, c.k.Q0 + i * r, r * sizeof(double));
    for (size_t i = r; i < rd; i++)
        m->diffuse[i] = 1;
    residual_series(&c, coef, c.w);
    st_kalman_ll ll;
    if ((rc = st_kalman_loglik(m, c.w, n, &ll, e)) < 0)
        goto out;
    if (ll.nreg == 0) {
        rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "ARIMA: no observed point after the differencing");
        goto out;
    }
    double nr = (double)ll.nreg;
    *loglik = ll.sum_v2F > 0 ? -0.5 * (nr * (log(2 * M_PI * ll.sum_v2F / nr) + 1) + ll.sum_logF) : INFINITY;
out:
    st_ssm_free(m);
    fitctx_free(&c);
    return rc;
}

/* --------------------------------------------------------------- filter */

int st_arima_filter(const st_arima_fit *f, const double *y, const double *x, size_t n, double *pred,
                    double *pred_var, st_err *e)
{
    fitctx c;
    int rc = fitctx_init(&c, &f->spec, y, x, n, e);
    if (rc < 0)
        return rc;
    double *v = malloc((n + 1) * sizeof *v), *F = malloc((n + 1) * sizeof *F);
    if (!v || !F) {
        rc = st_err_nomem(e, "ARIMA filter");
        goto out;
    }
    if ((rc = kf_set(&c.k, &f->spec, f->coef, 0, e)) < 0)
        goto out;
    residual_series(&c, f->coef, c.w);
    st_arima_ll ll;
    kf_run(&c.k, c.w, n, &ll, NULL, v, F);
    for (size_t t = 0; t < n; t++) {
        int ok = !isnan(y[t]) && F[t] < GAIN_DIFFUSE;
        pred[t] = ok ? y[t] - v[t] : NAN;
        pred_var[t] = ok ? F[t] * f->sigma2 : NAN;
    }
out:
    free(v);
    free(F);
    fitctx_free(&c);
    return rc;
}

/* ------------------------------------------------------------ forecast */

int st_arima_forecast(const st_arima_fit *f, const double *xf, size_t h, const double *levels,
                      size_t nlevels, double *mean, double *var, double *lo, double *hi, st_err *e)
{
    const st_arima_spec *s = &f->spec;
    if (s->nreg && !xf)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "ARIMA forecasts with regressors need their future values");
    kf k;
    int rc = kf_init(&k, s, e);
    if (rc < 0)
        return rc;
    if (k.rd != f->rd) {
        kf_free(&k);
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "ARIMA state size mismatch");
    }
    size_t nx = st_arima_nxreg(s), narma = st_arima_narma(s);
    double *Xf = malloc((h * nx + 1) * sizeof *Xf);
    if (!Xf) {
        kf_free(&k);
        return st_err_nomem(e, "ARIMA forecast");
    }
    st_arima_design(s, xf, h, f->n, Xf);
    if ((rc = kf_set(&k, s, f->coef, 0, e)) < 0)
        goto out;
    size_t rd = k.rd, r = k.r;
    memcpy(k.a, f->a, rd * sizeof(double));
    memcpy(k.P, f->P, rd * rd * sizeof(double));
    for (size_t t = 0; t < h; t++) {
        apply_T(&k, k.a, k.anew);
        memcpy(k.a, k.anew, rd * sizeof(double));
        predict_cov(&k);
        memcpy(k.P, k.Pnew, rd * rd * sizeof(double));
        double m = k.a[0];
        for (size_t j = 0; j < k.nd; j++)
            m += k.delta[j] * k.a[r + j];
        /* Z P Z' */
        double v = 0;
        for (size_t i = 0; i < rd; i++) {
            double zi = i == 0 ? 1 : i >= r ? k.delta[i - r] : 0;
            if (zi == 0)
                continue;
            double acc = 0;
            for (size_t j = 0; j < rd; j++) {
                double zj = j == 0 ? 1 : j >= r ? k.delta[j - r] : 0;
                acc += k.P[i * rd + j] * zj;
            }
            v += zi * acc;
        }
        for (size_t j = 0; j < nx; j++)
            m += Xf[t * nx + j] * f->coef[narma + j];
        mean[t] = m;
        var[t] = v * f->sigma2;
    }
    if ((rc = st_ssm_check_forecast(mean, var, h, e)) < 0)
        goto out;
    if (nlevels)
        st_ssm_normal_bounds(mean, var, h, levels, nlevels, lo, hi);
out:
    free(Xf);
    kf_free(&k);
    return rc;
}

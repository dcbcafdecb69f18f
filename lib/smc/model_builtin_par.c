/* The built-in particle models' parameter vectors: names and values,
 * setting them (with the derived Cholesky factors), the initial density,
 * and exact hand-written gradients of the initial, transition and
 * observation log densities (see st_pf_model_dinit).  The block sampling
 * and density loops stay in model_builtin.c. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "smc/dist.h"
#include "smc/model.h"
#include "smc/model_internal.h"

/* Offsets of the linear-gaussian blocks in theta (d states, k observed):
 * A (d x d), Q lower, C (k x d), R lower, m0 (d), P0 lower. */
typedef struct lg_layout {
    size_t A, Q, C, R, m0, P0, n;
} lg_layout;

static lg_layout layout(size_t d, size_t k)
{
    lg_layout L;
    L.A = 0;
    L.Q = d * d;
    L.C = L.Q + d * (d + 1) / 2;
    L.R = L.C + k * d;
    L.m0 = L.R + k * (k + 1) / 2;
    L.P0 = L.m0 + d;
    L.n = L.P0 + d * (d + 1) / 2;
    return L;
}

/* Index of (i, j), i >= j, in a packed lower triangle. */
static size_t tri(size_t i, size_t j)
{
    return i * (i + 1) / 2 + j;
}

static int add_name(st_pf_model *m, size_t k, const char *fmt, size_t i, size_t j, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, fmt, i, j);
    if (!(m->parnames[k] = strdup(buf)))
        return -1;
    m->parvalues[k] = v;
    return 0;
}

int pf_builtin_params(st_pf_model *m, st_err *e)
{
    size_t d = m->dx, k = m->dy, n;
    switch (m->kind) {
    case ST_PF_LINEAR_GAUSSIAN: n = layout(d, k).n; break;
    case ST_PF_BEARINGS: n = 10; break;
    default: n = 3; break;
    }
    m->parnames = calloc(n, sizeof *m->parnames);
    m->parvalues = calloc(n, sizeof *m->parvalues);
    m->parcons = calloc(n, 1);
    if (!m->parnames || !m->parvalues || !m->parcons)
        return st_err_nomem(e, "parameters");
    m->npar = n;
    int bad = 0;
    switch (m->kind) {
    case ST_PF_STOCHVOL:
        bad |= add_name(m, 0, "mu", 0, 0, m->mu) | add_name(m, 1, "phi", 0, 0, m->phi) |
               add_name(m, 2, "sigma", 0, 0, m->sigma);
        break;
    case ST_PF_GROWTH:
        bad |= add_name(m, 0, "var_v", 0, 0, m->var_v) | add_name(m, 1, "var_w", 0, 0, m->var_w) |
               add_name(m, 2, "var0", 0, 0, m->var0);
        break;
    case ST_PF_BEARINGS:
        bad |= add_name(m, 0, "q", 0, 0, m->bq) | add_name(m, 1, "r", 0, 0, m->br);
        for (size_t i = 0; i < 4; i++)
            bad |= add_name(m, 2 + i, "m0[%zu]", i, 0, m->m0[i]) |
                   add_name(m, 6 + i, "sd0[%zu]", i, 0, sqrt(m->P0[i * 4 + i]));
        break;
    case ST_PF_LINEAR_GAUSSIAN: {
        lg_layout L = layout(d, k);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                bad |= add_name(m, L.A + i * d + j, "A[%zu][%zu]", i, j, m->A[i * d + j]);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j <= i; j++)
                bad |= add_name(m, L.Q + tri(i, j), "Q[%zu][%zu]", i, j, m->Q[i * d + j]) |
                       add_name(m, L.P0 + tri(i, j), "P0[%zu][%zu]", i, j, m->P0[i * d + j]);
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < d; j++)
                bad |= add_name(m, L.C + i * d + j, "C[%zu][%zu]", i, j, m->C[i * d + j]);
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j <= i; j++)
                bad |= add_name(m, L.R + tri(i, j), "R[%zu][%zu]", i, j, m->R[i * k + j]);
        for (size_t i = 0; i < d; i++)
            bad |= add_name(m, L.m0 + i, "m0[%zu]", i, 0, m->m0[i]);
        break;
    }
    case ST_PF_YAML:
        break;
    }
    if (bad)
        return st_err_nomem(e, "parameters");
    /* constraints */
    switch (m->kind) {
    case ST_PF_STOCHVOL:
        m->parcons[1] = ST_PF_SIGNED_UNIT;
        m->parcons[2] = ST_PF_POSITIVE;
        break;
    case ST_PF_GROWTH:
        m->parcons[0] = m->parcons[1] = m->parcons[2] = ST_PF_POSITIVE;
        break;
    case ST_PF_BEARINGS:
        m->parcons[0] = m->parcons[1] = ST_PF_POSITIVE;
        for (size_t i = 0; i < 4; i++)
            m->parcons[6 + i] = ST_PF_POSITIVE;
        break;
    case ST_PF_LINEAR_GAUSSIAN: {
        lg_layout L = layout(d, k);
        for (size_t i = 0; i < d; i++)
            m->parcons[L.Q + tri(i, i)] = m->parcons[L.P0 + tri(i, i)] = ST_PF_POSITIVE;
        for (size_t i = 0; i < k; i++)
            m->parcons[L.R + tri(i, i)] = ST_PF_POSITIVE;
        break;
    }
    case ST_PF_YAML:
        break;
    }
    return 0;
}

/* A symmetric matrix from its packed lower triangle, its Cholesky factor
 * and log determinant; ST_EDATA naming it if it is not positive definite. */
static int sym_chol(const st_pf_model *m, const double *low, size_t n, const char *name, double *S, double *L,
                    double *logdet, st_err *e)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++)
            S[i * n + j] = S[j * n + i] = low[tri(i, j)];
    memcpy(L, S, n * n * sizeof *L);
    st_err tmp;
    st_err_clear(&tmp);
    if (st_chol(L, n, 0, NULL, &tmp) < 0)
        return st_err_set(e, ST_EDATA, m->file, 0, 0, "'%s' is not positive definite at these parameters", name);
    *logdet = st_chol_logdet(L, n);
    return 0;
}

int pf_builtin_set_pars(st_pf_model *m, const double *th, st_err *e)
{
    switch (m->kind) {
    case ST_PF_STOCHVOL:
        if (!(fabs(th[1]) < 1))
            return st_err_set(e, ST_EDATA, m->file, 0, 0, "phi = %g: |phi| must be < 1", th[1]);
        if (!(th[2] > 0))
            return st_err_set(e, ST_EDATA, m->file, 0, 0, "sigma = %g must be > 0", th[2]);
        m->mu = th[0];
        m->phi = th[1];
        m->sigma = th[2];
        break;
    case ST_PF_GROWTH:
        for (int i = 0; i < 3; i++)
            if (!(th[i] > 0))
                return st_err_set(e, ST_EDATA, m->file, 0, 0, "%s = %g must be > 0", m->parnames[i], th[i]);
        m->var_v = th[0];
        m->var_w = th[1];
        m->var0 = th[2];
        break;
    case ST_PF_BEARINGS: {
        for (int i = 0; i < 10; i++)
            if (i < 2 || i >= 6)
                if (!(th[i] > 0))
                    return st_err_set(e, ST_EDATA, m->file, 0, 0, "%s = %g must be > 0", m->parnames[i], th[i]);
        double q2 = th[0] * th[0], Q[16] = {0}, Lq[16];
        for (int k = 0; k < 2; k++) {
            int o = 2 * k;
            Q[o * 4 + o] = q2 / 3;
            Q[o * 4 + o + 1] = Q[(o + 1) * 4 + o] = q2 / 2;
            Q[(o + 1) * 4 + o + 1] = q2;
        }
        memcpy(Lq, Q, sizeof Q);
        st_err tmp;
        if (st_chol(Lq, 4, 0, NULL, &tmp) < 0)
            return st_err_set(e, ST_EDATA, m->file, 0, 0, "q = %g gives a singular Q", th[0]);
        m->bq = th[0];
        m->br = th[1];
        memcpy(m->Q, Q, sizeof Q);
        memcpy(m->Lq, Lq, sizeof Lq);
        m->logdetq = st_chol_logdet(Lq, 4);
        for (int i = 0; i < 4; i++) {
            m->m0[i] = th[2 + i];
            for (int j = 0; j < 4; j++)
                m->P0[i * 4 + j] = m->L0[i * 4 + j] = 0;
            m->P0[i * 4 + i] = th[6 + i] * th[6 + i];
            m->L0[i * 4 + i] = th[6 + i];
        }
        break;
    }
    case ST_PF_LINEAR_GAUSSIAN: {
        size_t d = m->dx, k = m->dy;
        lg_layout L = layout(d, k);
        double *buf = malloc((4 * d * d + 2 * k * k) * sizeof *buf);
        if (!buf)
            return st_err_nomem(e, "parameters");
        double *Q = buf, *Lq = Q + d * d, *P0 = Lq + d * d, *L0 = P0 + d * d, *R = L0 + d * d, *Lr = R + k * k;
        double ldq, ldr, ld0;
        int rc;
        if ((rc = sym_chol(m, th + L.Q, d, "Q", Q, Lq, &ldq, e)) < 0 ||
            (rc = sym_chol(m, th + L.R, k, "R", R, Lr, &ldr, e)) < 0 ||
            (rc = sym_chol(m, th + L.P0, d, "P0", P0, L0, &ld0, e)) < 0) {
            free(buf);
            return rc;
        }
        memcpy(m->A, th + L.A, d * d * sizeof *m->A);
        memcpy(m->C, th + L.C, k * d * sizeof *m->C);
        memcpy(m->m0, th + L.m0, d * sizeof *m->m0);
        memcpy(m->Q, Q, d * d * sizeof *Q);
        memcpy(m->Lq, Lq, d * d * sizeof *Q);
        memcpy(m->P0, P0, d * d * sizeof *Q);
        memcpy(m->L0, L0, d * d * sizeof *Q);
        memcpy(m->R, R, k * k * sizeof *Q);
        memcpy(m->Lr, Lr, k * k * sizeof *Q);
        m->logdetq = ldq;
        m->logdetr = ldr;
        free(buf);
        break;
    }
    case ST_PF_YAML:
        break;
    }
    memcpy(m->parvalues, th, m->npar * sizeof *th);
    return 0;
}

/* ------------------------------------------------------------ densities */

/* Whitened residuals of N(mean, L L^T) into w->tmp[0..d-1]: z = L^-1 (x - mean). */
static void whiten(size_t d, const double *L, const double *mean, const double *X, size_t stride, size_t n,
                   st_pf_work *w)
{
    for (size_t i = 0; i < d; i++) {
        double *res = w->tmp[i];
        const double *x = X + i * stride;
        for (size_t p = 0; p < n; p++)
            res[p] = x[p] - mean[i];
        for (size_t j = 0; j < i; j++) {
            double l = L[i * d + j];
            for (size_t p = 0; p < n; p++)
                res[p] -= l * w->tmp[j][p];
        }
        double il = 1 / L[i * d + i];
        for (size_t p = 0; p < n; p++)
            res[p] *= il;
    }
}

int pf_builtin_loginit(const st_pf_model *m, const double *X, size_t stride, size_t n, double *out,
                       st_pf_work *w)
{
    switch (m->kind) {
    case ST_PF_STOCHVOL: {
        double sd = m->sigma / sqrt(1 - m->phi * m->phi);
        for (size_t p = 0; p < n; p++)
            out[p] = st_lpdf_normal(X[p], m->mu, sd);
        return 0;
    }
    case ST_PF_GROWTH: {
        double sd = sqrt(m->var0);
        for (size_t p = 0; p < n; p++)
            out[p] = st_lpdf_normal(X[p], 0, sd);
        return 0;
    }
    case ST_PF_LINEAR_GAUSSIAN:
    case ST_PF_BEARINGS: {
        size_t d = m->dx;
        whiten(d, m->L0, m->m0, X, stride, n, w);
        double c0 = -0.5 * st_chol_logdet(m->L0, d) - (double)d * ST_LOG_SQRT_2PI;
        for (size_t p = 0; p < n; p++)
            out[p] = c0;
        for (size_t i = 0; i < d; i++)
            for (size_t p = 0; p < n; p++)
                out[p] -= 0.5 * w->tmp[i][p] * w->tmp[i][p];
        return 0;
    }
    case ST_PF_YAML:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------ gradients */

#define G(k) (g + (size_t)(k) * ST_PF_BLOCK)

/* Gaussian N(v; mu, S) with S = L L^T (n x n): given the whitened
 * residuals in w->tmp, turn them into z = S^-1 (v - mu) (in place) and
 * put S^-1 into Sinv. */
static void gauss_z(size_t d, const double *L, size_t n, double *Sinv, st_pf_work *w)
{
    /* back substitution L^T z = u */
    for (size_t i = d; i-- > 0;) {
        double *zi = w->tmp[i];
        for (size_t j = i + 1; j < d; j++) {
            double l = L[j * d + i];
            for (size_t p = 0; p < n; p++)
                zi[p] -= l * w->tmp[j][p];
        }
        double il = 1 / L[i * d + i];
        for (size_t p = 0; p < n; p++)
            zi[p] *= il;
    }
    st_chol_inverse(L, d, Sinv);
}

/* g += d/dS over a packed lower triangle at offset off:
 * (2 if a > b) (z_a z_b - S^-1_ab) / 2. */
static void sym_grad(size_t d, const double *Sinv, size_t off, size_t n, double *g, st_pf_work *w)
{
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b <= a; b++) {
            double f = a == b ? 0.5 : 1.0, si = Sinv[a * d + b];
            double *gk = G(off + tri(a, b));
            for (size_t p = 0; p < n; p++)
                gk[p] += f * (w->tmp[a][p] * w->tmp[b][p] - si);
        }
}

void pf_builtin_dinit(const st_pf_model *m, const double *X, size_t stride, size_t n, double *g, st_pf_work *w)
{
    switch (m->kind) {
    case ST_PF_STOCHVOL: {
        double c = sqrt(1 - m->phi * m->phi), sd = m->sigma / c;
        double dsd_dsigma = 1 / c, dsd_dphi = m->sigma * m->phi / (c * c * c);
        for (size_t p = 0; p < n; p++) {
            double z = (X[p] - m->mu) / sd, gs = (z * z - 1) / sd;
            G(0)[p] += z / sd;
            G(1)[p] += gs * dsd_dphi;
            G(2)[p] += gs * dsd_dsigma;
        }
        return;
    }
    case ST_PF_GROWTH:
        for (size_t p = 0; p < n; p++)
            G(2)[p] += (X[p] * X[p] / m->var0 - 1) / (2 * m->var0);
        return;
    case ST_PF_BEARINGS:
        for (size_t i = 0; i < 4; i++) {
            double sd = m->L0[i * 4 + i];
            const double *x = X + i * stride;
            for (size_t p = 0; p < n; p++) {
                double z = (x[p] - m->m0[i]) / sd;
                G(2 + i)[p] += z / sd;
                G(6 + i)[p] += (z * z - 1) / sd;
            }
        }
        return;
    case ST_PF_LINEAR_GAUSSIAN: {
        size_t d = m->dx;
        lg_layout L = layout(d, m->dy);
        whiten(d, m->L0, m->m0, X, stride, n, w);
        gauss_z(d, m->L0, n, w->mat, w);
        for (size_t i = 0; i < d; i++)
            for (size_t p = 0; p < n; p++)
                G(L.m0 + i)[p] += w->tmp[i][p];
        sym_grad(d, w->mat, L.P0, n, g, w);
        return;
    }
    case ST_PF_YAML:
        break;
    }
}

static inline double growth_mean(double x, double t)
{
    return 0.5 * x + 25 * x / (1 + x * x) + 8 * cos(1.2 * t);
}

void pf_builtin_dtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev, size_t pstride,
                       const double *Xnew, size_t nstride, size_t n, double *g, st_pf_work *w)
{
    switch (m->kind) {
    case ST_PF_STOCHVOL: {
        double c = m->mu * (1 - m->phi), is = 1 / m->sigma;
        for (size_t p = 0; p < n; p++) {
            double z = (Xnew[p] - c - m->phi * Xprev[p]) * is;
            G(0)[p] += z * is * (1 - m->phi);
            G(1)[p] += z * is * (Xprev[p] - m->mu);
            G(2)[p] += (z * z - 1) * is;
        }
        return;
    }
    case ST_PF_GROWTH:
        for (size_t p = 0; p < n; p++) {
            double r = Xnew[p] - growth_mean(Xprev[p], s->t);
            G(0)[p] += (r * r / m->var_v - 1) / (2 * m->var_v);
        }
        return;
    case ST_PF_LINEAR_GAUSSIAN:
    case ST_PF_BEARINGS: {
        size_t d = m->dx;
        /* residuals x' - A x, whitened by Lq */
        for (size_t i = 0; i < d; i++) {
            double *res = w->tmp[i];
            const double *xn = Xnew + i * nstride;
            for (size_t p = 0; p < n; p++)
                res[p] = xn[p];
            for (size_t j = 0; j < d; j++) {
                double a = m->A[i * d + j];
                if (a == 0)
                    continue;
                const double *xp = Xprev + j * pstride;
                for (size_t p = 0; p < n; p++)
                    res[p] -= a * xp[p];
            }
            for (size_t j = 0; j < i; j++) {
                double l = m->Lq[i * d + j];
                for (size_t p = 0; p < n; p++)
                    res[p] -= l * w->tmp[j][p];
            }
            double il = 1 / m->Lq[i * d + i];
            for (size_t p = 0; p < n; p++)
                res[p] *= il;
        }
        if (m->kind == ST_PF_BEARINGS) {
            /* Q = q^2 B: d/dq log f = (r' Q^-1 r - 4) / q */
            for (size_t p = 0; p < n; p++) {
                double q2 = 0;
                for (size_t i = 0; i < d; i++)
                    q2 += w->tmp[i][p] * w->tmp[i][p];
                G(0)[p] += (q2 - (double)d) / m->bq;
            }
            return;
        }
        lg_layout L = layout(d, m->dy);
        gauss_z(d, m->Lq, n, w->mat, w);
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) {
                double *gk = G(L.A + i * d + j);
                const double *xp = Xprev + j * pstride;
                for (size_t p = 0; p < n; p++)
                    gk[p] += w->tmp[i][p] * xp[p];
            }
        sym_grad(d, w->mat, L.Q, n, g, w);
        return;
    }
    case ST_PF_YAML:
        break;
    }
}

int pf_builtin_dobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride, size_t n,
                    double *g, st_pf_work *w, st_err *e)
{
    switch (m->kind) {
    case ST_PF_STOCHVOL:
        return 0; /* y ~ N(0, exp(x)) has no parameter */
    case ST_PF_GROWTH: {
        double y = s->y[0];
        if (isnan(y))
            return 0;
        for (size_t p = 0; p < n; p++) {
            double r = y - X[p] * X[p] / 20;
            G(1)[p] += (r * r / m->var_w - 1) / (2 * m->var_w);
        }
        return 0;
    }
    case ST_PF_BEARINGS: {
        double y = s->y[0];
        if (isnan(y))
            return 0;
        const double *px = X, *py = X + 2 * stride;
        for (size_t p = 0; p < n; p++) {
            double z = remainder(y - atan2(py[p], px[p]), 2 * M_PI) / m->br;
            G(1)[p] += (z * z - 1) / m->br;
        }
        return 0;
    }
    case ST_PF_LINEAR_GAUSSIAN: {
        size_t dy = m->dy, dx = m->dx, idx[ST_PF_MAXDIM], k = 0;
        lg_layout L = layout(dx, dy);
        for (size_t i = 0; i < dy; i++)
            if (!isnan(s->y[i]))
                idx[k++] = i;
        if (k == 0)
            return 0;
        /* the observed block of R and its factor */
        double Lo[ST_PF_MAXDIM * ST_PF_MAXDIM];
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < k; b++)
                Lo[a * k + b] = m->R[idx[a] * dy + idx[b]];
        st_err tmp;
        if (st_chol(Lo, k, 0, NULL, &tmp) < 0)
            return st_err_set(e, ST_EINTERNAL, m->file, 0, 0, "R sub-matrix not positive definite");
        for (size_t a = 0; a < k; a++) {
            double *res = w->tmp[a];
            for (size_t p = 0; p < n; p++)
                res[p] = s->y[idx[a]];
            for (size_t j = 0; j < dx; j++) {
                double c = m->C[idx[a] * dx + j];
                if (c == 0)
                    continue;
                const double *xp = X + j * stride;
                for (size_t p = 0; p < n; p++)
                    res[p] -= c * xp[p];
            }
            for (size_t b = 0; b < a; b++) {
                double l = Lo[a * k + b];
                for (size_t p = 0; p < n; p++)
                    res[p] -= l * w->tmp[b][p];
            }
            double il = 1 / Lo[a * k + a];
            for (size_t p = 0; p < n; p++)
                res[p] *= il;
        }
        gauss_z(k, Lo, n, w->mat, w);
        for (size_t a = 0; a < k; a++)
            for (size_t j = 0; j < dx; j++) {
                double *gk = G(L.C + idx[a] * dx + j);
                const double *xp = X + j * stride;
                for (size_t p = 0; p < n; p++)
                    gk[p] += w->tmp[a][p] * xp[p];
            }
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b <= a; b++) {
                double f = a == b ? 0.5 : 1.0, si = w->mat[a * k + b];
                double *gk = G(L.R + tri(idx[a], idx[b]));
                for (size_t p = 0; p < n; p++)
                    gk[p] += f * (w->tmp[a][p] * w->tmp[b][p] - si);
            }
        return 0;
    }
    case ST_PF_YAML:
        break;
    }
    return 0;
}

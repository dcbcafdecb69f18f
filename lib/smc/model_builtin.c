/* The built-in particle models (linear-gaussian, stochastic-volatility,
 * growth, bearings-only): their parameters and their block operations,
 * written without expression overhead. */
#include "config.h"

#include "smc/model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/vmath.h"
#include "core/yaml.h"
#include "smc/dist.h"
#include "smc/model_internal.h"

/* A number, a vector or a matrix parameter of a built-in model into a
 * rows x cols row-major array (a scalar is accepted for 1 x 1). */
static int read_matrix(loader *L, const st_ynode *par, const char *key, size_t rows, size_t cols,
                       double **out, const double *dflt, size_t *got_rows, size_t *got_cols)
{
    const st_ynode *n = st_ymap_get(L->doc, par, key);
    if (!n) {
        if (!dflt)
            return st_ynode_error(L->doc, par, L->e, ST_EDATA, "missing parameter '%s'", key);
        *out = malloc(rows * cols * sizeof **out);
        if (!*out)
            return st_err_nomem(L->e, key);
        memcpy(*out, dflt, rows * cols * sizeof **out);
        return 0;
    }
    size_t r = 0, c = 0;
    if (st_ynode_kind(n) == ST_YSCALAR) {
        double v;
        int rc = st_ynode_double(L->doc, n, -INFINITY, INFINITY, &v, L->e);
        if (rc < 0)
            return rc;
        if ((rows && rows != 1) || (cols && cols != 1))
            return st_ynode_error(L->doc, n, L->e, ST_EDATA, "'%s' must be %zu x %zu", key, rows, cols);
        if (!(*out = malloc(sizeof **out)))
            return st_err_nomem(L->e, key);
        **out = v;
        r = c = 1;
    } else if (st_ynode_kind(n) == ST_YSEQ && st_ynode_len(n) > 0 &&
               st_ynode_kind(st_yseq_at(n, 0)) == ST_YSCALAR) {
        /* a vector: a column (rows x 1) */
        int rc = st_ynode_vector(L->doc, n, rows, -INFINITY, INFINITY, out, &r, L->e);
        if (rc < 0)
            return rc;
        c = 1;
        if (cols > 1)
            return st_ynode_error(L->doc, n, L->e, ST_EDATA, "'%s' must be a matrix", key);
    } else {
        int rc = st_ynode_matrix(L->doc, n, rows, cols, -INFINITY, INFINITY, out, &r, &c, L->e);
        if (rc < 0)
            return rc;
    }
    if (r > ST_PF_MAXDIM || c > ST_PF_MAXDIM)
        return st_ynode_error(L->doc, n, L->e, ST_EDATA, "'%s' is larger than %d", key, ST_PF_MAXDIM);
    if (got_rows)
        *got_rows = r;
    if (got_cols)
        *got_cols = c;
    return 0;
}

static int read_scalar_par(loader *L, const st_ynode *par, const char *key, double lo, double hi,
                           double dflt, double *out)
{
    const st_ynode *n = st_ymap_get(L->doc, par, key);
    if (!n) {
        *out = dflt;
        return 0;
    }
    return st_ynode_double(L->doc, n, lo, hi, out, L->e);
}

static int chol_copy(loader *L, const st_ynode *at, const double *S, size_t n, double **Lout,
                     const char *what)
{
    *Lout = malloc(n * n * sizeof **Lout);
    if (!*Lout)
        return st_err_nomem(L->e, what);
    memcpy(*Lout, S, n * n * sizeof **Lout);
    if (st_mat_asymmetry(S, n) > 1e-10)
        return st_ynode_error(L->doc, at, L->e, ST_EDATA, "'%s' is not symmetric", what);
    st_err tmp;
    st_err_clear(&tmp);
    if (st_chol(*Lout, n, 0, NULL, &tmp) < 0)
        return st_ynode_error(L->doc, at, L->e, ST_EDATA, "'%s' is not positive definite", what);
    return 0;
}

int pf_builtin_load(loader *L, const st_ynode *root, const st_ynode *bn, int which)
{
    st_pf_model *m = L->m;
    const st_ynode *par = st_ymap_get(L->doc, root, "parameters");
    int rc;
    if (par && st_ynode_kind(par) != ST_YMAP)
        return st_ynode_error(L->doc, par, L->e, ST_EDATA, "'parameters' must be a mapping");
    m->kind = (st_pf_kind)(which + 1);
    switch (m->kind) {
    case ST_PF_LINEAR_GAUSSIAN: {
        if (!par)
            return st_ynode_error(L->doc, bn, L->e, ST_EDATA, "linear-gaussian needs 'parameters' A, Q, C, R (m0, P0)");
        size_t r, c, rr, cc;
        if ((rc = read_matrix(L, par, "A", 0, 0, &m->A, NULL, &r, &c)) < 0)
            return rc;
        if (r != c)
            return st_ynode_error(L->doc, st_ymap_get(L->doc, par, "A"), L->e, ST_EDATA, "'A' must be square");
        m->dx = r;
        if ((rc = read_matrix(L, par, "Q", m->dx, m->dx, &m->Q, NULL, NULL, NULL)) < 0)
            return rc;
        if ((rc = read_matrix(L, par, "C", 0, 0, &m->C, NULL, &rr, &cc)) < 0)
            return rc;
        if (m->dx == 1 && cc == 1 && rr > 1) { /* a vector C for a scalar state */
            cc = 1;
        } else if (cc != m->dx) {
            return st_ynode_error(L->doc, st_ymap_get(L->doc, par, "C"), L->e, ST_EDATA,
                                  "'C' must have %zu columns (the state dimension), not %zu", m->dx, cc);
        }
        m->dy = rr;
        if ((rc = read_matrix(L, par, "R", m->dy, m->dy, &m->R, NULL, NULL, NULL)) < 0)
            return rc;
        double zeros[ST_PF_MAXDIM] = {0};
        double *eye = calloc(m->dx * m->dx, sizeof *eye);
        if (!eye)
            return st_err_nomem(L->e, "P0");
        for (size_t i = 0; i < m->dx; i++)
            eye[i * m->dx + i] = 1;
        rc = read_matrix(L, par, "m0", m->dx, 1, &m->m0, zeros, NULL, NULL);
        if (rc == 0)
            rc = read_matrix(L, par, "P0", m->dx, m->dx, &m->P0, eye, NULL, NULL);
        free(eye);
        if (rc < 0)
            return rc;
        const st_ynode *at = par;
        if ((rc = chol_copy(L, at, m->Q, m->dx, &m->Lq, "Q")) < 0 ||
            (rc = chol_copy(L, at, m->R, m->dy, &m->Lr, "R")) < 0 ||
            (rc = chol_copy(L, at, m->P0, m->dx, &m->L0, "P0")) < 0)
            return rc;
        m->logdetq = st_chol_logdet(m->Lq, m->dx);
        m->logdetr = st_chol_logdet(m->Lr, m->dy);
        break;
    }
    case ST_PF_STOCHVOL:
        m->dx = m->dy = 1;
        if ((rc = read_scalar_par(L, par ? par : root, "mu", -INFINITY, INFINITY, -1.0, &m->mu)) < 0 ||
            (rc = read_scalar_par(L, par ? par : root, "phi", -0.999999, 0.999999, 0.95, &m->phi)) < 0 ||
            (rc = read_scalar_par(L, par ? par : root, "sigma", 1e-12, INFINITY, 0.3, &m->sigma)) < 0)
            return rc;
        break;
    case ST_PF_GROWTH:
        m->dx = m->dy = 1;
        if ((rc = read_scalar_par(L, par ? par : root, "var_v", 1e-12, INFINITY, 10.0, &m->var_v)) < 0 ||
            (rc = read_scalar_par(L, par ? par : root, "var_w", 1e-12, INFINITY, 1.0, &m->var_w)) < 0 ||
            (rc = read_scalar_par(L, par ? par : root, "var0", 1e-12, INFINITY, 5.0, &m->var0)) < 0)
            return rc;
        break;
    default: { /* bearings-only: (px, vx, py, vy), observer at the origin */
        m->dx = 4;
        m->dy = 1;
        if ((rc = read_scalar_par(L, par ? par : root, "q", 1e-12, INFINITY, 0.001, &m->bq)) < 0 ||
            (rc = read_scalar_par(L, par ? par : root, "r", 1e-12, INFINITY, 0.005, &m->br)) < 0)
            return rc;
        static const double m0d[4] = {-0.05, 0.001, 0.7, -0.055};
        static const double sd0[4] = {0.1, 0.005, 0.1, 0.01};
        double *sd = NULL;
        if ((rc = read_matrix(L, par ? par : root, "m0", 4, 1, &m->m0, m0d, NULL, NULL)) < 0 ||
            (rc = read_matrix(L, par ? par : root, "sd0", 4, 1, &sd, sd0, NULL, NULL)) < 0) {
            free(sd);
            return rc;
        }
        m->A = calloc(16, sizeof *m->A);
        m->Q = calloc(16, sizeof *m->Q);
        m->P0 = calloc(16, sizeof *m->P0);
        if (!m->A || !m->Q || !m->P0) {
            free(sd);
            return st_err_nomem(L->e, "bearings-only");
        }
        double q2 = m->bq * m->bq;
        for (int k = 0; k < 2; k++) {
            int o = 2 * k;
            m->A[o * 4 + o] = m->A[o * 4 + o + 1] = m->A[(o + 1) * 4 + o + 1] = 1;
            /* white-noise acceleration over a unit step: full rank, so the
             * transition has a density for the backward smoothers */
            m->Q[o * 4 + o] = q2 / 3;
            m->Q[o * 4 + o + 1] = m->Q[(o + 1) * 4 + o] = q2 / 2;
            m->Q[(o + 1) * 4 + o + 1] = q2;
        }
        for (int i = 0; i < 4; i++) {
            if (!(sd[i] > 0)) {
                free(sd);
                return st_ynode_error(L->doc, par ? par : root, L->e, ST_EDATA, "'sd0' entries must be > 0");
            }
            m->P0[i * 4 + i] = sd[i] * sd[i];
        }
        free(sd);
        if ((rc = chol_copy(L, root, m->Q, 4, &m->Lq, "Q")) < 0 ||
            (rc = chol_copy(L, root, m->P0, 4, &m->L0, "P0")) < 0)
            return rc;
        m->logdetq = st_chol_logdet(m->Lq, 4);
        break;
    }
    }
    if (par && (rc = st_ymap_check_unknown(L->doc, par, L->e)) < 0)
        return rc;
    return 0;
}


/* Linear-Gaussian pieces shared by linear-gaussian and bearings-only. */
static void lg_sample(size_t d, const double *A, const double *L, const double *mean0,
                      const double *Xprev, size_t pstride, double *Xnew, size_t nstride, size_t n,
                      st_rng *r, st_pf_work *w)
{
    /* z ~ N(0, I) in w->tmp rows (one vector fill per component), then
     * Xnew = A Xprev (or mean0) + L z */
    for (size_t j = 0; j < d; j++)
        st_rng_normal_fill(r, w->tmp[j], n);
    for (size_t i = 0; i < d; i++) {
        double *out = Xnew + i * nstride;
        if (A) {
            for (size_t p = 0; p < n; p++)
                out[p] = 0;
            for (size_t j = 0; j < d; j++) {
                double a = A[i * d + j];
                if (a != 0)
                    st_vaxpy(out, a, Xprev + j * pstride, n);
            }
        } else {
            for (size_t p = 0; p < n; p++)
                out[p] = mean0[i];
        }
        for (size_t j = 0; j <= i; j++) {
            double l = L[i * d + j];
            if (l != 0)
                st_vaxpy(out, l, w->tmp[j], n);
        }
    }
}

static void lg_logtrans(size_t d, const double *A, const double *L, double logdet,
                        const double *Xprev, size_t pstride, const double *Xnew, size_t nstride,
                        size_t n, double *out, st_pf_work *w)
{
    for (size_t i = 0; i < d; i++) {
        double *res = w->tmp[i];
        const double *xn = Xnew + i * nstride;
        for (size_t p = 0; p < n; p++)
            res[p] = xn[p];
        for (size_t j = 0; j < d; j++) {
            double a = A[i * d + j];
            if (a == 0)
                continue;
            const double *xp = Xprev + j * pstride;
            for (size_t p = 0; p < n; p++)
                res[p] -= a * xp[p];
        }
        for (size_t j = 0; j < i; j++) {
            double l = L[i * d + j];
            for (size_t p = 0; p < n; p++)
                res[p] -= l * w->tmp[j][p];
        }
        double il = 1 / L[i * d + i];
        for (size_t p = 0; p < n; p++)
            res[p] *= il;
    }
    double c0 = -0.5 * logdet - (double)d * ST_LOG_SQRT_2PI;
    for (size_t p = 0; p < n; p++)
        out[p] = c0;
    for (size_t i = 0; i < d; i++)
        for (size_t p = 0; p < n; p++)
            out[p] -= 0.5 * w->tmp[i][p] * w->tmp[i][p];
}
int pf_builtin_init(const st_pf_model *m, const st_pf_step *s, double *X, size_t stride, size_t n,
                    st_rng *r, st_pf_work *w, st_err *e)
{
    switch (m->kind) {
    case ST_PF_YAML:
        break;
    case ST_PF_LINEAR_GAUSSIAN:
    case ST_PF_BEARINGS:
        lg_sample(m->dx, NULL, m->L0, m->m0, NULL, 0, X, stride, n, r, w);
        return 0;
    case ST_PF_STOCHVOL: {
        double sd = m->sigma / sqrt(1 - m->phi * m->phi), *z = w->tmp[0];
        st_rng_normal_fill(r, z, n);
        if (w->par) { /* per-particle (mu, phi, sigma) */
            const double *mu = w->par, *phi = mu + w->par_stride, *sg = phi + w->par_stride;
            for (size_t p = 0; p < n; p++)
                X[p] = mu[p] + sg[p] / sqrt(1 - phi[p] * phi[p]) * z[p];
            return 0;
        }
        st_vaffine(X, sd, z, m->mu, n); /* mu + sd z */
        return 0;
    }
    case ST_PF_GROWTH: {
        double sd = sqrt(m->var0), *z = w->tmp[0];
        st_rng_normal_fill(r, z, n);
        for (size_t p = 0; p < n; p++)
            X[p] = sd * z[p];
        return 0;
    }
    }
    return 0;
}

static inline double growth_mean(double x, double t)
{
    return 0.5 * x + 25 * x / (1 + x * x) + 8 * cos(1.2 * t);
}

int pf_builtin_transition(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                          size_t pstride, double *Xnew, size_t nstride, size_t n, st_rng *r,
                          st_pf_work *w, st_err *e)
{
    switch (m->kind) {
    case ST_PF_YAML:
        break;
    case ST_PF_LINEAR_GAUSSIAN:
    case ST_PF_BEARINGS:
        lg_sample(m->dx, m->A, m->Lq, NULL, Xprev, pstride, Xnew, nstride, n, r, w);
        return 0;
    case ST_PF_STOCHVOL: {
        double *z = w->tmp[0];
        st_rng_normal_fill(r, z, n);
        if (w->par) {
            const double *mu = w->par, *phi = mu + w->par_stride, *sg = phi + w->par_stride;
            for (size_t p = 0; p < n; p++)
                Xnew[p] = mu[p] * (1 - phi[p]) + phi[p] * Xprev[p] + sg[p] * z[p];
            return 0;
        }
        st_vaffine(Xnew, m->phi, Xprev, m->mu * (1 - m->phi), n); /* mu (1 - phi) + phi x */
        st_vaxpy(Xnew, m->sigma, z, n);                            /* ... + sigma z */
        return 0;
    }
    case ST_PF_GROWTH: {
        double sd = sqrt(m->var_v), c = 8 * cos(1.2 * s->t), *z = w->tmp[0];
        st_rng_normal_fill(r, z, n);
        for (size_t p = 0; p < n; p++) {
            double x = Xprev[p];
            Xnew[p] = 0.5 * x + 25 * x / (1 + x * x) + c + sd * z[p];
        }
        return 0;
    }
    }
    return 0;
}

int pf_builtin_logtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                        size_t pstride, const double *Xnew, size_t nstride, size_t n, double *out,
                        st_pf_work *w, st_err *e)
{
    switch (m->kind) {
    case ST_PF_YAML:
        break;
    case ST_PF_LINEAR_GAUSSIAN:
    case ST_PF_BEARINGS:
        lg_logtrans(m->dx, m->A, m->Lq, m->logdetq, Xprev, pstride, Xnew, nstride, n, out, w);
        return 0;
    case ST_PF_STOCHVOL: {
        if (w->par) {
            const double *mu = w->par, *phi = mu + w->par_stride, *sg = phi + w->par_stride;
            for (size_t p = 0; p < n; p++) {
                double z = (Xnew[p] - mu[p] * (1 - phi[p]) - phi[p] * Xprev[p]) / sg[p];
                out[p] = -log(sg[p]) - ST_LOG_SQRT_2PI - 0.5 * z * z;
            }
            return 0;
        }
        double c = m->mu * (1 - m->phi), is = 1 / m->sigma,
               c0 = -log(m->sigma) - ST_LOG_SQRT_2PI;
        for (size_t p = 0; p < n; p++) {
            double z = (Xnew[p] - c - m->phi * Xprev[p]) * is;
            out[p] = c0 - 0.5 * z * z;
        }
        return 0;
    }
    case ST_PF_GROWTH: {
        double is = 1 / sqrt(m->var_v), c0 = -0.5 * log(m->var_v) - ST_LOG_SQRT_2PI;
        for (size_t p = 0; p < n; p++) {
            double z = (Xnew[p] - growth_mean(Xprev[p], s->t)) * is;
            out[p] = c0 - 0.5 * z * z;
        }
        return 0;
    }
    }
    return 0;
}

int pf_builtin_logobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride,
                      size_t n, double *lw, st_pf_work *w, st_err *e)
{
    switch (m->kind) {
    case ST_PF_YAML:
        break;
    case ST_PF_LINEAR_GAUSSIAN: {
        size_t dy = m->dy, dx = m->dx, idx[ST_PF_MAXDIM], k = 0;
        for (size_t i = 0; i < dy; i++)
            if (!isnan(s->y[i]))
                idx[k++] = i;
        if (k == 0)
            return 0;
        const double *L = m->Lr;
        double logdet = m->logdetr;
        if (k < dy) { /* the marginal of the observed components */
            for (size_t a = 0; a < k; a++)
                for (size_t b = 0; b < k; b++)
                    w->mat[a * k + b] = m->R[idx[a] * dy + idx[b]];
            st_err tmp;
            if (st_chol(w->mat, k, 0, NULL, &tmp) < 0)
                return st_err_set(e, ST_EINTERNAL, m->file, 0, 0, "R sub-matrix not positive definite");
            L = w->mat;
            logdet = st_chol_logdet(L, k);
        }
        for (size_t a = 0; a < k; a++) {
            size_t i = idx[a];
            double *res = w->tmp[a];
            for (size_t p = 0; p < n; p++)
                res[p] = s->y[i];
            for (size_t j = 0; j < dx; j++) {
                double c = m->C[i * dx + j];
                if (c == 0)
                    continue;
                const double *xp = X + j * stride;
                for (size_t p = 0; p < n; p++)
                    res[p] -= c * xp[p];
            }
            for (size_t b = 0; b < a; b++) {
                double l = L[a * k + b];
                for (size_t p = 0; p < n; p++)
                    res[p] -= l * w->tmp[b][p];
            }
            double il = 1 / L[a * k + a];
            for (size_t p = 0; p < n; p++)
                res[p] *= il;
        }
        double c0 = -0.5 * logdet - (double)k * ST_LOG_SQRT_2PI;
        for (size_t a = 0; a < k; a++)
            for (size_t p = 0; p < n; p++)
                lw[p] -= 0.5 * w->tmp[a][p] * w->tmp[a][p];
        for (size_t p = 0; p < n; p++)
            lw[p] += c0;
        return 0;
    }
    case ST_PF_STOCHVOL: {
        double y = s->y[0];
        if (isnan(y))
            return 0;
        /* lw += (-y^2/2 exp(-x) - log sqrt(2 pi)) - x/2 */
        double *ex = w->tmp[0];
        st_vaffine(ex, -1.0, X, 0.0, n);
        st_vexp(ex, ex, n);
        st_vaffine(ex, -0.5 * y * y, ex, -ST_LOG_SQRT_2PI, n);
        st_vaxpy(ex, -0.5, X, n);
        st_vadd(lw, lw, ex, n);
        return 0;
    }
    case ST_PF_GROWTH: {
        double y = s->y[0];
        if (isnan(y))
            return 0;
        double is = 1 / sqrt(m->var_w), c0 = -0.5 * log(m->var_w) - ST_LOG_SQRT_2PI;
        for (size_t p = 0; p < n; p++) {
            double z = (y - X[p] * X[p] / 20) * is;
            lw[p] += c0 - 0.5 * z * z;
        }
        return 0;
    }
    case ST_PF_BEARINGS: {
        double y = s->y[0];
        if (isnan(y))
            return 0;
        double is = 1 / m->br, c0 = -log(m->br) - ST_LOG_SQRT_2PI;
        const double *px = X, *py = X + 2 * stride;
        for (size_t p = 0; p < n; p++) {
            double z = remainder(y - atan2(py[p], px[p]), 2 * M_PI) * is;
            lw[p] += c0 - 0.5 * z * z;
        }
        return 0;
    }
    }
    return 0;
}

int pf_builtin_trans_bound(const st_pf_model *m, const st_pf_step *s, double *logbound)
{
    switch (m->kind) {
    case ST_PF_YAML:
        break;
    case ST_PF_LINEAR_GAUSSIAN:
    case ST_PF_BEARINGS:
        *logbound = -0.5 * m->logdetq - (double)m->dx * ST_LOG_SQRT_2PI;
        return 1;
    case ST_PF_STOCHVOL:
        *logbound = -log(m->sigma) - ST_LOG_SQRT_2PI;
        return 1;
    case ST_PF_GROWTH:
        *logbound = -0.5 * log(m->var_v) - ST_LOG_SQRT_2PI;
        return 1;
    }
    return 0;
}

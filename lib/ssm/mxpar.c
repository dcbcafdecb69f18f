/* Matrix models with parameters: evaluation and maximum likelihood. */
#include "config.h"

#include "ssm/mxpar.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/optim.h"

const char *const st_mx_names[ST_MX_NMAT] = {"T", "Z", "R", "Q", "H", "c", "d", "a1", "P1"};
const char *const st_mxpar_constraint_names[] = {"free", "positive", "unit", "signed-unit", NULL};

void st_mxpar_free(st_mxpar *mp)
{
    if (!mp)
        return;
    for (size_t i = 0; i < mp->nent; i++)
        st_expr_free(mp->ent[i].ex);
    free(mp->ent);
    st_ssm_free(mp->s);
    free(mp);
}

static double *mat_ptr(st_ssm *s, int mat)
{
    switch (mat) {
    case ST_MX_T: return s->T;
    case ST_MX_Z: return s->Z;
    case ST_MX_R: return s->R;
    case ST_MX_Q: return s->Q;
    case ST_MX_H: return s->H;
    case ST_MX_C: return s->c;
    case ST_MX_D: return s->d;
    case ST_MX_A1: return s->a1;
    default: return s->P1;
    }
}

/* Smallest eigenvalue of the symmetric k x k A is >= -tol * scale. */
static int is_psd(const double *A, size_t k, st_err *e)
{
    double scale = 0, w[64], *wp = k <= 64 ? w : malloc(k * sizeof(double));
    if (!wp)
        return st_err_nomem(e, "covariance check");
    for (size_t i = 0; i < k * k; i++)
        scale = fmax(scale, fabs(A[i]));
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < i; j++)
            if (fabs(A[i * k + j] - A[j * k + i]) > 1e-12 * scale) {
                if (wp != w)
                    free(wp);
                return 0;
            }
    int ok = st_eigen_sym(A, k, wp, NULL, e) == 0 && wp[0] >= -1e-12 * scale;
    if (wp != w)
        free(wp);
    return ok;
}

int st_mxpar_set(st_mxpar *mp, const double *theta, st_err *e)
{
    st_ssm *s = mp->s;
    st_expr_args a = {.par = theta};
    for (size_t i = 0; i < mp->nent; i++) {
        const st_mxpar_entry *en = &mp->ent[i];
        double v = st_expr_eval1(en->ex, &a);
        if (!isfinite(v)) {
            char buf[64];
            st_expr_excerpt(en->ex, buf, sizeof buf);
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "%s entry '%s' is not finite at these parameters", st_mx_names[en->mat], buf);
        }
        mat_ptr(s, en->mat)[en->idx] = v;
    }
    if (theta != mp->value)
        memcpy(mp->value, theta, mp->npar * sizeof(double));
    if (mp->used[ST_MX_Q] && !is_psd(s->Q, s->r, e))
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "Q is not a covariance matrix at these parameters");
    if (mp->used[ST_MX_P1] && !is_psd(s->P1, s->m, e))
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "P1 is not a covariance matrix at these parameters");
    if (mp->used[ST_MX_H]) {
        size_t p = s->p;
        if (st_ssm_H_is_diagonal(s)) {
            for (size_t i = 0; i < p; i++)
                if (!(s->H[i * p + i] >= 0))
                    return st_err_set(e, ST_EDATA, NULL, 0, 0, "H has a negative variance at these parameters");
        } else if (!is_psd(s->H, p, e))
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "H is not a covariance matrix at these parameters");
    }
    for (size_t i = 0; i < s->m; i++)
        if (s->diffuse[i])
            for (size_t j = 0; j < s->m; j++)
                if (s->P1[i * s->m + j] != 0 || s->P1[j * s->m + i] != 0)
                    return st_err_set(e, ST_EDATA, NULL, 0, 0, "P1 row %zu must be zero for a diffuse state", i + 1);
    return 0;
}

int st_mxpar_loglik(const st_ssm *s, const double *y, size_t n, st_kalman_ll *ll, st_err *e)
{
    if (st_ssm_H_is_diagonal(s))
        return st_kalman_loglik(s, y, n, ll, e);
    st_ssm *sw;
    int rc = st_ssm_new(&sw, s->p, s->m, s->r, e);
    if (rc < 0)
        return rc;
    double *yw = malloc((n ? n : 1) * s->p * sizeof(double));
    if (!yw)
        rc = st_err_nomem(e, "decorrelated observations");
    else if ((rc = st_ssm_decorrelate(s, sw, y, n, yw, e)) == 0)
        rc = st_kalman_loglik(sw, yw, n, ll, e);
    free(yw);
    st_ssm_free(sw);
    return rc;
}

/* ---------------------------------------------------------- estimation */

typedef struct fit_ctx {
    st_mxpar *mp;
    const double *y;
    size_t n;
    size_t nfree, idx[ST_MXPAR_MAXPAR]; /* free parameters */
    st_ssm *sw;                         /* decorrelated model (full H), or NULL */
    double *yw;
    int nevals;
    int hard_error;                     /* an error that is not a bad point */
    st_err err;
} fit_ctx;

static double to_theta(int cons, double u)
{
    switch (cons) {
    case ST_MXPAR_POSITIVE: return st_tr_pos(u);
    case ST_MXPAR_UNIT: return st_tr_interval(u, 0, 1);
    case ST_MXPAR_SIGNED_UNIT: return st_tr_interval(u, -1, 1);
    default: return u;
    }
}

static double to_u(int cons, double x)
{
    switch (cons) {
    case ST_MXPAR_POSITIVE: return st_tr_pos_inv(x);
    case ST_MXPAR_UNIT: return st_tr_interval_inv(x, 0, 1);
    case ST_MXPAR_SIGNED_UNIT: return st_tr_interval_inv(x, -1, 1);
    default: return x;
    }
}

/* d theta / d u */
static double dtheta(int cons, double x)
{
    switch (cons) {
    case ST_MXPAR_POSITIVE: return x;
    case ST_MXPAR_UNIT: return x * (1 - x);
    case ST_MXPAR_SIGNED_UNIT: return (1 + x) * (1 - x) / 2;
    default: return 1;
    }
}

/* -log-likelihood at the free parameters u (+inf at a bad point) */
static double objective(const double *u, double *grad, void *vctx)
{
    (void)grad;
    fit_ctx *c = vctx;
    st_mxpar *mp = c->mp;
    double theta[ST_MXPAR_MAXPAR];
    memcpy(theta, mp->value, mp->npar * sizeof(double));
    for (size_t k = 0; k < c->nfree; k++)
        theta[c->idx[k]] = to_theta(mp->cons[c->idx[k]], u[k]);
    c->nevals++;
    st_err e;
    if (st_mxpar_set(mp, theta, &e) < 0)
        return INFINITY;
    st_kalman_ll ll;
    int rc;
    if (c->sw) {
        if ((rc = st_ssm_decorrelate(mp->s, c->sw, c->y, c->n, c->yw, &e)) == 0)
            rc = st_kalman_loglik(c->sw, c->yw, c->n, &ll, &e);
        if (rc < 0 && rc != ST_ENUMERIC && !c->hard_error) {
            c->hard_error = 1;
            c->err = e;
        }
    } else
        rc = st_kalman_loglik(mp->s, c->y, c->n, &ll, &e);
    if (rc < 0 || !isfinite(ll.loglik))
        return INFINITY;
    return -ll.loglik;
}

int st_mxpar_fit(st_mxpar *mp, const double *y, size_t n, int want_se, st_mxpar_result *res,
                 st_err *e)
{
    memset(res, 0, sizeof *res);
    for (size_t i = 0; i < ST_MXPAR_MAXPAR; i++)
        res->se[i] = NAN;
    fit_ctx c;
    memset(&c, 0, sizeof c);
    c.mp = mp;
    c.y = y;
    c.n = n;
    if (!mp->use_given)
        for (size_t i = 0; i < mp->npar; i++)
            if (!mp->hold[i])
                c.idx[c.nfree++] = i;
    int rc = st_mxpar_set(mp, mp->value, e);
    if (rc < 0)
        return rc;
    /* a full H anywhere along the way: decorrelate at every evaluation */
    int full = !st_ssm_H_is_diagonal(mp->s);
    for (size_t k = 0; k < mp->nent && !full; k++)
        if (mp->ent[k].mat == ST_MX_H) {
            size_t i = mp->ent[k].idx / mp->s->p, j = mp->ent[k].idx % mp->s->p;
            full = i != j;
        }
    if (full) {
        if ((rc = st_ssm_new(&c.sw, mp->s->p, mp->s->m, mp->s->r, e)) < 0)
            return rc;
        if (!(c.yw = malloc((n ? n : 1) * mp->s->p * sizeof(double)))) {
            rc = st_err_nomem(e, "decorrelated observations");
            goto out;
        }
        /* the pattern of missing values is checked once, here */
        if ((rc = st_ssm_decorrelate(mp->s, c.sw, y, n, c.yw, e)) < 0)
            goto out;
    }
    double u[ST_MXPAR_MAXPAR];
    for (size_t k = 0; k < c.nfree; k++)
        u[k] = to_u(mp->cons[c.idx[k]], mp->value[c.idx[k]]);
    double f0 = objective(u, NULL, &c);
    if (c.hard_error) {
        *e = c.err;
        rc = e->code;
        goto out;
    }
    if (!isfinite(f0)) {
        /* say why: the error of the evaluation at the start */
        st_kalman_ll ll;
        if ((rc = st_mxpar_set(mp, mp->value, e)) == 0 && (rc = st_mxpar_loglik(mp->s, y, n, &ll, e)) == 0)
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "numerical breakdown: the log-likelihood of the matrix model at its starting values is not finite");
        goto out;
    }
    snprintf(res->status, sizeof res->status, "fixed");
    res->converged = 1;
    if (c.nfree) {
        st_optim_opts o = {.method = ST_OPT_BOBYQA, .ftol_rel = 1e-12, .xtol_rel = 1e-10,
                           .max_eval = 20000, .initial_step = 0.5};
        double fbest = f0;
        for (int run = 0; run < 4; run++) {
            st_optim_result r;
            st_err oe;
            double ut[ST_MXPAR_MAXPAR];
            memcpy(ut, u, c.nfree * sizeof(double));
            rc = st_optim_minimize(objective, &c, ut, c.nfree, &o, &r, &oe);
            if (c.hard_error) {
                *e = c.err;
                rc = e->code;
                goto out;
            }
            if (!(r.fmin <= fbest) || !isfinite(r.fmin)) /* no better point */
                break;
            double gain = fbest - r.fmin;
            memcpy(u, ut, c.nfree * sizeof(double));
            fbest = r.fmin;
            res->converged = r.converged;
            snprintf(res->status, sizeof res->status, "%s", r.status ? r.status : "unknown");
            if (gain < 1e-9)
                break;
            o.initial_step = 0.1;
        }
        rc = 0;
    }
    /* the estimate */
    double theta[ST_MXPAR_MAXPAR];
    memcpy(theta, mp->value, mp->npar * sizeof(double));
    for (size_t k = 0; k < c.nfree; k++)
        theta[c.idx[k]] = to_theta(mp->cons[c.idx[k]], u[k]);
    if ((rc = st_mxpar_set(mp, theta, e)) < 0)
        goto out;
    st_kalman_ll ll;
    if ((rc = st_mxpar_loglik(mp->s, y, n, &ll, e)) < 0)
        goto out;
    if (!isfinite(ll.loglik)) {
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "numerical breakdown: the log-likelihood of the matrix model is not finite (variances too large or too small for double precision?)");
        goto out;
    }
    res->loglik = ll.loglik;
    res->nobs = ll.nreg + ll.ndiffuse;
    res->nfree = c.nfree;
    res->nevals = c.nevals;
    if (want_se && c.nfree) {
        size_t k = c.nfree;
        double Hs[ST_MXPAR_MAXPAR * ST_MXPAR_MAXPAR], V[ST_MXPAR_MAXPAR * ST_MXPAR_MAXPAR];
        st_optim_numhess(objective, &c, u, k, Hs);
        st_err he;
        int ok = 1;
        for (size_t i = 0; i < k * k; i++)
            ok &= isfinite(Hs[i]);
        if (ok && st_chol(Hs, k, 0, NULL, &he) == 0) {
            st_chol_inverse(Hs, k, V);
            for (size_t i = 0; i < k; i++) {
                size_t j = c.idx[i];
                res->se[j] = fabs(dtheta(mp->cons[j], theta[j])) * sqrt(V[i * k + i]);
            }
        }
        /* numhess moved the model: back to the estimate */
        if ((rc = st_mxpar_set(mp, theta, e)) < 0)
            goto out;
    }
    rc = 0;
out:
    free(c.yw);
    st_ssm_free(c.sw);
    return rc;
}

/* Matrix models (a general linear Gaussian model given by its matrices in
 * a model file) behind the family table: numbers are used as given,
 * entries that are expressions of the file's parameters are estimated by
 * maximum likelihood (mxpar.h); the fit is the exact diffuse
 * log-likelihood (kalman.h), a full H through its decorrelated form.
 * Univariate or multivariate: forecasts with p > 1 have p rows per step.
 * Memory: forecasts and --filter keep O(n m) numbers; --smooth keeps the
 * n x m x m smoothed covariances, refused beyond ST_KALMAN_MAX_BYTES. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/family.h"
#include "ssm/internal.h"
#include "ssm/kalman.h"
#include "ssm/model_io.h"
#include "ssm/mxpar.h"

/* The spec is the model as read (st_mxpar, shared by the series of a
 * run); a fit owns a shallow copy with its own matrices (the compiled
 * expressions stay the spec's). */
static void mx_spec_free(void *spec)
{
    st_mxpar_free(spec);
}

static size_t mx_nobs(const void *spec)
{
    return ((const st_mxpar *)spec)->s->p;
}

static void fitted_free(st_mxpar *f)
{
    if (f) {
        st_ssm_free(f->s);
        free(f);
    }
}

static int mx_fit(const void *spec, const st_ssm_data *d, const st_ssm_cfg *c, st_ssm_model *m,
                  st_err *e)
{
    const st_mxpar *sp = spec;
    st_mxpar *f = malloc(sizeof *f);
    if (!f)
        return st_err_nomem(e, "matrix model");
    *f = *sp;
    int rc = st_ssm_copy(&f->s, sp->s, e);
    if (rc < 0) {
        free(f);
        return rc;
    }
    st_mxpar_result res;
    if ((rc = st_mxpar_fit(f, d->y, d->n, c->want_se, &res, e)) < 0) {
        fitted_free(f);
        return rc;
    }
    snprintf(m->name, sizeof m->name, "matrix (p=%zu, m=%zu)", f->s->p, f->s->m);
    m->has_lik = 1;
    m->loglik = res.loglik;
    m->npar = res.nfree;
    m->nobs = res.nobs;
    m->converged = res.converged;
    m->nevals = res.nevals;
    snprintf(m->status, sizeof m->status, "%s", res.nfree ? res.status : "fixed");
    for (size_t i = 0; i < f->npar; i++)
        st_ssm_model_show(m, f->name[i], f->value[i], res.se[i]);
    st_ssm_model_set_ic(m);
    m->impl = f;
    return 0;
}

static void mx_free(st_ssm_model *m)
{
    fitted_free(m->impl);
    m->impl = NULL;
}

/* The filter on the model as the Kalman filter takes it: s itself with a
 * diagonal H, else its decorrelated form (the same states). */
enum { MX_LIGHT, MX_SMOOTH, MX_FULL };

static int run_kf(const st_ssm *s, const double *y, size_t n, int mode, st_kalman_out *ko,
                  st_err *e)
{
    return mode == MX_SMOOTH ? st_kalman_smooth(s, y, n, ko, e)
         : mode == MX_FULL   ? st_kalman_filter(s, y, n, ko, e)
                             : st_kalman_filter_light(s, y, n, ko, e);
}

static int mx_filter(const st_ssm *s, const double *y, size_t n, int mode, st_kalman_out *ko,
                     st_err *e)
{
    if (st_ssm_H_is_diagonal(s))
        return run_kf(s, y, n, mode, ko, e);
    st_ssm *sw;
    int rc = st_ssm_new(&sw, s->p, s->m, s->r, e);
    if (rc < 0)
        return rc;
    double *yw = malloc((n ? n : 1) * s->p * sizeof(double));
    if (!yw)
        rc = st_err_nomem(e, "decorrelated observations");
    else if ((rc = st_ssm_decorrelate(s, sw, y, n, yw, e)) == 0)
        rc = run_kf(sw, yw, n, mode, ko, e);
    free(yw);
    st_ssm_free(sw);
    return rc;
}

static int mx_forecast(const st_ssm_model *m, const st_ssm_data *d, const double *xf, size_t h,
                       const double *levels, size_t nlevels, const st_ssm_cfg *c, double *mean,
                       double *var, double *lo, double *hi, st_err *e)
{
    (void)xf;
    (void)c;
    const st_ssm *s = ((const st_mxpar *)m->impl)->s;
    st_kalman_out ko;
    int rc = mx_filter(s, d->y, d->n, MX_LIGHT, &ko, e);
    if (rc < 0)
        return rc;
    /* the forecast of y from the state uses Z, d and the diagonal of H:
     * the original model's, also when the filter ran on the decorrelated one */
    rc = st_kalman_forecast(s, &ko, h, NULL, NULL, mean, var, NULL, NULL, e);
    st_kalman_out_free(&ko);
    if (rc == 0)
        rc = st_ssm_check_forecast(mean, var, h * s->p, e);
    if (rc == 0)
        st_ssm_normal_bounds(mean, var, h * s->p, levels, nlevels, lo, hi);
    return rc;
}

static size_t mx_table_columns(const void *spec, int kind, int period, char names[][32], size_t max)
{
    (void)period;
    const st_ssm *s = ((const st_mxpar *)spec)->s;
    size_t k = 0, p = s->p;
    char nm[32];
#define ADD(x) do { if (k < max) snprintf(names[k], 32, "%s", x); k++; } while (0)
    if (kind == ST_SSM_TAB_FILTER && p == 1) {
        ADD("y");
        ADD("pred");
        ADD("pred_sd");
        ADD("resid");
        ADD("std_resid");
    } else if (kind == ST_SSM_TAB_FILTER)
        for (size_t j = 0; j < p; j++) {
            snprintf(nm, sizeof nm, "y%zu", j + 1);
            ADD(nm);
            snprintf(nm, sizeof nm, "pred%zu", j + 1);
            ADD(nm);
            snprintf(nm, sizeof nm, "pred_sd%zu", j + 1);
            ADD(nm);
        }
    for (size_t i = 0; i < s->m; i++) {
        snprintf(nm, sizeof nm, "a%zu", i + 1);
        ADD(nm);
    }
    if (kind == ST_SSM_TAB_SMOOTH)
        for (size_t i = 0; i < s->m; i++) {
            snprintf(nm, sizeof nm, "a%zu_sd", i + 1);
            ADD(nm);
        }
#undef ADD
    return k;
}

static int mx_table(const st_ssm_model *mod, const st_ssm_data *d, int kind, double *rows, size_t nc,
                    st_err *e)
{
    const st_ssm *s = ((const st_mxpar *)mod->impl)->s;
    size_t p = s->p, m = s->m, n = d->n;
    if (kind == ST_SSM_TAB_FILTER && p == 1)
        return st_ssm_filter_table(s, d->y, n, rows, nc, e);
    if (kind == ST_SSM_TAB_SMOOTH) {
        /* smoothed variances are predicted ones minus corrections of their
         * size: with state variances beyond 1e13 times the observation
         * noise nothing of the difference survives in double precision */
        double big = 0, hmin = INFINITY;
        for (size_t i = 0; i < m; i++) {
            double q = 0;
            for (size_t k = 0; k < s->r; k++)
                for (size_t l = 0; l < s->r; l++)
                    q += s->R[i * s->r + k] * s->Q[k * s->r + l] * s->R[i * s->r + l];
            big = fmax(big, fmax(q, s->P1[i * m + i]));
        }
        for (size_t j = 0; j < p; j++)
            if (s->H[j * p + j] > 0)
                hmin = fmin(hmin, s->H[j * p + j]);
        if (isfinite(hmin) && big > 1e13 * hmin)
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "numerical breakdown: state variances up to %g next to an observation variance of %g (a ratio above 1e13) leave no precision in the smoothed variances", big, hmin);
    }
    st_kalman_out out;
    /* several variables: each one's marginal one-step sd needs P_pred
     * (the filter's F is conditional on the variables before it) */
    int rc = mx_filter(s, d->y, n, kind == ST_SSM_TAB_SMOOTH ? MX_SMOOTH : MX_FULL, &out, e);
    if (rc < 0)
        return rc;
    for (size_t t = 0; t < n; t++) {
        double *row = rows + t * nc;
        if (kind == ST_SSM_TAB_SMOOTH) {
            for (size_t i = 0; i < m; i++) {
                row[i] = out.a_smooth[t * m + i];
                row[m + i] = sqrt(fmax(out.V_smooth[t * m * m + i * m + i], 0));
            }
            continue;
        }
        const double *a = out.a_pred + t * m;
        for (size_t j = 0; j < p; j++) {
            const double *z = s->Z + j * m;
            double pred = s->d[j];
            for (size_t i = 0; i < m; i++)
                pred += z[i] * a[i];
            size_t tj = t * p + j;
            const double *P = out.P_pred + t * m * m, *Pinf = out.Pinf_pred + t * m * m;
            double f = s->H[j * p + j], finf = 0;
            for (size_t i = 0; i < m; i++)
                for (size_t k = 0; k < m; k++)
                    f += z[i] * P[i * m + k] * z[k], finf += z[i] * Pinf[i * m + k] * z[k];
            int dif = finf > 1e-9;
            row[3 * j] = d->y[tj];
            row[3 * j + 1] = dif ? NAN : pred;
            row[3 * j + 2] = dif ? NAN : sqrt(fmax(f, 0));
        }
        for (size_t i = 0; i < m; i++)
            row[3 * p + i] = out.a_filt[t * m + i];
    }
    st_kalman_out_free(&out);
    return 0;
}

static int mx_write(FILE *fp, const st_ssm_model *m, int log, st_err *e)
{
    (void)log;
    const st_mxpar *f = m->impl;
    double se[ST_MXPAR_MAXPAR];
    for (size_t i = 0; i < f->npar; i++)
        se[i] = i < m->nshow ? m->pse[i] : NAN;
    return st_ssm_file_write_mxfit(fp, f, m->loglik, m->aicc, m->nobs, se, e);
}

static int mx_read(const st_ydoc *doc, const st_ynode *root, size_t nreg, void **spec, st_err *e)
{
    if (nreg)
        return st_ynode_error(doc, root, e, ST_EUSAGE, "a matrix model takes no regressors (-x)");
    st_mxpar *mp;
    int rc = st_ssm_read_mxpar(doc, root, &mp, e);
    if (rc == 0)
        *spec = mp;
    return rc;
}

static int mx_set_fixed(void *spec, st_err *e)
{
    (void)e;
    ((st_mxpar *)spec)->use_given = 1; /* the parameters' values as given */
    return 0;
}

const st_ssm_family st_ssm_family_matrix = {
    .name = "matrix",
    .file_key = "matrices",
    .spec_free = mx_spec_free,
    .nobs = mx_nobs,
    .fit = mx_fit,
    .forecast = mx_forecast,
    .free = mx_free,
    .table_columns = mx_table_columns,
    .table = mx_table,
    .write = mx_write,
    .read = mx_read,
    .set_fixed = mx_set_fixed,
};

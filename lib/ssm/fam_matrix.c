/* Matrix models (a general linear Gaussian model given by its matrices in
 * a model file) behind the family table: used as given, nothing is
 * estimated; the fit is the exact diffuse log-likelihood (kalman.h).
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

static void mx_spec_free(void *spec)
{
    st_ssm_free(spec);
}

static size_t mx_nobs(const void *spec)
{
    return ((const st_ssm *)spec)->p;
}

static int mx_fit(const void *spec, const st_ssm_data *d, const st_ssm_cfg *c, st_ssm_model *m,
                  st_err *e)
{
    (void)c;
    const st_ssm *s = spec;
    st_kalman_ll ll;
    int rc = st_kalman_loglik(s, d->y, d->n, &ll, e);
    if (rc < 0)
        return rc;
    if (!isfinite(ll.loglik))
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "numerical breakdown: the log-likelihood of the matrix model is not finite (variances too large or too small for double precision?)");
    snprintf(m->name, sizeof m->name, "matrix (p=%zu, m=%zu)", s->p, s->m);
    m->has_lik = 1;
    m->loglik = ll.loglik;
    m->npar = 0;
    m->nobs = ll.nreg + ll.ndiffuse;
    m->converged = 1;
    snprintf(m->status, sizeof m->status, "fixed");
    st_ssm_model_set_ic(m);
    m->impl = (void *)s; /* the spec, not owned */
    return 0;
}

static void mx_free(st_ssm_model *m)
{
    m->impl = NULL;
}

static int mx_forecast(const st_ssm_model *m, const st_ssm_data *d, const double *xf, size_t h,
                       const double *levels, size_t nlevels, const st_ssm_cfg *c, double *mean,
                       double *var, double *lo, double *hi, st_err *e)
{
    (void)xf;
    (void)c;
    const st_ssm *s = m->impl;
    st_kalman_out ko;
    int rc = st_kalman_filter_light(s, d->y, d->n, &ko, e);
    if (rc < 0)
        return rc;
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
    const st_ssm *s = spec;
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
    const st_ssm *s = mod->impl;
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
    int rc = kind == ST_SSM_TAB_SMOOTH ? st_kalman_smooth(s, d->y, n, &out, e)
                                       : st_kalman_filter_light(s, d->y, n, &out, e);
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
            int dif = out.Finf[tj] > 1e-9;
            row[3 * j] = d->y[tj];
            row[3 * j + 1] = dif ? NAN : pred;
            row[3 * j + 2] = dif ? NAN : sqrt(fmax(out.F[tj], 0));
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
    return st_ssm_file_write_matrix(fp, m->impl, e);
}

static int mx_read(const st_ydoc *doc, const st_ynode *root, size_t nreg, void **spec, st_err *e)
{
    if (nreg)
        return st_ynode_error(doc, root, e, ST_EUSAGE, "a matrix model takes no regressors (-x)");
    st_ssm *s;
    int rc = st_ssm_read_matrices(doc, root, &s, e);
    if (rc == 0)
        *spec = s;
    return rc;
}

static int mx_set_fixed(void *spec, st_err *e)
{
    (void)spec;
    (void)e;
    return 0; /* always used as given */
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

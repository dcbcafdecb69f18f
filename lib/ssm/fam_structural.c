/* The structural family (structural.h) behind the family table: specs
 * such as "trend+seasonal:12", "structural" for the AICc choice among
 * level, trend and damped-trend (each also with +seasonal:S when the
 * period S > 1), model files, the smoothed decomposition and the filter
 * table. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/family.h"
#include "ssm/internal.h"
#include "ssm/kalman.h"
#include "ssm/model_io.h"
#include "ssm/structural.h"

typedef struct uc_spec {
    int is_auto;
    st_uc_spec sp;
    int has_theta, fixed;
    double theta[ST_UC_MAXPAR];
} uc_spec;

static const char *const COMPONENTS[] = {"level", "trend", "smooth-trend", "damped-trend", "seasonal",
                                         "trig", "cycle", "ar", "reg", "irregular", NULL};

static int uc_parse(const char *text, size_t nreg, int period, void **out, st_err *e)
{
    (void)period;
    size_t len = strcspn(text, "+:");
    int mine = !strcmp(text, "structural");
    for (size_t i = 0; COMPONENTS[i] && !mine; i++)
        mine = strlen(COMPONENTS[i]) == len && !strncmp(text, COMPONENTS[i], len);
    if (!mine)
        return 0;
    uc_spec *s = calloc(1, sizeof *s);
    if (!s)
        return st_err_nomem(e, "model");
    int rc = 0;
    if (!strcmp(text, "structural")) {
        s->is_auto = 1;
        if (nreg)
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the automatic structural choice does not take regressors (-x)");
    } else
        rc = st_uc_parse(text, nreg, &s->sp, e);
    if (rc < 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 1;
}

static int uc_auto_spec(size_t nreg, void **out, st_err *e)
{
    if (nreg)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the automatic structural choice does not take regressors (-x)");
    uc_spec *s = calloc(1, sizeof *s);
    if (!s)
        return st_err_nomem(e, "model");
    s->is_auto = 1;
    *out = s;
    return 0;
}

static void uc_spec_free(void *s)
{
    free(s);
}

static size_t uc_nobs(const void *spec)
{
    (void)spec;
    return 1;
}

static void uc_free(st_ssm_model *m)
{
    free(m->impl);
    m->impl = NULL;
}

static void summarise(st_ssm_model *m, const st_uc_fit *f)
{
    st_uc_format(&f->spec, m->name, sizeof m->name);
    m->has_lik = 1;
    m->loglik = f->loglik;
    m->npar = f->spec.npar + f->spec.ndiffuse;
    m->nobs = f->nobs;
    m->converged = f->converged;
    snprintf(m->status, sizeof m->status, "%s", f->status ? f->status : "unknown");
    m->nevals = f->nevals;
    st_ssm_model_set_ic(m);
    for (size_t i = 0; i < f->spec.npar; i++)
        st_ssm_model_show(m, f->spec.names[i], f->theta[i], f->se[i]);
}

static int uc_fit(const void *spec, const st_ssm_data *d, const st_ssm_cfg *c, st_ssm_model *m,
                  st_err *e)
{
    const uc_spec *s = spec;
    st_uc_fit *f = calloc(1, sizeof *f);
    if (!f)
        return st_err_nomem(e, "model");
    st_uc_opts uo = {0};
    uo.nstarts = c ? c->starts : 0;
    uo.want_se = c ? c->want_se : 0;
    int rc = 0;
    if (s->is_auto) {
        rc = st_uc_auto(d->period, d->y, d->n, &uo, f, e);
        if (rc > 0)
            rc = 0;
    } else if (s->fixed) {
        f->spec = s->sp;
        memcpy(f->theta, s->theta, s->sp.npar * sizeof(double));
        f->converged = 1;
        f->status = "fixed";
        for (size_t i = 0; i < s->sp.npar; i++)
            f->se[i] = NAN;
        for (size_t t = 0; t < d->n; t++)
            f->nobs += !isnan(d->y[t]);
        if (f->nobs == 0)
            rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "all observations are missing");
        else
            rc = st_uc_loglik(&s->sp, f->theta, d->y, d->n, d->x, &f->loglik, e);
    } else
        rc = st_uc_fit_model(&s->sp, d->y, d->n, d->x, &uo, f, e);
    if (rc < 0) {
        free(f);
        return rc;
    }
    m->impl = f;
    summarise(m, f);
    return 0;
}

static int uc_forecast(const st_ssm_model *m, const st_ssm_data *d, const double *xf, size_t h,
                       const double *levels, size_t nlevels, const st_ssm_cfg *c, double *mean,
                       double *var, double *lo, double *hi, st_err *e)
{
    (void)c;
    const st_uc_fit *f = m->impl;
    int rc = st_uc_forecast(&f->spec, f->theta, d->y, d->n, d->x, xf, h, mean, var, e);
    if (rc < 0 || (rc = st_ssm_check_forecast(mean, var, h, e)) < 0)
        return rc;
    st_ssm_normal_bounds(mean, var, h, levels, nlevels, lo, hi);
    return 0;
}

static const char *comp_name(const st_uc_comp *c, char *buf)
{
    switch (c->kind) {
    case ST_UC_LEVEL: case ST_UC_TREND: case ST_UC_SMOOTH_TREND: case ST_UC_DAMPED_TREND:
        return "level";
    case ST_UC_SEASONAL: snprintf(buf, 24, "seasonal%d", c->S); return buf;
    case ST_UC_TRIG: snprintf(buf, 24, "trig%d", c->S); return buf;
    case ST_UC_CYCLE: return "cycle";
    case ST_UC_AR: return "ar";
    default: return "reg";
    }
}

static size_t uc_table_columns(const void *spec, int kind, int period, char names[][32], size_t max)
{
    (void)period;
    const uc_spec *s = spec;
    size_t k = 0;
    if (s->is_auto)
        return 0;
#define ADD(x) do { if (k < max) snprintf(names[k], 32, "%s", x); k++; } while (0)
    if (kind == ST_SSM_TAB_SMOOTH) {
        ADD("y");
        ADD("signal");
        for (size_t i = 0; i < s->sp.ncomp; i++) {
            char buf[32], nm[32];
            const char *c = comp_name(&s->sp.comp[i], buf);
            ADD(c);
            snprintf(nm, sizeof nm, "%.24s_sd", c);
            ADD(nm);
        }
        ADD("irregular");
        ADD("irregular_sd");
    } else {
        ADD("y");
        ADD("pred");
        ADD("pred_sd");
        ADD("resid");
        ADD("std_resid");
        for (size_t i = 0; i < s->sp.m; i++) {
            char nm[32];
            snprintf(nm, sizeof nm, "a%zu", i + 1);
            ADD(nm);
        }
    }
#undef ADD
    return k;
}

int st_ssm_filter_table(const st_ssm *s, const double *y, size_t n, double *rows, size_t nc,
                        st_err *e)
{
    st_kalman_out out;
    int rc = st_kalman_filter_light(s, y, n, &out, e);
    if (rc < 0)
        return rc;
    size_t m = s->m;
    for (size_t t = 0; t < n; t++) {
        double *row = rows + t * nc;
        const double *z = s->Zt ? s->Zt + t * m : s->Z;
        const double *a = out.a_pred + t * m;
        double pred = s->dt ? s->dt[t] : s->d[0], F = out.F[t];
        for (size_t i = 0; i < m; i++)
            pred += z[i] * a[i];
        row[0] = y[t];
        int diffuse = out.Finf[t] > 1e-9;
        row[1] = diffuse ? NAN : pred;
        row[2] = diffuse ? NAN : sqrt(fmax(F, 0));
        row[3] = diffuse || isnan(y[t]) ? NAN : y[t] - pred;
        row[4] = diffuse || isnan(y[t]) || !(F > 0) ? NAN : (y[t] - pred) / sqrt(F);
        for (size_t i = 0; i < m; i++)
            row[5 + i] = out.a_filt[t * m + i];
    }
    st_kalman_out_free(&out);
    return 0;
}

static int uc_table(const st_ssm_model *m, const st_ssm_data *d, int kind, double *rows, size_t nc,
                    st_err *e)
{
    const st_uc_fit *f = m->impl;
    const st_uc_spec *sp = &f->spec;
    size_t n = d->n;
    int rc;
    if (kind == ST_SSM_TAB_SMOOTH) {
        size_t ncomp = sp->ncomp + 1;
        double *comp = malloc(n * ncomp * sizeof(double)), *cv = malloc(n * ncomp * sizeof(double));
        if (!comp || !cv) {
            free(comp);
            free(cv);
            return st_err_nomem(e, "decomposition");
        }
        rc = st_uc_decompose(sp, f->theta, d->y, n, d->x, comp, cv, e);
        for (size_t t = 0; t < n && rc == 0; t++) {
            double *row = rows + t * nc, sig = 0;
            row[0] = d->y[t];
            for (size_t i = 0; i < ncomp; i++) {
                row[2 + 2 * i] = comp[t * ncomp + i];
                row[3 + 2 * i] = sqrt(fmax(cv[t * ncomp + i], 0));
                if (i + 1 < ncomp)
                    sig += comp[t * ncomp + i];
            }
            row[1] = sig;
        }
        free(comp);
        free(cv);
        return rc;
    }
    st_ssm *s = NULL;
    double *Zbuf = sp->nreg ? malloc(n * sp->m * sizeof(double)) : NULL;
    if (sp->nreg && !Zbuf)
        return st_err_nomem(e, "output");
    if ((rc = st_ssm_new(&s, 1, sp->m, sp->r, e)) == 0 &&
        (rc = st_uc_build(sp, f->theta, s, d->x, n, Zbuf, e)) == 0)
        rc = st_ssm_filter_table(s, d->y, n, rows, nc, e);
    st_ssm_free(s);
    free(Zbuf);
    return rc;
}

static int uc_write(FILE *fp, const st_ssm_model *m, int log, st_err *e)
{
    return st_ssm_file_write_fit(fp, m->impl, log, e);
}

static int uc_read(const st_ydoc *doc, const st_ynode *root, size_t nreg, void **out, st_err *e)
{
    uc_spec *s = calloc(1, sizeof *s);
    if (!s)
        return st_err_nomem(e, "model");
    int rc = st_ssm_read_structural(doc, root, nreg, &s->sp, s->theta, e);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->has_theta = 1;
    *out = s;
    return 0;
}

int st_uc_family_spec(const st_uc_spec *sp, const double *theta, void **out, st_err *e)
{
    uc_spec *s = calloc(1, sizeof *s);
    if (!s)
        return st_err_nomem(e, "model");
    s->sp = *sp;
    if (theta) {
        memcpy(s->theta, theta, sp->npar * sizeof(double));
        s->has_theta = s->fixed = 1;
    }
    *out = s;
    return 0;
}

static int uc_set_fixed(void *spec, st_err *e)
{
    uc_spec *s = spec;
    if (!s->has_theta)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--fixed needs a model file with parameters");
    s->fixed = 1;
    return 0;
}

const st_ssm_family st_ssm_family_structural = {
    .name = "structural",
    .file_key = "structural",
    .parse = uc_parse,
    .auto_spec = uc_auto_spec,
    .spec_free = uc_spec_free,
    .nobs = uc_nobs,
    .fit = uc_fit,
    .forecast = uc_forecast,
    .free = uc_free,
    .table_columns = uc_table_columns,
    .table = uc_table,
    .write = uc_write,
    .read = uc_read,
    .set_fixed = uc_set_fixed,
};

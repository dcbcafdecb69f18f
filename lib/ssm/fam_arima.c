/* The ARIMA family (arima.h) behind the family table: "arima(p,d,q)",
 * "arima(p,d,q)(P,D,Q)[s]" with "+drift" or "-mean", "auto-arima"
 * (forecast::auto.arima's choice), model files with R's coefficient
 * names, and the --filter table. */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/arima.h"
#include "ssm/family.h"

typedef struct arima_spec_f {
    int is_auto;
    st_arima_spec sp;
    int has_par, fixed;
    double coef[ST_ARIMA_MAXCOEF];
} arima_spec_f;

typedef struct arima_impl {
    st_arima_fit fit;
    size_t first;  /* leading missing points auto-arima dropped */
    int is_auto;
    st_arima_auto_info info;
} arima_impl;

static const char FORMS[] = "arima(p,d,q), arima(p,d,q)(P,D,Q)[s] (optionally +drift or -mean) or auto-arima";

/* "(a,b,c)" */
static int orders(const char **c, int v[3])
{
    const char *s = *c;
    if (*s++ != '(')
        return -1;
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        char *end;
        long x = strtol(s, &end, 10);
        if (x > 1000)
            return -1;
        v[i] = (int)x;
        s = end;
        if (*s++ != (i < 2 ? ',' : ')'))
            return -1;
    }
    *c = s;
    return 0;
}

static int arima_parse(const char *text, size_t nreg, int period, void **out, st_err *e)
{
    if (strcmp(text, "auto-arima") != 0 && strncmp(text, "arima(", 6) != 0)
        return 0;
    arima_spec_f *s = calloc(1, sizeof *s);
    if (!s)
        return st_err_nomem(e, "model");
    s->sp.nreg = nreg;
    s->sp.mean = 1;
    s->sp.s = 1;
    if (!strcmp(text, "auto-arima")) {
        s->is_auto = 1;
        *out = s;
        return 1;
    }
    const char *c = text + 5;
    int v[3], w[3] = {0, 0, 0}, seasonal = 0;
    if (orders(&c, v) < 0)
        goto bad;
    if (*c == '(') {
        if (orders(&c, w) < 0)
            goto bad;
        seasonal = 1;
    }
    if (*c == '[') {
        char *end;
        long sv = strtol(c + 1, &end, 10);
        if (end == c + 1 || *end != ']' || !seasonal)
            goto bad;
        s->sp.s = (int)(sv < 0 || sv > 100000 ? 0 : sv);
        c = end + 1;
    } else if (seasonal)
        s->sp.s = period;
    while (*c) {
        if (!strncmp(c, "+drift", 6))
            s->sp.drift = 1, c += 6;
        else if (!strncmp(c, "-mean", 5))
            s->sp.mean = 0, c += 5;
        else
            goto bad;
    }
    s->sp.p = v[0], s->sp.d = v[1], s->sp.q = v[2];
    s->sp.P = w[0], s->sp.D = w[1], s->sp.Q = w[2];
    if (seasonal && w[0] + w[1] + w[2] == 0)
        s->sp.s = 1;
    /* s = 0: the period of the data's frequency, checked at the fit */
    st_arima_spec chk = s->sp;
    if (chk.s == 0)
        chk.s = 2;
    if (st_arima_check_spec(&chk, e) < 0) {
        free(s);
        return ST_EUSAGE;
    }
    *out = s;
    return 1;
bad:
    free(s);
    return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "ARIMA model '%s' is not one of %s", text, FORMS);
}

static int arima_auto_spec(size_t nreg, void **out, st_err *e)
{
    return arima_parse("auto-arima", nreg, 1, out, e) < 0 ? e->code : 0;
}

static void arima_spec_free(void *s)
{
    free(s);
}

static size_t arima_nobs(const void *spec)
{
    (void)spec;
    return 1;
}

static void summarise(const arima_impl *im, st_ssm_model *m)
{
    const st_arima_fit *f = &im->fit;
    st_arima_name(&f->spec, m->name, sizeof m->name);
    m->has_lik = 1;
    m->loglik = f->loglik;
    m->aic = f->aic;
    m->aicc = f->aicc;
    m->bic = f->bic;
    m->npar = f->npar;
    m->nobs = f->nused;
    m->converged = f->converged;
    m->nevals = f->nevals;
    char nm[32];
    for (size_t i = 0; i < f->ncoef; i++)
        st_ssm_model_show(m, st_arima_coef_name(&f->spec, i, NULL, nm, sizeof nm), f->coef[i], f->se[i]);
    st_ssm_model_show(m, "sigma2", f->sigma2, NAN);
}

static int arima_fit(const void *spec, const st_ssm_data *d, const st_ssm_cfg *c, st_ssm_model *m,
                     st_err *e)
{
    const arima_spec_f *s = spec;
    if (d->p != 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "ARIMA models are univariate");
    arima_impl *im = calloc(1, sizeof *im);
    if (!im)
        return st_err_nomem(e, "model");
    int rc;
    const char *status = "converged";
    if (s->is_auto) {
        im->is_auto = 1;
        rc = st_arima_auto(d->y, d->x, d->n, d->nreg, d->period, NULL, &im->fit, &im->info, e);
        im->first = im->info.first;
    } else {
        st_arima_spec sp = s->sp;
        sp.nreg = d->nreg;
        if (sp.s == 0)
            sp.s = d->period > 1 ? d->period : 1;
        if ((rc = st_arima_check_spec(&sp, e)) < 0) {
            free(im);
            return rc;
        }
        if (s->fixed) {
            rc = st_arima_evaluate(&sp, s->coef, d->y, d->x, d->n, &im->fit, e);
            status = "fixed";
        } else
            rc = st_arima_estimate(&sp, d->y, d->x, d->n, ST_ARIMA_CSS_ML, c && c->want_se, &im->fit, e);
    }
    if (rc < 0) {
        free(im);
        return rc;
    }
    m->impl = im;
    summarise(im, m);
    if (!im->fit.converged)
        status = "stopped";
    snprintf(m->status, sizeof m->status, "%s", status);
    return 0;
}

static void arima_free(st_ssm_model *m)
{
    arima_impl *im = m->impl;
    if (im)
        st_arima_fit_free(&im->fit);
    free(im);
    m->impl = NULL;
}

static int arima_forecast(const st_ssm_model *m, const st_ssm_data *d, const double *xf, size_t h,
                          const double *levels, size_t nlevels, const st_ssm_cfg *c, double *mean,
                          double *var, double *lo, double *hi, st_err *e)
{
    (void)d;
    (void)c;
    const arima_impl *im = m->impl;
    return st_arima_forecast(&im->fit, xf, h, levels, nlevels, mean, var, lo, hi, e);
}

static size_t arima_table_columns(const void *spec, int kind, int period, char names[][32], size_t max)
{
    (void)spec;
    (void)period;
    if (kind != ST_SSM_TAB_FILTER)
        return 0;
    static const char *const head[] = {"y", "pred", "pred_sd", "resid", "std_resid"};
    for (size_t i = 0; i < 5 && i < max; i++)
        snprintf(names[i], 32, "%s", head[i]);
    return 5;
}

static int arima_table(const st_ssm_model *m, const st_ssm_data *d, int kind, double *rows, size_t nc,
                       st_err *e)
{
    (void)kind;
    const arima_impl *im = m->impl;
    if (nc != 5)
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "ARIMA filter table has %zu columns, not 5", nc);
    size_t n = d->n, off = im->first;
    double *pred = malloc((n + 1) * 2 * sizeof *pred);
    if (!pred)
        return st_err_nomem(e, "filter table");
    double *pv = pred + n + 1;
    for (size_t t = 0; t < off; t++)
        pred[t] = pv[t] = NAN;
    int rc = st_arima_filter(&im->fit, d->y + off, d->x ? d->x + off * d->nreg : NULL, n - off, pred + off, pv + off, e);
    for (size_t t = 0; t < n && rc == 0; t++) {
        double *row = rows + t * nc, y = d->y[t];
        row[0] = y;
        row[1] = pred[t];
        row[2] = sqrt(pv[t]);
        row[3] = y - pred[t];
        row[4] = row[3] / row[2];
    }
    free(pred);
    return rc;
}

static int arima_write(FILE *fp, const st_ssm_model *m, int log, st_err *e)
{
    const arima_impl *im = m->impl;
    const st_arima_fit *f = &im->fit;
    const st_arima_spec *s = &f->spec;
    st_yw w;
    char spec[96], nm[32];
    int len = snprintf(spec, sizeof spec, "arima(%d,%d,%d)", s->p, s->d, s->q);
    if (s->s > 1)
        len += snprintf(spec + len, sizeof spec - (size_t)len, "(%d,%d,%d)[%d]", s->P, s->D, s->Q, s->s);
    if (s->drift)
        len += snprintf(spec + len, sizeof spec - (size_t)len, "+drift");
    if (!s->mean && s->d + s->D == 0)
        snprintf(spec + len, sizeof spec - (size_t)len, "-mean");
    st_yw_init(&w, fp);
    st_yw_key_string(&w, "model", "ssm");
    st_yw_key_long(&w, "version", 1);
    st_yw_key_string(&w, "arima", spec);
    if (log)
        st_yw_key_bool(&w, "log", 1);
    if (f->ncoef) {
        st_yw_begin_map(&w, "params");
        for (size_t i = 0; i < f->ncoef; i++)
            st_yw_key_double(&w, st_arima_coef_name(s, i, NULL, nm, sizeof nm), f->coef[i]);
        st_yw_end(&w);
    }
    st_yw_key_double(&w, "sigma2", f->sigma2);
    st_yw_key_double(&w, "loglik", f->loglik);
    st_yw_key_double(&w, "aicc", f->aicc);
    st_yw_key_long(&w, "nobs", (long)f->nused);
    st_yw_comment(&w, "%s", m->name);
    st_yw_comment(&w, "loglik is R's (stats::arima, kappa 1e6); exact diffuse loglik %.15g", f->loglik_exact);
    if (im->is_auto)
        st_yw_comment(&w, "auto-arima: d = %d (KPSS), D = %d (seasonal strength), %d models fitted%s", im->info.d, im->info.D, im->info.nfitted, im->info.approximation ? ", CSS approximation in the search" : "");
    if (!f->converged)
        st_yw_comment(&w, "optimiser did not converge");
    return st_yw_finish(&w, e);
}

static int arima_read(const st_ydoc *doc, const st_ynode *root, size_t nreg, void **out, st_err *e)
{
    const st_ynode *nc, *np = st_ymap_get(doc, root, "params");
    const char *text;
    int rc;
    if ((rc = st_ymap_require(doc, root, "arima", &nc, e)) < 0 || (rc = st_ynode_string(doc, nc, &text, e)) < 0)
        return rc;
    st_err pe;
    void *sv = NULL;
    if (!strcmp(text, "auto-arima") || arima_parse(text, nreg, 1, &sv, &pe) <= 0)
        return st_ynode_error(doc, nc, e, ST_EDATA, "%s", !strcmp(text, "auto-arima") ? "a model file holds a fitted ARIMA(p,d,q)(P,D,Q)[s], not auto-arima" : pe.msg);
    arima_spec_f *s = sv;
    size_t ncoef = st_arima_ncoef(&s->sp);
    if (ncoef && !np) {
        free(s);
        return st_ynode_error(doc, root, e, ST_EDATA, "missing key 'params' (the %zu coefficients)", ncoef);
    }
    if (np && st_ynode_kind(np) != ST_YMAP) {
        free(s);
        return st_ynode_error(doc, np, e, ST_EDATA, "params must be a mapping of name: value");
    }
    char nm[32];
    for (size_t i = 0; i < ncoef && rc == 0; i++) {
        const st_ynode *v;
        if ((rc = st_ymap_require(doc, np, st_arima_coef_name(&s->sp, i, NULL, nm, sizeof nm), &v, e)) == 0)
            rc = st_ynode_double(doc, v, -INFINITY, INFINITY, &s->coef[i], e);
    }
    if (rc == 0 && np)
        rc = st_ymap_check_unknown(doc, np, e);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->has_par = 1;
    *out = s;
    return 0;
}

static int arima_set_fixed(void *spec, st_err *e)
{
    arima_spec_f *s = spec;
    if (!s->has_par)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--fixed needs a model file with parameters");
    s->fixed = 1;
    return 0;
}

const st_ssm_family st_ssm_family_arima = {
    .name = "arima",
    .file_key = "arima",
    .parse = arima_parse,
    .auto_spec = arima_auto_spec,
    .spec_free = arima_spec_free,
    .nobs = arima_nobs,
    .fit = arima_fit,
    .forecast = arima_forecast,
    .free = arima_free,
    .table_columns = arima_table_columns,
    .table = arima_table,
    .write = arima_write,
    .read = arima_read,
    .set_fixed = arima_set_fixed,
};

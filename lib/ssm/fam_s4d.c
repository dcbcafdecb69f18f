/* The S4D feature forecaster (s4d.h) behind the family table: "s4d:N".
 * It has no likelihood; its intervals are leave-one-out residual
 * quantiles. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "ssm/family.h"
#include "ssm/s4d.h"

typedef struct s4d_spec {
    int N;
} s4d_spec;

static int s4d_parse(const char *text, size_t nreg, int period, void **out, st_err *e)
{
    (void)period;
    if (strncmp(text, "s4d:", 4) != 0)
        return 0;
    long N;
    if (st_parse_long(text + 4, &N) < 0 || N < 1 || N > 256)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "s4d state size must be an integer from 1 to 256, not '%s'", text + 4);
    if (nreg)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "s4d models take no regressors (-x)");
    s4d_spec *s = malloc(sizeof *s);
    if (!s)
        return st_err_nomem(e, "model");
    s->N = (int)N;
    *out = s;
    return 1;
}

static void s4d_spec_free(void *s)
{
    free(s);
}

static size_t s4d_nobs(const void *spec)
{
    (void)spec;
    return 1;
}

static int s4d_fit(const void *spec, const st_ssm_data *d, const st_ssm_cfg *c, st_ssm_model *m,
                   st_err *e)
{
    (void)c;
    (void)e;
    const s4d_spec *s = spec;
    snprintf(m->name, sizeof m->name, "s4d:%d", s->N);
    m->has_lik = 0;
    m->loglik = m->aic = m->aicc = m->bic = NAN;
    for (size_t t = 0; t < d->n; t++)
        m->nobs += !isnan(d->y[t]);
    m->converged = 1;
    snprintf(m->status, sizeof m->status, "ridge");
    m->impl = (void *)s; /* not owned */
    return 0;
}

static void s4d_free(st_ssm_model *m)
{
    m->impl = NULL;
}

static int s4d_forecast(const st_ssm_model *m, const st_ssm_data *d, const double *xf, size_t h,
                        const double *levels, size_t nlevels, const st_ssm_cfg *c, double *mean,
                        double *var, double *lo, double *hi, st_err *e)
{
    (void)xf;
    (void)c;
    const s4d_spec *s = m->impl;
    return st_s4d_forecast(d->y, d->n, s->N, h, levels, nlevels, mean, var, lo, hi, e);
}

const st_ssm_family st_ssm_family_s4d = {
    .name = "s4d",
    .parse = s4d_parse,
    .spec_free = s4d_spec_free,
    .nobs = s4d_nobs,
    .fit = s4d_fit,
    .forecast = s4d_forecast,
    .free = s4d_free,
};

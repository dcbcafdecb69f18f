/* The S4D forecaster (s4d.h) behind the family table: "s4d:N".  It has no
 * likelihood; its intervals are split-conformal on rolling origins.
 * With --global the batch trains one model (batch_train) that every
 * series of the batch then uses. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "ssm/family.h"
#include "ssm/s4d.h"

typedef struct s4d_spec {
    int N, inv;
} s4d_spec;

/* the two models of a fit: m1 learned from the first 80 % (epochs by
 * early stopping; calibrates the intervals), m2 from all the data */
typedef struct s4d_pair {
    st_s4d_model *m1, *m2;
    int epochs;
} s4d_pair;

typedef struct s4d_impl {
    st_s4d_series s;
    s4d_pair own;
    const s4d_pair *use; /* own, or the batch's global pair */
} s4d_impl;

static int s4d_parse(const char *text, size_t nreg, int period, void **out, st_err *e)
{
    (void)period;
    if (strncmp(text, "s4d:", 4) != 0)
        return 0;
    long N;
    char num[32];
    const char *colon = strchr(text + 4, ':');
    int inv = colon && !strcmp(colon, ":inv");
    if (colon && !inv)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "s4d model '%s' is not s4d:N or s4d:N:inv", text);
    snprintf(num, sizeof num, "%.*s", colon ? (int)(colon - text - 4) : 31, text + 4);
    if (st_parse_long(num, &N) < 0 || N < 1 || N > ST_S4D_MAXN)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "s4d state size must be an integer from 1 to %d, not '%s'", ST_S4D_MAXN, num);
    if (nreg)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "s4d models take no regressors (-x)");
    s4d_spec *s = malloc(sizeof *s);
    if (!s)
        return st_err_nomem(e, "model");
    s->N = (int)N;
    s->inv = inv;
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

static void pair_free(s4d_pair *p)
{
    st_s4d_model_free(p->m1);
    st_s4d_model_free(p->m2);
    memset(p, 0, sizeof *p);
}

/* train the pair on series s[0..ns-1] */
static int pair_train(s4d_pair *p, const s4d_spec *sp, const st_s4d_series *s, size_t ns, st_err *e)
{
    st_s4d_opts o = {0};
    o.N = sp->N;
    o.inv = sp->inv;
    memset(p, 0, sizeof *p);
    int rc;
    if ((rc = st_s4d_model_new(&p->m1, &o, e)) < 0 || (rc = st_s4d_model_new(&p->m2, &o, e)) < 0 ||
        (rc = st_s4d_train(p->m1, s, ns, 0.8, -1, &p->epochs, e)) < 0 ||
        (rc = st_s4d_train(p->m2, s, ns, 1.0, p->epochs, NULL, e)) < 0)
        pair_free(p);
    return rc;
}

static int s4d_fit(const void *spec, const st_ssm_data *d, const st_ssm_cfg *c, st_ssm_model *m,
                   st_err *e)
{
    const s4d_spec *s = spec;
    if (d->p != 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "s4d models are univariate");
    s4d_impl *im = calloc(1, sizeof *im);
    if (!im)
        return st_err_nomem(e, "model");
    int rc = st_s4d_series_init(&im->s, d->y, d->n, e);
    if (rc == 0) {
        if (c && c->shared)
            im->use = c->shared;
        else if ((rc = pair_train(&im->own, s, &im->s, 1, e)) == 0)
            im->use = &im->own;
    }
    if (rc < 0) {
        st_s4d_series_free(&im->s);
        free(im);
        return rc;
    }
    snprintf(m->name, sizeof m->name, "s4d:%d%s%s", s->N, s->inv ? ":inv" : "", c && c->shared ? " (global)" : "");
    m->has_lik = 0;
    m->loglik = m->aic = m->aicc = m->bic = NAN;
    for (size_t t = 0; t < d->n; t++)
        m->nobs += !isnan(d->y[t]);
    m->converged = 1;
    m->nevals = im->use->epochs;
    snprintf(m->status, sizeof m->status, "%d epochs", im->use->epochs);
    m->impl = im;
    return 0;
}

static void s4d_free(st_ssm_model *m)
{
    s4d_impl *im = m->impl;
    if (im) {
        pair_free(&im->own);
        st_s4d_series_free(&im->s);
        free(im);
    }
    m->impl = NULL;
}

static int s4d_forecast(const st_ssm_model *m, const st_ssm_data *d, const double *xf, size_t h,
                        const double *levels, size_t nlevels, const st_ssm_cfg *c, double *mean,
                        double *var, double *lo, double *hi, st_err *e)
{
    (void)d;
    (void)xf;
    (void)c;
    const s4d_impl *im = m->impl;
    int rc = st_s4d_predict(im->use->m2, &im->s, im->s.n, h, mean, e);
    if (rc < 0)
        return rc;
    double *scale = malloc(h * sizeof *scale), *score = malloc((im->s.n * h + 1) * sizeof *score);
    size_t ns = 0;
    if (!scale || !score)
        rc = st_err_nomem(e, "s4d intervals");
    else if ((rc = st_s4d_calibrate(im->use->m1, &im->s, h, scale, score, &ns, e)) == 0) {
        for (size_t k = 0; k < h; k++)
            var[k] = scale[k] * scale[k];
        if (nlevels)
            st_s4d_bounds(mean, scale, h, score, ns, levels, nlevels, lo, hi);
    }
    free(scale);
    free(score);
    return rc;
}

/* --global: one pair for the batch */
static int s4d_batch_train(const void *spec, const st_ssm_data *d, size_t nb, const st_ssm_cfg *c,
                           void **shared, st_err *e)
{
    const s4d_spec *sp = spec;
    *shared = NULL;
    st_s4d_series *s = calloc(nb ? nb : 1, sizeof *s);
    s4d_pair *p = calloc(1, sizeof *p);
    if (!s || !p) {
        free(s);
        free(p);
        return st_err_nomem(e, "s4d global model");
    }
    (void)c;
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < nb; i++) {
        st_err ie;
        if (st_s4d_series_init(&s[k], d[i].y, d[i].n, &ie) == 0)
            k++; /* a series that cannot be prepared fails on its own later */
    }
    if (k == 0)
        rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "s4d --global: no series in the batch can be used");
    else
        rc = pair_train(p, sp, s, k, e);
    for (size_t i = 0; i < k; i++)
        st_s4d_series_free(&s[i]);
    free(s);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *shared = p;
    return 0;
}

static void s4d_batch_free(void *shared)
{
    s4d_pair *p = shared;
    if (p)
        pair_free(p);
    free(p);
}

const st_ssm_family st_ssm_family_s4d = {
    .name = "s4d",
    .parse = s4d_parse,
    .spec_free = s4d_spec_free,
    .nobs = s4d_nobs,
    .fit = s4d_fit,
    .forecast = s4d_forecast,
    .free = s4d_free,
    .batch_train = s4d_batch_train,
    .batch_free = s4d_batch_free,
};

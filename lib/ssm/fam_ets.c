/* The ETS family (ets.h) behind the family table: "ets" (the automatic
 * choice), "ets:MAdM" (one model) or with Z letters to choose among
 * ("ets:MZZ"), model files with R's parameter names, the filter table. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/ets.h"
#include "ssm/family.h"

typedef struct ets_spec {
    st_ets_choice choice; /* masks (bit ST_ETS_*; damped: bit 0 plain, bit 1 damped) */
    int single;           /* exactly one model */
    char code[8];         /* its code when single */
    int has_par, fixed;
    st_ets_par par;       /* from a model file */
    int m;                /* from a model file: its period */
} ets_spec;

typedef struct ets_impl {
    st_ets_fit fit;
} ets_impl;

#define BIT(x) (1u << (x))

/* "ets" or "ets:ETS" with Z letters. */
static int ets_parse(const char *text, size_t nreg, int period, void **out, st_err *e)
{
    if (strcmp(text, "ets") != 0 && strncmp(text, "ets:", 4) != 0)
        return 0;
    if (nreg)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "ETS models take no regressors (-x)");
    ets_spec *s = calloc(1, sizeof *s);
    if (!s)
        return st_err_nomem(e, "model");
    const char *c = text[3] == ':' ? text + 4 : "ZZZ";
    int ok = 1;
    /* error */
    switch (*c) {
    case 'A': s->choice.error = BIT(ST_ETS_A); break;
    case 'M': s->choice.error = BIT(ST_ETS_M); break;
    case 'Z': s->choice.error = BIT(ST_ETS_A) | BIT(ST_ETS_M); break;
    default: ok = 0;
    }
    c += ok;
    /* trend */
    if (ok) {
        if (c[0] == 'A' && c[1] == 'd')
            s->choice.trend = BIT(ST_ETS_A), s->choice.damped = 2, c += 2;
        else if (c[0] == 'A')
            s->choice.trend = BIT(ST_ETS_A), s->choice.damped = 1, c++;
        else if (c[0] == 'N')
            s->choice.trend = BIT(ST_ETS_N), s->choice.damped = 1, c++;
        else if (c[0] == 'Z')
            s->choice.trend = BIT(ST_ETS_N) | BIT(ST_ETS_A), s->choice.damped = 3, c++;
        else
            ok = 0;
    }
    if (ok) {
        switch (*c) {
        case 'N': s->choice.season = BIT(ST_ETS_N); break;
        case 'A': s->choice.season = BIT(ST_ETS_A); break;
        case 'M': s->choice.season = BIT(ST_ETS_M); break;
        case 'Z': s->choice.season = BIT(ST_ETS_N) | BIT(ST_ETS_A) | BIT(ST_ETS_M); break;
        default: ok = 0;
        }
        ok = ok && c[1] == 0;
    }
    if (!ok) {
        free(s);
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "ETS model '%s' is not ets:ETS with error A, M or Z, trend N, A, Ad or Z, season N, A, M or Z (e.g. ets:MAdM; Z: choose)", text + (text[3] == ':' ? 4 : 0));
    }
    s->single = !strchr(text, 'Z') && text[3] == ':';
    if (s->single) {
        snprintf(s->code, sizeof s->code, "%s", text + 4);
        st_ets_model mod;
        /* period 0: from the data's frequency, checked at the fit */
        int rc = st_ets_parse_code(s->code, period ? period : 2, &mod, e);
        if (rc < 0) {
            free(s);
            return rc;
        }
    }
    *out = s;
    return 1;
}

static int ets_auto_spec(size_t nreg, void **out, st_err *e)
{
    return ets_parse("ets", nreg, 1, out, e) < 0 ? e->code : 0;
}

static void ets_spec_free(void *s)
{
    free(s);
}

static size_t ets_nobs(const void *spec)
{
    (void)spec;
    return 1;
}

static void par_names(const st_ets_model *mod, const st_ets_par *p, st_ssm_model *m, double sigma2)
{
    st_ssm_model_show(m, "alpha", p->alpha, NAN);
    if (mod->trend)
        st_ssm_model_show(m, "beta", p->beta, NAN);
    if (mod->season)
        st_ssm_model_show(m, "gamma", p->gamma, NAN);
    if (mod->damped)
        st_ssm_model_show(m, "phi", p->phi, NAN);
    st_ssm_model_show(m, "l", p->l, NAN);
    if (mod->trend)
        st_ssm_model_show(m, "b", p->b, NAN);
    for (int k = 0; k < mod->m - 1 && mod->season; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "s%d", k);
        st_ssm_model_show(m, nm, p->s[k], NAN);
    }
    if (isfinite(sigma2))
        st_ssm_model_show(m, "sigma2", sigma2, NAN);
}

static int ets_fit(const void *spec, const st_ssm_data *d, const st_ssm_cfg *c, st_ssm_model *m,
                   st_err *e)
{
    (void)c;
    const ets_spec *s = spec;
    ets_impl *im = calloc(1, sizeof *im);
    if (!im)
        return st_err_nomem(e, "model");
    int rc, nfit = 1;
    int period = s->has_par ? s->m : d->period;
    if (s->single) {
        st_ets_model mod;
        if ((rc = st_ets_parse_code(s->code, period, &mod, e)) == 0) {
            if (s->fixed)
                rc = st_ets_evaluate(&mod, &s->par, d->y, d->n, &im->fit, e);
            else
                rc = st_ets_fit_model(&mod, d->y, d->n, &im->fit, e);
        }
        if (rc == 0 && s->fixed)
            im->fit.converged = 1;
    } else
        rc = st_ets_auto(&s->choice, period, d->y, d->n, &im->fit, &nfit, e);
    if (rc < 0) {
        free(im);
        return rc;
    }
    const st_ets_fit *f = &im->fit;
    m->impl = im;
    st_ets_name(&f->mod, m->name, sizeof m->name);
    m->has_lik = 1;
    m->loglik = f->loglik;
    m->aic = f->aic;
    m->aicc = f->aicc;
    m->bic = f->bic;
    m->npar = f->npar;
    m->nobs = f->nobs;
    m->converged = f->converged;
    snprintf(m->status, sizeof m->status, "%s", s->fixed ? "fixed" : f->converged ? "converged" : "stopped");
    m->nevals = f->nevals;
    par_names(&f->mod, &f->par, m, f->sigma2);
    return 0;
}

static void ets_free(st_ssm_model *m)
{
    free(m->impl);
    m->impl = NULL;
}

static int ets_forecast(const st_ssm_model *m, const st_ssm_data *d, const double *xf, size_t h,
                        const double *levels, size_t nlevels, const st_ssm_cfg *c, double *mean,
                        double *var, double *lo, double *hi, st_err *e)
{
    (void)xf;
    const ets_impl *im = m->impl;
    return st_ets_forecast(&im->fit, d->y, d->n, h, levels, nlevels, c ? c->seed : 1, c ? c->stream : 0,
                           c ? c->npaths : 0, mean, var, lo, hi, e);
}

static int ets_write(FILE *fp, const st_ssm_model *m, int log, st_err *e)
{
    const ets_impl *im = m->impl;
    const st_ets_fit *f = &im->fit;
    st_yw w;
    char code[8];
    st_yw_init(&w, fp);
    st_yw_key_string(&w, "model", "ssm");
    st_yw_key_long(&w, "version", 1);
    st_yw_key_string(&w, "ets", st_ets_code(&f->mod, code, sizeof code));
    if (f->mod.season)
        st_yw_key_long(&w, "period", f->mod.m);
    if (log)
        st_yw_key_bool(&w, "log", 1);
    st_yw_begin_map(&w, "params");
    for (size_t k = 0; k < m->nshow; k++)
        if (strcmp(m->pname[k], "sigma2") != 0)
            st_yw_key_double(&w, m->pname[k], m->pval[k]);
    st_yw_end(&w);
    st_yw_key_double(&w, "sigma2", f->sigma2);
    st_yw_key_double(&w, "loglik", f->loglik);
    st_yw_key_double(&w, "aicc", f->aicc);
    st_yw_key_long(&w, "nobs", (long)f->nobs);
    st_yw_comment(&w, "R forecast::ets: loglik %.10g, lik %.10g (loglik here = R's - n/2 (1 + log(2 pi / n)))", -0.5 * f->lik, f->lik);
    if (!f->converged)
        st_yw_comment(&w, "optimiser did not converge");
    return st_yw_finish(&w, e);
}

static int ets_read(const st_ydoc *doc, const st_ynode *root, size_t nreg, void **out, st_err *e)
{
    const st_ynode *nc, *np, *nper = st_ymap_get(doc, root, "period");
    int rc;
    const char *code;
    if (nreg)
        return st_ynode_error(doc, root, e, ST_EUSAGE, "ETS models take no regressors (-x)");
    if ((rc = st_ymap_require(doc, root, "ets", &nc, e)) < 0 || (rc = st_ynode_string(doc, nc, &code, e)) < 0)
        return rc;
    long period = 1;
    if (nper && (rc = st_ynode_long(doc, nper, 1, ST_ETS_MAXM, &period, e)) < 0)
        return rc;
    st_ets_model mod;
    st_err pe;
    if (st_ets_parse_code(code, (int)period, &mod, &pe) < 0)
        return st_ynode_error(doc, nc, e, ST_EDATA, "%s", pe.msg);
    if ((rc = st_ymap_require(doc, root, "params", &np, e)) < 0)
        return rc;
    if (st_ynode_kind(np) != ST_YMAP)
        return st_ynode_error(doc, np, e, ST_EDATA, "params must be a mapping of name: value");
    ets_spec *s = calloc(1, sizeof *s);
    if (!s)
        return st_err_nomem(e, "model");
    typedef struct { const char *name; double *v; double lo, hi; int want; } pdef;
    pdef P[4 + 2 + ST_ETS_MAXM];
    size_t k = 0;
    st_ets_par *p = &s->par;
    P[k++] = (pdef){"alpha", &p->alpha, 0, 1, 1};
    P[k++] = (pdef){"beta", &p->beta, 0, 1, mod.trend != 0};
    P[k++] = (pdef){"gamma", &p->gamma, 0, 1, mod.season != 0};
    P[k++] = (pdef){"phi", &p->phi, 0, 1, mod.damped};
    P[k++] = (pdef){"l", &p->l, -INFINITY, INFINITY, 1};
    P[k++] = (pdef){"b", &p->b, -INFINITY, INFINITY, mod.trend != 0};
    char snames[ST_ETS_MAXM][16]; /* local: model files may be read from several threads */
    for (int j = 0; j < mod.m - 1 && mod.season; j++) {
        snprintf(snames[j], sizeof snames[j], "s%d", j);
        P[k++] = (pdef){snames[j], &p->s[j], -INFINITY, INFINITY, 1};
    }
    p->phi = 1;
    for (size_t i = 0; i < k && rc == 0; i++) {
        if (!P[i].want)
            continue;
        const st_ynode *v;
        if ((rc = st_ymap_require(doc, np, P[i].name, &v, e)) == 0)
            rc = st_ynode_double(doc, v, P[i].lo, P[i].hi, P[i].v, e);
        if (rc == 0 && !strcmp(P[i].name, "alpha") && !(p->alpha > 0))
            rc = st_ynode_error(doc, v, e, ST_EDATA, "alpha must be positive");
    }
    if (rc == 0)
        rc = st_ymap_check_unknown(doc, np, e);
    if (rc < 0) {
        free(s);
        return rc;
    }
    st_ets_complete_season(&mod, p);
    s->single = 1;
    st_ets_code(&mod, s->code, sizeof s->code);
    s->has_par = 1;
    s->m = (int)period;
    *out = s;
    return 0;
}

static int ets_set_fixed(void *spec, st_err *e)
{
    ets_spec *s = spec;
    if (!s->has_par)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--fixed needs a model file with parameters");
    s->fixed = 1;
    return 0;
}

static size_t ets_table_columns(const void *spec, int kind, int period, char names[][32], size_t max)
{
    const ets_spec *s = spec;
    if (kind != ST_SSM_TAB_FILTER || !s->single)
        return 0;
    st_ets_model mod;
    st_err e;
    int m = s->has_par ? s->m : period;
    if (st_ets_parse_code(s->code, m, &mod, &e) < 0)
        return 0;
    static const char *const head[] = {"y", "pred", "pred_sd", "resid", "std_resid", "l", "b"};
    size_t k = 0;
    for (size_t i = 0; i < 7; i++) {
        if (i == 6 && !mod.trend)
            continue;
        if (k < max)
            snprintf(names[k], 32, "%s", head[i]);
        k++;
    }
    for (int j = 0; j < m && mod.season; j++) { /* s1 the newest */
        if (k < max)
            snprintf(names[k], 32, "s%d", j + 1);
        k++;
    }
    return k;
}

static int ets_table(const st_ssm_model *m, const st_ssm_data *d, int kind, double *rows, size_t nc,
                     st_err *e)
{
    (void)kind;
    const ets_impl *im = m->impl;
    const st_ets_fit *f = &im->fit;
    const st_ets_model *mod = &f->mod;
    size_t ns = 1 + (mod->trend != 0) + (mod->season ? (size_t)mod->m : 0), n = d->n;
    if (nc != 5 + ns)
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "ETS filter table has %zu columns, not %zu", nc, 5 + ns);
    double *pred = malloc((n ? n : 1) * (1 + ns) * sizeof(double));
    if (!pred)
        return st_err_nomem(e, "filter table");
    double *states = pred + n, sd = sqrt(f->sigma2);
    st_ets_filter(f, d->y, n, pred, states);
    for (size_t t = 0; t < n; t++) {
        double *row = rows + t * nc, yt = d->y[t], pr = pred[t];
        row[0] = yt;
        row[1] = pr;
        row[2] = mod->error == ST_ETS_M ? fabs(pr) * sd : sd;
        row[3] = yt - pr;
        row[4] = (mod->error == ST_ETS_M ? (yt - pr) / pr : yt - pr) / sd;
        memcpy(row + 5, states + t * ns, ns * sizeof(double));
    }
    free(pred);
    return 0;
}

const st_ssm_family st_ssm_family_ets = {
    .name = "ets",
    .file_key = "ets",
    .parse = ets_parse,
    .auto_spec = ets_auto_spec,
    .spec_free = ets_spec_free,
    .nobs = ets_nobs,
    .fit = ets_fit,
    .forecast = ets_forecast,
    .free = ets_free,
    .table_columns = ets_table_columns,
    .table = ets_table,
    .write = ets_write,
    .read = ets_read,
    .set_fixed = ets_set_fixed,
};

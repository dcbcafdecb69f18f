/* Parameters of the particle models and the gradients of their log
 * densities: accessors, setting theta, and the YAML models' gradients
 * (the expressions' forward-mode derivatives times each distribution's
 * partial derivatives); the built-in models' are in model_builtin_par.c. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "smc/dist.h"
#include "smc/model.h"
#include "smc/model_internal.h"

struct st_pf_gwork {
    double *dval;  /* ST_EXPR_MAXDERIV x ST_PF_BLOCK: an argument's derivatives */
    double *dwork; /* the expressions' derivative scratch */
    double garg[3][ST_PF_BLOCK];
    double *z;     /* ST_PF_MAXDIM x ST_PF_BLOCK: mvnormal Sigma^-1 (v - mu) */
    double *Sinv;  /* ST_PF_MAXDIM^2 */
};

size_t st_pf_model_npar(const st_pf_model *m) { return m->npar; }
const char *st_pf_model_parname(const st_pf_model *m, size_t k) { return m->parnames[k]; }
double st_pf_model_par(const st_pf_model *m, size_t k) { return m->parvalues[k]; }

int st_pf_model_set_pars(st_pf_model *m, const double *theta, st_err *e)
{
    for (size_t k = 0; k < m->npar; k++)
        if (!isfinite(theta[k]))
            return st_err_set(e, ST_EDATA, m->file, 0, 0, "parameter '%s' = %g is not finite", m->parnames[k],
                              theta[k]);
    if (m->kind != ST_PF_YAML)
        return pf_builtin_set_pars(m, theta, e);
    memcpy(m->parvalues, theta, m->npar * sizeof *theta);
    return 0;
}

/* ------------------------------------------------------------ scratch */

static size_t comp_dwork(const pcomp *c)
{
    size_t need = 1;
#define NEED(a)                                                        \
    do {                                                               \
        if ((a).x) {                                                   \
            size_t k_ = st_expr_dwork_size((a).x, ST_PF_BLOCK);        \
            if (k_ > need)                                             \
                need = k_;                                             \
        }                                                              \
    } while (0)
    for (size_t k = 0; k < c->nd; k++) {
        const pdist *d = &c->d[k];
        for (int i = 0; i < 3; i++)
            NEED(d->a[i]);
        if (d->mean)
            for (size_t i = 0; i < d->dim; i++)
                NEED(d->mean[i]);
        if (d->cov)
            for (size_t i = 0; i < (d->full ? d->dim * d->dim : d->dim); i++)
                NEED(d->cov[i]);
    }
#undef NEED
    return need;
}

int st_pf_gwork_new(st_pf_gwork **out, const st_pf_model *m, st_err *e)
{
    st_pf_gwork *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w)
        return st_err_nomem(e, "gradient work space");
    size_t need = 1;
    if (m->kind == ST_PF_YAML) {
        size_t a = comp_dwork(&m->init), b = comp_dwork(&m->trans), c = comp_dwork(&m->obs);
        need = a > b ? a : b;
        need = need > c ? need : c;
    }
    w->dval = malloc((size_t)ST_EXPR_MAXDERIV * ST_PF_BLOCK * sizeof *w->dval);
    w->dwork = malloc(need * sizeof *w->dwork);
    w->z = malloc((size_t)ST_PF_MAXDIM * ST_PF_BLOCK * sizeof *w->z);
    w->Sinv = malloc((size_t)ST_PF_MAXDIM * ST_PF_MAXDIM * sizeof *w->Sinv);
    if (!w->dval || !w->dwork || !w->z || !w->Sinv) {
        st_pf_gwork_free(w);
        return st_err_nomem(e, "gradient work space");
    }
    *out = w;
    return 0;
}

void st_pf_gwork_free(st_pf_gwork *w)
{
    if (!w)
        return;
    free(w->dval);
    free(w->dwork);
    free(w->z);
    free(w->Sinv);
    free(w);
}

/* ------------------------------------------------------------ YAML models */

/* g[par * B + p] += f[p] * d a / d par over the parameters a depends on. */
static void acc_arg(const st_pf_model *m, const parg *a, const st_pf_step *s, const double *X, size_t stride,
                    size_t n, const double *f, double *g, st_pf_work *w, st_pf_gwork *gw)
{
    size_t nd = st_expr_nderiv(a->x);
    if (nd == 0)
        return;
    st_expr_in in[PF_NSLOTS];
    pf_fill_in(in, s, X, stride);
    st_expr_args args = {in, m->parvalues, NULL};
    double val[ST_PF_BLOCK];
    int uni = st_expr_eval_d(a->x, &args, n, val, gw->dval, &w->ew, gw->dwork);
    for (size_t k = 0; k < nd; k++) {
        double *gk = g + st_expr_deriv_par(a->x, k) * ST_PF_BLOCK;
        const double *dk = gw->dval + k * n;
        if (uni)
            for (size_t p = 0; p < n; p++)
                gk[p] += f[p] * dk[0];
        else
            for (size_t p = 0; p < n; p++)
                gk[p] += f[p] * dk[p];
    }
}

/* Gradients of a multivariate normal with observed components obs[0..k-1]. */
static int mvn_grad(const st_pf_model *m, const pcomp *c, const pdist *d, const st_pf_step *s,
                    const double *X, size_t xstride, const double *V, size_t vstride, const double *vconst,
                    const size_t *obs, size_t k, size_t n, double *g, st_pf_work *w, st_pf_gwork *gw,
                    st_err *e)
{
    size_t dim = d->dim;
    st_expr_in in[PF_NSLOTS];
    pf_fill_in(in, s, X, xstride);
    st_expr_args args = {in, m->parvalues, NULL};
#define VAL(i, p) (vconst ? vconst[d->off + (i)] : V[(d->off + (i)) * vstride + (p)])
    if (!d->full) {
        for (size_t a = 0; a < k; a++) {
            size_t i = obs[a];
            double *mu = w->tmp[0], *var = w->tmp[1];
            int um = st_expr_eval(d->mean[i].x, &args, n, mu, &w->ew);
            int uv = st_expr_eval(d->cov[i].x, &args, n, var, &w->ew);
            for (size_t p = 0; p < n; p++) {
                double vv = var[uv ? 0 : p], r = VAL(i, p) - mu[um ? 0 : p];
                if (!(vv > 0) || !isfinite(vv))
                    return pf_bad_value(m, s, c->what, &d->cov[i], vv, p, "is not a positive variance", e);
                gw->garg[0][p] = r / vv;
                gw->garg[1][p] = 0.5 * (r * r / (vv * vv) - 1 / vv);
            }
            acc_arg(m, &d->mean[i], s, X, xstride, n, gw->garg[0], g, w, gw);
            acc_arg(m, &d->cov[i], s, X, xstride, n, gw->garg[1], g, w, gw);
        }
        return 0;
    }
    /* full covariance (the same for every particle): Sigma_oo^-1 */
    double *S = w->mat;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++)
            S[a * k + b] = st_expr_eval1(d->cov[obs[a] * dim + obs[b]].x, &args);
    st_err tmp;
    st_err_clear(&tmp);
    if (st_chol(S, k, 0, NULL, &tmp) < 0)
        return pf_bad_value(m, s, c->what, &d->cov[0], S[0], 0, "but 'cov' is not positive definite", e);
    st_chol_inverse(S, k, gw->Sinv);
    const double *Si = gw->Sinv;
    for (size_t a = 0; a < k; a++) {
        int um = st_expr_eval(d->mean[obs[a]].x, &args, n, w->tmp[a], &w->ew);
        if (um)
            for (size_t p = 1; p < n; p++)
                w->tmp[a][p] = w->tmp[a][0];
    }
    for (size_t p = 0; p < n; p++) {
        double r[ST_PF_MAXDIM];
        for (size_t a = 0; a < k; a++)
            r[a] = VAL(obs[a], p) - w->tmp[a][p];
        for (size_t a = 0; a < k; a++) {
            double z = 0;
            for (size_t b = 0; b < k; b++)
                z += Si[a * k + b] * r[b];
            gw->z[a * ST_PF_BLOCK + p] = z;
        }
    }
#undef VAL
    for (size_t a = 0; a < k; a++)
        acc_arg(m, &d->mean[obs[a]], s, X, xstride, n, gw->z + a * ST_PF_BLOCK, g, w, gw);
    /* the density reads the lower triangle: d/dSigma_ab = (2 if a > b) *
     * (z_a z_b - Sigma^-1_ab) / 2 */
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b <= a; b++) {
            const parg *ca = &d->cov[obs[a] * dim + obs[b]];
            if (st_expr_nderiv(ca->x) == 0)
                continue;
            double f = a == b ? 0.5 : 1.0;
            const double *za = gw->z + a * ST_PF_BLOCK, *zb = gw->z + b * ST_PF_BLOCK;
            for (size_t p = 0; p < n; p++)
                gw->garg[0][p] = f * (za[p] * zb[p] - Si[a * k + b]);
            acc_arg(m, ca, s, X, xstride, n, gw->garg[0], g, w, gw);
        }
    return 0;
}

#define ARG(k, p) (uni[k] ? w->arg[k][0] : w->arg[k][p])

/* g += gradients of the log density of component c at the values V (rows
 * off.., stride vstride, or the constant vector vconst with NaN missing),
 * arguments over X. */
static int comp_grad(const st_pf_model *m, const pcomp *c, const st_pf_step *s, const double *X,
                     size_t xstride, const double *V, size_t vstride, const double *vconst, size_t n,
                     double *g, st_pf_work *w, st_pf_gwork *gw, st_err *e)
{
    int uni[3], rc;
    for (size_t di = 0; di < c->nd; di++) {
        const pdist *d = &c->d[di];
        size_t obs[ST_PF_MAXDIM], k = 0;
        for (size_t i = 0; i < d->dim; i++)
            if (!vconst || !isnan(vconst[d->off + i]))
                obs[k++] = i;
        if (k == 0)
            continue;
        if (d->kind == D_MVNORMAL) {
            if ((rc = mvn_grad(m, c, d, s, X, xstride, V, vstride, vconst, obs, k, n, g, w, gw, e)) < 0)
                return rc;
            continue;
        }
        if ((rc = pf_univariate_args(m, c, d, s, X, xstride, n, uni, w, e)) < 0)
            return rc;
        int na = d->kind == D_POISSON ? 1 : d->kind == D_STUDENT ? 3 : 2;
        for (size_t p = 0; p < n; p++) {
            double v = vconst ? vconst[d->off] : V[d->off * vstride + p], gg[3] = {0, 0, 0};
            switch (d->kind) {
            case D_NORMAL: st_dlpdf_normal(v, ARG(0, p), ARG(1, p), gg); break;
            case D_STUDENT: st_dlpdf_student(v, ARG(0, p), ARG(1, p), ARG(2, p), gg); break;
            case D_LOGNORMAL: st_dlpdf_lognormal(v, ARG(0, p), ARG(1, p), gg); break;
            case D_GAMMA:
                if (d->gamma_scale) {
                    double sc = ARG(1, p);
                    st_dlpdf_gamma(v, ARG(0, p), 1 / sc, gg);
                    gg[1] *= -1 / (sc * sc);
                } else {
                    st_dlpdf_gamma(v, ARG(0, p), ARG(1, p), gg);
                }
                break;
            case D_POISSON: st_dlpmf_poisson(v, ARG(0, p), gg); break;
            case D_BINOMIAL: st_dlpmf_binomial(v, ARG(0, p), ARG(1, p), gg); break;
            default:
                if (d->nb_mean) {
                    double size = ARG(0, p), mean = ARG(1, p), den = (size + mean) * (size + mean);
                    st_dlpmf_negbinomial(v, size, size / (size + mean), gg);
                    double dprob = gg[1];
                    gg[0] += dprob * mean / den;
                    gg[1] = -dprob * size / den;
                } else {
                    st_dlpmf_negbinomial(v, ARG(0, p), ARG(1, p), gg);
                }
                break;
            }
            for (int a = 0; a < na; a++)
                gw->garg[a][p] = gg[a];
        }
        for (int a = 0; a < na; a++)
            acc_arg(m, &d->a[a], s, X, xstride, n, gw->garg[a], g, w, gw);
    }
    return 0;
}

#undef ARG

/* ------------------------------------------------------------ dispatch */

int st_pf_model_loginit(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride,
                        size_t n, double *out, st_pf_work *w, st_err *e)
{
    if (m->kind == ST_PF_YAML)
        return pf_yaml_loginit(m, s, X, stride, n, out, w, e);
    return pf_builtin_loginit(m, X, stride, n, out, w);
}

int st_pf_model_dinit(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride, size_t n,
                      double *g, st_pf_work *w, st_pf_gwork *gw, st_err *e)
{
    if (m->kind != ST_PF_YAML) {
        pf_builtin_dinit(m, X, stride, n, g, w);
        return 0;
    }
    return comp_grad(m, &m->init, s, X, stride, X, stride, NULL, n, g, w, gw, e);
}

int st_pf_model_dtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev, size_t pstride,
                       const double *Xnew, size_t nstride, size_t n, double *g, st_pf_work *w,
                       st_pf_gwork *gw, st_err *e)
{
    if (m->kind != ST_PF_YAML) {
        pf_builtin_dtrans(m, s, Xprev, pstride, Xnew, nstride, n, g, w);
        return 0;
    }
    return comp_grad(m, &m->trans, s, Xprev, pstride, Xnew, nstride, NULL, n, g, w, gw, e);
}

int st_pf_model_dobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride, size_t n,
                     double *g, st_pf_work *w, st_pf_gwork *gw, st_err *e)
{
    if (m->kind != ST_PF_YAML)
        return pf_builtin_dobs(m, s, X, stride, n, g, w, e);
    return comp_grad(m, &m->obs, s, X, stride, NULL, 0, s->y, n, g, w, gw, e);
}

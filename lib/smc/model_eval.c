/* Block operations of YAML particle models: distributions whose arguments
 * are compiled expressions, evaluated over blocks of particles and checked. */
#include "config.h"

#include "smc/model.h"

#include <errno.h>
#include <float.h>
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

int pf_bad_value(const st_pf_model *m, const st_pf_step *s, const char *what, const parg *a, double v,
                 size_t p, const char *why, st_err *e)
{
    char ex[80];
    st_expr_excerpt(a->x, ex, sizeof ex);
    return st_err_set(e, ST_EDATA, m->file, a->line, a->col,
                      "time step %ld (t = %g): %s '%s' = %g %s (expression '%s', particle %zu)",
                      s->step + 1, s->t, what, a->name, v, why, ex, p);
}

/* The input slots of the model's expressions at step s over X. */
void pf_fill_in(st_expr_in *in, const st_pf_step *s, const double *X, size_t stride)
{
    in[PF_SLOT_X] = (st_expr_in){X, stride};
    in[PF_SLOT_T] = (st_expr_in){&s->t, 0};
    in[PF_SLOT_COV] = (st_expr_in){s->cov, 0};
}

/* Evaluate x over the block into out (per-particle parameters when w
 * has them); returns the uniform flag. */
static int eval_expr(const st_pf_model *m, const st_expr *x, const st_pf_step *s, const double *X,
                     size_t stride, size_t n, double *out, st_pf_work *w)
{
    st_expr_in in[PF_NSLOTS];
    pf_fill_in(in, s, X, stride);
    st_expr_in pin = {w->par, w->par_stride};
    st_expr_args args = {in, m->parvalues, w->par ? &pin : NULL};
    return st_expr_eval(x, &args, n, out, &w->ew);
}

static int eval_arg(const st_pf_model *m, const parg *a, const st_pf_step *s, const double *X,
                    size_t stride, size_t n, double *out, st_pf_work *w)
{
    return eval_expr(m, a->x, s, X, stride, n, out, w);
}

/* r = v - mean over the block: v a row (vrow) or the constant vc, mean a
 * row or uniform (muni). */
static void residual(double *r, const double *vrow, double vc, const double *mean, int muni, size_t n)
{
    if (vrow) {
        if (muni)
            st_vaffine(r, 1.0, vrow, -mean[0], n);
        else
            st_vsub(r, vrow, mean, n);
    } else if (muni) {
        double c = vc - mean[0];
        for (size_t p = 0; p < n; p++)
            r[p] = c;
    } else {
        st_vaffine(r, -1.0, mean, vc, n);
    }
}

/* out += log N(v; mean, sd) for a normal whose sd is exp(E) and varies:
 * log sd is E itself and 1 / sd is exp(-E), one exp and no log per
 * particle (as a built-in model computes it).  0: not done here (values
 * to check or report: the general path does it), 1: done. */
static int normal_logsd(const st_pf_model *m, const pdist *d, const st_pf_step *s, const double *X, size_t xstride,
                        const double *vrow, double vc, size_t n, double *out, st_pf_work *w)
{
    double *mean = w->arg[0], *lsd = w->arg[1], *z = w->arg[2], *isd = w->arg[3];
    int muni = eval_arg(m, &d->a[0], s, X, xstride, n, mean, w);
    if (!st_vall_in(mean, muni ? 1 : n, -DBL_MAX, DBL_MAX))
        return 0;
    if (eval_expr(m, d->lsd, s, X, xstride, n, lsd, w) || !st_vall_in(lsd, n, -700, 700))
        return 0; /* uniform, or exp(E) near the end of the range */
    st_vaffine(isd, -1.0, lsd, -0.0, n);
    st_vexp(isd, isd, n);
    if (!vrow && muni) { /* an observation with a uniform mean: (v - mean) exp(-E) in one pass */
        st_vaffine(z, vc - mean[0], isd, -0.0, n);
    } else {
        residual(z, vrow, vc, mean, muni, n);
        st_vmul(z, z, isd, n);
    }
    st_vmul(z, z, z, n);
    st_vaffine(z, -0.5, z, -ST_LOG_SQRT_2PI, n);
    st_vsub(z, z, lsd, n);
    st_vadd(out, out, z, n);
    return 1;
}

/* The value of an argument that does not depend on the state. */
static double eval_uniform(const st_pf_model *m, const parg *a, const st_pf_step *s)
{
    st_expr_in in[PF_NSLOTS];
    pf_fill_in(in, s, NULL, 0);
    st_expr_args args = {in, m->parvalues, NULL};
    return st_expr_eval1(a->x, &args);
}

#define ARG(k, p) (uni[k] ? w->arg[k][0] : w->arg[k][p])

/* The closed range [lo, hi] of argument k of d (positive: from the
 * smallest subnormal), or 0 if it is not a range (a count). */
static int arg_range(const pdist *d, int k, double *lo, double *hi)
{
    const double pos = 0x1p-1074;
    *lo = -DBL_MAX;
    *hi = DBL_MAX;
    switch (d->kind) {
    case D_NORMAL:
    case D_LOGNORMAL:
        if (k == 1)
            *lo = pos;
        break;
    case D_STUDENT:
        if (k == 0 || k == 2)
            *lo = pos;
        break;
    case D_GAMMA: *lo = pos; break;
    case D_POISSON: *lo = 0; break;
    case D_BINOMIAL:
        if (k == 0)
            return 0;
        *lo = 0;
        *hi = 1;
        break;
    case D_NEGBIN:
        if (k == 0)
            *lo = pos;
        else if (d->nb_mean)
            *lo = 0;
        else {
            *lo = pos;
            *hi = 1;
        }
        break;
    }
    return 1;
}

/* Evaluate and check the univariate arguments of d. */
int pf_univariate_args(const st_pf_model *m, const pcomp *c, const pdist *d, const st_pf_step *s,
                       const double *X, size_t stride, size_t n, int *uni, st_pf_work *w, st_err *e)
{
    int na = d->kind == D_POISSON ? 1 : d->kind == D_STUDENT ? 3 : 2;
    for (int k = 0; k < na; k++) {
        uni[k] = eval_arg(m, &d->a[k], s, X, stride, n, w->arg[k], w);
        size_t cnt = uni[k] ? 1 : n;
        const double *v = w->arg[k];
        /* the block in one vector pass; the particle and the reason only
         * when a value is out of its range */
        double lo, hi;
        if (arg_range(d, k, &lo, &hi) && st_vall_in(v, cnt, lo, hi))
            continue;
        for (size_t p = 0; p < cnt; p++) {
            double x = v[p];
            const char *why = NULL;
            if (!isfinite(x))
                why = "is not finite";
            else
                switch (d->kind) {
                case D_NORMAL:
                case D_LOGNORMAL:
                    if (k == 1 && !(x > 0))
                        why = "is not positive";
                    break;
                case D_STUDENT:
                    if ((k == 0 || k == 2) && !(x > 0))
                        why = "is not positive";
                    break;
                case D_GAMMA:
                    if (!(x > 0))
                        why = "is not positive";
                    break;
                case D_POISSON:
                    if (x < 0)
                        why = "is negative";
                    break;
                case D_BINOMIAL:
                    if (k == 0 && !st_is_count(x))
                        why = "is not a non-negative integer";
                    if (k == 1 && !(x >= 0 && x <= 1))
                        why = "is not in [0, 1]";
                    break;
                case D_NEGBIN:
                    if (k == 0 && !(x > 0))
                        why = "is not positive";
                    if (k == 1 && !d->nb_mean && !(x > 0 && x <= 1))
                        why = "is not in (0, 1]";
                    if (k == 1 && d->nb_mean && x < 0)
                        why = "is negative";
                    break;
                }
            if (why)
                return pf_bad_value(m, s, c->what, &d->a[k], x, p, why, e);
        }
    }
    return 0;
}

/* mvnormal: means into w->tmp[0..dim-1] (uniform flags in muni), the
 * Cholesky factor of a full covariance into w->mat, diagonal sds into
 * w->arg rows... (diag: sds into w->tmp[dim..2dim-1]). */
static int mvn_setup(const st_pf_model *m, const pcomp *c, const pdist *d, const st_pf_step *s,
                     const double *X, size_t stride, size_t n, int *muni, int *suni,
                     st_pf_work *w, st_err *e)
{
    size_t dim = d->dim;
    if (2 * dim > ST_PF_MAXDIM)
        return st_err_set(e, ST_EDATA, m->file, d->mean[0].line, d->mean[0].col, "mvnormal too large");
    for (size_t i = 0; i < dim; i++) {
        muni[i] = eval_arg(m, &d->mean[i], s, X, stride, n, w->tmp[i], w);
        for (size_t p = 0; p < (muni[i] ? 1 : n); p++)
            if (!isfinite(w->tmp[i][p]))
                return pf_bad_value(m, s, c->what, &d->mean[i], w->tmp[i][p], p, "is not finite", e);
    }
    if (d->full) {
        for (size_t i = 0; i < dim * dim; i++) {
            double v;
            eval_arg(m, &d->cov[i], s, X, stride, 1, &v, w);
            if (!isfinite(v))
                return pf_bad_value(m, s, c->what, &d->cov[i], v, 0, "is not finite", e);
            w->mat[i] = v;
        }
        if (st_mat_asymmetry(w->mat, dim) > 1e-10)
            return pf_bad_value(m, s, c->what, &d->cov[1], w->mat[1], 0, "makes 'cov' not symmetric", e);
        st_err tmp;
        st_err_clear(&tmp);
        if (st_chol(w->mat, dim, 0, NULL, &tmp) < 0)
            return pf_bad_value(m, s, c->what, &d->cov[0], w->mat[0], 0, "but 'cov' is not positive definite", e);
    } else {
        for (size_t i = 0; i < dim; i++) {
            double *sd = w->tmp[dim + i];
            suni[i] = eval_arg(m, &d->cov[i], s, X, stride, n, sd, w);
            for (size_t p = 0; p < (suni[i] ? 1 : n); p++) {
                if (!(sd[p] > 0) || !isfinite(sd[p]))
                    return pf_bad_value(m, s, c->what, &d->cov[i], sd[p], p, "is not a positive variance", e);
                sd[p] = sqrt(sd[p]);
            }
        }
    }
    return 0;
}

/* Sample component c into Y (rows off.., stride ystride); arguments over X. */
static int comp_sample(const st_pf_model *m, const pcomp *c, const st_pf_step *s, const double *X,
                       size_t xstride, double *Y, size_t ystride, size_t n, st_rng *r,
                       st_pf_work *w, st_err *e)
{
    int uni[3], rc = 0;
    for (size_t k = 0; k < c->nd; k++) {
        const pdist *d = &c->d[k];
        if (d->kind == D_MVNORMAL && d->full && w->par && n > 1) {
            /* a full covariance per particle: one particle at a time */
            pcomp one = *c;
            one.d = (pdist *)d;
            one.nd = 1;
            const double *par = w->par;
            for (size_t p = 0; p < n && rc == 0; p++) {
                w->par = par + p;
                rc = comp_sample(m, &one, s, X + p, xstride, Y + p, ystride, 1, r, w, e);
            }
            w->par = par;
            if (rc < 0)
                return rc;
            continue;
        }
        if (d->kind == D_MVNORMAL) {
            int muni[ST_PF_MAXDIM], suni[ST_PF_MAXDIM];
            if ((rc = mvn_setup(m, c, d, s, X, xstride, n, muni, suni, w, e)) < 0)
                return rc;
            size_t dim = d->dim;
            for (size_t p = 0; p < n; p++) {
                double z[ST_PF_MAXDIM];
                for (size_t i = 0; i < dim; i++)
                    z[i] = st_rng_normal(r);
                for (size_t i = 0; i < dim; i++) {
                    double v = w->tmp[i][muni[i] ? 0 : p];
                    if (d->full) {
                        for (size_t j = 0; j <= i; j++)
                            v += w->mat[i * dim + j] * z[j];
                    } else {
                        v += w->tmp[dim + i][suni[i] ? 0 : p] * z[i];
                    }
                    Y[(d->off + i) * ystride + p] = v;
                }
            }
            continue;
        }
        if ((rc = pf_univariate_args(m, c, d, s, X, xstride, n, uni, w, e)) < 0)
            return rc;
        double *y = Y + d->off * ystride;
        switch (d->kind) {
        case D_NORMAL:
        case D_LOGNORMAL: {
            /* y = mean + sd z, rounded as written, by the vector kernels */
            double *z = w->arg[3];
            st_rng_normal_fill(r, z, n);
            if (uni[1]) {
                if (uni[0]) {
                    st_vaffine(y, w->arg[1][0], z, w->arg[0][0], n);
                } else {
                    memcpy(y, w->arg[0], n * sizeof *y);
                    st_vaxpy(y, w->arg[1][0], z, n);
                }
            } else {
                st_vmul(z, w->arg[1], z, n);
                if (uni[0])
                    st_vaffine(y, 1.0, z, w->arg[0][0], n);
                else
                    st_vadd(y, w->arg[0], z, n);
            }
            if (d->kind == D_LOGNORMAL)
                st_vexp(y, y, n);
            break;
        }
        case D_STUDENT:
            for (size_t p = 0; p < n; p++)
                y[p] = ARG(1, p) + ARG(2, p) * st_rng_student_t(r, ARG(0, p));
            break;
        case D_GAMMA:
            for (size_t p = 0; p < n; p++)
                y[p] = d->gamma_scale ? st_rng_gamma(r, ARG(0, p)) * ARG(1, p)
                                      : st_rng_gamma(r, ARG(0, p)) / ARG(1, p);
            break;
        case D_POISSON:
            for (size_t p = 0; p < n; p++)
                y[p] = (double)st_rng_poisson(r, ARG(0, p));
            break;
        case D_BINOMIAL:
            for (size_t p = 0; p < n; p++)
                y[p] = (double)st_rng_binomial(r, (uint64_t)ARG(0, p), ARG(1, p));
            break;
        default:
            for (size_t p = 0; p < n; p++) {
                double size = ARG(0, p), prob = d->nb_mean ? size / (size + ARG(1, p)) : ARG(1, p);
                y[p] = (double)st_rng_negbinomial(r, size, prob);
            }
            break;
        }
    }
    return 0;
}

/* out[p] += log density of the values V (rows off.., stride vstride, or the
 * constant vector vconst when non-NULL) with arguments over X.  Missing
 * values (NaN in vconst) are skipped. */
static int comp_logpdf(const st_pf_model *m, const pcomp *c, const st_pf_step *s, const double *X,
                       size_t xstride, const double *V, size_t vstride, const double *vconst,
                       size_t n, double *out, st_pf_work *w, st_err *e)
{
    int uni[3], rc = 0;
    for (size_t di = 0; di < c->nd; di++) {
        const pdist *d = &c->d[di];
        /* observed components (missing observations are NaN) */
        size_t obs[ST_PF_MAXDIM], k = 0;
        for (size_t i = 0; i < d->dim; i++)
            if (!vconst || !isnan(vconst[d->off + i]))
                obs[k++] = i;
        if (k == 0)
            continue;
        if (d->kind == D_MVNORMAL && d->full && w->par && n > 1) {
            pcomp one = *c;
            one.d = (pdist *)d;
            one.nd = 1;
            const double *par = w->par;
            for (size_t p = 0; p < n && rc == 0; p++) {
                w->par = par + p;
                rc = comp_logpdf(m, &one, s, X + p, xstride, V ? V + p : NULL, vstride, vconst, 1, out + p, w, e);
            }
            w->par = par;
            if (rc < 0)
                return rc;
            continue;
        }
        if (d->kind == D_MVNORMAL) {
            int muni[ST_PF_MAXDIM], suni[ST_PF_MAXDIM];
            if ((rc = mvn_setup(m, c, d, s, X, xstride, n, muni, suni, w, e)) < 0)
                return rc;
            size_t dim = d->dim;
            double logdet = 0;
            if (d->full && k < dim) {
                /* the marginal of the observed components: their block of
                 * the covariance, factorised afresh */
                for (size_t a = 0; a < k; a++)
                    for (size_t b = 0; b < k; b++)
                        eval_arg(m, &d->cov[obs[a] * dim + obs[b]], s, X, xstride, 1, &w->mat[a * k + b], w);
                st_err tmp;
                if (st_chol(w->mat, k, 0, NULL, &tmp) < 0)
                    return pf_bad_value(m, s, c->what, &d->cov[0], w->mat[0], 0,
                                     "but the observed block of 'cov' is not positive definite", e);
            }
            if (d->full)
                logdet = st_chol_logdet(w->mat, k);
            for (size_t p = 0; p < n; p++) {
                double z[ST_PF_MAXDIM], q = 0, ld = 0;
                for (size_t a = 0; a < k; a++) {
                    size_t i = obs[a];
                    double v = vconst ? vconst[d->off + i] : V[(d->off + i) * vstride + p];
                    z[a] = v - w->tmp[i][muni[i] ? 0 : p];
                }
                if (d->full) {
                    for (size_t a = 0; a < k; a++) {
                        double v = z[a];
                        for (size_t b = 0; b < a; b++)
                            v -= w->mat[a * k + b] * z[b];
                        z[a] = v / w->mat[a * k + a];
                        q += z[a] * z[a];
                    }
                    ld = 0.5 * logdet;
                } else {
                    for (size_t a = 0; a < k; a++) {
                        double sd = w->tmp[dim + obs[a]][suni[obs[a]] ? 0 : p];
                        q += (z[a] / sd) * (z[a] / sd);
                        ld += log(sd);
                    }
                }
                out[p] += -0.5 * q - ld - (double)k * ST_LOG_SQRT_2PI;
            }
            continue;
        }
        const double *v = vconst ? NULL : V + d->off * vstride;
        double yc = vconst ? vconst[d->off] : 0;
        if (d->kind == D_NORMAL && d->lsd && (st_expr_varies(d->a[1].x) || w->par) &&
            normal_logsd(m, d, s, X, xstride, v, yc, n, out, w))
            continue;
        if ((rc = pf_univariate_args(m, c, d, s, X, xstride, n, uni, w, e)) < 0)
            return rc;
#define VAL(p) (vconst ? yc : v[p])
        switch (d->kind) {
        case D_NORMAL: {
            /* out += -0.5 z^2 - log sd - log sqrt(2 pi), z = (v - mean) / sd */
            double *z = w->arg[2];
            residual(z, v, yc, w->arg[0], uni[0], n);
            if (uni[1]) {
                double sd = w->arg[1][0], c0 = -log(sd) - ST_LOG_SQRT_2PI;
                st_vaffine(z, 1 / sd, z, -0.0, n);
                st_vmul(z, z, z, n);
                st_vaffine(z, -0.5, z, c0, n);
            } else {
                double *lsd = w->arg[3];
                st_vlog(lsd, w->arg[1], n);
                st_vdiv(z, z, w->arg[1], n);
                st_vmul(z, z, z, n);
                st_vaffine(z, -0.5, z, -ST_LOG_SQRT_2PI, n);
                st_vsub(z, z, lsd, n);
            }
            st_vadd(out, out, z, n);
            break;
        }
        case D_STUDENT:
            for (size_t p = 0; p < n; p++)
                out[p] += st_lpdf_student(VAL(p), ARG(0, p), ARG(1, p), ARG(2, p));
            break;
        case D_LOGNORMAL:
            for (size_t p = 0; p < n; p++)
                out[p] += st_lpdf_lognormal(VAL(p), ARG(0, p), ARG(1, p));
            break;
        case D_GAMMA:
            for (size_t p = 0; p < n; p++)
                out[p] += st_lpdf_gamma(VAL(p), ARG(0, p), d->gamma_scale ? 1 / ARG(1, p) : ARG(1, p));
            break;
        case D_POISSON:
            for (size_t p = 0; p < n; p++)
                out[p] += st_lpmf_poisson(VAL(p), ARG(0, p));
            break;
        case D_BINOMIAL:
            for (size_t p = 0; p < n; p++)
                out[p] += st_lpmf_binomial(VAL(p), ARG(0, p), ARG(1, p));
            break;
        default:
            for (size_t p = 0; p < n; p++) {
                double size = ARG(0, p), prob = d->nb_mean ? size / (size + ARG(1, p)) : ARG(1, p);
                out[p] += st_lpmf_negbinomial(VAL(p), size, prob);
            }
            break;
        }
#undef VAL
    }
    return 0;
}

int pf_yaml_init(const st_pf_model *m, const st_pf_step *s, double *X, size_t stride, size_t n,
                 st_rng *r, st_pf_work *w, st_err *e)
{
    return comp_sample(m, &m->init, s, X, stride, X, stride, n, r, w, e);
}

int pf_yaml_transition(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                       size_t pstride, double *Xnew, size_t nstride, size_t n, st_rng *r,
                       st_pf_work *w, st_err *e)
{
    return comp_sample(m, &m->trans, s, Xprev, pstride, Xnew, nstride, n, r, w, e);
}

int pf_yaml_logtrans(const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                     size_t pstride, const double *Xnew, size_t nstride, size_t n, double *out,
                     st_pf_work *w, st_err *e)
{
    for (size_t p = 0; p < n; p++)
        out[p] = 0;
    return comp_logpdf(m, &m->trans, s, Xprev, pstride, Xnew, nstride, NULL, n, out, w, e);
}

int pf_yaml_logobs(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride,
                   size_t n, double *lw, st_pf_work *w, st_err *e)
{
    return comp_logpdf(m, &m->obs, s, X, stride, NULL, 0, s->y, n, lw, w, e);
}

int pf_yaml_trans_bound(const st_pf_model *m, const st_pf_step *s, double *logbound)
{
    double b = 0;
    for (size_t k = 0; k < m->trans.nd; k++) {
        const pdist *d = &m->trans.d[k];
        switch (d->kind) {
        case D_NORMAL:
        case D_STUDENT: {
            const parg *sc = &d->a[d->kind == D_NORMAL ? 1 : 2];
            if (st_expr_varies(sc->x) || (d->kind == D_STUDENT && st_expr_varies(d->a[0].x)))
                return 0;
            double scale = eval_uniform(m, sc, s);
            if (!(scale > 0) || !isfinite(scale))
                return 0;
            if (d->kind == D_NORMAL)
                b += -log(scale) - ST_LOG_SQRT_2PI;
            else
                b += st_student_lconst(eval_uniform(m, &d->a[0], s)) - log(scale);
            break;
        }
        case D_MVNORMAL: {
            size_t nc = d->full ? d->dim * d->dim : d->dim;
            double M[ST_PF_MAXDIM * ST_PF_MAXDIM];
            if (d->dim * d->dim > sizeof M / sizeof M[0])
                return 0;
            for (size_t i = 0; i < nc; i++)
                if (st_expr_varies(d->cov[i].x))
                    return 0;
            if (d->full) {
                for (size_t i = 0; i < nc; i++)
                    M[i] = eval_uniform(m, &d->cov[i], s);
                st_err tmp;
                if (st_chol(M, d->dim, 0, NULL, &tmp) < 0)
                    return 0;
                b += -0.5 * st_chol_logdet(M, d->dim) - (double)d->dim * ST_LOG_SQRT_2PI;
            } else {
                for (size_t i = 0; i < nc; i++) {
                    double v = eval_uniform(m, &d->cov[i], s);
                    if (!(v > 0))
                        return 0;
                    b += -0.5 * log(v) - ST_LOG_SQRT_2PI;
                }
            }
            break;
        }
        case D_POISSON:
        case D_BINOMIAL:
        case D_NEGBIN:
            break; /* a mass function is at most 1 */
        default:
            return 0;
        }
    }
    *logbound = b;
    return 1;
}

int pf_yaml_loginit(const st_pf_model *m, const st_pf_step *s, const double *X, size_t stride, size_t n,
                    double *out, st_pf_work *w, st_err *e)
{
    for (size_t p = 0; p < n; p++)
        out[p] = 0;
    return comp_logpdf(m, &m->init, s, X, stride, X, stride, NULL, n, out, w, e);
}

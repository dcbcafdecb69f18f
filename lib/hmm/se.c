/* Standard errors of a fitted model: the observed information (the
 * numerical Hessian of the exact log-likelihood) in an unconstrained
 * parameterisation, inverted, mapped back to the model's parameters by the
 * delta method; and parametric bootstrap intervals.
 *
 * Unconstrained parameters theta, one block per group of model entries:
 *   probability rows (start, transitions, categorical and multinomial
 *     rows, mixture weights, nonparametric durations): multinomial logits
 *     against the row's largest entry, over the allowed entries above
 *     ST_HMM_SE_PMIN; the others (structural zeros, estimates on the
 *     boundary) are fixed, with SE 0;
 *   positive values (variances, rates, Gamma shapes and scales, Poisson
 *     lambdas, negbin sizes): logs;  Bernoulli and negbin probabilities:
 *     logits;  means, intercepts, coefficients: themselves;
 *   full and tied covariances: the Cholesky factor with log diagonal.
 * H = -d^2 log L / d theta^2 by central differences (st_optim_numhess:
 * steps eps^(1/4) max(|theta|, 1)), V = H^-1 by Cholesky (an error if H is
 * not positive definite: not at a maximum, or a parameter not identified),
 * and var(phi) = diag(J V J^T) with J = d phi / d theta, block by block.
 * At the MLE these SEs do not depend on the parameterisation chosen.
 *
 * The log-likelihood is summed per E-step block and folded in block order
 * (st_mpi_fold_blocks), so the SEs are the same bits for any -j and any
 * number of MPI ranks (st_hmm_stderr is collective on a share). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/mpi.h"
#include "core/optim.h"
#include "hmm/internal.h"

typedef enum { TR_IDENT, TR_LOG, TR_LOGIT, TR_SIMPLEX, TR_COV } tr_kind;

typedef struct pblock {
    tr_kind kind;
    size_t at;      /* offset of the block's entries in the model's parameter arrays */
    double *p;      /* the entries (model) */
    double *se;     /* the same entries of the SE model */
    size_t n;       /* entries (covariance: the order D of a D x D block) */
    const unsigned char *allow; /* simplex: allowed entries (NULL: all) */
    /* simplex, fixed at packing: the free entries and the reference */
    unsigned char *free_;
    size_t ref, nfree;
    double mass;    /* probability mass of the free entries */
    size_t off;     /* first theta of the block */
    size_t ntheta;
} pblock;

typedef struct pmap {
    pblock *b;
    size_t nb, cap, ntheta;
} pmap;

static int add_block(pmap *pm, tr_kind kind, double *p, double *se, size_t n, const unsigned char *allow)
{
    if (pm->nb == pm->cap) {
        size_t cap = pm->cap ? 2 * pm->cap : 16;
        pblock *nbk = realloc(pm->b, cap * sizeof *nbk);
        if (!nbk)
            return -1;
        pm->b = nbk;
        pm->cap = cap;
    }
    pblock *b = &pm->b[pm->nb++];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->p = p;
    b->se = se;
    b->n = n;
    b->allow = allow;
    return 0;
}

static void pmap_free(pmap *pm)
{
    for (size_t i = 0; i < pm->nb; i++)
        free(pm->b[i].free_);
    free(pm->b);
}

/* every entry of an array, one block per entry-wise transform */
#define ADD(kind, field, n)                                                                  \
    do {                                                                                     \
        if ((n) > 0 && add_block(pm, kind, m->field, se->field, (n), NULL) < 0)              \
            return -1;                                                                       \
    } while (0)

/* The blocks of m's free parameters (se: a copy whose arrays get the SEs). */
static int build_map(pmap *pm, st_hmm *m, st_hmm *se, const st_hmm_fit_opts *o)
{
    size_t K = m->K, D = m->D, Dy = st_hmm_dy(m);
    if (!m->start_stationary && !o->fix_start)
        if (add_block(pm, TR_SIMPLEX, m->start, se->start, K, NULL) < 0)
            return -1;
    if (!o->fix_trans)
        for (size_t i = 0; i < K; i++)
            if (!(m->dur && st_hmm_absorbing(m, i)))
                if (add_block(pm, TR_SIMPLEX, m->trans + i * K, se->trans + i * K, K, m->mask + i * K) < 0)
                    return -1;
    if (m->dur && !o->fix_dur) {
        for (size_t k = 0; k < K; k++) {
            if (st_hmm_absorbing(m, k))
                continue;
            size_t Dm = m->dmax, sh = m->dshift;
            if (m->dur == ST_HMM_DUR_NONPAR) {
                if (add_block(pm, TR_SIMPLEX, m->dprob + k * Dm + sh - 1, se->dprob + k * Dm + sh - 1, Dm - sh + 1,
                              NULL) < 0)
                    return -1;
            } else {
                if (add_block(pm, TR_LOG, m->dpar + 2 * k, se->dpar + 2 * k, 1, NULL) < 0)
                    return -1;
                if (m->dur == ST_HMM_DUR_NEGBIN &&
                    add_block(pm, TR_LOGIT, m->dpar + 2 * k + 1, se->dpar + 2 * k + 1, 1, NULL) < 0)
                    return -1;
            }
        }
    }
    if (o->fix_emis)
        return 0;
    switch (m->family) {
    case ST_HMM_CATEGORICAL:
        for (size_t c = 0; c < D; c++)
            for (size_t k = 0; k < K; k++) {
                size_t at = m->symoff[c] + k * m->nsym[c];
                if (add_block(pm, TR_SIMPLEX, m->prob + at, se->prob + at, m->nsym[c], NULL) < 0)
                    return -1;
            }
        break;
    case ST_HMM_POISSON:
        ADD(TR_LOG, rate, K * D);
        break;
    case ST_HMM_BERNOULLI:
        ADD(TR_LOGIT, bern, K * D);
        break;
    case ST_HMM_MULTINOMIAL:
        for (size_t k = 0; k < K; k++)
            if (add_block(pm, TR_SIMPLEX, m->mprob + k * D, se->mprob + k * D, D, NULL) < 0)
                return -1;
        break;
    case ST_HMM_GAMMA:
        ADD(TR_LOG, shape, K * D);
        ADD(TR_LOG, scale, K * D);
        break;
    case ST_HMM_GMM:
        for (size_t k = 0; k < K; k++)
            if (add_block(pm, TR_SIMPLEX, m->weight + k * m->ncomp, se->weight + k * m->ncomp, m->ncomp, NULL) < 0)
                return -1;
        /* fall through */
    case ST_HMM_GAUSSIAN:
    case ST_HMM_AR:
    case ST_HMM_LOGNORMAL:
    case ST_HMM_REGRESSION: {
        ADD(TR_IDENT, mean, st_hmm_mean_len(m));
        ADD(TR_IDENT, ar, st_hmm_ar_len(m));
        size_t nv = st_hmm_var_len(m);
        if (m->cov == ST_HMM_COV_DIAG || m->cov == ST_HMM_COV_SPHERICAL) {
            ADD(TR_LOG, var, nv);
        } else {
            size_t Dc = m->family == ST_HMM_GAUSSIAN ? D : Dy;
            for (size_t i = 0; i < nv / (Dc * Dc); i++)
                if (add_block(pm, TR_COV, m->var + i * Dc * Dc, se->var + i * Dc * Dc, Dc, NULL) < 0)
                    return -1;
        }
        break;
    }
    }
    return 0;
}

/* Fix the simplex blocks' free entries and references; count theta. */
static int layout(pmap *pm)
{
    size_t off = 0;
    for (size_t i = 0; i < pm->nb; i++) {
        pblock *b = &pm->b[i];
        b->off = off;
        switch (b->kind) {
        case TR_IDENT:
        case TR_LOG:
        case TR_LOGIT:
            b->ntheta = b->n;
            break;
        case TR_COV:
            b->ntheta = b->n * (b->n + 1) / 2;
            break;
        case TR_SIMPLEX: {
            if (!(b->free_ = calloc(b->n, 1)))
                return -1;
            b->nfree = 0;
            b->mass = 0;
            size_t ref = SIZE_MAX;
            for (size_t j = 0; j < b->n; j++)
                if ((!b->allow || b->allow[j]) && b->p[j] > ST_HMM_SE_PMIN) {
                    b->free_[j] = 1;
                    b->nfree++;
                    b->mass += b->p[j];
                    if (ref == SIZE_MAX || b->p[j] > b->p[ref])
                        ref = j;
                }
            b->ref = ref;
            b->ntheta = b->nfree ? b->nfree - 1 : 0;
            break;
        }
        }
        off += b->ntheta;
    }
    pm->ntheta = off;
    return 0;
}

static void pack(const pmap *pm, double *th)
{
    for (size_t i = 0; i < pm->nb; i++) {
        const pblock *b = &pm->b[i];
        double *t = th + b->off;
        switch (b->kind) {
        case TR_IDENT:
            memcpy(t, b->p, b->n * sizeof *t);
            break;
        case TR_LOG:
            for (size_t j = 0; j < b->n; j++)
                t[j] = log(b->p[j]);
            break;
        case TR_LOGIT:
            for (size_t j = 0; j < b->n; j++)
                t[j] = log(b->p[j]) - log1p(-b->p[j]);
            break;
        case TR_SIMPLEX:
            for (size_t j = 0, q = 0; j < b->n; j++)
                if (b->free_[j] && j != b->ref)
                    t[q++] = log(b->p[j] / b->p[b->ref]);
            break;
        case TR_COV: {
            size_t n = b->n, q = 0;
            double L[64 * 64];
            memcpy(L, b->p, n * n * sizeof *L);
            st_err e;
            st_err_clear(&e);
            st_chol(L, n, 0, NULL, &e); /* the fitted covariance is positive definite */
            for (size_t a = 0; a < n; a++)
                for (size_t c = 0; c <= a; c++)
                    t[q++] = a == c ? log(L[a * n + a]) : L[a * n + c];
            break;
        }
        }
    }
}

/* theta -> the model's entries; 0 if a value is out of range */
static int unpack(const pmap *pm, const double *th)
{
    for (size_t i = 0; i < pm->nb; i++) {
        const pblock *b = &pm->b[i];
        const double *t = th + b->off;
        switch (b->kind) {
        case TR_IDENT:
            memcpy(b->p, t, b->n * sizeof *t);
            break;
        case TR_LOG:
            for (size_t j = 0; j < b->n; j++)
                b->p[j] = exp(t[j]);
            break;
        case TR_LOGIT:
            for (size_t j = 0; j < b->n; j++)
                b->p[j] = 1 / (1 + exp(-t[j]));
            break;
        case TR_SIMPLEX: {
            if (!b->nfree)
                break;
            double z = 1;
            for (size_t q = 0; q < b->ntheta; q++)
                z += exp(t[q]);
            double pr = b->mass / z;
            for (size_t j = 0, q = 0; j < b->n; j++)
                if (b->free_[j])
                    b->p[j] = j == b->ref ? pr : pr * exp(t[q++]);
            break;
        }
        case TR_COV: {
            size_t n = b->n, q = 0;
            double L[64 * 64];
            memset(L, 0, n * n * sizeof *L);
            for (size_t a = 0; a < n; a++)
                for (size_t c = 0; c <= a; c++)
                    L[a * n + c] = a == c ? exp(t[q++]) : t[q++];
            for (size_t a = 0; a < n; a++)
                for (size_t c = 0; c < n; c++) {
                    double s = 0;
                    for (size_t k = 0; k <= (a < c ? a : c); k++)
                        s += L[a * n + k] * L[c * n + k];
                    b->p[a * n + c] = s;
                }
            break;
        }
        }
    }
    for (size_t i = 0; i < pm->ntheta; i++)
        if (!isfinite(th[i]))
            return 0;
    return 1;
}

/* The whole data's log-likelihood, summed per E-step block and folded in
 * block order (collective on a share). */
static int total_loglik(st_hmm *m, const st_hmm_data *d, double *ll, double *out, st_err *e)
{
    size_t gn = d->gnseq ? d->gnseq : d->nseq, B, nblk = st_hmm_blocks(gn, &B), first = d->gnseq ? d->first : 0;
    double *part = calloc(nblk ? nblk : 1, sizeof *part);
    if (!part)
        return st_err_nomem(e, "log-likelihood");
    int rc = st_hmm_loglik(m, d, ll, NULL, e);
    if (d->gnseq)
        rc = st_mpi_agree_error(rc, 0, e);
    if (rc == ST_OK) {
        for (size_t s = 0; s < d->nseq; s++)
            part[(first + s) / B] += ll[s];
        rc = st_mpi_fold_blocks(part, nblk, 1, out, e);
    }
    free(part);
    return rc;
}

typedef struct lctx {
    pmap *pm;
    st_hmm *m;
    const st_hmm_data *d;
    double *ll;
    int bad;
} lctx;

/* -log L(theta); +Inf for a model that does not validate */
static double negll(const double *th, double *grad, void *vctx)
{
    lctx *c = vctx;
    (void)grad;
    double tot = INFINITY;
    st_err e;
    st_err_clear(&e);
    int ok = unpack(c->pm, th) && st_hmm_prepare(c->m, &e) == ST_OK;
    if (c->d->gnseq) /* every rank evaluates, or none */
        ok = st_mpi_agree(ok ? 0 : -1) == 0;
    if (!ok || total_loglik(c->m, c->d, c->ll, &tot, &e) < 0) {
        c->bad = 1;
        return INFINITY;
    }
    return -tot;
}

/* var(phi) on the diagonal of J V J^T for each block, V = H^-1 (n x n),
 * into the SE model's entries. */
static void delta(const pmap *pm, const double *V, size_t n)
{
    for (size_t i = 0; i < pm->nb; i++) {
        const pblock *b = &pm->b[i];
        const double *Vb = V + b->off * n + b->off;
        size_t nt = b->ntheta;
#define VB(a, c) Vb[(a) * n + (c)]
        switch (b->kind) {
        case TR_IDENT:
            for (size_t j = 0; j < b->n; j++)
                b->se[j] = sqrt(VB(j, j));
            break;
        case TR_LOG:
            for (size_t j = 0; j < b->n; j++)
                b->se[j] = b->p[j] * sqrt(VB(j, j));
            break;
        case TR_LOGIT:
            for (size_t j = 0; j < b->n; j++)
                b->se[j] = b->p[j] * (1 - b->p[j]) * sqrt(VB(j, j));
            break;
        case TR_SIMPLEX: {
            /* d p_j / d theta_q = p_j (delta_jq - p_q / mass), the reference
             * row without the delta */
            double g[1024], *gr = nt <= 1024 ? g : malloc(nt * sizeof *gr);
            size_t *qi = malloc(b->n * sizeof *qi);
            if (!gr || !qi) {
                for (size_t j = 0; j < b->n; j++)
                    b->se[j] = NAN;
                if (gr != g)
                    free(gr);
                free(qi);
                break;
            }
            for (size_t j = 0, q = 0; j < b->n; j++)
                qi[j] = b->free_[j] && j != b->ref ? q++ : SIZE_MAX;
            for (size_t j = 0; j < b->n; j++) {
                if (!b->free_[j]) {
                    b->se[j] = 0;
                    continue;
                }
                for (size_t q = 0, jj = 0; jj < b->n; jj++) {
                    if (qi[jj] == SIZE_MAX)
                        continue;
                    gr[q++] = b->p[j] * ((jj == j ? 1 : 0) - b->p[jj] / b->mass);
                }
                double v = 0;
                for (size_t a = 0; a < nt; a++)
                    for (size_t c = 0; c < nt; c++)
                        v += gr[a] * VB(a, c) * gr[c];
                b->se[j] = sqrt(v > 0 ? v : 0);
            }
            if (gr != g)
                free(gr);
            free(qi);
            break;
        }
        case TR_COV: {
            /* S_ab = sum_k L_ak L_bk; theta: log L_aa, L_ac (c < a) in row order */
            size_t D = b->n, q = 0;
            double L[64 * 64], *gr = malloc(nt * sizeof *gr);
            size_t *ra = malloc(2 * nt * sizeof *ra), *rc = ra ? ra + nt : NULL;
            if (!gr || !ra) {
                for (size_t j = 0; j < D * D; j++)
                    b->se[j] = NAN;
                free(gr);
                free(ra);
                break;
            }
            memcpy(L, b->p, D * D * sizeof *L);
            st_err e;
            st_err_clear(&e);
            st_chol(L, D, 0, NULL, &e);
            for (size_t a = 0; a < D; a++)
                for (size_t c = 0; c <= a; c++, q++) {
                    ra[q] = a;
                    rc[q] = c;
                }
            for (size_t a = 0; a < D; a++)
                for (size_t c = 0; c < D; c++) {
                    /* dS_ac / dL_xy = [a == x] L_cy + [c == x] L_ay, times L_xx for a diagonal */
                    for (size_t t = 0; t < nt; t++) {
                        size_t x = ra[t], y = rc[t];
                        double v = (a == x ? L[c * D + y] : 0) + (c == x ? L[a * D + y] : 0);
                        gr[t] = x == y ? v * L[x * D + x] : v;
                    }
                    double v = 0;
                    for (size_t s1 = 0; s1 < nt; s1++)
                        for (size_t s2 = 0; s2 < nt; s2++)
                            v += gr[s1] * VB(s1, s2) * gr[s2];
                    b->se[a * D + c] = sqrt(v > 0 ? v : 0);
                }
            free(gr);
            free(ra);
            break;
        }
        }
#undef VB
    }
}

/* A copy of m with every parameter array zeroed: the SEs go there. */
static int zero_copy(st_hmm **out, const st_hmm *m, st_err *e)
{
    int rc = st_hmm_copy(out, m, e);
    if (rc < 0)
        return rc;
    st_hmm *z = *out;
    size_t K = m->K;
    memset(z->start, 0, K * sizeof *z->start);
    memset(z->trans, 0, K * K * sizeof *z->trans);
#define ZERO(f, n)                                    \
    if (z->f)                                         \
        memset(z->f, 0, (n) * sizeof *z->f);
    ZERO(prob, st_hmm_cache_size(m));
    ZERO(rate, K * m->D);
    ZERO(bern, K * m->D);
    ZERO(mprob, K * m->D);
    ZERO(shape, K * m->D);
    ZERO(scale, K * m->D);
    ZERO(weight, K * m->ncomp);
    ZERO(mean, st_hmm_mean_len(m));
    ZERO(var, st_hmm_var_len(m));
    ZERO(ar, st_hmm_ar_len(m));
    ZERO(dprob, K * m->dmax);
    ZERO(dpar, 2 * K);
#undef ZERO
    return ST_OK;
}

int st_hmm_stderr(const st_hmm *fit, const st_hmm_data *d, const st_hmm_fit_opts *o, st_hmm **se_out, size_t *nfree,
                  double *decrement, st_err *e)
{
    *se_out = NULL;
    if (decrement)
        *decrement = NAN;
    st_hmm *m = NULL, *se = NULL;
    pmap pm = {0};
    double *th = NULL, *H = NULL, *ll = NULL;
    st_hmm_fit_opts dflt;
    if (!o) {
        st_hmm_fit_opts_init(&dflt);
        o = &dflt;
    }
    int rc = st_hmm_copy(&m, fit, e);
    if (rc == ST_OK)
        rc = zero_copy(&se, fit, e);
    if (rc == ST_OK && (build_map(&pm, m, se, o) < 0 || layout(&pm) < 0))
        rc = st_err_nomem(e, "standard errors");
    for (size_t i = 0; rc == ST_OK && i < pm.nb; i++)
        if (pm.b[i].kind == TR_COV && pm.b[i].n > 64)
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "standard errors of covariances need at most 64 dimensions");
    size_t n = pm.ntheta;
    if (nfree)
        *nfree = n;
    if (rc == ST_OK && n == 0)
        rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "no free parameters: nothing to give standard errors for");
    if (rc == ST_OK && (rc = st_hmm_check_memory(2.0 * (double)n * (double)n * sizeof(double), "the Hessian", e)) == ST_OK) {
        th = malloc(n * sizeof *th);
        H = malloc(n * n * sizeof *H);
        ll = malloc((d->nseq ? d->nseq : 1) * sizeof *ll);
        if (!th || !H || !ll)
            rc = st_err_nomem(e, "standard errors");
    }
    if (rc == ST_OK) {
        pack(&pm, th);
        lctx c = {&pm, m, d, ll, 0};
        double *gr = decrement ? malloc(n * sizeof *gr) : NULL;
        if (gr) /* the gradient, for the Newton decrement */
            st_optim_numgrad(negll, &c, th, n, gr);
        st_optim_numhess(negll, &c, th, n, H);
        unpack(&pm, th);
        st_hmm_prepare(m, e);
        int finite = !c.bad;
        for (size_t i = 0; i < n * n; i++)
            finite &= isfinite(H[i]);
        if (!finite) {
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                            "the log-likelihood is not finite near the estimates: no standard errors");
        } else {
            double *V = malloc(n * n * sizeof *V);
            if (!V) {
                rc = st_err_nomem(e, "standard errors");
            } else {
                st_err tmp;
                st_err_clear(&tmp);
                if (st_chol(H, n, 0, NULL, &tmp) < 0) {
                    rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                                    "the observed information is not positive definite (the fit is not at a maximum, or "
                                    "a parameter is not identified): no standard errors");
                } else {
                    st_chol_inverse(H, n, V);
                    delta(&pm, V, n);
                    if (gr) { /* g^T H^-1 g / 2: the log-likelihood still to gain */
                        double q = 0;
                        for (size_t i = 0; i < n; i++)
                            for (size_t j = 0; j < n; j++)
                                q += gr[i] * V[i * n + j] * gr[j];
                        *decrement = q / 2;
                    }
                }
                free(V);
            }
        }
        free(gr);
    }
    free(th);
    free(H);
    free(ll);
    pmap_free(&pm);
    st_hmm_free(m);
    if (rc < 0) {
        st_hmm_free(se);
        return rc;
    }
    se->fitted = 0;
    *se_out = se;
    return ST_OK;
}

/* ------------------------------------------------------------ bootstrap */

typedef struct varr {
    double *p;
    size_t n;
} varr;

/* Every parameter array of m, in a fixed order (the same for any model
 * of the same shape). */
static size_t value_arrays(st_hmm *m, varr *a)
{
    size_t K = m->K, D = m->D, n = 0;
    a[n++] = (varr){m->start, K};
    a[n++] = (varr){m->trans, K * K};
    if (m->dur)
        a[n++] = m->dur == ST_HMM_DUR_NONPAR ? (varr){m->dprob, K * m->dmax} : (varr){m->dpar, 2 * K};
    if (m->prob)
        a[n++] = (varr){m->prob, st_hmm_cache_size(m)};
    if (m->rate)
        a[n++] = (varr){m->rate, K * D};
    if (m->bern)
        a[n++] = (varr){m->bern, K * D};
    if (m->mprob)
        a[n++] = (varr){m->mprob, K * D};
    if (m->shape) {
        a[n++] = (varr){m->shape, K * D};
        a[n++] = (varr){m->scale, K * D};
    }
    if (m->weight)
        a[n++] = (varr){m->weight, K * m->ncomp};
    if (m->mean) {
        a[n++] = (varr){m->mean, st_hmm_mean_len(m)};
        a[n++] = (varr){m->var, st_hmm_var_len(m)};
    }
    if (m->ar)
        a[n++] = (varr){m->ar, st_hmm_ar_len(m)};
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* quantile q of sorted v[0..n-1], linear between order statistics */
static double quantile(const double *v, size_t n, double q)
{
    double h = q * (double)(n - 1);
    size_t i = (size_t)h;
    if (i + 1 >= n)
        return v[n - 1];
    return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

/* A synthetic copy of d drawn from m: the same sequences, lengths and share
 * layout; sequence s of the whole data from stream s of seed. */
static int synth(st_hmm_data **out, const st_hmm *m, const st_hmm_data *d, uint64_t seed, st_err *e)
{
    size_t *len = malloc((d->nseq ? d->nseq : 1) * sizeof *len), Tmax = st_hmm_data_maxlen(d);
    int *st = malloc((Tmax ? Tmax : 1) * sizeof *st);
    int rc = len && st ? ST_OK : st_err_nomem(e, "bootstrap data");
    for (size_t s = 0; rc == ST_OK && s < d->nseq; s++)
        len[s] = d->off[s + 1] - d->off[s];
    st_hmm_data *b = NULL;
    if (rc == ST_OK)
        rc = st_hmm_data_new(&b, d->nseq, len, d->D, d->x, e); /* covariates come along */
    for (size_t s = 0; rc == ST_OK && s < d->nseq; s++) {
        st_rng g;
        st_rng_stream(&g, seed, (uint64_t)(d->first + s));
        rc = st_hmm_sample_next(m, &g, 1, len[s], st, b->x + b->off[s] * d->D, e);
    }
    free(len);
    free(st);
    if (rc == ST_OK) {
        b->first = d->first;
        b->row0 = d->row0;
        b->gnseq = d->gnseq;
        b->gtotal = d->gtotal;
        for (size_t j = 0; j < d->D; j++) {
            free(b->names[j]);
            if (!(b->names[j] = strdup(d->names && d->names[j] ? d->names[j] : "x")))
                rc = st_err_nomem(e, "bootstrap data");
        }
    }
    if (rc == ST_OK)
        rc = st_hmm_data_figures(b, e);
    if (rc < 0) {
        st_hmm_data_free(b);
        return rc;
    }
    *out = b;
    return ST_OK;
}

int st_hmm_bootstrap(const st_hmm *fit, const st_hmm_data *d, const st_hmm_fit_opts *o, long B, double level,
                     uint64_t seed, st_hmm **lo_out, st_hmm **hi_out, st_err *e)
{
    *lo_out = *hi_out = NULL;
    if (B < 2 || !(level > 0 && level < 1))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the bootstrap needs at least 2 replicates and a level in (0, 1)");
    if (fit->family == ST_HMM_MULTINOMIAL && fit->trials < 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a multinomial model without 'trials' cannot be resampled");
    st_hmm *lo = NULL, *hi = NULL, *m = NULL;
    int rc = st_hmm_copy(&lo, fit, e);
    if (rc == ST_OK)
        rc = st_hmm_copy(&hi, fit, e);
    if (rc == ST_OK)
        rc = st_hmm_copy(&m, fit, e);
    varr a[16], alo[16], ahi[16];
    size_t na = rc == ST_OK ? value_arrays(m, a) : 0, P = 0;
    if (rc == ST_OK) {
        value_arrays(lo, alo);
        value_arrays(hi, ahi);
        rc = st_hmm_prepare(m, e);
    }
    for (size_t i = 0; i < na; i++)
        P += a[i].n;
    double *vals = NULL, *col = NULL;
    if (rc == ST_OK && (rc = st_hmm_check_memory((double)B * (double)P * sizeof(double), "the bootstrap values", e)) == ST_OK &&
        (!(vals = malloc((size_t)B * P * sizeof *vals)) || !(col = malloc((size_t)B * sizeof *col))))
        rc = st_err_nomem(e, "bootstrap");
    st_hmm_fit_opts oo = o ? *o : (st_hmm_fit_opts){0};
    if (!o)
        st_hmm_fit_opts_init(&oo);
    oo.init = m;
    oo.starts = NULL;
    oo.restarts = 1;
    oo.progress = NULL;
    long ok = 0;
    for (long b = 0; rc == ST_OK && b < B; b++) {
        st_hmm_data *bd = NULL;
        st_hmm *f = NULL;
        if ((rc = synth(&bd, m, d, st_hmm_path_seed(seed, (size_t)b), e)) < 0)
            break;
        int frc = st_hmm_fit(&f, bd, &oo, e);
        st_hmm_data_free(bd);
        if (frc == ST_ENOMEM || frc == ST_EINTERNAL) {
            rc = frc;
            break;
        }
        if (frc < 0) /* a replicate EM cannot fit (e.g. a state left empty): left out */
            continue;
        varr fa[16];
        value_arrays(f, fa);
        double *row = vals + (size_t)ok * P;
        for (size_t i = 0; i < na; i++, row += fa[i - 1].n)
            memcpy(row, fa[i].p, fa[i].n * sizeof *row);
        st_hmm_free(f);
        ok++;
    }
    if (rc == ST_OK && ok < 2)
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "only %ld of %ld bootstrap refits succeeded", ok, B);
    if (rc == ST_OK) {
        double q0 = (1 - level) / 2;
        size_t j = 0;
        for (size_t i = 0; i < na; i++)
            for (size_t k = 0; k < a[i].n; k++, j++) {
                for (long b = 0; b < ok; b++)
                    col[b] = vals[(size_t)b * P + j];
                qsort(col, (size_t)ok, sizeof *col, cmp_double);
                alo[i].p[k] = quantile(col, (size_t)ok, q0);
                ahi[i].p[k] = quantile(col, (size_t)ok, 1 - q0);
            }
        lo->fitted = hi->fitted = 0;
        lo->nboot = hi->nboot = ok;
    }
    free(vals);
    free(col);
    st_hmm_free(m);
    if (rc < 0) {
        st_hmm_free(lo);
        st_hmm_free(hi);
        return rc;
    }
    *lo_out = lo;
    *hi_out = hi;
    return ST_OK;
}

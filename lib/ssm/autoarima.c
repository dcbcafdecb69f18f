/* forecast::auto.arima's choice of orders (see arima.h): the differencing
 * tests, then R's stepwise search (or the exhaustive one), model by model
 * as forecast's myarima fits and judges them. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/arima.h"
#include "core/linalg.h"
#include "ssm/unitroot.h"

void st_arima_auto_defaults(st_arima_auto_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_p = 5, o->max_q = 5, o->max_P = 2, o->max_Q = 2, o->max_order = 5;
    o->max_d = 2, o->max_D = 1;
    o->start_p = 2, o->start_q = 2, o->start_P = 1, o->start_Q = 1;
    o->d = -1, o->D = -1;
    o->stepwise = 1;
    o->approximation = -1;
    o->allowdrift = 1, o->allowmean = 1;
    o->nmodels = 94;
}

typedef struct search {
    const double *y, *x;
    size_t n, nreg;
    int m, d, D;
    int approximation;
    double offset;
    int use_aic; /* too short for AICc: AIC */
    int nfitted;
} search;

/* One model as forecast's myarima fits it; ic INFINITY when it fails or
 * the checks reject it.  f is filled (and must be freed) when *ic is
 * finite, else left empty. */
static double myarima(search *S, int p, int q, int P, int Q, int constant, int approx,
                      double best_ic, st_arima_fit *f)
{
    memset(f, 0, sizeof *f);
    st_arima_spec sp = {p, S->d, q, P, S->D, Q, S->m, 0, 0, S->nreg};
    if (P + S->D + Q == 0)
        sp.s = 1;
    int diffs = S->d + S->D;
    if (diffs == 1 && constant)
        sp.drift = 1;
    else
        sp.mean = constant;
    st_err e;
    S->nfitted++;
    if (st_arima_estimate(&sp, S->y, S->x, S->n, approx ? ST_ARIMA_CSS : ST_ARIMA_CSS_ML, 0, f, &e) < 0) {
        memset(f, 0, sizeof *f);
        return INFINITY;
    }
    double ic;
    if (approx) {
        double k = (double)f->npar, ns = (double)f->nstar;
        f->aic = S->offset + ns * log(f->sigma2_ml) + 2 * k;
        f->bic = f->aic + k * (log(ns) - 2);
        f->aicc = ns - k - 1 > 0 ? f->aic + 2 * k * (k + 1) / (ns - k - 1) : INFINITY;
    }
    ic = S->use_aic ? f->aic : f->aicc;
    if (!isfinite(ic) && !(ic < 0))
        ic = INFINITY;
    if (f->minroot < 1.01 || isnan(ic))
        ic = INFINITY;
    /* checkarima's Hessian only where it can matter: a model that would
     * become the best (the others' criterion is never used) */
    if (ic < best_ic && (st_arima_variance(f, S->y, S->x, S->n, &e) < 0 || !f->var_ok))
        ic = INFINITY;
    if (ic == INFINITY) {
        st_arima_fit_free(f);
        memset(f, 0, sizeof *f);
    }
    return ic;
}

typedef struct tried {
    int p, q, P, Q, c;
    double ic;
} tried;

static int is_new(const tried *t, int k, int p, int q, int P, int Q, int c)
{
    for (int i = 0; i < k; i++)
        if (t[i].p == p && t[i].q == q && t[i].P == P && t[i].Q == Q && t[i].c == c)
            return 0;
    return 1;
}

static void keep(st_arima_fit *best, double *best_ic, st_arima_fit *f, double ic)
{
    if (ic < *best_ic) {
        st_arima_fit_free(best);
        *best = *f;
        *best_ic = ic;
    } else
        st_arima_fit_free(f);
    memset(f, 0, sizeof *f);
}

/* columns of x (n x nreg) that are not constant */
static size_t varying_columns(const double *x, size_t n, size_t nreg, size_t lag, size_t ndiff,
                              int *keepcol)
{
    size_t nk = 0;
    double *col = malloc((n ? n : 1) * sizeof *col);
    for (size_t j = 0; j < nreg; j++) {
        keepcol[j] = 0;
        if (!col)
            continue;
        size_t m = n;
        for (size_t t = 0; t < n; t++)
            col[t] = x[t * nreg + j];
        for (size_t k = 0; k < ndiff && m > lag; k++) {
            for (size_t t = 0; t + lag < m; t++)
                col[t] = col[t + lag] - col[t];
            m -= lag;
        }
        keepcol[j] = m > 0 && !st_ur_is_constant(col, m);
        nk += (size_t)keepcol[j];
    }
    free(col);
    return nk;
}

/* xx: y less its least-squares fit on an intercept and the varying
 * regressors (auto.arima tests those residuals) */
static void regression_residuals(const double *y, const double *x, size_t n, size_t nreg,
                                 const int *keepcol, double *xx)
{
    memcpy(xx, y, n * sizeof *xx);
    size_t k = 1;
    for (size_t j = 0; j < nreg; j++)
        k += (size_t)keepcol[j];
    if (k == 1)
        return;
    double *G = calloc(k * k, sizeof *G), *b = calloc(k, sizeof *b), *row = malloc(k * sizeof *row);
    st_err e;
    if (!G || !b || !row)
        goto out;
    for (size_t t = 0; t < n; t++) {
        if (isnan(y[t]))
            continue;
        size_t c = 0;
        row[c++] = 1;
        for (size_t j = 0; j < nreg; j++)
            if (keepcol[j])
                row[c++] = x[t * nreg + j];
        for (size_t i = 0; i < k; i++) {
            b[i] += row[i] * y[t];
            for (size_t l = 0; l < k; l++)
                G[i * k + l] += row[i] * row[l];
        }
    }
    if (st_lu_solve(G, k, b, 1, &e) < 0)
        goto out;
    for (size_t t = 0; t < n; t++) {
        if (isnan(y[t]))
            continue;
        size_t c = 0;
        double f = b[c++];
        for (size_t j = 0; j < nreg; j++)
            if (keepcol[j])
                f += b[c++] * x[t * nreg + j];
        xx[t] = y[t] - f;
    }
out:
    free(G);
    free(b);
    free(row);
}

/* diff at lag, ndiff times, in place; returns the new length */
static size_t difference(double *v, size_t m, size_t lag, int ndiff)
{
    for (int k = 0; k < ndiff; k++) {
        if (m <= lag)
            return 0;
        for (size_t t = 0; t + lag < m; t++)
            v[t] = v[t + lag] - v[t];
        m -= lag;
    }
    return m;
}

static int all_nan(const double *v, size_t m)
{
    for (size_t t = 0; t < m; t++)
        if (!isnan(v[t]))
            return 0;
    return 1;
}

/* The stepwise search of auto.arima, move by move in R's order. */
static int stepwise(search *S, const st_arima_auto_opts *o, int max_p, int max_q, int max_P,
                    int max_Q, int constant, int allow_const, st_arima_fit *best, double *best_ic,
                    tried *res, int *nres)
{
    int m = S->m, nmodels = o->nmodels;
    int sp = o->start_p, sq = o->start_q, sP = o->start_P, sQ = o->start_Q;
    if (S->n < 10) {
        sp = sp < 1 ? sp : 1;
        sq = sq < 1 ? sq : 1;
        sP = sQ = 0;
    }
    int p = sp < max_p ? sp : max_p, q = sq < max_q ? sq : max_q;
    int P = sP < max_P ? sP : max_P, Q = sQ < max_Q ? sQ : max_Q;
    st_arima_fit f;
    int k = 0;
    double ic;
#define TRY(pp, qq, PP, QQ, cc) \
    (ic = myarima(S, (pp), (qq), (PP), (QQ), (cc), S->approximation, *best_ic, &f), \
     res[k++] = (tried){(pp), (qq), (PP), (QQ), (cc), ic}, ic)
    (void)TRY(p, q, P, Q, constant);
    keep(best, best_ic, &f, ic);
    if (TRY(0, 0, 0, 0, constant) < *best_ic)
        p = q = P = Q = 0;
    keep(best, best_ic, &f, ic);
    if (max_p > 0 || max_P > 0) {
        int a = max_p > 0, b = m > 1 && max_P > 0;
        if (TRY(a, 0, b, 0, constant) < *best_ic)
            p = a, P = b, q = Q = 0;
        keep(best, best_ic, &f, ic);
    }
    if (max_q > 0 || max_Q > 0) {
        int a = max_q > 0, b = m > 1 && max_Q > 0;
        if (TRY(0, a, 0, b, constant) < *best_ic)
            p = P = 0, Q = b, q = a;
        keep(best, best_ic, &f, ic);
    }
    if (constant) {
        if (TRY(0, 0, 0, 0, 0) < *best_ic)
            p = q = P = Q = 0, constant = 0;
        keep(best, best_ic, &f, ic);
    }
    /* neighbours: (dp, dq, dP, dQ) in R's order, then the constant */
    static const int moves[16][4] = {
        {0, 0, -1, 0}, {0, 0, 0, -1}, {0, 0, 1, 0}, {0, 0, 0, 1},
        {0, 0, -1, -1}, {0, 0, -1, 1}, {0, 0, 1, -1}, {0, 0, 1, 1},
        {-1, 0, 0, 0}, {0, -1, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0},
        {-1, -1, 0, 0}, {-1, 1, 0, 0}, {1, -1, 0, 0}, {1, 1, 0, 0}};
    int startk = 0;
    while (startk < k && k < nmodels) {
        startk = k;
        int moved = 0;
        for (int i = 0; i < 16 && !moved; i++) {
            int np_ = p + moves[i][0], nq_ = q + moves[i][1], nP = P + moves[i][2], nQ = Q + moves[i][3];
            if (np_ < 0 || nq_ < 0 || nP < 0 || nQ < 0 || np_ > max_p || nq_ > max_q || nP > max_P || nQ > max_Q)
                continue;
            if (!is_new(res, k, np_, nq_, nP, nQ, constant))
                continue;
            if (k + 1 > nmodels) {
                k++;
                moved = 1; /* R: stop at the model limit */
                break;
            }
            if (TRY(np_, nq_, nP, nQ, constant) < *best_ic) {
                p = np_, q = nq_, P = nP, Q = nQ;
                moved = 1;
            }
            keep(best, best_ic, &f, ic);
        }
        if (moved || !allow_const)
            continue;
        if (is_new(res, k, p, q, P, Q, !constant)) {
            if (k + 1 > nmodels) {
                k++;
                continue;
            }
            if (TRY(p, q, P, Q, !constant) < *best_ic)
                constant = !constant;
            keep(best, best_ic, &f, ic);
        }
    }
#undef TRY
    if (k > nmodels)
        k = nmodels;
    *nres = k;
    return 0;
}

static int cmp_tried(const void *a, const void *b)
{
    const tried *x = a, *y = b;
    /* R's order(): ascending, ties by position (kept in c's upper bits) */
    if (x->ic != y->ic)
        return (x->ic > y->ic) - (x->ic < y->ic);
    return (x->c >> 1) - (y->c >> 1);
}

int st_arima_auto(const double *y, const double *x, size_t n, size_t nreg, int period,
                  const st_arima_auto_opts *o, st_arima_fit *best, st_arima_auto_info *info,
                  st_err *e)
{
    st_arima_auto_opts def;
    if (!o) {
        st_arima_auto_defaults(&def);
        o = &def;
    }
    memset(best, 0, sizeof *best);
    st_arima_auto_info inf = {0};
    size_t first = 0, last = n;
    while (first < n && isnan(y[first]))
        first++;
    while (last > first && isnan(y[last - 1]))
        last--;
    if (first == n)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "all data are missing");
    inf.first = first;
    const double *y0 = y + first, *x0 = x ? x + first * nreg : NULL;
    size_t n0 = n - first, len = 0;
    for (size_t t = first; t < last; t++)
        len += !isnan(y[t]);
    int m = period < 1 ? 1 : period;
    int rc = 0;
    double *xx = malloc(n0 * sizeof *xx), *dx = malloc(n0 * sizeof *dx);
    int *keepcol = calloc(nreg + 1, sizeof *keepcol);
    tried *res = calloc((size_t)(o->nmodels > 0 ? o->nmodels : 1) + 2, sizeof *res);
    if (!xx || !dx || !keepcol || !res) {
        rc = st_err_nomem(e, "auto.arima");
        goto out;
    }
    search S = {y0, x0, n0, nreg, m, 0, 0, 0, 0, len <= 3, 0};
    /* a constant series: its mean (or zero) */
    if (st_ur_is_constant(y0, n0)) {
        st_arima_spec sp = {0, 0, 0, 0, 0, 0, 1, o->allowmean, 0, 0};
        double mean = 0;
        for (size_t t = 0; t < n0; t++)
            if (!isnan(y0[t]))
                mean += y0[t];
        mean /= (double)len;
        rc = st_arima_evaluate(&sp, &mean, y0, NULL, n0, best, e);
        goto done;
    }
    int max_p = o->max_p, max_q = o->max_q, max_P = o->max_P, max_Q = o->max_Q;
    int cap = (int)(len / 3);
    max_p = max_p < cap ? max_p : cap;
    max_q = max_q < cap ? max_q : cap;
    cap = (int)(len / 3 / (size_t)m);
    max_P = max_P < cap ? max_P : cap;
    max_Q = max_Q < cap ? max_Q : cap;
    /* the series the tests see */
    int has_xreg = 0;
    if (nreg) {
        size_t nk = varying_columns(x0, n0, nreg, 1, 0, keepcol);
        has_xreg = nk > 0;
        if (has_xreg)
            regression_residuals(y0, x0, n0, nreg, keepcol, xx);
        else
            memcpy(xx, y0, n0 * sizeof *xx);
    } else
        memcpy(xx, y0, n0 * sizeof *xx);
    int D = o->D, d = o->d;
    if (m == 1) {
        D = 0;
        max_P = max_Q = 0;
    } else if (D < 0 && n0 <= 2 * (size_t)m)
        D = 0;
    else if (D < 0) {
        D = st_ur_nsdiffs(xx, n0, m, o->max_D);
        if (D > 0 && has_xreg) {
            int kc[ST_ARIMA_MAXREG + 1];
            size_t nk = varying_columns(x0, n0, nreg, (size_t)m, (size_t)D, kc);
            size_t nk0 = 0;
            for (size_t j = 0; j < nreg; j++)
                nk0 += (size_t)keepcol[j];
            if (nk < nk0)
                D--;
        }
        if (D > 0) {
            memcpy(dx, xx, n0 * sizeof *dx);
            size_t md = difference(dx, n0, (size_t)m, D);
            if (all_nan(dx, md))
                D--;
        }
    }
    memcpy(dx, xx, n0 * sizeof *dx);
    size_t md = difference(dx, n0, (size_t)m, D);
    if (d < 0) {
        d = st_ur_ndiffs(dx, md, 0.05, o->max_d);
        if (d > 0 && has_xreg) {
            int kc[ST_ARIMA_MAXREG + 1];
            double *xd = malloc(n0 * nreg * sizeof *xd);
            if (xd) {
                /* regressors differenced D times at lag m, then d times */
                memcpy(xd, x0, n0 * nreg * sizeof *xd);
                size_t mm = n0;
                for (int k = 0; k < D && mm > (size_t)m; k++) {
                    for (size_t t = 0; t + (size_t)m < mm; t++)
                        for (size_t j = 0; j < nreg; j++)
                            xd[t * nreg + j] = xd[(t + (size_t)m) * nreg + j] - xd[t * nreg + j];
                    mm -= (size_t)m;
                }
                size_t nk = varying_columns(xd, mm, nreg, 1, (size_t)d, kc), nk0 = 0;
                for (size_t j = 0; j < nreg; j++)
                    nk0 += (size_t)keepcol[j];
                free(xd);
                if (nk < nk0)
                    d--;
            }
        }
        if (d > 0) {
            double *tmp = malloc((md ? md : 1) * sizeof *tmp);
            if (tmp) {
                memcpy(tmp, dx, md * sizeof *tmp);
                size_t mt = difference(tmp, md, 1, d);
                if (all_nan(tmp, mt))
                    d--;
                free(tmp);
            }
        }
    }
    md = difference(dx, md, 1, d);
    inf.d = d;
    inf.D = D;
    S.d = d;
    S.D = D;
    if (md == 0) {
        rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "not enough data for auto.arima (%zu points after differencing)", md);
        goto out;
    }
    if (st_ur_is_constant(dx, md)) {
        /* auto.arima's fits of a polynomial */
        st_arima_spec sp = {0, d, 0, 0, D, 0, D ? m : 1, 0, 0, nreg};
        double mean = 0, coef[ST_ARIMA_MAXCOEF] = {0};
        size_t cnt = 0;
        for (size_t t = 0; t < md; t++)
            if (!isnan(dx[t]))
                mean += dx[t], cnt++;
        mean /= (double)(cnt ? cnt : 1);
        if (nreg)
            rc = st_arima_estimate(&sp, y0, x0, n0, ST_ARIMA_CSS_ML, 0, best, e);
        else if (D > 0 && d == 0) {
            sp.drift = 1;
            coef[0] = mean / m;
            rc = st_arima_evaluate(&sp, coef, y0, NULL, n0, best, e);
        } else if (D > 0 || d == 2)
            rc = st_arima_evaluate(&sp, coef, y0, NULL, n0, best, e);
        else {
            if (d == 0)
                sp.mean = 1;
            else
                sp.drift = 1;
            coef[0] = mean;
            rc = st_arima_evaluate(&sp, coef, y0, NULL, n0, best, e);
        }
        goto done;
    }
    if (m > 1) {
        if (max_P > 0 && max_p > m - 1)
            max_p = m - 1;
        if (max_Q > 0 && max_q > m - 1)
            max_q = m - 1;
    }
    S.approximation = o->approximation >= 0 ? o->approximation : (n0 > 150 || m > 12);
    inf.approximation = S.approximation;
    if (S.approximation) {
        /* R: stats::arima (include.mean = TRUE) of (0,d,0)(0,D,0) */
        st_arima_spec sp = {0, d, 0, 0, D, 0, D ? m : 1, 1, 0, nreg};
        st_arima_fit f0;
        st_err e0;
        if (st_arima_estimate(&sp, y0, x0, n0, ST_ARIMA_CSS_ML, 0, &f0, &e0) == 0) {
            S.offset = -2 * f0.loglik - (double)len * log(f0.sigma2_ml);
            st_arima_fit_free(&f0);
        }
    }
    int allowdrift = o->allowdrift && d + D == 1, allowmean = o->allowmean && d + D == 0;
    int constant = allowdrift || allowmean;
    double best_ic = INFINITY;
    int nres = 0;
    if (o->stepwise) {
        stepwise(&S, o, max_p, max_q, max_P, max_Q, constant, allowdrift || allowmean, best, &best_ic, res, &nres);
    } else {
        /* every model with p + q + P + Q <= max_order */
        st_arima_fit f;
        for (int i = 0; i <= max_p; i++)
            for (int j = 0; j <= max_q; j++)
                for (int I = 0; I <= max_P; I++)
                    for (int J = 0; J <= max_Q; J++) {
                        if (i + j + I + J > o->max_order)
                            continue;
                        for (int K = 0; K <= constant; K++) {
                            double ic = myarima(&S, i, j, I, J, K, S.approximation, best_ic, &f);
                            if (nres < o->nmodels)
                                res[nres++] = (tried){i, j, I, J, K, ic};
                            keep(best, &best_ic, &f, ic);
                        }
                    }
    }
    if (S.approximation && best_ic < INFINITY) {
        /* refit the best models without the approximation, in order */
        for (int i = 0; i < nres; i++)
            res[i].c |= i << 1; /* keep the position for ties */
        qsort(res, (size_t)nres, sizeof *res, cmp_tried);
        st_arima_fit_free(best);
        memset(best, 0, sizeof *best);
        best_ic = INFINITY;
        for (int i = 0; i < nres; i++) {
            if (isnan(res[i].ic))
                continue;
            st_arima_fit f;
            double ic = myarima(&S, res[i].p, res[i].q, res[i].P, res[i].Q, res[i].c & 1, 0, INFINITY, &f);
            if (ic < INFINITY) {
                *best = f;
                best_ic = ic;
                break;
            }
        }
    }
    inf.nfitted = S.nfitted;
    if (best_ic == INFINITY) {
        st_arima_fit_free(best);
        memset(best, 0, sizeof *best);
        rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "no suitable ARIMA model found");
        goto out;
    }
done:
    if (info)
        *info = inf;
out:
    free(xx);
    free(dx);
    free(keepcol);
    free(res);
    return rc;
}

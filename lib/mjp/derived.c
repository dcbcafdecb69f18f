/* Derived quantities of an mjp model at covariate values (issue 16):
 * transition probabilities P(t), expected total length of stay, expected
 * first passage times, next-state probabilities, mean sojourn times and
 * the rates, with intervals by the delta method or by simulation from the
 * asymptotic normal distribution of the estimates (msm's ci = "normal").
 * Definitions follow msm (pmatrix.msm, totlos.msm, efpt.msm, pnext.msm,
 * sojourn.msm, qmatrix.msm), at fixed covariate values. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/rng.h"
#include "mjp/internal.h"

size_t st_mjp_derived_size(const st_mjp *m, int kind)
{
    return kind == ST_MJP_D_SOJOURN || kind == ST_MJP_D_EFPT ? m->K : m->K * m->K;
}

/* Closure of the transitions with a positive rate: reach[i K + j]. */
static void reach_of(const double *Q, size_t K, unsigned char *reach)
{
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            reach[i * K + j] = i == j || (Q[i * K + j] > 0);
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < K; i++)
            if (reach[i * K + k])
                for (size_t j = 0; j < K; j++)
                    if (reach[k * K + j])
                        reach[i * K + j] = 1;
}

static int totlos(const double *Q, size_t K, double T, double *v, st_err *e)
{
    size_t nt = 0;
    int idx[ST_MJP_MAX_STATES];
    for (size_t i = 0; i < K; i++)
        if (Q[i * K + i] < 0)
            idx[nt++] = (int)i;
    if (isinf(T)) {
        if (nt == K)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                              "no absorbing state: the length of stay needs a finite horizon");
        /* (-Q_TT)^-1 on the transient states; absorbing ones forever */
        double A[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES], B[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
        for (size_t a = 0; a < nt; a++)
            for (size_t b = 0; b < nt; b++) {
                A[a * nt + b] = -Q[(size_t)idx[a] * K + (size_t)idx[b]];
                B[a * nt + b] = a == b;
            }
        st_err le;
        if (st_lu_solve(A, nt, B, nt, &le) < 0)
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "transient states never reach an absorbing state");
        for (size_t i = 0; i < K * K; i++)
            v[i] = 0;
        for (size_t r = 0; r < K; r++)
            if (Q[r * K + r] >= 0)
                v[r * K + r] = INFINITY;
        for (size_t a = 0; a < nt; a++)
            for (size_t b = 0; b < nt; b++)
                v[(size_t)idx[a] * K + (size_t)idx[b]] = fmax(B[a * nt + b], 0); /* >= 0 but for rounding */
        unsigned char reach[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
        reach_of(Q, K, reach);
        for (size_t a = 0; a < nt; a++)
            for (size_t s = 0; s < K; s++)
                if (Q[s * K + s] >= 0)
                    v[(size_t)idx[a] * K + s] = reach[(size_t)idx[a] * K + s] ? INFINITY : 0;
        return 0;
    }
    /* int_0^T exp(Q u) du: the upper-right block of exp([[Q, I], [0, 0]] T) */
    size_t n2 = 2 * K;
    double *A = calloc(2 * n2 * n2, sizeof *A);
    if (!A)
        return st_err_nomem(e, "length of stay");
    double *X = A + n2 * n2;
    for (size_t i = 0; i < K; i++) {
        for (size_t j = 0; j < K; j++)
            A[i * n2 + j] = Q[i * K + j] * T;
        A[i * n2 + K + i] = T;
    }
    int rc = st_expm(A, n2, X, e);
    if (rc == 0)
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < K; j++)
                v[i * K + j] = fmax(X[i * n2 + K + j], 0);
    free(A);
    return rc;
}

static int efpt(const double *Q, size_t K, int target, double *v, st_err *e)
{
    /* the target made absorbing; a state that can reach another absorbing
     * state first has an infinite expected passage time (msm's efpt.msm) */
    double Qr[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    unsigned char reach[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    memcpy(Qr, Q, K * K * sizeof *Q);
    for (size_t j = 0; j < K; j++)
        Qr[(size_t)target * K + j] = 0;
    reach_of(Qr, K, reach);
    int idx[ST_MJP_MAX_STATES];
    size_t nf = 0;
    for (size_t r = 0; r < K; r++) {
        v[r] = NAN;
        if ((int)r == target) {
            v[r] = 0;
            continue;
        }
        int lost = 0;
        for (size_t s = 0; s < K; s++)
            if ((int)s != target && Qr[s * K + s] >= 0 && reach[r * K + s])
                lost = 1;
        if (lost)
            v[r] = INFINITY;
        else
            idx[nf++] = (int)r;
    }
    if (!nf)
        return 0;
    double A[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES], b[ST_MJP_MAX_STATES];
    for (size_t a = 0; a < nf; a++) {
        for (size_t c = 0; c < nf; c++)
            A[a * nf + c] = -Q[(size_t)idx[a] * K + (size_t)idx[c]];
        b[a] = 1;
    }
    st_err le;
    if (st_lu_solve(A, nf, b, 1, &le) < 0)
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "first passage times: singular system");
    for (size_t a = 0; a < nf; a++)
        v[idx[a]] = b[a];
    return 0;
}

int st_mjp_derived(const st_mjp *m, const st_mjp_dspec *s, double *v, st_err *e)
{
    size_t K = m->K;
    double Q[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    if (m->C)
        st_mjp_rates_at(m, s->z ? s->z : m->cmean, Q);
    else
        memcpy(Q, m->Q, K * K * sizeof *Q);
    switch (s->kind) {
    case ST_MJP_D_PMATRIX: {
        double A[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
        for (size_t i = 0; i < K * K; i++)
            A[i] = Q[i] * s->t;
        return st_expm(A, K, v, e);
    }
    case ST_MJP_D_TOTLOS:
        return totlos(Q, K, s->t, v, e);
    case ST_MJP_D_EFPT:
        if (s->state < 0 || (size_t)s->state >= K)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "first passage: no state %d", s->state);
        return efpt(Q, K, s->state, v, e);
    case ST_MJP_D_PNEXT:
        for (size_t r = 0; r < K; r++)
            for (size_t c = 0; c < K; c++)
                v[r * K + c] = Q[r * K + r] < 0 ? (r == c ? 0 : Q[r * K + c] / -Q[r * K + r]) : NAN;
        return 0;
    case ST_MJP_D_SOJOURN:
        for (size_t r = 0; r < K; r++)
            v[r] = Q[r * K + r] < 0 ? -1 / Q[r * K + r] : INFINITY;
        return 0;
    case ST_MJP_D_QMATRIX:
        memcpy(v, Q, K * K * sizeof *Q);
        return 0;
    default:
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "bug: derived quantity %d", s->kind);
    }
}

/* The scale on which an interval is symmetric: 1 log (positive), 2 logit
 * (probability), 3 log of minus (negative), 0 none (exact 0 or 1, or not
 * finite: no interval). */
static int scale_of(int kind, size_t K, size_t i, double v)
{
    if (!isfinite(v))
        return 0;
    switch (kind) {
    case ST_MJP_D_PMATRIX:
    case ST_MJP_D_PNEXT:
        return v > 0 && v < 1 ? 2 : 0;
    case ST_MJP_D_QMATRIX:
        if (i / K == i % K)
            return v < 0 ? 3 : 0;
        return v > 0 ? 1 : 0;
    default:
        return v > 0 ? 1 : 0;
    }
}

static double to_scale(int sc, double v)
{
    return sc == 1 ? log(v) : sc == 2 ? log(v / (1 - v)) : sc == 3 ? log(-v) : v;
}

static double from_scale(int sc, double g)
{
    return sc == 1 ? exp(g) : sc == 2 ? 1 / (1 + exp(-g)) : sc == 3 ? -exp(g) : g;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R's quantile type 7 of sorted v[0..n-1]. */
static double quantile7(const double *v, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

int st_mjp_derived_ci(const st_mjp *m, const st_mjp_fit *f, const st_mjp_dspec *s, const st_mjp_ci_opts *o,
                      double *est, double *se, double *lo, double *hi, st_err *e)
{
    size_t nv = st_mjp_derived_size(m, s->kind), n = f->nfree;
    int rc = st_mjp_derived(m, s, est, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < nv; i++) {
        se[i] = NAN;
        lo[i] = hi[i] = est[i];
    }
    if (o->method == ST_MJP_CI_NONE || n == 0)
        return 0;
    if (o->method == ST_MJP_CI_BOOT && !o->boot)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "bootstrap intervals need the refits (st_mjp_bootstrap)");
    if (!f->cov)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "intervals need the fit's standard errors (not --no-se)");
    for (size_t i = 0; i < n * n && o->method != ST_MJP_CI_BOOT; i++)
        if (!isfinite(f->cov[i]))
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                              "intervals need the covariance of the estimates, which is not available");
    double z = 1.959963984540054;
    if (o->level > 0 && o->level < 1) {
        /* inverse normal by bisection on erfc: enough for an interval level */
        double a = 0, b = 10;
        for (int it = 0; it < 200; it++) {
            double mid = (a + b) / 2;
            if (erfc(mid / sqrt(2)) > 1 - o->level)
                a = mid;
            else
                b = mid;
        }
        z = (a + b) / 2;
    }
    st_mjp *mm = NULL;
    double *th = malloc(n * sizeof *th), *th0 = malloc(n * sizeof *th0), *v1 = malloc(nv * sizeof *v1),
           *v2 = malloc(nv * sizeof *v2), *G = calloc(nv * n + n, sizeof *G), *L = NULL, *draws = NULL;
    int *sc = malloc(nv * sizeof *sc);
    if (!th || !th0 || !v1 || !v2 || !G || !sc) {
        rc = st_err_nomem(e, "intervals");
        goto out;
    }
    if ((rc = st_mjp_copy(&mm, m, e)) < 0)
        goto out;
    if (st_mjp_fit_get_theta(f, m, th0) < 0) {
        rc = st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "bug: the model does not match its fit");
        goto out;
    }
    for (size_t i = 0; i < nv; i++)
        sc[i] = scale_of(s->kind, m->K, i, est[i]);
    if (o->method == ST_MJP_CI_DELTA) {
        /* central differences of the transformed values in theta */
        for (size_t k = 0; k < n; k++) {
            double h = 1e-5 * fmax(1.0, fabs(th0[k]));
            memcpy(th, th0, n * sizeof *th);
            th[k] = th0[k] + h;
            int r1 = st_mjp_fit_set_theta(f, mm, th) < 0 ? -1 : st_mjp_derived(mm, s, v1, e);
            th[k] = th0[k] - h;
            int r2 = st_mjp_fit_set_theta(f, mm, th) < 0 ? -1 : st_mjp_derived(mm, s, v2, e);
            if (r1 < 0 || r2 < 0) {
                rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "delta method: the quantity fails near the estimates");
                goto out;
            }
            for (size_t i = 0; i < nv; i++)
                if (sc[i])
                    G[i * n + k] = (to_scale(sc[i], v1[i]) - to_scale(sc[i], v2[i])) / (2 * h);
        }
        for (size_t i = 0; i < nv; i++) {
            if (!sc[i])
                continue;
            double var = 0;
            for (size_t a = 0; a < n; a++)
                for (size_t b = 0; b < n; b++)
                    var += G[i * n + a] * f->cov[a * n + b] * G[i * n + b];
            double sd = sqrt(fmax(var, 0)), g = to_scale(sc[i], est[i]);
            lo[i] = from_scale(sc[i], g - z * sd);
            hi[i] = from_scale(sc[i], g + z * sd);
            if (sc[i] == 3) { /* -exp is decreasing */
                double t = lo[i];
                lo[i] = hi[i];
                hi[i] = t;
            }
            double dfdg = sc[i] == 1 ? est[i] : sc[i] == 2 ? est[i] * (1 - est[i]) : -est[i];
            se[i] = fabs(dfdg) * sd;
        }
        rc = 0;
        goto out;
    }
    /* simulation: theta* = theta + L xi, xi ~ N(0, I); or the bootstrap's refits */
    int boot = o->method == ST_MJP_CI_BOOT;
    size_t B = boot ? o->nboot : o->draws ? o->draws : 1000;
    L = malloc(n * n * sizeof *L);
    draws = malloc((B ? B : 1) * nv * sizeof *draws);
    if (!L || !draws) {
        rc = st_err_nomem(e, "intervals");
        goto out;
    }
    memcpy(L, f->cov, n * n * sizeof *L);
    st_err le;
    if (!boot && st_chol(L, n, 5, NULL, &le) < 0) {
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "the covariance of the estimates is not positive definite");
        goto out;
    }
    st_rng r;
    st_rng_seed(&r, o->seed);
    size_t ok = 0;
    double *x = G; /* n doubles of work */
    for (size_t b = 0; b < B; b++) {
        if (boot)
            memcpy(th, o->boot + b * n, n * sizeof *th);
        for (size_t k = 0; k < n && !boot; k++)
            x[k] = st_rng_normal(&r);
        for (size_t a = 0; a < n && !boot; a++) {
            double acc = th0[a];
            for (size_t k = 0; k <= a; k++)
                acc += L[a * n + k] * x[k];
            th[a] = acc;
        }
        st_err de;
        if (st_mjp_fit_set_theta(f, mm, th) < 0 || st_mjp_derived(mm, s, v1, &de) < 0)
            continue;
        int fin = 1;
        for (size_t i = 0; i < nv; i++)
            if (sc[i] && !isfinite(v1[i]))
                fin = 0;
        if (!fin)
            continue;
        memcpy(draws + ok * nv, v1, nv * sizeof *v1);
        ok++;
    }
    if (ok < 2) {
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "simulated intervals: fewer than 2 usable draws");
        goto out;
    }
    for (size_t i = 0; i < nv; i++) {
        if (!sc[i])
            continue;
        double mean = 0, ss = 0;
        for (size_t b = 0; b < ok; b++)
            mean += draws[b * nv + i];
        mean /= (double)ok;
        double *col = malloc(ok * sizeof *col);
        if (!col) {
            rc = st_err_nomem(e, "intervals");
            goto out;
        }
        for (size_t b = 0; b < ok; b++) {
            col[b] = draws[b * nv + i];
            ss += (col[b] - mean) * (col[b] - mean);
        }
        qsort(col, ok, sizeof *col, cmp_dbl);
        double a = (1 - (o->level > 0 && o->level < 1 ? o->level : 0.95)) / 2;
        lo[i] = quantile7(col, ok, a);
        hi[i] = quantile7(col, ok, 1 - a);
        se[i] = sqrt(ss / (double)(ok - 1));
        free(col);
    }
    rc = 0;
out:
    st_mjp_free(mm);
    free(th);
    free(th0);
    free(v1);
    free(v2);
    free(G);
    free(L);
    free(draws);
    free(sc);
    return rc;
}

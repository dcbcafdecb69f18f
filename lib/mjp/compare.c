/* Model comparison and goodness of fit (issue 16): the likelihood-ratio
 * test between nested fits and msm's observed-versus-expected prevalence
 * table. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/mpi.h"
#include "mjp/internal.h"

/* Regularized upper incomplete gamma Q(a, x): the series of P below
 * x = a + 1, Lentz's continued fraction above (Numerical Recipes 6.2;
 * both converge to double precision within a few hundred terms for the
 * degrees of freedom of model comparisons). */
static double gamma_q(double a, double x)
{
    if (!(x > 0))
        return 1;
    double lg = lgamma(a);
    if (x < a + 1) {
        double ap = a, sum = 1 / a, del = sum;
        for (int n = 0; n < 10000; n++) {
            ap += 1;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * 1e-16)
                break;
        }
        return fmax(0, 1 - sum * exp(-x + a * log(x) - lg));
    }
    double b = x + 1 - a, c = 1 / DBL_MIN, d = 1 / b, h = d;
    for (int i = 1; i < 10000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < DBL_MIN)
            d = DBL_MIN;
        c = b + an / c;
        if (fabs(c) < DBL_MIN)
            c = DBL_MIN;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-16)
            break;
    }
    return exp(-x + a * log(x) - lg) * h;
}

double st_mjp_chisq_upper(double x, double df)
{
    return gamma_q(df / 2, x / 2);
}

int st_mjp_lrtest(double ll0, size_t n0, double ll1, size_t n1, double *lr, size_t *df, double *p, st_err *e)
{
    if (n1 <= n0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                          "likelihood-ratio test: the model fitted now has %zu free parameters, the other %zu: "
                          "fit the larger model now and test against the nested one",
                          n1, n0);
    *df = n1 - n0;
    *lr = 2 * (ll1 - ll0);
    /* a nested fit cannot be better than the larger one but by rounding
     * or an optimiser stopping short */
    *p = st_mjp_chisq_upper(fmax(*lr, 0), (double)*df);
    return 0;
}

/* State of subject s at time t from its observations (msm's interp =
 * "start"), -1 if not under observation; observations with unknown state
 * (added at time cut points, censored) are skipped. */
static int state_at(const st_mjp *m, const st_mjp_data *d, size_t s, double t)
{
    int st = -1, first = 1;
    double last = -INFINITY;
    for (size_t k = d->start[s]; k < d->start[s + 1]; k++) {
        if (d->y[k] < 0)
            continue;
        if (first && t < d->t[k])
            return -1;
        first = 0;
        if (d->t[k] <= t)
            st = d->y[k], last = d->t[k];
        else
            return st;
    }
    /* at the last observation, or after it absorbed (subjects stay) */
    return st >= 0 && (t == last || st_mjp_absorbing(m, (size_t)st)) ? st : -1;
}

/* P(t0 -> t1) for subject s: its covariates piecewise constant between
 * its observations (those before the first and after the last extend). */
static int subject_p(const st_mjp *m, const st_mjp_data *d, size_t s, double t0, double t1, double *P, double *W)
{
    size_t K = m->K, KK = K * K, C = d->C;
    double Q[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES], A[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES],
        X[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    st_err le;
    st_mat_identity(P, K);
    double a = t0;
    size_t k0 = d->start[s], k1 = d->start[s + 1];
    while (a < t1) {
        /* the observation in force at a and the next change */
        size_t k = k0;
        while (k + 1 < k1 && d->t[k + 1] <= a)
            k++;
        double b = k + 1 < k1 && d->t[k + 1] < t1 ? d->t[k + 1] : t1;
        if (a < d->t[k0])
            b = fmin(t1, d->t[k0]);
        st_mjp_rates_at(m, C ? d->Z + d->pat[k] * C : NULL, Q);
        for (size_t i = 0; i < KK; i++)
            A[i] = Q[i] * (b - a);
        if (st_expm(A, K, X, &le) < 0)
            return -1;
        st_gemm(0, 0, K, K, K, 1.0, P, X, 0.0, W);
        memcpy(P, W, KK * sizeof *P);
        a = b;
    }
    return 0;
}

int st_mjp_prevalence(const st_mjp *m, const st_mjp_data *d, const double *times, size_t nt, double t0,
                      double *obs, double *ex, st_err *e)
{
    size_t K = m->K, KK = K * K;
    if (d->mode == ST_MJP_HIDDEN)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "prevalence needs panel or exact data, not --hidden");
    mjp_blocks bl;
    int rc = mjp_share_blocks(d, &bl, e);
    if (rc < 0)
        return rc;
    size_t len = (nt + 1) * K;
    double *part = calloc((bl.nb ? bl.nb : 1) * len, sizeof *part), *acc = calloc(len, sizeof *acc);
    double *P = malloc(KK * sizeof *P), *W = malloc(KK * sizeof *W);
    if (!part || !acc || !P || !W) {
        rc = st_err_nomem(e, "prevalence");
        goto out;
    }
    /* 1. observed counts at t0 (row 0) and at the times */
    for (size_t bi = bl.lo; bi < bl.hi; bi++)
        for (size_t s = bl.start[bi - bl.lo]; s < bl.start[bi - bl.lo + 1]; s++)
            for (size_t j = 0; j <= nt; j++) {
                int st = state_at(m, d, s, j ? times[j - 1] : t0);
                if (st >= 0)
                    part[bi * len + j * K + (size_t)st] += 1;
            }
    if ((rc = st_mpi_fold_blocks(part, bl.nb, len, acc, e)) < 0)
        goto out;
    double n0 = 0, init[ST_MJP_MAX_STATES];
    for (size_t i = 0; i < K; i++)
        n0 += acc[i];
    if (!(n0 > 0)) {
        rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "prevalence: no subject is observed at the start time %g", t0);
        goto out;
    }
    for (size_t i = 0; i < K; i++)
        init[i] = acc[i] / n0;
    memcpy(obs, acc + K, nt * K * sizeof *obs);
    /* 2. expected: each subject at risk at t moves the start distribution */
    memset(part, 0, (bl.nb ? bl.nb : 1) * len * sizeof *part);
    for (size_t bi = bl.lo; bi < bl.hi && rc == 0; bi++)
        for (size_t s = bl.start[bi - bl.lo]; s < bl.start[bi - bl.lo + 1] && rc == 0; s++)
            for (size_t j = 0; j < nt; j++) {
                if (state_at(m, d, s, times[j]) < 0 || times[j] < t0)
                    continue;
                if (subject_p(m, d, s, t0, times[j], P, W) < 0) {
                    rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "prevalence: matrix exponential failed");
                    break;
                }
                double *x = part + bi * len + j * K;
                for (size_t a = 0; a < K; a++)
                    for (size_t b = 0; b < K; b++)
                        x[b] += init[a] * P[a * K + b];
            }
    int lrc = rc;
    rc = st_mpi_agree(rc);
    if (rc < 0) {
        if (lrc == 0)
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "prevalence: matrix exponential failed on another rank");
        goto out;
    }
    memset(acc, 0, len * sizeof *acc);
    if ((rc = st_mpi_fold_blocks(part, bl.nb, len, acc, e)) < 0)
        goto out;
    memcpy(ex, acc, nt * K * sizeof *ex);
out:
    free(bl.start);
    free(part);
    free(acc);
    free(P);
    free(W);
    return rc;
}

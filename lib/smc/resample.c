/* Resampling schemes (Douc, Cappe & Moulines 2005, "Comparison of
 * resampling schemes for particle filtering"), O(N) by merging ordered
 * uniforms with the cumulative weights. */
#include "config.h"

#include "smc/resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const st_resample_names[] = {"multinomial", "stratified", "systematic", "residual", NULL};

int st_resample_parse(const char *name, st_resample_scheme *out)
{
    for (int i = 0; st_resample_names[i]; i++)
        if (strcmp(name, st_resample_names[i]) == 0) {
            *out = (st_resample_scheme)i;
            return 0;
        }
    return -1;
}

double st_logsumexp(const double *lw, size_t n)
{
    double mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (lw[i] > mx)
            mx = lw[i];
    if (mx == -INFINITY)
        return -INFINITY;
    if (mx == INFINITY)
        return INFINITY;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        if (lw[i] > -INFINITY) /* false for NaN too */
            s += exp(lw[i] - mx);
    return mx + log(s);
}

double st_normalise(const double *lw, size_t n, double *W)
{
    double lse = st_logsumexp(lw, n);
    if (!isfinite(lse))
        return lse;
    for (size_t i = 0; i < n; i++)
        W[i] = lw[i] > -INFINITY ? exp(lw[i] - lse) : 0.0;
    return lse;
}

double st_ess(const double *W, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += W[i] * W[i];
    return s > 0 ? 1.0 / s : 0.0;
}

/* Ancestors for ordered points u[0] <= ... <= u[m-1] in [0, 1): the index i
 * with cumW[i-1] <= u < cumW[i], by one merge pass.  The points are made by
 * next_u(k) so no array is needed. */
#define MERGE(NEXT_U)                                                     \
    do {                                                                  \
        size_t i = 0;                                                     \
        double cum = W[0];                                                \
        for (size_t k = 0; k < m; k++) {                                  \
            double u = (NEXT_U);                                          \
            while (u >= cum && i + 1 < n)                                 \
                cum += W[++i];                                            \
            a[k] = (uint32_t)i;                                           \
        }                                                                 \
    } while (0)

void st_resample(st_resample_scheme s, const double *W, size_t n, size_t m, uint32_t *a, st_rng *r)
{
    if (m == 0)
        return;
    switch (s) {
    case ST_RS_SYSTEMATIC: {
        double u0 = st_rng_uniform(r), im = 1.0 / (double)m;
        MERGE(((double)k + u0) * im);
        break;
    }
    case ST_RS_STRATIFIED: {
        double im = 1.0 / (double)m;
        MERGE(((double)k + st_rng_uniform(r)) * im);
        break;
    }
    case ST_RS_MULTINOMIAL: {
        /* Ordered uniforms as normalised partial sums of m+1 exponentials:
         * draw the spacings from a copy of the generator once to get the
         * total, then again (same values) to walk them. */
        st_rng copy = *r;
        double total = 0;
        for (size_t k = 0; k <= m; k++)
            total += st_rng_exponential(&copy);
        double run = 0;
        MERGE((run += st_rng_exponential(r), run / total));
        (void)st_rng_exponential(r); /* the (m+1)-th spacing: keep r in step with copy */
        break;
    }
    case ST_RS_RESIDUAL: {
        /* floor(m W_i) copies, then multinomial on the remainders. */
        size_t k = 0;
        double *res = malloc(n * sizeof *res);
        double rsum = 0;
        for (size_t i = 0; i < n; i++) {
            double nw = m * W[i];
            size_t c = (size_t)floor(nw);
            if (k + c > m)
                c = m - k;
            for (size_t j = 0; j < c; j++)
                a[k++] = (uint32_t)i;
            if (res) {
                res[i] = nw - floor(nw);
                rsum += res[i];
            }
        }
        size_t rest = m - k;
        if (rest > 0) {
            if (!res || !(rsum > 0)) {
                /* out of memory or no remainder mass: fall back to W */
                st_resample(ST_RS_MULTINOMIAL, W, n, rest, a + k, r);
            } else {
                for (size_t i = 0; i < n; i++)
                    res[i] /= rsum;
                st_resample(ST_RS_MULTINOMIAL, res, n, rest, a + k, r);
            }
            /* keep the output ordered: merge the two sorted runs */
            uint32_t *tmp = malloc(m * sizeof *tmp);
            if (tmp) {
                size_t x = 0, y = k, z = 0;
                while (x < k || y < m)
                    tmp[z++] = (y >= m || (x < k && a[x] <= a[y])) ? a[x++] : a[y++];
                memcpy(a, tmp, m * sizeof *a);
                free(tmp);
            }
        }
        free(res);
        break;
    }
    }
}

int st_resample_step(const st_rs_step_opts *o, const double *lw, const unsigned char *done, size_t n,
                     uint32_t *anc, double *W, double *ess, double *logz, int *resampled, st_rng *r,
                     st_err *e)
{
    size_t na = 0;
    *resampled = 0;
    *ess = 0;
    *logz = 0;
    for (size_t i = 0; i < n; i++) {
        anc[i] = (uint32_t)i;
        W[i] = 0;
        if (!done || !done[i])
            na++;
    }
    if (na == 0)
        return 0;
    double *la = malloc(na * sizeof *la), *wa = malloc(na * sizeof *wa);
    size_t *pos = malloc(na * sizeof *pos);
    uint32_t *a = malloc(na * sizeof *a);
    int rc = 0;
    if (!la || !wa || !pos || !a) {
        rc = st_err_nomem(e, "resampling");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!done || !done[i]) {
            pos[k] = i;
            la[k++] = lw[i] / o->temperature;
        }
    double lse = st_normalise(la, na, wa);
    if (!(lse > -INFINITY)) {
        rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "every unfinished particle has zero weight");
        goto out;
    }
    if (!isfinite(lse)) {
        rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "a log-weight is +Inf");
        goto out;
    }
    *logz = lse - log((double)na);
    *ess = st_ess(wa, na);
    for (k = 0; k < na; k++)
        W[pos[k]] = wa[k];
    if (o->always || *ess < o->ess * (double)na) {
        st_resample(o->scheme, wa, na, na, a, r);
        for (k = 0; k < na; k++)
            anc[pos[k]] = (uint32_t)pos[a[k]];
        *resampled = 1;
    }
out:
    free(la);
    free(wa);
    free(pos);
    free(a);
    return rc;
}

/* MCMC summaries and diagnostics (mcmc.h): rank-normalised split R-hat
 * and effective sample sizes of Vehtari et al. (2021). */
#include "config.h"

#include "core/mcmc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double st_qnorm(double p)
{
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00};
    if (!(p >= 0 && p <= 1))
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    const double plow = 0.02425;
    double x;
    if (p < plow) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - plow) {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        double q = sqrt(-2 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    /* one Halley step on the exact CDF (relative error ~1e-15) */
    double e = 0.5 * erfc(-x / M_SQRT2) - p, u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double st_mcmc_quantile(const double *x, size_t n, double p)
{
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (!s || n == 0) {
        free(s);
        return NAN;
    }
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double h = (double)(n - 1) * p, lo = floor(h);
    size_t i = (size_t)lo;
    double v = i + 1 < n ? s[i] + (h - lo) * (s[i + 1] - s[i]) : s[n - 1];
    free(s);
    return v;
}

static int all_finite(const double *x, size_t S)
{
    for (size_t i = 0; i < S; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

static int constant(const double *x, size_t S)
{
    for (size_t i = 1; i < S; i++)
        if (x[i] != x[0])
            return 0;
    return 1;
}

double st_mcmc_rhat_basic(const double *x, size_t m, size_t n)
{
    size_t S = m * n;
    if (S == 0 || n < 2 || !all_finite(x, S))
        return NAN;
    if (constant(x, S))
        return 1;
    double *mean = malloc(m * sizeof *mean);
    if (!mean)
        return NAN;
    double W = 0, gm = 0;
    for (size_t j = 0; j < m; j++) {
        const double *c = x + j * n;
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += c[i];
        mean[j] = s / (double)n;
        double v = 0;
        for (size_t i = 0; i < n; i++)
            v += (c[i] - mean[j]) * (c[i] - mean[j]);
        W += v / (double)(n - 1);
        gm += mean[j];
    }
    W /= (double)m;
    gm /= (double)m;
    double B = 0;
    for (size_t j = 0; m > 1 && j < m; j++)
        B += (mean[j] - gm) * (mean[j] - gm);
    B = m > 1 ? (double)n * B / (double)(m - 1) : 0;
    free(mean);
    return sqrt((B / W + (double)n - 1) / (double)n);
}

/* Mean over chains of the biased autocovariance at lag t. */
static double mean_acov(const double *x, const double *mean, size_t m, size_t n, size_t t)
{
    double s = 0;
    for (size_t j = 0; j < m; j++) {
        const double *c = x + j * n;
        double a = 0, mu = mean[j];
        for (size_t i = 0; i + t < n; i++)
            a += (c[i] - mu) * (c[i + t] - mu);
        s += a / (double)n;
    }
    return s / (double)m;
}

double st_mcmc_ess_basic(const double *x, size_t m, size_t n)
{
    size_t S = m * n;
    if (S == 0 || n < 3 || !all_finite(x, S))
        return NAN;
    if (constant(x, S))
        return (double)S;
    double *mean = calloc(m, sizeof *mean), *rho = calloc(n + 1, sizeof *rho);
    if (!mean || !rho) {
        free(mean);
        free(rho);
        return NAN;
    }
    double gm = 0;
    for (size_t j = 0; j < m; j++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += x[j * n + i];
        mean[j] = s / (double)n;
        gm += mean[j];
    }
    gm /= (double)m;
    double acov0 = mean_acov(x, mean, m, n, 0);
    double mean_var = acov0 * (double)n / (double)(n - 1), var_plus = mean_var * (double)(n - 1) / (double)n;
    if (m > 1) {
        double v = 0;
        for (size_t j = 0; j < m; j++)
            v += (mean[j] - gm) * (mean[j] - gm);
        var_plus += v / (double)(m - 1);
    }
    /* Geyer's initial positive sequence (rho[t] for lag t) */
    size_t t = 0;
    double even = 1, odd = 1 - (mean_var - mean_acov(x, mean, m, n, 1)) / var_plus;
    rho[0] = even;
    rho[1] = odd;
    while (t + 5 < n && !isnan(even + odd) && even + odd > 0) {
        t += 2;
        even = 1 - (mean_var - mean_acov(x, mean, m, n, t)) / var_plus;
        odd = 1 - (mean_var - mean_acov(x, mean, m, n, t + 1)) / var_plus;
        if (even + odd >= 0) {
            rho[t] = even;
            rho[t + 1] = odd;
        }
    }
    size_t max_t = t;
    if (even > 0)
        rho[max_t] = even;
    /* Geyer's initial monotone sequence */
    for (t = 2; t + 2 <= max_t; t += 2)
        if (rho[t] + rho[t + 1] > rho[t - 2] + rho[t - 1]) {
            rho[t] = (rho[t - 2] + rho[t - 1]) / 2;
            rho[t + 1] = rho[t];
        }
    double sum = 0;
    for (t = 0; t < max_t; t++)
        sum += rho[t];
    double tau = -1 + 2 * sum + rho[max_t];
    double ess = (double)S, cap = 1 / log10(ess);
    if (!(tau > cap))
        tau = cap;
    free(mean);
    free(rho);
    return ess / tau;
}

/* Split m chains of n into 2m chains of n / 2 (the middle draw of an odd
 * n dropped) into out. */
static size_t split(const double *x, size_t m, size_t n, double *out)
{
    size_t h = n / 2;
    for (size_t j = 0; j < m; j++) {
        memcpy(out + 2 * j * h, x + j * n, h * sizeof *out);
        memcpy(out + (2 * j + 1) * h, x + j * n + (n - h), h * sizeof *out);
    }
    return h;
}

typedef struct iv {
    double v;
    size_t i;
} iv;

static int cmp_iv(const void *a, const void *b)
{
    const iv *p = a, *q = b;
    return (p->v > q->v) - (p->v < q->v);
}

/* In place: the normal scores of the average ranks. */
static int z_scale(double *x, size_t S)
{
    iv *s = malloc(S * sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < S; i++)
        s[i] = (iv){x[i], i};
    qsort(s, S, sizeof *s, cmp_iv);
    for (size_t i = 0; i < S;) {
        size_t k = i;
        while (k + 1 < S && s[k + 1].v == s[i].v)
            k++;
        double r = (double)(i + k) / 2 + 1; /* 1-based average rank */
        double z = st_qnorm((r - 0.375) / ((double)S + 0.25));
        for (size_t q = i; q <= k; q++)
            x[s[q].i] = z;
        i = k + 1;
    }
    free(s);
    return 0;
}

int st_mcmc_summarise(const double *x, size_t m, size_t n, st_mcmc_summary *s, st_err *e)
{
    size_t S = m * n;
    if (S == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "no draws to summarise");
    double *w = malloc(S * sizeof *w), *v = malloc(S * sizeof *v);
    if (!w || !v) {
        free(w);
        free(v);
        return st_err_nomem(e, "MCMC summary");
    }
    double sum = 0;
    for (size_t i = 0; i < S; i++)
        sum += x[i];
    s->mean = sum / (double)S;
    double ss = 0;
    for (size_t i = 0; i < S; i++)
        ss += (x[i] - s->mean) * (x[i] - s->mean);
    s->sd = S > 1 ? sqrt(ss / (double)(S - 1)) : NAN;
    s->q025 = st_mcmc_quantile(x, S, 0.025);
    s->q05 = st_mcmc_quantile(x, S, 0.05);
    s->q50 = st_mcmc_quantile(x, S, 0.5);
    s->q95 = st_mcmc_quantile(x, S, 0.95);
    s->q975 = st_mcmc_quantile(x, S, 0.975);
    s->rhat = s->ess_bulk = s->ess_tail = NAN;
    if (n >= 4 && all_finite(x, S)) {
        size_t h = split(x, m, n, w), Sh = 2 * m * h;
        /* bulk: normal scores of the split chains */
        memcpy(v, w, Sh * sizeof *v);
        if (z_scale(v, Sh) == 0) {
            double rb = st_mcmc_rhat_basic(v, 2 * m, h);
            s->ess_bulk = st_mcmc_ess_basic(v, 2 * m, h);
            /* tail: distances to the median */
            for (size_t i = 0; i < Sh; i++)
                v[i] = fabs(w[i] - s->q50);
            double rt = z_scale(v, Sh) == 0 ? st_mcmc_rhat_basic(v, 2 * m, h) : NAN;
            s->rhat = rb > rt ? rb : rt;
            if (isnan(rb) || isnan(rt))
                s->rhat = NAN;
        }
        /* tail ESS: the indicators of the 5 % and 95 % quantiles */
        double e05, e95;
        for (size_t i = 0; i < Sh; i++)
            v[i] = w[i] <= s->q05;
        e05 = st_mcmc_ess_basic(v, 2 * m, h);
        for (size_t i = 0; i < Sh; i++)
            v[i] = w[i] <= s->q95;
        e95 = st_mcmc_ess_basic(v, 2 * m, h);
        s->ess_tail = e05 < e95 ? e05 : e95;
        if (isnan(e05) || isnan(e95))
            s->ess_tail = NAN;
    }
    free(w);
    free(v);
    return 0;
}

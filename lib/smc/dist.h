/* Distributions of the particle models: log densities (log mass functions
 * for the counts), parameter checks and samplers on lib/core's rng.
 *
 * Parameterisations follow R: normal(mean, sd), student-t(df, loc, scale),
 * lognormal(meanlog, sdlog), gamma(shape, rate), poisson(rate),
 * binomial(size, prob), negative binomial(size, prob) = failures before
 * `size` successes (R's dnbinom).  A value outside the support has log
 * density -Inf. */
#ifndef ST_SMC_DIST_H
#define ST_SMC_DIST_H

#include <math.h>

#include "core/rng.h"

#define ST_LOG_SQRT_2PI 0.91893853320467274178

static inline double st_lpdf_normal(double x, double mean, double sd)
{
    double z = (x - mean) / sd;
    return -0.5 * z * z - log(sd) - ST_LOG_SQRT_2PI;
}

/* Log normalising constant of Student's t with df nu (without -log scale). */
static inline double st_student_lconst(double nu)
{
    return lgamma(0.5 * (nu + 1)) - lgamma(0.5 * nu) - 0.5 * log(nu * M_PI);
}

static inline double st_lpdf_student(double x, double nu, double loc, double scale)
{
    double z = (x - loc) / scale;
    return st_student_lconst(nu) - log(scale) - 0.5 * (nu + 1) * log1p(z * z / nu);
}

static inline double st_lpdf_lognormal(double x, double meanlog, double sdlog)
{
    if (!(x > 0))
        return -INFINITY;
    double lx = log(x);
    return st_lpdf_normal(lx, meanlog, sdlog) - lx;
}

static inline double st_lpdf_gamma(double x, double shape, double rate)
{
    if (x < 0 || !isfinite(x))
        return -INFINITY;
    if (x == 0)
        return shape == 1 ? log(rate) : shape < 1 ? INFINITY : -INFINITY;
    return shape * log(rate) - lgamma(shape) + (shape - 1) * log(x) - rate * x;
}

/* y must be a non-negative integer (else -Inf). */
static inline int st_is_count(double y)
{
    return y >= 0 && y == floor(y) && y < 9007199254740992.0;
}

static inline double st_lpmf_poisson(double y, double rate)
{
    if (!st_is_count(y))
        return -INFINITY;
    if (rate == 0)
        return y == 0 ? 0 : -INFINITY;
    return y * log(rate) - rate - lgamma(y + 1);
}

static inline double st_lpmf_binomial(double y, double size, double prob)
{
    if (!st_is_count(y) || y > size)
        return -INFINITY;
    double lc = lgamma(size + 1) - lgamma(y + 1) - lgamma(size - y + 1);
    if (prob == 0)
        return y == 0 ? 0 : -INFINITY;
    if (prob == 1)
        return y == size ? 0 : -INFINITY;
    return lc + y * log(prob) + (size - y) * log1p(-prob);
}

static inline double st_lpmf_negbinomial(double y, double size, double prob)
{
    if (!st_is_count(y))
        return -INFINITY;
    if (prob == 1)
        return y == 0 ? 0 : -INFINITY;
    return lgamma(y + size) - lgamma(size) - lgamma(y + 1) + size * log(prob) + y * log1p(-prob);
}

/* ------------------------------------------------------------ gradients
 *
 * Partial derivatives of the log densities above with respect to their
 * arguments, in the arguments' order, into g[]; the value is returned.
 * Where the density is 0 (log -Inf: a value outside the support, an
 * impossible count) the gradient is set to 0: such a particle has weight
 * 0 and must not turn a weighted sum into NaN.  Count sizes (binomial
 * size, negative binomial size) are differentiated through lgamma's
 * continuous extension. */

/* Digamma psi(x) = d log Gamma(x) / dx for x > 0 (recurrence to x >= 10,
 * then the asymptotic series to x^-10: absolute error about 1e-13, from
 * the recurrence's rounding). */
static inline double st_digamma(double x)
{
    if (!(x > 0))
        return NAN;
    double r = 0;
    while (x < 10) {
        r -= 1 / x;
        x += 1;
    }
    double f = 1 / (x * x);
    return r + log(x) - 0.5 / x -
           f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

static inline double st_dlpdf_normal(double x, double mean, double sd, double *g)
{
    double z = (x - mean) / sd;
    g[0] = z / sd;
    g[1] = (z * z - 1) / sd;
    return -0.5 * z * z - log(sd) - ST_LOG_SQRT_2PI;
}

static inline double st_dlpdf_student(double x, double nu, double loc, double scale, double *g)
{
    double z = (x - loc) / scale, q = nu + z * z;
    g[0] = 0.5 * (st_digamma(0.5 * (nu + 1)) - st_digamma(0.5 * nu)) - 0.5 / nu - 0.5 * log1p(z * z / nu) +
           0.5 * (nu + 1) * z * z / (nu * q);
    g[1] = (nu + 1) * z / (scale * q);
    g[2] = -1 / scale + (nu + 1) * z * z / (scale * q);
    return st_lpdf_student(x, nu, loc, scale);
}

static inline double st_dlpdf_lognormal(double x, double meanlog, double sdlog, double *g)
{
    if (!(x > 0)) {
        g[0] = g[1] = 0;
        return -INFINITY;
    }
    double lx = log(x), z = (lx - meanlog) / sdlog;
    g[0] = z / sdlog;
    g[1] = (z * z - 1) / sdlog;
    return -0.5 * z * z - log(sdlog) - ST_LOG_SQRT_2PI - lx;
}

/* gamma(shape, rate) */
static inline double st_dlpdf_gamma(double x, double shape, double rate, double *g)
{
    double v = st_lpdf_gamma(x, shape, rate);
    if (!(x > 0) || !isfinite(v)) {
        g[0] = g[1] = 0;
        return v;
    }
    g[0] = log(rate) - st_digamma(shape) + log(x);
    g[1] = shape / rate - x;
    return v;
}

static inline double st_dlpmf_poisson(double y, double rate, double *g)
{
    double v = st_lpmf_poisson(y, rate);
    g[0] = isfinite(v) && rate > 0 ? y / rate - 1 : 0;
    return v;
}

static inline double st_dlpmf_binomial(double y, double size, double prob, double *g)
{
    double v = st_lpmf_binomial(y, size, prob);
    if (!isfinite(v) || !(prob > 0 && prob < 1)) {
        g[0] = g[1] = 0;
        return v;
    }
    g[0] = st_digamma(size + 1) - st_digamma(size - y + 1) + log1p(-prob);
    g[1] = y / prob - (size - y) / (1 - prob);
    return v;
}

/* negative binomial(size, prob) */
static inline double st_dlpmf_negbinomial(double y, double size, double prob, double *g)
{
    double v = st_lpmf_negbinomial(y, size, prob);
    if (!isfinite(v) || !(prob > 0 && prob < 1)) {
        g[0] = g[1] = 0;
        return v;
    }
    g[0] = st_digamma(y + size) - st_digamma(size) + log(prob);
    g[1] = size / prob - y / (1 - prob);
    return v;
}

#endif

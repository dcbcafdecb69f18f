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

#endif

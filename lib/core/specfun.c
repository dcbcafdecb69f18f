/* Digamma and trigamma for x > 0: shift x up to >= 10 with
 *     psi(x) = psi(x + 1) - 1/x,    psi'(x) = psi'(x + 1) + 1/x^2,
 * then the asymptotic (Bernoulli-number) series, truncated where the
 * next term is below 1e-17 relative at x = 10 (Abramowitz & Stegun 6.3.18,
 * 6.4.12). */
#include "config.h"

#include <math.h>

#include "core/specfun.h"

double st_digamma(double x)
{
    if (!(x > 0) || isinf(x))
        return x == INFINITY ? INFINITY : NAN;
    double r = 0;
    while (x < 10) {
        r -= 1 / x;
        x += 1;
    }
    double f = 1 / (x * x);
    /* log x - 1/2x - sum B_2n / (2n x^2n) */
    double s = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132 - f * (691.0 / 32760 - f / 12))))));
    return r + log(x) - 0.5 / x - s;
}

double st_trigamma(double x)
{
    if (!(x > 0) || isinf(x))
        return x == INFINITY ? 0 : NAN;
    double r = 0;
    while (x < 10) {
        r += 1 / (x * x);
        x += 1;
    }
    double f = 1 / (x * x);
    /* 1/x + 1/2x^2 + sum B_2n / x^(2n+1) */
    double s = 1 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30 - f * (5.0 / 66 - f * (691.0 / 2730 - f * 7.0 / 6))))));
    return r + s;
}

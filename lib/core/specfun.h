/* Special functions the model families share: digamma and trigamma
 * (derivatives of log Gamma), for Gamma and negative-binomial maximum
 * likelihood, for x > 0 (recurrence up to x >= 10, then the asymptotic
 * series): digamma within 1e-14 absolute or relative, whichever is
 * larger (near its root at 1.4616 only absolute), trigamma within 1e-14
 * relative; NaN for x <= 0. */
#ifndef ST_CORE_SPECFUN_H
#define ST_CORE_SPECFUN_H

double st_digamma(double x);
double st_trigamma(double x);

#endif

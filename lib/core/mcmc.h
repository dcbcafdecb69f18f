/* Summaries and convergence diagnostics of Markov chain Monte Carlo draws,
 * as Vehtari, Gelman, Simpson, Carpenter & Buerkner (2021, Bayesian
 * Analysis 16, 667-718) define them and the R package posterior computes
 * them:
 *   - rhat: the larger of the rank-normalised split-R-hat of the draws
 *     (bulk) and of their distances to the median (tail);
 *   - ess_bulk: the effective sample size of the rank-normalised split
 *     chains; ess_tail: the smaller of those of the indicators of the 5 %
 *     and 95 % quantiles (split chains);
 *   - ESS from the chains' autocovariances (biased, as Geyer 1992) with
 *     Geyer's initial positive and monotone sequences, the improved
 *     estimate with the first discarded pair, capped at S log10 S;
 *   - quantiles as R's type 7; ranks of ties averaged; the normal scores
 *     of ranks r out of S draws are qnorm((r - 3/8) / (S + 1/4)).
 * Draws: m chains of n each, chain j at x[j * n .. j * n + n - 1]; split
 * chains drop the middle draw of an odd n.
 *
 * Ownership: the caller owns x and the result; scratch is allocated and
 * freed inside. */
#ifndef ST_CORE_MCMC_H
#define ST_CORE_MCMC_H

#include <stddef.h>

#include "core/err.h"

typedef struct st_mcmc_summary {
    double mean, sd;            /* over all draws (sd with n - 1) */
    double q025, q05, q50, q95, q975;
    double rhat;                /* NaN with fewer than 4 draws per chain or non-finite draws */
    double ess_bulk, ess_tail;  /* NaN likewise */
} st_mcmc_summary;

/* Summary of m chains of n draws.  ST_EUSAGE if m or n is 0. */
int st_mcmc_summarise(const double *x, size_t m, size_t n, st_mcmc_summary *s, st_err *e);

/* The pieces, for tests and other callers (scratch: NaN if memory runs
 * out).  basic: the chains as given, values as they are. */
double st_mcmc_rhat_basic(const double *x, size_t m, size_t n);
double st_mcmc_ess_basic(const double *x, size_t m, size_t n);
/* Quantile of x (n values, any order) by R's type 7. */
double st_mcmc_quantile(const double *x, size_t n, double p);

/* The standard normal quantile function, to full double precision
 * (Acklam's rational approximation refined by a Halley step on erfc). */
double st_qnorm(double p);

#endif

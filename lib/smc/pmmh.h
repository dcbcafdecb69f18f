/* Particle marginal Metropolis-Hastings (Andrieu, Doucet & Holenstein
 * 2010): a random walk on the free parameters' unconstrained scale eta
 * (st_pf_constraint_to_eta) whose target is the bootstrap filter's
 * likelihood estimate times the prior (st_pf_model_logprior, flat where
 * a parameter has none) times the Jacobian |d theta / d eta|; exact for
 * the posterior whatever N, the estimate being unbiased.
 *
 * Proposal (Haario, Saksman & Tamminen 2001): eta' = eta + L z, z ~ N(0,
 * I).  For the first adapt_from iterations L = scale0 I; then L L^T =
 * 2.38^2 / d (C + 1e-10 I), C the empirical covariance of the chain's
 * states so far (every iteration counted, repeats too), d the number of
 * free parameters; C is updated at every burn-in iteration and frozen at
 * the end of burn-in, so the kept iterations are one Metropolis-Hastings
 * chain with a fixed kernel.
 *
 * Chains: chain 0 starts at the model's values, chain c > 0 at eta + init_sd
 * z (redrawn while the model or the prior refuses it).  Every random
 * number of chain c comes from seeds derived from (pf.seed, c): the
 * proposals and uniforms from one stream, the filter of iteration i for
 * series s from st_pf_derive_seed; so chains run in parallel threads (one
 * chain per thread when there are at least as many chains as threads,
 * else one after the other with the filter's threads) and results do not
 * depend on the threads.  Each chain works on its own copy of the model.
 *
 * Ownership: st_pf_pmmh allocates *res; st_pf_pmmh_result_free releases
 * it.  The model is left unchanged. */
#ifndef ST_SMC_PMMH_H
#define ST_SMC_PMMH_H

#include <stddef.h>

#include "core/err.h"
#include "core/mcmc.h"
#include "smc/model.h"
#include "smc/pf.h"

typedef struct st_pf_pmmh_opts {
    st_pf_opts pf;       /* particles, resampling, seed (the filter only) */
    size_t iter;         /* kept iterations per chain (default 2000) */
    size_t burn;         /* burn-in (adaptation) iterations (default 1000) */
    size_t chains;       /* default 4 */
    double scale0;       /* proposal sd on eta before adaptation (default 0.05) */
    size_t adapt_from;   /* iterations before the covariance adapts (0: min(200, burn / 2)) */
    double init_sd;      /* spread of the other chains' starts on eta (default 0.1) */
    const unsigned char *fixed; /* npar flags: held at their value (NULL: none) */
} st_pf_pmmh_opts;

void st_pf_pmmh_opts_init(st_pf_pmmh_opts *o);

typedef struct st_pf_pmmh_result {
    size_t npar, chains, iter;
    double *theta;             /* chains x iter x npar: the kept states, natural scale */
    double *loglik, *logprior; /* chains x iter: log-likelihood estimate, log prior (natural scale) */
    unsigned char *accepted;   /* chains x iter: 1 if the move of that iteration was accepted */
    double *accept_rate;       /* chains: over the kept iterations */
    st_mcmc_summary *summary;  /* npar: over all chains' kept states */
    double *estimate;          /* npar: the posterior means */
} st_pf_pmmh_result;

int st_pf_pmmh(const st_pf_model *m, const st_pf_data *d, size_t nseries, const st_pf_pmmh_opts *o,
               st_pf_pmmh_result **res, st_err *e);
void st_pf_pmmh_result_free(st_pf_pmmh_result *r);

#endif

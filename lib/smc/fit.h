/* Maximum likelihood for particle models by stochastic gradient ascent on
 * the log-likelihood, with the score estimated as a smoothed additive
 * functional (Fisher's identity, lib/smc/func.h):
 *   ppg-sga    the score from Parisian particle Gibbs: at each step, sweeps
 *              conditional PaRIS passes at the current parameters that
 *              continue the conditional SMC chain of the previous step (the
 *              reference path is carried over), averaged (the roll-out
 *              estimator of Cardoso, Janati El Idrissi, Le Corff & Moulines
 *              2023); the chain starts with burn sweeps at step 1;
 *   paris-sga  the score from one unconditional PaRIS run per step (biased
 *              at small N: the baseline that paper compares with).
 * Each free parameter moves on an unconstrained scale eta (log for
 * positive, logit for unit, the logit of (theta + 1) / 2 for signed-unit,
 * the identity for free):
 *     eta_{n+1} = eta_n + gamma_n (d theta / d eta) score_n / T,
 *     gamma_n = step0 n^(-decay),
 * T the number of observations over all series, each move clipped to
 * +-ST_PF_FIT_MAX_MOVE (a noisy score early on cannot throw the parameters
 * away); a step the model refuses (a covariance that is not positive
 * definite) is halved, up to 30 times.
 * The estimate is the average of eta_n over the steps n >= average_from
 * (Polyak-Ruppert), mapped back.  Results do not depend on the threads.
 *
 * Ownership: st_pf_fit allocates *res; st_pf_fit_result_free releases it.
 * The model is left at the estimate. */
#ifndef ST_SMC_FIT_H
#define ST_SMC_FIT_H

#include <stddef.h>

#include "core/err.h"
#include "smc/model.h"
#include "smc/pf.h"

typedef enum { ST_FIT_PPG_SGA = 0, ST_FIT_PARIS_SGA } st_pf_fit_method;

/* Largest move of one unconstrained parameter in one step. */
#define ST_PF_FIT_MAX_MOVE 0.5

typedef struct st_pf_fit_opts {
    st_pf_opts pf;            /* particles, K, resampling, seed (the smoother is the method's) */
    st_pf_fit_method method;
    size_t steps;             /* default 400 */
    double step0, decay;      /* gamma_n = step0 n^-decay; default 20, 0.6 */
    size_t sweeps;            /* PPG sweeps per step, default 1 */
    size_t burn;              /* PPG sweeps before the first step, default 10 */
    size_t average_from;      /* first averaged step (0: steps / 2 + 1) */
    const unsigned char *fixed; /* npar flags: held at their value (NULL: none) */
} st_pf_fit_opts;

/* Defaults as above; N 100. */
void st_pf_fit_opts_init(st_pf_fit_opts *o);

typedef struct st_pf_fit_result {
    size_t npar, steps;
    double *theta; /* npar: the estimate */
    double *trace; /* steps x npar: theta_n, the parameters at which step n estimated the score */
    double *score; /* steps x npar: the score estimates (0 for fixed parameters) */
    size_t nobs;   /* observations over all series */
} st_pf_fit_result;

int st_pf_fit(st_pf_model *m, const st_pf_data *d, size_t nseries, const st_pf_fit_opts *o, st_pf_fit_result **res,
              st_err *e);
void st_pf_fit_result_free(st_pf_fit_result *r);

#endif

/* Particle filtering and smoothing: the bootstrap filter (log weights,
 * adaptive resampling, log-likelihood estimate) and the smoothers FFBSm,
 * FFBSi (rejection/hybrid backward sampling), fixed-lag, PaRIS, particle
 * Gibbs (backward or ancestor sampling) and Parisian particle Gibbs.
 *
 * Determinism: particles are processed in fixed blocks of ST_PF_BLOCK, each
 * with its own random stream derived from the seed, and every reduction is
 * summed in block order, so results are identical for any thread count.
 *
 * Ownership: st_pf_run allocates *res; st_pf_result_free releases it. */
#ifndef ST_SMC_PF_H
#define ST_SMC_PF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "smc/func.h"
#include "smc/model.h"
#include "smc/resample.h"

/* One series: T time steps. */
typedef struct st_pf_data {
    size_t T;
    const double *t;   /* T times (NULL: 1..T) */
    const double *y;   /* T x dy observations, row-major, NaN = missing */
    const double *cov; /* T x ncov covariates (NULL when ncov == 0) */
} st_pf_data;

typedef enum {
    ST_SM_NONE = 0, /* filter only */
    ST_SM_FFBSM,
    ST_SM_FFBSI,
    ST_SM_FIXEDLAG,
    ST_SM_PARIS,
    ST_SM_PG,
    ST_SM_PPG
} st_smoother;

typedef struct st_pf_opts {
    size_t N;                  /* particles, >= 2 */
    st_resample_scheme scheme; /* default systematic */
    double ess;                /* resample when ESS < ess * N (0.5) */
    int always;                /* resample at every step */
    uint64_t seed;
    st_smoother smoother;
    size_t lag;       /* fixed-lag window L >= 0 */
    size_t K;         /* PaRIS / PPG backward draws per particle, >= 2 */
    size_t M;         /* FFBSi trajectories (0: N) */
    size_t iter;      /* PG / PPG iterations after burn-in */
    size_t burn;      /* PG / PPG burn-in iterations */
    int ancestor;     /* PG: ancestor sampling instead of backward sampling */
    const double *q;  /* quantile levels in (0, 1), nq of them */
    size_t nq;
    size_t draws;     /* smoothed trajectories to return (0: none) */
    size_t ffbsm_max; /* refuse FFBSm above this many particles (0: refuse N^2 T > 1e9, about a minute) */
    size_t max_tries; /* rejection proposals per backward draw before the MH fallback (0: 32) */
    size_t mcmc;        /* >0: every backward draw by this many MH moves from the ancestor */
    const st_pf_funcs *funcs; /* additive functionals to estimate (PaRIS, PPG, FFBSm,
                               * FFBSi, online); NULL: PaRIS and PPG estimate the
                               * built-in sums sum_x, sum_x2, sum_xx1 */
    int online;         /* PaRIS: the additive functionals only, in O(N) memory
                         * (no smoothed per-step summaries, no history) */
    int loglik_only;    /* skip the per-step summaries: only the log-likelihood is wanted */
    int exact_backward; /* never use rejection: every backward draw is the exact O(N) one */
    /* PG / PPG as one stretch of a longer chain (score ascent): ref_in (T x
     * dx, NULL: none) is the reference path of the first, conditional pass
     * -- which then counts as an iteration -- and ref_out (NULL: not
     * wanted) receives the reference the next pass would use. */
    const double *ref_in;
    double *ref_out;
} st_pf_opts;

/* The seed of run (i, j) of a method that runs many filters from one seed
 * (step and series, chain and iteration): SplitMix64 of the three. */
uint64_t st_pf_derive_seed(uint64_t seed, uint64_t i, uint64_t j);

/* Defaults: N 1000, systematic, ess 0.5, seed 1, K 2, burn 10, iter 50. */
void st_pf_opts_init(st_pf_opts *o);

typedef struct st_pf_result {
    size_t T, dx, nq;
    double loglik;              /* log-likelihood estimate (the filter's) */
    double *ess;                /* T: ESS after weighting */
    double *llinc;              /* T: log-likelihood increments */
    int *resampled;             /* T: 1 if resampling preceded step t */
    double *fmean, *fsd, *fq;   /* filtered: T*dx, T*dx, T*dx*nq (fq[(t*dx+i)*nq+k]) */
    double *smean, *ssd, *sq;   /* smoothed (NULL for the filter only) */
    double *draws;              /* ndraws x T x dx trajectories */
    size_t ndraws;
    /* The smoothed additive functionals, one per output of the set (see
     * st_pf_opts.funcs); has_func says whether they are set. */
    int has_func;
    size_t nfunc;
    double *func;
    double accept_rate; /* backward rejection sampler: accepted proposals / proposals (NaN if unused) */
    double fallback_rate; /* backward draws made by the MH fallback / all backward draws */
    double exact_rate;    /* backward draws made by the exact O(N) draw / all backward draws */
} st_pf_result;

/* Filter (and smooth) one series. */
int st_pf_run(const st_pf_model *m, const st_pf_data *d, const st_pf_opts *o, st_pf_result **res,
              st_err *e);
void st_pf_result_free(st_pf_result *r);

#endif

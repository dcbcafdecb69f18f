/* Iterated filtering, IF2 (Ionides, Nguyen, Atchade, Stoev & King 2015,
 * PNAS 112, 719-724; pomp's mif2): maximum likelihood by bootstrap
 * filters whose particles each carry their own parameters, perturbed by a
 * random walk on the unconstrained scale (st_pf_constraint_to_eta) at every
 * time step and resampled with the states, the walk's sd cooled
 * geometrically over the iterations.
 *
 * Iteration m = 1..iter runs one filter through every series in turn (the
 * parameter swarm passes from one series to the next, the states restart
 * from the initial distribution).  Before time step n of the iteration's
 * n_1 + ... observations (n counted over all series, from 0), every free
 * parameter of every particle moves by
 *     sd_{m,n} = rw_sd * cooling^((m - 1 + n / Ntot) / 50)
 * times a standard normal (pomp's geometric cooling: cooling is the
 * fraction of rw_sd left after 50 iterations); the first iteration's
 * particles start at the model's values.  Resampling is systematic at
 * every step.  The estimate is the swarm's mean on the unconstrained scale
 * after the last iteration, mapped back.
 *
 * Random numbers: the perturbations and dynamics of block b (ST_PF_BLOCK
 * particles) at step n of iteration m from a stream seeded by (seed, m, n,
 * b), the resampling uniform from (seed, m, n): blocks run in parallel
 * threads and results do not depend on the threads.
 *
 * Ownership: st_pf_if2 allocates *res; st_pf_if2_result_free releases it.
 * The model is left at the estimate. */
#ifndef ST_SMC_IF2_H
#define ST_SMC_IF2_H

#include <stddef.h>

#include "core/err.h"
#include "smc/model.h"
#include "smc/pf.h"

typedef struct st_pf_if2_opts {
    st_pf_opts pf;    /* particles and seed */
    size_t iter;      /* iterations (default 100) */
    double rw_sd;     /* sd of the walk per step on eta (default 0.02) */
    double cooling;   /* fraction of rw_sd left after 50 iterations (default 0.5) */
    const unsigned char *fixed; /* npar flags: held at their value (NULL: none) */
} st_pf_if2_opts;

/* Defaults as above; N 1000. */
void st_pf_if2_opts_init(st_pf_if2_opts *o);

typedef struct st_pf_if2_result {
    size_t npar, iter;
    double *theta;  /* npar: the estimate */
    double *trace;  /* iter x npar: the swarm's mean after each iteration */
    double *loglik; /* iter: each iteration's log-likelihood estimate (of the perturbed model) */
    size_t nobs;
} st_pf_if2_result;

int st_pf_if2(st_pf_model *m, const st_pf_data *d, size_t nseries, const st_pf_if2_opts *o, st_pf_if2_result **res,
              st_err *e);
void st_pf_if2_result_free(st_pf_if2_result *r);

#endif

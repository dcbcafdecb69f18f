/* Resampling for particle methods: normalising log weights, effective
 * sample size, and the four classic schemes (multinomial, stratified,
 * systematic, residual), each O(N) and unbiased: E[#copies of i] = N W_i.
 *
 * Nothing here allocates except st_resample (which takes a caller-owned
 * output array) -- the caller owns every array it passes in. */
#ifndef ST_SMC_RESAMPLE_H
#define ST_SMC_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"

typedef enum {
    ST_RS_MULTINOMIAL = 0,
    ST_RS_STRATIFIED,
    ST_RS_SYSTEMATIC,
    ST_RS_RESIDUAL
} st_resample_scheme;

extern const char *const st_resample_names[]; /* NULL-terminated, in enum order */

/* Scheme by name; -1 if unknown. */
int st_resample_parse(const char *name, st_resample_scheme *out);

/* log(sum(exp(lw))) computed stably; -INFINITY when every lw is -Inf (or
 * n == 0).  NaN entries count as -Inf. */
double st_logsumexp(const double *lw, size_t n);

/* W[i] = exp(lw[i] - lse) with lse = st_logsumexp(lw); returns lse.  When
 * lse is -Inf, W is left untouched. W may alias lw only if the caller does
 * not need lw afterwards. */
double st_normalise(const double *lw, size_t n, double *W);

/* Effective sample size 1 / sum W_i^2 of normalised weights. */
double st_ess(const double *W, size_t n);

/* Draw m ancestor indices from normalised weights W[0..n-1] into a[0..m-1]
 * (non-decreasing order for every scheme except none).  Each scheme uses r
 * sequentially. */
void st_resample(st_resample_scheme s, const double *W, size_t n, size_t m, uint32_t *a,
                 st_rng *r);

/* One resampling step for an external proposer (pf-resample): n particles
 * with log weights lw and optional done flags (finished particles keep
 * their place and are not resampled).  Weights are softmax(lw / temperature)
 * over the unfinished particles.  Outputs: anc[i] (position of particle i's
 * ancestor; a finished particle is its own), W[i] (normalised weight before
 * resampling, 0 for finished), *ess over the unfinished, *logz = log of the
 * mean unnormalised weight (the log normalising increment), *resampled.
 * Resamples when always, or when ESS < ess * (number unfinished).  Every
 * unfinished weight zero is ST_ENUMERIC. */
typedef struct st_rs_step_opts {
    st_resample_scheme scheme;
    double temperature; /* > 0 */
    double ess;         /* threshold fraction in [0, 1] */
    int always;
} st_rs_step_opts;

int st_resample_step(const st_rs_step_opts *o, const double *lw, const unsigned char *done, size_t n,
                     uint32_t *anc, double *W, double *ess, double *logz, int *resampled, st_rng *r,
                     st_err *e);

/* A session of resampling steps for an external proposer, with weights
 * carried between steps (lib/smc/resample_session.c).  Particles are known
 * by id: a slot that keeps its id while the proposer copies the ancestor
 * the step names into it.  How a step's logw enters the weights:
 *   softmax    each step's weights are softmax(logw / T) over the
 *              unfinished particles, nothing carried (logw is the
 *              particle's whole score, e.g. a process reward model's score
 *              of the prefix: the seed paper's particle filter);
 *   increment  logw is the step's log-potential: weight = the weight
 *              carried from the previous step (equal after resampling)
 *              times exp(logw / T) -- the standard particle filter;
 *   total      logw is the whole score: its change since the trajectory's
 *              previous score (through its ancestor), as in increment:
 *              the particle filter whose target is the proposer's
 *              distribution times exp(score / T).
 * Finished particles (done) are their own ancestors and keep their carried
 * weight.  A step where every particle is done ends an iteration: weights
 * over all particles (final = 1) and, with gibbs, the particle drawn as
 * the next reference; the state then starts afresh.  gibbs (particle
 * Gibbs): the particle marked ref keeps its place when the step
 * resamples and the others are drawn from every unfinished particle, it
 * included (conditional resampling). */
typedef enum { ST_RS_W_SOFTMAX = 0, ST_RS_W_INCREMENT, ST_RS_W_TOTAL } st_rs_weights;
extern const char *const st_rs_weights_names[]; /* NULL-terminated, in enum order */
int st_rs_weights_parse(const char *name, st_rs_weights *out);

typedef struct st_rs_session_opts {
    st_rs_step_opts step; /* scheme, temperature, ESS threshold, always */
    st_rs_weights weights;
    int gibbs;
} st_rs_session_opts;

/* One step's results; anc and W are caller-owned arrays of n. */
typedef struct st_rs_step_out {
    uint32_t *anc; /* position of each particle's ancestor (itself if not resampled) */
    double *W;     /* normalised weight before resampling (0: finished, unless final) */
    double ess, logz; /* over the particles that took part; logz the log normalising increment */
    int resampled, final;
    long chosen;   /* gibbs at an iteration's end: position of the next reference; else -1 */
} st_rs_step_out;

typedef struct st_rs_session st_rs_session;
int st_rs_session_new(st_rs_session **s, const st_rs_session_opts *o, st_err *e);
void st_rs_session_free(st_rs_session *s);
/* n particles with distinct ids, log weights (no NaN or +Inf), done flags
 * and reference flags (either may be NULL). */
int st_rs_session_step(st_rs_session *s, size_t n, const double *id, const double *lw, const unsigned char *done,
                       const unsigned char *ref, st_rs_step_out *out, st_rng *r, st_err *e);

#endif

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

#endif

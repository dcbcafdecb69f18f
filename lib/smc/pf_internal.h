/* Internals shared by lib/smc/filter.c and lib/smc/smooth.c: the forward
 * filter object, the stored history, and the backward sampler. */
#ifndef ST_SMC_PF_INTERNAL_H
#define ST_SMC_PF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "smc/model.h"
#include "smc/pf.h"

/* Parallel regions only pay off above this many particle blocks (thread
 * wake-ups cost microseconds, more on a loaded machine); results do not
 * depend on it. */
#define PF_PAR_BLOCKS 16

/* Per-thread scratch: the model's work area plus gather buffers. */
typedef struct pf_thread {
    st_pf_work w;
    double ga[ST_PF_MAXDIM * ST_PF_BLOCK]; /* gathered previous states */
    double gb[ST_PF_MAXDIM * ST_PF_BLOCK]; /* gathered next states */
    double lf[ST_PF_BLOCK];
    /* the filter's block buffers for what it need not keep (lazy mode) */
    double wbuf[ST_PF_BLOCK], lwbuf[ST_PF_BLOCK];
    uint32_t abuf[ST_PF_BLOCK];
    /* where this thread's last resampled range stopped (step + 1, point, particle) */
    size_t sys_step, sys_k, sys_p;
} pf_thread;

/* Random-stream families derived from one seed. */
enum { RS_FORWARD = 1, RS_RESAMPLE, RS_BACKWARD, RS_GIBBS };

/* Per-block figures of one step, rows of nblocks (+1 for C). */
typedef struct pf_blocks {
    double *m;   /* largest log weight of the block */
    double *S;   /* sum of the block-local weights exp(lw - m) */
    double *Q;   /* sum of their squares */
    double *c;   /* exp(m - lse): block-local weight -> normalised weight */
    double *C;   /* nblocks + 1: normalised weight of the blocks before */
    double *tmp;
} pf_blocks;

typedef struct pf_filter {
    const st_pf_model *m;
    const st_pf_data *d;
    const st_pf_opts *o;
    size_t N, dx, dy, nblocks;
    st_rng rng;     /* sequential draws: resampling, reference ancestors */
    st_rng *brng;   /* one stream per block */
    pf_thread **th; /* per thread */
    int nthreads;
    double *X, *Xprev;   /* dx x N (component-major) */
    double *lw, *lwprev; /* normalised log weights (lazy: before subtracting lse) */
    double *W;           /* normalised weights (lazy: block-local, times c[b] to normalise) */
    double *cum, *cumprev; /* N: running sums of the block-local weights within each block */
    pf_blocks blk, blkprev;
    uint32_t *A;         /* ancestors of this step */
    double loglik, llinc, ess;
    double lse, lseprev; /* log of the sum of the weights before normalising */
    double u0;           /* systematic resampling's uniform for this step */
    int resampled;
    /* lazy: only the log-likelihood and ESS are read after each step (no
     * smoother, no summaries), so W and lw are left unnormalised, W and A
     * are not kept, and the whole run happens at the first call in one
     * parallel region (one barrier per step, no fork and join); later
     * calls replay its per-step figures */
    int lazy;
    struct pf_replay *replay;
    /* conditional SMC: reference trajectory (T x dx) kept as particle 0 */
    const double *ref;
    int ancestor_sampling;
    /* first error raised inside a parallel region */
    int err_block;
    st_err err;
} pf_filter;

/* Stored history of a filter run (for the smoothers). */
typedef struct pf_hist {
    size_t T, N, dx;
    double *X;   /* T x dx x N */
    double *lw;  /* T x N normalised log weights */
    uint32_t *A; /* T x N ancestors (row 0 unused) */
} pf_hist;

uint64_t pf_seed(uint64_t seed, int family);
void pf_streams(st_rng *r, size_t n, uint64_t seed, int family);
int pf_filter_new(pf_filter **f, const st_pf_model *m, const st_pf_data *d, const st_pf_opts *o,
                  st_err *e);
void pf_filter_free(pf_filter *f);
/* Advance to step t (0 first): resample, propagate, weight. */
int pf_filter_step(pf_filter *f, size_t t, st_err *e);
void pf_step_ctx(const pf_filter *f, size_t t, st_pf_step *s);
void pf_step_ctx_data(const st_pf_data *d, size_t dy, size_t ncov, size_t t, st_pf_step *s);

int pf_hist_new(pf_hist **h, size_t T, size_t N, size_t dx, int want_A, st_err *e);
void pf_hist_free(pf_hist *h);
void pf_hist_store(pf_hist *h, const pf_filter *f, size_t t);

/* Weighted summaries of component rows X (dx x N, stride N) under
 * normalised weights W (NULL: equal weights) into mean[dx], sd[dx],
 * q[dx*nq]. */
void pf_summarise(const double *X, size_t stride, const double *W, size_t N, size_t dx,
                  const double *q, size_t nq, double *mean, double *sd, double *qout,
                  double *scratch_pairs);

/* Backward sampling.  For each target k < ntarget (state column
 * tgt[k] of Xnext, stride nstride), draw K indices j in 0..N-1 with
 * probability proportional to W_prev[j] f(x_next | X_prev[j]) into
 * out[k*K .. k*K+K-1].  The default (hybrid) kernel: rejection sampling
 * with up to max_tries proposals from W_prev when the transition density
 * is bounded, then, for the draws still pending, PF_FALLBACK_MOVES
 * independent Metropolis-Hastings moves started at the target's ancestor
 * (start), which is itself a draw from the backward kernel given the
 * target and independent of the failed proposals (Dau & Chopin 2023):
 * O(max_tries + moves) per draw whatever the acceptance rate, so O(N) per
 * step.  Without ancestors the pending draws are exact O(N) ones.
 * Parallel over fixed blocks of targets with streams rs. */
#define PF_FALLBACK_MOVES 2
/* Default rejection proposals per draw before the fallback. */
#define PF_DEFAULT_TRIES 32
/* FFBSm refuses N^2 T above this many particle pairs unless ffbsm_max is set. */
#define PF_FFBSM_MAX_PAIRS 1e9
typedef struct pf_backward {
    const st_pf_model *m;
    const st_pf_step *s;    /* the step of x_next */
    const double *Xprev;    /* dx x N */
    const double *lwprev;   /* N normalised log weights */
    const double *Wprev;    /* N weights */
    size_t N, dx;
    st_alias *alias;        /* built from Wprev when bounded */
    int bounded;
    double logbound;
    size_t max_tries;
    /* MCMC backward kernel (Dau & Chopin): when start is set, a draw
     * starts at start[column of the target] (its ancestor) and makes mcmc
     * independent Metropolis-Hastings moves with proposals from W_prev:
     * O(mcmc) per draw, no bound needed.  mh_only: every draw (the --mcmc
     * kernel); else only the draws rejection sampling left pending. */
    size_t mcmc;
    int mh_only;
    const uint32_t *start;
    uint64_t proposals, accepted; /* rejection proposals (MH moves for mh_only) */
    uint64_t draws, fallbacks, exact; /* draws, and those by the MH fallback, by the exact draw */
} pf_backward;

/* use_rejection: 1 the hybrid kernel, 0 exact draws only, -S the MCMC
 * kernel with S moves for every draw (set b->start after init). */
int pf_backward_init(pf_backward *b, const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                     const double *lwprev, const double *Wprev, size_t N, size_t dx,
                     size_t max_tries, int use_rejection, st_err *e);
void pf_backward_free(pf_backward *b);
int pf_backward_draw(pf_backward *b, const double *Xnext, size_t nstride, const uint32_t *tgt,
                     size_t ntarget, size_t K, uint32_t *out, st_rng *rs, pf_thread **th,
                     st_err *e);

/* Systematic resampling from the figures of a step (weights kept by
 * block: block b's normalised weights are c[b] times block-local weights
 * whose running sums within the block are cum; C[b] is the normalised
 * weight of the blocks before b): particle p's right edge is E_p = C[b] +
 * c[b] cum[p], and it is the ancestor of the points k with
 * K(E_{p-1}) <= k < K(E_p), K(E) = ceil(E N / C[nblocks] - u0) clipped to
 * [0, N] (N for the last particle).  pf_systematic_range writes the
 * ancestors of points k0..k1-1 into own[0..k1-k0-1] with O(log N + k1 -
 * k0 + particles in range) work, so that each block of the next step
 * finds its own ancestors and results do not depend on the threads.
 * hint (may be NULL) carries the particle where a range stopped to the
 * range that starts at its end (SIZE_MAX: search); the ancestors do not
 * depend on it. */
typedef struct pf_sysres {
    const double *cum, *c, *C;
    size_t N, nblocks;
    double u0, scale; /* scale = N / C[nblocks] */
} pf_sysres;
void pf_systematic_range(const pf_sysres *r, size_t k0, size_t k1, uint32_t *own, size_t *hint);

/* Memory check: refuse a size that would not fit (ST_ENOMEM with the figure). */
int pf_check_memory(double bytes, const char *what, st_err *e);

#endif

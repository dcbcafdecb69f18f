/* lib/hmm internals: the emission vtable shared by forward.c, fit.c and
 * sample.c, and the per-thread forward-backward workspace. */
#ifndef ST_HMM_INTERNAL_H
#define ST_HMM_INTERNAL_H

#include "hmm/hmm.h"

/* What the M-step needs besides the statistics. */
typedef struct st_hmm_mctx {
    double prob_floor;
    const double *var_floor; /* D absolute variance floors */
    int floored;             /* set when a floor or a fallback changed an estimate */
} st_hmm_mctx;

/* One emission family.  x points at rows of D doubles. */
typedef struct st_hmm_emis_ops {
    /* Scaled probabilities of n rows: B[t*K+k] = p(x_t | k) / s_t with
     * logs[t] = log s_t (s_t = max_k p(x_t | k) or 1).  No logs or exps
     * beyond the ones the density needs. */
    void (*eval)(const st_hmm *m, const double *x, size_t n, double *B, double *logs);
    /* Exact log densities of row t of a sequence into out[K]; x points at
     * that row (the rows before it, x - D ..., are the sequence's past). */
    void (*logpdf)(const st_hmm *m, const double *x, size_t t, double *out);
    /* Length of the sufficient statistics vector. */
    size_t (*nstats)(const st_hmm *m);
    /* stats += statistics of n rows weighted by gamma (n x K). */
    void (*accum)(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats);
    /* New parameters from summed statistics; st_hmm_prepare is called after. */
    int (*mstep)(st_hmm *m, const double *stats, st_hmm_mctx *c, st_err *e);
    long (*nparams)(const st_hmm *m);
    /* Draw row t of a sequence for state k into x (D); x - D ... hold the
     * rows drawn before it. */
    void (*sample)(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t);
    /* Initial emission parameters from the data (restart r, generator g). */
    int (*init)(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *c,
                st_err *e);
    /* Refresh m->cache and m->lognorm. */
    int (*prepare)(st_hmm *m, st_err *e);
} st_hmm_emis_ops;

const st_hmm_emis_ops *st_hmm_ops(const st_hmm *m);

/* A time step without an observation: the first n values of row x are all
 * missing (NaN).  Such a row has emission probability 1 in every state and
 * adds nothing to the statistics, in every family. */
static inline int st_hmm_row_missing(const double *x, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (x[j] == x[j])
            return 0;
    return 1;
}
extern const st_hmm_emis_ops st_hmm_ops_categorical;
extern const st_hmm_emis_ops st_hmm_ops_poisson;
extern const st_hmm_emis_ops st_hmm_ops_gaussian;
extern const st_hmm_emis_ops st_hmm_ops_ar;
extern const st_hmm_emis_ops st_hmm_ops_gmm;
extern const st_hmm_emis_ops st_hmm_ops_bernoulli;
extern const st_hmm_emis_ops st_hmm_ops_multinomial;
extern const st_hmm_emis_ops st_hmm_ops_gamma;
extern const st_hmm_emis_ops st_hmm_ops_lognormal;
extern const st_hmm_emis_ops st_hmm_ops_regression;

/* The Gamma shape a solving log a - psi(a) = s (s > 0), at most cap
 * (emit_gamma.c). */
double st_hmm_gamma_shape(double s, double cap);

/* Linear-Gaussian emissions y = c_k + W_k z + e (lingauss.c), shared by
 * the AR family (z: the previous rows) and regression (z: covariates).
 * Responses y are Dy = st_hmm_dy(m) values, z nreg. */
size_t st_hmm_lg_nreg(const st_hmm *m);
int st_hmm_lg_prepare(st_hmm *m, st_err *e);
/* out[k] = log N(y; c_k + W_k z, S_k); r: Dy scratch. */
void st_hmm_lg_logdens(const st_hmm *m, const double *y, const double *z, double *r, double *out);
size_t st_hmm_lg_nstats(const st_hmm *m);
/* stats += one row's statistics for every state, w = [1, z], weights g[K]. */
void st_hmm_lg_accum(const st_hmm *m, const double *y, const double *w, const double *g, double *stats);
int st_hmm_lg_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e);
long st_hmm_lg_nparams(const st_hmm *m);
void st_hmm_lg_sample(const st_hmm *m, size_t k, const double *z, st_rng *r, double *y);
int st_hmm_lg_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e);

/* Lengths of m->mean, m->var and m->ar for the family and shape. */
size_t st_hmm_mean_len(const st_hmm *m);
size_t st_hmm_var_len(const st_hmm *m);
size_t st_hmm_ar_len(const st_hmm *m);

/* Full covariances (emit_gauss.c): the Cholesky factor L of S (D x D) and
 * its inverse Linv; *logdet = log det S.  ST_ENUMERIC if S is not positive
 * definite. */
int st_hmm_chol_cache(const double *S, size_t D, double *L, double *Linv, double *logdet);
/* log N(x; mu, S) for a row with missing values (NaN): the marginal of the
 * observed entries; with xhat and C also E[x_m | x_o] filled into xhat and
 * Cov[x_m | x_o] into C (D x D, zero outside the missing block).  -1 if
 * S_oo is not positive definite. */
int st_hmm_missing_gauss(const double *x, const double *mu, const double *S, size_t D, double *lp, double *xhat,
                         double *C);
/* Floor the diagonal of the covariance S (D x D) at vf[0..D-1] and jitter
 * it until it factorises; sets *floored when either changed it.
 * ST_ENUMERIC if it stays singular. */
int st_hmm_floor_cov(double *S, size_t D, const double *vf, int *floored, double *work);

/* Gaussian k-means++ start of m->mean and diagonal m->var (emit_gauss.c),
 * shared with the AR family. */
int st_hmm_gauss_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *c,
                      st_err *e);

/* durations.c: the pmf and survivor of each state from the parameters
 * (part of st_hmm_prepare), the M-step from expected duration counts eta
 * (K x dmax), free parameters, starting values with mean about mean0,
 * and a draw from p_k. */
int st_hmm_dur_prepare(st_hmm *m, st_err *e);
int st_hmm_dur_mstep(st_hmm *m, const double *eta, st_hmm_mctx *cx, st_err *e);
long st_hmm_dur_nparams(const st_hmm *m);
void st_hmm_dur_init(st_hmm *m, double mean0, st_rng *g, int restart);
size_t st_hmm_dur_draw(const st_hmm *m, size_t k, st_rng *r);

/* Size of m->cache for the family. */
size_t st_hmm_cache_size(const st_hmm *m);

/* Per-thread forward-backward workspace for sequences up to Tmax rows. */
typedef struct st_hmm_ws {
    size_t K, Tmax;
    double *B;     /* Tmax x K scaled emission probabilities, then w = B beta / c */
    double *alpha; /* Tmax x K normalised forward probabilities */
    double *gamma; /* Tmax x K posteriors */
    double *logs;  /* Tmax emission scales */
    double *c;     /* Tmax forward normalisers */
    double *v;     /* 2K scratch */
    double *AT;    /* K x K: trans transposed */
    double *pk;    /* 2 x K x K: trans and its transpose packed (st_hmm_pack8), batches only */
    int *bp;       /* Tmax x K Viterbi back-pointers (allocated on demand) */
    /* hidden semi-Markov models (st_hmm_ws_new_for a model with
     * durations; hsmm.c): E, F Tmax x K segment entry and exit masses
     * (then their posteriors), win 2 x K x dmax windows, u 4K scratch */
    size_t Dm;
    double *E, *F, *win, *u;
} st_hmm_ws;

st_hmm_ws *st_hmm_ws_new(size_t K, size_t Tmax);
/* The workspace model m needs (with its durations' arrays). */
st_hmm_ws *st_hmm_ws_new_for(const st_hmm *m, size_t Tmax);
void st_hmm_ws_free(st_hmm_ws *w);

/* hsmm.c: the forward-backward, forward, Viterbi and posterior path draws
 * of models with durations, with st_hmm_fb's conventions: ws->gamma the
 * state posteriors, xi (K*K, may be NULL) += sum_t F_t(i) D_t+1(j) (the
 * caller multiplies by trans), eta (K*dmax, may be NULL) += the expected
 * number of segments of state k lasting d (censored last segments
 * included, by the posterior of their full duration). */
void st_hsmm_fb(const st_hmm *m, const double *x, size_t T, st_hmm_ws *w, double *logl, double *xi, double *eta);
void st_hsmm_forward(const st_hmm *m, const double *x, size_t T, st_hmm_ws *w, double *logl);
/* st_hmm_viterbi for a model with durations (most probable segmentation). */
int st_hsmm_viterbi(st_hmm *m, const st_hmm_data *d, int *path, double *logp, st_err *e);
/* One path from the posterior given st_hsmm_forward's ws; q (K + dmax)
 * scratch. */
void st_hsmm_draw_path(const st_hmm *m, const st_hmm_ws *w, size_t T, const double *lastw, double lastsum, st_rng *r,
                       double *q, int *path);
/* The weights of the last segment's (state, start) for the draws:
 * lastw[k*T + s]; returns their sum. */
double st_hsmm_last_weights(const st_hmm *m, const st_hmm_ws *w, size_t T, double *lastw);
/* Sample one sequence's states and rows from an HSMM. */
void st_hsmm_sample_seq(const st_hmm *m, st_rng *r, size_t T, int *states, double *x);

/* Forward-backward on one sequence (T rows of x).  Fills ws->gamma, ws->B
 * (as w), ws->alpha and returns the log-likelihood in *logl (-INFINITY if
 * the sequence is impossible under the model: then nothing else is
 * valid).  If xi != NULL, xi (K*K) += sum_t alpha_t w_t+1^T (the caller
 * multiplies by trans elementwise). */
void st_hmm_fb(const st_hmm *m, const double *x, size_t T, st_hmm_ws *w, double *logl, double *xi);
/* Sequences per batch, and the number of states from which the E-step
 * batches sequences of equal length: the forward and backward steps of a
 * batch read trans once for all of them (a^T A for several a), which moves
 * them from memory-bound to compute-bound.  Every output element is summed
 * in the same order as unbatched, so batching changes no bit. */
#define ST_HMM_BATCH 6
#define ST_HMM_BATCH_MIN_K 64

/* st_hmm_fb for nb <= ST_HMM_BATCH sequences of the same length T, each
 * with its own workspace; xi[s] may be NULL. */
void st_hmm_fb_batch(const st_hmm *m, const double *const *x, size_t T, st_hmm_ws *const *w, size_t nb,
                     double *logl, double *const *xi);

/* lanes.c: n = 4 or 8 sequences of equal length in the lanes of AVX2
 * vectors (4 <= K < 64, no durations): the forward-backward and the
 * statistics of finish_seq straight into their slots (slot[l]: logL,
 * start, xi (the caller's convention), emissions), bit-identical to
 * st_hmm_fb one at a time.  Returns 0 without a result when the lanes do
 * not apply (no AVX2, K out of range) or a step needs the log-space redo:
 * then run them one at a time. */
#define ST_HMM_LANES 4
typedef struct st_hmm_lws st_hmm_lws;
st_hmm_lws *st_hmm_lws_new(size_t K, size_t Tmax);
void st_hmm_lws_free(st_hmm_lws *w);
int st_hmm_lanes_ok(const st_hmm *m);
/* Whether the E-step uses them (4 <= K <= 12). */
int st_hmm_lanes_worth(const st_hmm *m);
int st_hmm_fb_lanes(const st_hmm *m, const double *const *x, size_t n, size_t T, st_hmm_lws *lw, double *const *slot);

/* Forward pass only (log-likelihood). */
void st_hmm_forward(const st_hmm *m, const double *x, size_t T, st_hmm_ws *w, double *logl);

/* Whether a pass over d is worth starting threads for: below about a
 * millisecond of work, waking a team (and, on a loaded machine, spinning
 * for it) costs more than it saves.  Results never depend on it. */
int st_hmm_worth_threads(const st_hmm *m, const st_hmm_data *d);

/* kernels.c: out = a^T A; out = A w; X += sum_t a_t w_t^T (a, w: T x K). */
void st_hmm_vecmat(const double *a, const double *A, size_t K, double *out);
/* out[s] = a[s]^T A for s < nb <= ST_HMM_BATCH (6), bit-identical to
 * st_hmm_vecmat; Ap is A packed by st_hmm_pack8 (K*K doubles). */
void st_hmm_vecmat_batch(const double *const *a, size_t nb, const double *A, const double *Ap, size_t K,
                         double *const *out);
/* A (K x K) in panels of 8 columns, each panel row-major (i, then 8
 * columns) and contiguous: Ap[j*K + i*8 + q] = A[i*K + j + q] for j a
 * multiple of 8 below K & ~7. */
void st_hmm_pack8(const double *A, size_t K, double *Ap);
void st_hmm_matvec(const double *A, const double *w, size_t K, double *out);
void st_hmm_outer_acc(double *X, const double *a, const double *w, size_t T, size_t K);

/* Longest sequence of d. */
size_t st_hmm_data_maxlen(const st_hmm_data *d);
/* The E-step blocks for nseq sequences (the whole data's count): returns
 * their number, *B = ceil(nseq / 256) sequences each (at least 1; the last
 * block may be short), so up to 256 blocks for any nseq: that many ranks
 * can share the work; lib/hmm/fit.c. */
size_t st_hmm_blocks(size_t nseq, size_t *B);

/* Mean and variance of each column over the observed values (NaN skipped)
 * into mean and v (D): the whole data's figures (st_hmm_data_figures), or,
 * on whole data without them, the same computation done locally. */
void st_hmm_data_colvar(const st_hmm_data *d, double *mean, double *v);
/* The same with the largest value of each column (-INFINITY if none). */
void st_hmm_data_colfigs(const st_hmm_data *d, double *mean, double *v, double *max);

/* Figures of one block: for each column, ST_HMM_NFIG doubles over the
 * observed values (NaN skipped) of rows r0 .. r1-1 of d: count n, mean as
 * hi + lo (lo: the correction of the second pass), sum of squared
 * deviations M2 (corrected two-pass), max.  Merge: the blocks' figures in
 * block order by Chan et al.'s pairwise update (n = na + nb, delta = mb -
 * ma, mean = ma + delta nb / n, M2 = M2a + M2b + delta^2 na nb / n) with
 * the means carried as hi + lo (Fast2Sum), then variance M2 / n (1 if
 * n < 2 or M2 = 0).  Accurate to a few ulps whatever the columns' offset. */
#define ST_HMM_NFIG 5
void st_hmm_block_figures(const st_hmm_data *d, size_t r0, size_t r1, double *out);
void st_hmm_figures_merge(const double *blocks, size_t nblk, size_t D, double *mean, double *var, double *max);

/* The init sample: the rows that data-driven starting models are made
 * from.  If the whole data has at most cap = ST_HMM_INIT_SAMPLE_ROWS rows
 * (the environment variable of that name overrides it, for tests), all of
 * them in order; else, from each E-step block in block order, its first
 * floor(cap / nblocks) rows (all of them if fewer).  It depends only on the
 * data, so one process and any number of ranks make the same sample: each
 * rank contributes its blocks' rows and every rank gets the concatenation
 * (collective).  *s is one sequence of those rows carrying d's whole-data
 * figures, or NULL when the sample is d itself (whole data within the
 * cap). */
#define ST_HMM_INIT_SAMPLE_ROWS ((size_t)1 << 20)
size_t st_hmm_init_sample_cap(void);
int st_hmm_init_sample(st_hmm_data **s, const st_hmm_data *d, st_err *e);

#endif

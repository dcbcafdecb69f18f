/* Hidden Markov models: the model, scaled forward-backward, Viterbi,
 * posterior decoding, Baum-Welch over many sequences, sampling and the
 * `model: hmm` YAML file (stoch-model(5)).
 *
 * Ownership: st_hmm_new/st_hmm_free and st_hmm_data_new/st_hmm_data_free
 * pair up (free accepts NULL); every other function borrows its arguments
 * and writes only into buffers the caller passes. */
#ifndef ST_HMM_HMM_H
#define ST_HMM_HMM_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"
#include "core/stream.h"
#include "core/yaml.h"

/* Emission families. */
typedef enum {
    ST_HMM_CATEGORICAL = 0, /* one or several independent channels of symbols 0..M-1 */
    ST_HMM_POISSON,         /* independent Poisson counts per column */
    ST_HMM_GAUSSIAN,        /* Gaussian, covariance type below */
    ST_HMM_AR,              /* autoregressive Gaussian of order p, diagonal or full noise */
    ST_HMM_GMM,             /* mixture of M Gaussians per state, diagonal or full */
    ST_HMM_BERNOULLI,       /* independent binary channels (0/1) */
    ST_HMM_MULTINOMIAL,     /* counts of D categories out of n trials (hmmlearn's MultinomialHMM) */
    ST_HMM_GAMMA,           /* independent Gamma columns (shape, scale) */
    ST_HMM_LOGNORMAL,       /* independent log-normal columns (mean, variance of log x) */
    ST_HMM_REGRESSION       /* Gaussian linear regression on covariate columns, diagonal or full noise */
} st_hmm_family;

/* Gaussian covariance types. */
typedef enum {
    ST_HMM_COV_DIAG = 0,  /* per state, diagonal */
    ST_HMM_COV_FULL,      /* per state, full */
    ST_HMM_COV_SPHERICAL, /* per state, one variance for all dimensions */
    ST_HMM_COV_TIED       /* one full covariance shared by all states */
} st_hmm_cov;

/* Topologies: which transitions are allowed (the mask). */
typedef enum {
    ST_HMM_ERGODIC = 0,  /* all */
    ST_HMM_LEFT_RIGHT,   /* i -> j for i <= j <= i + maxjump (maxjump 0: any j >= i) */
    ST_HMM_CYCLIC,       /* i -> i, i -> i+1 mod K */
    ST_HMM_LINEAR_CHAIN, /* i -> i-1, i, i+1 (neighbours only) */
    ST_HMM_MASK          /* given explicitly */
} st_hmm_topology;

/* Explicit state durations (hidden semi-Markov models).  A state k
 * entered at t stays for d steps, d drawn from p_k(d) on 1..dmax, then
 * moves to j != k with probability trans[k][j] (the diagonal is 0).  A
 * state without an allowed exit is absorbing: it lasts to the end of the
 * sequence whatever its duration distribution (which it then has none
 * of).  The last segment of a sequence is right-censored: its duration
 * is at least the steps left. */
typedef enum {
    ST_HMM_DUR_NONE = 0, /* a plain HMM (geometric durations) */
    ST_HMM_DUR_NONPAR,   /* p_k(1..dmax) free (zero below the shift) */
    ST_HMM_DUR_POISSON,  /* d = shift + X, X ~ Poisson(lambda), truncated at dmax and renormalised */
    ST_HMM_DUR_NEGBIN    /* d = shift + X, X ~ NegBin(r, p) (failures before r successes), truncated */
} st_hmm_dur;

/* Standard errors: probabilities at or below this are on the boundary
 * (fixed, SE 0). */
#define ST_HMM_SE_PMIN 1e-9

/* Default floors (documented in hmm-fit(1) and stoch-model(5)). */
#define ST_HMM_PROB_FLOOR 1e-10   /* estimated probabilities (allowed entries) */
#define ST_HMM_VAR_FLOOR_REL 1e-6 /* variances >= this times the data variance */
#define ST_HMM_RATE_FLOOR 1e-10   /* Poisson rates */

typedef struct st_hmm {
    size_t K;            /* states */
    size_t D;            /* data columns: channels (categorical) or dimensions */
    st_hmm_family family;
    st_hmm_cov cov;      /* Gaussian only */
    double *start;       /* K */
    double *trans;       /* K*K row-major: trans[i*K+j] = P(s_t = j | s_t-1 = i) */
    unsigned char *mask; /* K*K: 1 free, 0 a structural zero (stays exactly 0) */
    st_hmm_topology topology;
    int maxjump;         /* left-right only */
    int start_stationary;/* start is the stationary distribution of trans */
    /* categorical: channel c has nsym[c] symbols; its K x nsym[c] table of
     * P(symbol | state) starts at prob + symoff[c] */
    size_t *nsym, *symoff;
    double *prob;
    /* Poisson: K*D rates */
    double *rate;
    /* Gaussian: K*D means; variances (diag K*D, spherical K) or covariances
     * (full K*D*D, tied D*D).  AR: mean holds the K*D intercepts, var the
     * K*D noise variances, ar the coefficients: state k, output d, lag l
     * (1..order), input e at ar[((k*D + d)*order + l-1)*D + e], so that
     * x_t = c_k + sum_l A_kl x_t-l + noise; the first `order` rows of a
     * sequence are conditioned on (they carry no emission term). */
    double *mean;
    double *var;
    size_t order;
    double *ar;
    /* GMM: ncomp components per state; weight K*M (rows sum to 1); mean
     * holds K*M*D values, component (k, c) at row k*M + c; var the
     * components' variances (diag, K*M*D) or covariances (full, K*M*D*D).
     * AR with full noise: var holds K*D*D covariances. */
    size_t ncomp;
    double *weight;
    /* Bernoulli: bern K*D probabilities of a 1.  Multinomial: mprob K*D
     * (rows sum to 1) and trials (the n of every row, 0: each row's own
     * sum; sampling needs it).  Gamma: shape and scale, K*D each.
     * Log-normal: mean and var K*D, of log x.  Regression: the last ncov
     * of the D columns are covariates u, the first Dy = D - ncov the
     * responses y = c_k + W_k u + e, e ~ N(0, S_k): mean holds K*Dy
     * intercepts, ar the K*Dy*ncov weights (state k, response d, covariate
     * e at ar[(k*Dy + d)*ncov + e] -- the layout of the AR coefficients
     * with order*D regressors), var the noise variances (diag K*Dy) or
     * covariances (full K*Dy*Dy). */
    double *bern, *mprob, *shape, *scale;
    long trials;
    size_t ncov;
    /* durations (dur != ST_HMM_DUR_NONE): p_k(d), d = 1..dmax, at
     * dprob[k*dmax + d-1] (all families; parametric ones recomputed by
     * st_hmm_prepare from dpar); dpar K x 2: Poisson (lambda, unused),
     * negative binomial (r, p); dshift >= 1: the shortest duration;
     * dsurv (cache) K x (dmax+1): S_k(d) = P(duration >= d) at
     * dsurv[k*(dmax+1) + d-1]. */
    st_hmm_dur dur;
    size_t dmax, dshift;
    double *dprob, *dpar, *dsurv;
    char **colnames;     /* D data column names, or NULL */
    /* Labels (owned, may be NULL): symlabels[c] the nsym[c] symbols of
     * categorical channel c as the data spell them (symbol v is
     * symlabels[c][v]; NULL for a channel of numbers); statelabels the K
     * states' names (from the model file; printed by hmm-decode and
     * hmm-sample instead of 0..K-1). */
    char ***symlabels;
    char **statelabels;
    /* What a fit reports about its estimates (owned, may be NULL; written
     * by st_hmm_write, read past by st_hmm_read): standard errors
     * (st_hmm_stderr) and bootstrap interval bounds (st_hmm_bootstrap), in
     * models shaped as this one. */
    struct st_hmm *se, *boot_lo, *boot_hi;
    long nboot;
    double boot_level;
    /* what the fit recorded (fitted != 0) */
    int fitted;
    double logl;
    long nobs, nseq, iterations;
    int converged;
    /* density cache, refreshed by st_hmm_prepare: categorical P(symbol|state)
     * transposed (symbol-major, K contiguous); Poisson log rates; Gaussian
     * precisions (diag K*D, spherical K) or inverse Cholesky factors (full
     * K*D*D, tied D*D); lognorm[K] the per-state constant terms */
    double *cache;
    double *lognorm;
} st_hmm;

/* Allocate a model with K states for the given family; nsym (categorical,
 * D entries) gives the symbols per channel.  Parameters are zero, mask all
 * ones, topology ergodic. */
int st_hmm_new(st_hmm **m, size_t K, size_t D, st_hmm_family family, st_hmm_cov cov,
               const size_t *nsym, st_err *e);
/* An AR model of order p (1..64); st_hmm_new with ST_HMM_AR gives order 1. */
int st_hmm_new_ar(st_hmm **m, size_t K, size_t D, size_t order, st_err *e);
/* A Gaussian-mixture model with M (1..256) diagonal components per state;
 * st_hmm_new with ST_HMM_GMM gives M = 1. */
int st_hmm_new_gmm(st_hmm **m, size_t K, size_t D, size_t M, st_err *e);
/* Any family, with the shape arguments it needs: order (AR), ncomp (GMM),
 * ncov (regression: covariates among the D columns, 1..D-1), cov (diag or
 * full for AR, GMM and regression; all four for Gaussian), nsym
 * (categorical). */
typedef struct st_hmm_shape {
    st_hmm_family family;
    st_hmm_cov cov;
    const size_t *nsym;
    size_t order, ncomp, ncov;
} st_hmm_shape;
int st_hmm_new_shape(st_hmm **m, size_t K, size_t D, const st_hmm_shape *sh, st_err *e);
/* The number of response columns: D - ncov. */
size_t st_hmm_dy(const st_hmm *m);
/* Make m a hidden semi-Markov model with durations of the given family on
 * shift..dmax (1 <= shift <= dmax <= 100000): allocates the duration
 * arrays (zero), clears the diagonal of the mask and of trans. */
int st_hmm_set_durations(st_hmm *m, st_hmm_dur dur, size_t dmax, size_t shift, st_err *e);
const char *st_hmm_dur_name(st_hmm_dur d);
/* State k of an HSMM is absorbing (no allowed transition out). */
int st_hmm_absorbing(const st_hmm *m, size_t k);
void st_hmm_free(st_hmm *m);
int st_hmm_copy(st_hmm **out, const st_hmm *m, st_err *e);
/* Set the column names (copied). */
int st_hmm_set_colnames(st_hmm *m, const char *const *names, st_err *e);
/* Copy the labels of categorical channel c (nsym[c] strings; NULL clears),
 * or of the K states. */
int st_hmm_set_symlabels(st_hmm *m, size_t c, const char *const *labels, st_err *e);
int st_hmm_set_statelabels(st_hmm *m, const char *const *labels, st_err *e);

/* Fill the mask from a topology ("ergodic", "left-right[:maxjump]",
 * "cyclic", "linear-chain"); ST_EUSAGE for an unknown name. */
int st_hmm_topology_parse(const char *s, st_hmm_topology *t, int *maxjump, st_err *e);
void st_hmm_topology_mask(st_hmm_topology t, int maxjump, size_t K, unsigned char *mask);
const char *st_hmm_family_name(st_hmm_family f);
const char *st_hmm_cov_name(st_hmm_cov c);

/* Check shapes and values: rows of start, trans and categorical tables sum
 * to 1 within 1e-9, masked entries are 0, variances positive, covariances
 * positive definite.  Refreshes the density cache (st_hmm_prepare). */
int st_hmm_validate(st_hmm *m, st_err *e);
/* Refresh the Cholesky/log-constant cache after changing Gaussian parameters. */
int st_hmm_prepare(st_hmm *m, st_err *e);
/* Free parameters: start (K-1 unless stationary), transitions (free
 * entries minus one per row), emissions. */
long st_hmm_nparams(const st_hmm *m);
/* Stationary distribution of trans into pi (K); ST_ENUMERIC if none. */
int st_hmm_stationary(const st_hmm *m, double *pi, st_err *e);

/* ------------------------------------------------------------ data */

typedef struct st_hmm_data {
    size_t nseq, D, total; /* sequences, value columns, rows */
    size_t *off;           /* nseq+1: rows of sequence s are off[s] .. off[s+1]-1 */
    double *x;             /* total x D row-major */
    double *seqid;         /* nseq seq values */
    char **names;          /* D column names */
    char *source;          /* input name for messages */
    /* Under MPI, a rank's share (st_hmm_data_read): the sequences
     * first .. first+nseq-1 of the whole data, whose first row is the whole
     * data's row row0 (for messages); gnseq and gtotal are the whole data's
     * counts (gnseq 0: d is the whole data, first = row0 = 0). */
    size_t first, row0, gnseq, gtotal;
    /* The whole data's column figures (st_hmm_data_figures; NULL until
     * computed): means and variances (NaN skipped) and largest values. */
    double *gmean, *gvar, *gmax;
    /* Columns of text (symbols spelled as labels: DNA letters, words):
     * labels[j] (NULL for a column of numbers) lists column j's nlab[j]
     * labels, and x holds each label's index in that list -- the model's
     * list when the data were read for a model that records one, else the
     * labels present in byte order.  Both NULL when no column is text. */
    char ***labels;
    size_t *nlab;
    /* The inputs (copied, may be NULL: stdin or built from arrays): errors
     * about a row are located at file:line:col by reading them again. */
    char **paths;
    size_t npaths;
} st_hmm_data;

/* Take the value columns (comma list `cols`, or NULL for all but seq, t and
 * state -- the true states hmm-sample writes)
 * of a table, grouped by its seq column if present. */
int st_hmm_data_from_table(st_hmm_data **d, const st_table *t, const char *cols, st_err *e);
/* The same for data to be used with model m (may be NULL): without `cols`,
 * the model's column names when the table has them all, else the default. */
int st_hmm_data_for_model(st_hmm_data **d, const st_table *t, const st_hmm *m, const char *cols, st_err *e);
/* The same, recording the inputs t was read from (st_hmm_data_set_paths). */
int st_hmm_data_for_model_paths(st_hmm_data **d, const st_table *t, const st_hmm *m, const char *cols,
                                const char *const *paths, size_t npaths, st_err *e);
/* Build directly from arrays (copied): nseq sequences with len[s] rows. */
int st_hmm_data_new(st_hmm_data **d, size_t nseq, const size_t *len, size_t D, const double *x,
                    st_err *e);
void st_hmm_data_free(st_hmm_data *d);
/* Record the inputs d was read from, for the location of errors. */
int st_hmm_data_set_paths(st_hmm_data *d, const char *const *paths, size_t npaths, st_err *e);
/* The reader options for data of emission family f to be used with model
 * m (may be NULL): for categorical data, strings allowed (symbols spelled
 * as labels, string seq ids) and the columns whose symbols m labels read
 * as text (*buf holds the list; free it); other families read numbers
 * only, so that text in a value column is an error at its cell. */
st_reader_opts st_hmm_reader_opts(const st_hmm *m, st_hmm_family f, const char *cols, char **buf);
/* Read DATA for fitting (paths as st_table_read_many; none: stdin), with
 * the columns of st_hmm_data_for_model.  One process reads everything in
 * one pass.  Under MPI (st_mpi_size() > 1; collective) each rank streams
 * the inputs once to count the sequences (st_table_count_groups: with
 * several files each rank parses only its share of them), then
 * keeps only the sequences of its E-step blocks (st_hmm_blocks,
 * st_mpi_share; st_table_read_groups), so no rank holds the whole data.
 * Either way the whole data's column figures are filled
 * (st_hmm_data_figures) and errors are the same on every rank. */
int st_hmm_data_read(st_hmm_data **d, const char *const *paths, size_t npaths, const st_hmm *m, const char *cols,
                     st_err *e);
/* The same with covariates: the comma list covs (may be NULL) is left out
 * of the default value columns and appended after them (regression
 * emissions take the last columns as covariates).  Ignored when the
 * columns come from the model m. */
/* The same for data of emission family f (text only for categorical). */
int st_hmm_data_read_fam(st_hmm_data **d, const char *const *paths, size_t npaths, const st_hmm *m, const char *cols,
                         const char *covs, st_hmm_family f, st_err *e);
int st_hmm_data_read_cov(st_hmm_data **d, const char *const *paths, size_t npaths, const st_hmm *m, const char *cols,
                         const char *covs, st_err *e);
/* Fill d->gmean, d->gvar, d->gmax: per E-step block (n, mean, M2, max) of
 * each column, NaN skipped, Welford within the block, then the blocks
 * merged in block order (Chan et al.'s pairwise update).  Under MPI each
 * rank computes its blocks and the block figures are exchanged, so every
 * rank has the bits one process computes.  Collective. */
int st_hmm_data_figures(st_hmm_data *d, st_err *e);
/* Check the data fit the family: categorical symbols integers in 0..nsym-1
 * (nsym may be NULL: only non-negative integers), Poisson counts
 * non-negative integers, no NaN except in diag/spherical Gaussian data
 * (marginalised), at least one observed value per row for Gaussian, AR
 * sequences longer than the order.  The error names the row, sequence and
 * column.  On a rank's share (st_hmm_data_read) the check is collective:
 * every rank returns the error of the first bad row of the whole data,
 * numbered as in the whole data. */
int st_hmm_data_check(const st_hmm_data *d, st_hmm_family f, st_hmm_cov cov, const size_t *nsym,
                      st_err *e);
/* The same for an AR model of the given order. */
int st_hmm_data_check_ar(const st_hmm_data *d, size_t order, st_err *e);
/* The checks for any family and shape (st_hmm_data_check is this with the
 * family's defaults): also Bernoulli values 0/1, multinomial counts
 * non-negative integers summing to trials (if > 0), Gamma and log-normal
 * values positive, regression covariates (the last sh->ncov columns)
 * observed; NaN marginalised for Gaussian, mixtures, Bernoulli, Gamma and
 * log-normal.  Collective on a share, as st_hmm_data_check. */
int st_hmm_data_check_spec(const st_hmm_data *d, const st_hmm_shape *sh, long trials, st_err *e);
/* The checks for data decoded with model m (also its number of columns). */
int st_hmm_data_check_model(const st_hmm_data *d, const st_hmm *m, st_err *e);

/* Refuse up front (ST_ENOMEM, with the figures) a buffer of `bytes` for
 * `what` that exceeds the machine's physical memory. */
int st_hmm_check_memory(double bytes, const char *what, st_err *e);

/* ----------------------------------------------------- inference */

/* Log-likelihood of each sequence (logl[s], may be NULL) and the total. */
int st_hmm_loglik(st_hmm *m, const st_hmm_data *d, double *logl, double *total, st_err *e);
/* Posterior state probabilities: post is total x K (row-major, rows as in
 * d); logl per sequence may be NULL. */
int st_hmm_posterior(st_hmm *m, const st_hmm_data *d, double *post, double *logl, st_err *e);
/* Most probable path: path has total entries; logp[s] (may be NULL) gets
 * the joint log-probability of sequence s and its path. */
int st_hmm_viterbi(st_hmm *m, const st_hmm_data *d, int *path, double *logp, st_err *e);
/* Posterior sample paths (forward filtering, backward sampling): paths
 * p0 .. p0+np-1 of each sequence s0 .. s1-1 of d, drawn from
 * p(states | x).  Sequence s's paths are at paths + (off[s] - off[s0]) * np,
 * path p0 + i of it at + i * T_s.  Path p of sequence s draws from stream
 * p of st_hmm_path_seed(seed, s), so its states depend on neither the
 * ranges a caller splits the work into nor the thread count.  logl (s1 -
 * s0 entries, may be NULL) gets the sequences' log-likelihoods. */
int st_hmm_sample_paths(st_hmm *m, const st_hmm_data *d, size_t s0, size_t s1, size_t p0, size_t np, uint64_t seed,
                        int *paths, double *logl, st_err *e);
/* The seed of sequence s's paths: a draw from stream s of seed. */
uint64_t st_hmm_path_seed(uint64_t seed, size_t s);

/* ----------------------------------------------------- fitting */

typedef struct st_hmm_fit_opts {
    size_t K;
    st_hmm_family family;
    st_hmm_cov cov;
    const size_t *nsym;      /* categorical: symbols per channel, NULL: from the data */
    size_t order;            /* AR order (default 1 when 0) */
    size_t ncomp;            /* GMM components per state (default 2 when 0) */
    size_t ncov;             /* regression: the last ncov data columns are covariates */
    long trials;             /* multinomial: trials per row (0: each row's sum) */
    st_hmm_dur dur;          /* explicit durations (HSMM), ST_HMM_DUR_NONE: an HMM */
    size_t dmax, dshift;     /* longest duration, shortest (default 1) */
    st_hmm_topology topology;
    int maxjump;
    const unsigned char *mask; /* K*K for ST_HMM_MASK */
    int start_stationary;
    int fix_start, fix_trans, fix_emis, fix_dur; /* keep at the --init values */
    const st_hmm *init;      /* initial model (K and family must match) or NULL */
    st_hmm *const *starts;   /* without init: the restarts' starting models made
                                by st_hmm_fit_starts, or NULL */
    double pseudo;           /* Dirichlet pseudo-count on start and allowed transitions */
    double sticky;           /* extra pseudo-count on self-transitions */
    double prob_floor;       /* < 0: default ST_HMM_PROB_FLOOR */
    double var_floor;        /* absolute variance floor, < 0: default (relative) */
    int restarts;            /* >= 1 */
    uint64_t seed;
    int max_iter;            /* default 500 when 0 */
    double tol;              /* relative logL change, default 1e-8 when 0 */
    int accelerate;          /* SQUAREM extrapolation of EM steps (Varadhan & Roland 2008) */
    /* Called after each iteration (may be NULL). */
    void (*progress)(void *ctx, int restart, int iter, double logl, double change);
    void *progress_ctx;
} st_hmm_fit_opts;

void st_hmm_fit_opts_init(st_hmm_fit_opts *o);

/* Baum-Welch with restarts; the best final log-likelihood wins.  *out gets
 * a new model with fitted = 1 and the fit record filled.  d may be a rank's
 * share (st_hmm_data_read): then st_hmm_fit is collective and gives every
 * rank the model one process fits on the whole data.  Without o->init or
 * o->starts the restarts start from the data: k-means++ (Gaussian, AR,
 * GMM), quantiles (Poisson) or frequencies (categorical) over the init
 * sample (st_hmm_init_sample in lib/hmm/internal.h: the whole data up to
 * ST_HMM_INIT_SAMPLE_ROWS rows, else the first rows of every E-step block). */
int st_hmm_fit(st_hmm **out, const st_hmm_data *d, const st_hmm_fit_opts *o, st_err *e);
/* The starting models st_hmm_fit would make (o->restarts of them, o->init
 * NULL) with the same checks (collective on a share, like st_hmm_fit).
 * Free with st_hmm_fit_starts_free(starts, o->restarts). */
int st_hmm_fit_starts(st_hmm ***starts, const st_hmm_data *d, const st_hmm_fit_opts *o, st_err *e);
void st_hmm_fit_starts_free(st_hmm **starts, int n);

/* One EM iteration in place (E-step over all sequences, M-step): for tests
 * and peers that compare iteration by iteration.  *logl gets the
 * log-likelihood of the model before the update. */
int st_hmm_em_step(st_hmm *m, const st_hmm_data *d, const st_hmm_fit_opts *o, double *logl,
                   st_err *e);

/* Standard errors of fit's free parameters (those o does not fix; o may
 * be NULL): the observed information by central differences of the exact
 * log-likelihood in unconstrained parameters (lib/hmm/se.c), inverted,
 * and the delta method back.  *se is a model of fit's shape holding the
 * SEs (0 for parameters not estimated); *nfree (may be NULL) the number of
 * unconstrained parameters; *decrement (may be NULL) the Newton decrement
 * g^T H^-1 g / 2, the log-likelihood a Newton step would still gain: the
 * SEs are those of the maximum only when it is near 0, so fit tightly
 * (hmm-fit --se uses --tol 1e-12).  Costs 2 n^2 + 2 n + 1 log-likelihood
 * evaluations.  ST_ENUMERIC if the information is not positive definite.
 * Collective on a share (st_hmm_data_read). */
int st_hmm_stderr(const st_hmm *fit, const st_hmm_data *d, const st_hmm_fit_opts *o, st_hmm **se, size_t *nfree,
                  double *decrement, st_err *e);
/* Parametric bootstrap: B data sets drawn from fit with d's sequence
 * lengths (regression: d's covariates), each refitted by EM from fit with
 * o's options; percentile intervals at level (e.g. 0.95) into *lo and *hi
 * (models of fit's shape).  Replicate b, sequence s (its index in the
 * whole data) draws from stream s of a seed drawn from stream b of seed, so
 * the intervals do not depend on -j or ranks.  Collective on a share. */
int st_hmm_bootstrap(const st_hmm *fit, const st_hmm_data *d, const st_hmm_fit_opts *o, long B, double level,
                     uint64_t seed, st_hmm **lo, st_hmm **hi, st_err *e);

/* Information criteria from a fitted model. */
double st_hmm_aic(const st_hmm *m);
double st_hmm_bic(const st_hmm *m);

/* ----------------------------------------------------- sampling */

/* n sequences of length T; states (n*T) and x (n*T x D) row-major.  Each
 * sequence s draws from st_rng_stream(seed, s). */
int st_hmm_sample(const st_hmm *m, size_t n, size_t T, uint64_t seed, int *states, double *x,
                  st_err *e);
/* The same in blocks: base is the generator of the block's first sequence
 * (st_rng_stream(&base, seed, 0) before the first block); it is advanced by
 * n jumps, so consecutive blocks continue the numbering and the output
 * equals one st_hmm_sample call.  m must be validated (st_hmm_validate). */
int st_hmm_sample_next(const st_hmm *m, st_rng *base, size_t n, size_t T, int *states, double *x,
                       st_err *e);

/* ----------------------------------------------------- model files */

int st_hmm_read(st_hmm **m, const char *path, st_err *e);
int st_hmm_read_doc(st_hmm **m, const st_ydoc *doc, const st_ynode *root, st_err *e);
int st_hmm_write(const st_hmm *m, FILE *fp, st_err *e);
/* A transition mask file: YAML with one key 'mask', a K x K matrix of 0 and
 * 1.  *mask (K*K) is malloc'ed. */
int st_hmm_read_mask(const char *path, size_t K, unsigned char **mask, st_err *e);

#endif

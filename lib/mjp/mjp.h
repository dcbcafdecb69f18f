/* Markov jump processes (continuous-time Markov chains on K states): the
 * rate-matrix model with its constraints and parametric rate families, the
 * data (exact paths, panel snapshots, noisy observations), maximum
 * likelihood by EM and by L-BFGS, summaries, and path sampling.
 *
 * Ownership: st_mjp_new/st_mjp_free, st_mjp_data_free, st_mjp_fit_free
 * pair up; free accepts NULL.  Functions never keep pointers to what the
 * caller passes in, except a st_mjp_data that was compiled against a model
 * refers to nothing but its own arrays. */
#ifndef ST_MJP_MJP_H
#define ST_MJP_MJP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/expr.h"
#include "core/progress.h"
#include "core/stream.h"

/* ------------------------------------------------------------ formulas */

/* A rate formula: an expression of the toolkit's one language
 * (lib/core/expr.h, stoch-model(5)) in a few named parameters, compiled
 * with the parameters live so that it is evaluated and differentiated at
 * any parameter values.  src locates the text for messages (NULL: none);
 * an unknown name or a syntax error is ST_EDATA at its character. */
int st_mjp_rate_compile(st_expr **x, const char *text, const char *const *names, size_t nnames,
                        const st_expr_src *src, st_err *e);
/* Value at par[]; if grad != NULL, d value / d par[p] for p < nnames. */
double st_mjp_rate_eval(const st_expr *x, const double *par, double *grad);

/* --------------------------------------------------------------- model */

#define ST_MJP_MAX_STATES 64
#define ST_MJP_MAX_PARAMS 32

typedef struct st_mjp {
    size_t K;            /* states */
    char **labels;       /* K labels or NULL */
    double *Q;           /* K x K rate matrix, rows sum to 0 */
    unsigned char *allowed; /* K x K: transition i->j may happen (i != j) */
    unsigned char *fixed;   /* K x K: rate held at its value (free-rate models) */
    double *init;        /* K initial distribution */
    int init_given;      /* `initial` was in the file (hidden: held fixed unless estimated) */
    int init_estimate;   /* hidden models: estimate the initial distribution */
    size_t M;            /* observed symbols of the emission matrix, 0 if none */
    double *E;           /* K x M emission (misclassification) matrix or NULL */
    int E_fixed;         /* emission held fixed */
    /* Parametric rate family: P named parameters; rate i->j = expr[i*K+j]
     * (NULL where no rate).  P == 0 means free rates. */
    size_t P;
    char **pnames;
    double *par;
    unsigned char *ppos; /* parameter is positive (optimised on the log scale) */
    st_expr **expr;
    /* Covariates (issue 16): C named covariates, centred at cmean (msm's
     * default: their means over the intervals' start rows; 0 = no
     * centring).  On the rates, log-linear:
     *     q_ab(z) = q_ab exp(sum_c beta[ab C + c] (z_c - cmean[c]))
     * with q_ab the baseline (Q, or the rate formula), z the covariates in
     * force at the start of an interval (piecewise constant between
     * observations).  bpar[ab C + c] is the free parameter the effect is
     * (several cells may share one: msm's constraint), -1 where there is
     * no effect (beta 0).  On misclassification probabilities (hidden
     * models with M == K), logistic with the diagonal as reference:
     *     E_ij(z) = E_ij e^{g_ij} / sum_k E_ik e^{g_ik},
     *     g_ij = sum_c egam[ij C + c] (z_c - cmean[c]),  g_ii = 0
     * with egpar as bpar.  The last ncut covariates are the indicators of
     * the time periods [tcut[i], tcut[i+1]) (tcut[ncut] = inf), i >= 0,
     * after the first period (msm's pci): observations are added at the
     * cut points (state unknown), so rates change there. */
    size_t C;
    char **cnames;
    double *cmean;
    double *beta;        /* K*K x C */
    int *bpar;           /* K*K x C */
    size_t nbpar;
    double *egam;        /* K*M x C (NULL without emission covariates) */
    int *egpar;          /* K*M x C */
    size_t negpar;
    size_t ncut;
    double *tcut;
} st_mjp;

/* A model with K states, no transitions allowed yet, uniform initial. */
int st_mjp_new(st_mjp **m, size_t K, st_err *e);
void st_mjp_free(st_mjp *m);
int st_mjp_copy(st_mjp **dst, const st_mjp *src, st_err *e);

/* Read and check a model file (stoch-model(5), `model: mjp`).  A `fit:`
 * section written by mjp-infer is accepted and ignored. */
int st_mjp_read(st_mjp **m, const char *path, st_err *e);
int st_mjp_read_string(st_mjp **m, const char *text, size_t len, const char *name, st_err *e);
/* Read an emission matrix file: a YAML mapping with `emission:` (as in a
 * model file; `model: mjp` and `version: 1` optional) for a K-state model. */
int st_mjp_read_emission(st_mjp *m, const char *path, st_err *e);
/* Number of rows (true states) of the emission matrix in path. */
int st_mjp_emission_states(const char *path, size_t *K, st_err *e);

/* Check a rate matrix: rows sum to 0 (relative tol 1e-8), off-diagonals
 * >= 0 and finite.  The error names the row (0-based). */
int st_mjp_check_q(const double *Q, size_t K, const char *src, st_err *e);
/* Check an emission matrix: entries in [0,1], rows sum to 1 (tol 1e-8). */
int st_mjp_check_emission(const double *E, size_t K, size_t M, const char *src, st_err *e);

/* Evaluate a parametric model's rates at m->par into m->Q (no-op for free
 * rates).  ST_EDATA if a rate is negative or not finite. */
int st_mjp_update_q(st_mjp *m, st_err *e);

/* ---------------------------------------------------------- covariates */

#define ST_MJP_MAX_COVS 32

/* Declare the model's covariates (names in order; time periods come from
 * st_mjp_set_timecuts), no effects yet, no centring. */
int st_mjp_set_covariates(st_mjp *m, const char *const *names, size_t C, st_err *e);
/* Effects on the rates from a specification: "sex,dage" (these
 * covariates on every allowed transition) or "A-B:sex+dage" (on one
 * transition; states as in --allowed, minus base); each new effect is a
 * free parameter of its own, starting at 0.  Unknown names are errors. */
int st_mjp_add_effects(st_mjp *m, const char *spec, int base, st_err *e);
/* msm's constraint: "sex=1,1,2,..." gives the effects of covariate sex,
 * in the order of the transitions that have it (row by row), group
 * labels; effects with the same label share one parameter. */
int st_mjp_set_constraint(st_mjp *m, const char *spec, st_err *e);
/* Effects on misclassification: covariates "sex,dage" on every free
 * off-diagonal emission probability (msm's misccovariates). */
int st_mjp_add_misc_effects(st_mjp *m, const char *spec, st_err *e);
/* Piecewise-constant rates (msm's pci): cut points, increasing; adds the
 * covariates "timeperiod[a,b)" with effects on every allowed transition. */
int st_mjp_set_timecuts(st_mjp *m, const double *cuts, size_t n, st_err *e);
/* Index of covariate name, -1 if none. */
int st_mjp_covariate_index(const st_mjp *m, const char *name);
/* Number the free effects 0.. in the order of the cells (after
 * constraints), setting nbpar and negpar. */
void st_mjp_number_effects(st_mjp *m);
/* Rates at covariate values z (C values, not centred) into Q (K x K). */
void st_mjp_rates_at(const st_mjp *m, const double *z, double *Q);
/* Emission at z into E (K x M); a copy of m->E without emission effects. */
void st_mjp_emission_at(const st_mjp *m, const double *z, double *E);
/* Move the centre of the covariates to zc (C values), keeping the rates
 * (and misclassification probabilities) at every covariate value: the
 * baseline Q and E are those at zc (formula rates: only the centre moves). */
int st_mjp_set_centre(st_mjp *m, const double *zc, st_err *e);
struct st_mjp_data;
/* Every time period of the model holds some interval of the data. */
int st_mjp_check_periods(const st_mjp *m, const struct st_mjp_data *d, st_err *e);
/* Time-period indicators of time t into z[C - ncut .. C - 1]. */
void st_mjp_period_at(const st_mjp *m, double t, double *z);

/* State index of a label or decimal index text, -1 if none. */
int st_mjp_state_index(const st_mjp *m, const char *s);
/* Parse "1-2,2-1,..." (indices minus `base`, or labels) into m->allowed,
 * replacing it.  Rates of newly allowed transitions start at 0 until
 * st_mjp_init_rates. */
int st_mjp_set_allowed(st_mjp *m, const char *list, int base, st_err *e);
/* 1 if state i has no allowed transition out of it. */
int st_mjp_absorbing(const st_mjp *m, size_t i);

/* ---------------------------------------------------------------- data */

enum { ST_MJP_EXACT = 1, ST_MJP_PANEL = 2, ST_MJP_HIDDEN = 3 };

/* msm's obstype: 1 snapshot, 2 exact transition time (state held since the
 * previous observation), 3 exact entry time into an absorbing state (state
 * just before unknown). */
enum { ST_MJP_OBS_SNAPSHOT = 1, ST_MJP_OBS_EXACT = 2, ST_MJP_OBS_DEATH = 3 };

/* A censoring code: a data value that means "one of these states". */
typedef struct st_mjp_censor {
    double code;
    unsigned char member[ST_MJP_MAX_STATES];
} st_mjp_censor;

typedef struct st_mjp_data {
    int mode;         /* ST_MJP_EXACT / PANEL / HIDDEN */
    size_t K, M;
    size_t nsubj;     /* subjects kept */
    double *seq;      /* nsubj subject ids */
    size_t *start;    /* nsubj + 1 offsets into the observations */
    size_t nobs;
    double *t;        /* times */
    int *y;           /* state (>= 0), symbol (hidden), or -(c+1) for censor code c */
    unsigned char *obstype;
    size_t nskipped;  /* subjects with one observation (no information) */
    double first_skipped;
    size_t ncensor;
    st_mjp_censor *censor;
    /* Subject blocks (data-parallel layout, issue 8): the seq groups of the
     * whole data (a skipped subject is a group too) are cut into blocks of
     * bgroups consecutive groups, a size that depends only on the whole
     * data (st_mjp_block_groups); grp[s] is subject s's group index in the
     * whole data.  The likelihood engine and st_mjp_init_rates compute
     * per-block partials, each rank those of its share of the blocks
     * (st_mpi_share(nblocks)), and add them in block order, so a rank may
     * hold only the subjects of its share (st_mjp_data_from_share).  The
     * *_all figures and first_skipped are the whole data's. */
    size_t *grp;
    size_t ngroups, bgroups;
    size_t nsubj_all, nobs_all, nskipped_all;
    /* Covariate patterns (issue 16): the distinct covariate vectors of the
     * whole data (npat x C, sorted; npat = 1 and C = 0 without
     * covariates), and each observation's pattern: the interval ending at
     * observation k has the rates of pat[k - 1], observation k the
     * emission of pat[k].  zmean: mean of the covariates over the start
     * rows of the intervals (what msm centres at); ninserted: observations
     * added at time cut points (whole data), their y the last censor
     * code (any state). */
    size_t C, npat;
    double *Z;
    size_t *pat;
    double *zmean;
    size_t ninserted;
} st_mjp_data;

/* Build data from a table with columns seq (optional: one subject), t,
 * state (or `obs` for hidden data when present), obstype (optional), and
 * the model's covariates (by name; a missing or non-finite value is an
 * error naming the row).
 * state values are `base`-based state indices (or censor codes).  Checks:
 * decreasing times, states outside the model, zero-length intervals with
 * a change of state, exact jumps forbidden by the mask, transitions that
 * the mask makes impossible; each error names the subject and the row. */
struct st_table;
int st_mjp_data_from_table(st_mjp_data **d, const struct st_table *tab, const st_mjp *m, int mode,
                           int base, const st_mjp_censor *censor, size_t ncensor, st_err *e);
void st_mjp_data_free(st_mjp_data *d);
/* The same with the data conventions in one place.  deathexact >= 0: a
 * panel observation of that state (0-based) is an exact entry time, the
 * state just before unknown (obstype 3, msm's deathexact), whatever the
 * obstype column says.  The state column may hold text: labels of the
 * model (m->labels; a label that reads as a number may be a censor
 * code).  Text is also allowed in seq (ids, printed in messages) and in
 * columns the model does not use; t, obstype and covariates must be
 * numbers. */
typedef struct st_mjp_data_opts {
    int mode, base;
    const st_mjp_censor *censor;
    size_t ncensor;
    int deathexact;
} st_mjp_data_opts;
/* What the state column (obs for hidden data, when present) of this
 * process's rows holds: numbers -> their range [*lo, *hi] without the
 * censor codes (lo = inf when none); text -> the distinct labels, sorted,
 * without texts that read as censor codes (*labels malloc'ed, each
 * label too). */
int st_mjp_table_states(const struct st_table *tab, int mode, const st_mjp_censor *censor, size_t ncensor,
                        double *lo, double *hi, char ***labels, size_t *nlabels, st_err *e);
/* Every state of the model appears in the data (as a state or as a member
 * of a censor code) or is reachable from one that does: a state never
 * observed and never reachable, or never observed while every transition
 * is allowed (mask_given 0: nothing says it is a state the data cannot
 * show), is ST_EDATA, not a phantom state with fitted rates.  Hidden data
 * are not checked.  Collective under MPI. */
int st_mjp_check_observed(const st_mjp *m, const st_mjp_data *d, int mask_given, int base, st_err *e);
int st_mjp_data_from_table_opts(st_mjp_data **d, const struct st_table *tab, const st_mjp *m,
                                const st_mjp_data_opts *o, st_err *e);

/* Groups per subject block for a whole data set of ngroups seq groups and
 * nrows rows: about 2,048 intervals per block (so that the Van Loan
 * integrals done per block and interval length stay a small part of the
 * forward-backward work when lengths repeat), at most 256 blocks. */
size_t st_mjp_block_groups(size_t ngroups, size_t nrows);
/* Number of subject blocks of d. */
size_t st_mjp_nblocks(const st_mjp_data *d);

/* Data-parallel reading (collective under MPI): tab holds the seq groups
 * group0 .. of a whole data set of ngroups groups and nrows rows, its first
 * row being row row0 (0-based) of the whole data; under MPI each rank
 * passes the groups of its share of the subject blocks
 * (st_mpi_share(ceil(ngroups / st_mjp_block_groups(ngroups, nrows)))).
 * The checks are st_mjp_data_from_table's; a data error found on any rank
 * is reported on every rank as the one process would (the first in row
 * order, with the whole data's row numbers: st_mpi_agree_error), and the
 * whole data's subject and observation counts are exchanged. */
int st_mjp_data_from_share(st_mjp_data **d, const struct st_table *tab, const st_mjp *m, int mode, int base,
                           const st_mjp_censor *censor, size_t ncensor, size_t ngroups, size_t nrows,
                           size_t group0, size_t row0, st_err *e);
int st_mjp_data_from_share_opts(st_mjp_data **d, const struct st_table *tab, const st_mjp *m,
                                const st_mjp_data_opts *o, size_t ngroups, size_t nrows, size_t group0, size_t row0,
                                st_err *e);

/* Crude starting rates for panel/exact data (msm's crudeinits): observed
 * transitions between consecutive observations over time spent in the
 * earlier state; allowed transitions with no count get a small rate.
 * Only free, non-fixed rates of a free-rate model are changed. */
int st_mjp_init_rates(st_mjp *m, const st_mjp_data *d, st_err *e);

/* ------------------------------------------------------------ fitting */

enum { ST_MJP_FIT_AUTO = 0, ST_MJP_FIT_EM, ST_MJP_FIT_LBFGS };

typedef struct st_mjp_fit_opts {
    int method;       /* ST_MJP_FIT_AUTO: closed form for exact data with free
                         rates, else EM (to 1e-9) then Newton steps, L-BFGS if
                         Newton cannot; ST_MJP_FIT_EM: EM only (to tol);
                         ST_MJP_FIT_LBFGS: L-BFGS then Newton steps */
    int max_iter;     /* EM iterations or L-BFGS evaluations; 0 = default */
    double tol;       /* relative change of the log-likelihood; 0 = 1e-10 */
    int want_se;      /* observed-information standard errors */
    st_progress_fn progress; /* called with the likelihood evaluations done */
    void *progress_ctx;
} st_mjp_fit_opts;

typedef struct st_mjp_fit {
    double loglik, minus2loglik, aic;
    size_t nfree;     /* free parameters (rates, emission, initial) */
    int iterations;
    int converged;
    const char *method;
    double grad_norm; /* max |d logL / d theta| at the end */
    /* Standard errors (NULL when not computed); NaN where not estimable. */
    double *Q_se, *Q_lo, *Q_hi;   /* K x K */
    double *par_se, *par_lo, *par_hi; /* P (parametric models) */
    double *E_se;                 /* K x M (estimated emission) */
    double *beta_se;              /* nbpar: covariate effects on the rates */
    double *egam_se;              /* negpar: effects on misclassification */
    double *cov;                  /* nfree x nfree covariance of theta */
    void *map;                    /* what theta means (st_mjp_fit_get_theta) */
    /* likelihood-ratio test against a nested fit (set by the caller;
     * written when lr_against is not NULL) */
    const char *lr_against;
    double lr, lr_p;
    size_t lr_df;
} st_mjp_fit;

/* Fit m in place (Q, parameters, emission, initial) to d. */
int st_mjp_fit_run(st_mjp *m, const st_mjp_data *d, const st_mjp_fit_opts *o, st_mjp_fit **fit,
                   st_err *e);
void st_mjp_fit_free(st_mjp_fit *f);
/* The fit's parameter vector theta (nfree: log rates or formula
 * parameters, covariate effects, emission and initial logits) of model m
 * (the fitted model or a copy), and m set from theta; -1 if m does not
 * have the fitted model's structure (or a rate formula fails). */
int st_mjp_fit_get_theta(const st_mjp_fit *f, const st_mjp *m, double *th);
int st_mjp_fit_set_theta(const st_mjp_fit *f, st_mjp *m, const double *th);

/* Log-likelihood of d under m (conditional on each subject's first state
 * for exact and panel data; hidden data include the initial distribution). */
int st_mjp_loglik(const st_mjp *m, const st_mjp_data *d, double *loglik, st_err *e);

/* Expected sufficient statistics at m: transitions N (K x K), time spent
 * D (K), and d logL / d q_ij in G (K x K; may be NULL).  For panel and
 * hidden data they come from the Van Loan integrals of exp(Q t). */
int st_mjp_expected_stats(const st_mjp *m, const st_mjp_data *d, double *loglik, double *N,
                          double *D, double *G, st_err *e);

/* Van Loan: I = int_0^t exp(Q^T u) W exp(Q^T (t-u)) du (K x K), the
 * building block of the expected counts: for a panel interval r -> s with
 * W = e_r e_s^T / P_rs(t), I_aa is the expected time in a and q_ab I_ab
 * the expected number of a -> b jumps. */
int st_mjp_vanloan(const double *Q, size_t K, double t, const double *W, double *I, st_err *e);

/* P(t) = exp(Q t). */
int st_mjp_pmatrix(const st_mjp *m, double t, double *P, st_err *e);
/* P(t) on a grid (lib/mjp/pgrid.c): P gets nt K x K matrices P(t[k]) and
 * stay (nt x K) the probabilities exp(q_aa t[k]) of no jump out of a by
 * t[k]. */
int st_mjp_pmatrix_grid(const st_mjp *m, const double *t, size_t nt, double *P, double *stay, st_err *e);
/* Longest follow-up of a subject in d (last minus first observation time;
 * 0 without subjects): the default end of mjp-infer's --pmatrix-grid. */
double st_mjp_data_span(const st_mjp_data *d);

/* Viterbi path of true states for subject s of hidden data (states[] gets
 * one entry per observation of the subject). */
int st_mjp_viterbi(const st_mjp *m, const st_mjp_data *d, size_t s, int *states, st_err *e);

/* ------------------------------------------------------------ summaries */

/* Mean sojourn times -1/q_ii (INFINITY for absorbing states). */
void st_mjp_sojourn(const st_mjp *m, double *out);
/* Stationary distribution (pi Q = 0, sum 1).  ST_ENUMERIC if not unique. */
int st_mjp_stationary(const st_mjp *m, double *pi, st_err *e);
/* Expected number of visits to each state before absorption, starting from
 * the initial distribution (the start counts as a visit).  ST_EDATA if no
 * state is absorbing (visits are then infinite). */
int st_mjp_expected_visits(const st_mjp *m, double *visits, st_err *e);

/* --------------------------------------------------- derived quantities */

/* At covariate values z (C values; NULL: the centre), as msm's
 * pmatrix.msm, totlos.msm, efpt.msm, pnext.msm, sojourn.msm, qmatrix.msm:
 *   PMATRIX  P(t) = exp(Q(z) t), K x K
 *   TOTLOS   expected time in state s up to horizon t (INFINITY: for
 *            life) from start state r, K x K (INFINITY for absorbing s
 *            reachable from r when t is infinite)
 *   EFPT     expected first passage time to state `state` from each
 *            state, K (INFINITY where another absorbing state may come
 *            first)
 *   PNEXT    probability that the next state from r is s, K x K (NAN
 *            for absorbing r)
 *   SOJOURN  mean sojourn time -1/q_rr, K (INFINITY for absorbing)
 *   QMATRIX  Q(z), K x K */
enum { ST_MJP_D_PMATRIX, ST_MJP_D_TOTLOS, ST_MJP_D_EFPT, ST_MJP_D_PNEXT, ST_MJP_D_SOJOURN, ST_MJP_D_QMATRIX };

typedef struct st_mjp_dspec {
    int kind;
    double t;        /* PMATRIX: time; TOTLOS: horizon */
    int state;       /* EFPT: target state */
    const double *z; /* covariate values or NULL */
} st_mjp_dspec;

/* Number of values of quantity kind (K x K or K). */
size_t st_mjp_derived_size(const st_mjp *m, int kind);
int st_mjp_derived(const st_mjp *m, const st_mjp_dspec *s, double *v, st_err *e);

/* Intervals: delta method (on the log scale for positive quantities,
 * logit for probabilities, log(-q) for diagonal rates), or the
 * quantiles of the quantity over `draws` parameter vectors drawn from the
 * asymptotic normal distribution of the estimates (msm's ci = "normal";
 * R's quantile type 7), seeded. */
enum { ST_MJP_CI_NONE, ST_MJP_CI_DELTA, ST_MJP_CI_NORMAL, ST_MJP_CI_BOOT };
typedef struct st_mjp_ci_opts {
    int method;
    size_t draws;  /* default 1000 */
    uint64_t seed;
    double level;  /* default 0.95 */
    /* ST_MJP_CI_BOOT: the parameter vectors of nboot refits
     * (st_mjp_bootstrap), used as the normal draws are */
    const double *boot;
    size_t nboot;
} st_mjp_ci_opts;

/* Parametric bootstrap: B data sets simulated from the fitted model m
 * (Gillespie paths, piecewise-constant rates of each interval's
 * covariates and time period) on the design of d: each subject starts in
 * its first observed state (a censored one: the first state it may be)
 * and is observed at its times; a subject whose data end in an exact
 * death time (obstype 3) has its simulated death recorded at its exact
 * time, and follow-up ends at an absorbing state.  Each is refitted
 * (default method, from the estimates); *theta (malloc'ed) gets the
 * nok <= B parameter vectors (f's parametrisation) of the refits that
 * succeeded.  Replicate b uses random stream b of seed, so results do
 * not depend on threads.  Exact and panel data, one process, rate
 * matrices (not formulas). */
int st_mjp_bootstrap(const st_mjp *m, const st_mjp_fit *f, const struct st_mjp_data *d, size_t B, uint64_t seed,
                     double **theta, size_t *nok, st_err *e);

/* est, se, lo, hi: st_mjp_derived_size values each, for model m fitted by
 * f (with standard errors).  Entries without an interval (exact 0 or 1,
 * infinite) have lo = hi = est and se NaN; se of simulated intervals is
 * the standard deviation of the draws. */
int st_mjp_derived_ci(const st_mjp *m, const st_mjp_fit *f, const st_mjp_dspec *s, const st_mjp_ci_opts *o,
                      double *est, double *se, double *lo, double *hi, st_err *e);

/* ---------------------------------------------------- model comparison */

/* What the fit section of a model file written by mjp-infer says. */
typedef struct st_mjp_fit_summary {
    double loglik;
    size_t nfree, subjects, observations;
    int converged;
} st_mjp_fit_summary;
int st_mjp_read_fit_summary(const char *path, st_mjp_fit_summary *s, st_err *e);

/* Likelihood-ratio test of a nested fit (ll0, n0 free parameters) against
 * a larger one (ll1, n1): LR = 2 (ll1 - ll0), df = n1 - n0 > 0, p the
 * chi-square upper tail.  ST_EUSAGE if df <= 0. */
int st_mjp_lrtest(double ll0, size_t n0, double ll1, size_t n1, double *lr, size_t *df, double *p, st_err *e);
/* Upper tail of the chi-square distribution with df degrees of freedom. */
double st_mjp_chisq_upper(double x, double df);

/* Prevalence (msm's prevalence.msm with interp = "start"): at each time,
 * the number of subjects observed in each state (the state of the last
 * observation at or before the time, subjects between their first and
 * last observation, or absorbed before it) and the number expected from
 * the observed distribution at time t0 moved by P(t - t0) at each subject
 * at risk's covariates (piecewise between its observations).  obs and ex
 * are ntimes x K (collective under MPI: summed per subject block).
 * Panel data with known states (observations added at time cuts are
 * skipped). */
int st_mjp_prevalence(const st_mjp *m, const st_mjp_data *d, const double *times, size_t ntimes, double t0,
                      double *obs, double *ex, st_err *e);

/* ------------------------------------------------------------- writing */

/* --------------------------------------------------------------- reports */

/* A report as a table to write as a stream: ncol columns (names point to
 * static strings or the model's covariate names), nrow rows row-major in
 * v.  State columns (from, to, state) hold the model's labels (ST_STR,
 * codes into labels: code i is state i) when it has labels that are not
 * numbers, else the state numbers of the data (state + base, ST_I8). */
typedef struct st_mjp_table {
    size_t ncol, nrow;
    const char **names;
    st_dtype *dt;
    double *v;
    struct st_strdict *labels;
    int base;
} st_mjp_table;
void st_mjp_table_free(st_mjp_table *t);
/* The model's labels as a dictionary (code i = state i) for writing
 * state columns as text; *d NULL when the model has no labels or its
 * labels are numbers (then states are written as numbers). */
int st_mjp_label_dict(const st_mjp *m, st_strdict **d, st_err *e);

/* A derived quantity (ST_MJP_D_*) with its intervals, at each covariate
 * vector at[0..nat) (nat 0: the centre), and for P(t) at each time:
 * columns the covariates, then per kind
 *     pmatrix  t, from, to, p        totlos  horizon, from, state, los
 *     efpt     to, from, efpt        pnext   from, to, p
 *     sojourn  state, mean           qmatrix from, to, q
 * then se, lower, upper.  Only the entries that exist are rows (next
 * states and sojourns of transient states, allowed rates). */
int st_mjp_derived_table(const st_mjp *m, const st_mjp_fit *fit, int kind, double *const *at, size_t nat,
                         const double *times, size_t ntimes, double horizon, int efpt_to, int base,
                         const st_mjp_ci_opts *co, st_mjp_table **out, st_err *e);
/* msm's prevalence.msm: columns t, state, observed, expected,
 * observed_pct, expected_pct at the times (ntimes 0: 11 times from the
 * first to the last observation), expected from the first time.
 * Collective under MPI. */
int st_mjp_prevalence_table(const st_mjp *m, const struct st_mjp_data *d, const double *times, size_t ntimes,
                            int base, st_mjp_table **out, st_err *e);
/* "NAME=V,NAME=V" into z (C values), the centre for covariates not named. */
int st_mjp_parse_at(const st_mjp *m, const char *spec, double *z, st_err *e);
/* Declare the covariates named in the specifications (--covariates NAMES
 * or FROM-TO:A+B, the misclassification covariates, rates first, in
 * order of first mention), then their effects, the time periods (pci)
 * and the constraints. */
int st_mjp_setup_covariates(st_mjp *m, char *const *specs, size_t nspec, const char *misc, char *const *cons,
                            size_t ncons, const double *pci, size_t npci, int base, st_err *e);
/* "CODE=S,S,..." (states 0-based) into c; -1 if malformed. */
int st_mjp_parse_censor(const char *s, st_mjp_censor *c);

/* Write the model (and the fit, with summaries, when fit != NULL) as YAML.
 * ptimes[0..npt-1]: P(t) matrices to include. */
int st_mjp_write(FILE *fp, const st_mjp *m, const st_mjp_fit *fit, const st_mjp_data *d,
                 const double *ptimes, size_t npt, st_err *e);

/* ------------------------------------------------------------ sampling */

enum { ST_MJP_SAMPLE_PATH = 0, ST_MJP_SAMPLE_EVERY, ST_MJP_SAMPLE_TIMES, ST_MJP_SAMPLE_RANDOM };

typedef struct st_mjp_sample_opts {
    size_t npaths;
    double until;        /* paths run on [0, until] */
    int scheme;          /* ST_MJP_SAMPLE_* */
    double every;        /* snapshot spacing */
    const double *times; /* fixed observation times (sorted) */
    size_t ntimes;
    size_t nrandom;      /* observations per path at time 0 and uniform times */
    int emit;            /* draw an observed symbol from m->E */
    uint64_t seed;
    size_t max_jumps;    /* jumps per path, at most (0: 1,000,000) */
} st_mjp_sample_opts;

/* Rows written by st_mjp_sample: seq, t, state[, obs]. */
typedef int (*st_mjp_row_fn)(const double *row, size_t ncols, void *ctx, st_err *e);

/* Sample paths (Gillespie) and emit rows in path order through fn.  Paths
 * are drawn in parallel, each from its own random stream (path k uses the
 * seed's stream k), so the output does not depend on the thread count.
 * PATH scheme: the initial state, each jump, and a last row at `until`.
 * A path has at most max_jumps jumps: an until that must exceed it (no
 * absorbing state, until x the smallest exit rate above it) is refused
 * up front (ST_EUSAGE), a path that exceeds it stops the run (ST_EDATA);
 * the paths in flight are held to 256 MB. */
int st_mjp_sample(const st_mjp *m, const st_mjp_sample_opts *o, st_mjp_row_fn fn, void *ctx,
                  st_err *e);

#endif

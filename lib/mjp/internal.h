/* lib/mjp private: the likelihood engine shared by fitting, the summaries
 * and the tests.  Not part of the public API. */
#ifndef ST_MJP_INTERNAL_H
#define ST_MJP_INTERNAL_H

#include "mjp/mjp.h"

/* Expected sufficient statistics and gradient, per covariate pattern p of
 * the data (one pattern without covariates): the rates of pattern p are
 * Q_p = st_mjp_rates_at(m, Z_p). */
typedef struct mjp_stats {
    double ll;   /* log-likelihood (-INFINITY if the data are impossible) */
    size_t npat;
    double *N;   /* npat x K x K expected jumps a -> b */
    double *D;   /* npat x K expected time in a */
    double *G;   /* npat x K x K d ll / d q_ab(z_p) (off-diagonal) */
    double *Nem; /* npat x K x M expected emissions (hidden) */
    double *N0;  /* K expected initial states (hidden) */
} mjp_stats;

typedef struct mjp_engine mjp_engine;

/* Precompute what does not depend on Q: distinct intervals, aggregated
 * transition counts of plain panel subjects, interval lists. */
int mjp_engine_new(mjp_engine **eng, const st_mjp_data *d, st_err *e);
void mjp_engine_free(mjp_engine *eng);
/* Evaluate at m (Q, E, init).  want_stats = 0 gives only s->ll. */
int mjp_engine_eval(mjp_engine *eng, const st_mjp *m, int want_stats, mjp_stats *s, st_err *e);

int mjp_stats_alloc(mjp_stats *s, size_t K, size_t M, size_t npat, st_err *e);
void mjp_stats_free(mjp_stats *s);

/* Eigendecomposition of Q for the Van Loan integrals (see lik.c). */
typedef struct mjp_eig {
    int ok; /* real, well-conditioned decomposition found */
    size_t K;
    double l[ST_MJP_MAX_STATES];
    double U[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    double Ui[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
} mjp_eig;
/* Returns ev->ok. */
int mjp_eig_prepare(mjp_eig *ev, const double *Q, size_t K);
/* The same into caller's arrays: l (K), U and Ui (K x K); returns ok. */
int mjp_eig_prepare_to(const double *Q, size_t K, double *l, double *U, double *Ui);
/* I(W) for interval t (K x K); work holds 2 K^2 doubles. */
void mjp_eig_vanloan(const mjp_eig *ev, double t, const double *W, double *I, double *work);

/* Rough flop count below which the engine stays serial (default 1e6);
 * tests set 0 to run every parallel region. */
extern double mjp_omp_min_work;
/* Tests set 1 to take the dense path (Pade P, block Van Loan) everywhere. */
extern int mjp_eig_disable;

/* This rank's share of the subject blocks of d: blocks [lo, hi) of nb;
 * the subjects of block bi are start[bi - lo] .. start[bi - lo + 1] - 1
 * (start malloc'ed, hi - lo + 1 entries; the caller frees it).  Subjects
 * of d outside the share (d holds the whole data) are left out. */
typedef struct mjp_blocks {
    size_t nb, lo, hi;
    size_t *start;
} mjp_blocks;
int mjp_share_blocks(const st_mjp_data *d, mjp_blocks *b, st_err *e);

/* Distinct interval lengths: merge sorted, exactly distinct values v[0..n-1]
 * in place with the tolerance tol (a value within tol of the last kept one
 * joins it); returns the number kept. */
size_t mjp_merge_lengths(double *v, size_t n, double tol);

/* Number of distinct (pattern, interval length) keys (for tests and -v). */
size_t mjp_engine_ndistinct(const mjp_engine *eng);
/* Rates Q_p of every pattern of the engine's data at m (npat x K x K,
 * valid after mjp_engine_eval). */
const double *mjp_engine_rates(const mjp_engine *eng);
/* Emission E_p of every pattern (npat x K x M; hidden data). */
const double *mjp_engine_emission(const mjp_engine *eng);

/* Give cell ab (K*K rates, or K*M emission when misc) an effect of
 * covariate c, a new free parameter unless it has one; returns its id. */
int mjp_effect_new(st_mjp *m, size_t ab, size_t c, int misc);

/* "a-b" (labels, or indices minus base) into i, j; -1 if malformed. */
int mjp_parse_pair(const st_mjp *m, const char *s, size_t len, int base, int *i, int *j);

#endif

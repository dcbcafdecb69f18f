/* Uncertainty scores for language-model generations, and their evaluation.
 *
 * Input is JSON Lines, one prompt per line (stoch-uq-input(5)): parsed and
 * validated into an st_uq_prompt by st_uq_parse_line, scored by
 * st_uq_score_prompt, evaluated against labels by the st_uq_metric_* and
 * st_uq_eval functions.  Every formula is in uq-entropy(1) / uq-eval(1).
 *
 * Ownership: an st_uq_prompt owns every array it points to; st_uq_prompt_free
 * releases them (and accepts a zeroed prompt).  st_uq_idset_new/free and
 * st_uq_work_new/free pair up; free accepts NULL.  Missing numbers are NaN. */
#ifndef ST_UQ_UQ_H
#define ST_UQ_UQ_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* ------------------------------------------------------------- the data */

typedef struct st_uq_seq {
    char *text;          /* NULL if absent */
    double *logprobs;    /* per token (CSV long input); the JSON parser keeps
                          * only the sum and the count: NULL */
    size_t ntok;         /* number of token log-probs given, 0 if none */
    double sum_logprob;  /* sum of log-probs (given or summed); NaN if unknown */
    double n_tokens;     /* token count (given or ntok); NaN if unknown */
    long cluster;        /* given semantic cluster id, -1 if absent */
    /* top-k alternatives per token (greedy only): top[top_off[t] .. top_off[t+1]) */
    double *top;
    size_t *top_off;     /* ntok + 1 offsets, NULL if absent */
} st_uq_seq;

typedef struct st_uq_prompt {
    long line;           /* input line (1-based) */
    char *id;            /* id as text (integers in decimal) */
    int id_is_int;       /* the id is an integer that a double holds exactly */
    double id_num;       /* that integer, else NaN */
    int has_greedy;
    st_uq_seq greedy;
    size_t m;            /* number of samples */
    st_uq_seq *samples;  /* m samples, NULL if absent */
    double *entail;      /* m x m row-major, premise row -> hypothesis column */
    double *contra;      /* m x m */
    double *sim;         /* m x m */
    double *emb;         /* m x dim sample embeddings */
    size_t dim;
    /* inputs (Inv-Entropy): k perturbed prompts, their similarity (k x k)
     * or embeddings (k x in_dim), and which input each sample answers. */
    size_t k;
    double *in_sim;
    double *in_emb;
    size_t in_dim;
    long *in_map;        /* m entries in 0..k-1, NULL if absent */
    double correct;      /* 0/1 or NaN */
    double quality;      /* [0,1] or NaN */
    double temperature;  /* or NaN */
} st_uq_prompt;

void st_uq_prompt_free(st_uq_prompt *p);

/* Parse and validate one JSON line (len bytes, need not be NUL-terminated).
 * Returns 1 for a prompt, 0 for a blank line (p untouched), or a negative
 * ST_E* code with e naming file:line and what is wrong.  On error p is
 * freed. */
int st_uq_parse_line(const char *text, size_t len, const char *file, long line,
                     st_uq_prompt *p, st_err *e);

/* The same with jansson's allocations taken from a per-caller arena (much
 * faster on long lines).  An arena serves one thread at a time.
 * st_uq_parse_init installs the allocation hooks (malloc/free outside an
 * arena parse); call it before starting threads (st_uq_arena_new does). */
typedef struct st_uq_arena st_uq_arena;
void st_uq_parse_init(void);
int st_uq_arena_new(st_uq_arena **a, st_err *e);
void st_uq_arena_free(st_uq_arena *a);
int st_uq_parse_line_arena(const char *text, size_t len, const char *file, long line,
                           st_uq_arena *arena, st_uq_prompt *p, st_err *e);

/* Duplicate detection: the key is (id, temperature). */
typedef struct st_uq_idset st_uq_idset;
int st_uq_idset_new(st_uq_idset **s, st_err *e);
void st_uq_idset_free(st_uq_idset *s);
/* Insert p's key: returns 0 if new, the line of the first occurrence (> 0)
 * if it was there already, ST_ENOMEM on allocation failure. */
long st_uq_idset_add(st_uq_idset *s, const st_uq_prompt *p);

/* ------------------------------------------------------------ the scores */

enum {
    ST_UQ_MSP = 0,      /* exp(sum greedy log p): a confidence */
    ST_UQ_GNLL,         /* -sum greedy log p */
    ST_UQ_PPL,          /* -mean greedy log p (log perplexity) */
    ST_UQ_MTE,          /* mean token entropy from top-k */
    ST_UQ_PE,           /* MC sequence entropy */
    ST_UQ_LNPE,         /* length-normalised MC sequence entropy */
    ST_UQ_SE,           /* semantic entropy, Rao-Blackwellised (length-normalised probs) */
    ST_UQ_SE_DISCRETE,  /* semantic entropy from cluster frequencies */
    ST_UQ_NUMSETS,      /* number of semantic sets */
    ST_UQ_EIGV,         /* Lin et al. sum of max(0, 1 - eigenvalue) */
    ST_UQ_DEG,          /* Lin et al. degree */
    ST_UQ_ECC,          /* Lin et al. eccentricity */
    ST_UQ_LEX_ROUGEL,   /* 1 - mean pairwise ROUGE-L F1 */
    ST_UQ_LEX_JACCARD,  /* 1 - mean pairwise Jaccard */
    ST_UQ_EIGENSCORE,   /* Chen et al. EigenScore */
    ST_UQ_KLE,          /* kernel language entropy */
    ST_UQ_INV,          /* Inv-Entropy, subsampled one answer per input */
    ST_UQ_INV_FULL,     /* Inv-Entropy on the full pair matrix */
    ST_UQ_NSCORES
};

/* A score code is a score index, or for the graph scores (eigv, deg, ecc,
 * kle) an index with its own affinity, as st_uq_score_parse("eigv:jaccard")
 * returns: then ST_UQ_SCORE_AFFINITY gives ST_UQ_AFF_*, else -1 (use the
 * options' affinity). */
#define ST_UQ_SCORE_BASE(code) ((code) & 0xff)
#define ST_UQ_SCORE_AFFINITY(code) (((code) >> 8) - 1)

const char *st_uq_score_name(int s); /* the base name */
/* What a score needs, for the NaN count message ("greedy log-probs"). */
const char *st_uq_score_needs(int s);
/* Code of a score name ("se", "eigv:contra"), -1 if unknown. */
int st_uq_score_parse(const char *name);
/* 1 if the score is a confidence (higher = more likely correct). */
int st_uq_score_is_confidence(int s);

enum { ST_UQ_CLUSTER_AUTO = 0, ST_UQ_CLUSTER_GIVEN, ST_UQ_CLUSTER_GREEDY, ST_UQ_CLUSTER_REP,
       ST_UQ_CLUSTER_UNION };
enum { ST_UQ_EQUIV_DEFAULT = 0, ST_UQ_EQUIV_STRICT, ST_UQ_EQUIV_NC };
enum { ST_UQ_AFF_ENTAIL = 0, ST_UQ_AFF_CONTRA, ST_UQ_AFF_JACCARD, ST_UQ_AFF_SIM };
enum { ST_UQ_TOKENT_RENORM = 0, ST_UQ_TOKENT_PARTIAL };
enum { ST_UQ_EIGENSCORE_PAPER = 0, ST_UQ_EIGENSCORE_CODE };

typedef struct st_uq_opts {
    int cluster;          /* ST_UQ_CLUSTER_* */
    int equiv;            /* ST_UQ_EQUIV_* */
    int affinity;         /* ST_UQ_AFF_*, for eigv/deg/ecc/kle */
    double eig_threshold; /* eccentricity keeps eigenvalues < this (0.9) */
    double kle_t;         /* heat kernel time (0.3) */
    int token_entropy;    /* ST_UQ_TOKENT_* */
    double es_alpha;      /* EigenScore ridge (1e-3) */
    int es_variant;       /* ST_UQ_EIGENSCORE_* */
    int inv_subsamples;   /* Inv-Entropy subsamples (20) */
    uint64_t seed;        /* Inv-Entropy subsampling */
} st_uq_opts;

void st_uq_opts_default(st_uq_opts *o);

/* Scratch space reused from prompt to prompt. */
typedef struct st_uq_work st_uq_work;
int st_uq_work_new(st_uq_work **w, st_err *e);
void st_uq_work_free(st_uq_work *w);

/* Compute scores which[0..n-1] for p into out[0..n-1]; a score whose input
 * is missing is NaN.  index is the prompt's position in the input (it seeds
 * Inv-Entropy's subsampling with the seed, so results do not depend on
 * threads).  Returns 0 or a negative ST_E* code (numerical failure). */
int st_uq_score_prompt(const st_uq_prompt *p, const st_uq_opts *o, const int *which, size_t n,
                       uint64_t index, st_uq_work *w, double *out, st_err *e);

/* ---- building blocks (exposed for tests and for other callers) ---- */

/* Semantic classes from NLI matrices (entail required, contra may be NULL:
 * then read as 0).  ids[0..m-1] get 0,1,2,... in order of first appearance.
 * Returns the number of classes. */
size_t st_uq_cluster(const double *entail, const double *contra, size_t m, int method,
                     int equiv, long *ids);
/* Renumber given ids in order of first appearance; returns the count. */
size_t st_uq_relabel(const long *in, size_t m, long *out);

/* Entropy of cluster masses: p_c = sum_{i in c} w_i / sum_i w_i. */
double st_uq_cluster_entropy(const long *ids, const double *w, size_t m);
/* Semantic entropy, Rao-Blackwellised: weights exp(mean token log p). */
double st_uq_semantic_entropy(const long *ids, const double *mean_logp, size_t m);

/* Text similarities (lower-cased ASCII alphanumeric word tokens). */
double st_uq_rougel(const char *a, const char *b);
double st_uq_jaccard(const char *a, const char *b);

/* Lin et al. affinity matrix W (m x m, diagonal 1) from p by mode;
 * returns 0, or 1 if the input it needs is missing. */
int st_uq_affinity(const st_uq_prompt *p, int mode, double *W);
/* Spectral scores of a symmetric affinity W (m x m).  work: 3 m^2 + 2 m. */
int st_uq_eigv(const double *W, size_t m, double *out, double *work, st_err *e);
double st_uq_degree(const double *W, size_t m);
int st_uq_ecc(const double *W, size_t m, double threshold, double *out, double *work, st_err *e);
/* EigV and/or Ecc (either pointer may be NULL) from one eigendecomposition. */
int st_uq_spectral(const double *W, size_t m, double threshold, double *eigv, double *ecc,
                   double *work, st_err *e);
int st_uq_kle(const double *W, size_t m, double t, double *out, double *work, st_err *e);
/* EigenScore of m embeddings of dimension d (row-major). work: 2 m^2 + m. */
int st_uq_eigenscore(const double *Z, size_t m, size_t d, double alpha, int variant, double *out,
                     double *work, st_err *e);
/* Inv-Entropy of n pairs with similarity SX (inputs) and SY (outputs), both
 * n x n: -sum_i q_i log q_i, q_i = (P_Y P_X)_{ii}.  work: 3 n^2. */
double st_uq_inv_entropy_pairs(const double *SX, const double *SY, size_t n, double *work);

/* ------------------------------------------------------------ evaluation */

/* All take u = uncertainty (higher = less trustworthy) and y = label
 * (1 correct / 0 wrong, or quality in [0,1]); rows with NaN must be removed
 * by the caller.  Ties in u are resolved by averaging over every order of
 * the tied rows (the expectation under random tie-breaking), so results do
 * not depend on input order. */
double st_uq_auroc(const double *u, const double *y, size_t n);   /* error = positive */
double st_uq_auprc(const double *u, const double *y, size_t n);   /* error = positive */
/* Area under the rejection-accuracy curve, keeping the k most confident
 * rows for k = n .. n - r + 1, r = floor(max_rej * n) (r = n when max_rej
 * is 1): mean over those k of the kept rows' mean label. */
double st_uq_rejection_area(const double *u, const double *y, size_t n, double max_rej);
/* PRR = (A(u) - A(random)) / (A(oracle) - A(random)); A(random) = mean(y). */
double st_uq_prr(const double *u, const double *y, size_t n, double max_rej);
/* Spearman correlation of -u with y (average ranks for ties). */
double st_uq_spearman(const double *u, const double *y, size_t n);
/* Expected calibration error of confidences c in [0,1] against 0/1 labels,
 * nbins equal-width bins. NaN if a c is outside [0,1]. */
double st_uq_ece(const double *c, const double *y, size_t n, int nbins);
/* TSU: over pairs of rows with the same group and temperatures t_a < t_b,
 * the fraction with u_b > u_a.  group must be sorted so equal groups are
 * contiguous (any order inside).  NaN if there is no pair. */
double st_uq_tsu(const double *u, const double *group, const double *temp, size_t n);

/* Helper: ranks (1-based, ties averaged) of x into r; idx is n size_t scratch. */
void st_uq_ranks(const double *x, size_t n, double *r, size_t *idx);

/* Curves behind the areas above (uq-eval --curves), same u, y and ties.
 *
 * ROC and precision-recall: one point per distinct value of u, from the
 * highest down, after the start point 0 (nothing flagged).  Flagging the
 * rows with u >= thr[k] as errors gives fpr[k] (correct rows flagged /
 * correct rows), tpr[k] (the recall: errors flagged / errors) and prec[k]
 * (errors among the flagged rows; NaN at point 0, whose thr is +Inf).
 * Tied rows enter together, so the trapezoid area under (fpr, tpr) is
 * st_uq_auroc (a tie counts 1/2) and sum_k (tpr[k] - tpr[k-1]) prec[k] is
 * st_uq_auprc.  y must be 0/1; fpr (tpr) is NaN without correct rows
 * (errors).  Arrays hold n + 1 entries; *m gets the number of points (0 when
 * n is 0).  Returns 0, or -1 when out of memory. */
int st_uq_roc_curve(const double *u, const double *y, size_t n, double *thr, double *fpr, double *tpr,
                    double *prec, size_t *m);
/* Rejection-accuracy curve: acc[k], k = 0 .. n-1, is the (expected, over
 * tie orders) mean label of the n - k rows kept after rejecting the k most
 * uncertain ones, at rejection rate k/n; its mean is
 * st_uq_rejection_area(u, y, n, 1).  oracle (may be NULL) gets the curve of
 * the best order (labels descending).  Returns 0, or -1 when out of memory. */
int st_uq_rejection_curve(const double *u, const double *y, size_t n, double *acc, double *oracle);

#endif

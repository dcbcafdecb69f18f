/* Uncertainty scores for language-model generations, and their evaluation.
 *
 * Input is JSON Lines, one prompt per line (stoch-uq-input(5)): parsed and
 * validated into an st_uq_prompt by st_uq_parse_line, scored by
 * st_uq_score_prompt, evaluated against labels by the st_uq_metric_* and
 * st_uq_eval functions.  Every formula is in uq-entropy(1) / uq-eval(1).
 *
 * Ownership: every array of an st_uq_prompt lives in an arena: the
 * caller's (st_uq_parse_line_arena; valid until st_uq_arena_reset) or the
 * prompt's own (st_uq_parse_line; st_uq_prompt_free releases it).
 * st_uq_idset_new/free, st_uq_work_new/free and st_uq_arena_new/free pair
 * up; free accepts NULL.  Missing numbers are NaN. */
#ifndef ST_UQ_UQ_H
#define ST_UQ_UQ_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* ------------------------------------------------------------- the data */

/* Per-thread bump allocator that parsed prompts live in (lib/uq/arena.c):
 * st_uq_arena_reset drops everything allocated since the last reset. */
typedef struct st_uq_arena st_uq_arena;
int st_uq_arena_new(st_uq_arena **a, st_err *e);
void st_uq_arena_free(st_uq_arena *a);
void *st_uq_arena_alloc(st_uq_arena *a, size_t n); /* 16-byte aligned; NULL if out of memory */
/* Resize p (old bytes) to n bytes: in place when p is the newest allocation. */
void *st_uq_arena_grow(st_uq_arena *a, void *p, size_t old, size_t n);
void st_uq_arena_reset(st_uq_arena *a);

typedef struct st_uq_seq {
    char *text;          /* NULL if absent (or not read) */
    double *logprobs;    /* per token, kept only when a score needs them; else NULL */
    size_t ntok;         /* number of token log-probs given, 0 if none */
    double sum_logprob;  /* sum of log-probs (given or summed); NaN if unknown */
    double n_tokens;     /* token count (given or ntok); NaN if unknown */
    long cluster;        /* given semantic cluster id, -1 if absent */
    /* top-k alternatives per token: top[top_off[t] .. top_off[t+1]), NULL if absent */
    double *top;
    size_t *top_off;
    double *lm_logprobs; /* greedy: log p(y_t | y_<t) without the prompt, ntok; NULL if absent */
    double *relevance;   /* token relevances (SAR), ntok; NULL if absent */
} st_uq_seq;

/* NLI label of a token alternative against the generated token (CCP). */
enum { ST_UQ_NLI_CONTRA = 0, ST_UQ_NLI_NEUTRAL = 1, ST_UQ_NLI_ENTAIL = 2 };

typedef struct st_uq_claim {
    size_t *tok;         /* indices of the greedy tokens of the claim (0-based) */
    size_t ntok;
    double correct;      /* 0/1 or NaN */
    double p_true;       /* log P(True) of the claim, NaN if absent */
    /* labels of the alternatives of claim token t: nli[nli_off[t] .. nli_off[t+1]),
     * aligned with the greedy top_logprobs of that token; NULL if absent */
    unsigned char *nli;
    size_t *nli_off;
} st_uq_claim;

typedef struct st_uq_prompt {
    long line;           /* input line (1-based) */
    char *id;            /* id as text (integers in decimal) */
    int id_is_int;       /* the id is an integer that a double holds exactly */
    double id_num;       /* that integer, else NaN */
    int has_greedy;
    st_uq_seq greedy;
    double *g_entail;    /* m: NLI with the greedy answer as premise, sample i as hypothesis */
    double *g_contra;    /* m; NULL if absent */
    double p_true;       /* log P(True) of the greedy answer, NaN if absent */
    st_uq_claim *claims; /* greedy.claims, NULL if absent */
    size_t nclaims;
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
    st_uq_arena *own;    /* the arena the arrays live in, when the prompt owns it */
} st_uq_prompt;

/* What the requested scores read from a line (st_uq_needs): the parser
 * converts these parts and skips the rest, checking only its syntax. */
enum {
    ST_UQ_NEED_GREEDY_SUM = 1u << 0,     /* sum and count of greedy log-probs */
    ST_UQ_NEED_GREEDY_TOKENS = 1u << 1,  /* per-token greedy log-probs */
    ST_UQ_NEED_GREEDY_TOP = 1u << 2,     /* greedy top-k alternatives */
    ST_UQ_NEED_GREEDY_LM = 1u << 3,      /* greedy.lm_logprobs */
    ST_UQ_NEED_GREEDY_REL = 1u << 4,     /* greedy.relevance */
    ST_UQ_NEED_GREEDY_NLI = 1u << 5,     /* greedy.entail, greedy.contra */
    ST_UQ_NEED_P_TRUE = 1u << 6,         /* greedy.p_true_logprob */
    ST_UQ_NEED_CLAIMS = 1u << 7,         /* greedy.claims */
    ST_UQ_NEED_CLAIM_NLI = 1u << 8,      /* greedy.claims[].nli */
    ST_UQ_NEED_SAMPLES = 1u << 9,        /* the sample list (its length) */
    ST_UQ_NEED_SAMPLE_SUM = 1u << 10,    /* sample log-prob sums and counts */
    ST_UQ_NEED_SAMPLE_TOKENS = 1u << 11, /* per-token sample log-probs */
    ST_UQ_NEED_SAMPLE_REL = 1u << 12,    /* samples[].relevance */
    ST_UQ_NEED_SAMPLE_TEXT = 1u << 13,
    ST_UQ_NEED_SAMPLE_CLUSTER = 1u << 14,
    ST_UQ_NEED_ENTAIL = 1u << 15,
    ST_UQ_NEED_CONTRA = 1u << 16,
    ST_UQ_NEED_SIM = 1u << 17,
    ST_UQ_NEED_EMB = 1u << 18,
    ST_UQ_NEED_INPUTS = 1u << 19,
    ST_UQ_NEED_ALL = 0xfffffu
};

/* Frees the prompt's own arena (st_uq_parse_line); accepts a zeroed prompt. */
void st_uq_prompt_free(st_uq_prompt *p);

/* Parse and validate one JSON line (len bytes, need not be NUL-terminated),
 * reading every field, into a prompt that owns its memory.  Returns 1 for
 * a prompt, 0 for a blank line (p untouched), or a negative ST_E* code with
 * e naming file:line[:col] and what is wrong (p is then freed). */
int st_uq_parse_line(const char *text, size_t len, const char *file, long line,
                     st_uq_prompt *p, st_err *e);

/* The same reading only the parts in need (ST_UQ_NEED_*), into an arena
 * that the caller resets once it is done with the prompt.  The line is
 * copied for the parser (simdjson reads past the end of its text). */
int st_uq_parse_line_arena(const char *text, size_t len, const char *file, long line,
                           unsigned need, st_uq_arena *arena, st_uq_prompt *p, st_err *e);
/* The same without the copy, for text followed by at least ST_UQ_PADDING
 * readable bytes (their content does not matter). */
#define ST_UQ_PADDING 64
int st_uq_parse_padded_line(const char *text, size_t len, const char *file, long line,
                            unsigned need, st_uq_arena *arena, st_uq_prompt *p, st_err *e);

/* 1 if an id's text is an integer as the output keeps it (decimal digits,
 * no sign or leading zeros, at most 15), with *v its value; else 0, NaN. */
int st_uq_id_integer(const char *s, double *v);

/* Duplicate detection: the key is (id, temperature). */
typedef struct st_uq_idset st_uq_idset;
int st_uq_idset_new(st_uq_idset **s, st_err *e);
void st_uq_idset_free(st_uq_idset *s);
/* Insert the key (id, temperature; NaN = none): returns 0 if new, the line
 * of the first occurrence (> 0) if it was there already, ST_ENOMEM on
 * allocation failure. */
long st_uq_idset_add(st_uq_idset *s, const char *id, double temperature, long line);

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
    ST_UQ_MAX_TE,       /* maximum token entropy */
    ST_UQ_RENYI,        /* minus mean Renyi divergence of the tokens from uniform */
    ST_UQ_FISHER_RAO,   /* minus mean Fisher-Rao distance from uniform */
    ST_UQ_SELF_CERT,    /* self-certainty: mean KL(uniform || token distribution) */
    ST_UQ_PMI,          /* minus mean pointwise mutual information */
    ST_UQ_CPMI,         /* minus mean conditional PMI */
    ST_UQ_TOKEN_SAR,    /* relevance-weighted greedy NLL */
    ST_UQ_SENT_SAR,     /* sentence SAR */
    ST_UQ_SAR,          /* SAR (token and sentence) */
    ST_UQ_SEM_DENSITY,  /* semantic density of the greedy answer */
    ST_UQ_SE_MC,        /* semantic entropy, Monte Carlo over classes (Kuhn et al.) */
    ST_UQ_P_TRUE,       /* P(True) */
    ST_UQ_CCP,          /* claim-conditioned probability (per claim) */
    ST_UQ_CLAIM_MSP,    /* claim probability (per claim) */
    ST_UQ_CLAIM_GNLL,   /* claim negative log-likelihood (per claim) */
    ST_UQ_CLAIM_P_TRUE, /* P(True) of a claim (per claim) */
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
/* Where LM-Polygraph's formula differs from the paper's. */
enum { ST_UQ_VARIANT_PAPER = 0, ST_UQ_VARIANT_POLYGRAPH };

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
    size_t max_text_tokens; /* lexical scores: longest text in word tokens (100000) */
    double renyi_alpha;   /* Renyi order (0.5) */
    double div_temp;      /* softmax temperature of renyi-neg and fisher-rao (2) */
    int pmi_variant;      /* ST_UQ_VARIANT_*, for pmi and cpmi */
    double cpmi_tau;      /* entropy threshold of cpmi (0.0656) */
    double cpmi_lambda;   /* weight of the unconditional term of cpmi (3.599) */
    double sar_t;         /* SAR temperature (0.001) */
    int sd_variant;       /* ST_UQ_VARIANT_*, for semantic-density */
    int se_mc_variant;    /* ST_UQ_VARIANT_* (paper = Kuhn et al.), for se-mc */
    uint64_t seed;        /* Inv-Entropy subsampling */
} st_uq_opts;

void st_uq_opts_default(st_uq_opts *o);

/* Scratch space reused from prompt to prompt. */
typedef struct st_uq_work st_uq_work;
int st_uq_work_new(st_uq_work **w, st_err *e);
void st_uq_work_free(st_uq_work *w);

/* What the scores which[0..n-1] read from a line (ST_UQ_NEED_* bits). */
unsigned st_uq_needs(const int *which, size_t n, const st_uq_opts *o);

/* Compute scores which[0..n-1] for p into out[0..n-1]; a score whose input
 * is missing is NaN.  Inv-Entropy's subsampling is seeded from o->seed
 * and the prompt's (id, temperature), so a prompt's scores do not depend
 * on its position in the input or on threads.  Returns 0 or a negative
 * ST_E* code (numerical failure, a text beyond o->max_text_tokens). */
int st_uq_score_prompt(const st_uq_prompt *p, const st_uq_opts *o, const int *which, size_t n,
                       st_uq_work *w, double *out, st_err *e);

/* 1 if a score gives one row per claim (greedy.claims) rather than per prompt. */
int st_uq_score_is_claim(int s);
/* Claim scores which[0..n-1] for every claim of p: out[q * n + k]. */
int st_uq_score_claims(const st_uq_prompt *p, const st_uq_opts *o, const int *which, size_t n,
                       st_uq_work *w, double *out, st_err *e);

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

/* Monte Carlo semantic entropy from log weights logw (log p or log p / T):
 * log P_c = logsumexp over class c; -(1/K) sum_c log P_c over the K classes
 * (Kuhn et al.), or -(1/m) sum_i log P_c(i) over the samples (LM-Polygraph). */
double st_uq_se_mc(const long *ids, const double *logw, size_t m, int over_samples);

/* Token-level building blocks (tokens.c) over one token's k alternatives a
 * (log-probs), and per-token series of length T. */
double st_uq_token_entropy(const double *a, size_t k, int mode); /* ST_UQ_TOKENT_* */
/* D_alpha(softmax(a / temp) || uniform over k); alpha = 1 is KL. */
double st_uq_renyi_uniform(const double *a, size_t k, double alpha, double temp);
/* (2/pi) arccos(sum_j sqrt(q_j / k)), q = softmax(a / temp). */
double st_uq_fisher_rao_uniform(const double *a, size_t k, double temp);
/* KL(uniform over k || p), p = softmax(a) (renorm) or exp(a) (partial). */
double st_uq_kl_uniform(const double *a, size_t k, int mode);
/* -(1/T) sum_t (l_t - u_t); the LM-Polygraph variant keeps u_1 out. */
double st_uq_pmi(const double *l, const double *u, size_t T, int variant);
/* -(1/T) sum_t (l_t - lambda [H_t >= tau] u_t); LM-Polygraph: never t = 1. */
double st_uq_cpmi(const double *l, const double *u, const double *H, size_t T, double tau, double lambda,
                  int variant);
/* -sum_t R_t / sum R * l_t (0 when every R_t is 0). */
double st_uq_token_sar(const double *l, const double *R, size_t T);
/* sum of entailed over entailed + contradicting alternatives' probabilities;
 * NaN when every label is neutral. */
double st_uq_ccp_token(const double *a, const unsigned char *lab, size_t k);
/* (1/m) sum_i -log(p_i + (1/t) sum_{j != i} g_ij p_j), logp[i] = log p_i,
 * g m x m row-major (sar.c). */
double st_uq_sentence_sar(const double *logp, const double *g, size_t m, double t);
/* Semantic density (density.c): sum_i w_i K_i / sum_i w_i over the samples
 * with use[i], w_i = exp(lw_i), K_i = 1 - (c_i + (1 - e_i - c_i) / 2); the
 * LM-Polygraph variant adds the greedy answer (log weight greedy_lw, K = 1). */
double st_uq_semantic_density(const double *lw, const double *entail, const double *contra,
                              const int *use, size_t m, double greedy_lw, int variant);

/* Text similarities of two texts (word tokens as lib/uq/text.h: Unicode
 * letters, marks and numbers, case-folded); NaN if out of memory. */
double st_uq_rougel(const char *a, const char *b);
double st_uq_jaccard(const char *a, const char *b);

/* Lin et al. affinity matrix W (m x m, diagonal 1) from p by mode;
 * returns 0, or 1 if the input it needs is missing. */
int st_uq_affinity(const st_uq_prompt *p, int mode, double *W);
/* Spectral scores of a symmetric affinity W (m x m).  work: 3 m^2 + 2 m. */
int st_uq_eigv(const double *W, size_t m, double *out, double *work, st_err *e);
double st_uq_degree(const double *W, size_t m);
int st_uq_ecc(const double *W, size_t m, double threshold, double *out, double *work, st_err *e);
/* Block sizes (ascending, into sizes[m]) and count when W is a partition
 * into cliques of exact 0/1 weights, else 0 (spectral.c). */
size_t st_uq_clique_blocks(const double *W, size_t m, size_t *sizes);
/* EigV and/or Ecc (either pointer may be NULL) from one eigendecomposition
 * (or exactly, when W is a partition into cliques). */
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

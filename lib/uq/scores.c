/* Per-prompt and per-claim uncertainty scores: names, what each reads
 * from a line, and the driver that computes the requested ones (NaN when
 * the input lacks a piece).  The formulas live in the building blocks
 * (tokens.c, cluster.c, spectral.c, text.c, sar.c, density.c) and in
 * uq-entropy(1). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "uq/text.h"
#include "uq/uq.h"

enum { KIND_PROMPT = 0, KIND_CLAIM = 1 };

static const struct {
    const char *name;
    const char *needs;
    int confidence;
    int kind;
} score_info[ST_UQ_NSCORES] = {
    [ST_UQ_MSP] = {"msp", "greedy log-probs", 1, KIND_PROMPT},
    [ST_UQ_GNLL] = {"g-nll", "greedy log-probs", 0, KIND_PROMPT},
    [ST_UQ_PPL] = {"ppl", "greedy log-probs and token count", 0, KIND_PROMPT},
    [ST_UQ_MTE] = {"mte", "greedy top_logprobs", 0, KIND_PROMPT},
    [ST_UQ_PE] = {"pe", "sample log-probs", 0, KIND_PROMPT},
    [ST_UQ_LNPE] = {"ln-pe", "sample log-probs and token counts", 0, KIND_PROMPT},
    [ST_UQ_SE] = {"se", "sample log-probs, token counts and clusters (or entail)", 0, KIND_PROMPT},
    [ST_UQ_SE_DISCRETE] = {"se-discrete", "clusters (or entail)", 0, KIND_PROMPT},
    [ST_UQ_NUMSETS] = {"num-sets", "clusters (or entail)", 0, KIND_PROMPT},
    [ST_UQ_EIGV] = {"eigv", "the affinity's matrix or sample texts", 0, KIND_PROMPT},
    [ST_UQ_DEG] = {"deg", "the affinity's matrix or sample texts", 0, KIND_PROMPT},
    [ST_UQ_ECC] = {"ecc", "the affinity's matrix or sample texts", 0, KIND_PROMPT},
    [ST_UQ_LEX_ROUGEL] = {"lexsim-rougel", "two or more sample texts", 0, KIND_PROMPT},
    [ST_UQ_LEX_JACCARD] = {"lexsim-jaccard", "two or more sample texts", 0, KIND_PROMPT},
    [ST_UQ_EIGENSCORE] = {"eigenscore", "sample embeddings", 0, KIND_PROMPT},
    [ST_UQ_KLE] = {"kle", "the affinity's matrix or sample texts", 0, KIND_PROMPT},
    [ST_UQ_INV] = {"inv-entropy", "inputs and output sim or embeddings", 0, KIND_PROMPT},
    [ST_UQ_INV_FULL] = {"inv-entropy-full", "inputs and output sim or embeddings", 0, KIND_PROMPT},
    [ST_UQ_MAX_TE] = {"max-te", "greedy top_logprobs", 0, KIND_PROMPT},
    [ST_UQ_RENYI] = {"renyi-neg", "greedy top_logprobs", 0, KIND_PROMPT},
    [ST_UQ_FISHER_RAO] = {"fisher-rao", "greedy top_logprobs", 0, KIND_PROMPT},
    [ST_UQ_SELF_CERT] = {"self-certainty", "greedy top_logprobs", 1, KIND_PROMPT},
    [ST_UQ_PMI] = {"pmi", "greedy log-probs and lm_logprobs", 0, KIND_PROMPT},
    [ST_UQ_CPMI] = {"cpmi", "greedy log-probs, lm_logprobs and top_logprobs", 0, KIND_PROMPT},
    [ST_UQ_TOKEN_SAR] = {"token-sar", "greedy log-probs and relevance", 0, KIND_PROMPT},
    [ST_UQ_SENT_SAR] = {"sentence-sar", "sample log-probs and sim", 0, KIND_PROMPT},
    [ST_UQ_SAR] = {"sar", "sample log-probs, relevance and sim", 0, KIND_PROMPT},
    [ST_UQ_SEM_DENSITY] = {"semantic-density",
                           "sample log-probs and token counts, greedy.entail and greedy.contra", 1,
                           KIND_PROMPT},
    [ST_UQ_SE_MC] = {"se-mc", "sample log-probs, token counts and clusters (or entail)", 0, KIND_PROMPT},
    [ST_UQ_P_TRUE] = {"p-true", "greedy.p_true_logprob", 1, KIND_PROMPT},
    [ST_UQ_CCP] = {"ccp", "claims with nli labels and greedy top_logprobs", 1, KIND_CLAIM},
    [ST_UQ_CLAIM_MSP] = {"claim-msp", "claims and greedy log-probs", 1, KIND_CLAIM},
    [ST_UQ_CLAIM_GNLL] = {"claim-g-nll", "claims and greedy log-probs", 0, KIND_CLAIM},
    [ST_UQ_CLAIM_P_TRUE] = {"claim-p-true", "claims with p_true_logprob", 1, KIND_CLAIM},
};

static const char *const affinity_names[] = {"entail", "contra", "jaccard", "sim"};

const char *st_uq_score_name(int s)
{
    s = ST_UQ_SCORE_BASE(s);
    return s >= 0 && s < ST_UQ_NSCORES ? score_info[s].name : "?";
}

const char *st_uq_score_needs(int s)
{
    s = ST_UQ_SCORE_BASE(s);
    return s >= 0 && s < ST_UQ_NSCORES ? score_info[s].needs : "?";
}

static int is_graph_score(int s)
{
    return s == ST_UQ_EIGV || s == ST_UQ_DEG || s == ST_UQ_ECC || s == ST_UQ_KLE;
}

int st_uq_score_parse(const char *name)
{
    const char *colon = strchr(name, ':');
    size_t n = colon ? (size_t)(colon - name) : strlen(name);
    for (int s = 0; s < ST_UQ_NSCORES; s++) {
        if (strlen(score_info[s].name) != n || strncmp(name, score_info[s].name, n) != 0)
            continue;
        if (!colon)
            return s;
        if (!is_graph_score(s))
            return -1;
        for (int a = 0; a < 4; a++)
            if (strcmp(colon + 1, affinity_names[a]) == 0)
                return s | ((a + 1) << 8);
        return -1;
    }
    return -1;
}

int st_uq_score_is_confidence(int s)
{
    s = ST_UQ_SCORE_BASE(s);
    return s >= 0 && s < ST_UQ_NSCORES && score_info[s].confidence;
}

int st_uq_score_is_claim(int s)
{
    s = ST_UQ_SCORE_BASE(s);
    return s >= 0 && s < ST_UQ_NSCORES && score_info[s].kind == KIND_CLAIM;
}

void st_uq_opts_default(st_uq_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cluster = ST_UQ_CLUSTER_AUTO;
    o->equiv = ST_UQ_EQUIV_DEFAULT;
    o->affinity = ST_UQ_AFF_ENTAIL;
    o->eig_threshold = 0.9;
    o->kle_t = 0.3;
    o->token_entropy = ST_UQ_TOKENT_RENORM;
    o->es_alpha = 1e-3;
    o->es_variant = ST_UQ_EIGENSCORE_PAPER;
    o->inv_subsamples = 20;
    o->max_text_tokens = 100000;
    o->renyi_alpha = 0.5;
    o->div_temp = 2;
    o->pmi_variant = ST_UQ_VARIANT_PAPER;
    o->cpmi_tau = 0.0656;
    o->cpmi_lambda = 3.599;
    o->sar_t = 0.001;
    o->sd_variant = ST_UQ_VARIANT_PAPER;
    o->se_mc_variant = ST_UQ_VARIANT_PAPER;
    o->seed = 1;
}

/* ------------------------------------------------------------ needs */

static unsigned cluster_needs(const st_uq_opts *o)
{
    if (o->cluster == ST_UQ_CLUSTER_GIVEN)
        return ST_UQ_NEED_SAMPLE_CLUSTER;
    unsigned nli = ST_UQ_NEED_ENTAIL | ST_UQ_NEED_CONTRA;
    return o->cluster == ST_UQ_CLUSTER_AUTO ? nli | ST_UQ_NEED_SAMPLE_CLUSTER : nli;
}

static unsigned affinity_needs(int aff)
{
    switch (aff) {
    case ST_UQ_AFF_CONTRA: return ST_UQ_NEED_CONTRA;
    case ST_UQ_AFF_JACCARD: return ST_UQ_NEED_SAMPLE_TEXT;
    case ST_UQ_AFF_SIM: return ST_UQ_NEED_SIM;
    default: return ST_UQ_NEED_ENTAIL;
    }
}

static unsigned score_needs(int code, const st_uq_opts *o)
{
    int s = ST_UQ_SCORE_BASE(code), aff = ST_UQ_SCORE_AFFINITY(code);
    if (aff < 0)
        aff = o->affinity;
    switch (s) {
    case ST_UQ_MSP:
    case ST_UQ_GNLL:
    case ST_UQ_PPL: return ST_UQ_NEED_GREEDY_SUM;
    case ST_UQ_MTE:
    case ST_UQ_MAX_TE:
    case ST_UQ_RENYI:
    case ST_UQ_FISHER_RAO:
    case ST_UQ_SELF_CERT: return ST_UQ_NEED_GREEDY_TOP;
    case ST_UQ_PMI: return ST_UQ_NEED_GREEDY_TOKENS | ST_UQ_NEED_GREEDY_LM;
    case ST_UQ_CPMI: return ST_UQ_NEED_GREEDY_TOKENS | ST_UQ_NEED_GREEDY_LM | ST_UQ_NEED_GREEDY_TOP;
    case ST_UQ_TOKEN_SAR: return ST_UQ_NEED_GREEDY_TOKENS | ST_UQ_NEED_GREEDY_REL;
    case ST_UQ_PE:
    case ST_UQ_LNPE: return ST_UQ_NEED_SAMPLE_SUM;
    case ST_UQ_SE:
    case ST_UQ_SE_MC: return ST_UQ_NEED_SAMPLE_SUM | cluster_needs(o);
    case ST_UQ_SE_DISCRETE:
    case ST_UQ_NUMSETS: return cluster_needs(o);
    case ST_UQ_EIGV:
    case ST_UQ_DEG:
    case ST_UQ_ECC:
    case ST_UQ_KLE: return affinity_needs(aff);
    case ST_UQ_LEX_ROUGEL:
    case ST_UQ_LEX_JACCARD: return ST_UQ_NEED_SAMPLE_TEXT;
    case ST_UQ_EIGENSCORE: return ST_UQ_NEED_EMB;
    case ST_UQ_INV:
    case ST_UQ_INV_FULL: return ST_UQ_NEED_INPUTS | ST_UQ_NEED_SIM | ST_UQ_NEED_EMB;
    case ST_UQ_SENT_SAR: return ST_UQ_NEED_SAMPLE_SUM | ST_UQ_NEED_SIM;
    case ST_UQ_SAR: return ST_UQ_NEED_SAMPLE_TOKENS | ST_UQ_NEED_SAMPLE_REL | ST_UQ_NEED_SIM;
    case ST_UQ_SEM_DENSITY:
        return ST_UQ_NEED_SAMPLE_SUM | ST_UQ_NEED_SAMPLE_TEXT | ST_UQ_NEED_GREEDY_NLI |
               (o->sd_variant == ST_UQ_VARIANT_POLYGRAPH ? ST_UQ_NEED_GREEDY_SUM : 0);
    case ST_UQ_P_TRUE: return ST_UQ_NEED_P_TRUE;
    case ST_UQ_CCP: return ST_UQ_NEED_CLAIMS | ST_UQ_NEED_CLAIM_NLI | ST_UQ_NEED_GREEDY_TOP;
    case ST_UQ_CLAIM_MSP:
    case ST_UQ_CLAIM_GNLL: return ST_UQ_NEED_CLAIMS | ST_UQ_NEED_GREEDY_TOKENS;
    case ST_UQ_CLAIM_P_TRUE: return ST_UQ_NEED_CLAIMS | ST_UQ_NEED_P_TRUE;
    default: return ST_UQ_NEED_ALL;
    }
}

unsigned st_uq_needs(const int *which, size_t n, const st_uq_opts *o)
{
    unsigned need = 0;
    for (size_t k = 0; k < n; k++)
        need |= score_needs(which[k], o);
    return need;
}

/* ------------------------------------------------------------ scratch */

struct st_uq_work {
    double *d; /* affinity matrix and spectral workspace */
    size_t dcap;
    double *a; /* everything else */
    size_t acap;
    long *ids;
    size_t icap;
    /* lexical: the sample texts' token ids, tok[toff[i] .. toff[i+1]), and
     * their sorted distinct ids, set[soff[i] .. soff[i] + slen[i]) */
    st_uq_tokenizer *tz;
    uint32_t *tok, *set;
    size_t tokcap, setcap;
    size_t *toff, *slen;
    size_t offcap, slencap;
    uint64_t *masks;
    size_t maskcap;
    unsigned char *carry;
    size_t carrycap;
    const st_uq_prompt *lex_for; /* the prompt tok/set describe */
};

int st_uq_work_new(st_uq_work **w, st_err *e)
{
    *w = calloc(1, sizeof **w);
    if (!*w || st_uq_tokenizer_new(&(*w)->tz) < 0) {
        free(*w);
        *w = NULL;
        return st_err_nomem(e, "score workspace");
    }
    return 0;
}

void st_uq_work_free(st_uq_work *w)
{
    if (!w)
        return;
    free(w->d);
    free(w->a);
    free(w->ids);
    st_uq_tokenizer_free(w->tz);
    free(w->tok);
    free(w->set);
    free(w->toff);
    free(w->slen);
    free(w->masks);
    free(w->carry);
    free(w);
}

static int grow_to(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n <= *cap)
        return 0;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static double *work_doubles(st_uq_work *w, size_t n)
{
    return grow_to((void **)&w->d, &w->dcap, n, sizeof *w->d) < 0 ? NULL : w->d;
}

static double *work_aux(st_uq_work *w, size_t n)
{
    return grow_to((void **)&w->a, &w->acap, n, sizeof *w->a) < 0 ? NULL : w->a;
}

static long *work_ids(st_uq_work *w, size_t n)
{
    return grow_to((void **)&w->ids, &w->icap, n, sizeof *w->ids) < 0 ? NULL : w->ids;
}

/* ---------------------------------------------------- what is there */

static int samples_have(const st_uq_prompt *p, int need_len)
{
    if (!p->samples)
        return 0;
    for (size_t i = 0; i < p->m; i++) {
        if (isnan(p->samples[i].sum_logprob))
            return 0;
        if (need_len && isnan(p->samples[i].n_tokens))
            return 0;
    }
    return 1;
}

static int texts_have(const st_uq_prompt *p)
{
    if (!p->samples)
        return 0;
    for (size_t i = 0; i < p->m; i++)
        if (!p->samples[i].text)
            return 0;
    return 1;
}

static int top_have(const st_uq_seq *g)
{
    if (!g->top_off || g->ntok == 0)
        return 0;
    for (size_t t = 0; t < g->ntok; t++)
        if (g->top_off[t] == g->top_off[t + 1])
            return 0;
    return 1;
}

/* --------------------------------------------------- token-level scores */

/* Mean (or max) over tokens of a per-token quantity of the top-k lists. */
enum { TOK_ENTROPY, TOK_RENYI, TOK_FISHER, TOK_SELFCERT };

static double over_tokens(const st_uq_seq *g, const st_uq_opts *o, int what, int take_max)
{
    if (!top_have(g))
        return NAN;
    double acc = take_max ? -INFINITY : 0;
    for (size_t t = 0; t < g->ntok; t++) {
        const double *a = g->top + g->top_off[t];
        size_t k = g->top_off[t + 1] - g->top_off[t];
        double v;
        switch (what) {
        case TOK_RENYI: v = st_uq_renyi_uniform(a, k, o->renyi_alpha, o->div_temp); break;
        case TOK_FISHER: v = st_uq_fisher_rao_uniform(a, k, o->div_temp); break;
        case TOK_SELFCERT: v = st_uq_kl_uniform(a, k, o->token_entropy); break;
        default: v = st_uq_token_entropy(a, k, o->token_entropy); break;
        }
        if (take_max)
            acc = v > acc ? v : acc;
        else
            acc += v;
    }
    return take_max ? acc : acc / (double)g->ntok;
}

static double cpmi(const st_uq_prompt *p, const st_uq_opts *o, st_uq_work *w)
{
    const st_uq_seq *g = &p->greedy;
    if (!g->logprobs || !g->lm_logprobs || !top_have(g))
        return NAN;
    double *H = work_aux(w, g->ntok);
    if (!H)
        return NAN;
    for (size_t t = 0; t < g->ntok; t++)
        H[t] = st_uq_token_entropy(g->top + g->top_off[t], g->top_off[t + 1] - g->top_off[t],
                                   o->token_entropy);
    return st_uq_cpmi(g->logprobs, g->lm_logprobs, H, g->ntok, o->cpmi_tau, o->cpmi_lambda, o->pmi_variant);
}

/* ------------------------------------------------------ semantic classes */

/* Semantic classes per the options; returns the count, 0 if unavailable. */
static size_t clusters(const st_uq_prompt *p, const st_uq_opts *o, long *ids)
{
    if (!p->samples)
        return 0;
    int given = p->samples[0].cluster >= 0;
    if (o->cluster == ST_UQ_CLUSTER_GIVEN || (o->cluster == ST_UQ_CLUSTER_AUTO && given)) {
        if (!given)
            return 0;
        long *raw = malloc(p->m * sizeof *raw);
        if (!raw)
            return 0;
        for (size_t i = 0; i < p->m; i++)
            raw[i] = p->samples[i].cluster;
        size_t k = st_uq_relabel(raw, p->m, ids);
        free(raw);
        return k;
    }
    if (!p->entail)
        return 0;
    int method = o->cluster == ST_UQ_CLUSTER_AUTO ? ST_UQ_CLUSTER_GREEDY : o->cluster;
    return st_uq_cluster(p->entail, p->contra, p->m, method, o->equiv, ids);
}

/* ---------------------------------------------------------- lexical */

/* Tokenise every sample text of p once (cached in w for this prompt):
 * 0, 1 if a text is missing, < 0 on error (a text beyond the limit). */
static int lex_prepare(const st_uq_prompt *p, const st_uq_opts *o, st_uq_work *w, st_err *e)
{
    if (w->lex_for == p)
        return 0;
    if (!texts_have(p))
        return 1;
    size_t m = p->m;
    if (grow_to((void **)&w->toff, &w->offcap, m + 1, sizeof *w->toff) < 0 ||
        grow_to((void **)&w->slen, &w->slencap, m + 1, sizeof *w->slen) < 0)
        return st_err_nomem(e, "tokens");
    st_uq_tokenizer_reset(w->tz);
    size_t total = 0;
    for (size_t i = 0; i < m; i++) {
        w->toff[i] = total;
        long n = st_uq_tokenize(w->tz, p->samples[i].text, o->max_text_tokens, &w->tok, &total, &w->tokcap);
        if (n == -2)
            return st_err_set(e, ST_EDATA, NULL, 0, 0,
                              "samples[%zu].text has more than %zu word tokens (the limit of the lexical "
                              "scores, --max-text-tokens)", i, o->max_text_tokens);
        if (n < 0)
            return st_err_nomem(e, "tokens");
    }
    w->toff[m] = total;
    /* sorted distinct ids per text, for Jaccard */
    if (grow_to((void **)&w->set, &w->setcap, total + 1, sizeof *w->set) < 0)
        return st_err_nomem(e, "tokens");
    memcpy(w->set, w->tok, total * sizeof *w->set);
    for (size_t i = 0; i < m; i++)
        w->slen[i] = st_uq_sort_unique(w->set + w->toff[i], w->toff[i + 1] - w->toff[i]);
    size_t vocab = st_uq_tokenizer_vocab(w->tz), longest = 0;
    for (size_t i = 0; i < m; i++)
        if (w->toff[i + 1] - w->toff[i] > longest)
            longest = w->toff[i + 1] - w->toff[i];
    if (vocab + 1 > w->maskcap) {
        free(w->masks);
        w->masks = calloc(vocab + 1, sizeof *w->masks);
        w->maskcap = w->masks ? vocab + 1 : 0;
        if (!w->masks)
            return st_err_nomem(e, "tokens");
    }
    if (grow_to((void **)&w->carry, &w->carrycap, longest + 1, 1) < 0)
        return st_err_nomem(e, "tokens");
    w->lex_for = p;
    return 0;
}

static double lex_jaccard(const st_uq_work *w, size_t i, size_t j)
{
    return st_uq_jaccard_sets(w->set + w->toff[i], w->slen[i], w->set + w->toff[j], w->slen[j]);
}

static double lex_rougel(st_uq_work *w, size_t i, size_t j)
{
    size_t ni = w->toff[i + 1] - w->toff[i], nj = w->toff[j + 1] - w->toff[j];
    size_t l = st_uq_lcs(w->tok + w->toff[i], ni, w->tok + w->toff[j], nj, w->masks, w->carry);
    return st_uq_rougel_f1(l, ni, nj);
}

static int lexsim(const st_uq_prompt *p, const st_uq_opts *o, int rouge, st_uq_work *w, double *out,
                  st_err *e)
{
    *out = NAN;
    if (p->m < 2)
        return 0;
    int rc = lex_prepare(p, o, w, e);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    double s = 0;
    size_t n = 0;
    for (size_t i = 0; i < p->m; i++)
        for (size_t j = i + 1; j < p->m; j++) {
            s += rouge ? lex_rougel(w, i, j) : lex_jaccard(w, i, j);
            n++;
        }
    *out = 1 - s / (double)n;
    return 0;
}

/* W from the prompt for an affinity mode: 0, 1 if its input is missing,
 * < 0 on error. */
static int affinity(const st_uq_prompt *p, const st_uq_opts *o, int mode, double *W, st_uq_work *w,
                    st_err *e)
{
    size_t m = p->m;
    if (!p->samples)
        return 1;
    if (mode == ST_UQ_AFF_JACCARD) {
        int rc = lex_prepare(p, o, w, e);
        if (rc != 0)
            return rc;
        for (size_t i = 0; i < m; i++) {
            W[i * m + i] = 1;
            for (size_t j = i + 1; j < m; j++)
                W[i * m + j] = W[j * m + i] = lex_jaccard(w, i, j);
        }
        return 0;
    }
    return st_uq_affinity(p, mode, W);
}

int st_uq_affinity(const st_uq_prompt *p, int mode, double *W)
{
    size_t m = p->m;
    if (!p->samples)
        return 1;
    const double *S = mode == ST_UQ_AFF_ENTAIL ? p->entail
                      : mode == ST_UQ_AFF_CONTRA ? p->contra
                      : mode == ST_UQ_AFF_SIM   ? p->sim
                                                : NULL;
    if (mode == ST_UQ_AFF_JACCARD ? !texts_have(p) : !S)
        return 1;
    for (size_t i = 0; i < m; i++) {
        W[i * m + i] = 1;
        for (size_t j = i + 1; j < m; j++) {
            double v;
            if (mode == ST_UQ_AFF_JACCARD)
                v = st_uq_jaccard(p->samples[i].text, p->samples[j].text);
            else if (mode == ST_UQ_AFF_CONTRA)
                v = 1 - (S[i * m + j] + S[j * m + i]) / 2;
            else
                v = (S[i * m + j] + S[j * m + i]) / 2;
            W[i * m + j] = W[j * m + i] = v;
        }
    }
    return 0;
}

/* ------------------------------------------------- sample-level scores */

static double sentence_sar(const st_uq_prompt *p, const st_uq_opts *o, int token_shifted, st_uq_work *w)
{
    size_t m = p->m;
    if (!p->sim || !p->samples)
        return NAN;
    double *lp = work_aux(w, m);
    if (!lp)
        return NAN;
    for (size_t i = 0; i < m; i++) {
        const st_uq_seq *q = &p->samples[i];
        if (token_shifted) {
            if (!q->logprobs || !q->relevance)
                return NAN;
            lp[i] = -st_uq_token_sar(q->logprobs, q->relevance, q->ntok);
        } else {
            if (isnan(q->sum_logprob))
                return NAN;
            lp[i] = q->sum_logprob;
        }
    }
    return st_uq_sentence_sar(lp, p->sim, m, o->sar_t);
}

static double semantic_density(const st_uq_prompt *p, const st_uq_opts *o, st_uq_work *w)
{
    size_t m = p->m;
    if (!p->g_entail || !p->g_contra || !samples_have(p, 1))
        return NAN;
    double glw = NAN;
    if (o->sd_variant == ST_UQ_VARIANT_POLYGRAPH) {
        const st_uq_seq *g = &p->greedy;
        if (!p->has_greedy || isnan(g->sum_logprob) || isnan(g->n_tokens))
            return NAN;
        glw = g->sum_logprob / g->n_tokens;
    }
    double *lw = work_aux(w, m);
    int *use = malloc(m * sizeof *use);
    if (!lw || !use) {
        free(use);
        return NAN;
    }
    /* distinct answers: the first sample of each text (no text: distinct) */
    for (size_t i = 0; i < m; i++) {
        const st_uq_seq *q = &p->samples[i];
        lw[i] = q->sum_logprob / q->n_tokens;
        use[i] = 1;
        for (size_t j = 0; j < i && q->text; j++)
            if (p->samples[j].text && strcmp(p->samples[j].text, q->text) == 0) {
                use[i] = 0;
                break;
            }
    }
    double v = st_uq_semantic_density(lw, p->g_entail, p->g_contra, use, m, glw, o->sd_variant);
    free(use);
    return v;
}

/* ------------------------------------------------------- Inv-Entropy */

static double cosine_abs(const double *a, const double *b, size_t d)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t k = 0; k < d; k++) {
        ab += a[k] * b[k];
        aa += a[k] * a[k];
        bb += b[k] * b[k];
    }
    if (aa == 0 || bb == 0)
        return NAN;
    return fabs(ab / sqrt(aa * bb));
}

/* Similarity between outputs i and j (sim matrix, else |cosine| of embeddings). */
static double out_sim(const st_uq_prompt *p, size_t i, size_t j)
{
    if (p->sim)
        return p->sim[i * p->m + j];
    return i == j ? 1.0 : cosine_abs(p->emb + i * p->dim, p->emb + j * p->dim, p->dim);
}

static double in_sim(const st_uq_prompt *p, long a, long b)
{
    if (p->in_sim)
        return p->in_sim[a * (long)p->k + b];
    return a == b ? 1.0 : cosine_abs(p->in_emb + a * (long)p->in_dim, p->in_emb + b * (long)p->in_dim,
                                     p->in_dim);
}

/* Inv-Entropy of the pairs listed in sel[0..n-1] (sample indices). */
static double inv_subset(const st_uq_prompt *p, const size_t *sel, size_t n, double *buf)
{
    double *SX = buf, *SY = buf + n * n;
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++) {
            SX[a * n + b] = in_sim(p, p->in_map[sel[a]], p->in_map[sel[b]]);
            SY[a * n + b] = out_sim(p, sel[a], sel[b]);
        }
    return st_uq_inv_entropy_pairs(SX, SY, n, buf + 2 * n * n);
}

/* The prompt's key (id, temperature) as 64 bits: FNV-1a over the id's
 * bytes and the temperature's (0 for none), then a splitmix64 finaliser. */
static uint64_t prompt_key(const st_uq_prompt *p)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *c = (const unsigned char *)p->id; c && *c; c++) {
        h ^= *c;
        h *= 1099511628211ULL;
    }
    double t = isnan(p->temperature) ? 0.0 : p->temperature + 0.0; /* -0 -> +0 */
    uint64_t tb;
    memcpy(&tb, &t, sizeof tb);
    for (int k = 0; k < 8; k++) {
        h ^= (tb >> (8 * k)) & 0xff;
        h *= 1099511628211ULL;
    }
    h ^= !isnan(p->temperature);
    h *= 1099511628211ULL;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

static double inv_entropy(const st_uq_prompt *p, const st_uq_opts *o, int full, st_uq_work *w)
{
    if (!p->in_map || (!p->sim && !p->emb))
        return NAN;
    size_t m = p->m, k = p->k;
    /* samples grouped by input: order[start[g] .. start[g+1]) */
    size_t *order = malloc((2 * m + 2 * k + 2) * sizeof *order);
    if (!order)
        return NAN;
    size_t *start = order + m, *sel = start + k + 1, *pick = sel + m;
    size_t ng = 0, pos = 0;
    for (size_t g = 0; g < k; g++) {
        start[ng] = pos;
        for (size_t i = 0; i < m; i++)
            if ((size_t)p->in_map[i] == g)
                order[pos++] = i;
        if (pos > start[ng])
            ng++;
    }
    start[ng] = pos;
    double *buf = work_aux(w, 3 * m * m + 1);
    double res = NAN;
    if (!buf)
        goto out;
    if (full) {
        res = inv_subset(p, order, m, buf);
        goto out;
    }
    /* one answer per input: every combination if there are at most B of
     * them (exact), else B distinct random ones (seeded per prompt) */
    double combos = 1;
    for (size_t g = 0; g < ng; g++)
        combos *= (double)(start[g + 1] - start[g]);
    size_t B = (size_t)(o->inv_subsamples > 0 ? o->inv_subsamples : 1);
    double sum = 0;
    if (combos <= (double)B) {
        for (size_t g = 0; g < ng; g++)
            pick[g] = 0;
        size_t count = 0;
        for (;;) {
            for (size_t g = 0; g < ng; g++)
                sel[g] = order[start[g] + pick[g]];
            sum += inv_subset(p, sel, ng, buf);
            count++;
            size_t g = 0;
            while (g < ng && ++pick[g] == start[g + 1] - start[g])
                pick[g++] = 0;
            if (g == ng)
                break;
        }
        res = sum / (double)count;
        goto out;
    }
    st_rng r;
    st_rng_seed(&r, o->seed ^ prompt_key(p));
    size_t *seen = malloc(B * (ng ? ng : 1) * sizeof *seen);
    if (!seen)
        goto out;
    for (size_t b = 0; b < B; b++) {
        for (;;) {
            for (size_t g = 0; g < ng; g++)
                pick[g] = (size_t)st_rng_below(&r, start[g + 1] - start[g]);
            size_t prev = 0;
            for (; prev < b; prev++)
                if (memcmp(seen + prev * ng, pick, ng * sizeof *pick) == 0)
                    break;
            if (prev == b)
                break;
        }
        memcpy(seen + b * ng, pick, ng * sizeof *pick);
        for (size_t g = 0; g < ng; g++)
            sel[g] = order[start[g] + pick[g]];
        sum += inv_subset(p, sel, ng, buf);
    }
    free(seen);
    res = sum / (double)B;
out:
    free(order);
    return res;
}

/* ------------------------------------------------------------ driver */

int st_uq_score_prompt(const st_uq_prompt *p, const st_uq_opts *o, const int *which, size_t n,
                       st_uq_work *w, double *out, st_err *e)
{
    size_t m = p->m;
    const st_uq_seq *g = &p->greedy;
    int greedy_ok = p->has_greedy && !isnan(g->sum_logprob);
    /* lazily computed per prompt */
    long *ids = NULL;
    size_t nclusters = 0;
    int clusters_done = 0;
    double *W = NULL;
    int W_aff = -1, W_ok = 0, spec_done = 0;
    double spec_eigv = NAN, spec_ecc = NAN;
    w->lex_for = NULL;
    for (size_t q = 0; q < n; q++) {
        int s = ST_UQ_SCORE_BASE(which[q]);
        int aff = ST_UQ_SCORE_AFFINITY(which[q]);
        if (aff < 0)
            aff = o->affinity;
        double v = NAN;
        if ((s == ST_UQ_SE || s == ST_UQ_SE_DISCRETE || s == ST_UQ_NUMSETS || s == ST_UQ_SE_MC) &&
            !clusters_done) {
            clusters_done = 1;
            if (m && (ids = work_ids(w, m)) != NULL)
                nclusters = clusters(p, o, ids);
        }
        if (is_graph_score(s) && aff != W_aff) {
            /* (re)build W for this score's weights */
            W_aff = aff;
            spec_done = 0;
            W_ok = 0;
            double *buf = m ? work_doubles(w, 4 * m * m + 2 * m) : NULL;
            if (buf) {
                W = buf;
                int rc = affinity(p, o, aff, W, w, e);
                if (rc < 0)
                    return rc;
                W_ok = rc == 0;
            } else if (m) {
                return st_err_nomem(e, "affinity matrix");
            }
        }
        int rc = 0;
        switch (s) {
        case ST_UQ_MSP:
            if (greedy_ok)
                v = exp(g->sum_logprob);
            break;
        case ST_UQ_GNLL:
            if (greedy_ok)
                v = -g->sum_logprob;
            break;
        case ST_UQ_PPL:
            if (greedy_ok && !isnan(g->n_tokens))
                v = -g->sum_logprob / g->n_tokens;
            break;
        case ST_UQ_MTE:
        case ST_UQ_MAX_TE:
            if (p->has_greedy)
                v = over_tokens(g, o, TOK_ENTROPY, s == ST_UQ_MAX_TE);
            break;
        case ST_UQ_RENYI:
            if (p->has_greedy)
                v = -over_tokens(g, o, TOK_RENYI, 0);
            break;
        case ST_UQ_FISHER_RAO:
            if (p->has_greedy)
                v = -over_tokens(g, o, TOK_FISHER, 0);
            break;
        case ST_UQ_SELF_CERT:
            if (p->has_greedy)
                v = over_tokens(g, o, TOK_SELFCERT, 0);
            break;
        case ST_UQ_PMI:
            if (p->has_greedy && g->logprobs && g->lm_logprobs)
                v = st_uq_pmi(g->logprobs, g->lm_logprobs, g->ntok, o->pmi_variant);
            break;
        case ST_UQ_CPMI:
            if (p->has_greedy)
                v = cpmi(p, o, w);
            break;
        case ST_UQ_TOKEN_SAR:
            if (p->has_greedy && g->logprobs && g->relevance)
                v = st_uq_token_sar(g->logprobs, g->relevance, g->ntok);
            break;
        case ST_UQ_P_TRUE:
            if (!isnan(p->p_true))
                v = exp(p->p_true);
            break;
        case ST_UQ_PE:
        case ST_UQ_LNPE:
            if (samples_have(p, s == ST_UQ_LNPE)) {
                double sum = 0;
                for (size_t i = 0; i < m; i++)
                    sum += s == ST_UQ_PE ? p->samples[i].sum_logprob
                                         : p->samples[i].sum_logprob / p->samples[i].n_tokens;
                v = -sum / (double)m;
            }
            break;
        case ST_UQ_SE:
        case ST_UQ_SE_MC:
            if (nclusters && samples_have(p, s == ST_UQ_SE || o->se_mc_variant == ST_UQ_VARIANT_PAPER)) {
                double *ml = work_aux(w, m);
                if (!ml)
                    return st_err_nomem(e, "semantic entropy");
                int normalise = s == ST_UQ_SE || o->se_mc_variant == ST_UQ_VARIANT_PAPER;
                for (size_t i = 0; i < m; i++)
                    ml[i] = normalise ? p->samples[i].sum_logprob / p->samples[i].n_tokens
                                      : p->samples[i].sum_logprob;
                v = s == ST_UQ_SE ? st_uq_semantic_entropy(ids, ml, m)
                                  : st_uq_se_mc(ids, ml, m, o->se_mc_variant == ST_UQ_VARIANT_POLYGRAPH);
            }
            break;
        case ST_UQ_SE_DISCRETE:
            if (nclusters)
                v = st_uq_cluster_entropy(ids, NULL, m);
            break;
        case ST_UQ_NUMSETS:
            if (nclusters)
                v = (double)nclusters;
            break;
        case ST_UQ_EIGV:
        case ST_UQ_ECC:
            if (W_ok && !spec_done) {
                /* one eigendecomposition serves both */
                int need_ecc = 0;
                for (size_t r2 = q; r2 < n; r2++) {
                    int a2 = ST_UQ_SCORE_AFFINITY(which[r2]);
                    need_ecc |= ST_UQ_SCORE_BASE(which[r2]) == ST_UQ_ECC &&
                                (a2 < 0 ? o->affinity : a2) == aff;
                }
                spec_done = 1;
                rc = st_uq_spectral(W, m, o->eig_threshold, &spec_eigv, need_ecc ? &spec_ecc : NULL,
                                    W + m * m, e);
            }
            if (W_ok)
                v = s == ST_UQ_EIGV ? spec_eigv : spec_ecc;
            break;
        case ST_UQ_DEG:
            if (W_ok)
                v = st_uq_degree(W, m);
            break;
        case ST_UQ_KLE:
            if (W_ok)
                rc = st_uq_kle(W, m, o->kle_t, &v, W + m * m, e);
            break;
        case ST_UQ_LEX_ROUGEL:
        case ST_UQ_LEX_JACCARD:
            rc = lexsim(p, o, s == ST_UQ_LEX_ROUGEL, w, &v, e);
            break;
        case ST_UQ_EIGENSCORE:
            if (p->emb) {
                double *buf = work_aux(w, 2 * m * m + m);
                if (!buf)
                    return st_err_nomem(e, "EigenScore");
                rc = st_uq_eigenscore(p->emb, m, p->dim, o->es_alpha, o->es_variant, &v, buf, e);
            }
            break;
        case ST_UQ_INV:
        case ST_UQ_INV_FULL:
            v = inv_entropy(p, o, s == ST_UQ_INV_FULL, w);
            break;
        case ST_UQ_SENT_SAR:
        case ST_UQ_SAR:
            v = sentence_sar(p, o, s == ST_UQ_SAR, w);
            break;
        case ST_UQ_SEM_DENSITY:
            v = semantic_density(p, o, w);
            break;
        default:
            return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "score %s is not a prompt score",
                              st_uq_score_name(s));
        }
        if (rc < 0)
            return rc;
        out[q] = v;
    }
    return 0;
}

/* One claim's score. */
static double claim_score(const st_uq_prompt *p, const st_uq_claim *cl, int s)
{
    const st_uq_seq *g = &p->greedy;
    switch (s) {
    case ST_UQ_CLAIM_MSP:
    case ST_UQ_CLAIM_GNLL: {
        if (!g->logprobs)
            return NAN;
        double sum = 0;
        for (size_t t = 0; t < cl->ntok; t++)
            sum += g->logprobs[cl->tok[t]];
        return s == ST_UQ_CLAIM_MSP ? exp(sum) : -sum;
    }
    case ST_UQ_CLAIM_P_TRUE:
        return isnan(cl->p_true) ? NAN : exp(cl->p_true);
    case ST_UQ_CCP: {
        if (!cl->nli || !g->top_off)
            return NAN;
        double prod = 1;
        for (size_t t = 0; t < cl->ntok; t++) {
            size_t tok = cl->tok[t];
            size_t k = g->top_off[tok + 1] - g->top_off[tok];
            prod *= st_uq_ccp_token(g->top + g->top_off[tok], cl->nli + cl->nli_off[t], k);
        }
        return prod;
    }
    default:
        return NAN;
    }
}

int st_uq_score_claims(const st_uq_prompt *p, const st_uq_opts *o, const int *which, size_t n,
                       st_uq_work *w, double *out, st_err *e)
{
    (void)o;
    (void)w;
    for (size_t k = 0; k < n; k++) {
        int s = ST_UQ_SCORE_BASE(which[k]);
        if (!st_uq_score_is_claim(s))
            return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "score %s is not a claim score",
                              st_uq_score_name(s));
    }
    for (size_t q = 0; q < p->nclaims; q++)
        for (size_t k = 0; k < n; k++)
            out[q * n + k] = claim_score(p, &p->claims[q], ST_UQ_SCORE_BASE(which[k]));
    return 0;
}

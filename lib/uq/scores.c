/* Per-prompt uncertainty scores: names, what each needs, and the driver
 * that computes the requested ones (NaN when the input lacks a piece). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "uq/uq.h"

static const struct {
    const char *name;
    const char *needs;
    int confidence;
} score_info[ST_UQ_NSCORES] = {
    [ST_UQ_MSP] = {"msp", "greedy log-probs", 1},
    [ST_UQ_GNLL] = {"g-nll", "greedy log-probs", 0},
    [ST_UQ_PPL] = {"ppl", "greedy log-probs and token count", 0},
    [ST_UQ_MTE] = {"mte", "greedy top_logprobs", 0},
    [ST_UQ_PE] = {"pe", "sample log-probs", 0},
    [ST_UQ_LNPE] = {"ln-pe", "sample log-probs and token counts", 0},
    [ST_UQ_SE] = {"se", "sample log-probs, token counts and clusters (or entail)", 0},
    [ST_UQ_SE_DISCRETE] = {"se-discrete", "clusters (or entail)", 0},
    [ST_UQ_NUMSETS] = {"num-sets", "clusters (or entail)", 0},
    [ST_UQ_EIGV] = {"eigv", "the affinity's matrix or sample texts", 0},
    [ST_UQ_DEG] = {"deg", "the affinity's matrix or sample texts", 0},
    [ST_UQ_ECC] = {"ecc", "the affinity's matrix or sample texts", 0},
    [ST_UQ_LEX_ROUGEL] = {"lexsim-rougel", "two or more sample texts", 0},
    [ST_UQ_LEX_JACCARD] = {"lexsim-jaccard", "two or more sample texts", 0},
    [ST_UQ_EIGENSCORE] = {"eigenscore", "sample embeddings", 0},
    [ST_UQ_KLE] = {"kle", "the affinity's matrix or sample texts", 0},
    [ST_UQ_INV] = {"inv-entropy", "inputs and output sim or embeddings", 0},
    [ST_UQ_INV_FULL] = {"inv-entropy-full", "inputs and output sim or embeddings", 0},
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
    case ST_UQ_MTE: return ST_UQ_NEED_GREEDY_TOP;
    case ST_UQ_PE:
    case ST_UQ_LNPE: return ST_UQ_NEED_SAMPLE_SUM;
    case ST_UQ_SE: return ST_UQ_NEED_SAMPLE_SUM | cluster_needs(o);
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

int st_uq_score_is_claim(int s)
{
    (void)s;
    return 0;
}

int st_uq_score_claims(const st_uq_prompt *p, const st_uq_opts *o, const int *which, size_t n,
                       st_uq_work *w, double *out, st_err *e)
{
    (void)p, (void)o, (void)which, (void)n, (void)w, (void)out;
    return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "no claim scores");
}

/* ------------------------------------------------------------ scratch */

struct st_uq_work {
    double *d; /* affinity matrix and spectral workspace */
    size_t dcap;
    double *a; /* everything else */
    size_t acap;
    long *ids;
    size_t icap;
};

int st_uq_work_new(st_uq_work **w, st_err *e)
{
    *w = calloc(1, sizeof **w);
    return *w ? 0 : st_err_nomem(e, "score workspace");
}

void st_uq_work_free(st_uq_work *w)
{
    if (!w)
        return;
    free(w->d);
    free(w->a);
    free(w->ids);
    free(w);
}

static double *work_doubles(st_uq_work *w, size_t n)
{
    if (n > w->dcap) {
        double *d = realloc(w->d, n * sizeof *d);
        if (!d)
            return NULL;
        w->d = d;
        w->dcap = n;
    }
    return w->d;
}

static double *work_aux(st_uq_work *w, size_t n)
{
    if (n > w->acap) {
        double *d = realloc(w->a, n * sizeof *d);
        if (!d)
            return NULL;
        w->a = d;
        w->acap = n;
    }
    return w->a;
}

static long *work_ids(st_uq_work *w, size_t n)
{
    if (n > w->icap) {
        long *d = realloc(w->ids, n * sizeof *d);
        if (!d)
            return NULL;
        w->ids = d;
        w->icap = n;
    }
    return w->ids;
}

/* --------------------------------------------------- log-prob scores */

static double token_entropy(const st_uq_seq *g, int mode)
{
    if (!g->top_off || g->ntok == 0)
        return NAN;
    double sum = 0;
    for (size_t t = 0; t < g->ntok; t++) {
        size_t a = g->top_off[t], b = g->top_off[t + 1];
        if (a == b)
            return NAN;
        double h = 0;
        if (mode == ST_UQ_TOKENT_PARTIAL) {
            for (size_t j = a; j < b; j++)
                h -= exp(g->top[j]) * g->top[j];
        } else {
            double mx = -INFINITY;
            for (size_t j = a; j < b; j++)
                if (g->top[j] > mx)
                    mx = g->top[j];
            double z = 0, s = 0;
            for (size_t j = a; j < b; j++) {
                double p = exp(g->top[j] - mx);
                z += p;
                s += p * (g->top[j] - mx);
            }
            h = log(z) - s / z; /* entropy of the renormalised top-k */
        }
        sum += h;
    }
    return sum / (double)g->ntok;
}

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

static double lexsim(const st_uq_prompt *p, int rouge)
{
    if (!texts_have(p) || p->m < 2)
        return NAN;
    double s = 0;
    size_t n = 0;
    for (size_t i = 0; i < p->m; i++)
        for (size_t j = i + 1; j < p->m; j++) {
            s += rouge ? st_uq_rougel(p->samples[i].text, p->samples[j].text)
                       : st_uq_jaccard(p->samples[i].text, p->samples[j].text);
            n++;
        }
    return 1 - s / (double)n;
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
    for (size_t q = 0; q < n; q++) {
        int s = ST_UQ_SCORE_BASE(which[q]);
        int aff = ST_UQ_SCORE_AFFINITY(which[q]);
        if (aff < 0)
            aff = o->affinity;
        double v = NAN;
        if ((s == ST_UQ_SE || s == ST_UQ_SE_DISCRETE || s == ST_UQ_NUMSETS) && !clusters_done) {
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
                W_ok = st_uq_affinity(p, aff, W) == 0;
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
            if (p->has_greedy)
                v = token_entropy(g, o->token_entropy);
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
            if (nclusters && samples_have(p, 1)) {
                double *ml = work_aux(w, m);
                if (!ml)
                    return st_err_nomem(e, "semantic entropy");
                for (size_t i = 0; i < m; i++)
                    ml[i] = p->samples[i].sum_logprob / p->samples[i].n_tokens;
                v = st_uq_semantic_entropy(ids, ml, m);
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
            v = lexsim(p, s == ST_UQ_LEX_ROUGEL);
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
        default:
            return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "unknown score %d", s);
        }
        if (rc < 0)
            return rc;
        out[q] = v;
    }
    return 0;
}

/* The likelihood engine: log-likelihood, expected jumps and dwell times,
 * and the gradient in the rates, for exact, panel and hidden data, per
 * covariate pattern (issue 16).
 *
 * Patterns.  Each observation has a covariate pattern (st_mjp_data: one
 * pattern without covariates); the interval ending at observation k has
 * the rates Q_p of its start row's pattern p = pat[k - 1] (piecewise
 * constant between observations, as msm assumes), observation k the
 * emission E_pat[k].  Every statistic is kept per pattern; the fit turns
 * them into gradients in the baseline rates and covariate effects.
 *
 * Panel and hidden data.  The derivative of the log-likelihood in P_k =
 * exp(Q_p dt_k) for interval k is a matrix W_k (for a plain snapshot pair
 * r -> s, e_r e_s^T / P_rs; in general alpha_{k-1} (l_k o beta_k)^T / c_k
 * from scaled forward-backward).  I(W) = int_0^dt exp(Q^T u) W exp(Q^T
 * (dt-u)) du gives the expected dwell D_a = I_aa, the expected jumps N_ab
 * = q_ab I_ab and d logL / d q_ab = I_ab - I_aa (Van Loan 1978; Hobolth &
 * Jensen 2011).  I is linear in W and, with Q = U diag(l) U^-1 (a real,
 * well-conditioned spectrum: chains with absorbing states, reversible
 * and birth-death chains), I(W) = U^-T [(U^T W U^-T) o Phi(dt)] U^T with
 * Phi_ij = int_0^dt e^{l_i u} e^{l_j (dt-u)} du (issue 19).  So in the
 * eigenbasis each interval adds (U^T a)(U^-1 b)^T o Phi(dt) to a sum Y
 * per pattern, and P(dt) = U diag(e^{l dt}) U^-1 is never formed: a plain
 * count r -> s needs P_rs = sum_i U_ri e^{l_i dt} U^-1_is (K flops), a
 * forward step alpha P = ((alpha U) o e^{l dt}) U^-1 (2 K^2), and its
 * U^T alpha is the a-side of Y; the backward step gives U^-1 b likewise.
 * One back-transform per (block, pattern) turns Y into I.  Where the
 * spectrum is complex or defective, or a probability is too small for
 * the eigenbasis sums to give it to 10 digits (|result| < 1e-5 of the
 * sum of the absolute terms), that key or interval takes the dense path:
 * P by Pade (st_expm) and I by a 2K x 2K block exponential per (subject
 * block, key) with the W of its intervals summed first.
 *
 * Data parallelism (issue 8).  Subjects are cut into blocks of consecutive
 * seq groups whose size depends only on the whole data; under MPI each
 * rank holds and processes only the subjects of its contiguous share of
 * the blocks.  Set up once (mjp_engine_new): the largest |t| (length
 * tolerance), the distinct (pattern, length) keys of the whole data (each
 * rank's exactly distinct values gathered and merged, then the greedy
 * tolerance merge within a pattern), and the (key, r, s) counts of plain
 * panel subjects (integers: exact in any order, every rank holds the
 * whole table).  Per evaluation:
 *   - plain part: blocks of at least 16 keys with plain counts (at most
 *     256), each rank its share; a block's partial holds ll and, for each
 *     pattern of its keys, I (K^2);
 *   - generic subjects (hidden states, censoring, exact times, deaths,
 *     observations added at time cut points): forward-backward on the
 *     rank holding them; per subject block a partial of ll, the initial
 *     state counts (K) and, for each pattern in the block, I, the direct
 *     jump and gradient terms of exact times and deaths, their dwell and
 *     the emission counts (3 K^2 + K + K M);
 *   - the partials are gathered (st_mpi_share_allgather) and added in
 *     block order, plain first, on every rank.
 * The exchange per evaluation is therefore sum over blocks of 1 + (patterns
 * in the block) x (K^2 or 3 K^2 + K + K M) doubles, at most 256 blocks
 * each way: without covariates at most 256 (1 + K^2) + 256 (1 + K + 3 K^2 +
 * K + K M).  The arithmetic is the same for 1 or 64 ranks and any thread
 * count (threads split patterns, subjects, keys and blocks into parts
 * added in a fixed order).  Evaluations of the log-likelihood alone
 * exchange one double per block.
 * Exact paths: jumps and dwell times per pattern, per subject block,
 * folded once. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/linalg.h"
#include "core/mpi.h"
#include "core/resource.h"
#include "mjp/internal.h"

#define PBLOCK_MIN 16  /* plain keys per partial sum, at least */
#define MAX_BLOCKS 256 /* plain key blocks, at most */
#define EIG_REL 1e-5   /* eigenbasis result / sum of |terms| below this: dense path */

typedef struct tri {
    size_t k; /* key */
    int r, s;
    double n;
} tri;

/* One dense generic interval: its subject block, key and index. */
typedef struct ivkey {
    size_t b, k, iv;
} ivkey;

/* Partials of blocks that each hold a sorted list of patterns: block b's
 * region at off[b] holds S scalars then, for each of its patterns, L
 * values. */
typedef struct sblocks {
    size_t nb, S, L;
    size_t *pstart; /* nb + 1 */
    size_t *pat;
    size_t *off;    /* nb + 1 */
    double *buf;
} sblocks;

struct mjp_engine {
    const st_mjp_data *d;
    size_t K, M, npat;
    int mode;
    mjp_blocks bl; /* this rank's share of the subject blocks */
    double *xN, *xD; /* exact data: per pattern jumps and dwell (whole data) */
    /* keys: distinct (pattern, length) of the whole data, sorted */
    size_t nkey;
    size_t *kpat;
    double *kdt;
    size_t *ivk;   /* per observation k of a share subject (not its first): key */
    /* plain panel counts of the whole data, by key */
    size_t ntri;
    tri *tri;
    size_t *tri_start; /* nkey + 1 */
    size_t npd, *pd;   /* keys with plain counts */
    size_t pbsize, npb, pblo, pbhi;
    sblocks pb;        /* plain partials: S = 1, L = K^2 */
    /* generic subjects of this rank's share (forward-backward) */
    int any_gen;
    size_t ngen;
    size_t *gen;
    size_t *gen_iv;   /* ngen + 1 offsets into the interval arrays */
    size_t *gen_blk;  /* per share block: first generic subject */
    size_t *gen_ent;  /* ngen + 1 offsets into the subject entries */
    size_t nent;
    size_t *ent_pat;  /* per subject entry: pattern */
    size_t *obs_ent;  /* per observation of a generic subject: its entry */
    size_t entstride; /* Y | Ndir | Gdir | Ddir | Nem: 3 K^2 + K + K M */
    double *ent;      /* nent x entstride */
    double *sub;      /* ngen x (1 + K): ll, initial-state counts */
    size_t *bent_start, *bent; /* per share block: entries by (pattern, subject) */
    sblocks gb;       /* generic partials: S = 1 + K, L = 3 K^2 + K + K M */
    size_t niv;
    unsigned char *ivdense;
    double *ab;       /* niv x 2K: eigenbasis U^T a (first K), or dense a, b */
    /* dense intervals by (subject block, key) */
    size_t npair, *pair_k, *pair_start, *blk_pair, *ivlist;
    double *pairI;
    /* slots: keys of this rank's generic intervals */
    size_t nslot, *slot_key, *key_slot;
    double *sP, *sex, *sphi; /* dense P (non-eigen patterns), e^{l dt}, Phi */
    /* per pattern, at evaluation */
    unsigned char *pused;    /* this rank needs the pattern's decomposition */
    double *Qp, *Ep;
    unsigned char *eok;
    double *el, *eU, *eUi, *ermax;
    double *pll, *gll;       /* per block log-likelihoods (ll-only evaluations) */
};

double mjp_omp_min_work = 1e6;
int mjp_eig_disable = 0;

size_t mjp_engine_ndistinct(const mjp_engine *g)
{
    return g->nkey;
}

const double *mjp_engine_rates(const mjp_engine *g)
{
    return g->Qp;
}

const double *mjp_engine_emission(const mjp_engine *g)
{
    return g->Ep;
}

int mjp_stats_alloc(mjp_stats *s, size_t K, size_t M, size_t npat, st_err *e)
{
    memset(s, 0, sizeof *s);
    if (npat == 0)
        npat = 1;
    s->npat = npat;
    s->N = calloc(npat * K * K, sizeof *s->N);
    s->D = calloc(npat * K, sizeof *s->D);
    s->G = calloc(npat * K * K, sizeof *s->G);
    s->N0 = calloc(K, sizeof *s->N0);
    s->Nem = calloc(npat * K * (M ? M : 1), sizeof *s->Nem);
    if (!s->N || !s->D || !s->G || !s->N0 || !s->Nem) {
        mjp_stats_free(s);
        return st_err_nomem(e, "statistics");
    }
    return 0;
}

void mjp_stats_free(mjp_stats *s)
{
    free(s->N);
    free(s->D);
    free(s->G);
    free(s->Nem);
    free(s->N0);
    memset(s, 0, sizeof *s);
}

static void sblocks_free(sblocks *b)
{
    free(b->pstart);
    free(b->pat);
    free(b->off);
    free(b->buf);
    memset(b, 0, sizeof *b);
}

void mjp_engine_free(mjp_engine *g)
{
    if (!g)
        return;
    free(g->bl.start);
    free(g->xN);
    free(g->xD);
    free(g->kpat);
    free(g->kdt);
    free(g->ivk);
    free(g->tri);
    free(g->tri_start);
    free(g->pd);
    sblocks_free(&g->pb);
    free(g->gen);
    free(g->gen_iv);
    free(g->gen_blk);
    free(g->gen_ent);
    free(g->ent_pat);
    free(g->obs_ent);
    free(g->ent);
    free(g->sub);
    free(g->bent_start);
    free(g->bent);
    sblocks_free(&g->gb);
    free(g->ivdense);
    free(g->ab);
    free(g->pair_k);
    free(g->pair_start);
    free(g->blk_pair);
    free(g->ivlist);
    free(g->pairI);
    free(g->slot_key);
    free(g->key_slot);
    free(g->sP);
    free(g->sex);
    free(g->sphi);
    free(g->pused);
    free(g->Qp);
    free(g->Ep);
    free(g->eok);
    free(g->el);
    free(g->eU);
    free(g->eUi);
    free(g->ermax);
    free(g->pll);
    free(g->gll);
    free(g);
}

/* ------------------------------------------------------------ helpers */

static int cmp_pair(const void *a, const void *b)
{
    const double *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

static int cmp_tri(const void *a, const void *b)
{
    const tri *x = a, *y = b;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    if (x->r != y->r)
        return x->r - y->r;
    return x->s - y->s;
}

static int cmp_ivkey(const void *a, const void *b)
{
    const ivkey *x = a, *y = b;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    return (x->iv > y->iv) - (x->iv < y->iv);
}

static int cmp_size2(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* The key of (pattern p, length dt): the largest kept length <= dt among
 * the pattern's keys (lengths within the tolerance joined the smallest). */
static size_t find_key(const mjp_engine *g, const size_t *pk0, size_t p, double dt)
{
    size_t lo = pk0[p], hi = pk0[p + 1];
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (g->kdt[mid] <= dt)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Sort and merge (k, r, s) counts in place; returns the number kept. */
static size_t merge_tri(tri *t, size_t n)
{
    qsort(t, n, sizeof *t, cmp_tri);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && t[m - 1].k == t[i].k && t[m - 1].r == t[i].r && t[m - 1].s == t[i].s)
            t[m - 1].n += t[i].n;
        else
            t[m++] = t[i];
    }
    return m;
}

/* Exactly distinct (pattern, length) pairs of a sorted array, in place. */
static size_t unique_pairs(double *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || v[2 * i] != v[2 * (m - 1)] || v[2 * i + 1] != v[2 * (m - 1) + 1]) {
            v[2 * m] = v[2 * i];
            v[2 * m + 1] = v[2 * i + 1];
            m++;
        }
    return m;
}

/* Interval lengths closer than the resolution of the times themselves (a
 * few ulps of the largest |t|) are one length: visits on a grid of days
 * give differences such as 5/365 - 2/365 and 3/365 that differ in the last
 * bit only, and they share one P(dt).  Greedy from the smallest: a value
 * joins the last kept one if within tol.  Exact duplicates never change
 * what is kept (a duplicate of a kept value is within 0 of it; of a merged
 * value, within tol of the same kept one), so merging each rank's exactly
 * distinct values gives the whole data's list. */
size_t mjp_merge_lengths(double *v, size_t n, double tol)
{
    size_t nd = 0;
    for (size_t i = 0; i < n; i++)
        if (nd == 0 || v[i] - v[nd - 1] > tol)
            v[nd++] = v[i];
    return nd;
}

/* A subject needs forward-backward unless it is plain panel data: every
 * observation a single known state and every interval a snapshot. */
static int is_generic(const st_mjp_data *d, size_t s)
{
    if (d->mode == ST_MJP_HIDDEN)
        return 1;
    for (size_t k = d->start[s]; k < d->start[s + 1]; k++)
        if (d->y[k] < 0 || (k > d->start[s] && d->obstype[k] != ST_MJP_OBS_SNAPSHOT))
            return 1;
    return 0;
}

/* Lay out sparse partials: counts[b] patterns per block (all nb blocks)
 * with the lists concatenated in pat; allocates the regions. */
static int sblocks_layout(sblocks *b, size_t nb, size_t S, size_t L, size_t *pstart, size_t *pat, st_err *e)
{
    b->nb = nb;
    b->S = S;
    b->L = L;
    b->pstart = pstart;
    b->pat = pat;
    b->off = malloc((nb + 1) * sizeof *b->off);
    if (!b->off)
        return st_err_nomem(e, "likelihood engine");
    b->off[0] = 0;
    for (size_t i = 0; i < nb; i++)
        b->off[i + 1] = b->off[i] + S + (pstart[i + 1] - pstart[i]) * L;
    b->buf = calloc(b->off[nb] ? b->off[nb] : 1, sizeof *b->buf);
    return b->buf ? 0 : st_err_nomem(e, "likelihood engine");
}

/* The pattern lists of this rank's blocks [lo, hi) (cnt[i], then the ids,
 * per block) gathered from every rank, into pstart / pat of all nb blocks. */
static int sblocks_gather(size_t nb, size_t lo, size_t hi, const size_t *cnt, const size_t *ids, size_t **pstart,
                          size_t **pat, st_err *e)
{
    size_t nids = 0;
    for (size_t b = lo; b < hi; b++)
        nids += cnt[b - lo];
    double *mine = malloc((hi - lo + nids + 1) * sizeof *mine), *all = NULL;
    if (!mine)
        return st_err_nomem(e, "likelihood engine");
    size_t n = 0, q = 0;
    for (size_t b = lo; b < hi; b++) {
        mine[n++] = (double)cnt[b - lo];
        for (size_t i = 0; i < cnt[b - lo]; i++)
            mine[n++] = (double)ids[q++];
    }
    size_t total = 0;
    int rc = st_mpi_allgather(mine, n, &all, &total, e);
    free(mine);
    if (rc < 0)
        return rc;
    *pstart = malloc((nb + 1) * sizeof **pstart);
    *pat = malloc((total ? total : 1) * sizeof **pat);
    if (!*pstart || !*pat) {
        free(all);
        return st_err_nomem(e, "likelihood engine");
    }
    size_t i = 0, np = 0;
    for (size_t b = 0; b < nb; b++) {
        (*pstart)[b] = np;
        size_t c = i < total ? (size_t)all[i++] : 0;
        for (size_t j = 0; j < c && i < total; j++)
            (*pat)[np++] = (size_t)all[i++];
    }
    (*pstart)[nb] = np;
    free(all);
    return 0;
}

/* Complete the regions of every block (this rank filled its share) and
 * add them in block order: scalars into sacc (S), pattern values into
 * pacc (npat x L).  The accumulators must be zeroed by the caller. */
static int sblocks_fold(sblocks *b, double *sacc, double *pacc, st_err *e)
{
    int rc = st_mpi_share_allgather(b->buf, b->nb, b->off, 1, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < b->nb; i++) {
        const double *r = b->buf + b->off[i];
        for (size_t j = 0; j < b->S; j++)
            sacc[j] += r[j];
        r += b->S;
        for (size_t q = b->pstart[i]; q < b->pstart[i + 1]; q++, r += b->L) {
            double *a = pacc + b->pat[q] * b->L;
            for (size_t j = 0; j < b->L; j++)
                a[j] += r[j];
        }
    }
    return 0;
}

/* ------------------------------------------------------------- set-up */

/* Exact paths: jumps and dwell times per pattern and subject block, added
 * in block order once. */
static int exact_setup(mjp_engine *g, st_err *e)
{
    const st_mjp_data *d = g->d;
    size_t K = g->K, KK = K * K, L = KK + K, nb = g->bl.nb, lo = g->bl.lo, hi = g->bl.hi;
    size_t *cnt = calloc(hi - lo + 1, sizeof *cnt), *ids = NULL, nids = 0;
    size_t *pp = malloc((d->nobs ? d->nobs : 1) * 2 * sizeof *pp);
    sblocks sb = {0};
    int rc = 0;
    if (!cnt || !pp)
        goto nomem;
    ids = malloc((d->nobs ? d->nobs : 1) * sizeof *ids);
    if (!ids)
        goto nomem;
    for (size_t bi = lo; bi < hi; bi++) {
        size_t n = 0;
        for (size_t s = g->bl.start[bi - lo]; s < g->bl.start[bi - lo + 1]; s++)
            for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++)
                pp[2 * n] = d->pat[k - 1], pp[2 * n + 1] = 0, n++;
        qsort(pp, n, 2 * sizeof *pp, cmp_size2);
        for (size_t i = 0; i < n; i++)
            if (i == 0 || pp[2 * i] != pp[2 * (i - 1)]) {
                ids[nids++] = pp[2 * i];
                cnt[bi - lo]++;
            }
    }
    size_t *pstart = NULL, *pat = NULL;
    if ((rc = sblocks_gather(nb, lo, hi, cnt, ids, &pstart, &pat, e)) < 0 ||
        (rc = sblocks_layout(&sb, nb, 0, L, pstart, pat, e)) < 0) {
        if (!sb.pstart) {
            free(pstart);
            free(pat);
        }
        goto out;
    }
    for (size_t bi = lo; bi < hi; bi++) {
        double *r = sb.buf + sb.off[bi];
        size_t p0 = sb.pstart[bi], np = sb.pstart[bi + 1] - p0;
        for (size_t s = g->bl.start[bi - lo]; s < g->bl.start[bi - lo + 1]; s++)
            for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++) {
                size_t lo2 = 0, hi2 = np, p = d->pat[k - 1];
                while (lo2 < hi2) {
                    size_t mid = (lo2 + hi2) / 2;
                    if (sb.pat[p0 + mid] < p)
                        lo2 = mid + 1;
                    else
                        hi2 = mid;
                }
                double *N = r + lo2 * L, *D = N + KK;
                int a = d->y[k - 1], b = d->y[k];
                D[a] += d->t[k] - d->t[k - 1];
                if (a != b)
                    N[(size_t)a * K + (size_t)b] += 1;
            }
    }
    double *acc = calloc(g->npat * L, sizeof *acc);
    g->xN = calloc(g->npat * KK, sizeof *g->xN);
    g->xD = calloc(g->npat * K, sizeof *g->xD);
    if (!acc || !g->xN || !g->xD) {
        free(acc);
        goto nomem;
    }
    if ((rc = sblocks_fold(&sb, NULL, acc, e)) == 0)
        for (size_t p = 0; p < g->npat; p++) {
            memcpy(g->xN + p * KK, acc + p * L, KK * sizeof *acc);
            memcpy(g->xD + p * K, acc + p * L + KK, K * sizeof *acc);
        }
    free(acc);
    goto out;
nomem:
    rc = st_err_nomem(e, "likelihood engine");
out:
    free(cnt);
    free(ids);
    free(pp);
    sblocks_free(&sb);
    return rc;
}

/* Keys: the distinct (pattern, length) pairs of the whole data. */
static int keys_setup(mjp_engine *g, size_t slo, size_t shi, size_t **pk0, st_err *e)
{
    const st_mjp_data *d = g->d;
    size_t nint = d->start[shi] - d->start[slo] - (shi - slo), n = 0, total = 0;
    double sh[2] = {0, 0}, *all = NULL;
    for (size_t s = slo; s < shi; s++) {
        for (size_t k = d->start[s]; k < d->start[s + 1]; k++)
            sh[0] = fmax(sh[0], fabs(d->t[k]));
        if (is_generic(d, s))
            sh[1] = 1;
    }
    int rc = st_mpi_allgather(sh, 2, &all, &total, e);
    if (rc < 0)
        return rc;
    double tmax = 0;
    for (size_t i = 0; i + 2 <= total; i += 2) {
        tmax = fmax(tmax, all[i]);
        if (all[i + 1] > 0)
            g->any_gen = 1;
    }
    free(all);
    all = NULL;
    double *mine = malloc((nint ? nint : 1) * 2 * sizeof *mine);
    if (!mine)
        return st_err_nomem(e, "likelihood engine");
    for (size_t s = slo; s < shi; s++)
        for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++) {
            mine[2 * n] = (double)d->pat[k - 1];
            mine[2 * n + 1] = d->t[k] - d->t[k - 1];
            n++;
        }
    qsort(mine, n, 2 * sizeof *mine, cmp_pair);
    n = unique_pairs(mine, n);
    rc = st_mpi_allgather(mine, 2 * n, &all, &total, e);
    free(mine);
    if (rc < 0)
        return rc;
    total /= 2;
    qsort(all, total, 2 * sizeof *all, cmp_pair);
    total = unique_pairs(all, total);
    g->kpat = malloc((total ? total : 1) * sizeof *g->kpat);
    g->kdt = malloc((total ? total : 1) * sizeof *g->kdt);
    *pk0 = calloc(g->npat + 1, sizeof **pk0);
    if (!g->kpat || !g->kdt || !*pk0) {
        free(all);
        return st_err_nomem(e, "likelihood engine");
    }
    double tol = 8 * DBL_EPSILON * tmax;
    size_t nk = 0;
    for (size_t i = 0; i < total;) {
        size_t j = i;
        while (j < total && all[2 * j] == all[2 * i])
            j++;
        size_t p = (size_t)all[2 * i], k0 = nk;
        for (size_t q = i; q < j; q++)
            if (nk == k0 || all[2 * q + 1] - g->kdt[nk - 1] > tol) {
                g->kpat[nk] = p;
                g->kdt[nk++] = all[2 * q + 1];
            }
        i = j;
    }
    free(all);
    g->nkey = nk;
    for (size_t k = 0; k < nk; k++)
        (*pk0)[g->kpat[k] + 1]++;
    for (size_t p = 0; p < g->npat; p++)
        (*pk0)[p + 1] += (*pk0)[p];
    for (size_t s = slo; s < shi; s++)
        for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++)
            g->ivk[k] = find_key(g, *pk0, d->pat[k - 1], d->t[k] - d->t[k - 1]);
    return 0;
}

/* Plain subjects -> (key, r, s) counts summed over ranks (integers, exact
 * in any order: every rank holds the whole table); blocks of keys. */
static int plain_setup(mjp_engine *g, tri *tl, size_t nt, st_err *e)
{
    size_t K = g->K, KK = K * K;
    nt = merge_tri(tl, nt);
    double *mine = malloc((nt ? nt : 1) * 4 * sizeof *mine), *all = NULL;
    if (!mine)
        return st_err_nomem(e, "likelihood engine");
    for (size_t i = 0; i < nt; i++) {
        mine[4 * i] = (double)tl[i].k;
        mine[4 * i + 1] = tl[i].r;
        mine[4 * i + 2] = tl[i].s;
        mine[4 * i + 3] = tl[i].n;
    }
    size_t total = 0;
    int rc = st_mpi_allgather(mine, 4 * nt, &all, &total, e);
    free(mine);
    if (rc < 0)
        return rc;
    g->tri = malloc((total / 4 ? total / 4 : 1) * sizeof *g->tri);
    g->tri_start = calloc(g->nkey + 1, sizeof *g->tri_start);
    g->pd = malloc((g->nkey ? g->nkey : 1) * sizeof *g->pd);
    if (!g->tri || !g->tri_start || !g->pd) {
        free(all);
        return st_err_nomem(e, "likelihood engine");
    }
    for (size_t i = 0; i < total / 4; i++)
        g->tri[i] = (tri){(size_t)all[4 * i], (int)all[4 * i + 1], (int)all[4 * i + 2], all[4 * i + 3]};
    free(all);
    g->ntri = merge_tri(g->tri, total / 4);
    for (size_t i = 0; i < g->ntri; i++)
        g->tri_start[g->tri[i].k + 1]++;
    for (size_t i = 0; i < g->nkey; i++) {
        if (g->tri_start[i + 1])
            g->pd[g->npd++] = i;
        g->tri_start[i + 1] += g->tri_start[i];
    }
    /* blocks of plain keys: at least 16 per block, at most 256 blocks;
     * a block's partial has an I for each pattern of its keys */
    g->pbsize = (g->npd + MAX_BLOCKS - 1) / MAX_BLOCKS;
    if (g->pbsize < PBLOCK_MIN)
        g->pbsize = PBLOCK_MIN;
    g->npb = (g->npd + g->pbsize - 1) / g->pbsize;
    st_mpi_share(g->npb, &g->pblo, &g->pbhi);
    size_t *pstart = malloc((g->npb + 1) * sizeof *pstart), *pat = malloc((g->npd ? g->npd : 1) * sizeof *pat);
    if (!pstart || !pat) {
        free(pstart);
        free(pat);
        return st_err_nomem(e, "likelihood engine");
    }
    size_t np = 0;
    for (size_t b = 0; b < g->npb; b++) {
        pstart[b] = np;
        size_t lo = b * g->pbsize, hi = lo + g->pbsize < g->npd ? lo + g->pbsize : g->npd;
        for (size_t i = lo; i < hi; i++)
            if (i == lo || g->kpat[g->pd[i]] != g->kpat[g->pd[i - 1]])
                pat[np++] = g->kpat[g->pd[i]];
    }
    pstart[g->npb] = np;
    if ((rc = sblocks_layout(&g->pb, g->npb, 1, KK, pstart, pat, e)) < 0)
        return rc;
    for (size_t b = g->pblo; b < g->pbhi; b++)
        for (size_t i = b * g->pbsize; i < (b + 1) * g->pbsize && i < g->npd; i++)
            g->pused[g->kpat[g->pd[i]]] = 1;
    return 0;
}

/* Generic subjects: per subject its entries (distinct patterns of its
 * observations), per block the entries by (pattern, subject), the block
 * pattern lists of the whole data, the dense (block, key) pairs. */
static int generic_setup(mjp_engine *g, st_err *e)
{
    const st_mjp_data *d = g->d;
    size_t K = g->K, KK = K * K, M = g->M ? g->M : 1, nbl = g->bl.hi - g->bl.lo;
    size_t ng = g->ngen, niv = g->niv, nobs = 0;
    for (size_t gi = 0; gi < ng; gi++)
        nobs += d->start[g->gen[gi] + 1] - d->start[g->gen[gi]];
    size_t *pp = malloc((nobs ? nobs : 1) * 2 * sizeof *pp), *cnt = calloc(nbl + 1, sizeof *cnt);
    size_t *ids = malloc((nobs ? nobs : 1) * sizeof *ids), nids = 0;
    ivkey *keys = malloc((niv ? niv : 1) * sizeof *keys);
    g->gen_ent = malloc((ng + 1) * sizeof *g->gen_ent);
    g->ent_pat = malloc((nobs ? nobs : 1) * sizeof *g->ent_pat);
    g->obs_ent = malloc((d->nobs ? d->nobs : 1) * sizeof *g->obs_ent);
    g->bent_start = malloc((nbl + 1) * sizeof *g->bent_start);
    g->bent = malloc((nobs ? nobs : 1) * sizeof *g->bent);
    int rc = 0;
    if (!pp || !cnt || !ids || !keys || !g->gen_ent || !g->ent_pat || !g->obs_ent || !g->bent_start || !g->bent)
        goto nomem;
    /* subject entries */
    size_t ne = 0;
    for (size_t gi = 0; gi < ng; gi++) {
        size_t s = g->gen[gi], k0 = d->start[s], n = d->start[s + 1] - k0;
        g->gen_ent[gi] = ne;
        for (size_t j = 0; j < n; j++)
            pp[2 * j] = d->pat[k0 + j], pp[2 * j + 1] = j;
        qsort(pp, n, 2 * sizeof *pp, cmp_size2);
        for (size_t j = 0; j < n; j++) {
            if (j == 0 || pp[2 * j] != pp[2 * (j - 1)])
                g->ent_pat[ne++] = pp[2 * j];
            g->obs_ent[k0 + pp[2 * j + 1]] = ne - 1;
        }
    }
    g->gen_ent[ng] = ne;
    g->nent = ne;
    /* per share block: entries sorted by (pattern, subject order) */
    size_t q = 0;
    for (size_t b = 0; b < nbl; b++) {
        g->bent_start[b] = q;
        size_t n = 0;
        for (size_t gi = g->gen_blk[b]; gi < g->gen_blk[b + 1]; gi++)
            for (size_t en = g->gen_ent[gi]; en < g->gen_ent[gi + 1]; en++)
                pp[2 * n] = g->ent_pat[en], pp[2 * n + 1] = en, n++;
        qsort(pp, n, 2 * sizeof *pp, cmp_size2);
        for (size_t i = 0; i < n; i++) {
            g->bent[q++] = pp[2 * i + 1];
            g->pused[pp[2 * i]] = 1;
            if (i == 0 || pp[2 * i] != pp[2 * (i - 1)]) {
                ids[nids++] = pp[2 * i];
                cnt[b]++;
            }
        }
    }
    g->bent_start[nbl] = q;
    size_t *pstart = NULL, *pat = NULL;
    if ((rc = sblocks_gather(g->bl.nb, g->bl.lo, g->bl.hi, cnt, ids, &pstart, &pat, e)) < 0) {
        free(pstart);
        free(pat);
        goto out;
    }
    g->entstride = 3 * KK + K + K * M;
    if ((rc = sblocks_layout(&g->gb, g->bl.nb, 1 + K, g->entstride, pstart, pat, e)) < 0)
        goto out;
    /* dense intervals grouped by (subject block, key), in order; exact
     * transition times (no Van Loan part) and zero lengths are left out */
    size_t nk = 0;
    for (size_t bi = g->bl.lo; bi < g->bl.hi; bi++)
        for (size_t gi = g->gen_blk[bi - g->bl.lo]; gi < g->gen_blk[bi - g->bl.lo + 1]; gi++) {
            size_t s = g->gen[gi];
            for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++) {
                size_t iv = g->gen_iv[gi] + (k - d->start[s] - 1);
                if ((d->obstype[k] == ST_MJP_OBS_EXACT && d->mode != ST_MJP_HIDDEN) || g->kdt[g->ivk[k]] == 0)
                    continue;
                keys[nk++] = (ivkey){bi, g->ivk[k], iv};
            }
        }
    for (size_t q0 = 0, q1; q0 < nk; q0 = q1) {
        int sorted = 1;
        for (q1 = q0 + 1; q1 < nk && keys[q1].b == keys[q0].b; q1++)
            if (keys[q1].k < keys[q1 - 1].k)
                sorted = 0;
        if (!sorted)
            qsort(keys + q0, q1 - q0, sizeof *keys, cmp_ivkey);
    }
    g->ivlist = malloc((nk ? nk : 1) * sizeof *g->ivlist);
    g->pair_k = malloc((nk ? nk : 1) * sizeof *g->pair_k);
    g->pair_start = malloc((nk + 1) * sizeof *g->pair_start);
    g->blk_pair = malloc((nbl + 1) * sizeof *g->blk_pair);
    if (!g->ivlist || !g->pair_k || !g->pair_start || !g->blk_pair)
        goto nomem;
    q = 0;
    for (size_t bi = g->bl.lo; bi < g->bl.hi; bi++) {
        g->blk_pair[bi - g->bl.lo] = g->npair;
        while (q < nk && keys[q].b == bi) {
            if (q == 0 || keys[q - 1].b != bi || keys[q - 1].k != keys[q].k) {
                g->pair_start[g->npair] = q;
                g->pair_k[g->npair++] = keys[q].k;
            }
            g->ivlist[q] = keys[q].iv;
            q++;
        }
    }
    g->blk_pair[nbl] = g->npair;
    g->pair_start[g->npair] = nk;
    goto out;
nomem:
    rc = st_err_nomem(e, "likelihood engine");
out:
    free(pp);
    free(cnt);
    free(ids);
    free(keys);
    return rc;
}

int mjp_engine_new(mjp_engine **out, const st_mjp_data *d, st_err *e)
{
    *out = NULL;
    mjp_engine *g = calloc(1, sizeof *g);
    if (!g)
        return st_err_nomem(e, "likelihood engine");
    size_t K = d->K, KK = K * K, M = d->M ? d->M : 1;
    g->d = d;
    g->K = K;
    g->M = d->M;
    g->mode = d->mode;
    g->npat = d->npat ? d->npat : 1;
    size_t *pk0 = NULL;
    tri *tl = NULL;
    int rc = mjp_share_blocks(d, &g->bl, e);
    if (rc < 0) {
        free(g);
        return rc;
    }
    g->Qp = malloc(g->npat * KK * sizeof *g->Qp);
    g->pused = calloc(g->npat, 1);
    if (!g->Qp || !g->pused)
        goto nomem;
    if (d->mode == ST_MJP_EXACT) {
        if ((rc = exact_setup(g, e)) < 0)
            goto fail;
        *out = g;
        return 0;
    }
    size_t slo = g->bl.start[0], shi = g->bl.start[g->bl.hi - g->bl.lo];
    g->ivk = malloc((d->nobs ? d->nobs : 1) * sizeof *g->ivk);
    if (!g->ivk)
        goto nomem;
    if ((rc = keys_setup(g, slo, shi, &pk0, e)) < 0)
        goto fail;
    free(pk0);
    pk0 = NULL;
    /* generic subjects of the share; plain intervals as counts */
    size_t nint = d->start[shi] - d->start[slo] - (shi - slo), nt = 0, niv = 0;
    tl = malloc((nint ? nint : 1) * sizeof *tl);
    g->gen = malloc((shi - slo ? shi - slo : 1) * sizeof *g->gen);
    g->gen_iv = malloc((shi - slo + 1) * sizeof *g->gen_iv);
    g->gen_blk = malloc((g->bl.hi - g->bl.lo + 1) * sizeof *g->gen_blk);
    if (!tl || !g->gen || !g->gen_iv || !g->gen_blk)
        goto nomem;
    for (size_t bi = g->bl.lo; bi < g->bl.hi; bi++) {
        g->gen_blk[bi - g->bl.lo] = g->ngen;
        for (size_t s = g->bl.start[bi - g->bl.lo]; s < g->bl.start[bi - g->bl.lo + 1]; s++) {
            if (is_generic(d, s)) {
                g->gen_iv[g->ngen] = niv;
                g->gen[g->ngen++] = s;
                niv += d->start[s + 1] - d->start[s] - 1;
                continue;
            }
            for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++)
                tl[nt++] = (tri){g->ivk[k], d->y[k - 1], d->y[k], 1};
        }
    }
    g->gen_blk[g->bl.hi - g->bl.lo] = g->ngen;
    g->gen_iv[g->ngen] = niv;
    g->niv = niv;
    if ((rc = plain_setup(g, tl, nt, e)) < 0)
        goto fail;
    free(tl);
    tl = NULL;
    if ((rc = generic_setup(g, e)) < 0)
        goto fail;
    /* slots: the keys of this rank's generic intervals */
    g->key_slot = malloc((g->nkey ? g->nkey : 1) * sizeof *g->key_slot);
    g->slot_key = malloc((g->nkey ? g->nkey : 1) * sizeof *g->slot_key);
    if (!g->key_slot || !g->slot_key)
        goto nomem;
    for (size_t i = 0; i < g->nkey; i++)
        g->key_slot[i] = SIZE_MAX;
    for (size_t gi = 0; gi < g->ngen; gi++)
        for (size_t k = d->start[g->gen[gi]] + 1; k < d->start[g->gen[gi] + 1]; k++)
            g->key_slot[g->ivk[k]] = 0;
    for (size_t i = 0; i < g->nkey; i++)
        if (g->key_slot[i] == 0) {
            g->key_slot[i] = g->nslot;
            g->slot_key[g->nslot++] = i;
        }
    /* refuse up front what the machine cannot hold, with the figure */
    {
        double need = ((double)g->nslot * (double)(2 * KK + K) + (double)niv * 2.0 * (double)K +
                       (double)g->npair * (double)KK + (double)g->nent * (double)g->entstride +
                       (double)g->npat * (double)(4 * KK + 2 * K + K * M) + (double)g->gb.off[g->gb.nb] +
                       (double)g->pb.off[g->pb.nb]) *
                      sizeof(double);
        double phys = st_phys_memory();
        if (need > 0.8 * phys) {
            mjp_engine_free(g);
            return st_err_set(e, ST_ENOMEM, NULL, 0, 0,
                              "%zu states x %zu distinct (pattern, interval length) keys need %.1f GB, more "
                              "than this machine's %.1f GB",
                              K, g->nkey, need / 1e9, phys / 1e9);
        }
    }
    size_t ns = g->nslot ? g->nslot : 1, np = g->npat;
    g->sP = malloc(ns * KK * sizeof *g->sP);
    g->sex = malloc(ns * K * sizeof *g->sex);
    g->sphi = malloc(ns * KK * sizeof *g->sphi);
    g->ab = malloc((niv ? niv : 1) * 2 * K * sizeof *g->ab);
    g->ivdense = malloc(niv ? niv : 1);
    g->ent = malloc((g->nent ? g->nent : 1) * g->entstride * sizeof *g->ent);
    g->sub = malloc((g->ngen ? g->ngen : 1) * (1 + K) * sizeof *g->sub);
    g->pairI = malloc((g->npair ? g->npair : 1) * KK * sizeof *g->pairI);
    g->eok = malloc(np);
    g->el = malloc(np * K * sizeof *g->el);
    g->eU = malloc(np * KK * sizeof *g->eU);
    g->eUi = malloc(np * KK * sizeof *g->eUi);
    g->ermax = malloc(np * K * sizeof *g->ermax);
    g->pll = malloc((g->npb ? g->npb : 1) * sizeof *g->pll);
    g->gll = malloc((g->bl.nb ? g->bl.nb : 1) * sizeof *g->gll);
    if (d->mode == ST_MJP_HIDDEN)
        g->Ep = malloc(np * K * M * sizeof *g->Ep);
    if (!g->sP || !g->sex || !g->sphi || !g->ab || !g->ivdense || !g->ent || !g->sub || !g->pairI || !g->eok ||
        !g->el || !g->eU || !g->eUi || !g->ermax || !g->pll || !g->gll || (d->mode == ST_MJP_HIDDEN && !g->Ep))
        goto nomem;
    *out = g;
    return 0;
nomem:
    rc = st_err_nomem(e, "likelihood engine");
fail:
    free(pk0);
    free(tl);
    mjp_engine_free(g);
    return rc;
}

/* ------------------------------------------------- numerical building blocks */

/* Likelihood vector of observation k over the states (E: the emission of
 * the observation's pattern). */
static void obs_vector(const st_mjp_data *d, const double *E, size_t M, size_t k, double *l)
{
    size_t K = d->K;
    int y = d->y[k];
    if (y < 0) {
        for (size_t i = 0; i < K; i++)
            l[i] = d->censor[-y - 1].member[i];
    } else if (d->mode == ST_MJP_HIDDEN) {
        for (size_t i = 0; i < K; i++)
            l[i] = E[i * M + (size_t)y];
    } else {
        for (size_t i = 0; i < K; i++)
            l[i] = (int)i == y;
    }
}

/* y <- x T for interval type ot (row action) with a dense P. */
static void row_apply(const double *Q, const double *P, size_t K, int ot, double dt, const double *x, double *y)
{
    if (ot == ST_MJP_OBS_EXACT) {
        for (size_t s = 0; s < K; s++)
            y[s] = 0;
        for (size_t r = 0; r < K; r++) {
            double w = x[r] * exp(Q[r * K + r] * dt);
            for (size_t s = 0; s < K; s++)
                y[s] += w * (r == s ? 1 : Q[r * K + s]);
        }
        return;
    }
    double tmp[ST_MJP_MAX_STATES];
    for (size_t s = 0; s < K; s++) {
        double acc = 0;
        for (size_t r = 0; r < K; r++)
            acc += x[r] * P[r * K + s];
        tmp[s] = acc;
    }
    if (ot == ST_MJP_OBS_SNAPSHOT) {
        memcpy(y, tmp, K * sizeof *y);
        return;
    }
    for (size_t s = 0; s < K; s++) {
        double acc = 0;
        for (size_t r = 0; r < K; r++)
            if (r != s)
                acc += tmp[r] * Q[r * K + s];
        y[s] = acc;
    }
}

/* y <- T v (column action) with a dense P. */
static void col_apply(const double *Q, const double *P, size_t K, int ot, double dt, const double *v, double *y)
{
    if (ot == ST_MJP_OBS_EXACT) {
        for (size_t r = 0; r < K; r++) {
            double acc = v[r];
            for (size_t s = 0; s < K; s++)
                if (s != r)
                    acc += Q[r * K + s] * v[s];
            y[r] = exp(Q[r * K + r] * dt) * acc;
        }
        return;
    }
    double tmp[ST_MJP_MAX_STATES];
    const double *w = v;
    if (ot == ST_MJP_OBS_DEATH) {
        for (size_t r = 0; r < K; r++) {
            double acc = 0;
            for (size_t s = 0; s < K; s++)
                if (s != r)
                    acc += Q[r * K + s] * v[s];
            tmp[r] = acc;
        }
        w = tmp;
    }
    for (size_t r = 0; r < K; r++) {
        double acc = 0;
        for (size_t s = 0; s < K; s++)
            acc += P[r * K + s] * w[s];
        y[r] = acc;
    }
}

/* Phi_ij(t) = int_0^t e^{l_i u} e^{l_j (t-u)} du = t (e^{a} - e^{b}) / (a - b)
 * with a = l_i t, b = l_j t: symmetric; from the exponentials when a and b
 * are apart (the difference then loses at most a factor 4), through expm1
 * when close. */
static void phi_fill(const double *l, const double *ex, size_t K, double t, double *phi)
{
    for (size_t i = 0; i < K; i++) {
        phi[i * K + i] = t * ex[i];
        for (size_t j = i + 1; j < K; j++) {
            double dd = (l[i] - l[j]) * t, v;
            if (fabs(dd) > 0.5)
                v = t * (ex[i] - ex[j]) / dd;
            else
                v = dd == 0 ? t * ex[j] : t * ex[j] * (expm1(dd) / dd);
            phi[i * K + j] = phi[j * K + i] = v;
        }
    }
}

/* I = U^-T Y U^T (K x K), work K^2. */
static void eig_back(const double *U, const double *Ui, const double *Y, size_t K, double *I, double *work)
{
    st_gemm(1, 0, K, K, K, 1.0, Ui, Y, 0.0, work);
    st_gemm(0, 1, K, K, K, 1.0, work, U, 0.0, I);
}

int mjp_eig_prepare_to(const double *Q, size_t K, double *l, double *U, double *Ui)
{
    double wi[ST_MJP_MAX_STATES];
    st_err le;
    if (st_eigen_general(Q, K, l, wi, U, &le) < 0)
        return 0;
    double qmax = 0;
    for (size_t i = 0; i < K * K; i++)
        qmax = fmax(qmax, fabs(Q[i]));
    for (size_t i = 0; i < K; i++)
        if (wi[i] != 0 || l[i] > 1e-12 * fmax(qmax, 1e-300))
            return 0;
    memcpy(Ui, U, K * K * sizeof *U);
    if (st_inverse(Ui, K, &le) < 0)
        return 0;
    /* accept only if U diag(l) U^-1 reproduces Q closely */
    double err = 0;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            double acc = 0;
            for (size_t k = 0; k < K; k++)
                acc += U[i * K + k] * l[k] * Ui[k * K + j];
            err = fmax(err, fabs(acc - Q[i * K + j]));
        }
    return err <= 1e-11 * fmax(qmax, 1e-300);
}

/* The Van Loan integrals by eigendecomposition when Q = U diag(l) U^-1 with
 * real eigenvalues and a well-conditioned U:
 *   I(W) = U^-T [ (U^T W U^-T) o Phi ] U^T. */
int mjp_eig_prepare(mjp_eig *ev, const double *Q, size_t K)
{
    ev->K = K;
    ev->ok = mjp_eig_prepare_to(Q, K, ev->l, ev->U, ev->Ui);
    return ev->ok;
}

void mjp_eig_vanloan(const mjp_eig *ev, double t, const double *W, double *I, double *work)
{
    size_t K = ev->K, KK = K * K;
    double *X1 = work, *X = work + KK, ex[ST_MJP_MAX_STATES] = {0}, phi[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    for (size_t i = 0; i < K; i++)
        ex[i] = exp(ev->l[i] * t);
    phi_fill(ev->l, ex, K, t, phi);
    st_gemm(1, 0, K, K, K, 1.0, ev->U, W, 0.0, X1); /* U^T W */
    st_gemm(0, 1, K, K, K, 1.0, X1, ev->Ui, 0.0, X); /* U^T W U^-T */
    for (size_t j = 0; j < KK; j++)
        X[j] *= phi[j];
    eig_back(ev->U, ev->Ui, X, K, I, X1);
}

int st_mjp_vanloan(const double *Q, size_t K, double t, const double *W, double *I, st_err *e)
{
    size_t n2 = 2 * K;
    double wmax = 0;
    for (size_t i = 0; i < K * K; i++)
        wmax = fmax(wmax, fabs(W[i]));
    if (t == 0 || wmax == 0) {
        memset(I, 0, K * K * sizeof *I);
        return 0;
    }
    double *A = calloc(2 * n2 * n2, sizeof *A);
    if (!A)
        return st_err_nomem(e, "Van Loan block");
    double *X = A + n2 * n2;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            double qt = Q[j * K + i] * t; /* Q^T */
            A[i * n2 + j] = qt;
            A[(K + i) * n2 + K + j] = qt;
            A[i * n2 + K + j] = W[i * K + j] / wmax * t;
        }
    int rc = st_expm(A, n2, X, e);
    if (rc == 0)
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < K; j++)
                I[i * K + j] = X[i * n2 + K + j] * wmax;
    free(A);
    return rc;
}

/* P = exp(Q dt) (dense). */
static int dense_p(const double *Q, size_t K, double dt, double *P)
{
    double A[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    st_err le;
    for (size_t j = 0; j < K * K; j++)
        A[j] = Q[j] * dt;
    return st_expm(A, K, P, &le);
}

/* Failures inside parallel regions, agreed over ranks by their maximum. */
enum { BAD_EXPM = 1, BAD_VANLOAN = 2, BAD_NOMEM = 3 };

static void set_bad(int *bad, int v)
{
#pragma omp critical(mjp_bad)
    if (v > *bad)
        *bad = v;
}

/* ---------------------------------------------------------- plain part */

/* Plain block b (this rank's): ll and, per pattern of its keys, I. */
static void plain_block(mjp_engine *g, size_t b, int want, int *bad)
{
    size_t K = g->K, KK = K * K;
    double *r = g->pb.buf + g->pb.off[b], ll = 0;
    memset(r, 0, (g->pb.off[b + 1] - g->pb.off[b]) * sizeof *r);
    double Y[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES], W[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES],
        I[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES], P[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES],
        work[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES], ex[ST_MJP_MAX_STATES], phi[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    size_t lo = b * g->pbsize, hi = lo + g->pbsize < g->npd ? lo + g->pbsize : g->npd;
    size_t q = g->pb.pstart[b];
    double *Ir = r + 1;
    int haveY = 0;
    memset(Y, 0, KK * sizeof *Y);
    for (size_t i = lo; i < hi; i++) {
        size_t key = g->pd[i], p = g->kpat[key];
        if (g->pb.pat[q] != p) { /* next pattern: close the previous */
            if (haveY) {
                eig_back(g->eU + g->pb.pat[q] * KK, g->eUi + g->pb.pat[q] * KK, Y, K, I, work);
                for (size_t j = 0; j < KK; j++)
                    Ir[j] += I[j];
            }
            memset(Y, 0, KK * sizeof *Y);
            haveY = 0;
            q++;
            Ir += KK;
        }
        const double *Q = g->Qp + p * KK;
        double dt = g->kdt[key], kll = 0;
        int dense = !g->eok[p];
        const tri *t0 = g->tri + g->tri_start[key], *t1 = g->tri + g->tri_start[key + 1];
        if (!dense) {
            const double *l = g->el + p * K, *U = g->eU + p * KK, *Ui = g->eUi + p * KK;
            for (size_t a = 0; a < K; a++)
                ex[a] = exp(l[a] * dt);
            int byw = (size_t)(t1 - t0) > 2 * K; /* sum W first, then transform */
            if (want)
                memset(W, 0, KK * sizeof *W);
            for (const tri *t = t0; t < t1; t++) {
                double pr = 0, bound = 0;
                const double *u = U + (size_t)t->r * K;
                for (size_t a = 0; a < K; a++) {
                    double x = u[a] * ex[a] * Ui[a * K + (size_t)t->s];
                    pr += x;
                    bound += fabs(x);
                }
                if (!(pr > EIG_REL * bound)) {
                    dense = 1;
                    break;
                }
                kll += t->n * log(pr);
                if (!want)
                    continue;
                double w = t->n / pr;
                if (byw)
                    W[(size_t)t->r * K + (size_t)t->s] += w;
                else
                    for (size_t a = 0; a < K; a++) {
                        double wu = w * u[a];
                        for (size_t c = 0; c < K; c++)
                            W[a * K + c] += wu * Ui[c * K + (size_t)t->s];
                    }
            }
            if (!dense && want && dt != 0) {
                if (byw) {
                    st_gemm(1, 0, K, K, K, 1.0, U, W, 0.0, work);
                    st_gemm(0, 1, K, K, K, 1.0, work, Ui, 0.0, W);
                }
                phi_fill(l, ex, K, dt, phi);
                for (size_t j = 0; j < KK; j++)
                    Y[j] += W[j] * phi[j];
                haveY = 1;
            }
        }
        if (dense) {
            kll = 0;
            if (dense_p(Q, K, dt, P) < 0) {
                set_bad(bad, BAD_EXPM);
                continue;
            }
            memset(W, 0, KK * sizeof *W);
            for (const tri *t = t0; t < t1; t++) {
                double pr = P[(size_t)t->r * K + (size_t)t->s];
                if (!(pr > 0)) {
                    kll = -INFINITY;
                    break;
                }
                kll += t->n * log(pr);
                W[(size_t)t->r * K + (size_t)t->s] += t->n / pr;
            }
            if (want && isfinite(kll) && dt != 0) {
                st_err le;
                if (st_mjp_vanloan(Q, K, dt, W, I, &le) < 0)
                    set_bad(bad, BAD_VANLOAN);
                else
                    for (size_t j = 0; j < KK; j++)
                        Ir[j] += I[j];
            }
        }
        ll += kll;
    }
    if (haveY) {
        eig_back(g->eU + g->pb.pat[q] * KK, g->eUi + g->pb.pat[q] * KK, Y, K, I, work);
        for (size_t j = 0; j < KK; j++)
            Ir[j] += I[j];
    }
    r[0] = ll;
    g->pll[b] = ll;
}

/* ------------------------------------------------------ generic subjects */

/* Forward-backward for generic subject gi: ll and initial-state counts
 * into sub, per-entry statistics (Y in the eigenbasis of the entry's
 * pattern, direct terms, emission counts) into ent; dense intervals keep
 * a, b for their (block, key) pair. */
static void forward_backward(mjp_engine *g, const st_mjp *m, size_t gi, int want)
{
    const st_mjp_data *d = g->d;
    size_t K = g->K, KK = K * K, M = g->M ? g->M : 1, ES = g->entstride;
    size_t s = g->gen[gi], k0 = d->start[s], n = d->start[s + 1] - k0;
    int hidden = d->mode == ST_MJP_HIDDEN;
    double *sub = g->sub + gi * (1 + K), *N0 = sub + 1;
    memset(sub, 0, (1 + K) * sizeof *sub);
    if (want)
        memset(g->ent + g->gen_ent[gi] * ES, 0, (g->gen_ent[gi + 1] - g->gen_ent[gi]) * ES * sizeof *g->ent);
    double *alpha = malloc(n * K * sizeof *alpha), *c = malloc(n * sizeof *c);
    double l[ST_MJP_MAX_STATES], beta[ST_MJP_MAX_STATES], v[ST_MJP_MAX_STATES], tmp[ST_MJP_MAX_STATES],
        bh[ST_MJP_MAX_STATES], w[ST_MJP_MAX_STATES], P[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    if (!alpha || !c) {
        free(alpha);
        free(c);
        sub[0] = NAN; /* reported as out of memory by the caller */
        return;
    }
#define EMIS(k) (hidden ? g->Ep + d->pat[k] * K * M : NULL)
    double ll = 0, c0 = 0;
    obs_vector(d, EMIS(k0), M, k0, l);
    for (size_t i = 0; i < K; i++) {
        alpha[i] = (hidden ? m->init[i] : 1.0) * l[i];
        c0 += alpha[i];
    }
    if (!(c0 > 0))
        goto impossible;
    for (size_t i = 0; i < K; i++)
        alpha[i] /= c0;
    if (hidden)
        ll += log(c0);
    for (size_t j = 1; j < n; j++) {
        size_t k = k0 + j, key = g->ivk[k], p = d->pat[k - 1], iv = g->gen_iv[gi] + j - 1;
        int ot = hidden ? ST_MJP_OBS_SNAPSHOT : d->obstype[k];
        double dt = g->kdt[key], *ab = g->ab + iv * 2 * K;
        const double *a = alpha + (j - 1) * K, *Q = g->Qp + p * KK;
        double *an = alpha + j * K;
        int dense = 0;
        g->ivdense[iv] = 0;
        obs_vector(d, EMIS(k), M, k, l);
        if (ot == ST_MJP_OBS_EXACT) {
            row_apply(Q, NULL, K, ot, dt, a, an);
        } else if (g->eok[p]) {
            const double *U = g->eU + p * KK, *Ui = g->eUi + p * KK, *rmax = g->ermax + p * K;
            const double *ex = g->sex + g->key_slot[key] * K;
            double bound = 0, cj = 0;
            for (size_t i = 0; i < K; i++) {
                double acc = 0;
                for (size_t q = 0; q < K; q++)
                    acc += a[q] * U[q * K + i];
                ab[i] = acc;
                w[i] = acc * ex[i];
                bound += fabs(w[i]) * rmax[i];
            }
            for (size_t s2 = 0; s2 < K; s2++) {
                double acc = 0;
                for (size_t i = 0; i < K; i++)
                    acc += w[i] * Ui[i * K + s2];
                tmp[s2] = acc > 0 ? acc : 0;
            }
            if (ot == ST_MJP_OBS_DEATH) {
                double qexit = 0;
                for (size_t s2 = 0; s2 < K; s2++) {
                    double acc = 0;
                    for (size_t r = 0; r < K; r++)
                        if (r != s2)
                            acc += tmp[r] * Q[r * K + s2];
                    an[s2] = acc;
                    qexit = fmax(qexit, -Q[s2 * K + s2]);
                }
                bound *= qexit;
            } else {
                memcpy(an, tmp, K * sizeof *an);
            }
            for (size_t i = 0; i < K; i++)
                cj += an[i] * l[i];
            dense = !(cj > EIG_REL * bound);
        } else {
            dense = 1;
        }
        if (dense) {
            const double *Pd = P;
            if (!g->eok[p])
                Pd = g->sP + g->key_slot[key] * KK;
            else if (dense_p(Q, K, dt, P) < 0)
                goto impossible;
            row_apply(Q, Pd, K, ot, dt, a, an);
            memcpy(ab, a, K * sizeof *ab);
            g->ivdense[iv] = 1;
        }
        double cj = 0;
        for (size_t i = 0; i < K; i++) {
            an[i] *= l[i];
            cj += an[i];
        }
        if (!(cj > 0) || !isfinite(cj))
            goto impossible;
        for (size_t i = 0; i < K; i++)
            an[i] /= cj;
        c[j] = cj;
        ll += log(cj);
    }
    sub[0] = ll;
    if (!want)
        goto out;
    for (size_t i = 0; i < K; i++)
        beta[i] = 1;
    for (size_t j = n - 1; j >= 1; j--) {
        size_t k = k0 + j, key = g->ivk[k], p = d->pat[k - 1], iv = g->gen_iv[gi] + j - 1;
        int ot = hidden ? ST_MJP_OBS_SNAPSHOT : d->obstype[k];
        double dt = g->kdt[key], *ab = g->ab + iv * 2 * K;
        const double *a = alpha + (j - 1) * K, *Q = g->Qp + p * KK;
        double *en = g->ent + g->obs_ent[k - 1] * ES;
        double *Y = en, *Ndir = en + KK, *Gdir = en + 2 * KK, *Ddir = en + 3 * KK;
        obs_vector(d, EMIS(k), M, k, l);
        if (hidden && d->y[k] >= 0) {
            double *Nem = g->ent + g->obs_ent[k] * ES + 3 * KK + K;
            for (size_t i = 0; i < K; i++)
                Nem[i * M + (size_t)d->y[k]] += alpha[j * K + i] * beta[i];
        }
        for (size_t i = 0; i < K; i++)
            v[i] = l[i] * beta[i] / c[j];
        if (ot == ST_MJP_OBS_EXACT) { /* exact transition time: direct, no Van Loan */
            for (size_t r = 0; r < K; r++) {
                double er = exp(Q[r * K + r] * dt), rowsum = 0;
                for (size_t s2 = 0; s2 < K; s2++) {
                    double xi = a[r] * er * (r == s2 ? 1 : Q[r * K + s2]) * v[s2];
                    rowsum += xi;
                    if (r != s2) {
                        Ndir[r * K + s2] += xi;
                        Gdir[r * K + s2] += a[r] * er * v[s2];
                    }
                }
                Ddir[r] += dt * rowsum;
            }
            col_apply(Q, NULL, K, ot, dt, v, beta);
            continue;
        }
        const double *x = v; /* what P acts on */
        if (ot == ST_MJP_OBS_DEATH) {
            for (size_t r = 0; r < K; r++) {
                double acc = 0;
                for (size_t s2 = 0; s2 < K; s2++)
                    if (s2 != r)
                        acc += Q[r * K + s2] * v[s2];
                w[r] = acc;
            }
            x = w;
        }
        if (!g->ivdense[iv]) {
            const double *U = g->eU + p * KK, *Ui = g->eUi + p * KK;
            const double *ex = g->sex + g->key_slot[key] * K, *phi = g->sphi + g->key_slot[key] * KK;
            for (size_t i = 0; i < K; i++) {
                double acc = 0;
                for (size_t q = 0; q < K; q++)
                    acc += Ui[i * K + q] * x[q];
                bh[i] = acc;
            }
            if (dt != 0)
                for (size_t i = 0; i < K; i++) {
                    double ai = ab[i];
                    if (ai != 0)
                        for (size_t q = 0; q < K; q++)
                            Y[i * K + q] += ai * bh[q] * phi[i * K + q];
                }
            if (ot == ST_MJP_OBS_DEATH) /* a P from the stored U^T a */
                for (size_t s2 = 0; s2 < K; s2++) {
                    double acc = 0;
                    for (size_t i = 0; i < K; i++)
                        acc += ab[i] * ex[i] * Ui[i * K + s2];
                    tmp[s2] = acc > 0 ? acc : 0;
                }
            for (size_t i = 0; i < K; i++)
                bh[i] *= ex[i];
            for (size_t r = 0; r < K; r++) {
                double acc = 0;
                for (size_t i = 0; i < K; i++)
                    acc += U[r * K + i] * bh[i];
                beta[r] = acc > 0 ? acc : 0;
            }
        } else {
            const double *Pd = P;
            if (!g->eok[p])
                Pd = g->sP + g->key_slot[key] * KK;
            else
                dense_p(Q, K, dt, P); /* succeeded in the forward pass */
            memcpy(ab + K, x, K * sizeof *ab);
            if (ot == ST_MJP_OBS_DEATH)
                for (size_t s2 = 0; s2 < K; s2++) {
                    double acc = 0;
                    for (size_t r = 0; r < K; r++)
                        acc += a[r] * Pd[r * K + s2];
                    tmp[s2] = acc;
                }
            for (size_t r = 0; r < K; r++) {
                double acc = 0;
                for (size_t s2 = 0; s2 < K; s2++)
                    acc += Pd[r * K + s2] * x[s2];
                beta[r] = acc;
            }
        }
        if (ot == ST_MJP_OBS_DEATH) /* the final jump into the absorbing state */
            for (size_t a2 = 0; a2 < K; a2++)
                for (size_t b2 = 0; b2 < K; b2++)
                    if (a2 != b2) {
                        Gdir[a2 * K + b2] += tmp[a2] * v[b2];
                        Ndir[a2 * K + b2] += Q[a2 * K + b2] * tmp[a2] * v[b2];
                    }
    }
    obs_vector(d, EMIS(k0), M, k0, l);
    {
        double z = 0;
        for (size_t i = 0; i < K; i++)
            z += alpha[i] * beta[i];
        double *Nem = g->ent + g->obs_ent[k0] * ES + 3 * KK + K;
        for (size_t i = 0; i < K; i++) {
            double gam = z > 0 ? alpha[i] * beta[i] / z : 0;
            N0[i] += gam;
            if (hidden && d->y[k0] >= 0)
                Nem[i * M + (size_t)d->y[k0]] += gam;
        }
    }
    goto out;
impossible:
    sub[0] = -INFINITY;
    if (want) /* no dense interval left half-filled */
        memset(g->ivdense + g->gen_iv[gi], 0, n - 1);
out:
#undef EMIS
    free(alpha);
    free(c);
}

/* Dense pair q: I of the summed W = sum a b^T of its dense intervals. */
static void dense_pair(mjp_engine *g, size_t q, double *W, int *bad)
{
    size_t K = g->K, KK = K * K, key = g->pair_k[q];
    double *I = g->pairI + q * KK;
    int any = 0;
    memset(W, 0, KK * sizeof *W);
    for (size_t j = g->pair_start[q]; j < g->pair_start[q + 1]; j++) {
        size_t iv = g->ivlist[j];
        if (!g->ivdense[iv])
            continue;
        const double *a = g->ab + iv * 2 * K, *b = a + K;
        any = 1;
        for (size_t r = 0; r < K; r++)
            if (a[r] != 0)
                for (size_t c = 0; c < K; c++)
                    W[r * K + c] += a[r] * b[c];
    }
    if (!any) {
        memset(I, 0, KK * sizeof *I);
        return;
    }
    st_err le;
    if (st_mjp_vanloan(g->Qp + g->kpat[key] * KK, K, g->kdt[key], W, I, &le) < 0)
        set_bad(bad, BAD_VANLOAN);
}

/* Generic block b (this rank's): its partial from the subjects' entries. */
static void generic_block(mjp_engine *g, size_t b, int want, int *bad)
{
    size_t K = g->K, KK = K * K, ES = g->entstride, bb = b - g->bl.lo;
    double *r = g->gb.buf + g->gb.off[b], ll = 0;
    double N0[ST_MJP_MAX_STATES] = {0}, Y[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES],
                                  work[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    for (size_t gi = g->gen_blk[bb]; gi < g->gen_blk[bb + 1]; gi++) {
        const double *sub = g->sub + gi * (1 + K);
        if (isnan(sub[0]))
            set_bad(bad, BAD_NOMEM);
        ll += sub[0];
        for (size_t i = 0; i < K; i++)
            N0[i] += sub[1 + i];
    }
    g->gll[b] = ll;
    if (!want)
        return;
    memset(r, 0, (g->gb.off[b + 1] - g->gb.off[b]) * sizeof *r);
    r[0] = ll;
    memcpy(r + 1, N0, K * sizeof *N0);
    size_t e = g->bent_start[bb], e1 = g->bent_start[bb + 1];
    size_t pq = g->blk_pair[bb], pq1 = g->blk_pair[bb + 1];
    double *R = r + 1 + K;
    for (size_t q = g->gb.pstart[b]; q < g->gb.pstart[b + 1]; q++, R += ES) {
        size_t p = g->gb.pat[q];
        memset(Y, 0, KK * sizeof *Y);
        for (; e < e1 && g->ent_pat[g->bent[e]] == p; e++) {
            const double *en = g->ent + g->bent[e] * ES;
            for (size_t j = 0; j < KK; j++)
                Y[j] += en[j];
            for (size_t j = KK; j < ES; j++)
                R[j] += en[j];
        }
        if (g->eok[p])
            eig_back(g->eU + p * KK, g->eUi + p * KK, Y, K, R, work);
        for (; pq < pq1 && g->kpat[g->pair_k[pq]] == p; pq++)
            for (size_t j = 0; j < KK; j++)
                R[j] += g->pairI[pq * KK + j];
    }
}

/* ------------------------------------------------------------ evaluation */

static int exact_eval(mjp_engine *g, const st_mjp *m, int want, mjp_stats *s)
{
    size_t K = g->K, KK = K * K;
    double ll = 0;
    for (size_t p = 0; p < g->npat; p++) {
        const double *Q = g->Qp + p * KK, *xN = g->xN + p * KK, *xD = g->xD + p * K;
        for (size_t a = 0; a < K; a++) {
            ll += xD[a] * Q[a * K + a];
            for (size_t b = 0; b < K; b++)
                if (a != b && xN[a * K + b] > 0)
                    ll += xN[a * K + b] * log(Q[a * K + b]);
        }
        if (want) {
            memcpy(s->N + p * KK, xN, KK * sizeof *s->N);
            memcpy(s->D + p * K, xD, K * sizeof *s->D);
            for (size_t a = 0; a < K; a++)
                for (size_t b = 0; b < K; b++)
                    s->G[p * KK + a * K + b] =
                        a == b ? 0 : (xN[a * K + b] > 0 ? xN[a * K + b] / Q[a * K + b] : 0) - xD[a];
        }
    }
    (void)m;
    s->ll = isnan(ll) ? -INFINITY : ll;
    return 0;
}

int mjp_engine_eval(mjp_engine *g, const st_mjp *m, int want, mjp_stats *s, st_err *e)
{
    const st_mjp_data *d = g->d;
    size_t K = g->K, KK = K * K, M = g->M ? g->M : 1, np = g->npat;
    const double *Z = d->Z;
    /* rates (and emission) of every pattern: cheap, needed on every rank */
    for (size_t p = 0; p < np; p++) {
        st_mjp_rates_at(m, d->C ? Z + p * d->C : NULL, g->Qp + p * KK);
        if (g->Ep)
            st_mjp_emission_at(m, d->C ? Z + p * d->C : NULL, g->Ep + p * K * M);
    }
    if (g->mode == ST_MJP_EXACT)
        return exact_eval(g, m, want, s);
    int bad = 0;
    /* 1. eigendecompositions of the patterns this rank uses */
#pragma omp parallel for schedule(dynamic, 16) if ((double)np * (double)(KK * K) * 20 > mjp_omp_min_work)
    for (size_t p = 0; p < np; p++) {
        g->eok[p] = 0;
        if (!g->pused[p] || mjp_eig_disable)
            continue;
        double *U = g->eU + p * KK, *Ui = g->eUi + p * KK, *rmax = g->ermax + p * K;
        g->eok[p] = (unsigned char)mjp_eig_prepare_to(g->Qp + p * KK, K, g->el + p * K, U, Ui);
        for (size_t i = 0; i < K; i++) {
            double mx = 0;
            for (size_t j = 0; j < K; j++)
                mx = fmax(mx, fabs(Ui[i * K + j]));
            rmax[i] = mx;
        }
    }
    /* 2. slots (keys of this rank's generic intervals): e^{l dt} and Phi,
     * or the dense P where the spectrum is not usable.  The same (Q, dt)
     * gives the same bits on every rank. */
    size_t nslot = g->nslot;
#pragma omp parallel for schedule(static) if ((double)nslot * (double)(KK * 4) > mjp_omp_min_work)
    for (size_t i = 0; i < nslot; i++) {
        size_t key = g->slot_key[i], p = g->kpat[key];
        double dt = g->kdt[key];
        if (g->eok[p]) {
            const double *l = g->el + p * K;
            double *ex = g->sex + i * K;
            for (size_t a = 0; a < K; a++)
                ex[a] = exp(l[a] * dt);
            if (want)
                phi_fill(l, ex, K, dt, g->sphi + i * KK);
        } else if (dense_p(g->Qp + p * KK, K, dt, g->sP + i * KK) < 0) {
            set_bad(&bad, BAD_EXPM);
        }
    }
    /* 3. generic subjects: forward-backward */
    size_t ngen = g->ngen;
#pragma omp parallel for schedule(dynamic, 8) if ((double)g->niv * (double)(KK * 5) > mjp_omp_min_work)
    for (size_t gi = 0; gi < ngen; gi++)
        forward_backward(g, m, gi, want);
    /* 4. dense intervals: one Van Loan per (block, key) pair */
    if (want) {
        size_t npair = g->npair;
#pragma omp parallel if ((double)npair * (double)(KK * K) > mjp_omp_min_work)
        {
            double W[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
#pragma omp for schedule(dynamic, 4)
            for (size_t q = 0; q < npair; q++)
                dense_pair(g, q, W, &bad);
        }
    }
    /* 5. plain blocks of this rank */
#pragma omp parallel for schedule(dynamic, 1) if ((double)(g->pbhi - g->pblo) * (double)g->pbsize * \
                                                   (double)(KK * 4) > mjp_omp_min_work)
    for (size_t b = g->pblo; b < g->pbhi; b++)
        plain_block(g, b, want, &bad);
    /* 6. generic blocks of this rank */
    if (g->any_gen) {
#pragma omp parallel for schedule(dynamic, 1) if ((double)g->nent * (double)(KK * K) > mjp_omp_min_work)
        for (size_t b = g->bl.lo; b < g->bl.hi; b++)
            generic_block(g, b, want, &bad);
    }
    switch ((int)st_mpi_max_long(bad)) {
    case BAD_EXPM:
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "matrix exponential failed (rates not finite?)");
    case BAD_VANLOAN:
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "Van Loan exponential failed");
    case BAD_NOMEM:
        return st_err_nomem(e, "forward-backward");
    default:
        break;
    }
    /* 7. fixed-order reductions: block partials in block order, plain then
     * generic */
    int rc;
    double pl = 0, gl = 0;
    if (!want) {
        if (g->npb && (rc = st_mpi_fold_blocks(g->pll, g->npb, 1, &pl, e)) < 0)
            return rc;
        if (g->any_gen && (rc = st_mpi_fold_blocks(g->gll, g->bl.nb, 1, &gl, e)) < 0)
            return rc;
        double ll = pl + gl;
        s->ll = isnan(ll) ? -INFINITY : ll;
        return 0;
    }
    size_t ES = g->entstride;
    double *pacc = calloc(np * KK, sizeof *pacc), *gacc = calloc(g->any_gen ? np * ES : 1, sizeof *gacc);
    double gs[1 + ST_MJP_MAX_STATES] = {0};
    if (!pacc || !gacc) {
        free(pacc);
        free(gacc);
        return st_err_nomem(e, "statistics");
    }
    if (g->npb && (rc = sblocks_fold(&g->pb, &pl, pacc, e)) < 0)
        goto out;
    if (g->any_gen && (rc = sblocks_fold(&g->gb, gs, gacc, e)) < 0)
        goto out;
    rc = 0;
    double ll = pl + gs[0];
    s->ll = isnan(ll) ? -INFINITY : ll;
    if (!isfinite(s->ll))
        goto out;
    memcpy(s->N0, gs + 1, K * sizeof *s->N0);
    for (size_t p = 0; p < np; p++) {
        const double *Q = g->Qp + p * KK, *Ip = pacc + p * KK, *ge = g->any_gen ? gacc + p * ES : NULL;
        double *N = s->N + p * KK, *D = s->D + p * K, *G = s->G + p * KK, I[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
        for (size_t j = 0; j < KK; j++)
            I[j] = Ip[j] + (ge ? ge[j] : 0);
        for (size_t a = 0; a < K; a++)
            D[a] = I[a * K + a] + (ge ? ge[3 * KK + a] : 0);
        for (size_t a = 0; a < K; a++)
            for (size_t b = 0; b < K; b++) {
                size_t ab = a * K + b;
                if (a == b) {
                    N[ab] = G[ab] = 0;
                    continue;
                }
                N[ab] = Q[ab] * I[ab] + (ge ? ge[KK + ab] : 0);
                G[ab] = I[ab] - I[a * K + a] + (ge ? ge[2 * KK + ab] - ge[3 * KK + a] : 0);
            }
        if (d->mode == ST_MJP_HIDDEN)
            memcpy(s->Nem + p * K * M, ge + 3 * KK + K, K * M * sizeof *s->Nem);
    }
out:
    free(pacc);
    free(gacc);
    return rc;
}

/* --------------------------------------------------------- public wrappers */

int st_mjp_expected_stats(const st_mjp *m, const st_mjp_data *d, double *loglik, double *N, double *D,
                          double *G, st_err *e)
{
    mjp_engine *g;
    mjp_stats s;
    int rc = mjp_engine_new(&g, d, e);
    if (rc < 0)
        return rc;
    if ((rc = mjp_stats_alloc(&s, d->K, d->M, g->npat, e)) < 0) {
        mjp_engine_free(g);
        return rc;
    }
    rc = mjp_engine_eval(g, m, 1, &s, e);
    if (rc == 0) {
        size_t K = d->K, KK = K * K, C = m->C;
        if (loglik)
            *loglik = s.ll;
        if (N)
            memset(N, 0, KK * sizeof *N);
        if (D)
            memset(D, 0, K * sizeof *D);
        if (G)
            memset(G, 0, KK * sizeof *G);
        for (size_t p = 0; p < g->npat; p++) {
            for (size_t j = 0; j < KK; j++) {
                if (N)
                    N[j] += s.N[p * KK + j];
                if (G) {
                    /* d logL / d (baseline q_ab) */
                    double f = 1;
                    if (C && m->Q[j] > 0)
                        f = g->Qp[p * KK + j] / m->Q[j];
                    G[j] += s.G[p * KK + j] * f;
                }
            }
            if (D)
                for (size_t a = 0; a < K; a++)
                    D[a] += s.D[p * K + a];
        }
    }
    mjp_stats_free(&s);
    mjp_engine_free(g);
    return rc;
}

int st_mjp_loglik(const st_mjp *m, const st_mjp_data *d, double *loglik, st_err *e)
{
    mjp_engine *g;
    mjp_stats s;
    memset(&s, 0, sizeof s);
    int rc = mjp_engine_new(&g, d, e);
    if (rc < 0)
        return rc;
    rc = mjp_engine_eval(g, m, 0, &s, e);
    if (rc == 0)
        *loglik = s.ll;
    mjp_engine_free(g);
    return rc;
}

int st_mjp_pmatrix(const st_mjp *m, double t, double *P, st_err *e)
{
    size_t K = m->K;
    double *A = malloc(K * K * sizeof *A);
    if (!A)
        return st_err_nomem(e, "P(t)");
    for (size_t i = 0; i < K * K; i++)
        A[i] = m->Q[i] * t;
    int rc = st_expm(A, K, P, e);
    free(A);
    return rc;
}

int st_mjp_viterbi(const st_mjp *m, const st_mjp_data *d, size_t s, int *states, st_err *e)
{
    size_t K = m->K, KK = K * K, M = m->M ? m->M : 1, k0 = d->start[s], n = d->start[s + 1] - k0;
    double *delta = malloc(n * K * sizeof *delta), *P = malloc(KK * sizeof *P), *Q = malloc(KK * sizeof *Q);
    double *E = malloc(K * M * sizeof *E);
    int *bp = malloc(n * K * sizeof *bp);
    double l[ST_MJP_MAX_STATES];
    int rc = 0;
    if (!delta || !P || !bp || !Q || !E) {
        rc = st_err_nomem(e, "Viterbi");
        goto out;
    }
#define ZOF(k) (d->C ? d->Z + d->pat[k] * d->C : NULL)
    if (d->mode == ST_MJP_HIDDEN)
        st_mjp_emission_at(m, ZOF(k0), E);
    obs_vector(d, E, M, k0, l);
    for (size_t i = 0; i < K; i++)
        delta[i] = log((d->mode == ST_MJP_HIDDEN ? m->init[i] : 1.0) * l[i]);
    for (size_t j = 1; j < n; j++) {
        size_t k = k0 + j;
        st_mjp_rates_at(m, ZOF(k - 1), Q);
        if (dense_p(Q, K, d->t[k] - d->t[k - 1], P) < 0) {
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "matrix exponential failed (rates not finite?)");
            goto out;
        }
        if (d->mode == ST_MJP_HIDDEN)
            st_mjp_emission_at(m, ZOF(k), E);
        obs_vector(d, E, M, k, l);
        for (size_t b = 0; b < K; b++) {
            double best = -INFINITY;
            int arg = 0;
            for (size_t a = 0; a < K; a++) {
                double v = delta[(j - 1) * K + a] + log(fmax(P[a * K + b], 0));
                if (v > best) {
                    best = v;
                    arg = (int)a;
                }
            }
            delta[j * K + b] = best + log(l[b]);
            bp[j * K + b] = arg;
        }
    }
#undef ZOF
    {
        double best = -INFINITY;
        int arg = 0;
        for (size_t i = 0; i < K; i++)
            if (delta[(n - 1) * K + i] > best) {
                best = delta[(n - 1) * K + i];
                arg = (int)i;
            }
        if (!isfinite(best)) {
            rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "subject %.17g: observations impossible under the model",
                            d->seq[s]);
            goto out;
        }
        states[n - 1] = arg;
        for (size_t j = n - 1; j >= 1; j--)
            states[j - 1] = bp[j * K + (size_t)states[j]];
    }
out:
    free(delta);
    free(P);
    free(Q);
    free(E);
    free(bp);
    return rc;
}

/* The likelihood engine: log-likelihood, expected jumps and dwell times,
 * and the gradient in the rates, for exact, panel and hidden data.
 *
 * Panel and hidden data: P(dt) = exp(Q dt) once per distinct dt.  The
 * derivative of the log-likelihood in P_k for interval k is a matrix W_k
 * (for a plain snapshot pair r -> s it is e_r e_s^T / P_rs; in general
 * alpha_{k-1} (l_k o beta_k)^T / c_k from scaled forward-backward).  The
 * integral I(W) = int_0^dt exp(Q^T u) W exp(Q^T (dt-u)) du is linear in
 * W, so the W of all intervals with the same dt are summed first and one
 * Van Loan block exponential per distinct dt gives, at once, the expected
 * dwell times D_a = I_aa, the expected jumps N_ab = q_ab I_ab and the
 * gradient d logL / d q_ab = I_ab - I_aa (Van Loan 1978; Hobolth & Jensen
 * 2011 for the EM use).
 *
 * Data parallelism (issue 8).  Subjects are cut into blocks of consecutive
 * seq groups whose size depends only on the whole data (st_mjp_data:
 * bgroups); under MPI each rank holds and processes only the subjects of
 * its contiguous share of the blocks.  What the likelihood needs from the
 * whole data is set up once (mjp_engine_new): the largest |t| (for the
 * length tolerance), the distinct interval lengths (each rank's exactly
 * distinct values gathered, merged, then the greedy tolerance merge, which
 * exact duplicates do not affect) and the (dt, r, s) counts of plain panel
 * subjects (integers: summed over ranks exactly in any order, so every
 * rank holds the whole table).  Per evaluation:
 *   - plain part: blocks of at least 16 distinct dt with plain counts (at
 *     most 256 blocks), each rank its share: P(dt), W from the counts, one
 *     Van Loan per dt; a partial (ll, I) of 1 + K^2 per block;
 *   - generic subjects (hidden states, censoring, exact times, deaths):
 *     forward-backward on the rank holding them, with P(dt) computed
 *     locally (the same function of (Q, dt) gives the same bits on every
 *     rank, so no P is exchanged).  Their Van Loan integrals need no
 *     per-length exchange either: with Q = U diag(l) U^-1 (real spectrum,
 *     the usual case) I(W) = U^-T [(U^T W U^-T) o Phi(dt)] U^T is linear
 *     in the eigenbasis term, so every interval (or, when a block's
 *     intervals share few lengths, every (block, dt) pair with its summed
 *     W) adds (U^T W U^-T) o Phi(dt) to one K x K sum Y, and a single
 *     back-transform per evaluation gives the integral of all generic
 *     intervals of the whole data.  Otherwise (complex or defective
 *     spectrum) one block exponential per (block, dt) pair.  A partial of
 *     ll, I, Y and the direct statistics (jumps at exact times, emissions,
 *     initial states) per subject block: 1 + 4 K^2 + 3 K + K M doubles;
 *   - both sets of partials are folded in block order (st_mpi_fold_blocks)
 *     and combined, plain first, on every rank.
 * The exchange per evaluation is therefore at most 256 (1 + K^2) + 256
 * (1 + 4 K^2 + 3 K + K M) doubles whatever the number of subjects, and the
 * arithmetic is the same for 1 or 64 ranks and any thread count (threads
 * split subjects, lengths and pairs into slots summed in a fixed order).
 * Exact paths: jumps and dwell times per subject block, folded once. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/linalg.h"
#include "core/resource.h"
#include "core/mpi.h"
#include "mjp/internal.h"

#define PBLOCK_MIN 16   /* plain distinct dt per partial sum, at least */
#define MAX_BLOCKS 256  /* plain dt blocks, at most */

typedef struct tri {
    size_t d;
    int r, s;
    double n;
} tri;

/* One generic interval: its subject block, distinct dt and index. */
typedef struct ivkey {
    size_t b, d, iv;
} ivkey;

struct mjp_engine {
    const st_mjp_data *d;
    size_t K, M;
    int mode;
    mjp_blocks bl;   /* this rank's share of the subject blocks */
    double *xN, *xD; /* exact data: jumps and dwell (whole data) */
    /* distinct interval lengths of the whole data */
    size_t nd;
    double *dts;
    size_t *ivd; /* per observation k of a share subject (not its first): dt index */
    /* plain panel counts of the whole data, by dt */
    size_t ntri;
    tri *tri;
    size_t *tri_start; /* nd + 1 */
    size_t npd, *pd;   /* distinct dt with plain counts */
    size_t pbsize, npb, pblo, pbhi; /* their blocks, this rank's share */
    double *pblk;      /* npb x (1 + K^2) */
    /* generic subjects of this rank's share (forward-backward) */
    int any_gen;       /* some subject of the whole data is generic */
    size_t ngen;
    size_t *gen;
    size_t *gen_iv;    /* ngen + 1 offsets into the interval vectors */
    size_t *gen_blk;   /* per share block: first generic subject (hi - lo + 1) */
    size_t niv;
    unsigned char *ivtype;
    double *ab;        /* niv x 2K: a = alpha_{k-1}, b = l_k o beta_k / c_k */
    double *sub;       /* ngen x substride: per-subject direct statistics */
    size_t substride;
    double *sub_ll;
    /* (subject block, dt) pairs with generic intervals: one Van Loan each */
    size_t npair;
    size_t *pair_d, *pair_start; /* npair, npair + 1 offsets into ivlist */
    size_t *blk_pair;  /* per share block: first pair (hi - lo + 1) */
    unsigned char *blk_bypair; /* per share block: eigenbasis Y by pair (1) or by interval (0) */
    unsigned char *gen_y;      /* per generic subject: its block is by interval */
    unsigned char *pair_bypair; /* per pair: its block is by pair */
    size_t *ivlist;
    double *pairI;     /* npair x K^2 */
    double *gblk;      /* nb x (1 + K^2 + substride) */
    /* P(dt) for the dt this rank uses */
    size_t nslot, *slot_d, *slot; /* slot[di]: row of P, or SIZE_MAX */
    double *P;
    /* Van Loan in Q's eigenbasis (when mjp_eig_prepare succeeds) */
    int ev_ok;
    const mjp_eig *ev;
    double *phi;       /* nslot x K^2: Phi(dt) */
};

double mjp_omp_min_work = 1e6;

size_t mjp_engine_ndistinct(const mjp_engine *g)
{
    return g->nd;
}

int mjp_stats_alloc(mjp_stats *s, size_t K, size_t M, st_err *e)
{
    memset(s, 0, sizeof *s);
    s->N = calloc(K * K, sizeof *s->N);
    s->D = calloc(K, sizeof *s->D);
    s->G = calloc(K * K, sizeof *s->G);
    s->N0 = calloc(K, sizeof *s->N0);
    s->Nem = calloc(K * (M ? M : 1), sizeof *s->Nem);
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

void mjp_engine_free(mjp_engine *g)
{
    if (!g)
        return;
    free(g->bl.start);
    free(g->xN);
    free(g->xD);
    free(g->dts);
    free(g->ivd);
    free(g->tri);
    free(g->tri_start);
    free(g->pd);
    free(g->pblk);
    free(g->gen);
    free(g->gen_iv);
    free(g->gen_blk);
    free(g->ivtype);
    free(g->ab);
    free(g->sub);
    free(g->sub_ll);
    free(g->pair_d);
    free(g->pair_start);
    free(g->blk_pair);
    free(g->blk_bypair);
    free(g->gen_y);
    free(g->pair_bypair);
    free(g->ivlist);
    free(g->pairI);
    free(g->gblk);
    free(g->slot_d);
    free(g->slot);
    free(g->P);
    free(g->phi);
    free(g);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_tri(const void *a, const void *b)
{
    const tri *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    if (x->r != y->r)
        return x->r - y->r;
    return x->s - y->s;
}

static int cmp_ivkey(const void *a, const void *b)
{
    const ivkey *x = a, *y = b;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return (x->iv > y->iv) - (x->iv < y->iv);
}

static size_t find_dt(const double *dts, size_t nd, double dt)
{
    size_t lo = 0, hi = nd;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (dts[mid] <= dt)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Sort and merge (d, r, s) counts in place; returns the number kept. */
static size_t merge_tri(tri *t, size_t n)
{
    qsort(t, n, sizeof *t, cmp_tri);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && t[m - 1].d == t[i].d && t[m - 1].r == t[i].r && t[m - 1].s == t[i].s)
            t[m - 1].n += t[i].n;
        else
            t[m++] = t[i];
    }
    return m;
}

/* Exactly distinct values of a sorted array, in place. */
static size_t unique_sorted(double *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || v[i] != v[m - 1])
            v[m++] = v[i];
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

/* Exact paths: jumps and dwell times per subject block, added in block
 * order once. */
static int exact_setup(mjp_engine *g, st_err *e)
{
    const st_mjp_data *d = g->d;
    size_t K = g->K, len = K * K + K, nb = g->bl.nb;
    double *part = calloc((nb ? nb : 1) * len, sizeof *part), *acc = calloc(len, sizeof *acc);
    if (!part || !acc) {
        free(part);
        free(acc);
        return st_err_nomem(e, "likelihood engine");
    }
    for (size_t bi = g->bl.lo; bi < g->bl.hi; bi++) {
        double *N = part + bi * len, *D = N + K * K;
        for (size_t s = g->bl.start[bi - g->bl.lo]; s < g->bl.start[bi - g->bl.lo + 1]; s++)
            for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++) {
                int a = d->y[k - 1], b = d->y[k];
                D[a] += d->t[k] - d->t[k - 1];
                if (a != b)
                    N[(size_t)a * K + (size_t)b] += 1;
            }
    }
    int rc = st_mpi_fold_blocks(part, nb, len, acc, e);
    free(part);
    if (rc == 0) {
        g->xN = acc;
        g->xD = malloc(K * sizeof *g->xD);
        if (!g->xD)
            return st_err_nomem(e, "likelihood engine");
        memcpy(g->xD, acc + K * K, K * sizeof *g->xD);
    } else {
        free(acc);
    }
    return rc;
}

int mjp_engine_new(mjp_engine **out, const st_mjp_data *d, st_err *e)
{
    *out = NULL;
    mjp_engine *g = calloc(1, sizeof *g);
    if (!g)
        return st_err_nomem(e, "likelihood engine");
    size_t K = d->K, KK = K * K;
    g->d = d;
    g->K = K;
    g->M = d->M;
    g->mode = d->mode;
    int rc = mjp_share_blocks(d, &g->bl, e);
    if (rc < 0) {
        free(g);
        return rc;
    }
    if (d->mode == ST_MJP_EXACT) {
        if ((rc = exact_setup(g, e)) < 0) {
            mjp_engine_free(g);
            return rc;
        }
        *out = g;
        return 0;
    }
    size_t slo = g->bl.start[0], shi = g->bl.start[g->bl.hi - g->bl.lo];
    double *all = NULL, *mine = NULL;
    tri *tl = NULL;
    ivkey *keys = NULL;
    size_t total = 0;
    /* 1. the largest |t| and whether any subject is generic (whole data) */
    double sh[2] = {0, 0};
    for (size_t s = slo; s < shi; s++) {
        for (size_t k = d->start[s]; k < d->start[s + 1]; k++)
            sh[0] = fmax(sh[0], fabs(d->t[k]));
        if (is_generic(d, s))
            sh[1] = 1;
    }
    if ((rc = st_mpi_allgather(sh, 2, &all, &total, e)) < 0)
        goto fail;
    double tmax = 0;
    for (size_t i = 0; i + 2 <= total; i += 2) {
        tmax = fmax(tmax, all[i]);
        if (all[i + 1] > 0)
            g->any_gen = 1;
    }
    free(all);
    all = NULL;
    /* 2. distinct interval lengths: each rank's exactly distinct values,
     * gathered, merged, then the tolerance merge on the whole list */
    size_t nint = d->start[shi] - d->start[slo] - (shi - slo), n = 0;
    mine = malloc((nint ? nint : 1) * sizeof *mine);
    g->ivd = malloc((d->nobs ? d->nobs : 1) * sizeof *g->ivd);
    if (!mine || !g->ivd)
        goto nomem;
    for (size_t s = slo; s < shi; s++)
        for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++)
            mine[n++] = d->t[k] - d->t[k - 1];
    qsort(mine, n, sizeof *mine, cmp_double);
    n = unique_sorted(mine, n);
    if ((rc = st_mpi_allgather(mine, n, &all, &total, e)) < 0)
        goto fail;
    free(mine);
    mine = NULL;
    qsort(all, total, sizeof *all, cmp_double);
    total = unique_sorted(all, total);
    size_t nd = mjp_merge_lengths(all, total, 8 * DBL_EPSILON * tmax);
    g->nd = nd;
    g->dts = all;
    all = NULL;
    for (size_t s = slo; s < shi; s++)
        for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++)
            g->ivd[k] = find_dt(g->dts, nd, d->t[k] - d->t[k - 1]);
    /* 3. plain subjects -> (dt, r, s) counts, summed over ranks: integers,
     * exact in any order, so every rank holds the whole data's table */
    tl = malloc((nint ? nint : 1) * sizeof *tl);
    g->gen = malloc((shi - slo ? shi - slo : 1) * sizeof *g->gen);
    g->gen_iv = malloc((shi - slo + 1) * sizeof *g->gen_iv);
    g->gen_blk = malloc((g->bl.hi - g->bl.lo + 1) * sizeof *g->gen_blk);
    if (!tl || !g->gen || !g->gen_iv || !g->gen_blk)
        goto nomem;
    size_t nt = 0, niv = 0;
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
                tl[nt++] = (tri){g->ivd[k], d->y[k - 1], d->y[k], 1};
        }
    }
    g->gen_blk[g->bl.hi - g->bl.lo] = g->ngen;
    g->gen_iv[g->ngen] = niv;
    g->niv = niv;
    nt = merge_tri(tl, nt);
    mine = malloc((nt ? nt : 1) * 4 * sizeof *mine);
    if (!mine)
        goto nomem;
    for (size_t i = 0; i < nt; i++) {
        mine[4 * i] = (double)tl[i].d;
        mine[4 * i + 1] = tl[i].r;
        mine[4 * i + 2] = tl[i].s;
        mine[4 * i + 3] = tl[i].n;
    }
    free(tl);
    tl = NULL;
    if ((rc = st_mpi_allgather(mine, 4 * nt, &all, &total, e)) < 0)
        goto fail;
    free(mine);
    mine = NULL;
    g->tri = malloc((total / 4 ? total / 4 : 1) * sizeof *g->tri);
    if (!g->tri)
        goto nomem;
    for (size_t i = 0; i < total / 4; i++)
        g->tri[i] = (tri){(size_t)all[4 * i], (int)all[4 * i + 1], (int)all[4 * i + 2], all[4 * i + 3]};
    g->ntri = merge_tri(g->tri, total / 4);
    free(all);
    all = NULL;
    g->tri_start = calloc(nd + 1, sizeof *g->tri_start);
    g->pd = malloc((nd ? nd : 1) * sizeof *g->pd);
    if (!g->tri_start || !g->pd)
        goto nomem;
    for (size_t i = 0; i < g->ntri; i++)
        g->tri_start[g->tri[i].d + 1]++;
    for (size_t i = 0; i < nd; i++) {
        if (g->tri_start[i + 1])
            g->pd[g->npd++] = i;
        g->tri_start[i + 1] += g->tri_start[i];
    }
    /* blocks of plain dt: at least 16 per block, at most 256 blocks */
    g->pbsize = (g->npd + MAX_BLOCKS - 1) / MAX_BLOCKS;
    if (g->pbsize < PBLOCK_MIN)
        g->pbsize = PBLOCK_MIN;
    g->npb = (g->npd + g->pbsize - 1) / g->pbsize;
    st_mpi_share(g->npb, &g->pblo, &g->pbhi);
    /* 4. generic intervals grouped by (subject block, dt), in order; exact
     * transition times (no Van Loan part) and zero lengths are left out */
    keys = malloc((niv ? niv : 1) * sizeof *keys);
    g->ivtype = malloc(niv ? niv : 1);
    if (!keys || !g->ivtype)
        goto nomem;
    size_t nk = 0;
    for (size_t bi = g->bl.lo; bi < g->bl.hi; bi++)
        for (size_t gi = g->gen_blk[bi - g->bl.lo]; gi < g->gen_blk[bi - g->bl.lo + 1]; gi++) {
            size_t s = g->gen[gi];
            for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++) {
                size_t iv = g->gen_iv[gi] + (k - d->start[s] - 1);
                g->ivtype[iv] = d->obstype[k];
                if ((d->obstype[k] == ST_MJP_OBS_EXACT && d->mode != ST_MJP_HIDDEN) || g->dts[g->ivd[k]] == 0)
                    continue;
                keys[nk++] = (ivkey){bi, g->ivd[k], iv};
            }
        }
    /* keys come in block order; sort each block's by dt unless already */
    for (size_t q0 = 0, q1; q0 < nk; q0 = q1) {
        int sorted = 1;
        for (q1 = q0 + 1; q1 < nk && keys[q1].b == keys[q0].b; q1++)
            if (keys[q1].d < keys[q1 - 1].d)
                sorted = 0;
        if (!sorted)
            qsort(keys + q0, q1 - q0, sizeof *keys, cmp_ivkey);
    }
    g->ivlist = malloc((nk ? nk : 1) * sizeof *g->ivlist);
    g->pair_d = malloc((nk ? nk : 1) * sizeof *g->pair_d);
    g->pair_start = malloc((nk + 1) * sizeof *g->pair_start);
    g->blk_pair = malloc((g->bl.hi - g->bl.lo + 1) * sizeof *g->blk_pair);
    if (!g->ivlist || !g->pair_d || !g->pair_start || !g->blk_pair)
        goto nomem;
    {
        size_t q = 0;
        for (size_t bi = g->bl.lo; bi < g->bl.hi; bi++) {
            g->blk_pair[bi - g->bl.lo] = g->npair;
            while (q < nk && keys[q].b == bi) {
                if (q == 0 || keys[q - 1].b != bi || keys[q - 1].d != keys[q].d) {
                    g->pair_start[g->npair] = q;
                    g->pair_d[g->npair++] = keys[q].d;
                }
                g->ivlist[q] = keys[q].iv;
                q++;
            }
        }
        g->blk_pair[g->bl.hi - g->bl.lo] = g->npair;
        g->pair_start[g->npair] = nk;
    }
    /* With Q's eigendecomposition, a block's generic intervals add to
     * Y = sum (U^T W U^-T) o Phi(dt) either per (dt) pair, summing W = a b^T
     * first (K^2 per interval, 2 K^3 + K^2 per pair) or per interval
     * ((U^T a)(U^-1 b)^T o Phi: 3 K^2 per interval); the cheaper, chosen
     * from the block's own counts, so the same on any number of ranks (a
     * pair weighs 4 times its flops: measured on K = 3, the small gemm
     * calls and scattered interval vectors cost more than they count). */
    g->blk_bypair = malloc(g->bl.hi - g->bl.lo + 1);
    g->gen_y = malloc(g->ngen ? g->ngen : 1);
    g->pair_bypair = malloc(g->npair ? g->npair : 1);
    if (!g->blk_bypair || !g->gen_y || !g->pair_bypair)
        goto nomem;
    for (size_t b = 0; b < g->bl.hi - g->bl.lo; b++) {
        size_t np = g->blk_pair[b + 1] - g->blk_pair[b];
        size_t ni = np ? g->pair_start[g->blk_pair[b + 1]] - g->pair_start[g->blk_pair[b]] : 0;
        g->blk_bypair[b] = 4.0 * (double)np * (double)(2 * K + 1) < 2.0 * (double)ni;
        for (size_t gi = g->gen_blk[b]; gi < g->gen_blk[b + 1]; gi++)
            g->gen_y[gi] = !g->blk_bypair[b];
        for (size_t q = g->blk_pair[b]; q < g->blk_pair[b + 1]; q++)
            g->pair_bypair[q] = g->blk_bypair[b];
    }
    free(keys);
    keys = NULL;
    /* 5. P(dt) slots: the dt of this rank's plain blocks and generic intervals */
    g->slot = malloc((nd ? nd : 1) * sizeof *g->slot);
    g->slot_d = malloc((nd ? nd : 1) * sizeof *g->slot_d);
    if (!g->slot || !g->slot_d)
        goto nomem;
    for (size_t i = 0; i < nd; i++)
        g->slot[i] = SIZE_MAX;
    for (size_t i = g->pblo * g->pbsize; i < g->pbhi * g->pbsize && i < g->npd; i++)
        g->slot[g->pd[i]] = 0;
    for (size_t gi = 0; gi < g->ngen; gi++)
        for (size_t k = d->start[g->gen[gi]] + 1; k < d->start[g->gen[gi] + 1]; k++)
            g->slot[g->ivd[k]] = 0;
    for (size_t i = 0; i < nd; i++)
        if (g->slot[i] == 0) {
            g->slot[i] = g->nslot;
            g->slot_d[g->nslot++] = i;
        }
    /* refuse up front what the machine cannot hold (P cache, interval
     * vectors, per-subject statistics), with the figure */
    g->substride = 2 * KK + K + K * (g->M ? g->M : 1) + K + KK;
    {
        double need = ((double)g->nslot * (double)KK + (double)niv * 2.0 * (double)K +
                       (double)g->npair * (double)KK + (double)g->ngen * (double)(g->substride + 1)) *
                      sizeof(double);
        double phys = st_phys_memory();
        if (need > 0.8 * phys) {
            mjp_engine_free(g);
            return st_err_set(e, ST_ENOMEM, NULL, 0, 0,
                              "%zu states x %zu distinct interval lengths need %.1f GB, more than this "
                              "machine's %.1f GB",
                              K, nd, need / 1e9, phys / 1e9);
        }
    }
    g->P = malloc((g->nslot ? g->nslot : 1) * KK * sizeof *g->P);
    g->phi = malloc((g->nslot ? g->nslot : 1) * KK * sizeof *g->phi);
    g->ab = malloc((niv ? niv : 1) * 2 * K * sizeof *g->ab);
    g->sub = malloc((g->ngen ? g->ngen : 1) * g->substride * sizeof *g->sub);
    g->sub_ll = malloc((g->ngen ? g->ngen : 1) * sizeof *g->sub_ll);
    g->pairI = malloc((g->npair ? g->npair : 1) * KK * sizeof *g->pairI);
    g->pblk = malloc((g->npb ? g->npb : 1) * (KK + 1) * sizeof *g->pblk);
    g->gblk = malloc((g->bl.nb ? g->bl.nb : 1) * (1 + KK + g->substride) * sizeof *g->gblk);
    if (!g->P || !g->phi || !g->ab || !g->sub || !g->sub_ll || !g->pairI || !g->pblk || !g->gblk)
        goto nomem;
    *out = g;
    return 0;
nomem:
    rc = st_err_nomem(e, "likelihood engine");
fail:
    free(all);
    free(mine);
    free(tl);
    free(keys);
    mjp_engine_free(g);
    return rc;
}

/* Likelihood vector of observation k over the states. */
static void obs_vector(const st_mjp_data *d, const st_mjp *m, size_t k, double *l)
{
    size_t K = d->K;
    int y = d->y[k];
    if (d->mode == ST_MJP_HIDDEN) {
        for (size_t i = 0; i < K; i++)
            l[i] = m->E[i * m->M + (size_t)y];
    } else if (y >= 0) {
        for (size_t i = 0; i < K; i++)
            l[i] = (int)i == y;
    } else {
        for (size_t i = 0; i < K; i++)
            l[i] = d->censor[-y - 1].member[i];
    }
}

/* x <- x T for interval type ot (row action), tmp has K entries. */
static void row_apply(const double *Q, const double *P, size_t K, int ot, double dt, const double *x,
                      double *y)
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

/* y <- T v (column action). */
static void col_apply(const double *Q, const double *P, size_t K, int ot, double dt, const double *v,
                      double *y)
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

/* Forward-backward for generic subject gi: per-interval a, b into g->ab,
 * direct statistics into its slot. */
static void forward_backward(mjp_engine *g, const st_mjp *m, size_t gi, int want)
{
    const st_mjp_data *d = g->d;
    size_t K = g->K, M = g->M ? g->M : 1;
    size_t s = g->gen[gi], k0 = d->start[s], n = d->start[s + 1] - k0;
    const double *Q = m->Q;
    double *st = g->sub + gi * g->substride;
    double *Ndir = st, *Gdir = st + K * K, *Ddir = st + 2 * K * K, *Nem = Ddir + K,
           *N0 = Nem + K * M, *Y = N0 + K;
    memset(st, 0, g->substride * sizeof *st);
    double *alpha = malloc(n * K * sizeof *alpha), *c = malloc(n * sizeof *c);
    double l[ST_MJP_MAX_STATES], beta[ST_MJP_MAX_STATES], v[ST_MJP_MAX_STATES], tmp[ST_MJP_MAX_STATES];
    if (!alpha || !c) {
        free(alpha);
        free(c);
        g->sub_ll[gi] = NAN; /* reported as out of memory by the caller */
        return;
    }
    double ll = 0;
    obs_vector(d, m, k0, l);
    double c0 = 0;
    for (size_t i = 0; i < K; i++) {
        alpha[i] = (d->mode == ST_MJP_HIDDEN ? m->init[i] : 1.0) * l[i];
        c0 += alpha[i];
    }
    if (!(c0 > 0)) {
        g->sub_ll[gi] = -INFINITY;
        memset(g->ab + g->gen_iv[gi] * 2 * K, 0, (n - 1) * 2 * K * sizeof *g->ab);
        goto out;
    }
    for (size_t i = 0; i < K; i++)
        alpha[i] /= c0;
    if (d->mode == ST_MJP_HIDDEN)
        ll += log(c0);
    for (size_t j = 1; j < n; j++) {
        size_t k = k0 + j;
        size_t di = g->ivd[k];
        int ot = d->obstype[k];
        row_apply(Q, g->P + g->slot[di] * K * K, K, d->mode == ST_MJP_HIDDEN ? 1 : ot, g->dts[di],
                  alpha + (j - 1) * K, alpha + j * K);
        obs_vector(d, m, k, l);
        double cj = 0;
        for (size_t i = 0; i < K; i++) {
            alpha[j * K + i] *= l[i];
            cj += alpha[j * K + i];
        }
        if (!(cj > 0) || !isfinite(cj)) {
            g->sub_ll[gi] = -INFINITY;
            memset(g->ab + g->gen_iv[gi] * 2 * K, 0, (n - 1) * 2 * K * sizeof *g->ab);
            goto out;
        }
        for (size_t i = 0; i < K; i++)
            alpha[j * K + i] /= cj;
        c[j] = cj;
        ll += log(cj);
    }
    g->sub_ll[gi] = ll;
    if (!want)
        goto out;
    for (size_t i = 0; i < K; i++)
        beta[i] = 1;
    for (size_t j = n - 1; j >= 1; j--) {
        size_t k = k0 + j;
        size_t di = g->ivd[k];
        int ot = d->mode == ST_MJP_HIDDEN ? 1 : d->obstype[k];
        const double *P = g->P + g->slot[di] * K * K;
        double dt = g->dts[di];
        const double *a = alpha + (j - 1) * K;
        obs_vector(d, m, k, l);
        if (d->mode == ST_MJP_HIDDEN) {
            for (size_t i = 0; i < K; i++)
                Nem[i * M + (size_t)d->y[k]] += alpha[j * K + i] * beta[i];
        }
        for (size_t i = 0; i < K; i++)
            v[i] = l[i] * beta[i] / c[j];
        double *ab = g->ab + (g->gen_iv[gi] + j - 1) * 2 * K;
        memcpy(ab, a, K * sizeof *ab);
        if (ot == ST_MJP_OBS_SNAPSHOT) {
            memcpy(ab + K, v, K * sizeof *ab);
        } else if (ot == ST_MJP_OBS_DEATH) {
            /* Van Loan part with W' = a (Q_off v)^T; the final jump directly */
            for (size_t r = 0; r < K; r++) {
                double acc = 0;
                for (size_t s2 = 0; s2 < K; s2++)
                    if (s2 != r)
                        acc += Q[r * K + s2] * v[s2];
                ab[K + r] = acc;
            }
            for (size_t sa = 0; sa < K; sa++) {
                double acc = 0;
                for (size_t r = 0; r < K; r++)
                    acc += a[r] * P[r * K + sa];
                tmp[sa] = acc;
            }
            for (size_t a2 = 0; a2 < K; a2++)
                for (size_t b2 = 0; b2 < K; b2++)
                    if (a2 != b2) {
                        Gdir[a2 * K + b2] += tmp[a2] * v[b2];
                        Ndir[a2 * K + b2] += Q[a2 * K + b2] * tmp[a2] * v[b2];
                    }
        } else { /* exact transition time: direct, no Van Loan */
            memset(ab + K, 0, K * sizeof *ab);
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
        }
        if (g->ev_ok && g->gen_y[gi] && ot != ST_MJP_OBS_EXACT && dt != 0) {
            /* Van Loan part in Q's eigenbasis: X = (U^T a)(U^-1 b)^T o Phi(dt) */
            const mjp_eig *ev = g->ev;
            const double *phi = g->phi + g->slot[di] * K * K, *bb = ab + K;
            double ah[ST_MJP_MAX_STATES], bh[ST_MJP_MAX_STATES];
            for (size_t i = 0; i < K; i++) {
                double x = 0, y = 0;
                for (size_t q = 0; q < K; q++) {
                    x += ev->U[q * K + i] * a[q];
                    y += ev->Ui[i * K + q] * bb[q];
                }
                ah[i] = x;
                bh[i] = y;
            }
            for (size_t i = 0; i < K; i++)
                for (size_t q = 0; q < K; q++)
                    Y[i * K + q] += ah[i] * bh[q] * phi[i * K + q];
        }
        col_apply(Q, P, K, ot, dt, v, beta);
    }
    obs_vector(d, m, k0, l);
    {
        double z = 0;
        for (size_t i = 0; i < K; i++)
            z += alpha[i] * beta[i];
        for (size_t i = 0; i < K; i++) {
            double gam = z > 0 ? alpha[i] * beta[i] / z : 0;
            N0[i] += gam;
            if (d->mode == ST_MJP_HIDDEN)
                Nem[i * M + (size_t)d->y[k0]] += gam;
        }
    }
out:
    free(alpha);
    free(c);
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

/* The Van Loan integrals by eigendecomposition when Q = U diag(l) U^-1 with
 * real eigenvalues and a well-conditioned U (reversible chains, chains with
 * absorbing states, birth-death models): with Q^T = U^-T diag(l) U^T,
 *   I(W) = U^-T [ (U^T W U^-T) o Phi ] U^T,
 *   Phi_ij = int_0^t e^{l_i u} e^{l_j (t-u)} du
 *          = t e^{l_j t} expm1((l_i - l_j) t) / ((l_i - l_j) t),
 * four K x K products per distinct t instead of a 2K x 2K exponential.
 * Otherwise (complex eigenvalues, defective Q) the block exponential is used. */
int mjp_eig_prepare(mjp_eig *ev, const double *Q, size_t K)
{
    ev->ok = 0;
    ev->K = K;
    double wi[ST_MJP_MAX_STATES];
    st_err le;
    if (st_eigen_general(Q, K, ev->l, wi, ev->U, &le) < 0)
        return 0;
    double qmax = 0;
    for (size_t i = 0; i < K * K; i++)
        qmax = fmax(qmax, fabs(Q[i]));
    for (size_t i = 0; i < K; i++)
        if (wi[i] != 0 || ev->l[i] > 1e-12 * fmax(qmax, 1e-300))
            return 0;
    memcpy(ev->Ui, ev->U, K * K * sizeof *ev->U);
    if (st_inverse(ev->Ui, K, &le) < 0)
        return 0;
    /* accept only if U diag(l) U^-1 reproduces Q closely */
    double err = 0;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            double acc = 0;
            for (size_t k = 0; k < K; k++)
                acc += ev->U[i * K + k] * ev->l[k] * ev->Ui[k * K + j];
            err = fmax(err, fabs(acc - Q[i * K + j]));
        }
    if (!(err <= 1e-11 * fmax(qmax, 1e-300)))
        return 0;
    ev->ok = 1;
    return 1;
}

void mjp_eig_vanloan(const mjp_eig *ev, double t, const double *W, double *I, double *work)
{
    size_t K = ev->K, KK = K * K;
    double *X1 = work, *X = work + KK;
    st_gemm(1, 0, K, K, K, 1.0, ev->U, W, 0.0, X1); /* U^T W */
    st_gemm(0, 1, K, K, K, 1.0, X1, ev->Ui, 0.0, X); /* U^T W U^-T */
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            double a = ev->l[i] * t, b = ev->l[j] * t, d = a - b;
            double phi = d == 0 ? t * exp(a) : t * exp(b) * (expm1(d) / d);
            X[i * K + j] *= phi;
        }
    st_gemm(1, 0, K, K, K, 1.0, ev->Ui, X, 0.0, X1); /* U^-T Y */
    st_gemm(0, 1, K, K, K, 1.0, X1, ev->U, 0.0, I);  /* U^-T Y U^T */
}

/* Failures inside parallel regions, agreed over ranks by their maximum. */
enum { BAD_EXPM = 1, BAD_VANLOAN = 2, BAD_NOMEM = 3 };

static void set_bad(int *bad, int v)
{
#pragma omp critical(mjp_bad)
    if (v > *bad)
        *bad = v;
}

int mjp_engine_eval(mjp_engine *g, const st_mjp *m, int want, mjp_stats *s, st_err *e)
{
    size_t K = g->K, KK = K * K;
    const double *Q = m->Q;
    if (g->mode == ST_MJP_EXACT) {
        double ll = 0;
        for (size_t a = 0; a < K; a++) {
            ll += g->xD[a] * Q[a * K + a];
            for (size_t b = 0; b < K; b++)
                if (a != b && g->xN[a * K + b] > 0)
                    ll += g->xN[a * K + b] * log(Q[a * K + b]);
        }
        s->ll = isnan(ll) ? -INFINITY : ll;
        if (want) {
            memcpy(s->N, g->xN, KK * sizeof *s->N);
            memcpy(s->D, g->xD, K * sizeof *s->D);
            for (size_t a = 0; a < K; a++)
                for (size_t b = 0; b < K; b++)
                    s->G[a * K + b] =
                        a == b ? 0 : (g->xN[a * K + b] > 0 ? g->xN[a * K + b] / Q[a * K + b] : 0) - g->xD[a];
        }
        return 0;
    }
    int bad = 0;
    /* 1. P(dt) for the dt this rank uses.  Threads only when the work is
     * worth a fork and a barrier (a few milliseconds): on a busy machine
     * idle OpenMP threads spin and cost more than they save on small
     * problems.  The same (Q, dt) gives the same bits on every rank. */
    size_t nslot = g->nslot;
#pragma omp parallel if ((double)nslot * (double)(KK * K) > mjp_omp_min_work)
    {
        double *A = malloc(KK * sizeof *A);
        st_err le;
        st_err_clear(&le);
#pragma omp for schedule(static)
        for (size_t i = 0; i < nslot; i++) {
            if (!A) {
                set_bad(&bad, BAD_NOMEM);
                continue;
            }
            double dt = g->dts[g->slot_d[i]];
            for (size_t j = 0; j < KK; j++)
                A[j] = Q[j] * dt;
            if (st_expm(A, K, g->P + i * KK, &le) < 0)
                set_bad(&bad, BAD_EXPM);
        }
        free(A);
    }
    mjp_eig ev;
    if (want)
        mjp_eig_prepare(&ev, Q, K);
    else
        ev.ok = 0;
    /* 2. generic subjects of this rank: forward-backward.  With Q's
     * eigendecomposition each interval adds its W = a b^T to the subject's
     * Y = sum (U^T a)(U^-1 b)^T o Phi(dt) (see mjp_eig_vanloan), so the
     * Van Loan integral of all generic intervals of the whole data is one
     * U^-T Y U^T at the end, whatever the interval lengths. */
    size_t ngen = g->ngen;
    g->ev_ok = ev.ok && ngen > 0;
    g->ev = &ev;
    if (g->ev_ok)
        for (size_t i = 0; i < nslot; i++) {
            double t = g->dts[g->slot_d[i]], *phi = g->phi + i * KK;
            for (size_t a = 0; a < K; a++)
                for (size_t b = 0; b < K; b++) {
                    double x = ev.l[a] * t, y = ev.l[b] * t, dd = x - y;
                    phi[a * K + b] = dd == 0 ? t * exp(x) : t * exp(y) * (expm1(dd) / dd);
                }
        }
#pragma omp parallel for schedule(dynamic, 8) if ((double)g->niv * (double)(KK * 4) > mjp_omp_min_work)
    for (size_t gi = 0; gi < ngen; gi++)
        forward_backward(g, m, gi, want);
    /* 3. plain counts, this rank's blocks of distinct dt: ll and I(W) */
    size_t pl = want ? 1 + KK : 1;
#pragma omp parallel if ((double)(g->pbhi - g->pblo) * (double)g->pbsize * (double)(KK * K) > mjp_omp_min_work)
    {
        double *W = malloc(4 * KK * sizeof *W);
        st_err le;
        st_err_clear(&le);
#pragma omp for schedule(dynamic, 1)
        for (size_t bi = g->pblo; bi < g->pbhi; bi++) {
            double *acc = g->pblk + bi * pl;
            memset(acc, 0, pl * sizeof *acc);
            if (!W) {
                set_bad(&bad, BAD_NOMEM);
                continue;
            }
            double *I = W + KK;
            size_t lo = bi * g->pbsize, hi = lo + g->pbsize < g->npd ? lo + g->pbsize : g->npd;
            for (size_t i = lo; i < hi; i++) {
                size_t di = g->pd[i];
                const double *P = g->P + g->slot[di] * KK;
                memset(W, 0, KK * sizeof *W);
                double ll = 0;
                for (size_t t = g->tri_start[di]; t < g->tri_start[di + 1]; t++) {
                    const tri *tr = &g->tri[t];
                    double p = P[(size_t)tr->r * K + (size_t)tr->s];
                    if (!(p > 0)) {
                        ll = -INFINITY;
                        break;
                    }
                    ll += tr->n * log(p);
                    W[(size_t)tr->r * K + (size_t)tr->s] += tr->n / p;
                }
                acc[0] += ll;
                if (!want || !isfinite(ll) || g->dts[di] == 0)
                    continue;
                if (ev.ok)
                    mjp_eig_vanloan(&ev, g->dts[di], W, I, I + KK);
                else if (st_mjp_vanloan(Q, K, g->dts[di], W, I, &le) < 0) {
                    set_bad(&bad, BAD_VANLOAN);
                    continue;
                }
                for (size_t j = 0; j < KK; j++)
                    acc[1 + j] += I[j];
            }
        }
        free(W);
    }
    /* 4. generic intervals: one Van Loan per (subject block, dt), W summed
     * over the block's intervals of that dt in order */
    size_t npair = g->npair;
    if (want) {
#pragma omp parallel if ((double)npair * (double)(KK * K) > mjp_omp_min_work)
        {
            double *W = malloc(3 * KK * sizeof *W);
            st_err le;
            st_err_clear(&le);
#pragma omp for schedule(dynamic, 4)
            for (size_t q = 0; q < npair; q++) {
                if (ev.ok && !g->pair_bypair[q])
                    continue;
                double *I = g->pairI + q * KK;
                if (!W) {
                    set_bad(&bad, BAD_NOMEM);
                    continue;
                }
                memset(W, 0, KK * sizeof *W);
                for (size_t j = g->pair_start[q]; j < g->pair_start[q + 1]; j++) {
                    const double *a = g->ab + g->ivlist[j] * 2 * K, *b = a + K;
                    for (size_t r = 0; r < K; r++)
                        if (a[r] != 0)
                            for (size_t c = 0; c < K; c++)
                                W[r * K + c] += a[r] * b[c];
                }
                double dt = g->dts[g->pair_d[q]];
                if (ev.ok) { /* Y part: (U^T W U^-T) o Phi(dt) */
                    const double *phi = g->phi + g->slot[g->pair_d[q]] * KK;
                    st_gemm(1, 0, K, K, K, 1.0, ev.U, W, 0.0, W + KK);
                    st_gemm(0, 1, K, K, K, 1.0, W + KK, ev.Ui, 0.0, I);
                    for (size_t j = 0; j < KK; j++)
                        I[j] *= phi[j];
                } else if (st_mjp_vanloan(Q, K, dt, W, I, &le) < 0) {
                    set_bad(&bad, BAD_VANLOAN);
                }
            }
            free(W);
        }
    }
    /* per subject block: ll, I and direct statistics, added in order */
    size_t gl = want ? 1 + KK + g->substride : 1;
    for (size_t bi = g->bl.lo; bi < g->bl.hi && g->any_gen; bi++) {
        double *acc = g->gblk + bi * gl;
        memset(acc, 0, gl * sizeof *acc);
        size_t b = bi - g->bl.lo;
        for (size_t gi = g->gen_blk[b]; gi < g->gen_blk[b + 1]; gi++) {
            if (isnan(g->sub_ll[gi]))
                set_bad(&bad, BAD_NOMEM);
            acc[0] += g->sub_ll[gi];
        }
        if (!want)
            continue;
        for (size_t q = g->blk_pair[b]; q < g->blk_pair[b + 1] && (!ev.ok || g->blk_bypair[b]); q++)
            for (size_t j = 0; j < KK; j++)
                acc[1 + j] += g->pairI[q * KK + j];
        for (size_t gi = g->gen_blk[b]; gi < g->gen_blk[b + 1]; gi++)
            for (size_t j = 0; j < g->substride; j++)
                acc[1 + KK + j] += g->sub[gi * g->substride + j];
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
    /* 5. fixed-order reductions: block partials in block order, plain
     * then generic */
    double pacc[1 + ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    double *gacc = NULL;
    int rc;
    memset(pacc, 0, pl * sizeof *pacc);
    if (g->npd && (rc = st_mpi_fold_blocks(g->pblk, g->npb, pl, pacc, e)) < 0)
        return rc;
    if (g->any_gen) {
        if (!(gacc = malloc(gl * sizeof *gacc)))
            return st_err_nomem(e, "statistics");
        if ((rc = st_mpi_fold_blocks(g->gblk, g->bl.nb, gl, gacc, e)) < 0) {
            free(gacc);
            return rc;
        }
    }
    double ll = pacc[0] + (gacc ? gacc[0] : 0);
    s->ll = isnan(ll) ? -INFINITY : ll;
    if (!want || !isfinite(s->ll)) {
        free(gacc);
        return 0;
    }
    memset(s->N, 0, KK * sizeof *s->N);
    memset(s->D, 0, K * sizeof *s->D);
    memset(s->N0, 0, K * sizeof *s->N0);
    size_t M = g->M ? g->M : 1;
    memset(s->Nem, 0, K * M * sizeof *s->Nem);
    double *Iacc = s->G; /* I in G, converted below */
    for (size_t j = 0; j < KK; j++)
        Iacc[j] = pacc[1 + j] + (gacc ? gacc[1 + j] : 0);
    if (gacc && ev.ok) {
        /* generic intervals: I = U^-T Y U^T */
        const double *Ys = gacc + 1 + KK + g->substride - KK;
        double Y[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES], X1[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES],
            I[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
        for (size_t j = 0; j < KK; j++) {
            Y[j] = gacc[1 + j] + Ys[j];
            Iacc[j] = pacc[1 + j];
        }
        st_gemm(1, 0, K, K, K, 1.0, ev.Ui, Y, 0.0, X1);
        st_gemm(0, 1, K, K, K, 1.0, X1, ev.U, 0.0, I);
        for (size_t j = 0; j < KK; j++)
            Iacc[j] += I[j];
    }
    for (size_t a = 0; a < K; a++)
        s->D[a] = Iacc[a * K + a];
    for (size_t a = 0; a < K; a++)
        for (size_t b = 0; b < K; b++)
            if (a != b) {
                s->N[a * K + b] = Q[a * K + b] * Iacc[a * K + b];
                Iacc[a * K + b] -= s->D[a];
            }
    for (size_t a = 0; a < K; a++)
        Iacc[a * K + a] = 0;
    if (gacc) {
        const double *st = gacc + 1 + KK;
        const double *Ndir = st, *Gdir = st + KK, *Ddir = st + 2 * KK, *Nem = Ddir + K, *N0 = Nem + K * M;
        for (size_t i = 0; i < KK; i++) {
            s->N[i] += Ndir[i];
            s->G[i] += Gdir[i];
        }
        for (size_t a = 0; a < K; a++) {
            s->D[a] += Ddir[a];
            s->N0[a] += N0[a];
            for (size_t b = 0; b < K; b++)
                if (a != b)
                    s->G[a * K + b] -= Ddir[a];
        }
        for (size_t i = 0; i < K * M; i++)
            s->Nem[i] += Nem[i];
    }
    free(gacc);
    return 0;
}

int st_mjp_expected_stats(const st_mjp *m, const st_mjp_data *d, double *loglik, double *N, double *D,
                          double *G, st_err *e)
{
    mjp_engine *g;
    mjp_stats s;
    int rc = mjp_engine_new(&g, d, e);
    if (rc < 0)
        return rc;
    if ((rc = mjp_stats_alloc(&s, d->K, d->M, e)) < 0) {
        mjp_engine_free(g);
        return rc;
    }
    rc = mjp_engine_eval(g, m, 1, &s, e);
    if (rc == 0) {
        size_t K = d->K;
        if (loglik)
            *loglik = s.ll;
        if (N)
            memcpy(N, s.N, K * K * sizeof *N);
        if (D)
            memcpy(D, s.D, K * sizeof *D);
        if (G)
            memcpy(G, s.G, K * K * sizeof *G);
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
    size_t K = m->K, k0 = d->start[s], n = d->start[s + 1] - k0;
    double *delta = malloc(n * K * sizeof *delta), *P = malloc(K * K * sizeof *P);
    int *bp = malloc(n * K * sizeof *bp);
    double l[ST_MJP_MAX_STATES];
    int rc = 0;
    if (!delta || !P || !bp) {
        rc = st_err_nomem(e, "Viterbi");
        goto out;
    }
    obs_vector(d, m, k0, l);
    for (size_t i = 0; i < K; i++)
        delta[i] = log((d->mode == ST_MJP_HIDDEN ? m->init[i] : 1.0) * l[i]);
    for (size_t j = 1; j < n; j++) {
        size_t k = k0 + j;
        if ((rc = st_mjp_pmatrix(m, d->t[k] - d->t[k - 1], P, e)) < 0)
            goto out;
        obs_vector(d, m, k, l);
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
    free(bp);
    return rc;
}

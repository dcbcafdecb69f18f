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
 * Determinism: subjects and distinct dt are processed in parallel, but
 * each result goes to its own slot and the slots are summed in a fixed
 * order (blocks of a fixed size), so any thread count gives the same bits.
 *
 * MPI (lib/core/mpi.h): each rank computes its contiguous share of the
 * distinct dt (P and the block partials) and of the generic subjects; the
 * shares are completed on every rank (st_mpi_share_allgather: values, not
 * sums, are exchanged) and the sums below run on every rank in the same
 * order, so any number of ranks gives the same bits too. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/linalg.h"
#include "core/resource.h"
#include "core/mpi.h"
#include "mjp/internal.h"

#define BLOCK 16 /* distinct dt per partial sum: fixed, not per thread */

typedef struct tri {
    size_t d;
    int r, s;
    double n;
} tri;

struct mjp_engine {
    const st_mjp_data *d;
    size_t K, M;
    int mode;
    double *xN, *xD; /* exact data: jumps and dwell */
    size_t nd;
    double *dts;
    size_t *ivd;     /* per observation k (not a subject's first): index of its dt */
    size_t ntri;
    tri *tri;
    size_t *tri_start; /* nd + 1 */
    size_t ngen;
    size_t *gen;       /* generic subjects (forward-backward) */
    size_t *gen_iv;    /* ngen + 1 offsets into the generic interval buffer */
    size_t niv;
    size_t *ivlist, *ivlist_start; /* generic intervals grouped by dt, in order */
    unsigned char *ivtype;
    double *ab;        /* niv x 2K: a = alpha_{k-1}, b = l_k o beta_k / c_k */
    double *sub;       /* ngen x substride: per-subject direct statistics */
    size_t substride;
    double *sub_ll;
    double *P;         /* nd x K x K */
    double *blk;       /* nblk x (K^2 + 1) */
    size_t nblk;
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
    free(g->xN);
    free(g->xD);
    free(g->dts);
    free(g->ivd);
    free(g->tri);
    free(g->tri_start);
    free(g->gen);
    free(g->gen_iv);
    free(g->ivlist);
    free(g->ivlist_start);
    free(g->ivtype);
    free(g->ab);
    free(g->sub);
    free(g->sub_ll);
    free(g->P);
    free(g->blk);
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

int mjp_engine_new(mjp_engine **out, const st_mjp_data *d, st_err *e)
{
    *out = NULL;
    mjp_engine *g = calloc(1, sizeof *g);
    if (!g)
        return st_err_nomem(e, "likelihood engine");
    size_t K = d->K;
    g->d = d;
    g->K = K;
    g->M = d->M;
    g->mode = d->mode;
    if (d->mode == ST_MJP_EXACT) {
        g->xN = calloc(K * K, sizeof *g->xN);
        g->xD = calloc(K, sizeof *g->xD);
        if (!g->xN || !g->xD)
            goto nomem;
        for (size_t s = 0; s < d->nsubj; s++)
            for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++) {
                int a = d->y[k - 1], b = d->y[k];
                g->xD[a] += d->t[k] - d->t[k - 1];
                if (a != b)
                    g->xN[(size_t)a * K + (size_t)b] += 1;
            }
        *out = g;
        return 0;
    }
    /* distinct interval lengths */
    size_t nint = d->nobs - d->nsubj;
    double *all = malloc((nint ? nint : 1) * sizeof *all);
    g->ivd = malloc(d->nobs * sizeof *g->ivd);
    if (!all || !g->ivd) {
        free(all);
        goto nomem;
    }
    size_t n = 0;
    for (size_t s = 0; s < d->nsubj; s++)
        for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++)
            all[n++] = d->t[k] - d->t[k - 1];
    qsort(all, n, sizeof *all, cmp_double);
    /* Interval lengths closer than the resolution of the times themselves
     * (a few ulps of the largest |t|) are one length: visits on a grid of
     * days give differences such as 5/365 - 2/365 and 3/365 that differ in
     * the last bit only, and they share one P(dt). */
    double tmax = 0;
    for (size_t k = 0; k < d->nobs; k++)
        tmax = fmax(tmax, fabs(d->t[k]));
    double tol = 8 * DBL_EPSILON * tmax;
    size_t nd = 0;
    for (size_t i = 0; i < n; i++)
        if (nd == 0 || all[i] - all[nd - 1] > tol)
            all[nd++] = all[i];
    g->nd = nd;
    g->dts = all;
    for (size_t s = 0; s < d->nsubj; s++)
        for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++)
            g->ivd[k] = find_dt(all, nd, d->t[k] - d->t[k - 1]);
    /* plain subjects -> aggregated (dt, r, s) counts; others -> generic */
    g->gen = malloc(d->nsubj * sizeof *g->gen);
    g->tri = malloc((nint ? nint : 1) * sizeof *g->tri);
    g->gen_iv = malloc((d->nsubj + 1) * sizeof *g->gen_iv);
    if (!g->gen || !g->tri || !g->gen_iv)
        goto nomem;
    size_t nt = 0, niv = 0;
    for (size_t s = 0; s < d->nsubj; s++) {
        if (is_generic(d, s)) {
            g->gen_iv[g->ngen] = niv;
            g->gen[g->ngen++] = s;
            niv += d->start[s + 1] - d->start[s] - 1;
            continue;
        }
        for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++)
            g->tri[nt++] = (tri){g->ivd[k], d->y[k - 1], d->y[k], 1};
    }
    g->gen_iv[g->ngen] = niv;
    g->niv = niv;
    qsort(g->tri, nt, sizeof *g->tri, cmp_tri);
    size_t m = 0;
    for (size_t i = 0; i < nt; i++) {
        if (m && g->tri[m - 1].d == g->tri[i].d && g->tri[m - 1].r == g->tri[i].r &&
            g->tri[m - 1].s == g->tri[i].s)
            g->tri[m - 1].n += 1;
        else
            g->tri[m++] = g->tri[i];
    }
    g->ntri = m;
    /* refuse up front what the machine cannot hold (P cache, interval
     * vectors, per-subject statistics), with the figure */
    {
        double need = ((double)nd * (double)(K * K) + (double)niv * 2.0 * (double)K +
                       (double)g->ngen * (double)(2 * K * K + 3 * K + K * (g->M ? g->M : 1))) *
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
    g->tri_start = calloc(nd + 1, sizeof *g->tri_start);
    g->ivlist_start = calloc(nd + 1, sizeof *g->ivlist_start);
    g->ivlist = malloc((niv ? niv : 1) * sizeof *g->ivlist);
    g->ivtype = malloc(niv ? niv : 1);
    g->ab = malloc((niv ? niv : 1) * 2 * K * sizeof *g->ab);
    g->substride = 2 * K * K + K + K * (g->M ? g->M : 1) + K;
    g->sub = malloc((g->ngen ? g->ngen : 1) * g->substride * sizeof *g->sub);
    g->sub_ll = malloc((g->ngen ? g->ngen : 1) * sizeof *g->sub_ll);
    g->P = malloc((nd ? nd : 1) * K * K * sizeof *g->P);
    g->nblk = (nd + BLOCK - 1) / BLOCK;
    g->blk = malloc((g->nblk ? g->nblk : 1) * (K * K + 1) * sizeof *g->blk);
    if (!g->tri_start || !g->ivlist_start || !g->ivlist || !g->ivtype || !g->ab || !g->sub ||
        !g->sub_ll || !g->P || !g->blk)
        goto nomem;
    for (size_t i = 0; i < m; i++)
        g->tri_start[g->tri[i].d + 1]++;
    for (size_t i = 0; i < nd; i++)
        g->tri_start[i + 1] += g->tri_start[i];
    /* generic intervals grouped by dt (counting sort keeps their order) */
    for (size_t gi = 0; gi < g->ngen; gi++) {
        size_t s = g->gen[gi];
        for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++) {
            g->ivlist_start[g->ivd[k] + 1]++;
            g->ivtype[g->gen_iv[gi] + (k - d->start[s] - 1)] = d->obstype[k];
        }
    }
    for (size_t i = 0; i < nd; i++)
        g->ivlist_start[i + 1] += g->ivlist_start[i];
    size_t *fill = calloc(nd ? nd : 1, sizeof *fill);
    if (!fill)
        goto nomem;
    for (size_t gi = 0; gi < g->ngen; gi++) {
        size_t s = g->gen[gi];
        for (size_t k = d->start[s] + 1; k < d->start[s + 1]; k++) {
            size_t di = g->ivd[k];
            g->ivlist[g->ivlist_start[di] + fill[di]++] = g->gen_iv[gi] + (k - d->start[s] - 1);
        }
    }
    free(fill);
    *out = g;
    return 0;
nomem:
    mjp_engine_free(g);
    return st_err_nomem(e, "likelihood engine");
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
           *N0 = Nem + K * M;
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
        row_apply(Q, g->P + di * K * K, K, d->mode == ST_MJP_HIDDEN ? 1 : ot, g->dts[di],
                  alpha + (j - 1) * K, alpha + j * K);
        obs_vector(d, m, k, l);
        double cj = 0;
        for (size_t i = 0; i < K; i++) {
            alpha[j * K + i] *= l[i];
            cj += alpha[j * K + i];
        }
        if (!(cj > 0) || !isfinite(cj)) {
            g->sub_ll[gi] = -INFINITY;
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
        const double *P = g->P + di * K * K;
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
    size_t nd = g->nd, dlo1, dhi1, glo, ghi, blo, bhi;
    int bad = 0;
    st_mpi_share(nd, &dlo1, &dhi1);
    st_mpi_share(g->ngen, &glo, &ghi);
    st_mpi_share(g->nblk, &blo, &bhi);
    /* 1. P(dt) once per distinct dt.  Threads only when the work is worth a
     * fork and a barrier (a few milliseconds): on a busy machine idle
     * OpenMP threads spin and cost more than they save on small problems. */
#pragma omp parallel if ((double)nd * (double)(KK * K) > mjp_omp_min_work)
    {
        double *A = malloc(KK * sizeof *A);
        st_err le;
        st_err_clear(&le);
#pragma omp for schedule(static)
        for (size_t di = dlo1; di < dhi1; di++) {
            if (!A) {
#pragma omp atomic write
                bad = 1;
                continue;
            }
            for (size_t i = 0; i < KK; i++)
                A[i] = Q[i] * g->dts[di];
            if (st_expm(A, K, g->P + di * KK, &le) < 0) {
#pragma omp atomic write
                bad = 1;
            }
        }
        free(A);
    }
    if (st_mpi_max_long(bad))
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "matrix exponential failed (rates not finite?)");
    int rc = st_mpi_share_allgather(g->P, nd, NULL, KK, e);
    if (rc < 0)
        return rc;
    /* 2. generic subjects: forward-backward */
    size_t ngen = g->ngen;
#pragma omp parallel for schedule(dynamic, 8) if ((double)g->niv * (double)(KK * 4) > mjp_omp_min_work)
    for (size_t gi = glo; gi < ghi; gi++)
        forward_backward(g, m, gi, want);
    if ((rc = st_mpi_share_allgather(g->ab, ngen, g->gen_iv, 2 * K, e)) < 0 ||
        (rc = st_mpi_share_allgather(g->sub, ngen, NULL, g->substride, e)) < 0 ||
        (rc = st_mpi_share_allgather(g->sub_ll, ngen, NULL, 1, e)) < 0)
        return rc;
    /* 3. per distinct dt: plain counts, summed W, Van Loan; fixed blocks */
    mjp_eig ev;
    if (want)
        mjp_eig_prepare(&ev, Q, K);
    else
        ev.ok = 0;
    size_t stride = KK + 1;
    size_t nblk = g->nblk;
#pragma omp parallel if ((double)nd * (double)(KK * K) > mjp_omp_min_work)
    {
        double *W = malloc(4 * KK * sizeof *W);
        st_err le;
        st_err_clear(&le);
#pragma omp for schedule(dynamic, 1)
        for (size_t bi = blo; bi < bhi; bi++) {
            double *acc = g->blk + bi * stride;
            memset(acc, 0, stride * sizeof *acc);
            if (!W) {
#pragma omp atomic write
                bad = 1;
                continue;
            }
            double *I = W + KK;
            size_t dlo = bi * BLOCK, dhi = dlo + BLOCK < nd ? dlo + BLOCK : nd;
            for (size_t di = dlo; di < dhi; di++) {
                const double *P = g->P + di * KK;
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
                acc[KK] += ll;
                if (!want || !isfinite(ll) || g->dts[di] == 0)
                    continue;
                for (size_t q = g->ivlist_start[di]; q < g->ivlist_start[di + 1]; q++) {
                    size_t iv = g->ivlist[q];
                    if (g->ivtype[iv] == ST_MJP_OBS_EXACT && g->mode != ST_MJP_HIDDEN)
                        continue;
                    const double *a = g->ab + iv * 2 * K, *b = a + K;
                    for (size_t r = 0; r < K; r++)
                        if (a[r] != 0)
                            for (size_t c = 0; c < K; c++)
                                W[r * K + c] += a[r] * b[c];
                }
                if (ev.ok)
                    mjp_eig_vanloan(&ev, g->dts[di], W, I, I + KK);
                else if (st_mjp_vanloan(Q, K, g->dts[di], W, I, &le) < 0) {
#pragma omp atomic write
                    bad = 1;
                    continue;
                }
                for (size_t i = 0; i < KK; i++)
                    acc[i] += I[i];
            }
        }
        free(W);
    }
    if (st_mpi_max_long(bad))
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "Van Loan exponential failed");
    if ((rc = st_mpi_share_allgather(g->blk, nblk, NULL, stride, e)) < 0)
        return rc;
    /* 4. fixed-order reductions */
    double ll = 0;
    double *Iacc = NULL;
    if (want) {
        memset(s->N, 0, KK * sizeof *s->N);
        memset(s->D, 0, K * sizeof *s->D);
        memset(s->G, 0, KK * sizeof *s->G);
        memset(s->N0, 0, K * sizeof *s->N0);
        memset(s->Nem, 0, K * (g->M ? g->M : 1) * sizeof *s->Nem);
        Iacc = s->G; /* accumulate I in G, convert below */
    }
    for (size_t bi = 0; bi < nblk; bi++) {
        const double *acc = g->blk + bi * stride;
        ll += acc[KK];
        if (want)
            for (size_t i = 0; i < KK; i++)
                Iacc[i] += acc[i];
    }
    size_t M = g->M ? g->M : 1;
    for (size_t gi = 0; gi < ngen; gi++) {
        if (isnan(g->sub_ll[gi]))
            return st_err_nomem(e, "forward-backward");
        ll += g->sub_ll[gi];
    }
    s->ll = isnan(ll) ? -INFINITY : ll;
    if (!want || !isfinite(s->ll))
        return 0;
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
    for (size_t gi = 0; gi < ngen; gi++) {
        const double *st = g->sub + gi * g->substride;
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

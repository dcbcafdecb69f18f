/* The bootstrap particle filter over fixed particle blocks, its stored
 * history and weighted summaries. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/threads.h"
#include "core/vmath.h"
#include "smc/pf_internal.h"

/* The run-ahead of lazy mode: per-step figures for the replay. */
typedef struct pf_replay {
    size_t T;
    double *ess, *llinc, *loglik;
    int *resampled;
    size_t err_step; /* T: none */
    st_err err;
} pf_replay;

static void replay_free(pf_replay *r)
{
    if (!r)
        return;
    free(r->ess);
    free(r->llinc);
    free(r->loglik);
    free(r->resampled);
    free(r);
}

/* SplitMix64 finaliser: decorrelates the seeds of the stream families. */
uint64_t pf_seed(uint64_t seed, int family)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(family + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t st_pf_derive_seed(uint64_t seed, uint64_t i, uint64_t j)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (i + 1) + 0xBF58476D1CE4E5B9ull * (j + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void pf_streams(st_rng *r, size_t n, uint64_t seed, int family)
{
    st_rng cur;
    st_rng_seed(&cur, pf_seed(seed, family));
    for (size_t i = 0; i < n; i++) {
        r[i] = cur;
        st_rng_jump(&cur);
    }
}

int pf_check_memory(double bytes, const char *what, st_err *e)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    double phys = pages > 0 && psize > 0 ? (double)pages * (double)psize : 16e9;
    if (bytes > 0.8 * phys)
        return st_err_set(e, ST_ENOMEM, NULL, 0, 0,
                          "%s needs %.1f GiB but the machine has %.1f GiB: use fewer particles or time steps",
                          what, bytes / 1073741824.0, phys / 1073741824.0);
    return 0;
}

void pf_step_ctx_data(const st_pf_data *d, size_t dy, size_t ncov, size_t t, st_pf_step *s)
{
    s->step = (long)t;
    s->t = d->t ? d->t[t] : (double)(t + 1);
    s->y = d->y + t * dy;
    s->cov = ncov ? d->cov + t * ncov : NULL;
}

void pf_step_ctx(const pf_filter *f, size_t t, st_pf_step *s)
{
    pf_step_ctx_data(f->d, f->dy, st_pf_model_ncov(f->m), t, s);
}

void pf_filter_free(pf_filter *f)
{
    if (!f)
        return;
    if (f->th)
        for (int i = 0; i < f->nthreads; i++)
            free(f->th[i]);
    free(f->th);
    free(f->brng);
    free(f->X);
    free(f->Xprev);
    free(f->lw);
    free(f->lwprev);
    free(f->W);
    free(f->cum);
    free(f->cumprev);
    free(f->A);
    free(f->blk.m);
    free(f->blkprev.m);
    replay_free(f->replay);
    free(f);
}

/* The six rows of a pf_blocks in one allocation (freed through m). */
static int blocks_new(pf_blocks *b, size_t nb)
{
    double *v = malloc((6 * nb + 1) * sizeof *v);
    if (!v)
        return -1;
    b->m = v;
    b->S = v + nb;
    b->Q = v + 2 * nb;
    b->c = v + 3 * nb;
    b->tmp = v + 4 * nb;
    b->C = v + 5 * nb;
    return 0;
}

int pf_filter_new(pf_filter **out, const st_pf_model *m, const st_pf_data *d, const st_pf_opts *o,
                  st_err *e)
{
    *out = NULL;
    size_t N = o->N, dx = st_pf_model_dx(m);
    if (N < 2)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "need at least 2 particles, not %zu", N);
    if (N > INT32_MAX - 1) /* resampling counts points in int32 */
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "at most %d particles", INT32_MAX - 1);
    int rc = pf_check_memory((double)N * (8.0 * (2 * dx + 5) + 4), "the particle filter", e);
    if (rc < 0)
        return rc;
    pf_filter *f = calloc(1, sizeof *f);
    if (!f)
        return st_err_nomem(e, "particle filter");
    f->m = m;
    f->d = d;
    f->o = o;
    f->N = N;
    f->dx = dx;
    f->dy = st_pf_model_dy(m);
    f->nblocks = (N + ST_PF_BLOCK - 1) / ST_PF_BLOCK;
    f->nthreads = st_max_threads();
    f->brng = malloc(f->nblocks * sizeof *f->brng);
    f->th = calloc((size_t)f->nthreads, sizeof *f->th);
    f->X = malloc(dx * N * sizeof *f->X);
    f->Xprev = malloc(dx * N * sizeof *f->Xprev);
    f->lw = malloc(N * sizeof *f->lw);
    f->lwprev = malloc(N * sizeof *f->lwprev);
    f->W = malloc(N * sizeof *f->W);
    f->cum = malloc(N * sizeof *f->cum);
    f->cumprev = malloc(N * sizeof *f->cumprev);
    f->A = malloc(N * sizeof *f->A);
    if (!f->brng || !f->th || !f->X || !f->Xprev || !f->lw || !f->lwprev || !f->W || !f->cum ||
        !f->cumprev || !f->A || blocks_new(&f->blk, f->nblocks) < 0 || blocks_new(&f->blkprev, f->nblocks) < 0) {
        pf_filter_free(f);
        return st_err_nomem(e, "particle filter");
    }
    for (int i = 0; i < f->nthreads; i++)
        if (!(f->th[i] = calloc(1, sizeof *f->th[i]))) {
            pf_filter_free(f);
            return st_err_nomem(e, "particle filter work space");
        }
    pf_streams(f->brng, f->nblocks, o->seed, RS_FORWARD);
    st_rng_seed(&f->rng, pf_seed(o->seed, RS_RESAMPLE));
    f->err_block = -1;
    /* Only the log-likelihood is wanted: W and lw need not be normalised
     * (the caller reads ess, llinc, resampled and loglik only). */
    f->lazy = o->loglik_only && o->smoother == ST_SM_NONE && !o->draws && o->scheme == ST_RS_SYSTEMATIC;
    *out = f;
    return 0;
}

/* Record the error of block b if it is the first (lowest block) so far. */
static void block_error(pf_filter *f, long b, const st_err *e)
{
#pragma omp critical(pf_block_error)
    {
        if (f->err_block < 0 || b < f->err_block) {
            f->err_block = (int)b;
            f->err = *e;
        }
    }
}

static void ancestor_sample_ref(pf_filter *f, size_t t, st_pf_step *s)
{
    /* a_0 ~ W_{t-1}^j f(ref_t | X_{t-1}^j), O(N), sequential */
    pf_thread *th = f->th[0];
    size_t dx = f->dx, N = f->N;
    const double *ref = f->ref + t * dx;
    double mx = -INFINITY;
    double *lwa = f->W; /* reuse: W of the previous step is recomputed below */
    for (size_t start = 0; start < N; start += ST_PF_BLOCK) {
        size_t n = N - start < ST_PF_BLOCK ? N - start : ST_PF_BLOCK;
        for (size_t i = 0; i < dx; i++)
            for (size_t p = 0; p < n; p++)
                th->gb[i * ST_PF_BLOCK + p] = ref[i];
        st_err tmp;
        if (st_pf_model_logtrans(f->m, s, f->Xprev + start, N, th->gb, ST_PF_BLOCK, n, th->lf, &th->w, &tmp) < 0) {
            for (size_t p = 0; p < n; p++)
                th->lf[p] = -INFINITY;
        }
        for (size_t p = 0; p < n; p++) {
            double v = f->lwprev[start + p] + th->lf[p];
            lwa[start + p] = v;
            if (v > mx)
                mx = v;
        }
    }
    if (!(mx > -INFINITY)) {
        f->A[0] = 0;
        return;
    }
    for (size_t j = 0; j < N; j++)
        lwa[j] -= mx;
    st_vexp(lwa, lwa, N);
    double tot = 0;
    for (size_t j = 0; j < N; j++)
        tot += lwa[j];
    double u = st_rng_uniform(&f->rng) * tot, c = 0;
    size_t j = 0;
    for (; j + 1 < N; j++) {
        c += lwa[j];
        if (u < c)
            break;
    }
    f->A[0] = (uint32_t)j;
}

/* ------------------------------------------------------------ systematic resampling */

/* Points below E, K(E) = ceil(E N / total - u0) in [0, N]. */
static inline size_t sys_K(const pf_sysres *r, double E)
{
    const double x = E * r->scale - r->u0, top = (double)r->N;
    const double xc = x > 0 ? (x < top ? x : top) : 0;
    const int64_t k = (int64_t)xc;
    return (size_t)(k + ((double)k < xc));
}

/* K of particle p's right edge (the last particle: N). */
static inline size_t sys_Kp(const pf_sysres *r, size_t p)
{
    if (p + 1 >= r->N)
        return r->N;
    const size_t b = p / ST_PF_BLOCK;
    return sys_K(r, r->C[b] + r->c[b] * r->cum[p]);
}

void pf_systematic_range(const pf_sysres *r, size_t k0, size_t k1, uint32_t *own, size_t *hint)
{
    if (k1 <= k0)
        return;
    size_t lo, plo;
    if (hint && *hint < r->N) {
        /* the particle where the range ending at k0 stopped: K of the one
         * before it is below k0, so the first particle of this range is
         * at or after it (usually it) */
        plo = *hint;
        while (sys_Kp(r, plo) <= k0)
            plo++;
        lo = plo / ST_PF_BLOCK;
    } else {
        /* the first block whose end is above point k0, then its first particle */
        size_t hi = r->nblocks - 1;
        lo = 0;
        while (lo < hi) {
            const size_t mid = lo + (hi - lo) / 2;
            if (sys_K(r, r->C[mid + 1]) > k0)
                hi = mid;
            else
                lo = mid + 1;
        }
        plo = lo * ST_PF_BLOCK;
        size_t phi = plo + ST_PF_BLOCK - 1 < r->N ? plo + ST_PF_BLOCK - 1 : r->N - 1;
        while (plo < phi) {
            const size_t mid = plo + (phi - plo) / 2;
            if (sys_Kp(r, mid) > k0)
                phi = mid;
            else
                plo = mid + 1;
        }
    }
    /* own[K(E_{p-1}) - k0] = p for the particles of the range, in order:
     * where several start at the same point the last (the one with
     * offspring) stays; points in between belong to the last start.  The
     * loops hold no data-dependent branch but their exit. */
    const size_t n = k1 - k0;
    for (size_t k = 1; k < n; k++)
        own[k] = 0;
    own[0] = (uint32_t)plo;
    /* K of each particle of a block's segment by vector kernels (the same
     * formula as sys_K: c[b] cum + C[b], times scale, minus u0, ceil) */
    double E[ST_PF_BLOCK];
    int32_t K[ST_PF_BLOCK];
    size_t p = plo;
    for (size_t b = lo; b < r->nblocks; b++) {
        size_t end = (b + 1) * ST_PF_BLOCK < r->N ? (b + 1) * ST_PF_BLOCK : r->N - 1, m = end - p;
        st_vaffine(E, r->c[b], r->cum + p, r->C[b], m);
        st_vaffine(E, r->scale, E, -r->u0, m);
        st_vceil_clip(K, E, m, (double)r->N);
        for (size_t j = 0; j < m; j++) {
            if (K[j] >= (int32_t)k1) {
                p += j;
                goto filled;
            }
            own[(size_t)K[j] - k0] = (uint32_t)(p + j + 1);
        }
        p = end;
    }
    p = r->N - 1;
filled:
    if (hint)
        *hint = p;
    uint32_t cur = own[0];
    for (size_t k = 1; k < n; k++) {
        const uint32_t v = own[k];
        cur = v > cur ? v : cur;
        own[k] = cur;
    }
}

/* ------------------------------------------------------------ the filter step */

static void swap_d(double **a, double **b)
{
    double *t = *a;
    *a = *b;
    *b = t;
}

enum { ANC_NONE, ANC_IDENTITY, ANC_SYSTEMATIC, ANC_GIVEN };

/* Where one step reads and writes (the filter's arrays, or the buffers a
 * thread of the run-ahead region is at). */
typedef struct pf_view {
    double *X, *Xprev, *lw, *lwprev, *W, *cum, *cumprev;
    uint32_t *A;
    double *bm, *bS, *bQ; /* this step's block figures */
    double lseprev;       /* lazy: lwprev is not normalised */
    int anc, resampled;
    int keep_lw;          /* lazy: 0 when no later step reads lw */
    pf_sysres sr;
} pf_view;

/* One block of a step, fused: its ancestors, propagation (or the initial
 * draw), log weights, and its log-sum-exp figures with the running sums
 * of its weights for the next step's resampling. */
static int step_block(pf_filter *f, size_t t, const st_pf_step *s, const pf_view *v, size_t b, st_err *be)
{
    size_t N = f->N, dx = f->dx, start = b * ST_PF_BLOCK, n = N - start < ST_PF_BLOCK ? N - start : ST_PF_BLOCK;
    pf_thread *th = f->th[st_thread_id()];
    double *lw = v->keep_lw ? v->lw + start : th->lwbuf, mlogN = -log((double)N);
    uint32_t *a = f->lazy ? th->abuf : v->A + start;
    int rc;
    if (v->anc == ANC_NONE) {
        rc = st_pf_model_init(f->m, s, v->X + start, N, n, &f->brng[b], &th->w, be);
        for (size_t p = 0; p < n; p++)
            lw[p] = mlogN;
    } else {
        if (v->anc == ANC_SYSTEMATIC) {
            /* a thread's blocks of a step are consecutive: each starts
             * where the one before it stopped */
            if (th->sys_step != t + 1 || th->sys_k != start)
                th->sys_p = SIZE_MAX;
            pf_systematic_range(&v->sr, start, start + n, a, &th->sys_p);
            th->sys_step = t + 1;
            th->sys_k = start + n;
        }
        else if (v->anc == ANC_IDENTITY)
            for (size_t p = 0; p < n; p++)
                a[p] = (uint32_t)(start + p);
        for (size_t i = 0; i < dx; i++)
            st_vgather(th->ga + i * ST_PF_BLOCK, v->Xprev + i * N, a, n);
        rc = st_pf_model_transition(f->m, s, th->ga, ST_PF_BLOCK, v->X + start, N, n, &f->brng[b], &th->w, be);
        if (v->resampled) {
            for (size_t p = 0; p < n; p++)
                lw[p] = mlogN;
        } else {
            st_vgather(lw, v->lwprev, a, n);
            if (f->lazy) /* normalised as normalise_block would: 1 x - lse = x - lse */
                st_vaffine(lw, 1.0, lw, -v->lseprev, n);
        }
    }
    if (rc == 0 && f->ref && b == 0)
        for (size_t i = 0; i < dx; i++)
            v->X[i * N] = f->ref[t * dx + i];
    if (rc == 0)
        rc = st_pf_model_logobs(f->m, s, v->X + start, N, n, lw, &th->w, be);
    if (rc < 0)
        return rc;
    st_vnan_to(lw, n, -INFINITY, 700.0); /* NaN state: zero weight; +Inf density: cap */
    double out[3];
    st_vlse_scan(lw, n, f->lazy ? th->wbuf : v->W + start, v->cum + start, out);
    v->bm[b] = out[0];
    v->bS[b] = out[1];
    v->bQ[b] = out[2];
    return 0;
}

/* The step's log-sum-exp and ESS from the block figures, in block order,
 * and for the next step's resampling the blocks' factors to normalised
 * weights c and their cumulative weight C.  -1: every weight is zero. */
static int reduce_blocks(size_t nb, const double *bm, const double *bS, const double *bQ, double *tmp,
                         double *c, double *C, double *lse, double *ess)
{
    double mx = -INFINITY;
    for (size_t b = 0; b < nb; b++)
        if (bm[b] > mx)
            mx = bm[b];
    if (!(mx > -INFINITY))
        return -1;
    for (size_t b = 0; b < nb; b++)
        tmp[b] = bm[b] - mx;
    st_vexp(tmp, tmp, nb);
    double sum = 0, sum2 = 0;
    for (size_t b = 0; b < nb; b++) {
        sum += bS[b] * tmp[b];
        sum2 += bQ[b] * tmp[b] * tmp[b];
    }
    st_vlog(lse, &sum, 1);
    *lse += mx;
    *ess = sum * sum / sum2;
    for (size_t b = 0; b < nb; b++)
        c[b] = bm[b] - *lse;
    st_vexp(c, c, nb);
    C[0] = 0;
    for (size_t b = 0; b < nb; b++)
        C[b + 1] = C[b] + bS[b] * c[b];
    return 0;
}

static int collapsed(size_t t, const st_pf_step *s, st_err *e)
{
    return st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                      "the filter collapsed at time step %zu (t = %g): every particle has zero weight; "
                      "check the observation model or use more particles",
                      t + 1, s->t);
}

static void sysres_from(pf_sysres *sr, const double *cum, const double *c, const double *C, size_t N, size_t nb,
                        double u0)
{
    sr->cum = cum;
    sr->c = c;
    sr->C = C;
    sr->N = N;
    sr->nblocks = nb;
    sr->u0 = u0;
    sr->scale = (double)N / C[nb];
}

/* Record an error of step t, block b, if it is the first (lowest step,
 * then lowest block) so far. */
static void run_error(pf_filter *f, pf_replay *rp, size_t t, long b, const st_err *e)
{
#pragma omp critical(pf_block_error)
    {
        if (t < rp->err_step || (t == rp->err_step && b < f->err_block)) {
            rp->err_step = t;
            f->err_block = (int)b;
            rp->err = *e;
        }
    }
}

static size_t run_error_step(const pf_replay *rp)
{
    size_t v;
#pragma omp critical(pf_block_error)
    v = rp->err_step;
    return v;
}

/* All T steps of a lazy filter in one parallel region.  Every thread
 * keeps its own copy of the sequential generator, of the resampling
 * decision and of the blocks' factors (the same numbers in every thread,
 * computed in block order), so one barrier per step suffices: after it,
 * each thread reduces the step's block figures itself and goes on. */
static int run_all(pf_filter *f, st_err *e)
{
    size_t T = f->d->T, N = f->N, nb = f->nblocks;
    const st_pf_opts *o = f->o;
    pf_replay *rp = calloc(1, sizeof *rp);
    int nth = f->nthreads;
    double *priv = NULL, *figs = NULL;
    if (rp) {
        rp->T = T;
        rp->ess = malloc(T * sizeof *rp->ess);
        rp->llinc = malloc(T * sizeof *rp->llinc);
        rp->loglik = malloc(T * sizeof *rp->loglik);
        rp->resampled = malloc(T * sizeof *rp->resampled);
        rp->err_step = T;
    }
    /* per thread: tmp (nb), c (nb), C (nb + 1); block figures by parity */
    priv = malloc((size_t)nth * (3 * nb + 1) * sizeof *priv);
    figs = malloc(6 * nb * sizeof *figs);
    if (!rp || !rp->ess || !rp->llinc || !rp->loglik || !rp->resampled || !priv || !figs) {
        replay_free(rp);
        free(priv);
        free(figs);
        return st_err_nomem(e, "particle filter");
    }
    f->replay = rp;
    f->err_block = -1;
    const int keep_lw = !o->always;
#pragma omp parallel num_threads(nth) if (nb >= PF_PAR_BLOCKS)
    {
        int me = st_thread_id();
        double *tmp = priv + (size_t)me * (3 * nb + 1), *c = tmp + nb, *C = c + nb;
        st_rng rng = f->rng;
        pf_view v;
        memset(&v, 0, sizeof v);
        v.X = f->X;
        v.Xprev = f->Xprev;
        v.lw = f->lw;
        v.lwprev = f->lwprev;
        v.cum = f->cum;
        v.cumprev = f->cumprev;
        v.keep_lw = keep_lw;
        double ess = 0, lse = 0, loglik = 0;
        for (size_t t = 0; t < T; t++) {
            st_pf_step s;
            pf_step_ctx(f, t, &s);
            double *fig = figs + (t & 1) * 3 * nb;
            v.bm = fig;
            v.bS = fig + nb;
            v.bQ = fig + 2 * nb;
            if (t == 0) {
                v.anc = ANC_NONE;
                v.resampled = 0;
            } else {
                swap_d(&v.Xprev, &v.X);
                swap_d(&v.lwprev, &v.lw);
                swap_d(&v.cumprev, &v.cum);
                v.lseprev = lse;
                v.resampled = o->always || ess < o->ess * (double)N;
                v.anc = ANC_IDENTITY;
                if (v.resampled) {
                    sysres_from(&v.sr, v.cumprev, c, C, N, nb, st_rng_uniform(&rng));
                    v.anc = ANC_SYSTEMATIC;
                }
            }
#pragma omp for schedule(static)
            for (long b = 0; b < (long)nb; b++) {
                st_err be;
                if (step_block(f, t, &s, &v, (size_t)b, &be) < 0)
                    run_error(f, rp, t, b, &be);
            }
            /* the barrier of the loop above: every block of step t is done */
            if (run_error_step(rp) <= t)
                break;
            if (reduce_blocks(nb, v.bm, v.bS, v.bQ, tmp, c, C, &lse, &ess) < 0) {
                if (me == 0) {
                    st_err ce;
                    rp->err_step = t; /* every thread stops here: no race */
                    collapsed(t, &s, &ce);
                    rp->err = ce;
                }
                break;
            }
            loglik += lse;
            if (me == 0) {
                rp->ess[t] = ess;
                rp->llinc[t] = lse;
                rp->loglik[t] = loglik;
                rp->resampled[t] = v.resampled;
            }
        }
        if (me == 0) {
            f->rng = rng;
            f->X = v.X;
            f->Xprev = v.Xprev;
            f->lw = v.lw;
            f->lwprev = v.lwprev;
            f->cum = v.cum;
            f->cumprev = v.cumprev;
        }
    }
    free(priv);
    free(figs);
    return 0;
}

/* Lazy mode's step t: the figures of the run-ahead. */
static int replay_step(pf_filter *f, size_t t, st_err *e)
{
    pf_replay *rp = f->replay;
    if (t >= rp->err_step) {
        *e = rp->err;
        return e->code;
    }
    f->ess = rp->ess[t];
    f->llinc = rp->llinc[t];
    f->loglik = rp->loglik[t];
    f->resampled = rp->resampled[t];
    return 0;
}

/* Normalised weights and log weights in place (not in lazy mode). */
static void normalise_block(pf_filter *f, size_t b)
{
    size_t start = b * ST_PF_BLOCK, n = f->N - start < ST_PF_BLOCK ? f->N - start : ST_PF_BLOCK;
    double c = f->blk.c[b], lse = f->lse, *W = f->W + start, *lw = f->lw + start;
    for (size_t p = 0; p < n; p++) {
        W[p] *= c;
        lw[p] -= lse;
    }
}

int pf_filter_step(pf_filter *f, size_t t, st_err *e)
{
    if (f->lazy) {
        int rc;
        if (t == 0 && !f->replay && (rc = run_all(f, e)) < 0)
            return rc;
        return replay_step(f, t, e);
    }
    size_t N = f->N, nb = f->nblocks;
    const st_pf_opts *o = f->o;
    st_pf_step s;
    pf_step_ctx(f, t, &s);
    f->err_block = -1;
    pf_view v;
    memset(&v, 0, sizeof v);
    v.anc = ANC_NONE;
    if (t == 0) {
        f->resampled = 0;
    } else {
        swap_d(&f->Xprev, &f->X);
        swap_d(&f->lwprev, &f->lw);
        swap_d(&f->cumprev, &f->cum);
        pf_blocks tb = f->blkprev;
        f->blkprev = f->blk;
        f->blk = tb;
        f->lseprev = f->lse;
        f->resampled = f->ref || o->always || f->ess < o->ess * (double)N;
        v.anc = ANC_IDENTITY;
        if (f->resampled) {
            if (f->ref) {
                /* conditional SMC: particle 0 keeps the reference */
                st_resample(ST_RS_MULTINOMIAL, f->W, N, N - 1, f->A + 1, &f->rng);
                f->A[0] = 0;
                if (f->ancestor_sampling)
                    ancestor_sample_ref(f, t, &s);
                v.anc = ANC_GIVEN;
            } else if (o->scheme == ST_RS_SYSTEMATIC) {
                /* one uniform, as the sequential scheme draws; each block
                 * finds its ancestors from the previous step's figures */
                f->u0 = st_rng_uniform(&f->rng);
                sysres_from(&v.sr, f->cumprev, f->blkprev.c, f->blkprev.C, N, nb, f->u0);
                v.anc = ANC_SYSTEMATIC;
            } else {
                st_resample(o->scheme, f->W, N, N, f->A, &f->rng);
                v.anc = ANC_GIVEN;
            }
        }
    }
    v.X = f->X;
    v.Xprev = f->Xprev;
    v.lw = f->lw;
    v.lwprev = f->lwprev;
    v.W = f->W;
    v.cum = f->cum;
    v.cumprev = f->cumprev;
    v.A = f->A;
    v.bm = f->blk.m;
    v.bS = f->blk.S;
    v.bQ = f->blk.Q;
    v.resampled = f->resampled;
    v.keep_lw = 1;
#pragma omp parallel for schedule(static) if (nb >= PF_PAR_BLOCKS)
    for (long b = 0; b < (long)nb; b++) {
        st_err be;
        if (step_block(f, t, &s, &v, (size_t)b, &be) < 0)
            block_error(f, b, &be);
    }
    if (f->err_block >= 0) {
        *e = f->err;
        return e->code;
    }
    double lse, ess;
    if (reduce_blocks(nb, f->blk.m, f->blk.S, f->blk.Q, f->blk.tmp, f->blk.c, f->blk.C, &lse, &ess) < 0)
        return collapsed(t, &s, e);
    f->lse = lse;
    f->llinc = lse;
    f->loglik += lse;
    f->ess = ess;
#pragma omp parallel for schedule(static) if (nb >= PF_PAR_BLOCKS)
    for (long b = 0; b < (long)nb; b++)
        normalise_block(f, (size_t)b);
    return 0;
}

/* ------------------------------------------------------------ history */

void pf_hist_free(pf_hist *h)
{
    if (!h)
        return;
    free(h->X);
    free(h->lw);
    free(h->A);
    free(h);
}

int pf_hist_new(pf_hist **out, size_t T, size_t N, size_t dx, int want_A, st_err *e)
{
    *out = NULL;
    double bytes = (double)T * (double)N * (8.0 * (double)dx + 8.0 + (want_A ? 4.0 : 0.0));
    int rc = pf_check_memory(bytes, "storing the particle history for the smoother", e);
    if (rc < 0)
        return rc;
    pf_hist *h = calloc(1, sizeof *h);
    if (!h)
        return st_err_nomem(e, "particle history");
    h->T = T;
    h->N = N;
    h->dx = dx;
    h->X = malloc(T * N * dx * sizeof *h->X);
    h->lw = malloc(T * N * sizeof *h->lw);
    h->A = want_A ? malloc(T * N * sizeof *h->A) : NULL;
    if (!h->X || !h->lw || (want_A && !h->A)) {
        pf_hist_free(h);
        return st_err_nomem(e, "particle history");
    }
    *out = h;
    return 0;
}

void pf_hist_store(pf_hist *h, const pf_filter *f, size_t t)
{
    size_t N = h->N;
    memcpy(h->X + t * h->dx * N, f->X, h->dx * N * sizeof *h->X);
    memcpy(h->lw + t * N, f->lw, N * sizeof *h->lw);
    if (h->A) {
        if (t == 0)
            for (size_t p = 0; p < N; p++)
                h->A[p] = (uint32_t)p;
        else
            memcpy(h->A + t * N, f->A, N * sizeof *h->A);
    }
}

/* ------------------------------------------------------------ summaries */

typedef struct vw {
    double v, w;
} vw;

static int cmp_vw(const void *a, const void *b)
{
    double x = ((const vw *)a)->v, y = ((const vw *)b)->v;
    return (x > y) - (x < y);
}

void pf_summarise(const double *X, size_t stride, const double *W, size_t N, size_t dx,
                  const double *q, size_t nq, double *mean, double *sd, double *qout, double *scratch)
{
    vw *pairs = (vw *)scratch;
    for (size_t i = 0; i < dx; i++) {
        const double *x = X + i * stride;
        double m = 0, wsum = 0;
        for (size_t p = 0; p < N; p++) {
            double w = W ? W[p] : 1.0;
            m += w * x[p];
            wsum += w;
        }
        m /= wsum;
        double v = 0;
        for (size_t p = 0; p < N; p++) {
            double w = W ? W[p] : 1.0, dlt = x[p] - m;
            v += w * dlt * dlt;
        }
        v /= wsum;
        mean[i] = m;
        sd[i] = sqrt(v > 0 ? v : 0);
        if (nq && pairs) {
            for (size_t p = 0; p < N; p++) {
                pairs[p].v = x[p];
                pairs[p].w = (W ? W[p] : 1.0) / wsum;
            }
            qsort(pairs, N, sizeof *pairs, cmp_vw);
            /* inverse of the weighted empirical distribution function */
            size_t p = 0;
            double c = 0;
            for (size_t k = 0; k < nq; k++) {
                while (p < N - 1 && c + pairs[p].w < q[k] * (1 - 1e-12))
                    c += pairs[p++].w;
                qout[i * nq + k] = pairs[p].v;
            }
        }
    }
}

/* The bootstrap particle filter over fixed particle blocks, its stored
 * history and weighted summaries. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/threads.h"
#include "smc/pf_internal.h"

/* SplitMix64 finaliser: decorrelates the seeds of the stream families. */
uint64_t pf_seed(uint64_t seed, int family)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(family + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
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
    free(f->A);
    free(f->part);
    free(f);
}

int pf_filter_new(pf_filter **out, const st_pf_model *m, const st_pf_data *d, const st_pf_opts *o,
                  st_err *e)
{
    *out = NULL;
    size_t N = o->N, dx = st_pf_model_dx(m);
    if (N < 2)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "need at least 2 particles, not %zu", N);
    if (N > UINT32_MAX - 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "at most %u particles", UINT32_MAX - 1);
    int rc = pf_check_memory((double)N * (8.0 * (2 * dx + 3) + 4), "the particle filter", e);
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
    f->A = malloc(N * sizeof *f->A);
    f->part = malloc((f->nblocks * 5 + 1) * sizeof *f->part);
    if (!f->brng || !f->th || !f->X || !f->Xprev || !f->lw || !f->lwprev || !f->W || !f->A || !f->part) {
        pf_filter_free(f);
        return st_err_nomem(e, "particle filter");
    }
    for (int i = 0; i < f->nthreads; i++)
        if (!(f->th[i] = malloc(sizeof *f->th[i]))) {
            pf_filter_free(f);
            return st_err_nomem(e, "particle filter work space");
        }
    pf_streams(f->brng, f->nblocks, o->seed, RS_FORWARD);
    st_rng_seed(&f->rng, pf_seed(o->seed, RS_RESAMPLE));
    f->err_block = -1;
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
    double tot = 0;
    for (size_t j = 0; j < N; j++)
        tot += (lwa[j] = exp(lwa[j] - mx));
    double u = st_rng_uniform(&f->rng) * tot, c = 0;
    size_t j = 0;
    for (; j + 1 < N; j++) {
        c += lwa[j];
        if (u < c)
            break;
    }
    f->A[0] = (uint32_t)j;
}

/* Systematic resampling in parallel over the particle blocks: the points
 * (k + u0) / N * total are cut at the blocks' cumulative weights, and each
 * block assigns the points that fall in it.  The block layout does not
 * depend on the thread count, so neither does the result. */
void pf_systematic_blocks(const double *W, const double *bw, double *C, size_t N, double u0, uint32_t *A)
{
    size_t nb = (N + ST_PF_BLOCK - 1) / ST_PF_BLOCK;
    C[0] = 0;
    for (size_t b = 0; b < nb; b++)
        C[b + 1] = C[b] + bw[b];
    double total = C[nb], step = total / (double)N;
#pragma omp parallel for schedule(static) if (nb >= PF_PAR_BLOCKS)
    for (long bl = 0; bl < (long)nb; bl++) {
        size_t b = (size_t)bl, start = b * ST_PF_BLOCK, end = start + ST_PF_BLOCK < N ? start + ST_PF_BLOCK : N;
        /* first point of this block and of the next: points below C[b]
         * belong to earlier blocks */
        double lo = ceil(C[b] / step - u0), hi = b + 1 == nb ? (double)N : ceil(C[b + 1] / step - u0);
        size_t k0 = lo < 0 ? 0 : lo > (double)N ? N : (size_t)lo;
        size_t k1 = hi < 0 ? 0 : hi > (double)N ? N : (size_t)hi;
        if (b == 0)
            k0 = 0;
        size_t i = start;
        double cum = C[b] + W[i];
        for (size_t k = k0; k < k1; k++) {
            double v = ((double)k + u0) * step;
            while (v >= cum && i + 1 < end)
                cum += W[++i];
            A[k] = (uint32_t)i;
        }
    }
}

static void systematic_blocks(pf_filter *f)
{
    /* one uniform, as the sequential scheme draws */
    double u0 = st_rng_uniform(&f->rng);
    pf_systematic_blocks(f->W, f->part + 3 * f->nblocks, f->part + 4 * f->nblocks, f->N, u0, f->A);
}

int pf_filter_step(pf_filter *f, size_t t, st_err *e)
{
    size_t N = f->N, dx = f->dx;
    const st_pf_opts *o = f->o;
    st_pf_step s;
    pf_step_ctx(f, t, &s);
    f->err_block = -1;
    double logN = log((double)N);
    int resample = 0;
    if (t == 0) {
        f->resampled = 0;
    } else {
        double *tmp = f->Xprev;
        f->Xprev = f->X;
        f->X = tmp;
        tmp = f->lwprev;
        f->lwprev = f->lw;
        f->lw = tmp;
        resample = f->ref || o->always || f->ess < o->ess * (double)N;
        f->resampled = resample;
        if (resample) {
            if (f->ref) {
                /* conditional SMC: particle 0 keeps the reference */
                st_resample(ST_RS_MULTINOMIAL, f->W, N, N - 1, f->A + 1, &f->rng);
                f->A[0] = 0;
                if (f->ancestor_sampling)
                    ancestor_sample_ref(f, t, &s);
            } else {
                if (o->scheme == ST_RS_SYSTEMATIC)
                    systematic_blocks(f);
                else
                    st_resample(o->scheme, f->W, N, N, f->A, &f->rng);
            }
        } else {
            for (size_t p = 0; p < N; p++)
                f->A[p] = (uint32_t)p;
        }
    }
    /* One pass per block: propagate (or draw the initial particles),
     * weight, and the block's statistics: its largest log-weight m_b,
     * W_p = exp(lw_p - m_b), and sums of W_p and W_p^2. */
    double *bmax = f->part, *bsum = f->part + f->nblocks, *bsum2 = f->part + 2 * f->nblocks;
#pragma omp parallel for schedule(static) if (f->nblocks >= PF_PAR_BLOCKS)
    for (long b = 0; b < (long)f->nblocks; b++) {
        size_t start = (size_t)b * ST_PF_BLOCK, n = N - start < ST_PF_BLOCK ? N - start : ST_PF_BLOCK;
        pf_thread *th = f->th[st_thread_id()];
        st_err be;
        double *lw = f->lw + start;
        int rc;
        if (t == 0) {
            rc = st_pf_model_init(f->m, &s, f->X + start, N, n, &f->brng[b], &th->w, &be);
            for (size_t p = 0; p < n; p++)
                lw[p] = -logN;
        } else {
            const uint32_t *a = f->A + start;
            for (size_t i = 0; i < dx; i++) {
                const double *src = f->Xprev + i * N;
                double *dst = th->ga + i * ST_PF_BLOCK;
                for (size_t p = 0; p < n; p++)
                    dst[p] = src[a[p]];
            }
            rc = st_pf_model_transition(f->m, &s, th->ga, ST_PF_BLOCK, f->X + start, N, n, &f->brng[b],
                                        &th->w, &be);
            if (resample)
                for (size_t p = 0; p < n; p++)
                    lw[p] = -logN;
            else
                for (size_t p = 0; p < n; p++)
                    lw[p] = f->lwprev[a[p]];
        }
        if (rc == 0 && f->ref && b == 0)
            for (size_t i = 0; i < dx; i++)
                f->X[i * N] = f->ref[t * dx + i];
        if (rc == 0)
            rc = st_pf_model_logobs(f->m, &s, f->X + start, N, n, lw, &th->w, &be);
        if (rc < 0) {
            block_error(f, b, &be);
            continue;
        }
        double mx = -INFINITY;
        for (size_t p = 0; p < n; p++) {
            if (isnan(lw[p]) || lw[p] == INFINITY)
                lw[p] = lw[p] == INFINITY ? 700.0 : -INFINITY; /* +Inf density: cap; NaN state: zero weight */
            if (lw[p] > mx)
                mx = lw[p];
        }
        double s1 = 0, s2 = 0, *W = f->W + start;
        if (mx > -INFINITY)
            for (size_t p = 0; p < n; p++) {
                double w = exp(lw[p] - mx);
                W[p] = w;
                s1 += w;
                s2 += w * w;
            }
        else
            for (size_t p = 0; p < n; p++)
                W[p] = 0;
        bmax[b] = mx;
        bsum[b] = s1;
        bsum2[b] = s2;
    }
    if (f->err_block >= 0) {
        *e = f->err;
        return e->code;
    }
    double mx = -INFINITY;
    for (size_t b = 0; b < f->nblocks; b++)
        if (bmax[b] > mx)
            mx = bmax[b];
    if (!(mx > -INFINITY))
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                          "the filter collapsed at time step %zu (t = %g): every particle has zero weight; "
                          "check the observation model or use more particles",
                          t + 1, s.t);
    double sum = 0, sum2 = 0;
    for (size_t b = 0; b < f->nblocks; b++) {
        if (!(bmax[b] > -INFINITY))
            continue;
        double c = exp(bmax[b] - mx);
        sum += bsum[b] * c;
        sum2 += bsum2[b] * c * c;
    }
    double lse = mx + log(sum);
    f->llinc = lse;
    f->loglik += lse;
    f->ess = sum * sum / sum2;
    /* normalise: W_p *= exp(m_b - lse), lw_p -= lse */
#pragma omp parallel for schedule(static) if (f->nblocks >= PF_PAR_BLOCKS)
    for (long b = 0; b < (long)f->nblocks; b++) {
        size_t start = (size_t)b * ST_PF_BLOCK, n = N - start < ST_PF_BLOCK ? N - start : ST_PF_BLOCK;
        double c = bmax[b] > -INFINITY ? exp(bmax[b] - lse) : 0;
        double *W = f->W + start, *lw = f->lw + start, tot = 0;
        for (size_t p = 0; p < n; p++) {
            W[p] *= c;
            tot += W[p];
            lw[p] -= lse;
        }
        f->part[3 * f->nblocks + (size_t)b] = tot; /* block weight, for resampling */
    }
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

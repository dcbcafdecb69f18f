/* Smoothers over a stored or online particle history, and st_pf_run, which
 * drives the filter and the chosen smoother.
 *
 * References: Douc, Garivier, Moulines & Olsson (2011) for FFBSi with
 * rejection sampling; Dau & Chopin (2023) for the hybrid rejection sampler;
 * Olsson & Westerborn (2017) for PaRIS; Lindsten, Jordan & Schon (2014)
 * for particle Gibbs with ancestor sampling; Cardoso, Janati El Idrissi,
 * Le Corff & Moulines (2023) for Parisian particle Gibbs. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "smc/pf_internal.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* ------------------------------------------------------------ backward sampler */

int pf_backward_init(pf_backward *b, const st_pf_model *m, const st_pf_step *s, const double *Xprev,
                     const double *lwprev, const double *Wprev, size_t N, size_t dx,
                     size_t max_tries, int use_rejection, st_err *e)
{
    memset(b, 0, sizeof *b);
    b->m = m;
    b->s = s;
    b->Xprev = Xprev;
    b->lwprev = lwprev;
    b->Wprev = Wprev;
    b->N = N;
    b->dx = dx;
    b->max_tries = max_tries;
    if (use_rejection == 0)
        return 0;
    /* proposals from W_prev for rejection and for the MH moves */
    int rc = st_alias_new(&b->alias, Wprev, N, e);
    if (rc < 0)
        return rc;
    if (use_rejection < 0) { /* MCMC kernel for every draw: no bound needed */
        b->mcmc = (size_t)(-use_rejection);
        b->mh_only = 1;
        return 0;
    }
    b->mcmc = PF_FALLBACK_MOVES;
    b->bounded = max_tries > 0 && st_pf_model_trans_bound(m, s, &b->logbound);
    return 0;
}

void pf_backward_free(pf_backward *b)
{
    st_alias_free(b->alias);
    b->alias = NULL;
}

/* Exact draws for target column c of Xnext: K draws into out. lwbuf has N. */
static int exact_draw(pf_backward *b, const double *Xnext, size_t nstride, size_t c, size_t K,
                      uint32_t *out, st_rng *r, pf_thread *th, double *lwbuf, st_err *e)
{
    size_t N = b->N, dx = b->dx;
    double mx = -INFINITY;
    for (size_t start = 0; start < N; start += ST_PF_BLOCK) {
        size_t n = MIN(N - start, (size_t)ST_PF_BLOCK);
        for (size_t i = 0; i < dx; i++) {
            double v = Xnext[i * nstride + c];
            double *g = th->gb + i * ST_PF_BLOCK;
            for (size_t p = 0; p < n; p++)
                g[p] = v;
        }
        int rc = st_pf_model_logtrans(b->m, b->s, b->Xprev + start, N, th->gb, ST_PF_BLOCK, n, th->lf,
                                      &th->w, e);
        if (rc < 0)
            return rc;
        for (size_t p = 0; p < n; p++) {
            double v = b->lwprev[start + p] + th->lf[p];
            if (isnan(v))
                v = -INFINITY;
            lwbuf[start + p] = v;
            if (v > mx)
                mx = v;
        }
    }
    if (!(mx > -INFINITY)) {
        /* no ancestor can reach this state: fall back to the filter weights */
        for (size_t p = 0; p < N; p++)
            lwbuf[p] = b->Wprev[p];
    } else {
        for (size_t p = 0; p < N; p++)
            lwbuf[p] = exp(lwbuf[p] - mx);
    }
    /* cumulative sums, then K inversions by binary search */
    for (size_t p = 1; p < N; p++)
        lwbuf[p] += lwbuf[p - 1];
    double tot = lwbuf[N - 1];
    for (size_t k = 0; k < K; k++) {
        double u = st_rng_uniform(r) * tot;
        size_t lo = 0, hi = N - 1;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (lwbuf[mid] > u)
                hi = mid;
            else
                lo = mid + 1;
        }
        out[k] = (uint32_t)lo;
    }
    return 0;
}

int pf_backward_draw(pf_backward *b, const double *Xnext, size_t nstride, const uint32_t *tgt,
                     size_t ntarget, size_t K, uint32_t *out, st_rng *rs, pf_thread **th, st_err *e)
{
    size_t nblk = (ntarget + ST_PF_BLOCK - 1) / ST_PF_BLOCK, dx = b->dx;
    int err_blk = -1;
    uint64_t prop = 0, acc = 0, fb = 0, ex = 0;
#pragma omp parallel for schedule(dynamic) reduction(+ : prop, acc, fb, ex) if (nblk >= PF_PAR_BLOCKS)
    for (long blk = 0; blk < (long)nblk; blk++) {
        pf_thread *t = th[st_thread_id()];
        st_rng *r = &rs[blk];
        size_t k0 = (size_t)blk * ST_PF_BLOCK, k1 = MIN(ntarget, k0 + ST_PF_BLOCK);
        size_t npend = (k1 - k0) * K;
        uint32_t *pend = malloc(npend * sizeof *pend); /* item = (k - k0) * K + slot */
        double *lwbuf = NULL;
        st_err be;
        int rc = 0;
        if (!pend) {
            rc = st_err_nomem(&be, "backward sampler");
            goto done;
        }
        for (size_t i = 0; i < npend; i++)
            pend[i] = (uint32_t)i;
        if (b->bounded && !b->mh_only) {
            for (size_t round = 0; round < b->max_tries && npend > 0; round++) {
                size_t keep = 0;
                for (size_t c0 = 0; c0 < npend; c0 += ST_PF_BLOCK) {
                    size_t n = MIN(npend - c0, (size_t)ST_PF_BLOCK);
                    uint32_t prop_j[ST_PF_BLOCK];
                    for (size_t p = 0; p < n; p++) {
                        size_t item = pend[c0 + p], k = k0 + item / K;
                        size_t j = st_alias_draw(b->alias, r);
                        prop_j[p] = (uint32_t)j;
                        size_t col = tgt ? tgt[k] : k;
                        for (size_t i = 0; i < dx; i++) {
                            t->ga[i * ST_PF_BLOCK + p] = b->Xprev[i * b->N + j];
                            t->gb[i * ST_PF_BLOCK + p] = Xnext[i * nstride + col];
                        }
                    }
                    if ((rc = st_pf_model_logtrans(b->m, b->s, t->ga, ST_PF_BLOCK, t->gb, ST_PF_BLOCK, n,
                                                   t->lf, &t->w, &be)) < 0)
                        goto done;
                    prop += n;
                    for (size_t p = 0; p < n; p++) {
                        size_t item = pend[c0 + p];
                        double u = st_rng_uniform_pos(r);
                        if (log(u) < t->lf[p] - b->logbound) {
                            out[k0 * K + item] = prop_j[p];
                            acc++;
                        } else {
                            pend[keep++] = (uint32_t)item;
                        }
                    }
                }
                npend = keep;
            }
        }
        if (npend > 0 && b->mcmc && b->start) {
            if (!b->mh_only)
                fb += npend;
            for (size_t c0 = 0; c0 < npend; c0 += ST_PF_BLOCK) {
                size_t n = MIN(npend - c0, (size_t)ST_PF_BLOCK);
                uint32_t cur[ST_PF_BLOCK], prop_j[ST_PF_BLOCK];
                double lcur[ST_PF_BLOCK];
                for (size_t step = 0; step <= b->mcmc; step++) {
                    for (size_t p = 0; p < n; p++) {
                        size_t item = pend[c0 + p], k = k0 + item / K, col = tgt ? tgt[k] : k;
                        size_t j = step == 0 ? b->start[col] : st_alias_draw(b->alias, r);
                        prop_j[p] = (uint32_t)j;
                        for (size_t i = 0; i < dx; i++) {
                            t->ga[i * ST_PF_BLOCK + p] = b->Xprev[i * b->N + j];
                            t->gb[i * ST_PF_BLOCK + p] = Xnext[i * nstride + col];
                        }
                    }
                    if ((rc = st_pf_model_logtrans(b->m, b->s, t->ga, ST_PF_BLOCK, t->gb, ST_PF_BLOCK, n,
                                                   t->lf, &t->w, &be)) < 0)
                        goto done;
                    for (size_t p = 0; p < n; p++) {
                        double l = isnan(t->lf[p]) ? -INFINITY : t->lf[p];
                        if (step == 0) {
                            cur[p] = prop_j[p];
                            lcur[p] = l;
                        } else {
                            prop += (uint64_t)b->mh_only;
                            if (log(st_rng_uniform_pos(r)) < l - lcur[p] || !(lcur[p] > -INFINITY)) {
                                cur[p] = prop_j[p];
                                lcur[p] = l;
                                acc += (uint64_t)b->mh_only;
                            }
                        }
                    }
                }
                for (size_t p = 0; p < n; p++)
                    out[k0 * K + pend[c0 + p]] = cur[p];
            }
            npend = 0;
        }
        if (npend > 0) {
            ex += npend;
            lwbuf = malloc(b->N * sizeof *lwbuf);
            if (!lwbuf) {
                rc = st_err_nomem(&be, "backward sampler");
                goto done;
            }
            /* items are in increasing order: group those of one target */
            for (size_t i = 0; i < npend;) {
                size_t item = pend[i], kk = item / K, cnt = 1;
                while (i + cnt < npend && pend[i + cnt] / K == kk)
                    cnt++;
                uint32_t draws[64];
                size_t done_n = 0;
                while (done_n < cnt) {
                    size_t want = MIN(cnt - done_n, (size_t)64);
                    size_t k = k0 + kk;
                    if (done_n == 0) {
                        if ((rc = exact_draw(b, Xnext, nstride, tgt ? tgt[k] : k, want, draws, r, t, lwbuf,
                                             &be)) < 0)
                            goto done;
                    } else {
                        /* lwbuf already holds the cumulative weights */
                        double tot = lwbuf[b->N - 1];
                        for (size_t q = 0; q < want; q++) {
                            double u = st_rng_uniform(r) * tot;
                            size_t lo = 0, hi = b->N - 1;
                            while (lo < hi) {
                                size_t mid = lo + (hi - lo) / 2;
                                if (lwbuf[mid] > u)
                                    hi = mid;
                                else
                                    lo = mid + 1;
                            }
                            draws[q] = (uint32_t)lo;
                        }
                    }
                    for (size_t q = 0; q < want; q++)
                        out[k0 * K + pend[i + done_n + q]] = draws[q];
                    done_n += want;
                }
                i += cnt;
            }
        }
    done:
        if (rc < 0) {
#pragma omp critical(pf_backward_error)
            {
                if (err_blk < 0 || blk < err_blk) {
                    err_blk = (int)blk;
                    *e = be;
                }
            }
        }
        free(pend);
        free(lwbuf);
    }
    b->proposals += prop;
    b->accepted += acc;
    b->fallbacks += fb;
    b->exact += ex;
    b->draws += (uint64_t)ntarget * K;
    return err_blk >= 0 ? e->code : 0;
}

/* What the backward samplers did, for -v. */
typedef struct bw_stats {
    uint64_t prop, acc, draws, fb, ex;
} bw_stats;

static void stats_add(bw_stats *st, const pf_backward *b)
{
    st->prop += b->proposals;
    st->acc += b->accepted;
    st->draws += b->draws;
    st->fb += b->fallbacks;
    st->ex += b->exact;
}

static void stats_add_all(bw_stats *st, const bw_stats *o)
{
    st->prop += o->prop;
    st->acc += o->acc;
    st->draws += o->draws;
    st->fb += o->fb;
    st->ex += o->ex;
}

static void stats_put(st_pf_result *r, const bw_stats *st)
{
    r->accept_rate = st->prop ? (double)st->acc / (double)st->prop : NAN;
    r->fallback_rate = st->draws ? (double)st->fb / (double)st->draws : NAN;
    r->exact_rate = st->draws ? (double)st->ex / (double)st->draws : NAN;
}

/* ------------------------------------------------------------ results */

void st_pf_opts_init(st_pf_opts *o)
{
    memset(o, 0, sizeof *o);
    o->N = 1000;
    o->scheme = ST_RS_SYSTEMATIC;
    o->ess = 0.5;
    o->seed = 1;
    o->K = 2;
    o->burn = 10;
    o->iter = 50;
}

void st_pf_result_free(st_pf_result *r)
{
    if (!r)
        return;
    free(r->ess);
    free(r->llinc);
    free(r->resampled);
    free(r->fmean);
    free(r->fsd);
    free(r->fq);
    free(r->smean);
    free(r->ssd);
    free(r->sq);
    free(r->draws);
    free(r->func);
    free(r);
}

static int result_new(st_pf_result **out, size_t T, size_t dx, size_t nq, int smooth, size_t nfunc, st_err *e)
{
    st_pf_result *r = calloc(1, sizeof *r);
    if (!r)
        return st_err_nomem(e, "results");
    r->T = T;
    r->dx = dx;
    r->nq = nq;
    r->accept_rate = r->fallback_rate = r->exact_rate = NAN;
    size_t q = nq ? nq : 1;
    r->ess = calloc(T, sizeof *r->ess);
    r->llinc = calloc(T, sizeof *r->llinc);
    r->resampled = calloc(T, sizeof *r->resampled);
    r->fmean = calloc(T * dx, sizeof *r->fmean);
    r->fsd = calloc(T * dx, sizeof *r->fsd);
    r->fq = calloc(T * dx * q, sizeof *r->fq);
    r->nfunc = nfunc;
    r->func = calloc(nfunc ? nfunc : 1, sizeof *r->func);
    int bad = !r->ess || !r->llinc || !r->resampled || !r->fmean || !r->fsd || !r->fq || !r->func;
    if (smooth) {
        r->smean = calloc(T * dx, sizeof *r->smean);
        r->ssd = calloc(T * dx, sizeof *r->ssd);
        r->sq = calloc(T * dx * q, sizeof *r->sq);
        bad = bad || !r->smean || !r->ssd || !r->sq;
    }
    if (bad) {
        st_pf_result_free(r);
        return st_err_nomem(e, "results");
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------ functionals */

/* A set of additive functionals with per-thread scratch: the outputs of a
 * block (nf x ST_PF_BLOCK) and the gradient work space of a score. */
typedef struct fctx {
    const st_pf_funcs *fs;
    size_t nf;
    int nth;
    st_pf_gwork **gw;
    double **out;
} fctx;

static void fctx_free(fctx *c)
{
    for (int i = 0; c->out && i < c->nth; i++) {
        free(c->out[i]);
        if (c->gw)
            st_pf_gwork_free(c->gw[i]);
    }
    free(c->out);
    free(c->gw);
    memset(c, 0, sizeof *c);
}

static int fctx_new(fctx *c, const st_pf_funcs *fs, const st_pf_model *m, st_err *e)
{
    memset(c, 0, sizeof *c);
    c->fs = fs;
    c->nf = st_pf_funcs_count(fs);
    c->nth = st_max_threads();
    c->out = calloc((size_t)c->nth, sizeof *c->out);
    c->gw = st_pf_funcs_has_score(fs) ? calloc((size_t)c->nth, sizeof *c->gw) : NULL;
    if (!c->out || (st_pf_funcs_has_score(fs) && !c->gw)) {
        fctx_free(c);
        return st_err_nomem(e, "functionals");
    }
    for (int i = 0; i < c->nth; i++) {
        if (!(c->out[i] = malloc(c->nf * ST_PF_BLOCK * sizeof *c->out[i]))) {
            fctx_free(c);
            return st_err_nomem(e, "functionals");
        }
        int rc;
        if (c->gw && (rc = st_pf_gwork_new(&c->gw[i], m, e)) < 0) {
            fctx_free(c);
            return rc;
        }
    }
    return 0;
}

/* h at step s for n pairs on the calling thread: outputs in the returned
 * thread buffer (NULL on error). */
static const double *fctx_eval(const fctx *c, const st_pf_step *s, const double *Xp, size_t ps, const double *X,
                               size_t xs, size_t n, st_pf_work *w, st_err *e)
{
    int id = st_thread_id();
    double *out = c->out[id];
    if (st_pf_funcs_eval(c->fs, s, Xp, ps, X, xs, n, out, w, c->gw ? c->gw[id] : NULL, e) < 0)
        return NULL;
    return out;
}

/* Record the first error of a parallel region (lowest block wins). */
#define KEEP_ERROR(blk, be)                                  \
    do {                                                     \
        _Pragma("omp critical(pf_smooth_error)")             \
        {                                                    \
            if (err_blk < 0 || (long)(blk) < err_blk) {      \
                err_blk = (long)(blk);                       \
                *e = (be);                                   \
            }                                                \
        }                                                    \
    } while (0)

/* ------------------------------------------------------------ forward pass */

/* What a forward pass keeps. */
typedef struct fwd_opts {
    pf_hist *hist;          /* store X, lw (and A) when non-NULL */
    st_pf_result *res;      /* filtered summaries when non-NULL */
    const double *ref;      /* conditional SMC reference (T x dx) */
    int ancestor_sampling;
    /* PaRIS: K backward draws per particle at each step into J (T x N x K)
     * and the online additive functionals of fc into func */
    int paris;
    int online; /* J holds one step only */
    const fctx *fc;
    double *func; /* PaRIS: the additive functionals' estimate (fc->nf) when non-NULL */
    uint32_t *J;
    st_rng *brs;            /* backward streams, one per block of targets */
    bw_stats st;
} fwd_opts;

static int forward(const st_pf_model *m, const st_pf_data *d, const st_pf_opts *o, uint64_t seed,
                   fwd_opts *fo, st_err *e)
{
    pf_filter *f = NULL;
    st_pf_opts oo = *o;
    oo.seed = seed;
    size_t N = o->N, dx = st_pf_model_dx(m), T = d->T;
    double *scratch = NULL, *tau = NULL, *tau_prev = NULL;
    int rc = pf_filter_new(&f, m, d, &oo, e);
    if (rc < 0)
        return rc;
    f->ref = fo->ref;
    f->ancestor_sampling = fo->ancestor_sampling;
    if (fo->res && o->nq && !(scratch = malloc(2 * N * sizeof *scratch))) {
        rc = st_err_nomem(e, "quantiles");
        goto out;
    }
    size_t nf = fo->paris ? fo->fc->nf : 0;
    if (fo->paris) {
        if ((rc = pf_check_memory(2.0 * (double)N * (double)nf * 8.0, "the PaRIS statistics", e)) < 0)
            goto out;
        tau = malloc(N * nf * sizeof *tau);
        tau_prev = malloc(N * nf * sizeof *tau_prev);
        if (!tau || !tau_prev) {
            rc = st_err_nomem(e, "PaRIS statistics");
            goto out;
        }
    }
    for (size_t t = 0; t < T; t++) {
        if ((rc = pf_filter_step(f, t, e)) < 0)
            goto out;
        if (fo->res) {
            st_pf_result *r = fo->res;
            r->ess[t] = f->ess;
            r->llinc[t] = f->llinc;
            r->resampled[t] = f->resampled;
            if (!o->loglik_only)
                pf_summarise(f->X, N, f->W, N, dx, o->q, o->nq, r->fmean + t * dx, r->fsd + t * dx,
                             r->fq + t * dx * (o->nq ? o->nq : 1), scratch);
        }
        if (fo->hist)
            pf_hist_store(fo->hist, f, t);
        if (fo->paris) {
            size_t K = o->K, nblk = (N + ST_PF_BLOCK - 1) / ST_PF_BLOCK;
            const fctx *fc = fo->fc;
            long err_blk = -1;
            if (t == 0) {
                st_pf_step s;
                pf_step_ctx(f, t, &s);
#pragma omp parallel for schedule(static) if (nblk >= PF_PAR_BLOCKS)
                for (long b = 0; b < (long)nblk; b++) {
                    size_t start = (size_t)b * ST_PF_BLOCK, n = MIN(N - start, (size_t)ST_PF_BLOCK);
                    st_err be;
                    const double *h = fctx_eval(fc, &s, NULL, 0, f->X + start, N, n, &f->th[st_thread_id()]->w, &be);
                    if (!h) {
                        KEEP_ERROR(b, be);
                        continue;
                    }
                    for (size_t p = 0; p < n; p++)
                        for (size_t q = 0; q < nf; q++)
                            tau[(start + p) * nf + q] = h[q * ST_PF_BLOCK + p];
                }
                if (err_blk >= 0) {
                    rc = e->code;
                    goto out;
                }
            } else {
                st_pf_step s;
                pf_step_ctx(f, t, &s);
                /* the backward kernel weighs ancestors by W_{t-1} */
                double *Wp = malloc(N * sizeof *Wp);
                if (!Wp) {
                    rc = st_err_nomem(e, "PaRIS");
                    goto out;
                }
                for (size_t p = 0; p < N; p++)
                    Wp[p] = exp(f->lwprev[p]);
                pf_backward bw;
                if ((rc = pf_backward_init(&bw, m, &s, f->Xprev, f->lwprev, Wp, N, dx, o->max_tries,
                                           o->mcmc ? -(int)o->mcmc : !o->exact_backward, e)) < 0) {
                    free(Wp);
                    goto out;
                }
                uint32_t *J = fo->J + (fo->online ? 0 : t * N * K);
                bw.start = f->A; /* the ancestors of this step */
                rc = pf_backward_draw(&bw, f->X, N, NULL, N, K, J, fo->brs, f->th, e);
                stats_add(&fo->st, &bw);
                pf_backward_free(&bw);
                free(Wp);
                if (rc < 0)
                    goto out;
                double *tmp = tau_prev;
                tau_prev = tau;
                tau = tmp;
                double inv = 1.0 / (double)K;
                int prev = st_pf_funcs_uses_prev(fc->fs);
                /* tau_t(p) = mean over its K backward draws j of tau_{t-1}(j) +
                 * h_t(x_{t-1}^j, x_t^p) */
#pragma omp parallel for schedule(static) if (nblk >= PF_PAR_BLOCKS)
                for (long b = 0; b < (long)nblk; b++) {
                    pf_thread *th = f->th[st_thread_id()];
                    size_t start = (size_t)b * ST_PF_BLOCK, n = MIN(N - start, (size_t)ST_PF_BLOCK);
                    for (size_t p = start; p < start + n; p++)
                        for (size_t q = 0; q < nf; q++)
                            tau[p * nf + q] = 0;
                    const double *h = NULL;
                    st_err be;
                    for (size_t k = 0; k < K; k++) {
                        if (prev) {
                            for (size_t p = 0; p < n; p++) {
                                size_t j = J[(start + p) * K + k];
                                for (size_t i = 0; i < dx; i++)
                                    th->ga[i * ST_PF_BLOCK + p] = f->Xprev[i * N + j];
                            }
                            h = fctx_eval(fc, &s, th->ga, ST_PF_BLOCK, f->X + start, N, n, &th->w, &be);
                        } else if (k == 0) {
                            h = fctx_eval(fc, &s, NULL, 0, f->X + start, N, n, &th->w, &be);
                        }
                        if (!h) {
                            KEEP_ERROR(b, be);
                            break;
                        }
                        for (size_t p = 0; p < n; p++) {
                            double *tp = tau + (start + p) * nf;
                            const double *tj = tau_prev + (size_t)J[(start + p) * K + k] * nf;
                            for (size_t q = 0; q < nf; q++)
                                tp[q] += tj[q] + h[q * ST_PF_BLOCK + p];
                        }
                    }
                    for (size_t p = start; p < start + n; p++)
                        for (size_t q = 0; q < nf; q++)
                            tau[p * nf + q] *= inv;
                }
                if (err_blk >= 0) {
                    rc = e->code;
                    goto out;
                }
            }
        }
    }
    if (fo->res)
        fo->res->loglik = f->loglik;
    if (fo->paris && fo->func) {
        double *fn = fo->func;
        for (size_t q = 0; q < nf; q++)
            fn[q] = 0;
        for (size_t p = 0; p < N; p++)
            for (size_t q = 0; q < nf; q++)
                fn[q] += f->W[p] * tau[p * nf + q];
    }
    rc = 0;
out:
    free(scratch);
    free(tau);
    free(tau_prev);
    pf_filter_free(f);
    return rc;
}

/* ------------------------------------------------------------ helpers */

static double *col_scratch(size_t N)
{
    return malloc(2 * N * sizeof(double));
}

/* Summaries of history step t under weights w (N, normalised or NULL). */
static void summarise_hist(const pf_hist *h, size_t t, const double *w, const st_pf_opts *o,
                           st_pf_result *r, double *scratch)
{
    size_t dx = h->dx, q = o->nq ? o->nq : 1;
    pf_summarise(h->X + t * dx * h->N, h->N, w, h->N, dx, o->q, o->nq, r->smean + t * dx,
                 r->ssd + t * dx, r->sq + t * dx * q, scratch);
}

/* Trajectories (count x T indices into the history) to states. */
static int gather_paths(const pf_hist *h, const uint32_t *idx, size_t count, size_t keep,
                        st_pf_result *r, st_err *e)
{
    size_t T = h->T, dx = h->dx, N = h->N;
    if (keep > count)
        keep = count;
    r->draws = malloc(keep * T * dx * sizeof *r->draws + 1);
    if (!r->draws)
        return st_err_nomem(e, "trajectories");
    r->ndraws = keep;
    for (size_t k = 0; k < keep; k++)
        for (size_t t = 0; t < T; t++)
            for (size_t i = 0; i < dx; i++)
                r->draws[(k * T + t) * dx + i] = h->X[(t * dx + i) * N + idx[t * count + k]];
    return 0;
}

/* Indices of the final particles: `count` draws from W_{T-1}. */
static void draw_final(const pf_hist *h, size_t count, uint32_t *out, st_rng *r)
{
    size_t N = h->N, T = h->T;
    double *W = malloc(N * sizeof *W);
    if (!W) {
        for (size_t k = 0; k < count; k++)
            out[k] = (uint32_t)(k % N);
        return;
    }
    for (size_t p = 0; p < N; p++)
        W[p] = exp(h->lw[(T - 1) * N + p]);
    st_resample(ST_RS_MULTINOMIAL, W, N, count, out, r);
    /* shuffle so that the first trajectories are not the lowest indices */
    for (size_t k = count; k > 1; k--) {
        size_t j = st_rng_below(r, k);
        uint32_t tmp = out[k - 1];
        out[k - 1] = out[j];
        out[j] = tmp;
    }
    free(W);
}

/* FFBSi: backward trajectories idx (T x M). */
static int ffbsi_paths(const st_pf_model *m, const st_pf_data *d, const st_pf_opts *o, const pf_hist *h,
                       size_t M, uint32_t *idx, st_rng *brs, pf_thread **th, bw_stats *st,
                       st_rng *r, st_err *e)
{
    size_t T = h->T, N = h->N, dx = h->dx;
    draw_final(h, M, idx + (T - 1) * M, r);
    double *W = malloc(N * sizeof *W);
    if (!W)
        return st_err_nomem(e, "FFBSi");
    int rc = 0;
    for (size_t t = T - 1; t-- > 0;) {
        st_pf_step s;
        pf_step_ctx_data(d, st_pf_model_dy(m), st_pf_model_ncov(m), t + 1, &s);
        for (size_t p = 0; p < N; p++)
            W[p] = exp(h->lw[t * N + p]);
        pf_backward bw;
        if ((rc = pf_backward_init(&bw, m, &s, h->X + t * dx * N, h->lw + t * N, W, N, dx, o->max_tries,
                                   o->mcmc && h->A ? -(int)o->mcmc : !o->exact_backward, e)) < 0)
            break;
        bw.start = h->A ? h->A + (t + 1) * N : NULL;
        rc = pf_backward_draw(&bw, h->X + (t + 1) * dx * N, N, idx + (t + 1) * M, M, 1, idx + t * M,
                              brs, th, e);
        stats_add(st, &bw);
        pf_backward_free(&bw);
        if (rc < 0)
            break;
    }
    free(W);
    return rc;
}

/* E[sum_t h_t] over count equally weighted trajectories idx (T x count):
 * blocks of trajectories in parallel, summed in block order. */
static int paths_functionals(const st_pf_model *m, const st_pf_data *d, const pf_hist *h, const uint32_t *idx,
                             size_t count, pf_thread **th, const fctx *fc, st_pf_result *r, st_err *e)
{
    size_t T = h->T, N = h->N, dx = h->dx, nf = fc->nf, nblk = (count + ST_PF_BLOCK - 1) / ST_PF_BLOCK;
    double *part = calloc(nblk * nf, sizeof *part);
    if (!part)
        return st_err_nomem(e, "functionals");
    long err_blk = -1;
#pragma omp parallel for schedule(static) if (nblk >= 4)
    for (long b = 0; b < (long)nblk; b++) {
        pf_thread *tt = th[st_thread_id()];
        size_t k0 = (size_t)b * ST_PF_BLOCK, n = MIN(count - k0, (size_t)ST_PF_BLOCK);
        double *pb = part + (size_t)b * nf;
        for (size_t t = 0; t < T; t++) {
            st_pf_step s;
            pf_step_ctx_data(d, st_pf_model_dy(m), st_pf_model_ncov(m), t, &s);
            for (size_t p = 0; p < n; p++)
                for (size_t i = 0; i < dx; i++) {
                    tt->gb[i * ST_PF_BLOCK + p] = h->X[(t * dx + i) * N + idx[t * count + k0 + p]];
                    if (t > 0)
                        tt->ga[i * ST_PF_BLOCK + p] = h->X[((t - 1) * dx + i) * N + idx[(t - 1) * count + k0 + p]];
                }
            st_err be;
            const double *hv = fctx_eval(fc, &s, t ? tt->ga : NULL, ST_PF_BLOCK, tt->gb, ST_PF_BLOCK, n, &tt->w, &be);
            if (!hv) {
                KEEP_ERROR(b, be);
                break;
            }
            for (size_t q = 0; q < nf; q++)
                for (size_t p = 0; p < n; p++)
                    pb[q] += hv[q * ST_PF_BLOCK + p];
        }
    }
    if (err_blk >= 0) {
        free(part);
        return e->code;
    }
    for (size_t q = 0; q < nf; q++) {
        double sum = 0;
        for (size_t b = 0; b < nblk; b++)
            sum += part[b * nf + q];
        r->func[q] = sum / (double)count;
    }
    r->has_func = 1;
    free(part);
    return 0;
}

static int make_threads(pf_thread ***th, int *nth, st_err *e)
{
    *nth = st_max_threads();
    *th = calloc((size_t)*nth, sizeof **th);
    if (!*th)
        return st_err_nomem(e, "work space");
    for (int i = 0; i < *nth; i++)
        if (!((*th)[i] = calloc(1, sizeof *(*th)[i]))) /* no per-particle parameters */
            return st_err_nomem(e, "work space");
    return 0;
}

static void free_threads(pf_thread **th, int nth)
{
    if (!th)
        return;
    for (int i = 0; i < nth; i++)
        free(th[i]);
    free(th);
}

/* Backward masses of PaRIS: m_{t-1}[j] = sum_i m_t[i] #{k: J_t[i,k] = j} / K. */
static void paris_masses(const pf_hist *h, const uint32_t *J, size_t K, double *mass /* T x N */)
{
    size_t T = h->T, N = h->N;
    for (size_t p = 0; p < N; p++)
        mass[(T - 1) * N + p] = exp(h->lw[(T - 1) * N + p]);
    for (size_t t = T - 1; t > 0; t--) {
        double *mp = mass + (t - 1) * N;
        const double *mc = mass + t * N;
        const uint32_t *Jt = J + t * N * K;
        for (size_t p = 0; p < N; p++)
            mp[p] = 0;
        for (size_t p = 0; p < N; p++) {
            double share = mc[p] / (double)K;
            if (share == 0)
                continue;
            for (size_t k = 0; k < K; k++)
                mp[Jt[p * K + k]] += share;
        }
    }
}

/* One path through the PaRIS indices: final ~ W_{T-1}, then a uniform pick
 * among the K backward indices. */
static void paris_path(const pf_hist *h, const uint32_t *J, size_t K, uint32_t *path, st_rng *r)
{
    size_t T = h->T;
    draw_final(h, 1, path + T - 1, r);
    for (size_t t = T - 1; t > 0; t--)
        path[t - 1] = J[(t * h->N + path[t]) * K + st_rng_below(r, K)];
}

/* ------------------------------------------------------------ smoothers */

/* FFBSm.  With functionals fc, also E[sum_t h_t] from the pairwise
 * smoothing weights of (x_t^i, x_{t+1}^j),
 *     wn_{t+1}(j) W_t(i) f(x_{t+1}^j | x_t^i) / sum_l W_t(l) f(x_{t+1}^j | x_t^l),
 * and the marginal weights of step 1 for h_1: O(N^2) evaluations of h. */
static int smooth_ffbsm(const st_pf_model *m, const st_pf_data *d, const st_pf_opts *o, const pf_hist *h,
                        pf_thread **th, const fctx *fc, st_pf_result *r, st_err *e)
{
    size_t T = h->T, N = h->N, dx = h->dx, nf = fc ? fc->nf : 0;
    double *ws = malloc(N * sizeof *ws), *wn = malloc(N * sizeof *wn), *lden = malloc(N * sizeof *lden);
    double *scratch = col_scratch(N);
    double *acc_h = nf ? malloc(N * nf * sizeof *acc_h) : NULL; /* per ancestor i */
    int rc = 0, err_blk = -1;
    if (!ws || !wn || !lden || !scratch || (nf && !acc_h)) {
        rc = st_err_nomem(e, "FFBSm");
        goto out;
    }
    for (size_t q = 0; q < nf; q++)
        r->func[q] = 0;
    for (size_t p = 0; p < N; p++)
        wn[p] = exp(h->lw[(T - 1) * N + p]);
    summarise_hist(h, T - 1, wn, o, r, scratch);
    size_t nblk = (N + ST_PF_BLOCK - 1) / ST_PF_BLOCK;
    for (size_t t = T - 1; t-- > 0;) {
        st_pf_step s;
        pf_step_ctx_data(d, st_pf_model_dy(m), st_pf_model_ncov(m), t + 1, &s);
        const double *Xt = h->X + t * dx * N, *Xn = h->X + (t + 1) * dx * N, *lwt = h->lw + t * N;
        /* pass 1: lden[j] = log sum_i W_t^i f(x_{t+1}^j | x_t^i) */
#pragma omp parallel for schedule(dynamic, 16) if (N >= 2048)
        for (long j = 0; j < (long)N; j++) {
            if (wn[j] == 0 || err_blk >= 0) {
                lden[j] = 0;
                continue;
            }
            pf_thread *tt = th[st_thread_id()];
            double mx = -INFINITY, acc = 0;
            st_err be;
            for (size_t start = 0; start < N; start += ST_PF_BLOCK) {
                size_t n = MIN(N - start, (size_t)ST_PF_BLOCK);
                for (size_t i = 0; i < dx; i++)
                    for (size_t p = 0; p < n; p++)
                        tt->gb[i * ST_PF_BLOCK + p] = Xn[i * N + (size_t)j];
                if (st_pf_model_logtrans(m, &s, Xt + start, N, tt->gb, ST_PF_BLOCK, n, tt->lf, &tt->w, &be) < 0) {
#pragma omp critical(pf_ffbsm_err)
                    if (err_blk < 0) {
                        err_blk = (int)j;
                        *e = be;
                    }
                    break;
                }
                for (size_t p = 0; p < n; p++) {
                    double v = lwt[start + p] + tt->lf[p];
                    if (!(v > -INFINITY))
                        continue;
                    if (v > mx) {
                        acc = acc * exp(mx - v) + 1;
                        mx = v;
                    } else {
                        acc += exp(v - mx);
                    }
                }
            }
            lden[j] = mx + log(acc);
        }
        if (err_blk >= 0) {
            rc = e->code;
            goto out;
        }
        /* pass 2: ws[i] = sum_j wn[j] W_t^i f(x_{t+1}^j | x_t^i) / den[j] */
#pragma omp parallel for schedule(static) if (N >= 2048)
        for (long b = 0; b < (long)nblk; b++) {
            pf_thread *tt = th[st_thread_id()];
            size_t i0 = (size_t)b * ST_PF_BLOCK, ni = MIN(N - i0, (size_t)ST_PF_BLOCK);
            for (size_t ii = 0; ii < ni; ii++) {
                size_t i = i0 + ii;
                double acc = 0, *ah = nf ? acc_h + i * nf : NULL;
                for (size_t q = 0; q < nf; q++)
                    ah[q] = 0;
                if (lwt[i] > -INFINITY) {
                    for (size_t start = 0; start < N; start += ST_PF_BLOCK) {
                        size_t n = MIN(N - start, (size_t)ST_PF_BLOCK);
                        for (size_t c = 0; c < dx; c++)
                            for (size_t p = 0; p < n; p++)
                                tt->ga[c * ST_PF_BLOCK + p] = Xt[c * N + i];
                        st_err be;
                        st_pf_model_logtrans(m, &s, tt->ga, ST_PF_BLOCK, Xn + start, N, n, tt->lf, &tt->w, &be);
                        const double *hv = NULL;
                        if (nf && !(hv = fctx_eval(fc, &s, tt->ga, ST_PF_BLOCK, Xn + start, N, n, &tt->w, &be))) {
#pragma omp critical(pf_ffbsm_err)
                            if (err_blk < 0) {
                                err_blk = (int)i;
                                *e = be;
                            }
                            break;
                        }
                        for (size_t p = 0; p < n; p++)
                            if (wn[start + p] > 0) {
                                double wij = wn[start + p] * exp(lwt[i] + tt->lf[p] - lden[start + p]);
                                acc += wij;
                                for (size_t q = 0; q < nf; q++)
                                    if (wij > 0)
                                        ah[q] += wij * hv[q * ST_PF_BLOCK + p];
                            }
                    }
                }
                ws[i] = acc;
            }
        }
        if (err_blk >= 0) {
            rc = e->code;
            goto out;
        }
        double tot = 0;
        for (size_t p = 0; p < N; p++)
            tot += ws[p];
        for (size_t p = 0; p < N; p++)
            wn[p] = ws[p] / tot;
        /* the pairwise weights sum to tot (1 up to rounding), normalised
         * as wn is */
        for (size_t i = 0; i < N && nf; i++)
            for (size_t q = 0; q < nf; q++)
                r->func[q] += acc_h[i * nf + q] / tot;
        summarise_hist(h, t, wn, o, r, scratch);
    }
    if (nf) {
        /* h_1 under the smoothing weights of step 1 */
        st_pf_step s;
        pf_step_ctx_data(d, st_pf_model_dy(m), st_pf_model_ncov(m), 0, &s);
        for (size_t start = 0; start < N; start += ST_PF_BLOCK) {
            size_t n = MIN(N - start, (size_t)ST_PF_BLOCK);
            const double *hv = fctx_eval(fc, &s, NULL, 0, h->X + start, N, n, &th[st_thread_id()]->w, e);
            if (!hv) {
                rc = e->code;
                goto out;
            }
            for (size_t p = 0; p < n; p++)
                for (size_t q = 0; q < nf; q++)
                    if (wn[start + p] > 0)
                        r->func[q] += wn[start + p] * hv[q * ST_PF_BLOCK + p];
        }
        r->has_func = 1;
    }
out:
    free(ws);
    free(wn);
    free(lden);
    free(scratch);
    free(acc_h);
    return rc;
}

static int smooth_fixed_lag(const st_pf_opts *o, const pf_hist *h, st_pf_result *r, st_err *e)
{
    size_t T = h->T, N = h->N, dx = h->dx, L = o->lag;
    uint32_t *idx = malloc(N * sizeof *idx);
    double *Xg = malloc(dx * N * sizeof *Xg), *W = malloc(N * sizeof *W), *scratch = col_scratch(N);
    int rc = 0;
    if (!idx || !Xg || !W || !scratch) {
        rc = st_err_nomem(e, "fixed-lag smoother");
        goto out;
    }
    for (size_t t = 0; t < T; t++) {
        size_t s = MIN(t + L, T - 1);
        for (size_t p = 0; p < N; p++) {
            idx[p] = (uint32_t)p;
            W[p] = exp(h->lw[s * N + p]);
        }
        for (size_t u = s; u > t; u--)
            for (size_t p = 0; p < N; p++)
                idx[p] = h->A[u * N + idx[p]];
        for (size_t i = 0; i < dx; i++)
            for (size_t p = 0; p < N; p++)
                Xg[i * N + p] = h->X[(t * dx + i) * N + idx[p]];
        size_t q = o->nq ? o->nq : 1;
        pf_summarise(Xg, N, W, N, dx, o->q, o->nq, r->smean + t * dx, r->ssd + t * dx, r->sq + t * dx * q,
                     scratch);
    }
out:
    free(idx);
    free(Xg);
    free(W);
    free(scratch);
    return rc;
}

/* Summaries from count equally weighted paths idx (T x count). */
static int summarise_paths(const pf_hist *h, const uint32_t *idx, size_t count, const st_pf_opts *o,
                           st_pf_result *r, st_err *e)
{
    size_t T = h->T, N = h->N, dx = h->dx;
    double *Xg = malloc(dx * count * sizeof *Xg), *scratch = col_scratch(count);
    if (!Xg || !scratch) {
        free(Xg);
        free(scratch);
        return st_err_nomem(e, "summaries");
    }
    size_t q = o->nq ? o->nq : 1;
    for (size_t t = 0; t < T; t++) {
        for (size_t i = 0; i < dx; i++)
            for (size_t k = 0; k < count; k++)
                Xg[i * count + k] = h->X[(t * dx + i) * N + idx[t * count + k]];
        pf_summarise(Xg, count, NULL, count, dx, o->q, o->nq, r->smean + t * dx, r->ssd + t * dx,
                     r->sq + t * dx * q, scratch);
    }
    free(Xg);
    free(scratch);
    return 0;
}

/* Particle Gibbs and Parisian particle Gibbs. */
static int smooth_gibbs(const st_pf_model *m, const st_pf_data *d, const st_pf_opts *o, pf_hist *h,
                        uint32_t *J, st_rng *brs, pf_thread **th, const fctx *fc, st_pf_result *r, st_err *e)
{
    size_t T = h->T, N = h->N, dx = h->dx, K = o->K;
    int ppg = o->smoother == ST_SM_PPG;
    /* with a reference path given, the first pass was already conditional
     * and counts as an iteration */
    size_t cond0 = o->ref_in != NULL;
    size_t total = o->burn + o->iter - (ppg ? cond0 : 0);
    uint32_t *path = malloc(T * sizeof *path);
    double *ref = malloc(T * dx * sizeof *ref);
    double *W = malloc(N * sizeof *W);
    double *mass = ppg ? malloc(T * N * sizeof *mass) : NULL;
    double *keep = NULL; /* post burn-in reference paths (PG) */
    double *s1 = calloc(T * dx, sizeof *s1), *s2 = calloc(T * dx, sizeof *s2);
    double *sqsum = calloc(T * dx * (o->nq ? o->nq : 1), sizeof *sqsum);
    double *scratch = col_scratch(N);
    /* PPG: the functionals of this iteration's conditional PaRIS pass and
     * their sum over the iterations after burn-in */
    size_t nf = ppg ? fc->nf : 0;
    double *fit = ppg ? malloc((nf ? nf : 1) * sizeof *fit) : NULL, *fsum = ppg ? calloc(nf ? nf : 1, sizeof *fsum) : NULL;
    size_t kept = 0;
    st_rng g;
    int rc = 0;
    st_rng_seed(&g, pf_seed(o->seed, RS_GIBBS));
    if (!path || !ref || !W || (ppg && (!mass || !fit || !fsum)) || !s1 || !s2 || !sqsum || !scratch) {
        rc = st_err_nomem(e, "particle Gibbs");
        goto out;
    }
    if (!ppg || o->draws) {
        if ((rc = pf_check_memory((double)o->iter * T * dx * 8.0, "keeping the Gibbs trajectories", e)) < 0)
            goto out;
        if (!(keep = malloc(o->iter * T * dx * sizeof *keep + 1))) {
            rc = st_err_nomem(e, "particle Gibbs");
            goto out;
        }
    }
    bw_stats st = {0, 0, 0, 0, 0};
    for (size_t it = 0; it <= total; it++) {
        /* history h holds the (conditional) run of this iteration; the
         * first one (it == 0) was the unconditional filter. */
        if (it > 0) {
            fwd_opts fo = {.hist = h, .ref = ref, .ancestor_sampling = o->ancestor && !ppg,
                           .paris = ppg, .fc = fc, .func = fit, .J = J, .brs = brs};
            if ((rc = forward(m, d, o, pf_seed(o->seed, 1000 + (int)it), &fo, e)) < 0)
                goto out;
            stats_add_all(&st, &fo.st);
        }
        if (ppg && it + cond0 > o->burn) {
            /* the conditional PaRIS estimate of this iteration */
            const double *fcur = it == 0 ? r->func : fit; /* the first pass wrote the result's */
            for (size_t q = 0; q < nf; q++)
                fsum[q] += fcur[q];
            paris_masses(h, J, K, mass);
            size_t q = o->nq ? o->nq : 1;
            for (size_t t = 0; t < T; t++) {
                double mean[ST_PF_MAXDIM], sd[ST_PF_MAXDIM], qq[ST_PF_MAXDIM * 16];
                pf_summarise(h->X + t * dx * N, N, mass + t * N, N, dx, o->q, o->nq, mean, sd, qq, scratch);
                for (size_t i = 0; i < dx; i++) {
                    s1[t * dx + i] += mean[i];
                    s2[t * dx + i] += sd[i] * sd[i] + mean[i] * mean[i];
                    for (size_t k = 0; k < o->nq; k++)
                        sqsum[(t * dx + i) * q + k] += qq[i * o->nq + k];
                }
            }
        }
        if (it == total && ppg) {
            if (o->ref_out) { /* the chain's next reference, for the caller's next run */
                paris_path(h, J, K, path, &g);
                for (size_t t = 0; t < T; t++)
                    for (size_t i = 0; i < dx; i++)
                        o->ref_out[t * dx + i] = h->X[(t * dx + i) * N + path[t]];
            }
            break;
        }
        /* the next reference path */
        if (ppg) {
            paris_path(h, J, K, path, &g);
        } else if (o->ancestor) {
            draw_final(h, 1, path + T - 1, &g);
            for (size_t t = T - 1; t > 0; t--)
                path[t - 1] = h->A[t * N + path[t]];
        } else {
            if ((rc = ffbsi_paths(m, d, o, h, 1, path, brs, th, &st, &g, e)) < 0)
                goto out;
        }
        for (size_t t = 0; t < T; t++)
            for (size_t i = 0; i < dx; i++)
                ref[t * dx + i] = h->X[(t * dx + i) * N + path[t]];
        if (!ppg && it >= o->burn && kept < o->iter) {
            memcpy(keep + kept * T * dx, ref, T * dx * sizeof *ref);
            kept++;
        }
        if (ppg && o->draws && it + cond0 > o->burn && kept < o->iter) {
            memcpy(keep + kept * T * dx, ref, T * dx * sizeof *ref);
            kept++;
        }
    }
    stats_put(r, &st);
    if (!ppg && o->ref_out)
        memcpy(o->ref_out, ref, T * dx * sizeof *ref);
    size_t q = o->nq ? o->nq : 1;
    if (ppg) {
        double n = (double)o->iter;
        /* the roll-out average of the conditional PaRIS functionals (not the
         * unconditional first pass, which st_pf_run computed) */
        for (size_t f = 0; f < nf; f++)
            r->func[f] = fsum[f] / n;
        r->has_func = 1;
        for (size_t t = 0; t < T * dx; t++) {
            r->smean[t] = s1[t] / n;
            double v = s2[t] / n - r->smean[t] * r->smean[t];
            r->ssd[t] = sqrt(v > 0 ? v : 0);
            for (size_t k = 0; k < o->nq; k++)
                r->sq[t * q + k] = sqsum[t * q + k] / n;
        }
    } else {
        /* summaries over the kept paths, equally weighted */
        double *col = malloc(kept * sizeof *col), *sc = col_scratch(kept);
        if (!col || !sc) {
            free(col);
            free(sc);
            rc = st_err_nomem(e, "particle Gibbs");
            goto out;
        }
        for (size_t t = 0; t < T; t++)
            for (size_t i = 0; i < dx; i++) {
                for (size_t k = 0; k < kept; k++)
                    col[k] = keep[(k * T + t) * dx + i];
                double mean, sd, qq[64];
                pf_summarise(col, kept, NULL, kept, 1, o->q, MIN(o->nq, (size_t)64), &mean, &sd, qq, sc);
                r->smean[t * dx + i] = mean;
                r->ssd[t * dx + i] = sd;
                for (size_t k = 0; k < MIN(o->nq, (size_t)64); k++)
                    r->sq[(t * dx + i) * q + k] = qq[k];
            }
        free(col);
        free(sc);
    }
    if (o->draws && kept) {
        size_t nd = MIN(o->draws, kept);
        r->draws = malloc(nd * T * dx * sizeof *r->draws);
        if (!r->draws) {
            rc = st_err_nomem(e, "trajectories");
            goto out;
        }
        /* the last nd kept paths */
        memcpy(r->draws, keep + (kept - nd) * T * dx, nd * T * dx * sizeof *r->draws);
        r->ndraws = nd;
    }
out:
    free(path);
    free(ref);
    free(W);
    free(mass);
    free(fit);
    free(fsum);
    free(keep);
    free(s1);
    free(s2);
    free(sqsum);
    free(scratch);
    return rc;
}

/* ------------------------------------------------------------ driver */

int st_pf_run(const st_pf_model *m, const st_pf_data *d, const st_pf_opts *o, st_pf_result **res,
              st_err *e)
{
    *res = NULL;
    size_t T = d->T, N = o->N, dx = st_pf_model_dx(m);
    st_pf_opts oo = *o;
    if (N < 2)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "need at least 2 particles, not %zu", N);
    if (T == 0)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "no time steps in the data");
    if (!(o->ess >= 0 && o->ess <= 1))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the ESS threshold must be in [0, 1]");
    for (size_t k = 0; k < o->nq; k++)
        if (o->nq > 16 || !(o->q[k] > 0 && o->q[k] < 1) || (k > 0 && !(o->q[k] > o->q[k - 1])))
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "quantile levels must be increasing, in (0, 1), at most 16");
    if ((o->smoother == ST_SM_PARIS || o->smoother == ST_SM_PPG) && o->K < 2)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "PaRIS needs K >= 2 backward draws, not %zu", o->K);
    if ((o->smoother == ST_SM_PG || o->smoother == ST_SM_PPG) && o->iter < 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "particle Gibbs needs at least 1 iteration");
    if (o->smoother == ST_SM_FFBSM) {
        /* two passes over the N^2 pairs of particles per step, some 10-20 ns
         * a pair: the default refuses runs of more than about a minute */
        double pairs = (double)N * (double)N * (double)T;
        if (o->ffbsm_max && N > o->ffbsm_max)
            return st_err_set(e, ST_ENOMEM, NULL, 0, 0,
                              "FFBSm costs O(N^2) per step and is refused above %zu particles (asked for %zu): "
                              "use --smoother ffbsi or paris, which are O(N)",
                              o->ffbsm_max, N);
        if (!o->ffbsm_max && pairs > PF_FFBSM_MAX_PAIRS)
            return st_err_set(e, ST_ENOMEM, NULL, 0, 0,
                              "FFBSm costs O(N^2) per step: %zu particles over %zu steps are %.2g pairs, above "
                              "the %.0e (about a minute) it runs by default; use --smoother ffbsi or paris, which "
                              "are O(N), or --ffbsm-max N to allow it",
                              N, T, pairs, PF_FFBSM_MAX_PAIRS);
    }
    if (!oo.max_tries)
        oo.max_tries = PF_DEFAULT_TRIES; /* a constant: the fallback is O(1) too */
    o = &oo;
    int online = o->online && o->smoother == ST_SM_PARIS;
    if (online && o->draws)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "online PaRIS keeps no history to draw trajectories from");
    int smooth = o->smoother != ST_SM_NONE && !online;
    int paris = o->smoother == ST_SM_PARIS || o->smoother == ST_SM_PPG;
    st_pf_result *r = NULL;
    pf_hist *h = NULL;
    uint32_t *J = NULL, *idx = NULL;
    st_rng *brs = NULL;
    pf_thread **th = NULL;
    int nth = 0;
    /* the functionals: the caller's, or PaRIS's and PPG's built-in sums */
    st_pf_funcs *dflt = NULL;
    const st_pf_funcs *fs = o->funcs;
    fctx fc;
    memset(&fc, 0, sizeof fc);
    int rc;
    if (!fs && paris) {
        if ((rc = st_pf_funcs_new(&dflt, m, e)) < 0 || (rc = st_pf_funcs_add_builtin(dflt, "sum_x", e)) < 0 ||
            (rc = st_pf_funcs_add_builtin(dflt, "sum_x2", e)) < 0 ||
            (rc = st_pf_funcs_add_builtin(dflt, "sum_xx1", e)) < 0) {
            st_pf_funcs_free(dflt);
            return rc;
        }
        fs = dflt;
    }
    int want_func = fs && (paris || o->smoother == ST_SM_FFBSI || o->smoother == ST_SM_FFBSM);
    if (want_func && (rc = fctx_new(&fc, fs, m, e)) < 0) {
        st_pf_funcs_free(dflt);
        return rc;
    }
    if ((rc = result_new(&r, T, dx, o->nq, smooth, want_func ? fc.nf : 0, e)) < 0) {
        fctx_free(&fc);
        st_pf_funcs_free(dflt);
        return rc;
    }
    int need_A = o->smoother == ST_SM_FIXEDLAG || (o->smoother == ST_SM_PG && o->ancestor) ||
                 (o->smoother == ST_SM_NONE && o->draws) ||
                 ((o->mcmc || !o->exact_backward) &&
                  (o->smoother == ST_SM_FFBSI || o->smoother == ST_SM_FFBSM || o->smoother == ST_SM_PG));
    int need_hist = smooth || o->draws;
    /* (online PaRIS: smooth is 0, so no history) */
    if (need_hist && (rc = pf_hist_new(&h, T, N, dx, need_A, e)) < 0)
        goto out;
    size_t M = o->M ? o->M : N;
    size_t nstreams = ((paris ? N : o->smoother == ST_SM_FFBSI ? M : MIN(N, o->draws > 0 ? o->draws : 1)) +
                       ST_PF_BLOCK - 1) / ST_PF_BLOCK + 1;
    if (paris) {
        size_t steps = online ? 1 : T;
        if ((rc = pf_check_memory((double)steps * N * o->K * 4.0, "storing the PaRIS backward indices", e)) < 0)
            goto out;
        if (!(J = malloc(steps * N * o->K * sizeof *J))) {
            rc = st_err_nomem(e, "PaRIS backward indices");
            goto out;
        }
    }
    if (!(brs = malloc(nstreams * sizeof *brs))) {
        rc = st_err_nomem(e, "random streams");
        goto out;
    }
    pf_streams(brs, nstreams, o->seed, RS_BACKWARD);
    if ((rc = make_threads(&th, &nth, e)) < 0)
        goto out;
    int gibbs = o->smoother == ST_SM_PG || o->smoother == ST_SM_PPG;
    fwd_opts fo = {.hist = h, .res = r, .paris = paris, .online = online, .fc = &fc, .func = paris ? r->func : NULL,
                   .J = J, .brs = brs, .ref = gibbs ? o->ref_in : NULL,
                   .ancestor_sampling = gibbs && o->ref_in && o->ancestor && o->smoother == ST_SM_PG};
    if ((rc = forward(m, d, o, o->seed, &fo, e)) < 0)
        goto out;
    r->has_func = o->smoother == ST_SM_PARIS;
    st_rng g;
    st_rng_seed(&g, pf_seed(o->seed, RS_GIBBS + 7));
    bw_stats st = fo.st;
    switch (o->smoother) {
    case ST_SM_NONE:
        if (o->draws) {
            size_t nd = o->draws;
            if (!(idx = malloc(T * nd * sizeof *idx))) {
                rc = st_err_nomem(e, "trajectories");
                goto out;
            }
            draw_final(h, nd, idx + (T - 1) * nd, &g);
            for (size_t t = T - 1; t > 0; t--)
                for (size_t k = 0; k < nd; k++)
                    idx[(t - 1) * nd + k] = h->A[t * N + idx[t * nd + k]];
            rc = gather_paths(h, idx, nd, nd, r, e);
        }
        break;
    case ST_SM_FFBSM:
        if ((rc = smooth_ffbsm(m, d, o, h, th, want_func ? &fc : NULL, r, e)) < 0)
            goto out;
        break;
    case ST_SM_FIXEDLAG:
        if ((rc = smooth_fixed_lag(o, h, r, e)) < 0)
            goto out;
        break;
    case ST_SM_FFBSI:
        break;
    case ST_SM_PARIS: {
        if (online)
            break;
        double *mass = malloc(T * N * sizeof *mass), *scratch = col_scratch(N);
        if (!mass || !scratch) {
            free(mass);
            free(scratch);
            rc = st_err_nomem(e, "PaRIS");
            goto out;
        }
        paris_masses(h, J, o->K, mass);
        for (size_t t = 0; t < T; t++)
            summarise_hist(h, t, mass + t * N, o, r, scratch);
        free(mass);
        free(scratch);
        if (o->draws) {
            size_t nd = o->draws;
            if (!(idx = malloc(T * nd * sizeof *idx))) {
                rc = st_err_nomem(e, "trajectories");
                goto out;
            }
            uint32_t *one = malloc(T * sizeof *one);
            if (!one) {
                rc = st_err_nomem(e, "trajectories");
                goto out;
            }
            for (size_t k = 0; k < nd; k++) {
                paris_path(h, J, o->K, one, &g);
                for (size_t t = 0; t < T; t++)
                    idx[t * nd + k] = one[t];
            }
            free(one);
            rc = gather_paths(h, idx, nd, nd, r, e);
        }
        break;
    }
    case ST_SM_PG:
    case ST_SM_PPG:
        rc = smooth_gibbs(m, d, o, h, J, brs, th, &fc, r, e);
        break;
    }
    if (rc < 0)
        goto out;
    /* FFBSi, and trajectories for the smoothers that do not make their own */
    if (o->smoother == ST_SM_FFBSI || (o->draws && (o->smoother == ST_SM_FFBSM || o->smoother == ST_SM_FIXEDLAG))) {
        size_t count = o->smoother == ST_SM_FFBSI ? M : o->draws;
        if (o->smoother == ST_SM_FFBSI && o->draws > count)
            count = o->draws;
        if ((rc = pf_check_memory((double)T * count * 4.0, "storing the backward trajectories", e)) < 0)
            goto out;
        free(brs);
        nstreams = (count + ST_PF_BLOCK - 1) / ST_PF_BLOCK + 1;
        if (!(brs = malloc(nstreams * sizeof *brs)) || !(idx = malloc(T * count * sizeof *idx))) {
            rc = st_err_nomem(e, "FFBSi");
            goto out;
        }
        pf_streams(brs, nstreams, o->seed, RS_BACKWARD + 10);
        if ((rc = ffbsi_paths(m, d, o, h, count, idx, brs, th, &st, &g, e)) < 0)
            goto out;
        if (o->smoother == ST_SM_FFBSI && (rc = summarise_paths(h, idx, count, o, r, e)) < 0)
            goto out;
        if (o->smoother == ST_SM_FFBSI && want_func &&
            (rc = paths_functionals(m, d, h, idx, count, th, &fc, r, e)) < 0)
            goto out;
        if (o->draws && (rc = gather_paths(h, idx, count, o->draws, r, e)) < 0)
            goto out;
    }
    if (o->smoother != ST_SM_PG && o->smoother != ST_SM_PPG)
        stats_put(r, &st);
out:
    free(J);
    free(idx);
    free(brs);
    free_threads(th, nth);
    pf_hist_free(h);
    fctx_free(&fc);
    st_pf_funcs_free(dflt);
    if (rc < 0) {
        st_pf_result_free(r);
        return rc;
    }
    *res = r;
    return 0;
}

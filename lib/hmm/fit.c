/* Baum-Welch (EM) over many sequences, with restarts, priors and floors.
 *
 * E-step: sequences are processed in chunks; each sequence writes its
 * statistics (start, transitions, emissions, log-likelihood) into its own
 * slot, in parallel, and the slots are then added in sequence order into
 * the partial sum of their block, the blocks in block order (MIN_BLOCK
 * below).  The sums are therefore the same for any number of threads and
 * MPI ranks, bit for bit.  The
 * chunk size depends only on the data and the model (as many sequences as
 * fit in SLOT_BUDGET doubles of slots, at least 64), so that many short
 * sequences cost one parallel loop per iteration, not one per 64.
 *
 * M-step: start and transition rows are normalised expected counts plus
 * the Dirichlet pseudo-count (--pseudo, allowed entries only) and the
 * sticky count on self-transitions (--sticky), so EM maximises
 *     logL + pseudo * (sum log pi + sum_allowed log a_ij) + sticky * sum log a_ii,
 * which must not decrease from one iteration to the next.  Floors: every
 * estimated probability (allowed entries) >= prob_floor, then renormalised;
 * masked entries are set to exactly 0; a state with no expected visits
 * keeps its previous row/parameters.  An iteration where a floor changed an
 * estimate (or the start is tied to the stationary distribution, which EM
 * does not maximise exactly) is exempt from the monotonicity check. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mpi.h"
#include "hmm/internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define MIN_CHUNK 64
/* Sums run per block of consecutive sequences, then over the blocks in
 * order: ceil(nseq / 256) sequences per block, so up to 256 blocks for any
 * number of sequences (as many ranks can share 256 sequences or fewer).
 * The block size depends only on the number of sequences, so neither -j
 * nor the number of MPI ranks (which take contiguous shares of the blocks,
 * lib/core/mpi.h) changes a bit. */
#define MAX_BLOCKS 256
#define SLOT_BUDGET (4u << 20)

void st_hmm_fit_opts_init(st_hmm_fit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->K = 2;
    o->restarts = 1;
    o->seed = 1;
    o->prob_floor = -1;
    o->var_floor = -1;
}

size_t st_hmm_blocks(size_t nseq, size_t *B)
{
    size_t b = (nseq + MAX_BLOCKS - 1) / MAX_BLOCKS;
    b = b ? b : 1;
    *B = b;
    return (nseq + b - 1) / b;
}

typedef struct estep_out {
    size_t nst;   /* slot length: 1 + K + K*K + emission stats */
    double *acc;  /* summed statistics */
    double logl;
} estep_out;

/* Statistics of sequence s from its workspace into its slot. */
static void finish_seq(const st_hmm *m, const st_hmm_data *d, size_t s, const st_hmm_ws *w, double *slot, long *bad)
{
    size_t K = m->K, T = d->off[s + 1] - d->off[s];
    if (!(slot[0] > -INFINITY)) {
#pragma omp critical(hmm_bad)
        if (*bad < 0 || (long)s < *bad)
            *bad = (long)s;
        return;
    }
    memcpy(slot + 1, w->gamma, K * sizeof *slot);
    st_hmm_ops(m)->accum(m, d->x + d->off[s] * d->D, T, w->gamma, slot + 1 + K + K * K);
}

/* Slot layout: [0] logL, [1..K] start, [1+K ..] xi (K*K), then emission.
 * Work items are groups of ST_HMM_BATCH consecutive sequences (fixed by the
 * data, not the threads); a group of equal lengths with many states runs
 * batched (st_hmm_fb_batch), any other one sequence at a time. */
static int estep(const st_hmm *m, const st_hmm_data *d, estep_out *r, st_err *e)
{
    size_t K = m->K, Tmax = st_hmm_data_maxlen(d);
    Tmax = Tmax ? Tmax : 1; /* a rank's share may hold no sequence */
    size_t nst = r->nst, chunk = SLOT_BUDGET / nst;
    /* blocks of the whole data; a share (st_hmm_data_read) holds exactly
     * this rank's blocks, sequence s of the whole is d's s - first */
    size_t gn = d->gnseq ? d->gnseq : d->nseq, B, nblk = st_hmm_blocks(gn, &B), blo, bhi;
    chunk = chunk < B ? B : chunk - chunk % B; /* chunks and groups start on block bounds */
    st_mpi_share(nblk, &blo, &bhi);
    size_t first = d->gnseq ? d->first : 0;
    size_t s_lo = blo * B < gn ? blo * B : gn, s_hi = bhi * B < gn ? bhi * B : gn;
    if (d->gnseq && (s_lo != first || s_hi - s_lo != d->nseq))
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "bug: the data share does not match the E-step blocks");
    s_lo -= first;
    s_hi -= first;
    size_t ch = s_hi - s_lo < chunk ? s_hi - s_lo : chunk;
    int batching = K >= ST_HMM_BATCH_MIN_K && !m->dur;
    int lanes = !batching && st_hmm_lanes_worth(m) && !getenv("ST_HMM_NO_LANES");
    /* work items: groups of consecutive sequences, fixed by the data */
    size_t NB = lanes ? ST_HMM_LANES : ST_HMM_BATCH;
    size_t eta_off = 1 + K + K * K + st_hmm_ops(m)->nstats(m); /* durations' statistics in a slot */
    int nthreads = 1;
#ifdef _OPENMP
    nthreads = st_hmm_worth_threads(m, d) ? omp_get_max_threads() : 1;
#endif
    /* per thread: NB workspaces when batching, else one, and with lanes the
     * lanes' (alpha, w, gamma, emissions: 4 x 8 doubles per row and state) */
    double need = (double)nthreads * ((batching ? (double)NB : 1.0) *
                                          (3.0 * (double)Tmax * (double)K + (double)K * (double)K) +
                                      (lanes ? 33.0 * (double)Tmax * (double)K : 0)) *
                      sizeof(double) +
                  (double)ch * (double)nst * sizeof(double);
    int rc0 = st_hmm_check_memory(need, "the forward-backward workspace", e);
    double *slots = rc0 < 0 ? NULL : malloc((ch ? ch : 1) * nst * sizeof *slots);
    double *part = rc0 < 0 ? NULL : calloc(nblk ? nblk * nst : 1, sizeof *part);
    if (rc0 == ST_OK && (!slots || !part))
        rc0 = st_err_nomem(e, "E-step statistics");
    if (d->gnseq) /* shares differ in size: all ranks stop together */
        rc0 = st_mpi_agree_error(rc0, 0, e);
    if (rc0 < 0) {
        free(slots);
        free(part);
        return rc0;
    }
    long bad = -1;
    int nomem = 0;
#pragma omp parallel if (st_hmm_worth_threads(m, d))
    {
        st_hmm_ws *w[ST_HMM_BATCH] = {NULL};
        st_hmm_lws *lw = NULL;
        size_t nws = batching ? NB : 1;
        int ok = 1;
        for (size_t q = 0; q < nws; q++)
            ok &= (w[q] = st_hmm_ws_new_for(m, Tmax)) != NULL;
        if (lanes)
            ok &= (lw = st_hmm_lws_new(K, Tmax)) != NULL;
        if (!ok) {
#pragma omp atomic write
            nomem = 1;
        }
        for (size_t s0 = s_lo; s0 < s_hi; s0 += ch) {
            size_t n = s_hi - s0 < ch ? s_hi - s0 : ch, ng = (n + NB - 1) / NB;
#pragma omp for schedule(dynamic, 1)
            for (size_t gi = 0; gi < ng; gi++) {
                if (!ok)
                    continue;
                size_t i0 = gi * NB, i1 = i0 + NB < n ? i0 + NB : n, T0 = d->off[s0 + i0 + 1] - d->off[s0 + i0];
                int same = batching && i1 - i0 > 1;
                for (size_t i = i0; i < i1; i++) {
                    size_t s = s0 + i;
                    memset(slots + i * nst, 0, nst * sizeof *slots);
                    same &= d->off[s + 1] - d->off[s] == T0;
                }
                if (lanes) { /* 8 or 4 sequences of equal length in the lanes of vectors */
                    size_t done = i0;
                    for (size_t q0 = i0; q0 < i1;) {
                        size_t Tq = d->off[s0 + q0 + 1] - d->off[s0 + q0], q1 = q0 + 1;
                        while (q1 < i1 && q1 - q0 < ST_HMM_LANES && d->off[s0 + q1 + 1] - d->off[s0 + q1] == Tq)
                            q1++;
                        size_t nl = q1 - q0 >= 8 ? 8 : q1 - q0 >= 4 ? 4 : 0;
                        if (!nl || q0 != done)
                            break;
                        const double *xs[ST_HMM_LANES];
                        double *sl[ST_HMM_LANES];
                        for (size_t i = 0; i < nl; i++) {
                            xs[i] = d->x + d->off[s0 + q0 + i] * d->D;
                            sl[i] = slots + (q0 + i) * nst;
                        }
                        if (!st_hmm_fb_lanes(m, xs, nl, Tq, lw, sl))
                            break; /* a step needs the log-space redo: one at a time from here */
                        q0 += nl;
                        done = q0;
                    }
                    for (size_t i = done; i < i1; i++) {
                        size_t s = s0 + i, T = d->off[s + 1] - d->off[s];
                        double *slot = slots + i * nst;
                        memset(slot, 0, nst * sizeof *slot);
                        st_hmm_fb(m, d->x + d->off[s] * d->D, T, w[0], &slot[0], slot + 1 + K);
                        finish_seq(m, d, s, w[0], slot, &bad);
                    }
                    continue;
                }
                if (same) {
                    const double *xs[ST_HMM_BATCH];
                    double *xis[ST_HMM_BATCH], ll[ST_HMM_BATCH];
                    for (size_t i = i0; i < i1; i++) {
                        xs[i - i0] = d->x + d->off[s0 + i] * d->D;
                        xis[i - i0] = slots + i * nst + 1 + K;
                    }
                    st_hmm_fb_batch(m, xs, T0, w, i1 - i0, ll, xis);
                    for (size_t i = i0; i < i1; i++) {
                        slots[i * nst] = ll[i - i0];
                        finish_seq(m, d, s0 + i, w[i - i0], slots + i * nst, &bad);
                    }
                    continue;
                }
                for (size_t i = i0; i < i1; i++) {
                    size_t s = s0 + i, T = d->off[s + 1] - d->off[s];
                    double *slot = slots + i * nst;
                    if (m->dur)
                        st_hsmm_fb(m, d->x + d->off[s] * d->D, T, w[0], &slot[0], slot + 1 + K, slot + eta_off);
                    else
                        st_hmm_fb(m, d->x + d->off[s] * d->D, T, w[0], &slot[0], slot + 1 + K);
                    finish_seq(m, d, s, w[0], slot, &bad);
                }
            }
#pragma omp single
            for (size_t i = 0; i < n; i++) {
                const double *slot = slots + i * nst;
                double *acc = part + (first + s0 + i) / B * nst;
                for (size_t j = 0; j < nst; j++)
                    acc[j] += slot[j];
            }
        }
        for (size_t q = 0; q < nws; q++)
            st_hmm_ws_free(w[q]);
        st_hmm_lws_free(lw);
    }
    free(slots);
    /* every rank learns of a failure on any rank (the first impossible
     * sequence of the whole data), then the block sums */
    nomem = (int)st_mpi_max_long(nomem);
    int rc = ST_OK;
    if (nomem) {
        rc = st_err_nomem(e, "forward-backward workspace");
    } else {
        if (bad >= 0)
            rc = st_err_set(e, ST_EDATA, d->source, 0, 0, "sequence %.17g has probability zero under the model",
                            d->seqid[bad]);
        if (d->gnseq)
            rc = st_mpi_agree_error(rc, first + (size_t)(bad >= 0 ? bad : 0), e);
        if (rc == ST_OK)
            rc = st_mpi_fold_blocks(part, nblk, nst, r->acc, e);
    }
    free(part);
    if (rc < 0)
        return rc;
    r->logl = r->acc[0];
    return ST_OK;
}

/* Normalise a row of counts into probabilities over the allowed entries,
 * with the floor; returns 1 if the floor raised an entry, -1 if the row
 * had no counts (then p is left alone). */
static int normalise_row(double *p, const double *cnt, const unsigned char *mask, size_t n, double floor)
{
    double s = 0;
    for (size_t j = 0; j < n; j++)
        s += mask ? (mask[j] ? cnt[j] : 0) : cnt[j];
    if (!(s > 0))
        return -1;
    int raised = 0;
    double s2 = 0;
    for (size_t j = 0; j < n; j++) {
        if (mask && !mask[j]) {
            p[j] = 0;
            continue;
        }
        p[j] = cnt[j] / s;
        if (p[j] < floor) {
            p[j] = floor;
            raised = 1;
        }
        s2 += p[j];
    }
    if (raised)
        for (size_t j = 0; j < n; j++)
            p[j] /= s2;
    return raised;
}

static double log_prior(const st_hmm *m, const st_hmm_fit_opts *o)
{
    size_t K = m->K;
    double lp = 0;
    if (o->pseudo > 0) {
        if (!m->start_stationary && !o->fix_start)
            for (size_t k = 0; k < K; k++)
                lp += o->pseudo * log(m->start[k]);
        if (!o->fix_trans)
            for (size_t i = 0; i < K * K; i++)
                if (m->mask[i])
                    lp += o->pseudo * log(m->trans[i]);
    }
    if (o->sticky > 0 && !o->fix_trans)
        for (size_t k = 0; k < K; k++)
            if (m->mask[k * K + k])
                lp += o->sticky * log(m->trans[k * K + k]);
    return lp;
}

static int mstep(st_hmm *m, const double *acc, const st_hmm_fit_opts *o, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K;
    const double *g0 = acc + 1, *xi = acc + 1 + K, *es = acc + 1 + K + K * K;
    double *cnt = malloc(K * sizeof *cnt);
    if (!cnt)
        return st_err_nomem(e, "M-step");
    int rc = ST_OK;
    if (!o->fix_trans) {
        for (size_t i = 0; i < K; i++) {
            const unsigned char *mk = m->mask + i * K;
            for (size_t j = 0; j < K; j++)
                cnt[j] = mk[j] ? m->trans[i * K + j] * xi[i * K + j] + o->pseudo + (i == j ? o->sticky : 0) : 0;
            int r = normalise_row(m->trans + i * K, cnt, mk, K, cx->prob_floor);
            if (r)
                cx->floored = 1;
        }
    }
    if (!o->fix_start) {
        if (m->start_stationary) {
            if ((rc = st_hmm_stationary(m, m->start, e)) < 0)
                goto out;
        } else {
            for (size_t k = 0; k < K; k++)
                cnt[k] = g0[k] + o->pseudo;
            if (normalise_row(m->start, cnt, NULL, K, cx->prob_floor))
                cx->floored = 1;
        }
    }
    if (!o->fix_emis && (rc = st_hmm_ops(m)->mstep(m, es, cx, e)) < 0)
        goto out;
    if (m->dur && !o->fix_dur && (rc = st_hmm_dur_mstep(m, es + st_hmm_ops(m)->nstats(m), cx, e)) < 0)
        goto out;
    rc = st_hmm_prepare(m, e);
out:
    free(cnt);
    return rc;
}

static size_t stats_len(const st_hmm *m)
{
    return 1 + m->K + m->K * m->K + st_hmm_ops(m)->nstats(m) + (m->dur ? m->K * m->dmax : 0);
}

/* Floors for family f.  The default variance floor is relative to each
 * column's variance; for log-normal emissions (variances of log x) to
 * var(x) / mean(x)^2, the delta-method variance of log x, so that it
 * follows from the whole data's figures alone. */
static int make_mctx(const st_hmm_data *d, st_hmm_family f, const st_hmm_fit_opts *o, st_hmm_mctx *cx, double **vf,
                     st_err *e)
{
    size_t D = d->D;
    double *mean = malloc(2 * D * sizeof *mean);
    if (!mean)
        return st_err_nomem(e, "floors");
    double *var = mean + D;
    st_hmm_data_colvar(d, mean, var);
    for (size_t j = 0; j < D; j++) {
        double v = f == ST_HMM_LOGNORMAL && mean[j] > 0 ? var[j] / (mean[j] * mean[j]) : var[j];
        mean[j] = o->var_floor >= 0 ? o->var_floor : ST_HMM_VAR_FLOOR_REL * v;
    }
    *vf = mean;
    cx->var_floor = mean;
    cx->prob_floor = o->prob_floor >= 0 ? o->prob_floor : ST_HMM_PROB_FLOOR;
    cx->floored = 0;
    return ST_OK;
}

int st_hmm_em_step(st_hmm *m, const st_hmm_data *d, const st_hmm_fit_opts *o, double *logl, st_err *e)
{
    st_hmm_mctx cx;
    double *vf;
    int rc = make_mctx(d, m->family, o, &cx, &vf, e);
    if (rc < 0)
        return rc;
    estep_out r;
    r.nst = stats_len(m);
    r.acc = malloc(r.nst * sizeof *r.acc);
    if (!r.acc) {
        free(vf);
        return st_err_nomem(e, "E-step");
    }
    if ((rc = st_hmm_prepare(m, e)) == ST_OK && (rc = estep(m, d, &r, e)) == ST_OK) {
        *logl = r.logl;
        rc = mstep(m, r.acc, o, &cx, e);
    }
    free(r.acc);
    free(vf);
    return rc;
}

/* A random starting model for restart r; mean0: the durations' starting
 * mean. */
static int init_model(st_hmm **out, const st_hmm_data *d, const st_hmm_fit_opts *o, const size_t *nsym,
                      int r, const st_hmm_mctx *cx, double mean0, st_err *e)
{
    size_t K = o->K;
    st_hmm *m;
    st_hmm_shape sh = {o->family, o->cov, nsym, o->order ? o->order : 1, o->ncomp ? o->ncomp : 2, o->ncov};
    int rc = st_hmm_new_shape(&m, K, d->D, &sh, e);
    if (rc < 0)
        return rc;
    m->trials = o->trials;
    st_rng g;
    st_rng_stream(&g, o->seed, (uint64_t)r);
    m->topology = o->topology;
    m->maxjump = o->maxjump;
    m->start_stationary = o->start_stationary;
    if (o->topology == ST_HMM_MASK && o->mask)
        memcpy(m->mask, o->mask, K * K);
    else
        st_hmm_topology_mask(o->topology, o->maxjump, K, m->mask);
    if (o->dur) {
        if ((rc = st_hmm_set_durations(m, o->dur, o->dmax, o->dshift ? o->dshift : 1, e)) < 0) {
            st_hmm_free(m);
            return rc;
        }
        st_hmm_dur_init(m, mean0, &g, r);
    }
    for (size_t i = 0; i < K; i++) {
        double s = 0, nfree = 0;
        for (size_t j = 0; j < K; j++)
            nfree += m->mask[i * K + j];
        for (size_t j = 0; j < K; j++) {
            double v = m->mask[i * K + j] ? 0.5 + st_rng_uniform(&g) + (i == j ? nfree : 0) : 0;
            m->trans[i * K + j] = v;
            s += v;
        }
        if (o->dur && !(s > 0)) /* an absorbing state of a semi-Markov model */
            continue;
        if (!(s > 0)) {
            st_hmm_free(m);
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "transition mask row %zu allows no transition", i);
        }
        for (size_t j = 0; j < K; j++)
            m->trans[i * K + j] /= s;
    }
    for (size_t k = 0; k < K; k++)
        m->start[k] = 1.0 / (double)K;
    if ((rc = st_hmm_ops(m)->init(m, d, &g, r, cx, e)) < 0 || (rc = st_hmm_prepare(m, e)) < 0) {
        st_hmm_free(m);
        return rc;
    }
    if (o->start_stationary && (rc = st_hmm_stationary(m, m->start, e)) < 0) {
        st_hmm_free(m);
        return rc;
    }
    *out = m;
    return ST_OK;
}

/* The free parameter arrays of m (what EM changes), for SQUAREM. */
typedef struct parr {
    double *p;
    size_t n;
} parr;

static size_t param_arrays(st_hmm *m, const st_hmm_fit_opts *o, parr *a)
{
    size_t K = m->K, D = m->D, n = 0;
    if (!o->fix_start && !m->start_stationary)
        a[n++] = (parr){m->start, K};
    if (!o->fix_trans)
        a[n++] = (parr){m->trans, K * K};
    if (o->fix_emis)
        return n;
    switch (m->family) {
    case ST_HMM_CATEGORICAL:
        a[n++] = (parr){m->prob, st_hmm_cache_size(m)};
        break;
    case ST_HMM_POISSON:
        a[n++] = (parr){m->rate, K * D};
        break;
    case ST_HMM_BERNOULLI:
        a[n++] = (parr){m->bern, K * D};
        break;
    case ST_HMM_MULTINOMIAL:
        a[n++] = (parr){m->mprob, K * D};
        break;
    case ST_HMM_GAMMA:
        a[n++] = (parr){m->shape, K * D};
        a[n++] = (parr){m->scale, K * D};
        break;
    case ST_HMM_GMM:
        a[n++] = (parr){m->weight, K * m->ncomp};
        /* fall through */
    case ST_HMM_GAUSSIAN:
    case ST_HMM_AR:
    case ST_HMM_LOGNORMAL:
    case ST_HMM_REGRESSION:
        a[n++] = (parr){m->mean, st_hmm_mean_len(m)};
        a[n++] = (parr){m->var, st_hmm_var_len(m)};
        if (st_hmm_ar_len(m))
            a[n++] = (parr){m->ar, st_hmm_ar_len(m)};
        break;
    }
    return n;
}

/* ... and the durations' */
static size_t param_arrays_all(st_hmm *m, const st_hmm_fit_opts *o, parr *a)
{
    size_t n = param_arrays(m, o, a);
    if (m->dur && !o->fix_dur)
        a[n++] = m->dur == ST_HMM_DUR_NONPAR ? (parr){m->dprob, m->K * m->dmax} : (parr){m->dpar, 2 * m->K};
    return n;
}

static size_t param_len(const parr *a, size_t na)
{
    size_t len = 0;
    for (size_t i = 0; i < na; i++)
        len += a[i].n;
    return len;
}

static void param_get(const parr *a, size_t na, double *v)
{
    for (size_t i = 0; i < na; i++, v += a[i - 1].n)
        memcpy(v, a[i].p, a[i].n * sizeof *v);
}

static void param_set(const parr *a, size_t na, const double *v)
{
    for (size_t i = 0; i < na; i++, v += a[i - 1].n)
        memcpy(a[i].p, v, a[i].n * sizeof *v);
}

/* EM from m's current parameters until convergence or max_iter E-steps.
 *
 * With o->accelerate, each cycle takes two EM steps th1 = M(th0),
 * th2 = M(th1) and proposes the SQUAREM point (Varadhan & Roland 2008,
 * scheme S3) th' = th0 - 2a r + a^2 v with r = th1 - th0, v = th2 - th1 - r,
 * a = -|r|/|v| (at most -1; halved towards -1 until th' is a valid model).
 * th' is kept only if its objective is at least that of th1, otherwise the
 * fit continues from th2, so the accepted objectives never decrease either. */
static int run_em(st_hmm *m, const st_hmm_data *d, const st_hmm_fit_opts *o, int restart, st_hmm_mctx *cx,
                  st_err *e)
{
    int max_iter = o->max_iter > 0 ? o->max_iter : 1000;
    double tol = o->tol > 0 ? o->tol : 1e-8;
    estep_out r;
    r.nst = stats_len(m);
    r.acc = malloc(r.nst * sizeof *r.acc);
    if (!r.acc)
        return st_err_nomem(e, "E-step");
    parr pa[8];
    size_t na = param_arrays_all(m, o, pa), np = param_len(pa, na);
    double *th0 = NULL, *th1 = NULL, *th2 = NULL, *prop = NULL;
    if (o->accelerate && np > 0) {
        th0 = malloc(4 * np * sizeof *th0);
        if (!th0) {
            free(r.acc);
            return st_err_nomem(e, "SQUAREM");
        }
        th1 = th0 + np;
        th2 = th1 + np;
        prop = th2 + np;
    }
    double prev = -INFINITY, threshold = -INFINITY;
    int it = 0, floored_last = 0, rc, phase = 0, pending = 0, f2 = 0;
    m->converged = 0;
    for (;;) {
        rc = estep(m, d, &r, e);
        if (rc < 0 && !(pending && rc == ST_EDATA))
            break;
        double obj = rc < 0 ? -INFINITY : r.logl + log_prior(m, o);
        rc = ST_OK;
        if (pending) { /* judge the SQUAREM proposal */
            pending = 0;
            if (!(obj >= threshold)) { /* worse than plain EM (or impossible data): go on from th2 */
                param_set(pa, na, th2);
                if (m->start_stationary && (rc = st_hmm_stationary(m, m->start, e)) < 0)
                    break;
                if ((rc = st_hmm_prepare(m, e)) < 0)
                    break;
                floored_last = f2;
                continue;
            }
        }
        if (it > 0) {
            double change = obj - prev;
            if (o->progress)
                o->progress(o->progress_ctx, restart, it, r.logl, change);
            if (change < -1e-9 * (fabs(prev) + 1) && !floored_last && !m->start_stationary) {
                rc = st_err_set(e, ST_EINTERNAL, NULL, 0, 0,
                                "bug: the EM objective decreased from %.17g to %.17g at iteration %d (restart %d)",
                                prev, obj, it, restart + 1);
                break;
            }
            if (fabs(change) <= tol * fabs(prev)) {
                m->converged = 1;
                break;
            }
        }
        if (it >= max_iter)
            break;
        if (th0 && phase == 0)
            param_get(pa, na, th0);
        cx->floored = 0;
        if ((rc = mstep(m, r.acc, o, cx, e)) < 0)
            break;
        floored_last = cx->floored;
        prev = obj;
        it++;
        if (!th0)
            continue;
        if (phase == 0) { /* th1 done; its E-step comes next */
            param_get(pa, na, th1);
            phase = 1;
            continue;
        }
        /* th2 done: propose the extrapolation */
        phase = 0;
        f2 = floored_last;
        param_get(pa, na, th2);
        double rr = 0, vv = 0;
        for (size_t i = 0; i < np; i++) {
            double ri = th1[i] - th0[i], vi = th2[i] - 2 * th1[i] + th0[i];
            rr += ri * ri;
            vv += vi * vi;
        }
        double alpha = vv > 0 && rr > 0 ? -sqrt(rr / vv) : -1;
        while (alpha < -1) {
            for (size_t i = 0; i < np; i++) {
                double ri = th1[i] - th0[i], vi = th2[i] - 2 * th1[i] + th0[i];
                prop[i] = th0[i] - 2 * alpha * ri + alpha * alpha * vi;
            }
            param_set(pa, na, prop);
            st_err tmp;
            st_err_clear(&tmp);
            if ((!m->start_stationary || st_hmm_stationary(m, m->start, &tmp) == ST_OK) &&
                st_hmm_validate(m, &tmp) == ST_OK)
                break;
            alpha = alpha < -1.02 ? (alpha - 1) / 2 : -1; /* back towards plain EM */
        }
        if (alpha < -1) { /* judge it after its E-step */
            pending = 1;
            threshold = prev;
            continue;
        }
        param_set(pa, na, th2);
        if (m->start_stationary && (rc = st_hmm_stationary(m, m->start, e)) < 0)
            break;
        if ((rc = st_hmm_prepare(m, e)) < 0)
            break;
    }
    free(th0);
    free(r.acc);
    if (rc < 0)
        return rc;
    m->fitted = 1;
    m->logl = r.logl;
    m->iterations = it;
    /* an AR model conditions on the first `order` rows of each sequence */
    size_t gn = d->gnseq ? d->gnseq : d->nseq, gt = d->gnseq ? d->gtotal : d->total;
    m->nobs = (long)(gt - (m->family == ST_HMM_AR ? m->order * gn : 0));
    m->nseq = (long)gn;
    return ST_OK;
}

/* st_hmm_fit, or with starts_out only the starting models of its restarts */
static int fit_impl(st_hmm **out, st_hmm **starts_out, const st_hmm_data *d, const st_hmm_fit_opts *o, st_err *e)
{
    if (out)
        *out = NULL;
    size_t K = o->init ? o->init->K : o->K;
    if (K < 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the number of states must be at least 1");
    size_t gtotal = d->gnseq ? d->gtotal : d->total;
    if (K > gtotal)
        return st_err_set(e, ST_EDATA, d->source, 0, 0, "%zu states is more than the %zu observations", K,
                          gtotal);
    if ((d->gnseq ? d->gnseq : d->nseq) == 0)
        return st_err_set(e, ST_EDATA, d->source, 0, 0, "no sequences");
    st_hmm_family fam = o->init ? o->init->family : o->family;
    st_hmm_cov cov = o->init ? o->init->cov : o->cov;
    const size_t *nsym = o->init ? o->init->nsym : o->nsym;
    if (o->init && o->init->D != d->D)
        return st_err_set(e, ST_EDATA, d->source, 0, 0, "the initial model has %zu data columns, the data %zu",
                          o->init->D, d->D);
    size_t order = o->init ? o->init->order : (o->order ? o->order : 1);
    st_hmm_shape sh = {fam, cov, nsym, order, o->init ? o->init->ncomp : o->ncomp, o->init ? o->init->ncov : o->ncov};
    long trials = o->init ? o->init->trials : o->trials;
    int rc = st_hmm_data_check_spec(d, &sh, trials, e);
    if (rc < 0)
        return rc;
    { /* the whole data's figures: is anything observed at all? */
        double *fig = malloc(3 * d->D * sizeof *fig);
        if (!fig)
            return st_err_nomem(e, "column figures");
        st_hmm_data_colfigs(d, fig, fig + d->D, fig + 2 * d->D);
        int any = 0;
        for (size_t j = 0; j < d->D; j++)
            any |= fig[2 * d->D + j] > -INFINITY;
        free(fig);
        if (!any)
            return st_err_set(e, ST_EDATA, d->source, 0, 0, "every value is missing: nothing to fit");
    }
    if (fam == ST_HMM_MULTINOMIAL && trials == 0) { /* every row the same n: record it (for sampling) */
        long lo = LONG_MAX, hi = -1;
        for (size_t i = 0; i < d->total; i++) {
            double n = 0;
            if (st_hmm_row_missing(d->x + i * d->D, d->D))
                continue;
            for (size_t j = 0; j < d->D; j++)
                n += d->x[i * d->D + j];
            lo = (long)n < lo ? (long)n : lo;
            hi = (long)n > hi ? (long)n : hi;
        }
        hi = st_mpi_max_long(hi); /* collective: a share's rows are not the whole */
        lo = -st_mpi_max_long(-lo);
        trials = lo == hi && lo > 0 ? lo : 0;
    }
    size_t *own_nsym = NULL;
    if (fam == ST_HMM_CATEGORICAL && !nsym) { /* largest symbol of the whole data + 1 */
        double *fig = malloc(3 * d->D * sizeof *fig);
        if (!fig || !(own_nsym = calloc(d->D, sizeof *own_nsym))) {
            free(fig);
            return st_err_nomem(e, "symbols");
        }
        st_hmm_data_colfigs(d, fig, fig + d->D, fig + 2 * d->D);
        for (size_t c = 0; c < d->D; c++)
            own_nsym[c] = fig[2 * d->D + c] >= 0 ? (size_t)fig[2 * d->D + c] + 1 : 1;
        free(fig);
        nsym = own_nsym;
    }
    st_hmm_mctx cx;
    double *vf = NULL;
    if ((rc = make_mctx(d, fam, o, &cx, &vf, e)) < 0) {
        free(own_nsym);
        return rc;
    }
    if (fam == ST_HMM_GAUSSIAN || fam == ST_HMM_GMM || fam == ST_HMM_AR || fam == ST_HMM_REGRESSION ||
        fam == ST_HMM_GAMMA)
        for (size_t j = 0; j < d->D; j++)
            if (!isfinite(vf[j]) || vf[j] > 1e290) {
                free(own_nsym);
                free(vf);
                return st_err_set(e, ST_EDATA, d->source, 0, 0,
                                  "column '%s': values too large for a Gaussian model (their variance overflows); rescale them",
                                  d->names ? d->names[j] : "?");
            }
    if ((o->init ? o->init->dur : o->dur) && (o->start_stationary || (o->init && o->init->start_stationary))) {
        free(own_nsym);
        free(vf);
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a model with durations has no stationary start");
    }
    if (!o->init && o->dur && (o->dmax < 1 || (o->dshift ? o->dshift : 1) > o->dmax)) {
        free(own_nsym);
        free(vf);
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "durations need a maximum >= the shift (%zu), not %zu",
                          o->dshift ? o->dshift : 1, o->dmax);
    }
    /* durations start around half the mean length of a state's share of a sequence */
    double mean0 = (double)gtotal / (double)(d->gnseq ? d->gnseq : d->nseq) / (2.0 * (double)K);
    st_hmm_fit_opts oo = *o;
    oo.K = K;
    oo.family = fam;
    oo.cov = cov;
    oo.order = order;
    oo.ncomp = sh.ncomp;
    oo.ncov = sh.ncov;
    oo.trials = trials;
    int restarts = o->init ? 1 : (o->restarts > 0 ? o->restarts : 1);
    st_hmm *best = NULL;
    /* data-driven starts come from the init sample (d itself when small) */
    st_hmm_data *sample = NULL;
    if (!o->init && !o->starts && (rc = st_hmm_init_sample(&sample, d, e)) < 0) {
        free(own_nsym);
        free(vf);
        return rc;
    }
    const st_hmm_data *sd = sample ? sample : d;
    for (int r = 0; r < restarts; r++) {
        st_hmm *m = NULL;
        if (o->init) {
            if ((rc = st_hmm_copy(&m, o->init, e)) == ST_OK)
                rc = st_hmm_validate(m, e);
            if (rc == ST_OK && o->start_stationary && !m->start_stationary) {
                m->start_stationary = 1;
                rc = st_hmm_stationary(m, m->start, e);
            }
        } else if (starts_out) {
            if ((rc = init_model(&m, sd, &oo, nsym, r, &cx, mean0, e)) < 0)
                break;
            starts_out[r] = m;
            continue;
        } else if (o->starts) {
            if ((rc = st_hmm_copy(&m, o->starts[r], e)) == ST_OK)
                rc = st_hmm_prepare(m, e);
        } else {
            rc = init_model(&m, sd, &oo, nsym, r, &cx, mean0, e);
        }
        if (rc == ST_OK)
            rc = run_em(m, d, &oo, r, &cx, e);
        if (rc < 0) {
            st_hmm_free(m);
            break;
        }
        if (!best || m->logl > best->logl) {
            st_hmm_free(best);
            best = m;
        } else {
            st_hmm_free(m);
        }
    }
    st_hmm_data_free(sample);
    free(own_nsym);
    free(vf);
    if (rc == ST_OK && best && d->names)
        rc = st_hmm_set_colnames(best, (const char *const *)d->names, e);
    for (size_t j = 0; rc == ST_OK && best && d->labels && j < d->D; j++) /* symbols spelled as labels */
        if (d->labels[j] && !(best->symlabels && best->symlabels[j])) {
            if (best->nsym[j] != d->nlab[j])
                rc = st_err_set(e, ST_EUSAGE, d->source, 0, 0, "column '%s' has %zu labels, the model %zu symbols",
                                d->names[j], d->nlab[j], best->nsym[j]);
            else
                rc = st_hmm_set_symlabels(best, j, (const char *const *)d->labels[j], e);
        }
    if (rc == ST_OK && best && o->init && o->init->statelabels && !best->statelabels)
        rc = st_hmm_set_statelabels(best, (const char *const *)o->init->statelabels, e);
    if (rc < 0) {
        st_hmm_free(best);
        return rc;
    }
    if (out)
        *out = best;
    return ST_OK;
}

int st_hmm_fit(st_hmm **out, const st_hmm_data *d, const st_hmm_fit_opts *o, st_err *e)
{
    return fit_impl(out, NULL, d, o, e);
}

void st_hmm_fit_starts_free(st_hmm **starts, int n)
{
    if (!starts)
        return;
    for (int r = 0; r < n; r++)
        st_hmm_free(starts[r]);
    free(starts);
}

int st_hmm_fit_starts(st_hmm ***starts, const st_hmm_data *d, const st_hmm_fit_opts *o, st_err *e)
{
    *starts = NULL;
    if (o->init)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "starting models are made without an initial model");
    int n = o->restarts > 0 ? o->restarts : 1;
    st_hmm **st = calloc((size_t)n, sizeof *st);
    if (!st)
        return st_err_nomem(e, "starting models");
    int rc = fit_impl(NULL, st, d, o, e);
    if (rc < 0) {
        st_hmm_fit_starts_free(st, n);
        return rc;
    }
    *starts = st;
    return ST_OK;
}

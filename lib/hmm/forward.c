/* Scaled forward-backward (Rabiner 1989, with per-step normalisers c_t),
 * Viterbi in log space, posterior decoding and log-likelihoods.
 *
 * Emission probabilities arrive scaled per time step (B_t = b_t / s_t, s_t
 * usually max_k b_t(k)), so the recursions use only multiplications and
 * one division per step: no exp or log in the K^2 inner loops.  When a step
 * underflows (c_t below 1e-280: the predicted states all have negligible
 * emission probability), that step is redone with the scale chosen in log
 * space from the exact log densities: s_t = max_k (log pred_k + log b_k),
 * so c_t >= 1 again.  Only a step whose every state is impossible gives
 * -Inf.
 *
 * Layout: every T x K array is row-major (the K states of one time step
 * contiguous); trans is K x K row-major.  The forward step is an axpy over
 * rows of trans, the backward step a row-wise dot product, and the
 * transition statistics sum_t alpha_t w_t+1^T one rank-(T-1) update, all
 * three in kernels.c. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

#define UNDERFLOW 1e-280
#define BIG 1e300

st_hmm_ws *st_hmm_ws_new(size_t K, size_t Tmax)
{
    st_hmm_ws *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (Tmax == 0)
        Tmax = 1;
    w->K = K;
    w->Tmax = Tmax;
    w->B = malloc(Tmax * K * sizeof *w->B);
    w->alpha = malloc(Tmax * K * sizeof *w->alpha);
    w->gamma = malloc(Tmax * K * sizeof *w->gamma);
    w->logs = malloc(Tmax * sizeof *w->logs);
    w->c = malloc(Tmax * sizeof *w->c);
    w->v = malloc(2 * K * sizeof *w->v);
    w->AT = malloc(K * K * sizeof *w->AT);
    if (!w->B || !w->alpha || !w->gamma || !w->logs || !w->c || !w->v || !w->AT) {
        st_hmm_ws_free(w);
        return NULL;
    }
    return w;
}

st_hmm_ws *st_hmm_ws_new_for(const st_hmm *m, size_t Tmax)
{
    st_hmm_ws *w = st_hmm_ws_new(m->K, Tmax);
    if (!w || !m->dur)
        return w;
    size_t K = m->K;
    w->Dm = m->dmax;
    w->E = malloc(w->Tmax * K * sizeof *w->E);
    w->F = malloc(w->Tmax * K * sizeof *w->F);
    w->win = malloc(2 * K * m->dmax * sizeof *w->win);
    w->u = malloc(6 * K * sizeof *w->u);
    if (!w->E || !w->F || !w->win || !w->u) {
        st_hmm_ws_free(w);
        return NULL;
    }
    return w;
}

void st_hmm_ws_free(st_hmm_ws *w)
{
    if (!w)
        return;
    free(w->E);
    free(w->F);
    free(w->win);
    free(w->u);
    free(w->B);
    free(w->alpha);
    free(w->gamma);
    free(w->logs);
    free(w->c);
    free(w->v);
    free(w->AT);
    free(w->pk);
    free(w->bp);
    free(w);
}

/* Redo step t's scale in log space (see the top of the file).  Returns 0 if
 * every state with positive predicted probability is impossible. */
static int rescale_step(const st_hmm *m, const double *xt, size_t t, const double *pred, double *b, double *logs,
                        double *lp)
{
    size_t K = m->K;
    st_hmm_ops(m)->logpdf(m, xt, t, lp);
    double mx = -INFINITY;
    for (size_t k = 0; k < K; k++)
        if (pred[k] > 0) {
            double v = log(pred[k]) + lp[k];
            mx = v > mx ? v : mx;
        }
    if (!(mx > -INFINITY))
        return 0;
    for (size_t k = 0; k < K; k++) {
        double v = exp(lp[k] - mx);
        b[k] = v < BIG ? v : BIG;
    }
    *logs = mx;
    return 1;
}

/* Forward pass over B (already evaluated); alpha rows normalised. */
/* One forward step at t given pred (alpha_t-1 A, or start): alpha_t, c_t,
 * the log-likelihood terms.  Returns 0 if the step is impossible. */
/* The rest of the step once a = pred * b and c = sum_k a[k] (in k order)
 * are computed. */
static int forward_step_rest(const st_hmm *m, const double *x, size_t t, st_hmm_ws *w, const double *pred, double c,
                             double *ll, double *cprod)
{
    size_t K = m->K, D = m->D;
    double *b = w->B + t * K, *a = w->alpha + t * K, *lp = w->v + K;
    if (!(c >= UNDERFLOW)) {
        if (!rescale_step(m, x + t * D, t, pred, b, &w->logs[t], lp))
            return 0;
        c = 0;
        for (size_t k = 0; k < K; k++) {
            a[k] = pred[k] * b[k];
            c += a[k];
        }
    }
    double ic = 1 / c;
    for (size_t k = 0; k < K; k++)
        a[k] *= ic;
    w->c[t] = c;
    /* log L = sum_t log c_t + log s_t; the c_t are multiplied and their
     * product's log taken only when it nears the ends of the double range,
     * which keeps log() out of the per-step work. */
    *ll += w->logs[t];
    *cprod *= c;
    if (!(*cprod > 1e-250 && *cprod < 1e250)) {
        *ll += log(*cprod);
        *cprod = 1;
    }
    return 1;
}

static int forward_step(const st_hmm *m, const double *x, size_t t, st_hmm_ws *w, const double *pred, double *ll,
                        double *cprod)
{
    size_t K = m->K;
    double *b = w->B + t * K, *a = w->alpha + t * K;
    double c = 0;
    for (size_t k = 0; k < K; k++) {
        a[k] = pred[k] * b[k];
        c += a[k];
    }
    return forward_step_rest(m, x, t, w, pred, c, ll, cprod);
}

static void forward_pass(const st_hmm *m, const double *x, size_t T, st_hmm_ws *w, double *logl)
{
    size_t K = m->K;
    double *pred = w->AT; /* free until the backward pass */
    double ll = 0, cprod = 1;
    memcpy(pred, m->start, K * sizeof *pred);
    for (size_t t = 0; t < T; t++) {
        if (!forward_step(m, x, t, w, pred, &ll, &cprod)) {
            *logl = -INFINITY;
            return;
        }
        if (t + 1 < T)
            st_hmm_vecmat(w->alpha + t * K, m->trans, K, pred);
    }
    *logl = ll + log(cprod);
}

void st_hmm_forward(const st_hmm *m, const double *x, size_t T, st_hmm_ws *w, double *logl)
{
    if (m->dur) {
        st_hsmm_forward(m, x, T, w, logl);
        return;
    }
    st_hmm_ops(m)->eval(m, x, T, w->B, w->logs);
    forward_pass(m, x, T, w, logl);
}

/* One backward step at t: gamma_t = alpha_t beta_t and w_t = B_t beta_t / c_t
 * (in place of B_t).  A state with alpha_t = 0 (unreachable, or impossible
 * emission) contributes nothing backwards, and zeroing its w keeps an
 * overflowing B of an unreachable state out of the sums (0 * Inf). */
static void backward_step(size_t K, size_t t, st_hmm_ws *w, const double *beta)
{
    double *b = w->B + t * K, *a = w->alpha + t * K, *g = w->gamma + t * K;
    double ic = 1 / w->c[t];
    for (size_t k = 0; k < K; k++) {
        g[k] = a[k] * beta[k];
        b[k] = a[k] > 0 ? b[k] * beta[k] * ic : 0;
    }
}

static void transpose(const double *A, size_t K, double *AT)
{
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            AT[j * K + i] = A[i * K + j];
}

void st_hmm_fb(const st_hmm *m, const double *x, size_t T, st_hmm_ws *w, double *logl, double *xi)
{
    size_t K = m->K;
    if (m->dur) {
        st_hsmm_fb(m, x, T, w, logl, xi, NULL);
        return;
    }
    st_hmm_forward(m, x, T, w, logl);
    if (!(*logl > -INFINITY))
        return;
    /* beta_t-1 = A w_t as w_t^T A^T: the axpy kernel over rows of A^T. */
    double *AT = w->AT, *beta = w->v, *nb = w->v + K;
    transpose(m->trans, K, AT);
    for (size_t k = 0; k < K; k++)
        beta[k] = 1;
    for (size_t t = T; t-- > 0;) {
        backward_step(K, t, w, beta);
        if (t > 0) {
            st_hmm_vecmat(w->B + t * K, AT, K, nb);
            double *tmp = beta;
            beta = nb;
            nb = tmp;
        }
    }
    if (!xi || T < 2)
        return;
    /* xi += alpha[0..T-2]^T w[1..T-1] */
    st_hmm_outer_acc(xi, w->alpha, w->B + K, T - 1, K);
}

void st_hmm_fb_batch(const st_hmm *m, const double *const *x, size_t T, st_hmm_ws *const *w, size_t nb,
                     double *logl, double *const *xi)
{
    size_t K = m->K;
    const double *ain[ST_HMM_BATCH];
    double *pout[ST_HMM_BATCH], *cp = w[0]->AT;
    double ll[ST_HMM_BATCH], cprod[ST_HMM_BATCH];
    int alive[ST_HMM_BATCH];
    if (!w[0]->pk && !(w[0]->pk = malloc(2 * K * K * sizeof *w[0]->pk))) { /* no memory: one at a time */
        for (size_t s = 0; s < nb; s++)
            st_hmm_fb(m, x[s], T, w[s], &logl[s], xi[s]);
        return;
    }
    double *Ap = w[0]->pk, *ATp = Ap + K * K;
    st_hmm_pack8(m->trans, K, Ap);
    for (size_t s = 0; s < nb; s++) {
        st_hmm_ops(m)->eval(m, x[s], T, w[s]->B, w[s]->logs);
        /* pred lives in AT, free until the backward pass */
        memcpy(w[s]->AT, m->start, K * sizeof(double));
        ll[s] = 0;
        cprod[s] = 1;
        alive[s] = 1;
    }
    /* forward: per-sequence steps, then one batched a^T A for all */
    for (size_t t = 0; t < T; t++) {
        size_t n = 0, na = 0, as[ST_HMM_BATCH];
        double c[ST_HMM_BATCH];
        for (size_t s = 0; s < nb; s++)
            if (alive[s]) {
                as[na++] = s;
                c[s] = 0;
            }
        /* a = pred b and the normalisers, the sequences' sums interleaved
         * (each still over k in order) so that their chains overlap */
        for (size_t k = 0; k < K; k++)
            for (size_t q = 0; q < na; q++) {
                size_t s = as[q];
                double v = w[s]->AT[k] * w[s]->B[t * K + k];
                w[s]->alpha[t * K + k] = v;
                c[s] += v;
            }
        for (size_t q = 0; q < na; q++) {
            size_t s = as[q];
            if (!forward_step_rest(m, x[s], t, w[s], w[s]->AT, c[s], &ll[s], &cprod[s])) {
                alive[s] = 0;
                continue;
            }
            ain[n] = w[s]->alpha + t * K;
            pout[n++] = w[s]->AT;
        }
        if (t + 1 < T && n)
            st_hmm_vecmat_batch(ain, n, m->trans, Ap, K, pout);
    }
    for (size_t s = 0; s < nb; s++)
        logl[s] = alive[s] ? ll[s] + log(cprod[s]) : -INFINITY;
    /* backward: trans^T once, kept in the first workspace's AT, and packed */
    transpose(m->trans, K, cp);
    st_hmm_pack8(cp, K, ATp);
    double *beta[ST_HMM_BATCH], *nbv[ST_HMM_BATCH];
    for (size_t s = 0; s < nb; s++) {
        beta[s] = w[s]->v;
        nbv[s] = w[s]->v + K;
        for (size_t k = 0; k < K; k++)
            beta[s][k] = 1;
    }
    for (size_t t = T; t-- > 0;) {
        size_t n = 0;
        for (size_t s = 0; s < nb; s++) {
            if (!alive[s])
                continue;
            backward_step(K, t, w[s], beta[s]);
            ain[n] = w[s]->B + t * K;
            pout[n++] = nbv[s];
        }
        if (t > 0 && n) {
            st_hmm_vecmat_batch(ain, n, cp, ATp, K, pout);
            for (size_t s = 0; s < nb; s++) {
                double *tmp = beta[s];
                beta[s] = nbv[s];
                nbv[s] = tmp;
            }
        }
    }
    for (size_t s = 0; s < nb; s++)
        if (alive[s] && xi[s] && T >= 2)
            st_hmm_outer_acc(xi[s], w[s]->alpha, w[s]->B + K, T - 1, K);
}

int st_hmm_worth_threads(const st_hmm *m, const st_hmm_data *d)
{
    double work = (double)d->total * (double)m->K * (double)(m->K + m->D + 8);
    return d->nseq > 1 && work > 4e6;
}

size_t st_hmm_data_maxlen(const st_hmm_data *d)
{
    size_t mx = 0;
    for (size_t s = 0; s < d->nseq; s++) {
        size_t n = d->off[s + 1] - d->off[s];
        mx = n > mx ? n : mx;
    }
    return mx;
}

static int impossible(const st_hmm_data *d, size_t s, st_err *e)
{
    return st_err_set(e, ST_EDATA, d->source, 0, 0,
                      "sequence %.17g has probability zero under the model", d->seqid ? d->seqid[s] : (double)s);
}

int st_hmm_loglik(st_hmm *m, const st_hmm_data *d, double *logl, double *total, st_err *e)
{
    int rc = st_hmm_prepare(m, e);
    if (rc < 0)
        return rc;
    size_t Tmax = st_hmm_data_maxlen(d);
    double *ll = logl ? logl : malloc((d->nseq ? d->nseq : 1) * sizeof *ll);
    if (!ll)
        return st_err_nomem(e, "log-likelihoods");
    int nomem = 0;
#pragma omp parallel if (st_hmm_worth_threads(m, d))
    {
        st_hmm_ws *w = st_hmm_ws_new_for(m, Tmax);
        if (!w) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t s = 0; s < d->nseq; s++) {
            if (!w)
                continue;
            size_t T = d->off[s + 1] - d->off[s];
            st_hmm_forward(m, d->x + d->off[s] * d->D, T, w, &ll[s]);
        }
        st_hmm_ws_free(w);
    }
    if (nomem)
        rc = st_err_nomem(e, "forward workspace");
    double tot = 0;
    for (size_t s = 0; rc == ST_OK && s < d->nseq; s++)
        tot += ll[s];
    if (total)
        *total = tot;
    if (ll != logl)
        free(ll);
    return rc;
}

int st_hmm_posterior(st_hmm *m, const st_hmm_data *d, double *post, double *logl, st_err *e)
{
    int rc = st_hmm_prepare(m, e);
    if (rc < 0)
        return rc;
    size_t Tmax = st_hmm_data_maxlen(d), K = m->K;
    long bad = -1;
    int nomem = 0;
#pragma omp parallel if (st_hmm_worth_threads(m, d))
    {
        st_hmm_ws *w = st_hmm_ws_new_for(m, Tmax);
        if (!w) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t s = 0; s < d->nseq; s++) {
            if (!w)
                continue;
            size_t T = d->off[s + 1] - d->off[s];
            double ll;
            st_hmm_fb(m, d->x + d->off[s] * d->D, T, w, &ll, NULL);
            if (logl)
                logl[s] = ll;
            if (!(ll > -INFINITY)) {
#pragma omp critical(hmm_bad)
                if (bad < 0 || (long)s < bad)
                    bad = (long)s;
                continue;
            }
            memcpy(post + d->off[s] * K, w->gamma, T * K * sizeof *post);
        }
        st_hmm_ws_free(w);
    }
    if (nomem)
        return st_err_nomem(e, "forward-backward workspace");
    if (bad >= 0)
        return impossible(d, (size_t)bad, e);
    return ST_OK;
}

/* Viterbi for one sequence: delta_t(j) = max_i delta_t-1(i) + log A_ij,
 * plus log b_t(j); ties go to the lowest i.  logAT is log trans transposed
 * so that the maximum over i reads a contiguous row. */
static double viterbi_one(const st_hmm *m, const double *x, size_t T, const double *logAT,
                          const double *logpi, double *delta, double *lp, int *bp, int *path)
{
    size_t K = m->K, D = m->D;
    const st_hmm_emis_ops *ops = st_hmm_ops(m);
    double *prev = delta, *cur = delta + K;
    ops->logpdf(m, x, 0, lp);
    for (size_t k = 0; k < K; k++)
        prev[k] = logpi[k] + lp[k];
    for (size_t t = 1; t < T; t++) {
        ops->logpdf(m, x + t * D, t, lp);
        for (size_t j = 0; j < K; j++) {
            const double *col = logAT + j * K;
            double best = -INFINITY;
            int arg = 0;
            for (size_t i = 0; i < K; i++) {
                double v = prev[i] + col[i];
                if (v > best) {
                    best = v;
                    arg = (int)i;
                }
            }
            cur[j] = best + lp[j];
            bp[t * K + j] = arg;
        }
        double *tmp = prev;
        prev = cur;
        cur = tmp;
    }
    size_t arg = 0;
    for (size_t k = 1; k < K; k++)
        if (prev[k] > prev[arg])
            arg = k;
    double best = prev[arg];
    path[T - 1] = (int)arg;
    for (size_t t = T - 1; t > 0; t--)
        path[t - 1] = bp[t * K + (size_t)path[t]];
    return best;
}

int st_hmm_viterbi(st_hmm *m, const st_hmm_data *d, int *path, double *logp, st_err *e)
{
    int rc = st_hmm_prepare(m, e);
    if (rc < 0)
        return rc;
    if (m->dur)
        return st_hsmm_viterbi(m, d, path, logp, e);
    size_t K = m->K, Tmax = st_hmm_data_maxlen(d);
    double *logAT = malloc((K * K + K) * sizeof *logAT), *logpi = logAT ? logAT + K * K : NULL;
    if (!logAT)
        return st_err_nomem(e, "Viterbi");
    for (size_t i = 0; i < K; i++) {
        logpi[i] = log(m->start[i]);
        for (size_t j = 0; j < K; j++)
            logAT[j * K + i] = log(m->trans[i * K + j]);
    }
    long bad = -1;
    int nomem = 0;
#pragma omp parallel if (st_hmm_worth_threads(m, d))
    {
        double *delta = malloc(3 * K * sizeof *delta);
        int *bp = malloc((Tmax ? Tmax : 1) * K * sizeof *bp);
        if (!delta || !bp) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t s = 0; s < d->nseq; s++) {
            if (!delta || !bp)
                continue;
            size_t T = d->off[s + 1] - d->off[s];
            double lp = viterbi_one(m, d->x + d->off[s] * d->D, T, logAT, logpi, delta, delta + 2 * K, bp,
                                    path + d->off[s]);
            if (logp)
                logp[s] = lp;
            if (!(lp > -INFINITY)) {
#pragma omp critical(hmm_bad)
                if (bad < 0 || (long)s < bad)
                    bad = (long)s;
            }
        }
        free(delta);
        free(bp);
    }
    free(logAT);
    if (nomem)
        return st_err_nomem(e, "Viterbi workspace");
    if (bad >= 0)
        return impossible(d, (size_t)bad, e);
    return ST_OK;
}

/* Hidden semi-Markov models (explicit durations): forward-backward,
 * Viterbi, posterior path draws and sampling, in O(T K dmax + T K^2) time
 * and O(T K + K dmax) memory (Guédon 2003; Yu 2010, section 3).
 *
 * Notation (t = 0..T-1, u_t(j) = B_t(j) / c_t the scaled emission of
 * state j divided by the step's normaliser, U_j(a, b) = prod_{a<=t<=b}
 * u_t(j), p_j(d) the duration pmf, S_j(d) = P(d_j >= d)):
 *   E_t(j)  a segment of j starts at t, given y_0..t-1 (E_0 = start,
 *           E_t = F_t-1 A);
 *   F_t(j)  a segment of j ends at t and another follows, given y_0..t:
 *           sum_s E_s(j) U_j(s, t) p_j(t - s + 1);
 *   c_t     P(y_t | y_0..t-1) relative to the step's emission scale:
 *           sum_j B_t(j) sum_s E_s(j) U_j(s, t-1) S_j(t - s + 1).
 * The forward pass keeps, per state, a ring of the dmax latest starts s
 * holding E_s(j) U_j(s, t-1) ("pre-emission"): one multiply-add pass per
 * step gives both sums, and the factor u_t(j) is applied to the ring only
 * at the next step, so that a step whose scaled sum underflows can still
 * be redone with the scale chosen in log space from the predicted
 * occupancy (as forward.c does for HMMs).  log L = sum_t log c_t + log s_t.
 *
 * The last segment is right-censored: it counts with S_j(T - s), and in
 * the backward quantity
 *   D_t(j) = sum_{d <= T-1-t} p_j(d) U_j(t, t+d-1) G_t+d-1(j) + S_j(T-t) U_j(t, T-1),
 *   G_t(j) = sum_i A(j, i) D_t+1(i)  (a segment ending at t, another next),
 * kept per state in a ring of the dmax next ends.  Posteriors: segment
 * starts E_t D_t, segment ends F_t G_t, transitions F_t(i) A(i,j) D_t+1(j),
 * durations E_t(j) p_j(d) U_j(t, t+d-1) G_t+d-1(j), and for the censored
 * last segment each full duration d >= T - t in proportion to p_j(d) (the
 * exact E-step for a censored duration).  The state posterior is the
 * running sum of starts minus ends, clamped at 0 and renormalised per
 * step (rounding of the difference is below 1e-15 per segment).
 *
 * An absorbing state (no allowed exit) lasts to the end whatever its
 * duration: its ring is one running sum with S = 1 and no ends.
 *
 * With geometric durations p_j(d) = (1-a) a^(d-1) for d < dmax, the tail
 * a^(dmax-1) at dmax, and dmax >= T, the model is the HMM with self-
 * transition a: every complete segment is shorter than T <= dmax and the
 * censored one counts with S_j(d) = a^(d-1) as in the HMM (test_hsmm). */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

#define UNDERFLOW 1e-280
#define BIG 1e300

/* log-space redo of step t (see forward.c): B_t from the exact log
 * densities and the predicted occupancy a[]; 0 if every state with
 * positive occupancy is impossible. */
static int rescale(const st_hmm *m, const double *xt, size_t t, const double *a, double *b, double *logs, double *lp)
{
    size_t K = m->K;
    st_hmm_ops(m)->logpdf(m, xt, t, lp);
    double mx = -INFINITY;
    for (size_t k = 0; k < K; k++)
        if (a[k] > 0) {
            double v = log(a[k]) + lp[k];
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

/* The forward pass over B (evaluated): E, F, c, logs; returns log L. */
static double forward_pass(const st_hmm *m, const double *x, size_t T, st_hmm_ws *w)
{
    size_t K = m->K, Dm = m->dmax, D = m->D;
    double *B = w->B, *E = w->E, *F = w->F, *c = w->c, *W = w->win;
    double *g = w->u, *a = w->u + K, *b = w->u + 2 * K, *lp = w->u + 3 * K;
    double ll = 0, cprod = 1;
    for (size_t t = 0; t < T; t++) {
        double *Et = E + t * K, *Bt = B + t * K;
        if (t == 0)
            memcpy(Et, m->start, K * sizeof *Et);
        else
            st_hmm_vecmat(F + (t - 1) * K, m->trans, K, Et);
        for (size_t j = 0; j < K; j++) {
            double *Wj = W + j * Dm;
            if (st_hmm_absorbing(m, j)) {
                Wj[0] = (t ? Wj[0] * g[j] : 0) + Et[j];
                a[j] = Wj[0];
                b[j] = 0;
                continue;
            }
            const double *S = m->dsurv + j * (Dm + 1), *p = m->dprob + j * Dm;
            double aj = 0, bj = 0, gj = t ? g[j] : 0;
            size_t emax = t + 1 < Dm ? t + 1 : Dm, idx = t ? (t - 1) % Dm : 0;
            for (size_t e = 2; e <= emax; e++) { /* start s = t - e + 1 */
                double q = Wj[idx] * gj;
                Wj[idx] = q;
                aj += q * S[e - 1];
                bj += q * p[e - 1];
                idx = idx ? idx - 1 : Dm - 1;
            }
            Wj[t % Dm] = Et[j];
            a[j] = aj + Et[j] * S[0];
            b[j] = bj + Et[j] * p[0];
        }
        double cc = 0;
        for (size_t j = 0; j < K; j++)
            cc += Bt[j] * a[j];
        if (!(cc >= UNDERFLOW)) {
            if (!rescale(m, x + t * D, t, a, Bt, &w->logs[t], lp))
                return -INFINITY;
            cc = 0;
            for (size_t j = 0; j < K; j++)
                cc += Bt[j] * a[j];
        }
        c[t] = cc;
        double ic = 1 / cc, *Ft = F + t * K;
        for (size_t j = 0; j < K; j++) {
            g[j] = Bt[j] * ic;
            Ft[j] = b[j] * g[j];
        }
        ll += w->logs[t];
        cprod *= cc;
        if (!(cprod > 1e-250 && cprod < 1e250)) {
            ll += log(cprod);
            cprod = 1;
        }
    }
    return ll + log(cprod);
}

void st_hsmm_forward(const st_hmm *m, const double *x, size_t T, st_hmm_ws *w, double *logl)
{
    st_hmm_ops(m)->eval(m, x, T, w->B, w->logs);
    *logl = forward_pass(m, x, T, w);
}

void st_hsmm_fb(const st_hmm *m, const double *x, size_t T, st_hmm_ws *w, double *logl, double *xi, double *eta)
{
    size_t K = m->K, Dm = m->dmax;
    st_hsmm_forward(m, x, T, w, logl);
    if (!(*logl > -INFINITY))
        return;
    double *B = w->B, *E = w->E, *F = w->F, *c = w->c, *V = w->win + K * Dm;
    double *dn = w->u, *dc = w->u + K, *G = w->u + 2 * K, *uc = w->u + 3 * K, *H = w->u + 4 * K;
    for (size_t j = 0; j < K; j++)
        H[j] = 0;
    for (size_t t = T; t-- > 0;) {
        const double *Bt = B + t * K;
        double ic = 1 / c[t], *Et = E + t * K, *Ft = F + t * K;
        int last = t + 1 == T;
        size_t r = T - t; /* steps left, t included */
        if (!last) {
            st_hmm_matvec(m->trans, dn, K, G); /* G_t = A D_t+1 */
            if (xi)
                for (size_t i = 0; i < K; i++) {
                    double fi = Ft[i];
                    if (fi == 0)
                        continue;
                    double *row = xi + i * K;
                    for (size_t j = 0; j < K; j++)
                        row[j] += fi * dn[j];
                }
        }
        for (size_t j = 0; j < K; j++) {
            double u = Bt[j] * ic, ej = Et[j];
            int absorbing = st_hmm_absorbing(m, j);
            if (absorbing || r <= Dm) /* U_j(t, T-1), while a censored segment can start at t */
                uc[j] = last ? u : uc[j] * u;
            if (absorbing) {
                dc[j] = uc[j];
                continue;
            }
            const double *S = m->dsurv + j * (Dm + 1), *p = m->dprob + j * Dm;
            double *Vj = V + j * Dm, *ej_eta = eta ? eta + j * Dm : NULL, sum = 0;
            size_t dh = T - 1 - t < Dm ? T - 1 - t : Dm; /* complete durations 1..dh */
            size_t idx = (t + 1) % Dm;
            for (size_t d = 2; d <= dh; d++) { /* end t + d - 1 */
                double v = Vj[idx] * u;
                Vj[idx] = v;
                sum += p[d - 1] * v;
                if (ej_eta)
                    ej_eta[d - 1] += ej * p[d - 1] * v;
                idx = idx + 1 == Dm ? 0 : idx + 1;
            }
            if (!last) {
                double v = u * G[j];
                Vj[t % Dm] = v;
                sum += p[0] * v;
                if (ej_eta)
                    ej_eta[0] += ej * p[0] * v;
            }
            if (r <= Dm) { /* the censored last segment */
                sum += S[r - 1] * uc[j];
                H[j] += ej * uc[j];
                if (ej_eta)
                    ej_eta[r - 1] += p[r - 1] * H[j];
            }
            dc[j] = sum;
        }
        /* start and end posteriors in place of E and F */
        for (size_t j = 0; j < K; j++) {
            Et[j] *= dc[j];
            Ft[j] = last ? 0 : Ft[j] * G[j];
        }
        double *tmp = dn; /* D_t becomes the next step's D_t+1 */
        dn = dc;
        dc = tmp;
    }
    /* censored durations longer than the sequence */
    if (eta)
        for (size_t j = 0; j < K; j++) {
            if (st_hmm_absorbing(m, j))
                continue;
            const double *p = m->dprob + j * Dm;
            for (size_t d = T + 1; d <= Dm; d++)
                eta[j * Dm + d - 1] += p[d - 1] * H[j];
        }
    /* occupancy: starts minus ends, running */
    double *occ = G;
    for (size_t j = 0; j < K; j++)
        occ[j] = 0;
    for (size_t t = 0; t < T; t++) {
        double *gt = w->gamma + t * K, s = 0;
        for (size_t j = 0; j < K; j++) {
            occ[j] += E[t * K + j] - (t ? F[(t - 1) * K + j] : 0);
            gt[j] = occ[j] > 0 ? occ[j] : 0;
            s += gt[j];
        }
        double is = s > 0 ? 1 / s : 0;
        for (size_t j = 0; j < K; j++)
            gt[j] *= is;
    }
}

/* ------------------------------------------------------------ Viterbi */

/* log A transposed (K*K), log start (K), log p and log S (K*dmax each) */
typedef struct vit_tab {
    double *lAT, *lpi, *lp, *lS;
} vit_tab;

static int vit_tab_new(const st_hmm *m, vit_tab *v)
{
    size_t K = m->K, Dm = m->dmax;
    double *a = malloc((K * K + K + 2 * K * Dm) * sizeof *a);
    if (!a)
        return -1;
    v->lAT = a;
    v->lpi = a + K * K;
    v->lp = v->lpi + K;
    v->lS = v->lp + K * Dm;
    for (size_t i = 0; i < K; i++) {
        v->lpi[i] = log(m->start[i]);
        for (size_t j = 0; j < K; j++)
            v->lAT[j * K + i] = log(m->trans[i * K + j]);
        for (size_t d = 0; d < Dm; d++) {
            v->lp[i * Dm + d] = log(m->dprob[i * Dm + d]);
            v->lS[i * Dm + d] = log(m->dsurv[i * (Dm + 1) + d]);
        }
    }
    return 0;
}

/* Most probable segmentation of one sequence: delta_t(j), the best log
 * probability of y_0..t with a segment of j ending at t (another next);
 * in_s(j) = max_i delta_s-1(i) + log A(i, j) (log start at s = 0), the
 * argmax in ib[s][j]; a ring per state of in_s(j) + sum_{s..t} log b(j)
 * over the dmax latest starts, the best duration in db[t][j].  The last
 * segment counts with log S_j.  Absorbing states keep their best start
 * in db.  Ties go to the lower state and the shorter duration. */
static double viterbi_one(const st_hmm *m, const vit_tab *vt, const double *x, size_t T, double *lb, double *ring,
                          double *dl, int *ib, int *db, int *path)
{
    size_t K = m->K, Dm = m->dmax, D = m->D;
    const st_hmm_emis_ops *ops = st_hmm_ops(m);
    double *din = dl + K, *ab = din + K; /* delta of t-1, in_t, absorbing scores */
    int *abs_start = (int *)(ab + K);
    for (size_t t = 0; t < T; t++) {
        double *lbt = lb + t * K;
        ops->logpdf(m, x + t * D, t, lbt);
        for (size_t j = 0; j < K; j++) {
            if (t == 0) {
                din[j] = vt->lpi[j];
                ib[j] = -1;
                continue;
            }
            const double *col = vt->lAT + j * K;
            double best = -INFINITY;
            int arg = 0;
            for (size_t i = 0; i < K; i++) {
                double v = dl[i] + col[i];
                if (v > best) {
                    best = v;
                    arg = (int)i;
                }
            }
            din[j] = best;
            ib[t * K + j] = arg;
        }
        for (size_t j = 0; j < K; j++) {
            double *Rj = ring + j * Dm, lbj = lbt[j];
            if (st_hmm_absorbing(m, j)) {
                double stay = t ? ab[j] : -INFINITY;
                if (din[j] > stay) { /* a new start beats staying */
                    stay = din[j];
                    abs_start[j] = (int)t;
                }
                ab[j] = stay + lbj;
                dl[j] = -INFINITY;
                continue;
            }
            const double *lp = vt->lp + j * Dm;
            size_t emax = t + 1 < Dm ? t + 1 : Dm, idx = t % Dm;
            Rj[idx] = din[j] + lbj;
            double best = Rj[idx] + lp[0];
            int arg = 1;
            idx = idx ? idx - 1 : Dm - 1;
            for (size_t e = 2; e <= emax; e++) {
                double v = Rj[idx] + lbj;
                Rj[idx] = v;
                v += lp[e - 1];
                if (v > best) {
                    best = v;
                    arg = (int)e;
                }
                idx = idx ? idx - 1 : Dm - 1;
            }
            db[t * K + j] = arg;
            dl[j] = best;
        }
        /* the rings hold in_s + sum log b up to t; dl is delta_t: the
         * in of t+1 reads it before the next rings are updated */
    }
    /* the censored last segment */
    double best = -INFINITY;
    size_t bj = 0, bs = 0, t = T - 1;
    for (size_t j = 0; j < K; j++) {
        if (st_hmm_absorbing(m, j)) {
            if (ab[j] > best) {
                best = ab[j];
                bj = j;
                bs = (size_t)abs_start[j];
            }
            continue;
        }
        const double *Rj = ring + j * Dm, *lS = vt->lS + j * Dm;
        size_t emax = T < Dm ? T : Dm, idx = t % Dm;
        for (size_t e = 1; e <= emax; e++) {
            double v = Rj[idx] + lS[e - 1];
            if (v > best) {
                best = v;
                bj = j;
                bs = T - e;
            }
            idx = idx ? idx - 1 : Dm - 1;
        }
    }
    if (!(best > -INFINITY))
        return -INFINITY;
    size_t j = bj, s0 = bs;
    for (size_t q = s0; q < T; q++)
        path[q] = (int)j;
    while (s0 > 0) {
        size_t i = (size_t)ib[s0 * K + j], e = (size_t)db[(s0 - 1) * K + i];
        for (size_t q = s0 - e; q < s0; q++)
            path[q] = (int)i;
        s0 -= e;
        j = i;
    }
    return best;
}

int st_hsmm_viterbi(st_hmm *m, const st_hmm_data *d, int *path, double *logp, st_err *e)
{
    size_t K = m->K, Dm = m->dmax, Tmax = st_hmm_data_maxlen(d);
    vit_tab vt;
    if (vit_tab_new(m, &vt) < 0)
        return st_err_nomem(e, "Viterbi");
    long bad = -1;
    int nomem = 0;
#pragma omp parallel if (st_hmm_worth_threads(m, d))
    {
        size_t Tm = Tmax ? Tmax : 1;
        double *lb = malloc((Tm * K + K * Dm + 4 * K) * sizeof *lb);
        int *ib = malloc(2 * Tm * K * sizeof *ib);
        if (!lb || !ib) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t s = 0; s < d->nseq; s++) {
            if (!lb || !ib)
                continue;
            size_t T = d->off[s + 1] - d->off[s];
            double lp = viterbi_one(m, &vt, d->x + d->off[s] * d->D, T, lb, lb + Tm * K, lb + Tm * K + K * Dm, ib,
                                    ib + Tm * K, path + d->off[s]);
            if (logp)
                logp[s] = lp;
            if (!(lp > -INFINITY)) {
#pragma omp critical(hmm_bad)
                if (bad < 0 || (long)s < bad)
                    bad = (long)s;
            }
        }
        free(lb);
        free(ib);
    }
    free(vt.lAT);
    if (nomem)
        return st_err_nomem(e, "Viterbi workspace");
    if (bad >= 0)
        return st_err_set(e, ST_EDATA, d->source, 0, 0, "sequence %.17g has probability zero under the model",
                          d->seqid ? d->seqid[bad] : (double)bad);
    return ST_OK;
}

/* ------------------------------------------------- posterior draws */

double st_hsmm_last_weights(const st_hmm *m, const st_hmm_ws *w, size_t T, double *lastw)
{
    size_t K = m->K, Dm = m->dmax;
    double tot = 0;
    for (size_t j = 0; j < K; j++) {
        double *wj = lastw + j * T, U = 1;
        int absorbing = st_hmm_absorbing(m, j);
        const double *S = m->dsurv + j * (Dm + 1);
        for (size_t s = T; s-- > 0;) {
            U *= w->B[s * K + j] / w->c[s];
            size_t r = T - s;
            if (!absorbing && r > Dm) {
                wj[s] = 0;
                continue;
            }
            wj[s] = w->E[s * K + j] * U * (absorbing ? 1 : S[r - 1]);
        }
        for (size_t s = 0; s < T; s++)
            tot += wj[s];
    }
    return tot;
}

/* The segments backwards: the last one's (state, start) from lastw (K x T,
 * summing to lastsum), then repeatedly the state of the segment before a
 * start s, i proportional to F_s-1(i) A(i, j), and its start s' with
 * E_s'(i) p_i(s - s') U_i(s', s-1).  w holds st_hsmm_forward's E, F, B,
 * c (not the posteriors); q has K + dmax doubles. */
void st_hsmm_draw_path(const st_hmm *m, const st_hmm_ws *w, size_t T, const double *lastw, double lastsum, st_rng *r,
                       double *q, int *path)
{
    size_t K = m->K, Dm = m->dmax;
    double u = st_rng_uniform(r) * lastsum, acc = 0;
    size_t j = 0, s = 0, found = 0;
    for (size_t k = 0; k < K && !found; k++)
        for (size_t t = 0; t < T; t++) {
            acc += lastw[k * T + t];
            if (acc > u && lastw[k * T + t] > 0) {
                j = k;
                s = t;
                found = 1;
                break;
            }
        }
    if (!found) { /* rounding at the very top: the last positive weight */
        for (size_t k = 0; k < K; k++)
            for (size_t t = 0; t < T; t++)
                if (lastw[k * T + t] > 0)
                    j = k, s = t;
    }
    for (size_t t = s; t < T; t++)
        path[t] = (int)j;
    while (s > 0) {
        const double *Fs = w->F + (s - 1) * K;
        for (size_t i = 0; i < K; i++)
            q[i] = Fs[i] * m->trans[i * K + j];
        size_t i = st_rng_categorical(r, q, K);
        /* start s' of the segment of i ending at s - 1 */
        size_t emax = s < Dm ? s : Dm;
        double U = 1, *qs = q + K;
        const double *p = m->dprob + i * Dm;
        for (size_t e = 1; e <= emax; e++) { /* s' = s - e */
            size_t sp = s - e;
            U *= w->B[sp * K + i] / w->c[sp];
            qs[e - 1] = w->E[sp * K + i] * p[e - 1] * U;
        }
        size_t e = 1 + st_rng_categorical(r, qs, emax);
        for (size_t t = s - e; t < s; t++)
            path[t] = (int)i;
        s -= e;
        j = i;
    }
}

/* ------------------------------------------------------------ sampling */

void st_hsmm_sample_seq(const st_hmm *m, st_rng *r, size_t T, int *states, double *x)
{
    size_t K = m->K, D = m->D;
    const st_hmm_emis_ops *ops = st_hmm_ops(m);
    size_t k = st_rng_categorical(r, m->start, K), t = 0;
    while (t < T) {
        size_t d = st_hmm_absorbing(m, k) ? T - t : st_hmm_dur_draw(m, k, r);
        for (size_t q = 0; q < d && t < T; q++, t++) {
            states[t] = (int)k;
            ops->sample(m, k, r, x + t * D, t);
        }
        if (t < T)
            k = st_rng_categorical(r, m->trans + k * K, K);
    }
}

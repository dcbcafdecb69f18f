/* lib/hmm/hsmm.c, durations.c: hidden semi-Markov models.
 *   - forward-backward, posteriors, Viterbi and the E-step's expected
 *     transitions and duration counts equal brute-force enumeration over
 *     all K^T state paths (segments are the runs of a path; the last one
 *     censored), for durations longer and shorter than the sequence, a
 *     shift and an absorbing state;
 *   - with geometric durations (tail at dmax) and dmax >= T the HSMM is the
 *     HMM: the same log-likelihood to 1e-10; with dmax = T - 1 it is not;
 *   - posterior path draws follow the exact path posterior (chi-square);
 *   - EM recovers durations and transitions of sampled models (Poisson,
 *     negative binomial, nonparametric) within Monte Carlo error. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "hmm/internal.h"

#define LOG_2PI 1.8378770664093454836

static const double start3[] = {0.5, 0.3, 0.2};
static const double trans3[] = {0, 0.7, 0.3, 0.4, 0, 0.6, 0.5, 0.5, 0};

/* A categorical 3-state HSMM with nonparametric durations on 1..Dm. */
static st_hmm *cat3(size_t Dm, size_t shift)
{
    st_err e;
    size_t nsym[1] = {3};
    st_hmm *m;
    ck_assert_int_eq(st_hmm_new(&m, 3, 1, ST_HMM_CATEGORICAL, 0, nsym, &e), 0);
    ck_assert_int_eq(st_hmm_set_durations(m, ST_HMM_DUR_NONPAR, Dm, shift, &e), 0);
    memcpy(m->start, start3, sizeof start3);
    memcpy(m->trans, trans3, sizeof trans3);
    const double p[] = {0.6, 0.3, 0.1, 0.2, 0.2, 0.6, 0.1, 0.8, 0.1};
    memcpy(m->prob, p, sizeof p);
    for (size_t k = 0; k < 3; k++) {
        double *q = m->dprob + k * Dm, s = 0;
        for (size_t d = shift; d <= Dm; d++)
            s += q[d - 1] = 1.0 + (double)((d * (k + 2)) % 5);
        for (size_t d = shift; d <= Dm; d++)
            q[d - 1] /= s;
    }
    st_err_clear(&e);
    ck_assert_msg(st_hmm_validate(m, &e) == 0, "%s", e.msg);
    return m;
}

static double pdur(const st_hmm *m, size_t k, size_t d)
{
    return d <= m->dmax ? m->dprob[k * m->dmax + d - 1] : 0;
}

static double sdur(const st_hmm *m, size_t k, size_t d)
{
    if (st_hmm_absorbing(m, k))
        return 1;
    double s = 0;
    for (size_t q = d; q <= m->dmax; q++)
        s += pdur(m, k, q);
    return s;
}

static double ldens(const st_hmm *m, const double *x, size_t k)
{
    if (m->family == ST_HMM_CATEGORICAL)
        return log(m->prob[k * m->nsym[0] + (size_t)x[0]]);
    double v = m->var[k], r = x[0] - m->mean[k];
    return -0.5 * (LOG_2PI + log(v) + r * r / v);
}

typedef struct brute_out {
    double logl, post[64], best, xi[9], eta[3 * 16];
    int path[8];
} brute_out;

/* all K^T paths: log p(x), posteriors, best path, expected transitions and
 * durations (censored last segments spread over d >= its length by p/S) */
static void brute(const st_hmm *m, const double *x, size_t T, brute_out *o)
{
    size_t K = m->K, Dm = m->dmax, npath = 1;
    for (size_t t = 0; t < T; t++)
        npath *= K;
    double *lp = malloc(npath * sizeof *lp), tot = 0;
    int path[8];
    o->best = -INFINITY;
    for (size_t q = 0; q < npath; q++) {
        size_t r = q;
        for (size_t t = 0; t < T; t++, r /= K)
            path[t] = (int)(r % K);
        double l = log(m->start[path[0]]);
        size_t run = 1;
        for (size_t t = 0; t < T; t++) {
            l += ldens(m, x + t, (size_t)path[t]);
            if (t + 1 < T) {
                if (path[t + 1] == path[t]) {
                    run++;
                } else {
                    l += log(pdur(m, (size_t)path[t], run)) + log(m->trans[path[t] * (int)K + path[t + 1]]);
                    run = 1;
                }
            }
        }
        l += log(sdur(m, (size_t)path[T - 1], run));
        lp[q] = l;
        tot += exp(l);
        if (l > o->best) {
            o->best = l;
            memcpy(o->path, path, sizeof path);
        }
    }
    o->logl = log(tot);
    memset(o->post, 0, sizeof o->post);
    memset(o->xi, 0, sizeof o->xi);
    memset(o->eta, 0, sizeof o->eta);
    for (size_t q = 0; q < npath; q++) {
        double w = exp(lp[q]) / tot;
        if (w == 0)
            continue;
        size_t r = q;
        for (size_t t = 0; t < T; t++, r /= K)
            path[t] = (int)(r % K);
        size_t run = 1;
        for (size_t t = 0; t < T; t++) {
            o->post[t * K + (size_t)path[t]] += w;
            if (t + 1 < T && path[t + 1] == path[t]) {
                run++;
                continue;
            }
            size_t k = (size_t)path[t];
            if (t + 1 < T) {
                o->xi[k * K + (size_t)path[t + 1]] += w;
                o->eta[k * Dm + run - 1] += w;
            } else if (!st_hmm_absorbing(m, k)) { /* censored: full duration d >= run */
                double S = sdur(m, k, run);
                for (size_t d = run; d <= Dm; d++)
                    o->eta[k * Dm + d - 1] += w * pdur(m, k, d) / S;
            }
            run = 1;
        }
    }
    free(lp);
}

static void compare(st_hmm *m, const double *x, size_t T)
{
    st_err e;
    st_err_clear(&e);
    size_t K = m->K, Dm = m->dmax, len[1] = {T};
    brute_out b;
    brute(m, x, T, &b);
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, 1, len, 1, x, &e), 0);
    double ll, post[64], vlp;
    int path[8];
    ck_assert_int_eq(st_hmm_loglik(m, d, &ll, NULL, &e), 0);
    ck_assert_rel(ll, b.logl, 1e-12);
    ck_assert_int_eq(st_hmm_posterior(m, d, post, NULL, &e), 0);
    for (size_t i = 0; i < T * K; i++)
        ck_assert_near(post[i], b.post[i], 1e-12);
    ck_assert_int_eq(st_hmm_viterbi(m, d, path, &vlp, &e), 0);
    ck_assert_rel(vlp, b.best, 1e-12);
    for (size_t t = 0; t < T; t++)
        ck_assert_int_eq(path[t], b.path[t]);
    /* the E-step's statistics */
    st_hmm_ws *w = st_hmm_ws_new_for(m, T);
    double xi[9] = {0}, eta[48] = {0}, l2;
    st_hsmm_fb(m, x, T, w, &l2, xi, eta);
    ck_assert_rel(l2, b.logl, 1e-12);
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            ck_assert_near(xi[i * K + j] * m->trans[i * K + j], b.xi[i * K + j], 1e-12);
    for (size_t i = 0; i < K * Dm; i++)
        ck_assert_near(eta[i], b.eta[i], 1e-12);
    st_hmm_ws_free(w);
    st_hmm_data_free(d);
}

static const double cx[] = {0, 1, 2, 2, 0, 1, 1};

/* durations up to 4 < T = 6, up to 7 > T, with a shift of 2 */
START_TEST(test_brute)
{
    st_hmm *m = cat3(4, 1);
    compare(m, cx, 6);
    st_hmm_free(m);
    m = cat3(7, 1);
    compare(m, cx, 6);
    compare(m, cx, 1);
    st_hmm_free(m);
    m = cat3(5, 2);
    compare(m, cx, 6);
    st_hmm_free(m);
    m = cat3(2, 1);
    compare(m, cx, 7);
    st_hmm_free(m);
}
END_TEST

/* A left-right model: state 2 has no exit and lasts to the end. */
START_TEST(test_brute_absorbing)
{
    st_err e;
    st_hmm *m = cat3(3, 1);
    st_hmm_topology_mask(ST_HMM_LEFT_RIGHT, 0, 3, m->mask);
    ck_assert_int_eq(st_hmm_set_durations(m, ST_HMM_DUR_NONPAR, 3, 1, &e), 0);
    const double a[] = {0, 0.6, 0.4, 0, 0, 1, 0, 0, 0};
    memcpy(m->trans, a, sizeof a);
    const double p[] = {0.5, 0.3, 0.2, 0.2, 0.2, 0.6, 1, 0, 0};
    memcpy(m->dprob, p, sizeof p);
    const double s[] = {1, 0, 0};
    memcpy(m->start, s, sizeof s);
    st_err_clear(&e);
    ck_assert_msg(st_hmm_validate(m, &e) == 0, "%s", e.msg);
    ck_assert(st_hmm_absorbing(m, 2) && !st_hmm_absorbing(m, 1));
    compare(m, cx, 7);
    st_hmm_free(m);
}
END_TEST

/* Poisson and negative-binomial durations: the pmf on shift..dmax is the
 * truncated, renormalised distribution of shift + X. */
START_TEST(test_parametric_pmf)
{
    st_err e;
    st_hmm *m = cat3(12, 3);
    ck_assert_int_eq(st_hmm_set_durations(m, ST_HMM_DUR_POISSON, 12, 3, &e), 0);
    m->dpar[0] = 2.5;
    m->dpar[2] = 0.7;
    m->dpar[4] = 9;
    ck_assert_int_eq(st_hmm_validate(m, &e), 0);
    for (size_t k = 0; k < 3; k++) {
        double l = m->dpar[2 * k], z = 0;
        for (size_t x = 0; x <= 9; x++)
            z += exp(x * log(l) - l - lgamma(x + 1.0));
        for (size_t d = 1; d <= 12; d++) {
            double want = d < 3 ? 0 : exp((d - 3) * log(l) - l - lgamma(d - 2.0)) / z;
            ck_assert_near(m->dprob[k * 12 + d - 1], want, 1e-15);
        }
        ck_assert_near(m->dsurv[k * 13], 1, 1e-15);
    }
    compare(m, cx, 6);
    ck_assert_int_eq(st_hmm_set_durations(m, ST_HMM_DUR_NEGBIN, 12, 1, &e), 0);
    for (size_t k = 0; k < 3; k++) {
        m->dpar[2 * k] = 0.5 + (double)k;
        m->dpar[2 * k + 1] = 0.3 + 0.2 * (double)k;
    }
    ck_assert_int_eq(st_hmm_validate(m, &e), 0);
    for (size_t k = 0; k < 3; k++) {
        double r = m->dpar[2 * k], p = m->dpar[2 * k + 1], z = 0, q[12];
        for (size_t x = 0; x < 12; x++)
            z += q[x] = exp(lgamma(x + r) - lgamma(r) - lgamma(x + 1.0) + r * log(p) + x * log1p(-p));
        for (size_t d = 1; d <= 12; d++)
            ck_assert_near(m->dprob[k * 12 + d - 1], q[d - 1] / z, 1e-15);
    }
    compare(m, cx, 6);
    st_hmm_free(m);
}
END_TEST

/* Geometric durations p(d) = (1-a) a^(d-1), tail a^(dmax-1) at dmax,
 * transitions a_ij / (1 - a_ii): with dmax >= T the HSMM is the HMM (same
 * log-likelihood to 1e-10, same posteriors).  With dmax < T a complete
 * segment of length dmax gets the tail's probability and longer ones are
 * impossible, so it differs: by little at dmax = T - 1 (such a segment is
 * unlikely), clearly at dmax = 20. */
START_TEST(test_geometric_is_hmm)
{
    st_err e;
    size_t K = 3, T = 60;
    st_hmm *h;
    ck_assert_int_eq(st_hmm_new(&h, K, 1, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, &e), 0);
    const double a[] = {0.9, 0.06, 0.04, 0.05, 0.8, 0.15, 0.1, 0.2, 0.7}, s[] = {0.2, 0.5, 0.3};
    const double mu[] = {-1, 0.5, 2}, v[] = {0.5, 1, 0.8};
    memcpy(h->trans, a, sizeof a);
    memcpy(h->start, s, sizeof s);
    memcpy(h->mean, mu, sizeof mu);
    memcpy(h->var, v, sizeof v);
    ck_assert_int_eq(st_hmm_validate(h, &e), 0);
    int st[3 * 60];
    double x[3 * 60];
    ck_assert_int_eq(st_hmm_sample(h, 3, T, 4, st, x, &e), 0);
    size_t len[3] = {T, T, T};
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, 3, len, 1, x, &e), 0);
    double lh[3], th, lg[3], tg, *ph = malloc(3 * T * K * sizeof *ph), *pg = malloc(3 * T * K * sizeof *pg);
    ck_assert_int_eq(st_hmm_loglik(h, d, lh, &th, &e), 0);
    ck_assert_int_eq(st_hmm_posterior(h, d, ph, NULL, &e), 0);
    const size_t dms[] = {20, T - 1, T, T + 5};
    for (size_t di = 0; di < 4; di++) {
        size_t Dm = dms[di];
        st_hmm *g;
        ck_assert_int_eq(st_hmm_copy(&g, h, &e), 0);
        ck_assert_int_eq(st_hmm_set_durations(g, ST_HMM_DUR_NONPAR, Dm, 1, &e), 0);
        for (size_t k = 0; k < K; k++) {
            double akk = a[k * K + k];
            for (size_t j = 0; j < K; j++)
                g->trans[k * K + j] = j == k ? 0 : a[k * K + j] / (1 - akk);
            for (size_t q = 1; q <= Dm; q++)
                g->dprob[k * Dm + q - 1] = q < Dm ? (1 - akk) * pow(akk, (double)(q - 1)) : pow(akk, (double)(Dm - 1));
        }
        st_err_clear(&e);
        ck_assert_msg(st_hmm_validate(g, &e) == 0, "%s", e.msg);
        ck_assert_int_eq(st_hmm_loglik(g, d, lg, &tg, &e), 0);
        if (Dm >= T) {
            for (size_t q = 0; q < 3; q++)
                ck_assert_near(lg[q], lh[q], 1e-10);
            ck_assert_int_eq(st_hmm_posterior(g, d, pg, NULL, &e), 0);
            for (size_t i = 0; i < 3 * T * K; i++)
                ck_assert_near(pg[i], ph[i], 1e-10);
        } else {
            ck_assert_msg(fabs(tg - th) > (Dm == 20 ? 1e-3 : 0), "dmax %zu: %g", Dm, tg - th);
        }
        st_hmm_free(g);
    }
    free(ph);
    free(pg);
    st_hmm_data_free(d);
    st_hmm_free(h);
}
END_TEST

/* T = 5, K = 3: the frequencies of 40,000 drawn paths against the exact
 * path posteriors (chi-square below df + 6 sqrt(2 df)), with durations
 * shorter than the sequence. */
START_TEST(test_paths)
{
    st_err e;
    st_hmm *m = cat3(3, 1);
    size_t T = 5, K = 3, np = 40000, npath = 243, len[1] = {5};
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, 1, len, 1, cx, &e), 0);
    int *paths = malloc(T * np * sizeof *paths);
    ck_assert_int_eq(st_hmm_sample_paths(m, d, 0, 1, 0, np, 7, paths, NULL, &e), 0);
    double cnt[243] = {0}, lp[243], tot = 0;
    for (size_t p = 0; p < np; p++) {
        size_t q = 0;
        for (size_t t = T; t-- > 0;)
            q = q * K + (size_t)paths[p * T + t];
        cnt[q] += 1;
    }
    for (size_t q = 0; q < npath; q++) { /* exact: as brute() */
        int path[5];
        size_t r = q;
        for (size_t t = 0; t < T; t++, r /= K)
            path[t] = (int)(r % K);
        double l = log(m->start[path[0]]);
        size_t run = 1;
        for (size_t t = 0; t < T; t++) {
            l += ldens(m, cx + t, (size_t)path[t]);
            if (t + 1 < T) {
                if (path[t + 1] == path[t])
                    run++;
                else {
                    l += log(pdur(m, (size_t)path[t], run)) + log(m->trans[path[t] * 3 + path[t + 1]]);
                    run = 1;
                }
            }
        }
        l += log(sdur(m, (size_t)path[T - 1], run));
        lp[q] = exp(l);
        tot += lp[q];
    }
    double chi = 0, df = -1;
    for (size_t q = 0; q < npath; q++) {
        double want = lp[q] / tot * (double)np;
        if (want == 0) {
            ck_assert(cnt[q] == 0);
            continue;
        }
        chi += (cnt[q] - want) * (cnt[q] - want) / want;
        df += 1;
    }
    ck_assert_msg(chi < df + 6 * sqrt(2 * df), "chi-square %g with %g degrees of freedom", chi, df);
    free(paths);
    st_hmm_data_free(d);
    st_hmm_free(m);
}
END_TEST

/* Sample 40 sequences of 500 steps from a 3-state Gaussian HSMM and refit
 * it with the same duration family: transitions and duration parameters
 * within 6 standard errors (Poisson lambda: sqrt(lambda / n_k); negbin mean
 * r (1-p)/p: its sd / sqrt(n_k); nonparametric p(d): sqrt(p (1-p) / n_k),
 * n_k the expected number of segments of state k: T_total pi_k / mean
 * duration). */
static void recover(st_hmm_dur fam)
{
    st_err e;
    st_err_clear(&e);
    size_t K = 3, D = 1, n = 40, T = 500, Dm = 30, sh = fam == ST_HMM_DUR_NONPAR ? 1 : 2;
    st_hmm *tr;
    ck_assert_int_eq(st_hmm_new(&tr, K, D, ST_HMM_GAUSSIAN, ST_HMM_COV_DIAG, NULL, &e), 0);
    ck_assert_int_eq(st_hmm_set_durations(tr, fam, Dm, sh, &e), 0);
    const double a[] = {0, 0.7, 0.3, 0.5, 0, 0.5, 0.8, 0.2, 0}, s[] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    const double mu[] = {-2, 0, 2.5}, v[] = {0.6, 0.5, 0.8};
    memcpy(tr->trans, a, sizeof a);
    memcpy(tr->start, s, sizeof s);
    memcpy(tr->mean, mu, sizeof mu);
    memcpy(tr->var, v, sizeof v);
    if (fam == ST_HMM_DUR_POISSON) {
        const double l[] = {4, 0, 9, 0, 2, 0};
        memcpy(tr->dpar, l, sizeof l);
    } else if (fam == ST_HMM_DUR_NEGBIN) {
        const double l[] = {2, 0.3, 5, 0.5, 1.5, 0.4};
        memcpy(tr->dpar, l, sizeof l);
    } else {
        for (size_t k = 0; k < K; k++) /* a bimodal pmf: short or long stays */
            for (size_t dd = 1; dd <= Dm; dd++)
                tr->dprob[k * Dm + dd - 1] = dd == 2 + k ? 0.4 : dd == 10 + 3 * k ? 0.5 : 0.1 / (double)(Dm - 2);
    }
    ck_assert_msg(st_hmm_validate(tr, &e) == 0, "%s", e.msg);
    int *st = malloc(n * T * sizeof *st);
    double *x = malloc(n * T * sizeof *x);
    ck_assert_int_eq(st_hmm_sample(tr, n, T, 21, st, x, &e), 0);
    size_t len[40];
    for (size_t i = 0; i < n; i++)
        len[i] = T;
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, n, len, D, x, &e), 0);
    /* segments per state in the sample (the true states) */
    double nseg[3] = {0, 0, 0}, occ[3] = {0, 0, 0};
    for (size_t q = 0; q < n; q++)
        for (size_t t = 0; t < T; t++) {
            occ[st[q * T + t]] += 1;
            if (t == 0 || st[q * T + t] != st[q * T + t - 1])
                nseg[st[q * T + t]] += 1;
        }
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.K = K;
    o.family = ST_HMM_GAUSSIAN;
    o.dur = fam;
    o.dmax = Dm;
    o.dshift = sh;
    o.restarts = 3;
    o.seed = 2;
    st_hmm *fit;
    ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
    double lt;
    ck_assert_int_eq(st_hmm_loglik(tr, d, NULL, &lt, &e), 0);
    ck_assert_msg(fit->logl >= lt - 1e-6 * fabs(lt), "fit %.10g below the truth %.10g", fit->logl, lt);
    size_t perm[3]; /* states by their means */
    for (size_t k = 0; k < K; k++) {
        size_t best = 0;
        for (size_t j = 1; j < K; j++)
            if (fabs(fit->mean[j] - mu[k]) < fabs(fit->mean[best] - mu[k]))
                best = j;
        perm[k] = best;
    }
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            double p = a[i * K + j];
            ck_assert_near(fit->trans[perm[i] * K + perm[j]], p, 6 * sqrt(p * (1 - p) / nseg[i]) + 1e-12);
        }
    for (size_t k = 0; k < K; k++) {
        size_t q = perm[k];
        if (fam == ST_HMM_DUR_POISSON) {
            double l = tr->dpar[2 * k];
            ck_assert_near(fit->dpar[2 * q], l, 6 * sqrt(l / nseg[k]));
        } else if (fam == ST_HMM_DUR_NEGBIN) {
            double r = tr->dpar[2 * k], p = tr->dpar[2 * k + 1], mean = r * (1 - p) / p, var = mean / p;
            double fr = fit->dpar[2 * q], fp = fit->dpar[2 * q + 1];
            ck_assert_near(fr * (1 - fp) / fp, mean, 6 * sqrt(var / nseg[k]));
        } else {
            for (size_t dd = 1; dd <= Dm; dd++) {
                double p = tr->dprob[k * Dm + dd - 1];
                ck_assert_near(fit->dprob[q * Dm + dd - 1], p, 6 * sqrt(p * (1 - p) / nseg[k]) + 1e-9);
            }
        }
        ck_assert_near(fit->mean[q], mu[k], 6 * sqrt(v[k] / occ[k]));
    }
    ck_assert_int_eq(fit->dur, fam);
    ck_assert_int_eq(st_hmm_nparams(fit), 2 + 3 + 6 + (fam == ST_HMM_DUR_NONPAR ? 3 * 29 : fam == ST_HMM_DUR_POISSON ? 3 : 6));
    st_hmm_free(fit);
    st_hmm_free(tr);
    st_hmm_data_free(d);
    free(st);
    free(x);
}

START_TEST(test_recover_poisson) { recover(ST_HMM_DUR_POISSON); }
END_TEST
START_TEST(test_recover_negbin) { recover(ST_HMM_DUR_NEGBIN); }
END_TEST
START_TEST(test_recover_nonpar) { recover(ST_HMM_DUR_NONPAR); }
END_TEST

static Suite *hsmm_suite(void)
{
    Suite *s = suite_create("hsmm");
    TCase *tc = tcase_create("hsmm");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_brute);
    tcase_add_test(tc, test_brute_absorbing);
    tcase_add_test(tc, test_parametric_pmf);
    tcase_add_test(tc, test_geometric_is_hmm);
    tcase_add_test(tc, test_paths);
    tcase_add_test(tc, test_recover_poisson);
    tcase_add_test(tc, test_recover_negbin);
    tcase_add_test(tc, test_recover_nonpar);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(hsmm_suite)

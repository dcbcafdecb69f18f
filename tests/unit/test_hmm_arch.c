/* The example architectures shipped in data/hmm-*.yaml (issue 3: linear
 * chains S = 2..5, fully connected 3 states, cyclic 4 states, 3 symbols):
 * each is read, sampled and refitted.
 *
 * Sizes: the experiment (30,000 sequences, examples/
 * hmm-architectures/Makefile) takes minutes; a unit test must stay fast,
 * so here each model gives NSEQ = 1000 sequences of T = 50 (50,000
 * symbols).  At that size:
 *  - recovery: EM started from the truth (up to 500 iterations: the 4- and
 *    5-state chains converge very slowly) must give every free transition
 *    and emission probability within NSD standard errors of the truth.  The
 *    standard errors come from the Fisher information at the truth,
 *    estimated by the outer product of per-sequence scores, in the free
 *    probabilities of each row (the largest entry of a row is 1 minus the
 *    others).  Counting visits would understate them badly for the chains,
 *    whose states overlap.  Worst deviations seen: 1-2.5 standard errors.
 *  - selection: BIC over K-1, K, K+1 (random restarts) picks the true K for
 *    the architectures whose states are distinguishable at this size
 *    (linear-2, linear-3, full-3, cyclic-4).  The chains with 4 and 5
 *    states are not BIC-separable from K-1 even at the 30,000
 *    sequences of 50 (1.5e6 symbols): there the true model's log-likelihood
 *    beats the best (K-1)-state fit by only ~10 nats (linear-4) and ~18
 *    (linear-5), far below BIC's penalty of ~65-80 nats; sequences of ~300
 *    or more would be needed (examples/hmm-architectures, notes). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/linalg.h"
#include "hmm/hmm.h"

#define NSEQ 1000
#define T 50
#define NSD 5.0

static st_hmm *load(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/hmm-%s.yaml", getenv("top_srcdir") ? getenv("top_srcdir") : ".", name);
    st_hmm *m;
    st_err e;
    st_err_clear(&e);
    ck_assert_msg(st_hmm_read(&m, path, &e) == 0, "%s: %s", path, e.msg);
    return m;
}

static st_hmm_data *sample(const st_hmm *m, uint64_t seed)
{
    st_err e;
    int *st = malloc(NSEQ * T * sizeof *st);
    double *x = malloc(NSEQ * T * sizeof *x);
    size_t len[NSEQ];
    for (size_t s = 0; s < NSEQ; s++)
        len[s] = T;
    ck_assert_int_eq(st_hmm_sample(m, NSEQ, T, seed, st, x, &e), 0);
    st_hmm_data *d;
    ck_assert_int_eq(st_hmm_data_new(&d, NSEQ, len, 1, x, &e), 0);
    free(st);
    free(x);
    return d;
}

/* Free parameters: pointers into the model's transition and emission
 * tables, each with the reference entry of its row (the one that absorbs
 * the sum). */
typedef struct freepar {
    double *p, *ref;
} freepar;

static size_t free_params(st_hmm *m, const st_hmm *tr, const st_hmm *fit, freepar *fp)
{
    size_t K = m->K, n = 0;
    for (size_t i = 0; i < K; i++) {
        double *row = m->trans + i * K;
        size_t ref = 0;
        for (size_t j = 1; j < K; j++)
            if (tr->trans[i * K + j] > tr->trans[i * K + ref])
                ref = j;
        for (size_t j = 0; j < K; j++)
            if (j != ref && tr->mask[i * K + j] && tr->trans[i * K + j] > 0)
                fp[n++] = (freepar){row + j, row + ref};
    }
    for (size_t i = 0; i < K; i++) {
        double *row = m->prob + i * 3;
        size_t ref = 0;
        for (size_t v = 1; v < 3; v++)
            if (tr->prob[i * 3 + v] > tr->prob[i * 3 + ref])
                ref = v;
        /* a true zero that the fit moved into the interior is free too (its
         * information is taken at a small positive value) */
        for (size_t v = 0; v < 3; v++)
            if (v != ref && (tr->prob[i * 3 + v] > 0 || fit->prob[i * 3 + v] > 1e-3)) {
                if (row[v] < 1e-3) {
                    row[ref] -= 1e-3 - row[v];
                    row[v] = 1e-3;
                }
                fp[n++] = (freepar){row + v, row + ref};
            }
    }
    return n;
}

/* Per-sequence log-likelihoods with free parameter i moved by h. */
static void loglik_seq(st_hmm *m, const st_hmm_data *d, freepar *fp, size_t i, double h, double *ll)
{
    *fp[i].p += h;
    *fp[i].ref -= h;
    st_err e;
    double tot;
    ck_assert_int_eq(st_hmm_loglik(m, d, ll, &tot, &e), 0);
    *fp[i].p -= h;
    *fp[i].ref += h;
}

/* Standard errors of the free parameters and of each row's reference entry
 * from the Fisher information estimated at the truth m by the outer product
 * of the per-sequence scores (sequences are independent; their scores have
 * mean zero at the truth), scores by central differences.  Unlike the
 * observed Hessian this stays positive definite for the chains whose
 * finite-sample maximum lies on a ridge. */
static void std_errors(st_hmm *m, const st_hmm *tr, const st_hmm *fit, const st_hmm_data *d, double *se_trans,
                       double *se_prob)
{
    freepar fp[64];
    size_t P = free_params(m, tr, fit, fp), K = m->K, S = d->nseq;
    double *H = calloc(P * P, sizeof *H), *C = calloc(P * P, sizeof *C), h = 1e-5;
    double *G = malloc(P * S * sizeof *G), *lp = malloc(S * sizeof *lp), *lm = malloc(S * sizeof *lm);
    for (size_t i = 0; i < P; i++) {
        loglik_seq(m, d, fp, i, h, lp);
        loglik_seq(m, d, fp, i, -h, lm);
        for (size_t s = 0; s < S; s++)
            G[i * S + s] = (lp[s] - lm[s]) / (2 * h);
    }
    for (size_t i = 0; i < P; i++)
        for (size_t j = 0; j < P; j++) {
            double v = 0;
            for (size_t s = 0; s < S; s++)
                v += G[i * S + s] * G[j * S + s];
            H[i * P + j] = v;
        }
    free(G);
    free(lp);
    free(lm);
    for (size_t i = 0; i < P; i++)
        C[i * P + i] = 1;
    st_err e;
    ck_assert_int_eq(st_lu_solve(H, P, C, P, &e), 0); /* C = I^-1 */
    for (size_t i = 0; i < K * K; i++)
        se_trans[i] = 0;
    for (size_t i = 0; i < K * 3; i++)
        se_prob[i] = 0;
    for (size_t a = 0; a < P; a++) {
        ck_assert_msg(C[a * P + a] > 0, "information not positive definite at parameter %zu", a);
        double *tab = fp[a].p >= m->trans && fp[a].p < m->trans + K * K ? se_trans : se_prob;
        double *base = tab == se_trans ? m->trans : m->prob;
        tab[fp[a].p - base] = sqrt(C[a * P + a]);
        /* reference entry: variance of the sum of its row's free entries */
        double vr = 0;
        for (size_t b = 0; b < P; b++)
            if (fp[b].ref == fp[a].ref)
                vr += C[a * P + b];
        if (vr > 0 && vr > tab[fp[a].ref - base] * tab[fp[a].ref - base])
            tab[fp[a].ref - base] = sqrt(vr);
    }
    free(H);
    free(C);
}

static void recovery(const char *name)
{
    st_hmm *tr = load(name);
    st_hmm_data *d = sample(tr, 17);
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.init = tr;
    o.max_iter = 500;
    o.tol = 1e-10;
    st_hmm *fit;
    st_err e;
    st_err_clear(&e);
    ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
    size_t K = tr->K;
    double se_a[64], se_b[24];
    st_hmm *at;
    ck_assert_int_eq(st_hmm_copy(&at, tr, &e), 0);
    std_errors(at, tr, fit, d, se_a, se_b);
    st_hmm_free(at);
    double worst = 0;
    for (size_t i = 0; i < K; i++) {
        for (size_t j = 0; j < K; j++) {
            double a = tr->trans[i * K + j], q = fit->trans[i * K + j], sd = se_a[i * K + j];
            if (!tr->mask[i * K + j]) {
                ck_assert(q == 0.0);
                continue;
            }
            worst = fmax(worst, fabs(q - a) / sd);
            ck_assert_msg(fabs(q - a) <= NSD * sd, "%s: a[%zu][%zu] = %g, truth %g, se %g", name, i, j, q, a, sd);
        }
        for (size_t v = 0; v < 3; v++) {
            double p = tr->prob[i * 3 + v], q = fit->prob[i * 3 + v], sd = se_b[i * 3 + v];
            if (p == 0 && sd == 0) { /* still at the boundary */
                ck_assert_msg(q <= 1e-3, "%s: b[%zu][%zu] = %g, truth 0", name, i, v, q);
                continue;
            }
            worst = fmax(worst, fabs(q - p) / sd);
            ck_assert_msg(fabs(q - p) <= NSD * sd, "%s: b[%zu][%zu] = %g, truth %g, se %g", name, i, v, q, p, sd);
        }
    }
    fprintf(stderr, "%s: worst deviation %.2f se, iterations %ld\n", name, worst, fit->iterations);
    st_hmm_free(fit);
    st_hmm_free(tr);
    st_hmm_data_free(d);
}

static void selection(const char *name)
{
    st_hmm *tr = load(name);
    st_hmm_data *d = sample(tr, 29);
    size_t K = tr->K;
    double bic[3];
    for (int dk = -1; dk <= 1; dk++) {
        st_hmm_fit_opts o;
        st_hmm_fit_opts_init(&o);
        o.K = K + (size_t)dk;
        if (o.K < 1) {
            bic[dk + 1] = INFINITY;
            continue;
        }
        o.family = ST_HMM_CATEGORICAL;
        o.restarts = 2;
        o.max_iter = 150;
        o.tol = 1e-8;
        o.seed = 3;
        st_hmm *fit;
        st_err e;
        st_err_clear(&e);
        ck_assert_msg(st_hmm_fit(&fit, d, &o, &e) == 0, "%s", e.msg);
        bic[dk + 1] = st_hmm_bic(fit);
        st_hmm_free(fit);
    }
    ck_assert_msg(bic[1] < bic[0] && bic[1] < bic[2], "%s: BIC %g %g %g for K = %zu-1..%zu+1", name, bic[0], bic[1],
                  bic[2], K, K);
    st_hmm_free(tr);
    st_hmm_data_free(d);
}

START_TEST(test_recover_linear2) { recovery("linear-2"); }
END_TEST
START_TEST(test_recover_linear3) { recovery("linear-3"); }
END_TEST
START_TEST(test_recover_linear4) { recovery("linear-4"); }
END_TEST
START_TEST(test_recover_linear5) { recovery("linear-5"); }
END_TEST
START_TEST(test_recover_full3) { recovery("full-3"); }
END_TEST
START_TEST(test_recover_cyclic4) { recovery("cyclic-4"); }
END_TEST
START_TEST(test_select_linear2) { selection("linear-2"); }
END_TEST
START_TEST(test_select_linear3) { selection("linear-3"); }
END_TEST
START_TEST(test_select_full3) { selection("full-3"); }
END_TEST
START_TEST(test_select_cyclic4) { selection("cyclic-4"); }
END_TEST

static Suite *arch_suite(void)
{
    Suite *s = suite_create("hmm_arch");
    TCase *tc = tcase_create("architectures");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_recover_linear2);
    tcase_add_test(tc, test_recover_linear3);
    tcase_add_test(tc, test_recover_linear4);
    tcase_add_test(tc, test_recover_linear5);
    tcase_add_test(tc, test_recover_full3);
    tcase_add_test(tc, test_recover_cyclic4);
    tcase_add_test(tc, test_select_linear2);
    tcase_add_test(tc, test_select_linear3);
    tcase_add_test(tc, test_select_full3);
    tcase_add_test(tc, test_select_cyclic4);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(arch_suite)

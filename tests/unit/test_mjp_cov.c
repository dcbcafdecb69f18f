/* lib/mjp covariates (issue 16): rates and misclassification at covariate
 * values against their closed forms, the likelihood with time-constant and
 * time-varying covariates and time cut points against a dense reference
 * recursion written here (one Pade exponential per interval, the rates of
 * the interval's start row), the eigenbasis path against the dense path,
 * gradients in the effects against finite differences, EM = L-BFGS =
 * EM + Newton on covariate models, recovery of hazard ratios from
 * simulated data, thread invariance, data errors, and the model file round
 * trip. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "check_util.h"
#include "core/linalg.h"
#include "core/rng.h"
#include "core/stream.h"
#include "mjp/internal.h"
#include "mjp/mjp.h"

/* ------------------------------------------------------------ helpers */

static const char *COLS[] = {"seq", "t", "state", "obstype", "x", "w"};
#define NCOL 6

static st_table *table_new(void)
{
    st_table *t = calloc(1, sizeof *t);
    t->ncols = NCOL;
    t->names = calloc(NCOL, sizeof *t->names);
    t->dtypes = calloc(NCOL, sizeof *t->dtypes);
    for (size_t j = 0; j < NCOL; j++)
        t->names[j] = strdup(COLS[j]);
    t->source = strdup("test");
    return t;
}

static void table_add(st_table *t, double seq, double time, double state, double ot, double x, double w)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->data = realloc(t->data, t->cap * NCOL * sizeof *t->data);
    }
    double *r = t->data + t->nrows * NCOL;
    r[0] = seq, r[1] = time, r[2] = state, r[3] = ot, r[4] = x, r[5] = w;
    t->nrows++;
}

static void table_free(st_table *t)
{
    for (size_t j = 0; j < t->ncols; j++)
        free(t->names[j]);
    free(t->names);
    free(t->dtypes);
    free(t->data);
    free(t->source);
    free(t);
}

/* Illness-death: 0 <-> 1, 0 -> 2, 1 -> 2 (absorbing). */
static st_mjp *illness(void)
{
    static const double Q[] = {-0.35, 0.25, 0.1, 0.3, -0.5, 0.2, 0, 0, 0};
    st_mjp *m;
    st_err e;
    ck_assert_int_eq(st_mjp_new(&m, 3, &e), 0);
    memcpy(m->Q, Q, sizeof Q);
    for (size_t i = 0; i < 9; i++)
        m->allowed[i] = i / 3 != i % 3 && Q[i] > 0;
    return m;
}

/* Covariates x (on every transition) and w (on 0-1 and 1-0, shared). */
static void add_covs(st_mjp *m, const double *bx, double bw)
{
    st_err e;
    const char *names[] = {"x", "w"};
    ck_assert_int_eq(st_mjp_set_covariates(m, names, 2, &e), 0);
    ck_assert_int_eq(st_mjp_add_effects(m, "x", 0, &e), 0);
    ck_assert_int_eq(st_mjp_add_effects(m, "0-1:w", 0, &e), 0);
    ck_assert_int_eq(st_mjp_add_effects(m, "1-0:w", 0, &e), 0);
    ck_assert_int_eq(st_mjp_set_constraint(m, "w=7,7", &e), 0);
    st_mjp_number_effects(m);
    ck_assert_uint_eq(m->nbpar, 5); /* x on 4 transitions, one shared w */
    size_t K = m->K, C = m->C, q = 0;
    for (size_t ab = 0; ab < K * K; ab++) {
        if (m->bpar[ab * C] >= 0)
            m->beta[ab * C] = bx[q++];
        if (m->bpar[ab * C + 1] >= 0)
            m->beta[ab * C + 1] = bw;
    }
}

static st_mjp_data *compile(const st_table *t, const st_mjp *m, int mode, const st_mjp_censor *cs, size_t nc)
{
    st_mjp_data *d;
    st_err e;
    int rc = st_mjp_data_from_table(&d, t, m, mode, 0, cs, nc, &e);
    ck_assert_msg(rc == 0, "data: %s", e.msg);
    return d;
}

/* Reference log-likelihood: dense forward recursion interval by
 * interval, P = exp(Q(z_{k-1}) dt) by Pade, the obstypes of msm. */
static double ref_loglik(const st_mjp *m, const st_mjp_data *d)
{
    size_t K = m->K, KK = K * K, C = d->C, M = m->M ? m->M : 1;
    double ll = 0, Q[64], P[64], A[64], E[64], a[8], b[8], l[8];
    st_err e;
    for (size_t s = 0; s < d->nsubj; s++) {
        size_t k0 = d->start[s];
        for (size_t k = k0; k < d->start[s + 1]; k++) {
            const double *z = C ? d->Z + d->pat[k] * C : NULL;
            int y = d->y[k];
            if (d->mode == ST_MJP_HIDDEN)
                st_mjp_emission_at(m, z, E);
            for (size_t i = 0; i < K; i++)
                l[i] = y < 0 ? d->censor[-y - 1].member[i] : d->mode == ST_MJP_HIDDEN ? E[i * M + (size_t)y] : (int)i == y;
            if (k == k0) {
                double c = 0;
                for (size_t i = 0; i < K; i++) {
                    a[i] = (d->mode == ST_MJP_HIDDEN ? m->init[i] : 1) * l[i];
                    c += a[i];
                }
                for (size_t i = 0; i < K; i++)
                    a[i] /= c;
                if (d->mode == ST_MJP_HIDDEN)
                    ll += log(c);
                continue;
            }
            st_mjp_rates_at(m, C ? d->Z + d->pat[k - 1] * C : NULL, Q);
            double dt = d->t[k] - d->t[k - 1];
            int ot = d->mode == ST_MJP_HIDDEN ? 1 : d->obstype[k];
            for (size_t j = 0; j < KK; j++)
                A[j] = Q[j] * dt;
            ck_assert_int_eq(st_expm(A, K, P, &e), 0);
            for (size_t c2 = 0; c2 < K; c2++) {
                double acc = 0;
                for (size_t r = 0; r < K; r++)
                    if (ot == ST_MJP_OBS_EXACT)
                        acc += r == c2 ? a[r] * exp(Q[r * K + r] * dt) : a[r] * exp(Q[r * K + r] * dt) * Q[r * K + c2];
                    else
                        acc += a[r] * P[r * K + c2];
                b[c2] = acc;
            }
            if (ot == ST_MJP_OBS_DEATH)
                for (size_t c2 = 0; c2 < K; c2++) {
                    double acc = 0;
                    for (size_t r = 0; r < K; r++)
                        if (r != c2)
                            acc += b[r] * Q[r * K + c2];
                    a[c2] = acc;
                }
            else
                memcpy(a, b, K * sizeof *a);
            double c = 0;
            for (size_t i = 0; i < K; i++) {
                a[i] *= l[i];
                c += a[i];
            }
            for (size_t i = 0; i < K; i++)
                a[i] /= c;
            ll += log(c);
        }
    }
    return ll;
}

static double loglik(const st_mjp *m, const st_mjp_data *d)
{
    double ll;
    st_err e;
    int rc = st_mjp_loglik(m, d, &ll, &e);
    ck_assert_msg(rc == 0, "loglik: %s", e.msg);
    return ll;
}

/* A panel of n subjects with a binary x constant per subject and a w that
 * changes at every visit; visits at 0 and random times on (0, 8); every
 * fourth subject's last observation is an exact death (obstype 3) or a
 * censored "alive" code 9, when gen. */
static st_table *panel(size_t n, int gen, uint64_t seed)
{
    st_table *t = table_new();
    st_rng r;
    st_rng_seed(&r, seed);
    for (size_t s = 0; s < n; s++) {
        double x = st_rng_uniform(&r) < 0.5, tt = 0, w = st_rng_uniform(&r);
        int st = 0;
        size_t nv = 3 + (size_t)(4 * st_rng_uniform(&r));
        for (size_t v = 0; v < nv; v++) {
            int ot = 1;
            if (v) {
                tt += 0.2 + 2 * st_rng_uniform(&r);
                double u = st_rng_uniform(&r);
                st = st == 2 ? 2 : u < 0.15 ? 2 : u < 0.5 ? 1 - st : st;
                if (st == 2 && gen && s % 4 == 0)
                    ot = 3;
            }
            double state = st;
            if (gen && s % 4 == 1 && v == nv - 1 && st != 2)
                state = 9;
            table_add(t, (double)s, tt, state, ot, x, w);
            w += 0.3 * st_rng_uniform(&r);
            if (st == 2)
                break;
        }
    }
    return t;
}

static const double BX[] = {0.4, -0.3, 0.2, 0.5};

/* ------------------------------------------------------------- tests */

START_TEST(test_rates_at)
{
    st_mjp *m = illness();
    add_covs(m, BX, 0.7);
    m->cmean[0] = 0.5;
    m->cmean[1] = 2;
    double z[2] = {1, 3}, Q[9];
    st_mjp_rates_at(m, z, Q);
    /* x effects in cell order 0-1, 0-2, 1-0, 1-2; w on 0-1 and 1-0 */
    ck_assert_double_eq_tol(Q[1], 0.25 * exp(0.4 * 0.5 + 0.7 * 1), 1e-15);
    ck_assert_double_eq_tol(Q[2], 0.1 * exp(-0.3 * 0.5), 1e-15);
    ck_assert_double_eq_tol(Q[3], 0.3 * exp(0.2 * 0.5 + 0.7 * 1), 1e-15);
    ck_assert_double_eq_tol(Q[5], 0.2 * exp(0.5 * 0.5), 1e-15);
    ck_assert_double_eq_tol(Q[0], -(Q[1] + Q[2]), 1e-15);
    ck_assert(Q[8] == 0 && Q[6] == 0);
    /* moving the centre keeps the rates at every z */
    double zc[2] = {0.1, -1}, Q2[9];
    st_err e;
    ck_assert_int_eq(st_mjp_set_centre(m, zc, &e), 0);
    st_mjp_rates_at(m, z, Q2);
    for (size_t i = 0; i < 9; i++)
        ck_assert_double_eq_tol(Q2[i], Q[i], 1e-14);
    st_mjp_free(m);
}
END_TEST

START_TEST(test_emission_at)
{
    st_mjp *m = illness();
    static const double E[] = {0.9, 0.1, 0, 0.2, 0.7, 0.1, 0, 0, 1};
    m->E = malloc(sizeof E);
    memcpy(m->E, E, sizeof E);
    m->M = 3;
    st_err e;
    const char *names[] = {"x"};
    ck_assert_int_eq(st_mjp_set_covariates(m, names, 1, &e), 0);
    ck_assert_int_eq(st_mjp_add_misc_effects(m, "x", &e), 0);
    st_mjp_number_effects(m);
    ck_assert_uint_eq(m->negpar, 3); /* 0-1, 1-0, 1-2: the nonzero off-diagonal entries */
    m->egam[1] = 1.5;               /* cell 0-1 */
    m->egam[3] = -0.5;              /* cell 1-0 */
    double z = 2, Ez[9];
    st_mjp_emission_at(m, &z, Ez);
    /* row 0: 0.9 : 0.1 e^{3} */
    double r0 = 0.9 + 0.1 * exp(3);
    ck_assert_double_eq_tol(Ez[0], 0.9 / r0, 1e-15);
    ck_assert_double_eq_tol(Ez[1], 0.1 * exp(3) / r0, 1e-15);
    double r1 = 0.2 * exp(-1) + 0.7 + 0.1;
    ck_assert_double_eq_tol(Ez[3], 0.2 * exp(-1) / r1, 1e-15);
    ck_assert_double_eq_tol(Ez[4], 0.7 / r1, 1e-15);
    ck_assert(Ez[8] == 1);
    /* not a misclassification matrix: refused */
    st_mjp *m2 = illness();
    m2->E = malloc(6 * sizeof *m2->E);
    m2->M = 2;
    ck_assert_int_eq(st_mjp_set_covariates(m2, names, 1, &e), 0);
    ck_assert_int_eq(st_mjp_add_misc_effects(m2, "x", &e), ST_EUSAGE);
    st_mjp_free(m2);
    st_mjp_free(m);
}
END_TEST

START_TEST(test_patterns_and_centre)
{
    st_mjp *m = illness();
    add_covs(m, BX, 0.7);
    st_table *t = table_new();
    /* subject 0: x 0, w 1 then 2; subject 1: x 1, w 1, 1, 5; one-row subject 2 */
    table_add(t, 0, 0, 0, 1, 0, 1);
    table_add(t, 0, 1, 1, 1, 0, 2);
    table_add(t, 1, 0, 0, 1, 1, 1);
    table_add(t, 1, 2, 0, 1, 1, 1);
    table_add(t, 1, 3, 1, 1, 1, 5);
    table_add(t, 2, 0, 0, 1, 1, 9);
    st_mjp_data *d = compile(t, m, ST_MJP_PANEL, NULL, 0);
    ck_assert_uint_eq(d->C, 2);
    ck_assert_uint_eq(d->npat, 4); /* (0,1) (0,2) (1,1) (1,5) */
    ck_assert_uint_eq(d->pat[0], 0);
    ck_assert_uint_eq(d->pat[1], 1);
    ck_assert_uint_eq(d->pat[2], 2);
    ck_assert_uint_eq(d->pat[3], 2);
    ck_assert_uint_eq(d->pat[4], 3);
    /* means over the intervals' start rows: (0,1) (1,1) (1,1) */
    ck_assert_double_eq_tol(d->zmean[0], 2.0 / 3, 1e-15);
    ck_assert_double_eq_tol(d->zmean[1], 1, 1e-15);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m);
}
END_TEST

START_TEST(test_timecuts)
{
    st_mjp *m = illness();
    st_err e;
    double cuts[] = {2, 5};
    ck_assert_int_eq(st_mjp_set_timecuts(m, cuts, 2, &e), 0);
    st_mjp_number_effects(m);
    ck_assert_uint_eq(m->C, 2);
    ck_assert_str_eq(m->cnames[0], "timeperiod[2,5)");
    ck_assert_str_eq(m->cnames[1], "timeperiod[5,Inf)");
    ck_assert_uint_eq(m->nbpar, 8);
    /* period effects: 0-1 doubles in [2,5), halves from 5 */
    for (size_t ab = 0; ab < 9; ab++) {
        if (m->bpar[ab * 2] >= 0)
            m->beta[ab * 2] = ab == 1 ? log(2) : 0.3;
        if (m->bpar[ab * 2 + 1] >= 0)
            m->beta[ab * 2 + 1] = ab == 1 ? -log(2) : -0.2;
    }
    st_table *t = table_new();
    /* cut 2 inside (1, 3); cut 5 equal to an observation time; exact death */
    table_add(t, 0, 1, 0, 1, 0, 0);
    table_add(t, 0, 3, 1, 1, 0, 0);
    table_add(t, 0, 5, 1, 1, 0, 0);
    table_add(t, 0, 7.5, 2, 3, 0, 0);
    st_mjp_data *d = compile(t, m, ST_MJP_PANEL, NULL, 0);
    ck_assert_uint_eq(d->nobs, 5);
    ck_assert_uint_eq(d->ninserted, 1);
    ck_assert(d->t[1] == 2 && d->y[1] == -1 && d->obstype[1] == 1);
    ck_assert_int_eq(d->censor[0].member[2], 1);
    double z[2];
    for (size_t k = 0; k < 5; k++) {
        st_mjp_period_at(m, d->t[k], z);
        ck_assert(memcmp(z, d->Z + d->pat[k] * 2, sizeof z) == 0);
    }
    /* by hand: P1(1) P2(1) [row 0 -> 1], P2(2) [1 -> 1], death after 2.5 in period 3 */
    double Q1[9], Q2[9], Q3[9], A[9], P[9], X[9], Y[9], zz[2];
    zz[0] = 0, zz[1] = 0;
    st_mjp_rates_at(m, zz, Q1);
    zz[0] = 1;
    st_mjp_rates_at(m, zz, Q2);
    zz[0] = 0, zz[1] = 1;
    st_mjp_rates_at(m, zz, Q3);
    for (int i = 0; i < 9; i++)
        A[i] = Q1[i];
    st_expm(A, 3, X, &e);
    for (int i = 0; i < 9; i++)
        A[i] = Q2[i];
    st_expm(A, 3, P, &e);
    st_gemm(0, 0, 3, 3, 3, 1.0, X, P, 0.0, Y); /* 1 -> 3 through the cut at 2 */
    double want = log(Y[1]);
    for (int i = 0; i < 9; i++)
        A[i] = 2 * Q2[i];
    st_expm(A, 3, P, &e);
    want += log(P[4]);
    for (int i = 0; i < 9; i++)
        A[i] = 2.5 * Q3[i];
    st_expm(A, 3, P, &e);
    want += log(P[3] * Q3[2] + P[4] * Q3[5]);
    ck_assert_double_eq_tol(loglik(m, d), want, 1e-12);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m);
}
END_TEST

START_TEST(test_loglik_reference)
{
    /* time-constant x, time-varying w, censoring, exact deaths, both the
     * eigenbasis and the dense path */
    st_mjp *m = illness();
    add_covs(m, BX, 0.7);
    m->cmean[1] = 0.8;
    st_table *t = panel(120, 1, 5);
    st_mjp_censor cs = {.code = 9, .member = {1, 1, 0}};
    st_mjp_data *d = compile(t, m, ST_MJP_PANEL, &cs, 1);
    ck_assert_uint_gt(d->npat, 100);
    double want = ref_loglik(m, d), got = loglik(m, d);
    ck_assert_double_eq_tol(got, want, 1e-10 * fabs(want));
    mjp_eig_disable = 1;
    double dense = loglik(m, d);
    mjp_eig_disable = 0;
    ck_assert_double_eq_tol(dense, want, 1e-10 * fabs(want));
    /* plain panel (no censoring or deaths): the aggregated path */
    st_table *t2 = panel(150, 0, 6);
    st_mjp_data *d2 = compile(t2, m, ST_MJP_PANEL, NULL, 0);
    want = ref_loglik(m, d2);
    ck_assert_double_eq_tol(loglik(m, d2), want, 1e-10 * fabs(want));
    st_mjp_data_free(d2);
    table_free(t2);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m);
}
END_TEST

/* d ll / d beta and d ll / d log q0 from the per-pattern statistics. */
static void stat_gradient(const st_mjp *m, const st_mjp_data *d, double *gq0, double *gb)
{
    mjp_engine *g;
    mjp_stats s;
    st_err e;
    size_t K = m->K, KK = K * K, C = m->C;
    ck_assert_int_eq(mjp_engine_new(&g, d, &e), 0);
    ck_assert_int_eq(mjp_stats_alloc(&s, K, d->M, d->npat, &e), 0);
    ck_assert_int_eq(mjp_engine_eval(g, m, 1, &s, &e), 0);
    const double *Qp = mjp_engine_rates(g);
    memset(gq0, 0, KK * sizeof *gq0);
    memset(gb, 0, KK * C * sizeof *gb);
    for (size_t p = 0; p < d->npat; p++)
        for (size_t ab = 0; ab < KK; ab++) {
            double gq = s.G[p * KK + ab] * Qp[p * KK + ab];
            gq0[ab] += gq;
            for (size_t c = 0; c < C; c++)
                gb[ab * C + c] += gq * (d->Z[p * C + c] - m->cmean[c]);
        }
    mjp_stats_free(&s);
    mjp_engine_free(g);
}

static void check_gradients(st_mjp *m, const st_mjp_data *d, double tol)
{
    size_t K = m->K, KK = K * K, C = m->C;
    double gq0[64], gb[64 * 4];
    stat_gradient(m, d, gq0, gb);
    for (size_t ab = 0; ab < KK; ab++) {
        size_t a = ab / K;
        if (ab / K == ab % K || !m->allowed[ab])
            continue;
        double q = m->Q[ab], h = 1e-6;
        m->Q[ab] = q * exp(h), m->Q[a * K + a] -= m->Q[ab] - q;
        double lp = loglik(m, d);
        m->Q[a * K + a] += m->Q[ab] - q, m->Q[ab] = q * exp(-h), m->Q[a * K + a] -= m->Q[ab] - q;
        double lm = loglik(m, d);
        m->Q[a * K + a] += m->Q[ab] - q, m->Q[ab] = q;
        ck_assert_msg(fabs((lp - lm) / (2 * h) - gq0[ab]) < tol * fmax(1, fabs(gq0[ab])),
                      "d/dlog q0[%zu]: %g vs %g", ab, (lp - lm) / (2 * h), gq0[ab]);
        for (size_t c = 0; c < C; c++) {
            if (m->bpar[ab * C + c] < 0)
                continue;
            double b = m->beta[ab * C + c];
            m->beta[ab * C + c] = b + h;
            lp = loglik(m, d);
            m->beta[ab * C + c] = b - h;
            lm = loglik(m, d);
            m->beta[ab * C + c] = b;
            ck_assert_msg(fabs((lp - lm) / (2 * h) - gb[ab * C + c]) < tol * fmax(1, fabs(gb[ab * C + c])),
                          "d/dbeta[%zu,%zu]: %g vs %g", ab, c, (lp - lm) / (2 * h), gb[ab * C + c]);
        }
    }
}

START_TEST(test_gradient_effects)
{
    st_mjp *m = illness();
    add_covs(m, BX, 0.7);
    m->cmean[1] = 0.8;
    /* a cell-wise effect set (no sharing) so each cell has its own derivative */
    for (size_t i = 0; i < 9 * 2; i++)
        if (m->bpar[i] >= 0)
            m->bpar[i] = (int)i;
    st_table *t = panel(80, 1, 7);
    st_mjp_censor cs = {.code = 9, .member = {1, 1, 0}};
    st_mjp_data *d = compile(t, m, ST_MJP_PANEL, &cs, 1);
    check_gradients(m, d, 1e-6);
    mjp_eig_disable = 1;
    check_gradients(m, d, 1e-6);
    mjp_eig_disable = 0;
    st_mjp_data_free(d);
    table_free(t);
    /* time cut points, plain panel */
    st_mjp *m2 = illness();
    st_err e;
    double cuts[] = {3};
    ck_assert_int_eq(st_mjp_set_timecuts(m2, cuts, 1, &e), 0);
    st_mjp_number_effects(m2);
    for (size_t i = 0; i < 9; i++)
        m2->beta[i] = m2->bpar[i] >= 0 ? 0.1 * (double)i - 0.3 : 0;
    st_table *t2 = panel(100, 0, 8);
    st_mjp_data *d2 = compile(t2, m2, ST_MJP_PANEL, NULL, 0);
    ck_assert_uint_gt(d2->ninserted, 10);
    check_gradients(m2, d2, 1e-6);
    st_mjp_data_free(d2);
    table_free(t2);
    st_mjp_free(m2);
    st_mjp_free(m);
}
END_TEST

/* Simulated panel with covariates: x ~ Bernoulli(1/2), w ~ U(0, 2) per
 * subject; each subject's path from st_mjp_sample at its Q(z), starting in
 * state 0, seen at 0, 1, 2.5, 4, 6 and 8. */
typedef struct simctx {
    st_table *t;
    double x, w;
    size_t s;
    int emit;
} simctx;

static int sim_row(const double *row, size_t ncols, void *cx, st_err *e)
{
    simctx *c = cx;
    (void)ncols;
    (void)e;
    table_add(c->t, (double)c->s, row[1], c->emit ? row[3] : row[2], 1, c->x, c->w);
    return 0;
}

/* ... and with emit, the symbols seen through E(z) (the truth's initial
 * distribution then). */
static st_table *simulate_cov(const st_mjp *truth, size_t n, int emit, uint64_t seed)
{
    st_table *t = table_new();
    st_rng r;
    st_rng_seed(&r, seed);
    st_mjp *ms;
    st_err e;
    ck_assert_int_eq(st_mjp_new(&ms, truth->K, &e), 0);
    if (emit) {
        memcpy(ms->init, truth->init, truth->K * sizeof *ms->init);
        ms->M = truth->M;
        ms->E = malloc(truth->K * truth->M * sizeof *ms->E);
    } else {
        memset(ms->init, 0, truth->K * sizeof *ms->init);
        ms->init[0] = 1;
    }
    static const double times[6] = {0, 1, 2.5, 4, 6, 8};
    for (size_t s = 0; s < n; s++) {
        double z[2] = {st_rng_uniform(&r) < 0.5, 2 * st_rng_uniform(&r)};
        st_mjp_rates_at(truth, z, ms->Q);
        if (emit)
            st_mjp_emission_at(truth, z, ms->E);
        simctx ctx = {t, z[0], z[1], s, emit};
        st_mjp_sample_opts o = {.npaths = 1, .until = 8, .scheme = ST_MJP_SAMPLE_TIMES, .times = times,
                                .ntimes = 6, .emit = emit, .seed = seed * 100003 + s};
        ck_assert_int_eq(st_mjp_sample(ms, &o, sim_row, &ctx, &e), 0);
    }
    st_mjp_free(ms);
    return t;
}

static st_mjp_fit *fit_tol(st_mjp *m, const st_mjp_data *d, int method, double tol)
{
    st_mjp_fit_opts o = {.method = method, .want_se = 1, .tol = tol};
    st_mjp_fit *f;
    st_err e;
    int rc = st_mjp_fit_run(m, d, &o, &f, &e);
    ck_assert_msg(rc == 0, "fit: %s", e.msg);
    return f;
}

static st_mjp_fit *fit(st_mjp *m, const st_mjp_data *d, int method)
{
    return fit_tol(m, d, method, 1e-12);
}

START_TEST(test_fit_methods_and_recovery)
{
    st_mjp *truth = illness();
    add_covs(truth, BX, 0.7);
    truth->cmean[0] = 0.5, truth->cmean[1] = 1;
    st_table *t = simulate_cov(truth, 1500, 0, 11);
    st_mjp *m0;
    st_err e;
    ck_assert_int_eq(st_mjp_copy(&m0, truth, &e), 0);
    /* start: baseline 0.2 everywhere, no effects */
    for (size_t i = 0; i < 9; i++)
        if (m0->allowed[i])
            m0->Q[i] = 0.2;
    m0->Q[0] = -0.4, m0->Q[4] = -0.4;
    memset(m0->beta, 0, 9 * 2 * sizeof *m0->beta);
    st_mjp_data *d = compile(t, m0, ST_MJP_PANEL, NULL, 0);
    ck_assert_int_eq(st_mjp_set_centre(m0, d->zmean, &e), 0);
    const int methods[] = {ST_MJP_FIT_AUTO, ST_MJP_FIT_EM, ST_MJP_FIT_LBFGS};
    double ll[3], beta[3][18];
    st_mjp *best = NULL;
    st_mjp_fit *fb = NULL;
    for (int k = 0; k < 3; k++) {
        st_mjp *m;
        ck_assert_int_eq(st_mjp_copy(&m, m0, &e), 0);
        st_mjp_fit *f = fit(m, d, methods[k]);
        ll[k] = f->loglik;
        memcpy(beta[k], m->beta, sizeof beta[k]);
        if (k == 0) {
            best = m;
            fb = f;
        } else {
            st_mjp_fit_free(f);
            st_mjp_free(m);
        }
    }
    /* the three methods reach the same maximum */
    ck_assert_double_eq_tol(ll[1], ll[0], 1e-8 * fabs(ll[0]));
    ck_assert_double_eq_tol(ll[2], ll[0], 1e-9 * fabs(ll[0]));
    for (size_t i = 0; i < 18; i++) {
        ck_assert_double_eq_tol(beta[2][i], beta[0][i], 1e-5);
        ck_assert_double_eq_tol(beta[1][i], beta[0][i], 1e-3);
    }
    /* effects recovered within 4 standard errors */
    for (size_t i = 0; i < 18; i++) {
        int b = best->bpar[i];
        if (b < 0)
            continue;
        double se = fb->beta_se[b];
        ck_assert(isfinite(se) && se > 0 && se < 0.5);
        ck_assert_msg(fabs(best->beta[i] - truth->beta[i]) < 4 * se, "effect %zu: %g vs %g (se %g)", i, best->beta[i],
                      truth->beta[i], se);
    }
    /* baseline rates at the data's centre, against the truth moved there */
    st_mjp *tc;
    ck_assert_int_eq(st_mjp_copy(&tc, truth, &e), 0);
    ck_assert_int_eq(st_mjp_set_centre(tc, d->zmean, &e), 0);
    for (size_t i = 0; i < 9; i++)
        if (best->allowed[i])
            ck_assert_msg(fabs(best->Q[i] - tc->Q[i]) < 4 * fb->Q_se[i], "q[%zu] %g vs %g", i, best->Q[i], tc->Q[i]);
    st_mjp_free(tc);
    st_mjp_fit_free(fb);
    st_mjp_free(best);
    st_mjp_data_free(d);
    st_mjp_free(m0);
    table_free(t);
    st_mjp_free(truth);
}
END_TEST

START_TEST(test_thread_invariance)
{
#ifdef _OPENMP
    st_mjp *m0 = illness();
    add_covs(m0, BX, 0.7);
    st_mjp *truth = illness();
    add_covs(truth, BX, 0.7);
    st_table *t = simulate_cov(truth, 300, 0, 12);
    st_mjp_free(truth);
    /* time-varying w, a censored last row, an exact death */
    for (size_t i = 0; i < t->nrows; i++) {
        t->data[i * NCOL + 5] += 0.1 * t->data[i * NCOL + 1];
        if ((i + 1 == t->nrows || t->data[(i + 1) * NCOL] != t->data[i * NCOL]) && t->data[i * NCOL + 2] != 2 &&
            (size_t)t->data[i * NCOL] % 3 == 0)
            t->data[i * NCOL + 2] = 9;
        if (t->data[i * NCOL + 2] == 2 && (size_t)t->data[i * NCOL] % 3 == 1 && i > 0 &&
            t->data[(i - 1) * NCOL] == t->data[i * NCOL] && t->data[(i - 1) * NCOL + 2] != 2)
            t->data[i * NCOL + 3] = 3;
    }
    st_mjp_censor cs = {.code = 9, .member = {1, 1, 0}};
    st_mjp_data *d = compile(t, m0, ST_MJP_PANEL, &cs, 1);
    double saved = mjp_omp_min_work;
    mjp_omp_min_work = 0;
    double ll[2], Q[2][9], b[2][18];
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k ? 2 : 1);
        st_mjp *m;
        st_err e;
        ck_assert_int_eq(st_mjp_copy(&m, m0, &e), 0);
        st_mjp_fit *f = fit(m, d, ST_MJP_FIT_AUTO);
        ll[k] = f->loglik;
        memcpy(Q[k], m->Q, sizeof Q[k]);
        memcpy(b[k], m->beta, sizeof b[k]);
        st_mjp_fit_free(f);
        st_mjp_free(m);
    }
    omp_set_num_threads(1);
    mjp_omp_min_work = saved;
    ck_assert(memcmp(&ll[0], &ll[1], sizeof ll[0]) == 0);
    ck_assert(memcmp(Q[0], Q[1], sizeof Q[0]) == 0);
    ck_assert(memcmp(b[0], b[1], sizeof b[0]) == 0);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m0);
#endif
}
END_TEST

START_TEST(test_misclassification_effects)
{
    /* hidden states seen through a misclassification matrix whose
     * off-diagonal odds depend on x: likelihood against the reference,
     * EM = L-BFGS, the effect recovered */
    st_mjp *m = illness();
    static const double E[] = {0.8, 0.2, 0, 0.15, 0.85, 0, 0, 0, 1};
    m->E = malloc(sizeof E);
    memcpy(m->E, E, sizeof E);
    m->M = 3;
    m->E_fixed = 0;
    m->init[0] = 0.8, m->init[1] = 0.2, m->init[2] = 0;
    st_err e;
    const char *names[] = {"x", "w"};
    ck_assert_int_eq(st_mjp_set_covariates(m, names, 2, &e), 0);
    ck_assert_int_eq(st_mjp_add_effects(m, "x", 0, &e), 0);
    ck_assert_int_eq(st_mjp_add_misc_effects(m, "x", &e), 0);
    st_mjp_number_effects(m);
    m->egam[1 * 2] = 1.0;  /* 0-1 cell, covariate x */
    m->egam[3 * 2] = -0.5; /* 1-0 cell */
    for (size_t ab = 0; ab < 9; ab++)
        if (m->bpar[ab * 2] >= 0)
            m->beta[ab * 2] = 0.3;
    st_table *t = simulate_cov(m, 400, 1, 13);
    st_mjp_data *d = compile(t, m, ST_MJP_HIDDEN, NULL, 0);
    double want = ref_loglik(m, d);
    ck_assert_double_eq_tol(loglik(m, d), want, 1e-10 * fabs(want));
    double llm[2], g01[2], se01 = 0;
    const int methods[] = {ST_MJP_FIT_EM, ST_MJP_FIT_LBFGS};
    for (int k = 0; k < 2; k++) {
        st_mjp *mm;
        ck_assert_int_eq(st_mjp_copy(&mm, m, &e), 0);
        /* EM crawls along the flat emission directions: a looser tolerance */
        st_mjp_fit *f = fit_tol(mm, d, methods[k], k == 0 ? 1e-9 : 1e-12);
        llm[k] = f->loglik;
        g01[k] = mm->egam[1 * 2];
        ck_assert(f->egam_se && isfinite(f->egam_se[mm->egpar[1 * 2]]));
        se01 = f->egam_se[mm->egpar[1 * 2]];
        st_mjp_fit_free(f);
        st_mjp_free(mm);
    }
    /* EM converges linearly along the flat emission directions: with a
     * change per iteration of 1e-9 relative it stops below the maximum by
     * that change over (1 - rate); it must not pass it, and must be close */
    ck_assert_msg(llm[0] <= llm[1] + 1e-10 * fabs(llm[1]) && llm[1] - llm[0] < 1e-6 * fabs(llm[1]),
                  "EM %.10f, L-BFGS %.10f", llm[0], llm[1]);
    ck_assert_msg(fabs(g01[0] - g01[1]) < 0.1 * se01, "EM effect %g, L-BFGS %g (se %g)", g01[0], g01[1], se01);
    ck_assert_msg(fabs(g01[1] - 1.0) < 4 * se01, "misclassification effect %g (se %g), truth 1", g01[1], se01);
    st_mjp_data_free(d);
    table_free(t);
    st_mjp_free(m);
}
END_TEST

START_TEST(test_data_errors)
{
    st_mjp *m = illness();
    add_covs(m, BX, 0.7);
    st_table *t = table_new();
    table_add(t, 0, 0, 0, 1, 0, 1);
    table_add(t, 0, 1, 1, 1, NAN, 2);
    st_mjp_data *d;
    st_err e;
    ck_assert_int_eq(st_mjp_data_from_table(&d, t, m, ST_MJP_PANEL, 0, NULL, 0, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "subject 0, row 2: covariate 'x' is missing");
    t->data[1 * NCOL + 4] = INFINITY;
    ck_assert_int_eq(st_mjp_data_from_table(&d, t, m, ST_MJP_PANEL, 0, NULL, 0, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "subject 0, row 2: covariate 'x' is not finite");
    free(t->names[5]);
    t->names[5] = strdup("v");
    t->data[1 * NCOL + 4] = 1;
    ck_assert_int_eq(st_mjp_data_from_table(&d, t, m, ST_MJP_PANEL, 0, NULL, 0, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "no column 'w' (a covariate)");
    /* specification errors */
    st_mjp *m2 = illness();
    const char *names[] = {"x"};
    ck_assert_int_eq(st_mjp_set_covariates(m2, names, 1, &e), 0);
    ck_assert_int_eq(st_mjp_add_effects(m2, "y", 0, &e), ST_EUSAGE);
    ck_assert_int_eq(st_mjp_add_effects(m2, "2-0:x", 0, &e), ST_EUSAGE); /* not allowed */
    ck_assert_int_eq(st_mjp_add_effects(m2, "x", 0, &e), 0);
    ck_assert_int_eq(st_mjp_set_constraint(m2, "x=1,1", &e), ST_EUSAGE); /* 4 transitions */
    ck_assert_int_eq(st_mjp_set_constraint(m2, "x=1,1,2,a", &e), ST_EUSAGE);
    ck_assert_int_eq(st_mjp_set_constraint(m2, "x=1,1,2,2", &e), 0);
    st_mjp_number_effects(m2);
    ck_assert_uint_eq(m2->nbpar, 2);
    double bad[] = {3, 1};
    ck_assert_int_eq(st_mjp_set_timecuts(m2, bad, 2, &e), ST_EUSAGE);
    st_mjp_free(m2);
    table_free(t);
    st_mjp_free(m);
}
END_TEST

START_TEST(test_model_file_round_trip)
{
    st_mjp *m = illness();
    add_covs(m, BX, 0.7);
    st_err e;
    double cuts[] = {4};
    ck_assert_int_eq(st_mjp_set_timecuts(m, cuts, 1, &e), 0);
    st_mjp_number_effects(m);
    for (size_t i = 0; i < 9 * 3; i++)
        if (m->bpar[i] >= 0 && i % 3 == 2)
            m->beta[i] = -0.1 * (double)i;
    m->cmean[0] = 0.25, m->cmean[1] = 1.5, m->cmean[2] = 0.4;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    ck_assert_int_eq(st_mjp_write(fp, m, NULL, NULL, NULL, 0, &e), 0);
    fclose(fp);
    st_mjp *r;
    int rc = st_mjp_read_string(&r, buf, len, "mem", &e);
    ck_assert_msg(rc == 0, "read: %s\n%s", e.msg, buf);
    ck_assert_uint_eq(r->C, 3);
    ck_assert_uint_eq(r->ncut, 1);
    ck_assert_uint_eq(r->nbpar, m->nbpar);
    for (size_t i = 0; i < 9 * 3; i++) {
        ck_assert_int_eq(r->bpar[i] >= 0, m->bpar[i] >= 0);
        ck_assert(r->beta[i] == m->beta[i]);
    }
    double z[3] = {1, 0.3, 1}, Q1[9], Q2[9];
    st_mjp_rates_at(m, z, Q1);
    st_mjp_rates_at(r, z, Q2);
    ck_assert(memcmp(Q1, Q2, sizeof Q1) == 0);
    /* the shared w effect stays shared */
    int b01 = r->bpar[1 * 3 + 1], b10 = r->bpar[3 * 3 + 1];
    ck_assert(b01 >= 0 && b01 == b10);
    free(buf);
    st_mjp_free(r);
    st_mjp_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mjp_cov");
    struct {
        const char *name;
        const TTest *test;
    } tests[] = {
        {"rates_at", test_rates_at},
        {"emission_at", test_emission_at},
        {"patterns_and_centre", test_patterns_and_centre},
        {"timecuts", test_timecuts},
        {"loglik_reference", test_loglik_reference},
        {"gradient_effects", test_gradient_effects},
        {"fit_methods_and_recovery", test_fit_methods_and_recovery},
        {"thread_invariance", test_thread_invariance},
        {"misclassification_effects", test_misclassification_effects},
        {"data_errors", test_data_errors},
        {"model_file_round_trip", test_model_file_round_trip},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        TCase *tc = tcase_create(tests[i].name);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, tests[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

ST_CHECK_MAIN(suite)

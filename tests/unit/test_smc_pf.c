/* Particle filter and smoothers on a linear Gaussian model against the
 * exact Kalman filter and RTS smoother: filtering means, log-likelihood,
 * smoothed means of every smoother within their Monte Carlo error (from
 * independent replicates), unbiasedness of exp(log-likelihood estimate),
 * and identical results for any thread count. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "check_util.h"
#include "core/rng.h"
#include "smc/func.h"
#include "smc/model.h"
#include "smc/pf.h"
/* The exact reference is lib/ssm's Kalman filter and smoother (the code
 * ssm-forecast uses) when it is in the tree; the scalar filter below is
 * then checked against it, and used alone otherwise. */
#if defined(__has_include)
#if __has_include("ssm/kalman.h")
#define HAVE_SSM_KALMAN 1
#include "ssm/kalman.h"
#endif
#endif

/* x_1 ~ N(0, 2); x_t = 0.9 x_{t-1} + N(0, 0.5); y_t = x_t + N(0, 1). */
static const double A = 0.9, Q = 0.5, R = 1.0, M0 = 0.0, P0 = 2.0;
static const char lg_yaml[] =
    "model: pf\nversion: 1\nbuiltin: linear-gaussian\n"
    "parameters: {A: [[0.9]], Q: [[0.5]], C: [[1]], R: [[1]], m0: [0], P0: [[2]]}\n";
/* The same model as expressions (exercises the YAML path end to end). */
static const char lg_expr[] =
    "model: pf\nversion: 1\n"
    "initial: {dist: normal, mean: 0, sd: sqrt(2)}\n"
    "transition: {dist: normal, mean: 0.9 * x, sd: sqrt(0.5)}\n"
    "observation: {dist: normal, mean: x, sd: 1}\n";

enum { T = 40, TMAX = 64 };
static double ydata[TMAX];

/* Exact answers: Kalman filter and RTS smoother for the scalar model
 * (a stand-in for lib/ssm's filter until it is on main). */
typedef struct exact {
    double mf[TMAX], pf[TMAX], ms[TMAX], ps[TMAX], loglik;
} exact;

static void kalman_scalar(const double *y, size_t n, exact *k)
{
    double a = M0, P = P0, ap[TMAX], pp[TMAX];
    k->loglik = 0;
    for (size_t t = 0; t < n; t++) {
        ap[t] = a;
        pp[t] = P;
        if (isnan(y[t])) {
            k->mf[t] = a;
            k->pf[t] = P;
        } else {
            double F = P + R, v = y[t] - a, K = P / F;
            k->mf[t] = a + K * v;
            k->pf[t] = P * (1 - K);
            k->loglik += -0.5 * (log(2 * M_PI * F) + v * v / F);
        }
        a = A * k->mf[t];
        P = A * A * k->pf[t] + Q;
    }
    k->ms[n - 1] = k->mf[n - 1];
    k->ps[n - 1] = k->pf[n - 1];
    for (size_t t = n - 1; t-- > 0;) {
        double J = k->pf[t] * A / pp[t + 1];
        k->ms[t] = k->mf[t] + J * (k->ms[t + 1] - ap[t + 1]);
        k->ps[t] = k->pf[t] + J * J * (k->ps[t + 1] - pp[t + 1]);
    }
}

static void kalman(const double *y, size_t n, exact *k)
{
    kalman_scalar(y, n, k);
#ifdef HAVE_SSM_KALMAN
    st_ssm *s = NULL;
    st_err e;
    st_err_clear(&e);
    ck_assert_int_eq(st_ssm_new(&s, 1, 1, 1, &e), 0);
    s->T[0] = A;
    s->Z[0] = 1;
    s->R[0] = 1;
    s->Q[0] = Q;
    s->H[0] = R;
    s->a1[0] = M0;
    s->P1[0] = P0;
    st_kalman_out out;
    memset(&out, 0, sizeof out);
    int rc = st_kalman_smooth(s, y, n, &out, &e);
    ck_assert_msg(rc == 0, "st_kalman_smooth: %s", e.msg);
    /* P_filt is compared past t = 31 too, where lib/ssm's filter reaches
     * its steady state (it once returned the predicted variance there). */
    for (size_t t = 0; t < n; t++) {
        ck_assert_near(out.a_filt[t], k->mf[t], 1e-9);
        ck_assert_near(out.P_filt[t], k->pf[t], 1e-9);
        ck_assert_near(out.a_smooth[t], k->ms[t], 1e-9);
        ck_assert_near(out.V_smooth[t], k->ps[t], 1e-9);
        k->mf[t] = out.a_filt[t];
        k->ms[t] = out.a_smooth[t];
        k->ps[t] = out.V_smooth[t];
    }
    ck_assert_near(out.ll.loglik, k->loglik, 1e-9);
    k->loglik = out.ll.loglik;
    st_kalman_out_free(&out);
    st_ssm_free(s);
#endif
}

static void simulate(void)
{
    st_rng r;
    st_rng_seed(&r, 2024);
    double x = M0 + sqrt(P0) * st_rng_normal(&r);
    for (int t = 0; t < TMAX; t++) {
        if (t > 0)
            x = A * x + sqrt(Q) * st_rng_normal(&r);
        ydata[t] = x + sqrt(R) * st_rng_normal(&r);
    }
    ydata[9] = NAN; /* a missing observation: no weighting at step 10 */
}

static st_pf_model *load(const char *text)
{
    st_pf_model *m = NULL;
    st_err e;
    ck_assert_msg(st_pf_model_load_string(&m, text, "lg.yaml", &e) == 0, "%s", e.msg);
    return m;
}

static st_pf_result *run(const st_pf_model *m, size_t n, const st_pf_opts *o)
{
    st_pf_data d = {n, NULL, ydata, NULL};
    st_pf_result *r = NULL;
    st_err e;
    st_err_clear(&e);
    int rc = st_pf_run(m, &d, o, &r, &e);
    ck_assert_msg(rc == 0, "st_pf_run: %s", e.msg);
    return r;
}

enum { REPL = 16 };

/* Run REPL replicates (seeds 1..REPL) and check that the average smoothed
 * (or filtered) mean is within 6 standard errors of the exact one at every
 * time step; the standard error comes from the spread of the replicates.
 * Also check the estimates are informative (se below a tenth of the
 * posterior sd), so that the test has power. */
static void check_means(const st_pf_model *m, st_pf_opts o, int smoothed, const double *exact_mean,
                        const double *exact_var, const char *what)
{
    double sum[TMAX] = {0}, sum2[TMAX] = {0}, ssd[TMAX] = {0};
    for (int k = 0; k < REPL; k++) {
        o.seed = (uint64_t)k + 1;
        st_pf_result *r = run(m, T, &o);
        for (int t = 0; t < T; t++) {
            double v = smoothed ? r->smean[t] : r->fmean[t];
            sum[t] += v;
            sum2[t] += v * v;
            ssd[t] += smoothed ? r->ssd[t] : r->fsd[t];
        }
        st_pf_result_free(r);
    }
    double worst = 0;
    for (int t = 0; t < T; t++) {
        double avg = sum[t] / REPL, var = (sum2[t] - REPL * avg * avg) / (REPL - 1);
        double se = sqrt(fmax(var, 0) / REPL);
        ck_assert_msg(se > 0, "%s: no Monte Carlo spread at t = %d", what, t + 1);
        ck_assert_msg(se < 0.1 * sqrt(exact_var[t]), "%s: se %g too large at t = %d", what, se, t + 1);
        double z = fabs(avg - exact_mean[t]) / se;
        if (z > worst)
            worst = z;
        ck_assert_msg(z < 6, "%s: t = %d mean %g, exact %g, se %g (z = %.2f)", what, t + 1, avg, exact_mean[t],
                      se, z);
        /* the sd estimate too, loosely: within 25% of the exact posterior sd */
        ck_assert_msg(fabs(ssd[t] / REPL - sqrt(exact_var[t])) < 0.25 * sqrt(exact_var[t]),
                      "%s: t = %d sd %g, exact %g", what, t + 1, ssd[t] / REPL, sqrt(exact_var[t]));
    }
}

START_TEST(test_filter_and_loglik)
{
    exact k;
    kalman(ydata, T, &k);
    st_pf_model *m = load(lg_yaml), *mx = load(lg_expr);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 1000;
    check_means(m, o, 0, k.mf, k.pf, "filter (built-in)");
    check_means(mx, o, 0, k.mf, k.pf, "filter (expressions)");
    o.scheme = ST_RS_MULTINOMIAL;
    o.always = 1;
    check_means(m, o, 0, k.mf, k.pf, "filter (multinomial, always)");
    /* log-likelihood: replicates around the exact value */
    st_pf_opts_init(&o);
    o.N = 1000;
    double s = 0, s2 = 0;
    for (int i = 0; i < REPL; i++) {
        o.seed = (uint64_t)i + 100;
        st_pf_result *r = run(m, T, &o);
        s += r->loglik;
        s2 += r->loglik * r->loglik;
        double tot = 0;
        for (int t = 0; t < T; t++)
            tot += r->llinc[t];
        ck_assert_near(tot, r->loglik, 1e-9);
        ck_assert_near(r->llinc[9], 0, 1e-12); /* the missing observation */
        st_pf_result_free(r);
    }
    double avg = s / REPL, se = sqrt((s2 - REPL * avg * avg) / (REPL - 1) / REPL);
    ck_assert_msg(fabs(avg - k.loglik) < 6 * se + 1e-9, "loglik %g vs exact %g (se %g)", avg, k.loglik, se);
    ck_assert_msg(se < 0.2, "loglik se %g", se);
    st_pf_model_free(m);
    st_pf_model_free(mx);
}
END_TEST

START_TEST(test_likelihood_unbiased)
{
    /* E[exp(logL-hat)] = L: the ratio exp(logL-hat - logL) averages to 1 */
    enum { n = 15, runs = 2000 };
    exact k;
    kalman(ydata, n, &k);
    st_pf_model *m = load(lg_yaml);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 20;
    double s = 0, s2 = 0;
    for (int i = 0; i < runs; i++) {
        o.seed = (uint64_t)i + 7;
        st_pf_result *r = run(m, n, &o);
        double ratio = exp(r->loglik - k.loglik);
        s += ratio;
        s2 += ratio * ratio;
        st_pf_result_free(r);
    }
    double avg = s / runs, se = sqrt((s2 / runs - avg * avg) / runs);
    ck_assert_msg(fabs(avg - 1) < 5 * se, "mean ratio %g, se %g", avg, se);
    ck_assert(se < 0.05);
    st_pf_model_free(m);
}
END_TEST

static void smoother_case(st_smoother sm, size_t N, const char *what)
{
    exact k;
    kalman(ydata, T, &k);
    st_pf_model *m = load(lg_yaml);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = N;
    o.smoother = sm;
    check_means(m, o, 1, k.ms, k.ps, what);
    st_pf_model_free(m);
}

START_TEST(test_ffbsm) { smoother_case(ST_SM_FFBSM, 300, "ffbsm"); }
END_TEST
START_TEST(test_ffbsi) { smoother_case(ST_SM_FFBSI, 1000, "ffbsi"); }
END_TEST
START_TEST(test_paris) { smoother_case(ST_SM_PARIS, 1000, "paris"); }
END_TEST

START_TEST(test_ffbsi_exact_and_expressions)
{
    /* the exact O(N) backward draws (no rejection) and a YAML model whose
     * bound comes from its expressions */
    exact k;
    kalman(ydata, T, &k);
    st_pf_model *m = load(lg_expr);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 500;
    o.smoother = ST_SM_FFBSI;
    o.exact_backward = 1;
    check_means(m, o, 1, k.ms, k.ps, "ffbsi exact (expressions)");
    o.exact_backward = 0;
    o.smoother = ST_SM_PARIS;
    o.K = 3;
    check_means(m, o, 1, k.ms, k.ps, "paris K=3 (expressions)");
    /* the MCMC backward kernel started at the ancestors */
    o.N = 1000;
    o.K = 2;
    o.mcmc = 2;
    check_means(m, o, 1, k.ms, k.ps, "paris, MCMC kernel");
    o.smoother = ST_SM_FFBSI;
    check_means(m, o, 1, k.ms, k.ps, "ffbsi, MCMC kernel");
    st_pf_model_free(m);
}
END_TEST

START_TEST(test_hybrid_fallback)
{
    /* one rejection proposal per draw: most backward draws go to the MH
     * fallback started at the ancestor, and the smoothed means are still
     * the Kalman smoother's (the ancestor is a draw from the backward
     * kernel given the target, whatever the failed proposals were) */
    exact k;
    kalman(ydata, T, &k);
    st_pf_model *m = load(lg_yaml);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 1000;
    o.max_tries = 1;
    o.smoother = ST_SM_FFBSI;
    st_pf_result *r = run(m, T, &o);
    ck_assert_msg(r->fallback_rate > 0.3 && r->exact_rate == 0, "fallback %g, exact %g", r->fallback_rate,
                  r->exact_rate);
    st_pf_result_free(r);
    check_means(m, o, 1, k.ms, k.ps, "ffbsi, MH fallback");
    o.smoother = ST_SM_PARIS;
    check_means(m, o, 1, k.ms, k.ps, "paris, MH fallback");
    /* the default cap leaves few draws to the fallback on this model */
    o.max_tries = 0;
    r = run(m, T, &o);
    ck_assert_msg(r->fallback_rate < 0.05 && r->exact_rate == 0, "fallback %g", r->fallback_rate);
    st_pf_result_free(r);
    st_pf_model_free(m);
}
END_TEST

START_TEST(test_fixed_lag)
{
    /* the target is E[x_t | y_1..y_{t+L}]: the RTS smoother of the
     * truncated data */
    enum { L = 5 };
    exact k, kk;
    double mean[TMAX], var[TMAX];
    for (int t = 0; t < T; t++) {
        size_t n = (size_t)(t + L + 1 < T ? t + L + 1 : T);
        kalman(ydata, n, &kk);
        mean[t] = kk.ms[t];
        var[t] = kk.ps[t];
    }
    kalman(ydata, T, &k);
    st_pf_model *m = load(lg_yaml);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 1000;
    o.smoother = ST_SM_FIXEDLAG;
    o.lag = L;
    check_means(m, o, 1, mean, var, "fixed-lag");
    st_pf_model_free(m);
}
END_TEST

START_TEST(test_particle_gibbs)
{
    exact k;
    kalman(ydata, T, &k);
    st_pf_model *m = load(lg_yaml);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 100;
    o.smoother = ST_SM_PG;
    o.burn = 10;
    o.iter = 150;
    check_means(m, o, 1, k.ms, k.ps, "pg (backward sampling)");
    o.ancestor = 1;
    check_means(m, o, 1, k.ms, k.ps, "pg (ancestor sampling)");
    st_pf_model_free(m);
}
END_TEST

START_TEST(test_ppg)
{
    exact k;
    kalman(ydata, T, &k);
    st_pf_model *m = load(lg_yaml);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 100;
    o.smoother = ST_SM_PPG;
    o.burn = 5;
    o.iter = 40;
    check_means(m, o, 1, k.ms, k.ps, "ppg");
    st_pf_model_free(m);
}
END_TEST


/* Squared bias of the smoothed means summed over the first n steps, with
 * the replicates' own noise removed (E[avg^2] = bias^2 + var/R); *noise
 * gets that noise term. */
static double squared_bias(const st_pf_model *m, st_pf_opts o, size_t n, int reps, const double *exact_mean,
                           double *noise)
{
    double s[TMAX] = {0}, s2[TMAX] = {0};
    for (int k = 0; k < reps; k++) {
        o.seed = (uint64_t)k + 1;
        st_pf_result *r = run(m, n, &o);
        for (size_t t = 0; t < n; t++) {
            double v = r->smean[t] - exact_mean[t];
            s[t] += v;
            s2[t] += v * v;
        }
        st_pf_result_free(r);
    }
    double b = 0, nz = 0;
    for (size_t t = 0; t < n; t++) {
        double a = s[t] / reps, var = s2[t] / reps - a * a;
        b += a * a - var / reps;
        nz += var / reps;
    }
    *noise = nz;
    return b;
}

START_TEST(test_ppg_bias_below_paris)
{
    /* with 10 particles PaRIS is visibly biased; PPG's roll-out average
     * over conditional PaRIS runs with the same N removes most of it */
    enum { n = 20 };
    exact k;
    kalman(ydata, n, &k);
    st_pf_model *m = load(lg_yaml);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 10;
    o.smoother = ST_SM_PARIS;
    double np, nq;
    double bp = squared_bias(m, o, n, 2000, k.ms, &np);
    o.smoother = ST_SM_PPG;
    o.burn = 10;
    o.iter = 100;
    double bq = squared_bias(m, o, n, 100, k.ms, &nq);
    ck_assert_msg(bp > 10 * np, "PaRIS bias^2 %g not above its noise %g: the test has no power", bp, np);
    ck_assert_msg(bq < bp / 4, "PPG bias^2 %g (noise %g) not below PaRIS's %g / 4", bq, nq, bp);
    st_pf_model_free(m);
}
END_TEST

/* Exact E[sum x_t], E[sum x_t^2], E[sum x_t x_{t+1}] given y_1..y_n, from
 * the Kalman smoother: Cov(x_t, x_{t+1} | y) = J_t Ps_{t+1} with J_t =
 * Pf_t A / Pp_{t+1}. */
static void exact_functionals(size_t n, double *ex)
{
    exact k;
    kalman(ydata, n, &k);
    double pp[TMAX], P = P0;
    for (size_t t = 0; t < n; t++) {
        pp[t] = P;
        P = A * A * k.pf[t] + Q;
    }
    ex[0] = ex[1] = ex[2] = 0;
    for (size_t t = 0; t < n; t++) {
        ex[0] += k.ms[t];
        ex[1] += k.ps[t] + k.ms[t] * k.ms[t];
        if (t + 1 < n)
            ex[2] += k.pf[t] * A / pp[t + 1] * k.ps[t + 1] + k.ms[t] * k.ms[t + 1];
    }
}

/* Mean error of the three functionals over reps seeds and its standard
 * error. */
static void functional_bias(const st_pf_model *m, st_pf_opts o, size_t n, int reps, const double *ex,
                            double *bias, double *se)
{
    double s[3] = {0}, s2[3] = {0};
    for (int k = 0; k < reps; k++) {
        o.seed = (uint64_t)k + 1;
        st_pf_result *r = run(m, n, &o);
        ck_assert_int_eq(r->has_func, 1);
        for (int q = 0; q < 3; q++) {
            double v = r->func[q] - ex[q];
            s[q] += v;
            s2[q] += v * v;
        }
        st_pf_result_free(r);
    }
    for (int q = 0; q < 3; q++) {
        bias[q] = s[q] / reps;
        se[q] = sqrt((s2[q] / reps - bias[q] * bias[q]) / (reps - 1));
    }
}

START_TEST(test_ppg_chain)
{
    /* PPG run as a chain of one-sweep stretches, each starting from the
     * reference the previous one returned (as score ascent runs it): the
     * average over the stretches is the Kalman smoother's, replicate chains
     * giving the standard error */
    enum { CH = 8, STEPS = 60, SKIP = 10 };
    exact k;
    kalman(ydata, T, &k);
    st_pf_model *m = load(lg_yaml);
    double sum[TMAX] = {0}, sum2[TMAX] = {0}, ref[TMAX], next[TMAX], ex[3], fs[3] = {0}, fs2[3] = {0};
    exact_functionals(T, ex);
    for (int c = 0; c < CH; c++) {
        double avg[TMAX] = {0}, favg[3] = {0};
        for (int step = 0; step < STEPS; step++) {
            st_pf_opts o;
            st_pf_opts_init(&o);
            o.N = 50;
            o.smoother = ST_SM_PPG;
            o.burn = 0;
            o.iter = 1;
            o.seed = (uint64_t)(1000 * c + step + 1);
            o.ref_in = step ? ref : NULL;
            o.ref_out = next;
            st_pf_result *r = run(m, T, &o);
            if (step >= SKIP) {
                for (int t = 0; t < T; t++)
                    avg[t] += r->smean[t] / (STEPS - SKIP);
                for (int q = 0; q < 3; q++)
                    favg[q] += r->func[q] / (STEPS - SKIP);
            }
            st_pf_result_free(r);
            memcpy(ref, next, sizeof ref);
        }
        for (int t = 0; t < T; t++) {
            sum[t] += avg[t];
            sum2[t] += avg[t] * avg[t];
        }
        for (int q = 0; q < 3; q++) {
            fs[q] += favg[q];
            fs2[q] += favg[q] * favg[q];
        }
    }
    for (int q = 0; q < 3; q++) {
        double a = fs[q] / CH, se = sqrt(fmax(fs2[q] / CH - a * a, 0) / (CH - 1));
        ck_assert_msg(se > 0 && fabs(a - ex[q]) < 6 * se, "functional %d: %g vs exact %g (se %g)", q, a, ex[q], se);
    }
    for (int t = 0; t < T; t++) {
        double a = sum[t] / CH, se = sqrt(fmax(sum2[t] / CH - a * a, 0) / (CH - 1));
        ck_assert_msg(se > 0 && se < 0.15 * sqrt(k.ps[t]), "t = %d: se %g", t + 1, se);
        ck_assert_msg(fabs(a - k.ms[t]) < 6 * se, "t = %d: %g vs exact %g (se %g)", t + 1, a, k.ms[t], se);
    }
    st_pf_model_free(m);
}
END_TEST

START_TEST(test_ppg_functionals_unbiased)
{
    /* PPG's functionals are the roll-out average of its conditional PaRIS
     * passes: at N = 10 their bias is small, where PaRIS's own (what
     * --smoother ppg once wrote) is many standard errors off */
    enum { n = 20 };
    double ex[3], bp[3], sp[3], bq[3], sq[3];
    exact_functionals(n, ex);
    st_pf_model *m = load(lg_yaml);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 10;
    o.smoother = ST_SM_PARIS;
    functional_bias(m, o, n, 4000, ex, bp, sp);
    o.smoother = ST_SM_PPG;
    o.burn = 10;
    o.iter = 100;
    functional_bias(m, o, n, 200, ex, bq, sq);
    static const char *const name[] = {"sum x", "sum x^2", "sum x x1"};
    /* squared biases with the replicates' noise removed (E[b^2] = bias^2 + se^2) */
    double p2 = 0, pn = 0, q2 = 0;
    for (int q = 0; q < 3; q++) {
        p2 += bp[q] * bp[q] - sp[q] * sp[q];
        pn += sp[q] * sp[q];
        q2 += bq[q] * bq[q] - sq[q] * sq[q];
        /* PPG: no bias detectable at its Monte Carlo error */
        ck_assert_msg(fabs(bq[q]) < 4.5 * sq[q], "PPG %s: bias %g, se %g (exact %g)", name[q], bq[q], sq[q], ex[q]);
    }
    ck_assert_msg(p2 > 10 * pn, "PaRIS bias^2 %g not above its noise %g: the test has no power", p2, pn);
    ck_assert_msg(q2 < p2 / 10, "PPG bias^2 %g not below PaRIS's %g / 10", q2, p2);
    st_pf_model_free(m);
}
END_TEST

/* Exact log-likelihood of the scalar model with parameters (A, Q, C, R,
 * m0, P0) = th, by the Kalman filter (lib/ssm's when in the tree). */
static double exact_loglik(const double *th, size_t n)
{
    double a = th[4], P = th[5], ll = 0;
    for (size_t t = 0; t < n; t++) {
        if (!isnan(ydata[t])) {
            double F = th[2] * th[2] * P + th[3], v = ydata[t] - th[2] * a, K = P * th[2] / F;
            ll += -0.5 * (log(2 * M_PI * F) + v * v / F);
            a += K * v;
            P *= 1 - K * th[2];
        }
        a *= th[0];
        P = th[0] * th[0] * P + th[1];
    }
#ifdef HAVE_SSM_KALMAN
    st_ssm *s = NULL;
    st_err e;
    ck_assert_int_eq(st_ssm_new(&s, 1, 1, 1, &e), 0);
    s->T[0] = th[0];
    s->Q[0] = th[1];
    s->Z[0] = th[2];
    s->H[0] = th[3];
    s->R[0] = 1;
    s->a1[0] = th[4];
    s->P1[0] = th[5];
    st_kalman_ll kl;
    ck_assert_int_eq(st_kalman_loglik(s, ydata, n, &kl, &e), 0);
    ck_assert_near(kl.loglik, ll, 1e-9 * fabs(ll));
    ll = kl.loglik;
    st_ssm_free(s);
#endif
    return ll;
}

/* The exact score: central differences of the exact log-likelihood. */
static void exact_score(size_t n, double *g)
{
    const double th0[6] = {A, Q, 1, R, M0, P0};
    for (int k = 0; k < 6; k++) {
        double up[6], dn[6], h = 1e-5;
        memcpy(up, th0, sizeof up);
        memcpy(dn, th0, sizeof dn);
        up[k] += h;
        dn[k] -= h;
        g[k] = (exact_loglik(up, n) - exact_loglik(dn, n)) / (2 * h);
    }
}

/* Replicate the smoother with the set fs over seeds; mean and standard
 * error of each output. */
static void replicate_functionals(const st_pf_model *m, st_pf_opts o, const st_pf_funcs *fs, size_t n, int reps,
                                  double *mean, double *se)
{
    size_t nf = st_pf_funcs_count(fs);
    double s[32] = {0}, s2[32] = {0};
    o.funcs = fs;
    for (int k = 0; k < reps; k++) {
        o.seed = (uint64_t)k + 11;
        st_pf_result *r = run(m, n, &o);
        ck_assert_int_eq(r->has_func, 1);
        ck_assert_int_eq(r->nfunc, nf);
        for (size_t q = 0; q < nf; q++) {
            s[q] += r->func[q];
            s2[q] += r->func[q] * r->func[q];
        }
        st_pf_result_free(r);
    }
    for (size_t q = 0; q < nf; q++) {
        mean[q] = s[q] / reps;
        se[q] = sqrt(fmax(s2[q] / reps - mean[q] * mean[q], 0) / (reps - 1));
    }
}

/* A user's functionals (the built-in sums written as expressions) and the
 * score, by every smoother, against the exact Kalman values: within 5
 * standard errors of the replicates, and informative. */
START_TEST(test_functionals_and_score)
{
    enum { n = 30, REPS = 12 };
    double ex[3], sc[6];
    exact_functionals(n, ex);
    exact_score(n, sc);
    st_pf_model *m = load(lg_yaml);
    st_err e;
    st_pf_funcs *fs = NULL;
    ck_assert_int_eq(st_pf_funcs_new(&fs, m, &e), 0);
    ck_assert_int_eq(st_pf_funcs_add_expr(fs, "sx", "x", NULL, &e), 0);
    ck_assert_int_eq(st_pf_funcs_add_expr(fs, "sx2", "x^2", NULL, &e), 0);
    ck_assert_int_eq(st_pf_funcs_add_expr(fs, "sxx", "x_prev * x", NULL, &e), 0);
    ck_assert_int_eq(st_pf_funcs_add_score(fs, &e), 0);
    ck_assert_int_eq(st_pf_funcs_count(fs), 9);
    ck_assert_str_eq(st_pf_funcs_name(fs, 3), "score");
    ck_assert_str_eq(st_pf_funcs_component(fs, 4), "Q[0][0]");
    ck_assert_int_eq(st_pf_funcs_add_builtin(fs, "sum_y", &e), ST_EUSAGE);
    ck_assert_int_eq(st_pf_funcs_add_expr(fs, "sx", "x", NULL, &e), ST_EUSAGE);
    double want[9];
    memcpy(want, ex, sizeof ex);
    memcpy(want + 3, sc, sizeof sc);
    static const char *const what[] = {"sum x", "sum x^2", "sum x x1", "score A", "score Q",
                                       "score C", "score R", "score m0", "score P0"};
    struct {
        st_smoother sm;
        size_t N;
        const char *name;
    } cases[] = {{ST_SM_PARIS, 1000, "paris"}, {ST_SM_FFBSI, 1000, "ffbsi"}, {ST_SM_FFBSM, 300, "ffbsm"},
                 {ST_SM_PPG, 100, "ppg"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        st_pf_opts o;
        st_pf_opts_init(&o);
        o.N = cases[c].N;
        o.smoother = cases[c].sm;
        o.burn = 5;
        o.iter = 30;
        double mean[9], se[9];
        replicate_functionals(m, o, fs, n, REPS, mean, se);
        for (int q = 0; q < 9; q++) {
            ck_assert_msg(se[q] > 0 && se[q] < 0.2 * (1 + fabs(want[q])), "%s %s: se %g", cases[c].name, what[q], se[q]);
            ck_assert_msg(fabs(mean[q] - want[q]) < 5 * se[q], "%s %s: %g, exact %g (se %g, z %.1f)", cases[c].name,
                          what[q], mean[q], want[q], se[q], (mean[q] - want[q]) / se[q]);
        }
    }
    /* the expressions give PaRIS's built-in sums exactly; online the same */
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 200;
    o.smoother = ST_SM_PARIS;
    st_pf_result *a = run(m, n, &o);
    o.funcs = fs;
    st_pf_result *b = run(m, n, &o);
    o.online = 1;
    st_pf_result *c = run(m, n, &o);
    for (int q = 0; q < 3; q++)
        ck_assert(a->func[q] == b->func[q]);
    for (int q = 0; q < 9; q++)
        ck_assert(b->func[q] == c->func[q]);
    st_pf_result_free(a);
    st_pf_result_free(b);
    st_pf_result_free(c);
    st_pf_funcs_free(fs);
    st_pf_model_free(m);
}
END_TEST

/* The score of a YAML model (expression derivatives) in its own
 * parameters: the same model with phi, q, r, s0 against the exact score. */
START_TEST(test_yaml_score)
{
    enum { n = 30, REPS = 12 };
    double sc[6];
    exact_score(n, sc);
    st_pf_model *m = load("model: pf\nversion: 1\nparameters: {phi: 0.9, q: 0.5, r: 1, p0: 2}\n"
                          "initial: {dist: normal, mean: 0, sd: sqrt(p0)}\n"
                          "transition: {dist: normal, mean: phi * x, sd: sqrt(q)}\n"
                          "observation: {dist: normal, mean: x, sd: sqrt(r)}\n");
    st_err e;
    st_pf_funcs *fs = NULL;
    ck_assert_int_eq(st_pf_funcs_new(&fs, m, &e), 0);
    ck_assert_int_eq(st_pf_funcs_add_score(fs, &e), 0);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 1000;
    o.smoother = ST_SM_PARIS;
    double mean[4], se[4];
    replicate_functionals(m, o, fs, n, REPS, mean, se);
    const double want[4] = {sc[0], sc[1], sc[3], sc[5]};
    for (int q = 0; q < 4; q++)
        ck_assert_msg(fabs(mean[q] - want[q]) < 5 * se[q] && se[q] < 0.2 * (1 + fabs(want[q])),
                      "YAML score %s: %g, exact %g (se %g)", st_pf_funcs_component(fs, (size_t)q), mean[q], want[q],
                      se[q]);
    st_pf_funcs_free(fs);
    st_pf_model_free(m);
}
END_TEST

START_TEST(test_paris_functionals)
{
    /* the online functionals equal the sums of the smoothed marginals */
    st_pf_model *m = load(lg_yaml);
    st_pf_opts o;
    st_pf_opts_init(&o);
    o.N = 400;
    o.smoother = ST_SM_PARIS;
    st_pf_result *r = run(m, T, &o);
    ck_assert_int_eq(r->has_func, 1);
    double sx = 0, sx2 = 0;
    for (int t = 0; t < T; t++) {
        sx += r->smean[t];
        sx2 += r->ssd[t] * r->ssd[t] + r->smean[t] * r->smean[t];
    }
    ck_assert_near(r->func[0], sx, 1e-9 * (1 + fabs(sx)));
    ck_assert_near(r->func[1], sx2, 1e-9 * (1 + fabs(sx2)));
    /* E[sum x_t x_{t+1}] from the Kalman smoother: sum (Cov + m m) with
     * Cov(x_t, x_{t+1} | y) = J_t Ps_{t+1}; compare loosely (MC error) */
    exact k;
    kalman(ydata, T, &k);
    double a = M0, P = P0, pf_[TMAX], pp[TMAX];
    for (int t = 0; t < T; t++) {
        pp[t] = P;
        pf_[t] = k.pf[t];
        (void)a;
        P = A * A * k.pf[t] + Q;
    }
    double sxx = 0;
    for (int t = 0; t + 1 < T; t++) {
        double J = pf_[t] * A / pp[t + 1];
        sxx += J * k.ps[t + 1] + k.ms[t] * k.ms[t + 1];
    }
    ck_assert_msg(fabs(r->func[2] - sxx) < 0.05 * fabs(sxx) + 1, "sum x x1 %g vs exact %g", r->func[2], sxx);
    /* online (O(N) memory): the same functionals from the same draws */
    o.online = 1;
    st_pf_result *ro = run(m, T, &o);
    ck_assert_ptr_null(ro->smean);
    ck_assert_int_eq(ro->has_func, 1);
    for (int q = 0; q < 3; q++)
        ck_assert_near(ro->func[q], r->func[q], 1e-12 * (1 + fabs(r->func[q])));
    st_pf_result_free(ro);
    st_pf_result_free(r);
    st_pf_model_free(m);
}
END_TEST

static void same_result(const st_pf_result *a, const st_pf_result *b, size_t n)
{
    ck_assert(memcmp(a->fmean, b->fmean, n * sizeof(double)) == 0);
    ck_assert(memcmp(a->fsd, b->fsd, n * sizeof(double)) == 0);
    ck_assert(memcmp(&a->loglik, &b->loglik, sizeof(double)) == 0);
    if (a->smean)
        ck_assert(memcmp(a->smean, b->smean, n * sizeof(double)) == 0);
}

START_TEST(test_threads_identical)
{
#ifdef _OPENMP
    st_pf_model *m = load(lg_expr);
    const st_smoother sms[] = {ST_SM_NONE, ST_SM_FFBSM, ST_SM_FFBSI, ST_SM_PARIS, ST_SM_PG, ST_SM_PPG};
    for (size_t i = 0; i < sizeof sms / sizeof sms[0]; i++) {
        st_pf_opts o;
        st_pf_opts_init(&o);
        /* enough blocks for the parallel regions, the last one partial */
        o.N = sms[i] == ST_SM_FFBSM ? 2100 : 4500;
        o.smoother = sms[i];
        o.iter = 3;
        o.burn = 1;
        o.seed = 99;
        omp_set_num_threads(1);
        st_pf_result *a = run(m, 8, &o);
        omp_set_num_threads(2);
        st_pf_result *b = run(m, 8, &o);
        same_result(a, b, 8);
        st_pf_result_free(a);
        st_pf_result_free(b);
    }
    st_pf_model_free(m);
#endif
}
END_TEST

/* Log-likelihood only (the run-ahead in one parallel region) gives the
 * bits of the full filter, step by step (ESS, increments, resampling
 * decisions), for systematic resampling at every step and adaptive, and
 * for 1 and 2 threads; sizes with a partial last block. */
START_TEST(test_loglik_only_same_bits)
{
    st_pf_model *m = load(lg_expr);
    const size_t Ns[] = {2, 300, 4500};
    for (size_t k = 0; k < sizeof Ns / sizeof Ns[0]; k++)
        for (int always = 0; always < 2; always++) {
            st_pf_opts o;
            st_pf_opts_init(&o);
            o.N = Ns[k];
            o.always = always;
            o.seed = 5;
            st_pf_result *full = run(m, T, &o);
            o.loglik_only = 1;
            for (int nt = 1; nt <= 2; nt++) {
#ifdef _OPENMP
                omp_set_num_threads(nt);
#else
                if (nt == 2)
                    break;
#endif
                st_pf_result *ll = run(m, T, &o);
                ck_assert_msg(memcmp(&full->loglik, &ll->loglik, sizeof(double)) == 0,
                              "N %zu always %d threads %d: %.17g vs %.17g", Ns[k], always, nt, full->loglik,
                              ll->loglik);
                ck_assert(memcmp(full->ess, ll->ess, T * sizeof(double)) == 0);
                ck_assert(memcmp(full->llinc, ll->llinc, T * sizeof(double)) == 0);
                ck_assert(memcmp(full->resampled, ll->resampled, T * sizeof(int)) == 0);
                st_pf_result_free(ll);
            }
            st_pf_result_free(full);
        }
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    st_pf_model_free(m);
}
END_TEST

START_TEST(test_errors)
{
    st_pf_model *m = load(lg_yaml);
    st_pf_opts o;
    st_pf_opts_init(&o);
    st_pf_data d = {T, NULL, ydata, NULL};
    st_pf_result *r = NULL;
    st_err e;
    o.N = 1;
    ck_assert_int_eq(st_pf_run(m, &d, &o, &r, &e), ST_EUSAGE);
    o.N = 20000;
    o.smoother = ST_SM_FFBSM;
    ck_assert_int_eq(st_pf_run(m, &d, &o, &r, &e), ST_ENOMEM);
    ck_assert_ptr_nonnull(strstr(e.msg, "FFBSm"));
    o.N = 100;
    o.smoother = ST_SM_PARIS;
    o.K = 1;
    ck_assert_int_eq(st_pf_run(m, &d, &o, &r, &e), ST_EUSAGE);
    st_pf_model_free(m);
    /* collapse: an observation no particle can explain */
    st_pf_model *c = load("model: pf\nversion: 1\ninitial: {dist: normal, mean: 0, sd: 1}\n"
                          "transition: {dist: normal, mean: x, sd: 1}\n"
                          "observation: {dist: poisson, rate: exp(x)}\n");
    double y[3] = {1, 2, 2.5}; /* 2.5 is no count: zero density everywhere */
    st_pf_data dc = {3, NULL, y, NULL};
    st_pf_opts_init(&o);
    o.N = 50;
    ck_assert_int_eq(st_pf_run(c, &dc, &o, &r, &e), ST_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(e.msg, "time step 3"));
    /* the same from the log-likelihood-only run-ahead, and with 20 blocks
     * over 2 threads */
    o.loglik_only = 1;
    ck_assert_int_eq(st_pf_run(c, &dc, &o, &r, &e), ST_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(e.msg, "time step 3"));
    o.N = 20 * ST_PF_BLOCK;
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    ck_assert_int_eq(st_pf_run(c, &dc, &o, &r, &e), ST_ENUMERIC);
    ck_assert_ptr_nonnull(strstr(e.msg, "time step 3"));
    st_pf_model_free(c);
    /* an error inside a block at step 2 (a negative sd for x > 3 after a
     * jump), reported for the lowest block by both paths */
    st_pf_model *bad = load("model: pf\nversion: 1\ninitial: {dist: normal, mean: 0, sd: 1}\n"
                            "transition: {dist: normal, mean: x + 10 * t, sd: 1}\n"
                            "observation: {dist: normal, mean: x, sd: 'x < 15 ? 1 : -1'}\n");
    double yb[3] = {0, 10, 20};
    st_pf_data db = {3, NULL, yb, NULL};
    char msg[2][512];
    for (int ll = 0; ll < 2; ll++) {
        st_pf_opts_init(&o);
        o.N = 20 * ST_PF_BLOCK;
        o.loglik_only = ll;
        ck_assert_int_eq(st_pf_run(bad, &db, &o, &r, &e), ST_EDATA);
        snprintf(msg[ll], sizeof msg[ll], "%s", e.msg);
        ck_assert_msg(strstr(e.msg, "time step 2") != NULL, "%s", e.msg);
    }
    ck_assert_str_eq(msg[0], msg[1]);
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    st_pf_model_free(bad);
}
END_TEST

static Suite *make_suite(void)
{
#ifdef _OPENMP
    /* sleeping rather than spinning OpenMP waits: spinning threads make a
     * loaded machine many times slower (see tools/pf-smooth.c) */
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execl("/proc/self/exe", "test_smc_pf", (char *)NULL);
    }
#endif
    simulate();
    Suite *s = suite_create("smc_pf");
    TCase *tc_filter_and_loglik = tcase_create("filter_and_loglik");
    tcase_set_timeout(tc_filter_and_loglik, 120);
    tcase_add_test(tc_filter_and_loglik, test_filter_and_loglik);
    suite_add_tcase(s, tc_filter_and_loglik);
    TCase *tc_likelihood_unbiased = tcase_create("likelihood_unbiased");
    tcase_set_timeout(tc_likelihood_unbiased, 120);
    tcase_add_test(tc_likelihood_unbiased, test_likelihood_unbiased);
    suite_add_tcase(s, tc_likelihood_unbiased);
    TCase *tc_ppgf = tcase_create("ppg_functionals");
    tcase_set_timeout(tc_ppgf, 120);
    tcase_add_test(tc_ppgf, test_ppg_functionals_unbiased);
    suite_add_tcase(s, tc_ppgf);
    TCase *tc_pc = tcase_create("ppg_chain");
    tcase_set_timeout(tc_pc, 120);
    tcase_add_test(tc_pc, test_ppg_chain);
    suite_add_tcase(s, tc_pc);
    TCase *tc_hy = tcase_create("hybrid_fallback");
    tcase_set_timeout(tc_hy, 120);
    tcase_add_test(tc_hy, test_hybrid_fallback);
    suite_add_tcase(s, tc_hy);
    TCase *tc_fs = tcase_create("functionals_and_score");
    tcase_set_timeout(tc_fs, 120);
    tcase_add_test(tc_fs, test_functionals_and_score);
    tcase_add_test(tc_fs, test_yaml_score);
    suite_add_tcase(s, tc_fs);
    TCase *tc_ffbsm = tcase_create("ffbsm");
    tcase_set_timeout(tc_ffbsm, 120);
    tcase_add_test(tc_ffbsm, test_ffbsm);
    suite_add_tcase(s, tc_ffbsm);
    TCase *tc_ffbsi = tcase_create("ffbsi");
    tcase_set_timeout(tc_ffbsi, 120);
    tcase_add_test(tc_ffbsi, test_ffbsi);
    suite_add_tcase(s, tc_ffbsi);
    TCase *tc_paris = tcase_create("paris");
    tcase_set_timeout(tc_paris, 120);
    tcase_add_test(tc_paris, test_paris);
    suite_add_tcase(s, tc_paris);
    TCase *tc_ffbsi_exact_and_expressions = tcase_create("ffbsi_exact_and_expressions");
    tcase_set_timeout(tc_ffbsi_exact_and_expressions, 120);
    tcase_add_test(tc_ffbsi_exact_and_expressions, test_ffbsi_exact_and_expressions);
    suite_add_tcase(s, tc_ffbsi_exact_and_expressions);
    TCase *tc_fixed_lag = tcase_create("fixed_lag");
    tcase_set_timeout(tc_fixed_lag, 120);
    tcase_add_test(tc_fixed_lag, test_fixed_lag);
    suite_add_tcase(s, tc_fixed_lag);
    TCase *tc_particle_gibbs = tcase_create("particle_gibbs");
    tcase_set_timeout(tc_particle_gibbs, 120);
    tcase_add_test(tc_particle_gibbs, test_particle_gibbs);
    suite_add_tcase(s, tc_particle_gibbs);
    TCase *tc_ppg = tcase_create("ppg");
    tcase_set_timeout(tc_ppg, 120);
    tcase_add_test(tc_ppg, test_ppg);
    suite_add_tcase(s, tc_ppg);
    TCase *tc_ppg_bias = tcase_create("ppg_bias");
    tcase_set_timeout(tc_ppg_bias, 120);
    tcase_add_test(tc_ppg_bias, test_ppg_bias_below_paris);
    suite_add_tcase(s, tc_ppg_bias);
    TCase *tc_paris_functionals = tcase_create("paris_functionals");
    tcase_set_timeout(tc_paris_functionals, 120);
    tcase_add_test(tc_paris_functionals, test_paris_functionals);
    suite_add_tcase(s, tc_paris_functionals);
    TCase *tc_ll = tcase_create("loglik_only");
    tcase_set_timeout(tc_ll, 120);
    tcase_add_test(tc_ll, test_loglik_only_same_bits);
    suite_add_tcase(s, tc_ll);
    TCase *tc_threads_identical = tcase_create("threads_identical");
    tcase_set_timeout(tc_threads_identical, 120);
    tcase_add_test(tc_threads_identical, test_threads_identical);
    suite_add_tcase(s, tc_threads_identical);
    TCase *tc_errors = tcase_create("errors");
    tcase_set_timeout(tc_errors, 120);
    tcase_add_test(tc_errors, test_errors);
    suite_add_tcase(s, tc_errors);
    return s;
}

ST_CHECK_MAIN(make_suite)

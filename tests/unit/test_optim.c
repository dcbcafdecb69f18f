/* optim: NLopt wrapper on Rosenbrock (known minimum (1,1)), finite
 * differences against analytic derivatives, transforms round trips and
 * stationarity of the AR transform. */
#include "config.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/linalg.h"
#include "core/optim.h"
#include "core/rng.h"

/* ---------- objectives ---------- */

/* Rosenbrock: 100 (y - x^2)^2 + (1 - x)^2, minimum 0 at (1, 1). */
static double rosenbrock(const double *x, double *g, void *ctx)
{
    int *calls = ctx;
    if (calls)
        (*calls)++;
    double a = x[1] - x[0] * x[0], b = 1.0 - x[0];
    if (g) {
        g[0] = -400.0 * a * x[0] - 2.0 * b;
        g[1] = 200.0 * a;
    }
    return 100.0 * a * a + b * b;
}

/* Rosenbrock that is infeasible (+inf) for x < -1.5 or NaN for y > 3. */
static double rosenbrock_walled(const double *x, double *g, void *ctx)
{
    int *calls = ctx;
    if (calls)
        (*calls)++;
    if (x[0] < -1.5)
        return INFINITY;
    if (x[1] > 3.0)
        return NAN;
    return rosenbrock(x, g, NULL);
}

/* Infeasible (+inf) just beyond the minimum: x > 1.05 or y > 1.05^2. */
static double rosenbrock_tight(const double *x, double *g, void *ctx)
{
    int *calls = ctx;
    if (calls)
        (*calls)++;
    if (x[0] > 1.05 || x[1] > 1.1025)
        return INFINITY;
    return rosenbrock(x, g, NULL);
}

static double always_inf(const double *x, double *g, void *ctx)
{
    (void)x;
    (void)g;
    (void)ctx;
    return INFINITY;
}

static void run_rosenbrock(st_optim_method m, st_objective f, const double *start, double tol)
{
    double x[2] = {start[0], start[1]};
    st_optim_opts o = {0};
    o.method = m;
    o.max_eval = 20000;
    o.xtol_rel = 1e-12;
    o.ftol_rel = 1e-16;
    st_optim_result res;
    st_err e;
    int calls = 0;
    ck_assert_int_eq(st_optim_minimize(f, &calls, x, 2, &o, &res, &e), 0);
    ck_assert_msg(fabs(x[0] - 1) < tol && fabs(x[1] - 1) < tol,
                  "method %d: x = (%.10g, %.10g), status %s, %d evals", (int)m, x[0], x[1],
                  res.status, res.nevals);
    ck_assert_double_le(res.fmin, 1e-10);
    ck_assert_int_eq(res.nevals, calls);
    ck_assert_int_gt(res.nevals, 0);
}

START_TEST(test_rosenbrock)
{
    const double start[2] = {-1.2, 1.0};
    run_rosenbrock(ST_OPT_LBFGS, rosenbrock, start, 1e-6);
    run_rosenbrock(ST_OPT_BOBYQA, rosenbrock, start, 1e-6);
    run_rosenbrock(ST_OPT_NELDERMEAD, rosenbrock, start, 1e-6);
    /* Infeasible regions (inf and NaN) are backed off from. */
    run_rosenbrock(ST_OPT_NELDERMEAD, rosenbrock_walled, start, 1e-6);
    run_rosenbrock(ST_OPT_LBFGS, rosenbrock_walled, start, 1e-6);
    run_rosenbrock(ST_OPT_BOBYQA, rosenbrock_walled, start, 1e-6);
    /* Walls just beyond the optimum (x > 1.05 or y > 1.1025 infeasible):
     * overshooting trial steps hit them from several starts. */
    static const double starts[4][2] = {{-1.2, 1.0}, {0.0, 0.0}, {0.9, 0.5}, {-1.0, -1.0}};
    for (int m = 0; m < 3; m++)
        for (int s0 = 0; s0 < 4; s0++)
            run_rosenbrock((st_optim_method)m, rosenbrock_tight, starts[s0], 1e-6);
}
END_TEST

START_TEST(test_status_and_bounds)
{
    st_err e;
    st_optim_result res;
    st_optim_opts o = {0};
    double x[2] = {-1.2, 1.0};
    /* Converged run reports so. */
    ck_assert_int_eq(st_optim_minimize(rosenbrock, NULL, x, 2, NULL, &res, &e), 0);
    ck_assert_int_eq(res.converged, 1);
    ck_assert_str_eq(res.status, "converged");
    /* An evaluation budget of 10 is not enough: max-eval, not an error. */
    o.method = ST_OPT_NELDERMEAD;
    o.max_eval = 10;
    x[0] = -1.2;
    x[1] = 1.0;
    ck_assert_int_eq(st_optim_minimize(rosenbrock, NULL, x, 2, &o, &res, &e), 0);
    ck_assert_msg(res.converged == 0, "nlopt code %d", res.nlopt_code);
    ck_assert_str_eq(res.status, "max-eval");
    ck_assert_int_le(res.nevals, 10);
    ck_assert_near(res.fmin, rosenbrock(x, NULL, NULL), 0.0);
    /* Bounds: minimum of Rosenbrock on x <= 0.5 is on the boundary; the
     * start outside the box is clamped into it. */
    const double lo[2] = {-2.0, -2.0}, hi[2] = {0.5, 2.0};
    o.method = ST_OPT_BOBYQA;
    o.max_eval = 5000;
    o.lower = lo;
    o.upper = hi;
    x[0] = 1.5;
    x[1] = 1.0;
    ck_assert_int_eq(st_optim_minimize(rosenbrock, NULL, x, 2, &o, &res, &e), 0);
    /* On x = 0.5 the best y is 0.25, f = 0.25. */
    ck_assert_near(x[0], 0.5, 1e-8);
    ck_assert_near(x[1], 0.25, 1e-6);
    ck_assert_near(res.fmin, 0.25, 1e-10);
    /* Never finite: an error, with a message. */
    x[0] = 0;
    x[1] = 0;
    o.lower = o.upper = NULL;
    o.method = ST_OPT_NELDERMEAD;
    o.max_eval = 50;
    ck_assert_int_eq(st_optim_minimize(always_inf, NULL, x, 2, &o, &res, &e), ST_ENUMERIC);
    ck_assert_str_eq(res.status, "failed");
    ck_assert_int_eq(res.converged, 0);
    /* Non-finite start and bad method are refused. */
    x[0] = NAN;
    ck_assert_int_eq(st_optim_minimize(rosenbrock, NULL, x, 2, NULL, &res, &e), ST_EDATA);
    x[0] = 0;
    o.method = (st_optim_method)42;
    ck_assert_int_eq(st_optim_minimize(rosenbrock, NULL, x, 2, &o, &res, &e), ST_EUSAGE);
}
END_TEST

/* ---------- finite differences ---------- */

/* Quadratic 0.5 x^T A x + b^T x: gradient A x + b, Hessian A exactly. */
typedef struct {
    size_t n;
    const double *A, *b;
} quad;

static double quadratic(const double *x, double *g, void *ctx)
{
    const quad *q = ctx;
    double f = 0.0;
    for (size_t i = 0; i < q->n; i++) {
        double ax = 0.0;
        for (size_t j = 0; j < q->n; j++)
            ax += q->A[i * q->n + j] * x[j];
        f += 0.5 * x[i] * ax + q->b[i] * x[i];
        if (g)
            g[i] = ax + q->b[i];
    }
    return f;
}

/* f = exp(x0) x1^2 + sin(x1 x2): a non-quadratic with known derivatives. */
static double smooth3(const double *x, double *g, void *ctx)
{
    (void)ctx;
    (void)g;
    return exp(x[0]) * x[1] * x[1] + sin(x[1] * x[2]);
}

START_TEST(test_numgrad_numhess)
{
    const double A[9] = {4, 1, -2, 1, 3, 0.5, -2, 0.5, 5}, b[3] = {1, -2, 0.5};
    quad q = {3, A, b};
    const double x[3] = {0.3, -1.7, 2.5};
    double g[3], gn[3], H[9];
    quadratic(x, g, &q);
    st_optim_numgrad(quadratic, &q, x, 3, gn);
    for (int i = 0; i < 3; i++) /* central differences are exact on quadratics */
        ck_assert_near(gn[i], g[i], 1e-7 * fmax(1.0, fabs(g[i])));
    st_optim_numhess(quadratic, &q, x, 3, H);
    /* Only rounding error: eps |f| / h^2 ~ 2e-16 * 20 / 1.5e-8 ~ 3e-7. */
    for (int i = 0; i < 9; i++)
        ck_assert_near(H[i], A[i], 1e-6);
    ck_assert_double_eq(st_mat_asymmetry(H, 3), 0.0);

    /* Non-quadratic: analytic Hessian of smooth3. */
    const double y[3] = {0.4, 1.3, -0.7};
    double e0 = exp(y[0]), s = sin(y[1] * y[2]), c = cos(y[1] * y[2]);
    double Hs[9] = {e0 * y[1] * y[1], 2 * e0 * y[1], 0,
                    2 * e0 * y[1], 2 * e0 - y[2] * y[2] * s, c - y[1] * y[2] * s,
                    0, c - y[1] * y[2] * s, -y[1] * y[1] * s};
    double gs[3] = {e0 * y[1] * y[1], 2 * e0 * y[1] + y[2] * c, y[1] * c};
    st_optim_numgrad(smooth3, NULL, y, 3, gn);
    for (int i = 0; i < 3; i++)
        ck_assert_near(gn[i], gs[i], 1e-9);
    st_optim_numhess(smooth3, NULL, y, 3, H);
    for (int i = 0; i < 9; i++)
        ck_assert_near(H[i], Hs[i], 1e-6);
}
END_TEST

/* ---------- transforms ---------- */

START_TEST(test_transforms_round_trip)
{
    for (double u = -30; u <= 30; u += 0.37) {
        ck_assert_rel(st_tr_pos_inv(st_tr_pos(u)), u, 1e-14);
        double p = st_tr_interval(u, -2.0, 5.0);
        ck_assert(p >= -2.0 && p <= 5.0);
        /* Rounding of p (eps * 5) is amplified by du/dp ~ e^|u| / 7. */
        ck_assert_near(st_tr_interval_inv(p, -2.0, 5.0), u,
                       1e-14 * (1 + fabs(u)) + 2 * DBL_EPSILON * exp(fabs(u)));
    }
    ck_assert_near(st_tr_interval(0.0, 0.0, 1.0), 0.5, 0);
    ck_assert_near(st_tr_interval_inv(0.75, 0.0, 1.0), log(3.0), 1e-15);
    /* Extremes stay finite and inside. */
    ck_assert(st_tr_interval(-1e4, 0, 1) == 0.0 && st_tr_interval(1e4, 0, 1) == 1.0);
    ck_assert(isfinite(st_tr_interval_inv(0.0, 0, 1)));
    ck_assert(isfinite(st_tr_interval_inv(1.0, 0, 1)));

    st_rng r;
    st_rng_seed(&r, 31);
    for (int t = 0; t < 100; t++) {
        double u[5], p[6], v[5], sum = 0;
        for (int i = 0; i < 5; i++)
            u[i] = 4.0 * st_rng_normal(&r);
        st_tr_simplex(u, 6, p);
        for (int i = 0; i < 6; i++) {
            ck_assert(p[i] > 0);
            sum += p[i];
        }
        ck_assert_near(sum, 1.0, 1e-14);
        st_tr_simplex_inv(p, 6, v);
        for (int i = 0; i < 5; i++)
            ck_assert_near(v[i], u[i], 1e-12);
    }
    /* Known point: u = (log 2, 0) -> p = (2, 1, 1)/4. */
    double u2[2] = {log(2.0), 0.0}, p3[3];
    st_tr_simplex(u2, 3, p3);
    ck_assert_near(p3[0], 0.5, 1e-15);
    ck_assert_near(p3[1], 0.25, 1e-15);
    ck_assert_near(p3[2], 0.25, 1e-15);
    /* Zero probabilities stay finite. */
    double pz[3] = {0.0, 0.5, 0.5}, uz[2];
    st_tr_simplex_inv(pz, 3, uz);
    ck_assert(isfinite(uz[0]) && uz[0] < -700);
    ck_assert_near(uz[1], 0.0, 0);
}
END_TEST

/* Largest modulus among the eigenvalues of the AR companion matrix. */
static double companion_radius(const double *phi, size_t p)
{
    double *C = calloc(p * p, sizeof *C), *wr = malloc(p * sizeof *wr),
           *wi = malloc(p * sizeof *wi);
    for (size_t j = 0; j < p; j++)
        C[j] = phi[j];
    for (size_t i = 1; i < p; i++)
        C[i * p + i - 1] = 1.0;
    st_err e;
    ck_assert_int_eq(st_eigen_general(C, p, wr, wi, NULL, &e), 0);
    double rho = 0;
    for (size_t i = 0; i < p; i++)
        rho = fmax(rho, hypot(wr[i], wi[i]));
    free(C);
    free(wr);
    free(wi);
    return rho;
}

START_TEST(test_stationary_ar)
{
    /* AR(1): phi = tanh(u). AR(2) by hand: r1 = tanh u1, r2 = tanh u2,
     * phi2 = r2, phi1 = r1 (1 - r2). */
    double u1 = 0.8, phi1;
    st_tr_stationary_ar(&u1, 1, &phi1);
    ck_assert_near(phi1, tanh(0.8), 1e-15);
    double u2[2] = {0.5, -0.9}, phi2[2];
    st_tr_stationary_ar(u2, 2, phi2);
    ck_assert_near(phi2[1], tanh(-0.9), 1e-15);
    ck_assert_near(phi2[0], tanh(0.5) * (1 - tanh(-0.9)), 1e-15);
    /* AR(3): phi^(3) from Durbin-Levinson written out. */
    double u3[3] = {0.3, -0.4, 0.6}, phi3[3];
    double r1 = tanh(0.3), r2 = tanh(-0.4), r3 = tanh(0.6);
    double a1 = r1 - r2 * r1, a2 = r2; /* phi^(2) */
    st_tr_stationary_ar(u3, 3, phi3);
    ck_assert_near(phi3[0], a1 - r3 * a2, 1e-15);
    ck_assert_near(phi3[1], a2 - r3 * a1, 1e-15);
    ck_assert_near(phi3[2], r3, 1e-15);

    /* Random inputs, orders 1..8: stationary (companion eigenvalues inside
     * the unit circle, i.e. AR roots outside it) and the inverse returns u. */
    st_rng r;
    st_rng_seed(&r, 32);
    for (size_t p = 1; p <= 8; p++)
        for (int t = 0; t < 50; t++) {
            double u[8], phi[8], back[8];
            for (size_t i = 0; i < p; i++)
                u[i] = 1.5 * st_rng_normal(&r);
            st_tr_stationary_ar(u, p, phi);
            double rho = companion_radius(phi, p);
            ck_assert_msg(rho < 1.0, "p=%zu: spectral radius %.17g", p, rho);
            ck_assert_int_eq(st_tr_stationary_ar_inv(phi, p, back), 0);
            for (size_t i = 0; i < p; i++)
                ck_assert_near(back[i], u[i], 1e-8 * fmax(1.0, exp(2 * fabs(u[i]))));
            /* In place (aliased arrays) gives the same answer. */
            memcpy(back, u, p * sizeof *u);
            st_tr_stationary_ar(back, p, back);
            for (size_t i = 0; i < p; i++)
                ck_assert_near(back[i], phi[i], 1e-15);
        }
    /* Non-stationary phi is refused: AR(1) phi = 1.2, AR(2) with a unit
     * root (phi1 + phi2 = 1). */
    double bad1 = 1.2, ub;
    ck_assert_int_eq(st_tr_stationary_ar_inv(&bad1, 1, &ub), ST_EDATA);
    double bad2[2] = {0.5, 0.5}, ub2[2];
    ck_assert_int_eq(st_tr_stationary_ar_inv(bad2, 2, ub2), ST_EDATA);
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("optim");
    tcase_set_timeout(tc, 60); /* loaded CI machines, sanitizers */
    tcase_add_test(tc, test_rosenbrock);
    tcase_add_test(tc, test_status_and_bounds);
    tcase_add_test(tc, test_numgrad_numhess);
    tcase_add_test(tc, test_transforms_round_trip);
    tcase_add_test(tc, test_stationary_ar);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(optim_suite)

/* Kalman filter/smoother against dense Gaussian computations: the
 * log-likelihood of the stacked observation vector, and the conditional
 * means/variances of states and disturbances given all observations.
 * Diffuse priors are checked against a proper prior kappa * I with kappa
 * large: logL_kappa + q/2 log(2 pi kappa) -> the diffuse logL. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "ssm/kalman.h"

/* ---- dense reference: plain loops, small sizes only ---- */

static int chol(double *A, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double s = A[j * n + j];
        for (size_t k = 0; k < j; k++)
            s -= A[j * n + k] * A[j * n + k];
        if (!(s > 0))
            return -1;
        A[j * n + j] = sqrt(s);
        for (size_t i = j + 1; i < n; i++) {
            double t = A[i * n + j];
            for (size_t k = 0; k < j; k++)
                t -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = t / A[j * n + j];
        }
        for (size_t i = 0; i < j; i++)
            A[i * n + j] = 0;
    }
    return 0;
}

/* solve L L' x = b in place */
static void chol_solve(const double *L, size_t n, double *b)
{
    for (size_t i = 0; i < n; i++) {
        double s = b[i];
        for (size_t k = 0; k < i; k++)
            s -= L[i * n + k] * b[k];
        b[i] = s / L[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
        double s = b[i];
        for (size_t k = i + 1; k < n; k++)
            s -= L[k * n + i] * b[k];
        b[i] = s / L[i * n + i];
    }
}

typedef struct dense_ref {
    double loglik;
    double *amean, *avar;   /* n x m, n x m x m */
    double *eta, *etavar;   /* n x r, n x r x r */
    double *eps, *epsvar;   /* n x p, n x p */
} dense_ref;

/* kappa: prior variance added to diffuse states. */
static void dense(const st_ssm *s, const double *y, size_t n, double kappa, dense_ref *out)
{
    size_t m = s->m, p = s->p, r = s->r;
    size_t W = m + n * r + n * p;
    double *Sw = calloc(W * W, sizeof(double));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++)
            Sw[i * W + j] = s->P1[i * m + j] + (i == j && s->diffuse[i] ? kappa : 0);
    for (size_t t = 0; t < n; t++) {
        size_t o = m + t * r;
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < r; j++)
                Sw[(o + i) * W + o + j] = s->Q[i * r + j];
        o = m + n * r + t * p;
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j < p; j++)
                Sw[(o + i) * W + o + j] = s->H[i * p + j];
    }
    /* alpha_t = b_t + A_t w */
    double *A = calloc(n * m * W, sizeof(double)), *b = calloc(n * m, sizeof(double));
    for (size_t i = 0; i < m; i++) {
        A[i * W + i] = 1;
        b[i] = s->a1[i];
    }
    for (size_t t = 0; t + 1 < n; t++) {
        double *An = A + (t + 1) * m * W, *Ao = A + t * m * W;
        for (size_t i = 0; i < m; i++) {
            b[(t + 1) * m + i] = s->c[i];
            for (size_t k = 0; k < m; k++) {
                b[(t + 1) * m + i] += s->T[i * m + k] * b[t * m + k];
                for (size_t j = 0; j < W; j++)
                    An[i * W + j] += s->T[i * m + k] * Ao[k * W + j];
            }
            for (size_t k = 0; k < r; k++)
                An[i * W + m + t * r + k] += s->R[i * r + k];
        }
    }
    /* observed rows */
    size_t no = 0;
    for (size_t i = 0; i < n * p; i++)
        no += !isnan(y[i]);
    double *G = calloc(no * W, sizeof(double)), *res = calloc(no, sizeof(double));
    size_t q = 0;
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < p; i++) {
            if (isnan(y[t * p + i]))
                continue;
            const double *z = s->Zt ? s->Zt + (t * p + i) * m : s->Z + i * m;
            double mu = s->dt ? s->dt[t * p + i] : s->d[i];
            for (size_t k = 0; k < m; k++) {
                mu += z[k] * b[t * m + k];
                for (size_t j = 0; j < W; j++)
                    G[q * W + j] += z[k] * A[t * m * W + k * W + j];
            }
            G[q * W + m + n * r + t * p + i] += 1;
            res[q++] = y[t * p + i] - mu;
        }
    /* S = G Sw G' */
    double *GS = calloc(no * W, sizeof(double)), *S = calloc(no * no, sizeof(double));
    for (size_t i = 0; i < no; i++)
        for (size_t j = 0; j < W; j++)
            for (size_t k = 0; k < W; k++)
                GS[i * W + j] += G[i * W + k] * Sw[k * W + j];
    for (size_t i = 0; i < no; i++)
        for (size_t j = 0; j < no; j++)
            for (size_t k = 0; k < W; k++)
                S[i * no + j] += GS[i * W + k] * G[j * W + k];
    ck_assert_int_eq(chol(S, no), 0);
    double logdet = 0;
    for (size_t i = 0; i < no; i++)
        logdet += 2 * log(S[i * no + i]);
    double *x = malloc(no * sizeof(double));
    memcpy(x, res, no * sizeof(double));
    chol_solve(S, no, x);
    double quad = 0;
    for (size_t i = 0; i < no; i++)
        quad += res[i] * x[i];
    out->loglik = -0.5 * (no * log(2 * M_PI) + logdet + quad);
    /* E[w|y] = (GS)' x ; Cov = Sw - (GS)' S^-1 (GS) */
    double *wm = calloc(W, sizeof(double)), *C = malloc(W * W * sizeof(double));
    for (size_t j = 0; j < W; j++)
        for (size_t i = 0; i < no; i++)
            wm[j] += GS[i * W + j] * x[i];
    memcpy(C, Sw, W * W * sizeof(double));
    double *col = malloc(no * sizeof(double));
    for (size_t j = 0; j < W; j++) {
        for (size_t i = 0; i < no; i++)
            col[i] = GS[i * W + j];
        chol_solve(S, no, col);
        for (size_t k = 0; k < W; k++) {
            double acc = 0;
            for (size_t i = 0; i < no; i++)
                acc += GS[i * W + k] * col[i];
            C[k * W + j] -= acc;
        }
    }
    out->amean = calloc(n * m, sizeof(double));
    out->avar = calloc(n * m * m, sizeof(double));
    out->eta = calloc(n * r, sizeof(double));
    out->etavar = calloc(n * r * r, sizeof(double));
    out->eps = calloc(n * p, sizeof(double));
    out->epsvar = calloc(n * p, sizeof(double));
    for (size_t t = 0; t < n; t++) {
        const double *At = A + t * m * W;
        for (size_t i = 0; i < m; i++) {
            double acc = b[t * m + i];
            for (size_t j = 0; j < W; j++)
                acc += At[i * W + j] * wm[j];
            out->amean[t * m + i] = acc;
            for (size_t l = 0; l < m; l++) {
                double v = 0;
                for (size_t j = 0; j < W; j++)
                    for (size_t k = 0; k < W; k++)
                        v += At[i * W + j] * C[j * W + k] * At[l * W + k];
                out->avar[t * m * m + i * m + l] = v;
            }
        }
        for (size_t i = 0; i < r; i++) {
            size_t o = m + t * r;
            out->eta[t * r + i] = wm[o + i];
            for (size_t j = 0; j < r; j++)
                out->etavar[t * r * r + i * r + j] = C[(o + i) * W + o + j];
        }
        for (size_t i = 0; i < p; i++) {
            size_t o = m + n * r + t * p + i;
            out->eps[t * p + i] = wm[o];
            out->epsvar[t * p + i] = C[o * W + o];
        }
    }
    free(Sw);
    free(A);
    free(b);
    free(G);
    free(res);
    free(GS);
    free(S);
    free(x);
    free(wm);
    free(C);
    free(col);
}

static void dense_free(dense_ref *d)
{
    free(d->amean);
    free(d->avar);
    free(d->eta);
    free(d->etavar);
    free(d->eps);
    free(d->epsvar);
}

/* Compare smoother output with the dense reference within rel tol (scaled). */
static void compare(const st_ssm *s, const double *y, size_t n, double kappa, double tol_ll,
                    double tol)
{
    st_err e;
    st_kalman_out o;
    ck_assert_int_eq(st_kalman_smooth(s, y, n, &o, &e), 0);
    dense_ref d;
    dense(s, y, n, kappa, &d);
    size_t q = o.ll.ndiffuse;
    double ll_ref = d.loglik + (kappa > 0 ? 0.5 * (double)q * log(2 * M_PI * kappa) : 0);
    ck_assert_near(o.ll.loglik, ll_ref, tol_ll);
    /* the loglik-only path agrees bit for bit in meaning */
    st_kalman_ll ll;
    ck_assert_int_eq(st_kalman_loglik(s, y, n, &ll, &e), 0);
    ck_assert_near(ll.loglik, o.ll.loglik, 1e-9 * fabs(ll.loglik));
    size_t m = s->m, r = s->r, p = s->p;
    for (size_t i = 0; i < n * m; i++)
        ck_assert_near(o.a_smooth[i], d.amean[i], tol * (1 + fabs(d.amean[i])));
    for (size_t i = 0; i < n * m * m; i++)
        ck_assert_near(o.V_smooth[i], d.avar[i], tol * (1 + fabs(d.avar[i])));
    for (size_t i = 0; i < n * r; i++)
        ck_assert_near(o.eta_hat[i], d.eta[i], tol * (1 + fabs(d.eta[i])));
    for (size_t i = 0; i < n * r * r; i++)
        ck_assert_near(o.eta_var[i], d.etavar[i], tol * (1 + fabs(d.etavar[i])));
    for (size_t i = 0; i < n * p; i++) {
        ck_assert_near(o.eps_hat[i], d.eps[i], tol * (1 + fabs(d.eps[i])));
        ck_assert_near(o.eps_var[i], d.epsvar[i], tol * (1 + fabs(d.epsvar[i])));
    }
    dense_free(&d);
    st_kalman_out_free(&o);
}

static st_ssm *local_level(double s2eps, double s2eta, int diffuse)
{
    st_ssm *s;
    st_err e;
    ck_assert_int_eq(st_ssm_new(&s, 1, 1, 1, &e), 0);
    s->T[0] = 1;
    s->Z[0] = 1;
    s->R[0] = 1;
    s->Q[0] = s2eta;
    s->H[0] = s2eps;
    if (diffuse)
        s->diffuse[0] = 1;
    else {
        s->a1[0] = 2;
        s->P1[0] = 3;
    }
    return s;
}

/* local linear trend + dummy seasonal S=4: m = 5 */
static st_ssm *trend_seasonal(void)
{
    st_ssm *s;
    st_err e;
    ck_assert_int_eq(st_ssm_new(&s, 1, 5, 3, &e), 0);
    size_t m = 5;
    s->T[0 * m + 0] = 1;
    s->T[0 * m + 1] = 1;
    s->T[1 * m + 1] = 1;
    s->T[2 * m + 2] = s->T[2 * m + 3] = s->T[2 * m + 4] = -1;
    s->T[3 * m + 2] = 1;
    s->T[4 * m + 3] = 1;
    s->Z[0] = 1;
    s->Z[2] = 1;
    s->R[0 * 3 + 0] = 1;
    s->R[1 * 3 + 1] = 1;
    s->R[2 * 3 + 2] = 1;
    s->Q[0] = 0.7;
    s->Q[4] = 0.05;
    s->Q[8] = 0.3;
    s->H[0] = 1.3;
    for (size_t i = 0; i < m; i++)
        s->diffuse[i] = 1;
    return s;
}

static const double Y12[] = {1.2, 0.4, 2.5, 3.1, 2.2, 1.7, 4.0, 4.4, 3.9, 3.0, 5.6, 6.1};

START_TEST(test_local_level_proper)
{
    st_ssm *s = local_level(1.5, 0.4, 0);
    compare(s, Y12, 12, 0, 1e-10, 1e-9);
    double y[12];
    memcpy(y, Y12, sizeof y);
    y[0] = y[5] = y[6] = y[11] = NAN;
    compare(s, y, 12, 0, 1e-10, 1e-9);
    st_ssm_free(s);
}
END_TEST

START_TEST(test_local_level_diffuse)
{
    st_ssm *s = local_level(1.5, 0.4, 1);
    compare(s, Y12, 12, 1e8, 1e-6, 1e-6);
    double y[12];
    memcpy(y, Y12, sizeof y);
    y[0] = y[1] = y[7] = NAN;
    compare(s, y, 12, 1e8, 1e-6, 1e-6);
    st_ssm_free(s);
}
END_TEST

START_TEST(test_local_level_closed_form)
{
    /* Diffuse local level: the first step has F_inf = 1, a_2 = y_1,
     * P_2 = s2eps + s2eta; the loglik of y_2 is N(y_1, s2eps*2 + s2eta). */
    st_ssm *s = local_level(2.0, 0.5, 1);
    double y[2] = {1.0, 3.0};
    st_err e;
    st_kalman_ll ll;
    ck_assert_int_eq(st_kalman_loglik(s, y, 2, &ll, &e), 0);
    double F = 2 * 2.0 + 0.5;
    ck_assert_near(ll.loglik, -0.5 * (log(2 * M_PI) + log(F) + 4.0 / F), 1e-12);
    ck_assert_int_eq((int)ll.d, 1);
    ck_assert_int_eq((int)ll.ndiffuse, 1);
    st_ssm_free(s);
}
END_TEST

START_TEST(test_trend_seasonal_diffuse_missing)
{
    st_ssm *s = trend_seasonal();
    compare(s, Y12, 12, 1e7, 1e-5, 1e-5);
    double y[12];
    memcpy(y, Y12, sizeof y);
    y[1] = y[4] = y[9] = NAN; /* a missing value inside the diffuse period */
    compare(s, y, 12, 1e7, 1e-5, 1e-5);
    st_ssm_free(s);
}
END_TEST

/* Bivariate: two series on one diffuse level (the second observation of
 * the first time point has F_inf = 0), an AR(1) state with a stationary
 * prior loading on the second, intercepts, partly missing vectors. */
static st_ssm *bivariate(void)
{
    st_ssm *s;
    st_err e;
    ck_assert_int_eq(st_ssm_new(&s, 2, 2, 2, &e), 0);
    s->T[0] = 1;
    s->T[3] = 0.6;
    s->Z[0] = 1;
    s->Z[1] = 0;
    s->Z[2] = 0.8;
    s->Z[3] = 1;
    s->R[0] = 1;
    s->R[3] = 1;
    s->Q[0] = 0.3;
    s->Q[3] = 0.5;
    s->Q[1] = s->Q[2] = 0.1;
    s->H[0] = 0.9;
    s->H[3] = 0.4;
    s->c[1] = 0.2;
    s->d[0] = -0.5;
    s->d[1] = 1.0;
    s->diffuse[0] = 1;
    s->a1[1] = 0.5;
    s->P1[3] = 0.5 / (1 - 0.36);
    return s;
}

START_TEST(test_bivariate_partly_missing)
{
    st_ssm *s = bivariate();
    double y[20] = {1.0, 2.0, 1.5, NAN, NAN, 2.5, 2.2, 3.1, NAN, NAN,
                    2.0, 1.1, 3.3, 2.9, 2.7, NAN, 1.9, 2.4, 2.0, 2.2};
    compare(s, y, 10, 1e8, 1e-5, 1e-5);
    /* first vector partly missing: the level is absorbed by the second series */
    y[0] = NAN;
    compare(s, y, 10, 1e8, 1e-5, 1e-5);
    st_ssm_free(s);
}
END_TEST

START_TEST(test_long_series_steady_state)
{
    /* n = 150 reaches steady state; the shortcut must not change results. */
    st_ssm *s = local_level(1.0, 0.1, 1);
    double y[150];
    double x = 0;
    for (int t = 0; t < 150; t++) {
        x += 0.3 * sin(0.7 * t);
        y[t] = x + cos(1.3 * t);
    }
    compare(s, y, 150, 1e8, 1e-5, 1e-5);
    st_ssm_free(s);
}
END_TEST

START_TEST(test_forecast)
{
    /* local level: forecasts are flat at a_{n+1}; variance grows by s2eta */
    st_ssm *s = local_level(1.5, 0.4, 1);
    st_err e;
    st_kalman_out o;
    ck_assert_int_eq(st_kalman_filter(s, Y12, 12, &o, &e), 0);
    double mean[3], var[3];
    ck_assert_int_eq(st_kalman_forecast(s, &o, 3, NULL, NULL, mean, var, NULL, NULL, &e), 0);
    double P = o.P_pred[12];
    for (int k = 0; k < 3; k++) {
        ck_assert_near(mean[k], o.a_pred[12], 1e-12);
        ck_assert_near(var[k], P + k * 0.4 + 1.5, 1e-12);
    }
    st_kalman_out_free(&o);
    /* still diffuse: all missing */
    double ym[3] = {NAN, NAN, NAN};
    ck_assert_int_eq(st_kalman_filter(s, ym, 3, &o, &e), 0);
    ck_assert_int_eq(o.ll.diffuse_left, 1);
    ck_assert_int_lt(st_kalman_forecast(s, &o, 3, NULL, NULL, mean, var, NULL, NULL, &e), 0);
    st_kalman_out_free(&o);
    st_ssm_free(s);
}
END_TEST

START_TEST(test_check_rejects)
{
    st_ssm *s = local_level(1.5, 0.4, 1);
    st_err e;
    ck_assert_int_eq(st_ssm_check(s, &e), 0);
    s->Q[0] = -1;
    ck_assert_int_lt(st_ssm_check(s, &e), 0);
    s->Q[0] = NAN;
    ck_assert_int_lt(st_ssm_check(s, &e), 0);
    s->Q[0] = 1;
    s->P1[0] = 1; /* diffuse state with a proper variance */
    ck_assert_int_lt(st_ssm_check(s, &e), 0);
    st_ssm_free(s);
}
END_TEST


/* The Fisher-identity score from the disturbance moments equals the
 * numerical derivative of the log-likelihood in each variance. */
static void check_score(st_ssm *s, const double *y, size_t n)
{
    st_err e;
    size_t p = s->p, r = s->r;
    double eps2[8], eta2[8], epsv[8], etav[8];
    st_kalman_ll ll;
    ck_assert_int_eq(st_kalman_disturbance_moments(s, y, n, &ll, eps2, epsv, eta2, etav, &e), 0);
    for (size_t i = 0; i < p; i++)
        eps2[i] += epsv[i];
    for (size_t j = 0; j < r; j++)
        eta2[j] += etav[j];
    st_kalman_ll ll2;
    ck_assert_int_eq(st_kalman_loglik(s, y, n, &ll2, &e), 0);
    ck_assert_near(ll.loglik, ll2.loglik, 1e-10);
    /* against the smoother's own disturbance output */
    st_kalman_out o;
    ck_assert_int_eq(st_kalman_smooth(s, y, n, &o, &e), 0);
    for (size_t i = 0; i < p; i++) {
        double acc = 0;
        for (size_t t = 0; t < n; t++)
            acc += o.eps_hat[t * p + i] * o.eps_hat[t * p + i] + o.eps_var[t * p + i];
        ck_assert_near(eps2[i], acc, 1e-7 * (1 + fabs(acc)));
    }
    for (size_t j = 0; j < r; j++) {
        double acc = 0;
        for (size_t t = 0; t < n; t++)
            acc += o.eta_hat[t * r + j] * o.eta_hat[t * r + j] + o.eta_var[t * r * r + j * r + j];
        ck_assert_near(eta2[j], acc, 1e-7 * (1 + fabs(acc)));
    }
    st_kalman_out_free(&o);
    /* numerical derivatives */
    for (size_t j = 0; j < r; j++) {
        double q = s->Q[j * r + j], hstep = 1e-5 * q, lp, lm;
        s->Q[j * r + j] = q + hstep;
        st_kalman_loglik(s, y, n, &ll2, &e);
        lp = ll2.loglik;
        s->Q[j * r + j] = q - hstep;
        st_kalman_loglik(s, y, n, &ll2, &e);
        lm = ll2.loglik;
        s->Q[j * r + j] = q;
        double num = (lp - lm) / (2 * hstep), ana = (eta2[j] - (double)n * q) / (2 * q * q);
        ck_assert_near(ana, num, 1e-5 * (1 + fabs(num)));
    }
    for (size_t i = 0; i < p; i++) {
        double h = s->H[i * p + i], hstep = 1e-5 * h, lp, lm;
        s->H[i * p + i] = h + hstep;
        st_kalman_loglik(s, y, n, &ll2, &e);
        lp = ll2.loglik;
        s->H[i * p + i] = h - hstep;
        st_kalman_loglik(s, y, n, &ll2, &e);
        lm = ll2.loglik;
        s->H[i * p + i] = h;
        double num = (lp - lm) / (2 * hstep), ana = (eps2[i] - (double)n * h) / (2 * h * h);
        ck_assert_near(ana, num, 1e-5 * (1 + fabs(num)));
    }
}

START_TEST(test_score_moments)
{
    st_ssm *s = trend_seasonal();
    double y[12];
    check_score(s, Y12, 12);
    memcpy(y, Y12, sizeof y);
    y[1] = y[4] = y[9] = NAN;
    check_score(s, y, 12);
    st_ssm_free(s);
    s = local_level(1.5, 0.4, 1);
    check_score(s, Y12, 12);
    st_ssm_free(s);
    /* bivariate: diagonal Q needed for the simple formula */
    s = bivariate();
    s->Q[1] = s->Q[2] = 0;
    double yb[20] = {1.0, 2.0, 1.5, NAN, NAN, 2.5, 2.2, 3.1, NAN, NAN,
                     2.0, 1.1, 3.3, 2.9, 2.7, NAN, 1.9, 2.4, 2.0, 2.2};
    yb[0] = NAN;
    check_score(s, yb, 10);
    st_ssm_free(s);
}
END_TEST

static Suite *kalman_suite(void)
{
    Suite *su = suite_create("kalman");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_local_level_proper);
    tcase_add_test(tc, test_local_level_diffuse);
    tcase_add_test(tc, test_local_level_closed_form);
    tcase_add_test(tc, test_trend_seasonal_diffuse_missing);
    tcase_add_test(tc, test_bivariate_partly_missing);
    tcase_add_test(tc, test_long_series_steady_state);
    tcase_add_test(tc, test_forecast);
    tcase_add_test(tc, test_check_rejects);
    tcase_add_test(tc, test_score_moments);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(su, tc);
    return su;
}

ST_CHECK_MAIN(kalman_suite)

/* Minimisation over NLopt, finite-difference derivatives, and transforms
 * between constrained parameters and unconstrained optimiser variables. */
#include "core/optim.h"

#include <float.h>
#include <math.h>
#include <nlopt.h>
#include <stdlib.h>
#include <string.h>

/* ---- minimisation ---- */

typedef struct {
    st_objective f;
    void *ctx;
    size_t n;
    int nevals;
    double fbest; /* best finite value seen */
    double *xbest;
} wrap_ctx;

/* NLopt callback: counts evaluations, keeps the best finite point, and
 * turns a non-finite value into a large finite one (above anything seen)
 * so that line searches and simplex steps back off instead of failing. */
static double wrap_eval(unsigned n, const double *x, double *grad, void *data)
{
    wrap_ctx *w = data;
    w->nevals++;
    double v = w->f(x, grad, w->ctx);
    if (isfinite(v)) {
        if (grad)
            for (unsigned i = 0; i < n; i++)
                if (!isfinite(grad[i]))
                    grad[i] = 0.0;
        if (v < w->fbest) {
            w->fbest = v;
            memcpy(w->xbest, x, n * sizeof *x);
        }
        return v;
    }
    if (grad)
        for (unsigned i = 0; i < n; i++)
            grad[i] = 0.0;
    return isfinite(w->fbest) ? w->fbest + 1e10 * (1.0 + fabs(w->fbest)) : 1e300;
}

static nlopt_algorithm algorithm_of(st_optim_method m)
{
    switch (m) {
    case ST_OPT_BOBYQA:
        return NLOPT_LN_BOBYQA;
    case ST_OPT_NELDERMEAD:
        return NLOPT_LN_NELDERMEAD;
    case ST_OPT_LBFGS:
    default:
        return NLOPT_LD_LBFGS;
    }
}

int st_optim_minimize(st_objective f, void *ctx, double *x, size_t n, const st_optim_opts *opts,
                      st_optim_result *res, st_err *e)
{
    static const st_optim_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    st_optim_result dummy;
    if (!res)
        res = &dummy;
    memset(res, 0, sizeof *res);
    res->fmin = NAN;
    res->status = "failed";
    if (opts->method != ST_OPT_LBFGS && opts->method != ST_OPT_BOBYQA &&
        opts->method != ST_OPT_NELDERMEAD)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "optim: unknown method %d",
                          (int)opts->method);
    /* Start inside the bounds (NLopt refuses a start outside them). */
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "optim: start value %zu is not finite", i);
        if (opts->lower && x[i] < opts->lower[i])
            x[i] = opts->lower[i];
        if (opts->upper && x[i] > opts->upper[i])
            x[i] = opts->upper[i];
    }
    if (n == 0) {
        res->fmin = f(x, NULL, ctx);
        res->nevals = 1;
        res->converged = isfinite(res->fmin);
        res->status = res->converged ? "converged" : "failed";
        return res->converged
                   ? 0
                   : st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "optim: objective is not finite");
    }

    wrap_ctx w = {f, ctx, n, 0, INFINITY, malloc(n * sizeof(double))};
    nlopt_opt opt = nlopt_create(algorithm_of(opts->method), (unsigned)n);
    if (!w.xbest || !opt) {
        free(w.xbest);
        nlopt_destroy(opt);
        return st_err_nomem(e, "optimiser");
    }
    memcpy(w.xbest, x, n * sizeof *x);
    nlopt_set_min_objective(opt, wrap_eval, &w);
    nlopt_set_ftol_rel(opt, opts->ftol_rel > 0 ? opts->ftol_rel : 1e-10);
    nlopt_set_xtol_rel(opt, opts->xtol_rel > 0 ? opts->xtol_rel : 1e-8);
    nlopt_set_maxeval(opt, opts->max_eval > 0 ? opts->max_eval : 2000);
    if (opts->method == ST_OPT_LBFGS)
        nlopt_set_vector_storage(opt, 10); /* NLopt's default sizes (and zeroes) a far larger workspace */
    if (opts->lower)
        nlopt_set_lower_bounds(opt, opts->lower);
    if (opts->upper)
        nlopt_set_upper_bounds(opt, opts->upper);
    if (opts->initial_step > 0 && opts->method != ST_OPT_LBFGS)
        nlopt_set_initial_step1(opt, opts->initial_step);

    double fmin = NAN;
    nlopt_result code = nlopt_optimize(opt, x, &fmin);
    nlopt_destroy(opt);

    /* NLopt returns its best point; on failure (or a non-finite report)
     * fall back on the best finite point we saw. */
    if (isfinite(w.fbest) && (!(fmin <= w.fbest) || code < 0)) {
        memcpy(x, w.xbest, n * sizeof *x);
        fmin = w.fbest;
    }
    free(w.xbest);
    res->fmin = fmin;
    res->nevals = w.nevals;
    res->nlopt_code = (int)code;
    switch (code) {
    case NLOPT_SUCCESS:
    case NLOPT_STOPVAL_REACHED:
    case NLOPT_FTOL_REACHED:
    case NLOPT_XTOL_REACHED:
        res->converged = 1;
        res->status = "converged";
        break;
    case NLOPT_MAXEVAL_REACHED:
    case NLOPT_MAXTIME_REACHED:
        res->status = "max-eval";
        break;
    case NLOPT_ROUNDOFF_LIMITED:
        res->status = "roundoff-limited";
        break;
    default:
        res->status = "failed";
        break;
    }
    if (!isfinite(w.fbest)) {
        res->converged = 0;
        res->status = "failed";
        res->fmin = NAN;
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                          "optim: objective was never finite (%d evaluations)", w.nevals);
    }
    if (code == NLOPT_INVALID_ARGS)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "optim: NLopt rejected the arguments");
    if (code == NLOPT_OUT_OF_MEMORY)
        return st_err_nomem(e, "optimiser");
    if (code == NLOPT_FAILURE || code == NLOPT_FORCED_STOP)
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "optim: NLopt failed (code %d)",
                          (int)code);
    return 0;
}

/* ---- finite differences ---- */

void st_optim_numgrad(st_objective f, void *ctx, const double *x, size_t n, double *grad)
{
    double *xx = malloc(n * sizeof *xx);
    if (!xx) {
        for (size_t i = 0; i < n; i++)
            grad[i] = NAN;
        return;
    }
    memcpy(xx, x, n * sizeof *xx);
    const double c = cbrt(DBL_EPSILON);
    for (size_t i = 0; i < n; i++) {
        const double h = c * fmax(fabs(x[i]), 1.0);
        xx[i] = x[i] + h;
        const double xp = xx[i], fp = f(xx, NULL, ctx);
        xx[i] = x[i] - h;
        const double xm = xx[i], fm = f(xx, NULL, ctx);
        xx[i] = x[i];
        grad[i] = (fp - fm) / (xp - xm); /* the steps actually taken */
    }
    free(xx);
}

void st_optim_numhess(st_objective f, void *ctx, const double *x, size_t n, double *H)
{
    double *xx = malloc(n * sizeof *xx), *h = malloc(n * sizeof *h);
    if (!xx || !h) {
        for (size_t i = 0; i < n * n; i++)
            H[i] = NAN;
        free(xx);
        free(h);
        return;
    }
    memcpy(xx, x, n * sizeof *xx);
    /* eps^(1/4): balances truncation O(h^2) and rounding O(eps/h^2). */
    const double c = pow(DBL_EPSILON, 0.25);
    for (size_t i = 0; i < n; i++) {
        volatile double t = x[i] + c * fmax(fabs(x[i]), 1.0);
        h[i] = t - x[i]; /* exactly representable step */
    }
    const double f0 = f(x, NULL, ctx);
    for (size_t i = 0; i < n; i++) {
        xx[i] = x[i] + h[i];
        const double fp = f(xx, NULL, ctx);
        xx[i] = x[i] - h[i];
        const double fm = f(xx, NULL, ctx);
        xx[i] = x[i];
        H[i * n + i] = (fp - 2.0 * f0 + fm) / (h[i] * h[i]);
        for (size_t j = 0; j < i; j++) {
            double s = 0.0;
            for (int a = -1; a <= 1; a += 2)
                for (int b = -1; b <= 1; b += 2) {
                    xx[i] = x[i] + a * h[i];
                    xx[j] = x[j] + b * h[j];
                    s += a * b * f(xx, NULL, ctx);
                }
            xx[i] = x[i];
            xx[j] = x[j];
            H[i * n + j] = H[j * n + i] = s / (4.0 * h[i] * h[j]);
        }
    }
    free(xx);
    free(h);
}

/* ---- transforms ---- */

static double logistic(double u)
{
    if (u >= 0.0)
        return 1.0 / (1.0 + exp(-u));
    const double t = exp(u);
    return t / (1.0 + t);
}

double st_tr_interval(double u, double lo, double hi)
{
    return lo + (hi - lo) * logistic(u);
}

double st_tr_interval_inv(double p, double lo, double hi)
{
    double t = (p - lo) / (hi - lo);
    /* Points on the boundary map to a large finite value, not +-inf. */
    t = fmin(fmax(t, 1e-300), 1.0 - DBL_EPSILON / 2);
    return log(t) - log1p(-t);
}

void st_tr_simplex(const double *u, size_t k, double *p)
{
    if (k == 0)
        return;
    double mx = 0.0; /* the fixed last logit */
    for (size_t i = 0; i + 1 < k; i++)
        mx = fmax(mx, u[i]);
    double sum = 0.0;
    for (size_t i = 0; i + 1 < k; i++)
        sum += (p[i] = exp(u[i] - mx));
    sum += (p[k - 1] = exp(-mx));
    for (size_t i = 0; i < k; i++)
        p[i] /= sum;
}

void st_tr_simplex_inv(const double *p, size_t k, double *u)
{
    if (k == 0)
        return;
    const double last = log(fmax(p[k - 1], DBL_MIN));
    for (size_t i = 0; i + 1 < k; i++)
        u[i] = log(fmax(p[i], DBL_MIN)) - last;
}

void st_tr_stationary_ar(const double *u, size_t p, double *phi)
{
    /* Durbin-Levinson from the partial autocorrelations r_k = tanh(u_k):
     * phi^(k)_j = phi^(k-1)_j - r_k phi^(k-1)_{k-j}, phi^(k)_k = r_k,
     * updated in place pairwise (j, k-j), so u and phi may alias. */
    for (size_t k = 1; k <= p; k++) {
        const double r = tanh(u[k - 1]);
        for (size_t j = 0; 2 * j + 2 <= k; j++) {
            const size_t m = k - 2 - j; /* partner index of j among 0..k-2 */
            if (m < j)
                break;
            const double a = phi[j], b = phi[m];
            if (m == j) {
                phi[j] = a - r * a;
            } else {
                phi[j] = a - r * b;
                phi[m] = b - r * a;
            }
        }
        phi[k - 1] = r;
    }
}

int st_tr_stationary_ar_inv(const double *phi, size_t p, double *u)
{
    /* Run Durbin-Levinson backwards: r_k = phi^(k)_k and
     * phi^(k-1)_j = (phi^(k)_j + r_k phi^(k)_{k-j}) / (1 - r_k^2). */
    if (u != phi)
        memmove(u, phi, p * sizeof *u);
    for (size_t k = p; k >= 1; k--) {
        const double r = u[k - 1];
        if (!(fabs(r) < 1.0))
            return ST_EDATA; /* not stationary (or NaN) */
        const double d = 1.0 - r * r;
        for (size_t j = 0; 2 * j + 2 <= k; j++) {
            const size_t m = k - 2 - j;
            if (m < j)
                break;
            const double a = u[j], b = u[m];
            if (m == j) {
                u[j] = (a + r * a) / d;
            } else {
                u[j] = (a + r * b) / d;
                u[m] = (b + r * a) / d;
            }
        }
        u[k - 1] = atanh(r);
    }
    return 0;
}

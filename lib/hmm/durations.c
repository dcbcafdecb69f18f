/* State durations of hidden semi-Markov models: the pmf p_k(d) on
 * 1..dmax of each family, its survivor function, the M-step from the
 * expected duration counts eta_k(d), starting values and draws.
 *
 * Families (d = shift + x, x = 0..M with M = dmax - shift):
 *   nonparametric  p_k(d) free on shift..dmax;
 *   Poisson        p(x) proportional to lambda^x / x!, truncated at M;
 *   negbin         p(x) proportional to Gamma(x + r) / (Gamma(r) x!) p^r (1-p)^x,
 *                  truncated at M.
 * The truncated families are renormalised over 0..M.
 *
 * M-steps, all exact maximisers of sum_d eta(d) log p(d) (so EM never
 * decreases the likelihood):
 *   nonparametric  p(d) = eta(d) / sum eta, floored at the probability floor;
 *   Poisson        Newton steps on theta = log lambda: the truncated Poisson
 *                  is an exponential family in theta with statistic x, so
 *                  the objective is concave with gradient sum eta x - N E[x]
 *                  and curvature -N Var[x];
 *   negbin         L-BFGS (NLopt) over (log r, logit p) with the analytic
 *                  gradient, from the current values; the result is kept
 *                  only if it does not lower the objective (a generalised
 *                  EM step). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/optim.h"
#include "core/specfun.h"
#include "hmm/internal.h"

#define LAMBDA_MIN 1e-10
#define LAMBDA_MAX 1e10
#define NB_R_MIN 1e-4
#define NB_R_MAX 1e8

const char *st_hmm_dur_name(st_hmm_dur d)
{
    switch (d) {
    case ST_HMM_DUR_NONE: return "none";
    case ST_HMM_DUR_NONPAR: return "nonparametric";
    case ST_HMM_DUR_POISSON: return "poisson";
    case ST_HMM_DUR_NEGBIN: return "negbin";
    }
    return "?";
}

/* log q(x) of the unnormalised truncated family */
static double logq(st_hmm_dur f, const double *par, double x)
{
    if (f == ST_HMM_DUR_POISSON)
        return x * log(par[0]) - lgamma(x + 1);
    double r = par[0], p = par[1];
    return lgamma(x + r) - lgamma(r) - lgamma(x + 1) + r * log(p) + x * log1p(-p);
}

/* pmf of a parametric family on shift..dmax into p[0..dmax-1] */
static void param_pmf(st_hmm_dur f, const double *par, size_t dmax, size_t shift, double *p)
{
    size_t M = dmax - shift;
    double mx = -INFINITY, s = 0;
    for (size_t d = 0; d < shift - 1; d++)
        p[d] = 0;
    for (size_t x = 0; x <= M; x++) {
        double l = logq(f, par, (double)x);
        p[shift - 1 + x] = l;
        mx = l > mx ? l : mx;
    }
    for (size_t x = 0; x <= M; x++)
        s += p[shift - 1 + x] = exp(p[shift - 1 + x] - mx);
    for (size_t x = 0; x <= M; x++)
        p[shift - 1 + x] /= s;
}

int st_hmm_dur_prepare(st_hmm *m, st_err *e)
{
    size_t K = m->K, Dm = m->dmax;
    for (size_t k = 0; k < K; k++) {
        double *p = m->dprob + k * Dm, *S = m->dsurv + k * (Dm + 1);
        if (m->dur == ST_HMM_DUR_POISSON || m->dur == ST_HMM_DUR_NEGBIN)
            param_pmf(m->dur, m->dpar + 2 * k, Dm, m->dshift, p);
        S[Dm] = 0;
        for (size_t d = Dm; d-- > 0;) /* from the tail: small terms first */
            S[d] = S[d + 1] + p[d];
        if (st_hmm_absorbing(m, k)) /* never leaves: survives every duration */
            for (size_t d = 0; d <= Dm; d++)
                S[d] = 1;
    }
    (void)e;
    return ST_OK;
}

long st_hmm_dur_nparams(const st_hmm *m)
{
    long per = m->dur == ST_HMM_DUR_NONPAR ? (long)(m->dmax - m->dshift) : m->dur == ST_HMM_DUR_POISSON ? 1 : 2;
    long n = 0;
    for (size_t k = 0; k < m->K; k++)
        if (!st_hmm_absorbing(m, k))
            n += per;
    return m->dur == ST_HMM_DUR_NONE ? 0 : n;
}

/* ---- M-steps ---- */

/* Truncated Poisson in theta: returns sum eta x theta - N log Z (up to a
 * constant), with the gradient and curvature. */
static double pois_obj(const double *eta, size_t M, double theta, double *g, double *h)
{
    double N = 0, sx = 0, mx = -INFINITY;
    for (size_t x = 0; x <= M; x++) {
        N += eta[x];
        sx += eta[x] * (double)x;
        double l = (double)x * theta - lgamma((double)x + 1);
        mx = l > mx ? l : mx;
    }
    double Z = 0, m1 = 0, m2 = 0;
    for (size_t x = 0; x <= M; x++) {
        double w = exp((double)x * theta - lgamma((double)x + 1) - mx);
        Z += w;
        m1 += w * (double)x;
        m2 += w * (double)x * (double)x;
    }
    m1 /= Z;
    m2 /= Z;
    *g = sx - N * m1;
    *h = -N * (m2 - m1 * m1);
    return sx * theta - N * (mx + log(Z));
}

static int pois_mstep(double *lambda, const double *eta, size_t M, st_hmm_mctx *cx)
{
    double N = 0, sx = 0;
    for (size_t x = 0; x <= M; x++) {
        N += eta[x];
        sx += eta[x] * (double)x;
    }
    if (!(N > 0))
        return 0;
    if (M == 0) /* one possible duration: lambda is not identified, keep it */
        return 0;
    double xbar = sx / N;
    if (!(xbar > 0) || xbar >= (double)M * (1 - 1e-12)) { /* optimum at a bound */
        *lambda = xbar > 0 ? LAMBDA_MAX : LAMBDA_MIN;
        cx->floored = 1;
        return 0;
    }
    double th = log(*lambda > LAMBDA_MIN && *lambda < LAMBDA_MAX ? *lambda : xbar), g, h;
    double f = pois_obj(eta, M, th, &g, &h);
    for (int it = 0; it < 200; it++) {
        if (!(h < 0))
            break;
        double step = -g / h, fn, gn, hn;
        for (int half = 0; half < 60; half++) { /* concave: backtrack until it does not decrease */
            fn = pois_obj(eta, M, th + step, &gn, &hn);
            if (fn >= f)
                break;
            step /= 2;
        }
        if (!(fn >= f))
            break;
        th += step;
        f = fn;
        g = gn;
        h = hn;
        if (fabs(step) <= 1e-14 * (1 + fabs(th)))
            break;
    }
    double l = exp(th);
    if (l < LAMBDA_MIN || l > LAMBDA_MAX) {
        l = l < LAMBDA_MIN ? LAMBDA_MIN : LAMBDA_MAX;
        cx->floored = 1;
    }
    *lambda = l;
    return 0;
}

typedef struct nb_ctx {
    const double *eta;
    size_t M;
    double N;
} nb_ctx;

/* -(sum eta log p(x)) / N over u = (log r, logit p), with its gradient */
static double nb_negobj(const double *u, double *grad, void *vctx)
{
    const nb_ctx *c = vctx;
    double r = exp(u[0]), p = 1 / (1 + exp(-u[1]));
    if (!(r > 0) || !isfinite(r) || !(p > 0 && p < 1))
        return INFINITY;
    double par[2] = {r, p}, mx = -INFINITY, lr = log(p);
    size_t M = c->M;
    for (size_t x = 0; x <= M; x++) {
        double l = logq(ST_HMM_DUR_NEGBIN, par, (double)x);
        mx = l > mx ? l : mx;
    }
    double Z = 0, ez = 0, ex = 0, sl = 0, sz = 0, sx = 0, psr = st_digamma(r);
    for (size_t x = 0; x <= M; x++) {
        double xd = (double)x, l = logq(ST_HMM_DUR_NEGBIN, par, xd), w = exp(l - mx);
        double z = st_digamma(xd + r) - psr + lr; /* d log q / dr */
        Z += w;
        ez += w * z;
        ex += w * xd;
        sl += c->eta[x] * l;
        sz += c->eta[x] * z;
        sx += c->eta[x] * xd;
    }
    double lZ = mx + log(Z);
    ez /= Z;
    ex /= Z;
    double N = c->N;
    if (grad) {
        /* d/dr and d/dp of sum eta log q - N log Z, then the chain rule */
        double dr = sz - N * ez;
        double dp = (N * r / p - sx / (1 - p)) - N * (r / p - ex / (1 - p));
        grad[0] = -dr * r / N;
        grad[1] = -dp * p * (1 - p) / N;
    }
    return -(sl - N * lZ) / N;
}

static int nb_mstep(double *par, const double *eta, size_t M, st_hmm_mctx *cx, st_err *e)
{
    nb_ctx c = {eta, M, 0};
    double sx = 0, sx2 = 0;
    for (size_t x = 0; x <= M; x++) {
        c.N += eta[x];
        sx += eta[x] * (double)x;
        sx2 += eta[x] * (double)x * (double)x;
    }
    if (!(c.N > 0) || M == 0)
        return ST_OK;
    double u[2] = {log(par[0]), log(par[1] / (1 - par[1]))}, u0[2] = {u[0], u[1]};
    double f0 = nb_negobj(u0, NULL, &c);
    double lo[2] = {log(NB_R_MIN), -30}, hi[2] = {log(NB_R_MAX), 30};
    st_optim_opts oo = {ST_OPT_LBFGS, 1e-14, 1e-12, 500, lo, hi, 0};
    st_optim_result res;
    st_err tmp;
    st_err_clear(&tmp);
    int rc = st_optim_minimize(nb_negobj, &c, u, 2, &oo, &res, &tmp);
    if (rc == ST_OK && res.fmin <= f0) {
        par[0] = exp(u[0]);
        par[1] = 1 / (1 + exp(-u[1]));
        if (u[0] <= lo[0] + 1e-9 || u[0] >= hi[0] - 1e-9 || fabs(u[1]) >= 30 - 1e-9)
            cx->floored = 1; /* at a bound */
    }
    (void)e;
    (void)sx2;
    return ST_OK;
}

int st_hmm_dur_mstep(st_hmm *m, const double *eta, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, Dm = m->dmax, sh = m->dshift, M = Dm - sh;
    int rc = ST_OK;
    for (size_t k = 0; k < K && rc == ST_OK; k++) {
        if (st_hmm_absorbing(m, k))
            continue;
        const double *ek = eta + k * Dm + (sh - 1); /* x = 0..M */
        double N = 0;
        for (size_t x = 0; x <= M; x++)
            N += ek[x];
        if (!(N > 0)) { /* no segment of this state: keep */
            cx->floored = 1;
            continue;
        }
        switch (m->dur) {
        case ST_HMM_DUR_NONPAR: {
            double *p = m->dprob + k * Dm, s = 0;
            int raised = 0;
            for (size_t x = 0; x <= M; x++) {
                double v = ek[x] / N;
                if (v < cx->prob_floor) {
                    v = cx->prob_floor;
                    raised = 1;
                }
                p[sh - 1 + x] = v;
                s += v;
            }
            if (raised) {
                cx->floored = 1;
                for (size_t x = 0; x <= M; x++)
                    p[sh - 1 + x] /= s;
            }
            break;
        }
        case ST_HMM_DUR_POISSON:
            pois_mstep(m->dpar + 2 * k, ek, M, cx);
            break;
        case ST_HMM_DUR_NEGBIN:
            rc = nb_mstep(m->dpar + 2 * k, ek, M, cx, e);
            break;
        case ST_HMM_DUR_NONE:
            break;
        }
    }
    return rc;
}

/* Starting durations with mean about mean0 (jittered by the restart):
 * nonparametric a discretised Poisson shape mixed 9:1 with the uniform on
 * shift..dmax; Poisson lambda = mean0 - shift; negbin with that mean and
 * r = 2. */
void st_hmm_dur_init(st_hmm *m, double mean0, st_rng *g, int restart)
{
    size_t K = m->K, Dm = m->dmax, sh = m->dshift, M = Dm - sh;
    for (size_t k = 0; k < K; k++) {
        double mu = mean0 * (restart == 0 ? 1 : 0.5 + st_rng_uniform(g)) - (double)sh;
        mu = mu > 0.5 ? mu : 0.5;
        mu = mu < (double)M ? mu : (double)M > 0.5 ? (double)M : 0.5;
        double *par = m->dpar + 2 * k;
        if (m->dur == ST_HMM_DUR_POISSON) {
            par[0] = mu;
        } else if (m->dur == ST_HMM_DUR_NEGBIN) {
            par[0] = 2;
            par[1] = 2 / (2 + mu); /* mean r (1 - p) / p */
        } else {
            double q[2] = {mu, 0};
            double *p = m->dprob + k * Dm;
            param_pmf(ST_HMM_DUR_POISSON, q, Dm, sh, p);
            for (size_t x = 0; x <= M; x++)
                p[sh - 1 + x] = 0.9 * p[sh - 1 + x] + 0.1 / (double)(M + 1);
        }
    }
}

size_t st_hmm_dur_draw(const st_hmm *m, size_t k, st_rng *r)
{
    return 1 + st_rng_categorical(r, m->dprob + k * m->dmax, m->dmax);
}

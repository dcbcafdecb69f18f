/* ETS models (see ets.h): R's recursion and likelihood, its starting
 * values and parameter region, maximum likelihood with an exact gradient,
 * the automatic choice, and forecasts with analytic or simulated
 * intervals. */
#include "config.h"

#include "ssm/ets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/optim.h"
#include "core/rng.h"
#include "ssm/structural.h"

/* R's constants (etscalc.c, ets.R) */
#define TOL 1.0e-10
#define HUGEN 1.0e10
#define P_LO 1e-4   /* lower bound of alpha, beta, gamma */
#define P_HI 0.9999 /* upper bound of alpha, beta, gamma */
#define PHI_LO 0.8
#define PHI_HI 0.98
/* Starts of a single model's fit: R's, 4 alternative smoothing
 * parameter sets screened by their likelihood, L-BFGS from R's and the
 * best 2 others.  Within the automatic choice the other models' fits are
 * the alternatives (warm starts), L-BFGS from R's and the best other. */
#define ST_ETS_NALT 4
#define ST_ETS_NRUN 3
#define ST_ETS_AUTO_NALT 0
#define ST_ETS_AUTO_NRUN 2

/* ------------------------------------------------------------ naming */

const char *st_ets_name(const st_ets_model *mod, char *buf, size_t n)
{
    static const char L[] = "NAM";
    snprintf(buf, n, "ETS(%c,%c%s,%c)", L[mod->error], L[mod->trend], mod->damped ? "d" : "", L[mod->season]);
    return buf;
}

const char *st_ets_code(const st_ets_model *mod, char *buf, size_t n)
{
    static const char L[] = "NAM";
    snprintf(buf, n, "%c%c%s%c", L[mod->error], L[mod->trend], mod->damped ? "d" : "", L[mod->season]);
    return buf;
}

static int letter(char c, int allow_n)
{
    return c == 'A' ? ST_ETS_A : c == 'M' ? ST_ETS_M : c == 'N' && allow_n ? ST_ETS_N : -1;
}

int st_ets_parse_code(const char *s, int m, st_ets_model *mod, st_err *e)
{
    memset(mod, 0, sizeof *mod);
    size_t len = strlen(s);
    int ok = len == 3 || (len == 4 && s[2] == 'd');
    if (ok) {
        mod->error = letter(s[0], 0);
        mod->trend = letter(s[1], 1);
        mod->damped = len == 4;
        mod->season = letter(s[len - 1], 1);
        ok = mod->error > 0 && mod->trend >= 0 && mod->trend != ST_ETS_M && mod->season >= 0 &&
             !(mod->damped && mod->trend != ST_ETS_A);
    }
    if (!ok)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "ETS model '%s' is not one of E T S with error A or M, trend N, A or Ad, season N, A or M (e.g. MAdM)", s);
    mod->m = mod->season ? m : 1;
    if (mod->season && (m < 2 || m > ST_ETS_MAXM))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a seasonal ETS model needs a period from 2 to %d (forecast::ets's limit; --period, or a monthly or quarterly time column), not %d", ST_ETS_MAXM, m);
    return 0;
}

size_t st_ets_nsmooth(const st_ets_model *mod)
{
    return 1 + (mod->trend != ST_ETS_N) + (mod->season != ST_ETS_N) + (mod->damped != 0);
}

size_t st_ets_nstates(const st_ets_model *mod)
{
    return 1 + (mod->trend != ST_ETS_N) + (mod->season != ST_ETS_N ? (size_t)mod->m - 1 : 0);
}

void st_ets_complete_season(const st_ets_model *mod, st_ets_par *par)
{
    if (!mod->season)
        return;
    double sum = 0;
    for (int j = 0; j < mod->m - 1; j++)
        sum += par->s[j];
    par->s[mod->m - 1] = (mod->season == ST_ETS_M ? mod->m : 0) - sum;
}

/* ------------------------------------------------------------ region */

/* All roots of the monic polynomial z^d + c[1] z^(d-1) + ... + c[d]
 * inside |z| < rho: the Schur-Cohn (Levinson step-down) test on the
 * polynomial scaled to the unit circle. */
static int roots_inside(const double *c, int d, double rho)
{
    double a[ST_ETS_MAXM + 3], b[ST_ETS_MAXM + 3];
    double sc = 1;
    a[0] = 1;
    for (int i = 1; i <= d; i++) {
        sc /= rho;
        a[i] = c[i] * sc;
    }
    for (int k = d; k >= 1; k--) {
        double r = a[k];
        if (!(fabs(r) < 1))
            return 0;
        double den = 1 - r * r;
        for (int i = 1; i < k; i++)
            b[i] = (a[i] - r * a[k - i]) / den;
        for (int i = 1; i < k; i++)
            a[i] = b[i];
    }
    return 1;
}

/* R's admissible() for optimised parameters (gamma present: seasonal). */
static int admissible(const st_ets_model *mod, double alpha, double beta, double gamma, double phi)
{
    if (phi < 0 || phi > 1 + 1e-8)
        return 0;
    if (!mod->season) {
        if (alpha < 1 - 1 / phi || alpha > 1 + 1 / phi)
            return 0;
        if (mod->trend && (beta < alpha * (phi - 1) || beta > (1 + phi) * (2 - alpha)))
            return 0;
        return 1;
    }
    int m = mod->m;
    if (m <= 1)
        return 1;
    if (!mod->trend)
        beta = 0;
    double d = 1 - 1 / phi - alpha;
    if (gamma < (d > 0 ? d : 0) || gamma > 1 + 1 / phi - alpha)
        return 0;
    if (alpha < 1 - 1 / phi - gamma * (1 - m + phi + phi * m) / (2 * phi * m))
        return 0;
    if (beta < -(1 - phi) * (gamma / m + alpha))
        return 0;
    /* characteristic polynomial, highest degree first (degree m + 1) */
    double c[ST_ETS_MAXM + 3];
    c[0] = 1;
    c[1] = alpha + beta - phi;
    for (int i = 0; i < m - 2; i++)
        c[2 + i] = alpha + beta - alpha * phi;
    c[m] = alpha + beta - alpha * phi + gamma - 1;
    c[m + 1] = phi * (1 - alpha - gamma);
    return roots_inside(c, m + 1, 1 + 1e-10);
}

int st_ets_admissible(const st_ets_model *mod, const st_ets_par *p)
{
    double phi = mod->damped ? p->phi : 1;
    if (!(p->alpha >= P_LO && p->alpha <= P_HI))
        return 0;
    if (mod->trend && !(p->beta >= P_LO && p->beta <= p->alpha && p->beta <= P_HI))
        return 0;
    if (mod->damped && !(phi >= PHI_LO && phi <= PHI_HI))
        return 0;
    if (mod->season && !(p->gamma >= P_LO && p->gamma <= 1 - p->alpha && p->gamma <= P_HI))
        return 0;
    if (!admissible(mod, p->alpha, mod->trend ? p->beta : 0, mod->season ? p->gamma : 0, phi))
        return 0;
    if (mod->season == ST_ETS_M)
        for (int j = 0; j < mod->m; j++)
            if (p->s[j] < 0)
                return 0;
    return 1;
}

/* ------------------------------------------------------------ recursion */

/* One step of R's update() and its one-step forecast f; ring[o] holds
 * the oldest seasonal state and receives the new one.  Returns f. */
typedef struct ets_state {
    double l, b;
    double ring[ST_ETS_MAXM];
    int o;
} ets_state;

static void state_init(ets_state *st, const st_ets_model *mod, const st_ets_par *par)
{
    st->l = par->l;
    st->b = mod->trend ? par->b : 0;
    int m = mod->m;
    for (int j = 0; j < m && mod->season; j++)
        st->ring[j] = par->s[m - 1 - j]; /* ring[0] the oldest */
    st->o = 0;
}

static double state_forecast1(const ets_state *st, const st_ets_model *mod, double phi)
{
    double f = mod->trend ? st->l + phi * st->b : st->l;
    if (mod->season == ST_ETS_A)
        f += st->ring[st->o];
    else if (mod->season == ST_ETS_M)
        f *= st->ring[st->o];
    return f;
}

static void state_update(ets_state *st, const st_ets_model *mod, double alpha, double beta,
                         double gamma, double phi, double y)
{
    double oldl = st->l, olds = mod->season ? st->ring[st->o] : 0;
    double phib = mod->trend ? phi * st->b : 0;
    double q = oldl + phib, p;
    if (isnan(y))
        p = q;
    else if (mod->season == ST_ETS_N)
        p = y;
    else if (mod->season == ST_ETS_A)
        p = y - olds;
    else
        p = fabs(olds) < TOL ? HUGEN : y / olds;
    st->l = q + alpha * (p - q);
    if (mod->trend) {
        double r = st->l - oldl;
        st->b = phib + (beta / alpha) * (r - phib);
    }
    if (mod->season) {
        double t;
        if (isnan(y))
            t = olds;
        else if (mod->season == ST_ETS_A)
            t = y - q;
        else
            t = fabs(q) < TOL ? HUGEN : y / q;
        st->ring[st->o] = olds + gamma * (t - olds);
        st->o = st->o + 1 == mod->m ? 0 : st->o + 1;
    }
}

void st_ets_lik(const st_ets_model *mod, const st_ets_par *par, const double *y, size_t n,
                double *lik, size_t *nobs, double *sse)
{
    ets_state st;
    state_init(&st, mod, par);
    double phi = mod->damped ? par->phi : 1;
    double beta = mod->trend ? par->beta : 0, gamma = mod->season ? par->gamma : 0;
    double s2 = 0, lsum = 0;
    size_t k = 0;
    for (size_t t = 0; t < n; t++) {
        double f = state_forecast1(&st, mod, phi);
        if (!isnan(y[t])) {
            double e = mod->error == ST_ETS_A ? y[t] - f : (y[t] - f) / f;
            s2 += e * e;
            if (mod->error == ST_ETS_M)
                lsum += log(fabs(f));
            k++;
        }
        state_update(&st, mod, par->alpha, beta, gamma, phi, y[t]);
    }
    double L = (double)k * log(s2);
    if (mod->error == ST_ETS_M)
        L += 2 * lsum;
    *lik = isnan(L) ? INFINITY : L;
    *nobs = k;
    *sse = s2;
}

void st_ets_final_state(const st_ets_fit *f, const double *y, size_t n, st_ets_par *out)
{
    const st_ets_model *mod = &f->mod;
    ets_state st;
    state_init(&st, mod, &f->par);
    double phi = mod->damped ? f->par.phi : 1;
    for (size_t t = 0; t < n; t++)
        state_update(&st, mod, f->par.alpha, mod->trend ? f->par.beta : 0, mod->season ? f->par.gamma : 0, phi, y[t]);
    *out = f->par;
    out->l = st.l;
    out->b = st.b;
    for (int j = 0; j < mod->m && mod->season; j++) /* s[0] newest = ring entry before o */
        out->s[j] = st.ring[(st.o + mod->m - 1 - j) % mod->m];
}

void st_ets_filter(const st_ets_fit *f, const double *y, size_t n, double *pred, double *states)
{
    const st_ets_model *mod = &f->mod;
    ets_state st;
    state_init(&st, mod, &f->par);
    double phi = mod->damped ? f->par.phi : 1;
    int m = mod->m;
    size_t k = 1 + (mod->trend != 0) + (mod->season ? (size_t)m : 0);
    for (size_t t = 0; t < n; t++) {
        pred[t] = state_forecast1(&st, mod, phi);
        state_update(&st, mod, f->par.alpha, mod->trend ? f->par.beta : 0, mod->season ? f->par.gamma : 0, phi, y[t]);
        double *x = states + t * k;
        *x++ = st.l;
        if (mod->trend)
            *x++ = st.b;
        for (int j = 0; j < m && mod->season; j++)
            *x++ = st.ring[(st.o + m - 1 - j) % m];
    }
}

int st_ets_evaluate(const st_ets_model *mod, const st_ets_par *par, const double *y, size_t n,
                    st_ets_fit *fit, st_err *e)
{
    fit->mod = *mod;
    fit->par = *par;
    double sse;
    size_t k;
    st_ets_lik(mod, par, y, n, &fit->lik, &k, &sse);
    if (k == 0)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "all observations are missing");
    if (!isfinite(fit->lik))
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "the ETS likelihood is not finite at these parameters (a forecast of zero, or a perfect fit)");
    size_t npR = st_ets_nsmooth(mod) + st_ets_nstates(mod);
    double N = (double)k, K = (double)(npR + 1);
    fit->nobs = k;
    fit->npar = npR + 1;
    fit->loglik = -0.5 * fit->lik - 0.5 * N * (1 + log(2 * M_PI / N));
    fit->aic = -2 * fit->loglik + 2 * K;
    fit->aicc = N - K - 1 > 0 ? fit->aic + 2 * K * (K + 1) / (N - K - 1) : INFINITY;
    fit->bic = -2 * fit->loglik + K * log(N);
    fit->sigma2 = N > (double)npR ? sse / (N - (double)npR) : NAN;
    return 0;
}

/* ------------------------------------------------------------ objective */

typedef struct ets_ctx {
    st_ets_model mod;
    const double *y;
    size_t n, nobs;
    double scale;  /* additive states are optimised in units of scale */
    double mscale; /* multiplicative seasonal states in units of mscale */
    size_t nu;
    double *lv, *bv, *S, *Sbar; /* levels, slopes (n+1), seasonal sequence and its adjoint (n+m) */
    int nevals;
} ets_ctx;

/* u -> parameters (s completed). */
static void u_to_par(const ets_ctx *c, const double *u, st_ets_par *p)
{
    const st_ets_model *mod = &c->mod;
    size_t j = 0;
    memset(p, 0, sizeof *p);
    p->alpha = P_LO + u[j++] * (P_HI - P_LO);
    if (mod->trend)
        p->beta = P_LO + u[j++] * (p->alpha - P_LO);
    if (mod->season)
        p->gamma = P_LO + u[j++] * (1 - p->alpha - P_LO);
    p->phi = mod->damped ? PHI_LO + u[j++] * (PHI_HI - PHI_LO) : 1;
    p->l = u[j++] * c->scale;
    if (mod->trend)
        p->b = u[j++] * c->scale;
    double ss = mod->season == ST_ETS_A ? c->scale : c->mscale;
    for (int k = 0; k < mod->m - 1 && mod->season; k++)
        p->s[k] = u[j++] * ss;
    st_ets_complete_season(mod, p);
}

static double clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

static void par_to_u(const ets_ctx *c, const st_ets_par *p, double *u)
{
    const st_ets_model *mod = &c->mod;
    size_t j = 0;
    u[j++] = clamp01((p->alpha - P_LO) / (P_HI - P_LO));
    if (mod->trend)
        u[j++] = p->alpha > P_LO ? clamp01((p->beta - P_LO) / (p->alpha - P_LO)) : 0;
    if (mod->season)
        u[j++] = 1 - p->alpha - P_LO > 0 ? clamp01((p->gamma - P_LO) / (1 - p->alpha - P_LO)) : 0;
    if (mod->damped)
        u[j++] = clamp01((p->phi - PHI_LO) / (PHI_HI - PHI_LO));
    u[j++] = p->l / c->scale;
    if (mod->trend)
        u[j++] = p->b / c->scale;
    double ss = mod->season == ST_ETS_A ? c->scale : c->mscale;
    for (int k = 0; k < mod->m - 1 && mod->season; k++)
        u[j++] = p->s[k] / ss;
}

/* lik / nobs and its gradient in u: the recursion forward, then its
 * adjoint backward (reverse-mode differentiation by hand: every state
 * update is a few scalar operations, so the gradient costs about two
 * likelihood evaluations whatever the number of parameters). */
/* The pass for one model class: merr, trend and seas are constants at
 * each call site below, so the compiler makes one branch-free loop per
 * class. */
static inline __attribute__((always_inline)) double pass_impl(ets_ctx *c, const st_ets_par *pp_,
                                                              double *g, const int merr,
                                                              const int trend, const int seas)
{
    const st_ets_model *mod = &c->mod;
    st_ets_par p = *pp_;
    double phi = mod->damped ? p.phi : 1, alpha = p.alpha, beta = trend ? p.beta : 0;
    double gamma = seas ? p.gamma : 0;
    int m = mod->m;
    if (seas == ST_ETS_M)
        for (int j = 0; j < m; j++)
            if (p.s[j] < 0)
                return INFINITY;
    size_t n = c->n;
    const double *y = c->y;
    double *lv = c->lv, *bv = c->bv, *S = c->S;
    lv[0] = p.l;
    bv[0] = trend ? p.b : 0;
    for (int j = 0; j < m && seas; j++)
        S[j] = p.s[m - 1 - j];
    /* sum log|f| as the log of a running product, renormalised rarely */
    double sse = 0, lsum = 0, prod = 1;
    for (size_t t = 0; t < n; t++) {
        double l = lv[t], b = bv[t], St = seas ? S[t] : 0;
        double phib = trend ? phi * b : 0, q = l + phib;
        double f = seas == ST_ETS_A ? q + St : seas == ST_ETS_M ? q * St : q;
        double yt = y[t], pp, tt;
        if (isnan(yt)) {
            pp = q;
            tt = St;
        } else {
            double e = merr ? (yt - f) / f : yt - f;
            if (merr) {
                if (f == 0)
                    return INFINITY;
                prod *= fabs(f);
                if (!(prod > 1e-200 && prod < 1e200)) {
                    lsum += log(prod);
                    prod = 1;
                }
            }
            sse += e * e;
            pp = seas == ST_ETS_A ? yt - St : seas == ST_ETS_M ? (fabs(St) < TOL ? HUGEN : yt / St) : yt;
            tt = seas == ST_ETS_A ? yt - q : seas == ST_ETS_M ? (fabs(q) < TOL ? HUGEN : yt / q) : 0;
        }
        double ln = q + alpha * (pp - q);
        lv[t + 1] = ln;
        if (trend)
            bv[t + 1] = phib + (beta / alpha) * (ln - q);
        if (seas)
            S[t + m] = St + gamma * (tt - St);
    }
    lsum += log(prod);
    double N = (double)c->nobs;
    double J = log(sse) + (merr ? 2 * lsum / N : 0);
    if (!isfinite(J))
        return INFINITY;
    if (!g)
        return J;

    /* adjoint pass */
    double *Sb = c->Sbar;
    if (seas)
        memset(Sb, 0, (n + (size_t)m) * sizeof *Sb);
    double Lb = 0, Bb = 0, abar = 0, bbar = 0, gbar = 0, phibar = 0;
    double de = 2 / sse, ba = beta / alpha;
    for (size_t t = n; t-- > 0;) {
        double l = lv[t], b = bv[t], St = seas ? S[t] : 0;
        double phib = trend ? phi * b : 0, q = l + phib;
        double f = seas == ST_ETS_A ? q + St : seas == ST_ETS_M ? q * St : q;
        double yt = y[t], ln = lv[t + 1];
        int miss = isnan(yt);
        double qb = 0, Stb = 0, phibb = 0;
        if (seas) {
            double Sn = Sb[t + (size_t)m];
            Stb += (1 - gamma) * Sn;
            double ttb = gamma * Sn, tt;
            if (miss) {
                tt = St;
                Stb += ttb;
            } else if (seas == ST_ETS_A) {
                tt = yt - q;
                qb -= ttb;
            } else if (fabs(q) < TOL)
                tt = HUGEN;
            else {
                tt = yt / q;
                qb -= yt / (q * q) * ttb;
            }
            gbar += (tt - St) * Sn;
        }
        double lnb = Lb;
        if (trend) {
            phibb += Bb;
            lnb += ba * Bb;
            qb -= ba * Bb;
            bbar += (ln - q) / alpha * Bb;
            abar -= beta * (ln - q) / (alpha * alpha) * Bb;
        }
        double pp;
        if (miss)
            pp = q;
        else if (seas == ST_ETS_A)
            pp = yt - St;
        else if (seas == ST_ETS_M)
            pp = fabs(St) < TOL ? HUGEN : yt / St;
        else
            pp = yt;
        qb += (1 - alpha) * lnb;
        double ppb = alpha * lnb;
        abar += (pp - q) * lnb;
        if (miss)
            qb += ppb;
        else if (seas == ST_ETS_A)
            Stb -= ppb;
        else if (seas == ST_ETS_M && fabs(St) >= TOL)
            Stb -= yt / (St * St) * ppb;
        double fb = 0;
        if (!miss) {
            if (merr) {
                double e = (yt - f) / f;
                fb = -yt / (f * f) * (de * e) + 2 / (N * f);
            } else
                fb = -(de * (yt - f));
        }
        double baseb = qb;
        if (seas == ST_ETS_M) {
            baseb += fb * St;
            Stb += fb * q;
        } else {
            baseb += fb;
            if (seas == ST_ETS_A)
                Stb += fb;
        }
        phibb += baseb;
        Lb = baseb;
        if (trend) {
            Bb = phi * phibb;
            phibar += b * phibb;
        }
        if (seas)
            Sb[t] += Stb;
    }
    /* natural parameters: alpha, beta, gamma, phi, l, b, s0..s(m-2) */
    size_t j = 0;
    g[j++] = abar;
    if (trend)
        g[j++] = bbar;
    if (seas)
        g[j++] = gbar;
    if (mod->damped)
        g[j++] = phibar;
    g[j++] = Lb;
    if (trend)
        g[j++] = Bb;
    for (int k = 0; k < m - 1 && seas; k++) /* s[k] = S[m-1-k]; S[0] = c - sum */
        g[j++] = Sb[m - 1 - k] - Sb[0];
    return J;
}

static double lik_pass(ets_ctx *c, const st_ets_par *p, double *g)
{
    const st_ets_model *mod = &c->mod;
    c->nevals++;
    double phi = mod->damped ? p->phi : 1;
    if (!admissible(mod, p->alpha, mod->trend ? p->beta : 0, mod->season ? p->gamma : 0, phi))
        return INFINITY;
    int merr = mod->error == ST_ETS_M, tr = mod->trend != 0;
#define PASS(E, T, S) return pass_impl(c, p, g, E, T, S)
    switch (mod->season * 4 + tr * 2 + merr) {
    case 0: PASS(0, 0, ST_ETS_N);
    case 1: PASS(1, 0, ST_ETS_N);
    case 2: PASS(0, 1, ST_ETS_N);
    case 3: PASS(1, 1, ST_ETS_N);
    case 4: PASS(0, 0, ST_ETS_A);
    case 5: PASS(1, 0, ST_ETS_A);
    case 6: PASS(0, 1, ST_ETS_A);
    case 7: PASS(1, 1, ST_ETS_A);
    case 8: PASS(0, 0, ST_ETS_M);
    case 9: PASS(1, 0, ST_ETS_M);
    case 10: PASS(0, 1, ST_ETS_M);
    default: PASS(1, 1, ST_ETS_M);
    }
#undef PASS
}

/* lik / nobs and its gradient in u (the chain rule through u_to_par). */
static double objective(const double *u, double *grad, void *vc)
{
    ets_ctx *c = vc;
    const st_ets_model *mod = &c->mod;
    st_ets_par p;
    u_to_par(c, u, &p);
    double g[4 + 2 + ST_ETS_MAXM];
    double J = lik_pass(c, &p, grad ? g : NULL);
    if (!grad || !isfinite(J))
        return J;
    int trend = mod->trend != 0, seas = mod->season != 0;
    size_t j = 0, k = 0;
    double ub = trend ? u[1] : 0, ug = seas ? u[1 + trend] : 0;
    double abar = g[k++], bbar = trend ? g[k++] : 0, gbar = seas ? g[k++] : 0;
    grad[j++] = (abar + bbar * ub - gbar * ug) * (P_HI - P_LO);
    if (trend)
        grad[j++] = bbar * (p.alpha - P_LO);
    if (seas)
        grad[j++] = gbar * (1 - p.alpha - P_LO);
    if (mod->damped)
        grad[j++] = g[k++] * (PHI_HI - PHI_LO);
    grad[j++] = g[k++] * c->scale;
    if (trend)
        grad[j++] = g[k++] * c->scale;
    double ss = mod->season == ST_ETS_A ? c->scale : c->mscale;
    for (int q = 0; q < mod->m - 1 && seas; q++)
        grad[j++] = g[k++] * ss;
    return J;
}

double st_ets_lik_grad(const st_ets_model *mod, const st_ets_par *par, const double *y, size_t n,
                       double *grad)
{
    ets_ctx c;
    memset(&c, 0, sizeof c);
    c.mod = *mod;
    c.y = y;
    c.n = n;
    for (size_t t = 0; t < n; t++)
        c.nobs += !isnan(y[t]);
    size_t m = (size_t)mod->m;
    double *buf = malloc((4 * (n + 1) + 2 * m) * sizeof(double));
    if (!buf)
        return NAN;
    c.lv = buf;
    c.bv = c.lv + n + 1;
    c.S = c.bv + n + 1;
    c.Sbar = c.S + n + m + 1;
    st_ets_par p = *par;
    st_ets_complete_season(mod, &p);
    double J = lik_pass(&c, &p, grad);
    free(buf);
    return J * (double)c.nobs;
}

/* ------------------------------------------------------------ start */

/* y with missing values filled by linear interpolation (ends: nearest). */
static void fill_missing(const double *y, size_t n, double *z)
{
    size_t last = (size_t)-1;
    for (size_t t = 0; t < n; t++) {
        z[t] = y[t];
        if (isnan(y[t]))
            continue;
        if (last == (size_t)-1)
            for (size_t k = 0; k < t; k++)
                z[k] = y[t];
        else
            for (size_t k = last + 1; k < t; k++)
                z[k] = y[last] + (y[t] - y[last]) * (double)(k - last) / (double)(t - last);
        last = t;
    }
    for (size_t k = last + 1; last != (size_t)-1 && k < n; k++)
        z[k] = y[last];
}

/* Least squares fit of y on the columns of X (n x k, k <= 4). */
static int lsfit(const double *X, const double *y, size_t n, size_t k, double *coef)
{
    double A[16] = {0}, r[4] = {0};
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < k; i++) {
            r[i] += X[t * k + i] * y[t];
            for (size_t j = 0; j < k; j++)
                A[i * k + j] += X[t * k + i] * X[t * k + j];
        }
    st_err e;
    if (st_lu_solve(A, k, r, 1, &e) < 0)
        return -1;
    memcpy(coef, r, k * sizeof(double));
    return 0;
}

/* R's initstate(): seasonal indices from a classical decomposition (or a
 * trend + one-harmonic regression when n < 3m), then level (and slope)
 * from the first max(10, 2m) seasonally adjusted points. */
static int init_states(const st_ets_model *mod, const double *yin, size_t n, st_ets_par *par)
{
    double *y = malloc(2 * n * sizeof(double));
    if (!y)
        return -1;
    double *ysa = y + n;
    fill_missing(yin, n, y);
    int m = mod->season ? mod->m : 1;
    if (mod->season) {
        double seasonal_head[ST_ETS_MAXM]; /* the seasonal series at t = 0..m-1 */
        double *seasonal = ysa;            /* n values, reused */
        int mult = mod->season == ST_ETS_M;
        if (n < (size_t)(3 * m)) {
            /* tslm(y ~ trend + fourier(y, 1)) */
            size_t k = m == 2 ? 3 : 4;
            double *X = calloc(n * 4, sizeof(double)), coef[4];
            if (!X) {
                free(y);
                return -1;
            }
            for (size_t t = 0; t < n; t++) {
                double tt = (double)(t + 1), w = 2 * M_PI * tt / m;
                X[t * k] = 1, X[t * k + 1] = tt;
                if (m == 2)
                    X[t * k + 2] = cos(w);
                else
                    X[t * k + 2] = sin(w), X[t * k + 3] = cos(w);
            }
            int rc = lsfit(X, y, n, k, coef);
            free(X);
            if (rc < 0) {
                free(y);
                return -1;
            }
            for (size_t t = 0; t < n; t++) {
                double tr = coef[0] + coef[1] * (double)(t + 1);
                seasonal[t] = mult ? y[t] / tr : y[t] - tr;
            }
        } else {
            /* decompose(): centred moving average, mean detrended value per position */
            double fig[ST_ETS_MAXM];
            size_t cnt[ST_ETS_MAXM];
            for (int i = 0; i < m; i++)
                fig[i] = 0, cnt[i] = 0;
            size_t half = (size_t)m / 2;
            for (size_t t = half; t + half < n; t++) {
                double tr = 0;
                if (m % 2 == 0) {
                    tr = 0.5 * (y[t - half] + y[t + half]);
                    for (size_t k = t - half + 1; k < t + half; k++)
                        tr += y[k];
                } else
                    for (size_t k = t - half; k <= t + half; k++)
                        tr += y[k];
                tr /= m;
                fig[t % (size_t)m] += mult ? y[t] / tr : y[t] - tr;
                cnt[t % (size_t)m]++;
            }
            double mean = 0;
            for (int i = 0; i < m; i++) {
                fig[i] /= (double)cnt[i];
                mean += fig[i] / m;
            }
            for (int i = 0; i < m; i++)
                fig[i] = mult ? fig[i] / mean : fig[i] - mean;
            for (size_t t = 0; t < n; t++)
                seasonal[t] = fig[t % (size_t)m];
        }
        for (int i = 0; i < m; i++)
            seasonal_head[i] = seasonal[i];
        /* init.seas = rev(seasonal[2:m]): s[k] = seasonal[m-1-k] */
        for (int k = 0; k < m - 1; k++)
            par->s[k] = seasonal_head[m - 1 - k];
        if (mult) {
            double sum = 0;
            for (int k = 0; k < m - 1; k++) {
                par->s[k] = fmax(par->s[k], 1e-2);
                sum += par->s[k];
            }
            if (sum > m) {
                double den = sum + 1e-2 * (m - 1);
                for (int k = 0; k < m - 1; k++)
                    par->s[k] /= den;
            }
            for (size_t t = 0; t < n; t++)
                ysa[t] = y[t] / fmax(seasonal[t], 1e-2);
        } else
            for (size_t t = 0; t < n; t++)
                ysa[t] = y[t] - seasonal[t];
    } else
        memcpy(ysa, y, n * sizeof(double));
    size_t maxn = (size_t)(2 * m > 10 ? 2 * m : 10);
    if (maxn > n)
        maxn = n;
    if (!mod->trend) {
        double s = 0;
        for (size_t t = 0; t < maxn; t++)
            s += ysa[t];
        par->l = s / (double)maxn;
    } else {
        double X[2 * 48] = {0}, coef[2];
        double *Xd = maxn <= 48 ? X : malloc(2 * maxn * sizeof(double));
        if (!Xd) {
            free(y);
            return -1;
        }
        for (size_t t = 0; t < maxn; t++)
            Xd[2 * t] = 1, Xd[2 * t + 1] = (double)(t + 1);
        int rc = lsfit(Xd, ysa, maxn, 2, coef);
        if (Xd != X)
            free(Xd);
        if (rc < 0) {
            free(y);
            return -1;
        }
        par->l = coef[0];
        par->b = coef[1];
        if (fabs(par->l + par->b) < 1e-8) {
            par->l *= 1 + 1e-3;
            par->b *= 1 - 1e-3;
        }
    }
    free(y);
    st_ets_complete_season(mod, par);
    return 0;
}

/* R's initparam() for bounds "both". */
static void init_params(const st_ets_model *mod, st_ets_par *p)
{
    int m = mod->season ? mod->m : 1;
    p->alpha = P_LO + 0.2 * (P_HI - P_LO) / m;
    if (p->alpha > 1 || p->alpha < 0)
        p->alpha = P_LO + 2e-3;
    p->beta = p->gamma = 0;
    p->phi = 1;
    if (mod->trend) {
        double up = fmin(P_HI, p->alpha);
        p->beta = P_LO + 0.1 * (up - P_LO);
        if (p->beta < 0 || p->beta > p->alpha)
            p->beta = p->alpha - 1e-3;
    }
    if (mod->season) {
        double up = fmin(P_HI, 1 - p->alpha);
        p->gamma = P_LO + 0.05 * (up - P_LO);
        if (p->gamma < 0 || p->gamma > 1 - p->alpha)
            p->gamma = 1 - p->alpha - 1e-3;
    }
    if (mod->damped) {
        p->phi = PHI_LO + 0.99 * (PHI_HI - PHI_LO);
        if (p->phi < 0 || p->phi > 1)
            p->phi = PHI_HI - 1e-3;
    }
}

/* ------------------------------------------------------------ fitting */

static int check_data(const st_ets_model *mod, const double *y, size_t n, size_t *nobs, st_err *e)
{
    size_t k = 0;
    double first = NAN, lo = INFINITY;
    int constant = 1;
    for (size_t t = 0; t < n; t++) {
        if (isnan(y[t]))
            continue;
        if (!isfinite(y[t]))
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "observation %zu is infinite", t + 1);
        if (k == 0)
            first = y[t];
        else if (y[t] != first)
            constant = 0;
        lo = fmin(lo, y[t]);
        k++;
    }
    *nobs = k;
    if (k == 0)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "all observations are missing");
    if (constant)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "constant series (every observation is %g): nothing to fit", first);
    if ((mod->error == ST_ETS_M || mod->season == ST_ETS_M) && !(lo > 0))
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "a multiplicative ETS model needs positive data (the smallest value is %g)", lo);
    if (mod->season && n <= (size_t)mod->m)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "seasonal period %d is not shorter than the series (%zu points)", mod->m, n);
    size_t np = st_ets_nsmooth(mod) + st_ets_nstates(mod);
    if (np + 1 >= n)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "too few observations for ETS: %zu points, the model has %zu parameters (forecast::ets needs more than parameters + 1)", n, np);
    return 0;
}

/* A start for model `to` from the fit of a related model (same data):
 * parameters carried over, a component the fit lacks added at its
 * neutral value, a damped trend from an undamped one at phi's upper
 * bound, additive seasonal states turned into ratios to the level (and
 * back).  0 if there is no sensible mapping. */
static int warm_start(const st_ets_fit *f, const st_ets_model *to, st_ets_par *p)
{
    const st_ets_model *fm = &f->mod;
    if ((fm->trend && !to->trend) || (fm->season && !to->season) || (fm->season && fm->m != to->m))
        return 0;
    *p = f->par;
    if (to->trend && !fm->trend) {
        p->b = 0;
        p->beta = P_LO;
    }
    p->phi = to->damped ? (fm->damped ? f->par.phi : PHI_HI) : 1;
    int m = to->m;
    if (to->season && !fm->season) {
        for (int k = 0; k < m; k++)
            p->s[k] = to->season == ST_ETS_M ? 1 : 0;
        p->gamma = P_LO;
    } else if (to->season == ST_ETS_M && fm->season == ST_ETS_A) {
        double L = fabs(p->l) > 0 ? fabs(p->l) : 1;
        for (int k = 0; k < m - 1; k++)
            p->s[k] = fmax(1 + p->s[k] / L, 1e-2);
    } else if (to->season == ST_ETS_A && fm->season == ST_ETS_M) {
        for (int k = 0; k < m - 1; k++)
            p->s[k] = (p->s[k] - 1) * p->l;
    }
    if (!to->season)
        p->gamma = 0;
    if (!to->trend)
        p->beta = 0, p->b = 0;
    /* back inside the usual region */
    p->alpha = fmin(fmax(p->alpha, P_LO), P_HI);
    if (to->trend)
        p->beta = fmin(fmax(p->beta, P_LO), p->alpha);
    if (to->season)
        p->gamma = fmin(fmax(p->gamma, P_LO), 1 - p->alpha);
    if (to->damped)
        p->phi = fmin(fmax(p->phi, PHI_LO), PHI_HI);
    st_ets_complete_season(to, p);
    return 1;
}

/* Alternative smoothing parameters k = 0.. for a start (R's initial
 * states kept). */
static void alt_start(const st_ets_model *mod, int k, st_ets_par *q)
{
    static const double A0[] = {0.3, 0.6, 0.1, 0.85};
    q->alpha = A0[k % 4];
    if (mod->trend)
        q->beta = 0.1 * q->alpha;
    if (mod->season)
        q->gamma = 0.1 * (1 - q->alpha);
    if (mod->damped)
        q->phi = 0.9;
}

int st_ets_fit_model_from(const st_ets_model *mod, const double *y, size_t n, const st_ets_fit *related,
                          size_t nrelated, int nalt, int nrun, st_ets_fit *fit, st_err *e)
{
    memset(fit, 0, sizeof *fit);
    size_t nobs = 0;
    int rc = check_data(mod, y, n, &nobs, e);
    if (rc < 0)
        return rc;
    ets_ctx c;
    memset(&c, 0, sizeof c);
    c.mod = *mod;
    c.y = y;
    c.n = n;
    c.nobs = nobs;
    c.nu = st_ets_nsmooth(mod) + st_ets_nstates(mod);
    /* states in units of the size of one-step changes (sd of the first
     * differences): the likelihood's curvature in them is then of order
     * one, like in the smoothing parameters */
    double s1 = 0, s2 = 0, sabs = 0, prev = NAN;
    size_t nd = 0;
    for (size_t t = 0; t < n; t++) {
        if (isnan(y[t]))
            continue;
        sabs += fabs(y[t]);
        if (!isnan(prev)) {
            s1 += y[t] - prev;
            s2 += (y[t] - prev) * (y[t] - prev);
            nd++;
        }
        prev = y[t];
    }
    double dv = nd > 1 ? (s2 - s1 * s1 / (double)nd) / (double)(nd - 1) : 0;
    double level = sabs / (double)nobs;
    c.scale = dv > 0 ? sqrt(dv) : level > 0 ? level : 1;
    c.mscale = level > 0 ? fmin(1, c.scale / level) : 1;
    size_t m = (size_t)mod->m;
    double *buf = malloc((4 * (n + 1) + 2 * m) * sizeof(double));
    if (!buf)
        return st_err_nomem(e, "ETS fit");
    c.lv = buf;
    c.bv = c.lv + n + 1;
    c.S = c.bv + n + 1;
    c.Sbar = c.S + n + m + 1;
    st_ets_par p0;
    memset(&p0, 0, sizeof p0);
    init_params(mod, &p0);
    if (init_states(mod, y, n, &p0) < 0) {
        free(buf);
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "ETS starting values could not be computed");
    }
    enum { NU = 3 + 4 + ST_ETS_MAXM, MAXC = 24 };
    double u[NU], lo[NU], hi[NU];
    size_t nu = c.nu, nsm = st_ets_nsmooth(mod);
    par_to_u(&c, &p0, u);
    for (size_t i = 0; i < nu; i++) {
        lo[i] = i < nsm ? 0 : -HUGE_VAL;
        hi[i] = i < nsm ? 1 : HUGE_VAL;
    }
    /* R's start must be admissible (etsmodel stops otherwise) */
    if (!isfinite(objective(u, NULL, &c))) {
        free(buf);
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "the ETS starting values are outside the admissible region or give no likelihood");
    }
    st_optim_opts oo = {0};
    oo.method = ST_OPT_LBFGS;
    oo.ftol_rel = 1e-12;
    oo.xtol_rel = 1e-10;
    oo.max_eval = 2000;
    oo.lower = lo;
    oo.upper = hi;
    st_optim_result res;
    st_err oe;
    rc = st_optim_minimize(objective, &c, u, nu, &oo, &res, &oe);
    /* other starts: warm starts from related fits and alternative
     * smoothing parameters, screened by their likelihood; L-BFGS from the
     * best nrun - 1 of them */
    double cu[MAXC][NU], cf[MAXC];
    size_t nc = 0;
    for (size_t k = 0; k < nrelated && nc < MAXC; k++) {
        st_ets_par q;
        if (!warm_start(&related[k], mod, &q))
            continue;
        par_to_u(&c, &q, cu[nc]);
        cf[nc] = objective(cu[nc], NULL, &c);
        nc += isfinite(cf[nc]);
    }
    for (int k = 0; k < nalt && nc < MAXC; k++) {
        st_ets_par q = p0;
        alt_start(mod, k, &q);
        par_to_u(&c, &q, cu[nc]);
        cf[nc] = objective(cu[nc], NULL, &c);
        nc += isfinite(cf[nc]);
    }
    for (int r = 1; r < nrun && nc > 0; r++) {
        size_t b = 0;
        for (size_t k = 1; k < nc; k++)
            if (cf[k] < cf[b])
                b = k;
        st_optim_result r2;
        int rc2 = st_optim_minimize(objective, &c, cu[b], nu, &oo, &r2, &oe);
        if (isfinite(r2.fmin) && (r2.fmin < res.fmin || !isfinite(res.fmin))) {
            memcpy(u, cu[b], nu * sizeof(double));
            res = r2;
            rc = rc2;
        }
        cf[b] = INFINITY;
    }
    if (rc < 0 && !isfinite(res.fmin)) {
        free(buf);
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "ETS optimiser failed: %s", oe.msg);
    }
    st_ets_par p;
    u_to_par(&c, u, &p);
    if (!mod->trend)
        p.beta = 0, p.b = 0;
    if (!mod->season)
        p.gamma = 0;
    if (!mod->damped)
        p.phi = 1;
    free(buf);
    rc = st_ets_evaluate(mod, &p, y, n, fit, e);
    fit->converged = res.converged;
    fit->nevals = c.nevals;
    return rc;
}

int st_ets_fit_model(const st_ets_model *mod, const double *y, size_t n, st_ets_fit *fit, st_err *e)
{
    /* a damped trend starts also from the undamped model's optimum (phi at
     * its upper bound): the damped likelihood surface has optima the
     * plain starts miss */
    st_ets_fit rel[1];
    size_t nrel = 0;
    if (mod->damped) {
        st_ets_model und = *mod;
        und.damped = 0;
        st_err e2;
        if (st_ets_fit_model_from(&und, y, n, NULL, 0, ST_ETS_NALT, ST_ETS_NRUN, &rel[0], &e2) == 0)
            nrel = 1;
    }
    return st_ets_fit_model_from(mod, y, n, rel, nrel, ST_ETS_NALT, ST_ETS_NRUN, fit, e);
}

int st_ets_auto(const st_ets_choice *ch, int m, const double *y, size_t n, st_ets_fit *best,
                int *nfitted, st_err *e)
{
    double lo = INFINITY;
    size_t nobs = 0;
    for (size_t t = 0; t < n; t++)
        if (!isnan(y[t])) {
            lo = fmin(lo, y[t]);
            nobs++;
        }
    int positive = lo > 0;
    int seasonal_ok = m > 1 && m <= ST_ETS_MAXM && n > (size_t)m;
    int nfit = 0;
    st_err last;
    st_err_clear(&last);
    if (n <= 6) {
        *nfitted = 0;
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "too few observations for ETS: %zu points (forecast::ets falls back to Holt-Winters below 7)", n);
    }
    best->aicc = INFINITY;
    st_ets_fit done[18];
    static const int E[] = {ST_ETS_A, ST_ETS_M}, T[] = {ST_ETS_N, ST_ETS_A}, S[] = {ST_ETS_N, ST_ETS_A, ST_ETS_M};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 3; k++)
                for (int d = 1; d >= 0; d--) { /* R's order: damped TRUE first */
                    if (!(ch->error & (1u << E[i])) || !(ch->trend & (1u << T[j])) ||
                        !(ch->season & (1u << S[k])) || !(ch->damped & (1u << d)))
                        continue;
                    if (T[j] == ST_ETS_N && d)
                        continue;
                    if (E[i] == ST_ETS_A && S[k] == ST_ETS_M)
                        continue; /* restrict = TRUE */
                    if (!positive && (E[i] == ST_ETS_M || S[k] == ST_ETS_M))
                        continue;
                    if (S[k] != ST_ETS_N && !seasonal_ok)
                        continue;
                    st_ets_model mod = {E[i], T[j], d, S[k], S[k] ? m : 1};
                    st_ets_fit f;
                    if (st_ets_fit_model_from(&mod, y, n, done, nfit, ST_ETS_AUTO_NALT, ST_ETS_AUTO_NRUN, &f, &last) < 0)
                        continue;
                    done[nfit] = f;
                    nfit++;
                    if (f.aicc < best->aicc || nfit == 1)
                        *best = f;
                }
    *nfitted = nfit;
    if (nfit == 0) {
        if (e)
            *e = last;
        return last.code ? last.code : st_err_set(e, ST_EDATA, NULL, 0, 0, "no ETS model could be fitted");
    }
    return 0;
}

/* ------------------------------------------------------------ forecasts */

/* Point forecasts from a state: l + (phi + ... + phi^h) b, then the
 * season.  (R's C forecast() adds phi^(i+1) after step i, i.e. 2 phi at
 * h = 2; its class 1-2 formulas and Hyndman et al. (2008) sum phi^1..phi^h,
 * as here.) */
static void point_forecasts(const st_ets_model *mod, const st_ets_par *x, size_t h, double *f)
{
    double phi = mod->damped ? x->phi : 1, phistar = phi;
    int m = mod->m;
    for (size_t i = 0; i < h; i++) {
        double v = mod->trend ? x->l + phistar * x->b : x->l;
        if (mod->season) {
            long j = (long)m - 1 - (long)(i % (size_t)m);
            if (mod->season == ST_ETS_A)
                v += x->s[j];
            else
                v *= x->s[j];
        }
        f[i] = v;
        phistar += fabs(phi - 1) < TOL ? 1 : pow(phi, (double)(i + 2));
    }
}

/* c_j = w' F^(j-1) g for j = 1..h-1 of the linear (class 1) form: state
 * (l, b, s_1..s_m) with s_1 the newest; w = (1, phi, 0.., 1), g = (alpha,
 * beta, gamma, 0..). */
static void class1_c(const st_ets_model *mod, const st_ets_par *p, size_t h, double *cj)
{
    double phi = mod->damped ? p->phi : 1;
    int m = mod->m, seas = mod->season != ST_ETS_N;
    double l = p->alpha, b = mod->trend ? p->beta : 0, s[ST_ETS_MAXM];
    for (int k = 0; k < m; k++)
        s[k] = 0;
    if (seas)
        s[0] = p->gamma;
    for (size_t j = 1; j < h; j++) {
        cj[j - 1] = l + (mod->trend ? phi * b : 0) + (seas ? s[m - 1] : 0);
        /* v <- F v */
        l = l + (mod->trend ? phi * b : 0);
        b = phi * b;
        if (seas) {
            double last = s[m - 1];
            memmove(s + 1, s, (size_t)(m - 1) * sizeof(double));
            s[0] = last;
        }
    }
}

/* out = A V B' for K x K matrices, skipping the zeros of A and B. */
static void sandwich(const double *A, const double *V, const double *B, size_t K, double *out,
                     double *tmp)
{
    /* tmp = V B' : tmp[i][j] = sum_k V[i][k] B[j][k] */
    for (size_t i = 0; i < K * K; i++)
        tmp[i] = 0;
    for (size_t j = 0; j < K; j++)
        for (size_t k = 0; k < K; k++) {
            double bjk = B[j * K + k];
            if (bjk == 0)
                continue;
            for (size_t i = 0; i < K; i++)
                tmp[i * K + j] += V[i * K + k] * bjk;
        }
    for (size_t i = 0; i < K * K; i++)
        out[i] = 0;
    for (size_t i = 0; i < K; i++)
        for (size_t k = 0; k < K; k++) {
            double aik = A[i * K + k];
            if (aik == 0)
                continue;
            for (size_t j = 0; j < K; j++)
                out[i * K + j] += aik * tmp[k * K + j];
        }
}

/* Kronecker product C = A (ra x ca) (x) B (rb x cb). */
static void kron(const double *A, size_t ra, size_t ca, const double *B, size_t rb, size_t cb, double *C)
{
    size_t cc = ca * cb;
    for (size_t i = 0; i < ra; i++)
        for (size_t j = 0; j < ca; j++)
            for (size_t k = 0; k < rb; k++)
                for (size_t l = 0; l < cb; l++)
                    C[(i * rb + k) * cc + j * cb + l] = A[i * ca + j] * B[k * cb + l];
}

/* Class 3 (M error, M season): forecast means and variances of Hyndman,
 * Koehler, Ord and Snyder (2005, "Prediction intervals for exponential
 * smoothing using two new classes of state space models"), as R's class3
 * computes them, with the damped trend entering F1, G1 and H1 as phi
 * (R's class3 uses 1 there, which is right only undamped). */
static int class3(const st_ets_model *mod, const st_ets_par *x, double sigma2, size_t h,
                  double *mu, double *var)
{
    size_t d1 = mod->trend ? 2 : 1, m = (size_t)mod->m, K = d1 * m;
    double phi = mod->damped ? x->phi : 1;
    double F1[4] = {0}, G1[4] = {0}, H1[2] = {1, phi};
    if (d1 == 1)
        F1[0] = 1, G1[0] = x->alpha;
    else {
        F1[0] = 1, F1[1] = phi, F1[3] = phi;
        G1[0] = x->alpha, G1[1] = x->alpha * phi, G1[2] = x->beta, G1[3] = x->beta * phi;
    }
    double *F2 = calloc(m * m, sizeof(double)), *G2 = calloc(m * m, sizeof(double));
    double *F21 = malloc(K * K * sizeof(double)), *G21 = malloc(K * K * sizeof(double));
    double *Kt = malloc(K * K * sizeof(double)), *tmpK = malloc(K * K * sizeof(double));
    double *Vh = calloc(K * K, sizeof(double)), *Vn = malloc(K * K * sizeof(double));
    double *W = malloc(K * K * sizeof(double)), *T2 = malloc(K * K * sizeof(double));
    double *vM = malloc(K * sizeof(double)), *Mh = malloc(K * sizeof(double)), *Mn = malloc(K * sizeof(double));
    int rc = 0;
    if (!F2 || !G2 || !F21 || !G21 || !Kt || !tmpK || !Vh || !Vn || !W || !T2 || !vM || !Mh || !Mn) {
        rc = -1;
        goto out;
    }
    F2[0 * m + m - 1] = 1;
    for (size_t i = 1; i < m; i++)
        F2[i * m + i - 1] = 1;
    G2[0 * m + m - 1] = x->gamma;
    kron(F2, m, m, F1, d1, d1, F21);
    kron(G2, m, m, G1, d1, d1, G21);
    /* K = G2 (x) F1 + F2 (x) G1 */
    kron(G2, m, m, F1, d1, d1, Kt);
    kron(F2, m, m, G1, d1, d1, tmpK);
    for (size_t i = 0; i < K * K; i++)
        Kt[i] += tmpK[i];
    /* Mh = x1 x2' stored as vec (column-major: index col*d1 + row); x2 =
     * (s_1..s_m), s_1 the newest */
    double x1[2] = {x->l, x->b};
    for (size_t col = 0; col < m; col++)
        for (size_t r = 0; r < d1; r++)
            Mh[col * d1 + r] = x1[r] * x->s[col];
    for (size_t i = 0; i < h; i++) {
        /* mu = H1 Mh H2' (H2 picks the oldest season, column m-1);
         * var = (1 + s2) H21 Vh H21' + s2 mu^2 */
        double mui = 0, q = 0;
        for (size_t r = 0; r < d1; r++)
            mui += H1[r] * Mh[(m - 1) * d1 + r];
        for (size_t r = 0; r < d1; r++)
            for (size_t r2 = 0; r2 < d1; r2++)
                q += H1[r] * H1[r2] * Vh[((m - 1) * d1 + r) * K + (m - 1) * d1 + r2];
        mu[i] = mui;
        var[i] = (1 + sigma2) * q + sigma2 * mui * mui;
        if (i + 1 == h)
            break;
        memcpy(vM, Mh, K * sizeof(double));
        /* Vn = F21 Vh F21' + s2 (F21 Vh G21' + G21 Vh F21' + Kt (Vh + vM vM') Kt'
         *      + s2 G21 (3 Vh + 2 vM vM') G21') */
        sandwich(F21, Vh, F21, K, Vn, tmpK);
        sandwich(F21, Vh, G21, K, T2, tmpK);
        for (size_t a = 0; a < K; a++)
            for (size_t b = 0; b < K; b++)
                Vn[a * K + b] += sigma2 * (T2[a * K + b] + T2[b * K + a]);
        for (size_t a = 0; a < K; a++)
            for (size_t b = 0; b < K; b++)
                W[a * K + b] = Vh[a * K + b] + vM[a] * vM[b];
        sandwich(Kt, W, Kt, K, T2, tmpK);
        for (size_t a = 0; a < K * K; a++)
            Vn[a] += sigma2 * T2[a];
        for (size_t a = 0; a < K; a++)
            for (size_t b = 0; b < K; b++)
                W[a * K + b] = 3 * Vh[a * K + b] + 2 * vM[a] * vM[b];
        sandwich(G21, W, G21, K, T2, tmpK);
        for (size_t a = 0; a < K * K; a++)
            Vn[a] += sigma2 * sigma2 * T2[a];
        memcpy(Vh, Vn, K * K * sizeof(double));
        /* Mh = F1 Mh F2' + s2 G1 Mh G2' : as vec, F21 vM + s2 G21 vM */
        for (size_t a = 0; a < K; a++) {
            double acc = 0;
            for (size_t b = 0; b < K; b++)
                acc += (F21[a * K + b] + sigma2 * G21[a * K + b]) * vM[b];
            Mn[a] = acc;
        }
        memcpy(Mh, Mn, K * sizeof(double));
    }
out:
    free(F2);
    free(G2);
    free(F21);
    free(G21);
    free(Kt);
    free(tmpK);
    free(Vh);
    free(Vn);
    free(W);
    free(T2);
    free(vM);
    free(Mh);
    free(Mn);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R's quantile type 8 of sorted v[0..n-1]. */
static double quantile8(const double *v, size_t n, double p)
{
    double nppm = (double)n * p + (p + 1) / 3;
    double j = floor(nppm), g = nppm - j;
    if (j < 1)
        return v[0];
    if (j >= (double)n)
        return v[n - 1];
    size_t i = (size_t)j;
    return (1 - g) * v[i - 1] + g * v[i];
}

static int simulate(const st_ets_fit *fit, const st_ets_par *x, size_t h, const double *levels,
                    size_t nlevels, uint64_t seed, uint64_t stream, int npaths, double *var,
                    double *lo, double *hi, st_err *e)
{
    const st_ets_model *mod = &fit->mod;
    size_t P = (size_t)(npaths > 0 ? npaths : 5000);
    double *paths = malloc(P * h * sizeof(double)), *col = malloc(P * sizeof(double));
    if (!paths || !col) {
        free(paths);
        free(col);
        return st_err_nomem(e, "simulated intervals");
    }
    st_rng r;
    st_rng_stream(&r, seed, stream);
    double sd = sqrt(fit->sigma2), phi = mod->damped ? x->phi : 1;
    for (size_t k = 0; k < P; k++) {
        ets_state st;
        state_init(&st, mod, x);
        for (size_t i = 0; i < h; i++) {
            double f = state_forecast1(&st, mod, phi), eps = sd * st_rng_normal(&r), yv;
            if (mod->error == ST_ETS_M) {
                eps = fmax(-1, eps);
                yv = f * (1 + eps);
            } else
                yv = f + eps;
            paths[i * P + k] = yv;
            state_update(&st, mod, x->alpha, mod->trend ? x->beta : 0, mod->season ? x->gamma : 0, phi, yv);
        }
    }
    for (size_t i = 0; i < h; i++) {
        double s = 0, s2 = 0;
        for (size_t k = 0; k < P; k++) {
            col[k] = paths[i * P + k];
            s += col[k];
        }
        double mean = s / (double)P;
        for (size_t k = 0; k < P; k++)
            s2 += (col[k] - mean) * (col[k] - mean);
        var[i] = s2 / (double)(P - 1);
        qsort(col, P, sizeof *col, cmp_double);
        for (size_t l = 0; l < nlevels; l++) {
            lo[i * nlevels + l] = quantile8(col, P, 0.5 - levels[l] / 200);
            hi[i * nlevels + l] = quantile8(col, P, 0.5 + levels[l] / 200);
        }
    }
    free(paths);
    free(col);
    return 0;
}

int st_ets_forecast(const st_ets_fit *f, const double *y, size_t n, size_t h, const double *levels,
                    size_t nlevels, uint64_t seed, uint64_t stream, int npaths, double *mean,
                    double *var, double *lo, double *hi, st_err *e)
{
    const st_ets_model *mod = &f->mod;
    st_ets_par x;
    st_ets_final_state(f, y, n, &x);
    point_forecasts(mod, &x, h, mean);
    double s2 = f->sigma2;
    if (!isfinite(s2))
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "ETS residual variance is not defined (as many parameters as observations)");
    if (mod->season == ST_ETS_M && mod->error == ST_ETS_A) {
        if (nlevels == 0) {
            for (size_t k = 0; k < h; k++)
                var[k] = NAN;
            return 0;
        }
        return simulate(f, &x, h, levels, nlevels, seed, stream, npaths, var, lo, hi, e);
    }
    if (mod->season == ST_ETS_M) {
        if (class3(mod, &x, s2, h, mean, var) < 0)
            return st_err_nomem(e, "ETS forecast variances");
    } else {
        double *cj = malloc((h ? h : 1) * sizeof(double));
        if (!cj)
            return st_err_nomem(e, "ETS forecast variances");
        class1_c(mod, &x, h, cj);
        if (mod->error == ST_ETS_A) {
            double acc = 0;
            for (size_t k = 0; k < h; k++) {
                var[k] = s2 * (1 + acc);
                if (k + 1 < h)
                    acc += cj[k] * cj[k];
            }
        } else {
            /* class 2: theta_1 = mu_1^2, theta_j = mu_j^2 + s2 sum_{i<j} c_i^2 theta_{j-i} */
            double *th = malloc((h ? h : 1) * sizeof(double));
            if (!th) {
                free(cj);
                return st_err_nomem(e, "ETS forecast variances");
            }
            for (size_t j = 0; j < h; j++) {
                double acc = 0;
                for (size_t i = 1; i <= j; i++)
                    acc += cj[i - 1] * cj[i - 1] * th[j - i];
                th[j] = mean[j] * mean[j] + s2 * acc;
                var[j] = (1 + s2) * th[j] - mean[j] * mean[j];
            }
            free(th);
        }
        free(cj);
    }
    for (size_t k = 0; k < h; k++)
        if (!(var[k] >= 0) || !isfinite(var[k]) || !isfinite(mean[k]))
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "numerical breakdown: ETS forecast %zu has mean %g and variance %g", k + 1, mean[k], var[k]);
    for (size_t i = 0; i < nlevels; i++) {
        double z = st_ssm_qnorm(0.5 + levels[i] / 200);
        for (size_t k = 0; k < h; k++) {
            double sd = sqrt(var[k]);
            lo[k * nlevels + i] = mean[k] - z * sd;
            hi[k * nlevels + i] = mean[k] + z * sd;
        }
    }
    return 0;
}

/* Structural models: spec parsing, state-space form, maximum likelihood
 * with the scale concentrated out, forecasts, decomposition, AICc choice. */
#include "config.h"

#include "ssm/structural.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/optim.h"

/* ------------------------------------------------------------ parsing */

static int add_param(st_uc_spec *sp, const char *name, int type, st_err *e)
{
    if (sp->npar >= ST_UC_MAXPAR)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "model has too many parameters (at most %d)", ST_UC_MAXPAR);
    snprintf(sp->names[sp->npar], sizeof sp->names[0], "%s", name);
    sp->ptype[sp->npar++] = type;
    return 0;
}

static int parse_int(const char *s, const char *what, long lo, long hi, int *out, st_err *e)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || (*end && *end != ':'))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "%s must be an integer, not '%s'", what, s);
    if (v < lo || v > hi)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "%s must be from %ld to %ld, not %ld", what, lo, hi, v);
    *out = (int)v;
    return 0;
}

/* states of a trig:S:K component */
static size_t trig_states(int S, int K)
{
    return 2 * (size_t)K - (2 * K == S ? 1 : 0);
}

int st_uc_parse(const char *text, size_t nreg, st_uc_spec *sp, st_err *e)
{
    memset(sp, 0, sizeof *sp);
    sp->nreg = nreg;
    sp->period = 1;
    if (!text || !*text)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "empty model specification");
    char buf[512];
    if (strlen(text) >= sizeof buf)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "model specification too long");
    strcpy(buf, text);
    int ntrend = 0, has_irr = 0, has_reg = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
        if (sp->ncomp >= ST_UC_MAXCOMP)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "too many model components (at most %d)", ST_UC_MAXCOMP);
        st_uc_comp c = {0};
        int rc = 0;
        if (!strcmp(tok, "level"))
            c.kind = ST_UC_LEVEL, ntrend++;
        else if (!strcmp(tok, "trend"))
            c.kind = ST_UC_TREND, ntrend++;
        else if (!strcmp(tok, "smooth-trend"))
            c.kind = ST_UC_SMOOTH_TREND, ntrend++;
        else if (!strcmp(tok, "damped-trend"))
            c.kind = ST_UC_DAMPED_TREND, ntrend++;
        else if (!strcmp(tok, "cycle"))
            c.kind = ST_UC_CYCLE;
        else if (!strcmp(tok, "reg"))
            c.kind = ST_UC_REG, has_reg++;
        else if (!strcmp(tok, "irregular")) {
            has_irr++;
            continue;
        } else if (!strncmp(tok, "seasonal:", 9)) {
            c.kind = ST_UC_SEASONAL;
            rc = parse_int(tok + 9, "seasonal period", 2, 1000, &c.S, e);
        } else if (!strncmp(tok, "trig:", 5)) {
            c.kind = ST_UC_TRIG;
            rc = parse_int(tok + 5, "trig period", 2, 1000, &c.S, e);
            const char *k = strchr(tok + 5, ':');
            if (rc == 0 && !k)
                rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "trig needs a number of harmonics: trig:S:K");
            if (rc == 0)
                rc = parse_int(k + 1, "trig harmonics", 1, c.S / 2, &c.K, e);
        } else if (!strncmp(tok, "ar:", 3)) {
            c.kind = ST_UC_AR;
            rc = parse_int(tok + 3, "AR order", 1, 10, &c.P, e);
        } else
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "unknown model component '%s' (level, trend, smooth-trend, damped-trend, seasonal:S, trig:S:K, cycle, ar:P, reg, irregular)", tok);
        if (rc < 0)
            return rc;
        sp->comp[sp->ncomp++] = c;
    }
    if (ntrend > 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "at most one of level, trend, smooth-trend, damped-trend");
    /* parameter names must be unique: one cycle, one AR, one seasonal of
     * each kind per period */
    for (size_t i = 0; i < sp->ncomp; i++)
        for (size_t j = 0; j < i; j++) {
            const st_uc_comp *a = &sp->comp[i], *b = &sp->comp[j];
            if (a->kind == b->kind && (a->kind == ST_UC_CYCLE || a->kind == ST_UC_AR ||
                                       ((a->kind == ST_UC_SEASONAL || a->kind == ST_UC_TRIG) && a->S == b->S)))
                return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a component appears twice");
        }
    if (has_irr > 1 || has_reg > 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a component appears twice");
    if (has_reg && nreg == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "model has 'reg' but no regressors were given (-x)");
    if (!has_reg && nreg > 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "regressors given (-x) but the model has no 'reg' component");
    if (sp->ncomp == 0 && !has_irr)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "empty model specification");
    /* dimensions and parameters */
    int rc = 0;
    for (size_t i = 0; i < sp->ncomp && rc == 0; i++) {
        st_uc_comp *c = &sp->comp[i];
        char nm[32];
        switch (c->kind) {
        case ST_UC_LEVEL:
            sp->m += 1, sp->r += 1, sp->ndiffuse += 1;
            rc = add_param(sp, "sigma2.level", ST_UC_PVAR, e);
            break;
        case ST_UC_TREND:
            sp->m += 2, sp->r += 2, sp->ndiffuse += 2;
            if ((rc = add_param(sp, "sigma2.level", ST_UC_PVAR, e)) == 0)
                rc = add_param(sp, "sigma2.slope", ST_UC_PVAR, e);
            break;
        case ST_UC_SMOOTH_TREND:
            sp->m += 2, sp->r += 1, sp->ndiffuse += 2;
            rc = add_param(sp, "sigma2.slope", ST_UC_PVAR, e);
            break;
        case ST_UC_DAMPED_TREND:
            sp->m += 2, sp->r += 2, sp->ndiffuse += 1;
            if ((rc = add_param(sp, "sigma2.level", ST_UC_PVAR, e)) == 0 &&
                (rc = add_param(sp, "sigma2.slope", ST_UC_PVAR, e)) == 0)
                rc = add_param(sp, "phi", ST_UC_PUNIT, e);
            break;
        case ST_UC_SEASONAL:
            sp->m += (size_t)c->S - 1, sp->r += 1, sp->ndiffuse += (size_t)c->S - 1;
            snprintf(nm, sizeof nm, "sigma2.seasonal%d", c->S);
            rc = add_param(sp, nm, ST_UC_PVAR, e);
            if (c->S > sp->period)
                sp->period = c->S;
            break;
        case ST_UC_TRIG: {
            size_t k = trig_states(c->S, c->K);
            sp->m += k, sp->r += k, sp->ndiffuse += k;
            snprintf(nm, sizeof nm, "sigma2.trig%d", c->S);
            rc = add_param(sp, nm, ST_UC_PVAR, e);
            if (c->S > sp->period)
                sp->period = c->S;
            break;
        }
        case ST_UC_CYCLE:
            sp->m += 2, sp->r += 2;
            if ((rc = add_param(sp, "sigma2.cycle", ST_UC_PVAR, e)) == 0 &&
                (rc = add_param(sp, "rho", ST_UC_PUNIT, e)) == 0)
                rc = add_param(sp, "lambda", ST_UC_PANGLE, e);
            break;
        case ST_UC_AR:
            sp->m += (size_t)c->P, sp->r += 1;
            rc = add_param(sp, "sigma2.ar", ST_UC_PVAR, e);
            for (int j = 0; j < c->P && rc == 0; j++) {
                snprintf(nm, sizeof nm, "ar%d", j + 1);
                rc = add_param(sp, nm, ST_UC_PAR, e);
            }
            break;
        case ST_UC_REG:
            sp->m += nreg, sp->ndiffuse += nreg;
            break;
        }
    }
    if (rc == 0)
        rc = add_param(sp, "sigma2.irregular", ST_UC_PVAR, e);
    if (rc == 0 && sp->m == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the model needs at least one state component besides the irregular");
    return rc;
}

const char *st_uc_format(const st_uc_spec *sp, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sp->ncomp; i++) {
        const st_uc_comp *c = &sp->comp[i];
        const char *sep = i ? "+" : "";
        int w = 0;
        switch (c->kind) {
        case ST_UC_LEVEL: w = snprintf(buf + len, n - len, "%slevel", sep); break;
        case ST_UC_TREND: w = snprintf(buf + len, n - len, "%strend", sep); break;
        case ST_UC_SMOOTH_TREND: w = snprintf(buf + len, n - len, "%ssmooth-trend", sep); break;
        case ST_UC_DAMPED_TREND: w = snprintf(buf + len, n - len, "%sdamped-trend", sep); break;
        case ST_UC_SEASONAL: w = snprintf(buf + len, n - len, "%sseasonal:%d", sep, c->S); break;
        case ST_UC_TRIG: w = snprintf(buf + len, n - len, "%strig:%d:%d", sep, c->S, c->K); break;
        case ST_UC_CYCLE: w = snprintf(buf + len, n - len, "%scycle", sep); break;
        case ST_UC_AR: w = snprintf(buf + len, n - len, "%sar:%d", sep, c->P); break;
        case ST_UC_REG: w = snprintf(buf + len, n - len, "%sreg", sep); break;
        }
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
    return buf;
}

/* ------------------------------------------------------------ building */

#define UNIT_HI 0.999
#define ANGLE_LO 0.01

int st_uc_build(const st_uc_spec *sp, const double *theta, st_ssm *s, const double *x, size_t n,
                double *Zbuf, st_err *e)
{
    size_t m = sp->m, r = sp->r;
    memset(s->T, 0, m * m * sizeof(double));
    memset(s->Z, 0, m * sizeof(double));
    memset(s->R, 0, m * r * sizeof(double));
    memset(s->Q, 0, r * r * sizeof(double));
    memset(s->P1, 0, m * m * sizeof(double));
    memset(s->a1, 0, m * sizeof(double));
    memset(s->c, 0, m * sizeof(double));
    memset(s->diffuse, 0, m);
    s->d[0] = 0;
    size_t o = 0, q = 0, k = 0, oreg = 0;
#define T_(i, j) s->T[(o + (i)) * m + o + (j)]
#define R_(i, j) s->R[(o + (i)) * r + q + (j)]
#define Q_(i) s->Q[(q + (i)) * r + q + (i)]
#define P_(i, j) s->P1[(o + (i)) * m + o + (j)]
    for (size_t ci = 0; ci < sp->ncomp; ci++) {
        const st_uc_comp *c = &sp->comp[ci];
        switch (c->kind) {
        case ST_UC_LEVEL:
            T_(0, 0) = 1, s->Z[o] = 1, R_(0, 0) = 1, Q_(0) = theta[k++];
            s->diffuse[o] = 1;
            o += 1, q += 1;
            break;
        case ST_UC_TREND:
        case ST_UC_SMOOTH_TREND:
        case ST_UC_DAMPED_TREND:
            T_(0, 0) = 1, T_(0, 1) = 1, T_(1, 1) = 1, s->Z[o] = 1;
            s->diffuse[o] = 1;
            if (c->kind == ST_UC_SMOOTH_TREND) {
                R_(1, 0) = 1, Q_(0) = theta[k++];
                s->diffuse[o + 1] = 1;
                o += 2, q += 1;
                break;
            }
            R_(0, 0) = 1, R_(1, 1) = 1, Q_(0) = theta[k], Q_(1) = theta[k + 1];
            if (c->kind == ST_UC_DAMPED_TREND) {
                double phi = theta[k + 2];
                if (!(phi > -1 && phi < 1))
                    return st_err_set(e, ST_EDATA, NULL, 0, 0, "damped-trend phi must be in (-1, 1), not %g", phi);
                T_(1, 1) = phi;
                P_(1, 1) = theta[k + 1] / (1 - phi * phi);
                k += 3;
            } else {
                s->diffuse[o + 1] = 1;
                k += 2;
            }
            o += 2, q += 2;
            break;
        case ST_UC_SEASONAL: {
            size_t S1 = (size_t)c->S - 1;
            for (size_t j = 0; j < S1; j++) {
                T_(0, j) = -1;
                if (j > 0)
                    T_(j, j - 1) = 1;
                s->diffuse[o + j] = 1;
            }
            s->Z[o] = 1, R_(0, 0) = 1, Q_(0) = theta[k++];
            o += S1, q += 1;
            break;
        }
        case ST_UC_TRIG: {
            double v = theta[k++];
            size_t j0 = 0;
            for (int h = 1; h <= c->K; h++) {
                double lam = 2 * M_PI * h / c->S;
                if (2 * h == c->S) {
                    T_(j0, j0) = -1, s->Z[o + j0] = 1;
                    j0 += 1;
                } else {
                    T_(j0, j0) = cos(lam), T_(j0, j0 + 1) = sin(lam);
                    T_(j0 + 1, j0) = -sin(lam), T_(j0 + 1, j0 + 1) = cos(lam);
                    s->Z[o + j0] = 1;
                    j0 += 2;
                }
            }
            for (size_t j = 0; j < j0; j++) {
                R_(j, j) = 1, Q_(j) = v;
                s->diffuse[o + j] = 1;
            }
            o += j0, q += j0;
            break;
        }
        case ST_UC_CYCLE: {
            double v = theta[k], rho = theta[k + 1], lam = theta[k + 2];
            if (!(rho >= 0 && rho < 1))
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "cycle rho must be in [0, 1), not %g", rho);
            k += 3;
            T_(0, 0) = rho * cos(lam), T_(0, 1) = rho * sin(lam);
            T_(1, 0) = -rho * sin(lam), T_(1, 1) = rho * cos(lam);
            s->Z[o] = 1, R_(0, 0) = 1, R_(1, 1) = 1, Q_(0) = v, Q_(1) = v;
            P_(0, 0) = P_(1, 1) = v / (1 - rho * rho);
            o += 2, q += 2;
            break;
        }
        case ST_UC_AR: {
            size_t P = (size_t)c->P;
            double v = theta[k];
            const double *phi = theta + k + 1;
            k += 1 + P;
            for (size_t j = 0; j < P; j++) {
                T_(0, j) = phi[j];
                if (j > 0)
                    T_(j, j - 1) = 1;
            }
            s->Z[o] = 1, R_(0, 0) = 1, Q_(0) = v;
            if (P == 1) {
                if (!(fabs(phi[0]) < 1))
                    return st_err_set(e, ST_EDATA, NULL, 0, 0, "AR coefficient %g is not stationary", phi[0]);
                P_(0, 0) = v / (1 - phi[0] * phi[0]);
            } else {
                double Ta[100], Qa[100], Pa[100];
                memset(Qa, 0, sizeof Qa);
                for (size_t i = 0; i < P; i++)
                    for (size_t j = 0; j < P; j++)
                        Ta[i * P + j] = T_(i, j);
                Qa[0] = v;
                int rc = st_dlyap(Ta, Qa, P, Pa, e);
                if (rc < 0)
                    return rc;
                for (size_t i = 0; i < P; i++)
                    for (size_t j = 0; j < P; j++)
                        P_(i, j) = 0.5 * (Pa[i * P + j] + Pa[j * P + i]);
            }
            o += P, q += 1;
            break;
        }
        case ST_UC_REG:
            oreg = o;
            for (size_t j = 0; j < sp->nreg; j++) {
                T_(j, j) = 1;
                s->diffuse[o + j] = 1;
            }
            o += sp->nreg;
            break;
        }
    }
#undef T_
#undef R_
#undef Q_
#undef P_
    s->H[0] = theta[k++];
    if (o != m || q != r || k != sp->npar)
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "structural model layout mismatch");
    if (sp->nreg) {
        if (!x || !Zbuf)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "regression model needs regressors");
        for (size_t t = 0; t < n; t++) {
            memcpy(Zbuf + t * m, s->Z, m * sizeof(double));
            for (size_t j = 0; j < sp->nreg; j++) {
                double v = x[t * sp->nreg + j];
                if (!isfinite(v))
                    return st_err_set(e, ST_EDATA, NULL, 0, 0, "regressor %zu is missing or not finite at point %zu", j + 1, t + 1);
                Zbuf[t * m + oreg + j] = v;
            }
        }
        s->Zt = Zbuf;
    } else
        s->Zt = NULL;
    return 0;
}

/* ------------------------------------------------------------ fitting */

typedef struct fit_ctx {
    const st_uc_spec *sp;
    const double *y, *x;
    size_t n, nobs;
    st_ssm *s;
    double *Zbuf;
    int ref;        /* index of the variance fixed at 1 (concentrated scale) */
    int full;       /* 1: u holds every variance (no concentration) */
    int analytic;   /* some variances get their score from the smoother */
    int pnum[ST_UC_MAXPAR]; /* 1: parameter enters T or P1: numerical derivative */
    int qgroup[ST_UC_MAXPAR * 8]; /* disturbance j -> parameter index (analytic) */
    int hgroup;     /* parameter index of the irregular */
    double *work;   /* 2r + 2 doubles for the moments */
    int nevals;
    st_err err;
} fit_ctx;

static double pclamp(double u, double lo, double hi)
{
    return u < lo ? lo : u > hi ? hi : u;
}

/* u (free parameters) -> theta (variances relative to the reference when
 * !full).  Returns the number of u entries used. */
static size_t u_to_theta(const fit_ctx *c, const double *u, double *theta)
{
    const st_uc_spec *sp = c->sp;
    size_t j = 0;
    for (size_t i = 0; i < sp->npar; i++) {
        switch (sp->ptype[i]) {
        case ST_UC_PVAR:
            if (!c->full && (int)i == c->ref)
                theta[i] = 1;
            else
                theta[i] = exp(pclamp(u[j++], -700, 700));
            break;
        case ST_UC_PUNIT:
            theta[i] = st_tr_interval(u[j++], 0, UNIT_HI);
            break;
        case ST_UC_PANGLE:
            theta[i] = st_tr_interval(u[j++], ANGLE_LO, M_PI);
            break;
        case ST_UC_PAR: {
            size_t P = 0;
            while (i + P < sp->npar && sp->ptype[i + P] == ST_UC_PAR)
                P++;
            st_tr_stationary_ar(u + j, P, theta + i);
            j += P;
            i += P - 1;
            break;
        }
        }
    }
    return j;
}

static int theta_to_u(const fit_ctx *c, const double *theta, double *u)
{
    const st_uc_spec *sp = c->sp;
    size_t j = 0;
    for (size_t i = 0; i < sp->npar; i++) {
        switch (sp->ptype[i]) {
        case ST_UC_PVAR:
            if (!c->full && (int)i == c->ref)
                break;
            u[j++] = log(fmax(theta[i], 1e-300) / (c->full ? 1 : fmax(theta[c->ref], 1e-300)));
            break;
        case ST_UC_PUNIT:
            u[j++] = st_tr_interval_inv(pclamp(theta[i], 1e-6, UNIT_HI * (1 - 1e-9)), 0, UNIT_HI);
            break;
        case ST_UC_PANGLE:
            u[j++] = st_tr_interval_inv(pclamp(theta[i], ANGLE_LO * (1 + 1e-9), M_PI * (1 - 1e-9)), ANGLE_LO, M_PI);
            break;
        case ST_UC_PAR: {
            size_t P = 0;
            while (i + P < sp->npar && sp->ptype[i + P] == ST_UC_PAR)
                P++;
            if (st_tr_stationary_ar_inv(theta + i, P, u + j) < 0)
                return -1;
            j += P;
            i += P - 1;
            break;
        }
        }
    }
    return (int)j;
}

static size_t nfree(const fit_ctx *c)
{
    return c->sp->npar - (c->full ? 0 : 1);
}

/* Concentrated (or full) negative log-likelihood per observation. */
static double objective(const double *u, double *grad, void *vc);

static double eval_nll(const double *u, fit_ctx *c, double *sigma2)
{
    double theta[ST_UC_MAXPAR];
    u_to_theta(c, u, theta);
    c->nevals++;
    if (st_uc_build(c->sp, theta, c->s, c->x, c->n, c->Zbuf, &c->err) < 0)
        return INFINITY;
    st_kalman_ll ll;
    if (st_kalman_loglik(c->s, c->y, c->n, &ll, &c->err) < 0)
        return INFINITY;
    if (c->full) {
        if (sigma2)
            *sigma2 = 1;
        return isfinite(ll.loglik) ? -ll.loglik / (double)c->nobs : INFINITY;
    }
    if (ll.nreg == 0 || !(ll.sum_v2F > 0))
        return INFINITY;
    double s2 = ll.sum_v2F / (double)ll.nreg;
    if (sigma2)
        *sigma2 = s2;
    double nll = 0.5 * ((double)ll.nreg * (log(2 * M_PI) + 1 + log(s2)) + ll.sum_logF) + 0.5 * ll.sum_logFinf;
    return isfinite(nll) ? nll / (double)c->nobs : INFINITY;
}

static double objective_value(const double *u, void *vc)
{
    return eval_nll(u, (fit_ctx *)vc, NULL);
}

static double objective_nograd(const double *u, double *grad, void *vc)
{
    (void)grad;
    return objective_value(u, vc);
}

/* Concentrated objective and its gradient in log q: exact (Fisher identity,
 * kalman.h) for the variances that enter only Q or H, central differences
 * for the parameters that enter T or the stationary prior P1. */
static double objective_analytic(const double *u, double *grad, fit_ctx *c)
{
    const st_uc_spec *sp = c->sp;
    double theta[ST_UC_MAXPAR];
    u_to_theta(c, u, theta);
    c->nevals++;
    if (st_uc_build(sp, theta, c->s, c->x, c->n, c->Zbuf, &c->err) < 0)
        return INFINITY;
    st_kalman_ll ll;
    size_t r = sp->r;
    double *em = c->work, *ev = em + 1, *qm = ev + 1, *qv = qm + r;
    if (st_kalman_disturbance_moments(c->s, c->y, c->n, &ll, em, ev, qm, qv, &c->err) < 0)
        return INFINITY;
    if (ll.nreg == 0 || !(ll.sum_v2F > 0))
        return INFINITY;
    double s2 = ll.sum_v2F / (double)ll.nreg, N = (double)c->n, nobs = (double)c->nobs;
    double nll = 0.5 * ((double)ll.nreg * (log(2 * M_PI) + 1 + log(s2)) + ll.sum_logF) + 0.5 * ll.sum_logFinf;
    if (!isfinite(nll))
        return INFINITY;
    double g[ST_UC_MAXPAR];
    for (size_t i = 0; i < sp->npar; i++)
        g[i] = 0;
    /* d logL / d log v = sum_j (E2_j - N v) / (2 v), v = s2 q, E2 = m2 + s2 var1 */
    for (size_t j = 0; j < r; j++) {
        int i = c->qgroup[j];
        double v = s2 * theta[i];
        g[i] += (qm[j] + s2 * qv[j] - N * v) / (2 * v);
    }
    {
        int i = c->hgroup;
        double v = s2 * theta[i];
        g[i] += (em[0] + s2 * ev[0] - N * v) / (2 * v);
    }
    size_t k = 0;
    double f = nll / nobs;
    for (size_t i = 0; i < sp->npar; i++) {
        if ((int)i == c->ref)
            continue;
        if (c->pnum[i]) {
            /* central difference, step as st_optim_numgrad */
            double up[ST_UC_MAXPAR], h = 6.055454452393343e-06 * fmax(fabs(u[k]), 1);
            memcpy(up, u, nfree(c) * sizeof(double));
            up[k] = u[k] + h;
            double fp = objective_value(up, c);
            up[k] = u[k] - h;
            double fm = objective_value(up, c);
            grad[k] = isfinite(fp) && isfinite(fm) ? (fp - fm) / (2 * h) : 0;
        } else
            grad[k] = -g[i] / nobs;
        k++;
    }
    return f;
}

static double objective(const double *u, double *grad, void *vc)
{
    fit_ctx *c = vc;
    if (grad && c->analytic && !c->full)
        return objective_analytic(u, grad, c);
    double f = objective_value(u, c);
    if (grad) {
        size_t k = nfree(c);
        if (!isfinite(f)) {
            for (size_t i = 0; i < k; i++)
                grad[i] = 0;
        } else {
            st_optim_numgrad(objective_nograd, c, u, k, grad);
            for (size_t i = 0; i < k; i++)
                if (!isfinite(grad[i]))
                    grad[i] = 0;
        }
    }
    return f;
}

/* L-BFGS from u; an NLopt failure (typically a line search stuck by
 * roundoff near the optimum) is retried once from the best point seen, and
 * the best point is kept either way.  Returns 0 if res->fmin is usable. */
static int run_lbfgs(fit_ctx *c, double *u, size_t k, const st_optim_opts *oo, st_optim_result *res)
{
    st_err oe;
    int rc = st_optim_minimize(objective, c, u, k, oo, res, &oe);
    if (rc < 0 && isfinite(res->fmin)) {
        st_optim_result r2;
        double keep[ST_UC_MAXPAR];
        memcpy(keep, u, k * sizeof(double));
        int nev = res->nevals;
        rc = st_optim_minimize(objective, c, u, k, oo, &r2, &oe);
        if (isfinite(r2.fmin) && r2.fmin <= res->fmin) {
            *res = r2;
        } else {
            memcpy(u, keep, k * sizeof(double));
        }
        res->nevals += nev;
        return 0;
    }
    return rc < 0 ? rc : 0;
}

static void set_bounds(const fit_ctx *c, double *lo, double *hi)
{
    const st_uc_spec *sp = c->sp;
    size_t j = 0;
    for (size_t i = 0; i < sp->npar; i++) {
        if (sp->ptype[i] == ST_UC_PVAR) {
            if (!c->full && (int)i == c->ref)
                continue;
            lo[j] = -30, hi[j] = 15;
        } else if (sp->ptype[i] == ST_UC_PAR)
            lo[j] = -6, hi[j] = 6;
        else
            lo[j] = -20, hi[j] = 20;
        j++;
    }
}

static int check_series(const st_uc_spec *sp, const double *y, size_t n, size_t *nobs, st_err *e)
{
    size_t k = 0;
    *nobs = 0;
    double first = NAN;
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
        k++;
    }
    *nobs = k;
    if (k == 0)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "all observations are missing");
    for (size_t i = 0; i < sp->ncomp; i++)
        if ((sp->comp[i].kind == ST_UC_SEASONAL || sp->comp[i].kind == ST_UC_TRIG) && (size_t)sp->comp[i].S > n)
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "seasonal period %d is longer than the series (%zu points)", sp->comp[i].S, n);
    size_t need = sp->npar + sp->ndiffuse + 1;
    if (k < need)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "too few observations: %zu observed, the model needs at least %zu (%zu parameters + %zu diffuse states + 1)", k, need, sp->npar, sp->ndiffuse);
    if (constant)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "constant series (every observation is %g): nothing to fit", first);
    return 0;
}

static int ctx_init(fit_ctx *c, const st_uc_spec *sp, const double *y, size_t n, const double *x, st_err *e)
{
    memset(c, 0, sizeof *c);
    c->sp = sp;
    c->y = y;
    c->x = x;
    c->n = n;
    int rc = st_ssm_new(&c->s, 1, sp->m, sp->r, e);
    if (rc < 0)
        return rc;
    if (sp->nreg) {
        c->Zbuf = malloc((n ? n : 1) * sp->m * sizeof(double));
        if (!c->Zbuf) {
            st_ssm_free(c->s);
            return st_err_nomem(e, "regression design");
        }
    }
    for (size_t t = 0; t < n; t++)
        c->nobs += !isnan(y[t]);
    /* Which parameters enter T or P1 (numerical derivative); the others
     * are variances of Q or H with an exact score.  Find which disturbance
     * each variance drives by building once with distinct values. */
    size_t k = 0;
    for (size_t ci = 0; ci < sp->ncomp; ci++) {
        const st_uc_comp *cp = &sp->comp[ci];
        switch (cp->kind) {
        case ST_UC_LEVEL: case ST_UC_SMOOTH_TREND: case ST_UC_SEASONAL: case ST_UC_TRIG:
            c->pnum[k++] = 0;
            break;
        case ST_UC_TREND:
            c->pnum[k++] = 0, c->pnum[k++] = 0;
            break;
        case ST_UC_DAMPED_TREND:
            c->pnum[k++] = 0, c->pnum[k++] = 1, c->pnum[k++] = 1;
            break;
        case ST_UC_CYCLE:
            c->pnum[k++] = 1, c->pnum[k++] = 1, c->pnum[k++] = 1;
            break;
        case ST_UC_AR:
            for (int j = 0; j <= cp->P; j++)
                c->pnum[k++] = 1;
            break;
        default:
            break;
        }
    }
    c->pnum[k++] = 0; /* irregular */
    c->analytic = sp->r <= ST_UC_MAXPAR * 8 && k == sp->npar;
    if (c->analytic) {
        double probe[ST_UC_MAXPAR];
        for (size_t i = 0; i < sp->npar; i++)
            probe[i] = sp->ptype[i] == ST_UC_PVAR ? (double)i + 2 : sp->ptype[i] == ST_UC_PAR ? 0 : sp->ptype[i] == ST_UC_PANGLE ? 1 : 0.5;
        c->work = malloc((2 * sp->r + 2) * sizeof(double));
        st_err pe;
        if (!c->work || st_uc_build(sp, probe, c->s, x, n, c->Zbuf, &pe) < 0) {
            c->analytic = 0;
        } else {
            for (size_t j = 0; j < sp->r; j++)
                c->qgroup[j] = (int)(c->s->Q[j * sp->r + j] - 2);
            c->hgroup = (int)(c->s->H[0] - 2);
        }
    }
    return 0;
}

static void ctx_free(fit_ctx *c)
{
    free(c->work);
    st_ssm_free(c->s);
    free(c->Zbuf);
}

int st_uc_loglik(const st_uc_spec *sp, const double *theta, const double *y, size_t n,
                 const double *x, double *loglik, st_err *e)
{
    fit_ctx c;
    int rc = ctx_init(&c, sp, y, n, x, e);
    if (rc < 0)
        return rc;
    st_kalman_ll ll;
    if ((rc = st_uc_build(sp, theta, c.s, x, n, c.Zbuf, e)) == 0 &&
        (rc = st_kalman_loglik(c.s, y, n, &ll, e)) == 0)
        *loglik = ll.loglik;
    ctx_free(&c);
    return rc;
}

/* Robust scale of the series for starting values: variance of first
 * differences of the observed points. */
static double diff_var(const double *y, size_t n)
{
    double prev = NAN, s = 0, s2 = 0;
    size_t k = 0;
    for (size_t t = 0; t < n; t++) {
        if (isnan(y[t]))
            continue;
        if (!isnan(prev)) {
            double d = y[t] - prev;
            s += d, s2 += d * d, k++;
        }
        prev = y[t];
    }
    if (k < 2)
        return 1;
    double v = (s2 - s * s / k) / (k - 1);
    return v > 0 ? v : 1;
}

/* Standard errors: Hessian of the full negative log-likelihood in
 * u = (log variances, transformed others), delta method to theta. */
static void standard_errors(const st_uc_spec *sp, const double *y, size_t n, const double *x,
                            st_uc_fit *fit)
{
    size_t k = sp->npar;
    for (size_t i = 0; i < k; i++)
        fit->se[i] = NAN;
    fit_ctx c;
    st_err e;
    if (ctx_init(&c, sp, y, n, x, &e) < 0)
        return;
    c.full = 1;
    double u[ST_UC_MAXPAR], H[ST_UC_MAXPAR * ST_UC_MAXPAR], J[ST_UC_MAXPAR * ST_UC_MAXPAR];
    double up[ST_UC_MAXPAR], tp[ST_UC_MAXPAR], tm[ST_UC_MAXPAR];
    if (theta_to_u(&c, fit->theta, u) < 0)
        goto out;
    st_optim_numhess(objective_nograd, &c, u, k, H);
    for (size_t i = 0; i < k * k; i++)
        H[i] *= (double)c.nobs;
    if (st_chol(H, k, 0, NULL, &e) < 0)
        goto out;
    double C[ST_UC_MAXPAR * ST_UC_MAXPAR];
    st_chol_inverse(H, k, C);
    /* Jacobian d theta / d u by central differences */
    for (size_t j = 0; j < k; j++) {
        double h = 1e-5 * fmax(1, fabs(u[j]));
        memcpy(up, u, k * sizeof(double));
        up[j] = u[j] + h;
        u_to_theta(&c, up, tp);
        up[j] = u[j] - h;
        u_to_theta(&c, up, tm);
        for (size_t i = 0; i < k; i++)
            J[i * k + j] = (tp[i] - tm[i]) / (2 * h);
    }
    for (size_t i = 0; i < k; i++) {
        double v = 0;
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < k; b++)
                v += J[i * k + a] * C[a * k + b] * J[i * k + b];
        fit->se[i] = v >= 0 && isfinite(v) ? sqrt(v) : NAN;
    }
out:
    ctx_free(&c);
}

static void set_ic(st_uc_fit *fit)
{
    double K = (double)(fit->spec.npar + fit->spec.ndiffuse), N = (double)fit->nobs;
    fit->aic = -2 * fit->loglik + 2 * K;
    fit->aicc = N - K - 1 > 0 ? fit->aic + 2 * K * (K + 1) / (N - K - 1) : INFINITY;
    fit->bic = -2 * fit->loglik + K * log(N);
}

static int first_var(const st_uc_spec *sp, int prefer_last)
{
    int ref = -1;
    for (size_t i = 0; i < sp->npar; i++)
        if (sp->ptype[i] == ST_UC_PVAR && (ref < 0 || prefer_last))
            ref = (int)i;
    return ref;
}

int st_uc_fit_model(const st_uc_spec *sp, const double *y, size_t n, const double *x,
                    const st_uc_opts *opts, st_uc_fit *fit, st_err *e)
{
    memset(fit, 0, sizeof *fit);
    fit->spec = *sp;
    size_t nobs = 0;
    int rc = check_series(sp, y, n, &nobs, e);
    if (rc < 0)
        return rc;
    fit_ctx c;
    if ((rc = ctx_init(&c, sp, y, n, x, e)) < 0)
        return rc;
    int nstarts = opts && opts->nstarts > 0 ? opts->nstarts : 0;
    int max_eval = opts && opts->max_eval > 0 ? opts->max_eval : 400;
    c.ref = first_var(sp, 1); /* the irregular */
    size_t k = nfree(&c);
    double lo[ST_UC_MAXPAR], hi[ST_UC_MAXPAR], u[ST_UC_MAXPAR], best_u[ST_UC_MAXPAR];
    double theta0[ST_UC_MAXPAR];
    double best_f = INFINITY;
    st_optim_result best_res = {0};
    set_bounds(&c, lo, hi);
    st_optim_opts oo = {0};
    oo.method = ST_OPT_LBFGS;
    oo.ftol_rel = 1e-9;
    oo.xtol_rel = 1e-7;
    oo.max_eval = max_eval;
    oo.lower = lo;
    oo.upper = hi;
    /* Starting points: screen a small grid of variance ratios (and damping /
     * frequency values) by one likelihood evaluation each, then run L-BFGS
     * from the best nstarts of them. */
    static const double ratio[] = {0.1, 1.0, 0.01, 0.001, 10.0, 0.0001};
    /* pool 0: common ratios (and damping/frequency variants); pool 1: one
     * variance large and the others small, or one small and the others
     * large -- the starts that reach a different basin. */
    enum { NCOMMON = 12, NCAND = 12 + 16 };
    double cand[NCAND][ST_UC_MAXPAR], candf[NCAND];
    int order[NCAND], pool[NCAND], ncand = 0;
    int has_shape = 0; /* parameters besides variances (phi, rho, lambda, AR) */
    for (size_t i = 0; i < sp->npar; i++)
        has_shape |= sp->ptype[i] != ST_UC_PVAR;
    /* default: one start for variance-only models (the revival below
     * finds the other optimum they have), two for models with damping,
     * frequency or AR parameters, whose surfaces have more */
    if (nstarts == 0)
        nstarts = has_shape ? 2 : 1;
    double dv = diff_var(y, n);
    int nvarfree = 0;
    for (size_t i = 0; i < sp->npar; i++)
        nvarfree += sp->ptype[i] == ST_UC_PVAR && (int)i != c.ref;
    for (int st = 0; st < NCAND; st++) {
        int alt = st >= 6 && st < NCOMMON, which = -1, big = 0;
        if (alt && !has_shape)
            continue; /* the alternatives differ in damping, frequency and AR only */
        double rr = ratio[st % 6];
        if (st >= NCOMMON) {
            int q = st - NCOMMON;
            if (nvarfree < 2 || q >= 2 * nvarfree)
                break;
            which = q / 2, big = q % 2 == 0;
        }
        int vi = 0;
        for (size_t i = 0; i < sp->npar; i++) {
            switch (sp->ptype[i]) {
            case ST_UC_PVAR:
                if ((int)i == c.ref)
                    theta0[i] = dv;
                else if (which < 0)
                    theta0[i] = rr * dv;
                else
                    theta0[i] = (vi == which ? (big ? 1.0 : 1e-4) : (big ? 1e-3 : 0.1)) * dv;
                if ((int)i != c.ref)
                    vi++;
                break;
            case ST_UC_PUNIT: theta0[i] = alt ? 0.5 : 0.9; break;
            case ST_UC_PANGLE: theta0[i] = alt ? M_PI / 4 : 2 * M_PI / 20; break;
            case ST_UC_PAR: theta0[i] = 0; break;
            }
        }
        for (size_t i = 0; i < sp->npar; i++)
            if (sp->ptype[i] == ST_UC_PAR)
                theta0[i] = i > 0 && sp->ptype[i - 1] != ST_UC_PAR ? (alt ? -0.3 : 0.5) : 0;
        candf[ncand] = INFINITY;
        order[ncand] = ncand;
        pool[ncand] = st >= NCOMMON;
        if (theta_to_u(&c, theta0, cand[ncand]) >= 0) {
            for (size_t i = 0; i < k; i++)
                cand[ncand][i] = pclamp(cand[ncand][i], lo[i], hi[i]);
            candf[ncand] = objective_value(cand[ncand], &c);
        }
        ncand++;
    }
    for (int a = 1; a < ncand; a++) /* insertion sort by value, stable */
        for (int b = a; b > 0 && candf[order[b]] < candf[order[b - 1]]; b--) {
            int tmp = order[b];
            order[b] = order[b - 1];
            order[b - 1] = tmp;
        }
    /* variance-only models: the second start is the best of the other pool
     * (a different basin); models with damping/frequency/AR parameters keep
     * the plain ranking, which did better on them */
    for (int a = 1; a < ncand && !has_shape; a++)
        if (pool[order[a]] != pool[order[0]]) {
            int tmp = order[a];
            memmove(order + 2, order + 1, (size_t)(a - 1) * sizeof(int));
            order[1] = tmp;
            break;
        }
    for (int st = 0; st < nstarts && st < ncand; st++) {
        if (!isfinite(candf[order[st]]))
            break;
        memcpy(u, cand[order[st]], k * sizeof(double));
        st_optim_result res;
        if (run_lbfgs(&c, u, k, &oo, &res) < 0)
            continue;
        if (res.fmin < best_f) {
            best_f = res.fmin;
            memcpy(best_u, u, k * sizeof(double));
            best_res = res;
        }
    }
    if (!isfinite(best_f)) {
        ctx_free(&c);
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "the likelihood could not be evaluated at any starting point%s%s", c.err.msg[0] ? ": " : "", c.err.msg);
    }
    /* Variances that collapsed to zero are a common local optimum of
     * structural models (a fixed seasonal pattern instead of an evolving
     * one).  Revive them all at once (but the trend's) to 1% of the
     * reference variance and rerun; keep whichever is better. */
    {
        size_t j = 0;
        int any = 0;
        memcpy(u, best_u, k * sizeof(double));
        for (size_t i = 0; i < sp->npar; i++) {
            if ((int)i == c.ref)
                continue;
            /* a level or slope variance at zero (a smooth or fixed trend) is
             * usually the optimum itself, not a trap: not revived */
            if (sp->ptype[i] == ST_UC_PVAR && u[j] < log(1e-6) && strcmp(sp->names[i], "sigma2.slope") != 0 &&
                strcmp(sp->names[i], "sigma2.level") != 0) {
                u[j] = log(0.01);
                any = 1;
            }
            j++;
        }
        st_optim_result res;
        if (any && run_lbfgs(&c, u, k, &oo, &res) == 0 && res.fmin < best_f - 1e-12) {
            best_f = res.fmin;
            memcpy(best_u, u, k * sizeof(double));
            best_res = res;
        }
    }
    /* Re-reference the scale to the largest variance so that the ratios are
     * <= 1 and a vanishing irregular does not push the others to the bound. */
    double th[ST_UC_MAXPAR];
    u_to_theta(&c, best_u, th);
    int newref = c.ref;
    for (size_t i = 0; i < sp->npar; i++)
        if (sp->ptype[i] == ST_UC_PVAR && th[i] > th[newref] * 1.0001)
            newref = (int)i;
    if (newref != c.ref) {
        c.ref = newref;
        set_bounds(&c, lo, hi);
        theta_to_u(&c, th, u);
        for (size_t i = 0; i < k; i++)
            u[i] = pclamp(u[i], lo[i], hi[i]);
        st_optim_result res;
        if (run_lbfgs(&c, u, k, &oo, &res) == 0 && res.fmin <= best_f + 1e-9) {
            best_f = res.fmin;
            memcpy(best_u, u, k * sizeof(double));
            best_res = res;
        }
    }
    double s2 = 1;
    eval_nll(best_u, &c, &s2);
    u_to_theta(&c, best_u, fit->theta);
    for (size_t i = 0; i < sp->npar; i++)
        if (sp->ptype[i] == ST_UC_PVAR)
            fit->theta[i] *= s2;
    fit->nevals = c.nevals;
    ctx_free(&c);
    fit->nobs = nobs;
    fit->converged = best_res.converged;
    fit->status = best_res.status ? best_res.status : "unknown";
    if ((rc = st_uc_loglik(sp, fit->theta, y, n, x, &fit->loglik, e)) < 0)
        return rc;
    set_ic(fit);
    for (size_t i = 0; i < sp->npar; i++)
        fit->se[i] = NAN;
    if (opts && opts->want_se)
        standard_errors(sp, y, n, x, fit);
    return 0;
}

/* ------------------------------------------------------------ forecasts */

int st_uc_forecast(const st_uc_spec *sp, const double *theta, const double *y, size_t n,
                   const double *x, const double *xf, size_t h, double *mean, double *var,
                   st_err *e)
{
    fit_ctx c;
    int rc = ctx_init(&c, sp, y, n, x, e);
    if (rc < 0)
        return rc;
    double *Zf = NULL;
    st_kalman_out o;
    memset(&o, 0, sizeof o);
    if ((rc = st_uc_build(sp, theta, c.s, x, n, c.Zbuf, e)) < 0)
        goto out;
    if (sp->nreg) {
        if (!xf) {
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "forecasting a regression model needs future regressor values (--future)");
            goto out;
        }
        Zf = malloc(h * sp->m * sizeof(double));
        if (!Zf) {
            rc = st_err_nomem(e, "future design");
            goto out;
        }
        /* build the future Z rows with the same layout */
        st_ssm *tmp;
        if ((rc = st_ssm_new(&tmp, 1, sp->m, sp->r, e)) < 0)
            goto out;
        rc = st_uc_build(sp, theta, tmp, xf, h, Zf, e);
        st_ssm_free(tmp);
        if (rc < 0)
            goto out;
    }
    if ((rc = st_kalman_filter(c.s, y, n, &o, e)) < 0)
        goto out;
    rc = st_kalman_forecast(c.s, &o, h, Zf, NULL, mean, var, NULL, NULL, e);
out:
    st_kalman_out_free(&o);
    free(Zf);
    ctx_free(&c);
    return rc;
}

int st_uc_decompose(const st_uc_spec *sp, const double *theta, const double *y, size_t n,
                    const double *x, double *comp, double *compvar, st_err *e)
{
    fit_ctx c;
    int rc = ctx_init(&c, sp, y, n, x, e);
    if (rc < 0)
        return rc;
    st_kalman_out o;
    memset(&o, 0, sizeof o);
    if ((rc = st_uc_build(sp, theta, c.s, x, n, c.Zbuf, e)) < 0 ||
        (rc = st_kalman_smooth(c.s, y, n, &o, e)) < 0)
        goto out;
    size_t m = sp->m, nc = sp->ncomp + 1;
    for (size_t t = 0; t < n; t++) {
        const double *z = c.s->Zt ? c.s->Zt + t * m : c.s->Z;
        const double *a = o.a_smooth + t * m, *V = o.V_smooth + t * m * m;
        size_t off = 0;
        for (size_t ci = 0; ci < sp->ncomp; ci++) {
            const st_uc_comp *cp = &sp->comp[ci];
            size_t w;
            switch (cp->kind) {
            case ST_UC_LEVEL: w = 1; break;
            case ST_UC_TREND: case ST_UC_SMOOTH_TREND: case ST_UC_DAMPED_TREND: case ST_UC_CYCLE: w = 2; break;
            case ST_UC_SEASONAL: w = (size_t)cp->S - 1; break;
            case ST_UC_TRIG: w = trig_states(cp->S, cp->K); break;
            case ST_UC_AR: w = (size_t)cp->P; break;
            default: w = sp->nreg; break;
            }
            double mu = 0, v = 0;
            for (size_t i = off; i < off + w; i++) {
                mu += z[i] * a[i];
                for (size_t j = off; j < off + w; j++)
                    v += z[i] * V[i * m + j] * z[j];
            }
            comp[t * nc + ci] = mu;
            if (compvar)
                compvar[t * nc + ci] = v;
            off += w;
        }
        comp[t * nc + sp->ncomp] = o.eps_hat[t];
        if (compvar)
            compvar[t * nc + sp->ncomp] = o.eps_var[t];
    }
out:
    st_kalman_out_free(&o);
    ctx_free(&c);
    return rc;
}

int st_uc_auto(int period, const double *y, size_t n, const st_uc_opts *opts, st_uc_fit *best,
               st_err *e)
{
    static const char *base[] = {"level", "trend", "damped-trend"};
    int nfit = 0;
    st_err last;
    st_err_clear(&last);
    best->aicc = INFINITY;
    for (int s = 0; s < (period >= 2 ? 2 : 1); s++)
        for (int b = 0; b < 3; b++) {
            char spec[64];
            if (s)
                snprintf(spec, sizeof spec, "%s+seasonal:%d", base[b], period);
            else
                snprintf(spec, sizeof spec, "%s", base[b]);
            st_uc_spec sp;
            st_uc_fit f;
            if (st_uc_parse(spec, 0, &sp, &last) < 0 || st_uc_fit_model(&sp, y, n, NULL, opts, &f, &last) < 0)
                continue;
            nfit++;
            if (f.aicc < best->aicc || nfit == 1)
                *best = f;
        }
    if (nfit == 0) {
        if (e)
            *e = last;
        return last.code ? last.code : ST_EDATA;
    }
    return nfit;
}

/* ------------------------------------------------------------ normal quantile */

double st_ssm_qnorm(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    if (!(p > 0 && p < 1))
        return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
    double q, x;
    if (p < 0.02425) {
        q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - 0.02425) {
        q = p - 0.5;
        double r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        q = sqrt(-2 * log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    /* one Halley step on erfc */
    double err = 0.5 * erfc(-x / M_SQRT2) - p;
    double u = err * sqrt(2 * M_PI) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

/* Maximum likelihood for mjp models: EM (expected jumps and dwell times
 * per covariate pattern; closed-form M-step for free rates without
 * covariates, an inner L-BFGS on the expected complete-data
 * log-likelihood for rate formulas and covariate effects) and direct
 * L-BFGS with analytic gradients, finished by Newton steps on the Hessian
 * (differences of the analytic gradient), which also gives the standard
 * errors.  Parameters theta: log baseline rates (or formula parameters),
 * covariate effects on the rates, emission logits and their covariate
 * effects, initial-distribution logits. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/optim.h"
#include "mjp/internal.h"

/* Where each free parameter theta[i] lives. */
enum { TH_RATE, TH_PAR, TH_BETA, TH_EM, TH_EGAM, TH_INIT };
typedef struct thdef {
    int kind;
    int i, j; /* rate (i,j); param i; effect i; emission (row i, col j); effect i; init state i */
} thdef;

typedef struct fitctx {
    st_mjp *m;
    const st_mjp_data *d;
    mjp_engine *g;
    mjp_stats s;
    size_t n;
    thdef *def;
    int *eref;     /* K: reference column of each emission row */
    int iref;      /* reference initial state */
    unsigned char *estruct; /* K x M: emission entry free (nonzero at start) */
    unsigned char *istruct; /* K: initial entry free */
    st_err *e;
    int rc;        /* first error inside the objective */
    int nevals;
    /* inner M-step for rate formulas and covariate effects */
    const mjp_stats *ms;
    size_t *sel;   /* the theta entries the inner M-step moves */
    size_t nsel;
    double *thfull;/* theta, the inner M-step changing only sel */
    double mscale; /* 1 / total jumps: keeps L-BFGS's first step sane */
    double oscale; /* 1 / number of intervals, for the direct objective */
    const double *Z;  /* npat x C covariates of the data's patterns */
    double *Zc;       /* the same minus the centre */
    size_t npat;
    int inner_rates;  /* rates need the inner M-step (formulas, effects) */
    int inner_em;     /* so does the emission (effects) */
    double *Qp, *Gq;  /* npat x K x K work: rates, derivatives per pattern */
    double *Ep;       /* npat x K x M work: emission per pattern */
    double *gfull;    /* n: gradient work */
    double *S0, *S1, *H0, *H1; /* chain-rule sums */
    double *Nsum, *Dsum, *Nemsum;
} fitctx;

static void build_defs(fitctx *c)
{
    st_mjp *m = c->m;
    size_t K = m->K, n = 0;
    int hidden = c->d->mode == ST_MJP_HIDDEN;
    if (m->P) {
        for (size_t p = 0; p < m->P; p++)
            c->def[n++] = (thdef){TH_PAR, (int)p, 0};
    } else {
        for (size_t a = 0; a < K; a++)
            for (size_t b = 0; b < K; b++)
                if (a != b && m->allowed[a * K + b] && !m->fixed[a * K + b])
                    c->def[n++] = (thdef){TH_RATE, (int)a, (int)b};
    }
    for (size_t b = 0; b < m->nbpar; b++)
        c->def[n++] = (thdef){TH_BETA, (int)b, 0};
    if (hidden && !m->E_fixed) {
        for (size_t i = 0; i < K; i++) {
            int ref = 0;
            for (size_t j = 0; j < m->M; j++) {
                c->estruct[i * m->M + j] = m->E[i * m->M + j] > 0;
                if (m->E[i * m->M + j] > m->E[i * m->M + (size_t)ref])
                    ref = (int)j;
            }
            c->eref[i] = ref;
            for (size_t j = 0; j < m->M; j++)
                if ((int)j != ref && c->estruct[i * m->M + j])
                    c->def[n++] = (thdef){TH_EM, (int)i, (int)j};
        }
    }
    if (hidden && m->egam)
        for (size_t b = 0; b < m->negpar; b++)
            c->def[n++] = (thdef){TH_EGAM, (int)b, 0};
    if (hidden && m->init_estimate) {
        int ref = 0;
        for (size_t i = 0; i < K; i++) {
            c->istruct[i] = m->init[i] > 0;
            if (m->init[i] > m->init[ref])
                ref = (int)i;
        }
        c->iref = ref;
        for (size_t i = 0; i < K; i++)
            if ((int)i != ref && c->istruct[i])
                c->def[n++] = (thdef){TH_INIT, (int)i, 0};
    }
    c->n = n;
}

/* The value of free effect b (any of its cells). */
static double effect_value(const double *v, const int *par, size_t n, int b)
{
    for (size_t i = 0; i < n; i++)
        if (par[i] == b)
            return v[i];
    return 0;
}

static void set_effect(double *v, const int *par, size_t n, int b, double x)
{
    for (size_t i = 0; i < n; i++)
        if (par[i] == b)
            v[i] = x;
}

static void get_theta(const fitctx *c, double *th)
{
    const st_mjp *m = c->m;
    size_t K = m->K;
    for (size_t k = 0; k < c->n; k++) {
        const thdef *t = &c->def[k];
        switch (t->kind) {
        case TH_RATE:
            th[k] = log(m->Q[(size_t)t->i * K + (size_t)t->j]);
            break;
        case TH_PAR:
            th[k] = m->ppos[t->i] ? log(m->par[t->i]) : m->par[t->i];
            break;
        case TH_BETA:
            th[k] = effect_value(m->beta, m->bpar, K * K * m->C, t->i);
            break;
        case TH_EGAM:
            th[k] = effect_value(m->egam, m->egpar, K * m->M * m->C, t->i);
            break;
        case TH_EM:
            th[k] = log(m->E[(size_t)t->i * m->M + (size_t)t->j] /
                        m->E[(size_t)t->i * m->M + (size_t)c->eref[t->i]]);
            break;
        case TH_INIT:
            th[k] = log(m->init[t->i] / m->init[c->iref]);
            break;
        }
    }
}

/* Set the model from theta; nonzero if a rate formula fails. */
static int set_theta(fitctx *c, const double *th)
{
    st_mjp *m = c->m;
    size_t K = m->K;
    int em = 0, in = 0;
    for (size_t k = 0; k < c->n; k++) {
        const thdef *t = &c->def[k];
        switch (t->kind) {
        case TH_RATE:
            m->Q[(size_t)t->i * K + (size_t)t->j] = exp(th[k]);
            break;
        case TH_PAR:
            m->par[t->i] = m->ppos[t->i] ? exp(th[k]) : th[k];
            break;
        case TH_BETA:
            set_effect(m->beta, m->bpar, K * K * m->C, t->i, th[k]);
            break;
        case TH_EGAM:
            set_effect(m->egam, m->egpar, K * m->M * m->C, t->i, th[k]);
            break;
        case TH_EM:
            em = 1;
            break;
        case TH_INIT:
            in = 1;
            break;
        }
    }
    if (m->P) {
        st_err le;
        if (st_mjp_update_q(m, &le) < 0)
            return -1;
    } else {
        for (size_t a = 0; a < K; a++) {
            double s = 0;
            for (size_t b = 0; b < K; b++)
                if (a != b)
                    s += m->Q[a * K + b];
            m->Q[a * K + a] = 0.0 - s;
        }
    }
    if (em) {
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < m->M; j++)
                m->E[i * m->M + j] = (int)j == c->eref[i] ? 1.0 : 0.0;
        for (size_t k = 0; k < c->n; k++)
            if (c->def[k].kind == TH_EM)
                m->E[(size_t)c->def[k].i * m->M + (size_t)c->def[k].j] = exp(th[k]);
        for (size_t i = 0; i < K; i++) {
            double s = 0;
            for (size_t j = 0; j < m->M; j++)
                s += m->E[i * m->M + j];
            for (size_t j = 0; j < m->M; j++)
                m->E[i * m->M + j] /= s;
        }
    }
    if (in) {
        for (size_t i = 0; i < K; i++)
            m->init[i] = (int)i == c->iref ? 1.0 : 0.0;
        for (size_t k = 0; k < c->n; k++)
            if (c->def[k].kind == TH_INIT)
                m->init[c->def[k].i] = exp(th[k]);
        double s = 0;
        for (size_t i = 0; i < K; i++)
            s += m->init[i];
        for (size_t i = 0; i < K; i++)
            m->init[i] /= s;
    }
    return 0;
}

/* d q_ab / d theta_p for a parametric model, into J (K*K x P). */
static void rate_jacobian(const st_mjp *m, double *J)
{
    size_t K = m->K, P = m->P;
    double g[ST_MJP_MAX_PARAMS];
    memset(J, 0, K * K * P * sizeof *J);
    for (size_t ab = 0; ab < K * K; ab++) {
        if (!m->expr[ab])
            continue;
        st_mjp_rate_eval(m->expr[ab], m->par, g);
        for (size_t p = 0; p < P; p++)
            J[ab * P + p] = g[p] * (m->ppos[p] ? m->par[p] : 1.0);
    }
}

/* d f / d theta for every theta entry (those f does not depend on get 0)
 * from per-pattern derivatives: Gq (npat x K x K, d f / d q_p[ab] at the
 * rates Qp; NULL: none), the emission counts Nem (npat x K x M, with the
 * emission Ep: d f / d eta_p[ij] = Nem_p[ij] - E_p[ij] sum_j Nem_p[ij]
 * for f the expected complete-data log-likelihood or the log-likelihood
 * itself; NULL: none) and the initial-state counts N0 (NULL: none). */
static void chain(fitctx *c, const double *Qp, const double *Gq, const double *Ep, const double *Nem,
                  const double *N0, double *gr)
{
    const st_mjp *m = c->m;
    size_t K = m->K, KK = K * K, C = m->C, M = m->M ? m->M : 1, np = c->npat;
    double *S0 = c->S0, *S1 = c->S1, *H0 = c->H0, *H1 = c->H1;
    memset(S0, 0, KK * sizeof *S0);
    memset(S1, 0, KK * (C ? C : 1) * sizeof *S1);
    memset(H0, 0, K * M * sizeof *H0);
    memset(H1, 0, K * M * (C ? C : 1) * sizeof *H1);
    for (size_t p = 0; p < np && Gq; p++) {
        const double *z = C ? c->Zc + p * C : NULL, *G = Gq + p * KK, *Q = Qp + p * KK;
        for (size_t ab = 0; ab < KK; ab++) {
            if (ab / K == ab % K || !m->allowed[ab] || G[ab] == 0)
                continue;
            double eta = 0;
            for (size_t k = 0; k < C; k++)
                if (m->bpar[ab * C + k] >= 0) {
                    eta += m->beta[ab * C + k] * z[k];
                    S1[ab * C + k] += G[ab] * Q[ab] * z[k];
                }
            S0[ab] += G[ab] * exp(eta);
        }
    }
    for (size_t p = 0; p < np && Nem; p++) {
        const double *z = C ? c->Zc + p * C : NULL, *E = Ep + p * K * M, *n = Nem + p * K * M;
        for (size_t i = 0; i < K; i++) {
            double row = 0;
            for (size_t j = 0; j < M; j++)
                row += n[i * M + j];
            for (size_t j = 0; j < M; j++) {
                size_t ij = i * M + j;
                double h = n[ij] - E[ij] * row;
                H0[ij] += h;
                if (m->egam)
                    for (size_t k = 0; k < C; k++)
                        if (m->egpar[ij * C + k] >= 0)
                            H1[ij * C + k] += h * z[k];
            }
        }
    }
    double *J = NULL;
    if (m->P && Gq && (J = malloc(KK * m->P * sizeof *J)))
        rate_jacobian(m, J);
    double n0 = 0;
    if (N0)
        for (size_t i = 0; i < K; i++)
            n0 += N0[i];
    for (size_t k = 0; k < c->n; k++) {
        const thdef *t = &c->def[k];
        size_t i = (size_t)t->i, j = (size_t)t->j;
        double v = 0;
        switch (t->kind) {
        case TH_RATE:
            v = m->Q[i * K + j] * S0[i * K + j];
            break;
        case TH_PAR:
            if (Gq) {
                if (!J) {
                    v = NAN;
                    break;
                }
                for (size_t ab = 0; ab < KK; ab++)
                    if (m->expr[ab])
                        v += S0[ab] * J[ab * m->P + i];
            }
            break;
        case TH_BETA:
            for (size_t q = 0; q < KK * C && Gq; q++)
                if (m->bpar[q] == t->i)
                    v += S1[q];
            break;
        case TH_EM:
            v = H0[i * M + j];
            break;
        case TH_EGAM:
            for (size_t q = 0; q < K * M * C && Nem; q++)
                if (m->egpar[q] == t->i)
                    v += H1[q];
            break;
        case TH_INIT:
            v = N0 ? N0[i] - m->init[i] * n0 : 0;
            break;
        }
        gr[k] = v;
    }
    free(J);
}

/* d ll / d theta from the statistics of an evaluation. */
static void grad_theta(fitctx *c, const mjp_stats *s, double *gr)
{
    int hidden = c->d->mode == ST_MJP_HIDDEN;
    chain(c, mjp_engine_rates(c->g), s->G, hidden ? mjp_engine_emission(c->g) : NULL, hidden ? s->Nem : NULL,
          hidden ? s->N0 : NULL, gr);
}

/* Evaluate ll and (if gr) its gradient at theta. */
static double eval_ll(fitctx *c, const double *th, double *gr)
{
    c->nevals++;
    if (set_theta(c, th) < 0)
        return -INFINITY;
    st_err le;
    st_err_clear(&le);
    if (mjp_engine_eval(c->g, c->m, gr != NULL, &c->s, &le) < 0) {
        if (le.code == ST_ENOMEM && c->rc == 0) {
            c->rc = le.code;
            *c->e = le;
        }
        return -INFINITY;
    }
    if (gr && isfinite(c->s.ll))
        grad_theta(c, &c->s, gr);
    return c->s.ll;
}

static double objective(const double *th, double *gr, void *ctx)
{
    fitctx *c = ctx;
    double ll = eval_ll(c, th, gr);
    if (!isfinite(ll))
        return INFINITY;
    if (gr)
        for (size_t k = 0; k < c->n; k++)
            gr[k] = -gr[k] * c->oscale;
    return -ll * c->oscale;
}

/* Inner M-step: maximise the expected complete-data log-likelihood
 *     sum_p sum_ab N_p[ab] log q_p[ab] - D_p[a] q_p[ab]
 *   + sum_p sum_ij Nem_p[ij] log E_p[ij]
 * over the theta entries in sel (rate formulas and covariate effects;
 * emission logits and effects when the emission has covariates). */
static double mstep_objective(const double *x, double *gr, void *ctx)
{
    fitctx *c = ctx;
    st_mjp *m = c->m;
    const mjp_stats *s = c->ms;
    size_t K = m->K, KK = K * K, M = m->M ? m->M : 1, C = m->C, np = c->npat;
    for (size_t i = 0; i < c->nsel; i++)
        c->thfull[c->sel[i]] = x[i];
    if (set_theta(c, c->thfull) < 0)
        return INFINITY;
    double f = 0;
    if (c->inner_rates) {
        for (size_t p = 0; p < np; p++) {
            const double *z = C ? c->Z + p * C : NULL;
            double *Q = c->Qp + p * KK, *G = c->Gq + p * KK;
            st_mjp_rates_at(m, z, Q);
            for (size_t a = 0; a < K; a++)
                for (size_t b = 0; b < K; b++) {
                    size_t ab = a * K + b;
                    G[ab] = 0;
                    if (a == b || !m->allowed[ab])
                        continue;
                    double q = Q[ab], n = s->N[p * KK + ab], dd = s->D[p * K + a];
                    if (n > 0) {
                        if (!(q > 0))
                            return INFINITY;
                        f += n * log(q);
                        G[ab] = n / q;
                    }
                    f -= dd * q;
                    G[ab] -= dd;
                }
        }
    }
    if (c->inner_em) {
        for (size_t p = 0; p < np; p++) {
            double *E = c->Ep + p * K * M;
            st_mjp_emission_at(m, C ? c->Z + p * C : NULL, E);
            const double *n = s->Nem + p * K * M;
            for (size_t ij = 0; ij < K * M; ij++)
                if (n[ij] > 0) {
                    if (!(E[ij] > 0))
                        return INFINITY;
                    f += n[ij] * log(E[ij]);
                }
        }
    }
    if (!isfinite(f))
        return INFINITY;
    if (gr) {
        chain(c, c->Qp, c->inner_rates ? c->Gq : NULL, c->Ep, c->inner_em ? s->Nem : NULL, NULL, c->gfull);
        for (size_t i = 0; i < c->nsel; i++)
            gr[i] = -c->gfull[c->sel[i]] * c->mscale;
    }
    return -f * c->mscale;
}

static int mstep(fitctx *c, const mjp_stats *s)
{
    st_mjp *m = c->m;
    size_t K = m->K, KK = K * K, M = m->M ? m->M : 1, np = c->npat;
    int hidden = c->d->mode == ST_MJP_HIDDEN;
    /* closed forms on the statistics summed over patterns */
    double *N = c->Nsum, *D = c->Dsum, *Nem = c->Nemsum;
    memset(N, 0, KK * sizeof *N);
    memset(D, 0, K * sizeof *D);
    memset(Nem, 0, K * M * sizeof *Nem);
    for (size_t p = 0; p < np; p++) {
        for (size_t j = 0; j < KK; j++)
            N[j] += s->N[p * KK + j];
        for (size_t a = 0; a < K; a++)
            D[a] += s->D[p * K + a];
        if (hidden)
            for (size_t j = 0; j < K * M; j++)
                Nem[j] += s->Nem[p * K * M + j];
    }
    if (!c->inner_rates) {
        for (size_t a = 0; a < K; a++) {
            if (!(D[a] > 0))
                continue;
            double sum = 0;
            for (size_t b = 0; b < K; b++) {
                size_t ab = a * K + b;
                if (a == b)
                    continue;
                if (m->allowed[ab] && !m->fixed[ab])
                    m->Q[ab] = fmax(N[ab] / D[a], 1e-300);
                sum += m->Q[ab];
            }
            m->Q[a * K + a] = 0.0 - sum; /* +0, not -0, for absorbing states */
        }
    }
    if (hidden && !m->E_fixed && !c->inner_em) {
        for (size_t i = 0; i < K; i++) {
            double sum = 0;
            for (size_t j = 0; j < m->M; j++)
                if (c->estruct[i * m->M + j])
                    sum += Nem[i * m->M + j];
            if (sum > 0)
                for (size_t j = 0; j < m->M; j++)
                    m->E[i * m->M + j] = c->estruct[i * m->M + j] ? fmax(Nem[i * m->M + j] / sum, 1e-300) : 0;
        }
    }
    if (hidden && m->init_estimate) {
        double sum = 0;
        for (size_t i = 0; i < K; i++)
            if (c->istruct[i])
                sum += s->N0[i];
        if (sum > 0)
            for (size_t i = 0; i < K; i++)
                m->init[i] = c->istruct[i] ? fmax(s->N0[i] / sum, 1e-300) : 0;
    }
    if (!c->inner_rates && !c->inner_em)
        return 0;
    /* the rest by an inner L-BFGS from the current values */
    get_theta(c, c->thfull);
    c->nsel = 0;
    for (size_t k = 0; k < c->n; k++) {
        int kind = c->def[k].kind;
        if ((c->inner_rates && (kind == TH_RATE || kind == TH_PAR || kind == TH_BETA)) ||
            (c->inner_em && (kind == TH_EM || kind == TH_EGAM)))
            c->sel[c->nsel++] = k;
    }
    if (!c->nsel)
        return 0;
    double *x = malloc(c->nsel * sizeof *x), *save = malloc(c->n * sizeof *save);
    if (!x || !save) {
        free(x);
        free(save);
        return -1;
    }
    memcpy(save, c->thfull, c->n * sizeof *save);
    for (size_t i = 0; i < c->nsel; i++)
        x[i] = c->thfull[c->sel[i]];
    double tot = 0;
    for (size_t j = 0; j < KK && c->inner_rates; j++)
        tot += N[j];
    for (size_t j = 0; j < K * M && c->inner_em; j++)
        tot += Nem[j];
    c->ms = s;
    c->mscale = 1.0 / fmax(tot, 1.0);
    st_optim_opts o = {.method = ST_OPT_LBFGS, .ftol_rel = 1e-14, .xtol_rel = 1e-12, .max_eval = 500};
    st_optim_result r;
    st_err le;
    double f0 = mstep_objective(x, NULL, c);
    int orc = st_optim_minimize(mstep_objective, c, x, c->nsel, &o, &r, &le);
    /* NLopt's L-BFGS may stop with a generic failure after progress: the
     * best point it saw still raises the expected log-likelihood */
    if ((orc < 0 && le.code == ST_ENOMEM) || !isfinite(r.fmin) || !(r.fmin <= f0)) {
        memcpy(c->thfull, save, c->n * sizeof *save);
    } else {
        for (size_t i = 0; i < c->nsel; i++)
            c->thfull[c->sel[i]] = x[i];
    }
    free(x);
    free(save);
    return set_theta(c, c->thfull);
}

/* Hessian of ll in theta by forward differences of the analytic gradient
 * (n + 1 gradients; step 1e-6 relative: truncation and rounding errors
 * both near 1e-6 relative, ample for Newton steps and standard errors). */
static int hessian(fitctx *c, const double *th, double *H)
{
    size_t n = c->n;
    double *x = malloc(n * sizeof *x), *g0 = malloc(n * sizeof *g0), *gp = malloc(n * sizeof *gp);
    int rc = 0;
    if (!x || !g0 || !gp) {
        rc = -1;
        goto out;
    }
    memcpy(x, th, n * sizeof *x);
    if (!isfinite(eval_ll(c, x, g0))) {
        rc = -1;
        goto out;
    }
    for (size_t j = 0; j < n; j++) {
        double h = 1e-6 * fmax(1.0, fabs(th[j]));
        x[j] = th[j] + h;
        h = x[j] - th[j]; /* the step actually taken */
        double a = eval_ll(c, x, gp);
        x[j] = th[j];
        if (!isfinite(a)) {
            rc = -1;
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            H[i * n + j] = (gp[i] - g0[i]) / h;
    }
    st_mat_symmetrise(H, n);
out:
    free(x);
    free(g0);
    free(gp);
    return rc;
}

/* Newton steps on ll from th until max |gradient| < 1e-6.  The Hessian
 * (n + 1 gradients) is the expensive part: it is computed at most max_hess
 * times and reused between steps (chord method; near the optimum it barely
 * changes), and the last one serves the standard errors (*h_valid).
 * Returns 0 if the gradient criterion was met, -1 otherwise. */
static int newton_polish(fitctx *c, double *th, double *gr, double *H, int max_hess, int want_h,
                         int *h_valid)
{
    size_t n = c->n;
    double *step = malloc(n * sizeof *step), *L = malloc(n * n * sizeof *L), *x = malloc(n * sizeof *x);
    int have = 0, fresh = 0, nh = 0, ok = -1;
    double ll = eval_ll(c, th, gr);
    *h_valid = 0;
    for (int it = 0; it < 40 && step && L && x && isfinite(ll); it++) {
        double gmax = 0;
        for (size_t i = 0; i < n; i++)
            gmax = fmax(gmax, fabs(gr[i]));
        if (gmax < 1e-6 && (have || !want_h)) {
            ok = 0;
            break;
        }
        if (!have) {
            if (nh == max_hess || hessian(c, th, H) < 0)
                break;
            nh++;
            ll = eval_ll(c, th, gr); /* the model back at th */
            for (size_t i = 0; i < n * n; i++)
                L[i] = -H[i];
            st_err le;
            if (st_chol(L, n, 0, NULL, &le) < 0)
                break; /* not a maximum-shaped point */
            have = fresh = 1;
            *h_valid = 1;
            continue;
        }
        memcpy(step, gr, n * sizeof *step);
        st_chol_solve(L, n, step, 1);
        double t = 1;
        int moved = 0;
        for (int h = 0; h < 20; h++, t *= 0.5) {
            for (size_t i = 0; i < n; i++)
                x[i] = th[i] + t * step[i];
            double l2 = eval_ll(c, x, NULL);
            if (isfinite(l2) && l2 >= ll - 1e-12 * fabs(ll)) {
                memcpy(th, x, n * sizeof *x);
                moved = 1;
                break;
            }
        }
        ll = eval_ll(c, th, gr);
        if (!moved) {
            if (fresh)
                break;
            have = 0; /* stale Hessian: recompute */
        }
        fresh = 0;
    }
    free(step);
    free(L);
    free(x);
    return ok;
}

/* EM from the current model: up to maxit iterations or a relative change
 * of the log-likelihood <= tol.  *iters gets the count, *conv 1 if tol met. */
static int run_em(fitctx *c, int maxit, double tol, int *iters, int *conv, st_err *e)
{
    double prev = -INFINITY;
    int it, rc;
    *conv = 0;
    for (it = 1; it <= maxit; it++) {
        if ((rc = mjp_engine_eval(c->g, c->m, 1, &c->s, e)) < 0)
            return rc;
        c->nevals++;
        if (!isfinite(c->s.ll))
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                              "the data are impossible under the starting rates (log-likelihood -inf)");
        if (it > 1 && fabs(c->s.ll - prev) <= tol * fmax(1.0, fabs(c->s.ll))) {
            *conv = 1;
            break;
        }
        prev = c->s.ll;
        mjp_stats st = c->s;
        if (mstep(c, &st) < 0)
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "M-step failed: rate formula out of range");
    }
    *iters = it > maxit ? maxit : it;
    return 0;
}

/* L-BFGS on -ll from th. */
static int run_lbfgs(fitctx *c, double *th, int maxeval, double tol, int *conv, st_err *e)
{
    double ll0 = eval_ll(c, th, NULL);
    if (!isfinite(ll0))
        return c->rc ? c->rc
                     : st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                                  "the data are impossible under the starting rates (log-likelihood -inf)");
    st_optim_opts oo = {.method = ST_OPT_LBFGS, .ftol_rel = tol, .xtol_rel = 1e-8, .max_eval = maxeval};
    st_optim_result r;
    int rc = st_optim_minimize(objective, c, th, c->n, &oo, &r, e);
    if (rc < 0)
        return rc;
    if (c->rc)
        return c->rc;
    *conv = r.converged;
    return 0;
}

/* What the fit's parameter vector means, kept with the fit so that
 * derived quantities can move the model along theta. */
typedef struct thmap {
    size_t n, K;
    thdef *def;
    int *eref;
    int iref;
} thmap;

static void thmap_free(thmap *t)
{
    if (!t)
        return;
    free(t->def);
    free(t->eref);
    free(t);
}

static thmap *thmap_save(const fitctx *c)
{
    thmap *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    size_t K = c->m->K;
    t->n = c->n;
    t->K = K;
    t->iref = c->iref;
    t->def = malloc((c->n ? c->n : 1) * sizeof *t->def);
    t->eref = malloc(K * sizeof *t->eref);
    if (!t->def || !t->eref) {
        thmap_free(t);
        return NULL;
    }
    memcpy(t->def, c->def, c->n * sizeof *t->def);
    memcpy(t->eref, c->eref, K * sizeof *t->eref);
    return t;
}

int st_mjp_fit_get_theta(const st_mjp_fit *f, const st_mjp *m, double *th)
{
    const thmap *t = f->map;
    if (!t || t->K != m->K)
        return -1;
    fitctx c;
    memset(&c, 0, sizeof c);
    c.m = (st_mjp *)m;
    c.n = t->n;
    c.def = t->def;
    c.eref = t->eref;
    c.iref = t->iref;
    get_theta(&c, th);
    return 0;
}

int st_mjp_fit_set_theta(const st_mjp_fit *f, st_mjp *m, const double *th)
{
    const thmap *t = f->map;
    if (!t || t->K != m->K)
        return -1;
    fitctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.n = t->n;
    c.def = t->def;
    c.eref = t->eref;
    c.iref = t->iref;
    return set_theta(&c, th);
}

void st_mjp_fit_free(st_mjp_fit *f)
{
    if (!f)
        return;
    thmap_free(f->map);
    free(f->Q_se);
    free(f->Q_lo);
    free(f->Q_hi);
    free(f->par_se);
    free(f->par_lo);
    free(f->par_hi);
    free(f->E_se);
    free(f->beta_se);
    free(f->egam_se);
    free(f->cov);
    free(f);
}

/* Standard errors from the covariance of theta (delta method). */
static int fill_se(fitctx *c, st_mjp_fit *f, const double *cov)
{
    st_mjp *m = c->m;
    size_t K = m->K, n = c->n, P = m->P;
    f->Q_se = malloc(K * K * sizeof *f->Q_se);
    f->Q_lo = malloc(K * K * sizeof *f->Q_lo);
    f->Q_hi = malloc(K * K * sizeof *f->Q_hi);
    double *Jr = calloc(K * K * (n ? n : 1), sizeof *Jr); /* d q_ab / d theta */
    double *Jp = P ? malloc(K * K * P * sizeof *Jp) : NULL;
    if (!f->Q_se || !f->Q_lo || !f->Q_hi || !Jr || (P && !Jp)) {
        free(Jr);
        free(Jp);
        return -1;
    }
    if (P)
        rate_jacobian(m, Jp);
    for (size_t k = 0; k < n; k++) {
        const thdef *t = &c->def[k];
        if (t->kind == TH_RATE) {
            size_t ab = (size_t)t->i * K + (size_t)t->j;
            Jr[ab * n + k] = m->Q[ab];
        } else if (t->kind == TH_PAR) {
            for (size_t ab = 0; ab < K * K; ab++)
                Jr[ab * n + k] = Jp[ab * P + (size_t)t->i];
        }
    }
    for (size_t a = 0; a < K; a++)
        for (size_t b = 0; b < K; b++)
            if (a != b)
                for (size_t k = 0; k < n; k++)
                    Jr[(a * K + a) * n + k] -= Jr[(a * K + b) * n + k];
    for (size_t ab = 0; ab < K * K; ab++) {
        double v = 0;
        int any = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                v += Jr[ab * n + i] * cov[i * n + j] * Jr[ab * n + j];
                any |= Jr[ab * n + i] != 0;
            }
        double q = m->Q[ab], se = any ? sqrt(fmax(v, 0)) : 0;
        f->Q_se[ab] = se;
        if (ab / K != ab % K && q > 0) {
            double sl = se / q;
            f->Q_lo[ab] = q * exp(-1.959963984540054 * sl);
            f->Q_hi[ab] = q * exp(1.959963984540054 * sl);
        } else {
            f->Q_lo[ab] = q - 1.959963984540054 * se;
            f->Q_hi[ab] = q + 1.959963984540054 * se;
        }
    }
    free(Jr);
    free(Jp);
    if (P) {
        f->par_se = calloc(P, sizeof *f->par_se);
        f->par_lo = calloc(P, sizeof *f->par_lo);
        f->par_hi = calloc(P, sizeof *f->par_hi);
        if (!f->par_se || !f->par_lo || !f->par_hi)
            return -1;
        for (size_t k = 0; k < n; k++) {
            const thdef *t = &c->def[k];
            if (t->kind != TH_PAR)
                continue;
            size_t p = (size_t)t->i;
            double su = sqrt(fmax(cov[k * n + k], 0));
            if (m->ppos[p]) {
                f->par_se[p] = m->par[p] * su;
                f->par_lo[p] = m->par[p] * exp(-1.959963984540054 * su);
                f->par_hi[p] = m->par[p] * exp(1.959963984540054 * su);
            } else {
                f->par_se[p] = su;
                f->par_lo[p] = m->par[p] - 1.959963984540054 * su;
                f->par_hi[p] = m->par[p] + 1.959963984540054 * su;
            }
        }
    }
    if (m->nbpar || m->negpar) {
        f->beta_se = calloc(m->nbpar ? m->nbpar : 1, sizeof *f->beta_se);
        f->egam_se = calloc(m->negpar ? m->negpar : 1, sizeof *f->egam_se);
        if (!f->beta_se || !f->egam_se)
            return -1;
        for (size_t b = 0; b < m->nbpar; b++)
            f->beta_se[b] = NAN;
        for (size_t b = 0; b < m->negpar; b++)
            f->egam_se[b] = NAN;
        for (size_t k = 0; k < n; k++) {
            const thdef *t = &c->def[k];
            double su = sqrt(cov[k * n + k]);
            if (t->kind == TH_BETA)
                f->beta_se[t->i] = su;
            else if (t->kind == TH_EGAM)
                f->egam_se[t->i] = su;
        }
    }
    if (m->E && !m->E_fixed && c->d->mode == ST_MJP_HIDDEN) {
        size_t M = m->M;
        f->E_se = calloc(K * M, sizeof *f->E_se);
        if (!f->E_se)
            return -1;
        /* dE_ij / du_ik = E_ij (delta_jk - E_ik) for the row's free logits */
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < M; j++) {
                double v = 0;
                for (size_t k1 = 0; k1 < n; k1++) {
                    if (c->def[k1].kind != TH_EM || (size_t)c->def[k1].i != i)
                        continue;
                    size_t c1 = (size_t)c->def[k1].j;
                    double d1 = m->E[i * M + j] * ((j == c1) - m->E[i * M + c1]);
                    for (size_t k2 = 0; k2 < n; k2++) {
                        if (c->def[k2].kind != TH_EM || (size_t)c->def[k2].i != i)
                            continue;
                        size_t c2 = (size_t)c->def[k2].j;
                        double d2 = m->E[i * M + j] * ((j == c2) - m->E[i * M + c2]);
                        v += d1 * cov[k1 * n + k2] * d2;
                    }
                }
                f->E_se[i * M + j] = sqrt(fmax(v, 0));
            }
    }
    return 0;
}

/* Exact data, free rates: the MLE q = N / D and se(q) = sqrt(N) / D. */
static int exact_closed_form(fitctx *c, st_mjp_fit *f, int want_se)
{
    st_mjp *m = c->m;
    size_t K = m->K;
    if (mjp_engine_eval(c->g, m, 1, &c->s, c->e) < 0)
        return -1;
    mjp_stats *s = &c->s;
    for (size_t a = 0; a < K; a++) {
        double sum = 0;
        for (size_t b = 0; b < K; b++) {
            size_t ab = a * K + b;
            if (a == b)
                continue;
            if (m->allowed[ab] && !m->fixed[ab])
                m->Q[ab] = s->D[a] > 0 ? s->N[ab] / s->D[a] : 0;
            sum += m->Q[ab];
        }
        m->Q[a * K + a] = 0.0 - sum; /* +0, not -0, for absorbing states */
    }
    if (mjp_engine_eval(c->g, m, 1, &c->s, c->e) < 0)
        return -1;
    f->iterations = 1;
    f->converged = 1;
    f->method = "exact closed form";
    if (!want_se)
        return 0;
    f->Q_se = calloc(K * K, sizeof *f->Q_se);
    f->Q_lo = calloc(K * K, sizeof *f->Q_lo);
    f->Q_hi = calloc(K * K, sizeof *f->Q_hi);
    if (!f->Q_se || !f->Q_lo || !f->Q_hi)
        return st_err_nomem(c->e, "standard errors");
    for (size_t a = 0; a < K; a++) {
        double vdiag = 0;
        for (size_t b = 0; b < K; b++) {
            size_t ab = a * K + b;
            if (a == b || !m->allowed[ab] || m->fixed[ab])
                continue;
            double n = s->N[ab], D = s->D[a], q = m->Q[ab];
            if (n > 0) {
                double se = sqrt(n) / D, sl = 1 / sqrt(n);
                f->Q_se[ab] = se;
                f->Q_lo[ab] = q * exp(-1.959963984540054 * sl);
                f->Q_hi[ab] = q * exp(1.959963984540054 * sl);
                vdiag += se * se;
            } else {
                /* no jump seen: the MLE is on the boundary; the upper bound
                 * is where the log-likelihood drops by 1.92 (q D = 1.92) */
                f->Q_se[ab] = NAN;
                f->Q_lo[ab] = 0;
                f->Q_hi[ab] = D > 0 ? 1.920729410347062 / D : INFINITY;
            }
        }
        f->Q_se[a * K + a] = sqrt(vdiag);
        f->Q_lo[a * K + a] = m->Q[a * K + a] - 1.959963984540054 * sqrt(vdiag);
        f->Q_hi[a * K + a] = m->Q[a * K + a] + 1.959963984540054 * sqrt(vdiag);
    }
    return 0;
}

int st_mjp_fit_run(st_mjp *m, const st_mjp_data *d, const st_mjp_fit_opts *o, st_mjp_fit **out,
                   st_err *e)
{
    *out = NULL;
    size_t K = m->K;
    if (d->K != K)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "data compiled for %zu states, model has %zu", d->K, K);
    if (d->mode == ST_MJP_HIDDEN && (!m->E || m->M != d->M))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "hidden data need the model's emission matrix");
    if (d->C != m->C)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "data compiled for %zu covariates, model has %zu", d->C, m->C);
    st_mjp_fit *f = calloc(1, sizeof *f);
    fitctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.d = d;
    c.e = e;
    size_t M = m->M ? m->M : 1;
    size_t KK = K * K, C = m->C, np = d->npat ? d->npat : 1;
    c.def = malloc((KK + K * M + K + ST_MJP_MAX_PARAMS + m->nbpar + m->negpar) * sizeof *c.def);
    c.eref = calloc(K, sizeof *c.eref);
    c.estruct = calloc(K * M, 1);
    c.istruct = calloc(K, 1);
    double *th = NULL, *gr = NULL, *H = NULL;
    int rc;
    if (!f || !c.def || !c.eref || !c.estruct || !c.istruct) {
        rc = st_err_nomem(e, "fit");
        goto out;
    }
    if (!m->P)
        for (size_t ab = 0; ab < K * K; ab++)
            if (ab / K != ab % K && m->allowed[ab] && !m->fixed[ab] && !(m->Q[ab] > 0)) {
                rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                                "allowed rate %zu-%zu needs a positive starting value", ab / K, ab % K);
                goto out;
            }
    if ((rc = mjp_engine_new(&c.g, d, e)) < 0)
        goto out;
    if ((rc = mjp_stats_alloc(&c.s, K, m->M, np, e)) < 0)
        goto out;
    build_defs(&c);
    c.npat = np;
    c.Z = d->Z;
    c.inner_rates = m->P || m->nbpar;
    c.inner_em = d->mode == ST_MJP_HIDDEN && !m->E_fixed && m->egam && m->negpar;
    c.Zc = malloc(np * (C ? C : 1) * sizeof *c.Zc);
    c.Qp = malloc(np * KK * sizeof *c.Qp);
    c.Gq = malloc(np * KK * sizeof *c.Gq);
    c.Ep = malloc(np * K * M * sizeof *c.Ep);
    c.gfull = malloc((c.n ? c.n : 1) * sizeof *c.gfull);
    c.thfull = malloc((c.n ? c.n : 1) * sizeof *c.thfull);
    c.sel = malloc((c.n ? c.n : 1) * sizeof *c.sel);
    c.S0 = malloc(KK * sizeof *c.S0);
    c.S1 = malloc(KK * (C ? C : 1) * sizeof *c.S1);
    c.H0 = malloc(K * M * sizeof *c.H0);
    c.H1 = malloc(K * M * (C ? C : 1) * sizeof *c.H1);
    c.Nsum = malloc(KK * sizeof *c.Nsum);
    c.Dsum = malloc(K * sizeof *c.Dsum);
    c.Nemsum = malloc(K * M * sizeof *c.Nemsum);
    if (!c.Zc || !c.Qp || !c.Gq || !c.Ep || !c.gfull || !c.thfull || !c.sel || !c.S0 || !c.S1 || !c.H0 ||
        !c.H1 || !c.Nsum || !c.Dsum || !c.Nemsum) {
        rc = st_err_nomem(e, "fit");
        goto out;
    }
    for (size_t p = 0; p < np; p++)
        for (size_t k = 0; k < C; k++)
            c.Zc[p * C + k] = d->Z[p * C + k] - m->cmean[k];
    c.oscale = 1.0 / fmax(1.0, (double)(d->nobs_all - d->nsubj_all));
    size_t n = c.n;
    th = malloc((n ? n : 1) * sizeof *th);
    gr = malloc((n ? n : 1) * sizeof *gr);
    H = malloc((n ? n * n : 1) * sizeof *H);
    if (!th || !gr || !H) {
        rc = st_err_nomem(e, "fit");
        goto out;
    }
    int method = o->method;
    int h_valid = 0;
    if (d->mode == ST_MJP_EXACT && !m->P && !m->nbpar && method != ST_MJP_FIT_LBFGS) {
        if ((rc = exact_closed_form(&c, f, o->want_se)) < 0)
            goto out;
        f->nfree = n;
        goto finish;
    }
    double tol = o->tol > 0 ? o->tol : 1e-10;
    int conv = 0;
    get_theta(&c, th);
    if (method == ST_MJP_FIT_EM) {
        f->method = "EM";
        if ((rc = run_em(&c, o->max_iter > 0 ? o->max_iter : 10000, tol, &f->iterations, &conv, e)) < 0)
            goto out;
        f->converged = conv;
        get_theta(&c, th);
    } else if (method == ST_MJP_FIT_LBFGS) {
        f->method = "L-BFGS";
        if ((rc = run_lbfgs(&c, th, o->max_iter > 0 ? o->max_iter : 5000, tol, &conv, e)) < 0)
            goto out;
        newton_polish(&c, th, gr, H, 3, o->want_se, &h_valid);
        f->iterations = c.nevals;
        f->converged = conv;
    } else if (m->nbpar || c.inner_em) {
        /* covariate effects: EM's M-step is itself an optimisation over
         * every pattern, so go straight to L-BFGS and finish with Newton */
        f->method = "L-BFGS + Newton";
        if ((rc = run_lbfgs(&c, th, 5000, tol, &conv, e)) < 0)
            goto out;
        newton_polish(&c, th, gr, H, 3, o->want_se, &h_valid);
        f->iterations = c.nevals;
    } else {
        /* default: EM gets close fast (exact M-steps), Newton steps on the
         * Hessian finish; L-BFGS takes over if Newton cannot */
        int it;
        f->method = "EM + Newton";
        if ((rc = run_em(&c, o->max_iter > 0 ? o->max_iter : 500, 1e-9, &it, &conv, e)) < 0)
            goto out;
        get_theta(&c, th);
        if (newton_polish(&c, th, gr, H, 3, o->want_se, &h_valid) < 0) {
            f->method = "EM + L-BFGS + Newton";
            if ((rc = run_lbfgs(&c, th, 5000, tol, &conv, e)) < 0)
                goto out;
            newton_polish(&c, th, gr, H, 3, o->want_se, &h_valid);
        }
        f->iterations = c.nevals;
    }
    /* final state and gradient */
    {
        double ll = eval_ll(&c, th, gr);
        if (!isfinite(ll)) {
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "fit ended at log-likelihood -inf");
            goto out;
        }
        f->grad_norm = 0;
        for (size_t i = 0; i < n; i++)
            f->grad_norm = fmax(f->grad_norm, fabs(gr[i]));
        if (method != ST_MJP_FIT_EM && f->grad_norm < 1e-3)
            f->converged = 1;
    }
    f->nfree = n;
    if (o->want_se && n > 0) {
        f->cov = malloc(n * n * sizeof *f->cov);
        if (!f->cov) {
            rc = st_err_nomem(e, "covariance");
            goto out;
        }
        if (h_valid || hessian(&c, th, H) == 0) {
            for (size_t i = 0; i < n * n; i++)
                f->cov[i] = -H[i];
            st_err le;
            if (st_inverse(f->cov, n, &le) < 0)
                for (size_t i = 0; i < n * n; i++)
                    f->cov[i] = NAN;
        } else {
            for (size_t i = 0; i < n * n; i++)
                f->cov[i] = NAN;
        }
        eval_ll(&c, th, gr); /* back to the optimum */
        if (fill_se(&c, f, f->cov) < 0) {
            rc = st_err_nomem(e, "standard errors");
            goto out;
        }
    }
finish:
    if (!(f->map = thmap_save(&c))) {
        rc = st_err_nomem(e, "fit");
        goto out;
    }
    f->loglik = c.s.ll;
    f->minus2loglik = 0.0 - 2 * c.s.ll; /* +0, not -0, when the likelihood is 1 */
    f->aic = f->minus2loglik + 2.0 * (double)f->nfree;
    *out = f;
    f = NULL;
    rc = 0;
out:
    st_mjp_fit_free(f);
    mjp_stats_free(&c.s);
    mjp_engine_free(c.g);
    free(c.def);
    free(c.Zc);
    free(c.Qp);
    free(c.Gq);
    free(c.Ep);
    free(c.gfull);
    free(c.thfull);
    free(c.sel);
    free(c.S0);
    free(c.S1);
    free(c.H0);
    free(c.H1);
    free(c.Nsum);
    free(c.Dsum);
    free(c.Nemsum);
    free(c.eref);
    free(c.estruct);
    free(c.istruct);
    free(th);
    free(gr);
    free(H);
    return rc;
}

/* Covariates of an mjp model (issue 16): log-linear effects on the rates,
 * logistic effects on misclassification probabilities, shared effects
 * (msm's constraint) and piecewise-constant rates in time (msm's pci). */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mjp/internal.h"

/* Grow the per-covariate arrays from C to C + n (beta/bpar are K*K x C and
 * egam/egpar K*M x C, row-major: re-laid out), appending names. */
static int grow(st_mjp *m, const char *const *names, size_t n, st_err *e)
{
    size_t K = m->K, KK = K * K, C0 = m->C, C = C0 + n, KM = K * (m->M ? m->M : 1);
    if (C > ST_MJP_MAX_COVS)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "at most %d covariates (time periods included)",
                          ST_MJP_MAX_COVS);
    for (size_t i = 0; i < n; i++) {
        if (st_mjp_covariate_index(m, names[i]) >= 0)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "covariate '%s' named twice", names[i]);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(names[i], names[j]))
                return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "covariate '%s' named twice", names[i]);
    }
    char **cn = calloc(C, sizeof *cn);
    double *cm = calloc(C, sizeof *cm), *be = calloc(KK * C, sizeof *be), *eg = NULL;
    int *bp = malloc(KK * C * sizeof *bp), *ep = NULL;
    if (m->egam) {
        eg = calloc(KM * C, sizeof *eg);
        ep = malloc(KM * C * sizeof *ep);
    }
    int fail = !cn || !cm || !be || !bp || (m->egam && (!eg || !ep));
    for (size_t c = 0; c < C && !fail; c++)
        if (!(cn[c] = strdup(c < C0 ? m->cnames[c] : names[c - C0])))
            fail = 1;
    if (fail) {
        if (cn)
            for (size_t c = 0; c < C; c++)
                free(cn[c]);
        free(cn);
        free(cm);
        free(be);
        free(bp);
        free(eg);
        free(ep);
        return st_err_nomem(e, "covariates");
    }
    for (size_t ab = 0; ab < KK; ab++)
        for (size_t c = 0; c < C; c++) {
            be[ab * C + c] = c < C0 ? m->beta[ab * C0 + c] : 0;
            bp[ab * C + c] = c < C0 ? m->bpar[ab * C0 + c] : -1;
        }
    if (m->egam)
        for (size_t ij = 0; ij < KM; ij++)
            for (size_t c = 0; c < C; c++) {
                eg[ij * C + c] = c < C0 ? m->egam[ij * C0 + c] : 0;
                ep[ij * C + c] = c < C0 ? m->egpar[ij * C0 + c] : -1;
            }
    for (size_t c = 0; c < C0; c++) {
        cm[c] = m->cmean[c];
        free(m->cnames[c]);
    }
    free(m->cnames);
    free(m->cmean);
    free(m->beta);
    free(m->bpar);
    free(m->egam);
    free(m->egpar);
    m->cnames = cn;
    m->cmean = cm;
    m->beta = be;
    m->bpar = bp;
    m->egam = eg;
    m->egpar = ep;
    m->C = C;
    return 0;
}

static int valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (const char *c = s; *c; c++)
        if (*c == ',' || *c == '+' || *c == ':' || *c == '=' || isspace((unsigned char)*c))
            return 0;
    return 1;
}

int st_mjp_set_covariates(st_mjp *m, const char *const *names, size_t C, st_err *e)
{
    if (m->C)
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "bug: covariates declared twice");
    for (size_t c = 0; c < C; c++)
        if (!valid_name(names[c]))
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "covariate name '%s' is empty or has , + : = or a space",
                              names[c]);
    return grow(m, names, C, e);
}

int st_mjp_covariate_index(const st_mjp *m, const char *name)
{
    for (size_t c = 0; c < m->C; c++)
        if (!strcmp(m->cnames[c], name))
            return (int)c;
    return -1;
}

/* A fresh parameter id for a new effect (renumbered by st_mjp_number_effects). */
static int fresh_id(const int *par, size_t n)
{
    int mx = -1;
    for (size_t i = 0; i < n; i++)
        if (par[i] > mx)
            mx = par[i];
    return mx + 1;
}

int mjp_effect_new(st_mjp *m, size_t ab, size_t c, int misc)
{
    size_t n = (misc ? m->K * m->M : m->K * m->K) * m->C;
    int *par = misc ? m->egpar : m->bpar;
    if (par[ab * m->C + c] < 0)
        par[ab * m->C + c] = fresh_id(par, n);
    return par[ab * m->C + c];
}

/* Covariate names "a+b" (or "a,b" when commas allowed) into a mask. */
static int name_list(const st_mjp *m, const char *s, size_t len, char sep, unsigned char *mask, st_err *e)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != sep)
            j++;
        char buf[128];
        if (j - i == 0 || j - i >= sizeof buf)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "covariates: empty or overlong name in '%.*s'", (int)len, s);
        memcpy(buf, s + i, j - i);
        buf[j - i] = 0;
        int c = st_mjp_covariate_index(m, buf);
        if (c < 0)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "covariates: '%s' is not a declared covariate", buf);
        mask[c] = 1;
        i = j + 1;
    }
    return 0;
}

int st_mjp_add_effects(st_mjp *m, const char *spec, int base, st_err *e)
{
    size_t K = m->K, KK = K * K, C = m->C;
    unsigned char mask[ST_MJP_MAX_COVS] = {0};
    const char *colon = strchr(spec, ':');
    int rc;
    if (!colon) {
        if ((rc = name_list(m, spec, strlen(spec), ',', mask, e)) < 0)
            return rc;
        for (size_t ab = 0; ab < KK; ab++)
            if (ab / K != ab % K && m->allowed[ab])
                for (size_t c = 0; c < C; c++)
                    if (mask[c] && m->bpar[ab * C + c] < 0)
                        m->bpar[ab * C + c] = fresh_id(m->bpar, KK * C);
        return 0;
    }
    int i, j;
    if (mjp_parse_pair(m, spec, (size_t)(colon - spec), base, &i, &j) < 0 || i < 0 || j < 0 || i >= (int)K ||
        j >= (int)K || i == j)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "covariates: '%.*s' is not a transition FROM-TO",
                          (int)(colon - spec), spec);
    size_t ab = (size_t)i * K + (size_t)j;
    if (!m->allowed[ab])
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "covariates: transition %.*s is not allowed",
                          (int)(colon - spec), spec);
    if ((rc = name_list(m, colon + 1, strlen(colon + 1), '+', mask, e)) < 0)
        return rc;
    for (size_t c = 0; c < C; c++)
        if (mask[c] && m->bpar[ab * C + c] < 0)
            m->bpar[ab * C + c] = fresh_id(m->bpar, KK * C);
    return 0;
}

int st_mjp_set_constraint(st_mjp *m, const char *spec, st_err *e)
{
    size_t K = m->K, KK = K * K, C = m->C;
    const char *eq = strchr(spec, '=');
    char name[128];
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof name)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--constraint must be NAME=G1,G2,..., not '%s'", spec);
    memcpy(name, spec, (size_t)(eq - spec));
    name[eq - spec] = 0;
    int c = st_mjp_covariate_index(m, name);
    if (c < 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--constraint: '%s' is not a covariate", name);
    size_t cells[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES], n = 0;
    for (size_t ab = 0; ab < KK; ab++)
        if (m->bpar[ab * C + (size_t)c] >= 0)
            cells[n++] = ab;
    long lab[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    size_t nl = 0;
    const char *p = eq + 1;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || nl == KK)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--constraint %s: labels must be integers, not '%s'", name,
                              eq + 1);
        lab[nl++] = v;
        p = *end ? end + 1 : end;
    }
    if (nl != n)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                          "--constraint %s: %zu labels for the %zu transitions that have the covariate", name, nl, n);
    /* cells with the same label take the parameter of the first of them */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (lab[j] == lab[i]) {
                m->bpar[cells[i] * C + (size_t)c] = m->bpar[cells[j] * C + (size_t)c];
                break;
            }
    return 0;
}

int st_mjp_add_misc_effects(st_mjp *m, const char *spec, st_err *e)
{
    size_t K = m->K, C = m->C;
    if (!m->E || m->M != K)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                          "misclassification covariates need an emission matrix with as many symbols as states");
    unsigned char mask[ST_MJP_MAX_COVS] = {0};
    int rc = name_list(m, spec, strlen(spec), ',', mask, e);
    if (rc < 0)
        return rc;
    if (!m->egam) {
        m->egam = calloc(K * K * (C ? C : 1), sizeof *m->egam);
        m->egpar = malloc(K * K * (C ? C : 1) * sizeof *m->egpar);
        if (!m->egam || !m->egpar)
            return st_err_nomem(e, "covariates");
        for (size_t i = 0; i < K * K * C; i++)
            m->egpar[i] = -1;
    }
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            if (i != j && m->E[i * K + j] > 0)
                for (size_t c = 0; c < C; c++)
                    if (mask[c] && m->egpar[(i * K + j) * C + c] < 0)
                        m->egpar[(i * K + j) * C + c] = fresh_id(m->egpar, K * K * C);
    return 0;
}

int st_mjp_set_timecuts(st_mjp *m, const double *cuts, size_t n, st_err *e)
{
    if (m->ncut)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "time cut points given twice");
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(cuts[i]) || (i && !(cuts[i] > cuts[i - 1])))
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "time cut points must be finite and increasing");
    char bufs[ST_MJP_MAX_COVS][64];
    const char *names[ST_MJP_MAX_COVS];
    if (m->C + n > ST_MJP_MAX_COVS)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "at most %d covariates (time periods included)",
                          ST_MJP_MAX_COVS);
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n)
            snprintf(bufs[i], sizeof bufs[i], "timeperiod[%.10g,%.10g)", cuts[i], cuts[i + 1]);
        else
            snprintf(bufs[i], sizeof bufs[i], "timeperiod[%.10g,Inf)", cuts[i]);
        names[i] = bufs[i];
    }
    size_t C0 = m->C;
    int rc = grow(m, names, n, e);
    if (rc < 0)
        return rc;
    m->tcut = malloc(n * sizeof *m->tcut);
    if (!m->tcut)
        return st_err_nomem(e, "time cut points");
    memcpy(m->tcut, cuts, n * sizeof *cuts);
    m->ncut = n;
    size_t K = m->K, C = m->C;
    for (size_t ab = 0; ab < K * K; ab++)
        if (ab / K != ab % K && m->allowed[ab])
            for (size_t c = C0; c < C; c++)
                m->bpar[ab * C + c] = fresh_id(m->bpar, K * K * C);
    return 0;
}

/* Renumber ids in par[] (cells in covariate-major order: c, then cell)
 * to 0..n-1 in order of first appearance; returns n. */
static size_t renumber(int *par, size_t ncell, size_t C)
{
    if (!par || !ncell || !C)
        return 0;
    int map[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES * 4];
    size_t nmax = ncell * C, n = 0;
    int *mp = nmax <= sizeof map / sizeof *map ? map : malloc(nmax * sizeof *mp);
    if (!mp)
        return 0;
    /* ids are < ncell * C (fresh ids grow from 0) */
    for (size_t i = 0; i < nmax; i++)
        mp[i] = -1;
    for (size_t c = 0; c < C; c++)
        for (size_t k = 0; k < ncell; k++) {
            int *p = &par[k * C + c];
            if (*p < 0)
                continue;
            if (mp[*p] < 0)
                mp[*p] = (int)n++;
            *p = mp[*p];
        }
    if (mp != map)
        free(mp);
    return n;
}

void st_mjp_number_effects(st_mjp *m)
{
    size_t K = m->K;
    m->nbpar = renumber(m->bpar, K * K, m->C);
    m->negpar = m->egam ? renumber(m->egpar, K * (m->M ? m->M : 1), m->C) : 0;
}

void st_mjp_rates_at(const st_mjp *m, const double *z, double *Q)
{
    size_t K = m->K, C = m->C;
    for (size_t a = 0; a < K; a++) {
        double sum = 0;
        for (size_t b = 0; b < K; b++) {
            size_t ab = a * K + b;
            if (a == b)
                continue;
            double q = m->Q[ab];
            if (q != 0 && C) {
                double eta = 0;
                for (size_t c = 0; c < C; c++)
                    if (m->bpar[ab * C + c] >= 0)
                        eta += m->beta[ab * C + c] * (z[c] - m->cmean[c]);
                q *= exp(eta);
            }
            Q[ab] = q;
            sum += q;
        }
        Q[a * K + a] = 0.0 - sum;
    }
}

void st_mjp_emission_at(const st_mjp *m, const double *z, double *E)
{
    size_t K = m->K, M = m->M, C = m->C;
    if (!m->egam) {
        memcpy(E, m->E, K * M * sizeof *E);
        return;
    }
    for (size_t i = 0; i < K; i++) {
        double s = 0;
        for (size_t j = 0; j < M; j++) {
            size_t ij = i * M + j;
            double w = m->E[ij];
            if (w > 0 && j != i) {
                double g = 0;
                for (size_t c = 0; c < C; c++)
                    if (m->egpar[ij * C + c] >= 0)
                        g += m->egam[ij * C + c] * (z[c] - m->cmean[c]);
                w *= exp(g);
            }
            E[ij] = w;
            s += w;
        }
        for (size_t j = 0; j < M; j++)
            E[i * M + j] /= s;
    }
}

void st_mjp_period_at(const st_mjp *m, double t, double *z)
{
    size_t C0 = m->C - m->ncut;
    for (size_t i = 0; i < m->ncut; i++) {
        double hi = i + 1 < m->ncut ? m->tcut[i + 1] : INFINITY;
        z[C0 + i] = t >= m->tcut[i] && t < hi;
    }
}

int st_mjp_set_centre(st_mjp *m, const double *zc, st_err *e)
{
    size_t K = m->K, C = m->C;
    if (!C)
        return 0;
    if (!m->P) {
        double *Q = malloc(K * K * sizeof *Q);
        if (!Q)
            return st_err_nomem(e, "centre");
        st_mjp_rates_at(m, zc, Q);
        memcpy(m->Q, Q, K * K * sizeof *Q);
        free(Q);
    }
    if (m->egam) {
        double *E = malloc(K * m->M * sizeof *E);
        if (!E)
            return st_err_nomem(e, "centre");
        st_mjp_emission_at(m, zc, E);
        memcpy(m->E, E, K * m->M * sizeof *E);
        free(E);
    }
    memcpy(m->cmean, zc, C * sizeof *zc);
    return 0;
}

int st_mjp_check_periods(const st_mjp *m, const st_mjp_data *d, st_err *e)
{
    for (size_t i = 0; i < m->ncut; i++) {
        size_t c = m->C - m->ncut + i;
        if (!(d->zmean[c] > 0))
            return st_err_set(e, ST_EDATA, NULL, 0, 0,
                              "time period %s holds no interval of the data: drop the cut point %g", m->cnames[c] + 10,
                              m->tcut[i]);
    }
    return 0;
}

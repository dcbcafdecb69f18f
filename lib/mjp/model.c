/* The mjp model: allocation, checks, parametric rates, YAML reading. */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mjp/internal.h"

int st_mjp_new(st_mjp **out, size_t K, st_err *e)
{
    *out = NULL;
    if (K < 1 || K > ST_MJP_MAX_STATES)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "number of states must be 1 to %d, not %zu",
                          ST_MJP_MAX_STATES, K);
    st_mjp *m = calloc(1, sizeof *m);
    if (!m)
        return st_err_nomem(e, "model");
    m->K = K;
    m->Q = calloc(K * K, sizeof *m->Q);
    m->allowed = calloc(K * K, 1);
    m->fixed = calloc(K * K, 1);
    m->init = malloc(K * sizeof *m->init);
    if (!m->Q || !m->allowed || !m->fixed || !m->init) {
        st_mjp_free(m);
        return st_err_nomem(e, "model");
    }
    for (size_t i = 0; i < K; i++)
        m->init[i] = 1.0 / (double)K;
    m->E_fixed = 1;
    *out = m;
    return 0;
}

static void free_strings(char **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void st_mjp_free(st_mjp *m)
{
    if (!m)
        return;
    free_strings(m->labels, m->K);
    free(m->Q);
    free(m->allowed);
    free(m->fixed);
    free(m->init);
    free(m->E);
    free_strings(m->pnames, m->P);
    free(m->par);
    free(m->ppos);
    if (m->expr)
        for (size_t i = 0; i < m->K * m->K; i++)
            st_expr_free(m->expr[i]);
    free(m->expr);
    free_strings(m->cnames, m->C);
    free(m->cmean);
    free(m->beta);
    free(m->bpar);
    free(m->egam);
    free(m->egpar);
    free(m->tcut);
    free(m);
}

static char **dup_strings(char **s, size_t n, int *fail)
{
    if (!s)
        return NULL;
    char **d = calloc(n, sizeof *d);
    if (!d) {
        *fail = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(d[i] = strdup(s[i])))
            *fail = 1;
    return d;
}

int st_mjp_copy(st_mjp **dst, const st_mjp *s, st_err *e)
{
    st_mjp *m;
    int rc = st_mjp_new(&m, s->K, e);
    if (rc < 0)
        return rc;
    size_t K = s->K;
    int fail = 0;
    memcpy(m->Q, s->Q, K * K * sizeof *m->Q);
    memcpy(m->allowed, s->allowed, K * K);
    memcpy(m->fixed, s->fixed, K * K);
    memcpy(m->init, s->init, K * sizeof *m->init);
    m->init_given = s->init_given;
    m->init_estimate = s->init_estimate;
    m->labels = dup_strings(s->labels, K, &fail);
    m->M = s->M;
    m->E_fixed = s->E_fixed;
    if (s->E) {
        m->E = malloc(K * s->M * sizeof *m->E);
        if (m->E)
            memcpy(m->E, s->E, K * s->M * sizeof *m->E);
        else
            fail = 1;
    }
    m->P = s->P;
    if (s->P) {
        m->pnames = dup_strings(s->pnames, s->P, &fail);
        m->par = malloc(s->P * sizeof *m->par);
        m->ppos = malloc(s->P);
        m->expr = calloc(K * K, sizeof *m->expr);
        if (!m->par || !m->ppos || !m->expr)
            fail = 1;
        if (!fail) {
            memcpy(m->par, s->par, s->P * sizeof *m->par);
            memcpy(m->ppos, s->ppos, s->P);
            for (size_t i = 0; i < K * K && !fail; i++)
                if (s->expr[i] &&
                    st_mjp_rate_compile(&m->expr[i], st_expr_text(s->expr[i]),
                                        (const char *const *)m->pnames, m->P, NULL, e) < 0)
                    fail = 1;
        }
    }
    if (!fail && s->C) {
        size_t C = s->C, KM = K * (s->M ? s->M : 1);
        m->C = C;
        m->cnames = dup_strings(s->cnames, C, &fail);
        m->cmean = malloc(C * sizeof *m->cmean);
        m->beta = malloc(K * K * C * sizeof *m->beta);
        m->bpar = malloc(K * K * C * sizeof *m->bpar);
        if (!m->cnames || !m->cmean || !m->beta || !m->bpar)
            fail = 1;
        else {
            memcpy(m->cmean, s->cmean, C * sizeof *m->cmean);
            memcpy(m->beta, s->beta, K * K * C * sizeof *m->beta);
            memcpy(m->bpar, s->bpar, K * K * C * sizeof *m->bpar);
        }
        m->nbpar = s->nbpar;
        if (!fail && s->egam) {
            m->egam = malloc(KM * C * sizeof *m->egam);
            m->egpar = malloc(KM * C * sizeof *m->egpar);
            if (!m->egam || !m->egpar)
                fail = 1;
            else {
                memcpy(m->egam, s->egam, KM * C * sizeof *m->egam);
                memcpy(m->egpar, s->egpar, KM * C * sizeof *m->egpar);
            }
        }
        m->negpar = s->negpar;
    }
    if (!fail && s->ncut) {
        m->tcut = malloc(s->ncut * sizeof *m->tcut);
        if (!m->tcut)
            fail = 1;
        else
            memcpy(m->tcut, s->tcut, s->ncut * sizeof *m->tcut);
        m->ncut = s->ncut;
    }
    if (fail) {
        st_mjp_free(m);
        return st_err_nomem(e, "model copy");
    }
    *dst = m;
    return 0;
}

int st_mjp_check_q(const double *Q, size_t K, const char *src, st_err *e)
{
    for (size_t i = 0; i < K; i++) {
        double sum = 0, scale = 0;
        for (size_t j = 0; j < K; j++) {
            double q = Q[i * K + j];
            if (!isfinite(q))
                return st_err_set(e, ST_EDATA, src, 0, 0, "Q row %zu: rate is not finite", i);
            if (j != i && q < 0)
                return st_err_set(e, ST_EDATA, src, 0, 0,
                                  "Q row %zu: negative off-diagonal rate %g (column %zu)", i, q, j);
            sum += q;
            scale += fabs(q);
        }
        if (fabs(sum) > 1e-8 * fmax(scale, 1e-300) && fabs(sum) > 1e-12)
            return st_err_set(e, ST_EDATA, src, 0, 0, "Q row %zu sums to %g, not 0", i, sum);
    }
    return 0;
}

int st_mjp_check_emission(const double *E, size_t K, size_t M, const char *src, st_err *e)
{
    for (size_t i = 0; i < K; i++) {
        double sum = 0;
        for (size_t j = 0; j < M; j++) {
            double p = E[i * M + j];
            if (!isfinite(p) || p < 0 || p > 1)
                return st_err_set(e, ST_EDATA, src, 0, 0,
                                  "emission row %zu: entry %g (column %zu) is not in [0, 1]", i, p, j);
            sum += p;
        }
        if (fabs(sum - 1) > 1e-8)
            return st_err_set(e, ST_EDATA, src, 0, 0, "emission row %zu sums to %.10g, not 1", i, sum);
    }
    return 0;
}

int st_mjp_rate_compile(st_expr **x, const char *text, const char *const *names, size_t nnames,
                        const st_expr_src *src, st_err *e)
{
    *x = NULL;
    if (nnames > ST_MJP_MAX_PARAMS)
        return st_err_set(e, ST_EDATA, src ? src->file : NULL, 0, 0, "at most %d parameters", ST_MJP_MAX_PARAMS);
    st_expr_env env = {.par_names = names, .npar = nnames, .live = 1, .what = "rate formula"};
    return st_expr_compile(x, text, &env, src, e);
}

double st_mjp_rate_eval(const st_expr *x, const double *par, double *grad)
{
    st_expr_args a = {NULL, par, NULL};
    return grad ? st_expr_eval_grad(x, &a, grad) : st_expr_eval1(x, &a);
}

int st_mjp_update_q(st_mjp *m, st_err *e)
{
    if (!m->P || !m->expr)
        return 0;
    size_t K = m->K;
    double par[ST_MJP_MAX_PARAMS];
    for (size_t p = 0; p < m->P; p++)
        par[p] = m->par[p];
    for (size_t i = 0; i < K; i++) {
        double sum = 0;
        for (size_t j = 0; j < K; j++) {
            if (i == j)
                continue;
            double q = 0;
            if (m->expr[i * K + j]) {
                q = st_mjp_rate_eval(m->expr[i * K + j], par, NULL);
                if (!isfinite(q) || q < 0) {
                    char ex[80];
                    st_expr_excerpt(m->expr[i * K + j], ex, sizeof ex);
                    return st_err_set(e, ST_EDATA, NULL, 0, 0,
                                      "rate %zu-%zu = '%s' evaluates to %g (must be >= 0)", i, j, ex, q);
                }
            }
            m->Q[i * K + j] = q;
            sum += q;
        }
        m->Q[i * K + i] = 0.0 - sum; /* +0, not -0, for absorbing states */
    }
    return 0;
}

int st_mjp_state_index(const st_mjp *m, const char *s)
{
    if (m->labels)
        for (size_t i = 0; i < m->K; i++)
            if (strcmp(m->labels[i], s) == 0)
                return (int)i;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v >= (long)m->K)
        return -1;
    return (int)v;
}

int st_mjp_absorbing(const st_mjp *m, size_t i)
{
    for (size_t j = 0; j < m->K; j++)
        if (j != i && m->allowed[i * m->K + j])
            return 0;
    return 1;
}

/* Parse "a-b" (labels or indices - base) into i, j. */
int mjp_parse_pair(const st_mjp *m, const char *s, size_t len, int base, int *i, int *j)
{
    char buf[256];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *dash = strchr(buf, '-');
    if (!dash || dash == buf)
        return -1;
    *dash = 0;
    const char *a = buf, *b = dash + 1;
    int ia = -1, ib = -1;
    if (m->labels) {
        for (size_t k = 0; k < m->K; k++) {
            if (strcmp(m->labels[k], a) == 0)
                ia = (int)k;
            if (strcmp(m->labels[k], b) == 0)
                ib = (int)k;
        }
    }
    char *end;
    if (ia < 0) {
        long v = strtol(a, &end, 10);
        if (end == a || *end)
            return -1;
        ia = (int)(v - base);
    }
    if (ib < 0) {
        long v = strtol(b, &end, 10);
        if (end == b || *end)
            return -1;
        ib = (int)(v - base);
    }
    *i = ia;
    *j = ib;
    return 0;
}

int st_mjp_set_allowed(st_mjp *m, const char *list, int base, st_err *e)
{
    size_t K = m->K;
    memset(m->allowed, 0, K * K);
    const char *p = list;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        int i, j;
        if (mjp_parse_pair(m, p, len, base, &i, &j) < 0)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                              "--allowed: '%.*s' is not FROM-TO (e.g. 1-2)", (int)len, p);
        if (i < 0 || j < 0 || i >= (int)K || j >= (int)K || i == j)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                              "--allowed: '%.*s' is not a transition between two of the %zu states",
                              (int)len, p, K);
        m->allowed[(size_t)i * K + (size_t)j] = 1;
        p += len;
        if (*p == ',')
            p++;
    }
    for (size_t i = 0; i < K; i++) {
        double sum = 0;
        for (size_t j = 0; j < K; j++) {
            if (i == j)
                continue;
            if (!m->allowed[i * K + j])
                m->Q[i * K + j] = 0;
            sum += m->Q[i * K + j];
        }
        m->Q[i * K + i] = 0.0 - sum; /* +0, not -0, for absorbing states */
    }
    return 0;
}


/* The st_hmm object: allocation, topologies, validation, parameter counts,
 * stationary distribution. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "hmm/internal.h"

const char *st_hmm_family_name(st_hmm_family f)
{
    switch (f) {
    case ST_HMM_CATEGORICAL: return "categorical";
    case ST_HMM_POISSON: return "poisson";
    case ST_HMM_GAUSSIAN: return "gaussian";
    case ST_HMM_AR: return "ar-gaussian";
    case ST_HMM_GMM: return "gaussian-mixture";
    case ST_HMM_BERNOULLI: return "bernoulli";
    case ST_HMM_MULTINOMIAL: return "multinomial";
    case ST_HMM_GAMMA: return "gamma";
    case ST_HMM_LOGNORMAL: return "lognormal";
    case ST_HMM_REGRESSION: return "regression";
    }
    return "?";
}

const char *st_hmm_cov_name(st_hmm_cov c)
{
    switch (c) {
    case ST_HMM_COV_DIAG: return "diag";
    case ST_HMM_COV_FULL: return "full";
    case ST_HMM_COV_SPHERICAL: return "spherical";
    case ST_HMM_COV_TIED: return "tied";
    }
    return "?";
}

const st_hmm_emis_ops *st_hmm_ops(const st_hmm *m)
{
    switch (m->family) {
    case ST_HMM_CATEGORICAL: return &st_hmm_ops_categorical;
    case ST_HMM_POISSON: return &st_hmm_ops_poisson;
    case ST_HMM_GAUSSIAN: return &st_hmm_ops_gaussian;
    case ST_HMM_AR: return &st_hmm_ops_ar;
    case ST_HMM_GMM: return &st_hmm_ops_gmm;
    case ST_HMM_BERNOULLI: return &st_hmm_ops_bernoulli;
    case ST_HMM_MULTINOMIAL: return &st_hmm_ops_multinomial;
    case ST_HMM_GAMMA: return &st_hmm_ops_gamma;
    case ST_HMM_LOGNORMAL: return &st_hmm_ops_lognormal;
    case ST_HMM_REGRESSION: return &st_hmm_ops_regression;
    }
    return NULL;
}

size_t st_hmm_dy(const st_hmm *m)
{
    return m->D - m->ncov;
}

static size_t var_size(size_t K, size_t D, st_hmm_cov cov)
{
    switch (cov) {
    case ST_HMM_COV_DIAG: return K * D;
    case ST_HMM_COV_FULL: return K * D * D;
    case ST_HMM_COV_SPHERICAL: return K;
    case ST_HMM_COV_TIED: return D * D;
    }
    return 0;
}

/* Rows of mean (and of diagonal var): states, or states x components. */
static size_t nunits(const st_hmm *m)
{
    return m->family == ST_HMM_GMM ? m->K * m->ncomp : m->K;
}

size_t st_hmm_mean_len(const st_hmm *m)
{
    switch (m->family) {
    case ST_HMM_GAUSSIAN:
    case ST_HMM_AR:
    case ST_HMM_GMM:
    case ST_HMM_LOGNORMAL:
    case ST_HMM_REGRESSION: return nunits(m) * st_hmm_dy(m);
    default: return 0;
    }
}

size_t st_hmm_var_len(const st_hmm *m)
{
    size_t Dy = st_hmm_dy(m);
    switch (m->family) {
    case ST_HMM_GAUSSIAN: return var_size(m->K, m->D, m->cov);
    case ST_HMM_AR:
    case ST_HMM_GMM:
    case ST_HMM_REGRESSION: return nunits(m) * Dy * (m->cov == ST_HMM_COV_FULL ? Dy : 1);
    case ST_HMM_LOGNORMAL: return m->K * m->D;
    default: return 0;
    }
}

size_t st_hmm_ar_len(const st_hmm *m)
{
    if (m->family == ST_HMM_AR)
        return m->K * m->D * m->D * m->order;
    if (m->family == ST_HMM_REGRESSION)
        return m->K * st_hmm_dy(m) * m->ncov;
    return 0;
}

size_t st_hmm_cache_size(const st_hmm *m)
{
    size_t K = m->K, D = m->D, Dy = st_hmm_dy(m);
    switch (m->family) {
    case ST_HMM_CATEGORICAL: return m->symoff[m->D - 1] + m->K * m->nsym[m->D - 1];
    case ST_HMM_POISSON: return K * D;
    case ST_HMM_GAUSSIAN: /* full and tied keep L^-1 and L; diag also the means and precisions transposed */
        return var_size(m->K, m->D, m->cov) *
               (m->cov == ST_HMM_COV_FULL || m->cov == ST_HMM_COV_TIED ? 2 : m->cov == ST_HMM_COV_DIAG ? 3 : 1);
    case ST_HMM_AR:
    case ST_HMM_REGRESSION: /* precisions, or L^-1 and L */
        return m->cov == ST_HMM_COV_FULL ? 2 * K * Dy * Dy : K * Dy;
    case ST_HMM_GMM: /* precisions or L^-1 and L, then the log constants */
        return K * m->ncomp * (m->cov == ST_HMM_COV_FULL ? 2 * D * D + 1 : D + 1);
    case ST_HMM_BERNOULLI: return 2 * K * D; /* log p, log(1 - p) */
    case ST_HMM_MULTINOMIAL: return K * D;  /* log p */
    case ST_HMM_GAMMA: return 2 * K * D;    /* 1 / scale, -lgamma(a) - a log scale */
    case ST_HMM_LOGNORMAL: return 2 * K * D; /* precisions, -log(2 pi v) / 2 */
    }
    return 0;
}

int st_hmm_new_shape(st_hmm **out, size_t K, size_t D, const st_hmm_shape *sh, st_err *e)
{
    *out = NULL;
    st_hmm_family family = sh->family;
    if (K < 1 || D < 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a model needs at least one state and one data column");
    if (K > 65536 || D > 65536)
        return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "%zu states x %zu columns is beyond the supported size (65536)", K, D);
    if (family == ST_HMM_AR && (sh->order < 1 || sh->order > 64))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the AR order must be from 1 to 64, not %zu", sh->order);
    if (family == ST_HMM_GMM && (sh->ncomp < 1 || sh->ncomp > 256))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "mixture components must be from 1 to 256, not %zu", sh->ncomp);
    if (family == ST_HMM_REGRESSION && (sh->ncov < 1 || sh->ncov >= D))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                          "a regression needs 1 to %zu covariates among its %zu columns (at least one response), not %zu",
                          D - 1, D, sh->ncov);
    if ((family == ST_HMM_AR || family == ST_HMM_GMM || family == ST_HMM_REGRESSION) && sh->cov != ST_HMM_COV_DIAG &&
        sh->cov != ST_HMM_COV_FULL)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "%s emissions take a diag or full covariance, not %s",
                          st_hmm_family_name(family), st_hmm_cov_name(sh->cov));
    st_hmm *m = calloc(1, sizeof *m);
    if (!m)
        return st_err_nomem(e, "model");
    m->K = K;
    m->D = D;
    m->family = family;
    m->cov = family == ST_HMM_GAUSSIAN || family == ST_HMM_AR || family == ST_HMM_GMM || family == ST_HMM_REGRESSION
                 ? sh->cov
                 : ST_HMM_COV_DIAG;
    m->order = family == ST_HMM_AR ? sh->order : 0;
    m->ncomp = family == ST_HMM_GMM ? sh->ncomp : 0;
    m->ncov = family == ST_HMM_REGRESSION ? sh->ncov : 0;
    m->start = calloc(K, sizeof *m->start);
    m->trans = calloc(K * K, sizeof *m->trans);
    m->mask = malloc(K * K);
    m->lognorm = calloc(K, sizeof *m->lognorm);
    if (!m->start || !m->trans || !m->mask || !m->lognorm)
        goto nomem;
    memset(m->mask, 1, K * K);
    switch (family) {
    case ST_HMM_CATEGORICAL: {
        m->nsym = calloc(D, sizeof *m->nsym);
        m->symoff = calloc(D, sizeof *m->symoff);
        if (!m->nsym || !m->symoff)
            goto nomem;
        size_t tot = 0;
        for (size_t c = 0; c < D; c++) {
            size_t M = sh->nsym ? sh->nsym[c] : 0;
            if (M < 1 || M > 1000000) {
                st_hmm_free(m);
                return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "channel %zu needs 1 to 1000000 symbols, not %zu", c + 1, M);
            }
            m->nsym[c] = M;
            m->symoff[c] = tot;
            tot += K * M;
        }
        if (!(m->prob = calloc(tot, sizeof *m->prob)))
            goto nomem;
        break;
    }
    case ST_HMM_POISSON:
        if (!(m->rate = calloc(K * D, sizeof *m->rate)))
            goto nomem;
        break;
    case ST_HMM_BERNOULLI:
        if (!(m->bern = calloc(K * D, sizeof *m->bern)))
            goto nomem;
        break;
    case ST_HMM_MULTINOMIAL:
        if (!(m->mprob = calloc(K * D, sizeof *m->mprob)))
            goto nomem;
        break;
    case ST_HMM_GAMMA:
        m->shape = calloc(K * D, sizeof *m->shape);
        m->scale = calloc(K * D, sizeof *m->scale);
        if (!m->shape || !m->scale)
            goto nomem;
        break;
    case ST_HMM_GMM:
        if (!(m->weight = calloc(K * m->ncomp, sizeof *m->weight)))
            goto nomem;
        /* fall through */
    case ST_HMM_GAUSSIAN:
    case ST_HMM_AR:
    case ST_HMM_LOGNORMAL:
    case ST_HMM_REGRESSION:
        m->mean = calloc(st_hmm_mean_len(m), sizeof *m->mean);
        m->var = calloc(st_hmm_var_len(m), sizeof *m->var);
        if (!m->mean || !m->var)
            goto nomem;
        if (st_hmm_ar_len(m) && !(m->ar = calloc(st_hmm_ar_len(m), sizeof *m->ar)))
            goto nomem;
        break;
    default:
        st_hmm_free(m);
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "unknown emission family");
    }
    m->cache = calloc(st_hmm_cache_size(m), sizeof *m->cache);
    if (!m->cache)
        goto nomem;
    *out = m;
    return ST_OK;
nomem:
    st_hmm_free(m);
    return st_err_nomem(e, "model parameters");
}

int st_hmm_new(st_hmm **out, size_t K, size_t D, st_hmm_family family, st_hmm_cov cov, const size_t *nsym,
               st_err *e)
{
    st_hmm_shape sh = {family, cov, nsym, 1, 1, 0};
    if (family == ST_HMM_AR || family == ST_HMM_GMM)
        sh.cov = ST_HMM_COV_DIAG;
    if (family == ST_HMM_REGRESSION)
        sh.ncov = D > 1 ? D - 1 : 1;
    return st_hmm_new_shape(out, K, D, &sh, e);
}

int st_hmm_new_ar(st_hmm **out, size_t K, size_t D, size_t order, st_err *e)
{
    st_hmm_shape sh = {ST_HMM_AR, ST_HMM_COV_DIAG, NULL, order, 0, 0};
    return st_hmm_new_shape(out, K, D, &sh, e);
}

int st_hmm_new_gmm(st_hmm **out, size_t K, size_t D, size_t M, st_err *e)
{
    st_hmm_shape sh = {ST_HMM_GMM, ST_HMM_COV_DIAG, NULL, 0, M, 0};
    return st_hmm_new_shape(out, K, D, &sh, e);
}

void st_hmm_free(st_hmm *m)
{
    if (!m)
        return;
    if (m->symlabels) { /* before nsym */
        for (size_t j = 0; j < m->D; j++)
            st_hmm_set_symlabels(m, j, NULL, NULL);
        free(m->symlabels);
    }
    st_hmm_set_statelabels(m, NULL, NULL);
    free(m->start);
    free(m->trans);
    free(m->mask);
    free(m->nsym);
    free(m->symoff);
    free(m->prob);
    free(m->rate);
    free(m->mean);
    free(m->var);
    free(m->ar);
    free(m->weight);
    free(m->bern);
    free(m->mprob);
    free(m->shape);
    free(m->scale);
    free(m->cache);
    free(m->lognorm);
    st_hmm_free(m->se);
    st_hmm_free(m->boot_lo);
    st_hmm_free(m->boot_hi);
    free(m->dprob);
    free(m->dpar);
    free(m->dsurv);
    if (m->colnames) {
        for (size_t j = 0; j < m->D; j++)
            free(m->colnames[j]);
        free(m->colnames);
    }
    free(m);
}

static void free_strings(char **s, size_t n)
{
    if (s)
        for (size_t i = 0; i < n; i++)
            free(s[i]);
    free(s);
}

static int dup_strings(char ***out, const char *const *s, size_t n, st_err *e)
{
    char **d = calloc(n ? n : 1, sizeof *d);
    if (!d)
        return st_err_nomem(e, "labels");
    for (size_t i = 0; i < n; i++)
        if (!(d[i] = strdup(s[i]))) {
            free_strings(d, i);
            return st_err_nomem(e, "labels");
        }
    *out = d;
    return ST_OK;
}

int st_hmm_set_symlabels(st_hmm *m, size_t c, const char *const *labels, st_err *e)
{
    if (m->symlabels && m->symlabels[c]) {
        free_strings(m->symlabels[c], m->nsym[c]);
        m->symlabels[c] = NULL;
    }
    if (!labels)
        return ST_OK;
    if (!m->symlabels && !(m->symlabels = calloc(m->D, sizeof *m->symlabels)))
        return st_err_nomem(e, "labels");
    return dup_strings(&m->symlabels[c], labels, m->nsym[c], e);
}

int st_hmm_set_statelabels(st_hmm *m, const char *const *labels, st_err *e)
{
    free_strings(m->statelabels, m->K);
    m->statelabels = NULL;
    return labels ? dup_strings(&m->statelabels, labels, m->K, e) : ST_OK;
}

int st_hmm_set_colnames(st_hmm *m, const char *const *names, st_err *e)
{
    if (m->colnames) {
        for (size_t j = 0; j < m->D; j++)
            free(m->colnames[j]);
        free(m->colnames);
        m->colnames = NULL;
    }
    if (!names)
        return ST_OK;
    m->colnames = calloc(m->D, sizeof *m->colnames);
    if (!m->colnames)
        return st_err_nomem(e, "column names");
    for (size_t j = 0; j < m->D; j++)
        if (!(m->colnames[j] = strdup(names[j])))
            return st_err_nomem(e, "column names");
    return ST_OK;
}

#define COPY(field, n)                                                  \
    do {                                                                \
        if (m->field)                                                   \
            memcpy(c->field, m->field, (n) * sizeof *c->field);         \
    } while (0)

int st_hmm_copy(st_hmm **out, const st_hmm *m, st_err *e)
{
    st_hmm *c;
    st_hmm_shape sh = {m->family, m->cov, m->nsym, m->order, m->ncomp, m->ncov};
    int rc = st_hmm_new_shape(&c, m->K, m->D, &sh, e);
    if (rc < 0)
        return rc;
    size_t K = m->K, D = m->D;
    memcpy(c->start, m->start, K * sizeof *c->start);
    memcpy(c->trans, m->trans, K * K * sizeof *c->trans);
    memcpy(c->mask, m->mask, K * K);
    memcpy(c->lognorm, m->lognorm, K * sizeof *c->lognorm);
    memcpy(c->cache, m->cache, st_hmm_cache_size(m) * sizeof *c->cache);
    COPY(prob, st_hmm_cache_size(m));
    COPY(rate, K * D);
    COPY(weight, K * m->ncomp);
    COPY(mean, st_hmm_mean_len(m));
    COPY(var, st_hmm_var_len(m));
    COPY(ar, st_hmm_ar_len(m));
    COPY(bern, K * D);
    COPY(mprob, K * D);
    COPY(shape, K * D);
    COPY(scale, K * D);
    c->trials = m->trials;
    if (m->dur && (rc = st_hmm_set_durations(c, m->dur, m->dmax, m->dshift, e)) < 0) {
        st_hmm_free(c);
        return rc;
    }
    memcpy(c->mask, m->mask, K * K); /* set_durations cleared the diagonal only */
    COPY(dprob, K * m->dmax);
    COPY(dpar, 2 * K);
    COPY(dsurv, K * (m->dmax + 1));
    c->topology = m->topology;
    c->maxjump = m->maxjump;
    c->start_stationary = m->start_stationary;
    c->fitted = m->fitted;
    c->logl = m->logl;
    c->nobs = m->nobs;
    c->nseq = m->nseq;
    c->iterations = m->iterations;
    c->converged = m->converged;
    if (m->colnames && (rc = st_hmm_set_colnames(c, (const char *const *)m->colnames, e)) < 0) {
        st_hmm_free(c);
        return rc;
    }
    for (size_t j = 0; m->symlabels && j < D; j++)
        if (m->symlabels[j] && (rc = st_hmm_set_symlabels(c, j, (const char *const *)m->symlabels[j], e)) < 0) {
            st_hmm_free(c);
            return rc;
        }
    if (m->statelabels && (rc = st_hmm_set_statelabels(c, (const char *const *)m->statelabels, e)) < 0) {
        st_hmm_free(c);
        return rc;
    }
    *out = c;
    return ST_OK;
}

int st_hmm_set_durations(st_hmm *m, st_hmm_dur dur, size_t dmax, size_t shift, st_err *e)
{
    size_t K = m->K;
    if (dur == ST_HMM_DUR_NONE)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "no duration family given");
    if (dmax < 1 || dmax > 100000 || shift < 1 || shift > dmax)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                          "durations need 1 <= shift <= max <= 100000, not shift %zu and max %zu", shift, dmax);
    double *p = calloc(K * dmax, sizeof *p), *par = calloc(2 * K, sizeof *par),
           *S = calloc(K * (dmax + 1), sizeof *S);
    if (!p || !par || !S) {
        free(p);
        free(par);
        free(S);
        return st_err_nomem(e, "durations");
    }
    free(m->dprob);
    free(m->dpar);
    free(m->dsurv);
    m->dprob = p;
    m->dpar = par;
    m->dsurv = S;
    m->dur = dur;
    m->dmax = dmax;
    m->dshift = shift;
    m->start_stationary = 0;
    for (size_t k = 0; k < K; k++) {
        m->mask[k * K + k] = 0;
        m->trans[k * K + k] = 0;
    }
    return ST_OK;
}

int st_hmm_absorbing(const st_hmm *m, size_t k)
{
    for (size_t j = 0; j < m->K; j++)
        if (j != k && m->mask[k * m->K + j])
            return 0;
    return 1;
}

/* ------------------------------------------------------------ topology */

int st_hmm_topology_parse(const char *s, st_hmm_topology *t, int *maxjump, st_err *e)
{
    *maxjump = 0;
    if (strcmp(s, "ergodic") == 0) {
        *t = ST_HMM_ERGODIC;
    } else if (strcmp(s, "cyclic") == 0) {
        *t = ST_HMM_CYCLIC;
    } else if (strcmp(s, "linear-chain") == 0) {
        *t = ST_HMM_LINEAR_CHAIN;
    } else if (strcmp(s, "mask") == 0) {
        *t = ST_HMM_MASK;
    } else if (strncmp(s, "left-right", 10) == 0 && (s[10] == '\0' || s[10] == ':')) {
        *t = ST_HMM_LEFT_RIGHT;
        if (s[10] == ':') {
            char *end;
            long j = strtol(s + 11, &end, 10);
            if (*end || end == s + 11 || j < 1 || j > 65536)
                return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                                  "left-right:MAXJUMP needs an integer MAXJUMP >= 1, not '%s'", s + 11);
            *maxjump = (int)j;
        }
    } else {
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                          "unknown topology '%s' (ergodic, left-right[:maxjump], cyclic, linear-chain)", s);
    }
    return ST_OK;
}

void st_hmm_topology_mask(st_hmm_topology t, int maxjump, size_t K, unsigned char *mask)
{
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            int ok = 1;
            switch (t) {
            case ST_HMM_ERGODIC:
            case ST_HMM_MASK:
                ok = 1;
                break;
            case ST_HMM_LEFT_RIGHT:
                ok = j >= i && (maxjump <= 0 || j - i <= (size_t)maxjump);
                break;
            case ST_HMM_CYCLIC:
                ok = j == i || j == (i + 1) % K;
                break;
            case ST_HMM_LINEAR_CHAIN:
                ok = j == i || j + 1 == i || j == i + 1;
                break;
            }
            mask[i * K + j] = (unsigned char)ok;
        }
}

/* ------------------------------------------------------------ checks */

static int check_row(const double *p, const unsigned char *mask, size_t n, const char *what,
                     size_t row, st_err *e)
{
    double s = 0;
    for (size_t j = 0; j < n; j++) {
        if (!isfinite(p[j]) || p[j] < 0)
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "%s row %zu has a negative or non-finite entry", what, row);
        if (mask && !mask[j] && p[j] != 0)
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "%s row %zu: entry %zu is masked but not 0", what, row, j);
        s += p[j];
    }
    if (fabs(s - 1) > 1e-9)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "%s row %zu sums to %.17g, not 1", what, row, s);
    return ST_OK;
}

static int validate_durations(const st_hmm *m, st_err *e)
{
    size_t K = m->K, Dm = m->dmax;
    if (m->start_stationary)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "a model with durations has no stationary start");
    for (size_t k = 0; k < K; k++) {
        if (m->mask[k * K + k])
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "state %zu: a model with durations has no self-transitions", k);
        if (st_hmm_absorbing(m, k))
            continue;
        if (m->dur == ST_HMM_DUR_NONPAR) {
            const double *p = m->dprob + k * Dm;
            for (size_t d = 0; d + 1 < m->dshift; d++)
                if (p[d] != 0)
                    return st_err_set(e, ST_EDATA, NULL, 0, 0, "duration %zu of state %zu is below the shift %zu but not 0", d + 1,
                                      k, m->dshift);
            int rc = check_row(p, NULL, Dm, "duration", k, e);
            if (rc < 0)
                return rc;
        } else {
            const double *par = m->dpar + 2 * k;
            if (!(par[0] > 0) || !isfinite(par[0]))
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "duration %s of state %zu must be positive and finite",
                                  m->dur == ST_HMM_DUR_POISSON ? "lambda" : "size r", k);
            if (m->dur == ST_HMM_DUR_NEGBIN && !(par[1] > 0 && par[1] < 1))
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "duration probability p of state %zu must be in (0, 1)", k);
        }
    }
    return ST_OK;
}

int st_hmm_validate(st_hmm *m, st_err *e)
{
    size_t K = m->K, D = m->D;
    int rc;
    if ((rc = check_row(m->start, NULL, K, "start", 0, e)) < 0)
        return rc;
    for (size_t i = 0; i < K; i++) {
        if (m->dur && st_hmm_absorbing(m, i)) { /* an HSMM's absorbing state: a row of zeros */
            for (size_t j = 0; j < K; j++)
                if (m->trans[i * K + j] != 0)
                    return st_err_set(e, ST_EDATA, NULL, 0, 0, "transition row %zu: state %zu has no allowed exit, its row must be 0", i, i);
            continue;
        }
        if ((rc = check_row(m->trans + i * K, m->mask + i * K, K, "transition", i, e)) < 0)
            return rc;
    }
    if (m->dur && (rc = validate_durations(m, e)) < 0)
        return rc;
    switch (m->family) {
    case ST_HMM_CATEGORICAL:
        for (size_t c = 0; c < D; c++)
            for (size_t k = 0; k < K; k++) {
                char what[64];
                snprintf(what, sizeof what, "emission channel %zu", c);
                if ((rc = check_row(m->prob + m->symoff[c] + k * m->nsym[c], NULL, m->nsym[c], what, k, e)) < 0)
                    return rc;
            }
        break;
    case ST_HMM_POISSON:
        for (size_t i = 0; i < K * D; i++)
            if (!(m->rate[i] > 0) || !isfinite(m->rate[i]))
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "Poisson rate of state %zu, column %zu must be positive and finite", i / D, i % D);
        break;
    case ST_HMM_BERNOULLI:
        for (size_t i = 0; i < K * D; i++)
            if (!(m->bern[i] >= 0 && m->bern[i] <= 1))
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "Bernoulli probability of state %zu, column %zu must be in [0, 1]",
                                  i / D, i % D);
        break;
    case ST_HMM_MULTINOMIAL:
        for (size_t k = 0; k < K; k++)
            if ((rc = check_row(m->mprob + k * D, NULL, D, "multinomial probability", k, e)) < 0)
                return rc;
        if (m->trials < 0)
            return st_err_set(e, ST_EDATA, NULL, 0, 0, "the number of trials must be >= 0 (0: each row's own)");
        break;
    case ST_HMM_GAMMA:
        for (size_t i = 0; i < K * D; i++)
            if (!(m->shape[i] > 0) || !isfinite(m->shape[i]) || !(m->scale[i] > 0) || !isfinite(m->scale[i]))
                return st_err_set(e, ST_EDATA, NULL, 0, 0,
                                  "Gamma shape and scale of state %zu, column %zu must be positive and finite", i / D, i % D);
        break;
    case ST_HMM_GMM:
        for (size_t k = 0; k < K; k++)
            if ((rc = check_row(m->weight + k * m->ncomp, NULL, m->ncomp, "mixture weight", k, e)) < 0)
                return rc;
        /* fall through - means and (co)variances per component */
    case ST_HMM_AR:
    case ST_HMM_REGRESSION:
    case ST_HMM_LOGNORMAL:
    case ST_HMM_GAUSSIAN: {
        size_t nar = st_hmm_ar_len(m), nmean = st_hmm_mean_len(m), Dy = st_hmm_dy(m);
        size_t per = m->family == ST_HMM_GMM ? m->ncomp : 1; /* units per state */
        const char *unit = m->family == ST_HMM_GMM ? "a mixture component of state" : "state";
        for (size_t i = 0; i < nar; i++)
            if (!isfinite(m->ar[i]))
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "a %s coefficient of state %zu is not finite",
                                  m->family == ST_HMM_AR ? "AR" : "regression", i / (nar / K));
        for (size_t i = 0; i < nmean; i++)
            if (!isfinite(m->mean[i]))
                return st_err_set(e, ST_EDATA, NULL, 0, 0, "mean of %s %zu is not finite", unit, i / (Dy * per));
        if (m->cov == ST_HMM_COV_DIAG || m->cov == ST_HMM_COV_SPHERICAL) {
            size_t n = st_hmm_var_len(m), w = m->cov == ST_HMM_COV_DIAG ? Dy * per : 1;
            for (size_t i = 0; i < n; i++)
                if (!(m->var[i] > 0) || !isfinite(m->var[i]))
                    return st_err_set(e, ST_EDATA, NULL, 0, 0, "variance of %s %zu must be positive and finite", unit,
                                      i / w);
        } else {
            size_t nm = m->cov == ST_HMM_COV_TIED ? 1 : K * per;
            for (size_t k = 0; k < nm; k++) {
                const double *S = m->var + k * Dy * Dy;
                for (size_t i = 0; i < Dy * Dy; i++)
                    if (!isfinite(S[i]))
                        return st_err_set(e, ST_EDATA, NULL, 0, 0, "covariance of %s %zu is not finite", unit, k / per);
                if (st_mat_asymmetry(S, Dy) > 1e-9)
                    return st_err_set(e, ST_EDATA, NULL, 0, 0, "covariance of %s %zu is not symmetric", unit, k / per);
            }
        }
        break;
    }
    }
    if ((rc = st_hmm_prepare(m, e)) < 0)
        return rc;
    return ST_OK;
}

int st_hmm_prepare(st_hmm *m, st_err *e)
{
    int rc = st_hmm_ops(m)->prepare(m, e);
    if (rc == ST_OK && m->dur)
        rc = st_hmm_dur_prepare(m, e);
    return rc;
}

long st_hmm_nparams(const st_hmm *m)
{
    size_t K = m->K;
    long p = m->start_stationary ? 0 : (long)K - 1;
    for (size_t i = 0; i < K; i++) {
        long free_ = 0;
        for (size_t j = 0; j < K; j++)
            free_ += m->mask[i * K + j] != 0;
        if (free_ > 0)
            p += free_ - 1;
    }
    return p + st_hmm_ops(m)->nparams(m) + st_hmm_dur_nparams(m);
}

double st_hmm_aic(const st_hmm *m)
{
    return -2 * m->logl + 2.0 * (double)st_hmm_nparams(m);
}

double st_hmm_bic(const st_hmm *m)
{
    return -2 * m->logl + (double)st_hmm_nparams(m) * log((double)(m->nobs > 0 ? m->nobs : 1));
}

/* Stationary distribution: solve pi (A - I) = 0, sum pi = 1 by LU (the last
 * equation replaced by the normalisation); if that is singular (several
 * closed classes), average the lazy chain's powers from the uniform start. */
int st_hmm_stationary(const st_hmm *m, double *pi, st_err *e)
{
    size_t K = m->K;
    if (K == 1) {
        pi[0] = 1;
        return ST_OK;
    }
    double *M = malloc(K * K * sizeof *M);
    if (!M)
        return st_err_nomem(e, "stationary distribution");
    /* Row-major M with M[i][j] = A[j][i] - delta_ij, last row all ones. */
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            M[i * K + j] = m->trans[j * K + i] - (i == j);
    for (size_t j = 0; j < K; j++)
        M[(K - 1) * K + j] = 1;
    for (size_t i = 0; i < K; i++)
        pi[i] = i == K - 1;
    st_err tmp;
    st_err_clear(&tmp);
    int rc = st_lu_solve(M, K, pi, 1, &tmp);
    int ok = rc == ST_OK;
    double s = 0;
    for (size_t i = 0; ok && i < K; i++) {
        if (!isfinite(pi[i]) || pi[i] < -1e-9)
            ok = 0;
        pi[i] = pi[i] < 0 ? 0 : pi[i];
        s += pi[i];
    }
    if (ok && s > 0) {
        for (size_t i = 0; i < K; i++)
            pi[i] /= s;
        free(M);
        return ST_OK;
    }
    /* Fallback: lazy power iteration. */
    double *q = M;
    for (size_t i = 0; i < K; i++)
        pi[i] = 1.0 / (double)K;
    for (int it = 0; it < 100000; it++) {
        for (size_t j = 0; j < K; j++)
            q[j] = 0.5 * pi[j];
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < K; j++)
                q[j] += 0.5 * pi[i] * m->trans[i * K + j];
        double d = 0;
        for (size_t j = 0; j < K; j++) {
            d += fabs(q[j] - pi[j]);
            pi[j] = q[j];
        }
        if (d < 1e-14)
            break;
    }
    free(M);
    (void)e;
    return ST_OK;
}

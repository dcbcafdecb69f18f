/* The `model: hmm` file of stoch-model(5): read strictly, write so that
 * every double round-trips. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "hmm/internal.h"

#define ROW_TOL 1e-9

static const char *const family_names[] = {"categorical", "poisson",     "gaussian", "ar-gaussian", "gaussian-mixture",
                                           "bernoulli",   "multinomial", "gamma",    "lognormal",   "regression", NULL};
static const char *const cov_names[] = {"diag", "full", "spherical", "tied", NULL};

static void topology_text(const st_hmm *m, char *buf, size_t n)
{
    switch (m->topology) {
    case ST_HMM_ERGODIC: snprintf(buf, n, "ergodic"); break;
    case ST_HMM_CYCLIC: snprintf(buf, n, "cyclic"); break;
    case ST_HMM_LINEAR_CHAIN: snprintf(buf, n, "linear-chain"); break;
    case ST_HMM_MASK: snprintf(buf, n, "mask"); break;
    case ST_HMM_LEFT_RIGHT:
        if (m->maxjump > 0)
            snprintf(buf, n, "left-right:%d", m->maxjump);
        else
            snprintf(buf, n, "left-right");
        break;
    }
}

/* Noise of AR, GMM and regression emissions: n rows of D variances, or
 * n blocks of D x D covariances. */
static void write_noise(st_yw *w, const st_hmm *m, size_t n, size_t D)
{
    if (m->cov == ST_HMM_COV_FULL) {
        st_yw_comment(w, "covariances: %zu blocks of %zu rows", n, D);
        st_yw_key_matrix(w, "covariances", m->var, n * D, D);
    } else {
        st_yw_key_matrix(w, "variances", m->var, n, D);
    }
}

/* The durations mapping; full = 0 writes only the values (for standard
 * errors and intervals, shaped as the parameters). */
static int write_durations(st_yw *w, const st_hmm *m, int full, st_err *e)
{
    size_t K = m->K;
    st_yw_begin_map(w, "durations");
    if (full) {
        st_yw_key_string(w, "family", st_hmm_dur_name(m->dur));
        st_yw_key_long(w, "max", (long)m->dmax);
        st_yw_key_long(w, "shift", (long)m->dshift);
    }
    if (m->dur == ST_HMM_DUR_NONPAR) {
        if (full)
            st_yw_comment(w, "probabilities: one row per state, durations 1..%zu", m->dmax);
        st_yw_key_matrix(w, "probabilities", m->dprob, K, m->dmax);
    } else {
        double *a = malloc(2 * K * sizeof *a);
        if (!a)
            return st_err_nomem(e, "durations");
        for (size_t k = 0; k < K; k++) {
            a[k] = m->dpar[2 * k];
            a[K + k] = m->dpar[2 * k + 1];
        }
        if (m->dur == ST_HMM_DUR_POISSON) {
            if (full)
                st_yw_comment(w, "duration = shift + Poisson(lambda), truncated at max");
            st_yw_key_vector(w, "lambdas", a, K);
        } else {
            if (full)
                st_yw_comment(w, "duration = shift + NegBin(size, prob) failures, truncated at max");
            st_yw_key_vector(w, "sizes", a, K);
            st_yw_key_vector(w, "probs", a + K, K);
        }
        free(a);
    }
    st_yw_end(w);
    return ST_OK;
}

/* The emission mapping; full = 0: the values only. */
static void write_emission(st_yw *w, const st_hmm *m, int full)
{
    size_t K = m->K, D = m->D;
    st_yw_begin_map(w, "emission");
    if (full)
        st_yw_key_string(w, "family", st_hmm_family_name(m->family));
    switch (m->family) {
    case ST_HMM_CATEGORICAL:
        st_yw_begin_list(w, "channels");
        for (size_t c = 0; c < D; c++) {
            st_yw_item_map(w);
            if (full)
                st_yw_key_long(w, "symbols", (long)m->nsym[c]);
            if (full && m->symlabels && m->symlabels[c])
                st_yw_key_string_vector(w, "labels", (const char *const *)m->symlabels[c], m->nsym[c]);
            st_yw_key_matrix(w, "probabilities", m->prob + m->symoff[c], K, m->nsym[c]);
        }
        st_yw_end(w);
        break;
    case ST_HMM_POISSON:
        st_yw_key_matrix(w, "rates", m->rate, K, D);
        break;
    case ST_HMM_GAUSSIAN:
        if (full)
            st_yw_key_string(w, "covariance", st_hmm_cov_name(m->cov));
        st_yw_key_matrix(w, "means", m->mean, K, D);
        switch (m->cov) {
        case ST_HMM_COV_DIAG: st_yw_key_matrix(w, "variances", m->var, K, D); break;
        case ST_HMM_COV_SPHERICAL: st_yw_key_vector(w, "variances", m->var, K); break;
        case ST_HMM_COV_FULL:
            if (full)
                st_yw_comment(w, "covariances: %zu blocks of %zu rows, state 0 first", K, D);
            st_yw_key_matrix(w, "covariances", m->var, K * D, D);
            break;
        case ST_HMM_COV_TIED: st_yw_key_matrix(w, "covariance_matrix", m->var, D, D); break;
        }
        break;
    case ST_HMM_AR:
        if (full) {
            st_yw_key_long(w, "order", (long)m->order);
            if (m->cov == ST_HMM_COV_FULL)
                st_yw_key_string(w, "covariance", "full");
        }
        st_yw_key_matrix(w, "intercepts", m->mean, K, D);
        if (full) {
            st_yw_comment(w, "coefficients: %zu blocks of %zu rows (one per output column), each row lag 1 then", K, D);
            st_yw_comment(w, "lag 2 ... of the %zu input columns", D);
        }
        st_yw_key_matrix(w, "coefficients", m->ar, K * D, m->order * D);
        write_noise(w, m, K, D);
        break;
    case ST_HMM_GMM:
        if (full) {
            st_yw_key_long(w, "components", (long)m->ncomp);
            if (m->cov == ST_HMM_COV_FULL)
                st_yw_key_string(w, "covariance", "full");
        }
        st_yw_key_matrix(w, "weights", m->weight, K, m->ncomp);
        if (full)
            st_yw_comment(w, "means, %s: %zu blocks of %zu rows (the components of a state), state 0 first",
                          m->cov == ST_HMM_COV_FULL ? "covariances (blocks of D rows each)" : "variances", K, m->ncomp);
        st_yw_key_matrix(w, "means", m->mean, K * m->ncomp, D);
        write_noise(w, m, K * m->ncomp, D);
        break;
    case ST_HMM_BERNOULLI:
        if (full)
            st_yw_comment(w, "probabilities of a 1: one row per state, one column per channel");
        st_yw_key_matrix(w, "probabilities", m->bern, K, D);
        break;
    case ST_HMM_MULTINOMIAL:
        if (full && m->trials > 0)
            st_yw_key_long(w, "trials", m->trials);
        st_yw_key_matrix(w, "probabilities", m->mprob, K, D);
        break;
    case ST_HMM_GAMMA:
        st_yw_key_matrix(w, "shapes", m->shape, K, D);
        st_yw_key_matrix(w, "scales", m->scale, K, D);
        break;
    case ST_HMM_LOGNORMAL:
        if (full)
            st_yw_comment(w, "means and variances of log x");
        st_yw_key_matrix(w, "means", m->mean, K, D);
        st_yw_key_matrix(w, "variances", m->var, K, D);
        break;
    case ST_HMM_REGRESSION: {
        size_t Dy = st_hmm_dy(m);
        if (full) {
            st_yw_key_string(w, "covariance", st_hmm_cov_name(m->cov));
            st_yw_key_long(w, "covariates", (long)m->ncov);
        }
        st_yw_key_matrix(w, "intercepts", m->mean, K, Dy);
        if (full)
            st_yw_comment(w, "coefficients: %zu blocks of %zu rows (one per response), one column per covariate", K, Dy);
        st_yw_key_matrix(w, "coefficients", m->ar, K * Dy, m->ncov);
        write_noise(w, m, K, Dy);
        break;
    }
    }
    st_yw_end(w);
}

/* The values of a parameter-shaped model v (SEs, interval bounds) under key. */
static int write_values(st_yw *w, const char *key, const st_hmm *v, st_err *e)
{
    st_yw_begin_map(w, key);
    st_yw_key_vector(w, "start", v->start, v->K);
    st_yw_key_matrix(w, "transitions", v->trans, v->K, v->K);
    int rc = v->dur ? write_durations(w, v, 0, e) : ST_OK;
    if (rc < 0)
        return rc;
    write_emission(w, v, 0);
    st_yw_end(w);
    return ST_OK;
}

int st_hmm_write(const st_hmm *m, FILE *fp, st_err *e)
{
    size_t K = m->K, D = m->D;
    st_yw w;
    st_yw_init(&w, fp);
    st_yw_key_string(&w, "model", "hmm");
    st_yw_key_long(&w, "version", 1);
    st_yw_key_long(&w, "states", (long)K);
    if (m->statelabels)
        st_yw_key_string_vector(&w, "state_labels", (const char *const *)m->statelabels, K);
    if (m->colnames) {
        size_t len = 1;
        for (size_t j = 0; j < D; j++)
            len += strlen(m->colnames[j]) + 1;
        char *s = malloc(len);
        if (!s)
            return st_err_nomem(e, "column list");
        s[0] = '\0';
        for (size_t j = 0; j < D; j++) {
            if (j)
                strcat(s, ",");
            strcat(s, m->colnames[j]);
        }
        st_yw_key_string(&w, "columns", s);
        free(s);
    }
    char topo[64];
    topology_text(m, topo, sizeof topo);
    st_yw_key_string(&w, "topology", topo);
    if (m->start_stationary)
        st_yw_key_bool(&w, "start_stationary", 1);
    st_yw_key_vector(&w, "start", m->start, K);
    st_yw_key_matrix(&w, "transitions", m->trans, K, K);
    if (m->topology == ST_HMM_MASK) {
        double *mk = malloc(K * K * sizeof *mk);
        if (!mk)
            return st_err_nomem(e, "mask");
        for (size_t i = 0; i < K * K; i++)
            mk[i] = m->mask[i];
        st_yw_key_matrix(&w, "mask", mk, K, K);
        free(mk);
    }
    int rc;
    if (m->dur && (rc = write_durations(&w, m, 1, e)) < 0)
        return rc;
    write_emission(&w, m, 1);
    if (m->fitted) {
        st_yw_begin_map(&w, "fit");
        st_yw_key_double(&w, "logl", m->logl);
        st_yw_key_long(&w, "observations", m->nobs);
        st_yw_key_long(&w, "sequences", m->nseq);
        st_yw_key_long(&w, "iterations", m->iterations);
        st_yw_key_bool(&w, "converged", m->converged);
        st_yw_key_long(&w, "parameters", st_hmm_nparams(m));
        st_yw_key_double(&w, "aic", st_hmm_aic(m));
        st_yw_key_double(&w, "bic", st_hmm_bic(m));
        st_yw_end(&w);
    }
    if (m->se) {
        st_yw_comment(&w, "standard errors: observed information (numerical Hessian of the log-likelihood in");
        st_yw_comment(&w, "unconstrained parameters), delta method; 0 for a parameter that is not estimated");
        if ((rc = write_values(&w, "standard_errors", m->se, e)) < 0)
            return rc;
    }
    if (m->boot_lo && m->boot_hi) {
        st_yw_begin_map(&w, "bootstrap");
        st_yw_key_long(&w, "replicates", m->nboot);
        st_yw_key_double(&w, "level", m->boot_level);
        st_yw_comment(&w, "percentile intervals of %ld parametric bootstrap refits", m->nboot);
        if ((rc = write_values(&w, "lower", m->boot_lo, e)) < 0 || (rc = write_values(&w, "upper", m->boot_hi, e)) < 0)
            return rc;
        st_yw_end(&w);
    }
    return st_yw_finish(&w, e);
}

/* ------------------------------------------------------------ reading */

/* Re-locate an error from a helper at a YAML node (copying the message:
 * it is rewritten in place). */
static int at_node(const st_ydoc *doc, const st_ynode *n, st_err *e, int rc)
{
    char keep[sizeof e->msg];
    snprintf(keep, sizeof keep, "%s", e->msg);
    return st_ynode_error(doc, n, e, rc, "%s", keep);
}

static int rows_stochastic(const st_ydoc *doc, const st_ynode *n, const double *p, size_t rows, size_t cols,
                           st_err *e)
{
    return st_ynode_check_stochastic(doc, n, p, rows, cols, ROW_TOL, e);
}

/* The matrix `key` of em, rows x cols, entries >= lo, into dst. */
static int read_matrix(double *dst, const st_ydoc *doc, const st_ynode *em, const char *key, size_t rows, size_t cols,
                       double lo, st_err *e)
{
    const st_ynode *n;
    double *v = NULL;
    size_t r, c;
    int rc;
    if ((rc = st_ymap_require(doc, em, key, &n, e)) < 0 ||
        (rc = st_ynode_matrix(doc, n, rows, cols, lo, INFINITY, &v, &r, &c, e)) < 0)
        return rc;
    memcpy(dst, v, rows * cols * sizeof *v);
    free(v);
    return ST_OK;
}

/* variances (n x D) or, with covariance: full, covariances (n*D x D),
 * positive definiteness checked at the emission node. */
static int read_noise(st_hmm *m, const st_ydoc *doc, const st_ynode *em, size_t n, size_t D, st_err *e)
{
    int rc = m->cov == ST_HMM_COV_FULL ? read_matrix(m->var, doc, em, "covariances", n * D, D, -INFINITY, e)
                                       : read_matrix(m->var, doc, em, "variances", n, D, 1e-300, e);
    if (rc == ST_OK && m->cov == ST_HMM_COV_FULL) {
        for (size_t i = 0; i < n; i++)
            if (st_mat_asymmetry(m->var + i * D * D, D) > 1e-9)
                return st_ynode_error(doc, em, e, ST_EDATA, "covariance block %zu is not symmetric", i);
        if ((rc = st_hmm_prepare(m, e)) < 0)
            return at_node(doc, em, e, rc);
    }
    return rc;
}

/* A list of n distinct labels at node ln into labs (pointers into doc). */
static int read_labels(const st_ydoc *doc, const st_ynode *ln, size_t n, const char ***labs, st_err *e)
{
    *labs = NULL;
    if (st_ynode_kind(ln) != ST_YSEQ || st_ynode_len(ln) != n)
        return st_ynode_error(doc, ln, e, ST_EDATA, "labels must be a list of %zu strings", n);
    const char **l = calloc(n ? n : 1, sizeof *l);
    if (!l)
        return st_err_nomem(e, "labels");
    for (size_t i = 0; i < n; i++) {
        int rc = st_ynode_string(doc, st_yseq_at(ln, i), &l[i], e);
        if (rc == ST_OK && !*l[i])
            rc = st_ynode_error(doc, st_yseq_at(ln, i), e, ST_EDATA, "a label must not be empty");
        for (size_t j = 0; rc == ST_OK && j < i; j++)
            if (strcmp(l[i], l[j]) == 0)
                rc = st_ynode_error(doc, st_yseq_at(ln, i), e, ST_EDATA, "label '%s' given twice", l[i]);
        if (rc < 0) {
            free(l);
            return rc;
        }
    }
    *labs = l;
    return ST_OK;
}

/* The nb D x D blocks of v (rows of node n) symmetric, with the tolerance
 * of st_hmm_validate; the message names the line and column of the entry
 * farthest from its mirror. */
static int check_symmetric(const st_ydoc *doc, const st_ynode *n, const double *v, size_t nb, size_t D, st_err *e)
{
    for (size_t k = 0; k < nb; k++) {
        const double *S = v + k * D * D;
        if (st_mat_asymmetry(S, D) <= 1e-9)
            continue;
        size_t bi = 1, bj = 0;
        for (size_t i = 0; i < D; i++)
            for (size_t j = 0; j < i; j++)
                if (fabs(S[i * D + j] - S[j * D + i]) > fabs(S[bi * D + bj] - S[bj * D + bi]))
                    bi = i, bj = j;
        return st_ynode_error(doc, st_yseq_at(st_yseq_at(n, k * D + bi), bj), e, ST_EDATA,
                              "covariance of state %zu is not symmetric ([%zu,%zu] = %g but [%zu,%zu] = %g)", k,
                              bi + 1, bj + 1, S[bi * D + bj], bj + 1, bi + 1, S[bj * D + bi]);
    }
    return ST_OK;
}

static int read_emission(st_hmm *m, const st_ydoc *doc, const st_ynode *em, st_err *e)
{
    size_t K = m->K, D = m->D, r, c;
    const st_ynode *n;
    double *v = NULL;
    int rc;
    switch (m->family) {
    case ST_HMM_CATEGORICAL: {
        const st_ynode *ch;
        if ((rc = st_ymap_require(doc, em, "channels", &ch, e)) < 0)
            return rc;
        for (size_t j = 0; j < D; j++) {
            const st_ynode *item = st_yseq_at(ch, j), *pn;
            if ((rc = st_ymap_require(doc, item, "symbols", &n, e)) < 0 ||
                (rc = st_ymap_require(doc, item, "probabilities", &pn, e)) < 0)
                return rc;
            if ((rc = st_ynode_matrix(doc, pn, K, m->nsym[j], 0, 1, &v, &r, &c, e)) < 0)
                return rc;
            if ((rc = rows_stochastic(doc, pn, v, K, m->nsym[j], e)) < 0) {
                free(v);
                return rc;
            }
            memcpy(m->prob + m->symoff[j], v, K * m->nsym[j] * sizeof *v);
            free(v);
            const st_ynode *ln = st_ymap_get(doc, item, "labels");
            if (ln) {
                const char **labs;
                if ((rc = read_labels(doc, ln, m->nsym[j], &labs, e)) < 0)
                    return rc;
                rc = st_hmm_set_symlabels(m, j, labs, e);
                free(labs);
                if (rc < 0)
                    return rc;
            }
            if ((rc = st_ymap_check_unknown(doc, item, e)) < 0)
                return rc;
        }
        return ST_OK;
    }
    case ST_HMM_POISSON:
        if ((rc = st_ymap_require(doc, em, "rates", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K, 0, 1e-300, INFINITY, &v, &r, &c, e)) < 0)
            return rc;
        memcpy(m->rate, v, K * D * sizeof *v);
        free(v);
        return ST_OK;
    case ST_HMM_GAUSSIAN:
        if ((rc = st_ymap_require(doc, em, "means", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K, D, -INFINITY, INFINITY, &v, &r, &c, e)) < 0)
            return rc;
        memcpy(m->mean, v, K * D * sizeof *v);
        free(v);
        switch (m->cov) {
        case ST_HMM_COV_DIAG:
            if ((rc = st_ymap_require(doc, em, "variances", &n, e)) < 0 ||
                (rc = st_ynode_matrix(doc, n, K, D, 1e-300, INFINITY, &v, &r, &c, e)) < 0)
                return rc;
            memcpy(m->var, v, K * D * sizeof *v);
            break;
        case ST_HMM_COV_SPHERICAL:
            if ((rc = st_ymap_require(doc, em, "variances", &n, e)) < 0 ||
                (rc = st_ynode_vector(doc, n, K, 1e-300, INFINITY, &v, &r, e)) < 0)
                return rc;
            memcpy(m->var, v, K * sizeof *v);
            break;
        case ST_HMM_COV_FULL:
            if ((rc = st_ymap_require(doc, em, "covariances", &n, e)) < 0 ||
                (rc = st_ynode_matrix(doc, n, K * D, D, -INFINITY, INFINITY, &v, &r, &c, e)) < 0)
                return rc;
            if ((rc = check_symmetric(doc, n, v, K, D, e)) < 0) {
                free(v);
                return rc;
            }
            memcpy(m->var, v, K * D * D * sizeof *v);
            break;
        case ST_HMM_COV_TIED:
            if ((rc = st_ymap_require(doc, em, "covariance_matrix", &n, e)) < 0 ||
                (rc = st_ynode_matrix(doc, n, D, D, -INFINITY, INFINITY, &v, &r, &c, e)) < 0)
                return rc;
            if ((rc = check_symmetric(doc, n, v, 1, D, e)) < 0) {
                free(v);
                return rc;
            }
            memcpy(m->var, v, D * D * sizeof *v);
            break;
        }
        free(v);
        /* Positive definiteness, located at the emission node. */
        if ((rc = st_hmm_prepare(m, e)) < 0)
            return at_node(doc, em, e, rc);
        return ST_OK;
    case ST_HMM_GMM: {
        size_t M = m->ncomp;
        if ((rc = st_ymap_require(doc, em, "weights", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K, M, 0, 1, &v, &r, &c, e)) < 0)
            return rc;
        if ((rc = rows_stochastic(doc, n, v, K, M, e)) < 0) {
            free(v);
            return rc;
        }
        memcpy(m->weight, v, K * M * sizeof *v);
        free(v);
        if ((rc = read_matrix(m->mean, doc, em, "means", K * M, D, -INFINITY, e)) < 0 ||
            (rc = read_noise(m, doc, em, K * M, D, e)) < 0)
            return rc;
        return ST_OK;
    }
    case ST_HMM_AR:
        if ((rc = read_matrix(m->mean, doc, em, "intercepts", K, D, -INFINITY, e)) < 0 ||
            (rc = read_matrix(m->ar, doc, em, "coefficients", K * D, m->order * D, -INFINITY, e)) < 0 ||
            (rc = read_noise(m, doc, em, K, D, e)) < 0)
            return rc;
        return ST_OK;
    case ST_HMM_REGRESSION: {
        size_t Dy = st_hmm_dy(m);
        if ((rc = read_matrix(m->mean, doc, em, "intercepts", K, Dy, -INFINITY, e)) < 0 ||
            (rc = read_matrix(m->ar, doc, em, "coefficients", K * Dy, m->ncov, -INFINITY, e)) < 0 ||
            (rc = read_noise(m, doc, em, K, Dy, e)) < 0)
            return rc;
        return ST_OK;
    }
    case ST_HMM_BERNOULLI:
        if ((rc = st_ymap_require(doc, em, "probabilities", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K, D, 0, 1, &v, &r, &c, e)) < 0)
            return rc;
        memcpy(m->bern, v, K * D * sizeof *v);
        free(v);
        return ST_OK;
    case ST_HMM_MULTINOMIAL: {
        const st_ynode *tn = st_ymap_get(doc, em, "trials");
        if (tn && (rc = st_ynode_long(doc, tn, 0, 1000000000000000L, &m->trials, e)) < 0)
            return rc;
        if ((rc = st_ymap_require(doc, em, "probabilities", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K, D, 0, 1, &v, &r, &c, e)) < 0)
            return rc;
        if ((rc = rows_stochastic(doc, n, v, K, D, e)) < 0) {
            free(v);
            return rc;
        }
        memcpy(m->mprob, v, K * D * sizeof *v);
        free(v);
        return ST_OK;
    }
    case ST_HMM_GAMMA:
        if ((rc = read_matrix(m->shape, doc, em, "shapes", K, D, 1e-300, e)) < 0 ||
            (rc = read_matrix(m->scale, doc, em, "scales", K, D, 1e-300, e)) < 0)
            return rc;
        return ST_OK;
    case ST_HMM_LOGNORMAL:
        if ((rc = read_matrix(m->mean, doc, em, "means", K, D, -INFINITY, e)) < 0 ||
            (rc = read_matrix(m->var, doc, em, "variances", K, D, 1e-300, e)) < 0)
            return rc;
        return ST_OK;
    }
    return ST_OK;
}

static const char *const dur_names[] = {"none", "nonparametric", "poisson", "negbin", NULL};

/* The durations mapping: family, max, shift and the family's parameters
 * (the mask's diagonal is cleared: transitions are read after this). */
static int read_durations(st_hmm *m, const st_ydoc *doc, const st_ynode *dn, st_err *e)
{
    const st_ynode *n;
    int fi, rc;
    long dmax, shift = 1;
    size_t K = m->K, r, c;
    double *v = NULL;
    if (st_ynode_kind(dn) != ST_YMAP)
        return st_ynode_error(doc, dn, e, ST_EDATA, "durations must be a mapping");
    if ((rc = st_ymap_require(doc, dn, "family", &n, e)) < 0 || (rc = st_ynode_enum(doc, n, dur_names, &fi, e)) < 0)
        return rc;
    if (fi == ST_HMM_DUR_NONE)
        return st_ynode_error(doc, n, e, ST_EDATA, "durations family must be nonparametric, poisson or negbin");
    if ((rc = st_ymap_require(doc, dn, "max", &n, e)) < 0 || (rc = st_ynode_long(doc, n, 1, 100000, &dmax, e)) < 0)
        return rc;
    if ((n = st_ymap_get(doc, dn, "shift")) && (rc = st_ynode_long(doc, n, 1, dmax, &shift, e)) < 0)
        return rc;
    if ((rc = st_hmm_set_durations(m, (st_hmm_dur)fi, (size_t)dmax, (size_t)shift, e)) < 0)
        return at_node(doc, dn, e, rc);
    switch (m->dur) {
    case ST_HMM_DUR_NONPAR:
        if ((rc = st_ymap_require(doc, dn, "probabilities", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K, (size_t)dmax, 0, 1, &v, &r, &c, e)) < 0)
            return rc;
        for (size_t k = 0; k < K && rc == ST_OK; k++) { /* an absorbing state's row is not used */
            if (st_hmm_absorbing(m, k))
                continue;
            rc = st_ynode_check_stochastic(doc, st_yseq_at(n, k), v + k * (size_t)dmax, 1, (size_t)dmax, ROW_TOL, e);
            for (size_t d = 0; rc == ST_OK && d + 1 < (size_t)shift; d++)
                if (v[k * (size_t)dmax + d] != 0)
                    rc = st_ynode_error(doc, st_yseq_at(n, k), e, ST_EDATA,
                                        "duration %zu of state %zu is below the shift %ld but not 0", d + 1, k, shift);
        }
        if (rc == ST_OK)
            memcpy(m->dprob, v, K * (size_t)dmax * sizeof *v);
        free(v);
        break;
    case ST_HMM_DUR_POISSON:
        if ((rc = st_ymap_require(doc, dn, "lambdas", &n, e)) < 0 ||
            (rc = st_ynode_vector(doc, n, K, 1e-300, INFINITY, &v, &r, e)) < 0)
            return rc;
        for (size_t k = 0; k < K; k++)
            m->dpar[2 * k] = v[k];
        free(v);
        break;
    case ST_HMM_DUR_NEGBIN:
        if ((rc = st_ymap_require(doc, dn, "sizes", &n, e)) < 0 ||
            (rc = st_ynode_vector(doc, n, K, 1e-300, INFINITY, &v, &r, e)) < 0)
            return rc;
        for (size_t k = 0; k < K; k++)
            m->dpar[2 * k] = v[k];
        free(v);
        if ((rc = st_ymap_require(doc, dn, "probs", &n, e)) < 0 ||
            (rc = st_ynode_vector(doc, n, K, 1e-300, 1 - 1e-16, &v, &r, e)) < 0)
            return rc;
        for (size_t k = 0; k < K; k++)
            m->dpar[2 * k + 1] = v[k];
        free(v);
        break;
    case ST_HMM_DUR_NONE:
        break;
    }
    if (rc < 0)
        return rc;
    return st_ymap_check_unknown(doc, dn, e);
}

int st_hmm_read_doc(st_hmm **out, const st_ydoc *doc, const st_ynode *root, st_err *e)
{
    *out = NULL;
    int rc;
    const st_ynode *n, *em, *fam, *tn;
    long K;
    if ((rc = st_ymodel_header(doc, "hmm", e)) < 0)
        return rc;
    if ((rc = st_ymap_require(doc, root, "states", &n, e)) < 0 ||
        (rc = st_ynode_long(doc, n, 1, 65536, &K, e)) < 0)
        return rc;
    if ((rc = st_ymap_require(doc, root, "emission", &em, e)) < 0 ||
        (rc = st_ymap_require(doc, em, "family", &fam, e)) < 0)
        return rc;
    int fi, ci = 0;
    if ((rc = st_ynode_enum(doc, fam, family_names, &fi, e)) < 0)
        return rc;
    if (fi == ST_HMM_GAUSSIAN || fi == ST_HMM_REGRESSION) {
        const st_ynode *cn;
        if ((rc = st_ymap_require(doc, em, "covariance", &cn, e)) < 0 ||
            (rc = st_ynode_enum(doc, cn, cov_names, &ci, e)) < 0)
            return rc;
    } else if (fi == ST_HMM_AR || fi == ST_HMM_GMM) { /* optional, diag by default */
        const st_ynode *cn = st_ymap_get(doc, em, "covariance");
        if (cn && (rc = st_ynode_enum(doc, cn, cov_names, &ci, e)) < 0)
            return rc;
    }
    if ((fi == ST_HMM_AR || fi == ST_HMM_GMM || fi == ST_HMM_REGRESSION) && ci != ST_HMM_COV_DIAG &&
        ci != ST_HMM_COV_FULL)
        return st_ynode_error(doc, st_ymap_get(doc, em, "covariance"), e, ST_EDATA,
                              "%s emissions take covariance diag or full", family_names[fi]);
    /* Dimension D from the emission parameters. */
    size_t D = 0, *nsym = NULL;
    if (fi == ST_HMM_CATEGORICAL) {
        const st_ynode *ch;
        if ((rc = st_ymap_require(doc, em, "channels", &ch, e)) < 0)
            return rc;
        if (st_ynode_kind(ch) != ST_YSEQ || st_ynode_len(ch) == 0)
            return st_ynode_error(doc, ch, e, ST_EDATA, "channels must be a non-empty list");
        D = st_ynode_len(ch);
        if (!(nsym = calloc(D, sizeof *nsym)))
            return st_err_nomem(e, "model");
        for (size_t j = 0; j < D; j++) {
            const st_ynode *item = st_yseq_at(ch, j), *sn;
            long M;
            if (st_ynode_kind(item) != ST_YMAP) {
                free(nsym);
                return st_ynode_error(doc, item, e, ST_EDATA, "each channel must be a mapping");
            }
            if ((rc = st_ymap_require(doc, item, "symbols", &sn, e)) < 0 ||
                (rc = st_ynode_long(doc, sn, 1, 1000000, &M, e)) < 0) {
                free(nsym);
                return rc;
            }
            nsym[j] = (size_t)M;
        }
    } else {
        const char *key = fi == ST_HMM_POISSON                                    ? "rates"
                          : fi == ST_HMM_AR || fi == ST_HMM_REGRESSION            ? "intercepts"
                          : fi == ST_HMM_BERNOULLI || fi == ST_HMM_MULTINOMIAL ? "probabilities"
                          : fi == ST_HMM_GAMMA                                    ? "shapes"
                                                                                  : "means";
        const st_ynode *pn = st_ymap_get(doc, em, key);
        if (!pn)
            return st_ynode_error(doc, em, e, ST_EDATA, "missing key '%s'", key);
        const st_ynode *row0 = st_ynode_kind(pn) == ST_YSEQ && st_ynode_len(pn) > 0 ? st_yseq_at(pn, 0) : NULL;
        if (!row0 || st_ynode_kind(row0) != ST_YSEQ || st_ynode_len(row0) == 0)
            return st_ynode_error(doc, pn, e, ST_EDATA, "expected a %ld x D matrix", K);
        D = st_ynode_len(row0);
    }
    long order = 1, ncomp = 1;
    if (fi == ST_HMM_AR) {
        const st_ynode *on;
        if ((rc = st_ymap_require(doc, em, "order", &on, e)) < 0 || (rc = st_ynode_long(doc, on, 1, 64, &order, e)) < 0)
            return rc;
    }
    if (fi == ST_HMM_GMM) {
        const st_ynode *on;
        if ((rc = st_ymap_require(doc, em, "components", &on, e)) < 0 ||
            (rc = st_ynode_long(doc, on, 1, 256, &ncomp, e)) < 0)
            return rc;
    }
    long ncov = 0;
    if (fi == ST_HMM_REGRESSION) {
        const st_ynode *on;
        if ((rc = st_ymap_require(doc, em, "covariates", &on, e)) < 0 ||
            (rc = st_ynode_long(doc, on, 1, 65535, &ncov, e)) < 0)
            return rc;
        D += (size_t)ncov; /* the intercepts give the responses */
    }
    st_hmm *m;
    st_hmm_shape shp = {(st_hmm_family)fi, (st_hmm_cov)ci, nsym, (size_t)order, (size_t)ncomp, (size_t)ncov};
    rc = st_hmm_new_shape(&m, (size_t)K, D, &shp, e);
    if (rc < 0) {
        free(nsym);
        return rc;
    }
    free(nsym);
    double *v = NULL;
    size_t r, c;
    /* topology and mask */
    if ((tn = st_ymap_get(doc, root, "topology"))) {
        const char *s;
        if ((rc = st_ynode_string(doc, tn, &s, e)) < 0)
            goto fail;
        if ((rc = st_hmm_topology_parse(s, &m->topology, &m->maxjump, e)) < 0) {
            rc = at_node(doc, tn, e, ST_EDATA);
            goto fail;
        }
    }
    const st_ynode *mn = st_ymap_get(doc, root, "mask");
    if (mn) {
        if ((rc = st_ynode_matrix(doc, mn, (size_t)K, (size_t)K, 0, 1, &v, &r, &c, e)) < 0)
            goto fail;
        for (size_t i = 0; i < (size_t)(K * K); i++) {
            if (v[i] != 0 && v[i] != 1) {
                free(v);
                rc = st_ynode_error(doc, mn, e, ST_EDATA, "mask entries must be 0 or 1");
                goto fail;
            }
            m->mask[i] = v[i] == 1;
        }
        free(v);
        m->topology = ST_HMM_MASK;
    } else if (m->topology == ST_HMM_MASK) {
        rc = st_ynode_error(doc, tn, e, ST_EDATA, "topology 'mask' needs a mask matrix");
        goto fail;
    } else {
        st_hmm_topology_mask(m->topology, m->maxjump, (size_t)K, m->mask);
    }
    const st_ynode *dn = st_ymap_get(doc, root, "durations");
    if (dn && (rc = read_durations(m, doc, dn, e)) < 0)
        goto fail;
    const st_ynode *sln = st_ymap_get(doc, root, "state_labels");
    if (sln) {
        const char **labs;
        if ((rc = read_labels(doc, sln, (size_t)K, &labs, e)) < 0)
            goto fail;
        rc = st_hmm_set_statelabels(m, labs, e);
        free(labs);
        if (rc < 0)
            goto fail;
    }
    const st_ynode *sn = st_ymap_get(doc, root, "start_stationary");
    if (sn && (rc = st_ynode_bool(doc, sn, &m->start_stationary, e)) < 0)
        goto fail;
    if ((rc = st_ymap_require(doc, root, "start", &n, e)) < 0 ||
        (rc = st_ynode_vector(doc, n, (size_t)K, 0, 1, &v, &r, e)) < 0)
        goto fail;
    memcpy(m->start, v, (size_t)K * sizeof *v);
    rc = rows_stochastic(doc, n, v, 1, (size_t)K, e);
    free(v);
    if (rc < 0)
        goto fail;
    if ((rc = st_ymap_require(doc, root, "transitions", &n, e)) < 0 ||
        (rc = st_ynode_matrix(doc, n, (size_t)K, (size_t)K, 0, 1, &v, &r, &c, e)) < 0)
        goto fail;
    memcpy(m->trans, v, (size_t)(K * K) * sizeof *v);
    if (m->dur) /* an absorbing state's row is all 0: checked against the mask below */
        for (size_t i = 0; i < (size_t)K; i++)
            if (st_hmm_absorbing(m, i))
                v[i * (size_t)K + i] = 1;
    rc = rows_stochastic(doc, n, v, (size_t)K, (size_t)K, e);
    free(v);
    if (rc < 0)
        goto fail;
    for (size_t i = 0; i < (size_t)K; i++)
        for (size_t j = 0; j < (size_t)K; j++)
            if (!m->mask[i * (size_t)K + j] && m->trans[i * (size_t)K + j] != 0) {
                if (m->dur && i == j)
                    rc = st_ynode_error(doc, n, e, ST_EDATA,
                                        "transition %zu -> %zu is %.17g: a model with durations has no self-transitions",
                                        i, j, m->trans[i * (size_t)K + j]);
                else
                    rc = st_ynode_error(doc, n, e, ST_EDATA,
                                        "transition %zu -> %zu is %.17g but the topology forbids it", i, j,
                                        m->trans[i * (size_t)K + j]);
                goto fail;
            }
    const st_ynode *cn = st_ymap_get(doc, root, "columns");
    if (cn) {
        const char *s;
        if ((rc = st_ynode_string(doc, cn, &s, e)) < 0)
            goto fail;
        char *copy = strdup(s), *save = NULL;
        char **names = calloc(D, sizeof *names);
        size_t j = 0;
        if (!copy || !names) {
            free(copy);
            free(names);
            rc = st_err_nomem(e, "columns");
            goto fail;
        }
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (j < D)
                names[j] = tok;
            j++;
        }
        if (j != D) {
            free(copy);
            free(names);
            rc = st_ynode_error(doc, cn, e, ST_EDATA, "columns names %zu columns, the emission has %zu", j, D);
            goto fail;
        }
        rc = st_hmm_set_colnames(m, (const char *const *)names, e);
        free(copy);
        free(names);
        if (rc < 0)
            goto fail;
    }
    if ((rc = read_emission(m, doc, em, e)) < 0 || (rc = st_ymap_check_unknown(doc, em, e)) < 0)
        goto fail;
    const st_ynode *fn = st_ymap_get(doc, root, "fit");
    if (fn) {
        const st_ynode *x;
        long l;
        double dv;
        m->fitted = 1;
        if ((x = st_ymap_get(doc, fn, "logl")) && (rc = st_ynode_double(doc, x, -INFINITY, INFINITY, &m->logl, e)) < 0)
            goto fail;
        if ((x = st_ymap_get(doc, fn, "observations")) && (rc = st_ynode_long(doc, x, 0, LONG_MAX, &m->nobs, e)) < 0)
            goto fail;
        if ((x = st_ymap_get(doc, fn, "sequences")) && (rc = st_ynode_long(doc, x, 0, LONG_MAX, &m->nseq, e)) < 0)
            goto fail;
        if ((x = st_ymap_get(doc, fn, "iterations")) && (rc = st_ynode_long(doc, x, 0, LONG_MAX, &m->iterations, e)) < 0)
            goto fail;
        if ((x = st_ymap_get(doc, fn, "converged")) && (rc = st_ynode_bool(doc, x, &m->converged, e)) < 0)
            goto fail;
        if ((x = st_ymap_get(doc, fn, "parameters")) && (rc = st_ynode_long(doc, x, 0, LONG_MAX, &l, e)) < 0)
            goto fail;
        if ((x = st_ymap_get(doc, fn, "aic")) && (rc = st_ynode_double(doc, x, -INFINITY, INFINITY, &dv, e)) < 0)
            goto fail;
        if ((x = st_ymap_get(doc, fn, "bic")) && (rc = st_ynode_double(doc, x, -INFINITY, INFINITY, &dv, e)) < 0)
            goto fail;
        if ((rc = st_ymap_check_unknown(doc, fn, e)) < 0)
            goto fail;
    }
    /* what a fit reported about its estimates: read past */
    (void)st_ymap_get(doc, root, "standard_errors");
    (void)st_ymap_get(doc, root, "bootstrap");
    if ((rc = st_ymap_check_unknown(doc, root, e)) < 0)
        goto fail;
    if ((rc = st_hmm_validate(m, e)) < 0)
        goto fail;
    *out = m;
    return ST_OK;
fail:
    st_hmm_free(m);
    return rc;
}

int st_hmm_read(st_hmm **m, const char *path, st_err *e)
{
    st_ydoc *doc;
    int rc = st_ydoc_load(&doc, path, e);
    if (rc < 0)
        return rc;
    rc = st_hmm_read_doc(m, doc, st_ydoc_root(doc), e);
    if (rc < 0 && e->file[0] == '\0') {
        char keep[sizeof e->msg];
        snprintf(keep, sizeof keep, "%s", e->msg);
        st_err_set(e, rc, st_display_name(path), 0, 0, "%s", keep);
    }
    st_ydoc_free(doc);
    return rc;
}

/* --mask FILE: a YAML mapping with one key 'mask', a K x K 0/1 matrix. */
int st_hmm_read_mask(const char *path, size_t K, unsigned char **mask, st_err *e)
{
    st_ydoc *doc;
    int rc = st_ydoc_load(&doc, path, e);
    if (rc < 0)
        return rc;
    const st_ynode *root = st_ydoc_root(doc), *n;
    double *v = NULL;
    size_t r, c;
    if (st_ynode_kind(root) != ST_YMAP) {
        rc = st_ynode_error(doc, root, e, ST_EDATA, "a mask file is a mapping with the key 'mask'");
        goto out;
    }
    if ((rc = st_ymap_require(doc, root, "mask", &n, e)) < 0 ||
        (rc = st_ynode_matrix(doc, n, K, K, 0, 1, &v, &r, &c, e)) < 0 || (rc = st_ymap_check_unknown(doc, root, e)) < 0)
        goto out;
    if (!(*mask = malloc(K * K))) {
        rc = st_err_nomem(e, "mask");
        goto out;
    }
    for (size_t i = 0; i < K * K; i++) {
        if (v[i] != 0 && v[i] != 1) {
            rc = st_ynode_error(doc, n, e, ST_EDATA, "mask entries must be 0 or 1");
            free(*mask);
            *mask = NULL;
            goto out;
        }
        (*mask)[i] = v[i] == 1;
    }
out:
    free(v);
    st_ydoc_free(doc);
    return rc;
}

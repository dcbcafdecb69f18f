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

static const char *const family_names[] = {"categorical", "poisson", "gaussian", "ar-gaussian", "gaussian-mixture", NULL};
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

int st_hmm_write(const st_hmm *m, FILE *fp, st_err *e)
{
    size_t K = m->K, D = m->D;
    st_yw w;
    st_yw_init(&w, fp);
    st_yw_key_string(&w, "model", "hmm");
    st_yw_key_long(&w, "version", 1);
    st_yw_key_long(&w, "states", (long)K);
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
    st_yw_begin_map(&w, "emission");
    st_yw_key_string(&w, "family", st_hmm_family_name(m->family));
    switch (m->family) {
    case ST_HMM_CATEGORICAL:
        st_yw_begin_list(&w, "channels");
        for (size_t c = 0; c < D; c++) {
            st_yw_item_map(&w);
            st_yw_key_long(&w, "symbols", (long)m->nsym[c]);
            st_yw_key_matrix(&w, "probabilities", m->prob + m->symoff[c], K, m->nsym[c]);
        }
        st_yw_end(&w);
        break;
    case ST_HMM_POISSON:
        st_yw_key_matrix(&w, "rates", m->rate, K, D);
        break;
    case ST_HMM_GAUSSIAN:
        st_yw_key_string(&w, "covariance", st_hmm_cov_name(m->cov));
        st_yw_key_matrix(&w, "means", m->mean, K, D);
        switch (m->cov) {
        case ST_HMM_COV_DIAG: st_yw_key_matrix(&w, "variances", m->var, K, D); break;
        case ST_HMM_COV_SPHERICAL: st_yw_key_vector(&w, "variances", m->var, K); break;
        case ST_HMM_COV_FULL:
            st_yw_comment(&w, "covariances: %zu blocks of %zu rows, state 0 first", K, D);
            st_yw_key_matrix(&w, "covariances", m->var, K * D, D);
            break;
        case ST_HMM_COV_TIED: st_yw_key_matrix(&w, "covariance_matrix", m->var, D, D); break;
        }
        break;
    case ST_HMM_AR:
        st_yw_key_long(&w, "order", (long)m->order);
        st_yw_key_matrix(&w, "intercepts", m->mean, K, D);
        st_yw_comment(&w, "coefficients: %zu blocks of %zu rows (one per output column), each row lag 1 then", K, D);
        st_yw_comment(&w, "lag 2 ... of the %zu input columns", D);
        st_yw_key_matrix(&w, "coefficients", m->ar, K * D, m->order * D);
        st_yw_key_matrix(&w, "variances", m->var, K, D);
        break;
    case ST_HMM_GMM:
        st_yw_key_long(&w, "components", (long)m->ncomp);
        st_yw_key_matrix(&w, "weights", m->weight, K, m->ncomp);
        st_yw_comment(&w, "means, variances: %zu blocks of %zu rows (the components of a state), state 0 first", K,
                      m->ncomp);
        st_yw_key_matrix(&w, "means", m->mean, K * m->ncomp, D);
        st_yw_key_matrix(&w, "variances", m->var, K * m->ncomp, D);
        break;
    }
    st_yw_end(&w);
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
                (rc = st_ynode_matrix(doc, n, K * D, D, -INFINITY, INFINITY, &v, &r, &c, e)) < 0 ||
                (rc = check_symmetric(doc, n, v, K, D, e)) < 0) {
                free(v);
                return rc;
            }
            memcpy(m->var, v, K * D * D * sizeof *v);
            break;
        case ST_HMM_COV_TIED:
            if ((rc = st_ymap_require(doc, em, "covariance_matrix", &n, e)) < 0 ||
                (rc = st_ynode_matrix(doc, n, D, D, -INFINITY, INFINITY, &v, &r, &c, e)) < 0 ||
                (rc = check_symmetric(doc, n, v, 1, D, e)) < 0) {
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
        if ((rc = st_ymap_require(doc, em, "means", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K * M, D, -INFINITY, INFINITY, &v, &r, &c, e)) < 0)
            return rc;
        memcpy(m->mean, v, K * M * D * sizeof *v);
        free(v);
        if ((rc = st_ymap_require(doc, em, "variances", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K * M, D, 1e-300, INFINITY, &v, &r, &c, e)) < 0)
            return rc;
        memcpy(m->var, v, K * M * D * sizeof *v);
        free(v);
        return ST_OK;
    }
    case ST_HMM_AR:
        if ((rc = st_ymap_require(doc, em, "intercepts", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K, D, -INFINITY, INFINITY, &v, &r, &c, e)) < 0)
            return rc;
        memcpy(m->mean, v, K * D * sizeof *v);
        free(v);
        if ((rc = st_ymap_require(doc, em, "coefficients", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K * D, m->order * D, -INFINITY, INFINITY, &v, &r, &c, e)) < 0)
            return rc;
        memcpy(m->ar, v, K * D * m->order * D * sizeof *v);
        free(v);
        if ((rc = st_ymap_require(doc, em, "variances", &n, e)) < 0 ||
            (rc = st_ynode_matrix(doc, n, K, D, 1e-300, INFINITY, &v, &r, &c, e)) < 0)
            return rc;
        memcpy(m->var, v, K * D * sizeof *v);
        free(v);
        return ST_OK;
    }
    return ST_OK;
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
    if (fi == ST_HMM_GAUSSIAN) {
        const st_ynode *cn;
        if ((rc = st_ymap_require(doc, em, "covariance", &cn, e)) < 0 ||
            (rc = st_ynode_enum(doc, cn, cov_names, &ci, e)) < 0)
            return rc;
    }
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
        const char *key = fi == ST_HMM_POISSON ? "rates" : fi == ST_HMM_AR ? "intercepts" : "means";
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
    st_hmm *m;
    rc = fi == ST_HMM_AR    ? st_hmm_new_ar(&m, (size_t)K, D, (size_t)order, e)
         : fi == ST_HMM_GMM ? st_hmm_new_gmm(&m, (size_t)K, D, (size_t)ncomp, e)
                            : st_hmm_new(&m, (size_t)K, D, (st_hmm_family)fi, (st_hmm_cov)ci, nsym, e);
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
    rc = rows_stochastic(doc, n, v, (size_t)K, (size_t)K, e);
    free(v);
    if (rc < 0)
        goto fail;
    for (size_t i = 0; i < (size_t)K; i++)
        for (size_t j = 0; j < (size_t)K; j++)
            if (!m->mask[i * (size_t)K + j] && m->trans[i * (size_t)K + j] != 0) {
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

/* mjp model files (stoch-model(5), `model: mjp`): the strict reader and
 * the writer of models and fits. */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/yaml.h"
#include "mjp/internal.h"

/* ------------------------------------------------------------ YAML read */

static int read_mask(const st_ydoc *doc, const st_ynode *n, size_t K, unsigned char *mask, st_err *e)
{
    double *v = NULL;
    size_t r, c;
    int rc = st_ynode_matrix(doc, n, K, K, 0, 1, &v, &r, &c, e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < K * K; i++) {
        if (v[i] != 0 && v[i] != 1) {
            free(v);
            return st_ynode_error(doc, n, e, ST_EDATA, "mask entries must be 0 or 1");
        }
        mask[i] = v[i] == 1 && (i / K != i % K);
    }
    free(v);
    return 0;
}

static int read_emission_node(st_mjp *m, const st_ydoc *doc, const st_ynode *em, st_err *e)
{
    const st_ynode *mat;
    int rc;
    if (st_ynode_kind(em) != ST_YMAP)
        return st_ynode_error(doc, em, e, ST_EDATA, "emission must be a mapping with 'matrix'");
    if ((rc = st_ymap_require(doc, em, "matrix", &mat, e)) < 0)
        return rc;
    double *E = NULL;
    size_t r, c;
    if ((rc = st_ynode_matrix(doc, mat, m->K, 0, -INFINITY, INFINITY, &E, &r, &c, e)) < 0)
        return rc;
    if ((rc = st_mjp_check_emission(E, m->K, c, NULL, e)) < 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", e->msg);
        free(E);
        return st_ynode_error(doc, mat, e, ST_EDATA, "%s", msg);
    }
    const st_ynode *fx = st_ymap_get(doc, em, "fixed");
    int fixed = 1;
    if (fx && (rc = st_ynode_bool(doc, fx, &fixed, e)) < 0) {
        free(E);
        return rc;
    }
    if ((rc = st_ymap_check_unknown(doc, em, e)) < 0) {
        free(E);
        return rc;
    }
    free(m->E);
    m->E = E;
    m->M = c;
    m->E_fixed = fixed;
    return 0;
}


/* Effects of one covariate: a mapping FROM-TO: value (0-based states or
 * labels) on the rates (misc 0) or the misclassification probabilities. */
static int read_effects(st_mjp *m, const st_ydoc *doc, const st_ynode *map, size_t c, int misc, st_err *e)
{
    size_t K = m->K;
    if (st_ynode_kind(map) != ST_YMAP)
        return st_ynode_error(doc, map, e, ST_EDATA, "effects must be a mapping FROM-TO: value");
    for (size_t r = 0; r < st_ynode_len(map); r++) {
        const char *key = st_ymap_key_at(map, r);
        const st_ynode *val = st_ymap_value_at(map, r);
        int i, j, rc;
        if (mjp_parse_pair(m, key, strlen(key), 0, &i, &j) < 0 || i < 0 || j < 0 || i >= (int)K ||
            j >= (int)K || i == j)
            return st_ynode_error(doc, val, e, ST_EDATA, "'%s' is not FROM-TO for two different states", key);
        size_t ab = (size_t)i * (misc ? m->M : K) + (size_t)j;
        if (misc ? !(m->E[ab] > 0) : !m->allowed[ab])
            return st_ynode_error(doc, val, e, ST_EDATA, "%s %s is not %s", misc ? "misclassification" : "transition",
                                  key, misc ? "possible (its emission probability is 0)" : "allowed");
        double x;
        if ((rc = st_ynode_double(doc, val, -INFINITY, INFINITY, &x, e)) < 0)
            return rc;
        int *par = misc ? m->egpar : m->bpar;
        if (par[ab * m->C + c] >= 0)
            return st_ynode_error(doc, val, e, ST_EDATA, "effect on %s given twice", key);
        mjp_effect_new(m, ab, c, misc);
        (misc ? m->egam : m->beta)[ab * m->C + c] = x;
    }
    return 0;
}

/* covariates: {names: [...], centre: {name: value}, rates: {name: {FROM-TO:
 * log hazard ratio}}, shared: {name: [labels]}, misclassification: {name:
 * {FROM-TO: log odds ratio}}}; timecuts: [t1, t2, ...]. */
static int read_covariates(st_mjp *m, const st_ydoc *doc, const st_ynode *ncov, const st_ynode *ncut, st_err *e)
{
    int rc;
    const st_ynode *nnames = NULL, *ncentre = NULL, *nrates = NULL, *nshared = NULL, *nmisc = NULL;
    if (ncov) {
        if (st_ynode_kind(ncov) != ST_YMAP)
            return st_ynode_error(doc, ncov, e, ST_EDATA, "covariates must be a mapping with 'names'");
        nnames = st_ymap_get(doc, ncov, "names");
        ncentre = st_ymap_get(doc, ncov, "centre");
        nrates = st_ymap_get(doc, ncov, "rates");
        nshared = st_ymap_get(doc, ncov, "shared");
        nmisc = st_ymap_get(doc, ncov, "misclassification");
        if ((rc = st_ymap_check_unknown(doc, ncov, e)) < 0)
            return rc;
    }
    if (nnames) {
        size_t n = st_ynode_len(nnames);
        if (st_ynode_kind(nnames) != ST_YSEQ || n > ST_MJP_MAX_COVS)
            return st_ynode_error(doc, nnames, e, ST_EDATA, "names must be a list of at most %d covariates",
                                  ST_MJP_MAX_COVS);
        const char *names[ST_MJP_MAX_COVS];
        for (size_t i = 0; i < n; i++)
            if ((rc = st_ynode_string(doc, st_yseq_at(nnames, i), &names[i], e)) < 0)
                return rc;
        if ((rc = st_mjp_set_covariates(m, names, n, e)) < 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", e->msg);
            return st_ynode_error(doc, nnames, e, ST_EDATA, "%s", msg);
        }
    }
    if (ncut) {
        double *v = NULL;
        size_t n;
        if ((rc = st_ynode_vector(doc, ncut, 0, -INFINITY, INFINITY, &v, &n, e)) < 0)
            return rc;
        rc = st_mjp_set_timecuts(m, v, n, e);
        free(v);
        if (rc < 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", e->msg);
            return st_ynode_error(doc, ncut, e, ST_EDATA, "%s", msg);
        }
        /* only the effects the file lists */
        for (size_t i = 0; i < m->K * m->K * m->C; i++)
            m->bpar[i] = -1;
    }
    if (nmisc && (!m->E || m->M != m->K))
        return st_ynode_error(doc, nmisc, e, ST_EDATA,
                              "misclassification effects need an emission matrix with as many symbols as states");
    if (nmisc && !m->egam) {
        size_t n = m->K * m->K * (m->C ? m->C : 1);
        m->egam = calloc(n, sizeof *m->egam);
        m->egpar = malloc(n * sizeof *m->egpar);
        if (!m->egam || !m->egpar)
            return st_err_nomem(e, "covariates");
        for (size_t i = 0; i < n; i++)
            m->egpar[i] = -1;
    }
    const st_ynode *sect[2] = {nrates, nmisc};
    for (int misc = 0; misc < 2; misc++) {
        const st_ynode *sn = sect[misc];
        if (!sn)
            continue;
        if (st_ynode_kind(sn) != ST_YMAP)
            return st_ynode_error(doc, sn, e, ST_EDATA, "must be a mapping covariate: effects");
        for (size_t i = 0; i < st_ynode_len(sn); i++) {
            const char *name = st_ymap_key_at(sn, i);
            int c = st_mjp_covariate_index(m, name);
            if (c < 0)
                return st_ynode_error(doc, st_ymap_value_at(sn, i), e, ST_EDATA, "'%s' is not a covariate", name);
            if ((rc = read_effects(m, doc, st_ymap_value_at(sn, i), (size_t)c, misc, e)) < 0)
                return rc;
        }
    }
    if (nshared) {
        if (st_ynode_kind(nshared) != ST_YMAP)
            return st_ynode_error(doc, nshared, e, ST_EDATA, "shared must be a mapping covariate: [labels]");
        for (size_t i = 0; i < st_ynode_len(nshared); i++) {
            const char *name = st_ymap_key_at(nshared, i);
            const st_ynode *ln = st_ymap_value_at(nshared, i);
            long *lab = NULL;
            size_t n;
            if ((rc = st_ynode_long_vector(doc, ln, 0, -1000000, 1000000, &lab, &n, e)) < 0)
                return rc;
            char spec[4096];
            size_t len = (size_t)snprintf(spec, sizeof spec, "%s=", name);
            for (size_t j = 0; j < n && len < sizeof spec; j++)
                len += (size_t)snprintf(spec + len, sizeof spec - len, "%s%ld", j ? "," : "", lab[j]);
            free(lab);
            if (len >= sizeof spec || st_mjp_set_constraint(m, spec, e) < 0) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", len >= sizeof spec ? "too many labels" : e->msg);
                return st_ynode_error(doc, ln, e, ST_EDATA, "%s", msg);
            }
        }
    }
    st_mjp_number_effects(m);
    /* shared effects must have one value */
    size_t KK = m->K * m->K, C = m->C;
    for (size_t i = 0; i < KK * C; i++)
        for (size_t j = 0; j < i; j++)
            if (m->bpar[i] >= 0 && m->bpar[i] == m->bpar[j] && m->beta[i] != m->beta[j])
                return st_ynode_error(doc, nshared, e, ST_EDATA, "shared effects of '%s' have different values",
                                      m->cnames[i % C]);
    if (ncentre) {
        if (st_ynode_kind(ncentre) != ST_YMAP)
            return st_ynode_error(doc, ncentre, e, ST_EDATA, "centre must be a mapping covariate: value");
        for (size_t i = 0; i < st_ynode_len(ncentre); i++) {
            const char *name = st_ymap_key_at(ncentre, i);
            int c = st_mjp_covariate_index(m, name);
            if (c < 0)
                return st_ynode_error(doc, st_ymap_value_at(ncentre, i), e, ST_EDATA, "'%s' is not a covariate",
                                      name);
            if ((rc = st_ynode_double(doc, st_ymap_value_at(ncentre, i), -INFINITY, INFINITY, &m->cmean[c], e)) < 0)
                return rc;
        }
    }
    return 0;
}

static int read_doc(st_mjp **out, const st_ydoc *doc, st_err *e)
{
    const st_ynode *root = st_ydoc_root(doc);
    st_mjp *m = NULL;
    double *v = NULL;
    int rc;
    *out = NULL;
    if ((rc = st_ymodel_header(doc, "mjp", e)) < 0)
        return rc;
    const st_ynode *nstates = st_ymap_get(doc, root, "states");
    const st_ynode *nlabels = st_ymap_get(doc, root, "labels");
    const st_ynode *nQ = st_ymap_get(doc, root, "Q");
    const st_ynode *nrates = st_ymap_get(doc, root, "rates");
    const st_ynode *npar = st_ymap_get(doc, root, "parameters");
    const st_ynode *npos = st_ymap_get(doc, root, "positive");
    const st_ynode *nallowed = st_ymap_get(doc, root, "allowed");
    const st_ynode *nfixed = st_ymap_get(doc, root, "fixed");
    const st_ynode *ninit = st_ymap_get(doc, root, "initial");
    const st_ynode *nest = st_ymap_get(doc, root, "estimate_initial");
    const st_ynode *nem = st_ymap_get(doc, root, "emission");
    const st_ynode *ncov = st_ymap_get(doc, root, "covariates");
    const st_ynode *ncut = st_ymap_get(doc, root, "timecuts");
    (void)st_ymap_get(doc, root, "fit"); /* results of mjp-infer: ignored */
    if ((rc = st_ymap_check_unknown(doc, root, e)) < 0)
        return rc;

    long K = 0;
    if (nstates && (rc = st_ynode_long(doc, nstates, 1, ST_MJP_MAX_STATES, &K, e)) < 0)
        return rc;
    if (nlabels) {
        if (st_ynode_kind(nlabels) != ST_YSEQ || st_ynode_len(nlabels) < 1)
            return st_ynode_error(doc, nlabels, e, ST_EDATA, "labels must be a list of names");
        if (K && (size_t)K != st_ynode_len(nlabels))
            return st_ynode_error(doc, nlabels, e, ST_EDATA, "%zu labels for %ld states",
                                  st_ynode_len(nlabels), K);
        K = (long)st_ynode_len(nlabels);
    }
    if (!K && nQ && st_ynode_kind(nQ) == ST_YSEQ)
        K = (long)st_ynode_len(nQ);
    if (!K)
        return st_ynode_error(doc, root, e, ST_EDATA, "missing key 'states' (or 'labels' or 'Q')");
    if ((rc = st_mjp_new(&m, (size_t)K, e)) < 0)
        return rc;
    size_t k = (size_t)K;
    if (nlabels) {
        m->labels = calloc(k, sizeof *m->labels);
        if (!m->labels) {
            rc = st_err_nomem(e, "labels");
            goto fail;
        }
        for (size_t i = 0; i < k; i++) {
            const char *s;
            if ((rc = st_ynode_string(doc, st_yseq_at(nlabels, i), &s, e)) < 0)
                goto fail;
            if (!*s || strchr(s, '-') || strchr(s, ',')) {
                rc = st_ynode_error(doc, st_yseq_at(nlabels, i), e, ST_EDATA,
                                    "label '%s' must be non-empty without '-' or ','", s);
                goto fail;
            }
            for (size_t j = 0; j < i; j++)
                if (strcmp(m->labels[j], s) == 0) {
                    rc = st_ynode_error(doc, st_yseq_at(nlabels, i), e, ST_EDATA,
                                        "label '%s' given twice (states %zu and %zu)", s, j, i);
                    goto fail;
                }
            if (!(m->labels[i] = strdup(s))) {
                rc = st_err_nomem(e, "labels");
                goto fail;
            }
        }
    }
    if (nQ && nrates) {
        rc = st_ynode_error(doc, nrates, e, ST_EDATA, "give either 'Q' or 'rates', not both");
        goto fail;
    }
    if (!nQ && !nrates) {
        rc = st_ynode_error(doc, root, e, ST_EDATA, "missing key 'Q' (or 'rates' with 'parameters')");
        goto fail;
    }
    if (nQ) {
        size_t r, c;
        if ((rc = st_ynode_matrix(doc, nQ, k, k, -INFINITY, INFINITY, &v, &r, &c, e)) < 0)
            goto fail;
        if ((rc = st_mjp_check_q(v, k, NULL, e)) < 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", e->msg);
            rc = st_ynode_error(doc, nQ, e, ST_EDATA, "%s", msg);
            goto fail;
        }
        memcpy(m->Q, v, k * k * sizeof *v);
        free(v);
        v = NULL;
        for (size_t i = 0; i < k * k; i++)
            m->allowed[i] = (i / k != i % k) && m->Q[i] > 0;
        if (npar || npos) {
            rc = st_ynode_error(doc, npar ? npar : npos, e, ST_EDATA,
                                "'parameters' need 'rates' formulas instead of 'Q'");
            goto fail;
        }
    } else {
        /* parametric family */
        if (!npar || st_ynode_kind(npar) != ST_YMAP || st_ynode_len(npar) < 1) {
            rc = st_ynode_error(doc, npar ? npar : nrates, e, ST_EDATA,
                                "'rates' need a 'parameters' mapping (name: value)");
            goto fail;
        }
        size_t P = st_ynode_len(npar);
        if (P > ST_MJP_MAX_PARAMS) {
            rc = st_ynode_error(doc, npar, e, ST_EDATA, "at most %d parameters", ST_MJP_MAX_PARAMS);
            goto fail;
        }
        m->P = P;
        m->pnames = calloc(P, sizeof *m->pnames);
        m->par = calloc(P, sizeof *m->par);
        m->ppos = calloc(P, 1);
        m->expr = calloc(k * k, sizeof *m->expr);
        if (!m->pnames || !m->par || !m->ppos || !m->expr) {
            rc = st_err_nomem(e, "parameters");
            goto fail;
        }
        for (size_t p = 0; p < P; p++) {
            const char *name = st_ymap_key_at(npar, p);
            int okname = isalpha((unsigned char)name[0]) || name[0] == '_';
            for (const char *c = name; *c; c++)
                okname = okname && (isalnum((unsigned char)*c) || *c == '_');
            if (!okname || !strcmp(name, "exp") || !strcmp(name, "log") || !strcmp(name, "sqrt")) {
                rc = st_ynode_error(doc, st_ymap_value_at(npar, p), e, ST_EDATA,
                                    "parameter name '%s' must be a letter then letters, digits, _",
                                    name);
                goto fail;
            }
            if (!(m->pnames[p] = strdup(name))) {
                rc = st_err_nomem(e, "parameters");
                goto fail;
            }
            if ((rc = st_ynode_double(doc, st_ymap_value_at(npar, p), -INFINITY, INFINITY,
                                      &m->par[p], e)) < 0)
                goto fail;
        }
        if (npos) {
            if (st_ynode_kind(npos) != ST_YSEQ) {
                rc = st_ynode_error(doc, npos, e, ST_EDATA, "positive must be a list of parameter names");
                goto fail;
            }
            for (size_t i = 0; i < st_ynode_len(npos); i++) {
                const char *s;
                if ((rc = st_ynode_string(doc, st_yseq_at(npos, i), &s, e)) < 0)
                    goto fail;
                size_t p = 0;
                while (p < P && strcmp(m->pnames[p], s))
                    p++;
                if (p == P) {
                    rc = st_ynode_error(doc, st_yseq_at(npos, i), e, ST_EDATA,
                                        "unknown parameter '%s'", s);
                    goto fail;
                }
                if (m->ppos[p]) {
                    rc = st_ynode_error(doc, st_yseq_at(npos, i), e, ST_EDATA,
                                        "parameter '%s' is listed twice in positive", s);
                    goto fail;
                }
                if (m->par[p] <= 0) {
                    rc = st_ynode_error(doc, st_yseq_at(npos, i), e, ST_EDATA,
                                        "parameter '%s' is positive but its value is %g", s, m->par[p]);
                    goto fail;
                }
                m->ppos[p] = 1;
            }
        }
        if (st_ynode_kind(nrates) != ST_YMAP) {
            rc = st_ynode_error(doc, nrates, e, ST_EDATA, "rates must be a mapping FROM-TO: formula");
            goto fail;
        }
        for (size_t r = 0; r < st_ynode_len(nrates); r++) {
            const char *key = st_ymap_key_at(nrates, r);
            const st_ynode *val = st_ymap_value_at(nrates, r);
            int i, j;
            const char *txt;
            if (mjp_parse_pair(m, key, strlen(key), 0, &i, &j) < 0 || i < 0 || j < 0 || i >= (int)k ||
                j >= (int)k || i == j) {
                rc = st_ynode_error(doc, val, e, ST_EDATA,
                                    "rate key '%s' is not FROM-TO for two different states", key);
                goto fail;
            }
            if ((rc = st_ynode_string(doc, val, &txt, e)) < 0)
                goto fail;
            size_t ij = (size_t)i * k + (size_t)j;
            if (m->expr[ij]) {
                rc = st_ynode_error(doc, val, e, ST_EDATA, "rate %s given twice", key);
                goto fail;
            }
            st_expr_src src = {st_ydoc_path(doc), 0, 0};
            st_ynode_text_pos(val, &src.line, &src.col);
            if ((rc = st_mjp_rate_compile(&m->expr[ij], txt, (const char *const *)m->pnames, P, &src, e)) < 0)
                goto fail;
            m->allowed[ij] = 1;
        }
        if ((rc = st_mjp_update_q(m, e)) < 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", e->msg);
            rc = st_ynode_error(doc, nrates, e, ST_EDATA, "%s", msg);
            goto fail;
        }
    }
    if (nallowed) {
        if (m->P) {
            rc = st_ynode_error(doc, nallowed, e, ST_EDATA, "'allowed' does not apply to 'rates'");
            goto fail;
        }
        if ((rc = read_mask(doc, nallowed, k, m->allowed, e)) < 0)
            goto fail;
        for (size_t i = 0; i < k * k; i++)
            if (!m->allowed[i] && i / k != i % k && m->Q[i] != 0) {
                rc = st_ynode_error(doc, nallowed, e, ST_EDATA,
                                    "Q has rate %g for %zu-%zu, which 'allowed' forbids", m->Q[i],
                                    i / k, i % k);
                goto fail;
            }
    }
    if (nfixed) {
        if (m->P) {
            rc = st_ynode_error(doc, nfixed, e, ST_EDATA, "'fixed' does not apply to 'rates'");
            goto fail;
        }
        if ((rc = read_mask(doc, nfixed, k, m->fixed, e)) < 0)
            goto fail;
    }
    if (ninit) {
        size_t n;
        if ((rc = st_ynode_vector(doc, ninit, k, 0, 1, &v, &n, e)) < 0)
            goto fail;
        double s = 0;
        for (size_t i = 0; i < k; i++)
            s += v[i];
        if (fabs(s - 1) > 1e-8) {
            rc = st_ynode_error(doc, ninit, e, ST_EDATA, "initial distribution sums to %.10g, not 1", s);
            goto fail;
        }
        memcpy(m->init, v, k * sizeof *v);
        free(v);
        v = NULL;
        m->init_given = 1;
    }
    if (nest && (rc = st_ynode_bool(doc, nest, &m->init_estimate, e)) < 0)
        goto fail;
    if (nem && (rc = read_emission_node(m, doc, nem, e)) < 0)
        goto fail;
    if ((ncov || ncut) && (rc = read_covariates(m, doc, ncov, ncut, e)) < 0)
        goto fail;
    *out = m;
    return 0;
fail:
    free(v);
    st_mjp_free(m);
    return rc;
}

int st_mjp_read(st_mjp **m, const char *path, st_err *e)
{
    st_ydoc *doc;
    int rc = st_ydoc_load(&doc, path, e);
    if (rc < 0)
        return rc;
    rc = read_doc(m, doc, e);
    st_ydoc_free(doc);
    return rc;
}

int st_mjp_read_string(st_mjp **m, const char *text, size_t len, const char *name, st_err *e)
{
    st_ydoc *doc;
    int rc = st_ydoc_load_string(&doc, text, len, name, e);
    if (rc < 0)
        return rc;
    rc = read_doc(m, doc, e);
    st_ydoc_free(doc);
    return rc;
}

int st_mjp_read_emission(st_mjp *m, const char *path, st_err *e)
{
    st_ydoc *doc;
    int rc = st_ydoc_load(&doc, path, e);
    if (rc < 0)
        return rc;
    const st_ynode *root = st_ydoc_root(doc);
    const st_ynode *em;
    if (st_ynode_kind(root) != ST_YMAP) {
        rc = st_ynode_error(doc, root, e, ST_EDATA, "emission file must be a mapping with 'emission'");
        goto out;
    }
    (void)st_ymap_get(doc, root, "model");
    (void)st_ymap_get(doc, root, "version");
    if ((rc = st_ymap_require(doc, root, "emission", &em, e)) < 0)
        goto out;
    if ((rc = st_ymap_check_unknown(doc, root, e)) < 0)
        goto out;
    rc = read_emission_node(m, doc, em, e);
out:
    st_ydoc_free(doc);
    return rc;
}

static void write_state_pair(char *buf, size_t n, const st_mjp *m, size_t i, size_t j)
{
    if (m->labels)
        snprintf(buf, n, "%s-%s", m->labels[i], m->labels[j]);
    else
        snprintf(buf, n, "%zu-%zu", i, j);
}

static void write_mask(st_yw *w, const char *key, const unsigned char *mask, size_t K)
{
    double *v = malloc(K * K * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < K * K; i++)
        v[i] = mask[i];
    st_yw_key_matrix(w, key, v, K, K);
    free(v);
}


/* Effects of covariate c as a mapping FROM-TO: value (cells with an effect). */
static void write_effects(st_yw *w, const st_mjp *m, const char *key, const double *v, const int *par, size_t ncell,
                          size_t cols, size_t c)
{
    size_t C = m->C;
    int any = 0;
    for (size_t ab = 0; ab < ncell; ab++)
        any |= par[ab * C + c] >= 0;
    if (!any)
        return;
    st_yw_begin_map(w, key);
    for (size_t ab = 0; ab < ncell; ab++)
        if (par[ab * C + c] >= 0) {
            char pair[160];
            write_state_pair(pair, sizeof pair, m, ab / cols, ab % cols);
            st_yw_key_double(w, pair, v[ab * C + c]);
        }
    st_yw_end(w);
}

/* Group labels of covariate c's cells when some share a parameter. */
static void write_shared(st_yw *w, const st_mjp *m, const int *par, size_t ncell, size_t c)
{
    size_t C = m->C, n = 0;
    long lab[ST_MJP_MAX_STATES * ST_MJP_MAX_STATES];
    int shared = 0;
    for (size_t ab = 0; ab < ncell; ab++)
        if (par[ab * C + c] >= 0) {
            for (size_t q = 0; q < ab; q++)
                shared |= par[q * C + c] == par[ab * C + c];
            lab[n++] = par[ab * C + c] + 1;
        }
    if (shared)
        st_yw_key_long_vector(w, m->cnames[c], lab, n);
}

static void write_covariates(st_yw *w, const st_mjp *m)
{
    size_t K = m->K, C = m->C, C0 = C - m->ncut;
    if (!C)
        return;
    st_yw_begin_map(w, "covariates");
    if (C0)
        st_yw_key_string_vector(w, "names", (const char *const *)m->cnames, C0);
    st_yw_begin_map(w, "centre");
    for (size_t c = 0; c < C; c++)
        st_yw_key_double(w, m->cnames[c], m->cmean[c]);
    st_yw_end(w);
    st_yw_begin_map(w, "rates");
    for (size_t c = 0; c < C; c++)
        write_effects(w, m, m->cnames[c], m->beta, m->bpar, K * K, K, c);
    st_yw_end(w);
    int anyshared = 0;
    for (size_t i = 0; i < K * K * C; i++)
        for (size_t j = 0; j < i && !anyshared; j++)
            anyshared |= m->bpar[i] >= 0 && m->bpar[i] == m->bpar[j] && i % C == j % C;
    if (anyshared) {
        st_yw_begin_map(w, "shared");
        for (size_t c = 0; c < C; c++)
            write_shared(w, m, m->bpar, K * K, c);
        st_yw_end(w);
    }
    if (m->egam) {
        st_yw_begin_map(w, "misclassification");
        for (size_t c = 0; c < C; c++)
            write_effects(w, m, m->cnames[c], m->egam, m->egpar, K * m->M, m->M, c);
        st_yw_end(w);
    }
    st_yw_end(w);
    if (m->ncut)
        st_yw_key_vector(w, "timecuts", m->tcut, m->ncut);
}

/* fit: the ratios exp(effect) with 95% intervals and the effect's se. */
static void write_ratios(st_yw *w, const st_mjp *m, const char *key, const double *v, const int *par,
                         const double *se, size_t ncell, size_t cols)
{
    size_t C = m->C;
    int any = 0;
    for (size_t i = 0; i < ncell * C; i++)
        any |= par[i] >= 0;
    if (!any)
        return;
    st_yw_begin_map(w, key);
    for (size_t c = 0; c < C; c++) {
        int anyc = 0;
        for (size_t ab = 0; ab < ncell; ab++)
            anyc |= par[ab * C + c] >= 0;
        if (!anyc)
            continue;
        st_yw_begin_map(w, m->cnames[c]);
        for (size_t ab = 0; ab < ncell; ab++) {
            int b = par[ab * C + c];
            if (b < 0)
                continue;
            char pair[160];
            write_state_pair(pair, sizeof pair, m, ab / cols, ab % cols);
            double x = v[ab * C + c], s = se ? se[b] : NAN;
            st_yw_begin_map(w, pair);
            st_yw_key_double(w, "ratio", exp(x));
            if (isfinite(s) && isfinite(exp(x - 1.959963984540054 * s)) && isfinite(exp(x + 1.959963984540054 * s))) {
                st_yw_key_double(w, "lower", exp(x - 1.959963984540054 * s));
                st_yw_key_double(w, "upper", exp(x + 1.959963984540054 * s));
                st_yw_key_double(w, "log_se", s);
            } else {
                st_yw_key_string(w, "log_se", "unavailable");
            }
            st_yw_end(w);
        }
        st_yw_end(w);
    }
    st_yw_end(w);
}

int st_mjp_write(FILE *fp, const st_mjp *m, const st_mjp_fit *fit, const st_mjp_data *d,
                 const double *ptimes, size_t npt, st_err *e)
{
    size_t K = m->K;
    st_yw w;
    st_yw_init(&w, fp);
    st_yw_key_string(&w, "model", "mjp");
    st_yw_key_long(&w, "version", 1);
    st_yw_key_long(&w, "states", (long)K);
    if (m->labels)
        st_yw_key_string_vector(&w, "labels", (const char *const *)m->labels, K);
    if (m->P) {
        st_yw_begin_map(&w, "parameters");
        for (size_t p = 0; p < m->P; p++)
            st_yw_key_double(&w, m->pnames[p], m->par[p]);
        st_yw_end(&w);
        int anypos = 0;
        for (size_t p = 0; p < m->P; p++)
            anypos |= m->ppos[p];
        if (anypos) {
            const char *pos[ST_MJP_MAX_PARAMS];
            size_t np = 0;
            for (size_t p = 0; p < m->P; p++)
                if (m->ppos[p])
                    pos[np++] = m->pnames[p];
            st_yw_key_string_vector(&w, "positive", pos, np);
        }
        st_yw_begin_map(&w, "rates");
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < K; j++)
                if (m->expr[i * K + j]) {
                    char key[160];
                    write_state_pair(key, sizeof key, m, i, j);
                    st_yw_key_string(&w, key, st_expr_text(m->expr[i * K + j]));
                }
        st_yw_end(&w);
    } else {
        st_yw_key_matrix(&w, "Q", m->Q, K, K);
        write_mask(&w, "allowed", m->allowed, K);
        int anyfixed = 0;
        for (size_t i = 0; i < K * K; i++)
            anyfixed |= m->fixed[i];
        if (anyfixed)
            write_mask(&w, "fixed", m->fixed, K);
    }
    if (m->init_given || m->E || m->init_estimate)
        st_yw_key_vector(&w, "initial", m->init, K);
    if (m->init_estimate)
        st_yw_key_bool(&w, "estimate_initial", 1);
    if (m->E) {
        st_yw_begin_map(&w, "emission");
        st_yw_key_matrix(&w, "matrix", m->E, K, m->M);
        st_yw_key_bool(&w, "fixed", m->E_fixed);
        st_yw_end(&w);
    }
    write_covariates(&w, m);
    if (fit) {
        st_yw_begin_map(&w, "fit");
        st_yw_key_string(&w, "method", fit->method);
        st_yw_key_double(&w, "loglik", fit->loglik);
        st_yw_key_double(&w, "minus2loglik", fit->minus2loglik);
        st_yw_key_double(&w, "aic", fit->aic);
        st_yw_key_long(&w, "free_parameters", (long)fit->nfree);
        st_yw_key_long(&w, "iterations", fit->iterations);
        st_yw_key_bool(&w, "converged", fit->converged);
        st_yw_key_double(&w, "max_gradient", fit->grad_norm);
        if (d) {
            st_yw_key_long(&w, "subjects", (long)d->nsubj_all);
            st_yw_key_long(&w, "observations", (long)(d->nobs_all - d->ninserted));
            if (d->ninserted)
                st_yw_key_long(&w, "added_at_timecuts", (long)d->ninserted);
            st_yw_key_long(&w, "skipped_subjects", (long)d->nskipped_all);
        }
        if (m->P)
            st_yw_key_matrix(&w, "Q", m->Q, K, K);
        if (fit->Q_se) {
            /* the writer refuses non-finite numbers: entries without a
             * standard error are written as 0 and listed by name */
            double *cp = malloc(3 * K * K * sizeof *cp);
            if (!cp)
                return st_err_nomem(e, "standard errors");
            char bad[1024] = "";
            size_t blen = 0;
            for (size_t i = 0; i < K * K; i++) {
                double v[3] = {fit->Q_se[i], fit->Q_lo[i], fit->Q_hi[i]};
                int fin = isfinite(v[0]) && isfinite(v[1]) && isfinite(v[2]);
                for (int k = 0; k < 3; k++)
                    cp[k * K * K + i] = fin ? v[k] : 0;
                if (!fin && blen + 40 < sizeof bad) {
                    char pair[160];
                    write_state_pair(pair, sizeof pair, m, i / K, i % K);
                    blen += (size_t)snprintf(bad + blen, sizeof bad - blen, "%s%s", blen ? "," : "", pair);
                }
            }
            st_yw_key_matrix(&w, "Q_se", cp, K, K);
            st_yw_key_matrix(&w, "Q_lower", cp + K * K, K, K);
            st_yw_key_matrix(&w, "Q_upper", cp + 2 * K * K, K, K);
            if (blen)
                st_yw_key_string(&w, "se_unavailable", bad);
            free(cp);
        }
        if (m->P && fit->par_se) {
            st_yw_begin_map(&w, "parameters");
            for (size_t p = 0; p < m->P; p++) {
                st_yw_begin_map(&w, m->pnames[p]);
                st_yw_key_double(&w, "estimate", m->par[p]);
                if (isfinite(fit->par_se[p]) && isfinite(fit->par_lo[p]) && isfinite(fit->par_hi[p])) {
                    st_yw_key_double(&w, "se", fit->par_se[p]);
                    st_yw_key_double(&w, "lower", fit->par_lo[p]);
                    st_yw_key_double(&w, "upper", fit->par_hi[p]);
                } else {
                    st_yw_key_string(&w, "se", "unavailable");
                }
                st_yw_end(&w);
            }
            st_yw_end(&w);
        }
        if (fit->lr_against) {
            st_yw_begin_map(&w, "lrtest");
            st_yw_key_string(&w, "against", fit->lr_against);
            st_yw_key_double(&w, "lr", fit->lr);
            st_yw_key_long(&w, "df", (long)fit->lr_df);
            st_yw_key_double(&w, "p_value", fit->lr_p);
            st_yw_end(&w);
        }
        if (m->nbpar)
            write_ratios(&w, m, "hazard_ratios", m->beta, m->bpar, fit->beta_se, K * K, K);
        if (m->egam && m->negpar)
            write_ratios(&w, m, "misclassification_odds_ratios", m->egam, m->egpar, fit->egam_se, K * m->M, m->M);
        if (fit->E_se) {
            int fin = 1;
            for (size_t i = 0; i < K * m->M; i++)
                fin &= isfinite(fit->E_se[i]) != 0;
            if (fin)
                st_yw_key_matrix(&w, "emission_se", fit->E_se, K, m->M);
        }
        double *v = malloc(K * sizeof *v);
        if (v) {
            st_err le;
            st_mjp_sojourn(m, v);
            /* mean sojourn times of the non-absorbing states */
            st_yw_begin_map(&w, "sojourn");
            for (size_t i = 0; i < K; i++)
                if (isfinite(v[i])) {
                    char key[80];
                    if (m->labels)
                        snprintf(key, sizeof key, "%s", m->labels[i]);
                    else
                        snprintf(key, sizeof key, "%zu", i);
                    st_yw_key_double(&w, key, v[i]);
                }
            st_yw_end(&w);
            if (st_mjp_stationary(m, v, &le) == 0)
                st_yw_key_vector(&w, "stationary", v, K);
            if (st_mjp_expected_visits(m, v, &le) == 0)
                st_yw_key_vector(&w, "expected_visits", v, K);
            free(v);
        }
        if (npt) {
            double *P = malloc(K * K * sizeof *P);
            if (!P)
                return st_err_nomem(e, "P(t)");
            st_yw_begin_list(&w, "pmatrix");
            for (size_t k = 0; k < npt; k++) {
                int rc = st_mjp_pmatrix(m, ptimes[k], P, e);
                if (rc < 0) {
                    free(P);
                    return rc;
                }
                st_yw_item_map(&w);
                st_yw_key_double(&w, "t", ptimes[k]);
                st_yw_key_matrix(&w, "P", P, K, K);
            }
            st_yw_end(&w);
            free(P);
        }
        st_yw_end(&w);
    }
    return st_yw_finish(&w, e);
}

int st_mjp_emission_states(const char *path, size_t *K, st_err *e)
{
    st_ydoc *doc;
    int rc = st_ydoc_load(&doc, path, e);
    if (rc < 0)
        return rc;
    const st_ynode *root = st_ydoc_root(doc), *em, *mat;
    if (st_ynode_kind(root) != ST_YMAP) {
        rc = st_ynode_error(doc, root, e, ST_EDATA, "emission file must be a mapping with 'emission'");
        goto out;
    }
    if ((rc = st_ymap_require(doc, root, "emission", &em, e)) < 0)
        goto out;
    if (st_ynode_kind(em) != ST_YMAP) {
        rc = st_ynode_error(doc, em, e, ST_EDATA, "emission must be a mapping with 'matrix'");
        goto out;
    }
    if ((rc = st_ymap_require(doc, em, "matrix", &mat, e)) < 0)
        goto out;
    if (st_ynode_kind(mat) != ST_YSEQ || st_ynode_len(mat) < 1 || st_ynode_len(mat) > ST_MJP_MAX_STATES) {
        rc = st_ynode_error(doc, mat, e, ST_EDATA, "emission matrix must have 1 to %d rows",
                            ST_MJP_MAX_STATES);
        goto out;
    }
    *K = st_ynode_len(mat);
out:
    st_ydoc_free(doc);
    return rc;
}

int st_mjp_read_fit_summary(const char *path, st_mjp_fit_summary *s, st_err *e)
{
    st_ydoc *doc;
    memset(s, 0, sizeof *s);
    int rc = st_ydoc_load(&doc, path, e);
    if (rc < 0)
        return rc;
    const st_ynode *root = st_ydoc_root(doc), *fit, *n;
    if ((rc = st_ymodel_header(doc, "mjp", e)) < 0)
        goto out;
    if (!(fit = st_ymap_get(doc, root, "fit"))) {
        rc = st_ynode_error(doc, root, e, ST_EDATA, "no 'fit' section: not a model fitted by mjp-infer");
        goto out;
    }
    if ((rc = st_ymap_require(doc, fit, "loglik", &n, e)) < 0 ||
        (rc = st_ynode_double(doc, n, -INFINITY, INFINITY, &s->loglik, e)) < 0)
        goto out;
    long v;
    if ((rc = st_ymap_require(doc, fit, "free_parameters", &n, e)) < 0 ||
        (rc = st_ynode_long(doc, n, 0, 1000000000L, &v, e)) < 0)
        goto out;
    s->nfree = (size_t)v;
    if ((n = st_ymap_get(doc, fit, "subjects")) && (rc = st_ynode_long(doc, n, 0, LONG_MAX, &v, e)) == 0)
        s->subjects = (size_t)v;
    if (rc < 0)
        goto out;
    if ((n = st_ymap_get(doc, fit, "observations")) && (rc = st_ynode_long(doc, n, 0, LONG_MAX, &v, e)) == 0)
        s->observations = (size_t)v;
    if (rc < 0)
        goto out;
    if ((n = st_ymap_get(doc, fit, "converged")))
        rc = st_ynode_bool(doc, n, &s->converged, e);
out:
    st_ydoc_free(doc);
    return rc;
}

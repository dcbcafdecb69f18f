/* The mjp model: allocation, checks, parametric rates, YAML reading. */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/yaml.h"
#include "mjp/mjp.h"

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
            st_mjp_expr_free(m->expr[i]);
    free(m->expr);
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
                    st_mjp_expr_parse(&m->expr[i], st_mjp_expr_text(s->expr[i]),
                                      (const char *const *)m->pnames, m->P, e) < 0)
                    fail = 1;
        }
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
                q = st_mjp_expr_eval(m->expr[i * K + j], par, NULL);
                if (!isfinite(q) || q < 0)
                    return st_err_set(e, ST_EDATA, NULL, 0, 0,
                                      "rate %zu-%zu = '%s' evaluates to %g (must be >= 0)", i, j,
                                      st_mjp_expr_text(m->expr[i * K + j]), q);
            }
            m->Q[i * K + j] = q;
            sum += q;
        }
        m->Q[i * K + i] = -sum;
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
static int parse_pair(const st_mjp *m, const char *s, size_t len, int base, int *i, int *j)
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
        if (parse_pair(m, p, len, base, &i, &j) < 0)
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
        m->Q[i * K + i] = -sum;
    }
    return 0;
}

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
    char where[64] = "";
    if ((rc = st_mjp_check_emission(E, m->K, c, NULL, e)) < 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", e->msg);
        free(E);
        (void)where;
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
            if (parse_pair(m, key, strlen(key), 0, &i, &j) < 0 || i < 0 || j < 0 || i >= (int)k ||
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
            if ((rc = st_mjp_expr_parse(&m->expr[ij], txt, (const char *const *)m->pnames, P, e)) < 0) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", e->msg);
                rc = st_ynode_error(doc, val, e, ST_EDATA, "%s", msg);
                goto fail;
            }
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

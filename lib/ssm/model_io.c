/* ssm model files: read/write structural fits and matrix models. */
#include "config.h"

#include "ssm/model_io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/optim.h"
#include "core/yaml.h"

void st_ssm_file_free(st_ssm_file *f)
{
    if (!f)
        return;
    st_ssm_free(f->s);
    f->s = NULL;
}

/* Symmetric, and positive definite (pd = 1) or semi-definite (pd = 0). */
static int check_cov_node(const st_ydoc *doc, const st_ynode *n, const double *A, size_t k, int pd,
                          const char *name, st_err *e)
{
    double scale = 0;
    for (size_t i = 0; i < k * k; i++)
        scale = fmax(scale, fabs(A[i]));
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < i; j++)
            if (fabs(A[i * k + j] - A[j * k + i]) > 1e-12 * scale)
                return st_ynode_error(doc, n, e, ST_EDATA, "%s is not symmetric ([%zu,%zu] = %g but [%zu,%zu] = %g)", name, i + 1, j + 1, A[i * k + j], j + 1, i + 1, A[j * k + i]);
    double *w = malloc(k * sizeof(double));
    if (!w)
        return st_err_nomem(e, name);
    int rc = st_eigen_sym(A, k, w, NULL, e);
    if (rc == 0) {
        double tol = 1e-12 * fmax(scale, 1e-300);
        if (pd && !(w[0] > tol))
            rc = st_ynode_error(doc, n, e, ST_EDATA, "%s is singular or not positive definite (smallest eigenvalue %g)", name, w[0]);
        else if (!pd && w[0] < -tol)
            rc = st_ynode_error(doc, n, e, ST_EDATA, "%s is not positive semi-definite (smallest eigenvalue %g)", name, w[0]);
    }
    free(w);
    return rc;
}

static int read_matrix(const st_ydoc *doc, const st_ynode *map, st_ssm **out, st_err *e)
{
    const st_ynode *nT, *nZ;
    int rc;
    if ((rc = st_ymap_require(doc, map, "T", &nT, e)) < 0 || (rc = st_ymap_require(doc, map, "Z", &nZ, e)) < 0)
        return rc;
    double *T = NULL, *Z = NULL, *R = NULL, *Q = NULL, *H = NULL, *c = NULL, *d = NULL, *a1 = NULL, *P1 = NULL, *df = NULL;
    size_t m, m2, p, mz, r = 0, rr, cc, len;
    /* the state dimension is capped before anything m x m is allocated */
    if (st_ynode_len(nT) > ST_SSM_MAX_STATES)
        return st_ynode_error(doc, nT, e, ST_EDATA, "T has %zu rows: matrix models have at most %d states (filtering costs n m^3 operations for a dense T)", st_ynode_len(nT), ST_SSM_MAX_STATES);
    if (st_ynode_len(nZ) > ST_SSM_MAX_STATES)
        return st_ynode_error(doc, nZ, e, ST_EDATA, "Z has %zu rows: matrix models observe at most %d variables", st_ynode_len(nZ), ST_SSM_MAX_STATES);
    if ((rc = st_ynode_matrix(doc, nT, 0, 0, -INFINITY, INFINITY, &T, &m, &m2, e)) < 0)
        goto out;
    if (m != m2) {
        rc = st_ynode_error(doc, nT, e, ST_EDATA, "T must be square, not %zu x %zu", m, m2);
        goto out;
    }
    if ((rc = st_ynode_matrix(doc, nZ, 0, m, -INFINITY, INFINITY, &Z, &p, &mz, e)) < 0)
        goto out;
    const st_ynode *n;
    if ((n = st_ymap_get(doc, map, "R"))) {
        if ((rc = st_ynode_matrix(doc, n, m, 0, -INFINITY, INFINITY, &R, &rr, &r, e)) < 0)
            goto out;
    } else {
        r = m;
    }
    if ((n = st_ymap_get(doc, map, "Q"))) {
        if ((rc = st_ynode_matrix(doc, n, r, r, -INFINITY, INFINITY, &Q, &rr, &cc, e)) < 0 ||
            (rc = check_cov_node(doc, n, Q, r, 1, "Q", e)) < 0)
            goto out;
    } else {
        rc = st_ynode_error(doc, map, e, ST_EDATA, "missing key 'Q'");
        goto out;
    }
    if ((n = st_ymap_get(doc, map, "H"))) {
        if ((rc = st_ynode_matrix(doc, n, p, p, -INFINITY, INFINITY, &H, &rr, &cc, e)) < 0 ||
            (rc = check_cov_node(doc, n, H, p, 1, "H", e)) < 0)
            goto out;
        for (size_t i = 0; i < p; i++)
            for (size_t j = 0; j < p; j++)
                if (i != j && H[i * p + j] != 0) {
                    rc = st_ynode_error(doc, n, e, ST_EDATA, "H must be diagonal (correlated observation noise is not supported)");
                    goto out;
                }
    } else {
        rc = st_ynode_error(doc, map, e, ST_EDATA, "missing key 'H'");
        goto out;
    }
    if ((n = st_ymap_get(doc, map, "c")) && (rc = st_ynode_vector(doc, n, m, -INFINITY, INFINITY, &c, &len, e)) < 0)
        goto out;
    if ((n = st_ymap_get(doc, map, "d")) && (rc = st_ynode_vector(doc, n, p, -INFINITY, INFINITY, &d, &len, e)) < 0)
        goto out;
    if ((n = st_ymap_get(doc, map, "a1")) && (rc = st_ynode_vector(doc, n, m, -INFINITY, INFINITY, &a1, &len, e)) < 0)
        goto out;
    if ((n = st_ymap_get(doc, map, "P1"))) {
        if ((rc = st_ynode_matrix(doc, n, m, m, -INFINITY, INFINITY, &P1, &rr, &cc, e)) < 0 ||
            (rc = check_cov_node(doc, n, P1, m, 0, "P1", e)) < 0)
            goto out;
    }
    if ((n = st_ymap_get(doc, map, "diffuse"))) {
        if ((rc = st_ynode_vector(doc, n, m, 0, 1, &df, &len, e)) < 0)
            goto out;
        for (size_t i = 0; i < m; i++)
            if (df[i] != 0 && df[i] != 1) {
                rc = st_ynode_error(doc, n, e, ST_EDATA, "diffuse flags must be 0 or 1");
                goto out;
            }
    }
    if ((rc = st_ymap_check_unknown(doc, map, e)) < 0)
        goto out;
    if ((rc = st_ssm_new(out, p, m, r, e)) < 0)
        goto out;
    st_ssm *s = *out;
    memcpy(s->T, T, m * m * sizeof(double));
    memcpy(s->Z, Z, p * m * sizeof(double));
    if (R)
        memcpy(s->R, R, m * r * sizeof(double));
    else
        st_mat_identity(s->R, m);
    memcpy(s->Q, Q, r * r * sizeof(double));
    memcpy(s->H, H, p * p * sizeof(double));
    if (c)
        memcpy(s->c, c, m * sizeof(double));
    if (d)
        memcpy(s->d, d, p * sizeof(double));
    if (a1)
        memcpy(s->a1, a1, m * sizeof(double));
    if (P1)
        memcpy(s->P1, P1, m * m * sizeof(double));
    for (size_t i = 0; i < m; i++)
        s->diffuse[i] = df ? df[i] != 0 : !P1;
    if ((rc = st_ssm_check(s, e)) < 0) {
        char msg[sizeof e->msg];
        snprintf(msg, sizeof msg, "%s", e->msg);
        st_ynode_error(doc, map, e, rc, "%s", msg);
        st_ssm_free(*out);
        *out = NULL;
    }
out:
    free(T);
    free(Z);
    free(R);
    free(Q);
    free(H);
    free(c);
    free(d);
    free(a1);
    free(P1);
    free(df);
    return rc;
}

int st_ssm_read_structural(const st_ydoc *doc, const st_ynode *root, size_t nreg, st_uc_spec *spec,
                           double *theta, st_err *e)
{
    const st_ynode *nspec;
    int rc0 = st_ymap_require(doc, root, "structural", &nspec, e);
    if (rc0 < 0)
        return rc0;
    const char *text;
    int rc = st_ynode_string(doc, nspec, &text, e);
    if (rc < 0)
        return rc;
    st_err pe;
    if (st_uc_parse(text, nreg, spec, &pe) < 0)
        return st_ynode_error(doc, nspec, e, ST_EDATA, "%s", pe.msg);
    const st_ynode *np;
    if ((rc = st_ymap_require(doc, root, "params", &np, e)) < 0)
        return rc;
    if (st_ynode_kind(np) != ST_YMAP)
        return st_ynode_error(doc, np, e, ST_EDATA, "params must be a mapping of name: value");
    for (size_t i = 0; i < spec->npar; i++) {
        const st_ynode *v;
        if ((rc = st_ymap_require(doc, np, spec->names[i], &v, e)) < 0)
            return rc;
        double lo = -INFINITY, hi = INFINITY;
        switch (spec->ptype[i]) {
        case ST_UC_PVAR: lo = 0; break;
        case ST_UC_PUNIT: lo = 0, hi = 0.999999; break;
        case ST_UC_PANGLE: lo = 0, hi = M_PI; break;
        default: lo = -0.999999, hi = 0.999999; break;
        }
        if ((rc = st_ynode_double(doc, v, lo, hi, &theta[i], e)) < 0)
            return rc;
    }
    if ((rc = st_ymap_check_unknown(doc, np, e)) < 0)
        return rc;
    /* AR blocks must be stationary */
    for (size_t i = 0; i < spec->npar; i++)
        if (spec->ptype[i] == ST_UC_PAR) {
            size_t P = 0;
            while (i + P < spec->npar && spec->ptype[i + P] == ST_UC_PAR)
                P++;
            double u[16];
            if (P > 16 || st_tr_stationary_ar_inv(theta + i, P, u) < 0)
                return st_ynode_error(doc, np, e, ST_EDATA, "AR coefficients are not stationary");
            i += P - 1;
        }
    return 0;
}

int st_ssm_read_matrices(const st_ydoc *doc, const st_ynode *root, st_ssm **s, st_err *e)
{
    *s = NULL;
    const st_ynode *nmat;
    int rc = st_ymap_require(doc, root, "matrices", &nmat, e);
    if (rc < 0)
        return rc;
    if (st_ynode_kind(nmat) != ST_YMAP)
        return st_ynode_error(doc, nmat, e, ST_EDATA, "matrices must be a mapping (T, Z, R, Q, H, c, d, a1, P1, diffuse)");
    return read_matrix(doc, nmat, s, e);
}

int st_ssm_file_read(st_ssm_file *f, const char *path, size_t nreg, st_err *e)
{
    memset(f, 0, sizeof *f);
    st_ydoc *doc;
    int rc = st_ydoc_load(&doc, path, e);
    if (rc < 0)
        return rc;
    const st_ynode *root = st_ydoc_root(doc);
    if ((rc = st_ymodel_header(doc, "ssm", e)) < 0)
        goto out;
    const st_ynode *nspec = st_ymap_get(doc, root, "structural");
    const st_ynode *nmat = st_ymap_get(doc, root, "matrices");
    const st_ynode *nlog = st_ymap_get(doc, root, "log");
    /* informational keys written with a fit */
    st_ymap_get(doc, root, "loglik");
    st_ymap_get(doc, root, "aicc");
    st_ymap_get(doc, root, "nobs");
    if (nlog && (rc = st_ynode_bool(doc, nlog, &f->log, e)) < 0)
        goto out;
    if (!!nspec == !!nmat) {
        rc = st_ynode_error(doc, root, e, ST_EDATA, "an ssm model needs exactly one of 'structural' or 'matrices'");
        goto out;
    }
    if (nspec)
        rc = st_ssm_read_structural(doc, root, nreg, &f->spec, f->theta, e);
    else {
        f->is_matrix = 1;
        rc = st_ssm_read_matrices(doc, root, &f->s, e);
    }
    if (rc == 0)
        rc = st_ymap_check_unknown(doc, root, e);
out:
    if (rc < 0)
        st_ssm_file_free(f);
    st_ydoc_free(doc);
    return rc;
}

int st_ssm_file_write_fit(FILE *fp, const st_uc_fit *fit, int log, st_err *e)
{
    st_yw w;
    char buf[256];
    st_yw_init(&w, fp);
    st_yw_key_string(&w, "model", "ssm");
    st_yw_key_long(&w, "version", 1);
    st_yw_key_string(&w, "structural", st_uc_format(&fit->spec, buf, sizeof buf));
    if (log)
        st_yw_key_bool(&w, "log", 1);
    st_yw_begin_map(&w, "params");
    for (size_t i = 0; i < fit->spec.npar; i++)
        st_yw_key_double(&w, fit->spec.names[i], fit->theta[i]);
    st_yw_end(&w);
    if (isfinite(fit->loglik))
        st_yw_key_double(&w, "loglik", fit->loglik);
    if (isfinite(fit->aicc))
        st_yw_key_double(&w, "aicc", fit->aicc);
    st_yw_key_long(&w, "nobs", (long)fit->nobs);
    int anyse = 0;
    for (size_t i = 0; i < fit->spec.npar; i++)
        anyse |= isfinite(fit->se[i]);
    if (anyse) {
        st_yw_comment(&w, "standard errors (observed information, delta method):");
        for (size_t i = 0; i < fit->spec.npar; i++)
            st_yw_comment(&w, "  %s: %.6g", fit->spec.names[i], fit->se[i]);
    }
    if (!fit->converged)
        st_yw_comment(&w, "optimiser did not converge (%s)", fit->status ? fit->status : "unknown");
    return st_yw_finish(&w, e);
}

int st_ssm_file_write_matrix(FILE *fp, const st_ssm *s, st_err *e)
{
    st_yw w;
    st_yw_init(&w, fp);
    st_yw_key_string(&w, "model", "ssm");
    st_yw_key_long(&w, "version", 1);
    st_yw_begin_map(&w, "matrices");
    st_yw_key_matrix(&w, "T", s->T, s->m, s->m);
    st_yw_key_matrix(&w, "Z", s->Z, s->p, s->m);
    st_yw_key_matrix(&w, "R", s->R, s->m, s->r);
    st_yw_key_matrix(&w, "Q", s->Q, s->r, s->r);
    st_yw_key_matrix(&w, "H", s->H, s->p, s->p);
    st_yw_key_vector(&w, "c", s->c, s->m);
    st_yw_key_vector(&w, "d", s->d, s->p);
    st_yw_key_vector(&w, "a1", s->a1, s->m);
    st_yw_key_matrix(&w, "P1", s->P1, s->m, s->m);
    double *df = malloc(s->m * sizeof(double));
    if (!df)
        return st_err_nomem(e, "model file");
    for (size_t i = 0; i < s->m; i++)
        df[i] = s->diffuse[i];
    st_yw_key_vector(&w, "diffuse", df, s->m);
    free(df);
    st_yw_end(&w);
    return st_yw_finish(&w, e);
}

/* ssm model files: read/write structural fits and matrix models. */
#include "config.h"

#include "ssm/model_io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/optim.h"
#include "core/yaml.h"
#include "ssm/mxpar.h"

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

/* What entries of the matrices may use: the parameters of a model file
 * (NULL or npar 0: numbers only), and the expression entries found. */
typedef struct mx_reader {
    st_mxpar *mp;
    size_t cap;
} mx_reader;

static int add_entry(mx_reader *rd, int mat, size_t idx, st_expr *ex, st_err *e)
{
    st_mxpar *mp = rd->mp;
    if (mp->nent == rd->cap) {
        size_t cap = rd->cap ? 2 * rd->cap : 16;
        st_mxpar_entry *ne = realloc(mp->ent, cap * sizeof *ne);
        if (!ne) {
            st_expr_free(ex);
            return st_err_nomem(e, "matrix model");
        }
        mp->ent = ne;
        rd->cap = cap;
    }
    mp->ent[mp->nent++] = (st_mxpar_entry){mat, idx, ex};
    mp->used[mat] = 1;
    return 0;
}

/* One entry: a number, or an expression of the parameters (its value at
 * the starting values). */
static int read_entry(const st_ydoc *doc, const st_ynode *n, mx_reader *rd, int mat, size_t idx,
                      double *out, st_err *e)
{
    if (st_ynode_kind(n) != ST_YSCALAR)
        return st_ynode_error(doc, n, e, ST_EDATA, "an entry of %s must be a number or an expression", st_mx_names[mat]);
    st_err ne;
    if (st_ynode_double(doc, n, -INFINITY, INFINITY, out, &ne) == 0)
        return 0;
    st_mxpar *mp = rd->mp;
    const char *names[ST_MXPAR_MAXPAR];
    for (size_t i = 0; i < mp->npar; i++)
        names[i] = mp->name[i];
    st_expr_env env = {NULL, 0, names, mp->value, mp->npar, 1, "matrix entry"};
    long line, col;
    st_ynode_text_pos(n, &line, &col);
    st_expr_src src = {st_ydoc_path(doc), line, col};
    st_expr *ex;
    int rc = st_expr_compile(&ex, st_ynode_text(n), &env, &src, e);
    if (rc < 0)
        return rc;
    double v;
    if (st_expr_constant(ex, &v)) {
        st_expr_free(ex);
    } else {
        st_expr_args a = {.par = mp->value};
        v = st_expr_eval1(ex, &a);
        if ((rc = add_entry(rd, mat, idx, ex, e)) < 0)
            return rc;
    }
    if (!isfinite(v))
        return st_ynode_error(doc, n, e, ST_EDATA, "entry of %s is not finite at the starting values", st_mx_names[mat]);
    *out = v;
    return 0;
}

/* A matrix (vec 0) or vector (vec 1) of entries, as st_ynode_matrix /
 * st_ynode_vector when the model has no parameters. */
static int read_mat(const st_ydoc *doc, const st_ynode *n, mx_reader *rd, int mat, int vec,
                    size_t want_rows, size_t want_cols, double **out, size_t *rows, size_t *cols,
                    st_err *e)
{
    *out = NULL;
    if (!rd || !rd->mp->npar) {
        if (!vec)
            return st_ynode_matrix(doc, n, want_rows, want_cols, -INFINITY, INFINITY, out, rows, cols, e);
        *rows = 1;
        return st_ynode_vector(doc, n, want_cols, -INFINITY, INFINITY, out, cols, e);
    }
    if (st_ynode_kind(n) != ST_YSEQ || st_ynode_len(n) == 0)
        return st_ynode_error(doc, n, e, ST_EDATA, "%s must be a non-empty %s", st_mx_names[mat], vec ? "list" : "list of rows");
    size_t nr = vec ? 1 : st_ynode_len(n), nc = vec ? st_ynode_len(n) : 0;
    if (!vec) {
        const st_ynode *r0 = st_yseq_at(n, 0);
        if (st_ynode_kind(r0) != ST_YSEQ || st_ynode_len(r0) == 0)
            return st_ynode_error(doc, r0, e, ST_EDATA, "a row of %s must be a non-empty list", st_mx_names[mat]);
        nc = st_ynode_len(r0);
    }
    if (want_rows && nr != want_rows)
        return st_ynode_error(doc, n, e, ST_EDATA, "%s must have %zu rows, not %zu", st_mx_names[mat], want_rows, nr);
    if (want_cols && nc != want_cols)
        return st_ynode_error(doc, n, e, ST_EDATA, "%s must have %zu %s, not %zu", st_mx_names[mat], want_cols, vec ? "entries" : "columns", nc);
    double *v = malloc(nr * nc * sizeof(double));
    if (!v)
        return st_err_nomem(e, "matrix model");
    int rc = 0;
    for (size_t i = 0; i < nr && rc == 0; i++) {
        const st_ynode *row = vec ? n : st_yseq_at(n, i);
        if (st_ynode_kind(row) != ST_YSEQ || st_ynode_len(row) != nc) {
            rc = st_ynode_error(doc, row, e, ST_EDATA, "row %zu of %s must be a list of %zu entries", i + 1, st_mx_names[mat], nc);
            break;
        }
        for (size_t j = 0; j < nc && rc == 0; j++)
            rc = read_entry(doc, st_yseq_at(row, j), rd, mat, i * nc + j, &v[i * nc + j], e);
    }
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    *rows = nr;
    *cols = nc;
    return 0;
}

static int read_matrix(const st_ydoc *doc, const st_ynode *map, mx_reader *rd, st_ssm **out,
                       st_err *e)
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
    if ((rc = read_mat(doc, nT, rd, ST_MX_T, 0, 0, 0, &T, &m, &m2, e)) < 0)
        goto out;
    if (m != m2) {
        rc = st_ynode_error(doc, nT, e, ST_EDATA, "T must be square, not %zu x %zu", m, m2);
        goto out;
    }
    if ((rc = read_mat(doc, nZ, rd, ST_MX_Z, 0, 0, m, &Z, &p, &mz, e)) < 0)
        goto out;
    const st_ynode *n;
    if ((n = st_ymap_get(doc, map, "R"))) {
        if ((rc = read_mat(doc, n, rd, ST_MX_R, 0, m, 0, &R, &rr, &r, e)) < 0)
            goto out;
    } else {
        r = m;
    }
    if ((n = st_ymap_get(doc, map, "Q"))) {
        if ((rc = read_mat(doc, n, rd, ST_MX_Q, 0, r, r, &Q, &rr, &cc, e)) < 0 ||
            (rc = check_cov_node(doc, n, Q, r, 1, "Q", e)) < 0)
            goto out;
    } else {
        rc = st_ynode_error(doc, map, e, ST_EDATA, "missing key 'Q'");
        goto out;
    }
    if ((n = st_ymap_get(doc, map, "H"))) {
        if ((rc = read_mat(doc, n, rd, ST_MX_H, 0, p, p, &H, &rr, &cc, e)) < 0 ||
            (rc = check_cov_node(doc, n, H, p, 1, "H", e)) < 0)
            goto out;
    } else {
        rc = st_ynode_error(doc, map, e, ST_EDATA, "missing key 'H'");
        goto out;
    }
    if ((n = st_ymap_get(doc, map, "c")) && (rc = read_mat(doc, n, rd, ST_MX_C, 1, 1, m, &c, &rr, &len, e)) < 0)
        goto out;
    if ((n = st_ymap_get(doc, map, "d")) && (rc = read_mat(doc, n, rd, ST_MX_D, 1, 1, p, &d, &rr, &len, e)) < 0)
        goto out;
    if ((n = st_ymap_get(doc, map, "a1")) && (rc = read_mat(doc, n, rd, ST_MX_A1, 1, 1, m, &a1, &rr, &len, e)) < 0)
        goto out;
    if ((n = st_ymap_get(doc, map, "P1"))) {
        if ((rc = read_mat(doc, n, rd, ST_MX_P1, 0, m, m, &P1, &rr, &cc, e)) < 0 ||
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
    if ((rc = st_ssm_check_model(s, e)) < 0) {
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
    return read_matrix(doc, nmat, NULL, s, e);
}

int st_ssm_read_mxpar(const st_ydoc *doc, const st_ynode *root, st_mxpar **out, st_err *e)
{
    *out = NULL;
    const st_ynode *nmat;
    int rc = st_ymap_require(doc, root, "matrices", &nmat, e);
    if (rc < 0)
        return rc;
    if (st_ynode_kind(nmat) != ST_YMAP)
        return st_ynode_error(doc, nmat, e, ST_EDATA, "matrices must be a mapping (T, Z, R, Q, H, c, d, a1, P1, diffuse)");
    st_mxpar *mp = calloc(1, sizeof *mp);
    if (!mp)
        return st_err_nomem(e, "matrix model");
    mx_reader rd = {mp, 0};
    const st_ynode *np = st_ymap_get(doc, root, "parameters");
    const st_ynode *nc = st_ymap_get(doc, root, "constraints");
    const st_ynode *nf = st_ymap_get(doc, root, "fixed");
    if (!np && (nc || nf)) {
        rc = st_ynode_error(doc, nc ? nc : nf, e, ST_EDATA, "'%s' needs 'parameters'", nc ? "constraints" : "fixed");
        goto fail;
    }
    if (np) {
        if (st_ynode_kind(np) != ST_YMAP || st_ynode_len(np) == 0) {
            rc = st_ynode_error(doc, np, e, ST_EDATA, "parameters must be a non-empty mapping of name: starting value");
            goto fail;
        }
        if (st_ynode_len(np) > ST_MXPAR_MAXPAR) {
            rc = st_ynode_error(doc, np, e, ST_EDATA, "a matrix model has at most %d parameters, not %zu", ST_MXPAR_MAXPAR, st_ynode_len(np));
            goto fail;
        }
        for (size_t i = 0; i < st_ynode_len(np); i++) {
            const char *k = st_ymap_key_at(np, i);
            const st_ynode *v = st_ymap_value_at(np, i);
            size_t len = strlen(k);
            int ok = len > 0 && len < sizeof mp->name[0] && !st_expr_reserved(k) && !(k[0] >= '0' && k[0] <= '9');
            for (size_t j = 0; j < len && ok; j++)
                ok = (k[j] >= 'a' && k[j] <= 'z') || (k[j] >= 'A' && k[j] <= 'Z') || (k[j] >= '0' && k[j] <= '9') || k[j] == '_';
            if (!ok) {
                rc = st_ynode_error(doc, v, e, ST_EDATA, "parameter name '%.40s' must be letters, digits and '_' (not starting with a digit, at most %zu bytes, not a function name)", k, sizeof mp->name[0] - 1);
                goto fail;
            }
            for (size_t j = 0; j < i; j++)
                if (strcmp(mp->name[j], k) == 0) {
                    rc = st_ynode_error(doc, v, e, ST_EDATA, "parameter '%s' is given twice", k);
                    goto fail;
                }
            memcpy(mp->name[i], k, len + 1);
            if ((rc = st_ynode_double(doc, v, -INFINITY, INFINITY, &mp->value[i], e)) < 0)
                goto fail;
            mp->npar++;
        }
        for (size_t i = 0; nc && i < st_ynode_len(nc); i++) {
            if (st_ynode_kind(nc) != ST_YMAP) {
                rc = st_ynode_error(doc, nc, e, ST_EDATA, "constraints must be a mapping parameter: positive | unit | signed-unit | free");
                goto fail;
            }
            const char *k = st_ymap_key_at(nc, i);
            const st_ynode *v = st_ymap_value_at(nc, i);
            size_t j = 0;
            while (j < mp->npar && strcmp(mp->name[j], k) != 0)
                j++;
            if (j == mp->npar) {
                rc = st_ynode_error(doc, v, e, ST_EDATA, "constraint on '%.40s', which is not a parameter", k);
                goto fail;
            }
            if ((rc = st_ynode_enum(doc, v, st_mxpar_constraint_names, &mp->cons[j], e)) < 0)
                goto fail;
            double x = mp->value[j];
            int c = mp->cons[j];
            if ((c == ST_MXPAR_POSITIVE && !(x > 0)) || (c == ST_MXPAR_UNIT && !(x > 0 && x < 1)) || (c == ST_MXPAR_SIGNED_UNIT && !(x > -1 && x < 1))) {
                rc = st_ynode_error(doc, v, e, ST_EDATA, "the starting value %g of '%s' is not %s", x, k, c == ST_MXPAR_POSITIVE ? "positive" : c == ST_MXPAR_UNIT ? "in (0, 1)" : "in (-1, 1)");
                goto fail;
            }
        }
        if (nc && st_ynode_kind(nc) != ST_YMAP) {
            rc = st_ynode_error(doc, nc, e, ST_EDATA, "constraints must be a mapping parameter: positive | unit | signed-unit | free");
            goto fail;
        }
        if (nf) {
            if (st_ynode_kind(nf) != ST_YSEQ) {
                rc = st_ynode_error(doc, nf, e, ST_EDATA, "fixed must be a list of parameter names");
                goto fail;
            }
            for (size_t i = 0; i < st_ynode_len(nf); i++) {
                const st_ynode *v = st_yseq_at(nf, i);
                const char *k;
                if ((rc = st_ynode_string(doc, v, &k, e)) < 0)
                    goto fail;
                size_t j = 0;
                while (j < mp->npar && strcmp(mp->name[j], k) != 0)
                    j++;
                if (j == mp->npar) {
                    rc = st_ynode_error(doc, v, e, ST_EDATA, "'%.40s' in fixed is not a parameter", k);
                    goto fail;
                }
                if (mp->hold[j]) {
                    rc = st_ynode_error(doc, v, e, ST_EDATA, "'%s' is listed twice in fixed", k);
                    goto fail;
                }
                mp->hold[j] = 1;
            }
        }
    }
    if ((rc = read_matrix(doc, nmat, &rd, &mp->s, e)) < 0)
        goto fail;
    /* every parameter is used */
    for (size_t j = 0; j < mp->npar; j++) {
        int used = 0;
        for (size_t k = 0; k < mp->nent && !used; k++)
            for (size_t d = 0; d < st_expr_nderiv(mp->ent[k].ex) && !used; d++)
                used = st_expr_deriv_par(mp->ent[k].ex, d) == j;
        if (!used) {
            rc = st_ynode_error(doc, np, e, ST_EDATA, "parameter '%s' appears in no matrix entry", mp->name[j]);
            goto fail;
        }
    }
    *out = mp;
    return 0;
fail:
    st_mxpar_free(mp);
    return rc;
}

int st_ssm_file_write_mxpar(FILE *fp, const st_mxpar *mp, st_err *e)
{
    return st_ssm_file_write_mxfit(fp, mp, NAN, NAN, 0, NULL, e);
}

int st_ssm_file_write_mxfit(FILE *fp, const st_mxpar *mp, double loglik, double aicc,
                            size_t nobs, const double *se, st_err *e)
{
    if (!mp->npar)
        return st_ssm_file_write_matrix(fp, mp->s, e);
    const st_ssm *s = mp->s;
    st_yw w;
    st_yw_init(&w, fp);
    st_yw_key_string(&w, "model", "ssm");
    st_yw_key_long(&w, "version", 1);
    st_yw_begin_map(&w, "parameters");
    for (size_t i = 0; i < mp->npar; i++)
        st_yw_key_double(&w, mp->name[i], mp->value[i]);
    st_yw_end(&w);
    int anycons = 0, anyhold = 0;
    for (size_t i = 0; i < mp->npar; i++)
        anycons |= mp->cons[i] != ST_MXPAR_FREE, anyhold |= mp->hold[i];
    if (anycons) {
        st_yw_begin_map(&w, "constraints");
        for (size_t i = 0; i < mp->npar; i++)
            if (mp->cons[i] != ST_MXPAR_FREE)
                st_yw_key_string(&w, mp->name[i], st_mxpar_constraint_names[mp->cons[i]]);
        st_yw_end(&w);
    }
    if (anyhold) {
        const char *held[ST_MXPAR_MAXPAR];
        size_t nh = 0;
        for (size_t i = 0; i < mp->npar; i++)
            if (mp->hold[i])
                held[nh++] = mp->name[i];
        st_yw_key_string_vector(&w, "fixed", held, nh);
    }
    st_yw_begin_map(&w, "matrices");
    const double *mats[ST_MX_NMAT] = {s->T, s->Z, s->R, s->Q, s->H, s->c, s->d, s->a1, s->P1};
    const size_t rows[ST_MX_NMAT] = {s->m, s->p, s->m, s->r, s->p, 1, 1, 1, s->m};
    const size_t cols[ST_MX_NMAT] = {s->m, s->m, s->r, s->r, s->p, s->m, s->p, s->m, s->m};
    int rc = 0;
    for (int k = 0; k < ST_MX_NMAT && rc == 0; k++) {
        size_t nn = rows[k] * cols[k];
        if (!mp->used[k]) {
            if (k >= ST_MX_C && k <= ST_MX_A1)
                st_yw_key_vector(&w, st_mx_names[k], mats[k], nn);
            else
                st_yw_key_matrix(&w, st_mx_names[k], mats[k], rows[k], cols[k]);
            continue;
        }
        char *buf = malloc(nn * 32);
        const char **txt = malloc(nn * sizeof *txt);
        if (!buf || !txt) {
            free(buf);
            free(txt);
            rc = st_err_nomem(e, "model file");
            break;
        }
        for (size_t i = 0; i < nn; i++) {
            st_yw_format_double(buf + 32 * i, mats[k][i]);
            txt[i] = buf + 32 * i;
        }
        for (size_t j = 0; j < mp->nent; j++)
            if (mp->ent[j].mat == k)
                txt[mp->ent[j].idx] = st_expr_text(mp->ent[j].ex);
        if (k >= ST_MX_C && k <= ST_MX_A1)
            st_yw_key_string_vector(&w, st_mx_names[k], txt, nn);
        else
            st_yw_key_string_matrix(&w, st_mx_names[k], txt, rows[k], cols[k]);
        free(buf);
        free(txt);
    }
    double *df = malloc(s->m * sizeof(double));
    if (!df && rc == 0)
        rc = st_err_nomem(e, "model file");
    if (rc == 0) {
        for (size_t i = 0; i < s->m; i++)
            df[i] = s->diffuse[i];
        st_yw_key_vector(&w, "diffuse", df, s->m);
    }
    free(df);
    st_yw_end(&w);
    if (isfinite(loglik))
        st_yw_key_double(&w, "loglik", loglik);
    if (isfinite(aicc))
        st_yw_key_double(&w, "aicc", aicc);
    if (nobs)
        st_yw_key_long(&w, "nobs", (long)nobs);
    int anyse = 0;
    for (size_t i = 0; se && i < mp->npar; i++)
        anyse |= isfinite(se[i]);
    if (anyse) {
        st_yw_comment(&w, "standard errors (observed information, delta method):");
        for (size_t i = 0; i < mp->npar; i++)
            if (isfinite(se[i]))
                st_yw_comment(&w, "  %s: %.6g", mp->name[i], se[i]);
    }
    int rc2 = st_yw_finish(&w, e);
    return rc < 0 ? rc : rc2;
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

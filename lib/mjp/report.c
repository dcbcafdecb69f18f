/* mjp reports as tables (mjp-infer --derive, --at, --covariates): derived
 * quantities with their intervals, msm's prevalence table, and the
 * parsing of the covariate and censoring specifications, so that the
 * program only reads options and writes the tables it gets. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/mpi.h"
#include "core/stream.h"
#include "mjp/mjp.h"

void st_mjp_table_free(st_mjp_table *t)
{
    if (!t)
        return;
    free(t->names);
    free(t->dt);
    free(t->v);
    st_strdict_free(t->labels);
    free(t);
}

/* 1 if every label is a decimal integer (states numbered as the data:
 * written as numbers). */
static int numeric_labels(const st_mjp *m)
{
    for (size_t i = 0; m->labels && i < m->K; i++) {
        const char *s = m->labels[i];
        if (!*s)
            return 0;
        for (; *s; s++)
            if (*s < '0' || *s > '9')
                return 0;
    }
    return 1;
}

int st_mjp_label_dict(const st_mjp *m, st_strdict **d, st_err *e)
{
    *d = NULL;
    if (!m->labels || numeric_labels(m))
        return 0;
    int rc = st_strdict_new(d, e);
    for (size_t i = 0; rc == 0 && i < m->K; i++) {
        double code;
        rc = st_strdict_intern(*d, m->labels[i], strlen(m->labels[i]), &code, e);
        if (rc == 0 && code != (double)i)
            rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "label '%s' given twice", m->labels[i]);
    }
    if (rc < 0) {
        st_strdict_free(*d);
        *d = NULL;
    }
    return rc;
}

/* A table of ncol columns (names: pointers kept, to static strings or the
 * model's covariate names) with
 * room for nrow rows; state columns are those whose name is one of from,
 * to, state: labels (a dictionary whose code i is state i) when the model
 * has labels that are not numbers, else integers state + base. */
static int table_new(st_mjp_table **out, const st_mjp *m, const char *const *names, const st_dtype *dt, size_t ncol,
                     size_t nrow, int base, st_err *e)
{
    st_mjp_table *t = calloc(1, sizeof *t);
    if (!t)
        return st_err_nomem(e, "table");
    t->ncol = ncol;
    t->base = base;
    t->names = malloc(ncol * sizeof *t->names);
    t->dt = malloc(ncol * sizeof *t->dt);
    t->v = malloc((nrow ? nrow : 1) * ncol * sizeof *t->v);
    if (!t->names || !t->dt || !t->v) {
        st_mjp_table_free(t);
        return st_err_nomem(e, "table");
    }
    int rc = st_mjp_label_dict(m, &t->labels, e);
    if (rc < 0) {
        st_mjp_table_free(t);
        return rc;
    }
    int lab = t->labels != NULL;
    for (size_t j = 0; j < ncol; j++) {
        t->names[j] = names[j];
        int state = !strcmp(names[j], "from") || !strcmp(names[j], "to") || !strcmp(names[j], "state");
        t->dt[j] = state ? (lab ? ST_STR : ST_I8) : dt ? dt[j] : ST_F8;
    }
    *out = t;
    return 0;
}

/* The cell value of state i in a state column. */
static double state_cell(const st_mjp_table *t, size_t i)
{
    return t->labels ? (double)i : (double)(i + (size_t)t->base);
}

/* Which entries of a quantity are written. */
static int derived_row(const st_mjp *m, int kind, size_t i)
{
    size_t K = m->K, r = i / K, c = i % K;
    int absorbing = st_mjp_absorbing(m, kind == ST_MJP_D_SOJOURN || kind == ST_MJP_D_EFPT ? i : r);
    switch (kind) {
    case ST_MJP_D_PNEXT:
        return !absorbing && r != c;
    case ST_MJP_D_SOJOURN:
        return !absorbing;
    case ST_MJP_D_QMATRIX:
        return r == c ? !absorbing : m->allowed[i];
    default:
        return 1;
    }
}

int st_mjp_derived_table(const st_mjp *m, const st_mjp_fit *fit, int kind, double *const *at, size_t nat,
                         const double *times, size_t ntimes, double horizon, int efpt_to, int base,
                         const st_mjp_ci_opts *co, st_mjp_table **out, st_err *e)
{
    *out = NULL;
    size_t K = m->K, C = m->C, nv = st_mjp_derived_size(m, kind);
    static const char *const pm[] = {"t", "from", "to", "p"}, *los[] = {"horizon", "from", "state", "los"},
                             *fp[] = {"to", "from", "efpt"}, *pn[] = {"from", "to", "p"}, *soj[] = {"state", "mean"},
                             *qm[] = {"from", "to", "q"};
    const char *const *cols;
    size_t ntail;
    switch (kind) {
    case ST_MJP_D_PMATRIX:
        cols = pm, ntail = 4;
        break;
    case ST_MJP_D_TOTLOS:
        cols = los, ntail = 4;
        break;
    case ST_MJP_D_EFPT:
        cols = fp, ntail = 3;
        break;
    case ST_MJP_D_PNEXT:
        cols = pn, ntail = 3;
        break;
    case ST_MJP_D_SOJOURN:
        cols = soj, ntail = 2;
        break;
    case ST_MJP_D_QMATRIX:
        cols = qm, ntail = 3;
        break;
    default:
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "unknown derived quantity %d", kind);
    }
    if (kind == ST_MJP_D_PMATRIX && !ntimes)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "P(t) needs the times");
    if (kind == ST_MJP_D_EFPT && (efpt_to < 0 || (size_t)efpt_to >= K))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "first passage: no state %d", efpt_to + base);
    size_t nc = C + ntail + 3, nt = kind == ST_MJP_D_PMATRIX ? ntimes : 1, nset = nat ? nat : 1;
    const char **names = malloc(nc * sizeof *names);
    double *est = malloc(4 * nv * sizeof *est);
    st_mjp_table *t = NULL;
    int rc = 0;
    if (!names || !est) {
        rc = st_err_nomem(e, "derived quantities");
        goto done;
    }
    for (size_t c = 0; c < C; c++)
        names[c] = m->cnames[c];
    for (size_t j = 0; j < ntail; j++)
        names[C + j] = cols[j];
    names[C + ntail] = "se", names[C + ntail + 1] = "lower", names[C + ntail + 2] = "upper";
    if ((rc = table_new(&t, m, names, NULL, nc, nset * nt * nv, base, e)) < 0)
        goto done;
    double *se = est + nv, *lo = se + nv, *hi = lo + nv;
    for (size_t a = 0; a < nset && rc == 0; a++)
        for (size_t ti = 0; ti < nt && rc == 0; ti++) {
            st_mjp_dspec sp = {.kind = kind, .state = efpt_to, .z = nat ? at[a] : NULL};
            sp.t = kind == ST_MJP_D_PMATRIX ? times[ti] : horizon;
            if ((rc = st_mjp_derived_ci(m, fit, &sp, co, est, se, lo, hi, e)) < 0)
                break;
            for (size_t i = 0; i < nv; i++) {
                if (!derived_row(m, kind, i))
                    continue;
                double *row = t->v + t->nrow++ * nc;
                for (size_t c = 0; c < C; c++)
                    row[c] = nat ? at[a][c] : m->cmean[c];
                double *r = row + C, rr = state_cell(t, i / K), cc = state_cell(t, i % K);
                switch (kind) {
                case ST_MJP_D_PMATRIX:
                    r[0] = sp.t, r[1] = rr, r[2] = cc;
                    break;
                case ST_MJP_D_TOTLOS:
                    r[0] = horizon, r[1] = rr, r[2] = cc;
                    break;
                case ST_MJP_D_EFPT:
                    r[0] = state_cell(t, (size_t)efpt_to), r[1] = state_cell(t, i);
                    break;
                case ST_MJP_D_SOJOURN:
                    r[0] = state_cell(t, i);
                    break;
                default:
                    r[0] = rr, r[1] = cc;
                    break;
                }
                r[ntail - 1] = est[i];
                r[ntail] = se[i], r[ntail + 1] = lo[i], r[ntail + 2] = hi[i];
            }
        }
done:
    free(names);
    free(est);
    if (rc < 0) {
        st_mjp_table_free(t);
        t = NULL;
    }
    *out = rc == 0 ? t : NULL;
    return rc;
}

int st_mjp_prevalence_table(const st_mjp *m, const st_mjp_data *d, const double *times, size_t nt, int base,
                            st_mjp_table **out, st_err *e)
{
    *out = NULL;
    size_t K = m->K;
    double mm[2] = {INFINITY, -INFINITY}, *all = NULL;
    size_t total = 0;
    for (size_t k = 0; k < d->nobs; k++)
        mm[0] = fmin(mm[0], d->t[k]), mm[1] = fmax(mm[1], d->t[k]);
    int rc = st_mpi_allgather(mm, 2, &all, &total, e);
    if (rc < 0)
        return rc;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i + 2 <= total; i += 2)
        lo = fmin(lo, all[i]), hi = fmax(hi, all[i + 1]);
    free(all);
    double deft[11];
    if (!nt) { /* msm's default: 11 times from the first to the last */
        for (int i = 0; i < 11; i++)
            deft[i] = lo + (hi - lo) * i / 10.0;
        times = deft, nt = 11;
    }
    double *obs = malloc(nt * K * sizeof *obs), *ex = malloc(nt * K * sizeof *ex);
    st_mjp_table *t = NULL;
    static const char *const names[] = {"t", "state", "observed", "expected", "observed_pct", "expected_pct"};
    if (!obs || !ex)
        rc = st_err_nomem(e, "prevalence");
    if (rc == 0)
        rc = st_mjp_prevalence(m, d, times, nt, lo, obs, ex, e);
    if (rc == 0)
        rc = table_new(&t, m, names, NULL, 6, nt * K, base, e);
    for (size_t j = 0; rc == 0 && j < nt; j++) {
        double no = 0, ne = 0;
        for (size_t i = 0; i < K; i++)
            no += obs[j * K + i], ne += ex[j * K + i];
        for (size_t i = 0; i < K; i++) {
            double *row = t->v + t->nrow++ * 6;
            row[0] = times[j], row[1] = state_cell(t, i), row[2] = obs[j * K + i], row[3] = ex[j * K + i];
            row[4] = no > 0 ? 100 * obs[j * K + i] / no : NAN;
            row[5] = ne > 0 ? 100 * ex[j * K + i] / ne : NAN;
        }
    }
    free(obs);
    free(ex);
    if (rc < 0)
        st_mjp_table_free(t);
    else
        *out = t;
    return rc;
}

int st_mjp_parse_at(const st_mjp *m, const char *spec, double *z, st_err *e)
{
    memcpy(z, m->cmean, m->C * sizeof *z);
    char buf[4096];
    if (strlen(spec) >= sizeof buf)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--at: too long");
    strcpy(buf, spec);
    char *p = buf;
    while (*p) {
        char *eq = strchr(p, '=');
        if (!eq)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--at must be NAME=VALUE,..., not '%s'", spec);
        *eq = 0;
        char *v = eq + 1, *comma = strchr(v, ',');
        if (comma)
            *comma = 0;
        int c = st_mjp_covariate_index(m, p);
        double x;
        if (c < 0)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--at: '%s' is not a covariate of the model", p);
        if (st_parse_double(v, &x) < 0 || !isfinite(x))
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--at: '%s' is not a number for %s", v, p);
        z[c] = x;
        p = comma ? comma + 1 : v + strlen(v);
    }
    return 0;
}

int st_mjp_setup_covariates(st_mjp *m, char *const *specs, size_t nspec, const char *misc, char *const *cons,
                            size_t ncons, const double *pci, size_t npci, int base, st_err *e)
{
    char *names[ST_MJP_MAX_COVS];
    size_t nn = 0;
    int rc = 0;
    if (m->C && (nspec || misc || npci))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                          "the model file has covariates already: give them there or here, not both");
    for (size_t i = 0; i <= nspec && rc == 0; i++) {
        const char *sp = i < nspec ? specs[i] : misc;
        if (!sp)
            continue;
        const char *colon = i < nspec ? strchr(sp, ':') : NULL;
        const char *p = colon ? colon + 1 : sp;
        char sep = colon ? '+' : ',';
        while (*p && rc == 0) {
            const char *q = strchr(p, sep);
            size_t len = q ? (size_t)(q - p) : strlen(p);
            int dup = 0;
            for (size_t j = 0; j < nn; j++)
                dup |= strlen(names[j]) == len && !strncmp(names[j], p, len);
            if (len == 0)
                rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "empty covariate name in '%s'", sp);
            else if (!dup && nn == ST_MJP_MAX_COVS)
                rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "at most %d covariates", ST_MJP_MAX_COVS);
            else if (!dup && !(names[nn++] = strndup(p, len)))
                rc = st_err_nomem(e, "covariates");
            p += len + (q ? 1 : 0);
        }
    }
    if (rc == 0 && nn)
        rc = st_mjp_set_covariates(m, (const char *const *)names, nn, e);
    for (size_t i = 0; i < nspec && rc == 0; i++)
        rc = st_mjp_add_effects(m, specs[i], base, e);
    if (rc == 0 && misc)
        rc = st_mjp_add_misc_effects(m, misc, e);
    if (rc == 0 && npci)
        rc = st_mjp_set_timecuts(m, pci, npci, e);
    for (size_t i = 0; i < ncons && rc == 0; i++)
        rc = st_mjp_set_constraint(m, cons[i], e);
    if (rc == 0)
        st_mjp_number_effects(m);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    return rc;
}

int st_mjp_parse_censor(const char *s, st_mjp_censor *c)
{
    memset(c, 0, sizeof *c);
    const char *eq = strchr(s, '=');
    if (!eq)
        return -1;
    char buf[64];
    size_t len = (size_t)(eq - s);
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (st_parse_double(buf, &c->code) < 0)
        return -1;
    const char *p = eq + 1;
    int any = 0;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || v < 0 || v >= ST_MJP_MAX_STATES)
            return -1;
        c->member[v] = 1;
        any = 1;
        p = *end ? end + 1 : end;
    }
    return any ? 0 : -1;
}

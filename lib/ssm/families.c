/* The table of model families, spec dispatch, model files and the
 * summary helpers every family uses (see family.h).  A new family is one
 * more entry in FAMILIES. */
#include "config.h"

#include "ssm/family.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const st_ssm_family *const FAMILIES[] = {
    &st_ssm_family_structural,
    &st_ssm_family_ets,
    &st_ssm_family_arima,
    &st_ssm_family_matrix,
    &st_ssm_family_s4d,
    NULL,
};

const st_ssm_family *const *st_ssm_families(void)
{
    return FAMILIES;
}

const st_ssm_family *st_ssm_family_find(const char *name)
{
    for (size_t i = 0; FAMILIES[i]; i++)
        if (!strcmp(FAMILIES[i]->name, name))
            return FAMILIES[i];
    return NULL;
}

int st_ssm_spec_parse(const char *text, size_t nreg, int period, const st_ssm_family **fam, void **spec,
                      st_err *e)
{
    *fam = NULL;
    *spec = NULL;
    for (size_t i = 0; FAMILIES[i]; i++) {
        if (!FAMILIES[i]->parse)
            continue;
        int rc = FAMILIES[i]->parse(text, nreg, period, spec, e);
        if (rc < 0)
            return rc;
        if (rc > 0) {
            *fam = FAMILIES[i];
            return 0;
        }
    }
    return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                      "unknown model '%s' (structural components such as trend+seasonal:12, "
                      "'structural', 'ets' or ets:ETS such as ets:MAdM, arima(p,d,q)(P,D,Q)[s] or 'auto-arima', 's4d:N', 'auto', or a "
                      "model file FILE.yaml)", text);
}

int st_ssm_model_read(const char *path, size_t nreg, const st_ssm_family **fam, void **spec,
                      int *log, st_err *e)
{
    *fam = NULL;
    *spec = NULL;
    *log = 0;
    st_ydoc *doc;
    int rc = st_ydoc_load(&doc, path, e);
    if (rc < 0)
        return rc;
    const st_ynode *root = st_ydoc_root(doc);
    if ((rc = st_ymodel_header(doc, "ssm", e)) < 0)
        goto out;
    const st_ynode *nlog = st_ymap_get(doc, root, "log");
    if (nlog && (rc = st_ynode_bool(doc, nlog, log, e)) < 0)
        goto out;
    /* the family is the one whose key the file has (exactly one) */
    const st_ssm_family *found = NULL;
    char keys[128] = "";
    size_t len = 0;
    for (size_t i = 0; FAMILIES[i]; i++) {
        const st_ssm_family *f = FAMILIES[i];
        if (!f->file_key)
            continue;
        len += (size_t)snprintf(keys + len, len < sizeof keys ? sizeof keys - len : 0, "%s'%s'", len ? ", " : "", f->file_key);
        if (len >= sizeof keys)
            len = sizeof keys - 1;
        if (!st_ymap_get(doc, root, f->file_key))
            continue;
        if (found) {
            rc = st_ynode_error(doc, root, e, ST_EDATA, "an ssm model has exactly one of %s, not both '%s' and '%s'", keys, found->file_key, f->file_key);
            goto out;
        }
        found = f;
    }
    if (!found) {
        rc = st_ynode_error(doc, root, e, ST_EDATA, "an ssm model needs one of %s", keys);
        goto out;
    }
    /* informational keys written with a fit */
    static const char *const info[] = {"loglik", "aic", "aicc", "bic", "nobs", "sigma2", NULL};
    for (size_t i = 0; info[i]; i++)
        st_ymap_get(doc, root, info[i]);
    if ((rc = found->read(doc, root, nreg, spec, e)) < 0)
        goto out;
    if ((rc = st_ymap_check_unknown(doc, root, e)) < 0) {
        found->spec_free(*spec);
        *spec = NULL;
        goto out;
    }
    *fam = found;
out:
    st_ydoc_free(doc);
    return rc;
}

int st_ssm_model_write(FILE *fp, const st_ssm_model *m, int log, st_err *e)
{
    if (!m->fam || !m->fam->write)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "a %s model has no model file", m->fam ? m->fam->name : "unfitted");
    return m->fam->write(fp, m, log, e);
}

void st_ssm_model_free(st_ssm_model *m)
{
    if (!m)
        return;
    if (m->fam && m->fam->free)
        m->fam->free(m);
    m->impl = NULL;
}

void st_ssm_model_set_ic(st_ssm_model *m)
{
    double K = (double)m->npar, N = (double)m->nobs;
    if (!m->has_lik || !isfinite(m->loglik)) {
        m->aic = m->aicc = m->bic = NAN;
        return;
    }
    m->aic = -2 * m->loglik + 2 * K;
    m->aicc = N - K - 1 > 0 ? m->aic + 2 * K * (K + 1) / (N - K - 1) : INFINITY;
    m->bic = -2 * m->loglik + K * log(N);
}

void st_ssm_model_show(st_ssm_model *m, const char *name, double value, double se)
{
    if (m->nshow >= ST_SSM_MAXSHOW)
        return;
    snprintf(m->pname[m->nshow], sizeof m->pname[0], "%s", name);
    m->pval[m->nshow] = value;
    m->pse[m->nshow] = se;
    m->nshow++;
}

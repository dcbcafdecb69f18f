/* Model choice for ssm-forecast (see forecast.h).
 *
 * An explicit model is fitted as given.  --model auto chooses a family
 * (structural, ETS; those --family allows) by rolling-origin forecast
 * accuracy, because the families' likelihoods are not comparable (the
 * structural one is the exact diffuse likelihood of a model with diffuse
 * initial states, the ETS one a likelihood conditional on estimated
 * initial states; their information criteria count different things):
 *
 *   - v = min(h, floor(n / 5)) points are forecast from each origin
 *     (h: the horizon, or the holdout length with --holdout);
 *   - the origins are the training lengths n - v and n - v - ceil(v / 2)
 *     (the second only if at least max(2 * period, 10) points remain);
 *   - at each origin every family makes its own automatic choice on the
 *     training part alone (structural: AICc over its candidates; ETS:
 *     AICc as forecast::ets) and forecasts v steps;
 *   - a family's score is its mean MASE over the origins (absolute
 *     errors on the modelled scale, i.e. of log y with --log, scaled by
 *     the in-sample seasonal-naive error of each training part); the
 *     lowest wins, ties go to the first family in the table; a family
 *     that fails at an origin is out;
 *   - the winner makes its automatic choice again on all n points.
 *
 * Too short to validate (no origin with 10 training points, or every
 * family failed): the first family in the table that fits all the data.
 * A single allowed family needs no validation: its automatic choice. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssm/forecast.h"

size_t st_ssm_cv_origins(size_t n, size_t h, int period, size_t *v, size_t *origins)
{
    size_t minrun = period > 5 ? 2 * (size_t)period : 10;
    size_t vv = h < n / 5 ? h : n / 5;
    *v = vv;
    if (vv < 1 || n - vv < minrun)
        return 0;
    size_t k = 0;
    origins[k++] = n - vv;
    size_t step = (vv + 1) / 2;
    if (n - vv >= minrun + step)
        origins[k++] = n - vv - step;
    return k;
}

static int fit_family(const st_ssm_family *f, const void *spec, const st_ssm_data *d,
                      const st_ssm_cfg *c, st_ssm_model *m, st_err *e)
{
    memset(m, 0, sizeof *m);
    m->fam = f;
    int rc = f->fit(spec, d, c, m, e);
    if (rc < 0) {
        st_ssm_model_free(m);
        memset(m, 0, sizeof *m);
        m->fam = NULL;
    }
    return rc;
}

/* Mean MASE of family f's automatic choice over the origins. */
static double cv_score(const st_ssm_family *f, const void *spec, const st_ssm_data *d,
                       const st_ssm_cfg *c, size_t v, const size_t *origins, size_t norig,
                       double *work)
{
    double total = 0;
    for (size_t j = 0; j < norig; j++) {
        st_ssm_data sub = *d;
        sub.n = origins[j];
        size_t hv = d->n - origins[j] < v ? d->n - origins[j] : v;
        st_ssm_model m;
        st_err e;
        if (fit_family(f, spec, &sub, c, &m, &e) < 0)
            return INFINITY;
        double *mean = work, *var = work + hv;
        int rc = f->forecast(&m, &sub, NULL, hv, NULL, 0, c, mean, var, NULL, NULL, &e);
        st_ssm_model_free(&m);
        if (rc < 0)
            return INFINITY;
        double s = st_ssm_mase(d->y, sub.n, d->period, d->y + sub.n, mean, hv);
        if (!isfinite(s))
            return INFINITY;
        total += s;
    }
    return total / (double)norig;
}

int st_ssm_choose(const st_ssmf_opts *o, const st_ssm_data *d, st_ssm_model *m, char *choice,
                  st_err *e)
{
    if (choice)
        choice[0] = 0;
    if (o->fam)
        return fit_family(o->fam, o->spec, d, &o->cfg, m, e);

    const st_ssm_family *const *all = st_ssm_families();
    const st_ssm_family *fams[16];
    void *specs[16];
    size_t nf = 0;
    int rc = 0;
    for (size_t i = 0; all[i] && nf < 16; i++) {
        if (!all[i]->auto_spec || (o->families && !(o->families & (1u << i))))
            continue;
        if ((rc = all[i]->auto_spec(d->nreg, &specs[nf], e)) < 0)
            break;
        fams[nf++] = all[i];
    }
    if (rc == 0 && nf == 0)
        rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--model auto: no family with an automatic choice is allowed");
    size_t v = 0, origins[4], norig = 0;
    if (rc == 0 && nf > 1)
        norig = st_ssm_cv_origins(d->n, o->h, d->period, &v, origins);
    double score[16];
    size_t best = 0;
    size_t len = 0;
    if (rc == 0 && norig > 0) {
        double *work = malloc(2 * (v ? v : 1) * sizeof *work);
        if (!work)
            rc = st_err_nomem(e, "model choice");
        for (size_t i = 0; i < nf && rc == 0; i++) {
            score[i] = cv_score(fams[i], specs[i], d, &o->cfg, v, origins, norig, work);
            if (score[i] < score[best] || !isfinite(score[best]))
                best = isfinite(score[i]) ? i : best;
        }
        free(work);
        if (rc == 0 && choice) {
            len = (size_t)snprintf(choice, 256, "auto: MASE over %zu origin%s x %zu step%s:", norig, norig == 1 ? "" : "s", v, v == 1 ? "" : "s");
            for (size_t i = 0; i < nf && len < 256; i++)
                len += (size_t)snprintf(choice + len, 256 - len, " %s %.4g", fams[i]->name, score[i]);
        }
        if (rc == 0 && !isfinite(score[best]))
            norig = 0; /* every family failed somewhere: fall back */
    }
    if (rc == 0) {
        if (norig > 0)
            rc = fit_family(fams[best], specs[best], d, &o->cfg, m, e);
        else {
            /* no validation: the first family that fits */
            for (best = 0; best < nf; best++)
                if ((rc = fit_family(fams[best], specs[best], d, &o->cfg, m, e)) == 0)
                    break;
            if (choice && nf > 1 && rc == 0 && len == 0)
                snprintf(choice, 256, "auto: too short to compare families, first that fits");
        }
    }
    for (size_t i = 0; i < nf; i++)
        fams[i]->spec_free(specs[i]);
    return rc;
}

/* Stochastic gradient ascent on the log-likelihood of a particle model
 * with PPG or PaRIS score estimates. */
#include "config.h"

#include "smc/fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/optim.h"
#include "smc/func.h"

void st_pf_fit_opts_init(st_pf_fit_opts *o)
{
    memset(o, 0, sizeof *o);
    st_pf_opts_init(&o->pf);
    o->pf.N = 100;
    o->method = ST_FIT_PPG_SGA;
    o->steps = 400;
    o->step0 = 20;
    o->decay = 0.6;
    o->sweeps = 1;
    o->burn = 10;
}

void st_pf_fit_result_free(st_pf_fit_result *r)
{
    if (!r)
        return;
    free(r->theta);
    free(r->trace);
    free(r->score);
    free(r);
}

#define to_eta st_pf_constraint_to_eta
#define from_eta st_pf_constraint_from_eta
#define dtheta_deta st_pf_constraint_dtheta

/* The seed of series s at step n: one stream family per (step, series). */
static uint64_t step_seed(uint64_t seed, size_t n, size_t s)
{
    return st_pf_derive_seed(seed, n, s);
}

int st_pf_fit(st_pf_model *m, const st_pf_data *d, size_t nseries, const st_pf_fit_opts *o, st_pf_fit_result **res,
              st_err *e)
{
    *res = NULL;
    size_t np = st_pf_model_npar(m), dx = st_pf_model_dx(m), steps = o->steps;
    if (np == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the model has no parameters to fit");
    if (steps == 0 || nseries == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "nothing to do: %zu steps, %zu series", steps, nseries);
    if (o->method == ST_FIT_PPG_SGA && o->sweeps == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "PPG score ascent needs at least 1 sweep per step");
    if (!(o->step0 > 0) || !(o->decay >= 0 && o->decay <= 1))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the step size must be > 0 and its decay in [0, 1]");
    size_t avg_from = o->average_from ? o->average_from : steps / 2 + 1;
    if (avg_from > steps)
        avg_from = steps;
    st_pf_fit_result *r = calloc(1, sizeof *r);
    st_pf_funcs *fs = NULL;
    double *eta = malloc(np * sizeof *eta), *etasum = calloc(np, sizeof *etasum), *th = malloc(np * sizeof *th);
    double *g = malloc(np * sizeof *g), **ref = calloc(nseries, sizeof *ref), **next = calloc(nseries, sizeof *next);
    int rc = 0;
    if (!r || !eta || !etasum || !th || !g || !ref || !next) {
        rc = st_err_nomem(e, "fit");
        goto out;
    }
    r->npar = np;
    r->steps = steps;
    r->theta = malloc(np * sizeof *r->theta);
    r->trace = malloc(steps * np * sizeof *r->trace);
    r->score = malloc(steps * np * sizeof *r->score);
    if (!r->theta || !r->trace || !r->score) {
        rc = st_err_nomem(e, "fit");
        goto out;
    }
    for (size_t s = 0; s < nseries; s++) {
        r->nobs += d[s].T;
        if (o->method == ST_FIT_PPG_SGA &&
            (!(ref[s] = malloc(d[s].T * dx * sizeof **ref)) || !(next[s] = malloc(d[s].T * dx * sizeof **next)))) {
            rc = st_err_nomem(e, "fit");
            goto out;
        }
    }
    if ((rc = st_pf_funcs_new(&fs, m, e)) < 0 || (rc = st_pf_funcs_add_score(fs, e)) < 0)
        goto out;
    for (size_t k = 0; k < np; k++)
        eta[k] = to_eta(st_pf_model_constraint(m, k), st_pf_model_par(m, k));
    size_t navg = 0;
    for (size_t n = 1; n <= steps; n++) {
        for (size_t k = 0; k < np; k++) {
            th[k] = st_pf_model_par(m, k);
            g[k] = 0;
        }
        memcpy(r->trace + (n - 1) * np, th, np * sizeof *th);
        for (size_t s = 0; s < nseries; s++) {
            st_pf_opts po = o->pf;
            po.funcs = fs;
            po.nq = 0;
            po.draws = 0;
            po.online = 0;
            po.seed = step_seed(o->pf.seed, n, s);
            if (o->method == ST_FIT_PPG_SGA) {
                po.smoother = ST_SM_PPG;
                po.burn = n == 1 ? o->burn : 0;
                po.iter = o->sweeps;
                po.ref_in = n == 1 ? NULL : ref[s];
                po.ref_out = next[s];
            } else {
                po.smoother = ST_SM_PARIS;
            }
            st_pf_result *pr = NULL;
            if ((rc = st_pf_run(m, &d[s], &po, &pr, e)) < 0) {
                if (nseries > 1)
                    st_err_prefix(e, "step %zu, series %zu: ", n, s + 1);
                else
                    st_err_prefix(e, "step %zu: ", n);
                goto out;
            }
            for (size_t k = 0; k < np; k++)
                g[k] += pr->func[k];
            st_pf_result_free(pr);
            if (o->method == ST_FIT_PPG_SGA) {
                double *tmp = ref[s];
                ref[s] = next[s];
                next[s] = tmp;
            }
        }
        for (size_t k = 0; k < np; k++) {
            if (o->fixed && o->fixed[k])
                g[k] = 0;
            if (!isfinite(g[k])) {
                rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "step %zu: the score of '%s' is not finite", n,
                                st_pf_model_parname(m, k));
                goto out;
            }
        }
        memcpy(r->score + (n - 1) * np, g, np * sizeof *g);
        /* the step, halved while the model refuses it */
        double gamma = o->step0 * pow((double)n, -o->decay);
        int ok = 0;
        for (int tries = 0; tries < 30 && !ok; tries++, gamma /= 2) {
            double t2[ST_EXPR_MAXDERIV > 256 ? ST_EXPR_MAXDERIV : 256];
            double *tn = np <= 256 ? t2 : malloc(np * sizeof *tn);
            if (!tn) {
                rc = st_err_nomem(e, "fit");
                goto out;
            }
            for (size_t k = 0; k < np; k++) {
                st_pf_constraint c = st_pf_model_constraint(m, k);
                double de = gamma * dtheta_deta(c, th[k]) * g[k] / (double)r->nobs;
                if (de > ST_PF_FIT_MAX_MOVE || de < -ST_PF_FIT_MAX_MOVE)
                    de = de > 0 ? ST_PF_FIT_MAX_MOVE : -ST_PF_FIT_MAX_MOVE;
                double en = eta[k] + de;
                tn[k] = o->fixed && o->fixed[k] ? th[k] : from_eta(c, en);
            }
            st_err tmp;
            st_err_clear(&tmp);
            if (st_pf_model_set_pars(m, tn, &tmp) == 0) {
                ok = 1;
                for (size_t k = 0; k < np; k++)
                    eta[k] = to_eta(st_pf_model_constraint(m, k), tn[k]);
            }
            if (tn != t2)
                free(tn);
        }
        if (!ok) {
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "step %zu: the model refuses every step along the score",
                            n);
            goto out;
        }
        if (n >= avg_from) {
            for (size_t k = 0; k < np; k++)
                etasum[k] += eta[k];
            navg++;
        }
    }
    for (size_t k = 0; k < np; k++)
        r->theta[k] = o->fixed && o->fixed[k] ? st_pf_model_par(m, k)
                                              : from_eta(st_pf_model_constraint(m, k), etasum[k] / (double)navg);
    if ((rc = st_pf_model_set_pars(m, r->theta, e)) < 0) {
        st_err_prefix(e, "the averaged estimate: ");
        goto out;
    }
    *res = r;
    r = NULL;
out:
    if (ref)
        for (size_t s = 0; s < nseries; s++) {
            free(ref[s]);
            free(next[s]);
        }
    free(ref);
    free(next);
    free(eta);
    free(etasum);
    free(th);
    free(g);
    st_pf_funcs_free(fs);
    st_pf_fit_result_free(r);
    return rc;
}

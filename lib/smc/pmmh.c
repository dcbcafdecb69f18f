/* Particle marginal Metropolis-Hastings with an adaptive random walk,
 * several chains in parallel threads (pmmh.h). */
#include "config.h"

#include "smc/pmmh.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/rng.h"
#include "core/threads.h"

/* Haario et al.'s scale: 2.38^2 / d times the covariance. */
#define PMMH_SD2 (2.38 * 2.38)
#define PMMH_EPS 1e-10

void st_pf_pmmh_opts_init(st_pf_pmmh_opts *o)
{
    memset(o, 0, sizeof *o);
    st_pf_opts_init(&o->pf);
    o->pf.N = 100;
    o->iter = 2000;
    o->burn = 1000;
    o->chains = 4;
    o->scale0 = 0.05;
    o->init_sd = 0.1;
}

void st_pf_pmmh_result_free(st_pf_pmmh_result *r)
{
    if (!r)
        return;
    free(r->theta);
    free(r->loglik);
    free(r->logprior);
    free(r->accepted);
    free(r->accept_rate);
    free(r->summary);
    free(r->estimate);
    free(r);
}

typedef struct pmmh_ctx {
    const st_pf_model *m;
    const st_pf_data *d;
    size_t nseries;
    const st_pf_pmmh_opts *o;
    size_t np, nf;  /* parameters, free ones */
    size_t *fidx;   /* the free parameters' indices */
    size_t adapt_from;
    st_pf_pmmh_result *r;
} pmmh_ctx;

/* The log-likelihood estimate at m's parameters for iteration `it` of a
 * chain (seed cseed): -Inf when the filter collapses (every weight zero). */
static int loglik(const pmmh_ctx *x, const st_pf_model *m, uint64_t cseed, size_t it, double *ll, st_err *e)
{
    st_pf_opts po = x->o->pf;
    po.smoother = ST_SM_NONE;
    po.loglik_only = 1;
    po.nq = 0;
    po.draws = 0;
    po.funcs = NULL;
    po.online = 0;
    po.ref_in = NULL;
    po.ref_out = NULL;
    *ll = 0;
    for (size_t s = 0; s < x->nseries; s++) {
        po.seed = st_pf_derive_seed(cseed, it, s);
        st_pf_result *pr = NULL;
        st_err tmp;
        st_err_clear(&tmp);
        int rc = st_pf_run(m, &x->d[s], &po, &pr, &tmp);
        if (rc == ST_ENUMERIC) {
            *ll = -INFINITY;
            return 0;
        }
        if (rc < 0) {
            *e = tmp;
            return rc;
        }
        *ll += pr->loglik;
        st_pf_result_free(pr);
    }
    if (isnan(*ll))
        *ll = -INFINITY;
    return 0;
}

/* theta from eta (the fixed parameters stay), the log prior and the log
 * Jacobian of the free ones; -Inf prior when outside. */
static void from_eta(const pmmh_ctx *x, const st_pf_model *m, const double *eta, double *theta, double *lp,
                     double *lj)
{
    *lj = 0;
    for (size_t f = 0; f < x->nf; f++) {
        size_t k = x->fidx[f];
        st_pf_constraint c = st_pf_model_constraint(m, k);
        theta[k] = st_pf_constraint_from_eta(c, eta[f]);
        double dj = st_pf_constraint_dtheta(c, theta[k]);
        *lj += dj > 0 ? log(dj) : -INFINITY;
        if (!st_pf_constraint_holds(c, theta[k]))
            *lj = -INFINITY; /* the transform saturated */
    }
    *lp = st_pf_model_logprior(m, theta);
    if (isnan(*lp))
        *lp = -INFINITY;
}

/* Log target at eta: sets the model, runs the filter unless the prior or
 * the model refuses the point (then -Inf without a run). */
static int target(const pmmh_ctx *x, st_pf_model *m, const double *eta, double *theta, uint64_t cseed, size_t it,
                  double *ll, double *lp, double *lj, st_err *e)
{
    from_eta(x, m, eta, theta, lp, lj);
    *ll = -INFINITY;
    if (!isfinite(*lp + *lj))
        return 0;
    st_err tmp;
    st_err_clear(&tmp);
    if (st_pf_model_set_pars(m, theta, &tmp) < 0)
        return 0;
    return loglik(x, m, cseed, it, ll, e);
}

/* The proposal factor L (nf x nf, lower): 2.38^2 / d (C + eps I). */
static int proposal_factor(size_t nf, const double *C, double *L)
{
    double s = PMMH_SD2 / (double)nf;
    for (size_t i = 0; i < nf; i++)
        for (size_t j = 0; j < nf; j++)
            L[i * nf + j] = s * (C[i * nf + j] + (i == j ? PMMH_EPS : 0));
    st_err tmp;
    return st_chol(L, nf, 3, NULL, &tmp);
}

static int run_chain(const pmmh_ctx *x, size_t c, st_err *e)
{
    const st_pf_pmmh_opts *o = x->o;
    size_t np = x->np, nf = x->nf, total = o->burn + o->iter;
    st_pf_pmmh_result *r = x->r;
    st_pf_model *m = NULL;
    int rc = st_pf_model_clone(&m, x->m, e);
    if (rc < 0)
        return rc;
    double *buf = malloc((3 * np + 4 * nf + 4 * nf * nf) * sizeof *buf);
    if (!buf) {
        st_pf_model_free(m);
        return st_err_nomem(e, "PMMH chain");
    }
    double *theta = buf, *tprop = theta + np, *start = tprop + np, *eta = start + np, *eprop = eta + nf,
           *mean = eprop + nf, *z = mean + nf, *C = z + nf, *L = C + nf * nf, *L0 = L + nf * nf,
           *cv = L0 + nf * nf;
    for (size_t k = 0; k < np; k++)
        theta[k] = tprop[k] = start[k] = st_pf_model_par(x->m, k);
    st_rng rng;
    st_rng_seed(&rng, st_pf_derive_seed(o->pf.seed, c, 0x504D4D48u)); /* "PMMH" */
    uint64_t cseed = st_pf_derive_seed(o->pf.seed, c, 0x4348u);       /* "CH" */
    for (size_t f = 0; f < nf; f++)
        eta[f] = st_pf_constraint_to_eta(st_pf_model_constraint(m, x->fidx[f]), start[x->fidx[f]]);
    /* the start: chain 0 at the model's values, the others spread */
    double ll = -INFINITY, lp = -INFINITY, lj = 0, *e0 = z;
    memcpy(e0, eta, nf * sizeof *e0);
    for (int tries = 0; tries < 100; tries++) {
        for (size_t f = 0; f < nf; f++)
            eprop[f] = e0[f] + (c > 0 ? o->init_sd * st_rng_normal(&rng) : 0);
        if ((rc = target(x, m, eprop, tprop, cseed, 0, &ll, &lp, &lj, e)) < 0)
            goto out;
        if (isfinite(ll + lp + lj) || c == 0)
            break;
    }
    if (!isfinite(ll + lp + lj)) {
        if (c == 0)
            rc = st_err_set(e, ST_EDATA, NULL, 0, 0,
                            "the model's parameter values have %s: start the chains where the model fits",
                            isfinite(lp + lj) ? "zero likelihood" : "zero prior density");
        else
            rc = st_err_set(e, ST_EDATA, NULL, 0, 0,
                            "chain %zu found no start with a positive likelihood and prior near the model's "
                            "values (--init-sd)",
                            c + 1);
        goto out;
    }
    memcpy(eta, eprop, nf * sizeof *eta);
    memcpy(theta, tprop, np * sizeof *theta);
    /* the proposal: scale0 I, then adapted during burn-in */
    memset(L0, 0, nf * nf * sizeof *L0);
    for (size_t f = 0; f < nf; f++)
        L0[f * nf + f] = o->scale0;
    memcpy(L, L0, nf * nf * sizeof *L);
    memset(mean, 0, nf * sizeof *mean);
    memset(C, 0, nf * nf * sizeof *C);
    size_t nadapt = 0, moves = 0, kept_acc = 0;
    for (size_t it = 1; it <= total; it++) {
        for (size_t f = 0; f < nf; f++)
            z[f] = st_rng_normal(&rng);
        for (size_t i = 0; i < nf; i++) {
            double v = eta[i];
            for (size_t j = 0; j <= i; j++)
                v += L[i * nf + j] * z[j];
            eprop[i] = v;
        }
        double llp, lpp, ljp;
        if ((rc = target(x, m, eprop, tprop, cseed, it, &llp, &lpp, &ljp, e)) < 0) {
            st_err_prefix(e, "chain %zu, iteration %zu: ", c + 1, it);
            goto out;
        }
        double u = st_rng_uniform_pos(&rng), la = (llp + lpp + ljp) - (ll + lp + lj);
        int acc = isfinite(llp + lpp + ljp) && log(u) < la;
        if (acc) {
            memcpy(eta, eprop, nf * sizeof *eta);
            memcpy(theta, tprop, np * sizeof *theta);
            ll = llp;
            lp = lpp;
            lj = ljp;
            moves++;
        }
        if (it <= o->burn) {
            /* Welford: the running mean and covariance of the states */
            nadapt++;
            for (size_t i = 0; i < nf; i++)
                z[i] = eta[i] - mean[i];
            for (size_t i = 0; i < nf; i++)
                mean[i] += z[i] / (double)nadapt;
            for (size_t i = 0; i < nf; i++)
                for (size_t j = 0; j < nf; j++)
                    C[i * nf + j] += z[i] * (eta[j] - mean[j]);
            /* adapt from adapt_from on, once the chain has moved enough
             * to estimate a covariance; the last update is the kernel of
             * the kept iterations */
            if (it >= x->adapt_from && moves >= 2 * nf + 2) {
                for (size_t q = 0; q < nf * nf; q++)
                    cv[q] = C[q] / (double)(nadapt - 1);
                if (proposal_factor(nf, cv, L) < 0)
                    memcpy(L, L0, nf * nf * sizeof *L);
            }
        } else {
            size_t i = it - o->burn - 1, row = c * o->iter + i;
            memcpy(r->theta + row * np, theta, np * sizeof *theta);
            r->loglik[row] = ll;
            r->logprior[row] = lp;
            r->accepted[row] = (unsigned char)acc;
            kept_acc += (size_t)acc;
        }
    }
    r->accept_rate[c] = o->iter ? (double)kept_acc / (double)o->iter : NAN;
    rc = 0;
out:
    free(buf);
    st_pf_model_free(m);
    return rc;
}

int st_pf_pmmh(const st_pf_model *m, const st_pf_data *d, size_t nseries, const st_pf_pmmh_opts *o,
               st_pf_pmmh_result **res, st_err *e)
{
    *res = NULL;
    size_t np = st_pf_model_npar(m), chains = o->chains, iter = o->iter;
    if (np == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the model has no parameters to sample");
    if (chains == 0 || iter == 0 || nseries == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "nothing to do: %zu chains of %zu iterations, %zu series", chains,
                          iter, nseries);
    if (!(o->scale0 > 0) || !(o->init_sd >= 0))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the proposal scale must be > 0 and the start spread >= 0");
    pmmh_ctx x = {.m = m, .d = d, .nseries = nseries, .o = o, .np = np};
    x.fidx = malloc(np * sizeof *x.fidx);
    st_pf_pmmh_result *r = calloc(1, sizeof *r);
    st_err *cerr = calloc(chains, sizeof *cerr);
    int *crc = calloc(chains, sizeof *crc), rc = 0;
    double *col = malloc(chains * iter * sizeof *col);
    if (!x.fidx || !r || !cerr || !crc || !col) {
        rc = st_err_nomem(e, "PMMH");
        goto out;
    }
    for (size_t k = 0; k < np; k++)
        if (!(o->fixed && o->fixed[k]))
            x.fidx[x.nf++] = k;
    if (x.nf == 0) {
        rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "every parameter is held fixed: nothing to sample");
        goto out;
    }
    x.adapt_from = o->adapt_from ? o->adapt_from : (o->burn / 2 < 200 ? o->burn / 2 : 200);
    if (x.adapt_from < 2)
        x.adapt_from = 2;
    r->npar = np;
    r->chains = chains;
    r->iter = iter;
    r->theta = malloc(chains * iter * np * sizeof *r->theta);
    r->loglik = malloc(chains * iter * sizeof *r->loglik);
    r->logprior = malloc(chains * iter * sizeof *r->logprior);
    r->accepted = malloc(chains * iter);
    r->accept_rate = malloc(chains * sizeof *r->accept_rate);
    r->summary = calloc(np, sizeof *r->summary);
    r->estimate = malloc(np * sizeof *r->estimate);
    if (!r->theta || !r->loglik || !r->logprior || !r->accepted || !r->accept_rate || !r->summary || !r->estimate) {
        rc = st_err_nomem(e, "PMMH");
        goto out;
    }
    x.r = r;
    int nth = st_max_threads();
    if (nth > 1 && chains >= (size_t)nth) {
        /* a chain per thread, each filter on its thread alone */
#pragma omp parallel for schedule(dynamic, 1)
        for (long c = 0; c < (long)chains; c++) {
#ifdef _OPENMP
            omp_set_num_threads(1);
#endif
            crc[c] = run_chain(&x, (size_t)c, &cerr[c]);
        }
    } else {
        for (size_t c = 0; c < chains; c++)
            if ((crc[c] = run_chain(&x, c, &cerr[c])) < 0)
                break;
    }
    for (size_t c = 0; c < chains; c++)
        if (crc[c] < 0) {
            *e = cerr[c];
            rc = crc[c];
            goto out;
        }
    for (size_t k = 0; k < np; k++) {
        for (size_t q = 0; q < chains * iter; q++)
            col[q] = r->theta[q * np + k];
        if ((rc = st_mcmc_summarise(col, chains, iter, &r->summary[k], e)) < 0)
            goto out;
        r->estimate[k] = r->summary[k].mean;
    }
    *res = r;
    r = NULL;
out:
    free(x.fidx);
    free(cerr);
    free(crc);
    free(col);
    st_pf_pmmh_result_free(r);
    return rc;
}

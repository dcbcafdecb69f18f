/* Iterated filtering (IF2) with per-particle parameters (if2.h). */
#include "config.h"

#include "smc/if2.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/threads.h"
#include "smc/pf_internal.h"
#include "smc/resample.h"

void st_pf_if2_opts_init(st_pf_if2_opts *o)
{
    memset(o, 0, sizeof *o);
    st_pf_opts_init(&o->pf);
    o->pf.N = 1000;
    o->iter = 100;
    o->rw_sd = 0.02;
    o->cooling = 0.5;
}

void st_pf_if2_result_free(st_pf_if2_result *r)
{
    if (!r)
        return;
    free(r->theta);
    free(r->trace);
    free(r->loglik);
    free(r);
}

/* eta kept where the inverse transform stays strictly inside the
 * constraint (a walk can drift far when the likelihood is flat). */
static double clamp_eta(st_pf_constraint c, double v)
{
    double lim = c == ST_PF_POSITIVE ? 700 : c == ST_PF_FREE ? INFINITY : 30;
    return v > lim ? lim : v < -lim ? -lim : v;
}

typedef struct if2_run {
    const st_pf_model *m;
    size_t N, dx, np, nf, nb;
    const size_t *fidx;
    const st_pf_constraint *con;
    double *X, *Xprev, *P, *E, *E2, *lw, *W;
    uint32_t *A;
    st_pf_work **w; /* per thread */
    int *brc;
    st_err *berr;
} if2_run;

/* Block b at step t: perturb the free parameters, draw the states (initial
 * at t == 0, else from Xprev), weigh. */
static int if2_block(if2_run *x, const st_pf_step *s, size_t t, size_t b, double sd, uint64_t sseed, st_err *e)
{
    size_t N = x->N, off = b * ST_PF_BLOCK, n = N - off < ST_PF_BLOCK ? N - off : ST_PF_BLOCK;
    st_rng r;
    st_rng_seed(&r, st_pf_derive_seed(sseed, b, 1));
    for (size_t f = 0; f < x->nf; f++) {
        size_t k = x->fidx[f];
        double *E = x->E + f * N + off, *P = x->P + k * N + off;
        for (size_t p = 0; p < n; p++) {
            E[p] = clamp_eta(x->con[k], E[p] + sd * st_rng_normal(&r));
            P[p] = st_pf_constraint_from_eta(x->con[k], E[p]);
        }
    }
    st_pf_work *w = x->w[st_thread_id()];
    w->par = x->P + off;
    w->par_stride = N;
    int rc;
    if (t == 0)
        rc = st_pf_model_init(x->m, s, x->X + off, N, n, &r, w, e);
    else
        rc = st_pf_model_transition(x->m, s, x->Xprev + off, N, x->X + off, N, n, &r, w, e);
    if (rc < 0)
        return rc;
    memset(x->lw + off, 0, n * sizeof *x->lw);
    return st_pf_model_logobs(x->m, s, x->X + off, N, n, x->lw + off, w, e);
}

int st_pf_if2(st_pf_model *m, const st_pf_data *d, size_t nseries, const st_pf_if2_opts *o, st_pf_if2_result **res,
              st_err *e)
{
    *res = NULL;
    size_t np = st_pf_model_npar(m), N = o->pf.N, dx = st_pf_model_dx(m), dy = st_pf_model_dy(m),
           ncov = st_pf_model_ncov(m);
    if (np == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the model has no parameters to fit");
    if (N < 2 || o->iter == 0 || nseries == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "nothing to do: %zu particles, %zu iterations, %zu series", N,
                          o->iter, nseries);
    if (!(o->rw_sd > 0) || !(o->cooling > 0 && o->cooling <= 1))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the walk's sd must be > 0 and the cooling fraction in (0, 1]");
    size_t ntot = 0;
    for (size_t s = 0; s < nseries; s++)
        ntot += d[s].T;
    if (ntot == 0)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "no observations");
    int nth = st_max_threads();
    if2_run x;
    memset(&x, 0, sizeof x);
    x.m = m;
    x.N = N;
    x.dx = dx;
    x.np = np;
    x.nb = (N + ST_PF_BLOCK - 1) / ST_PF_BLOCK;
    size_t *fidx = malloc(np * sizeof *fidx);
    st_pf_constraint *con = malloc(np * sizeof *con);
    double *mem = malloc((2 * dx * N + np * N + 2 * np * N + 2 * N) * sizeof *mem);
    x.A = malloc(N * sizeof *x.A);
    x.w = calloc((size_t)nth, sizeof *x.w);
    x.brc = calloc(x.nb, sizeof *x.brc);
    x.berr = calloc(x.nb, sizeof *x.berr);
    st_pf_model **shadow = calloc((size_t)nth, sizeof *shadow);
    st_pf_if2_result *r = calloc(1, sizeof *r);
    double *theta = malloc(np * sizeof *theta);
    int rc = 0;
    if (!fidx || !con || !mem || !x.A || !x.w || !x.brc || !x.berr || !shadow || !r || !theta) {
        rc = st_err_nomem(e, "IF2");
        goto out;
    }
    for (int i = 0; i < nth; i++) {
        if (!(x.w[i] = calloc(1, sizeof *x.w[i]))) {
            rc = st_err_nomem(e, "IF2");
            goto out;
        }
        if (st_pf_model_needs_shadow(m)) {
            if ((rc = st_pf_model_clone(&shadow[i], m, e)) < 0)
                goto out;
            x.w[i]->shadow = shadow[i];
        }
    }
    x.X = mem;
    x.Xprev = x.X + dx * N;
    x.P = x.Xprev + dx * N;
    x.E = x.P + np * N;
    x.E2 = x.E + np * N;
    x.lw = x.E2 + np * N;
    x.W = x.lw + N;
    for (size_t k = 0; k < np; k++) {
        con[k] = st_pf_model_constraint(m, k);
        theta[k] = st_pf_model_par(m, k);
        if (!(o->fixed && o->fixed[k]))
            fidx[x.nf++] = k;
        for (size_t p = 0; p < N; p++)
            x.P[k * N + p] = theta[k];
    }
    if (x.nf == 0) {
        rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "every parameter is held fixed: nothing to fit");
        goto out;
    }
    x.fidx = fidx;
    x.con = con;
    for (size_t f = 0; f < x.nf; f++) {
        double v = st_pf_constraint_to_eta(con[fidx[f]], theta[fidx[f]]);
        for (size_t p = 0; p < N; p++)
            x.E[f * N + p] = v;
    }
    r->npar = np;
    r->iter = o->iter;
    r->nobs = ntot;
    r->theta = malloc(np * sizeof *r->theta);
    r->trace = malloc(o->iter * np * sizeof *r->trace);
    r->loglik = malloc(o->iter * sizeof *r->loglik);
    if (!r->theta || !r->trace || !r->loglik) {
        rc = st_err_nomem(e, "IF2");
        goto out;
    }
    for (size_t it = 0; it < o->iter; it++) {
        double ll = 0;
        size_t nbefore = 0;
        for (size_t s = 0; s < nseries; s++) {
            for (size_t t = 0; t < d[s].T; t++, nbefore++) {
                st_pf_step st;
                pf_step_ctx_data(&d[s], dy, ncov, t, &st);
                double sd = o->rw_sd * pow(o->cooling, ((double)it + (double)nbefore / (double)ntot) / 50.0);
                uint64_t sseed = st_pf_derive_seed(st_pf_derive_seed(o->pf.seed, it, s), t, 0);
#pragma omp parallel for schedule(static) if (x.nb >= PF_PAR_BLOCKS)
                for (long b = 0; b < (long)x.nb; b++)
                    x.brc[b] = if2_block(&x, &st, t, (size_t)b, sd, sseed, &x.berr[b]);
                for (size_t b = 0; b < x.nb; b++)
                    if (x.brc[b] < 0) {
                        *e = x.berr[b];
                        rc = x.brc[b];
                        st_err_prefix(e, "IF2 iteration %zu, series %zu: ", it + 1, s + 1);
                        goto out;
                    }
                double lse = st_normalise(x.lw, N, x.W);
                if (!isfinite(lse)) {
                    rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0,
                                    "IF2 iteration %zu, series %zu: the filter collapsed at time step %zu (t = %g): "
                                    "every particle has zero weight; use more particles or a smaller --rw-sd",
                                    it + 1, s + 1, t + 1, st.t);
                    goto out;
                }
                ll += lse - log((double)N);
                st_rng rr;
                st_rng_seed(&rr, st_pf_derive_seed(sseed, 0x5253u, 2)); /* "RS" */
                st_resample(ST_RS_SYSTEMATIC, x.W, N, N, x.A, &rr);
                for (size_t i = 0; i < dx; i++)
                    for (size_t p = 0; p < N; p++)
                        x.Xprev[i * N + p] = x.X[i * N + x.A[p]];
                for (size_t f = 0; f < x.nf; f++)
                    for (size_t p = 0; p < N; p++)
                        x.E2[f * N + p] = x.E[f * N + x.A[p]];
                double *tmp = x.E;
                x.E = x.E2;
                x.E2 = tmp;
            }
        }
        r->loglik[it] = ll;
        /* the swarm's mean on eta */
        for (size_t f = 0; f < x.nf; f++) {
            size_t k = fidx[f];
            double sum = 0;
            for (size_t p = 0; p < N; p++)
                sum += x.E[f * N + p];
            theta[k] = st_pf_constraint_from_eta(con[k], sum / (double)N);
        }
        memcpy(r->trace + it * np, theta, np * sizeof *theta);
    }
    if ((rc = st_pf_model_set_pars(m, theta, e)) < 0)
        goto out;
    memcpy(r->theta, theta, np * sizeof *theta);
    *res = r;
    r = NULL;
out:
    if (x.w)
        for (int i = 0; i < nth; i++)
            free(x.w[i]);
    for (int i = 0; shadow && i < nth; i++)
        st_pf_model_free(shadow[i]);
    free(shadow);
    free(x.w);
    free(x.brc);
    free(x.berr);
    free(x.A);
    free(mem);
    free(fidx);
    free(con);
    free(theta);
    st_pf_if2_result_free(r);
    return rc;
}

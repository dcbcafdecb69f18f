/* Parametric bootstrap (mjp-infer --ci bootstrap): data sets simulated
 * from the fitted model on the design of the data (subjects, observation
 * times, covariates, exact death times), each refitted from the estimates;
 * the refits' parameter vectors give percentile intervals for derived
 * quantities (st_mjp_derived_ci). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mpi.h"
#include "core/rng.h"
#include "core/stream.h"
#include "mjp/mjp.h"

/* One jump from state x by row x of Q (rate r = -Q[x,x] > 0). */
static size_t jump(const double *Q, size_t K, size_t x, double r, st_rng *g)
{
    double u = st_rng_uniform(g) * r, acc = 0;
    size_t last = x;
    for (size_t j = 0; j < K; j++) {
        if (j == x || !(Q[x * K + j] > 0))
            continue;
        acc += Q[x * K + j];
        last = j;
        if (u < acc)
            return j;
    }
    return last;
}

/* Simulate one data set as a table: columns seq, t, state, obstype, then
 * the covariates that are data columns (not the time periods). */
static int simulate(const st_mjp *m, const st_mjp_data *d, st_rng *g, st_table **out, st_err *e)
{
    size_t K = m->K, C = m->C, Cd = C - m->ncut, nc = 4 + Cd;
    st_table *t = calloc(1, sizeof *t);
    double *Q = malloc(K * K * sizeof *Q);
    if (!t || !Q) {
        free(t);
        free(Q);
        return st_err_nomem(e, "bootstrap");
    }
    t->ncols = nc;
    t->names = calloc(nc, sizeof *t->names);
    t->dtypes = calloc(nc, sizeof *t->dtypes);
    t->data = malloc((d->nobs ? d->nobs : 1) * nc * sizeof *t->data);
    t->source = strdup("bootstrap");
    int rc = 0;
    if (!t->names || !t->dtypes || !t->data || !t->source)
        rc = st_err_nomem(e, "bootstrap");
    static const char *const base[] = {"seq", "t", "state", "obstype"};
    for (size_t j = 0; rc == 0 && j < nc; j++)
        if (!(t->names[j] = strdup(j < 4 ? base[j] : m->cnames[j - 4])))
            rc = st_err_nomem(e, "bootstrap");
    size_t nins = d->ncensor; /* observations added at time cuts: the last censor code, NaN */
    int has_cuts = nins && isnan(d->censor[nins - 1].code);
    for (size_t s = 0; rc == 0 && s < d->nsubj; s++) {
        size_t k0 = d->start[s], k1 = d->start[s + 1];
        int exact_death = 0;
        for (size_t k = k0; k < k1; k++)
            exact_death |= d->obstype[k] == ST_MJP_OBS_DEATH;
        /* the first state as observed (a censored one: its first member) */
        size_t x = 0;
        if (d->y[k0] >= 0)
            x = (size_t)d->y[k0];
        else
            while (x + 1 < K && !d->censor[-d->y[k0] - 1].member[x])
                x++;
        double now = d->t[k0];
        int done = 0;
        for (size_t k = k0; k < k1 && !done; k++) {
            int inserted = has_cuts && d->y[k] == -(int)nins;
            if (k > k0) {
                st_mjp_rates_at(m, C ? d->Z + d->pat[k - 1] * C : NULL, Q);
                for (;;) {
                    double r = -Q[x * K + x];
                    if (!(r > 0))
                        break;
                    double tau = st_rng_exponential(g) / r;
                    if (now + tau >= d->t[k])
                        break;
                    now += tau;
                    x = jump(Q, K, x, r, g);
                    if (exact_death && st_mjp_absorbing(m, x)) {
                        /* the exact time of death ends the subject */
                        double *row = t->data + t->nrows++ * nc;
                        row[0] = d->seq[s], row[1] = now, row[2] = (double)x, row[3] = ST_MJP_OBS_DEATH;
                        for (size_t c = 0; c < Cd; c++)
                            row[4 + c] = d->Z[d->pat[k - 1] * C + c];
                        done = 1;
                        break;
                    }
                }
                if (done)
                    break;
                now = d->t[k];
            }
            if (inserted)
                continue;
            double *row = t->data + t->nrows++ * nc;
            row[0] = d->seq[s], row[1] = d->t[k], row[2] = (double)x, row[3] = ST_MJP_OBS_SNAPSHOT;
            for (size_t c = 0; c < Cd; c++)
                row[4 + c] = C ? d->Z[d->pat[k] * C + c] : 0;
            if (st_mjp_absorbing(m, x))
                done = 1; /* follow-up ends in an absorbing state */
        }
    }
    free(Q);
    if (rc < 0) {
        st_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int st_mjp_bootstrap(const st_mjp *m, const st_mjp_fit *f, const st_mjp_data *d, size_t B, uint64_t seed,
                     double **theta, size_t *nok, st_err *e)
{
    *theta = NULL;
    *nok = 0;
    size_t n = f->nfree;
    if (d->mode == ST_MJP_HIDDEN)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the parametric bootstrap is for exact and panel data, not --hidden");
    if (st_mpi_size() > 1)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the parametric bootstrap runs in one process (not under MPI)");
    if (m->P)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "the parametric bootstrap is for rate matrices, not rate formulas");
    double *th = malloc((B ? B : 1) * (n ? n : 1) * sizeof *th);
    if (!th)
        return st_err_nomem(e, "bootstrap");
    st_mjp_fit_opts fo = {.method = ST_MJP_FIT_AUTO, .want_se = 0};
    int rc = 0;
    size_t ok = 0;
    for (size_t b = 0; b < B && rc == 0; b++) {
        st_rng g;
        st_rng_stream(&g, seed, b);
        st_table *tab = NULL;
        st_mjp *mb = NULL;
        st_mjp_data *db = NULL;
        st_mjp_fit *fb = NULL;
        st_err le;
        if ((rc = simulate(m, d, &g, &tab, e)) < 0)
            break;
        if ((rc = st_mjp_copy(&mb, m, e)) < 0) {
            st_table_free(tab);
            break;
        }
        st_mjp_data_opts o = {d->mode, 0, NULL, 0, -1};
        /* a replicate the model cannot fit (a transition never drawn, a
         * rate at 0) is left out, as msm's bootstrap does */
        if (st_mjp_data_from_table_opts(&db, tab, mb, &o, &le) == 0 && st_mjp_fit_run(mb, db, &fo, &fb, &le) == 0 &&
            st_mjp_fit_get_theta(f, mb, th + ok * n) == 0) {
            int fin = 1;
            for (size_t i = 0; i < n; i++)
                fin &= isfinite(th[ok * n + i]);
            ok += (size_t)fin;
        }
        st_mjp_fit_free(fb);
        st_mjp_data_free(db);
        st_mjp_free(mb);
        st_table_free(tab);
    }
    if (rc < 0) {
        free(th);
        return rc;
    }
    *theta = th;
    *nok = ok;
    return 0;
}

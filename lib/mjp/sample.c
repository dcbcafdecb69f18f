/* Path sampling (Gillespie's direct method) and observation schemes. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "mjp/mjp.h"

#define CHUNK 256 /* paths drawn in parallel before their rows are written, at most */
#define INFLIGHT_BYTES (256.0 * 1048576) /* memory of the paths in flight, at most */
#define DEFAULT_MAX_JUMPS 1000000

typedef struct path {
    size_t n, cap;
    double *t;  /* jump times (t[0] = 0) */
    int *s;     /* state from t[i] on */
    size_t nobs;
    double *ot; /* observation times */
    int *os;    /* state at each observation */
    int *oy;    /* observed symbol */
    int fail;   /* 1 no memory, 2 more jumps than allowed */
    double tfail; /* time reached when the jumps ran out */
} path;

static int push(path *p, double t, int s)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? 2 * p->cap : 16;
        double *nt = realloc(p->t, nc * sizeof *nt);
        if (!nt)
            return -1;
        p->t = nt;
        int *ns = realloc(p->s, nc * sizeof *ns);
        if (!ns)
            return -1;
        p->s = ns;
        p->cap = nc;
    }
    p->t[p->n] = t;
    p->s[p->n] = s;
    p->n++;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void draw_path(const st_mjp *m, const st_mjp_sample_opts *o, st_rng *r, path *p)
{
    size_t K = m->K;
    double w[ST_MJP_MAX_STATES];
    p->n = 0;
    p->nobs = 0;
    p->fail = 0;
    int s = (int)st_rng_categorical(r, m->init, K);
    double t = 0;
    size_t maxj = o->max_jumps ? o->max_jumps : DEFAULT_MAX_JUMPS;
    if (push(p, 0, s) < 0)
        goto nomem;
    for (;;) {
        double rate = -m->Q[(size_t)s * K + (size_t)s];
        if (!(rate > 0))
            break;
        t += st_rng_exponential(r) / rate;
        if (t >= o->until)
            break;
        if (p->n > maxj) {
            p->fail = 2;
            p->tfail = t;
            return;
        }
        for (size_t j = 0; j < K; j++)
            w[j] = (int)j == s ? 0 : m->Q[(size_t)s * K + j];
        s = (int)st_rng_categorical(r, w, K);
        if (push(p, t, s) < 0)
            goto nomem;
    }
    /* observation times */
    size_t nobs;
    switch (o->scheme) {
    case ST_MJP_SAMPLE_EVERY:
        nobs = (size_t)floor(o->until / o->every + 1e-9) + 1;
        break;
    case ST_MJP_SAMPLE_TIMES:
        nobs = o->ntimes;
        break;
    case ST_MJP_SAMPLE_RANDOM:
        nobs = o->nrandom;
        break;
    default:
        nobs = p->n + 1;
        break;
    }
    p->ot = realloc(p->ot, (nobs ? nobs : 1) * sizeof *p->ot);
    p->os = realloc(p->os, (nobs ? nobs : 1) * sizeof *p->os);
    p->oy = realloc(p->oy, (nobs ? nobs : 1) * sizeof *p->oy);
    if (!p->ot || !p->os || !p->oy)
        goto nomem;
    if (o->scheme == ST_MJP_SAMPLE_PATH) {
        for (size_t i = 0; i < p->n; i++) {
            p->ot[i] = p->t[i];
            p->os[i] = p->s[i];
        }
        p->ot[p->n] = o->until;
        p->os[p->n] = p->s[p->n - 1];
    } else {
        for (size_t i = 0; i < nobs; i++) {
            if (o->scheme == ST_MJP_SAMPLE_EVERY)
                p->ot[i] = fmin((double)i * o->every, o->until);
            else if (o->scheme == ST_MJP_SAMPLE_TIMES)
                p->ot[i] = o->times[i];
            else
                p->ot[i] = i == 0 ? 0 : o->until * st_rng_uniform_pos(r);
        }
        if (o->scheme == ST_MJP_SAMPLE_RANDOM && nobs > 1)
            qsort(p->ot + 1, nobs - 1, sizeof *p->ot, cmp_double);
        size_t j = 0;
        for (size_t i = 0; i < nobs; i++) {
            while (j + 1 < p->n && p->t[j + 1] <= p->ot[i])
                j++;
            p->os[i] = p->s[j];
        }
    }
    p->nobs = nobs;
    if (o->emit)
        for (size_t i = 0; i < nobs; i++)
            p->oy[i] = (int)st_rng_categorical(r, m->E + (size_t)p->os[i] * m->M, m->M);
    return;
nomem:
    p->fail = 1;
}

int st_mjp_sample(const st_mjp *m, const st_mjp_sample_opts *o, st_mjp_row_fn fn, void *ctx, st_err *e)
{
    if (!(o->until > 0) || !isfinite(o->until))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--until must be a positive time");
    if (o->scheme == ST_MJP_SAMPLE_EVERY && !(o->every > 0))
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--obs-every must be positive");
    if (o->scheme == ST_MJP_SAMPLE_EVERY && o->until / o->every > 1e8)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--obs-every gives more than 1e8 observations per path");
    if (o->emit && !m->E)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "no emission matrix to draw observations from");
    /* Jumps per path are bounded (max_jumps): refuse up front what must
     * exceed it -- every state left at some rate, so the path jumps about
     * until x that rate times at least -- and keep the paths in flight
     * within INFLIGHT_BYTES. */
    size_t K = m->K, maxj = o->max_jumps ? o->max_jumps : DEFAULT_MAX_JUMPS;
    double minrate = INFINITY;
    for (size_t i = 0; i < K; i++)
        minrate = fmin(minrate, -m->Q[i * K + i]);
    if (minrate > 0 && o->until * minrate > (double)maxj)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                          "--until %g gives about %.3g jumps per path (no state is absorbing; each is left at "
                          "rate %g or more): at most %zu are allowed (--max-jumps)",
                          o->until, o->until * minrate, minrate, maxj);
    size_t nobs_max = o->scheme == ST_MJP_SAMPLE_EVERY    ? (size_t)floor(o->until / o->every + 1e-9) + 1
                      : o->scheme == ST_MJP_SAMPLE_TIMES  ? o->ntimes
                      : o->scheme == ST_MJP_SAMPLE_RANDOM ? o->nrandom
                                                          : maxj + 2;
    double per_path = (double)(maxj + 1) * (sizeof(double) + sizeof(int)) +
                      (double)nobs_max * (sizeof(double) + 2 * sizeof(int));
    size_t chunk = INFLIGHT_BYTES / per_path >= CHUNK ? CHUNK : (size_t)fmax(1, floor(INFLIGHT_BYTES / per_path));
    path *paths = calloc(CHUNK, sizeof *paths);
    st_rng *rngs = malloc(CHUNK * sizeof *rngs);
    int rc = 0;
    if (!paths || !rngs) {
        free(paths);
        free(rngs);
        return st_err_nomem(e, "paths");
    }
    st_rng base;
    st_rng_seed(&base, o->seed);
    size_t ncols = o->emit ? 4 : 3;
    for (size_t c0 = 0; c0 < o->npaths && rc == 0; c0 += chunk) {
        size_t nc = o->npaths - c0 < chunk ? o->npaths - c0 : chunk;
        for (size_t k = 0; k < nc; k++) {
            rngs[k] = base; /* path c0+k: the seed's stream c0+k */
            st_rng_jump(&base);
        }
#pragma omp parallel for schedule(dynamic, 4)
        for (size_t k = 0; k < nc; k++)
            draw_path(m, o, &rngs[k], &paths[k]);
        for (size_t k = 0; k < nc && rc == 0; k++) {
            path *p = &paths[k];
            if (p->fail == 2) {
                rc = st_err_set(e, ST_EDATA, NULL, 0, 0,
                                "path %zu makes more than %zu jumps by time %g (--until %g): raise --max-jumps or "
                                "shorten --until",
                                c0 + k, maxj, p->tfail, o->until);
                break;
            }
            if (p->fail) {
                rc = st_err_nomem(e, "path");
                break;
            }
            for (size_t i = 0; i < p->nobs && rc == 0; i++) {
                double row[4] = {(double)(c0 + k), p->ot[i], p->os[i], o->emit ? p->oy[i] : 0};
                rc = fn(row, ncols, ctx, e);
            }
        }
    }
    for (size_t k = 0; k < CHUNK; k++) {
        free(paths[k].t);
        free(paths[k].s);
        free(paths[k].ot);
        free(paths[k].os);
        free(paths[k].oy);
    }
    free(paths);
    free(rngs);
    return rc;
}

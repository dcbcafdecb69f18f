/* Multinomial emissions (hmmlearn's MultinomialHMM): each row is a vector
 * of counts x_1..x_D of D categories out of n = sum_v x_v trials,
 *     p(x | k) = n! / prod_v x_v!  prod_v p_kv^x_v.
 * The coefficient is the same for every state: it goes into the row's
 * scale, so the log-likelihood is hmmlearn's (scipy's multinomial.logpmf
 * with n_trials the row sums).  The M-step is p_kv proportional to
 * sum_t gamma_tk x_tv, floored.  `trials` fixes n (rows must sum to it;
 * sampling needs it), 0 takes each row's own sum. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hmm/internal.h"

/* cache: log p (K*D) */
static int mult_prepare(st_hmm *m, st_err *e)
{
    for (size_t i = 0; i < m->K * m->D; i++)
        m->cache[i] = log(m->mprob[i]);
    (void)e;
    return ST_OK;
}

/* State terms into out[K]; returns the coefficient log n! - sum log x_v!. */
static double mult_row(const st_hmm *m, const double *x, double *out)
{
    size_t K = m->K, D = m->D;
    double n = 0, lc = 0;
    for (size_t v = 0; v < D; v++) {
        n += x[v];
        lc -= lgamma(x[v] + 1);
    }
    lc += lgamma(n + 1);
    for (size_t k = 0; k < K; k++) {
        const double *lp = m->cache + k * D;
        double s = 0;
        for (size_t v = 0; v < D; v++)
            if (x[v] > 0) /* 0 log 0 = 0 */
                s += x[v] * lp[v];
        out[k] = s;
    }
    return lc;
}

static void mult_logpdf(const st_hmm *m, const double *x, size_t t, double *out)
{
    if (st_hmm_row_missing(x, m->D)) {
        for (size_t k = 0; k < m->K; k++)
            out[k] = 0;
        return;
    }
    double lc = mult_row(m, x, out);
    (void)t;
    for (size_t k = 0; k < m->K; k++)
        out[k] += lc;
}

static void mult_eval(const st_hmm *m, const double *x, size_t n, double *B, double *logs)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        double *b = B + t * K;
        if (st_hmm_row_missing(x + t * D, D)) {
            for (size_t k = 0; k < K; k++)
                b[k] = 1;
            logs[t] = 0;
            continue;
        }
        double lc = mult_row(m, x + t * D, b);
        double mx = b[0];
        for (size_t k = 1; k < K; k++)
            mx = b[k] > mx ? b[k] : mx;
        if (!(mx > -INFINITY))
            mx = 0;
        for (size_t k = 0; k < K; k++)
            b[k] = exp(b[k] - mx);
        logs[t] = mx + lc;
    }
}

/* S (K*D weighted counts) */
static size_t mult_nstats(const st_hmm *m)
{
    return m->K * m->D;
}

static void mult_accum(const st_hmm *m, const double *x, size_t n, const double *gamma, double *stats)
{
    size_t K = m->K, D = m->D;
    for (size_t t = 0; t < n; t++) {
        const double *g = gamma + t * K, *xt = x + t * D;
        if (st_hmm_row_missing(xt, D))
            continue;
        for (size_t k = 0; k < K; k++) {
            double *s = stats + k * D;
            for (size_t v = 0; v < D; v++)
                s[v] += g[k] * xt[v];
        }
    }
}

static int mult_mstep(st_hmm *m, const double *stats, st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, D = m->D;
    for (size_t k = 0; k < K; k++) {
        const double *S = stats + k * D;
        double tot = 0;
        for (size_t v = 0; v < D; v++)
            tot += S[v];
        if (!(tot > 0)) { /* no counts in this state: keep its row */
            cx->floored = 1;
            continue;
        }
        double *p = m->mprob + k * D, s2 = 0;
        int raised = 0;
        for (size_t v = 0; v < D; v++) {
            p[v] = S[v] / tot;
            if (p[v] < cx->prob_floor) {
                p[v] = cx->prob_floor;
                raised = 1;
            }
            s2 += p[v];
        }
        if (raised) {
            cx->floored = 1;
            for (size_t v = 0; v < D; v++)
                p[v] /= s2;
        }
    }
    (void)e;
    return ST_OK;
}

static long mult_nparams(const st_hmm *m)
{
    return (long)(m->K * (m->D - 1));
}

static void mult_sample(const st_hmm *m, size_t k, st_rng *r, double *x, size_t t)
{
    size_t D = m->D;
    uint64_t buf[64], *c = D <= 64 ? buf : malloc(D * sizeof *c);
    (void)t;
    if (!c) { /* cannot happen for sane D */
        for (size_t v = 0; v < D; v++)
            x[v] = NAN;
        return;
    }
    st_rng_multinomial(r, (uint64_t)(m->trials > 0 ? m->trials : 0), m->mprob + k * D, D, c);
    for (size_t v = 0; v < D; v++)
        x[v] = (double)c[v];
    if (c != buf)
        free(c);
}

/* Each state starts from the overall category frequencies mixed half and
 * half with a Dirichlet(1) draw. */
static int mult_init(st_hmm *m, const st_hmm_data *d, st_rng *g, int restart, const st_hmm_mctx *cx, st_err *e)
{
    size_t K = m->K, D = m->D;
    double *mean = malloc(3 * D * sizeof *mean), *ones = mean + 2 * D, *dir = mean + D;
    if (!mean)
        return st_err_nomem(e, "initial model");
    (void)restart;
    st_hmm_data_colvar(d, mean, dir);
    double s = 0;
    for (size_t v = 0; v < D; v++) {
        mean[v] += 1e-3; /* a category never seen keeps some weight */
        s += mean[v];
        ones[v] = 1;
    }
    for (size_t k = 0; k < K; k++) {
        st_rng_dirichlet(g, ones, D, dir);
        double *p = m->mprob + k * D, s2 = 0;
        for (size_t v = 0; v < D; v++) {
            p[v] = 0.5 * mean[v] / s + 0.5 * dir[v];
            p[v] = p[v] > cx->prob_floor ? p[v] : cx->prob_floor;
            s2 += p[v];
        }
        for (size_t v = 0; v < D; v++)
            p[v] /= s2;
    }
    free(mean);
    return ST_OK;
}

const st_hmm_emis_ops st_hmm_ops_multinomial = {
    mult_eval, mult_logpdf, mult_nstats, mult_accum, mult_mstep, mult_nparams, mult_sample, mult_init, mult_prepare,
};

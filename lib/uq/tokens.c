/* Scores from the greedy answer's token log-probabilities and top-k
 * alternatives: token entropy, Renyi and Fisher-Rao distances from
 * uniform, self-certainty, pointwise mutual information (PMI, CPMI),
 * TokenSAR, and the token factor of claim-conditioned probability.  The
 * formulas and their sources are in uq-entropy(1).
 *
 * Only the k alternatives the input gives are known, not the vocabulary:
 * distributions over them are renormalised (softmax of the log-probs, with
 * a temperature where the method has one), except where "partial" asks
 * for the raw probabilities. */
#include "config.h"

#include <math.h>
#include <stddef.h>

#include "uq/uq.h"

static double max_of(const double *a, size_t k)
{
    double m = -INFINITY;
    for (size_t j = 0; j < k; j++)
        if (a[j] > m)
            m = a[j];
    return m;
}

double st_uq_token_entropy(const double *a, size_t k, int mode)
{
    if (k == 0)
        return NAN;
    double h = 0;
    if (mode == ST_UQ_TOKENT_PARTIAL) {
        for (size_t j = 0; j < k; j++)
            h -= exp(a[j]) * a[j];
        return h;
    }
    double mx = max_of(a, k), z = 0, s = 0;
    for (size_t j = 0; j < k; j++) {
        double p = exp(a[j] - mx);
        z += p;
        s += p * (a[j] - mx);
    }
    return log(z) - s / z; /* entropy of the renormalised top-k */
}

double st_uq_renyi_uniform(const double *a, size_t k, double alpha, double temp)
{
    if (k == 0)
        return NAN;
    /* q = softmax(a / temp); D_alpha(q || u) = log(sum q^alpha k^(alpha-1)) / (alpha - 1) */
    double mx = max_of(a, k) / temp, z = 0;
    for (size_t j = 0; j < k; j++)
        z += exp(a[j] / temp - mx);
    double logz = log(z), logk = log((double)k);
    if (alpha == 1) {
        double s = 0;
        for (size_t j = 0; j < k; j++) {
            double lq = a[j] / temp - mx - logz;
            s += exp(lq) * lq;
        }
        return s + logk;
    }
    double sa = 0;
    for (size_t j = 0; j < k; j++)
        sa += exp(alpha * (a[j] / temp - mx - logz));
    return (log(sa) + (alpha - 1) * logk) / (alpha - 1);
}

double st_uq_fisher_rao_uniform(const double *a, size_t k, double temp)
{
    if (k == 0)
        return NAN;
    /* (2 / pi) arccos(sum_j sqrt(q_j / k)), q = softmax(a / temp) */
    double mx = max_of(a, k) / temp, z = 0;
    for (size_t j = 0; j < k; j++)
        z += exp(a[j] / temp - mx);
    double logz = log(z), s = 0;
    for (size_t j = 0; j < k; j++)
        s += exp(0.5 * (a[j] / temp - mx - logz));
    s /= sqrt((double)k);
    if (s > 1)
        s = 1;
    return 2 / M_PI * acos(s);
}

double st_uq_kl_uniform(const double *a, size_t k, int mode)
{
    if (k == 0)
        return NAN;
    /* KL(U || p) = -log k - (1/k) sum_j log p_j */
    double s = 0;
    for (size_t j = 0; j < k; j++)
        s += a[j];
    double mean = s / (double)k;
    if (mode == ST_UQ_TOKENT_PARTIAL)
        return -log((double)k) - mean;
    double mx = max_of(a, k), z = 0;
    for (size_t j = 0; j < k; j++)
        z += exp(a[j] - mx);
    return -log((double)k) - (mean - mx - log(z));
}

double st_uq_pmi(const double *l, const double *u, size_t T, int variant)
{
    if (T == 0)
        return NAN;
    double s = 0;
    for (size_t t = 0; t < T; t++)
        s += l[t] - (t == 0 && variant == ST_UQ_VARIANT_POLYGRAPH ? 0 : u[t]);
    return -s / (double)T;
}

double st_uq_cpmi(const double *l, const double *u, const double *H, size_t T, double tau, double lambda,
                  int variant)
{
    if (T == 0)
        return NAN;
    double s = 0;
    for (size_t t = 0; t < T; t++) {
        double v = l[t];
        if (H[t] >= tau && !(t == 0 && variant == ST_UQ_VARIANT_POLYGRAPH))
            v -= lambda * u[t];
        s += v;
    }
    return -s / (double)T;
}

double st_uq_token_sar(const double *l, const double *R, size_t T)
{
    if (T == 0)
        return NAN;
    double r = 0;
    for (size_t t = 0; t < T; t++)
        r += R[t];
    if (r == 0)
        return 0; /* no relevant token: LM-Polygraph's convention */
    double s = 0;
    for (size_t t = 0; t < T; t++)
        s -= R[t] / r * l[t];
    return s;
}

double st_uq_ccp_token(const double *a, const unsigned char *lab, size_t k)
{
    /* sum of the entailed alternatives' probabilities over the entailed and
     * contradicting ones, in log space */
    double mx = -INFINITY;
    for (size_t j = 0; j < k; j++)
        if (lab[j] != ST_UQ_NLI_NEUTRAL && a[j] > mx)
            mx = a[j];
    if (mx == -INFINITY)
        return NAN; /* every alternative neutral: undefined */
    double e = 0, t = 0;
    for (size_t j = 0; j < k; j++) {
        if (lab[j] == ST_UQ_NLI_NEUTRAL)
            continue;
        double p = exp(a[j] - mx);
        t += p;
        if (lab[j] == ST_UQ_NLI_ENTAIL)
            e += p;
    }
    return e / t;
}

/* Semantic density of the greedy answer (Qiu and Miikkulainen 2024): a
 * kernel density in semantic space from NLI between the greedy answer and
 * the distinct sampled answers, weighted by their length-normalised
 * probabilities.  Formula and the two variants in uq-entropy(1). */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "uq/uq.h"

double st_uq_semantic_density(const double *lw, const double *entail, const double *contra,
                              const int *use, size_t m, double greedy_lw, int variant)
{
    /* sum_i w_i K_i / sum_i w_i over the samples with use[i], w_i =
     * exp(lw_i), K_i = 1 - (c_i + n_i / 2), n_i = 1 - e_i - c_i; the
     * LM-Polygraph variant adds the greedy answer with K = 1 */
    double mx = variant == ST_UQ_VARIANT_POLYGRAPH ? greedy_lw : -INFINITY;
    for (size_t i = 0; i < m; i++)
        if (use[i] && lw[i] > mx)
            mx = lw[i];
    if (mx == -INFINITY || isnan(mx))
        return NAN;
    double num = 0, den = 0;
    for (size_t i = 0; i < m; i++) {
        if (!use[i])
            continue;
        double w = exp(lw[i] - mx);
        double n = 1 - entail[i] - contra[i];
        if (n < 0)
            n = 0;
        double d = contra[i] + n / 2;
        double k = d <= 1 ? 1 - d : 0;
        num += w * k;
        den += w;
    }
    if (variant == ST_UQ_VARIANT_POLYGRAPH) {
        double w = exp(greedy_lw - mx);
        num += w;
        den += w;
    }
    return num / den;
}

/* Shifting attention to relevance (Duan et al. 2024): sentence-level SAR
 * over the samples, with sequence probabilities (SentenceSAR) or with the
 * token-shifted probabilities exp(-TokenSAR) (SAR).  Formulas in
 * uq-entropy(1); TokenSAR itself is in tokens.c. */
#include "config.h"

#include <math.h>
#include <stddef.h>

#include "uq/uq.h"

double st_uq_sentence_sar(const double *logp, const double *g, size_t m, double t)
{
    /* (1/m) sum_i -log(p_i + (1/t) sum_{j != i} g_ij p_j), in log space so
     * that long answers (p below the smallest double) stay finite */
    if (m == 0)
        return NAN;
    double lt = log(t), s = 0;
    for (size_t i = 0; i < m; i++) {
        double mx = logp[i];
        for (size_t j = 0; j < m; j++)
            if (j != i && g[i * m + j] > 0 && log(g[i * m + j]) - lt + logp[j] > mx)
                mx = log(g[i * m + j]) - lt + logp[j];
        double z = exp(logp[i] - mx);
        for (size_t j = 0; j < m; j++)
            if (j != i && g[i * m + j] > 0)
                z += exp(log(g[i * m + j]) - lt + logp[j] - mx);
        s += -(mx + log(z));
    }
    return s / (double)m;
}

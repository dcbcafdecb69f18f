/* Transition probabilities on a grid of times (mjp-infer --pmatrix-grid),
 * for pictures of P(t): one matrix exponential per time. */
#include "config.h"

#include <math.h>

#include "mjp/mjp.h"

int st_mjp_pmatrix_grid(const st_mjp *m, const double *t, size_t nt, double *P, double *stay, st_err *e)
{
    size_t K = m->K;
    for (size_t k = 0; k < nt; k++) {
        int rc = st_mjp_pmatrix(m, t[k], P + k * K * K, e);
        if (rc < 0)
            return rc;
        for (size_t a = 0; a < K; a++)
            stay[k * K + a] = exp(m->Q[a * K + a] * t[k]);
    }
    return ST_OK;
}

double st_mjp_data_span(const st_mjp_data *d)
{
    double span = 0;
    for (size_t s = 0; s < d->nsubj; s++)
        if (d->start[s + 1] > d->start[s]) {
            double w = d->t[d->start[s + 1] - 1] - d->t[d->start[s]];
            if (w > span)
                span = w;
        }
    return span;
}

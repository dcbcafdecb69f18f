/* Summaries of a rate matrix (sojourn times, stationary distribution,
 * expected visits). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "mjp/mjp.h"

void st_mjp_sojourn(const st_mjp *m, double *out)
{
    size_t K = m->K;
    for (size_t i = 0; i < K; i++) {
        double q = -m->Q[i * K + i];
        out[i] = q > 0 ? 1 / q : INFINITY;
    }
}

int st_mjp_stationary(const st_mjp *m, double *pi, st_err *e)
{
    size_t K = m->K;
    /* Q^T pi = 0 with the last equation replaced by sum(pi) = 1 */
    double *A = malloc(K * K * sizeof *A);
    if (!A)
        return st_err_nomem(e, "stationary distribution");
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            A[i * K + j] = i == K - 1 ? 1.0 : m->Q[j * K + i];
    for (size_t i = 0; i < K; i++)
        pi[i] = i == K - 1 ? 1.0 : 0.0;
    st_err le;
    int rc = st_lu_solve(A, K, pi, 1, &le);
    free(A);
    if (rc < 0)
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "no unique stationary distribution");
    for (size_t i = 0; i < K; i++) {
        if (!isfinite(pi[i]) || pi[i] < -1e-9)
            return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "no unique stationary distribution");
        if (pi[i] < 0)
            pi[i] = 0;
    }
    return 0;
}

int st_mjp_expected_visits(const st_mjp *m, double *visits, st_err *e)
{
    size_t K = m->K, nt = 0;
    int idx[ST_MJP_MAX_STATES];
    int any_abs = 0;
    for (size_t i = 0; i < K; i++) {
        if (m->Q[i * K + i] < 0)
            idx[nt++] = (int)i;
        else
            any_abs = 1;
    }
    if (!any_abs)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "no absorbing state: visits are unbounded");
    for (size_t i = 0; i < K; i++)
        visits[i] = 0;
    if (nt == 0)
        return 0;
    /* embedded jump chain among transient states: x (I - R_TT) = pi_T */
    double *A = malloc(nt * nt * sizeof *A), *b = malloc(nt * sizeof *b);
    if (!A || !b) {
        free(A);
        free(b);
        return st_err_nomem(e, "expected visits");
    }
    for (size_t a = 0; a < nt; a++)
        for (size_t c = 0; c < nt; c++) {
            size_t i = (size_t)idx[a], j = (size_t)idx[c];
            double r = i == j ? 0 : m->Q[i * K + j] / -m->Q[i * K + i];
            A[c * nt + a] = (a == c) - r; /* transposed: solve (I-R)^T x^T = pi^T */
        }
    for (size_t a = 0; a < nt; a++)
        b[a] = m->init[idx[a]];
    st_err le;
    int rc = st_lu_solve(A, nt, b, 1, &le);
    if (rc < 0) {
        free(A);
        free(b);
        return st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "transient states never reach an absorbing state");
    }
    for (size_t a = 0; a < nt; a++)
        visits[idx[a]] = b[a];
    /* absorbing states: entered at most once */
    for (size_t j = 0; j < K; j++) {
        if (m->Q[j * K + j] < 0)
            continue;
        double v = m->init[j];
        for (size_t a = 0; a < nt; a++) {
            size_t i = (size_t)idx[a];
            v += b[a] * m->Q[i * K + j] / -m->Q[i * K + i];
        }
        visits[j] = v;
    }
    free(A);
    free(b);
    return 0;
}


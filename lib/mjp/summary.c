/* Summaries of a rate matrix (sojourn times, stationary distribution,
 * expected visits) and the YAML writer for models and fits. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "core/yaml.h"
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

static void write_state_pair(char *buf, size_t n, const st_mjp *m, size_t i, size_t j)
{
    if (m->labels)
        snprintf(buf, n, "%s-%s", m->labels[i], m->labels[j]);
    else
        snprintf(buf, n, "%zu-%zu", i, j);
}

static void write_mask(st_yw *w, const char *key, const unsigned char *mask, size_t K)
{
    double *v = malloc(K * K * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < K * K; i++)
        v[i] = mask[i];
    st_yw_key_matrix(w, key, v, K, K);
    free(v);
}

/* A top-level flow list of quoted names (the YAML writer has no string
 * lists); only entries with sel[i] when sel is given. */
static void write_names(FILE *fp, const char *key, const char *const *names, const unsigned char *sel,
                        size_t n)
{
    fprintf(fp, "%s: [", key);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (sel && !sel[i])
            continue;
        fputs(first ? "\"" : ", \"", fp);
        for (const char *c = names[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                fputc('\\', fp);
            fputc(*c, fp);
        }
        fputc('"', fp);
        first = 0;
    }
    fputs("]\n", fp);
}

int st_mjp_write(FILE *fp, const st_mjp *m, const st_mjp_fit *fit, const st_mjp_data *d,
                 const double *ptimes, size_t npt, st_err *e)
{
    size_t K = m->K;
    st_yw w;
    st_yw_init(&w, fp);
    st_yw_key_string(&w, "model", "mjp");
    st_yw_key_long(&w, "version", 1);
    st_yw_key_long(&w, "states", (long)K);
    if (m->labels)
        write_names(fp, "labels", (const char *const *)m->labels, NULL, K);
    if (m->P) {
        st_yw_begin_map(&w, "parameters");
        for (size_t p = 0; p < m->P; p++)
            st_yw_key_double(&w, m->pnames[p], m->par[p]);
        st_yw_end(&w);
        int anypos = 0;
        for (size_t p = 0; p < m->P; p++)
            anypos |= m->ppos[p];
        if (anypos)
            write_names(fp, "positive", (const char *const *)m->pnames, m->ppos, m->P);
        st_yw_begin_map(&w, "rates");
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < K; j++)
                if (m->expr[i * K + j]) {
                    char key[160];
                    write_state_pair(key, sizeof key, m, i, j);
                    st_yw_key_string(&w, key, st_mjp_expr_text(m->expr[i * K + j]));
                }
        st_yw_end(&w);
    } else {
        st_yw_key_matrix(&w, "Q", m->Q, K, K);
        write_mask(&w, "allowed", m->allowed, K);
        int anyfixed = 0;
        for (size_t i = 0; i < K * K; i++)
            anyfixed |= m->fixed[i];
        if (anyfixed)
            write_mask(&w, "fixed", m->fixed, K);
    }
    if (m->init_given || m->E || m->init_estimate)
        st_yw_key_vector(&w, "initial", m->init, K);
    if (m->init_estimate)
        st_yw_key_bool(&w, "estimate_initial", 1);
    if (m->E) {
        st_yw_begin_map(&w, "emission");
        st_yw_key_matrix(&w, "matrix", m->E, K, m->M);
        st_yw_key_bool(&w, "fixed", m->E_fixed);
        st_yw_end(&w);
    }
    if (fit) {
        st_yw_begin_map(&w, "fit");
        st_yw_key_string(&w, "method", fit->method);
        st_yw_key_double(&w, "loglik", fit->loglik);
        st_yw_key_double(&w, "minus2loglik", fit->minus2loglik);
        st_yw_key_double(&w, "aic", fit->aic);
        st_yw_key_long(&w, "parameters", (long)fit->nfree);
        st_yw_key_long(&w, "iterations", fit->iterations);
        st_yw_key_bool(&w, "converged", fit->converged);
        st_yw_key_double(&w, "max_gradient", fit->grad_norm);
        if (d) {
            st_yw_key_long(&w, "subjects", (long)d->nsubj);
            st_yw_key_long(&w, "observations", (long)d->nobs);
            st_yw_key_long(&w, "skipped_subjects", (long)d->nskipped);
        }
        if (m->P)
            st_yw_key_matrix(&w, "Q", m->Q, K, K);
        if (fit->Q_se) {
            st_yw_key_matrix(&w, "Q_se", fit->Q_se, K, K);
            st_yw_key_matrix(&w, "Q_lower", fit->Q_lo, K, K);
            st_yw_key_matrix(&w, "Q_upper", fit->Q_hi, K, K);
        }
        if (m->P && fit->par_se) {
            st_yw_begin_map(&w, "parameters");
            for (size_t p = 0; p < m->P; p++) {
                st_yw_begin_map(&w, m->pnames[p]);
                st_yw_key_double(&w, "estimate", m->par[p]);
                st_yw_key_double(&w, "se", fit->par_se[p]);
                st_yw_key_double(&w, "lower", fit->par_lo[p]);
                st_yw_key_double(&w, "upper", fit->par_hi[p]);
                st_yw_end(&w);
            }
            st_yw_end(&w);
        }
        if (fit->E_se)
            st_yw_key_matrix(&w, "emission_se", fit->E_se, K, m->M);
        double *v = malloc(K * sizeof *v);
        if (v) {
            st_err le;
            st_mjp_sojourn(m, v);
            st_yw_key_vector(&w, "sojourn", v, K);
            if (st_mjp_stationary(m, v, &le) == 0)
                st_yw_key_vector(&w, "stationary", v, K);
            if (st_mjp_expected_visits(m, v, &le) == 0)
                st_yw_key_vector(&w, "expected_visits", v, K);
            free(v);
        }
        if (npt) {
            double *P = malloc(K * K * sizeof *P);
            if (!P)
                return st_err_nomem(e, "P(t)");
            st_yw_begin_list(&w, "pmatrix");
            for (size_t k = 0; k < npt; k++) {
                int rc = st_mjp_pmatrix(m, ptimes[k], P, e);
                if (rc < 0) {
                    free(P);
                    return rc;
                }
                st_yw_item_map(&w);
                st_yw_key_double(&w, "t", ptimes[k]);
                st_yw_key_matrix(&w, "P", P, K, K);
            }
            st_yw_end(&w);
            free(P);
        }
        st_yw_end(&w);
    }
    return st_yw_finish(&w, e);
}

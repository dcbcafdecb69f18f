/* Writing a particle model back as a `model: pf` file (pf-fit writes its
 * estimates this way): the built-in model with its numbers, or the YAML
 * model's names, parameters, constraints, distributions (the expressions'
 * source text) and functionals.  Comments of the original are not kept. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/yaml.h"
#include "smc/model.h"
#include "smc/model_internal.h"

static void write_dist(st_yw *w, const pdist *d)
{
    st_yw_key_string(w, "dist", pf_dist_names[d->kind]);
    if (d->kind == D_MVNORMAL) {
        const char *v[ST_PF_MAXDIM * ST_PF_MAXDIM];
        for (size_t i = 0; i < d->dim; i++)
            v[i] = st_expr_text(d->mean[i].x);
        st_yw_key_string_vector(w, "mean", v, d->dim);
        size_t nc = d->full ? d->dim * d->dim : d->dim;
        for (size_t i = 0; i < nc; i++)
            v[i] = st_expr_text(d->cov[i].x);
        if (d->full)
            st_yw_key_string_matrix(w, "cov", v, d->dim, d->dim);
        else
            st_yw_key_string_vector(w, "diag", v, d->dim);
        return;
    }
    const char *const *names = pf_arg_names(d->kind, d->gamma_scale || d->nb_mean);
    for (int i = 0; names[i]; i++)
        st_yw_key_string(w, names[i], st_expr_text(d->a[i].x));
}

static void write_comp(st_yw *w, const pcomp *c)
{
    if (c->nd == 1) {
        st_yw_begin_map(w, c->what);
        write_dist(w, &c->d[0]);
        st_yw_end(w);
        return;
    }
    st_yw_begin_list(w, c->what);
    for (size_t k = 0; k < c->nd; k++) {
        st_yw_item_map(w);
        write_dist(w, &c->d[k]);
    }
    st_yw_end(w);
}

/* The packed lower triangle of the linear-gaussian parameter at off back to
 * a full matrix. */
static void lower_to_full(const double *th, size_t n, double *S)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++)
            S[i * n + j] = S[j * n + i] = th[i * (i + 1) / 2 + j];
}

int st_pf_model_write(const st_pf_model *m, st_yw *w, st_err *e)
{
    st_yw_key_string(w, "model", "pf");
    st_yw_key_long(w, "version", 1);
    if (m->kind != ST_PF_YAML)
        st_yw_key_string(w, "builtin", st_pf_builtin_names[m->kind - 1]);
    else
        st_yw_key_string_vector(w, "states", (const char *const *)m->xnames, m->dx);
    st_yw_key_string_vector(w, "observations", (const char *const *)m->ynames, m->dy);
    if (m->ncov)
        st_yw_key_string_vector(w, "covariates", (const char *const *)m->covnames, m->ncov);
    const double *th = m->parvalues;
    switch (m->kind) {
    case ST_PF_LINEAR_GAUSSIAN: {
        size_t d = m->dx, k = m->dy;
        double *S = malloc((d > k ? d : k) * (d > k ? d : k) * sizeof *S);
        if (!S)
            return st_err_nomem(e, "model");
        size_t oQ = d * d, oC = oQ + d * (d + 1) / 2, oR = oC + k * d, om0 = oR + k * (k + 1) / 2,
               oP0 = om0 + d;
        st_yw_begin_map(w, "parameters");
        st_yw_key_matrix(w, "A", th, d, d);
        lower_to_full(th + oQ, d, S);
        st_yw_key_matrix(w, "Q", S, d, d);
        st_yw_key_matrix(w, "C", th + oC, k, d);
        lower_to_full(th + oR, k, S);
        st_yw_key_matrix(w, "R", S, k, k);
        st_yw_key_vector(w, "m0", th + om0, d);
        lower_to_full(th + oP0, d, S);
        st_yw_key_matrix(w, "P0", S, d, d);
        st_yw_end(w);
        free(S);
        break;
    }
    case ST_PF_BEARINGS:
        st_yw_begin_map(w, "parameters");
        st_yw_key_double(w, "q", th[0]);
        st_yw_key_double(w, "r", th[1]);
        st_yw_key_vector(w, "m0", th + 2, 4);
        st_yw_key_vector(w, "sd0", th + 6, 4);
        st_yw_end(w);
        break;
    default:
        if (m->npar) {
            st_yw_begin_map(w, "parameters");
            for (size_t k = 0; k < m->npar; k++)
                st_yw_key_double(w, m->parnames[k], th[k]);
            st_yw_end(w);
        }
        break;
    }
    if (m->kind == ST_PF_YAML) {
        size_t nc = 0;
        for (size_t k = 0; k < m->npar; k++)
            nc += m->parcons[k] != ST_PF_FREE;
        if (nc) {
            st_yw_begin_map(w, "constraints");
            for (size_t k = 0; k < m->npar; k++)
                if (m->parcons[k] != ST_PF_FREE)
                    st_yw_key_string(w, m->parnames[k], st_pf_constraint_names[m->parcons[k]]);
            st_yw_end(w);
        }
        write_comp(w, &m->init);
        write_comp(w, &m->trans);
        write_comp(w, &m->obs);
    }
    size_t npri = 0;
    for (size_t k = 0; m->prior && k < m->npar; k++)
        npri += m->prior[k].kind != ST_PRIOR_NONE;
    if (npri) {
        st_yw_begin_map(w, "priors");
        for (size_t k = 0; k < m->npar; k++) {
            const pf_prior *p = &m->prior[k];
            if (p->kind == ST_PRIOR_NONE)
                continue;
            st_yw_begin_map(w, m->parnames[k]);
            st_yw_key_string(w, "dist", st_pf_prior_names[p->kind]);
            switch (p->kind) {
            case ST_PRIOR_NORMAL:
                st_yw_key_double(w, "mean", p->a);
                st_yw_key_double(w, "sd", p->b);
                break;
            case ST_PRIOR_LOGNORMAL:
                st_yw_key_double(w, "meanlog", p->a);
                st_yw_key_double(w, "sdlog", p->b);
                break;
            case ST_PRIOR_GAMMA:
                st_yw_key_double(w, "shape", p->a);
                st_yw_key_double(w, "rate", p->b);
                break;
            case ST_PRIOR_BETA:
                st_yw_key_double(w, "shape1", p->a);
                st_yw_key_double(w, "shape2", p->b);
                st_yw_key_double(w, "lower", p->lo);
                st_yw_key_double(w, "upper", p->hi);
                break;
            case ST_PRIOR_UNIFORM:
                st_yw_key_double(w, "lower", p->lo);
                st_yw_key_double(w, "upper", p->hi);
                break;
            default:
                st_yw_key_double(w, "sd", p->b);
                break;
            }
            st_yw_end(w);
        }
        st_yw_end(w);
    }
    if (m->nfunc) {
        st_yw_begin_map(w, "functionals");
        for (size_t k = 0; k < m->nfunc; k++)
            st_yw_key_string(w, m->funcnames[k], st_expr_text(m->funcs[k]));
        st_yw_end(w);
    }
    return 0;
}

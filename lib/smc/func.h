/* Additive functionals of the state path,
 *     S = sum_{t=1}^{T} h_t(x_{t-1}, x_t),
 * whose smoothed expectations E[S | y_1..y_T] PaRIS, PPG, FFBSm, FFBSi and
 * online PaRIS estimate (st_pf_opts.funcs).  A set holds any number of
 * named functionals, each giving one or more outputs (name, component):
 *   - an expression of the model's language over x_prev, x, y, t, the
 *     covariates and the parameters (stoch-model(5)); one that uses x_prev
 *     has h_1 = 0 (it starts at the second step), one that does not is a
 *     sum over every step; component "";
 *   - the built-in sums sum_x, sum_x2 (x_t and x_t^2 summed over t) and
 *     sum_xx1 (x_t x_{t+1}), one output per state component, named by it
 *     -- ordinary examples: sum_xx1 of component i is x_prev[i] * x[i];
 *   - the score: by Fisher's identity the gradient of the log-likelihood is
 *     E[d/dtheta log p(x_1..T, y_1..T) | y], the additive functional with
 *     h_1 = d/dtheta [log mu(x_1) + log g(y_1 | x_1)] and h_t =
 *     d/dtheta [log f(x_t | x_{t-1}) + log g(y_t | x_t)]; one output per
 *     parameter (st_pf_model_npar), named "score" with the parameter as
 *     component.
 *
 * Ownership: st_pf_funcs_new / st_pf_funcs_free; a set refers to its model,
 * which must outlive it. */
#ifndef ST_SMC_FUNC_H
#define ST_SMC_FUNC_H

#include <stddef.h>

#include "core/err.h"
#include "core/expr.h"
#include "smc/model.h"

typedef struct st_pf_funcs st_pf_funcs;

/* An empty set for model m. */
int st_pf_funcs_new(st_pf_funcs **f, const st_pf_model *m, st_err *e);
void st_pf_funcs_free(st_pf_funcs *f);

/* Add a functional written as an expression; src locates the text for
 * messages (NULL: none).  A name already in the set is ST_EUSAGE. */
int st_pf_funcs_add_expr(st_pf_funcs *f, const char *name, const char *text, const st_expr_src *src,
                         st_err *e);
/* Add a built-in sum by name: "sum_x", "sum_x2" or "sum_xx1". */
int st_pf_funcs_add_builtin(st_pf_funcs *f, const char *name, st_err *e);
/* Add the model file's `functionals:`. */
int st_pf_funcs_add_model(st_pf_funcs *f, st_err *e);
/* Add the score (one output per parameter). */
int st_pf_funcs_add_score(st_pf_funcs *f, st_err *e);

/* Outputs: count, and the name and component of output k. */
size_t st_pf_funcs_count(const st_pf_funcs *f);
const char *st_pf_funcs_name(const st_pf_funcs *f, size_t k);
const char *st_pf_funcs_component(const st_pf_funcs *f, size_t k);
/* 1 if some functional reads x_prev (or is the score). */
int st_pf_funcs_uses_prev(const st_pf_funcs *f);
/* 1 if the set holds the score (it needs gradient scratch). */
int st_pf_funcs_has_score(const st_pf_funcs *f);

/* h_t for n particles (n <= ST_PF_BLOCK) at step s: the current states X
 * (component i of particle p at X[i * xs + p]) and the previous ones Xp
 * (stride ps), Xp NULL at the first step.  out[k * ST_PF_BLOCK + p] for
 * every output k.  w and gw (NULL without a score) are the caller's
 * per-thread scratch. */
int st_pf_funcs_eval(const st_pf_funcs *f, const st_pf_step *s, const double *Xp, size_t ps, const double *X,
                     size_t xs, size_t n, double *out, st_pf_work *w, st_pf_gwork *gw, st_err *e);

#endif

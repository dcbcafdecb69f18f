/* Fuzz harness: the expression language (lib/core/expr.c), as model files
 * and functionals use it.  The first byte chooses the environment
 * (parameters folded or live); the rest is the text.  A program that
 * compiles is evaluated over a block with and without derivatives, and the
 * two must give the same values, bit for bit. */
#include "fuzz.h"

#include <math.h>

#include "core/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int live = data[0] & 1;
    char *text = fuzz_string(data + 1, size - 1);
    static const char *const pars[] = {"phi", "sigma", "mu", "a_b"};
    static const double parv[] = {0.9, 0.5, -1.25, 3};
    const st_expr_var vars[] = {
        {.name = "x", .dim = 2, .slot = 0, .offset = 0, .varies = 1},
        {.name = "y", .dim = 1, .slot = 1, .offset = 0, .varies = 0},
        {.name = "t", .dim = 1, .slot = 2, .offset = 0, .varies = 0},
        {.name = "z", .dim = 1, .slot = 1, .offset = 0, .varies = 0, .why = "z is not known here"},
    };
    st_expr_env env = {.vars = vars, .nvar = 4, .par_names = pars, .par_values = parv, .npar = 4, .live = live,
                       .what = "fuzz expression"};
    st_expr_src src = {.file = "fuzz.yaml", .line = 3, .col = 7};
    st_expr *p = NULL;
    st_err e;
    int rc = st_expr_compile(&p, text, &env, &src, &e);
    free(text);
    FUZZ_CHECK_ERR(rc, e);
    if (rc < 0)
        return 0;
    enum { N = 5 };
    double xs[2 * N], y = 0.3, t = 2, out[N], out2[N];
    for (size_t i = 0; i < 2 * N; i++)
        xs[i] = (double)i - 4.5;
    st_expr_in in[3] = {{xs, N}, {&y, 0}, {&t, 0}};
    st_expr_args a = {.in = in, .par = parv};
    st_expr_work *w = malloc(sizeof *w);
    double *dw = malloc((st_expr_dwork_size(p, N) + 1) * sizeof *dw);
    double *dout = malloc((st_expr_nderiv(p) * N + 1) * sizeof *dout);
    if (!w || !dw || !dout)
        abort();
    int u1 = st_expr_eval(p, &a, N, out, w);
    int u2 = st_expr_eval_d(p, &a, N, out2, dout, w, dw);
    FUZZ_CHECK(u1 == u2, "uniform %d without derivatives, %d with", u1, u2);
    for (size_t i = 0; i < (u1 ? 1 : N); i++)
        FUZZ_CHECK(memcmp(&out[i], &out2[i], sizeof out[i]) == 0 || (isnan(out[i]) && isnan(out2[i])),
                   "value %zu: %.17g without derivatives, %.17g with", i, out[i], out2[i]);
    if (!st_expr_varies(p)) {
        double grad[4];
        double v = st_expr_eval_grad(p, &a, grad);
        FUZZ_CHECK(memcmp(&v, &out[0], sizeof v) == 0 || (isnan(v) && isnan(out[0])), "eval_grad %.17g, eval %.17g",
                   v, out[0]);
    }
    char ex[64];
    st_expr_excerpt(p, ex, sizeof ex);
    free(w);
    free(dw);
    free(dout);
    st_expr_free(p);
    return 0;
}

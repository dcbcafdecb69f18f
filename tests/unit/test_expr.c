/* The expression language (lib/core/expr): precedence, every function's
 * value and derivative against central differences, block evaluation,
 * folding, errors located at the offending character with short excerpts,
 * the limits, and a 60 KB chain compiled under a 1 MB stack. */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/expr.h"

/* Parameters (mu, phi, sigma); variables x (2 components, per particle,
 * slot 0), t (slot 1), covariates u, temp (slot 2). */
static const char *const pars[] = {"mu", "phi", "sigma"};
static double parv[] = {-1.0, 0.9, 0.5};
static const st_expr_var vars[] = {
    {"x", 2, 0, 0, 1, NULL},
    {"t", 1, 1, 0, 0, NULL},
    {"u", 1, 2, 0, 0, NULL},
    {"temp", 1, 2, 1, 0, NULL},
};

static st_expr_env env2(int live)
{
    st_expr_env env = {0};
    env.vars = vars;
    env.nvar = 4;
    env.par_names = pars;
    env.par_values = parv;
    env.npar = 3;
    env.live = live;
    return env;
}

static double tval = 3.0, covv[2] = {2.0, -1.0};

/* Evaluate text at state (x0, x1) = (0.5, -2), t = 3, u = 2, temp = -1. */
static double ev(const char *text)
{
    st_expr_env env = env2(0);
    st_expr *p = NULL;
    st_err e;
    st_err_clear(&e);
    int rc = st_expr_compile(&p, text, &env, NULL, &e);
    ck_assert_msg(rc == 0, "compile '%s': %s", text, e.msg);
    static st_expr_work w;
    double x[2] = {0.5, -2.0}, out[1];
    st_expr_in in[3] = {{x, 1}, {&tval, 0}, {covv, 0}};
    st_expr_args a = {in, parv, NULL};
    st_expr_eval(p, &a, 1, out, &w);
    /* the same with live parameters */
    st_expr *q = NULL;
    env.live = 1;
    ck_assert_int_eq(st_expr_compile(&q, text, &env, NULL, &e), 0);
    double o2[1];
    st_expr_eval(q, &a, 1, o2, &w);
    ck_assert_msg(o2[0] == out[0] || (isnan(o2[0]) && isnan(out[0])), "%s: live %g, folded %g", text, o2[0],
                  out[0]);
    st_expr_free(q);
    st_expr_free(p);
    return out[0];
}

START_TEST(test_precedence)
{
    ck_assert_near(ev("1 + 2 * 3"), 7, 0);
    ck_assert_near(ev("(1 + 2) * 3"), 9, 0);
    ck_assert_near(ev("2 ^ 3 ^ 2"), 512, 0);          /* right associative */
    ck_assert_near(ev("-2 ^ 2"), -4, 0);              /* -(2^2) as in maths and R */
    ck_assert_near(ev("2 ** -1"), 0.5, 0);
    ck_assert_near(ev("10 - 4 - 3"), 3, 0);           /* left associative */
    ck_assert_near(ev("8 / 4 / 2"), 1, 0);
    ck_assert_near(ev("1 + 2 < 4"), 1, 0);
    ck_assert_near(ev("1 < 2 && 3 < 2 || 1"), 1, 0);
    ck_assert_near(ev("0 || 0 && 1"), 0, 0);           /* && binds tighter */
    ck_assert_near(ev("!0 + 1"), 2, 0);
    ck_assert_near(ev("1 ? 2 : 3"), 2, 0);
    ck_assert_near(ev("0 ? 2 : 1 ? 4 : 5"), 4, 0);    /* right nested */
    ck_assert_near(ev("1 == 1 ? 10 : 20"), 10, 0);
    ck_assert_near(ev("3 != 3"), 0, 0);
    ck_assert_near(ev("2 >= 2"), 1, 0);
    ck_assert_near(ev("1 - 2 * 3 ^ 2 / 6"), -2, 0);
    ck_assert_near(ev(".5e1 + 1. + 2E-1 + 1e+1"), 16.2, 1e-14);
    ck_assert_near(ev("- - 3"), 3, 0);
    ck_assert_near(ev("+3 - -3"), 6, 0);
    ck_assert_near(ev("mu * x[0] ^ 2"), -0.25, 0);
}
END_TEST

START_TEST(test_names_and_functions)
{
    ck_assert_near(ev("x[0] + x[1]"), -1.5, 1e-15);
    ck_assert_near(ev("x [ 1 ]"), -2, 0);
    ck_assert_near(ev("mu + phi * (x[0] - mu)"), -1 + 0.9 * 1.5, 1e-15);
    ck_assert_near(ev("t * u + temp"), 5, 0);
    ck_assert_near(ev("exp(1)"), M_E, 1e-15);
    ck_assert_near(ev("log(exp(2.5))"), 2.5, 1e-15);
    ck_assert_near(ev("log1p(1e-20)"), 1e-20, 1e-35);
    ck_assert_near(ev("expm1(1e-20)"), 1e-20, 1e-35);
    ck_assert_near(ev("sqrt(16)"), 4, 0);
    ck_assert_near(ev("pow(2, 10)"), 1024, 0);
    ck_assert_near(ev("sin(pi / 2) + cos(0)"), 2, 1e-15);
    ck_assert_near(ev("atan2(1, -1)"), 3 * M_PI / 4, 1e-15);
    ck_assert_near(ev("abs(x[1])"), 2, 0);
    ck_assert_near(ev("min(x[0], x[1]) + max(3, 4)"), 2, 0);
    ck_assert_near(ev("logistic(0)"), 0.5, 0);
    ck_assert_near(ev("logistic(-800)"), 0, 1e-300); /* no overflow */
    ck_assert_near(ev("logistic(800)"), 1, 0);
    ck_assert_near(ev("if(x[0] > 0, 1, -1)"), 1, 0);
    ck_assert_near(ev("x[1] > 0 ? 1 : -1"), -1, 0);
    ck_assert_near(ev("floor(-0.5) + tan(0)"), -1, 0);
    ck_assert(isnan(ev("log(-1)")));
}
END_TEST

START_TEST(test_block_and_uniform)
{
    st_expr_env env = env2(0);
    st_expr *p = NULL;
    st_err e;
    ck_assert_int_eq(st_expr_compile(&p, "mu + phi * (x[0] - mu) + 0 * t", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_varies(p), 1);
    ck_assert_int_eq(st_expr_uses_var(p, 0), 1);
    ck_assert_int_eq(st_expr_uses_var(p, 2), 0);
    static st_expr_work w;
    enum { n = ST_EXPR_BLOCK };
    double x[2 * n], out[n];
    for (int i = 0; i < n; i++) {
        x[i] = i * 0.01;
        x[n + i] = -i;
    }
    double one = 1.0;
    st_expr_in in[3] = {{x, n}, {&one, 0}, {covv, 0}};
    st_expr_args a = {in, parv, NULL};
    ck_assert_int_eq(st_expr_eval(p, &a, n, out, &w), 0);
    for (int i = 0; i < n; i++)
        ck_assert_near(out[i], -1 + 0.9 * (i * 0.01 + 1), 1e-14);
    st_expr_free(p);

    /* folded parameters give a constant; t keeps it uniform but not constant */
    double v;
    ck_assert_int_eq(st_expr_compile(&p, "sigma / sqrt(1 - phi^2)", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_constant(p, &v), 1);
    ck_assert_near(v, 0.5 / sqrt(1 - 0.81), 1e-15);
    st_expr_free(p);
    ck_assert_int_eq(st_expr_compile(&p, "8 * cos(1.2 * t)", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_constant(p, NULL), 0);
    ck_assert_int_eq(st_expr_varies(p), 0);
    double two = 2.0;
    in[1].v = &two;
    ck_assert_near(st_expr_eval1(p, &a), 8 * cos(2.4), 1e-15);
    ck_assert_int_eq(st_expr_eval(p, &a, n, out, &w), 1);
    st_expr_free(p);
    /* a select on particles mixes uniform and varying branches */
    ck_assert_int_eq(st_expr_compile(&p, "x[1] < -10 ? 7 : x[0]", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_eval(p, &a, n, out, &w), 0);
    for (int i = 0; i < n; i++)
        ck_assert_near(out[i], -i < -10 ? 7 : i * 0.01, 0);
    st_expr_free(p);
    /* a constant condition picks its branch at compile time */
    ck_assert_int_eq(st_expr_compile(&p, "phi > 0.5 ? x[0] : 1 / 0", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_eval(p, &a, n, out, &w), 0);
    ck_assert_near(out[5], 0.05, 0);
    st_expr_free(p);
    ck_assert_int_eq(st_expr_compile(&p, "phi < 0.5 ? x[0] : 2 * 3", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_constant(p, &v), 1);
    ck_assert_near(v, 6, 0);
    st_expr_free(p);
    /* live parameters are read at evaluation */
    env.live = 1;
    ck_assert_int_eq(st_expr_compile(&p, "sigma / sqrt(1 - phi^2)", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_constant(p, NULL), 0);
    ck_assert_int_eq(st_expr_nderiv(p), 2);
    ck_assert_int_eq(st_expr_deriv_par(p, 0), 1);
    ck_assert_int_eq(st_expr_deriv_par(p, 1), 2);
    double par2[3] = {0, 0.6, 2};
    a.par = par2;
    ck_assert_near(st_expr_eval1(p, &a), 2.5, 1e-15);
    st_expr_free(p);
}
END_TEST

/* d/dpar of each function against central differences, on a block of
 * particles (varying) and on one uniform value. */
START_TEST(test_derivatives)
{
    static const char *const cases[] = {
        "exp(mu * x[0] + phi)", "log(phi + x[0] * x[0])", "log1p(phi * x[0] * x[0])", "expm1(mu * x[0])",
        "sqrt(sigma + x[0] * x[0])", "sin(mu * x[0])", "cos(phi * x[0] + mu)", "tan(0.3 * phi * x[0])",
        "abs(mu - x[0])", "logistic(mu * x[0] + sigma)", "floor(mu * 3) + mu * x[0]",
        "atan2(mu + x[0], sigma)", "atan2(sigma, phi * x[0] - 3)", "min(mu * x[0], phi)", "max(mu, phi * x[0])",
        "pow(sigma + x[0] * x[0], phi)", "(phi + x[0] * x[0]) ^ 2", "sigma ^ x[0]", "(abs(x[0]) + 0.1) ^ mu",
        "mu / (sigma + x[0] * x[0])", "-(mu * x[0]) + phi - sigma * 2", "x[0] > mu ? phi * x[0] : sigma ^ 2",
        "if(phi > 0.5, mu * sigma, x[0])", "(mu * x[0] < phi) * sigma + (mu > 0 || sigma > 0)",
        "!(mu > 0) * phi", "mu * phi * sigma * t * u + temp", "sigma / sqrt(1 - phi^2)",
    };
    st_expr_env env = env2(1);
    enum { n = 7 };
    double x[2 * n];
    for (int i = 0; i < n; i++) {
        x[i] = -1.3 + 0.45 * i;
        x[n + i] = 0;
    }
    st_expr_in in[3] = {{x, n}, {&tval, 0}, {covv, 0}};
    static st_expr_work w;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        st_expr *p = NULL;
        st_err e;
        ck_assert_msg(st_expr_compile(&p, cases[c], &env, NULL, &e) == 0, "%s: %s", cases[c], e.msg);
        size_t nd = st_expr_nderiv(p);
        double *dw = malloc(st_expr_dwork_size(p, n) * sizeof *dw);
        double out[n], dout[3 * n], base[3] = {-0.7, 0.8, 1.3};
        st_expr_args a = {in, base, NULL};
        int uni = st_expr_eval_d(p, &a, n, out, dout, &w, dw);
        double o2[n];
        ck_assert_int_eq(st_expr_eval(p, &a, n, o2, &w), uni);
        for (size_t i = 0; i < (uni ? 1u : (size_t)n); i++)
            ck_assert_msg(out[i] == o2[i], "%s: value %g vs %g", cases[c], out[i], o2[i]);
        for (size_t k = 0; k < nd; k++) {
            size_t j = st_expr_deriv_par(p, k);
            double h = 1e-6, up[n], dn[n], q[3];
            memcpy(q, base, sizeof q);
            q[j] += h;
            a.par = q;
            st_expr_eval(p, &a, n, up, &w);
            q[j] -= 2 * h;
            st_expr_eval(p, &a, n, dn, &w);
            a.par = base;
            for (size_t i = 0; i < (uni ? 1u : (size_t)n); i++) {
                double fd = (up[uni ? 0 : i] - dn[uni ? 0 : i]) / (2 * h), an = dout[k * n + i];
                ck_assert_msg(fabs(an - fd) < 1e-6 * fmax(1, fabs(an)), "%s: d/d%s at particle %zu: %.10g vs %.10g",
                              cases[c], pars[j], i, an, fd);
            }
        }
        /* scalar gradient over all parameters, on particle 0 */
        double g[3], x0[2] = {x[0], 0};
        st_expr_in in1[3] = {{x0, 1}, {&tval, 0}, {covv, 0}};
        st_expr_args a1 = {in1, base, NULL};
        double v = st_expr_eval_grad(p, &a1, g);
        ck_assert_msg(v == out[0], "%s: eval_grad %g vs %g", cases[c], v, out[0]);
        for (size_t k = 0; k < nd; k++)
            ck_assert(g[st_expr_deriv_par(p, k)] == dout[k * n]);
        free(dw);
        st_expr_free(p);
    }
}
END_TEST

/* Compile text placed at line 7, column 12 and expect an error at col. */
static void expect_error(const char *text, long col, const char *what)
{
    st_expr_env env = env2(0);
    st_expr *p = NULL;
    st_err e;
    st_err_clear(&e);
    st_expr_src src = {"m.yaml", 7, 12};
    int rc = st_expr_compile(&p, text, &env, &src, &e);
    ck_assert_msg(rc == ST_EDATA, "'%s' compiled", text);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(e.file, "m.yaml");
    ck_assert_int_eq(e.line, 7);
    ck_assert_msg(e.col == col, "'%s': column %ld, wanted %ld (%s)", text, e.col, col, e.msg);
    ck_assert_msg(strstr(e.msg, what) != NULL, "'%s': message '%s' lacks '%s'", text, e.msg, what);
}

START_TEST(test_errors_with_positions)
{
    expect_error("mu + foo", 17, "unknown variable 'foo'");
    expect_error("1 +", 15, "unexpected end of expression");
    expect_error("(1 + 2", 18, "expected ')'");
    expect_error("x[2]", 14, "out of range");
    expect_error("x + 1", 12, "write x[0]..x[1]");
    expect_error("x[a]", 14, "literal index");
    expect_error("sqrt(1, 2)", 12, "takes 1 argument");
    expect_error("if(1, 2)", 12, "takes 3 arguments");
    expect_error("nosuch(1)", 12, "unknown function 'nosuch'");
    expect_error("1 $ 2", 14, "unexpected '$'");
    expect_error("2x", 13, "after a number");
    expect_error("1 ? 2", 17, "':'");
    expect_error("exp", 12, "needs arguments");
    expect_error("", 12, "unexpected end");
    expect_error("1 2", 14, "after the end");
    expect_error("1..2", 14, "unexpected '.' after a number");
    expect_error("1e999", 12, "too large");
    /* decimal only (stoch-model(5)) */
    expect_error("0x10", 12, "hexadecimal numbers are not allowed");
    expect_error("mu + 0X1p3", 17, "hexadecimal");
    expect_error("inf", 12, "unknown variable 'inf'");
    expect_error("nan + 1", 12, "unknown variable 'nan'");
    /* a second line of a multi-line scalar */
    st_expr_env env = env2(0);
    st_expr *p = NULL;
    st_err e;
    st_expr_src src = {"m.yaml", 7, 12};
    ck_assert_int_eq(st_expr_compile(&p, "mu +\n  bad", &env, &src, &e), ST_EDATA);
    ck_assert_int_eq(e.line, 8);
    ck_assert_int_eq(e.col, 3);
    /* rate formulas name themselves and their parameters */
    st_expr_env penv = {.par_names = pars, .par_values = parv, .npar = 3, .live = 1, .what = "rate formula"};
    ck_assert_int_eq(st_expr_compile(&p, "mu * c", &penv, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "rate formula 'mu * c': unknown parameter 'c'"));
}
END_TEST

/* A long expression: the message quotes a short excerpt around the error
 * and keeps the reason. */
START_TEST(test_long_error_keeps_reason)
{
    size_t terms = 5000;
    char *s = malloc(terms * 5 + 32);
    size_t k = 0;
    for (size_t i = 0; i < terms; i++)
        k += (size_t)sprintf(s + k, "%smu", i ? " + " : "");
    k += (size_t)sprintf(s + k, " + foo(1)");
    st_expr_env env = env2(0);
    st_expr *p = NULL;
    st_err e;
    st_expr_src src = {"m.yaml", 3, 5};
    ck_assert_int_eq(st_expr_compile(&p, s, &env, &src, &e), ST_EDATA);
    ck_assert_msg(strstr(e.msg, "unknown function 'foo'") != NULL, "%s", e.msg);
    ck_assert_msg(strstr(e.msg, "...") != NULL, "%s", e.msg);
    ck_assert_msg(strlen(e.msg) < 200, "%s", e.msg);
    ck_assert_int_eq(e.col, 5 + (long)(k - 6));
    /* a long unknown name is cut too */
    memset(s, 'a', 3000);
    s[3000] = '\0';
    ck_assert_int_eq(st_expr_compile(&p, s, &env, &src, &e), ST_EDATA);
    ck_assert_msg(strstr(e.msg, "unknown variable 'aaaa") != NULL && strlen(e.msg) < 250, "%s", e.msg);
    /* the excerpt of a compiled program for run-time messages */
    sprintf(s, "mu + phi + sigma + mu + phi + sigma + mu + phi + sigma + mu + phi + sigma + x[0]");
    ck_assert_int_eq(st_expr_compile(&p, s, &env, NULL, &e), 0);
    char ex[80];
    st_expr_excerpt(p, ex, sizeof ex);
    ck_assert_msg(strlen(ex) <= 60 && strncmp(ex, "mu + phi", 8) == 0 && strstr(ex, "...") != NULL, "%s", ex);
    st_expr_free(p);
    free(s);
}
END_TEST

START_TEST(test_limits)
{
    st_expr_env env = env2(0);
    st_expr *p = NULL;
    st_err e;
    /* deep nesting is an error, not a stack overflow */
    char deep[2000];
    memset(deep, '(', 1000);
    strcpy(deep + 1000, "1");
    ck_assert_int_eq(st_expr_compile(&p, deep, &env, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "nested more than"));
    memset(deep, '-', 1000);
    ck_assert_int_eq(st_expr_compile(&p, deep, &env, NULL, &e), ST_EDATA);
    for (int i = 0; i < 500; i++)
        memcpy(deep + 2 * i, "1^", 2);
    strcpy(deep + 1000, "1");
    ck_assert_int_eq(st_expr_compile(&p, deep, &env, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "nested more than"));
    /* nesting within the limit works */
    char ok[200];
    memset(ok, '(', 40);
    strcpy(ok + 40, "2");
    memset(ok + 41, ')', 40);
    ok[81] = '\0';
    ck_assert_int_eq(st_expr_compile(&p, ok, &env, NULL, &e), 0);
    st_expr_free(p);
    /* a right-nested sum needs a deep evaluation stack: refused with the reason */
    char right[400] = "";
    for (int i = 0; i < 40; i++)
        strcat(right, "x[0]+(");
    strcat(right, "1");
    for (int i = 0; i < 40; i++)
        strcat(right, ")");
    ck_assert_int_eq(st_expr_compile(&p, right, &env, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "evaluation stack"));
    /* longer than the limit */
    size_t big = ST_EXPR_MAXLEN + 10;
    char *s = malloc(big + 1);
    memset(s, '1', big);
    s[big] = '\0';
    ck_assert_int_eq(st_expr_compile(&p, s, &env, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "longer than"));
    free(s);
}
END_TEST

/* x[0] + x[0] + ... (60 KB) compiled, folded and evaluated on a thread
 * with a 1 MB stack: the parser recurses with the nesting, not the length. */
static void *long_chain(void *arg)
{
    int *ok = arg;
    size_t terms = 12000; /* "x[0]+" is 5 bytes: 60 KB */
    char *s = malloc(terms * 5 + 1);
    for (size_t i = 0; i < terms; i++)
        memcpy(s + 5 * i, "x[0]+", 5);
    s[terms * 5 - 1] = '\0';
    st_expr_env env = env2(1);
    st_expr *p = NULL;
    st_err e;
    *ok = 0;
    if (st_expr_compile(&p, s, &env, NULL, &e) == 0) {
        static st_expr_work w;
        double x[4] = {0.5, 0.25, 0, 0}, out[2];
        st_expr_in in[3] = {{x, 2}, {&tval, 0}, {covv, 0}};
        st_expr_args a = {in, parv, NULL};
        st_expr_eval(p, &a, 2, out, &w);
        *ok = out[0] == 0.5 * (double)terms && out[1] == 0.25 * (double)terms;
        st_expr_free(p);
    }
    /* a chain of constants and parameters folds to one constant */
    for (size_t i = 0; i < terms; i++)
        memcpy(s + 5 * i, i % 2 ? "phi+ " : "mu + ", 5);
    s[terms * 5 - 2] = '\0';
    env.live = 0;
    double v;
    if (*ok && st_expr_compile(&p, s, &env, NULL, &e) == 0) {
        *ok = st_expr_constant(p, &v) && fabs(v - (terms / 2) * (-1.0 + 0.9)) < 1e-6;
        st_expr_free(p);
    } else {
        *ok = 0;
    }
    free(s);
    return NULL;
}

START_TEST(test_long_chain_small_stack)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    ck_assert_int_eq(pthread_attr_setstacksize(&at, 1 << 20), 0);
    pthread_t th;
    int ok = 0;
    ck_assert_int_eq(pthread_create(&th, &at, long_chain, &ok), 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&at);
    ck_assert_int_eq(ok, 1);
}
END_TEST

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* The block VM (vector kernels: SLEEF for exp/log/log1p, plain IEEE
 * arithmetic otherwise) against the same expression evaluated one value
 * at a time: arithmetic the same bits whatever side is uniform (signed
 * zeros, infinities, NaN, subnormals, division by powers of two and by
 * other constants), exp/log/log1p within 1 ulp of libm; uniform values
 * computed by libm, as folding computes them. */
START_TEST(test_vector_ops_bitwise)
{
    st_expr_env env = env2(1);
    static const char *const texts[] = {
        "x[0] + x[1]", "x[0] - x[1]", "x[0] * x[1]", "x[0] / x[1]", "mu + x[0]", "x[0] + mu", "mu - x[0]",
        "x[0] - mu", "phi * x[0]", "x[0] * phi", "x[0] / 2", "x[0] / 0.25", "x[0] / 3", "x[0] / 0.5e-310",
        "sigma / x[0]", "x[0] * 0", "-x[0] * 0", "x[0] ^ 2", "mu + phi * (x[0] - mu)", "x[0] - 0",
        "0 - x[0]", "(x[0] - x[1]) * sigma / 2", "x[0] / 2^1030", "x[0] * 2^-1070 / 2"};
    enum { n = 67 };
    double x[2 * ST_EXPR_BLOCK];
    static const double special[] = {0.0, -0.0, 1.0, -1.5, INFINITY, -INFINITY, NAN, 4.9e-324, -2.2e-308,
                                     1e308, -1e-300, 3.0};
    for (int i = 0; i < n; i++) {
        x[i] = i < 12 ? special[i] : sin(i * 1.7) * pow(10.0, (i % 9) - 4);
        x[ST_EXPR_BLOCK + i] = i < 12 ? special[11 - i] : cos(i * 0.3) * 3;
    }
    double one = 1.0, par[3] = {-0.0, 0.9, 0.5};
    st_expr_in in[3] = {{x, ST_EXPR_BLOCK}, {&one, 0}, {covv, 0}};
    st_expr_args a = {in, par, NULL};
    static st_expr_work w;
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        st_expr *p = NULL;
        st_err e;
        ck_assert_msg(st_expr_compile(&p, texts[k], &env, NULL, &e) == 0, "%s: %s", texts[k], e.msg);
        double out[ST_EXPR_BLOCK];
        ck_assert_int_eq(st_expr_eval(p, &a, n, out, &w), 0);
        for (int i = 0; i < n; i++) {
            double xi[2] = {x[i], x[ST_EXPR_BLOCK + i]}, one_out;
            st_expr_in in1[3] = {{xi, 1}, {&one, 0}, {covv, 0}};
            st_expr_args a1 = {in1, par, NULL};
            st_expr_eval(p, &a1, 1, &one_out, &w);
            ck_assert_msg(same_bits(out[i], one_out) || (isnan(out[i]) && isnan(one_out)),
                          "%s at %d: block %a, one value %a", texts[k], i, out[i], one_out);
        }
        st_expr_free(p);
    }
    /* exp, log, log1p over a block: within 1 ulp of libm */
    static const char *const fn[] = {"exp(x[0])", "log(abs(x[0]))", "log1p(abs(x[0]))"};
    for (int k = 0; k < 3; k++) {
        st_expr *p = NULL;
        st_err e;
        ck_assert_int_eq(st_expr_compile(&p, fn[k], &env, NULL, &e), 0);
        double out[ST_EXPR_BLOCK];
        st_expr_eval(p, &a, n, out, &w);
        for (int i = 12; i < n; i++) {
            double v = fabs(x[i]), want = k == 0 ? exp(x[i]) : k == 1 ? log(v) : log1p(v);
            ck_assert_msg(out[i] == want || fabs(out[i] - want) <= nextafter(fabs(want), INFINITY) - fabs(want), "%s at %g: %a vs %a",
                          fn[k], x[i], out[i], want);
        }
        st_expr_free(p);
    }
    /* a uniform exp is libm's (what folding gives) */
    st_expr *p = NULL;
    st_err e;
    ck_assert_int_eq(st_expr_compile(&p, "exp(phi) + log(sigma)", &env, NULL, &e), 0);
    double out[ST_EXPR_BLOCK];
    ck_assert_int_eq(st_expr_eval(p, &a, n, out, &w), 1);
    ck_assert(same_bits(out[0], exp(0.9) + log(0.5)));
    st_expr_free(p);
}
END_TEST

/* Per-particle parameters (args.par_in): each particle's value is the
 * expression at its own parameters; st_expr_eval1 and the derivatives
 * read par. */
START_TEST(test_per_particle_parameters)
{
    st_expr_env env = env2(1);
    st_expr *p = NULL;
    st_err e;
    ck_assert_int_eq(st_expr_compile(&p, "mu + phi * (x[0] - mu) + sigma * exp(x[1] / 2)", &env, NULL, &e), 0);
    enum { n = 100 };
    double x[2 * n], P[3 * n], out[n], par[3] = {-1.0, 0.9, 0.5};
    for (int i = 0; i < n; i++) {
        x[i] = 0.1 * i - 3;
        x[n + i] = cos(i);
        P[i] = -1 + 0.01 * i;
        P[n + i] = 0.5 + 0.004 * i;
        P[2 * n + i] = 0.1 + 0.02 * i;
    }
    double one = 1.0;
    st_expr_in in[3] = {{x, n}, {&one, 0}, {covv, 0}}, pin = {P, n};
    st_expr_args a = {in, par, &pin};
    static st_expr_work w;
    ck_assert_int_eq(st_expr_eval(p, &a, n, out, &w), 0);
    for (int i = 0; i < n; i++) {
        double want = P[i] + P[n + i] * (x[i] - P[i]) + P[2 * n + i] * exp(x[n + i] / 2);
        ck_assert_msg(fabs(out[i] - want) <= 1e-14 * (1 + fabs(want)), "particle %d: %g vs %g", i, out[i], want);
    }
    /* an expression of the parameters only varies with them */
    st_expr *q = NULL;
    ck_assert_int_eq(st_expr_compile(&q, "sigma / sqrt(1 - phi^2)", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_eval(q, &a, n, out, &w), 0);
    for (int i = 0; i < n; i++)
        ck_assert_near(out[i], P[2 * n + i] / sqrt(1 - P[n + i] * P[n + i]), 1e-15);
    ck_assert_near(st_expr_eval1(q, &a), 0.5 / sqrt(1 - 0.81), 1e-15);
    double g[3];
    ck_assert_near(st_expr_eval_grad(q, &a, g), 0.5 / sqrt(1 - 0.81), 1e-15);
    ck_assert_near(g[2], 1 / sqrt(1 - 0.81), 1e-14);
    st_expr_free(q);
    st_expr_free(p);
}
END_TEST

/* exp(E) gives E; a copy evaluates as the original. */
START_TEST(test_exp_arg_and_clone)
{
    st_expr_env env = env2(1);
    st_expr *p = NULL, *q = NULL, *c = NULL;
    st_err e;
    ck_assert_int_eq(st_expr_compile(&p, "exp(mu + x[0] / 2)", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_exp_arg(p, &q), 1);
    ck_assert_ptr_nonnull(q);
    c = st_expr_clone(p);
    ck_assert_ptr_nonnull(c);
    double x[2] = {0.7, 0}, one = 1, o1, o2;
    st_expr_in in[3] = {{x, 1}, {&one, 0}, {covv, 0}};
    st_expr_args a = {in, parv, NULL};
    static st_expr_work w;
    st_expr_eval(q, &a, 1, &o1, &w);
    ck_assert(o1 == -1.0 + 0.35);
    st_expr_eval(c, &a, 1, &o2, &w);
    st_expr_eval(p, &a, 1, &o1, &w);
    ck_assert(same_bits(o1, o2));
    ck_assert_int_eq(st_expr_nderiv(c), st_expr_nderiv(p));
    ck_assert_str_eq(st_expr_text(c), "exp(mu + x[0] / 2)");
    st_expr_free(q);
    st_expr_free(c);
    st_expr_free(p);
    ck_assert_int_eq(st_expr_compile(&p, "2 * exp(x[0])", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_exp_arg(p, &q), 0);
    ck_assert_ptr_null(q);
    st_expr_free(p);
    ck_assert_ptr_null(st_expr_clone(NULL));
}
END_TEST

START_TEST(test_not_available_here)
{
    st_expr_var v[2] = {{"x", 2, 0, 0, 1, "the initial distribution has no previous state"},
                        {"t", 1, 1, 0, 0, NULL}};
    st_expr_env env = {.vars = v, .nvar = 2};
    st_expr *p = NULL;
    st_err e;
    ck_assert_int_eq(st_expr_compile(&p, "x[0]", &env, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "x is not available here: the initial distribution"));
    ck_assert_int_eq(st_expr_compile(&p, "t + 1", &env, NULL, &e), 0);
    st_expr_free(p);
    ck_assert(st_expr_reserved("exp"));
    ck_assert(st_expr_reserved("pi"));
    ck_assert(!st_expr_reserved("mu"));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("expr");
    TCase *tc = tcase_create("expr");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_precedence);
    tcase_add_test(tc, test_names_and_functions);
    tcase_add_test(tc, test_block_and_uniform);
    tcase_add_test(tc, test_derivatives);
    tcase_add_test(tc, test_errors_with_positions);
    tcase_add_test(tc, test_long_error_keeps_reason);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_long_chain_small_stack);
    tcase_add_test(tc, test_not_available_here);
    tcase_add_test(tc, test_vector_ops_bitwise);
    tcase_add_test(tc, test_per_particle_parameters);
    tcase_add_test(tc, test_exp_arg_and_clone);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(make_suite)

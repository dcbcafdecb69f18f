/* Model expressions: precedence, functions, block evaluation, folding and
 * errors located at the offending character. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "check_util.h"
#include "smc/expr.h"

static const char *const pars[] = {"mu", "phi", "sigma"};
static const double parv[] = {-1.0, 0.9, 0.5};
static const char *const covs[] = {"u", "temp"};

static st_expr_env env2(void)
{
    st_expr_env env = {0};
    env.nx = 2;
    env.xwhat = "previous state";
    env.allow_t = 1;
    env.cov_names = covs;
    env.ncov = 2;
    env.par_names = pars;
    env.par_values = parv;
    env.npar = 3;
    return env;
}

/* Evaluate text at state (x0, x1), t = 3, u = 2, temp = -1. */
static double ev(const char *text)
{
    st_expr_env env = env2();
    st_expr *p = NULL;
    st_err e;
    st_err_clear(&e);
    int rc = st_expr_compile(&p, text, &env, NULL, &e);
    ck_assert_msg(rc == 0, "compile '%s': %s", text, e.msg);
    static st_expr_work w;
    double x[2] = {0.5, -2.0}, cov[2] = {2.0, -1.0}, out[1];
    st_expr_args a = {x, 1, 3.0, cov};
    st_expr_eval(p, &a, 1, out, &w);
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
    ck_assert_near(ev("!0 + 1"), 2, 0);
    ck_assert_near(ev("1 ? 2 : 3"), 2, 0);
    ck_assert_near(ev("0 ? 2 : 1 ? 4 : 5"), 4, 0);    /* right nested */
    ck_assert_near(ev("1 == 1 ? 10 : 20"), 10, 0);
    ck_assert_near(ev("3 != 3"), 0, 0);
    ck_assert_near(ev("2 >= 2"), 1, 0);
    ck_assert_near(ev(".5e1 + 1."), 6, 0);
}
END_TEST

START_TEST(test_names_and_functions)
{
    ck_assert_near(ev("x[0] + x[1]"), -1.5, 1e-15);
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
}
END_TEST

START_TEST(test_block_and_uniform)
{
    st_expr_env env = env2();
    st_expr *p = NULL;
    st_err e;
    ck_assert_int_eq(st_expr_compile(&p, "mu + phi * (x[0] - mu) + 0 * t", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_varies(p), 1);
    static st_expr_work w;
    enum { n = 300 > ST_EXPR_BLOCK ? ST_EXPR_BLOCK : 300 };
    double x[2 * n], out[n], cov[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        x[i] = i * 0.01;
        x[n + i] = -i;
    }
    st_expr_args a = {x, n, 1.0, cov};
    ck_assert_int_eq(st_expr_eval(p, &a, n, out, &w), 0);
    for (int i = 0; i < n; i++)
        ck_assert_near(out[i], -1 + 0.9 * (i * 0.01 + 1), 1e-14);
    st_expr_free(p);

    /* parameters fold into constants; t keeps it uniform but not constant */
    double v;
    ck_assert_int_eq(st_expr_compile(&p, "sigma / sqrt(1 - phi^2)", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_constant(p, &v), 1);
    ck_assert_near(v, 0.5 / sqrt(1 - 0.81), 1e-15);
    st_expr_free(p);
    ck_assert_int_eq(st_expr_compile(&p, "8 * cos(1.2 * t)", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_constant(p, NULL), 0);
    ck_assert_int_eq(st_expr_varies(p), 0);
    ck_assert_near(st_expr_eval1(p, 2.0, cov), 8 * cos(2.4), 1e-15);
    ck_assert_int_eq(st_expr_eval(p, &a, n, out, &w), 1);
    st_expr_free(p);
    /* a select on particles mixes uniform and varying branches */
    ck_assert_int_eq(st_expr_compile(&p, "x[1] < -10 ? 7 : x[0]", &env, NULL, &e), 0);
    ck_assert_int_eq(st_expr_eval(p, &a, n, out, &w), 0);
    for (int i = 0; i < n; i++)
        ck_assert_near(out[i], -i < -10 ? 7 : i * 0.01, 0);
    st_expr_free(p);
}
END_TEST

/* Compile text placed at line 7, column 12 and expect an error at col. */
static void expect_error(const char *text, long col, const char *what)
{
    st_expr_env env = env2();
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
    expect_error("sqrt(1, 2)", 12, "takes 1 argument");
    expect_error("nosuch(1)", 12, "unknown function 'nosuch'");
    expect_error("1 $ 2", 14, "unexpected '$'");
    expect_error("2x", 13, "after a number");
    expect_error("1 ? 2", 17, "':'");
    expect_error("exp", 12, "needs arguments");
    expect_error("", 12, "unexpected end");
    expect_error("1 2", 14, "after the end");
}
END_TEST

START_TEST(test_no_state_here)
{
    st_expr_env env = env2();
    env.nx = 0;
    env.xwhat = "the initial distribution has no previous state";
    env.allow_t = 0;
    st_expr *p = NULL;
    st_err e;
    ck_assert_int_eq(st_expr_compile(&p, "x[0]", &env, NULL, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "initial distribution"));
    ck_assert_int_eq(st_expr_compile(&p, "t", &env, NULL, &e), ST_EDATA);
    /* deep nesting is an error, not a stack overflow */
    char deep[2000];
    memset(deep, '(', 1000);
    strcpy(deep + 1000, "1");
    ck_assert_int_eq(st_expr_compile(&p, deep, &env, NULL, &e), ST_EDATA);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("smc_expr");
    TCase *tc = tcase_create("expr");
    tcase_add_test(tc, test_precedence);
    tcase_add_test(tc, test_names_and_functions);
    tcase_add_test(tc, test_block_and_uniform);
    tcase_add_test(tc, test_errors_with_positions);
    tcase_add_test(tc, test_no_state_here);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(make_suite)

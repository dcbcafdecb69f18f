/* lib/mjp model files and rate formulas: parsing, derivatives, strict
 * reading with positions, bad models, and write -> read round trips. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "mjp/mjp.h"

static const char *const NAMES[] = {"V", "r", "b"};

START_TEST(test_expr_values_and_gradients)
{
    struct {
        const char *text;
        double v;
    } cases[] = {
        {"exp(-V/2)", exp(-0.35)},   {"r * b + 2", 0.5 * 3 + 2},     {"-V^2", -0.49},
        {"2^-1", 0.5},               {"(r + b) / (r - b)", 3.5 / -2.5}, {"sqrt(b) * log(r)", sqrt(3) * log(0.5)},
        {"exp(-V*(2)/2)", exp(-0.7)}, {"1e-3*r", 5e-4},               {"  b  ", 3},
    };
    double par[] = {0.7, 0.5, 3};
    st_err e;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        st_expr *x;
        ck_assert_msg(st_mjp_rate_compile(&x, cases[c].text, NAMES, 3, NULL, &e) == 0, "%s: %s", cases[c].text,
                      e.msg);
        double g[3];
        ck_assert_near(st_mjp_rate_eval(x, par, g), cases[c].v, 1e-14);
        /* gradient against central differences */
        for (int p = 0; p < 3; p++) {
            double q[3] = {par[0], par[1], par[2]}, h = 1e-6;
            q[p] += h;
            double up = st_mjp_rate_eval(x, q, NULL);
            q[p] -= 2 * h;
            double dn = st_mjp_rate_eval(x, q, NULL);
            ck_assert_msg(fabs(g[p] - (up - dn) / (2 * h)) < 1e-7 * fmax(1, fabs(g[p])), "%s d/d%s", cases[c].text,
                          NAMES[p]);
        }
        st_expr_free(x);
    }
    st_expr *x;
    ck_assert_int_eq(st_mjp_rate_compile(&x, "3", NAMES, 3, NULL, &e), 0);
    ck_assert(st_expr_constant(x, NULL));
    st_expr_free(x);
}
END_TEST

START_TEST(test_expr_errors)
{
    /* the one expression language: errors located at their column */
    struct {
        const char *text;
        long col;
        const char *msg;
    } bad[] = {{"", 10, "unexpected end"}, {"exp(", 14, "unexpected end"}, {"V +", 13, "unexpected end"},
               {"q", 10, "unknown parameter 'q'"}, {"sinh(V)", 10, "unknown function 'sinh'"},
               {"V V", 12, "after the end"}, {"(V", 12, "expected ')'"}, {"1..2", 12, "after a number"},
               {")", 10, "unexpected ')'"}, {"0x1F", 10, "hexadecimal"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st_expr *x = NULL;
        st_err e;
        st_err_clear(&e);
        st_expr_src src = {"m.yaml", 4, 10};
        ck_assert_msg(st_mjp_rate_compile(&x, bad[i].text, NAMES, 3, &src, &e) == ST_EDATA, "'%s' accepted",
                      bad[i].text);
        ck_assert(x == NULL);
        ck_assert_msg(strstr(e.msg, bad[i].msg) != NULL && strstr(e.msg, "rate formula") != NULL, "%s", e.msg);
        ck_assert_msg(e.line == 4 && e.col == bad[i].col, "'%s': %ld:%ld", bad[i].text, e.line, e.col);
    }
}
END_TEST

static st_mjp *read_text(const char *text, st_err *e)
{
    st_mjp *m = NULL;
    st_err_clear(e);
    if (st_mjp_read_string(&m, text, strlen(text), "m.yaml", e) < 0)
        return NULL;
    return m;
}

START_TEST(test_read_free_model)
{
    st_err e;
    st_mjp *m = read_text("model: mjp\nversion: 1\nlabels: [well, ill, dead]\n"
                          "Q:\n  - [-0.3, 0.2, 0.1]\n  - [0.5, -0.6, 0.1]\n  - [0, 0, 0]\n"
                          "fixed:\n  - [0, 0, 1]\n  - [0, 0, 0]\n  - [0, 0, 0]\n"
                          "initial: [1, 0, 0]\n",
                          &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_uint_eq(m->K, 3);
    ck_assert_str_eq(m->labels[1], "ill");
    ck_assert(m->allowed[0 * 3 + 1] && m->allowed[1 * 3 + 2] && !m->allowed[2 * 3 + 0]);
    ck_assert(m->fixed[0 * 3 + 2] && !m->fixed[0 * 3 + 1]);
    ck_assert(st_mjp_absorbing(m, 2) && !st_mjp_absorbing(m, 0));
    ck_assert_int_eq(st_mjp_state_index(m, "dead"), 2);
    /* --allowed with labels and 1-based numbers */
    ck_assert_int_eq(st_mjp_set_allowed(m, "well-ill,2-1", 1, &e), 0);
    ck_assert(m->allowed[1] && m->allowed[3] && !m->allowed[2]);
    ck_assert_near(m->Q[0], -0.2, 1e-15);
    ck_assert_int_eq(st_mjp_set_allowed(m, "1-1", 1, &e), ST_EUSAGE);
    ck_assert_int_eq(st_mjp_set_allowed(m, "1-9", 1, &e), ST_EUSAGE);
    ck_assert_int_eq(st_mjp_set_allowed(m, "12", 1, &e), ST_EUSAGE);
    st_mjp_free(m);
}
END_TEST

START_TEST(test_read_ratchet)
{
    char path[512];
    snprintf(path, sizeof path, "%s/data/mjp-ratchet.yaml", getenv("top_srcdir") ? getenv("top_srcdir") : ".");
    st_mjp *m;
    st_err e;
    ck_assert_msg(st_mjp_read(&m, path, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(m->K, 6);
    ck_assert_uint_eq(m->P, 3);
    /* on-states: rate i -> j = exp(-V (j - i) / 2); off: b; switching: r */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (i != j) {
                ck_assert_near(m->Q[i * 6 + j], exp(-(j - i) / 2.0), 1e-15);
                ck_assert_near(m->Q[(i + 3) * 6 + j + 3], 1, 1e-15);
            }
    for (int i = 0; i < 3; i++) {
        ck_assert_near(m->Q[i * 6 + i + 3], 1, 0);
        ck_assert_near(m->Q[(i + 3) * 6 + i], 1, 0);
        ck_assert_near(m->Q[i * 6 + (i + 1) % 3 + 3], 0, 0); /* on -> other off site: none */
    }
    double s;
    for (int i = 0; i < 6; i++) {
        s = 0;
        for (int j = 0; j < 6; j++)
            s += m->Q[i * 6 + j];
        ck_assert_near(s, 0, 1e-14);
    }
    st_mjp_free(m);
}
END_TEST

START_TEST(test_bad_models)
{
    struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"model: mjp\nversion: 1\nQ:\n  - [-1, 1]\n  - [1, -0.5]\n", "row 1 sums to"},
        {"model: mjp\nversion: 1\nQ:\n  - [1, -1]\n  - [1, -1]\n", "row 0: negative off-diagonal"},
        {"model: mjp\nversion: 1\nQ:\n  - [-1, 1]\n  - [1, -1]\nfoo: 1\n", "unknown key 'foo'"},
        {"model: mjp\nversion: 1\nQ:\n  - [-1, 1]\n  - [1, -1]\nemission:\n  matrix:\n    - [0.9, 0.2]\n    - [0, 1]\n",
         "emission row 0 sums to"},
        {"model: mjp\nversion: 1\nstates: 2\nparameters: {a: 1}\nrates: {0-1: a, 1-0: c}\n", "unknown parameter"},
        {"model: mjp\nversion: 1\nstates: 2\nparameters: {a: 1}\nrates: {0-1: -a, 1-0: a}\n", "must be >= 0"},
        {"model: mjp\nversion: 1\nstates: 2\nparameters: {a: 1}\nrates: {0-0: a}\n", "not FROM-TO"},
        {"model: mjp\nversion: 1\nstates: 2\n", "missing key 'Q'"},
        {"model: mjp\nversion: 1\nlabels: [well, ill, well]\nQ: [[-1, 1, 0], [0, -1, 1], [0, 0, 0]]\n",
         "label 'well' given twice"},
        {"model: mjp\nversion: 1\nstates: 2\nparameters: {a: 1, b: 2}\npositive: [a, b, a]\nrates: {0-1: a, 1-0: b}\n",
         "parameter 'a' is listed twice in positive"},
        {"model: mjp\nversion: 1\nstates: 2\nparameters: {a: 1}\nrates: {0-1: 0x1, 1-0: a}\n", "hexadecimal"},
        {"model: mjp\nversion: 1\nstates: 2\nparameters: {a: 1}\nrates: {0-1: 'a * foo(1)', 1-0: a}\n",
         "rate formula 'a * foo(1)': unknown function 'foo'"},
        {"model: mjp\nversion: 1\nQ:\n  - [-1, 1]\n  - [1, -1]\ninitial: [0.5, 0.6]\n", "sums to"},
        {"model: hmm\nversion: 1\n", ""},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        st_err e;
        st_mjp *m = read_text(cases[c].text, &e);
        ck_assert_msg(m == NULL, "case %zu accepted", c);
        ck_assert_msg(strstr(e.msg, cases[c].msg) != NULL, "case %zu: %s", c, e.msg);
        ck_assert_msg(e.line > 0, "case %zu: no line", c);
    }
    /* a formula's error points at its character, inside quotes too */
    st_err e;
    ck_assert_ptr_null(read_text("model: mjp\nversion: 1\nstates: 2\nparameters: {a: 1}\n"
                                 "rates: {0-1: 'a * foo(1)', 1-0: a}\n", &e));
    ck_assert_int_eq(e.line, 5);
    ck_assert_int_eq(e.col, 19);
    ck_assert_str_eq(e.file, "m.yaml");
}
END_TEST

START_TEST(test_write_read_round_trip)
{
    st_err e;
    const char *texts[] = {
        "model: mjp\nversion: 1\nlabels: [a, b]\nQ:\n  - [-0.1234567890123, 0.1234567890123]\n"
        "  - [2e-9, -2e-9]\ninitial: [0.25, 0.75]\nemission:\n  matrix:\n    - [0.9, 0.1, 0]\n"
        "    - [0.3, 0.3, 0.4]\n  fixed: false\n",
        "model: mjp\nversion: 1\nstates: 3\nparameters: {V: 0.7, r: 1.5}\npositive: [r]\n"
        "rates: {0-1: exp(-V/2), 1-0: exp(V/2), 1-2: r, 2-1: r * 2}\n",
    };
    for (size_t c = 0; c < 2; c++) {
        st_mjp *m = read_text(texts[c], &e);
        ck_assert_msg(m != NULL, "%s", e.msg);
        char *buf = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);
        ck_assert_int_eq(st_mjp_write(fp, m, NULL, NULL, NULL, 0, &e), 0);
        fclose(fp);
        st_mjp *m2 = read_text(buf, &e);
        ck_assert_msg(m2 != NULL, "%s\n%s", e.msg, buf);
        ck_assert_uint_eq(m2->K, m->K);
        ck_assert(memcmp(m->Q, m2->Q, m->K * m->K * sizeof *m->Q) == 0);
        ck_assert(memcmp(m->allowed, m2->allowed, m->K * m->K) == 0);
        ck_assert(memcmp(m->init, m2->init, m->K * sizeof *m->init) == 0);
        ck_assert_uint_eq(m2->M, m->M);
        if (m->E) {
            ck_assert(memcmp(m->E, m2->E, m->K * m->M * sizeof *m->E) == 0);
            ck_assert_int_eq(m2->E_fixed, 0);
        }
        ck_assert_uint_eq(m2->P, m->P);
        for (size_t p = 0; p < m->P; p++) {
            ck_assert_str_eq(m2->pnames[p], m->pnames[p]);
            ck_assert(m2->par[p] == m->par[p]);
            ck_assert_int_eq(m2->ppos[p], m->ppos[p]);
        }
        st_mjp_free(m);
        st_mjp_free(m2);
        free(buf);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mjp_model");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, test_expr_values_and_gradients);
    tcase_add_test(tc, test_expr_errors);
    tcase_add_test(tc, test_read_free_model);
    tcase_add_test(tc, test_read_ratchet);
    tcase_add_test(tc, test_bad_models);
    tcase_add_test(tc, test_write_read_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(suite)

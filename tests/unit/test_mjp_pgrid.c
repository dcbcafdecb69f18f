/* P(t) on a grid (st_mjp_pmatrix_grid) against the two-state closed form
 * and against st_mjp_pmatrix; the longest follow-up of a data set. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/stream.h"
#include "mjp/mjp.h"

START_TEST(test_grid_two_state)
{
    /* Q = [[-a, a], [b, -b]]: P00(t) = b/(a+b) + a/(a+b) e^{-(a+b)t}, and no
     * jump out of 0 by t has probability e^{-a t} */
    double a = 0.7, b = 0.2, t[] = {0, 0.5, 1, 2.5, 10};
    st_mjp *m;
    st_err e;
    ck_assert_int_eq(st_mjp_new(&m, 2, &e), 0);
    double Q[] = {-a, a, b, -b};
    memcpy(m->Q, Q, sizeof Q);
    m->allowed[1] = m->allowed[2] = 1;
    double P[5 * 4], stay[5 * 2], one[4];
    ck_assert_int_eq(st_mjp_pmatrix_grid(m, t, 5, P, stay, &e), 0);
    for (int k = 0; k < 5; k++) {
        double x = exp(-(a + b) * t[k]);
        ck_assert_near(P[4 * k], b / (a + b) + a / (a + b) * x, 1e-13);
        ck_assert_near(P[4 * k + 3], a / (a + b) + b / (a + b) * x, 1e-13);
        ck_assert_near(stay[2 * k], exp(-a * t[k]), 1e-15);
        ck_assert_near(stay[2 * k + 1], exp(-b * t[k]), 1e-15);
        ck_assert_int_eq(st_mjp_pmatrix(m, t[k], one, &e), 0);
        ck_assert(memcmp(one, P + 4 * k, sizeof one) == 0); /* the same matrices, bit for bit */
    }
    ck_assert(P[0] == 1 && P[1] == 0 && stay[0] == 1);
    st_mjp_free(m);
}
END_TEST

START_TEST(test_span)
{
    /* subjects followed over [0, 3] and [1, 5.5]: the longest is 4.5 */
    static char *names[] = {"seq", "t", "state"};
    double rows[] = {1, 0, 0, 1, 2, 1, 1, 3, 0, 2, 1, 0, 2, 5.5, 1};
    st_table t = {.nrows = 5, .ncols = 3, .names = names, .data = rows, .source = "test"};
    st_dtype dt[3] = {ST_F8, ST_F8, ST_F8};
    t.dtypes = dt;
    st_mjp *m;
    st_mjp_data *d;
    st_err e;
    ck_assert_int_eq(st_mjp_new(&m, 2, &e), 0);
    m->allowed[1] = m->allowed[2] = 1;
    m->Q[0] = -1, m->Q[1] = 1, m->Q[2] = 1, m->Q[3] = -1;
    ck_assert_msg(st_mjp_data_from_table(&d, &t, m, ST_MJP_PANEL, 0, NULL, 0, &e) == 0, "%s", e.msg);
    ck_assert_near(st_mjp_data_span(d), 4.5, 0);
    st_mjp_data_free(d);
    st_mjp_free(m);
}
END_TEST

static Suite *mjp_pgrid_suite(void)
{
    Suite *s = suite_create("mjp_pgrid");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_grid_two_state);
    tcase_add_test(tc, test_span);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(mjp_pgrid_suite)

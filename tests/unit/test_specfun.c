/* lib/core/specfun.c: digamma and trigamma against closed forms
 * (psi(1) = -gamma, psi(1/2) = -gamma - 2 log 2, psi'(1) = pi^2/6,
 * psi'(1/2) = pi^2/2), the recurrences across the x = 10 switch, and
 * values from scipy.special (digamma, polygamma(1, x)); digamma to 1e-14
 * absolute or relative, whichever is larger, trigamma to 1e-14 relative. */
#include "config.h"

#include <math.h>

#include "check_util.h"
#include "core/specfun.h"

#define EULER 0.57721566490153286061
#define ck_psi(a, b) ck_assert_near(a, b, 1e-14 * fmax(1, fabs(b)))

START_TEST(test_closed_forms)
{
    ck_psi(st_digamma(1), -EULER);
    ck_psi(st_digamma(0.5), -EULER - 2 * log(2.0));
    ck_assert_rel(st_trigamma(1), M_PI * M_PI / 6, 1e-14);
    ck_assert_rel(st_trigamma(0.5), M_PI * M_PI / 2, 1e-14);
    ck_assert(isnan(st_digamma(0)) && isnan(st_digamma(-1)) && isnan(st_trigamma(-0.5)));
}
END_TEST

START_TEST(test_recurrence)
{
    for (double x = 0.05; x < 20; x += 0.37) {
        ck_psi(st_digamma(x + 1), st_digamma(x) + 1 / x);
        /* the right side cancels: tolerance relative to psi'(x) */
        ck_assert_near(st_trigamma(x + 1), st_trigamma(x) - 1 / (x * x), 1e-14 * st_trigamma(x));
    }
}
END_TEST

START_TEST(test_scipy)
{
    static const double v[][3] = {
        {0.001, -1000.5755719318103, 1000001.6425331959}, {0.1, -10.423754940411076, 101.43329915079275},
        {1.5, 0.03648997397857652, 0.9348022005446793},   {3.7, 1.1671535393615113, 0.31003785767003833},
        {7.9, 2.002238487563571, 0.13493078345663442},    {8, 2.0156414779556098, 0.13313701469403144},
        {100, 4.600161852738088, 0.010050166663333573},   {1e5, 11.512920464961896, 1.0000050000166665e-05},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        ck_psi(st_digamma(v[i][0]), v[i][1]);
        ck_assert_rel(st_trigamma(v[i][0]), v[i][2], 1e-14);
    }
}
END_TEST

static Suite *specfun_suite(void)
{
    Suite *s = suite_create("specfun");
    TCase *tc = tcase_create("gamma");
    tcase_add_test(tc, test_closed_forms);
    tcase_add_test(tc, test_recurrence);
    tcase_add_test(tc, test_scipy);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(specfun_suite)

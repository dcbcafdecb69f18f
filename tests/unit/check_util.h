/* Helpers shared by the Check suites: tolerance asserts and a main(). */
#ifndef ST_TESTS_CHECK_UTIL_H
#define ST_TESTS_CHECK_UTIL_H

#ifdef ST_NO_CHECK
#error "make check needs Check (>= 0.10): apt-get install check (Debian, Ubuntu), dnf install check-devel (Fedora, RHEL), brew install check (Homebrew) or spack install check (Spack); then run ./configure again"
#endif
#include <check.h>
#include <math.h>
#include <stdlib.h>

/* |a - b| <= tol */
#define ck_assert_near(a, b, tol)                                                  \
    do {                                                                           \
        double a_ = (a), b_ = (b), t_ = (tol);                                     \
        ck_assert_msg(fabs(a_ - b_) <= t_, "%s = %.17g, %s = %.17g, |diff| %.3g > %.3g", \
                      #a, a_, #b, b_, fabs(a_ - b_), t_);                          \
    } while (0)

/* |a - b| <= rel * max(|a|, |b|, tiny) */
#define ck_assert_rel(a, b, rel)                                                   \
    do {                                                                           \
        double a_ = (a), b_ = (b), r_ = (rel);                                     \
        double s_ = fmax(fmax(fabs(a_), fabs(b_)), 1e-300);                        \
        ck_assert_msg(fabs(a_ - b_) <= r_ * s_, "%s = %.17g, %s = %.17g, rel diff %.3g > %.3g", \
                      #a, a_, #b, b_, fabs(a_ - b_) / s_, r_);                     \
    } while (0)

/* Run one suite; prints Check's "N%: Checks: ..." summary line. */
#define ST_CHECK_MAIN(make_suite)                                  \
    int main(void)                                                 \
    {                                                              \
        SRunner *sr = srunner_create(make_suite());                \
        srunner_run_all(sr, CK_NORMAL);                            \
        int failed = srunner_ntests_failed(sr);                    \
        srunner_free(sr);                                          \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;          \
    }

#endif

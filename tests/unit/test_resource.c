/* Resource limits: the physical-memory check refuses sizes beyond the
 * machine with the figure, and accepts small ones. */
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "core/resource.h"

START_TEST(test_phys_memory_matches_sysconf)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    double phys = st_phys_memory();
    /* the machine's memory, or less under a control group's limit */
    if (pages > 0 && size > 0)
        ck_assert(phys <= (double)pages * (double)size);
    ck_assert(phys > 0);
}
END_TEST

START_TEST(test_check_memory)
{
    st_err e;
    st_err_clear(&e);
    ck_assert_int_eq(st_check_memory(1024, "a small table", &e), ST_OK);
    ck_assert_int_eq(st_check_memory(1e30, "a huge table", &e), ST_ENOMEM);
    ck_assert_ptr_nonnull(strstr(e.msg, "a huge table needs 1e+21 GB"));
}
END_TEST

START_TEST(test_own_limit)
{
    st_err e;
    st_err_clear(&e);
    double phys = st_phys_memory();
    st_set_memory_limit(1e6);
    ck_assert_double_eq(st_phys_memory(), fmin(phys, 1e6));
    ck_assert_int_eq(st_check_memory(2e6, "a table", &e), ST_ENOMEM);
    ck_assert_ptr_nonnull(strstr(e.msg, "a table needs 0.002 GB, more than the 0.001 GB"));
    st_set_memory_limit(0);
    ck_assert_double_eq(st_phys_memory(), phys);
    ck_assert_int_eq(st_check_memory(2e6, "a table", &e), ST_OK);
}
END_TEST

static Suite *resource_suite(void)
{
    Suite *s = suite_create("resource");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_phys_memory_matches_sysconf);
    tcase_add_test(tc, test_check_memory);
    tcase_add_test(tc, test_own_limit);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(resource_suite)

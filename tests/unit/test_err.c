/* st_err: messages carry file, line, column or byte offset, on one line. */
#include "config.h"

#include <string.h>

#include "check_util.h"
#include "core/err.h"

START_TEST(test_format_line_col)
{
    st_err e;
    st_err_clear(&e);
    int rc = st_err_set(&e, ST_EDATA, "model.yaml", 12, 7, "unknown key '%s'", "foo");
    ck_assert_int_eq(rc, ST_EDATA);
    char buf[256];
    ck_assert_str_eq(st_err_format(&e, buf, sizeof buf), "model.yaml:12:7: unknown key 'foo'");
}
END_TEST

START_TEST(test_format_offset_and_bare)
{
    st_err e;
    st_err_clear(&e);
    st_err_set_offset(&e, ST_EFORMAT, "x.stb", 4096, "bad CRC");
    char buf[256];
    ck_assert_str_eq(st_err_format(&e, buf, sizeof buf), "x.stb:byte 4096: bad CRC");
    st_err_set(&e, ST_EDATA, NULL, 0, 0, "plain");
    ck_assert_str_eq(st_err_format(&e, buf, sizeof buf), "plain");
    st_err_set(&e, ST_EDATA, "f.csv", 3, 0, "x");
    ck_assert_str_eq(st_err_format(&e, buf, sizeof buf), "f.csv:3: x");
}
END_TEST

START_TEST(test_one_line_and_prefix)
{
    st_err e;
    st_err_clear(&e);
    st_err_set(&e, ST_EDATA, NULL, 0, 0, "two\nlines");
    ck_assert_ptr_null(strchr(e.msg, '\n'));
    st_err_prefix(&e, "seq %d: ", 3);
    ck_assert_str_eq(e.msg, "seq 3: two lines");
}
END_TEST

START_TEST(test_truncation_is_safe)
{
    st_err e;
    st_err_clear(&e);
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    st_err_set(&e, ST_EDATA, big, 1, 1, "%s", big);
    char buf[64];
    st_err_format(&e, buf, sizeof buf);
    ck_assert_uint_eq(strlen(buf), sizeof buf - 1);
}
END_TEST

START_TEST(test_exit_status)
{
    ck_assert_int_eq(st_err_exit_status(ST_OK), 0);
    ck_assert_int_eq(st_err_exit_status(ST_EUSAGE), 2);
    ck_assert_int_eq(st_err_exit_status(ST_EDATA), 1);
    ck_assert_int_eq(st_err_exit_status(ST_ENOMEM), 1);
    ck_assert_str_eq(st_display_name("-"), "<stdin>");
    ck_assert_str_eq(st_display_name(NULL), "<stdin>");
    ck_assert_str_eq(st_display_name("a.csv"), "a.csv");
}
END_TEST

static Suite *err_suite(void)
{
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_format_line_col);
    tcase_add_test(tc, test_format_offset_and_bare);
    tcase_add_test(tc, test_one_line_and_prefix);
    tcase_add_test(tc, test_truncation_is_safe);
    tcase_add_test(tc, test_exit_status);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(err_suite)

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

/* A long quotation of user text never pushes the reason out: the message
 * keeps its start and its end, whole UTF-8 characters, one line. */
START_TEST(test_long_message_keeps_reason)
{
    st_err e;
    st_err_clear(&e);
    char big[5000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = "V+\xc3\xa9"[i % 4]; /* V+é V+é ... */
    big[sizeof big - 1 - (sizeof big - 1) % 4] = '\0';
    st_err_set(&e, ST_EDATA, "m.yaml", 4, 9, "expression '%s': unknown function 'foo'", big);
    ck_assert_uint_le(strlen(e.msg), sizeof e.msg - 1);
    ck_assert_uint_ge(strlen(e.msg), sizeof e.msg - 5);
    ck_assert_int_eq(strncmp(e.msg, "expression 'V+", 14), 0);
    const char *end = "': unknown function 'foo'";
    ck_assert_str_eq(e.msg + strlen(e.msg) - strlen(end), end);
    ck_assert_ptr_nonnull(strstr(e.msg, " ... "));
    /* no character cut in half: every continuation byte follows a lead byte */
    for (size_t i = 1; e.msg[i]; i++)
        if (((unsigned char)e.msg[i] & 0xC0) == 0x80)
            ck_assert(((unsigned char)e.msg[i - 1] & 0x80) != 0);
    /* a prefix keeps the reason too */
    st_err_prefix(&e, "series %d: ", 12);
    ck_assert_int_eq(strncmp(e.msg, "series 12: expression", 21), 0);
    ck_assert_str_eq(e.msg + strlen(e.msg) - strlen(end), end);
    /* the reason first, a long quotation after it */
    st_err_set(&e, ST_EDATA, NULL, 0, 0, "unknown key '%s' (did you mean 'start'?)", big);
    ck_assert_int_eq(strncmp(e.msg, "unknown key '", 13), 0);
    ck_assert_str_eq(e.msg + strlen(e.msg) - 22, "(did you mean 'start'?)" + 1);
}
END_TEST

START_TEST(test_control_characters)
{
    st_err e;
    st_err_clear(&e);
    st_err_set(&e, ST_EDATA, NULL, 0, 0, "name '%s'", "a\x1b[31mred\tb\x7f");
    ck_assert_str_eq(e.msg, "name 'a?[31mred b?'");
    char buf[16];
    ck_assert_str_eq(st_msg_excerpt(buf, sizeof buf, "short", 10), "short");
    ck_assert_str_eq(st_msg_excerpt(buf, sizeof buf, "0123456789abc", 10), "0123456...");
    ck_assert_str_eq(st_msg_excerpt(buf, sizeof buf, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10), "\xc3\xa9\xc3\xa9\xc3\xa9...");
    ck_assert_str_eq(st_msg_excerpt(buf, sizeof buf, "line\nbreak", 15), "line break");
    char fit[8];
    st_msg_fit(fit, sizeof fit, "0123456789");
    ck_assert_str_eq(fit, "0123456");
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
    tcase_add_test(tc, test_long_message_keeps_reason);
    tcase_add_test(tc, test_control_characters);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(err_suite)

/* Program helpers: option value parsing and atomic output files. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_util.h"
#include "core/cli.h"

START_TEST(test_parse_numbers)
{
    double d;
    long l;
    uint64_t u;
    ck_assert_int_eq(st_parse_double("2.5e-3", &d), 0);
    ck_assert_double_eq(d, 2.5e-3);
    ck_assert_int_eq(st_parse_double("2.5x", &d), -1);
    ck_assert_int_eq(st_parse_double("", &d), -1);
    ck_assert_int_eq(st_parse_double("nan", &d), -1);
    ck_assert_int_eq(st_parse_double("inf", &d), -1);
    ck_assert_int_eq(st_parse_long("-42", &l), 0);
    ck_assert_int_eq(l, -42);
    ck_assert_int_eq(st_parse_long("4.2", &l), -1);
    ck_assert_int_eq(st_parse_long("99999999999999999999999", &l), -1);
    ck_assert_int_eq(st_parse_u64("18446744073709551615", &u), 0);
    ck_assert(u == UINT64_MAX);
    ck_assert_int_eq(st_parse_u64("-1", &u), -1);
}
END_TEST

START_TEST(test_parse_lists)
{
    double *v;
    size_t n;
    ck_assert_int_eq(st_parse_double_list("80,95", &v, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_double_eq(v[0], 80);
    ck_assert_double_eq(v[1], 95);
    free(v);
    ck_assert_int_eq(st_parse_double_list("80,,95", &v, &n), -1);
    ck_assert_int_eq(st_parse_double_list("80,", &v, &n), -1);
    ck_assert_int_eq(st_parse_double_list("a", &v, &n), -1);
    long lo, hi;
    ck_assert_int_eq(st_parse_range("2..8", &lo, &hi), 0);
    ck_assert_int_eq(lo, 2);
    ck_assert_int_eq(hi, 8);
    ck_assert_int_eq(st_parse_range("5", &lo, &hi), 0);
    ck_assert_int_eq(lo, 5);
    ck_assert_int_eq(hi, 5);
    ck_assert_int_eq(st_parse_range("8..2", &lo, &hi), -1);
    ck_assert_int_eq(st_parse_range("..2", &lo, &hi), -1);
}
END_TEST

START_TEST(test_output_atomic)
{
    char dir[] = "/tmp/stcliXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    st_err e;
    st_err_clear(&e);

    /* Aborted output leaves nothing behind. */
    st_output o;
    ck_assert_int_eq(st_output_open(&o, path, 0, &e), 0);
    fputs("partial\n", o.fp);
    st_output_abort(&o);
    ck_assert_int_ne(access(path, F_OK), 0);

    /* The final name appears only after a successful close. */
    ck_assert_int_eq(st_output_open(&o, path, 0, &e), 0);
    fputs("x\n1\n", o.fp);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(st_output_close(&o, &e), 0);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[16];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "x\n");
    fclose(f);
    unlink(path);

    /* Nothing else was left in the directory. */
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_output_unwritable)
{
    st_err e;
    st_err_clear(&e);
    st_output o;
    int rc = st_output_open(&o, "/nonexistent-dir/out.csv", 0, &e);
    ck_assert_int_eq(rc, ST_EIO);
    ck_assert_str_eq(e.file, "/nonexistent-dir/out.csv");
}
END_TEST

START_TEST(test_output_device_kept)
{
    /* -o /dev/null must write to the device, never rename a file over it. */
    st_err e;
    st_err_clear(&e);
    st_output o;
    ck_assert_int_eq(st_output_open(&o, "/dev/null", 0, &e), 0);
    ck_assert_ptr_null(o.tmppath);
    fputs("discarded\n", o.fp);
    ck_assert_int_eq(st_output_close(&o, &e), 0);
    struct stat st;
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    /* /dev/full accepts the open and fails the writes: close reports it. */
    if (access("/dev/full", W_OK) == 0) {
        ck_assert_int_eq(st_output_open(&o, "/dev/full", 0, &e), 0);
        for (int i = 0; i < 10000; i++)
            fputs("0123456789", o.fp);
        ck_assert_int_eq(st_output_close(&o, &e), ST_EIO);
    }
    ck_assert_int_eq(st_output_open(&o, "/tmp", 0, &e), ST_EIO);
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_numbers);
    tcase_add_test(tc, test_parse_lists);
    tcase_add_test(tc, test_output_atomic);
    tcase_add_test(tc, test_output_unwritable);
    tcase_add_test(tc, test_output_device_kept);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(cli_suite)

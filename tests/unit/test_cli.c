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

/* Role options: every program spells them and defaults them alike. */
START_TEST(test_roles)
{
    st_cli c;
    st_cli_init(&c, "prog", "usage");
    char *argv[] = {"prog", "--seq-col", "PTNUM", "--no-header", "--time-col", "years", "x.csv", NULL};
    int argc = 7;
    static const struct option longopts[] = {ST_CLI_LONGOPTS, ST_CLI_OPT_SEQ_COL, ST_CLI_OPT_TIME_COL,
                                             ST_CLI_OPT_STATE_COL, ST_CLI_OPT_NO_HEADER, {NULL, 0, NULL, 0}};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ST_CLI_SHORTOPTS, longopts, NULL)) != -1)
        ck_assert_int_eq(st_cli_common(&c, opt, optarg, argv), 1);
    ck_assert_int_eq(optind, 6);
    ck_assert_str_eq(st_cli_role_name(&c, ST_ROLE_SEQ), "PTNUM");
    ck_assert_str_eq(st_cli_role_name(&c, ST_ROLE_TIME), "years");
    ck_assert_str_eq(st_cli_role_name(&c, ST_ROLE_STATE), "state");
    ck_assert_str_eq(st_role_option(ST_ROLE_OBSTYPE), "obstype-col");
    ck_assert_str_eq(st_role_default(ST_ROLE_TIME), "t");
    ck_assert_int_eq(st_cli_reader_opts(&c).no_header, 1);
    char *names[] = {"PTNUM", "years", "state", "pdiag"};
    st_err e;
    st_err_clear(&e);
    int col;
    ck_assert_int_eq(st_cli_role_col(&c, ST_ROLE_SEQ, names, 4, 1, "cav.csv", &col, &e), 0);
    ck_assert_int_eq(col, 0);
    ck_assert_int_eq(st_cli_role_col(&c, ST_ROLE_STATE, names, 4, 1, "cav.csv", &col, &e), 0);
    ck_assert_int_eq(col, 2);
    /* absent and optional: -1; absent and required: an error that says how */
    ck_assert_int_eq(st_cli_role_col(&c, ST_ROLE_OBSTYPE, names, 4, 0, "cav.csv", &col, &e), 0);
    ck_assert_int_eq(col, -1);
    ck_assert_int_eq(st_cli_role_col(&c, ST_ROLE_OBSTYPE, names, 4, 1, "cav.csv", &col, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "no column 'obstype' (name it with --obstype-col; the input has PTNUM,years,state,pdiag)");
    /* named on the command line and absent: an error even when optional */
    char *other[] = {"id", "t"};
    ck_assert_int_eq(st_cli_role_col(&c, ST_ROLE_SEQ, other, 2, 0, "b.csv", &col, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "--seq-col: no column 'PTNUM' (the input has id,t)");
    ck_assert_str_eq(e.file, "b.csv");
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
    tcase_add_test(tc, test_roles);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(cli_suite)

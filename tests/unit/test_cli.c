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

static void write_text(const char *path, const char *text)
{
    st_err e;
    st_err_clear(&e);
    st_output o;
    ck_assert_int_eq(st_output_open(&o, path, 0, &e), 0);
    fputs(text, o.fp);
    ck_assert_int_eq(st_output_close(&o, &e), 0);
}

static void assert_file(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_str_eq(buf, text);
}

/* -o onto a symbolic link writes through it to its target (the temporary
 * beside the target), keeps an existing file's mode, and names the
 * temporary .NAME.stochtmp.XXXXXX. */
START_TEST(test_output_links_and_mode)
{
    char dir[] = "/tmp/stcliXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char sub[64], target[300], link[300], link2[300], dangling[300], made[300];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    snprintf(target, sizeof target, "%s/target.csv", sub);
    snprintf(link, sizeof link, "%s/link.csv", dir);
    snprintf(link2, sizeof link2, "%s/link2.csv", dir);
    snprintf(dangling, sizeof dangling, "%s/dangling.csv", dir);
    snprintf(made, sizeof made, "%s/made.csv", sub);
    write_text(target, "old\n");
    ck_assert_int_eq(chmod(target, 0640), 0);
    ck_assert_int_eq(symlink("sub/target.csv", link), 0);  /* relative to the link's folder */
    ck_assert_int_eq(symlink(link, link2), 0);             /* a chain */
    ck_assert_int_eq(symlink("sub/made.csv", dangling), 0); /* to a file not there yet */

    /* the temporary is beside the target, hidden, while the output is open */
    st_err e;
    st_err_clear(&e);
    st_output o;
    ck_assert_int_eq(st_output_open(&o, link2, 0, &e), 0);
    ck_assert_ptr_nonnull(o.tmppath);
    char want[320];
    snprintf(want, sizeof want, "%s/.target.csv.stochtmp.", sub);
    ck_assert_int_eq(strncmp(o.tmppath, want, strlen(want)), 0);
    ck_assert_int_eq(strlen(o.tmppath), strlen(want) + 6);
    ck_assert_int_eq(access(o.tmppath, F_OK), 0);
    fputs("new\n", o.fp);
    ck_assert_int_eq(st_output_close(&o, &e), 0);

    struct stat st;
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(lstat(link2, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(stat(target, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    assert_file(target, "new\n");

    write_text(dangling, "made\n");
    ck_assert_int_eq(lstat(dangling, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    assert_file(made, "made\n");

    /* a loop of links is an error, not a hang */
    char loop[300];
    snprintf(loop, sizeof loop, "%s/loop", dir);
    ck_assert_int_eq(symlink("loop", loop), 0);
    ck_assert_int_eq(st_output_open(&o, loop, 0, &e), ST_EIO);
    ck_assert_ptr_nonnull(strstr(e.msg, "symbolic links"));

    /* the empty name is a usage error */
    ck_assert_int_eq(st_output_open(&o, "", 0, &e), ST_EUSAGE);

    unlink(loop);
    unlink(made);
    unlink(dangling);
    unlink(link2);
    unlink(link);
    unlink(target);
    ck_assert_int_eq(rmdir(sub), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* /dev/fd/N (and /dev/stdout, /proc/self/fd/N, links to them) is the
 * descriptor itself: written at its offset, never truncated or replaced. */
START_TEST(test_output_descriptor)
{
    char path[] = "/tmp/stcliXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "before\n", 7), 7);
    char name[64], link[64];
    snprintf(name, sizeof name, "/dev/fd/%d", fd);
    st_err e;
    st_err_clear(&e);
    st_output o;
    ck_assert_int_eq(st_output_open(&o, name, 0, &e), 0);
    ck_assert_ptr_null(o.tmppath);
    fputs("after\n", o.fp);
    ck_assert_int_eq(st_output_close(&o, &e), 0);
    snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
    snprintf(link, sizeof link, "%s.link", path);
    ck_assert_int_eq(symlink(name, link), 0);
    ck_assert_int_eq(st_output_open(&o, link, 0, &e), 0);
    ck_assert_ptr_null(o.tmppath);
    fputs("third\n", o.fp);
    ck_assert_int_eq(st_output_close(&o, &e), 0);
    close(fd);
    assert_file(path, "before\nafter\nthird\n");
    struct stat st;
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    unlink(link);
    unlink(path);
    /* a closed descriptor is an error naming it */
    ck_assert_int_eq(st_output_open(&o, "/dev/fd/987", 0, &e), ST_EIO);
    ck_assert_str_eq(e.file, "/dev/fd/987");
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
    tcase_add_test(tc, test_output_links_and_mode);
    tcase_add_test(tc, test_output_descriptor);
    tcase_add_test(tc, test_roles);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(cli_suite)

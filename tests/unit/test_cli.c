/* Program helpers: option value parsing and atomic output files. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_util.h"
#include "core/cli.h"
#include "core/stream.h"

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

static void write_plain(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void parse(st_cli *c, int argc, char **argv, const struct option *longopts)
{
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ST_CLI_SHORTOPTS, longopts, NULL)) != -1)
        ck_assert_int_eq(st_cli_common(c, opt, optarg, argv), 1);
}

/* Role options rename the user's columns in every reader opened after them
 * (core/stream.h st_rename), so that a library looking for seq finds PTNUM. */
START_TEST(test_role_renames)
{
    static const struct option longopts[] = {ST_CLI_LONGOPTS, ST_CLI_OPT_SEQ_COL, ST_CLI_OPT_TIME_COL,
                                             ST_CLI_OPT_STATE_COL, ST_CLI_OPT_ID_COL, ST_CLI_OPT_NO_HEADER,
                                             {NULL, 0, NULL, 0}};
    char dir[] = "/tmp/st_rolesXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cav[256], ours[256], both[256], none[256], nohead[256];
    snprintf(cav, sizeof cav, "%s/cav.csv", dir);
    snprintf(ours, sizeof ours, "%s/ours.csv", dir);
    snprintf(both, sizeof both, "%s/both.csv", dir);
    snprintf(none, sizeof none, "%s/none.csv", dir);
    snprintf(nohead, sizeof nohead, "%s/nohead.csv", dir);
    write_plain(cav, "\"\",\"PTNUM\",\"years\",\"pdiag\",\"state\"\n\"1\",100002,0,\"IHD\",1\n\"2\",100002,1.1,\"IHD\",2\n");
    write_plain(ours, "seq,t,state\n1,0,1\n");
    write_plain(both, "PTNUM,seq,years,state\n1,2,0,1\n");
    write_plain(none, "id,when,state\n1,0,1\n");
    write_plain(nohead, "1,0,3\n1,1,2\n");

    st_cli c;
    st_cli_init(&c, "prog", "usage");
    char *argv[] = {"prog", "--seq-col", "PTNUM", "--time-col", "years", "--state-col", "state", NULL};
    parse(&c, 7, argv, longopts);
    st_err e;
    st_err_clear(&e);
    st_reader *r;
    /* R's write.csv: row names as c1, PTNUM read as seq, years as t; state stays */
    st_reader_opts any = {.any_type = 1};
    ck_assert_int_eq(st_reader_open_opts(&r, cav, &any, &e), 0);
    ck_assert_str_eq(st_reader_name(r, 0), "c1");
    ck_assert_str_eq(st_reader_name(r, 1), "seq");
    ck_assert_str_eq(st_reader_name(r, 2), "t");
    ck_assert_str_eq(st_reader_name(r, 3), "pdiag");
    ck_assert_str_eq(st_reader_name(r, 4), "state");
    st_reader_free(r);
    /* through a table (the way the family libraries read) */
    st_table *t;
    ck_assert_int_eq(st_table_read_opts(&t, (const char *const[]){cav}, 1, &any, &e), 0);
    ck_assert_int_eq(st_table_col(t, "seq"), 1);
    ck_assert_int_eq(st_table_col(t, "t"), 2);
    ck_assert(st_table_get(t, 1, 2) == 1.1);
    st_table_free(t);
    /* keep_names: the user's names, for programs that look roles up */
    st_reader_opts keep = {.any_type = 1, .keep_names = 1};
    ck_assert_int_eq(st_reader_open_opts(&r, cav, &keep, &e), 0);
    ck_assert_str_eq(st_reader_name(r, 1), "PTNUM");
    st_reader_free(r);
    /* another program's output: already seq, t, state */
    ck_assert_int_eq(st_reader_open(&r, ours, &e), 0);
    ck_assert_str_eq(st_reader_name(r, 0), "seq");
    st_reader_free(r);
    /* both PTNUM and seq: which one is meant? */
    ck_assert_int_eq(st_reader_open(&r, both, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "--seq-col PTNUM: the input also has a column 'seq' (rename one of them)");
    ck_assert_int_eq((int)e.line, 1);
    ck_assert_int_eq((int)e.col, 1);
    /* neither: the option and the input's columns */
    ck_assert_int_eq(st_reader_open(&r, none, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "--seq-col: no column 'PTNUM' (the input has id,when,state)");
    /* --state-col state with no state column: named, so required */
    st_cli_init(&c, "prog", "usage");
    char *argv2[] = {"prog", "--state-col", "state", NULL};
    parse(&c, 3, argv2, longopts);
    ck_assert_int_eq(st_reader_open(&r, ours, &e), 0);
    st_reader_free(r);
    write_plain(none, "id,when\n1,0\n");
    ck_assert_int_eq(st_reader_open(&r, none, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "--state-col: no column 'state' (the input has id,when)");
    /* two roles on one column */
    st_cli_init(&c, "prog", "usage");
    char *argv3[] = {"prog", "--seq-col", "id", "--state-col", "id", NULL};
    parse(&c, 5, argv3, longopts);
    ck_assert_int_eq(st_reader_open(&r, none, &e), ST_EDATA);
    ck_assert_str_eq(e.msg, "--seq-col and --state-col both name column 'id'");
    /* swapping two names is allowed: decided on the input's own names */
    st_cli_init(&c, "prog", "usage");
    char *argv4[] = {"prog", "--seq-col", "t", "--time-col", "seq", NULL};
    parse(&c, 5, argv4, longopts);
    ck_assert_int_eq(st_reader_open(&r, ours, &e), 0);
    ck_assert_str_eq(st_reader_name(r, 0), "t");
    ck_assert_str_eq(st_reader_name(r, 1), "seq");
    st_reader_free(r);
    /* --no-header for every reader, with roles by position */
    st_cli_init(&c, "prog", "usage");
    char *argv5[] = {"prog", "--no-header", "--seq-col", "c1", "--time-col", "c2", NULL};
    parse(&c, 6, argv5, longopts);
    ck_assert_int_eq(st_table_read(&t, nohead, &e), 0);
    ck_assert_int_eq((int)t->nrows, 2);
    ck_assert_str_eq(t->names[0], "seq");
    ck_assert_str_eq(t->names[1], "t");
    ck_assert_str_eq(t->names[2], "c3");
    ck_assert(st_table_get(t, 0, 2) == 3);
    st_table_free(t);
    /* a program whose groups are 'step' (pf-resample) */
    st_cli_init(&c, "prog", "usage");
    st_cli_role_reads_as(&c, ST_ROLE_SEQ, "step");
    char *argv6[] = {"prog", "--seq-col", "gen", NULL};
    parse(&c, 3, argv6, longopts);
    write_plain(none, "gen,particle,logw\n0,0,-1\n");
    ck_assert_int_eq(st_reader_open(&r, none, &e), 0);
    ck_assert_str_eq(st_reader_name(r, 0), "step");
    st_reader_free(r);
    /* a new st_cli_init forgets them */
    st_cli_init(&c, "prog", "usage");
    ck_assert_int_eq(st_reader_open(&r, none, &e), 0);
    ck_assert_str_eq(st_reader_name(r, 0), "gen");
    st_reader_free(r);
    unlink(cav);
    unlink(ours);
    unlink(both);
    unlink(none);
    unlink(nohead);
    rmdir(dir);
}
END_TEST

/* Value columns by default: a note on stderr when the candidates are of
 * more than one kind. */
START_TEST(test_value_cols)
{
    st_cli c;
    st_cli_init(&c, "prog", "usage");
    char *names[] = {"id", "x", "pdiag", "when", "y"};
    st_dtype dt[] = {ST_STR, ST_F8, ST_STR, ST_DATE, ST_F8};
    int skip[] = {0, -1};
    st_err e;
    st_err_clear(&e);
    char path[] = "/tmp/st_valcolsXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    ck_assert_int_eq(dup2(fd, 2), 2);
    int *idx;
    size_t n;
    ck_assert_int_eq(st_cli_value_cols(&c, "d.csv", names, dt, 5, skip, 2, ST_KIND_NUMBER, &idx, &n, &e), 0);
    ck_assert_int_eq((int)n, 2);
    ck_assert_int_eq(idx[0], 1);
    ck_assert_int_eq(idx[1], 4);
    free(idx);
    /* one kind among the candidates: no note */
    int skip2[] = {0, 2, 3};
    ck_assert_int_eq(st_cli_value_cols(&c, "d.csv", names, dt, 5, skip2, 3, ST_KIND_NUMBER, &idx, &n, &e), 0);
    ck_assert_int_eq((int)n, 2);
    free(idx);
    /* numbers and text both used */
    ck_assert_int_eq(st_cli_value_cols(&c, "d.csv", names, dt, 3, skip, 2, ST_KIND_NUMBER | ST_KIND_TEXT, &idx, &n,
                                       &e), 0);
    ck_assert_int_eq((int)n, 2);
    free(idx);
    /* -q: quiet */
    c.verbosity = 0;
    ck_assert_int_eq(st_cli_value_cols(&c, "d.csv", names, dt, 5, skip, 2, ST_KIND_NUMBER, &idx, &n, &e), 0);
    free(idx);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[1024];
    FILE *f = fdopen(fd, "r");
    ck_assert_ptr_nonnull(f);
    rewind(f);
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    fclose(f);
    unlink(path);
    ck_assert_str_eq(buf, "prog: d.csv: value columns x, y (numbers); not pdiag (text), when (times) (name the "
                          "columns with -c)\n"
                          "prog: d.csv: value columns x (numbers), pdiag (text) (name the columns with -c)\n");
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
    tcase_add_test(tc, test_role_renames);
    tcase_add_test(tc, test_value_cols);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(cli_suite)

/* The progress reporter: mode choice, formatting (count, rate, ETA), rate
 * limiting on a terminal and in plain lines, and silence when off, with an
 * injected clock and an in-memory stream. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "core/progress.h"

static double fake_now;
static double fake_clock(void)
{
    return fake_now;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

START_TEST(test_pick)
{
    ck_assert_int_eq(st_progress_pick(0, 1), ST_PROGRESS_OFF);
    ck_assert_int_eq(st_progress_pick(0, 0), ST_PROGRESS_OFF);
    ck_assert_int_eq(st_progress_pick(1, 1), ST_PROGRESS_TTY);
    ck_assert_int_eq(st_progress_pick(1, 0), ST_PROGRESS_OFF);
    ck_assert_int_eq(st_progress_pick(2, 0), ST_PROGRESS_LINES);
    ck_assert_int_eq(st_progress_pick(2, 1), ST_PROGRESS_TTY);
}
END_TEST

START_TEST(test_format)
{
    st_progress p;
    fake_now = 100;
    st_progress_init(&p, "prog", ST_PROGRESS_OFF, NULL, fake_clock);
    st_progress_begin(&p, "EM K=3", "iterations", 120);
    p.done = 30;
    char buf[128];
    /* 30 done in 10 s: 3/s, 90 left: 30 s */
    st_progress_format(&p, 110, buf, sizeof buf);
    ck_assert_str_eq(buf, "EM K=3  30/120 iterations  3/s  ETA 0:30");
    /* unknown total: no ETA */
    p.total = 0;
    st_progress_format(&p, 110, buf, sizeof buf);
    ck_assert_str_eq(buf, "EM K=3  30 iterations  3/s");
    /* nothing done yet: no rate */
    st_progress_begin(&p, "", "steps", 5000);
    st_progress_format(&p, 110, buf, sizeof buf);
    ck_assert_str_eq(buf, "0/5000 steps");
    /* ETA in hours */
    p.done = 1;
    st_progress_format(&p, p.t0 + 2, buf, sizeof buf);
    ck_assert_str_eq(buf, "1/5000 steps  0.5/s  ETA 2:46:38");
}
END_TEST

START_TEST(test_tty_rate_limit)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    st_progress p;
    fake_now = 0;
    st_progress_init(&p, "prog", ST_PROGRESS_TTY, fp, fake_clock);
    st_progress_begin(&p, "work", "items", 1000);
    /* 1000 updates over 10 s: at most one redraw per 0.1 s */
    for (int i = 1; i <= 1000; i++) {
        fake_now = i * 0.01;
        st_progress_update(&p, i);
    }
    st_progress_end(&p);
    fclose(fp);
    size_t draws = count(text, "\r");
    ck_assert_uint_ge(draws, 50);
    ck_assert_uint_le(draws, 102);
    /* one line: a single newline, at the very end, after the final count */
    ck_assert_uint_eq(count(text, "\n"), 1);
    ck_assert_int_eq(text[len - 1], '\n');
    ck_assert_ptr_nonnull(strstr(text, "prog: work  1000/1000 items  done in 10.0 s\033[K\n"));
    free(text);
}
END_TEST

START_TEST(test_lines_rate_limit)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    st_progress p;
    fake_now = 0;
    st_progress_init(&p, "prog", ST_PROGRESS_LINES, fp, fake_clock);
    st_progress_begin(&p, "work", "items", 600);
    /* 600 updates over 60 s: one line per 5 s at most, plus the last */
    for (int i = 1; i <= 600; i++) {
        fake_now = i * 0.1;
        st_progress_update(&p, i);
    }
    st_progress_end(&p);
    fclose(fp);
    ck_assert_ptr_null(strchr(text, '\r'));
    ck_assert_ptr_null(strchr(text, '\033'));
    size_t lines = count(text, "\n");
    ck_assert_uint_ge(lines, 11);
    ck_assert_uint_le(lines, 13);
    ck_assert_ptr_nonnull(strstr(text, "prog: work  50/600 items  10/s  ETA 0:55\n"));
    ck_assert_ptr_nonnull(strstr(text, "prog: work  600/600 items  done in 1:00\n"));
    free(text);
}
END_TEST

START_TEST(test_off_writes_nothing)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    st_progress p;
    fake_now = 0;
    st_progress_init(&p, "prog", ST_PROGRESS_OFF, fp, fake_clock);
    st_progress_begin(&p, "work", "items", 10);
    for (int i = 1; i <= 10; i++) {
        fake_now = i * 10;
        st_progress_update(&p, i);
    }
    st_progress_clear(&p);
    st_progress_end(&p);
    fclose(fp);
    ck_assert_uint_eq(len, 0);
    free(text);
}
END_TEST

START_TEST(test_clear_and_hook)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    st_progress p;
    fake_now = 0;
    st_progress_init(&p, "prog", ST_PROGRESS_TTY, fp, fake_clock);
    st_progress_begin(&p, "work", "steps", 0);
    fake_now = 1;
    /* a library hook sets the total */
    st_progress_fn_update(&p, 5, 20);
    st_progress_clear_active();
    fflush(fp);
    /* the line is blanked before a message */
    ck_assert_str_eq(text, "\rprog: work  5/20 steps  5/s  ETA 0:03\033[K\r\033[K");
    /* and redrawn at once after it */
    fake_now = 1.01;
    st_progress_update(&p, 6);
    fflush(fp);
    ck_assert_uint_eq(count(text, "\rprog:"), 2);
    st_progress_end(&p);
    fclose(fp);
    free(text);
}
END_TEST

static Suite *progress_suite(void)
{
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_pick);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_tty_rate_limit);
    tcase_add_test(tc, test_lines_rate_limit);
    tcase_add_test(tc, test_off_writes_nothing);
    tcase_add_test(tc, test_clear_and_hook);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(progress_suite)

/* The time axis of ssm-forecast (lib/ssm/calendar.c): frequencies
 * inferred from dates, months and YYYYMM numbers, the calendar grid with
 * gaps, month ends and leap years, the times after the last point. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "ssm/calendar.h"

static double day(int y, unsigned m, unsigned d)
{
    return (double)st_days_from_civil(y, m, d);
}

START_TEST(test_infer)
{
    st_ssm_calendar c;
    st_err e;
    /* the first of each month (28..31 days apart): monthly, period 12 */
    double t[6];
    for (int i = 0; i < 6; i++)
        t[i] = day(2023 + (9 + i) / 12, (unsigned)((9 + i) % 12 + 1), 1);
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, t, 6, ST_FREQ_NONE, &c, &e), 0);
    ck_assert_int_eq(c.freq, ST_FREQ_MONTHLY);
    ck_assert_int_eq(st_freq_period(c.freq), 12);
    /* month ends */
    double me[4] = {day(2024, 1, 31), day(2024, 2, 29), day(2024, 3, 31), day(2024, 4, 30)};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, me, 4, ST_FREQ_NONE, &c, &e), 0);
    ck_assert_int_eq(c.freq, ST_FREQ_MONTHLY);
    ck_assert(c.month_end);
    ck_assert_double_eq(st_ssm_calendar_after(&c, me[3], me[2], 1), day(2024, 5, 31));
    ck_assert_double_eq(st_ssm_calendar_after(&c, me[3], me[2], 10), day(2025, 2, 28));
    /* every quarter, every year */
    double q[3] = {day(2020, 1, 15), day(2020, 4, 15), day(2020, 10, 15)};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, q, 3, ST_FREQ_NONE, &c, &e), 0);
    ck_assert_int_eq(c.freq, ST_FREQ_QUARTERLY);
    ck_assert_double_eq(st_ssm_calendar_after(&c, q[2], q[1], 1), day(2021, 1, 15));
    double yr[2] = {day(2020, 6, 30), day(2022, 6, 30)};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, yr, 2, ST_FREQ_NONE, &c, &e), 0);
    ck_assert_int_eq(c.freq, ST_FREQ_YEARLY);
    /* days and weeks */
    double d[3] = {day(2024, 2, 27), day(2024, 2, 28), day(2024, 3, 1)};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, d, 3, ST_FREQ_NONE, &c, &e), 0);
    ck_assert_int_eq(c.freq, ST_FREQ_DAILY);
    double w[3] = {day(2024, 1, 1), day(2024, 1, 8), day(2024, 1, 22)};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, w, 3, ST_FREQ_NONE, &c, &e), 0);
    ck_assert_int_eq(c.freq, ST_FREQ_WEEKLY);
    ck_assert_int_eq(st_freq_period(c.freq), 52);
    /* months of a month column; YYYYMM numbers */
    double mo[3] = {day(1960, 10, 1), day(1960, 11, 1), day(1960, 12, 1)};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_MONTH, mo, 3, ST_FREQ_NONE, &c, &e), 0);
    ck_assert_int_eq(c.freq, ST_FREQ_MONTHLY);
    ck_assert_double_eq(st_ssm_calendar_after(&c, mo[2], mo[1], 1), day(1961, 1, 1));
    double ym[3] = {196010, 196011, 196012};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_F8, ym, 3, ST_FREQ_NONE, &c, &e), 0);
    ck_assert(c.yyyymm);
    ck_assert_double_eq(st_ssm_calendar_after(&c, ym[2], ym[1], 1), 196101);
    ck_assert_double_eq(st_ssm_calendar_after(&c, ym[2], ym[1], 14), 196202);
    /* plain numbers keep their step: years, and an index */
    double yrs[3] = {1968, 1969, 1970};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_F8, yrs, 3, ST_FREQ_NONE, &c, &e), 0);
    ck_assert_int_eq(c.freq, ST_FREQ_NONE);
    ck_assert_double_eq(st_ssm_calendar_after(&c, 1970, 1969, 2), 1972);
    /* errors */
    double bad[3] = {day(2024, 1, 1), day(2024, 2, 3), day(2024, 3, 9)};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, bad, 3, ST_FREQ_MONTHLY, &c, &e), ST_EDATA);
    double dec[2] = {day(2024, 1, 2), day(2024, 1, 1)};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, dec, 2, ST_FREQ_NONE, &c, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "not increasing at row 2"));
    double nan2[2] = {day(2024, 1, 2), NAN};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, nan2, 2, ST_FREQ_NONE, &c, &e), ST_EDATA);
    ck_assert_int_eq(st_ssm_calendar_infer(ST_MONTH, mo, 3, ST_FREQ_DAILY, &c, &e), ST_EDATA);
    st_freq f;
    ck_assert_int_eq(st_freq_parse("quarterly", &f), 0);
    ck_assert_int_eq(f, ST_FREQ_QUARTERLY);
    ck_assert_int_eq(st_freq_parse("hourly", &f), -1);
}
END_TEST

START_TEST(test_regularize)
{
    /* monthly with April missing: 5 grid points, April NaN, two values each */
    st_ssm_calendar c;
    st_err e;
    double t[4] = {day(2024, 1, 1), day(2024, 2, 1), day(2024, 3, 1), day(2024, 5, 1)};
    double y[8] = {1, 10, 2, 20, 3, 30, 5, 50}, *yg, *tg;
    size_t ng;
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, t, 4, ST_FREQ_NONE, &c, &e), 0);
    ck_assert_int_eq(st_ssm_regularize(&c, t, y, 4, 2, &yg, &tg, &ng, &e), 0);
    ck_assert_int_eq((int)ng, 5);
    ck_assert_double_eq(tg[3], day(2024, 4, 1));
    ck_assert(isnan(yg[6]) && isnan(yg[7]));
    ck_assert_double_eq(yg[8], 5);
    ck_assert_double_eq(yg[9], 50);
    free(yg);
    free(tg);
    /* plain numbers are kept */
    double u[3] = {1, 2, 4}, z[3] = {7, 8, 9};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_F8, u, 3, ST_FREQ_NONE, &c, &e), 0);
    ck_assert_int_eq(st_ssm_regularize(&c, u, z, 3, 1, &yg, &tg, &ng, &e), 0);
    ck_assert_int_eq((int)ng, 3);
    ck_assert_double_eq(tg[2], 4);
    free(yg);
    free(tg);
    /* a date off the grid of the first */
    double off[3] = {day(2024, 1, 1), day(2024, 1, 8), day(2024, 1, 16)};
    c.freq = ST_FREQ_WEEKLY;
    c.origin = (int64_t)off[0];
    ck_assert_int_eq(st_ssm_regularize(&c, off, z, 3, 1, &yg, &tg, &ng, &e), ST_EDATA);
    ck_assert_ptr_nonnull(strstr(e.msg, "row 3"));
    /* a few points spread over centuries: refused, not a huge grid */
    double far[2] = {day(1800, 1, 1), day(2024, 1, 1)};
    ck_assert_int_eq(st_ssm_calendar_infer(ST_DATE, far, 2, ST_FREQ_DAILY, &c, &e), 0);
    ck_assert_int_eq(st_ssm_regularize(&c, far, z, 2, 1, &yg, &tg, &ng, &e), ST_EDATA);
}
END_TEST

static Suite *calendar_suite(void)
{
    Suite *su = suite_create("ssm_calendar");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_infer);
    tcase_add_test(tc, test_regularize);
    suite_add_tcase(su, tc);
    return su;
}

ST_CHECK_MAIN(calendar_suite)

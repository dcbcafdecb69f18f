/* lib/core/mpi: the single-process case (what every library test and every
 * program run without mpirun sees), whether or not MPI was compiled in.
 * The multi-rank behaviour is tested by tests/cli/mpi.sh with mpi-probe. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "check_util.h"
#include "core/mpi.h"

START_TEST(single_process_rank_and_size)
{
    ck_assert_int_eq(st_mpi_rank(), 0);
    ck_assert_int_eq(st_mpi_size(), 1);
    size_t lo, hi;
    st_mpi_share(1000, &lo, &hi);
    ck_assert_uint_eq(lo, 0);
    ck_assert_uint_eq(hi, 1000);
    st_mpi_share(0, &lo, &hi);
    ck_assert_uint_eq(lo, 0);
    ck_assert_uint_eq(hi, 0);
    ck_assert_int_eq(st_mpi_agree(-3), -3);
    ck_assert_int_eq(st_mpi_min_long(7), 7);
    ck_assert_int_eq(st_mpi_max_long(-7), -7);
    st_mpi_abort(1); /* returns: one process */
}
END_TEST

/* The fold is the left fold in block order, bit for bit: 1e16 + 1 - 1e16
 * is 0 in that order, 1 in another. */
START_TEST(fold_is_block_order_left_fold)
{
    double part[4 * 2] = {1e16, 1, 1, 2, -1e16, 3, 0.5, 4};
    double acc[2] = {99, 99};
    st_err e;
    st_err_clear(&e);
    ck_assert_int_eq(st_mpi_fold_blocks(part, 4, 2, acc, &e), ST_OK);
    double want0 = ((((0.0 + 1e16) + 1) + -1e16) + 0.5);
    ck_assert(memcmp(&acc[0], &want0, sizeof want0) == 0);
    ck_assert(acc[0] == 0.5); /* the 1 was absorbed by 1e16 */
    ck_assert(acc[1] == 10);
    /* zero blocks: zeros */
    ck_assert_int_eq(st_mpi_fold_blocks(part, 0, 2, acc, &e), ST_OK);
    ck_assert(acc[0] == 0 && acc[1] == 0);
    ck_assert_uint_eq(st_mpi_fold_bytes(100, 56), 100 * 56 * 8);
}
END_TEST

START_TEST(gathers_copy_in_one_process)
{
    st_err e;
    st_err_clear(&e);
    double x[3] = {1, 2, 3}, *all = NULL;
    size_t n = 0;
    ck_assert_int_eq(st_mpi_allgather(x, 3, &all, &n, &e), ST_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert(all[0] == 1 && all[2] == 3);
    free(all);
    ck_assert_int_eq(st_mpi_allgather(x, 0, &all, &n, &e), ST_OK);
    ck_assert_uint_eq(n, 0);
    free(all);
    char *bytes = NULL;
    ck_assert_int_eq(st_mpi_gather_bytes("abc", 3, &bytes, &n, &e), ST_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert(memcmp(bytes, "abc", 3) == 0);
    free(bytes);
}
END_TEST

/* Shares of every rank tile 0..n in rank order, balanced to within one. */
START_TEST(shares_tile_in_order)
{
    size_t lo, hi;
    for (int p = 1; p <= 70; p++)
        for (size_t n = 0; n < 200; n += 7) {
            size_t next = 0;
            for (int r = 0; r < p; r++) {
                st_mpi_share_rank(n, r, p, &lo, &hi);
                ck_assert_uint_eq(lo, next);
                ck_assert(hi >= lo);
                ck_assert(hi - lo == n / (size_t)p || hi - lo == n / (size_t)p + 1);
                next = hi;
            }
            ck_assert_uint_eq(next, n);
        }
    st_mpi_share_rank(SIZE_MAX, 63, 64, &lo, &hi);
    ck_assert(hi == SIZE_MAX);
    for (size_t n = 0; n < 50; n++) {
        st_mpi_share(n, &lo, &hi);
        ck_assert_uint_eq(lo, 0);
        ck_assert_uint_eq(hi, n);
    }
    st_mpi_share(SIZE_MAX, &lo, &hi);
    ck_assert(hi == SIZE_MAX);
}
END_TEST

START_TEST(init_and_finalize_are_safe)
{
    st_err e;
    st_err_clear(&e);
    /* Without mpirun, MPI (if compiled) runs as a singleton of size 1. */
    if (!st_mpi_compiled()) {
        ck_assert_int_eq(st_mpi_init(NULL, NULL, &e), ST_OK);
        ck_assert_int_eq(st_mpi_size(), 1);
        st_mpi_finalize();
        st_mpi_finalize();
    }
    ck_assert_int_eq(st_mpi_rank(), 0);
}
END_TEST

static Suite *mpi_suite(void)
{
    Suite *s = suite_create("mpi");
    TCase *tc = tcase_create("single process");
    tcase_add_test(tc, single_process_rank_and_size);
    tcase_add_test(tc, fold_is_block_order_left_fold);
    tcase_add_test(tc, gathers_copy_in_one_process);
    tcase_add_test(tc, shares_tile_in_order);
    tcase_add_test(tc, init_and_finalize_are_safe);
    suite_add_tcase(s, tc);
    return s;
}

ST_CHECK_MAIN(mpi_suite)

/* mpi-probe: exercises lib/core/mpi across ranks for tests/cli/mpi.sh.
 * Every rank computes the partials of its share of 37 blocks of 10 items
 * (values of wildly different magnitudes, so that any change of addition
 * order shows in the last bits), folds them, and rank 0 prints the sums in
 * hexadecimal floating point, then a gather of item numbers and bytes, and
 * the first error over ranks (st_mpi_agree_error).  The
 * output must be the same bytes for any number of ranks.
 * `mpi-probe --compiled` prints yes or no (built with --with-mpi).
 * `mpi-probe --groups SEQ K FILE...` reads the FILEs' seq groups (column
 * SEQ, strings allowed) in blocks of K groups with st_table_read_share_opts
 * and prints every row, each rank its share, as text (ids and labels as
 * written): the same bytes for any number of ranks, errors included. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mpi.h"
#include "core/stream.h"

static size_t block_k;
static size_t k_groups(size_t ngroups, size_t nrows)
{
    (void)ngroups, (void)nrows;
    return block_k;
}

/* --groups: print the rows of this rank's share, gathered on rank 0. */
static int groups(int argc, char **argv)
{
    st_err e;
    st_err_clear(&e);
    if (st_mpi_init(&argc, &argv, &e) < 0 || argc < 5) {
        fprintf(stderr, "mpi-probe: %s\n", argc < 5 ? "--groups SEQ K FILE..." : e.msg);
        return 1;
    }
    block_k = (size_t)atoi(argv[3]);
    st_reader_opts o = {.any_type = 1};
    st_table *t = NULL;
    st_table_share sh;
    int rc = st_table_read_share_opts(&t, (const char *const *)argv + 4, (size_t)(argc - 4), argv[2], &o, k_groups,
                                      &sh, &e);
    char *text = NULL, *all = NULL;
    size_t len = 0, nall = 0;
    if (rc == 0) {
        FILE *m = open_memstream(&text, &len);
        for (size_t i = 0; i < t->nrows; i++)
            for (size_t j = 0; j < t->ncols; j++) {
                char buf[ST_CELL_BUFSZ];
                fprintf(m, "%s%s", st_table_cell(t, j, st_table_get(t, i, j), buf), j + 1 < t->ncols ? "," : "\n");
            }
        fclose(m);
    }
    rc = st_mpi_agree(rc);
    if (rc == 0 && st_mpi_gather_bytes(text, len, &all, &nall, &e) < 0)
        rc = 1;
    if (st_mpi_rank() == 0) {
        if (rc < 0) {
            char fm[1024];
            fprintf(stderr, "mpi-probe: %s\n", st_err_format(&e, fm, sizeof fm));
        } else {
            fwrite(all, 1, nall, stdout);
        }
    }
    free(text);
    free(all);
    st_table_free(t);
    st_mpi_finalize();
    return rc < 0;
}

#define NBLOCKS 37
#define PER 10
#define LEN 5

static double item(size_t i, size_t j)
{
    uint64_t z = (uint64_t)(i * LEN + j) + 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    double u = (double)(z >> 11) / 9007199254740992.0;
    int ex = (int)(z % 40) - 20;
    double v = (u - 0.5);
    while (ex > 0) { v *= 10; ex--; }
    while (ex < 0) { v /= 10; ex++; }
    return v;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--compiled") == 0) {
        puts(st_mpi_compiled() ? "yes" : "no");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--groups") == 0)
        return groups(argc, argv);
    st_err e;
    st_err_clear(&e);
    if (st_mpi_init(&argc, &argv, &e) < 0) {
        fprintf(stderr, "mpi-probe: %s\n", e.msg);
        return 1;
    }
    int rank = st_mpi_rank(), rc = 0;
    double *part = calloc(NBLOCKS * LEN, sizeof *part), acc[LEN];
    size_t lo, hi;
    st_mpi_share(NBLOCKS, &lo, &hi);
    for (size_t b = lo; b < hi; b++)
        for (size_t i = b * PER; i < (b + 1) * PER; i++)
            for (size_t j = 0; j < LEN; j++)
                part[b * LEN + j] += item(i, j);
    if (st_mpi_fold_blocks(part, NBLOCKS, LEN, acc, &e) < 0)
        rc = 1;
    /* gather the item numbers of this rank's share of 23 items */
    size_t ilo, ihi, n = 0, nb = 0;
    st_mpi_share(23, &ilo, &ihi);
    double mine[23], *all = NULL;
    for (size_t i = ilo; i < ihi; i++)
        mine[i - ilo] = (double)i;
    if (!rc && st_mpi_allgather(mine, ihi - ilo, &all, &n, &e) < 0)
        rc = 1;
    char text[64], *bytes = NULL;
    int tl = 0;
    for (size_t i = ilo; i < ihi; i++)
        tl += snprintf(text + tl, sizeof text - (size_t)tl, "%c", (char)('a' + i));
    if (!rc && st_mpi_gather_bytes(text, (size_t)tl, &bytes, &nb, &e) < 0)
        rc = 1;
    /* complete a shared array of 11 items of 1..3 pairs each */
    size_t off[12] = {0};
    for (size_t i = 0; i < 11; i++)
        off[i + 1] = off[i] + i % 3 + 1;
    double shared[2 * 22];
    for (size_t k = 0; k < 2 * off[11]; k++)
        shared[k] = -1;
    size_t slo, shi;
    st_mpi_share(11, &slo, &shi);
    for (size_t i = slo; i < shi; i++)
        for (size_t k = 2 * off[i]; k < 2 * off[i + 1]; k++)
            shared[k] = (double)(100 * i + k);
    if (!rc && st_mpi_share_allgather(shared, 11, off, 2, &e) < 0)
        rc = 1;
    /* first error over ranks: items 13, 15 and 20 of the 23 fail (none on
     * rank 0 with 2 or 3 ranks); every rank reports its share's first, and
     * all must agree on item 13, message included */
    st_err fe;
    st_err_clear(&fe);
    int frc = 0;
    size_t fkey = 0;
    for (size_t i = ilo; i < ihi && !frc; i++)
        if (i == 13 || i == 15 || i == 20) {
            frc = st_err_set(&fe, ST_EDATA, "probe.csv", (long)i + 2, 0, "item %zu failed", i);
            fkey = i;
        }
    int agreed = st_mpi_agree_error(frc, fkey, &fe);
    st_err ne;
    st_err_clear(&ne);
    int none = st_mpi_agree_error(0, 0, &ne);
    rc = st_mpi_agree(rc ? -1 : 0) < 0;
    long mn = st_mpi_min_long(100 + rank);
    long mx = st_mpi_max_long(rank) - (st_mpi_size() - 1);
    if (rc)
        fprintf(stderr, "mpi-probe: rank %d: %s\n", rank, e.msg);
    else if (rank == 0) {
        for (size_t j = 0; j < LEN; j++)
            printf("fold[%zu] %a\n", j, acc[j]);
        printf("allgather");
        for (size_t i = 0; i < n; i++)
            printf(" %g", all[i]);
        printf("\nshared");
        for (size_t k = 0; k < 2 * off[11]; k++)
            printf(" %g", shared[k]);
        printf("\ngather_bytes %.*s\n", (int)nb, bytes);
        printf("min %ld max %ld\n", mn, mx);
        char fm[1024];
        printf("agree_error %d %s\n", agreed, st_err_format(&fe, fm, sizeof fm));
        printf("agree_none %d\n", none);
    }
    free(part);
    free(all);
    free(bytes);
    st_mpi_finalize();
    return rc;
}

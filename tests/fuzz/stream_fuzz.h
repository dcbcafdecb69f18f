/* The body of csv_fuzz.c and bin_fuzz.c: one input through every way the
 * programs read streams, and a round trip that must be a fixed point.
 *
 * 1. The numbers-only reader (st_reader_open), row by row.
 * 2. The table reader with strings, times and promotion (any_type), its
 *    seq groups and a summary (st_describe), as stoch-cat --describe.
 * 3. If the table loaded: written as CSV and as a binary stream, both must
 *    read back, and the CSV written from each must be the same bytes as
 *    the CSV written from the input (what stoch-cat promises).
 * Every failure must come with a message (FUZZ_CHECK_ERR). */
#include "fuzz.h"

#include <math.h>

#include "core/cli.h"
#include "core/resource.h"
#include "core/stream.h"

/* Tables of a fuzz input stay small: a gzip bomb is refused, not fuzzed. */
#define FUZZ_TABLE_BYTES (256.0 * 1024 * 1024)

static void read_rows(const char *path, const st_reader_opts *o)
{
    st_reader *r;
    st_err e;
    int rc = st_reader_open_opts(&r, path, o, &e);
    FUZZ_CHECK_ERR(rc, e);
    if (rc < 0)
        return;
    size_t nc = st_reader_ncols(r);
    double *rows = malloc((nc ? nc : 1) * 64 * sizeof *rows);
    size_t n;
    while ((rc = st_reader_read(r, rows, 64, &n, &e)) == 0 && n > 0) {
        char buf[ST_CELL_BUFSZ];
        for (size_t j = 0; j < nc; j++)
            (void)st_reader_cell(r, j, rows[j], buf);
    }
    FUZZ_CHECK_ERR(rc, e);
    free(rows);
    st_reader_free(r);
}

/* Write t to a memory buffer (*len bytes); 0 or the error. */
static int write_table(const st_table *t, int format, char **buf, size_t *len, st_err *e)
{
    *buf = NULL;
    *len = 0;
    FILE *fp = open_memstream(buf, len);
    if (!fp)
        abort();
    st_writer *w = NULL;
    st_writer_opts wo = {.format = format, .codec = format == ST_FMT_BIN && t->nrows % 2 ? ST_CODEC_ZLIB : ST_CODEC_RAW,
                         .chunk_rows = 3};
    int rc = st_writer_new(&w, fp, (const char *const *)t->names, t->dtypes, t->ncols, &wo, e);
    for (size_t j = 0; rc == 0 && j < t->ncols; j++)
        rc = st_writer_carry(w, j, t, j, e);
    if (rc == 0)
        rc = st_writer_rows(w, t->data, t->nrows, e);
    if (rc == 0)
        rc = st_writer_close(w, e);
    else
        st_writer_free(w);
    fclose(fp);
    return rc;
}

static st_table *read_table(const char *path, st_err *e, int *rc)
{
    st_reader_opts o = {.any_type = 1};
    st_table *t = NULL;
    *rc = st_table_read_opts(&t, &path, 1, &o, e);
    return *rc == 0 ? t : NULL;
}

static void stream_fuzz_one(const uint8_t *data, size_t size)
{
    st_set_memory_limit(FUZZ_TABLE_BYTES);
    const char *path = fuzz_file(0, data, size);
    st_reader_opts plain = {0};
    read_rows(path, &plain);
    st_reader_opts nohead = {.no_header = 1, .any_type = 1, .promote = 1};
    read_rows(path, &nohead);

    st_err e;
    int rc;
    st_table *t = read_table(path, &e, &rc);
    FUZZ_CHECK_ERR(rc, e);
    if (!t)
        return;
    int seq = st_table_col(t, "seq");
    st_group *g = NULL;
    size_t ng = 0;
    rc = st_table_groups(t, seq, &g, &ng, &e);
    FUZZ_CHECK_ERR(rc, e);
    free(g);
    st_describe *d = NULL;
    rc = st_describe_new(&d, t->ncols, t->dtypes, seq, &e);
    FUZZ_CHECK_ERR(rc, e);
    if (rc == 0) {
        st_describe_dicts(d, (const st_strdict *const *)t->dicts);
        for (size_t i = 0; i < t->nrows && rc == 0; i++)
            rc = st_describe_row(d, t->data + i * t->ncols, NULL, &e);
        FUZZ_CHECK_ERR(rc, e);
        st_describe_free(d);
    }

    /* The round trip: CSV of the input = CSV of its CSV = CSV of its binary. */
    char *csv1 = NULL, *bin = NULL;
    size_t ncsv1 = 0, nbin = 0;
    int wrc = write_table(t, ST_FMT_CSV, &csv1, &ncsv1, &e);
    FUZZ_CHECK_ERR(wrc, e);
    int brc = write_table(t, ST_FMT_BIN, &bin, &nbin, &e);
    FUZZ_CHECK_ERR(brc, e);
    st_table_free(t);
    if (wrc == 0) {
        const char *p1 = fuzz_file(1, (const uint8_t *)csv1, ncsv1);
        st_table *t1 = read_table(p1, &e, &rc);
        FUZZ_CHECK(t1, "the CSV written does not read back: %s", e.msg);
        char *csv2;
        size_t ncsv2;
        rc = write_table(t1, ST_FMT_CSV, &csv2, &ncsv2, &e);
        FUZZ_CHECK(rc == 0, "the CSV read back does not write: %s", e.msg);
        FUZZ_CHECK(ncsv1 == ncsv2 && memcmp(csv1, csv2, ncsv1) == 0, "CSV round trip changed the text:\n%.*s\n---\n%.*s",
                   (int)ncsv1, csv1, (int)ncsv2, csv2);
        free(csv2);
        st_table_free(t1);
    }
    if (brc == 0) {
        const char *p1 = fuzz_file(1, (const uint8_t *)bin, nbin);
        st_table *t1 = read_table(p1, &e, &rc);
        FUZZ_CHECK(t1, "the binary stream written does not read back: %s", e.msg);
        char *csv2;
        size_t ncsv2;
        rc = write_table(t1, ST_FMT_CSV, &csv2, &ncsv2, &e);
        FUZZ_CHECK(rc == 0, "the binary stream read back does not write as CSV: %s", e.msg);
        if (wrc == 0)
            FUZZ_CHECK(ncsv1 == ncsv2 && memcmp(csv1, csv2, ncsv1) == 0,
                       "binary round trip changed the text:\n%.*s\n---\n%.*s", (int)ncsv1, csv1, (int)ncsv2, csv2);
        free(csv2);
        st_table_free(t1);
    }
    free(csv1);
    free(bin);
}

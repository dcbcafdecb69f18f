/* Stream library throughput, without a program around it.
 *   streambench read FILE            read all rows (CSV or binary), sum column 1
 *   streambench write FMT CODEC IN OUT
 *                                    load IN, then time writing it as FMT
 *                                    (csv|bin) with CODEC (raw|zlib) to OUT
 *                                    ('-': a sink that only counts bytes)
 * Prints one line: rows bytes wall-seconds cpu-seconds (bytes: the file
 * read, or the bytes written).  CPU time is what a loaded shared machine
 * still measures fairly. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/cli.h"
#include "core/stream.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long long sink_bytes;
static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
    (void)cookie, (void)buf;
    sink_bytes += (long long)n;
    return (ssize_t)n;
}

static long long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static void report(size_t rows, long long bytes, double wall, double cpu)
{
    printf("%zu %lld %.4f %.4f\n", rows, bytes, wall, cpu);
}

static int die(const st_err *e)
{
    st_err_print("streambench", e);
    return 1;
}

int main(int argc, char **argv)
{
    st_err e;
    st_err_clear(&e);
    if (argc == 3 && strcmp(argv[1], "read") == 0) {
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        st_reader *r;
        if (st_reader_open(&r, argv[2], &e) < 0)
            return die(&e);
        size_t nc = st_reader_ncols(r), total = 0, n;
        double *rows = malloc(4096 * nc * sizeof *rows), sum = 0;
        for (;;) {
            if (st_reader_read(r, rows, 4096, &n, &e) < 0)
                return die(&e);
            if (n == 0)
                break;
            for (size_t i = 0; i < n; i++)
                sum += rows[i * nc + (nc > 1)];
            total += n;
        }
        report(total, file_size(argv[2]), clock_s(CLOCK_MONOTONIC) - t0,
               clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
        if (sum == 0.123) /* keep the sum alive */
            fprintf(stderr, "(sum %.17g)\n", sum);
        free(rows);
        st_reader_free(r);
        return 0;
    }
    if (argc == 6 && strcmp(argv[1], "write") == 0) {
        st_table *t;
        if (st_table_read(&t, argv[4], &e) < 0)
            return die(&e);
        int sink = strcmp(argv[5], "-") == 0;
        FILE *fp = sink ? fopencookie(NULL, "w", (cookie_io_functions_t){.write = sink_write})
                        : fopen(argv[5], "wb");
        if (!fp)
            return 1;
        st_writer_opts o = {.format = strcmp(argv[2], "bin") == 0 ? ST_FMT_BIN : ST_FMT_CSV,
                            .codec = strcmp(argv[3], "zlib") == 0 ? ST_CODEC_ZLIB : ST_CODEC_RAW};
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        st_writer *w;
        if (st_writer_new(&w, fp, (const char *const *)t->names, NULL, t->ncols, &o, &e) < 0 ||
            st_writer_rows(w, t->data, t->nrows, &e) < 0 || st_writer_close(w, &e) < 0)
            return die(&e);
        fclose(fp);
        report(t->nrows, sink ? sink_bytes : file_size(argv[5]), clock_s(CLOCK_MONOTONIC) - t0,
               clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
        st_table_free(t);
        return 0;
    }
    fputs("usage: streambench read FILE | streambench write csv|bin raw|zlib IN OUT\n", stderr);
    return 2;
}

/* Internals shared by the stream stages (not a public header).
 *
 * Pipeline, one stage per file:
 *   input.c     bytes from a file descriptor, gzip inflated transparently
 *   csv.c       CSV header and rows on top of the input buffer
 *   binstream.c binary stream header, chunks, CRC, codecs (read and write)
 *   numfmt.c    number parsing (Clinger fast path) and shortest printing
 *   stream.c    the public reader/writer API dispatching to the above
 *   table.c     whole tables, seq groups, streaming seq iteration */
#ifndef ST_CORE_STREAM_IMPL_H
#define ST_CORE_STREAM_IMPL_H

#include <stdint.h>
#include <zlib.h>

#include "core/stream.h"

/* Decoded-input buffer: big enough for two maximal CSV lines so that the
 * carry-over of a partial line never dominates (reading stays linear). */
#define ST_INBUF_SIZE (2u * ST_CSV_MAX_LINE + (1u << 16))

struct st_reader {
    /* ---- input.c: the byte source */
    int fd, own_fd;
    char *path;              /* display name for messages */
    int gz;                  /* gzip input being inflated */
    int gz_end;              /* inflate reached the end of a gzip member */
    z_stream zs;
    unsigned char *zin;      /* compressed bytes (gzip) or read-ahead (plain) */
    size_t zin_pos, zin_len; /* plain mode: unread bytes zin[pos..len) */
    long long fd_total;      /* bytes read from fd so far */
    int fd_eof;
    /* decoded bytes: buf[pos..len) unread; buf_off = stream offset of buf[0] */
    char *buf;
    size_t pos, len, scan;
    long long buf_off;
    int src_eof;

    /* ---- common */
    int format; /* ST_FMT_CSV or ST_FMT_BIN */
    size_t ncols;
    char **names;
    st_dtype *dtypes;
    char *meta;
    long last; /* CSV line of the last row, or binary row index */

    /* ---- csv.c */
    char sep;
    long lineno; /* lines consumed so far */

    /* ---- binstream.c */
    size_t rowsize;
    size_t *coloff;
    int all_f8;
    unsigned char *chunk; /* uncompressed payload of the current chunk */
    size_t chunk_cap, chunk_rows, chunk_next;
    unsigned char *zpay; /* compressed payload */
    size_t zpay_cap;
    long long rows_done;
    int ended;
};

/* input.c */
int st_in_open(st_reader *r, const char *path, st_err *e);
void st_in_close(st_reader *r);
/* Make at least want bytes available in buf[pos..len) unless the input
 * ends first.  Returns 0 or negative ST_E*. */
int st_in_fill(st_reader *r, size_t want, st_err *e);
/* Read exactly n bytes into dst (from buf first, then the source).
 * *got < n only at end of input.  Returns 0 or negative. */
int st_in_read(st_reader *r, void *dst, size_t n, size_t *got, st_err *e);
/* Stream offset of the next unread byte. */
static inline long long st_in_offset(const st_reader *r)
{
    return r->buf_off + (long long)r->pos;
}

/* csv.c */
int st_csv_open(st_reader *r, st_err *e);
int st_csv_next(st_reader *r, double *row, st_err *e);

/* binstream.c */
extern const unsigned char st_bin_magic[8];
int st_bin_open(st_reader *r, st_err *e);
int st_bin_next(st_reader *r, double *row, st_err *e);
int st_bin_read(st_reader *r, double *rows, size_t max, size_t *n, st_err *e);
size_t st_dtype_size(st_dtype d);
int st_bin_write_header(FILE *fp, const char *const *names, const st_dtype *dtypes, size_t ncols,
                        const char *meta_json, st_err *e);
/* One chunk (nrows 0: the end chunk); zlib when codec asks and it pays.
 * *zbuf is scratch space owned by the caller. */
int st_bin_write_chunk(FILE *fp, const unsigned char *payload, uint32_t nrows, size_t bytes, int codec,
                       unsigned char **zbuf, size_t *zcap, st_err *e);

/* numfmt.c: parse one CSV cell s[0..len).  Returns 0 for a number, 1 for a
 * missing value (empty, NA, NaN: *out = NaN), -1 if it is not a number. */
int st_num_parse(const char *s, size_t len, double *out);
/* Shortest text that strtof reads back to exactly x. */
int st_format_float(char *buf, float x);
/* An integral double as a decimal integer. */
int st_format_int(char *buf, double x);

/* Set of seq values seen (for the contiguity check). */
typedef struct st_seqset {
    uint64_t *keys; /* bit patterns + 1 (0 marks an empty slot) */
    size_t cap, n;
} st_seqset;
/* Insert v; returns 1 if it was there already, 0 if new, -1 on no memory. */
int st_seqset_add(st_seqset *s, double v);
/* A new seq value v: it must be an integer not seen before.  where is a
 * message prefix such as "row 7: ". */
int st_seq_check(st_seqset *s, double v, const char *file, long line, const char *where, st_err *e);

/* Validate a column-name list: non-empty, no duplicates.  On error fills e
 * (file, line 1 for CSV, column number) and returns ST_EDATA. */
int st_check_names(char *const *names, size_t n, const char *file, long line, st_err *e);

#endif

/* Internals shared by the stream stages (not a public header).
 *
 * Pipeline, one stage per file:
 *   input.c     bytes from a file descriptor, gzip inflated transparently
 *   csv.c       CSV header and rows on top of the input buffer
 *   binstream.c binary stream header, chunks, CRC, codecs (read and write)
 *   numfmt.c    number parsing (Clinger fast path) and shortest printing
 *   timefmt.c   ISO-8601 dates, months and timestamps
 *   strdict.c   string dictionaries (the codes of string columns)
 *   stream.c    the public reader/writer API dispatching to the above
 *   table.c     whole tables, seq groups, streaming seq iteration
 *   describe.c  streaming summaries */
#ifndef ST_CORE_STREAM_IMPL_H
#define ST_CORE_STREAM_IMPL_H

#include <stdint.h>
#include <zlib.h>

#include "core/stream.h"

/* Decoded-input buffer: big enough for two maximal CSV lines so that the
 * carry-over of a partial line never dominates (reading stays linear). */
#define ST_INBUF_SIZE (2u * ST_CSV_MAX_LINE + (1u << 16))

/* How a CSV cell of a column becomes a double (st_reader.kind). */
enum {
    ST_K_NUM = 0, /* a number (the hot path) */
    ST_K_STR,     /* a string, as written */
    ST_K_IDS,     /* a string, integers in plain decimal (a promoted column) */
    ST_K_TIME     /* a date, month or timestamp (dtypes[j] says which) */
};

/* One field of a CSV record split by the general (quote-aware) path. */
typedef struct st_csv_field {
    const char *s; /* content, unescaped */
    size_t n;
    int quoted;
    long line; /* physical line where the field starts */
} st_csv_field;

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
    st_strdict **dicts;      /* per column: the dictionary of a string column */
    unsigned char *kind;     /* per column: ST_K_* */
    unsigned char *int_only; /* per column: integers only so far, so text promotes it */
    int any_type;            /* strings and times allowed (st_reader_opts.any_type) */
    int promote;             /* promotion allowed (st_reader_opts.promote) */
    unsigned retypes;        /* promotions so far */
    double *call_rows;       /* the rows of the current read call, for a promotion */
    size_t call_n;           /* rows of the call before the one being read */

    /* ---- csv.c */
    char sep;
    int all_num;     /* every column numbers (ST_K_NUM), none promoted: the fast loops (CSV and binary) */
    long lineno;     /* lines consumed so far */
    size_t keep;     /* SIZE_MAX, or the buffer offset input.c must keep (look-ahead) */
    char *rec;       /* a record copied out of the buffer (quoted cells) */
    size_t rec_cap;
    st_csv_field *fields;
    size_t fields_cap;

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
    int minor;            /* stream minor version: 1 when string columns carry dictionaries */
    size_t nstr;          /* string columns */
    size_t rec_off;       /* payload offset of the records (after the dictionary section) */
    int slow_decode;      /* a column needs more than a copy (promoted, strings, times) */
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
int st_csv_open(st_reader *r, const st_reader_opts *o, st_err *e);
int st_csv_next(st_reader *r, double *row, st_err *e);

/* stream.c: promote column j to a string column (ST_K_IDS); the rows of
 * the current call are converted.  st_cell_to_ids gives the id text of a
 * value of type dt. */
int st_promote(st_reader *r, size_t j, st_err *e);
const char *st_ids_text(char *buf, st_dtype dt, double v);

/* strdict.c */
uint64_t st_str_hash(const char *s, size_t n);

/* binstream.c */
extern const unsigned char st_bin_magic[8];
int st_bin_open(st_reader *r, st_err *e);
int st_bin_next(st_reader *r, double *row, st_err *e);
int st_bin_read(st_reader *r, double *rows, size_t max, size_t *n, st_err *e);
size_t st_dtype_size(st_dtype d);
int st_bin_write_header(FILE *fp, const char *const *names, const st_dtype *dtypes, size_t ncols,
                        const char *meta_json, st_err *e);
/* One chunk (nrows 0: the end chunk); zlib when codec asks and it pays.
 * The payload is dict[0..dbytes) (the dictionary section of a 1.1 stream)
 * then records[0..rbytes).  *zbuf is scratch space owned by the caller. */
int st_bin_write_chunk(FILE *fp, const unsigned char *dict, size_t dbytes, const unsigned char *records,
                       uint32_t nrows, size_t rbytes, int codec, unsigned char **zbuf, size_t *zcap, st_err *e);

/* numfmt.c: parse one CSV cell s[0..len).  Returns 0 for a number, 1 for a
 * missing value (empty, NA, NaN: *out = NaN), 2 for an integer beyond 2^53
 * in magnitude (*out is the nearest double), -1 if it is not a number, -2
 * for a number too large for a double (1e400). */
int st_num_parse(const char *s, size_t len, double *out);
/* What a CSV cell looks like, for the type look-ahead. */
enum {
    ST_C_MISSING = 0,
    ST_C_INT,      /* an integer within 2^53, without leading zeros */
    ST_C_BIGINT,   /* an integer beyond 2^53 */
    ST_C_NUM,      /* another number */
    ST_C_DATE,
    ST_C_MONTH,
    ST_C_DATETIME,
    ST_C_TEXT,     /* anything else (including 007, a quoted "NA") */
    ST_C_OVERFLOW  /* a number beyond the range of doubles: an error */
};
int st_cell_class(const char *s, size_t len, int quoted);
/* s[0..len) is an integer in plain decimal (optional sign, digits). */
int st_is_int_text(const char *s, size_t len);
/* Shortest text that strtof reads back to exactly x. */
int st_format_float(char *buf, float x);
/* An integral double as a decimal integer. */
int st_format_int(char *buf, double x);

/* Set of seq ids seen (for the contiguity check), by their text, so that
 * ids compare alike across inputs, dictionaries and promotions. */
typedef struct st_seqset {
    st_strdict *d;
} st_seqset;
void st_seqset_free(st_seqset *s);
/* Insert text; returns 1 if it was there already, 0 if new, <0 on error. */
int st_seqset_add(st_seqset *s, const char *text, st_err *e);
/* A new seq value v of a column of type dt (dict for strings): it must not
 * be missing, a number must be an integer, and it must not have been seen
 * before.  where is a message prefix such as "row 7: ". */
int st_seq_check(st_seqset *s, double v, st_dtype dt, const st_strdict *dict, const char *file, long line,
                 const char *where, st_err *e);

/* Validate a column-name list: non-empty, valid UTF-8 without control
 * characters, no duplicates.  On error fills e (file, line 1 for CSV,
 * column number) and returns ST_EDATA. */
int st_check_names(char *const *names, size_t n, const char *file, long line, st_err *e);
/* The process's renames (st_reader_set_renames) on r's names, unless
 * keep_names; line: the header line for messages (0 for binary). */
int st_apply_renames(st_reader *r, int keep_names, long line, st_err *e);
/* The process-wide --no-header (st_reader_set_no_header). */
int st_default_no_header(void);

#endif

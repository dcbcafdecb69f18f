/* Streams: tables of named numeric columns, read from CSV (plain or gzip)
 * or the binary stream format of stoch-stream(5), written as either.
 *
 * The reader detects the format from the first bytes (binary magic, gzip
 * magic, else CSV text).  Every value is delivered as a double: integer
 * columns convert exactly up to 2^53; missing values are NaN.  Errors name
 * the file and the line (CSV) or byte offset (binary).
 *
 * Ownership: st_reader_open/st_reader_free and st_writer_new/st_writer_free
 * pair up; free accepts NULL.  A writer does not own the FILE it writes to. */
#ifndef ST_CORE_STREAM_H
#define ST_CORE_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

typedef enum { ST_F8 = 0, ST_F4, ST_I8, ST_I4 } st_dtype;

/* numpy dtype string ("<f8") and back; returns -1 for an unknown string. */
const char *st_dtype_name(st_dtype d);
int st_dtype_parse(const char *s, st_dtype *d);

/* Binary stream codecs (chunk head byte). */
enum { ST_CODEC_RAW = 0, ST_CODEC_ZLIB = 1 };

/* Longest CSV line accepted; a longer one is an error, not a hang. */
#define ST_CSV_MAX_LINE (1u << 20)

/* ---------------------------------------------------------------- reader */

typedef struct st_reader st_reader;

/* Open path (NULL or "-" is stdin).  Reads the header (CSV header line or
 * binary header) before returning. */
int st_reader_open(st_reader **r, const char *path, st_err *e);
void st_reader_free(st_reader *r);

size_t st_reader_ncols(const st_reader *r);
const char *st_reader_name(const st_reader *r, size_t j);
st_dtype st_reader_dtype(const st_reader *r, size_t j); /* CSV: ST_F8 */
/* Column index by name, -1 if absent. */
int st_reader_col(const st_reader *r, const char *name);
/* "csv" or "bin" input (ST_FMT_CSV / ST_FMT_BIN of cli.h). */
int st_reader_format(const st_reader *r);
/* The JSON text of the binary header's "meta" object, NULL for CSV. */
const char *st_reader_meta(const st_reader *r);
/* File name for messages ("<stdin>" for stdin). */
const char *st_reader_path(const st_reader *r);

/* Read the next row into row[0..ncols-1].  Returns 1 for a row, 0 at the
 * end of the stream, a negative ST_E* code on error.  A stream with a
 * header and no rows is not an error here: programs decide. */
int st_reader_next(st_reader *r, double *row, st_err *e);
/* Read up to max rows (row-major) into rows; *n gets the count (0 at end).
 * Returns 0 or a negative ST_E* code. */
int st_reader_read(st_reader *r, double *rows, size_t max, size_t *n, st_err *e);
/* Where the last row came from: CSV line number (1-based) or binary row
 * index (0-based) -- for messages such as "file:LINE: ...". */
long st_reader_line(const st_reader *r);

/* Fill e with an error about the last row read and return code: located
 * as "file:LINE: msg" for CSV, "file: row N: msg" (N 1-based) for binary.
 * Use this rather than st_reader_line() in messages, which is a 0-based
 * row index for binary input. */
int st_reader_error(const st_reader *r, st_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Resolve a comma-separated list of column names ("seq,x") to indices.
 * *idx is malloc'ed; an unknown name is an ST_EDATA error naming it and
 * the input's columns (it depends on the input, so it exits 1, not 2). */
int st_reader_select(const st_reader *r, const char *list, int **idx, size_t *n, st_err *e);

/* Check that r has exactly the columns names[0..ncols-1] (of the input
 * called other, for the message): ST_EDATA naming r's file and the first
 * difference otherwise.  For concatenating inputs. */
int st_reader_same_columns(const st_reader *r, char *const *names, size_t ncols, const char *other, st_err *e);

/* ---------------------------------------------------------------- writer */

typedef struct st_writer_opts {
    int format;            /* ST_FMT_CSV (default when 0) or ST_FMT_BIN */
    int codec;             /* ST_CODEC_RAW or ST_CODEC_ZLIB (binary only) */
    char sep;              /* CSV separator, ',' when 0 */
    size_t chunk_rows;     /* binary rows per chunk; 0: 65536, fewer for rows over 32 bytes (about 2 MB) */
    const char *meta_json; /* JSON object for "meta" (binary) or NULL */
} st_writer_opts;

typedef struct st_writer st_writer;

/* Start a stream on fp with ncols columns.  dtypes may be NULL: then every
 * column is ST_F8 except one named "seq", which is ST_I8.  opts may be NULL
 * (CSV with ','). */
int st_writer_new(st_writer **w, FILE *fp, const char *const *names, const st_dtype *dtypes,
                  size_t ncols, const st_writer_opts *opts, st_err *e);
/* Append one row (ncols doubles).  Integer columns must hold integers;
 * NaN in an integer column is an error. */
int st_writer_row(st_writer *w, const double *row, st_err *e);
int st_writer_rows(st_writer *w, const double *rows, size_t n, st_err *e);
/* Finish the stream (binary: the zero-row end chunk), flush, free w. */
int st_writer_close(st_writer *w, st_err *e);
/* Drop a writer without finishing the stream. */
void st_writer_free(st_writer *w);

/* Build the "meta" JSON object: {"tool": "...", "version": "...",
 * "seed": N (if has_seed), "source": "..." (if non-NULL), "parent": <the
 * input's meta object> (if parent_json non-NULL)}.  *json is malloc'ed. */
int st_meta_json(char **json, const char *tool, int has_seed, uint64_t seed,
                 const char *source, const char *parent_json, st_err *e);

/* ------------------------------------------------------- number format */

/* Shortest decimal text that reads back (strtod) to exactly x; NaN is
 * "NaN", infinities "Inf"/"-Inf".  buf needs ST_DOUBLE_BUFSZ bytes.
 * Returns the length. */
#define ST_DOUBLE_BUFSZ 32
int st_format_double(char *buf, double x);

/* ---------------------------------------------------------------- table */

/* A whole stream in memory, row-major. */
typedef struct st_table {
    size_t nrows, ncols;
    char **names;     /* ncols names */
    st_dtype *dtypes; /* ncols dtypes */
    double *data;     /* nrows * ncols values, row-major */
    char *meta;       /* meta JSON of the (first) input, or NULL */
    char *source;     /* display name of the (first) input */
    size_t cap;       /* allocated rows */
} st_table;

static inline double st_table_get(const st_table *t, size_t i, size_t j)
{
    return t->data[i * t->ncols + j];
}

/* Read a whole stream.  Growing past the machine's physical memory is
 * refused up front (ST_ENOMEM, with the figure), not left to the OOM killer. */
int st_table_read(st_table **t, const char *path, st_err *e);
/* Read and concatenate several inputs (npaths == 0 reads stdin); they must
 * have the same column names in the same order. */
int st_table_read_many(st_table **t, const char *const *paths, size_t npaths, st_err *e);
void st_table_free(st_table *t);
int st_table_col(const st_table *t, const char *name);

/* Contiguous runs of equal values in column seqcol (seqcol < 0: one group
 * for the whole table).  A seq value that reappears after another one is an
 * error (rows of one sequence must be contiguous), as is a non-integer or
 * missing seq.  *groups is malloc'ed. */
typedef struct st_group {
    double seq;   /* the seq value (0 when there is no seq column) */
    size_t start; /* first row */
    size_t n;     /* number of rows */
} st_group;
int st_table_groups(const st_table *t, int seqcol, st_group **groups, size_t *ngroups, st_err *e);

/* Streaming iteration over seq groups, holding one group in memory at a
 * time (for tools whose memory must not grow with the number of series). */
typedef struct st_seqiter st_seqiter;
int st_seqiter_new(st_seqiter **it, st_reader *r, int seqcol, st_err *e);
/* Next group: *rows points at n rows (row-major, ncols each) valid until the
 * next call.  Returns 1 for a group, 0 at the end, negative on error. */
int st_seqiter_next(st_seqiter *it, const double **rows, size_t *n, double *seq, st_err *e);
void st_seqiter_free(st_seqiter *it);

/* -------------------------------------------- data-parallel reading */

/* Under MPI each rank keeps only its share of the seq groups, so that no
 * rank ever holds, nor parses, the whole data: the inputs are counted once
 * (st_table_count_groups: nothing kept), each rank takes its share of the
 * groups and reads only the inputs that hold them, keeping only those rows
 * (st_table_read_groups with the layout).  A group is a contiguous run of
 * equal values of the column named seqname over the concatenation of the
 * inputs (a run may continue from one input into the next; no such column:
 * the whole concatenation is one group), checked as st_table_groups does
 * (an integer; a value that reappears after another sequence is an error),
 * so the same bad input gives the same message however it is read: the
 * first error of the whole data, "file:line: ...".  Inputs must have the
 * same columns (st_table_read_many).  Standard input cannot be read twice:
 * under MPI st_mpi_cli_start refuses it; one process reads everything with
 * st_table_read_groups(.., NULL, 0, SIZE_MAX, ..) in a single pass. */
typedef struct st_group_layout {
    size_t ngroups, nrows; /* whole data */
    size_t npaths;         /* inputs: the arrays below have npaths entries */
    size_t *group0;        /* group of the input's first row (ngroups so far if empty) */
    size_t *ngrp;          /* groups with rows in the input (0 if empty) */
    size_t *row0;          /* whole-data row of the input's first row */
} st_group_layout;
/* Count the groups and rows and fill *lay (free with
 * st_group_layout_free).  Collective when st_mpi_size() > 1: with several
 * inputs each rank parses only its share of the inputs (st_mpi_share over
 * npaths) and the ranks exchange per input its rows, runs and first and
 * last seq values (64 bytes), plus every run's seq value and line (16
 * bytes per sequence) only if the inputs' seq ranges overlap (or a rank
 * failed), to check for values that reappear in a later input; errors are
 * agreed (the first in the whole data wins) and the same on every rank.
 * With one input every rank parses it. */
int st_table_count_groups(const char *const *paths, size_t npaths, const char *seqname, st_group_layout *lay,
                          st_err *e);
void st_group_layout_free(st_group_layout *lay);
/* Read groups glo .. ghi-1 (0-based over the concatenation; ghi may exceed
 * the count) into *t; *row0 (may be NULL) gets the 0-based row of the
 * whole data at which group glo starts (the row count if there is no such
 * group), so that messages about kept rows can name the whole data's rows.
 * lay NULL: one pass over every input with the seq checks.  lay from
 * st_table_count_groups over the same inputs: only the inputs holding
 * groups glo .. ghi-1 are parsed (and the first input's header, for the
 * column names), reading stops after group ghi-1, and the seq checks are
 * not repeated (the count made them).  Not collective. */
int st_table_read_groups(st_table **t, const char *const *paths, size_t npaths, const char *seqname,
                         const st_group_layout *lay, size_t glo, size_t ghi, size_t *row0, st_err *e);

/* The whole data-parallel read in one call, for programs whose ranks split
 * the groups into blocks: one process reads every group in one pass; under
 * MPI the groups are counted (st_table_count_groups), cut into blocks of
 * block_groups(ngroups, nrows) groups (a function of the whole data only,
 * so the blocks are the same for any number of ranks), and this rank reads
 * the groups of its contiguous share of the blocks (st_mpi_share).  Errors
 * are agreed over ranks (ranks hold consecutive shares, so the lowest
 * failing rank's is the first in the data).  Collective under MPI. */
typedef struct st_table_share {
    size_t ngroups, nrows; /* whole data (under MPI; 0 in one process) */
    size_t block;          /* groups per block (under MPI; 0 in one process) */
    size_t blo, bhi;       /* this rank's blocks (both 0 in one process) */
    size_t row0;           /* whole-data row of the share's first row */
} st_table_share;
int st_table_read_share(st_table **t, const char *const *paths, size_t npaths, const char *seqname,
                        size_t (*block_groups)(size_t ngroups, size_t nrows), st_table_share *sh, st_err *e);

/* ------------------------------------------------------------ describe */

/* Streaming summary of a stream: rows, sequences (runs of the seq column,
 * checked for contiguity) and per column count, missing, min, mean, max.
 * The mean is a compensated sum over rows in order, so it is exact to a
 * few ulps and independent of how the rows were blocked. */
typedef struct st_colstat {
    size_t count;          /* non-missing values */
    size_t missing;        /* NaN values */
    double min, mean, max; /* over the non-missing values; NaN if none */
} st_colstat;
typedef struct st_describe st_describe;
/* seqcol < 0: no seq column (one sequence if there are rows). */
int st_describe_new(st_describe **d, size_t ncols, int seqcol, st_err *e);
/* Add one row; r (may be NULL) names the file and line in errors: a seq
 * value that is not an integer or comes back after another one. */
int st_describe_row(st_describe *d, const double *row, const st_reader *r, st_err *e);
/* stats gets ncols entries. */
void st_describe_result(const st_describe *d, st_colstat *stats, size_t *rows, size_t *nseq);
void st_describe_free(st_describe *d);

#endif

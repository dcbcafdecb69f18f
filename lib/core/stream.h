/* Streams: tables of named columns -- numbers, strings (ids, labels,
 * symbols) and times (dates, months, timestamps) -- read from CSV (RFC 4180,
 * plain or gzip) or the binary stream format of stoch-stream(5), written as
 * either.
 *
 * Every cell is delivered as a double, so that numeric code works on rows
 * of doubles whatever the input holds:
 *   numbers (ST_F8 ST_F4 ST_I8 ST_I4)  the value; integer columns are exact
 *                                      (beyond 2^53 see "exact integers")
 *   strings (ST_STR)                   a code into the column's dictionary
 *                                      (st_strdict): 0, 1, 2, ... in order
 *                                      of first appearance
 *   dates (ST_DATE)                    days since 1970-01-01
 *   months (ST_MONTH)                  days since 1970-01-01 of the month's
 *                                      first day (prints as 1960-01)
 *   timestamps (ST_DATETIME)           seconds since 1970-01-01T00:00:00
 * A missing value is NaN in every kind of column.  Errors name the file and
 * the line and column (CSV) or the row or byte offset (binary).
 *
 * Ownership: st_reader_open/st_reader_free, st_writer_new/st_writer_close
 * (or st_writer_free), st_table_read/st_table_free and st_strdict_new/
 * st_strdict_free pair up; free accepts NULL.  A reader or table owns the
 * dictionaries of its string columns; a writer does not own the FILE it
 * writes to, nor the dictionaries it takes codes from (st_writer_source).
 *
 * Readers and tables hold numbers only unless asked (st_reader_opts
 * .any_type): st_reader_open and st_table_read refuse a cell that is not a
 * number, as they always did, so a program that has not been taught strings
 * never computes with codes.  A program adopts strings, times and the
 * user's ids in five steps (the pattern every program follows):
 *
 *     // 1. read with strings allowed (cli: st_cli_reader_opts gives --no-header)
 *     st_reader_opts o = st_cli_reader_opts(&cli);
 *     o.any_type = 1;
 *     st_table *t;
 *     if ((rc = st_table_read_opts(&t, paths, npaths, &o, &e)) < 0) ...
 *     // (data-parallel: st_table_read_share_opts(&t, ..., "seq", &o, ...))
 *     // 2. find the role columns by name (--seq-col etc., see core/cli.h)
 *     int seq, x;
 *     st_cli_role_col(&cli, ST_ROLE_SEQ, t->names, t->ncols, 0, t->source, &seq, &e);
 *     // 3. refuse text or times where numbers are needed, naming the column
 *     if ((rc = st_table_need_numeric(t, x, &e)) < 0) ...
 *     // 4. groups work for string ids too (codes; messages print the ids)
 *     st_group *g; size_t ng;
 *     st_table_groups(t, seq, &g, &ng, &e);
 *     // 5. write the user's ids, labels and dates back as they came
 *     const char *names[] = {"seq", "state"};
 *     st_dtype dt[] = {st_carry_dtype(t->dtypes[seq], ST_I8), ST_I8};
 *     st_writer_new(&w, fp, names, dt, 2, &wo, &e);
 *     st_writer_carry(w, 0, t, seq, &e);               // codes -> the user's ids
 *     row[0] = g[s].seq;  row[1] = k;  st_writer_row(w, row, &e);
 *     // in messages: char buf[ST_CELL_BUFSZ]; st_table_cell(t, seq, g[s].seq, buf)
 *
 * Codes belong to one reader or table: they are not the same across inputs
 * or MPI ranks.  A program that needs its own numbering of labels (the
 * states or symbols of a model) maps them by their text (st_table_str),
 * never by code.
 *
 * Labels a program makes itself (a "score" column of names, state labels)
 * go through a dictionary of its own:
 *
 *     st_strdict *d;  st_strdict_new(&d, &e);
 *     double code;    st_strdict_intern(d, "auroc", 5, &code, &e);
 *     dt[0] = ST_STR; ... st_writer_source(w, 0, ST_STR, d, &e);
 *     row[0] = code;  st_writer_row(w, row, &e);
 *
 * Exact integers: a double holds integers exactly up to 2^53.  A column of
 * integers that meets one beyond that (a 64-bit id, in CSV or in a binary
 * <i8 column) cannot be delivered as numbers without losing digits; such a
 * value, like text in a column of integers (ids "1", "2", ... then "A-17"),
 * is handled by promotion (below) where the reader allows it, and is an
 * error naming file, line and column otherwise -- never a rounded id. */
#ifndef ST_CORE_STREAM_H
#define ST_CORE_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

typedef struct st_table st_table;

typedef enum {
    ST_F8 = 0,  /* <f8 double */
    ST_F4,      /* <f4 float */
    ST_I8,      /* <i8 int64 */
    ST_I4,      /* <i4 int32 */
    ST_STR,     /* "str": u32 dictionary code (stream version 1.1) */
    ST_DATE,    /* <M8[D]: int64 days since 1970-01-01 */
    ST_MONTH,   /* <M8[M]: int64 months since 1970-01 */
    ST_DATETIME /* <M8[s]: int64 seconds since 1970-01-01T00:00:00 */
} st_dtype;
#define ST_NDTYPES 8

static inline int st_dtype_is_numeric(st_dtype d)
{
    return d <= ST_I4;
}
static inline int st_dtype_is_time(st_dtype d)
{
    return d >= ST_DATE && d <= ST_DATETIME;
}

/* numpy dtype string ("<f8", "str", "<M8[D]") and back; returns -1 for an
 * unknown string. */
const char *st_dtype_name(st_dtype d);
int st_dtype_parse(const char *s, st_dtype *d);
/* Short names for options: f8 f4 i8 i4 str date month datetime. */
const char *st_dtype_short(st_dtype d);
int st_dtype_parse_short(const char *s, st_dtype *d);

/* Binary stream codecs (chunk head byte). */
enum { ST_CODEC_RAW = 0, ST_CODEC_ZLIB = 1 };

/* Longest CSV record accepted (a quoted cell may span lines; the limit is
 * on the whole record); a longer one is an error, not a hang. */
#define ST_CSV_MAX_LINE (1u << 20)
/* CSV column types are decided from the first ST_CSV_LOOKAHEAD data rows
 * (or the rows in the first 512 KiB, if fewer). */
#define ST_CSV_LOOKAHEAD 1000

/* ------------------------------------------------------------ strings */

/* A dictionary of strings: code 0, 1, 2, ... in order of insertion; each
 * string once.  Strings are UTF-8 without NUL bytes; the pointers that
 * st_strdict_str returns stay valid until st_strdict_free. */
typedef struct st_strdict st_strdict;
int st_strdict_new(st_strdict **d, st_err *e);
void st_strdict_free(st_strdict *d);
size_t st_strdict_size(const st_strdict *d);
/* The string of a code; NULL for NaN (missing) or a code not in d. */
const char *st_strdict_str(const st_strdict *d, double code);
size_t st_strdict_len(const st_strdict *d, double code);
/* The code of s[0..len) (NaN if absent). */
double st_strdict_find(const st_strdict *d, const char *s, size_t len);
/* The code of s[0..len), added if new.  ST_EDATA for a NUL byte or bad
 * UTF-8 (the message says which; callers add the place), ST_ENOMEM when
 * full (2^32 - 1 strings). */
int st_strdict_intern(st_strdict *d, const char *s, size_t len, double *code, st_err *e);

/* -------------------------------------------------------------- times */

/* Proleptic Gregorian calendar: days since 1970-01-01 and back. */
int64_t st_days_from_civil(int64_t y, unsigned m, unsigned d);
void st_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* Parse an ISO-8601 time: YYYY-MM-DD (ST_DATE), YYYY-MM (ST_MONTH), or
 * YYYY-MM-DD[T ]HH:MM[:SS] with an optional Z or +HH[:MM]/-HH[:MM] offset
 * (ST_DATETIME, converted to UTC).  Years 0000 to 9999.  Returns 0 and
 * sets *kind and *v (days, or seconds), or -1 if s[0..n) is not one. */
int st_time_parse(const char *s, size_t n, st_dtype *kind, double *v);
/* ISO text of a time value: 2024-03-31, 1960-01, 2024-03-31T12:00:00.
 * NaN is "" (missing).  buf needs ST_CELL_BUFSZ bytes; returns the length,
 * or -1 for a value that is not a time of that kind (a month value that is
 * not a month's first day, a fraction of a day or second, out of range). */
int st_time_format(char *buf, st_dtype kind, double v);

/* ------------------------------------------------------- number format */

/* Shortest decimal text that reads back (strtod) to exactly x; NaN is
 * "NaN", infinities "Inf"/"-Inf".  buf needs ST_DOUBLE_BUFSZ bytes.
 * Returns the length. */
#define ST_DOUBLE_BUFSZ 32
int st_format_double(char *buf, double x);

/* Text of a cell of column type dt, as CSV output prints it (unquoted):
 * numbers shortest (integer types as integers), times ISO, strings from
 * dict; missing is "" for strings and times, "NaN" for numbers.  Returns a
 * NUL-terminated string: buf (ST_CELL_BUFSZ bytes) or dict's own.  For
 * messages and for writing ids: st_table_cell / st_reader_cell. */
#define ST_CELL_BUFSZ 48
const char *st_cell_text(char *buf, st_dtype dt, const st_strdict *dict, double v);

/* ---------------------------------------------------------------- reader */

typedef struct st_reader st_reader;

typedef struct st_reader_opts {
    /* 1: columns may hold strings and times (for programs that handle them:
     * they check st_reader_dtype / st_table_need_numeric for the columns
     * they compute with).  0, the default and what st_reader_open and
     * st_table_read give: every column holds numbers, as before strings
     * existed -- a cell that is not a number is an error naming file, line
     * and column, and so is a binary string or time column. */
    int any_type;
    /* CSV: there is no header line; the columns are named c1, c2, ... and
     * the first line is data.  Without it a first line that is all numbers
     * is an error ("looks like data; use --no-header"). */
    int no_header;
    /* CSV: comma-separated names of columns to read as strings whatever
     * they look like (e.g. "id,zip"); NULL for none.  Implies any_type. */
    const char *str_cols;
    /* Comma-separated names of columns to read as ids: strings, numbers in
     * their plain form (what a promotion makes of a column, from its first
     * row).  CSV: any column; binary: <i8 columns (others keep their type).
     * NULL for none.  Implies any_type. */
    const char *id_cols;
    /* With any_type: allow promotion (see st_reader_retypes); 0: a value
     * that a column's type cannot hold is an error. */
    int promote;
    /* CSV: no look-ahead (every column numbers, as without any_type), so
     * that opening returns once the header line has arrived: for a pipe
     * that a co-process writes a step at a time and waits for the answer
     * (pf-resample -N), where looking ahead would wait for rows not yet
     * written. */
    int no_lookahead;
    /* 1: the process's column renames (st_reader_set_renames) are not
     * applied: for a program that finds its role columns by the user's
     * names (stoch-cat), or for an input that is another program's output
     * (stoch-plot's main input). */
    int keep_names;
} st_reader_opts;

/* Column roles by rename.  Programs find the columns they read by what
 * they mean under fixed names (seq, t, state, obstype, id, label); a
 * user's data may call them otherwise (msm's cav: PTNUM, years).  A rename
 * makes every reader opened afterwards in the process give column `from`
 * the name `to` (the --seq-col, --time-col, ... options of core/cli set
 * them, so that the programs and the family libraries keep their names):
 *   - the input has `from`: it is read as `to` (`from` == `to`: nothing);
 *   - it has `from` and another column `to`: an error naming the option;
 *   - it has no `from` but has `to` (another program's output, which uses
 *     the fixed names): read as it is;
 *   - it has neither: an error naming the option and the input's columns.
 * Renames apply before reader options that name columns (str_cols,
 * id_cols), so those use the fixed names.  The strings must stay valid
 * (argv).  opts.keep_names turns them off for one reader. */
typedef struct st_rename {
    const char *from;   /* the user's column name */
    const char *to;     /* the name the program reads */
    const char *option; /* the option that asked for it, for messages ("--seq-col") */
} st_rename;
#define ST_MAX_RENAMES 8
/* Set the process's renames (n <= ST_MAX_RENAMES; n == 0 clears them). */
void st_reader_set_renames(const st_rename *ren, size_t n);
/* Process-wide --no-header: every CSV reader opened afterwards reads its
 * first line as data (as opts.no_header). */
void st_reader_set_no_header(int on);

/* Open path (NULL or "-" is stdin).  Reads the header (CSV header line or
 * binary header) and, for CSV, looks ahead to decide the column types
 * before returning.  opts may be NULL (all zero: numbers only). */
int st_reader_open(st_reader **r, const char *path, st_err *e);
int st_reader_open_opts(st_reader **r, const char *path, const st_reader_opts *opts, st_err *e);
void st_reader_free(st_reader *r);

size_t st_reader_ncols(const st_reader *r);
const char *st_reader_name(const st_reader *r, size_t j);
char *const *st_reader_names(const st_reader *r);
/* The column's type: from the binary header, or for CSV from the look-ahead
 * (numbers are ST_F8).  Changes with a promotion. */
st_dtype st_reader_dtype(const st_reader *r, size_t j);
/* Column index by name, -1 if absent. */
int st_reader_col(const st_reader *r, const char *name);
/* "csv" or "bin" input (ST_FMT_CSV / ST_FMT_BIN of cli.h). */
int st_reader_format(const st_reader *r);
/* The JSON text of the binary header's "meta" object, NULL for CSV. */
const char *st_reader_meta(const st_reader *r);
/* File name for messages ("<stdin>" for stdin). */
const char *st_reader_path(const st_reader *r);
/* The dictionary of a string column (NULL for other columns).  It grows as
 * rows are read. */
const st_strdict *st_reader_dict(const st_reader *r, size_t j);
/* The string of a code in string column j (NULL for missing). */
const char *st_reader_str(const st_reader *r, size_t j, double code);
/* Text of a cell of column j (st_cell_text with the column's type). */
const char *st_reader_cell(const st_reader *r, size_t j, double v, char *buf);

/* Read the next row into row[0..ncols-1].  Returns 1 for a row, 0 at the
 * end of the stream, a negative ST_E* code on error.  A stream with a
 * header and no rows is not an error here: programs decide. */
int st_reader_next(st_reader *r, double *row, st_err *e);
/* Read up to max rows (row-major) into rows; *n gets the count (0 at end).
 * Returns 0 or a negative ST_E* code. */
int st_reader_read(st_reader *r, double *rows, size_t max, size_t *n, st_err *e);
/* Where the last row came from: CSV line number (1-based, the line where
 * the record starts) or binary row index (0-based) -- for messages. */
long st_reader_line(const st_reader *r);

/* Promotion (opts.promote): a column of integers that meets text ("A-17")
 * or an integer beyond 2^53 becomes a string column (ST_STR) from that
 * point: the integers are ids, kept as their decimal text.  Other
 * contradictions (text in a column of fractional numbers or of dates) are
 * errors.  st_reader_retypes counts the promotions so far.  When it has
 * changed after a call to st_reader_next or st_reader_read, the rows that
 * call returned already hold codes in the promoted columns, and the rows
 * returned by earlier calls still hold numbers there: convert those you
 * kept with st_reader_recode (the table reader and stoch-cat do this). */
unsigned st_reader_retypes(const st_reader *r);
/* The code in promoted column j of v, a value of its old type old. */
int st_reader_recode(st_reader *r, size_t j, st_dtype old, double v, double *code, st_err *e);

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
 * (CSV with ',').  Names must be non-empty, distinct, valid UTF-8 without
 * control characters.  A binary stream with an ST_STR column is version
 * 1.1, else 1.0 (byte for byte what earlier versions wrote). */
int st_writer_new(st_writer **w, FILE *fp, const char *const *names, const st_dtype *dtypes,
                  size_t ncols, const st_writer_opts *opts, st_err *e);
/* What the cells of column j hold (by default: values of the column's own
 * type, and no dictionary -- which an ST_STR column must be given): src is
 * the type of the values passed in the rows, dict the dictionary of their
 * codes when src is ST_STR.  The writer converts them to the column's type:
 * numbers and times through their value (a date to days, a month to its
 * first day), anything to a string through its text, a string to a number
 * or time by reading its text (binary output: an error if it is not one,
 * or an integer beyond 2^53 for a float type; CSV output of a number
 * column prints the text as it is, so promoted ids pass through).  The
 * dictionary must live as long as rows refer to it; call again to switch
 * (e.g. to the next input's reader). */
int st_writer_source(st_writer *w, size_t j, st_dtype src, const st_strdict *dict, st_err *e);
/* Column j takes its values from column tj of table t / column rj of reader
 * r: st_writer_source with its type and dictionary.  This is how a program
 * writes the user's ids, labels and dates. */
int st_writer_carry(st_writer *w, size_t j, const st_table *t, size_t tj, st_err *e);
int st_writer_carry_reader(st_writer *w, size_t j, const st_reader *r, size_t rj, st_err *e);
/* The output type for a carried column of input type in: strings and times
 * keep their type, numbers become numeric (e.g. ST_I8 for a seq column). */
static inline st_dtype st_carry_dtype(st_dtype in, st_dtype numeric)
{
    return st_dtype_is_numeric(in) ? numeric : in;
}
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

/* ---------------------------------------------------------------- table */

/* A whole stream in memory, row-major. */
struct st_table {
    size_t nrows, ncols;
    char **names;       /* ncols names */
    st_dtype *dtypes;   /* ncols dtypes */
    double *data;       /* nrows * ncols values, row-major */
    char *meta;         /* meta JSON of the (first) input, or NULL */
    char *source;       /* display name of the (first) input */
    size_t cap;         /* allocated rows */
    st_strdict **dicts; /* ncols entries: the dictionary of each ST_STR column, else NULL */
};

static inline double st_table_get(const st_table *t, size_t i, size_t j)
{
    return t->data[i * t->ncols + j];
}

/* Read a whole stream of numbers (st_reader_open's rules).  Growing past
 * the machine's physical memory is refused up front (ST_ENOMEM, with the
 * figure), not left to the OOM killer. */
int st_table_read(st_table **t, const char *path, st_err *e);
/* Read and concatenate several inputs (npaths == 0 reads stdin); they must
 * have the same column names in the same order. */
int st_table_read_many(st_table **t, const char *const *paths, size_t npaths, st_err *e);
/* The same with reader options (opts may be NULL).  With opts->any_type,
 * tables are read with promotion (opts->promote is implied): a column of
 * integer ids that meets text or a 64-bit integer becomes a string column,
 * the earlier ids as their decimal text; and inputs whose column types
 * differ concatenate when they are numbers and strings (numbers become
 * their text); other differences are errors. */
int st_table_read_opts(st_table **t, const char *const *paths, size_t npaths, const st_reader_opts *opts, st_err *e);
void st_table_free(st_table *t);
int st_table_col(const st_table *t, const char *name);
/* The string of a code in string column j (NULL for missing). */
const char *st_table_str(const st_table *t, size_t j, double code);
/* Text of a cell of column j, for messages (st_cell_text). */
const char *st_table_cell(const st_table *t, size_t j, double v, char *buf);
/* ST_EDATA "column 'x' holds text (...), not numbers" unless column j is
 * numeric: for programs that compute with a column. */
int st_table_need_numeric(const st_table *t, size_t j, st_err *e);

/* Contiguous runs of equal values in column seqcol (seqcol < 0: one group
 * for the whole table).  A seq value that reappears after another one is an
 * error (rows of one sequence must be contiguous), as is a missing seq or a
 * number that is not an integer.  seq may be a string column: runs are
 * runs of equal codes, and messages print the user's id.  *groups is
 * malloc'ed. */
typedef struct st_group {
    double seq;   /* the seq cell: the number, or the code of a string id (0 when there is no seq column) */
    size_t start; /* first row */
    size_t n;     /* number of rows */
} st_group;
int st_table_groups(const st_table *t, int seqcol, st_group **groups, size_t *ngroups, st_err *e);

/* Streaming iteration over seq groups, holding one group in memory at a
 * time (for tools whose memory must not grow with the number of series).
 * A string seq works as in st_table_groups (the code, in the reader's
 * dictionary: st_reader_str / st_writer_carry_reader). */
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
 * (an integer or a string id; a value that reappears after another
 * sequence is an error), so the same bad input gives the same message
 * however it is read: the first error of the whole data, "file:line: ...".
 * Inputs must have the same columns (st_table_read_many); the column types
 * the count found (after promotion, over all inputs) are the types every
 * rank reads.  Standard input cannot be read twice: under MPI
 * st_mpi_cli_start refuses it; one process reads everything with
 * st_table_read_groups(.., NULL, 0, SIZE_MAX, ..) in a single pass. */
typedef struct st_group_layout {
    size_t ngroups, nrows; /* whole data */
    size_t npaths;         /* inputs: the arrays below have npaths entries */
    size_t *group0;        /* group of the input's first row (ngroups so far if empty) */
    size_t *ngrp;          /* groups with rows in the input (0 if empty) */
    size_t *row0;          /* whole-data row of the input's first row */
    /* column types (NULL when every column is numeric): */
    unsigned char *str_union; /* per column: a string column in some input */
    char *str_cols;           /* the lists below, one buffer */
    char **input_str;         /* per input: columns to read as ids (st_reader_opts.id_cols), or NULL */
    st_reader_opts opts;      /* the count's reader options */
} st_group_layout;
/* Count the groups and rows and fill *lay (free with
 * st_group_layout_free).  Collective when st_mpi_size() > 1: with several
 * inputs each rank parses only its share of the inputs (st_mpi_share over
 * npaths) and the ranks exchange per input its rows, runs and first and
 * last seq values, plus every run's seq value and line only if the inputs'
 * seq ranges overlap (or a rank failed, or seq is a string column), to
 * check for values that reappear in a later input; errors are agreed (the
 * first in the whole data wins) and the same on every rank.  With one input
 * every rank parses it. */
int st_table_count_groups(const char *const *paths, size_t npaths, const char *seqname, st_group_layout *lay,
                          st_err *e);
/* With reader options (NULL: numbers only); the layout records them (the
 * strings must live as long as the layout) for st_table_read_groups. */
int st_table_count_groups_opts(const char *const *paths, size_t npaths, const char *seqname,
                               const st_reader_opts *opts, st_group_layout *lay, st_err *e);
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
/* With reader options when lay is NULL (with a layout: the count's). */
int st_table_read_groups_opts(st_table **t, const char *const *paths, size_t npaths, const char *seqname,
                              const st_reader_opts *opts, const st_group_layout *lay, size_t glo, size_t ghi,
                              size_t *row0, st_err *e);

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
int st_table_read_share_opts(st_table **t, const char *const *paths, size_t npaths, const char *seqname,
                             const st_reader_opts *opts, size_t (*block_groups)(size_t ngroups, size_t nrows),
                             st_table_share *sh, st_err *e);

/* ------------------------------------------------------------ describe */

/* Streaming summary of a stream: rows, sequences (runs of the seq column,
 * checked for contiguity) and per column count, missing, and for numbers
 * and times min, mean, max, for strings the number of distinct values.
 * The mean is a compensated sum over rows in order, so it is exact to a
 * few ulps and independent of how the rows were blocked. */
typedef struct st_colstat {
    size_t count;          /* non-missing values */
    size_t missing;        /* NaN values */
    size_t distinct;       /* string columns: distinct values present */
    double min, mean, max; /* numbers and times, over the non-missing values; NaN if none */
} st_colstat;
typedef struct st_describe st_describe;
/* seqcol < 0: no seq column (one sequence if there are rows).  dtypes
 * (ncols entries; NULL: all numbers) are the column types: a string
 * column counts distinct values, and a string or time seq is an id. */
int st_describe_new(st_describe **d, size_t ncols, const st_dtype *dtypes, int seqcol, st_err *e);
/* The dictionaries of the string columns (ncols entries, NULL for other
 * columns) for the rows that follow: call it before the rows of each input
 * (codes of different inputs are different strings). */
void st_describe_dicts(st_describe *d, const st_strdict *const *dicts);
/* Add one row; r (may be NULL) names the file and line in errors: a seq
 * value that is missing, not an integer or comes back after another one. */
int st_describe_row(st_describe *d, const double *row, const st_reader *r, st_err *e);
/* stats gets ncols entries. */
void st_describe_result(const st_describe *d, st_colstat *stats, size_t *rows, size_t *nseq);
void st_describe_free(st_describe *d);

#endif

/* Program helpers: the options every stochtools program shares, usage
 * errors, verbosity, atomic output files and a checked stdout.
 *
 * This is the one part of lib/core that may print and exit: it exists so
 * that each tools/<program>.c stays a thin parse-read-call-write driver.
 *
 * Typical main():
 *     st_cli cli;
 *     st_cli_init(&cli, "stoch-cat", USAGE);
 *     static const struct option longopts[] = { ST_CLI_LONGOPTS, {"head", 1, 0, OPT_HEAD}, {0} };
 *     while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "c:", longopts, NULL)) != -1) {
 *         if (st_cli_common(&cli, c, optarg, argv)) continue;
 *         switch (c) { ... default: st_cli_usage_error(&cli, NULL); }
 *     }
 *     st_output out;
 *     if (st_output_open(&out, &cli, st_cli_binary_output(&cli), &err) < 0) ...
 *     ... write to out.fp ...
 *     return st_cli_finish(&cli, &out, rc, &err);
 */
#ifndef ST_CORE_CLI_H
#define ST_CORE_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/stream.h"

#define ST_VERSION_STRING PACKAGE_VERSION

/* Output formats (--format) and binary chunk codecs (--compress). */
enum { ST_FMT_AUTO = 0, ST_FMT_CSV = 1, ST_FMT_BIN = 2 };

/* Long-only option codes of the common options; a program's own long-only
 * options start at ST_OPT_TOOL. */
enum {
    ST_OPT_VERSION = 0x100,
    ST_OPT_FORMAT,
    ST_OPT_COMPRESS,
    ST_OPT_SEED,
    ST_OPT_NO_HEADER,
    ST_OPT_ROLE = 0x180, /* + st_role: the role options below */
    ST_OPT_TOOL = 0x200
};

/* getopt_long short options for the common set; the leading ':' makes a
 * missing argument return ':' so that it is reported as a usage error. */
#define ST_CLI_SHORTOPTS ":ho:j:qv"
#define ST_CLI_LONGOPTS                                         \
    {"help", no_argument, NULL, 'h'},                           \
    {"version", no_argument, NULL, ST_OPT_VERSION},             \
    {"output", required_argument, NULL, 'o'},                   \
    {"format", required_argument, NULL, ST_OPT_FORMAT},         \
    {"compress", no_argument, NULL, ST_OPT_COMPRESS},           \
    {"seed", required_argument, NULL, ST_OPT_SEED},             \
    {"threads", required_argument, NULL, 'j'},                  \
    {"quiet", no_argument, NULL, 'q'},                          \
    {"verbose", no_argument, NULL, 'v'}

/* Roles: the columns a program reads by what they mean.  Every program
 * spells the options and defaults the same way:
 *     --seq-col NAME      sequences / subjects / series   (default seq)
 *     --time-col NAME     time                            (default t)
 *     --state-col NAME    an observed state               (default state)
 *     --id-col NAME       an item id (prompts, records)   (default id)
 *     --obstype-col NAME  how a state was observed        (default obstype)
 *     --label-col NAME    a label to predict or evaluate  (default label)
 * A program lists the ones it has in its long options (ST_CLI_OPT_SEQ_COL,
 * ...), st_cli_common stores them, and st_cli_role_col finds the column:
 *
 *     static const struct option longopts[] = {ST_CLI_LONGOPTS, ST_CLI_OPT_SEQ_COL, ...};
 *     ...
 *     int seq;
 *     if ((rc = st_cli_role_col(&cli, ST_ROLE_SEQ, t->names, t->ncols, 0, t->source, &seq, &e)) < 0) ...
 *     // seq is -1 if the input has no column "seq" and --seq-col was not given
 */
typedef enum { ST_ROLE_SEQ, ST_ROLE_TIME, ST_ROLE_STATE, ST_ROLE_ID, ST_ROLE_OBSTYPE, ST_ROLE_LABEL, ST_ROLE_N } st_role;
#define ST_CLI_OPT_SEQ_COL {"seq-col", required_argument, NULL, ST_OPT_ROLE + ST_ROLE_SEQ}
#define ST_CLI_OPT_TIME_COL {"time-col", required_argument, NULL, ST_OPT_ROLE + ST_ROLE_TIME}
#define ST_CLI_OPT_STATE_COL {"state-col", required_argument, NULL, ST_OPT_ROLE + ST_ROLE_STATE}
#define ST_CLI_OPT_ID_COL {"id-col", required_argument, NULL, ST_OPT_ROLE + ST_ROLE_ID}
#define ST_CLI_OPT_OBSTYPE_COL {"obstype-col", required_argument, NULL, ST_OPT_ROLE + ST_ROLE_OBSTYPE}
#define ST_CLI_OPT_LABEL_COL {"label-col", required_argument, NULL, ST_OPT_ROLE + ST_ROLE_LABEL}
/* The reader options programs pass on (add it to the long options of a
 * program that hands st_cli_reader_opts to its reader or table):
 *     --no-header         the CSV input has no header line: columns c1..cN */
#define ST_CLI_OPT_NO_HEADER {"no-header", no_argument, NULL, ST_OPT_NO_HEADER}

typedef struct st_cli {
    const char *prog;   /* program name used in every message */
    const char *usage;  /* full --help text, printed as is */
    const char *output; /* -o FILE, NULL for stdout */
    int format;         /* ST_FMT_AUTO, ST_FMT_CSV or ST_FMT_BIN */
    int compress;       /* --compress: zlib-compressed binary chunks */
    uint64_t seed;      /* --seed, default 1 */
    int threads;        /* -j N; 0 means OMP_NUM_THREADS or all cores */
    int verbosity;      /* 0 with -q, 1 by default, 2+ with -v (repeatable) */
    int no_header;      /* --no-header (ST_CLI_OPT_NO_HEADER) */
    const char *role[ST_ROLE_N]; /* --seq-col etc.; NULL: not given */
    const char *role_as[ST_ROLE_N]; /* st_cli_role_reads_as; NULL: st_role_default */
} st_cli;

void st_cli_init(st_cli *c, const char *prog, const char *usage);

/* Handle one getopt_long result if it is a common option (or '?'/':',
 * which are usage errors).  Returns 1 if handled, 0 if the caller should.
 * --help and --version print and exit 0; bad values exit 2. argv is used
 * to name an unknown long option. */
int st_cli_common(st_cli *c, int opt, const char *arg, char *const argv[]);

/* "prog: message\nTry 'prog --help' for more information." and exit 2.
 * fmt may be NULL (only the hint is printed). */
_Noreturn void st_cli_usage_error(const st_cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "prog: message" to stderr if verbosity >= level (1: warnings and
 * notes, shown unless -q; 2: details, shown with -v). */
void st_cli_log(const st_cli *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Iteration logs and progress: stderr is a terminal (and not -q), or -v. */
int st_cli_progress(const st_cli *c);

/* Output format after defaults: --format if given; else binary when -o names
 * a .stb file; else CSV. */
int st_cli_output_format(const st_cli *c);

/* The option (without "--") and default column name of a role. */
const char *st_role_option(st_role role);
const char *st_role_default(st_role role);
/* The column name for a role: the option's value if given, else the
 * default. */
const char *st_cli_role_name(const st_cli *c, st_role role);
/* The index in names[0..ncols) of the role's column into *col: -1 when the
 * role was not named on the command line, the default column is absent and
 * required is 0.  A column named by the option that is absent, or a
 * required one, is an ST_EDATA error naming the option and the input's
 * columns (file names the input).  Returns 0 or the error. */
int st_cli_role_col(const st_cli *c, st_role role, char *const *names, size_t ncols, int required, const char *file,
                    int *col, st_err *e);
/* Roles by rename (core/stream.h st_rename): a role option makes every
 * reader the program opens afterwards read the named column under the
 * role's fixed name (--seq-col PTNUM: column PTNUM is read as seq), so
 * that the program and its family library find it as they always did.
 * Programs that look roles up by the user's name (st_cli_role_col:
 * stoch-cat, ssm-forecast) open their readers with opts.keep_names.
 * --no-header likewise applies to every CSV reader opened afterwards.
 *
 * A program whose column for a role has another fixed name says so before
 * parsing the options (pf-resample's groups are 'step', its items
 * 'particle'):  st_cli_role_reads_as(&cli, ST_ROLE_SEQ, "step"); */
void st_cli_role_reads_as(st_cli *c, st_role role, const char *name);

/* Value columns picked by default (no -c): the columns of names[0..ncols)
 * not in skip[0..nskip) (the role columns and others the program reads;
 * negative entries are ignored) whose kind is in want (ST_KIND_* bits: a
 * column's kind is numbers, text or times, from dtypes; NULL: all
 * numbers).  When those candidates are of more than one kind, it says on
 * stderr which it used and which it left out (unless -q), so that a text
 * or date column is never dropped, nor used, without a word.  *idx is
 * malloc'ed (*n may be 0: the caller says what is missing).  file names
 * the input in the note.  Returns 0 or ST_ENOMEM. */
enum { ST_KIND_NUMBER = 1, ST_KIND_TEXT = 2, ST_KIND_TIME = 4 };
int st_cli_value_cols(const st_cli *c, const char *file, char *const *names, const st_dtype *dtypes, size_t ncols,
                      const int *skip, size_t nskip, unsigned want, int **idx, size_t *n, st_err *e);

/* The reader options from the command line (--no-header). */
st_reader_opts st_cli_reader_opts(const st_cli *c);

/* Number of threads to use (applies -j to OpenMP as a side effect). */
int st_cli_threads(const st_cli *c);
/* OpenMP threads that spin at barriers waste whole time slices when the
 * machine has more runnable threads than cores (on a loaded 2-core machine
 * PaRIS ran 14 times slower with spinning than with sleeping waits).
 * libgomp reads the policy when it loads, so this sets OMP_WAIT_POLICY to
 * passive and restarts the program once, unless the user chose a policy.
 * Call first in main() of programs with many short parallel regions. */
void st_cli_passive_openmp(char **argv);

/* ---- number parsing for option values (whole string must parse) ---- */
int st_parse_double(const char *s, double *out);
int st_parse_long(const char *s, long *out);
int st_parse_u64(const char *s, uint64_t *out);
/* "80,95" -> {80,95}; *out malloc'ed. Returns 0 or -1 (bad list / no memory). */
int st_parse_double_list(const char *s, double **out, size_t *n);
/* "3" -> [3,3], "2..8" -> [2,8]. */
int st_parse_range(const char *s, long *lo, long *hi);

/* ---- output: stdout, or a file written atomically ----
 * A named file is written to "NAME.tmp.XXXXXX" in the same directory and
 * renamed over NAME only by st_output_close on success.  The temporary is
 * removed by st_output_abort, and on SIGINT/SIGTERM/SIGHUP/SIGPIPE. */
typedef struct st_output {
    FILE *fp;      /* where to write */
    char *path;    /* final name, NULL for stdout */
    char *tmppath; /* temporary name while open */
} st_output;

/* Open the output named by path (NULL or "-" is stdout).  binary != 0
 * refuses a terminal ("use --format csv or redirect"). */
int st_output_open(st_output *o, const char *path, int binary, st_err *e);
/* Flush, check for write errors (a full disk is an error), and rename into
 * place.  For stdout: fflush and ferror are checked. */
int st_output_close(st_output *o, st_err *e);
/* Give up: close and delete the temporary file.  Safe on a closed output. */
void st_output_abort(st_output *o);

/* End of main(): if rc < 0 print the error and abort the output, else close
 * it (reporting a failed close).  Returns the exit status for main(). */
int st_cli_finish(const st_cli *c, st_output *o, int rc, const st_err *e);

#endif

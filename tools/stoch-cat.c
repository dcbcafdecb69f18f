/* stoch-cat: convert, select, concatenate and describe streams.
 * Thin driver: options -> struct, then rows flow reader -> filter ->
 * writer (or summary) in blocks; all parsing and formatting is lib/core. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream.h"

static const char USAGE[] =
    "Usage: stoch-cat [OPTION]... [FILE]...\n"
    "Convert, select, concatenate and describe stochtools streams.  Each FILE\n"
    "(none or '-' for stdin) is CSV (',' or tab, plain or gzip) or a binary\n"
    "stream (stoch-stream(5)), detected from its first bytes.  Several inputs\n"
    "must have the same columns; their rows are concatenated.\n"
    "\n"
    "Selection:\n"
    "  -c, --columns LIST   output only these columns, in this order (e.g. seq,x)\n"
    "  -s, --seq LIST       keep rows whose seq column is in LIST: values and\n"
    "                       ranges, e.g. 1,3..5 (needs a column named seq)\n"
    "  -n, --head N         stop after N output rows (N >= 0)\n"
    "Output:\n"
    "  -d, --describe       print rows, sequences and per column count, missing,\n"
    "                       min, mean, max instead of the rows\n"
    "      --format FMT     csv or bin (default: bin when -o ends in .stb, else csv)\n"
    "      --compress       zlib-compress binary chunks (binary output only)\n"
    "      --dtype COL=T    binary type of column COL: f8, f4, i8 or i4 (repeatable;\n"
    "                       default: as in a binary input, else i8 for seq, f8)\n"
    "  -o, --output FILE    write FILE (atomically) instead of stdout\n"
    "Common:\n"
    "  -q, --quiet          errors only\n"
    "  -v, --verbose        report rows read\n"
    "  -h, --help           this help\n"
    "      --version        print the version\n"
    "\n"
    "Exit status: 0 success, 1 bad data or I/O error, 2 usage error.\n"
    "Examples:\n"
    "  stoch-cat --format bin --compress data.csv > data.stb\n"
    "  stoch-cat -c t,DAX --head 5 data.stb\n"
    "  stoch-cat --describe a.csv b.csv.gz\n";

enum { OPT_DTYPE = ST_OPT_TOOL };

typedef struct range {
    long lo, hi;
} range;

typedef struct opts {
    const char *columns;
    range *seqs;
    size_t nseqs;
    long head; /* -1: all */
    int describe;
    char **dtype_specs;
    size_t ndtype;
    const char *const *inputs;
    size_t ninputs;
} opts;

#define BLOCK 4096

/* ---- option values ---- */

static void parse_seq_list(st_cli *cli, opts *o, const char *arg)
{
    char *copy = strdup(arg);
    if (!copy) {
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        exit(1);
    }
    size_t cap = 1;
    for (const char *p = arg; *p; p++)
        cap += *p == ',';
    o->seqs = realloc(o->seqs, (o->nseqs + cap) * sizeof *o->seqs);
    if (!o->seqs) {
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        exit(1);
    }
    char *save = NULL;
    size_t got = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        range *r = &o->seqs[o->nseqs + got];
        if (st_parse_range(tok, &r->lo, &r->hi) < 0)
            st_cli_usage_error(cli, "--seq: '%s' is not an integer or a range LO..HI", tok);
        got++;
    }
    free(copy);
    if (got != cap)
        st_cli_usage_error(cli, "--seq: empty item in '%s'", arg);
    o->nseqs += got;
}

static int seq_wanted(const opts *o, double s)
{
    for (size_t i = 0; i < o->nseqs; i++)
        if (s >= (double)o->seqs[i].lo && s <= (double)o->seqs[i].hi)
            return 1;
    return 0;
}

/* ---- one run ---- */

typedef struct run {
    const opts *o;
    st_cli *cli;
    const char *first_path; /* display name of the first input */
    size_t ncols_in;
    char **names_in;
    int *sel; /* output column -> input column */
    size_t nsel;
    int seqcol_in; /* input seq column for --seq, or -1 */
    st_dtype *dtypes;
    st_writer *w;
    st_describe *d;
    long long written;
    double *out; /* one block of selected rows */
} run;

static void run_free(run *R)
{
    if (R->names_in)
        for (size_t j = 0; j < R->ncols_in; j++)
            free(R->names_in[j]);
    free(R->names_in);
    free(R->sel);
    free(R->dtypes);
    free(R->out);
    st_writer_free(R->w);
    st_describe_free(R->d);
}

/* Locate a writer data error (integer column) in the input. */
static int locate(int rc, const st_reader *r, st_err *e)
{
    /* The writer's message names the output row; add the input file. */
    if (rc == ST_EDATA && !e->file[0])
        snprintf(e->file, sizeof e->file, "%s", st_reader_path(r));
    return rc;
}

/* The first input fixes the columns, the selection and the output. */
static int setup(run *R, st_reader *r, st_output *out, st_err *e)
{
    const opts *o = R->o;
    R->ncols_in = st_reader_ncols(r);
    R->names_in = calloc(R->ncols_in, sizeof *R->names_in);
    if (!R->names_in)
        return st_err_nomem(e, "names");
    for (size_t j = 0; j < R->ncols_in; j++)
        if (!(R->names_in[j] = strdup(st_reader_name(r, j))))
            return st_err_nomem(e, "names");
    R->first_path = st_reader_path(r);
    int rc;
    if (o->columns) {
        if ((rc = st_reader_select(r, o->columns, &R->sel, &R->nsel, e)) < 0)
            return rc;
    } else {
        R->nsel = R->ncols_in;
        if (!(R->sel = malloc(R->nsel * sizeof *R->sel)))
            return st_err_nomem(e, "columns");
        for (size_t j = 0; j < R->nsel; j++)
            R->sel[j] = (int)j;
    }
    R->seqcol_in = st_reader_col(r, "seq");
    if (o->nseqs && R->seqcol_in < 0)
        return st_err_set(e, ST_EDATA, st_reader_path(r), 0, 0, "--seq needs a column named seq");
    const char **names = malloc(R->nsel * sizeof *names);
    R->dtypes = malloc(R->nsel * sizeof *R->dtypes);
    R->out = malloc(BLOCK * R->nsel * sizeof *R->out);
    if (!names || !R->dtypes || !R->out) {
        free(names);
        return st_err_nomem(e, "columns");
    }
    for (size_t k = 0; k < R->nsel; k++) {
        names[k] = R->names_in[R->sel[k]];
        R->dtypes[k] = st_reader_format(r) == ST_FMT_BIN ? st_reader_dtype(r, (size_t)R->sel[k])
                       : strcmp(names[k], "seq") == 0    ? ST_I8
                                                         : ST_F8;
    }
    for (size_t i = 0; i < o->ndtype; i++) {
        char *spec = o->dtype_specs[i], *eq = strrchr(spec, '=');
        *eq = '\0';
        size_t k = 0;
        while (k < R->nsel && strcmp(names[k], spec) != 0)
            k++;
        char dt[8];
        snprintf(dt, sizeof dt, "<%s", eq + 1);
        st_dtype_parse(dt, k < R->nsel ? &R->dtypes[k] : &R->dtypes[0]);
        if (k == R->nsel) {
            rc = st_err_set(e, ST_EDATA, st_reader_path(r), 0, 0, "--dtype: no output column '%.100s'", spec);
            *eq = '=';
            free(names);
            return rc;
        }
        *eq = '=';
    }
    if (o->describe) {
        int sc = -1;
        for (size_t k = 0; k < R->nsel; k++)
            if (strcmp(names[k], "seq") == 0)
                sc = (int)k;
        rc = st_describe_new(&R->d, R->nsel, sc, e);
    } else {
        int fmt = st_cli_output_format(R->cli);
        char *meta = NULL;
        rc = ST_OK;
        if (fmt == ST_FMT_BIN)
            rc = st_meta_json(&meta, "stoch-cat", 0, 0, st_reader_path(r), st_reader_meta(r), e);
        st_writer_opts wo = {.format = fmt,
                             .codec = R->cli->compress ? ST_CODEC_ZLIB : ST_CODEC_RAW,
                             .meta_json = meta};
        if (rc == 0)
            rc = st_writer_new(&R->w, out->fp, names, R->dtypes, R->nsel, &wo, e);
        free(meta);
    }
    free(names);
    return rc;
}

/* Stream one input through the selection into the writer or summary.
 * Returns 1 when --head is satisfied (stop reading), 0 or negative. */
static int pump(run *R, st_reader *r, st_err *e)
{
    const opts *o = R->o;
    size_t nin = R->ncols_in, nsel = R->nsel;
    double *in = malloc(BLOCK * nin * sizeof *in);
    if (!in)
        return st_err_nomem(e, "rows");
    int identity = nsel == nin && !o->nseqs && !o->describe;
    for (size_t k = 0; identity && k < nsel; k++)
        identity = R->sel[k] == (int)k;
    long long seen = 0;
    int rc = ST_OK;
    while (rc == 0) {
        if (o->head >= 0 && R->written >= o->head) {
            rc = 1;
            break;
        }
        size_t want = BLOCK, n;
        if (o->head >= 0 && !o->nseqs && (long long)want > o->head - R->written)
            want = (size_t)(o->head - R->written);
        /* With --describe, rows go one by one so that errors name their line. */
        if (o->describe)
            want = 1;
        if ((rc = st_reader_read(r, in, want, &n, e)) < 0)
            break;
        if (n == 0)
            break;
        seen += (long long)n;
        if (identity) {
            rc = locate(st_writer_rows(R->w, in, n, e), r, e);
            R->written += (long long)n;
            continue;
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            const double *row = in + i * nin;
            if (o->nseqs && !seq_wanted(o, row[R->seqcol_in]))
                continue;
            if (o->head >= 0 && R->written + (long long)m >= o->head)
                break;
            double *dst = R->out + m * nsel;
            for (size_t k = 0; k < nsel; k++)
                dst[k] = row[R->sel[k]];
            m++;
        }
        if (R->d) {
            for (size_t i = 0; i < m && rc == 0; i++)
                rc = st_describe_row(R->d, R->out + i * nsel, r, e);
        } else {
            rc = locate(st_writer_rows(R->w, R->out, m, e), r, e);
        }
        R->written += (long long)m;
    }
    free(in);
    if (rc >= 0 && seen == 0 && !(o->head == 0))
        return st_err_set(e, ST_EDATA, st_reader_path(r), 0, 0, "no data rows (a header and nothing else)");
    st_cli_log(R->cli, 2, "%s: %lld rows read", st_reader_path(r), seen);
    return rc;
}

static void print_describe(run *R, FILE *fp)
{
    size_t rows, nseq, n = R->nsel;
    st_colstat *s = malloc(n * sizeof *s);
    if (!s)
        return;
    st_describe_result(R->d, s, &rows, &nseq);
    fprintf(fp, "rows %zu\nsequences %zu\n", rows, nseq);
    /* A small table; widths from the contents. */
    const char *head[6] = {"column", "count", "missing", "min", "mean", "max"};
    char(*cell)[6][ST_DOUBLE_BUFSZ + 8] = malloc(n * sizeof *cell);
    if (!cell) {
        free(s);
        return;
    }
    int width[6];
    for (int c = 0; c < 6; c++)
        width[c] = (int)strlen(head[c]);
    for (size_t j = 0; j < n; j++) {
        snprintf(cell[j][0], sizeof cell[j][0], "%.39s", R->names_in[R->sel[j]]);
        snprintf(cell[j][1], sizeof cell[j][1], "%zu", s[j].count);
        snprintf(cell[j][2], sizeof cell[j][2], "%zu", s[j].missing);
        st_format_double(cell[j][3], s[j].min);
        snprintf(cell[j][4], sizeof cell[j][4], "%.10g", s[j].mean);
        if (isnan(s[j].mean))
            strcpy(cell[j][4], "NaN");
        st_format_double(cell[j][5], s[j].max);
        for (int c = 0; c < 6; c++)
            if ((int)strlen(cell[j][c]) > width[c])
                width[c] = (int)strlen(cell[j][c]);
    }
    for (int c = 0; c < 6; c++)
        fprintf(fp, c == 0 ? "%-*s" : "  %*s", width[c], head[c]);
    fputc('\n', fp);
    for (size_t j = 0; j < n; j++) {
        for (int c = 0; c < 6; c++)
            fprintf(fp, c == 0 ? "%-*s" : "  %*s", width[c], cell[j][c]);
        fputc('\n', fp);
    }
    free(cell);
    free(s);
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "stoch-cat", USAGE);
    opts o = {.head = -1};
    static const struct option longopts[] = {ST_CLI_LONGOPTS,
                                             {"columns", required_argument, NULL, 'c'},
                                             {"seq", required_argument, NULL, 's'},
                                             {"head", required_argument, NULL, 'n'},
                                             {"describe", no_argument, NULL, 'd'},
                                             {"dtype", required_argument, NULL, OPT_DTYPE},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "c:s:n:d", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case 'c':
            if (!*optarg)
                st_cli_usage_error(&cli, "--columns needs a list of column names");
            o.columns = optarg;
            break;
        case 's':
            parse_seq_list(&cli, &o, optarg);
            break;
        case 'n':
            if (st_parse_long(optarg, &o.head) < 0 || o.head < 0)
                st_cli_usage_error(&cli, "--head must be a non-negative integer, not '%s'", optarg);
            break;
        case 'd':
            o.describe = 1;
            break;
        case OPT_DTYPE: {
            const char *eq = strrchr(optarg, '=');
            st_dtype dt;
            char buf[8];
            if (!eq || eq == optarg || strlen(eq + 1) > 2 ||
                (snprintf(buf, sizeof buf, "<%s", eq + 1), st_dtype_parse(buf, &dt) < 0))
                st_cli_usage_error(&cli, "--dtype must be COLUMN=f8|f4|i8|i4, not '%s'", optarg);
            o.dtype_specs = realloc(o.dtype_specs, (o.ndtype + 1) * sizeof *o.dtype_specs);
            if (!o.dtype_specs)
                st_cli_usage_error(&cli, "out of memory");
            o.dtype_specs[o.ndtype++] = optarg;
            break;
        }
        default:
            st_cli_usage_error(&cli, NULL);
        }
    }
    if (cli.compress && (o.describe || st_cli_output_format(&cli) != ST_FMT_BIN))
        st_cli_usage_error(&cli, "--compress applies to binary output (--format bin)");
    if (o.describe && (cli.format == ST_FMT_BIN || o.ndtype))
        st_cli_usage_error(&cli, "--describe prints a text table: --format bin and --dtype do not apply");
    o.inputs = (const char *const *)argv + optind;
    o.ninputs = (size_t)(argc - optind);
    int nin = o.ninputs ? (int)o.ninputs : 1;

    st_err e;
    st_err_clear(&e);
    st_output out;
    run R = {.o = &o, .cli = &cli};
    int rc = st_output_open(&out, cli.output, !o.describe && st_cli_output_format(&cli) == ST_FMT_BIN, &e);
    for (int i = 0; i < nin && rc == 0; i++) {
        st_reader *r;
        rc = st_reader_open(&r, o.ninputs ? o.inputs[i] : NULL, &e);
        if (rc < 0)
            break;
        rc = i == 0 ? setup(&R, r, &out, &e) : st_reader_same_columns(r, R.names_in, R.ncols_in, R.first_path, &e);
        if (rc == 0)
            rc = pump(&R, r, &e);
        if (i == 0 && rc >= 0) {
            /* keep the first name alive past its reader for messages */
            static char first[256];
            snprintf(first, sizeof first, "%s", st_reader_path(r));
            R.first_path = first;
        }
        st_reader_free(r);
        if (rc == 1) { /* --head satisfied: the remaining inputs are not read */
            rc = 0;
            break;
        }
    }
    if (rc == 0 && R.d)
        print_describe(&R, out.fp);
    if (rc == 0 && R.w) {
        rc = st_writer_close(R.w, &e);
        R.w = NULL;
    }
    if (rc == ST_EIO && !e.file[0])
        snprintf(e.file, sizeof e.file, "%s", cli.output ? cli.output : "<stdout>");
    run_free(&R);
    free(o.seqs);
    free(o.dtype_specs);
    return st_cli_finish(&cli, &out, rc, &e);
}

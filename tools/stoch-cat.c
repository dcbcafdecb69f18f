/* stoch-cat: convert, select, concatenate and describe streams.
 * Thin driver: options -> struct, then rows flow reader -> filter ->
 * writer (or summary) in blocks; all parsing and formatting is lib/core. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/cli.h"
#include "core/stream.h"

static const char USAGE[] =
    "Usage: stoch-cat [OPTION]... [FILE]...\n"
    "Convert, select, concatenate and describe stochtools streams.  Each FILE\n"
    "(none or '-' for stdin) is CSV (',' or tab, plain or gzip) or a binary\n"
    "stream (stoch-stream(5)), detected from its first bytes.  Columns hold\n"
    "numbers, strings or times (dates, months, timestamps), all passed through\n"
    "exactly.  Several inputs must have the same columns; their rows are\n"
    "concatenated.\n"
    "\n"
    "Selection:\n"
    "  -c, --columns LIST   output only these columns, in this order (e.g. seq,x)\n"
    "  -s, --seq LIST       keep rows whose seq id is in LIST: ids, and integer\n"
    "                       ranges, e.g. 1,3..5 or p01,p07\n"
    "      --seq-col NAME   the seq column for --seq and --describe (default seq)\n"
    "      --time-col NAME, --state-col NAME, --id-col NAME, --obstype-col NAME,\n"
    "      --label-col NAME the columns other programs are told to read for\n"
    "                       these roles: each must be in every input (a check)\n"
    "  -n, --head N         stop after N output rows (N >= 0)\n"
    "Input:\n"
    "      --no-header      CSV input has no header line: columns c1, c2, ...\n"
    "Output:\n"
    "  -d, --describe       print rows, sequences and per column its type, count,\n"
    "                       missing, distinct (strings) and min, mean, max\n"
    "                       (numbers, times) instead of the rows\n"
    "      --format FMT     csv or bin (default: bin when -o ends in .stb, else csv)\n"
    "      --compress       zlib-compress binary chunks (binary output only)\n"
    "      --dtype COL=T    type of column COL: f8, f4, i8, i4 (binary numbers),\n"
    "                       str (read and write COL as text, whatever it looks\n"
    "                       like), date, month, datetime (repeatable; default: as\n"
    "                       in a binary input, else as read, i8 for seq numbers)\n"
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
    "  stoch-cat --describe a.csv b.csv.gz\n"
    "  stoch-cat --seq-col PTNUM --seq 100063,100079 cav.csv\n";

enum { OPT_DTYPE = ST_OPT_TOOL };

/* One --seq item: its text, and the integer range it stands for (if any). */
typedef struct seqitem {
    const char *text;
    int is_range;
    long lo, hi;
} seqitem;

typedef struct dtspec {
    char *col;
    st_dtype dt;
} dtspec;

typedef struct opts {
    const char *columns;
    seqitem *seqs;
    size_t nseqs;
    long head; /* -1: all */
    int describe;
    dtspec *dtypes;
    size_t ndtype;
    char *str_cols; /* --dtype COL=str: read as strings */
    const char *const *inputs;
    size_t ninputs;
} opts;

#define BLOCK 4096
#define RESTART 2 /* pump(): --describe must read again with the promoted columns as ids */

/* ---- option values ---- */

static void *xrealloc(const st_cli *cli, void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "%s: out of memory\n", cli->prog);
        exit(1);
    }
    return q;
}

static void parse_seq_list(st_cli *cli, opts *o, char *arg)
{
    size_t cap = 1;
    for (const char *p = arg; *p; p++)
        cap += *p == ',';
    o->seqs = xrealloc(cli, o->seqs, (o->nseqs + cap) * sizeof *o->seqs);
    for (char *p = arg;;) {
        char *q = strchr(p, ',');
        if (q)
            *q = '\0';
        if (!*p)
            st_cli_usage_error(cli, "--seq: empty item in the list");
        seqitem *it = &o->seqs[o->nseqs++];
        it->text = p;
        it->is_range = st_parse_range(p, &it->lo, &it->hi) == 0;
        if (!q)
            break;
        p = q + 1;
    }
}

static void parse_dtype(st_cli *cli, opts *o, const char *arg)
{
    const char *eq = strrchr(arg, '=');
    st_dtype dt;
    if (!eq || eq == arg || st_dtype_parse_short(eq + 1, &dt) < 0)
        st_cli_usage_error(cli, "--dtype must be COLUMN=f8|f4|i8|i4|str|date|month|datetime, not '%s'", arg);
    o->dtypes = xrealloc(cli, o->dtypes, (o->ndtype + 1) * sizeof *o->dtypes);
    dtspec *d = &o->dtypes[o->ndtype++];
    d->col = xrealloc(cli, NULL, (size_t)(eq - arg) + 1);
    memcpy(d->col, arg, (size_t)(eq - arg));
    d->col[eq - arg] = '\0';
    d->dt = dt;
    if (dt == ST_STR) {
        size_t have = o->str_cols ? strlen(o->str_cols) : 0, add = strlen(d->col);
        o->str_cols = xrealloc(cli, o->str_cols, have + add + 2);
        if (have)
            o->str_cols[have++] = ',';
        memcpy(o->str_cols + have, d->col, add + 1);
    }
}

/* ---- one run ---- */

typedef struct run {
    const opts *o;
    st_cli *cli;
    st_reader_opts ropts;
    const char *first_path; /* display name of the first input */
    char first_buf[256];
    size_t ncols_in;
    char **names_in;
    int *sel; /* output column -> input column */
    size_t nsel;
    int seqcol_in; /* input seq column for --seq and --describe, or -1 */
    st_dtype *dtypes; /* output column types */
    st_dtype *seen;   /* the current reader's input types, as last carried */
    unsigned retypes; /* the current reader's promotions, as last seen */
    int numeric_seq;  /* the first input's seq column holds numbers */
    unsigned char *want; /* --seq, string seq: per code 0 unknown, 1 no, 2 yes */
    size_t nwant;
    st_writer *w;
    st_describe *d;
    long long written;
    double *out; /* one block of selected rows */
    char *promoted; /* --describe: columns promoted so far (comma-separated) */
} run;

static void run_free(run *R)
{
    if (R->names_in)
        for (size_t j = 0; j < R->ncols_in; j++)
            free(R->names_in[j]);
    free(R->names_in);
    free(R->sel);
    free(R->dtypes);
    free(R->seen);
    free(R->want);
    free(R->out);
    st_writer_free(R->w);
    st_describe_free(R->d);
    R->names_in = NULL;
    R->sel = NULL;
    R->dtypes = R->seen = NULL;
    R->want = NULL;
    R->out = NULL;
    R->w = NULL;
    R->d = NULL;
    R->nwant = 0;
    R->written = 0;
}

/* Locate a writer data error (a value its column cannot hold) in the input. */
static int locate(int rc, const st_reader *r, const run *R, st_err *e)
{
    /* The writer's message names the output row; add the input file and,
     * for text in a numeric binary column, the fix. */
    if (rc == ST_EDATA && !e->file[0]) {
        snprintf(e->file, sizeof e->file, "%s", st_reader_path(r));
        if (strstr(e->msg, "write it as str")) { /* name the column in the fix */
            const char *q = strchr(e->msg, '\'');
            const char *q2 = q ? strchr(q + 1, '\'') : NULL;
            size_t k = strlen(e->msg);
            if (q && q2)
                snprintf(e->msg + k, sizeof e->msg - k, ": --dtype %.*s=str", (int)(q2 - q - 1), q + 1);
        }
    }
    (void)R;
    return rc;
}

/* Whether a seq id (a cell of the current reader's seq column) is in --seq. */
static int item_match(const opts *o, const char *text, int is_int, long v)
{
    for (size_t i = 0; i < o->nseqs; i++) {
        if (o->seqs[i].is_range && is_int && v >= o->seqs[i].lo && v <= o->seqs[i].hi)
            return 1;
        if (strcmp(o->seqs[i].text, text) == 0)
            return 1;
    }
    return 0;
}

static int seq_wanted(run *R, const st_reader *r, double s, st_err *e)
{
    const opts *o = R->o;
    st_dtype dt = st_reader_dtype(r, (size_t)R->seqcol_in);
    if (isnan(s))
        return 0;
    if (dt != ST_STR) {
        if (st_dtype_is_numeric(dt) && s == floor(s) && fabs(s) < 9e18) {
            long v = (long)s;
            for (size_t i = 0; i < o->nseqs; i++)
                if (o->seqs[i].is_range && v >= o->seqs[i].lo && v <= o->seqs[i].hi)
                    return 1;
        }
        char buf[ST_CELL_BUFSZ];
        return item_match(o, st_reader_cell(r, (size_t)R->seqcol_in, s, buf), 0, 0);
    }
    size_t k = (size_t)s;
    if (k >= R->nwant) {
        size_t nn = st_strdict_size(st_reader_dict(r, (size_t)R->seqcol_in));
        nn = nn > 2 * R->nwant ? nn : 2 * R->nwant;
        unsigned char *p = realloc(R->want, nn);
        if (!p)
            return st_err_nomem(e, "seq ids");
        memset(p + R->nwant, 0, nn - R->nwant);
        R->want = p;
        R->nwant = nn;
    }
    if (!R->want[k]) {
        const char *t = st_reader_str(r, (size_t)R->seqcol_in, s);
        long v = 0;
        int is_int = t && st_parse_long(t, &v) == 0;
        R->want[k] = t && item_match(o, t, is_int, v) ? 2 : 1;
    }
    return R->want[k] == 2;
}

/* Point the writer (or summary) at reader r's columns: their types and
 * dictionaries.  A CSV column that became text is written as text; for
 * --describe a column whose type differs from the first input's is a
 * restart (or an error). */
static int carry(run *R, st_reader *r, st_err *e)
{
    for (size_t k = 0; k < R->nsel; k++)
        R->seen[k] = st_reader_dtype(r, (size_t)R->sel[k]);
    R->retypes = st_reader_retypes(r);
    free(R->want);
    R->want = NULL;
    R->nwant = 0;
    if (R->d) {
        const st_strdict **dicts = malloc(R->nsel * sizeof *dicts);
        if (!dicts)
            return st_err_nomem(e, "columns");
        int restart = 0;
        for (size_t k = 0; k < R->nsel; k++) {
            dicts[k] = st_reader_dict(r, (size_t)R->sel[k]);
            if (R->seen[k] != R->dtypes[k] &&
                !(st_dtype_is_numeric(R->seen[k]) && st_dtype_is_numeric(R->dtypes[k]))) {
                restart = 1;
                const char *name = R->names_in[R->sel[k]];
                size_t have = R->promoted ? strlen(R->promoted) : 0;
                char *p = realloc(R->promoted, have + strlen(name) + 2);
                if (!p) {
                    free(dicts);
                    return st_err_nomem(e, "columns");
                }
                R->promoted = p;
                if (have)
                    p[have++] = ',';
                strcpy(p + have, name);
            }
        }
        st_describe_dicts(R->d, dicts);
        free(dicts);
        return restart ? RESTART : ST_OK;
    }
    for (size_t k = 0; k < R->nsel; k++) {
        int rc = st_writer_carry_reader(R->w, k, r, (size_t)R->sel[k], e);
        if (rc < 0)
            return rc;
    }
    return ST_OK;
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
    snprintf(R->first_buf, sizeof R->first_buf, "%s", st_reader_path(r));
    R->first_path = R->first_buf;
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
    if ((rc = st_cli_role_col(R->cli, ST_ROLE_SEQ, st_reader_names(r), R->ncols_in, o->nseqs > 0, st_reader_path(r),
                              &R->seqcol_in, e)) < 0) {
        if (o->nseqs && !R->cli->role[ST_ROLE_SEQ])
            return st_err_set(e, ST_EDATA, st_reader_path(r), 0, 0, "--seq needs a column named %s (or --seq-col)",
                              st_cli_role_name(R->cli, ST_ROLE_SEQ));
        return rc;
    }
    for (int k = 0; k < ST_ROLE_N; k++) { /* the other roles: named columns must be there */
        int col;
        if (k != ST_ROLE_SEQ && R->cli->role[k] &&
            (rc = st_cli_role_col(R->cli, (st_role)k, st_reader_names(r), R->ncols_in, 1, st_reader_path(r), &col,
                                  e)) < 0)
            return rc;
    }
    if (R->seqcol_in >= 0) {
        st_dtype sdt = st_reader_dtype(r, (size_t)R->seqcol_in);
        R->numeric_seq = st_dtype_is_numeric(sdt);
        for (size_t i = 0; i < o->nseqs && R->numeric_seq; i++)
            if (!o->seqs[i].is_range)
                return st_err_set(e, ST_EUSAGE, st_reader_path(r), 0, 0,
                                  "--seq: '%.60s' is not an integer or a range LO..HI (column %.100s holds numbers)",
                                  o->seqs[i].text, R->names_in[R->seqcol_in]);
    }
    const char **names = malloc(R->nsel * sizeof *names);
    R->dtypes = malloc(R->nsel * sizeof *R->dtypes);
    R->seen = malloc(R->nsel * sizeof *R->seen);
    R->out = malloc(BLOCK * R->nsel * sizeof *R->out);
    if (!names || !R->dtypes || !R->seen || !R->out) {
        free(names);
        return st_err_nomem(e, "columns");
    }
    for (size_t k = 0; k < R->nsel; k++) {
        size_t j = (size_t)R->sel[k];
        names[k] = R->names_in[j];
        st_dtype in = st_reader_dtype(r, j);
        R->dtypes[k] = st_reader_format(r) == ST_FMT_BIN ? in : st_carry_dtype(in, (int)j == R->seqcol_in ? ST_I8 : ST_F8);
    }
    for (size_t i = 0; i < o->ndtype; i++) {
        size_t k = 0;
        while (k < R->nsel && strcmp(names[k], o->dtypes[i].col) != 0)
            k++;
        if (k == R->nsel) {
            rc = st_err_set(e, ST_EDATA, st_reader_path(r), 0, 0, "--dtype: no output column '%.100s'", o->dtypes[i].col);
            free(names);
            return rc;
        }
        R->dtypes[k] = o->dtypes[i].dt;
    }
    if (o->describe) {
        int sc = -1;
        for (size_t k = 0; k < R->nsel; k++)
            if (R->sel[k] == R->seqcol_in)
                sc = (int)k;
        rc = st_describe_new(&R->d, R->nsel, R->dtypes, sc, e);
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
 * Returns 1 when --head is satisfied (stop reading), RESTART, 0 or
 * negative. */
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
    int rc = carry(R, r, e);
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
        /* a promotion: the rows of this call hold codes in the column */
        if (st_reader_retypes(r) != R->retypes && (rc = carry(R, r, e)) != 0)
            break;
        if (n == 0)
            break;
        seen += (long long)n;
        if (identity) {
            rc = locate(st_writer_rows(R->w, in, n, e), r, R, e);
            R->written += (long long)n;
            continue;
        }
        size_t m = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            const double *row = in + i * nin;
            if (o->nseqs) {
                int k = seq_wanted(R, r, row[R->seqcol_in], e);
                if (k < 0) {
                    rc = k;
                    break;
                }
                if (!k)
                    continue;
            }
            if (o->head >= 0 && R->written + (long long)m >= o->head)
                break;
            double *dst = R->out + m * nsel;
            for (size_t k = 0; k < nsel; k++)
                dst[k] = row[R->sel[k]];
            m++;
        }
        if (rc < 0)
            break;
        if (R->d) {
            for (size_t i = 0; i < m && rc == 0; i++)
                rc = st_describe_row(R->d, R->out + i * nsel, r, e);
        } else {
            rc = locate(st_writer_rows(R->w, R->out, m, e), r, R, e);
        }
        R->written += (long long)m;
    }
    free(in);
    if (rc >= 0 && rc != RESTART && seen == 0 && !(o->head == 0))
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
    enum { NC = 8 };
    const char *head[NC] = {"column", "type", "count", "missing", "distinct", "min", "mean", "max"};
    char(*cell)[NC][ST_CELL_BUFSZ + 8] = malloc(n * sizeof *cell);
    if (!cell) {
        free(s);
        return;
    }
    int width[NC];
    for (int c = 0; c < NC; c++)
        width[c] = (int)strlen(head[c]);
    for (size_t j = 0; j < n; j++) {
        st_dtype dt = R->dtypes[j];
        snprintf(cell[j][0], sizeof cell[j][0], "%.39s", R->names_in[R->sel[j]]);
        snprintf(cell[j][1], sizeof cell[j][1], "%s", st_dtype_short(dt));
        snprintf(cell[j][2], sizeof cell[j][2], "%zu", s[j].count);
        snprintf(cell[j][3], sizeof cell[j][3], "%zu", s[j].missing);
        if (dt == ST_STR) {
            snprintf(cell[j][4], sizeof cell[j][4], "%zu", s[j].distinct);
            for (int c = 5; c < NC; c++)
                strcpy(cell[j][c], "-");
        } else if (st_dtype_is_time(dt)) {
            strcpy(cell[j][4], "-");
            double v[3] = {s[j].min, round(s[j].mean), s[j].max};
            if (dt == ST_MONTH && !isnan(v[1])) { /* the month the mean day falls in */
                int64_t y;
                unsigned m, d;
                st_civil_from_days((int64_t)v[1], &y, &m, &d);
                v[1] = (double)st_days_from_civil(y, m, 1);
            }
            for (int c = 0; c < 3; c++)
                if (isnan(v[c]) || st_time_format(cell[j][5 + c], dt, v[c]) < 0)
                    strcpy(cell[j][5 + c], "-");
        } else {
            strcpy(cell[j][4], "-");
            st_format_double(cell[j][5], s[j].min);
            snprintf(cell[j][6], sizeof cell[j][6], "%.10g", s[j].mean);
            if (isnan(s[j].mean))
                strcpy(cell[j][6], "NaN");
            st_format_double(cell[j][7], s[j].max);
        }
        for (int c = 0; c < NC; c++)
            if ((int)strlen(cell[j][c]) > width[c])
                width[c] = (int)strlen(cell[j][c]);
    }
    for (int c = 0; c < NC; c++)
        fprintf(fp, c == 0 ? "%-*s" : c == 1 ? "  %-*s" : "  %*s", width[c], head[c]);
    fputc('\n', fp);
    for (size_t j = 0; j < n; j++) {
        for (int c = 0; c < NC; c++)
            fprintf(fp, c == 0 ? "%-*s" : c == 1 ? "  %-*s" : "  %*s", width[c], cell[j][c]);
        fputc('\n', fp);
    }
    free(cell);
    free(s);
}

/* Whether every input can be read a second time (regular files). */
static int rereadable(const opts *o)
{
    if (o->ninputs == 0)
        return 0;
    for (size_t i = 0; i < o->ninputs; i++) {
        struct stat st;
        if (strcmp(o->inputs[i], "-") == 0 || stat(o->inputs[i], &st) != 0 || !S_ISREG(st.st_mode))
            return 0;
    }
    return 1;
}

/* Read every input once into the writer or summary. */
static int pass(run *R, st_output *out, st_err *e)
{
    const opts *o = R->o;
    int nin = o->ninputs ? (int)o->ninputs : 1, rc = ST_OK;
    for (int i = 0; i < nin && rc == 0; i++) {
        st_reader *r;
        rc = st_reader_open_opts(&r, o->ninputs ? o->inputs[i] : NULL, &R->ropts, e);
        if (rc < 0)
            break;
        rc = i == 0 ? setup(R, r, out, e) : st_reader_same_columns(r, R->names_in, R->ncols_in, R->first_path, e);
        if (rc == 0)
            rc = pump(R, r, e);
        st_reader_free(r);
        if (rc == 1) /* --head satisfied: the remaining inputs are not read */
            return 0;
    }
    return rc;
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "stoch-cat", USAGE);
    opts o = {.head = -1};
    static const struct option longopts[] = {ST_CLI_LONGOPTS,
                                             ST_CLI_OPT_SEQ_COL,
                                             ST_CLI_OPT_TIME_COL,
                                             ST_CLI_OPT_STATE_COL,
                                             ST_CLI_OPT_ID_COL,
                                             ST_CLI_OPT_OBSTYPE_COL,
                                             ST_CLI_OPT_LABEL_COL,
                                             ST_CLI_OPT_NO_HEADER,
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
        case OPT_DTYPE:
            parse_dtype(&cli, &o, optarg);
            break;
        default:
            st_cli_usage_error(&cli, NULL);
        }
    }
    if (cli.compress && (o.describe || st_cli_output_format(&cli) != ST_FMT_BIN))
        st_cli_usage_error(&cli, "--compress applies to binary output (--format bin)");
    for (size_t i = 0; o.describe && i < o.ndtype; i++)
        if (o.dtypes[i].dt != ST_STR)
            st_cli_usage_error(&cli, "--describe prints a text table: --dtype applies with str only");
    if (o.describe && cli.format == ST_FMT_BIN)
        st_cli_usage_error(&cli, "--describe prints a text table: --format bin does not apply");
    o.inputs = (const char *const *)argv + optind;
    o.ninputs = (size_t)(argc - optind);

    st_err e;
    st_err_clear(&e);
    st_output out;
    run R = {.o = &o, .cli = &cli};
    R.ropts = st_cli_reader_opts(&cli);
    R.ropts.any_type = 1;
    R.ropts.promote = 1;
    R.ropts.keep_names = 1; /* a copy keeps the names; role columns are looked up */
    R.ropts.str_cols = o.str_cols;
    int rc = st_output_open(&out, cli.output, !o.describe && st_cli_output_format(&cli) == ST_FMT_BIN, &e);
    if (rc == 0)
        rc = pass(&R, &out, &e);
    /* --describe met a column of numbers that turned into ids (text, or
     * 64-bit integers): read again with the columns as ids from the first
     * row (each time at least one more column, so at most once per column) */
    for (size_t again = 0; rc == RESTART; again++) {
        char *cols = R.promoted ? strdup(R.promoted) : NULL;
        if (!rereadable(&o)) {
            rc = st_err_set(&e, ST_EDATA, o.ninputs ? NULL : "<stdin>", 0, 0,
                            "--describe: column(s) %.200s hold ids (text or 64-bit integers) after numbers; "
                            "describing them needs a second reading, which %s: use --dtype COL=str",
                            cols ? cols : "?", o.ninputs ? "a pipe cannot give" : "standard input cannot give");
        } else if (again > R.ncols_in) {
            rc = st_err_set(&e, ST_EDATA, R.first_path, 0, 0,
                            "--describe: the inputs' columns %.200s are of different kinds", cols ? cols : "?");
        } else {
            run_free(&R);
            R.ropts.id_cols = cols;
            rc = pass(&R, &out, &e);
        }
        R.ropts.id_cols = NULL;
        free(cols);
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
    free(R.promoted);
    free(o.seqs);
    for (size_t i = 0; i < o.ndtype; i++)
        free(o.dtypes[i].col);
    free(o.dtypes);
    free(o.str_cols);
    return st_cli_finish(&cli, &out, rc, &e);
}

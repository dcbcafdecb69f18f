/* ssm-forecast: fit state-space models to one or many series and forecast
 * them, streaming series in and results out (see ssm-forecast(1)). */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/mpi.h"
#include "core/stream.h"
#include "ssm/forecast.h"
#include "ssm/model_io.h"

#define PROG "ssm-forecast"

static const char USAGE[] =
    "Usage: " PROG " --model SPEC [-H HORIZON] [--level 80,95] [options] [DATA...]\n"
    "Fit a linear Gaussian state-space model to each series (rows grouped by the\n"
    "column 'seq') by exact-diffuse maximum likelihood and forecast it.\n"
    "Output columns: seq,t,mean,sd,lo80,hi80,lo95,hi95 (one row per step).\n"
    "\n"
    "Model:\n"
    "      --model SPEC      structural components joined by '+': level, trend,\n"
    "                        smooth-trend, damped-trend, seasonal:S, trig:S:K,\n"
    "                        cycle, ar:P, reg, irregular (always included);\n"
    "                        'auto' (best AICc of level/trend/damped-trend, each\n"
    "                        also +seasonal:S with --period S); 's4d:N' (S4D\n"
    "                        feature forecaster, N = 1..256); or FILE.yaml\n"
    "      --fixed           with --model FILE.yaml: use its parameters, no refit\n"
    "      --period S        seasonal period for auto and MASE (default 1: none)\n"
    "      --log             model log(y); forecasts are back-transformed\n"
    "      --starts N        optimiser runs per fit from the best screened starting\n"
    "                        points (1..5, default 2)\n"
    "      --se              standard errors (shown with -v, saved with -m)\n"
    "Input:\n"
    "  -c, --column NAME     value column (default y); a list y1,y2 for a\n"
    "                        multivariate matrix model\n"
    "  -t, --time NAME       time column (default t; optional in the data)\n"
    "  -x, --regressors A,B  exogenous columns for the 'reg' component\n"
    "      --future FILE     future regressor values (seq and the -x columns,\n"
    "                        at least HORIZON rows per series)\n"
    "Output:\n"
    "  -H, --horizon N       forecast steps (default 12, at least 1)\n"
    "      --level LIST      interval levels in percent (default 80,95)\n"
    "      --smooth          smoothed components instead of forecasts\n"
    "      --filter          filtered states and one-step prediction errors\n"
    "      --holdout H       fit all but the last H points, forecast them and\n"
    "                        report MASE, sMAPE and interval coverage\n"
    "  -m, --save-model FILE write the fitted model (one series only)\n"
    "      --strict          a series that cannot be fitted is fatal (default:\n"
    "                        report it by seq, skip it, go on)\n"
    "      --output-per-rank under MPI with several ranks: each rank writes its\n"
    "                        own series to -o NAME.rankN.EXT (needs -o FILE)\n"
    "Common:\n"
    "  -o, --output FILE     write here (atomically) instead of stdout\n"
    "      --format csv|bin  output format (default csv, bin for *.stb)\n"
    "      --compress        zlib-compress binary chunks\n"
    "  -j, --threads N       threads over series (default: all cores)\n"
    "  -q, --quiet           errors only      -v, --verbose  per-series details\n"
    "      --seed N          accepted for uniformity (nothing is random)\n"
    "  -h, --help            this help        --version      version\n"
    "\n"
    "Exit status: 0 success (some series may have been skipped with a message),\n"
    "1 data or model error (or every series failed), 2 usage error.\n";

enum {
    OPT_MODEL = ST_OPT_TOOL, OPT_FIXED, OPT_PERIOD, OPT_LOG, OPT_STARTS, OPT_SE, OPT_FUTURE,
    OPT_LEVEL, OPT_SMOOTH, OPT_FILTER, OPT_HOLDOUT, OPT_STRICT, OPT_PER_RANK
};

typedef struct opts {
    const char *model, *column, *time, *regressors, *future, *save;
    int fixed, period, log, starts, se, smooth, filter, strict, per_rank;
    long horizon, holdout;
    int have_holdout, time_given;
    double *levels;
    size_t nlevels;
} opts;

/* A series held for a batch. */
typedef struct job {
    double seq;
    size_t n;
    double *y, *x, *t, *xf;
    st_ssmf_result res;
    st_err err;
    int rc;
    char status[64]; /* optimiser status of a result computed on another rank */
} job;

typedef struct future_index {
    st_table *tab;
    st_group *groups;
    size_t ngroups;
    int *xcol;
} future_index;

static int cmp_group(const void *a, const void *b)
{
    double x = ((const st_group *)a)->seq, y = ((const st_group *)b)->seq;
    return (x > y) - (x < y);
}

static void run_job(const st_ssmf_opts *so, job *j)
{
    st_err_clear(&j->err);
    /* time must increase strictly */
    if (j->t)
        for (size_t i = 0; i < j->n; i++) {
            if (!isfinite(j->t[i])) {
                j->rc = st_err_set(&j->err, ST_EDATA, NULL, 0, 0, "time is missing at row %zu of the series", i + 1);
                return;
            }
            if (i > 0 && !(j->t[i] > j->t[i - 1])) {
                j->rc = st_err_set(&j->err, ST_EDATA, NULL, 0, 0, "time is not increasing at row %zu of the series (t = %g after %g)", i + 1, j->t[i], j->t[i - 1]);
                return;
            }
        }
    j->rc = st_ssmf_series(so, j->y, j->n, j->x, j->xf, &j->res, &j->err);
}

static void free_job(job *j)
{
    free(j->y);
    free(j->x);
    free(j->t);
    free(j->xf);
    st_ssmf_result_free(&j->res);
    memset(j, 0, sizeof *j);
}

static int parse_int_opt(const char *arg, long lo, long hi, long *out)
{
    return st_parse_long(arg, out) == 0 && *out >= lo && *out <= hi ? 0 : -1;
}

/* Under MPI (several ranks): each rank ran the jobs of its share of the
 * batch; give every rank every job's outcome (status, error, result) in
 * batch order, so that all ranks go on identically and rank 0 writes the
 * rows in input order.  The result structure holds no pointers but its
 * rows and the optimiser status, which are copied; all ranks run the same
 * binary. */
typedef struct packed_job {
    int rc, has_status;
    st_err err;
    st_ssmf_result res;
    char status[64];
} packed_job;

static int share_jobs(job *jobs, size_t nb, size_t lo, size_t hi, int rows, st_err *e)
{
    const size_t hdr = (sizeof(packed_job) + sizeof(double) - 1) / sizeof(double);
    size_t n = 0;
    for (size_t i = lo; i < hi; i++)
        n += hdr + (rows && jobs[i].res.rows ? jobs[i].res.nrows * jobs[i].res.ncols : 0);
    double *buf = calloc(n ? n : 1, sizeof *buf), *all = NULL, *q = buf;
    if (!buf)
        return st_err_nomem(e, "MPI exchange");
    for (size_t i = lo; i < hi; i++) {
        packed_job pj;
        memset(&pj, 0, sizeof pj);
        pj.rc = jobs[i].rc;
        pj.err = jobs[i].err;
        pj.res = jobs[i].res;
        if (!rows || !pj.res.rows)
            pj.res.nrows = 0;
        pj.has_status = jobs[i].res.fit.status != NULL;
        if (pj.has_status)
            snprintf(pj.status, sizeof pj.status, "%s", jobs[i].res.fit.status);
        memcpy(q, &pj, sizeof pj);
        q += hdr;
        size_t nv = pj.res.nrows * pj.res.ncols;
        if (nv)
            memcpy(q, jobs[i].res.rows, nv * sizeof *q);
        q += nv;
    }
    size_t total;
    int rc = st_mpi_allgather(buf, n, &all, &total, e);
    free(buf);
    if (rc < 0)
        return rc;
    q = all;
    for (size_t i = 0; i < nb && rc == 0; i++) {
        packed_job pj;
        memcpy(&pj, q, sizeof pj);
        q += hdr;
        size_t nv = pj.res.nrows * pj.res.ncols;
        if (i < lo || i >= hi) {
            job *j = &jobs[i];
            j->rc = pj.rc;
            j->err = pj.err;
            j->res = pj.res;
            j->res.rows = NULL;
            j->res.fit.status = NULL;
            if (pj.has_status) {
                memcpy(j->status, pj.status, sizeof j->status);
                j->res.fit.status = j->status;
            }
            if (nv) {
                if (!(j->res.rows = malloc(nv * sizeof *j->res.rows)))
                    rc = st_err_nomem(e, "MPI exchange");
                else
                    memcpy(j->res.rows, q, nv * sizeof *q);
            }
        }
        q += nv;
    }
    free(all);
    return rc;
}

/* NAME.EXT -> NAME.rankN.EXT (the last extension of the last path part;
 * NAME without one -> NAME.rankN) */
static int rank_file_name(char *buf, size_t size, const char *name, int rank)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        dot = base + strlen(base);
    int n = snprintf(buf, size, "%.*s.rank%d%s", (int)(dot - name), name, rank, dot);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, PROG, USAGE);
    opts op = {0};
    op.column = "y";
    op.time = "t";
    op.horizon = 12;
    op.starts = 2;
    op.period = 1;
    const char *level_arg = "80,95", *horizon_arg = NULL, *holdout_arg = NULL;
    static const struct option longopts[] = {
        ST_CLI_LONGOPTS,
        {"model", required_argument, NULL, OPT_MODEL},
        {"fixed", no_argument, NULL, OPT_FIXED},
        {"period", required_argument, NULL, OPT_PERIOD},
        {"log", no_argument, NULL, OPT_LOG},
        {"starts", required_argument, NULL, OPT_STARTS},
        {"se", no_argument, NULL, OPT_SE},
        {"column", required_argument, NULL, 'c'},
        {"time", required_argument, NULL, 't'},
        {"regressors", required_argument, NULL, 'x'},
        {"future", required_argument, NULL, OPT_FUTURE},
        {"horizon", required_argument, NULL, 'H'},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"smooth", no_argument, NULL, OPT_SMOOTH},
        {"filter", no_argument, NULL, OPT_FILTER},
        {"holdout", required_argument, NULL, OPT_HOLDOUT},
        {"save-model", required_argument, NULL, 'm'},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"output-per-rank", no_argument, NULL, OPT_PER_RANK},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "c:t:x:H:m:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        long v;
        switch (c) {
        case OPT_MODEL: op.model = optarg; break;
        case OPT_FIXED: op.fixed = 1; break;
        case OPT_PERIOD:
            if (parse_int_opt(optarg, 1, 1000, &v) < 0)
                st_cli_usage_error(&cli, "--period must be an integer from 1 to 1000, not '%s'", optarg);
            op.period = (int)v;
            break;
        case OPT_LOG: op.log = 1; break;
        case OPT_STARTS:
            if (parse_int_opt(optarg, 1, 5, &v) < 0)
                st_cli_usage_error(&cli, "--starts must be an integer from 1 to 5, not '%s'", optarg);
            op.starts = (int)v;
            break;
        case OPT_SE: op.se = 1; break;
        case 'c': op.column = optarg; break;
        case 't': op.time = optarg; op.time_given = 1; break;
        case 'x': op.regressors = optarg; break;
        case OPT_FUTURE: op.future = optarg; break;
        case 'H': horizon_arg = optarg; break;
        case OPT_LEVEL: level_arg = optarg; break;
        case OPT_SMOOTH: op.smooth = 1; break;
        case OPT_FILTER: op.filter = 1; break;
        case OPT_HOLDOUT: holdout_arg = optarg; break;
        case 'm': op.save = optarg; break;
        case OPT_STRICT: op.strict = 1; break;
        case OPT_PER_RANK: op.per_rank = 1; break;
        default: st_cli_usage_error(&cli, NULL);
        }
    }
    if (!op.model)
        st_cli_usage_error(&cli, "--model is required (e.g. --model trend+seasonal:12 or --model auto)");
    if (op.smooth + op.filter + (holdout_arg != NULL) > 1)
        st_cli_usage_error(&cli, "--smooth, --filter and --holdout exclude each other");
    if (st_parse_double_list(level_arg, &op.levels, &op.nlevels) < 0 || op.nlevels == 0 || op.nlevels > 16)
        st_cli_usage_error(&cli, "--level must be a list of 1 to 16 numbers, not '%s'", level_arg);

    st_err err;
    st_err_clear(&err);
    int rc = 0;
    st_output out = {0};
    st_ssmf_opts so;
    memset(&so, 0, sizeof so);
    st_ssm_file mf;
    memset(&mf, 0, sizeof mf);
    future_index fut = {0};
    st_reader *rd = NULL;
    st_seqiter *it = NULL;
    st_writer *wr = NULL;
    int *xcol = NULL, *ycols = NULL;
    size_t nx = 0, pobs = 1;
    job *jobs = NULL;
    size_t nok = 0, nfail = 0, nseries = 0;
    double sum_mase = 0, sum_smape = 0, sum_cov[16] = {0};
    size_t n_mase = 0, n_smape = 0, n_cov[16] = {0};

    /* Bad values of -H, --holdout, --level, a bad spec: data errors (exit 1),
     * as the issue lists them among bad input. */
    for (size_t i = 0; i < op.nlevels; i++)
        if (!(op.levels[i] > 0 && op.levels[i] < 100)) {
            rc = st_err_set(&err, ST_EDATA, NULL, 0, 0, "--level values must be between 0 and 100 (exclusive), not %g", op.levels[i]);
            goto done;
        }
    if (horizon_arg && (st_parse_long(horizon_arg, &op.horizon) < 0 || op.horizon < 1 || op.horizon > 100000)) {
        rc = st_err_set(&err, ST_EDATA, NULL, 0, 0, "horizon (-H) must be an integer from 1 to 100000, not '%s'", horizon_arg);
        goto done;
    }
    if (holdout_arg) {
        if (st_parse_long(holdout_arg, &op.holdout) < 0 || op.holdout < 1 || op.holdout > 100000) {
            rc = st_err_set(&err, ST_EDATA, NULL, 0, 0, "--holdout must be an integer from 1 to 100000, not '%s'", holdout_arg);
            goto done;
        }
        op.have_holdout = 1;
    }
    so.levels = op.levels;
    so.nlevels = op.nlevels;
    so.log = op.log;
    so.period = op.period;
    so.h = (size_t)(op.have_holdout ? op.holdout : op.horizon);
    so.output = op.smooth ? ST_SSMF_SMOOTH : op.filter ? ST_SSMF_FILTER : op.have_holdout ? ST_SSMF_HOLDOUT : ST_SSMF_FORECAST;
    so.uc.nstarts = op.starts;
    so.uc.want_se = op.se;

    /* under MPI every rank reads the input; the series are shared out below */
    const char *out_name = cli.output;
    static char rank_name[4096];
    if ((rc = st_mpi_cli_start(&cli, &argc, &argv, argc - optind, argv + optind, &err)) < 0)
        goto done;
    int nranks = st_mpi_size();
    /* --output-per-rank: each rank writes the rows of its own series to
     * its own file (NAME.rankN.EXT); other ranks' rows are not sent */
    int per_rank = op.per_rank && nranks > 1;
    if (per_rank) {
        if (!out_name || !strcmp(out_name, "-")) {
            rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--output-per-rank with %d MPI ranks needs -o FILE", nranks);
            goto done;
        }
        if (rank_file_name(rank_name, sizeof rank_name, out_name, st_mpi_rank()) < 0) {
            rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "-o name too long");
            goto done;
        }
        cli.output = rank_name;
    }

    /* first input: columns */
    const char *first = optind < argc ? argv[optind] : NULL;
    if ((rc = st_reader_open(&rd, first, &err)) < 0)
        goto done;
    if (op.regressors && (rc = st_reader_select(rd, op.regressors, &xcol, &nx, &err)) < 0)
        goto done;

    /* the model */
    size_t len = strlen(op.model);
    if (len > 5 && (!strcmp(op.model + len - 5, ".yaml") || !strcmp(op.model + len - 4, ".yml"))) {
        if ((rc = st_ssm_file_read(&mf, op.model, nx, &err)) < 0)
            goto done;
        if (mf.is_matrix) {
            so.mode = ST_SSMF_MATRIX;
            pobs = mf.s->p;
            so.matrix = mf.s;
        } else {
            so.mode = ST_SSMF_SPEC;
            so.spec = mf.spec;
            if (op.fixed)
                so.fixed_theta = mf.theta;
            if (mf.log)
                so.log = 1;
        }
    } else if (op.fixed) {
        st_cli_usage_error(&cli, "--fixed needs --model FILE.yaml");
    } else if (!strcmp(op.model, "auto")) {
        so.mode = ST_SSMF_AUTO;
        if (nx) {
            rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--model auto does not take regressors (-x)");
            goto done;
        }
    } else if (!strncmp(op.model, "s4d:", 4)) {
        long N;
        so.mode = ST_SSMF_S4D;
        if (st_parse_long(op.model + 4, &N) < 0 || N < 1 || N > 256) {
            rc = st_err_set(&err, ST_EDATA, NULL, 0, 0, "s4d state size must be an integer from 1 to 256, not '%s'", op.model + 4);
            goto done;
        }
        so.s4d_n = (int)N;
    } else {
        so.mode = ST_SSMF_SPEC;
        if ((rc = st_uc_parse(op.model, nx, &so.spec, &err)) < 0) {
            err.code = rc = ST_EDATA; /* a bad spec exits 1 like other bad input */
            goto done;
        }
    }
    if (op.smooth && so.mode == ST_SSMF_AUTO) {
        /* the decomposition needs the component list: allowed, columns come
         * from the chosen model, which can differ per series */
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--smooth needs an explicit structural model, not auto");
        goto done;
    }
    if (nx && !op.future && so.output == ST_SSMF_FORECAST) {
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "regressors (-x) need their future values: --future FILE");
        goto done;
    }
    if (op.future) {
        if ((rc = st_table_read(&fut.tab, op.future, &err)) < 0)
            goto done;
        fut.xcol = malloc((nx ? nx : 1) * sizeof(int));
        if (!fut.xcol) {
            rc = st_err_nomem(&err, "future index");
            goto done;
        }
        for (size_t i = 0; i < nx; i++) {
            fut.xcol[i] = st_table_col(fut.tab, st_reader_name(rd, (size_t)xcol[i]));
            if (fut.xcol[i] < 0) {
                rc = st_err_set(&err, ST_EDATA, op.future, 0, 0, "future file has no column '%s'", st_reader_name(rd, (size_t)xcol[i]));
                goto done;
            }
        }
        if ((rc = st_table_groups(fut.tab, st_table_col(fut.tab, "seq"), &fut.groups, &fut.ngroups, &err)) < 0)
            goto done;
        qsort(fut.groups, fut.ngroups, sizeof *fut.groups, cmp_group);
    }

    /* output header */
    char cnames[ST_SSMF_MAXCOLS][32];
    size_t nc = st_ssmf_columns(&so, cnames, ST_SSMF_MAXCOLS);
    if (so.mode == ST_SSMF_MATRIX && so.output == ST_SSMF_FILTER)
        nc = st_ssmf_columns(&so, cnames, ST_SSMF_MAXCOLS);
    const char *names[ST_SSMF_MAXCOLS + 2];
    int with_t = so.output != ST_SSMF_HOLDOUT;
    size_t ncol_out = 0;
    names[ncol_out++] = "seq";
    if (with_t)
        names[ncol_out++] = "t";
    for (size_t i = 0; i < nc && ncol_out < ST_SSMF_MAXCOLS + 2; i++)
        names[ncol_out++] = cnames[i];
    int bin = st_cli_output_format(&cli) == ST_FMT_BIN;
    if ((rc = st_output_open(&out, cli.output, bin, &err)) < 0)
        goto done;
    char *meta = NULL;
    st_writer_opts wo = {0};
    wo.format = bin ? ST_FMT_BIN : ST_FMT_CSV;
    wo.codec = cli.compress ? ST_CODEC_ZLIB : ST_CODEC_RAW;
    if (bin && st_meta_json(&meta, PROG " " ST_VERSION_STRING, 0, 0, st_display_name(first), st_reader_meta(rd), &err) == 0)
        wo.meta_json = meta;
    rc = st_writer_new(&wr, out.fp, names, NULL, ncol_out, &wo, &err);
    free(meta);
    if (rc < 0)
        goto done;

    int nthreads = st_cli_threads(&cli);
    size_t batch = (size_t)(nthreads > 1 || nranks > 1 ? 32 * nthreads * nranks : 1);
    jobs = calloc(batch, sizeof *jobs);
    double *orow = malloc((ncol_out ? ncol_out : 1) * sizeof(double));
    if (!jobs || !orow) {
        free(orow);
        rc = st_err_nomem(&err, "batch");
        goto done;
    }
    int argi = optind;
    for (;;) {
        /* per input file */
        const char *path = rd ? st_reader_path(rd) : NULL;
        int tcol = st_reader_col(rd, op.time);
        int scol = st_reader_col(rd, "seq");
        free(ycols);
        ycols = NULL;
        size_t nyc = 0;
        if (!strchr(op.column, ',') && st_reader_col(rd, op.column) < 0) {
            rc = st_err_set(&err, ST_EDATA, path, 0, 0, "no value column '%s' (use -c NAME)", op.column);
            break;
        }
        if ((rc = st_reader_select(rd, op.column, &ycols, &nyc, &err)) < 0)
            break;
        if (nyc != pobs) {
            rc = st_err_set(&err, ST_EDATA, path, 0, 0, "the model observes %zu variable%s but -c names %zu column%s", pobs, pobs == 1 ? "" : "s", nyc, nyc == 1 ? "" : "s");
            break;
        }
        if (op.time_given && tcol < 0) {
            rc = st_err_set(&err, ST_EDATA, path, 0, 0, "no time column '%s'", op.time);
            break;
        }
        if (argi > optind && nx) {
            free(xcol);
            xcol = NULL;
            size_t nx2;
            if ((rc = st_reader_select(rd, op.regressors, &xcol, &nx2, &err)) < 0)
                break;
        }
        size_t ncin = st_reader_ncols(rd);
        if ((rc = st_seqiter_new(&it, rd, scol, &err)) < 0)
            break;
        int end = 0;
        while (!end && rc == 0) {
            size_t nb = 0;
            while (nb < batch) {
                const double *rows;
                size_t n;
                double seq;
                int g = st_seqiter_next(it, &rows, &n, &seq, &err);
                if (g < 0) {
                    rc = g;
                    break;
                }
                if (g == 0) {
                    end = 1;
                    break;
                }
                job *j = &jobs[nb];
                memset(j, 0, sizeof *j);
                j->seq = seq;
                j->n = n;
                j->y = malloc(n * pobs * sizeof(double));
                j->x = nx ? malloc(n * nx * sizeof(double)) : NULL;
                j->t = tcol >= 0 ? malloc(n * sizeof(double)) : NULL;
                if (!j->y || (nx && !j->x) || (tcol >= 0 && !j->t)) {
                    rc = st_err_nomem(&err, "series");
                    break;
                }
                for (size_t i = 0; i < n; i++) {
                    for (size_t k = 0; k < pobs; k++)
                        j->y[i * pobs + k] = rows[i * ncin + (size_t)ycols[k]];
                    if (j->t)
                        j->t[i] = rows[i * ncin + (size_t)tcol];
                    for (size_t k = 0; k < nx; k++)
                        j->x[i * nx + k] = rows[i * ncin + (size_t)xcol[k]];
                }
                nb++;
                if (fut.tab && so.output == ST_SSMF_FORECAST) {
                    st_group key = {seq, 0, 0};
                    st_group *gp = bsearch(&key, fut.groups, fut.ngroups, sizeof key, cmp_group);
                    if (!gp || gp->n < so.h) {
                        j->rc = st_err_set(&j->err, ST_EDATA, op.future, 0, 0, "future file has %zu rows for this series, need %zu (-H)", gp ? gp->n : (size_t)0, so.h);
                        continue;
                    }
                    j->xf = malloc(so.h * (nx ? nx : 1) * sizeof(double));
                    if (!j->xf) {
                        rc = st_err_nomem(&err, "future");
                        break;
                    }
                    for (size_t i = 0; i < so.h; i++)
                        for (size_t k = 0; k < nx; k++)
                            j->xf[i * nx + k] = st_table_get(fut.tab, gp->start + i, (size_t)fut.xcol[k]);
                }
                j->rc = 1; /* to run */
            }
            if (op.save && nseries + nb > 1) {
                rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "-m saves one model, but the input has more than one series");
                for (size_t i = 0; i < nb; i++)
                    free_job(&jobs[i]);
                break;
            }
            size_t mlo = 0, mhi = nb; /* this rank's share of the batch */
            if (nranks > 1)
                st_mpi_share(nb, &mlo, &mhi);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
            for (size_t i = mlo; i < mhi; i++)
                if (jobs[i].rc == 1)
                    run_job(&so, &jobs[i]);
            if (nranks > 1 && rc == 0)
                rc = share_jobs(jobs, nb, mlo, mhi, !per_rank, &err);
            for (size_t i = 0; i < nb && rc == 0; i++) {
                job *j = &jobs[i];
                nseries++;
                if (j->rc < 0) {
                    nfail++;
                    if (scol >= 0)
                        st_err_prefix(&j->err, "seq %.17g: ", j->seq);
                    if (!j->err.file[0] && path)
                        snprintf(j->err.file, sizeof j->err.file, "%s", path);
                    if (op.strict) {
                        err = j->err;
                        rc = j->rc;
                        break;
                    }
                    if (cli.verbosity >= 1)
                        st_err_print(PROG, &j->err);
                    continue;
                }
                nok++;
                const st_ssmf_result *r = &j->res;
                if (r->fitted && !r->fit.converged && cli.verbosity >= 1)
                    fprintf(stderr, "%s: seq %.17g: optimiser did not converge (%s); results use the best point found\n", PROG, j->seq, r->fit.status);
                if (cli.verbosity >= 2) {
                    if (r->fitted) {
                        fprintf(stderr, "%s: seq %.17g: %s%s loglik %.6f aicc %.4f (%d evaluations)", PROG, j->seq, r->model, so.log ? " on log(y)," : ",", r->fit.loglik, r->fit.aicc, r->fit.nevals);
                        for (size_t k = 0; k < r->fit.spec.npar; k++) {
                            fprintf(stderr, " %s=%.6g", r->fit.spec.names[k], r->fit.theta[k]);
                            if (isfinite(r->fit.se[k]))
                                fprintf(stderr, "(se %.3g)", r->fit.se[k]);
                        }
                        fputc('\n', stderr);
                    } else
                        fprintf(stderr, "%s: seq %.17g: %s\n", PROG, j->seq, r->model);
                }
                if (op.save && st_mpi_rank() == 0) {
                    FILE *mfp = NULL;
                    st_output mo = {0};
                    if ((rc = st_output_open(&mo, op.save, 0, &err)) < 0)
                        break;
                    mfp = mo.fp;
                    if (r->fitted)
                        rc = st_ssm_file_write_fit(mfp, &r->fit, so.log, &err);
                    else if (so.matrix)
                        rc = st_ssm_file_write_matrix(mfp, so.matrix, &err);
                    else
                        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "-m: an s4d model has no model file");
                    if (rc < 0) {
                        st_output_abort(&mo);
                        break;
                    }
                    if ((rc = st_output_close(&mo, &err)) < 0)
                        break;
                }
                if (so.output == ST_SSMF_HOLDOUT) {
                    if (isfinite(r->mase))
                        sum_mase += r->mase, n_mase++;
                    if (isfinite(r->smape))
                        sum_smape += r->smape, n_smape++;
                    for (size_t k = 0; k < so.nlevels && k < 16; k++)
                        if (isfinite(r->coverage[k]))
                            sum_cov[k] += r->coverage[k], n_cov[k]++;
                }
                double tstep = 1, tlast = (double)j->n;
                if (j->t && j->n >= 1) {
                    tlast = j->t[j->n - 1];
                    if (j->n >= 2)
                        tstep = j->t[j->n - 1] - j->t[j->n - 2];
                }
                if (per_rank && (i < mlo || i >= mhi))
                    continue; /* another rank writes this series' rows */
                for (size_t k = 0; k < r->nrows && rc == 0; k++) {
                    size_t q = 0;
                    orow[q++] = j->seq;
                    if (with_t) {
                        if (r->tshift)
                            orow[q++] = tlast + (double)(k / r->rows_per_t + 1) * tstep;
                        else
                            orow[q++] = j->t ? j->t[k] : (double)(k + 1);
                    }
                    memcpy(orow + q, r->rows + k * r->ncols, r->ncols * sizeof(double));
                    rc = st_writer_row(wr, orow, &err);
                }
            }
            if (nranks > 1) { /* a write error on rank 0 stops every rank */
                int all = st_mpi_agree(rc);
                if (all < 0 && rc == 0)
                    rc = st_err_set(&err, all, NULL, 0, 0, "stopped: another MPI rank failed");
            }
            for (size_t i = 0; i < nb; i++)
                free_job(&jobs[i]);
        }
        st_seqiter_free(it);
        it = NULL;
        if (rc < 0)
            break;
        argi = argi <= optind ? optind + 1 : argi + 1;
        if (argi >= argc)
            break;
        st_reader_free(rd);
        rd = NULL;
        if ((rc = st_reader_open(&rd, argv[argi], &err)) < 0)
            break;
    }
    free(orow);
    if (rc == 0 && nok == 0) {
        if (nfail == 1 && nseries == 1) {
            /* one series: its own message is the error (already printed if not -q) */
            rc = ST_EDATA;
            err.code = rc;
            snprintf(err.msg, sizeof err.msg, "no series could be fitted");
            if (cli.verbosity >= 1) {
                st_writer_free(wr);
                wr = NULL;
                st_output_abort(&out);
                free(jobs);
                jobs = NULL;
                goto quiet_fail;
            }
        } else if (nseries == 0)
            rc = st_err_set(&err, ST_EDATA, st_display_name(first), 0, 0, "no data rows");
        else
            rc = st_err_set(&err, ST_EDATA, NULL, 0, 0, "none of the %zu series could be fitted", nseries);
    }
    if (rc == 0) {
        rc = st_writer_close(wr, &err);
        wr = NULL;
    }
    if (rc == 0 && so.output == ST_SSMF_HOLDOUT && cli.verbosity >= 1) {
        fprintf(stderr, "%s: holdout %ld over %zu series: MASE %.4g, sMAPE %.4g", PROG, op.holdout, nok,
                n_mase ? sum_mase / (double)n_mase : NAN, n_smape ? sum_smape / (double)n_smape : NAN);
        for (size_t k = 0; k < so.nlevels && k < 16; k++)
            fprintf(stderr, ", coverage%g %.3g", so.levels[k], n_cov[k] ? sum_cov[k] / (double)n_cov[k] : NAN);
        fputc('\n', stderr);
    }
    if (rc == 0 && nfail > 0 && cli.verbosity >= 1)
        fprintf(stderr, "%s: %zu of %zu series skipped (see above; --strict makes this fatal)\n", PROG, nfail, nseries);
done:
    st_writer_free(wr);
    st_seqiter_free(it);
    st_reader_free(rd);
    st_table_free(fut.tab);
    free(fut.groups);
    free(fut.xcol);
    free(xcol);
    free(ycols);
    free(jobs);
    st_ssm_file_free(&mf);
    free(op.levels);
    return st_mpi_cli_end(st_cli_finish(&cli, &out, rc, &err));
quiet_fail:
    st_seqiter_free(it);
    st_reader_free(rd);
    st_table_free(fut.tab);
    free(fut.groups);
    free(fut.xcol);
    free(xcol);
    free(ycols);
    st_ssm_file_free(&mf);
    free(op.levels);
    return st_mpi_cli_end(1);
}

/* ssm-forecast: fit state-space models to one or many series and forecast
 * them, streaming series in and results out (see ssm-forecast(1)).  The
 * models, their choice and the rows written are lib/ssm's; this driver
 * reads the series in batches, runs them over threads (and MPI ranks) and
 * writes the rows in input order. */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/mpi.h"
#include "core/stream.h"
#include "ssm/batch.h"
#include "ssm/forecast.h"

#define PROG "ssm-forecast"

static const char USAGE[] =
    "Usage: " PROG " --model SPEC [-H HORIZON] [--level 80,95] [options] [DATA...]\n"
    "       " PROG " -m MODEL.yaml [options] [DATA...]\n"
    "Fit a state-space model to each series (rows grouped by the column 'seq')\n"
    "by maximum likelihood and forecast it.\n"
    "Output columns: seq,t,mean,sd,lo80,hi80,lo95,hi95 (one row per step).\n"
    "\n"
    "Model:\n"
    "      --model SPEC      structural components joined by '+': level, trend,\n"
    "                        smooth-trend, damped-trend, seasonal:S, trig:S:K,\n"
    "                        cycle, ar:P, reg, irregular (always included);\n"
    "                        'structural' (AICc choice of level/trend/damped-trend,\n"
    "                        each also +seasonal:S with --period S);\n"
    "                        'ets' (AICc choice like R's forecast::ets) or\n"
    "                        ets:ETS, E = A|M|Z, T = N|A|Ad|Z, S = N|A|M|Z (e.g.\n"
    "                        ets:MAdM; Z: choose); arima(p,d,q), arima(p,d,q)(P,D,Q)[s]\n"
    "                        (+drift, -mean) or 'auto-arima' (R's auto.arima);\n"
    "                        's4d:N' or 's4d:N:inv' (S4D forecaster, N = 1..256);\n"
    "                        'auto' (the family with the best\n"
    "                        rolling-origin MASE, see ssm-forecast(1)); or FILE.yaml\n"
    "  -m, --model-file FILE read the model from FILE (as --model FILE)\n"
    "      --family LIST     families --model auto may choose: structural,ets,arima\n"
    "      --fixed           with a model file: use its parameters, no refit\n"
    "      --period S        seasonal period (default: the frequency's, 1 without\n"
    "                        dates: none)\n"
    "      --freq F          daily, weekly, monthly, quarterly or yearly (default:\n"
    "                        inferred from a date or month time column, or YYYYMM)\n"
    "      --log             model log(y); forecasts are back-transformed\n"
    "      --starts N        structural: optimiser runs per fit (1..5; default 1,\n"
    "                        2 with damping, cycle or AR parameters)\n"
    "      --se              standard errors (shown with -v, saved with --save-model)\n"
    "      --paths N         sample paths of simulated intervals (default 5000)\n"
    "      --global          s4d: one model for all series of a batch (up to 1000)\n"
    "Input:\n"
    "  -c, --column NAME     value column (default y); a list y1,y2 for a\n"
    "                        multivariate matrix model\n"
    "  -t, --time-col NAME   time column (default t; optional in the data): numbers,\n"
    "                        dates (YYYY-MM-DD), months (YYYY-MM) or timestamps\n"
    "      --seq-col NAME    series id column (default seq; numbers or text)\n"
    "      --no-header       the CSV input has no header: columns c1, c2, ...\n"
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
    "      --save-model FILE write the fitted model (one series only)\n"
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
    "      --seed N          seed of simulated intervals (default 1)\n"
    "  -h, --help            this help        --version      version\n"
    "\n"
    "Exit status: 0 success (some series may have been skipped with a message),\n"
    "1 data or model error (or every series failed), 2 usage error.\n";

enum {
    OPT_MODEL = ST_OPT_TOOL, OPT_FIXED, OPT_PERIOD, OPT_LOG, OPT_STARTS, OPT_SE, OPT_FUTURE,
    OPT_LEVEL, OPT_SMOOTH, OPT_FILTER, OPT_HOLDOUT, OPT_STRICT, OPT_PER_RANK, OPT_SAVE,
    OPT_FAMILY, OPT_PATHS, OPT_FREQ, OPT_GLOBAL
};

typedef struct opts {
    const char *model, *model_file, *column, *time, *regressors, *future, *save, *family, *seq;
    int fixed, strict, per_rank, time_given;
} opts;

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

/* A series id for messages: the user's text or number. */
static const char *seqtext(const st_reader *rd, int seqcol, double seq, char *buf)
{
    if (seqcol < 0) {
        snprintf(buf, ST_CELL_BUFSZ, "%.17g", seq);
        return buf;
    }
    return st_reader_cell(rd, (size_t)seqcol, seq, buf);
}

static long int_opt(const st_cli *cli, const char *arg, long lo, long hi, const char *what)
{
    long v;
    if (st_parse_long(arg, &v) < 0 || v < lo || v > hi)
        st_cli_usage_error(cli, "%s must be an integer from %ld to %ld, not '%s'", what, lo, hi, arg);
    return v;
}

static int is_model_file(const char *s)
{
    size_t len = strlen(s);
    return (len > 5 && !strcmp(s + len - 5, ".yaml")) || (len > 4 && !strcmp(s + len - 4, ".yml"));
}

/* --family LIST -> bit mask over st_ssm_families() */
static unsigned family_mask(const st_cli *cli, const char *list)
{
    unsigned mask = 0;
    char buf[256];
    if (strlen(list) >= sizeof buf)
        st_cli_usage_error(cli, "--family list too long");
    strcpy(buf, list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const st_ssm_family *const *all = st_ssm_families();
        size_t i = 0;
        while (all[i] && (strcmp(all[i]->name, tok) || !all[i]->auto_spec))
            i++;
        if (!all[i])
            st_cli_usage_error(cli, "--family: '%s' is not a family --model auto can choose (structural, ets, arima)", tok);
        mask |= 1u << i;
    }
    if (!mask)
        st_cli_usage_error(cli, "--family needs at least one family");
    return mask;
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, PROG, USAGE);
    opts op = {0};
    op.column = "y";
    op.time = "t";
    op.seq = "seq";
    st_ssmf_opts so;
    memset(&so, 0, sizeof so);
    so.output = ST_SSMF_FORECAST;
    so.period = 0; /* from the frequency */
    long horizon = 12, holdout = 0;
    const char *level_arg = "80,95";
    double *levels = NULL;
    static const struct option longopts[] = {
        ST_CLI_LONGOPTS,
        ST_CLI_OPT_SEQ_COL,
        ST_CLI_OPT_TIME_COL,
        ST_CLI_OPT_NO_HEADER,
        {"freq", required_argument, NULL, OPT_FREQ},
        {"model", required_argument, NULL, OPT_MODEL},
        {"model-file", required_argument, NULL, 'm'},
        {"family", required_argument, NULL, OPT_FAMILY},
        {"fixed", no_argument, NULL, OPT_FIXED},
        {"period", required_argument, NULL, OPT_PERIOD},
        {"log", no_argument, NULL, OPT_LOG},
        {"starts", required_argument, NULL, OPT_STARTS},
        {"se", no_argument, NULL, OPT_SE},
        {"paths", required_argument, NULL, OPT_PATHS},
        {"global", no_argument, NULL, OPT_GLOBAL},
        {"column", required_argument, NULL, 'c'},
        {"time", required_argument, NULL, 't'}, /* the former name of --time-col */
        {"regressors", required_argument, NULL, 'x'},
        {"future", required_argument, NULL, OPT_FUTURE},
        {"horizon", required_argument, NULL, 'H'},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"smooth", no_argument, NULL, OPT_SMOOTH},
        {"filter", no_argument, NULL, OPT_FILTER},
        {"holdout", required_argument, NULL, OPT_HOLDOUT},
        {"save-model", required_argument, NULL, OPT_SAVE},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"output-per-rank", no_argument, NULL, OPT_PER_RANK},
        {NULL, 0, NULL, 0}};
    int c, nkind = 0;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "c:t:x:H:m:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case OPT_MODEL: op.model = optarg; break;
        case 'm': op.model_file = optarg; break;
        case OPT_FAMILY: op.family = optarg; break;
        case OPT_FREQ:
            if (st_freq_parse(optarg, &so.freq) < 0)
                st_cli_usage_error(&cli, "--freq must be daily, weekly, monthly, quarterly or yearly, not '%s'", optarg);
            break;
        case OPT_FIXED: op.fixed = 1; break;
        case OPT_PERIOD: so.period = (int)int_opt(&cli, optarg, 1, 1000, "--period"); break;
        case OPT_LOG: so.log = 1; break;
        case OPT_STARTS: so.cfg.starts = (int)int_opt(&cli, optarg, 1, 5, "--starts"); break;
        case OPT_SE: so.cfg.want_se = 1; break;
        case OPT_PATHS: so.cfg.npaths = (int)int_opt(&cli, optarg, 100, 1000000, "--paths"); break;
        case OPT_GLOBAL: so.cfg.global = 1; break;
        case 'c': op.column = optarg; break;
        case 't': op.time = optarg; op.time_given = 1; break;
        case 'x': op.regressors = optarg; break;
        case OPT_FUTURE: op.future = optarg; break;
        case 'H': horizon = int_opt(&cli, optarg, 1, 100000, "horizon (-H)"); break;
        case OPT_LEVEL: level_arg = optarg; break;
        case OPT_SMOOTH: so.output = ST_SSMF_SMOOTH, nkind++; break;
        case OPT_FILTER: so.output = ST_SSMF_FILTER, nkind++; break;
        case OPT_HOLDOUT: holdout = int_opt(&cli, optarg, 1, 100000, "--holdout"), so.output = ST_SSMF_HOLDOUT, nkind++; break;
        case OPT_SAVE: op.save = optarg; break;
        case OPT_STRICT: op.strict = 1; break;
        case OPT_PER_RANK: op.per_rank = 1; break;
        default: st_cli_usage_error(&cli, NULL);
        }
    }
    if (cli.role[ST_ROLE_TIME]) {
        op.time = cli.role[ST_ROLE_TIME];
        op.time_given = 1;
    }
    if (cli.role[ST_ROLE_SEQ])
        op.seq = cli.role[ST_ROLE_SEQ];
    if (!op.model && !op.model_file)
        st_cli_usage_error(&cli, "--model is required (e.g. --model trend+seasonal:12 or --model auto), or -m MODEL.yaml");
    if (op.model && op.model_file)
        st_cli_usage_error(&cli, "give either --model or -m, not both");
    if (nkind > 1)
        st_cli_usage_error(&cli, "--smooth, --filter and --holdout exclude each other");
    if (st_parse_double_list(level_arg, &levels, &so.nlevels) < 0 || so.nlevels == 0 || so.nlevels > ST_SSMF_MAXLEVELS)
        st_cli_usage_error(&cli, "--level must be a list of 1 to %d numbers, not '%s'", ST_SSMF_MAXLEVELS, level_arg);
    for (size_t i = 0; i < so.nlevels; i++)
        if (!(levels[i] > 0 && levels[i] < 100))
            st_cli_usage_error(&cli, "--level values must be between 0 and 100 (exclusive), not %g", levels[i]);
    so.levels = levels;
    so.h = (size_t)(so.output == ST_SSMF_HOLDOUT ? holdout : horizon);
    so.cfg.seed = cli.seed;
    const char *model_path = op.model_file ? op.model_file : is_model_file(op.model) ? op.model : NULL;
    if (op.fixed && !model_path)
        st_cli_usage_error(&cli, "--fixed needs a model file (-m FILE)");
    int is_auto = op.model && !strcmp(op.model, "auto");
    if (op.family && !is_auto)
        st_cli_usage_error(&cli, "--family limits --model auto");
    if (op.family)
        so.families = family_mask(&cli, op.family);
    if (is_auto && so.output != ST_SSMF_FORECAST && so.output != ST_SSMF_HOLDOUT)
        st_cli_usage_error(&cli, "--%s needs an explicit model, not auto", so.output == ST_SSMF_SMOOTH ? "smooth" : "filter");
    so.keep_model = op.save != NULL;
    void *spec = NULL;
    if (!model_path && !is_auto) {
        /* a model text: its errors are usage errors (regressors counted by name) */
        size_t nreg = 0;
        for (const char *q = op.regressors; q && *q; q++)
            nreg += q == op.regressors || q[-1] == ',';
        st_err perr;
        if (st_ssm_spec_parse(op.model, nreg, so.period, &so.fam, &spec, &perr) < 0)
            st_cli_usage_error(&cli, "%s", perr.msg);
    }

    st_err err;
    st_err_clear(&err);
    int rc = 0;
    st_output out = {0};
    st_ssmf_future fut = {0};
    st_reader *rd = NULL;
    st_seqiter *it = NULL;
    st_writer *wr = NULL;
    st_ssmf_cols cols = {0};
    size_t nx = 0, pobs = 1;
    st_ssmf_job *jobs = NULL;
    double *orow = NULL;
    size_t nok = 0, nfail = 0, nseries = 0;
    st_ssmf_tally tally = {0};

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
    st_reader_opts ropts = st_cli_reader_opts(&cli);
    ropts.any_type = 1;    /* text ids, dates */
    ropts.keep_names = 1;  /* --seq-col and --time-col are looked up by name */
    ropts.promote = 1;
    if ((rc = st_reader_open_opts(&rd, first, &ropts, &err)) < 0)
        goto done;
    if (op.regressors) {
        int *xcol = NULL;
        rc = st_reader_select(rd, op.regressors, &xcol, &nx, &err);
        free(xcol);
        if (rc < 0)
            goto done;
    }

    /* the model */
    if (model_path) {
        int flog = 0;
        if ((rc = st_ssm_model_read(model_path, nx, &so.fam, &spec, &flog, &err)) < 0)
            goto done;
        if (flog)
            so.log = 1;
        if (op.fixed && (rc = so.fam->set_fixed(spec, &err)) < 0)
            goto done;
    } else if (is_auto && nx) {
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--model auto does not take regressors (-x)");
        goto done;
    }
    so.spec = spec;
    if (so.cfg.global && (!so.fam || !so.fam->batch_train)) {
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--global needs a model that learns across series (s4d:N)");
        goto done;
    }
    pobs = st_ssmf_nobs(&so);
    if (nx && !op.future && so.output == ST_SSMF_FORECAST) {
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "regressors (-x) need their future values: --future FILE");
        goto done;
    }
    so.nreg = nx;

    /* output header */
    char cnames[ST_SSMF_MAXCOLS][32];
    size_t nc = st_ssmf_columns(&so, cnames, ST_SSMF_MAXCOLS);
    if (nc == 0 || nc > ST_SSMF_MAXCOLS) {
        rc = nc ? st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "too many output columns (%zu, at most %d)", nc, ST_SSMF_MAXCOLS)
                : st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "a %s model has no --%s table", so.fam->name, so.output == ST_SSMF_SMOOTH ? "smooth" : "filter");
        goto done;
    }
    const char *names[ST_SSMF_MAXCOLS + 2];
    st_dtype dtypes[ST_SSMF_MAXCOLS + 2];
    int with_t = so.output != ST_SSMF_HOLDOUT;
    size_t ncol_out = 0;
    /* the user's series ids and times, as the input has them */
    int seqcol = st_reader_col(rd, op.seq), tcol = st_reader_col(rd, op.time);
    dtypes[ncol_out] = seqcol >= 0 ? st_carry_dtype(st_reader_dtype(rd, (size_t)seqcol), ST_I8) : ST_I8;
    names[ncol_out++] = "seq";
    if (with_t) {
        st_dtype tdt = tcol >= 0 ? st_reader_dtype(rd, (size_t)tcol) : ST_F8;
        dtypes[ncol_out] = st_dtype_is_time(tdt) ? tdt : ST_F8;
        names[ncol_out++] = "t";
    }
    for (size_t i = 0; i < nc; i++) {
        dtypes[ncol_out] = ST_F8;
        names[ncol_out++] = cnames[i];
    }
    int bin = st_cli_output_format(&cli) == ST_FMT_BIN;
    if ((rc = st_output_open(&out, cli.output, bin, &err)) < 0)
        goto done;
    char *meta = NULL;
    st_writer_opts wo = {0};
    wo.format = bin ? ST_FMT_BIN : ST_FMT_CSV;
    wo.codec = cli.compress ? ST_CODEC_ZLIB : ST_CODEC_RAW;
    if (bin && st_meta_json(&meta, PROG " " ST_VERSION_STRING, 1, cli.seed, st_display_name(first), st_reader_meta(rd), &err) == 0)
        wo.meta_json = meta;
    rc = st_writer_new(&wr, out.fp, names, dtypes, ncol_out, &wo, &err);
    free(meta);
    if (rc < 0)
        goto done;

    int nthreads = st_cli_threads(&cli);
    /* --save-model: one series, computed on every rank (no sharing) */
    size_t batch = (size_t)(nthreads > 1 || nranks > 1 ? 32 * nthreads * nranks : 1);
    if (so.cfg.global)
        batch = 1000; /* --global: the batch one model learns from */
    jobs = calloc(batch, sizeof *jobs);
    orow = malloc(ncol_out * sizeof(double));
    if (!jobs || !orow) {
        rc = st_err_nomem(&err, "batch");
        goto done;
    }
    int argi = optind;
    for (;;) {
        /* per input file */
        const char *path = st_reader_path(rd);
        st_ssmf_cols_free(&cols);
        if ((rc = st_ssmf_cols_find(&cols, rd, op.column, pobs, op.time, op.time_given, op.regressors, op.seq, cli.role[ST_ROLE_SEQ] != NULL, &err)) < 0)
            break;
        if (cols.seq >= 0 && (rc = st_writer_carry_reader(wr, 0, rd, (size_t)cols.seq, &err)) < 0)
            break;
        if (argi == optind && op.future && (rc = st_ssmf_future_load(&fut, op.future, rd, cols.x, nx, &err)) < 0)
            break;
        if ((rc = st_seqiter_new(&it, rd, cols.seq, &err)) < 0)
            break;
        int end = 0;
        while (!end && rc == 0) {
            size_t nb = 0, mlo = 0, mhi = 0;
            rc = st_ssmf_read_batch(it, rd, &cols, so.freq, so.output == ST_SSMF_FORECAST ? &fut : NULL, so.h, jobs, batch, &nb, &end, &err);
            if (rc == 0)
                rc = st_ssmf_cols_check(&cols, rd, &err);
            if (rc == 0 && op.save && nseries + nb > 1)
                rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--save-model saves one model, but the input has more than one series");
            /* --save-model: its one series runs on every rank, not shared */
            if (rc == 0)
                rc = st_ssmf_run_batch(&so, jobs, nb, nseries, !op.save, !per_rank, &mlo, &mhi, &err);
            char idbuf[ST_CELL_BUFSZ];
            for (size_t i = 0; i < nb && rc == 0; i++) {
                st_ssmf_job *j = &jobs[i];
                nseries++;
                if (j->rc < 0) {
                    nfail++;
                    if (cols.seq >= 0)
                        st_err_prefix(&j->err, "seq %s: ", seqtext(rd, cols.seq, j->seq, idbuf));
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
                char line[2048];
                if (r->fitted && !r->model.converged)
                    st_cli_log(&cli, 1, "seq %s: optimiser did not converge (%s); results use the best point found", seqtext(rd, cols.seq, j->seq, idbuf), r->model.status);
                st_cli_log(&cli, 2, "seq %s: %s", seqtext(rd, cols.seq, j->seq, idbuf), st_ssmf_describe(r, &so, line, sizeof line));
                if (op.save && st_mpi_rank() == 0) {
                    st_output mo = {0};
                    if ((rc = st_output_open(&mo, op.save, 0, &err)) < 0)
                        break;
                    if ((rc = st_ssm_model_write(mo.fp, &r->model, so.log, &err)) < 0) {
                        st_output_abort(&mo);
                        break;
                    }
                    if ((rc = st_output_close(&mo, &err)) < 0)
                        break;
                }
                if (so.output == ST_SSMF_HOLDOUT)
                    st_ssmf_tally_add(&tally, r, so.nlevels);
                if (per_rank && (i < mlo || i >= mhi))
                    continue; /* another rank writes this series' rows */
                for (size_t k = 0; k < r->nrows && rc == 0; k++) {
                    size_t q = 0;
                    orow[q++] = j->seq;
                    if (with_t)
                        orow[q++] = st_ssmf_row_time(r, k, j->t, j->n, &j->cal);
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
                st_ssmf_job_free(&jobs[i]);
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
        if ((rc = st_reader_open_opts(&rd, argv[argi], &ropts, &err)) < 0)
            break;
    }
    if (rc == 0 && nok == 0) {
        if (nfail == 1 && nseries == 1 && cli.verbosity >= 1) {
            /* one series: its own message (printed above) is the error */
            st_writer_free(wr);
            wr = NULL;
            st_output_abort(&out);
            rc = ST_EDATA;
            goto done;
        }
        if (nfail == 1 && nseries == 1)
            rc = st_err_set(&err, ST_EDATA, NULL, 0, 0, "no series could be fitted");
        else if (nseries == 0)
            rc = st_err_set(&err, ST_EDATA, st_display_name(first), 0, 0, "no data rows");
        else
            rc = st_err_set(&err, ST_EDATA, NULL, 0, 0, "none of the %zu series could be fitted", nseries);
    }
    if (rc == 0) {
        rc = st_writer_close(wr, &err);
        wr = NULL;
    }
    if (rc == 0 && so.output == ST_SSMF_HOLDOUT) {
        char line[512];
        st_cli_log(&cli, 1, "%s", st_ssmf_tally_format(&tally, &so, line, sizeof line));
    }
    if (rc == 0 && nfail > 0)
        st_cli_log(&cli, 1, "%zu of %zu series skipped (see above; --strict makes this fatal)", nfail, nseries);
done:;
    int quiet_fail = rc == ST_EDATA && !err.msg[0] && err.code == 0;
    st_writer_free(wr);
    st_seqiter_free(it);
    st_reader_free(rd);
    st_ssmf_future_free(&fut);
    st_ssmf_cols_free(&cols);
    free(jobs);
    free(orow);
    if (so.fam && spec)
        so.fam->spec_free(spec);
    free(levels);
    if (quiet_fail)
        return st_mpi_cli_end(1);
    return st_mpi_cli_end(st_cli_finish(&cli, &out, rc, &err));
}

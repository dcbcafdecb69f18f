/* mjp-sample: sample paths of a Markov jump process, observed exactly or
 * at snapshot times, optionally through an emission matrix. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream.h"
#include "mjp/mjp.h"

static const char USAGE[] =
    "Usage: mjp-sample -m MODEL.yaml -n PATHS --until T [options]\n"
    "Sample paths of a Markov jump process (Gillespie) and write them as a\n"
    "stream with columns seq, t, state (and obs with --emission).\n"
    "\n"
    "  -m, --model FILE     model file (stoch-model(5), model: mjp); required\n"
    "  -n, --paths N        number of paths, 1 to 1e9; required\n"
    "      --until T        observe each path on [0, T], T > 0; required\n"
    "Observation (default: the exact path -- the initial state, every jump,\n"
    "and a last row at T):\n"
    "      --obs-every D    snapshots at 0, D, 2D, ... <= T (D > 0)\n"
    "      --obs-times FILE snapshots at the times of column t of FILE\n"
    "      --time-col NAME  read column NAME of FILE as t\n"
    "      --no-header      FILE (CSV) has no header line: columns c1, c2, ...\n"
    "      --obs-random K   K snapshots per path: time 0 and K-1 uniform\n"
    "                       times on (0, T), sorted (K >= 2)\n"
    "      --emission FILE  draw an observed symbol (column obs) from the\n"
    "                       emission matrix in FILE (or the model's)\n"
    "\n"
    "Common options:\n"
    "  -o, --output FILE    write to FILE (atomically) instead of stdout\n"
    "      --format csv|bin output format (default csv, bin for *.stb)\n"
    "      --compress       zlib-compress binary chunks\n"
    "      --seed N         random seed (default 1); path k uses stream k\n"
    "  -j, --threads N      threads (results do not depend on N)\n"
    "  -q, --quiet          errors only;  -v, --verbose  more detail\n"
    "  -h, --help           this help;  --version  print the version\n";

enum { OPT_UNTIL = ST_OPT_TOOL, OPT_EVERY, OPT_TIMES, OPT_RANDOM, OPT_EMISSION, OPT_MAXJUMPS };

typedef struct wctx {
    st_writer *w;
} wctx;

static int write_row(const double *row, size_t ncols, void *ctx, st_err *e)
{
    (void)ncols;
    return st_writer_row(((wctx *)ctx)->w, row, e);
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "mjp-sample", USAGE);
    static const struct option longopts[] = {ST_CLI_LONGOPTS,
                                             ST_CLI_OPT_TIME_COL,
                                             ST_CLI_OPT_NO_HEADER,
                                             {"model", required_argument, NULL, 'm'},
                                             {"paths", required_argument, NULL, 'n'},
                                             {"until", required_argument, NULL, OPT_UNTIL},
                                             {"obs-every", required_argument, NULL, OPT_EVERY},
                                             {"obs-times", required_argument, NULL, OPT_TIMES},
                                             {"obs-random", required_argument, NULL, OPT_RANDOM},
                                             {"emission", required_argument, NULL, OPT_EMISSION},
                                             {"max-jumps", required_argument, NULL, OPT_MAXJUMPS},
                                             {NULL, 0, NULL, 0}};
    const char *model = NULL, *times_file = NULL, *emission = NULL;
    st_mjp_sample_opts so = {.scheme = ST_MJP_SAMPLE_PATH};
    long n = -1;
    int c, nschemes = 0;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "m:n:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'n':
            if (st_parse_long(optarg, &n) < 0 || n < 1 || n > 1000000000L)
                st_cli_usage_error(&cli, "-n/--paths must be an integer from 1 to 1e9, not '%s'", optarg);
            break;
        case OPT_UNTIL:
            if (st_parse_double(optarg, &so.until) < 0 || !(so.until > 0) || !isfinite(so.until))
                st_cli_usage_error(&cli, "--until must be a positive number, not '%s'", optarg);
            break;
        case OPT_EVERY:
            if (st_parse_double(optarg, &so.every) < 0 || !(so.every > 0) || !isfinite(so.every))
                st_cli_usage_error(&cli, "--obs-every must be a positive number, not '%s'", optarg);
            so.scheme = ST_MJP_SAMPLE_EVERY;
            nschemes++;
            break;
        case OPT_TIMES:
            times_file = optarg;
            so.scheme = ST_MJP_SAMPLE_TIMES;
            nschemes++;
            break;
        case OPT_RANDOM: {
            long k;
            if (st_parse_long(optarg, &k) < 0 || k < 2 || k > 100000000L)
                st_cli_usage_error(&cli, "--obs-random must be an integer from 2 to 1e8, not '%s'", optarg);
            so.nrandom = (size_t)k;
            so.scheme = ST_MJP_SAMPLE_RANDOM;
            nschemes++;
            break;
        }
        case OPT_EMISSION:
            emission = optarg;
            break;
        case OPT_MAXJUMPS: {
            long v;
            if (st_parse_long(optarg, &v) < 0 || v < 1 || v > 1000000000L)
                st_cli_usage_error(&cli, "--max-jumps must be an integer from 1 to 1e9, not '%s'", optarg);
            so.max_jumps = (size_t)v;
            break;
        }
        default:
            st_cli_usage_error(&cli, NULL);
        }
    }
    if (!model)
        st_cli_usage_error(&cli, "-m/--model is required");
    if (n < 0)
        st_cli_usage_error(&cli, "-n/--paths is required");
    if (!(so.until > 0))
        st_cli_usage_error(&cli, "--until is required");
    if (nschemes > 1)
        st_cli_usage_error(&cli, "give at most one of --obs-every, --obs-times, --obs-random");
    if (optind < argc)
        st_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    st_cli_threads(&cli);
    so.npaths = (size_t)n;
    so.seed = cli.seed;

    st_err err;
    st_err_clear(&err);
    st_mjp *m = NULL;
    st_table *tt = NULL;
    double *times = NULL;
    st_writer *w = NULL;
    char *meta = NULL;
    st_output out = {0};
    int rc = st_mjp_read(&m, model, &err);
    if (rc == 0 && emission)
        rc = st_mjp_read_emission(m, emission, &err);
    if (rc == 0 && emission)
        so.emit = 1;
    if (rc == 0 && times_file) {
        rc = st_table_read(&tt, times_file, &err);
        int ct = rc == 0 ? st_table_col(tt, "t") : -1;
        if (rc == 0 && ct < 0)
            rc = st_err_set(&err, ST_EDATA, st_display_name(times_file), 0, 0, "no column 't'");
        if (rc == 0 && tt->nrows == 0)
            rc = st_err_set(&err, ST_EDATA, st_display_name(times_file), 0, 0, "no observation times");
        if (rc == 0 && !(times = malloc(tt->nrows * sizeof *times)))
            rc = st_err_nomem(&err, "observation times");
        for (size_t i = 0; rc == 0 && i < tt->nrows; i++) {
            times[i] = st_table_get(tt, i, (size_t)ct);
            if (!isfinite(times[i]) || times[i] < 0 || times[i] > so.until || (i && times[i] < times[i - 1]))
                rc = st_err_set(&err, ST_EDATA, st_display_name(times_file), (long)i + 2, 0,
                                "observation time %g must be in [0, --until] and not decreasing", times[i]);
        }
        so.times = times;
        so.ntimes = tt ? tt->nrows : 0;
    }
    int fmt = st_cli_output_format(&cli);
    if (rc == 0)
        rc = st_output_open(&out, cli.output, fmt == ST_FMT_BIN, &err);
    if (rc == 0)
        rc = st_meta_json(&meta, "mjp-sample", 1, cli.seed, model, NULL, &err);
    if (rc == 0) {
        const char *names[] = {"seq", "t", "state", "obs"};
        const st_dtype dt[] = {ST_I8, ST_F8, ST_I8, ST_I8};
        st_writer_opts wo = {.format = fmt, .codec = cli.compress ? ST_CODEC_ZLIB : ST_CODEC_RAW,
                             .meta_json = meta};
        rc = st_writer_new(&w, out.fp, names, dt, so.emit ? 4 : 3, &wo, &err);
    }
    if (rc == 0) {
        wctx wc = {w};
        rc = st_mjp_sample(m, &so, write_row, &wc, &err);
    }
    if (rc == 0) {
        rc = st_writer_close(w, &err);
        w = NULL;
    }
    st_writer_free(w);
    free(meta);
    free(times);
    st_table_free(tt);
    st_mjp_free(m);
    return st_cli_finish(&cli, &out, rc, &err);
}

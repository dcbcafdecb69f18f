/* stoch-plot: pictures of the toolkit's outputs through gnuplot.
 * Thin driver: options -> st_plot_opts, read the streams, write the script
 * (lib/plot), then print it (--script) or run gnuplot on it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/stream.h"
#include "plot/plot.h"

static const char USAGE[] =
    "Usage: stoch-plot KIND [OPTION]... [STREAM]...\n"
    "Draw the output of a stochtools program with gnuplot: a PNG, SVG or PDF\n"
    "file (by the suffix of -o), or the terminal (sixel when it has it, else\n"
    "text) when standard output is one.  STREAM: CSV (plain or gzip) or\n"
    "binary streams, concatenated; standard input if none.\n"
    "\n"
    "Kinds (and what they read):\n"
    "  forecast    ssm-forecast: mean and interval fans; --data for the history\n"
    "              (its values inside the horizon are drawn as holdout actuals)\n"
    "  states      hmm-decode --with-data (--viterbi or --posterior), hmm-sample,\n"
    "              mjp-infer --viterbi: observations over state colour bands\n"
    "  smooth      pf-smooth, ssm-forecast --smooth: smoothed means and intervals;\n"
    "              --data for observations, --draws for pf-smooth --draws paths\n"
    "  roc, pr, rejection\n"
    "              uq-eval --curves: every score on one plot, areas in the legend\n"
    "  transition  mjp-infer --pmatrix-grid: P(t) from each starting state, or\n"
    "              --survival\n"
    "  trace       hmm-fit --trace and chains: traced columns against iter\n"
    "\n"
    "Output:\n"
    "  -o, --output FILE    the picture, written atomically; its suffix (.png,\n"
    "                       .svg, .pdf) sets the type\n"
    "      --type T         png, svg, pdf, dumb (text) or sixel\n"
    "      --script         print the gnuplot script (data inline) instead of\n"
    "                       running gnuplot; -o then names the picture it makes\n"
    "      --size WxH       pixels (characters for dumb); default 640x400 for\n"
    "                       one panel, more for small multiples\n"
    "      --title TEXT     title of a one-panel picture\n"
    "Data:\n"
    "  -c, --columns LIST   forecast, smooth: the value column of --data\n"
    "                       (default y); states: observation columns; roc, pr,\n"
    "                       rejection: scores; trace: traced columns\n"
    "  -t, --time NAME      time column of --data (default t, else the row\n"
    "                       number from 1, as ssm-forecast counts); trace:\n"
    "                       the iteration column (default iter)\n"
    "      --data FILE      observations or history (forecast, smooth)\n"
    "      --draws FILE     sampled trajectories, pf-smooth --draws (smooth)\n"
    "      --seq-col NAME   read column NAME of --data as seq\n"
    "      --time-col NAME  read column NAME of --data as t\n"
    "      --seq LIST       sequences to draw, e.g. 1,3..5 (default: all;\n"
    "                       states: the first)\n"
    "      --max-panels N   small multiples at most, 1..100 (default 12)\n"
    "      --panels LIST    smooth: states or components; transition: starting\n"
    "                       states (default all)\n"
    "      --survival       transition: survival from each starting state\n"
    "      --max-draws N    smooth: trajectories at most (default 20)\n"
    "      --dates D[,STEP] time axis as dates: t = 1 is D (YYYY, YYYY-MM,\n"
    "                       YYYY-Qn or YYYY-MM-DD), one STEP (day, week, month,\n"
    "                       quarter, year; default from D's form) per unit of t\n"
    "      --gnuplot PROG   the gnuplot to run (default: gnuplot in PATH)\n"
    "Common:\n"
    "  -q, --quiet          errors only (no notes, no gnuplot warnings)\n"
    "  -v, --verbose        more notes\n"
    "  -h, --help           this help\n"
    "      --version        print the version\n"
    "\n"
    "Exit status: 0 success, 1 bad data or gnuplot failure, 2 usage error.\n"
    "Examples:\n"
    "  ssm-forecast -c flow -t year -H 10 data/nile.csv |\n"
    "      stoch-plot forecast --data data/nile.csv -c flow -t year -o nile.png\n"
    "  hmm-decode -m fit.yaml --posterior --with-data data.csv | stoch-plot states\n"
    "  uq-eval -l correct --curves c.csv s.csv && stoch-plot roc c.csv -o roc.svg\n";

enum {
    OPT_TYPE = ST_OPT_TOOL,
    OPT_SCRIPT,
    OPT_SIZE,
    OPT_TITLE,
    OPT_DATA,
    OPT_DRAWS,
    OPT_SEQ,
    OPT_MAXPANELS,
    OPT_PANELS,
    OPT_SURVIVAL,
    OPT_MAXDRAWS,
    OPT_DATES,
    OPT_GNUPLOT
};

static void note(void *ctx, const char *msg)
{
    st_cli_log(ctx, 1, "%s", msg);
}

/* Print gnuplot's messages (warnings on success) as notes. */
static void pass_messages(const st_cli *cli, const char *msgs)
{
    for (const char *p = msgs; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0 && strspn(p, " \t\r") < n)
            st_cli_log(cli, 1, "gnuplot: %.*s", (int)n, p);
        p = end ? end + 1 : p + n;
    }
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "stoch-plot", USAGE);
    st_plot_opts o;
    st_plot_opts_init(&o);
    const char *data = NULL, *draws = NULL, *gnuplot = NULL;
    int type = -1, script = 0;
    static const struct option longopts[] = {ST_CLI_LONGOPTS,
                                             ST_CLI_OPT_SEQ_COL,
                                             ST_CLI_OPT_TIME_COL,
                                             {"type", required_argument, NULL, OPT_TYPE},
                                             {"script", no_argument, NULL, OPT_SCRIPT},
                                             {"size", required_argument, NULL, OPT_SIZE},
                                             {"title", required_argument, NULL, OPT_TITLE},
                                             {"columns", required_argument, NULL, 'c'},
                                             {"time", required_argument, NULL, 't'},
                                             {"data", required_argument, NULL, OPT_DATA},
                                             {"draws", required_argument, NULL, OPT_DRAWS},
                                             {"seq", required_argument, NULL, OPT_SEQ},
                                             {"max-panels", required_argument, NULL, OPT_MAXPANELS},
                                             {"panels", required_argument, NULL, OPT_PANELS},
                                             {"survival", no_argument, NULL, OPT_SURVIVAL},
                                             {"max-draws", required_argument, NULL, OPT_MAXDRAWS},
                                             {"dates", required_argument, NULL, OPT_DATES},
                                             {"gnuplot", required_argument, NULL, OPT_GNUPLOT},
                                             {NULL, 0, NULL, 0}};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "c:t:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case OPT_TYPE:
            if ((type = st_plot_term_parse(optarg)) < 0)
                st_cli_usage_error(&cli, "--type must be png, svg, pdf, dumb or sixel, not '%s'", optarg);
            break;
        case OPT_SCRIPT:
            script = 1;
            break;
        case OPT_SIZE: {
            int w, h, n = 0;
            if (sscanf(optarg, "%dx%d%n", &w, &h, &n) != 2 || optarg[n] || w < 10 || h < 5 || w > 20000 ||
                h > 20000)
                st_cli_usage_error(&cli, "--size must be WxH with 10 <= W, 5 <= H, both <= 20000, not '%s'", optarg);
            o.width = w;
            o.height = h;
            break;
        }
        case OPT_TITLE:
            o.title = optarg;
            break;
        case 'c':
            if (!*optarg)
                st_cli_usage_error(&cli, "--columns needs a list of column names");
            o.columns = optarg;
            break;
        case 't':
            o.time = optarg;
            break;
        case OPT_DATA:
            data = optarg;
            break;
        case OPT_DRAWS:
            draws = optarg;
            break;
        case OPT_SEQ:
            if (!*optarg || strspn(optarg, "0123456789.,-") != strlen(optarg))
                st_cli_usage_error(&cli, "--seq must be a list of numbers and ranges (1,3..5), not '%s'", optarg);
            o.seqs = optarg;
            break;
        case OPT_MAXPANELS:
            if (st_parse_long(optarg, &v) < 0 || v < 1 || v > 100)
                st_cli_usage_error(&cli, "--max-panels must be an integer from 1 to 100, not '%s'", optarg);
            o.max_panels = (size_t)v;
            break;
        case OPT_PANELS:
            if (!*optarg)
                st_cli_usage_error(&cli, "--panels needs a list");
            o.panels = optarg;
            break;
        case OPT_SURVIVAL:
            o.survival = 1;
            break;
        case OPT_MAXDRAWS:
            if (st_parse_long(optarg, &v) < 0 || v < 0 || v > 10000)
                st_cli_usage_error(&cli, "--max-draws must be an integer from 0 to 10000, not '%s'", optarg);
            o.max_draws = v ? (size_t)v : (size_t)-1; /* 0: none */
            break;
        case OPT_DATES:
            if (st_plot_dates_parse(optarg, &o.dates) < 0)
                st_cli_usage_error(&cli,
                                   "--dates must be YYYY, YYYY-MM, YYYY-Qn or YYYY-MM-DD, optionally ,STEP "
                                   "(day, week, month, quarter, year), not '%s'",
                                   optarg);
            break;
        case OPT_GNUPLOT:
            gnuplot = optarg;
            break;
        default:
            st_cli_usage_error(&cli, NULL);
        }
    }
    if (optind >= argc)
        st_cli_usage_error(&cli, "which picture? give KIND: forecast, states, smooth, roc, pr, rejection, "
                                 "transition or trace");
    int kind = st_plot_kind_parse(argv[optind]);
    if (kind < 0)
        st_cli_usage_error(&cli, "unknown KIND '%s': forecast, states, smooth, roc, pr, rejection, transition or "
                                 "trace",
                           argv[optind]);
    o.kind = (st_plot_kind)kind;
    optind++;
    if (cli.format != ST_FMT_AUTO || cli.compress)
        st_cli_usage_error(&cli, "--format and --compress are for streams: the picture's type comes from -o or --type");
    if (o.survival && o.kind != ST_PLOT_TRANSITION)
        st_cli_usage_error(&cli, "--survival applies to transition");
    if (draws && o.kind != ST_PLOT_SMOOTH)
        st_cli_usage_error(&cli, "--draws applies to smooth");
    if (data && o.kind != ST_PLOT_FORECAST && o.kind != ST_PLOT_SMOOTH)
        st_cli_usage_error(&cli, "--data applies to forecast and smooth");
    if ((cli.role[ST_ROLE_SEQ] || cli.role[ST_ROLE_TIME]) && !data)
        st_cli_usage_error(&cli, "--seq-col and --time-col name columns of --data");
    if (cli.role[ST_ROLE_TIME] && o.time)
        st_cli_usage_error(&cli, "give the time column of --data once: --time-col or -t");
    if (o.panels && o.kind != ST_PLOT_SMOOTH && o.kind != ST_PLOT_TRANSITION)
        st_cli_usage_error(&cli, "--panels applies to smooth and transition");
    const char *path = cli.output && strcmp(cli.output, "-") != 0 ? cli.output : NULL;
    int tty = isatty(STDOUT_FILENO);
    if (type < 0 && path) {
        type = st_plot_term_for_path(path);
        if (type < 0)
            st_cli_usage_error(&cli, "cannot tell the picture type of '%s': name it .png, .svg or .pdf, or give --type",
                               path);
    }
    if (type < 0)
        type = script || !tty ? ST_PLOT_PNG : st_plot_tty_sixel(STDOUT_FILENO, 200) ? ST_PLOT_SIXEL : ST_PLOT_DUMB;
    o.term = (st_plot_term)type;
    if (!path && !script && tty && (o.term == ST_PLOT_PNG || o.term == ST_PLOT_PDF))
        st_cli_usage_error(&cli, "refusing to write a %s to a terminal: use -o FILE or redirect",
                           st_plot_term_name(o.term));
    if (o.term == ST_PLOT_DUMB && !path && tty && !script) {
        struct winsize ws;
        o.ansi = 1;
        if (o.width == 0 && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20 && ws.ws_row >= 10) {
            o.width = ws.ws_col;
            o.height = ws.ws_row - 1;
        }
    }

    st_err e;
    st_err_clear(&e);
    st_output out = {0};
    st_table *main_t = NULL, *data_t = NULL, *draws_t = NULL;
    char *text = NULL, *msgs = NULL;
    size_t len = 0;
    FILE *mem = NULL;
    /* the role options name columns of --data; the programs' outputs use
     * the fixed names */
    const st_reader_opts ours = {.keep_names = 1};
    int rc = st_table_read_opts(&main_t, (const char *const *)argv + optind, (size_t)(argc - optind), &ours, &e);
    if (rc == 0 && data)
        rc = st_table_read(&data_t, data, &e);
    if (rc == 0 && draws)
        rc = st_table_read_opts(&draws_t, &draws, 1, &ours, &e);
    if (rc < 0)
        goto done;
    /* the script names the picture: the final name for --script, else the
     * temporary that is renamed into place when gnuplot succeeds */
    if (!script && path) {
        if ((rc = st_output_open(&out, path, 0, &e)) < 0)
            goto done;
        o.output = out.tmppath ? out.tmppath : path;
    } else {
        o.output = path;
    }
    if (!(mem = open_memstream(&text, &len))) {
        rc = st_err_nomem(&e, "the script");
        goto done;
    }
    st_plot_inputs in = {main_t, data_t, draws_t};
    rc = st_plot_script(mem, &o, &in, note, &cli, &e);
    if (fclose(mem) != 0 && rc == 0)
        rc = st_err_nomem(&e, "the script");
    mem = NULL;
    if (rc < 0)
        goto done;
    if (script) {
        if (fwrite(text, 1, len, stdout) != len)
            rc = st_err_set(&e, ST_EIO, NULL, 0, 0, "write error on standard output");
        goto done;
    }
    rc = st_plot_run(gnuplot, text, len, &msgs, &e);
    if (rc == 0)
        pass_messages(&cli, msgs);
done:
    free(text);
    free(msgs);
    st_table_free(main_t);
    st_table_free(data_t);
    st_table_free(draws_t);
    return st_cli_finish(&cli, path && !script ? &out : NULL, rc, &e);
}

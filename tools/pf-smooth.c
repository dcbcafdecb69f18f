/* pf-smooth: particle filter and smoothers for state-space models written
 * in YAML (or built in).  Thin driver: options, read, st_pf_run, write. */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/vmath.h" /* st_simd_path for -v */
#include "core/stream.h"
#include "smc/func.h"
#include "smc/model.h"
#include "smc/pf.h"
#include "smc/series.h"

static const char usage[] =
    "Usage: pf-smooth (-m MODEL | --builtin NAME) [OPTIONS] [DATA...]\n"
    "Particle filter and smoothers for a state-space model: filtered and\n"
    "smoothed means, sds and quantiles per time step, the log-likelihood,\n"
    "or smoothed trajectories.  DATA (CSV or binary stream, default stdin)\n"
    "has the model's observation columns (NaN = missing), its covariates, and\n"
    "optionally t (time) and seq (independent series).\n"
    "\n"
    "Model:\n"
    "  -m, --model FILE       model file (stoch-model(5), model: pf)\n"
    "      --builtin NAME     built-in model with its default parameters:\n"
    "                         stochastic-volatility, growth, bearings-only\n"
    "Columns:\n"
    "      --seq-col NAME     read column NAME as seq (the series ids)\n"
    "      --time-col NAME    read column NAME as t\n"
    "      --no-header        CSV input has no header line: columns c1, c2, ...\n"
    "Algorithm:\n"
    "      --filter           bootstrap filter only (default)\n"
    "      --smoother S       ffbsm | ffbsi | paris | fixed-lag:L | pg | ppg\n"
    "  -N, --particles N      particles, >= 2 (default 1000)\n"
    "      --resample S       systematic (default), stratified, multinomial, residual\n"
    "      --ess X            resample when ESS < X*N, 0..1 (default 0.5)\n"
    "      --always           resample at every step\n"
    "  -K, --backward K       PaRIS/PPG backward draws per particle, >= 2 (default 2)\n"
    "      --trajectories M   FFBSi backward trajectories (default N)\n"
    "      --max-tries N      rejection proposals per backward draw before the\n"
    "                         fallback (2 MH moves from the particle's ancestor),\n"
    "                         0..100000 (default 32; 0: always the exact O(N) draw)\n"
    "      --mcmc S           every backward draw by S Metropolis-Hastings moves from\n"
    "                         the particle's ancestor (O(S), no rejection)\n"
    "      --iter N           PG/PPG iterations kept after burn-in, >= 1 (default 50)\n"
    "      --burn N           PG/PPG burn-in iterations (default 10)\n"
    "      --ancestor         PG with ancestor sampling (default: backward sampling)\n"
    "      --ffbsm-max N      largest N that FFBSm accepts (default: N^2 T <= 1e9\n"
    "                         particle pairs, about a minute of work)\n"
    "Output:\n"
    "      --quantiles LIST   quantile levels, e.g. 0.05,0.5,0.95 (default none)\n"
    "      --draws M          write M smoothed trajectories (draw,t,x...) instead\n"
    "      --loglik           write only the log-likelihood estimate\n"
    "      --functionals FILE write the smoothed additive functionals (name,\n"
    "                         component, value) to FILE: the model's\n"
    "                         `functionals:`, --functional and --score, else sum_x,\n"
    "                         sum_x2 and sum_xx1 (ffbsm, ffbsi, paris, ppg)\n"
    "      --functional N=EXPR  a functional sum_t EXPR over x_prev, x, y, t, the\n"
    "                         covariates and parameters (repeatable); N alone adds\n"
    "                         the built-in sum_x, sum_x2 or sum_xx1\n"
    "      --score            the score: gradient of the log-likelihood in the\n"
    "                         model's parameters (Fisher's identity)\n"
    "      --online           PaRIS: the functionals only, in O(N) memory (the\n"
    "                         per-step output is then the filter's)\n"
    "Common:\n"
    "  -o, --output FILE      write here (atomically) instead of stdout\n"
    "      --format csv|bin   output format (default csv; bin for -o *.stb)\n"
    "      --compress         zlib-compress binary chunks\n"
    "      --seed N           random seed (default 1)\n"
    "  -j, --threads N        threads over particles; results do not depend on it\n"
    "  -q, --quiet            errors only;  -v, --verbose  log-likelihood and details\n"
    "  -h, --help             this help;    --version\n"
    "\n"
    "Output columns: [seq,] t, ess, llinc (log-likelihood increment),\n"
    "resampled, then per state x: x_fmean, x_fsd, x_fqP... (filtered) and with\n"
    "a smoother x_smean, x_ssd, x_sqP... (P = level in percent).\n";

enum {
    OPT_BUILTIN = ST_OPT_TOOL,
    OPT_FILTER,
    OPT_SMOOTHER,
    OPT_RESAMPLE,
    OPT_ESS,
    OPT_ALWAYS,
    OPT_TRAJ,
    OPT_MAXTRIES,
    OPT_ITER,
    OPT_MCMC,
    OPT_BURN,
    OPT_ANCESTOR,
    OPT_FFBSM_MAX,
    OPT_QUANTILES,
    OPT_DRAWS,
    OPT_LOGLIK,
    OPT_FUNCTIONALS,
    OPT_FUNCTIONAL,
    OPT_SCORE,
    OPT_ONLINE
};

typedef struct options {
    const char *model, *builtin, *functionals;
    const char **fexpr; /* --functional arguments */
    size_t nfexpr;
    int score;
    st_pf_opts pf;
    double *q;
    size_t nq;
    int loglik_only;
} options;

static size_t parse_count(const st_cli *cli, const char *opt, const char *arg, long lo, long hi)
{
    long v;
    if (st_parse_long(arg, &v) < 0 || v < lo || v > hi)
        st_cli_usage_error(cli, "%s must be an integer from %ld to %ld, not '%s'", opt, lo, hi, arg);
    return (size_t)v;
}

static void parse_smoother(const st_cli *cli, const char *arg, st_pf_opts *o)
{
    if (strcmp(arg, "ffbsm") == 0)
        o->smoother = ST_SM_FFBSM;
    else if (strcmp(arg, "ffbsi") == 0)
        o->smoother = ST_SM_FFBSI;
    else if (strcmp(arg, "paris") == 0)
        o->smoother = ST_SM_PARIS;
    else if (strcmp(arg, "pg") == 0)
        o->smoother = ST_SM_PG;
    else if (strcmp(arg, "ppg") == 0)
        o->smoother = ST_SM_PPG;
    else if (strncmp(arg, "fixed-lag:", 10) == 0) {
        o->smoother = ST_SM_FIXEDLAG;
        o->lag = parse_count(cli, "the lag of fixed-lag:L", arg + 10, 0, 100000000);
    } else
        st_cli_usage_error(cli, "--smoother must be ffbsm, ffbsi, paris, fixed-lag:L, pg or ppg, not '%s'", arg);
}

static void qname(char *buf, size_t n, const char *x, const char *kind, double q)
{
    snprintf(buf, n, "%s_%sq%g", x, kind, q * 100);
}

/* The functionals asked for: the model's, --functional's and the score;
 * the built-in sums when there are none. */
static int make_functionals(const options *opt, const st_pf_model *m, st_pf_funcs **out, st_err *e)
{
    st_pf_funcs *f = NULL;
    int rc = st_pf_funcs_new(&f, m, e);
    if (rc == 0)
        rc = st_pf_funcs_add_model(f, e);
    for (size_t i = 0; rc == 0 && i < opt->nfexpr; i++) {
        const char *a = opt->fexpr[i], *eq = strchr(a, '=');
        if (!eq) {
            rc = st_pf_funcs_add_builtin(f, a, e);
            continue;
        }
        char name[128];
        size_t len = (size_t)(eq - a);
        int ok = len > 0 && len < sizeof name && (isalpha((unsigned char)a[0]) || a[0] == '_');
        for (size_t k = 0; ok && k < len; k++)
            ok = isalnum((unsigned char)a[k]) || a[k] == '_';
        if (!ok) {
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0,
                            "--functional wants NAME=EXPR with NAME letters, digits and _ (not '%.*s')",
                            (int)(len > 60 ? 60 : len), a);
            break;
        }
        memcpy(name, a, len);
        name[len] = '\0';
        if (strcmp(name, "score") == 0) {
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "'score' is the name of --score's functionals");
            break;
        }
        st_expr_src src = {"--functional", 0, 0};
        if ((rc = st_pf_funcs_add_expr(f, name, eq + 1, &src, e)) < 0)
            e->code = rc = ST_EUSAGE; /* a command-line mistake */
    }
    if (rc == 0 && opt->score)
        rc = st_pf_funcs_add_score(f, e);
    if (rc == 0 && st_pf_funcs_count(f) == 0) {
        static const char *const sums[] = {"sum_x", "sum_x2", "sum_xx1"};
        for (int i = 0; rc == 0 && i < 3; i++)
            rc = st_pf_funcs_add_builtin(f, sums[i], e);
    }
    if (rc < 0) {
        st_pf_funcs_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

int main(int argc, char **argv)
{
    st_cli_passive_openmp(argv);
    st_cli cli;
    st_cli_init(&cli, "pf-smooth", usage);
    options opt;
    memset(&opt, 0, sizeof opt);
    st_pf_opts_init(&opt.pf);
    static const struct option longopts[] = {
        ST_CLI_LONGOPTS,
        ST_CLI_OPT_SEQ_COL,
        ST_CLI_OPT_TIME_COL,
        ST_CLI_OPT_NO_HEADER,
        {"model", required_argument, NULL, 'm'},
        {"builtin", required_argument, NULL, OPT_BUILTIN},
        {"filter", no_argument, NULL, OPT_FILTER},
        {"smoother", required_argument, NULL, OPT_SMOOTHER},
        {"particles", required_argument, NULL, 'N'},
        {"resample", required_argument, NULL, OPT_RESAMPLE},
        {"ess", required_argument, NULL, OPT_ESS},
        {"always", no_argument, NULL, OPT_ALWAYS},
        {"backward", required_argument, NULL, 'K'},
        {"trajectories", required_argument, NULL, OPT_TRAJ},
        {"max-tries", required_argument, NULL, OPT_MAXTRIES},
        {"iter", required_argument, NULL, OPT_ITER},
        {"mcmc", required_argument, NULL, OPT_MCMC},
        {"burn", required_argument, NULL, OPT_BURN},
        {"ancestor", no_argument, NULL, OPT_ANCESTOR},
        {"ffbsm-max", required_argument, NULL, OPT_FFBSM_MAX},
        {"quantiles", required_argument, NULL, OPT_QUANTILES},
        {"draws", required_argument, NULL, OPT_DRAWS},
        {"loglik", no_argument, NULL, OPT_LOGLIK},
        {"functionals", required_argument, NULL, OPT_FUNCTIONALS},
        {"functional", required_argument, NULL, OPT_FUNCTIONAL},
        {"score", no_argument, NULL, OPT_SCORE},
        {"online", no_argument, NULL, OPT_ONLINE},
        {NULL, 0, NULL, 0}};
    int c, filter_flag = 0, smoother_flag = 0;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "m:N:K:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case 'm': opt.model = optarg; break;
        case OPT_BUILTIN: opt.builtin = optarg; break;
        case OPT_FILTER: filter_flag = 1; opt.pf.smoother = ST_SM_NONE; break;
        case OPT_SMOOTHER: smoother_flag = 1; parse_smoother(&cli, optarg, &opt.pf); break;
        case 'N': opt.pf.N = parse_count(&cli, "-N/--particles", optarg, 0, 100000000); break;
        case OPT_RESAMPLE:
            if (st_resample_parse(optarg, &opt.pf.scheme) < 0)
                st_cli_usage_error(&cli, "--resample must be systematic, stratified, multinomial or residual, not '%s'", optarg);
            break;
        case OPT_ESS:
            if (st_parse_double(optarg, &opt.pf.ess) < 0 || opt.pf.ess < 0 || opt.pf.ess > 1)
                st_cli_usage_error(&cli, "--ess must be a number from 0 to 1, not '%s'", optarg);
            break;
        case OPT_ALWAYS: opt.pf.always = 1; break;
        case 'K': opt.pf.K = parse_count(&cli, "-K/--backward", optarg, 2, 1000); break;
        case OPT_TRAJ: opt.pf.M = parse_count(&cli, "--trajectories", optarg, 1, 100000000); break;
        case OPT_MAXTRIES:
            opt.pf.max_tries = parse_count(&cli, "--max-tries", optarg, 0, 100000);
            opt.pf.exact_backward = opt.pf.max_tries == 0;
            break;
        case OPT_MCMC: opt.pf.mcmc = parse_count(&cli, "--mcmc", optarg, 1, 1000); break;
        case OPT_ITER: opt.pf.iter = parse_count(&cli, "--iter", optarg, 1, 10000000); break;
        case OPT_BURN: opt.pf.burn = parse_count(&cli, "--burn", optarg, 0, 10000000); break;
        case OPT_ANCESTOR: opt.pf.ancestor = 1; break;
        case OPT_FFBSM_MAX: opt.pf.ffbsm_max = parse_count(&cli, "--ffbsm-max", optarg, 2, 100000000); break;
        case OPT_QUANTILES:
            free(opt.q);
            if (st_parse_double_list(optarg, &opt.q, &opt.nq) < 0)
                st_cli_usage_error(&cli, "--quantiles must be a comma-separated list of numbers, not '%s'", optarg);
            for (size_t k = 0; k < opt.nq; k++)
                if (!(opt.q[k] > 0 && opt.q[k] < 1) || (k && !(opt.q[k] > opt.q[k - 1])))
                    st_cli_usage_error(&cli, "--quantiles must be increasing levels in (0, 1), not '%s'", optarg);
            if (opt.nq > 16)
                st_cli_usage_error(&cli, "--quantiles: at most 16 levels");
            break;
        case OPT_DRAWS: opt.pf.draws = parse_count(&cli, "--draws", optarg, 1, 100000000); break;
        case OPT_LOGLIK: opt.loglik_only = 1; break;
        case OPT_FUNCTIONALS: opt.functionals = optarg; break;
        case OPT_FUNCTIONAL: {
            const char **v = realloc(opt.fexpr, (opt.nfexpr + 1) * sizeof *v);
            if (!v)
                st_cli_usage_error(&cli, "out of memory");
            opt.fexpr = v;
            opt.fexpr[opt.nfexpr++] = optarg;
            break;
        }
        case OPT_SCORE: opt.score = 1; break;
        case OPT_ONLINE: opt.pf.online = 1; break;
        default: st_cli_usage_error(&cli, NULL);
        }
    }
    if (filter_flag && smoother_flag)
        st_cli_usage_error(&cli, "--filter and --smoother exclude each other");
    if (!opt.model == !opt.builtin)
        st_cli_usage_error(&cli, "give a model: -m FILE or --builtin NAME (one of them)");
    if (opt.loglik_only && opt.pf.draws)
        st_cli_usage_error(&cli, "--loglik and --draws exclude each other");
    if ((opt.nfexpr || opt.score) && !opt.functionals)
        st_cli_usage_error(&cli, "--functional and --score write to the file of --functionals FILE");
    if (opt.functionals && opt.pf.smoother != ST_SM_PARIS && opt.pf.smoother != ST_SM_PPG &&
        opt.pf.smoother != ST_SM_FFBSI && opt.pf.smoother != ST_SM_FFBSM)
        st_cli_usage_error(&cli, "--functionals needs --smoother paris, ppg, ffbsi or ffbsm");
    if (opt.pf.online && (opt.pf.smoother != ST_SM_PARIS || opt.pf.draws))
        st_cli_usage_error(&cli, "--online needs --smoother paris (and no --draws)");
    opt.pf.loglik_only = opt.loglik_only && opt.pf.smoother == ST_SM_NONE;
    opt.pf.q = opt.q;
    opt.pf.nq = opt.nq;
    opt.pf.seed = cli.seed;
    st_cli_threads(&cli);

    st_err err;
    st_err_clear(&err);
    st_output out;
    memset(&out, 0, sizeof out);
    st_pf_model *m = NULL;
    st_table *tab = NULL;
    st_group *groups = NULL;
    size_t ngroups = 0;
    st_writer *w = NULL;
    st_output fout;
    memset(&fout, 0, sizeof fout);
    int fout_open = 0;
    st_pf_funcs *funcs = NULL;
    char **names = NULL;
    size_t ncols = 0;
    double *row = NULL;
    st_pf_series s;
    memset(&s, 0, sizeof s);
    st_pf_result *res = NULL;
    st_pf_columns cols;
    char *meta = NULL;
    int rc;

    if (opt.builtin) {
        char text[256];
        int ok = 0;
        for (int i = 0; st_pf_builtin_names[i]; i++)
            ok |= strcmp(st_pf_builtin_names[i], opt.builtin) == 0;
        if (!ok || strcmp(opt.builtin, "linear-gaussian") == 0)
            st_cli_usage_error(&cli, "--builtin must be stochastic-volatility, growth or bearings-only, not '%s' "
                                     "(linear-gaussian needs its matrices: write a model file)", opt.builtin);
        snprintf(text, sizeof text, "model: pf\nversion: 1\nbuiltin: %s\n", opt.builtin);
        rc = st_pf_model_load_string(&m, text, "--builtin", &err);
    } else {
        rc = st_pf_model_load(&m, opt.model, &err);
    }
    if (rc < 0)
        goto done;
    if (opt.functionals && (rc = make_functionals(&opt, m, &funcs, &err)) < 0)
        goto done;
    opt.pf.funcs = funcs;
    if (opt.pf.N < 2) {
        rc = st_err_set(&err, ST_EDATA, NULL, 0, 0, "need at least 2 particles (-N), not %zu", opt.pf.N);
        goto done;
    }
    const char *const *paths = (const char *const *)(argv + optind);
    if ((rc = st_table_read_many(&tab, paths, (size_t)(argc - optind), &err)) < 0)
        goto done;
    size_t dx = st_pf_model_dx(m);
    if ((rc = st_pf_columns_find(m, tab, &cols, &err)) < 0)
        goto done;
    int seqcol = cols.seq;
    if ((rc = st_table_groups(tab, seqcol, &groups, &ngroups, &err)) < 0)
        goto done;
    if (tab->nrows == 0) {
        rc = st_err_set(&err, ST_EDATA, tab->source, 0, 0, "no data rows");
        goto done;
    }

    /* output columns */
    int has_seq = seqcol >= 0;
    size_t nq = opt.nq, per = 2 + nq;
    int smooth = opt.pf.smoother != ST_SM_NONE && !opt.pf.online;
    if (opt.loglik_only)
        ncols = (size_t)has_seq + 2;
    else if (opt.pf.draws)
        ncols = (size_t)has_seq + 2 + dx;
    else
        ncols = (size_t)has_seq + 4 + dx * per * (smooth ? 2 : 1);
    names = calloc(ncols, sizeof *names);
    row = calloc(ncols, sizeof *row);
    if (!names || !row) {
        rc = st_err_nomem(&err, "output");
        goto done;
    }
    {
        size_t k = 0;
        char buf[300];
#define NAME(str) names[k++] = strdup(str)
        if (has_seq)
            NAME("seq");
        if (opt.loglik_only) {
            NAME("loglik");
            NAME("T");
        } else if (opt.pf.draws) {
            NAME("draw");
            NAME("t");
            for (size_t i = 0; i < dx; i++)
                NAME(st_pf_model_xname(m, i));
        } else {
            NAME("t");
            NAME("ess");
            NAME("llinc");
            NAME("resampled");
            for (int sm = 0; sm < (smooth ? 2 : 1); sm++)
                for (size_t i = 0; i < dx; i++) {
                    const char *x = st_pf_model_xname(m, i), *kind = sm ? "s" : "f";
                    snprintf(buf, sizeof buf, "%s_%smean", x, kind);
                    NAME(buf);
                    snprintf(buf, sizeof buf, "%s_%ssd", x, kind);
                    NAME(buf);
                    for (size_t q = 0; q < nq; q++) {
                        qname(buf, sizeof buf, x, kind, opt.q[q]);
                        NAME(buf);
                    }
                }
        }
#undef NAME
        for (size_t j = 0; j < ncols; j++)
            if (!names[j]) {
                rc = st_err_nomem(&err, "output");
                goto done;
            }
    }
    int binary = st_cli_output_format(&cli) == ST_FMT_BIN;
    if ((rc = st_output_open(&out, cli.output, binary, &err)) < 0)
        goto done;
    if ((rc = st_meta_json(&meta, "pf-smooth " ST_VERSION_STRING, 1, cli.seed, tab->source, tab->meta, &err)) < 0)
        goto done;
    st_writer_opts wo = {.format = binary ? ST_FMT_BIN : ST_FMT_CSV,
                         .codec = cli.compress ? ST_CODEC_ZLIB : ST_CODEC_RAW,
                         .meta_json = meta};
    if ((rc = st_writer_new(&w, out.fp, (const char *const *)names, NULL, ncols, &wo, &err)) < 0)
        goto done;
    if (opt.functionals) {
        if ((rc = st_output_open(&fout, opt.functionals, 0, &err)) < 0)
            goto done;
        fout_open = 1;
        fprintf(fout.fp, "%sname,component,value\n", has_seq ? "seq," : "");
    }

    st_cli_log(&cli, 2, "SIMD path %s (ST_SIMD=sse2|avx2|avx512 caps it)", st_simd_name(st_simd_path()));
    for (size_t gi = 0; gi < ngroups; gi++) {
        const st_group *g = &groups[gi];
        st_pf_series_free(&s);
        if ((rc = st_pf_series_extract(m, tab, &cols, g, &s, &err)) < 0)
            goto done;
        st_pf_data d = s.d;
        st_pf_result_free(res);
        res = NULL;
        if ((rc = st_pf_run(m, &d, &opt.pf, &res, &err)) < 0) {
            if (has_seq)
                st_err_prefix(&err, "seq %g: ", g->seq);
            if (err.file[0] == '\0' && err.code == ST_ENUMERIC)
                snprintf(err.file, sizeof err.file, "%s", tab->source);
            goto done;
        }
        if (has_seq)
            st_cli_log(&cli, 2, "seq %g: log-likelihood %.10g", g->seq, res->loglik);
        else
            st_cli_log(&cli, 2, "log-likelihood %.10g", res->loglik);
        if (!isnan(res->accept_rate))
            st_cli_log(&cli, 2, "backward rejection sampler: %.3g of proposals accepted", res->accept_rate);
        if (!isnan(res->fallback_rate))
            st_cli_log(&cli, 2, "backward draws: %.3g by the MH fallback, %.3g exact (O(N))", res->fallback_rate,
                       res->exact_rate);
        size_t T = g->n;
        if (opt.loglik_only) {
            size_t k = 0;
            if (has_seq)
                row[k++] = g->seq;
            row[k++] = res->loglik;
            row[k++] = (double)T;
            if ((rc = st_writer_row(w, row, &err)) < 0)
                goto done;
        } else if (opt.pf.draws) {
            for (size_t dr = 0; dr < res->ndraws; dr++)
                for (size_t t = 0; t < T; t++) {
                    size_t k = 0;
                    if (has_seq)
                        row[k++] = g->seq;
                    row[k++] = (double)(dr + 1);
                    row[k++] = s.t[t];
                    for (size_t i = 0; i < dx; i++)
                        row[k++] = res->draws[(dr * T + t) * dx + i];
                    if ((rc = st_writer_row(w, row, &err)) < 0)
                        goto done;
                }
        } else {
            size_t qq = nq ? nq : 1;
            for (size_t t = 0; t < T; t++) {
                size_t k = 0;
                if (has_seq)
                    row[k++] = g->seq;
                row[k++] = s.t[t];
                row[k++] = res->ess[t];
                row[k++] = res->llinc[t];
                row[k++] = res->resampled[t];
                for (int sm = 0; sm < (smooth ? 2 : 1); sm++) {
                    const double *mean = sm ? res->smean : res->fmean, *sd = sm ? res->ssd : res->fsd,
                                 *qv = sm ? res->sq : res->fq;
                    for (size_t i = 0; i < dx; i++) {
                        row[k++] = mean[t * dx + i];
                        row[k++] = sd[t * dx + i];
                        for (size_t q = 0; q < nq; q++)
                            row[k++] = qv[(t * dx + i) * qq + q];
                    }
                }
                for (size_t j = 0; j < k; j++)
                    if (!isfinite(row[j])) {
                        rc = st_err_set(&err, ST_ENUMERIC, tab->source, 0, 0,
                                        "time step %zu: a non-finite result (%s); the model overflows", t + 1,
                                        names[j]);
                        goto done;
                    }
                if ((rc = st_writer_row(w, row, &err)) < 0)
                    goto done;
            }
        }
        if (fout_open && res->has_func) {
            for (size_t k = 0; k < res->nfunc; k++) {
                if (!isfinite(res->func[k])) {
                    rc = st_err_set(&err, ST_ENUMERIC, tab->source, 0, 0,
                                    "functional %s%s%s is not finite (%g): a missing observation in y, or a "
                                    "value outside the expression's domain?",
                                    st_pf_funcs_name(funcs, k), *st_pf_funcs_component(funcs, k) ? " " : "",
                                    st_pf_funcs_component(funcs, k), res->func[k]);
                    if (has_seq)
                        st_err_prefix(&err, "seq %g: ", g->seq);
                    goto done;
                }
                if (has_seq)
                    fprintf(fout.fp, "%.17g,", g->seq);
                const char *comp = st_pf_funcs_component(funcs, k);
                fprintf(fout.fp, "%s,%s%s%s,%.17g\n", st_pf_funcs_name(funcs, k), strchr(comp, ',') ? "\"" : "",
                        comp, strchr(comp, ',') ? "\"" : "", res->func[k]);
            }
        }
    }
    rc = st_writer_close(w, &err);
    w = NULL;
    if (rc == 0 && fout_open) {
        rc = st_output_close(&fout, &err);
        fout_open = 0;
    }
done:
    if (fout_open)
        st_output_abort(&fout);
    st_pf_funcs_free(funcs);
    free(opt.fexpr);
    st_writer_free(w);
    st_pf_result_free(res);
    st_pf_series_free(&s);
    if (names)
        for (size_t j = 0; j < ncols; j++)
            free(names[j]);
    free(names);
    free(row);
    free(meta);
    free(groups);
    st_table_free(tab);
    st_pf_model_free(m);
    free(opt.q);
    return st_cli_finish(&cli, &out, rc, &err);
}

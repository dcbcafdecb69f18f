/* pf-fit: maximum likelihood for particle models by stochastic gradient
 * ascent with PPG or PaRIS scores, or the posterior by particle marginal
 * Metropolis-Hastings.  Thin driver: options, read, st_pf_fit or
 * st_pf_pmmh, write the model with its estimates. */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/stream.h"
#include "core/yaml.h"
#include "smc/fit.h"
#include "smc/model.h"
#include "smc/pmmh.h"
#include "smc/series.h"

static const char usage[] =
    "Usage: pf-fit (-m MODEL | --builtin NAME) [OPTIONS] [DATA...]\n"
    "Maximum likelihood for a state-space model by stochastic gradient ascent\n"
    "on the log-likelihood, with the score (gradient) estimated by a particle\n"
    "smoother (Fisher's identity), or its Bayesian posterior by particle\n"
    "marginal Metropolis-Hastings.  Writes the model with the estimates.\n"
    "DATA (CSV or binary stream, default stdin) has the model's observation\n"
    "columns, its covariates, and optionally t and seq (independent series).\n"
    "\n"
    "Model:\n"
    "  -m, --model FILE       model file (stoch-model(5), model: pf)\n"
    "      --builtin NAME     stochastic-volatility, growth or bearings-only\n"
    "      --fix LIST         parameters held at their values (comma-separated)\n"
    "Columns:\n"
    "      --seq-col NAME     read column NAME as seq (the series ids)\n"
    "      --time-col NAME    read column NAME as t\n"
    "      --no-header        CSV input has no header line: columns c1, c2, ...\n"
    "Method:\n"
    "      --method M         ppg-sga (default): scores from Parisian particle\n"
    "                         Gibbs, its chain carried from step to step;\n"
    "                         paris-sga: scores from one PaRIS run per step;\n"
    "                         pmmh: particle marginal Metropolis-Hastings with\n"
    "                         the model's priors (flat where none), estimates\n"
    "                         are posterior means\n"
    "  -N, --particles N      particles, >= 2 (default 100)\n"
    "  -K, --backward K       backward draws per particle, >= 2 (default 2)\n"
    "      --steps N          ascent steps (default 400)\n"
    "      --step-size G      gamma_1 (default 20): step n moves the unconstrained\n"
    "                         parameters by gamma_n = G n^-D times the score per\n"
    "                         observation, at most 0.5 each\n"
    "      --decay D          0..1 (default 0.6)\n"
    "      --sweeps S         PPG sweeps per step (default 1)\n"
    "      --burn B           PPG sweeps before the first step (default 10);\n"
    "                         pmmh: burn-in iterations per chain, during which\n"
    "                         the proposal adapts (default 1000)\n"
    "      --average-from S   the estimate averages the steps from S on\n"
    "                         (default half-way)\n"
    "PMMH:\n"
    "      --chains C         chains, run in parallel threads (default 4)\n"
    "      --iter N           kept iterations per chain (default 2000)\n"
    "      --proposal-sd S    random-walk sd on the unconstrained scale before\n"
    "                         the covariance adapts (default 0.05)\n"
    "      --init-sd S        spread of chains 2.. around the model's values on\n"
    "                         the unconstrained scale (default 0.1)\n"
    "Output:\n"
    "      --trace FILE       step, parameters and score of every step\n"
    "      --chain FILE       pmmh: chain, iter, loglik, logprior, accepted and\n"
    "                         the parameters of every kept iteration\n"
    "Common:\n"
    "  -o, --output FILE      write here (atomically) instead of stdout\n"
    "      --seed N           random seed (default 1)\n"
    "  -j, --threads N        threads over particles; results do not depend on it\n"
    "  -q, --quiet            errors only;  -v, --verbose  progress\n"
    "  -h, --help             this help;    --version\n";

enum {
    OPT_BUILTIN = ST_OPT_TOOL,
    OPT_FIX,
    OPT_METHOD,
    OPT_STEPS,
    OPT_STEP_SIZE,
    OPT_DECAY,
    OPT_SWEEPS,
    OPT_BURN,
    OPT_AVG,
    OPT_TRACE,
    OPT_CHAINS,
    OPT_ITER,
    OPT_PROPOSAL_SD,
    OPT_INIT_SD,
    OPT_CHAIN
};

static long parse_long_opt(const st_cli *cli, const char *opt, const char *arg, long lo, long hi)
{
    long v;
    if (st_parse_long(arg, &v) < 0 || v < lo || v > hi)
        st_cli_usage_error(cli, "%s must be an integer from %ld to %ld, not '%s'", opt, lo, hi, arg);
    return v;
}

static double parse_double_opt(const st_cli *cli, const char *opt, const char *arg, double lo, double hi)
{
    double v;
    if (st_parse_double(arg, &v) < 0 || !(v >= lo && v <= hi))
        st_cli_usage_error(cli, "%s must be a number from %g to %g, not '%s'", opt, lo, hi, arg);
    return v;
}

/* --fix LIST into flags, naming an unknown parameter. */
static int fixed_flags(const st_pf_model *m, const char *list, unsigned char *fixed, st_err *e)
{
    size_t np = st_pf_model_npar(m);
    const char *p = list;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        size_t k = 0;
        while (k < np && !(strlen(st_pf_model_parname(m, k)) == len && strncmp(st_pf_model_parname(m, k), p, len) == 0))
            k++;
        if (k == np)
            return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "--fix: the model has no parameter '%.*s'",
                              (int)(len > 60 ? 60 : len), p);
        fixed[k] = 1;
        p += len + (q != NULL);
    }
    return 0;
}

static int write_trace(const char *path, const st_pf_model *m, const st_pf_fit_result *r, st_err *e)
{
    size_t np = r->npar, nc = 1 + 2 * np;
    char **names = calloc(nc, sizeof *names);
    double *row = malloc(nc * sizeof *row);
    st_output out;
    memset(&out, 0, sizeof out);
    st_writer *w = NULL;
    int rc = 0;
    if (!names || !row) {
        rc = st_err_nomem(e, "trace");
        goto done;
    }
    names[0] = strdup("step");
    for (size_t k = 0; k < np; k++) {
        const char *pn = st_pf_model_parname(m, k);
        names[1 + k] = strdup(pn);
        size_t len = strlen(pn) + 8;
        if ((names[1 + np + k] = malloc(len)))
            snprintf(names[1 + np + k], len, "score_%s", pn);
    }
    for (size_t j = 0; j < nc; j++)
        if (!names[j]) {
            rc = st_err_nomem(e, "trace");
            goto done;
        }
    if ((rc = st_output_open(&out, path, 0, e)) < 0)
        goto done;
    st_writer_opts wo = {.format = ST_FMT_CSV, .codec = ST_CODEC_RAW};
    if ((rc = st_writer_new(&w, out.fp, (const char *const *)names, NULL, nc, &wo, e)) < 0)
        goto done;
    for (size_t n = 0; n < r->steps && rc == 0; n++) {
        row[0] = (double)(n + 1);
        memcpy(row + 1, r->trace + n * np, np * sizeof *row);
        memcpy(row + 1 + np, r->score + n * np, np * sizeof *row);
        rc = st_writer_row(w, row, e);
    }
    if (rc == 0)
        rc = st_writer_close(w, e);
    w = NULL;
    if (rc == 0)
        rc = st_output_close(&out, e);
done:
    st_writer_free(w);
    if (rc < 0)
        st_output_abort(&out);
    if (names)
        for (size_t j = 0; j < nc; j++)
            free(names[j]);
    free(names);
    free(row);
    return rc;
}

/* --chain: one row per kept iteration of every chain. */
static int write_chain(const char *path, const st_pf_model *m, const st_pf_pmmh_result *r, st_err *e)
{
    static const char *const fixed_names[] = {"chain", "iter", "loglik", "logprior", "accepted"};
    size_t np = r->npar, nc = 5 + np;
    const char **names = calloc(nc, sizeof *names);
    double *row = malloc(nc * sizeof *row);
    st_output out;
    memset(&out, 0, sizeof out);
    st_writer *w = NULL;
    int rc = 0;
    if (!names || !row) {
        rc = st_err_nomem(e, "chain");
        goto done;
    }
    for (size_t j = 0; j < 5; j++)
        names[j] = fixed_names[j];
    for (size_t k = 0; k < np; k++)
        names[5 + k] = st_pf_model_parname(m, k);
    if ((rc = st_output_open(&out, path, 0, e)) < 0)
        goto done;
    st_writer_opts wo = {.format = ST_FMT_CSV, .codec = ST_CODEC_RAW};
    if ((rc = st_writer_new(&w, out.fp, names, NULL, nc, &wo, e)) < 0)
        goto done;
    for (size_t c = 0; c < r->chains && rc == 0; c++)
        for (size_t i = 0; i < r->iter && rc == 0; i++) {
            size_t q = c * r->iter + i;
            row[0] = (double)(c + 1);
            row[1] = (double)(i + 1);
            row[2] = r->loglik[q];
            row[3] = r->logprior[q];
            row[4] = r->accepted[q];
            memcpy(row + 5, r->theta + q * np, np * sizeof *row);
            rc = st_writer_row(w, row, e);
        }
    if (rc == 0)
        rc = st_writer_close(w, e);
    w = NULL;
    if (rc == 0)
        rc = st_output_close(&out, e);
done:
    st_writer_free(w);
    if (rc < 0)
        st_output_abort(&out);
    free(names);
    free(row);
    return rc;
}

/* The fit: section of a PMMH run: settings, acceptance, and per parameter
 * the posterior summary. */
static void write_pmmh_fit(st_yw *w, const st_pf_model *m, const st_pf_pmmh_opts *po, const st_pf_pmmh_result *r,
                           const unsigned char *fixed, size_t nseries)
{
    st_yw_begin_map(w, "fit");
    st_yw_key_string(w, "method", "pmmh");
    st_yw_key_long(w, "particles", (long)po->pf.N);
    st_yw_key_long(w, "chains", (long)po->chains);
    st_yw_key_long(w, "iter", (long)po->iter);
    st_yw_key_long(w, "burn", (long)po->burn);
    st_yw_key_double(w, "proposal_sd", po->scale0);
    st_yw_key_double(w, "init_sd", po->init_sd);
    st_yw_key_long(w, "series", (long)nseries);
    st_yw_key_vector(w, "acceptance", r->accept_rate, r->chains);
    st_yw_begin_map(w, "posterior");
    for (size_t k = 0; k < r->npar; k++) {
        if (fixed[k])
            continue;
        const st_mcmc_summary *s = &r->summary[k];
        st_yw_begin_map(w, st_pf_model_parname(m, k));
        st_yw_key_double(w, "mean", s->mean);
        st_yw_key_double(w, "sd", s->sd);
        st_yw_key_double(w, "q2.5", s->q025);
        st_yw_key_double(w, "q50", s->q50);
        st_yw_key_double(w, "q97.5", s->q975);
        st_yw_key_double(w, "rhat", s->rhat);
        st_yw_key_double(w, "ess_bulk", s->ess_bulk);
        st_yw_key_double(w, "ess_tail", s->ess_tail);
        st_yw_end(w);
    }
    st_yw_end(w);
    st_yw_end(w);
}

int main(int argc, char **argv)
{
    st_cli_passive_openmp(argv);
    st_cli cli;
    st_cli_init(&cli, "pf-fit", usage);
    st_pf_fit_opts fo;
    st_pf_fit_opts_init(&fo);
    st_pf_pmmh_opts po;
    st_pf_pmmh_opts_init(&po);
    const char *model = NULL, *builtin = NULL, *fix = NULL, *trace = NULL, *chain = NULL;
    int pmmh = 0;
    long burn = -1;
    static const struct option longopts[] = {
        ST_CLI_LONGOPTS,
        ST_CLI_OPT_SEQ_COL,
        ST_CLI_OPT_TIME_COL,
        ST_CLI_OPT_NO_HEADER,
        {"model", required_argument, NULL, 'm'},
        {"builtin", required_argument, NULL, OPT_BUILTIN},
        {"fix", required_argument, NULL, OPT_FIX},
        {"method", required_argument, NULL, OPT_METHOD},
        {"particles", required_argument, NULL, 'N'},
        {"backward", required_argument, NULL, 'K'},
        {"steps", required_argument, NULL, OPT_STEPS},
        {"step-size", required_argument, NULL, OPT_STEP_SIZE},
        {"decay", required_argument, NULL, OPT_DECAY},
        {"sweeps", required_argument, NULL, OPT_SWEEPS},
        {"burn", required_argument, NULL, OPT_BURN},
        {"average-from", required_argument, NULL, OPT_AVG},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"chains", required_argument, NULL, OPT_CHAINS},
        {"iter", required_argument, NULL, OPT_ITER},
        {"proposal-sd", required_argument, NULL, OPT_PROPOSAL_SD},
        {"init-sd", required_argument, NULL, OPT_INIT_SD},
        {"chain", required_argument, NULL, OPT_CHAIN},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "m:N:K:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case 'm': model = optarg; break;
        case OPT_BUILTIN: builtin = optarg; break;
        case OPT_FIX: fix = optarg; break;
        case OPT_METHOD:
            if (strcmp(optarg, "ppg-sga") == 0)
                fo.method = ST_FIT_PPG_SGA;
            else if (strcmp(optarg, "paris-sga") == 0)
                fo.method = ST_FIT_PARIS_SGA;
            else if (strcmp(optarg, "pmmh") == 0)
                pmmh = 1;
            else
                st_cli_usage_error(&cli, "--method must be ppg-sga, paris-sga or pmmh, not '%s'", optarg);
            break;
        case 'N': fo.pf.N = (size_t)parse_long_opt(&cli, "-N/--particles", optarg, 2, 100000000); break;
        case 'K': fo.pf.K = (size_t)parse_long_opt(&cli, "-K/--backward", optarg, 2, 1000); break;
        case OPT_STEPS: fo.steps = (size_t)parse_long_opt(&cli, "--steps", optarg, 1, 100000000); break;
        case OPT_STEP_SIZE: fo.step0 = parse_double_opt(&cli, "--step-size", optarg, 1e-12, 1e12); break;
        case OPT_DECAY: fo.decay = parse_double_opt(&cli, "--decay", optarg, 0, 1); break;
        case OPT_SWEEPS: fo.sweeps = (size_t)parse_long_opt(&cli, "--sweeps", optarg, 1, 1000000); break;
        case OPT_BURN: burn = parse_long_opt(&cli, "--burn", optarg, 0, 100000000); break;
        case OPT_AVG: fo.average_from = (size_t)parse_long_opt(&cli, "--average-from", optarg, 1, 100000000); break;
        case OPT_TRACE: trace = optarg; break;
        case OPT_CHAINS: po.chains = (size_t)parse_long_opt(&cli, "--chains", optarg, 1, 10000); break;
        case OPT_ITER: po.iter = (size_t)parse_long_opt(&cli, "--iter", optarg, 1, 100000000); break;
        case OPT_PROPOSAL_SD: po.scale0 = parse_double_opt(&cli, "--proposal-sd", optarg, 1e-12, 1e6); break;
        case OPT_INIT_SD: po.init_sd = parse_double_opt(&cli, "--init-sd", optarg, 0, 1e6); break;
        case OPT_CHAIN: chain = optarg; break;
        default: st_cli_usage_error(&cli, NULL);
        }
    }
    if (!model == !builtin)
        st_cli_usage_error(&cli, "give a model: -m FILE or --builtin NAME (one of them)");
    if (fo.average_from > fo.steps)
        st_cli_usage_error(&cli, "--average-from %zu is beyond --steps %zu", fo.average_from, fo.steps);
    if (pmmh && trace)
        st_cli_usage_error(&cli, "--trace is for the score-ascent methods (pmmh writes --chain)");
    if (!pmmh && chain)
        st_cli_usage_error(&cli, "--chain is for --method pmmh");
    if (burn >= 0) {
        fo.burn = (size_t)burn;
        po.burn = (size_t)burn;
    }
    fo.pf.seed = cli.seed;
    po.pf.N = fo.pf.N;
    po.pf.seed = cli.seed;
    st_cli_threads(&cli);

    st_err err;
    st_err_clear(&err);
    st_output out;
    memset(&out, 0, sizeof out);
    st_pf_model *m = NULL;
    st_table *tab = NULL;
    st_group *groups = NULL;
    size_t ngroups = 0;
    st_pf_series *ser = NULL;
    st_pf_data *d = NULL;
    unsigned char *fixed = NULL;
    st_pf_fit_result *res = NULL;
    st_pf_pmmh_result *pres = NULL;
    int rc;

    if (builtin) {
        char text[256];
        int ok = 0;
        for (int i = 0; st_pf_builtin_names[i]; i++)
            ok |= strcmp(st_pf_builtin_names[i], builtin) == 0;
        if (!ok || strcmp(builtin, "linear-gaussian") == 0)
            st_cli_usage_error(&cli, "--builtin must be stochastic-volatility, growth or bearings-only, not '%s' "
                                     "(linear-gaussian needs its matrices: write a model file)", builtin);
        snprintf(text, sizeof text, "model: pf\nversion: 1\nbuiltin: %s\n", builtin);
        rc = st_pf_model_load_string(&m, text, "--builtin", &err);
    } else {
        rc = st_pf_model_load(&m, model, &err);
    }
    if (rc < 0)
        goto done;
    if (!(fixed = calloc(st_pf_model_npar(m) + 1, 1))) {
        rc = st_err_nomem(&err, "parameters");
        goto done;
    }
    if (fix && (rc = fixed_flags(m, fix, fixed, &err)) < 0)
        goto done;
    fo.fixed = fixed;
    po.fixed = fixed;
    const char *const *paths = (const char *const *)(argv + optind);
    if ((rc = st_table_read_many(&tab, paths, (size_t)(argc - optind), &err)) < 0)
        goto done;
    st_pf_columns cols;
    if ((rc = st_pf_columns_find(m, tab, &cols, &err)) < 0 ||
        (rc = st_table_groups(tab, cols.seq, &groups, &ngroups, &err)) < 0)
        goto done;
    if (tab->nrows == 0) {
        rc = st_err_set(&err, ST_EDATA, tab->source, 0, 0, "no data rows");
        goto done;
    }
    ser = calloc(ngroups, sizeof *ser);
    d = calloc(ngroups, sizeof *d);
    if (!ser || !d) {
        rc = st_err_nomem(&err, "data");
        goto done;
    }
    for (size_t gi = 0; gi < ngroups; gi++) {
        if ((rc = st_pf_series_extract(m, tab, &cols, &groups[gi], &ser[gi], &err)) < 0)
            goto done;
        d[gi] = ser[gi].d;
    }
    if (pmmh) {
        st_cli_log(&cli, 2, "%zu parameters, %zu series, PMMH: %zu chains of %zu + %zu iterations", st_pf_model_npar(m),
                   ngroups, po.chains, po.burn, po.iter);
        if ((rc = st_pf_pmmh(m, d, ngroups, &po, &pres, &err)) < 0) {
            if (err.file[0] == '\0')
                snprintf(err.file, sizeof err.file, "%s", tab->source);
            goto done;
        }
        for (size_t k = 0; k < pres->npar; k++)
            if (!fixed[k])
                st_cli_log(&cli, 2, "%s: mean %.6g sd %.6g 95%% [%.6g, %.6g] R-hat %.4f ESS %.0f",
                           st_pf_model_parname(m, k), pres->summary[k].mean, pres->summary[k].sd, pres->summary[k].q025,
                           pres->summary[k].q975, pres->summary[k].rhat, pres->summary[k].ess_bulk);
        for (size_t k = 0; k < pres->npar; k++)
            if (!fixed[k] && !(pres->summary[k].rhat < 1.05)) {
                st_cli_log(&cli, 1, "warning: R-hat of %s is %.3g (> 1.05): the chains have not mixed; more "
                           "particles (-N), --burn or --iter", st_pf_model_parname(m, k), pres->summary[k].rhat);
                break;
            }
        if ((rc = st_pf_model_set_pars(m, pres->estimate, &err)) < 0)
            goto done;
        if (chain && (rc = write_chain(chain, m, pres, &err)) < 0)
            goto done;
        if ((rc = st_output_open(&out, cli.output, 0, &err)) < 0)
            goto done;
        st_yw w;
        st_yw_init(&w, out.fp);
        st_yw_comment(&w, "written by pf-fit %s, seed %llu, %s; parameters at their posterior means",
                      ST_VERSION_STRING, (unsigned long long)cli.seed, tab->source);
        if ((rc = st_pf_model_write(m, &w, &err)) < 0)
            goto done;
        write_pmmh_fit(&w, m, &po, pres, fixed, ngroups);
        rc = st_yw_finish(&w, &err);
        goto done;
    }
    st_cli_log(&cli, 2, "%zu parameters, %zu series, %zu steps of %s", st_pf_model_npar(m), ngroups, fo.steps,
               fo.method == ST_FIT_PPG_SGA ? "PPG score ascent" : "PaRIS score ascent");
    if ((rc = st_pf_fit(m, d, ngroups, &fo, &res, &err)) < 0) {
        if (err.file[0] == '\0')
            snprintf(err.file, sizeof err.file, "%s", tab->source);
        goto done;
    }
    for (size_t k = 0; k < res->npar; k++)
        st_cli_log(&cli, 2, "%s = %.10g", st_pf_model_parname(m, k), res->theta[k]);
    if (trace && (rc = write_trace(trace, m, res, &err)) < 0)
        goto done;
    if ((rc = st_output_open(&out, cli.output, 0, &err)) < 0)
        goto done;
    st_yw w;
    st_yw_init(&w, out.fp);
    st_yw_comment(&w, "written by pf-fit %s, seed %llu, %s", ST_VERSION_STRING, (unsigned long long)cli.seed,
                  tab->source);
    if ((rc = st_pf_model_write(m, &w, &err)) < 0)
        goto done;
    st_yw_begin_map(&w, "fit");
    st_yw_key_string(&w, "method", fo.method == ST_FIT_PPG_SGA ? "ppg-sga" : "paris-sga");
    st_yw_key_long(&w, "particles", (long)fo.pf.N);
    st_yw_key_long(&w, "backward_draws", (long)fo.pf.K);
    st_yw_key_long(&w, "steps", (long)fo.steps);
    st_yw_key_double(&w, "step_size", fo.step0);
    st_yw_key_double(&w, "decay", fo.decay);
    if (fo.method == ST_FIT_PPG_SGA) {
        st_yw_key_long(&w, "sweeps", (long)fo.sweeps);
        st_yw_key_long(&w, "burn", (long)fo.burn);
    }
    st_yw_key_long(&w, "average_from", (long)(fo.average_from ? fo.average_from : fo.steps / 2 + 1));
    st_yw_key_long(&w, "series", (long)ngroups);
    st_yw_key_long(&w, "observations", (long)res->nobs);
    st_yw_end(&w);
    rc = st_yw_finish(&w, &err);
done:
    st_pf_fit_result_free(res);
    st_pf_pmmh_result_free(pres);
    if (ser)
        for (size_t gi = 0; gi < ngroups; gi++)
            st_pf_series_free(&ser[gi]);
    free(ser);
    free(d);
    free(fixed);
    free(groups);
    st_table_free(tab);
    st_pf_model_free(m);
    return st_cli_finish(&cli, &out, rc, &err);
}

/* hmm-fit: fit a hidden Markov model by Baum-Welch.
 * Thin driver: options -> st_hmm_fit_opts, read the streams, fit (one K or
 * each K of a range), print the selection table, write the model. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/mpi.h"
#include "core/stream.h"
#include "hmm/hmm.h"

static const char USAGE[] =
    "Usage: hmm-fit -K N|LO..HI [OPTION]... [DATA]...\n"
    "Fit a hidden Markov model by Baum-Welch (EM) to the sequences in DATA\n"
    "(CSV, plain or gzip, or binary streams; stdin if none) and write the model\n"
    "file (stoch-model(5)).  A column 'seq' groups rows into sequences; the\n"
    "value columns are all others except 't' and 'state' (the true states\n"
    "hmm-sample writes), or those named by -c.\n"
    "\n"
    "Model:\n"
    "  -K, --states N|LO..HI  states, 1..4096; a range fits each K, prints a\n"
    "                       table (K, logL, parameters, AIC, BIC) to stderr and\n"
    "                       writes the model chosen by --select\n"
    "  -e, --emission TYPE  categorical, poisson, gaussian (default), gmm (mixture\n"
    "                       of diagonal Gaussians per state) or ar (autoregressive\n"
    "                       Gaussian, diagonal noise); gaussian-diag, gaussian-full,\n"
    "                       gaussian-spherical and gaussian-tied also set --cov\n"
    "      --components M   gmm: components per state, 1..256 (default 2)\n"
    "      --order P        ar: autoregressive order, 1..64 (default 1); the first\n"
    "                       P rows of each sequence are conditioned on\n"
    "      --cov TYPE       Gaussian covariance: diag (default), full, spherical,\n"
    "                       tied (one matrix for all states)\n"
    "      --symbols LIST   categorical: symbols per column (default: largest\n"
    "                       symbol in the data + 1)\n"
    "      --topology T     ergodic (default), left-right[:MAXJUMP], cyclic,\n"
    "                       linear-chain; masked transitions stay exactly 0\n"
    "      --mask FILE      transition mask: YAML 'mask:' K x K matrix of 0/1\n"
    "      --start WHAT     estimated (default) or stationary\n"
    "      --sticky KAPPA   extra pseudo-count on self-transitions, >= 0 (default 0)\n"
    "      --pseudo A       Dirichlet pseudo-count on start and allowed\n"
    "                       transitions, >= 0 (default 0)\n"
    "      --init MODEL     start from this model (its K, emission and mask)\n"
    "      --fix LIST       keep any of start,transitions,emissions at --init\n"
    "  -c, --columns LIST   value columns (default: all but seq, t and state)\n"
    "      --seq-col NAME   read column NAME as seq (the sequence ids)\n"
    "      --time-col NAME  read column NAME as t (not a value column)\n"
    "      --state-col NAME read column NAME as state (not a value column)\n"
    "      --no-header      CSV input has no header line: columns c1, c2, ...\n"
    "Fitting:\n"
    "  -r, --restarts R     random restarts, best log-likelihood kept, 1..10000\n"
    "                       (default 4; 1 with --init)\n"
    "      --max-iter N     EM iterations per restart, 1..1e6 (default 1000)\n"
    "      --accelerate     SQUAREM extrapolation of EM steps (for slowly\n"
    "                       converging fits; never accepts a worse objective)\n"
    "      --tol X          stop when the relative change of the objective is\n"
    "                       <= X, > 0 (default 1e-8)\n"
    "      --min-var V      variance floor, > 0 (default 1e-6 x each column's\n"
    "                       variance)\n"
    "      --prob-floor P   floor on estimated probabilities, 0..0.01 (default 1e-10)\n"
    "      --select CRIT    bic (default) or aic: the K written for a range\n"
    "      --seed S         seed of the restarts (default 1)\n"
    "Output:\n"
    "  -o, --output FILE    write the model to FILE (atomically), else stdout\n"
    "      --trace FILE     write the EM log-likelihood trace to FILE, a stream\n"
    "                       K,restart,iter,logl (binary for *.stb, else CSV)\n"
    "  -j, --threads N      threads over sequences (same result for any N)\n"
    "  -q, --quiet          errors only (also no selection table)\n"
    "  -v, --verbose        iteration log on stderr (also when stderr is a terminal)\n"
    "  -h, --help           this help\n"
    "      --version        print the version\n"
    "\n"
    "Exit status: 0 success, 1 bad data or runtime error, 2 usage error.\n"
    "Examples:\n"
    "  hmm-fit -K 2 -c waiting -o faithful.yaml data/faithful.csv\n"
    "  hmm-fit -K 2..6 -e categorical --restarts 8 seqs.csv -o best.yaml\n";

enum {
    OPT_COV = ST_OPT_TOOL,
    OPT_SYMBOLS,
    OPT_TOPOLOGY,
    OPT_MASK,
    OPT_START,
    OPT_STICKY,
    OPT_PSEUDO,
    OPT_INIT,
    OPT_FIX,
    OPT_MAXITER,
    OPT_TOL,
    OPT_MINVAR,
    OPT_PROBFLOOR,
    OPT_SELECT,
    OPT_ORDER,
    OPT_COMPONENTS,
    OPT_ACCELERATE,
    OPT_TRACE
};

typedef struct prog_ctx {
    const st_cli *cli;
    size_t K;
    int log;       /* iteration log on stderr */
    int trace;     /* --trace: keep the rows */
    double *rows;  /* K, restart, iter, logl per iteration */
    size_t n, cap; /* rows kept, allocated */
    int nomem;
} prog_ctx;

static void progress(void *ctx, int restart, int iter, double logl, double change)
{
    prog_ctx *p = ctx;
    if (p->log)
        fprintf(stderr, "hmm-fit: K=%zu restart %d iteration %d logL %.17g change %.3g\n", p->K, restart + 1, iter,
                logl, change);
    if (!p->trace || p->nomem)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 1024;
        double *r = realloc(p->rows, cap * 4 * sizeof *r);
        if (!r) {
            p->nomem = 1;
            return;
        }
        p->rows = r;
        p->cap = cap;
    }
    double *r = p->rows + 4 * p->n++;
    r[0] = (double)p->K;
    r[1] = restart + 1;
    r[2] = iter;
    r[3] = logl;
}

/* --trace FILE: the log-likelihood after each EM iteration, as a stream. */
static int write_trace(const char *path, const prog_ctx *p, st_err *e)
{
    static const char *const names[] = {"K", "restart", "iter", "logl"};
    static const st_dtype dt[] = {ST_I8, ST_I8, ST_I8, ST_F8};
    if (p->nomem)
        return st_err_nomem(e, "the trace");
    size_t len = strlen(path);
    int bin = len > 4 && strcmp(path + len - 4, ".stb") == 0;
    st_output o;
    st_writer *w = NULL;
    int rc = st_output_open(&o, path, bin, e);
    if (rc < 0)
        return rc;
    st_writer_opts wo = {.format = bin ? ST_FMT_BIN : ST_FMT_CSV};
    if ((rc = st_writer_new(&w, o.fp, names, dt, 4, &wo, e)) == ST_OK &&
        (rc = st_writer_rows(w, p->rows, p->n, e)) == ST_OK) {
        rc = st_writer_close(w, e);
        w = NULL;
    }
    st_writer_free(w);
    if (rc == ST_OK)
        return st_output_close(&o, e);
    st_output_abort(&o);
    return rc;
}

static int parse_family(const char *s, st_hmm_family *f, st_hmm_cov *cov, int *cov_set)
{
    static const char *const covs[] = {"diag", "full", "spherical", "tied"};
    if (strcmp(s, "categorical") == 0)
        *f = ST_HMM_CATEGORICAL;
    else if (strcmp(s, "poisson") == 0)
        *f = ST_HMM_POISSON;
    else if (strcmp(s, "gaussian") == 0)
        *f = ST_HMM_GAUSSIAN;
    else if (strcmp(s, "ar") == 0 || strcmp(s, "ar-gaussian") == 0)
        *f = ST_HMM_AR;
    else if (strcmp(s, "gmm") == 0 || strcmp(s, "gaussian-mixture") == 0)
        *f = ST_HMM_GMM;
    else if (strncmp(s, "gaussian-", 9) == 0) {
        *f = ST_HMM_GAUSSIAN;
        for (int i = 0; i < 4; i++)
            if (strcmp(s + 9, covs[i]) == 0) {
                *cov = (st_hmm_cov)i;
                *cov_set = 1;
                return 0;
            }
        return -1;
    } else
        return -1;
    return 0;
}

static int parse_cov(const char *s, st_hmm_cov *cov)
{
    static const char *const covs[] = {"diag", "full", "spherical", "tied"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, covs[i]) == 0) {
            *cov = (st_hmm_cov)i;
            return 0;
        }
    return -1;
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "hmm-fit", USAGE);
    st_hmm_fit_opts o;
    st_hmm_fit_opts_init(&o);
    o.family = ST_HMM_GAUSSIAN;
    o.restarts = 4;
    long klo = -1, khi = -1;
    int cov_set = 0, restarts_set = 0, select_aic = 0;
    const char *columns = NULL, *symbols = NULL, *mask_path = NULL, *init_path = NULL, *fix = NULL, *trace = NULL;
    static const struct option longopts[] = {ST_CLI_LONGOPTS,
                                             ST_CLI_OPT_SEQ_COL,
                                             ST_CLI_OPT_TIME_COL,
                                             ST_CLI_OPT_STATE_COL,
                                             ST_CLI_OPT_NO_HEADER,
                                             {"states", required_argument, NULL, 'K'},
                                             {"emission", required_argument, NULL, 'e'},
                                             {"columns", required_argument, NULL, 'c'},
                                             {"restarts", required_argument, NULL, 'r'},
                                             {"cov", required_argument, NULL, OPT_COV},
                                             {"symbols", required_argument, NULL, OPT_SYMBOLS},
                                             {"topology", required_argument, NULL, OPT_TOPOLOGY},
                                             {"mask", required_argument, NULL, OPT_MASK},
                                             {"start", required_argument, NULL, OPT_START},
                                             {"sticky", required_argument, NULL, OPT_STICKY},
                                             {"pseudo", required_argument, NULL, OPT_PSEUDO},
                                             {"init", required_argument, NULL, OPT_INIT},
                                             {"fix", required_argument, NULL, OPT_FIX},
                                             {"max-iter", required_argument, NULL, OPT_MAXITER},
                                             {"tol", required_argument, NULL, OPT_TOL},
                                             {"min-var", required_argument, NULL, OPT_MINVAR},
                                             {"prob-floor", required_argument, NULL, OPT_PROBFLOOR},
                                             {"select", required_argument, NULL, OPT_SELECT},
                                             {"order", required_argument, NULL, OPT_ORDER},
                                             {"components", required_argument, NULL, OPT_COMPONENTS},
                                             {"accelerate", no_argument, NULL, OPT_ACCELERATE},
                                             {"trace", required_argument, NULL, OPT_TRACE},
                                             {NULL, 0, NULL, 0}};
    int c;
    long l;
    double x;
    st_err e;
    st_err_clear(&e);
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "K:e:c:r:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case 'K':
            if (st_parse_range(optarg, &klo, &khi) < 0 || klo < 1 || khi > 4096)
                st_cli_usage_error(&cli, "-K must be N or LO..HI with 1 <= LO <= HI <= 4096, not '%s'", optarg);
            break;
        case 'e':
            if (parse_family(optarg, &o.family, &o.cov, &cov_set) < 0)
                st_cli_usage_error(&cli, "--emission must be categorical, poisson, gaussian, gaussian-COV, gmm or ar, not '%s'", optarg);
            break;
        case OPT_COV:
            if (parse_cov(optarg, &o.cov) < 0)
                st_cli_usage_error(&cli, "--cov must be diag, full, spherical or tied, not '%s'", optarg);
            cov_set = 1;
            break;
        case 'c':
            if (!*optarg)
                st_cli_usage_error(&cli, "--columns needs a list of column names");
            columns = optarg;
            break;
        case 'r':
            if (st_parse_long(optarg, &l) < 0 || l < 1 || l > 10000)
                st_cli_usage_error(&cli, "--restarts must be an integer from 1 to 10000, not '%s'", optarg);
            o.restarts = (int)l;
            restarts_set = 1;
            break;
        case OPT_SYMBOLS:
            symbols = optarg;
            break;
        case OPT_TOPOLOGY:
            if (st_hmm_topology_parse(optarg, &o.topology, &o.maxjump, &e) < 0 || o.topology == ST_HMM_MASK)
                st_cli_usage_error(&cli, "--topology must be ergodic, left-right[:MAXJUMP], cyclic or linear-chain, not '%s'", optarg);
            break;
        case OPT_MASK:
            mask_path = optarg;
            break;
        case OPT_START:
            if (strcmp(optarg, "stationary") == 0)
                o.start_stationary = 1;
            else if (strcmp(optarg, "estimated") == 0)
                o.start_stationary = 0;
            else
                st_cli_usage_error(&cli, "--start must be estimated or stationary, not '%s'", optarg);
            break;
        case OPT_STICKY:
            if (st_parse_double(optarg, &x) < 0 || x < 0)
                st_cli_usage_error(&cli, "--sticky must be a number >= 0, not '%s'", optarg);
            o.sticky = x;
            break;
        case OPT_PSEUDO:
            if (st_parse_double(optarg, &x) < 0 || x < 0)
                st_cli_usage_error(&cli, "--pseudo must be a number >= 0, not '%s'", optarg);
            o.pseudo = x;
            break;
        case OPT_INIT:
            init_path = optarg;
            break;
        case OPT_FIX:
            fix = optarg;
            break;
        case OPT_MAXITER:
            if (st_parse_long(optarg, &l) < 0 || l < 1 || l > 1000000)
                st_cli_usage_error(&cli, "--max-iter must be an integer from 1 to 1e6, not '%s'", optarg);
            o.max_iter = (int)l;
            break;
        case OPT_TOL:
            if (st_parse_double(optarg, &x) < 0 || !(x > 0))
                st_cli_usage_error(&cli, "--tol must be a number > 0, not '%s'", optarg);
            o.tol = x;
            break;
        case OPT_MINVAR:
            if (st_parse_double(optarg, &x) < 0 || !(x > 0))
                st_cli_usage_error(&cli, "--min-var must be a number > 0, not '%s'", optarg);
            o.var_floor = x;
            break;
        case OPT_PROBFLOOR:
            if (st_parse_double(optarg, &x) < 0 || x < 0 || x > 0.01)
                st_cli_usage_error(&cli, "--prob-floor must be a number from 0 to 0.01, not '%s'", optarg);
            o.prob_floor = x;
            break;
        case OPT_ORDER:
            if (st_parse_long(optarg, &l) < 0 || l < 1 || l > 64)
                st_cli_usage_error(&cli, "--order must be an integer from 1 to 64, not '%s'", optarg);
            o.order = (size_t)l;
            break;
        case OPT_COMPONENTS:
            if (st_parse_long(optarg, &l) < 0 || l < 1 || l > 256)
                st_cli_usage_error(&cli, "--components must be an integer from 1 to 256, not '%s'", optarg);
            o.ncomp = (size_t)l;
            break;
        case OPT_ACCELERATE:
            o.accelerate = 1;
            break;
        case OPT_TRACE:
            trace = optarg;
            break;
        case OPT_SELECT:
            if (strcmp(optarg, "bic") == 0)
                select_aic = 0;
            else if (strcmp(optarg, "aic") == 0)
                select_aic = 1;
            else
                st_cli_usage_error(&cli, "--select must be bic or aic, not '%s'", optarg);
            break;
        default:
            st_cli_usage_error(&cli, NULL);
        }
    }
    if (klo < 0 && !init_path)
        st_cli_usage_error(&cli, "-K N (or a range LO..HI) is required");
    if (init_path && klo >= 0 && klo != khi)
        st_cli_usage_error(&cli, "--init fixes K: a range -K does not apply");
    if (cov_set && o.family != ST_HMM_GAUSSIAN)
        st_cli_usage_error(&cli, "--cov applies to --emission gaussian");
    if (o.order && o.family != ST_HMM_AR)
        st_cli_usage_error(&cli, "--order applies to --emission ar");
    if (o.ncomp && o.family != ST_HMM_GMM)
        st_cli_usage_error(&cli, "--components applies to --emission gmm");
    if (symbols && o.family != ST_HMM_CATEGORICAL)
        st_cli_usage_error(&cli, "--symbols applies to --emission categorical");
    if (fix) {
        if (!init_path)
            st_cli_usage_error(&cli, "--fix needs --init MODEL (the values to keep)");
        char *copy = strdup(fix), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (strcmp(tok, "start") == 0)
                o.fix_start = 1;
            else if (strcmp(tok, "transitions") == 0)
                o.fix_trans = 1;
            else if (strcmp(tok, "emissions") == 0)
                o.fix_emis = 1;
            else
                st_cli_usage_error(&cli, "--fix takes start, transitions, emissions, not '%s'", tok);
        }
        free(copy);
    }
    if (mask_path && o.topology != ST_HMM_ERGODIC)
        st_cli_usage_error(&cli, "--mask and --topology exclude each other");
    if (init_path && restarts_set && o.restarts > 1)
        st_cli_log(&cli, 1, "note: --init starts one fit; --restarts is ignored");
    st_cli_threads(&cli);
    o.seed = cli.seed;

    st_output out = {0};
    st_hmm_data *d = NULL;
    st_hmm *init = NULL, *best = NULL;
    unsigned char *mask = NULL;
    size_t *nsym = NULL;
    int rc = ST_OK;
    prog_ctx pc = {.cli = &cli};
    /* under MPI each rank keeps only its share of the sequences */
    if ((rc = st_mpi_cli_start(&cli, &argc, &argv, argc - optind, argv + optind, &e)) < 0)
        goto out;
    if (init_path) {
        if ((rc = st_hmm_read(&init, init_path, &e)) < 0)
            goto out;
        if (klo >= 0 && (size_t)klo != init->K) {
            rc = st_err_set(&e, ST_EUSAGE, init_path, 0, 0, "-K %ld disagrees with the %zu states of the model", klo, init->K);
            goto out;
        }
        klo = khi = (long)init->K;
        o.init = init;
    }
    if (mask_path) {
        if (klo != khi) {
            rc = st_err_set(&e, ST_EUSAGE, NULL, 0, 0, "--mask needs a single K");
            goto out;
        }
        if ((rc = st_hmm_read_mask(mask_path, (size_t)klo, &mask, &e)) < 0)
            goto out;
        o.topology = ST_HMM_MASK;
        o.mask = mask;
    }
    const char *const *inputs = (const char *const *)argv + optind;
    if ((rc = st_hmm_data_read(&d, inputs, (size_t)(argc - optind), init, columns, &e)) < 0)
        goto out;
    { /* -vv: what each rank holds, logged by rank 0 (every rank takes part:
       * st_mpi_cli_start silences the others, so their verbosity differs) */
        double mine[2] = {(double)d->nseq, (double)d->total}, *all = NULL;
        size_t n = 0;
        if ((rc = st_mpi_allgather(mine, 2, &all, &n, &e)) < 0)
            goto out;
        for (size_t r = 0; r + 1 < n; r += 2)
            st_cli_log(&cli, 3, "rank %zu of %d holds %.0f sequences, %.0f rows", r / 2, st_mpi_size(), all[r],
                       all[r + 1]);
        free(all);
    }
    if (symbols) {
        double *v;
        size_t nv;
        if (st_parse_double_list(symbols, &v, &nv) < 0 || (nv != 1 && nv != d->D)) {
            free(nv ? v : NULL);
            rc = st_err_set(&e, ST_EUSAGE, NULL, 0, 0, "--symbols needs 1 or %zu positive integers", d->D);
            goto out;
        }
        if (!(nsym = malloc(d->D * sizeof *nsym))) {
            free(v);
            rc = st_err_nomem(&e, "symbols");
            goto out;
        }
        for (size_t j = 0; j < d->D; j++) {
            double s = v[nv == 1 ? 0 : j];
            if (s < 1 || s > 1000000 || s != floor(s)) {
                free(v);
                rc = st_err_set(&e, ST_EUSAGE, NULL, 0, 0, "--symbols: '%g' is not an integer from 1 to 1000000", s);
                goto out;
            }
            nsym[j] = (size_t)s;
        }
        free(v);
        o.nsym = nsym;
    }
    /* under MPI every rank fits the same model: rank 0 alone writes the trace */
    pc.log = st_cli_progress(&cli);
    pc.trace = trace && st_mpi_rank() == 0;
    if (pc.log || pc.trace) {
        o.progress = progress;
        o.progress_ctx = &pc;
    }
    int table = klo != khi && cli.verbosity >= 1;
    if (table)
        fprintf(stderr, "%6s %18s %10s %18s %18s\n", "K", "logL", "params", "AIC", "BIC");
    double best_crit = INFINITY;
    for (long K = klo; K <= khi; K++) {
        st_hmm *m;
        o.K = (size_t)K;
        pc.K = (size_t)K;
        if ((rc = st_hmm_fit(&m, d, &o, &e)) < 0)
            goto out;
        if (!m->converged)
            st_cli_log(&cli, 1, "warning: K=%ld did not converge in %ld iterations (--max-iter)", K, m->iterations);
        double aic = st_hmm_aic(m), bic = st_hmm_bic(m), crit = select_aic ? aic : bic;
        if (table)
            fprintf(stderr, "%6ld %18.10g %10ld %18.10g %18.10g\n", K, m->logl, st_hmm_nparams(m), aic, bic);
        if (crit < best_crit) {
            best_crit = crit;
            st_hmm_free(best);
            best = m;
        } else {
            st_hmm_free(m);
        }
    }
    if (table)
        fprintf(stderr, "hmm-fit: selected K=%zu by %s\n", best->K, select_aic ? "AIC" : "BIC");
    if (pc.trace && (rc = write_trace(trace, &pc, &e)) < 0)
        goto out;
    if ((rc = st_output_open(&out, cli.output, 0, &e)) < 0)
        goto out;
    fprintf(out.fp, "# written by hmm-fit %s, seed %llu, %s\n", ST_VERSION_STRING, (unsigned long long)cli.seed,
            d->source ? d->source : "<stdin>");
    rc = st_hmm_write(best, out.fp, &e);
out:
    free(pc.rows);
    st_hmm_data_free(d);
    st_hmm_free(init);
    st_hmm_free(best);
    free(mask);
    free(nsym);
    return st_mpi_cli_end(st_cli_finish(&cli, &out, rc, &e));
}

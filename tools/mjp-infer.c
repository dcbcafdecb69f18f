/* mjp-infer: maximum-likelihood rate matrix of a Markov jump process from
 * exact paths, panel snapshots or noisy (hidden) observations. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/mpi.h"
#include "core/stream.h"
#include "mjp/mjp.h"

static const char USAGE[] =
    "Usage: mjp-infer [--exact | --panel | --hidden] [options] [DATA...] [-o q.yaml]\n"
    "Fit the rate matrix Q of a Markov jump process by maximum likelihood and\n"
    "write it, with standard errors, 95% intervals, -2 log-likelihood and AIC,\n"
    "as a model file (stoch-model(5)).  DATA: streams (CSV, gzip or binary;\n"
    "stdin if none) with columns seq (optional), t, state, and for --panel an\n"
    "optional obstype (1 snapshot, 2 exact transition time, 3 exact entry into\n"
    "an absorbing state); --hidden reads the observed symbol from obs (or state).\n"
    "seq may be text, state may be text (labels), other columns are ignored.\n"
    "\n"
    "Data kind (default --panel):\n"
    "      --exact          paths observed continuously: rows are the initial\n"
    "                       state, each jump, and the end of observation\n"
    "      --panel          snapshots at irregular times (msm's panel data)\n"
    "      --hidden         snapshots seen through an emission matrix\n"
    "Columns:\n"
    "      --seq-col NAME   read column NAME as seq (e.g. msm's PTNUM)\n"
    "      --time-col NAME  read column NAME as t (e.g. years)\n"
    "      --state-col NAME read column NAME as state\n"
    "      --obstype-col NAME  read column NAME as obstype\n"
    "      --no-header      CSV input has no header line: columns c1, c2, ...\n"
    "Model:\n"
    "  -m, --model FILE     starting model: Q (start values), allowed mask,\n"
    "                       fixed rates, rate formulas, emission, initial\n"
    "  -K, --states K       number of states without -m (default: from data)\n"
    "      --allowed LIST   allowed transitions FROM-TO,... e.g. 1-2,2-1,2-3\n"
    "                       (default without -m: all)\n"
    "      --base B         state numbering of the data and LIST: 0 or 1 (default:\n"
    "                       1 when no state is 0, as msm's data, said on stderr)\n"
    "      --censor C=S,..  data value C means one of states S,... (repeatable)\n"
    "      --deathexact S   observations of absorbing state S are exact entry times\n"
    "                       (obstype 3, msm's deathexact)\n"
    "      --emission FILE  emission (misclassification) matrix for --hidden\n"
    "      --estimate-emission  estimate the emission matrix's nonzero entries\n"
    "      --estimate-initial   estimate the initial distribution (--hidden)\n"
    "Covariates (log-linear on the rates, msm's covariates =):\n"
    "      --covariates A,B     effects of columns A, B on every transition, or\n"
    "      --covariates F-T:A+B on one transition (repeatable)\n"
    "      --constraint A=1,1,2,...  share A's effect between transitions\n"
    "      --misc-covariates A,B  logistic effects on misclassification (--hidden)\n"
    "      --pci T1,T2,...  piecewise-constant rates with cuts at these times\n"
    "      --no-centre      covariates not centred at their means\n"
    "Fitting (default: EM, then Newton steps on the Hessian; exact paths with\n"
    "free rates use the closed form):\n"
    "      --em             EM only (expected jumps and dwell times, Van Loan)\n"
    "      --lbfgs          L-BFGS on log rates with analytic gradients, then Newton\n"
    "      --max-iter N     EM iterations (default 500, 10000 with --em) or\n"
    "                       L-BFGS evaluations (default 5000)\n"
    "      --tol X          relative log-likelihood tolerance (default 1e-10)\n"
    "      --no-se          skip standard errors\n"
    "Covariates (mjp-infer(1)):\n"
    "      --covariates SPEC  covariates on the rates, e.g. sex,dage (repeatable)\n"
    "      --constraint NAME=G1,G2,...  one effect of NAME per label\n"
    "      --misc-covariates LIST  covariates on the misclassification (--hidden)\n"
    "      --pci T1,T2,...  cut points of piecewise-constant rates\n"
    "      --no-centre      effects about covariate values 0, not the means\n"
    "Derived quantities:\n"
    "      --derive KIND=FILE  pmatrix, totlos, efpt, pnext, sojourn, qmatrix or\n"
    "                       prevalence of the fit, as a stream (repeatable)\n"
    "      --at NAME=V,...  covariate values of the derived quantities\n"
    "      --times T1,T2,...  times of pmatrix and prevalence\n"
    "      --totlos-to T    horizon of totlos\n"
    "      --efpt-to STATE  target state of efpt\n"
    "      --ci delta|normal|none  95% intervals of the derived quantities\n"
    "      --ci-draws B     draws for --ci normal (default 1000)\n"
    "      --seed N         seed of the --ci normal draws (default 1)\n"
    "      --lrtest FIT0    likelihood-ratio test against the nested fit FIT0\n"
    "Output:\n"
    "      --pmatrix T,...  add P(t) = exp(Q t) for these t >= 0\n"
    "      --viterbi FILE   (--hidden) write the most likely true states\n"
    "      --derive KIND=FILE  a derived quantity with intervals as a stream:\n"
    "                       pmatrix, totlos, efpt, pnext, sojourn, qmatrix, or\n"
    "                       prevalence (observed vs expected); repeatable\n"
    "      --at A=V,...     covariate values for --derive (repeatable; default\n"
    "                       the centre)\n"
    "      --times T,...    times for pmatrix and prevalence\n"
    "      --totlos-to T    horizon of totlos (default: for life)\n"
    "      --efpt-to S      target state of efpt\n"
    "      --ci delta|normal|bootstrap|none  intervals: delta method (default),\n"
    "                       simulated from the estimates' normal law (msm's\n"
    "                       ci = \"normal\"), parametric bootstrap (data simulated\n"
    "                       from the fit, refitted), seeded by --seed; or none\n"
    "      --ci-draws B     draws or bootstrap data sets (default 1000)\n"
    "      --lrtest FIT0    likelihood-ratio test against a nested fit's model file\n"
    "      --pmatrix-grid FILE  write P(t) on a grid of times to FILE, a stream\n"
    "                       from,t,p0..p(K-1),stay (binary for *.stb, else CSV)\n"
    "      --grid T0:T1:N   the grid: N times from T0 to T1 (default 0 to the\n"
    "                       longest follow-up in the data, 101 times)\n"
    "\n"
    "Common options:\n"
    "  -o, --output FILE    write the fitted model to FILE (atomically)\n"
    "  -j, --threads N      threads over subjects (results do not depend on N)\n"
    "  -q, --quiet          errors only (no progress line)\n"
    "  -v, --verbose        more detail; progress lines also when\n"
    "                       stderr is not a terminal\n"
    "  -h, --help           this help\n"
    "      --version        print the version\n";

enum {
    OPT_EXACT = ST_OPT_TOOL,
    OPT_PANEL,
    OPT_HIDDEN,
    OPT_ALLOWED,
    OPT_BASE,
    OPT_CENSOR,
    OPT_EMISSION,
    OPT_EST_EM,
    OPT_EST_INIT,
    OPT_EM,
    OPT_LBFGS,
    OPT_MAXIT,
    OPT_TOL,
    OPT_NOSE,
    OPT_PMATRIX,
    OPT_VITERBI,
    OPT_COVARIATES,
    OPT_CONSTRAINT,
    OPT_MISC,
    OPT_PCI,
    OPT_NOCENTRE,
    OPT_DERIVE,
    OPT_AT,
    OPT_TOTLOS_TO,
    OPT_EFPT_TO,
    OPT_CI,
    OPT_CI_DRAWS,
    OPT_TIMES,
    OPT_LRTEST,
    OPT_DEATHEXACT,
    OPT_PGRID,
    OPT_GRID
};

typedef struct derive_req {
    int kind;
    const char *path;
} derive_req;

#define D_PREVALENCE 6
static const char *const DKIND[] = {"pmatrix", "totlos", "efpt", "pnext", "sojourn", "qmatrix", "prevalence"};

/* A report table to a stream: binary for a .stb name (or as --format
 * says), else CSV. */
static int write_table(const char *path, const st_mjp_table *t, const st_cli *cli, st_err *e)
{
    size_t plen = strlen(path);
    int fmt = cli->format ? cli->format : plen > 4 && !strcmp(path + plen - 4, ".stb") ? ST_FMT_BIN : ST_FMT_CSV;
    st_writer_opts wo = {.format = fmt, .codec = cli->compress ? ST_CODEC_ZLIB : ST_CODEC_RAW};
    st_output out = {0};
    st_writer *w = NULL;
    int rc = st_output_open(&out, path, fmt == ST_FMT_BIN, e);
    if (rc == 0)
        rc = st_writer_new(&w, out.fp, t->names, t->dt, t->ncol, &wo, e);
    for (size_t j = 0; rc == 0 && j < t->ncol; j++)
        if (t->dt[j] == ST_STR)
            rc = st_writer_source(w, j, ST_STR, t->labels, e);
    for (size_t i = 0; rc == 0 && i < t->nrow; i++)
        rc = st_writer_row(w, t->v + i * t->ncol, e);
    if (rc == 0) {
        rc = st_writer_close(w, e);
        w = NULL;
    }
    if (rc == 0)
        rc = st_output_close(&out, e);
    st_writer_free(w);
    if (rc < 0)
        st_output_abort(&out);
    return rc;
}

#define MAX_SPECS 64

#define MAX_CENSOR 16

/* State numbering when --base is not given: states from 1 (msm's
 * convention) are read as 1-based when nothing in the data is 0 (and, with
 * a model, the largest is K), and the choice is said on stderr. */
static int detect_base(const st_cli *cli, int mode, double lo, double hi, int have_model, long K)
{
    if (mode == ST_MJP_HIDDEN || !isfinite(lo) || !(lo >= 1) || (have_model && hi != (double)K))
        return 0;
    st_cli_log(cli, 1, "note: states numbered %g to %g: read as 1-based (msm's convention; --base 0 refuses it)", lo, hi);
    return 1;
}

/* Viterbi paths: each rank decodes its subjects; the rows are gathered on
 * rank 0 in input order (rank order = input order) and written there. */
static int write_viterbi(const char *path, const st_mjp *m, const st_mjp_data *d, int base, st_err *e)
{
    size_t maxn = 0;
    for (size_t s = 0; s < d->nsubj; s++)
        if (d->start[s + 1] - d->start[s] > maxn)
            maxn = d->start[s + 1] - d->start[s];
    int *st = malloc((maxn ? maxn : 1) * sizeof *st);
    double *rows = malloc((d->nobs ? d->nobs : 1) * 4 * sizeof *rows);
    int rc = 0;
    size_t key = 0;
    if (!st || !rows)
        rc = st_err_nomem(e, "Viterbi");
    for (size_t s = 0; rc == 0 && s < d->nsubj; s++) {
        key = d->grp[s];
        rc = st_mjp_viterbi(m, d, s, st, e);
        for (size_t k = d->start[s]; rc == 0 && k < d->start[s + 1]; k++) {
            double *row = rows + 4 * k;
            row[0] = d->seq[s];
            row[1] = d->t[k];
            row[2] = d->y[k] + base;
            row[3] = st[k - d->start[s]] + base;
        }
    }
    free(st);
    rc = st_mpi_agree_error(rc, key, e);
    char *all = NULL;
    size_t total = 0;
    if (rc == 0)
        rc = st_mpi_gather_bytes(rows, d->nobs * 4 * sizeof *rows, &all, &total, e);
    free(rows);
    if (rc < 0 || st_mpi_rank() != 0) {
        free(all);
        return rc;
    }
    st_output out = {0};
    st_writer *w = NULL;
    rc = st_output_open(&out, path, 0, e);
    if (rc < 0) {
        free(all);
        return rc;
    }
    const char *names[] = {"seq", "t", "obs", "state"};
    const st_dtype dt[] = {ST_I8, ST_F8, ST_I8, ST_I8};
    rc = st_writer_new(&w, out.fp, names, dt, 4, NULL, e);
    size_t nrow = total / (4 * sizeof(double));
    for (size_t i = 0; rc == 0 && i < nrow; i++) {
        double row[4];
        memcpy(row, all + i * sizeof row, sizeof row);
        rc = st_writer_row(w, row, e);
    }
    free(all);
    if (rc == 0) {
        rc = st_writer_close(w, e);
        w = NULL;
    }
    st_writer_free(w);
    if (rc == 0)
        rc = st_output_close(&out, e);
    else
        st_output_abort(&out);
    return rc;
}

/* "T0:T1:N" with 0 <= T0 <= T1, 1 <= N <= 100000 (N = 1 needs T0 = T1). */
static int parse_grid(const char *s, double *t0, double *t1, long *n)
{
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *a = strchr(buf, ':'), *b = a ? strchr(a + 1, ':') : NULL;
    if (!a || !b)
        return -1;
    *a = *b = '\0';
    if (st_parse_double(buf, t0) < 0 || st_parse_double(a + 1, t1) < 0 || st_parse_long(b + 1, n) < 0)
        return -1;
    if (!(*t0 >= 0) || !(*t1 >= *t0) || !isfinite(*t1) || *n < 1 || *n > 100000 || (*n == 1 && *t1 != *t0))
        return -1;
    return 0;
}

/* --pmatrix-grid FILE: rows from,t,p<base>..,stay; grouped by the starting
 * state, n times from t0 to t1 each (t1 < 0: the longest follow-up). */
static int write_pgrid(const char *path, const st_mjp *m, const st_mjp_data *d, int base, double t0, double t1,
                       long n, st_err *e)
{
    size_t K = m->K;
    if (t1 < 0) { /* the whole data's longest follow-up */
        double span = st_mjp_data_span(d), *all = NULL;
        size_t na = 0;
        int rc = st_mpi_allgather(&span, 1, &all, &na, e);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < na; i++)
            span = fmax(span, all[i]);
        free(all);
        if (!(span > t0))
            return st_err_set(e, ST_EDATA, NULL, 0, 0,
                              "--pmatrix-grid: no subject is followed beyond time %g: give --grid T0:T1:N", t0);
        t1 = span;
    }
    if (st_mpi_rank() != 0)
        return ST_OK;
    double *t = malloc((size_t)n * sizeof *t), *P = malloc((size_t)n * K * K * sizeof *P);
    double *stay = malloc((size_t)n * K * sizeof *stay), *row = malloc((K + 3) * sizeof *row);
    char **names = calloc(K + 3, sizeof *names);
    st_dtype *dt = calloc(K + 3, sizeof *dt);
    st_output out = {0};
    st_writer *w = NULL;
    int rc = ST_OK;
    if (!t || !P || !stay || !row || !names || !dt) {
        rc = st_err_nomem(e, "P(t) grid");
        goto done;
    }
    for (long k = 0; k < n; k++)
        t[k] = n == 1 ? t0 : k == n - 1 ? t1 : t0 + (t1 - t0) * (double)k / (double)(n - 1);
    if ((rc = st_mjp_pmatrix_grid(m, t, (size_t)n, P, stay, e)) < 0)
        goto done;
    for (size_t j = 0; j < K + 3; j++) {
        char buf[32];
        if (j < 2 || j == K + 2)
            snprintf(buf, sizeof buf, "%s", j == 0 ? "from" : j == 1 ? "t" : "stay");
        else
            snprintf(buf, sizeof buf, "p%zu", j - 2 + (size_t)base);
        if (!(names[j] = strdup(buf))) {
            rc = st_err_nomem(e, "P(t) grid");
            goto done;
        }
        dt[j] = j == 0 ? ST_I8 : ST_F8;
    }
    size_t len = strlen(path);
    int bin = len > 4 && strcmp(path + len - 4, ".stb") == 0;
    st_writer_opts wo = {.format = bin ? ST_FMT_BIN : ST_FMT_CSV};
    if ((rc = st_output_open(&out, path, bin, e)) < 0 ||
        (rc = st_writer_new(&w, out.fp, (const char *const *)names, dt, K + 3, &wo, e)) < 0)
        goto done;
    for (size_t a = 0; a < K && rc == ST_OK; a++)
        for (long k = 0; k < n && rc == ST_OK; k++) {
            row[0] = (double)(a + (size_t)base);
            row[1] = t[k];
            memcpy(row + 2, P + ((size_t)k * K + a) * K, K * sizeof *row);
            row[K + 2] = stay[(size_t)k * K + a];
            rc = st_writer_row(w, row, e);
        }
    if (rc == ST_OK) {
        rc = st_writer_close(w, e);
        w = NULL;
    }
done:
    st_writer_free(w);
    if (rc == ST_OK)
        rc = st_output_close(&out, e);
    else
        st_output_abort(&out);
    if (names)
        for (size_t j = 0; j < K + 3; j++)
            free(names[j]);
    free(names);
    free(dt);
    free(t);
    free(P);
    free(stay);
    free(row);
    return rc;
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "mjp-infer", USAGE);
    static const struct option longopts[] = {ST_CLI_LONGOPTS,
                                             ST_CLI_OPT_SEQ_COL,
                                             ST_CLI_OPT_TIME_COL,
                                             ST_CLI_OPT_STATE_COL,
                                             ST_CLI_OPT_OBSTYPE_COL,
                                             ST_CLI_OPT_NO_HEADER,
                                             {"exact", no_argument, NULL, OPT_EXACT},
                                             {"panel", no_argument, NULL, OPT_PANEL},
                                             {"hidden", no_argument, NULL, OPT_HIDDEN},
                                             {"model", required_argument, NULL, 'm'},
                                             {"states", required_argument, NULL, 'K'},
                                             {"allowed", required_argument, NULL, OPT_ALLOWED},
                                             {"base", required_argument, NULL, OPT_BASE},
                                             {"deathexact", required_argument, NULL, OPT_DEATHEXACT},
                                             {"censor", required_argument, NULL, OPT_CENSOR},
                                             {"emission", required_argument, NULL, OPT_EMISSION},
                                             {"estimate-emission", no_argument, NULL, OPT_EST_EM},
                                             {"estimate-initial", no_argument, NULL, OPT_EST_INIT},
                                             {"em", no_argument, NULL, OPT_EM},
                                             {"lbfgs", no_argument, NULL, OPT_LBFGS},
                                             {"max-iter", required_argument, NULL, OPT_MAXIT},
                                             {"tol", required_argument, NULL, OPT_TOL},
                                             {"no-se", no_argument, NULL, OPT_NOSE},
                                             {"pmatrix", required_argument, NULL, OPT_PMATRIX},
                                             {"viterbi", required_argument, NULL, OPT_VITERBI},
                                             {"covariates", required_argument, NULL, OPT_COVARIATES},
                                             {"constraint", required_argument, NULL, OPT_CONSTRAINT},
                                             {"misc-covariates", required_argument, NULL, OPT_MISC},
                                             {"pci", required_argument, NULL, OPT_PCI},
                                             {"no-centre", no_argument, NULL, OPT_NOCENTRE},
                                             {"no-center", no_argument, NULL, OPT_NOCENTRE},
                                             {"derive", required_argument, NULL, OPT_DERIVE},
                                             {"at", required_argument, NULL, OPT_AT},
                                             {"totlos-to", required_argument, NULL, OPT_TOTLOS_TO},
                                             {"efpt-to", required_argument, NULL, OPT_EFPT_TO},
                                             {"ci", required_argument, NULL, OPT_CI},
                                             {"ci-draws", required_argument, NULL, OPT_CI_DRAWS},
                                             {"times", required_argument, NULL, OPT_TIMES},
                                             {"lrtest", required_argument, NULL, OPT_LRTEST},
                                             {"pmatrix-grid", required_argument, NULL, OPT_PGRID},
                                             {"grid", required_argument, NULL, OPT_GRID},
                                             {NULL, 0, NULL, 0}};
    int mode = 0, base = -1, est_em = 0, est_init = 0; /* base -1: detect */
    const char *deathexact = NULL;
    long K = 0;
    const char *model = NULL, *allowed = NULL, *emission = NULL, *viterbi = NULL, *pgrid = NULL;
    double grid0 = 0, grid1 = -1; /* grid1 < 0: the longest follow-up */
    long ngrid = 101;
    st_mjp_censor censor[MAX_CENSOR];
    size_t ncensor = 0;
    st_mjp_fit_opts fo = {.method = ST_MJP_FIT_AUTO, .want_se = 1};
    double *ptimes = NULL, *pci = NULL;
    size_t npt = 0, npci = 0, nspec = 0, ncons = 0;
    char *specs[MAX_SPECS], *cons[MAX_SPECS];
    const char *misc = NULL, *ats[MAX_SPECS];
    int nocentre = 0;
    derive_req drq[16];
    size_t ndrq = 0, nat = 0;
    double tot = INFINITY;
    long efpt_to = -1;
    st_mjp_ci_opts co = {.method = ST_MJP_CI_DELTA, .draws = 1000};
    double *dtimes = NULL;
    size_t ndt = 0;
    const char *lrtest = NULL;
    int c;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "m:K:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case OPT_EXACT:
        case OPT_PANEL:
        case OPT_HIDDEN: {
            int want = c == OPT_EXACT ? ST_MJP_EXACT : c == OPT_PANEL ? ST_MJP_PANEL : ST_MJP_HIDDEN;
            if (mode && mode != want)
                st_cli_usage_error(&cli, "give only one of --exact, --panel, --hidden");
            mode = want;
            break;
        }
        case 'm':
            model = optarg;
            break;
        case 'K':
            if (st_parse_long(optarg, &K) < 0 || K < 2 || K > ST_MJP_MAX_STATES)
                st_cli_usage_error(&cli, "-K/--states must be an integer from 2 to %d, not '%s'",
                                   ST_MJP_MAX_STATES, optarg);
            break;
        case OPT_ALLOWED:
            allowed = optarg;
            break;
        case OPT_BASE: {
            long b;
            if (st_parse_long(optarg, &b) < 0 || (b != 0 && b != 1))
                st_cli_usage_error(&cli, "--base must be 0 or 1, not '%s'", optarg);
            base = (int)b;
            break;
        }
        case OPT_DEATHEXACT:
            deathexact = optarg;
            break;
        case OPT_CENSOR:
            if (ncensor == MAX_CENSOR)
                st_cli_usage_error(&cli, "at most %d --censor codes", MAX_CENSOR);
            if (st_mjp_parse_censor(optarg, &censor[ncensor]) < 0)
                st_cli_usage_error(&cli, "--censor must be CODE=STATE,STATE,..., not '%s'", optarg);
            ncensor++;
            break;
        case OPT_EMISSION:
            emission = optarg;
            break;
        case OPT_EST_EM:
            est_em = 1;
            break;
        case OPT_EST_INIT:
            est_init = 1;
            break;
        case OPT_EM:
            fo.method = ST_MJP_FIT_EM;
            break;
        case OPT_LBFGS:
            fo.method = ST_MJP_FIT_LBFGS;
            break;
        case OPT_MAXIT: {
            long v;
            if (st_parse_long(optarg, &v) < 0 || v < 1 || v > 100000000L)
                st_cli_usage_error(&cli, "--max-iter must be an integer from 1 to 1e8, not '%s'", optarg);
            fo.max_iter = (int)v;
            break;
        }
        case OPT_TOL:
            if (st_parse_double(optarg, &fo.tol) < 0 || !(fo.tol > 0) || fo.tol >= 1)
                st_cli_usage_error(&cli, "--tol must be a number in (0, 1), not '%s'", optarg);
            break;
        case OPT_NOSE:
            fo.want_se = 0;
            break;
        case OPT_PMATRIX:
            free(ptimes);
            if (st_parse_double_list(optarg, &ptimes, &npt) < 0)
                st_cli_usage_error(&cli, "--pmatrix must be a list of times t1,t2,..., not '%s'", optarg);
            for (size_t i = 0; i < npt; i++)
                if (!(ptimes[i] >= 0) || !isfinite(ptimes[i]))
                    st_cli_usage_error(&cli, "--pmatrix times must be >= 0, not '%s'", optarg);
            break;
        case OPT_VITERBI:
            viterbi = optarg;
            break;
        case OPT_COVARIATES:
            if (nspec == MAX_SPECS)
                st_cli_usage_error(&cli, "at most %d --covariates", MAX_SPECS);
            specs[nspec++] = optarg;
            break;
        case OPT_CONSTRAINT:
            if (ncons == MAX_SPECS)
                st_cli_usage_error(&cli, "at most %d --constraint", MAX_SPECS);
            cons[ncons++] = optarg;
            break;
        case OPT_MISC:
            misc = optarg;
            break;
        case OPT_PCI:
            free(pci);
            if (st_parse_double_list(optarg, &pci, &npci) < 0 || npci == 0)
                st_cli_usage_error(&cli, "--pci must be a list of times t1,t2,..., not '%s'", optarg);
            for (size_t i = 0; i < npci; i++)
                if (!isfinite(pci[i]) || (i && !(pci[i] > pci[i - 1])))
                    st_cli_usage_error(&cli, "--pci times must be finite and increasing, not '%s'", optarg);
            break;
        case OPT_NOCENTRE:
            nocentre = 1;
            break;
        case OPT_DERIVE: {
            const char *eq = strchr(optarg, '=');
            int kind = -1;
            for (int k = 0; eq && k < 7; k++)
                if (strlen(DKIND[k]) == (size_t)(eq - optarg) && !strncmp(DKIND[k], optarg, (size_t)(eq - optarg)))
                    kind = k;
            if (kind < 0 || !eq[1])
                st_cli_usage_error(&cli, "--derive must be KIND=FILE with KIND pmatrix, totlos, efpt, pnext, sojourn, "
                                         "qmatrix or prevalence, not '%s'", optarg);
            if (ndrq == 16)
                st_cli_usage_error(&cli, "at most 16 --derive");
            drq[ndrq++] = (derive_req){kind, eq + 1};
            break;
        }
        case OPT_AT:
            if (nat == MAX_SPECS)
                st_cli_usage_error(&cli, "at most %d --at", MAX_SPECS);
            ats[nat++] = optarg;
            break;
        case OPT_TOTLOS_TO:
            if (st_parse_double(optarg, &tot) < 0 || !(tot > 0))
                st_cli_usage_error(&cli, "--totlos-to must be a time > 0 (or inf), not '%s'", optarg);
            break;
        case OPT_EFPT_TO:
            if (st_parse_long(optarg, &efpt_to) < 0 || efpt_to < 0 || efpt_to >= ST_MJP_MAX_STATES + 1)
                st_cli_usage_error(&cli, "--efpt-to must be a state, not '%s'", optarg);
            break;
        case OPT_CI:
            if (!strcmp(optarg, "delta"))
                co.method = ST_MJP_CI_DELTA;
            else if (!strcmp(optarg, "normal"))
                co.method = ST_MJP_CI_NORMAL;
            else if (!strcmp(optarg, "none"))
                co.method = ST_MJP_CI_NONE;
            else if (!strcmp(optarg, "bootstrap"))
                co.method = ST_MJP_CI_BOOT;
            else
                st_cli_usage_error(&cli, "--ci must be delta, normal, bootstrap or none, not '%s'", optarg);
            break;
        case OPT_TIMES:
            free(dtimes);
            if (st_parse_double_list(optarg, &dtimes, &ndt) < 0 || ndt == 0)
                st_cli_usage_error(&cli, "--times must be a list of times t1,t2,..., not '%s'", optarg);
            for (size_t i = 0; i < ndt; i++)
                if (!isfinite(dtimes[i]) || dtimes[i] < 0)
                    st_cli_usage_error(&cli, "--times must be finite and >= 0, not '%s'", optarg);
            break;
        case OPT_LRTEST:
            lrtest = optarg;
            break;
        case OPT_CI_DRAWS: {
            long v;
            if (st_parse_long(optarg, &v) < 0 || v < 2 || v > 10000000L)
                st_cli_usage_error(&cli, "--ci-draws must be an integer from 2 to 1e7, not '%s'", optarg);
            co.draws = (size_t)v;
            break;
        }
        case OPT_PGRID:
            pgrid = optarg;
            break;
        case OPT_GRID:
            if (parse_grid(optarg, &grid0, &grid1, &ngrid) < 0)
                st_cli_usage_error(&cli, "--grid must be T0:T1:N with 0 <= T0 <= T1 and N from 1 to 100000 "
                                         "(T0 = T1 for N = 1), not '%s'", optarg);
            break;
        default:
            st_cli_usage_error(&cli, NULL);
        }
    }
    if (!mode)
        mode = ST_MJP_PANEL;
    if (viterbi && mode != ST_MJP_HIDDEN)
        st_cli_usage_error(&cli, "--viterbi needs --hidden");
    if (grid1 >= 0 && !pgrid)
        st_cli_usage_error(&cli, "--grid applies to --pmatrix-grid FILE");
    if ((est_em || est_init) && mode != ST_MJP_HIDDEN)
        st_cli_usage_error(&cli, "--estimate-emission and --estimate-initial need --hidden");
    if (mode == ST_MJP_HIDDEN && !model && !emission)
        st_cli_usage_error(&cli, "--hidden needs --emission FILE (or a model with an emission matrix)");
    if (misc && mode != ST_MJP_HIDDEN)
        st_cli_usage_error(&cli, "--misc-covariates needs --hidden");
    if (ncons && !nspec && !npci)
        st_cli_usage_error(&cli, "--constraint needs --covariates or --pci");
    for (size_t i = 0; i < ndrq; i++) {
        if (drq[i].kind == ST_MJP_D_PMATRIX && !npt && !ndt)
            st_cli_usage_error(&cli, "--derive pmatrix needs the times: --times T,...");
        if (drq[i].kind == ST_MJP_D_EFPT && efpt_to < 0)
            st_cli_usage_error(&cli, "--derive efpt needs --efpt-to STATE");
    }
    if (ndrq && co.method != ST_MJP_CI_NONE && !fo.want_se)
        st_cli_usage_error(&cli, "--derive with intervals needs the standard errors: drop --no-se or give --ci none");
    st_cli_threads(&cli);

    st_err err;
    st_err_clear(&err);
    st_table *tab = NULL;
    st_mjp *m = NULL;
    st_mjp_data *d = NULL;
    st_mjp_fit *fit = NULL;
    st_output out = {0};
    /* under MPI each rank reads and processes only its share of the subject blocks */
    st_table_share sh = {0};
    int rc = st_mpi_cli_start(&cli, &argc, &argv, argc - optind, argv + optind, &err);
    st_reader_opts ro = st_cli_reader_opts(&cli);
    ro.any_type = 1; /* ids and labels may be text; unused text columns are ignored */
    if (rc == 0)
        rc = st_table_read_share_opts(&tab, (const char *const *)argv + optind, (size_t)(argc - optind), "seq", &ro,
                                      st_mjp_block_groups, &sh, &err);
    /* the state column: numbers (range, over the whole data) or labels */
    double slo = INFINITY, shi = -INFINITY;
    char **slabels = NULL;
    size_t nslabels = 0;
    if (rc == 0)
        rc = st_mjp_table_states(tab, mode, censor, ncensor, &slo, &shi, &slabels, &nslabels, &err);
    if (rc == 0) {
        double mm[2] = {slo, -shi}, *all = NULL;
        size_t n = 0;
        rc = st_mpi_allgather(mm, 2, &all, &n, &err);
        for (size_t i = 0; rc == 0 && i + 2 <= n; i += 2)
            slo = fmin(slo, all[i]), shi = fmax(shi, -all[i + 1]);
        free(all);
    }
    if (rc == 0 && slabels && st_mpi_size() > 1 && !model)
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0,
                        "state labels under MPI: give the model (-m) with its labels, so that every rank "
                        "numbers them alike");
    if (rc == 0 && model) {
        rc = st_mjp_read(&m, model, &err);
        if (rc == 0 && K && (size_t)K != m->K)
            rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "-K %ld but the model has %zu states", K, m->K);
    } else if (rc == 0) {
        if (!K && emission && mode == ST_MJP_HIDDEN) {
            size_t k;
            rc = st_mjp_emission_states(emission, &k, &err);
            K = (long)k;
        }
        if (rc == 0 && base < 0 && !slabels)
            base = detect_base(&cli, mode, slo, shi, K != 0, K);
        if (rc == 0 && !K && slabels) {
            K = (long)nslabels;
            if (K < 2 || K > ST_MJP_MAX_STATES)
                rc = st_err_set(&err, ST_EDATA, tab->source, 0, 0, "%zu state labels: the model needs 2 to %d states",
                                nslabels, ST_MJP_MAX_STATES);
        }
        if (rc == 0 && !K) {
            double mx = shi;
            if (rc == 0 && (!(mx >= base + 1) || mx - base + 1 > ST_MJP_MAX_STATES))
                rc = st_err_set(&err, ST_EDATA, tab->source, 0, 0,
                                "cannot tell the number of states from the data: give -K or -m");
            else if (rc == 0)
                K = (long)(mx - base) + 1;
        }
        if (rc == 0)
            rc = st_mjp_new(&m, (size_t)K, &err);
        if (rc == 0)
            for (size_t i = 0; i < m->K * m->K; i++)
                m->allowed[i] = i / m->K != i % m->K;
    }
    if (rc == 0 && base < 0)
        base = slabels ? 0 : detect_base(&cli, mode, slo, shi, 1, (long)m->K);
    if (rc == 0 && slabels && !m->labels) {
        if (nslabels != m->K)
            rc = st_err_set(&err, ST_EDATA, tab->source, 0, 0, "%zu state labels in the data, %zu states in the model",
                            nslabels, m->K);
        else {
            m->labels = slabels; /* sorted: the model file records the order */
            slabels = NULL;
        }
    }
    for (size_t i = 0; rc == 0 && i < ncensor && base == 1; i++) {
        /* members were parsed 0-based; shift for 1-based states */
        if (censor[i].member[0])
            rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--censor: state 0 does not exist with 1-based states");
        memmove(censor[i].member, censor[i].member + 1, ST_MJP_MAX_STATES - 1);
        censor[i].member[ST_MJP_MAX_STATES - 1] = 0;
    }
    if (rc == 0 && efpt_to >= 0 && efpt_to - base < 0)
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--efpt-to: no state %ld with 1-based states", efpt_to);
    if (rc == 0 && base == 1 && !m->labels) {
        /* 1-based data: name the states 1..K, so that the model file's
         * transitions (rates, hazard ratios) read as the data number them */
        if (!(m->labels = calloc(m->K, sizeof *m->labels)))
            rc = st_err_nomem(&err, "labels");
        for (size_t i = 0; rc == 0 && i < m->K; i++) {
            char buf[24];
            snprintf(buf, sizeof buf, "%zu", i + 1);
            if (!(m->labels[i] = strdup(buf)))
                rc = st_err_nomem(&err, "labels");
        }
    }
    if (rc == 0 && allowed) {
        if (m->P)
            rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--allowed does not apply to a model with rate formulas");
        else
            rc = st_mjp_set_allowed(m, allowed, base, &err);
    }
    if (rc == 0 && emission)
        rc = st_mjp_read_emission(m, emission, &err);
    if (rc == 0 && est_em) {
        if (!m->E)
            rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--estimate-emission needs an emission matrix");
        else
            m->E_fixed = 0;
    }
    if (rc == 0 && est_init)
        m->init_estimate = 1;
    if (rc == 0)
        rc = st_mjp_setup_covariates(m, specs, nspec, misc, cons, ncons, pci, npci, base, &err);
    st_mjp_data_opts dopt = {mode, base, censor, ncensor, -1};
    if (rc == 0 && deathexact && (dopt.deathexact = st_mjp_state_index(m, deathexact)) < 0)
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--deathexact: no state '%s' in the model", deathexact);
    if (rc == 0 && deathexact && !st_mjp_absorbing(m, (size_t)dopt.deathexact))
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--deathexact %s: the state is not absorbing", deathexact);
    if (rc == 0 && deathexact && mode != ST_MJP_PANEL)
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--deathexact applies to panel data (--panel)");
    if (rc == 0 && st_mpi_size() > 1)
        rc = st_mjp_data_from_share_opts(&d, tab, m, &dopt, sh.ngroups, sh.nrows, sh.blo * sh.block, sh.row0, &err);
    else if (rc == 0)
        rc = st_mjp_data_from_table_opts(&d, tab, m, &dopt, &err);
    if (rc == 0)
        rc = st_mjp_check_observed(m, d, model || allowed, base, &err);
    st_table_free(tab); /* d has what the fit needs */
    tab = NULL;
    if (rc == 0 && m->C) {
        rc = st_mjp_check_periods(m, d, &err);
        if (rc == 0 && !nocentre)
            rc = st_mjp_set_centre(m, d->zmean, &err);
    }
    if (rc == 0 && d->nskipped_all)
        st_cli_log(&cli, 1, "warning: %zu subject%s with a single observation skipped (first: subject %.17g)",
                   d->nskipped_all, d->nskipped_all > 1 ? "s" : "", d->first_skipped);
    if (rc == 0 && !m->P) {
        /* starting values: the model's, or crude ones where none is given */
        int need = 0;
        for (size_t i = 0; i < m->K * m->K; i++)
            need |= m->allowed[i] && !m->fixed[i] && !(m->Q[i] > 0);
        if (need) {
            st_mjp *crude;
            rc = st_mjp_copy(&crude, m, &err);
            if (rc == 0)
                rc = st_mjp_init_rates(crude, d, &err);
            if (rc == 0) {
                for (size_t a = 0; a < m->K; a++) {
                    double s = 0;
                    for (size_t b = 0; b < m->K; b++) {
                        size_t ab = a * m->K + b;
                        if (a == b)
                            continue;
                        if (m->allowed[ab] && !m->fixed[ab] && !(m->Q[ab] > 0))
                            m->Q[ab] = crude->Q[ab];
                        s += m->Q[ab];
                    }
                    m->Q[a * m->K + a] = 0.0 - s;
                }
            }
            st_mjp_free(crude);
        }
    }
    st_progress bar;
    st_cli_progress_init(&cli, &bar);
    if (st_mpi_rank() != 0)
        bar.mode = ST_PROGRESS_OFF;
    st_progress_begin(&bar, "fitting", "likelihood evaluations", 0);
    fo.progress = st_progress_fn_update;
    fo.progress_ctx = &bar;
    if (rc == 0)
        rc = st_mjp_fit_run(m, d, &fo, &fit, &err);
    if (rc == 0)
        st_progress_end(&bar);
    else
        st_progress_clear(&bar);
    if (rc == 0) {
        st_cli_log(&cli, 2, "%s: -2 log-likelihood %.10g, %d iterations, %s", fit->method,
                   fit->minus2loglik, fit->iterations, fit->converged ? "converged" : "NOT converged");
        if (!fit->converged)
            st_cli_log(&cli, 1, "warning: the fit did not converge (max |gradient| %g)", fit->grad_norm);
    }
    if (rc == 0 && lrtest) {
        st_mjp_fit_summary s0;
        rc = st_mjp_read_fit_summary(lrtest, &s0, &err);
        if (rc == 0 && (s0.subjects != d->nsubj_all || s0.observations != d->nobs_all - d->ninserted))
            rc = st_err_set(&err, ST_EUSAGE, lrtest, 0, 0,
                            "fitted to %zu subjects and %zu observations, this data has %zu and %zu: "
                            "a likelihood-ratio test needs the same data",
                            s0.subjects, s0.observations, d->nsubj_all, d->nobs_all - d->ninserted);
        if (rc == 0)
            rc = st_mjp_lrtest(s0.loglik, s0.nfree, fit->loglik, fit->nfree, &fit->lr, &fit->lr_df, &fit->lr_p, &err);
        if (rc == 0) {
            fit->lr_against = lrtest;
            st_cli_log(&cli, 2, "likelihood ratio %.6g on %zu df against %s: p = %.4g", fit->lr, fit->lr_df, lrtest,
                       fit->lr_p);
        }
    }
    if (rc == 0 && viterbi)
        rc = write_viterbi(viterbi, m, d, base, &err);
    if (rc == 0 && pgrid)
        rc = write_pgrid(pgrid, m, d, base, grid0, grid1, ngrid, &err);
    double *atz[MAX_SPECS];
    size_t natz = 0;
    co.seed = cli.seed;
    if (rc == 0 && efpt_to >= 0 && (size_t)(efpt_to - base) >= m->K)
        rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--efpt-to: no state %ld in a %zu-state model", efpt_to, m->K);
    for (size_t i = 0; i < nat && rc == 0; i++) {
        if (!m->C)
            rc = st_err_set(&err, ST_EUSAGE, NULL, 0, 0, "--at: the model has no covariates");
        else if (!(atz[natz] = malloc(m->C * sizeof *atz[natz])))
            rc = st_err_nomem(&err, "--at");
        else
            rc = st_mjp_parse_at(m, ats[i], atz[natz++], &err);
    }
    double *bth = NULL;
    if (rc == 0 && co.method == ST_MJP_CI_BOOT && ndrq) {
        rc = st_mjp_bootstrap(m, fit, d, co.draws, cli.seed, &bth, &co.nboot, &err);
        co.boot = bth;
        if (rc == 0)
            st_cli_log(&cli, 2, "bootstrap: %zu of %zu refits used", co.nboot, co.draws);
        if (rc == 0 && co.nboot < co.draws)
            st_cli_log(&cli, 1, "warning: %zu of %zu bootstrap refits failed and were left out", co.draws - co.nboot,
                       co.draws);
    }
    for (size_t i = 0; i < ndrq && rc == 0; i++) {
        st_mjp_table *t = NULL;
        if (drq[i].kind == D_PREVALENCE)
            rc = st_mjp_prevalence_table(m, d, dtimes, ndt, base, &t, &err);
        else
            rc = st_mjp_derived_table(m, fit, drq[i].kind, atz, natz, ndt ? dtimes : ptimes, ndt ? ndt : npt, tot,
                                      (int)(efpt_to - base), base, &co, &t, &err);
        if (rc == 0 && st_mpi_rank() == 0)
            rc = write_table(drq[i].path, t, &cli, &err);
        st_mjp_table_free(t);
    }
    for (size_t i = 0; i < natz; i++)
        free(atz[i]);
    free(bth);
    if (rc == 0)
        rc = st_output_open(&out, cli.output, 0, &err);
    if (rc == 0)
        rc = st_mjp_write(out.fp, m, fit, d, ptimes, npt, &err);
    st_mjp_fit_free(fit);
    st_mjp_data_free(d);
    st_mjp_free(m);
    st_table_free(tab);
    for (size_t i = 0; i < nslabels && slabels; i++)
        free(slabels[i]);
    free(slabels);
    free(ptimes);
    free(pci);
    free(dtimes);
    return st_mpi_cli_end(st_cli_finish(&cli, &out, rc, &err));
}

/* hmm-sample: draw sequences from a hidden Markov model.
 * Thin driver: read the model, sample blocks of sequences (lib/hmm),
 * write seq,t,state and the emission columns. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream.h"
#include "hmm/hmm.h"

static const char USAGE[] =
    "Usage: hmm-sample -m MODEL -n SEQS -T LENGTH [OPTION]...\n"
    "Draw SEQS sequences of LENGTH steps from the hidden Markov model in MODEL\n"
    "(stoch-model(5)) and write them as a stream with the columns seq, t,\n"
    "state, then the emission columns (names from the model's 'columns', else\n"
    "x1, x2, ...); states and categorical symbols as the model's labels when it\n"
    "has them.  Sequence s uses the s-th random stream of --seed, so the\n"
    "output does not depend on -j.\n"
    "\n"
    "  -m, --model FILE     model file (required)\n"
    "  -n, --sequences N    number of sequences, 1..1e9 (required)\n"
    "  -T, --length T       steps per sequence, 1..1e9 (required)\n"
    "      --seed S         random seed (default 1)\n"
    "  -o, --output FILE    write FILE (atomically) instead of stdout\n"
    "      --format FMT     csv or bin (default: bin when -o ends in .stb, else csv)\n"
    "      --compress       zlib-compress binary chunks\n"
    "  -j, --threads N      threads (default: all cores; same output for any N)\n"
    "  -q, --quiet          errors only\n"
    "  -v, --verbose        progress lines on stderr also when it is not a terminal\n"
    "  -h, --help           this help\n"
    "      --version        print the version\n"
    "\n"
    "Exit status: 0 success, 1 bad model or I/O error, 2 usage error.\n"
    "Example:\n"
    "  hmm-sample -m data/hmm-cyclic-4.yaml -n 100 -T 50 --seed 7 > seqs.csv\n";

/* Sequences per block: memory stays bounded for any -n. */
#define BLOCK_ROWS (1u << 20)

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "hmm-sample", USAGE);
    const char *model = NULL;
    long n = -1, T = -1;
    static const struct option longopts[] = {ST_CLI_LONGOPTS,
                                             {"model", required_argument, NULL, 'm'},
                                             {"sequences", required_argument, NULL, 'n'},
                                             {"length", required_argument, NULL, 'T'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "m:n:T:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'n':
            if (st_parse_long(optarg, &n) < 0 || n < 1 || n > 1000000000L)
                st_cli_usage_error(&cli, "-n must be an integer from 1 to 1e9, not '%s'", optarg);
            break;
        case 'T':
            if (st_parse_long(optarg, &T) < 0 || T < 1 || T > 1000000000L)
                st_cli_usage_error(&cli, "-T must be an integer from 1 to 1e9, not '%s'", optarg);
            break;
        default:
            st_cli_usage_error(&cli, NULL);
        }
    }
    if (!model)
        st_cli_usage_error(&cli, "-m MODEL is required");
    if (n < 0 || T < 0)
        st_cli_usage_error(&cli, "-n SEQS and -T LENGTH are required");
    if (optind < argc)
        st_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    if (cli.compress && st_cli_output_format(&cli) != ST_FMT_BIN)
        st_cli_usage_error(&cli, "--compress applies to binary output (--format bin)");
    st_cli_threads(&cli);

    st_err e;
    st_err_clear(&e);
    st_output out = {0};
    st_hmm *m = NULL;
    st_writer *w = NULL;
    char **names = NULL;
    st_dtype *dt = NULL;
    int *states = NULL;
    double *x = NULL, *rows = NULL;
    char *meta = NULL;
    st_strdict **dicts = NULL;
    size_t nc = 0;
    int rc = st_hmm_read(&m, model, &e);
    if (rc < 0)
        goto out;
    if (m->family == ST_HMM_REGRESSION) {
        rc = st_err_set(&e, ST_EDATA, model, 0, 0,
                        "a regression model is conditional on its covariates: hmm-sample cannot draw them");
        goto out;
    }
    if (m->family == ST_HMM_MULTINOMIAL && m->trials < 1) {
        rc = st_err_set(&e, ST_EDATA, model, 0, 0,
                        "a multinomial model needs 'trials' (the counts per row) to be sampled");
        goto out;
    }
    size_t D = m->D;
    nc = 3 + D;
    size_t per = (size_t)T >= BLOCK_ROWS ? 1 : BLOCK_ROWS / (size_t)T;
    if (per > (size_t)n)
        per = (size_t)n;
    names = calloc(nc, sizeof *names);
    dt = calloc(nc, sizeof *dt);
    states = malloc(per * (size_t)T * sizeof *states);
    x = malloc(per * (size_t)T * D * sizeof *x);
    rows = malloc(((size_t)T < BLOCK_ROWS ? (size_t)T : BLOCK_ROWS) * nc * sizeof *rows);
    if (!names || !dt || !states || !x || !rows) {
        rc = st_err_nomem(&e, "samples");
        goto out;
    }
    const char *fixed[3] = {"seq", "t", "state"};
    for (size_t j = 0; j < nc; j++) {
        char buf[32];
        if (j < 3)
            names[j] = strdup(fixed[j]);
        else if (m->colnames)
            names[j] = strdup(m->colnames[j - 3]);
        else
            names[j] = (snprintf(buf, sizeof buf, "x%zu", j - 2), strdup(buf));
        if (!names[j]) {
            rc = st_err_nomem(&e, "names");
            goto out;
        }
        dt[j] = j < 3 || m->family == ST_HMM_CATEGORICAL || m->family == ST_HMM_POISSON ||
                        m->family == ST_HMM_BERNOULLI || m->family == ST_HMM_MULTINOMIAL
                    ? ST_I8
                    : ST_F8;
        if ((j == 2 && m->statelabels) || (j > 2 && m->family == ST_HMM_CATEGORICAL && m->symlabels && m->symlabels[j - 3]))
            dt[j] = ST_STR;
    }
    int fmt = st_cli_output_format(&cli);
    if ((rc = st_output_open(&out, cli.output, fmt == ST_FMT_BIN, &e)) < 0)
        goto out;
    if (fmt == ST_FMT_BIN && (rc = st_meta_json(&meta, "hmm-sample", 1, cli.seed, model, NULL, &e)) < 0)
        goto out;
    st_writer_opts wo = {.format = fmt, .codec = cli.compress ? ST_CODEC_ZLIB : ST_CODEC_RAW, .meta_json = meta};
    if ((rc = st_writer_new(&w, out.fp, (const char *const *)names, dt, nc, &wo, &e)) < 0)
        goto out;
    /* labels: the model's names of states and symbols, codes = indices */
    if (!(dicts = calloc(nc, sizeof *dicts))) {
        rc = st_err_nomem(&e, "labels");
        goto out;
    }
    for (size_t j = 2; j < nc; j++) {
        const char *const *lab = j == 2 ? (const char *const *)m->statelabels
                                 : m->family == ST_HMM_CATEGORICAL && m->symlabels
                                     ? (const char *const *)m->symlabels[j - 3]
                                     : NULL;
        size_t nl = j == 2 ? m->K : lab ? m->nsym[j - 3] : 0;
        if (!lab)
            continue;
        double code;
        rc = st_strdict_new(&dicts[j], &e);
        for (size_t v = 0; rc == ST_OK && v < nl; v++)
            rc = st_strdict_intern(dicts[j], lab[v], strlen(lab[v]), &code, &e);
        if (rc < 0 || (rc = st_writer_source(w, j, ST_STR, dicts[j], &e)) < 0)
            goto out;
    }
    st_rng base;
    st_rng_stream(&base, cli.seed, 0);
    st_progress bar;
    st_cli_progress_init(&cli, &bar);
    st_progress_begin(&bar, "", "sequences", (double)n);
    for (size_t s0 = 0; s0 < (size_t)n; s0 += per) {
        size_t nb = (size_t)n - s0 < per ? (size_t)n - s0 : per;
        if ((rc = st_hmm_sample_next(m, &base, nb, (size_t)T, states, x, &e)) < 0)
            goto out;
        for (size_t s = 0; s < nb; s++) {
            for (size_t t0 = 0; t0 < (size_t)T; t0 += BLOCK_ROWS) {
                size_t nt = (size_t)T - t0 < BLOCK_ROWS ? (size_t)T - t0 : BLOCK_ROWS;
                for (size_t i = 0; i < nt; i++) {
                    size_t t = t0 + i, r = s * (size_t)T + t;
                    double *row = rows + i * nc;
                    row[0] = (double)(s0 + s);
                    row[1] = (double)t;
                    row[2] = states[r];
                    memcpy(row + 3, x + r * D, D * sizeof *row);
                }
                if ((rc = st_writer_rows(w, rows, nt, &e)) < 0)
                    goto out;
            }
        }
        st_progress_update(&bar, (double)(s0 + nb));
    }
    st_progress_end(&bar);
    rc = st_writer_close(w, &e);
    w = NULL;
out:
    st_writer_free(w);
    for (size_t j = 0; dicts && j < nc; j++)
        st_strdict_free(dicts[j]);
    free(dicts);
    if (names)
        for (size_t j = 0; m && j < 3 + m->D; j++)
            free(names[j]);
    free(names);
    free(dt);
    free(states);
    free(x);
    free(rows);
    free(meta);
    st_hmm_free(m);
    return st_cli_finish(&cli, &out, rc, &e);
}

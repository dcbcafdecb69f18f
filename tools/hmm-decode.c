/* hmm-decode: most probable state paths, posterior state probabilities or
 * log-likelihoods of sequences under a hidden Markov model.
 * Thin driver: read the model and the streams, call lib/hmm, write. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream.h"
#include "hmm/hmm.h"

static const char USAGE[] =
    "Usage: hmm-decode -m MODEL [--viterbi | --posterior | --score] [OPTION]... [DATA]...\n"
    "Decode the sequences in DATA (CSV, plain or gzip, or binary streams; stdin\n"
    "if none) under the hidden Markov model in MODEL (stoch-model(5)).  A column\n"
    "'seq' groups rows into sequences; the value columns are the model's\n"
    "'columns' when the data have them, else all but seq, t and state, or -c.\n"
    "\n"
    "  -m, --model FILE     model file (required)\n"
    "      --viterbi        most probable state path: seq,t,state (default)\n"
    "      --posterior      posterior probabilities: seq,t,state,p0..p(K-1), state\n"
    "                       being the most probable state at each step\n"
    "      --score          one row per sequence: seq,n,logl (log-likelihood);\n"
    "                       with --viterbi also the path's joint log-probability\n"
    "  -c, --columns LIST   value columns\n"
    "      --seq-col NAME   read column NAME as seq (the sequence ids)\n"
    "      --time-col NAME  read column NAME as t (not a value column)\n"
    "      --state-col NAME read column NAME as state (not a value column)\n"
    "      --no-header      CSV input has no header line: columns c1, c2, ...\n"
    "      --with-data      (--viterbi, --posterior) append the value columns\n"
    "                       of the data to each row, as stoch-plot states draws\n"
    "  -o, --output FILE    write FILE (atomically) instead of stdout\n"
    "      --format FMT     csv or bin (default: bin when -o ends in .stb, else csv)\n"
    "      --compress       zlib-compress binary chunks\n"
    "  -j, --threads N      threads over sequences (same output for any N)\n"
    "  -q, --quiet          errors only\n"
    "  -v, --verbose        print the total log-likelihood to stderr\n"
    "  -h, --help           this help\n"
    "      --version        print the version\n"
    "\n"
    "t is the data's t column if it has one, else the step within the sequence\n"
    "(from 0).  Exit status: 0 success, 1 bad model or data, 2 usage error.\n"
    "Examples:\n"
    "  hmm-decode -m fit.yaml data.csv > states.csv\n"
    "  hmm-decode -m fit.yaml --posterior -o post.stb data.csv\n";

enum { OPT_VITERBI = ST_OPT_TOOL, OPT_POSTERIOR, OPT_SCORE, OPT_WITH_DATA };

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "hmm-decode", USAGE);
    const char *model = NULL, *columns = NULL;
    int viterbi = 0, posterior = 0, score = 0, with_data = 0;
    static const struct option longopts[] = {ST_CLI_LONGOPTS,
                                             ST_CLI_OPT_SEQ_COL,
                                             ST_CLI_OPT_TIME_COL,
                                             ST_CLI_OPT_STATE_COL,
                                             ST_CLI_OPT_NO_HEADER,
                                             {"model", required_argument, NULL, 'm'},
                                             {"columns", required_argument, NULL, 'c'},
                                             {"viterbi", no_argument, NULL, OPT_VITERBI},
                                             {"posterior", no_argument, NULL, OPT_POSTERIOR},
                                             {"score", no_argument, NULL, OPT_SCORE},
                                             {"with-data", no_argument, NULL, OPT_WITH_DATA},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "m:c:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'c':
            if (!*optarg)
                st_cli_usage_error(&cli, "--columns needs a list of column names");
            columns = optarg;
            break;
        case OPT_VITERBI:
            viterbi = 1;
            break;
        case OPT_POSTERIOR:
            posterior = 1;
            break;
        case OPT_SCORE:
            score = 1;
            break;
        case OPT_WITH_DATA:
            with_data = 1;
            break;
        default:
            st_cli_usage_error(&cli, NULL);
        }
    }
    if (!model)
        st_cli_usage_error(&cli, "-m MODEL is required");
    if (viterbi && posterior)
        st_cli_usage_error(&cli, "--viterbi and --posterior exclude each other");
    if (score && posterior)
        st_cli_usage_error(&cli, "--score and --posterior exclude each other");
    if (!posterior && !score)
        viterbi = 1;
    if (with_data && score)
        st_cli_usage_error(&cli, "--with-data applies to --viterbi and --posterior, not --score");
    if (cli.compress && st_cli_output_format(&cli) != ST_FMT_BIN)
        st_cli_usage_error(&cli, "--compress applies to binary output (--format bin)");
    st_cli_threads(&cli);

    st_err e;
    st_err_clear(&e);
    st_output out = {0};
    st_hmm *m = NULL;
    st_table *tab = NULL;
    st_hmm_data *d = NULL;
    st_writer *w = NULL;
    double *post = NULL, *ll = NULL, *lp = NULL, *rows = NULL;
    int *path = NULL;
    char **names = NULL;
    size_t nc = 0;
    char *meta = NULL;
    int rc = st_hmm_read(&m, model, &e);
    if (rc < 0)
        goto out;
    if ((rc = st_table_read_many(&tab, (const char *const *)argv + optind, (size_t)(argc - optind), &e)) < 0)
        goto out;
    if ((rc = st_hmm_data_for_model(&d, tab, m, columns, &e)) < 0)
        goto out;
    if (d->D != m->D) {
        rc = st_err_set(&e, ST_EDATA, d->source, 0, 0, "the data have %zu value columns, the model %s %zu", d->D,
                        model, m->D);
        goto out;
    }
    if ((rc = m->family == ST_HMM_AR ? st_hmm_data_check_ar(d, m->order, &e)
                                      : st_hmm_data_check(d, m->family, m->cov, m->nsym, &e)) < 0)
        goto out;
    size_t K = m->K, N = d->total;
    int tcol = st_table_col(tab, "t");
    if (score) {
        ll = malloc(d->nseq * sizeof *ll);
        lp = viterbi ? malloc(d->nseq * sizeof *lp) : NULL;
        path = viterbi ? malloc(N * sizeof *path) : NULL;
        if (!ll || (viterbi && (!lp || !path))) {
            rc = st_err_nomem(&e, "scores");
            goto out;
        }
        double tot;
        if ((rc = st_hmm_loglik(m, d, ll, &tot, &e)) < 0 || (viterbi && (rc = st_hmm_viterbi(m, d, path, lp, &e)) < 0))
            goto out;
        if (cli.verbosity >= 2)
            fprintf(stderr, "hmm-decode: total log-likelihood %.17g over %zu sequences, %zu observations\n", tot, d->nseq, N);
        nc = viterbi ? 4 : 3;
    } else if (posterior) {
        if ((rc = st_hmm_check_memory((double)N * (double)K * sizeof *post, "the posterior table", &e)) < 0)
            goto out;
        if (!(post = malloc(N * K * sizeof *post)) || !(ll = malloc(d->nseq * sizeof *ll))) {
            rc = st_err_nomem(&e, "posteriors");
            goto out;
        }
        if ((rc = st_hmm_posterior(m, d, post, ll, &e)) < 0)
            goto out;
        nc = 3 + K;
    } else {
        if (!(path = malloc(N * sizeof *path))) {
            rc = st_err_nomem(&e, "paths");
            goto out;
        }
        if ((rc = st_hmm_viterbi(m, d, path, NULL, &e)) < 0)
            goto out;
        nc = 3;
    }
    size_t nstate = nc; /* columns before the carried data */
    if (with_data)
        nc += d->D;
    names = calloc(nc, sizeof *names);
    st_dtype *dt = calloc(nc, sizeof *dt);
    rows = malloc(nc * 4096 * sizeof *rows);
    if (!names || !dt || !rows) {
        free(dt);
        rc = st_err_nomem(&e, "output");
        goto out;
    }
    for (size_t j = 0; j < nc; j++) {
        char buf[32];
        if (j >= nstate) { /* --with-data: the value column's own name */
            const char *dn = d->names[j - nstate];
            for (size_t k = 0; k < nstate; k++)
                if (strcmp(names[k], dn) == 0) {
                    free(dt);
                    rc = st_err_set(&e, ST_EDATA, d->source, 1, 0,
                                    "--with-data: value column '%s' has the name of an output column", dn);
                    goto out;
                }
            names[j] = strdup(dn);
            dt[j] = ST_F8;
            if (!names[j]) {
                free(dt);
                rc = st_err_nomem(&e, "names");
                goto out;
            }
            continue;
        }
        if (score)
            snprintf(buf, sizeof buf, "%s", j == 0 ? "seq" : j == 1 ? "n" : j == 2 ? "logl" : "viterbi_logp");
        else if (j < 3)
            snprintf(buf, sizeof buf, "%s", j == 0 ? "seq" : j == 1 ? "t" : "state");
        else
            snprintf(buf, sizeof buf, "p%zu", j - 3);
        names[j] = strdup(buf);
        dt[j] = (score ? j < 2 : j < 3) ? ST_I8 : ST_F8;
        if (!names[j]) {
            free(dt);
            rc = st_err_nomem(&e, "names");
            goto out;
        }
    }
    if (!score && tcol >= 0) { /* t as given: may be non-integer */
        for (size_t i = 0; i < tab->nrows; i++) {
            double t = st_table_get(tab, i, (size_t)tcol);
            if (t != floor(t) || fabs(t) > 9e15) {
                dt[1] = ST_F8;
                break;
            }
        }
    }
    int fmt = st_cli_output_format(&cli);
    if ((rc = st_output_open(&out, cli.output, fmt == ST_FMT_BIN, &e)) < 0) {
        free(dt);
        goto out;
    }
    if (fmt == ST_FMT_BIN && (rc = st_meta_json(&meta, "hmm-decode", 0, 0, d->source, tab->meta, &e)) < 0) {
        free(dt);
        goto out;
    }
    st_writer_opts wo = {.format = fmt, .codec = cli.compress ? ST_CODEC_ZLIB : ST_CODEC_RAW, .meta_json = meta};
    rc = st_writer_new(&w, out.fp, (const char *const *)names, dt, nc, &wo, &e);
    free(dt);
    if (rc < 0)
        goto out;
    size_t nb = 0;
    if (score) {
        for (size_t s = 0; s < d->nseq && rc == ST_OK; s++) {
            double *row = rows + nb * nc;
            row[0] = d->seqid[s];
            row[1] = (double)(d->off[s + 1] - d->off[s]);
            row[2] = ll[s];
            if (viterbi)
                row[3] = lp[s];
            if (++nb == 4096) {
                rc = st_writer_rows(w, rows, nb, &e);
                nb = 0;
            }
        }
    } else {
        for (size_t s = 0; s < d->nseq && rc == ST_OK; s++)
            for (size_t i = d->off[s]; i < d->off[s + 1] && rc == ST_OK; i++) {
                double *row = rows + nb * nc;
                row[0] = d->seqid[s];
                /* rows of d are the table's rows in order (groups are contiguous) */
                row[1] = tcol >= 0 ? st_table_get(tab, i, (size_t)tcol) : (double)(i - d->off[s]);
                if (posterior) {
                    const double *p = post + i * K;
                    size_t arg = 0;
                    for (size_t k = 1; k < K; k++)
                        if (p[k] > p[arg])
                            arg = k;
                    row[2] = (double)arg;
                    memcpy(row + 3, p, K * sizeof *p);
                } else {
                    row[2] = path[i];
                }
                if (with_data)
                    memcpy(row + nstate, d->x + i * d->D, d->D * sizeof *row);
                if (++nb == 4096) {
                    rc = st_writer_rows(w, rows, nb, &e);
                    nb = 0;
                }
            }
    }
    if (rc == ST_OK && nb)
        rc = st_writer_rows(w, rows, nb, &e);
    if (rc == ST_OK) {
        rc = st_writer_close(w, &e);
        w = NULL;
    }
out:
    st_writer_free(w);
    if (names)
        for (size_t j = 0; j < nc; j++)
            free(names[j]);
    free(names);
    free(rows);
    free(post);
    free(ll);
    free(lp);
    free(path);
    free(meta);
    st_table_free(tab);
    st_hmm_data_free(d);
    st_hmm_free(m);
    return st_cli_finish(&cli, &out, rc, &e);
}

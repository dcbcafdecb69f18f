/* pf-resample: the resampling step of a particle method for an external
 * proposer.  Reads groups of log-weights (step, particle, logw[, done]) and
 * writes ancestors, normalised weights, ESS and the log normalising
 * increment of each step. */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/rng.h"
#include "core/stream.h"
#include "smc/resample.h"

static const char usage[] =
    "Usage: pf-resample [OPTIONS] [FILE]\n"
    "Resample groups of weighted particles, e.g. the generations of a language\n"
    "model scored by a reward model.  FILE (CSV or binary stream, default stdin)\n"
    "has columns step, particle, logw and optionally done (0/1); the rows of a\n"
    "step are contiguous.  Weights are softmax(logw / temperature) over the\n"
    "particles that are not done; finished particles are passed through as\n"
    "their own ancestors and take no part in resampling.\n"
    "\n"
    "Output columns: step, particle, ancestor (the particle id to copy), weight\n"
    "(normalised, before resampling; 0 when done), ess, logz (log of the mean\n"
    "weight: the step's log normalising increment), resampled (0/1).\n"
    "\n"
    "Options:\n"
    "      --scheme S         systematic (default), stratified, multinomial, residual\n"
    "      --temperature T    divide log-weights by T > 0 (default 1)\n"
    "      --ess X            resample when ESS < X * (unfinished), 0..1 (default 0.5)\n"
    "      --always           resample at every step\n"
    "  -o, --output FILE      write here (atomically) instead of stdout\n"
    "      --format csv|bin   output format (default csv; bin for -o *.stb)\n"
    "      --compress         zlib-compress binary chunks\n"
    "      --seed N           random seed (default 1)\n"
    "  -j, --threads N        accepted for uniformity (resampling is sequential)\n"
    "  -q, --quiet; -v, --verbose; -h, --help; --version\n";

enum { OPT_SCHEME = ST_OPT_TOOL, OPT_TEMP, OPT_ESS, OPT_ALWAYS };

typedef struct prow {
    double particle;
    size_t idx;
} prow;

static int cmp_prow(const void *a, const void *b)
{
    double x = ((const prow *)a)->particle, y = ((const prow *)b)->particle;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "pf-resample", usage);
    st_rs_step_opts ro = {ST_RS_SYSTEMATIC, 1.0, 0.5, 0};
    static const struct option longopts[] = {ST_CLI_LONGOPTS,
                                             {"scheme", required_argument, NULL, OPT_SCHEME},
                                             {"temperature", required_argument, NULL, OPT_TEMP},
                                             {"ess", required_argument, NULL, OPT_ESS},
                                             {"always", no_argument, NULL, OPT_ALWAYS},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS, longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case OPT_SCHEME:
            if (st_resample_parse(optarg, &ro.scheme) < 0)
                st_cli_usage_error(&cli, "--scheme must be systematic, stratified, multinomial or residual, not '%s'", optarg);
            break;
        case OPT_TEMP:
            if (st_parse_double(optarg, &ro.temperature) < 0 || !(ro.temperature > 0))
                st_cli_usage_error(&cli, "--temperature must be a positive number, not '%s'", optarg);
            break;
        case OPT_ESS:
            if (st_parse_double(optarg, &ro.ess) < 0 || ro.ess < 0 || ro.ess > 1)
                st_cli_usage_error(&cli, "--ess must be a number from 0 to 1, not '%s'", optarg);
            break;
        case OPT_ALWAYS: ro.always = 1; break;
        default: st_cli_usage_error(&cli, NULL);
        }
    }
    if (argc - optind > 1)
        st_cli_usage_error(&cli, "one input file at most");
    const char *path = optind < argc ? argv[optind] : NULL;

    st_err err;
    st_err_clear(&err);
    st_output out;
    memset(&out, 0, sizeof out);
    st_reader *rd = NULL;
    st_seqiter *it = NULL;
    st_writer *w = NULL;
    char *meta = NULL;
    double *lw = NULL, *W = NULL;
    unsigned char *done = NULL;
    uint32_t *anc = NULL;
    prow *pr = NULL;
    size_t cap = 0;
    st_rng rng;
    st_rng_seed(&rng, cli.seed);
    int rc;
    if ((rc = st_reader_open(&rd, path, &err)) < 0)
        goto end;
    const char *src = st_reader_path(rd);
    int cstep = st_reader_col(rd, "step"), cpart = st_reader_col(rd, "particle"),
        clw = st_reader_col(rd, "logw"), cdone = st_reader_col(rd, "done");
    if (cstep < 0 || cpart < 0 || clw < 0) {
        rc = st_err_set(&err, ST_EDATA, src, 1, 0, "missing column '%s' (need step, particle, logw)",
                        cstep < 0 ? "step" : cpart < 0 ? "particle" : "logw");
        goto end;
    }
    size_t ncin = st_reader_ncols(rd);
    if ((rc = st_seqiter_new(&it, rd, cstep, &err)) < 0)
        goto end;
    int binary = st_cli_output_format(&cli) == ST_FMT_BIN;
    if ((rc = st_output_open(&out, cli.output, binary, &err)) < 0)
        goto end;
    if ((rc = st_meta_json(&meta, "pf-resample " ST_VERSION_STRING, 1, cli.seed, src, st_reader_meta(rd), &err)) < 0)
        goto end;
    static const char *const names[] = {"step", "particle", "ancestor", "weight", "ess", "logz", "resampled"};
    st_dtype dt[] = {ST_F8, ST_I8, ST_I8, ST_F8, ST_F8, ST_F8, ST_I8};
    st_writer_opts wo = {.format = binary ? ST_FMT_BIN : ST_FMT_CSV,
                         .codec = cli.compress ? ST_CODEC_ZLIB : ST_CODEC_RAW,
                         .meta_json = meta};
    if ((rc = st_writer_new(&w, out.fp, names, dt, 7, &wo, &err)) < 0)
        goto end;
    const double *rows;
    size_t n;
    double step;
    size_t nsteps = 0;
    while ((rc = st_seqiter_next(it, &rows, &n, &step, &err)) > 0) {
        if (n > cap) {
            cap = n;
            free(lw);
            free(W);
            free(done);
            free(anc);
            free(pr);
            lw = malloc(n * sizeof *lw);
            W = malloc(n * sizeof *W);
            done = malloc(n);
            anc = malloc(n * sizeof *anc);
            pr = malloc(n * sizeof *pr);
            if (!lw || !W || !done || !anc || !pr) {
                rc = st_err_nomem(&err, "a step's particles");
                goto end;
            }
        }
        if (n > UINT32_MAX - 1) {
            rc = st_err_set(&err, ST_EDATA, src, 0, 0, "step %g: too many particles", step);
            goto end;
        }
        for (size_t i = 0; i < n; i++) {
            const double *r = rows + i * ncin;
            double p = r[cpart], l = r[clw];
            if (!(p >= 0 && p == floor(p) && p < 9007199254740992.0)) {
                rc = st_err_set(&err, ST_EDATA, src, 0, 0, "step %g: particle '%g' is not a non-negative integer", step, p);
                goto end;
            }
            if (isnan(l) || l == INFINITY) {
                rc = st_err_set(&err, ST_EDATA, src, 0, 0, "step %g, particle %.0f: logw is %s (use -Inf for zero weight)",
                                step, p, isnan(l) ? "missing or NaN" : "+Inf");
                goto end;
            }
            done[i] = 0;
            if (cdone >= 0) {
                double dv = r[cdone];
                if (!(dv == 0 || dv == 1)) {
                    rc = st_err_set(&err, ST_EDATA, src, 0, 0, "step %g, particle %.0f: done must be 0 or 1, not %g",
                                    step, p, dv);
                    goto end;
                }
                done[i] = dv == 1;
            }
            lw[i] = l;
            pr[i].particle = p;
            pr[i].idx = i;
        }
        qsort(pr, n, sizeof *pr, cmp_prow);
        for (size_t i = 1; i < n; i++)
            if (pr[i].particle == pr[i - 1].particle) {
                rc = st_err_set(&err, ST_EDATA, src, 0, 0, "step %g: particle %.0f appears twice", step, pr[i].particle);
                goto end;
            }
        double ess, logz;
        int resampled;
        if ((rc = st_resample_step(&ro, lw, done, n, anc, W, &ess, &logz, &resampled, &rng, &err)) < 0) {
            st_err_prefix(&err, "step %g: ", step);
            if (!err.file[0])
                snprintf(err.file, sizeof err.file, "%s", src);
            goto end;
        }
        for (size_t i = 0; i < n; i++) {
            const double *r = rows + i * ncin;
            double orow[7] = {step, r[cpart], rows[anc[i] * ncin + cpart], W[i], ess, logz, resampled};
            if ((rc = st_writer_row(w, orow, &err)) < 0)
                goto end;
        }
        nsteps++;
    }
    if (rc < 0)
        goto end;
    st_cli_log(&cli, 2, "%zu steps", nsteps);
    rc = st_writer_close(w, &err);
    w = NULL;
end:
    st_writer_free(w);
    st_seqiter_free(it);
    st_reader_free(rd);
    free(meta);
    free(lw);
    free(W);
    free(done);
    free(anc);
    free(pr);
    return st_cli_finish(&cli, &out, rc, &err);
}

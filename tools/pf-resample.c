/* pf-resample: the resampling step of a particle method for an external
 * proposer.  Reads groups of log-weights (step, particle, logw[, done][,
 * ref]) and writes ancestors, normalised weights, ESS and the log
 * normalising increment of each step; with -N it answers each step as
 * soon as its rows arrive, as a co-process of the proposer. */
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
    "has columns step, particle, logw and optionally done (0/1) and ref (0/1);\n"
    "the rows of a step are contiguous.  Weights are taken over the particles\n"
    "that are not done; finished particles are passed through as their own\n"
    "ancestors and take no part in resampling.  A step where every particle is\n"
    "done ends an iteration: its weights are the final ones over all particles.\n"
    "\n"
    "Output columns: step, particle, ancestor (the particle id to copy), weight\n"
    "(normalised, before resampling; 0 when done), ess, logz (the step's log\n"
    "normalising increment), resampled (0/1); with --gibbs also chosen (1 for\n"
    "the particle drawn as the next reference at an iteration's end).\n"
    "\n"
    "Options:\n"
    "  -N, --particles N      co-process: each step is N rows, answered (and\n"
    "                         flushed) as soon as they arrive; for a pipe\n"
    "      --weights W        softmax (default): softmax(logw / T) of each step,\n"
    "                         nothing carried; increment: logw is the step's\n"
    "                         log-potential, weights carried between steps;\n"
    "                         total: logw is the whole score, its change since\n"
    "                         the trajectory's previous score is the increment\n"
    "      --gibbs            particle Gibbs: the particle with ref = 1 keeps its\n"
    "                         place, and at an iteration's end one particle is\n"
    "                         drawn as the next reference (column chosen)\n"
    "      --scheme S         systematic (default), stratified, multinomial, residual\n"
    "      --temperature T    divide log-weights by T > 0 (default 1)\n"
    "      --ess X            resample when ESS < X * (unfinished), 0..1 (default 0.5)\n"
    "      --always           resample at every step\n"
    "      --seq-col NAME     read column NAME as step (the groups of rows)\n"
    "      --id-col NAME      read column NAME as particle\n"
    "  -o, --output FILE      write here (atomically) instead of stdout\n"
    "      --format csv|bin   output format (default csv; bin for -o *.stb)\n"
    "      --compress         zlib-compress binary chunks\n"
    "      --seed N           random seed (default 1)\n"
    "  -j, --threads N        accepted for uniformity (resampling is sequential)\n"
    "  -q, --quiet; -v, --verbose; -h, --help; --version\n";

enum { OPT_SCHEME = ST_OPT_TOOL, OPT_TEMP, OPT_ESS, OPT_ALWAYS, OPT_WEIGHTS, OPT_GIBBS, OPT_PARTICLES };

typedef struct prow {
    double particle;
    size_t idx;
} prow;

static int cmp_prow(const void *a, const void *b)
{
    double x = ((const prow *)a)->particle, y = ((const prow *)b)->particle;
    return (x > y) - (x < y);
}

/* Everything one step needs, sized for the largest step so far. */
typedef struct work {
    size_t cap;
    double *id, *lw, *W;
    unsigned char *done, *ref;
    uint32_t *anc;
    prow *pr;
} work;

static void work_free(work *k)
{
    free(k->id);
    free(k->lw);
    free(k->W);
    free(k->done);
    free(k->ref);
    free(k->anc);
    free(k->pr);
}

static int work_grow(work *k, size_t n, st_err *e)
{
    if (n <= k->cap)
        return 0;
    work_free(k);
    k->cap = n;
    k->id = malloc(n * sizeof *k->id);
    k->lw = malloc(n * sizeof *k->lw);
    k->W = malloc(n * sizeof *k->W);
    k->done = malloc(n);
    k->ref = malloc(n);
    k->anc = malloc(n * sizeof *k->anc);
    k->pr = malloc(n * sizeof *k->pr);
    if (!k->id || !k->lw || !k->W || !k->done || !k->ref || !k->anc || !k->pr)
        return st_err_nomem(e, "a step's particles");
    return 0;
}

typedef struct cols {
    int step, part, lw, done, ref;
    size_t n;
} cols;

/* Check one step's rows, resample, write its rows. */
static int one_step(const double *rows, size_t n, double step, const cols *c, st_rs_session *ss, work *k,
                    st_rng *rng, st_writer *w, const char *src, st_err *e)
{
    int rc;
    if ((rc = work_grow(k, n, e)) < 0)
        return rc;
    if (n > UINT32_MAX - 1)
        return st_err_set(e, ST_EDATA, src, 0, 0, "step %g: too many particles", step);
    for (size_t i = 0; i < n; i++) {
        const double *r = rows + i * c->n;
        double p = r[c->part], l = r[c->lw];
        if (!(p >= 0 && p == floor(p) && p < 9007199254740992.0))
            return st_err_set(e, ST_EDATA, src, 0, 0, "step %g: particle '%g' is not a non-negative integer", step, p);
        if (isnan(l) || l == INFINITY)
            return st_err_set(e, ST_EDATA, src, 0, 0, "step %g, particle %.0f: logw is %s (use -Inf for zero weight)",
                              step, p, isnan(l) ? "missing or NaN" : "+Inf");
        k->done[i] = k->ref[i] = 0;
        if (c->done >= 0) {
            double dv = r[c->done];
            if (!(dv == 0 || dv == 1))
                return st_err_set(e, ST_EDATA, src, 0, 0, "step %g, particle %.0f: done must be 0 or 1, not %g", step,
                                  p, dv);
            k->done[i] = dv == 1;
        }
        if (c->ref >= 0) {
            double rv = r[c->ref];
            if (!(rv == 0 || rv == 1))
                return st_err_set(e, ST_EDATA, src, 0, 0, "step %g, particle %.0f: ref must be 0 or 1, not %g", step,
                                  p, rv);
            k->ref[i] = rv == 1;
        }
        k->id[i] = p;
        k->lw[i] = l;
        k->pr[i].particle = p;
        k->pr[i].idx = i;
    }
    qsort(k->pr, n, sizeof *k->pr, cmp_prow);
    for (size_t i = 1; i < n; i++)
        if (k->pr[i].particle == k->pr[i - 1].particle)
            return st_err_set(e, ST_EDATA, src, 0, 0, "step %g: particle %.0f appears twice", step, k->pr[i].particle);
    st_rs_step_out so = {k->anc, k->W, 0, 0, 0, 0, -1};
    if ((rc = st_rs_session_step(ss, n, k->id, k->lw, k->done, c->ref >= 0 ? k->ref : NULL, &so, rng, e)) < 0) {
        st_err_prefix(e, "step %g: ", step);
        if (!e->file[0])
            snprintf(e->file, sizeof e->file, "%s", src);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        double orow[8] = {step, k->id[i], k->id[k->anc[i]], k->W[i], so.ess, so.logz, so.resampled,
                          so.chosen == (long)i};
        if ((rc = st_writer_row(w, orow, e)) < 0)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "pf-resample", usage);
    st_cli_role_reads_as(&cli, ST_ROLE_SEQ, "step");
    st_cli_role_reads_as(&cli, ST_ROLE_ID, "particle");
    st_rs_session_opts so = {{ST_RS_SYSTEMATIC, 1.0, 0.5, 0}, ST_RS_W_SOFTMAX, 0};
    size_t npart = 0;
    static const struct option longopts[] = {ST_CLI_LONGOPTS,
                                             ST_CLI_OPT_SEQ_COL,
                                             ST_CLI_OPT_ID_COL,
                                             {"scheme", required_argument, NULL, OPT_SCHEME},
                                             {"temperature", required_argument, NULL, OPT_TEMP},
                                             {"ess", required_argument, NULL, OPT_ESS},
                                             {"always", no_argument, NULL, OPT_ALWAYS},
                                             {"weights", required_argument, NULL, OPT_WEIGHTS},
                                             {"gibbs", no_argument, NULL, OPT_GIBBS},
                                             {"particles", required_argument, NULL, OPT_PARTICLES},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "N:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case OPT_SCHEME:
            if (st_resample_parse(optarg, &so.step.scheme) < 0)
                st_cli_usage_error(&cli, "--scheme must be systematic, stratified, multinomial or residual, not '%s'", optarg);
            break;
        case OPT_TEMP:
            if (st_parse_double(optarg, &so.step.temperature) < 0 || !(so.step.temperature > 0) ||
                !isfinite(so.step.temperature))
                st_cli_usage_error(&cli, "--temperature must be a positive number, not '%s'", optarg);
            break;
        case OPT_ESS:
            if (st_parse_double(optarg, &so.step.ess) < 0 || so.step.ess < 0 || so.step.ess > 1)
                st_cli_usage_error(&cli, "--ess must be a number from 0 to 1, not '%s'", optarg);
            break;
        case OPT_ALWAYS: so.step.always = 1; break;
        case OPT_WEIGHTS:
            if (st_rs_weights_parse(optarg, &so.weights) < 0)
                st_cli_usage_error(&cli, "--weights must be softmax, increment or total, not '%s'", optarg);
            break;
        case OPT_GIBBS: so.gibbs = 1; break;
        case 'N':
        case OPT_PARTICLES: {
            double v;
            if (st_parse_double(optarg, &v) < 0 || !(v >= 1 && v <= 1e8) || v != floor(v))
                st_cli_usage_error(&cli, "-N must be a whole number of particles from 1 to 1e8, not '%s'", optarg);
            npart = (size_t)v;
            break;
        }
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
    st_rs_session *ss = NULL;
    char *meta = NULL;
    double *buf = NULL;
    work k;
    memset(&k, 0, sizeof k);
    st_rng rng;
    st_rng_seed(&rng, cli.seed);
    int rc;
    if ((rc = st_rs_session_new(&ss, &so, &err)) < 0)
        goto end;
    /* co-process: open without reading rows ahead (they are not written
     * before the answer to the step before them) */
    st_reader_opts ropt = {0};
    ropt.no_lookahead = npart > 0;
    if ((rc = st_reader_open_opts(&rd, path, &ropt, &err)) < 0)
        goto end;
    const char *src = st_reader_path(rd);
    cols cc = {st_reader_col(rd, "step"), st_reader_col(rd, "particle"), st_reader_col(rd, "logw"),
               st_reader_col(rd, "done"), st_reader_col(rd, "ref"), st_reader_ncols(rd)};
    if (cc.step < 0 || cc.part < 0 || cc.lw < 0) {
        rc = st_err_set(&err, ST_EDATA, src, 1, 0, "missing column '%s' (need step, particle, logw)",
                        cc.step < 0 ? "step" : cc.part < 0 ? "particle" : "logw");
        goto end;
    }
    if (cc.ref >= 0 && !so.gibbs) {
        rc = st_err_set(&err, ST_EUSAGE, src, 1, 0, "a 'ref' column marks particle Gibbs' reference: add --gibbs");
        goto end;
    }
    int binary = st_cli_output_format(&cli) == ST_FMT_BIN;
    if ((rc = st_output_open(&out, cli.output, binary, &err)) < 0)
        goto end;
    if ((rc = st_meta_json(&meta, "pf-resample " ST_VERSION_STRING, 1, cli.seed, src, st_reader_meta(rd), &err)) < 0)
        goto end;
    static const char *const names[] = {"step", "particle", "ancestor", "weight", "ess", "logz", "resampled", "chosen"};
    st_dtype dt[] = {ST_F8, ST_I8, ST_I8, ST_F8, ST_F8, ST_F8, ST_I8, ST_I8};
    /* co-process: one binary chunk per step, so that each is flushed whole */
    st_writer_opts wo = {.format = binary ? ST_FMT_BIN : ST_FMT_CSV,
                         .codec = cli.compress ? ST_CODEC_ZLIB : ST_CODEC_RAW,
                         .chunk_rows = npart,
                         .meta_json = meta};
    if ((rc = st_writer_new(&w, out.fp, names, dt, so.gibbs ? 8 : 7, &wo, &err)) < 0)
        goto end;
    size_t nsteps = 0;
    if (npart) {
        /* co-process: exactly npart rows a step, answered at once */
        if (!(buf = malloc(npart * cc.n * sizeof *buf))) {
            rc = st_err_nomem(&err, "a step's rows");
            goto end;
        }
        if (fflush(out.fp) != 0) { /* the header, before the first step */
            rc = st_err_set(&err, ST_EIO, NULL, 0, 0, "write error");
            goto end;
        }
        for (;;) {
            size_t got = 0;
            while (got < npart && (rc = st_reader_next(rd, buf + got * cc.n, &err)) > 0) {
                if (got && buf[got * cc.n + cc.step] != buf[cc.step]) {
                    rc = st_err_set(&err, ST_EDATA, src, st_reader_line(rd), cc.step + 1,
                                    "step %g has %zu rows, not the %zu of -N (a row of step %g follows)", buf[cc.step],
                                    got, npart, buf[got * cc.n + cc.step]);
                    goto end;
                }
                got++;
            }
            if (rc < 0)
                goto end;
            if (got == 0)
                break;
            if (got < npart) {
                rc = st_err_set(&err, ST_EDATA, src, 0, 0, "step %g has %zu rows, not the %zu of -N (input ends)",
                                buf[cc.step], got, npart);
                goto end;
            }
            if ((rc = one_step(buf, npart, buf[cc.step], &cc, ss, &k, &rng, w, src, &err)) < 0)
                goto end;
            if (fflush(out.fp) != 0) {
                rc = st_err_set(&err, ST_EIO, NULL, 0, 0, "write error");
                goto end;
            }
            nsteps++;
        }
    } else {
        if ((rc = st_seqiter_new(&it, rd, cc.step, &err)) < 0)
            goto end;
        const double *rows;
        size_t n;
        double step;
        while ((rc = st_seqiter_next(it, &rows, &n, &step, &err)) > 0) {
            if ((rc = one_step(rows, n, step, &cc, ss, &k, &rng, w, src, &err)) < 0)
                goto end;
            nsteps++;
        }
        if (rc < 0)
            goto end;
    }
    st_cli_log(&cli, 2, "%zu steps", nsteps);
    rc = st_writer_close(w, &err);
    w = NULL;
end:
    st_writer_free(w);
    st_seqiter_free(it);
    st_reader_free(rd);
    st_rs_session_free(ss);
    free(meta);
    free(buf);
    work_free(&k);
    return st_cli_finish(&cli, &out, rc, &err);
}

/* uq-entropy: uncertainty scores for language-model generations, one row
 * per prompt.  Thin driver over lib/uq (st_uq_entropy_run). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream.h"
#include "uq/run.h"

static const char USAGE[] =
    "Usage: uq-entropy --scores LIST [options] [FILE...]\n"
    "Uncertainty scores for language-model generations: one output row per\n"
    "prompt, or per claim for the claim scores (columns id, [claim],\n"
    "[temperature], one per score, [correct], [quality]).\n"
    "Input: JSON Lines, one prompt per line, plain or gzip (stoch-uq-input(5));\n"
    "FILE '-' or none reads standard input.\n"
    "\n"
    "  -s, --scores LIST       comma-separated scores (required; uq-entropy(1)):\n"
    "                          from greedy log-probs: msp g-nll ppl mte max-te\n"
    "                          renyi-neg fisher-rao self-certainty pmi cpmi\n"
    "                          token-sar p-true; from samples: pe ln-pe se se-mc\n"
    "                          se-discrete num-sets eigv deg ecc kle lexsim-rougel\n"
    "                          lexsim-jaccard eigenscore inv-entropy\n"
    "                          inv-entropy-full sentence-sar sar semantic-density;\n"
    "                          'all' is every one of these; eigv, deg, ecc, kle\n"
    "                          take their own weights as NAME:entail, :contra,\n"
    "                          :jaccard or :sim.  Per claim (one row per claim of\n"
    "                          greedy.claims, not mixed with the others): ccp\n"
    "                          claim-msp claim-g-nll claim-p-true\n"
    "      --cluster METHOD    semantic classes: auto (given cluster ids, else\n"
    "                          greedy), given, greedy (Farquhar et al. reference\n"
    "                          code), rep (Kuhn et al. class representatives),\n"
    "                          union (transitive closure); default auto\n"
    "      --equiv RULE        bidirectional entailment rule: default (no\n"
    "                          contradiction and not both neutral), strict (both\n"
    "                          entailment), nc (no contradiction); default default\n"
    "      --affinity W        graph weights for eigv, deg, ecc, kle: entail,\n"
    "                          contra, jaccard, sim; default entail\n"
    "      --eig-threshold X   ecc keeps Laplacian eigenvalues < X, 0 < X <= 2;\n"
    "                          default 0.9\n"
    "      --kle-t T           heat kernel time for kle, T > 0; default 0.3\n"
    "      --token-entropy M   token distributions of mte, max-te, cpmi and\n"
    "                          self-certainty: renorm (renormalised top-k) or\n"
    "                          partial (the k given as they are); default renorm\n"
    "      --renyi-alpha A     order of renyi-neg, A > 0; default 0.5\n"
    "      --divergence-temperature T  softmax temperature of renyi-neg and\n"
    "                          fisher-rao, T > 0; default 2\n"
    "      --pmi-variant V     pmi and cpmi: paper (every token) or polygraph (no\n"
    "                          unconditional term for the first token); default\n"
    "                          paper\n"
    "      --cpmi-tau X        cpmi entropy threshold, X >= 0; default 0.0656\n"
    "      --cpmi-lambda X     cpmi weight of the unconditional term; default 3.599\n"
    "      --sar-t T           SAR temperature, T > 0; default 0.001\n"
    "      --sd-variant V      semantic-density: paper (the distinct samples) or\n"
    "                          polygraph (also the greedy answer); default paper\n"
    "      --se-mc-variant V   se-mc: kuhn (length-normalised, mean over classes)\n"
    "                          or polygraph (unnormalised, mean over samples);\n"
    "                          default kuhn\n"
    "      --max-text-tokens N  lexical scores refuse a text of more than N word\n"
    "                          tokens (ROUGE-L costs n m / 64 steps a pair);\n"
    "                          default 100000\n"
    "      --eigenscore-alpha A  ridge added to the covariance, A > 0; default 0.001\n"
    "      --eigenscore-variant V  paper (Z J Z^T, natural log) or code (covariance\n"
    "                          divided by d-1, log10); default paper\n"
    "      --inv-subsamples B  Inv-Entropy subsamples (one answer per input),\n"
    "                          1..100000; default 20 (all combinations if fewer)\n"
    "      --csv-long          inputs are CSV (or binary) streams with columns id,\n"
    "                          sample (0 = greedy), logprob and optional cluster,\n"
    "                          temperature, correct, quality\n"
    "      --id-col NAME       (--csv-long) read column NAME as id\n"
    "      --max-line BYTES    longest accepted input line, with an optional K, M or G\n"
    "                          suffix; default 256M (memory stays below about\n"
    "                          this plus the parsed numbers of a line per thread)\n"
    "      --id-map FILE       write 'id,name' CSV pairs (equal: the output keeps\n"
    "                          the input's ids; for older scripts)\n"
    "  -o, --output FILE       write to FILE (atomically) instead of stdout\n"
    "      --format csv|bin    output format; default csv (bin for -o *.stb)\n"
    "      --compress          zlib-compress binary chunks\n"
    "      --seed N            seed for Inv-Entropy subsampling (with each prompt's\n"
    "                          id and temperature); default 1\n"
    "  -j, --threads N         threads (results do not depend on N)\n"
    "  -q, --quiet             no notes (NaN counts)\n"
    "  -v, --verbose           more notes\n"
    "  -h, --help              this help\n"
    "      --version           version\n";

enum {
    OPT_CLUSTER = ST_OPT_TOOL,
    OPT_EQUIV,
    OPT_AFFINITY,
    OPT_EIGTHR,
    OPT_KLET,
    OPT_TOKENT,
    OPT_ESALPHA,
    OPT_ESVAR,
    OPT_INVB,
    OPT_CSVLONG,
    OPT_MAXLINE,
    OPT_RENYI,
    OPT_DIVT,
    OPT_PMIVAR,
    OPT_CPMITAU,
    OPT_CPMILAMBDA,
    OPT_SART,
    OPT_SDVAR,
    OPT_SEMCVAR,
    OPT_MAXTOK,
    OPT_IDMAP
};

/* A byte count with an optional K, M or G (binary) suffix, 1 KiB .. 64 GiB. */
static int parse_bytes(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || *s == '-')
        return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end || v > (1ULL << 36) >> shift)
        return -1;
    v <<= shift;
    if (v < 1024)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int pick(const st_cli *cli, const char *opt, const char *arg, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(arg, names[i]) == 0)
            return i;
    st_cli_usage_error(cli, "%s: unknown value '%s'", opt, arg);
}

/* Score codes and their column names (the names as given; *copy owns them). */
static void parse_scores(const st_cli *cli, const char *list, int **which, const char ***names,
                         size_t *n, char **copy)
{
    size_t cap = ST_UQ_NSCORES + strlen(list);
    *which = malloc(cap * sizeof **which);
    *names = malloc(cap * sizeof **names);
    *copy = strdup(list);
    if (!*which || !*names || !*copy)
        st_cli_usage_error(cli, "out of memory");
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(*copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int first = 0, last = 0;
        if (strcmp(t, "all") == 0) {
            last = ST_UQ_NSCORES;
        } else {
            first = st_uq_score_parse(t);
            if (first < 0)
                st_cli_usage_error(cli, "unknown score '%s' (see --help)", t);
            last = first + 1;
        }
        for (int s = first; s < last; s++) {
            if (last - first > 1 && st_uq_score_is_claim(s))
                continue; /* 'all' is every prompt score */
            for (size_t k = 0; k < *n; k++)
                if ((*which)[k] == s)
                    st_cli_usage_error(cli, "score '%s' listed twice", st_uq_score_name(s));
            (*names)[*n] = last - first > 1 ? st_uq_score_name(s) : t;
            (*which)[(*n)++] = s;
        }
    }
    if (*n == 0)
        st_cli_usage_error(cli, "--scores is empty");
    for (size_t k = 1; k < *n; k++)
        if (st_uq_score_is_claim((*which)[k]) != st_uq_score_is_claim((*which)[0]))
            st_cli_usage_error(cli, "claim scores (one row per claim) and prompt scores (one row per prompt) "
                                    "cannot be mixed: '%s' and '%s'",
                               (*names)[0], (*names)[k]);
}

/* --id-map FILE: id,name pairs.  The output keeps the input ids, so the
 * pairs are equal; the option stays for scripts written when string ids
 * were numbered. */
static int write_id_map(const char *path, const st_uq_result *r, st_err *e)
{
    st_output out;
    int rc = st_output_open(&out, path, 0, e);
    if (rc < 0)
        return rc;
    st_strdict *d = NULL;
    st_writer *w = NULL;
    const char *names[] = {"id", "name"};
    st_dtype dt[] = {ST_STR, ST_STR};
    st_writer_opts wo = {ST_FMT_CSV, ST_CODEC_RAW, 0, 0, NULL};
    if ((rc = st_strdict_new(&d, e)) < 0 || (rc = st_writer_new(&w, out.fp, names, dt, 2, &wo, e)) < 0 ||
        (rc = st_writer_source(w, 0, ST_STR, d, e)) < 0 || (rc = st_writer_source(w, 1, ST_STR, d, e)) < 0)
        goto out;
    for (size_t i = 0; i < r->n && rc == 0; i++) {
        double row[2];
        if (i > 0 && strcmp(r->ids[i], r->ids[i - 1]) == 0)
            continue; /* a claim's or another temperature's row of the same id */
        if ((rc = st_strdict_intern(d, r->ids[i], strlen(r->ids[i]), &row[0], e)) == 0) {
            row[1] = row[0];
            rc = st_writer_row(w, row, e);
        }
    }
    if (rc == 0) {
        rc = st_writer_close(w, e);
        w = NULL;
    }
out:
    st_writer_free(w);
    st_strdict_free(d);
    if (rc == 0)
        rc = st_output_close(&out, e);
    else
        st_output_abort(&out);
    return rc;
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "uq-entropy", USAGE);
    st_uq_opts o;
    st_uq_opts_default(&o);
    const char *scores = NULL, *id_map = NULL;
    st_uq_run_opts ro = {0, 0};
    static const char *const clusters[] = {"auto", "given", "greedy", "rep", "union", NULL};
    static const char *const equivs[] = {"default", "strict", "nc", NULL};
    static const char *const affs[] = {"entail", "contra", "jaccard", "sim", NULL};
    static const char *const tokents[] = {"renorm", "partial", NULL};
    static const char *const esvars[] = {"paper", "code", NULL};
    static const char *const variants[] = {"paper", "polygraph", NULL};
    static const char *const semc_variants[] = {"kuhn", "polygraph", NULL};
    static const struct option longopts[] = {
        ST_CLI_LONGOPTS,
        ST_CLI_OPT_ID_COL,
        {"scores", required_argument, NULL, 's'},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"equiv", required_argument, NULL, OPT_EQUIV},
        {"affinity", required_argument, NULL, OPT_AFFINITY},
        {"eig-threshold", required_argument, NULL, OPT_EIGTHR},
        {"kle-t", required_argument, NULL, OPT_KLET},
        {"token-entropy", required_argument, NULL, OPT_TOKENT},
        {"eigenscore-alpha", required_argument, NULL, OPT_ESALPHA},
        {"eigenscore-variant", required_argument, NULL, OPT_ESVAR},
        {"inv-subsamples", required_argument, NULL, OPT_INVB},
        {"csv-long", no_argument, NULL, OPT_CSVLONG},
        {"max-line", required_argument, NULL, OPT_MAXLINE},
        {"renyi-alpha", required_argument, NULL, OPT_RENYI},
        {"divergence-temperature", required_argument, NULL, OPT_DIVT},
        {"pmi-variant", required_argument, NULL, OPT_PMIVAR},
        {"cpmi-tau", required_argument, NULL, OPT_CPMITAU},
        {"cpmi-lambda", required_argument, NULL, OPT_CPMILAMBDA},
        {"sar-t", required_argument, NULL, OPT_SART},
        {"sd-variant", required_argument, NULL, OPT_SDVAR},
        {"se-mc-variant", required_argument, NULL, OPT_SEMCVAR},
        {"max-text-tokens", required_argument, NULL, OPT_MAXTOK},
        {"id-map", required_argument, NULL, OPT_IDMAP},
        {NULL, 0, NULL, 0}};
    int c;
    double x;
    long l;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "s:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case 's':
            scores = optarg;
            break;
        case OPT_CLUSTER:
            o.cluster = pick(&cli, "--cluster", optarg, clusters);
            break;
        case OPT_EQUIV:
            o.equiv = pick(&cli, "--equiv", optarg, equivs);
            break;
        case OPT_AFFINITY:
            o.affinity = pick(&cli, "--affinity", optarg, affs);
            break;
        case OPT_TOKENT:
            o.token_entropy = pick(&cli, "--token-entropy", optarg, tokents);
            break;
        case OPT_ESVAR:
            o.es_variant = pick(&cli, "--eigenscore-variant", optarg, esvars);
            break;
        case OPT_EIGTHR:
            if (st_parse_double(optarg, &x) < 0 || !(x > 0 && x <= 2))
                st_cli_usage_error(&cli, "--eig-threshold must be in (0, 2], not '%s'", optarg);
            o.eig_threshold = x;
            break;
        case OPT_KLET:
            if (st_parse_double(optarg, &x) < 0 || !(x > 0))
                st_cli_usage_error(&cli, "--kle-t must be a number > 0, not '%s'", optarg);
            o.kle_t = x;
            break;
        case OPT_ESALPHA:
            if (st_parse_double(optarg, &x) < 0 || !(x > 0))
                st_cli_usage_error(&cli, "--eigenscore-alpha must be a number > 0, not '%s'", optarg);
            o.es_alpha = x;
            break;
        case OPT_INVB:
            if (st_parse_long(optarg, &l) < 0 || l < 1 || l > 100000)
                st_cli_usage_error(&cli, "--inv-subsamples must be an integer from 1 to 100000, not '%s'", optarg);
            o.inv_subsamples = (int)l;
            break;
        case OPT_RENYI:
            if (st_parse_double(optarg, &x) < 0 || !(x > 0) || !isfinite(x))
                st_cli_usage_error(&cli, "--renyi-alpha must be a number > 0, not '%s'", optarg);
            o.renyi_alpha = x;
            break;
        case OPT_DIVT:
            if (st_parse_double(optarg, &x) < 0 || !(x > 0) || !isfinite(x))
                st_cli_usage_error(&cli, "--divergence-temperature must be a number > 0, not '%s'", optarg);
            o.div_temp = x;
            break;
        case OPT_PMIVAR:
            o.pmi_variant = pick(&cli, "--pmi-variant", optarg, variants);
            break;
        case OPT_CPMITAU:
            if (st_parse_double(optarg, &x) < 0 || !(x >= 0) || !isfinite(x))
                st_cli_usage_error(&cli, "--cpmi-tau must be a number >= 0, not '%s'", optarg);
            o.cpmi_tau = x;
            break;
        case OPT_CPMILAMBDA:
            if (st_parse_double(optarg, &x) < 0 || !isfinite(x))
                st_cli_usage_error(&cli, "--cpmi-lambda must be a finite number, not '%s'", optarg);
            o.cpmi_lambda = x;
            break;
        case OPT_SART:
            if (st_parse_double(optarg, &x) < 0 || !(x > 0) || !isfinite(x))
                st_cli_usage_error(&cli, "--sar-t must be a number > 0, not '%s'", optarg);
            o.sar_t = x;
            break;
        case OPT_SDVAR:
            o.sd_variant = pick(&cli, "--sd-variant", optarg, variants);
            break;
        case OPT_SEMCVAR:
            o.se_mc_variant = pick(&cli, "--se-mc-variant", optarg, semc_variants);
            break;
        case OPT_MAXTOK:
            if (st_parse_long(optarg, &l) < 0 || l < 1 || l > 100000000)
                st_cli_usage_error(&cli, "--max-text-tokens must be an integer from 1 to 100000000, not '%s'",
                                   optarg);
            o.max_text_tokens = (size_t)l;
            break;
        case OPT_CSVLONG:
            ro.csv_long = 1;
            break;
        case OPT_MAXLINE:
            if (parse_bytes(optarg, &ro.max_line) < 0)
                st_cli_usage_error(&cli, "--max-line must be a byte count from 1K to 64G (suffix K, M or G), not '%s'",
                                   optarg);
            break;
        case OPT_IDMAP:
            id_map = optarg;
            break;
        default:
            st_cli_usage_error(&cli, NULL);
        }
    }
    if (!scores)
        st_cli_usage_error(&cli, "--scores is required");
    if (cli.role[ST_ROLE_ID] && !ro.csv_long)
        st_cli_usage_error(&cli, "--id-col names a column of --csv-long input (JSON input has the key id)");
    int *which;
    const char **score_names;
    char *score_text;
    size_t nwhich;
    parse_scores(&cli, scores, &which, &score_names, &nwhich, &score_text);
    o.seed = cli.seed;
    st_cli_threads(&cli);

    st_err e;
    st_err_clear(&e);
    st_output out;
    memset(&out, 0, sizeof out);
    st_uq_result *r = NULL;
    st_writer *w = NULL;
    char *meta = NULL;
    const char **names = NULL;
    st_dtype *dtypes = NULL;
    int rc = st_uq_entropy_run((const char *const *)argv + optind, (size_t)(argc - optind), &ro, &o,
                               which, nwhich, &r, &e);
    if (rc < 0)
        goto done;
    if (r->nprompts == 0) {
        rc = st_err_set(&e, ST_EDATA, st_display_name(optind < argc ? argv[optind] : NULL), 0, 0,
                        "no prompts in the input");
        goto done;
    }
    if (r->n == 0) {
        rc = st_err_set(&e, ST_EDATA, st_display_name(optind < argc ? argv[optind] : NULL), 0, 0,
                        "no claims in the input (claim scores read greedy.claims)");
        goto done;
    }
    for (size_t k = 0; k < nwhich; k++)
        if (r->nan_count[k])
            st_cli_log(&cli, 1, "%s: NaN for %zu of %zu %s (needs %s)", score_names[k], r->nan_count[k], r->n,
                       r->has_claim ? "claims" : "prompts", st_uq_score_needs(which[k]));
    if (id_map && (rc = write_id_map(id_map, r, &e)) < 0)
        goto done;

    names = malloc(r->ncols * sizeof *names);
    dtypes = malloc(r->ncols * sizeof *dtypes);
    if (!names || !dtypes) {
        rc = st_err_nomem(&e, "column names");
        goto done;
    }
    size_t j = 0;
    dtypes[j] = r->ids_are_strings ? ST_STR : ST_I8;
    names[j++] = "id";
    if (r->has_claim) {
        dtypes[j] = ST_I8;
        names[j++] = "claim";
    }
    if (r->has_temperature) {
        dtypes[j] = ST_F8;
        names[j++] = "temperature";
    }
    for (size_t k = 0; k < nwhich; k++) {
        dtypes[j] = ST_F8;
        names[j++] = score_names[k];
    }
    if (r->has_correct) {
        dtypes[j] = ST_F8;
        names[j++] = "correct";
    }
    if (r->has_quality) {
        dtypes[j] = ST_F8;
        names[j++] = "quality";
    }
    int fmt = st_cli_output_format(&cli);
    if ((rc = st_output_open(&out, cli.output, fmt == ST_FMT_BIN, &e)) < 0)
        goto done;
    const char *src = optind < argc ? argv[optind] : NULL;
    if ((rc = st_meta_json(&meta, "uq-entropy", 1, cli.seed, st_display_name(src), NULL, &e)) < 0)
        goto done;
    st_writer_opts wo = {fmt, cli.compress ? ST_CODEC_ZLIB : ST_CODEC_RAW, 0, 0, meta};
    if ((rc = st_writer_new(&w, out.fp, names, dtypes, r->ncols, &wo, &e)) < 0)
        goto done;
    if (r->ids_are_strings && (rc = st_writer_source(w, 0, ST_STR, r->id_dict, &e)) < 0)
        goto done;
    if ((rc = st_writer_rows(w, r->data, r->n, &e)) < 0)
        goto done;
    rc = st_writer_close(w, &e);
    w = NULL;
done:
    st_writer_free(w);
    free(meta);
    free(names);
    free(dtypes);
    free(which);
    free(score_names);
    free(score_text);
    st_uq_result_free(r);
    return st_cli_finish(&cli, &out, rc, &e);
}

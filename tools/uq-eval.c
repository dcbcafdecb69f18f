/* uq-eval: evaluate uncertainty score columns against correctness or
 * quality labels.  Thin driver over lib/uq/eval.h. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream.h"
#include "uq/curves.h"
#include "uq/eval.h"

static const char USAGE[] =
    "Usage: uq-eval --labels COLUMN [options] [SCORES [LABELS]]\n"
    "Evaluate uncertainty scores (a stream with an id column and one column per\n"
    "score, as uq-entropy writes) against labels: 0/1 correctness or quality in\n"
    "[0,1], from column COLUMN of SCORES or of LABELS (joined on id, and on\n"
    "temperature when both have it).  SCORES '-' or none reads standard input.\n"
    "Output: CSV with columns score,metric,n,value,lo,hi (lo, hi: bootstrap\n"
    "interval, NaN without --bootstrap).\n"
    "\n"
    "  -l, --labels COLUMN     label column (required)\n"
    "      --id-col NAME       read column NAME of SCORES and LABELS as id\n"
    "  -c, --columns LIST      score columns to evaluate; default every column but\n"
    "                          id, temperature, correct, quality and the labels\n"
    "      --confidence LIST   columns that are confidences (higher = more likely\n"
    "                          correct); default the uq-entropy scores that are:\n"
    "                          msp self-certainty p-true semantic-density ccp\n"
    "                          claim-msp claim-p-true\n"
    "  -m, --metrics LIST      auroc,auprc,prr,prr50,auarc,spearman,ece,tsu; default\n"
    "                          all (auroc, auprc and ece only for 0/1 labels)\n"
    "      --threshold T       binarise labels: correct = (label >= T)\n"
    "      --bins N            ECE bins, 1..1000; default 10\n"
    "      --bootstrap B       percentile intervals from B resamples, 0..1000000;\n"
    "                          default 0 (none)\n"
    "      --level L           interval level in percent, 50 <= L < 100; default 95\n"
    "      --seed N            bootstrap seed; default 1\n"
    "      --curves FILE       also write the ROC, precision-recall and rejection\n"
    "                          curve points of every score to FILE (a stream:\n"
    "                          binary for *.stb, else CSV), for stoch-plot\n"
    "  -o, --output FILE       write to FILE (atomically) instead of stdout\n"
    "  -q, --quiet             no notes\n"
    "  -v, --verbose           more notes\n"
    "  -h, --help              this help\n"
    "      --version           version\n";

enum { OPT_CONF = ST_OPT_TOOL, OPT_THRESHOLD, OPT_BINS, OPT_BOOT, OPT_LEVEL, OPT_CURVES };

/* A whole stream with the line (CSV) or row index (binary) of every row. */
typedef struct rows {
    st_reader *r;
    size_t n, nc, cap;
    double *v;
    long *line;
} rows;

static int read_rows(rows *t, const char *path, st_err *e)
{
    memset(t, 0, sizeof *t);
    /* ids may be text ("p0001"); other text columns are left alone */
    st_reader_opts opts = {.any_type = 1, .id_cols = "id"};
    int rc = st_reader_open_opts(&t->r, path, &opts, e);
    if (rc < 0)
        return rc;
    t->nc = st_reader_ncols(t->r);
    for (;;) {
        if (t->n == t->cap) {
            size_t nc = t->cap ? 2 * t->cap : 1024;
            double *nv = realloc(t->v, nc * t->nc * sizeof *nv);
            if (nv)
                t->v = nv;
            long *nl = realloc(t->line, nc * sizeof *nl);
            if (nl)
                t->line = nl;
            if (!nv || !nl)
                return st_err_nomem(e, "scores");
            t->cap = nc;
        }
        rc = st_reader_next(t->r, t->v + t->n * t->nc, e);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return 0;
        t->line[t->n++] = st_reader_line(t->r);
    }
}

static void rows_free(rows *t)
{
    st_reader_free(t->r);
    free(t->v);
    free(t->line);
}

static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *q = strchr(p, ',');
        size_t k = q ? (size_t)(q - p) : strlen(p);
        if (k == n && strncmp(p, name, n) == 0)
            return 1;
        p = q ? q + 1 : NULL;
    }
    return 0;
}

/* Whether column name holds confidences: listed in --confidence, or by
 * default a uq-entropy score that is one. */
static int is_confidence(const char *conf, const char *name)
{
    if (conf)
        return in_list(conf, name);
    int code = st_uq_score_parse(name);
    return code >= 0 && st_uq_score_is_confidence(code);
}

/* An id as text (a string id's own, a number's shortest form): keys of the
 * join, since string codes belong to each file's dictionary.  NULL if
 * missing. */
static char *id_text(const rows *t, int col, size_t i)
{
    double v = t->v[i * t->nc + col];
    if (isnan(v))
        return NULL;
    char buf[ST_CELL_BUFSZ];
    return strdup(st_reader_cell(t->r, (size_t)col, v, buf));
}

typedef struct key {
    char *id;
    double t;
    size_t row;
} key;

static int cmp_key(const void *a, const void *b)
{
    const key *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c)
        return c;
    if (x->t != y->t && !(isnan(x->t) && isnan(y->t))) {
        if (isnan(x->t))
            return -1;
        if (isnan(y->t))
            return 1;
        return x->t < y->t ? -1 : 1;
    }
    return (x->row > y->row) - (x->row < y->row);
}

static void keys_free(key *k, size_t n)
{
    if (k)
        for (size_t i = 0; i < n; i++)
            free(k[i].id);
    free(k);
}

/* Labels for every SCORES row from LABELS, joined on id (and temperature). */
static int join_labels(const rows *s, int sid, int stemp, const rows *l, const char *col,
                       double *label, long *from, st_err *e)
{
    const char *lname = st_reader_path(l->r);
    int lid = st_reader_col(l->r, "id"), lt = st_reader_col(l->r, "temperature");
    int lc = st_reader_col(l->r, col);
    if (lid < 0)
        return st_err_set(e, ST_EDATA, lname, 1, 0, "labels have no 'id' column");
    if (lc < 0)
        return st_err_set(e, ST_EDATA, lname, 1, 0, "labels have no column '%s'", col);
    if (!st_dtype_is_numeric(st_reader_dtype(l->r, (size_t)lc)))
        return st_err_set(e, ST_EDATA, lname, 1, 0, "label column '%s' holds %s, not numbers", col,
                          st_dtype_short(st_reader_dtype(l->r, (size_t)lc)));
    int use_t = lt >= 0 && stemp >= 0;
    if (use_t && !st_dtype_is_numeric(st_reader_dtype(l->r, (size_t)lt)))
        return st_err_set(e, ST_EDATA, lname, 1, 0, "column 'temperature' holds %s, not numbers",
                          st_dtype_short(st_reader_dtype(l->r, (size_t)lt)));
    key *k = calloc(l->n ? l->n : 1, sizeof *k);
    if (!k)
        return st_err_nomem(e, "labels");
    int rc = 0;
    for (size_t i = 0; i < l->n; i++) {
        k[i].t = use_t ? l->v[i * l->nc + lt] : NAN;
        k[i].row = i;
        if (isnan(l->v[i * l->nc + lid])) {
            rc = st_err_set(e, ST_EDATA, lname, l->line[i], 0, "missing id");
            goto out;
        }
        if (!(k[i].id = id_text(l, lid, i))) {
            rc = st_err_nomem(e, "labels");
            goto out;
        }
    }
    qsort(k, l->n, sizeof *k, cmp_key);
    for (size_t i = 1; i < l->n; i++)
        if (strcmp(k[i].id, k[i - 1].id) == 0 &&
            (k[i].t == k[i - 1].t || (isnan(k[i].t) && isnan(k[i - 1].t)))) {
            long a = l->line[k[i - 1].row], b = l->line[k[i].row];
            rc = st_err_set(e, ST_EDATA, lname, b, 0, "duplicate id '%s' in the labels (first on line %ld)",
                            k[i].id, a);
            goto out;
        }
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        label[i] = NAN;
        from[i] = 0;
        key q = {id_text(s, sid, i), use_t ? s->v[i * s->nc + stemp] : NAN, 0};
        if (!q.id)
            continue; /* a score row without an id has no label */
        size_t lo = 0, hi = l->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            key probe = k[mid];
            probe.row = 0;
            int c = cmp_key(&probe, &q);
            if (c == 0) {
                label[i] = l->v[k[mid].row * l->nc + lc];
                from[i] = l->line[k[mid].row];
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        free(q.id);
    }
out:
    keys_free(k, l->n);
    return rc;
}

/* --curves FILE: the score columns' curve points (lib/uq/curves.h). */
static int write_curves(const char *path, const rows *s, const int *cols, size_t ncols, const char *conf,
                        const double *label, int binary, st_err *e)
{
    size_t len = strlen(path);
    int bin = len > 4 && strcmp(path + len - 4, ".stb") == 0;
    const char **names = calloc(ncols, sizeof *names);
    const double **score = calloc(ncols, sizeof *score);
    int *confidence = calloc(ncols, sizeof *confidence);
    double *v = malloc((s->n ? s->n : 1) * ncols * sizeof *v);
    int rc = ST_OK;
    if (!names || !score || !confidence || !v) {
        rc = st_err_nomem(e, "curves");
        goto out;
    }
    for (size_t q = 0; q < ncols; q++) {
        names[q] = st_reader_name(s->r, (size_t)cols[q]);
        confidence[q] = is_confidence(conf, names[q]);
        for (size_t i = 0; i < s->n; i++)
            v[q * s->n + i] = s->v[i * s->nc + cols[q]];
        score[q] = v + q * s->n;
    }
    st_output o;
    if ((rc = st_output_open(&o, path, bin, e)) < 0)
        goto out;
    st_writer_opts wo = {.format = bin ? ST_FMT_BIN : ST_FMT_CSV};
    rc = st_uq_curves_write(o.fp, &wo, names, score, confidence, ncols, label, s->n, binary, e);
    if (rc == ST_OK)
        rc = st_output_close(&o, e);
    else
        st_output_abort(&o);
out:
    free(names);
    free(score);
    free(confidence);
    free(v);
    return rc;
}

int main(int argc, char **argv)
{
    st_cli cli;
    st_cli_init(&cli, "uq-eval", USAGE);
    st_uq_eval_opts eo;
    st_uq_eval_opts_default(&eo);
    const char *labcol = NULL, *columns = NULL, *conf = NULL, *metrics = NULL, *curves = NULL;
    double threshold = NAN;
    static const struct option longopts[] = {
        ST_CLI_LONGOPTS,
        ST_CLI_OPT_ID_COL,
        {"labels", required_argument, NULL, 'l'},
        {"columns", required_argument, NULL, 'c'},
        {"confidence", required_argument, NULL, OPT_CONF},
        {"metrics", required_argument, NULL, 'm'},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"bins", required_argument, NULL, OPT_BINS},
        {"bootstrap", required_argument, NULL, OPT_BOOT},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"curves", required_argument, NULL, OPT_CURVES},
        {NULL, 0, NULL, 0}};
    int c;
    long l;
    double x;
    while ((c = getopt_long(argc, argv, ST_CLI_SHORTOPTS "l:c:m:", longopts, NULL)) != -1) {
        if (st_cli_common(&cli, c, optarg, argv))
            continue;
        switch (c) {
        case 'l':
            labcol = optarg;
            break;
        case 'c':
            columns = optarg;
            break;
        case OPT_CONF:
            conf = optarg;
            break;
        case 'm':
            metrics = optarg;
            break;
        case OPT_THRESHOLD:
            if (st_parse_double(optarg, &threshold) < 0)
                st_cli_usage_error(&cli, "--threshold must be a number, not '%s'", optarg);
            break;
        case OPT_BINS:
            if (st_parse_long(optarg, &l) < 0 || l < 1 || l > 1000)
                st_cli_usage_error(&cli, "--bins must be an integer from 1 to 1000, not '%s'", optarg);
            eo.nbins = (int)l;
            break;
        case OPT_BOOT:
            if (st_parse_long(optarg, &l) < 0 || l < 0 || l > 1000000)
                st_cli_usage_error(&cli, "--bootstrap must be an integer from 0 to 1000000, not '%s'", optarg);
            eo.bootstrap = (size_t)l;
            break;
        case OPT_LEVEL:
            if (st_parse_double(optarg, &x) < 0 || x < 50 || x >= 100)
                st_cli_usage_error(&cli, "--level must be a percentage in [50, 100), not '%s'", optarg);
            eo.level = x / 100;
            break;
        case OPT_CURVES:
            curves = optarg;
            break;
        default:
            st_cli_usage_error(&cli, NULL);
        }
    }
    if (!labcol)
        st_cli_usage_error(&cli, "--labels COLUMN is required");
    if (cli.format == ST_FMT_BIN)
        st_cli_usage_error(&cli, "the report has a text column (score): it is CSV only, not --format bin");
    if (argc - optind > 2)
        st_cli_usage_error(&cli, "give SCORES and optionally LABELS, not %d files", argc - optind);
    const char *scores_path = optind < argc ? argv[optind] : NULL; /* none: stdin */
    int explicit_metrics = metrics != NULL;
    if (metrics) {
        for (int k = 0; k < ST_UQ_NMETRICS; k++)
            eo.want[k] = in_list(metrics, st_uq_metric_name(k));
        for (const char *p = metrics; *p;) {
            const char *q = strchr(p, ',');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            char name[32];
            if (n == 0 || n >= sizeof name)
                st_cli_usage_error(&cli, "--metrics: bad list '%s'", metrics);
            memcpy(name, p, n);
            name[n] = '\0';
            if (st_uq_metric_parse(name) < 0)
                st_cli_usage_error(&cli, "--metrics: unknown metric '%s'", name);
            p = q ? q + 1 : p + n;
        }
    }
    eo.seed = cli.seed;

    st_err e;
    st_err_clear(&e);
    st_output out;
    memset(&out, 0, sizeof out);
    rows s, lab;
    memset(&s, 0, sizeof s);
    memset(&lab, 0, sizeof lab);
    double *label = NULL;
    long *lline = NULL;
    int *cols = NULL;
    int rc = read_rows(&s, scores_path, &e);
    if (rc < 0)
        goto done;
    const char *sname = st_reader_path(s.r);
    int sid = st_reader_col(s.r, "id"), stemp = st_reader_col(s.r, "temperature");
    if (sid < 0) {
        rc = st_err_set(&e, ST_EDATA, sname, 1, 0, "no 'id' column in the scores");
        goto done;
    }
    if (stemp >= 0 && !st_dtype_is_numeric(st_reader_dtype(s.r, (size_t)stemp))) {
        rc = st_err_set(&e, ST_EDATA, sname, 1, 0, "column 'temperature' holds %s, not numbers",
                        st_dtype_short(st_reader_dtype(s.r, (size_t)stemp)));
        goto done;
    }
    if (s.n == 0) {
        rc = st_err_set(&e, ST_EDATA, sname, 0, 0, "no rows in the scores");
        goto done;
    }
    label = malloc(s.n * sizeof *label);
    cols = malloc(s.nc * sizeof *cols);
    if (!label || !cols) {
        rc = st_err_nomem(&e, "labels");
        goto done;
    }
    /* where each label came from, for messages */
    const char *lname = sname;
    lline = malloc(s.n * sizeof *lline);
    if (!lline) {
        rc = st_err_nomem(&e, "labels");
        goto done;
    }
    memcpy(lline, s.line, s.n * sizeof *lline);
    int labcol_idx = -1;
    if (argc - optind == 2) {
        if ((rc = read_rows(&lab, argv[optind + 1], &e)) < 0)
            goto done;
        if ((rc = join_labels(&s, sid, stemp, &lab, labcol, label, lline, &e)) < 0)
            goto done;
        lname = st_reader_path(lab.r);
    } else {
        labcol_idx = st_reader_col(s.r, labcol);
        if (labcol_idx < 0) {
            rc = st_err_set(&e, ST_EDATA, sname, 1, 0, "no label column '%s' in the scores", labcol);
            goto done;
        }
        if (!st_dtype_is_numeric(st_reader_dtype(s.r, (size_t)labcol_idx))) {
            rc = st_err_set(&e, ST_EDATA, sname, 1, 0, "label column '%s' holds %s, not numbers", labcol,
                            st_dtype_short(st_reader_dtype(s.r, (size_t)labcol_idx)));
            goto done;
        }
        for (size_t i = 0; i < s.n; i++)
            label[i] = s.v[i * s.nc + labcol_idx];
    }
    /* labels: [0,1]; binary ones for auroc/auprc/ece */
    size_t missing = 0;
    int binary = 1;
    size_t first_nonbinary = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (isnan(label[i])) {
            missing++;
            continue;
        }
        if (!isnan(threshold))
            label[i] = label[i] >= threshold;
        if (!(label[i] >= 0 && label[i] <= 1)) {
            rc = st_err_set(&e, ST_EDATA, lname, lline[i], 0,
                            "label %g is outside [0, 1]", label[i]);
            goto done;
        }
        if (binary && label[i] != 0 && label[i] != 1) {
            binary = 0;
            first_nonbinary = i;
        }
    }
    if (missing == s.n) {
        rc = st_err_set(&e, ST_EDATA, sname, 0, 0, "no row has a label");
        goto done;
    }
    if (missing)
        st_cli_log(&cli, 1, "%zu of %zu rows have no label and are left out", missing, s.n);
    if (!binary) {
        for (int k = 0; k < ST_UQ_NMETRICS; k++) {
            if (!st_uq_metric_binary(k) || !eo.want[k])
                continue;
            if (explicit_metrics) {
                rc = st_err_set(&e, ST_EDATA, lname, lline[first_nonbinary], 0,
                                "label %g is not 0/1, but %s needs binary labels (use --threshold)",
                                label[first_nonbinary], st_uq_metric_name(k));
                goto done;
            }
            eo.want[k] = 0;
        }
        st_cli_log(&cli, 2, "labels are not all 0/1: auroc, auprc and ece left out");
    }
    /* score columns */
    size_t ncols = 0;
    if (!columns) { /* numbers only; a text column (a prompt, a model name) is not a score: said so */
        int skip[5] = {sid, stemp, labcol_idx, st_reader_col(s.r, "correct"), st_reader_col(s.r, "quality")};
        st_dtype *dt = malloc((s.nc ? s.nc : 1) * sizeof *dt);
        int *picked = NULL;
        if (!dt) {
            rc = st_err_nomem(&e, "columns");
            goto done;
        }
        for (size_t j = 0; j < s.nc; j++)
            dt[j] = st_reader_dtype(s.r, j);
        rc = st_cli_value_cols(&cli, sname, st_reader_names(s.r), dt, s.nc, skip, 5, ST_KIND_NUMBER, &picked, &ncols,
                               &e);
        free(dt);
        if (rc < 0)
            goto done;
        memcpy(cols, picked, ncols * sizeof *cols);
        free(picked);
    }
    for (size_t j = 0; columns && j < s.nc; j++) {
        const char *name = st_reader_name(s.r, j);
        if ((int)j == sid || (int)j == stemp || (int)j == labcol_idx)
            continue;
        if (columns ? !in_list(columns, name)
                    : (strcmp(name, "correct") == 0 || strcmp(name, "quality") == 0))
            continue;
        if (!st_dtype_is_numeric(st_reader_dtype(s.r, j))) {
            if (columns) {
                rc = st_err_set(&e, ST_EDATA, sname, 1, 0, "column '%s' holds %s, not scores", name,
                                st_dtype_short(st_reader_dtype(s.r, j)));
                goto done;
            }
            continue; /* a text column (a prompt, a model name) is not a score */
        }
        cols[ncols++] = (int)j;
    }
    if (columns)
        for (const char *p = columns; *p;) {
            const char *q = strchr(p, ',');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            char name[256];
            if (n == 0 || n >= sizeof name) {
                rc = st_err_set(&e, ST_EUSAGE, NULL, 0, 0, "--columns: bad list '%s'", columns);
                goto done;
            }
            memcpy(name, p, n);
            name[n] = '\0';
            if (st_reader_col(s.r, name) < 0) {
                rc = st_err_set(&e, ST_EDATA, sname, 1, 0, "no column '%s' in the scores", name);
                goto done;
            }
            p = q ? q + 1 : p + n;
        }
    if (ncols == 0) {
        rc = st_err_set(&e, ST_EDATA, sname, 1, 0, "no score columns to evaluate");
        goto done;
    }
    if (!(stemp >= 0) && eo.want[ST_UQ_M_TSU] && explicit_metrics)
        st_cli_log(&cli, 1, "tsu needs a temperature column: NaN");
    if (curves && (rc = write_curves(curves, &s, cols, ncols, conf, label, binary, &e)) < 0)
        goto done;
    if ((rc = st_output_open(&out, cli.output, 0, &e)) < 0)
        goto done;
    double *sc = malloc(3 * s.n * sizeof *sc);
    if (!sc) {
        rc = st_err_nomem(&e, "scores");
        goto done;
    }
    double *ids = sc + s.n, *temps = sc + 2 * s.n;
    for (size_t i = 0; i < s.n; i++) {
        ids[i] = s.v[i * s.nc + sid];
        temps[i] = stemp >= 0 ? s.v[i * s.nc + stemp] : NAN;
    }
    fputs("score,metric,n,value,lo,hi\n", out.fp);
    for (size_t q = 0; q < ncols && rc == 0; q++) {
        const char *name = st_reader_name(s.r, (size_t)cols[q]);
        for (size_t i = 0; i < s.n; i++)
            sc[i] = s.v[i * s.nc + cols[q]];
        st_uq_stat st[ST_UQ_NMETRICS];
        rc = st_uq_evaluate(sc, label, ids, stemp >= 0 ? temps : NULL, s.n, is_confidence(conf, name), &eo, st,
                            &e);
        for (int k = 0; k < ST_UQ_NMETRICS && rc == 0; k++) {
            if (!eo.want[k])
                continue;
            if (k == ST_UQ_M_ECE && !is_confidence(conf, name))
                continue;
            if (k == ST_UQ_M_TSU && stemp < 0)
                continue;
            char v[ST_DOUBLE_BUFSZ], lo[ST_DOUBLE_BUFSZ], hi[ST_DOUBLE_BUFSZ];
            st_format_double(v, st[k].value);
            st_format_double(lo, st[k].lo);
            st_format_double(hi, st[k].hi);
            fprintf(out.fp, "%s,%s,%zu,%s,%s,%s\n", name, st_uq_metric_name(k), st[k].n, v, lo, hi);
        }
    }
    free(sc);
done:
    free(label);
    free(lline);
    free(cols);
    rows_free(&s);
    rows_free(&lab);
    return st_cli_finish(&cli, &out, rc, &e);
}

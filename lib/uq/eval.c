/* uq-eval's work: every metric for one score column, with optional
 * percentile bootstrap intervals (rows resampled; for TSU, prompt ids). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "uq/eval.h"

static const char *const metric_names[ST_UQ_NMETRICS] = {
    "auroc", "auprc", "prr", "prr50", "auarc", "spearman", "ece", "tsu"};

const char *st_uq_metric_name(int k)
{
    return k >= 0 && k < ST_UQ_NMETRICS ? metric_names[k] : "?";
}

int st_uq_metric_parse(const char *name)
{
    for (int k = 0; k < ST_UQ_NMETRICS; k++)
        if (strcmp(name, metric_names[k]) == 0)
            return k;
    return -1;
}

int st_uq_metric_binary(int k)
{
    return k == ST_UQ_M_AUROC || k == ST_UQ_M_AUPRC || k == ST_UQ_M_ECE;
}

void st_uq_eval_opts_default(st_uq_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int k = 0; k < ST_UQ_NMETRICS; k++)
        o->want[k] = 1;
    o->nbins = 10;
    o->level = 0.95;
    o->seed = 1;
}

/* Metrics on rows (u, c, y) already free of NaN; c = the raw score. */
static void labelled(const double *u, const double *c, const double *y, size_t n, int confidence,
                     const st_uq_eval_opts *o, double *v)
{
    for (int k = 0; k < ST_UQ_NMETRICS; k++)
        v[k] = NAN;
    if (n == 0)
        return;
    if (o->want[ST_UQ_M_AUROC])
        v[ST_UQ_M_AUROC] = st_uq_auroc(u, y, n);
    if (o->want[ST_UQ_M_AUPRC])
        v[ST_UQ_M_AUPRC] = st_uq_auprc(u, y, n);
    if (o->want[ST_UQ_M_PRR])
        v[ST_UQ_M_PRR] = st_uq_prr(u, y, n, 1.0);
    if (o->want[ST_UQ_M_PRR50])
        v[ST_UQ_M_PRR50] = st_uq_prr(u, y, n, 0.5);
    if (o->want[ST_UQ_M_AUARC])
        v[ST_UQ_M_AUARC] = st_uq_rejection_area(u, y, n, 1.0);
    if (o->want[ST_UQ_M_SPEARMAN])
        v[ST_UQ_M_SPEARMAN] = st_uq_spearman(u, y, n);
    if (o->want[ST_UQ_M_ECE] && confidence)
        v[ST_UQ_M_ECE] = st_uq_ece(c, y, n, o->nbins);
}

typedef struct tsurow {
    double id, t, u;
} tsurow;

static int cmp_tsurow(const void *a, const void *b)
{
    const tsurow *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

static double tsu_rows(const tsurow *r, size_t n, double *buf)
{
    double *u = buf, *g = buf + n, *t = buf + 2 * n;
    for (size_t i = 0; i < n; i++) {
        u[i] = r[i].u;
        g[i] = r[i].id;
        t[i] = r[i].t;
    }
    return st_uq_tsu(u, g, t, n);
}

/* Percentile (linear interpolation, as numpy's default) of sorted x[0..n-1]. */
static double percentile(const double *x, size_t n, double q)
{
    if (n == 0)
        return NAN;
    double h = q * (double)(n - 1);
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return x[n - 1];
    return x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int st_uq_evaluate(const double *score, const double *label, const double *id, const double *temp,
                   size_t n, int confidence, const st_uq_eval_opts *o, st_uq_stat *out, st_err *e)
{
    int rc = 0;
    size_t B = o->bootstrap;
    double *tbuf = NULL;
    tsurow *br = NULL;
    double *u = malloc((n ? n : 1) * 4 * sizeof *u);
    tsurow *tr = malloc((n ? n : 1) * sizeof *tr);
    double *boot = malloc((B ? B : 1) * ST_UQ_NMETRICS * sizeof *boot);
    size_t *gstart = malloc((n + 1) * sizeof *gstart);
    if (!u || !tr || !boot || !gstart) {
        rc = st_err_nomem(e, "evaluation");
        goto out;
    }
    double *c = u + n, *y = u + 2 * n, *buf = u + 3 * n;
    (void)buf;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(score[i]) && !isnan(label[i])) {
            u[m] = confidence ? -score[i] : score[i];
            c[m] = score[i];
            y[m] = label[i];
            m++;
        }
    double v[ST_UQ_NMETRICS];
    labelled(u, c, y, m, confidence, o, v);
    for (int k = 0; k < ST_UQ_NMETRICS; k++) {
        out[k].value = v[k];
        out[k].n = m;
        out[k].lo = out[k].hi = NAN;
    }
    /* TSU: every row with a score and a temperature, grouped by id */
    size_t nt = 0;
    if (o->want[ST_UQ_M_TSU] && id && temp)
        for (size_t i = 0; i < n; i++)
            if (!isnan(score[i]) && !isnan(temp[i]) && !isnan(id[i])) {
                tr[nt].id = id[i];
                tr[nt].t = temp[i];
                tr[nt].u = confidence ? -score[i] : score[i];
                nt++;
            }
    size_t ng = 0;
    if (nt) {
        qsort(tr, nt, sizeof *tr, cmp_tsurow);
        tbuf = malloc(3 * nt * sizeof *tbuf);
        if (!tbuf) {
            rc = st_err_nomem(e, "evaluation");
            goto out;
        }
        out[ST_UQ_M_TSU].value = tsu_rows(tr, nt, tbuf);
        for (size_t i = 0; i < nt; i++)
            if (i == 0 || tr[i].id != tr[i - 1].id)
                gstart[ng++] = i;
        gstart[ng] = nt;
    } else {
        out[ST_UQ_M_TSU].value = NAN;
    }
    out[ST_UQ_M_TSU].n = ng;
    if (B == 0 || m == 0)
        goto tsu_boot;
    /* rows resampled with replacement; the same draws for every column */
    {
        double *bu = malloc(3 * m * sizeof *bu);
        if (!bu) {
            rc = st_err_nomem(e, "bootstrap");
            goto out;
        }
        double *bc = bu + m, *by = bu + 2 * m;
        st_rng r;
        st_rng_seed(&r, o->seed);
        for (size_t b = 0; b < B; b++) {
            for (size_t i = 0; i < m; i++) {
                size_t j = (size_t)st_rng_below(&r, m);
                bu[i] = u[j];
                bc[i] = c[j];
                by[i] = y[j];
            }
            labelled(bu, bc, by, m, confidence, o, boot + b * ST_UQ_NMETRICS);
        }
        free(bu);
    }
tsu_boot:
    if (B && ng) {
        size_t maxg = 0;
        for (size_t g = 0; g < ng; g++)
            if (gstart[g + 1] - gstart[g] > maxg)
                maxg = gstart[g + 1] - gstart[g];
        br = malloc(ng * maxg * sizeof *br);
        double *kb = malloc(3 * ng * maxg * sizeof *kb);
        if (!br || !kb) {
            free(kb);
            rc = st_err_nomem(e, "bootstrap");
            goto out;
        }
        st_rng r;
        st_rng_seed(&r, o->seed ^ 0x5453555453555453ULL); /* "TSU" stream */
        for (size_t b = 0; b < B; b++) {
            size_t k = 0;
            for (size_t g = 0; g < ng; g++) {
                size_t pickg = (size_t)st_rng_below(&r, ng);
                for (size_t i = gstart[pickg]; i < gstart[pickg + 1]; i++) {
                    br[k] = tr[i];
                    br[k].id = (double)g; /* a resampled copy is its own prompt */
                    k++;
                }
            }
            boot[b * ST_UQ_NMETRICS + ST_UQ_M_TSU] = tsu_rows(br, k, kb);
        }
        free(kb);
    }
    if (B) {
        double *col = malloc(B * sizeof *col);
        if (!col) {
            rc = st_err_nomem(e, "bootstrap");
            goto out;
        }
        for (int k = 0; k < ST_UQ_NMETRICS; k++) {
            if (isnan(out[k].value))
                continue;
            if (k == ST_UQ_M_TSU ? ng == 0 : m == 0)
                continue;
            size_t nb = 0;
            for (size_t b = 0; b < B; b++) {
                double x = boot[b * ST_UQ_NMETRICS + k];
                if (!isnan(x))
                    col[nb++] = x;
            }
            qsort(col, nb, sizeof *col, cmp_double);
            out[k].lo = percentile(col, nb, (1 - o->level) / 2);
            out[k].hi = percentile(col, nb, (1 + o->level) / 2);
        }
        free(col);
    }
out:
    free(br);
    free(tbuf);
    free(u);
    free(tr);
    free(boot);
    free(gstart);
    return rc;
}

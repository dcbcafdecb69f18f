/* Evaluation of uncertainty scores against correctness or quality labels:
 * AUROC, AUPRC, rejection areas and PRR, Spearman, ECE, TSU.
 *
 * Ties: every metric that orders rows by uncertainty takes the expectation
 * over all orders of tied rows (AUROC counts a tie as 1/2; rejection curves
 * give each kept tied row its group's mean label), so a result never
 * depends on the input order.  AUPRC steps once per distinct score value,
 * as scikit-learn's average_precision_score does. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "uq/uq.h"

/* qsort has no context argument: sort (value, index) pairs instead. */
typedef struct {
    double v;
    size_t i;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->v < y->v)
        return -1;
    if (x->v > y->v)
        return 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Sort ascending by x; returns a malloc'ed array of pairs. */
static pair *sorted(const double *x, size_t n)
{
    pair *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        p[i].v = x[i];
        p[i].i = i;
    }
    qsort(p, n, sizeof *p, cmp_pair);
    return p;
}

void st_uq_ranks(const double *x, size_t n, double *r, size_t *idx)
{
    pair *p = sorted(x, n);
    if (!p) {
        for (size_t i = 0; i < n; i++)
            r[i] = NAN;
        return;
    }
    (void)idx;
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && p[b].v == p[a].v)
            b++;
        double mid = (double)(a + 1 + b) / 2; /* ranks a+1 .. b */
        for (size_t k = a; k < b; k++)
            r[p[k].i] = mid;
        a = b;
    }
    free(p);
}

double st_uq_auroc(const double *u, const double *y, size_t n)
{
    double *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return NAN;
    st_uq_ranks(u, n, r, NULL);
    double npos = 0, nneg = 0, rpos = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == 0) {
            npos++;
            rpos += r[i];
        } else {
            nneg++;
        }
    }
    free(r);
    if (npos == 0 || nneg == 0)
        return NAN;
    return (rpos - npos * (npos + 1) / 2) / (npos * nneg);
}

double st_uq_auprc(const double *u, const double *y, size_t n)
{
    pair *p = sorted(u, n);
    if (!p)
        return NAN;
    double npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += y[i] == 0;
    if (npos == 0) {
        free(p);
        return NAN;
    }
    /* thresholds from the highest uncertainty down, one step per distinct value */
    double tp = 0, seen = 0, ap = 0, prev_recall = 0;
    for (size_t b = n; b > 0;) {
        size_t a = b;
        while (a > 0 && p[a - 1].v == p[b - 1].v)
            a--;
        for (size_t k = a; k < b; k++) {
            tp += y[p[k].i] == 0;
            seen++;
        }
        double recall = tp / npos, precision = tp / seen;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
        b = a;
    }
    free(p);
    return ap;
}

/* Expected cumulative label sums S_k (k = 1..n) keeping rows in ascending
 * order of key, ties averaged; into S[0..n-1]. */
static int cum_sums(const double *key, const double *y, size_t n, double *S)
{
    pair *p = sorted(key, n);
    if (!p)
        return -1;
    double before = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a;
        double g = 0;
        while (b < n && p[b].v == p[a].v)
            g += y[p[b++].i];
        double mean = g / (double)(b - a);
        for (size_t k = a; k < b; k++)
            S[k] = before + (double)(k + 1 - a) * mean;
        before += g;
        a = b;
    }
    free(p);
    return 0;
}

static double area(const double *S, size_t n, size_t r)
{
    double s = 0;
    for (size_t k = n - r + 1; k <= n; k++)
        s += S[k - 1] / (double)k;
    return s / (double)r;
}

static size_t rejections(size_t n, double max_rej)
{
    if (max_rej >= 1)
        return n;
    return (size_t)floor(max_rej * (double)n);
}

double st_uq_rejection_area(const double *u, const double *y, size_t n, double max_rej)
{
    size_t r = rejections(n, max_rej);
    if (n == 0 || r == 0)
        return NAN;
    double *S = malloc(n * sizeof *S);
    if (!S || cum_sums(u, y, n, S) < 0) {
        free(S);
        return NAN;
    }
    double a = area(S, n, r);
    free(S);
    return a;
}

double st_uq_prr(const double *u, const double *y, size_t n, double max_rej)
{
    size_t r = rejections(n, max_rej);
    if (n == 0 || r == 0)
        return NAN;
    double *S = malloc(2 * n * sizeof *S);
    if (!S)
        return NAN;
    double *neg = S + n, mean = 0;
    for (size_t i = 0; i < n; i++) {
        neg[i] = -y[i]; /* the oracle keeps the best labels first */
        mean += y[i];
    }
    mean /= (double)n;
    double res = NAN;
    if (cum_sums(neg, y, n, S) == 0) {
        double oracle = area(S, n, r);
        if (cum_sums(u, y, n, S) == 0) {
            double a = area(S, n, r);
            if (oracle - mean > 1e-15 * (fabs(oracle) + 1))
                res = (a - mean) / (oracle - mean);
        }
    }
    free(S);
    return res;
}

double st_uq_spearman(const double *u, const double *y, size_t n)
{
    if (n < 2)
        return NAN;
    double *a = malloc(3 * n * sizeof *a);
    if (!a)
        return NAN;
    double *ra = a + n, *rb = a + 2 * n;
    for (size_t i = 0; i < n; i++)
        a[i] = -u[i];
    st_uq_ranks(a, n, ra, NULL);
    st_uq_ranks(y, n, rb, NULL);
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        ma += ra[i];
        mb += rb[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    free(a);
    if (saa == 0 || sbb == 0)
        return NAN;
    return sab / sqrt(saa * sbb);
}

double st_uq_ece(const double *c, const double *y, size_t n, int nbins)
{
    if (n == 0 || nbins < 1)
        return NAN;
    double *acc = calloc(3 * (size_t)nbins, sizeof *acc);
    if (!acc)
        return NAN;
    double *conf = acc + nbins, *cnt = acc + 2 * nbins;
    for (size_t i = 0; i < n; i++) {
        if (!(c[i] >= 0 && c[i] <= 1)) {
            free(acc);
            return NAN;
        }
        int b = (int)floor(c[i] * nbins);
        if (b >= nbins)
            b = nbins - 1;
        acc[b] += y[i];
        conf[b] += c[i];
        cnt[b]++;
    }
    double ece = 0;
    for (int b = 0; b < nbins; b++)
        if (cnt[b] > 0)
            ece += fabs(acc[b] - conf[b]) / (double)n; /* (n_b/n)|acc_b - conf_b| */
    free(acc);
    return ece;
}

double st_uq_tsu(const double *u, const double *group, const double *temp, size_t n)
{
    double up = 0, pairs = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && group[b] == group[a])
            b++;
        for (size_t i = a; i < b; i++)
            for (size_t j = a; j < b; j++)
                if (temp[i] < temp[j]) {
                    pairs++;
                    up += u[j] > u[i];
                }
        a = b;
    }
    return pairs > 0 ? up / pairs : NAN;
}

int st_uq_roc_curve(const double *u, const double *y, size_t n, double *thr, double *fpr, double *tpr,
                    double *prec, size_t *m)
{
    *m = 0;
    if (n == 0)
        return 0;
    pair *p = sorted(u, n);
    if (!p)
        return -1;
    double npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += y[i] == 0;
    double nneg = (double)n - npos, tp = 0, fp = 0;
    size_t k = 0;
    thr[0] = INFINITY;
    fpr[0] = nneg > 0 ? 0 : NAN;
    tpr[0] = npos > 0 ? 0 : NAN;
    prec[0] = NAN;
    /* thresholds from the highest uncertainty down, one step per distinct value */
    for (size_t b = n; b > 0;) {
        size_t a = b;
        while (a > 0 && p[a - 1].v == p[b - 1].v)
            a--;
        for (size_t i = a; i < b; i++) {
            if (y[p[i].i] == 0)
                tp++;
            else
                fp++;
        }
        k++;
        thr[k] = p[a].v;
        fpr[k] = nneg > 0 ? fp / nneg : NAN;
        tpr[k] = npos > 0 ? tp / npos : NAN;
        prec[k] = tp / (tp + fp);
        b = a;
    }
    free(p);
    *m = k + 1;
    return 0;
}

int st_uq_rejection_curve(const double *u, const double *y, size_t n, double *acc, double *oracle)
{
    if (n == 0)
        return 0;
    double *S = malloc(2 * n * sizeof *S);
    if (!S)
        return -1;
    double *neg = S + n;
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        double *out = pass ? oracle : acc;
        if (!out)
            continue;
        if (pass)
            for (size_t i = 0; i < n; i++)
                neg[i] = -y[i]; /* the oracle keeps the best labels first */
        if (cum_sums(pass ? neg : u, y, n, S) < 0) {
            rc = -1;
            break;
        }
        /* S[j-1]: the j most confident rows; reject k keeps j = n - k */
        for (size_t k = 0; k < n; k++)
            out[k] = S[n - k - 1] / (double)(n - k);
    }
    free(S);
    return rc;
}

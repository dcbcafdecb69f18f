/* Differencing tests of auto.arima: KPSS, STL and seasonal strength (see
 * unitroot.h). */
#include "config.h"

#include "ssm/unitroot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int st_ur_is_constant(const double *x, size_t n)
{
    size_t i0 = 0;
    while (i0 < n && isnan(x[i0]))
        i0++;
    if (i0 == n)
        return 1;
    double d = 0, a = 0;
    size_t m = 0;
    for (size_t i = i0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        d += fabs(x[i] - x[i0]);
        a += fabs(x[i]);
        m++;
    }
    d /= (double)m;
    a /= (double)m;
    const double tol = 1.5e-8;
    if (isfinite(a) && a > tol)
        d /= a;
    return d <= tol;
}

double st_ur_kpss(const double *x, size_t n, int lags)
{
    if (n < 2)
        return NAN;
    size_t lmax = lags >= 0 ? (size_t)lags : (size_t)trunc(3 * sqrt((double)n) / 13);
    double mean = 0;
    for (size_t t = 0; t < n; t++)
        mean += x[t];
    mean /= (double)n;
    double S = 0, num = 0, s2 = 0;
    for (size_t t = 0; t < n; t++) {
        double r = x[t] - mean;
        S += r;
        num += S * S;
        s2 += r * r;
    }
    double nn = (double)n;
    num /= nn * nn;
    s2 /= nn;
    double den = s2;
    for (size_t k = 1; k <= lmax && k < n; k++) {
        double c = 0;
        for (size_t t = k; t < n; t++)
            c += (x[t] - mean) * (x[t - k] - mean);
        den += 2 / nn * (1 - (double)k / (double)(lmax + 1)) * c;
    }
    return num / den;
}

double st_ur_kpss_pvalue(double stat)
{
    static const double cv[4] = {0.347, 0.463, 0.574, 0.739}, pv[4] = {0.10, 0.05, 0.025, 0.01};
    if (isnan(stat))
        return NAN;
    if (stat <= cv[0])
        return pv[0];
    if (stat >= cv[3])
        return pv[3];
    for (int i = 0; i < 3; i++)
        if (stat <= cv[i + 1])
            return pv[i] + (pv[i + 1] - pv[i]) * (stat - cv[i]) / (cv[i + 1] - cv[i]);
    return pv[3];
}

int st_ur_ndiffs(const double *x, size_t n, double alpha, int maxd)
{
    double *w = malloc((n ? n : 1) * sizeof *w);
    if (!w)
        return 0;
    size_t m = 0;
    for (size_t t = 0; t < n; t++)
        if (!isnan(x[t]))
            w[m++] = x[t];
    int d = 0;
    if (alpha < 0.01)
        alpha = 0.01;
    if (alpha > 0.1)
        alpha = 0.1;
    if (m < 2 || st_ur_is_constant(w, m)) {
        free(w);
        return 0;
    }
    double pv = st_ur_kpss_pvalue(st_ur_kpss(w, m, -1));
    int dodiff = pv < alpha;
    while (dodiff && d < maxd) {
        d++;
        for (size_t t = 0; t + 1 < m; t++)
            w[t] = w[t + 1] - w[t];
        m--;
        if (m < 2 || st_ur_is_constant(w, m))
            break;
        pv = st_ur_kpss_pvalue(st_ur_kpss(w, m, -1));
        if (isnan(pv)) {
            d--;
            break;
        }
        dodiff = pv < alpha;
    }
    free(w);
    return d;
}

/* ------------------------------------------------------------------ STL */

/* Loess estimate at xs (1-based positions) from y[nleft..nright] (1-based,
 * inclusive) with tricube weights (times rw when given), degree 0 or 1;
 * 0 if all weights vanish. */
static int loess_est(const double *y, size_t n, size_t len, int deg, double xs, double *ys,
                     size_t nleft, size_t nright, double *w, const double *rw)
{
    double range = (double)n - 1;
    double h = fmax(xs - (double)nleft, (double)nright - xs);
    if (len > n)
        h += (double)((len - n) / 2);
    double h9 = 0.999 * h, h1 = 0.001 * h, a = 0;
    for (size_t j = nleft; j <= nright; j++) {
        double r = fabs((double)j - xs);
        if (r <= h9) {
            if (r <= h1)
                w[j - 1] = 1;
            else {
                double u = r / h;
                u = 1 - u * u * u;
                w[j - 1] = u * u * u;
            }
            if (rw)
                w[j - 1] *= rw[j - 1];
            a += w[j - 1];
        } else
            w[j - 1] = 0;
    }
    if (a <= 0)
        return 0;
    for (size_t j = nleft; j <= nright; j++)
        w[j - 1] /= a;
    if (h > 0 && deg > 0) {
        a = 0;
        for (size_t j = nleft; j <= nright; j++)
            a += w[j - 1] * (double)j;
        double b = xs - a, c = 0;
        for (size_t j = nleft; j <= nright; j++)
            c += w[j - 1] * ((double)j - a) * ((double)j - a);
        if (sqrt(c) > 0.001 * range) {
            b /= c;
            for (size_t j = nleft; j <= nright; j++)
                w[j - 1] *= b * ((double)j - a) + 1;
        }
    }
    double s = 0;
    for (size_t j = nleft; j <= nright; j++)
        s += w[j - 1] * y[j - 1];
    *ys = s;
    return 1;
}

/* Loess smooth of y[0..n-1] with span len at every jump-th point, linear
 * interpolation between them (STL's "ess"). */
static void loess_smooth(const double *y, size_t n, size_t len, int deg, size_t jump, const double *rw,
                         double *ys, double *work)
{
    if (n < 2) {
        ys[0] = y[0];
        return;
    }
    size_t nj = jump < n - 1 ? jump : n - 1;
    size_t nleft = 1, nright = n;
    if (len >= n) {
        nleft = 1;
        nright = n;
        for (size_t i = 1; i <= n; i += nj)
            if (!loess_est(y, n, len, deg, (double)i, &ys[i - 1], nleft, nright, work, rw))
                ys[i - 1] = y[i - 1];
    } else if (nj == 1) {
        size_t nsh = (len + 1) / 2;
        nleft = 1;
        nright = len;
        for (size_t i = 1; i <= n; i++) {
            if (i > nsh && nright != n) {
                nleft++;
                nright++;
            }
            if (!loess_est(y, n, len, deg, (double)i, &ys[i - 1], nleft, nright, work, rw))
                ys[i - 1] = y[i - 1];
        }
    } else {
        size_t nsh = (len + 1) / 2;
        for (size_t i = 1; i <= n; i += nj) {
            if (i < nsh) {
                nleft = 1;
                nright = len;
            } else if (i >= n - nsh + 1) {
                nleft = n - len + 1;
                nright = n;
            } else {
                nleft = i - nsh + 1;
                nright = len + i - nsh;
            }
            if (!loess_est(y, n, len, deg, (double)i, &ys[i - 1], nleft, nright, work, rw))
                ys[i - 1] = y[i - 1];
        }
    }
    if (nj != 1) {
        for (size_t i = 1; i + nj <= n; i += nj) {
            double delta = (ys[i + nj - 1] - ys[i - 1]) / (double)nj;
            for (size_t j = i + 1; j < i + nj; j++)
                ys[j - 1] = ys[i - 1] + delta * (double)(j - i);
        }
        size_t k = ((n - 1) / nj) * nj + 1;
        if (k != n) {
            if (!loess_est(y, n, len, deg, (double)n, &ys[n - 1], nleft, nright, work, rw))
                ys[n - 1] = y[n - 1];
            if (k != n - 1) {
                double delta = (ys[n - 1] - ys[k - 1]) / (double)(n - k);
                for (size_t j = k + 1; j < n; j++)
                    ys[j - 1] = ys[k - 1] + delta * (double)(j - k);
            }
        }
    }
}

/* moving average of length len: ave[0..n-len] */
static void moving_average(const double *x, size_t n, size_t len, double *ave)
{
    double v = 0;
    for (size_t i = 0; i < len; i++)
        v += x[i];
    ave[0] = v / (double)len;
    for (size_t j = 1; j + len <= n; j++) {
        v += x[j + len - 1] - x[j - 1];
        ave[j] = v / (double)len;
    }
}

static size_t make_odd(long v)
{
    if (v < 3)
        v = 3;
    if (v % 2 == 0)
        v++;
    return (size_t)v;
}

int st_ur_stl(const double *x, size_t n, int period, int s_window, double *seasonal, double *trend,
              st_err *e)
{
    if (period < 2 || n <= 2 * (size_t)period)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "STL: series is not periodic or has less than two periods");
    /* R's defaults around s.window */
    long tw = (long)ceil(1.5 * period / (1 - 1.5 / s_window));
    tw = lround((double)tw);
    if (tw % 2 == 0)
        tw++;
    long lw = period % 2 == 0 ? period + 1 : period;
    size_t np = (size_t)period, ns = make_odd(s_window), nt = make_odd(tw), nl = make_odd(lw);
    size_t sjump = (size_t)ceil(s_window / 10.0), tjump = (size_t)ceil((double)tw / 10.0),
           ljump = (size_t)ceil((double)lw / 10.0);
    const int sdeg = 0, tdeg = 1, ldeg = 1, inner = 2;
    size_t nw = n + 2 * np;
    double *wk = calloc(5 * nw, sizeof *wk), *tr = calloc(n, sizeof *tr), *se = calloc(n, sizeof *se);
    double *sub = calloc(n, sizeof *sub), *subs = calloc(n + 2, sizeof *subs);
    if (!wk || !tr || !se || !sub || !subs) {
        free(wk);
        free(tr);
        free(se);
        free(sub);
        free(subs);
        return st_err_nomem(e, "STL");
    }
    double *w1 = wk, *C = wk + nw, *w3 = wk + 2 * nw, *w4 = wk + 3 * nw, *w5 = wk + 4 * nw;
    for (int it = 0; it < inner; it++) {
        for (size_t i = 0; i < n; i++)
            w1[i] = x[i] - tr[i];
        /* cycle-subseries: smooth each, extended by one point at each end */
        for (size_t j = 0; j < np; j++) {
            size_t k = (n - j - 1) / np + 1;
            for (size_t i = 0; i < k; i++)
                sub[i] = w1[i * np + j];
            loess_smooth(sub, k, ns, sdeg, sjump, NULL, subs + 1, w5);
            size_t nright = ns < k ? ns : k;
            if (!loess_est(sub, k, ns, sdeg, 0.0, &subs[0], 1, nright, w5, NULL))
                subs[0] = subs[1];
            size_t nleft = k >= ns ? k - ns + 1 : 1;
            if (!loess_est(sub, k, ns, sdeg, (double)(k + 1), &subs[k + 1], nleft, k, w5, NULL))
                subs[k + 1] = subs[k];
            for (size_t m = 0; m < k + 2; m++)
                C[m * np + j] = subs[m];
        }
        /* low-pass of C: moving averages np, np, 3, then loess */
        moving_average(C, n + 2 * np, np, w3);
        moving_average(w3, n + np + 1, np, w1);
        moving_average(w1, n + 2, 3, w3);
        loess_smooth(w3, n, nl, ldeg, ljump, NULL, w1, w4);
        for (size_t i = 0; i < n; i++)
            se[i] = C[np + i] - w1[i];
        for (size_t i = 0; i < n; i++)
            w1[i] = x[i] - se[i];
        loess_smooth(w1, n, nt, tdeg, tjump, NULL, tr, w3);
    }
    if (seasonal)
        memcpy(seasonal, se, n * sizeof *se);
    if (trend)
        memcpy(trend, tr, n * sizeof *tr);
    free(wk);
    free(tr);
    free(se);
    free(sub);
    free(subs);
    return 0;
}

static double variance(const double *x, size_t n)
{
    double m = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        m += x[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    return s / (double)(n - 1);
}

double st_ur_seasonal_strength(const double *x, size_t n, int period)
{
    if (period < 2 || n <= 2 * (size_t)period)
        return NAN;
    double *z = malloc(n * sizeof *z), *s = malloc(n * sizeof *s), *t = malloc(n * sizeof *t);
    double res = NAN;
    st_err e;
    if (!z || !s || !t)
        goto out;
    /* fill gaps by linear interpolation (ends: nearest value) */
    size_t last = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        if (last == (size_t)-1)
            for (size_t j = 0; j < i; j++)
                z[j] = x[i];
        else
            for (size_t j = last + 1; j < i; j++)
                z[j] = x[last] + (x[i] - x[last]) * (double)(j - last) / (double)(i - last);
        z[i] = x[i];
        last = i;
    }
    if (last == (size_t)-1)
        goto out;
    for (size_t j = last + 1; j < n; j++)
        z[j] = x[last];
    if (st_ur_stl(z, n, period, 11, s, t, &e) < 0)
        goto out;
    /* remainder and remainder + seasonal over the observed points */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        double r = z[i] - s[i] - t[i];
        t[m] = r;
        z[m] = r + s[i];
        m++;
    }
    if (m < 2)
        goto out;
    double vr = variance(t, m), vrs = variance(z, m);
    res = fmax(0, fmin(1, 1 - vr / vrs));
out:
    free(z);
    free(s);
    free(t);
    return res;
}

int st_ur_nsdiffs(const double *x, size_t n, int period, int maxD)
{
    if (period < 2 || st_ur_is_constant(x, n) || (size_t)period >= n || maxD < 1)
        return 0;
    double st = st_ur_seasonal_strength(x, n, period);
    return isfinite(st) && st > 0.64 ? 1 : 0;
}

/* S4D feature forecaster (see s4d.h). */
#include "config.h"

#include "ssm/s4d.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"

static const double DELTAS[] = {0.01, 0.1, 1.0};
#define NDELTA 3

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* empirical quantile (type 7) of sorted v[0..n-1] */
static double quantile(const double *v, size_t n, double p)
{
    if (n == 1)
        return v[0];
    double h = (double)(n - 1) * p;
    size_t i = (size_t)floor(h);
    if (i >= n - 1)
        return v[n - 1];
    return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

int st_s4d_forecast(const double *y, size_t n, int N, size_t h, const double *levels,
                    size_t nlevels, double *mean, double *var, double *lo, double *hi, st_err *e)
{
    if (N < 1 || N > 256)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "s4d state size must be from 1 to 256, not %d", N);
    size_t F = (size_t)N * 2 * NDELTA * 2 + 1; /* banks x deltas x (re, im) + current value */
    size_t warm = n / 5 < 10 ? n / 5 : 10;
    if (n < warm + h + 8)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "too few observations for s4d with horizon %zu: %zu points, need at least %zu", h, n, warm + h + 8);
    /* normalise; carry missing values forward */
    double mu = 0, s2 = 0;
    size_t k = 0;
    for (size_t t = 0; t < n; t++)
        if (!isnan(y[t]))
            mu += y[t], k++;
    if (k < 2)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "too few observed points for s4d");
    mu /= (double)k;
    for (size_t t = 0; t < n; t++)
        if (!isnan(y[t]))
            s2 += (y[t] - mu) * (y[t] - mu);
    double sd = sqrt(s2 / (double)(k - 1));
    if (!(sd > 0))
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "constant series: nothing to fit");
    int rc = 0;
    double *z = malloc(n * sizeof(double));
    double *X = malloc(n * F * sizeof(double));
    double complex *Ab = malloc((size_t)N * 2 * NDELTA * sizeof(double complex));
    double complex *Bb = malloc((size_t)N * 2 * NDELTA * sizeof(double complex));
    double complex *st = calloc((size_t)N * 2 * NDELTA, sizeof(double complex));
    size_t nt = n - warm; /* rows usable as features */
    double *G = malloc(F * F * sizeof(double)), *w = malloc(F * sizeof(double)), *V = malloc(F * F * sizeof(double));
    double *Pm = malloc(nt * F * sizeof(double)), *xm = malloc(F * sizeof(double));
    double *res = malloc(nt * sizeof(double)), *tmp = malloc(nt * sizeof(double)), *proj = malloc(F * sizeof(double));
    if (!z || !X || !Ab || !Bb || !st || !G || !w || !V || !Pm || !xm || !res || !tmp || !proj) {
        rc = st_err_nomem(e, "s4d features");
        goto out;
    }
    double last = NAN;
    for (size_t t = 0; t < n; t++) {
        if (!isnan(y[t]))
            last = (y[t] - mu) / sd;
        z[t] = isnan(last) ? 0 : last;
    }
    /* banks: [lin | inv] x deltas x N */
    size_t q = 0;
    for (int bank = 0; bank < 2; bank++)
        for (int d = 0; d < NDELTA; d++)
            for (int j = 0; j < N; j++, q++) {
                double im = bank == 0 ? M_PI * j : (N / M_PI) * ((double)N / (2 * j + 1) - 1);
                double complex A = -0.5 + I * im;
                double complex a = cexp(DELTAS[d] * A);
                Ab[q] = a;
                Bb[q] = (a - 1) / A;
            }
    for (size_t t = 0; t < n; t++) {
        double *row = X + t * F;
        for (size_t i = 0; i < q; i++) {
            st[i] = Ab[i] * st[i] + Bb[i] * z[t];
            row[2 * i] = creal(st[i]);
            row[2 * i + 1] = cimag(st[i]);
        }
        row[F - 1] = z[t];
    }
    /* For each horizon k: rows t = warm .. n-1-k predict z[t+k]. */
    for (size_t hk = 1; hk <= h; hk++) {
        size_t nr = n - warm - hk;
        const double *Xk = X + warm * F;
        /* centre columns */
        for (size_t j = 0; j < F; j++) {
            double s = 0;
            for (size_t i = 0; i < nr; i++)
                s += Xk[i * F + j];
            xm[j] = s / (double)nr;
        }
        double ym = 0;
        for (size_t i = 0; i < nr; i++)
            ym += z[warm + i + hk];
        ym /= (double)nr;
        memset(G, 0, F * F * sizeof(double));
        for (size_t i = 0; i < nr; i++)
            for (size_t a = 0; a < F; a++) {
                double xa = Xk[i * F + a] - xm[a];
                for (size_t b = 0; b <= a; b++)
                    G[a * F + b] += xa * (Xk[i * F + b] - xm[b]);
            }
        for (size_t a = 0; a < F; a++)
            for (size_t b = 0; b < a; b++)
                G[b * F + a] = G[a * F + b];
        if ((rc = st_eigen_sym(G, F, w, V, e)) < 0)
            goto out;
        /* P = Xc V, proj_j = P_:j' yc */
        memset(proj, 0, F * sizeof(double));
        for (size_t i = 0; i < nr; i++) {
            double yc = z[warm + i + hk] - ym;
            for (size_t j = 0; j < F; j++) {
                double acc = 0;
                for (size_t a = 0; a < F; a++)
                    acc += (Xk[i * F + a] - xm[a]) * V[a * F + j];
                Pm[i * F + j] = acc;
                proj[j] += acc * yc;
            }
        }
        double wmax = fmax(w[F - 1], 1e-12), best = INFINITY, best_lam = 0;
        /* penalties from 1e-6 to 1e2 times the largest eigenvalue: the
         * floor bounds the condition number, so directions the training rows
         * barely span cannot blow up the forecast from the last state */
        for (int g = 0; g <= 32; g++) {
            double lam = wmax * pow(10, -6 + 0.25 * g);
            double sse = 0;
            for (size_t i = 0; i < nr; i++) {
                double fit = 0, hii = 0;
                for (size_t j = 0; j < F; j++) {
                    double dj = fmax(w[j], 0) + lam;
                    fit += Pm[i * F + j] * proj[j] / dj;
                    hii += Pm[i * F + j] * Pm[i * F + j] / dj;
                }
                double r = (z[warm + i + hk] - ym - fit) / fmax(1 - hii, 1e-6);
                sse += r * r;
            }
            if (sse < best)
                best = sse, best_lam = lam;
        }
        /* LOO residuals at the chosen penalty, and the forecast */
        for (size_t i = 0; i < nr; i++) {
            double fit = 0, hii = 0;
            for (size_t j = 0; j < F; j++) {
                double dj = fmax(w[j], 0) + best_lam;
                fit += Pm[i * F + j] * proj[j] / dj;
                hii += Pm[i * F + j] * Pm[i * F + j] / dj;
            }
            res[i] = (z[warm + i + hk] - ym - fit) / fmax(1 - hii, 1e-6);
        }
        const double *xl = X + (n - 1) * F;
        double pred = ym;
        for (size_t j = 0; j < F; j++) {
            double pj = 0;
            for (size_t a = 0; a < F; a++)
                pj += (xl[a] - xm[a]) * V[a * F + j];
            pred += pj * proj[j] / (fmax(w[j], 0) + best_lam);
        }
        double rv = 0;
        for (size_t i = 0; i < nr; i++)
            rv += res[i] * res[i];
        rv /= (double)nr;
        mean[hk - 1] = mu + sd * pred;
        var[hk - 1] = rv * sd * sd;
        memcpy(tmp, res, nr * sizeof(double));
        qsort(tmp, nr, sizeof(double), cmp_double);
        for (size_t l = 0; l < nlevels; l++) {
            double a = (1 - levels[l] / 100) / 2;
            lo[(hk - 1) * nlevels + l] = mean[hk - 1] + sd * quantile(tmp, nr, a);
            hi[(hk - 1) * nlevels + l] = mean[hk - 1] + sd * quantile(tmp, nr, 1 - a);
        }
    }
out:
    free(z);
    free(X);
    free(Ab);
    free(Bb);
    free(st);
    free(G);
    free(w);
    free(V);
    free(Pm);
    free(xm);
    free(res);
    free(tmp);
    free(proj);
    return rc;
}

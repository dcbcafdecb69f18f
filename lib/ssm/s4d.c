/* S4D forecaster (see s4d.h): kernels by Vandermonde sums, convolutions
 * by FFTW, the exact gradient by hand, Adam, recursive forecasts and
 * split-conformal intervals. */
#include "config.h"

#include "ssm/s4d.h"

#include <complex.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/linalg.h"
#include "ssm/unitroot.h"

/* ------------------------------------------------------------ series */

void st_s4d_series_free(st_s4d_series *s)
{
    if (!s)
        return;
    free(s->y);
    free(s->w);
    memset(s, 0, sizeof *s);
}

int st_s4d_series_init(st_s4d_series *s, const double *y, size_t n, st_err *e)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    if (n < 16)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "too few observations for s4d: %zu points, need at least 16", n);
    s->y = malloc(n * sizeof *s->y);
    s->w = malloc(n * sizeof *s->w);
    if (!s->y || !s->w) {
        st_s4d_series_free(s);
        return st_err_nomem(e, "s4d series");
    }
    /* gaps: linear interpolation, ends carried */
    size_t last = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        if (last == (size_t)-1)
            for (size_t j = 0; j < i; j++)
                s->y[j] = y[i];
        else
            for (size_t j = last + 1; j < i; j++)
                s->y[j] = y[last] + (y[i] - y[last]) * (double)(j - last) / (double)(i - last);
        s->y[i] = y[i];
        last = i;
    }
    if (last == (size_t)-1) {
        st_s4d_series_free(s);
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "no observed points for s4d");
    }
    for (size_t j = last + 1; j < n; j++)
        s->y[j] = y[last];
    if (st_ur_is_constant(s->y, n)) {
        st_s4d_series_free(s);
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "constant series: nothing to fit");
    }
    /* first differences, standardised */
    s->T = n - 1;
    double mu = 0, v = 0;
    for (size_t t = 0; t < s->T; t++)
        mu += s->y[t + 1] - s->y[t];
    mu /= (double)s->T;
    for (size_t t = 0; t < s->T; t++) {
        double d = s->y[t + 1] - s->y[t] - mu;
        v += d * d;
    }
    s->mu = mu;
    s->sd = sqrt(v / (double)s->T);
    if (!(s->sd > 1e-12 * (fabs(mu) + 1e-300)))
        s->sd = fabs(mu); /* a straight line: nothing to learn but its slope */
    for (size_t t = 0; t < s->T; t++)
        s->w[t] = (s->y[t + 1] - s->y[t] - mu) / s->sd;
    return 0;
}

/* ------------------------------------------------------------- model */

struct st_s4d_model {
    int H, M, N;
    size_t P;
    double *theta;
    double *pen;     /* ridge penalty weight per parameter (0: none) */
    int max_epochs, patience;
};

/* layout: per channel c, at c * (6M + 2): alpha[M], omega[M], Bre[M],
 * Bim[M], Cre[M], Cim[M], log Delta, W; then D, b */
#define STRIDE(m) ((size_t)(6 * (m)->M + 2))
#define OFF(m, c, k) ((size_t)(c) * STRIDE(m) + (size_t)(k) * (size_t)(m)->M)

size_t st_s4d_nparams(const st_s4d_model *m)
{
    return m->P;
}

double *st_s4d_params(st_s4d_model *m)
{
    return m->theta;
}

void st_s4d_model_free(st_s4d_model *m)
{
    if (!m)
        return;
    free(m->theta);
    free(m->pen);
    free(m);
}

int st_s4d_model_new(st_s4d_model **out, const st_s4d_opts *o, st_err *e)
{
    *out = NULL;
    if (o->N < 1 || o->N > ST_S4D_MAXN)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "s4d state size must be from 1 to %d, not %d", ST_S4D_MAXN, o->N);
    st_s4d_model *m = calloc(1, sizeof *m);
    if (!m)
        return st_err_nomem(e, "s4d model");
    m->N = o->N;
    m->H = o->H > 0 ? o->H : 1;
    m->M = (o->N + 1) / 2;
    m->max_epochs = o->max_epochs > 0 ? o->max_epochs : 1000;
    m->patience = o->patience > 0 ? o->patience : 100;
    m->P = (size_t)m->H * STRIDE(m) + 2;
    m->theta = calloc(m->P, sizeof *m->theta);
    m->pen = calloc(m->P, sizeof *m->pen);
    if (!m->theta || !m->pen) {
        st_s4d_model_free(m);
        return st_err_nomem(e, "s4d model");
    }
    double N = (double)m->N;
    for (int c = 0; c < m->H; c++) {
        double dt = 0.2;
        dt *= pow(2.0, -(double)c); /* further channels: slower */
        for (int n = 0; n < m->M; n++) {
            m->theta[OFF(m, c, 0) + (size_t)n] = log(0.5);
            m->theta[OFF(m, c, 1) + (size_t)n] = o->inv ? (N / M_PI) * (N / (2.0 * n + 1) - 1) : M_PI * n;
            m->theta[OFF(m, c, 2) + (size_t)n] = 1;
        }
        m->theta[OFF(m, c, 6)] = log(dt);
        m->theta[OFF(m, c, 6) + 1] = 1;
    }
    *out = m;
    return 0;
}

/* the discrete modes of channel c: lambda_n and c_n = C_n Bbar_n */
static void modes(const st_s4d_model *m, const double *th, int c, double complex *lam, double complex *cc)
{
    const double dt = exp(th[OFF(m, c, 6)]);
    for (int n = 0; n < m->M; n++) {
        double complex A = -exp(th[OFF(m, c, 0) + (size_t)n]) + I * th[OFF(m, c, 1) + (size_t)n];
        double complex B = th[OFF(m, c, 2) + (size_t)n] + I * th[OFF(m, c, 3) + (size_t)n];
        double complex C = th[OFF(m, c, 4) + (size_t)n] + I * th[OFF(m, c, 5) + (size_t)n];
        double complex l = cexp(dt * A);
        lam[n] = l;
        cc[n] = C * B * (l - 1) / A;
    }
}

/* K[l] = 2 Re sum_n cc_n lam_n^l, l < L: a Vandermonde product */
static void kernel(const double complex *lam, const double complex *cc, int M, size_t L, double *K)
{
    memset(K, 0, L * sizeof *K);
    for (int n = 0; n < M; n++) {
        double complex p = cc[n];
        for (size_t l = 0; l < L; l++) {
            K[l] += 2 * creal(p);
            p *= lam[n];
        }
    }
}

/* ------------------------------------------------------ FFT workspace */

typedef struct fft_ws {
    size_t nfft;
    fftw_plan r2c, c2r;
    double *rb;            /* nfft reals */
    fftw_complex *cb, *cw; /* nfft/2+1: scratch, FFT of w */
} fft_ws;

static void fft_ws_free(fft_ws *f)
{
    if (f->r2c || f->c2r) {
#ifdef _OPENMP
#pragma omp critical(st_fftw_planner)
#endif
        {
            if (f->r2c)
                fftw_destroy_plan(f->r2c);
            if (f->c2r)
                fftw_destroy_plan(f->c2r);
        }
    }
    fftw_free(f->rb);
    fftw_free(f->cb);
    fftw_free(f->cw);
    memset(f, 0, sizeof *f);
}

/* plans for a series of length T (the planner is not thread-safe) and
 * the transform of its w */
static int fft_ws_init(fft_ws *f, const double *w, size_t T, st_err *e)
{
    memset(f, 0, sizeof *f);
    f->nfft = 2 * T;
    size_t nc = f->nfft / 2 + 1;
    f->rb = fftw_malloc(f->nfft * sizeof(double));
    f->cb = fftw_malloc(nc * sizeof(fftw_complex));
    f->cw = fftw_malloc(nc * sizeof(fftw_complex));
    if (!f->rb || !f->cb || !f->cw) {
        fft_ws_free(f);
        return st_err_nomem(e, "s4d FFT");
    }
#ifdef _OPENMP
#pragma omp critical(st_fftw_planner)
#endif
    {
        f->r2c = fftw_plan_dft_r2c_1d((int)f->nfft, f->rb, f->cb, FFTW_ESTIMATE);
        f->c2r = fftw_plan_dft_c2r_1d((int)f->nfft, f->cb, f->rb, FFTW_ESTIMATE);
    }
    if (!f->r2c || !f->c2r) {
        fft_ws_free(f);
        return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "s4d: FFTW could not plan a transform of size %zu", f->nfft);
    }
    memset(f->rb, 0, f->nfft * sizeof(double));
    memcpy(f->rb, w, T * sizeof(double));
    fftw_execute_dft_r2c(f->r2c, f->rb, f->cw);
    return 0;
}

/* out[t] = sum_{l <= t} a[l] w[t - l] (conj = 0) or sum_{t' >= l} a[t'] w[t' - l]
 * (conj = 1: the cross-correlation the gradient needs), t < T */
static void fft_apply(fft_ws *f, const double *a, size_t T, int conj_w, double *out)
{
    size_t nc = f->nfft / 2 + 1;
    memset(f->rb, 0, f->nfft * sizeof(double));
    memcpy(f->rb, a, T * sizeof(double));
    fftw_execute_dft_r2c(f->r2c, f->rb, f->cb);
    /* <complex.h> comes first, so fftw_complex is double complex */
    for (size_t k = 0; k < nc; k++)
        f->cb[k] *= conj_w ? conj(f->cw[k]) : f->cw[k];
    fftw_execute_dft_c2r(f->c2r, f->cb, f->rb);
    const double sc = 1.0 / (double)f->nfft;
    for (size_t t = 0; t < T; t++)
        out[t] = f->rb[t] * sc;
}

/* ----------------------------------------------------- loss, gradient */

static size_t warmup(size_t T)
{
    return T / 10 < 10 ? T / 10 : 10;
}

/* one-step predictions from t in [warm, te) train (targets t + 1 <
 * frac T), t in [te, T - 1) validate */
static size_t train_end(size_t T, double frac)
{
    size_t w = warmup(T), e = (size_t)floor(frac * (double)T);
    if (e > T)
        e = T;
    e = e >= 1 ? e - 1 : 0;
    return e < w ? w : e;
}

typedef struct loss_ws {
    double val_se;         /* standard error of the last validation loss */
    fft_ws *fft;           /* per series */
    size_t ns, Tmax;
    double *K, *gK, *x, *g, *tmp;
    double complex *lam, *cc;
} loss_ws;

static void loss_ws_free(loss_ws *L)
{
    for (size_t i = 0; i < L->ns && L->fft; i++)
        fft_ws_free(&L->fft[i]);
    free(L->fft);
    free(L->K);
    free(L->gK);
    free(L->x);
    free(L->g);
    free(L->tmp);
    free(L->lam);
    free(L->cc);
    memset(L, 0, sizeof *L);
}

static int loss_ws_init(loss_ws *L, const st_s4d_model *m, const st_s4d_series *s, size_t ns, st_err *e)
{
    memset(L, 0, sizeof *L);
    L->ns = ns;
    for (size_t i = 0; i < ns; i++)
        if (s[i].T > L->Tmax)
            L->Tmax = s[i].T;
    size_t H = (size_t)m->H, T = L->Tmax;
    L->fft = calloc(ns, sizeof *L->fft);
    L->K = malloc(H * T * sizeof *L->K);
    L->gK = malloc(H * T * sizeof *L->gK);
    L->x = malloc(H * T * sizeof *L->x);
    L->g = malloc(T * sizeof *L->g);
    L->tmp = malloc(T * sizeof *L->tmp);
    L->lam = malloc(H * (size_t)m->M * sizeof *L->lam);
    L->cc = malloc(H * (size_t)m->M * sizeof *L->cc);
    if (!L->fft || !L->K || !L->gK || !L->x || !L->g || !L->tmp || !L->lam || !L->cc) {
        loss_ws_free(L);
        return st_err_nomem(e, "s4d workspace");
    }
    for (size_t i = 0; i < ns; i++) {
        int rc = fft_ws_init(&L->fft[i], s[i].w, s[i].T, e);
        if (rc < 0) {
            loss_ws_free(L);
            return rc;
        }
    }
    return 0;
}

/* the gradient of the kernel parameters of channel c from dL/dK (gK) */
static void kernel_grad(const st_s4d_model *m, const double *th, int c, const double *gK, size_t L,
                        double *grad)
{
    const double dt = exp(th[OFF(m, c, 6)]);
    double gdt = 0;
    for (int n = 0; n < m->M; n++) {
        size_t i = (size_t)n;
        double complex A = -exp(th[OFF(m, c, 0) + i]) + I * th[OFF(m, c, 1) + i];
        double complex B = th[OFF(m, c, 2) + i] + I * th[OFF(m, c, 3) + i];
        double complex C = th[OFF(m, c, 4) + i] + I * th[OFF(m, c, 5) + i];
        double complex lam = cexp(dt * A), cb = (lam - 1) / A, cc = C * B * cb;
        /* G = sum_l gK[l] lam^l, G1 = sum_l l gK[l] lam^(l-1) */
        double complex G = 0, G1 = 0, p = 1;
        for (size_t l = 0; l < L; l++) {
            G += gK[l] * p;
            if (l + 1 < L)
                G1 += (double)(l + 1) * gK[l + 1] * p;
            p *= lam;
        }
        /* gradients as d/dRe + i d/dIm; through a holomorphic map z -> f(z)
         * the gradient is conj(f'(z)) times the gradient at f(z) */
        double complex gc = 2 * conj(G);
        double complex glam = conj(2 * cc * G1) + conj(C * B / A) * gc;
        double complex gC = conj(B * cb) * gc;
        double complex gB = conj(C * cb) * gc;
        double complex gA = conj(-C * B * (lam - 1) / (A * A)) * gc + conj(dt * lam) * glam;
        gdt += creal(conj(A * lam) * glam);
        grad[OFF(m, c, 0) + i] += -exp(th[OFF(m, c, 0) + i]) * creal(gA);
        grad[OFF(m, c, 1) + i] += cimag(gA);
        grad[OFF(m, c, 2) + i] += creal(gB);
        grad[OFF(m, c, 3) + i] += cimag(gB);
        grad[OFF(m, c, 4) + i] += creal(gC);
        grad[OFF(m, c, 5) + i] += cimag(gC);
    }
    grad[OFF(m, c, 6)] += dt * gdt;
}

static double loss_eval(const st_s4d_model *m, const double *th, const st_s4d_series *s, size_t ns,
                        double frac, loss_ws *L, double *grad, double *val)
{
    size_t H = (size_t)m->H, Tm = L->Tmax;
    const double D = th[H * STRIDE(m)], b = th[H * STRIDE(m) + 1];
    for (size_t c = 0; c < H; c++) {
        modes(m, th, (int)c, L->lam + c * (size_t)m->M, L->cc + c * (size_t)m->M);
        kernel(L->lam + c * (size_t)m->M, L->cc + c * (size_t)m->M, m->M, Tm, L->K + c * Tm);
    }
    if (grad) {
        memset(grad, 0, m->P * sizeof *grad);
        memset(L->gK, 0, H * Tm * sizeof *L->gK);
    }
    size_t ntr = 0;
    for (size_t i = 0; i < ns; i++) {
        size_t w0 = warmup(s[i].T), te = train_end(s[i].T, frac);
        ntr += te > w0 ? te - w0 : 0;
    }
    double sse = 0, vse = 0, vse2 = 0;
    size_t nv = 0;
    for (size_t i = 0; i < ns; i++) {
        const double *w = s[i].w;
        size_t T = s[i].T, w0 = warmup(T), te = train_end(T, frac);
        for (size_t c = 0; c < H; c++)
            fft_apply(&L->fft[i], L->K + c * Tm, T, 0, L->x + c * T);
        for (size_t t = 0; t < T; t++)
            L->g[t] = 0;
        for (size_t t = w0; t + 1 < T; t++) {
            double p = b + D * w[t];
            for (size_t c = 0; c < H; c++)
                p += th[OFF(m, c, 6) + 1] * L->x[c * T + t];
            double r = p - w[t + 1];
            if (t < te) {
                sse += r * r;
                L->g[t] = 2 * r / (double)(ntr ? ntr : 1);
            } else {
                vse += r * r;
                vse2 += r * r * r * r;
                nv++;
            }
        }
        if (!grad)
            continue;
        double gb = 0, gD = 0;
        for (size_t t = 0; t < T; t++) {
            gb += L->g[t];
            gD += L->g[t] * w[t];
        }
        grad[H * STRIDE(m)] += gD;
        grad[H * STRIDE(m) + 1] += gb;
        for (size_t c = 0; c < H; c++) {
            const double W = th[OFF(m, c, 6) + 1];
            double gW = 0;
            for (size_t t = 0; t < T; t++) {
                gW += L->g[t] * L->x[c * T + t];
                L->tmp[t] = W * L->g[t];
            }
            grad[OFF(m, c, 6) + 1] += gW;
            /* dL/dK[l] = sum_t gx[t] w[t - l] */
            fft_apply(&L->fft[i], L->tmp, T, 1, L->x + c * T);
            for (size_t l = 0; l < T; l++)
                L->gK[c * Tm + l] += L->x[c * T + l];
        }
    }
    if (grad)
        for (size_t c = 0; c < H; c++)
            kernel_grad(m, th, (int)c, L->gK + c * Tm, Tm, grad);
    /* the ridge penalty: sum_j pen_j theta_j^2 */
    double pen = 0;
    for (size_t j = 0; j < m->P; j++)
        if (m->pen[j] > 0) {
            pen += m->pen[j] * th[j] * th[j];
            if (grad)
                grad[j] += 2 * m->pen[j] * th[j];
        }
    if (val)
        *val = nv ? vse / (double)nv : NAN;
    if (nv > 1) {
        double mv = vse / (double)nv, var = (vse2 / (double)nv - mv * mv) * (double)nv / (double)(nv - 1);
        L->val_se = sqrt(fmax(var, 0) / (double)nv);
    } else
        L->val_se = INFINITY;
    return ntr ? sse / (double)ntr + pen : NAN;
}

double st_s4d_loss(const st_s4d_model *m, const st_s4d_series *s, size_t ns, double frac,
                   double *grad, double *val, st_err *e)
{
    loss_ws L;
    if (loss_ws_init(&L, m, s, ns, e) < 0)
        return NAN;
    double v = loss_eval(m, m->theta, s, ns, frac, &L, grad, val);
    loss_ws_free(&L);
    return v;
}

/* ---------------------------------------------------------- ridge start */

/* the mode states (Re, Im per channel and mode) and w_t as features of
 * the one-step prediction from t: X[r * F + j] for the training rows */
static void features(const st_s4d_model *m, const st_s4d_series *s, size_t ns, double frac, double *X,
                     double *Y, size_t *nrow)
{
    size_t H = (size_t)m->H, M = (size_t)m->M, F = 2 * H * M + 1, r = 0;
    double complex lam[ST_S4D_MAXN], bb[ST_S4D_MAXN], st[ST_S4D_MAXN];
    for (size_t i = 0; i < ns; i++) {
        size_t T = s[i].T, w0 = warmup(T), te = train_end(T, frac);
        for (size_t c = 0; c < H; c++) {
            double complex cc[ST_S4D_MAXN];
            modes(m, m->theta, (int)c, lam, cc);
            const double dt = exp(m->theta[OFF(m, c, 6)]);
            for (size_t n = 0; n < M; n++) {
                double complex A = -exp(m->theta[OFF(m, c, 0) + n]) + I * m->theta[OFF(m, c, 1) + n];
                double complex B = m->theta[OFF(m, c, 2) + n] + I * m->theta[OFF(m, c, 3) + n];
                bb[n] = (cexp(dt * A) - 1) / A * B;
                st[n] = 0;
            }
            size_t rr = r;
            for (size_t t = 0; t < te && t + 1 < T; t++) {
                for (size_t n = 0; n < M; n++)
                    st[n] = lam[n] * st[n] + bb[n] * s[i].w[t];
                if (t < w0)
                    continue;
                double *row = X + rr * F + c * 2 * M;
                for (size_t n = 0; n < M; n++) {
                    row[2 * n] = creal(st[n]);
                    row[2 * n + 1] = cimag(st[n]);
                }
                rr++;
            }
        }
        for (size_t t = w0; t < te && t + 1 < T; t++) {
            X[r * F + F - 1] = s[i].w[t];
            Y[r] = s[i].w[t + 1];
            r++;
        }
    }
    *nrow = r;
}

/* ridge of Y on standardised X (intercept free), penalty by leave-one-out
 * error over a grid; sets C, D, b and the penalty weights */
static int ridge_start(st_s4d_model *m, const st_s4d_series *s, size_t ns, double frac, st_err *e)
{
    size_t H = (size_t)m->H, M = (size_t)m->M, F = 2 * H * M + 1, nmax = 0;
    for (size_t i = 0; i < ns; i++)
        nmax += s[i].T;
    double *X = malloc(nmax * F * sizeof *X), *Y = malloc(nmax * sizeof *Y);
    double *mu = calloc(F, sizeof *mu), *sd = calloc(F, sizeof *sd), *G = calloc(F * F, sizeof *G);
    double *w = malloc(F * sizeof *w), *V = malloc(F * F * sizeof *V), *proj = calloc(F, sizeof *proj);
    double *Pm = NULL, *beta = calloc(F, sizeof *beta);
    int rc = 0;
    if (!X || !Y || !mu || !sd || !G || !w || !V || !proj || !beta) {
        rc = st_err_nomem(e, "s4d ridge");
        goto out;
    }
    size_t nr;
    features(m, s, ns, frac, X, Y, &nr);
    if (nr < 2) {
        rc = st_err_set(e, ST_EDATA, NULL, 0, 0, "too few observations for s4d");
        goto out;
    }
    double ym = 0;
    for (size_t r = 0; r < nr; r++) {
        ym += Y[r];
        for (size_t j = 0; j < F; j++)
            mu[j] += X[r * F + j];
    }
    ym /= (double)nr;
    for (size_t j = 0; j < F; j++)
        mu[j] /= (double)nr;
    for (size_t r = 0; r < nr; r++)
        for (size_t j = 0; j < F; j++) {
            double d = X[r * F + j] - mu[j];
            sd[j] += d * d;
        }
    for (size_t j = 0; j < F; j++) {
        sd[j] = sqrt(sd[j] / (double)nr);
        if (!(sd[j] > 1e-12))
            sd[j] = 1;
    }
    for (size_t r = 0; r < nr; r++) {
        double *x = X + r * F;
        for (size_t j = 0; j < F; j++)
            x[j] = (x[j] - mu[j]) / sd[j];
        for (size_t a = 0; a < F; a++)
            for (size_t b = 0; b <= a; b++)
                G[a * F + b] += x[a] * x[b];
    }
    for (size_t a = 0; a < F; a++)
        for (size_t b = 0; b < a; b++)
            G[b * F + a] = G[a * F + b];
    if ((rc = st_eigen_sym(G, F, w, V, e)) < 0)
        goto out;
    Pm = malloc(nr * F * sizeof *Pm);
    if (!Pm) {
        rc = st_err_nomem(e, "s4d ridge");
        goto out;
    }
    /* P = X V, proj = P' (Y - ym) */
    for (size_t r = 0; r < nr; r++) {
        const double *x = X + r * F;
        for (size_t j = 0; j < F; j++) {
            double acc = 0;
            for (size_t a = 0; a < F; a++)
                acc += x[a] * V[a * F + j];
            Pm[r * F + j] = acc;
            proj[j] += acc * (Y[r] - ym);
        }
    }
    double wmax = fmax(w[F - 1], 1e-12), best = INFINITY, lam = wmax;
    for (int gstep = 0; gstep <= 40; gstep++) {
        double l = wmax * pow(10, -8 + 0.25 * gstep), sse = 0;
        for (size_t r = 0; r < nr; r++) {
            double fit = 0, hii = 0;
            for (size_t j = 0; j < F; j++) {
                double dj = fmax(w[j], 0) + l;
                fit += Pm[r * F + j] * proj[j] / dj;
                hii += Pm[r * F + j] * Pm[r * F + j] / dj;
            }
            double res = (Y[r] - ym - fit) / fmax(1 - hii - 1.0 / (double)nr, 1e-6);
            sse += res * res;
        }
        if (sse < best)
            best = sse, lam = l;
    }
    /* beta_std = V diag(1 / (w + lam)) proj */
    for (size_t a = 0; a < F; a++) {
        double acc = 0;
        for (size_t j = 0; j < F; j++)
            acc += V[a * F + j] * proj[j] / (fmax(w[j], 0) + lam);
        beta[a] = acc;
    }
    /* back to the model: a_re Re s + a_im Im s = 2 Re(C s) with W = 1 */
    double b = ym;
    for (size_t c = 0; c < H; c++) {
        m->theta[OFF(m, c, 6) + 1] = c == 0 ? 1 : m->theta[OFF(m, c, 6) + 1];
        double Wc = m->theta[OFF(m, c, 6) + 1];
        for (size_t n = 0; n < M; n++) {
            size_t jr = c * 2 * M + 2 * n, ji = jr + 1;
            double are = beta[jr] / sd[jr], aim = beta[ji] / sd[ji];
            m->theta[OFF(m, c, 4) + n] = are / (2 * Wc);
            m->theta[OFF(m, c, 5) + n] = -aim / (2 * Wc);
            b -= are * mu[jr] + aim * mu[ji];
            /* penalty lam / n on the standardised coefficients */
            m->pen[OFF(m, c, 4) + n] = lam / (double)nr * 4 * Wc * Wc * sd[jr] * sd[jr];
            m->pen[OFF(m, c, 5) + n] = lam / (double)nr * 4 * Wc * Wc * sd[ji] * sd[ji];
        }
    }
    double aD = beta[F - 1] / sd[F - 1];
    b -= aD * mu[F - 1];
    m->theta[H * STRIDE(m)] = aD;
    m->theta[H * STRIDE(m) + 1] = b;
    m->pen[H * STRIDE(m)] = lam / (double)nr * sd[F - 1] * sd[F - 1];
out:
    free(X);
    free(Y);
    free(mu);
    free(sd);
    free(G);
    free(w);
    free(V);
    free(proj);
    free(Pm);
    free(beta);
    return rc;
}

/* ------------------------------------------------------------- Adam */

typedef struct adam {
    size_t P;
    double *mom, *v, *lr, b1t, b2t;
} adam;

static void adam_reset(adam *a)
{
    memset(a->mom, 0, a->P * sizeof *a->mom);
    memset(a->v, 0, a->P * sizeof *a->v);
    a->b1t = a->b2t = 1;
}

static void adam_step(adam *a, double *th, const double *g)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    a->b1t *= b1;
    a->b2t *= b2;
    for (size_t i = 0; i < a->P; i++) {
        if (a->lr[i] == 0)
            continue;
        a->mom[i] = b1 * a->mom[i] + (1 - b1) * g[i];
        a->v[i] = b2 * a->v[i] + (1 - b2) * g[i] * g[i];
        th[i] -= a->lr[i] * (a->mom[i] / (1 - a->b1t)) / (sqrt(a->v[i] / (1 - a->b2t)) + eps);
    }
}

int st_s4d_train(st_s4d_model *m, const st_s4d_series *s, size_t ns, double frac, int epochs,
                 int *used, st_err *e)
{
    int rc = ridge_start(m, s, ns, frac, e);
    if (rc < 0)
        return rc;
    if (used)
        *used = 0;
    if (epochs == 0)
        return 0;
    loss_ws L;
    if ((rc = loss_ws_init(&L, m, s, ns, e)) < 0)
        return rc;
    size_t P = m->P;
    int early = epochs < 0, nmax = early ? m->max_epochs : epochs;
    adam A = {P, calloc(P, sizeof(double)), calloc(P, sizeof(double)), calloc(P, sizeof(double)), 1, 1};
    double *g = calloc(P, sizeof *g), *start = malloc(P * sizeof *start);
    double *hv = malloc(((size_t)nmax + 1) * sizeof *hv), *hs = malloc(((size_t)nmax + 1) * sizeof *hs);
    if (!A.mom || !A.v || !A.lr || !g || !start || !hv || !hs) {
        rc = st_err_nomem(e, "s4d training");
        goto out;
    }
    /* learned: Delta, B, C (and W with several channels), D, b; A stays */
    for (int c = 0; c < m->H; c++) {
        for (size_t k = 2 * (size_t)m->M; k < 6 * (size_t)m->M; k++)
            A.lr[OFF(m, c, 0) + k] = 0.01;
        A.lr[OFF(m, c, 6)] = 0.002;
        if (m->H > 1)
            A.lr[OFF(m, c, 6) + 1] = 0.01;
    }
    A.lr[P - 2] = A.lr[P - 1] = 0.01;
    memcpy(start, m->theta, P * sizeof *start);
    int last = 0, argmin = 0;
    for (int ep = 0; ep <= nmax; ep++) {
        double val;
        double f = loss_eval(m, m->theta, s, ns, frac, &L, ep < nmax ? g : NULL, &val);
        if (!isfinite(f) || (early && !isfinite(val)))
            break; /* diverged: the epochs before count */
        last = ep;
        hv[ep] = val;
        hs[ep] = L.val_se;
        if (early) {
            if (hv[ep] < hv[argmin])
                argmin = ep;
            else if (ep - argmin >= m->patience)
                break;
        }
        if (ep < nmax)
            adam_step(&A, m->theta, g);
    }
    int E = last;
    if (early) {
        /* the one-standard-error rule: the fewest epochs whose validation
         * error is within one standard error of the best */
        double lim = hv[argmin] + (isfinite(hs[argmin]) ? hs[argmin] : 0);
        for (E = 0; E < argmin && !(hv[E] <= lim); E++)
            ;
    }
    if (E != last || last < nmax) {
        /* replay to epoch E (deterministic) */
        memcpy(m->theta, start, P * sizeof *start);
        adam_reset(&A);
        for (int ep = 0; ep < E; ep++) {
            loss_eval(m, m->theta, s, ns, frac, &L, g, NULL);
            adam_step(&A, m->theta, g);
        }
    }
    if (used)
        *used = E;
out:
    free(A.mom);
    free(A.v);
    free(A.lr);
    free(g);
    free(start);
    free(hv);
    free(hs);
    loss_ws_free(&L);
    return rc;
}

/* ---------------------------------------------------------- forecasts */

int st_s4d_predict(const st_s4d_model *m, const st_s4d_series *s, size_t upto, size_t h,
                   double *out, st_err *e)
{
    if (upto > s->n || upto < 2)
        return st_err_set(e, ST_EINTERNAL, NULL, 0, 0, "s4d: forecast origin %zu out of range", upto);
    size_t Tu = upto - 1; /* differences up to the origin */
    size_t H = (size_t)m->H, M = (size_t)m->M;
    const double *th = m->theta;
    const double D = th[H * STRIDE(m)], b = th[H * STRIDE(m) + 1];
    double complex *lam = malloc(H * M * sizeof *lam), *cc = malloc(H * M * sizeof *cc);
    double complex *bb = malloc(H * M * sizeof *bb), *st = calloc(H * M, sizeof *st);
    int rc = 0;
    if (!lam || !cc || !bb || !st) {
        rc = st_err_nomem(e, "s4d forecast");
        goto out;
    }
    for (size_t c = 0; c < H; c++) {
        modes(m, th, (int)c, lam + c * M, cc + c * M);
        const double dt = exp(th[OFF(m, c, 6)]);
        for (size_t n = 0; n < M; n++) {
            double complex A = -exp(th[OFF(m, c, 0) + n]) + I * th[OFF(m, c, 1) + n];
            double complex B = th[OFF(m, c, 2) + n] + I * th[OFF(m, c, 3) + n];
            bb[c * M + n] = (cexp(dt * A) - 1) / A * B;
        }
    }
    double pred = 0;
    for (size_t t = 0; t < Tu + h; t++) {
        double wt = t < Tu ? s->w[t] : pred;
        if (t >= Tu)
            out[t - Tu] = pred;
        pred = b + D * wt;
        for (size_t c = 0; c < H; c++) {
            double x = 0;
            for (size_t n = 0; n < M; n++) {
                size_t k = c * M + n;
                st[k] = lam[k] * st[k] + bb[k] * wt;
                double complex C = th[OFF(m, c, 4) + n] + I * th[OFF(m, c, 5) + n];
                x += 2 * creal(C * st[k]);
            }
            pred += th[OFF(m, c, 6) + 1] * x;
        }
    }
    /* undo the standardisation and the difference */
    double level = s->y[upto - 1];
    for (size_t k = 0; k < h; k++) {
        level += out[k] * s->sd + s->mu;
        out[k] = level;
        if (!isfinite(out[k])) {
            rc = st_err_set(e, ST_ENUMERIC, NULL, 0, 0, "s4d forecast %zu is not finite", k + 1);
            break;
        }
    }
out:
    free(lam);
    free(cc);
    free(bb);
    free(st);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int st_s4d_calibrate(const st_s4d_model *m, const st_s4d_series *s, size_t h, double *scale,
                     double *score, size_t *nscore, st_err *e)
{
    size_t n = s->n, o0 = train_end(s->T, 0.8) + 2;
    if (o0 >= n)
        o0 = n - 1;
    double *fc = malloc(h * sizeof *fc), *ss = calloc(h, sizeof *ss);
    size_t *cnt = calloc(h, sizeof *cnt), *hk = malloc((n * h + 1) * sizeof *hk);
    int rc = 0;
    *nscore = 0;
    if (!fc || !ss || !cnt || !hk) {
        rc = st_err_nomem(e, "s4d calibration");
        goto out;
    }
    size_t ne = 0;
    for (size_t o = o0; o < n; o++) {
        size_t hh = n - o < h ? n - o : h;
        if ((rc = st_s4d_predict(m, s, o, hh, fc, e)) < 0)
            goto out;
        for (size_t k = 0; k < hh; k++) {
            double r = s->y[o + k] - fc[k];
            ss[k] += r * r;
            cnt[k]++;
            score[ne] = fabs(r);
            hk[ne++] = k;
        }
    }
    /* scales: RMS by horizon, extended by sqrt(k) where no error exists,
     * non-decreasing */
    size_t klast = 0;
    for (size_t k = 0; k < h; k++) {
        if (cnt[k]) {
            scale[k] = sqrt(ss[k] / (double)cnt[k]);
            klast = k;
        } else
            scale[k] = cnt[klast] ? sqrt(ss[klast] / (double)cnt[klast]) * sqrt((double)(k + 1) / (double)(klast + 1)) : 1;
        if (!(scale[k] > 0))
            scale[k] = k ? scale[k - 1] : 1e-300;
        if (k && scale[k] < scale[k - 1])
            scale[k] = scale[k - 1];
    }
    for (size_t i = 0; i < ne; i++)
        score[i] /= scale[hk[i]];
    qsort(score, ne, sizeof *score, cmp_double);
    *nscore = ne;
out:
    free(fc);
    free(ss);
    free(cnt);
    free(hk);
    return rc;
}

void st_s4d_bounds(const double *mean, const double *scale, size_t h, const double *score,
                   size_t nscore, const double *levels, size_t nlevels, double *lo, double *hi)
{
    for (size_t l = 0; l < nlevels; l++) {
        double q;
        if (nscore == 0)
            q = 0;
        else {
            size_t r = (size_t)ceil(((double)nscore + 1) * levels[l] / 100);
            q = score[(r > nscore ? nscore : r) - 1];
        }
        for (size_t k = 0; k < h; k++) {
            lo[k * nlevels + l] = mean[k] - q * scale[k];
            hi[k * nlevels + l] = mean[k] + q * scale[k];
        }
    }
}

/* S4D forecaster: one layer of diagonal state-space convolutions (Gu et
 * al. 2022, "On the parameterization and initialization of diagonal
 * state space models") read out linearly as a one-step predictor, run
 * recursively for forecasts.
 *
 * Input: the first differences of the series on the model scale (gaps
 * filled by linear interpolation), standardised: w_t = (y_{t+1} - y_t -
 * mean) / sd, t < T = n - 1; forecasts of w are summed back onto the
 * last value (a unit root, as in ARIMA(p,1,q)).
 *
 * Model.  H channels (default 1); channel c has M = ceil(N/2) complex
 * modes A_n = -exp(alpha_n) + i omega_n, a step Delta_c = exp(delta_c),
 * B_n and C_n (complex); zero-order hold:
 *     lambda_n = exp(Delta A_n),  Bbar_n = (lambda_n - 1) / A_n B_n,
 *     K_c[l] = 2 Re sum_n C_n Bbar_n lambda_n^l   (a Vandermonde product, O(N T))
 *     x_c = K_c * w                              (causal convolution by FFT, FFTW)
 *     w^_{t+1} = b + D w_t + sum_c W_c x_c[t].
 * S4D-Lin starts from A_n = -1/2 + i pi n, S4D-Inv from A_n = -1/2 +
 * i N/pi (N/(2n+1) - 1); Delta = 0.2 (a memory of 1/(0.5 Delta) = 10
 * steps; further channels halve it), B = 1, W = 1.
 * A stays at its initialisation; Delta, B, C, D, b are learned (W is
 * redundant with C for one channel and stays 1 there).
 *
 * Training.  The readout (C, D, b) starts from its ridge solution at the
 * initial Delta and B (the model is linear in them): features Re and Im
 * of the mode states and w_t, standardised, the penalty chosen by
 * leave-one-out error.  Adam (learning rate 0.01, 0.002 for Delta) then
 * minimises the same penalised mean squared one-step error with the
 * exact gradient (backpropagation through the readout, the FFT
 * convolution -- a cross-correlation, again by FFT -- and the Vandermonde
 * kernel).  Early stopping: a first model learns from the first 80 % of
 * the targets; its one-step error on the last 20 % is tracked (patience
 * 100, at most 1000 epochs) and the fewest epochs within one standard
 * error of the best are kept (the one-standard-error rule, so the ridge
 * start, epoch 0, stays unless Adam clearly improves on it); the final
 * model learns from all targets for that many epochs.
 *
 * Forecasts: the recurrence s_n <- lambda_n s_n + Bbar_n w over the data,
 * then h steps feeding each prediction back.  Intervals (split
 * conformal on rolling origins): the first model forecasts h steps from
 * every origin in the last 20 % of the data; the errors e_k at horizon k
 * give the scale s_k (root mean square, non-decreasing in k) and the
 * interval at level L is mean_k -+ q s_k, q the ceil((m+1) L)-th smallest
 * of the m scores |e_k| / s_k (the largest if m is too small).
 *
 * A model can learn from one series or from many at once (a global
 * model: the same parameters for all, each series standardised on its
 * own).
 *
 * Ownership: st_s4d_model_new/free, st_s4d_series_init/free. */
#ifndef ST_SSM_S4D_H
#define ST_SSM_S4D_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define ST_S4D_MAXN 256

typedef struct st_s4d_opts {
    int N;           /* state size per channel, 1..256 (ceil(N/2) complex modes) */
    int H;           /* channels (0: 1) */
    int inv;         /* S4D-Inv instead of S4D-Lin */
    int max_epochs;  /* 0: 1000 */
    int patience;    /* 0: 100 */
} st_s4d_opts;

/* A series prepared for the model. */
typedef struct st_s4d_series {
    size_t n;        /* points (model scale) */
    double *y;       /* n values, gaps filled */
    size_t T;        /* n - 1 */
    double *w;       /* T standardised first differences */
    double mu, sd;
} st_s4d_series;

/* Prepare y[0..n-1] (NaN: missing).  ST_EDATA if shorter than 16 points
 * or constant. */
int st_s4d_series_init(st_s4d_series *s, const double *y, size_t n, st_err *e);
void st_s4d_series_free(st_s4d_series *s);

typedef struct st_s4d_model st_s4d_model;

int st_s4d_model_new(st_s4d_model **m, const st_s4d_opts *o, st_err *e);
void st_s4d_model_free(st_s4d_model *m);
/* Parameters (flat, in the layout of s4d.c) and their count. */
size_t st_s4d_nparams(const st_s4d_model *m);
double *st_s4d_params(st_s4d_model *m);

/* Loss (mean squared one-step error of w plus the ridge penalty set by
 * training, 0 before) over the targets t + 1 < frac n of each series,
 * and its gradient (grad may be NULL); *val gets the mean squared error
 * over the other targets (NaN if none). */
double st_s4d_loss(const st_s4d_model *m, const st_s4d_series *s, size_t ns, double frac,
                   double *grad, double *val, st_err *e);

/* Train: the ridge start on frac of the targets, then epochs > 0 Adam
 * steps exactly, or (epochs < 0) early stopping on the validation
 * targets (frac < 1) keeping the best parameters.  *used: the epochs of
 * the kept parameters. */
int st_s4d_train(st_s4d_model *m, const st_s4d_series *s, size_t ns, double frac, int epochs,
                 int *used, st_err *e);

/* Forecast h values (model scale) after the first upto points of s. */
int st_s4d_predict(const st_s4d_model *m, const st_s4d_series *s, size_t upto, size_t h,
                   double *out, st_err *e);

/* The interval scales and scores from a model trained on the first 80 %:
 * scale[k] (k < h) and the m scores in score[] (sorted; at most n * h
 * of them), *m their count. */
int st_s4d_calibrate(const st_s4d_model *m, const st_s4d_series *s, size_t h, double *scale,
                     double *score, size_t *nscore, st_err *e);

/* Conformal bounds from calibrate's output for levels in percent. */
void st_s4d_bounds(const double *mean, const double *scale, size_t h, const double *score,
                   size_t nscore, const double *levels, size_t nlevels, double *lo, double *hi);

#endif

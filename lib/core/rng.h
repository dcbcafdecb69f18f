/* Random numbers: xoshiro256++ (Blackman & Vigna) seeded by SplitMix64,
 * with jump() (2^128 steps) to give independent streams, and the samplers
 * the families need.
 *
 * Streams: st_rng_stream(&r, seed, k) is the k-th independent stream of a
 * seed -- use one per sequence, series, particle block or thread so that
 * results never depend on the thread count.  A st_rng is a plain value:
 * copy it freely; no allocation.
 *
 * Vector samplers: st_rng_normal_fill and st_rng_uniform_fill draw from
 * ST_RNG_LANES = 8 further xoshiro256++ generators run side by side in
 * SIMD lanes (vmath.h's path).  At their first use they are derived from
 * the scalar state s by jumps of 2^191 (lane j at s + (j+1) 2^191), so no
 * lane overlaps another lane, the scalar stream or another stream k <
 * 2^63 of the same seed; the scalar stream continues unchanged.  Output k
 * of a call comes from lane k mod 8, which does not depend on the vector
 * width: the same seed gives the same bytes on every SIMD path. */
#ifndef ST_CORE_RNG_H
#define ST_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define ST_RNG_LANES 8

typedef struct st_rng {
    uint64_t s[4];
    uint64_t lane[4][ST_RNG_LANES]; /* lane j's state: lane[0..3][j] */
    int has_lanes;                  /* 0 until the first vector draw (seed and jump reset it) */
} st_rng;

/* Seed the generator from one 64-bit seed (stream 0). */
void st_rng_seed(st_rng *r, uint64_t seed);
/* Stream k of seed: the state of stream 0 advanced by k jumps of 2^128
 * draws, so streams never overlap.  Uses precomputed jump polynomials for
 * 2^(128+j) draws: one jump (about 1 microsecond) per set bit of k, at
 * most 64.  For many consecutive streams st_rng_streams_fill (one jump
 * each) is still cheaper. */
void st_rng_stream(st_rng *r, uint64_t seed, uint64_t k);
/* Advance by 2^128 draws. */
void st_rng_jump(st_rng *r);
/* Streams k0, k0+1, ..., k0+count-1 of seed into out[0..count-1]: one
 * st_rng_stream then one jump per further stream; out[i] equals
 * st_rng_stream(seed, k0 + i). */
void st_rng_streams_fill(st_rng *out, uint64_t seed, uint64_t k0, size_t count);

uint64_t st_rng_u64(st_rng *r);
/* Uniform on [0,1) with 53 random bits; st_rng_uniform_pos on (0,1). */
double st_rng_uniform(st_rng *r);
double st_rng_uniform_pos(st_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire). n >= 1. */
uint64_t st_rng_below(st_rng *r, uint64_t n);

double st_rng_normal(st_rng *r);                    /* N(0,1) */
/* n draws of N(0,1) into z, n of U(0,1) (open: k/2^52 + 2^-53) into u,
 * from the vector lanes: each call advances every lane by ceil(n / 8)
 * draws (more where the normal's ziggurat rejects), so split calls give
 * other numbers than one call of the same total length.  The normal is
 * exact (the 256-layer ziggurat of st_rng_normal, lane by lane). */
void st_rng_normal_fill(st_rng *r, double *z, size_t n);
void st_rng_uniform_fill(st_rng *r, double *u, size_t n);
double st_rng_exponential(st_rng *r);               /* Exp(1) */
double st_rng_gamma(st_rng *r, double shape);       /* Gamma(shape, 1), shape > 0 */
double st_rng_beta(st_rng *r, double a, double b);  /* a, b > 0 */
uint64_t st_rng_poisson(st_rng *r, double lambda);  /* lambda >= 0 */
uint64_t st_rng_binomial(st_rng *r, uint64_t n, double p);
/* Negative binomial: number of failures before r successes (Gamma-Poisson). */
uint64_t st_rng_negbinomial(st_rng *r, double size, double p);
double st_rng_student_t(st_rng *r, double nu);
/* Dirichlet(alpha[0..k-1]) into out[0..k-1]. */
void st_rng_dirichlet(st_rng *r, const double *alpha, size_t k, double *out);
/* Index i with probability p[i] / sum(p) by inversion (O(k)); p >= 0. */
size_t st_rng_categorical(st_rng *r, const double *p, size_t k);
/* Multinomial(n, p[0..k-1] / sum(p)) counts into out[0..k-1], by
 * conditional binomials (O(k) whatever n). */
void st_rng_multinomial(st_rng *r, uint64_t n, const double *p, size_t k, uint64_t *out);

/* Walker/Vose alias table for O(1) categorical draws from a fixed p. */
typedef struct st_alias {
    size_t k;
    double *prob;
    size_t *alias;
} st_alias;
/* Build from weights p[0..k-1] (non-negative, positive sum). */
int st_alias_new(st_alias **a, const double *p, size_t k, st_err *e);
size_t st_alias_draw(const st_alias *a, st_rng *r);
void st_alias_free(st_alias *a);

#endif

/* xoshiro256++ (Blackman & Vigna 2019) seeded by SplitMix64, with jumps of
 * 2^128 for independent streams, and the samplers of rng.h.  Everything is
 * a pure function of the st_rng state: no globals, so any number of threads
 * may each use their own generator. */
#include "core/rng.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng_jumps.h"
#include "core/rng_ziggurat.h"
#include "core/simd.h"

/* ---- generator ---- */

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t next(st_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[0] + s[3], 23) + s[0];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void st_rng_seed(st_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    /* SplitMix64 is a bijection of its counter, so the four words cannot all
     * be zero; keep the guard anyway since a zero state is a fixed point. */
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1;
    r->has_lanes = 0;
}

/* state <- J(M) state for a jump polynomial J (bit i = coefficient of x^i),
 * as in the reference jump(): sum of the states after i steps over the
 * set bits i. */
static void jump_state(uint64_t st[4], const uint64_t poly[4])
{
    st_rng tmp;
    memcpy(tmp.s, st, sizeof tmp.s);
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 64; b++) {
            if (poly[i] & (UINT64_C(1) << b)) {
                s0 ^= tmp.s[0];
                s1 ^= tmp.s[1];
                s2 ^= tmp.s[2];
                s3 ^= tmp.s[3];
            }
            (void)next(&tmp);
        }
    st[0] = s0;
    st[1] = s1;
    st[2] = s2;
    st[3] = s3;
}

static void jump_poly(st_rng *r, const uint64_t poly[4])
{
    jump_state(r->s, poly);
    r->has_lanes = 0;
}

void st_rng_jump(st_rng *r)
{
    jump_poly(r, rng_jump_poly[0]); /* the published JUMP constants */
}

void st_rng_stream(st_rng *r, uint64_t seed, uint64_t k)
{
    /* k jumps = one jump of 2^(128+j) steps per set bit j of k (jumps
     * commute), so any stream costs at most 64 jumps. */
    st_rng_seed(r, seed);
    for (int j = 0; j < 64; j++)
        if (k >> j & 1)
            jump_poly(r, rng_jump_poly[j]);
}

void st_rng_streams_fill(st_rng *out, uint64_t seed, uint64_t k0, size_t count)
{
    if (count == 0)
        return;
    st_rng_stream(&out[0], seed, k0);
    for (size_t i = 1; i < count; i++) {
        out[i] = out[i - 1];
        st_rng_jump(&out[i]);
    }
}

uint64_t st_rng_u64(st_rng *r)
{
    return next(r);
}

double st_rng_uniform(st_rng *r)
{
    return (double)(next(r) >> 11) * 0x1.0p-53;
}

double st_rng_uniform_pos(st_rng *r)
{
    /* 52 bits plus a half: the grid k/2^52 + 2^-53, symmetric in (0,1). */
    return ((double)(next(r) >> 12) + 0.5) * 0x1.0p-52;
}

uint64_t st_rng_below(st_rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
#ifdef __SIZEOF_INT128__
    /* Lemire (2019), "Fast random integer generation in an interval". */
    unsigned __int128 m = (unsigned __int128)next(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        const uint64_t threshold = (0 - n) % n; /* 2^64 mod n */
        while (lo < threshold) {
            m = (unsigned __int128)next(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
#else
    /* Rejection on the largest multiple of n below 2^64. */
    const uint64_t threshold = (0 - n) % n;
    uint64_t x;
    do
        x = next(r);
    while (x < threshold);
    return x % n;
#endif
}

/* ---- continuous samplers ---- */

static inline double normal_density(double x)
{
    return exp(-0.5 * x * x);
}

/* Ziggurat with 256 layers (Marsaglia & Tsang 2000) in the form of Doornik
 * (2005): the layer index and the signed abscissa come from independent
 * bits of one 64-bit draw, so the fast path (about 99% of draws) costs one
 * draw, one multiply and one compare. */
double st_rng_normal(st_rng *r)
{
    for (;;) {
        const uint64_t bits = next(r);
        const int i = (int)(bits & 0xff);
        const double u = (double)(bits >> 11) * 0x1.0p-52 - 1.0; /* [-1, 1) */
        const double x = u * zig_x[i];
        if (fabs(x) < zig_x[i + 1])
            return x;
        if (i == 0) {
            /* Tail beyond R (Marsaglia 1964). */
            double t, y;
            do {
                t = -log(st_rng_uniform_pos(r)) / ZIG_R;
                y = -log(st_rng_uniform_pos(r));
            } while (y + y < t * t);
            return u < 0 ? -(ZIG_R + t) : ZIG_R + t;
        }
        if (zig_f[i] + (zig_f[i + 1] - zig_f[i]) * st_rng_uniform(r) < normal_density(x))
            return x;
    }
}

/* ---- vector samplers (lanes) ---- */

/* Lane j = the scalar state advanced by (j + 1) jumps of 2^191. */
static void lanes_init(st_rng *r)
{
    uint64_t st[4];
    memcpy(st, r->s, sizeof st);
    for (int j = 0; j < ST_RNG_LANES; j++) {
        jump_state(st, rng_jump_poly[63]);
        for (int w = 0; w < 4; w++)
            r->lane[w][j] = st[w];
    }
    r->has_lanes = 1;
}

void st_rng_normal_fill(st_rng *r, double *z, size_t n)
{
    if (!r->has_lanes)
        lanes_init(r);
    st_simd_ops_get()->normal_fill(r->lane, z, n);
}

void st_rng_uniform_fill(st_rng *r, double *u, size_t n)
{
    if (!r->has_lanes)
        lanes_init(r);
    st_simd_ops_get()->uniform_fill(r->lane, u, n);
}

double st_rng_exponential(st_rng *r)
{
    return -log(st_rng_uniform_pos(r));
}

/* Marsaglia & Tsang (2000) for shape >= 1. */
static double gamma_mt(st_rng *r, double shape)
{
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = st_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        const double u = st_rng_uniform_pos(r);
        const double x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2)
            return d * v;
        if (log(u) < 0.5 * x2 + d * (1.0 - v + log(v)))
            return d * v;
    }
}

/* log of a Gamma(shape, 1) deviate; stays finite for tiny shapes, where the
 * deviate itself underflows (shape < 1: Gamma(shape+1) * U^(1/shape)). */
static double log_gamma_deviate(st_rng *r, double shape)
{
    if (shape >= 1.0)
        return log(gamma_mt(r, shape));
    return log(gamma_mt(r, shape + 1.0)) + log(st_rng_uniform_pos(r)) / shape;
}

double st_rng_gamma(st_rng *r, double shape)
{
    if (!(shape > 0.0))
        return NAN;
    if (shape >= 1.0)
        return gamma_mt(r, shape);
    return exp(log_gamma_deviate(r, shape));
}

double st_rng_beta(st_rng *r, double a, double b)
{
    if (!(a > 0.0) || !(b > 0.0))
        return NAN;
    if (a >= 1.0 && b >= 1.0) {
        const double x = gamma_mt(r, a), y = gamma_mt(r, b);
        return x / (x + y);
    }
    /* Small shapes: work with logs so that X/(X+Y) is never 0/0. */
    const double lx = log_gamma_deviate(r, a), ly = log_gamma_deviate(r, b);
    if (lx >= ly)
        return 1.0 / (1.0 + exp(ly - lx));
    const double t = exp(lx - ly);
    return t / (1.0 + t);
}

double st_rng_student_t(st_rng *r, double nu)
{
    if (!(nu > 0.0))
        return NAN;
    const double z = st_rng_normal(r);
    const double chi2 = 2.0 * st_rng_gamma(r, 0.5 * nu);
    return z / sqrt(chi2 / nu);
}

void st_rng_dirichlet(st_rng *r, const double *alpha, size_t k, double *out)
{
    if (k == 0)
        return;
    double mx = -INFINITY;
    for (size_t i = 0; i < k; i++) {
        out[i] = log_gamma_deviate(r, alpha[i]);
        if (out[i] > mx)
            mx = out[i];
    }
    double sum = 0.0;
    for (size_t i = 0; i < k; i++) {
        out[i] = exp(out[i] - mx);
        sum += out[i];
    }
    for (size_t i = 0; i < k; i++)
        out[i] /= sum;
}

/* ---- discrete samplers ---- */

/* Log-probabilities for the rejection steps, in Loader's (2000) saddle-point
 * form ("Fast and accurate computation of binomial probabilities"): every
 * term is O(1) or O(deviation), so they keep their precision for means up
 * to 2^62 where log k! differences would cancel catastrophically. */

#define TWO_PI 6.28318530717958647692

/* stirlerr(n) = log n! - [(n + 1/2) log n - n + log sqrt(2 pi)], n >= 1. */
static double stirlerr(double n)
{
    static const double lfact[32] = {
        0x0.0p+0, 0x0.0p+0, 0x1.62e42fefa39efp-1, 0x1.cab0bfa2a2002p+0,
        0x1.96ca77c922cf9p+1, 0x1.326643c4479c9p+2, 0x1.a51273acf01cap+2, 0x1.10ce1f32dcc30p+3,
        0x1.5358e82fcb70dp+3, 0x1.99a8921a7f7cfp+3, 0x1.e357590954d15p+3, 0x1.180973f3a8d74p+4,
        0x1.3fcba16d50143p+4, 0x1.68d5a9c3b32cep+4, 0x1.930f3df162a42p+4, 0x1.be636a63fd346p+4,
        0x1.eabff061f1a84p+4, 0x1.0c0a63f2f353ap+5, 0x1.2329df2d5ee52p+5, 0x1.3ab8153363985p+5,
        0x1.52af57aed77bep+5, 0x1.6b0a8643472a9p+5, 0x1.83c4faba84f06p+5, 0x1.9cda78b856a45p+5,
        0x1.b6472034e8d14p+5, 0x1.d007622cd65e7p+5, 0x1.ea17f717c6794p+5, 0x1.023aeb67e4fefp+6,
        0x1.0f8f18d330240p+6, 0x1.1d07353917231p+6, 0x1.2aa208b59d0e5p+6, 0x1.385e6fd9e5a40p+6,
    }; /* log k!, k = 0..31, from mpmath */
    const double ln_sqrt_2pi = 0.91893853320467274178;
    if (n < 32.0)
        return lfact[(int)n] - ((n + 0.5) * log(n) - n + ln_sqrt_2pi);
    const double nn = n * n;
    /* 1/(12n) - 1/(360n^3) + 1/(1260n^5) - 1/(1680n^7) */
    return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * nn)) / nn) / nn) / n;
}

/* bd0(x, m) = x log(x/m) + m - x, the deviance term, stable near x = m. */
static double bd0(double x, double m)
{
    if (fabs(x - m) < 0.1 * (x + m)) {
        double v = (x - m) / (x + m), s = (x - m) * v, ej = 2.0 * x * v;
        v *= v;
        for (int j = 1; j < 1000; j++) {
            ej *= v;
            const double s1 = s + ej / (2 * j + 1);
            if (s1 == s)
                return s1;
            s = s1;
        }
    }
    return x * log(x / m) + m - x;
}

/* log P(K = k) for K ~ Poisson(lambda), lambda > 0. */
static double poisson_logpmf(double k, double lambda)
{
    if (k == 0.0)
        return -lambda;
    return -stirlerr(k) - bd0(k, lambda) - 0.5 * log(TWO_PI * k);
}

/* log P(K = k) for K ~ Binomial(n, p), 0 < p < 1, q = 1 - p. */
static double binomial_logpmf(double k, double n, double p, double q)
{
    if (k == 0.0)
        return n * log1p(-p);
    if (k == n)
        return n * log(p);
    const double lc =
        stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(k, n * p) - bd0(n - k, n * q);
    const double lf = log(TWO_PI) + log(k) + log1p(-k / n);
    return lc - 0.5 * lf;
}

/* Largest value a uint64_t sampler returns; means beyond 2^62 are clamped. */
#define DISCRETE_MAX 4.6116860184273879e18 /* 2^62 */

uint64_t st_rng_poisson(st_rng *r, double lambda)
{
    if (!(lambda > 0.0))
        return 0;
    if (lambda > DISCRETE_MAX)
        lambda = DISCRETE_MAX;
    if (lambda < 10.0) {
        /* Inversion by sequential search from 0: O(lambda). */
        double p = exp(-lambda), u = st_rng_uniform(r);
        uint64_t k = 0;
        while (u > p) {
            u -= p;
            k++;
            p *= lambda / (double)k;
            if (p < DBL_MIN && k > lambda) /* round-off left u > 0 */
                return st_rng_poisson(r, lambda);
        }
        return k;
    }
    /* PTRS: transformed rejection with squeeze (Hoermann 1993). */
    const double slam = sqrt(lambda);
    const double b = 0.931 + 2.53 * slam;
    const double a = -0.059 + 0.02483 * b;
    const double invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const double vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
        const double u = st_rng_uniform(r) - 0.5;
        const double v = st_rng_uniform_pos(r);
        const double us = 0.5 - fabs(u);
        const double k = floor((2.0 * a / us + b) * u + lambda + 0.43);
        if (us >= 0.07 && v <= vr)
            return (uint64_t)k;
        if (k < 0.0 || (us < 0.013 && v > us))
            continue;
        if (log(v) + log(invalpha) - log(a / (us * us) + b) <= poisson_logpmf(k, lambda))
            return (uint64_t)k;
    }
}

/* Binomial for p <= 1/2 and n*p < 10: inversion by sequential search. */
static uint64_t binomial_inversion(st_rng *r, uint64_t n, double p)
{
    const double q = 1.0 - p, s = p / q, a = ((double)n + 1.0) * s;
    const double p0 = exp((double)n * log1p(-p));
    for (;;) {
        double u = st_rng_uniform(r), pk = p0;
        uint64_t k = 0;
        for (;;) {
            if (u < pk)
                return k;
            u -= pk;
            k++;
            if (k > n)
                break; /* round-off: start again */
            pk *= a / (double)k - s;
        }
    }
}

/* BTRS: transformed rejection with squeeze (Hoermann 1993), p <= 1/2 and
 * n*p >= 10.  The acceptance test compares with log f(k) - log f(m) in
 * Loader's form, which stays accurate for any n. */
static uint64_t binomial_btrs(st_rng *r, uint64_t n, double p)
{
    const double nd = (double)n, q = 1.0 - p;
    const double spq = sqrt(nd * p * q);
    const double b = 1.15 + 2.53 * spq;
    const double a = -0.0873 + 0.0248 * b + 0.01 * p;
    const double c = nd * p + 0.5;
    const double vr = 0.92 - 4.2 / b;
    const double alpha = (2.83 + 5.1 / b) * spq;
    const double m = floor((nd + 1.0) * p);
    const double logf_m = binomial_logpmf(m, nd, p, q);
    for (;;) {
        const double u = st_rng_uniform(r) - 0.5;
        double v = st_rng_uniform_pos(r);
        const double us = 0.5 - fabs(u);
        const double k = floor((2.0 * a / us + b) * u + c);
        if (k < 0.0 || k > nd)
            continue;
        if (us >= 0.07 && v <= vr)
            return (uint64_t)k;
        v = log(v * alpha / (a / (us * us) + b));
        if (v <= binomial_logpmf(k, nd, p, q) - logf_m)
            return (uint64_t)k;
    }
}

uint64_t st_rng_binomial(st_rng *r, uint64_t n, double p)
{
    if (n == 0 || !(p > 0.0))
        return 0;
    if (p >= 1.0)
        return n;
    const int flip = p > 0.5;
    const double pp = flip ? 1.0 - p : p;
    const uint64_t k =
        (double)n * pp < 10.0 ? binomial_inversion(r, n, pp) : binomial_btrs(r, n, pp);
    return flip ? n - k : k;
}

uint64_t st_rng_negbinomial(st_rng *r, double size, double p)
{
    if (!(p < 1.0) || !(size > 0.0))
        return 0;
    if (!(p > 0.0))
        return (uint64_t)DISCRETE_MAX;
    return st_rng_poisson(r, st_rng_gamma(r, size) * (1.0 - p) / p);
}

size_t st_rng_categorical(st_rng *r, const double *p, size_t k)
{
    double sum = 0.0;
    size_t last = 0;
    for (size_t i = 0; i < k; i++)
        if (p[i] > 0.0) {
            sum += p[i];
            last = i;
        }
    double u = st_rng_uniform(r) * sum;
    for (size_t i = 0; i < last; i++) {
        if (p[i] > 0.0) {
            if (u < p[i])
                return i;
            u -= p[i];
        }
    }
    return last; /* also absorbs round-off in the running subtraction */
}

/* ---- alias table (Vose 1991) ---- */

int st_alias_new(st_alias **out, const double *p, size_t k, st_err *e)
{
    *out = NULL;
    if (k == 0)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "alias table: no categories");
    double sum = 0.0;
    for (size_t i = 0; i < k; i++) {
        if (!(p[i] >= 0.0) || !isfinite(p[i]))
            return st_err_set(e, ST_EDATA, NULL, 0, 0,
                              "alias table: weight %zu is %g (must be finite and >= 0)", i, p[i]);
        sum += p[i];
    }
    if (!(sum > 0.0) || !isfinite(sum))
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "alias table: weights sum to %g", sum);

    st_alias *a = malloc(sizeof *a);
    size_t *work = malloc(k * sizeof *work);
    if (a) {
        a->k = k;
        a->prob = malloc(k * sizeof *a->prob);
        a->alias = malloc(k * sizeof *a->alias);
    }
    if (!a || !work || !a->prob || !a->alias) {
        st_alias_free(a);
        free(work);
        return st_err_nomem(e, "alias table");
    }
    /* Scaled weights k*p/sum; "small" (< 1) indices fill work from the
     * front, "large" ones from the back. */
    size_t ns = 0, nl = k;
    for (size_t i = 0; i < k; i++) {
        a->prob[i] = p[i] * (double)k / sum;
        a->alias[i] = i;
        if (a->prob[i] < 1.0)
            work[ns++] = i;
        else
            work[--nl] = i;
    }
    while (ns > 0 && nl < k) {
        const size_t s = work[--ns], l = work[nl];
        a->alias[s] = l;
        a->prob[l] -= 1.0 - a->prob[s];
        if (a->prob[l] < 1.0) {
            nl++;
            work[ns++] = l;
        }
    }
    /* What remains on either list is 1 up to round-off. */
    while (ns > 0)
        a->prob[work[--ns]] = 1.0;
    while (nl < k)
        a->prob[work[nl++]] = 1.0;
    free(work);
    *out = a;
    return 0;
}

size_t st_alias_draw(const st_alias *a, st_rng *r)
{
    const size_t i = (size_t)st_rng_below(r, a->k);
    return st_rng_uniform(r) < a->prob[i] ? i : a->alias[i];
}

void st_alias_free(st_alias *a)
{
    if (!a)
        return;
    free(a->prob);
    free(a->alias);
    free(a);
}

void st_rng_multinomial(st_rng *r, uint64_t n, const double *p, size_t k, uint64_t *out)
{
    double rest = 0.0;
    size_t last = 0;
    for (size_t i = 0; i < k; i++) {
        out[i] = 0;
        if (p[i] > 0.0) {
            rest += p[i];
            last = i;
        }
    }
    if (!(rest > 0.0))
        return;
    for (size_t i = 0; i < last && n > 0; i++) {
        if (!(p[i] > 0.0))
            continue;
        out[i] = st_rng_binomial(r, n, p[i] / rest);
        n -= out[i];
        rest -= p[i];
    }
    out[last] += n; /* the last category takes what is left, exactly */
}

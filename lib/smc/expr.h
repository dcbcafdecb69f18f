/* Model expressions: a small arithmetic language compiled once into a
 * postfix bytecode and evaluated over blocks of particles.
 *
 * Grammar (lowest precedence first): `c ? a : b`, `||`, `&&`, comparisons
 * (< <= > >= == !=), + -, * /, unary - + !, power (^ or **, right
 * associative, binds tighter than unary minus: -x^2 = -(x^2)), then
 * numbers, names, calls and parentheses.  Names: x[i] (state component i,
 * 0-based; bare `x` when the state has one component), t, covariates,
 * parameters (folded into constants) and pi.  Functions: exp log log1p
 * expm1 sqrt pow sin cos tan atan2 abs min max logistic floor if(c,a,b).
 * Booleans are 1 and 0.
 *
 * Ownership: st_expr_compile/st_expr_free; the program keeps no pointer
 * into the text or the environment. */
#ifndef ST_SMC_EXPR_H
#define ST_SMC_EXPR_H

#include <stddef.h>

#include "core/err.h"

/* Particles per evaluation block. */
#define ST_EXPR_BLOCK 256
/* Deepest evaluation stack a program may need. */
#define ST_EXPR_MAXSTACK 32

/* What names an expression may use. */
typedef struct st_expr_env {
    size_t nx;                    /* state components; 0: x is not available */
    const char *xwhat;            /* how x is described in messages ("previous state") */
    int allow_t;                  /* t is available */
    const char *const *cov_names; /* covariate names, ncov of them */
    size_t ncov;
    const char *const *par_names; /* parameter names and values, folded as constants */
    const double *par_values;
    size_t npar;
} st_expr_env;

/* Where the text came from, for messages: the file, and the line and column
 * of the text's first character. */
typedef struct st_expr_src {
    const char *file;
    long line;
    long col;
} st_expr_src;

typedef struct st_expr st_expr;

/* Compile text.  A syntax error, an unknown name or a bad call is ST_EDATA
 * located at the offending character. */
int st_expr_compile(st_expr **out, const char *text, const st_expr_env *env,
                    const st_expr_src *src, st_err *e);
void st_expr_free(st_expr *p);

/* The source text (for messages). */
const char *st_expr_text(const st_expr *p);
/* 1 if the value differs between particles (depends on x). */
int st_expr_varies(const st_expr *p);
/* 1 (and *value) if the expression folded to a constant. */
int st_expr_constant(const st_expr *p, double *value);

/* Inputs of one evaluation: component i of particle p is x[i * xstride + p];
 * cov[j] is covariate j at the current time. */
typedef struct st_expr_args {
    const double *x;
    size_t xstride;
    double t;
    const double *cov;
} st_expr_args;

/* Scratch space for one thread. */
typedef struct st_expr_work {
    double buf[ST_EXPR_MAXSTACK][ST_EXPR_BLOCK];
} st_expr_work;

/* Evaluate for particles 0..n-1 (n <= ST_EXPR_BLOCK) into out[0..n-1].
 * Returns 1 if the value is the same for every particle (then only out[0]
 * is written), 0 otherwise. */
int st_expr_eval(const st_expr *p, const st_expr_args *a, size_t n, double *out, st_expr_work *w);
/* Evaluate an expression that does not vary (no x): one value. */
double st_expr_eval1(const st_expr *p, double t, const double *cov);

#endif

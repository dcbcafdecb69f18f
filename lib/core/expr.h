/* The toolkit's one expression language (stoch-model(5)): arithmetic over
 * numbers, named variables and named parameters, compiled once into a
 * postfix bytecode and evaluated over blocks of up to ST_EXPR_BLOCK values
 * (particles), optionally with exact forward-mode derivatives with respect
 * to the parameters, computed in the same pass over the same bytecode.
 *
 * Grammar (lowest precedence first): `c ? a : b` (right nested), `||`,
 * `&&`, comparisons (< <= > >= == !=), + -, * /, unary - + !, power (^ or
 * **, right associative, binds tighter than unary minus: -x^2 = -(x^2),
 * 2^-1 = 0.5), then numbers, names, name[i], calls and parentheses.
 * Numbers are decimal only: digits, an optional fraction and exponent (3,
 * .5, 2., 1e-3); hexadecimal, infinities and NaN are errors.  Functions:
 * exp log log1p expm1 sqrt pow sin cos tan atan2 abs min max logistic floor
 * if(c, a, b); the constant pi.  Booleans are 1 and 0; both branches of a
 * select are evaluated.
 *
 * Names are declared by the caller (st_expr_env): variables, read from
 * input slots at evaluation (one value per particle or one per call), and
 * parameters, either folded into constants or kept live (read from
 * args->par, so the program can be evaluated at new parameter values and
 * differentiated).  Derivatives: d/dpar of a comparison, of floor and of
 * the condition of a select are 0; abs'(0) = 0; min/max on a tie follow
 * the first argument.
 *
 * Limits: text at most ST_EXPR_MAXLEN bytes, nesting (parentheses, unary
 * operators, calls, selects) at most ST_EXPR_MAXNEST levels, evaluation
 * stack at most ST_EXPR_MAXSTACK, at most ST_EXPR_MAXDERIV parameters
 * differentiated in one expression: beyond them compiling fails with a
 * clear error.  Parsing recurses only with the nesting, never with the
 * length, and folding and evaluation do not recurse: a 60 KB `V+V+...+V`
 * compiles under a 1 MB stack.  Error messages quote a short excerpt of
 * the text around the offending character and always keep the reason.
 *
 * Ownership: st_expr_compile / st_expr_free; the program keeps no pointer
 * into the text or the environment. */
#ifndef ST_CORE_EXPR_H
#define ST_CORE_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Values per evaluation block. */
#define ST_EXPR_BLOCK 256
/* Deepest evaluation stack a program may need. */
#define ST_EXPR_MAXSTACK 32
/* Longest expression text, bytes. */
#define ST_EXPR_MAXLEN (1u << 20)
/* Deepest nesting. */
#define ST_EXPR_MAXNEST 64
/* Most parameters one expression can be differentiated with respect to. */
#define ST_EXPR_MAXDERIV 64

/* A variable: components name[0]..name[dim-1] (plain `name` allowed, and
 * required to be enough, when dim == 1) read from args->in[slot] at
 * components offset..offset+dim-1. */
typedef struct st_expr_var {
    const char *name;
    size_t dim;
    unsigned slot;
    size_t offset;
    int varies;      /* 1: the slot holds one value per particle (stride apart by component) */
    const char *why; /* non-NULL: the name is known but not available here; the error says why */
} st_expr_var;

/* What names an expression may use. */
typedef struct st_expr_env {
    const st_expr_var *vars;
    size_t nvar;
    const char *const *par_names;
    const double *par_values; /* folded values (ignored when live) */
    size_t npar;
    int live;                 /* 1: parameters are read from args->par and can be differentiated */
    const char *what;         /* what the text is, for messages (default "expression") */
} st_expr_env;

/* Where the text came from, for messages: the file, and the line and column
 * of the text's first character (0: unknown). */
typedef struct st_expr_src {
    const char *file;
    long line;
    long col;
} st_expr_src;

typedef struct st_expr st_expr;

/* Compile text.  A syntax error, an unknown name, a bad call or a limit
 * exceeded is ST_EDATA located at the offending character. */
int st_expr_compile(st_expr **out, const char *text, const st_expr_env *env,
                    const st_expr_src *src, st_err *e);
void st_expr_free(st_expr *p);

/* A copy of p (NULL if memory runs out, or p is NULL). */
st_expr *st_expr_clone(const st_expr *p);
/* If the outermost operation of p is exp(E): *arg = a program computing
 * E (same environment and text) and 1; else *arg = NULL and 0; -1 if
 * memory runs out.  A density with a log-scale argument uses it to take
 * the log of exp(E) as E.  The caller frees *arg. */
int st_expr_exp_arg(const st_expr *p, st_expr **arg);
/* The source text (for messages). */
const char *st_expr_text(const st_expr *p);
/* An excerpt of the text for messages: all of it when short, else its
 * start with "..." (at most size - 1 bytes, valid UTF-8 kept whole). */
void st_expr_excerpt(const st_expr *p, char *buf, size_t size);
/* 1 if the value differs between particles (reads a varying slot). */
int st_expr_varies(const st_expr *p);
/* 1 (and *value) if the expression folded to a constant. */
int st_expr_constant(const st_expr *p, double *value);
/* 1 if the program reads variable v of its environment. */
int st_expr_uses_var(const st_expr *p, size_t v);
/* Live parameters the value depends on: nderiv of them, the k-th being
 * parameter deriv_par(k) of the environment (increasing order). */
size_t st_expr_nderiv(const st_expr *p);
size_t st_expr_deriv_par(const st_expr *p, size_t k);

/* One input slot: a varying slot holds component i of particle p at
 * v[i * stride + p]; a uniform slot holds component i at v[i]. */
typedef struct st_expr_in {
    const double *v;
    size_t stride;
} st_expr_in;

typedef struct st_expr_args {
    const st_expr_in *in; /* the slots the environment's variables name */
    const double *par;    /* live parameter values (npar of them) */
    /* Non-NULL: live parameters that differ between particles, parameter
     * k of particle p at par_in->v[k * par_in->stride + p] (par is then
     * not read).  st_expr_eval only: st_expr_eval1, st_expr_eval_d and
     * st_expr_eval_grad read par. */
    const st_expr_in *par_in;
} st_expr_args;

/* Scratch space for one thread (values only). */
typedef struct st_expr_work {
    double buf[ST_EXPR_MAXSTACK * ST_EXPR_BLOCK];
} st_expr_work;

/* Evaluate for particles 0..n-1 (1 <= n <= ST_EXPR_BLOCK) into out[0..n-1].
 * Returns 1 if the value is the same for every particle (then only out[0]
 * is written), 0 otherwise. */
int st_expr_eval(const st_expr *p, const st_expr_args *a, size_t n, double *out, st_expr_work *w);
/* The value of an expression that does not vary (one value). */
double st_expr_eval1(const st_expr *p, const st_expr_args *a);

/* Doubles of derivative scratch st_expr_eval_d needs for blocks of n. */
size_t st_expr_dwork_size(const st_expr *p, size_t n);
/* As st_expr_eval, and d out[i] / d par[deriv_par(k)] into dout[k * n + i]
 * for k < nderiv (only dout[k * n] when the value is uniform).  dwork has
 * st_expr_dwork_size(p, n) doubles. */
int st_expr_eval_d(const st_expr *p, const st_expr_args *a, size_t n, double *out, double *dout,
                   st_expr_work *w, double *dwork);
/* Value and full gradient (npar entries, 0 for parameters not used) of a
 * non-varying expression at a->par; grad may be NULL.  Needs no scratch
 * from the caller; returns NaN if memory runs out. */
double st_expr_eval_grad(const st_expr *p, const st_expr_args *a, double *grad);

/* 1 if s is a function name or the constant pi (not usable as a name). */
int st_expr_reserved(const char *s);

#endif

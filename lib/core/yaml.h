/* Model files (stoch-model(5)): a strict YAML reader that loads a document
 * into a small tree with line:column marks, accessors that check types,
 * shapes and ranges, and a writer for scalars, vectors and matrices that
 * round-trips every double.
 *
 * Strictness: every mapping key must be asked for by the reader; after a
 * family has read what it knows, st_ymap_check_unknown() reports the first
 * key nobody asked for ("unknown key 'foo'").  Errors carry the file, line
 * and column of the offending node.
 *
 * Ownership: st_ydoc_load/st_ydoc_free; nodes belong to their document.
 * Threads: st_ymap_get/require mark keys inside the document, so read one
 * document from one thread at a time.  Accessors that return a node, text
 * or length accept NULL (and return NULL/0); st_ynode_kind needs a node.
 * The rules the reader enforces are listed in stoch-model(5). */
#ifndef ST_CORE_YAML_H
#define ST_CORE_YAML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

typedef enum { ST_YSCALAR, ST_YSEQ, ST_YMAP } st_ykind;

/* Larger inputs are refused up front: the tree takes up to ~20 bytes per
 * byte of text (stoch-model(5) states the bound). */
#define ST_YAML_MAX_BYTES (32 << 20)

typedef struct st_ynode st_ynode;
typedef struct st_ydoc st_ydoc;

/* Load one YAML document from path ("-" for stdin).  Anchors/aliases,
 * multiple documents and duplicate keys are errors. */
int st_ydoc_load(st_ydoc **doc, const char *path, st_err *e);
/* Same from a string (path is used in messages). */
int st_ydoc_load_string(st_ydoc **doc, const char *text, size_t len, const char *path, st_err *e);
void st_ydoc_free(st_ydoc *doc);
const st_ynode *st_ydoc_root(const st_ydoc *doc);

st_ykind st_ynode_kind(const st_ynode *n);
long st_ynode_line(const st_ynode *n); /* 1-based */
long st_ynode_col(const st_ynode *n);  /* 1-based */
/* Scalar text (NULL for non-scalars). */
const char *st_ynode_text(const st_ynode *n);
/* Sequence length / mapping size; items by index. */
size_t st_ynode_len(const st_ynode *n);
const st_ynode *st_yseq_at(const st_ynode *n, size_t i);
const char *st_ymap_key_at(const st_ynode *n, size_t i);
const st_ynode *st_ymap_value_at(const st_ynode *n, size_t i);

/* The file name used in messages. */
const char *st_ydoc_path(const st_ydoc *doc);
/* Where a scalar's text starts: its mark, one column further for a single-
 * or double-quoted scalar (block scalars: the mark of '|' or '>'). */
void st_ynode_text_pos(const st_ynode *n, long *line, long *col);

/* Fill e with "file:line:col: message" located at node n (n NULL: the
 * file alone); returns code. */
int st_ynode_error(const st_ydoc *doc, const st_ynode *n, st_err *e, int code,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Look up key in mapping map and mark it as known.  Returns NULL if absent.
 * st_ymap_require: absent is an error "missing key 'k'" at the map. */
const st_ynode *st_ymap_get(const st_ydoc *doc, const st_ynode *map, const char *key);
int st_ymap_require(const st_ydoc *doc, const st_ynode *map, const char *key,
                    const st_ynode **out, st_err *e);
/* Error on the first key of map that no st_ymap_get/require asked for,
 * with a hint ("did you mean 'x'?" or the keys that were asked for).
 * map NULL (an absent optional mapping) passes. */
int st_ymap_check_unknown(const st_ydoc *doc, const st_ynode *map, st_err *e);

/* Typed scalars.  Numbers must be finite (".nan", ".inf" are errors); ints
 * must be integral.  Ranges are inclusive; pass -INFINITY/INFINITY or
 * LONG_MIN/LONG_MAX for no bound. */
int st_ynode_double(const st_ydoc *doc, const st_ynode *n, double lo, double hi, double *out, st_err *e);
int st_ynode_long(const st_ydoc *doc, const st_ynode *n, long lo, long hi, long *out, st_err *e);
int st_ynode_bool(const st_ydoc *doc, const st_ynode *n, int *out, st_err *e);
/* Scalar text; *out points into the document. */
int st_ynode_string(const st_ydoc *doc, const st_ynode *n, const char **out, st_err *e);
/* Scalar text that must be one of the NULL-terminated choices; *idx gets its index. */
int st_ynode_enum(const st_ydoc *doc, const st_ynode *n, const char *const *choices, int *idx, st_err *e);

/* A sequence of numbers.  want_n == 0 accepts any length >= 1 (*n gets it);
 * otherwise the length must equal want_n.  *v is malloc'ed. */
int st_ynode_vector(const st_ydoc *doc, const st_ynode *n, size_t want_n, double lo, double hi,
                    double **v, size_t *len, st_err *e);
/* The same for integers (state ids, counts, masks): each entry as
 * st_ynode_long. */
int st_ynode_long_vector(const st_ydoc *doc, const st_ynode *n, size_t want_n, long lo, long hi,
                         long **v, size_t *len, st_err *e);
/* A sequence of equal-length sequences of numbers, row-major.  want_rows /
 * want_cols == 0 accept any size.  *m is malloc'ed. */
int st_ynode_matrix(const st_ydoc *doc, const st_ynode *n, size_t want_rows, size_t want_cols,
                    double lo, double hi, double **m, size_t *rows, size_t *cols, st_err *e);

/* Checks shared by the families: each row of an r x c matrix sums to 1
 * within tol and has no negative entries / each row sums to 0 with
 * non-negative off-diagonals (rate matrix).  The error names the row
 * (0-based) at the node's position. */
int st_ynode_check_stochastic(const st_ydoc *doc, const st_ynode *n, const double *m, size_t rows,
                              size_t cols, double tol, st_err *e);
/* Rate matrix (generator): square, off-diagonals >= 0, each row sums to 0
 * within tol * max(1, |q_ii|). */
int st_ynode_check_rates(const st_ydoc *doc, const st_ynode *n, const double *q, size_t rows,
                         size_t cols, double tol, st_err *e);

/* Read the header every model file has: `model: <family>` and `version: 1`.
 * Marks both keys as known.  A different family or version is an error. */
int st_ymodel_header(const st_ydoc *doc, const char *family, st_err *e);

/* ------------------------------------------------------------- writer */

/* Block-style YAML written with fprintf; every double in shortest
 * round-trip form.  Nesting by explicit begin/end calls:
 *     st_yw w; st_yw_init(&w, fp);
 *     st_yw_key_string(&w, "model", "hmm");
 *     st_yw_key_long(&w, "version", 1);
 *     st_yw_begin_map(&w, "emission");
 *       st_yw_key_matrix(&w, "means", m, K, D);
 *     st_yw_end(&w);
 *     rc = st_yw_finish(&w, e);   -- checks the stream for write errors */
#define ST_YW_MAX_DEPTH 16
typedef struct st_yw {
    FILE *fp;
    int depth;
    /* private: per open level (lv[0] is the top-level mapping) its kind
     * ('M' map, 'L' list, 'I' map item of a list), the column of its keys
     * (of its dashes for 'L') and how many children were written */
    int err;          /* first problem: ST_EDATA (non-finite, bad UTF-8) or ST_EINTERNAL */
    char errmsg[128];
    int pending_dash; /* the next key starts a list item: "- key: ..." */
    struct {
        char kind;
        int indent;
        size_t nchild;
    } lv[ST_YW_MAX_DEPTH];
} st_yw;

void st_yw_init(st_yw *w, FILE *fp);
void st_yw_comment(st_yw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void st_yw_begin_map(st_yw *w, const char *key);
/* A list of mappings: begin_list(key), then item_map() before each item's
 * keys; one st_yw_end closes the last item and the list. */
void st_yw_begin_list(st_yw *w, const char *key);
void st_yw_item_map(st_yw *w);
void st_yw_end(st_yw *w);
void st_yw_key_double(st_yw *w, const char *key, double x);
void st_yw_key_long(st_yw *w, const char *key, long x);
void st_yw_key_bool(st_yw *w, const char *key, int x);
/* Strings are double-quoted and escaped when they need it. */
void st_yw_key_string(st_yw *w, const char *key, const char *s);
/* Vectors in flow style on one line: key: [1, 0.5, 2.0e-08] (a mantissa
 * always has a '.', so YAML 1.1 readers such as PyYAML see floats too). */
void st_yw_key_vector(st_yw *w, const char *key, const double *v, size_t n);
void st_yw_key_long_vector(st_yw *w, const char *key, const long *v, size_t n);
/* Strings in flow style: key: [a, "b c"] */
void st_yw_key_string_vector(st_yw *w, const char *key, const char *const *s, size_t n);
/* Matrices as a block list of flow rows. */
void st_yw_key_matrix(st_yw *w, const char *key, const double *m, size_t rows, size_t cols);
/* A matrix of strings (row-major), the same way. */
void st_yw_key_string_matrix(st_yw *w, const char *key, const char *const *s, size_t rows, size_t cols);
/* Flush and report the first problem: a write error (ST_EIO), a
 * non-finite double or a string that is not UTF-8 (ST_EDATA: the reader
 * would reject the file), unbalanced begin/end (ST_EINTERNAL). */
int st_yw_finish(st_yw *w, st_err *e);

/* The spelling the writer uses for x: st_format_double's shortest
 * round-trip digits (stream.h), with a '.' in every mantissa that has an
 * exponent ("1.0e-08"), -0 as "-0.0", non-finite as .nan/.inf/-.inf.
 * buf needs ST_DOUBLE_BUFSZ (32) bytes; returns the length. */
int st_yw_format_double(char *buf, double x);

#endif

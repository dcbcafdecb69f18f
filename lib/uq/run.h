/* uq-entropy's driver: read every input (JSON Lines, plain or gzip, or a
 * CSV long table of token log-probs), score each prompt, and return one
 * row per prompt (or per claim).  The result owns its arrays;
 * st_uq_result_free frees it (NULL is fine). */
#ifndef ST_UQ_RUN_H
#define ST_UQ_RUN_H

#include "core/stream.h"
#include "uq/uq.h"

#define ST_UQ_MAX_LINE_DEFAULT ((size_t)256 << 20)

typedef struct st_uq_run_opts {
    int csv_long;     /* inputs are CSV/binary long tables of token log-probs */
    size_t max_line;  /* longest accepted JSON line in bytes (0: the default) */
} st_uq_run_opts;

typedef struct st_uq_result {
    size_t n, ncols;   /* rows, columns */
    /* columns in order: id, [claim], [temperature], the scores, [correct], [quality] */
    int has_claim, has_temperature, has_correct, has_quality;
    double *data;      /* n x ncols, row-major */
    char **ids;        /* the n ids as given (integers in decimal) */
    int ids_are_strings; /* some id is not an integer (a double holds exactly):
                        * column id holds codes of id_dict, the ids as text */
    st_strdict *id_dict; /* the ids in order of first appearance, or NULL */
    size_t *nan_count; /* per requested score: rows where it is NaN */
    size_t nprompts;   /* prompts read (rows, unless claim scores) */
} st_uq_result;

/* npaths == 0 reads stdin.  csv_long: inputs are CSV/binary streams with
 * columns id, sample (0 = greedy), logprob and optional cluster,
 * temperature, correct, quality.  Errors name the file and line (the
 * first bad line in input order; lines after it are not read beyond the
 * batch being scored); a duplicate (id, temperature) is an error naming
 * both lines; a line longer than max_line is refused before it is read in
 * full. */
int st_uq_entropy_run(const char *const *paths, size_t npaths, const st_uq_run_opts *ro,
                      const st_uq_opts *o, const int *which, size_t nwhich, st_uq_result **out,
                      st_err *e);
void st_uq_result_free(st_uq_result *r);

#endif

/* uq-entropy's driver: read every input (JSON Lines, plain or gzip, or a
 * CSV long table of token log-probs), score each prompt, and return one
 * row per prompt.  The result owns its arrays; st_uq_result_free frees it
 * (NULL is fine). */
#ifndef ST_UQ_RUN_H
#define ST_UQ_RUN_H

#include "uq/uq.h"

typedef struct st_uq_result {
    size_t n, ncols;   /* rows, columns */
    /* columns in order: id, [temperature], the scores, [correct], [quality] */
    int has_temperature, has_correct, has_quality;
    double *data;      /* n x ncols, row-major */
    char **ids;        /* the n ids as given (for an id map) */
    int ids_are_records; /* some id is not an integer: id numbers the distinct ids
                        * 1, 2, ... in order of first appearance */
    size_t *nan_count; /* per requested score: prompts where it is NaN */
} st_uq_result;

/* npaths == 0 reads stdin.  csv_long: inputs are CSV/binary streams with
 * columns id, sample (0 = greedy), logprob and optional cluster,
 * temperature, correct, quality.  Errors name the file and line; a
 * duplicate (id, temperature) is an error naming both lines. */
int st_uq_entropy_run(const char *const *paths, size_t npaths, int csv_long, const st_uq_opts *o,
                      const int *which, size_t nwhich, st_uq_result **out, st_err *e);
void st_uq_result_free(st_uq_result *r);

#endif

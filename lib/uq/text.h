/* Word tokens of generated texts (Unicode letters, marks and numbers,
 * case-folded; lib/uq/text.c) interned into dense ids, and the lexical
 * similarities on them: ROUGE-L F1 through a bit-parallel LCS, and word
 * Jaccard.  A tokenizer is reused from prompt to prompt (reset between
 * them); new/free pair up, free accepts NULL. */
#ifndef ST_UQ_TEXT_H
#define ST_UQ_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_uq_tokenizer st_uq_tokenizer;
int st_uq_tokenizer_new(st_uq_tokenizer **t); /* -1 if out of memory */
void st_uq_tokenizer_free(st_uq_tokenizer *t);
/* Forget the dictionary: ids start again at 0. */
void st_uq_tokenizer_reset(st_uq_tokenizer *t);
/* Number of distinct tokens since the last reset (ids are below it). */
size_t st_uq_tokenizer_vocab(const st_uq_tokenizer *t);
/* Append the token ids of text to *out (length *len, capacity *cap, grown
 * with realloc): the count added, -1 if out of memory, -2 if there are
 * more than max_tokens. */
long st_uq_tokenize(st_uq_tokenizer *t, const char *text, size_t max_tokens, uint32_t **out,
                    size_t *len, size_t *cap);

/* Length of the longest common subsequence of a and b.  masks: one zeroed
 * uint64_t per id (left zeroed); carry: max(na, nb) bytes of scratch. */
size_t st_uq_lcs(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint64_t *masks,
                 unsigned char *carry);
/* ROUGE-L F1 = 2PR/(P+R), P = lcs/nb, R = lcs/na; 0 when a text has no token. */
double st_uq_rougel_f1(size_t lcs, size_t na, size_t nb);
/* Sort ids and drop repeats: the new count. */
size_t st_uq_sort_unique(uint32_t *t, size_t n);
/* |A & B| / |A | B| of two sorted sets; 1 when both are empty. */
double st_uq_jaccard_sets(const uint32_t *a, size_t na, const uint32_t *b, size_t nb);

#endif

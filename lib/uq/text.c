/* Lexical similarity of generated texts: ROUGE-L F1 and word Jaccard.
 *
 * Tokens are maximal runs of ASCII letters and digits after lower-casing
 * (every other byte separates tokens), as rouge_score's default tokenizer
 * without stemming.  Tokens are compared through 64-bit FNV-1a hashes. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uq/uq.h"

static int is_word(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* Tokenise s into a malloc'ed array of hashes; *n gets the count. */
static uint64_t *tokens(const char *s, size_t *n)
{
    *n = 0;
    if (!s)
        return NULL;
    size_t cap = 0;
    for (const char *p = s; *p; p++)
        cap += is_word((unsigned char)*p) && !is_word((unsigned char)p[1]);
    uint64_t *t = malloc((cap ? cap : 1) * sizeof *t);
    if (!t)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (!is_word(*p)) {
            p++;
            continue;
        }
        uint64_t h = 1469598103934665603ULL;
        while (is_word(*p)) {
            unsigned char ch = *p++;
            if (ch >= 'A' && ch <= 'Z')
                ch = (unsigned char)(ch - 'A' + 'a');
            h ^= ch;
            h *= 1099511628211ULL;
        }
        t[(*n)++] = h;
    }
    return t;
}

double st_uq_rougel(const char *a, const char *b)
{
    size_t na, nb;
    uint64_t *ta = tokens(a, &na), *tb = tokens(b, &nb);
    double f = 0;
    if (na && nb) {
        size_t *prev = calloc(nb + 1, sizeof *prev), *cur = calloc(nb + 1, sizeof *cur);
        if (prev && cur) {
            for (size_t i = 1; i <= na; i++) {
                for (size_t j = 1; j <= nb; j++)
                    cur[j] = ta[i - 1] == tb[j - 1] ? prev[j - 1] + 1
                                                    : (prev[j] > cur[j - 1] ? prev[j] : cur[j - 1]);
                size_t *tmp = prev;
                prev = cur;
                cur = tmp;
            }
            double lcs = (double)prev[nb];
            double P = lcs / (double)nb, R = lcs / (double)na;
            f = P + R > 0 ? 2 * P * R / (P + R) : 0;
        } else {
            f = -1; /* allocation failure: reported as NaN below */
        }
        free(prev);
        free(cur);
    }
    free(ta);
    free(tb);
    return f < 0 ? 0.0 / 0.0 : f;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static size_t unique(uint64_t *t, size_t n)
{
    if (n == 0)
        return 0;
    qsort(t, n, sizeof *t, cmp_u64);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (t[i] != t[k - 1])
            t[k++] = t[i];
    return k;
}

double st_uq_jaccard(const char *a, const char *b)
{
    size_t na, nb;
    uint64_t *ta = tokens(a, &na), *tb = tokens(b, &nb);
    na = unique(ta, na);
    nb = unique(tb, nb);
    size_t i = 0, j = 0, inter = 0;
    while (i < na && j < nb) {
        if (ta[i] == tb[j]) {
            inter++;
            i++;
            j++;
        } else if (ta[i] < tb[j]) {
            i++;
        } else {
            j++;
        }
    }
    free(ta);
    free(tb);
    size_t uni = na + nb - inter;
    return uni == 0 ? 1.0 : (double)inter / (double)uni;
}

/* String dictionaries: the codes of string columns.  Strings live in
 * arena blocks that never move (pointers stay valid), found through an
 * open-addressing hash of codes. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/stream_impl.h"
#include "core/utf8.h"

#define BLOCK_MIN (64u << 10)
#define MAX_STRINGS 0xFFFFFFFEu /* u32 codes; 0xFFFFFFFF is "missing" in the binary stream */

typedef struct block {
    struct block *next;
    size_t used, cap;
    char data[];
} block;

struct st_strdict {
    const char **str; /* code -> string (NUL-terminated) */
    uint32_t *len;    /* code -> length */
    size_t n, cap;
    uint32_t *slot; /* hash slots: code + 1, 0 empty */
    size_t nslot;
    block *blocks;
};

uint64_t st_str_hash(const char *s, size_t n)
{
    /* 8 bytes at a time, multiply-xorshift mixing (a wyhash-like finaliser):
     * fast, and good enough for an open-addressing table. */
    uint64_t h = 0x9E3779B97F4A7C15u ^ (uint64_t)n * 0xC2B2AE3D27D4EB4Fu;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDu;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53u;
    h ^= h >> 29;
    h *= 0xFF51AFD7ED558CCDu;
    h ^= h >> 32;
    return h;
}

int st_strdict_new(st_strdict **out, st_err *e)
{
    *out = calloc(1, sizeof **out);
    return *out ? ST_OK : st_err_nomem(e, "string dictionary");
}

void st_strdict_free(st_strdict *d)
{
    if (!d)
        return;
    for (block *b = d->blocks, *nb; b; b = nb) {
        nb = b->next;
        free(b);
    }
    free(d->str);
    free(d->len);
    free(d->slot);
    free(d);
}

size_t st_strdict_size(const st_strdict *d)
{
    return d ? d->n : 0;
}

/* The code as an index, or SIZE_MAX for NaN / out of range / not integral. */
static size_t code_index(const st_strdict *d, double code)
{
    if (!d || !(code >= 0 && code < (double)d->n))
        return SIZE_MAX;
    size_t k = (size_t)code;
    return (double)k == code ? k : SIZE_MAX;
}

const char *st_strdict_str(const st_strdict *d, double code)
{
    size_t k = code_index(d, code);
    return k == SIZE_MAX ? NULL : d->str[k];
}

size_t st_strdict_len(const st_strdict *d, double code)
{
    size_t k = code_index(d, code);
    return k == SIZE_MAX ? 0 : d->len[k];
}

static size_t find_slot(const st_strdict *d, const char *s, size_t len, uint64_t h)
{
    size_t mask = d->nslot - 1, i = (size_t)h & mask;
    for (;;) {
        uint32_t c = d->slot[i];
        if (c == 0)
            return i;
        c--;
        if (d->len[c] == len && memcmp(d->str[c], s, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

double st_strdict_find(const st_strdict *d, const char *s, size_t len)
{
    if (!d || d->n == 0)
        return NAN;
    uint32_t c = d->slot[find_slot(d, s, len, st_str_hash(s, len))];
    return c ? (double)(c - 1) : NAN;
}

static int rehash(st_strdict *d, size_t nslot)
{
    uint32_t *slot = calloc(nslot, sizeof *slot);
    if (!slot)
        return -1;
    free(d->slot);
    d->slot = slot;
    d->nslot = nslot;
    for (size_t c = 0; c < d->n; c++)
        slot[find_slot(d, d->str[c], d->len[c], st_str_hash(d->str[c], d->len[c]))] = (uint32_t)c + 1;
    return 0;
}

static char *store(st_strdict *d, const char *s, size_t len)
{
    block *b = d->blocks;
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > BLOCK_MIN ? len + 1 : BLOCK_MIN;
        block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->used = 0;
        nb->cap = cap;
        /* a big string gets a block of its own behind the current one, so
         * that the current block's free space is not thrown away */
        if (b && cap > BLOCK_MIN) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            d->blocks = nb;
        }
        b = nb;
    }
    char *p = b->data + b->used;
    memcpy(p, s, len);
    p[len] = '\0';
    b->used += len + 1;
    return p;
}

/* NULL if s[0..len) may be stored, else what is wrong with it. */
static const char *bad_text(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (u[i] < 0x80) {
            if (u[i] == 0)
                return "a NUL byte";
            i++;
            continue;
        }
        unsigned cp;
        int k = st_utf8_decode(u + i, len - i, &cp);
        if (k == 0)
            return "bytes that are not UTF-8";
        i += (size_t)k;
    }
    return NULL;
}

int st_strdict_intern(st_strdict *d, const char *s, size_t len, double *code, st_err *e)
{
    if (2 * (d->n + 1) > d->nslot && rehash(d, d->nslot ? 2 * d->nslot : 64) < 0)
        return st_err_nomem(e, "string dictionary");
    uint64_t h = st_str_hash(s, len);
    size_t i = find_slot(d, s, len, h);
    if (d->slot[i]) {
        *code = (double)(d->slot[i] - 1);
        return ST_OK;
    }
    const char *bad = bad_text(s, len);
    if (bad)
        return st_err_set(e, ST_EDATA, NULL, 0, 0, "string with %s", bad);
    if (len > UINT32_MAX || d->n >= MAX_STRINGS)
        return st_err_set(e, ST_ENOMEM, NULL, 0, 0, "more than %u distinct strings in a column", MAX_STRINGS);
    if (d->n == d->cap) {
        size_t nc = d->cap ? 2 * d->cap : 64;
        const char **ns = realloc(d->str, nc * sizeof *ns);
        if (!ns)
            return st_err_nomem(e, "string dictionary");
        d->str = ns;
        uint32_t *nl = realloc(d->len, nc * sizeof *nl);
        if (!nl)
            return st_err_nomem(e, "string dictionary");
        d->len = nl;
        d->cap = nc;
    }
    char *p = store(d, s, len);
    if (!p)
        return st_err_nomem(e, "string dictionary");
    d->str[d->n] = p;
    d->len[d->n] = (uint32_t)len;
    d->slot[i] = (uint32_t)d->n + 1;
    *code = (double)d->n++;
    return ST_OK;
}

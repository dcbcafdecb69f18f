/* Per-thread bump allocator for everything one input line parses into:
 * a base chunk reused from line to line, extra chunks when a line needs
 * more, all dropped at once by st_uq_arena_reset.  The base chunk grows to
 * what the largest recent line needed, up to ARENA_KEEP, so a single huge
 * line does not pin its memory for the rest of the run. */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "uq/uq.h"

#define ARENA_BASE ((size_t)1 << 20)
#define ARENA_KEEP ((size_t)16 << 20)
#define ALIGN 16

typedef struct chunk {
    struct chunk *next;
    size_t cap, used;
    max_align_t data[];
} chunk;

struct st_uq_arena {
    chunk *cur;   /* newest chunk; the base chunk is the last in the list */
    size_t total; /* bytes allocated in all chunks since the last reset */
};

static chunk *chunk_new(size_t cap)
{
    chunk *c = malloc(sizeof *c + cap);
    if (c) {
        c->next = NULL;
        c->cap = cap;
        c->used = 0;
    }
    return c;
}

int st_uq_arena_new(st_uq_arena **a, st_err *e)
{
    *a = calloc(1, sizeof **a);
    if (!*a || !((*a)->cur = chunk_new(ARENA_BASE))) {
        free(*a);
        *a = NULL;
        return st_err_nomem(e, "parse arena");
    }
    return 0;
}

void *st_uq_arena_alloc(st_uq_arena *a, size_t n)
{
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (n == 0)
        n = ALIGN;
    chunk *c = a->cur;
    if (c->cap - c->used < n) {
        size_t cap = c->cap * 2;
        if (cap < n)
            cap = n;
        chunk *nc = chunk_new(cap);
        if (!nc)
            return NULL;
        nc->next = c;
        a->cur = c = nc;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    a->total += n;
    return p;
}

void *st_uq_arena_grow(st_uq_arena *a, void *p, size_t old, size_t n)
{
    chunk *c = a->cur;
    size_t o = (old + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    size_t nn = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    /* the newest allocation of the current chunk grows in place */
    if (p && (char *)p + o == (char *)c->data + c->used && nn >= o && c->cap - c->used >= nn - o) {
        c->used += nn - o;
        a->total += nn - o;
        return p;
    }
    /* the only allocation of an extra chunk: resize the chunk itself (no
     * copy left behind; realloc of a large block remaps its pages) */
    if (p && c->next && (char *)p == (char *)c->data && o == c->used && nn >= o) {
        size_t cap = c->cap * 2 > nn ? c->cap * 2 : nn;
        chunk *nc = realloc(c, sizeof *nc + cap);
        if (!nc)
            return NULL;
        nc->cap = cap;
        nc->used = nn;
        a->cur = nc;
        a->total += nn - o;
        return nc->data;
    }
    void *q = st_uq_arena_alloc(a, n);
    if (q && p && old)
        memcpy(q, p, old < n ? old : n);
    return q;
}

void st_uq_arena_reset(st_uq_arena *a)
{
    chunk *c = a->cur;
    while (c->next) { /* free every chunk but the base one */
        chunk *n = c->next;
        free(c);
        c = n;
    }
    if (a->total > c->cap && c->cap < ARENA_KEEP) {
        /* next time a line like this one fits in the base chunk (bounded) */
        size_t want = a->total < ARENA_KEEP ? a->total : ARENA_KEEP;
        chunk *bigger = chunk_new(want);
        if (bigger) {
            free(c);
            c = bigger;
        }
    }
    c->used = 0;
    a->cur = c;
    a->total = 0;
}

void st_uq_arena_free(st_uq_arena *a)
{
    if (!a)
        return;
    chunk *c = a->cur;
    while (c) {
        chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

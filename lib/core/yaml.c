/* Strict YAML model-file reader: libyaml's event parser builds a small tree
 * with 1-based line:column marks; typed accessors check shapes and ranges.
 *
 * Before libyaml sees the text, one pass rejects what libyaml would accept
 * or report without a line (invalid UTF-8, control bytes, NUL) and what we
 * forbid on purpose (tabs).  Nodes and scalar text live in an arena owned by
 * the document; only container child arrays are separate allocations. */
#include "config.h"

#include "core/utf8.h"
#include "core/yaml.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

/* Mapping-only parts, kept out of the container so that the many
 * sequences of a big matrix stay small. */
typedef struct ymap {
    st_ynode **keys;      /* keys (scalars), parallel to items */
    unsigned char *used;  /* key asked for by the reader */
    char **asked;         /* every key the reader asked for (for hints) */
    size_t nasked, capasked;
} ymap;

/* Every node starts with this 12-byte header.  A scalar's text follows it
 * directly (NUL-terminated, TXT), so that a one-digit number in a big
 * matrix costs 16 bytes of arena plus its parent's pointer; sequences and
 * mappings are a ycont (CT).  The input size limit keeps marks in 32 bits. */
struct st_ynode {
    unsigned char kind;       /* st_ykind */
    unsigned char quoted;     /* scalar was quoted or block (not plain) */
    unsigned char flowq;      /* scalar was single- or double-quoted */
    unsigned char want_value; /* mapping being built: key read, value next */
    uint32_t line, col;       /* 1-based */
};

typedef struct ycont {
    st_ynode h;
    uint32_t n, cap;  /* children */
    st_ynode **items; /* sequence items / mapping values (trimmed to n when closed) */
    ymap *mx;         /* mappings only */
} ycont;

static inline char *TXT(const st_ynode *n)
{
    return (char *)(uintptr_t)n + sizeof *n;
}

static inline ycont *CT(const st_ynode *n)
{
    return (ycont *)(uintptr_t)n;
}

typedef struct arena_blk {
    struct arena_blk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} arena_blk;

struct st_ydoc {
    char *path;            /* display name used in messages */
    st_ynode *root;
    arena_blk *arena;
    st_ynode **containers; /* every sequence/mapping, to free child arrays */
    size_t ncont, capcont;
};

static const char *shown(const st_ynode *n, char *buf, size_t size);

/* ------------------------------------------------------------- memory */

/* size bytes aligned to align (4 or 8) */
static void *arena_alloc(st_ydoc *d, size_t size, size_t align)
{
    arena_blk *b0 = d->arena;
    if (b0)
        b0->used = (b0->used + align - 1) & ~(align - 1);
    arena_blk *b = b0;
    if (!b || b->used > b->cap || b->cap - b->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = d->arena;
        d->arena = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

void st_ydoc_free(st_ydoc *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->ncont; i++) {
        free(CT(d->containers[i])->items);
        if (CT(d->containers[i])->mx) {
            free(CT(d->containers[i])->mx->keys);
            free(CT(d->containers[i])->mx->used);
            free(CT(d->containers[i])->mx->asked);
        }
    }
    free(d->containers);
    for (arena_blk *b = d->arena, *nx; b; b = nx) {
        nx = b->next;
        free(b);
    }
    free(d->path);
    free(d);
}

/* ------------------------------------------------------ node accessors */

const st_ynode *st_ydoc_root(const st_ydoc *doc) { return doc ? doc->root : NULL; }
st_ykind st_ynode_kind(const st_ynode *n) { return (st_ykind)n->kind; }
long st_ynode_line(const st_ynode *n) { return n ? n->line : 0; }
long st_ynode_col(const st_ynode *n) { return n ? n->col : 0; }
const char *st_ynode_text(const st_ynode *n) { return n && n->kind == ST_YSCALAR ? TXT(n) : NULL; }
size_t st_ynode_len(const st_ynode *n) { return n && n->kind != ST_YSCALAR ? CT(n)->n : 0; }

const st_ynode *st_yseq_at(const st_ynode *n, size_t i)
{
    return n && n->kind == ST_YSEQ && i < CT(n)->n ? CT(n)->items[i] : NULL;
}

const char *st_ymap_key_at(const st_ynode *n, size_t i)
{
    return n && n->kind == ST_YMAP && i < CT(n)->n ? TXT(CT(n)->mx->keys[i]) : NULL;
}

const st_ynode *st_ymap_value_at(const st_ynode *n, size_t i)
{
    return n && n->kind == ST_YMAP && i < CT(n)->n ? CT(n)->items[i] : NULL;
}

static const char *doc_path(const st_ydoc *doc)
{
    return doc && doc->path ? doc->path : "<string>";
}

const char *st_ydoc_path(const st_ydoc *doc)
{
    return doc_path(doc);
}

void st_ynode_text_pos(const st_ynode *n, long *line, long *col)
{
    *line = n->line;
    *col = n->col + (n->flowq ? 1 : 0);
}

int st_ynode_error(const st_ydoc *doc, const st_ynode *n, st_err *e, int code,
                   const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    st_err_setv(e, code, doc_path(doc), n ? n->line : 0, n ? n->col : 0, fmt, ap);
    va_end(ap);
    return code;
}

/* ------------------------------------------------------------ loading */

/* Line:column (1-based, columns in characters) of byte offset off. */
static void offset_mark(const unsigned char *s, size_t len, size_t off, long *line, long *col)
{
    long l = 1, c = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (s[i] == '\n' || (s[i] == '\r' && !(i + 1 < len && s[i + 1] == '\n'))) {
            l++;
            c = 1;
        } else if (s[i] == '\r') {
            /* \r of \r\n: the \n breaks the line */
        } else if ((s[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Length of the UTF-8 sequence at s (1..4), or 0 if invalid. */
static int utf8_len(const unsigned char *s, size_t avail)
{
    unsigned cp;
    return st_utf8_decode(s, avail, &cp);
}

/* Reject bytes a model file never contains: invalid UTF-8, control
 * characters (binary data) and tabs. */
static int prescan(const char *path, const unsigned char *s, size_t len, st_err *e)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        const char *what = NULL;
        int k = utf8_len(s + i, len - i);
        if (k == 0)
            what = "invalid UTF-8 (binary data?)";
        else if (c == '\t')
            what = "tab character: indent and separate with spaces";
        else if (c == 0)
            what = "NUL byte (binary data?)";
        else if ((c < 0x20 && c != '\n' && c != '\r') || c == 0x7F ||
                 (c == 0xC2 && s[i + 1] < 0xA0))
            what = "control character (binary data?)"; /* C0, DEL, C1 incl. NEL */
        else if (c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9))
            what = "Unicode line separator: use a plain newline";
        if (what) {
            long l, col;
            offset_mark(s, len, i, &l, &col);
            return st_err_set(e, ST_EFORMAT, path, l, col, "%s", what);
        }
        i += (size_t)k;
    }
    return 0;
}

typedef struct {
    st_ydoc *doc;
    st_ynode **stack;
    size_t depth, cap;
} builder;

#define YAML_MAX_DEPTH 256

static int doc_nomem(st_ydoc *d, st_err *e)
{
    return st_err_set(e, ST_ENOMEM, d->path, 0, 0, "out of memory reading YAML");
}

/* A node; a scalar with room for textlen bytes of text and a NUL. */
/* A mapping's ymap, made when first needed (an empty mapping has none). */
static ymap *map_mx(st_ydoc *d, st_ynode *m)
{
    if (!CT(m)->mx) {
        CT(m)->mx = arena_alloc(d, sizeof(ymap), _Alignof(ymap));
        if (CT(m)->mx)
            memset(CT(m)->mx, 0, sizeof(ymap));
    }
    return CT(m)->mx;
}

static st_ynode *new_node(st_ydoc *d, st_ykind kind, yaml_mark_t m, size_t textlen)
{
    size_t size = kind == ST_YSCALAR ? sizeof(st_ynode) + textlen + 1 : sizeof(ycont);
    st_ynode *n = arena_alloc(d, size, kind == ST_YSCALAR ? _Alignof(st_ynode) : _Alignof(ycont));
    if (!n)
        return NULL;
    memset(n, 0, kind == ST_YSCALAR ? sizeof *n : sizeof(ycont));
    n->kind = (unsigned char)kind;
    n->line = (uint32_t)m.line + 1;
    n->col = (uint32_t)m.column + 1;
    if (kind != ST_YSCALAR) {
        if (d->ncont == d->capcont) {
            size_t nc = d->capcont ? 2 * d->capcont : 64;
            st_ynode **p = realloc(d->containers, nc * sizeof *p);
            if (!p)
                return NULL;
            d->containers = p;
            d->capcont = nc;
        }
        d->containers[d->ncont++] = n;
    }
    return n;
}

/* Append child to the open container on top of the stack (a mapping takes
 * key, value, key, value...). */
static int attach(builder *b, st_ynode *child, st_err *e)
{
    st_ydoc *d = b->doc;
    if (b->depth == 0) {
        d->root = child;
        return 0;
    }
    st_ynode *p = b->stack[b->depth - 1];
    if (p->kind == ST_YMAP && !map_mx(d, p))
        return doc_nomem(d, e);
    if (p->kind == ST_YMAP) {
        if (p->want_value) {
            CT(p)->items[CT(p)->n++] = child;
            p->want_value = 0;
            return 0;
        }
        if (child->kind != ST_YSCALAR)
            return st_err_set(e, ST_EFORMAT, d->path, child->line, child->col,
                              "mapping keys must be scalars");
    }
    if (CT(p)->n == CT(p)->cap) {
        size_t nc = CT(p)->cap ? 2 * CT(p)->cap : 4;
        st_ynode **it = realloc(CT(p)->items, nc * sizeof *it);
        if (!it)
            return doc_nomem(d, e);
        CT(p)->items = it;
        if (p->kind == ST_YMAP) {
            st_ynode **k = realloc(CT(p)->mx->keys, nc * sizeof *k);
            if (!k)
                return doc_nomem(d, e);
            CT(p)->mx->keys = k;
        }
        CT(p)->cap = nc;
    }
    if (p->kind == ST_YMAP) {
        CT(p)->mx->keys[CT(p)->n] = child;
        CT(p)->items[CT(p)->n] = NULL;
        p->want_value = 1;
    } else {
        CT(p)->items[CT(p)->n++] = child;
    }
    return 0;
}

/* qsort has no context argument in C11: sort (key, index) pairs instead. */
typedef struct {
    const char *key;
    size_t idx;
} keyidx;

static int cmp_keyidx(const void *a, const void *b)
{
    const keyidx *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Close a mapping: allocate its used[] flags and report the first key (in
 * document order) that repeats an earlier one. */
static int finish_map(st_ydoc *d, st_ynode *m, st_err *e)
{
    if (CT(m)->n == 0)
        return 0;
    CT(m)->mx->used = calloc(CT(m)->n, 1);
    keyidx *ki = malloc(CT(m)->n * sizeof *ki);
    if (!CT(m)->mx->used || !ki) {
        free(ki);
        return doc_nomem(d, e);
    }
    for (size_t i = 0; i < CT(m)->n; i++) {
        ki[i].key = TXT(CT(m)->mx->keys[i]);
        ki[i].idx = i;
    }
    qsort(ki, CT(m)->n, sizeof *ki, cmp_keyidx);
    size_t dup = SIZE_MAX, first = 0;
    for (size_t i = 1; i < CT(m)->n; i++)
        if (strcmp(ki[i].key, ki[i - 1].key) == 0 && ki[i].idx < dup &&
            (i < 2 || strcmp(ki[i - 2].key, ki[i].key) != 0)) {
            dup = ki[i].idx;
            first = ki[i - 1].idx;
        }
    free(ki);
    if (dup != SIZE_MAX) {
        const st_ynode *k = CT(m)->mx->keys[dup];
        char sb[64];
        return st_err_set(e, ST_EFORMAT, d->path, k->line, k->col,
                          "duplicate key '%s' (first at line %ld)", shown(k, sb, sizeof sb),
                          (long)CT(m)->mx->keys[first]->line);
    }
    return 0;
}

/* A closed container gives back the unused part of its child arrays. */
static void trim(ycont *c)
{
    if (c->cap <= c->n || c->n == 0)
        return;
    st_ynode **it = realloc(c->items, c->n * sizeof *it);
    if (it)
        c->items = it;
    if (c->mx) {
        st_ynode **k = realloc(c->mx->keys, c->n * sizeof *k);
        if (k)
            c->mx->keys = k;
    }
    c->cap = c->n;
}

static int push(builder *b, st_ynode *n, st_err *e)
{
    if (b->depth >= YAML_MAX_DEPTH)
        return st_err_set(e, ST_EFORMAT, b->doc->path, n->line, n->col,
                          "nesting deeper than %d levels", YAML_MAX_DEPTH);
    if (b->depth == b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 16;
        st_ynode **s = realloc(b->stack, nc * sizeof *s);
        if (!s)
            return doc_nomem(b->doc, e);
        b->stack = s;
        b->cap = nc;
    }
    b->stack[b->depth++] = n;
    return 0;
}

static int parser_error(const st_ydoc *d, const yaml_parser_t *p, const unsigned char *s,
                        size_t len, st_err *e)
{
    long line, col;
    if (p->error == YAML_READER_ERROR) {
        offset_mark(s, len, p->problem_offset, &line, &col);
    } else {
        line = (long)p->problem_mark.line + 1;
        col = (long)p->problem_mark.column + 1;
    }
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_MEMORY_ERROR)
        return st_err_set(e, ST_ENOMEM, d->path, 0, 0, "out of memory parsing YAML");
    if (p->context)
        return st_err_set(e, ST_EFORMAT, d->path, line, col, "%s %s (line %ld)", problem,
                          p->context, (long)p->context_mark.line + 1);
    return st_err_set(e, ST_EFORMAT, d->path, line, col, "%s", problem);
}

static int build(st_ydoc *d, const unsigned char *s, size_t len, st_err *e)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return doc_nomem(d, e);
    yaml_parser_set_input_string(&p, s, len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    builder b = {d, NULL, 0, 0};
    int rc = 0, ndocs = 0, done = 0;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = parser_error(d, &p, s, len, e);
            break;
        }
        yaml_mark_t m = ev.start_mark;
        long ml = (long)m.line + 1, mc = (long)m.column + 1;
        st_ynode *n = NULL;
        const yaml_char_t *anchor = NULL, *tag = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++ndocs > 1)
                rc = st_err_set(e, ST_EFORMAT, d->path, ml, mc,
                                "more than one YAML document (a model file holds one)");
            break;
        case YAML_ALIAS_EVENT:
            rc = st_err_set(e, ST_EFORMAT, d->path, ml, mc,
                            "aliases (*%s) are not allowed in model files",
                            (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
            anchor = ev.data.scalar.anchor;
            tag = ev.data.scalar.tag;
            if (anchor || tag)
                break;
            if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
                rc = st_err_set(e, ST_EFORMAT, d->path, ml, mc, "NUL character in a string");
                break;
            }
            n = new_node(d, ST_YSCALAR, m, ev.data.scalar.length);
            if (!n) {
                rc = doc_nomem(d, e);
                break;
            }
            memcpy(TXT(n), ev.data.scalar.value, ev.data.scalar.length + 1);
            n->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
            n->flowq = ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                       ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
            rc = attach(&b, n, e);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (ev.type == YAML_SEQUENCE_START_EVENT) {
                anchor = ev.data.sequence_start.anchor;
                tag = ev.data.sequence_start.tag;
            } else {
                anchor = ev.data.mapping_start.anchor;
                tag = ev.data.mapping_start.tag;
            }
            if (anchor || tag)
                break;
            n = new_node(d, ev.type == YAML_SEQUENCE_START_EVENT ? ST_YSEQ : ST_YMAP, m, 0);
            if (!n) {
                rc = doc_nomem(d, e);
                break;
            }
            rc = attach(&b, n, e);
            if (rc == 0)
                rc = push(&b, n, e);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (b.depth == 0) {
                rc = st_err_set(e, ST_EINTERNAL, d->path, ml, mc, "unbalanced YAML events");
                break;
            }
            n = b.stack[--b.depth];
            trim(CT(n));
            if (n->kind == ST_YMAP)
                rc = finish_map(d, n, e);
            break;
        default:
            break;
        }
        if (rc == 0 && anchor)
            rc = st_err_set(e, ST_EFORMAT, d->path, ml, mc,
                            "anchors (&%s) are not allowed in model files", (const char *)anchor);
        else if (rc == 0 && tag)
            rc = st_err_set(e, ST_EFORMAT, d->path, ml, mc,
                            "tags (%s) are not allowed in model files", (const char *)tag);
        yaml_event_delete(&ev);
    }
    free(b.stack);
    yaml_parser_delete(&p);
    if (rc)
        return rc;
    if (ndocs == 0 || !d->root)
        return st_err_set(e, ST_EFORMAT, d->path, 1, 1, "empty file: no YAML document");
    if (d->root->kind == ST_YSCALAR && !d->root->quoted && TXT(d->root)[0] == '\0')
        return st_err_set(e, ST_EFORMAT, d->path, d->root->line, d->root->col,
                          "empty YAML document");
    return 0;
}

int st_ydoc_load_string(st_ydoc **out, const char *text, size_t len, const char *path, st_err *e)
{
    *out = NULL;
    st_ydoc *d = calloc(1, sizeof *d);
    const char *name = path ? st_display_name(path) : "<string>";
    if (d)
        d->path = strdup(name);
    if (!d || !d->path) {
        st_ydoc_free(d);
        return st_err_set(e, ST_ENOMEM, name, 0, 0, "out of memory reading YAML");
    }
    if (len > ST_YAML_MAX_BYTES) {
        st_ydoc_free(d);
        return st_err_set(e, ST_ENOMEM, name, 0, 0,
                          "model file of %zu bytes is larger than the %d MiB limit", len,
                          ST_YAML_MAX_BYTES >> 20);
    }
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) {
        s += 3; /* UTF-8 byte order mark (libyaml keeps it once told "UTF-8") */
        len -= 3;
    }
    int rc = prescan(d->path, s, len, e);
    if (rc == 0)
        rc = build(d, s, len, e);
    if (rc) {
        st_ydoc_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int st_ydoc_load(st_ydoc **out, const char *path, st_err *e)
{
    *out = NULL;
    const char *name = st_display_name(path);
    int from_stdin = !path || strcmp(path, "-") == 0;
    FILE *fp = from_stdin ? stdin : fopen(path, "rb");
    if (!fp)
        return st_err_set(e, ST_EIO, name, 0, 0, "cannot open: %s", strerror(errno));
    /* The size limit is checked before reading a regular file, and a pipe
     * is read no further than one byte past it. */
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > ST_YAML_MAX_BYTES) {
        if (!from_stdin)
            fclose(fp);
        return st_err_set(e, ST_ENOMEM, name, 0, 0,
                          "model file of %lld bytes is larger than the %d MiB limit",
                          (long long)st.st_size, ST_YAML_MAX_BYTES >> 20);
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    int rc = 0;
    if (!buf)
        rc = st_err_set(e, ST_ENOMEM, name, 0, 0, "out of memory reading YAML");
    while (rc == 0) {
        if (len == cap) {
            if (cap > ST_YAML_MAX_BYTES) {
                rc = st_err_set(e, ST_ENOMEM, name, 0, 0,
                                "model file is larger than the %d MiB limit",
                                ST_YAML_MAX_BYTES >> 20);
                break;
            }
            size_t ncap = 2 * cap > (size_t)ST_YAML_MAX_BYTES + 1 ? (size_t)ST_YAML_MAX_BYTES + 1 : 2 * cap;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = st_err_set(e, ST_ENOMEM, name, 0, 0, "out of memory reading YAML");
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp))
                rc = st_err_set(e, ST_EIO, name, 0, 0, "read error: %s", strerror(errno));
            break;
        }
    }
    if (!from_stdin)
        fclose(fp);
    if (rc == 0)
        rc = st_ydoc_load_string(out, buf, len, path ? path : "-", e);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------ mappings */

/* Remember a key the reader asked for, for "did you mean" hints.  The
 * document is heap memory this module allocated: recording through the
 * const views of the API is fine; failure only loses a hint. */
static void note_asked(const st_ydoc *cdoc, const st_ynode *cmap, const char *key)
{
    st_ydoc *doc = (st_ydoc *)cdoc;
    st_ynode *map = (st_ynode *)cmap;
    if (!doc || !map_mx(doc, map))
        return;
    for (size_t i = 0; i < CT(map)->mx->nasked; i++)
        if (strcmp(CT(map)->mx->asked[i], key) == 0)
            return;
    if (CT(map)->mx->nasked == CT(map)->mx->capasked) {
        size_t nc = CT(map)->mx->capasked ? 2 * CT(map)->mx->capasked : 8;
        char **a = realloc(CT(map)->mx->asked, nc * sizeof *a);
        if (!a)
            return;
        CT(map)->mx->asked = a;
        CT(map)->mx->capasked = nc;
    }
    size_t len = strlen(key);
    char *copy = arena_alloc(doc, len + 1, 1);
    if (!copy)
        return;
    memcpy(copy, key, len + 1);
    CT(map)->mx->asked[CT(map)->mx->nasked++] = copy;
}

const st_ynode *st_ymap_get(const st_ydoc *doc, const st_ynode *map, const char *key)
{
    if (!map || map->kind != ST_YMAP)
        return NULL;
    note_asked(doc, map, key);
    for (size_t i = 0; i < CT(map)->n; i++)
        if (strcmp(TXT(CT(map)->mx->keys[i]), key) == 0) {
            CT(map)->mx->used[i] = 1;
            return CT(map)->items[i];
        }
    return NULL;
}

static const char *kind_name(const st_ynode *n)
{
    if (n->kind == ST_YMAP)
        return "a mapping";
    if (n->kind == ST_YSEQ)
        return "a list";
    if (!n->quoted && TXT(n)[0] == '\0')
        return "an empty value";
    return "a scalar";
}

static int expect_map(const st_ydoc *doc, const st_ynode *n, st_err *e)
{
    if (!n)
        return st_err_set(e, ST_EINTERNAL, doc_path(doc), 0, 0, "no node for a mapping");
    if (n->kind != ST_YMAP)
        return st_ynode_error(doc, n, e, ST_EDATA, "expected a mapping (key: value lines), found %s",
                              kind_name(n));
    return 0;
}

int st_ymap_require(const st_ydoc *doc, const st_ynode *map, const char *key,
                    const st_ynode **out, st_err *e)
{
    *out = NULL;
    int rc = expect_map(doc, map, e);
    if (rc)
        return rc;
    *out = st_ymap_get(doc, map, key);
    if (!*out)
        return st_ynode_error(doc, map, e, ST_EDATA, "missing key '%s'", key);
    return 0;
}

/* Edit distance (insert, delete, substitute, swap neighbours) of short
 * strings; longer ones count as far apart. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t m = strlen(a), n = strlen(b);
    if (m > 63 || n > 63)
        return SIZE_MAX;
    size_t d[64][64];
    for (size_t i = 0; i <= m; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= n; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= m; i++)
        for (size_t j = 1; j <= n; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[m][n];
}

int st_ymap_check_unknown(const st_ydoc *doc, const st_ynode *map, st_err *e)
{
    if (!map)
        return 0; /* an absent optional mapping has no unknown keys */
    int rc = expect_map(doc, map, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < CT(map)->n; i++) {
        if (CT(map)->mx->used[i])
            continue;
        const st_ynode *k = CT(map)->mx->keys[i];
        /* A hint: the nearest key the reader knows, or the list of them. */
        size_t best = SIZE_MAX, bi = 0;
        for (size_t j = 0; j < CT(map)->mx->nasked; j++) {
            size_t dj = edit_distance(TXT(k), CT(map)->mx->asked[j]);
            if (dj < best)
                best = dj, bi = j;
        }
        size_t klen = strlen(TXT(k));
        char sb[64];
        if (best <= 2 && best < klen)
            return st_ynode_error(doc, k, e, ST_EDATA, "unknown key '%s' (did you mean '%s'?)",
                                  shown(k, sb, sizeof sb), CT(map)->mx->asked[bi]);
        char list[200];
        size_t len = 0;
        list[0] = '\0';
        for (size_t j = 0; j < CT(map)->mx->nasked && len < sizeof list; j++) {
            int w = snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "", CT(map)->mx->asked[j]);
            if (w > 0)
                len += (size_t)w;
        }
        if (len >= sizeof list)
            memcpy(list + sizeof list - 4, "...", 4);
        if (CT(map)->mx->nasked)
            return st_ynode_error(doc, k, e, ST_EDATA, "unknown key '%s' (known keys here: %s)",
                                  shown(k, sb, sizeof sb), list);
        return st_ynode_error(doc, k, e, ST_EDATA, "unknown key '%s'", shown(k, sb, sizeof sb));
    }
    return 0;
}

/* ------------------------------------------------------------- scalars */

/* Print a scalar's text for a message, shortened to fit. */
static const char *shown(const st_ynode *n, char *buf, size_t size)
{
    return st_msg_excerpt(buf, size, TXT(n), size - 1);
}

static int expect_scalar(const st_ydoc *doc, const st_ynode *n, const char *what, st_err *e)
{
    if (!n)
        return st_err_set(e, ST_EINTERNAL, doc_path(doc), 0, 0, "no node for %s", what);
    if (n->kind != ST_YSCALAR || (!n->quoted && TXT(n)[0] == '\0'))
        return st_ynode_error(doc, n, e, ST_EDATA, "expected %s, found %s", what, kind_name(n));
    return 0;
}

/* YAML 1.2 core-schema float/int spelling, decimal only:
 * [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
 * Returns 1 for an integer spelling, 2 for a float spelling, 0 otherwise. */
static int number_syntax(const char *s)
{
    const char *p = s;
    int isfloat = 0;
    if (*p == '+' || *p == '-')
        p++;
    size_t nd = strspn(p, "0123456789");
    p += nd;
    if (*p == '.') {
        isfloat = 1;
        p++;
        size_t nf = strspn(p, "0123456789");
        if (nd == 0 && nf == 0)
            return 0;
        p += nf;
    } else if (nd == 0) {
        return 0;
    }
    if (*p == 'e' || *p == 'E') {
        isfloat = 1;
        p++;
        if (*p == '+' || *p == '-')
            p++;
        size_t ne = strspn(p, "0123456789");
        if (ne == 0)
            return 0;
        p += ne;
    }
    return *p ? 0 : 1 + isfloat;
}

static int is_nonfinite_spelling(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    static const char *const words[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN",
                                        "inf", "Inf", "INF", "infinity", "Infinity",
                                        "nan", "NaN", "NAN", NULL};
    for (int i = 0; words[i]; i++)
        if (strcmp(s, words[i]) == 0)
            return 1;
    return 0;
}

/* strtod of a string number_syntax() accepted.  strtod follows LC_NUMERIC:
 * under a locale with a decimal comma it would stop at the '.', so a
 * partial parse is reported instead of read as a wrong value. */
static int parse_double(const st_ydoc *doc, const st_ynode *n, double *x, st_err *e)
{
    char *end;
    *x = strtod(TXT(n), &end);
    if (*end != '\0')
        return st_ynode_error(doc, n, e, ST_EINTERNAL,
                              "cannot read number '%.40s' (LC_NUMERIC is not \"C\"?)", TXT(n));
    return 0;
}

static void format_bound(char *buf, size_t n, double x)
{
    snprintf(buf, n, "%.17g", x);
    /* Prefer the shortest spelling that reads back to the bound. */
    for (int prec = 1; prec <= 17; prec++) {
        char t[40];
        snprintf(t, sizeof t, "%.*g", prec, x);
        if (strtod(t, NULL) == x) {
            snprintf(buf, n, "%s", t);
            return;
        }
    }
}

static int range_error_d(const st_ydoc *doc, const st_ynode *n, double lo, double hi, st_err *e)
{
    char a[40], b[40];
    format_bound(a, sizeof a, lo);
    format_bound(b, sizeof b, hi);
    if (isinf(lo))
        return st_ynode_error(doc, n, e, ST_EDATA, "value %s out of range: must be <= %s",
                              TXT(n), b);
    if (isinf(hi))
        return st_ynode_error(doc, n, e, ST_EDATA, "value %s out of range: must be >= %s",
                              TXT(n), a);
    return st_ynode_error(doc, n, e, ST_EDATA, "value %s out of range [%s, %s]", TXT(n), a, b);
}

int st_ynode_double(const st_ydoc *doc, const st_ynode *n, double lo, double hi, double *out,
                    st_err *e)
{
    int rc = expect_scalar(doc, n, "a number", e);
    if (rc)
        return rc;
    char sb[64];
    if (!n->quoted && is_nonfinite_spelling(TXT(n)))
        return st_ynode_error(doc, n, e, ST_EDATA, "non-finite number '%s' is not allowed",
                              shown(n, sb, sizeof sb));
    if (n->quoted || number_syntax(TXT(n)) == 0)
        return st_ynode_error(doc, n, e, ST_EDATA, "expected a number, found %s'%s'",
                              n->quoted ? "the quoted string " : "",
                              shown(n, sb, sizeof sb));
    double x;
    if ((rc = parse_double(doc, n, &x, e)) != 0)
        return rc;
    if (!isfinite(x))
        return st_ynode_error(doc, n, e, ST_EDATA, "number '%s' is too large for a double",
                              shown(n, sb, sizeof sb));
    if (!(x >= lo && x <= hi))
        return range_error_d(doc, n, lo, hi, e);
    *out = x;
    return 0;
}

int st_ynode_long(const st_ydoc *doc, const st_ynode *n, long lo, long hi, long *out, st_err *e)
{
    int rc = expect_scalar(doc, n, "an integer", e);
    if (rc)
        return rc;
    char sb[64];
    int syn = n->quoted ? 0 : number_syntax(TXT(n));
    if (syn == 0) {
        if (!n->quoted && is_nonfinite_spelling(TXT(n)))
            return st_ynode_error(doc, n, e, ST_EDATA, "non-finite number '%s' is not allowed",
                                  shown(n, sb, sizeof sb));
        return st_ynode_error(doc, n, e, ST_EDATA, "expected an integer, found %s'%s'",
                              n->quoted ? "the quoted string " : "", shown(n, sb, sizeof sb));
    }
    long v;
    if (syn == 1) {
        errno = 0;
        v = strtol(TXT(n), NULL, 10);
        if (errno == ERANGE)
            return st_ynode_error(doc, n, e, ST_EDATA, "integer '%s' is too large",
                                  shown(n, sb, sizeof sb));
    } else {
        /* 1e3 or 3.0: accepted when the value is an integer. */
        double x;
        if ((rc = parse_double(doc, n, &x, e)) != 0)
            return rc;
        if (!isfinite(x) || x != floor(x))
            return st_ynode_error(doc, n, e, ST_EDATA, "expected an integer, found '%s'",
                                  shown(n, sb, sizeof sb));
        if (!(x >= -9.2233720368547758e18 && x < 9.2233720368547758e18) ||
            x < (double)LONG_MIN || x >= -(double)LONG_MIN)
            return st_ynode_error(doc, n, e, ST_EDATA, "integer '%s' is too large",
                                  shown(n, sb, sizeof sb));
        v = (long)x;
    }
    if (v < lo || v > hi) {
        if (lo == LONG_MIN)
            return st_ynode_error(doc, n, e, ST_EDATA, "value %s out of range: must be <= %ld",
                                  TXT(n), hi);
        if (hi == LONG_MAX)
            return st_ynode_error(doc, n, e, ST_EDATA, "value %s out of range: must be >= %ld",
                                  TXT(n), lo);
        return st_ynode_error(doc, n, e, ST_EDATA, "value %s out of range [%ld, %ld]", TXT(n),
                              lo, hi);
    }
    *out = v;
    return 0;
}

int st_ynode_bool(const st_ydoc *doc, const st_ynode *n, int *out, st_err *e)
{
    int rc = expect_scalar(doc, n, "true or false", e);
    if (rc)
        return rc;
    static const char *const t[] = {"true", "True", "TRUE"}, *const f[] = {"false", "False", "FALSE"};
    if (!n->quoted)
        for (int i = 0; i < 3; i++) {
            if (strcmp(TXT(n), t[i]) == 0) {
                *out = 1;
                return 0;
            }
            if (strcmp(TXT(n), f[i]) == 0) {
                *out = 0;
                return 0;
            }
        }
    char sb[64];
    return st_ynode_error(doc, n, e, ST_EDATA, "expected true or false, found '%s'",
                          shown(n, sb, sizeof sb));
}

int st_ynode_string(const st_ydoc *doc, const st_ynode *n, const char **out, st_err *e)
{
    int rc = expect_scalar(doc, n, "a string", e);
    if (rc)
        return rc;
    *out = TXT(n);
    return 0;
}

int st_ynode_enum(const st_ydoc *doc, const st_ynode *n, const char *const *choices, int *idx,
                  st_err *e)
{
    const char *s;
    int rc = st_ynode_string(doc, n, &s, e);
    if (rc)
        return rc;
    for (int i = 0; choices[i]; i++)
        if (strcmp(s, choices[i]) == 0) {
            *idx = i;
            return 0;
        }
    char list[256];
    size_t k = 0;
    list[0] = '\0';
    for (int i = 0; choices[i] && k < sizeof list; i++) {
        int w = snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", choices[i]);
        if (w > 0)
            k += (size_t)w;
    }
    char sb[64];
    return st_ynode_error(doc, n, e, ST_EDATA, "expected one of %s; found '%s'", list,
                          shown(n, sb, sizeof sb));
}

/* ------------------------------------------------- vectors and matrices */

static int expect_list(const st_ydoc *doc, const st_ynode *n, const char *what, st_err *e)
{
    if (!n)
        return st_err_set(e, ST_EINTERNAL, doc_path(doc), 0, 0, "no node for %s", what);
    if (n->kind != ST_YSEQ)
        return st_ynode_error(doc, n, e, ST_EDATA, "expected %s, found %s", what, kind_name(n));
    return 0;
}

int st_ynode_vector(const st_ydoc *doc, const st_ynode *n, size_t want_n, double lo, double hi,
                    double **v, size_t *len, st_err *e)
{
    *v = NULL;
    int rc = expect_list(doc, n, "a list of numbers", e);
    if (rc)
        return rc;
    if (want_n && CT(n)->n != want_n)
        return st_ynode_error(doc, n, e, ST_EDATA, "expected a list of %zu numbers, found %zu",
                              want_n, (size_t)CT(n)->n);
    if (CT(n)->n == 0)
        return st_ynode_error(doc, n, e, ST_EDATA, "expected a non-empty list of numbers");
    double *x = malloc(CT(n)->n * sizeof *x);
    if (!x)
        return st_ynode_error(doc, n, e, ST_ENOMEM, "out of memory for %zu numbers", (size_t)CT(n)->n);
    for (size_t i = 0; i < CT(n)->n; i++) {
        rc = st_ynode_double(doc, CT(n)->items[i], lo, hi, &x[i], e);
        if (rc) {
            free(x);
            return rc;
        }
    }
    *v = x;
    if (len)
        *len = CT(n)->n;
    return 0;
}

int st_ynode_long_vector(const st_ydoc *doc, const st_ynode *n, size_t want_n, long lo, long hi,
                         long **v, size_t *len, st_err *e)
{
    *v = NULL;
    int rc = expect_list(doc, n, "a list of integers", e);
    if (rc)
        return rc;
    if (want_n && CT(n)->n != want_n)
        return st_ynode_error(doc, n, e, ST_EDATA, "expected a list of %zu integers, found %zu",
                              want_n, (size_t)CT(n)->n);
    if (CT(n)->n == 0)
        return st_ynode_error(doc, n, e, ST_EDATA, "expected a non-empty list of integers");
    long *x = malloc(CT(n)->n * sizeof *x);
    if (!x)
        return st_ynode_error(doc, n, e, ST_ENOMEM, "out of memory for %zu integers", (size_t)CT(n)->n);
    for (size_t i = 0; i < CT(n)->n; i++) {
        rc = st_ynode_long(doc, CT(n)->items[i], lo, hi, &x[i], e);
        if (rc) {
            free(x);
            return rc;
        }
    }
    *v = x;
    if (len)
        *len = CT(n)->n;
    return 0;
}

int st_ynode_matrix(const st_ydoc *doc, const st_ynode *n, size_t want_rows, size_t want_cols,
                    double lo, double hi, double **m, size_t *rows, size_t *cols, st_err *e)
{
    *m = NULL;
    int rc = expect_list(doc, n, "a matrix (a list of rows)", e);
    if (rc)
        return rc;
    if (want_rows && CT(n)->n != want_rows)
        return st_ynode_error(doc, n, e, ST_EDATA, "expected a matrix of %zu rows, found %zu",
                              want_rows, (size_t)CT(n)->n);
    if (CT(n)->n == 0)
        return st_ynode_error(doc, n, e, ST_EDATA, "expected a non-empty matrix (a list of rows)");
    for (size_t i = 0; i < CT(n)->n; i++) {
        const st_ynode *r = CT(n)->items[i];
        if (r->kind != ST_YSEQ)
            return st_ynode_error(doc, r, e, ST_EDATA,
                                  "row %zu: expected a list of numbers, found %s", i, kind_name(r));
    }
    size_t c = CT(CT(n)->items[0])->n;
    if (want_cols && c != want_cols)
        return st_ynode_error(doc, CT(n)->items[0], e, ST_EDATA,
                              "row 0 has %zu entries, expected %zu", c, want_cols);
    if (c == 0)
        return st_ynode_error(doc, CT(n)->items[0], e, ST_EDATA, "row 0 is empty");
    for (size_t i = 1; i < CT(n)->n; i++)
        if (CT(CT(n)->items[i])->n != c)
            return st_ynode_error(doc, CT(n)->items[i], e, ST_EDATA,
                                  "ragged matrix: row %zu has %zu entries, row 0 has %zu", i,
                                  (size_t)CT(CT(n)->items[i])->n, c);
    if (CT(n)->n > SIZE_MAX / sizeof(double) / c)
        return st_ynode_error(doc, n, e, ST_ENOMEM, "matrix too large");
    double *x = malloc(CT(n)->n * c * sizeof *x);
    if (!x)
        return st_ynode_error(doc, n, e, ST_ENOMEM, "out of memory for a %zu x %zu matrix", (size_t)CT(n)->n, c);
    for (size_t i = 0; i < CT(n)->n; i++)
        for (size_t j = 0; j < c; j++) {
            rc = st_ynode_double(doc, CT(CT(n)->items[i])->items[j], lo, hi, &x[i * c + j], e);
            if (rc) {
                free(x);
                return rc;
            }
        }
    *m = x;
    if (rows)
        *rows = CT(n)->n;
    if (cols)
        *cols = c;
    return 0;
}

/* The node of row i (and entry j, or the row if j is SIZE_MAX) when n has
 * the shape of the matrix; otherwise n itself.  A 1 x c "matrix" may be a
 * plain vector node. */
static const st_ynode *cell_node(const st_ynode *n, size_t rows, size_t cols, size_t i, size_t j)
{
    if (!n || n->kind != ST_YSEQ)
        return n;
    if (rows == 1 && CT(n)->n == cols && (cols == 0 || CT(n)->items[0]->kind == ST_YSCALAR))
        return j == SIZE_MAX ? n : CT(n)->items[j];
    if (CT(n)->n != rows || i >= rows)
        return n;
    const st_ynode *r = CT(n)->items[i];
    if (j == SIZE_MAX || r->kind != ST_YSEQ || CT(r)->n != cols)
        return r;
    return CT(r)->items[j];
}

int st_ynode_check_stochastic(const st_ydoc *doc, const st_ynode *n, const double *m, size_t rows,
                              size_t cols, double tol, st_err *e)
{
    for (size_t i = 0; i < rows; i++) {
        double s = 0;
        for (size_t j = 0; j < cols; j++) {
            double x = m[i * cols + j];
            if (!(x >= 0))
                return st_ynode_error(doc, cell_node(n, rows, cols, i, j), e, ST_EDATA,
                                      "row %zu: probability %.17g is negative", i, x);
            s += x;
        }
        if (!(fabs(s - 1) <= tol))
            return st_ynode_error(doc, cell_node(n, rows, cols, i, SIZE_MAX), e, ST_EDATA,
                                  "row %zu sums to %.17g, not 1 (tolerance %g)", i, s, tol);
    }
    return 0;
}

int st_ynode_check_rates(const st_ydoc *doc, const st_ynode *n, const double *q, size_t rows,
                         size_t cols, double tol, st_err *e)
{
    if (rows != cols)
        return st_ynode_error(doc, n, e, ST_EDATA, "rate matrix must be square, found %zu x %zu",
                              rows, cols);
    for (size_t i = 0; i < rows; i++) {
        double s = 0, diag = q[i * cols + i];
        for (size_t j = 0; j < cols; j++) {
            double x = q[i * cols + j];
            if (j != i && !(x >= 0))
                return st_ynode_error(doc, cell_node(n, rows, cols, i, j), e, ST_EDATA,
                                      "row %zu: off-diagonal rate %.17g is negative", i, x);
            s += x;
        }
        if (!(fabs(s) <= tol * fmax(1.0, fabs(diag))))
            return st_ynode_error(doc, cell_node(n, rows, cols, i, SIZE_MAX), e, ST_EDATA,
                                  "row %zu of the rate matrix sums to %.17g, not 0 (tolerance %g)",
                                  i, s, tol);
    }
    return 0;
}

int st_ymodel_header(const st_ydoc *doc, const char *family, st_err *e)
{
    const st_ynode *root = st_ydoc_root(doc), *mn, *vn;
    if (!root)
        return st_err_set(e, ST_EINTERNAL, doc_path(doc), 0, 0, "no document");
    if (root->kind != ST_YMAP)
        return st_ynode_error(doc, root, e, ST_EFORMAT,
                              "a model file is a mapping starting with 'model: %s', found %s",
                              family, kind_name(root));
    int rc = st_ymap_require(doc, root, "model", &mn, e);
    if (rc)
        return rc;
    const char *name;
    rc = st_ynode_string(doc, mn, &name, e);
    if (rc)
        return rc;
    if (strcmp(name, family) != 0) {
        char sb[64];
        return st_ynode_error(doc, mn, e, ST_EFORMAT, "model is '%s', expected '%s'",
                              shown(mn, sb, sizeof sb), family);
    }
    rc = st_ymap_require(doc, root, "version", &vn, e);
    if (rc)
        return rc;
    long v;
    rc = st_ynode_long(doc, vn, LONG_MIN, LONG_MAX, &v, e);
    if (rc)
        return rc;
    if (v != 1)
        return st_ynode_error(doc, vn, e, ST_EFORMAT,
                              "unsupported %s model version %ld (this program reads version 1)",
                              family, v);
    return 0;
}

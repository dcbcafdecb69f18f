/* Binary stream stage (stoch-stream(5)): magic, version, JSON header,
 * then chunks of packed little-endian records, each with a 16-byte head
 * (u32 nrows, u32 payload bytes, u32 CRC-32 of the uncompressed payload,
 * u8 codec, 3 pad bytes); a chunk with nrows 0 ends the stream.  In a
 * version 1.1 stream (one with string columns) each chunk's payload starts
 * with the dictionary entries its rows introduce: per string column a u32
 * count, then each entry as a u32 length and its UTF-8 bytes; zero bytes
 * pad the section to a multiple of 8; it is never compressed (codec 1
 * compresses the records after it).  Every inconsistency is an error with
 * the byte offset where it was found. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/stream_impl.h"

const unsigned char st_bin_magic[8] = {0x89, 'S', 'T', 'B', '\r', '\n', 0x1a, '\n'};

#define MAX_HEADER (16u << 20)
#define MAX_CHUNK ((size_t)1 << 30)

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

size_t st_dtype_size(st_dtype d)
{
    return d == ST_F4 || d == ST_I4 || d == ST_STR ? 4 : 8;
}

#define NAT INT64_MIN     /* numpy's missing time */
#define NO_CODE 0xFFFFFFFFu /* a missing string */

static int parse_json_header(st_reader *r, const char *text, size_t n, long long base, st_err *e)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, n, 0, &jerr);
    if (!root)
        return st_err_set_offset(e, ST_EFORMAT, r->path, base + jerr.position,
                                 "bad JSON header: %s", jerr.text);
    int rc = ST_OK;
    json_t *cols = json_object_get(root, "columns");
    json_t *meta = json_object_get(root, "meta");
    if (!json_is_object(root) || !json_is_array(cols) || json_array_size(cols) == 0) {
        rc = st_err_set_offset(e, ST_EFORMAT, r->path, base,
                               "bad JSON header: needs a non-empty \"columns\" array");
        goto out;
    }
    if (meta && !json_is_object(meta)) {
        rc = st_err_set_offset(e, ST_EFORMAT, r->path, base, "bad JSON header: \"meta\" is not an object");
        goto out;
    }
    r->ncols = json_array_size(cols);
    r->names = calloc(r->ncols, sizeof *r->names);
    r->dtypes = calloc(r->ncols, sizeof *r->dtypes);
    r->coloff = calloc(r->ncols, sizeof *r->coloff);
    r->dicts = calloc(r->ncols, sizeof *r->dicts);
    r->kind = calloc(r->ncols, sizeof *r->kind);
    r->int_only = calloc(r->ncols, sizeof *r->int_only);
    if (!r->names || !r->dtypes || !r->coloff || !r->dicts || !r->kind || !r->int_only) {
        rc = st_err_nomem(e, "column table");
        goto out;
    }
    r->all_f8 = 1;
    for (size_t j = 0; j < r->ncols; j++) {
        json_t *c = json_array_get(cols, j);
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *dt = json_string_value(json_object_get(c, "dtype"));
        if (!name || !dt) {
            rc = st_err_set_offset(e, ST_EFORMAT, r->path, base,
                                   "bad JSON header: column %zu needs string \"name\" and \"dtype\"", j + 1);
            goto out;
        }
        if (st_dtype_parse(dt, &r->dtypes[j]) < 0) {
            rc = st_err_set_offset(e, ST_EFORMAT, r->path, base,
                                   "unknown dtype '%.20s' for column '%.100s' "
                                   "(known: <f8 <f4 <i8 <i4 <M8[D] <M8[M] <M8[s] str)", dt, name);
            goto out;
        }
        if (r->dtypes[j] == ST_STR && r->minor < 1) {
            rc = st_err_set_offset(e, ST_EFORMAT, r->path, base,
                                   "string column '%.100s' in a version 1.0 stream (strings need 1.1)", name);
            goto out;
        }
        r->names[j] = strdup(name);
        if (!r->names[j]) {
            rc = st_err_nomem(e, "column name");
            goto out;
        }
        r->coloff[j] = r->rowsize;
        r->rowsize += st_dtype_size(r->dtypes[j]);
        r->all_f8 &= r->dtypes[j] == ST_F8;
        if (r->dtypes[j] == ST_STR) {
            r->nstr++;
            if ((rc = st_strdict_new(&r->dicts[j], e)) < 0)
                goto out;
        }
    }
    r->slow_decode = !r->all_f8;
    r->all_num = 1;
    for (size_t j = 0; j < r->ncols; j++)
        r->all_num &= st_dtype_is_numeric(r->dtypes[j]);
    if ((rc = st_check_names(r->names, r->ncols, r->path, 0, e)) < 0) {
        e->offset = base;
        goto out;
    }
    if (meta) {
        r->meta = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!r->meta)
            rc = st_err_nomem(e, "meta");
    }
out:
    json_decref(root);
    return rc;
}

int st_bin_open(st_reader *r, st_err *e)
{
    unsigned char head[16];
    size_t got;
    r->format = ST_FMT_BIN;
    int rc = st_in_read(r, head, sizeof head, &got, e);
    if (rc < 0)
        return rc;
    if (got < sizeof head || memcmp(head, st_bin_magic, 8) != 0)
        return st_err_set_offset(e, ST_EFORMAT, r->path, 0, "bad magic or truncated binary header");
    unsigned major = head[8] | head[9] << 8, minor = head[10] | head[11] << 8;
    if (major != 1 || minor > 1)
        return st_err_set_offset(e, ST_EFORMAT, r->path, 8,
                                 "unsupported stream version %u.%u (this reader reads 1.0 and 1.1)", major, minor);
    r->minor = (int)minor;
    uint32_t hlen = get_u32(head + 12);
    if (hlen > MAX_HEADER)
        return st_err_set_offset(e, ST_EFORMAT, r->path, 12, "header length %u is too large", hlen);
    char *text = malloc(hlen + 1);
    if (!text)
        return st_err_nomem(e, "header");
    rc = st_in_read(r, text, hlen, &got, e);
    if (rc == 0 && got < hlen)
        rc = st_err_set_offset(e, ST_EFORMAT, r->path, 16 + (long long)got,
                               "truncated stream: header needs %u bytes, %zu present", hlen, got);
    if (rc == 0)
        rc = parse_json_header(r, text, hlen, 16, e);
    free(text);
    return rc;
}

static int grow(unsigned char **p, size_t *cap, size_t need, st_err *e)
{
    if (need <= *cap)
        return ST_OK;
    unsigned char *q = realloc(*p, need);
    if (!q)
        return st_err_nomem(e, "chunk buffer");
    *p = q;
    *cap = need;
    return ST_OK;
}

/* Read the dictionary section of a chunk (payload p[0..n), at file offset
 * pay): each string column's new entries, appended to its dictionary, then
 * the padding.  *used gets the section's size. */
static int read_dict_section(st_reader *r, const unsigned char *p, size_t n, long long pay, long long at,
                             size_t *used, st_err *e)
{
    size_t k = 0;
    for (size_t j = 0; j < r->ncols; j++) {
        if (r->dtypes[j] != ST_STR || r->kind[j] == ST_K_IDS) /* not a string column of the stream */
            continue;
        if (n - k < 4)
            return st_err_set_offset(e, ST_EFORMAT, r->path, pay + (long long)k,
                                     "dictionary of chunk at byte %lld cut short", at);
        uint32_t count = get_u32(p + k);
        k += 4;
        if (count > (n - k) / 4)
            return st_err_set_offset(e, ST_EFORMAT, r->path, pay + (long long)k - 4,
                                     "dictionary of chunk at byte %lld: %u entries do not fit", at, count);
        for (uint32_t i = 0; i < count; i++) {
            if (n - k < 4)
                return st_err_set_offset(e, ST_EFORMAT, r->path, pay + (long long)k,
                                         "dictionary of chunk at byte %lld cut short", at);
            uint32_t len = get_u32(p + k);
            if (len > n - k - 4)
                return st_err_set_offset(e, ST_EFORMAT, r->path, pay + (long long)k,
                                         "dictionary entry of %u bytes runs past its chunk at byte %lld", len, at);
            size_t before = st_strdict_size(r->dicts[j]);
            double code;
            int rc = st_strdict_intern(r->dicts[j], (const char *)p + k + 4, len, &code, e);
            if (rc < 0)
                return st_err_set_offset(e, rc, r->path, pay + (long long)k, "column '%.100s': dictionary %s",
                                         r->names[j], e->msg);
            if (st_strdict_size(r->dicts[j]) == before)
                return st_err_set_offset(e, ST_EFORMAT, r->path, pay + (long long)k,
                                         "column '%.100s': dictionary entry repeated", r->names[j]);
            k += 4 + (size_t)len;
        }
    }
    size_t pad = (8 - k % 8) % 8;
    if (n - k < pad)
        return st_err_set_offset(e, ST_EFORMAT, r->path, pay + (long long)k,
                                 "dictionary of chunk at byte %lld: padding cut short", at);
    for (size_t i = 0; i < pad; i++)
        if (p[k + i] != 0)
            return st_err_set_offset(e, ST_EFORMAT, r->path, pay + (long long)(k + i),
                                     "dictionary of chunk at byte %lld: padding is not zero", at);
    *used = k + pad;
    return ST_OK;
}

/* Load the next chunk; sets r->ended at the end chunk. */
static int load_chunk(st_reader *r, st_err *e)
{
    unsigned char head[16];
    size_t got;
    long long at = st_in_offset(r);
    int rc = st_in_read(r, head, sizeof head, &got, e);
    if (rc < 0)
        return rc;
    if (got == 0)
        return st_err_set_offset(e, ST_EFORMAT, r->path, at, "truncated stream: missing end chunk");
    if (got < sizeof head)
        return st_err_set_offset(e, ST_EFORMAT, r->path, at, "truncated stream: chunk head cut short");
    uint32_t nrows = get_u32(head), bytes = get_u32(head + 4), crc = get_u32(head + 8);
    unsigned codec = head[12];
    if (codec != ST_CODEC_RAW && codec != ST_CODEC_ZLIB)
        return st_err_set_offset(e, ST_EFORMAT, r->path, at + 12, "unknown codec %u (known: 0 raw, 1 zlib)", codec);
    if (nrows == 0) {
        if (bytes != 0)
            return st_err_set_offset(e, ST_EFORMAT, r->path, at + 4, "end chunk with %u payload bytes", bytes);
        /* Nothing may follow: `cat a.stb b.stb` must not silently drop b. */
        char extra;
        rc = st_in_read(r, &extra, 1, &got, e);
        if (rc < 0)
            return rc;
        if (got)
            return st_err_set_offset(e, ST_EFORMAT, r->path, at + 16,
                                     "data after the end chunk (concatenated streams? use stoch-cat a b)");
        r->ended = 1;
        return ST_OK;
    }
    if ((size_t)nrows > MAX_CHUNK / r->rowsize)
        return st_err_set_offset(e, ST_EFORMAT, r->path, at, "chunk of %u rows is too large", nrows);
    size_t need = (size_t)nrows * r->rowsize;
    if (bytes > MAX_CHUNK)
        return st_err_set_offset(e, ST_EFORMAT, r->path, at + 4, "payload size %u is too large", bytes);
    if (r->nstr == 0 && codec == ST_CODEC_RAW && bytes != need)
        return st_err_set_offset(e, ST_EFORMAT, r->path, at + 4,
                                 "payload size %u does not match %u rows of %zu bytes", bytes, nrows, r->rowsize);
    long long pay = at + 16;
    /* the dictionary section is not compressed: read the payload as it is,
     * then inflate what follows the section */
    unsigned char *raw;
    if (r->nstr == 0 && codec == ST_CODEC_RAW) {
        if ((rc = grow(&r->chunk, &r->chunk_cap, need, e)) < 0)
            return rc;
        raw = r->chunk;
    } else {
        if ((rc = grow(&r->zpay, &r->zpay_cap, bytes, e)) < 0)
            return rc;
        raw = r->zpay;
    }
    rc = st_in_read(r, raw, bytes, &got, e);
    if (rc < 0)
        return rc;
    if (got < bytes)
        return st_err_set_offset(e, ST_EFORMAT, r->path, pay + (long long)got,
                                 "truncated stream: chunk at byte %lld needs %u payload bytes, %zu present",
                                 at, bytes, got);
    size_t dbytes = 0;
    if (r->nstr && (rc = read_dict_section(r, raw, bytes, pay, at, &dbytes, e)) < 0)
        return rc;
    if (raw != r->chunk) {
        if ((rc = grow(&r->chunk, &r->chunk_cap, dbytes + need, e)) < 0)
            return rc;
        memcpy(r->chunk, raw, dbytes);
        if (codec == ST_CODEC_RAW) {
            if (bytes - dbytes != need)
                return st_err_set_offset(e, ST_EFORMAT, r->path, at + 4,
                                         "payload size %u does not match its dictionary (%zu bytes) and %u rows of "
                                         "%zu bytes", bytes, dbytes, nrows, r->rowsize);
            memcpy(r->chunk + dbytes, raw + dbytes, need);
        } else {
            uLongf out = (uLongf)need;
            int zr = uncompress(r->chunk + dbytes, &out, raw + dbytes, (uLong)(bytes - dbytes));
            if (zr != Z_OK || out != need)
                return st_err_set_offset(e, ST_EFORMAT, r->path, pay + (long long)dbytes,
                                         "zlib payload of chunk at byte %lld %s", at,
                                         zr == Z_OK || zr == Z_BUF_ERROR ? "does not match its row count"
                                                                         : "is corrupt");
        }
    }
    uint32_t sum = (uint32_t)crc32(crc32(0L, Z_NULL, 0), r->chunk, (uInt)(dbytes + need));
    if (sum != crc)
        return st_err_set_offset(e, ST_EFORMAT, r->path, pay,
                                 "bad CRC in chunk at byte %lld (stored %08x, computed %08x)", at, crc, sum);
    r->rec_off = dbytes;
    r->chunk_rows = nrows;
    r->chunk_next = 0;
    return ST_OK;
}

static int decode_error(const st_reader *r, size_t j, long long row, st_err *e, const char *fmt, const char *what)
{
    char why[sizeof e->msg];
    snprintf(why, sizeof why, fmt, what);
    return st_err_set(e, ST_EDATA, r->path, 0, 0, "row %lld: column '%.100s': %s", row + 1, r->names[j], why);
}

#define TWO53 9007199254740992.0

/* A promoted <i8 column: the decimal text of the value, as a code. */
static int i8_id(st_reader *r, size_t j, const unsigned char *p, double *out, st_err *e)
{
    int64_t v;
    memcpy(&v, p, 8);
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v);
    return st_strdict_intern(r->dicts[j], num, (size_t)n, out, e);
}

/* Decode one record into row (the rows of this call before it are
 * r->call_rows[0 .. r->call_n), for a promotion).  row_index is the
 * record's 0-based row in the stream. */
static int decode_row(st_reader *r, const unsigned char *rec, double *row, long long row_index, st_err *e)
{
    for (size_t j = 0; j < r->ncols; j++) {
        const unsigned char *p = rec + r->coloff[j];
        switch (r->dtypes[j]) {
        case ST_F8:
            memcpy(&row[j], p, 8);
            break;
        case ST_F4: {
            float f;
            memcpy(&f, p, 4);
            row[j] = f;
            break;
        }
        case ST_I8: {
            int64_t v;
            memcpy(&v, p, 8);
            row[j] = (double)v;
            if (v > (int64_t)TWO53 || v < -(int64_t)TWO53) {
                char num[24];
                snprintf(num, sizeof num, "%lld", (long long)v);
                if (!r->promote)
                    return decode_error(r, j, row_index, e,
                                        "integer %s is beyond 2^53, where doubles lose digits (stoch-cat reads it "
                                        "exactly)", num);
                int rc = st_promote(r, j, e);
                if (rc == ST_OK)
                    rc = i8_id(r, j, p, &row[j], e); /* from here on the column is ST_STR */
                if (rc < 0)
                    return rc;
            }
            break;
        }
        case ST_I4: {
            int32_t v;
            memcpy(&v, p, 4);
            row[j] = v;
            break;
        }
        case ST_STR: {
            if (r->kind[j] == ST_K_IDS) { /* a promoted <i8 column */
                int rc = i8_id(r, j, p, &row[j], e);
                if (rc < 0)
                    return rc;
                break;
            }
            uint32_t c;
            memcpy(&c, p, 4);
            if (c == NO_CODE) {
                row[j] = NAN;
            } else if (c >= st_strdict_size(r->dicts[j])) {
                char num[16];
                snprintf(num, sizeof num, "%u", c);
                return decode_error(r, j, row_index, e, "string code %s is not in the dictionary", num);
            } else {
                row[j] = c;
            }
            break;
        }
        default: { /* times */
            int64_t v;
            memcpy(&v, p, 8);
            if (v == NAT) {
                row[j] = NAN;
                break;
            }
            if (v > (int64_t)TWO53 || v < -(int64_t)TWO53 ||
                (r->dtypes[j] == ST_MONTH && (v > 120000 || v < -120000))) {
                char num[24];
                snprintf(num, sizeof num, "%lld", (long long)v);
                return decode_error(r, j, row_index, e, "time value %s is out of range", num);
            }
            if (r->dtypes[j] == ST_MONTH) {
                int64_t y = v >= 0 ? v / 12 : -((-v + 11) / 12);
                row[j] = (double)st_days_from_civil(1970 + y, (unsigned)(v - 12 * y) + 1, 1);
            } else {
                row[j] = (double)v;
            }
            break;
        }
        }
    }
    return ST_OK;
}

/* Numbers only, nothing promoted: k records into rows, the loop without
 * error paths.  Returns nonzero if an <i8 value is beyond 2^53: then the
 * rows must be decoded again by decode_row (a promotion, or the error). */
static int decode_plain(const st_reader *r, const unsigned char *src, double *dst, size_t k)
{
    /* the column layout in locals: the byte copies below may alias r */
    const st_dtype *dt = r->dtypes;
    const size_t *off = r->coloff;
    size_t nc = r->ncols, rs = r->rowsize;
    uint64_t big = 0;
    /* a column at a time over blocks of rows that stay in the cache: one
     * type per inner loop, so no branch per cell */
    enum { BLOCK = 256 };
    for (size_t i0 = 0; i0 < k; i0 += BLOCK) {
        size_t m = k - i0 < BLOCK ? k - i0 : BLOCK;
        const unsigned char *s0 = src + i0 * rs;
        double *d0 = dst + i0 * nc;
        for (size_t j = 0; j < nc; j++) {
            const unsigned char *p = s0 + off[j];
            double *d = d0 + j;
            switch (dt[j]) {
            case ST_F8:
                for (size_t i = 0; i < m; i++) {
                    double x;
                    memcpy(&x, p + i * rs, 8);
                    d[i * nc] = x;
                }
                break;
            case ST_F4:
                for (size_t i = 0; i < m; i++) {
                    float f;
                    memcpy(&f, p + i * rs, 4);
                    d[i * nc] = f;
                }
                break;
            case ST_I8:
                for (size_t i = 0; i < m; i++) {
                    int64_t v;
                    memcpy(&v, p + i * rs, 8);
                    d[i * nc] = (double)v;
                    big |= (uint64_t)v + (UINT64_C(1) << 53) > (UINT64_C(1) << 54);
                }
                break;
            default:
                for (size_t i = 0; i < m; i++) {
                    int32_t v;
                    memcpy(&v, p + i * rs, 4);
                    d[i * nc] = v;
                }
                break;
            }
        }
    }
    return big != 0;
}

int st_bin_read(st_reader *r, double *rows, size_t max, size_t *n, st_err *e)
{
    *n = 0;
    while (*n < max && !r->ended) {
        if (r->chunk_next == r->chunk_rows) {
            int rc = load_chunk(r, e);
            if (rc < 0)
                return rc;
            continue;
        }
        size_t k = r->chunk_rows - r->chunk_next;
        if (k > max - *n)
            k = max - *n;
        const unsigned char *src = r->chunk + r->rec_off + r->chunk_next * r->rowsize;
        double *dst = rows + *n * r->ncols;
        if (!r->slow_decode) {
            memcpy(dst, src, k * r->rowsize);
        } else if (r->all_num && !decode_plain(r, src, dst, k)) {
            /* done */
        } else {
            r->call_rows = rows;
            for (size_t i = 0; i < k; i++) {
                r->call_n = *n + i;
                int rc = decode_row(r, src + i * r->rowsize, dst + i * r->ncols, r->rows_done + (long long)i, e);
                if (rc < 0) {
                    r->call_rows = NULL;
                    return rc;
                }
            }
            r->call_rows = NULL;
        }
        r->chunk_next += k;
        *n += k;
        r->rows_done += (long long)k;
    }
    if (*n)
        r->last = (long)(r->rows_done - 1);
    return ST_OK;
}

int st_bin_next(st_reader *r, double *row, st_err *e)
{
    size_t n;
    int rc = st_bin_read(r, row, 1, &n, e);
    return rc < 0 ? rc : (int)n;
}

/* ------------------------------------------------------------ writing */

static int write_all(FILE *fp, const void *p, size_t n, st_err *e)
{
    if (n && fwrite(p, 1, n, fp) != n)
        return st_err_set(e, ST_EIO, NULL, 0, 0, "write error: %s", strerror(errno));
    return ST_OK;
}

int st_bin_write_header(FILE *fp, const char *const *names, const st_dtype *dtypes, size_t ncols,
                        const char *meta_json, st_err *e)
{
    int rc = ST_OK, minor = 0;
    for (size_t j = 0; j < ncols; j++)
        minor |= dtypes[j] == ST_STR; /* 1.1 only with strings: numeric streams stay 1.0 */
    char *text = NULL;
    json_t *root = json_object(), *cols = json_array(), *meta = NULL;
    if (!root || !cols) {
        rc = st_err_nomem(e, "header");
        goto out;
    }
    for (size_t j = 0; j < ncols; j++) {
        json_t *c = json_pack("{s:s, s:s}", "name", names[j], "dtype", st_dtype_name(dtypes[j]));
        if (!c || json_array_append_new(cols, c) < 0) {
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "column name %zu is not valid UTF-8", j + 1);
            goto out;
        }
    }
    json_object_set_new(root, "columns", cols);
    cols = NULL;
    if (meta_json) {
        json_error_t jerr;
        meta = json_loads(meta_json, 0, &jerr);
        if (!json_is_object(meta)) {
            rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "meta is not a JSON object: %s",
                            meta ? "wrong type" : jerr.text);
            goto out;
        }
        json_object_set(root, "meta", meta);
    } else {
        json_object_set_new(root, "meta", json_object());
    }
    text = json_dumps(root, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (!text) {
        rc = st_err_nomem(e, "header");
        goto out;
    }
    size_t n = strlen(text);
    size_t padded = (16 + n + 7) / 8 * 8 - 16;
    if (padded > MAX_HEADER) {
        rc = st_err_set(e, ST_EUSAGE, NULL, 0, 0, "header of %zu bytes is too large", padded);
        goto out;
    }
    unsigned char head[16];
    memcpy(head, st_bin_magic, 8);
    head[8] = 1, head[9] = 0, head[10] = (unsigned char)minor, head[11] = 0;
    put_u32(head + 12, (uint32_t)padded);
    static const char spaces[8] = "        ";
    if ((rc = write_all(fp, head, 16, e)) < 0 || (rc = write_all(fp, text, n, e)) < 0 ||
        (rc = write_all(fp, spaces, padded - n, e)) < 0)
        goto out;
out:
    free(text);
    json_decref(cols);
    json_decref(meta);
    json_decref(root);
    return rc;
}

int st_bin_write_chunk(FILE *fp, const unsigned char *dict, size_t dbytes, const unsigned char *records,
                       uint32_t nrows, size_t rbytes, int codec, unsigned char **zbuf, size_t *zcap, st_err *e)
{
    unsigned char head[16] = {0};
    const unsigned char *out = records;
    size_t outn = rbytes;
    put_u32(head, nrows);
    uLong crc = crc32(0L, Z_NULL, 0);
    if (nrows) {
        crc = crc32(crc, dict, (uInt)dbytes);
        crc = crc32(crc, records, (uInt)rbytes);
    }
    put_u32(head + 8, nrows ? (uint32_t)crc : 0);
    head[12] = ST_CODEC_RAW;
    if (codec == ST_CODEC_ZLIB && rbytes > 0) {
        uLongf bound = compressBound((uLong)rbytes);
        int rc = grow(zbuf, zcap, bound, e);
        if (rc < 0)
            return rc;
        uLongf zn = bound;
        if (compress2(*zbuf, &zn, records, (uLong)rbytes, 1) != Z_OK)
            return st_err_nomem(e, "zlib compressor");
        /* Keep a chunk raw when compression does not pay. */
        if (zn < rbytes) {
            out = *zbuf;
            outn = zn;
            head[12] = ST_CODEC_ZLIB;
        }
    }
    if (dbytes + outn > MAX_CHUNK)
        return st_err_set(e, ST_EUSAGE, NULL, 0, 0, "chunk of %zu bytes is too large", dbytes + outn);
    put_u32(head + 4, (uint32_t)(dbytes + outn));
    int rc = write_all(fp, head, 16, e);
    if (rc == 0)
        rc = write_all(fp, dict, dbytes, e);
    if (rc == 0)
        rc = write_all(fp, out, outn, e);
    if (rc == 0 && fflush(fp) != 0)
        rc = st_err_set(e, ST_EIO, NULL, 0, 0, "write error: %s", strerror(errno));
    return rc;
}

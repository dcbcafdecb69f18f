/* Binary stream stage (stoch-stream(5)): magic, version, JSON header,
 * then chunks of packed little-endian records, each with a 16-byte head
 * (u32 nrows, u32 payload bytes, u32 CRC-32 of the uncompressed payload,
 * u8 codec, 3 pad bytes); a chunk with nrows 0 ends the stream.  Every
 * inconsistency is an error with the byte offset where it was found. */
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
    return d == ST_F8 || d == ST_I8 ? 8 : 4;
}

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
    if (!r->names || !r->dtypes || !r->coloff) {
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
                                   "unknown dtype '%.20s' for column '%.100s' (known: <f8 <f4 <i8 <i4)", dt, name);
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
    }
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
    if (major != 1)
        return st_err_set_offset(e, ST_EFORMAT, r->path, 8,
                                 "unsupported stream version %u.%u (this reader reads 1.x)", major, minor);
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
    if (codec == ST_CODEC_RAW && bytes != need)
        return st_err_set_offset(e, ST_EFORMAT, r->path, at + 4,
                                 "payload size %u does not match %u rows of %zu bytes", bytes, nrows, r->rowsize);
    if (bytes > MAX_CHUNK)
        return st_err_set_offset(e, ST_EFORMAT, r->path, at + 4, "payload size %u is too large", bytes);
    if ((rc = grow(&r->chunk, &r->chunk_cap, need, e)) < 0)
        return rc;
    long long pay = at + 16;
    if (codec == ST_CODEC_RAW) {
        rc = st_in_read(r, r->chunk, need, &got, e);
    } else {
        if ((rc = grow(&r->zpay, &r->zpay_cap, bytes, e)) < 0)
            return rc;
        rc = st_in_read(r, r->zpay, bytes, &got, e);
    }
    if (rc < 0)
        return rc;
    if (got < bytes)
        return st_err_set_offset(e, ST_EFORMAT, r->path, pay + (long long)got,
                                 "truncated stream: chunk at byte %lld needs %u payload bytes, %zu present",
                                 at, bytes, got);
    if (codec == ST_CODEC_ZLIB) {
        uLongf out = (uLongf)need;
        int zr = uncompress(r->chunk, &out, r->zpay, bytes);
        if (zr != Z_OK || out != need)
            return st_err_set_offset(e, ST_EFORMAT, r->path, pay,
                                     "zlib payload of chunk at byte %lld %s", at,
                                     zr == Z_OK || zr == Z_BUF_ERROR ? "does not match its row count"
                                                                     : "is corrupt");
    }
    uint32_t sum = (uint32_t)crc32(crc32(0L, Z_NULL, 0), r->chunk, (uInt)need);
    if (sum != crc)
        return st_err_set_offset(e, ST_EFORMAT, r->path, pay,
                                 "bad CRC in chunk at byte %lld (stored %08x, computed %08x)", at, crc, sum);
    r->chunk_rows = nrows;
    r->chunk_next = 0;
    return ST_OK;
}

static void decode_row(const st_reader *r, const unsigned char *rec, double *row)
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
            break;
        }
        case ST_I4: {
            int32_t v;
            memcpy(&v, p, 4);
            row[j] = v;
            break;
        }
        }
    }
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
        const unsigned char *src = r->chunk + r->chunk_next * r->rowsize;
        double *dst = rows + *n * r->ncols;
        if (r->all_f8) {
            memcpy(dst, src, k * r->rowsize);
        } else {
            for (size_t i = 0; i < k; i++)
                decode_row(r, src + i * r->rowsize, dst + i * r->ncols);
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
    int rc = ST_OK;
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
    head[8] = 1, head[9] = 0, head[10] = 0, head[11] = 0;
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

int st_bin_write_chunk(FILE *fp, const unsigned char *payload, uint32_t nrows, size_t bytes, int codec,
                       unsigned char **zbuf, size_t *zcap, st_err *e)
{
    unsigned char head[16] = {0};
    const unsigned char *out = payload;
    size_t outn = bytes;
    put_u32(head, nrows);
    put_u32(head + 8, nrows ? (uint32_t)crc32(crc32(0L, Z_NULL, 0), payload, (uInt)bytes) : 0);
    head[12] = ST_CODEC_RAW;
    if (codec == ST_CODEC_ZLIB && bytes > 0) {
        uLongf bound = compressBound((uLong)bytes);
        int rc = grow(zbuf, zcap, bound, e);
        if (rc < 0)
            return rc;
        uLongf zn = bound;
        if (compress2(*zbuf, &zn, payload, (uLong)bytes, 1) != Z_OK)
            return st_err_nomem(e, "zlib compressor");
        /* Keep a chunk raw when compression does not pay. */
        if (zn < bytes) {
            out = *zbuf;
            outn = zn;
            head[12] = ST_CODEC_ZLIB;
        }
    }
    put_u32(head + 4, (uint32_t)outn);
    int rc = write_all(fp, head, 16, e);
    if (rc == 0)
        rc = write_all(fp, out, outn, e);
    if (rc == 0 && fflush(fp) != 0)
        rc = st_err_set(e, ST_EIO, NULL, 0, 0, "write error: %s", strerror(errno));
    return rc;
}

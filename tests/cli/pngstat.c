/* pngstat FILE [#RRGGBB]...: print "WIDTH HEIGHT COLOURS [N]..." of a PNG:
 * the number of distinct pixel colours after decoding it (zlib inflate and
 * the five row filters), then for each colour asked the number of pixels of
 * exactly that colour, so that the tests can tell a picture with its data
 * drawn from a blank one without any other program.  Checks the signature,
 * every chunk's CRC and the data size; 8-bit non-interlaced images (what
 * gnuplot writes: RGB, RGBA, grey, or a palette).
 *
 * pngstat --palette OUT FILE rewrites FILE as a palette PNG of at most 256
 * colours (the most frequent ones; each other colour becomes the nearest of
 * them), zlib level 9: how the README's pictures are made small
 * (make docs-img). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int fail(const char *path, const char *why)
{
    fprintf(stderr, "pngstat: %s: %s\n", path, why);
    return 1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decode path into *pix (w x h colours 0xRRGGBB, malloc'ed); 0 or 1. */
static int decode(const char *path, uint32_t *pw, uint32_t *ph, uint32_t **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(path, "cannot open");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, n;
    unsigned char tmp[65536];
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (len + n > cap) {
            cap = 2 * (len + n);
            buf = realloc(buf, cap);
            if (!buf)
                return fail(path, "out of memory");
        }
        memcpy(buf + len, tmp, n);
        len += n;
    }
    fclose(f);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len < 8 || memcmp(buf, sig, 8) != 0)
        return fail(path, "not a PNG (bad signature)");
    uint32_t w = 0, h = 0;
    int depth = 0, ctype = -1, interlace = 0, seen_end = 0;
    unsigned char *idat = NULL, plte[768];
    size_t ilen = 0, nplte = 0;
    for (size_t off = 8; off + 12 <= len && !seen_end;) {
        uint32_t clen = be32(buf + off);
        if (clen > len - off - 12)
            return fail(path, "truncated chunk");
        const unsigned char *type = buf + off + 4, *data = buf + off + 8;
        if (crc32(crc32(0, NULL, 0), type, clen + 4) != be32(data + clen))
            return fail(path, "bad chunk CRC");
        if (memcmp(type, "IHDR", 4) == 0 && clen == 13) {
            w = be32(data);
            h = be32(data + 4);
            depth = data[8];
            ctype = data[9];
            interlace = data[12];
        } else if (memcmp(type, "PLTE", 4) == 0 && clen <= sizeof plte && clen % 3 == 0) {
            memcpy(plte, data, clen);
            nplte = clen / 3;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            idat = realloc(idat, ilen + clen + 1);
            if (!idat)
                return fail(path, "out of memory");
            memcpy(idat + ilen, data, clen);
            ilen += clen;
        } else if (memcmp(type, "IEND", 4) == 0) {
            seen_end = 1;
        }
        off += 12 + clen;
    }
    if (!seen_end || ctype < 0 || !idat)
        return fail(path, "missing IHDR, IDAT or IEND");
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    if (depth != 8 || interlace || ctype > 6 || !channels[ctype] || w == 0 || h == 0 || w > 100000 || h > 100000)
        return fail(path, "not an 8-bit non-interlaced image");
    size_t bpp = (size_t)channels[ctype], stride = bpp * w, raw_len = (stride + 1) * h;
    unsigned char *raw = malloc(raw_len);
    uLongf got = (uLongf)raw_len;
    if (!raw || uncompress(raw, &got, idat, (uLong)ilen) != Z_OK || got != raw_len)
        return fail(path, "bad image data");
    /* unfilter in place, row by row */
    uint32_t *pix = malloc((size_t)w * h * sizeof *pix);
    if (!pix)
        return fail(path, "out of memory");
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *row = raw + y * (stride + 1) + 1, *prev = y ? row - stride - 1 : NULL;
        int ft = row[-1];
        if (ft > 4)
            return fail(path, "bad row filter");
        for (size_t x = 0; x < stride; x++) {
            int a = x >= bpp ? row[x - bpp] : 0, b = prev ? prev[x] : 0, c = prev && x >= bpp ? prev[x - bpp] : 0;
            int p = ft == 0 ? 0 : ft == 1 ? a : ft == 2 ? b : ft == 3 ? (a + b) / 2 : paeth(a, b, c);
            row[x] = (unsigned char)(row[x] + p);
        }
        for (uint32_t x = 0; x < w; x++) { /* as 0xRRGGBB (alpha ignored) */
            const unsigned char *q = row + x * bpp;
            uint32_t v;
            if (ctype == 3) {
                if (q[0] >= nplte)
                    return fail(path, "palette index out of range");
                const unsigned char *c = plte + 3 * q[0];
                v = (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
            } else if (ctype == 0 || ctype == 4) {
                v = (uint32_t)q[0] << 16 | (uint32_t)q[0] << 8 | q[0];
            } else {
                v = (uint32_t)q[0] << 16 | (uint32_t)q[1] << 8 | q[2];
            }
            pix[(size_t)y * w + x] = v;
        }
    }
    free(raw);
    free(idat);
    free(buf);
    *pw = w;
    *ph = h;
    *out = pix;
    return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static int chunk(FILE *f, const char *type, const unsigned char *data, uint32_t len)
{
    unsigned char head[8];
    put32(head, len);
    memcpy(head + 4, type, 4);
    uLong crc = crc32(crc32(0, NULL, 0), head + 4, 4);
    if (len) /* crc32 with a NULL buffer would restart the sum */
        crc = crc32(crc, data, len);
    unsigned char tail[4];
    put32(tail, (uint32_t)crc);
    return fwrite(head, 1, 8, f) == 8 && (len == 0 || fwrite(data, 1, len, f) == len) && fwrite(tail, 1, 4, f) == 4
               ? 0
               : -1;
}

typedef struct tally {
    uint32_t colour;
    size_t n;
} tally;

static int cmp_count(const void *a, const void *b)
{
    const tally *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return (x->colour > y->colour) - (x->colour < y->colour);
}

static long dist2(uint32_t a, uint32_t b)
{
    long dr = (long)(a >> 16) - (long)(b >> 16), dg = (long)((a >> 8) & 255) - (long)((b >> 8) & 255),
         db = (long)(a & 255) - (long)(b & 255);
    return dr * dr + dg * dg + db * db;
}

/* --palette: the w x h colours of pix as a palette PNG in out. */
static int write_palette(const char *out, const uint32_t *pix, uint32_t w, uint32_t h)
{
    size_t n = (size_t)w * h, nc = 0;
    uint32_t *sorted = malloc(n * sizeof *sorted);
    tally *cs = malloc(n * sizeof *cs);
    unsigned char *raw = malloc((size_t)(w + 1) * h), *z = NULL;
    if (!sorted || !cs || !raw)
        return fail(out, "out of memory");
    memcpy(sorted, pix, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_u32);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || sorted[i] != sorted[i - 1])
            cs[nc++] = (tally){sorted[i], 0};
        cs[nc - 1].n++;
    }
    qsort(cs, nc, sizeof *cs, cmp_count);
    size_t np = nc < 256 ? nc : 256;
    unsigned char plte[768];
    for (size_t k = 0; k < np; k++) {
        plte[3 * k] = (unsigned char)(cs[k].colour >> 16);
        plte[3 * k + 1] = (unsigned char)(cs[k].colour >> 8);
        plte[3 * k + 2] = (unsigned char)cs[k].colour;
    }
    /* each distinct colour's index: itself, or the nearest palette colour */
    uint32_t *key = sorted; /* reuse: distinct colours sorted, then indices */
    size_t nd = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || sorted[i] != key[nd - 1])
            key[nd++] = sorted[i];
    unsigned char *idx = malloc(nd);
    if (!idx)
        return fail(out, "out of memory");
    for (size_t d = 0; d < nd; d++) {
        size_t best = 0;
        long bd = dist2(key[d], cs[0].colour);
        for (size_t k = 1; k < np && bd > 0; k++) {
            long dd = dist2(key[d], cs[k].colour);
            if (dd < bd) {
                bd = dd;
                best = k;
            }
        }
        idx[d] = (unsigned char)best;
    }
    for (uint32_t y = 0; y < h; y++) {
        raw[(size_t)y * (w + 1)] = 0; /* no row filter: palette data compresses best so */
        for (uint32_t x = 0; x < w; x++) {
            uint32_t c = pix[(size_t)y * w + x];
            size_t lo = 0, hi = nd;
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (key[mid] <= c)
                    lo = mid;
                else
                    hi = mid;
            }
            raw[(size_t)y * (w + 1) + 1 + x] = idx[lo];
        }
    }
    uLongf zlen = compressBound((uLong)((size_t)(w + 1) * h));
    if (!(z = malloc(zlen)) || compress2(z, &zlen, raw, (uLong)((size_t)(w + 1) * h), 9) != Z_OK)
        return fail(out, "cannot compress");
    unsigned char ihdr[13] = {0};
    put32(ihdr, w);
    put32(ihdr + 4, h);
    ihdr[8] = 8;
    ihdr[9] = 3;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(sig, 1, 8, f) != 8 || chunk(f, "IHDR", ihdr, 13) || chunk(f, "PLTE", plte, (uint32_t)(3 * np)) ||
        chunk(f, "IDAT", z, (uint32_t)zlen) || chunk(f, "IEND", NULL, 0) || fclose(f) != 0)
        return fail(out, "cannot write");
    free(sorted);
    free(cs);
    free(raw);
    free(z);
    free(idx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--palette") == 0) {
        uint32_t w, h, *pix;
        if (decode(argv[3], &w, &h, &pix))
            return 1;
        int rc = write_palette(argv[2], pix, w, h);
        free(pix);
        return rc;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: pngstat FILE [#RRGGBB]... | pngstat --palette OUT FILE\n");
        return 2;
    }
    uint32_t w, h, *pix;
    if (decode(argv[1], &w, &h, &pix))
        return 1;
    qsort(pix, (size_t)w * h, sizeof *pix, cmp_u32);
    size_t distinct = 0;
    for (size_t i = 0; i < (size_t)w * h; i++)
        distinct += i == 0 || pix[i] != pix[i - 1];
    printf("%u %u %zu", w, h, distinct);
    for (int a = 2; a < argc; a++) {
        unsigned long want = strtoul(argv[a] + (argv[a][0] == '#'), NULL, 16);
        size_t count = 0;
        for (size_t i = 0; i < (size_t)w * h; i++)
            count += pix[i] == want;
        printf(" %zu", count);
    }
    printf("\n");
    free(pix);
    return 0;
}

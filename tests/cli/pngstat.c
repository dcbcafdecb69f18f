/* pngstat FILE [#RRGGBB]...: print "WIDTH HEIGHT COLOURS [N]..." of a PNG:
 * the number of distinct pixel colours after decoding it (zlib inflate and
 * the five row filters), then for each colour asked the number of pixels of
 * exactly that colour, so that the tests can tell a picture with its data
 * drawn from a blank one without any other program.  Checks the signature,
 * every chunk's CRC and the data size; 8-bit non-interlaced images (what
 * gnuplot writes: RGB, RGBA, grey, or a palette). */
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pngstat FILE [#RRGGBB]...\n");
        return 2;
    }
    const char *path = argv[1];
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
    free(raw);
    free(idat);
    free(buf);
    return 0;
}

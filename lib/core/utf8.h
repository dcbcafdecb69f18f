/* One UTF-8 decoder for the YAML reader (which rejects bad bytes) and
 * writer (which escapes what YAML cannot print).  Private to lib/core. */
#ifndef ST_CORE_UTF8_H
#define ST_CORE_UTF8_H

#include <stddef.h>

/* Length (1-4) of the well-formed UTF-8 sequence at s, reading at most
 * avail bytes, with its code point in *cp; 0 for an ill-formed, overlong,
 * surrogate or out-of-range sequence.  A NUL ends a sequence, so a
 * NUL-terminated string may pass (size_t)-1. */
static inline int st_utf8_decode(const unsigned char *s, size_t avail, unsigned *cp)
{
    unsigned c = s[0];
    int n;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, min = 0x10000;
    else
        return 0;
    if ((size_t)n > avail)
        return 0;
    unsigned v = c & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

#endif

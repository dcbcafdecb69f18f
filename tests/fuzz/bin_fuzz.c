/* Fuzz harness: binary streams (stoch-stream(5)).  The input is the
 * stream after its 8-byte magic, which the harness puts back, so that
 * every input reaches the header, chunk and dictionary parsers. */
#include "stream_fuzz.h"

static const uint8_t MAGIC[8] = {0x89, 'S', 'T', 'B', '\r', '\n', 0x1a, '\n'};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 8 && memcmp(data, MAGIC, 8) == 0) {
        stream_fuzz_one(data, size);
        return 0;
    }
    uint8_t *buf = malloc(size + 8);
    if (!buf)
        abort();
    memcpy(buf, MAGIC, 8);
    if (size)
        memcpy(buf + 8, data, size);
    stream_fuzz_one(buf, size + 8);
    free(buf);
    return 0;
}

/* Fuzz harness: CSV input (plain or gzip) through the readers, tables,
 * summaries and a CSV/binary round trip (stream_fuzz.h). */
#include "stream_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stream_fuzz_one(data, size);
    return 0;
}

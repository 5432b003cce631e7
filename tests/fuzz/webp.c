/* Fuzz harness: a WebP file decoded through src/codec/webp.c (libwebp and its demuxer:
 * lossy, lossless, alpha, animation, ICC and EXIF chunks), its rows to the end. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decode(data, size, &webp_reader_ops, webp_read_header);
    return 0;
}

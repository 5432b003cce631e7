/* Fuzz harness: a PNG file decoded through src/codec/png.c (libpng, its longjmp error path included), palette indices or colours, its rows to the end. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decode(data, size, &png_reader_ops, png_read_header);
    return 0;
}

/* Fuzz harness: a TIFF decoded through src/codec/tiff.c (libtiff, with its errors and warnings
 * through the handle's own handlers): strips or tiles, every plane, palette indices or
 * colours, from a file or read whole from a pipe, every page to the end. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decode(data, size, &tiff_reader_ops, tiff_read_header);
    return 0;
}

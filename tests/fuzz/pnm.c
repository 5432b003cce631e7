/* Fuzz harness: a PNM or PAM stream (P1-P7 headers and rasters, several images in a row) through src/codec/pnm.c, every image to its end. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decode(data, size, &pnm_reader_ops, pnm_read_header);
    return 0;
}

/* Fuzz harness: a .npy file: its header (magic, version, header length, the dict of descr, fortran_order and shape) through src/codec/npy.c, then its data. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decode(data, size, &npy_reader_ops, npy_read_header);
    return 0;
}

/* Fuzz harness: a .npy file: its header (magic, version, header length, the dict of descr, fortran_order and shape) through src/codec/npy.c, then its data. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct byte_source src;
    /* The input's length picks the variant: a file or a pipe, palette indices or colours. */
    if (fuzz_source_open(&src, data, size, size % 2 == 0))
        return 0;
    struct reader_options opt = {.max_pixels = FUZZ_MAX_PIXELS,
                                 .max_memory = FUZZ_MAX_MEMORY,
                                 .palette_index = size % 4 < 2};
    struct tensor_reader r = {.ops = &npy_reader_ops, .src = &src, .opt = &opt};
    struct pool_error err;
    if (npy_read_header(&r, &err) == 0)
        fuzz_read_all(&r);
    reader_close(&r);
    source_close(&src);
    return 0;
}

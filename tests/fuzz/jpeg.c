/* Fuzz harness: a JPEG file decoded through src/codec/jpeg.c (libjpeg-turbo, its longjmp error path and its EXIF included), its rows to the end. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct byte_source src;
    /* The input's length picks the variant: a file or a pipe, palette indices or colours,
     * strict or --lenient (which goes on past corrupt data: it must end all the same). */
    if (fuzz_source_open(&src, data, size, size % 2 == 0))
        return 0;
    struct reader_options opt = {.max_pixels = FUZZ_MAX_PIXELS,
                                 .max_memory = FUZZ_MAX_MEMORY,
                                 .palette_index = size % 4 < 2,
                                 .lenient = size % 3 == 0};
    struct tensor_reader r = {.ops = &jpeg_reader_ops, .src = &src, .opt = &opt};
    struct pool_error err;
    if (jpeg_codec_read_header(&r, &err) == 0)
        fuzz_read_all(&r);
    reader_close(&r);
    source_close(&src);
    return 0;
}

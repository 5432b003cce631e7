/* Fuzz harness: a JPEG file decoded through src/codec/jpeg.c (libjpeg-turbo, its longjmp error path and its EXIF included), its rows to the end. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_decode(data, size, &jpeg_reader_ops, jpeg_codec_read_header);
    return 0;
}

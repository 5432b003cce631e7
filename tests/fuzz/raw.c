/* Fuzz harness: raw input's --shape and --dtype strings (src/core/tensor.c, dtype.c), then
 * the data after them read as that raw tensor (src/codec/raw.c). The input is
 * "SHAPE DTYPE\nDATA". */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static void read_raw(const struct tensor_shape *shape, const uint8_t *data, size_t size)
{
    struct byte_source src;
    if (fuzz_source_open(&src, data, size, size % 2 == 0))
        return;
    struct reader_options opt = {.raw = {.given = true, .shape = *shape},
                                 .max_pixels = FUZZ_MAX_PIXELS,
                                 .max_memory = FUZZ_MAX_MEMORY};
    struct tensor_reader r;
    struct pool_error err;
    if (reader_open(&r, &src, &opt, &err) == 0) {
        fuzz_read_all(&r);
        reader_close(&r);
    }
    source_close(&src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *end = memchr(data, '\n', size);
    size_t line = end ? (size_t)(end - data) : size;
    char *text = fuzz_string(data, line);
    if (!text)
        return 0;
    char *dtype = strchr(text, ' ');
    if (dtype)
        *dtype++ = '\0';
    struct tensor_shape shape = {0};
    struct pool_error err;
    if (shape_parse(text, &shape, &err) == 0 && (!dtype || dtype_parse(dtype, &shape.dtype)))
        read_raw(&shape, data + line + (end != NULL), size - line - (end != NULL));
    free(text);
    return 0;
}

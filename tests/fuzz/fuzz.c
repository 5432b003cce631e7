#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_IMAGES 4

char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return NULL;
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

int fuzz_source_open(struct byte_source *src, const uint8_t *data, size_t size, bool known_size)
{
    memset(src, 0, sizeof *src);
    src->name = "fuzz";
    src->size = known_size ? (long long)size : -1;
    /* The source frees its buffer after closing its file: the copy is that buffer. */
    src->buffer = malloc(size ? size : 1);
    if (!src->buffer)
        return -1;
    memcpy(src->buffer, data, size);
    src->fp = fmemopen(src->buffer, size, "rb");
    if (!src->fp) {
        free(src->buffer);
        src->buffer = NULL;
        return -1;
    }
    src->owns_fp = true;
    return 0;
}

/* One image: its rows, then 0. */
static int read_image(struct tensor_reader *r, void *buf, size_t row, size_t rows)
{
    struct pool_error err;
    for (size_t y = 0; y < rows; y++)
        if (r->ops->read(r, buf, row, &err))
            return -1;
    return 0;
}

int fuzz_read_all(struct tensor_reader *r)
{
    for (int image = 0; image < FUZZ_MAX_IMAGES; image++) {
        size_t count;
        struct pool_error err;
        if (tensor_count(&r->shape, &count, &err) || count > FUZZ_MAX_ELEMENTS || count == 0)
            return -1;
        size_t rows = r->shape.dims[0], row = count / rows;
        void *buf = malloc(row * dtype_size(r->shape.dtype));
        if (!buf)
            return -1;
        int rc = read_image(r, buf, row, rows);
        free(buf);
        if (rc)
            return -1;
        if (!r->ops->next)
            return r->ops->finish ? r->ops->finish(r, &err) : 0;
        int more = r->ops->next(r, &err);
        if (more <= 0)
            return more;
    }
    return 0;
}

void fuzz_decode(const uint8_t *data, size_t size, const struct reader_ops *ops,
                 int (*read_header)(struct tensor_reader *r, struct pool_error *err))
{
    struct byte_source src;
    if (fuzz_source_open(&src, data, size, size % 2 == 0))
        return;
    struct reader_options opt = {.max_pixels = FUZZ_MAX_PIXELS,
                                 .max_memory = FUZZ_MAX_MEMORY,
                                 .palette_index = size % 4 < 2,
                                 .lenient = size % 3 == 0};
    struct tensor_reader r = {.ops = ops, .src = &src, .opt = &opt};
    struct pool_error err;
    /* a decoder that shrinks (JPEG's DCT scaling, --fast) does so for 3 sizes in 5 */
    bool shrink = ops->shrink && size % 5 < 3;
    if (read_header(&r, &err) == 0 && (!shrink || ops->shrink(&r, 2u << (size % 5), &err) == 0))
        fuzz_read_all(&r);
    reader_close(&r);
    source_close(&src);
}

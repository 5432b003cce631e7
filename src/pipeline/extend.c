#include "extend.h"

#include <stdlib.h>
#include <string.h>

#include "../core/dtype.h"

struct extend_filter {
    struct row_geom in, out;
    size_t pixel_bytes, in_row_bytes, out_row_bytes;
    unsigned char *row; /* the extended row */
    size_t row_in_slab; /* position of the next input row within its depth slice */
    row_sink_fn sink;
    void *sink_ctx;
};

int extend_create(struct extend_filter **out, const struct row_geom *in, const struct row_geom *to,
                  struct pool_error *err)
{
    *out = NULL;
    struct extend_filter *f = calloc(1, sizeof *f);
    if (!f)
        return pool_fail_resource(err, "out of memory");
    f->in = *in;
    f->out = *to;
    f->pixel_bytes = in->inner * dtype_size(in->dtype);
    f->in_row_bytes = in->size[2] * f->pixel_bytes;
    f->out_row_bytes = to->size[2] * f->pixel_bytes;
    if (!(f->row = malloc(f->out_row_bytes))) {
        free(f);
        return pool_fail_resource(err, "out of memory for an extended row");
    }
    *out = f;
    return 0;
}

void extend_set_sink(struct extend_filter *f, row_sink_fn sink, void *ctx)
{
    f->sink = sink;
    f->sink_ctx = ctx;
}

int extend_push(struct extend_filter *f, const void *row, struct pool_error *err)
{
    memcpy(f->row, row, f->in_row_bytes);
    const unsigned char *last = f->row + f->in_row_bytes - f->pixel_bytes;
    for (size_t at = f->in_row_bytes; at < f->out_row_bytes; at += f->pixel_bytes)
        memcpy(f->row + at, last, f->pixel_bytes);
    if (f->sink(f->sink_ctx, f->row, err))
        return -1;
    if (++f->row_in_slab < f->in.size[1])
        return 0;
    f->row_in_slab = 0;
    for (size_t extra = f->in.size[1]; extra < f->out.size[1]; extra++)
        if (f->sink(f->sink_ctx, f->row, err))
            return -1;
    return 0;
}

void extend_free(struct extend_filter *f)
{
    if (!f)
        return;
    free(f->row);
    free(f);
}

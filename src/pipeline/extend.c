#include "extend.h"

#include <stdlib.h>
#include <string.h>

#include "../core/dtype.h"

struct extend_filter {
    struct row_geom in, out;
    size_t pixel_bytes, in_row_bytes, out_row_bytes;
    unsigned char *row;          /* the extended row */
    size_t row_in_slab;          /* position of the next input row within its depth slice */
    bool front_rows, front_cols; /* copies go before the first row / pixel instead */
    row_sink_fn sink;
    void *sink_ctx;
};

int extend_create(struct extend_filter **out, const struct row_geom *in, const struct row_geom *to,
                  bool front_rows, bool front_cols, struct pool_error *err)
{
    *out = NULL;
    struct extend_filter *f = calloc(1, sizeof *f);
    if (!f)
        return pool_fail_resource(err, "out of memory");
    f->in = *in;
    f->out = *to;
    f->front_rows = front_rows;
    f->front_cols = front_cols;
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

static void extend_row(struct extend_filter *f, const unsigned char *row)
{
    size_t extra = f->out_row_bytes - f->in_row_bytes;
    unsigned char *real = f->row + (f->front_cols ? extra : 0);
    memcpy(real, row, f->in_row_bytes);
    const unsigned char *edge = f->front_cols ? real : real + f->in_row_bytes - f->pixel_bytes;
    unsigned char *copies = f->front_cols ? f->row : real + f->in_row_bytes;
    for (size_t at = 0; at < extra; at += f->pixel_bytes)
        memcpy(copies + at, edge, f->pixel_bytes);
}

static int send_copies(struct extend_filter *f, struct pool_error *err)
{
    for (size_t extra = f->in.size[1]; extra < f->out.size[1]; extra++)
        if (f->sink(f->sink_ctx, f->row, err))
            return -1;
    return 0;
}

int extend_push(struct extend_filter *f, const void *row, struct pool_error *err)
{
    extend_row(f, row);
    bool first = f->row_in_slab == 0, last = f->row_in_slab + 1 == f->in.size[1];
    f->row_in_slab = last ? 0 : f->row_in_slab + 1;
    if ((first && f->front_rows && send_copies(f, err)) || f->sink(f->sink_ctx, f->row, err))
        return -1;
    return last && !f->front_rows ? send_copies(f, err) : 0;
}

void extend_free(struct extend_filter *f)
{
    if (!f)
        return;
    free(f->row);
    free(f);
}

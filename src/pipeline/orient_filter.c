#include "orient_filter.h"

#include <stdlib.h>
#include <string.h>

#include "../core/dtype.h"

struct orient_filter {
    struct row_geom in, out;
    struct orientation o;
    size_t pixel_bytes, rows_held;
    unsigned char *plane, *row;
    row_sink_fn sink;
    void *sink_ctx;
};

int orient_filter_create(struct orient_filter **out, const struct row_geom *in,
                         struct orientation o, struct pool_error *err)
{
    *out = NULL;
    struct orient_filter *f = calloc(1, sizeof *f);
    if (!f)
        return pool_fail_resource(err, "out of memory");
    f->in = f->out = *in;
    f->o = o;
    if (o.transpose) {
        f->out.size[1] = in->size[2];
        f->out.size[2] = in->size[1];
    }
    f->pixel_bytes = in->inner * dtype_size(in->dtype);
    size_t rows = geom_rows_per_plane(in), row_bytes = in->size[2] * f->pixel_bytes, bytes;
    if (__builtin_mul_overflow(rows, row_bytes, &bytes) ||
        !(f->plane = malloc(bytes ? bytes : 1)) ||
        !(f->row = malloc(f->out.size[2] * f->pixel_bytes))) {
        orient_filter_free(f);
        return pool_fail_resource(err, "out of memory to turn a %zux%zu image upright", in->size[2],
                                  in->size[1]);
    }
    *out = f;
    return 0;
}

const struct row_geom *orient_filter_out_geom(const struct orient_filter *f) { return &f->out; }

void orient_filter_set_sink(struct orient_filter *f, row_sink_fn sink, void *ctx)
{
    f->sink = sink;
    f->sink_ctx = ctx;
}

/* U[y][x] = S[sy][sx] (core/orient.h). */
static const unsigned char *source(const struct orient_filter *f, size_t y, size_t x)
{
    size_t h = f->in.size[1], w = f->in.size[2];
    size_t a = f->o.transpose ? x : y, b = f->o.transpose ? y : x;
    size_t sy = f->o.reverse_rows ? h - 1 - a : a, sx = f->o.reverse_cols ? w - 1 - b : b;
    return f->plane + (sy * w + sx) * f->pixel_bytes;
}

int orient_filter_push(struct orient_filter *f, const void *row, struct pool_error *err)
{
    size_t row_bytes = f->in.size[2] * f->pixel_bytes;
    memcpy(f->plane + f->rows_held * row_bytes, row, row_bytes);
    if (++f->rows_held < geom_rows_per_plane(&f->in))
        return 0;
    f->rows_held = 0;
    for (size_t y = 0; y < f->out.size[1]; y++) {
        for (size_t x = 0; x < f->out.size[2]; x++)
            memcpy(f->row + x * f->pixel_bytes, source(f, y, x), f->pixel_bytes);
        if (f->sink(f->sink_ctx, f->row, err))
            return -1;
    }
    return 0;
}

void orient_filter_free(struct orient_filter *f)
{
    if (!f)
        return;
    free(f->plane);
    free(f->row);
    free(f);
}

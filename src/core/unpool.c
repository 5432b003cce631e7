#include "unpool.h"

#include <inttypes.h>
#include <string.h>

static int outside_plane(const struct row_geom *out, int64_t index, size_t element, size_t row,
                         size_t plane_elems, struct pool_error *err)
{
    char plane[64];
    plane_describe(out, plane, sizeof plane);
    return pool_fail(err,
                     "index %" PRId64 " (element %zu of row %zu) lies outside its plane of the "
                     "output, %s = %zu elements (as PyTorch: an invalid max index)",
                     index, element, row, plane, plane_elems);
}

int unpool_scatter_row(struct unpool_band *b, size_t row, const void *values,
                       const int64_t *indices, struct pool_error *err)
{
    const struct row_geom *in = b->in, *out = b->out;
    size_t es = dtype_size(in->dtype), inner = in->inner, width = out->size[2];
    size_t out_rows = geom_rows_per_plane(out), plane_elems = out_rows * width;
    size_t plane = row / geom_rows_per_plane(in), out_row_bytes = geom_row_elems(out) * es;
    size_t n = geom_row_elems(in);
    for (size_t e = 0; e < n; e++) {
        int64_t index = indices[e];
        if (index < 0 || (uint64_t)index >= plane_elems)
            return outside_plane(out, index, e, row, plane_elems, err);
        size_t at = plane * out_rows + (size_t)index / width;
        if (at < b->first || at - b->first >= b->rows)
            continue;
        size_t column = (size_t)index % width, channel = e % inner;
        memcpy((char *)b->data + (at - b->first) * out_row_bytes + (column * inner + channel) * es,
               (const char *)values + e * es, es);
    }
    return 0;
}

size_t unpool_first_input_row(const struct unpool_band *b)
{
    return b->first / geom_rows_per_plane(b->out) * geom_rows_per_plane(b->in);
}

size_t unpool_end_input_row(const struct unpool_band *b)
{
    size_t last_plane = (b->first + b->rows - 1) / geom_rows_per_plane(b->out);
    return (last_plane + 1) * geom_rows_per_plane(b->in);
}

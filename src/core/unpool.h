/*
 * Max unpooling, as PyTorch's max_unpool1d/2d/3d (aten/src/ATen/native/MaxUnpooling.cpp):
 * an output of zeros in which each input value goes to its index, the position in its
 * (batch, channel) plane of the output flattened as max pooling's return_indices gives it,
 * (d H + h) W + w; of two values with one index the later (in C order) stays.
 *
 * The output is made a band of rows at a time, so memory is the band, not the output: the
 * caller streams every input row (values and indices alike) through unpool_scatter_row for
 * each band, then writes the band's rows out.
 */
#ifndef POOL_UNPOOL_H
#define POOL_UNPOOL_H

#include <stdint.h>

#include "error.h"
#include "tensor.h"

/* Output rows [first, first + rows) of the whole output, counted in C order over its
 * planes (plane p's row r is p * rows_per_plane + r); rows of row_elems(out) elements. */
struct unpool_band {
    const struct row_geom *in, *out; /* the values' and the output's geometry */
    size_t first, rows;
    void *data; /* rows * geom_row_elems(out) elements of out's type */
};

/* Scatters input row `row` (counted as the band's) of values and int64 indices into the
 * band: the values that land in it are copied, the others skipped. An index outside its
 * plane fails (err says which and where). */
int unpool_scatter_row(struct unpool_band *b, size_t row, const void *values,
                       const int64_t *indices, struct pool_error *err);
/* The band's first input row that cannot land before it: rows of earlier planes only
 * write earlier output planes. Rows from here on may matter; rows before it cannot. */
size_t unpool_first_input_row(const struct unpool_band *b);
/* The input row after which no row can land in the band (its plane's output lies past). */
size_t unpool_end_input_row(const struct unpool_band *b);

#endif

/*
 * --edge replicate: extends each row by copies of its last element (width) and each plane
 * by copies of its last row (height), so that a pass's last windows are whole (libvips's
 * vips_embed with VIPS_EXTEND_COPY before a shrink); on an axis read backwards (an EXIF-
 * turned image's, pool_pass.reversed) the copies go before the first element or row,
 * where the upright image's far edge is. Memory: one extended row.
 */
#ifndef POOL_EXTEND_H
#define POOL_EXTEND_H

#include "../core/error.h"
#include "../core/stage.h"
#include "../core/tensor.h"

struct extend_filter;

/* out: in with height and width (size[1], size[2]) at least as large; depth unchanged.
 * front_rows, front_cols: the copies of height, of width, go first. */
int extend_create(struct extend_filter **f, const struct row_geom *in, const struct row_geom *out,
                  bool front_rows, bool front_cols, struct pool_error *err);
void extend_set_sink(struct extend_filter *f, row_sink_fn sink, void *ctx);
int extend_push(struct extend_filter *f, const void *row, struct pool_error *err);
void extend_free(struct extend_filter *f);

#endif

/*
 * Turns each pooled image upright (EXIF orientation, core/orient.h) before it is written:
 * the rows of one plane are held until its last one has come, then sent out turned.
 * Memory: one pooled image (planes are turned one at a time).
 */
#ifndef POOL_ORIENT_FILTER_H
#define POOL_ORIENT_FILTER_H

#include "../core/error.h"
#include "../core/orient.h"
#include "../core/stage.h"
#include "../core/tensor.h"

struct orient_filter;

/* in: the stored orientation's rows (2-D: size[0] = 1). Errors: out of memory. */
int orient_filter_create(struct orient_filter **f, const struct row_geom *in, struct orientation o,
                         struct pool_error *err);
/* in with height and width swapped when transposing. */
const struct row_geom *orient_filter_out_geom(const struct orient_filter *f);
void orient_filter_set_sink(struct orient_filter *f, row_sink_fn sink, void *ctx);
int orient_filter_push(struct orient_filter *f, const void *row, struct pool_error *err);
void orient_filter_free(struct orient_filter *f);

#endif

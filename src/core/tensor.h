/* A tensor's shape and layout, and the row stream it is read and written as. */
#ifndef POOL_TENSOR_H
#define POOL_TENSOR_H

#include <stdbool.h>
#include <stddef.h>

#include "dtype.h"
#include "error.h"

#define TENSOR_MAX_DIMS 5

struct tensor_shape {
    enum pool_dtype dtype;
    int ndim;
    size_t dims[TENSOR_MAX_DIMS];
    /* One letter per axis: n (batch), c (channel), d h w or l (spatial). */
    char layout[TENSOR_MAX_DIMS + 1];
};

/*
 * How the pooling core sees a tensor in C order: `planes` independent planes, each of
 * depth*height rows of width*inner elements. Axes before the spatial ones make the planes
 * (n, c in nchw), axes after them are interleaved in each row (c in hwc). Missing spatial
 * axes have size 1: a 1-D tensor has depth = height = 1.
 */
struct row_geom {
    enum pool_dtype dtype;
    size_t planes, inner;
    int nspatial;      /* 1, 2 or 3 */
    size_t size[3];    /* depth, height, width */
    char axis_name[3]; /* 'D', 'H', 'W' (or 'L' for 1-D width) for messages */
};

/* The layout a tensor of ndim axes gets when --layout is not given, or NULL. */
const char *layout_default(int ndim);
/* Checks that a layout is one we know, and that it fits ndim axes. */
int layout_check(const char *layout, int ndim, struct pool_error *err);

/* Element count with overflow check; -1 when it does not fit in size_t. */
int tensor_count(const struct tensor_shape *s, size_t *count, struct pool_error *err);
int tensor_geom(const struct tensor_shape *s, struct row_geom *g, struct pool_error *err);
/* The shape of the same tensor with new spatial sizes (depth, height, width). */
void tensor_respace(struct tensor_shape *s, const size_t size[3]);

/* Drops axes of size 1 (keeping one axis when all are 1); C order is unchanged. */
void tensor_squeeze(struct tensor_shape *s);

size_t geom_row_elems(const struct row_geom *g);
size_t geom_rows_per_plane(const struct row_geom *g);

/* "1x64x56x56" into dims; rejects junk, zeros and overflow. */
int shape_parse(const char *text, struct tensor_shape *s, struct pool_error *err);
/* "1x64x56x56" from dims, into buf of len bytes: the machine's form (as --shape takes it). */
void shape_format(const struct tensor_shape *s, char *buf, size_t len);

/*
 * How a message gives a shape's size to a person, into buf of len bytes. An image (a
 * decoded PNG, JPEG or PNM whose layout was not given with --layout: is_image) is
 * WIDTHxHEIGHT, as every image tool says it, channels left out: "300x200". Anything else
 * (a tensor, an image volume with a depth axis, a shape without a layout) is its dims in
 * its layout's axis order, the layout named when there is one: "8x64x56x56 (NCHW)".
 * Machine-readable outputs (JSON, .npy) keep shape_format.
 */
void shape_describe(const struct tensor_shape *s, bool is_image, char *buf, size_t len);

/*
 * How a message gives a per-axis figure (a kernel, a stride, a receptive field) to a
 * person, into buf of len bytes. v holds depth, height and width as row_geom.size does;
 * the spatial ones of g are given in PyTorch's order (D, H, W), as integers when whole.
 * When every spatial axis agrees, the one value: "3"; else the axes are named:
 * "3x2 (HxW)", "1x2x2 (DxHxW)".
 */
void axes_describe(const double v[3], const struct row_geom *g, char *buf, size_t len);

/* The spatial size of one of g's planes with its axes named, for messages about a
 * tensor's planes: "4x6 (HxW)", "2x4x6 (DxHxW)", "6 (L)". */
void plane_describe(const struct row_geom *g, char *buf, size_t len);

#endif

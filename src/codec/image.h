/* What the image formats share: turning a tensor's shape into a pixel grid a format can
 * store (or saying what to do when it cannot), the pixel limit, and image metadata. */
#ifndef POOL_IMAGE_H
#define POOL_IMAGE_H

#include "codec.h"

struct image_dims {
    size_t height, width, channels;
    enum pool_dtype dtype; /* one the format stores: DT_U8, DT_U16, DT_F32 (TIFF) */
};

/* Checks that a tensor can be written as an image in `format` (its format_caps: the
 * element types and channel counts it stores): layout hw or hwc (or n..., with one batch
 * item). Else fails saying what to do. */
int image_dims_from_shape(const struct tensor_shape *s, enum file_format format,
                          struct image_dims *out, struct pool_error *err);

/* Refuses a declared size over the limit (or that overflows), before anything is allocated. */
int image_check_pixels(unsigned long long width, unsigned long long height,
                       unsigned long long max_pixels, struct pool_error *err);

/* Fills a reader's shape, layout hint and meta for an image of height x width x channels:
 * hw for one channel, hwc otherwise. */
void image_set_shape(struct tensor_reader *r, size_t height, size_t width, size_t channels,
                     enum pool_dtype dtype);

void image_meta_free(struct image_meta *m);
/* The meta's EXIF for an output of width x height (exif.h's exif_rewrite; the orientation
 * tag dropped when m->upright), malloc'd into *out; *out NULL when there is none to write
 * or it cannot be re-encoded. -1 when out of memory (the output must not go without it). */
int image_exif_for_output(const struct image_meta *m, size_t width, size_t height,
                          unsigned char **out, size_t *len, struct pool_error *err);

#endif

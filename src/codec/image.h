/* What the image formats share: turning a tensor's shape into a pixel grid a format can
 * store (or saying what to do when it cannot), the pixel limit, and image metadata. */
#ifndef POOL_IMAGE_H
#define POOL_IMAGE_H

#include "codec.h"

struct image_dims {
    size_t height, width, channels;
    enum pool_dtype dtype; /* DT_U8 or DT_U16 */
};

/* Checks that a tensor can be written as an image by `format_label` ("PNG"...): layout hw or
 * hwc (or n..., with one batch item), u8 (or u16 when allow_16bit), 1 to max_channels
 * channels. */
int image_dims_from_shape(const struct tensor_shape *s, const char *format_label,
                          size_t max_channels, bool allow_16bit, struct image_dims *out,
                          struct pool_error *err);

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

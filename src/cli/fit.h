/*
 * --size GEOMETRY: each image's output size from its own, in ImageMagick's geometry
 * syntax (width first, as every image tool writes it; pool's own SIZE arguments are
 * height first):
 *   W      fit the width, keep the aspect ratio      xH     fit the height
 *   WxH    fit inside both                          WxH^   cover: the shorter side fits
 *   WxH!   exactly W x H (the aspect ratio changes)
 * A size is round(side * scale), half up, at least 1. Never larger than the image: an
 * image already within the geometry keeps its size (and is pooled with kernel 1).
 */
#ifndef POOL_FIT_H
#define POOL_FIT_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/error.h"
#include "../core/pass.h"
#include "../core/tensor.h"

enum fit_rule { FIT_INSIDE, FIT_COVER, FIT_EXACT };

struct fit_geometry {
    size_t width, height; /* 0: not given (W alone, xH alone) */
    enum fit_rule rule;
};

/* Parses GEOMETRY; errors say what a geometry looks like. */
int fit_parse(const char *s, struct fit_geometry *g, struct pool_error *err);

/* The output height and width of an image of h x w; false when that is its own size. */
bool fit_size(const struct fit_geometry *g, size_t h, size_t w, size_t *out_h, size_t *out_w);

/* A pass's output size for a tensor of geometry in: height and width fitted, depth kept.
 * *changed: false when that is the input's own size. Errors: fewer than 2 spatial axes. */
int fit_output_size(const struct fit_geometry *g, const struct row_geom *in, struct size_arg *out,
                    bool *changed, struct pool_error *err);

/* "512x512^" back, for messages. */
void fit_format(const struct fit_geometry *g, char *buf, size_t len);

#endif

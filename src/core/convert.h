/*
 * sRGB <-> linear light, as row filters around the pooling passes (--linear): 8- and
 * 16-bit sRGB rows become f64 linear rows, and back, rounding to the nearest code.
 * An alpha channel (the last one, when has_alpha) is scaled into [0, 1) without the curve:
 * by a power of two above the largest code, so that its averages round exactly.
 */
#ifndef POOL_CONVERT_H
#define POOL_CONVERT_H

#include <stdbool.h>

#include "error.h"
#include "stage.h"
#include "tensor.h"

enum convert_direction {
    SRGB_TO_LINEAR,
    LINEAR_TO_SRGB,
    RESCALE, /* codes 0..maxval to the type's full range (a PNM maxval) */
};

struct convert_stage;

/* in: a u8/u16 geometry (SRGB_TO_LINEAR, RESCALE) or the f64 one it became
 * (LINEAR_TO_SRGB, with `code_type` the type to return to). maxval: the largest code
 * (a PNM maxval), or 0 for the type's (255, 65535). */
int convert_create(struct convert_stage **out, enum convert_direction dir,
                   const struct row_geom *in, enum pool_dtype code_type, unsigned maxval,
                   bool has_alpha, struct pool_error *err);
const struct row_geom *convert_out_geom(const struct convert_stage *c);
void convert_set_sink(struct convert_stage *c, row_sink_fn sink, void *ctx);
int convert_push(struct convert_stage *c, const void *row, struct pool_error *err);
void convert_free(struct convert_stage *c);

/* n u8 or u16 codes 0..maxval stretched to the type's full range, rounded half up (in
 * may be out). */
void rescale_codes(enum pool_dtype t, const void *in, void *out, size_t n, unsigned maxval);

/* The curve itself, for tests: code in [0, max] to linear [0, 1] and back. */
double srgb_to_linear(double encoded);
double linear_to_srgb(double linear);

#endif

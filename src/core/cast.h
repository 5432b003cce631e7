/*
 * Pixel-format conversions, as row filters beside the pooling passes:
 *   CAST_TYPE     every element to another element type (--output-dtype): to a float type
 *                 the nearest value; to an integer type rounded half away from zero (half
 *                 up for the non-negative values of images) and clamped to the type's
 *                 range, NaN giving 0;
 *   CAST_DEPTH    8-bit samples to 16-bit (v * 257) or back (round(v * 255 / 65535), half
 *                 up, in integers): --depth;
 *   CAST_COMPOSITE  an image with alpha (the last channel) composited over a background
 *                 colour and the alpha dropped (ImageMagick's -alpha remove):
 *                 c' = round((c a + b (M - a)) / M), M the type's largest code, half up.
 *                 Gray+alpha over a colour that is not gray becomes RGB.
 * Conversions never fail once created.
 */
#ifndef POOL_CAST_H
#define POOL_CAST_H

#include "error.h"
#include "stage.h"
#include "tensor.h"

enum cast_kind { CAST_TYPE, CAST_DEPTH, CAST_COMPOSITE };

struct cast_stage;

/* CAST_TYPE: to, any type. CAST_DEPTH: in and to u8 or u16. CAST_COMPOSITE: in u8 or u16
 * with inner 2 (gray+alpha) or 4 (RGBA), background the colour's red, green and blue as
 * 8-bit codes (scaled by 257 for 16-bit images). Errors: the conversion does not apply to
 * the data (says why), out of memory. */
int cast_create(struct cast_stage **out, enum cast_kind kind, const struct row_geom *in,
                enum pool_dtype to, const unsigned char background[3], struct pool_error *err);
const struct row_geom *cast_out_geom(const struct cast_stage *c);
/* CAST_COMPOSITE's channels out of `inner` (2 or 4) over background: 1 or 3. */
size_t cast_composite_channels(size_t inner, const unsigned char background[3]);
void cast_set_sink(struct cast_stage *c, row_sink_fn sink, void *ctx);
int cast_push(struct cast_stage *c, const void *row, struct pool_error *err);
void cast_free(struct cast_stage *c);

#endif

/*
 * GeoTIFF georeferencing (OGC GeoTIFF 1.1, sections 7.2 and 7.3 for raster space, 7.4
 * for the tags that tie it to model space), carried from a TIFF input to a TIFF output
 * so that it stays true after pooling: each output pixel stands for a cell of the input
 * (codec.h's pixel_grid), so the tie points move to where that cell lies and the pixel
 * scale grows by the stride. Pure arithmetic, no libtiff: the TIFF module reads and
 * writes the tags.
 */
#ifndef POOL_GEOREF_H
#define POOL_GEOREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/error.h"

/* The tags, by number (GeoTIFF 1.1 Annex A). */
#define GEOTIFF_PIXEL_SCALE 33550    /* ModelPixelScaleTag: ScaleX, ScaleY, ScaleZ */
#define GEOTIFF_TIEPOINTS 33922      /* ModelTiepointTag: (I, J, K, X, Y, Z) each */
#define GEOTIFF_TRANSFORMATION 34264 /* ModelTransformationTag: 4x4, row by row */
#define GEOTIFF_KEY_DIRECTORY 34735  /* GeoKeyDirectoryTag: SHORTs */
#define GEOTIFF_DOUBLE_PARAMS 34736  /* GeoDoubleParamsTag */
#define GEOTIFF_ASCII_PARAMS 34737   /* GeoAsciiParamsTag */

struct pixel_grid;

/* One image's georeferencing, every array malloc'd (NULL and 0 when absent). */
struct georef {
    bool has_pixel_scale, has_transformation;
    double pixel_scale[3];
    double transformation[16];
    double *tiepoints; /* tiepoint_values doubles: six per tie point */
    size_t tiepoint_values;
    uint16_t *keys; /* the key directory as stored: a 4-SHORT header, then 4 a key */
    size_t key_count;
    double *double_params;
    size_t double_count;
    char *ascii_params; /* NUL-terminated */
};

/* Whether g ties the raster to a model at all: a pixel scale, tie points or a
 * transformation. */
bool georef_present(const struct georef *g);

/* Whether the key directory says RasterPixelIsPoint (GTRasterTypeGeoKey 1025 = 2): raster
 * coordinates then name pixel centres, not corners (section 7.3; the default is area). */
bool georef_pixel_is_point(const struct georef *g);

/* out: a copy of `in` for the output of passes whose pixels lie on `grid` (known): pixel
 * scale times the grid's scale, tie points and the transformation moved to the output's
 * raster space, keys and parameters as they are. -1 (resource error) when out of memory. */
int georef_for_output(const struct georef *in, const struct pixel_grid *grid, struct georef *out,
                      struct pool_error *err);

/* A deep copy; -1 when out of memory. */
int georef_copy(const struct georef *in, struct georef *out, struct pool_error *err);
/* Frees the arrays and zeroes g (the struct itself is the caller's). */
void georef_clear(struct georef *g);

#endif

#include "georef.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h" /* struct pixel_grid */

#define RASTER_TYPE_KEY 1025 /* GTRasterTypeGeoKey */
#define RASTER_PIXEL_IS_POINT 2

bool georef_present(const struct georef *g)
{
    return g->has_pixel_scale || g->has_transformation || g->tiepoint_values;
}

bool georef_pixel_is_point(const struct georef *g)
{
    /* header: version, revision, minor revision, number of keys; then (id, location,
     * count, value) each, the value inline when location is 0 */
    if (g->key_count < 4)
        return false;
    size_t keys = g->keys[3];
    for (size_t k = 0; k < keys && 4 + 4 * k + 3 < g->key_count; k++) {
        const uint16_t *e = g->keys + 4 + 4 * k;
        if (e[0] == RASTER_TYPE_KEY && e[1] == 0)
            return e[3] == RASTER_PIXEL_IS_POINT;
    }
    return false;
}

static void *copy_of(const void *p, size_t bytes, bool *failed)
{
    if (!p)
        return NULL;
    void *q = malloc(bytes ? bytes : 1);
    if (!q)
        *failed = true;
    else
        memcpy(q, p, bytes);
    return q;
}

int georef_copy(const struct georef *in, struct georef *out, struct pool_error *err)
{
    bool failed = false;
    *out = *in;
    out->tiepoints = copy_of(in->tiepoints, in->tiepoint_values * sizeof(double), &failed);
    out->keys = copy_of(in->keys, in->key_count * sizeof(uint16_t), &failed);
    out->double_params = copy_of(in->double_params, in->double_count * sizeof(double), &failed);
    out->ascii_params = copy_of(in->ascii_params,
                                in->ascii_params ? strlen(in->ascii_params) + 1 : 0, &failed);
    if (failed) {
        georef_clear(out);
        return pool_fail_resource(err, "out of memory");
    }
    return 0;
}

void georef_clear(struct georef *g)
{
    free(g->tiepoints);
    free(g->keys);
    free(g->double_params);
    free(g->ascii_params);
    memset(g, 0, sizeof *g);
}

int georef_for_output(const struct georef *in, const struct pixel_grid *grid, struct georef *out,
                      struct pool_error *err)
{
    if (georef_copy(in, out, err))
        return -1;
    /* Input raster coordinates from the output's, per axis: in = a out + b. The grid is
     * in corner coordinates (pixel i spans [i, i + 1)); with PixelIsPoint, coordinate i
     * is pixel i's centre, i + 1/2 in corner terms, so b gains a/2 - 1/2. */
    bool point = georef_pixel_is_point(in);
    double a[2], b[2]; /* [0] x (width), [1] y (height) */
    for (int i = 0; i < 2; i++) {
        int axis = 1 - i; /* the grid's [0] is height */
        a[i] = grid->scale[axis];
        b[i] = grid->origin[axis] + (point ? a[i] / 2 - 0.5 : 0.0);
    }
    if (out->has_pixel_scale) {
        out->pixel_scale[0] *= a[0];
        out->pixel_scale[1] *= a[1];
    }
    /* a tie point names a raster position: the same model point is at (I - b) / a */
    for (size_t t = 0; t + 6 <= out->tiepoint_values; t += 6) {
        out->tiepoints[t] = (out->tiepoints[t] - b[0]) / a[0];
        out->tiepoints[t + 1] = (out->tiepoints[t + 1] - b[1]) / a[1];
    }
    /* model = M (I, J, K, 1): M' = M T with T (I', J', K, 1) = (a I' + b, a J' + b, K, 1) */
    if (out->has_transformation)
        for (int r = 0; r < 4; r++) {
            double *row = out->transformation + 4 * r;
            row[3] += row[0] * b[0] + row[1] * b[1];
            row[0] *= a[0];
            row[1] *= a[1];
        }
    return 0;
}

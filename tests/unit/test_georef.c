/* Unit tests of GeoTIFF georeferencing after pooling (src/codec/georef.c), on cases worked
 * by hand: the model position of an output pixel's corner (or centre, for PixelIsPoint)
 * must be that of the input position the pixel grid names. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "codec/codec.h"
#include "codec/georef.h"

static bool near(double a, double b) { return fabs(a - b) < 1e-9 * (1 + fabs(b)); }

/* 2x2 then 3/2/1 on a UTM image of 30 m pixels: grid scale 4, origin -1 */
static const struct pixel_grid stack_grid = {true, {4.0, 4.0}, {-1.0, -1.0}};

static void test_tiepoint_and_scale(void)
{
    double tie[6] = {0, 0, 0, 500000, 4000000, 0};
    struct georef in = {.has_pixel_scale = true,
                        .pixel_scale = {30, 30, 0},
                        .tiepoints = tie,
                        .tiepoint_values = 6};
    struct georef out;
    struct pool_error err;
    CHECK(georef_for_output(&in, &stack_grid, &out, &err) == 0);
    CHECK(near(out.pixel_scale[0], 120) && near(out.pixel_scale[1], 120) &&
          out.pixel_scale[2] == 0);
    /* output corner (0, 0) is input (-1, -1): 30 m west and north of the tie point */
    double x0 = out.tiepoints[3] + (0 - out.tiepoints[0]) * out.pixel_scale[0];
    double y0 = out.tiepoints[4] - (0 - out.tiepoints[1]) * out.pixel_scale[1];
    CHECK(near(x0, 500000 - 30) && near(y0, 4000000 + 30));
    /* and output corner (3, 5) is input (-1 + 4 * 3, -1 + 4 * 5) = (11, 19) */
    double x = out.tiepoints[3] + (3 - out.tiepoints[0]) * out.pixel_scale[0];
    double y = out.tiepoints[4] - (5 - out.tiepoints[1]) * out.pixel_scale[1];
    CHECK(near(x, 500000 + 11 * 30) && near(y, 4000000 - 19 * 30));
    CHECK(in.tiepoints[0] == 0); /* the input's own is untouched */
    georef_clear(&out);
}

static void test_pixel_is_point(void)
{
    /* GTRasterTypeGeoKey (1025) = RasterPixelIsPoint (2): coordinates name centres */
    uint16_t keys[8] = {1, 1, 0, 1, 1025, 0, 1, 2};
    double tie[6] = {0, 0, 0, 1000, 2000, 0};
    struct georef in = {.has_pixel_scale = true,
                        .pixel_scale = {10, 10, 0},
                        .tiepoints = tie,
                        .tiepoint_values = 6,
                        .keys = keys,
                        .key_count = 8};
    CHECK(georef_pixel_is_point(&in));
    struct pixel_grid half = {true, {2, 2}, {0, 0}};
    struct georef out;
    struct pool_error err;
    CHECK(georef_for_output(&in, &half, &out, &err) == 0);
    /* output pixel 0's centre is input corner coordinate 1: centre coordinate 0.5, 5 m
     * east of input pixel 0's centre */
    double x = out.tiepoints[3] + (0 - out.tiepoints[0]) * out.pixel_scale[0];
    CHECK(near(x, 1005));
    keys[7] = 1; /* RasterPixelIsArea */
    CHECK(!georef_pixel_is_point(&in));
    georef_clear(&out);
}

static void test_transformation(void)
{
    /* a rotated grid: model = M (I, J, 0, 1) */
    struct georef in = {.has_transformation = true,
                        .transformation = {3, 1, 0, 100, 1, -3, 0, 200, 0, 0, 0, 0, 0, 0, 0, 1}};
    struct georef out;
    struct pool_error err;
    CHECK(georef_for_output(&in, &stack_grid, &out, &err) == 0);
    for (double i = 0; i < 3; i++)
        for (double j = 0; j < 3; j++) {
            double I = -1 + 4 * i, J = -1 + 4 * j; /* the input position of output (i, j) */
            const double *m = in.transformation, *n = out.transformation;
            CHECK(near(n[0] * i + n[1] * j + n[3], m[0] * I + m[1] * J + m[3]));
            CHECK(near(n[4] * i + n[5] * j + n[7], m[4] * I + m[5] * J + m[7]));
        }
    georef_clear(&out);
}

static void test_copy_keeps_parameters(void)
{
    uint16_t keys[4] = {1, 1, 0, 0};
    double params[2] = {6378137.0, 298.257223563};
    char ascii[] = "WGS 84|";
    struct georef in = {.keys = keys,
                        .key_count = 4,
                        .double_params = params,
                        .double_count = 2,
                        .ascii_params = ascii};
    struct georef out;
    struct pool_error err;
    CHECK(georef_copy(&in, &out, &err) == 0);
    CHECK(out.keys != keys && out.key_count == 4 && !memcmp(out.keys, keys, sizeof keys));
    CHECK(out.double_params[1] == params[1] && !strcmp(out.ascii_params, ascii));
    georef_clear(&out);
    CHECK(!out.keys && !out.ascii_params && out.key_count == 0);
}

int main(void)
{
    RUN(test_tiepoint_and_scale());
    RUN(test_pixel_is_point());
    RUN(test_transformation());
    RUN(test_copy_keeps_parameters());
    return check_summary();
}

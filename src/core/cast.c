#include "cast.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"

typedef __int128 int128;

struct cast_stage {
    enum cast_kind kind;
    struct row_geom in, out;
    uint64_t background[3]; /* CAST_COMPOSITE: in the image's own codes */
    void *out_row;
    row_sink_fn sink;
    void *sink_ctx;
};

static int128 int_at(enum pool_dtype t, const void *p, size_t i)
{
    switch (t) {
    case DT_U8: return ((const uint8_t *)p)[i];
    case DT_I8: return ((const int8_t *)p)[i];
    case DT_U16: return ((const uint16_t *)p)[i];
    case DT_I16: return ((const int16_t *)p)[i];
    case DT_U32: return ((const uint32_t *)p)[i];
    case DT_I32: return ((const int32_t *)p)[i];
    case DT_U64: return ((const uint64_t *)p)[i];
    default: return ((const int64_t *)p)[i];
    }
}

static double float_at(enum pool_dtype t, const void *p, size_t i)
{
    switch (t) {
    case DT_F16: return half_to_float(((const uint16_t *)p)[i]);
    case DT_F32: return ((const float *)p)[i];
    default: return ((const double *)p)[i];
    }
}

static int128 lowest(enum pool_dtype t)
{
    switch (t) {
    case DT_I8: return INT8_MIN;
    case DT_I16: return INT16_MIN;
    case DT_I32: return INT32_MIN;
    case DT_I64: return INT64_MIN;
    default: return 0;
    }
}

static int128 highest(enum pool_dtype t)
{
    switch (t) {
    case DT_U8: return UINT8_MAX;
    case DT_I8: return INT8_MAX;
    case DT_U16: return UINT16_MAX;
    case DT_I16: return INT16_MAX;
    case DT_U32: return UINT32_MAX;
    case DT_I32: return INT32_MAX;
    case DT_U64: return UINT64_MAX;
    default: return INT64_MAX;
    }
}

static void put_int(enum pool_dtype t, void *p, size_t i, int128 v)
{
    switch (t) {
    case DT_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case DT_I8: ((int8_t *)p)[i] = (int8_t)v; break;
    case DT_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case DT_I16: ((int16_t *)p)[i] = (int16_t)v; break;
    case DT_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case DT_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case DT_U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    default: ((int64_t *)p)[i] = (int64_t)v; break;
    }
}

static void put_float(enum pool_dtype t, void *p, size_t i, double v)
{
    if (t == DT_F16)
        ((uint16_t *)p)[i] = float_to_half(v);
    else if (t == DT_F32)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

/* A float to an integer type: half away from zero, clamped, NaN to 0. */
static int128 float_to_int(double v, enum pool_dtype to)
{
    int128 lo = lowest(to), hi = highest(to);
    if (v != v)
        return 0;
    if (v <= (double)lo)
        return lo;
    if (v >= (double)hi) /* (double)hi rounds up for 64-bit types: still the limit */
        return hi;
    int128 q = (int128)round(v);
    return q < lo ? lo : q > hi ? hi : q;
}

static void cast_element(const struct cast_stage *c, const void *row, size_t i)
{
    enum pool_dtype from = c->in.dtype, to = c->out.dtype;
    if (dtype_is_float(to)) {
        double v = dtype_is_float(from) ? float_at(from, row, i) : (double)int_at(from, row, i);
        put_float(to, c->out_row, i, v);
    } else if (dtype_is_float(from)) {
        put_int(to, c->out_row, i, float_to_int(float_at(from, row, i), to));
    } else {
        int128 v = int_at(from, row, i), lo = lowest(to), hi = highest(to);
        put_int(to, c->out_row, i, v < lo ? lo : v > hi ? hi : v);
    }
}

static void change_depth(const struct cast_stage *c, const void *row, size_t n)
{
    if (c->out.dtype == DT_U16)
        for (size_t i = 0; i < n; i++)
            ((uint16_t *)c->out_row)[i] = (uint16_t)(((const uint8_t *)row)[i] * 257u);
    else /* v * 255 / 65535 = v / 257, half up */
        for (size_t i = 0; i < n; i++)
            ((uint8_t *)c->out_row)[i] = (uint8_t)((2u * ((const uint16_t *)row)[i] + 257u) / 514u);
}

static void composite(const struct cast_stage *c, const void *row, size_t pixels)
{
    bool wide = c->in.dtype == DT_U16;
    uint64_t max = wide ? 65535 : 255;
    size_t in_ch = c->in.inner, out_ch = c->out.inner;
    for (size_t p = 0; p < pixels; p++) {
        size_t at = p * in_ch;
        uint64_t a = (uint64_t)int_at(c->in.dtype, row, at + in_ch - 1);
        for (size_t k = 0; k < out_ch; k++) {
            /* gray+alpha over a colour: the gray value in every channel */
            uint64_t v = (uint64_t)int_at(c->in.dtype, row, at + (in_ch == 2 ? 0 : k));
            uint64_t mixed = (2 * (v * a + c->background[k] * (max - a)) + max) / (2 * max);
            put_int(c->in.dtype, c->out_row, p * out_ch + k, (int128)mixed);
        }
    }
}

static int check_kind(enum cast_kind kind, const struct row_geom *in, enum pool_dtype to,
                      struct pool_error *err)
{
    bool codes = in->dtype == DT_U8 || in->dtype == DT_U16;
    if (kind == CAST_DEPTH && (!codes || (to != DT_U8 && to != DT_U16)))
        return pool_fail(err,
                         "--depth converts 8- and 16-bit samples, and these are %s (for "
                         "other types, --output-dtype)",
                         dtype_name(in->dtype));
    if (kind == CAST_COMPOSITE && !codes)
        return pool_fail(err, "--background composites 8- and 16-bit images, and this is %s",
                         dtype_name(in->dtype));
    if (kind == CAST_COMPOSITE && in->inner != 2 && in->inner != 4)
        return pool_fail(err,
                         "--background needs an alpha channel after gray or RGB (2 or 4 "
                         "interleaved channels), and this image has %zu",
                         in->inner);
    return 0;
}

int cast_create(struct cast_stage **out, enum cast_kind kind, const struct row_geom *in,
                enum pool_dtype to, const unsigned char background[3], struct pool_error *err)
{
    *out = NULL;
    if (check_kind(kind, in, to, err))
        return -1;
    struct cast_stage *c = calloc(1, sizeof *c);
    if (!c)
        return pool_fail_resource(err, "out of memory");
    c->kind = kind;
    c->in = c->out = *in;
    if (kind != CAST_COMPOSITE)
        c->out.dtype = to;
    if (kind == CAST_COMPOSITE) {
        c->out.inner = cast_composite_channels(in->inner, background);
        for (int k = 0; k < 3; k++)
            c->background[k] = background[k] * (in->dtype == DT_U16 ? 257u : 1u);
    }
    c->out_row = malloc(geom_row_elems(&c->out) * dtype_size(c->out.dtype));
    if (!c->out_row) {
        free(c);
        return pool_fail_resource(err, "out of memory");
    }
    *out = c;
    return 0;
}

const struct row_geom *cast_out_geom(const struct cast_stage *c) { return &c->out; }

size_t cast_composite_channels(size_t inner, const unsigned char background[3])
{
    bool gray = background[0] == background[1] && background[1] == background[2];
    return inner == 2 && gray ? 1 : 3;
}

void cast_set_sink(struct cast_stage *c, row_sink_fn sink, void *ctx)
{
    c->sink = sink;
    c->sink_ctx = ctx;
}

int cast_push(struct cast_stage *c, const void *row, struct pool_error *err)
{
    size_t n = geom_row_elems(&c->in);
    if (c->kind == CAST_TYPE)
        for (size_t i = 0; i < n; i++)
            cast_element(c, row, i);
    else if (c->kind == CAST_DEPTH)
        change_depth(c, row, n);
    else
        composite(c, row, n / c->in.inner);
    return c->sink(c->sink_ctx, c->out_row, err);
}

void cast_free(struct cast_stage *c)
{
    if (!c)
        return;
    free(c->out_row);
    free(c);
}

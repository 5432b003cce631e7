#include "convert.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

struct convert_stage {
    enum convert_direction dir;
    struct row_geom in, out;
    bool has_alpha;
    double maxval; /* the largest code: 255, 65535 or a PNM maxval */
    /* Alpha is carried as code / alpha_scale, a power of two above maxval: sums and
     * halves stay exact, so averaged alpha rounds half up as it does without --linear. */
    double alpha_scale;
    unsigned full_max;  /* RESCALE: the type's largest value */
    double *decode_lut; /* SRGB_TO_LINEAR: one entry per code */
    void *out_row;
    row_sink_fn sink;
    void *sink_ctx;
};

/* IEC 61966-2-1 (sRGB): the piecewise curve, on values in [0, 1]. */
double srgb_to_linear(double e) { return e <= 0.04045 ? e / 12.92 : pow((e + 0.055) / 1.055, 2.4); }

double linear_to_srgb(double l)
{
    return l <= 0.0031308 ? 12.92 * l : 1.055 * pow(l, 1 / 2.4) - 0.055;
}

int convert_create(struct convert_stage **out, enum convert_direction dir,
                   const struct row_geom *in, enum pool_dtype code_type, unsigned maxval,
                   bool has_alpha, struct pool_error *err)
{
    *out = NULL;
    if (code_type != DT_U8 && code_type != DT_U16)
        return pool_fail(err, "--linear works on 8- and 16-bit images (this is %s)",
                         dtype_name(code_type));
    struct convert_stage *c = calloc(1, sizeof *c);
    if (!c)
        return pool_fail_resource(err, "out of memory");
    c->dir = dir;
    c->in = c->out = *in;
    c->out.dtype = dir == SRGB_TO_LINEAR ? DT_F64 : code_type;
    c->has_alpha = has_alpha && in->inner >= 2;
    c->full_max = code_type == DT_U8 ? 255 : 65535;
    c->maxval = maxval ? maxval : c->full_max;
    c->alpha_scale = 1;
    while (c->alpha_scale <= c->maxval)
        c->alpha_scale *= 2;
    c->out_row = malloc(geom_row_elems(&c->out) * dtype_size(c->out.dtype));
    if (dir == SRGB_TO_LINEAR) {
        size_t codes = (size_t)c->maxval + 1;
        c->decode_lut = malloc(codes * sizeof *c->decode_lut);
        for (size_t i = 0; c->decode_lut && i < codes; i++)
            c->decode_lut[i] = srgb_to_linear((double)i / c->maxval);
    }
    if (!c->out_row || (dir == SRGB_TO_LINEAR && !c->decode_lut)) {
        convert_free(c);
        return pool_fail_resource(err, "out of memory");
    }
    *out = c;
    return 0;
}

const struct row_geom *convert_out_geom(const struct convert_stage *c) { return &c->out; }

void convert_set_sink(struct convert_stage *c, row_sink_fn sink, void *ctx)
{
    c->sink = sink;
    c->sink_ctx = ctx;
}

static bool is_alpha(const struct convert_stage *c, size_t i)
{
    return c->has_alpha && i % c->in.inner == c->in.inner - 1;
}

static void decode_row(const struct convert_stage *c, const void *row, double *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned code = c->in.dtype == DT_U8 ? ((const uint8_t *)row)[i]
                                             : ((const uint16_t *)row)[i];
        dst[i] = is_alpha(c, i) ? code / c->alpha_scale : c->decode_lut[code];
    }
}

/* Nearest code, halves up; NaN cannot occur (inputs are finite codes). */
static unsigned encode_value(const struct convert_stage *c, double v, bool alpha)
{
    double code = alpha ? floor(v * c->alpha_scale + 0.5)
                        : floor(linear_to_srgb(v < 0   ? 0
                                               : v > 1 ? 1
                                                       : v) *
                                    c->maxval +
                                0.5);
    return code < 0 ? 0 : code > c->maxval ? (unsigned)c->maxval : (unsigned)code;
}

/* v * full / maxval, rounded half up, in integers. */
void rescale_codes(enum pool_dtype t, const void *row, void *dst, size_t n, unsigned maxval)
{
    uint64_t max = maxval, full = t == DT_U8 ? 255 : 65535;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = t == DT_U8 ? ((const uint8_t *)row)[i] : ((const uint16_t *)row)[i];
        uint64_t scaled = (2 * v * full + max) / (2 * max);
        if (scaled > full)
            scaled = full;
        if (t == DT_U8)
            ((uint8_t *)dst)[i] = (uint8_t)scaled;
        else
            ((uint16_t *)dst)[i] = (uint16_t)scaled;
    }
}

int convert_push(struct convert_stage *c, const void *row, struct pool_error *err)
{
    size_t n = geom_row_elems(&c->in);
    if (c->dir == RESCALE) {
        rescale_codes(c->in.dtype, row, c->out_row, n, (unsigned)c->maxval);
    } else if (c->dir == SRGB_TO_LINEAR) {
        decode_row(c, row, c->out_row, n);
    } else {
        const double *src = row;
        for (size_t i = 0; i < n; i++) {
            unsigned code = encode_value(c, src[i], is_alpha(c, i));
            if (c->out.dtype == DT_U8)
                ((uint8_t *)c->out_row)[i] = (uint8_t)code;
            else
                ((uint16_t *)c->out_row)[i] = (uint16_t)code;
        }
    }
    return c->sink(c->sink_ctx, c->out_row, err);
}

void convert_free(struct convert_stage *c)
{
    if (!c)
        return;
    free(c->decode_lut);
    free(c->out_row);
    free(c);
}

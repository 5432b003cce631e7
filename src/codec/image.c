#include "image.h"

#include "exif.h"

#include <stdlib.h>
#include <string.h>

static size_t axis_size(const struct tensor_shape *s, char axis)
{
    const char *p = strchr(s->layout, axis);
    return p ? s->dims[p - s->layout] : 1;
}

/* "8-bit", "8- or 16-bit", "8- or 16-bit unsigned integers or 32-bit float". */
static const char *sample_words(enum file_format f)
{
    if (format_stores(f, DT_F32))
        return "8- or 16-bit unsigned integers or 32-bit float";
    return format_stores(f, DT_U16) ? "8- or 16-bit unsigned integers" : "8-bit unsigned integers";
}

int image_dims_from_shape(const struct tensor_shape *s, enum file_format format,
                          struct image_dims *out, struct pool_error *err)
{
    const char *label = format_label(format);
    size_t max_channels = format_caps(format)->max_channels;
    bool allow_16bit = format_stores(format, DT_U16);
    bool channels_last = !strcmp(s->layout, "hwc") || !strcmp(s->layout, "nhwc");
    bool plain = !strcmp(s->layout, "hw");
    if (!channels_last && !plain) {
        if (strchr(s->layout, 'h') && strchr(s->layout, 'c'))
            return pool_fail(err,
                             "%s stores channels last, and this tensor's layout is %s: "
                             "write .npy instead, or give --layout %s if its last axis "
                             "holds the channels",
                             label, s->layout,
                             s->ndim == 4   ? "nhwc"
                             : s->ndim == 3 ? "hwc"
                                            : "hwc or nhwc");
        return pool_fail(err,
                         "%s stores 2-D images, and this tensor's layout is %s: write "
                         ".npy instead",
                         label, s->layout);
    }
    if (axis_size(s, 'n') != 1)
        return pool_fail(err,
                         "%s holds one image, and this tensor has %zu batch items: write "
                         ".npy instead",
                         label, axis_size(s, 'n'));
    if (s->dtype == DT_U16 && !allow_16bit)
        return pool_fail(err,
                         "%s stores 8-bit samples, and this image is 16-bit: give --depth 8 "
                         "(or write PNG, which holds 16)",
                         label);
    if (!format_stores(format, s->dtype))
        return pool_fail(err,
                         "%s stores %s, and this tensor is %s: write .npy instead, or give "
                         "--output-dtype u8%s",
                         label, sample_words(format), dtype_name(s->dtype),
                         allow_16bit ? " (or u16)" : "");
    out->height = axis_size(s, 'h');
    out->width = axis_size(s, 'w');
    out->channels = channels_last ? axis_size(s, 'c') : 1;
    out->dtype = s->dtype;
    const char *words = format_caps(format)->channel_words;
    if ((out->channels < 1 || out->channels > max_channels) && words)
        return pool_fail(err, "%s stores %s channels, and this tensor has %zu: write .npy instead",
                         label, words, out->channels);
    if (out->channels < 1 || out->channels > max_channels)
        return pool_fail(err,
                         "%s stores 1 to %zu channels, and this tensor has %zu: write .npy "
                         "instead",
                         label, max_channels, out->channels);
    return 0;
}

int image_check_pixels(unsigned long long width, unsigned long long height,
                       unsigned long long max_pixels, struct pool_error *err)
{
    if (width == 0 || height == 0)
        return pool_fail(err, "the image is empty (%llux%llu)", width, height);
    if (width > max_pixels / height)
        return pool_fail(err,
                         "the image declares %llux%llu pixels, over the limit of %llu "
                         "(--max-pixels)",
                         width, height, max_pixels);
    return 0;
}

void image_set_shape(struct tensor_reader *r, size_t height, size_t width, size_t channels,
                     enum pool_dtype dtype)
{
    r->shape.dtype = dtype;
    r->shape.dims[0] = height;
    r->shape.dims[1] = width;
    r->shape.dims[2] = channels;
    r->shape.ndim = channels == 1 ? 2 : 3;
    strcpy(r->layout_hint, channels == 1 ? "hw" : "hwc");
    r->meta.is_image = true;
}

int image_exif_for_output(const struct image_meta *m, size_t width, size_t height,
                          unsigned char **out, size_t *len, struct pool_error *err)
{
    *out = NULL;
    *len = 0;
    int rc = m->exif ? exif_rewrite(m->exif, m->exif_len, m->upright, width, height, out, len) : 0;
    if (rc == -2)
        return pool_fail_resource(err, "out of memory for the EXIF data");
    if (rc)
        *out = NULL;
    return 0;
}

void image_meta_free(struct image_meta *m)
{
    free(m->icc);
    m->icc = NULL;
    m->icc_len = 0;
    free(m->exif);
    m->exif = NULL;
    m->exif_len = 0;
    georef_clear(&m->georef);
}

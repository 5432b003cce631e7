#include "tensor.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const known_layouts[] = {
    "l", "cl", "ncl", "hw", "chw", "nchw", "hwc", "nhwc", "dhw", "cdhw", "ncdhw",
};

const char *layout_default(int ndim)
{
    static const char *const by_ndim[] = {NULL, "l", "hw", "chw", "nchw", "ncdhw"};
    return ndim >= 1 && ndim <= 5 ? by_ndim[ndim] : NULL;
}

int layout_check(const char *layout, int ndim, struct pool_error *err)
{
    bool known = false;
    for (size_t i = 0; i < sizeof known_layouts / sizeof known_layouts[0]; i++)
        known |= !strcmp(layout, known_layouts[i]);
    if (!known)
        return pool_fail(err,
                         "unknown layout '%s' (one of l, cl, ncl, hw, chw, nchw, hwc, nhwc, "
                         "dhw, cdhw, ncdhw)",
                         layout);
    if ((int)strlen(layout) != ndim)
        return pool_fail(err, "layout '%s' has %zu axes but the tensor has %d", layout,
                         strlen(layout), ndim);
    return 0;
}

int tensor_count(const struct tensor_shape *s, size_t *count, struct pool_error *err)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->dims[i] != 0 && n > SIZE_MAX / s->dims[i])
            return pool_fail(err, "shape has too many elements to address");
        n *= s->dims[i];
    }
    if (n > SIZE_MAX / dtype_size(s->dtype))
        return pool_fail(err, "shape has too many bytes to address");
    *count = n;
    return 0;
}

static bool is_spatial(char axis)
{
    return axis == 'd' || axis == 'h' || axis == 'w' || axis == 'l';
}

int tensor_geom(const struct tensor_shape *s, struct row_geom *g, struct pool_error *err)
{
    size_t count;
    if (layout_check(s->layout, s->ndim, err) || tensor_count(s, &count, err))
        return -1;
    memset(g, 0, sizeof *g);
    g->dtype = s->dtype;
    g->planes = g->inner = 1;
    g->size[0] = g->size[1] = g->size[2] = 1;
    g->axis_name[0] = 'D';
    g->axis_name[1] = 'H';
    g->axis_name[2] = 'W';
    int first = -1, last = -1;
    for (int i = 0; i < s->ndim; i++)
        if (is_spatial(s->layout[i])) {
            if (first < 0)
                first = i;
            last = i;
        }
    g->nspatial = last - first + 1;
    for (int i = 0; i < first; i++)
        g->planes *= s->dims[i];
    for (int i = last + 1; i < s->ndim; i++)
        g->inner *= s->dims[i];
    /* Spatial axes fill size[] from the right: width is always size[2]. */
    for (int i = first; i <= last; i++)
        g->size[3 - g->nspatial + (i - first)] = s->dims[i];
    if (g->nspatial == 1)
        g->axis_name[2] = 'L';
    for (int i = 0; i < s->ndim; i++)
        if (s->dims[i] == 0)
            return pool_fail(err, "axis %d of the shape is empty", i);
    return 0;
}

void tensor_respace(struct tensor_shape *s, const size_t size[3])
{
    int spatial_seen = 0, nspatial = 0;
    for (int i = 0; i < s->ndim; i++)
        nspatial += is_spatial(s->layout[i]);
    for (int i = 0; i < s->ndim; i++)
        if (is_spatial(s->layout[i]))
            s->dims[i] = size[3 - nspatial + spatial_seen++];
}

void tensor_squeeze(struct tensor_shape *s)
{
    int kept = 0;
    for (int i = 0; i < s->ndim; i++)
        if (s->dims[i] != 1) {
            s->dims[kept] = s->dims[i];
            s->layout[kept++] = s->layout[i];
        }
    if (kept == 0) {
        s->dims[0] = 1;
        s->layout[0] = s->layout[s->ndim - 1];
        kept = 1;
    }
    s->ndim = kept;
    s->layout[kept] = '\0';
}

size_t geom_row_elems(const struct row_geom *g) { return g->size[2] * g->inner; }
size_t geom_rows_per_plane(const struct row_geom *g) { return g->size[0] * g->size[1]; }

int shape_parse(const char *text, struct tensor_shape *s, struct pool_error *err)
{
    const char *p = text;
    s->ndim = 0;
    for (;;) {
        if (*p < '0' || *p > '9')
            return pool_fail(err, "bad shape '%s': expected sizes like 1x64x56x56", text);
        if (s->ndim == TENSOR_MAX_DIMS)
            return pool_fail(err, "bad shape '%s': at most %d axes", text, TENSOR_MAX_DIMS);
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno == ERANGE || v > SIZE_MAX / 2)
            return pool_fail(err, "bad shape '%s': size too large", text);
        if (v == 0)
            return pool_fail(err, "bad shape '%s': sizes must be at least 1", text);
        s->dims[s->ndim++] = (size_t)v;
        p = end;
        if (*p == '\0')
            return 0;
        if (*p != 'x' && *p != 'X')
            return pool_fail(err, "bad shape '%s': unexpected '%c'", text, *p);
        p++;
    }
}

void shape_format(const struct tensor_shape *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? "x%zu" : "%zu", s->dims[i]);
}

/* The dims from the width and height axes of an image layout (hw, hwc, chw...). */
static bool image_width_height(const struct tensor_shape *s, size_t *width, size_t *height)
{
    const char *w = strchr(s->layout, 'w'), *h = strchr(s->layout, 'h');
    if (!w || !h || strchr(s->layout, 'd'))
        return false;
    *width = s->dims[w - s->layout];
    *height = s->dims[h - s->layout];
    return true;
}

void shape_describe(const struct tensor_shape *s, bool is_image, char *buf, size_t len)
{
    size_t width, height;
    if (is_image && image_width_height(s, &width, &height)) {
        snprintf(buf, len, "%zux%zu", width, height);
        return;
    }
    shape_format(s, buf, len);
    size_t used = strlen(buf);
    if (!s->layout[0] || used + 4 + strlen(s->layout) > len)
        return;
    used += (size_t)snprintf(buf + used, len - used, " (");
    for (const char *a = s->layout; *a; a++)
        buf[used++] = (char)toupper((unsigned char)*a);
    snprintf(buf + used, len - used, ")");
}

/* Appends one figure: whole numbers exactly, fractional strides to 4 digits. */
static size_t append_figure(char *buf, size_t len, size_t used, const char *sep, double v)
{
    if (used >= len)
        return used;
    bool whole = v == floor(v) && fabs(v) < 0x1p53;
    return used + (size_t)snprintf(buf + used, len - used, whole ? "%s%.0f" : "%s%.4g", sep, v);
}

void axes_describe(const double v[3], const struct row_geom *g, char *buf, size_t len)
{
    int first = 3 - g->nspatial;
    bool same = true;
    for (int i = first + 1; i < 3; i++)
        same &= v[i] == v[first];
    size_t used = 0;
    buf[0] = '\0';
    for (int i = same ? 2 : first; i < 3; i++)
        used = append_figure(buf, len, used, i > first && !same ? "x" : "", v[i]);
    if (same || used + 4 + 2 * (size_t)g->nspatial > len)
        return;
    used += (size_t)snprintf(buf + used, len - used, " (");
    for (int i = first; i < 3; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%c", i > first ? "x" : "",
                                 g->axis_name[i]);
    snprintf(buf + used, len - used, ")");
}

void plane_describe(const struct row_geom *g, char *buf, size_t len)
{
    int first = 3 - g->nspatial;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = first; i < 3 && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%zu", i > first ? "x" : "", g->size[i]);
    for (int i = first; i < 3 && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%c%s", i > first ? "x" : " (",
                                 g->axis_name[i], i == 2 ? ")" : "");
}

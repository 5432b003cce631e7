#include "planner.h"

#include <stdlib.h>
#include <string.h>

#include "../codec/codec.h"
#include "../core/cast.h"
#include "../core/orient.h"
#include "../core/plan.h"
#include "messages.h"

/* "2x2" from the spatial entries of a per-axis vector (D, H, W), as integers when whole. */
static void format_axes(const double v[3], int nspatial, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 3 - nspatial; i < 3 && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%.4g", used ? "x" : "", v[i]);
}

static void format_shape(const struct tensor_shape *base, const size_t size[3], char *buf,
                         size_t len)
{
    struct tensor_shape s = *base;
    tensor_respace(&s, size);
    shape_format(&s, buf, len);
}

/* An image's shape as the passes see it, upright: turned by its EXIF orientation (unless
 * --no-auto-orient), its alpha composited away by --background (run.c does the same). */
static void as_pooled(const struct cli_options *o, const struct tensor_reader *r,
                      struct tensor_shape *shape)
{
    const struct image_meta *m = &r->meta;
    if (!m->is_image || shape->ndim < 2)
        return;
    if (!o->no_auto_orient && orientation_of(m->orientation).transpose) {
        size_t h = shape->dims[0];
        shape->dims[0] = shape->dims[1];
        shape->dims[1] = h;
    }
    bool alpha = shape->ndim == 3 && m->has_alpha && (shape->dims[2] == 2 || shape->dims[2] == 4);
    if (o->background_given && alpha)
        shape->dims[2] = cast_composite_channels(shape->dims[2], o->background);
    if (o->background_given && alpha && shape->dims[2] == 1) /* gray over gray: hw */
        shape->ndim = 2;
}

/* The shape to plan: SHAPE itself, or the header of the file it names. */
static int plan_input(const struct cli_options *o, struct tensor_shape *shape,
                      struct pool_error *err)
{
    struct pool_error why;
    memset(shape, 0, sizeof *shape);
    shape->dtype = DT_F32;
    const char *layout = o->layout;
    char file_layout[TENSOR_MAX_DIMS + 1] = "";
    if (shape_parse(o->plan, shape, &why) == 0) {
        layout = layout ? layout : layout_default(shape->ndim);
    } else {
        struct byte_source src;
        struct tensor_reader r;
        if (source_open(&src, o->plan, err))
            return -1;
        int rc = reader_open(&r, &src, &o->reader, err);
        if (rc == 0) {
            *shape = r.shape;
            as_pooled(o, &r, shape);
            const char *chosen = shape->ndim == 2 && r.meta.is_image ? "hw"
                                                                     : reader_default_layout(&r);
            if (!layout && chosen) {
                /* r goes out of scope below: keep a copy of its layout. */
                snprintf(file_layout, sizeof file_layout, "%s", chosen);
                layout = file_layout;
            }
            reader_close(&r);
        }
        source_close(&src);
        if (rc)
            return -1;
    }
    if (!layout)
        return pool_fail(err, "a %d-axis shape has no default layout: give --layout", shape->ndim);
    snprintf(shape->layout, sizeof shape->layout, "%s", layout);
    return 0;
}

static void print_row(FILE *out, const char *pass, const char *mode, const char *shape,
                      const char *stride, const char *field, const char *coverage)
{
    fprintf(out, "%-5s %-7s %-20s %-10s %-10s %s\n", pass, mode, shape, stride, field, coverage);
}

int planner_run(const struct cli_options *o, FILE *out)
{
    struct tensor_shape shape;
    struct row_geom geom;
    struct pool_error err;
    size_t npasses;
    if (plan_input(o, &shape, &err) || tensor_geom(&shape, &geom, &err)) {
        say_failure(&err, o->plan);
        return EXIT_FAILURE_DATA;
    }
    struct pool_pass *passes = options_expand_passes(o, &npasses);
    struct pass_plan *plans = calloc(npasses, sizeof *plans);
    if (!passes || !plans) {
        free(passes);
        free(plans);
        pool_fail_resource(&err, "out of memory");
        say_failure(&err, NULL);
        return EXIT_FAILURE_DATA;
    }
    char text[64], stride[48], field[48], cover[24], number[24];
    int status = 0;
    bool changed;
    if (o->size_given && fit_output_size(&o->size, &geom, &passes[0].output_size, &changed, &err)) {
        say_failure(&err, o->plan);
        free(passes);
        free(plans);
        return EXIT_FAILURE_DATA;
    }
    shape_format(&shape, text, sizeof text);
    print_row(out, "pass", "mode", "output", "stride", "field", "coverage");
    print_row(out, "in", "", text, "", "", "");
    for (size_t i = 0; i < npasses; i++) {
        if (plan_pass(&passes[i], i, npasses, i ? &plans[i - 1].out : &geom,
                      i ? &plans[i - 1] : NULL, &plans[i], &err)) {
            say_failure(&err, o->plan);
            status = EXIT_FAILURE_DATA;
            break;
        }
        format_shape(&shape, plans[i].out.size, text, sizeof text);
        format_axes(plans[i].stride, geom.nspatial, stride, sizeof stride);
        format_axes(plans[i].field, geom.nspatial, field, sizeof field);
        snprintf(cover, sizeof cover, "%.1f%%", 100 * plans[i].coverage);
        snprintf(number, sizeof number, "%zu", i + 1);
        print_row(out, number, mode_name(&passes[i]), text, stride, field, cover);
        for (int w = 0; w < plans[i].nwarnings && !o->quiet; w++)
            say_warning(o->plan, "%s", plans[i].warnings[w].text);
    }
    free(passes);
    free(plans);
    return status;
}

void planner_warn(struct input_warnings *to, const char *what, const struct pool_pass *passes,
                  size_t npasses, const struct row_geom *in)
{
    struct pass_plan prev, cur;
    struct row_geom geom = *in;
    for (size_t i = 0; i < npasses; i++) {
        if (plan_pass(&passes[i], i, npasses, &geom, i ? &prev : NULL, &cur, NULL))
            return;
        warning_give_plan(to, what, &cur);
        geom = cur.out;
        prev = cur;
    }
}

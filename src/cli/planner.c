#include "planner.h"

#include <stdlib.h>
#include <string.h>

#include "../codec/codec.h"
#include "../core/cast.h"
#include "../core/orient.h"
#include "../core/plan.h"
#include "fast.h"
#include "fit.h"
#include "inputs.h"
#include "messages.h"

/* A shape as --plan prints it: an image WxH, a tensor in its layout's order, labelled. */
static void describe_shape(const struct tensor_shape *base, const size_t size[3], bool is_image,
                           char *buf, size_t len)
{
    struct tensor_shape s = *base;
    tensor_respace(&s, size);
    shape_describe(&s, is_image, buf, len);
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

/* The layout a shape is planned in: --layout, else the one the run would choose. */
static int give_layout(const struct cli_options *o, const char *chosen, struct tensor_shape *shape,
                       struct pool_error *err)
{
    const char *layout = o->layout ? o->layout : chosen;
    if (!layout)
        return pool_fail(err, "a %d-axis shape has no default layout: give --layout", shape->ndim);
    snprintf(shape->layout, sizeof shape->layout, "%s", layout);
    return 0;
}

/* --plan SHAPE: a tensor of that shape (never an image: its size is said in its layout). */
static int shape_of_text(const struct cli_options *o, const char *text, struct tensor_shape *shape,
                         struct pool_error *err)
{
    memset(shape, 0, sizeof *shape);
    shape->dtype = DT_F32;
    if (shape_parse(text, shape, err))
        return -1;
    return give_layout(o, layout_default(shape->ndim), shape, err);
}

/* With --fast: whether the decoder does pass 1 (factor), or why not. */
struct fast_plan {
    unsigned factor;
    char why[160];
};

/* --fast: what a run decides (run.c), on the stored image and pass 1 laid on it. */
static void plan_fast(const struct cli_options *o, const struct tensor_reader *r,
                      const struct pool_pass *first, struct fast_plan *fast)
{
    struct tensor_shape stored = r->shape;
    struct pool_error ignored;
    const char *chosen = stored.ndim == 2 && r->meta.is_image ? "hw" : reader_default_layout(r);
    struct orientation turn = orientation_of(
        !o->no_auto_orient && r->meta.is_image && stored.ndim >= 2 ? r->meta.orientation : 1);
    struct pool_pass laid = orient_pass(first, turn);
    fast->factor = give_layout(o, chosen, &stored, &ignored)
                       ? 0
                       : fast_factor(o, r, &stored, &laid, fast->why, sizeof fast->why);
}

/* A file's header: the shape the passes see, whether the file is an image, and with --fast
 * whether its decoder does `first`. */
static int shape_of_file(const struct cli_options *o, const char *path,
                         const struct pool_pass *first, struct tensor_shape *shape, bool *is_image,
                         struct fast_plan *fast, struct pool_error *err)
{
    struct byte_source src;
    struct tensor_reader r;
    if (source_open(&src, path, err))
        return -1;
    int rc = reader_open(&r, &src, &o->reader, err);
    if (rc == 0) {
        *shape = r.shape;
        as_pooled(o, &r, shape);
        const char *chosen = shape->ndim == 2 && r.meta.is_image ? "hw" : reader_default_layout(&r);
        rc = give_layout(o, chosen, shape, err);
        *is_image = r.meta.is_image && !o->layout;
        plan_fast(o, &r, first, fast);
        reader_close(&r);
    }
    source_close(&src);
    return rc;
}

static void print_row(FILE *out, const char *pass, const char *mode, const char *shape,
                      const char *stride, const char *field, const char *coverage)
{
    fprintf(out, "%-5s %-7s %-24s %-14s %-14s %s\n", pass, mode, shape, stride, field, coverage);
}

/* --fast: which path the input takes, under its table. */
static void print_fast(FILE *out, const struct fast_plan *fast)
{
    if (fast->factor)
        fprintf(out, "--fast: the JPEG decoder does pass 1, decoding at 1/%u (DCT scaling)\n",
                fast->factor);
    else if (fast->why[0])
        fprintf(out, "--fast: every pass exact: %s\n", fast->why);
}

/* What every table shares: the passes (with room for their plans), where tables go, and
 * whether one has been printed (tables after it are set apart by a blank line). */
struct plan_run {
    const struct cli_options *o;
    struct pool_pass *passes;
    struct pass_plan *plans;
    size_t npasses;
    FILE *out;
    bool several; /* tables are headed by their input's name */
    bool printed;
};

/* A 3-D shape read as chw whose last axis is 1 to 4 long is most likely an image's hwc:
 * 4000x3000x3 then fails with "axis W: the kernel 8 is larger than the input 3". */
static void hint_channels_last(const struct cli_options *o, const struct tensor_shape *s,
                               struct pool_error *err)
{
    if (o->layout || strcmp(s->layout, "chw") || s->dims[2] > 4 || s->dims[0] <= 4)
        return;
    size_t used = strlen(err->msg);
    snprintf(err->msg + used, sizeof err->msg - used,
             "; if the last axis holds channels, give --layout hwc");
}

/* The table's rows under its header: the input, then each pass (a pass the decoder does
 * marked so). */
static int print_passes(struct plan_run *pr, const char *name, const struct tensor_shape *shape,
                        bool is_image, const struct row_geom *geom, const struct fast_plan *fast,
                        struct pool_error *err)
{
    char text[64], stride[48], field[48], cover[24], number[24];
    shape_describe(shape, is_image, text, sizeof text);
    print_row(pr->out, "pass", "mode", "output", "stride", "field", "coverage");
    print_row(pr->out, "in", "", text, "", "", "");
    for (size_t i = 0; i < pr->npasses; i++) {
        struct pass_plan *plan = &pr->plans[i], *prev = i ? &pr->plans[i - 1] : NULL;
        if (plan_pass(&pr->passes[i], i, pr->npasses, prev ? &prev->out : geom, prev, plan, err)) {
            hint_channels_last(pr->o, shape, err);
            return -1;
        }
        describe_shape(shape, plan->out.size, is_image, text, sizeof text);
        axes_describe(plan->stride, geom, stride, sizeof stride);
        axes_describe(plan->field, geom, field, sizeof field);
        snprintf(cover, sizeof cover, "%.1f%%%s", 100 * plan->coverage,
                 i == 0 && fast->factor ? "  (decoder)" : "");
        snprintf(number, sizeof number, "%zu", i + 1);
        print_row(pr->out, number, mode_name(&pr->passes[i]), text, stride, field, cover);
        for (int w = 0; w < plan->nwarnings && !pr->o->quiet; w++)
            say_warning(name, "%s", plan->warnings[w].text);
    }
    return 0;
}

/* One input's table: a SHAPE (is_text) or a file's header. Says why it cannot be planned
 * and returns 1 then, else 0. */
static int plan_one(struct plan_run *pr, const char *input, bool is_text)
{
    const struct cli_options *o = pr->o;
    const char *name = strcmp(input, "-") ? input : "<stdin>";
    struct tensor_shape shape;
    struct row_geom geom;
    struct pool_error err = {0};
    struct fast_plan fast = {0};
    bool is_image = false, changed;
    int rc = is_text ? shape_of_text(o, input, &shape, &err)
                     : shape_of_file(o, input, &pr->passes[0], &shape, &is_image, &fast, &err);
    if (rc == 0)
        rc = tensor_geom(&shape, &geom, &err);
    if (rc == 0 && o->size_given)
        rc = fit_output_size(&o->size, &geom, &pr->passes[0].output_size, &changed, &err);
    if (rc == 0 && pr->several)
        fprintf(pr->out, "%s%s:\n", pr->printed ? "\n" : "", name);
    pr->printed |= rc == 0;
    if (rc == 0)
        rc = print_passes(pr, name, &shape, is_image, &geom, &fast, &err);
    if (rc == 0) {
        print_fast(pr->out, &fast);
        return 0;
    }
    say_failure(&err, name);
    return EXIT_FAILURE_DATA;
}

/* The files to plan: --plan FILE (not a SHAPE) and the inputs, as a run lists them. Says
 * why not and fails with err's kind set. */
static int list_files(const struct cli_options *o, bool plan_is_file, struct input_list *l,
                      struct pool_error *err)
{
    if (inputs_list_with(l, o, plan_is_file ? o->plan : NULL, err) ||
        (o->shards && inputs_keep_shard(l, o->shard, o->shards, err))) {
        say_failure(err, NULL);
        inputs_free(l);
        return -1;
    }
    return 0;
}

/* The tables, for an input list that has been made. */
static int plan_all(struct plan_run *pr, bool plan_is_file, const struct input_list *files)
{
    int status = plan_is_file ? 0 : plan_one(pr, pr->o->plan, true);
    /* One path decoded at a time: nothing here grows with the number of inputs. */
    struct input_path path;
    for (size_t i = 0; i < files->count; i++)
        if (plan_one(pr, inputs_path(files, i, &path), false))
            status = EXIT_FAILURE_DATA;
    if (files->unreadable)
        status = EXIT_FAILURE_DATA; /* a folder that could not be walked is a failure */
    return status;
}

int planner_run(const struct cli_options *o, FILE *out)
{
    struct pool_error why = {0}, not_shape;
    struct tensor_shape probe;
    bool plan_is_file = shape_parse(o->plan, &probe, &not_shape) != 0;
    struct input_list files = {0};
    if ((plan_is_file || o->inputs_given || o->files_from) &&
        list_files(o, plan_is_file, &files, &why))
        return exit_status_of(&why);
    struct plan_run pr = {.o = o, .out = out, .several = (!plan_is_file) + files.count > 1};
    pr.passes = options_expand_passes(o, &pr.npasses);
    pr.plans = calloc(pr.npasses, sizeof *pr.plans);
    int status;
    if (pr.passes && pr.plans) {
        status = plan_all(&pr, plan_is_file, &files);
    } else {
        pool_fail_resource(&why, "out of memory");
        say_failure(&why, NULL);
        status = EXIT_FAILURE_DATA;
    }
    free(pr.passes);
    free(pr.plans);
    inputs_free(&files);
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

void planner_grid(const struct pool_pass *passes, size_t npasses, const struct row_geom *in,
                  struct pixel_grid *grid)
{
    struct pass_plan prev, cur;
    struct row_geom geom = *in;
    memset(grid, 0, sizeof *grid);
    if (in->nspatial != 2 || npasses == 0)
        return;
    for (size_t i = 0; i < npasses; i++) {
        if (plan_pass(&passes[i], i, npasses, &geom, i ? &prev : NULL, &cur, NULL))
            return;
        geom = cur.out;
        prev = cur;
    }
    grid->known = cur.regular[1] && cur.regular[2];
    for (int axis = 0; axis < 2; axis++) {
        grid->scale[axis] = cur.stride[axis + 1];
        grid->origin[axis] = cur.origin[axis + 1];
    }
}

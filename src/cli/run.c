#include "run.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/cast.h"
#include "../core/orient.h"
#include "../pipeline/pipeline.h"
#include "fast.h"
#include "planner.h"

/* Without --stats the PSNR warning reads about this many output rows, spread over the image
 * (all of a small one), and the input rows paired with them: a few percent of the time on a
 * big image. 64 rows erred by up to 0.8 dB on a page of text, where the rows differ most;
 * 256 by 0.3. */
#define PSNR_ESTIMATE_ROWS 256

#define PALETTE_EXPANDED_TEXT                                                                      \
    "a palette image is averaged as its colours; for a label map, -m mode (or median, "            \
    "nearest) pools its class ids and keeps the palette"

/* One input's state, from opening it to its last image. */
struct input_run {
    const struct run_settings *s;
    struct run_shared *shared;
    const char *path, *name; /* as given, and as messages show it */
    struct byte_source src;
    struct tensor_reader reader;
    struct pipeline pipe;
    struct pool_pass *passes; /* the settings' passes, with this input's alpha rule */
    bool pipe_rescaled;       /* the pipeline stretches PNM codes to the full range */
    /* The image as the passes see it and the writer gets it: after --background (no
     * alpha, maybe RGB), with codes stretched (no maxval); pass_shape's type is the
     * passes' (a float --output-dtype pools in it), its channels after --background. */
    struct image_meta meta;
    struct tensor_shape pass_shape;
    struct orientation turn; /* how the image is turned upright (EXIF) */
    /* --fast: the passes the decoder did as it decoded (0 or 1, the first), and the image
     * as stored, before (the reader's shape is after) */
    struct decoded_passes decoded;
    size_t image;     /* 1-based, within the input */
    size_t loss_pass; /* the PSNR warning reads the stack up to this pass; 0: none */
};

/* The output's format: -f, else the output's extension, else the input's. */
static int choose_format(const struct cli_options *o, const char *path, enum file_format input,
                         enum file_format *out, struct pool_error *err)
{
    struct stat st;
    *out = o->format;
    /* A device or FIFO (/dev/null, a named pipe) gets the input's format, as stdout does. */
    bool special = stat(path, &st) == 0 && !S_ISREG(st.st_mode);
    if (*out == FORMAT_UNKNOWN && strcmp(path, "-") && !special) {
        *out = format_from_path(path);
        char extensions[96];
        format_list(extensions, sizeof extensions, true);
        if (*out == FORMAT_UNKNOWN)
            return pool_fail(err,
                             "cannot tell the output format from the file name: "
                             "use an extension (%s) or -f",
                             extensions);
    }
    if (*out == FORMAT_UNKNOWN)
        *out = input;
    return 0;
}

/* Before the output is opened: can it take what is coming? */
static int check_output(const struct run_settings *s, const char *path, enum file_format format,
                        struct pool_error *err)
{
    const struct cli_options *o = s->opt;
    const struct format_caps *caps = format_caps(format);
    bool text = caps->table;
    if (format_check_built_in(format, false, err))
        return -1;
    if (!strcmp(path, "-") && isatty(STDOUT_FILENO) && !text)
        return pool_fail(err, "refusing to write binary data to a terminal: use -o FILE, a "
                              "pipe, or -f txt");
    if (o->depth_given && o->depth == DT_U16 && caps->image && !format_stores(format, DT_U16))
        return pool_fail(err,
                         "--depth 16 asks for 16-bit samples, and %s holds 8: write PNG or "
                         "TIFF, or give --depth 8",
                         format_label(format));
    if (o->writer.stack && format != FORMAT_NPY)
        return pool_fail(err, "--stack makes one .npy: give -o FILE.npy or -f npy");
    if (o->compression_given && format != FORMAT_TIFF)
        return pool_fail(err, "--compression chooses TIFF's: give -o FILE.tif or -f tiff");
    if (o->writer.lossless && format != FORMAT_WEBP)
        return pool_fail(err, "--lossless asks for lossless WebP (PNG, TIFF and PNM are always "
                              "lossless): give -o FILE.webp or -f webp");
    if (o->writer.no_header && format != FORMAT_CSV)
        return pool_fail(err, "--no-header leaves out a csv table's header: only -f csv has one");
    if (o->writer.stack && !strcmp(path, "-") && lseek(STDOUT_FILENO, 0, SEEK_CUR) < 0)
        return pool_fail(err, "--stack needs a file, not a pipe: its header, which counts the "
                              "inputs, is written again at the end");
    if (o->writer.stack && !strcmp(path, "-") && (fcntl(STDOUT_FILENO, F_GETFL) & O_APPEND))
        return pool_fail(err, "--stack rewrites its header at the end, which a file opened to "
                              "append to (>>) does not allow: use -o FILE");
    bool several = o->ninputs > 1 || o->recursive || o->files_from;
    if (several && !s->one_output_each && format == FORMAT_TIFF && !strcmp(path, "-"))
        return pool_fail(err, "several inputs make a multi-page TIFF, which libtiff seeks in "
                              "as it writes, and standard output holds one page: give -o "
                              "FILE.tif");
    if (several && !s->one_output_each && !(caps->multi_image || o->writer.stack))
        return pool_fail(err, "several inputs go into one csv, txt, PNM or TIFF output (-f csv, "
                              "txt, pnm or tiff) or, with --stack, one .npy; for one output "
                              "each, give -O DIR or an -o template");
    return 0;
}

/* Whether a pass picks its window's values (mode, median, nearest): a label map's. */
static bool pooled_by_label_mode(const struct input_run *in)
{
    for (size_t k = 0; k < in->s->npasses; k++)
        if (mode_selects(in->passes[k].mode))
            return true;
    return false;
}

/* The pass whose stack's PSNR the warning reads (0: no warning), by the man page's rules:
 * the last pass before the first global one (one element on every spatial axis: it keeps
 * a single value by design); by default only on images pooled by no label mode (a label
 * map's or a tensor's loss says nothing about detail); any input with --warn-psnr. */
static size_t loss_warning_pass(const struct input_run *in, const struct row_geom *geom)
{
    const struct cli_options *o = in->s->opt;
    /* (with --fast, the image it would compare against was never decoded) */
    if (o->quiet || o->warn_psnr <= 0 || in->decoded.count)
        return 0;
    if (!o->warn_psnr_given && (!in->reader.meta.is_image || pooled_by_label_mode(in)))
        return 0;
    struct row_geom g = *geom;
    size_t last = 0;
    for (size_t k = 0; k < in->s->npasses; k++) {
        if (pass_out_geom(&in->passes[k], &g, &g, NULL))
            break;
        if (g.size[0] * g.size[1] * g.size[2] == 1)
            break;
        last = k + 1;
    }
    return last;
}

/* A 4-D tensor read as nchw whose W is 1 to 4 and far smaller than C and H is most likely
 * channels-last (N, H, W, C): 8x224x224x3 read as nchw pools a 224x3 "image" per channel. */
static bool looks_channels_last(const struct tensor_shape *s)
{
    size_t c = s->dims[1], h = s->dims[2], w = s->dims[3];
    return s->ndim == 4 && w >= 1 && w <= 4 && c >= 8 * w && h >= 8 * w;
}

/* --size: the pass's output size for this image (height and width; depth kept). */
static int fit_pass(struct input_run *in, const struct row_geom *geom, struct pool_error *err)
{
    const struct cli_options *o = in->s->opt;
    bool changed;
    if (fit_output_size(&o->size, geom, &in->passes[0].output_size, &changed, err))
        return -1;
    if (!changed && !o->quiet && in->image == 1) {
        char g[64];
        fit_format(&o->size, g, sizeof g);
        warning_give(in->shared->warnings, in->name, WARNING_WITHIN_SIZE, 0, false,
                     "already within --size: written at its own size (kernel 1)",
                     "already within --size %s (%zux%zu, width x height): written at its own "
                     "size (kernel 1)",
                     g, geom->size[2], geom->size[1]);
    }
    return 0;
}

/* How this image is turned upright: its EXIF orientation, unless --no-auto-orient. */
static struct orientation upright_turn(const struct input_run *in, const struct row_geom *geom)
{
    const struct image_meta *m = &in->reader.meta;
    bool turn = !in->s->opt->no_auto_orient && m->is_image && m->orientation > 1 &&
                geom->nspatial == 2;
    return orientation_of(turn ? m->orientation : 1);
}

/* The stored image's geometry turned upright: height and width swap for tags 5-8. */
static struct row_geom upright_geom(const struct row_geom *geom, struct orientation turn)
{
    struct row_geom upright = *geom;
    if (turn.transpose) {
        upright.size[1] = geom->size[2];
        upright.size[2] = geom->size[1];
    }
    return upright;
}

/* The passes as given (with --size's size for the upright image), laid on the stored
 * image (core/orient.h). */
static int orient_passes(struct input_run *in, struct orientation turn, const struct row_geom *geom,
                         struct pool_error *err)
{
    const struct cli_options *o = in->s->opt;
    struct row_geom upright = upright_geom(geom, turn);
    memcpy(in->passes, in->s->passes, in->s->npasses * sizeof *in->passes);
    if (o->size_given && fit_pass(in, &upright, err))
        return -1;
    for (size_t i = 0; i < in->s->npasses; i++)
        in->passes[i] = orient_pass(&in->passes[i], turn);
    return 0;
}

/* The plan's warnings, about the upright image (the passes as given). */
static void warn_plan(struct input_run *in, struct orientation turn, const struct row_geom *geom)
{
    struct orientation back = {turn.transpose, false, false};
    struct row_geom upright = upright_geom(geom, turn);
    struct pool_pass *given = malloc(in->s->npasses * sizeof *given);
    if (!given)
        return; /* out of memory: the warnings are left out, the run goes on */
    for (size_t i = 0; i < in->s->npasses; i++)
        given[i] = orient_pass(&in->passes[i], back);
    planner_warn(in->shared->warnings, in->name, given, in->s->npasses, &upright);
    free(given);
}

/* --output-dtype between u8 and u16 on an image keeps the sample values (clamping them):
 * almost never what is meant for pixels, which --depth rescales. */
static void warn_code_types(struct input_run *in, const struct cli_options *o,
                            const struct image_meta *m)
{
    enum pool_dtype from = in->reader.shape.dtype, to = o->output_dtype;
    bool codes = (from == DT_U8 && to == DT_U16) || (from == DT_U16 && to == DT_U8);
    if (!o->output_dtype_given || !m->is_image || !codes || o->quiet || in->image != 1)
        return;
    warning_give(in->shared->warnings, in->name, WARNING_CODE_TYPE, 0, false,
                 "--output-dtype between u8 and u16 keeps sample values (clamped), so 8- and "
                 "16-bit pixels come out far too dark or bright: --depth rescales samples",
                 "--output-dtype %s keeps this %s image's sample values (clamped), so its pixels "
                 "come out far too %s: --depth %s rescales samples",
                 dtype_name(to), dtype_name(from), to == DT_U8 ? "bright" : "dark",
                 to == DT_U8 ? "8" : "16");
}

/* After --background: no alpha; gray over a gray colour loses its channel axis (hw), as a
 * gray image has none; else RGB. */
static void composite_shape(struct tensor_shape *s, struct image_meta *m, size_t channels)
{
    m->has_alpha = false;
    m->color = channels == 3 ? COLOR_RGB : COLOR_GRAY;
    const char *c = strchr(s->layout, 'c');
    if (!c)
        return;
    s->dims[c - s->layout] = channels;
    if (channels == 1 && !strcmp(s->layout, "hwc")) {
        s->ndim = 2;
        strcpy(s->layout, "hw");
    }
}

/* The tensor's layout (--layout, or the reader's), checked, into its shape and geometry. */
static int lay_out(struct input_run *in, struct row_geom *geom, struct pool_error *err)
{
    const struct cli_options *o = in->s->opt;
    struct tensor_shape *shape = &in->reader.shape;
    const char *layout = o->layout ? o->layout : reader_default_layout(&in->reader);
    if (!layout)
        return pool_fail(err, "a %d-axis tensor has no default layout: give --layout", shape->ndim);
    if (layout_check(layout, shape->ndim, err))
        return -1;
    snprintf(shape->layout, sizeof shape->layout, "%s", layout);
    if (!o->layout && !o->quiet && in->image == 1 && !strcmp(layout, "nchw") &&
        looks_channels_last(shape)) {
        char size[96];
        shape_describe(shape, false, size, sizeof size);
        warning_give(in->shared->warnings, in->name, WARNING_LAYOUT, 0, false,
                     "a 4-D tensor whose last axis is 1 to 4 long is read as nchw (the last "
                     "axis is width); if it holds channels, give --layout nhwc",
                     "%s: W is %zu; if the last axis holds channels (NHWC), give --layout "
                     "nhwc",
                     size, shape->dims[3]);
    }
    return tensor_geom(shape, geom, err);
}

/* What happens to an image before and after the passes, and the meta and shape the passes
 * and the writer see: --background composites its alpha (so no alpha weighting), PNM
 * codes below a maxval are stretched for image output, --depth and --background, a float
 * --output-dtype becomes the passes' type. */
static int derive_image(struct input_run *in, const struct row_geom *geom,
                        struct pipeline_options *po, struct pool_error *err)
{
    const struct cli_options *o = in->s->opt;
    const struct image_meta *m = &in->reader.meta;
    warn_code_types(in, o, m);
    if (m->color == COLOR_PALETTE && (o->depth_given || o->output_dtype_given))
        return pool_fail(err,
                         "%s would change the palette indices of this image, which the "
                         "palette gives their colours: give --palette expand to pool its "
                         "colours",
                         o->depth_given ? "--depth" : "--output-dtype");
    po->composite = o->background_given && m->has_alpha && (geom->inner == 2 || geom->inner == 4);
    po->has_alpha = m->has_alpha && geom->inner >= 2 && !po->composite;
    for (size_t i = 0; i < in->s->npasses; i++)
        in->passes[i].premultiply_alpha = po->has_alpha && !o->no_premultiply;
    enum file_format format = in->shared->output.format;
    const struct format_caps *caps = format_caps(format);
    /* 16-bit samples for a format that holds 8 (JPEG, WebP) go to 8 bits, as --depth 8 */
    if (!o->depth_given && !o->output_dtype_given && m->is_image && caps->image &&
        m->color != COLOR_PALETTE && in->reader.shape.dtype == DT_U16 &&
        !format_stores(format, DT_U16) && format_stores(format, DT_U8)) {
        po->change_depth = true;
        po->depth_to = DT_U8;
    }
    /* codes below a maxval are stretched for every image format but PNM, which keeps it */
    po->rescale = (caps->image && !caps->maxval) || po->change_depth || po->composite;
    po->maxval = m->maxval;
    in->pipe_rescaled = po->rescale && m->maxval;
    in->meta = *m;
    in->meta.upright = !orientation_is_identity(in->turn);
    in->pass_shape = in->reader.shape;
    if (in->pipe_rescaled)
        in->meta.maxval = 0;
    if (po->composite) /* an image with alpha is hwc */
        composite_shape(&in->pass_shape, &in->meta,
                        cast_composite_channels(geom->inner, o->background));
    if (o->output_dtype_given && dtype_is_float(o->output_dtype))
        in->pass_shape.dtype = o->output_dtype;
    return 0;
}

/* --fast: the decoder does the first pass as it decodes, where it can (cli/fast.h); geom
 * becomes its output's. */
static int shrink_in_decoder(struct input_run *in, struct row_geom *geom, struct pool_error *err)
{
    struct tensor_reader *r = &in->reader;
    in->decoded.count = 0;
    unsigned k = fast_factor(in->s->opt, r, &r->shape, &in->passes[0], NULL, 0);
    if (!k)
        return 0;
    in->decoded.in = *geom;
    in->decoded.format = r->ops->format;
    if (r->ops->shrink(r, k, err) || tensor_geom(&r->shape, geom, err))
        return -1;
    in->decoded.count = 1;
    return 0;
}

/* GeoTIFF georeferencing reaches a format that carries it only where it stays true. */
static void warn_georef_dropped(struct input_run *in)
{
    if (!georef_present(&in->meta.georef) || in->meta.grid.known || in->s->opt->quiet ||
        !format_caps(in->shared->output.format)->georef)
        return;
    const char *text = !orientation_is_identity(in->turn)
                           ? "GeoTIFF georeferencing dropped: the image was turned upright (its "
                             "Orientation tag), and the georeferencing is of the image as stored"
                           : "GeoTIFF georeferencing dropped: the output's pixels do not lie on "
                             "a regular grid of the input's (an adaptive size that does not "
                             "divide it)";
    warning_give(in->shared->warnings, in->name, WARNING_GEOREF, 0, false, text, "%s", text);
}

/* A label mode keeps values (class ids) that a lossy writer would change. */
static void warn_lossy_labels(struct input_run *in)
{
    const struct cli_options *o = in->s->opt;
    enum file_format format = in->shared->output.format;
    /* (a palette's indices the writer refuses, saying why) */
    if (!pooled_by_label_mode(in) || o->quiet || !format_caps(format)->lossy ||
        o->writer.lossless || in->meta.color == COLOR_PALETTE)
        return;
    warning_give(in->shared->warnings, in->name, WARNING_LOSSY_LABELS, 0, false,
                 "a label mode's values written lossily change (class ids do not survive): "
                 "write PNG or TIFF, or give --lossless for WebP",
                 "%s is lossy, and changes the values a label mode kept (class ids do not "
                 "survive): write PNG or TIFF%s",
                 format_label(format), format == FORMAT_WEBP ? ", or give --lossless" : "");
}

/* Lays out the reader's current image or tensor and builds the pipeline for it. */
static int plan_image(struct input_run *in, struct tensor_shape *out_shape, struct pool_error *err)
{
    const struct cli_options *o = in->s->opt;
    struct row_geom geom;
    struct pipeline_options po = {.linear = o->linear,
                                  .cast = o->output_dtype_given,
                                  .cast_to = o->output_dtype,
                                  .change_depth = o->depth_given,
                                  .depth_to = o->depth,
                                  .measure = o->stats,
                                  .stack_loss = o->stats || o->contact_sheet,
                                  .estimate_rows = PSNR_ESTIMATE_ROWS,
                                  .shift_test = o->shift_test,
                                  .no_decode_ahead = in->s->no_decode_ahead,
                                  .max_memory = reader_max_memory(&o->reader),
                                  .memory_held = in->reader.memory_held,
                                  .simd = o->kernels,
                                  /* a batch's workers take a file each; a pipe's rows
                                   * stream as they come, not a plane at a time */
                                  .threads = in->s->one_output_each || in->src.size < 0 ? 1
                                                                                        : o->jobs};
    if (lay_out(in, &geom, err))
        return -1;
    in->turn = po.orient = upright_turn(in, &geom);
    if (o->indices && !orientation_is_identity(in->turn))
        return pool_fail(err, "--indices point into the image as stored, and its EXIF "
                              "orientation would turn the values: give --no-auto-orient");
    struct row_geom stored = geom;
    if (orient_passes(in, in->turn, &geom, err) || shrink_in_decoder(in, &geom, err) ||
        derive_image(in, &geom, &po, err))
        return -1;
    /* georeferencing follows the passes only on the image as stored and decoded */
    if (orientation_is_identity(in->turn) && !in->decoded.count)
        planner_grid(in->passes, in->s->npasses, &geom, &in->meta.grid);
    warn_georef_dropped(in);
    if (in->image == 1)
        warn_lossy_labels(in);
    po.memory_held = in->reader.memory_held; /* with a shrink's rows */
    char letters[4] = "";
    for (const char *a = in->reader.shape.layout; *a; a++)
        if (strchr("dhwl", *a) && strlen(letters) < 3)
            letters[strlen(letters)] = *a;
    po.spatial_letters = letters;
    po.channels = channel_map_of(&in->pass_shape);
    po.estimate_pass = in->loss_pass = loss_warning_pass(in, &geom);
    memcpy(po.background, o->background, sizeof po.background);
    if (views_wanted(o))
        views_tap_into(&in->shared->views, &po);
    if (o->indices)
        index_file_tap_into(&in->shared->indices, &po);
    pipeline_free(&in->pipe);
    size_t skip = in->decoded.count;
    if (pipeline_build(&in->pipe, in->passes + skip, in->s->npasses - skip, &geom, &po, err))
        return -1;
    if (!o->quiet && !atomic_exchange(&in->shared->once->plan, true))
        warn_plan(in, in->turn, &stored);
    *out_shape = in->pass_shape;
    tensor_respace(out_shape, in->pipe.out.size);
    out_shape->dtype = in->pipe.out.dtype;
    return 0;
}

/* The shape an image is written as: --flatten drops size-1 axes from .npy. */
static struct tensor_shape written_shape(const struct input_run *in,
                                         const struct tensor_shape *out_shape)
{
    struct tensor_shape shape = *out_shape;
    if (in->s->opt->flatten && in->shared->output.format == FORMAT_NPY)
        tensor_squeeze(&shape);
    return shape;
}

/* Where the output begins in its file, when it can be taken back there: a regular file not
 * opened to append to (a temp file, or stdout redirected to a file); else -1. */
static off_t output_start(FILE *fp)
{
    struct stat st;
    int fd = fileno(fp);
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (fcntl(fd, F_GETFL) & O_APPEND))
        return -1;
    return ftello(fp);
}

/* Takes the output back to where it began, without a writer, for the next input to open
 * afresh; false when it cannot. */
static bool rewind_output(struct run_output *out)
{
    writer_close(&out->writer);
    out->open = false;
    FILE *fp = out->file.fp;
    return fp && out->start >= 0 && fflush(fp) == 0 && ftruncate(fileno(fp), out->start) == 0 &&
           fseeko(fp, out->start, SEEK_SET) == 0;
}

/* The first input opens the output: its format, and the first image's shape. */
static int open_output(struct input_run *in, const struct tensor_shape *out_shape,
                       struct pool_error *err)
{
    const struct cli_options *o = in->s->opt;
    struct run_output *out = &in->shared->output;
    struct tensor_shape shape = written_shape(in, out_shape);
    if (!out->file.fp) { /* (else an input before failed, and the file waits, empty) */
        if (output_open(&out->file, out->path, err))
            return pool_blame(err, ERROR_OUTPUT, out->name);
        out->start = output_start(out->file.fp);
    }
    /* What the format cannot hold is about this input: in a batch (where an output may be
     * named by its number alone), a table or a stack (which goes on without it), say which. */
    if (writer_open(&out->writer, out->format, out->file.fp, &shape, &in->meta, &o->writer, err)) {
        if (!rewind_output(out))
            output_abort(&out->file);
        return in->s->one_output_each || gathers(o, out->format)
                   ? pool_blame(err, ERROR_INPUT, in->name)
                   : pool_blame(err, ERROR_OUTPUT, out->name);
    }
    out->open = true;
    return 0;
}

/* A later input goes on in the output the first one opened: it must fit that table. */
static int continue_output(struct input_run *in, const struct tensor_shape *out_shape,
                           struct pool_error *err)
{
    struct tensor_writer *w = &in->shared->output.writer;
    w->shape = written_shape(in, out_shape);
    w->meta = &in->meta;
    w->name = in->name;
    w->new_input = true;
    if (w->ops->next_image(w, err))
        return pool_blame(err, ERROR_INPUT, in->name);
    return 0;
}

/* After an image: 1 when the input holds another (now planned), 0 at its end. */
static int next_image(struct input_run *in, struct tensor_shape *out_shape, struct pool_error *err)
{
    const struct reader_ops *ops = in->reader.ops;
    if (!ops->next)
        return ops->finish ? ops->finish(&in->reader, err) : 0;
    int more = ops->next(&in->reader, err);
    if (more <= 0)
        return more;
    in->image++;
    return plan_image(in, out_shape, err) ? -1 : 1;
}

/* What the passes kept and lost, for --stats and the PSNR warning. */
static int report_pass_figures(struct input_run *in, struct pool_error *err)
{
    const struct cli_options *o = in->s->opt;
    struct run_shared *sh = in->shared;
    if (!atomic_load(&sh->once->psnr) && in->loss_pass &&
        report_warn_psnr(sh->warnings, in->name, in->passes, &in->pipe, in->loss_pass,
                         o->warn_psnr))
        atomic_store(&sh->once->psnr, true);
    bool is_image = in->meta.is_image && !o->layout;
    if (o->stats && report_image(&sh->report, in->name, in->image, &in->pass_shape, is_image,
                                 in->passes, &in->decoded, &in->pipe, in->turn.transpose, err))
        return pool_blame(err, ERROR_OUTPUT, o->stats_file ? o->stats_file : "<stderr>");
    return 0;
}

/* --indices: the last pass's, in the output's shape (--flatten too) as its rows come. */
static int begin_indices(struct input_run *in, const struct tensor_shape *out_shape,
                         struct pool_error *err)
{
    struct tensor_shape shape = *out_shape;
    if (in->s->opt->flatten)
        tensor_squeeze(&shape);
    const struct pass_filter *last = in->pipe.passes[in->pipe.npasses - 1];
    return index_file_begin(&in->shared->indices, &shape,
                            geom_row_elems(pass_filter_out_geom(last)), in->image, err);
}

/* After an image: the contact sheet's captions get each pass's stack PSNR (NaN where it
 * was not measured). */
static int end_views(struct input_run *in, struct pool_error *err)
{
    size_t n = in->pipe.npasses;
    double *psnr = malloc((n ? n : 1) * sizeof *psnr);
    if (!psnr)
        return pool_fail_resource(err, "out of memory");
    for (size_t k = 0; k < n; k++) {
        struct pass_meter *m = pipeline_stack_meter(&in->pipe, k);
        struct meter_figures f = {.psnr = NAN};
        if (m)
            meter_figures(m, &f);
        psnr[k] = f.psnr;
    }
    int rc = views_end_image(&in->shared->views, psnr, err);
    free(psnr);
    return rc;
}

/* What the reader went on past, as warnings. */
static void say_reader_notes(struct input_run *in)
{
    struct reader_notes *n = &in->reader.notes;
    for (unsigned i = 0; i < n->count && !in->s->opt->quiet; i++)
        warning_give(in->shared->warnings, in->name, WARNING_DECODER, 0, false, n->note[i].general,
                     "%s", n->note[i].text);
    n->count = 0;
}

/* Pools every image of the input into the open writer. */
static int pool_images(struct input_run *in, struct tensor_shape *out_shape, struct pool_error *err)
{
    const struct cli_options *o = in->s->opt;
    struct pass_views *views = &in->shared->views;
    struct tensor_writer *w = &in->shared->output.writer;
    for (;;) {
        /* the views show what the passes see (after --background, a float cast) */
        struct tensor_reader seen = in->reader;
        seen.meta = in->meta;
        seen.shape = in->pass_shape;
        if (views_wanted(o) && views_begin_image(views, in->path, &seen, in->image, &in->pipe,
                                                 in->passes, in->pipe_rescaled, err))
            return -1;
        if (o->indices && begin_indices(in, out_shape, err))
            return -1;
        if (pipeline_run(&in->pipe, &in->reader, w, err) ||
            (views_wanted(o) && end_views(in, err)) ||
            (o->indices && index_file_end(&in->shared->indices, err)) ||
            report_pass_figures(in, err))
            return -1;
        if (w->ops->finish(w, err))
            return pool_blame(err, ERROR_OUTPUT, NULL);
        int more = next_image(in, out_shape, err);
        say_reader_notes(in);
        if (more < 0)
            return pool_blame(err, ERROR_INPUT, NULL);
        if (more == 0)
            return views_end_input(views, err);
        if (!w->ops->next_image) {
            pool_fail(err, "the input holds several images, and only PNM or TIFF output (or .npy "
                           "with --stack) can hold more than one: use -f pnm or -f tiff, or "
                           "split the stream");
            return pool_blame(err, ERROR_OUTPUT, NULL);
        }
        w->shape = written_shape(in, out_shape);
        w->new_input = false;
        /* A table or a stack that cannot take this image refuses the input, as a PNM
         * stream's failure here is its output's. */
        if (w->ops->next_image(w, err))
            return gathers(o, in->shared->output.format) ? pool_blame(err, ERROR_INPUT, in->name)
                                                         : pool_blame(err, ERROR_OUTPUT, NULL);
    }
}

/* Opens the input, plans its first image, and opens the output or goes on in it. */
static int start_input(struct input_run *in, bool first, struct tensor_shape *out_shape,
                       struct pool_error *err)
{
    const struct cli_options *o = in->s->opt;
    struct run_output *out = &in->shared->output;
    if (source_open(&in->src, in->path, err) ||
        reader_open(&in->reader, &in->src, &o->reader, err)) {
        options_hint_stats_file(o, in->path, err);
        return pool_blame(err, ERROR_INPUT, in->name);
    }
    say_reader_notes(in);
    if (in->reader.meta.palette_expanded && !o->palette_given && !o->quiet)
        warning_give(in->shared->warnings, in->name, WARNING_PALETTE_EXPANDED, 0, false,
                     PALETTE_EXPANDED_TEXT, "%s", PALETTE_EXPANDED_TEXT);
    if (first && (choose_format(o, out->path, in->reader.ops->format, &out->format, err) ||
                  check_output(in->s, out->path, out->format, err)))
        return pool_blame(err, ERROR_USAGE, out->name);
    if (plan_image(in, out_shape, err))
        return pool_blame(err, ERROR_INPUT, in->name);
    if (first ? open_output(in, out_shape, err) : continue_output(in, out_shape, err))
        return -1;
    out->writer.name = in->name;
    return 0;
}

bool is_table(enum file_format f) { return f == FORMAT_CSV || f == FORMAT_TXT; }

bool gathers(const struct cli_options *o, enum file_format f)
{
    return is_table(f) || (o->writer.stack && f == FORMAT_NPY);
}

/* A table's rows from one input, held until the input is through. */
struct staged_rows {
    FILE *fp, *real;
    char *bytes;
    size_t len;
};

/* From here the writer's rows go to memory: a failing input leaves none in the table. */
static int stage_rows(struct tensor_writer *w, struct staged_rows *st, struct pool_error *err)
{
    st->real = w->out;
    if (!(st->fp = open_memstream(&st->bytes, &st->len)))
        return pool_fail_resource(err, "out of memory for an input's rows");
    w->out = st->fp;
    return 0;
}

/* The rows go into the table (keep) or away; the writer writes to the table again. */
static int unstage_rows(struct tensor_writer *w, struct staged_rows *st, bool keep,
                        struct pool_error *err)
{
    w->out = st->real;
    bool failed = fclose(st->fp) != 0;
    if (!failed && keep && st->len)
        failed = fwrite(st->bytes, 1, st->len, st->real) != st->len;
    free(st->bytes);
    return keep && failed ? pool_fail(err, "write failed") : 0;
}

static const char *display_name(const char *path, const char *stdio_name)
{
    return strcmp(path, "-") ? path : stdio_name;
}

int run_input(const struct run_settings *s, struct run_shared *shared, const char *path,
              struct pool_error *err)
{
    struct input_run in = {.s = s, .shared = shared, .path = path, .image = 1};
    struct tensor_shape out_shape;
    in.name = display_name(in.path, "<stdin>");
    if (!shared->output.path)
        shared->output.path = s->opt->output;
    shared->indices.path = s->opt->indices;
    shared->output.name = display_name(shared->output.path, "<stdout>");
    in.passes = malloc(s->npasses * sizeof *in.passes);
    int rc = in.passes ? 0 : pool_fail_resource(err, "out of memory");
    bool first = !shared->output.open;
    if (rc == 0) {
        memcpy(in.passes, s->passes, s->npasses * sizeof *in.passes);
        rc = start_input(&in, first, &out_shape, err);
    }
    bool gathering = gathers(s->opt, shared->output.format) && !s->one_output_each;
    struct staged_rows staged = {0};
    if (rc == 0 && gathering)
        rc = stage_rows(&shared->output.writer, &staged, err);
    if (rc == 0)
        rc = pool_images(&in, &out_shape, err);
    if (staged.fp && unstage_rows(&shared->output.writer, &staged, rc == 0, err) && rc == 0)
        rc = pool_blame(err, ERROR_OUTPUT, shared->output.name);
    /* The input that opened a table or a stack failed: its header and shape go with it, and
     * the next input opens the output afresh (unless it cannot be taken back: a pipe). */
    if (rc && gathering && first && shared->output.open && shared->output.start >= 0 &&
        !rewind_output(&shared->output))
        output_abort(&shared->output.file);
    /* What did not say which file it is about is about this input, or the output. */
    if (rc)
        pool_blame(err, err->kind == ERROR_UNSET ? ERROR_INPUT : err->kind,
                   err->kind == ERROR_OUTPUT ? shared->output.name : in.name);
    reader_close(&in.reader);
    source_close(&in.src);
    pipeline_free(&in.pipe);
    free(in.passes);
    return rc;
}

int run_commit(const struct run_settings *s, struct run_shared *shared, struct pool_error *err)
{
    const struct cli_options *o = s->opt;
    /* The result comes last: it appears only when everything beside it did. */
    if (views_commit(&shared->views, err) || index_file_commit(&shared->indices, err))
        return -1;
    if (o->stats && report_commit(&shared->report, err))
        return pool_blame(err, ERROR_OUTPUT, o->stats_file ? o->stats_file : "<stderr>");
    /* (a batch has committed each input's output already) */
    struct tensor_writer *w = &shared->output.writer;
    if (shared->output.open &&
        ((w->ops->end && w->ops->end(w, err)) || output_commit(&shared->output.file, err)))
        return pool_blame(err, ERROR_OUTPUT, shared->output.name);
    return 0;
}

int run_output_commit(struct run_shared *shared, struct pool_error *err)
{
    struct run_output *out = &shared->output;
    int rc = output_commit(&out->file, err) ? pool_blame(err, ERROR_OUTPUT, out->name) : 0;
    run_output_discard(shared);
    return rc;
}

void run_output_discard(struct run_shared *shared)
{
    output_abort(&shared->output.file);
    writer_close(&shared->output.writer);
    memset(&shared->output, 0, sizeof shared->output);
}

void run_shared_free(struct run_shared *shared)
{
    output_abort(&shared->output.file);
    report_abort(&shared->report);
    views_abort(&shared->views);
    index_file_abort(&shared->indices);
    writer_close(&shared->output.writer);
    tally_free(&shared->tally);
}

#include "views.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/convert.h"
#include "planner.h"
#include "report.h"

bool views_wanted(const struct cli_options *o) { return o->save_passes || o->contact_sheet; }

/* A row of palette indices as RGB: the sheet shows a label map as its palette does. */
static void palette_colours(const struct pass_views *v, const uint8_t *index, size_t n,
                            uint8_t *rgb)
{
    for (size_t i = 0; i < n; i++)
        memcpy(rgb + 3 * i, v->sheet_palette[index[i]], 3);
}

static int views_tap(void *ctx, size_t pass, const void *row, struct pool_error *err)
{
    struct pass_views *v = ctx;
    if (v->sheet && !v->sheet_drawn) {
        if (v->sheet_colours) {
            palette_colours(v, row, v->panel_elems[pass], v->stretched);
            row = v->stretched;
        } else if (v->sheet_maxval) {
            /* as the pipeline stretches codes for image output */
            rescale_codes(sheet_dtype(v->sheet), row, v->stretched, v->panel_elems[pass],
                          v->sheet_maxval);
            row = v->stretched;
        }
        sheet_add_row(v->sheet, pass, row);
    }
    if (v->files_open && pass >= 1) {
        struct tensor_writer *w = &v->writers[pass - 1];
        if (w->ops->write(w, row, v->row_elems[pass - 1], err))
            return pool_blame(err, ERROR_OUTPUT, v->paths[pass - 1]);
    }
    return 0;
}

void views_tap_into(struct pass_views *v, struct pipeline_options *po)
{
    po->tap = views_tap;
    po->tap_ctx = v;
}

/* The rows the tap hands out for pass k (0: the input), as a geometry. */
static const struct row_geom *tap_geom(const struct pipeline *p, size_t k)
{
    return k ? pass_filter_tap_geom(p->passes[k - 1]) : &p->tap_geom;
}

/* "photos/cat.png" -> "cat"; stdin -> "stdin". */
static void stem_of(const char *path, char *buf, size_t len)
{
    if (!strcmp(path, "-")) {
        snprintf(buf, len, "stdin");
        return;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    int n = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    snprintf(buf, len, "%.*s", n, base);
}

/* Inputs by the hash of their stem, to find two that share one. */
struct stem_key {
    uint64_t hash;
    size_t input;
};

static uint64_t stem_hash(const char *path)
{
    char stem[256];
    stem_of(path, stem, sizeof stem);
    return name_hash(stem);
}

static int by_stem_hash(const void *a, const void *b)
{
    const struct stem_key *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash ? 1 : x->input < y->input ? -1 : 1;
}

int views_check_inputs(const struct cli_options *o, const struct input_list *l,
                       struct pool_error *err)
{
    if (!o->save_passes || l->count < 2)
        return 0;
    struct stem_key *keys = malloc(l->count * sizeof *keys);
    if (!keys)
        return pool_fail_resource(err, "out of memory");
    struct input_path px, py;
    for (size_t i = 0; i < l->count; i++)
        keys[i] = (struct stem_key){stem_hash(inputs_path(l, i, &px)), i};
    qsort(keys, l->count, sizeof *keys, by_stem_hash);
    int rc = 0;
    char a[256], b[256];
    for (size_t i = 1; i < l->count && rc == 0; i++) {
        if (keys[i].hash != keys[i - 1].hash)
            continue;
        const char *x = inputs_path(l, keys[i - 1].input, &px);
        const char *y = inputs_path(l, keys[i].input, &py);
        stem_of(x, a, sizeof a);
        stem_of(y, b, sizeof b);
        if (!strcmp(a, b)) {
            pool_fail(err, "--save-passes: %s and %s would both save as %s.passN", x, y, a);
            rc = pool_blame(err, ERROR_USAGE, NULL);
        }
    }
    free(keys);
    return rc;
}

/* Can a saved pass of this image be written exactly in format f? */
static bool stores_exactly(enum file_format f, const struct tensor_reader *r,
                           const struct row_geom *g)
{
    const struct format_caps *c = format_caps(f);
    return c->image && c->built_in && !c->lossy && format_stores(f, g->dtype) &&
           g->inner <= c->max_channels && (r->meta.color != COLOR_CMYK || c->cmyk);
}

/* Images stay images, in their own format where it stores them exactly (PNM keeps its
 * maxval and its several images, TIFF its floats), else PNG; tensors, and images the
 * passes turned into something else, go to .npy. */
static enum file_format saved_format(const struct tensor_reader *r, const struct row_geom *g)
{
    if (!r->meta.is_image || g->planes != 1 || g->nspatial != 2)
        return FORMAT_NPY;
    if (stores_exactly(r->ops->format, r, g))
        return r->ops->format;
    return stores_exactly(FORMAT_PNG, r, g) ? FORMAT_PNG : FORMAT_NPY;
}

static int make_folder(const char *dir, struct pool_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : pool_fail(err, "not a folder");
    if (mkdir(dir, 0777) && errno != EEXIST)
        return pool_fail(err, "cannot create the folder: %s", strerror(errno));
    return 0;
}

/* Each pass's file gets the image's meta (maxval dropped when it was stretched), every image
 * of the input its own, with the pixel grid of the passes up to that one: the meta's grid is
 * the whole stack's (run.c), and georeferencing follows it. */
static void set_saved_metas(struct pass_views *v, const struct tensor_reader *r,
                            const struct pool_pass *passes, const struct pipeline *p, bool rescaled)
{
    for (size_t k = 0; k < v->npasses; k++) {
        struct image_meta *m = &v->saved_metas[k];
        *m = r->meta;
        if (rescaled)
            m->maxval = 0;
        if (r->meta.grid.known)
            planner_grid(passes, k + 1, tap_geom(p, 0), &m->grid);
    }
}

static int open_saved_passes(struct pass_views *v, const char *input_path,
                             const struct tensor_reader *r, const struct pipeline *p,
                             struct pool_error *err)
{
    const char *dir = v->opt->save_passes;
    char stem[256];
    v->working_on = dir;
    if (make_folder(dir, err))
        return -1;
    stem_of(input_path, stem, sizeof stem);
    for (size_t k = 0; k < v->npasses; k++) {
        const struct row_geom *g = tap_geom(p, k + 1);
        enum file_format f = saved_format(r, g);
        size_t len = strlen(dir) + strlen(stem) + 48;
        char *path = v->paths[k] = malloc(len);
        if (!path)
            return pool_fail_resource(err, "out of memory");
        snprintf(path, len, "%s/%s.pass%zu.%s", dir, stem, k + 1, format_name(f));
        struct tensor_shape shape = r->shape;
        tensor_respace(&shape, g->size);
        shape.dtype = g->dtype;
        v->row_elems[k] = geom_row_elems(g);
        v->working_on = path;
        if (output_open(&v->files[k], path, err) ||
            writer_open(&v->writers[k], f, v->files[k].fp, &shape, &v->saved_metas[k],
                        &v->opt->writer, err))
            return -1;
    }
    v->files_open = true;
    return 0;
}

static int next_saved_image(struct pass_views *v, const struct tensor_reader *r,
                            const struct pipeline *p, struct pool_error *err)
{
    for (size_t k = 0; k < v->npasses; k++) {
        struct tensor_writer *w = &v->writers[k];
        const struct row_geom *g = tap_geom(p, k + 1);
        v->working_on = v->paths[k];
        if (!w->ops->next_image)
            return pool_fail(err, "the input holds several images and this format one");
        w->shape = r->shape;
        tensor_respace(&w->shape, g->size);
        w->shape.dtype = g->dtype;
        v->row_elems[k] = geom_row_elems(g);
        if (w->ops->next_image(w, err))
            return -1;
    }
    return 0;
}

/* A panel's caption: its title ("input", or "2 avg:2,s=2") and its size, upright. */
struct panel_caption {
    char title[192];
    char size[48];
};

/* The sheet shows the image upright, as the pooled image is turned (EXIF). */
static struct orientation sheet_turn(const struct tensor_reader *r)
{
    return orientation_of(r->meta.upright ? r->meta.orientation : 1);
}

static void upright_size(const struct row_geom *g, struct orientation turn, size_t *width,
                         size_t *height)
{
    *width = turn.transpose ? g->size[1] : g->size[2];
    *height = turn.transpose ? g->size[2] : g->size[1];
}

/* Panel k's caption: the pass as given for the upright image (as --stats describes it). */
static void caption_panel(struct panel_caption *c, size_t k, const struct row_geom *g,
                          const struct pool_pass *passes, struct orientation turn)
{
    size_t w, h;
    upright_size(g, turn, &w, &h);
    snprintf(c->size, sizeof c->size, "%zux%zu", w, h);
    if (k == 0) {
        snprintf(c->title, sizeof c->title, "input");
        return;
    }
    char spec[160];
    struct pool_pass given = orient_pass(&passes[k - 1],
                                         (struct orientation){turn.transpose, 0, 0});
    describe_pass(&given, g->nspatial, spec, sizeof spec);
    snprintf(c->title, sizeof c->title, "%zu %s", k, spec);
}

/* The crop must lie within the upright input: a fault of this input, not of the sheet. */
static int check_crop(const struct pass_views *v, const struct row_geom *input,
                      struct orientation turn, const char *input_path, struct pool_error *err)
{
    size_t w, h;
    upright_size(input, turn, &w, &h);
    if (!v->opt->sheet_crop.given || !sheet_crop_check(&v->opt->sheet_crop, w, h, err))
        return 0;
    return pool_blame(err, ERROR_INPUT, strcmp(input_path, "-") ? input_path : "<stdin>");
}

static int start_sheet(struct pass_views *v, const char *input_path, const struct tensor_reader *r,
                       const struct pipeline *p, const struct pool_pass *passes, bool rescaled,
                       struct pool_error *err)
{
    size_t n = v->npasses + 1;
    struct row_geom *panels = calloc(n, sizeof *panels);
    struct sheet_layout layout = {v->opt->sheet_height, v->opt->sheet_crop, sheet_turn(r)};
    int rc = -1;
    v->working_on = v->opt->contact_sheet;
    v->panel_elems = calloc(n, sizeof *v->panel_elems);
    v->captions = calloc(n, sizeof *v->captions);
    if (!panels || !v->panel_elems || !v->captions) {
        pool_fail_resource(err, "out of memory");
        goto done;
    }
    const char *input_name = strcmp(input_path, "-") ? input_path : "<stdin>";
    if (r->meta.color == COLOR_CMYK) { /* (what the input is, not the sheet's fault) */
        pool_fail(err, "a contact sheet of a CMYK image is not supported (--save-passes "
                       "keeps the passes)");
        pool_blame(err, ERROR_INPUT, input_name);
        goto done;
    }
    size_t widest = 0;
    for (size_t k = 0; k < n; k++) {
        panels[k] = *tap_geom(p, k);
        v->panel_elems[k] = geom_row_elems(&panels[k]);
        widest = v->panel_elems[k] > widest ? v->panel_elems[k] : widest;
    }
    if (sheet_check_panels(panels, n, err)) {
        pool_blame(err, ERROR_INPUT, input_name);
        goto done;
    }
    if (check_crop(v, &panels[0], layout.turn, input_path, err))
        goto done;
    for (size_t k = 0; k < n; k++)
        caption_panel(&v->captions[k], k, &panels[k], passes, layout.turn);
    /* (the passes of a palette image that keep indices: mode, median, nearest, max, min) */
    v->sheet_colours = r->meta.color == COLOR_PALETTE && panels[0].inner == 1 &&
                       panels[0].dtype == DT_U8;
    if (v->sheet_colours) {
        memcpy(v->sheet_palette, r->meta.palette, sizeof v->sheet_palette);
        for (size_t k = 0; k < n; k++)
            panels[k].inner = 3;
    }
    if (!(v->stretched = malloc(widest * 3 * sizeof(uint16_t)))) {
        pool_fail_resource(err, "out of memory");
        goto done;
    }
    v->sheet_maxval = rescaled ? 0 : r->meta.maxval;
    rc = sheet_create(&v->sheet, panels, n,
                      r->meta.has_alpha || panels[0].inner == 2 || panels[0].inner == 4, &layout,
                      err);
done:
    free(panels);
    return rc;
}

int views_begin_image(struct pass_views *v, const char *input_path, const struct tensor_reader *r,
                      size_t image, const struct pipeline *p, const struct pool_pass *passes,
                      bool rescaled, struct pool_error *err)
{
    v->npasses = p->npasses;
    if (v->opt->save_passes && !v->files) {
        v->files = calloc(v->npasses, sizeof *v->files);
        v->writers = calloc(v->npasses, sizeof *v->writers);
        v->row_elems = calloc(v->npasses, sizeof *v->row_elems);
        v->paths = calloc(v->npasses, sizeof *v->paths);
        v->saved_metas = calloc(v->npasses, sizeof *v->saved_metas);
        if (!v->files || !v->writers || !v->row_elems || !v->paths || !v->saved_metas)
            return pool_fail_resource(err, "out of memory");
    }
    if (v->opt->save_passes)
        set_saved_metas(v, r, passes, p, rescaled);
    if (v->opt->save_passes &&
        (image == 1 ? open_saved_passes(v, input_path, r, p, err) : next_saved_image(v, r, p, err)))
        return pool_blame(err, ERROR_OUTPUT, v->working_on);
    if (v->opt->contact_sheet && !v->sheet &&
        start_sheet(v, input_path, r, p, passes, rescaled, err))
        return pool_blame(err, ERROR_OUTPUT, v->working_on);
    return 0;
}

static int write_sheet(struct pass_views *v, struct pool_error *err)
{
    enum pool_dtype t = sheet_dtype(v->sheet);
    struct tensor_shape shape = {
        t, 3, {sheet_height(v->sheet), sheet_width(v->sheet), sheet_channels(v->sheet)}, "hwc"};
    struct image_meta meta = {0};
    struct tensor_writer w = {0};
    size_t n = shape.dims[1] * shape.dims[2];
    int rc = -1;
    if (output_open(&v->sheet_file, v->opt->contact_sheet, err) ||
        writer_open(&w, FORMAT_PNG, v->sheet_file.fp, &shape, &meta, &v->opt->writer, err))
        goto done;
    for (size_t y = 0; y < shape.dims[0]; y++) {
        if (w.ops->write(&w, sheet_row(v->sheet, y), n, err))
            goto done;
    }
    rc = w.ops->finish(&w, err);
done:
    writer_close(&w);
    return rc;
}

/* The captions go on last: the stack's figures are known only after its last row. */
static void caption_sheet(struct pass_views *v, const double *stack_psnr)
{
    for (size_t k = 0; k <= v->npasses; k++) {
        const struct panel_caption *c = &v->captions[k];
        double psnr = k && stack_psnr ? stack_psnr[k - 1] : NAN;
        char line[96];
        sheet_size_line(line, sizeof line, c->size, psnr);
        sheet_caption(v->sheet, k, c->title, line);
    }
}

int views_end_image(struct pass_views *v, const double *stack_psnr, struct pool_error *err)
{
    for (size_t k = 0; v->files_open && k < v->npasses; k++) {
        if (v->writers[k].ops->finish(&v->writers[k], err))
            return pool_blame(err, ERROR_OUTPUT, v->paths[k]);
    }
    if (!v->sheet || v->sheet_drawn)
        return 0;
    v->sheet_drawn = true;
    caption_sheet(v, stack_psnr);
    return write_sheet(v, err) ? pool_blame(err, ERROR_OUTPUT, v->opt->contact_sheet) : 0;
}

/* Without commit, the files of the current input are removed. (Either array may be
 * missing: memory ran out making the other.) */
static void close_saved_passes(struct pass_views *v)
{
    for (size_t k = 0; v->files && v->writers && k < v->npasses; k++) {
        writer_close(&v->writers[k]);
        output_abort(&v->files[k]);
    }
    v->files_open = false;
}

int views_end_input(struct pass_views *v, struct pool_error *err)
{
    if (!v->files_open)
        return 0;
    for (size_t k = 0; k < v->npasses; k++) {
        writer_close(&v->writers[k]);
        if (output_commit(&v->files[k], err))
            return pool_blame(err, ERROR_OUTPUT, v->paths[k]);
    }
    close_saved_passes(v);
    for (size_t k = 0; k < v->npasses; k++) {
        free(v->paths[k]);
        v->paths[k] = NULL;
    }
    return 0;
}

int views_commit(struct pass_views *v, struct pool_error *err)
{
    if (!v->sheet_drawn)
        return 0;
    if (output_commit(&v->sheet_file, err))
        return pool_blame(err, ERROR_OUTPUT, v->opt->contact_sheet);
    return 0;
}

void views_abort(struct pass_views *v)
{
    close_saved_passes(v);
    for (size_t k = 0; v->paths && k < v->npasses; k++)
        free(v->paths[k]);
    free(v->paths);
    output_abort(&v->sheet_file);
    sheet_free(v->sheet);
    free(v->files);
    free(v->writers);
    free(v->row_elems);
    free(v->saved_metas);
    free(v->panel_elems);
    free(v->captions);
    free(v->stretched);
    memset(v, 0, sizeof *v);
}

/*
 * Fuzz harness: the whole read-pool-write path on a small budget. The input is a line of
 * words, then a file in any format pool reads:
 *   SPEC [FORMAT] [linear] [stats] [shift]\nFILE
 * SPEC is a pass (-P), FORMAT the output's (npy when not given), and the flags are
 * --linear, --stats (every pass metered) and --shift-test. The file's first image is laid
 * out as the command line lays it out without --layout, pooled through the pipeline
 * (src/pipeline/) on this thread, and written to /dev/null; the reader then finishes, or
 * reads the next image's header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/spec.h"
#include "core/meter.h"
#include "fuzz.h"
#include "pipeline/pipeline.h"

#define FUZZ_MAX_LINE 80

struct fuzz_run {
    struct pool_pass pass;
    enum file_format format;
    struct pipeline_options po;
};

/* The first line's words into run; false when they are not a pass and known words. */
static bool parse_line(char *line, struct fuzz_run *run)
{
    char *save = NULL;
    char *spec = strtok_r(line, " ", &save);
    struct pool_error err;
    if (!spec || pass_spec_parse(spec, &run->pass, &err) || pass_check(&run->pass, &err))
        return false;
    run->format = FORMAT_NPY;
    run->po.simd = simd_best();
    for (char *w = strtok_r(NULL, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (!strcmp(w, "linear"))
            run->po.linear = true;
        else if (!strcmp(w, "stats"))
            run->po.measure = run->po.stack_loss = true;
        else if (!strcmp(w, "shift"))
            run->po.shift_test = true;
        else if (!strcmp(w, "portable"))
            run->po.simd = SIMD_PORTABLE;
        else if ((run->format = format_from_name(w)) == FORMAT_UNKNOWN)
            return false;
    }
    return true;
}

/* The reader's first image laid out, and its output's size within the budget. */
static int lay_out(struct tensor_reader *r, const struct fuzz_run *run, struct row_geom *geom)
{
    struct pool_error err;
    const char *layout = reader_default_layout(r);
    size_t count;
    struct row_geom out;
    if (!layout || layout_check(layout, r->shape.ndim, &err))
        return -1;
    snprintf(r->shape.layout, sizeof r->shape.layout, "%s", layout);
    if (tensor_count(&r->shape, &count, &err) || count > FUZZ_MAX_ELEMENTS ||
        tensor_geom(&r->shape, geom, &err) || pass_out_geom(&run->pass, geom, &out, &err) ||
        geom_row_elems(&out) * geom_rows_per_plane(&out) * out.planes > FUZZ_MAX_ELEMENTS)
        return -1;
    return 0;
}

/* Pools the reader's first image into a writer on out. */
static void pool_image(struct tensor_reader *r, struct fuzz_run *run, FILE *out)
{
    struct row_geom geom;
    if (lay_out(r, run, &geom))
        return;
    struct pipeline_options po = run->po;
    char letters[4] = "";
    for (const char *a = r->shape.layout; *a; a++)
        if (strchr("dhwl", *a) && strlen(letters) < 3)
            letters[strlen(letters)] = *a;
    po.spatial_letters = letters;
    po.channels = channel_map_of(&r->shape);
    po.has_alpha = r->meta.has_alpha && geom.inner >= 2;
    po.maxval = r->meta.maxval;
    po.rescale = run->format == FORMAT_PNG || run->format == FORMAT_JPEG;
    po.no_decode_ahead = true;
    po.max_memory = FUZZ_MAX_MEMORY;
    run->pass.premultiply_alpha = po.has_alpha;
    struct pipeline pipe;
    struct pool_error err;
    if (pipeline_build(&pipe, &run->pass, 1, &geom, &po, &err) == 0) {
        struct tensor_shape shape = r->shape;
        tensor_respace(&shape, pipe.out.size);
        shape.dtype = pipe.out.dtype;
        struct writer_options wo = {.png_level = 1, .quality = 90};
        struct tensor_writer w;
        if (writer_open(&w, run->format, out, &shape, &r->meta, &wo, &err) == 0) {
            if (pipeline_run(&pipe, r, &w, &err) == 0 && w.ops->finish(&w, &err) == 0) {
                if (r->ops->next)
                    r->ops->next(r, &err);
                else if (r->ops->finish)
                    r->ops->finish(r, &err);
            }
            writer_close(&w);
        }
    }
    pipeline_free(&pipe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *end = memchr(data, '\n', size < FUZZ_MAX_LINE ? size : FUZZ_MAX_LINE);
    if (!end)
        return 0;
    size_t skip = (size_t)(end - data) + 1;
    char *line = fuzz_string(data, skip - 1);
    struct fuzz_run run = {0};
    struct byte_source src;
    if (line && parse_line(line, &run) &&
        fuzz_source_open(&src, data + skip, size - skip, size % 2 == 0) == 0) {
        struct reader_options opt = {
            .max_pixels = FUZZ_MAX_PIXELS, .max_memory = FUZZ_MAX_MEMORY, .lenient = size % 3 == 0};
        struct tensor_reader r;
        struct pool_error err;
        FILE *out = fopen("/dev/null", "wb");
        if (out && reader_open(&r, &src, &opt, &err) == 0) {
            pool_image(&r, &run, out);
            reader_close(&r);
        }
        if (out)
            fclose(out);
        source_close(&src);
    }
    free(line);
    return 0;
}

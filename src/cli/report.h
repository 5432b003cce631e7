/*
 * --stats: one record per input image per pass (shapes, parameters, coverage, per-channel
 * figures of the output, what the pass lost, its time, and with --shift-test how much a
 * one-element shift of the input changes its output), as JSON Lines or an aligned table.
 * Also the --warn-psnr warning, which reads the same figures.
 */
#ifndef POOL_REPORT_H
#define POOL_REPORT_H

#include <stdio.h>

#include "../pipeline/pipeline.h"
#include "options.h"
#include "output.h"
#include "warnings.h"

struct report {
    FILE *out; /* stderr, or file.fp */
    struct output_file file;
    bool to_file, text;
};

/* The passes a decoder did as it decoded (--fast): the first `count` of the list (0 or 1),
 * from the stored image `in` to the pipeline's input; `format` is the decoder's. */
struct decoded_passes {
    size_t count;
    struct row_geom in;
    enum file_format format;
};

int report_open(struct report *r, const struct cli_options *o, struct pool_error *err);
/* The records of one image (image: 1-based within its input) just pooled: the passes a
 * decoder did (their shapes and coverage: no figures, which would need the image it never
 * decoded), then those of p, passes[decoded->count] on. With decoded passes the stack
 * figures (against the stored image) are unknown. is_image: read as an image (sizes said
 * WxH in the text table, else labelled shapes). transposed: the image was turned upright
 * with height and width swapping (EXIF orientation 5-8): the records describe the upright
 * image. */
int report_image(struct report *r, const char *input, size_t image,
                 const struct tensor_shape *shape, bool is_image, const struct pool_pass *passes,
                 const struct decoded_passes *decoded, struct pipeline *p, bool transposed,
                 struct pool_error *err);
int report_commit(struct report *r, struct pool_error *err);
void report_abort(struct report *r);

/* "avg:2,s=1,p=1": a pass as a -P spec, with the values it resolved to (nspatial axes). */
void describe_pass(const struct pool_pass *p, int nspatial, char *buf, size_t len);

/* Warns (warnings.h: to NULL says it) when the PSNR of the stack up to pass `last`
 * (1-based) against the input is below threshold; true when it warned. */
bool report_warn_psnr(struct input_warnings *to, const char *input, const struct pool_pass *passes,
                      struct pipeline *p, size_t last, double threshold);

#endif

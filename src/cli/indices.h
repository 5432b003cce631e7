/*
 * --indices FILE: where each output of the last pass came from, as PyTorch's max pooling
 * with return_indices gives it: an int64 .npy of the output's shape holding each chosen
 * element's position in its (batch, channel) plane of the pass's input, flattened
 * ((d H + h) W + w). Streamed row by row beside the values, into a temp file that appears
 * only when the whole run succeeds.
 */
#ifndef POOL_INDICES_H
#define POOL_INDICES_H

#include "../codec/codec.h"
#include "../pipeline/pipeline.h"
#include "output.h"

struct index_file {
    const char *path; /* NULL: not asked for */
    struct output_file file;
    struct tensor_writer writer;
    struct image_meta meta;    /* none: the writer keeps a pointer to it */
    struct writer_options opt; /* the defaults: one array, not a --stack */
    size_t row_elems;
    bool open;
};

/* Before pipeline_build: the last pass's index rows go to x. */
void index_file_tap_into(struct index_file *x, struct pipeline_options *po);
/* Before an image's rows: opens the file for the first image, of the output's shape as
 * int64, rows of row_elems; a second image is refused (one .npy holds one array). */
int index_file_begin(struct index_file *x, const struct tensor_shape *out_shape, size_t row_elems,
                     size_t image, struct pool_error *err);
/* After the image's rows: the array is complete. */
int index_file_end(struct index_file *x, struct pool_error *err);
/* After everything succeeded: the file appears. Errors name the file. */
int index_file_commit(struct index_file *x, struct pool_error *err);
/* Whatever happened: removes what was not committed. */
void index_file_abort(struct index_file *x);

#endif

#include "indices.h"

#include <string.h>

static int write_index_row(void *ctx, const void *row, struct pool_error *err)
{
    struct index_file *x = ctx;
    if (!x->open)
        return 0;
    if (x->writer.ops->write(&x->writer, row, x->row_elems, err))
        return pool_blame(err, ERROR_OUTPUT, x->path);
    return 0;
}

void index_file_tap_into(struct index_file *x, struct pipeline_options *po)
{
    po->index_sink = write_index_row;
    po->index_ctx = x;
}

int index_file_begin(struct index_file *x, const struct tensor_shape *out_shape, size_t row_elems,
                     size_t image, struct pool_error *err)
{
    if (image > 1) {
        pool_fail(err, "--indices: the input holds more than one image, and one .npy of "
                       "indices holds one: split the stream");
        return pool_blame(err, ERROR_INPUT, NULL);
    }
    struct tensor_shape shape = *out_shape;
    shape.dtype = DT_I64;
    x->row_elems = row_elems;
    if (output_open(&x->file, x->path, err) ||
        writer_open(&x->writer, FORMAT_NPY, x->file.fp, &shape, &x->meta, &x->opt, err))
        return pool_blame(err, ERROR_OUTPUT, x->path);
    x->open = true;
    return 0;
}

int index_file_end(struct index_file *x, struct pool_error *err)
{
    if (x->open && x->writer.ops->finish(&x->writer, err))
        return pool_blame(err, ERROR_OUTPUT, x->path);
    return 0;
}

int index_file_commit(struct index_file *x, struct pool_error *err)
{
    if (!x->open)
        return 0;
    writer_close(&x->writer);
    x->open = false;
    if (output_commit(&x->file, err))
        return pool_blame(err, ERROR_OUTPUT, x->path);
    return 0;
}

void index_file_abort(struct index_file *x)
{
    if (x->open)
        writer_close(&x->writer);
    x->open = false;
    output_abort(&x->file);
}

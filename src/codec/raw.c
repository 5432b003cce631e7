/*
 * Raw binary: the elements alone, in C order, with the shape and dtype from the command
 * line. Raw data is in the machine's own byte order (little-endian on x86-64 and arm64),
 * both on input and output: it is read and written as it is.
 */
#include "codec.h"
#include "formats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct raw_stream {
    size_t total_bytes, done_bytes;
};

/* "1x3x4x4 f32", for messages. */
static void describe_shape(const struct tensor_shape *s, char *buf, size_t len)
{
    char dims[128];
    shape_format(s, dims, sizeof dims);
    snprintf(buf, len, "%s %s", dims, dtype_name(s->dtype));
}

static int size_mismatch(const struct tensor_shape *s, size_t needed, unsigned long long has,
                         struct pool_error *err)
{
    char shape[160];
    describe_shape(s, shape, sizeof shape);
    return pool_fail(err, "size mismatch: shape %s needs %zu bytes, the input has %llu bytes",
                     shape, needed, has);
}

/* On failure r->state may hold memory; reader_close (ops->destroy) frees it. */
int raw_read_header(struct tensor_reader *r, const struct raw_options *raw, struct pool_error *err)
{
    const struct tensor_shape *given = &raw->shape;
    if (given->ndim < 1 || given->ndim > TENSOR_MAX_DIMS || given->dtype >= DT_COUNT)
        return pool_fail(err, "raw input needs a shape of 1 to %d axes and a dtype",
                         TENSOR_MAX_DIMS);
    for (int i = 0; i < given->ndim; i++)
        if (given->dims[i] == 0)
            return pool_fail(err, "raw input shape has an empty axis (%d)", i);
    memset(&r->shape, 0, sizeof r->shape);
    r->shape.dtype = given->dtype;
    r->shape.ndim = given->ndim;
    memcpy(r->shape.dims, given->dims, sizeof r->shape.dims);
    size_t count;
    if (tensor_count(&r->shape, &count, err))
        return -1;
    struct raw_stream *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    r->state = st;
    st->total_bytes = count * dtype_size(r->shape.dtype);
    /* A regular file's size is known: a wrong shape fails now, before any work. */
    const struct byte_source *src = r->src;
    if (src->size >= 0 && (unsigned long long)src->size != st->total_bytes)
        return size_mismatch(&r->shape, st->total_bytes, (unsigned long long)src->size, err);
    return 0;
}

static int raw_read(struct tensor_reader *r, void *buf, size_t count, struct pool_error *err)
{
    struct raw_stream *st = r->state;
    size_t elem_size = dtype_size(r->shape.dtype);
    if (count > (st->total_bytes - st->done_bytes) / elem_size)
        return pool_fail(err, "asked for %zu elements, only %zu are left", count,
                         (st->total_bytes - st->done_bytes) / elem_size);
    size_t n = count * elem_size;
    errno = 0;
    size_t got = source_read(r->src, buf, n);
    if (got < n && source_failed(r->src))
        return pool_fail(err, "read failed: %s", errno ? strerror(errno) : "i/o error");
    if (got < n)
        return size_mismatch(&r->shape, st->total_bytes, st->done_bytes + got, err);
    st->done_bytes += n;
    return 0;
}

static int raw_finish(struct tensor_reader *r, struct pool_error *err)
{
    struct raw_stream *st = r->state;
    if (st->done_bytes < st->total_bytes)
        return pool_fail(err, "the input was not read to its end");
    errno = 0;
    if (!source_at_end(r->src)) {
        char shape[160];
        describe_shape(&r->shape, shape, sizeof shape);
        return pool_fail(err,
                         "size mismatch: the input has more than the %zu bytes that "
                         "shape %s needs",
                         st->total_bytes, shape);
    }
    if (source_failed(r->src))
        return pool_fail(err, "read failed: %s", errno ? strerror(errno) : "i/o error");
    return 0;
}

static void raw_reader_destroy(struct tensor_reader *r)
{
    free(r->state);
    r->state = NULL;
}

const struct reader_ops raw_reader_ops = {
    .format = FORMAT_RAW,
    .read = raw_read,
    .finish = raw_finish,
    .destroy = raw_reader_destroy,
};

static int raw_begin(struct tensor_writer *w, struct pool_error *err)
{
    const struct tensor_shape *s = &w->shape;
    if (s->ndim < 1 || s->ndim > TENSOR_MAX_DIMS || s->dtype >= DT_COUNT)
        return pool_fail(err, "cannot write a %d-axis tensor as raw data", s->ndim);
    size_t count;
    if (tensor_count(s, &count, err))
        return -1;
    struct raw_stream *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    st->total_bytes = count * dtype_size(s->dtype);
    w->state = st;
    return 0;
}

static int raw_write(struct tensor_writer *w, const void *buf, size_t count, struct pool_error *err)
{
    struct raw_stream *st = w->state;
    size_t elem_size = dtype_size(w->shape.dtype);
    if (count > (st->total_bytes - st->done_bytes) / elem_size)
        return pool_fail(err, "more elements than the shape holds");
    if (fwrite(buf, elem_size, count, w->out) != count)
        return pool_fail(err, "write failed: %s", strerror(errno));
    st->done_bytes += count * elem_size;
    return 0;
}

static int raw_writer_finish(struct tensor_writer *w, struct pool_error *err)
{
    struct raw_stream *st = w->state;
    if (st->done_bytes != st->total_bytes)
        return pool_fail(err, "wrote %zu of the %zu bytes of the array", st->done_bytes,
                         st->total_bytes);
    if (fflush(w->out))
        return pool_fail(err, "write failed: %s", strerror(errno));
    return 0;
}

static void raw_writer_destroy(struct tensor_writer *w)
{
    free(w->state);
    w->state = NULL;
}

const struct writer_ops raw_writer_ops = {
    .format = FORMAT_RAW,
    .begin = raw_begin,
    .write = raw_write,
    .finish = raw_writer_finish,
    .destroy = raw_writer_destroy,
};

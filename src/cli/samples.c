#include "samples.h"

#include <stdlib.h>
#include <string.h>

#include "../codec/codec.h"

static int read_values(struct tensor_reader *r, double *out, size_t n, struct pool_error *err)
{
    bool single = r->shape.dtype == DT_F32;
    void *buf = malloc(n * (single ? sizeof(float) : sizeof(double)));
    if (!buf)
        return pool_fail_resource(err, "out of memory for %zu samples", n);
    int rc = r->ops->read(r, buf, n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        out[i] = single ? (double)((float *)buf)[i] : ((double *)buf)[i];
        if (!(out[i] >= 0 && out[i] < 1))
            rc = pool_fail(err, "sample %zu is %g: PyTorch's random samples lie in [0, 1)", i,
                           out[i]);
    }
    free(buf);
    return rc == 0 && r->ops->finish ? r->ops->finish(r, err) : rc;
}

int samples_load(const char *path, double **values, size_t *sets, int *dims, struct pool_error *err)
{
    struct byte_source src = {0};
    struct tensor_reader r = {0};
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    size_t n = 0;
    *values = NULL;
    int rc = source_open(&src, path, err) || reader_open(&r, &src, &opt, err) ? -1 : 0;
    if (rc == 0 && r.shape.dtype != DT_F32 && r.shape.dtype != DT_F64)
        rc = pool_fail(err, "random samples are float32 or float64 (as the input), not %s",
                       dtype_name(r.shape.dtype));
    int last = rc == 0 && r.shape.ndim > 0 ? (int)r.shape.dims[r.shape.ndim - 1] : 0;
    if (rc == 0 && last != 2 && last != 3)
        rc = pool_fail(err,
                       "random samples have 2 (2-D) or 3 (3-D) values per plane, as "
                       "PyTorch's (N, C, 2): the last axis is %d long",
                       last);
    if (rc == 0)
        rc = tensor_count(&r.shape, &n, err);
    if (rc == 0 && !(*values = malloc(n * sizeof **values)))
        rc = pool_fail_resource(err, "out of memory for %zu samples", n);
    if (rc == 0)
        rc = read_values(&r, *values, n, err);
    reader_close(&r);
    source_close(&src);
    if (rc) {
        free(*values);
        *values = NULL;
        return pool_blame(err, ERROR_INPUT, path);
    }
    *sets = n / (size_t)last;
    *dims = last;
    return 0;
}

/*
 * Text output: values as decimal text, one line per batch item (all channels and positions of
 * the item, flattened in C order). txt separates values with spaces; csv with commas, after a
 * header row (file, then one column per value, named by its axes: c3, c3_h0_w1...; left out
 * with --no-header) and with the input's file name first on each row. A tensor with a batch
 * axis (n) gives a row per item, labelled in an "item" column after the name. With a global
 * mode this is a feature vector per image: pool -P gavg -f csv *.png. Write-only: pool does
 * not read text.
 */
#include "codec.h"
#include "formats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct text_writer {
    bool csv;
    size_t per_line; /* elements of one batch item */
    size_t in_line;  /* elements written on the current line */
    bool header_done;
    bool items;  /* rows carry the batch item's index (the first input has n) */
    size_t item; /* the current row's, within the input */
};

static bool has_batch_axis(const struct tensor_shape *s) { return strchr(s->layout, 'n') != NULL; }

/* Elements per batch item: everything but the 'n' axis. */
static size_t per_item(const struct tensor_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        if (s->layout[i] != 'n')
            n *= s->dims[i];
    return n;
}

static int put(struct tensor_writer *w, const char *text, struct pool_error *err)
{
    if (fputs(text, w->out) == EOF)
        return pool_fail(err, "write failed: %s", strerror(errno));
    return 0;
}

/* A csv field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
static int put_field(struct tensor_writer *w, const char *text, struct pool_error *err)
{
    if (!strpbrk(text, ",\"\r\n"))
        return put(w, text, err);
    if (put(w, "\"", err))
        return -1;
    for (const char *p = text; *p; p++)
        if ((*p == '"' && put(w, "\"", err)) || fputc(*p, w->out) == EOF)
            return pool_fail(err, "write failed: %s", strerror(errno));
    return put(w, "\"", err);
}

/* The name of value `index` of an item: its coordinates on the axes longer than 1. */
static void column_name(const struct tensor_shape *s, size_t index, char *buf, size_t len)
{
    size_t coord[TENSOR_MAX_DIMS], used = 0;
    for (int i = s->ndim - 1; i >= 0; i--) {
        if (s->layout[i] == 'n')
            continue;
        coord[i] = index % s->dims[i];
        index /= s->dims[i];
    }
    buf[0] = '\0';
    for (int i = 0; i < s->ndim && used < len; i++)
        if (s->layout[i] != 'n' && s->dims[i] > 1)
            used += (size_t)snprintf(buf + used, len - used, "%s%c%zu", used ? "_" : "",
                                     s->layout[i], coord[i]);
    if (!buf[0])
        snprintf(buf, len, "v0");
}

static int write_header(struct tensor_writer *w, struct pool_error *err)
{
    char name[64];
    struct text_writer *t = w->state;
    if (put(w, t->items ? "file,item" : "file", err))
        return -1;
    for (size_t i = 0; i < per_item(&w->shape); i++) {
        column_name(&w->shape, i, name, sizeof name);
        if (put(w, ",", err) || put(w, name, err))
            return -1;
    }
    return put(w, "\n", err);
}

static int text_begin_item(struct tensor_writer *w, struct pool_error *err)
{
    struct text_writer *t = w->state;
    t->per_line = per_item(&w->shape);
    t->in_line = 0;
    if (t->csv && !t->header_done) {
        if (write_header(w, err))
            return -1;
        t->header_done = true;
    }
    return 0;
}

static int text_begin(struct tensor_writer *w, struct pool_error *err)
{
    struct text_writer *t = calloc(1, sizeof *t);
    if (!t)
        return pool_fail_resource(err, "out of memory");
    t->csv = w->ops->format == FORMAT_CSV;
    t->header_done = w->opt->no_header;
    t->items = t->csv && has_batch_axis(&w->shape);
    w->state = t;
    return text_begin_item(w, err);
}

/* Another input into the same table: csv rows must keep the header's columns. */
static int text_next(struct tensor_writer *w, struct pool_error *err)
{
    struct text_writer *t = w->state;
    if (t->csv && per_item(&w->shape) != t->per_line)
        return pool_fail(err,
                         "this input gives %zu value%s per row, the table has %zu "
                         "column%s: pool inputs of one shape into one csv",
                         per_item(&w->shape), per_item(&w->shape) == 1 ? "" : "s", t->per_line,
                         t->per_line == 1 ? "" : "s");
    const char *n = strchr(w->shape.layout, 'n');
    if (t->csv && !t->items && n && w->shape.dims[n - w->shape.layout] > 1)
        return pool_fail(err,
                         "this input holds %zu batch items, and the table has no item "
                         "column (its first input had no batch axis): pool them apart",
                         w->shape.dims[n - w->shape.layout]);
    if (w->new_input)
        t->item = 0; /* (the images of one input go on counting) */
    return text_begin_item(w, err);
}

static void format_value(enum pool_dtype t, const void *p, char *buf, size_t len)
{
    switch (t) {
    case DT_U8: snprintf(buf, len, "%u", *(const uint8_t *)p); break;
    case DT_I8: snprintf(buf, len, "%d", *(const int8_t *)p); break;
    case DT_U16: snprintf(buf, len, "%u", *(const uint16_t *)p); break;
    case DT_I16: snprintf(buf, len, "%d", *(const int16_t *)p); break;
    case DT_U32: snprintf(buf, len, "%" PRIu32, *(const uint32_t *)p); break;
    case DT_I32: snprintf(buf, len, "%" PRId32, *(const int32_t *)p); break;
    case DT_U64: snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p); break;
    case DT_I64: snprintf(buf, len, "%" PRId64, *(const int64_t *)p); break;
    /* Shortest forms that read back to the same value. */
    case DT_F16: snprintf(buf, len, "%.5g", (double)half_to_float(*(const uint16_t *)p)); break;
    case DT_F32: snprintf(buf, len, "%.9g", (double)*(const float *)p); break;
    default: snprintf(buf, len, "%.17g", *(const double *)p); break;
    }
}

static int text_write(struct tensor_writer *w, const void *buf, size_t count,
                      struct pool_error *err)
{
    struct text_writer *t = w->state;
    size_t size = dtype_size(w->shape.dtype);
    char value[48];
    for (size_t i = 0; i < count; i++) {
        if (t->in_line == 0 && t->csv) {
            char item[24];
            snprintf(item, sizeof item, ",%zu", t->item);
            if (put_field(w, w->name ? w->name : "-", err) || (t->items && put(w, item, err)))
                return -1;
        }
        format_value(w->shape.dtype, (const char *)buf + i * size, value, sizeof value);
        const char *sep = t->in_line == 0 ? (t->csv ? "," : "") : (t->csv ? "," : " ");
        if (put(w, sep, err) || put(w, value, err))
            return -1;
        if (++t->in_line == t->per_line) {
            t->in_line = 0;
            t->item++;
            if (put(w, "\n", err))
                return -1;
        }
    }
    return 0;
}

static int text_finish(struct tensor_writer *w, struct pool_error *err)
{
    if (fflush(w->out) || ferror(w->out))
        return pool_fail(err, "write failed: %s", strerror(errno));
    return 0;
}

static void text_destroy(struct tensor_writer *w)
{
    free(w->state);
    w->state = NULL;
}

const struct writer_ops txt_writer_ops = {.format = FORMAT_TXT,
                                          .begin = text_begin,
                                          .write = text_write,
                                          .finish = text_finish,
                                          .next_image = text_next,
                                          .destroy = text_destroy};
const struct writer_ops csv_writer_ops = {.format = FORMAT_CSV,
                                          .begin = text_begin,
                                          .write = text_write,
                                          .finish = text_finish,
                                          .next_image = text_next,
                                          .destroy = text_destroy};

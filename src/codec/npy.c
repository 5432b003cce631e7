/*
 * NumPy .npy files: "\x93NUMPY", a version, a header length, a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), } padded with spaces and a
 * newline, then the array data. See numpy/lib/format.py for the format's definition.
 * Data is streamed in C order, except for Fortran-order arrays with two or more axes longer
 * than 1: their C order is scattered over the whole file, so they are read into memory.
 */
#include "codec.h"
#include "formats.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_PREFIX_LEN 8     /* magic, major and minor version */
#define NPY_HEADER_MAX 10000 /* numpy.load's limit for untrusted files (max_header_size) */
#define NPY_ALIGN 64         /* numpy >= 1.16 aligns the data to 64 bytes */
#define NPY_GROWTH_DIGITS 21 /* numpy leaves room for the first axis to grow */
#define NPY_SUPPORTED "f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8 (any byte order)"

static const struct {
    const char *code;
    enum pool_dtype dtype;
} npy_types[] = {
    {"f2", DT_F16}, {"f4", DT_F32}, {"f8", DT_F64}, {"i1", DT_I8},  {"i2", DT_I16}, {"i4", DT_I32},
    {"i8", DT_I64}, {"u1", DT_U8},  {"u2", DT_U16}, {"u4", DT_U32}, {"u8", DT_U64},
};

static bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void swap_elements(void *buf, size_t count, size_t elem_size)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < count; i++, p += elem_size)
        for (size_t a = 0, b = elem_size - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

bool npy_sniff(const unsigned char *bytes, size_t n)
{
    return n >= NPY_MAGIC_LEN && !memcmp(bytes, NPY_MAGIC, NPY_MAGIC_LEN);
}

/* ---- header dict parsing ---- */

struct npy_header {
    char descr[32];
    bool fortran;
    int ndim; /* may exceed TENSOR_MAX_DIMS: only reported */
    size_t dims[TENSOR_MAX_DIMS];
    bool have_descr, have_fortran, have_shape;
};

struct cursor {
    const char *p, *end;
    struct pool_error *err;
};

static int syntax_error(struct cursor *c, const char *what)
{
    if (c->p >= c->end)
        return pool_fail(c->err, "bad .npy header: %s, found the end of the header", what);
    return pool_fail(c->err, "bad .npy header: %s, found '%c'", what, *c->p);
}

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool accept_char(struct cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted Python string without escapes: all that keys and type codes need. */
static int parse_string(struct cursor *c, char *out, size_t cap)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return syntax_error(c, "expected a quoted string");
    char quote = *c->p++;
    size_t len = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || *c->p == '\n')
            return pool_fail(c->err, "bad .npy header: unsupported character in a string");
        if (len + 1 == cap)
            return pool_fail(c->err, "bad .npy header: string '%.*s...' is too long", (int)len,
                             out);
        out[len++] = *c->p++;
    }
    if (c->p >= c->end)
        return pool_fail(c->err, "bad .npy header: unterminated string");
    c->p++;
    out[len] = '\0';
    return 0;
}

static const char *describe_kind(const char *code)
{
    switch (code[0]) {
    case 'b':
    case '?': return "bool";
    case 'c': return "complex";
    case 'U':
    case 'S':
    case 'a': return "string";
    case 'O': return "python object";
    case 'M':
    case 'm': return "datetime";
    case 'V': return "raw bytes or structured";
    case 'f': return "float of an unsupported size";
    case 'i':
    case 'u': return "integer of an unsupported size";
    default: return "unknown type";
    }
}

/* '<f4' to DT_F32, and whether its bytes are in the other order than the host's. */
static int descr_to_dtype(const char *descr, enum pool_dtype *dtype, bool *swap,
                          struct pool_error *err)
{
    char order = descr[0];
    if (!order || !strchr("<>|=", order))
        return pool_fail(err,
                         "unsupported dtype '%s': expected a byte order (<, >, | or =) "
                         "and a type code; supported: %s",
                         descr, NPY_SUPPORTED);
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (!strcmp(descr + 1, npy_types[i].code)) {
            *dtype = npy_types[i].dtype;
            bool little = host_is_little_endian();
            bool foreign = (order == '>' && little) || (order == '<' && !little);
            *swap = foreign && dtype_size(*dtype) > 1;
            return 0;
        }
    return pool_fail(err, "unsupported dtype '%s' (%s); supported: %s", descr,
                     describe_kind(descr + 1), NPY_SUPPORTED);
}

/* The length of a structured descr, "[('a', '<f4'), ...]", to quote it in a message. */
static size_t list_length(const char *p, const char *end)
{
    int depth = 0;
    for (const char *q = p; q < end; q++) {
        depth += (*q == '[') - (*q == ']');
        if (depth == 0)
            return (size_t)(q - p) + 1;
    }
    return (size_t)(end - p);
}

static int parse_descr(struct cursor *c, struct npy_header *h)
{
    skip_space(c);
    if (c->p < c->end && *c->p == '[') {
        size_t len = list_length(c->p, c->end);
        int shown = len > 60 ? 60 : (int)len;
        return pool_fail(c->err, "unsupported dtype %.*s%s (structured); supported: %s", shown,
                         c->p, len > 60 ? "..." : "", NPY_SUPPORTED);
    }
    return parse_string(c, h->descr, sizeof h->descr);
}

static int parse_bool(struct cursor *c, bool *out)
{
    skip_space(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && !memcmp(c->p, "True", 4)) {
        c->p += 4;
        *out = true;
    } else if (left >= 5 && !memcmp(c->p, "False", 5)) {
        c->p += 5;
        *out = false;
    } else {
        return syntax_error(c, "expected True or False");
    }
    return 0;
}

/* A non-negative Python int, with python 2's L suffix allowed. */
static int parse_size(struct cursor *c, size_t *out)
{
    skip_space(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return syntax_error(c, "expected a size in the shape");
    size_t v = 0;
    for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
        size_t digit = (size_t)(*c->p - '0');
        if (v > (SIZE_MAX - digit) / 10)
            return pool_fail(c->err, "bad .npy header: a size in the shape is too large");
        v = v * 10 + digit;
    }
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
        c->p++;
    *out = v;
    return 0;
}

/* A tuple of sizes: (), (5,), (1, 2, 3), (1, 2, 3,). A lone (5) is an int, not a tuple. */
static int parse_shape(struct cursor *c, struct npy_header *h)
{
    if (!accept_char(c, '('))
        return syntax_error(c, "expected a shape tuple");
    h->ndim = 0;
    if (accept_char(c, ')'))
        return 0;
    for (;;) {
        size_t size = 0;
        if (parse_size(c, &size))
            return -1;
        if (h->ndim < TENSOR_MAX_DIMS)
            h->dims[h->ndim] = size;
        h->ndim++;
        bool comma = accept_char(c, ',');
        if (accept_char(c, ')')) {
            if (h->ndim == 1 && !comma)
                return pool_fail(c->err, "bad .npy header: shape is not a tuple (write (%zu,))",
                                 size);
            return 0;
        }
        if (!comma)
            return syntax_error(c, "expected ',' or ')' in the shape");
    }
}

static int parse_entry(struct cursor *c, struct npy_header *h)
{
    char key[32];
    if (parse_string(c, key, sizeof key))
        return -1;
    bool *seen = !strcmp(key, "descr")           ? &h->have_descr
                 : !strcmp(key, "fortran_order") ? &h->have_fortran
                 : !strcmp(key, "shape")         ? &h->have_shape
                                                 : NULL;
    if (!seen)
        return pool_fail(c->err,
                         "bad .npy header: unknown key '%s' (expected descr, "
                         "fortran_order and shape)",
                         key);
    if (*seen)
        return pool_fail(c->err, "bad .npy header: key '%s' appears twice", key);
    *seen = true;
    if (!accept_char(c, ':'))
        return syntax_error(c, "expected ':' after a key");
    return seen == &h->have_descr     ? parse_descr(c, h)
           : seen == &h->have_fortran ? parse_bool(c, &h->fortran)
                                      : parse_shape(c, h);
}

static int parse_dict(const char *text, size_t len, struct npy_header *h, struct pool_error *err)
{
    struct cursor c = {text, text + len, err};
    memset(h, 0, sizeof *h);
    if (!accept_char(&c, '{'))
        return syntax_error(&c, "expected '{'");
    while (!accept_char(&c, '}')) {
        if (parse_entry(&c, h))
            return -1;
        if (!accept_char(&c, ',')) {
            if (accept_char(&c, '}'))
                break;
            return syntax_error(&c, "expected ',' or '}'");
        }
    }
    skip_space(&c);
    if (c.p != c.end)
        return syntax_error(&c, "unexpected text after the dict");
    const char *missing = !h->have_descr     ? "descr"
                          : !h->have_fortran ? "fortran_order"
                          : !h->have_shape   ? "shape"
                                             : NULL;
    if (missing)
        return pool_fail(err, "bad .npy header: key '%s' is missing", missing);
    return 0;
}

/* ---- reader ---- */

struct npy_reader {
    bool swap; /* data bytes are in the other order than the host's */
    size_t elem_size;
    size_t total_bytes; /* of array data */
    size_t bytes_read;  /* of array data, from the source */
    /* A Fortran-order array with more than one axis longer than 1 cannot be streamed in C
     * order: it is read whole into `whole` on the first read, then handed out transposed. */
    bool transpose;
    unsigned char *whole;
    size_t next; /* index, in C order, of the next element to hand out */
};

static int check_shape(const struct npy_header *h, struct tensor_shape *shape,
                       struct pool_error *err)
{
    if (h->ndim == 0)
        return pool_fail(err, "0-d array: nothing to pool");
    if (h->ndim > TENSOR_MAX_DIMS)
        return pool_fail(err, "array has %d axes; at most %d are supported", h->ndim,
                         TENSOR_MAX_DIMS);
    shape->ndim = h->ndim;
    memcpy(shape->dims, h->dims, sizeof shape->dims);
    char text[128];
    shape_format(shape, text, sizeof text);
    for (int i = 0; i < h->ndim; i++)
        if (h->dims[i] == 0)
            return pool_fail(err, "empty array: shape %s has no elements", text);
    size_t count;
    struct pool_error why;
    if (tensor_count(shape, &count, &why))
        return pool_fail(err, "array of shape %s is too large: %s", text, why.msg);
    return 0;
}

static int read_exact(struct byte_source *src, void *buf, size_t n, const char *what,
                      struct pool_error *err)
{
    errno = 0;
    size_t got = source_read(src, buf, n);
    if (got == n)
        return 0;
    if (source_failed(src))
        return pool_fail(err, "read failed: %s", errno ? strerror(errno) : "i/o error");
    return pool_fail(err, "truncated %s: expected %zu bytes, got %zu", what, n, got);
}

/* The magic and version; the length of the header dict that follows them. */
static int read_prefix(struct byte_source *src, size_t *dict_len, struct pool_error *err)
{
    unsigned char prefix[NPY_PREFIX_LEN + 4];
    if (read_exact(src, prefix, NPY_PREFIX_LEN, "header", err))
        return -1;
    if (!npy_sniff(prefix, NPY_PREFIX_LEN))
        return pool_fail(err, "not a .npy file (bad magic bytes)");
    int major = prefix[6], minor = prefix[7];
    if (major < 1 || major > 3 || minor != 0)
        return pool_fail(err, "unsupported .npy version %d.%d (known: 1.0, 2.0, 3.0)", major,
                         minor);
    size_t len_bytes = major == 1 ? 2 : 4;
    unsigned char *len = prefix + NPY_PREFIX_LEN;
    if (read_exact(src, len, len_bytes, "header", err))
        return -1;
    unsigned long n = len[0] | (unsigned long)len[1] << 8;
    if (len_bytes == 4)
        n |= (unsigned long)len[2] << 16 | (unsigned long)len[3] << 24;
    if (n > NPY_HEADER_MAX)
        return pool_fail(err, "bad .npy header: its length %lu is more than the %u allowed", n,
                         NPY_HEADER_MAX);
    *dict_len = n;
    return 0;
}

static int read_dict(struct byte_source *src, struct npy_header *h, struct pool_error *err)
{
    size_t len = 0;
    if (read_prefix(src, &len, err))
        return -1;
    char *text = malloc(len ? len : 1);
    if (!text)
        return pool_fail_resource(err, "out of memory");
    int rc = read_exact(src, text, len, "header", err);
    if (rc == 0)
        rc = parse_dict(text, len, h, err);
    free(text);
    return rc;
}

/* On a regular file the data's length is known now: fail before any work is done. */
static int check_data_length(const struct byte_source *src, const struct npy_reader *st,
                             struct pool_error *err)
{
    if (src->size < 0 || (unsigned long long)src->size < src->consumed)
        return 0;
    unsigned long long left = (unsigned long long)src->size - src->consumed;
    if (left < st->total_bytes)
        return pool_fail(err, "truncated data: expected %zu bytes of array data, got %llu",
                         st->total_bytes, left);
    if (left > st->total_bytes)
        return pool_fail(err, "trailing data after the array (%llu byte%s)", left - st->total_bytes,
                         left - st->total_bytes == 1 ? "" : "s");
    return 0;
}

static int count_long_axes(const struct tensor_shape *s)
{
    int n = 0;
    for (int i = 0; i < s->ndim; i++)
        n += s->dims[i] > 1;
    return n;
}

/* On failure r->state may hold memory; reader_close (ops->destroy) frees it. */
int npy_read_header(struct tensor_reader *r, struct pool_error *err)
{
    struct npy_header h;
    if (read_dict(r->src, &h, err))
        return -1;
    struct npy_reader *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    r->state = st;
    memset(&r->shape, 0, sizeof r->shape);
    if (descr_to_dtype(h.descr, &r->shape.dtype, &st->swap, err) || check_shape(&h, &r->shape, err))
        return -1;
    size_t count;
    tensor_count(&r->shape, &count, NULL);
    st->elem_size = dtype_size(r->shape.dtype);
    st->total_bytes = count * st->elem_size;
    st->transpose = h.fortran && count_long_axes(&r->shape) > 1;
    if (st->transpose && pool_check_memory(st->total_bytes, 0, reader_max_memory(r->opt),
                                           "a Fortran-order array, read whole, needs", err))
        return -1;
    r->memory_held = st->transpose ? st->total_bytes : 0;
    return check_data_length(r->src, st, err);
}

static int data_shortfall(struct tensor_reader *r, size_t got, struct pool_error *err)
{
    struct npy_reader *st = r->state;
    if (source_failed(r->src))
        return pool_fail(err, "read failed: %s", errno ? strerror(errno) : "i/o error");
    return pool_fail(err, "truncated data: expected %zu bytes of array data, got %zu",
                     st->total_bytes, st->bytes_read + got);
}

static int read_data(struct tensor_reader *r, void *buf, size_t n, struct pool_error *err)
{
    struct npy_reader *st = r->state;
    errno = 0;
    size_t got = source_read(r->src, buf, n);
    if (got < n)
        return data_shortfall(r, got, err);
    st->bytes_read += n;
    return 0;
}

static int load_whole(struct tensor_reader *r, struct pool_error *err)
{
    struct npy_reader *st = r->state;
    st->whole = malloc(st->total_bytes);
    if (!st->whole)
        return pool_fail_resource(
            err, "out of memory: a Fortran-order array is read whole (%zu bytes)", st->total_bytes);
    if (read_data(r, st->whole, st->total_bytes, err)) {
        free(st->whole);
        st->whole = NULL;
        return -1;
    }
    return 0;
}

/* Copies `count` elements from the Fortran-order array, starting at C-order index `next`. */
static void copy_transposed(const struct tensor_reader *r, unsigned char *out, size_t count)
{
    struct npy_reader *st = r->state;
    const struct tensor_shape *s = &r->shape;
    size_t index[TENSOR_MAX_DIMS], stride[TENSOR_MAX_DIMS];
    size_t rest = st->next, step = st->elem_size;
    for (int i = s->ndim - 1; i >= 0; i--) {
        index[i] = rest % s->dims[i];
        rest /= s->dims[i];
    }
    for (int i = 0; i < s->ndim; i++) {
        stride[i] = step;
        step *= s->dims[i];
    }
    for (size_t k = 0; k < count; k++, out += st->elem_size) {
        size_t offset = 0;
        for (int i = 0; i < s->ndim; i++)
            offset += index[i] * stride[i];
        memcpy(out, st->whole + offset, st->elem_size);
        for (int i = s->ndim - 1; i >= 0 && ++index[i] == s->dims[i]; i--)
            index[i] = 0;
    }
}

static int npy_read(struct tensor_reader *r, void *buf, size_t count, struct pool_error *err)
{
    struct npy_reader *st = r->state;
    size_t left = st->total_bytes / st->elem_size - st->next;
    if (count > left)
        return pool_fail(err, "asked for %zu elements, only %zu are left", count, left);
    if (st->transpose) {
        if (!st->whole && load_whole(r, err))
            return -1;
        copy_transposed(r, buf, count);
    } else if (read_data(r, buf, count * st->elem_size, err)) {
        return -1;
    }
    st->next += count;
    if (st->swap)
        swap_elements(buf, count, st->elem_size);
    return 0;
}

static int npy_finish(struct tensor_reader *r, struct pool_error *err)
{
    struct npy_reader *st = r->state;
    if (st->bytes_read < st->total_bytes)
        return pool_fail(err, "the array was not read to its end");
    errno = 0;
    if (!source_at_end(r->src))
        return pool_fail(err, "trailing data after the array");
    if (source_failed(r->src))
        return pool_fail(err, "read failed: %s", errno ? strerror(errno) : "i/o error");
    return 0;
}

static void npy_reader_destroy(struct tensor_reader *r)
{
    struct npy_reader *st = r->state;
    if (st)
        free(st->whole);
    free(st);
    r->state = NULL;
}

const struct reader_ops npy_reader_ops = {
    .format = FORMAT_NPY,
    .read = npy_read,
    .finish = npy_finish,
    .destroy = npy_reader_destroy,
};

/* ---- writer ---- */

struct npy_writer {
    size_t expected, written; /* elements, of the current image */
    /* --stack: every image one item along a new leading axis */
    struct tensor_shape item;    /* the first image's shape, which the others must have */
    off_t header_at, data_start; /* where the header and the items begin */
    size_t header_len;
};

/* The dict as numpy writes it: sorted keys, repr() values, a trailing ", ", room to grow. */
static size_t format_dict(const struct tensor_shape *s, char *buf, size_t cap)
{
    char shape[TENSOR_MAX_DIMS * 24 + 4] = "(";
    size_t used = 1;
    for (int i = 0; i < s->ndim; i++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, i ? ", %zu" : "%zu",
                                 s->dims[i]);
    snprintf(shape + used, sizeof shape - used, s->ndim == 1 ? ",)" : ")");
    char first[24];
    int growth = NPY_GROWTH_DIGITS - snprintf(first, sizeof first, "%zu", s->dims[0]);
    const char *order = dtype_size(s->dtype) == 1 ? "|" : "<";
    const char *code = "";
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (npy_types[i].dtype == s->dtype)
            code = npy_types[i].code;
    int n = snprintf(buf, cap, "{'descr': '%s%s', 'fortran_order': False, 'shape': %s, }%*s", order,
                     code, shape, growth > 0 ? growth : 0, "");
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1; /* never truncates: 5 axes */
}

static int write_all(FILE *out, const void *buf, size_t size, size_t count, struct pool_error *err)
{
    if (fwrite(buf, size, count, out) != count)
        return pool_fail(err, "write failed: %s", strerror(errno));
    return 0;
}

/* Spaces that bring magic, version, length, dict and newline to a multiple of 64 bytes;
 * like numpy, a full 64 when they are aligned already. */
static size_t header_padding(size_t prefix_len, size_t dict_len)
{
    return NPY_ALIGN - (prefix_len + dict_len + 1) % NPY_ALIGN;
}

/* Writes the header for s; its length (magic to newline) to *len when len is not NULL. */
/* Magic, version, length and dict of a header for s, into buf; returns its length. */
#define NPY_WRITTEN_HEADER_MAX (NPY_PREFIX_LEN + 4 + 512 + NPY_ALIGN + 1)
static size_t format_header(const struct tensor_shape *s, unsigned char *buf)
{
    char dict[512 + NPY_ALIGN + 1];
    size_t dict_len = format_dict(s, dict, 512);
    /* Version 1.0 has a 2-byte length, 2.0 a 4-byte one; numpy picks the first that fits. */
    size_t len_bytes = dict_len + header_padding(NPY_PREFIX_LEN + 2, dict_len) + 1 <= 0xffff ? 2
                                                                                             : 4;
    size_t pad = header_padding(NPY_PREFIX_LEN + len_bytes, dict_len);
    memset(dict + dict_len, ' ', pad);
    dict[dict_len + pad] = '\n';
    size_t header_len = dict_len + pad + 1;

    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = len_bytes == 2 ? 1 : 2;
    buf[7] = 0;
    for (size_t i = 0; i < len_bytes; i++)
        buf[NPY_PREFIX_LEN + i] = (unsigned char)(header_len >> (8 * i));
    memcpy(buf + NPY_PREFIX_LEN + len_bytes, dict, header_len);
    return NPY_PREFIX_LEN + len_bytes + header_len;
}

static int write_header(FILE *out, const struct tensor_shape *s, struct pool_error *err)
{
    unsigned char header[NPY_WRITTEN_HEADER_MAX];
    return write_all(out, header, 1, format_header(s, header), err);
}

/* The stack's shape: n items of the first image's shape. */
static int stack_shape(const struct tensor_shape *item, size_t n, struct tensor_shape *s,
                       struct pool_error *err)
{
    if (item->ndim + 1 > TENSOR_MAX_DIMS)
        return pool_fail(err,
                         "--stack: a %d-axis output has no room for one more axis in .npy "
                         "(%d at most)",
                         item->ndim, TENSOR_MAX_DIMS);
    *s = *item;
    s->ndim = item->ndim + 1;
    s->dims[0] = n;
    memcpy(s->dims + 1, item->dims, (size_t)item->ndim * sizeof item->dims[0]);
    return 0;
}

/* --stack: the header says no items yet (numpy's growth padding leaves room for any count),
 * and is rewritten where it began by npy_end. The file must be one that can be rewritten
 * there (the caller refuses a pipe, or a file opened to append, beforehand). */
static int stack_begin(struct tensor_writer *w, struct npy_writer *st, struct pool_error *err)
{
    struct tensor_shape s;
    st->item = w->shape;
    if (stack_shape(&w->shape, 0, &s, err))
        return -1;
    if ((st->header_at = ftello(w->out)) < 0)
        return pool_fail(err, "--stack needs a file, not a pipe: its header, which counts the "
                              "inputs, is written again at the end");
    unsigned char header[NPY_WRITTEN_HEADER_MAX];
    st->header_len = format_header(&s, header);
    st->data_start = st->header_at + (off_t)st->header_len;
    return write_all(w->out, header, 1, st->header_len, err);
}

static int npy_begin(struct tensor_writer *w, struct pool_error *err)
{
    const struct tensor_shape *s = &w->shape;
    if (s->ndim < 1 || s->ndim > TENSOR_MAX_DIMS || s->dtype >= DT_COUNT)
        return pool_fail(err, "cannot write a %d-axis tensor as .npy", s->ndim);
    size_t count;
    if (tensor_count(s, &count, err))
        return -1;
    struct npy_writer *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    st->expected = count;
    w->state = st;
    return w->opt->stack ? stack_begin(w, st, err) : write_header(w->out, s, err);
}

static bool same_item(const struct tensor_shape *a, const struct tensor_shape *b)
{
    return a->dtype == b->dtype && a->ndim == b->ndim &&
           !memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof a->dims[0]);
}

/* --stack: the next image, which must be shaped as the first. */
static int npy_next(struct tensor_writer *w, struct pool_error *err)
{
    struct npy_writer *st = w->state;
    if (!same_item(&w->shape, &st->item)) {
        char got[96], want[96];
        shape_describe(&w->shape, false, got, sizeof got);
        shape_describe(&st->item, false, want, sizeof want);
        return pool_fail(err,
                         "this output is %s %s, the stack's items are %s %s: stack "
                         "outputs of one shape and type",
                         got, dtype_name(w->shape.dtype), want, dtype_name(st->item.dtype));
    }
    st->written = 0;
    return 0;
}

/* --stack: counts the items the file holds and says so in the header. */
static int npy_end(struct tensor_writer *w, struct pool_error *err)
{
    struct npy_writer *st = w->state;
    off_t end = ftello(w->out);
    size_t item_bytes = st->expected * dtype_size(st->item.dtype), n = 0;
    if (end < st->data_start || (item_bytes && (size_t)(end - st->data_start) % item_bytes))
        return pool_fail(err, "--stack: the file holds part of an item");
    if (item_bytes)
        n = (size_t)(end - st->data_start) / item_bytes;
    struct tensor_shape s;
    unsigned char header[NPY_WRITTEN_HEADER_MAX];
    if (stack_shape(&st->item, n, &s, err))
        return -1;
    if (format_header(&s, header) != st->header_len)
        return pool_fail(err, "--stack: %zu items need a longer header than was written", n);
    if (fseeko(w->out, st->header_at, SEEK_SET))
        return pool_fail(err, "write failed: %s", strerror(errno));
    if (write_all(w->out, header, 1, st->header_len, err))
        return -1;
    if (fseeko(w->out, end, SEEK_SET) || fflush(w->out))
        return pool_fail(err, "write failed: %s", strerror(errno));
    return 0;
}

/* .npy data is little-endian as written here; a big-endian host swaps a block at a time. */
static int write_swapped(FILE *out, const void *buf, size_t count, size_t elem_size,
                         struct pool_error *err)
{
    unsigned char block[4096];
    size_t per_block = sizeof block / elem_size;
    const unsigned char *p = buf;
    while (count) {
        size_t n = count < per_block ? count : per_block;
        memcpy(block, p, n * elem_size);
        swap_elements(block, n, elem_size);
        if (write_all(out, block, elem_size, n, err))
            return -1;
        p += n * elem_size;
        count -= n;
    }
    return 0;
}

static int npy_write(struct tensor_writer *w, const void *buf, size_t count, struct pool_error *err)
{
    struct npy_writer *st = w->state;
    if (count > st->expected - st->written)
        return pool_fail(err, "more elements than the shape holds");
    st->written += count;
    size_t elem_size = dtype_size(w->shape.dtype);
    if (host_is_little_endian() || elem_size == 1)
        return write_all(w->out, buf, elem_size, count, err);
    return write_swapped(w->out, buf, count, elem_size, err);
}

static int npy_writer_finish(struct tensor_writer *w, struct pool_error *err)
{
    struct npy_writer *st = w->state;
    if (st->written != st->expected)
        return pool_fail(err, "wrote %zu of the %zu elements of the array", st->written,
                         st->expected);
    if (fflush(w->out))
        return pool_fail(err, "write failed: %s", strerror(errno));
    return 0;
}

static void npy_writer_destroy(struct tensor_writer *w)
{
    free(w->state);
    w->state = NULL;
}

const struct writer_ops npy_writer_ops = {
    .format = FORMAT_NPY,
    .begin = npy_begin,
    .write = npy_write,
    .finish = npy_writer_finish,
    .destroy = npy_writer_destroy,
};

/* --stack: one .npy of several images, each an item along a new leading axis. */
const struct writer_ops npy_stack_writer_ops = {
    .format = FORMAT_NPY,
    .begin = npy_begin,
    .write = npy_write,
    .finish = npy_writer_finish,
    .next_image = npy_next,
    .end = npy_end,
    .destroy = npy_writer_destroy,
};

/* Unit tests of the .npy and raw codecs and the format table. Fixtures are made here, in C;
 * with NPY_FIXTURE_DIR set (see npy_numpy_check.sh) files saved by NumPy are checked too. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "codec/codec.h"
#include "codec/formats.h"

static const struct image_meta no_meta;
static const struct writer_options no_options;

#define MAX_BYTES 8192

/* ---- inputs: bytes handed to a reader from a regular file or a pipe ---- */

struct input {
    struct byte_source src;
    char path[32];
};

static int open_file_input(struct input *in, const void *bytes, size_t n)
{
    strcpy(in->path, "/tmp/test_npy_XXXXXX");
    int fd = mkstemp(in->path);
    if (fd < 0)
        return -1;
    bool ok = write(fd, bytes, n) == (ssize_t)n;
    close(fd);
    struct pool_error err;
    if (!ok || source_open(&in->src, in->path, &err)) {
        unlink(in->path);
        return -1;
    }
    return 0;
}

/* A pipe has no known size: what the reader learns only at the end. */
static int open_pipe_input(struct input *in, const void *bytes, size_t n)
{
    int fds[2];
    in->path[0] = '\0';
    if (n > 60000 || pipe(fds))
        return -1;
    bool ok = write(fds[1], bytes, n) == (ssize_t)n;
    close(fds[1]);
    memset(&in->src, 0, sizeof in->src);
    in->src.fp = fdopen(fds[0], "rb");
    if (!ok || !in->src.fp) {
        if (in->src.fp)
            fclose(in->src.fp);
        else
            close(fds[0]);
        return -1;
    }
    in->src.name = "pipe";
    in->src.owns_fp = true;
    in->src.size = -1;
    return 0;
}

static int open_input(struct input *in, const void *bytes, size_t n, bool as_pipe)
{
    return as_pipe ? open_pipe_input(in, bytes, n) : open_file_input(in, bytes, n);
}

static void close_input(struct input *in)
{
    source_close(&in->src);
    if (in->path[0])
        unlink(in->path);
}

/* ---- reading a whole tensor, a few elements at a time ---- */

struct decoded {
    struct tensor_shape shape;
    unsigned char data[MAX_BYTES];
    size_t count;
    struct pool_error err;
};

static int read_elements(struct tensor_reader *r, struct decoded *out)
{
    if (tensor_count(&r->shape, &out->count, &out->err))
        return -1;
    size_t size = dtype_size(r->shape.dtype);
    if (out->count * size > MAX_BYTES)
        return pool_fail(&out->err, "test buffer too small");
    /* 5 elements at a time: chunks that cut across rows and planes. */
    for (size_t done = 0; done < out->count;) {
        size_t n = out->count - done < 5 ? out->count - done : 5;
        if (r->ops->read(r, out->data + done * size, n, &out->err))
            return -1;
        done += n;
    }
    return r->ops->finish(r, &out->err);
}

/* Decodes bytes as a file (or a pipe); 0, or -1 with the reason in out->err. */
static int decode(const void *bytes, size_t n, bool as_pipe, const struct raw_options *raw,
                  struct decoded *out)
{
    memset(out, 0, sizeof *out);
    struct input in;
    if (open_input(&in, bytes, n, as_pipe))
        return pool_fail(&out->err, "test input: %s", strerror(errno));
    struct tensor_reader r;
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    if (raw)
        opt.raw = *raw;
    int rc = reader_open(&r, &in.src, &opt, &out->err);
    if (rc == 0) {
        out->shape = r.shape;
        rc = read_elements(&r, out);
    }
    reader_close(&r);
    close_input(&in);
    return rc;
}

static bool has(const char *text, const char *part)
{
    if (strstr(text, part))
        return true;
    fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", text, part);
    return false;
}

/* Decodes as a file and as a pipe; both must fail with a message containing `part`. */
static void check_fails(const void *bytes, size_t n, const char *part)
{
    for (int as_pipe = 0; as_pipe < 2; as_pipe++) {
        struct decoded d;
        CHECK(decode(bytes, n, as_pipe, NULL, &d) == -1);
        CHECK(has(d.err.msg, part));
    }
}

/* ---- hand-made .npy files ---- */

/* Magic, version major.0, header length, the dict as given (no padding), then data. */
static size_t make_npy(unsigned char *out, int major, const char *dict, const void *data,
                       size_t data_len)
{
    size_t dict_len = strlen(dict), len_bytes = major == 1 ? 2 : 4;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    for (size_t i = 0; i < len_bytes; i++)
        out[8 + i] = (unsigned char)(dict_len >> (8 * i));
    memcpy(out + 8 + len_bytes, dict, dict_len);
    if (data_len)
        memcpy(out + 8 + len_bytes + dict_len, data, data_len);
    return 8 + len_bytes + dict_len + data_len;
}

static double element(const struct decoded *d, size_t i)
{
    const unsigned char *p = d->data + i * dtype_size(d->shape.dtype);
    union {
        uint8_t u8;
        int8_t i8;
        uint16_t u16;
        int16_t i16;
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        int64_t i64;
        float f32;
        double f64;
    } v;
    memcpy(&v, p, dtype_size(d->shape.dtype));
    switch (d->shape.dtype) {
    case DT_U8: return v.u8;
    case DT_I8: return v.i8;
    case DT_U16: return v.u16;
    case DT_I16: return v.i16;
    case DT_U32: return v.u32;
    case DT_I32: return v.i32;
    case DT_U64: return (double)v.u64;
    case DT_I64: return (double)v.i64;
    case DT_F16: return half_to_float(v.u16);
    case DT_F32: return v.f32;
    case DT_F64: return v.f64;
    default: return NAN;
    }
}

static void check_shape(const struct decoded *d, enum pool_dtype dtype, int ndim,
                        const size_t *dims)
{
    CHECK_EQ_INT(d->shape.dtype, dtype);
    CHECK_EQ_INT(d->shape.ndim, ndim);
    for (int i = 0; i < ndim && i < TENSOR_MAX_DIMS; i++)
        CHECK_EQ_INT(d->shape.dims[i], dims[i]);
}

/* ---- writing ---- */

static const char *const npy_descr[DT_COUNT] = {
    [DT_U8] = "|u1",  [DT_I8] = "|i1",  [DT_U16] = "<u2", [DT_I16] = "<i2",
    [DT_U32] = "<u4", [DT_I32] = "<i4", [DT_U64] = "<u8", [DT_I64] = "<i8",
    [DT_F16] = "<f2", [DT_F32] = "<f4", [DT_F64] = "<f8",
};

/* Writes the tensor to memory through the format's writer, 7 elements at a time. */
static size_t encode(enum file_format format, const struct tensor_shape *shape, const void *data,
                     unsigned char *out, size_t cap)
{
    FILE *fp = tmpfile();
    if (!fp)
        return 0;
    struct tensor_writer w;
    struct pool_error err;
    size_t count = 0, size = dtype_size(shape->dtype), len = 0;
    tensor_count(shape, &count, NULL);
    int rc = writer_open(&w, format, fp, shape, &no_meta, &no_options, &err);
    for (size_t done = 0; rc == 0 && done < count; done += 7) {
        size_t n = count - done < 7 ? count - done : 7;
        rc = w.ops->write(&w, (const unsigned char *)data + done * size, n, &err);
    }
    if (rc == 0)
        rc = w.ops->finish(&w, &err);
    writer_close(&w);
    if (rc == 0) {
        rewind(fp);
        len = fread(out, 1, cap, fp);
    } else {
        fprintf(stderr, "  encode failed: %s\n", err.msg);
    }
    fclose(fp);
    return len;
}

static void fill_bytes(unsigned char *data, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 37 + seed * 11 + 5);
}

static void check_written_header(const unsigned char *file, size_t len, enum pool_dtype t)
{
    CHECK(len > 10 && !memcmp(file, "\x93NUMPY\x01\x00", 8));
    size_t header_len = file[8] | (size_t)file[9] << 8;
    CHECK((10 + header_len) % 64 == 0);
    CHECK(10 + header_len <= len && file[10 + header_len - 1] == '\n');
    char expect[64];
    snprintf(expect, sizeof expect,
             "{'descr': '%s', 'fortran_order': False, 'shape': (2, 3, 4)"
             ", }",
             npy_descr[t]);
    CHECK(!memcmp(file + 10, expect, strlen(expect)));
}

static void test_roundtrip_every_dtype(void)
{
    for (int t = 0; t < DT_COUNT; t++) {
        struct tensor_shape shape = {.dtype = (enum pool_dtype)t, .ndim = 3, .dims = {2, 3, 4}};
        unsigned char data[24 * 8], file[MAX_BYTES];
        size_t bytes = 24 * dtype_size(shape.dtype);
        fill_bytes(data, bytes, (unsigned)t);
        size_t len = encode(FORMAT_NPY, &shape, data, file, sizeof file);
        check_written_header(file, len, shape.dtype);
        for (int as_pipe = 0; as_pipe < 2; as_pipe++) {
            struct decoded d;
            CHECK(decode(file, len, as_pipe, NULL, &d) == 0);
            check_shape(&d, shape.dtype, 3, shape.dims);
            CHECK(!memcmp(d.data, data, bytes));
        }
    }
}

/* The exact bytes numpy 1.24 writes for these shapes, 128-byte headers with room to grow. */
static void test_header_matches_numpy(void)
{
    static const struct {
        size_t dims[2];
        int ndim;
        enum pool_dtype t;
        size_t data_len;
        const char *dict;
    } cases[] = {
        {{2, 3}, 2, DT_F32, 24, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"},
        {{5}, 1, DT_U64, 40, "{'descr': '<u8', 'fortran_order': False, 'shape': (5,), }"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tensor_shape shape = {.dtype = cases[i].t, .ndim = cases[i].ndim};
        memcpy(shape.dims, cases[i].dims, sizeof cases[i].dims);
        unsigned char data[64] = {0}, file[MAX_BYTES];
        size_t len = encode(FORMAT_NPY, &shape, data, file, sizeof file);
        CHECK_EQ_INT(len, 128 + cases[i].data_len);
        CHECK(file[8] == 118 && file[9] == 0);
        size_t dict_len = strlen(cases[i].dict);
        CHECK(!memcmp(file + 10, cases[i].dict, dict_len));
        for (size_t k = 10 + dict_len; k < 127; k++)
            CHECK(file[k] == ' ');
        CHECK(file[127] == '\n');
    }
}

static void test_raw_roundtrip(void)
{
    struct raw_options raw = {.given = true, .shape = {.dtype = DT_I16, .ndim = 2, .dims = {3, 5}}};
    unsigned char data[30], file[64];
    fill_bytes(data, sizeof data, 3);
    size_t len = encode(FORMAT_RAW, &raw.shape, data, file, sizeof file);
    CHECK_EQ_INT(len, 30);
    CHECK(!memcmp(file, data, 30));
    for (int as_pipe = 0; as_pipe < 2; as_pipe++) {
        struct decoded d;
        CHECK(decode(file, len, as_pipe, &raw, &d) == 0);
        check_shape(&d, DT_I16, 2, raw.shape.dims);
        CHECK(!memcmp(d.data, data, 30));
        CHECK_EQ_INT(d.shape.layout[0], '\0');
    }
}

/* ---- reading hand-written headers ---- */

static void test_versions(void)
{
    const unsigned char data[] = {1, 0, 0xfe, 0xff, 0x2c, 0x01}; /* 1, -2, 300 as <i2 */
    for (int major = 1; major <= 3; major++) {
        unsigned char file[256];
        size_t len = make_npy(file, major,
                              "{'descr': '<i2', 'fortran_order': False, "
                              "'shape': (3,), }      \n",
                              data, sizeof data);
        struct decoded d;
        CHECK(decode(file, len, major == 2, NULL, &d) == 0);
        check_shape(&d, DT_I16, 1, (size_t[]){3});
        CHECK_NEAR(element(&d, 0), 1, 0);
        CHECK_NEAR(element(&d, 1), -2, 0);
        CHECK_NEAR(element(&d, 2), 300, 0);
    }
}

static void test_big_endian(void)
{
    static const struct {
        const char *dict;
        unsigned char data[16];
        size_t data_len;
        double want[2];
    } cases[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2,)}",
         {0x3f, 0xc0, 0, 0, 0xc0, 0x10, 0, 0},
         8,
         {1.5, -2.25}},
        {"{'descr': '>i2', 'fortran_order': False, 'shape': (2,)}",
         {0xff, 0xfe, 0x01, 0x02},
         4,
         {-2, 258}},
        {"{'descr': '>u8', 'fortran_order': False, 'shape': (2,)}",
         {0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
         16,
         {4294967298.0, 18446744073709551615.0}},
        {"{'descr': '>f2', 'fortran_order': False, 'shape': (2,)}",
         {0x3c, 0x00, 0xc0, 0x00},
         4,
         {1.0, -2.0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char file[256];
        size_t len = make_npy(file, 1, cases[i].dict, cases[i].data, cases[i].data_len);
        struct decoded d;
        CHECK(decode(file, len, i % 2, NULL, &d) == 0);
        CHECK_NEAR(element(&d, 0), cases[i].want[0], 0);
        CHECK_NEAR(element(&d, 1), cases[i].want[1], 0);
    }
    struct decoded d;
    unsigned char file[256];
    size_t len = make_npy(file, 1, "{'descr': '>u8', 'fortran_order': False, 'shape': (1,)}",
                          "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    CHECK(decode(file, len, false, NULL, &d) == 0);
    uint64_t v;
    memcpy(&v, d.data, 8);
    CHECK(v == 0x0102030405060708u);
}

/* Fortran order: element (i, j, k) holds i*100 + j*10 + k; the file has i varying fastest. */
static void test_fortran_order(void)
{
    static const struct {
        size_t dims[3];
        int ndim;
    } cases[] = {
        {{2, 3}, 2}, {{2, 3, 4}, 3}, {{1, 5}, 2}, {{4, 1, 1}, 3}, {{3, 1, 2}, 3},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_t *n = cases[c].dims;
        size_t d2 = cases[c].ndim == 3 ? n[2] : 1;
        uint16_t data[64];
        size_t count = 0;
        for (size_t k = 0; k < d2; k++)
            for (size_t j = 0; j < n[1]; j++)
                for (size_t i = 0; i < n[0]; i++)
                    data[count++] = (uint16_t)(i * 100 + j * 10 + k);
        char dict[128];
        if (cases[c].ndim == 2)
            snprintf(dict, sizeof dict,
                     "{'descr': '<u2', 'fortran_order': True, 'shape': "
                     "(%zu, %zu), }",
                     n[0], n[1]);
        else
            snprintf(dict, sizeof dict,
                     "{'descr': '<u2', 'fortran_order': True, 'shape': "
                     "(%zu, %zu, %zu), }",
                     n[0], n[1], n[2]);
        unsigned char file[512];
        size_t len = make_npy(file, 1, dict, data, count * 2);
        struct decoded d;
        CHECK(decode(file, len, c % 2, NULL, &d) == 0);
        check_shape(&d, DT_U16, cases[c].ndim, n);
        size_t at = 0;
        for (size_t i = 0; i < n[0]; i++)
            for (size_t j = 0; j < n[1]; j++)
                for (size_t k = 0; k < d2; k++)
                    CHECK_NEAR(element(&d, at++), i * 100 + j * 10 + k, 0);
    }
}

static void test_fortran_big_endian_truncated(void)
{
    unsigned char file[256];
    const unsigned char data[] = {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6}; /* >i2, 1..6 */
    const char *dict = "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }";
    size_t len = make_npy(file, 1, dict, data, sizeof data);
    struct decoded d;
    CHECK(decode(file, len, true, NULL, &d) == 0);
    static const double want[] = {1, 3, 5, 2, 4, 6};
    for (size_t i = 0; i < 6; i++)
        CHECK_NEAR(element(&d, i), want[i], 0);
    check_fails(file, len - 5, "truncated data: expected 12 bytes of array data, got 7");
}

static void test_header_variants(void)
{
    static const struct {
        const char *dict;
        int ndim;
        size_t dims[3];
        enum pool_dtype t;
    } cases[] = {
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)}", 2, {2, 3}, DT_F64},
        {"{'shape': (2, 3), 'descr': '<f8', 'fortran_order': False}", 2, {2, 3}, DT_F64},
        {"{'fortran_order': False, 'shape': (6,), 'descr': '|u1', }\n", 1, {6}, DT_U8},
        {"{\"descr\": \"=i1\", \"fortran_order\": False, \"shape\": (6, )}", 1, {6}, DT_I8},
        {" { 'descr' : '<u2' ,\n 'fortran_order' : False ,'shape':( 3L, 1L ,) , } \n  ",
         2,
         {3, 1},
         DT_U16},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (1, 1, 1), }", 3, {1, 1, 1}, DT_I32},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char data[64] = {0}, file[256];
        size_t count = 1;
        for (int k = 0; k < cases[i].ndim; k++)
            count *= cases[i].dims[k];
        size_t len = make_npy(file, 1, cases[i].dict, data, count * dtype_size(cases[i].t));
        struct decoded d;
        CHECK(decode(file, len, i % 2, NULL, &d) == 0);
        check_shape(&d, cases[i].t, cases[i].ndim, cases[i].dims);
    }
}

/* ---- errors ---- */

static void check_header_fails(const char *dict, size_t data_len, const char *part)
{
    unsigned char data[64] = {0}, file[512];
    size_t len = make_npy(file, 1, dict, data, data_len);
    check_fails(file, len, part);
}

static void test_unsupported_dtypes(void)
{
    static const struct {
        const char *descr, *kind;
    } cases[] = {
        {"'|b1'", "bool"},         {"'<c8'", "complex"},
        {"'<U3'", "string"},       {"'|O'", "object"},
        {"'<M8[ns]'", "datetime"}, {"'<f16'", "float of an unsupported size"},
        {"'f4'", "byte order"},    {"[('a', '<f4'), ('b', '<i2')]", "structured"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': %s, 'fortran_order': False, 'shape': (2,)}",
                 cases[i].descr);
        check_header_fails(dict, 32, cases[i].descr);
        check_header_fails(dict, 32, cases[i].kind);
        check_header_fails(dict, 32, "supported: f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8");
    }
}

static void test_bad_headers(void)
{
    static const struct {
        const char *dict, *part;
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': ()}", "0-d array: nothing to pool"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0)}", "empty array"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, "
         "4294967296)}",
         "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
         "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1)}",
         "6 axes; at most 5"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", "not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "expected a size"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "True or False"},
        {"{'descr': '<f4', 'shape': (2,)}", "'fortran_order' is missing"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", "unknown key 'x'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", "twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", "after the dict"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", "expected ',' or '}'"},
        {"{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}", "expected ':'"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "expected ',' or '}', found "
                                                                   "the end"},
        {"['descr']", "expected '{'"},
        {"", "expected '{', found the end"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_header_fails(cases[i].dict, 8, cases[i].part);
}

static void test_truncation_and_trailing_data(void)
{
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }";
    unsigned char data[48] = {0}, file[256];
    size_t len = make_npy(file, 1, dict, data, 40);
    check_fails(file, len - 28, "truncated data: expected 40 bytes of array data, got 12");
    len = make_npy(file, 1, dict, data, 41);
    check_fails(file, len, "trailing data after the array");
    check_fails(file, 20, "truncated header: expected 58 bytes, got 10");
    check_fails(file, 7, "truncated header: expected 8 bytes, got 7");
    check_fails(file, 9, "truncated header: expected 2 bytes, got 1");
}

static void test_bad_prefix(void)
{
    unsigned char file[256];
    size_t len = make_npy(file, 1, "{}", NULL, 0);
    file[5] = 'Z';
    check_fails(file, len,
                "unknown format: not a .npy, .png, .jpeg, .pnm, .tiff, .webp file (for raw data "
                "give --shape and --dtype)");
    check_fails(file, 0, "empty input");
    check_fails("\x93NUM", 4, "unknown format");
    len = make_npy(file, 4, "{}", NULL, 0);
    check_fails(file, len, "unsupported .npy version 4.0");
    memcpy(file, "\x93NUMPY\x02\x00\x00\x00\x20\x00", 12); /* 2 MiB header */
    check_fails(file, 12, "length 2097152 is more than");
}

static void test_raw_size_mismatch(void)
{
    struct raw_options raw = {.given = true,
                              .shape = {.dtype = DT_F32, .ndim = 4, .dims = {1, 3, 4, 4}}};
    unsigned char data[200] = {0};
    const char *want = "size mismatch: shape 1x3x4x4 f32 needs 192 bytes, the input has 100 bytes";
    for (int as_pipe = 0; as_pipe < 2; as_pipe++) {
        struct decoded d;
        CHECK(decode(data, 100, as_pipe, &raw, &d) == -1);
        CHECK(has(d.err.msg, want));
    }
    struct decoded d;
    CHECK(decode(data, 200, false, &raw, &d) == -1);
    CHECK(has(d.err.msg, "needs 192 bytes, the input has 200 bytes"));
    CHECK(decode(data, 200, true, &raw, &d) == -1);
    CHECK(has(d.err.msg, "the input has more than the 192 bytes that shape 1x3x4x4 f32 needs"));
}

static void test_write_errors(void)
{
    FILE *full = fopen("/dev/full", "wb");
    if (!full)
        return;
    struct tensor_shape shape = {.dtype = DT_F32, .ndim = 1, .dims = {3}};
    struct tensor_writer w;
    struct pool_error err;
    float data[3] = {1, 2, 3};
    int rc = writer_open(&w, FORMAT_NPY, full, &shape, &no_meta, &no_options, &err);
    if (rc == 0)
        rc = w.ops->write(&w, data, 3, &err);
    if (rc == 0)
        rc = w.ops->finish(&w, &err);
    CHECK(rc == -1);
    CHECK(has(err.msg, "write failed: No space left on device"));
    writer_close(&w);
    fclose(full);

    FILE *fp = tmpfile();
    CHECK(writer_open(&w, FORMAT_RAW, fp, &shape, &no_meta, &no_options, &err) == 0);
    CHECK(w.ops->write(&w, data, 2, &err) == 0);
    CHECK(w.ops->write(&w, data, 2, &err) == -1);
    CHECK(w.ops->finish(&w, &err) == -1);
    writer_close(&w);
    writer_close(&w);
    CHECK(writer_open(&w, FORMAT_UNKNOWN, fp, &shape, &no_meta, &no_options, &err) == -1);
    fclose(fp);
}

static void test_format_names(void)
{
    CHECK_EQ_INT(format_from_name("npy"), FORMAT_NPY);
    CHECK_EQ_INT(format_from_name("RAW"), FORMAT_RAW);
    CHECK_EQ_INT(format_from_name("png"), FORMAT_PNG);
    CHECK_EQ_INT(format_from_name("jpg"), FORMAT_JPEG);
    CHECK_EQ_INT(format_from_name("gif"), FORMAT_UNKNOWN);
    CHECK_EQ_INT(format_from_path("dir/x.npy"), FORMAT_NPY);
    CHECK_EQ_INT(format_from_path("X.NPY"), FORMAT_NPY);
    CHECK_EQ_INT(format_from_path("a.b/x.raw"), FORMAT_RAW);
    CHECK_EQ_INT(format_from_path("x.bin"), FORMAT_RAW);
    CHECK_EQ_INT(format_from_path("x.npy/data"), FORMAT_UNKNOWN);
    CHECK_EQ_INT(format_from_path("x.png"), FORMAT_PNG);
    CHECK_EQ_INT(format_from_path("x.PGM"), FORMAT_PNM);
    CHECK_EQ_INT(format_from_path("x.gif"), FORMAT_UNKNOWN);
    CHECK_EQ_INT(format_from_path("-"), FORMAT_UNKNOWN);
    CHECK_EQ_INT(format_from_path(".npy"), FORMAT_UNKNOWN);
    CHECK(!strcmp(format_name(FORMAT_NPY), "npy"));
    CHECK(!strcmp(format_name(FORMAT_RAW), "raw"));
    CHECK(!strcmp(format_name(FORMAT_UNKNOWN), "unknown"));
    CHECK(npy_sniff((const unsigned char *)"\x93NUMPY\x01", 7));
    CHECK(!npy_sniff((const unsigned char *)"\x93NUMP", 5));
}

/* Peeking after a partial read keeps the unread bytes and appends to them, in order (the
 * refill once wrote past the end of peeked[] here). */
static void test_source_peek_after_partial_read(void)
{
    unsigned char bytes[40], got[40];
    for (int i = 0; i < 40; i++)
        bytes[i] = (unsigned char)i;
    struct input in;
    CHECK(open_pipe_input(&in, bytes, sizeof bytes) == 0);
    const unsigned char *ahead;
    CHECK_EQ_INT(source_peek(&in.src, &ahead, 12), 12);
    CHECK_EQ_INT(source_read(&in.src, got, 4), 4);
    CHECK_EQ_INT(source_peek(&in.src, &ahead, SOURCE_PEEK_MAX), 16);
    CHECK(!memcmp(ahead, bytes + 4, 16));
    CHECK_EQ_INT(source_read(&in.src, got + 4, 6), 6);
    CHECK_EQ_INT(source_peek(&in.src, &ahead, 12), 12);
    CHECK_EQ_INT(source_read(&in.src, got + 10, 10), 10);
    CHECK_EQ_INT(source_peek(&in.src, &ahead, SOURCE_PEEK_MAX), 16);
    CHECK(!memcmp(ahead, bytes + 20, 16));
    CHECK_EQ_INT(source_read(&in.src, got + 20, 20), 20);
    CHECK(!memcmp(got, bytes, 40));
    CHECK(source_at_end(&in.src));
    CHECK_EQ_INT(in.src.consumed, 40);
    close_input(&in);
}

/* ---- files saved by NumPy (npy_numpy_check.sh) ---- */

static const char *const fixture_codes[DT_COUNT] = {
    [DT_U8] = "u1",  [DT_I8] = "i1",  [DT_U16] = "u2", [DT_I16] = "i2",
    [DT_U32] = "u4", [DT_I32] = "i4", [DT_U64] = "u8", [DT_I64] = "i8",
    [DT_F16] = "f2", [DT_F32] = "f4", [DT_F64] = "f8",
};

static size_t load_file(const char *dir, const char *name, unsigned char *buf, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "  cannot open fixture %s\n", path);
        return 0;
    }
    size_t len = fread(buf, 1, cap, fp);
    fclose(fp);
    return len;
}

/* Each fixture holds arange(n) in C order; read back, every element must be its index. */
static void check_numpy_fixture(const char *dir, const char *name, enum pool_dtype t, int ndim,
                                const size_t *dims)
{
    unsigned char file[MAX_BYTES];
    size_t len = load_file(dir, name, file, sizeof file);
    struct decoded d;
    CHECK(len > 0 && decode(file, len, false, NULL, &d) == 0);
    if (len == 0 || d.err.msg[0]) {
        fprintf(stderr, "  %s: %s\n", name, d.err.msg);
        return;
    }
    check_shape(&d, t, ndim, dims);
    for (size_t i = 0; i < d.count; i++)
        CHECK_NEAR(element(&d, i), (double)i, 0);
    /* Written back, a little-endian C-order array comes out byte for byte as numpy's. */
    if (strstr(name, "_le_C_v1") || !strncmp(name, "shape_", 6)) {
        unsigned char ours[MAX_BYTES];
        size_t ours_len = encode(FORMAT_NPY, &d.shape, d.data, ours, sizeof ours);
        CHECK_EQ_INT(ours_len, len);
        CHECK(ours_len == len && !memcmp(ours, file, len));
    }
}

static void test_numpy_fixtures(const char *dir)
{
    static const char *const orders[] = {"le", "be"}, *const layouts[] = {"C", "F"};
    const size_t dims[3] = {2, 3, 4};
    int checked = 0;
    for (int t = 0; t < DT_COUNT; t++)
        for (int o = 0; o < 2; o++)
            for (int l = 0; l < 2; l++)
                for (int v = 1; v <= 3; v++) {
                    char name[64];
                    snprintf(name, sizeof name, "%s_%s_%s_v%d.npy", fixture_codes[t], orders[o],
                             layouts[l], v);
                    check_numpy_fixture(dir, name, (enum pool_dtype)t, 3, dims);
                    checked++;
                }
    static const struct {
        const char *name;
        int ndim;
        size_t dims[5];
    } shapes[] = {
        {"shape_1d.npy", 1, {7}},
        {"shape_5d.npy", 5, {1, 2, 3, 2, 2}},
        {"shape_wide.npy", 2, {1, 1000}},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++, checked++)
        check_numpy_fixture(dir, shapes[i].name, DT_F32, shapes[i].ndim, shapes[i].dims);
    printf("checked %d numpy fixtures in %s\n", checked, dir);
}

int main(void)
{
    RUN(test_roundtrip_every_dtype());
    RUN(test_header_matches_numpy());
    RUN(test_raw_roundtrip());
    RUN(test_versions());
    RUN(test_big_endian());
    RUN(test_fortran_order());
    RUN(test_fortran_big_endian_truncated());
    RUN(test_header_variants());
    RUN(test_unsupported_dtypes());
    RUN(test_bad_headers());
    RUN(test_truncation_and_trailing_data());
    RUN(test_bad_prefix());
    RUN(test_raw_size_mismatch());
    RUN(test_write_errors());
    RUN(test_format_names());
    RUN(test_source_peek_after_partial_read());
    const char *fixtures = getenv("NPY_FIXTURE_DIR");
    if (fixtures && *fixtures)
        RUN(test_numpy_fixtures(fixtures));
    return check_summary();
}

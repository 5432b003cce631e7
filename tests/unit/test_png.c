/* Unit tests of the PNG codec. Fixtures are made here: with our writer, and with libpng
 * directly for what our writer never produces (palettes, tRNS, sub-byte gray, interlacing).
 * With PNG_FIXTURE_DIR set (see png_pillow_check.sh) files saved by Pillow are checked too. */
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "codec/codec.h"
#include "codec/formats.h"
#include "codec/image.h"

/* ---- bytes in memory ---- */

struct buffer {
    unsigned char *data;
    size_t len, cap;
};

static void buffer_append(struct buffer *b, const void *bytes, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *grown = realloc(b->data, cap);
        if (!grown)
            abort();
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
}

static void buffer_free(struct buffer *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void slurp(FILE *fp, struct buffer *out)
{
    char chunk[4096];
    size_t n;
    rewind(fp);
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        buffer_append(out, chunk, n);
}

/* Deterministic noise: incompressible enough that IDAT spans most of a file. */
static void fill_noise(unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (unsigned char)(seed >> 24);
    }
}

static struct tensor_shape image_shape(size_t h, size_t w, size_t c, enum pool_dtype t)
{
    struct tensor_shape s = {.dtype = t, .ndim = c == 1 ? 2 : 3, .dims = {h, w, c}};
    strcpy(s.layout, c == 1 ? "hw" : "hwc");
    return s;
}

/* ---- decoding with our reader ---- */

struct decoded {
    struct tensor_shape shape;
    char layout_hint[TENSOR_MAX_DIMS + 1];
    struct image_meta meta; /* icc owned here */
    unsigned char *data;
    size_t bytes;
    struct pool_error err;
};

static void decoded_free(struct decoded *d)
{
    free(d->data);
    image_meta_free(&d->meta);
}

static int read_all_rows(struct tensor_reader *r, size_t rows_per_read, struct decoded *out)
{
    size_t height = r->shape.dims[0];
    size_t row_elems = r->shape.dims[1] * (r->shape.ndim == 3 ? r->shape.dims[2] : 1);
    size_t row_bytes = row_elems * dtype_size(r->shape.dtype);
    out->bytes = height * row_bytes;
    out->data = malloc(out->bytes);
    if (!out->data)
        return pool_fail(&out->err, "test: out of memory");
    for (size_t y = 0; y < height; y += rows_per_read) {
        size_t n = height - y < rows_per_read ? height - y : rows_per_read;
        if (r->ops->read(r, out->data + y * row_bytes, n * row_elems, &out->err))
            return -1;
    }
    return r->ops->finish(r, &out->err);
}

/* Decodes bytes as a regular file, rows_per_read rows at a time; 0, or -1 and out->err. */
static int decode_opt(const void *bytes, size_t n, size_t rows_per_read,
                      unsigned long long max_pixels, struct decoded *out)
{
    memset(out, 0, sizeof *out);
    FILE *fp = tmpfile();
    if (!fp || fwrite(bytes, 1, n, fp) != n) {
        if (fp)
            fclose(fp);
        return pool_fail(&out->err, "test: cannot make the input file");
    }
    rewind(fp);
    struct byte_source src = {.fp = fp, .name = "test.png", .owns_fp = true, .size = (long long)n};
    struct reader_options opt = {.max_pixels = max_pixels};
    struct tensor_reader r = {.ops = &png_reader_ops, .src = &src, .opt = &opt};
    int rc = png_read_header(&r, &out->err);
    if (rc == 0) {
        out->shape = r.shape;
        memcpy(out->layout_hint, r.layout_hint, sizeof r.layout_hint);
        rc = read_all_rows(&r, rows_per_read, out);
    }
    /* As reader_close does: destroy, then the meta (kept here for the checks). */
    r.ops->destroy(&r);
    r.ops->destroy(&r);
    out->meta = r.meta;
    source_close(&src);
    return rc;
}

static int decode(const void *bytes, size_t n, struct decoded *out)
{
    return decode_opt(bytes, n, 3, DEFAULT_MAX_PIXELS, out);
}

static bool has(const char *text, const char *part)
{
    if (strstr(text, part))
        return true;
    fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", text, part);
    return false;
}

static void check_fails(const void *bytes, size_t n, const char *part)
{
    struct decoded d;
    CHECK(decode(bytes, n, &d) == -1);
    CHECK(has(d.err.msg, part));
    decoded_free(&d);
}

/* ---- encoding with our writer ---- */

static int encode(const struct tensor_shape *shape, const struct image_meta *meta, int level,
                  const void *data, size_t rows_per_write, struct buffer *out,
                  struct pool_error *err)
{
    FILE *fp = tmpfile();
    if (!fp)
        return pool_fail(err, "test: no temporary file");
    struct writer_options opt = {.png_level = level};
    struct tensor_writer w = {
        .ops = &png_writer_ops, .out = fp, .shape = *shape, .meta = meta, .opt = &opt};
    int rc = w.ops->begin(&w, err);
    if (rc == 0) {
        struct image_dims dims;
        image_dims_from_shape(shape, FORMAT_PNG, &dims, NULL);
        size_t row_elems = dims.width * dims.channels;
        size_t row_bytes = row_elems * dtype_size(dims.dtype);
        const unsigned char *p = data;
        for (size_t y = 0; y < dims.height && rc == 0; y += rows_per_write) {
            size_t n = dims.height - y < rows_per_write ? dims.height - y : rows_per_write;
            rc = w.ops->write(&w, p + y * row_bytes, n * row_elems, err);
        }
        if (rc == 0)
            rc = w.ops->finish(&w, err);
    }
    w.ops->destroy(&w);
    w.ops->destroy(&w);
    if (rc == 0)
        slurp(fp, out);
    fclose(fp);
    return rc;
}

/* ---- PNGs made with libpng directly ---- */

struct png_spec {
    int width, height, color_type, bit_depth, interlace;
    const png_color *palette;
    int palette_len;
    const unsigned char *trans; /* palette alpha */
    int trans_len;
    const png_color_16 *trans_color; /* gray or RGB colour key */
    const unsigned char *rows;       /* packed as in the file: big-endian, MSB first */
};

static void append_to_buffer(png_structp png, png_bytep data, size_t n)
{
    buffer_append(png_get_io_ptr(png), data, n);
}

static void no_flush(png_structp png) { (void)png; }

static size_t spec_row_bytes(const struct png_spec *s)
{
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    return ((size_t)s->width * (size_t)channels[s->color_type] * (size_t)s->bit_depth + 7) / 8;
}

static void write_spec(png_structp png, png_infop info, const struct png_spec *s)
{
    png_set_IHDR(png, info, (png_uint_32)s->width, (png_uint_32)s->height, s->bit_depth,
                 s->color_type, s->interlace, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    if (s->palette)
        png_set_PLTE(png, info, s->palette, s->palette_len);
    if (s->trans || s->trans_color)
        png_set_tRNS(png, info, s->trans, s->trans_len, s->trans_color);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < s->height; y++)
            png_write_row(png, s->rows + (size_t)y * spec_row_bytes(s));
    png_write_end(png, NULL);
}

static int make_png(const struct png_spec *s, struct buffer *out)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_set_write_fn(png, out, append_to_buffer, no_flush);
    write_spec(png, info, s);
    png_destroy_write_struct(&png, &info);
    return 0;
}

/* ---- chunk surgery ---- */

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

/* Offset of a chunk's length field, or 0 when it is not there. */
static size_t find_chunk(const struct buffer *b, const char *type)
{
    for (size_t at = 8; at + 12 <= b->len; at += 12 + get_be32(b->data + at))
        if (!memcmp(b->data + at + 4, type, 4))
            return at;
    return 0;
}

/* Recomputes a chunk's CRC after its data was changed on purpose. */
static void fix_crc(struct buffer *b, size_t at)
{
    uint32_t len = get_be32(b->data + at);
    uint32_t crc = (uint32_t)crc32(0, b->data + at + 4, len + 4);
    put_be32(b->data + at + 8 + len, crc);
}

/* ---- round trips through our writer and reader ---- */

static void check_roundtrip(size_t h, size_t w, size_t c, enum pool_dtype t, int level,
                            size_t rows_per_write, size_t rows_per_read)
{
    struct tensor_shape shape = image_shape(h, w, c, t);
    size_t bytes = h * w * c * dtype_size(t);
    unsigned char *pixels = malloc(bytes);
    fill_noise(pixels, bytes, (uint32_t)(h * 131 + w * 17 + c * 7 + (size_t)t));
    /* Some runs, so compression has something to find. */
    memset(pixels, 0x5a, bytes / 3);
    static const struct image_meta no_meta;
    struct buffer file = {0};
    struct pool_error err;
    CHECK(encode(&shape, &no_meta, level, pixels, rows_per_write, &file, &err) == 0);
    struct decoded d;
    CHECK(decode_opt(file.data, file.len, rows_per_read, DEFAULT_MAX_PIXELS, &d) == 0);
    if (d.err.msg[0])
        fprintf(stderr, "  %zux%zux%zu %s: %s\n", h, w, c, dtype_name(t), d.err.msg);
    CHECK_EQ_INT(d.shape.dtype, t);
    CHECK_EQ_INT(d.shape.ndim, c == 1 ? 2 : 3);
    CHECK(!strcmp(d.layout_hint, c == 1 ? "hw" : "hwc"));
    CHECK(d.meta.is_image);
    CHECK_EQ_INT(d.meta.color, c <= 2 ? COLOR_GRAY : COLOR_RGB);
    CHECK_EQ_INT(d.meta.has_alpha, c == 2 || c == 4);
    CHECK(d.bytes == bytes && d.data && !memcmp(d.data, pixels, bytes));
    decoded_free(&d);
    buffer_free(&file);
    free(pixels);
}

static void test_roundtrips(void)
{
    for (size_t c = 1; c <= 4; c++)
        for (int t = 0; t < 2; t++) {
            enum pool_dtype dtype = t ? DT_U16 : DT_U8;
            check_roundtrip(7, 5, c, dtype, 3, 1, 1);
            check_roundtrip(9, 13, c, dtype, 0, 4, 3);
            check_roundtrip(16, 3, c, dtype, 6, 16, 16);
            check_roundtrip(1, 1, c, dtype, 9, 1, 1);
        }
    check_roundtrip(300, 200, 3, DT_U8, 3, 7, 11);
}

/* 16-bit samples are big-endian in the file, native in memory. */
static void test_16bit_byte_order(void)
{
    const uint16_t pixels[2] = {0x0102, 0xfffe};
    struct tensor_shape shape = image_shape(1, 2, 1, DT_U16);
    static const struct image_meta no_meta;
    struct buffer file = {0};
    struct pool_error err;
    CHECK(encode(&shape, &no_meta, 0, pixels, 1, &file, &err) == 0);
    /* Level 0: one stored deflate block; the filtered row is its last 5 bytes before the
     * adler32: filter byte 0, then 01 02 ff fe. */
    size_t idat = find_chunk(&file, "IDAT");
    CHECK(idat > 0);
    if (idat) {
        const unsigned char *data = file.data + idat + 8;
        uint32_t len = get_be32(file.data + idat);
        CHECK(len >= 9 && !memcmp(data + len - 9, "\0\x01\x02\xff\xfe", 5));
    }
    buffer_free(&file);
}

/* ---- reading what our writer never writes ---- */

static void check_spec_decodes(const struct png_spec *s, enum pool_dtype t, size_t channels,
                               const void *want, size_t want_bytes)
{
    struct buffer file = {0};
    CHECK(make_png(s, &file) == 0);
    for (size_t per_read = 1; per_read <= 2; per_read++) {
        struct decoded d;
        CHECK(decode_opt(file.data, file.len, per_read, DEFAULT_MAX_PIXELS, &d) == 0);
        if (d.err.msg[0])
            fprintf(stderr, "  color type %d, %d-bit: %s\n", s->color_type, s->bit_depth,
                    d.err.msg);
        CHECK_EQ_INT(d.shape.dtype, t);
        CHECK_EQ_INT(d.shape.ndim == 3 ? d.shape.dims[2] : 1, channels);
        CHECK_EQ_INT(d.meta.has_alpha, channels == 2 || channels == 4);
        CHECK(d.bytes == want_bytes && d.data && !memcmp(d.data, want, want_bytes));
        decoded_free(&d);
    }
    buffer_free(&file);
}

static const png_color palette[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};

static void test_palette(void)
{
    /* 8-bit indices, no tRNS: RGB. */
    const unsigned char rows8[2 * 3] = {0, 1, 2, 3, 2, 1};
    struct png_spec s = {.width = 3,
                         .height = 2,
                         .color_type = PNG_COLOR_TYPE_PALETTE,
                         .bit_depth = 8,
                         .palette = palette,
                         .palette_len = 4,
                         .rows = rows8};
    unsigned char rgb[6 * 3];
    for (int i = 0; i < 6; i++)
        memcpy(rgb + 3 * i, &palette[rows8[i]], 3);
    check_spec_decodes(&s, DT_U8, 3, rgb, sizeof rgb);

    /* 2-bit indices with a tRNS shorter than the palette: RGBA, the rest opaque. */
    const unsigned char rows2[2] = {0x1b, 0xe4}; /* 0 1 2 3 / 3 2 1 0 */
    const unsigned char alpha[2] = {0, 128};
    const unsigned char idx[8] = {0, 1, 2, 3, 3, 2, 1, 0};
    s = (struct png_spec){.width = 4,
                          .height = 2,
                          .color_type = PNG_COLOR_TYPE_PALETTE,
                          .bit_depth = 2,
                          .palette = palette,
                          .palette_len = 4,
                          .trans = alpha,
                          .trans_len = 2,
                          .rows = rows2};
    unsigned char rgba[8 * 4];
    for (int i = 0; i < 8; i++) {
        memcpy(rgba + 4 * i, &palette[idx[i]], 3);
        rgba[4 * i + 3] = idx[i] < 2 ? alpha[idx[i]] : 255;
    }
    check_spec_decodes(&s, DT_U8, 4, rgba, sizeof rgba);
}

static void test_sub_byte_gray(void)
{
    /* 1-bit: 0 1 1 0 1 -> 0 255 255 0 255. */
    const unsigned char rows1[1] = {0x68};
    const unsigned char want1[5] = {0, 255, 255, 0, 255};
    struct png_spec s = {
        .width = 5, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1, .rows = rows1};
    check_spec_decodes(&s, DT_U8, 1, want1, sizeof want1);

    /* 2-bit: 0 1 2 3 -> 0 85 170 255. */
    const unsigned char rows2[1] = {0x1b};
    const unsigned char want2[4] = {0, 85, 170, 255};
    s.bit_depth = 2, s.width = 4, s.rows = rows2;
    check_spec_decodes(&s, DT_U8, 1, want2, sizeof want2);

    /* 4-bit: 0 5 15 -> 0 85 255, over two rows. */
    const unsigned char rows4[4] = {0x05, 0xf0, 0xf5, 0x00};
    const unsigned char want4[6] = {0, 85, 255, 255, 85, 0};
    s.bit_depth = 4, s.width = 3, s.height = 2, s.rows = rows4;
    check_spec_decodes(&s, DT_U8, 1, want4, sizeof want4);

    /* 4-bit with a colour key: gray+alpha, still scaled. */
    const png_color_16 key = {.gray = 5};
    s.trans_color = &key;
    const unsigned char want4a[12] = {0, 255, 85, 0, 255, 255, 255, 255, 85, 0, 0, 255};
    check_spec_decodes(&s, DT_U8, 2, want4a, sizeof want4a);
}

static void test_color_key(void)
{
    /* 16-bit RGB with tRNS: RGBA 16-bit, alpha 0 where the key matches. */
    const unsigned char rows[2 * 6] = {0x12, 0x34, 0,    1,    0xff, 0xff,
                                       0x00, 0x10, 0x00, 0x20, 0x00, 0x30};
    const png_color_16 key = {.red = 0x10, .green = 0x20, .blue = 0x30};
    struct png_spec s = {.width = 2,
                         .height = 1,
                         .color_type = PNG_COLOR_TYPE_RGB,
                         .bit_depth = 16,
                         .trans_color = &key,
                         .rows = rows};
    const uint16_t want[8] = {0x1234, 1, 0xffff, 0xffff, 0x10, 0x20, 0x30, 0};
    check_spec_decodes(&s, DT_U16, 4, want, sizeof want);
}

static void test_interlaced(void)
{
    /* Odd sizes, so some passes have empty rows or columns. */
    enum { W = 13, H = 11 };
    unsigned char rgb[H * W * 3];
    fill_noise(rgb, sizeof rgb, 7);
    struct png_spec s = {.width = W,
                         .height = H,
                         .color_type = PNG_COLOR_TYPE_RGB,
                         .bit_depth = 8,
                         .interlace = PNG_INTERLACE_ADAM7,
                         .rows = rgb};
    check_spec_decodes(&s, DT_U8, 3, rgb, sizeof rgb);

    unsigned char gray16[H * W * 2];
    fill_noise(gray16, sizeof gray16, 8);
    uint16_t want[H * W];
    for (size_t i = 0; i < H * W; i++)
        want[i] = (uint16_t)(gray16[2 * i] << 8 | gray16[2 * i + 1]);
    s = (struct png_spec){.width = W,
                          .height = H,
                          .color_type = PNG_COLOR_TYPE_GRAY,
                          .bit_depth = 16,
                          .interlace = PNG_INTERLACE_ADAM7,
                          .rows = gray16};
    check_spec_decodes(&s, DT_U16, 1, want, sizeof want);

    const unsigned char one[1] = {0x80};
    const unsigned char white[1] = {255};
    s = (struct png_spec){.width = 1,
                          .height = 1,
                          .color_type = PNG_COLOR_TYPE_GRAY,
                          .bit_depth = 1,
                          .interlace = PNG_INTERLACE_ADAM7,
                          .rows = one};
    check_spec_decodes(&s, DT_U8, 1, white, 1);
}

/* ---- colour metadata ---- */

/* The smallest profile libpng accepts: a header and an empty tag table. */
static void make_icc(unsigned char *p, size_t len, const char *color_space)
{
    memset(p, 0, len);
    put_be32(p, (uint32_t)len);
    put_be32(p + 8, 0x02100000); /* version 2.1 */
    memcpy(p + 12, "mntr", 4);
    memcpy(p + 16, color_space, 4);
    memcpy(p + 20, "XYZ ", 4);
    memcpy(p + 36, "acsp", 4);
    put_be32(p + 68, 0x0000f6d6); /* D50 */
    put_be32(p + 72, 0x00010000);
    put_be32(p + 76, 0x0000d32d);
    for (size_t i = 132; i < len; i++)
        p[i] = (unsigned char)i;
}

static void check_meta_roundtrip(size_t channels, const struct image_meta *in,
                                 struct image_meta *out)
{
    struct tensor_shape shape = image_shape(2, 2, channels, DT_U8);
    unsigned char pixels[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct buffer file = {0};
    struct pool_error err;
    CHECK(encode(&shape, in, 3, pixels, 2, &file, &err) == 0);
    struct decoded d;
    CHECK(decode(file.data, file.len, &d) == 0);
    *out = d.meta;
    d.meta.icc = NULL;
    decoded_free(&d);
    buffer_free(&file);
}

static void test_icc(void)
{
    unsigned char icc[300];
    make_icc(icc, sizeof icc, "RGB ");
    struct image_meta in = {
        .is_image = true, .color = COLOR_RGB, .icc = icc, .icc_len = sizeof icc};
    struct image_meta out;
    check_meta_roundtrip(3, &in, &out);
    CHECK(out.icc_len == sizeof icc && out.icc && !memcmp(out.icc, icc, sizeof icc));
    image_meta_free(&out);

    make_icc(icc, 200, "GRAY");
    in = (struct image_meta){
        .is_image = true, .color = COLOR_GRAY, .has_alpha = true, .icc = icc, .icc_len = 200};
    check_meta_roundtrip(2, &in, &out);
    CHECK(out.icc_len == 200 && out.icc && !memcmp(out.icc, icc, 200));
    image_meta_free(&out);
}

static void test_gamma_and_srgb(void)
{
    struct image_meta in = {.is_image = true, .has_gamma = true, .gamma = 0.5};
    struct image_meta out;
    check_meta_roundtrip(1, &in, &out);
    CHECK(out.has_gamma);
    CHECK_NEAR(out.gamma, 0.5, 1e-5);
    CHECK(!out.has_srgb && !out.icc);

    in = (struct image_meta){
        .is_image = true, .has_srgb = true, .srgb_intent = 1, .has_gamma = true, .gamma = 0.45455};
    check_meta_roundtrip(3, &in, &out);
    CHECK(out.has_srgb);
    CHECK_EQ_INT(out.srgb_intent, 1);
    CHECK(out.has_gamma);
    CHECK_NEAR(out.gamma, 0.45455, 1e-5);

    /* A tensor's zeroed meta: no colour chunks at all. */
    static const struct image_meta none;
    check_meta_roundtrip(4, &none, &out);
    CHECK(!out.has_gamma && !out.has_srgb && !out.icc);
    CHECK_EQ_INT(out.color, COLOR_RGB);
    CHECK(out.has_alpha);
}

/* Colour chunks libpng refuses are left out; the pixels are still written. */
static void test_invalid_color_chunks(void)
{
    unsigned char icc[200];
    memset(icc, 7, sizeof icc);
    struct image_meta in = {.is_image = true, .icc = icc, .icc_len = sizeof icc};
    struct image_meta out;
    check_meta_roundtrip(3, &in, &out);
    CHECK(!out.icc && !out.has_srgb && !out.has_gamma);

    make_icc(icc, sizeof icc, "GRAY"); /* a gray profile on RGB */
    check_meta_roundtrip(3, &in, &out);
    CHECK(!out.icc);

    in = (struct image_meta){.is_image = true, .has_srgb = true, .srgb_intent = 7};
    check_meta_roundtrip(3, &in, &out);
    CHECK(!out.has_srgb);

    in = (struct image_meta){.is_image = true, .has_gamma = true, .gamma = 1e9};
    check_meta_roundtrip(3, &in, &out);
    CHECK(!out.has_gamma);

    /* A gamma that contradicts sRGB: sRGB wins. */
    in = (struct image_meta){.is_image = true, .has_srgb = true, .has_gamma = true, .gamma = 1.0};
    check_meta_roundtrip(3, &in, &out);
    CHECK(out.has_srgb);
    CHECK_NEAR(out.gamma, 0.45455, 1e-5);
}

/* ---- bad input ---- */

/* A 64x64 RGB image of noise: its IDAT is most of the file. */
static void make_noise_png(struct buffer *file)
{
    enum { N = 64 };
    static unsigned char pixels[N * N * 3];
    fill_noise(pixels, sizeof pixels, 42);
    struct tensor_shape shape = image_shape(N, N, 3, DT_U8);
    struct image_meta meta = {.is_image = true, .has_gamma = true, .gamma = 0.45455};
    struct pool_error err;
    CHECK(encode(&shape, &meta, 3, pixels, N, file, &err) == 0);
}

static void test_truncated(void)
{
    struct buffer file = {0};
    make_noise_png(&file);
    size_t idat = find_chunk(&file, "IDAT");
    CHECK(idat > 0 && file.len > 1000);
    check_fails(file.data, 0, "empty input");
    check_fails(file.data, 5, "truncated PNG data (signature)");
    check_fails(file.data, 8, "truncated PNG data (header)");
    check_fails(file.data, 20, "truncated PNG data (header)");
    check_fails(file.data, idat + 4, "truncated PNG data (header)");
    check_fails(file.data, idat + 100, "truncated PNG data (row 1 of 64)");
    check_fails(file.data, file.len / 2, "truncated PNG data (row 1 of 64)");
    check_fails(file.data, idat + 8 + 10000, "truncated PNG data (row ");
    check_fails(file.data, file.len - 12, "truncated PNG data (after the last row)");
    check_fails(file.data, file.len - 1, "truncated PNG data (after the last row)");

    /* Trailing bytes after IEND are ignored. */
    buffer_append(&file, "junk", 4);
    struct decoded d;
    CHECK(decode(file.data, file.len, &d) == 0);
    decoded_free(&d);
    buffer_free(&file);
}

static void test_bad_crc(void)
{
    struct buffer file = {0};
    make_noise_png(&file);
    size_t idat = find_chunk(&file, "IDAT"), gama = find_chunk(&file, "gAMA");
    CHECK(idat > 0 && gama > 0);
    uint32_t idat_len = get_be32(file.data + idat);

    /* A flipped byte of pixel data: the CRC (or zlib's check) fails, never a silent pass. */
    file.data[idat + 8 + idat_len / 2] ^= 0x10;
    check_fails(file.data, file.len, "bad PNG data (");
    file.data[idat + 8 + idat_len / 2] ^= 0x10;

    file.data[idat + 8 + idat_len] ^= 1; /* the CRC itself */
    check_fails(file.data, file.len, "IDAT: CRC error");
    file.data[idat + 8 + idat_len] ^= 1;

    /* An ancillary chunk's CRC error is an error too, not a dropped chunk. */
    file.data[gama + 8] ^= 1;
    check_fails(file.data, file.len, "gAMA: CRC error");
    file.data[gama + 8] ^= 1;

    struct decoded d;
    CHECK(decode(file.data, file.len, &d) == 0);
    decoded_free(&d);
    buffer_free(&file);
}

static void test_bad_headers(void)
{
    struct buffer file = {0};
    make_noise_png(&file);
    const size_t ihdr = 8;

    /* 100000 x 100000, with a correct CRC: refused before anything is allocated. */
    put_be32(file.data + ihdr + 8, 100000);
    put_be32(file.data + ihdr + 12, 100000);
    fix_crc(&file, ihdr);
    check_fails(file.data, file.len, "100000x100000 pixels, over the limit");
    struct decoded d;
    CHECK(decode_opt(file.data, file.len, 1, 64 * 63, &d) == -1);
    decoded_free(&d);

    /* A bit depth PNG does not have. */
    put_be32(file.data + ihdr + 8, 64);
    put_be32(file.data + ihdr + 12, 64);
    file.data[ihdr + 16] = 3;
    fix_crc(&file, ihdr);
    check_fails(file.data, file.len, "bad PNG data (header): Invalid IHDR data");

    /* Width 0. */
    file.data[ihdr + 16] = 8;
    put_be32(file.data + ihdr + 8, 0);
    fix_crc(&file, ihdr);
    check_fails(file.data, file.len, "bad PNG data (header)");

    const char text[] = "this is not a PNG file, only text named like one\n";
    check_fails(text, sizeof text - 1, "not a PNG file");
    check_fails("\x89PNX", 4, "not a PNG file");
    buffer_free(&file);
}

/* The noise PNG with an eXIf chunk of len bytes (a TIFF header, then zeros) declared after IHDR, its data and
 * CRC there when whole, else the file cut after its header. */
static void make_big_exif(struct buffer *out, uint32_t len, bool whole)
{
    struct buffer file = {0};
    make_noise_png(&file);
    const size_t after_ihdr = 8 + 8 + 13 + 4;
    buffer_append(out, file.data, after_ihdr);
    size_t at = out->len;
    unsigned char head[8] = {0, 0, 0, 0, 'e', 'X', 'I', 'f'};
    put_be32(head, len);
    buffer_append(out, head, sizeof head);
    if (whole) {
        unsigned char *zeros = calloc(len + 4, 1);
        CHECK(zeros != NULL);
        memcpy(zeros, "MM\0*", 4);
        buffer_append(out, zeros, len + 4);
        free(zeros);
        fix_crc(out, at);
        buffer_append(out, file.data + after_ihdr, file.len - after_ihdr);
    }
    buffer_free(&file);
}

/* libpng only warns about a chunk longer than its limit, and allocated it: a chunk over
 * the limit is refused before it is allocated (found by tests/fuzz/png.c: 45 bytes
 * declaring a 1 GiB eXIf). */
static void test_oversized_chunk(void)
{
    struct buffer file = {0};
    make_big_exif(&file, (16u << 20) + 1, true);
    check_fails(file.data, file.len, "eXIf: a chunk larger than the 16 MiB allowed");
    buffer_free(&file);
    make_big_exif(&file, 1u << 30, false); /* libpng skips its data first: the file ends */
    check_fails(file.data, file.len, "truncated PNG data (header)");
    buffer_free(&file);
}

static void test_sniff(void)
{
    CHECK(png_sniff((const unsigned char *)"\x89PNG\r\n\x1a\n", 8));
    CHECK(!png_sniff((const unsigned char *)"\x89PNG\r\n\x1a", 7));
    CHECK(!png_sniff((const unsigned char *)"\x89PNG\r\n\x1a\r", 8));
    CHECK_EQ_INT(png_reader_ops.format, FORMAT_PNG);
    CHECK_EQ_INT(png_writer_ops.format, FORMAT_PNG);
}

static void test_read_misuse(void)
{
    struct buffer file = {0};
    make_noise_png(&file);
    FILE *fp = tmpfile();
    fwrite(file.data, 1, file.len, fp);
    rewind(fp);
    struct byte_source src = {.fp = fp, .name = "t", .owns_fp = true, .size = -1};
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    struct tensor_reader r = {.ops = &png_reader_ops, .src = &src, .opt = &opt};
    struct pool_error err;
    unsigned char row[64 * 3 * 2];
    CHECK(png_read_header(&r, &err) == 0);
    CHECK(r.ops->read(&r, row, 10, &err) == -1);
    CHECK(has(err.msg, "read whole"));
    CHECK(r.ops->finish(&r, &err) == -1);
    CHECK(has(err.msg, "not read to its end"));
    for (int y = 0; y < 64; y++)
        CHECK(r.ops->read(&r, row, 64 * 3, &err) == 0);
    CHECK(r.ops->read(&r, row, 64 * 3, &err) == -1);
    CHECK(has(err.msg, "only 0 are left"));
    CHECK(r.ops->finish(&r, &err) == 0);
    r.ops->destroy(&r);
    image_meta_free(&r.meta);
    source_close(&src);
    buffer_free(&file);
}

/* After libpng fails its state is undefined: later calls are refused, not made. */
static void test_read_after_failure(void)
{
    struct buffer file = {0};
    make_noise_png(&file);
    FILE *fp = tmpfile();
    fwrite(file.data, 1, file.len / 2, fp);
    rewind(fp);
    struct byte_source src = {.fp = fp, .name = "t", .owns_fp = true, .size = -1};
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    struct tensor_reader r = {.ops = &png_reader_ops, .src = &src, .opt = &opt};
    struct pool_error err;
    unsigned char *rows = malloc(64 * 64 * 3);
    CHECK(png_read_header(&r, &err) == 0);
    CHECK(r.ops->read(&r, rows, 64 * 64 * 3, &err) == -1);
    CHECK(has(err.msg, "truncated PNG data (row 1 of 64)"));
    CHECK(r.ops->read(&r, rows, 64 * 3, &err) == -1);
    CHECK(has(err.msg, "failed before"));
    CHECK(r.ops->finish(&r, &err) == -1);
    CHECK(has(err.msg, "failed before"));
    r.ops->destroy(&r);
    image_meta_free(&r.meta);
    source_close(&src);
    free(rows);
    buffer_free(&file);
}

/* ---- writer refusals and failures ---- */

static void check_refused(const struct tensor_shape *shape, const char *part)
{
    static const struct image_meta no_meta;
    unsigned char pixels[256] = {0};
    struct buffer file = {0};
    struct pool_error err;
    CHECK(encode(shape, &no_meta, 3, pixels, 1, &file, &err) == -1);
    CHECK(has(err.msg, part));
    CHECK_EQ_INT(file.len, 0);
    buffer_free(&file);
}

static void test_writer_refusals(void)
{
    struct tensor_shape s = image_shape(2, 2, 3, DT_F32);
    check_refused(&s, "this tensor is f32");
    s = image_shape(2, 2, 5, DT_U8);
    check_refused(&s, "1 to 4 channels, and this tensor has 5");
    s = (struct tensor_shape){.dtype = DT_U8, .ndim = 4, .dims = {1, 3, 2, 2}, .layout = "nchw"};
    check_refused(&s, "channels last");
    s = (struct tensor_shape){.dtype = DT_U8, .ndim = 4, .dims = {2, 2, 2, 3}, .layout = "nhwc"};
    check_refused(&s, "2 batch items");
    s = image_shape(2, 2, 4, DT_U8);
    struct image_meta cmyk = {.is_image = true, .color = COLOR_CMYK};
    unsigned char pixels[16] = {0};
    struct buffer file = {0};
    struct pool_error err;
    CHECK(encode(&s, &cmyk, 3, pixels, 2, &file, &err) == -1);
    CHECK(has(err.msg, "no CMYK"));

    /* One batch item is fine. */
    s = (struct tensor_shape){.dtype = DT_U8, .ndim = 4, .dims = {1, 2, 2, 3}, .layout = "nhwc"};
    static const struct image_meta no_meta;
    CHECK(encode(&s, &no_meta, 3, pixels, 2, &file, &err) == 0);
    buffer_free(&file);
}

static void test_writer_misuse(void)
{
    static const struct image_meta no_meta;
    struct writer_options opt = {.png_level = 3};
    struct tensor_shape shape = image_shape(2, 3, 1, DT_U8);
    unsigned char pixels[6] = {0};
    struct pool_error err;
    FILE *fp = tmpfile();
    struct tensor_writer w = {
        .ops = &png_writer_ops, .out = fp, .shape = shape, .meta = &no_meta, .opt = &opt};
    CHECK(w.ops->begin(&w, &err) == 0);
    CHECK(w.ops->write(&w, pixels, 4, &err) == -1);
    CHECK(has(err.msg, "written whole"));
    CHECK(w.ops->write(&w, pixels, 3, &err) == 0);
    CHECK(w.ops->finish(&w, &err) == -1);
    CHECK(has(err.msg, "wrote 1 of the 2 rows"));
    CHECK(w.ops->write(&w, pixels, 6, &err) == -1);
    CHECK(has(err.msg, "more rows"));
    w.ops->destroy(&w);
    w.ops->destroy(&w);
    fclose(fp);

    /* A stream that cannot be written fails as libpng writes the header. */
    fp = tmpfile();
    FILE *read_only = fp ? fdopen(dup(fileno(fp)), "r") : NULL;
    w = (struct tensor_writer){
        .ops = &png_writer_ops, .out = read_only, .shape = shape, .meta = &no_meta, .opt = &opt};
    CHECK(read_only && w.ops->begin(&w, &err) == -1);
    CHECK(has(err.msg, "write failed: "));
    w.ops->destroy(&w);
    if (read_only)
        fclose(read_only);
    if (fp)
        fclose(fp);

    /* A full disk shows when the buffered bytes are flushed at the latest. */
    fp = fopen("/dev/full", "wb");
    if (!fp)
        return;
    w = (struct tensor_writer){
        .ops = &png_writer_ops, .out = fp, .shape = shape, .meta = &no_meta, .opt = &opt};
    int rc = w.ops->begin(&w, &err);
    if (rc == 0)
        rc = w.ops->write(&w, pixels, 6, &err);
    if (rc == 0)
        rc = w.ops->finish(&w, &err);
    CHECK(rc == -1);
    CHECK(has(err.msg, "write failed: No space left on device"));
    w.ops->destroy(&w);
    fclose(fp);
}

/* ---- files saved by Pillow (png_pillow_check.sh) ---- */

static int load_file(const char *dir, const char *name, struct buffer *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "  cannot open fixture %s\n", path);
        return -1;
    }
    slurp(fp, out);
    fclose(fp);
    return 0;
}

/* The .raw beside each file holds Pillow's pixels, 16-bit ones little-endian. */
static void check_pillow_fixture(const char *dir, const char *name, size_t w, size_t h, size_t c,
                                 size_t sample_bytes, const char *icc_name)
{
    struct buffer png = {0}, raw = {0}, icc = {0};
    char raw_name[256];
    snprintf(raw_name, sizeof raw_name, "%.*s.raw", (int)(strlen(name) - 4), name);
    CHECK(load_file(dir, name, &png) == 0 && load_file(dir, raw_name, &raw) == 0);
    struct decoded d;
    CHECK(decode(png.data, png.len, &d) == 0);
    if (d.err.msg[0])
        fprintf(stderr, "  %s: %s\n", name, d.err.msg);
    CHECK_EQ_INT(d.shape.dims[0], h);
    CHECK_EQ_INT(d.shape.dims[1], w);
    CHECK_EQ_INT(d.shape.ndim == 3 ? d.shape.dims[2] : 1, c);
    CHECK_EQ_INT(dtype_size(d.shape.dtype), sample_bytes);
    bool same = d.data && raw.len == d.bytes;
    for (size_t i = 0; same && i < d.bytes; i += sample_bytes) {
        unsigned want = sample_bytes == 1 ? raw.data[i] : raw.data[i] | raw.data[i + 1] << 8;
        unsigned got = sample_bytes == 1 ? d.data[i] : *(const uint16_t *)(d.data + i);
        same = want == got;
    }
    CHECK(same);
    if (!same)
        fprintf(stderr, "  %s: pixels differ from %s\n", name, raw_name);
    if (strcmp(icc_name, "-")) {
        CHECK(load_file(dir, icc_name, &icc) == 0);
        CHECK(d.meta.icc_len == icc.len && d.meta.icc && !memcmp(d.meta.icc, icc.data, icc.len));
    }
    decoded_free(&d);
    buffer_free(&png);
    buffer_free(&raw);
    buffer_free(&icc);
}

/* manifest.txt: one line per file, "name.png width height channels sample_bytes icc|-". */
static void test_pillow_fixtures(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL);
    if (!fp)
        return;
    char name[200], icc[200];
    size_t w, h, c, bytes;
    int checked = 0;
    while (fscanf(fp, "%199s %zu %zu %zu %zu %199s", name, &w, &h, &c, &bytes, icc) == 6) {
        check_pillow_fixture(dir, name, w, h, c, bytes, icc);
        checked++;
    }
    fclose(fp);
    CHECK(checked > 0);
    printf("checked %d Pillow fixtures in %s\n", checked, dir);
}

int main(void)
{
    RUN(test_roundtrips());
    RUN(test_16bit_byte_order());
    RUN(test_palette());
    RUN(test_sub_byte_gray());
    RUN(test_color_key());
    RUN(test_interlaced());
    RUN(test_icc());
    RUN(test_gamma_and_srgb());
    RUN(test_invalid_color_chunks());
    RUN(test_truncated());
    RUN(test_bad_crc());
    RUN(test_bad_headers());
    RUN(test_oversized_chunk());
    RUN(test_sniff());
    RUN(test_read_misuse());
    RUN(test_read_after_failure());
    RUN(test_writer_refusals());
    RUN(test_writer_misuse());
    const char *fixtures = getenv("PNG_FIXTURE_DIR");
    if (fixtures && *fixtures)
        RUN(test_pillow_fixtures(fixtures));
    return check_summary();
}

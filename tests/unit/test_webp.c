/* Unit tests of the WebP codec: round trips through our writer and reader (any count of
 * elements per write and per read), metadata, animations made with libwebpmux's
 * WebPAnimEncoder, and broken files (every truncation, flipped bytes) read as clean errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <webp/encode.h>
#include <webp/mux.h>

#include "check.h"
#include "codec/codec.h"
#include "codec/formats.h"
#include "codec/image.h"

/* ---- bytes in memory ---- */

struct buffer {
    unsigned char *data;
    size_t len;
};

static void slurp(FILE *fp, struct buffer *out)
{
    long n = ftell(fp);
    out->len = n > 0 ? (size_t)n : 0;
    out->data = malloc(out->len ? out->len : 1);
    rewind(fp);
    if (!out->data || fread(out->data, 1, out->len, fp) != out->len)
        abort();
}

static void fill_noise(unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (unsigned char)(seed >> 24);
    }
}

static struct tensor_shape image_shape(size_t h, size_t w, size_t c)
{
    struct tensor_shape s = {.dtype = DT_U8, .ndim = c == 1 ? 2 : 3, .dims = {h, w, c}};
    strcpy(s.layout, c == 1 ? "hw" : "hwc");
    return s;
}

static bool has(const char *text, const char *part)
{
    if (strstr(text, part))
        return true;
    fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", text, part);
    return false;
}

/* ---- our reader ---- */

struct decoded {
    struct tensor_shape shape;
    struct image_meta meta; /* owned here */
    struct reader_notes notes;
    size_t memory_held;
    unsigned char *data;
    size_t bytes;
    struct pool_error err;
};

static void decoded_free(struct decoded *d)
{
    free(d->data);
    image_meta_free(&d->meta);
}

static int read_all(struct tensor_reader *r, size_t per_read, struct decoded *out)
{
    out->bytes = r->shape.dims[0] * r->shape.dims[1] * (r->shape.ndim == 3 ? r->shape.dims[2] : 1);
    if (!(out->data = malloc(out->bytes)))
        return pool_fail(&out->err, "test: out of memory");
    for (size_t at = 0; at < out->bytes; at += per_read) {
        size_t n = out->bytes - at < per_read ? out->bytes - at : per_read;
        if (r->ops->read(r, out->data + at, n, &out->err))
            return -1;
    }
    return r->ops->finish(r, &out->err);
}

/* Decodes bytes as a regular file (pipe: as a stream of unknown size), per_read elements
 * at a time; 0, or -1 and out->err. */
static int decode_opt(const void *bytes, size_t n, size_t per_read, bool pipe, size_t max_memory,
                      struct decoded *out)
{
    memset(out, 0, sizeof *out);
    FILE *fp = tmpfile();
    if (!fp || fwrite(bytes, 1, n, fp) != n) {
        if (fp)
            fclose(fp);
        return pool_fail(&out->err, "test: cannot make the input file");
    }
    rewind(fp);
    struct byte_source src = {
        .fp = fp, .name = "test.webp", .owns_fp = true, .size = pipe ? -1 : (long long)n};
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS, .max_memory = max_memory};
    struct tensor_reader r = {.ops = &webp_reader_ops, .src = &src, .opt = &opt};
    int rc = webp_read_header(&r, &out->err);
    if (rc == 0) {
        out->shape = r.shape;
        out->notes = r.notes;
        out->memory_held = r.memory_held;
        rc = read_all(&r, per_read, out);
    }
    r.ops->destroy(&r);
    r.ops->destroy(&r); /* twice: destroy must be idempotent */
    out->meta = r.meta;
    source_close(&src);
    return rc;
}

static int decode(const void *bytes, size_t n, struct decoded *out)
{
    return decode_opt(bytes, n, 1000, false, 0, out);
}

/* ---- our writer ---- */

static int encode(const struct tensor_shape *shape, const struct image_meta *meta,
                  const struct writer_options *opt, const unsigned char *data, size_t per_write,
                  struct buffer *out, struct pool_error *err)
{
    FILE *fp = tmpfile();
    if (!fp)
        return pool_fail(err, "test: no temporary file");
    struct tensor_writer w = {
        .ops = &webp_writer_ops, .out = fp, .shape = *shape, .meta = meta, .opt = opt};
    int rc = w.ops->begin(&w, err);
    size_t total = shape->dims[0] * shape->dims[1] * (shape->ndim == 3 ? shape->dims[2] : 1);
    for (size_t at = 0; rc == 0 && at < total; at += per_write) {
        size_t n = total - at < per_write ? total - at : per_write;
        rc = w.ops->write(&w, data + at, n, err);
    }
    if (rc == 0)
        rc = w.ops->finish(&w, err);
    w.ops->destroy(&w);
    w.ops->destroy(&w);
    if (rc == 0)
        slurp(fp, out);
    fclose(fp);
    return rc;
}

static const struct image_meta no_meta;
static const struct writer_options lossless = {.lossless = true};
static const struct writer_options lossy = {.quality = 90};

/* A lossless file of noise, h x w x c, its pixels in *pixels (malloc'd). */
static void make_lossless(size_t h, size_t w, size_t c, struct buffer *file, unsigned char **pixels)
{
    struct tensor_shape s = image_shape(h, w, c);
    *pixels = malloc(h * w * c);
    fill_noise(*pixels, h * w * c, (uint32_t)(h * 31 + w * 7 + c));
    struct pool_error err = {0};
    CHECK(encode(&s, &no_meta, &lossless, *pixels, h * w * c, file, &err) == 0);
}

/* ---- tests ---- */

/* Every channel count, written and read in pieces that split pixels and rows: the values
 * come back exactly, gray as R = G = B, gray+alpha as RGBA. */
static void test_lossless_roundtrips(void)
{
    for (size_t c = 1; c <= 4; c++) {
        size_t h = 13, w = 17, n = h * w * c;
        unsigned char *in = malloc(n);
        fill_noise(in, n, (uint32_t)c);
        if (c == 2 || c == 4)
            for (size_t i = 0; i < h * w; i += 3)
                in[i * c + c - 1] = 0; /* transparent: the colour under it must stay */
        struct tensor_shape s = image_shape(h, w, c);
        struct buffer file = {0};
        struct pool_error err = {0};
        CHECK(encode(&s, &no_meta, &lossless, in, 7, &file, &err) == 0);
        size_t out_c = c <= 2 ? c + 2 : c;
        for (size_t per_read = 1; per_read <= 9; per_read += 4) {
            struct decoded d;
            CHECK(decode_opt(file.data, file.len, per_read, false, 0, &d) == 0);
            CHECK_EQ_INT(d.shape.ndim, 3);
            CHECK(d.shape.dims[0] == h && d.shape.dims[1] == w && d.shape.dims[2] == out_c);
            CHECK(d.meta.color == COLOR_RGB && d.meta.has_alpha == (out_c == 4));
            CHECK(d.memory_held >= h * w * out_c);
            bool same = d.bytes == h * w * out_c;
            for (size_t i = 0; same && i < h * w; i++)
                for (size_t k = 0; k < out_c; k++)
                    same &= d.data[i * out_c + k] == in[i * c + (c <= 2 ? (k == 3 ? 1 : 0) : k)];
            CHECK(same);
            decoded_free(&d);
        }
        free(file.data);
        free(in);
    }
}

static void test_lossy(void)
{
    size_t h = 40, w = 48, n = h * w * 3;
    unsigned char *in = malloc(n);
    for (size_t y = 0; y < h; y++) /* smooth: lossy keeps it close */
        for (size_t x = 0; x < w; x++)
            for (size_t k = 0; k < 3; k++)
                in[(y * w + x) * 3 + k] = (unsigned char)(x * 2 + y * 2 + k * 20);
    struct tensor_shape s = image_shape(h, w, 3);
    struct buffer hi = {0}, lo = {0};
    struct pool_error err = {0};
    CHECK(encode(&s, &no_meta, &lossy, in, n, &hi, &err) == 0);
    struct writer_options q5 = {.quality = 5};
    CHECK(encode(&s, &no_meta, &q5, in, 1000, &lo, &err) == 0);
    CHECK(lo.len < hi.len);
    struct decoded d;
    CHECK(decode(hi.data, hi.len, &d) == 0);
    double sum = 0;
    for (size_t i = 0; i < n && d.bytes == n; i++)
        sum += abs((int)d.data[i] - (int)in[i]);
    CHECK(d.bytes == n && sum / (double)n < 3);
    decoded_free(&d);
    struct writer_options bad = {.quality = 101};
    struct buffer none = {0};
    CHECK(encode(&s, &no_meta, &bad, in, n, &none, &err) == -1);
    CHECK(has(err.msg, "quality must be 1 to 100"));
    free(hi.data);
    free(lo.data);
    free(in);
}

/* A TIFF block with the orientation tag (EXIF 2.32, 4.6.4): II, one IFD of one SHORT. */
static const unsigned char exif_block[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3,
                                           0,   1,   0,  0, 0, 6, 0, 0, 0, 0, 0,    0,    0};

static void test_metadata(void)
{
    unsigned char icc[300];
    fill_noise(icc, sizeof icc, 9);
    unsigned char *exif = malloc(sizeof exif_block);
    memcpy(exif, exif_block, sizeof exif_block);
    struct image_meta meta = {.is_image = true,
                              .color = COLOR_RGB,
                              .icc = icc,
                              .icc_len = sizeof icc,
                              .exif = exif,
                              .exif_len = sizeof exif_block,
                              .orientation = 6};
    unsigned char px[4 * 5 * 3];
    fill_noise(px, sizeof px, 3);
    struct tensor_shape s = image_shape(4, 5, 3);
    struct buffer file = {0};
    struct pool_error err = {0};
    CHECK(encode(&s, &meta, &lossless, px, sizeof px, &file, &err) == 0);
    struct decoded d;
    CHECK(decode(file.data, file.len, &d) == 0);
    CHECK(d.meta.icc_len == sizeof icc && d.meta.icc && !memcmp(d.meta.icc, icc, sizeof icc));
    CHECK(d.meta.exif != NULL);
    CHECK_EQ_INT(d.meta.orientation, 6);
    decoded_free(&d);
    free(file.data);
    /* turned upright: the tag is dropped from what is written */
    meta.upright = true;
    CHECK(encode(&s, &meta, &lossless, px, sizeof px, &file, &err) == 0);
    CHECK(decode(file.data, file.len, &d) == 0);
    CHECK_EQ_INT(d.meta.orientation, 1);
    decoded_free(&d);
    free(file.data);
    free(exif);
}

/* An EXIF chunk that starts with JPEG's "Exif\0\0" (as some writers make it) is read. */
static void test_exif_with_app1_header(void)
{
    unsigned char px[6 * 6 * 3];
    fill_noise(px, sizeof px, 4);
    struct tensor_shape s = image_shape(6, 6, 3);
    struct buffer file = {0};
    struct pool_error err = {0};
    CHECK(encode(&s, &no_meta, &lossless, px, sizeof px, &file, &err) == 0);
    unsigned char block[6 + sizeof exif_block] = "Exif\0";
    memcpy(block + 6, exif_block, sizeof exif_block);
    WebPData image = {file.data, file.len}, chunk = {block, sizeof block}, out = {0};
    WebPMux *mux = WebPMuxCreate(&image, 0);
    CHECK(mux && WebPMuxSetChunk(mux, "EXIF", &chunk, 0) == WEBP_MUX_OK &&
          WebPMuxAssemble(mux, &out) == WEBP_MUX_OK);
    WebPMuxDelete(mux);
    struct decoded d;
    CHECK(decode(out.bytes, out.size, &d) == 0);
    CHECK(d.meta.exif_len == sizeof exif_block);
    CHECK_EQ_INT(d.meta.orientation, 6);
    decoded_free(&d);
    WebPDataClear(&out);
    free(file.data);
}

/* Two frames by WebPAnimEncoder: the first is read, with a note saying how many. */
static void test_animation(void)
{
    int w = 8, h = 6;
    WebPAnimEncoderOptions ao;
    CHECK(WebPAnimEncoderOptionsInit(&ao));
    WebPAnimEncoder *enc = WebPAnimEncoderNew(w, h, &ao);
    WebPConfig config;
    CHECK(WebPConfigInit(&config));
    config.lossless = 1;
    unsigned char frames[2][6 * 8 * 4];
    for (int f = 0; f < 2 && enc; f++) {
        fill_noise(frames[f], sizeof frames[f], (uint32_t)f + 20);
        for (size_t i = 3; i < sizeof frames[f]; i += 4)
            frames[f][i] = 255;
        WebPPicture pic;
        CHECK(WebPPictureInit(&pic));
        pic.use_argb = 1;
        pic.width = w;
        pic.height = h;
        CHECK(WebPPictureImportRGBA(&pic, frames[f], w * 4));
        CHECK(WebPAnimEncoderAdd(enc, &pic, f * 100, &config));
        WebPPictureFree(&pic);
    }
    WebPData anim = {0};
    CHECK(enc && WebPAnimEncoderAdd(enc, NULL, 200, NULL) && WebPAnimEncoderAssemble(enc, &anim));
    WebPAnimEncoderDelete(enc);
    struct decoded d;
    CHECK(decode_opt(anim.bytes, anim.size, 5, false, 0, &d) == 0);
    CHECK(d.shape.dims[0] == (size_t)h && d.shape.dims[1] == (size_t)w);
    CHECK_EQ_INT(d.notes.count, 1);
    CHECK(has(d.notes.note[0].text, "an animated WebP (2 frames)"));
    size_t c = d.shape.ndim == 3 ? d.shape.dims[2] : 1;
    bool same = d.bytes == (size_t)(w * h) * c;
    for (size_t i = 0; same && i < (size_t)(w * h); i++)
        same &= !memcmp(d.data + i * c, frames[0] + i * 4, 3);
    CHECK(same);
    decoded_free(&d);
    WebPDataClear(&anim);
}

/* Every truncation is an error; so is any file libwebp finds corrupt, and none crashes
 * (run under ASan and valgrind). */
static void test_broken_files(void)
{
    unsigned char *px;
    struct buffer file = {0};
    make_lossless(9, 11, 4, &file, &px);
    for (size_t n = 0; n < file.len; n++) {
        struct decoded d;
        CHECK(decode_opt(file.data, n, 7, n % 2, 0, &d) == -1);
        CHECK(d.err.msg[0] != '\0');
        decoded_free(&d);
    }
    struct decoded d;
    CHECK(decode_opt(file.data, 10, 7, false, 0, &d) == -1);
    CHECK(has(d.err.msg, "truncated WebP data (RIFF header)"));
    decoded_free(&d);
    int failed = 0;
    for (size_t at = 12; at < file.len; at++) {
        unsigned char saved = file.data[at];
        file.data[at] ^= 0xA5;
        failed += decode(file.data, file.len, &d) == -1;
        CHECK(d.err.msg[0] == '\0' || has(d.err.msg, "WebP"));
        decoded_free(&d);
        file.data[at] = saved;
    }
    CHECK(failed > 0);
    free(file.data);
    free(px);
}

/* A stream of unknown size over the first buffer's 1 MiB is read whole. */
static void test_pipe(void)
{
    unsigned char *px;
    struct buffer file = {0};
    make_lossless(700, 600, 3, &file, &px);
    CHECK(file.len > (1u << 20));
    struct decoded d;
    CHECK(decode_opt(file.data, file.len, 600 * 3 * 5, true, 0, &d) == 0);
    CHECK(d.bytes == 700 * 600 * 3 && !memcmp(d.data, px, d.bytes));
    decoded_free(&d);
    CHECK(decode_opt(file.data, file.len / 2, 1000, true, 0, &d) == -1);
    CHECK(has(d.err.msg, "truncated WebP data"));
    decoded_free(&d);
    free(file.data);
    free(px);
}

static void test_memory_budget(void)
{
    unsigned char *px;
    struct buffer file = {0};
    make_lossless(700, 600, 3, &file, &px);
    struct decoded d;
    CHECK(decode_opt(file.data, file.len, 1000, false, 1u << 20, &d) == -1);
    CHECK(has(d.err.msg, "its file needs"));
    decoded_free(&d);
    /* the file fits, the file and the pixels do not */
    CHECK(decode_opt(file.data, file.len, 1000, false, 2u << 20, &d) == -1);
    CHECK(has(d.err.msg, "a WebP, decoded whole with its file, needs"));
    decoded_free(&d);
    free(file.data);
    free(px);
}

static void test_read_misuse(void)
{
    unsigned char *px;
    struct buffer file = {0};
    make_lossless(3, 3, 3, &file, &px);
    FILE *fp = tmpfile();
    fwrite(file.data, 1, file.len, fp);
    rewind(fp);
    struct byte_source src = {.fp = fp, .name = "t", .owns_fp = true, .size = (long long)file.len};
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    struct tensor_reader r = {.ops = &webp_reader_ops, .src = &src, .opt = &opt};
    struct pool_error err = {0};
    unsigned char buf[64];
    CHECK(webp_read_header(&r, &err) == 0);
    CHECK(r.ops->finish(&r, &err) == -1); /* nothing read yet */
    CHECK(r.ops->read(&r, buf, 20, &err) == 0);
    CHECK(r.ops->read(&r, buf, 20, &err) == -1); /* 27 elements in all */
    CHECK(has(err.msg, "only 7 are left"));
    CHECK(r.ops->read(&r, buf, 7, &err) == 0);
    CHECK(r.ops->finish(&r, &err) == 0);
    r.ops->destroy(&r);
    image_meta_free(&r.meta);
    source_close(&src);
    free(file.data);
    free(px);
}

static void test_writer_refusals(void)
{
    struct pool_error err = {0};
    struct buffer out = {0};
    unsigned char px[16] = {0};
    struct tensor_shape tall = image_shape(16384, 1, 3);
    CHECK(encode(&tall, &no_meta, &lossy, px, 1, &out, &err) == -1);
    CHECK(has(err.msg, "at most 16383 pixels a side"));
    struct tensor_shape five = image_shape(2, 2, 5);
    CHECK(encode(&five, &no_meta, &lossy, px, 1, &out, &err) == -1);
    struct tensor_shape big = image_shape(16000, 16000, 3);
    CHECK(encode(&big, &no_meta, &lossy, px, 1, &out, &err) == -1);
    CHECK(has(err.msg, "a WebP is encoded whole"));
    struct image_meta cmyk = {.is_image = true, .color = COLOR_CMYK};
    struct tensor_shape four = image_shape(2, 2, 4);
    CHECK(encode(&four, &cmyk, &lossy, px, 16, &out, &err) == -1);
    CHECK(has(err.msg, "CMYK"));
    /* too few elements, and too many */
    FILE *fp = tmpfile();
    struct tensor_shape small = image_shape(2, 2, 3);
    struct tensor_writer w = {
        .ops = &webp_writer_ops, .out = fp, .shape = small, .meta = &no_meta, .opt = &lossy};
    CHECK(w.ops->begin(&w, &err) == 0);
    CHECK(w.ops->write(&w, px, 5, &err) == 0);
    CHECK(w.ops->finish(&w, &err) == -1);
    CHECK(w.ops->write(&w, px, 8, &err) == -1);
    w.ops->destroy(&w);
    fclose(fp);
}

int main(void)
{
    RUN(test_lossless_roundtrips());
    RUN(test_lossy());
    RUN(test_metadata());
    RUN(test_exif_with_app1_header());
    RUN(test_animation());
    RUN(test_broken_files());
    RUN(test_pipe());
    RUN(test_memory_budget());
    RUN(test_read_misuse());
    RUN(test_writer_refusals());
    return check_summary();
}

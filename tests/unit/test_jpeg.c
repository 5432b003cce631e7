/* Unit tests of the JPEG codec. Fixtures are made here with the codec's own writer; with
 * JPEG_FIXTURE_DIR set (see jpeg_pillow_check.sh), files Pillow wrote are decoded and must
 * equal Pillow's decode exactly, and files this writer makes are left there for Pillow to
 * read back. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>

#include "check.h"
#include "codec/codec.h"
#include "codec/formats.h"

static const struct image_meta no_meta;

/* ---- pixels ---- */

struct image {
    size_t height, width, channels;
    unsigned char *px;
    struct image_meta meta; /* from the decoder; icc malloc'd */
    struct reader_notes notes;
};

static void image_free(struct image *im)
{
    free(im->px);
    free(im->meta.icc);
    memset(im, 0, sizeof *im);
}

/* Smooth gradients and waves, which JPEG keeps to within a few levels. */
static unsigned char *make_pattern(size_t h, size_t w, size_t c)
{
    unsigned char *px = malloc(h * w * c);
    for (size_t y = 0; y < h && px; y++)
        for (size_t x = 0; x < w; x++)
            for (size_t k = 0; k < c; k++) {
                double v = 128 + 90 * sin(0.09 * (double)x + 1.3 * (double)k) *
                                     cos(0.07 * (double)y + 0.4 * (double)k);
                px[(y * w + x) * c + k] = (unsigned char)(v + 0.5);
            }
    return px;
}

struct difference {
    double mean;
    int max;
};

static struct difference compare(const unsigned char *a, const unsigned char *b, size_t n)
{
    struct difference d = {0, 0};
    for (size_t i = 0; i < n; i++) {
        int e = abs((int)a[i] - (int)b[i]);
        d.mean += e;
        if (e > d.max)
            d.max = e;
    }
    d.mean /= (double)(n ? n : 1);
    return d;
}

/* ---- bytes to and from files ---- */

struct bytes {
    unsigned char *data;
    size_t len;
};

static int read_file(const char *path, struct bytes *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    out->data = malloc(len > 0 ? (size_t)len : 1);
    out->len = len > 0 ? (size_t)len : 0;
    bool ok = out->data && fread(out->data, 1, out->len, f) == out->len;
    fclose(f);
    return ok ? 0 : -1;
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* A byte source over a copy of the bytes in an unlinked temporary file. */
static int open_bytes(struct byte_source *src, const void *data, size_t len)
{
    char path[] = "/tmp/test_jpeg_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    bool ok = write(fd, data, len) == (ssize_t)len;
    close(fd);
    struct pool_error err;
    int rc = ok ? source_open(src, path, &err) : -1;
    unlink(path);
    return rc;
}

/* ---- encoding and decoding through the codec ---- */

struct encode_options {
    int quality;
    bool progressive;
    enum color_space color;
    const unsigned char *icc;
    size_t icc_len;
};

static void set_image_shape(struct tensor_shape *s, size_t h, size_t w, size_t c)
{
    memset(s, 0, sizeof *s);
    s->dtype = DT_U8;
    s->dims[0] = h;
    s->dims[1] = w;
    s->dims[2] = c;
    s->ndim = c == 1 ? 2 : 3;
    strcpy(s->layout, c == 1 ? "hw" : "hwc");
}

/* Writes an image `rows_per_write` rows at a time into out (malloc'd). */
static int encode(const unsigned char *px, size_t h, size_t w, size_t c,
                  const struct encode_options *eo, size_t rows_per_write, struct bytes *out,
                  struct pool_error *err)
{
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    if (!f)
        return pool_fail(err, "open_memstream failed");
    struct image_meta meta = {.is_image = true, .color = eo->color};
    meta.icc = (unsigned char *)eo->icc;
    meta.icc_len = eo->icc_len;
    struct writer_options opt = {.quality = eo->quality, .jpeg_progressive = eo->progressive};
    struct tensor_writer wr = {.ops = &jpeg_writer_ops, .out = f, .meta = &meta, .opt = &opt};
    set_image_shape(&wr.shape, h, w, c);
    int rc = wr.ops->begin(&wr, err);
    for (size_t y = 0; rc == 0 && y < h; y += rows_per_write) {
        size_t n = h - y < rows_per_write ? h - y : rows_per_write;
        rc = wr.ops->write(&wr, px + y * w * c, n * w * c, err);
    }
    if (rc == 0)
        rc = wr.ops->finish(&wr, err);
    wr.ops->destroy(&wr);
    fclose(f);
    out->data = (unsigned char *)data;
    out->len = len;
    return rc;
}

/* Decodes `rows_per_read` rows at a time, shrunk by the decoder by `shrink` (1: not);
 * what reader_close does is done here by hand (it lives in codec.c, which needs every
 * format). */
static int decode_shrunk(const struct bytes *in, const struct reader_options *opt,
                         size_t rows_per_read, unsigned shrink, struct image *out,
                         struct pool_error *err)
{
    memset(out, 0, sizeof *out);
    struct byte_source src;
    if (open_bytes(&src, in->data, in->len))
        return pool_fail(err, "cannot make a temporary file");
    struct tensor_reader r = {.ops = &jpeg_reader_ops, .src = &src, .opt = opt};
    int rc = jpeg_codec_read_header(&r, err);
    if (rc == 0 && shrink > 1)
        rc = r.ops->shrink(&r, shrink, err);
    if (rc == 0) {
        out->height = r.shape.dims[0];
        out->width = r.shape.dims[1];
        out->channels = r.shape.ndim == 3 ? r.shape.dims[2] : 1;
        out->px = malloc(out->height * out->width * out->channels);
        if (!out->px)
            rc = pool_fail(err, "out of memory");
    }
    size_t row = out->width * out->channels;
    for (size_t y = 0; rc == 0 && y < out->height; y += rows_per_read) {
        size_t n = out->height - y < rows_per_read ? out->height - y : rows_per_read;
        rc = r.ops->read(&r, out->px + y * row, n * row, err);
    }
    if (rc == 0)
        rc = r.ops->finish(&r, err);
    r.ops->destroy(&r);
    out->meta = r.meta; /* the icc is ours now */
    out->notes = r.notes;
    source_close(&src);
    if (rc)
        image_free(out);
    return rc;
}

static int decode_with(const struct bytes *in, const struct reader_options *opt,
                       size_t rows_per_read, struct image *out, struct pool_error *err)
{
    return decode_shrunk(in, opt, rows_per_read, 1, out, err);
}

static int decode_limited(const struct bytes *in, unsigned long long max_pixels,
                          size_t rows_per_read, struct image *out, struct pool_error *err)
{
    struct reader_options opt = {.max_pixels = max_pixels};
    return decode_with(in, &opt, rows_per_read, out, err);
}

static int decode(const struct bytes *in, struct image *out, struct pool_error *err)
{
    return decode_limited(in, DEFAULT_MAX_PIXELS, 7, out, err);
}

static bool contains(const char *text, const char *part) { return strstr(text, part) != NULL; }

/* Offset of the first marker FF xx after SOI, or 0. */
static size_t find_marker(const struct bytes *b, unsigned char code)
{
    for (size_t i = 2; i + 1 < b->len; i++)
        if (b->data[i] == 0xFF && b->data[i + 1] == code)
            return i;
    return 0;
}

/* ---- sniffing ---- */

static void test_sniff(void)
{
    CHECK(jpeg_sniff((const unsigned char *)"\xFF\xD8\xFF\xE0", 4));
    CHECK(jpeg_sniff((const unsigned char *)"\xFF\xD8\xFF", 3));
    CHECK(!jpeg_sniff((const unsigned char *)"\xFF\xD8", 2));
    CHECK(!jpeg_sniff((const unsigned char *)"\x89PNG\r\n\x1a\n", 8));
    CHECK(!jpeg_sniff((const unsigned char *)"hello", 5));
}

/* ---- round trips ---- */

static void check_round_trip(const char *what, size_t h, size_t w, size_t c,
                             const struct encode_options *eo, size_t rows_per_write,
                             enum color_space want_color, double max_mean, int max_error)
{
    struct pool_error err = {0};
    unsigned char *px = make_pattern(h, w, c);
    struct bytes file = {0};
    struct image im = {0};
    int rc = encode(px, h, w, c, eo, rows_per_write, &file, &err);
    if (rc == 0)
        rc = decode(&file, &im, &err);
    if (rc)
        fprintf(stderr, "%s: %s\n", what, err.msg);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        CHECK_EQ_INT(im.height, h);
        CHECK_EQ_INT(im.width, w);
        CHECK_EQ_INT(im.channels, c);
        CHECK_EQ_INT(im.meta.color, want_color);
        CHECK(im.meta.is_image);
        struct difference d = compare(px, im.px, h * w * c);
        if (d.mean > max_mean || d.max > max_error)
            fprintf(stderr, "%s: mean error %.3f, max %d\n", what, d.mean, d.max);
        CHECK(d.mean <= max_mean);
        CHECK(d.max <= max_error);
        CHECK(eo->progressive == (find_marker(&file, 0xC2) != 0));
    }
    image_free(&im);
    free(file.data);
    free(px);
}

static void test_round_trips(void)
{
    struct encode_options q95 = {.quality = 95};
    check_round_trip("gray", 48, 64, 1, &q95, 5, COLOR_GRAY, 0.6, 4);
    check_round_trip("gray odd size", 37, 23, 1, &q95, 1, COLOR_GRAY, 0.6, 4);
    check_round_trip("rgb", 48, 64, 3, &q95, 48, COLOR_RGB, 1.0, 10);
    check_round_trip("rgb odd size", 37, 23, 3, &q95, 3, COLOR_RGB, 1.0, 10);
    check_round_trip("one pixel", 1, 1, 3, &q95, 1, COLOR_RGB, 1.0, 10);
    struct encode_options progressive = {.quality = 95, .progressive = true};
    check_round_trip("progressive rgb", 37, 53, 3, &progressive, 4, COLOR_RGB, 1.0, 10);
    check_round_trip("progressive gray", 40, 33, 1, &progressive, 40, COLOR_GRAY, 0.6, 4);
    struct encode_options cmyk = {.quality = 95, .color = COLOR_CMYK};
    check_round_trip("cmyk", 30, 41, 4, &cmyk, 2, COLOR_CMYK, 0.6, 4);
    struct encode_options cmyk_progressive = {
        .quality = 95, .color = COLOR_CMYK, .progressive = true};
    check_round_trip("progressive cmyk", 30, 41, 4, &cmyk_progressive, 30, COLOR_CMYK, 0.6, 4);
    struct encode_options unset = {0}; /* quality 0: the default, 90 */
    check_round_trip("default quality", 32, 32, 3, &unset, 8, COLOR_RGB, 1.5, 12);
    struct encode_options q100 = {.quality = 100};
    check_round_trip("quality 100", 16, 16, 1, &q100, 16, COLOR_GRAY, 0.1, 1);
}

/* Lower quality makes smaller files; the stored CMYK is Adobe-inverted, so a white (no ink)
 * image is stored as 255s: the DC coefficients differ from an all-ink image's. */
static void test_quality_and_cmyk_polarity(void)
{
    struct pool_error err;
    unsigned char *px = make_pattern(64, 64, 3);
    struct bytes low = {0}, high = {0};
    struct encode_options q20 = {.quality = 20}, q95 = {.quality = 95};
    CHECK_EQ_INT(encode(px, 64, 64, 3, &q20, 64, &low, &err), 0);
    CHECK_EQ_INT(encode(px, 64, 64, 3, &q95, 64, &high, &err), 0);
    CHECK(low.len < high.len);
    free(low.data);
    free(high.data);
    free(px);

    unsigned char ink[8 * 8 * 4];
    memset(ink, 0, sizeof ink);
    for (size_t i = 0; i < sizeof ink; i += 4)
        ink[i + 1] = 200; /* magenta ink only */
    struct encode_options cmyk = {.quality = 100, .color = COLOR_CMYK};
    struct bytes file = {0};
    struct image im = {0};
    CHECK_EQ_INT(encode(ink, 8, 8, 4, &cmyk, 8, &file, &err), 0);
    CHECK(find_marker(&file, 0xEE) != 0); /* Adobe APP14 */
    CHECK_EQ_INT(decode(&file, &im, &err), 0);
    if (im.px) {
        CHECK(abs(im.px[0] - 0) <= 1);
        CHECK(abs(im.px[1] - 200) <= 1);
        CHECK(abs(im.px[3] - 0) <= 1);
    }
    image_free(&im);
    free(file.data);
}

static void test_icc_round_trip(void)
{
    /* Larger than one APP2 marker holds: split over two and joined again. */
    size_t icc_len = 70000;
    unsigned char *icc = malloc(icc_len);
    for (size_t i = 0; i < icc_len; i++)
        icc[i] = (unsigned char)(i * 7 + i / 251);
    unsigned char *px = make_pattern(16, 16, 3);
    struct encode_options eo = {.quality = 90, .icc = icc, .icc_len = icc_len};
    struct pool_error err;
    struct bytes file = {0};
    struct image im = {0};
    CHECK_EQ_INT(encode(px, 16, 16, 3, &eo, 16, &file, &err), 0);
    CHECK_EQ_INT(decode(&file, &im, &err), 0);
    CHECK_EQ_INT(im.meta.icc_len, icc_len);
    CHECK(im.meta.icc && !memcmp(im.meta.icc, icc, icc_len));
    image_free(&im);
    free(file.data);

    /* Without one, none comes back. */
    struct encode_options plain = {.quality = 90};
    CHECK_EQ_INT(encode(px, 16, 16, 3, &plain, 16, &file, &err), 0);
    CHECK_EQ_INT(decode(&file, &im, &err), 0);
    CHECK(im.meta.icc == NULL);
    CHECK_EQ_INT(im.meta.icc_len, 0);
    image_free(&im);
    free(file.data);
    free(px);
    free(icc);
}

/* ---- bad input ---- */

static int decode_fails(const struct bytes *b, const char *want, struct pool_error *err)
{
    struct image im;
    int rc = decode(b, &im, err);
    image_free(&im);
    if (rc == 0) {
        fprintf(stderr, "decoded, want an error with \"%s\"\n", want);
        return 0;
    }
    if (want && !contains(err->msg, want)) {
        fprintf(stderr, "error \"%s\", want \"%s\"\n", err->msg, want);
        return 0;
    }
    return 1;
}

/* Every proper prefix of a file fails, as truncated (no fake end marker), or as empty. */
static void check_every_truncation(const struct encode_options *eo, size_t h, size_t w, size_t c)
{
    unsigned char *px = make_pattern(h, w, c);
    struct bytes file = {0};
    struct pool_error err;
    CHECK_EQ_INT(encode(px, h, w, c, eo, h, &file, &err), 0);
    size_t failed_right = 0;
    for (size_t len = 0; len < file.len; len++) {
        struct bytes prefix = {file.data, len};
        failed_right += decode_fails(&prefix, len ? "truncated JPEG" : "empty input", &err);
    }
    CHECK_EQ_INT(failed_right, file.len);
    free(file.data);
    free(px);
}

static void test_truncation(void)
{
    struct encode_options baseline = {.quality = 90},
                          progressive = {.quality = 90, .progressive = true};
    check_every_truncation(&baseline, 24, 40, 3);
    check_every_truncation(&progressive, 24, 40, 3);
    check_every_truncation(&baseline, 17, 9, 1);

    /* Where: the header, a row, or after the last row. */
    unsigned char *px = make_pattern(64, 64, 3);
    struct bytes file = {0};
    struct pool_error err;
    CHECK_EQ_INT(encode(px, 64, 64, 3, &baseline, 64, &file, &err), 0);
    struct bytes cut = {file.data, 100};
    CHECK(decode_fails(&cut, "truncated JPEG header", &err));
    cut.len = find_marker(&file, 0xDA) + 200;
    CHECK(decode_fails(&cut, "truncated JPEG data (row ", &err));
    CHECK(contains(err.msg, " of 64)"));
    cut.len = file.len - 2;
    CHECK(decode_fails(&cut, "truncated JPEG data", &err));
    /* The entropy decoder reads ahead: the end shows while the last rows are decoded. */
    CHECK(contains(err.msg, "after the last row") || contains(err.msg, " of 64)"));
    free(file.data);

    CHECK_EQ_INT(encode(px, 64, 64, 3, &progressive, 64, &file, &err), 0);
    cut.data = file.data;
    cut.len = file.len / 2;
    CHECK(decode_fails(&cut, "truncated JPEG data (progressive scan ", &err));
    free(file.data);
    free(px);
}

static void test_corrupt_data(void)
{
    unsigned char *px = make_pattern(64, 64, 3);
    struct bytes file = {0};
    struct pool_error err;
    struct encode_options eo = {.quality = 90};
    CHECK_EQ_INT(encode(px, 64, 64, 3, &eo, 64, &file, &err), 0);
    size_t sos = find_marker(&file, 0xDA);
    CHECK(sos > 0);

    /* A marker in the middle of the entropy-coded data: libjpeg would warn and fill in. */
    unsigned char *copy = malloc(file.len + 16);
    memcpy(copy, file.data, file.len);
    size_t middle = sos + (file.len - sos) / 2;
    memcpy(copy + middle, "\xFF\xC4\x00\x02", 4);
    struct bytes bad = {copy, file.len};
    CHECK(decode_fails(&bad, "corrupt JPEG data", &err));
    CHECK(contains(err.msg, "(row "));

    /* Garbage between the scan and the end marker: libjpeg's "extraneous bytes" warning,
     * which after a scan may be the rest of a damaged one: an error. Before the first scan
     * it is a note, and the pixels are the clean file's. With --lenient the corrupt one
     * decodes. */
    struct image clean, stray, made_up;
    CHECK_EQ_INT(decode(&file, &clean, &err), 0);
    memcpy(copy, file.data, file.len - 2);
    memcpy(copy + file.len - 2, "garbage\xFF\xD9", 9);
    bad.len = file.len + 7;
    CHECK(decode_fails(&bad, "extraneous bytes", &err));
    memcpy(copy, file.data, sos);
    memcpy(copy + sos, "garbage", 7);
    memcpy(copy + sos + 7, file.data + sos, file.len - sos);
    CHECK_EQ_INT(decode(&bad, &stray, &err), 0);
    CHECK(stray.notes.count == 1 && contains(stray.notes.note[0].text, "extraneous bytes"));
    CHECK(stray.px && clean.px && !memcmp(stray.px, clean.px, 64 * 64 * 3));
    image_free(&stray);
    image_free(&clean);
    memcpy(copy, file.data, file.len);
    memcpy(copy + middle, "\xFF\xC4\x00\x02", 4);
    bad.len = file.len;
    struct reader_options lenient = {.max_pixels = DEFAULT_MAX_PIXELS, .lenient = true};
    CHECK_EQ_INT(decode_with(&bad, &lenient, 7, &made_up, &err), 0);
    /* (the bytes libjpeg skips after the damage are not said to leave the pixels intact) */
    CHECK(made_up.notes.count == 1 && contains(made_up.notes.note[0].text, "--lenient"));
    image_free(&made_up);

    /* Data after the end marker is ignored. */
    memcpy(copy, file.data, file.len);
    memcpy(copy + file.len, "trailer", 7);
    bad.len = file.len + 7;
    struct image im;
    CHECK_EQ_INT(decode(&bad, &im, &err), 0);
    image_free(&im);

    /* Random damage anywhere: decoded or refused, never a crash or a leak (ASan, valgrind). */
    uint32_t seed = 12345;
    for (int round = 0; round < 300; round++) {
        memcpy(copy, file.data, file.len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1664525u + 1013904223u;
            size_t at = 2 + (seed >> 8) % (file.len - 2);
            copy[at] = (unsigned char)(seed >> 3);
        }
        bad.len = file.len;
        if (decode(&bad, &im, &err) == 0)
            image_free(&im);
    }
    CHECK(true);
    free(copy);
    free(file.data);
    free(px);
}

/* A JPEG whose SOF declares another size (the data is for 8x8). */
static struct bytes with_declared_size(unsigned height, unsigned width)
{
    unsigned char px[8 * 8];
    memset(px, 100, sizeof px);
    struct encode_options eo = {.quality = 90};
    struct bytes file = {0};
    struct pool_error err;
    encode(px, 8, 8, 1, &eo, 8, &file, &err);
    size_t sof = find_marker(&file, 0xC0);
    if (sof) {
        unsigned char *p = file.data + sof + 5; /* FF C0, length, precision */
        p[0] = (unsigned char)(height >> 8);
        p[1] = (unsigned char)height;
        p[2] = (unsigned char)(width >> 8);
        p[3] = (unsigned char)width;
    }
    return file;
}

static void test_declared_size(void)
{
    struct pool_error err;
    struct image im;
    struct bytes huge = with_declared_size(65000, 65000);
    CHECK_EQ_INT(decode_limited(&huge, 1000, 1, &im, &err), -1);
    CHECK(contains(err.msg, "65000x65000") && contains(err.msg, "over the limit of 1000"));
    CHECK_EQ_INT(decode_limited(&huge, DEFAULT_MAX_PIXELS, 1, &im, &err), -1);
    CHECK(contains(err.msg, "over the limit of 1073741824"));
    free(huge.data);

    struct bytes too_big = with_declared_size(65535, 65535);
    CHECK(decode_fails(&too_big, "65500", &err)); /* libjpeg's own maximum */
    free(too_big.data);

    struct bytes empty = with_declared_size(0, 8);
    CHECK(decode_fails(&empty, "declares an empty image", &err));
    free(empty.data);

    /* An honest 8x8 file over a 63-pixel limit. */
    struct bytes small = with_declared_size(8, 8);
    CHECK_EQ_INT(decode_limited(&small, 63, 1, &im, &err), -1);
    CHECK(contains(err.msg, "over the limit of 63"));
    CHECK_EQ_INT(decode_limited(&small, 64, 1, &im, &err), 0);
    image_free(&im);
    free(small.data);
}

static void test_not_jpeg(void)
{
    struct pool_error err;
    struct bytes empty = {(unsigned char *)"", 0};
    CHECK(decode_fails(&empty, "empty input", &err));
    const char *text = "This is a text file named like a JPEG.\n";
    struct bytes txt = {(unsigned char *)text, strlen(text)};
    CHECK(decode_fails(&txt, "not a JPEG file", &err));
    struct bytes soi_only = {(unsigned char *)"\xFF\xD8\xFF", 3};
    CHECK(decode_fails(&soi_only, "truncated JPEG header", &err));
    struct bytes no_frame = {(unsigned char *)"\xFF\xD8\xFF\xD9", 4};
    CHECK(decode_fails(&no_frame, NULL, &err));
}

/* Reading the wrong amount, or finishing early. */
static void test_reader_misuse(void)
{
    unsigned char *px = make_pattern(10, 12, 3);
    struct bytes file = {0};
    struct pool_error err;
    struct encode_options eo = {.quality = 90};
    CHECK_EQ_INT(encode(px, 10, 12, 3, &eo, 10, &file, &err), 0);
    struct byte_source src;
    CHECK_EQ_INT(open_bytes(&src, file.data, file.len), 0);
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    struct tensor_reader r = {.ops = &jpeg_reader_ops, .src = &src, .opt = &opt};
    CHECK_EQ_INT(jpeg_codec_read_header(&r, &err), 0);
    CHECK(!strcmp(r.layout_hint, "hwc"));
    unsigned char buf[12 * 3 * 11];
    CHECK_EQ_INT(r.ops->read(&r, buf, 5, &err), -1);           /* not whole rows */
    CHECK_EQ_INT(r.ops->read(&r, buf, 12 * 3 * 11, &err), -1); /* too many rows */
    CHECK_EQ_INT(r.ops->read(&r, buf, 12 * 3 * 4, &err), 0);
    CHECK_EQ_INT(r.ops->finish(&r, &err), -1);
    CHECK(contains(err.msg, "not read to its end"));
    r.ops->destroy(&r);
    r.ops->destroy(&r); /* twice is harmless */
    free(r.meta.icc);
    source_close(&src);
    free(file.data);
    free(px);
}

/* ---- the decoder's shrink (libjpeg's DCT scaling) ---- */

/* The k x k block averages of im, rounded: what avg pooling of kernel = stride = k gives. */
static unsigned char *box_average(const struct image *im, unsigned k, size_t *h, size_t *w)
{
    *h = im->height / k;
    *w = im->width / k;
    size_t c = im->channels;
    unsigned char *out = malloc(*h * *w * c);
    for (size_t y = 0; out && y < *h; y++)
        for (size_t x = 0; x < *w; x++)
            for (size_t ch = 0; ch < c; ch++) {
                unsigned sum = 0;
                for (size_t i = 0; i < k; i++)
                    for (size_t j = 0; j < k; j++)
                        sum += im->px[((y * k + i) * im->width + x * k + j) * c + ch];
                out[(y * *w + x) * c + ch] = (unsigned char)((sum + k * k / 2) / (k * k));
            }
    return out;
}

/* Shrunk by 2, 4 and 8, odd sizes: the shape is floor(H/k) x floor(W/k), whatever the rows
 * read at a time, and the pixels are near the block averages of the full decode. */
static void check_shrink(const char *what, size_t h, size_t w, size_t c,
                         const struct encode_options *eo)
{
    unsigned char *px = make_pattern(h, w, c);
    struct bytes file = {0};
    struct image full = {0};
    struct pool_error err = {0};
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    CHECK_EQ_INT(encode(px, h, w, c, eo, 5, &file, &err), 0);
    CHECK_EQ_INT(decode(&file, &full, &err), 0);
    for (unsigned k = 2; k <= 8 && full.px; k *= 2) {
        size_t bh, bw;
        unsigned char *box = box_average(&full, k, &bh, &bw);
        for (size_t rows = 1; rows <= 40; rows += 13) {
            struct image im = {0};
            int rc = decode_shrunk(&file, &opt, rows, k, &im, &err);
            if (rc)
                fprintf(stderr, "%s, shrunk by %u: %s\n", what, k, err.msg);
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(im.height, h / k);
            CHECK_EQ_INT(im.width, w / k);
            CHECK_EQ_INT(im.channels, c);
            if (rc == 0 && box && im.height == bh && im.width == bw) {
                struct difference d = compare(box, im.px, bh * bw * c);
                if (d.mean > 2.0)
                    fprintf(stderr,
                            "%s, shrunk by %u: mean difference %.3f from the block "
                            "averages\n",
                            what, k, d.mean);
                CHECK(d.mean <= 2.0);
            }
            image_free(&im);
        }
        free(box);
    }
    image_free(&full);
    free(file.data);
    free(px);
}

static void test_shrink(void)
{
    struct encode_options eo = {.quality = 95};
    check_shrink("rgb 37x53", 37, 53, 3, &eo);
    check_shrink("rgb 64x48", 64, 48, 3, &eo);
    check_shrink("gray 41x9", 9, 41, 1, &eo);
    eo.progressive = true;
    check_shrink("rgb progressive 29x70", 29, 70, 3, &eo);
    eo.progressive = false;
    eo.color = COLOR_CMYK;
    check_shrink("cmyk 23x35", 23, 35, 4, &eo);
}

/* The shrink is asked once, before the rows, by 2, 4 or 8, of an image with a whole block. */
static void test_shrink_misuse(void)
{
    unsigned char *px = make_pattern(10, 12, 3);
    struct bytes file = {0};
    struct pool_error err;
    struct encode_options eo = {.quality = 90};
    CHECK_EQ_INT(encode(px, 10, 12, 3, &eo, 10, &file, &err), 0);
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    struct image im = {0};
    CHECK_EQ_INT(decode_shrunk(&file, &opt, 3, 3, &im, &err), -1);
    CHECK(contains(err.msg, "2, 4 or 8, not 3"));
    CHECK_EQ_INT(decode_shrunk(&file, &opt, 3, 16, &im, &err), -1);
    struct byte_source src;
    CHECK_EQ_INT(open_bytes(&src, file.data, file.len), 0);
    struct tensor_reader r = {.ops = &jpeg_reader_ops, .src = &src, .opt = &opt};
    CHECK_EQ_INT(jpeg_codec_read_header(&r, &err), 0);
    CHECK_EQ_INT(r.ops->shrink(&r, 8, &err), 0);
    CHECK_EQ_INT(r.shape.dims[0], 1);
    CHECK_EQ_INT(r.shape.dims[1], 1);
    CHECK_EQ_INT(r.ops->shrink(&r, 2, &err), -1); /* once */
    unsigned char buf[3];
    CHECK_EQ_INT(r.ops->read(&r, buf, 3, &err), 0);
    CHECK_EQ_INT(r.ops->finish(&r, &err), 0);
    r.ops->destroy(&r);
    free(r.meta.icc);
    source_close(&src);
    CHECK_EQ_INT(open_bytes(&src, file.data, file.len), 0);
    r = (struct tensor_reader){.ops = &jpeg_reader_ops, .src = &src, .opt = &opt};
    CHECK_EQ_INT(jpeg_codec_read_header(&r, &err), 0);
    unsigned char row[12 * 3];
    CHECK_EQ_INT(r.ops->read(&r, row, sizeof row, &err), 0);
    CHECK_EQ_INT(r.ops->shrink(&r, 2, &err), -1); /* not after a row */
    CHECK(contains(err.msg, "before its rows"));
    r.ops->destroy(&r);
    free(r.meta.icc);
    source_close(&src);
    free(file.data);
    free(px);
    /* smaller than a block: nothing whole to shrink */
    px = make_pattern(5, 9, 1);
    CHECK_EQ_INT(encode(px, 5, 9, 1, &eo, 5, &file, &err), 0);
    CHECK_EQ_INT(decode_shrunk(&file, &opt, 3, 8, &im, &err), -1);
    CHECK(contains(err.msg, "no whole 8x8 block"));
    CHECK_EQ_INT(decode_shrunk(&file, &opt, 3, 4, &im, &err), 0);
    CHECK_EQ_INT(im.height, 1);
    CHECK_EQ_INT(im.width, 2);
    image_free(&im);
    free(file.data);
    free(px);
}

/* ---- files libjpeg writes in ways our writer does not ---- */

struct libjpeg_file {
    J_COLOR_SPACE in_color, jpeg_color;
    int components;
    const jpeg_scan_info *scans; /* NULL: one baseline scan */
    int scan_count;
};

/* Straight through libjpeg (its default error handler: the settings here are all valid). */
static struct bytes write_with_libjpeg(const unsigned char *px, size_t h, size_t w,
                                       const struct libjpeg_file *how)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *data = NULL;
    unsigned long len = 0;
    jpeg_mem_dest(&c, &data, &len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = how->components;
    c.in_color_space = how->in_color;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, how->jpeg_color);
    jpeg_set_quality(&c, 95, TRUE);
    c.scan_info = how->scans;
    c.num_scans = how->scan_count;
    jpeg_start_compress(&c, TRUE);
    for (size_t y = 0; y < h; y++) {
        JSAMPROW row = (JSAMPROW)(px + y * w * (size_t)how->components);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    struct bytes out = {data, len};
    return out;
}

static const char *fixture_dir; /* JPEG_FIXTURE_DIR, or NULL */

/* Leaves a file and pool's decode of it for jpeg_pillow_check.sh to give Pillow. */
static void leave_for_pillow(const char *name, const struct bytes *file, const struct image *im,
                             const char *color)
{
    if (!fixture_dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/pool_%s.jpg", fixture_dir, name);
    CHECK_EQ_INT(write_file(path, file->data, file->len), 0);
    snprintf(path, sizeof path, "%s/pool_%s.raw", fixture_dir, name);
    CHECK_EQ_INT(write_file(path, im->px, im->height * im->width * im->channels), 0);
    snprintf(path, sizeof path, "%s/written.txt", fixture_dir);
    FILE *f = fopen(path, "a");
    CHECK(f != NULL);
    if (f) {
        fprintf(f, "%s %zu %zu %zu %s\n", name, im->height, im->width, im->channels, color);
        fclose(f);
    }
}

/* YCCK, what Photoshop writes for CMYK: libjpeg turns it back into (inverted) CMYK. */
static void test_ycck(void)
{
    size_t h = 21, w = 35;
    unsigned char *px = make_pattern(h, w, 4);
    unsigned char *stored = malloc(h * w * 4);
    for (size_t i = 0; i < h * w * 4; i++)
        stored[i] = (unsigned char)(255 - px[i]); /* the Adobe polarity */
    struct libjpeg_file how = {JCS_CMYK, JCS_YCCK, 4, NULL, 0};
    struct bytes file = write_with_libjpeg(stored, h, w, &how);
    struct image im = {0};
    struct pool_error err;
    CHECK_EQ_INT(decode(&file, &im, &err), 0);
    CHECK_EQ_INT(im.channels, 4);
    CHECK_EQ_INT(im.meta.color, COLOR_CMYK);
    if (im.px) {
        struct difference d = compare(px, im.px, h * w * 4);
        CHECK(d.mean < 1.0 && d.max <= 10);
        leave_for_pillow("ycck", &file, &im, "cmyk");
    }
    image_free(&im);
    free(file.data);
    free(stored);
    free(px);
}

/* A gray progression with one scan per AC coefficient and successive approximation bit by
 * bit: a legal file of 1 + 63 * scans_per_coefficient scans. */
static struct bytes with_many_scans(const unsigned char *px, size_t h, size_t w,
                                    int scans_per_coefficient)
{
    jpeg_scan_info scans[1 + 63 * 9];
    int n = 0;
    scans[n++] = (jpeg_scan_info){1, {0}, 0, 0, 0, 0};
    int first_al = scans_per_coefficient - 1;
    for (int k = 1; k <= 63; k++)
        for (int al = first_al; al >= 0; al--)
            scans[n++] = (jpeg_scan_info){1, {0}, k, k, al == first_al ? 0 : al + 1, al};
    struct libjpeg_file how = {JCS_GRAYSCALE, JCS_GRAYSCALE, 1, scans, n};
    return write_with_libjpeg(px, h, w, &how);
}

static void test_scan_limit(void)
{
    unsigned char *px = make_pattern(16, 16, 1);
    struct bytes many = with_many_scans(px, 16, 16, 9); /* 568 scans */
    struct pool_error err;
    CHECK(decode_fails(&many, "more than 100 scans", &err));
    struct reader_options more = {.max_pixels = DEFAULT_MAX_PIXELS, .max_scans = 568};
    struct image im = {0};
    CHECK_EQ_INT(decode_with(&many, &more, 7, &im, &err), 0);
    image_free(&im);
    more.max_scans = 567;
    CHECK(decode_with(&many, &more, 7, &im, &err) == -1 && contains(err.msg, "more than 567"));
    free(many.data);

    struct bytes fine = with_many_scans(px, 16, 16, 1); /* 64 scans */
    CHECK_EQ_INT(decode(&fine, &im, &err), 0);
    if (im.px) {
        struct difference d = compare(px, im.px, 16 * 16);
        CHECK(d.mean < 1.0 && d.max <= 4);
    }
    image_free(&im);
    free(fine.data);
    free(px);
}

/* ---- writer refusals ---- */

static int begin_with(const struct tensor_shape *s, const struct image_meta *meta, int quality,
                      struct pool_error *err)
{
    FILE *f = fopen("/dev/null", "wb");
    struct writer_options opt = {.quality = quality};
    struct tensor_writer wr = {
        .ops = &jpeg_writer_ops, .out = f, .shape = *s, .meta = meta, .opt = &opt};
    int rc = wr.ops->begin(&wr, err);
    wr.ops->destroy(&wr);
    wr.ops->destroy(&wr);
    fclose(f);
    return rc;
}

static void check_refused(const struct tensor_shape *s, const struct image_meta *meta, int quality,
                          const char *want)
{
    struct pool_error err = {0};
    CHECK_EQ_INT(begin_with(s, meta, quality, &err), -1);
    if (!contains(err.msg, want))
        fprintf(stderr, "error \"%s\", want \"%s\"\n", err.msg, want);
    CHECK(contains(err.msg, want));
}

static void test_writer_refusals(void)
{
    struct tensor_shape s;
    set_image_shape(&s, 8, 8, 3);
    s.dtype = DT_U16;
    check_refused(&s, &no_meta, 90, "give --depth 8");
    s.dtype = DT_F32;
    check_refused(&s, &no_meta, 90, "f32");
    set_image_shape(&s, 8, 8, 2);
    check_refused(&s, &no_meta, 90, "this tensor has 2: write .npy or PNG");
    struct image_meta gray_alpha = {.is_image = true, .color = COLOR_GRAY, .has_alpha = true};
    check_refused(&s, &gray_alpha, 90, "give --background COLOR");
    set_image_shape(&s, 8, 8, 4);
    check_refused(&s, &no_meta, 90, "carries no colour space");
    struct image_meta rgba = {.is_image = true, .color = COLOR_RGB, .has_alpha = true};
    check_refused(&s, &rgba, 90, "give --background COLOR");
    set_image_shape(&s, 8, 8, 5);
    check_refused(&s, &no_meta, 90, "1 (gray), 3 (RGB) or 4 (CMYK)");

    struct tensor_shape batch = {.dtype = DT_U8, .ndim = 4, .dims = {2, 8, 8, 3}, .layout = "nhwc"};
    check_refused(&batch, &no_meta, 90, "2 batch items");
    struct tensor_shape chw = {.dtype = DT_U8, .ndim = 3, .dims = {3, 8, 8}, .layout = "chw"};
    check_refused(&chw, &no_meta, 90, "channels last");

    set_image_shape(&s, 8, 8, 3);
    check_refused(&s, &no_meta, 101, "quality must be 1 to 100");
    check_refused(&s, &no_meta, -5, "quality must be 1 to 100");
    set_image_shape(&s, 8, 70000, 1);
    check_refused(&s, &no_meta, 90, "at most 65500");
    struct pool_error err;
    set_image_shape(&s, 8, 8, 1);
    CHECK_EQ_INT(begin_with(&s, &no_meta, 1, &err), 0);
    CHECK_EQ_INT(begin_with(&s, &no_meta, 100, &err), 0);
}

static void test_writer_misuse(void)
{
    struct pool_error err;
    unsigned char row[10 * 3] = {0};
    struct writer_options opt = {.quality = 90};
    struct image_meta meta = {.is_image = true, .color = COLOR_RGB};

    /* Too few rows, too many, part of a row. */
    FILE *f = fopen("/dev/null", "wb");
    struct tensor_writer wr = {.ops = &jpeg_writer_ops, .out = f, .meta = &meta, .opt = &opt};
    set_image_shape(&wr.shape, 2, 10, 3);
    CHECK_EQ_INT(wr.ops->begin(&wr, &err), 0);
    CHECK_EQ_INT(wr.ops->write(&wr, row, 7, &err), -1);
    CHECK_EQ_INT(wr.ops->write(&wr, row, 30, &err), 0);
    CHECK_EQ_INT(wr.ops->finish(&wr, &err), -1);
    CHECK(contains(err.msg, "wrote 1 of the image's 2 rows"));
    unsigned char rows3[3 * 30] = {0};
    CHECK_EQ_INT(wr.ops->write(&wr, rows3, 90, &err), -1);
    CHECK(contains(err.msg, "more rows"));
    wr.ops->destroy(&wr);
    fclose(f);

    /* A full disk: the failed write is reported, at the latest by finish. */
    f = fopen("/dev/full", "wb");
    if (f) {
        unsigned char *px = make_pattern(256, 256, 3);
        struct tensor_writer full = {.ops = &jpeg_writer_ops, .out = f, .meta = &meta, .opt = &opt};
        set_image_shape(&full.shape, 256, 256, 3);
        int rc = full.ops->begin(&full, &err);
        if (rc == 0)
            rc = full.ops->write(&full, px, 256 * 256 * 3, &err);
        if (rc == 0)
            rc = full.ops->finish(&full, &err);
        CHECK_EQ_INT(rc, -1);
        CHECK(contains(err.msg, "write failed: No space left on device"));
        full.ops->destroy(&full);
        fclose(f);
        free(px);
    }
}

/* ---- files written by Pillow (jpeg_pillow_check.sh) ---- */

static int read_raw(const char *dir, const char *name, const char *suffix, size_t n,
                    unsigned char **out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, suffix);
    struct bytes b;
    if (read_file(path, &b))
        return -1;
    if (b.len != n) {
        free(b.data);
        return -1;
    }
    *out = b.data;
    return 0;
}

static enum color_space color_named(const char *name)
{
    return !strcmp(name, "gray") ? COLOR_GRAY : !strcmp(name, "cmyk") ? COLOR_CMYK : COLOR_RGB;
}

/* "decode NAME H W C COLOR HAS_ICC": pool's decode of NAME.jpg must equal NAME.raw, which is
 * np.asarray(Image.open(NAME.jpg)), byte for byte. */
static void check_pillow_decode(const char *dir, const char *name, size_t h, size_t w, size_t c,
                                const char *color, int has_icc)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.jpg", dir, name);
    struct bytes file = {0};
    struct image im = {0};
    unsigned char *want = NULL;
    struct pool_error err = {0};
    int rc = read_file(path, &file);
    if (rc == 0)
        rc = decode(&file, &im, &err);
    if (rc)
        fprintf(stderr, "%s: cannot decode: %s\n", name, err.msg);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0 && read_raw(dir, name, ".raw", h * w * c, &want) == 0) {
        CHECK_EQ_INT(im.height, h);
        CHECK_EQ_INT(im.width, w);
        CHECK_EQ_INT(im.channels, c);
        CHECK_EQ_INT(im.meta.color, color_named(color));
        size_t n = h * w * c, differ = 0;
        struct difference d = compare(want, im.px,
                                      im.height == h && im.width == w && im.channels == c ? n : 0);
        for (size_t i = 0; d.max && i < n; i++)
            differ += want[i] != im.px[i];
        if (d.max)
            fprintf(stderr, "%s: %zu of %zu values differ from Pillow's, max by %d\n", name, differ,
                    n, d.max);
        CHECK_EQ_INT(d.max, 0);
    } else if (rc == 0) {
        fprintf(stderr, "%s: no %s.raw of %zu bytes\n", name, name, h * w * c);
        CHECK(false);
    }
    if (rc == 0 && has_icc) {
        snprintf(path, sizeof path, "%s/%s.icc", dir, name);
        struct bytes icc = {0};
        CHECK_EQ_INT(read_file(path, &icc), 0);
        CHECK_EQ_INT(im.meta.icc_len, icc.len);
        CHECK(im.meta.icc && icc.len == im.meta.icc_len && !memcmp(icc.data, im.meta.icc, icc.len));
        free(icc.data);
    } else if (rc == 0) {
        CHECK(im.meta.icc == NULL);
    }
    image_free(&im);
    free(want);
    free(file.data);
}

/* "shrink NAME K H W C": pool's decode of NAME.jpg shrunk by K must equal NAME_sK.raw, which
 * is Pillow's draft() decode of it (libjpeg's DCT scaling) cropped to H x W, floor(H/K) x
 * floor(W/K), byte for byte. */
static void check_pillow_shrink(const char *dir, const char *name, unsigned k, size_t h, size_t w,
                                size_t c)
{
    char path[4096], suffix[16];
    snprintf(path, sizeof path, "%s/%s.jpg", dir, name);
    snprintf(suffix, sizeof suffix, "_s%u.raw", k);
    struct bytes file = {0};
    struct image im = {0};
    unsigned char *want = NULL;
    struct pool_error err = {0};
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    int rc = read_file(path, &file);
    if (rc == 0)
        rc = decode_shrunk(&file, &opt, 5, k, &im, &err);
    if (rc)
        fprintf(stderr, "%s: cannot decode it shrunk by %u: %s\n", name, k, err.msg);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0 && read_raw(dir, name, suffix, h * w * c, &want) == 0) {
        CHECK_EQ_INT(im.height, h);
        CHECK_EQ_INT(im.width, w);
        CHECK_EQ_INT(im.channels, c);
        bool same_shape = im.height == h && im.width == w && im.channels == c;
        struct difference d = compare(want, im.px, same_shape ? h * w * c : 0);
        if (d.max)
            fprintf(stderr, "%s shrunk by %u: differs from Pillow's draft() by up to %d\n", name, k,
                    d.max);
        CHECK_EQ_INT(d.max, 0);
    } else if (rc == 0) {
        fprintf(stderr, "%s: no %s%s of %zu bytes\n", name, name, suffix, h * w * c);
        CHECK(false);
    }
    image_free(&im);
    free(want);
    free(file.data);
}

/* "encode NAME H W C COLOR QUALITY PROGRESSIVE": NAME.src is the pixels; pool writes
 * pool_NAME.jpg and its own decode of it, pool_NAME.raw, for the script to hand to Pillow
 * (and to compare with Pillow's own pillow_NAME.jpg). */
static void write_for_pillow(const char *dir, const char *name, size_t h, size_t w, size_t c,
                             const char *color, int quality, int progressive)
{
    unsigned char *px = NULL;
    if (read_raw(dir, name, ".src", h * w * c, &px)) {
        fprintf(stderr, "%s: no %s.src\n", name, name);
        CHECK(false);
        return;
    }
    struct encode_options eo = {
        .quality = quality, .progressive = progressive, .color = color_named(color)};
    struct bytes file = {0};
    struct image im = {0};
    struct pool_error err = {0};
    int rc = encode(px, h, w, c, &eo, 3, &file, &err);
    if (rc == 0)
        rc = decode(&file, &im, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0)
        leave_for_pillow(name, &file, &im, color);
    image_free(&im);
    free(file.data);
    free(px);
}

static void test_pillow_files(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char kind[16], name[128], color[16];
        size_t h, w, c;
        int a, b;
        int n = sscanf(line, "%15s %127s %zu %zu %zu %15s %d %d", kind, name, &h, &w, &c, color, &a,
                       &b);
        unsigned k;
        size_t sh, sw, sc;
        if (n >= 7 && !strcmp(kind, "decode"))
            check_pillow_decode(dir, name, h, w, c, color, a);
        else if (sscanf(line, "shrink %127s %u %zu %zu %zu", name, &k, &sh, &sw, &sc) == 5)
            check_pillow_shrink(dir, name, k, sh, sw, sc);
        else if (n == 8 && !strcmp(kind, "encode"))
            write_for_pillow(dir, name, h, w, c, color, a, b);
        else
            continue;
        cases++;
    }
    fclose(f);
    CHECK(cases > 0);
    printf("checked %d files from Pillow's manifest\n", cases);
}

int main(void)
{
    RUN(test_sniff());
    RUN(test_round_trips());
    RUN(test_quality_and_cmyk_polarity());
    RUN(test_icc_round_trip());
    RUN(test_truncation());
    RUN(test_corrupt_data());
    RUN(test_declared_size());
    RUN(test_not_jpeg());
    RUN(test_reader_misuse());
    RUN(test_shrink());
    RUN(test_shrink_misuse());
    const char *dir = getenv("JPEG_FIXTURE_DIR");
    fixture_dir = dir && *dir ? dir : NULL;
    RUN(test_ycck());
    RUN(test_scan_limit());
    RUN(test_writer_refusals());
    RUN(test_writer_misuse());
    if (fixture_dir)
        RUN(test_pillow_files(fixture_dir));
    return check_summary();
}

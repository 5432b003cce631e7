/* Unit tests of the PNM/PAM codec: every P1-P7 variant from hand-written bytes, streams of
 * several images, writer round trips and bad input. With PNM_FIXTURE_DIR set (see
 * pnm_pillow_check.sh) files written by Pillow are read and compared with Pillow's pixels. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec/codec.h"
#include "codec/formats.h"

#define MAX_BYTES 16384
#define MAX_IMAGES 4

static const struct reader_options default_options = {.max_pixels = DEFAULT_MAX_PIXELS};
static const struct writer_options no_writer_options;

/* ---- decoding bytes into images ---- */

struct decoded {
    struct tensor_shape shape;
    char layout[TENSOR_MAX_DIMS + 1];
    struct image_meta meta;
    size_t bytes;
    unsigned char data[MAX_BYTES];
};

struct stream {
    int count;
    struct decoded images[MAX_IMAGES];
};

/* Set: the bytes come as from a pipe, their length unknown until the end. */
static bool size_unknown;

static int open_bytes(struct byte_source *src, const void *bytes, size_t n)
{
    memset(src, 0, sizeof *src);
    src->fp = tmpfile();
    if (!src->fp || fwrite(bytes, 1, n, src->fp) != n || fseek(src->fp, 0, SEEK_SET)) {
        if (src->fp)
            fclose(src->fp);
        return -1;
    }
    src->name = "test";
    src->owns_fp = true;
    src->size = size_unknown ? -1 : (long long)n;
    return 0;
}

/* The current image's rows, one then two at a time, so reads of several rows are tested. */
static int read_rows(struct tensor_reader *r, struct decoded *out, struct pool_error *err)
{
    out->shape = r->shape;
    strcpy(out->layout, r->layout_hint);
    out->meta = r->meta;
    size_t row_elems = r->shape.dims[1] * (r->shape.ndim == 3 ? r->shape.dims[2] : 1);
    size_t row_bytes = row_elems * dtype_size(r->shape.dtype);
    size_t height = r->shape.dims[0];
    if (height * row_bytes > MAX_BYTES)
        return pool_fail(err, "test image too large");
    out->bytes = height * row_bytes;
    for (size_t row = 0, step = 1; row < height; row += step, step = 3 - step) {
        if (step > height - row)
            step = height - row;
        if (r->ops->read(r, out->data + row * row_bytes, step * row_elems, err))
            return -1;
    }
    return 0;
}

static int decode_with(const void *bytes, size_t n, const struct reader_options *opt,
                       struct stream *s, struct pool_error *err)
{
    struct byte_source src;
    if (open_bytes(&src, bytes, n))
        return pool_fail(err, "cannot make a temporary file");
    struct tensor_reader r;
    memset(&r, 0, sizeof r);
    r.src = &src;
    r.opt = opt;
    r.ops = &pnm_reader_ops;
    s->count = 0;
    int rc = pnm_read_header(&r, err);
    while (rc == 0) {
        if (s->count == MAX_IMAGES) {
            rc = pool_fail(err, "too many images");
            break;
        }
        if ((rc = read_rows(&r, &s->images[s->count++], err)))
            break;
        int more = r.ops->next(&r, err);
        if (more <= 0) {
            rc = more;
            break;
        }
    }
    r.ops->destroy(&r);
    source_close(&src);
    return rc;
}

static int decode(const void *bytes, size_t n, struct stream *s, struct pool_error *err)
{
    return decode_with(bytes, n, &default_options, s, err);
}

/* String literals: their length without the terminating NUL. */
#define DECODE(lit, s, err) decode(lit, sizeof(lit) - 1, s, err)

static bool shape_is(const struct decoded *d, size_t h, size_t w, size_t c, enum pool_dtype t)
{
    const struct tensor_shape *s = &d->shape;
    bool dims = s->dims[0] == h && s->dims[1] == w &&
                (c == 1 ? s->ndim == 2 : s->ndim == 3 && s->dims[2] == c);
    return dims && s->dtype == t && !strcmp(d->layout, c == 1 ? "hw" : "hwc") && d->meta.is_image;
}

static bool u16_equal(const struct decoded *d, const uint16_t *want, size_t n)
{
    if (d->bytes != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint16_t v;
        memcpy(&v, d->data + 2 * i, sizeof v);
        if (v != want[i])
            return false;
    }
    return true;
}

/* Decodes one image and checks its pixels (u8). */
static void check_u8_image(const char *bytes, size_t n, size_t h, size_t w, size_t c,
                           const unsigned char *want, unsigned maxval)
{
    struct stream s;
    struct pool_error err = {0};
    int rc = decode(bytes, n, &s, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(s.count, 1);
    CHECK(shape_is(&s.images[0], h, w, c, DT_U8));
    CHECK_EQ_INT(s.images[0].meta.maxval, maxval);
    CHECK(s.images[0].bytes == h * w * c && !memcmp(s.images[0].data, want, h * w * c));
}

#define CHECK_U8(lit, h, w, c, maxval, ...)                                                        \
    check_u8_image(lit, sizeof(lit) - 1, h, w, c, (const unsigned char[]){__VA_ARGS__}, maxval)

static void expect_error(const char *bytes, size_t n, const char *want)
{
    struct stream s;
    struct pool_error err = {0};
    CHECK_EQ_INT(decode(bytes, n, &s, &err), -1);
    if (!strstr(err.msg, want)) {
        check_failed++;
        fprintf(stderr, "error '%s' does not contain '%s'\n", err.msg, want);
    } else {
        check_passed++;
    }
}

#define EXPECT_ERROR(lit, want) expect_error(lit, sizeof(lit) - 1, want)

/* The same bytes from a pipe: a short raster is found only when its rows run out. */
static void expect_stream_error(const char *bytes, size_t n, const char *want)
{
    size_unknown = true;
    expect_error(bytes, n, want);
    size_unknown = false;
}

#define EXPECT_STREAM_ERROR(lit, want) expect_stream_error(lit, sizeof(lit) - 1, want)

/* ---- the reader ---- */

static void test_sniff(void)
{
    CHECK(pnm_sniff((const unsigned char *)"P5\n", 3));
    CHECK(pnm_sniff((const unsigned char *)"P1 ", 3));
    CHECK(pnm_sniff((const unsigned char *)"P7\n", 3));
    CHECK(pnm_sniff((const unsigned char *)"P4#c", 4));
    CHECK(!pnm_sniff((const unsigned char *)"P8\n", 3));
    CHECK(!pnm_sniff((const unsigned char *)"P0\n", 3));
    CHECK(!pnm_sniff((const unsigned char *)"P5x", 3));
    CHECK(!pnm_sniff((const unsigned char *)"P5", 2));
    CHECK(!pnm_sniff((const unsigned char *)"Pillow", 6));
}

static void test_plain_bitmap(void)
{
    /* 1 is black: 0; 0 is white: 255. Whitespace between pixels is optional. */
    CHECK_U8("P1\n# a comment\n3 2\n1 0 1\n010\n", 2, 3, 1, 0, 0, 255, 0, 255, 0, 255);
    CHECK_U8("P1#c\n3#c2\r2 \t\f\v\r\n1#in the raster\n01\n\n0 1 0", 2, 3, 1, 0, 0, 255, 0, 255, 0,
             255);
    /* No trailing newline after the last pixel. */
    CHECK_U8("P1 1 1 1", 1, 1, 1, 0, 0);
}

static void test_plain_gray_and_rgb(void)
{
    CHECK_U8("P2\n#c\n3 2 #c\n100\n0 50 100\n  1\t2\n3", 2, 3, 1, 100, 0, 50, 100, 1, 2, 3);
    CHECK_U8("P2 2 1 255 0255 7", 1, 2, 1, 0, 255, 7);
    CHECK_U8("P3 2 1 255\n255 0 0\n0 255 1\n", 1, 2, 3, 0, 255, 0, 0, 0, 255, 1);
    CHECK_U8("P3\r\n2 1\r\n1\r\n1 0 1 0 1 0\r\n", 1, 2, 3, 1, 1, 0, 1, 0, 1, 0);

    struct stream s;
    struct pool_error err = {0};
    CHECK_EQ_INT(DECODE("P2 2 2 65535 0 65535\n256 1000", &s, &err), 0);
    CHECK(shape_is(&s.images[0], 2, 2, 1, DT_U16));
    CHECK_EQ_INT(s.images[0].meta.maxval, 0);
    CHECK(u16_equal(&s.images[0], (const uint16_t[]){0, 65535, 256, 1000}, 4));
    CHECK_EQ_INT(DECODE("P3 1 1 1000 1000 0 999", &s, &err), 0);
    CHECK(shape_is(&s.images[0], 1, 1, 3, DT_U16));
    CHECK_EQ_INT(s.images[0].meta.maxval, 1000);
    CHECK_EQ_INT(s.images[0].meta.color, COLOR_RGB);
    CHECK(u16_equal(&s.images[0], (const uint16_t[]){1000, 0, 999}, 3));
}

static void test_raw_bitmap(void)
{
    /* Width 10: two bytes a row, the last 6 bits padding (set here, and ignored). */
    CHECK_U8("P4\n10 2\n\xaa\xff\x00\x40", 2, 10, 1, 0, 0, 255, 0, 255, 0, 255, 0, 255, 0, 0, 255,
             255, 255, 255, 255, 255, 255, 255, 255, 0);
    CHECK_U8("P4 8 1 \x81", 1, 8, 1, 0, 0, 255, 255, 255, 255, 255, 255, 0);
    CHECK_U8("P4 1 3\n\x80\x00\xff", 3, 1, 1, 0, 0, 255, 0);
}

static void test_raw_gray_and_rgb(void)
{
    CHECK_U8("P5\n3 1\n255\n\x00\x7f\xff", 1, 3, 1, 0, 0, 127, 255);
    CHECK_U8("P5 3 1 1\n\x00\x01\x01", 1, 3, 1, 1, 0, 1, 1);
    CHECK_U8("P5 2 1 100\n\x64\x00", 1, 2, 1, 100, 100, 0);
    /* A comment right after the maxval ends the header (libnetpbm); one after the
     * whitespace byte is raster data already (pgm(5)). */
    CHECK_U8("P5 2 1 255#comment\n\x01\x02", 1, 2, 1, 0, 1, 2);
    CHECK_U8("P5 2 1 255\n#\x02", 1, 2, 1, 0, '#', 2);
    CHECK_U8("P6\n# c\n2 1\n255\n\x01\x02\x03\x04\x05\x06", 1, 2, 3, 0, 1, 2, 3, 4, 5, 6);

    struct stream s;
    struct pool_error err = {0};
    CHECK_EQ_INT(DECODE("P5 2 1 256\n\x01\x00\x00\xff", &s, &err), 0);
    CHECK(shape_is(&s.images[0], 1, 2, 1, DT_U16));
    CHECK_EQ_INT(s.images[0].meta.maxval, 256);
    CHECK(u16_equal(&s.images[0], (const uint16_t[]){256, 255}, 2));
    CHECK_EQ_INT(DECODE("P5 2 1 65535\n\xff\xff\x12\x34", &s, &err), 0);
    CHECK_EQ_INT(s.images[0].meta.maxval, 0);
    CHECK(u16_equal(&s.images[0], (const uint16_t[]){65535, 0x1234}, 2));
    CHECK_EQ_INT(DECODE("P6 1 1 1000\n\x03\xe8\x00\x01\x01\x00", &s, &err), 0);
    CHECK(shape_is(&s.images[0], 1, 1, 3, DT_U16));
    CHECK(u16_equal(&s.images[0], (const uint16_t[]){1000, 1, 256}, 3));
    CHECK_EQ_INT(s.images[0].meta.maxval, 1000);
}

static void check_pam(const char *bytes, size_t n, size_t c, enum color_space color, bool alpha)
{
    struct stream s;
    struct pool_error err = {0};
    int rc = decode(bytes, n, &s, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    const struct decoded *d = &s.images[0];
    CHECK(shape_is(d, 1, 2, c, DT_U8));
    CHECK_EQ_INT(d->meta.color, color);
    CHECK_EQ_INT(d->meta.has_alpha, alpha);
    for (size_t i = 0; i < 2 * c; i++)
        CHECK_EQ_INT(d->data[i], i + 1);
}

#define CHECK_PAM(lit, c, color, alpha) check_pam(lit, sizeof(lit) - 1, c, color, alpha)

static void test_pam(void)
{
    CHECK_PAM("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n"
              "\x01\x02",
              1, COLOR_GRAY, false);
    CHECK_PAM("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n"
              "\x01\x02\x03\x04",
              2, COLOR_GRAY, true);
    CHECK_PAM("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n"
              "\x01\x02\x03\x04\x05\x06",
              3, COLOR_RGB, false);
    CHECK_PAM("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n"
              "\x01\x02\x03\x04\x05\x06\x07\x08",
              4, COLOR_RGB, true);
    /* No TUPLTYPE (or one pam(5) does not know): the channel count decides. */
    CHECK_PAM("P7\nDEPTH 2\nWIDTH 2\nHEIGHT 1\nMAXVAL 255\nENDHDR\n\x01\x02\x03\x04", 2, COLOR_GRAY,
              true);
    CHECK_PAM("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE MYSTERY\nENDHDR\n"
              "\x01\x02\x03\x04\x05\x06\x07\x08",
              4, COLOR_RGB, true);
    CHECK_PAM("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 3\nMAXVAL 255\nENDHDR\n\x01\x02\x03\x04\x05\x06", 3,
              COLOR_RGB, false);
    CHECK_PAM("P7\nWIDTH 2\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE CMYK\nENDHDR\n"
              "\x01\x02\x03\x04\x05\x06\x07\x08",
              4, COLOR_CMYK, false);
    /* Comments, blank lines, extra blanks, CRs and a TUPLTYPE in two lines. */
    CHECK_PAM("P7 \n# comment\n\n  WIDTH\t2 \r\nHEIGHT 1\n#WIDTH 9\nDEPTH 4\nMAXVAL 255\n"
              "TUPLTYPE RGB\nTUPLTYPE   _ALPHA\nENDHDR\n\x01\x02\x03\x04\x05\x06\x07\x08",
              4, COLOR_RGB, true);

    CHECK_U8("P7\nWIDTH 3\nHEIGHT 1\nDEPTH 1\nMAXVAL 1\nTUPLTYPE BLACKANDWHITE\nENDHDR\n"
             "\x00\x01\x01",
             1, 3, 1, 1, 0, 1, 1);
    struct stream s;
    struct pool_error err = {0};
    CHECK_EQ_INT(DECODE("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 2\nMAXVAL 4095\n"
                        "TUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n\x0f\xff\x00\x10",
                        &s, &err),
                 0);
    CHECK(shape_is(&s.images[0], 1, 1, 2, DT_U16));
    CHECK_EQ_INT(s.images[0].meta.maxval, 4095);
    CHECK(u16_equal(&s.images[0], (const uint16_t[]){4095, 16}, 2));
}

static void test_several_images(void)
{
    static const char bytes[] = "P5 2 1 255\n\x01\x02"
                                "\n\n"
                                "P6 1 1 1000\n\x00\x01\x00\x02\x00\x03"
                                " \t\r\n"
                                "P7\nWIDTH 1\nHEIGHT 2\nDEPTH 2\nMAXVAL 255\n"
                                "TUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n\x07\x08\x09\x0a"
                                "\n";
    struct stream s;
    struct pool_error err = {0};
    int rc = decode(bytes, sizeof bytes - 1, &s, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "  %s\n", err.msg);
    CHECK_EQ_INT(s.count, 3);
    CHECK(shape_is(&s.images[0], 1, 2, 1, DT_U8));
    CHECK(s.images[0].data[0] == 1 && s.images[0].data[1] == 2);
    CHECK(shape_is(&s.images[1], 1, 1, 3, DT_U16));
    CHECK_EQ_INT(s.images[1].meta.maxval, 1000);
    CHECK_EQ_INT(s.images[1].meta.color, COLOR_RGB);
    CHECK(u16_equal(&s.images[1], (const uint16_t[]){1, 2, 3}, 3));
    CHECK(shape_is(&s.images[2], 2, 1, 2, DT_U8));
    CHECK_EQ_INT(s.images[2].meta.maxval, 0);
    CHECK(s.images[2].meta.has_alpha);
    CHECK(!memcmp(s.images[2].data, "\x07\x08\x09\x0a", 4));

    /* Plain images may end in a comment. */
    CHECK_EQ_INT(DECODE("P1 1 1 1 # end\nP2 1 1 9 9 #x", &s, &err), 0);
    CHECK_EQ_INT(s.count, 2);
    CHECK(s.images[0].data[0] == 0 && s.images[1].data[0] == 9);
    CHECK_EQ_INT(s.images[1].meta.maxval, 9);

    EXPECT_ERROR("P5 1 1 255\n\x01xyz", "unexpected 'x' after image 1");
    EXPECT_ERROR("P5 1 1 255\n\x01P9", "not a PNM file");
    EXPECT_ERROR("P5 1 1 255\n\x01P5 1 1 0\n", "maxval 0");
    EXPECT_STREAM_ERROR("P5 1 1 255\n\x01P5 1 2 255\n\x01", "truncated PNM data (row 2 of 2)");
}

/* ---- bad input ---- */

static void test_bad_headers(void)
{
    expect_error("", 0, "empty");
    EXPECT_ERROR("this is not a picture\n", "not a PNM file");
    EXPECT_ERROR("P1 hello\n", "expected the width, found 'h'");
    EXPECT_ERROR("P5 3", "expected the height, found the end of the data");
    EXPECT_ERROR("P5\n2 2\n0\n\0\0\0\0", "maxval 0");
    EXPECT_ERROR("P5\n2 2\n70000\n", "maxval 70000 is over 65535");
    EXPECT_ERROR("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 0\nENDHDR\n\x00", "maxval 0");
    EXPECT_ERROR("P5 -2 1 255\n", "expected the width, found '-'");
    EXPECT_ERROR("P5 99999999999999999999999 1 255\n", "the width is too large");
    EXPECT_ERROR("P5 2x 1 255\n", "unexpected 'x' after the width");
    EXPECT_ERROR("P51 1 255\n", "expected whitespace after P5");
    EXPECT_ERROR("P5 0 1 255\n", "empty");
    EXPECT_ERROR("P5\n100000 100000\n255\n", "100000x100000");
    EXPECT_ERROR("P4\n100000 100000\n", "100000x100000");
    EXPECT_ERROR("P7\nWIDTH 100000\nHEIGHT 100000\nDEPTH 4\nMAXVAL 255\nENDHDR\n", "100000x100000");

    struct stream s;
    struct pool_error err = {0};
    struct reader_options small = {.max_pixels = 5};
    CHECK_EQ_INT(decode_with("P5 3 2 255\n", 11, &small, &s, &err), -1);
    CHECK(strstr(err.msg, "over the limit of 5") != NULL);
}

static void test_bad_pam_headers(void)
{
    EXPECT_ERROR("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n", "ends before ENDHDR");
    EXPECT_ERROR("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 5\nMAXVAL 255\nENDHDR\n12345",
                 "PAM depth 5 is not supported");
    EXPECT_ERROR("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 0\nMAXVAL 255\nENDHDR\n", "PAM depth 0");
    EXPECT_ERROR("P7\nWIDTH 1\nHEIGHT 1\nCOLORS 3\nDEPTH 1\nMAXVAL 255\nENDHDR\n\x01",
                 "unknown key 'COLORS'");
    EXPECT_ERROR("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nENDHDR\n\x01", "no MAXVAL line");
    EXPECT_ERROR("P7\nWIDTH 1\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\x01",
                 "WIDTH appears twice");
    EXPECT_ERROR("P7\nWIDTH -1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\x01",
                 "WIDTH '-1' is not a number");
    EXPECT_ERROR("P7\nWIDTH 1 2\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n\x01",
                 "WIDTH '1 2' is not a number");
    EXPECT_ERROR("P7\nWIDTH 99999999999999999999999\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n",
                 "too large");
    EXPECT_ERROR("P7\nWIDTH\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\nENDHDR\n", "WIDTH has no value");
    EXPECT_ERROR("P7\nWIDTH 1\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n1234",
                 "TUPLTYPE RGB has 3 channels, and DEPTH is 4");
    EXPECT_ERROR("P7 332\n#XVVERSION:Version 2.28\n", "unexpected '332' after P7");
    EXPECT_ERROR("P7\nWIDTH 1\0\n", "NUL byte");

    char long_line[2000];
    memset(long_line, 'A', sizeof long_line);
    memcpy(long_line, "P7\n", 3);
    expect_error(long_line, sizeof long_line, "longer than");

    /* A long comment is no reason to fail. */
    static const char head[] = "P7\n#", tail[] = "\nWIDTH 1\nHEIGHT 1\nDEPTH 1\nMAXVAL 255\n"
                                                 "ENDHDR\n\x2a";
    enum { COMMENT = 3000 };
    char commented[sizeof head + COMMENT + sizeof tail];
    size_t n = sizeof head - 1;
    memcpy(commented, head, n);
    memset(commented + n, 'c', COMMENT);
    n += COMMENT;
    memcpy(commented + n, tail, sizeof tail - 1);
    n += sizeof tail - 1;
    check_u8_image(commented, n, 1, 1, 1, (const unsigned char *)"\x2a", 0);
}

static void test_bad_data(void)
{
    EXPECT_ERROR("P5 2 2 100\n\x01\x65\x00\x00", "sample 101 above maxval 100 at row 1");
    EXPECT_ERROR("P5 1 2 1000\n\x00\x01\x03\xe9", "sample 1001 above maxval 1000 at row 2");
    EXPECT_ERROR("P2 1 2 255\n1\n300\n", "sample 300 above maxval 255 at row 2");
    EXPECT_ERROR("P2 1 1 255\n99999999999999999999999\n", "the number overflows");
    EXPECT_ERROR("P2 2 1 255\n1 -1\n", "expected a sample, found '-' at row 1");
    EXPECT_ERROR("P3 1 1 255\n1 2x 3\n", "expected a sample, found 'x'");
    EXPECT_ERROR("P1 2 1\n0 2\n", "expected 0 or 1, found '2'");
    EXPECT_STREAM_ERROR("P5 2 3 255\n\x01\x02\x03", "truncated PNM data (row 2 of 3)");
    EXPECT_STREAM_ERROR("P5 2 3 65535\n\x01\x02\x03\x04", "truncated PNM data (row 2 of 3)");
    EXPECT_STREAM_ERROR("P6 2 2 255\n", "truncated PNM data (row 1 of 2)");
    EXPECT_STREAM_ERROR("P4 9 2\n\x00\x00\x00", "truncated PNM data (row 2 of 2)");
    EXPECT_STREAM_ERROR("P2 2 2 255\n1 2 3", "truncated PNM data (row 2 of 2)");
    EXPECT_STREAM_ERROR("P1 2 2\n1 0 1", "truncated PNM data (row 2 of 2)");
    EXPECT_STREAM_ERROR("P3 1 1 255\n1 2 #3\n", "truncated PNM data (row 1 of 1)");
    EXPECT_STREAM_ERROR("P7\nWIDTH 2\nHEIGHT 2\nDEPTH 4\nMAXVAL 255\nENDHDR\n1234567",
                        "truncated PNM data (row 1 of 2)");
    /* From a file, a raster longer than what is left fails at the header, naming both. */
    EXPECT_ERROR("P5 2 3 255\n\x01\x02\x03", "the header declares 2x3 pixels, which need 6 "
                                             "bytes of samples, and the file has 3 bytes after it");
    EXPECT_ERROR("P5 2 3 65535\n\x01\x02\x03\x04", "need 12 bytes of samples, and the file has 4");
    EXPECT_ERROR("P6 2 2 255\n", "need 12 bytes of samples, and the file has 0 bytes after it");
    EXPECT_ERROR("P4 9 2\n\x00\x00\x00", "need 4 bytes of samples, and the file has 3");
    EXPECT_ERROR("P2 2 2 255\n1 2 3", "need at least 7 bytes of samples, and the file has 5");
    EXPECT_ERROR("P1 2 2\n101", "the header declares 2x2 pixels, which need at least 4 bytes");
    EXPECT_ERROR("P7\nWIDTH 2\nHEIGHT 2\nDEPTH 4\nMAXVAL 255\nENDHDR\n1234567",
                 "need 16 bytes of samples, and the file has 7 bytes after it");
    EXPECT_ERROR("P5 1 1 255\n\x01P5 1 2 255\n\x01", "need 2 bytes of samples, and the file "
                                                     "has 1 byte after it");
    EXPECT_ERROR("P5\n2 536870912\n255\n\x01", "the header declares 2x536870912 pixels, which "
                                               "need 1073741824 bytes");
    /* Exactly enough is enough: the plain bound is a lower one (P1 bits may touch). */
    CHECK_U8("P1 2 2\n1001", 2, 2, 1, 0, 0, 255, 255, 0);
    CHECK_U8("P2 2 1 9\n1 2", 1, 2, 1, 9, 1, 2);
}

static void test_read_counts(void)
{
    struct byte_source src;
    CHECK_EQ_INT(open_bytes(&src, "P5 2 2 255\n\x01\x02\x03\x04", 15), 0);
    struct tensor_reader r;
    memset(&r, 0, sizeof r);
    r.src = &src;
    r.opt = &default_options;
    r.ops = &pnm_reader_ops;
    struct pool_error err;
    unsigned char buf[8];
    CHECK_EQ_INT(pnm_read_header(&r, &err), 0);
    CHECK_EQ_INT(r.ops->read(&r, buf, 3, &err), -1);
    CHECK(strstr(err.msg, "read whole") != NULL);
    CHECK_EQ_INT(r.ops->next(&r, &err), -1);
    CHECK(strstr(err.msg, "not read to its end") != NULL);
    CHECK_EQ_INT(r.ops->read(&r, buf, 4, &err), 0);
    CHECK(!memcmp(buf, "\x01\x02\x03\x04", 4));
    CHECK_EQ_INT(r.ops->read(&r, buf, 2, &err), -1);
    CHECK_EQ_INT(r.ops->next(&r, &err), 0);
    r.ops->destroy(&r);
    r.ops->destroy(&r); /* safe twice */
    source_close(&src);
}

/* A stream that cannot be read (opened for writing only) fails with the system's reason. */
static void test_read_error(void)
{
    struct byte_source src = {
        .fp = fopen("/dev/null", "w"), .name = "w", .owns_fp = true, .size = -1};
    CHECK(src.fp != NULL);
    if (!src.fp)
        return;
    struct tensor_reader r = {.src = &src, .opt = &default_options, .ops = &pnm_reader_ops};
    struct pool_error err = {0};
    CHECK_EQ_INT(pnm_read_header(&r, &err), -1);
    CHECK(strstr(err.msg, "read failed: ") != NULL);
    r.ops->destroy(&r);
    source_close(&src);
}

/* ---- the writer ---- */

struct encoded {
    char *bytes;
    size_t len;
};

static void shape_for(struct tensor_shape *s, size_t h, size_t w, size_t c, enum pool_dtype t)
{
    memset(s, 0, sizeof *s);
    s->dtype = t;
    s->dims[0] = h;
    s->dims[1] = w;
    s->dims[2] = c;
    s->ndim = c == 1 ? 2 : 3;
    strcpy(s->layout, c == 1 ? "hw" : "hwc");
}

/* Writes images (each `data`, row by row) into memory; NULL bytes on failure. */
static int encode(const struct tensor_shape *shape, const struct image_meta *meta, const void *data,
                  int images, struct encoded *out, struct pool_error *err)
{
    FILE *fp = open_memstream(&out->bytes, &out->len);
    if (!fp)
        return pool_fail(err, "open_memstream failed");
    struct tensor_writer w = {.ops = &pnm_writer_ops,
                              .out = fp,
                              .shape = *shape,
                              .meta = meta,
                              .opt = &no_writer_options};
    int rc = w.ops->begin(&w, err);
    size_t row = shape->dims[1] * (shape->ndim == 3 ? shape->dims[2] : 1);
    size_t row_bytes = row * dtype_size(shape->dtype);
    for (int i = 0; rc == 0 && i < images; i++) {
        if (i > 0)
            rc = w.ops->next_image(&w, err);
        for (size_t y = 0; rc == 0 && y < shape->dims[0]; y++)
            rc = w.ops->write(&w, (const unsigned char *)data + y * row_bytes, row, err);
        if (rc == 0)
            rc = w.ops->finish(&w, err);
    }
    w.ops->destroy(&w);
    fclose(fp);
    if (rc) {
        free(out->bytes);
        out->bytes = NULL;
    }
    return rc;
}

static void store_value(unsigned char *data, size_t i, enum pool_dtype t, unsigned v)
{
    if (t == DT_U16) {
        uint16_t v16 = (uint16_t)v;
        memcpy(data + 2 * i, &v16, sizeof v16);
    } else {
        data[i] = (unsigned char)v;
    }
}

static bool starts_with(const struct encoded *e, const char *prefix)
{
    return e->bytes && e->len >= strlen(prefix) && !memcmp(e->bytes, prefix, strlen(prefix));
}

/* Writes a 2x3 image of `c` channels and reads it back. */
static void check_round_trip(size_t c, enum pool_dtype t, const struct image_meta *meta,
                             const char *header, unsigned want_maxval)
{
    enum { H = 2, W = 3 };
    struct tensor_shape shape;
    shape_for(&shape, H, W, c, t);
    unsigned top = want_maxval ? want_maxval : t == DT_U16 ? 65535 : 255;
    unsigned char data[H * W * 4 * 2];
    for (size_t i = 0; i < H * W * c; i++)
        store_value(data, i, t, (unsigned)(i * 37 % (top + 1)));
    data[0] = 0;
    store_value(data, H * W * c - 1, t, top); /* the extremes are kept */

    struct encoded e = {NULL, 0};
    struct pool_error err = {0};
    int rc = encode(&shape, meta, data, 1, &e, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    CHECK(starts_with(&e, header));
    size_t bytes = H * W * c * dtype_size(t);
    CHECK_EQ_INT(e.len, strlen(header) + (top > 255 ? 2 : 1) * H * W * c);
    struct stream s;
    CHECK_EQ_INT(decode(e.bytes, e.len, &s, &err), 0);
    const struct decoded *d = &s.images[0];
    CHECK(shape_is(d, H, W, c, t));
    CHECK(d->bytes == bytes && !memcmp(d->data, data, bytes));
    CHECK_EQ_INT(d->meta.maxval, want_maxval);
    CHECK_EQ_INT(d->meta.has_alpha, c == 2 || (c == 4 && meta->color != COLOR_CMYK));
    free(e.bytes);
}

static void test_writer_round_trips(void)
{
    static const struct image_meta none, maxval100 = {.maxval = 100}, maxval1000 = {.maxval = 1000};
    static const struct image_meta cmyk = {.is_image = true, .color = COLOR_CMYK};
    check_round_trip(1, DT_U8, &none, "P5\n3 2\n255\n", 0);
    check_round_trip(3, DT_U8, &none, "P6\n3 2\n255\n", 0);
    check_round_trip(2, DT_U8, &none,
                     "P7\nWIDTH 3\nHEIGHT 2\nDEPTH 2\nMAXVAL 255\n"
                     "TUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n",
                     0);
    check_round_trip(4, DT_U8, &none,
                     "P7\nWIDTH 3\nHEIGHT 2\nDEPTH 4\nMAXVAL 255\n"
                     "TUPLTYPE RGB_ALPHA\nENDHDR\n",
                     0);
    check_round_trip(1, DT_U16, &none, "P5\n3 2\n65535\n", 0);
    check_round_trip(3, DT_U16, &none, "P6\n3 2\n65535\n", 0);
    check_round_trip(2, DT_U16, &none,
                     "P7\nWIDTH 3\nHEIGHT 2\nDEPTH 2\nMAXVAL 65535\n"
                     "TUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n",
                     0);
    check_round_trip(4, DT_U16, &none,
                     "P7\nWIDTH 3\nHEIGHT 2\nDEPTH 4\nMAXVAL 65535\n"
                     "TUPLTYPE RGB_ALPHA\nENDHDR\n",
                     0);
    check_round_trip(1, DT_U8, &maxval100, "P5\n3 2\n100\n", 100);
    check_round_trip(4, DT_U8, &maxval100,
                     "P7\nWIDTH 3\nHEIGHT 2\nDEPTH 4\nMAXVAL 100\n"
                     "TUPLTYPE RGB_ALPHA\nENDHDR\n",
                     100);
    check_round_trip(3, DT_U16, &maxval1000, "P6\n3 2\n1000\n", 1000);
    /* A maxval that does not fit the samples' type: they were converted, so the full range. */
    check_round_trip(1, DT_U16, &maxval100, "P5\n3 2\n65535\n", 0);
    check_round_trip(1, DT_U8, &maxval1000, "P5\n3 2\n255\n", 0);
    check_round_trip(4, DT_U8, &cmyk,
                     "P7\nWIDTH 3\nHEIGHT 2\nDEPTH 4\nMAXVAL 255\n"
                     "TUPLTYPE CMYK\nENDHDR\n",
                     0);
}

static void test_writer_errors(void)
{
    static const struct image_meta none, maxval100 = {.maxval = 100};
    struct tensor_shape shape;
    struct encoded e = {NULL, 0};
    struct pool_error err = {0};
    unsigned char data[8] = {1, 2, 3, 4, 101, 6};
    shape_for(&shape, 2, 3, 1, DT_U8);
    CHECK_EQ_INT(encode(&shape, &maxval100, data, 1, &e, &err), -1);
    CHECK(strstr(err.msg, "sample 101 above maxval 100 at row 2 of 2") != NULL);
    uint16_t wide[6] = {1, 2, 3, 4, 5, 1001};
    static const struct image_meta maxval1000 = {.maxval = 1000};
    shape_for(&shape, 2, 3, 1, DT_U16);
    CHECK_EQ_INT(encode(&shape, &maxval1000, wide, 1, &e, &err), -1);
    CHECK(strstr(err.msg, "sample 1001 above maxval 1000 at row 2 of 2") != NULL);

    shape_for(&shape, 2, 3, 1, DT_F32);
    CHECK_EQ_INT(encode(&shape, &none, data, 1, &e, &err), -1);
    CHECK(strstr(err.msg, "PNM stores 8- or 16-bit unsigned integers") != NULL);
    shape_for(&shape, 2, 3, 5, DT_U8);
    CHECK_EQ_INT(encode(&shape, &none, data, 1, &e, &err), -1);
    CHECK(strstr(err.msg, "1 to 4 channels") != NULL);

    /* Rows: whole ones only, no more than the image holds, all of them before finish. */
    FILE *fp = open_memstream(&e.bytes, &e.len);
    shape_for(&shape, 2, 3, 1, DT_U8);
    struct tensor_writer w = {.ops = &pnm_writer_ops,
                              .out = fp,
                              .shape = shape,
                              .meta = &none,
                              .opt = &no_writer_options};
    CHECK_EQ_INT(w.ops->begin(&w, &err), 0);
    CHECK_EQ_INT(w.ops->write(&w, data, 2, &err), -1);
    CHECK(strstr(err.msg, "written whole") != NULL);
    CHECK_EQ_INT(w.ops->write(&w, data, 3, &err), 0);
    CHECK_EQ_INT(w.ops->finish(&w, &err), -1);
    CHECK(strstr(err.msg, "wrote 1 of the 2 rows") != NULL);
    CHECK_EQ_INT(w.ops->next_image(&w, &err), -1);
    CHECK_EQ_INT(w.ops->write(&w, data, 6, &err), -1);
    CHECK(strstr(err.msg, "more rows than the image holds") != NULL);
    w.ops->destroy(&w);
    w.ops->destroy(&w); /* safe twice */
    fclose(fp);
    free(e.bytes);
}

/* Two images of different kinds in one stream, as the CLI writes a netpbm stream. */
static void test_writer_next_image(void)
{
    static const struct image_meta gray = {.is_image = true, .color = COLOR_GRAY, .maxval = 9};
    static const struct image_meta rgba = {.is_image = true, .color = COLOR_RGB, .has_alpha = true};
    struct encoded e = {NULL, 0};
    struct pool_error err = {0};
    FILE *fp = open_memstream(&e.bytes, &e.len);
    struct tensor_writer w = {
        .ops = &pnm_writer_ops, .out = fp, .meta = &gray, .opt = &no_writer_options};
    shape_for(&w.shape, 1, 2, 1, DT_U8);
    CHECK_EQ_INT(w.ops->begin(&w, &err), 0);
    CHECK_EQ_INT(w.ops->write(&w, "\x01\x09", 2, &err), 0);
    CHECK_EQ_INT(w.ops->finish(&w, &err), 0);
    shape_for(&w.shape, 1, 1, 4, DT_U16);
    w.meta = &rgba;
    CHECK_EQ_INT(w.ops->next_image(&w, &err), 0);
    uint16_t px[4] = {1, 2, 3, 65535};
    CHECK_EQ_INT(w.ops->write(&w, px, 4, &err), 0);
    CHECK_EQ_INT(w.ops->finish(&w, &err), 0);
    w.ops->destroy(&w);
    fclose(fp);

    static const char want[] = "P5\n2 1\n9\n\x01\x09"
                               "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 4\nMAXVAL 65535\n"
                               "TUPLTYPE RGB_ALPHA\nENDHDR\n\x00\x01\x00\x02\x00\x03\xff\xff";
    CHECK(e.len == sizeof want - 1 && !memcmp(e.bytes, want, e.len));
    struct stream s;
    CHECK_EQ_INT(decode(e.bytes, e.len, &s, &err), 0);
    CHECK_EQ_INT(s.count, 2);
    CHECK_EQ_INT(s.images[0].meta.maxval, 9);
    CHECK(shape_is(&s.images[1], 1, 1, 4, DT_U16));
    CHECK(u16_equal(&s.images[1], px, 4));
    free(e.bytes);
}

/* ---- files written by Pillow (pnm_pillow_check.sh) ---- */

static unsigned char *load_file(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    unsigned char *buf = NULL;
    if (fseek(fp, 0, SEEK_END) == 0) {
        long size = ftell(fp);
        buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
        rewind(fp);
        if (buf && fread(buf, 1, (size_t)size, fp) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)size;
    }
    fclose(fp);
    return buf;
}

/* One manifest line: FILE INDEX HEIGHT WIDTH CHANNELS BYTES_PER_SAMPLE MAXVAL EXPECTED_RAW. */
static void check_fixture(const char *dir, const char *line)
{
    char file[256], raw[256];
    int index;
    size_t h, w, c, sample_bytes;
    unsigned maxval;
    if (sscanf(line, "%255s %d %zu %zu %zu %zu %u %255s", file, &index, &h, &w, &c, &sample_bytes,
               &maxval, raw) != 8 ||
        index < 0 || index >= MAX_IMAGES) {
        check_failed++;
        fprintf(stderr, "bad manifest line: %s", line);
        return;
    }
    size_t len = 0, want_len = 0;
    unsigned char *bytes = load_file(dir, file, &len);
    unsigned char *want = load_file(dir, raw, &want_len);
    struct stream *s = malloc(sizeof *s);
    struct pool_error err = {0};
    int rc = bytes && want && s ? decode(bytes, len, s, &err) : pool_fail(&err, "cannot load");
    if (rc || s->count <= index) {
        check_failed++;
        fprintf(stderr, "%s: %s\n", file, rc ? err.msg : "too few images");
    } else {
        const struct decoded *d = &s->images[index];
        bool ok = shape_is(d, h, w, c, sample_bytes == 2 ? DT_U16 : DT_U8) &&
                  d->meta.maxval == maxval && d->bytes == want_len &&
                  !memcmp(d->data, want, want_len);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  %s image %d differs from Pillow's\n", file, index);
    }
    free(s);
    free(bytes);
    free(want);
}

static void test_pillow_fixtures(const char *dir)
{
    size_t len = 0;
    char *manifest = (char *)load_file(dir, "manifest.txt", &len);
    CHECK(manifest != NULL);
    if (!manifest)
        return;
    manifest[len] = '\0';
    int lines = 0;
    for (char *line = strtok(manifest, "\n"); line; line = strtok(NULL, "\n"), lines++)
        check_fixture(dir, line);
    CHECK(lines > 0);
    printf("checked %d images written by Pillow\n", lines);
    free(manifest);
}

int main(void)
{
    RUN(test_sniff());
    RUN(test_plain_bitmap());
    RUN(test_plain_gray_and_rgb());
    RUN(test_raw_bitmap());
    RUN(test_raw_gray_and_rgb());
    RUN(test_pam());
    RUN(test_several_images());
    RUN(test_bad_headers());
    RUN(test_bad_pam_headers());
    RUN(test_bad_data());
    RUN(test_read_counts());
    RUN(test_read_error());
    RUN(test_writer_round_trips());
    RUN(test_writer_errors());
    RUN(test_writer_next_image());
    const char *fixtures = getenv("PNM_FIXTURE_DIR");
    if (fixtures && *fixtures)
        RUN(test_pillow_fixtures(fixtures));
    return check_summary();
}

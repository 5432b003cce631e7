/* Unit tests of the TIFF codec (src/codec/tiff.c): the writer's round trips for every element
 * type, channel count and compression, its photometrics and metadata, pages; inputs the
 * writer never makes, written here with libtiff itself (tiles, planes, bilevel, MinIsWhite,
 * associated alpha, what is refused); a pipe's input, the memory budget, cut files, and an
 * output libtiff cannot seek in. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>

#include "check.h"
#include "codec/codec.h"
#include "codec/formats.h"

#define MAX_PAGES 4

static const struct writer_options deflate_options = {.compression = TIFF_DEFLATE};

/* ---- bytes in memory ---- */

struct bytes {
    unsigned char *data;
    size_t len;
};

static void bytes_free(struct bytes *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* The whole of fp, from its start. */
static int slurp(FILE *fp, struct bytes *b)
{
    if (fflush(fp) || fseek(fp, 0, SEEK_END))
        return -1;
    long n = ftell(fp);
    if (n < 0 || fseek(fp, 0, SEEK_SET))
        return -1;
    b->len = (size_t)n;
    b->data = malloc(b->len ? b->len : 1);
    return b->data && fread(b->data, 1, b->len, fp) == b->len ? 0 : -1;
}

/* ---- writing with the codec ---- */

struct page {
    struct tensor_shape shape;
    struct image_meta meta;
    const void *data; /* C order */
};

static size_t page_elems(const struct tensor_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->dims[i];
    return n;
}

/* The pages through the writer into out, a row at a time; 0, or -1 with err. */
static int write_pages_to(FILE *out, const struct page *pages, int npages,
                          const struct writer_options *opt, struct pool_error *err)
{
    struct tensor_writer w;
    if (writer_open(&w, FORMAT_TIFF, out, &pages[0].shape, &pages[0].meta, opt, err))
        return -1;
    int rc = 0;
    for (int k = 0; k < npages && rc == 0; k++) {
        if (k > 0) {
            w.shape = pages[k].shape;
            w.meta = &pages[k].meta;
            rc = w.ops->next_image(&w, err);
        }
        size_t rows = pages[k].shape.dims[0], elems = page_elems(&pages[k].shape);
        size_t row = elems / rows, row_bytes = row * dtype_size(pages[k].shape.dtype);
        for (size_t y = 0; y < rows && rc == 0; y++)
            rc = w.ops->write(&w, (const char *)pages[k].data + y * row_bytes, row, err);
        if (rc == 0)
            rc = w.ops->finish(&w, err);
    }
    writer_close(&w);
    return rc;
}

static int write_pages(const struct page *pages, int npages, const struct writer_options *opt,
                       struct bytes *out, struct pool_error *err)
{
    FILE *fp = tmpfile();
    if (!fp)
        return pool_fail(err, "no temporary file");
    int rc = write_pages_to(fp, pages, npages, opt, err);
    if (rc == 0 && slurp(fp, out))
        rc = pool_fail(err, "cannot read the TIFF back");
    fclose(fp);
    return rc;
}

/* ---- reading with the codec ---- */

struct decoded {
    struct tensor_shape shape;
    char layout[TENSOR_MAX_DIMS + 1];
    struct image_meta meta; /* icc, exif and georef not kept */
    size_t icc_len;
    struct georef georef; /* a copy */
    unsigned char *data;
    size_t bytes;
};

struct stream {
    int count;
    struct decoded pages[MAX_PAGES];
    struct reader_notes notes;
    size_t memory_held;
};

static void stream_free(struct stream *s)
{
    for (int i = 0; i < s->count; i++) {
        free(s->pages[i].data);
        georef_clear(&s->pages[i].georef);
    }
    memset(s, 0, sizeof *s);
}

/* The bytes as a source: a regular file of known size, or (pipe) a stream of unknown size. */
static int open_bytes(struct byte_source *src, const struct bytes *b, bool pipe)
{
    memset(src, 0, sizeof *src);
    src->fp = tmpfile();
    if (!src->fp || fwrite(b->data, 1, b->len, src->fp) != b->len || fseek(src->fp, 0, SEEK_SET)) {
        if (src->fp)
            fclose(src->fp);
        return -1;
    }
    src->name = "test.tif";
    src->owns_fp = true;
    src->size = pipe ? -1 : (long long)b->len;
    return 0;
}

/* The reader's current page, its rows one, then two at a time. */
static int read_page_rows(struct tensor_reader *r, struct decoded *out, struct pool_error *err)
{
    out->shape = r->shape;
    strcpy(out->layout, r->layout_hint);
    out->meta = r->meta;
    out->meta.icc = NULL;
    out->icc_len = r->meta.icc_len;
    memset(&out->meta.georef, 0, sizeof out->meta.georef);
    if (georef_copy(&r->meta.georef, &out->georef, err))
        return -1;
    size_t rows = r->shape.dims[0], elems = page_elems(&r->shape), row = elems / rows;
    size_t row_bytes = row * dtype_size(r->shape.dtype);
    out->bytes = rows * row_bytes;
    if (!(out->data = malloc(out->bytes)))
        return pool_fail(err, "out of memory");
    for (size_t y = 0, step = 1; y < rows; y += step, step = 3 - step) {
        if (step > rows - y)
            step = rows - y;
        if (r->ops->read(r, out->data + y * row_bytes, step * row, err))
            return -1;
    }
    return 0;
}

static int decode_with(const struct bytes *b, const struct reader_options *opt, bool pipe,
                       struct stream *s, struct pool_error *err)
{
    memset(s, 0, sizeof *s);
    struct byte_source src;
    if (open_bytes(&src, b, pipe))
        return pool_fail(err, "no temporary file");
    struct tensor_reader r;
    memset(&r, 0, sizeof r);
    r.src = &src;
    r.opt = opt;
    r.ops = &tiff_reader_ops;
    int rc = tiff_read_header(&r, err);
    s->memory_held = r.memory_held;
    while (rc == 0 && s->count < MAX_PAGES) {
        rc = read_page_rows(&r, &s->pages[s->count++], err);
        int more = rc ? -1 : r.ops->next(&r, err);
        if (more <= 0) {
            rc = more;
            break;
        }
    }
    s->notes = r.notes;
    reader_close(&r);
    source_close(&src);
    return rc;
}

static int decode(const struct bytes *b, struct stream *s, struct pool_error *err)
{
    static const struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS,
                                              .palette_index = true};
    return decode_with(b, &opt, false, s, err);
}

static bool has_note(const struct stream *s, const char *part)
{
    for (unsigned i = 0; i < s->notes.count; i++)
        if (strstr(s->notes.note[i].text, part))
            return true;
    return false;
}

/* ---- inputs written with libtiff itself ---- */

/* The fields of a hand-made TIFF; rows are written as they are given (contiguous or one plane
 * after another for separate). */
struct made {
    uint32_t width, height;
    uint16_t spp, bps, format, photometric, planar, compression;
    uint32_t tile; /* tile width and height, 0 for strips */
    uint32_t rows_per_strip;
    uint16_t extras, extra_type;
    uint16_t subfile;
};

static void tiff_quiet(const char *module, const char *fmt, va_list ap)
{
    (void)module;
    (void)fmt;
    (void)ap;
}

/* A TIFF of m's fields over data (each plane's rows, whole, for separate), in b. */
static int make_tiff(const struct made *m, const void *data, struct bytes *b)
{
    char path[] = "/tmp/test_tiff_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    TIFF *tif = TIFFOpen(path, "w");
    int rc = tif ? 0 : -1;
    uint16_t planes = m->planar == PLANARCONFIG_SEPARATE ? m->spp : 1;
    size_t row_bytes = (m->width * (size_t)(planes > 1 ? 1 : m->spp) * m->bps + 7) / 8;
    if (tif) {
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, m->width);
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, m->height);
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, m->spp);
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, m->bps);
        TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, m->format ? m->format : SAMPLEFORMAT_UINT);
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, m->photometric);
        TIFFSetField(tif, TIFFTAG_PLANARCONFIG, m->planar ? m->planar : PLANARCONFIG_CONTIG);
        TIFFSetField(tif, TIFFTAG_COMPRESSION, m->compression ? m->compression : COMPRESSION_NONE);
        if (m->photometric == PHOTOMETRIC_PALETTE) {
            size_t n = (size_t)1 << m->bps;
            uint16_t *map = calloc(n, sizeof *map);
            if (map)
                TIFFSetField(tif, TIFFTAG_COLORMAP, map, map, map);
            free(map);
        }
        if (m->subfile)
            TIFFSetField(tif, TIFFTAG_SUBFILETYPE, (uint32_t)m->subfile);
        if (m->extras) {
            uint16_t types[8] = {m->extra_type, 0, 0, 0, 0, 0, 0, 0};
            TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, m->extras, types);
        }
        if (m->tile) {
            TIFFSetField(tif, TIFFTAG_TILEWIDTH, m->tile);
            TIFFSetField(tif, TIFFTAG_TILELENGTH, m->tile);
        } else {
            TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, m->rows_per_strip ? m->rows_per_strip : 3);
        }
    }
    if (tif && m->tile) {
        /* tiles cut from the rows; padding zero */
        size_t bytes = (m->bps / 8) * (size_t)(planes > 1 ? 1 : m->spp);
        size_t tile_row = m->tile * bytes;
        unsigned char *t = malloc(tile_row * m->tile);
        for (uint16_t p = 0; p < planes && t && rc == 0; p++)
            for (uint32_t y0 = 0; y0 < m->height; y0 += m->tile)
                for (uint32_t x0 = 0; x0 < m->width; x0 += m->tile) {
                    memset(t, 0, tile_row * m->tile);
                    for (uint32_t y = y0; y < y0 + m->tile && y < m->height; y++) {
                        uint32_t n = m->width - x0 < m->tile ? m->width - x0 : m->tile;
                        memcpy(t + (y - y0) * tile_row,
                               (const char *)data + (p * (size_t)m->height + y) * row_bytes +
                                   x0 * bytes,
                               n * bytes);
                    }
                    if (TIFFWriteTile(tif, t, x0, y0, 0, p) < 0)
                        rc = -1;
                }
        free(t);
    } else if (tif) {
        unsigned char *row = malloc(row_bytes);
        for (uint16_t p = 0; p < planes && row && rc == 0; p++)
            for (uint32_t y = 0; y < m->height && rc == 0; y++) {
                memcpy(row, (const char *)data + (p * (size_t)m->height + y) * row_bytes,
                       row_bytes);
                if (TIFFWriteScanline(tif, row, y, p) != 1)
                    rc = -1;
            }
        free(row);
    }
    if (tif)
        TIFFClose(tif);
    FILE *fp = rc == 0 ? fopen(path, "rb") : NULL;
    if (!fp || slurp(fp, b))
        rc = -1;
    if (fp)
        fclose(fp);
    remove(path);
    return rc;
}

/* ---- tests ---- */

/* Every element type, 1, 3 and 7 channels, every compression: what is written reads back. */
static void test_round_trip_types(void)
{
    static const enum tiff_compression compressions[] = {TIFF_DEFLATE, TIFF_NONE, TIFF_LZW,
                                                         TIFF_PACKBITS};
    static const size_t channels[] = {1, 3, 7};
    enum { H = 9, W = 11 };
    static unsigned char values[H * W * 7 * 8];
    for (size_t i = 0; i < sizeof values; i++)
        values[i] = (unsigned char)(i * 131 + i / 7);
    for (int t = 0; t < DT_COUNT; t++)
        for (size_t c = 0; c < 3; c++)
            for (size_t k = 0; k < 4; k++) {
                struct page p = {.shape = {(enum pool_dtype)t, 3, {H, W, channels[c]}, "hwc"},
                                 .data = values};
                if (dtype_is_float((enum pool_dtype)t)) /* no NaN bit patterns: compare bytes */
                    p.data = NULL;
                float f32[H * W * 7];
                double f64[H * W * 7];
                uint16_t f16[H * W * 7];
                for (size_t i = 0; i < H * W * 7; i++) {
                    f32[i] = (float)i * 0.37f - 20.0f;
                    f64[i] = (double)i * 1e-3 - 0.25;
                    f16[i] = float_to_half((double)i * 0.5 - 7);
                }
                if (t == DT_F32)
                    p.data = f32;
                if (t == DT_F64)
                    p.data = f64;
                if (t == DT_F16)
                    p.data = f16;
                struct writer_options opt = {.compression = compressions[k]};
                struct bytes b = {0};
                struct stream s;
                struct pool_error err = {0};
                int rc = write_pages(&p, 1, &opt, &b, &err);
                CHECK(rc == 0);
                if (rc) {
                    fprintf(stderr, "%s x%zu: %s\n", dtype_name((enum pool_dtype)t), channels[c],
                            err.msg);
                    continue;
                }
                CHECK(decode(&b, &s, &err) == 0);
                CHECK_EQ_INT(s.count, 1);
                CHECK_EQ_INT(s.pages[0].shape.dtype, t);
                CHECK_EQ_INT(s.pages[0].shape.ndim, channels[c] == 1 ? 2 : 3);
                CHECK_EQ_INT(page_elems(&s.pages[0].shape), H * W * channels[c]);
                CHECK(s.pages[0].data && !memcmp(s.pages[0].data, p.data, s.pages[0].bytes));
                /* 1 channel is gray, 3 RGB; 7 a tensor of bands */
                CHECK(s.pages[0].meta.is_image == (channels[c] != 7));
                stream_free(&s);
                bytes_free(&b);
            }
}

/* Gray, gray+alpha, RGB, RGBA, CMYK and a palette keep what they are; ICC and orientation. */
static void test_round_trip_meta(void)
{
    unsigned char px[6 * 5 * 4];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (unsigned char)(i * 7 % 5);
    unsigned char icc[40];
    for (size_t i = 0; i < sizeof icc; i++)
        icc[i] = (unsigned char)(i + 3);
    struct {
        size_t channels;
        enum color_space color;
        bool alpha;
    } cases[] = {{1, COLOR_GRAY, false}, {2, COLOR_GRAY, true},  {3, COLOR_RGB, false},
                 {4, COLOR_RGB, true},   {4, COLOR_CMYK, false}, {1, COLOR_PALETTE, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct page p = {.shape = {DT_U8, 3, {6, 5, cases[i].channels}, "hwc"}, .data = px};
        p.meta.is_image = true;
        p.meta.color = cases[i].color;
        p.meta.has_alpha = cases[i].alpha;
        p.meta.icc = icc;
        p.meta.icc_len = sizeof icc;
        p.meta.orientation = 6;
        if (cases[i].color == COLOR_PALETTE) {
            p.meta.palette_len = 5;
            for (unsigned k = 0; k < 5; k++)
                for (int j = 0; j < 3; j++)
                    p.meta.palette[k][j] = (unsigned char)(k * 50 + j * 3 + (k == 4 ? 50 : 0));
        }
        struct bytes b = {0};
        struct stream s;
        struct pool_error err = {0};
        CHECK(write_pages(&p, 1, &deflate_options, &b, &err) == 0);
        CHECK(decode(&b, &s, &err) == 0);
        struct decoded *d = &s.pages[0];
        CHECK(d->data && !memcmp(d->data, px, 6 * 5 * cases[i].channels));
        CHECK(d->meta.is_image);
        CHECK_EQ_INT(d->meta.color, cases[i].color);
        CHECK_EQ_INT(d->meta.has_alpha, cases[i].alpha);
        CHECK_EQ_INT(d->icc_len, sizeof icc);
        CHECK_EQ_INT(d->meta.orientation, 6);
        CHECK_EQ_INT(d->meta.palette_len, cases[i].color == COLOR_PALETTE ? 256 : 0);
        if (cases[i].color == COLOR_PALETTE) /* 8 bits * 257, then >> 8: exactly back */
            CHECK(!memcmp(d->meta.palette, p.meta.palette, 5 * 3));
        stream_free(&s);
        bytes_free(&b);
    }
    /* turned upright: the orientation is not written */
    struct page p = {.shape = {DT_U8, 2, {6, 5}, "hw"}, .data = px};
    p.meta.is_image = true;
    p.meta.orientation = 6;
    p.meta.upright = true;
    struct bytes b = {0};
    struct stream s;
    struct pool_error err = {0};
    CHECK(write_pages(&p, 1, &deflate_options, &b, &err) == 0);
    CHECK(decode(&b, &s, &err) == 0);
    CHECK_EQ_INT(s.pages[0].meta.orientation, 1);
    stream_free(&s);
    bytes_free(&b);
}

/* A palette image read as its colours: RGB, the ColorMap's 16-bit values >> 8. */
static void test_palette_colours(void)
{
    unsigned char idx[4 * 3] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    struct page p = {.shape = {DT_U8, 2, {4, 3}, "hw"}, .data = idx};
    p.meta.is_image = true;
    p.meta.color = COLOR_PALETTE;
    p.meta.palette_len = 4;
    unsigned char colours[4][3] = {{0, 0, 0}, {255, 128, 1}, {10, 20, 30}, {129, 254, 200}};
    memcpy(p.meta.palette, colours, sizeof colours);
    struct bytes b = {0};
    struct stream s;
    struct pool_error err = {0};
    CHECK(write_pages(&p, 1, &deflate_options, &b, &err) == 0);
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    CHECK(decode_with(&b, &opt, false, &s, &err) == 0);
    struct decoded *d = &s.pages[0];
    CHECK_EQ_INT(d->shape.dims[2], 3);
    CHECK_EQ_INT(d->meta.color, COLOR_RGB);
    CHECK(d->meta.palette_expanded);
    for (size_t i = 0; d->data && i < 12; i++)
        CHECK(!memcmp(d->data + 3 * i, colours[idx[i]], 3));
    stream_free(&s);
    /* an index past the palette's colours is refused */
    unsigned char bad[4 * 3] = {0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0};
    p.data = bad;
    struct bytes b2 = {0};
    CHECK(write_pages(&p, 1, &deflate_options, &b2, &err) == -1);
    CHECK(strstr(err.msg, "palette index 4 is past the palette's 4 colours") != NULL);
    bytes_free(&b);
    bytes_free(&b2);
}

/* Pages of other shapes and types: the reader hands them out in turn. */
static void test_pages(void)
{
    unsigned char a[3 * 4 * 3];
    uint16_t c[5 * 2];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (unsigned char)i;
    for (size_t i = 0; i < 10; i++)
        c[i] = (uint16_t)(i * 6000);
    struct page pages[3] = {{.shape = {DT_U8, 3, {3, 4, 3}, "hwc"}, .data = a},
                            {.shape = {DT_U16, 2, {5, 2}, "hw"}, .data = c},
                            {.shape = {DT_U8, 2, {1, 1}, "hw"}, .data = a + 7}};
    pages[0].meta.is_image = true;
    pages[0].meta.color = COLOR_RGB;
    struct bytes b = {0};
    struct stream s;
    struct pool_error err = {0};
    CHECK(write_pages(pages, 3, &deflate_options, &b, &err) == 0);
    CHECK(decode(&b, &s, &err) == 0);
    CHECK_EQ_INT(s.count, 3);
    CHECK(s.pages[0].data && !memcmp(s.pages[0].data, a, sizeof a));
    CHECK_EQ_INT(s.pages[1].shape.dtype, DT_U16);
    CHECK(s.pages[1].data && !memcmp(s.pages[1].data, c, sizeof c));
    CHECK(s.pages[2].data && s.pages[2].data[0] == 7);
    stream_free(&s);
    /* the same through a pipe: read whole, and held */
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    CHECK(decode_with(&b, &opt, true, &s, &err) == 0);
    CHECK_EQ_INT(s.count, 3);
    CHECK(s.memory_held >= b.len);
    CHECK(s.pages[1].data && !memcmp(s.pages[1].data, c, sizeof c));
    stream_free(&s);
    /* over the budget through a pipe: refused, saying to give a file */
    opt.max_memory = b.len - 1;
    CHECK(decode_with(&b, &opt, true, &s, &err) == -1);
    CHECK(strstr(err.msg, "a TIFF through a pipe is read whole") != NULL);
    stream_free(&s);
    bytes_free(&b);
}

/* An output libtiff cannot seek in (a memory stream): spooled, one page only. */
static void test_spooled_output(void)
{
    unsigned char px[4 * 4] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct page pages[2] = {{.shape = {DT_U8, 2, {4, 4}, "hw"}, .data = px},
                            {.shape = {DT_U8, 2, {2, 2}, "hw"}, .data = px}};
    char *mem = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&mem, &len);
    struct pool_error err = {0};
    CHECK(fp && write_pages_to(fp, pages, 1, &deflate_options, &err) == 0);
    if (fp)
        fclose(fp);
    struct bytes b = {(unsigned char *)mem, len};
    struct stream s;
    CHECK(len > 8 && decode(&b, &s, &err) == 0);
    CHECK(s.pages[0].data && !memcmp(s.pages[0].data, px, sizeof px));
    stream_free(&s);
    bytes_free(&b);
    fp = open_memstream(&mem, &len);
    CHECK(fp && write_pages_to(fp, pages, 2, &deflate_options, &err) == -1);
    CHECK(strstr(err.msg, "several images make a multi-page TIFF") != NULL);
    if (fp)
        fclose(fp);
    free(mem);
}

/* Strips, tiles, planes and compressions libtiff writes: the same pixels. */
static void test_layouts(void)
{
    enum { H = 37, W = 45, C = 3 };
    static uint16_t rows[H * W * C], planes[C * H * W];
    for (size_t y = 0; y < H; y++)
        for (size_t x = 0; x < W; x++)
            for (size_t c = 0; c < C; c++) {
                uint16_t v = (uint16_t)(y * 1000 + x * 13 + c * 7);
                rows[(y * W + x) * C + c] = v;
                planes[(c * H + y) * W + x] = v;
            }
    uint16_t compressions[] = {COMPRESSION_NONE, COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE,
                               COMPRESSION_PACKBITS};
    for (int tiled = 0; tiled < 2; tiled++)
        for (int separate = 0; separate < 2; separate++)
            for (size_t k = 0; k < 4; k++) {
                struct made m = {.width = W,
                                 .height = H,
                                 .spp = C,
                                 .bps = 16,
                                 .photometric = PHOTOMETRIC_RGB,
                                 .planar = separate ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG,
                                 .compression = compressions[k],
                                 .tile = tiled ? 16 : 0,
                                 .rows_per_strip = 5};
                struct bytes b = {0};
                struct stream s;
                struct pool_error err = {0};
                CHECK(make_tiff(&m, separate ? (void *)planes : (void *)rows, &b) == 0);
                CHECK(decode(&b, &s, &err) == 0);
                CHECK(s.pages[0].data && !memcmp(s.pages[0].data, rows, sizeof rows));
                if (s.count == 0)
                    fprintf(stderr, "tiled %d separate %d: %s\n", tiled, separate, err.msg);
                stream_free(&s);
                bytes_free(&b);
            }
}

/* 1-bit bilevel (PBM's 0 and 255), MinIsWhite inverted, associated alpha divided out. */
static void test_samples(void)
{
    /* 10 pixels a row: 1011001110 */
    unsigned char bits[2 * 2] = {0xB3, 0x80, 0x00, 0xC0};
    struct made m = {
        .width = 10, .height = 2, .spp = 1, .bps = 1, .photometric = PHOTOMETRIC_MINISBLACK};
    struct bytes b = {0};
    struct stream s;
    struct pool_error err = {0};
    const unsigned char want_black[20] = {255, 0, 255, 255, 0, 0, 255, 255, 255, 0,
                                          0,   0, 0,   0,   0, 0, 0,   0,   255, 255};
    for (int white = 0; white < 2; white++) {
        m.photometric = white ? PHOTOMETRIC_MINISWHITE : PHOTOMETRIC_MINISBLACK;
        CHECK(make_tiff(&m, bits, &b) == 0);
        CHECK(decode(&b, &s, &err) == 0);
        CHECK_EQ_INT(s.pages[0].shape.dtype, DT_U8);
        for (size_t i = 0; s.pages[0].data && i < 20; i++)
            CHECK_EQ_INT(s.pages[0].data[i], white ? 255 - want_black[i] : want_black[i]);
        stream_free(&s);
        bytes_free(&b);
    }
    uint16_t gray[4] = {0, 1, 65534, 65535};
    struct made g = {
        .width = 2, .height = 2, .spp = 1, .bps = 16, .photometric = PHOTOMETRIC_MINISWHITE};
    CHECK(make_tiff(&g, gray, &b) == 0);
    CHECK(decode(&b, &s, &err) == 0);
    uint16_t inverted[4] = {65535, 65534, 1, 0};
    CHECK(s.pages[0].data && !memcmp(s.pages[0].data, inverted, sizeof inverted));
    stream_free(&s);
    bytes_free(&b);
    /* premultiplied RGBA: colour * 255 / alpha, rounded; alpha 0 gives 0 */
    unsigned char rgba[3 * 4] = {100, 50, 0, 200, 10, 20, 30, 0, 255, 1, 2, 255};
    struct made a = {.width = 3,
                     .height = 1,
                     .spp = 4,
                     .bps = 8,
                     .photometric = PHOTOMETRIC_RGB,
                     .extras = 1,
                     .extra_type = EXTRASAMPLE_ASSOCALPHA};
    CHECK(make_tiff(&a, rgba, &b) == 0);
    CHECK(decode(&b, &s, &err) == 0);
    unsigned char straight[12] = {128, 64, 0, 200, 0, 0, 0, 0, 255, 1, 2, 255};
    CHECK(s.pages[0].data && !memcmp(s.pages[0].data, straight, sizeof straight));
    CHECK(s.pages[0].meta.has_alpha);
    stream_free(&s);
    bytes_free(&b);
    /* RGB and two extra samples of no stated meaning: a tensor of 5 channels */
    unsigned char five[2 * 5] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    struct made t = {.width = 2,
                     .height = 1,
                     .spp = 5,
                     .bps = 8,
                     .photometric = PHOTOMETRIC_RGB,
                     .extras = 2,
                     .extra_type = EXTRASAMPLE_UNSPECIFIED};
    CHECK(make_tiff(&t, five, &b) == 0);
    CHECK(decode(&b, &s, &err) == 0);
    CHECK(!s.pages[0].meta.is_image);
    CHECK(!strcmp(s.pages[0].layout, "hwc"));
    CHECK(s.pages[0].data && !memcmp(s.pages[0].data, five, sizeof five));
    stream_free(&s);
    bytes_free(&b);
}

/* Reduced-resolution pages are left out, with a note. */
static void test_reduced_pages(void)
{
    unsigned char px[4] = {1, 2, 3, 4};
    struct page full = {.shape = {DT_U8, 2, {2, 2}, "hw"}, .data = px};
    struct bytes b = {0}, r = {0};
    struct pool_error err = {0};
    CHECK(write_pages(&full, 1, &deflate_options, &b, &err) == 0);
    struct made m = {.width = 1,
                     .height = 1,
                     .spp = 1,
                     .bps = 8,
                     .photometric = PHOTOMETRIC_MINISBLACK,
                     .subfile = FILETYPE_REDUCEDIMAGE};
    CHECK(make_tiff(&m, px, &r) == 0);
    /* the preview is the first page, the full image the second (libtiff appends) */
    char path[] = "/tmp/test_tiff_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(r.data, 1, r.len, fp) == r.len);
    if (fp)
        fclose(fp);
    TIFF *tif = TIFFOpen(path, "a");
    CHECK(tif != NULL);
    if (tif) {
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 2);
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 2);
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, 2);
        TIFFWriteScanline(tif, px, 0, 0);
        TIFFWriteScanline(tif, px + 2, 1, 0);
        TIFFClose(tif);
    }
    struct bytes both = {0};
    fp = fopen(path, "rb");
    CHECK(fp && slurp(fp, &both) == 0);
    if (fp)
        fclose(fp);
    remove(path);
    struct stream s;
    CHECK(decode(&both, &s, &err) == 0);
    CHECK_EQ_INT(s.count, 1);
    CHECK_EQ_INT(s.pages[0].shape.dims[0], 2);
    CHECK(s.pages[0].data && !memcmp(s.pages[0].data, px, 4));
    CHECK(has_note(&s, "reduced-resolution page"));
    stream_free(&s);
    bytes_free(&b);
    bytes_free(&r);
    bytes_free(&both);
}

/* What pool does not read is refused, saying what it is. */
static void test_refused(void)
{
    unsigned char px[64] = {0};
    struct {
        struct made m;
        const char *says;
    } cases[] = {
        {{.width = 4, .height = 2, .spp = 1, .bps = 4, .photometric = PHOTOMETRIC_MINISBLACK},
         "4-bit unsigned integer samples"},
        {{.width = 2, .height = 2, .spp = 1, .bps = 8, .photometric = PHOTOMETRIC_CIELAB},
         "CIELab samples"},
        {{.width = 2, .height = 2, .spp = 3, .bps = 8, .photometric = PHOTOMETRIC_YCBCR},
         "YCbCr samples without JPEG compression"},
        {{.width = 2,
          .height = 2,
          .spp = 1,
          .bps = 16,
          .format = SAMPLEFORMAT_IEEEFP,
          .photometric = PHOTOMETRIC_MINISWHITE},
         "MinIsWhite floating-point samples"},
        {{.width = 2,
          .height = 2,
          .spp = 1,
          .bps = 32,
          .format = SAMPLEFORMAT_COMPLEXINT,
          .photometric = PHOTOMETRIC_MINISBLACK},
         "32-bit complex integer samples"},
        {{.width = 2, .height = 2, .spp = 1, .bps = 16, .photometric = PHOTOMETRIC_PALETTE},
         "16-bit palette indices"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bytes b = {0};
        struct stream s;
        struct pool_error err = {0};
        CHECK(make_tiff(&cases[i].m, px, &b) == 0);
        CHECK(decode(&b, &s, &err) == -1);
        CHECK(strstr(err.msg, cases[i].says) != NULL);
        if (!strstr(err.msg, cases[i].says))
            fprintf(stderr, "want \"%s\", got \"%s\"\n", cases[i].says, err.msg);
        stream_free(&s);
        bytes_free(&b);
    }
}

/* A strip over the memory budget is refused; a file cut anywhere fails cleanly. */
static void test_budget_and_cuts(void)
{
    enum { H = 64, W = 64 };
    static unsigned char px[H * W * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (unsigned char)(i * 2654435761u >> 24);
    struct made m = {.width = W,
                     .height = H,
                     .spp = 3,
                     .bps = 8,
                     .photometric = PHOTOMETRIC_RGB,
                     .compression = COMPRESSION_LZW,
                     .rows_per_strip = H};
    struct bytes b = {0};
    struct stream s;
    struct pool_error err = {0};
    CHECK(make_tiff(&m, px, &b) == 0);
    struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS, .max_memory = 10000};
    CHECK(decode_with(&b, &opt, false, &s, &err) == -1);
    CHECK(strstr(err.msg, "a TIFF strip of 64 rows, decoded, needs 12 KiB, more than the memory "
                          "budget of 9.8 KiB") != NULL);
    stream_free(&s);
    opt.max_memory = 0;
    CHECK(decode_with(&b, &opt, false, &s, &err) == 0);
    CHECK(s.pages[0].data && !memcmp(s.pages[0].data, px, sizeof px));
    stream_free(&s);
    int failed = 0;
    for (size_t cut = 0; cut < b.len; cut += cut < 16 ? 1 : 97) {
        struct bytes part = {b.data, cut};
        for (int pipe = 0; pipe < 2; pipe++) {
            struct stream t;
            struct pool_error e = {0};
            if (decode_with(&part, &opt, pipe, &t, &e) == 0)
                fprintf(stderr, "cut at %zu of %zu read\n", cut, b.len);
            else
                failed++;
            CHECK(e.msg[0] != '\0' || t.count);
            stream_free(&t);
        }
    }
    CHECK(failed > 0);
    bytes_free(&b);
}

/* GeoTIFF's tags: moved onto the output's pixels where the grid is known, else left out;
 * keys alone (which place nothing) as they are. */
static void test_georef(void)
{
    unsigned char px[8 * 8] = {0};
    double tie[6] = {0, 0, 0, 500000, 4000000, 0};
    uint16_t keys[8] = {1, 1, 0, 1, 1024, 0, 1, 1};
    double params[2] = {6378137.0, 298.257223563};
    char ascii[] = "UTM|";
    struct page p = {.shape = {DT_U8, 2, {8, 8}, "hw"}, .data = px};
    p.meta.is_image = true;
    p.meta.georef = (struct georef){.has_pixel_scale = true,
                                    .pixel_scale = {30, 30, 0},
                                    .tiepoints = tie,
                                    .tiepoint_values = 6,
                                    .keys = keys,
                                    .key_count = 8,
                                    .double_params = params,
                                    .double_count = 2,
                                    .ascii_params = ascii};
    p.meta.grid = (struct pixel_grid){true, {2, 2}, {-0.5, -0.5}};
    struct bytes b = {0};
    struct stream s;
    struct pool_error err = {0};
    CHECK(write_pages(&p, 1, &deflate_options, &b, &err) == 0);
    CHECK(decode(&b, &s, &err) == 0);
    const struct georef *g = &s.pages[0].georef;
    CHECK(g->has_pixel_scale && g->pixel_scale[0] == 60 && g->pixel_scale[1] == 60);
    CHECK_EQ_INT(g->tiepoint_values, 6);
    /* input raster (0, 0) is output (0.25, 0.25): (0 - -0.5) / 2 */
    CHECK(g->tiepoints && g->tiepoints[0] == 0.25 && g->tiepoints[1] == 0.25 &&
          g->tiepoints[3] == 500000 && g->tiepoints[4] == 4000000);
    CHECK(g->key_count == 8 && !memcmp(g->keys, keys, sizeof keys));
    CHECK(g->double_count == 2 && !memcmp(g->double_params, params, sizeof params));
    CHECK(g->ascii_params && !strcmp(g->ascii_params, ascii));
    CHECK(!g->has_transformation);
    stream_free(&s);
    bytes_free(&b);
    /* where the output's pixels lie is not known: none of it */
    p.meta.grid.known = false;
    CHECK(write_pages(&p, 1, &deflate_options, &b, &err) == 0);
    CHECK(decode(&b, &s, &err) == 0);
    CHECK(!georef_present(&s.pages[0].georef) && !s.pages[0].georef.key_count &&
          !s.pages[0].georef.ascii_params);
    stream_free(&s);
    bytes_free(&b);
    /* keys and parameters without a placement go as they are */
    p.meta.georef.has_pixel_scale = false;
    p.meta.georef.tiepoint_values = 0;
    CHECK(write_pages(&p, 1, &deflate_options, &b, &err) == 0);
    CHECK(decode(&b, &s, &err) == 0);
    CHECK(!georef_present(&s.pages[0].georef) && s.pages[0].georef.key_count == 8 &&
          s.pages[0].georef.ascii_params && !strcmp(s.pages[0].georef.ascii_params, ascii));
    stream_free(&s);
    bytes_free(&b);
}

/* Reads that do not match whole rows, or go past the end, are refused. */
static void test_read_counts(void)
{
    unsigned char px[3 * 4] = {0};
    struct page p = {.shape = {DT_U8, 2, {3, 4}, "hw"}, .data = px};
    struct bytes b = {0};
    struct pool_error err = {0};
    CHECK(write_pages(&p, 1, &deflate_options, &b, &err) == 0);
    struct byte_source src;
    CHECK(open_bytes(&src, &b, false) == 0);
    static const struct reader_options opt = {.max_pixels = DEFAULT_MAX_PIXELS};
    struct tensor_reader r = {.src = &src, .opt = &opt, .ops = &tiff_reader_ops};
    unsigned char buf[16];
    CHECK(tiff_read_header(&r, &err) == 0);
    CHECK(r.ops->read(&r, buf, 3, &err) == -1);
    CHECK(strstr(err.msg, "TIFF rows are read whole (4 elements), not 3") != NULL);
    CHECK(r.ops->read(&r, buf, 8, &err) == 0);
    CHECK(r.ops->next(&r, &err) == -1);
    CHECK(strstr(err.msg, "not read to its end") != NULL);
    CHECK(r.ops->read(&r, buf, 8, &err) == -1);
    CHECK(strstr(err.msg, "asked for 2 rows, only 1 are left") != NULL);
    reader_close(&r);
    source_close(&src);
    bytes_free(&b);
}

int main(void)
{
    TIFFSetErrorHandler(tiff_quiet); /* (the tests' own libtiff calls) */
    TIFFSetWarningHandler(tiff_quiet);
    RUN(test_round_trip_types());
    RUN(test_round_trip_meta());
    RUN(test_palette_colours());
    RUN(test_pages());
    RUN(test_spooled_output());
    RUN(test_layouts());
    RUN(test_samples());
    RUN(test_reduced_pages());
    RUN(test_refused());
    RUN(test_georef());
    RUN(test_budget_and_cuts());
    RUN(test_read_counts());
    return check_summary();
}

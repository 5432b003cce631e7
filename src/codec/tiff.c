/*
 * TIFF through libtiff 4.5 (TIFF 6.0, its technical notes, and BigTIFF, which libtiff reads
 * and writes alike).
 *
 * Reading. Samples of 8, 16, 32 or 64 bits, unsigned, signed or IEEE floating point (16-bit
 * floats too), become the element type of that size and kind (u8 ... u64, i8 ... i64, f16,
 * f32, f64), in native byte order; 1-bit bilevel gray becomes u8 as PBM does (pnm.c: black 0,
 * white 255). Any compression this libtiff decodes (none, LZW, deflate, PackBits, JPEG,
 * CCITT fax for bilevel, and others it was built with), strips or tiles, PlanarConfiguration
 * contiguous or separate (planes interleaved into pixels here). Photometric:
 *   MinIsBlack, and MinIsWhite inverted so that 0 is black as everywhere in pool (unsigned
 *     samples only: what white is for signed or float samples is nowhere said);
 *   RGB; YCbCr only JPEG-compressed, which libjpeg turns into RGB (TIFFTAG_JPEGCOLORMODE);
 *   Separated with InkSet CMYK and 4 inks: meta.color COLOR_CMYK, 0 meaning no ink;
 *   Palette (8-bit indices): with reader_options.palette_index the indices, the ColorMap in
 *     the meta (written back by the writer, so class ids survive), else RGB. TIFF's ColorMap
 *     is 16-bit: each value v becomes v >> 8, as libtiff's RGBA reader (tif_getimage.c) and
 *     Pillow take it. Writers scale 8-bit colours by 257 (libtiff's tools, ImageMagick, this
 *     one) or by 256 (Pillow), and v >> 8 gives both back exactly, where round(v / 257)
 *     would turn Pillow's 255 into 254. A ColorMap whose values are all below 256 was
 *     written 8-bit by a wrong writer and is taken as it is, as libtiff's reader does.
 * ExtraSamples: one alpha sample after the colour ones makes meta.has_alpha. pool's alpha is
 * unassociated (straight: the pipeline premultiplies to average and divides back), so
 * associated (premultiplied) alpha is divided out here, colour = round(colour * max / alpha)
 * (0 where alpha is 0; floats colour / alpha), and the output declares unassociated alpha:
 * the same image, its colours rounded where alpha is small. Other extra samples (several, or
 * of unspecified meaning, as multispectral images store their bands), or more than 4 samples a
 * pixel, make the page a channels-last tensor (layout hint hwc, meta.is_image false) of up to
 * TIFF_CHANNELS_MAX channels. Everything else (YCbCr without JPEG, old-style JPEG, 2-, 4-,
 * 12- or 24-bit samples, CIELab, LogLuv, complex samples...) is refused, naming what it is.
 *
 * Streaming: rows are handed out as they are asked for, decoding one strip
 * (TIFFReadEncodedStrip) or one row of tiles (every tile across the width) at a time, and for
 * planar-separate images that strip or tile row of every plane: memory is flat in the image's
 * height. A strip or tile row over the memory budget is refused (r->memory_held is what is
 * held). libtiff seeks: a regular file is read where libtiff asks (from where the TIFF starts
 * in it); a TIFF through a pipe is read whole into memory first, within the memory budget.
 *
 * Pages: every image of the main IFD chain is a page, handed out in turn by ops->next.
 * Reduced-resolution pages (NewSubfileType bit 0: previews, pyramid levels) and transparency
 * masks (bit 2) are left out, with a note; pool's pages are the full-resolution ones.
 * SubIFDs are not followed.
 *
 * Metadata: the ICC profile (meta.icc), the Orientation tag (meta.orientation, which turns
 * the image upright as EXIF's does) and GeoTIFF's georeferencing (meta.georef: its six tags,
 * which libtiff keeps as tags it does not know; in other types than GeoTIFF's they are left
 * out, all six, with a note).
 *
 * Writing: every element type above but 1-bit (SampleFormat UINT, INT or IEEEFP), 1 to
 * TIFF_CHANNELS_MAX channels, contiguous, in strips of about WRITE_STRIP_BYTES, compressed
 * as writer_options.compression says (deflate by default; deflate and LZW with the horizontal
 * predictor for integers, the floating-point one for floats). Photometric from the meta:
 * gray MinIsBlack, 3 channels RGB, CMYK Separated (InkSet CMYK), alpha ExtraSamples
 * unassociated, a palette image Palette with its ColorMap (8-bit colours * 257); any other
 * channel count MinIsBlack with the samples past the first of unspecified meaning. The ICC
 * profile is written, the Orientation unless the pixels were turned upright, and GeoTIFF's
 * georeferencing moved onto the output's pixels (georef.h) when meta.grid says where they
 * lie, else none of it (the caller warns; keys alone, which place nothing, go as they
 * are). Several
 * images make a multi-page TIFF. libtiff seeks and reads back while writing: an output it
 * cannot (a pipe, stdout, a file opened to append to) is written to a temporary file first
 * and copied out by finish, one page only.
 *
 * Errors: libtiff's messages come through the handle's own handlers (TIFFOpenOptions, libtiff
 * 4.5), never the process-wide ones, so files on worker threads keep theirs apart: an error
 * fails the call with libtiff's text, a warning becomes a reader note (unknown tags, which
 * every GeoTIFF has, are not worth one).
 */
#include "codec.h"
#include "formats.h"
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#define MESSAGE_MAX 200
/* Strips written hold about this many bytes before compression. */
#define WRITE_STRIP_BYTES (64 * 1024)
#define COPY_CHUNK (64 * 1024)
/* A pipe's TIFF is read into memory in chunks of at least this. */
#define PIPE_CHUNK (1 << 20)
/* Uncompressed pages past this go to a BigTIFF (64-bit offsets): a classic TIFF's offsets
 * are 32-bit, and compression may not save the margin. */
#define CLASSIC_TIFF_MAX ((uint64_t)UINT32_MAX - (64u << 20))
/* libtiff's unknown tags (tif_dirread.c): GeoTIFF's and every camera's private ones. */
#define UNKNOWN_TAG_WARNING "Unknown field with tag"

/* GeoTIFF's tags for a handle that writes them (as libgeotiff's xtiff.c defines them, with
 * 32-bit counts). */
static const TIFFFieldInfo geotiff_fields[] = {
    {GEOTIFF_PIXEL_SCALE, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
     "ModelPixelScaleTag"},
    {GEOTIFF_TIEPOINTS, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
     "ModelTiepointTag"},
    {GEOTIFF_TRANSFORMATION, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
     "ModelTransformationTag"},
    {GEOTIFF_KEY_DIRECTORY, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_SHORT, FIELD_CUSTOM, 1, 1,
     "GeoKeyDirectoryTag"},
    {GEOTIFF_DOUBLE_PARAMS, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
     "GeoDoubleParamsTag"},
    {GEOTIFF_ASCII_PARAMS, TIFF_VARIABLE, TIFF_VARIABLE, TIFF_ASCII, FIELD_CUSTOM, 1, 0,
     "GeoASCIIParamsTag"},
};
#define GEOTIFF_FIELDS (sizeof geotiff_fields / sizeof geotiff_fields[0])

/* ---- libtiff's messages, for one handle ---- */

struct tiff_messages {
    const char *name;        /* the handle's, which libtiff's messages may start with */
    char error[MESSAGE_MAX]; /* the first error since the last reset */
    bool failed;
    struct tensor_reader *reader; /* warnings become its notes; NULL when writing */
    bool decoding;                /* inside a strip or tile's decoding */
    bool lenient;                 /* reader_options.lenient */
};

static void messages_reset(struct tiff_messages *m)
{
    m->error[0] = '\0';
    m->failed = false;
}

/* libtiff's text without the file name some messages start with ("x.tif: Can not read"):
 * pool's messages name the file already. */
static const char *without_name(const struct tiff_messages *m, const char *text)
{
    size_t n = m->name ? strlen(m->name) : 0;
    if (n && !strncmp(text, m->name, n) && !strncmp(text + n, ": ", 2))
        return text + n + 2;
    return text;
}

static int on_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    struct tiff_messages *m = user;
    (void)tif;
    (void)module;
    if (!m->failed) {
        char text[MESSAGE_MAX];
        vsnprintf(text, sizeof text, fmt, ap);
        snprintf(m->error, sizeof m->error, "%s", without_name(m, text));
        m->failed = true;
    }
    return 1; /* handled: not passed on to the process-wide handlers (stderr) */
}

/* libjpeg's warnings inside JPEG-in-TIFF data (corrupt or truncated entropy data, which it
 * fills with gray) fail the strip as jpeg.c fails such a JPEG, unless --lenient. */
static int on_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    struct tiff_messages *m = user;
    (void)tif;
    char text[MESSAGE_MAX];
    vsnprintf(text, sizeof text, fmt, ap);
    if (!m->reader || !strncmp(text, UNKNOWN_TAG_WARNING, strlen(UNKNOWN_TAG_WARNING)))
        return 1;
    bool jpeg = module && !strcmp(module, "JPEGLib");
    if (jpeg && m->decoding && !m->lenient) {
        if (!m->failed)
            snprintf(m->error, sizeof m->error,
                     "libjpeg says \"%.120s\" (--lenient decodes it as far as it goes)", text);
        m->failed = true;
        return 1;
    }
    if (jpeg && m->decoding)
        reader_note(m->reader, "a corrupt or truncated JPEG, decoded as far as it goes (--lenient)",
                    "corrupt JPEG data in a TIFF: libjpeg says \"%s\": decoded as far as it "
                    "goes (--lenient)",
                    text);
    else
        reader_note(m->reader, "TIFF: libtiff warned about the file", "libtiff warns \"%s\"",
                    without_name(m, text));
    return 1;
}

/* A handle's options: our handlers, and libtiff's own allocations capped at the budget. */
static TIFFOpenOptions *open_options(struct tiff_messages *m, size_t max_alloc)
{
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_tiff_error, m);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_tiff_warning, m);
    if (max_alloc)
        TIFFOpenOptionsSetMaxSingleMemAlloc(
            opts, max_alloc > (size_t)INT64_MAX ? (tmsize_t)INT64_MAX : (tmsize_t)max_alloc);
    return opts;
}

/* Seeks relative to a stream of `size` bytes now at `pos`; (toff_t)-1 when before its start. */
static toff_t seek_to(uint64_t *pos, uint64_t size, toff_t off, int whence)
{
    int64_t from = whence == SEEK_CUR ? (int64_t)*pos : whence == SEEK_END ? (int64_t)size : 0;
    int64_t to = from + (int64_t)off;
    if (to < 0 || (whence == SEEK_SET && (int64_t)off < 0))
        return (toff_t)-1;
    *pos = (uint64_t)to;
    return *pos;
}

static int close_nothing(thandle_t h)
{
    (void)h;
    return 0;
}

static int map_nothing(thandle_t h, void **base, toff_t *size)
{
    (void)h;
    (void)base;
    (void)size;
    return 0;
}

static void unmap_nothing(thandle_t h, void *base, toff_t size)
{
    (void)h;
    (void)base;
    (void)size;
}

static tmsize_t write_nothing(thandle_t h, void *buf, tmsize_t n)
{
    (void)h;
    (void)buf;
    (void)n;
    return -1;
}

/* ---- reader: the bytes libtiff reads ---- */

struct tiff_input {
    FILE *fp;            /* a regular file, read where libtiff asks... */
    off_t base;          /* ...counting from where the TIFF starts in it */
    bool fp_at_pos;      /* fp is at base + pos */
    unsigned char *data; /* else the whole stream, in memory */
    uint64_t size, pos;
    int read_errno; /* a failed read's errno, 0 */
};

static tmsize_t input_read(thandle_t h, void *buf, tmsize_t n)
{
    struct tiff_input *in = h;
    if (n <= 0 || in->pos >= in->size)
        return 0;
    uint64_t left = in->size - in->pos;
    size_t want = (uint64_t)n < left ? (size_t)n : (size_t)left;
    if (in->data) {
        memcpy(buf, in->data + in->pos, want);
        in->pos += want;
        return (tmsize_t)want;
    }
    if (!in->fp_at_pos && fseeko(in->fp, in->base + (off_t)in->pos, SEEK_SET)) {
        in->read_errno = errno;
        return -1;
    }
    errno = 0;
    size_t got = fread(buf, 1, want, in->fp);
    in->fp_at_pos = true;
    in->pos += got;
    if (got < want && ferror(in->fp)) {
        in->read_errno = errno ? errno : EIO;
        clearerr(in->fp);
        in->fp_at_pos = false;
        return -1;
    }
    return (tmsize_t)got;
}

static toff_t input_seek(thandle_t h, toff_t off, int whence)
{
    struct tiff_input *in = h;
    uint64_t before = in->pos;
    toff_t to = seek_to(&in->pos, in->size, off, whence);
    if (in->pos != before)
        in->fp_at_pos = false;
    return to;
}

static toff_t input_size(thandle_t h) { return ((struct tiff_input *)h)->size; }

/* Where the TIFF starts in a regular file's FILE: the sniff peeked bytes from it, and nothing
 * was consumed yet. -1 when the FILE cannot tell (then the stream is read into memory). */
static off_t tiff_start(struct byte_source *src)
{
    off_t at = ftello(src->fp);
    size_t unread = src->peek_len - src->peek_pos;
    if (at < 0 || src->consumed || (off_t)unread > at)
        return -1;
    return at - (off_t)unread;
}

/* A pipe's TIFF, whole: libtiff seeks, and a pipe cannot. */
static int read_whole_stream(struct tiff_input *in, struct byte_source *src, size_t budget,
                             struct pool_error *err)
{
    size_t cap = 0, len = 0;
    for (;;) {
        if (len == cap) {
            if (cap == budget && source_at_end(src))
                break;
            if (cap == budget) {
                char limit[32];
                return pool_fail(err,
                                 "a TIFF through a pipe is read whole (libtiff seeks), and this "
                                 "one is larger than the memory budget of %s (--max-memory): "
                                 "give it as a file",
                                 bytes_describe(budget, limit));
            }
            size_t want = cap + (cap < PIPE_CHUNK ? PIPE_CHUNK : cap);
            if (want > budget || want < cap)
                want = budget;
            unsigned char *p = realloc(in->data, want);
            if (!p)
                return pool_fail_resource(err, "out of memory for a TIFF read whole from a pipe");
            in->data = p;
            cap = want;
        }
        errno = 0;
        size_t got = source_read(src, in->data + len, cap - len);
        len += got;
        if (got == 0) {
            if (source_failed(src))
                return pool_fail(err, "read failed: %s", errno ? strerror(errno) : "i/o error");
            break;
        }
    }
    in->size = len;
    return 0;
}

static int open_input(struct tiff_input *in, struct byte_source *src, size_t budget,
                      struct pool_error *err)
{
    off_t base = src->size >= 0 ? tiff_start(src) : -1;
    if (base >= 0) {
        in->fp = src->fp;
        in->base = base;
        in->size = (uint64_t)src->size;
        return 0;
    }
    return read_whole_stream(in, src, budget, err);
}

/* ---- reader: a page's layout ---- */

struct tiff_reader {
    TIFF *tif;
    struct tiff_messages msg;
    struct tiff_input in;
    unsigned page;     /* 1 for the first */
    unsigned left_out; /* reduced-resolution pages and masks skipped */
    /* the page, as stored */
    uint32_t width, height;
    uint16_t spp, bps, photometric;
    size_t sample_bytes; /* of the element type handed out */
    /* what is done to a row */
    size_t channels;     /* handed out: spp, or 3 for a palette's colours */
    bool bilevel;        /* 1-bit samples, unpacked to 0 and 255 */
    bool invert;         /* MinIsWhite */
    bool palette_expand; /* indices to their colours */
    bool unpremultiply;  /* associated alpha */
    enum pool_dtype dtype;
    unsigned char colours[256][3];
    /* blocks: a strip, or a row of tiles, of every plane */
    bool tiled;
    uint32_t block_h; /* rows per strip, or the tile height */
    uint32_t blocks;  /* strips or tile rows per plane */
    uint32_t tile_w, tiles_across;
    size_t tile_bytes;       /* one tile of one plane */
    size_t stored_row_bytes; /* a row of one plane in a strip, or of one tile */
    size_t plane_bytes;      /* one plane's strip or tile row */
    size_t nplanes;          /* 1, or spp when planar-separate */
    unsigned char *block;    /* nplanes * plane_bytes */
    size_t block_alloc;
    uint32_t block_index; /* the block decoded into `block`; UINT32_MAX for none */
    uint32_t block_rows;  /* its rows */
    size_t row_elems;     /* elements of a row handed out */
    uint32_t next_row;    /* rows handed out */
};

static const char *photometric_name(uint16_t p)
{
    switch (p) {
    case PHOTOMETRIC_MINISWHITE: return "MinIsWhite";
    case PHOTOMETRIC_MINISBLACK: return "MinIsBlack";
    case PHOTOMETRIC_RGB: return "RGB";
    case PHOTOMETRIC_PALETTE: return "Palette";
    case PHOTOMETRIC_MASK: return "transparency mask";
    case PHOTOMETRIC_SEPARATED: return "Separated";
    case PHOTOMETRIC_YCBCR: return "YCbCr";
    case PHOTOMETRIC_CIELAB: return "CIELab";
    case PHOTOMETRIC_ICCLAB: return "ICCLab";
    case PHOTOMETRIC_ITULAB: return "ITULab";
    case PHOTOMETRIC_CFA: return "CFA (raw sensor data)";
    case PHOTOMETRIC_LOGL: return "LogL";
    case PHOTOMETRIC_LOGLUV: return "LogLuv";
    default: return NULL;
    }
}

/* "page 2, " for pages after the first: messages say where. */
static const char *page_prefix(const struct tiff_reader *st, char *buf, size_t len)
{
    if (st->page <= 1)
        return "";
    snprintf(buf, len, "page %u, ", st->page);
    return buf;
}

/* Why a libtiff call failed, `where` being "header", "strip 3 of 10"... */
static int read_failure(const struct tiff_reader *st, const char *where, struct pool_error *err)
{
    char page[32];
    const char *at = page_prefix(st, page, sizeof page);
    if (st->in.read_errno)
        return pool_fail(err, "read failed: %s", strerror(st->in.read_errno));
    const char *why = st->msg.error[0] ? st->msg.error : "libtiff failed and gave no reason";
    if (strstr(why, "byte limit"))
        return pool_fail(err,
                         "TIFF (%s%s): libtiff says \"%s\": the limit is the memory budget "
                         "(--max-memory)",
                         at, where, why);
    if (strstr(why, "Out of memory") || strstr(why, "out of memory"))
        return pool_fail_resource(err, "out of memory for the TIFF decoder (%s%s)", at, where);
    return pool_fail(err, "bad TIFF (%s%s): %s", at, where, why);
}

static int unsupported(const struct tiff_reader *st, struct pool_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "this TIFF has WHAT, which pool does not read", naming the page after the first. */
static int unsupported(const struct tiff_reader *st, struct pool_error *err, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (st->page > 1)
        return pool_fail(err, "page %u of this TIFF has %s, which pool does not read", st->page,
                         what);
    return pool_fail(err, "this TIFF has %s, which pool does not read", what);
}

/* The element type of bps-bit samples of a SampleFormat; DT_COUNT when there is none. */
static enum pool_dtype sample_dtype(uint16_t format, uint16_t bps)
{
    static const enum pool_dtype uints[] = {DT_U8, DT_U16, DT_U32, DT_U64};
    static const enum pool_dtype ints[] = {DT_I8, DT_I16, DT_I32, DT_I64};
    int k = bps == 8 ? 0 : bps == 16 ? 1 : bps == 32 ? 2 : bps == 64 ? 3 : -1;
    if (format == SAMPLEFORMAT_IEEEFP)
        return bps == 16 ? DT_F16 : bps == 32 ? DT_F32 : bps == 64 ? DT_F64 : DT_COUNT;
    if (k < 0)
        return DT_COUNT;
    if (format == SAMPLEFORMAT_INT)
        return ints[k];
    return format == SAMPLEFORMAT_UINT || format == SAMPLEFORMAT_VOID ? uints[k] : DT_COUNT;
}

static const char *sample_format_name(uint16_t format)
{
    switch (format) {
    case SAMPLEFORMAT_INT: return "signed integer";
    case SAMPLEFORMAT_IEEEFP: return "floating-point";
    case SAMPLEFORMAT_COMPLEXINT: return "complex integer";
    case SAMPLEFORMAT_COMPLEXIEEEFP: return "complex floating-point";
    default: return "unsigned integer";
    }
}

/* The compression: one this libtiff decodes; JPEG's YCbCr to RGB. */
static int check_compression(struct tiff_reader *st, struct pool_error *err)
{
    uint16_t c = COMPRESSION_NONE;
    TIFFGetFieldDefaulted(st->tif, TIFFTAG_COMPRESSION, &c);
    if (c == COMPRESSION_OJPEG)
        return unsupported(st, err,
                           "old-style JPEG compression (compression 6, TIFF 6.0's, "
                           "withdrawn)");
    if (!TIFFIsCODECConfigured(c)) {
        const TIFFCodec *codec = TIFFFindCODEC(c);
        return unsupported(st, err, "compression %u%s%s%s, which this libtiff cannot decode", c,
                           codec ? " (" : "", codec ? codec->name : "", codec ? ")" : "");
    }
    if (st->photometric == PHOTOMETRIC_YCBCR && c != COMPRESSION_JPEG)
        return unsupported(st, err,
                           "YCbCr samples without JPEG compression (only JPEG's YCbCr is "
                           "converted to RGB)");
    if (c == COMPRESSION_JPEG && st->photometric == PHOTOMETRIC_YCBCR &&
        !TIFFSetField(st->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
        return read_failure(st, "header", err);
    return 0;
}

/* The palette's colours, 16-bit ColorMap values to 8 bits; into meta or st->colours. */
static int read_colormap(struct tensor_reader *r, struct pool_error *err)
{
    struct tiff_reader *st = r->state;
    uint16_t *red, *green, *blue;
    if (!TIFFGetField(st->tif, TIFFTAG_COLORMAP, &red, &green, &blue))
        return pool_fail(err, "bad TIFF: a Palette image without a ColorMap");
    bool eight_bit = true; /* every value below 256: a ColorMap written 8-bit */
    for (unsigned i = 0; i < 256; i++)
        eight_bit &= red[i] < 256 && green[i] < 256 && blue[i] < 256;
    unsigned char(*out)[3] = st->palette_expand ? st->colours : r->meta.palette;
    for (unsigned i = 0; i < 256; i++) {
        const uint16_t v[3] = {red[i], green[i], blue[i]};
        for (int k = 0; k < 3; k++)
            out[i][k] = (unsigned char)(eight_bit ? v[k] : v[k] >> 8);
    }
    if (!st->palette_expand) {
        r->meta.color = COLOR_PALETTE;
        r->meta.palette_len = 256;
    }
    return 0;
}

/* The number of colour samples a pixel has for the photometric; 0 for one not read. */
static unsigned colour_samples(const struct tiff_reader *st, uint16_t extras)
{
    switch (st->photometric) {
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_PALETTE: return 1;
    case PHOTOMETRIC_RGB:
    case PHOTOMETRIC_YCBCR: return 3;
    case PHOTOMETRIC_SEPARATED: return st->spp > extras ? st->spp - extras : 1;
    default: return 0;
    }
}

/* Samples, photometric and extra samples: the element type, channels and colour. */
static int read_samples(struct tensor_reader *r, struct pool_error *err)
{
    struct tiff_reader *st = r->state;
    TIFF *tif = st->tif;
    uint16_t format = SAMPLEFORMAT_UINT, extras = 0, *extra_types = NULL;
    uint16_t inkset = INKSET_CMYK;
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &extras, &extra_types);
    TIFFGetFieldDefaulted(tif, TIFFTAG_INKSET, &inkset);
    if (!photometric_name(st->photometric))
        return unsupported(st, err, "photometric interpretation %u", st->photometric);
    unsigned colours = colour_samples(st, extras);
    if (!colours)
        return unsupported(st, err, "%s samples", photometric_name(st->photometric));
    if (st->spp == 0 || st->spp > TIFF_CHANNELS_MAX)
        return unsupported(st, err, "%u samples a pixel (pool reads 1 to %d)", st->spp,
                           TIFF_CHANNELS_MAX);
    if (st->spp < colours)
        return pool_fail(err, "bad TIFF: %s needs %u samples a pixel, and this one has %u",
                         photometric_name(st->photometric), colours, st->spp);
    bool gray = st->photometric == PHOTOMETRIC_MINISBLACK ||
                st->photometric == PHOTOMETRIC_MINISWHITE;
    st->bilevel = st->bps == 1 && gray && st->spp == 1 &&
                  (format == SAMPLEFORMAT_UINT || format == SAMPLEFORMAT_VOID);
    st->dtype = st->bilevel ? DT_U8 : sample_dtype(format, st->bps);
    if (st->dtype == DT_COUNT)
        return unsupported(st, err,
                           "%u-bit %s samples (pool reads 1-bit bilevel, 8-, 16-, 32- "
                           "and 64-bit integers, 16-, 32- and 64-bit floats)",
                           st->bps, sample_format_name(format));
    st->invert = st->photometric == PHOTOMETRIC_MINISWHITE;
    if (st->invert && (dtype_is_signed(st->dtype) || dtype_is_float(st->dtype)))
        return unsupported(st, err, "MinIsWhite %s samples (white is said only for unsigned ones)",
                           sample_format_name(format));
    unsigned extra = st->spp - colours; /* extras past ExtraSamples' count are unspecified */
    bool alpha = extra == 1 && extras >= 1 &&
                 (extra_types[0] == EXTRASAMPLE_ASSOCALPHA ||
                  extra_types[0] == EXTRASAMPLE_UNASSALPHA);
    bool cmyk = st->photometric == PHOTOMETRIC_SEPARATED;
    if (cmyk && (inkset != INKSET_CMYK || colours != 4))
        cmyk = false; /* other inks: a tensor of their channels */
    if (st->photometric == PHOTOMETRIC_PALETTE) {
        if (extra)
            return unsupported(st, err, "a Palette image with %u extra samples", extra);
        if (st->dtype != DT_U8)
            return unsupported(st, err, "%u-bit palette indices (pool reads 8-bit ones)", st->bps);
        st->palette_expand = !r->opt->palette_index;
    }
    st->sample_bytes = dtype_size(st->dtype);
    st->channels = st->palette_expand ? 3 : st->spp;
    bool image = (extra == 0 || alpha) && st->spp <= 4 &&
                 (st->photometric != PHOTOMETRIC_SEPARATED || cmyk);
    image_set_shape(r, st->height, st->width, st->channels, st->dtype);
    struct image_meta *m = &r->meta;
    m->is_image = image;
    m->has_alpha = image && alpha;
    m->color = !image               ? COLOR_NONE
               : cmyk               ? COLOR_CMYK
               : colours == 3       ? COLOR_RGB
               : st->palette_expand ? COLOR_RGB
                                    : COLOR_GRAY;
    m->palette_expanded = st->palette_expand;
    st->unpremultiply = m->has_alpha && extra_types[0] == EXTRASAMPLE_ASSOCALPHA;
    if (st->unpremultiply && dtype_is_signed(st->dtype))
        return unsupported(st, err, "associated alpha with signed samples");
    if (st->photometric == PHOTOMETRIC_PALETTE)
        return read_colormap(r, err);
    return 0;
}

/* Strips or tiles: the block a read decodes, weighed against the budget. */
static int plan_blocks(struct tensor_reader *r, struct pool_error *err)
{
    struct tiff_reader *st = r->state;
    TIFF *tif = st->tif;
    uint16_t planar = PLANARCONFIG_CONTIG;
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    st->nplanes = planar == PLANARCONFIG_SEPARATE ? st->spp : 1;
    st->tiled = TIFFIsTiled(tif);
    uint64_t plane_bytes;
    char what[96];
    messages_reset(&st->msg);
    if (st->tiled) {
        uint32_t tw = 0, th = 0;
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
        uint64_t tile = TIFFTileSize64(tif), row = TIFFTileRowSize64(tif);
        if (tw == 0 || th == 0 || tile == 0 || row == 0)
            return read_failure(st, "header: its tiles", err);
        st->tile_w = tw;
        st->block_h = th;
        st->tiles_across = (uint32_t)((st->width + (uint64_t)tw - 1) / tw);
        if (tile > SIZE_MAX || tile > UINT64_MAX / st->tiles_across)
            return pool_fail(err, "bad TIFF: tiles of %llu bytes", (unsigned long long)tile);
        st->tile_bytes = (size_t)tile;
        st->stored_row_bytes = (size_t)row;
        plane_bytes = tile * st->tiles_across;
        snprintf(what, sizeof what, "a row of %ux%u TIFF tiles%s, decoded, needs", tw, th,
                 st->nplanes > 1 ? " in every plane" : "");
    } else {
        uint32_t rows = st->height;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows);
        st->block_h = rows == 0 || rows > st->height ? st->height : rows;
        uint64_t scan = TIFFScanlineSize64(tif);
        if (scan == 0)
            return read_failure(st, "header: its rows", err);
        st->stored_row_bytes = (size_t)scan;
        if (scan > UINT64_MAX / st->block_h)
            return pool_fail(err, "bad TIFF: strips of %u rows of %llu bytes", st->block_h,
                             (unsigned long long)scan);
        plane_bytes = scan * st->block_h;
        snprintf(what, sizeof what, "a TIFF strip of %u rows%s, decoded, needs", st->block_h,
                 st->nplanes > 1 ? " in every plane" : "");
    }
    st->blocks = (uint32_t)((st->height + (uint64_t)st->block_h - 1) / st->block_h);
    size_t budget = reader_max_memory(r->opt);
    uint64_t whole = plane_bytes > UINT64_MAX / st->nplanes ? UINT64_MAX
                                                            : plane_bytes * st->nplanes;
    size_t held = st->in.data ? (size_t)st->in.size : 0;
    if (pool_check_memory(whole > SIZE_MAX ? SIZE_MAX : (size_t)whole, held, budget, what, err))
        return -1;
    st->plane_bytes = (size_t)plane_bytes;
    if ((size_t)whole > st->block_alloc) {
        free(st->block);
        st->block_alloc = 0;
        if (!(st->block = malloc((size_t)whole)))
            return pool_fail_resource(err, "out of memory for a TIFF %s of %zu bytes",
                                      st->tiled ? "row of tiles" : "strip", (size_t)whole);
        st->block_alloc = (size_t)whole;
    }
    st->block_index = UINT32_MAX;
    st->next_row = 0;
    r->memory_held = st->block_alloc + held;
    return 0;
}

/* A GeoTIFF tag as libtiff keeps a tag it does not know: its count and values, NULL when
 * absent. *wrong: present in another type than `type`. */
static void *geotiff_values(TIFF *tif, uint32_t tag, TIFFDataType type, uint32_t *count,
                            bool *wrong)
{
    const TIFFField *f = TIFFFindField(tif, tag, TIFF_ANY);
    void *data = NULL;
    *count = 0;
    if (!f || !TIFFGetField(tif, tag, count, &data) || !data || !*count)
        return NULL;
    if (TIFFFieldDataType(f) != type || !TIFFFieldPassCount(f) ||
        TIFFFieldSetGetCountSize(f) != 4) {
        *wrong = true;
        return NULL;
    }
    return data;
}

/* A malloc'd copy of `bytes` bytes and a NUL after them; NULL when out of memory. */
static void *copy_of(const void *src, size_t bytes)
{
    char *p = malloc(bytes + 1);
    if (p) {
        memcpy(p, src, bytes);
        p[bytes] = '\0';
    }
    return p;
}

/* GeoTIFF's six tags into meta.georef; in other types or counts than GeoTIFF's, none. */
static int read_georef(struct tensor_reader *r, struct pool_error *err)
{
    struct tiff_reader *st = r->state;
    struct georef *g = &r->meta.georef;
    TIFF *tif = st->tif;
    bool wrong = false, failed = false;
    uint32_t n;
    const double *v = geotiff_values(tif, GEOTIFF_PIXEL_SCALE, TIFF_DOUBLE, &n, &wrong);
    if ((g->has_pixel_scale = v && n >= 3))
        memcpy(g->pixel_scale, v, sizeof g->pixel_scale);
    wrong |= v && n < 3;
    v = geotiff_values(tif, GEOTIFF_TRANSFORMATION, TIFF_DOUBLE, &n, &wrong);
    if ((g->has_transformation = v && n == 16))
        memcpy(g->transformation, v, sizeof g->transformation);
    wrong |= v && n != 16;
    v = geotiff_values(tif, GEOTIFF_TIEPOINTS, TIFF_DOUBLE, &n, &wrong);
    wrong |= v && n % 6;
    if (v && n % 6 == 0) {
        failed |= !(g->tiepoints = copy_of(v, n * sizeof *v));
        g->tiepoint_values = g->tiepoints ? n : 0;
    }
    const uint16_t *keys = geotiff_values(tif, GEOTIFF_KEY_DIRECTORY, TIFF_SHORT, &n, &wrong);
    if (keys) {
        failed |= !(g->keys = copy_of(keys, n * sizeof *keys));
        g->key_count = g->keys ? n : 0;
    }
    v = geotiff_values(tif, GEOTIFF_DOUBLE_PARAMS, TIFF_DOUBLE, &n, &wrong);
    if (v) {
        failed |= !(g->double_params = copy_of(v, n * sizeof *v));
        g->double_count = g->double_params ? n : 0;
    }
    const char *ascii = geotiff_values(tif, GEOTIFF_ASCII_PARAMS, TIFF_ASCII, &n, &wrong);
    if (ascii)
        failed |= !(g->ascii_params = copy_of(ascii, n));
    if (failed)
        return pool_fail_resource(err, "out of memory for the GeoTIFF tags");
    if (wrong) {
        georef_clear(g);
        reader_note(r, "GeoTIFF tags not as GeoTIFF stores them, left out",
                    "GeoTIFF tags in other types or counts than GeoTIFF's: the "
                    "georeferencing is left out");
    }
    return 0;
}

static int read_meta(struct tensor_reader *r, struct pool_error *err)
{
    struct tiff_reader *st = r->state;
    TIFF *tif = st->tif;
    uint16_t orientation = ORIENTATION_TOPLEFT;
    r->meta.orientation = TIFFGetField(tif, TIFFTAG_ORIENTATION, &orientation) &&
                                  orientation >= 1 && orientation <= 8
                              ? orientation
                              : 1;
    uint32_t len = 0;
    void *icc = NULL;
    if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, &len, &icc) && icc && len > 0) {
        if (!(r->meta.icc = malloc(len)))
            return pool_fail_resource(err, "out of memory for the ICC profile");
        memcpy(r->meta.icc, icc, len);
        r->meta.icc_len = len;
    }
    return read_georef(r, err);
}

/* The current directory, read into shape and meta, ready for its first row. */
static int read_page(struct tensor_reader *r, struct pool_error *err)
{
    struct tiff_reader *st = r->state;
    TIFF *tif = st->tif;
    image_meta_free(&r->meta);
    memset(&r->meta, 0, sizeof r->meta);
    memset(&r->shape, 0, sizeof r->shape);
    r->layout_hint[0] = '\0';
    st->palette_expand = st->unpremultiply = st->invert = st->bilevel = false;
    uint32_t width = 0, height = 0;
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width) ||
        !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height))
        return pool_fail(err, "bad TIFF: no ImageWidth or ImageLength");
    if (image_check_pixels(width, height, r->opt->max_pixels, err))
        return -1;
    st->width = width;
    st->height = height;
    st->spp = 1;
    st->bps = 1;
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &st->spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &st->bps);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &st->photometric))
        return pool_fail(err, "bad TIFF: no PhotometricInterpretation");
    if (read_samples(r, err) || check_compression(st, err))
        return -1;
    /* a row handed out must fit in memory's sizes (max_pixels bounds the rest) */
    if (st->width > SIZE_MAX / st->channels / st->sample_bytes)
        return pool_fail(err, "the image declares %ux%u pixels, too many for this machine",
                         st->width, st->height);
    st->row_elems = (size_t)st->width * st->channels;
    return plan_blocks(r, err) || read_meta(r, err) ? -1 : 0;
}

/* NewSubfileType: a reduced-resolution image (bit 0) or a transparency mask (bit 2). */
static bool left_out_page(TIFF *tif)
{
    uint32_t type = 0;
    return TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &type) &&
           (type & (FILETYPE_REDUCEDIMAGE | FILETYPE_MASK));
}

/* From the current directory on, the next page pool reads: 1, 0 at the end, -1 on error. */
static int find_page(struct tiff_reader *st, struct pool_error *err)
{
    while (left_out_page(st->tif)) {
        st->left_out++;
        messages_reset(&st->msg);
        if (!TIFFReadDirectory(st->tif))
            return st->msg.failed ? read_failure(st, "the next directory", err) : 0;
        st->page++;
    }
    return 1;
}

static void note_left_out(struct tensor_reader *r)
{
    const struct tiff_reader *st = r->state;
    if (st->left_out)
        reader_note(r, "TIFF: reduced-resolution pages and masks left out",
                    "%u reduced-resolution page%s or mask%s (NewSubfileType) left out: pool reads "
                    "the full-resolution pages",
                    st->left_out, st->left_out == 1 ? "" : "s", st->left_out == 1 ? "" : "s");
}

/* On failure r->state may hold libtiff's handle; reader_close (ops->destroy) frees it. */
int tiff_read_header(struct tensor_reader *r, struct pool_error *err)
{
    struct tiff_reader *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    r->state = st;
    st->msg.reader = r;
    st->msg.name = r->src->name;
    st->msg.lenient = r->opt->lenient;
    st->page = 1;
    size_t budget = reader_max_memory(r->opt);
    if (open_input(&st->in, r->src, budget, err))
        return -1;
    TIFFOpenOptions *opts = open_options(&st->msg, budget);
    if (!opts)
        return pool_fail_resource(err, "out of memory");
    /* "m": no memory mapping (the procs have none anyway) */
    st->tif = TIFFClientOpenExt(r->src->name, "rm", &st->in, input_read, write_nothing, input_seek,
                                close_nothing, input_size, map_nothing, unmap_nothing, opts);
    TIFFOpenOptionsFree(opts);
    /* (libtiff fails without a word when the header's first IFD offset is 0) */
    if (!st->tif && !st->msg.failed && !st->in.read_errno)
        return pool_fail(err, "bad TIFF (header): no image directory (its offset is 0)");
    if (!st->tif)
        return read_failure(st, "header", err);
    int found = find_page(st, err);
    if (found < 0)
        return -1;
    if (found == 0) { /* nothing but reduced pages: the first, then */
        messages_reset(&st->msg);
        if (!TIFFSetDirectory(st->tif, 0))
            return read_failure(st, "header", err);
        st->page = 1;
        st->left_out = 0;
    }
    note_left_out(r);
    st->left_out = 0;
    return read_page(r, err);
}

/* ---- reader: rows ---- */

/* Decodes block b (strip or tile row b of every plane) into st->block. */
static int decode_block(struct tiff_reader *st, uint32_t b, struct pool_error *err)
{
    uint32_t first = b * st->block_h;
    st->block_rows = st->height - first < st->block_h ? st->height - first : st->block_h;
    st->block_index = UINT32_MAX;
    messages_reset(&st->msg);
    st->msg.decoding = true;
    for (size_t p = 0; p < st->nplanes; p++) {
        unsigned char *dest = st->block + p * st->plane_bytes;
        if (!st->tiled) {
            uint32_t strip = b + (uint32_t)p * st->blocks;
            tmsize_t want = (tmsize_t)(st->block_rows * st->stored_row_bytes);
            tmsize_t got = TIFFReadEncodedStrip(st->tif, strip, dest, want);
            if (got != want || st->msg.failed) {
                char where[64];
                snprintf(where, sizeof where, "strip %u of %u", b + 1, st->blocks);
                if (got >= 0 && got < want && !st->msg.failed)
                    snprintf(st->msg.error, sizeof st->msg.error,
                             "strip %u decodes to %lld bytes, not %lld", strip, (long long)got,
                             (long long)want);
                st->msg.decoding = false;
                return read_failure(st, where, err);
            }
            continue;
        }
        for (uint32_t x = 0; x < st->tiles_across; x++) {
            uint32_t tile = TIFFComputeTile(st->tif, x * st->tile_w, first, 0, (uint16_t)p);
            tmsize_t got = TIFFReadEncodedTile(st->tif, tile, dest + x * st->tile_bytes,
                                               (tmsize_t)st->tile_bytes);
            if (got != (tmsize_t)st->tile_bytes || st->msg.failed) {
                char where[80];
                snprintf(where, sizeof where, "tile %u of row %u of %u", x + 1, b + 1, st->blocks);
                if (got >= 0 && !st->msg.failed)
                    snprintf(st->msg.error, sizeof st->msg.error,
                             "tile %u decodes to %lld bytes, not %zu", tile, (long long)got,
                             st->tile_bytes);
                st->msg.decoding = false;
                return read_failure(st, where, err);
            }
        }
    }
    st->msg.decoding = false;
    st->block_index = b;
    return 0;
}

/* n samples of `size` bytes from src (each `from` samples apart) to dst (each `to` apart). */
static void copy_samples(unsigned char *dst, size_t to, const unsigned char *src, size_t from,
                         size_t n, size_t size)
{
    if (to == 1 && from == 1) {
        memcpy(dst, src, n * size);
        return;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(dst + i * to * size, src + i * from * size, size);
}

/* Bits to bytes, 1 to 255 (MinIsBlack's white), from the high bit of each byte on. */
static void unpack_bits(unsigned char *dst, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (src[i / 8] >> (7 - i % 8)) & 1 ? 255 : 0;
}

/* Columns [x0, x0 + n) of plane p's row, stored at src, into the row handed out. */
static void place_piece(const struct tiff_reader *st, unsigned char *out, const unsigned char *src,
                        size_t x0, size_t n, size_t p)
{
    size_t size = st->sample_bytes;
    if (st->bilevel) {
        unpack_bits(out + x0, src, n);
        return;
    }
    if (st->nplanes == 1) {
        memcpy(out + x0 * st->spp * size, src, n * st->spp * size);
        return;
    }
    copy_samples(out + (x0 * st->spp + p) * size, st->spp, src, 1, n, size);
}

/* Row y of the decoded block, every plane, into out (indices, for a palette). */
static void gather_row(const struct tiff_reader *st, uint32_t y, unsigned char *out)
{
    size_t ly = y - st->block_index * st->block_h;
    for (size_t p = 0; p < st->nplanes; p++) {
        const unsigned char *plane = st->block + p * st->plane_bytes;
        if (!st->tiled) {
            place_piece(st, out, plane + ly * st->stored_row_bytes, 0, st->width, p);
            continue;
        }
        for (uint32_t x = 0; x < st->tiles_across; x++) {
            size_t x0 = (size_t)x * st->tile_w;
            size_t n = st->width - x0 < st->tile_w ? st->width - x0 : st->tile_w;
            place_piece(st, out, plane + x * st->tile_bytes + ly * st->stored_row_bytes, x0, n, p);
        }
    }
}

static void invert_row(const struct tiff_reader *st, unsigned char *out, size_t n)
{
    switch (st->dtype) {
    case DT_U8:
        for (size_t i = 0; i < n; i++)
            out[i] = (unsigned char)(255 - out[i]);
        break;
    case DT_U16:
        for (uint16_t *v = (uint16_t *)out, *end = v + n; v < end; v++)
            *v = (uint16_t)(UINT16_MAX - *v);
        break;
    case DT_U32:
        for (uint32_t *v = (uint32_t *)out, *end = v + n; v < end; v++)
            *v = ~*v;
        break;
    default:
        for (uint64_t *v = (uint64_t *)out, *end = v + n; v < end; v++)
            *v = ~*v;
        break;
    }
}

/* Indices at the start of the row become their colours, from the last one back. */
static void expand_palette(const struct tiff_reader *st, unsigned char *out)
{
    for (size_t x = st->width; x-- > 0;)
        memcpy(out + 3 * x, st->colours[out[x]], 3);
}

/* c * max / a rounded, at most max (a > 0). */
static uint64_t straight(uint64_t c, uint64_t a, uint64_t max)
{
    unsigned __int128 v = ((unsigned __int128)c * max + a / 2) / a;
    return v > max ? max : (uint64_t)v;
}

#define UNPREMULTIPLY_INT(T, MAX)                                                                  \
    do {                                                                                           \
        T *px = (T *)out;                                                                          \
        for (size_t x = 0; x < st->width; x++, px += spp) {                                        \
            T a = px[spp - 1];                                                                     \
            for (size_t c = 0; c + 1 < spp; c++)                                                   \
                px[c] = a ? (T)straight(px[c], a, (MAX)) : 0;                                      \
        }                                                                                          \
    } while (0)

#define UNPREMULTIPLY_FLOAT(T)                                                                     \
    do {                                                                                           \
        T *px = (T *)out;                                                                          \
        for (size_t x = 0; x < st->width; x++, px += spp) {                                        \
            T a = px[spp - 1];                                                                     \
            for (size_t c = 0; c + 1 < spp; c++)                                                   \
                px[c] = a != 0 ? px[c] / a : 0;                                                    \
        }                                                                                          \
    } while (0)

/* Associated alpha to unassociated, the alpha being each pixel's last sample. */
static void unpremultiply_row(const struct tiff_reader *st, unsigned char *out)
{
    size_t spp = st->spp;
    switch (st->dtype) {
    case DT_U8: UNPREMULTIPLY_INT(uint8_t, UINT8_MAX); break;
    case DT_U16: UNPREMULTIPLY_INT(uint16_t, UINT16_MAX); break;
    case DT_U32: UNPREMULTIPLY_INT(uint32_t, UINT32_MAX); break;
    case DT_U64: UNPREMULTIPLY_INT(uint64_t, UINT64_MAX); break;
    case DT_F32: UNPREMULTIPLY_FLOAT(float); break;
    case DT_F64: UNPREMULTIPLY_FLOAT(double); break;
    case DT_F16: {
        uint16_t *px = (uint16_t *)out;
        for (size_t x = 0; x < st->width; x++, px += spp) {
            float a = half_to_float(px[spp - 1]);
            for (size_t c = 0; c + 1 < spp; c++)
                px[c] = float_to_half(a != 0 ? half_to_float(px[c]) / a : 0);
        }
        break;
    }
    default: break; /* signed: refused in read_samples */
    }
}

static int tiff_reader_read(struct tensor_reader *r, void *buf, size_t count,
                            struct pool_error *err)
{
    struct tiff_reader *st = r->state;
    if (count % st->row_elems)
        return pool_fail(err, "TIFF rows are read whole (%zu elements), not %zu elements",
                         st->row_elems, count);
    size_t rows = count / st->row_elems;
    if (rows > st->height - st->next_row)
        return pool_fail(err, "asked for %zu rows, only %u are left", rows,
                         st->height - st->next_row);
    unsigned char *out = buf;
    size_t row_bytes = st->row_elems * st->sample_bytes;
    for (size_t i = 0; i < rows; i++, out += row_bytes, st->next_row++) {
        uint32_t b = st->next_row / st->block_h;
        if (b != st->block_index && decode_block(st, b, err))
            return -1;
        gather_row(st, st->next_row, out);
        if (st->invert)
            invert_row(st, out, st->row_elems);
        if (st->palette_expand)
            expand_palette(st, out);
        if (st->unpremultiply)
            unpremultiply_row(st, out);
    }
    return 0;
}

/* After a page: the next one (1, its header read into shape and meta), or 0 at the end. */
static int tiff_reader_next(struct tensor_reader *r, struct pool_error *err)
{
    struct tiff_reader *st = r->state;
    if (st->next_row < st->height)
        return pool_fail(err, "the image was not read to its end");
    messages_reset(&st->msg);
    if (!TIFFReadDirectory(st->tif)) {
        if (st->msg.failed)
            return read_failure(st, "the next page's directory", err);
        return 0;
    }
    st->page++;
    int found = find_page(st, err);
    note_left_out(r);
    st->left_out = 0;
    if (found <= 0)
        return found;
    return read_page(r, err) ? -1 : 1;
}

static void tiff_reader_destroy(struct tensor_reader *r)
{
    struct tiff_reader *st = r->state;
    if (!st)
        return;
    if (st->tif)
        TIFFClose(st->tif);
    free(st->block);
    free(st->in.data);
    free(st);
    r->state = NULL;
}

const struct reader_ops tiff_reader_ops = {
    .format = FORMAT_TIFF,
    .read = tiff_reader_read,
    .next = tiff_reader_next,
    .destroy = tiff_reader_destroy,
};

/* ---- writer: where libtiff's bytes go ---- */

/* libtiff writes, seeks and reads back (to link a page to the one before) at offsets from
 * the start of the TIFF. They go to w->out's descriptor, from where the TIFF starts in it,
 * when it can do all that (a regular file opened for reading and writing, not to append
 * to: pool's temporary outputs); else to a temporary file, copied out by finish. */
struct tiff_output {
    int fd;
    off_t base;
    FILE *spool; /* the temporary file, or NULL */
    uint64_t pos, size;
    int io_errno; /* a failed write's or read's errno, 0 */
};

static tmsize_t output_read(thandle_t h, void *buf, tmsize_t n)
{
    struct tiff_output *o = h;
    ssize_t got;
    do
        got = pread(o->fd, buf, (size_t)n, o->base + (off_t)o->pos);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        o->io_errno = errno;
        return -1;
    }
    o->pos += (uint64_t)got;
    return (tmsize_t)got;
}

static tmsize_t output_write(thandle_t h, void *buf, tmsize_t n)
{
    struct tiff_output *o = h;
    const unsigned char *p = buf;
    for (tmsize_t done = 0; done < n;) {
        ssize_t put = pwrite(o->fd, p + done, (size_t)(n - done), o->base + (off_t)o->pos);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0) {
            o->io_errno = put < 0 ? errno : ENOSPC;
            return -1;
        }
        done += put;
        o->pos += (uint64_t)put;
        if (o->pos > o->size)
            o->size = o->pos;
    }
    return n;
}

static toff_t output_seek(thandle_t h, toff_t off, int whence)
{
    struct tiff_output *o = h;
    return seek_to(&o->pos, o->size, off, whence);
}

static toff_t output_size(thandle_t h) { return ((struct tiff_output *)h)->size; }

/* Whether libtiff can write straight into out (see struct tiff_output). */
static bool writable_in_place(FILE *out, int *fd, off_t *base)
{
    struct stat st;
    *fd = fileno(out);
    if (*fd < 0 || fstat(*fd, &st) || !S_ISREG(st.st_mode))
        return false;
    int flags = fcntl(*fd, F_GETFL);
    if (flags < 0 || (flags & O_APPEND) || (flags & O_ACCMODE) != O_RDWR)
        return false;
    if (fflush(out))
        return false;
    *base = ftello(out);
    return *base >= 0;
}

static int open_output(struct tiff_output *o, FILE *out, struct pool_error *err)
{
    if (writable_in_place(out, &o->fd, &o->base))
        return 0;
    if (!(o->spool = tmpfile()))
        return pool_fail(err,
                         "cannot make a temporary file for the TIFF (libtiff seeks, which "
                         "this output cannot): %s",
                         strerror(errno));
    o->fd = fileno(o->spool);
    o->base = 0;
    return 0;
}

/* The spooled TIFF, whole, to out. */
static int copy_spool(struct tiff_output *o, FILE *out, struct pool_error *err)
{
    unsigned char buf[COPY_CHUNK];
    for (uint64_t at = 0; at < o->size;) {
        size_t n = o->size - at < sizeof buf ? (size_t)(o->size - at) : sizeof buf;
        ssize_t got = pread(o->fd, buf, n, (off_t)at);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return pool_fail(err, "cannot read the TIFF back from its temporary file: %s",
                             got < 0 ? strerror(errno) : "it is shorter than written");
        if (fwrite(buf, 1, (size_t)got, out) != (size_t)got)
            return pool_fail(err, "write failed: %s", strerror(errno));
        at += (uint64_t)got;
    }
    return 0;
}

/* ---- writer ---- */

struct tiff_writer {
    TIFF *tif;
    struct tiff_messages msg;
    struct tiff_output io;
    struct image_dims dims;
    size_t row_elems, row_bytes, rows_written;
    /* The strip being filled, encoded whole when full: libtiff's deflate then runs through
     * libdeflate, not zlib a row at a time (an 8 MB gray image: 0.28 s, not 0.75 s). It is
     * ours to give, as libtiff's predictors change what they encode. */
    unsigned char *strip;
    size_t strip_rows, strip_fill; /* rows a strip holds, and holds now */
    uint32_t strip_index;
    bool palette; /* indices into the meta's palette */
    unsigned palette_len;
    unsigned pages; /* pages begun */
    bool sent;      /* the spooled TIFF was copied out */
};

static int write_failure(struct tiff_writer *st, struct pool_error *err)
{
    if (st->io.io_errno)
        return pool_fail(err, "write failed: %s", strerror(st->io.io_errno));
    /* (BigTIFF is chosen by the first page alone) */
    if (strstr(st->msg.error, "Maximum TIFF file size exceeded"))
        return pool_fail(err, "a TIFF whose first page is under 4 GiB is a classic TIFF, which "
                              "holds at most 4 GiB, and its later pages pass that: give them "
                              "outputs of their own (-O DIR)");
    return pool_fail(err, "cannot write TIFF: %s",
                     st->msg.error[0] ? st->msg.error : "libtiff failed and gave no reason");
}

static uint16_t compression_tag(enum tiff_compression c)
{
    switch (c) {
    case TIFF_NONE: return COMPRESSION_NONE;
    case TIFF_LZW: return COMPRESSION_LZW;
    case TIFF_PACKBITS: return COMPRESSION_PACKBITS;
    default: return COMPRESSION_ADOBE_DEFLATE;
    }
}

static uint16_t sample_format_of(enum pool_dtype t)
{
    if (dtype_is_float(t))
        return SAMPLEFORMAT_IEEEFP;
    return dtype_is_signed(t) ? SAMPLEFORMAT_INT : SAMPLEFORMAT_UINT;
}

/* Photometric, and how many of the channels are extra samples, alpha first when there is. */
static uint16_t photometric_for(const struct tiff_writer *st, const struct image_meta *m,
                                uint16_t *extras, bool *alpha)
{
    size_t n = st->dims.channels;
    *alpha = m->is_image && m->has_alpha && (n == 2 || n == 4);
    size_t colours = n - (*alpha ? 1 : 0);
    uint16_t photometric = PHOTOMETRIC_MINISBLACK;
    if (st->palette)
        photometric = PHOTOMETRIC_PALETTE;
    else if (m->color == COLOR_CMYK && colours == 4)
        photometric = PHOTOMETRIC_SEPARATED;
    else if (colours == 3 && (m->color == COLOR_RGB || m->color == COLOR_NONE))
        photometric = PHOTOMETRIC_RGB;
    else if (colours != 1)
        *alpha = false; /* MinIsBlack and unspecified extra samples */
    size_t colour_count = photometric == PHOTOMETRIC_RGB         ? 3
                          : photometric == PHOTOMETRIC_SEPARATED ? 4
                                                                 : 1;
    *extras = (uint16_t)(n - colour_count);
    return photometric;
}

static int set_palette(struct tiff_writer *st, const struct image_meta *m)
{
    uint16_t map[3][256] = {{0}};
    for (unsigned i = 0; i < m->palette_len && i < 256; i++)
        for (int k = 0; k < 3; k++)
            map[k][i] = (uint16_t)(m->palette[i][k] * 257u);
    return TIFFSetField(st->tif, TIFFTAG_COLORMAP, map[0], map[1], map[2]);
}

/* GeoTIFF's tags for the page: moved onto the output's pixels, or none of them where it is
 * not known where those lie (the caller warns); keys alone place nothing and go as they are. */
static int set_georef(struct tiff_writer *st, const struct image_meta *m, struct pool_error *err)
{
    struct georef moved = {0};
    const struct georef *g = &m->georef;
    if (georef_present(g) && !m->grid.known)
        return 0;
    if (georef_present(g)) {
        if (georef_for_output(g, &m->grid, &moved, err))
            return -1;
        g = &moved;
    }
    TIFF *tif = st->tif;
    bool ok = (!g->has_pixel_scale ||
               TIFFSetField(tif, GEOTIFF_PIXEL_SCALE, (uint32_t)3, g->pixel_scale)) &&
              (!g->tiepoint_values ||
               TIFFSetField(tif, GEOTIFF_TIEPOINTS, (uint32_t)g->tiepoint_values, g->tiepoints)) &&
              (!g->has_transformation ||
               TIFFSetField(tif, GEOTIFF_TRANSFORMATION, (uint32_t)16, g->transformation)) &&
              (!g->key_count ||
               TIFFSetField(tif, GEOTIFF_KEY_DIRECTORY, (uint32_t)g->key_count, g->keys)) &&
              (!g->double_count || TIFFSetField(tif, GEOTIFF_DOUBLE_PARAMS,
                                                (uint32_t)g->double_count, g->double_params)) &&
              (!g->ascii_params || TIFFSetField(tif, GEOTIFF_ASCII_PARAMS, g->ascii_params));
    georef_clear(&moved);
    return ok ? 0 : write_failure(st, err);
}

/* The current page's fields from w->shape and w->meta. */
static int set_fields(struct tensor_writer *w, struct pool_error *err)
{
    struct tiff_writer *st = w->state;
    const struct image_meta *m = w->meta;
    TIFF *tif = st->tif;
    uint16_t extras = 0;
    bool alpha = false;
    uint16_t photometric = photometric_for(st, m, &extras, &alpha);
    uint16_t compression = compression_tag(w->opt->compression);
    if (!TIFFIsCODECConfigured(compression))
        return pool_fail(err,
                         "this libtiff cannot write compression %u: give --compression "
                         "none",
                         compression);
    uint16_t *extra_types = calloc(extras ? extras : 1, sizeof *extra_types);
    if (!extra_types)
        return pool_fail_resource(err, "out of memory");
    extra_types[0] = alpha ? EXTRASAMPLE_UNASSALPHA : EXTRASAMPLE_UNSPECIFIED;
    bool predict = compression == COMPRESSION_ADOBE_DEFLATE || compression == COMPRESSION_LZW;
    uint16_t predictor = !predict || st->palette          ? PREDICTOR_NONE
                         : dtype_is_float(st->dims.dtype) ? PREDICTOR_FLOATINGPOINT
                                                          : PREDICTOR_HORIZONTAL;
    messages_reset(&st->msg);
    bool ok = TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)st->dims.width) &&
              TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)st->dims.height) &&
              TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)st->dims.channels) &&
              TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE,
                           (uint16_t)(8 * dtype_size(st->dims.dtype))) &&
              TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, sample_format_of(st->dims.dtype)) &&
              TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
              TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, photometric) &&
              (!extras || TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, extras, extra_types)) &&
              (photometric != PHOTOMETRIC_SEPARATED ||
               TIFFSetField(tif, TIFFTAG_INKSET, INKSET_CMYK)) &&
              (!st->palette || set_palette(st, m)) &&
              TIFFSetField(tif, TIFFTAG_COMPRESSION, compression) &&
              (predictor == PREDICTOR_NONE || TIFFSetField(tif, TIFFTAG_PREDICTOR, predictor)) &&
              TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t)st->strip_rows) &&
              (m->upright || m->orientation <= 1 || m->orientation > 8 ||
               TIFFSetField(tif, TIFFTAG_ORIENTATION, (uint16_t)m->orientation)) &&
              (!m->icc || !m->icc_len || m->icc_len > UINT32_MAX ||
               TIFFSetField(tif, TIFFTAG_ICCPROFILE, (uint32_t)m->icc_len, m->icc));
    free(extra_types);
    return ok ? set_georef(st, m, err) : write_failure(st, err);
}

/* Takes w->shape and w->meta for a new page. */
static int start_page(struct tensor_writer *w, struct pool_error *err)
{
    struct tiff_writer *st = w->state;
    struct image_dims *d = &st->dims;
    if (image_dims_from_shape(&w->shape, FORMAT_TIFF, d, err))
        return -1;
    if (d->width == 0 || d->height == 0)
        return pool_fail(err, "cannot write an empty image (%zux%zu)", d->width, d->height);
    if (d->width > UINT32_MAX || d->height > UINT32_MAX)
        return pool_fail(err, "TIFF stores at most %lu pixels a side, and this image is %zux%zu",
                         (unsigned long)UINT32_MAX, d->width, d->height);
    size_t size = dtype_size(d->dtype);
    if (d->width > SIZE_MAX / d->channels / size)
        return pool_fail(err, "the image is too large (%zux%zu)", d->width, d->height);
    st->row_elems = d->width * d->channels;
    st->row_bytes = st->row_elems * size;
    st->rows_written = 0;
    st->palette = w->meta->color == COLOR_PALETTE && w->meta->palette_len > 0 && d->channels == 1 &&
                  d->dtype == DT_U8;
    st->palette_len = st->palette ? w->meta->palette_len : 0;
    st->strip_rows = WRITE_STRIP_BYTES / st->row_bytes;
    st->strip_rows = st->strip_rows < 1           ? 1
                     : st->strip_rows > d->height ? d->height
                                                  : st->strip_rows;
    st->strip_fill = 0;
    st->strip_index = 0;
    free(st->strip);
    if (!(st->strip = malloc(st->strip_rows * st->row_bytes)))
        return pool_fail_resource(err, "out of memory for a strip of %zu bytes",
                                  st->strip_rows * st->row_bytes);
    st->pages++;
    return set_fields(w, err);
}

static int tiff_writer_begin(struct tensor_writer *w, struct pool_error *err)
{
    struct tiff_writer *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    w->state = st;
    st->io.fd = -1;
    struct image_dims d;
    if (image_dims_from_shape(&w->shape, FORMAT_TIFF, &d, err) || open_output(&st->io, w->out, err))
        return -1;
    /* Past 4 GiB uncompressed, a BigTIFF: its offsets are 64-bit. */
    unsigned __int128 bytes = (unsigned __int128)d.width * d.height * d.channels *
                              dtype_size(d.dtype);
    TIFFOpenOptions *opts = open_options(&st->msg, 0);
    if (!opts)
        return pool_fail_resource(err, "out of memory");
    st->tif = TIFFClientOpenExt("TIFF output", bytes > CLASSIC_TIFF_MAX ? "w8" : "w", &st->io,
                                output_read, output_write, output_seek, close_nothing, output_size,
                                map_nothing, unmap_nothing, opts);
    TIFFOpenOptionsFree(opts);
    if (!st->tif || TIFFMergeFieldInfo(st->tif, geotiff_fields, GEOTIFF_FIELDS))
        return write_failure(st, err);
    return start_page(w, err);
}

/* The rows in the strip buffer, encoded as the next strip. */
static int write_strip(struct tiff_writer *st, struct pool_error *err)
{
    tmsize_t bytes = (tmsize_t)(st->strip_fill * st->row_bytes);
    if (TIFFWriteEncodedStrip(st->tif, st->strip_index, st->strip, bytes) != bytes)
        return write_failure(st, err);
    st->strip_index++;
    st->strip_fill = 0;
    return 0;
}

static int tiff_writer_write(struct tensor_writer *w, const void *buf, size_t count,
                             struct pool_error *err)
{
    struct tiff_writer *st = w->state;
    if (count % st->row_elems)
        return pool_fail(err, "TIFF rows are written whole (%zu elements), not %zu elements",
                         st->row_elems, count);
    size_t rows = count / st->row_elems;
    if (rows > st->dims.height - st->rows_written)
        return pool_fail(err, "more rows than the image holds (%zu)", st->dims.height);
    const unsigned char *src = buf;
    for (size_t i = 0; st->palette && i < count; i++)
        if (src[i] >= st->palette_len)
            return pool_fail(err, "palette index %u is past the palette's %u colours", src[i],
                             st->palette_len);
    messages_reset(&st->msg);
    for (size_t i = 0; i < rows; i++, src += st->row_bytes) {
        memcpy(st->strip + st->strip_fill++ * st->row_bytes, src, st->row_bytes);
        st->rows_written++;
        if (st->strip_fill == st->strip_rows && write_strip(st, err))
            return -1;
    }
    return 0;
}

/* The page's directory: the file is a whole TIFF after each page. */
static int tiff_writer_finish(struct tensor_writer *w, struct pool_error *err)
{
    struct tiff_writer *st = w->state;
    if (st->rows_written != st->dims.height)
        return pool_fail(err, "wrote %zu of the %zu rows of the image", st->rows_written,
                         st->dims.height);
    messages_reset(&st->msg);
    if ((st->strip_fill && write_strip(st, err)) || !TIFFWriteDirectory(st->tif))
        return write_failure(st, err);
    if (st->io.spool) {
        if (copy_spool(&st->io, w->out, err))
            return -1;
        st->sent = true;
    } else if (fseeko(w->out, st->io.base + (off_t)st->io.size, SEEK_SET)) {
        return pool_fail(err, "write failed: %s", strerror(errno)); /* (stdio to the end) */
    }
    if (fflush(w->out))
        return pool_fail(err, "write failed: %s", strerror(errno));
    return 0;
}

/* Another page after the one finished. */
static int tiff_writer_next_image(struct tensor_writer *w, struct pool_error *err)
{
    struct tiff_writer *st = w->state;
    if (!st || !st->tif || st->rows_written != st->dims.height)
        return pool_fail(err, "the previous image was not written to its end");
    if (st->sent)
        return pool_fail(err, "several images make a multi-page TIFF, which is written to a "
                              "file (-o FILE.tif), not to a pipe, a device or standard output: "
                              "libtiff links each page to the one before, after it is written");
    return start_page(w, err);
}

static void tiff_writer_destroy(struct tensor_writer *w)
{
    struct tiff_writer *st = w->state;
    if (!st)
        return;
    /* Not TIFFClose: it would write an unfinished page's directory. finish wrote the last. */
    if (st->tif)
        TIFFCleanup(st->tif);
    if (st->io.spool)
        fclose(st->io.spool);
    free(st->strip);
    free(st);
    w->state = NULL;
}

const struct writer_ops tiff_writer_ops = {
    .format = FORMAT_TIFF,
    .begin = tiff_writer_begin,
    .write = tiff_writer_write,
    .finish = tiff_writer_finish,
    .next_image = tiff_writer_next_image,
    .destroy = tiff_writer_destroy,
};

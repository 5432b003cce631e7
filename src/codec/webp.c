/*
 * WebP through libwebp (decode.h, encode.h), libwebpdemux (demux.h: animations and the
 * container's chunks) and libwebpmux (mux.h: adding chunks to what the encoder makes).
 * The container is RIFF (Google's "WebP Container Specification"): a simple file holds
 * one VP8 (lossy) or VP8L (lossless) bitstream; the extended format (a VP8X chunk first)
 * adds alpha (ALPH), ICCP, EXIF, XMP and animation (ANIM, ANMF) chunks.
 *
 * A WebP is always RGB or RGBA: gray is not one of its colour models. The reader hands out
 * RGB, or RGBA when the file says it has alpha (WebPBitstreamFeatures.has_alpha: the VP8X
 * alpha flag, or a VP8L image's alpha hint), 8 bits a sample. An animation is read as its
 * first frame, composited on the canvas by WebPAnimDecoder, with a note.
 *
 * Memory: libwebp decodes a whole picture from a whole file, so neither streams. Reading
 * holds the file (read at the header, for its size, metadata and features) and then the
 * decoded image, width * height * 3 or 4 bytes; the file is freed once decoded. An
 * animation's first frame also needs WebPAnimDecoder's two RGBA canvases while it is
 * decoded. All of it is weighed against reader_max_memory before it is allocated. Writing
 * collects the rows into a WebPPicture of 4 bytes a pixel (ARGB) and encodes at the end.
 *
 * Strictness: the whole RIFF chunk must be there (a short file is truncated, not decoded
 * as far as it goes); bytes after it are ignored, as libwebp does. The chunk layout must
 * parse with WebPDemux, which is what Pillow and browsers read WebP through.
 */
#include "codec.h"
#include "formats.h"
#include "exif.h"
#include "image.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

#define RIFF_HEADER_LEN 12 /* "RIFF", the chunk's size (little-endian), "WEBP" */
/* A pipe's bytes are read into a buffer that starts this large and doubles. */
#define PIPE_CHUNK (1u << 20)
/* Width and height are stored in 14 bits (VP8L) and VP8 allows 16383 too: libwebp's
 * WEBP_MAX_DIMENSION. */
#define WEBP_MAX_SIDE 16383
#define WEBP_DEFAULT_QUALITY 90
#define WEBP_METHOD 4 /* libwebp's speed/size trade-off, 0-6: cwebp's default */
/* The EXIF chunk holds the TIFF structure; some writers put JPEG's APP1 header first. */
static const char exif_app1_header[6] = "Exif\0";

/* ---- reader ---- */

struct webp_reader {
    uint8_t *file; /* the whole RIFF chunk; freed once decoded */
    size_t file_len;
    WebPBitstreamFeatures features;
    size_t width, height, channels;
    unsigned char *pixels;   /* the decoded image, rows of width * channels */
    size_t pixels_len, next; /* bytes in pixels; the next to hand out */
    bool failed;             /* decoding failed: say so again rather than decode again */
};

static uint32_t read_le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static const char *status_text(VP8StatusCode status)
{
    switch (status) {
    case VP8_STATUS_OK: return "no error";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "a feature libwebp does not support";
    case VP8_STATUS_SUSPENDED:
        return "the bitstream ends before its image does (corrupt or cut short)";
    case VP8_STATUS_USER_ABORT: return "decoding aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA:
        return "a chunk ends before its data does (corrupt or cut short)";
    }
    return "unknown error";
}

static int decode_failure(VP8StatusCode status, const char *where, struct pool_error *err)
{
    if (status == VP8_STATUS_OUT_OF_MEMORY)
        return pool_fail_resource(err, "out of memory for the WebP decoder (%s)", where);
    return pool_fail(err, "bad WebP data (%s): %s", where, status_text(status));
}

static int read_failed(struct pool_error *err)
{
    return pool_fail(err, "read failed: %s", errno ? strerror(errno) : "i/o error");
}

/* The RIFF header: the signature, and the file's length from the chunk's size. */
static int read_riff_header(struct tensor_reader *r, unsigned char *header, size_t *file_len,
                            struct pool_error *err)
{
    errno = 0;
    size_t got = source_read(r->src, header, RIFF_HEADER_LEN);
    if (got < RIFF_HEADER_LEN && source_failed(r->src))
        return read_failed(err);
    if (got == 0)
        return pool_fail(err, "empty input");
    if (got < RIFF_HEADER_LEN)
        return pool_fail(err, "truncated WebP data (RIFF header)");
    if (memcmp(header, "RIFF", 4) || memcmp(header + 8, "WEBP", 4))
        return pool_fail(err, "not a WebP file (no RIFF header of form WEBP)");
    uint32_t riff_size = read_le32(header + 4);
    if (riff_size < 4 || riff_size > UINT32_MAX - 8)
        return pool_fail(err, "bad WebP data (RIFF header): a RIFF chunk of %lu bytes",
                         (unsigned long)riff_size);
    *file_len = (size_t)riff_size + 8;
    return 0;
}

/* Reads the rest of the RIFF chunk after its header into st->file: all of it, or an error. */
static int read_file(struct tensor_reader *r, struct webp_reader *st, const unsigned char *header,
                     struct pool_error *err)
{
    /* A regular file shorter than its header says is refused unread; a pipe's buffer grows
     * as the bytes come, so that a header declaring 1 GiB on a short stream allocates no
     * more than the stream holds. (src->size counts from where the RIFF header began.) */
    if (r->src->size >= 0 && (unsigned long long)r->src->size < st->file_len)
        return pool_fail(err,
                         "truncated WebP data: the RIFF header declares %zu bytes, "
                         "and the file has %lld",
                         st->file_len, r->src->size);
    size_t cap = st->file_len;
    if (r->src->size < 0 && cap > PIPE_CHUNK)
        cap = PIPE_CHUNK;
    if (!(st->file = malloc(cap)))
        return pool_fail_resource(err, "out of memory for the WebP file (%zu bytes)", cap);
    memcpy(st->file, header, RIFF_HEADER_LEN);
    size_t have = RIFF_HEADER_LEN;
    for (;;) {
        errno = 0;
        size_t got = source_read(r->src, st->file + have, cap - have);
        have += got;
        if (have == st->file_len)
            return 0;
        if (have < cap) {
            if (source_failed(r->src))
                return read_failed(err);
            return pool_fail(err,
                             "truncated WebP data: the RIFF header declares %zu bytes, "
                             "and the file has %zu",
                             st->file_len, have);
        }
        size_t grown = cap > st->file_len / 2 ? st->file_len : cap * 2;
        uint8_t *bigger = realloc(st->file, grown);
        if (!bigger)
            return pool_fail_resource(err, "out of memory for the WebP file (%zu bytes)", grown);
        st->file = bigger;
        cap = grown;
    }
}

/* The EXIF chunk's TIFF structure (without an APP1 header some writers put first) and its
 * orientation; -1 when out of memory. */
static int keep_exif(struct image_meta *m, const uint8_t *bytes, size_t len)
{
    if (len > sizeof exif_app1_header &&
        !memcmp(bytes, exif_app1_header, sizeof exif_app1_header)) {
        bytes += sizeof exif_app1_header;
        len -= sizeof exif_app1_header;
    }
    if (len == 0)
        return 0;
    if (!(m->exif = malloc(len)))
        return -1;
    memcpy(m->exif, bytes, len);
    m->exif_len = len;
    m->orientation = exif_orientation(m->exif, m->exif_len);
    return m->orientation ? 0 : -1;
}

static int keep_icc(struct image_meta *m, const uint8_t *bytes, size_t len)
{
    if (len == 0)
        return 0;
    if (!(m->icc = malloc(len)))
        return -1;
    memcpy(m->icc, bytes, len);
    m->icc_len = len;
    return 0;
}

/* The ICCP and EXIF chunks, and an animation's frame count. */
static int read_chunks(struct tensor_reader *r, struct webp_reader *st, unsigned *frames,
                       struct pool_error *err)
{
    WebPData data = {st->file, st->file_len};
    WebPDemuxer *demux = WebPDemux(&data);
    if (!demux)
        return pool_fail(err, "bad WebP data: its RIFF chunks do not parse (libwebpdemux)");
    *frames = WebPDemuxGetI(demux, WEBP_FF_FRAME_COUNT);
    r->meta.orientation = 1;
    WebPChunkIterator chunk;
    int rc = 0;
    if (WebPDemuxGetChunk(demux, "ICCP", 1, &chunk)) {
        rc |= keep_icc(&r->meta, chunk.chunk.bytes, chunk.chunk.size);
        WebPDemuxReleaseChunkIterator(&chunk);
    }
    if (!rc && WebPDemuxGetChunk(demux, "EXIF", 1, &chunk)) {
        rc |= keep_exif(&r->meta, chunk.chunk.bytes, chunk.chunk.size);
        WebPDemuxReleaseChunkIterator(&chunk);
    }
    WebPDemuxDelete(demux);
    return rc ? pool_fail_resource(err, "out of memory for the WebP metadata") : 0;
}

/* What decoding will hold at its peak: the file, the image, and an animation's canvases. */
static int check_memory(struct tensor_reader *r, struct webp_reader *st, struct pool_error *err)
{
    size_t pixels, canvases = 0, total;
    bool overflow = __builtin_mul_overflow(st->width * st->height, st->channels, &pixels);
    if (st->features.has_animation)
        overflow |= __builtin_mul_overflow(st->width * st->height, (size_t)8, &canvases);
    overflow |= __builtin_add_overflow(st->file_len, pixels, &total) ||
                __builtin_add_overflow(total, canvases, &total);
    const char *what = st->features.has_animation
                           ? "an animated WebP's first frame, decoded whole with its file and "
                             "canvases, needs"
                           : "a WebP, decoded whole with its file, needs";
    if (pool_check_memory(overflow ? SIZE_MAX : total, 0, reader_max_memory(r->opt), what, err))
        return -1;
    st->pixels_len = pixels;
    r->memory_held = total;
    return 0;
}

/* On failure r->state may hold memory; reader_close (ops->destroy) frees it. */
int webp_read_header(struct tensor_reader *r, struct pool_error *err)
{
    struct webp_reader *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    r->state = st;
    unsigned char header[RIFF_HEADER_LEN];
    if (read_riff_header(r, header, &st->file_len, err))
        return -1;
    if (pool_check_memory(st->file_len, 0, reader_max_memory(r->opt),
                          "a WebP is read whole before it is decoded: its file needs", err))
        return -1;
    if (read_file(r, st, header, err))
        return -1;
    VP8StatusCode status = WebPGetFeatures(st->file, st->file_len, &st->features);
    if (status != VP8_STATUS_OK)
        return decode_failure(status, "header", err);
    st->width = (size_t)st->features.width;
    st->height = (size_t)st->features.height;
    st->channels = st->features.has_alpha ? 4 : 3;
    if (image_check_pixels(st->width, st->height, r->opt->max_pixels, err) ||
        check_memory(r, st, err))
        return -1;
    unsigned frames = 0;
    if (read_chunks(r, st, &frames, err))
        return -1;
    if (st->features.has_animation)
        reader_note(r, "an animated WebP: only its first frame is read",
                    "an animated WebP (%u frame%s): only its first frame is read", frames,
                    frames == 1 ? "" : "s");
    image_set_shape(r, st->height, st->width, st->channels, DT_U8);
    r->meta.color = COLOR_RGB;
    r->meta.has_alpha = st->features.has_alpha;
    return 0;
}

/* A still image, straight into st->pixels. */
static int decode_still(struct webp_reader *st, struct pool_error *err)
{
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config))
        return pool_fail(err, "cannot start libwebp's decoder (a libwebp other than the one "
                              "pool was built with)");
    config.output.colorspace = st->channels == 4 ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = st->pixels;
    config.output.u.RGBA.stride = (int)(st->width * st->channels);
    config.output.u.RGBA.size = st->pixels_len;
    VP8StatusCode status = WebPDecode(st->file, st->file_len, &config);
    WebPFreeDecBuffer(&config.output); /* nothing to free with external memory; the rule */
    return status == VP8_STATUS_OK ? 0 : decode_failure(status, "image data", err);
}

/* An animation's first frame as WebPAnimDecoder composites it on the canvas (the
 * container specification's rules), its alpha dropped when the file says it has none. */
static int decode_first_frame(struct webp_reader *st, struct pool_error *err)
{
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options))
        return pool_fail(err, "cannot start libwebp's animation decoder (a libwebpdemux other "
                              "than the one pool was built with)");
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;
    WebPData data = {st->file, st->file_len};
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&data, &options);
    if (!dec)
        return pool_fail(err, "bad WebP data (animation): libwebpdemux cannot decode it");
    uint8_t *canvas;
    int timestamp;
    if (!WebPAnimDecoderGetNext(dec, &canvas, &timestamp)) {
        WebPAnimDecoderDelete(dec);
        return pool_fail(err, "bad WebP data (animation frame 1): libwebp cannot decode it");
    }
    size_t n = st->width * st->height;
    if (st->channels == 4) {
        memcpy(st->pixels, canvas, n * 4);
    } else {
        for (size_t i = 0; i < n; i++)
            memcpy(st->pixels + i * 3, canvas + i * 4, 3);
    }
    WebPAnimDecoderDelete(dec);
    return 0;
}

static int decode(struct webp_reader *st, struct pool_error *err)
{
    if (!(st->pixels = malloc(st->pixels_len)))
        return pool_fail_resource(err, "out of memory for the decoded WebP (%zu bytes)",
                                  st->pixels_len);
    int rc = st->features.has_animation ? decode_first_frame(st, err) : decode_still(st, err);
    free(st->file);
    st->file = NULL;
    return rc;
}

/* Any number of elements: the image is whole in memory. */
static int webp_reader_read(struct tensor_reader *r, void *buf, size_t count,
                            struct pool_error *err)
{
    struct webp_reader *st = r->state;
    if (st->failed)
        return pool_fail(err, "the WebP decoder failed before");
    if (!st->pixels && decode(st, err)) {
        st->failed = true;
        return -1;
    }
    if (count > st->pixels_len - st->next)
        return pool_fail(err, "asked for %zu elements, only %zu are left", count,
                         st->pixels_len - st->next);
    memcpy(buf, st->pixels + st->next, count);
    st->next += count;
    return 0;
}

static int webp_reader_finish(struct tensor_reader *r, struct pool_error *err)
{
    struct webp_reader *st = r->state;
    if (st->failed)
        return pool_fail(err, "the WebP decoder failed before");
    if (!st->pixels || st->next < st->pixels_len)
        return pool_fail(err, "the image was not read to its end");
    return 0;
}

static void webp_reader_destroy(struct tensor_reader *r)
{
    struct webp_reader *st = r->state;
    if (!st)
        return;
    free(st->file);
    free(st->pixels);
    free(st);
    r->state = NULL;
}

const struct reader_ops webp_reader_ops = {
    .format = FORMAT_WEBP,
    .read = webp_reader_read,
    .finish = webp_reader_finish,
    .destroy = webp_reader_destroy,
};

/* ---- writer ---- */

struct webp_writer {
    struct image_dims dims;
    WebPPicture picture; /* ARGB, filled by write */
    bool picture_allocated;
    size_t written; /* elements taken so far */
    uint32_t pixel; /* the pixel being filled, when a write ends inside one */
};

static const char *encoding_error_text(WebPEncodingError e)
{
    switch (e) {
    case VP8_ENC_OK: return "no error";
    case VP8_ENC_ERROR_OUT_OF_MEMORY:
    case VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY: return "out of memory";
    case VP8_ENC_ERROR_NULL_PARAMETER: return "a missing parameter";
    case VP8_ENC_ERROR_INVALID_CONFIGURATION: return "an invalid configuration";
    case VP8_ENC_ERROR_BAD_DIMENSION: return "a width or height it cannot store";
    case VP8_ENC_ERROR_PARTITION0_OVERFLOW:
        return "the first partition is over 512 KiB: give a lower --quality";
    case VP8_ENC_ERROR_PARTITION_OVERFLOW:
        return "a partition is over 16 MiB: give a lower --quality";
    case VP8_ENC_ERROR_BAD_WRITE: return "the output could not be written";
    case VP8_ENC_ERROR_FILE_TOO_BIG: return "the file would be over 4 GiB";
    case VP8_ENC_ERROR_USER_ABORT: return "aborted";
    case VP8_ENC_ERROR_LAST: break;
    }
    return "an unknown error";
}

/* The picture libwebp encodes (4 bytes a pixel) and about as much again that the encoder
 * allocates while it works (lossy: the YUV planes; lossless: its transforms' buffers),
 * weighed against the default budget (writer_options has no --max-memory). */
static int check_picture_memory(const struct image_dims *d, struct pool_error *err)
{
    size_t bytes;
    if (!__builtin_mul_overflow(d->width * d->height, (size_t)8, &bytes) &&
        bytes <= DEFAULT_MAX_MEMORY)
        return 0;
    char need[32], limit[32];
    return pool_fail(err,
                     "a WebP is encoded whole, and this %zux%zu one would need about %s, more "
                     "than the %s a writer may hold (--max-memory does not raise it): pool it "
                     "further, or write PNG or TIFF, which stream",
                     d->width, d->height, bytes_describe(bytes, need),
                     bytes_describe(DEFAULT_MAX_MEMORY, limit));
}

static int webp_writer_begin(struct tensor_writer *w, struct pool_error *err)
{
    struct image_dims dims;
    if (image_dims_from_shape(&w->shape, FORMAT_WEBP, &dims, err))
        return -1;
    if (w->meta->color == COLOR_CMYK)
        return pool_fail(err, "WebP has no CMYK colour: write JPEG, TIFF or .npy instead");
    if (w->meta->color == COLOR_PALETTE)
        return pool_fail(err, "WebP keeps no palette, so a palette image's indices (class ids, "
                              "say) would lose their colours: write PNG, or give --palette "
                              "expand to write its colours");
    if (dims.width > WEBP_MAX_SIDE || dims.height > WEBP_MAX_SIDE)
        return pool_fail(err,
                         "WebP stores at most %d pixels a side, and this image is %zux%zu: "
                         "pool it further, or write PNG or TIFF instead",
                         WEBP_MAX_SIDE, dims.width, dims.height);
    if (check_picture_memory(&dims, err))
        return -1;
    int quality = w->opt->quality ? w->opt->quality : WEBP_DEFAULT_QUALITY;
    if (quality < 1 || quality > 100)
        return pool_fail(err, "WebP quality must be 1 to 100, not %d", w->opt->quality);
    struct webp_writer *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    w->state = st;
    st->dims = dims;
    if (!WebPPictureInit(&st->picture))
        return pool_fail(err, "cannot start libwebp's encoder (a libwebp other than the one "
                              "pool was built with)");
    st->picture.use_argb = 1;
    st->picture.width = (int)dims.width;
    st->picture.height = (int)dims.height;
    if (!WebPPictureAlloc(&st->picture))
        return pool_fail_resource(err, "out of memory for the WebP picture (%zux%zu)", dims.width,
                                  dims.height);
    st->picture_allocated = true;
    return 0;
}

/* One element into the ARGB picture: gray goes to R, G and B; without alpha, A is 255. */
static void put_sample(struct webp_writer *st, unsigned char v)
{
    size_t c = st->dims.channels, channel = st->written % c;
    bool alpha = (c == 2 || c == 4) && channel == c - 1;
    if (channel == 0)
        st->pixel = 0xFF000000u;
    if (alpha)
        st->pixel = (st->pixel & 0x00FFFFFFu) | (uint32_t)v << 24;
    else if (c <= 2)
        st->pixel |= (uint32_t)v * 0x010101u;
    else
        st->pixel |= (uint32_t)v << (16 - 8 * channel);
    st->written++;
    if (st->written % c == 0) {
        size_t i = st->written / c - 1, y = i / st->dims.width, x = i % st->dims.width;
        st->picture.argb[y * (size_t)st->picture.argb_stride + x] = st->pixel;
    }
}

/* Elements in C order, any number at a time: a pixel may be split between two writes. */
static int webp_writer_write(struct tensor_writer *w, const void *buf, size_t count,
                             struct pool_error *err)
{
    struct webp_writer *st = w->state;
    size_t total = st->dims.width * st->dims.height * st->dims.channels;
    if (count > total - st->written)
        return pool_fail(err, "more elements than the image holds (%zu)", total);
    const unsigned char *v = buf;
    for (size_t i = 0; i < count; i++)
        put_sample(st, v[i]);
    return 0;
}

/* Lossless keeps every value, RGB under alpha 0 too (exact); lossy lets libwebp change
 * what alpha 0 hides, which compresses better and which no viewer shows. */
static int set_config(const struct tensor_writer *w, WebPConfig *config, struct pool_error *err)
{
    int quality = w->opt->quality ? w->opt->quality : WEBP_DEFAULT_QUALITY;
    if (!WebPConfigInit(config))
        return pool_fail(err, "cannot start libwebp's encoder (a libwebp other than the one "
                              "pool was built with)");
    config->method = WEBP_METHOD;
    if (w->opt->lossless) {
        config->lossless = 1;
        config->exact = 1;
        config->quality = 75; /* lossless: the effort, cwebp's default */
    } else {
        config->quality = (float)quality;
    }
    if (!WebPValidateConfig(config))
        return pool_fail(err, "libwebp refuses its configuration (quality %d)", quality);
    return 0;
}

/* The bitstream in a container with the ICCP and EXIF chunks (libwebpmux writes the VP8X
 * chunk that announces them). */
static int add_metadata(const struct tensor_writer *w, const WebPMemoryWriter *encoded,
                        WebPData *out, struct pool_error *err)
{
    const struct webp_writer *st = w->state;
    unsigned char *exif;
    size_t exif_len;
    if (image_exif_for_output(w->meta, st->dims.width, st->dims.height, &exif, &exif_len, err))
        return -1;
    WebPData image = {encoded->mem, encoded->size};
    WebPMux *mux = WebPMuxCreate(&image, 0);
    WebPMuxError e = mux ? WEBP_MUX_OK : WEBP_MUX_MEMORY_ERROR;
    if (e == WEBP_MUX_OK && w->meta->icc && w->meta->icc_len) {
        WebPData icc = {w->meta->icc, w->meta->icc_len};
        e = WebPMuxSetChunk(mux, "ICCP", &icc, 0);
    }
    if (e == WEBP_MUX_OK && exif) {
        WebPData block = {exif, exif_len};
        e = WebPMuxSetChunk(mux, "EXIF", &block, 0);
    }
    if (e == WEBP_MUX_OK)
        e = WebPMuxAssemble(mux, out);
    WebPMuxDelete(mux);
    free(exif);
    if (e == WEBP_MUX_MEMORY_ERROR)
        return pool_fail_resource(err, "out of memory for the WebP container");
    if (e != WEBP_MUX_OK)
        return pool_fail(err,
                         "cannot add the ICC profile or EXIF to the WebP (libwebpmux "
                         "error %d)",
                         (int)e);
    return 0;
}

static int encode(struct tensor_writer *w, WebPMemoryWriter *encoded, struct pool_error *err)
{
    struct webp_writer *st = w->state;
    WebPConfig config;
    if (set_config(w, &config, err))
        return -1;
    st->picture.writer = WebPMemoryWrite;
    st->picture.custom_ptr = encoded;
    if (WebPEncode(&config, &st->picture))
        return 0;
    WebPEncodingError e = st->picture.error_code;
    if (e == VP8_ENC_ERROR_OUT_OF_MEMORY || e == VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY)
        return pool_fail_resource(err, "out of memory for the WebP encoder");
    return pool_fail(err, "cannot write WebP: %s", encoding_error_text(e));
}

static int write_bytes(FILE *out, const uint8_t *bytes, size_t len, struct pool_error *err)
{
    errno = 0;
    if (fwrite(bytes, 1, len, out) != len || fflush(out))
        return pool_fail(err, "write failed: %s", errno ? strerror(errno) : "i/o error");
    return 0;
}

static int webp_writer_finish(struct tensor_writer *w, struct pool_error *err)
{
    struct webp_writer *st = w->state;
    size_t total = st->dims.width * st->dims.height * st->dims.channels;
    if (st->written != total)
        return pool_fail(err, "wrote %zu of the %zu elements of the image", st->written, total);
    WebPMemoryWriter encoded;
    WebPMemoryWriterInit(&encoded);
    int rc = encode(w, &encoded, err);
    /* the pixels are encoded: free them before the container is assembled */
    WebPPictureFree(&st->picture);
    st->picture_allocated = false;
    bool metadata = (w->meta->icc && w->meta->icc_len) || w->meta->exif;
    if (!rc && !metadata)
        rc = write_bytes(w->out, encoded.mem, encoded.size, err);
    if (!rc && metadata) {
        WebPData assembled = {NULL, 0};
        rc = add_metadata(w, &encoded, &assembled, err);
        if (!rc)
            rc = write_bytes(w->out, assembled.bytes, assembled.size, err);
        WebPDataClear(&assembled);
    }
    WebPMemoryWriterClear(&encoded);
    return rc;
}

static void webp_writer_destroy(struct tensor_writer *w)
{
    struct webp_writer *st = w->state;
    if (!st)
        return;
    if (st->picture_allocated)
        WebPPictureFree(&st->picture);
    free(st);
    w->state = NULL;
}

const struct writer_ops webp_writer_ops = {
    .format = FORMAT_WEBP,
    .begin = webp_writer_begin,
    .write = webp_writer_write,
    .finish = webp_writer_finish,
    .destroy = webp_writer_destroy,
};

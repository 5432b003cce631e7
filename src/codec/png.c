/*
 * PNG through libpng 1.6. The reader hands out every PNG as 8- or 16-bit gray, gray+alpha,
 * RGB or RGBA: palettes become RGB (RGBA with tRNS), expanded here rather than by libpng so
 * that an index past the palette is an error (libpng would make it black, Pillow another
 * colour), or with reader_options.palette_index
 * stay 8-bit indices with the palette and its tRNS alphas in the meta (written back by the
 * writer as a palette PNG, so class ids survive); a tRNS colour key on gray or RGB
 * becomes an alpha channel, 1/2/4-bit gray is scaled to 0-255, 16-bit samples come out in
 * native byte order. Non-interlaced images stream a row at a time straight into the
 * caller's buffer. Adam7-interlaced images cannot be streamed (the last pass touches every
 * row), so they are decoded whole on the first read: height * width * channels * bytes
 * per sample of memory.
 *
 * Strictness: a CRC error in any chunk, critical or ancillary, is an error (libpng would
 * otherwise drop a corrupt ancillary chunk with a warning, e.g. silently lose an iCCP
 * profile); so is data cut short, even after the last row (a missing IEND). Bytes after
 * IEND are ignored. Warnings are ignored, never printed (but see on_png_warning); an
 * animated PNG is its default image, with a note.
 *
 * libpng reports errors by longjmp: every libpng call that can fail runs inside
 * run_guarded(), the file's only setjmp, which takes a callback and keeps no locals.
 */
#include "codec.h"
#include "formats.h"
#include "exif.h"
#include "image.h"

#include <errno.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SIGNATURE_LEN 8
#define MESSAGE_MAX 200
/* Largest ancillary chunk libpng may allocate (iCCP after inflating); its default is 8 MB,
 * and real profiles are up to a few MB. */
#define CHUNK_MALLOC_MAX (16u << 20)
/* zlib output buffered before an IDAT chunk is written (libpng's default is 8 KiB). */
#define IDAT_CHUNK_SIZE (1u << 16)
#define ICC_PROFILE_NAME "ICC profile"
#define CHUNK_CACHE_MAX 1000

static bool host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

bool png_sniff(const unsigned char *bytes, size_t n)
{
    return n >= SIGNATURE_LEN && png_sig_cmp(bytes, 0, SIGNATURE_LEN) == 0;
}

/* ---- libpng's errors ---- */

/* Where libpng's error handler leaves its message (the png struct's error pointer). */
struct png_messages {
    char error[MESSAGE_MAX];
};

static void on_png_error(png_structp png, png_const_charp msg)
{
    struct png_messages *m = png_get_error_ptr(png);
    snprintf(m->error, sizeof m->error, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings are ignored, but one: libpng 1.6 reading a chunk it may not allocate (over
 * CHUNK_MALLOC_MAX, or memory short: then read_failure says so) warns "out of memory" and
 * may return without skipping the chunk's data, to read that data as the next chunk. */
static void on_png_warning(png_structp png, png_const_charp msg)
{
    size_t len = strlen(msg), tail = strlen("out of memory");
    if (len >= tail && !strcmp(msg + len - tail, "out of memory")) {
        struct png_messages *m = png_get_error_ptr(png);
        snprintf(m->error, sizeof m->error, "%.*sa chunk larger than the %u MiB allowed",
                 (int)(len - tail), msg, CHUNK_MALLOC_MAX >> 20);
        png_longjmp(png, 1);
    }
}

typedef void guarded_op(png_structp png, void *ctx);

/* Runs op with libpng's error jump landing here: 0, or -1 when op failed. Nothing in this
 * frame changes between setjmp and the jump, so nothing needs to be volatile. */
static int run_guarded(png_structp png, guarded_op *op, void *ctx)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    op(png, ctx);
    return 0;
}

/* ---- reader ---- */

struct png_reader {
    png_structp png;
    png_infop info;
    struct byte_source *src;
    struct png_messages msg;
    bool failed;      /* libpng failed: its state is undefined, stop using it */
    bool truncated;   /* the source ended early */
    bool read_failed; /* the source failed */
    int read_errno;
    /* An allocation libpng asked for failed: it fails the read, even where libpng went on
     * without (it drops an ancillary chunk it has no memory for, an iCCP profile or an
     * eXIf block, with only a warning). */
    bool out_of_memory;
    size_t width, height, channels, row_bytes;
    /* Largest allocation libpng may make: CHUNK_MALLOC_MAX while it reads the header,
     * then also a row of the (checked) width. */
    size_t alloc_max;
    size_t next_row;    /* rows handed out so far */
    int passes;         /* 1, or 7 for Adam7 */
    bool palette;       /* a palette image */
    bool palette_index; /* handed out as its indices */
    bool animated;      /* an APNG's acTL was seen */
    png_uint_32 animation_frames;
    /* palette, expanded: each index's RGBA (alpha 255 past the tRNS), and how many there are */
    unsigned char colours[256][4];
    unsigned ncolours;
    unsigned char *image; /* interlaced only: the whole decoded image */
    /* The current guarded read: rows to decode into dest; where it is, for messages. */
    unsigned char *dest;
    size_t dest_rows;
    int pass;
    size_t pass_row;
};

static void read_from_source(png_structp png, png_bytep data, size_t n)
{
    struct png_reader *st = png_get_io_ptr(png);
    errno = 0;
    if (source_read(st->src, data, n) == n)
        return;
    if (source_failed(st->src)) {
        st->read_failed = true;
        st->read_errno = errno;
        png_error(png, "read failed");
    }
    st->truncated = true;
    png_error(png, "truncated");
}

/* Why a guarded read failed; `where` is "header", "row 5 of 10"... */
static int read_failure(struct png_reader *st, const char *where, struct pool_error *err)
{
    st->failed = true;
    if (st->read_failed)
        return pool_fail(err, "read failed: %s",
                         st->read_errno ? strerror(st->read_errno) : "i/o error");
    if (st->truncated)
        return pool_fail(err, "truncated PNG data (%s)", where);
    if (st->out_of_memory)
        return pool_fail_resource(err, "out of memory for the PNG decoder (%s)", where);
    /* libpng meets IEND while it looks for the image data */
    if (!strcmp(st->msg.error, "IEND: out of place"))
        return pool_fail(err, "bad PNG data (%s): no IDAT chunk: IEND came before any image data",
                         where);
    return pool_fail(err, "bad PNG data (%s): %s", where, st->msg.error);
}

/* The signature is checked here, not by libpng, for a clear message. */
static int read_signature(struct png_reader *st, struct pool_error *err)
{
    unsigned char sig[SIGNATURE_LEN];
    errno = 0;
    size_t got = source_read(st->src, sig, sizeof sig);
    if (got < sizeof sig && source_failed(st->src))
        return pool_fail(err, "read failed: %s", errno ? strerror(errno) : "i/o error");
    if (got == 0)
        return pool_fail(err, "empty input");
    if (png_sig_cmp(sig, 0, got) != 0)
        return pool_fail(err, "not a PNG file (bad signature)");
    if (got < sizeof sig)
        return pool_fail(err, "truncated PNG data (signature)");
    return 0;
}

/* Chunks libpng does not know. An animated PNG (APNG) is a PNG whose IDAT is its default
 * image, with the other frames in fdAT chunks that decoders without APNG skip: its acTL
 * chunk (APNG specification, "acTL") is noted, so that the frames left out are said. */
static int on_unknown_chunk(png_structp png, png_unknown_chunkp chunk)
{
    struct png_reader *st = png_get_user_chunk_ptr(png);
    /* 0 for libpng's rule, which refuses an unknown critical chunk (lower-case first
     * letter: ancillary); 1, handled, drops an ancillary one (given 0, libpng 1.6 would
     * keep it in memory, up to the chunk cache). */
    if (!(chunk->name[0] & 0x20))
        return 0;
    if (memcmp(chunk->name, "acTL", 4) || chunk->size < 8)
        return 1;
    const unsigned char *d = chunk->data;
    st->animation_frames = (png_uint_32)d[0] << 24 | (png_uint_32)d[1] << 16 |
                           (png_uint_32)d[2] << 8 | d[3];
    st->animated = true;
    return 1;
}

static void read_info(png_structp png, void *ctx)
{
    struct png_reader *st = ctx;
    png_set_read_fn(png, st, read_from_source);
    png_set_sig_bytes(png, SIGNATURE_LEN);
    /* The pixel limit is ours (image_check_pixels); libpng's default is 1e6 per side. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_chunk_malloc_max(png, CHUNK_MALLOC_MAX);
    /* At most this many ancillary chunks of a kind kept (sPLT, tEXt...): libpng's default,
     * said here because a file of a million tiny text chunks is the attack it stops. */
    png_set_chunk_cache_max(png, CHUNK_CACHE_MAX);
    png_set_read_user_chunk_fn(png, st, on_unknown_chunk);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* scripts/fuzz: a mutated chunk would nearly always fail its CRC and stop there. */
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
#else
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
#endif
    /* Keep an embedded profile as it is: no comparison with libpng's list of sRGB ones. */
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
    /* Every chunk's CRC-32 already covers the compressed image data; zlib's Adler-32 of
     * the inflated bytes would check it a second time at about 6% of the whole run's
     * instructions on small photos (as browsers' PNG decoders do, e.g. Chromium's). */
#ifdef PNG_IGNORE_ADLER32 /* libpng 1.6.26 and later */
    png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
    png_read_info(png, st->info);
}

/* Everything to 8- or 16-bit G, GA, RGB or RGBA (see the top of the file). */
static void set_transforms(png_structp png, void *ctx)
{
    struct png_reader *st = ctx;
    int color = png_get_color_type(png, st->info);
    int depth = png_get_bit_depth(png, st->info);
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_packing(png); /* 1/2/4-bit indices to a byte each, not scaled */
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png); /* scales: 1-bit 1 -> 255, 2-bit 3 -> 255 */
    if (png_get_valid(png, st->info, PNG_INFO_tRNS) && !st->palette)
        png_set_tRNS_to_alpha(png);
    if (depth == 16 && host_is_little_endian())
        png_set_swap(png); /* PNG samples are big-endian */
    st->passes = png_set_interlace_handling(png);
    png_read_update_info(png, st->info);
}

/* libpng's allocations while reading. Its check of a chunk's length against
 * png_set_chunk_malloc_max is a benign error, only a warning when reading (libpng 1.6), so
 * a 45-byte file declaring a 1 GiB eXIf chunk had it allocate 1 GiB: every allocation
 * above st->alloc_max is refused here instead, and so the file (on_png_warning). */
static png_voidp png_reader_malloc(png_structp png, png_alloc_size_t size)
{
    struct png_reader *st = png_get_mem_ptr(png);
    if (size > st->alloc_max)
        return NULL;
    void *p = malloc(size);
    st->out_of_memory |= !p;
    return p;
}

/* libpng's frees, reading and writing. */
static void png_free_hook(png_structp png, png_voidp p)
{
    (void)png;
    free(p);
}

static int create_read_struct(struct png_reader *st, struct pool_error *err)
{
    st->alloc_max = CHUNK_MALLOC_MAX;
    st->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &st->msg, on_png_error,
                                       on_png_warning, st, png_reader_malloc, png_free_hook);
    if (st->png)
        st->info = png_create_info_struct(st->png);
    if (st->out_of_memory)
        return pool_fail_resource(err, "out of memory for the PNG decoder");
    if (!st->png || !st->info)
        return pool_fail(err, "cannot start libpng (a libpng other than the one pool was "
                              "built with)");
    return 0;
}

static void read_palette(struct png_reader *st, struct image_meta *m)
{
    png_colorp colours;
    int ncolours = 0, nalpha = 0;
    png_bytep alpha;
    m->color = COLOR_PALETTE;
    if (png_get_PLTE(st->png, st->info, &colours, &ncolours))
        for (int i = 0; i < ncolours && i < 256; i++) {
            m->palette[i][0] = colours[i].red;
            m->palette[i][1] = colours[i].green;
            m->palette[i][2] = colours[i].blue;
        }
    m->palette_len = ncolours < 0 ? 0 : ncolours > 256 ? 256 : (unsigned)ncolours;
    if (png_get_tRNS(st->png, st->info, &alpha, &nalpha, NULL) && alpha)
        memcpy(m->palette_alpha, alpha, (size_t)(nalpha > 256 ? 256 : nalpha < 0 ? 0 : nalpha));
    m->palette_alpha_len = nalpha < 0 ? 0 : nalpha > 256 ? 256 : (unsigned)nalpha;
}

/* The palette and its tRNS as RGBA, for expanding indices: 3 channels, or 4 with tRNS. */
static size_t read_colours(struct png_reader *st)
{
    png_colorp plte;
    int n = 0, nalpha = 0;
    png_bytep alpha = NULL;
    if (!png_get_PLTE(st->png, st->info, &plte, &n))
        n = 0;
    st->ncolours = n < 0 ? 0 : n > 256 ? 256 : (unsigned)n;
    if (!png_get_tRNS(st->png, st->info, &alpha, &nalpha, NULL) || !alpha)
        nalpha = 0;
    for (unsigned i = 0; i < st->ncolours; i++) {
        st->colours[i][0] = plte[i].red;
        st->colours[i][1] = plte[i].green;
        st->colours[i][2] = plte[i].blue;
        st->colours[i][3] = (int)i < nalpha ? alpha[i] : 255;
    }
    return nalpha > 0 ? 4 : 3;
}

static int read_meta(struct tensor_reader *r, struct pool_error *err)
{
    struct png_reader *st = r->state;
    struct image_meta *m = &r->meta;
    m->color = st->channels <= 2 ? COLOR_GRAY : COLOR_RGB;
    m->has_alpha = st->channels == 2 || st->channels == 4;
    m->palette_expanded = st->palette && !st->palette_index;
    if (st->palette_index)
        read_palette(st, m);
    png_bytep exif;
    png_uint_32 exif_len;
    m->orientation = 1;
    if (png_get_eXIf_1(st->png, st->info, &exif_len, &exif) && exif_len > 0) {
        if (!(m->exif = malloc(exif_len)))
            return pool_fail_resource(err, "out of memory for the EXIF data");
        memcpy(m->exif, exif, exif_len);
        m->exif_len = exif_len;
        m->orientation = exif_orientation(m->exif, m->exif_len);
        if (!m->orientation)
            return pool_fail_resource(err, "out of memory for the EXIF data");
    }
    png_charp name;
    int compression;
    png_bytep profile;
    png_uint_32 len;
    if (png_get_iCCP(st->png, st->info, &name, &compression, &profile, &len) && len > 0) {
        m->icc = malloc(len);
        if (!m->icc)
            return pool_fail_resource(err, "out of memory");
        memcpy(m->icc, profile, len);
        m->icc_len = len;
    }
    /* libpng 1.6 also reports the gamma an sRGB chunk implies, as if gAMA were there. */
    double gamma;
    if (png_get_valid(st->png, st->info, PNG_INFO_gAMA) &&
        png_get_gAMA(st->png, st->info, &gamma)) {
        m->has_gamma = true;
        m->gamma = gamma;
    }
    int intent;
    if (png_get_sRGB(st->png, st->info, &intent)) {
        m->has_srgb = true;
        m->srgb_intent = intent;
    }
    return 0;
}

/* On failure r->state may hold libpng's structs; reader_close (ops->destroy) frees them. */
int png_read_header(struct tensor_reader *r, struct pool_error *err)
{
    struct png_reader *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    r->state = st;
    st->src = r->src;
    if (read_signature(st, err) || create_read_struct(st, err))
        return -1;
    if (run_guarded(st->png, read_info, st) || st->out_of_memory)
        return read_failure(st, "header", err);
    st->palette = png_get_color_type(st->png, st->info) == PNG_COLOR_TYPE_PALETTE;
    st->palette_index = st->palette && r->opt->palette_index;
    st->width = png_get_image_width(st->png, st->info);
    st->height = png_get_image_height(st->png, st->info);
    if (image_check_pixels(st->width, st->height, r->opt->max_pixels, err))
        return -1;
    /* libpng's row buffers: up to 8 bytes a pixel (16-bit RGBA), and its slack. */
    if (st->width < (SIZE_MAX - 4096) / 8 && st->width * 8 + 4096 > st->alloc_max)
        st->alloc_max = st->width * 8 + 4096;
    if (run_guarded(st->png, set_transforms, st) || st->out_of_memory)
        return read_failure(st, "header", err);
    if (st->animated)
        reader_note(r, "an animated PNG: its default image is pooled, its frames left out",
                    "an animated PNG (acTL: %lu frame%s): its default image is pooled, the "
                    "animation left out",
                    (unsigned long)st->animation_frames, st->animation_frames == 1 ? "" : "s");
    st->channels = png_get_channels(st->png, st->info);
    int depth = png_get_bit_depth(st->png, st->info);
    if ((depth != 8 && depth != 16) || st->channels < 1 || st->channels > 4 ||
        png_get_rowbytes(st->png, st->info) != st->width * st->channels * (size_t)(depth / 8))
        return pool_fail(err,
                         "bad PNG data (header): unexpected %d-bit %zu-channel rows "
                         "after conversion",
                         depth, st->channels);
    if (st->palette && !st->palette_index)
        st->channels = read_colours(st);
    /* a row as handed out; libpng's rows of indices fill the start of each */
    st->row_bytes = st->width * st->channels * (size_t)(depth / 8);
    image_set_shape(r, st->height, st->width, st->channels, depth == 16 ? DT_U16 : DT_U8);
    size_t whole = 0;
    if (st->passes > 1 &&
        pool_check_memory(
            __builtin_mul_overflow(st->height, st->row_bytes, &whole) ? SIZE_MAX : whole, 0,
            reader_max_memory(r->opt), "an interlaced PNG, decoded whole, needs", err))
        return -1;
    r->memory_held = st->passes > 1 ? whole : 0;
    return read_meta(r, err);
}

static void read_rows(png_structp png, void *ctx)
{
    struct png_reader *st = ctx;
    for (size_t i = 0; i < st->dest_rows; i++) {
        png_read_row(png, st->dest + i * st->row_bytes, NULL);
        st->next_row++;
    }
}

/* Each pass visits every row: libpng skips the rows a pass has no pixels in, and merges
 * the pass's pixels into the others already there. */
static void read_passes(png_structp png, void *ctx)
{
    struct png_reader *st = ctx;
    for (st->pass = 0; st->pass < st->passes; st->pass++)
        for (st->pass_row = 0; st->pass_row < st->height; st->pass_row++)
            png_read_row(png, st->image + st->pass_row * st->row_bytes, NULL);
}

static int decode_interlaced(struct png_reader *st, struct pool_error *err)
{
    if (st->height > SIZE_MAX / st->row_bytes)
        return pool_fail(err,
                         "an interlaced PNG is decoded whole, and this one does not fit "
                         "in memory (%zu rows of %zu bytes)",
                         st->height, st->row_bytes);
    /* Zeroed, so that no byte is undefined before the last pass has filled it. */
    st->image = calloc(st->height, st->row_bytes);
    if (!st->image)
        return pool_fail_resource(err,
                                  "out of memory: an interlaced PNG is decoded whole (%zu bytes)",
                                  st->height * st->row_bytes);
    if (run_guarded(st->png, read_passes, st) || st->out_of_memory) {
        char where[96];
        snprintf(where, sizeof where, "interlace pass %d of %d, row %zu of %zu", st->pass + 1,
                 st->passes, st->pass_row + 1, st->height);
        return read_failure(st, where, err);
    }
    return 0;
}

/* Indices must name colours: the palette's are all the writer can put back, and all an
 * expansion can look up. */
static int check_indices(const unsigned char *index, size_t n, unsigned colours,
                         struct pool_error *err)
{
    unsigned highest = 0;
    for (size_t i = 0; i < n; i++)
        highest = index[i] > highest ? index[i] : highest;
    if (highest >= colours)
        return pool_fail(err, "bad PNG data: palette index %u, and the palette has %u colours",
                         highest, colours);
    return 0;
}

/* rows rows of buf, each row_bytes long and starting with its width indices: checked, and
 * then (unless handed out as indices) expanded in place, from the end, to RGB or RGBA. */
static int finish_palette_rows(const struct tensor_reader *r, unsigned char *buf, size_t rows,
                               struct pool_error *err)
{
    const struct png_reader *st = r->state;
    if (st->palette_index)
        return check_indices(buf, rows * st->width, r->meta.palette_len, err);
    for (size_t y = 0; y < rows; y++) {
        unsigned char *row = buf + y * st->row_bytes;
        if (check_indices(row, st->width, st->ncolours, err))
            return -1;
        for (size_t x = st->width; x-- > 0;)
            memcpy(row + x * st->channels, st->colours[row[x]], st->channels);
    }
    return 0;
}

static int png_reader_read(struct tensor_reader *r, void *buf, size_t count, struct pool_error *err)
{
    struct png_reader *st = r->state;
    if (st->failed)
        return pool_fail(err, "the PNG decoder failed before");
    size_t row_elems = st->width * st->channels;
    if (count % row_elems)
        return pool_fail(err, "PNG rows are read whole (%zu elements), not %zu elements", row_elems,
                         count);
    size_t rows = count / row_elems;
    if (rows > st->height - st->next_row)
        return pool_fail(err, "asked for %zu rows, only %zu are left", rows,
                         st->height - st->next_row);
    if (st->passes > 1) {
        if (!st->image && decode_interlaced(st, err))
            return -1;
        memcpy(buf, st->image + st->next_row * st->row_bytes, rows * st->row_bytes);
        st->next_row += rows;
        return st->palette ? finish_palette_rows(r, buf, rows, err) : 0;
    }
    st->dest = buf;
    st->dest_rows = rows;
    if (run_guarded(st->png, read_rows, st) || st->out_of_memory) {
        char where[64];
        snprintf(where, sizeof where, "row %zu of %zu", st->next_row + 1, st->height);
        return read_failure(st, where, err);
    }
    return st->palette ? finish_palette_rows(r, buf, rows, err) : 0;
}

static void read_end(png_structp png, void *ctx)
{
    png_read_end(png, NULL);
    (void)ctx;
}

/* Reads to IEND, checking the CRCs of the chunks after the image data. */
static int png_reader_finish(struct tensor_reader *r, struct pool_error *err)
{
    struct png_reader *st = r->state;
    if (st->failed)
        return pool_fail(err, "the PNG decoder failed before");
    if (st->next_row < st->height)
        return pool_fail(err, "the image was not read to its end");
    if (run_guarded(st->png, read_end, NULL) || st->out_of_memory)
        return read_failure(st, "after the last row", err);
    return 0;
}

static void png_reader_destroy(struct tensor_reader *r)
{
    struct png_reader *st = r->state;
    if (!st)
        return;
    if (st->png)
        png_destroy_read_struct(&st->png, &st->info, NULL);
    free(st->image);
    free(st);
    r->state = NULL;
}

const struct reader_ops png_reader_ops = {
    .format = FORMAT_PNG,
    .read = png_reader_read,
    .finish = png_reader_finish,
    .destroy = png_reader_destroy,
};

/* ---- writer ---- */

struct png_writer {
    png_structp png;
    png_infop info;
    struct png_messages msg;
    FILE *out;
    bool failed; /* libpng failed: its state is undefined, stop using it */
    bool write_failed;
    int write_errno;
    /* An allocation libpng asked for failed: it fails the write, even where libpng went
     * on without (benign errors are on: it would leave a colour chunk out). */
    bool out_of_memory;
    const struct image_meta *meta;
    int level;
    struct image_dims dims;
    size_t row_elems, row_bytes, rows_written;
    const unsigned char *src; /* the rows of the current guarded write */
    size_t src_rows;
    bool palette;        /* indices into meta's palette: a palette PNG */
    unsigned char *exif; /* the eXIf chunk's data, or NULL */
    size_t exif_len;
};

static void write_to_file(png_structp png, png_bytep data, size_t n)
{
    struct png_writer *st = png_get_io_ptr(png);
    errno = 0;
    if (fwrite(data, 1, n, st->out) == n)
        return;
    st->write_failed = true;
    st->write_errno = errno;
    png_error(png, "write failed");
}

static void flush_nothing(png_structp png)
{
    (void)png; /* finish() flushes the FILE once, at the end */
}

static int write_failure(struct png_writer *st, struct pool_error *err)
{
    st->failed = true;
    if (st->write_failed)
        return pool_fail(err, "write failed: %s",
                         st->write_errno ? strerror(st->write_errno) : "i/o error");
    if (st->out_of_memory)
        return pool_fail_resource(err, "out of memory for the PNG encoder");
    return pool_fail(err, "cannot write PNG: %s", st->msg.error);
}

/* libpng's allocations while writing, zlib's among them: as libpng's own, but noted. */
static png_voidp png_writer_malloc(png_structp png, png_alloc_size_t size)
{
    struct png_writer *st = png_get_mem_ptr(png);
    void *p = malloc(size);
    st->out_of_memory |= !p;
    return p;
}

/*
 * Filters and deflate strategy by zlib level. Measured with zlib 1.2.13 on photos (a 4x
 * upscale of skimage's astronaut, and the astronaut itself): one fixed filter with
 * run-length deflate (Z_RLE) is both the fastest and the smallest of the fast settings,
 * smaller even than adaptive filtering at level 9. Of the fixed filters, Average beats
 * Paeth on photos: 0.3% smaller on the 500 RGB PNGs of the W6 benchmark and 1.3% on its
 * 46-megapixel photo, and 10-15% less CPU for the whole W6 run (Paeth's predictor
 * branches on every byte); 1.4% larger on skimage's mix with text. Z_RLE only finds runs,
 * so text and line art come out larger than with full matching: levels 4-9 use adaptive
 * filtering with zlib's normal matching at that level. Z_RLE ignores the level, so 1-3
 * are the same.
 */
static void set_compression(png_structp png, int level)
{
    if (level < 0)
        level = 0;
    if (level > 9)
        level = 9;
    png_set_compression_level(png, level);
    png_set_compression_buffer_size(png, IDAT_CHUNK_SIZE);
    if (level == 0) {
        png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
    } else if (level <= 3) {
        png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_AVG);
        png_set_compression_strategy(png, Z_RLE);
    } else {
        png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_ALL_FILTERS);
        png_set_compression_strategy(png, Z_FILTERED);
    }
}

/* An ICC profile says everything about colour; otherwise sRGB and gamma as they came. */
static void set_color_chunks(png_structp png, png_infop info, const struct image_meta *m)
{
    if (m->icc && m->icc_len > 0 && m->icc_len <= PNG_UINT_31_MAX) {
        png_set_iCCP(png, info, ICC_PROFILE_NAME, PNG_COMPRESSION_TYPE_BASE, m->icc,
                     (png_uint_32)m->icc_len);
        return;
    }
    if (m->has_srgb)
        png_set_sRGB(png, info, m->srgb_intent);
    /* libpng stores gamma * 100000 in 32 bits and fails hard past that; it checks the rest. */
    if (m->has_gamma && m->gamma > 0 && m->gamma < 20000)
        png_set_gAMA(png, info, m->gamma);
}

/* The input's palette and its tRNS alphas, unchanged: pooled indices keep their colours. */
static void set_palette(png_structp png, png_infop info, const struct image_meta *m)
{
    png_color colours[256];
    for (unsigned i = 0; i < m->palette_len; i++)
        colours[i] = (png_color){m->palette[i][0], m->palette[i][1], m->palette[i][2]};
    png_set_PLTE(png, info, colours, (int)m->palette_len);
    if (m->palette_alpha_len)
        png_set_tRNS(png, info, m->palette_alpha, (int)m->palette_alpha_len, NULL);
}

static void write_header(png_structp png, void *ctx)
{
    static const int color_types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                      PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    struct png_writer *st = ctx;
    png_set_write_fn(png, st, write_to_file, flush_nothing);
    /* Colour chunks libpng finds invalid (a profile for another colour space, a gamma that
     * contradicts sRGB) are left out with a warning instead of failing the write. */
    png_set_benign_errors(png, 1);
    png_set_IHDR(png, st->info, (png_uint_32)st->dims.width, (png_uint_32)st->dims.height,
                 st->dims.dtype == DT_U16 ? 16 : 8,
                 st->palette ? PNG_COLOR_TYPE_PALETTE : color_types[st->dims.channels - 1],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    if (st->palette)
        set_palette(png, st->info, st->meta);
    set_compression(png, st->level);
    set_color_chunks(png, st->info, st->meta);
    if (st->exif && st->exif_len <= PNG_UINT_31_MAX)
        png_set_eXIf_1(png, st->info, (png_uint_32)st->exif_len, st->exif);
    png_write_info(png, st->info);
    if (st->dims.dtype == DT_U16 && host_is_little_endian())
        png_set_swap(png);
}

static int png_writer_begin(struct tensor_writer *w, struct pool_error *err)
{
    struct image_dims dims;
    if (image_dims_from_shape(&w->shape, FORMAT_PNG, &dims, err))
        return -1;
    if (w->meta->color == COLOR_CMYK)
        return pool_fail(err, "PNG has no CMYK colour: write .npy or JPEG instead");
    if (dims.width > PNG_UINT_31_MAX || dims.height > PNG_UINT_31_MAX)
        return pool_fail(err, "PNG stores at most %lu pixels a side, and this image is %zux%zu",
                         (unsigned long)PNG_UINT_31_MAX, dims.width, dims.height);
    struct png_writer *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    w->state = st;
    st->out = w->out;
    st->meta = w->meta;
    st->level = w->opt->png_level;
    st->dims = dims;
    st->palette = w->meta->color == COLOR_PALETTE && w->meta->palette_len > 0 &&
                  dims.channels == 1 && dims.dtype == DT_U8;
    if (image_exif_for_output(w->meta, dims.width, dims.height, &st->exif, &st->exif_len, err))
        return -1;
    st->row_elems = dims.width * dims.channels;
    st->row_bytes = st->row_elems * dtype_size(dims.dtype);
    st->png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &st->msg, on_png_error,
                                        on_png_warning, st, png_writer_malloc, png_free_hook);
    if (st->png)
        st->info = png_create_info_struct(st->png);
    if (st->out_of_memory)
        return pool_fail_resource(err, "out of memory for the PNG encoder");
    if (!st->png || !st->info)
        return pool_fail(err, "cannot start libpng (a libpng other than the one pool was "
                              "built with)");
    /* libpng refuses to write more than a million rows or columns unless told: the
     * format's own limit is 2^31 - 1 (PNG spec, section 11.2.2). */
    png_set_user_limits(st->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    if (run_guarded(st->png, write_header, st) || st->out_of_memory)
        return write_failure(st, err);
    return 0;
}

static void write_rows(png_structp png, void *ctx)
{
    struct png_writer *st = ctx;
    for (size_t i = 0; i < st->src_rows; i++) {
        png_write_row(png, st->src + i * st->row_bytes);
        st->rows_written++;
    }
}

static int png_writer_write(struct tensor_writer *w, const void *buf, size_t count,
                            struct pool_error *err)
{
    struct png_writer *st = w->state;
    if (st->failed)
        return pool_fail(err, "the PNG encoder failed before");
    if (count % st->row_elems)
        return pool_fail(err, "PNG rows are written whole (%zu elements), not %zu elements",
                         st->row_elems, count);
    size_t rows = count / st->row_elems;
    if (rows > st->dims.height - st->rows_written)
        return pool_fail(err, "more rows than the image holds (%zu)", st->dims.height);
    const unsigned char *index = buf;
    for (size_t i = 0; st->palette && i < count; i++)
        if (index[i] >= st->meta->palette_len)
            return pool_fail(err, "palette index %u is past the palette's %u colours", index[i],
                             st->meta->palette_len);
    st->src = buf;
    st->src_rows = rows;
    if (run_guarded(st->png, write_rows, st) || st->out_of_memory)
        return write_failure(st, err);
    return 0;
}

static void write_end(png_structp png, void *ctx)
{
    png_write_end(png, NULL);
    (void)ctx;
}

static int png_writer_finish(struct tensor_writer *w, struct pool_error *err)
{
    struct png_writer *st = w->state;
    if (st->failed)
        return pool_fail(err, "the PNG encoder failed before");
    if (st->rows_written != st->dims.height)
        return pool_fail(err, "wrote %zu of the %zu rows of the image", st->rows_written,
                         st->dims.height);
    if (run_guarded(st->png, write_end, NULL) || st->out_of_memory)
        return write_failure(st, err);
    if (fflush(w->out))
        return pool_fail(err, "write failed: %s", strerror(errno));
    return 0;
}

static void png_writer_destroy(struct tensor_writer *w)
{
    struct png_writer *st = w->state;
    if (!st)
        return;
    if (st->png)
        png_destroy_write_struct(&st->png, &st->info);
    free(st->exif);
    free(st);
    w->state = NULL;
}

const struct writer_ops png_writer_ops = {
    .format = FORMAT_PNG,
    .begin = png_writer_begin,
    .write = png_writer_write,
    .finish = png_writer_finish,
    .destroy = png_writer_destroy,
};

/*
 * JPEG through libjpeg-turbo's libjpeg API (jpeglib.h; libjpeg.txt in its sources documents
 * it). libjpeg reports errors by longjmp: each libjpeg call runs inside run_guarded(), the one
 * setjmp, and the error text it leaves becomes the pool_error.
 *
 * The decoder is strict where pixels are at stake: corrupt entropy-coded data, and data cut
 * short, are errors (libjpeg would warn, make up the pixels and go on; its usual sources
 * even invent an end-of-image marker), unless reader_options.lenient takes what libjpeg
 * makes, with a note. Warnings that change no pixel (bytes between markers before the
 * first scan, a corrupt ICC profile) are notes. Data after the end-of-image marker is ignored, as every decoder does:
 * cameras and phones append previews and trailers there.
 *
 * Pixels come out as libjpeg's ISLOW DCT and fancy upsampling make them: what Pillow decodes
 * with the same libjpeg. CMYK is handed out with 0 = no ink; in the file it is inverted (the
 * Adobe convention, which Photoshop and libjpeg itself write). Pillow assumes that
 * convention for every CMYK JPEG, with or without Adobe's APP14 marker, and so do we.
 *
 * Memory: a baseline (sequential, single-scan) image streams a few rows at a time. A
 * progressive or multi-scan image is held whole by libjpeg as DCT coefficients (about 2 bytes
 * per pixel and component, less with chroma subsampling) while it is read: the format puts
 * each pixel's data in every scan. Writing streams the same way: baseline writes as rows
 * come, progressive output (and Huffman optimisation, which we leave off) keeps the whole
 * image's coefficients until the end.
 */
#include "codec.h"
#include "formats.h"
#include "exif.h"
#include "image.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#define JPEG_CHUNK (64 * 1024) /* bytes read or written at a time */
#define JPEG_ROWS_PER_CALL 16  /* rows asked of libjpeg per call */
/* An ICC profile is split over at most 255 APP2 markers of 65519 bytes (ICC.1, annex B.4). */
#define JPEG_ICC_MAX (255UL * 65519UL)
#define JPEG_DEFAULT_QUALITY 90

bool jpeg_sniff(const unsigned char *bytes, size_t n)
{
    /* SOI (FF D8), then the first marker's FF. */
    return n >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

/* ---- errors: libjpeg's error manager, made to longjmp with its text ---- */

struct strict_errors {
    struct jpeg_error_mgr pub; /* what libjpeg sees */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX + 64];
};

static _Noreturn void jump_out(j_common_ptr cinfo)
{
    struct strict_errors *e = (struct strict_errors *)cinfo->err;
    longjmp(e->jump, 1);
}

/* Fails with our own text, from inside a libjpeg callback. */
static _Noreturn void fail_with(j_common_ptr cinfo, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static _Noreturn void fail_with(j_common_ptr cinfo, const char *fmt, ...)
{
    struct strict_errors *e = (struct strict_errors *)cinfo->err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    jump_out(cinfo);
}

/* libjpeg's text for its current message, lower-cased like our own reasons. */
static _Noreturn void fail_with_library_message(j_common_ptr cinfo)
{
    struct strict_errors *e = (struct strict_errors *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    if (isupper((unsigned char)text[0]) && islower((unsigned char)text[1]))
        text[0] = (char)tolower((unsigned char)text[0]);
    /* libjpeg says this of a frame header declaring a width, height or component count of
     * 0; only a height of 0 could mean a DNL marker, which no decoder reads */
    if (cinfo->err->msg_code == JERR_EMPTY_IMAGE)
        snprintf(text, sizeof text,
                 "the frame header (SOF) declares an empty image: a width, "
                 "height or number of components of 0");
    snprintf(e->msg, sizeof e->msg, "%s", text);
    jump_out(cinfo);
}

static void on_error_exit(j_common_ptr cinfo) { fail_with_library_message(cinfo); }

static void on_jpeg_warning(j_common_ptr cinfo);

/* Warnings are level -1 (trace messages, level >= 0, are dropped): see on_jpeg_warning. */
static void on_emit_message(j_common_ptr cinfo, int level)
{
    if (level < 0)
        on_jpeg_warning(cinfo);
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; } /* never print */

static void strict_errors_init(struct strict_errors *e)
{
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error_exit;
    e->pub.emit_message = on_emit_message;
    e->pub.output_message = on_output_message;
    e->msg[0] = '\0';
}

/* The one setjmp: runs a step that calls libjpeg; -1 with e->msg set if it failed. The step
 * keeps its progress in its context, never in locals of this frame. */
static int run_guarded(struct strict_errors *e, void (*step)(void *ctx), void *ctx)
{
    if (setjmp(e->jump))
        return -1;
    step(ctx);
    return 0;
}

/* ---- reader ---- */

enum decode_phase { PHASE_HEADER, PHASE_START, PHASE_ROWS, PHASE_FINISH };

struct jpeg_reader {
    struct jpeg_decompress_struct cinfo;
    struct strict_errors errors;
    struct jpeg_source_mgr source;
    struct jpeg_progress_mgr progress;
    struct byte_source *src;
    struct tensor_reader *owner; /* for its notes */
    int max_scans;
    size_t budget; /* reader_max_memory */
    bool lenient;
    bool salvageable; /* failed on corrupt or missing data: --lenient would go on */
    enum decode_phase phase;
    bool created; /* cinfo needs jpeg_destroy_decompress */
    bool failed;  /* libjpeg's state is unusable: nothing more is asked of it */
    bool inverted_cmyk;
    size_t channels, row_bytes;
    /* Rows handed out: libjpeg's output_height, or one fewer when a shrink drops the
     * partial last row. */
    size_t height;
    /* A shrink that drops a partial last column, or row: libjpeg decodes into these
     * JPEG_ROWS_PER_CALL rows of its own width (wide_row_bytes), and the rows handed out
     * are their first row_bytes. NULL: libjpeg decodes straight into the caller's rows. */
    unsigned char *wide_rows;
    size_t wide_row_bytes;
    JOCTET *icc; /* found by the header step, handed to meta */
    unsigned icc_len;
    /* The rows step's work: rows_done of rows_wanted rows into out. */
    unsigned char *out;
    size_t rows_wanted, rows_done;
    JOCTET buffer[JPEG_CHUNK];
};

static struct jpeg_reader *reader_of(j_decompress_ptr cinfo) { return cinfo->client_data; }

/* libjpeg's warnings by what they mean for the pixels. Harmless ones change no pixel and
 * become notes, as libjpeg-turbo's djpeg and Pillow go on past them: bytes between markers
 * before the first scan (JWRN_EXTRANEOUS_DATA; cameras leave padding there; after a scan
 * they may be its damaged end), an unknown Adobe transform code or JFIF version, zeros in a
 * baseline scan's spectral selection, a corrupt ICC profile (dropped). Any other warning
 * means the entropy-coded data is corrupt or cut short (JWRN_HIT_MARKER, JWRN_JPEG_EOF,
 * JWRN_HUFF_BAD_CODE, JWRN_MUST_RESYNC...), and libjpeg would go on making up pixels: an
 * error, unless --lenient, which takes the image as libjpeg makes it, with a note. */
static const char *place(const struct jpeg_reader *st, char where[64]);

static void on_jpeg_warning(j_common_ptr cinfo)
{
    struct jpeg_reader *st = reader_of((j_decompress_ptr)cinfo);
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    int code = cinfo->err->msg_code;
    /* bytes skipped after entropy-coded data may be what is left of a damaged scan */
    if (code == JWRN_EXTRANEOUS_DATA && ((j_decompress_ptr)cinfo)->input_scan_number > 0)
        code = JWRN_HIT_MARKER;
    switch (code) {
    case JWRN_JFIF_MAJOR:
    case JWRN_ADOBE_XFORM: return; /* how the image decodes does not change */
    case JWRN_NOT_SEQUENTIAL:
        /* zeros where a baseline scan's spectral selection belongs: libjpeg ignores them
         * (jdhuff.c: "there are some baseline files out there with all zeroes") */
        return;
    case JWRN_EXTRANEOUS_DATA:
        reader_note(st->owner, "JPEG: stray bytes between markers, skipped; the pixels are intact",
                    "JPEG: libjpeg says \"%s\": stray bytes between markers, skipped; the "
                    "pixels are intact",
                    text);
        return;
    case JWRN_BOGUS_ICC:
        reader_note(st->owner, "JPEG: a corrupt ICC profile, left out",
                    "JPEG: libjpeg says \"%s\": the ICC profile is left out", text);
        return;
    default:
        st->salvageable = true;
        if (!st->lenient)
            fail_with_library_message(cinfo);
        char where[64];
        reader_note(st->owner, "a corrupt or truncated JPEG, decoded as far as it goes (--lenient)",
                    "libjpeg says \"%s\" %s: decoded as far as it goes (--lenient); from there "
                    "on libjpeg makes up the pixels",
                    text, place(st, where));
    }
}

static void source_init(j_decompress_ptr cinfo) { (void)cinfo; }
static void source_term(j_decompress_ptr cinfo) { (void)cinfo; }

/* Refills the buffer; never returns without data (no suspension), fails at the end instead
 * of inventing an end-of-image marker as libjpeg's own sources do. */
static boolean source_fill(j_decompress_ptr cinfo)
{
    struct jpeg_reader *st = reader_of(cinfo);
    errno = 0;
    size_t got = source_read(st->src, st->buffer, sizeof st->buffer);
    if (got == 0 && source_failed(st->src))
        fail_with((j_common_ptr)cinfo, "read failed: %s", errno ? strerror(errno) : "i/o error");
    if (got == 0 && st->src->consumed == 0)
        fail_with((j_common_ptr)cinfo, "empty input");
    if (got == 0)
        st->salvageable = st->phase != PHASE_HEADER;
    if (got == 0 && (st->phase == PHASE_HEADER || !st->lenient))
        fail_with((j_common_ptr)cinfo, "truncated JPEG %s",
                  st->phase == PHASE_HEADER ? "header" : "data");
    if (got == 0) { /* --lenient: libjpeg's own sources' stand-in end (as often as asked) */
        WARNMS(cinfo, JWRN_JPEG_EOF);
        st->buffer[0] = 0xFF;
        st->buffer[1] = JPEG_EOI;
        got = 2;
    }
    cinfo->src->next_input_byte = st->buffer;
    cinfo->src->bytes_in_buffer = got;
    return TRUE;
}

static void source_skip(j_decompress_ptr cinfo, long count)
{
    struct jpeg_source_mgr *s = cinfo->src;
    if (count <= 0)
        return;
    while ((unsigned long)count > s->bytes_in_buffer) {
        count -= (long)s->bytes_in_buffer;
        source_fill(cinfo);
    }
    s->next_input_byte += count;
    s->bytes_in_buffer -= (size_t)count;
}

/* Each scan of a progressive file makes the decoder go over the whole image again: a
 * small file of thousands of tiny scans would take minutes. */
static void limit_scans(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    int most = reader_of(d)->max_scans;
    if (d->input_scan_number > most)
        fail_with(cinfo,
                  "more than %d scans (--max-scans): refused, as libjpeg-turbo's tools "
                  "refuse such files from untrusted sources",
                  most);
}

static void attach_source(struct jpeg_reader *st)
{
    st->source.init_source = source_init;
    st->source.fill_input_buffer = source_fill;
    st->source.skip_input_data = source_skip;
    st->source.resync_to_restart = jpeg_resync_to_restart;
    st->source.term_source = source_term;
    st->cinfo.src = &st->source;
    st->progress.progress_monitor = limit_scans;
    st->cinfo.progress = &st->progress;
}

/* What the decoder hands out for the file's color space: gray, RGB (from YCbCr or RGB) or
 * CMYK (from CMYK or YCCK). */
static void choose_output(struct jpeg_reader *st)
{
    j_decompress_ptr c = &st->cinfo;
    switch (c->jpeg_color_space) {
    case JCS_GRAYSCALE: c->out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: c->out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK:
        c->out_color_space = JCS_CMYK;
        st->inverted_cmyk = true;
        break;
    default:
        fail_with((j_common_ptr)c,
                  "unsupported JPEG color space (%d components, not gray, "
                  "YCbCr, RGB, CMYK or YCCK)",
                  c->num_components);
    }
}

static void step_read_header(void *ctx)
{
    struct jpeg_reader *st = ctx;
    j_decompress_ptr c = &st->cinfo;
    st->created = true; /* destroying a zeroed struct is harmless */
    jpeg_create_decompress(c);
    c->client_data = st;
    /* libjpeg's backstop for the budget checked in check_coefficients: with no backing
     * store (jmemnobs.c) it fails when its coefficient arrays would take more */
    c->mem->max_memory_to_use = (long)(st->budget > LONG_MAX ? LONG_MAX : st->budget);
    attach_source(st);
    jpeg_save_markers(c, JPEG_APP0 + 1, 0xFFFF); /* EXIF */
    jpeg_save_markers(c, JPEG_APP0 + 2, 0xFFFF); /* ICC */
    jpeg_read_header(c, TRUE);
    choose_output(st);
    /* Pillow's decode: accurate integer DCT, fancy upsampling (libjpeg's defaults). */
    c->dct_method = JDCT_ISLOW;
    c->do_fancy_upsampling = TRUE;
    jpeg_calc_output_dimensions(c);
    if (!jpeg_read_icc_profile(c, &st->icc, &st->icc_len)) {
        st->icc = NULL;
        st->icc_len = 0;
    }
}

static void step_start(void *ctx)
{
    struct jpeg_reader *st = ctx;
    /* A progressive or multi-scan file is read whole here. */
    jpeg_start_decompress(&st->cinfo);
}

/* Up to n rows (at most JPEG_ROWS_PER_CALL) into out, row_bytes apart; how many came. */
static size_t decode_rows(struct jpeg_reader *st, unsigned char *out, size_t n)
{
    JSAMPROW rows[JPEG_ROWS_PER_CALL];
    for (size_t i = 0; i < n; i++)
        rows[i] = st->wide_rows ? st->wide_rows + i * st->wide_row_bytes : out + i * st->row_bytes;
    JDIMENSION got = jpeg_read_scanlines(&st->cinfo, rows, (JDIMENSION)n);
    if (got == 0)
        fail_with((j_common_ptr)&st->cinfo, "the JPEG decoder gave no rows");
    for (size_t i = 0; st->wide_rows && out && i < got; i++)
        memcpy(out + i * st->row_bytes, rows[i], st->row_bytes);
    return got;
}

static void step_read_rows(void *ctx)
{
    struct jpeg_reader *st = ctx;
    while (st->rows_done < st->rows_wanted) {
        size_t n = st->rows_wanted - st->rows_done;
        st->rows_done += decode_rows(st, st->out + st->rows_done * st->row_bytes,
                                     n < JPEG_ROWS_PER_CALL ? n : JPEG_ROWS_PER_CALL);
    }
}

static void step_finish(void *ctx)
{
    struct jpeg_reader *st = ctx;
    /* A shrink's dropped last row is decoded all the same: the data up to the end of the
     * image is checked as without a shrink (jpeg_skip_scanlines would not read it). */
    while (st->cinfo.output_scanline < st->cinfo.output_height)
        decode_rows(st, NULL, 1);
    jpeg_finish_decompress(&st->cinfo);
}

/* Where in the image the decoder is, for messages: "(row 3 of 16)". */
static const char *place(const struct jpeg_reader *st, char where[64])
{
    const struct jpeg_decompress_struct *c = &st->cinfo;
    switch (st->phase) {
    case PHASE_HEADER: where[0] = '\0'; break;
    case PHASE_START:
        snprintf(where, 64, "(%sscan %d, before the first row)",
                 c->progressive_mode ? "progressive " : "", c->input_scan_number);
        break;
    case PHASE_ROWS:
        /* (a shrink's dropped row is read at finish: rows here are those handed out) */
        snprintf(where, 64, "(row %zu of %zu)",
                 c->output_scanline < st->height ? (size_t)c->output_scanline + 1 : st->height,
                 st->height);
        break;
    case PHASE_FINISH:
    default: snprintf(where, 64, "(after the last row)");
    }
    return where;
}

/* Turns a failed step into err, saying where in the image it failed, and that --lenient
 * would take what there is when the data were corrupt or cut short. */
static int decode_failed(struct jpeg_reader *st, struct pool_error *err)
{
    char where[64];
    st->failed = true;
    place(st, where);
    return pool_fail(err, "%s%s%s%s", st->errors.msg, where[0] ? " " : "", where,
                     st->salvageable ? "; --lenient decodes it as far as it goes" : "");
}

static enum color_space meta_color(J_COLOR_SPACE out)
{
    return out == JCS_GRAYSCALE ? COLOR_GRAY : out == JCS_CMYK ? COLOR_CMYK : COLOR_RGB;
}

/* The first APP1 segment that holds EXIF, copied into the meta with its orientation; -1
 * when out of memory. */
static int read_exif(const struct jpeg_decompress_struct *c, struct image_meta *m)
{
    static const char header[6] = "Exif\0";
    m->orientation = 1;
    for (jpeg_saved_marker_ptr s = c->marker_list; s; s = s->next) {
        if (s->marker != JPEG_APP0 + 1 || s->data_length <= sizeof header ||
            memcmp(s->data, header, sizeof header))
            continue;
        m->exif_len = s->data_length - sizeof header;
        if (!(m->exif = malloc(m->exif_len)))
            return -1;
        memcpy(m->exif, s->data + sizeof header, m->exif_len);
        m->orientation = exif_orientation(m->exif, m->exif_len);
        return m->orientation ? 0 : -1;
    }
    return 0;
}

/* A progressive or multi-scan file is held whole as DCT coefficients, 64 of 2 bytes per
 * 8x8 block of each component (libjpeg's jdcoefct.c), from the first scan to the last. */
static int check_coefficients(const struct jpeg_reader *st, struct pool_error *err)
{
    const struct jpeg_decompress_struct *c = &st->cinfo;
    if (!jpeg_has_multiple_scans((j_decompress_ptr)c))
        return 0;
    size_t bytes = 0, blocks;
    bool overflow = false;
    for (int i = 0; i < c->num_components; i++) {
        const jpeg_component_info *comp = &c->comp_info[i];
        overflow |= __builtin_mul_overflow((size_t)comp->width_in_blocks + comp->h_samp_factor,
                                           (size_t)comp->height_in_blocks + comp->v_samp_factor,
                                           &blocks) ||
                    __builtin_mul_overflow(blocks, sizeof(JBLOCK), &blocks) ||
                    __builtin_add_overflow(bytes, blocks, &bytes);
    }
    const char *what = c->progressive_mode
                           ? "a progressive JPEG, held whole as DCT coefficients, needs"
                           : "a multi-scan JPEG, held whole as DCT coefficients, needs";
    if (pool_check_memory(overflow ? SIZE_MAX : bytes, 0, st->budget, what, err))
        return -1;
    st->owner->memory_held = bytes;
    return 0;
}

/* On failure r->state may hold memory; reader_close (ops->destroy) frees it. */
int jpeg_codec_read_header(struct tensor_reader *r, struct pool_error *err)
{
    struct jpeg_reader *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    r->state = st;
    st->src = r->src;
    st->owner = r;
    st->max_scans = reader_max_scans(r->opt);
    st->budget = reader_max_memory(r->opt);
    st->lenient = r->opt->lenient;
    strict_errors_init(&st->errors);
    st->cinfo.err = &st->errors.pub;
    st->phase = PHASE_HEADER;
    if (run_guarded(&st->errors, step_read_header, st))
        return decode_failed(st, err);
    r->meta.icc = st->icc; /* malloc'd by libjpeg; reader_close frees it */
    r->meta.icc_len = st->icc_len;
    st->icc = NULL;
    if (read_exif(&st->cinfo, &r->meta))
        return pool_fail_resource(err, "out of memory for the EXIF data");
    const struct jpeg_decompress_struct *c = &st->cinfo;
    if (image_check_pixels(c->output_width, c->output_height, r->opt->max_pixels, err) ||
        check_coefficients(st, err))
        return -1;
    /* (the decoder starts at the first read: --plan and a refused output read no scan) */
    st->phase = PHASE_START;
    st->channels = (size_t)c->output_components;
    st->row_bytes = (size_t)c->output_width * st->channels;
    st->height = c->output_height;
    image_set_shape(r, c->output_height, c->output_width, st->channels, DT_U8);
    r->meta.color = meta_color(c->out_color_space);
    return 0;
}

static void invert(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(255 - p[i]);
}

static int jpeg_read(struct tensor_reader *r, void *buf, size_t count, struct pool_error *err)
{
    struct jpeg_reader *st = r->state;
    if (st->failed)
        return pool_fail(err, "the JPEG decoder failed before");
    if (count % st->row_bytes)
        return pool_fail(err, "asked for %zu elements, not a whole number of %zu-element rows",
                         count, st->row_bytes);
    size_t rows = count / st->row_bytes;
    size_t left = st->height - st->cinfo.output_scanline;
    if (rows > left)
        return pool_fail(err, "asked for %zu rows, only %zu are left", rows, left);
    if (st->phase == PHASE_START) {
        if (run_guarded(&st->errors, step_start, st))
            return decode_failed(st, err);
        st->phase = PHASE_ROWS;
    }
    st->out = buf;
    st->rows_wanted = rows;
    st->rows_done = 0;
    if (run_guarded(&st->errors, step_read_rows, st))
        return decode_failed(st, err);
    if (st->inverted_cmyk)
        invert(buf, count);
    return 0;
}

static int jpeg_reader_finish(struct tensor_reader *r, struct pool_error *err)
{
    struct jpeg_reader *st = r->state;
    if (st->failed)
        return pool_fail(err, "the JPEG decoder failed before");
    if (st->cinfo.output_scanline < st->height)
        return pool_fail(err, "the image was not read to its end (%u of %zu rows)",
                         st->cinfo.output_scanline, st->height);
    st->phase = PHASE_FINISH;
    if (run_guarded(&st->errors, step_finish, st)) {
        /* every row is out: --lenient keeps them, whatever follows */
        if (!st->lenient)
            return decode_failed(st, err);
        st->failed = true;
        reader_note(r, "a corrupt or truncated JPEG, decoded as far as it goes (--lenient)",
                    "libjpeg says \"%s\" after the last row: every row was decoded "
                    "(--lenient)",
                    st->errors.msg);
    }
    return 0;
}

static void step_scale(void *ctx)
{
    struct jpeg_reader *st = ctx;
    jpeg_calc_output_dimensions(&st->cinfo);
}

/* libjpeg's DCT scaling (libjpeg.txt, "scale_num/scale_denom"): each 8x8 block's inverse
 * DCT made at 8/k x 8/k, what Pillow's draft() and vips's shrink-on-load use. Its output is
 * ceil(W/k) x ceil(H/k), a partial block's last pixel standing for the fewer columns
 * left: that column and row are decoded and dropped here, so that the shape is the exact
 * pooling's floor(W/k) x floor(H/k) and the pixels kept are those Pillow's draft() gives. */
static int jpeg_shrink(struct tensor_reader *r, unsigned k, struct pool_error *err)
{
    struct jpeg_reader *st = r->state;
    j_decompress_ptr c = &st->cinfo;
    if (k != 2 && k != 4 && k != 8)
        return pool_fail(err, "the JPEG decoder shrinks by 2, 4 or 8, not %u", k);
    if (st->phase != PHASE_START || c->scale_denom != 1)
        return pool_fail(err, "the JPEG decoder can shrink an image once, before its rows");
    size_t width = c->image_width / k, height = c->image_height / k;
    if (width == 0 || height == 0)
        return pool_fail(err, "a %ux%u image has no whole %ux%u block to shrink", c->image_width,
                         c->image_height, k, k);
    c->scale_num = 1;
    c->scale_denom = k;
    if (run_guarded(&st->errors, step_scale, st))
        return decode_failed(st, err);
    st->wide_row_bytes = (size_t)c->output_width * st->channels;
    st->row_bytes = width * st->channels;
    st->height = height;
    if (width < c->output_width || height < c->output_height) {
        st->wide_rows = malloc(JPEG_ROWS_PER_CALL * st->wide_row_bytes);
        if (!st->wide_rows)
            return pool_fail_resource(err, "out of memory");
        r->memory_held += JPEG_ROWS_PER_CALL * st->wide_row_bytes;
    }
    r->shape.dims[0] = height;
    r->shape.dims[1] = width;
    return 0;
}

static void jpeg_reader_destroy(struct tensor_reader *r)
{
    struct jpeg_reader *st = r->state;
    if (!st)
        return;
    if (st->created)
        jpeg_destroy_decompress(&st->cinfo);
    free(st->icc);
    free(st->wide_rows);
    free(st);
    r->state = NULL;
}

const struct reader_ops jpeg_reader_ops = {
    .format = FORMAT_JPEG,
    .read = jpeg_read,
    .finish = jpeg_reader_finish,
    .shrink = jpeg_shrink,
    .destroy = jpeg_reader_destroy,
};

/* ---- writer ---- */

struct jpeg_writer {
    struct jpeg_compress_struct cinfo;
    struct strict_errors errors;
    struct jpeg_destination_mgr dest;
    FILE *out;
    bool created; /* cinfo needs jpeg_destroy_compress */
    bool failed;
    J_COLOR_SPACE color;
    int quality;
    bool progressive;
    const struct image_meta *meta;
    struct image_dims dims;
    size_t row_bytes;
    /* The rows step's work: rows_done of rows_wanted rows from in. */
    const unsigned char *in;
    size_t rows_wanted, rows_done;
    unsigned char *inverted_row; /* CMYK: one row in the file's Adobe polarity */
    unsigned char *exif;         /* the APP1 segment's data: "Exif\0\0" and the block */
    size_t exif_len;
    JOCTET buffer[JPEG_CHUNK];
};

static struct jpeg_writer *writer_of(j_compress_ptr cinfo) { return cinfo->client_data; }

static void dest_init(j_compress_ptr cinfo)
{
    struct jpeg_writer *st = writer_of(cinfo);
    st->dest.next_output_byte = st->buffer;
    st->dest.free_in_buffer = sizeof st->buffer;
}

static void write_bytes(j_compress_ptr cinfo, size_t n)
{
    struct jpeg_writer *st = writer_of(cinfo);
    errno = 0;
    if (n && fwrite(st->buffer, 1, n, st->out) != n)
        fail_with((j_common_ptr)cinfo, "write failed: %s", errno ? strerror(errno) : "i/o error");
}

/* libjpeg calls this when the buffer is full, whatever free_in_buffer says. */
static boolean dest_empty(j_compress_ptr cinfo)
{
    write_bytes(cinfo, sizeof writer_of(cinfo)->buffer);
    dest_init(cinfo);
    return TRUE;
}

static void dest_term(j_compress_ptr cinfo)
{
    struct jpeg_writer *st = writer_of(cinfo);
    write_bytes(cinfo, sizeof st->buffer - st->dest.free_in_buffer);
    dest_init(cinfo);
}

static void step_begin(void *ctx)
{
    struct jpeg_writer *st = ctx;
    j_compress_ptr c = &st->cinfo;
    st->created = true; /* destroying a zeroed struct is harmless */
    jpeg_create_compress(c);
    c->client_data = st;
    st->dest.init_destination = dest_init;
    st->dest.empty_output_buffer = dest_empty;
    st->dest.term_destination = dest_term;
    c->dest = &st->dest;
    c->image_width = (JDIMENSION)st->dims.width;
    c->image_height = (JDIMENSION)st->dims.height;
    c->input_components = (int)st->dims.channels;
    c->in_color_space = st->color;
    /* Defaults as Pillow's save(): YCbCr with 4:2:0 chroma for RGB, an Adobe marker for
     * CMYK, standard Huffman tables. */
    jpeg_set_defaults(c);
    jpeg_set_quality(c, st->quality, TRUE);
    c->dct_method = JDCT_ISLOW;
    if (st->progressive)
        jpeg_simple_progression(c);
    jpeg_start_compress(c, TRUE);
    if (st->exif)
        jpeg_write_marker(c, JPEG_APP0 + 1, st->exif, (unsigned)st->exif_len);
    if (st->meta->icc && st->meta->icc_len)
        jpeg_write_icc_profile(c, st->meta->icc, (unsigned)st->meta->icc_len);
}

static void step_write_rows(void *ctx)
{
    struct jpeg_writer *st = ctx;
    while (st->rows_done < st->rows_wanted) {
        const unsigned char *row = st->in + st->rows_done * st->row_bytes;
        if (st->inverted_row) {
            for (size_t i = 0; i < st->row_bytes; i++)
                st->inverted_row[i] = (unsigned char)(255 - row[i]);
            row = st->inverted_row;
        }
        /* libjpeg only reads the rows it is given: the cast drops a const it has no use for. */
        JSAMPROW rows[1] = {(JSAMPROW)row};
        if (jpeg_write_scanlines(&st->cinfo, rows, 1) != 1)
            fail_with((j_common_ptr)&st->cinfo, "the JPEG encoder took no row");
        st->rows_done++;
    }
}

static void step_finish_compress(void *ctx)
{
    struct jpeg_writer *st = ctx;
    jpeg_finish_compress(&st->cinfo);
}

/* 1 channel: gray; 3: RGB; 4: CMYK when the image was read as CMYK. */
static int choose_input_color(struct jpeg_writer *st, struct pool_error *err)
{
    switch (st->dims.channels) {
    case 1: st->color = JCS_GRAYSCALE; return 0;
    case 3: st->color = JCS_RGB; return 0;
    case 4:
        if (st->meta->color == COLOR_CMYK && !st->meta->has_alpha) {
            st->color = JCS_CMYK;
            return 0;
        }
        if (!st->meta->is_image)
            return pool_fail(err, "JPEG stores 4 channels as CMYK, which only a CMYK image has, "
                                  "and this tensor carries no colour space: write .npy or PNG");
        return pool_fail(err, "JPEG has no alpha channel, and this image has 4 channels "
                              "(RGBA; 4 channels are CMYK only when read from a CMYK image): "
                              "give --background COLOR to composite it, or write PNG");
    case 2:
        if (!st->meta->is_image)
            return pool_fail(err, "JPEG stores 1, 3 or 4 (CMYK) channels, and this tensor has "
                                  "2: write .npy or PNG");
        return pool_fail(err, "JPEG has no alpha channel, and this image has 2 channels (gray "
                              "and alpha): give --background COLOR to composite it, or write "
                              "PNG");
    default:
        return pool_fail(err,
                         "JPEG stores 1 (gray), 3 (RGB) or 4 (CMYK) channels, and this "
                         "image has %zu: write .npy instead",
                         st->dims.channels);
    }
}

static int check_writer_options(struct jpeg_writer *st, const struct writer_options *opt,
                                struct pool_error *err)
{
    /* 0 is an options struct nobody filled: the command line's default. */
    st->quality = opt->quality ? opt->quality : JPEG_DEFAULT_QUALITY;
    if (st->quality < 1 || st->quality > 100)
        return pool_fail(err, "JPEG quality must be 1 to 100, not %d", opt->quality);
    st->progressive = opt->jpeg_progressive;
    if (st->meta->icc && st->meta->icc_len > JPEG_ICC_MAX)
        return pool_fail(err,
                         "the ICC profile (%zu bytes) is larger than JPEG can hold (%lu "
                         "bytes)",
                         st->meta->icc_len, JPEG_ICC_MAX);
    if (st->dims.width > JPEG_MAX_DIMENSION || st->dims.height > JPEG_MAX_DIMENSION)
        return pool_fail(err,
                         "JPEG images are at most %ld pixels wide and high, and this one "
                         "is %zux%zu: write PNG instead",
                         JPEG_MAX_DIMENSION, st->dims.width, st->dims.height);
    return 0;
}

static int encode_failed(struct jpeg_writer *st, struct pool_error *err)
{
    st->failed = true;
    return pool_fail(err, "%s", st->errors.msg);
}

/* The input's EXIF for this output, as an APP1 segment's data; left out when it does not
 * fit one segment (65533 bytes). */
static int prepare_exif(struct jpeg_writer *st, struct pool_error *err)
{
    static const char header[6] = "Exif\0";
    unsigned char *block;
    size_t len;
    if (image_exif_for_output(st->meta, st->dims.width, st->dims.height, &block, &len, err))
        return -1;
    if (!block || len + sizeof header > 65533) {
        free(block);
        return 0;
    }
    st->exif = malloc(len + sizeof header);
    if (!st->exif) {
        free(block);
        return pool_fail_resource(err, "out of memory for the EXIF data");
    }
    memcpy(st->exif, header, sizeof header);
    memcpy(st->exif + sizeof header, block, len);
    st->exif_len = len + sizeof header;
    free(block);
    return 0;
}

static int jpeg_begin(struct tensor_writer *w, struct pool_error *err)
{
    struct image_dims dims;
    /* Any channel count passes here: choose_input_color says what JPEG can hold. */
    if (image_dims_from_shape(&w->shape, FORMAT_JPEG, &dims, err))
        return -1;
    if (w->meta->color == COLOR_PALETTE)
        return pool_fail(err, "a palette image's indices (class ids, say) would not survive "
                              "JPEG's lossy compression: write PNG, or give --palette expand "
                              "to write its colours");
    struct jpeg_writer *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    w->state = st;
    st->out = w->out;
    st->meta = w->meta;
    st->dims = dims;
    st->row_bytes = dims.width * dims.channels;
    if (choose_input_color(st, err) || check_writer_options(st, w->opt, err) ||
        prepare_exif(st, err))
        return -1;
    if (st->color == JCS_CMYK) {
        st->inverted_row = malloc(st->row_bytes);
        if (!st->inverted_row)
            return pool_fail_resource(err, "out of memory");
    }
    strict_errors_init(&st->errors);
    st->cinfo.err = &st->errors.pub;
    if (run_guarded(&st->errors, step_begin, st))
        return encode_failed(st, err);
    return 0;
}

static int jpeg_write(struct tensor_writer *w, const void *buf, size_t count,
                      struct pool_error *err)
{
    struct jpeg_writer *st = w->state;
    if (st->failed)
        return pool_fail(err, "the JPEG encoder failed before");
    if (count % st->row_bytes)
        return pool_fail(err, "given %zu elements, not a whole number of %zu-element rows", count,
                         st->row_bytes);
    size_t rows = count / st->row_bytes;
    if (rows > st->dims.height - st->cinfo.next_scanline)
        return pool_fail(err, "more rows than the image's %zu", st->dims.height);
    st->in = buf;
    st->rows_wanted = rows;
    st->rows_done = 0;
    if (run_guarded(&st->errors, step_write_rows, st))
        return encode_failed(st, err);
    return 0;
}

static int jpeg_writer_finish(struct tensor_writer *w, struct pool_error *err)
{
    struct jpeg_writer *st = w->state;
    if (st->failed)
        return pool_fail(err, "the JPEG encoder failed before");
    if (st->cinfo.next_scanline < st->dims.height)
        return pool_fail(err, "wrote %u of the image's %zu rows", st->cinfo.next_scanline,
                         st->dims.height);
    if (run_guarded(&st->errors, step_finish_compress, st))
        return encode_failed(st, err);
    errno = 0;
    if (fflush(w->out) || ferror(w->out))
        return pool_fail(err, "write failed: %s", errno ? strerror(errno) : "i/o error");
    return 0;
}

static void jpeg_writer_destroy(struct tensor_writer *w)
{
    struct jpeg_writer *st = w->state;
    if (!st)
        return;
    if (st->created)
        jpeg_destroy_compress(&st->cinfo);
    free(st->inverted_row);
    free(st->exif);
    free(st);
    w->state = NULL;
}

const struct writer_ops jpeg_writer_ops = {
    .format = FORMAT_JPEG,
    .begin = jpeg_begin,
    .write = jpeg_write,
    .finish = jpeg_writer_finish,
    .destroy = jpeg_writer_destroy,
};

/*
 * Netpbm images, as the netpbm manual's pbm(5), pgm(5), ppm(5) and pam(5) define them:
 * P1/P4 bitmaps, P2/P5 gray, P3/P6 RGB (plain text or raw), and P7 PAM with 1 to 4
 * channels. Rows are decoded one at a time as they are asked for, so memory does not grow
 * with the image. A stream may hold several images one after another, as netpbm pipelines
 * send them: ops->next reads them in turn.
 *
 * Samples keep the file's scale: a maxval up to 255 gives u8, above it u16, and meta.maxval
 * takes the maxval to the writer (0 for the full 255 or 65535), so maxval 100 stays 100.
 * PBM has no maxval and 1 means black: it becomes u8 gray, black 0 and white 255 (what
 * Pillow's "1" mode gives as "L"). PAM's BLACKANDWHITE tuples (0 black, 1 white) stay 0/1
 * with maxval 1, like any other PAM.
 *
 * The writer writes raw formats only: P5 for gray, P6 for RGB, P7 for gray+alpha and RGBA
 * (and CMYK, with ImageMagick's TUPLTYPE CMYK), 16-bit samples big-endian as the specs say.
 */
#include "codec.h"
#include "formats.h"
#include "image.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PNM_BUFFER 65536
#define PNM_MAXVAL_MAX 65535u
#define PAM_LINE_MAX 1024 /* netpbm itself allows 255 characters */
#define PAM_TUPLTYPE_MAX 256
#define PAM_DEPTH_MAX 4

/* ---- buffered input ---- */

/* r->src with a buffer of its own: the headers and plain data are read a byte at a time. */
struct pnm_input {
    struct byte_source *src;
    int read_errno; /* errno of a failed read, 0 */
    size_t pos, len;
    unsigned char buf[PNM_BUFFER];
};

static size_t source_read_noting_errors(struct pnm_input *in, void *buf, size_t n)
{
    errno = 0;
    size_t got = source_read(in->src, buf, n);
    if (got < n && source_failed(in->src) && !in->read_errno)
        in->read_errno = errno ? errno : EIO;
    return got;
}

/* The next byte without taking it; EOF at the end of the data or on a read error. */
static int input_peek(struct pnm_input *in)
{
    if (in->pos == in->len) {
        in->pos = 0;
        in->len = source_read_noting_errors(in, in->buf, sizeof in->buf);
        if (in->len == 0)
            return EOF;
    }
    return in->buf[in->pos];
}

static int input_get(struct pnm_input *in)
{
    int c = input_peek(in);
    if (c != EOF)
        in->pos++;
    return c;
}

/* Up to n bytes; fewer only at the end of the data or on a read error. */
static size_t input_read(struct pnm_input *in, unsigned char *dst, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (in->pos == in->len) {
            if (n - got >= sizeof in->buf) /* large rows go straight to dst */
                return got + source_read_noting_errors(in, dst + got, n - got);
            if (input_peek(in) == EOF)
                break;
        }
        size_t take = in->len - in->pos < n - got ? in->len - in->pos : n - got;
        memcpy(dst + got, in->buf + in->pos, take);
        in->pos += take;
        got += take;
    }
    return got;
}

static int read_failed(const struct pnm_input *in, struct pool_error *err)
{
    return pool_fail(err, "read failed: %s", strerror(in->read_errno));
}

/* A byte as messages show it: 'x', byte 0x01, or the end of the data. */
static const char *describe_byte(int c, char *buf, size_t len)
{
    if (c == EOF)
        return "the end of the data";
    if (c > ' ' && c < 127)
        snprintf(buf, len, "'%c'", c);
    else
        snprintf(buf, len, "byte 0x%02x", (unsigned)c);
    return buf;
}

/* ---- tokens: whitespace, comments and numbers ---- */

/* pbm(5): "White space" is blanks, TABs, CRs, LFs (and, as isspace(), VT and FF). */
static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* pbm(5): a comment runs from '#' through the next CR or LF, and counts as whitespace. */
static void skip_comment(struct pnm_input *in)
{
    int c;
    do
        c = input_get(in);
    while (c != EOF && c != '\n' && c != '\r');
}

static void skip_space(struct pnm_input *in, bool comments_too)
{
    for (int c = input_peek(in); is_space(c) || (comments_too && c == '#'); c = input_peek(in))
        if (c == '#')
            skip_comment(in);
        else
            in->pos++;
}

enum number_status { NUMBER_OK, NUMBER_MISSING, NUMBER_TOO_LARGE, NUMBER_BAD_END };

/* Decimal digits at the current byte, ended by whitespace, a comment or the end. */
static enum number_status read_number(struct pnm_input *in, unsigned long long *value)
{
    if (!is_digit(input_peek(in)))
        return NUMBER_MISSING;
    unsigned long long v = 0;
    for (int c = input_peek(in); is_digit(c); c = input_peek(in)) {
        unsigned digit = (unsigned)(c - '0');
        if (v > (ULLONG_MAX - digit) / 10)
            return NUMBER_TOO_LARGE;
        v = v * 10 + digit;
        in->pos++;
    }
    int end = input_peek(in);
    *value = v;
    return end == EOF || is_space(end) || end == '#' ? NUMBER_OK : NUMBER_BAD_END;
}

/* ---- reader ---- */

struct pnm_reader {
    char magic; /* '1' to '7' */
    size_t width, height, channels;
    unsigned maxval; /* of the samples handed out: 255 for PBM */
    bool wide;       /* 2-byte samples (maxval above 255) */
    size_t row;      /* rows handed out */
    unsigned image;  /* 1 for the stream's first image */
    struct pnm_input in;
};

struct pnm_header {
    char magic;
    unsigned long long width, height, depth, maxval;
    enum color_space color;
    bool has_alpha;
};

static int header_number(struct pnm_input *in, const char *what, unsigned long long *value,
                         struct pool_error *err)
{
    skip_space(in, true);
    enum number_status status = read_number(in, value);
    if (status == NUMBER_OK)
        return 0;
    if (in->read_errno)
        return read_failed(in, err);
    if (status == NUMBER_TOO_LARGE)
        return pool_fail(err, "bad PNM header: the %s is too large", what);
    char buf[24];
    const char *found = describe_byte(input_peek(in), buf, sizeof buf);
    if (status == NUMBER_BAD_END)
        return pool_fail(err, "bad PNM header: unexpected %s after the %s", found, what);
    return pool_fail(err, "bad PNM header: expected the %s, found %s", what, found);
}

static int check_maxval(unsigned long long maxval, struct pool_error *err)
{
    if (maxval == 0)
        return pool_fail(err, "bad PNM header: maxval 0 (it must be 1 to %u)", PNM_MAXVAL_MAX);
    if (maxval > PNM_MAXVAL_MAX)
        return pool_fail(err,
                         "bad PNM header: maxval %llu is over %u, the largest netpbm "
                         "allows",
                         maxval, PNM_MAXVAL_MAX);
    return 0;
}

/* P1 to P6 after the magic: width, height and (but for PBM) maxval, then the one whitespace
 * byte before the raster. As libnetpbm does, a comment there ends the header too. */
static int read_pnm_fields(struct pnm_input *in, struct pnm_header *h, struct pool_error *err)
{
    bool bitmap = h->magic == '1' || h->magic == '4';
    if (header_number(in, "width", &h->width, err) || header_number(in, "height", &h->height, err))
        return -1;
    h->maxval = 255;
    if (!bitmap && (header_number(in, "maxval", &h->maxval, err) || check_maxval(h->maxval, err)))
        return -1;
    if (input_get(in) == '#')
        skip_comment(in);
    h->depth = h->magic == '3' || h->magic == '6' ? 3 : 1;
    h->color = h->depth == 3 ? COLOR_RGB : COLOR_GRAY;
    return 0;
}

/* ---- the PAM header: lines of KEY value, up to ENDHDR ---- */

struct pam_fields {
    unsigned long long width, height, depth, maxval;
    bool have_width, have_height, have_depth, have_maxval, have_tupltype;
    char tupltype[PAM_TUPLTYPE_MAX];
};

/* One header line without its LF (a comment line may be cut short: it is skipped). */
static int read_pam_line(struct pnm_input *in, char *line, struct pool_error *err)
{
    size_t len = 0;
    for (int c = input_get(in); c != '\n'; c = input_get(in)) {
        if (c == EOF)
            return in->read_errno ? read_failed(in, err)
                                  : pool_fail(err, "bad PAM header: the data ends before ENDHDR");
        if (c == '\0')
            return pool_fail(err, "bad PAM header: a NUL byte");
        if (len + 1 < PAM_LINE_MAX)
            line[len++] = (char)c;
        else if (line[0] != '#')
            return pool_fail(err, "bad PAM header: a line is longer than %d bytes",
                             PAM_LINE_MAX - 1);
    }
    while (len > 0 && is_space((unsigned char)line[len - 1]))
        len--;
    line[len] = '\0';
    return 0;
}

static char *skip_blanks(char *p)
{
    while (*p && is_space((unsigned char)*p))
        p++;
    return p;
}

static int pam_number(const char *key, const char *value, unsigned long long *out, bool *seen,
                      struct pool_error *err)
{
    if (*seen)
        return pool_fail(err, "bad PAM header: %s appears twice", key);
    *seen = true;
    if (!*value)
        return pool_fail(err, "bad PAM header: %s has no value", key);
    unsigned long long v = 0;
    for (const char *p = value; *p; p++) {
        if (!is_digit((unsigned char)*p))
            return pool_fail(err, "bad PAM header: %s '%s' is not a number", key, value);
        unsigned digit = (unsigned)(*p - '0');
        if (v > (ULLONG_MAX - digit) / 10)
            return pool_fail(err, "bad PAM header: %s %s is too large", key, value);
        v = v * 10 + digit;
    }
    *out = v;
    return 0;
}

/* pam(5): several TUPLTYPE lines make one value, joined by spaces. */
static int pam_tupltype(struct pam_fields *f, const char *value, struct pool_error *err)
{
    size_t used = strlen(f->tupltype), len = strlen(value);
    if (used + 1 + len >= sizeof f->tupltype)
        return pool_fail(err, "bad PAM header: TUPLTYPE is longer than %d bytes",
                         PAM_TUPLTYPE_MAX - 2);
    if (f->have_tupltype)
        f->tupltype[used++] = ' ';
    memcpy(f->tupltype + used, value, len + 1);
    f->have_tupltype = true;
    return 0;
}

/* One line: 1 for ENDHDR, 0 for any other good line, -1 on error. */
static int pam_line(struct pam_fields *f, char *line, struct pool_error *err)
{
    char *key = skip_blanks(line);
    if (!*key || *key == '#')
        return 0;
    char *value = key;
    while (*value && !is_space((unsigned char)*value))
        value++;
    if (*value)
        *value++ = '\0';
    value = skip_blanks(value);
    if (!strcmp(key, "ENDHDR"))
        return 1;
    if (!strcmp(key, "TUPLTYPE"))
        return pam_tupltype(f, value, err);
    static const char *const keys[] = {"WIDTH", "HEIGHT", "DEPTH", "MAXVAL"};
    unsigned long long *fields[] = {&f->width, &f->height, &f->depth, &f->maxval};
    bool *seen[] = {&f->have_width, &f->have_height, &f->have_depth, &f->have_maxval};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(key, keys[i]))
            return pam_number(key, value, fields[i], seen[i], err);
    return pool_fail(err, "bad PAM header: unknown key '%.40s'", key);
}

static const struct {
    const char *name;
    unsigned depth;
    enum color_space color;
    bool has_alpha;
} pam_types[] = {
    {"BLACKANDWHITE", 1, COLOR_GRAY, false},
    {"GRAYSCALE", 1, COLOR_GRAY, false},
    {"RGB", 3, COLOR_RGB, false},
    {"BLACKANDWHITE_ALPHA", 2, COLOR_GRAY, true},
    {"GRAYSCALE_ALPHA", 2, COLOR_GRAY, true},
    {"RGB_ALPHA", 4, COLOR_RGB, true},
    {"CMYK", 4, COLOR_CMYK, false}, /* not netpbm's, but ImageMagick writes it */
};

/* The colour from TUPLTYPE; absent or unknown (pam(5) allows any), from DEPTH alone, the
 * last channel of 2 or 4 being alpha. */
static int pam_color(const struct pam_fields *f, struct pnm_header *h, struct pool_error *err)
{
    if (f->depth < 1 || f->depth > PAM_DEPTH_MAX)
        return pool_fail(err, "PAM depth %llu is not supported: pool reads 1 to %d channels",
                         f->depth, PAM_DEPTH_MAX);
    for (size_t i = 0; i < sizeof pam_types / sizeof pam_types[0]; i++)
        if (f->have_tupltype && !strcmp(f->tupltype, pam_types[i].name)) {
            if (f->depth != pam_types[i].depth)
                return pool_fail(err,
                                 "bad PAM header: TUPLTYPE %s has %u channels, and DEPTH "
                                 "is %llu",
                                 pam_types[i].name, pam_types[i].depth, f->depth);
            h->color = pam_types[i].color;
            h->has_alpha = pam_types[i].has_alpha;
            return 0;
        }
    h->color = f->depth <= 2 ? COLOR_GRAY : COLOR_RGB;
    h->has_alpha = f->depth == 2 || f->depth == 4;
    return 0;
}

static int read_pam_fields(struct pnm_input *in, struct pnm_header *h, struct pool_error *err)
{
    char line[PAM_LINE_MAX];
    if (read_pam_line(in, line, err))
        return -1;
    const char *rest = skip_blanks(line);
    if (*rest && *rest != '#') /* "P7 332" is XV's thumbnail format, not PAM */
        return pool_fail(err, "bad PAM header: unexpected '%.40s' after P7", rest);
    struct pam_fields f = {0};
    for (int rc = 0; rc == 0;) {
        if (read_pam_line(in, line, err) || (rc = pam_line(&f, line, err)) < 0)
            return -1;
    }
    const char *missing = !f.have_width    ? "WIDTH"
                          : !f.have_height ? "HEIGHT"
                          : !f.have_depth  ? "DEPTH"
                          : !f.have_maxval ? "MAXVAL"
                                           : NULL;
    if (missing)
        return pool_fail(err,
                         "bad PAM header: no %s line (WIDTH, HEIGHT, DEPTH and MAXVAL are "
                         "required)",
                         missing);
    h->width = f.width;
    h->height = f.height;
    h->depth = f.depth;
    h->maxval = f.maxval;
    return check_maxval(f.maxval, err) || pam_color(&f, h, err) ? -1 : 0;
}

/* "P1" to "P7" and the whitespace after it. */
static int read_magic(struct pnm_input *in, char *magic, struct pool_error *err)
{
    int p = input_get(in), digit = input_get(in);
    if (in->read_errno)
        return read_failed(in, err);
    if (p == EOF)
        return pool_fail(err, "empty input");
    if (p != 'P' || digit < '1' || digit > '7')
        return pool_fail(err, "not a PNM file: it does not start with P1 to P7");
    int next = input_peek(in);
    if (!is_space(next) && next != '#') {
        char found[24];
        return pool_fail(err, "bad PNM header: expected whitespace after P%c, found %s", digit,
                         describe_byte(next, found, sizeof found));
    }
    *magic = (char)digit;
    return 0;
}

/* The fewest bytes the current image's samples can take: raw formats exactly; plain ones
 * a digit a sample, with a space between samples except in P1, whose bits may touch. */
static unsigned __int128 raster_bytes_min(const struct pnm_reader *st)
{
    unsigned __int128 samples = (unsigned __int128)st->width * st->height * st->channels;
    switch (st->magic) {
    case '1': return samples;
    case '2':
    case '3': return 2 * samples - 1;
    case '4': return (unsigned __int128)((st->width + 7) / 8) * st->height;
    default: return samples * (st->wide ? 2 : 1);
    }
}

/* On a regular file the bytes left are known: an image whose samples cannot fit in them
 * fails now, before any work in proportion to the size its header declares. */
static int check_raster_fits(const struct pnm_reader *st, struct pool_error *err)
{
    const struct byte_source *src = st->in.src;
    if (src->size < 0 || (unsigned long long)src->size < src->consumed)
        return 0;
    unsigned long long left = (unsigned long long)src->size - src->consumed +
                              (st->in.len - st->in.pos);
    unsigned __int128 need = raster_bytes_min(st);
    if (need <= left)
        return 0;
    char needed[48];
    if (need > UINT64_MAX)
        snprintf(needed, sizeof needed, "over 2^64 bytes");
    else
        snprintf(needed, sizeof needed, "%s%llu byte%s", st->magic <= '3' ? "at least " : "",
                 (unsigned long long)need, need == 1 ? "" : "s");
    return pool_fail(err,
                     "truncated PNM data: the header declares %zux%zu pixels, which "
                     "need %s of samples, and the file has %llu byte%s after it",
                     st->width, st->height, needed, left, left == 1 ? "" : "s");
}

/* The header of the image at the current byte, into st and r's shape and meta. */
static int read_image_header(struct tensor_reader *r, struct pool_error *err)
{
    struct pnm_reader *st = r->state;
    struct pnm_header h = {0};
    if (read_magic(&st->in, &h.magic, err))
        return -1;
    int rc = h.magic == '7' ? read_pam_fields(&st->in, &h, err) : read_pnm_fields(&st->in, &h, err);
    if (rc || image_check_pixels(h.width, h.height, r->opt->max_pixels, err))
        return -1;
    /* Rows of up to 4 two-byte samples a pixel must fit in memory's sizes. */
    if (h.width > SIZE_MAX / (2 * PAM_DEPTH_MAX) || h.height > SIZE_MAX)
        return pool_fail(err, "the image declares %llux%llu pixels, too many for this machine",
                         h.width, h.height);
    st->magic = h.magic;
    st->width = (size_t)h.width;
    st->height = (size_t)h.height;
    st->channels = (size_t)h.depth;
    st->maxval = (unsigned)h.maxval;
    st->wide = h.maxval > 255;
    st->row = 0;
    image_set_shape(r, st->height, st->width, st->channels, st->wide ? DT_U16 : DT_U8);
    r->meta.color = h.color;
    r->meta.has_alpha = h.has_alpha;
    r->meta.maxval = h.maxval == 255 || h.maxval == PNM_MAXVAL_MAX ? 0 : (unsigned)h.maxval;
    return check_raster_fits(st, err);
}

bool pnm_sniff(const unsigned char *bytes, size_t n)
{
    return n >= 3 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '7' &&
           (is_space(bytes[2]) || bytes[2] == '#');
}

/* On failure r->state may hold memory; reader_close (ops->destroy) frees it. */
int pnm_read_header(struct tensor_reader *r, struct pool_error *err)
{
    struct pnm_reader *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    st->in.src = r->src;
    st->image = 1;
    r->state = st;
    return read_image_header(r, err);
}

/* ---- rows ---- */

static int data_ended(const struct pnm_reader *st, struct pool_error *err)
{
    if (st->in.read_errno)
        return read_failed(&st->in, err);
    return pool_fail(err, "truncated PNM data (row %zu of %zu)", st->row + 1, st->height);
}

static int above_maxval(const struct pnm_reader *st, unsigned long long sample,
                        struct pool_error *err)
{
    return pool_fail(err, "sample %llu above maxval %u at row %zu", sample, st->maxval,
                     st->row + 1);
}

static void store_sample(unsigned char *out, size_t i, bool wide, unsigned value)
{
    if (wide) {
        uint16_t v = (uint16_t)value;
        memcpy(out + 2 * i, &v, sizeof v);
    } else {
        out[i] = (unsigned char)value;
    }
}

/* P1: one '0' (white) or '1' (black) a pixel; whitespace between them is optional. */
static int read_plain_bits(struct pnm_reader *st, unsigned char *out, struct pool_error *err)
{
    for (size_t i = 0; i < st->width; i++) {
        skip_space(&st->in, true);
        int c = input_get(&st->in);
        if (c == EOF)
            return data_ended(st, err);
        if (c != '0' && c != '1') {
            char found[24];
            return pool_fail(err, "bad plain PBM data: expected 0 or 1, found %s at row %zu",
                             describe_byte(c, found, sizeof found), st->row + 1);
        }
        out[i] = c == '1' ? 0 : 255;
    }
    return 0;
}

/* P2, P3: decimal samples between whitespace (and comments, as libnetpbm allows). */
static int read_plain_samples(struct pnm_reader *st, unsigned char *out, struct pool_error *err)
{
    size_t n = st->width * st->channels;
    for (size_t i = 0; i < n; i++) {
        skip_space(&st->in, true);
        unsigned long long v = 0;
        enum number_status status = read_number(&st->in, &v);
        if (status == NUMBER_TOO_LARGE)
            return pool_fail(err, "sample above maxval %u at row %zu (the number overflows)",
                             st->maxval, st->row + 1);
        if (status == NUMBER_MISSING && input_peek(&st->in) == EOF)
            return data_ended(st, err);
        if (status != NUMBER_OK) {
            char found[24];
            return pool_fail(err, "bad plain PNM data: expected a sample, found %s at row %zu",
                             describe_byte(input_peek(&st->in), found, sizeof found), st->row + 1);
        }
        if (v > st->maxval)
            return above_maxval(st, v, err);
        store_sample(out, i, st->wide, (unsigned)v);
    }
    return 0;
}

/* P4: 8 pixels a byte, the first in the high bit, 1 black; each row starts a new byte. */
static int read_raw_bits(struct pnm_reader *st, unsigned char *out, struct pool_error *err)
{
    size_t packed = (st->width + 7) / 8;
    if (input_read(&st->in, out, packed) < packed)
        return data_ended(st, err);
    /* Unpacked in place from the last pixel back: pixel i comes from byte i / 8 <= i, which
     * is still packed when pixel i is written. */
    for (size_t i = st->width; i-- > 0;)
        out[i] = (out[i / 8] >> (7 - i % 8)) & 1 ? 0 : 255;
    return 0;
}

/* P5, P6, P7: bytes, or big-endian pairs above maxval 255. */
static int read_raw_samples(struct pnm_reader *st, unsigned char *out, struct pool_error *err)
{
    size_t n = st->width * st->channels;
    size_t bytes = st->wide ? 2 * n : n;
    if (input_read(&st->in, out, bytes) < bytes)
        return data_ended(st, err);
    if (st->wide) {
        for (size_t i = 0; i < n; i++)
            store_sample(out, i, true, (unsigned)out[2 * i] << 8 | out[2 * i + 1]);
        if (st->maxval == PNM_MAXVAL_MAX)
            return 0;
        for (size_t i = 0; i < n; i++) {
            uint16_t v;
            memcpy(&v, out + 2 * i, sizeof v);
            if (v > st->maxval)
                return above_maxval(st, v, err);
        }
        return 0;
    }
    for (size_t i = 0; st->maxval < 255 && i < n; i++)
        if (out[i] > st->maxval)
            return above_maxval(st, out[i], err);
    return 0;
}

static int read_row(struct pnm_reader *st, unsigned char *out, struct pool_error *err)
{
    switch (st->magic) {
    case '1': return read_plain_bits(st, out, err);
    case '2':
    case '3': return read_plain_samples(st, out, err);
    case '4': return read_raw_bits(st, out, err);
    default: return read_raw_samples(st, out, err);
    }
}

static int pnm_read(struct tensor_reader *r, void *buf, size_t count, struct pool_error *err)
{
    struct pnm_reader *st = r->state;
    size_t row_elems = st->width * st->channels;
    if (count % row_elems)
        return pool_fail(err, "PNM rows are read whole (%zu elements), not %zu elements", row_elems,
                         count);
    size_t rows = count / row_elems;
    if (rows > st->height - st->row)
        return pool_fail(err, "asked for %zu rows, only %zu are left", rows, st->height - st->row);
    size_t row_bytes = row_elems * (st->wide ? 2 : 1);
    unsigned char *out = buf;
    for (size_t i = 0; i < rows; i++, out += row_bytes) {
        if (read_row(st, out, err))
            return -1;
        st->row++;
    }
    return 0;
}

/* After an image: the end of the stream (0), or another image (1) once whitespace between
 * them is skipped, as libnetpbm's pnm_nextimage() does. Plain data may end in a comment. */
static int pnm_next(struct tensor_reader *r, struct pool_error *err)
{
    struct pnm_reader *st = r->state;
    if (st->row < st->height)
        return pool_fail(err, "the image was not read to its end");
    skip_space(&st->in, st->magic <= '3');
    int c = input_peek(&st->in);
    if (st->in.read_errno)
        return read_failed(&st->in, err);
    if (c == EOF)
        return 0;
    if (c != 'P') {
        char found[24];
        return pool_fail(err,
                         "unexpected %s after image %u: expected another PNM image or the "
                         "end of the data",
                         describe_byte(c, found, sizeof found), st->image);
    }
    st->image++;
    return read_image_header(r, err) ? -1 : 1;
}

static void pnm_reader_destroy(struct tensor_reader *r)
{
    free(r->state);
    r->state = NULL;
}

const struct reader_ops pnm_reader_ops = {
    .format = FORMAT_PNM,
    .read = pnm_read,
    .finish = NULL,
    .next = pnm_next,
    .destroy = pnm_reader_destroy,
};

/* ---- writer ---- */

struct pnm_writer {
    struct image_dims dims;
    unsigned maxval;
    size_t row_elems, expected, written; /* elements */
};

/* The input's maxval, when it gives the same sample size (1 byte up to 255, else 2); one
 * that does not fit the type means the samples were converted: the full range then. */
static unsigned output_maxval(const struct image_meta *m, enum pool_dtype dtype)
{
    unsigned full = dtype == DT_U16 ? PNM_MAXVAL_MAX : 255;
    unsigned least = dtype == DT_U16 ? 256 : 1;
    return m->maxval >= least && m->maxval <= full ? m->maxval : full;
}

static const char *pam_tupltype_for(const struct image_meta *m, size_t channels)
{
    if (channels == 4 && m->color == COLOR_CMYK && !m->has_alpha)
        return "CMYK";
    return channels == 2 ? "GRAYSCALE_ALPHA" : "RGB_ALPHA";
}

static int write_failed(struct pool_error *err)
{
    return pool_fail(err, "write failed: %s", strerror(errno));
}

static int write_header(struct tensor_writer *w, struct pool_error *err)
{
    const struct pnm_writer *st = w->state;
    const struct image_dims *d = &st->dims;
    int n;
    if (d->channels == 1 || d->channels == 3)
        n = fprintf(w->out, "P%c\n%zu %zu\n%u\n", d->channels == 1 ? '5' : '6', d->width, d->height,
                    st->maxval);
    else
        n = fprintf(w->out,
                    "P7\nWIDTH %zu\nHEIGHT %zu\nDEPTH %zu\nMAXVAL %u\nTUPLTYPE %s\n"
                    "ENDHDR\n",
                    d->width, d->height, d->channels, st->maxval,
                    pam_tupltype_for(w->meta, d->channels));
    return n < 0 ? write_failed(err) : 0;
}

/* Takes w->shape and w->meta for a new image and writes its header. */
static int start_image(struct tensor_writer *w, struct pool_error *err)
{
    struct pnm_writer *st = w->state;
    struct image_dims *d = &st->dims;
    if (image_dims_from_shape(&w->shape, FORMAT_PNM, d, err))
        return -1;
    if (d->height == 0 || d->width == 0)
        return pool_fail(err, "cannot write an empty image (%zux%zu)", d->width, d->height);
    st->row_elems = d->width * d->channels;
    if (d->width > SIZE_MAX / d->channels || d->height > SIZE_MAX / st->row_elems)
        return pool_fail(err, "the image is too large (%zux%zu)", d->width, d->height);
    st->expected = st->row_elems * d->height;
    st->written = 0;
    st->maxval = output_maxval(w->meta, d->dtype);
    return write_header(w, err);
}

static int pnm_begin(struct tensor_writer *w, struct pool_error *err)
{
    struct pnm_writer *st = calloc(1, sizeof *st);
    if (!st)
        return pool_fail_resource(err, "out of memory");
    w->state = st;
    return start_image(w, err);
}

static int over_maxval(const struct pnm_writer *st, unsigned value, size_t index,
                       struct pool_error *err)
{
    return pool_fail(err, "sample %u above maxval %u at row %zu of %zu", value, st->maxval,
                     (st->written + index) / st->row_elems + 1, st->dims.height);
}

static int write_u8(struct tensor_writer *w, const unsigned char *p, size_t count,
                    struct pool_error *err)
{
    const struct pnm_writer *st = w->state;
    for (size_t i = 0; st->maxval < 255 && i < count; i++)
        if (p[i] > st->maxval)
            return over_maxval(st, p[i], i, err);
    if (fwrite(p, 1, count, w->out) != count)
        return write_failed(err);
    return 0;
}

/* Big-endian, a block at a time. */
static int write_u16(struct tensor_writer *w, const unsigned char *p, size_t count,
                     struct pool_error *err)
{
    const struct pnm_writer *st = w->state;
    unsigned char block[4096];
    size_t per_block = sizeof block / 2;
    for (size_t done = 0; done < count;) {
        size_t n = count - done < per_block ? count - done : per_block;
        for (size_t i = 0; i < n; i++) {
            uint16_t v;
            memcpy(&v, p + 2 * (done + i), sizeof v);
            if (v > st->maxval)
                return over_maxval(st, v, done + i, err);
            block[2 * i] = (unsigned char)(v >> 8);
            block[2 * i + 1] = (unsigned char)v;
        }
        if (fwrite(block, 2, n, w->out) != n)
            return write_failed(err);
        done += n;
    }
    return 0;
}

static int pnm_write(struct tensor_writer *w, const void *buf, size_t count, struct pool_error *err)
{
    struct pnm_writer *st = w->state;
    if (count % st->row_elems)
        return pool_fail(err, "PNM rows are written whole (%zu elements), not %zu elements",
                         st->row_elems, count);
    if (count > st->expected - st->written)
        return pool_fail(err, "more rows than the image holds");
    int rc = st->dims.dtype == DT_U16 ? write_u16(w, buf, count, err)
                                      : write_u8(w, buf, count, err);
    if (rc == 0)
        st->written += count;
    return rc;
}

static int pnm_writer_finish(struct tensor_writer *w, struct pool_error *err)
{
    struct pnm_writer *st = w->state;
    if (st->written != st->expected)
        return pool_fail(err, "wrote %zu of the %zu rows of the image", st->written / st->row_elems,
                         st->dims.height);
    if (fflush(w->out))
        return write_failed(err);
    return 0;
}

/* Another image in the same stream, as netpbm programs read them one after another. */
static int pnm_next_image(struct tensor_writer *w, struct pool_error *err)
{
    struct pnm_writer *st = w->state;
    if (!st || st->written != st->expected)
        return pool_fail(err, "the previous image was not written to its end");
    return start_image(w, err);
}

static void pnm_writer_destroy(struct tensor_writer *w)
{
    free(w->state);
    w->state = NULL;
}

const struct writer_ops pnm_writer_ops = {
    .format = FORMAT_PNM,
    .begin = pnm_begin,
    .write = pnm_write,
    .finish = pnm_writer_finish,
    .next_image = pnm_next_image,
    .destroy = pnm_writer_destroy,
};

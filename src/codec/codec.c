/* Picks a format's module by name, file extension or magic bytes. */
#include "codec.h"
#include "formats.h"
#include "image.h"

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_EXTENSIONS 6

struct format_entry {
    enum file_format format;
    const char *name, *label;               /* -f's name; the name messages show */
    const char *extensions[MAX_EXTENSIONS]; /* without the dot; NULL after the last */
    /* NULL for formats without magic bytes (raw): never sniffed. */
    bool (*sniff)(const unsigned char *bytes, size_t n);
    /* NULL (all three) for an optional codec not built in: its files are still known by
     * their magic bytes and extensions, and refused naming the library. */
    int (*read_header)(struct tensor_reader *r, struct pool_error *err);
    const struct reader_ops *reader;
    const struct writer_ops *writer;
    struct format_caps caps;
};

/* The optional codecs' magic bytes live here, not in their modules, so that a build
 * without the library still knows their files. TIFF 6.0 section 2 and BigTIFF: "II" or
 * "MM", then 42 (43 for BigTIFF) in that byte order. */
static bool tiff_sniff(const unsigned char *b, size_t n)
{
    if (n < 4)
        return false;
    bool le = b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0;
    bool be = b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43);
    return le || be;
}

/* A RIFF container (RIFF, size, form type) of form type WEBP. */
static bool webp_sniff(const unsigned char *b, size_t n)
{
    return n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4);
}

#ifdef HAVE_TIFF
#define TIFF_MODULE tiff_read_header, &tiff_reader_ops, &tiff_writer_ops
#define TIFF_BUILT_IN true
#else
#define TIFF_MODULE NULL, NULL, NULL
#define TIFF_BUILT_IN false
#endif
#ifdef HAVE_WEBP
#define WEBP_MODULE webp_read_header, &webp_reader_ops, &webp_writer_ops
#define WEBP_BUILT_IN true
#else
#define WEBP_MODULE NULL, NULL, NULL
#define WEBP_BUILT_IN false
#endif

#define BIT(t) (1u << (t))
#define ALL_DTYPES (BIT(DT_COUNT) - 1)

/* One row per format: its names, its module, and what it stores. */
/* clang-format off */
static const struct format_entry formats[] = {
    {FORMAT_NPY, "npy", ".npy", {"npy"}, npy_sniff,
     npy_read_header, &npy_reader_ops, &npy_writer_ops,
     {.dtypes = ALL_DTYPES, .built_in = true}},
    {FORMAT_RAW, "raw", "raw", {"raw", "bin"}, NULL,
     NULL, &raw_reader_ops, &raw_writer_ops,
     {.dtypes = ALL_DTYPES, .built_in = true}},
    {FORMAT_PNG, "png", "PNG", {"png"}, png_sniff,
     png_read_header, &png_reader_ops, &png_writer_ops,
     {.image = true, .dtypes = BIT(DT_U8) | BIT(DT_U16), .max_channels = 4, .alpha = true,
      .palette = true, .icc = true, .exif = true, .library = "libpng", .built_in = true}},
    {FORMAT_JPEG, "jpeg", "JPEG", {"jpg", "jpeg", "jpe", "jfif"}, jpeg_sniff,
     jpeg_codec_read_header, &jpeg_reader_ops, &jpeg_writer_ops,
     {.image = true, .dtypes = BIT(DT_U8), .max_channels = 4,
      .channel_words = "1 (gray), 3 (RGB) or 4 (CMYK)", .cmyk = true, .icc = true,
      .exif = true, .lossy = true, .library = "libjpeg", .built_in = true}},
    {FORMAT_PNM, "pnm", "PNM", {"pnm", "pbm", "pgm", "ppm", "pam"}, pnm_sniff,
     pnm_read_header, &pnm_reader_ops, &pnm_writer_ops,
     {.image = true, .dtypes = BIT(DT_U8) | BIT(DT_U16), .max_channels = 4, .alpha = true,
      .multi_image = true, .maxval = true, .built_in = true}},
    /* every element type; multispectral images of up to TIFF_CHANNELS_MAX samples a
     * pixel; pages */
    {FORMAT_TIFF, "tiff", "TIFF", {"tif", "tiff"}, tiff_sniff,
     TIFF_MODULE,
     {.image = true, .dtypes = ALL_DTYPES, .max_channels = TIFF_CHANNELS_MAX, .alpha = true,
      .palette = true, .cmyk = true, .multi_image = true, .icc = true, .georef = true,
      .library = "libtiff",
      .built_in = TIFF_BUILT_IN}},
    /* RGB or RGBA (gray is written as RGB); lossy unless --lossless */
    {FORMAT_WEBP, "webp", "WebP", {"webp"}, webp_sniff,
     WEBP_MODULE,
     {.image = true, .dtypes = BIT(DT_U8), .max_channels = 4, .alpha = true, .icc = true,
      .exif = true, .lossy = true, .library = "libwebp", .built_in = WEBP_BUILT_IN}},
    {FORMAT_TXT, "txt", "txt", {"txt"}, NULL,
     NULL, NULL, &txt_writer_ops,
     {.table = true, .dtypes = ALL_DTYPES, .multi_image = true, .built_in = true}},
    {FORMAT_CSV, "csv", "csv", {"csv"}, NULL,
     NULL, NULL, &csv_writer_ops,
     {.table = true, .dtypes = ALL_DTYPES, .multi_image = true, .built_in = true}},
};
/* clang-format on */

#define FORMAT_COUNT (sizeof formats / sizeof formats[0])

static const struct format_entry *entry_for(enum file_format f)
{
    for (size_t i = 0; i < FORMAT_COUNT; i++)
        if (formats[i].format == f)
            return &formats[i];
    return NULL;
}

enum file_format format_sniff(const unsigned char *bytes, size_t n)
{
    for (size_t i = 0; i < FORMAT_COUNT; i++)
        if (formats[i].sniff && formats[i].sniff(bytes, n))
            return formats[i].format;
    return FORMAT_UNKNOWN;
}

const char *format_extension(enum file_format f)
{
    const struct format_entry *e = entry_for(f);
    return e ? e->extensions[0] : NULL;
}

int format_check_built_in(enum file_format f, bool reading, struct pool_error *err)
{
    const struct format_entry *e = entry_for(f);
    if (!e || e->caps.built_in)
        return 0;
    if (reading)
        return pool_fail(err,
                         "a %s file, and this pool was built without %s support: it needs %s "
                         "(Debian: %s-dev; then build again)",
                         e->label, e->label, e->caps.library, e->caps.library);
    return pool_fail(err,
                     "writing %s needs %s, which this pool was built without (Debian: "
                     "%s-dev; then build again)",
                     e->label, e->caps.library, e->caps.library);
}

/* ".npy" (or ".npy, .png" as formats are added): what the magic bytes can recognise. */
static void sniffable_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < FORMAT_COUNT && used < len; i++)
        if (formats[i].sniff)
            used += (size_t)snprintf(buf + used, len - used, "%s.%s", used ? ", " : "",
                                     formats[i].name);
}

static int sniff_and_read_header(struct tensor_reader *r, struct pool_error *err)
{
    const unsigned char *bytes;
    errno = 0;
    size_t n = source_peek(r->src, &bytes, SOURCE_PEEK_MAX);
    if (n == 0 && source_failed(r->src))
        return pool_fail(err, "read failed: %s", errno ? strerror(errno) : "i/o error");
    if (n == 0)
        return pool_fail(err, "empty input");
    for (size_t i = 0; i < FORMAT_COUNT; i++)
        if (formats[i].sniff && formats[i].sniff(bytes, n)) {
            if (format_check_built_in(formats[i].format, true, err))
                return -1;
            r->ops = formats[i].reader;
            return formats[i].read_header(r, err);
        }
    char names[64];
    sniffable_names(names, sizeof names);
    return pool_fail(err, "unknown format: not a %s file (for raw data give --shape and --dtype)",
                     names);
}

int reader_open(struct tensor_reader *r, struct byte_source *src, const struct reader_options *opt,
                struct pool_error *err)
{
    memset(r, 0, sizeof *r);
    r->src = src;
    r->opt = opt;
    int rc;
    if (opt->raw.given) {
        r->ops = &raw_reader_ops;
        rc = raw_read_header(r, &opt->raw, err);
    } else {
        rc = sniff_and_read_header(r, err);
    }
    /* A failed open leaves nothing to free, though closing it again is harmless. */
    if (rc)
        reader_close(r);
    return rc;
}

void reader_close(struct tensor_reader *r)
{
    if (r->ops && r->ops->destroy)
        r->ops->destroy(r);
    image_meta_free(&r->meta);
    r->ops = NULL;
    r->state = NULL;
}

int writer_open(struct tensor_writer *w, enum file_format format, FILE *out,
                const struct tensor_shape *shape, const struct image_meta *meta,
                const struct writer_options *opt, struct pool_error *err)
{
    memset(w, 0, sizeof *w);
    const struct format_entry *e = entry_for(format);
    if (format_check_built_in(format, false, err))
        return -1;
    if (!e || !e->writer)
        return pool_fail(err, "cannot write the %s format", format_name(format));
    w->ops = format == FORMAT_NPY && opt->stack ? &npy_stack_writer_ops : e->writer;
    w->out = out;
    w->shape = *shape;
    w->meta = meta;
    w->opt = opt;
    if (w->ops->begin(w, err)) {
        writer_close(w);
        return -1;
    }
    return 0;
}

void writer_close(struct tensor_writer *w)
{
    if (w->ops && w->ops->destroy)
        w->ops->destroy(w);
    w->ops = NULL;
    w->state = NULL;
}

enum file_format format_from_name(const char *name)
{
    for (size_t i = 0; i < FORMAT_COUNT; i++) {
        if (!strcasecmp(name, formats[i].name))
            return formats[i].format;
        for (size_t k = 0; k < MAX_EXTENSIONS && formats[i].extensions[k]; k++)
            if (!strcasecmp(name, formats[i].extensions[k]))
                return formats[i].format;
    }
    return FORMAT_UNKNOWN;
}

enum file_format format_from_path(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) /* no extension, or a hidden file's name */
        return FORMAT_UNKNOWN;
    for (size_t i = 0; i < FORMAT_COUNT; i++)
        for (size_t k = 0; k < MAX_EXTENSIONS && formats[i].extensions[k]; k++)
            if (!strcasecmp(dot + 1, formats[i].extensions[k]))
                return formats[i].format;
    return FORMAT_UNKNOWN;
}

const char *format_name(enum file_format f)
{
    const struct format_entry *e = entry_for(f);
    return e ? e->name : "unknown";
}

const char *format_label(enum file_format f)
{
    const struct format_entry *e = entry_for(f);
    return e ? e->label : "unknown";
}

const struct format_caps *format_caps(enum file_format f)
{
    static const struct format_caps none;
    const struct format_entry *e = entry_for(f);
    return e ? &e->caps : &none;
}

bool format_stores(enum file_format f, enum pool_dtype dtype)
{
    return (format_caps(f)->dtypes & BIT(dtype)) != 0;
}

void format_list(char *buf, size_t len, bool extensions)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < FORMAT_COUNT && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s%s", used ? " " : "",
                                 extensions ? "." : "",
                                 extensions ? formats[i].extensions[0] : formats[i].name);
}

void format_describe_codecs(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < FORMAT_COUNT && used < len; i++) {
        const struct format_caps *c = &formats[i].caps;
        if (c->library)
            used += (size_t)snprintf(buf + used, len - used, "%s%s (%s%s)", used ? ", " : "",
                                     formats[i].name, c->built_in ? "" : "not built: ", c->library);
    }
}

const char *reader_default_layout(const struct tensor_reader *r)
{
    const struct tensor_shape *s = &r->shape;
    if (r->layout_hint[0])
        return r->layout_hint;
    if (s->ndim == 3 && (s->dtype == DT_U8 || s->dtype == DT_U16) && s->dims[2] <= 4 &&
        s->dims[0] > 4)
        return "hwc";
    return layout_default(s->ndim);
}

size_t reader_max_memory(const struct reader_options *opt)
{
    return opt->max_memory ? opt->max_memory : DEFAULT_MAX_MEMORY;
}

int reader_max_scans(const struct reader_options *opt)
{
    return opt->max_scans > 0 ? opt->max_scans : DEFAULT_MAX_SCANS;
}

void reader_note(struct tensor_reader *r, const char *general, const char *fmt, ...)
{
    struct reader_notes *n = &r->notes;
    for (unsigned i = 0; i < n->count; i++)
        if (!strcmp(n->note[i].general, general))
            return;
    if (n->count == READER_NOTES_MAX)
        return;
    struct reader_note *note = &n->note[n->count++];
    snprintf(note->general, sizeof note->general, "%s", general);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note->text, sizeof note->text, fmt, ap);
    va_end(ap);
}

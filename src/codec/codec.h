/*
 * The one interface every format implements. A reader produces a tensor's header, then
 * its elements in C order, a chunk at a time; a writer takes the header, then the elements
 * in the same order. Neither knows about pooling; the pipeline moves rows between them.
 */
#ifndef POOL_CODEC_H
#define POOL_CODEC_H

#include <stdio.h>

#include "../core/error.h"
#include "../core/tensor.h"
#include "georef.h"
#include "source.h"

enum file_format {
    FORMAT_UNKNOWN,
    FORMAT_NPY,
    FORMAT_RAW,
    FORMAT_PNG,
    FORMAT_JPEG,
    FORMAT_PNM,
    FORMAT_TIFF, /* optional: configure --without-tiff, or no libtiff */
    FORMAT_WEBP, /* optional: configure --without-webp, or no libwebp */
    FORMAT_TXT,
    FORMAT_CSV, /* write-only */
};

/* What a format stores, declared once in codec.c's table (as libvips's savers declare
 * theirs): the writers check shapes against it and the command line decides conversions
 * by it, never by a format's name. */
struct format_caps {
    bool image;                /* pixels: rows of 1 to max_channels samples, image metadata */
    bool table;                /* text: a table of numbers (txt, csv) */
    unsigned dtypes;           /* the element types a writer stores: bit (1u << dtype) each */
    unsigned max_channels;     /* images: the most channels a pixel has */
    const char *channel_words; /* for messages, when not every count 1..max_channels fits */
    bool alpha;                /* an alpha channel (the last) */
    bool palette;              /* palette images: indices with their colours */
    bool cmyk;
    bool multi_image; /* several images (one per input) in one output stream */
    bool maxval;      /* keeps codes below a largest code (PNM's maxval) unstretched */
    bool icc, exif;   /* the metadata it carries over from the input */
    bool georef;      /* GeoTIFF georeferencing, moved to follow the passes */
    bool lossy;       /* its writer changes the values (JPEG, lossy WebP) */
    /* The library its codec needs (NULL: none); built_in is false when configure left
     * the codec out (--without-tiff) or found no library. */
    const char *library;
    bool built_in;
};

/* What a raw input needs from the command line: it has no header. */
struct raw_options {
    bool given;                /* --shape was given */
    struct tensor_shape shape; /* dims and dtype (layout filled by the caller) */
};

struct reader_options {
    struct raw_options raw;
    /* Images declaring more pixels (width * height) are refused before any allocation. */
    unsigned long long max_pixels;
    /* Palette images: hand out the palette indices (one 8-bit channel, the palette in the
     * meta), else the colours (RGB, RGBA with tRNS). */
    bool palette_index;
    /* A whole image a decoder must hold (an interlaced PNG, a progressive JPEG's
     * coefficients, a Fortran-order .npy) larger than this is refused before it is
     * allocated (core/error.h); 0: DEFAULT_MAX_MEMORY. */
    size_t max_memory;
    /* A progressive JPEG with more scans is refused (each scan redecodes the image). */
    int max_scans;
    /* A truncated or corrupt JPEG is decoded as far as it goes, with a warning (libjpeg
     * fills the rest), instead of being refused. */
    bool lenient;
};

#define DEFAULT_MAX_PIXELS (1ULL << 30)
#define DEFAULT_MAX_SCANS 100

/* The options' memory budget and scan limit, their defaults where 0. */
size_t reader_max_memory(const struct reader_options *opt);
int reader_max_scans(const struct reader_options *opt);

/* TIFF's compressions a writer can use (TIFF 6.0 section 3 and its technical notes). */
enum tiff_compression {
    TIFF_DEFLATE, /* the default: Adobe deflate, with the horizontal predictor */
    TIFF_NONE,
    TIFF_LZW,
    TIFF_PACKBITS,
};

struct writer_options {
    int png_level; /* zlib level 0-9 */
    int quality;   /* JPEG and lossy WebP: 1-100 */
    bool jpeg_progressive;
    bool no_header; /* csv: no header row */
    bool stack;     /* npy: images stacked along a new leading axis */
    enum tiff_compression compression;
    bool lossless; /* WebP: lossless instead of lossy */
};

/* COLOR_PALETTE: one 8-bit channel of indices into image_meta's palette. */
enum color_space { COLOR_NONE, COLOR_GRAY, COLOR_RGB, COLOR_CMYK, COLOR_PALETTE };

/* What an image carries besides its pixels, handed from its reader to the writer untouched
 * (pooling changes neither). A tensor format leaves it zeroed (is_image false). */
struct image_meta {
    bool is_image;
    enum color_space color;
    bool has_alpha;     /* the last channel is alpha */
    unsigned maxval;    /* PNM: the file's maxval; 0 means the type's full range */
    unsigned char *icc; /* an embedded ICC profile (malloc'd, owned by the reader) */
    size_t icc_len;
    bool has_gamma; /* PNG gAMA: the file gamma, e.g. 0.45455 */
    double gamma;
    bool has_srgb; /* PNG sRGB chunk */
    int srgb_intent;
    /* COLOR_PALETTE: PNG PLTE's colours and tRNS's alphas (fewer alphas than colours:
     * the rest are opaque). */
    unsigned char palette[256][3], palette_alpha[256];
    unsigned palette_len, palette_alpha_len;
    bool palette_expanded; /* a palette image handed out as its colours */
    /* EXIF (exif.h: the TIFF structure, malloc'd, owned by the reader) and its orientation
     * tag, 1 to 8. upright: the pixels have been turned upright, so a writer drops the tag. */
    unsigned char *exif;
    size_t exif_len;
    unsigned orientation;
    bool upright;
    /* Where the output's pixels lie on the input's, for a writer that carries
     * georeferencing (GeoTIFF): set by the caller, readers leave it unknown. Output pixel
     * (y, x) stands for input [origin + y scale, origin + (y + 1) scale) on each axis ([0]
     * height, [1] width), input pixel i spanning [i, i + 1). Unknown when the passes'
     * windows are irregular or the image was turned: georeferencing must then be dropped. */
    struct pixel_grid {
        bool known;
        double scale[2], origin[2];
    } grid;
    /* GeoTIFF's georeferencing (georef.h; owned by the reader): a writer that carries it
     * moves it onto grid, and drops it when grid is unknown. */
    struct georef georef;
};

/* What a reader went on past, for its caller to say as warnings: a harmless libjpeg
 * warning, the frames of an animated PNG left out, a corrupt JPEG decoded with --lenient.
 * Each has a general text (the same for every file that meets it, for a batch's tally)
 * and its own; a repeated general text is kept once, and at most READER_NOTES_MAX. */
#define READER_NOTES_MAX 4
struct reader_note {
    char general[96];
    char text[224];
};
struct reader_notes {
    struct reader_note note[READER_NOTES_MAX];
    unsigned count;
};

struct tensor_reader {
    const struct reader_ops *ops;
    struct byte_source *src;
    const struct reader_options *opt;
    struct tensor_shape shape; /* dims and dtype; layout left empty: the caller decides it */
    char layout_hint[TENSOR_MAX_DIMS + 1]; /* images: "hw" or "hwc"; empty for tensors */
    struct image_meta meta;
    struct reader_notes notes; /* said and cleared by the caller */
    size_t memory_held;        /* bytes it holds whole (weighed against opt->max_memory) */
    void *state;               /* the format's own */
};

struct reader_ops {
    enum file_format format;
    /* Reads the next `count` elements (native byte order) into buf. Images hand out rows of
     * width * channels elements, channels interleaved (layout hwc). */
    int (*read)(struct tensor_reader *r, void *buf, size_t count, struct pool_error *err);
    /* Called after the last element: checks that nothing is left over. NULL: nothing to check. */
    int (*finish)(struct tensor_reader *r, struct pool_error *err);
    /* For streams of several images (PNM), instead of finish: 1 and the next image's header
     * read into shape and meta, 0 at the clean end of the stream, -1 on error. NULL: one image. */
    int (*next)(struct tensor_reader *r, struct pool_error *err);
    /* Before the first read: the decoder shrinks the image by k on height and width as it
     * decodes, approximately as an average over k x k blocks (JPEG: libjpeg's DCT scaling,
     * k = 2, 4 or 8). The shape becomes floor(H/k) x floor(W/k), as the exact pooling's:
     * the partial last row and column a decoder makes are dropped. NULL: the format cannot. */
    int (*shrink)(struct tensor_reader *r, unsigned k, struct pool_error *err);
    void (*destroy)(struct tensor_reader *r);
};

struct tensor_writer {
    const struct writer_ops *ops;
    FILE *out;
    struct tensor_shape shape;        /* with its layout */
    const struct image_meta *meta;    /* the input's; never NULL */
    const struct writer_options *opt; /* never NULL */
    const char *name;                 /* the current input's name (csv rows start with it) */
    bool new_input;                   /* next_image: the image begins another input */
    void *state;
};

struct writer_ops {
    enum file_format format;
    /* Checks that the format can hold shape (say what to do when it cannot), writes a header. */
    int (*begin)(struct tensor_writer *w, struct pool_error *err);
    int (*write)(struct tensor_writer *w, const void *buf, size_t count, struct pool_error *err);
    int (*finish)(struct tensor_writer *w, struct pool_error *err); /* trailer, flush */
    /* Formats that hold several images in one stream (PNM, csv, a --stack): after finish,
     * begin another with w->shape, w->meta, w->name and w->new_input already updated by
     * the caller. NULL: one image only. */
    int (*next_image)(struct tensor_writer *w, struct pool_error *err);
    /* Once after the last image, before the output is committed (NULL: nothing to do). */
    int (*end)(struct tensor_writer *w, struct pool_error *err);
    void (*destroy)(struct tensor_writer *w);
};

/* Finds the format from the magic bytes (or raw when opt->raw.given) and reads the header. */
int reader_open(struct tensor_reader *r, struct byte_source *src, const struct reader_options *opt,
                struct pool_error *err);
void reader_close(struct tensor_reader *r);
/* Keeps a note for the caller (see struct reader_notes); fmt... is its own text. */
void reader_note(struct tensor_reader *r, const char *general, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The layout a reader's tensor gets without --layout: the reader's own (images: hw or
 * hwc), else by rank; a 3-D array of 8- or 16-bit integers whose last axis could be colour
 * channels (1 to 4) and whose first could not is an image saved as .npy: hwc, so that
 * image -> .npy -> image round-trips. NULL when the rank has no default. Points into r
 * or at a constant. */
const char *reader_default_layout(const struct tensor_reader *r);

int writer_open(struct tensor_writer *w, enum file_format format, FILE *out,
                const struct tensor_shape *shape, const struct image_meta *meta,
                const struct writer_options *opt, struct pool_error *err);
void writer_close(struct tensor_writer *w);

/* "npy", "raw" (and their file extensions) to a format; FORMAT_UNKNOWN when not known. */
enum file_format format_from_name(const char *name);
enum file_format format_from_path(const char *path);
const char *format_name(enum file_format f);
/* The format whose magic bytes begin `bytes` (SOURCE_PEEK_MAX of them suffice), or
 * FORMAT_UNKNOWN. */
enum file_format format_sniff(const unsigned char *bytes, size_t n);
/* A format's usual file extension, without the dot ("png", "jpg"); NULL when unknown. */
const char *format_extension(enum file_format f);
/* What the format stores (see struct format_caps); every field false or 0 for
 * FORMAT_UNKNOWN. */
const struct format_caps *format_caps(enum file_format f);
bool format_stores(enum file_format f, enum pool_dtype dtype);
/* The format's name as messages show it: "PNG", "JPEG", "TIFF", ".npy". */
const char *format_label(enum file_format f);
/* Fails, naming the library to install, when the format's codec was left out of this
 * build (reading: for an input in it, else for an output). */
int format_check_built_in(enum file_format f, bool reading, struct pool_error *err);
/* Every format's name ("npy raw png ..."), or its usual extension (".npy .raw .png ..."),
 * separated by spaces into buf. */
void format_list(char *buf, size_t len, bool extensions);
/* The codecs that need a library, each with it: "png (libpng), ..., tiff (not built:
 * libtiff)", into buf. */
void format_describe_codecs(char *buf, size_t len);

#endif

/* The command line, parsed into one struct before anything is read. */
#ifndef POOL_OPTIONS_H
#define POOL_OPTIONS_H

#include <stdbool.h>

#include "../codec/codec.h"
#include "../core/pass.h"
#include "../core/simd.h"
#include "fit.h"
#include "sheet.h"

#define MAX_PASSES 64
#define MAX_JOBS 256
#define DEFAULT_PNG_LEVEL 3
#define DEFAULT_JPEG_QUALITY 90
/* The PSNR of a stack against its input below which an image warns: chosen on real photos
 * (man page, WARNINGS) so that 2x and 4x averages stay silent. */
#define DEFAULT_WARN_PSNR 18.0

enum edge_rule { EDGE_UNSET, EDGE_FLOOR, EDGE_CEIL, EDGE_PARTIAL, EDGE_REPLICATE };

struct cli_options {
    struct pool_pass passes[MAX_PASSES];
    char pass_labels[MAX_PASSES][128]; /* how the user wrote each pass, for messages */
    int npasses;
    long repeat;
    const char *layout;           /* NULL: the input's own, or the default for its rank */
    struct reader_options reader; /* raw shape and dtype, the pixel limit */
    struct writer_options writer; /* PNG level, JPEG quality */
    bool linear;                  /* average 8/16-bit sRGB in linear light */
    bool fast;                    /* the decoder does pass 1 where it can (cli/fast.h) */
    bool flatten;                 /* drop size-1 axes from .npy output */
    bool no_premultiply;          /* average alpha images channel by channel */
    bool palette_given;           /* --palette: index or expand, not by the passes' modes */
    bool no_auto_orient;          /* pool EXIF-rotated images as stored, keep the tag */
    bool output_dtype_given;      /* --output-dtype: the pooled values' element type */
    enum pool_dtype output_dtype;
    bool compression_given; /* --compression: TIFF's */
    bool depth_given;       /* --depth 8|16: the output's sample depth (u8 or u16) */
    enum pool_dtype depth;
    bool background_given; /* --background: composite alpha over this colour */
    unsigned char background[3];
    enum edge_rule edge; /* --edge, or EDGE_UNSET */
    bool size_given;     /* --size: the one pass adaptive to a size fitted to each image */
    struct fit_geometry size;
    const char *input; /* the first input; "-" for stdin */
    char **inputs;     /* every input (argv's), ninputs of them */
    int ninputs;
    bool inputs_given;         /* FILE arguments were given (else inputs is "-") */
    bool recursive;            /* -R: walk folders among the inputs */
    const char *files_from;    /* a list of inputs, one a line ("-": stdin) */
    bool null_separated;       /* -0: that list is NUL-separated */
    const char *outdir;        /* -O: one output per input, mirrored under it */
    bool output_template;      /* -o has % codes: one output per input */
    bool force, skip_existing; /* batch: overwrite, or skip, existing outputs */
    bool fail_fast;            /* batch: stop at the first failure */
    size_t jobs;               /* batch: worker threads (default: the processors) */
    enum simd_level kernels;   /* POOL_KERNELS, else the best the processor runs */
    size_t shard, shards;      /* --shard K/N: only shard K of N (shards 0: all) */
    bool progress;             /* batch: a progress line even off a terminal */
    const char *output;        /* "-" for stdout */
    enum file_format format;   /* FORMAT_UNKNOWN: from -o's extension or the input */
    const char *plan;          /* --plan SHAPE or FILE: print the plan, pool nothing */
    const char *from_torch;    /* --from-torch CALL: print its pass specs, pool nothing */
    bool stats;                /* per-pass figures, to stats_file or stderr */
    const char *stats_file;    /* NULL: stderr */
    bool stats_bare;           /* --stats was given without '=FILE' */
    const char *after_stats;   /* the word after a bare --stats (getopt took it as an input) */
    bool stats_text;           /* an aligned table instead of JSON Lines */
    bool shift_test;           /* also pool the input shifted by one element */
    double warn_psnr;          /* warn when the passes' PSNR falls below (dB); 0: never */
    bool warn_psnr_given;
    const char *save_passes;   /* a folder for every pass's output, or NULL */
    const char *contact_sheet; /* a PNG of the input and every pass, or NULL */
    size_t sheet_height;       /* --sheet-height: its panels' height; 0: the default */
    struct sheet_crop sheet_crop;
    const char *indices; /* --indices: the one max/min pass's argmax .npy, or NULL */
    const char *samples; /* --samples: the one fmax pass's random offsets, or NULL */
    bool quiet;
    bool help, version;
};

/* Returns 0, or -1 with err naming the option and what is wrong (a usage error). */
int options_parse(int argc, char **argv, struct cli_options *o, struct pool_error *err);
/* One output per input (-O, or -o with % codes), or everything into one output. */
bool options_batch(const struct cli_options *o);
void options_print_help(FILE *out);
/* An input that cannot be opened or read: when it looks meant as the file of --stats
 * (whose argument is optional, so joined with '=') or as its format, adds to err's reason
 * how to give it so. */
void options_hint_stats_file(const struct cli_options *o, const char *input,
                             struct pool_error *err);
/* The passes as run: the list given, --repeat times (malloc'd; NULL when out of memory). */
struct pool_pass *options_expand_passes(const struct cli_options *o, size_t *n);

#endif

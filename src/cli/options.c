#include "options.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spec.h"

enum {
    OPT_CEIL = 256,
    OPT_CIP,
    OPT_NO_CIP,
    OPT_DIVISOR,
    OPT_INDICES,
    OPT_RATIO,
    OPT_SEED,
    OPT_SAMPLES,
    OPT_NORM,
    OPT_OUTPUT_SIZE,
    OPT_LAYOUT,
    OPT_SHAPE,
    OPT_DTYPE,
    OPT_PNG_LEVEL,
    OPT_QUALITY,
    OPT_PROGRESSIVE,
    OPT_COMPRESSION,
    OPT_LOSSLESS,
    OPT_MAX_PIXELS,
    OPT_MAX_MEMORY,
    OPT_MAX_SCANS,
    OPT_LENIENT,
    OPT_LINEAR,
    OPT_FAST,
    OPT_NO_PREMULTIPLY,
    OPT_NO_AUTO_ORIENT,
    OPT_PALETTE,
    OPT_OUTPUT_DTYPE,
    OPT_DEPTH,
    OPT_BACKGROUND,
    OPT_SIZE,
    OPT_EDGE,
    OPT_PLAN,
    OPT_FLATTEN,
    OPT_STATS,
    OPT_STATS_FORMAT,
    OPT_SHIFT_TEST,
    OPT_WARN_PSNR,
    OPT_SAVE_PASSES,
    OPT_CONTACT_SHEET,
    OPT_SHEET_HEIGHT,
    OPT_SHEET_CROP,
    OPT_FILES_FROM,
    OPT_FORCE,
    OPT_SKIP_EXISTING,
    OPT_FAIL_FAST,
    OPT_SHARD,
    OPT_PROGRESS,
    OPT_NO_HEADER,
    OPT_STACK,
    OPT_FROM_TORCH,
};

static const struct option long_options[] = {
    {"mode", required_argument, NULL, 'm'},
    {"kernel", required_argument, NULL, 'k'},
    {"stride", required_argument, NULL, 's'},
    {"padding", required_argument, NULL, 'p'},
    {"dilation", required_argument, NULL, 'd'},
    {"ceil", no_argument, NULL, OPT_CEIL},
    {"count-include-pad", no_argument, NULL, OPT_CIP},
    {"no-count-include-pad", no_argument, NULL, OPT_NO_CIP},
    {"divisor", required_argument, NULL, OPT_DIVISOR},
    {"indices", required_argument, NULL, OPT_INDICES},
    {"ratio", required_argument, NULL, OPT_RATIO},
    {"seed", required_argument, NULL, OPT_SEED},
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"norm", required_argument, NULL, OPT_NORM},
    {"output-size", required_argument, NULL, OPT_OUTPUT_SIZE},
    {"repeat", required_argument, NULL, 'r'},
    {"pass", required_argument, NULL, 'P'},
    {"from-torch", required_argument, NULL, OPT_FROM_TORCH},
    {"layout", required_argument, NULL, OPT_LAYOUT},
    {"shape", required_argument, NULL, OPT_SHAPE},
    {"dtype", required_argument, NULL, OPT_DTYPE},
    {"png-level", required_argument, NULL, OPT_PNG_LEVEL},
    {"quality", required_argument, NULL, OPT_QUALITY},
    {"progressive", no_argument, NULL, OPT_PROGRESSIVE},
    {"compression", required_argument, NULL, OPT_COMPRESSION},
    {"lossless", no_argument, NULL, OPT_LOSSLESS},
    {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
    {"max-scans", required_argument, NULL, OPT_MAX_SCANS},
    {"lenient", no_argument, NULL, OPT_LENIENT},
    {"linear", no_argument, NULL, OPT_LINEAR},
    {"fast", no_argument, NULL, OPT_FAST},
    {"no-premultiply", no_argument, NULL, OPT_NO_PREMULTIPLY},
    {"no-auto-orient", no_argument, NULL, OPT_NO_AUTO_ORIENT},
    {"palette", required_argument, NULL, OPT_PALETTE},
    {"output-dtype", required_argument, NULL, OPT_OUTPUT_DTYPE},
    {"depth", required_argument, NULL, OPT_DEPTH},
    {"background", required_argument, NULL, OPT_BACKGROUND},
    {"size", required_argument, NULL, OPT_SIZE},
    {"edge", required_argument, NULL, OPT_EDGE},
    {"plan", required_argument, NULL, OPT_PLAN},
    {"flatten", no_argument, NULL, OPT_FLATTEN},
    {"no-header", no_argument, NULL, OPT_NO_HEADER},
    {"stack", no_argument, NULL, OPT_STACK},
    {"stats", optional_argument, NULL, OPT_STATS},
    {"stats-format", required_argument, NULL, OPT_STATS_FORMAT},
    {"shift-test", no_argument, NULL, OPT_SHIFT_TEST},
    {"warn-psnr", required_argument, NULL, OPT_WARN_PSNR},
    {"save-passes", required_argument, NULL, OPT_SAVE_PASSES},
    {"contact-sheet", required_argument, NULL, OPT_CONTACT_SHEET},
    {"sheet-height", required_argument, NULL, OPT_SHEET_HEIGHT},
    {"sheet-crop", required_argument, NULL, OPT_SHEET_CROP},
    {"output", required_argument, NULL, 'o'},
    {"outdir", required_argument, NULL, 'O'},
    {"recursive", no_argument, NULL, 'R'},
    {"files-from", required_argument, NULL, OPT_FILES_FROM},
    {"null", no_argument, NULL, '0'},
    {"force", no_argument, NULL, OPT_FORCE},
    {"skip-existing", no_argument, NULL, OPT_SKIP_EXISTING},
    {"fail-fast", no_argument, NULL, OPT_FAIL_FAST},
    {"jobs", required_argument, NULL, 'j'},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"format", required_argument, NULL, 'f'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

void options_print_help(FILE *out)
{
    fputs("Usage: pool [OPTIONS] [FILE|DIR...]\n"
          "       pool unpool --indices IDX.npy ... VALUES   (see pool unpool --help)\n"
          "Downsample an image or a tensor by pooling, exactly as PyTorch defines it.\n"
          "Reads FILE (PNG, JPEG, PNM/PAM, TIFF, WebP, .npy, or raw with --shape), or stdin\n"
          "when FILE is - or absent. Several FILEs go into one csv, txt, PNM or TIFF output,\n"
          "or with -O or an -o template into one output each.\n"
          "\n"
          "One pass from flags:\n"
          "  -m, --mode MODE        max (default), avg, min, lp, mode, median, nearest,\n"
          "                         fmax (fractional max), gmax, gavg, gmin\n"
          "                         (mode/median/nearest: for label maps)\n"
          "  -k, --kernel SIZE      window size: K, or one per spatial axis (HxW, DxHxW)\n"
          "  -s, --stride SIZE      step between windows (default: the kernel)\n"
          "  -p, --padding SIZE     implicit padding on both sides (at most kernel/2)\n"
          "  -d, --dilation SIZE    spacing between window taps (max, min, mode, median,\n"
          "                         nearest)\n"
          "      --ceil             ceil mode: keep a last, partial window\n"
          "      --count-include-pad  avg divides by the window including padding\n"
          "                         (the default, as PyTorch's count_include_pad)\n"
          "      --no-count-include-pad  avg divides by the real cells only\n"
          "      --divisor N        avg divides every window by N (divisor_override)\n"
          "      --norm P           lp's power (default 2)\n"
          "      --output-size SIZE adaptive pooling to this size (every mode but lp)\n"
          "      --ratio R          fmax: the output size as a fraction of the input's\n"
          "      --seed N           fmax: its random window offsets (default 0)\n"
          "      --samples FILE.npy fmax: PyTorch's _random_samples instead\n"
          "      --size GEOMETRY    each image's output size from its own, ImageMagick's\n"
          "                         W, xH, WxH (fit inside), WxH^ (cover), WxH! (exact);\n"
          "                         never larger than the image\n"
          "      --edge RULE        a remainder no window covers: floor (default, PyTorch),\n"
          "                         ceil, partial (Pillow reduce), replicate (vips shrink)\n"
          "Several passes:\n"
          "  -P, --pass SPEC        add a pass: MODE[:KERNEL][,key=value...], keys k s p d\n"
          "                         ceil cip div norm out ratio seed; e.g.\n"
          "                         -P max:3,s=2,p=1 -P gavg\n"
          "  -r, --repeat N         run the passes N times\n"
          "      --from-torch CALL  print the specs of PyTorch pooling layers, e.g.\n"
          "                         'nn.MaxPool2d(3, stride=2)', for -P \"$(...)\"\n"
          "Input:\n"
          "      --layout AXES      l cl ncl hw chw nchw hwc nhwc dhw cdhw ncdhw\n"
          "                         (default by rank: l hw chw nchw ncdhw)\n"
          "      --shape DIMS       read raw data of this shape, e.g. 1x64x56x56\n"
          "      --dtype TYPE       raw element type: u8 i8 u16 i16 u32 i32 u64 i64\n"
          "                         f16 f32 (default) f64\n"
          "      --max-pixels N     refuse images larger than N pixels (default 2^30)\n"
          "      --max-memory SIZE  refuse an input whose buffers would need more than\n"
          "                         SIZE bytes, e.g. 4G (default 1G)\n"
          "      --max-scans N      refuse progressive JPEGs of more scans (default 100)\n"
          "      --lenient          decode a truncated or corrupt JPEG as far as it goes,\n"
          "                         with a warning\n"
          "      --fast             a JPEG whose pass 1 averages 2x2, 4x4 or 8x8 blocks is\n"
          "                         decoded that much smaller instead (libjpeg's DCT\n"
          "                         scaling): several times faster, approximate (PSNR\n"
          "                         about 40 dB against the exact result on photos); other\n"
          "                         inputs run exactly (--plan says which)\n"
          "Images:\n"
          "      --linear           average 8/16-bit sRGB in linear light\n"
          "      --no-premultiply   average alpha images channel by channel\n"
          "      --no-auto-orient   pool the stored pixels of an EXIF-rotated photo and keep\n"
          "                         its orientation tag (default: turn it upright first)\n"
          "      --background COLOR composite alpha over COLOR (black, white, #RRGGBB, R,G,B)\n"
          "                         and drop it, e.g. to write JPEG\n"
          "      --palette RULE     palette PNGs: index (pool the indices, keep the palette;\n"
          "                         the default when every pass is max, min, mode, median\n"
          "                         or nearest) or expand (pool the colours)\n"
          "Output:\n"
          "  -o, --output FILE      write here (default: stdout); with %n %e %d %i %%, a\n"
          "                         template naming one output per input\n"
          "  -O, --outdir DIR       one output per input, mirroring folders under DIR\n"
          "  -f, --format FMT       png jpeg pnm tiff webp npy raw txt csv (default:\n"
          "                         from -o's extension, else the input's)\n"
          "      --flatten          drop size-1 axes from .npy output\n"
          "      --output-dtype T   write the pooled values as type T (f32: averages\n"
          "                         unrounded; integers: rounded half up, clamped)\n"
          "      --depth 8|16       the output's bits a sample (16 to 8: round(v*255/65535))\n"
          "      --stack            several inputs into one .npy, along a new leading axis\n"
          "      --no-header        a csv table without its header row\n"
          "      --png-level N      PNG compression 0-9 (default 3)\n"
          "      --quality N        JPEG and WebP quality 1-100 (default 90)\n"
          "      --progressive      progressive JPEG\n"
          "      --compression C    TIFF: deflate (default), lzw, packbits or none\n"
          "      --lossless         lossless WebP\n"
          "      --plan SHAPE|FILE  print each pass's output shape, stride, receptive field\n"
          "                         and coverage for a shape (3x224x224) or a file's header,\n"
          "                         and for each FILE argument (images: WIDTHxHEIGHT)\n"
          "Many inputs:\n"
          "  -R, --recursive        walk folders among the inputs (images and tensors only)\n"
          "      --files-from FILE  read the inputs from FILE (- for stdin), one a line\n"
          "  -0, --null             ... separated by NUL bytes instead (find -print0)\n"
          "      --force            overwrite outputs that exist (with -O or a template)\n"
          "      --skip-existing    skip inputs whose output exists\n"
          "      --fail-fast        stop at the first input that fails\n"
          "  -j, --jobs N           pool N inputs at once, or one tensor's planes on N\n"
          "                         threads (default: the processors)\n"
          "      --progress         a progress line on stderr even when it is not a terminal\n"
          "                         (on a terminal it is there anyway; -q: never)\n"
          "      --shard K/N        only the inputs of shard K of N (0 <= K < N), by a hash\n"
          "                         of their path below their folder argument\n"
          "Seeing what each pass keeps and loses:\n"
          "      --stats[=FILE]     per pass: shapes, coverage, per-channel min max mean\n"
          "                         std, RMSE and PSNR against the input, time; JSON Lines\n"
          "                         to stderr or FILE (with '=': --stats=loss.jsonl)\n"
          "      --stats-format F   json (default) or text (an aligned table); implies\n"
          "                         --stats\n"
          "      --shift-test       also pool the input shifted by one element along each\n"
          "                         spatial axis and report what changed (--stats=shift)\n"
          "      --warn-psnr DB     warn when the passes' PSNR against the input falls\n"
          "                         below DB (default 18, for images not pooled by a\n"
          "                         label mode; given, for any input; 0: never)\n"
          "      --save-passes DIR  write every pass's output into DIR\n"
          "      --indices FILE.npy where each output of one max/min/fmax pass came from\n"
          "                         (int64, as PyTorch's return_indices)\n"
          "      --contact-sheet FILE.png  the input and every pass side by side, with\n"
          "                         each pass's spec, size and PSNR of the stack so far\n"
          "      --sheet-height N   its panels N pixels high (default: the input's height,\n"
          "                         the whole sheet at most 2048 high)\n"
          "      --sheet-crop WxH[+X+Y]  its panels show this region of the input at 1:1\n"
          "                         (each pass expanded back to the input's size)\n"
          "  -q, --quiet            no warnings\n"
          "  -h, --help             this help\n"
          "  -V, --version          the version\n"
          "\n"
          "Example: pool -m avg -k 2 feat.npy -o half.npy\n"
          "See pool(1) for the exact rules.\n",
          out);
}

/* The pass built from -m/-k/... flags, and how the user wrote it. */
struct flag_pass {
    bool used;
    struct pool_pass pass;
    char label[128];
};

static void note_flag(struct flag_pass *f, const char *flag, const char *value)
{
    size_t used = strlen(f->label);
    snprintf(f->label + used, sizeof f->label - used, "%s%s%s%s", used ? " " : "", flag,
             value ? " " : "", value ? value : "");
    f->used = true;
}

static int flag_size(struct flag_pass *f, struct size_arg *dst, const char *flag, const char *value,
                     struct pool_error *err)
{
    struct pool_error why;
    note_flag(f, flag, value);
    if (size_arg_parse(value, dst, &why))
        return pool_fail(err, "%s %s: %s", flag, value, why.msg);
    return 0;
}

static int add_one_spec(struct cli_options *o, const char *spec, struct pool_error *err)
{
    struct pool_error why;
    if (o->npasses == MAX_PASSES)
        return pool_fail(err, "-P %s: at most %d passes", spec, MAX_PASSES);
    if (pass_spec_parse(spec, &o->passes[o->npasses], &why))
        return pool_fail(err, "-P %s: %s", spec, why.msg);
    /* a label names the pass in messages: a spec too long for it is cut */
    snprintf(o->pass_labels[o->npasses], sizeof o->pass_labels[0], "-P %.*s",
             (int)sizeof o->pass_labels[0] - 4, spec);
    o->npasses++;
    return 0;
}

/* -P takes one spec or several separated by blanks, as --from-torch prints a model's stack. */
static int add_spec_pass(struct cli_options *o, const char *arg, struct pool_error *err)
{
    static const char blanks[] = " \t\n";
    char spec[256];
    const char *p = arg + strspn(arg, blanks);
    if (!*p)
        return pool_fail(err, "-P '%s': no pass spec", arg);
    while (*p) {
        size_t len = strcspn(p, blanks);
        if (len >= sizeof spec)
            return pool_fail(err, "-P %.*s: pass spec too long", (int)len, p);
        memcpy(spec, p, len);
        spec[len] = '\0';
        if (spec[0] == ',' || strcspn(spec, "=") < strcspn(spec, ",:"))
            return pool_fail(err,
                             "-P '%s': '%s' is not a pass: a blank separates passes, so "
                             "keep a spec's keys together (max:2,s=2,p=0)",
                             arg, spec);
        if (add_one_spec(o, spec, err))
            return -1;
        p += len;
        p += strspn(p, blanks);
    }
    return 0;
}

/* --compression: TIFF's, by the names tiffcp's -c takes. */
static int parse_compression(const char *arg, enum tiff_compression *out, struct pool_error *err)
{
    static const struct {
        const char *name;
        enum tiff_compression value;
    } names[] = {{"deflate", TIFF_DEFLATE},
                 {"zip", TIFF_DEFLATE},
                 {"lzw", TIFF_LZW},
                 {"packbits", TIFF_PACKBITS},
                 {"none", TIFF_NONE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(arg, names[i].name)) {
            *out = names[i].value;
            return 0;
        }
    return pool_fail(err, "--compression %s: give deflate, lzw, packbits or none", arg);
}

static int parse_int_option(const char *flag, const char *arg, long min, long max, int *out,
                            struct pool_error *err)
{
    struct pool_error why;
    long v;
    if (count_parse(arg, min, max, &v, &why))
        return pool_fail(err, "%s %s: %s", flag, arg, why.msg);
    *out = (int)v;
    return 0;
}

/* "K/N": shard K of N, K from 0 (as SLURM_ARRAY_TASK_ID counts) to N - 1. */
static int parse_shard(struct cli_options *o, const char *arg, struct pool_error *err)
{
    struct pool_error why;
    const char *slash = strchr(arg, '/');
    char k[32];
    long shard, shards;
    if (!slash || (size_t)(slash - arg) >= sizeof k)
        return pool_fail(err, "--shard %s: give K/N, e.g. 0/4", arg);
    snprintf(k, sizeof k, "%.*s", (int)(slash - arg), arg);
    if (count_parse(slash + 1, 1, 1L << 20, &shards, &why))
        return pool_fail(err, "--shard %s: N: %s", arg, why.msg);
    if (count_parse(k, 0, shards - 1, &shard, &why))
        return pool_fail(err, "--shard %s: K: %s", arg, why.msg);
    o->shard = (size_t)shard;
    o->shards = (size_t)shards;
    return 0;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* black, white, #RGB, #RRGGBB or R,G,B: the 8-bit red, green and blue; -1 if not one. */
static int colour_parse(const char *s, unsigned char rgb[3])
{
    if (!strcmp(s, "black") || !strcmp(s, "white")) {
        memset(rgb, s[0] == 'w' ? 255 : 0, 3);
        return 0;
    }
    size_t n = strlen(s);
    if (s[0] == '#' && (n == 4 || n == 7)) {
        size_t per = (n - 1) / 3;
        for (int k = 0; k < 3; k++) {
            int v = 0;
            for (size_t j = 0; j < per; j++) {
                int d = hex_digit(s[1 + k * per + j]);
                if (d < 0)
                    return -1;
                v = v * 16 + d;
            }
            rgb[k] = (unsigned char)(per == 1 ? v * 17 : v);
        }
        return 0;
    }
    unsigned v[3];
    char tail;
    if (sscanf(s, "%3u,%3u,%3u%c", &v[0], &v[1], &v[2], &tail) != 3 || v[0] > 255 || v[1] > 255 ||
        v[2] > 255 || !strchr("0123456789", s[0]))
        return -1;
    for (int k = 0; k < 3; k++)
        rgb[k] = (unsigned char)v[k];
    return 0;
}

/* --stats[=FILE]. --stats=text or json asks for a format, almost never for a file of that
 * name: refused (even when one exists: it may be anyone's), with the way to either. */
static int parse_stats(struct cli_options *o, const char *arg, struct pool_error *err)
{
    o->stats = true;
    if (arg && !strcmp(arg, "shift")) {
        o->shift_test = true;
        return 0;
    }
    if (arg && !*arg)
        return pool_fail(err, "--stats=: give a file name, or no '='");
    bool format_word = arg && (!strcmp(arg, "text") || !strcmp(arg, "json"));
    if (format_word) /* (even when such a file exists: it would be replaced) */
        return pool_fail(err,
                         "--stats=%s would write a file named %s: %s (for such a file, "
                         "give --stats=./%s)",
                         arg, arg,
                         arg[0] == 't' ? "for a text table give --stats-format text"
                                       : "JSON Lines are the default, give --stats alone",
                         arg);
    o->stats_file = arg;
    return 0;
}

static int unknown_format(const char *arg, struct pool_error *err)
{
    char names[96];
    format_list(names, sizeof names, false);
    return pool_fail(err, "-f %s: unknown format (%s)", arg, names);
}

static int parse_one(int c, const char *arg, struct cli_options *o, struct flag_pass *f,
                     struct pool_error *err)
{
    struct pool_error why;
    struct pool_pass *p = &f->pass;
    switch (c) {
    case 'm':
        note_flag(f, "-m", arg);
        if (!mode_parse(arg, p))
            return pool_fail(err,
                             "-m %s: unknown mode (modes: max avg min lp mode median "
                             "nearest fmax gmax gavg gmin)",
                             arg);
        return 0;
    case 'k': return flag_size(f, &p->kernel, "-k", arg, err);
    case 's': return flag_size(f, &p->stride, "-s", arg, err);
    case 'p': return flag_size(f, &p->padding, "-p", arg, err);
    case 'd': return flag_size(f, &p->dilation, "-d", arg, err);
    case OPT_OUTPUT_SIZE: return flag_size(f, &p->output_size, "--output-size", arg, err);
    case OPT_CEIL:
        note_flag(f, "--ceil", NULL);
        p->ceil_mode = true;
        return 0;
    case OPT_CIP:
    case OPT_NO_CIP:
        note_flag(f, c == OPT_CIP ? "--count-include-pad" : "--no-count-include-pad", NULL);
        p->pad_count = c == OPT_CIP ? PAD_COUNT_INCLUDE : PAD_COUNT_EXCLUDE;
        return 0;
    case OPT_RATIO:
        note_flag(f, "--ratio", arg);
        if (ratio_parse(arg, p, &why))
            return pool_fail(err, "--ratio %s: %s", arg, why.msg);
        return 0;
    case OPT_SEED:
        note_flag(f, "--seed", arg);
        p->has_seed = true;
        if (seed_parse(arg, &p->seed, &why))
            return pool_fail(err, "--seed %s: %s", arg, why.msg);
        return 0;
    case OPT_SAMPLES: o->samples = arg; return 0;
    case OPT_DIVISOR:
        note_flag(f, "--divisor", arg);
        if (divisor_parse(arg, &p->divisor_override, &why))
            return pool_fail(err, "--divisor %s: %s", arg, why.msg);
        return 0;
    case OPT_NORM:
        note_flag(f, "--norm", arg);
        p->has_norm = true;
        if (number_parse(arg, &p->norm, &why))
            return pool_fail(err, "--norm %s: %s", arg, why.msg);
        return 0;
    case 'P': return add_spec_pass(o, arg, err);
    case OPT_FROM_TORCH: o->from_torch = arg; return 0;
    case 'r':
        if (count_parse(arg, 1, 1000, &o->repeat, &why))
            return pool_fail(err, "-r %s: %s", arg, why.msg);
        return 0;
    case OPT_LAYOUT:
        o->layout = arg;
        if (layout_check(arg, (int)strlen(arg), &why))
            return pool_fail(err, "--layout %s: %s", arg, why.msg);
        return 0;
    case OPT_SHAPE:
        o->reader.raw.given = true;
        if (shape_parse(arg, &o->reader.raw.shape, &why))
            return pool_fail(err, "--shape %s: %s", arg, why.msg);
        return 0;
    case OPT_DTYPE:
        if (!dtype_parse(arg, &o->reader.raw.shape.dtype))
            return pool_fail(err,
                             "--dtype %s: unknown type (u8 i8 u16 i16 u32 i32 u64 i64 "
                             "f16 f32 f64)",
                             arg);
        return 0;
    case OPT_PNG_LEVEL:
        return parse_int_option("--png-level", arg, 0, 9, &o->writer.png_level, err);
    case OPT_QUALITY: return parse_int_option("--quality", arg, 1, 100, &o->writer.quality, err);
    case OPT_PROGRESSIVE: o->writer.jpeg_progressive = true; return 0;
    case OPT_COMPRESSION:
        o->compression_given = true;
        return parse_compression(arg, &o->writer.compression, err);
    case OPT_LOSSLESS: o->writer.lossless = true; return 0;
    case OPT_MAX_PIXELS: {
        long v;
        if (count_parse(arg, 1, LONG_MAX, &v, &why))
            return pool_fail(err, "--max-pixels %s: %s", arg, why.msg);
        o->reader.max_pixels = (unsigned long long)v;
        return 0;
    }
    case OPT_MAX_MEMORY:
        if (bytes_parse(arg, 1 << 20, &o->reader.max_memory, &why))
            return pool_fail(err, "--max-memory %s: %s", arg, why.msg);
        return 0;
    case OPT_MAX_SCANS:
        return parse_int_option("--max-scans", arg, 1, 1000000, &o->reader.max_scans, err);
    case OPT_LENIENT: o->reader.lenient = true; return 0;
    case OPT_LINEAR: o->linear = true; return 0;
    case OPT_FAST: o->fast = true; return 0;
    case OPT_PLAN:
        /* (getopt hands over the next word even when it is an option: --plan -k 2 a.png) */
        if (arg[0] == '-' && arg[1])
            return pool_fail(err,
                             "--plan %s: --plan takes a SHAPE or a FILE first (--plan "
                             "a.png -k 2)",
                             arg);
        o->plan = arg;
        return 0;
    case OPT_FLATTEN: o->flatten = true; return 0;
    case OPT_NO_HEADER: o->writer.no_header = true; return 0;
    case OPT_STACK: o->writer.stack = true; return 0;
    case OPT_STATS: return parse_stats(o, arg, err);
    case OPT_STATS_FORMAT:
        if (strcmp(arg, "json") && strcmp(arg, "text"))
            return pool_fail(err, "--stats-format %s: json or text", arg);
        o->stats_text = !strcmp(arg, "text");
        o->stats = true;
        return 0;
    case OPT_SHIFT_TEST: o->shift_test = o->stats = true; return 0;
    case OPT_WARN_PSNR:
        o->warn_psnr_given = true;
        if (number_parse(arg, &o->warn_psnr, &why) || o->warn_psnr < 0)
            return pool_fail(err, "--warn-psnr %s: %s", arg,
                             o->warn_psnr < 0 ? "a threshold in dB, 0 or more" : why.msg);
        return 0;
    case OPT_SAVE_PASSES:
        if (!*arg)
            return pool_fail(err, "--save-passes: give a folder");
        o->save_passes = arg;
        return 0;
    case OPT_CONTACT_SHEET:
        if (!*arg)
            return pool_fail(err, "--contact-sheet: give a file name");
        if (arg[0] == '-' && arg[1])
            return pool_fail(err,
                             "--contact-sheet %s: give the sheet's file name first "
                             "(--contact-sheet sheet.png)",
                             arg);
        o->contact_sheet = arg;
        return 0;
    case OPT_SHEET_HEIGHT: {
        long v;
        if (count_parse(arg, 1, SHEET_HEIGHT_MAX, &v, &why))
            return pool_fail(err, "--sheet-height %s: %s", arg, why.msg);
        o->sheet_height = (size_t)v;
        return 0;
    }
    case OPT_SHEET_CROP:
        if (sheet_crop_parse(arg, &o->sheet_crop, &why))
            return pool_fail(err, "--sheet-crop %s: %s", arg, why.msg);
        return 0;
    case OPT_INDICES:
        if (!strcmp(arg, "-"))
            return pool_fail(err, "--indices needs a file (.npy): stdout has the values");
        o->indices = arg;
        return 0;
    case OPT_NO_PREMULTIPLY: o->no_premultiply = true; return 0;
    case OPT_NO_AUTO_ORIENT: o->no_auto_orient = true; return 0;
    case OPT_PALETTE:
        if (strcmp(arg, "index") && strcmp(arg, "expand"))
            return pool_fail(err, "--palette %s: give index or expand", arg);
        o->palette_given = true;
        o->reader.palette_index = !strcmp(arg, "index");
        return 0;
    case OPT_OUTPUT_DTYPE:
        if (!dtype_parse(arg, &o->output_dtype))
            return pool_fail(err,
                             "--output-dtype %s: unknown type (u8 i8 u16 i16 u32 i32 u64 i64 "
                             "f16 f32 f64)",
                             arg);
        o->output_dtype_given = true;
        return 0;
    case OPT_DEPTH:
        if (strcmp(arg, "8") && strcmp(arg, "16"))
            return pool_fail(err, "--depth %s: give 8 or 16 (bits a sample)", arg);
        o->depth = !strcmp(arg, "8") ? DT_U8 : DT_U16;
        o->depth_given = true;
        return 0;
    case OPT_EDGE:
        if (strcmp(arg, "floor") && strcmp(arg, "ceil") && strcmp(arg, "partial") &&
            strcmp(arg, "replicate"))
            return pool_fail(err, "--edge %s: give floor, ceil, partial or replicate", arg);
        o->edge = !strcmp(arg, "floor")     ? EDGE_FLOOR
                  : !strcmp(arg, "ceil")    ? EDGE_CEIL
                  : !strcmp(arg, "partial") ? EDGE_PARTIAL
                                            : EDGE_REPLICATE;
        return 0;
    case OPT_SIZE:
        if (fit_parse(arg, &o->size, &why))
            return pool_fail(err, "--size %s", why.msg);
        o->size_given = true;
        return 0;
    case OPT_BACKGROUND:
        if (colour_parse(arg, o->background))
            return pool_fail(err,
                             "--background %s: give a colour as black, white, #RGB, "
                             "#RRGGBB or R,G,B (0-255 each)",
                             arg);
        o->background_given = true;
        return 0;
    case 'o':
        o->output = arg;
        o->output_template = strchr(arg, '%') != NULL;
        return 0;
    case 'O':
        if (!*arg)
            return pool_fail(err, "-O: give a folder");
        if (!strcmp(arg, "-"))
            return pool_fail(err, "-O -: -O takes a folder (./- for one named -); for "
                                  "standard output give -o -");
        o->outdir = arg;
        return 0;
    case 'R': o->recursive = true; return 0;
    case OPT_FILES_FROM: o->files_from = arg; return 0;
    case '0': o->null_separated = true; return 0;
    case OPT_FORCE: o->force = true; return 0;
    case OPT_SKIP_EXISTING: o->skip_existing = true; return 0;
    case OPT_FAIL_FAST: o->fail_fast = true; return 0;
    case OPT_SHARD: return parse_shard(o, arg, err);
    case OPT_PROGRESS: o->progress = true; return 0;
    case 'j': {
        long v;
        if (count_parse(arg, 1, MAX_JOBS, &v, &why))
            return pool_fail(err, "-j %s: %s", arg, why.msg);
        o->jobs = (size_t)v;
        return 0;
    }
    case 'f':
        o->format = format_from_name(arg);
        return o->format == FORMAT_UNKNOWN ? unknown_format(arg, err) : 0;
    case 'q': o->quiet = true; return 0;
    case 'h': o->help = true; return 0;
    case 'V': o->version = true; return 0;
    default: return pool_fail(err, "bad option (see pool --help)");
    }
}

/* Whether every pass gives one of its window's values (so palette indices stay indices). */
static bool passes_pick_values(const struct cli_options *o)
{
    for (int i = 0; i < o->npasses; i++)
        if (o->passes[i].mode == MODE_AVG || o->passes[i].mode == MODE_LP)
            return false;
    return true;
}

static bool windowed(const struct pool_pass *p)
{
    return !p->global && !p->output_size.n && p->mode != MODE_FMAX;
}

/* --edge: what happens to a remainder no whole window covers, on every windowed pass (it
 * overrides --ceil and ceil= in specs). */
static int apply_edge(struct cli_options *o, struct pool_error *err)
{
    int applied = 0;
    for (int i = 0; i < o->npasses; i++) {
        struct pool_pass *p = &o->passes[i];
        if (!windowed(p))
            continue;
        p->ceil_mode = o->edge == EDGE_CEIL || o->edge == EDGE_PARTIAL;
        if (o->edge == EDGE_PARTIAL && p->mode == MODE_AVG)
            p->pad_count = PAD_COUNT_EXCLUDE;
        p->edge_replicate = o->edge == EDGE_REPLICATE;
        applied++;
    }
    if (!applied)
        return pool_fail(err, "--edge decides the last windows of windowed passes (-k), and "
                              "these are adaptive (an output size, --size, global): give -k");
    if (o->edge == EDGE_REPLICATE && o->shift_test)
        return pool_fail(err, "--shift-test does not take --edge replicate (its shifted copies "
                              "would need their own extended edges): use --edge partial");
    return 0;
}

/* --size makes the one pass adaptive, to a size found for each image. */
static int check_size(struct cli_options *o, struct flag_pass *f, struct pool_error *err)
{
    const struct pool_pass *p = &f->pass;
    if (o->npasses)
        return pool_fail(err, "--size sizes one pass, given with -m: not with -P");
    if (p->kernel.n || p->stride.n || p->padding.n || p->dilation.n || p->output_size.n ||
        p->ceil_mode || p->global)
        return pool_fail(err, "--size chooses the windows (adaptive pooling to the size): "
                              "give no kernel, stride, padding, dilation, ceil, output size "
                              "or global mode with it");
    if (o->repeat > 1)
        return pool_fail(err, "--size reaches its size in one pass: -r does not apply");
    if (p->mode == MODE_LP)
        return pool_fail(err, "--size pools adaptively, which lp does not (any other mode)");
    f->pass.output_size = (struct size_arg){1, {1}}; /* set for each image */
    if (!f->used)
        snprintf(f->label, sizeof f->label, "--size");
    f->used = true;
    return 0;
}

/* --indices: of one max or min pass, on one input, with windows as PyTorch lays them. */
static int check_indices(struct cli_options *o, struct pool_error *err)
{
    if (o->npasses * o->repeat != 1)
        return pool_fail(err, "--indices gives where the values of one pass came from, as "
                              "PyTorch's return_indices: give one max, min or fmax pass");
    if (o->edge == EDGE_REPLICATE)
        return pool_fail(err, "--indices point into the input, which --edge replicate "
                              "extends: use --edge floor, ceil or partial");
    if (o->ninputs > 1 || o->recursive || o->files_from || options_batch(o))
        return pool_fail(err, "--indices writes one .npy, for one input: give one");
    if (!strcmp(o->indices, o->output))
        return pool_fail(err,
                         "--indices %s is also the output: give the indices a file of "
                         "their own",
                         o->indices);
    o->passes[0].return_indices = true;
    return 0;
}

/* POOL_KERNELS names the kernels to run (tests run each level); unset or empty: the best
 * this processor runs. */
static int kernels_from_environment(enum simd_level *out, struct pool_error *err)
{
    const char *name = getenv("POOL_KERNELS");
    *out = simd_best();
    if (!name || !*name)
        return 0;
    if (!simd_parse(name, out))
        return pool_fail(err, "POOL_KERNELS=%s: not one of portable, baseline, avx2, avx512", name);
    if (!simd_available(*out))
        return pool_fail(
            err, "POOL_KERNELS=%s: this processor or build has no %s (the best it runs: %s)", name,
            name, simd_name(simd_best()));
    return 0;
}

/* --samples: for one fmax pass (the file is read before the inputs, by main). */
static int check_samples(const struct cli_options *o, struct pool_error *err)
{
    int fractional = 0;
    for (int i = 0; i < o->npasses; i++)
        fractional += o->passes[i].mode == MODE_FMAX;
    if (fractional != 1 || o->repeat > 1)
        return pool_fail(err, "--samples gives the random offsets of one fmax pass: give one");
    return 0;
}

static int finish_passes(struct cli_options *o, struct flag_pass *f, bool dtype_given,
                         struct pool_error *err)
{
    if (o->size_given && check_size(o, f, err))
        return -1;
    if (f->used && o->npasses)
        return pool_fail(err, "%s: give a pass either with -P or with -m/-k/... flags, not both",
                         f->label);
    if (f->used) {
        o->passes[0] = f->pass;
        snprintf(o->pass_labels[0], sizeof o->pass_labels[0], "%s", f->label);
        o->npasses = 1;
    }
    if (!o->npasses && !o->help && !o->version && !o->from_torch)
        return pool_fail(err, "no pass given: use -k SIZE (and -m MODE), or -P SPEC "
                              "(see pool --help)");
    if (!o->help && kernels_from_environment(&o->kernels, err)) /* help is help, whatever */
        return -1;
    if (o->edge && apply_edge(o, err))
        return -1;
    if (o->indices && check_indices(o, err))
        return -1;
    if (o->samples && check_samples(o, err))
        return -1;
    for (int i = 0; i < o->npasses; i++) {
        struct pool_error why;
        if (pass_check(&o->passes[i], &why))
            return pool_fail(err, "%s: %s", o->pass_labels[i], why.msg);
    }
    if (dtype_given && !o->reader.raw.given)
        return pool_fail(err, "--dtype describes raw input: give --shape too");
    if (!o->palette_given)
        o->reader.palette_index = passes_pick_values(o);
    if (o->depth_given && o->output_dtype_given)
        return pool_fail(err, "--depth and --output-dtype both set the output's type: give one");
    if (o->linear && o->output_dtype_given && dtype_is_float(o->output_dtype))
        return pool_fail(err, "--linear turns the pooled light back into codes, so a float "
                              "--output-dtype would not see the values before rounding: "
                              "give one");
    return 0;
}

/* Rules between the options of a batch. */
static int check_batch(const struct cli_options *o, struct pool_error *err)
{
    if (o->outdir && strcmp(o->output, "-"))
        return pool_fail(err, "-O and -o: give one (-o may be a template such as "
                              "'out/%%d/%%n.%%e')");
    if (o->force && o->skip_existing)
        return pool_fail(err, "--force and --skip-existing: give one");
    /* (one -o FILE is replaced anyway: --force changes nothing there) */
    if (o->skip_existing && !options_batch(o) && !strcmp(o->output, "-"))
        return pool_fail(err, "--skip-existing skips inputs whose output file exists: give -O "
                              "DIR, an -o template, or -o FILE");
    if (o->shards && !options_batch(o))
        return pool_fail(err, "--shard works with one output per input (-O DIR, or -o with %% "
                              "codes)");
    if (options_batch(o) && o->writer.stack)
        return pool_fail(err, "--stack gathers every input into one .npy: give -o FILE.npy, "
                              "not -O or a template");
    if (options_batch(o) && o->contact_sheet)
        return pool_fail(err, "--contact-sheet shows one image: pool that input alone, "
                              "without -O or a template");
    if (o->null_separated && !o->files_from)
        return pool_fail(err, "-0 describes the list of --files-from: give it");
    if (o->files_from && o->inputs_given && o->ninputs == 1 && !strcmp(o->inputs[0], "-") &&
        !strcmp(o->files_from, "-"))
        return pool_fail(err, "--files-from - and the input - would both read stdin");
    return 0;
}

struct pool_pass *options_expand_passes(const struct cli_options *o, size_t *n)
{
    *n = (size_t)o->npasses * (size_t)o->repeat;
    struct pool_pass *all = malloc(*n * sizeof *all);
    for (size_t i = 0; all && i < *n; i++)
        all[i] = o->passes[i % (size_t)o->npasses];
    return all;
}

/* What getopt_long refused: an unknown short option (in a cluster, argv names the
 * cluster), a value given to a flag, or an abbreviation of several long options. */
static int bad_option(int short_opt, const char *arg, struct pool_error *err)
{
    if (short_opt && short_opt < 256)
        return pool_fail(err, "-%c: unknown option (see pool --help)", short_opt);
    if (strncmp(arg, "--", 2))
        return pool_fail(err, "%s: unknown option (see pool --help)", arg);
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int matches = 0;
    const struct option *hit = NULL;
    for (const struct option *lo = long_options; lo->name; lo++)
        if (!strncmp(lo->name, name, len)) {
            if (strlen(lo->name) == len) {
                hit = lo;
                matches = 1;
                break;
            }
            hit = lo;
            matches++;
        }
    if (matches == 1 && eq && hit->has_arg == no_argument)
        return pool_fail(err, "--%s takes no value", hit->name);
    if (matches > 1)
        return pool_fail(err, "%.*s: ambiguous, say which option (see pool --help)", (int)(len + 2),
                         arg);
    return pool_fail(err, "%s: unknown option (see pool --help)", arg);
}

int options_parse(int argc, char **argv, struct cli_options *o, struct pool_error *err)
{
    struct flag_pass flags;
    bool dtype_given = false;
    memset(o, 0, sizeof *o);
    memset(&flags, 0, sizeof flags);
    o->repeat = 1;
    o->input = o->output = "-";
    o->reader.raw.shape.dtype = DT_F32;
    o->reader.max_pixels = DEFAULT_MAX_PIXELS;
    o->reader.max_memory = DEFAULT_MAX_MEMORY;
    o->reader.max_scans = DEFAULT_MAX_SCANS;
    o->writer.png_level = DEFAULT_PNG_LEVEL;
    o->writer.quality = DEFAULT_JPEG_QUALITY;
    o->warn_psnr = DEFAULT_WARN_PSNR;
    long processors = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = processors < 1 ? 1 : processors > MAX_JOBS ? MAX_JOBS : (size_t)processors;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":m:k:s:p:d:r:P:o:O:f:j:R0qhV", long_options, NULL)) !=
           -1) {
        if (c == '?')
            return bad_option(optopt, argv[optind - 1], err);
        if (c == ':')
            return optopt && optopt < 256 ? pool_fail(err, "-%c: needs a value", optopt)
                                          : pool_fail(err, "%s: needs a value", argv[optind - 1]);
        dtype_given |= c == OPT_DTYPE;
        /* the word after a bare --stats: a FILE argument, or a file meant for --stats */
        if (c == OPT_STATS && !optarg && optind < argc)
            o->after_stats = argv[optind];
        o->stats_bare |= c == OPT_STATS && !optarg;
        if (parse_one(c, optarg, o, &flags, err))
            return -1;
    }
    static char *stdin_only[] = {"-"};
    o->inputs_given = argc > optind;
    o->inputs = o->inputs_given ? argv + optind : stdin_only;
    o->ninputs = o->inputs_given ? argc - optind : 1;
    o->input = o->inputs[0];
    if (o->from_torch && (o->inputs_given || strcmp(o->output, "-") || o->npasses))
        return pool_fail(err, "--from-torch prints the specs of PyTorch's layers and pools "
                              "nothing: give no file, -o or pass; pool with "
                              "-P \"$(pool --from-torch '...')\" FILE");
    if (!o->contact_sheet && (o->sheet_height || o->sheet_crop.given))
        return pool_fail(err, "%s shapes the contact sheet: give --contact-sheet FILE.png",
                         o->sheet_height ? "--sheet-height" : "--sheet-crop");
    if (o->contact_sheet && (o->ninputs > 1 || o->recursive || o->files_from))
        return pool_fail(err, "--contact-sheet shows one image: give one input");
    enum file_format sheet = o->contact_sheet ? format_from_path(o->contact_sheet) : FORMAT_PNG;
    if (sheet != FORMAT_PNG && sheet != FORMAT_UNKNOWN)
        return pool_fail(err, "--contact-sheet %s: a contact sheet is a PNG: give FILE.png",
                         o->contact_sheet);
    if (finish_passes(o, &flags, dtype_given, err) || check_batch(o, err))
        return -1;
    return 0;
}

bool options_batch(const struct cli_options *o) { return o->outdir || o->output_template; }

/* Names that say "statistics", not "an image or a tensor". */
static bool looks_like_stats_file(const char *path)
{
    static const char *const endings[] = {".jsonl", ".json", ".txt", ".tsv", ".log"};
    size_t len = strlen(path);
    for (size_t i = 0; i < sizeof endings / sizeof endings[0]; i++) {
        size_t n = strlen(endings[i]);
        if (len > n && !strcmp(path + len - n, endings[i]))
            return true;
    }
    return false;
}

void options_hint_stats_file(const struct cli_options *o, const char *input, struct pool_error *err)
{
    if (!o->stats_bare || o->stats_file || !strcmp(input, "-"))
        return;
    bool right_after = o->after_stats && !strcmp(input, o->after_stats);
    bool format_word = !strcmp(input, "text") || !strcmp(input, "json");
    if (!right_after && !format_word && !looks_like_stats_file(input))
        return;
    size_t used = strlen(err->msg);
    if (format_word)
        snprintf(err->msg + used, sizeof err->msg - used,
                 " (for the statistics as %s, give --stats-format %s)", input, input);
    else
        snprintf(err->msg + used, sizeof err->msg - used,
                 " (to write the statistics there, give --stats=%s)", input);
}

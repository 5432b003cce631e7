#include "unpool.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../codec/codec.h"
#include "../core/unpool.h"
#include "messages.h"
#include "output.h"
#include "spec.h"

/* The output is made this many bytes of rows at a time (POOL_UNPOOL_BAND_BYTES overrides
 * it, for tests of several bands); an output larger than one band reads its inputs again
 * for each band. */
#define UNPOOL_BAND_BYTES ((size_t)64 << 20)

struct unpool_args {
    const char *values, *indices, *output, *layout;
    enum file_format format;
    struct size_arg output_size, kernel, stride, padding;
    size_t max_memory; /* --max-memory */
};

/* A path as messages show it: stdin and stdout by name. */
static const char *display(const char *path, const char *stdio)
{
    return strcmp(path, "-") ? path : stdio;
}

/* One input file: the values or the indices, read from the start once per band. */
struct unpool_input {
    const char *path, *name;
    struct byte_source src;
    struct tensor_reader reader;
    struct reader_options opt;
};

struct unpool_job {
    struct unpool_args a;
    struct unpool_input values, indices;
    struct row_geom in, out;
    struct tensor_shape out_shape;
    struct output_file file;
    struct tensor_writer writer;
    bool writer_open;
    void *value_row;
    int64_t *index_row;
    struct unpool_band band;
};

static void print_help(FILE *out)
{
    fputs("Usage: pool unpool --indices IDX.npy (--output-size SIZE | -k K [-s S] [-p P])\n"
          "                   [--layout AXES] [--max-memory SIZE] [-o OUT] [-f FORMAT] VALUES\n"
          "Max unpooling, as PyTorch's max_unpool1d/2d/3d: an output of zeros in which each\n"
          "value of VALUES goes to its index (int64, from pool --indices or PyTorch's\n"
          "return_indices) in its (batch, channel) plane.\n"
          "      --indices FILE     the indices, of the values' shape (required)\n"
          "      --output-size SIZE the output's spatial size (D x H x W, as -k)\n"
          "  -k, -s, -p SIZE        or the pooling's kernel, stride (default: the kernel)\n"
          "                         and padding: (L - 1) s - 2 p + k per axis\n"
          "      --layout AXES      the values' layout (default: by rank, as pool's)\n"
          "      --max-memory SIZE  refuse rows and bands of more than SIZE (default 1G)\n"
          "  -o, --output FILE      the output (default: stdout)\n"
          "  -f, --format FORMAT    npy raw png pnm jpeg (default: -o's extension)\n",
          out);
}

static int size_option(const char *flag, const char *arg, struct size_arg *out,
                       struct pool_error *err)
{
    struct pool_error why;
    if (size_arg_parse(arg, out, &why))
        return pool_fail(err, "%s %s: %s", flag, arg, why.msg);
    return 0;
}

static int parse_args(int argc, char **argv, struct unpool_args *a, bool *help,
                      struct pool_error *err)
{
    enum { OPT_INDICES = 256, OPT_OUTPUT_SIZE, OPT_LAYOUT, OPT_MAX_MEMORY };
    static const struct option longs[] = {{"indices", required_argument, NULL, OPT_INDICES},
                                          {"output-size", required_argument, NULL, OPT_OUTPUT_SIZE},
                                          {"kernel", required_argument, NULL, 'k'},
                                          {"stride", required_argument, NULL, 's'},
                                          {"padding", required_argument, NULL, 'p'},
                                          {"layout", required_argument, NULL, OPT_LAYOUT},
                                          {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
                                          {"output", required_argument, NULL, 'o'},
                                          {"format", required_argument, NULL, 'f'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    memset(a, 0, sizeof *a);
    a->output = "-";
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":k:s:p:o:f:h", longs, NULL)) != -1) {
        const char *flag = argv[optind - 1];
        int rc = 0;
        switch (c) {
        case OPT_INDICES: a->indices = optarg; break;
        case OPT_OUTPUT_SIZE:
            rc = size_option("--output-size", optarg, &a->output_size, err);
            break;
        case 'k': rc = size_option("-k", optarg, &a->kernel, err); break;
        case 's': rc = size_option("-s", optarg, &a->stride, err); break;
        case 'p': rc = size_option("-p", optarg, &a->padding, err); break;
        case OPT_LAYOUT: a->layout = optarg; break;
        case OPT_MAX_MEMORY: {
            struct pool_error why;
            if (bytes_parse(optarg, 1 << 20, &a->max_memory, &why))
                rc = pool_fail(err, "--max-memory %s: %s", optarg, why.msg);
            break;
        }
        case 'o': a->output = optarg; break;
        case 'f':
            a->format = format_from_name(optarg);
            if (a->format == FORMAT_UNKNOWN)
                rc = pool_fail(err, "-f %s: unknown format", optarg);
            break;
        case 'h': *help = true; return 0;
        case ':': return pool_fail(err, "%s: needs a value", flag);
        default: return pool_fail(err, "%s: unknown option (see pool unpool --help)", flag);
        }
        if (rc)
            return -1;
    }
    if (optind < argc - 1)
        return pool_fail(err, "give one VALUES file (see pool unpool --help)");
    a->values = optind == argc - 1 ? argv[optind] : "-"; /* stdin, as pool reads */
    if (!a->indices)
        return pool_fail(err, "--indices FILE is required: where each value goes");
    if (a->output_size.n && (a->kernel.n || a->stride.n || a->padding.n))
        return pool_fail(err, "give --output-size, or -k (with -s, -p), not both");
    if (!a->output_size.n && !a->kernel.n)
        return pool_fail(err, "give the output's size: --output-size SIZE, or the pooling's -k");
    return 0;
}

static int open_input(struct unpool_input *in, struct pool_error *err)
{
    if (source_open(&in->src, in->path, err) || reader_open(&in->reader, &in->src, &in->opt, err))
        return pool_blame(err, ERROR_INPUT, in->name);
    return 0;
}

static void close_input(struct unpool_input *in)
{
    reader_close(&in->reader);
    source_close(&in->src);
    memset(&in->reader, 0, sizeof in->reader);
    memset(&in->src, 0, sizeof in->src);
}

/* The output's spatial sizes: given, or max_unpool's default (L - 1) s - 2 p + k. */
static int output_sizes(const struct unpool_job *j, size_t size[3], struct pool_error *err)
{
    const struct unpool_args *a = &j->a;
    int n = j->in.nspatial;
    size_t given[3], k[3], s[3], p[3]; /* s 0: the kernel */
    if (size_arg_resolve(&a->output_size, "--output-size", n, 0, 0, given, err) ||
        size_arg_resolve(&a->kernel, "-k", n, 1, 1, k, err) ||
        size_arg_resolve(&a->stride, "-s", n, 0, 1, s, err) ||
        size_arg_resolve(&a->padding, "-p", n, 0, 0, p, err))
        return -1;
    for (int i = 0; i < 3; i++) {
        size[i] = j->in.size[i];
        if (i < 3 - n)
            continue;
        if (a->output_size.n) {
            size[i] = given[i];
        } else {
            size_t stride = s[i] ? s[i] : k[i], L = j->in.size[i], grown;
            if (__builtin_mul_overflow(L - 1, stride, &grown) ||
                __builtin_add_overflow(grown, k[i], &grown))
                return pool_fail(err, "(L - 1) s + k is too large on axis %c (L %zu)",
                                 j->in.axis_name[i], L);
            if (k[i] == 0 || stride == 0 || grown <= 2 * p[i])
                return pool_fail(err, "kernel %zu, stride %zu, padding %zu give no output", k[i],
                                 stride, p[i]);
            size[i] = grown - 2 * p[i];
        }
        if (size[i] == 0)
            return pool_fail(err, "an output size of 0");
    }
    return 0;
}

/* Opens both inputs, checks they match, and works out the output's shape. */
static int plan_job(struct unpool_job *j, struct pool_error *err)
{
    if (open_input(&j->values, err) || open_input(&j->indices, err))
        return -1;
    struct tensor_shape *vs = &j->values.reader.shape, *is = &j->indices.reader.shape;
    if (is->dtype != DT_I64) {
        pool_fail(err, "indices are int64 (as pool --indices and PyTorch write them), not %s",
                  dtype_name(is->dtype));
        return pool_blame(err, ERROR_INPUT, j->indices.name);
    }
    const char *layout = j->a.layout ? j->a.layout : reader_default_layout(&j->values.reader);
    if (!layout) {
        pool_fail(err, "a %d-axis tensor has no default layout: give --layout", vs->ndim);
        return pool_blame(err, ERROR_USAGE, NULL);
    }
    if (layout_check(layout, vs->ndim, err))
        return pool_blame(err, ERROR_USAGE, "--layout");
    snprintf(vs->layout, sizeof vs->layout, "%s", layout);
    snprintf(is->layout, sizeof is->layout, "%s", is->ndim == vs->ndim ? layout : "");
    char vtext[96], itext[96];
    shape_describe(vs, false, vtext, sizeof vtext);
    shape_describe(is, false, itext, sizeof itext);
    if (strcmp(vtext, itext)) {
        pool_fail(err, "the indices are %s, the values %s: they must have one shape", itext, vtext);
        return pool_blame(err, ERROR_INPUT, j->indices.name);
    }
    size_t size[3];
    if (tensor_geom(vs, &j->in, err))
        return pool_blame(err, ERROR_INPUT, j->values.name);
    if (output_sizes(j, size, err))
        return pool_blame(err, ERROR_USAGE, NULL);
    j->out_shape = *vs;
    tensor_respace(&j->out_shape, size);
    size_t count;
    if (tensor_count(&j->out_shape, &count, err) || tensor_geom(&j->out_shape, &j->out, err))
        return pool_blame(err, ERROR_USAGE, NULL);
    return 0;
}

static size_t band_bytes(void)
{
    const char *env = getenv("POOL_UNPOOL_BAND_BYTES");
    long long v = env ? atoll(env) : 0;
    return v > 0 ? (size_t)v : UNPOOL_BAND_BYTES;
}

static int open_output(struct unpool_job *j, struct pool_error *err)
{
    const struct unpool_input *inputs[] = {&j->values, &j->indices};
    for (int i = 0; i < 2; i++)
        if (output_same_file(j->a.output, inputs[i]->path)) {
            pool_fail(err, "the output %s is the %s itself: write it elsewhere", j->a.output,
                      i ? "indices" : "values");
            return pool_blame(err, ERROR_USAGE, inputs[i]->name);
        }
    enum file_format f = j->a.format;
    if (f == FORMAT_UNKNOWN && strcmp(j->a.output, "-"))
        f = format_from_path(j->a.output);
    if (f == FORMAT_UNKNOWN)
        f = j->values.reader.ops->format;
    static const struct writer_options defaults = {.png_level = 3, .quality = 90};
    if (output_open(&j->file, j->a.output, err) ||
        writer_open(&j->writer, f, j->file.fp, &j->out_shape, &j->values.reader.meta, &defaults,
                    err))
        return pool_blame(err, ERROR_OUTPUT, display(j->a.output, "<stdout>"));
    j->writer_open = true;
    return 0;
}

/* Reads every input row the band may need (all of them, the first time) and scatters it. */
static int fill_band(struct unpool_job *j, bool whole, struct pool_error *err)
{
    size_t n = geom_row_elems(&j->in), rows = j->in.planes * geom_rows_per_plane(&j->in);
    size_t from = unpool_first_input_row(&j->band), to = unpool_end_input_row(&j->band);
    if (whole || to > rows)
        to = rows;
    for (size_t r = 0; r < to; r++) {
        if (j->values.reader.ops->read(&j->values.reader, j->value_row, n, err))
            return pool_blame(err, ERROR_INPUT, j->values.name);
        if (j->indices.reader.ops->read(&j->indices.reader, j->index_row, n, err))
            return pool_blame(err, ERROR_INPUT, j->indices.name);
        if (r >= from && unpool_scatter_row(&j->band, r, j->value_row, j->index_row, err)) {
            if (!j->a.output_size.n) /* PyTorch's default size may be short of the input's */
                snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg),
                         "; the size came from -k, -s and -p: give the pooled input's own "
                         "with --output-size");
            return pool_blame(err, ERROR_INPUT, j->indices.name);
        }
    }
    return 0;
}

static int write_band(struct unpool_job *j, struct pool_error *err)
{
    if (j->writer.ops->write(&j->writer, j->band.data, j->band.rows * geom_row_elems(&j->out), err))
        return pool_blame(err, ERROR_OUTPUT, display(j->a.output, "<stdout>"));
    return 0;
}

static int run_job(struct unpool_job *j, struct pool_error *err)
{
    if (plan_job(j, err))
        return -1;
    size_t es = dtype_size(j->in.dtype), row_bytes = geom_row_elems(&j->out) * es;
    size_t total = j->out.planes * geom_rows_per_plane(&j->out);
    size_t band_rows = band_bytes() / row_bytes;
    band_rows = band_rows < 1 ? 1 : band_rows > total ? total : band_rows;
    bool again = band_rows < total;
    if (again && (j->values.src.size < 0 || j->indices.src.size < 0)) {
        pool_fail(err,
                  "the output is larger than one band of %zu rows, so the values and "
                  "indices are read once per band: give files, not a pipe",
                  band_rows);
        return pool_blame(err, ERROR_INPUT,
                          j->values.src.size < 0 ? j->values.name : j->indices.name);
    }
    /* a row of values, of indices and the band, within the budget (core/error.h) */
    size_t need = 0;
    bool overflow = __builtin_mul_overflow(geom_row_elems(&j->in), es + sizeof *j->index_row,
                                           &need) ||
                    __builtin_add_overflow(need, band_rows * row_bytes, &need);
    if (pool_check_memory(overflow ? SIZE_MAX : need, 0, j->a.max_memory,
                          "a row of the values and indices and a band of the output need", err))
        return pool_blame(err, ERROR_INPUT, j->values.name);
    j->value_row = malloc(geom_row_elems(&j->in) * es);
    j->index_row = malloc(geom_row_elems(&j->in) * sizeof *j->index_row);
    j->band = (struct unpool_band){&j->in, &j->out, 0, band_rows, calloc(band_rows, row_bytes)};
    if (!j->value_row || !j->index_row || !j->band.data)
        return pool_fail_resource(err, "out of memory for a band of %zu rows", band_rows);
    if (open_output(j, err))
        return -1;
    for (size_t first = 0; first < total; first += band_rows) {
        j->band.first = first;
        j->band.rows = total - first < band_rows ? total - first : band_rows;
        if (first > 0) {
            close_input(&j->values);
            close_input(&j->indices);
            if (open_input(&j->values, err) || open_input(&j->indices, err))
                return -1;
        }
        /* the first scan reads everything, so every index is checked and nothing is left */
        if (fill_band(j, first == 0, err) || write_band(j, err))
            return -1;
        memset(j->band.data, 0, j->band.rows * row_bytes);
        if (first == 0 && ((j->values.reader.ops->finish &&
                            j->values.reader.ops->finish(&j->values.reader, err)) ||
                           (j->indices.reader.ops->finish &&
                            j->indices.reader.ops->finish(&j->indices.reader, err))))
            return pool_blame(err, ERROR_INPUT, NULL);
    }
    if (j->writer.ops->finish(&j->writer, err))
        return pool_blame(err, ERROR_OUTPUT, display(j->a.output, "<stdout>"));
    writer_close(&j->writer);
    j->writer_open = false;
    return output_commit(&j->file, err)
               ? pool_blame(err, ERROR_OUTPUT, display(j->a.output, "<stdout>"))
               : 0;
}

static void free_job(struct unpool_job *j)
{
    if (j->writer_open)
        writer_close(&j->writer);
    output_abort(&j->file);
    close_input(&j->values);
    close_input(&j->indices);
    free(j->value_row);
    free(j->index_row);
    free(j->band.data);
}

int unpool_main(int argc, char **argv)
{
    struct unpool_job j = {0};
    struct pool_error err = {0};
    bool help = false;
    if (parse_args(argc, argv, &j.a, &help, &err)) {
        err.kind = ERROR_USAGE;
        say_failure(&err, NULL);
        return exit_status_of(&err);
    }
    if (help) {
        print_help(stdout);
        return 0;
    }
    if (!j.a.max_memory)
        j.a.max_memory = DEFAULT_MAX_MEMORY;
    j.values = (struct unpool_input){.path = j.a.values, .name = display(j.a.values, "<stdin>")};
    j.indices = (struct unpool_input){.path = j.a.indices, .name = display(j.a.indices, "<stdin>")};
    j.values.opt.max_pixels = j.indices.opt.max_pixels = DEFAULT_MAX_PIXELS;
    j.values.opt.max_memory = j.indices.opt.max_memory = j.a.max_memory;
    if (!strcmp(j.a.values, "-") && !strcmp(j.a.indices, "-")) {
        struct pool_error usage = {"the values and the indices cannot both come from stdin",
                                   ERROR_USAGE, NULL};
        say_failure(&usage, NULL);
        return exit_status_of(&usage);
    }
    output_init();
    int status = 0;
    if (run_job(&j, &err)) {
        say_failure(&err, NULL);
        status = exit_status_of(&err);
    }
    free_job(&j);
    output_end();
    return status;
}

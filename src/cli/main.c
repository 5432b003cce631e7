/* pool: the command line. Parses options, then drives one input through the pipeline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "../codec/codec.h"
#include "../pipeline/pipeline.h"
#include "options.h"
#include "output.h"

enum { EXIT_DATA = 1, EXIT_USAGE = 2 };

static const char *display_name(const char *path, const char *stdio_name)
{
    return strcmp(path, "-") ? path : stdio_name;
}

static int fail(const char *what, const struct pool_error *err, int status)
{
    fprintf(stderr, "pool: %s: %s\n", what, err->msg);
    return status;
}

/* The output's format: -f, else -o's extension, else the input's. */
static int choose_format(const struct cli_options *o, enum file_format input,
                         enum file_format *out, struct pool_error *err)
{
    *out = o->format;
    if (*out == FORMAT_UNKNOWN && strcmp(o->output, "-")) {
        *out = format_from_path(o->output);
        if (*out == FORMAT_UNKNOWN)
            return pool_fail(err, "cannot tell the output format from the file name: "
                                  "use a .npy or .raw extension, or -f");
    }
    if (*out == FORMAT_UNKNOWN)
        *out = input;
    return 0;
}

/* The passes as run: the list given, --repeat times. */
static struct pool_pass *expand_passes(const struct cli_options *o, size_t *n)
{
    *n = (size_t)o->npasses * (size_t)o->repeat;
    struct pool_pass *all = malloc(*n * sizeof *all);
    for (size_t i = 0; all && i < *n; i++)
        all[i] = o->passes[i % (size_t)o->npasses];
    return all;
}

struct job {
    const struct cli_options *opt;
    const char *in_name, *out_name;
    struct byte_source src;
    struct tensor_reader reader;
    struct tensor_writer writer;
    struct output_file output;
    struct pipeline pipe;
    struct pool_pass *passes;
};

static int plan(struct job *j, struct tensor_shape *out_shape, struct pool_error *err)
{
    struct row_geom geom;
    size_t npasses;
    struct tensor_shape *shape = &j->reader.shape;
    const char *layout = j->opt->layout ? j->opt->layout : layout_default(shape->ndim);
    if (!layout)
        return pool_fail(err, "a %d-axis tensor has no default layout: give --layout",
                         shape->ndim);
    snprintf(shape->layout, sizeof shape->layout, "%s", layout);
    if (tensor_geom(shape, &geom, err))
        return -1;
    j->passes = expand_passes(j->opt, &npasses);
    if (!j->passes)
        return pool_fail(err, "out of memory");
    if (pipeline_build(&j->pipe, j->passes, npasses, &geom, err))
        return -1;
    *out_shape = *shape;
    tensor_respace(out_shape, j->pipe.out.size);
    return 0;
}

static int run(struct job *j)
{
    struct pool_error err;
    struct tensor_shape out_shape;
    enum file_format format;
    enum pipe_side side;
    if (source_open(&j->src, j->opt->input, &err) ||
        reader_open(&j->reader, &j->src, &j->opt->raw, &err) || plan(j, &out_shape, &err))
        return fail(j->in_name, &err, EXIT_DATA);
    if (choose_format(j->opt, j->reader.ops->format, &format, &err))
        return fail(j->out_name, &err, EXIT_USAGE);
    if (output_open(&j->output, j->opt->output, &err) ||
        writer_open(&j->writer, format, j->output.fp, &out_shape, &err))
        return fail(j->out_name, &err, EXIT_DATA);
    if (pipeline_run(&j->pipe, &j->reader, &j->writer, &side, &err))
        return fail(side == SIDE_INPUT ? j->in_name : j->out_name, &err, EXIT_DATA);
    if (j->writer.ops->finish(&j->writer, &err) || output_commit(&j->output, &err))
        return fail(j->out_name, &err, EXIT_DATA);
    return 0;
}

static void job_cleanup(struct job *j)
{
    output_abort(&j->output);
    writer_close(&j->writer);
    reader_close(&j->reader);
    source_close(&j->src);
    pipeline_free(&j->pipe);
    free(j->passes);
}

int main(int argc, char **argv)
{
    static struct cli_options opt;
    struct pool_error err;
    if (options_parse(argc, argv, &opt, &err)) {
        fprintf(stderr, "pool: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (opt.help) {
        options_print_help(stdout);
        return 0;
    }
    if (opt.version) {
        printf("pool %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (!strcmp(opt.output, "-") && isatty(STDOUT_FILENO)) {
        fprintf(stderr, "pool: <stdout>: refusing to write binary data to a terminal: "
                        "use -o FILE or a pipe\n");
        return EXIT_USAGE;
    }
    output_install_signal_cleanup();
    struct job job = {.opt = &opt};
    job.in_name = display_name(opt.input, "<stdin>");
    job.out_name = display_name(opt.output, "<stdout>");
    int status = run(&job);
    job_cleanup(&job);
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "pool: <stdout>: write failed\n");
        status = EXIT_DATA;
    }
    return status;
}

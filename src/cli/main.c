/* pool: the command line. Parses options, then drives one input through the pipeline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "../codec/codec.h"
#include "../pipeline/pipeline.h"
#include "options.h"
#include "output.h"
#include "planner.h"
#include "report.h"
#include "views.h"

enum { EXIT_DATA = 1, EXIT_USAGE = 2 };

static const char *display_name(const char *path, const char *stdio_name)
{
    return strcmp(path, "-") ? path : stdio_name;
}

/* Messages may quote bytes from a damaged header: control bytes are shown escaped, so a
 * message stays one line and cannot drive the terminal. */
static void print_escaped(FILE *out, const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            fprintf(out, "\\x%02x", *c);
        else
            fputc(*c, out);
}

static int fail(const char *what, const struct pool_error *err, int status)
{
    fputs("pool: ", stderr);
    print_escaped(stderr, what);
    fputs(": ", stderr);
    print_escaped(stderr, err->msg);
    fputc('\n', stderr);
    return status;
}

/* The output's format: -f, else -o's extension, else the input's. */
static int choose_format(const struct cli_options *o, enum file_format input,
                         enum file_format *out, struct pool_error *err)
{
    struct stat st;
    *out = o->format;
    /* A device or FIFO (/dev/null, a named pipe) gets the input's format, as stdout does. */
    bool special = stat(o->output, &st) == 0 && !S_ISREG(st.st_mode);
    if (*out == FORMAT_UNKNOWN && strcmp(o->output, "-") && !special) {
        *out = format_from_path(o->output);
        if (*out == FORMAT_UNKNOWN)
            return pool_fail(err, "cannot tell the output format from the file name: "
                                  "use an extension (.png .jpg .pnm .npy .raw) or -f");
    }
    if (*out == FORMAT_UNKNOWN)
        *out = input;
    return 0;
}

/* --layout, else the reader's default (see reader_default_layout). */
static const char *choose_layout(const struct cli_options *o, const struct tensor_reader *r)
{
    return o->layout ? o->layout : reader_default_layout(r);
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
    size_t npasses;
    enum file_format format;    /* the output's */
    bool warned;                /* warnings are given once per run */
    bool psnr_warned;
    bool pipe_rescaled;         /* the pipeline stretches PNM codes to the full range */
    int input;                  /* index of the current input */
    size_t image;               /* 1-based, within the current input */
    struct report report;
    struct pass_views views;
};

/* Without --stats the PSNR warning reads about this many output rows, evenly spread (all of
 * a small image), and the input rows paired with them: a few percent of the time on a big
 * image, and close enough to say that a pass throws detail away. */
#define PSNR_ESTIMATE_ROWS 256

/* Whether the passes are metered: for --stats, and for the PSNR warning unless -q. */
static bool measuring(const struct cli_options *o)
{
    return o->stats || (o->warn_psnr > 0 && !o->quiet);
}

/* Lays out the reader's current image or tensor and builds the pipeline for it. */
static int plan(struct job *j, struct tensor_shape *out_shape, struct pool_error *err)
{
    struct row_geom geom;
    struct tensor_shape *shape = &j->reader.shape;
    const char *layout = choose_layout(j->opt, &j->reader);
    if (!layout)
        return pool_fail(err, "a %d-axis tensor has no default layout: give --layout",
                         shape->ndim);
    if (layout_check(layout, shape->ndim, err))
        return -1;
    snprintf(shape->layout, sizeof shape->layout, "%s", layout);
    if (tensor_geom(shape, &geom, err))
        return -1;
    bool alpha = j->reader.meta.has_alpha && geom.inner >= 2;
    for (size_t i = 0; i < j->npasses; i++)
        j->passes[i].premultiply_alpha = alpha && !j->opt->no_premultiply;
    /* A PNM maxval below the type's range survives into PNM output; any other image
     * format wants the full range, so stretch the codes first. */
    bool image_out = j->format == FORMAT_PNG || j->format == FORMAT_JPEG;
    j->pipe_rescaled = image_out && j->reader.meta.maxval;
    char letters[4] = "";
    for (const char *a = shape->layout; *a; a++)
        if (strchr("dhwl", *a) && strlen(letters) < 3)
            letters[strlen(letters)] = *a;
    struct pipeline_options po = {
        .linear = j->opt->linear, .has_alpha = alpha, .maxval = j->reader.meta.maxval,
        .rescale = image_out, .measure = measuring(j->opt),
        .estimate_rows = j->opt->stats ? 0 : PSNR_ESTIMATE_ROWS, .channels = channel_map_of(shape),
        .shift_test = j->opt->shift_test, .spatial_letters = letters};
    if (views_wanted(j->opt))
        views_tap_into(&j->views, &po);
    pipeline_free(&j->pipe);
    if (pipeline_build(&j->pipe, j->passes, j->npasses, &geom, &po, err))
        return -1;
    if (!j->warned && !j->opt->quiet)
        planner_warn(j->in_name, j->passes, j->npasses, &geom);
    j->warned = true;
    *out_shape = *shape;
    tensor_respace(out_shape, j->pipe.out.size);
    return 0;
}

/* After an image: 1 when the input stream holds another (now planned), 0 at its end. */
static int next_image(struct job *j, struct tensor_shape *out_shape, struct pool_error *err)
{
    const struct reader_ops *ops = j->reader.ops;
    if (!ops->next)
        return ops->finish ? ops->finish(&j->reader, err) : 0;
    int more = ops->next(&j->reader, err);
    if (more <= 0)
        return more;
    j->image++;
    return plan(j, out_shape, err) ? -1 : 1;
}

static int open_output(struct job *j, const struct tensor_shape *out_shape,
                       struct pool_error *err)
{
    struct tensor_shape shape = *out_shape;
    if (j->opt->flatten && j->format == FORMAT_NPY)
        tensor_squeeze(&shape);
    if (output_open(&j->output, j->opt->output, err) ||
        writer_open(&j->writer, j->format, j->output.fp, &shape, &j->reader.meta,
                    &j->opt->writer, err))
        return EXIT_DATA;
    return 0;
}

/* Before the first input's output is opened: can the output take what is coming? */
static int check_output(const struct job *j, struct pool_error *err)
{
    bool text = j->format == FORMAT_TXT || j->format == FORMAT_CSV;
    if (!strcmp(j->opt->output, "-") && isatty(STDOUT_FILENO) && !text)
        return pool_fail(err, "refusing to write binary data to a terminal: use -o FILE, a "
                              "pipe, or -f txt");
    if (j->opt->ninputs > 1 && !(text || j->format == FORMAT_PNM))
        return pool_fail(err, "several inputs go into one csv, txt or PNM output (-f csv, txt "
                              "or pnm); for one output each, run pool once per file");
    return 0;
}

/* What the passes kept and lost, for --stats and the PSNR warning. */
static int report_pass_figures(struct job *j, struct pool_error *err)
{
    const struct cli_options *o = j->opt;
    if (!j->psnr_warned && o->warn_psnr > 0 && !o->quiet)
        j->psnr_warned = report_warn_psnr(j->in_name, j->passes, &j->pipe, o->warn_psnr,
                                          !o->stats);
    if (o->stats && report_image(&j->report, j->in_name, j->image, &j->reader.shape, j->passes,
                                 &j->pipe, err)) {
        fail(o->stats_file ? o->stats_file : "<stderr>", err, EXIT_DATA);
        return -1;
    }
    return 0;
}

/* Pools every image of the current input into the open writer. */
static int pool_input(struct job *j, struct tensor_shape *out_shape)
{
    struct pool_error err;
    enum pipe_side side;
    for (;;) {
        if (views_wanted(j->opt) && views_begin_image(&j->views, j->opt->inputs[j->input],
                                                      &j->reader, j->image, &j->pipe,
                                                      j->passes, j->pipe_rescaled, &err))
            return fail(j->views.culprit, &err, EXIT_DATA);
        if (pipeline_run(&j->pipe, &j->reader, &j->writer, &side, &err))
            return fail(side == SIDE_INPUT    ? j->in_name
                        : j->views.culprit ? j->views.culprit
                                           : j->out_name,
                        &err, EXIT_DATA);
        if (views_wanted(j->opt) && views_end_image(&j->views, &err))
            return fail(j->views.culprit, &err, EXIT_DATA);
        if (report_pass_figures(j, &err))
            return EXIT_DATA;
        if (j->writer.ops->finish(&j->writer, &err))
            return fail(j->out_name, &err, EXIT_DATA);
        int more = next_image(j, out_shape, &err);
        if (more < 0)
            return fail(j->in_name, &err, EXIT_DATA);
        if (more == 0)
            return views_end_input(&j->views, &err) ? fail(j->views.culprit, &err, EXIT_DATA) : 0;
        if (!j->writer.ops->next_image) {
            pool_fail(&err, "the input holds several images, and only PNM output can hold "
                            "more than one: use -f pnm, or split the stream");
            return fail(j->out_name, &err, EXIT_DATA);
        }
        j->writer.shape = *out_shape;
        if (j->writer.ops->next_image(&j->writer, &err))
            return fail(j->out_name, &err, EXIT_DATA);
    }
}

/* Opens input k, plans it, and opens the output (first input) or moves the writer on. */
static int start_input(struct job *j, int k, struct tensor_shape *out_shape)
{
    struct pool_error err;
    int rc;
    j->in_name = display_name(j->opt->inputs[k], "<stdin>");
    j->input = k;
    j->image = 1;
    if (source_open(&j->src, j->opt->inputs[k], &err) ||
        reader_open(&j->reader, &j->src, &j->opt->reader, &err))
        return fail(j->in_name, &err, EXIT_DATA);
    if (k == 0 && (choose_format(j->opt, j->reader.ops->format, &j->format, &err) ||
                   check_output(j, &err)))
        return fail(j->out_name, &err, EXIT_USAGE);
    if (plan(j, out_shape, &err))
        return fail(j->in_name, &err, EXIT_DATA);
    if (k == 0) {
        if ((rc = open_output(j, out_shape, &err)))
            return fail(j->out_name, &err, rc);
    } else {
        j->writer.shape = *out_shape;
        j->writer.name = j->in_name;
        /* What can go wrong here is this input not fitting the table begun by the first. */
        if (j->writer.ops->next_image(&j->writer, &err))
            return fail(j->in_name, &err, EXIT_DATA);
    }
    j->writer.name = j->in_name;
    return 0;
}

static int run(struct job *j)
{
    struct pool_error err;
    struct tensor_shape out_shape;
    int rc;
    j->passes = options_expand_passes(j->opt, &j->npasses);
    if (!j->passes)
        return fail(j->in_name, &(struct pool_error){"out of memory"}, EXIT_DATA);
    if (j->opt->stats && report_open(&j->report, j->opt, &err))
        return fail(j->opt->stats_file, &err, EXIT_DATA);
    for (int k = 0; k < j->opt->ninputs; k++) {
        if ((rc = start_input(j, k, &out_shape)) || (rc = pool_input(j, &out_shape)))
            return rc;
        reader_close(&j->reader);
        source_close(&j->src);
    }
    /* The result comes last: it appears only when everything beside it did. */
    if (views_commit(&j->views, &err))
        return fail(j->views.culprit, &err, EXIT_DATA);
    if (j->opt->stats && report_commit(&j->report, &err))
        return fail(j->opt->stats_file ? j->opt->stats_file : "<stderr>", &err, EXIT_DATA);
    if (output_commit(&j->output, &err))
        return fail(j->out_name, &err, EXIT_DATA);
    return 0;
}

static void job_cleanup(struct job *j)
{
    output_abort(&j->output);
    report_abort(&j->report);
    views_abort(&j->views);
    writer_close(&j->writer);
    reader_close(&j->reader);
    source_close(&j->src);
    pipeline_free(&j->pipe);
    free(j->passes);
}

/* Nothing reports success after a failed write to stdout (a full disk, a closed pipe). */
static int check_stdout(int status)
{
    if ((fflush(stdout) || ferror(stdout)) && status == 0) {
        fprintf(stderr, "pool: <stdout>: write failed\n");
        return EXIT_DATA;
    }
    return status;
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
        return check_stdout(0);
    }
    if (opt.version) {
        printf("pool %s\n", PACKAGE_VERSION);
        return check_stdout(0);
    }
    if (opt.plan)
        return check_stdout(planner_run(&opt, stdout));
    if (views_check_inputs(&opt, &err)) {
        fprintf(stderr, "pool: %s\n", err.msg);
        return EXIT_USAGE;
    }
    output_install_signal_cleanup();
    struct job job = {.opt = &opt, .views = {.opt = &opt}};
    job.in_name = display_name(opt.input, "<stdin>");
    job.out_name = display_name(opt.output, "<stdout>");
    int status = run(&job);
    job_cleanup(&job);
    return check_stdout(status);
}

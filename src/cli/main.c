/* pool: the command line. Parses options, then runs each input (run.h) into the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "config.h"
#include "../codec/codec.h"
#include "batch.h"
#include "inputs.h"
#include "messages.h"
#include "options.h"
#include "output.h"
#include "planner.h"
#include "run.h"
#include "samples.h"
#include "torch_call.h"
#include "unpool.h"

/* Nothing reports success after a failed write to stdout (a full disk, a closed pipe). */
static int check_stdout(int status)
{
    if ((fflush(stdout) || ferror(stdout)) && status == 0) {
        struct pool_error err = {"write failed", ERROR_OUTPUT, "<stdout>"};
        say_failure(&err, NULL);
        return EXIT_FAILURE_DATA;
    }
    return status;
}

/* The output's format as far as the command line tells it: -f, else -o's extension. */
static enum file_format named_format(const struct cli_options *o)
{
    return o->format != FORMAT_UNKNOWN ? o->format : format_from_path(o->output);
}

/* Every input into the one output. A table or a stack goes on past a failing input, which is
 * reported and left out (a summary follows, and status 1); any other output, and a table
 * whose output or side file (--stats=FILE) cannot be written, ends at the first failure. */
static int run_all(const struct run_settings *s, struct input_list *inputs,
                   struct run_shared *shared, int *status, struct pool_error *err)
{
    bool several = inputs->count > 1;
    bool table = (s->opt->writer.stack || is_table(named_format(s->opt))) && several;
    size_t failed = 0, pooled = 0;
    struct run_once *given = shared->once;
    bool stop = false, broken = false;
    for (size_t k = 0; k < inputs->count && !stop; k++) {
        /* Several inputs: each meets the warnings afresh, and they are counted. */
        struct run_once fresh = {0};
        struct input_warnings mine = {0};
        if (several) {
            shared->once = &fresh;
            shared->warnings = &mine;
        }
        struct input_path name;
        const char *path = inputs_path(inputs, k, &name);
        int rc = run_input(s, shared, path, err);
        if (several && rc == 0) /* (a failed input's warnings are moot) */
            tally_add(&shared->tally, &mine, path);
        input_warnings_clear(&mine);
        shared->warnings = NULL;
        shared->once = given;
        if (rc == 0) {
            pooled++;
        } else if (!table || err->kind == ERROR_USAGE || err->kind == ERROR_OUTPUT) {
            stop = broken = true;
            if (err->subject == path) /* said after this buffer is gone */
                inputs_blame(inputs, err, err->kind, path);
        } else {
            say_failure(err, NULL);
            *err = (struct pool_error){0};
            failed++;
            stop = s->opt->fail_fast;
        }
    }
    tally_say(&shared->tally, s->opt->stats);
    if (broken)
        return -1;
    if (failed) {
        if (!s->opt->quiet)
            fprintf(stderr, "pool: %zu of %zu inputs in the %s, %zu failed\n", pooled,
                    inputs->count, s->opt->writer.stack ? "stack" : "table", failed);
        *status = EXIT_FAILURE_DATA;
        if (!pooled)
            return 0; /* every input failed: no table, not even its header */
    }
    return run_commit(s, shared, err);
}

/* "pool: 498 written, 2 failed, 7 skipped (5 not images or tensors, 2 already written)" */
static void say_summary(const struct batch_counts *n)
{
    char why[96] = "";
    if (n->not_pooled && n->existing)
        snprintf(why, sizeof why, " (%zu not %s, %zu already written)", n->not_pooled,
                 n->not_pooled == 1 ? "an image or tensor" : "images or tensors", n->existing);
    else if (n->not_pooled)
        snprintf(why, sizeof why, " (not %s)",
                 n->not_pooled == 1 ? "an image or tensor" : "images or tensors");
    else if (n->existing)
        snprintf(why, sizeof why, " (already written)");
    char stopped[64] = "";
    if (n->not_begun)
        snprintf(stopped, sizeof stopped, ", %zu not begun (--fail-fast)", n->not_begun);
    fprintf(stderr, "pool: %zu written, %zu failed, %zu skipped%s%s\n", n->written, n->failed,
            n->not_pooled + n->existing, why, stopped);
}

/* One output per input; the status says whether any failed. */
static int run_batch(const struct run_settings *s, struct input_list *inputs,
                     struct run_shared *shared, int *status, struct pool_error *err)
{
    struct batch_counts n;
    if (batch_run(s, inputs, shared, &n, err))
        return -1;
    if (!s->opt->quiet)
        say_summary(&n);
    *status = n.failed ? EXIT_FAILURE_DATA : 0;
    /* The stats of the inputs that were pooled appear even when others failed. */
    return run_commit(s, shared, err);
}

/* The files written beside the output (--stats=FILE, --contact-sheet, --indices) each need
 * their own: not an input (it would be replaced while read), not the output, not another's
 * (one would silently replace the other). */
static int check_side_files(const struct run_settings *s, struct input_list *inputs,
                            struct pool_error *err)
{
    const struct cli_options *o = s->opt;
    const char *file[] = {o->stats_file, o->contact_sheet, o->indices};
    const char *flag[] = {"--stats", "--contact-sheet", "--indices"};
    for (int i = 0; i < 3; i++) {
        if (!file[i])
            continue;
        if (inputs_check_output(inputs, flag[i], file[i], err))
            return -1;
        if (!s->one_output_each && output_same_file(file[i], o->output)) {
            pool_fail(err, "%s %s and the output are one file: give it its own", flag[i], file[i]);
            return pool_blame(err, ERROR_USAGE, file[i]);
        }
        for (int j = 0; j < i; j++)
            if (file[j] && output_same_file(file[i], file[j])) {
                pool_fail(err, "%s and %s name one file, %s: give each its own", flag[j], flag[i],
                          file[i]);
                return pool_blame(err, ERROR_USAGE, file[i]);
            }
    }
    return 0;
}

/* inputs: listed here, freed by the caller after any failure is said (its subject may be
 * one of them). */
static int run(const struct run_settings *s, struct input_list *inputs, struct run_shared *shared,
               int *status, struct pool_error *err)
{
    const struct cli_options *o = s->opt;
    struct stat st;
    if (!s->one_output_each && o->skip_existing && lstat(o->output, &st) == 0) {
        if (!o->quiet)
            fprintf(stderr, "pool: %s: exists: nothing done (--skip-existing)\n", o->output);
        return 0;
    }
    if (inputs_list(inputs, o, err) || views_check_inputs(o, inputs, err) ||
        (!s->one_output_each && inputs_check_output(inputs, "the output", o->output, err)) ||
        check_side_files(s, inputs, err))
        return -1;
    if (o->stats && report_open(&shared->report, o, err))
        return pool_blame(err, ERROR_OUTPUT, o->stats_file);
    int rc = s->one_output_each ? run_batch(s, inputs, shared, status, err)
                                : run_all(s, inputs, shared, status, err);
    if (inputs->unreadable && *status == 0)
        *status = EXIT_FAILURE_DATA; /* a folder that could not be walked is a failure */
    return rc;
}

/* Each input's buffers are freed, and allocated again for the next. By default glibc
 * maps large blocks afresh each time and unmaps them on free, so every input faults its
 * pages in again (20,000 faults for 500 small PNGs), and faults take a lock that the
 * workers then queue for. Kept in the heap, freed blocks are reused: about 5% faster on a
 * folder, the peak no higher. */
static void keep_freed_memory(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

/* --samples: PyTorch's random offsets for the one fmax pass (options checked there is one). */
static int attach_samples(const char *path, struct pool_pass *passes, size_t n, double **values,
                          struct pool_error *err)
{
    size_t sets;
    int dims;
    if (samples_load(path, values, &sets, &dims, err))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (passes[i].mode == MODE_FMAX) {
            passes[i].samples = *values;
            passes[i].sample_sets = sets;
            passes[i].sample_dims = dims;
        }
    return 0;
}

/* --from-torch: the specs on stdout, and on stderr what the specs alone cannot say. */
static int print_torch_specs(const struct cli_options *o)
{
    char *specs;
    struct torch_call_notes notes;
    struct pool_error err = {0};
    if (torch_call_translate(o->from_torch, &specs, &notes, &err)) {
        pool_blame(&err, ERROR_USAGE, "--from-torch");
        say_failure(&err, NULL);
        return exit_status_of(&err);
    }
    puts(specs);
    free(specs);
    fflush(stdout); /* the specs before any note, when both go to one place */
    if (notes.one_d && !o->quiet)
        fputs("pool: --from-torch: note: a 1-d layer pools the last axis of (N, C, L); read "
              "such a .npy with --layout ncl (a 3-axis one is chw by default)\n",
              stderr);
    if (notes.printed_module && !o->quiet)
        fputs("pool: --from-torch: note: a printed model's layers are taken in the order "
              "print(model) lists them (the order they were made in), which is usually, not "
              "always, the order forward() runs them\n",
              stderr);
    if (notes.printed_average && !o->quiet)
        fputs("pool: --from-torch: note: print(model) does not show an AvgPool's "
              "count_include_pad, ceil_mode or divisor_override: PyTorch's defaults are "
              "assumed; translate its constructor call if it set them\n",
              stderr);
    return 0;
}

static int usage_error(struct pool_error *err)
{
    err->kind = ERROR_USAGE;
    say_failure(err, NULL);
    return exit_status_of(err);
}

int main(int argc, char **argv)
{
    static struct cli_options opt;
    struct pool_error err = {0};
    if (argc > 1 && !strcmp(argv[1], "unpool")) /* (a file of that name: ./unpool) */
        return check_stdout(unpool_main(argc - 1, argv + 1));
    if (options_parse(argc, argv, &opt, &err))
        return usage_error(&err);
    if (opt.help) {
        options_print_help(stdout);
        return check_stdout(0);
    }
    if (opt.version) {
        char codecs[160];
        format_describe_codecs(codecs, sizeof codecs);
        printf("pool %s\ncodecs: %s\nkernels: %s (POOL_KERNELS: portable, baseline, avx2, "
               "avx512)\n",
               PACKAGE_VERSION, codecs, simd_name(opt.kernels));
        return check_stdout(0);
    }
    if (opt.from_torch)
        return check_stdout(print_torch_specs(&opt));
    if (opt.plan)
        return check_stdout(planner_run(&opt, stdout));
    output_init();
    keep_freed_memory();
    struct run_settings settings = {.opt = &opt, .one_output_each = options_batch(&opt)};
    settings.no_decode_ahead = settings.one_output_each && opt.jobs > 1;
    struct run_once once = {0};
    struct run_shared shared = {.views = {.opt = &opt}, .once = &once};
    struct input_list inputs = {0};
    int status = 0;
    struct pool_pass *passes = options_expand_passes(&opt, &settings.npasses);
    settings.passes = passes;
    double *samples = NULL;
    int failed = !passes ? pool_fail_resource(&err, "out of memory") : 0;
    if (!failed && opt.samples)
        failed = attach_samples(opt.samples, passes, settings.npasses, &samples, &err);
    if (failed || run(&settings, &inputs, &shared, &status, &err)) {
        say_failure(&err, NULL);
        status = exit_status_of(&err);
    }
    run_shared_free(&shared);
    inputs_free(&inputs);
    free(passes);
    free(samples);
    output_end();
    return check_stdout(status);
}

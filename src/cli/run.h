/*
 * Running one input through the passes to its outputs: open it, lay it out, build the
 * pipeline, pool every image it holds into the output, report its figures and views. All
 * of one input's state lives in the call. What the inputs of a run share comes in either
 * read-only (run_settings) or as the collectors that take each input's results in turn
 * (run_shared: the output several inputs may fill, the stats report, the views' files).
 */
#ifndef POOL_RUN_H
#define POOL_RUN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "../codec/codec.h"
#include "options.h"
#include "indices.h"
#include "output.h"
#include "report.h"
#include "views.h"
#include "warnings.h"

struct run_settings {
    const struct cli_options *opt;
    const struct pool_pass *passes; /* as run: --repeat applied */
    size_t npasses;
    bool one_output_each; /* a batch: each input has an output of its own */
    bool no_decode_ahead; /* workers share the cores: no reader thread each */
};

/* The output of a run (or of one input of a batch), opened by its first input, which also
 * decides its format. */
struct run_output {
    const char *path; /* as given, "-" for stdout; NULL: -o's */
    const char *name; /* as messages show it */
    enum file_format format;
    struct output_file file;
    struct tensor_writer writer;
    bool open;
    off_t start; /* where the output begins in its file; -1: a pipe, no going back */
};

/* Warnings given once per input, whichever of its images meets them first. */
struct run_once {
    atomic_bool plan, psnr;
};

struct run_shared {
    struct run_output output;
    struct report report; /* --stats: opened by the caller */
    struct pass_views views;
    struct index_file indices;       /* --indices */
    struct run_once *once;           /* warnings given already, for the input */
    struct input_warnings *warnings; /* the input's warnings, kept; NULL: say them */
    struct warning_tally tally;      /* several inputs: their warnings, counted */
};

/* csv and txt: tables, which several inputs fill row by row. */
bool is_table(enum file_format f);
/* Outputs that gather several inputs and go on past a failing one: tables, a --stack. */
bool gathers(const struct cli_options *o, enum file_format f);

/* Pools the input at path ("-": stdin) into shared. Returns 0, or -1 with err's kind and
 * subject said (the input, the output, a stats or view file). Into a table shared by
 * several inputs, an input's rows are held until it is through: a failing input adds none,
 * and the table can go on with the next. */
int run_input(const struct run_settings *s, struct run_shared *shared, const char *path,
              struct pool_error *err);

/* A batch, after each input: its output appears (commit), or goes (discard); either way
 * shared->output is ready for the next input. */
int run_output_commit(struct run_shared *shared, struct pool_error *err);
void run_output_discard(struct run_shared *shared);

/* Once every input succeeded: the views, the stats and the output appear, the output
 * last. Returns 0, or -1 with err's kind and subject said. */
int run_commit(const struct run_settings *s, struct run_shared *shared, struct pool_error *err);
/* Whatever happened: removes what was not committed and frees everything. */
void run_shared_free(struct run_shared *shared);

#endif

/*
 * A batch: one output per input. -O DIR mirrors each input's path below the folder
 * argument it came from under DIR (a file argument lands at its top); -o TEMPLATE names
 * each output with %n (the input's name without its extension), %e (the output's
 * extension), %d (the input's folder below its folder argument, "" at the top), %i (the
 * input's number, from 1) and %% (a %). The extension is -f's format's, else the input's.
 *
 * Before anything is read, every output is named: two inputs that would write one output,
 * or an output that is its own input, are refused (a usage error). Then each input is
 * pooled in turn into a temp file beside its output, renamed into place when complete. A
 * failing input is reported and the others go on (--fail-fast stops); an existing output
 * is a failure of its input unless --force (overwrite) or --skip-existing (skip it).
 */
#ifndef POOL_BATCH_H
#define POOL_BATCH_H

#include "inputs.h"
#include "run.h"

struct batch_counts {
    size_t written, failed;
    size_t existing;   /* skipped: --skip-existing found their output */
    size_t not_pooled; /* skipped: walked files that are not images or tensors */
    size_t not_begun;  /* --fail-fast stopped before them */
};

/* Runs every input of l (with --shard, after checking every name, only its shard's, which
 * is all l keeps then); shared holds the report and views of the whole run. Each input's
 * failure is said in its turn and counted. Returns 0, or -1 with err set when the batch
 * cannot start (outputs that collide, or a template that cannot name them). */
int batch_run(const struct run_settings *s, struct input_list *l, struct run_shared *shared,
              struct batch_counts *counts, struct pool_error *err);

/* The output path of input i (malloc'd), or NULL with err set. */
char *batch_output_path(const struct cli_options *o, const struct input_list *l, size_t i,
                        struct pool_error *err);

#endif

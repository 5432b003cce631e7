/*
 * The row pipeline: a reader's rows go through the passes' stages, in order, and the last
 * stage's rows go to a writer. Memory is the stages' windows plus one input row.
 */
#ifndef POOL_PIPELINE_H
#define POOL_PIPELINE_H

#include "../codec/codec.h"
#include "../core/stage.h"

/* Which end a failure came from, so the CLI can name the right file. */
enum pipe_side { SIDE_INPUT, SIDE_OUTPUT };

struct pipeline {
    struct pool_stage **stages;
    size_t nstages;
    struct row_geom in, out;
    struct tensor_writer *writer;
    void *in_row;
};

/* Builds one stage per pass. On failure err names the pass (1-based) and the rule broken. */
int pipeline_build(struct pipeline *p, const struct pool_pass *passes, size_t npasses,
                   const struct row_geom *in, struct pool_error *err);
/* Streams every row of the reader through the stages into the writer. */
int pipeline_run(struct pipeline *p, struct tensor_reader *r, struct tensor_writer *w,
                 enum pipe_side *side, struct pool_error *err);
void pipeline_free(struct pipeline *p);

#endif

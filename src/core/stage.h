/*
 * One pooling pass over a stream of rows. Rows go in one at a time, in C order
 * (plane by plane, depth by height); finished output rows go out through a sink as soon
 * as every input row their windows need has been seen. A stage holds only the rows
 * its windows overlap: for max, min, avg and Lp a row of running values per window open,
 * never a whole plane (3-D pooling holds one output slab per depth window open at once);
 * for mode, median and nearest the input rows one window spans (3-D: whole slabs; an
 * adaptive output of 1 on height: the whole plane).
 */
#ifndef POOL_STAGE_H
#define POOL_STAGE_H

#include "error.h"
#include "pass.h"
#include "simd.h"
#include "tensor.h"
#include "window.h"

/* Receives one output row of the stage's output geometry; returns 0 or -1 with err set. */
typedef int (*row_sink_fn)(void *ctx, const void *row, struct pool_error *err);

struct pool_stage;

int stage_create(struct pool_stage **out, const struct pool_pass *pass, const struct row_geom *in,
                 struct pool_error *err);
struct stage_setup {
    /* Buffers that do not fit in memory_budget beside memory_used bytes taken before are
     * refused before they are allocated: "the rows its windows span need 3 GiB, more than
     * the memory budget of 1 GiB (--max-memory)". */
    size_t memory_used, memory_budget;
    enum simd_level simd; /* the kernels to run (stage_create: simd_best()) */
};

/* The same, within a memory budget and with the kernels of a given level. */
int stage_create_with(struct pool_stage **out, const struct pool_pass *pass,
                      const struct row_geom *in, const struct stage_setup *setup,
                      struct pool_error *err);
const struct row_geom *stage_out_geom(const struct pool_stage *s);
void stage_set_sink(struct pool_stage *s, row_sink_fn sink, void *ctx);
/* A pass with return_indices: after each output row, its row of int64 indices (one per
 * output element, channels interleaved as the values): the chosen tap's position in its
 * (batch, channel) plane of the input, flattened, (d H + h) W + w, as PyTorch's
 * return_indices. Without a sink the indices are not kept. */
void stage_set_index_sink(struct pool_stage *s, row_sink_fn sink, void *ctx);
/* Feeds one input row of geom_row_elems(in) elements. */
int stage_push(struct pool_stage *s, const void *row, struct pool_error *err);
/* The depth, height and width window tables (three entries). */
const struct axis_table *stage_axes(const struct pool_stage *s);
/* Whether a vector kernel (vector.h) does the stage's reduction: a run of windows along
 * width, or 2x2 mode or median (not only the finishing of max and min). */
bool stage_runs_vector(const struct pool_stage *s);
/* Bytes the stage holds, for the curious (stats, tests of the streaming promise). */
size_t stage_memory(const struct pool_stage *s);
void stage_free(struct pool_stage *s);

#endif

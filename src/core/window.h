/* Per-axis window tables: which input indices each output of a pass reads. */
#ifndef POOL_WINDOW_H
#define POOL_WINDOW_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "pass.h"

/* The real (non-padding) taps of one output: first, first + step, ... (count of them). */
struct axis_window {
    size_t first, count, step;
    size_t divisor;  /* avg's per-axis divisor, PyTorch's rule (see POOLING.md) */
};

struct axis_table {
    size_t in_len, out_len;
    struct axis_window *win;   /* out_len entries */
    /* Output o is complete once input index ready_at[o] has been read; nondecreasing in o. */
    size_t *ready_at;
    /* contrib[contrib_start[i] .. contrib_start[i+1]) lists the outputs that read input i. */
    size_t *contrib_start, *contrib;
    size_t max_live;           /* most outputs open at once: ring size for accumulators */
    bool identity;             /* every output is its own input: the axis needs no work */
};

int axis_table_init(struct axis_table *t, const struct axis_params *a, enum pool_mode mode,
                    size_t in_len, struct pool_error *err);
void axis_table_free(struct axis_table *t);

#endif

/*
 * Per-axis window arithmetic: which input indices each output of a pass reads, and which
 * outputs read each input. Everything is computed from the pass's parameters when asked,
 * so the streamed axes (height, depth) need no table that grows with the image; the width
 * axis, which the row kernels walk for every row, keeps its windows in an array.
 */
#ifndef POOL_WINDOW_H
#define POOL_WINDOW_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "pass.h"

/* The real (non-padding) taps of one output: first, first + step, ... (count of them). */
struct axis_window {
    size_t first, count, step;
    size_t divisor; /* avg's per-axis divisor, PyTorch's rule (see POOLING.md) */
};

struct axis_table {
    size_t in_len, out_len;
    struct axis_params params;
    enum pool_mode mode;
    bool dilated;            /* max/min windows: taps d apart (avg and Lp are contiguous) */
    struct axis_window *win; /* out_len entries when materialized, else NULL */
    size_t span;             /* first to last tap of a whole window: (k-1)d, or k-1 */
    size_t whole_end;        /* outputs before it end inside the input (not adaptive) */
    size_t reach;            /* outputs whose windows can overlap one window: see ready_at */
    size_t max_live;         /* most outputs open at once: ring size for accumulators */
    bool identity;           /* every output is its own input: the axis needs no work */
};

/* materialize: also keep every window in t->win (for the width axis). Only that costs time
 * or memory in proportion to the axis's length: the rest is derived from a few outputs at
 * each end, so a header that declares a huge height costs nothing before its rows come. */
int axis_table_init(struct axis_table *t, const struct axis_params *a, enum pool_mode mode,
                    size_t in_len, bool materialize, struct pool_error *err);
void axis_table_free(struct axis_table *t);

struct axis_window axis_window_at(const struct axis_table *t, size_t o);
/* Output o is complete once input index axis_ready_at(o) has been read; nondecreasing in
 * o (the largest last tap of the outputs up to o). */
size_t axis_ready_at(const struct axis_table *t, size_t o);
/* The outputs that may read input i lie in [*first, *last] (empty when first > last);
 * axis_reads says which do. Ascending, as accumulators are updated. */
void axis_readers(const struct axis_table *t, size_t i, size_t *first, size_t *last);
bool axis_reads(const struct axis_table *t, size_t o, size_t i);
/* Input indices that no window reads (stride past the dilated kernel, or dilation gaps).
 * Work in proportion to the kernel and stride, not to the axis's length. */
size_t axis_unread(const struct axis_table *t);
/* Nearest's tap for output o: the window's centre a + floor(k/2)*d (adaptive: start +
 * floor(len/2)), clipped to the input [0, in_len). POOLING.md, "Label-safe modes". */
size_t axis_centre(const struct axis_table *t, size_t o);
/* Max and min's first tap of output o at or past 0, a + ceil(-a/d) d for a window starting
 * at a < 0 (may lie past the input when every tap is padding): where PyTorch's max pooling
 * points the index of such a window (aten/src/ATen/native/cpu/MaxPoolKernel.cpp). */
size_t axis_first_tap(const struct axis_table *t, size_t o);
/* The widest window, from its first to its last real tap, in input elements. */
size_t axis_widest_window(const struct axis_table *t);

#endif

/*
 * What one pass, or a stack of passes, kept and lost, measured from the rows that go into
 * it and come out of it while they stream: per-channel figures of the output, and the
 * error between the input and the output expanded back to the input's size.
 *
 * The expansion pairs every input element with one output per axis: the output whose
 * window centre is nearest (the earlier on a tie). Where windows tile the input that is the
 * window holding the element; elements no window reads (stride > kernel) are compared with
 * the nearest output, so what they held counts as lost. Through a stack the pairing is
 * composed pass by pass (the element's output in pass 1, that output's in pass 2, ...): its
 * receptive field in the original, so that -k 8 and -k 2 -r 3, which write the same
 * output, report the same loss.
 *
 * Memory: per-axis index tables and a few output rows of running sums (the rows whose
 * windows are still open); nothing grows with the number of input rows.
 */
#ifndef POOL_METER_H
#define POOL_METER_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "tensor.h"
#include "window.h"

/* Where a tensor's channels are: interleaved in each row (hwc), or one per plane with
 * plane index % count (chw, nchw), or a single channel (count 1). */
struct channel_map {
    size_t count;
    bool interleaved;
};

/* From a shape's layout: the 'c' axis, wherever it is. */
struct channel_map channel_map_of(const struct tensor_shape *s);

struct channel_figures {
    double min, max, mean, std; /* std: population (ddof 0), as NumPy's default */
};

struct meter_figures {
    size_t channels;
    const struct channel_figures *channel; /* owned by the meter */
    double mse, rmse;                      /* input vs expanded output, over every element */
    double peak;    /* the PSNR's peak: 8/16-bit codes' range, else the input's */
    double psnr;    /* dB; +inf when nothing changed, NaN with NaN inputs */
    bool estimated; /* from some of the rows only (meter_setup.estimate_rows) */
    /* Memory ran out for the rows still open: mse, rmse and psnr are unknown (NaN). */
    bool out_of_memory;
};

struct pass_meter;

/* One pass of what a meter measures: its depth, height and width tables (its stage's
 * own, stage_axes), which must stay alive while the meter does. */
struct meter_level {
    const struct axis_table *axes;
};

struct meter_setup {
    struct channel_map channels;
    /* The PSNR's peak: the largest code when the data are codes below the type's range
     * (a PNM maxval), else 0 (the type's range for 8/16-bit, else the input's). */
    double peak;
    /* >0: the loss on about that many output rows only (at most half of them; every row
     * of an image of a quarter of that or fewer), spread by a hash, and no channel
     * figures: a cheap estimate, for a warning. */
    size_t estimate_rows;
    bool loss_only; /* no channel figures (a stack's: its last pass has them) */
};

/* levels: the passes from `in` to `out_geom`, first first (one for a pass's own meter; 1
 * to N for the stack up to pass N, in the first pass's input and the Nth pass's output).
 * Every pass must keep its predecessor's planes and element type (--edge replicate may
 * lengthen an axis at its far end). */
int meter_create(struct pass_meter **out, const struct row_geom *in,
                 const struct row_geom *out_geom, const struct meter_level *levels, size_t nlevels,
                 const struct meter_setup *setup, struct pool_error *err);
/* What meter_create allocates for in and out rows, with the ring of rows held open grown
 * to METER_SLOTS_WEIGHED (a 2-D pass holds a few; 3-D ones, a slab, grow past it): bytes,
 * for the memory budget (core/error.h). SIZE_MAX when it overflows. */
#define METER_SLOTS_WEIGHED 2
size_t meter_memory(const struct row_geom *in, const struct row_geom *out);
/* Every input row, in order, before the pass sees it. */
void meter_input_row(struct pass_meter *m, const void *row);
/* Every output row, in order, as the pass emits it. */
void meter_output_row(struct pass_meter *m, const void *row);
/* After the last row. */
void meter_figures(struct pass_meter *m, struct meter_figures *f);
void meter_free(struct pass_meter *m);

#endif

/*
 * What one pass kept and lost, measured from the rows that go into it and come out of it,
 * while they stream: per-channel figures of the output, and the error between the pass's
 * input and its output expanded back to the input's size.
 *
 * The expansion pairs every input element with one output per axis: the output whose
 * window centre is nearest (the earlier on a tie). Where windows tile the input that is the
 * window holding the element; elements no window reads (stride > kernel) are compared with
 * the nearest output, so what they held counts as lost.
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
    double peak; /* the PSNR's peak: 8/16-bit codes' range, else the input's */
    double psnr; /* dB; +inf when nothing changed, NaN with NaN inputs */
};

struct pass_meter;

/* axis: the pass's depth, height and width tables (the stage's own). peak: the largest
 * code when the data are codes below the type's range (a PNM maxval), else 0.
 * estimate_rows > 0 measures the loss on about that many output rows only, evenly spread,
 * and no channel figures: a cheap estimate, for a warning. */
int meter_create(struct pass_meter **out, const struct row_geom *in,
                 const struct row_geom *out_geom, const struct axis_table axis[3],
                 const struct channel_map *channels, double peak, size_t estimate_rows,
                 struct pool_error *err);
/* Every input row, in order, before the pass sees it. */
void meter_input_row(struct pass_meter *m, const void *row);
/* Every output row, in order, as the pass emits it. */
void meter_output_row(struct pass_meter *m, const void *row);
/* After the last row. */
void meter_figures(struct pass_meter *m, struct meter_figures *f);
void meter_free(struct pass_meter *m);

#endif

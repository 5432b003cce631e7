/*
 * --shift-test: are the passes robust to a one-element shift of their input? For each
 * spatial axis, a second copy of the passes pools the input shifted by one element along it
 * (the first row, column or slab repeated, the last dropped), in lockstep with the real
 * passes; after every pass its output is compared, element by element, with the real one.
 * A probe of the whole stack answers for the stack so far; a probe of one pass, fed that
 * pass's input, for the pass alone.
 * Costs one extra pooling per axis, and a row (a slab for depth) of buffer.
 */
#ifndef POOL_SHIFT_H
#define POOL_SHIFT_H

#include "../core/stage.h"

struct shift_probe;

/* Per spatial axis. NaN against NaN is no change. */
struct shift_figures {
    int naxes;
    char axis[3];              /* the layout's letters: d, h, w (or l) */
    double changed[3];         /* fraction of output elements that differ */
    double mean_change[3];     /* mean |difference| of those that differ (0 if none) */
    double relative_change[3]; /* mean_change / (max - min of the input, NaN ignored) */
    /* changed x relative_change: the relative change of an output on average, unchanged
     * ones counted (how robust, in one figure: smaller is more) */
    double expected_change[3];
    bool out_of_memory; /* rows of the real passes could not be kept: figures of fewer rows */
};

/* in: the geometry the first pass receives; axis_letters: the spatial axes' names. Its
 * buffers (a shifted copy of the passes per axis) are weighed against memory_budget
 * beside *memory_used before they are allocated, and added to *memory_used. */
int shift_probe_create(struct shift_probe **out, const struct pool_pass *passes, size_t npasses,
                       const struct row_geom *in, const char *axis_letters, size_t *memory_used,
                       size_t memory_budget, enum simd_level simd, struct pool_error *err);
/* Pass `pass` (1-based) of the real stack emitted this row. */
void shift_probe_reference(struct shift_probe *p, size_t pass, const void *row);
/* The real passes have taken this input row: run the shifted copies one row on. The rows
 * given here are the probe's input, whose range the relative change is of. */
int shift_probe_step(struct shift_probe *p, const void *row, struct pool_error *err);
void shift_probe_figures(const struct shift_probe *p, size_t pass, struct shift_figures *f);
void shift_probe_free(struct shift_probe *p);

#endif

/*
 * A pooling pass as a link of the row pipeline, with what the user asked to see of it:
 * its figures (a meter on its rows, the time it took) and a copy of its output rows handed
 * to a tap (for --save-passes and the contact sheet), in code values when the pass works
 * in linear light.
 */
#ifndef POOL_PASSFILTER_H
#define POOL_PASSFILTER_H

#include "../core/convert.h"
#include "../core/meter.h"
#include "../core/stage.h"
#include "shift.h"

/* Receives row `row` of pass `pass`'s output (pass 0: the input). */
typedef int (*pass_tap_fn)(void *ctx, size_t pass, const void *row, struct pool_error *err);

struct pass_filter;

struct pass_filter_options {
    bool measure;              /* meter and time the pass */
    const char *shift_letters; /* non-NULL: a shift probe of the pass alone (shift.h) */
    struct channel_map channels;
    double peak;     /* codes below the type's range: the largest */
    pass_tap_fn tap; /* NULL: no copies */
    void *tap_ctx;
    /* --linear: the pass works in linear light; the tap gets sRGB codes of code_type. */
    bool tap_codes;
    enum pool_dtype code_type;
    unsigned maxval;
    bool has_alpha;
    /* The stage's buffers must fit in memory_budget beside memory_used (0: no limit). */
    size_t memory_used, memory_budget;
    enum simd_level simd; /* the stage's kernels */
};

int pass_filter_create(struct pass_filter **out, const struct pool_pass *pass, size_t number,
                       const struct row_geom *in, const struct pass_filter_options *opt,
                       struct pool_error *err);
const struct row_geom *pass_filter_in_geom(const struct pass_filter *f);
const struct row_geom *pass_filter_out_geom(const struct pass_filter *f);
/* The geometry of the rows the tap receives. */
const struct row_geom *pass_filter_tap_geom(const struct pass_filter *f);
void pass_filter_set_sink(struct pass_filter *f, row_sink_fn sink, void *ctx);
/* Every output row as the pass emits it (its own values), for the shift test. */
void pass_filter_observe(struct pass_filter *f, void (*observe)(void *, size_t, const void *),
                         void *ctx);
/* The tables the pass pools by (for the meter of a stack that it is part of). */
const struct axis_table *pass_filter_axes(const struct pass_filter *f);
/* The loss of the stack up to this pass: m gets the pass's output rows, and the rows the
 * first pass takes (see pass_filter_feed). f does not own m. */
void pass_filter_set_stack_meter(struct pass_filter *f, struct pass_meter *m);
/* Every row f takes also goes to these n meters (f is the first pass; not owned). */
void pass_filter_feed(struct pass_filter *f, struct pass_meter *const *meters, size_t n);
/* The stage's indices (a pass with return_indices: see stage_set_index_sink). */
void pass_filter_set_index_sink(struct pass_filter *f, row_sink_fn sink, void *ctx);
int pass_filter_push(struct pass_filter *f, const void *row, struct pool_error *err);
/* After the last row: the meter's figures (NULL when not measuring) and seconds spent
 * pooling, not counting the passes after it, decoding or encoding. */
struct pass_meter *pass_filter_meter(struct pass_filter *f);
/* Its own shift probe's figures; false when it has none. */
bool pass_filter_shift(const struct pass_filter *f, struct shift_figures *out);
double pass_filter_seconds(const struct pass_filter *f);
/* Bytes its stage holds (stage_memory), its meter's weight (meter_memory) and its shift
 * probe's. */
size_t pass_filter_memory(const struct pass_filter *f);
void pass_filter_free(struct pass_filter *f);

#endif

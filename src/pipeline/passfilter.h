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

/* Receives row `row` of pass `pass`'s output (pass 0: the input). */
typedef int (*pass_tap_fn)(void *ctx, size_t pass, const void *row, struct pool_error *err);

struct pass_filter;

struct pass_filter_options {
    bool measure;         /* meter and time the pass */
    size_t estimate_rows; /* >0: a cheap, sampled meter (see meter.h), untimed */
    struct channel_map channels;
    double peak;     /* codes below the type's range: the largest */
    pass_tap_fn tap; /* NULL: no copies */
    void *tap_ctx;
    /* --linear: the pass works in linear light; the tap gets sRGB codes of code_type. */
    bool tap_codes;
    enum pool_dtype code_type;
    unsigned code_max;
    bool has_alpha;
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
/* The stage's indices (a pass with return_indices: see stage_set_index_sink). */
void pass_filter_set_index_sink(struct pass_filter *f, row_sink_fn sink, void *ctx);
int pass_filter_push(struct pass_filter *f, const void *row, struct pool_error *err);
/* After the last row: the meter's figures (NULL when not measuring) and seconds spent
 * pooling, not counting the passes after it, decoding or encoding. */
struct pass_meter *pass_filter_meter(struct pass_filter *f);
double pass_filter_seconds(const struct pass_filter *f);
void pass_filter_free(struct pass_filter *f);

#endif

/*
 * The row pipeline: a reader's rows go through a chain of row filters (the passes' stages,
 * and with --linear a conversion to linear light before them and back after; --background,
 * a float --output-dtype before them; an integer --output-dtype and --depth after), and the
 * last filter's rows go to a writer. Memory is the filters' windows plus a batch of input
 * rows, and for an EXIF-turned image one pooled image (it is turned at the end).
 */
#ifndef POOL_PIPELINE_H
#define POOL_PIPELINE_H

#include "../codec/codec.h"
#include "../core/orient.h"
#include "../core/stage.h"
#include "passfilter.h"
#include "shift.h"

/* One link of the chain: a pooling stage or a conversion. */
struct row_filter {
    void *self;
    int (*push)(void *self, const void *row, struct pool_error *err);
    void (*set_sink)(void *self, row_sink_fn sink, void *ctx);
    void (*destroy)(void *self);
};

struct pipeline_options {
    bool linear;     /* pool 8/16-bit sRGB in linear light */
    bool has_alpha;  /* the last channel is alpha (kept out of the sRGB curve) */
    unsigned maxval; /* the input's largest code (a PNM maxval), 0 for the type's */
    bool rescale;    /* first stretch codes 0..maxval to the type's full range */
    bool measure;    /* meter and time every pass (--stats) */
    bool stack_loss; /* every pass's loss against the first pass's input (--stats, sheet) */
    /* Without stack_loss, >0: only an estimate of the stack's loss up to this pass
     * (1-based), on about estimate_rows of its output rows (meter.h), for the warning. */
    size_t estimate_pass;
    size_t estimate_rows;
    struct channel_map channels;
    bool shift_test;             /* also pool the input shifted by one element per spatial axis */
    const char *spatial_letters; /* the layout's spatial axes, for the shift figures */
    bool no_decode_ahead;        /* read on this thread only (other threads have the cores) */
    pass_tap_fn tap;             /* copies of the input (pass 0) and of every pass's output rows */
    void *tap_ctx;
    bool composite;              /* composite alpha over background, drop it (first) */
    unsigned char background[3]; /* 8-bit red, green, blue */
    bool cast;                   /* write the values as cast_to (--output-dtype) */
    enum pool_dtype cast_to;     /* floats: the passes pool in it; integers: after */
    bool change_depth;           /* --depth: u8 <-> u16 samples, last */
    enum pool_dtype depth_to;
    /* EXIF orientation: the passes (already oriented, core/orient.h) pool the stored
     * image; the result is turned upright at the very end. */
    struct orientation orient;
    /* The last pass's indices (it has return_indices), row by row as its values. */
    row_sink_fn index_sink;
    void *index_ctx;
    /* Bytes the chain's row buffers may take (the input batches read ahead, each pass's
     * window rows, a turned image), refused before allocating; 0: no limit. memory_held
     * of it is taken already (the reader's whole image). */
    size_t max_memory, memory_held;
    enum simd_level simd; /* the kernels the passes run (core/simd.h) */
    /* Pool the planes of a tensor on this many threads (crew.h), where the chain is plain
     * pooling and casts (no figures, taps, indices or fmax) and its planes fit in the
     * budget; 0 or 1: one thread (and the decode-ahead one). */
    size_t threads;
};

struct pipeline {
    struct row_filter *filters;
    size_t nfilters;
    struct row_geom in, out;
    struct tensor_writer *writer;
    void *in_row; /* batch_rows input rows */
    size_t batch_rows;
    struct pass_filter **passes; /* the pooling links of the chain, in order */
    size_t npasses;
    /* Per pass, the loss of the stack up to it (NULL where not measured; pass 1's own
     * meter stands for its stack's when it has one): see pipeline_stack_meter. */
    struct pass_meter **stack;
    struct row_geom tap_geom;          /* of the rows the tap gets as pass 0 */
    struct shift_probe *shift;         /* with shift_test */
    bool decode_ahead;                 /* a second thread may read ahead */
    size_t memory_used, memory_budget; /* the row buffers' bytes, while building */
    enum simd_level simd;
    struct pipeline *crew; /* with threads: ncrew more chains, one per worker after this */
    size_t ncrew;
    size_t crew_group;        /* planes a worker takes at a time */
    unsigned char *plane_out; /* a worker's plane of output, while it pools one */
    size_t plane_used;
};

/* Builds the chain for the passes. On failure err names the pass (1-based) and the rule. */
int pipeline_build(struct pipeline *p, const struct pool_pass *passes, size_t npasses,
                   const struct row_geom *in, const struct pipeline_options *opt,
                   struct pool_error *err);
/* Streams every row of one image or tensor from the reader through the chain into the
 * writer (the reader's finish/next is the caller's). A failure says its kind: the reader's
 * ERROR_INPUT, the writer's ERROR_OUTPUT, a tap's its own, each without a subject unless
 * the tap names its file: the caller knows the names. */
int pipeline_run(struct pipeline *p, struct tensor_reader *r, struct tensor_writer *w,
                 struct pool_error *err);
/* The meter of the stack up to pass k (0-based): the first pass's input against pass k's
 * output; NULL when not measured. */
struct pass_meter *pipeline_stack_meter(const struct pipeline *p, size_t k);
/* With shift_test, the shift figures of pass k (0-based) alone, or of the stack up to it;
 * false without. */
bool pipeline_shift(const struct pipeline *p, size_t k, bool stack, struct shift_figures *f);
void pipeline_free(struct pipeline *p);

#endif

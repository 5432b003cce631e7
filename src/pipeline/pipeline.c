#include "pipeline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cast.h"
#include "../core/convert.h"
#include "crew.h"
#include "extend.h"
#include "orient_filter.h"
#include "prefetch.h"

/* A batch of input rows: at least 16 rows (decoders copy through their own buffers when
 * asked for one row), and rows enough for 256 KiB, so that narrow rows (a feature map's
 * 1024 floats) do not cost a hand-over between threads every few kilobytes. */
enum { READ_BATCH_ROWS = 16, READ_BATCH_BYTES = 256 * 1024 };

/* The last filter's sink: rows leave the pipeline here. */
static int write_row(void *ctx, const void *row, struct pool_error *err)
{
    struct pipeline *p = ctx;
    if (p->plane_out) { /* a worker's plane: the crew writes it in turn */
        size_t bytes = geom_row_elems(&p->out) * dtype_size(p->out.dtype);
        memcpy(p->plane_out + p->plane_used, row, bytes);
        p->plane_used += bytes;
        return 0;
    }
    if (p->writer->ops->write(p->writer, row, geom_row_elems(&p->out), err))
        return pool_blame(err, ERROR_OUTPUT, NULL);
    return 0;
}

static int push_to_filter(void *ctx, const void *row, struct pool_error *err)
{
    const struct row_filter *f = ctx;
    return f->push(f->self, row, err);
}

/* A module's filter calls (PREFIX_push, PREFIX_set_sink, PREFIX_free, each taking the
 * module's own type) as the void * calls of a row_filter. */
#define ROW_FILTER_CALLS(prefix)                                                                   \
    static int prefix##_push_fn(void *self, const void *row, struct pool_error *err)               \
    {                                                                                              \
        return prefix##_push(self, row, err);                                                      \
    }                                                                                              \
    static void prefix##_sink_fn(void *self, row_sink_fn sink, void *ctx)                          \
    {                                                                                              \
        prefix##_set_sink(self, sink, ctx);                                                        \
    }                                                                                              \
    static void prefix##_free_fn(void *self) { prefix##_free(self); }
#define ROW_FILTER(prefix, self)                                                                   \
    ((struct row_filter){(self), prefix##_push_fn, prefix##_sink_fn, prefix##_free_fn})

ROW_FILTER_CALLS(pass_filter)
ROW_FILTER_CALLS(convert)
ROW_FILTER_CALLS(orient_filter)
ROW_FILTER_CALLS(cast)
ROW_FILTER_CALLS(extend)

/* Hands the input rows, as the passes' codes, to the tap as pass 0. */
struct input_tap {
    pass_tap_fn tap;
    void *tap_ctx;
    row_sink_fn next;
    void *next_ctx;
};

static int input_tap_push(void *self, const void *row, struct pool_error *err)
{
    struct input_tap *t = self;
    if (t->tap(t->tap_ctx, 0, row, err))
        return -1;
    return t->next(t->next_ctx, row, err);
}
static void input_tap_sink(void *self, row_sink_fn sink, void *ctx)
{
    struct input_tap *t = self;
    t->next = sink;
    t->next_ctx = ctx;
}
static void input_tap_free(void *self) { free(self); }

static int add_input_tap(struct pipeline *p, const struct pipeline_options *opt,
                         struct pool_error *err)
{
    struct input_tap *t = calloc(1, sizeof *t);
    if (!t)
        return pool_fail_resource(err, "out of memory");
    t->tap = opt->tap;
    t->tap_ctx = opt->tap_ctx;
    p->filters[p->nfilters++] = (struct row_filter){t, input_tap_push, input_tap_sink,
                                                    input_tap_free};
    p->tap_geom = p->out;
    return 0;
}

static int add_conversion(struct pipeline *p, enum convert_direction dir, enum pool_dtype code_type,
                          unsigned maxval, bool has_alpha, struct pool_error *err)
{
    struct convert_stage *c;
    if (convert_create(&c, dir, &p->out, code_type, maxval, has_alpha, err))
        return -1;
    p->filters[p->nfilters++] = ROW_FILTER(convert, c);
    p->out = *convert_out_geom(c);
    return 0;
}

/* Counts bytes of row buffers against the budget, before they are allocated. */
static int take_memory(struct pipeline *p, bool overflow, size_t bytes, const char *what,
                       struct pool_error *err)
{
    if (pool_check_memory(overflow ? SIZE_MAX : bytes, p->memory_used, p->memory_budget, what, err))
        return -1;
    p->memory_used += bytes;
    return 0;
}

/* Rows are read a batch at a time (decoders such as libjpeg copy through their own buffers
 * when asked for one row), and a few batches ahead on another thread: fewer rows a batch,
 * and none ahead, where rows are so wide that the batches would take much of the budget. */
static int add_input_rows(struct pipeline *p, const struct row_geom *in, struct pool_error *err)
{
    size_t rows = geom_rows_per_plane(in) * in->planes, row_bytes = 0, ahead_bytes = 0;
    bool overflow = __builtin_mul_overflow(geom_row_elems(in), dtype_size(in->dtype), &row_bytes);
    size_t want = READ_BATCH_ROWS;
    if (!overflow && row_bytes > 0 && READ_BATCH_BYTES / row_bytes > want)
        want = READ_BATCH_BYTES / row_bytes;
    p->batch_rows = rows < want ? rows : want;
    size_t left = p->memory_budget > p->memory_used ? p->memory_budget - p->memory_used : 0;
    size_t share = left / 4; /* of what a decoder holding a whole image leaves */
    while (p->batch_rows > 1 && row_bytes * p->batch_rows > share / (1 + PREFETCH_SLOTS))
        p->batch_rows /= 2;
    if (overflow || row_bytes > share / (1 + PREFETCH_SLOTS))
        p->decode_ahead = false;
    else
        ahead_bytes = row_bytes * p->batch_rows * PREFETCH_SLOTS;
    if (take_memory(p, overflow, row_bytes * p->batch_rows + ahead_bytes,
                    "the input rows read at once need", err))
        return -1;
    if (!(p->in_row = malloc(row_bytes * p->batch_rows)))
        return pool_fail_resource(err, "out of memory");
    return 0;
}

static int add_orientation(struct pipeline *p, struct orientation o, struct pool_error *err)
{
    struct orient_filter *f;
    size_t bytes = 0;
    bool overflow = __builtin_mul_overflow(geom_rows_per_plane(&p->out), geom_row_elems(&p->out),
                                           &bytes) ||
                    __builtin_mul_overflow(bytes, dtype_size(p->out.dtype), &bytes);
    if (take_memory(p, overflow, bytes, "turning the image upright holds it whole, which needs",
                    err) ||
        orient_filter_create(&f, &p->out, o, err))
        return -1;
    p->filters[p->nfilters++] = ROW_FILTER(orient_filter, f);
    p->out = *orient_filter_out_geom(f);
    return 0;
}

static int add_cast(struct pipeline *p, enum cast_kind kind, enum pool_dtype to,
                    const unsigned char background[3], struct pool_error *err)
{
    struct cast_stage *c;
    if (cast_create(&c, kind, &p->out, to, background, err))
        return -1;
    p->filters[p->nfilters++] = ROW_FILTER(cast, c);
    p->out = *cast_out_geom(c);
    return 0;
}

/* Before the first pass: after the real passes take a row, the shifted copies take it. */
struct shift_feeder {
    struct shift_probe *probe;
    row_sink_fn next;
    void *next_ctx;
};

static int feeder_push(void *self, const void *row, struct pool_error *err)
{
    struct shift_feeder *f = self;
    if (f->next(f->next_ctx, row, err))
        return -1;
    return shift_probe_step(f->probe, row, err);
}
static void feeder_sink(void *self, row_sink_fn sink, void *ctx)
{
    struct shift_feeder *f = self;
    f->next = sink;
    f->next_ctx = ctx;
}
static void feeder_free(void *self) { free(self); }

static void observe_pass(void *ctx, size_t pass, const void *row)
{
    shift_probe_reference(ctx, pass, row);
}

/* After the passes are built (so that their errors name them): the feeder goes in front
 * of the first pass, and every pass reports its rows to the probe. */
static int add_shift_probe(struct pipeline *p, const struct pool_pass *passes, size_t npasses,
                           const struct row_geom *pass_in, size_t at, const char *letters,
                           struct pool_error *err)
{
    struct shift_feeder *f = calloc(1, sizeof *f);
    if (!f)
        return pool_fail_resource(err, "out of memory");
    if (shift_probe_create(&p->shift, passes, npasses, pass_in, letters, &p->memory_used,
                           p->memory_budget, p->simd, err)) {
        free(f);
        return -1;
    }
    f->probe = p->shift;
    memmove(&p->filters[at + 1], &p->filters[at], (p->nfilters - at) * sizeof *p->filters);
    p->filters[at] = (struct row_filter){f, feeder_push, feeder_sink, feeder_free};
    p->nfilters++;
    for (size_t i = 0; i < p->npasses; i++)
        pass_filter_observe(p->passes[i], observe_pass, p->shift);
    return 0;
}

/* What the meter of the stack up to pass k takes (meter_memory). */
static size_t stack_meter_memory(const struct pipeline *p, size_t k)
{
    return meter_memory(pass_filter_in_geom(p->passes[0]), pass_filter_out_geom(p->passes[k]));
}

/* The stack up to pass k (0-based), metered from the first pass's input. */
static int add_stack_meter(struct pipeline *p, size_t k, const struct meter_setup *setup,
                           struct pool_error *err)
{
    char what[64];
    snprintf(what, sizeof what, "pass %zu: its statistics need", k + 1);
    if (take_memory(p, false, stack_meter_memory(p, k), what, err))
        return -1;
    struct meter_level *levels = malloc((k + 1) * sizeof *levels);
    if (!levels)
        return pool_fail_resource(err, "out of memory for the statistics of a pass");
    for (size_t j = 0; j <= k; j++)
        levels[j] = (struct meter_level){pass_filter_axes(p->passes[j])};
    struct pool_error why;
    int rc = meter_create(&p->stack[k], pass_filter_in_geom(p->passes[0]),
                          pass_filter_out_geom(p->passes[k]), levels, k + 1, setup, &why);
    free(levels);
    if (rc)
        return why.kind == ERROR_RESOURCE ? pool_fail_resource(err, "pass %zu: %s", k + 1, why.msg)
                                          : pool_fail(err, "pass %zu: %s", k + 1, why.msg);
    pass_filter_set_stack_meter(p->passes[k], p->stack[k]);
    return 0;
}

/* --stats and the contact sheet: every pass's stack (pass 1's own meter is its stack's);
 * the warning alone: an estimate for the one pass it reads. */
static int add_stack_meters(struct pipeline *p, const struct pipeline_options *opt, double peak,
                            struct pool_error *err)
{
    struct meter_setup setup = {.channels = opt->channels, .peak = peak, .loss_only = true};
    if (!opt->stack_loss && (!opt->estimate_pass || opt->estimate_pass > p->npasses))
        return 0;
    p->stack = calloc(p->npasses, sizeof *p->stack);
    if (!p->stack)
        return pool_fail_resource(err, "out of memory for the statistics of a pass");
    pass_filter_feed(p->passes[0], p->stack, p->npasses);
    if (!opt->stack_loss) {
        /* the warning's estimate is not worth refusing an input for: none where it does
         * not fit (and no warning) */
        size_t k = opt->estimate_pass - 1;
        if (pool_check_memory(stack_meter_memory(p, k), p->memory_used, p->memory_budget, "", NULL))
            return 0;
        setup.estimate_rows = opt->estimate_rows;
        return add_stack_meter(p, k, &setup, err);
    }
    for (size_t k = opt->measure ? 1 : 0; k < p->npasses; k++)
        if (add_stack_meter(p, k, &setup, err))
            return -1;
    return 0;
}

bool pipeline_shift(const struct pipeline *p, size_t k, bool stack, struct shift_figures *f)
{
    if (!p->shift || k >= p->npasses)
        return false;
    if (stack || k == 0) {
        shift_probe_figures(p->shift, k + 1, f);
        return true;
    }
    return pass_filter_shift(p->passes[k], f);
}

struct pass_meter *pipeline_stack_meter(const struct pipeline *p, size_t k)
{
    if (k >= p->npasses)
        return NULL;
    if (p->stack && p->stack[k])
        return p->stack[k];
    return k == 0 ? pass_filter_meter(p->passes[0]) : NULL;
}

/* --edge replicate: extend height and width to what the pass's windows need; the pass
 * then pools the extended rows with whole windows (replicate off). */
static int add_extension(struct pipeline *p, struct pool_pass *pass, struct pool_error *err)
{
    struct axis_params ax[3];
    struct row_geom checked;
    size_t row_bytes = 0;
    if (pass_out_geom(pass, &p->out, &checked, err) || pass_resolve(pass, p->out.nspatial, ax, err))
        return -1;
    struct row_geom to = p->out;
    for (int i = 1; i < 3; i++)
        to.size[i] = axis_extended_len(&ax[i], p->out.size[i]);
    pass->edge_replicate = false;
    if (to.size[1] == p->out.size[1] && to.size[2] == p->out.size[2])
        return 0;
    struct extend_filter *f;
    bool overflow = __builtin_mul_overflow(to.size[2] * to.inner, dtype_size(to.dtype), &row_bytes);
    if (take_memory(p, overflow, row_bytes, "an extended row needs", err))
        return -1;
    if (extend_create(&f, &p->out, &to, pass->reversed[1], pass->reversed[2], err))
        return -1;
    p->filters[p->nfilters++] = ROW_FILTER(extend, f);
    p->out = to;
    return 0;
}

static int add_pass(struct pipeline *p, const struct pool_pass *given, size_t number,
                    const struct pass_filter_options *fo, struct pool_error *err)
{
    struct pass_filter *f;
    struct pool_error why;
    struct pool_pass copy = *given, *pass = &copy;
    if (pass->edge_replicate && !pass->global && !pass->output_size.n &&
        add_extension(p, pass, &why))
        return pool_fail(err, "pass %zu (%s): %s", number, mode_name(pass), why.msg);
    struct pass_filter_options budgeted = *fo;
    budgeted.memory_used = p->memory_used;
    budgeted.memory_budget = p->memory_budget;
    if (pass_filter_create(&f, pass, number, &p->out, &budgeted, &why))
        return pool_fail(err, "pass %zu (%s): %s", number, mode_name(pass), why.msg);
    p->memory_used += pass_filter_memory(f);
    p->filters[p->nfilters++] = ROW_FILTER(pass_filter, f);
    p->passes[p->npasses++] = f;
    p->out = *pass_filter_out_geom(f);
    return 0;
}

/* Bytes of one plane; SIZE_MAX past size_t (a declared size, not yet read). */
static size_t plane_bytes(const struct row_geom *g)
{
    size_t bytes = 0;
    if (__builtin_mul_overflow(geom_rows_per_plane(g), geom_row_elems(g), &bytes) ||
        __builtin_mul_overflow(bytes, dtype_size(g->dtype), &bytes))
        return SIZE_MAX;
    return bytes;
}

/* A crew holds whole planes: larger ones stream row by row (memory flat in their height,
 * output from the first rows on), on one thread and the one reading ahead. Smaller ones
 * go to a worker in groups of about CREW_GROUP_BYTES (input and output): a turn costs a
 * hand-over between threads, which a plane of a few rows (1-D, 8x8) does not repay. */
enum { CREW_PLANE_MAX = 8 << 20, CREW_GROUP_BYTES = 256 * 1024 };

/* How many workers the planes can go to (0: none, one thread): a chain that only pools and
 * converts (what keeps figures, taps or indices sees every plane; fmax numbers its planes),
 * planes of at most CREW_PLANE_MAX, no more workers than threads or planes, and only as
 * many as fit in a quarter of what the budget leaves, each with its copy of the chain and
 * its planes, in and out. */
static size_t crew_size(struct pipeline *p, const struct pool_pass *passes, size_t npasses,
                        const struct pipeline_options *opt)
{
    if (opt->threads < 2 || p->in.planes < 2 || !npasses || opt->measure || opt->stack_loss ||
        opt->estimate_pass || opt->shift_test || opt->tap || opt->index_sink ||
        !orientation_is_identity(opt->orient) || plane_bytes(&p->in) > CREW_PLANE_MAX)
        return 0;
    for (size_t i = 0; i < npasses; i++)
        if (passes[i].mode == MODE_FMAX || passes[i].edge_replicate)
            return 0;
    size_t planes = 0, worker = 0;
    if (__builtin_add_overflow(plane_bytes(&p->in), plane_bytes(&p->out), &planes))
        return 0;
    size_t n = opt->threads < p->in.planes ? opt->threads : p->in.planes;
    /* groups of small planes, still one at least for each worker */
    size_t group = planes && planes < CREW_GROUP_BYTES ? CREW_GROUP_BYTES / planes : 1;
    if (group > p->in.planes / n)
        group = p->in.planes / n;
    if (__builtin_add_overflow(planes * group, p->memory_used - opt->memory_held, &worker))
        return 0;
    /* a crew is a speed-up, never a reason to refuse: fewer workers where all do not fit */
    size_t room = (p->memory_budget - p->memory_used) / 4;
    if (worker && room / worker < n)
        n = room / worker;
    if (n < 2)
        return 0;
    p->crew_group = group;
    return n;
}

/* The other n - 1 workers' chains; a crew that cannot be built leaves the work to this one. */
static void add_crew(struct pipeline *p, const struct pool_pass *passes, size_t npasses,
                     const struct row_geom *in, const struct pipeline_options *opt, size_t n)
{
    struct pipeline_options solo = *opt;
    solo.threads = 1;
    solo.no_decode_ahead = true;
    solo.memory_held = 0;
    p->crew = calloc(n - 1, sizeof *p->crew);
    for (size_t i = 0; p->crew && i < n - 1; i++) {
        struct pool_error ignored;
        if (pipeline_build(&p->crew[i], passes, npasses, in, &solo, &ignored)) {
            pipeline_free(&p->crew[i]);
            break;
        }
        p->ncrew++;
    }
}

int pipeline_build(struct pipeline *p, const struct pool_pass *passes, size_t npasses,
                   const struct row_geom *in, const struct pipeline_options *opt,
                   struct pool_error *err)
{
    memset(p, 0, sizeof *p);
    p->in = p->out = *in;
    p->decode_ahead = !opt->no_decode_ahead;
    p->memory_budget = opt->max_memory ? opt->max_memory : SIZE_MAX;
    p->memory_used = opt->memory_held;
    p->simd = opt->simd;
    p->filters = calloc(2 * npasses + 9, sizeof *p->filters);
    p->passes = calloc(npasses ? npasses : 1, sizeof *p->passes);
    if (!p->filters || !p->passes)
        return pool_fail_resource(err, "out of memory");
    if (add_input_rows(p, in, err))
        return -1;
    bool rescale = opt->rescale && opt->maxval;
    unsigned maxval = rescale ? 0 : opt->maxval;
    if (rescale && add_conversion(p, RESCALE, in->dtype, opt->maxval, false, err))
        return -1;
    if (opt->composite && add_cast(p, CAST_COMPOSITE, in->dtype, opt->background, err))
        return -1;
    /* To a float type the passes pool in it, so averages are not rounded to integers. */
    bool cast_first = opt->cast && dtype_is_float(opt->cast_to) && opt->cast_to != in->dtype;
    if (cast_first && add_cast(p, CAST_TYPE, opt->cast_to, NULL, err))
        return -1;
    if (opt->tap && add_input_tap(p, opt, err))
        return -1;
    if (opt->linear && add_conversion(p, SRGB_TO_LINEAR, in->dtype, maxval, opt->has_alpha, err))
        return -1;
    struct pass_filter_options fo = {.measure = opt->measure,
                                     .channels = opt->channels,
                                     .peak = rescale ? 0 : opt->maxval,
                                     .tap = opt->tap,
                                     .tap_ctx = opt->tap_ctx,
                                     .tap_codes = opt->linear,
                                     .code_type = in->dtype,
                                     .maxval = maxval,
                                     .has_alpha = opt->has_alpha,
                                     .simd = opt->simd};
    if (opt->linear)
        fo.peak = 0; /* linear light is [0, 1]: the input's own range */
    else if (cast_first && !dtype_is_float(in->dtype) && dtype_size(in->dtype) <= 2)
        fo.peak = rescale || !opt->maxval ? (in->dtype == DT_U8 || in->dtype == DT_I8 ? 255 : 65535)
                                          : opt->maxval; /* still codes, now as floats */
    size_t first_pass = p->nfilters;
    struct row_geom pass_in = p->out;
    for (size_t i = 0; i < npasses; i++) {
        /* (the first pass alone is the stack's first: the stack's probe answers for it) */
        fo.shift_letters = opt->shift_test && i > 0 ? opt->spatial_letters : NULL;
        if (add_pass(p, &passes[i], i + 1, &fo, err))
            return -1;
    }
    if (npasses && add_stack_meters(p, opt, fo.peak, err))
        return -1;
    if (opt->index_sink && npasses)
        pass_filter_set_index_sink(p->passes[p->npasses - 1], opt->index_sink, opt->index_ctx);
    if (opt->shift_test && npasses &&
        add_shift_probe(p, passes, npasses, &pass_in, first_pass, opt->spatial_letters, err))
        return -1;
    if (opt->linear && add_conversion(p, LINEAR_TO_SRGB, in->dtype, maxval, opt->has_alpha, err))
        return -1;
    bool cast_last = opt->cast && !cast_first && opt->cast_to != p->out.dtype;
    if (cast_last && add_cast(p, CAST_TYPE, opt->cast_to, NULL, err))
        return -1;
    if (opt->change_depth && opt->depth_to != p->out.dtype &&
        add_cast(p, CAST_DEPTH, opt->depth_to, NULL, err))
        return -1;
    if (!orientation_is_identity(opt->orient) && add_orientation(p, opt->orient, err))
        return -1;
    for (size_t i = 0; i + 1 < p->nfilters; i++)
        p->filters[i].set_sink(p->filters[i].self, push_to_filter, &p->filters[i + 1]);
    if (p->nfilters)
        p->filters[p->nfilters - 1].set_sink(p->filters[p->nfilters - 1].self, write_row, p);
    size_t workers = crew_size(p, passes, npasses, opt);
    if (workers)
        add_crew(p, passes, npasses, in, opt, workers);
    return 0;
}

/* Sends a batch of input rows down the chain. What fails there (the writer, a tap's file)
 * has said so: filters themselves never fail once built. */
static int push_batch(struct pipeline *p, const void *batch, size_t rows, size_t row_bytes,
                      struct pool_error *err)
{
    for (size_t i = 0; i < rows; i++) {
        const char *row = (const char *)batch + i * row_bytes;
        int rc = p->nfilters ? p->filters[0].push(p->filters[0].self, row, err)
                             : write_row(p, row, err);
        if (rc)
            return -1;
    }
    return 0;
}

/* With a second thread decoding ahead. */
static int run_prefetched(struct pipeline *p, struct prefetch *ahead, size_t total_rows,
                          size_t row_bytes, struct pool_error *err)
{
    int rc = 0;
    for (size_t done = 0; rc == 0 && done < total_rows;) {
        size_t rows;
        const void *batch = prefetch_next(ahead, &rows, err);
        rc = batch ? push_batch(p, batch, rows, row_bytes, err)
                   : pool_blame(err, ERROR_INPUT, NULL);
        done += batch ? rows : 0;
    }
    prefetch_stop(ahead);
    return rc;
}

/* crew_work's pool_plane: one plane through a worker's chain into its plane of output. */
static int pool_plane(void *chain, const void *in, void *out, struct pool_error *err)
{
    struct pipeline *p = chain;
    p->plane_out = out;
    p->plane_used = 0;
    int rc = push_batch(p, in, geom_rows_per_plane(&p->in),
                        geom_row_elems(&p->in) * dtype_size(p->in.dtype), err);
    p->plane_out = NULL;
    return rc;
}

/* 0, -1 with err, or 1 when the crew cannot start (crew_run): nothing was read. */
static int run_crew(struct pipeline *p, struct tensor_reader *r, struct tensor_writer *w,
                    struct pool_error *err)
{
    struct crew_work work = {.planes = p->in.planes,
                             .group = p->crew_group,
                             .in_elems = geom_rows_per_plane(&p->in) * geom_row_elems(&p->in),
                             .in_bytes = plane_bytes(&p->in),
                             .out_rows = geom_rows_per_plane(&p->out),
                             .out_row_elems = geom_row_elems(&p->out),
                             .out_bytes = plane_bytes(&p->out),
                             .reader = r,
                             .writer = w,
                             .pool_plane = pool_plane};
    void **chains = malloc((p->ncrew + 1) * sizeof *chains);
    if (!chains)
        return 1;
    chains[0] = p;
    for (size_t i = 0; i < p->ncrew; i++)
        chains[i + 1] = &p->crew[i];
    int rc = crew_run(&work, chains, p->ncrew + 1, err);
    free(chains);
    return rc;
}

int pipeline_run(struct pipeline *p, struct tensor_reader *r, struct tensor_writer *w,
                 struct pool_error *err)
{
    if (p->ncrew) {
        p->writer = w;
        int rc = run_crew(p, r, w, err);
        if (rc <= 0)
            return rc;
        /* (1: no worker's buffers could be had, nothing read) one thread does it all */
    }
    size_t row_elems = geom_row_elems(&p->in);
    size_t row_bytes = row_elems * dtype_size(p->in.dtype);
    size_t rows = p->in.planes * geom_rows_per_plane(&p->in);
    p->writer = w;
    struct prefetch *ahead = p->decode_ahead && rows > 2 * p->batch_rows
                                 ? prefetch_start(r, row_elems, row_bytes, rows, p->batch_rows)
                                 : NULL;
    if (ahead)
        return run_prefetched(p, ahead, rows, row_bytes, err);
    for (size_t done = 0; done < rows;) {
        size_t batch = rows - done < p->batch_rows ? rows - done : p->batch_rows;
        if (r->ops->read(r, p->in_row, batch * row_elems, err))
            return pool_blame(err, ERROR_INPUT, NULL);
        if (push_batch(p, p->in_row, batch, row_bytes, err))
            return -1;
        done += batch;
    }
    return 0;
}

void pipeline_free(struct pipeline *p)
{
    for (size_t i = 0; i < p->ncrew; i++)
        pipeline_free(&p->crew[i]);
    free(p->crew);
    for (size_t i = 0; i < p->nfilters; i++)
        p->filters[i].destroy(p->filters[i].self);
    free(p->filters);
    free(p->passes);
    for (size_t k = 0; p->stack && k < p->npasses; k++)
        meter_free(p->stack[k]);
    free(p->stack);
    shift_probe_free(p->shift);
    free(p->in_row);
    memset(p, 0, sizeof *p);
}

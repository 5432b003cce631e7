#include "passfilter.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct pass_filter {
    struct pool_stage *stage;
    struct pass_meter *meter;       /* NULL unless measuring */
    size_t meter_bytes;             /* its weight in the memory budget (meter_memory) */
    size_t shift_bytes;             /* its shift probe's */
    struct pass_meter *stack_meter; /* not owned: see pass_filter_set_stack_meter */
    struct pass_meter *const *fed;  /* not owned: see pass_filter_feed */
    size_t nfed;
    struct shift_probe *shift;      /* the pass alone, on its input shifted */
    struct convert_stage *to_codes; /* NULL unless the tap wants codes */
    struct row_geom in;
    size_t number;
    bool timed;
    void (*observe)(void *ctx, size_t pass, const void *row);
    void *observe_ctx;
    pass_tap_fn tap;
    void *tap_ctx;
    row_sink_fn next;
    void *next_ctx;
    double seconds, downstream; /* in the pass (with what follows it), in what follows */
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int tap_row(void *ctx, const void *row, struct pool_error *err)
{
    struct pass_filter *f = ctx;
    return f->tap(f->tap_ctx, f->number, row, err);
}

/* The stage's sink: everything here is downstream of the pass and not its time. */
static int pass_output(void *ctx, const void *row, struct pool_error *err)
{
    struct pass_filter *f = ctx;
    double start = f->timed ? now() : 0;
    if (f->meter)
        meter_output_row(f->meter, row);
    if (f->stack_meter)
        meter_output_row(f->stack_meter, row);
    if (f->shift)
        shift_probe_reference(f->shift, 1, row);
    if (f->observe)
        f->observe(f->observe_ctx, f->number, row);
    int rc = 0;
    if (f->to_codes)
        rc = convert_push(f->to_codes, row, err);
    else if (f->tap)
        rc = tap_row(f, row, err);
    if (rc == 0)
        rc = f->next(f->next_ctx, row, err);
    if (f->timed)
        f->downstream += now() - start;
    return rc;
}

int pass_filter_create(struct pass_filter **out, const struct pool_pass *pass, size_t number,
                       const struct row_geom *in, const struct pass_filter_options *opt,
                       struct pool_error *err)
{
    struct pass_filter *f = calloc(1, sizeof *f);
    *out = NULL;
    if (!f)
        return pool_fail_resource(err, "out of memory");
    f->in = *in;
    f->number = number;
    f->timed = opt->measure;
    f->tap = opt->tap;
    f->tap_ctx = opt->tap_ctx;
    struct stage_setup limits = {opt->memory_used,
                                 opt->memory_budget ? opt->memory_budget : SIZE_MAX, opt->simd};
    if (stage_create_with(&f->stage, pass, in, &limits, err))
        goto fail;
    stage_set_sink(f->stage, pass_output, f);
    const struct row_geom *geom = stage_out_geom(f->stage);
    size_t used = opt->memory_used + stage_memory(f->stage);
    if (opt->shift_letters &&
        shift_probe_create(&f->shift, pass, 1, in, opt->shift_letters, &used,
                           opt->memory_budget ? opt->memory_budget : SIZE_MAX, opt->simd, err))
        goto fail;
    f->shift_bytes = used - opt->memory_used - stage_memory(f->stage);
    struct meter_setup setup = {.channels = opt->channels, .peak = opt->peak};
    if (opt->measure) {
        f->meter_bytes = meter_memory(in, geom);
        if (pool_check_memory(f->meter_bytes, used,
                              opt->memory_budget ? opt->memory_budget : SIZE_MAX,
                              "its statistics (--stats) need", err))
            goto fail;
    }
    if (opt->measure && meter_create(&f->meter, in, geom,
                                     &(struct meter_level){stage_axes(f->stage)}, 1, &setup, err))
        goto fail;
    if (opt->tap && opt->tap_codes) {
        if (convert_create(&f->to_codes, LINEAR_TO_SRGB, geom, opt->code_type, opt->maxval,
                           opt->has_alpha, err))
            goto fail;
        convert_set_sink(f->to_codes, tap_row, f);
    }
    *out = f;
    return 0;
fail:
    pass_filter_free(f);
    return -1;
}

const struct row_geom *pass_filter_in_geom(const struct pass_filter *f) { return &f->in; }

const struct row_geom *pass_filter_out_geom(const struct pass_filter *f)
{
    return stage_out_geom(f->stage);
}

const struct row_geom *pass_filter_tap_geom(const struct pass_filter *f)
{
    return f->to_codes ? convert_out_geom(f->to_codes) : stage_out_geom(f->stage);
}

void pass_filter_observe(struct pass_filter *f, void (*observe)(void *, size_t, const void *),
                         void *ctx)
{
    f->observe = observe;
    f->observe_ctx = ctx;
}

void pass_filter_set_sink(struct pass_filter *f, row_sink_fn sink, void *ctx)
{
    f->next = sink;
    f->next_ctx = ctx;
}

const struct axis_table *pass_filter_axes(const struct pass_filter *f)
{
    return stage_axes(f->stage);
}

void pass_filter_set_stack_meter(struct pass_filter *f, struct pass_meter *m)
{
    f->stack_meter = m;
}

void pass_filter_feed(struct pass_filter *f, struct pass_meter *const *meters, size_t n)
{
    f->fed = meters;
    f->nfed = n;
}

void pass_filter_set_index_sink(struct pass_filter *f, row_sink_fn sink, void *ctx)
{
    stage_set_index_sink(f->stage, sink, ctx);
}

int pass_filter_push(struct pass_filter *f, const void *row, struct pool_error *err)
{
    if (f->meter)
        meter_input_row(f->meter, row);
    for (size_t i = 0; i < f->nfed; i++)
        if (f->fed[i])
            meter_input_row(f->fed[i], row);
    double start = f->timed ? now() : 0;
    if (stage_push(f->stage, row, err))
        return -1;
    if (f->timed)
        f->seconds += now() - start;
    return f->shift ? shift_probe_step(f->shift, row, err) : 0;
}

struct pass_meter *pass_filter_meter(struct pass_filter *f) { return f->meter; }

bool pass_filter_shift(const struct pass_filter *f, struct shift_figures *out)
{
    if (f->shift)
        shift_probe_figures(f->shift, 1, out);
    return f->shift != NULL;
}

double pass_filter_seconds(const struct pass_filter *f) { return f->seconds - f->downstream; }

void pass_filter_free(struct pass_filter *f)
{
    if (!f)
        return;
    stage_free(f->stage);
    meter_free(f->meter);
    shift_probe_free(f->shift);
    convert_free(f->to_codes);
    free(f);
}

size_t pass_filter_memory(const struct pass_filter *f)
{
    return stage_memory(f->stage) + f->meter_bytes + f->shift_bytes;
}

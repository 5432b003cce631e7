#include "stage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "vector.h"
#include "window.h"

enum { AX_D, AX_H, AX_W };

struct pool_stage {
    struct row_geom in, out;
    enum pool_mode mode;
    struct axis_table axis[3];
    const struct type_kernels *kernels;
    enum acc_kind acc;
    size_t acc_row_bytes; /* one output row of accumulators */
    /* its buffers must fit in memory_budget beside memory_used (stage_create_with) */
    size_t memory_used, memory_budget;
    struct reduce_args reduce;
    struct finish_args finish;

    void *reduced;     /* the current input row, reduced along width */
    void *height_ring; /* axis[AX_H].max_live rows being reduced along height */
    void *depth_ring;  /* axis[AX_D].max_live slabs of out.size[1] rows, for 3-D */
    void *out_row;
    void *top_row; /* block2: the upper input row of the current pair */
    size_t bytes;

    /* The vector kernels (NULL: the portable loops alone), and the run of whole windows
     * along width that reduce_run takes (width.n = 0: none): outputs [first, first + n),
     * k taps, s apart, from input column tap0, each with the same avg divisor (or not). */
    const struct vector_kernels *vector;
    struct {
        size_t first, n, tap0, divisor;
        unsigned k, s;
        bool same_divisor;
        /* the width's windows before and after the run, for the portable loops (views
         * of axis[AX_W]'s table: they own nothing) */
        struct axis_table before, after;
    } width;

    size_t row_in_plane;           /* position of the next input row in its plane */
    size_t next_out_h, next_out_d; /* the next output row / slab to emit */

    row_sink_fn sink;
    void *sink_ctx;
    bool block2;  /* the fused path: see is_block2 */
    bool select2; /* block2's path for mode and median, with vector->select2_row */

    /* The selecting kind (mode, median, nearest) keeps input rows instead of sums: a ring of
     * kept_d slabs of kept_h rows (3-D keeps whole slabs), and one window's values. */
    bool selects;
    void *kept;
    size_t kept_d, kept_h, in_row_bytes;
    void *window;
    size_t pixel_width; /* elements compared as one value: whole pixels for a channels-last mode */
    size_t next_out;    /* the next output row in the plane: depth * height index */

    /* return_indices: max and min take the selecting kind, and each output's tap goes to
     * the index sink as its position in the input plane, (d H + h) W + w. */
    bool indices;
    int64_t *index_row;
    row_sink_fn index_sink;
    void *index_ctx;

    /* fmax: the selecting kind with windows placed per (batch, channel) plane (set). */
    bool fractional;
    const double *samples; /* sample_sets x nspatial, or NULL: drawn from seed */
    size_t sample_sets;
    uint64_t seed;
    size_t plane; /* the plane being read, from 0 */
};

static void *ring_slot(void *ring, size_t slot_bytes, size_t index, size_t live)
{
    return (char *)ring + (index % live) * slot_bytes;
}

/* The stage's buffers, weighed against its share of the memory budget before any exists. */
static int check_need(const struct pool_stage *s, bool overflow, size_t need, const char *what,
                      struct pool_error *err)
{
    return pool_check_memory(overflow ? SIZE_MAX : need, s->memory_used, s->memory_budget, what,
                             err);
}

#define ROWS_SPANNED "the rows its windows span need"

static int alloc_buffers(struct pool_stage *s, struct pool_error *err)
{
    size_t row = s->acc_row_bytes;
    size_t h_live = s->axis[AX_H].max_live, d_live = s->axis[AX_D].max_live;
    size_t out_bytes = geom_row_elems(&s->out) * dtype_size(s->out.dtype);
    size_t ring = 0, slabs = 0, need = 0;
    bool depth = !s->axis[AX_D].identity;
    bool overflow = __builtin_mul_overflow(row, h_live, &ring) ||
                    (depth && (__builtin_mul_overflow(row, s->out.size[1], &slabs) ||
                               __builtin_mul_overflow(slabs, d_live, &slabs))) ||
                    __builtin_add_overflow(row + out_bytes, ring, &need) ||
                    __builtin_add_overflow(need, slabs, &need);
    if (check_need(s, overflow, need, ROWS_SPANNED, err))
        return -1;
    s->reduced = malloc(row);
    s->height_ring = malloc(ring);
    s->out_row = malloc(out_bytes);
    s->bytes = need;
    if (depth) {
        s->depth_ring = malloc(slabs);
        if (!s->depth_ring)
            return pool_fail_resource(err, "out of memory for a depth window of %zu slabs", d_live);
        acc_reset(s->acc, s->mode, s->depth_ring,
                  s->out.size[2] * s->out.inner * s->out.size[1] * d_live);
    }
    if (!s->reduced || !s->height_ring || !s->out_row)
        return pool_fail_resource(err, "out of memory for the rows of a pass");
    acc_reset(s->acc, s->mode, s->height_ring, s->out.size[2] * s->out.inner * h_live);
    return 0;
}

/* An axis whose windows are [2o, 2o + 1] for every output: kernel = stride = 2 without
 * padding or dilation (or adaptive to half an even length), no partial last window. */
static bool axis_is_pairs(const struct axis_table *t)
{
    const struct axis_params *a = &t->params;
    if (a->adaptive_out)
        return t->in_len == 2 * t->out_len;
    return a->kernel == 2 && a->stride == 2 && a->padding == 0 && a->shift == 0 &&
           a->dilation == 1 && t->out_len == t->in_len / 2 && t->out_len > 0;
}

/* 2x2 max, min or avg over height and width, the most common pooling there is, goes through
 * block2_row: two input rows to one output row, without accumulator rows in between. */
static bool is_block2(const struct pool_stage *s)
{
    bool mode = s->mode == MODE_MAX || s->mode == MODE_MIN || s->mode == MODE_AVG;
    return mode && !s->reduce.premultiply && !s->finish.divisor_override &&
           s->axis[AX_D].identity && axis_is_pairs(&s->axis[AX_H]) && axis_is_pairs(&s->axis[AX_W]);
}

/* Rows an axis keeps for the selecting kind: a window's extent, the dilated kernel (the
 * widest window, adaptive), as the bound in select_push shows. fmax: the kernel and the
 * spread of one output's starts over the channels of a plane: under 2 in exact arithmetic
 * (see fractional_start), and float32's rounding of (o + u) alpha, relative 2^-24 per step,
 * moves a start by up to about L 2^-22 (a 2^25-row axis: 8 rows). */
static size_t rows_to_keep(const struct axis_table *t, bool single)
{
    const struct axis_params *a = &t->params;
    if (a->fractional) {
        size_t rounding = single ? 2 * (t->in_len >> 21) : 0;
        size_t keep = a->kernel + 3 + rounding;
        return keep < t->in_len ? keep : t->in_len;
    }
    if (t->identity)
        return 1;
    size_t d = t->dilated ? a->dilation : 1;
    size_t keep = a->adaptive_out ? axis_widest_window(t) : (a->kernel - 1) * d + 1;
    return keep < t->in_len ? keep : t->in_len;
}

/* The most real taps one window has on an axis. */
static size_t most_taps(const struct axis_table *t)
{
    const struct axis_params *a = &t->params;
    if (a->fractional)
        return a->kernel;
    if (t->identity)
        return 1;
    size_t k = a->adaptive_out ? axis_widest_window(t) : a->kernel;
    return k < t->in_len ? k : t->in_len;
}

static int alloc_selection(struct pool_stage *s, struct pool_error *err)
{
    const struct axis_table *depth = &s->axis[AX_D];
    size_t es = dtype_size(s->in.dtype), rows = 0, bytes = 0, taps = 0, window_bytes = 0;
    s->in_row_bytes = geom_row_elems(&s->in) * es;
    bool single = s->in.dtype != DT_F64; /* fmax places windows in float arithmetic */
    s->kept_d = rows_to_keep(depth, single);
    s->kept_h = depth->identity ? rows_to_keep(&s->axis[AX_H], single) : s->in.size[1];
    s->pixel_width = s->mode == MODE_MODE ? s->in.inner : 1;
    bool overflow = __builtin_mul_overflow(s->kept_d, s->kept_h, &rows) ||
                    __builtin_mul_overflow(rows, s->in_row_bytes, &bytes) ||
                    __builtin_mul_overflow(most_taps(depth), most_taps(&s->axis[AX_H]), &taps) ||
                    __builtin_mul_overflow(taps, most_taps(&s->axis[AX_W]), &taps) ||
                    __builtin_mul_overflow(taps, s->pixel_width * es, &window_bytes);
    size_t out_bytes = geom_row_elems(&s->out) * es, need = 0;
    size_t index_bytes = s->indices ? geom_row_elems(&s->out) * sizeof *s->index_row : 0;
    overflow = overflow || __builtin_add_overflow(bytes, out_bytes + index_bytes, &need) ||
               (s->mode != MODE_NEAREST && __builtin_add_overflow(need, window_bytes, &need));
    if (check_need(s, overflow, need, ROWS_SPANNED, err))
        return -1;
    s->kept = malloc(bytes);
    s->window = s->mode == MODE_NEAREST ? NULL : malloc(window_bytes);
    s->out_row = malloc(out_bytes);
    s->bytes = need;
    if (s->indices)
        s->index_row = malloc(index_bytes);
    if (!s->kept || (!s->window && s->mode != MODE_NEAREST) || !s->out_row ||
        (s->indices && !s->index_row))
        return pool_fail_resource(err, "out of memory for the %zu rows a window spans", rows);
    return 0;
}

/* The fused path keeps one input row (the upper of a pair) and makes one output row. */
static int alloc_block2(struct pool_stage *s, struct pool_error *err)
{
    size_t row_bytes = geom_row_elems(&s->in) * dtype_size(s->in.dtype);
    size_t out_bytes = geom_row_elems(&s->out) * dtype_size(s->out.dtype);
    if (check_need(s, false, row_bytes + out_bytes, ROWS_SPANNED, err))
        return -1;
    s->top_row = malloc(row_bytes);
    s->out_row = malloc(out_bytes);
    s->bytes = row_bytes + out_bytes;
    if (!s->top_row || !s->out_row)
        return pool_fail_resource(err, "out of memory for the rows of a pass");
    return 0;
}

/* Outputs [from, to) of the width's table, for the portable loops around a vector run. */
static struct axis_table width_part(const struct pool_stage *s, size_t from, size_t to)
{
    struct axis_table part = s->axis[AX_W];
    part.win += from;
    part.out_len = to - from;
    return part;
}

/* The longest run of windows along width that reduce_run takes: k taps, one apart, each s
 * after the last (padding and a partial last window leave the ends to reduce_row). */
static void find_width_run(struct pool_stage *s)
{
    const struct axis_table *t = &s->axis[AX_W];
    unsigned k = (unsigned)t->params.kernel, st = (unsigned)t->params.stride;
    if (t->params.adaptive_out || t->params.fractional || t->params.dilation > 1 || !t->win ||
        t->params.kernel > 8 || t->params.stride > 8 || !vector_run_supported(k, st))
        return;
    size_t best = 0, best_n = 0;
    for (size_t o = 0; o < t->out_len;) {
        const struct axis_window *w = t->win;
        if (w[o].count != k) {
            o++;
            continue;
        }
        size_t end = o + 1;
        while (end < t->out_len && w[end].count == k && w[end].first == w[end - 1].first + st)
            end++;
        if (end - o > best_n) {
            best = o;
            best_n = end - o;
        }
        o = end;
    }
    if (best_n < 4) /* not worth the calls */
        return;
    s->width.first = best;
    s->width.n = best_n;
    s->width.tap0 = t->win[best].first;
    s->width.k = k;
    s->width.s = st;
    s->width.divisor = t->win[best].divisor;
    s->width.same_divisor = true;
    for (size_t o = best; o < best + best_n; o++)
        s->width.same_divisor &= t->win[o].divisor == s->width.divisor;
    s->width.before = width_part(s, 0, best);
    s->width.after = width_part(s, best + best_n, t->out_len);
}

/* 2x2 mode or median of one channel of integers, without padding: block2's path, with the
 * vector kernel choosing in place of the gathering loops. */
static bool is_select2(const struct pool_stage *s)
{
    return (s->mode == MODE_MODE || s->mode == MODE_MEDIAN) && !s->indices && !s->fractional &&
           s->in.inner == 1 && s->vector->select2_row && s->axis[AX_D].identity &&
           axis_is_pairs(&s->axis[AX_H]) && axis_is_pairs(&s->axis[AX_W]);
}

/* The vector kernels for max, min and avg (not alpha-weighted) and for 2x2 mode and
 * median, where the level has them for the type. */
static void choose_vector_kernels(struct pool_stage *s, enum simd_level level)
{
    s->vector = vector_kernels_for(s->in.dtype, level);
    if (!s->vector)
        return;
    if (s->selects && is_select2(s)) {
        s->select2 = true;
        s->block2 = true;
        s->selects = false;
        return;
    }
    bool mode = s->mode == MODE_MAX || s->mode == MODE_MIN || s->mode == MODE_AVG;
    if (s->selects || !mode || s->reduce.premultiply) {
        s->vector = NULL;
        return;
    }
    if (s->in.inner == 1)
        find_width_run(s);
    /* one channel: the vector run beats block2's loop, which is written for pixels */
    if (s->width.n)
        s->block2 = false;
}

static size_t kernel_elements(const struct axis_params ax[3])
{
    return ax[0].kernel * ax[1].kernel * ax[2].kernel;
}

int stage_create(struct pool_stage **out, const struct pool_pass *pass, const struct row_geom *in,
                 struct pool_error *err)
{
    struct stage_setup setup = {0, SIZE_MAX, simd_best()};
    return stage_create_with(out, pass, in, &setup, err);
}

int stage_create_with(struct pool_stage **out, const struct pool_pass *pass,
                      const struct row_geom *in, const struct stage_setup *setup,
                      struct pool_error *err)
{
    size_t memory_used = setup->memory_used, memory_budget = setup->memory_budget;
    struct axis_params ax[3];
    struct pool_stage *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return pool_fail_resource(err, "out of memory");
    s->in = *in;
    s->memory_used = memory_used;
    s->memory_budget = memory_budget;
    s->mode = pass->mode;
    if (pass_out_geom(pass, in, &s->out, err) || pass_resolve(pass, in->nspatial, ax, err))
        goto fail;
    if (pass->edge_replicate && !pass->global && !pass->output_size.n) {
        pool_fail(err, "--edge replicate: the edge is extended before a stage (a pass with "
                       "edge_replicate reached stage_create)");
        goto fail;
    }
    /* the width's table of windows (axis_table_init), weighed with the buffers */
    size_t table = 0;
    bool overflow = __builtin_mul_overflow(s->out.size[2], sizeof(struct axis_window), &table);
    if (check_need(s, overflow, table, "its table of windows needs", err))
        goto fail;
    s->memory_used += table;
    for (int i = 0; i < 3; i++)
        if (axis_table_init(&s->axis[i], &ax[i], pass->mode, in->size[i], i == AX_W, err))
            goto fail;
    s->kernels = kernels_for(in->dtype);
    s->acc = acc_for(in->dtype, pass->mode);
    s->acc_row_bytes = s->out.size[2] * s->out.inner * acc_size(s->acc);
    /* a divisor_override averages every channel alike, as PyTorch's tensor would be */
    bool premultiply = pass->premultiply_alpha && pass->mode == MODE_AVG && in->inner >= 2 &&
                       !pass->divisor_override;
    s->reduce = (struct reduce_args){pass->mode, in->inner, pass->has_norm ? pass->norm : 2.0,
                                     premultiply};
    s->finish = (struct finish_args){pass->mode,
                                     in->inner,
                                     premultiply,
                                     1,
                                     pass->divisor_override,
                                     (double)kernel_elements(ax),
                                     1.0 / s->reduce.norm};
    s->indices = pass->return_indices;
    s->fractional = pass->mode == MODE_FMAX;
    s->samples = pass->samples;
    s->sample_sets = pass->sample_sets;
    s->seed = pass->seed;
    if (s->samples && pass->sample_dims != in->nspatial) {
        pool_fail(err,
                  "the random samples have %d values per plane, for %d-D pooling; the input "
                  "has %d spatial axes",
                  pass->sample_dims, pass->sample_dims, in->nspatial);
        goto fail;
    }
    if (s->samples && s->sample_sets != in->planes * in->inner) {
        pool_fail(err, "the random samples are for %zu (batch, channel) planes, the input has %zu",
                  s->sample_sets, in->planes * in->inner);
        goto fail;
    }
    s->selects = mode_selects(pass->mode) || s->indices || s->fractional;
    s->block2 = !s->selects && is_block2(s);
    choose_vector_kernels(s, setup->simd);
    if (s->selects  ? alloc_selection(s, err)
        : s->block2 ? alloc_block2(s, err)
                    : alloc_buffers(s, err))
        goto fail;
    s->bytes += table;
    *out = s;
    return 0;
fail:
    stage_free(s);
    return -1;
}

const struct row_geom *stage_out_geom(const struct pool_stage *s) { return &s->out; }

void stage_set_sink(struct pool_stage *s, row_sink_fn sink, void *ctx)
{
    s->sink = sink;
    s->sink_ctx = ctx;
}

void stage_set_index_sink(struct pool_stage *s, row_sink_fn sink, void *ctx)
{
    s->index_sink = sink;
    s->index_ctx = ctx;
}

size_t stage_memory(const struct pool_stage *s) { return s->bytes; }

bool stage_runs_vector(const struct pool_stage *s)
{
    return s->vector && (s->width.n || s->select2);
}

const struct axis_table *stage_axes(const struct pool_stage *s) { return s->axis; }

static size_t acc_row_elems(const struct pool_stage *s) { return s->out.size[2] * s->out.inner; }

static void combine(const struct pool_stage *s, void *dst, const void *src, size_t n)
{
    if (s->vector && s->vector->combine)
        s->vector->combine(dst, src, n, s->mode);
    else
        acc_combine(s->acc, s->mode, dst, src, n);
}

/* One input row reduced along width: the run by the vector kernel, the windows before and
 * after it by reduce_row. */
static void reduce_width(struct pool_stage *s, const void *row)
{
    if (!s->width.n) {
        s->kernels->reduce_row(row, s->reduced, &s->axis[AX_W], &s->reduce);
        return;
    }
    size_t es = acc_size(s->acc), end = s->width.first + s->width.n;
    s->kernels->reduce_row(row, s->reduced, &s->width.before, &s->reduce);
    s->vector->reduce_run((const char *)row + s->width.tap0 * dtype_size(s->in.dtype),
                          (char *)s->reduced + s->width.first * es, s->width.n, s->width.k,
                          s->width.s, s->mode);
    s->kernels->reduce_row(row, (char *)s->reduced + end * es, &s->width.after, &s->reduce);
}

/* finish_row, with the vector kernels where they apply: every max and min, and the run of
 * float averages that share one divisor. */
static void finish_width(struct pool_stage *s, const void *acc)
{
    const struct vector_kernels *v = s->vector;
    size_t n = acc_row_elems(s);
    if (v && (s->mode == MODE_MAX || s->mode == MODE_MIN)) {
        v->finish_extreme(acc, s->out_row, n);
        return;
    }
    if (!v || !v->finish_average || !s->width.n || !s->width.same_divisor) {
        s->kernels->finish_row(acc, s->out_row, &s->axis[AX_W], &s->finish);
        return;
    }
    size_t es = acc_size(s->acc), ts = dtype_size(s->out.dtype), end = s->width.first + s->width.n;
    size_t divisor = s->finish.divisor_override ? s->finish.divisor_override
                                                : s->width.divisor * s->finish.divisor_rest;
    s->kernels->finish_row(acc, s->out_row, &s->width.before, &s->finish);
    v->finish_average((const char *)acc + s->width.first * es,
                      (char *)s->out_row + s->width.first * ts, s->width.n, divisor);
    s->kernels->finish_row((const char *)acc + end * es, (char *)s->out_row + end * ts,
                           &s->width.after, &s->finish);
}

/* A row of accumulators is complete on every axis: turn it into values and pass it on. */
static int emit_row(struct pool_stage *s, const void *acc, size_t out_d, size_t out_h,
                    struct pool_error *err)
{
    s->finish.divisor_rest = axis_window_at(&s->axis[AX_D], out_d).divisor *
                             axis_window_at(&s->axis[AX_H], out_h).divisor;
    finish_width(s, acc);
    return s->sink(s->sink_ctx, s->out_row, err);
}

/* Slab `in_d` has finished output row `out_h` (complete along height and width). */
static int height_row_done(struct pool_stage *s, size_t in_d, size_t out_h, const void *acc,
                           struct pool_error *err)
{
    const struct axis_table *depth = &s->axis[AX_D];
    if (depth->identity)
        return emit_row(s, acc, in_d, out_h, err);
    size_t slab_bytes = s->acc_row_bytes * s->out.size[1];
    size_t first, last;
    axis_readers(depth, in_d, &first, &last);
    for (size_t o = first; o <= last && first <= last; o++) {
        if (!axis_reads(depth, o, in_d))
            continue;
        char *slab = ring_slot(s->depth_ring, slab_bytes, o, depth->max_live);
        combine(s, slab + out_h * s->acc_row_bytes, acc, acc_row_elems(s));
    }
    if (out_h + 1 < s->out.size[1])
        return 0;
    /* The slab's last output row: emit every depth window that this slab closes. */
    while (s->next_out_d < depth->out_len && axis_ready_at(depth, s->next_out_d) <= in_d) {
        char *slab = ring_slot(s->depth_ring, slab_bytes, s->next_out_d, depth->max_live);
        for (size_t h = 0; h < s->out.size[1]; h++)
            if (emit_row(s, slab + h * s->acc_row_bytes, s->next_out_d, h, err))
                return -1;
        acc_reset(s->acc, s->mode, slab, acc_row_elems(s) * s->out.size[1]);
        s->next_out_d++;
    }
    return 0;
}

/* The fused path: keeps an even row, pairs it with the odd row after it (an odd last row
 * has no window). */
static int push_block2(struct pool_stage *s, const void *row, struct pool_error *err)
{
    size_t h = s->row_in_plane % s->in.size[1];
    if (++s->row_in_plane == geom_rows_per_plane(&s->in))
        s->row_in_plane = 0;
    if (h % 2 == 0) {
        if (h + 1 < s->in.size[1])
            memcpy(s->top_row, row, geom_row_elems(&s->in) * dtype_size(s->in.dtype));
        return 0;
    }
    if (s->select2)
        s->vector->select2_row(s->top_row, row, s->out_row, s->out.size[2], s->mode);
    else
        s->kernels->block2_row(s->top_row, row, s->out_row, s->out.size[2], s->in.inner, s->mode);
    return s->sink(s->sink_ctx, s->out_row, err);
}

static const char *kept_row(const struct pool_stage *s, size_t d, size_t h)
{
    size_t slot = (d % s->kept_d) * s->kept_h + h % s->kept_h;
    return (const char *)s->kept + slot * s->in_row_bytes;
}

/* The input row an output row needs last on an axis: its window's ready point, or for
 * nearest its centre when that comes later (a centre clipped past a dilated window). */
static size_t needed_by(const struct pool_stage *s, const struct axis_table *t, size_t o)
{
    size_t ready = axis_ready_at(t, o);
    if (s->mode != MODE_NEAREST)
        return ready;
    size_t centre = axis_centre(t, o);
    return centre > ready ? centre : ready;
}

static void select_nearest(struct pool_stage *s, size_t od, size_t oh)
{
    size_t pixel = s->in.inner * dtype_size(s->in.dtype);
    const char *row = kept_row(s, axis_centre(&s->axis[AX_D], od), axis_centre(&s->axis[AX_H], oh));
    for (size_t o = 0; o < s->out.size[2]; o++)
        memcpy((char *)s->out_row + o * pixel, row + axis_centre(&s->axis[AX_W], o) * pixel, pixel);
}

/* Where tap `n` of a window gathered in depth, height, width order lies in the input plane;
 * a window of padding only (n = SIZE_MAX) points, as PyTorch's, at its first tap past the
 * leading padding, which may lie past the input. */
static int64_t tap_position(const struct pool_stage *s, const struct axis_window w[3], size_t n,
                            size_t od, size_t oh, size_t ow)
{
    size_t at[3];
    if (n == SIZE_MAX) {
        at[AX_D] = axis_first_tap(&s->axis[AX_D], od);
        at[AX_H] = axis_first_tap(&s->axis[AX_H], oh);
        at[AX_W] = axis_first_tap(&s->axis[AX_W], ow);
    } else {
        size_t jw = n % w[AX_W].count, rest = n / w[AX_W].count;
        at[AX_W] = w[AX_W].first + jw * w[AX_W].step;
        at[AX_H] = w[AX_H].first + rest % w[AX_H].count * w[AX_H].step;
        at[AX_D] = w[AX_D].first + rest / w[AX_H].count * w[AX_D].step;
    }
    return (int64_t)((at[AX_D] * s->in.size[1] + at[AX_H]) * s->in.size[2] + at[AX_W]);
}

/* Copies one window's real taps, depth, height and width in order, into the window buffer:
 * value_bytes from element c of each tap (a whole pixel for a channels-last mode). */
static size_t gather_taps(struct pool_stage *s, const struct axis_window w[3], size_t c,
                          size_t value_bytes)
{
    size_t es = dtype_size(s->in.dtype), inner = s->in.inner, n = 0;
    for (size_t jd = 0; jd < w[AX_D].count; jd++)
        for (size_t jh = 0; jh < w[AX_H].count; jh++) {
            const char *row = kept_row(s, w[AX_D].first + jd * w[AX_D].step,
                                       w[AX_H].first + jh * w[AX_H].step);
            for (size_t jw = 0; jw < w[AX_W].count; jw++, n++)
                memcpy((char *)s->window + n * value_bytes,
                       row + ((w[AX_W].first + jw * w[AX_W].step) * inner + c) * es, value_bytes);
        }
    return n;
}

/* fmax's offset u in [0, 1) for one axis of one (batch, channel) plane: PyTorch's sample,
 * or 24 random bits (as torch.rand's float) from the seed, the plane and the axis. */
static double fractional_sample(const struct pool_stage *s, size_t set, int slot)
{
    if (s->samples)
        return s->samples[set * (size_t)s->in.nspatial + (size_t)slot];
    uint64_t x = s->seed + 0x9E3779B97F4A7C15u * (set * 3 + (uint64_t)slot + 1);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9u; /* splitmix64's finalizer */
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBu;
    x ^= x >> 31;
    return (double)(x >> 40) / (double)(1 << 24);
}

/*
 * Where fmax's window o starts on an axis, for the plane `set`: PyTorch's generate_intervals
 * (aten/src/ATen/native/FractionalMaxPooling.h), in the input's float type (double for
 * f64, float for the rest, as for float32): alpha = (L - k) / (O - 1), start o =
 * int((o + u) alpha) - int(u alpha), the last at L - k. Starts rise by at least
 * floor(alpha) >= 1 and lie within 1 of o alpha, so one output's starts over a plane's
 * channels differ by under 2.
 */
static size_t fractional_start(const struct pool_stage *s, int axis, size_t set, size_t o)
{
    const struct axis_table *t = &s->axis[axis];
    if (!t->params.fractional)
        return o;
    size_t L = t->in_len, k = t->params.kernel, O = t->out_len;
    if (o + 1 >= O)
        return L - k;
    int slot = s->in.nspatial == 3 ? axis : axis == AX_W ? 0 : 1; /* PyTorch: T H W; W H */
    double u = fractional_sample(s, set, slot);
    int64_t start;
    if (s->in.dtype == DT_F64) {
        double alpha = (double)(L - k) / (double)(O - 1);
        start = (int64_t)(((double)o + u) * alpha) - (int64_t)(u * alpha);
    } else {
        float alpha = (float)(L - k) / (float)(O - 1), uf = (float)u;
        start = (int64_t)(((float)o + uf) * alpha) - (int64_t)(uf * alpha);
    }
    return start < 0 ? 0 : (size_t)start > L - k ? L - k : (size_t)start;
}

/* The input row (depth * H + height) after which fmax's output row is complete in every
 * channel of the plane. */
static size_t fractional_needs(const struct pool_stage *s, size_t od, size_t oh)
{
    size_t last = 0, h_len = s->in.size[1];
    size_t kd = s->axis[AX_D].params.kernel, kh = s->axis[AX_H].params.kernel;
    for (size_t c = 0; c < s->in.inner; c++) {
        size_t set = s->plane * s->in.inner + c;
        size_t d = fractional_start(s, AX_D, set, od) + kd - 1;
        size_t row = d * h_len + fractional_start(s, AX_H, set, oh) + kh - 1;
        last = row > last ? row : last;
    }
    return last;
}

/* fmax's output row: each channel's window at its own starts, the first maximum (or the
 * last NaN) as PyTorch's fractional_max_pool picks it, with its position. */
static int fractional_row(struct pool_stage *s, size_t od, size_t oh, size_t newest,
                          struct pool_error *err)
{
    size_t es = dtype_size(s->in.dtype), inner = s->in.inner, h_len = s->in.size[1];
    size_t kd = s->axis[AX_D].params.kernel, kh = s->axis[AX_H].params.kernel;
    size_t kw = s->axis[AX_W].params.kernel;
    for (size_t c = 0; c < inner; c++) {
        size_t set = s->plane * inner + c;
        size_t sd = fractional_start(s, AX_D, set, od), sh = fractional_start(s, AX_H, set, oh);
        /* the ring holds the newest kept_d slabs (3-D) or kept_h rows */
        bool kept = s->kept_d > 1 ? newest / h_len - sd < s->kept_d
                                  : newest - (sd * h_len + sh) < s->kept_h;
        if (!kept)
            return pool_fail(err, "fmax: a window's rows have left the ring (a bug: please "
                                  "report it)");
        for (size_t o = 0; o < s->out.size[2]; o++) {
            const struct axis_window w[3] = {
                {sd, kd, 1, 0}, {sh, kh, 1, 0}, {fractional_start(s, AX_W, set, o), kw, 1, 0}};
            size_t n = gather_taps(s, w, c, es);
            void *out = (char *)s->out_row + (o * inner + c) * es;
            size_t tap = s->kernels->arg_extreme(s->window, n, MODE_MAX, out);
            if (s->indices)
                s->index_row[o * inner + c] = tap_position(s, w, tap, od, oh, o);
        }
    }
    return 0;
}

/* Gathers each output's real taps (depth, height, width order) into the window buffer and
 * lets the type's kernel choose: per channel, or per pixel for a channels-last mode. */
static void select_row(struct pool_stage *s, size_t od, size_t oh)
{
    size_t es = dtype_size(s->in.dtype), inner = s->in.inner, width = s->pixel_width;
    size_t value_bytes = width * es;
    struct axis_window wd = axis_window_at(&s->axis[AX_D], od);
    struct axis_window wh = axis_window_at(&s->axis[AX_H], oh);
    for (size_t o = 0; o < s->out.size[2]; o++) {
        const struct axis_window *ww = &s->axis[AX_W].win[o];
        const struct axis_window w[3] = {wd, wh, *ww};
        for (size_t c = 0; c < inner; c += width) {
            size_t n = gather_taps(s, w, c, value_bytes);
            void *out = (char *)s->out_row + (o * inner + c) * es;
            if (s->indices) {
                size_t tap = s->kernels->arg_extreme(s->window, n, s->mode, out);
                s->index_row[o * inner + c] = tap_position(s, w, tap, od, oh, o);
            } else {
                s->kernels->select_window(s->window, n, width, s->mode, out);
            }
        }
    }
}

/*
 * The selecting kind: keeps the row, then emits every output row whose last needed input
 * has come. Output o is emitted when input ready(o) arrives: the last tap of some window
 * q <= o, so ready(o) <= start(q) + span <= start(o) + span, as windows start in order
 * (adaptive: ready(o) is o's own last tap). Its first real tap and its centre lie at or
 * after start(o) (or 0), so the rows it needs are within span + 1 = rows_to_keep of the
 * newest.
 */
static int select_push(struct pool_stage *s, const void *row, struct pool_error *err)
{
    size_t h_len = s->in.size[1], oh_len = s->out.size[1];
    size_t cur = s->row_in_plane, d = cur / h_len, h = cur % h_len;
    memcpy((char *)kept_row(s, d, h), row, s->in_row_bytes);
    if (++s->row_in_plane == geom_rows_per_plane(&s->in))
        s->row_in_plane = 0;
    for (; s->next_out < s->out.size[0] * oh_len; s->next_out++) {
        size_t od = s->next_out / oh_len, oh = s->next_out % oh_len;
        size_t needs = s->fractional ? fractional_needs(s, od, oh)
                                     : needed_by(s, &s->axis[AX_D], od) * h_len +
                                           needed_by(s, &s->axis[AX_H], oh);
        if (needs > cur)
            return 0;
        if (s->fractional) {
            if (fractional_row(s, od, oh, cur, err))
                return -1;
        } else if (s->mode == MODE_NEAREST) {
            select_nearest(s, od, oh);
        } else {
            select_row(s, od, oh);
        }
        if (s->sink(s->sink_ctx, s->out_row, err) ||
            (s->index_sink && s->index_sink(s->index_ctx, s->index_row, err)))
            return -1;
    }
    if (s->row_in_plane == 0) {
        s->next_out = 0;
        s->plane++;
    }
    return 0;
}

int stage_push(struct pool_stage *s, const void *row, struct pool_error *err)
{
    if (s->block2)
        return push_block2(s, row, err);
    if (s->selects)
        return select_push(s, row, err);
    const struct axis_table *height = &s->axis[AX_H];
    size_t in_d = s->row_in_plane / s->in.size[1], in_h = s->row_in_plane % s->in.size[1];
    reduce_width(s, row);
    if (height->identity) {
        if (height_row_done(s, in_d, in_h, s->reduced, err))
            return -1;
    } else {
        size_t first, last;
        axis_readers(height, in_h, &first, &last);
        for (size_t o = first; o <= last && first <= last; o++)
            if (axis_reads(height, o, in_h))
                combine(s, ring_slot(s->height_ring, s->acc_row_bytes, o, height->max_live),
                        s->reduced, acc_row_elems(s));
        while (s->next_out_h < height->out_len && axis_ready_at(height, s->next_out_h) <= in_h) {
            void *slot = ring_slot(s->height_ring, s->acc_row_bytes, s->next_out_h,
                                   height->max_live);
            if (height_row_done(s, in_d, s->next_out_h, slot, err))
                return -1;
            acc_reset(s->acc, s->mode, slot, acc_row_elems(s));
            s->next_out_h++;
        }
    }
    if (in_h + 1 == s->in.size[1])
        s->next_out_h = 0;
    if (++s->row_in_plane == geom_rows_per_plane(&s->in)) {
        s->row_in_plane = 0;
        s->next_out_d = 0;
    }
    return 0;
}

void stage_free(struct pool_stage *s)
{
    if (!s)
        return;
    for (int i = 0; i < 3; i++)
        axis_table_free(&s->axis[i]);
    free(s->reduced);
    free(s->height_ring);
    free(s->depth_ring);
    free(s->out_row);
    free(s->top_row);
    free(s->kept);
    free(s->window);
    free(s->index_row);
    free(s);
}

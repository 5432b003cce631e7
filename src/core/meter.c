#include "meter.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { AX_D, AX_H, AX_W };

/* One axis of the expansion: which output each input index is compared with, and how many
 * inputs each output is compared with. */
struct axis_map {
    size_t *nearest;            /* in_len entries */
    size_t *count;              /* out_len entries */
    size_t *first;              /* out_len entries: the first input mapped to each output */
};

/* Running sums for one output row whose comparison is not finished: inputs mapped to it
 * may still come, or the row itself has not been emitted yet. Sums are of x - shift, with
 * shift the first input of each output element, so that near-equal values do not cancel. */
struct loss_slot {
    bool busy, emitted;
    size_t row;                 /* the output row (depth * height index within a plane) */
    size_t rows_seen;           /* input rows mapped to it so far */
    double *shift, *s1, *s2, *y;
    /* 8- and 16-bit inputs, exactly: column sums of the input rows mapped to the row
     * (summed across width only once the row is done), and the output row. */
    uint32_t *column_sum;
    int64_t *exact_y;
};

/* Per-channel figures of the output. Floats: running sums of v - shift (the channel's first
 * value) so that near-equal values do not cancel. 8-bit: a histogram. 16-bit: exact sums. */
struct channel_acc {
    size_t n;
    bool nan;
    double min, max, shift, s1, s2;
    uint64_t *histogram;        /* u8 output: 256 counts */
    int64_t isum, imin, imax;   /* u16 output */
    unsigned __int128 isum2;
};

struct pass_meter {
    struct row_geom in, out;
    struct axis_map map[3];
    struct channel_map channels;
    struct channel_acc *chan;
    struct channel_figures *figures;
    double peak;
    size_t out_row_elems;
    struct loss_slot *slots;
    size_t nslots;
    double *in_values, *out_values;
    size_t in_row;              /* position of the next input row within its plane */
    size_t out_row, out_plane;
    double in_min, in_max, sse;
    unsigned __int128 sum_x2;   /* exact: sum of x^2 over every input element */
    __int128 cross;             /* exact: sum over outputs of 2 y s1 - n y^2 */
    size_t compared;
    size_t sample;              /* measure every sample-th output row only (1: all) */
    bool exact;                 /* u8/u16 input whose sums fit (see exact_sums_fit) */
    bool in_nan, lost_track;    /* lost_track: more rows open than planned (a bug guard) */
};

struct channel_map channel_map_of(const struct tensor_shape *s)
{
    const char *c = strchr(s->layout, 'c');
    if (!c)
        return (struct channel_map){1, false};
    size_t axis = (size_t)(c - s->layout);
    /* After the spatial axes (hwc) the channels are interleaved in rows; before them
     * (chw, nchw) c is the last of the axes that make planes. */
    bool after = axis > 0 && strchr("dhwl", s->layout[axis - 1]);
    return (struct channel_map){s->dims[axis], after};
}

/* Doubled centre of output o's real taps; windows without taps get none. */
static bool window_centre2(const struct axis_window *w, size_t *c2)
{
    if (!w->count)
        return false;
    *c2 = 2 * w->first + w->step * (w->count - 1);
    return true;
}

static size_t distance(size_t a, size_t b) { return a > b ? a - b : b - a; }

/* Centres never decrease with o, so one sweep finds each input's nearest output. */
static int axis_map_init(struct axis_map *m, const struct axis_table *t, struct pool_error *err)
{
    m->nearest = calloc(t->in_len, sizeof *m->nearest);
    m->count = calloc(t->out_len, sizeof *m->count);
    m->first = calloc(t->out_len, sizeof *m->first);
    if (!m->nearest || !m->count || !m->first)
        return pool_fail(err, "out of memory for the statistics of a pass");
    size_t best = 0, best_c2 = 0, c2;
    bool any = false;
    for (size_t o = 0; o < t->out_len && !any; o++)
        if (window_centre2(&t->win[o], &best_c2)) {
            best = o;
            any = true;
        }
    for (size_t i = 0; i < t->in_len; i++) {
        for (size_t o = best + 1; o < t->out_len; o++) {
            if (!window_centre2(&t->win[o], &c2))
                continue;
            if (distance(c2, 2 * i) >= distance(best_c2, 2 * i))
                break;
            best = o;
            best_c2 = c2;
        }
        m->nearest[i] = best;
        if (m->count[best]++ == 0)
            m->first[best] = i;
    }
    return 0;
}

/* Input rows of a plane are t = d * H + h; output rows r = od * OH + oh. The first and last
 * input rows compared with output row r, or false when none is. */
static bool mapped_rows(const struct pass_meter *m, size_t r, size_t *first, size_t *last)
{
    size_t oh_len = m->out.size[1], h_len = m->in.size[1];
    size_t od = r / oh_len, oh = r % oh_len;
    const struct axis_map *d = &m->map[AX_D], *h = &m->map[AX_H];
    if (!d->count[od] || !h->count[oh])
        return false;
    size_t d0 = d->first[od], h0 = h->first[oh];
    *first = d0 * h_len + h0;
    *last = (d0 + d->count[od] - 1) * h_len + h0 + h->count[oh] - 1;
    return true;
}

/* The input row after which the stage emits output row r (see stage.c: a slab of a 3-D
 * pass leaves when its depth window closes, at the slab's last output row). */
static size_t emitted_after(const struct axis_table axis[3], size_t r, size_t h_len)
{
    size_t oh_len = axis[AX_H].out_len, od = r / oh_len, oh = r % oh_len;
    if (axis[AX_D].identity)
        return od * h_len + axis[AX_H].ready_at[oh];
    return axis[AX_D].ready_at[od] * h_len + axis[AX_H].ready_at[oh_len - 1];
}

/* How many output rows can be open at once: row r is open from its first event (an input
 * mapped to it, or its emission) to its last; slots are reused in order. */
static int plan_slots(struct pass_meter *m, const struct axis_table axis[3], struct pool_error *err)
{
    size_t rows = m->out.size[0] * m->out.size[1];
    size_t *start = malloc(rows * sizeof *start), *end_max = malloc(rows * sizeof *end_max);
    if (!start || !end_max) {
        free(start);
        free(end_max);
        return pool_fail(err, "out of memory for the statistics of a pass");
    }
    size_t most = 1;
    for (size_t r = 0; r < rows; r++) {
        size_t emit = emitted_after(axis, r, m->in.size[1]), first = emit, last = emit;
        if (mapped_rows(m, r, &first, &last)) {
            first = first < emit ? first : emit;
            last = last > emit ? last : emit;
        }
        start[r] = first;
        end_max[r] = r && end_max[r - 1] > last ? end_max[r - 1] : last;
        /* The oldest row still open when r opens: the first whose end reaches r's start. */
        size_t lo = 0, hi = r;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (end_max[mid] >= start[r])
                hi = mid;
            else
                lo = mid + 1;
        }
        if (r - lo + 1 > most)
            most = r - lo + 1;
    }
    free(start);
    free(end_max);
    m->nslots = most;
    return 0;
}

static int alloc_slots(struct pass_meter *m, struct pool_error *err)
{
    size_t n = m->out_row_elems;
    m->slots = calloc(m->nslots, sizeof *m->slots);
    if (!m->slots)
        return pool_fail(err, "out of memory for the statistics of a pass");
    for (size_t i = 0; i < m->nslots; i++) {
        double *block = malloc(4 * n * sizeof *block);
        uint32_t *columns = malloc(geom_row_elems(&m->in) * sizeof *columns);
        int64_t *exact_y = malloc(n * sizeof *exact_y);
        m->slots[i] = (struct loss_slot){false, false, 0, 0, block, block + n, block + 2 * n,
                                         block + 3 * n, columns, exact_y};
        if (!block || !columns || !exact_y)
            return pool_fail(err, "out of memory for the statistics of a pass");
    }
    return 0;
}

/* 8- and 16-bit inputs are measured in integers when the sums cannot overflow: a column
 * sum of the rows mapped to one output row in 32 bits, and 2 y s1 in 64. */
static bool exact_sums_fit(const struct pass_meter *m)
{
    size_t most[3] = {0, 0, 0};
    for (int a = 0; a < 3; a++)
        for (size_t o = 0; o < m->out.size[a]; o++)
            most[a] = m->map[a].count[o] > most[a] ? m->map[a].count[o] : most[a];
    size_t rows = most[0] * most[1], elements = rows * most[2];
    if (m->in.dtype == DT_U8)
        return rows < ((size_t)1 << 24) && elements < ((size_t)1 << 40);
    return m->in.dtype == DT_U16 && rows < ((size_t)1 << 16) && elements < ((size_t)1 << 30);
}

static double type_range(enum pool_dtype t)
{
    switch (t) {
    case DT_U8: case DT_I8: return 255.0;
    case DT_U16: case DT_I16: return 65535.0;
    case DT_U32: case DT_I32: return 4294967295.0;
    case DT_U64: case DT_I64: return 18446744073709551615.0;
    default: return 0.0;      /* floats: the input's own range */
    }
}

int meter_create(struct pass_meter **out, const struct row_geom *in, const struct row_geom *out_geom,
                 const struct axis_table axis[3], const struct channel_map *channels,
                 double peak, size_t sample, struct pool_error *err)
{
    struct pass_meter *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return pool_fail(err, "out of memory for the statistics of a pass");
    m->in = *in;
    m->out = *out_geom;
    m->channels = *channels;
    m->sample = sample ? sample : 1;
    m->peak = peak > 0 ? peak : type_range(in->dtype);
    m->out_row_elems = geom_row_elems(out_geom);
    m->in_min = INFINITY;
    m->in_max = -INFINITY;
    m->chan = calloc(channels->count, sizeof *m->chan);
    m->figures = calloc(channels->count, sizeof *m->figures);
    m->in_values = malloc(geom_row_elems(in) * sizeof *m->in_values);
    m->out_values = malloc(m->out_row_elems * sizeof *m->out_values);
    if (!m->chan || !m->figures || !m->in_values || !m->out_values) {
        pool_fail(err, "out of memory for the statistics of a pass");
        goto fail;
    }
    for (size_t c = 0; c < channels->count; c++) {
        m->chan[c].imin = INT64_MAX;
        m->chan[c].imax = INT64_MIN;
        if (out_geom->dtype == DT_U8 &&
            !(m->chan[c].histogram = calloc(256, sizeof *m->chan[c].histogram))) {
            pool_fail(err, "out of memory for the statistics of a pass");
            goto fail;
        }
    }
    for (int a = 0; a < 3; a++)
        if (axis_map_init(&m->map[a], &axis[a], err))
            goto fail;
    if (plan_slots(m, axis, err) || alloc_slots(m, err))
        goto fail;
    m->exact = exact_sums_fit(m);
    *out = m;
    return 0;
fail:
    meter_free(m);
    return -1;
}

static struct loss_slot *slot_for(struct pass_meter *m, size_t r)
{
    struct loss_slot *s = &m->slots[r % m->nslots];
    if (s->busy && s->row != r) {
        m->lost_track = true;
        return NULL;
    }
    if (!s->busy) {
        s->busy = true;
        s->emitted = false;
        s->row = r;
        s->rows_seen = 0;
    }
    return s;
}

static size_t rows_expected(const struct pass_meter *m, size_t r)
{
    size_t oh_len = m->out.size[1];
    return m->map[AX_D].count[r / oh_len] * m->map[AX_H].count[r % oh_len];
}

/* Adds the slot's sum of (x - y)^2 = s2 - 2 a s1 + n a^2, with a = y - shift, and frees it.
 * Exact sums give an exact integer. */
static void finish_slot(struct pass_meter *m, struct loss_slot *s)
{
    size_t inner = m->out.inner, ow = m->out.size[2];
    const size_t *cols = m->map[AX_W].count;
    for (size_t k = 0; k < ow; k++) {
        size_t n = s->rows_seen * cols[k];
        if (n == 0)
            continue;
        for (size_t c = k * inner; c < (k + 1) * inner; c++) {
            if (m->exact) {
                int64_t y = s->exact_y[c], s1 = 0;
                const uint32_t *col = s->column_sum + m->map[AX_W].first[k] * inner +
                                      (c - k * inner);
                for (size_t i = 0; i < cols[k]; i++)
                    s1 += col[i * inner];
                m->cross += 2 * y * s1 - (int64_t)n * y * y;
            } else {
                double a = s->y[c] - s->shift[c];
                m->sse += s->s2[c] - 2 * a * s->s1[c] + (double)n * a * a;
            }
        }
        m->compared += n * inner;
    }
    s->busy = false;
}

static void maybe_finish(struct pass_meter *m, struct loss_slot *s)
{
    if (s->emitted && s->rows_seen == rows_expected(m, s->row))
        finish_slot(m, s);
}

/* The first input row compared with a slot sets its shifts: the first value per element. */
static void start_slot_sums(struct pass_meter *m, struct loss_slot *s, const double *x)
{
    size_t inner = m->in.inner, n = m->out_row_elems;
    const size_t *near = m->map[AX_W].nearest;
    memset(s->s1, 0, n * sizeof *s->s1);
    memset(s->s2, 0, n * sizeof *s->s2);
    for (size_t i = 0; i < m->in.size[2]; i++)
        if (i == 0 || near[i - 1] != near[i])
            memcpy(s->shift + near[i] * inner, x + i * inner, inner * sizeof *x);
}

static void track_input_range(struct pass_meter *m, const double *x, size_t n)
{
    double lo = m->in_min, hi = m->in_max;
    bool nan = false;
    for (size_t i = 0; i < n; i++) {
        nan |= x[i] != x[i];
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    m->in_min = lo;
    m->in_max = hi;
    m->in_nan |= nan;
}

/* GCC's -O2 vectorizes only loops whose trip count is a multiple of the vector width. */
#if defined(__GNUC__) && !defined(__clang__)
#define VECTORIZE __attribute__((optimize("vect-cost-model=dynamic")))
#else
#define VECTORIZE
#endif

/* Exact inputs: whole-row loops the compiler can vectorize; the mapping across width is
 * applied once per output row, in finish_slot. */
#define ADD_EXACT(T)                                                                               \
    VECTORIZE static unsigned __int128 add_exact_##T(const T *restrict x, size_t n,                \
                                                     uint32_t *restrict columns)                   \
    {                                                                                              \
        uint64_t sum2 = 0;                                                                         \
        for (size_t i = 0; i < n; i++) {                                                           \
            uint32_t v = x[i];                                                                     \
            columns[i] += v;                                                                       \
            sum2 += (uint64_t)(v * v);                                                             \
        }                                                                                          \
        return sum2;                                                                               \
    }
ADD_EXACT(uint8_t)
ADD_EXACT(uint16_t)

static void add_shifted(const double *x, const size_t *near, size_t width, size_t inner,
                        struct loss_slot *s)
{
    for (size_t i = 0; i < width; i++) {
        size_t base = near[i] * inner;
        for (size_t c = 0; c < inner; c++) {
            double v = x[i * inner + c] - s->shift[base + c];
            s->s1[base + c] += v;
            s->s2[base + c] += v * v;
        }
    }
}

static void add_input_row(struct pass_meter *m, struct loss_slot *s, const void *row)
{
    size_t inner = m->in.inner, width = m->in.size[2];
    const size_t *near = m->map[AX_W].nearest;
    if (m->exact) {
        size_t n = width * inner;
        if (s->rows_seen == 0)
            memset(s->column_sum, 0, n * sizeof *s->column_sum);
        m->sum_x2 += m->in.dtype == DT_U8 ? add_exact_uint8_t(row, n, s->column_sum)
                                          : add_exact_uint16_t(row, n, s->column_sum);
        return;
    }
    if (s->rows_seen == 0)
        start_slot_sums(m, s, m->in_values);
    add_shifted(m->in_values, near, width, inner, s);
}

void meter_input_row(struct pass_meter *m, const void *row)
{
    size_t width = m->in.size[2], h_len = m->in.size[1];
    size_t d = m->in_row / h_len, h = m->in_row % h_len;
    size_t r = m->map[AX_D].nearest[d] * m->out.size[1] + m->map[AX_H].nearest[h];
    if (++m->in_row == m->in.size[0] * h_len)
        m->in_row = 0;
    if (r % m->sample)
        return;
    /* Integer types have a fixed peak; only floats need their range (and doubles). */
    if (!m->exact) {
        dtype_row_to_double(m->in.dtype, row, m->in_values, width * m->in.inner);
        track_input_range(m, m->in_values, width * m->in.inner);
    }
    struct loss_slot *s = slot_for(m, r);
    if (s) {
        add_input_row(m, s, row);
        s->rows_seen++;
        maybe_finish(m, s);
    }
}

static void add_to_channel(struct channel_acc *a, double v)
{
    if (v != v) {
        a->nan = true;
        return;
    }
    if (a->n++ == 0)
        a->min = a->max = a->shift = v;
    a->min = v < a->min ? v : a->min;
    a->max = v > a->max ? v : a->max;
    double d = v - a->shift;
    a->s1 += d;
    a->s2 += d * d;
}

/* Elements first, first + step, ... (n of them) of channel a. */
static void channel_floats(struct channel_acc *a, const double *y, size_t first, size_t n,
                           size_t step)
{
    for (size_t i = first; i < n; i += step)
        add_to_channel(a, y[i]);
}

static void channel_u8(struct channel_acc *a, const uint8_t *y, size_t first, size_t n,
                       size_t step)
{
    for (size_t i = first; i < n; i += step)
        a->histogram[y[i]]++;
}

static void channel_u16(struct channel_acc *a, const uint16_t *y, size_t first, size_t n,
                        size_t step)
{
    int64_t lo = a->imin, hi = a->imax, sum = 0;
    unsigned __int128 sum2 = 0;
    for (size_t i = first; i < n; i += step) {
        int64_t v = y[i];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
        sum2 += (uint64_t)(v * v);
    }
    a->imin = lo;
    a->imax = hi;
    a->isum += sum;
    a->isum2 += sum2;
    a->n += (n - first + step - 1) / step;
}

static void track_channel(struct pass_meter *m, struct channel_acc *a, const void *row,
                          size_t first, size_t step)
{
    size_t n = m->out_row_elems;
    if (m->out.dtype == DT_U8)
        channel_u8(a, row, first, n, step);
    else if (m->out.dtype == DT_U16)
        channel_u16(a, row, first, n, step);
    else
        channel_floats(a, m->out_values, first, n, step);
}

static void track_channels(struct pass_meter *m, const void *row, size_t plane)
{
    if (m->channels.interleaved)
        for (size_t c = 0; c < m->channels.count; c++)
            track_channel(m, &m->chan[c], row, c, m->channels.count);
    else
        track_channel(m, &m->chan[plane % m->channels.count], row, 0, 1);
}

static void keep_output_row(struct pass_meter *m, struct loss_slot *s, const void *row)
{
    size_t n = m->out_row_elems;
    if (!m->exact) {
        memcpy(s->y, m->out_values, n * sizeof *s->y);
        return;
    }
    for (size_t i = 0; i < n; i++)
        s->exact_y[i] = m->out.dtype == DT_U8 ? ((const uint8_t *)row)[i]
                                              : ((const uint16_t *)row)[i];
}

void meter_output_row(struct pass_meter *m, const void *row)
{
    size_t r = m->out_row, plane = m->out_plane;
    if (++m->out_row == m->out.size[0] * m->out.size[1]) {
        m->out_row = 0;
        m->out_plane++;
    }
    if (r % m->sample)
        return;
    bool integer = m->out.dtype == DT_U8 || m->out.dtype == DT_U16;
    if (!integer || !m->exact)
        dtype_row_to_double(m->out.dtype, row, m->out_values, m->out_row_elems);
    if (m->sample == 1)
        track_channels(m, row, plane);
    struct loss_slot *s = slot_for(m, r);
    if (s) {
        keep_output_row(m, s, row);
        s->emitted = true;
        maybe_finish(m, s);
    }
}

/* Figures from exact integer sums: var = (n s2 - s1^2) / n^2. */
static struct channel_figures exact_figures(size_t n, int64_t lo, int64_t hi, __int128 sum,
                                            unsigned __int128 sum2)
{
    if (!n)
        return (struct channel_figures){NAN, NAN, NAN, NAN};
    unsigned __int128 spread = (unsigned __int128)n * sum2 - (unsigned __int128)(sum * sum);
    return (struct channel_figures){(double)lo, (double)hi, (double)sum / (double)n,
                                    sqrt((double)spread) / (double)n};
}

static struct channel_figures histogram_figures(const uint64_t *h)
{
    size_t n = 0;
    int64_t lo = -1, hi = 0;
    __int128 sum = 0;
    unsigned __int128 sum2 = 0;
    for (int v = 0; v < 256; v++) {
        if (!h[v])
            continue;
        lo = lo < 0 ? v : lo;
        hi = v;
        n += h[v];
        sum += (__int128)h[v] * v;
        sum2 += (unsigned __int128)h[v] * (unsigned)(v * v);
    }
    return exact_figures(n, lo, hi, sum, sum2);
}

static struct channel_figures channel_result(const struct pass_meter *m,
                                             const struct channel_acc *a)
{
    if (m->out.dtype == DT_U8)
        return histogram_figures(a->histogram);
    if (m->out.dtype == DT_U16)
        return exact_figures(a->n, a->imin, a->imax, a->isum, a->isum2);
    if (a->nan || !a->n)
        return (struct channel_figures){NAN, NAN, NAN, NAN};
    double n = (double)a->n, mean = a->s1 / n, var = a->s2 / n - mean * mean;
    return (struct channel_figures){a->min, a->max, a->shift + mean, sqrt(var > 0 ? var : 0)};
}

void meter_figures(struct pass_meter *m, struct meter_figures *f)
{
    for (size_t c = 0; c < m->channels.count; c++)
        m->figures[c] = channel_result(m, &m->chan[c]);
    f->channels = m->channels.count;
    f->channel = m->figures;
    double sse = m->exact ? (double)(m->sum_x2 - (unsigned __int128)m->cross)
                          : m->sse > 0 ? m->sse : 0;
    f->mse = m->lost_track || !m->compared ? NAN : sse / (double)m->compared;
    f->rmse = sqrt(f->mse);
    f->peak = m->peak > 0 ? m->peak : m->in_nan ? NAN : m->in_max - m->in_min;
    f->psnr = f->mse == 0 ? INFINITY : 10.0 * log10(f->peak * f->peak / f->mse);
}

void meter_free(struct pass_meter *m)
{
    if (!m)
        return;
    for (int a = 0; a < 3; a++) {
        free(m->map[a].nearest);
        free(m->map[a].count);
        free(m->map[a].first);
    }
    for (size_t i = 0; m->slots && i < m->nslots; i++) {
        free(m->slots[i].shift);
        free(m->slots[i].column_sum);
        free(m->slots[i].exact_y);
    }
    free(m->slots);
    for (size_t c = 0; m->chan && c < m->channels.count; c++)
        free(m->chan[c].histogram);
    free(m->chan);
    free(m->figures);
    free(m->in_values);
    free(m->out_values);
    free(m);
}

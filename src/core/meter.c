#include "meter.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { AX_D, AX_H, AX_W };

/* One remembered answer of nearest_of (index SIZE_MAX: none). */
struct recent_nearest {
    size_t index, output;
};

/* One axis of the expansion: which output each input index is compared with, and how many
 * inputs each output is compared with. For a stack of passes the pairing is composed: an
 * input's output in pass 1, that output's in pass 2, and so on (so -k 8 and -k 2 -r 3,
 * which write the same output, pair alike). */
struct axis_map {
    const struct axis_table **level; /* the axis's table in each pass, the first first */
    size_t nlevels;
    /* Each input's output is found among a few neighbours of its readers (lazy_nearest).
     * Width, walked for every row, keeps every answer (in_len and out_len entries). Height
     * and depth, which stream, keep answers as they are asked for (MEMO_UNSET until then)
     * when the axis is at most MEMO_AXIS_MAX long, and store nothing beyond that, so
     * memory stays flat in the image's height and no work follows a declared size. */
    uint32_t *nearest, *count;
    /* Longer streamed axes: the answers near the last ones asked for, by index modulo a
     * power of two a few times an output's input_range (count_of asks for every input in
     * that range, and the next output's range overlaps it). Not growing with the axis. */
    struct recent_nearest *recent;
    size_t recent_mask;
};

/* Running sums for one output row whose comparison is not finished: inputs mapped to it
 * may still come, or the row itself has not been emitted yet. Sums are of x - shift, with
 * shift the first input of each output element, so that near-equal values do not cancel. */
struct loss_slot {
    bool busy, emitted;
    size_t row;           /* the output row (depth * height index within a plane) */
    size_t rows_seen;     /* input rows mapped to it so far */
    size_t rows_expected; /* and how many will be */
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
    uint64_t *histogram;      /* u8 output: 256 counts */
    int64_t isum, imin, imax; /* u16 output */
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
    int64_t *row_s1; /* exact: one output row's sums, while a slot finishes */
    size_t in_row;   /* position of the next input row within its plane */
    size_t out_row, out_plane;
    double in_min, in_max, sse;
    unsigned __int128 sum_x2; /* exact: sum of x^2 over every input element */
    __int128 cross;           /* exact: sum over outputs of 2 y s1 - n y^2 */
    size_t compared;
    size_t sample;           /* measure every sample-th output row only (1: all) */
    bool exact;              /* u8/u16 input whose sums fit (see exact_sums_fit) */
    bool row_cross_fits;     /* exact: one output row's part of cross fits in 64 bits */
    bool width_runs;         /* width's nearest is nondecreasing: each output, one run */
    bool channel_figures;    /* else a warning's estimate, or a stack's loss only */
    bool in_nan, lost_track; /* lost_track: out of memory for open rows */
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
static bool window_centre2(const struct axis_table *t, size_t o, size_t *c2)
{
    struct axis_window w = axis_window_at(t, o);
    if (!w.count)
        return false;
    *c2 = 2 * w.first + w.step * (w.count - 1);
    return true;
}

static size_t distance(size_t a, size_t b) { return a > b ? a - b : b - a; }

/* How far around an input's readers its nearest centre may be, in outputs. */
static size_t search_radius(const struct axis_table *t) { return t->reach + 2; }

/* The nearest centre to input i in one pass, among outputs within search_radius of the
 * outputs that read it (or of the two around it, in a gap): centres sit about a stride
 * apart and at most half a dilated kernel from where their windows start, so no farther
 * output can be nearer. */
static size_t pass_nearest(const struct axis_table *t, size_t i)
{
    size_t f, l, c2, radius = search_radius(t);
    axis_readers(t, i, &f, &l);
    size_t lo = f < l ? f : l, hi = f > l ? f : l;
    lo = lo > radius ? lo - radius : 0;
    hi = hi + radius < t->out_len ? hi + radius : t->out_len - 1;
    lo = lo < hi ? lo : hi;
    /* Ties go to the first output as the axis is read: the last for a reversed axis (an
     * EXIF-turned image's), so that its figures are the upright image's. */
    bool last_wins = t->params.reversed;
    size_t best = t->out_len, best_d = 0;
    for (size_t o = lo; o <= hi; o++)
        if (window_centre2(t, o, &c2) && (best == t->out_len || distance(c2, 2 * i) < best_d ||
                                          (last_wins && distance(c2, 2 * i) == best_d))) {
            best = o;
            best_d = distance(c2, 2 * i);
        }
    for (size_t k = 0; best == t->out_len && k < t->out_len; k++) { /* no taps near: rare */
        size_t o = last_wins ? t->out_len - 1 - k : k;
        if (window_centre2(t, o, &c2))
            best = o;
    }
    return best == t->out_len ? 0 : best;
}

/* Where pass j's input holds pass j-1's outputs: from its start, or after the copies
 * --edge replicate puts first on an axis read backwards (extend.h), where the upright
 * image's far edge is. Without copies, 0. */
static size_t level_offset(const struct axis_map *m, size_t j)
{
    const struct axis_table *t = m->level[j];
    size_t before = m->level[j - 1]->out_len;
    return t->params.reversed && t->in_len > before ? t->in_len - before : 0;
}

/* Input i's output at the end of the stack. The copies of --edge replicate are never an
 * i here: each pass reads its predecessor's outputs. */
static size_t lazy_nearest(const struct axis_map *m, size_t i)
{
    for (size_t j = 0; j < m->nlevels; j++)
        i = pass_nearest(m->level[j], i + (j ? level_offset(m, j) : 0));
    return i;
}

#define MEMO_AXIS_MAX ((size_t)1 << 16)
#define MEMO_UNSET UINT32_MAX

static size_t nearest_of(struct axis_map *m, size_t i)
{
    if (m->recent) {
        struct recent_nearest *r = &m->recent[i & m->recent_mask];
        if (r->index != i)
            *r = (struct recent_nearest){i, lazy_nearest(m, i)};
        return r->output;
    }
    if (!m->nearest)
        return lazy_nearest(m, i);
    if (m->nearest[i] == MEMO_UNSET)
        m->nearest[i] = (uint32_t)lazy_nearest(m, i);
    return m->nearest[i];
}

/* Inputs paired with output o in one pass lie within (radius + 1) strides and a dilated
 * kernel of its window (the converse of pass_nearest's search). */
static void pass_input_range(const struct axis_table *t, size_t o, size_t *first, size_t *last)
{
    const struct axis_params *a = &t->params;
    size_t r = search_radius(t) + 1;
    double lo, hi;
    if (a->adaptive_out) {
        double scale = (double)t->in_len / (double)t->out_len;
        lo = ((double)o - (double)r) * scale - 1;
        hi = ((double)o + (double)r + 1) * scale + 1;
    } else {
        double span = (double)((a->kernel - 1) * (t->dilated ? a->dilation : 1));
        lo = ((double)o - (double)r) * (double)a->stride - (double)axis_lead(a) - span;
        hi = ((double)o + (double)r) * (double)a->stride + span;
    }
    *first = lo < 0 ? 0 : (size_t)lo;
    *last = hi >= (double)(t->in_len - 1) ? t->in_len - 1 : (size_t)hi;
}

/* The stack's: each pass's range of its range's ends, from the last pass back (the ends
 * move monotonically with o), each moved past the copies before the predecessor's outputs
 * (level_offset) and clipped to the outputs the pass before has. */
static size_t input_range(const struct axis_map *m, size_t o, size_t *first, size_t *last)
{
    size_t f = o, l = o, ignored;
    for (size_t j = m->nlevels; j-- > 0 && f <= l;) {
        pass_input_range(m->level[j], f, &f, &ignored);
        pass_input_range(m->level[j], l, &ignored, &l);
        if (!j)
            break;
        size_t skip = level_offset(m, j), end = m->level[j - 1]->out_len - 1;
        if (l < skip) { /* only copies: no input of the stack */
            f = 1;
            l = 0;
            break;
        }
        f = f > skip ? f - skip : 0;
        l -= skip;
        l = l < end ? l : end;
    }
    *first = f;
    *last = l;
    return l >= f ? l - f + 1 : 0;
}

static size_t count_of(struct axis_map *m, size_t o)
{
    if (m->count && m->count[o] != MEMO_UNSET)
        return m->count[o];
    size_t first, last, n = 0;
    input_range(m, o, &first, &last);
    for (size_t i = first; i <= last && first <= last; i++)
        n += nearest_of(m, i) == o;
    if (m->count)
        m->count[o] = (uint32_t)n;
    return n;
}

#define RECENT_MAX ((size_t)1 << 16)

static int recent_init(struct axis_map *m, struct pool_error *err)
{
    size_t first, last, size = 64;
    size_t span = input_range(m, m->level[m->nlevels - 1]->out_len / 2, &first, &last);
    while (size < 4 * span && size < RECENT_MAX)
        size *= 2;
    m->recent = malloc(size * sizeof *m->recent);
    if (!m->recent)
        return pool_fail_resource(err, "out of memory for the statistics of a pass");
    for (size_t i = 0; i < size; i++)
        m->recent[i] = (struct recent_nearest){SIZE_MAX, 0};
    m->recent_mask = size - 1;
    return 0;
}

/* streamed: height or depth (memo, or recent answers when long); else width (every answer
 * now).
 * axis: 0, 1 or 2, this axis's table in each level's three. */
static int axis_map_init(struct axis_map *m, const struct meter_level *levels, size_t nlevels,
                         int axis, bool streamed, struct pool_error *err)
{
    m->level = malloc(nlevels * sizeof *m->level);
    if (!m->level)
        return pool_fail_resource(err, "out of memory for the statistics of a pass");
    m->nlevels = nlevels;
    for (size_t j = 0; j < nlevels; j++)
        m->level[j] = &levels[j].axes[axis];
    size_t in_len = m->level[0]->in_len, out_len = m->level[nlevels - 1]->out_len;
    if (streamed && (in_len > MEMO_AXIS_MAX || out_len > MEMO_AXIS_MAX))
        return recent_init(m, err);
    if (in_len >= MEMO_UNSET || out_len >= MEMO_UNSET)
        return pool_fail(err, "an axis of 2^32 elements or more is too long for statistics");
    m->nearest = malloc(in_len * sizeof *m->nearest);
    m->count = malloc(out_len * sizeof *m->count);
    if (!m->nearest || !m->count)
        return pool_fail_resource(err, "out of memory for the statistics of a pass");
    memset(m->nearest, 0xff, in_len * sizeof *m->nearest); /* MEMO_UNSET */
    if (streamed) {
        memset(m->count, 0xff, out_len * sizeof *m->count);
        return 0;
    }
    memset(m->count, 0, out_len * sizeof *m->count);
    for (size_t i = 0; i < in_len; i++)
        m->count[nearest_of(m, i)]++;
    return 0;
}

static void free_slot_buffers(struct loss_slot *s)
{
    free(s->shift);
    free(s->column_sum);
    free(s->exact_y);
}

static bool alloc_slot_buffers(const struct pass_meter *m, struct loss_slot *s)
{
    size_t n = m->out_row_elems;
    double *block = malloc(4 * n * sizeof *block);
    uint32_t *columns = malloc(geom_row_elems(&m->in) * sizeof *columns);
    int64_t *exact_y = malloc(n * sizeof *exact_y);
    *s = (struct loss_slot){false,         false,         0,       0,      0, block, block + n,
                            block + 2 * n, block + 3 * n, columns, exact_y};
    if (block && columns && exact_y)
        return true;
    free_slot_buffers(s);
    memset(s, 0, sizeof *s);
    return false;
}

/* Open rows live in a ring indexed by row % nslots. When a row meets a busy slot, the ring
 * doubles and its rows move to their new places (doubling again while any collide): it
 * grows to what the pass keeps open at once, a few rows for 2-D, about a slab for 3-D. */
static bool grow_slots(struct pass_meter *m)
{
    for (size_t cap = 2 * m->nslots;; cap *= 2) {
        struct loss_slot *ring = calloc(cap, sizeof *ring);
        if (!ring)
            return false;
        bool collided = false;
        for (size_t i = 0; i < m->nslots && !collided; i++) {
            struct loss_slot *s = &m->slots[i];
            if (!s->busy)
                continue;
            collided = ring[s->row % cap].busy;
            ring[s->row % cap] = *s;
        }
        if (collided) {
            free(ring);
            continue;
        }
        /* Idle slots bring their buffers to the free places; the rest get new ones. */
        size_t spare = 0;
        for (size_t i = 0; i < m->nslots; i++) {
            if (m->slots[i].busy)
                continue;
            while (ring[spare].busy || ring[spare].shift)
                spare++;
            ring[spare] = m->slots[i];
        }
        bool ok = true;
        for (size_t i = 0; i < cap; i++)
            if (!ring[i].shift)
                ok &= alloc_slot_buffers(m, &ring[i]);
        free(m->slots);
        m->slots = ring;
        m->nslots = cap;
        return ok;
    }
}

/* 8- and 16-bit inputs are measured in integers when the sums cannot overflow: a column
 * sum of the rows mapped to one output row in 32 bits, and 2 y s1 in 64. */
static bool exact_sums_fit(struct pass_meter *m)
{
    size_t most[3] = {0, 0, 0}, first, last;
    for (int a = 0; a < 3; a++)
        if (a == AX_W)
            for (size_t o = 0; o < m->out.size[a]; o++)
                most[a] = m->map[a].count[o] > most[a] ? m->map[a].count[o] : most[a];
        else /* a bound: the inputs that could pair with one output */
            most[a] = input_range(&m->map[a], m->out.size[a] / 2, &first, &last) + 1;
    size_t rows = most[0] * most[1], elements = rows * most[2];
    if (m->in.dtype == DT_U8)
        return rows < ((size_t)1 << 24) && elements < ((size_t)1 << 40);
    return m->in.dtype == DT_U16 && rows < ((size_t)1 << 16) && elements < ((size_t)1 << 30);
}

/* An output row's terms 2 y s1 - n y^2 each lie within n peak^2 (s1 <= n peak), and their
 * n add up to at most the rows mapped to the row times an input row's elements. */
static bool row_cross_fits(const struct pass_meter *m)
{
    size_t first, last;
    size_t rows = (input_range(&m->map[AX_D], m->out.size[0] / 2, &first, &last) + 1) *
                  (input_range(&m->map[AX_H], m->out.size[1] / 2, &first, &last) + 1);
    double peak = m->in.dtype == DT_U8 ? 255.0 : 65535.0;
    return (double)rows * (double)geom_row_elems(&m->in) * peak * peak < 0x1p62;
}

/* Images' peak: the range of their 8- or 16-bit codes. Other data (floats, wide integers
 * that are feature values rather than codes) use the input's own max - min. */
static double type_range(enum pool_dtype t)
{
    switch (t) {
    case DT_U8:
    case DT_I8: return 255.0;
    case DT_U16:
    case DT_I16: return 65535.0;
    default: return 0.0;
    }
}

/* An estimate reads one output row in this many: about estimate_rows of them, and at most
 * half of an image's (so that it costs at most half the exact figure: a folder of small
 * photos is where a warning's cost shows); every row of a small image (a quarter of
 * estimate_rows or fewer), which is cheap. */
static size_t sample_step(size_t out_rows, size_t estimate_rows)
{
    if (!estimate_rows || out_rows <= estimate_rows / 4)
        return 1;
    size_t step = out_rows / estimate_rows;
    return step < 2 ? 2 : step;
}

size_t meter_memory(const struct row_geom *in, const struct row_geom *out)
{
    size_t in_row = geom_row_elems(in), out_row = geom_row_elems(out), bytes;
    /* (depth and height keep at most MEMO_AXIS_MAX, or RECENT_MAX, answers) */
    size_t lengths = in->size[2] + out->size[2] + 4 * MEMO_AXIS_MAX;
    /* input and output values, row sums; a slot's four blocks, columns and exact sums;
     * each axis's nearest map and counts */
    size_t slot = 4 * out_row * sizeof(double) + in_row * sizeof(uint32_t) + out_row * 8;
    bool overflow = __builtin_mul_overflow(slot, METER_SLOTS_WEIGHED, &bytes) ||
                    __builtin_add_overflow(bytes, in_row * sizeof(double), &bytes) ||
                    __builtin_add_overflow(bytes, 2 * out_row * sizeof(double), &bytes) ||
                    __builtin_add_overflow(
                        bytes, lengths * sizeof(uint32_t) + lengths * sizeof(size_t), &bytes);
    return overflow ? SIZE_MAX : bytes;
}

int meter_create(struct pass_meter **out, const struct row_geom *in,
                 const struct row_geom *out_geom, const struct meter_level *levels, size_t nlevels,
                 const struct meter_setup *setup, struct pool_error *err)
{
    const struct channel_map *channels = &setup->channels;
    size_t estimate_rows = setup->estimate_rows;
    double peak = setup->peak;
    struct pass_meter *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return pool_fail_resource(err, "out of memory for the statistics of a pass");
    m->in = *in;
    m->out = *out_geom;
    m->channels = *channels;
    size_t out_rows = out_geom->planes * out_geom->size[0] * out_geom->size[1];
    m->sample = sample_step(out_rows, estimate_rows);
    m->peak = peak > 0 ? peak : type_range(in->dtype);
    m->out_row_elems = geom_row_elems(out_geom);
    m->in_min = INFINITY;
    m->in_max = -INFINITY;
    m->chan = calloc(channels->count, sizeof *m->chan);
    m->figures = calloc(channels->count, sizeof *m->figures);
    m->in_values = malloc(geom_row_elems(in) * sizeof *m->in_values);
    m->out_values = malloc(m->out_row_elems * sizeof *m->out_values);
    m->row_s1 = malloc(m->out_row_elems * sizeof *m->row_s1);
    m->slots = calloc(1, sizeof *m->slots);
    m->nslots = 1;
    if (!m->chan || !m->figures || !m->in_values || !m->out_values || !m->row_s1 || !m->slots ||
        !alloc_slot_buffers(m, &m->slots[0])) {
        pool_fail_resource(err, "out of memory for the statistics of a pass");
        goto fail;
    }
    for (size_t c = 0; c < channels->count; c++) {
        m->chan[c].imin = INT64_MAX;
        m->chan[c].imax = INT64_MIN;
        if (out_geom->dtype == DT_U8 &&
            !(m->chan[c].histogram = calloc(256, sizeof *m->chan[c].histogram))) {
            pool_fail_resource(err, "out of memory for the statistics of a pass");
            goto fail;
        }
    }
    for (int a = 0; a < 3; a++)
        if (axis_map_init(&m->map[a], levels, nlevels, a, a != AX_W, err))
            goto fail;
    m->exact = exact_sums_fit(m);
    m->row_cross_fits = row_cross_fits(m);
    m->width_runs = true;
    for (size_t i = 1; i < in->size[2]; i++)
        m->width_runs &= m->map[AX_W].nearest[i] >= m->map[AX_W].nearest[i - 1];
    m->channel_figures = !estimate_rows && !setup->loss_only;
    *out = m;
    return 0;
fail:
    meter_free(m);
    return -1;
}

static size_t rows_expected(struct pass_meter *m, size_t r)
{
    size_t oh_len = m->out.size[1];
    return count_of(&m->map[AX_D], r / oh_len) * count_of(&m->map[AX_H], r % oh_len);
}

static struct loss_slot *slot_for(struct pass_meter *m, size_t r)
{
    /* A ring that could not grow holds slots without buffers: no row goes on from there. */
    if (m->lost_track)
        return NULL;
    struct loss_slot *s = &m->slots[r % m->nslots];
    if (s->busy && s->row != r) {
        if (!grow_slots(m)) {
            m->lost_track = true; /* out of memory: the loss is then unknown */
            return NULL;
        }
        return slot_for(m, r);
    }
    if (!s->busy) {
        s->busy = true;
        s->emitted = false;
        s->row = r;
        s->rows_seen = 0;
        s->rows_expected = rows_expected(m, r);
    }
    return s;
}

/* Exact inputs: the slot's column sums, gathered across width into per-output sums. */
static void gather_columns(struct pass_meter *m, const struct loss_slot *s)
{
    size_t inner = m->in.inner;
    const uint32_t *near = m->map[AX_W].nearest;
    memset(m->row_s1, 0, m->out_row_elems * sizeof *m->row_s1);
    for (size_t i = 0; i < m->in.size[2]; i++) {
        int64_t *dst = m->row_s1 + (size_t)near[i] * inner;
        const uint32_t *src = s->column_sum + i * inner;
        for (size_t c = 0; c < inner; c++)
            dst[c] += src[c];
    }
}

/* One output column's terms: its run of len input columns' sums, against its values y. */
static inline int64_t run_terms(const uint32_t *col, const int64_t *y, size_t len, int64_t n,
                                size_t inner)
{
    int64_t s1[4] = {0, 0, 0, 0}, total = 0;
    for (size_t j = 0; j < len; j++, col += inner)
        for (size_t c = 0; c < inner; c++)
            s1[c] += col[c];
    for (size_t c = 0; c < inner; c++)
        total += y[c] * (2 * s1[c] - n * y[c]);
    return total;
}

/* Exact inputs whose width pairs each output column with one run of input columns (see
 * width_runs) and whose row sum fits (row_cross_fits): the row's part of cross, summing each
 * run's column sums as it goes, in one walk without the gather buffer. Pixels of 1 to 4
 * channels get loops of a constant channel count, which the compiler unrolls. */
static int64_t runs_cross(const struct pass_meter *m, const struct loss_slot *s)
{
    size_t inner = m->out.inner, ow = m->out.size[2];
    const uint32_t *cols = m->map[AX_W].count, *col = s->column_sum;
    const int64_t *y = s->exact_y;
    int64_t total = 0;
    for (size_t k = 0; k < ow; k++, y += inner) {
        int64_t n = (int64_t)(s->rows_seen * cols[k]);
        switch (inner) {
        case 1: total += run_terms(col, y, cols[k], n, 1); break;
        case 2: total += run_terms(col, y, cols[k], n, 2); break;
        case 3: total += run_terms(col, y, cols[k], n, 3); break;
        case 4: total += run_terms(col, y, cols[k], n, 4); break;
        default:
            for (size_t c = 0; c < inner; c++) {
                int64_t s1 = 0;
                for (size_t j = 0; j < cols[k]; j++)
                    s1 += col[j * inner + c];
                total += y[c] * (2 * s1 - n * y[c]);
            }
        }
        col += cols[k] * inner;
    }
    return total;
}

/* Adds the slot's sum of (x - y)^2 = s2 - 2 a s1 + n a^2 and frees it: with a = y - shift
 * for floats; exact inputs keep sum x^2 apart and add 2 y s1 - n y^2 here. */
static void finish_slot(struct pass_meter *m, struct loss_slot *s)
{
    size_t inner = m->out.inner, ow = m->out.size[2];
    const uint32_t *cols = m->map[AX_W].count;
    s->busy = false;
    if (s->rows_seen == 0) /* no input row is nearest to it (more outputs than inputs) */
        return;
    if (m->exact && m->row_cross_fits && m->width_runs) {
        m->cross += runs_cross(m, s);
        m->compared += s->rows_seen * geom_row_elems(&m->in);
        return;
    }
    /* (sums kept in locals: the compiler cannot keep m's in registers across the stores) */
    __int128 cross = 0;
    double sse = 0;
    size_t compared = 0;
    if (m->exact)
        gather_columns(m, s);
    for (size_t k = 0; k < ow; k++) {
        size_t n = s->rows_seen * cols[k];
        if (n == 0)
            continue;
        if (m->exact) {
            for (size_t c = k * inner; c < (k + 1) * inner; c++) {
                int64_t y = s->exact_y[c];
                cross += 2 * y * m->row_s1[c] - (int64_t)n * y * y;
            }
        } else {
            for (size_t c = k * inner; c < (k + 1) * inner; c++) {
                double a = s->y[c] - s->shift[c];
                sse += s->s2[c] - 2 * a * s->s1[c] + (double)n * a * a;
            }
        }
        compared += n * inner;
    }
    m->cross += cross;
    m->sse += sse;
    m->compared += compared;
}

static void maybe_finish(struct pass_meter *m, struct loss_slot *s)
{
    if (s->emitted && s->rows_seen == s->rows_expected)
        finish_slot(m, s);
}

/* The first input row compared with a slot sets its shifts: the first value per element. */
static void start_slot_sums(struct pass_meter *m, struct loss_slot *s, const double *x)
{
    size_t inner = m->in.inner, n = m->out_row_elems;
    const uint32_t *near = m->map[AX_W].nearest;
    memset(s->s1, 0, n * sizeof *s->s1);
    memset(s->s2, 0, n * sizeof *s->s2);
    for (size_t i = 0; i < m->in.size[2]; i++)
        if (i == 0 || near[i - 1] != near[i])
            memcpy(s->shift + (size_t)near[i] * inner, x + i * inner, inner * sizeof *x);
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

static void add_shifted(const double *x, const uint32_t *near, size_t width, size_t inner,
                        struct loss_slot *s)
{
    for (size_t i = 0; i < width; i++) {
        size_t base = (size_t)near[i] * inner;
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
    const uint32_t *near = m->map[AX_W].nearest;
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

/* An estimate reads one output row in `sample`, picked by a hash of the row's number
 * rather than every sample-th: a regular pick falls in step with regular content (lines
 * of text, a grid) and errs by dB. */
static bool sampled(const struct pass_meter *m, size_t r)
{
    return m->sample == 1 || ((uint64_t)r * 0x9E3779B97F4A7C15u >> 40) % m->sample == 0;
}

void meter_input_row(struct pass_meter *m, const void *row)
{
    size_t width = m->in.size[2], h_len = m->in.size[1];
    size_t d = m->in_row / h_len, h = m->in_row % h_len;
    size_t r = nearest_of(&m->map[AX_D], d) * m->out.size[1] + nearest_of(&m->map[AX_H], h);
    if (++m->in_row == m->in.size[0] * h_len)
        m->in_row = 0;
    if (!sampled(m, r))
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

static void channel_u8(struct channel_acc *a, const uint8_t *y, size_t first, size_t n, size_t step)
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
    if (!sampled(m, r))
        return;
    bool integer = m->out.dtype == DT_U8 || m->out.dtype == DT_U16;
    if (!integer || !m->exact)
        dtype_row_to_double(m->out.dtype, row, m->out_values, m->out_row_elems);
    if (m->channel_figures)
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
    return (struct channel_figures){a->min, a->max, a->shift + mean, sqrt(var < 0 ? 0 : var)};
}

void meter_figures(struct pass_meter *m, struct meter_figures *f)
{
    for (size_t c = 0; c < m->channels.count; c++)
        m->figures[c] = channel_result(m, &m->chan[c]);
    f->channels = m->channels.count;
    f->channel = m->figures;
    /* Rounding can leave a float sum a hair below 0; NaN (NaN or inf inputs) stays. */
    double sse = m->exact     ? (double)(m->sum_x2 - (unsigned __int128)m->cross)
                 : m->sse < 0 ? 0
                              : m->sse;
    f->mse = m->lost_track || !m->compared ? NAN : sse / (double)m->compared;
    f->rmse = sqrt(f->mse);
    f->peak = m->peak > 0 ? m->peak : m->in_nan ? NAN : m->in_max - m->in_min;
    f->psnr = f->mse == 0 ? INFINITY : 10.0 * log10(f->peak * f->peak / f->mse);
    f->estimated = m->sample > 1;
    f->out_of_memory = m->lost_track;
}

void meter_free(struct pass_meter *m)
{
    if (!m)
        return;
    for (int a = 0; a < 3; a++) {
        free(m->map[a].level);
        free(m->map[a].recent);
        free(m->map[a].nearest);
        free(m->map[a].count);
    }
    for (size_t i = 0; m->slots && i < m->nslots; i++)
        free_slot_buffers(&m->slots[i]);
    free(m->row_s1);
    free(m->slots);
    for (size_t c = 0; m->chan && c < m->channels.count; c++)
        free(m->chan[c].histogram);
    free(m->chan);
    free(m->figures);
    free(m->in_values);
    free(m->out_values);
    free(m);
}

#include "window.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Adaptive pooling (PyTorch AdaptivePooling.h): start = floor(o*L/O), end = ceil((o+1)*L/O). */
static struct axis_window adaptive_window(size_t o, size_t out_len, size_t len)
{
    unsigned __int128 L = len, O = out_len;
    size_t start = (size_t)(o * L / O);
    size_t end = (size_t)(((o + 1) * L + O - 1) / O);
    return (struct axis_window){start, end - start, 1, end - start};
}

/* Max, min, mode, median and nearest: taps a + j*d for j < k, where a = o*s - p; taps in the padding are skipped. */
static struct axis_window dilated_window(const struct axis_params *a, size_t o, size_t len)
{
    int64_t start = (int64_t)(o * a->stride) - axis_lead(a);
    int64_t d = (int64_t)a->dilation, k = (int64_t)a->kernel, L = (int64_t)len;
    int64_t j0 = start < 0 ? (-start + d - 1) / d : 0;
    int64_t j1 = L - 1 - start < 0 ? -1 : (L - 1 - start) / d;
    if (j1 > k - 1)
        j1 = k - 1;
    struct axis_window w = {0, 0, (size_t)d, 1};
    if (j1 >= j0) {
        w.first = (size_t)(start + j0 * d);
        w.count = (size_t)(j1 - j0 + 1);
    }
    return w;
}

/* Avg and Lp: the window [a, a+k) clipped to the padded input [-p, L+p), then to [0, L).
 * The divisor counts padded cells only with count_include_pad (never cells past L + p, nor,
 * on a reversed axis, before -p). */
static struct axis_window average_window(const struct axis_params *a, size_t o, size_t len)
{
    int64_t L = (int64_t)len, p = (int64_t)a->padding;
    int64_t start = (int64_t)(o * a->stride) - axis_lead(a);
    int64_t end = start + (int64_t)a->kernel;
    if (end > L + p)
        end = L + p;
    int64_t padded_start = start < -p ? -p : start;
    int64_t real_start = start < 0 ? 0 : start, real_end = end > L ? L : end;
    size_t real = real_end > real_start ? (size_t)(real_end - real_start) : 0;
    return (struct axis_window){(size_t)real_start, real, 1,
                                a->count_include_pad ? (size_t)(end - padded_start) : real};
}

/* Tests count the windows computed, to show that setup does not loop over an axis. */
#ifndef WINDOW_PROBE
#define WINDOW_PROBE() ((void)0)
#endif

static struct axis_window compute_window(const struct axis_table *t, size_t o)
{
    WINDOW_PROBE();
    if (t->params.adaptive_out)
        return adaptive_window(o, t->out_len, t->in_len);
    if (mode_dilates(t->mode))
        return dilated_window(&t->params, o, t->in_len);
    return average_window(&t->params, o, t->in_len);
}

struct axis_window axis_window_at(const struct axis_table *t, size_t o)
{
    return t->win ? t->win[o] : compute_window(t, o);
}

static size_t last_tap(const struct axis_window *w) { return w->first + (w->count - 1) * w->step; }

/*
 * The running maximum of last taps, from a few outputs: a window starts at o*s - p and its
 * last tap is at most (k-1)d further, so any window with real taps that starts `reach`
 * outputs later (reach = ceil((k-1)d / s)) ends no earlier. Below the latest window q <= o
 * with real taps, only [q - reach, q] can hold the maximum.
 */
size_t axis_ready_at(const struct axis_table *t, size_t o)
{
    const struct axis_params *a = &t->params;
    /* Windows that end inside the input have real last taps o s - p + span, increasing. */
    if (o < t->whole_end)
        return (size_t)((int64_t)(o * a->stride + t->span) - axis_lead(a));
    size_t q = o;
    struct axis_window w = axis_window_at(t, q);
    while (!w.count && q > 0)
        w = axis_window_at(t, --q);
    if (!w.count)
        return 0;
    size_t ready = last_tap(&w);
    for (size_t back = 1; back <= t->reach && back <= q; back++) {
        struct axis_window v = axis_window_at(t, q - back);
        if (v.count && last_tap(&v) > ready)
            ready = last_tap(&v);
    }
    return ready;
}

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

void axis_readers(const struct axis_table *t, size_t i, size_t *first, size_t *last)
{
    const struct axis_params *a = &t->params;
    WINDOW_PROBE();
    if (a->adaptive_out) {
        /* start(o) <= i < end(o)  <=>  floor(i O / L) <= o <= ceil((i+1) O / L) - 1 */
        unsigned __int128 O = t->out_len, L = t->in_len;
        *first = (size_t)(i * O / L);
        *last = (size_t)(((i + 1) * O + L - 1) / L) - 1;
    } else {
        /* o s - lead <= i <= o s - lead + (k-1) d */
        size_t span = (a->kernel - 1) * (t->dilated ? a->dilation : 1);
        int64_t signed_top = (int64_t)i + axis_lead(a);
        if (signed_top < 0) { /* before window 0 (a reversed axis's remainder) */
            *first = 1;
            *last = 0;
            return;
        }
        size_t top = (size_t)signed_top;
        *first = top >= span ? ceil_div(top - span, a->stride) : 0;
        *last = top / a->stride;
    }
    if (*last >= t->out_len)
        *last = t->out_len - 1;
}

bool axis_reads(const struct axis_table *t, size_t o, size_t i)
{
    const struct axis_params *a = &t->params;
    if (!t->dilated || a->dilation == 1)
        return true;
    /* the tap o s - lead + j d lands on i for some j < k */
    int64_t offset = (int64_t)i + axis_lead(a) - (int64_t)(o * a->stride);
    return offset >= 0 && (size_t)offset % a->dilation == 0 &&
           (size_t)offset / a->dilation < a->kernel;
}

/* Smallest o' <= o with ready_at(o') >= i (ready_at is nondecreasing). */
static size_t oldest_open(const struct axis_table *t, size_t o, size_t i)
{
    size_t lo = 0, hi = o;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (axis_ready_at(t, mid) >= i)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* How many outputs are open when output o's first tap is read. */
static size_t live_at(const struct axis_table *t, size_t o)
{
    struct axis_window w = axis_window_at(t, o);
    return w.count ? o - oldest_open(t, o, w.first) + 1 : 1;
}

static size_t gcd(size_t a, size_t b)
{
    while (b) {
        size_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/*
 * The outputs of a strided axis whose windows are not whole: [0, *head) holds those that
 * start in the left padding and then (span/s + 2) whole ones, [*tail, out_len) those that
 * end past the input. Every output between is a whole window, its predecessor's shifted by
 * one stride, and behaves as the last of the head does: so an axis of any length is
 * described by a few outputs at each end, and setting it up costs nothing in its length.
 */
static void border_outputs(const struct axis_table *t, size_t *head, size_t *tail)
{
    const struct axis_params *a = &t->params;
    int64_t lead = axis_lead(a);
    size_t h = ceil_div(lead > 0 ? (size_t)lead : 0, a->stride) + t->span / a->stride + 2;
    *head = h < t->out_len ? h : t->out_len;
    *tail = t->whole_end > *head ? t->whole_end : *head;
}

/* The first output whose window ends past the input: last taps o s - p + span <= L - 1
 * before it. (Adaptive axes: 0, none is known to.) */
static size_t first_clipped_output(const struct axis_table *t)
{
    const struct axis_params *a = &t->params;
    if (a->adaptive_out)
        return 0;
    int64_t right = (int64_t)t->in_len - 1 + axis_lead(a);
    size_t first = right >= (int64_t)t->span ? (size_t)(right - (int64_t)t->span) / a->stride + 1
                                             : 0;
    return first < t->out_len ? first : t->out_len;
}

/*
 * Adaptive windows (o L / O rounded out): when input i = floor(o L / O) is read, outputs
 * floor(i O / L) .. o are open, that is ceil((o L mod O) / L) + 1 of them; o L mod O runs
 * over the multiples of gcd(L, O) below O.
 */
static size_t adaptive_max_live(size_t in_len, size_t out_len)
{
    return ceil_div(out_len - gcd(in_len, out_len), in_len) + 1;
}

/* Output o may use ring slot o % max_live only once o - max_live has been emitted, i.e.
 * before o's first tap is read. The most outputs open at once is found at the borders or
 * in the first whole windows (border_outputs). */
static void compute_live(struct axis_table *t)
{
    if (t->params.adaptive_out) {
        t->max_live = adaptive_max_live(t->in_len, t->out_len);
        return;
    }
    size_t head, tail;
    border_outputs(t, &head, &tail);
    t->max_live = 1;
    for (size_t o = 0; o < t->out_len; o = o + 1 == head ? tail : o + 1) {
        size_t live = live_at(t, o);
        t->max_live = live > t->max_live ? live : t->max_live;
    }
}

/* Every output is its own input: checked on the border outputs, which stand for the rest. */
static bool is_identity(const struct axis_table *t)
{
    if (t->out_len != t->in_len)
        return false;
    if (t->params.adaptive_out)
        return true; /* L windows over L inputs: [o, o + 1) */
    size_t head, tail;
    border_outputs(t, &head, &tail);
    for (size_t o = 0; o < t->out_len; o = o + 1 == head ? tail : o + 1) {
        struct axis_window w = axis_window_at(t, o);
        if (w.count != 1 || w.first != o || w.divisor != 1)
            return false;
    }
    return true;
}

static bool is_read(const struct axis_table *t, size_t i)
{
    size_t first, last;
    axis_readers(t, i, &first, &last);
    for (size_t o = first; o <= last && first <= last; o++)
        if (axis_reads(t, o, i))
            return true;
    return false;
}

static size_t unread_in(const struct axis_table *t, size_t from, size_t to)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++)
        n += !is_read(t, i);
    return n;
}

/* Real taps of the outputs in [from, to). */
static size_t taps_in(const struct axis_table *t, size_t from, size_t to)
{
    size_t n = 0;
    for (size_t o = from; o < to; o++)
        n += axis_window_at(t, o).count;
    return n;
}

/*
 * Windows further apart than they are wide (s > span) share no input: the unread inputs
 * are those no tap lands on, counted from the border outputs and k taps for each whole
 * window between. Overlapping windows: inputs i with span <= i + lead < O s (lead = p -
 * shift) have all their readers inside the axis, and whether one reads i depends only on
 * (i + lead) mod s, so one
 * stride of them is counted and multiplied. Either way the work is in proportion to the
 * kernel and stride, not to the axis's length.
 */
size_t axis_unread(const struct axis_table *t)
{
    const struct axis_params *a = &t->params;
    if (a->adaptive_out)
        return 0; /* adaptive windows cover [0, L) */
    size_t L = t->in_len, s = a->stride, span = t->span;
    if (s > span) {
        size_t head, tail;
        border_outputs(t, &head, &tail);
        return L - taps_in(t, 0, head) - (tail - head) * a->kernel - taps_in(t, tail, t->out_len);
    }
    int64_t lead = axis_lead(a);
    __int128 low = (__int128)span - lead, end = (__int128)t->out_len * s - lead;
    size_t lo = low < 0 ? 0 : low > (__int128)L ? L : (size_t)low;
    size_t hi = end <= 0 ? 0 : end > (__int128)L ? L : (size_t)end;
    if (hi <= lo || hi - lo < 2 * s)
        return unread_in(t, 0, L); /* L < 3 span + 2 s: short */
    size_t n = hi - lo, periods = n / s, rest = n % s;
    return unread_in(t, 0, lo) + periods * unread_in(t, lo, lo + s) + unread_in(t, lo, lo + rest) +
           unread_in(t, hi, L);
}

size_t axis_centre(const struct axis_table *t, size_t o)
{
    const struct axis_params *a = &t->params;
    int64_t c;
    /* read backwards, the centre tap counts from the window's other end */
    if (a->adaptive_out) {
        struct axis_window w = adaptive_window(o, t->out_len, t->in_len);
        c = (int64_t)(w.first + (a->reversed ? w.count - 1 - w.count / 2 : w.count / 2));
    } else {
        size_t j = a->reversed ? a->kernel - 1 - a->kernel / 2 : a->kernel / 2;
        c = (int64_t)(o * a->stride) - axis_lead(a) + (int64_t)(j * (t->dilated ? a->dilation : 1));
    }
    return c < 0 ? 0 : c >= (int64_t)t->in_len ? t->in_len - 1 : (size_t)c;
}

size_t axis_first_tap(const struct axis_table *t, size_t o)
{
    const struct axis_params *a = &t->params;
    if (a->adaptive_out || t->identity)
        return axis_window_at(t, o).first;
    int64_t start = (int64_t)(o * a->stride) - axis_lead(a), d = (int64_t)a->dilation;
    return (size_t)(start < 0 ? start + (-start + d - 1) / d * d : start);
}

/* The widest extent from first to last tap. Adaptive: L = qO + r gives windows of q (r = 0),
 * up to q + 1 (r divides O) or q + 2 (see adaptive_window's rounding). */
size_t axis_widest_window(const struct axis_table *t)
{
    const struct axis_params *a = &t->params;
    if (a->adaptive_out) {
        size_t q = t->in_len / t->out_len, r = t->in_len % t->out_len;
        return r == 0 ? q : t->out_len % r == 0 ? q + 1 : q + 2;
    }
    size_t widest = 1, head, tail;
    border_outputs(t, &head, &tail);
    for (size_t o = 0; o < t->out_len; o = o + 1 == head ? tail : o + 1) {
        struct axis_window w = axis_window_at(t, o);
        size_t extent = w.count ? (w.count - 1) * w.step + 1 : 0;
        widest = extent > widest ? extent : widest;
    }
    return widest;
}

int axis_table_init(struct axis_table *t, const struct axis_params *a, enum pool_mode mode,
                    size_t in_len, bool materialize, struct pool_error *err)
{
    memset(t, 0, sizeof *t);
    if (axis_out_len(a, in_len, &t->out_len, err))
        return -1;
    t->in_len = in_len;
    t->params = *a;
    if (a->reversed)
        t->params.shift = axis_mirror_shift(a, in_len);
    if (a->fractional) /* described by adaptive windows of its length: see axis_params */
        t->params.adaptive_out = t->out_len;
    a = &t->params;
    t->dilated = !a->adaptive_out && mode_dilates(mode);
    t->mode = mode;
    t->span = a->adaptive_out ? 0 : (a->kernel - 1) * (t->dilated ? a->dilation : 1);
    t->reach = a->adaptive_out ? 1 : ceil_div(t->span, a->stride);
    t->whole_end = first_clipped_output(t);
    if (materialize) {
        t->win = malloc(t->out_len * sizeof *t->win);
        if (!t->win)
            return pool_fail_resource(err, "out of memory for the window table");
        for (size_t o = 0; o < t->out_len; o++)
            t->win[o] = compute_window(t, o);
    }
    t->identity = is_identity(t);
    compute_live(t);
    return 0;
}

void axis_table_free(struct axis_table *t)
{
    free(t->win);
    memset(t, 0, sizeof *t);
}
